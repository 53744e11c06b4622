"""年度计划与考评：年度计划与完成、到期与逾期、督查提醒、考评细则、简报图表。"""


import polars as pl
import streamlit as st

from dangjian_core import clock, documents
from dangjian_core.sites import charts as sites_charts
from dangjian_core.sites import model, specs, store
from dangjian_core.sites import rules as R
from dangjian_core.vocab import CATEGORIES
from ui import documents_widgets as DW
from ui import sites_widgets as W
from ui.messages import flash, run_safely
from ui.session import start_page
from ui.table_editor import table_editor

db, user, can = start_page("年度计划与考评", model.PERM)
today = clock.today()
_yc, _dc, _ = st.columns([1, 1, 3], vertical_alignment="bottom")
year = _yc.number_input("年度", R.MIN_YEAR, today.year + 5, today.year, key="sp_year")
DW.word_button(_dc, lambda: documents.sites(db, user, int(year)), f"{int(year)}年度党建示范点命名名单.docx", "sp_named_docx",
               label="命名名单（Word）")
cat_label = W.label


def due_table(df: pl.DataFrame) -> pl.DataFrame:
    return W.sites_display(df).select("党组织", "类别", "街道/系统", "状态", "下次考评年度", "最近考评", "最近得分",
                                      "督查指导员", "最近指导")


tabs = st.tabs(["计划与完成", "到期与逾期", "督查提醒", "考评细则", "简报图表"], key="sp_tab", on_change="rerun")
with tabs[0]:
    if tabs[0].open is not False:
        p = W.read(db, store.plan, int(year))
        bc = p["by_category"]
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("计划创建", int(bc["planned"].sum()))
        m2.metric("实际创建（已立项）", int(bc["actual"].sum()),
                  delta=int(bc["actual"].sum() - bc["planned"].sum()) or None)
        m3.metric("计划命名", p["named_target"])
        m4.metric("已命名", int(bc["named"].sum()), delta=int(bc["named"].sum() - p["named_target"]) or None)
        if p["is_default"]:
            st.info(f"{year} 年还没有保存计划：下面是默认计划（全市每年 50 个创建单位、命名约 25 个），可修改后保存。")
        st.altair_chart(sites_charts.plan_vs_actual(bc, int(year), p["named_target"]), width="stretch")
        shown = bc.select(cat_label(bc, "category", CATEGORIES).alias("类别"), pl.col("planned").alias("计划创建"),
                          pl.col("applied").alias("申报"), pl.col("actual").alias("实际创建"),
                          pl.col("named").alias("已命名"), (pl.col("actual") - pl.col("planned")).alias("差额"))
        if can:
            st.caption("在「计划创建」一栏直接修改，然后点「保存计划」。其他栏由系统统计。")
            nonce = st.session_state.setdefault("plan_nonce", 0)  # new editor only after 保存
            edited = st.data_editor(shown, key=f"plan_{year}_{nonce}", hide_index=True, width="stretch",
                                    disabled=["类别", "申报", "实际创建", "已命名", "差额"],
                                    column_config={"计划创建": st.column_config.NumberColumn(min_value=0, step=1)}, placeholder="")
            c1, c2 = st.columns([1, 3])
            target = c1.number_input("计划命名数", 0, 1000, p["named_target"], key=f"plan_target_{year}")
            if c2.button("保存计划", type="primary", key="plan_save"):
                code = {v: k for k, v in CATEGORIES.items()}
                planned = {code[r["类别"]]: r["计划创建"] for r in pl.DataFrame(edited).iter_rows(named=True)}
                batch, exc = run_safely(store.save_plan, db, user, int(year), planned, target)
                if exc is None:
                    flash(f"已保存 {year} 年计划。" if batch else "计划没有变化。")
                    st.session_state["plan_nonce"] = nonce + 1
                    st.rerun()
        else:
            st.dataframe(shown, hide_index=True, placeholder="", width="stretch")
with tabs[1]:
    if tabs[1].open is not False:
        d = W.read(db, store.due_and_overdue, today=today, year=int(year))
        st.markdown(f"**{year} 年应考评**：{d['due'].height} 个（创建单位当年考评、授牌次年考评、巩固提升按 1 或 2 年的年检周期）")
        st.dataframe(due_table(d["due"]), hide_index=True, placeholder="", width="stretch", height=min(36 * (d["due"].height + 1), 420))
        st.markdown(f"**已逾期**：{d['overdue'].height} 个（应考评年度已过而没有考评记录）")
        if d["overdue"].height:
            st.dataframe(due_table(d["overdue"]), hide_index=True, placeholder="", width="stretch")
with tabs[2]:
    if tabs[2].open is not False:
        c = W.read(db, store.checks, today=today, year=int(year))
        ex = c["experiences"]
        short = int(ex["short"].sum())
        st.markdown(f"**典型经验**：每个责任单位每年至少总结 {model.MIN_EXPERIENCES} 篇示范点经验。"
                    f"{year} 年还有 **{short}** 个责任单位不足。")
        st.dataframe(ex.select(pl.col("unit").alias("责任单位"), pl.col("sites").alias("在创在册示范点"),
                               pl.col("experiences").alias(f"{year}年经验篇数"),
                               pl.when(pl.col("short")).then(pl.lit("不足")).otherwise(pl.lit("")).alias("提醒")),
                     hide_index=True, placeholder="", width="stretch")
        nv = c["no_visit"]
        st.markdown(f"**超过 {model.VISIT_GAP_DAYS} 天没有督查指导**：{nv.height} 个（截至 {today:%Y-%m-%d}）")
        if nv.height:
            st.dataframe(nv.select(pl.col("name").alias("党组织"), cat_label(nv, "status", R.STATUSES).alias("状态"),
                                   pl.col("supervisor").alias("督查指导员"), pl.col("last_visit").cast(pl.String).alias("最近指导"),
                                   pl.col("days").alias("距今天数")), hide_index=True, placeholder="", width="stretch")
        st.markdown("**督查指导员工作量**（在创在册示范点）")
        st.dataframe(c["workload"].select(pl.col("supervisor").alias("督查指导员"), pl.col("sites").alias("联系示范点"),
                                          pl.col("visits_90d").alias(f"近{model.VISIT_GAP_DAYS}天指导次数"),
                                          pl.col("no_visit_90d").alias("超期未指导"), pl.col("overdue").alias("考评逾期")),
                     hide_index=True, placeholder="", width="stretch")
with tabs[3]:
    if tabs[3].open is not False:
        rubs = W.read(db, store.rubrics)
        st.caption("每年每个类别一套考评细则（「适用类别」留空为通用）：评分项的满分合计通常 100 分；加分项、扣分项填上限；"
                   "否决项不设分值，触发即不合格。已用于考评的细则条目会随考评记录一起保存，之后修改细则不影响已有考评。")
        table_editor(db, user, specs.RUBRICS_SPEC, key="rubrics", page_size=100)
        if rubs.height:
            names = dict(zip(rubs["id"].to_list(), rubs["name"].to_list()))
            if st.session_state.get("rubric_pick_next") in names:
                st.session_state["rubric_pick"] = st.session_state.pop("rubric_pick_next")
            rid = st.selectbox("编辑细则条目", list(names), format_func=names.get, key="rubric_pick")
            r = rubs.filter(pl.col("id") == rid).row(0, named=True)
            st.caption(f"共 {r['items']} 条，评分项满分合计 {float(r['full_marks']):g} 分，合格线 {float(r['pass_mark']):g} 分。")
            W.scoped_editor(db, user, specs.RUBRIC_ITEMS_SPEC, key=f"items_{rid}", fixed={"rubric_id": rid})
            if can:
                with st.form("copy_rubric"):
                    k1, k2, k3 = st.columns([1, 1, 1])
                    to_year = k1.number_input("复制到年度", R.MIN_YEAR, today.year + 5, int(year) + 1)
                    to_cat = k2.selectbox("适用类别", list(model.RUBRIC_CATEGORIES), format_func=model.RUBRIC_CATEGORIES.get)
                    if k3.form_submit_button("复制这套细则"):
                        new, exc = run_safely(store.copy_rubric, db, user, rid, int(to_year), to_cat)
                        if exc is None:
                            flash(f"已复制为 {to_year} 年的细则，可继续修改条目。")
                            st.session_state["rubric_pick_next"] = new
                            st.rerun()
with tabs[4]:
    if tabs[4].open is not False:
        st.caption("图表可在右上角菜单中另存为图片；Excel 数据在各页面表格右上角下载。")
        over = W.read(db, store.status_over_years)
        a = W.read(db, store.assessments, None)
        c1, c2 = st.columns(2)
        c1.altair_chart(sites_charts.status_over_years(over), width="stretch")
        c2.altair_chart(sites_charts.category_over_years(over), width="stretch")
        st.altair_chart(sites_charts.plan_over_years(W.read(db, store.plan_years)), width="stretch")
        years = sorted(a["year"].unique().to_list()) if a.height else [int(year)]
        span = st.select_slider("考评年度范围", years, value=(years[0], years[-1]), key="sp_span") \
            if len(years) > 1 else (years[0], years[0])
        part = a.filter(pl.col("year").is_between(*span))
        d1, d2 = st.columns(2)
        d1.altair_chart(sites_charts.score_distribution(part), width="stretch")
        d2.altair_chart(sites_charts.kinds_over_years(part), width="stretch")
