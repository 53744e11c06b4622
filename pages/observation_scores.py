"""观摩评分：评分录入（屏幕或 Excel）、排名、等次调整建议和图表。"""


import polars as pl
import streamlit as st

from dangjian_core import clock, fileio
from dangjian_core.errors import BadInput
from dangjian_core.observation import exports, model, scores, store, views
from ui import observation_widgets as W
from ui.charts_widgets import chart_with_export
from ui.messages import flash, run_safely, show_exception
from ui.session import start_page

db, user, can = start_page("观摩评分", model.PERM)
st.caption("每个观摩团给看过的观摩点打分（按评分细则逐项）；排名只用其他街道观摩团的评分，"
           "并按观摩团校正（有的团普遍打分偏高），同时显示每个点的得分基于几份评分。")
eid = W.event_picker(db, "obs_scores_event", allow_new=False)
P, err, visits, _ = W.plan_state(db, db.generation, eid)
if P is None or not visits:
    st.warning(err or "该观摩活动还没有安排：请先在「观摩安排」中生成安排。")
    st.stop()
names = views.delegation_names(P)
t_entry, t_rank, t_tier, t_chart = st.tabs(["评分录入", "排名", "等次调整", "图表"], key="obs_scores_tab",
                                          on_change="rerun")

with t_entry:
    with st.expander("评分细则（项目和满分）", expanded=False):
        rub = scores.rubric(db, eid).select(pl.col("item").alias("评分项目"), pl.col("max_points").cast(pl.Float64).alias("满分"))
        r_edit = st.data_editor(rub, key=f"obs_rubric_{eid}_{db.generation}", num_rows="dynamic" if can else "fixed",
                                disabled=not can, hide_index=True, width="stretch", placeholder="")
        if can and st.button("保存评分细则", key="obs_rubric_save"):
            rows = r_edit if isinstance(r_edit, pl.DataFrame) else pl.from_pandas(r_edit)
            _, exc = run_safely(scores.set_rubric, db, user, eid, rows)
            if exc is None:
                flash("已保存评分细则。")
                st.rerun()
    dl = st.selectbox("观摩团", [d.id for d in P.delegations], format_func=names.get, key="obs_score_del")
    sheet = W.score_sheet(db, db.generation, eid, dl)
    st.caption("在「得分」列填每一项的分数（不超过该项满分），填完点「保存评分」。")
    st.session_state["obs_scores_key"] = sk = f"obs_scores_{eid}_{dl}_{db.generation}"
    edited = st.data_editor(
        sheet, key=sk, hide_index=True, disabled=not can, width="stretch",
        column_order=["观摩点", "评分项目", "满分", "得分"],
        column_config={c: st.column_config.Column(disabled=True) for c in ["观摩点", "评分项目", "满分"]}
        | {"得分": st.column_config.NumberColumn(step=0.5, format="%.1f")}, placeholder="")
    if can and st.button("保存评分", type="primary", key="obs_scores_save"):
        rows = edited if isinstance(edited, pl.DataFrame) else pl.from_pandas(edited)
        n, exc = run_safely(scores.save_scores, db, user, eid, rows)
        if exc is None:
            flash(f"已保存 {names[dl]} 的评分（{n} 项）。")
            st.rerun()
    st.divider()
    st.markdown("**评分表（Excel）：下载打印到现场填写，填好后上传**")
    ev = store.get_event(db, eid)
    st.download_button("下载评分表（Excel）", data=lambda: exports.score_sheet_xlsx(db, eid), key="obs_sheet_dl",
                       file_name=f"观摩评分表-{ev['name']}-{clock.now():%Y%m%d}.xlsx", on_click="ignore",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:")
    if can:
        up_n = st.session_state.get("obs_sheet_n", 0)
        up = st.file_uploader("上传填好的评分表", type=["xlsx", "xls", "csv"], key=f"obs_sheet_up_{up_n}")
        if up is not None:
            try:
                frame = fileio.read_upload(up.getvalue(), up.name, expected=model.SHEET_HEADER,
                                           sheet=model.SHEET if up.name.lower().endswith((".xlsx", ".xls")) else None)
                n = scores.save_scores(db, user, eid, frame, commit=False)
            except BadInput as exc:
                show_exception(exc)
            else:
                st.success(f"检查通过：共 {n} 项得分。")
                if st.button("确认导入评分", type="primary", key="obs_sheet_commit"):
                    n2, exc = run_safely(scores.save_scores, db, user, eid, frame)
                    if exc is None:
                        flash(f"已导入评分（{n2} 项有变化）。")
                        st.session_state["obs_sheet_n"] = up_n + 1
                        st.rerun()

with t_tier:
    c1, c2, c3 = st.columns(3)
top = c1.number_input("先进比例", 0.0, 1.0, 0.2, 0.05, key="obs_top")
bottom = c2.number_input("后进比例", 0.0, 1.0, 0.2, 0.05, key="obs_bottom")
min_n = c3.number_input("至少评分数", 1, 50, 2, key="obs_min")
props, exc = run_safely(W.ranking, db, db.generation, eid, top, bottom, int(min_n))
if props is None:
    st.stop()
view = props.select(
    pl.col("rank").alias("名次"), pl.col("name").alias("观摩点"), pl.col("street").alias("所在街道"),
    pl.col("score").round(2).alias("校正后得分"), pl.col("raw_mean").round(2).alias("原始平均分"),
    pl.col("n_scores").alias("评分数"), pl.col("n_own_street").alias("本街道评分（不计）"),
    pl.col("current").alias("现等次"), pl.col("proposed_tier").fill_null("评分不足").alias("建议等次"))

with t_rank:
    if props["score"].is_null().all():
        st.info("还没有评分。")
    st.dataframe(view, hide_index=True, width="stretch", placeholder="—")
    st.caption("校正后得分 = 该团打分 − 该团平均分 + 总平均分，使打分普遍偏高或偏低的团影响相同；"
               "本街道观摩团的评分不计入（街道内部观摩除外）。")

with t_tier:
    st.caption(f"建议：得分前 {top:.0%} 为先进、后 {bottom:.0%} 为后进、其余为达标；评分少于 {int(min_n)} 份的不提建议。"
               "逐个勾选要采纳的调整（默认都不勾选），可改建议等次，点「确认调整等次」并核对件数后写入党组织台账"
               "（可在「操作记录」中撤销）。")
    ch = props.filter("change").select(
        pl.col("host_org_id").alias("编号"), pl.col("name").alias("观摩点"), pl.col("score").round(2).alias("得分"),
        pl.col("n_scores").alias("评分数"), pl.col("current").alias("现等次"),
        pl.col("proposed_tier").alias("调整为"), pl.lit(False).alias("采纳"))  # nothing that changes a tier is pre-ticked
    if ch.height == 0:
        st.info("没有需要调整的等次。")
    else:
        can_tier = user.can("orgs.write")
        st.session_state["obs_tiers_key"] = tk = f"obs_tiers_{eid}_{db.generation}_{top}_{bottom}_{min_n}"
        t_edit = st.data_editor(ch, key=tk, hide_index=True,
                                disabled=["编号", "观摩点", "得分", "评分数", "现等次"] if can_tier else True,
                                column_config={"调整为": st.column_config.SelectboxColumn(options=list(model.TIER_CN.values()))},
                                width="stretch", placeholder="")
        if can_tier and st.button("确认调整等次", type="primary", key="obs_tiers_apply"):
            rows = (t_edit if isinstance(t_edit, pl.DataFrame) else pl.from_pandas(t_edit)).filter("采纳")
            if rows.height == 0:
                st.warning("请先在表中逐个勾选「采纳」要调整的观摩点。")
            else:
                st.session_state["obs_tiers_pending"] = rows.select("编号", "观摩点", "现等次", "调整为").to_dicts()
        pending = st.session_state.get("obs_tiers_pending") if can_tier else None
        if pending:
            order = list(model.TIER_CN.values())  # 先进, 达标, 后进
            down = sum(1 for r in pending if r["现等次"] in order and r["调整为"] in order
                       and order.index(r["调整为"]) > order.index(r["现等次"]))
            st.warning(f"将调整 {len(pending)} 个党组织的等次（其中 {down} 个降低），写入党组织台账，确认？\n\n"
                       + "、".join(f"{r['观摩点']} {r['现等次']}→{r['调整为']}" for r in pending[:10])
                       + ("……" if len(pending) > 10 else ""))
            b1, b2, _ = st.columns([1, 1, 3])
            if b1.button(f"是，调整 {len(pending)} 个", type="primary", key="obs_tiers_yes"):
                st.session_state.pop("obs_tiers_pending", None)
                n, exc = run_safely(scores.apply_tiers, db, user, eid,
                                    [{"org_id": r["编号"], "tier": r["调整为"], "current": r["现等次"]} for r in pending])
                if exc is None:
                    flash(f"已调整 {n} 个党组织的等次。可在「操作记录」中撤销。")
                    st.rerun()
            if b2.button("取消", key="obs_tiers_no"):
                st.session_state.pop("obs_tiers_pending", None)
                st.rerun()
        elif not can_tier:
            st.caption("您的角色只能查看，不能调整等次。")

with t_chart:
    if props["score"].is_not_null().any():
        chart_with_export(W.ranking_chart(props), view, "观摩点排名", "obs_rank")
        tot = W.totals(db, db.generation, eid)
        chart_with_export(W.distribution_chart(tot), tot, "观摩团打分分布", "obs_dist")
        if props["proposed_tier"].is_not_null().any():
            chart_with_export(W.tier_change_chart(props), view, "等次调整建议", "obs_tier")
        else:
            st.info(f"没有评分数达到 {int(min_n)} 份的观摩点，暂无等次调整建议（可在「等次调整」中改「至少评分数」）。")
    else:
        st.info("还没有评分，暂无图表。")
