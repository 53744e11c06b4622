"""Shared widgets for the 观摩安排 and 观摩评分 pages: cached reads, the event picker, the
setup form, the plan figures and the charts. No rules and no SQL: dangjian_core does those."""

from __future__ import annotations

import time

import altair as alt
import polars as pl
import streamlit as st

from dangjian_core import clock
from dangjian_core.observation import jobs, model, rules, scores, store, views

from .messages import flash, run_safely

NEW = "（新建观摩活动）"


@st.cache_data(show_spinner=False, max_entries=8)
def events(_db, generation: int) -> pl.DataFrame:
    return store.events(_db)


@st.cache_data(show_spinner=False, max_entries=8)
def candidates(_db, generation: int) -> pl.DataFrame:
    return store.candidate_hosts(_db)


@st.cache_data(show_spinner=False, max_entries=8)
def auto_setup(_db, generation: int) -> str:
    """One line: what 天数/每团参观次数「自动」come to for each mode with the default hosts."""
    parts = []
    for m in model.MODES:
        try:
            h = store.suggested_setup(_db, m)
        except Exception as exc:  # noqa: BLE001 — the line just says so
            parts.append(f"{model.MODE_CN[m]}：{exc}")
            continue
        parts.append(f"{model.MODE_CN[m]} {h['days']} 天、每团参观 {h['visits'] or h['days'] * h['slots_per_day']} 次"
                     if not h["text"] else f"{model.MODE_CN[m]}：{h['text']}")
    return "按默认观摩点（容量 1）、每天 3 个时段自动测算：" + "；".join(parts) + "。"


@st.cache_data(show_spinner=False, max_entries=16)
def event_hosts(_db, generation: int, event_id: int) -> pl.DataFrame:
    return store.hosts(_db, event_id)


@st.cache_data(show_spinner=False, max_entries=16)
def plan_state(_db, generation: int, event_id: int):
    """(problem or None, error text, visits, locked)."""
    try:
        P = store.problem_for(_db, event_id)
    except Exception as exc:  # noqa: BLE001 — shown as a message on the page
        return None, str(exc), [], set()
    vs, locked = store.plan_visits(_db, event_id)
    return P, None, vs, locked


@st.cache_data(show_spinner=False, max_entries=16)
def plan_summary(_db, generation: int, event_id: int) -> dict:
    """`rules.summarise` of the stored plan (route lengths and bounds: once per generation)."""
    P, _, vs, _ = plan_state(_db, generation, event_id)
    return rules.summarise(P, vs)


@st.cache_data(show_spinner=False, max_entries=16)
def ranking(_db, generation: int, event_id: int, top: float, bottom: float, min_scores: int) -> pl.DataFrame:
    return scores.proposals(_db, event_id, top_share=top, bottom_share=bottom, min_scores=min_scores)


@st.cache_data(show_spinner=False, max_entries=16)
def totals(_db, generation: int, event_id: int) -> pl.DataFrame:
    return scores.score_totals(_db, event_id)


@st.cache_data(show_spinner=False, max_entries=32)
def score_sheet(_db, generation: int, event_id: int, delegation: str) -> pl.DataFrame:
    return scores.score_sheet(_db, event_id, delegation)


def event_label(r: dict) -> str:
    when = f"{r['event_date']} " if r.get("event_date") else ""
    return f"{when}{r['name']}（{model.MODE_CN.get(r['mode'], r['mode'])}）"


def event_picker(db, key: str, *, allow_new: bool) -> int | None:
    """Pick an event (newest first); None = create a new one (only when allow_new)."""
    ev = events(db, db.generation)
    labels = {int(r["id"]): event_label(r) for r in ev.iter_rows(named=True)}
    options = list(labels) + ([None] if allow_new else [])
    if not options:
        st.info("还没有观摩活动：请由业务编辑在「观摩安排」页面新建。")
        st.stop()
    if f"{key}_next" in st.session_state:
        st.session_state[key] = st.session_state.pop(f"{key}_next")
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    return st.selectbox("观摩活动", options, key=key, format_func=lambda i: NEW if i is None else labels[i])


def setup_form(db, user, event_id: int | None) -> None:
    """Mode, days, slots and times, visits, previous round, hosts and capacity → save_event."""
    can = user.can(model.PERM)
    ev = store.get_event(db, event_id) if event_id is not None else {}
    allev = events(db, db.generation)
    prev_opts = [None] + [int(i) for i in allev["id"] if i != event_id]
    prev_names = {int(r["id"]): event_label(r) for r in allev.iter_rows(named=True)}
    cand = candidates(db, db.generation)
    if event_id is None:
        hosts = cand.filter("default").select("name", "street", "tier", "is_site").with_columns(capacity=pl.lit(1))
    else:
        hosts = event_hosts(db, db.generation, event_id).select("name", "street", "tier", "is_site", "capacity")
    hosts = hosts.with_columns(pl.col("tier").replace_strict(model.TIER_CN, default=None, return_dtype=pl.String))
    hosts = hosts.rename({"name": "观摩点", "street": "所在街道", "tier": "等次", "is_site": "示范点", "capacity": "容量"})
    k = f"obs_setup_{event_id}"
    with st.form(k):
        c1, c2, c3 = st.columns([3, 2, 2])
        name = c1.text_input("活动名称", ev.get("name", f"{clock.today().year}年各街道交叉观摩"), key=f"{k}_name")
        modes = list(model.MODES)
        mode = c2.selectbox("观摩方式", modes, index=modes.index(ev.get("mode", "cross")),
                            format_func=model.MODE_CN.get, key=f"{k}_mode")
        when = c3.date_input("日期", ev.get("event_date") or clock.today(), key=f"{k}_date")
        c4, c5, c6, c7 = st.columns(4)
        days = c4.number_input("天数（0 = 自动）", 0, 10, int(ev.get("days", 0)), key=f"{k}_days",
                               help="自动：按观摩团和观摩点的数量，取放得下的最少天数")
        spd = c5.number_input("每天时段数", 0, 12, int(ev.get("slots_per_day", 3)), key=f"{k}_spd")
        times = c6.text_input("各时段开始时间", ev.get("slot_times") or "08:30,10:00,14:30", key=f"{k}_times",
                              help="用逗号分隔，每天相同，例如 08:30,10:00,14:30")
        visits = c7.number_input("每团参观次数（0 = 自动）", 0, 100,
                                 int(ev.get("visits_per_delegation") or 0), key=f"{k}_k",
                                 help="自动：每个时段都参观；观摩点接待不过来时，取能安排的最多次数")
        prev = st.selectbox("上一轮（避免重复组合）", prev_opts, key=f"{k}_prev",
                            index=prev_opts.index(ev.get("previous_event_id")) if ev.get("previous_event_id")
                            in prev_opts else 0, format_func=lambda i: "无" if i is None else prev_names[i])
        if event_id is None:
            st.caption(auto_setup(db, db.generation))
        st.caption("观摩点：默认是示范点和先进单位；可增删行，容量 = 每个时段能同时接待的观摩团数。"
                   "街道内部观摩中，不是观摩点的单位各自组成观摩团；交叉和全区观摩每个街道一个观摩团。")
        edited = st.data_editor(
            hosts, key=f"{k}_hosts", num_rows="dynamic" if can else "fixed", disabled=not can,
            hide_index=True, width="stretch", height=min(38 * (hosts.height + 2), 420),
            column_config={"观摩点": st.column_config.SelectboxColumn(options=cand["name"].to_list(), required=True,
                                                                    width="large"),
                           "所在街道": st.column_config.TextColumn(disabled=True),
                           "等次": st.column_config.TextColumn(disabled=True),
                           "示范点": st.column_config.CheckboxColumn(disabled=True),
                           "容量": st.column_config.NumberColumn(min_value=0, step=1, format="%d")}, placeholder="")
        note = "修改设置或观摩点会清除已生成的安排。" if event_id is not None else ""
        go = st.form_submit_button("保存设置" if event_id is not None else "新建观摩活动", type="primary",
                                   disabled=not can, help=note or None)
    if not can:
        st.caption("您的角色只能查看，不能修改观摩活动。")
    if go:
        rows = pl.from_pandas(edited) if not isinstance(edited, pl.DataFrame) else edited
        eid, exc = run_safely(store.save_event, db, user, event_id, name=name, mode=mode, days=int(days) or None,
                              slots_per_day=int(spd), slot_times=times, visits=int(visits) or None, event_date=when,
                              previous_event_id=prev, hosts=rows.select("观摩点", "容量").to_dicts())
        if exc is None:
            e = store.get_event(db, eid)
            how = (f"（{e['days']} 天 × 每天 {e['slots_per_day']} 个时段，"
                   f"每团参观 {e['visits_per_delegation'] or e['days'] * e['slots_per_day']} 次）")
            flash(f"已保存观摩活动设置{how}。" if event_id is not None
                  else f"已新建观摩活动{how}：下一步在「安排」中生成安排。")
            st.session_state["obs_event_next"] = eid
            st.rerun()


def solve_progress(P: model.Problem, job: jobs.SolveJob) -> None:
    """A solve under way (`jobs`): its draft (figures and the grid, read-only) and a note that
    polls the search; when it has landed, the whole page runs again and shows the stored plan."""
    st.success("已排出初步安排（符合全部硬性要求），正在继续优化路线：完成后自动保存，并显示最终安排。")
    _watch(job)
    figures(job.draft.summary)
    st.subheader("初步安排（时段 × 观摩团）")
    st.dataframe(views.grid_frame(P, job.draft.visits), hide_index=True, width="stretch", placeholder="")


@st.fragment(run_every=0.5)
def _watch(job: jobs.SolveJob) -> None:
    if not job.finished:
        st.caption(f"正在继续优化路线……（已用 {time.monotonic() - job.started:.0f} 秒；可以离开本页，结果会自动保存）")
        return
    flash(job.message, {"stored": "success", "unchanged": "success", "superseded": "warning"}.get(job.state, "error"))
    st.session_state["obs_grid_nonce"] = st.session_state.get("obs_grid_nonce", 0) + 1
    st.rerun()


def figures(s: dict) -> None:
    c = st.columns(5)
    c[0].metric("参观次数", f"{s['visits']}", help=f"{s['delegations']} 个观摩团 × 每团 {s['visits_per_delegation']} 次")
    c[1].metric("各点接待次数", f"{s['host_load_min']}–{s['host_load_max']}",
                help="差值越小，各观摩点被评分的次数越均衡")
    c[2].metric("接待差值 / 可证下界", f"{s['host_load_spread']} / {s['host_load_spread_bound']}",
                delta="已达最优" if s["host_load_gap"] == 0 else f"差距 {s['host_load_gap']}",
                delta_color="normal" if s["host_load_gap"] == 0 else "inverse")
    c[3].metric("后进团看到先进", f"{s['lagging_covered']}/{s['lagging_delegations']}",
                help=f"最多可达 {s['lagging_coverable']}")
    c[4].metric("与上一轮重复组合", f"{s['repeated_pairs']}", help=f"至少 {s['repeated_pairs_bound']}")
    st.caption(s["text"])
    if s["hosts_unvisited"]:
        st.warning(f"{s['hosts_unvisited']} 个观摩点无人参观（观摩点多于参观次数）：无人参观的点得不到评分。"
                   "可在「设置与观摩点」中减少观摩点，或增加时段。")


# -- charts ------------------------------------------------------------------------------
def ranking_chart(r: pl.DataFrame) -> alt.Chart:
    d = r.filter(pl.col("score").is_not_null()).select(
        pl.col("name").alias("观摩点"), pl.col("score").round(1).alias("得分"), pl.col("n_scores").alias("评分数"),
        pl.col("proposed_tier").fill_null("评分不足").alias("建议等次"))
    return alt.Chart(d.to_pandas(), title="观摩点排名（按其他街道观摩团评分，已按观摩团校正）").mark_bar().encode(
        y=alt.Y("观摩点:N", sort="-x", title=None), x=alt.X("得分:Q", scale=alt.Scale(zero=False)),
        color=alt.Color("建议等次:N", scale=alt.Scale(domain=["先进", "达标", "后进", "评分不足"],
                                                     range=["#c0392b", "#7f8c8d", "#2c3e50", "#bdc3c7"])),
        tooltip=["观摩点", "得分", "评分数", "建议等次"]).properties(width=700, height=max(200, 24 * d.height))


def distribution_chart(t: pl.DataFrame) -> alt.Chart:
    d = t.select(pl.col("delegation_name").alias("观摩团"), pl.col("total").alias("得分"),
                 pl.col("host_name").alias("观摩点"))
    return alt.Chart(d.to_pandas(), title="各观摩团打分分布").mark_boxplot(extent="min-max").encode(
        x=alt.X("观摩团:N", title=None), y=alt.Y("得分:Q", scale=alt.Scale(zero=False))
    ).properties(width=700, height=320)


def tier_change_chart(p: pl.DataFrame) -> alt.Chart:
    d = p.filter(pl.col("proposed_tier").is_not_null()).group_by("current", "proposed_tier").len("n") \
        .rename({"current": "现等次", "proposed_tier": "建议等次", "n": "观摩点数"})
    order = ["先进", "达标", "后进"]
    return alt.Chart(d.to_pandas(), title="等次调整建议（现等次 → 建议等次）").mark_bar().encode(
        x=alt.X("现等次:N", sort=order), y="观摩点数:Q", color=alt.Color("建议等次:N", sort=order),
        xOffset=alt.XOffset("建议等次:N", sort=order), tooltip=["现等次", "建议等次", "观摩点数"]
    ).properties(width=500, height=300)
