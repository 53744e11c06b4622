"""观摩安排：观摩互进活动的设置、自动安排、手工调整和导出。"""


import polars as pl
import streamlit as st

from dangjian_core import clock, documents
from dangjian_core.observation import exports, jobs, model, rules, store, views
from ui import documents_widgets as DW
from ui import observation_widgets as W
from ui.messages import flash, run_safely
from ui.session import start_page

db, user, can = start_page("观摩安排", model.PERM)
st.caption("选择观摩方式、日期时段和观摩点后生成安排：不超容量、一团一时段一处、交叉观摩不看本街道，"
           "后进单位优先看先进单位和示范点，各点被评分次数尽量均衡，避免与上一轮重复，路线尽量短。")
eid = W.event_picker(db, "obs_event", allow_new=can)
if eid is None:
    W.setup_form(db, user, None)
    st.stop()

t_plan, t_setup, t_export = st.tabs(["安排", "设置与观摩点", "导出与打印"], key="obs_tab", on_change="rerun")
with t_setup:
    W.setup_form(db, user, eid)

generation = db.generation
P, err, visits, locked = W.plan_state(db, generation, eid)
with t_plan:
    if P is None:
        st.error(err)
        st.stop()
    job = jobs.running(db, eid)  # a search still under way (this user's click or another's)
    if not visits and job is None:
        st.info("还没有安排：点「生成安排」自动排出一份（通常几秒钟）。")
    c1, c2 = st.columns([1, 3])
    if c1.button("生成安排" if not visits else "重新生成（保留手工安排）", type="primary", disabled=not can,
                 key="obs_solve"):
        with st.spinner("正在安排……"):
            started, exc = run_safely(jobs.start_solve, db, user, eid, known=(generation, P))
        if exc is None and started.finished:  # a plan found before, or a small problem: stored already
            flash(started.message)
            st.session_state["obs_grid_nonce"] = st.session_state.get("obs_grid_nonce", 0) + 1
            st.rerun()
        job = started if exc is None else job
    if job is not None:  # a draft now; the stored plan when the search lands
        W.solve_progress(P, job)
        st.stop()
    if visits and c2.button("进一步优化路线", disabled=not can, key="obs_solve_exact",
                            help="用更长的时间（约一分钟）缩短各团路线，并给出与可证下界的差距；"
                                 "接待均衡、后进看先进、不重复等要求不变"):
        with st.spinner("正在进一步优化路线（约一分钟）……"):
            s, exc = run_safely(store.solve_event, db, user, eid, time_limit=60.0, exact=True)
        if exc is None:
            flash("已优化路线。" + s["text"])
            st.session_state["obs_grid_nonce"] = st.session_state.get("obs_grid_nonce", 0) + 1
            st.rerun()
    if not visits:
        st.stop()
    W.figures(W.plan_summary(db, generation, eid))
    if locked:
        st.caption(f"其中 {len(locked)} 次参观是手工安排的，重新生成时保留。")

    st.subheader("安排表（时段 × 观摩团）")
    st.caption("每一列是一个观摩团，每一行是一个时段；改单元格即可把参观挪到别的观摩点（清空 = 该时段不参观）。"
               "每次修改都立即检查，违反规则的地方在下面列出。")
    nonce = st.session_state.get("obs_grid_nonce", 0)
    stored = sum(hash((v.day, v.slot, v.delegation, v.host_org_id)) for v in visits) % 10**8
    pend_key = f"obs_pending_{eid}"
    pending = st.session_state.get(pend_key)
    if pending is None or pending[0] != (nonce, stored):
        pending = ((nonce, stored), list(visits))
        st.session_state[pend_key] = pending
    base = pending[1]
    grid0 = views.grid_frame(P, base)
    dnames = views.delegation_names(P)
    shown_ids = None
    if len(P.delegations) > 24:  # an internal round: one column per unit is too wide to read
        streets = sorted({d.street for d in P.delegations})
        street = st.selectbox("按街道查看观摩团", streets, key=f"obs_grid_street_{eid}",
                              help="观摩团较多时按街道分开显示；改动只影响所显示街道的观摩团。")
        shown_ids = {d.id for d in P.delegations if d.street == street}
        grid0 = grid0.select(["时段"] + [dnames[d.id] for d in P.delegations if d.id in shown_ids])
    version = sum(hash((v.day, v.slot, v.delegation, v.host_org_id)) for v in base) % 10**8
    names = [h.name for h in P.hosts]
    cfg = {"时段": st.column_config.TextColumn(disabled=True, pinned=True)}
    for col in grid0.columns[1:]:
        cfg[col] = st.column_config.SelectboxColumn(col, options=names, width="medium")
    street_part = "" if shown_ids is None else f"_{sorted(shown_ids)[0]}"
    st.session_state["obs_grid_key"] = grid_key = f"obs_grid_{eid}_{nonce}_{version}{street_part}"
    edited = st.data_editor(grid0, key=grid_key, hide_index=True, disabled=not can,
                            column_config=cfg, width="stretch", placeholder="")
    grid = edited if isinstance(edited, pl.DataFrame) else pl.from_pandas(edited)
    new, exc = run_safely(views.visits_from_grid, P, grid)
    if exc is None and shown_ids is not None:  # the other streets' visits stay as they were
        new = [v for v in base if v.delegation not in shown_ids] + list(new)
    if exc is None and can:
        with st.expander("调整一次参观（也可以直接改上面的单元格）", expanded=False):
            slots = views.slot_labels(P)
            m1, m2, m3, m4 = st.columns([2, 2, 3, 1])
            md = m1.selectbox("观摩团", [d.id for d in P.delegations], format_func=views.delegation_names(P).get,
                              key=f"obs_mv_del_{eid}")
            ms = m2.selectbox("时段", range(len(slots)), format_func=lambda i: slots[i][2], key=f"obs_mv_slot_{eid}")
            mh = m3.selectbox("改到观摩点", [None] + [h.org_id for h in P.hosts], key=f"obs_mv_host_{eid}",
                              format_func=lambda h: "（该时段不参观）" if h is None else
                              next(x.name for x in P.hosts if x.org_id == h))
            if m4.button("调整", key=f"obs_mv_go_{eid}"):
                day, slot = slots[ms][0], slots[ms][1]
                moved = [v for v in new if not (v.delegation == md and v.day == day and v.slot == slot)]
                if mh is not None:
                    moved.append(model.Visit(day, slot, md, mh))
                st.session_state[pend_key] = (pending[0], moved)
                st.rerun()
    if exc is None and sorted(new) != sorted(visits):
        problems = rules.check_plan(P, new)
        changed = set(new) - set(visits)
        if problems:
            st.error(f"这样调整有 {len(problems)} 处不符合要求：")
            st.dataframe(pl.DataFrame({"问题": problems}), hide_index=True, width="stretch", placeholder="—")
        else:
            st.success("调整后的安排符合全部要求。")
            W.figures(rules.summarise(P, new))
        b1, b2, b3 = st.columns(3)
        if b1.button("保存手工调整", type="primary", disabled=bool(problems) or not can, key="obs_save_grid"):
            s, exc2 = run_safely(store.save_plan, db, user, eid, new)
            if exc2 is None:
                flash(f"已保存手工调整（{len(changed)} 处新安排已锁定，重新生成时保留）。")
                st.session_state["obs_grid_nonce"] = nonce + 1
                st.rerun()
        if b2.button("保留这些调整，其余重新安排", disabled=not can, key="obs_resolve",
                     help="把改过的参观锁定，其余参观由系统重新安排，使整份安排重新符合要求"):
            started, exc2 = run_safely(jobs.start_solve, db, user, eid, locked=changed | (locked & set(new)))
            if exc2 is None:
                if started.finished:
                    flash("已围绕手工调整重新安排。" + started.summary["text"])
                st.session_state["obs_grid_nonce"] = nonce + 1
                st.rerun()
        if b3.button("放弃修改", key="obs_discard"):
            st.session_state["obs_grid_nonce"] = nonce + 1
            st.session_state.pop(pend_key, None)
            st.rerun()

with t_export:
    ev = store.get_event(db, eid)
    stem = f"观摩活动安排表-{ev['name']}-{clock.now():%Y%m%d}"
    c1, c2, c3 = st.columns(3)
    DW.word_button(c3, lambda: documents.observation(db, user, eid), f"{stem}.docx", "obs_docx",
                   label="下载 Word（公文格式）")
    c1.download_button("下载观摩活动安排表（Excel）", data=lambda: exports.plan_xlsx(db, eid), file_name=f"{stem}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key="obs_xlsx", on_click="ignore", type="primary", icon=":material/table:")
    c2.download_button("下载打印版（网页，每团一页）", data=lambda: exports.plan_print_html(db, eid).encode("utf-8"),
                       file_name=f"{stem}.html", mime="text/html", key="obs_html", on_click="ignore",
                       icon=":material/print:")
    st.caption("Excel 中第一张表是总表（时段 × 观摩团），其后每个观摩团一张，列出它的路线、时间和地址，可直接打印发给各团。")
    table = views.plan_table(P, visits, locked)
    st.dataframe(table, hide_index=True, width="stretch", placeholder="—")
