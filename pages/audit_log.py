"""操作记录：谁在什么时候改了什么；可撤销一条修改或一整批（导入、批量编辑）。"""

from datetime import timedelta

import polars as pl
import streamlit as st

from dangjian_core import audit, auth, clock
from ui.messages import flash, run_safely, show_flashes
from ui.session import current_user, get_db

db = get_db()
user = current_user()
st.title("操作记录")
show_flashes()

c1, c2, c3, c4 = st.columns(4)
names = {u["username"]: u["display_name"] for u in auth.list_users(db)}
people = {"全部": None, **{f"{names.get(u, u)}（{u}）": u for u in audit.usernames(db)}}
who = c1.selectbox("操作人", list(people), key="al_user")
readable = sorted(audit.readable_tables(user).items(), key=lambda kv: kv[1])  # only what this role may read
tables_ = {"全部": None, **{v: k for k, v in readable}}
what = c2.selectbox("数据表", list(tables_), key="al_table")
since = c3.date_input("起始日期", clock.today() - timedelta(days=30), key="al_since")
until = c4.date_input("截止日期", clock.today(), key="al_until")

log = audit.list_changes(db, user, username=people[who], table=tables_[what],
                         since=since, until=until, limit=1000)
if log.height == 0:
    st.info("这段时间没有修改记录。")
    st.stop()
shown = log.with_columns(
    pl.Series("内容", audit.describe_changes(db, log), dtype=pl.String),
    pl.col("table_name").replace_strict(audit.table_labels(), default=pl.col("table_name")).alias("数据表"),
    pl.col("action").replace_strict({"insert": "新增", "update": "修改", "delete": "删除"},
                                    default=pl.col("action")).alias("操作"),
    pl.when(pl.col("reverted_by").is_not_null()).then(pl.lit("已撤销")).otherwise(pl.lit("")).alias("状态"),
).select(pl.col("id").alias("记录号"), pl.col("batch_id").alias("批次"), pl.col("at").alias("时间"),
         pl.col("username").replace_strict(names, default=pl.col("username")).alias("操作人"), "数据表",
         pl.col("row_key").alias("行"), "操作", "内容",
         pl.col("description").alias("说明"), "状态")
st.dataframe(shown, hide_index=True, width="stretch", height=420, placeholder="—")

if user.can("audit.revert"):
    st.subheader("撤销")
    st.caption("撤销会把修改涉及的行恢复到修改前的样子；如果之后又有人改过这些行，或有别的数据依赖它"
               "（例如新增的党组织下已录入党员），会说明原因而不做任何改动。")
    open_ = log.filter(pl.col("reverted_by").is_null())
    c1, c2 = st.columns(2)
    with c1:
        batches = open_.select("batch_id", "description").unique(maintain_order=True)
        if batches.height:
            options = {f"第 {b} 批：{d}": b for b, d in batches.iter_rows()}
            pick = st.selectbox("撤销一整批修改", list(options), key="al_batch")
            if st.button("撤销这批修改", key="al_revert", type="primary"):
                new_id, exc = run_safely(audit.revert_batch, db, user, options[pick])
                if exc is None:
                    flash(f"已撤销（撤销操作本身记为第 {new_id} 批，也可以再撤销）。")
                    st.rerun()
    with c2:
        entries = shown.filter(pl.col("状态") == "")
        if entries.height:
            one = {f"记录号 {r['记录号']}（第 {r['批次']} 批）{r['数据表']}：{r['内容'][:40]}": (r["批次"], r["记录号"])
                   for r in entries.head(300).iter_rows(named=True)}
            pick_one = st.selectbox("只撤销其中一条修改", list(one), key="al_entry")
            if st.button("撤销这一条", key="al_revert_one"):
                batch_id, entry_id = one[pick_one]
                new_id, exc = run_safely(audit.revert_batch, db, user, batch_id, entry_ids=[entry_id])
                if exc is None:
                    flash(f"已撤销这一条修改（撤销操作本身记为第 {new_id} 批，也可以再撤销）。")
                    st.rerun()
