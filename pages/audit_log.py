"""操作记录：谁在什么时候改了什么；可撤销一条修改或一整批（导入、批量编辑）。"""

from datetime import timedelta

import polars as pl
import streamlit as st

from dangjian_core import audit, auth
from ui.messages import flash, run_safely, show_flashes
from ui.session import current_user, get_db
from dangjian_core import clock

db = get_db()
user = current_user()
st.title("操作记录")
show_flashes()

c1, c2, c3, c4 = st.columns(4)
users = [u["username"] for u in auth.list_users(db)] if user.can("users.manage") else []
who = c1.selectbox("操作人", ["全部"] + (users or [user.username]), key="al_user")
tables_ = {"全部": None, **{v: k for k, v in audit.readable_tables(user).items()}}  # only what this role may read
what = c2.selectbox("数据表", list(tables_), key="al_table")
since = c3.date_input("起始日期", clock.today() - timedelta(days=30), key="al_since")
until = c4.date_input("截止日期", clock.today(), key="al_until")

log = audit.list_changes(db, user, username=None if who == "全部" else who, table=tables_[what],
                         since=since, until=until, limit=1000)
if log.height == 0:
    st.info("这段时间没有修改记录。")
    st.stop()
shown = log.with_columns(
    pl.struct(["table_name", "action", "before", "after"]).map_elements(
        lambda r: audit.describe_change(r["table_name"], r["action"], r["before"], r["after"]),
        return_dtype=pl.String).alias("内容"),
    pl.col("table_name").replace_strict(audit.TABLE_LABELS, default=pl.col("table_name")).alias("数据表"),
    pl.col("action").replace_strict({"insert": "新增", "update": "修改", "delete": "删除"},
                                    default=pl.col("action")).alias("操作"),
    pl.when(pl.col("reverted_by").is_not_null()).then(pl.lit("已撤销")).otherwise(pl.lit("")).alias("状态"),
).select(pl.col("id").alias("记录号"), pl.col("batch_id").alias("批次"), pl.col("at").alias("时间"),
         pl.col("username").alias("操作人"), "数据表", pl.col("row_key").alias("行"), "操作", "内容",
         pl.col("description").alias("说明"), "状态")
st.dataframe(shown, hide_index=True, width="stretch", height=420)

if user.can("audit.revert"):
    st.subheader("撤销")
    batches = log.filter(pl.col("reverted_by").is_null()).select("batch_id", "description").unique(
        maintain_order=True)
    if batches.height:
        options = {f"第 {b} 批：{d}": b for b, d in batches.iter_rows()}
        pick = st.selectbox("选择要撤销的一批修改", list(options), key="al_batch")
        st.caption("撤销会把这批修改涉及的行恢复到修改前的样子；如果之后又有人改过这些行，会提示冲突而不做任何改动。")
        if st.button("撤销这批修改", key="al_revert", type="primary"):
            new_id, exc = run_safely(audit.revert_batch, db, user, options[pick])
            if exc is None:
                flash(f"已撤销（撤销操作本身记为第 {new_id} 批，也可以再撤销）。")
                st.rerun()
