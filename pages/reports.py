"""述职评议：场次安排、按进度分选定述职单位（锁定/调换/增加、发布）、通知、测评票、进度分与效果。"""


import polars as pl
import streamlit as st

from dangjian_core import clock, documents
from dangjian_core.reports import model, notices, picks, sessions, specs, votes
from ui import reports_widgets as W
from ui.messages import errors_frame, flash, run_safely
from ui.session import start_page
from ui.table_editor import table_editor

db, user, can = start_page("述职评议", model.PERM)
today = clock.today()
SECTIONS = ["场次安排", "选定述职单位", "测评结果", "进度分与指标", "述职效果"]
c1, c2 = st.columns([1, 4])
with c1:
    year = W.year_picker(db, "rp_year")
with c2:
    section = st.radio("栏目", SECTIONS, horizontal=True, key="rp_section", label_visibility="hidden")


def calendar() -> None:
    s = W.sessions(db, db.generation, year)
    if s.height == 0:
        st.info(f"{year} 年还没有述职安排。")
        if can and st.button(f"生成 {year} 年六场述职安排", type="primary", key="rp_make_year"):
            _, exc = run_safely(sessions.create_year, db, user, year)
            if exc is None:
                flash(f"已生成 {year} 年 6 场述职安排（每两个月一场），日期可在下表中修改。")
                st.rerun()
        return
    a, b, c = st.columns(3)
    a.metric("本年场次", s.height)
    b.metric("已发布", s.filter(pl.col("status") == "published").height)
    nxt = s.filter(pl.col("session_date") >= today)
    c.metric("下一场", f"{nxt['session_date'][0]:%m月%d日}" if nxt.height else "—")
    st.caption("一年六场，每两个月一场。日期、主题、名额、开始时间、每个单位时长和地点可直接在表中修改后点「保存」；"
               "两场不能同一天，名额至少 1 个；已发布的场次已冻结。")
    st.session_state["rp_sessions_f_year"] = [year]  # the table follows the year chosen above
    table_editor(db, user, specs.SESSIONS_SPEC, key="rp_sessions", filter_columns=["year"], page_size=60)


def picking() -> None:
    s = W.session_picker(db, year, "rp_pick_session")
    if s is None:
        st.info(f"{year} 年还没有述职安排：请先在「场次安排」中生成。")
        return
    sid = s["id"]
    st.markdown(f"**{s['title']}** {s['session_date']:%Y-%m-%d} · {s['theme']} · 名额 {s['capacity']} 个 · "
                f"{model.SESSION_STATUS[s['status']]}")
    p = W.picks(db, db.generation, sid)
    picked = p.filter(pl.col("status") == "picked")
    draft = s["status"] == "draft"
    if draft and can:
        label = "重新生成建议名单（保留锁定、调换和增加的单位）" if picked.height else "生成建议名单"
        if st.button(label, type="primary" if not picked.height else "secondary", key="rp_draft"):
            res, exc = run_safely(W.draft, db, user, sid, min(s["session_date"], today))
            if exc is None:
                flash(f"已按规则选出 {res.picked} 个单位" + (f"，保留 {res.kept} 个" if res.kept else "") + "。")
                for n in res.notes:
                    flash(n, "info")
                st.rerun()
    if picked.height == 0:
        st.info("还没有名单。" + ("点上面的按钮按规则生成建议名单。" if draft and can else ""))
    else:
        st.dataframe(p.select(
            pl.col("order").alias("序号"), pl.col("name").alias("单位"), pl.col("street").alias("街道/系统"),
            pl.col("progress").alias("进度分"),
            pl.col("status").replace_strict(model.PICK_STATUS).alias("状态"),
            pl.col("source").replace_strict(model.PICK_SOURCES).alias("来源"),
            pl.when(pl.col("locked")).then(pl.lit("🔒")).otherwise(pl.lit("")).alias("锁定"),
            pl.col("note").alias("说明")), hide_index=True, width="stretch", placeholder="—")
        st.markdown("**入选理由**\n\n" + "\n".join(f"{r['order']}. **{r['name']}**：{r['reason']}"
                                                 for r in picked.iter_rows(named=True)))
    if draft and can and picked.height:
        adjust(s, p, picked)
    elif not draft:
        st.success(f"名单已于 {s['published_at']:%Y-%m-%d %H:%M} 由 {s['published_by_name']} 发布，已冻结。")
        W.printable(notices.notice_html(db, sid), f"{s['title']}述职评议会通知", "rp_notice", xlsx=lambda: notices.notice_xlsx(db, sid),
                    docx=lambda: documents.notice(db, user, sid))
    if picked.height:
        with st.expander("查看入选单位的进度分构成"):
            names = dict(zip(picked["unit_id"].to_list(), picked["name"].to_list()))
            uid = st.selectbox("单位", list(names), format_func=names.get, key="rp_pick_bd")
            W.breakdown(W.scores(db, db.generation, min(s["session_date"], today)), uid, names[uid])
    rk = W.ranking(db, db.generation, sid, today, min(s["session_date"], today))
    for n in rk.notes:
        st.caption(n)
    with st.expander(f"按规则的完整排序（{rk.ranked.height} 个单位，进度分从低到高；{rk.as_of:%Y-%m-%d} 的数据）"):
        if rk.ranked.height:
            st.dataframe(rk.ranked.select(pl.col("rank").alias("排序"), pl.col("name").alias("单位"),
                                          pl.col("street").alias("街道/系统"), pl.col("progress").alias("进度分"),
                                          pl.col("reason").alias("理由")), hide_index=True, width="stretch", height=360, placeholder="—")
    W.coverage_panel(db, year)


def adjust(s: dict, p: pl.DataFrame, picked: pl.DataFrame) -> None:
    names = dict(zip(picked["id"].to_list(), picked["name"].to_list()))
    locked = dict(zip(picked["id"].to_list(), picked["locked"].to_list()))
    versions = dict(zip(picked["id"].to_list(), picked["version"].to_list()))
    taken = p["unit_id"].to_list()
    mode = st.radio("调整名单", ["锁定", "调换", "增加"], horizontal=True, key="rp_adjust")
    if mode == "锁定":
        st.caption("锁定的单位在「重新生成」时保留。")
        pid = st.selectbox("单位", list(names), format_func=lambda i: ("🔒 " if locked.get(i) else "") + str(names.get(i, i)),
                           key="rp_lock_pick")
        if st.button("解除锁定" if locked[pid] else "锁定", key="rp_lock"):
            _, exc = run_safely(picks.lock_pick, db, user, pid, not locked[pid], expected_version=versions[pid])
            if exc is None:
                flash(f"已{'解除锁定' if locked[pid] else '锁定'}：{names[pid]}")
                st.rerun()
    elif mode == "调换":
        out = st.selectbox("调出", list(names), format_func=names.get, key="rp_swap_out")
        new = W.unit_picker(db, "换成", "rp_swap_in", exclude=taken)
        note = st.text_input("说明（必填）", key="rp_swap_note", placeholder="例如：该单位书记参加集中培训，下一场再述职")
        if st.button("调换", key="rp_swap"):
            _, exc = run_safely(picks.swap_pick, db, user, out, new, note, expected_version=versions[out])
            if exc is None:
                flash(f"已调换：{names[out]} 调出。")
                st.rerun()
    else:
        new = W.unit_picker(db, "增加单位", "rp_add_unit", exclude=taken)
        note = st.text_input("说明（必填）", key="rp_add_note", placeholder="例如：分管领导要求本场听取该单位述职")
        if st.button("增加", key="rp_add"):
            _, exc = run_safely(picks.add_pick, db, user, s["id"], new, note)
            if exc is None:
                flash("已增加述职单位。")
                st.rerun()
    st.divider()
    sure = st.checkbox("名单已核对无误。发布后名单冻结，不能再调整。", key="rp_publish_sure")
    if st.button("发布名单", type="primary", disabled=not sure, key="rp_publish"):
        res, exc = run_safely(picks.publish, db, user, s["id"], expected_version=s["version"])
        if exc is None:
            flash(f"已发布{s['title']}名单（{res.picked} 个单位），现在可以下载通知。")
            st.rerun()


def voting() -> None:
    s = W.session_picker(db, year, "rp_vote_session", published_only=True, label="已发布的场次")
    if s is None:
        st.info(f"{year} 年还没有已发布的场次。")
        return
    sid = s["id"]
    v = W.votes(db, db.generation, sid)
    p = W.picks(db, db.generation, sid).filter(pl.col("status") == "picked")
    if v.height:
        st.dataframe(v.select(pl.col("rank").alias("排名"), pl.col("name").alias("单位"), pl.col("voters").alias("参评人数"),
                              pl.col("good").alias("好"), pl.col("fairly_good").alias("较好"), pl.col("average").alias("一般"),
                              pl.col("poor").alias("差"), pl.col("good_rate").alias("好+较好率%"),
                              pl.col("comments").alias("评议意见")), hide_index=True, width="stretch", placeholder="—")
    with st.expander(f"{year} 年全年汇总（各场测评票合计）"):
        yv = votes.year_votes(db, year)
        if yv.height:
            st.dataframe(yv.select(pl.col("rank").alias("排名"), pl.col("name").alias("单位"),
                                   pl.col("sessions").alias("述职场次"), pl.col("voters").alias("参评人数"),
                                   pl.col("good").alias("好"), pl.col("fairly_good").alias("较好"),
                                   pl.col("average").alias("一般"), pl.col("poor").alias("差"),
                                   pl.col("good_rate").alias("好+较好率%")),
                         hide_index=True, width="stretch", placeholder="—")
        else:
            st.caption(f"{year} 年还没有测评票。")
    missing = p.filter(~pl.col("unit_id").is_in(v["unit_id"].to_list() if v.height else []))
    if missing.height:
        st.info("还没有测评票的单位：" + "、".join(missing["name"].to_list()))
    if not can:
        return
    if s["session_date"] > today:
        st.caption(f"{s['title']}定于 {s['session_date']} 召开，召开后才能录入测评票。")
        return
    W.vote_form(db, user, sid, v, p)
    with st.expander("导入填好的测评表（Excel）"):
        st.download_button("下载本场测评表", lambda: votes.vote_sheet_xlsx(db, sid), file_name=f"{s['title']}测评表.xlsx",
                           key="rp_vote_tpl", on_click="ignore")
        up = st.file_uploader("选择填好的测评表", type=["xlsx", "xls", "csv"], key="rp_vote_upload")
        if up is not None:
            frame = W._as_frame(up.getvalue(), up.name)
            pv, exc = (None, True) if frame is None else run_safely(votes.import_votes, db, user, sid, frame)
            if exc is None and pv.errors:
                st.error(f"检查发现 {len(pv.errors)} 处错误，没有导入任何数据：")
                st.dataframe(errors_frame(pv.errors), hide_index=True, width="stretch", placeholder="—")
            elif exc is None:
                for w in pv.warnings:
                    st.warning(w)
                st.success(f"检查通过：新增 {pv.inserts} 个单位，更正 {pv.updates} 个单位。")
                if st.button("确认导入测评表", type="primary", key="rp_vote_commit"):
                    done, exc = run_safely(votes.import_votes, db, user, sid, frame, commit=True)
                    if exc is None and done.ok:
                        flash(f"已导入测评表（第 {done.batch_id} 批，可整批撤销）。")
                        st.session_state.pop("rp_vote_upload", None)
                        st.rerun()
    st.page_link("pages/rectifications.py", label="述职中发现的问题，到「整改跟踪」登记整改事项", icon=":material/arrow_forward:")


{"场次安排": calendar, "选定述职单位": picking, "测评结果": voting,
 "进度分与指标": lambda: W.indicator_panel(db, user), "述职效果": lambda: W.effect_panel(db)}[section]()
