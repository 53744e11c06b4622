"""欠缴与补交：按任意期间逐月重新计算应缴（按各月有效的计算基数），对比实缴，得出应补交；按党组织汇总；
连续未缴提醒（3 个月起）和标记（6 个月）——由党支部大会讨论决定，系统不处置任何党员；补交记录；对账单；图表。"""


import polars as pl
import streamlit as st

from dangjian_core.dues import arrears, arrears_cache
from dangjian_core.dues import store as dues_store
from ui import dues_widgets as W
from ui.messages import run_safely, show_flashes
from ui.session import current_user, get_db

db = get_db()
user = current_user()
st.title("欠缴与补交")
show_flashes()
if not user.can(dues_store.PERM_READ):
    st.error("您的角色没有「查看党费」的权限。")
    st.stop()

months = W.month_options(db, user)
closed = arrears_cache.default_period()[1]  # the default period is kept ready in the background
c1, c2, c3 = st.columns([1, 1, 3])
end = c2.selectbox("截止月份", months, index=months.index(closed) if closed in months else 0,
                   format_func=dues_store.month_text, key="arr_end")
start_options = [m for m in months if m <= end][:dues_store.MAX_MONTHS]
start = c1.selectbox("起始月份", start_options, index=min(11, len(start_options) - 1), format_func=dues_store.month_text,
                     key="arr_start")  # twelve months up to 截止月份: by default the period kept ready
with c3:
    _, org_id = W.pick_scope(db, user, "arr")

calc, exc = run_safely(W.back_calc, db, user, start, end, org_id)
if exc is not None:
    st.stop()

st.caption(f"{dues_store.month_text(start)} 至 {dues_store.month_text(calc.counted_end)}：应缴按各月有效的计算基数、党员类别和当月施行的规定"
           "（2017 年以前按 2008 年规定，不设 1000 元上限；对账单逐月写明所用规定）重新计算，实缴取花名册登记的金额，"
           "补交 = 应缴 − 实缴（不为负）；自愿多交不抵应缴。"
           + ("尚未到来的月份不计应缴。" if calc.counted_end < end else ""))
W.arrears_metrics(calc)
st.warning(dues_store.BRANCH_DECIDES, icon=":material/gavel:")
if calc.missing.height:
    with st.expander(f"{calc.missing.height} 名党员缺少计算基数或核定数额，相关月份未计入"):
        st.dataframe(calc.missing.rename({"member_no": "党员编号", "name": "姓名", "org": "党组织", "months": "月数",
                                          "from": "起始月份"}), hide_index=True, width="stretch", placeholder="—")

tabs = st.tabs(["按党组织", "欠缴党员", "连续未缴提醒", "补交记录", "对账单", "图表"], key="arr_tab", on_change="rerun")
with tabs[0]:
    if tabs[0].open is not False:
        W.paged_table(arrears.arrears_orgs_frame(calc).with_columns(
            [pl.col(c).cast(pl.Float64) for c in ("应缴", "实缴", "应补交")]), "arr_org_page", config=W.MONEY_CFG)
        st.download_button("下载欠缴汇总（Excel）", data=lambda: arrears.arrears_xlsx(calc), mime=W.XLSX,
                           file_name=f"党费欠缴-{dues_store.month_text(start)}至{dues_store.month_text(end)}.xlsx",
                           key="dl_arrears", on_click="ignore", icon=":material/table:")
with tabs[1]:
    if tabs[1].open:
        owing = calc.members.filter(pl.col("arrears_fen") > 0).sort("arrears_fen", descending=True)
        W.members_view(calc, owing, "arr_mem_page")
with tabs[2]:
    if tabs[2].open:
        st.markdown(f"连续 **{calc.settings.warn_from_months}** 个月起提醒，**{calc.settings.flag_months}** 个月标记"
                    "（“截至期末连续未缴”为到截止月份仍在延续的月数）。请支部了解原因、谈心谈话、督促补交。")
        W.members_view(calc, arrears.warning_list(calc), "arr_warn_page")
with tabs[3]:
    if tabs[3].open:
        bp = W.back_pays_of(db, user, start, end, org_id)
        st.caption(f"期间内在所属月份之后缴纳（补交）的记录：共 {bp.height} 笔；一次补交超过 6 个月的照收，并标记。")
        W.paged_table(bp.sort("flag", "months", descending=True).select(
            pl.col("member_no").alias("党员编号"), pl.col("name").alias("姓名"), pl.col("org").alias("党组织"),
            pl.col("paid_on").alias("缴纳日期"), pl.col("months").alias("月数"), W.yuan_col("amount_fen", "金额"),
            (pl.col("first") + " 至 " + pl.col("last")).alias("所属月份"),
            pl.when(pl.col("flag")).then(pl.lit("超过 6 个月")).otherwise(pl.lit("")).alias("标记")),
            "arr_bp_page", config=W.MONEY_CFG)
with tabs[4]:
    if tabs[4].open:
        W.statement_panel(db, user, start, end)
with tabs[5]:
    if tabs[5].open:
        W.charts_panel(db, user, calc, org_id)
