"""示范点：台账、申报与立项、联系人、记录考评、考评记录、创建档案、结对。"""


import polars as pl
import streamlit as st

from dangjian_core import clock, tables
from dangjian_core.sites import attachments, model, specs, store
from dangjian_core.sites import rules as R
from dangjian_core.vocab import CATEGORIES
from ui import sites_widgets as W
from ui.messages import flash, run_safely, show_flash_at
from ui.session import start_page

db, user, can = start_page("示范点", model.PERM)
today = clock.today()
df = W.sites_now(db)

counts = dict(df.group_by("status").len().iter_rows())
for box, (code, text) in zip(st.columns(len(R.STATUSES)), R.STATUSES.items()):
    box.metric(text, counts.get(code, 0))

f1, f2, f3, f4 = st.columns([2, 2, 2, 1])
statuses = f1.multiselect("状态", list(R.STATUSES), default=list(R.OPEN), format_func=R.STATUSES.get,
                          key="st_status", placeholder="全部", select_all=False)
cats = f2.multiselect("类别", list(CATEGORIES), format_func=CATEGORIES.get, key="st_cat", placeholder="全部",
                    select_all=False)
search = f3.text_input("搜索", key="st_search", placeholder="党组织、街道、品牌、督查指导员")
only_overdue = f4.checkbox("只看逾期", key="st_overdue")
view = df
if statuses:
    view = view.filter(pl.col("status").is_in(statuses))
if cats:
    view = view.filter(pl.col("category").is_in(cats))
if search.strip():
    t = search.strip()
    view = view.filter(pl.any_horizontal(pl.col(c).fill_null("").str.contains(t, literal=True)
                                         for c in ("name", "street", "brand", "supervisor", "liaison")))
if only_overdue:
    view = view.filter(pl.col("overdue"))
chosen = st.dataframe(W.sites_display(view), hide_index=True, placeholder="", width="stretch", key="st_list", on_select="rerun",
                      selection_mode="single-row", height=min(36 * (view.height + 1), 360)).selection.rows
if chosen and st.session_state.get("st_list_last") != (key := int(view["id"][chosen[0]])):
    st.session_state["st_list_last"] = st.session_state["site_pick_next"] = key  # a click in the list picks
st.caption(f"共 {view.height} 条。状态只能通过「确定为创建单位」和「记录考评」改变；一个未通过命名的单位重新申报时，"
           "会新开一轮创建，原来的记录保留。")

if can:
    with st.expander("申报新的创建单位"):
        cand = W.read(db, store.open_candidates)
        with st.form("apply_form", clear_on_submit=True):
            a1, a2, a3 = st.columns([3, 1, 1])
            names = dict(zip(cand["id"].to_list(), (cand["name"] + "（" + cand["street"] + "）").to_list()))
            org = a1.selectbox("党组织", list(names), format_func=names.get, index=None, placeholder="选择或输入名称")
            year = a2.number_input("创建年度", R.MIN_YEAR, today.year + 1, today.year)
            applied_on = a3.date_input("申报日期", today)
            b1, b2, b3 = st.columns(3)
            unit = b1.text_input("责任单位", placeholder="例如：东湖街道党工委")
            liaison = b2.text_input("联络员")
            brand = b3.text_input("特色品牌（可后补）")
            if st.form_submit_button("申报", type="primary"):
                sid, exc = run_safely(store.apply_site, db, user, org, int(year), applied_on=applied_on,
                                      responsible_unit=unit or None, liaison=liaison or None, brand=brand or None)
                if exc is None:
                    flash(f"已登记申报：{names[org]}，{year} 年。确定为创建单位后即可跟踪和考评。")
                    st.session_state["site_pick_next"] = sid
                    st.rerun()

ids = view["id"].to_list()
pending = st.session_state.pop("site_pick_next", None)
if pending is not None:
    st.session_state["site_pick"] = pending
current = st.session_state.get("site_pick")
if current in df["id"].to_list() and current not in ids:
    ids = [current] + ids  # keep the site in hand when its new status is filtered out
elif current not in ids:
    st.session_state.pop("site_pick", None)
if not ids:
    st.info("没有符合条件的示范点。")
    st.stop()
rows = {r["id"]: r for r in df.filter(pl.col("id").is_in(ids)).iter_rows(named=True)}
pick = st.selectbox("选择示范点", ids, format_func=lambda i: W.site_label(rows[i]), key="site_pick")
site = rows[pick]
st.subheader(site["name"])
due = site["due_date"]
info = (f"**{R.status_label(site['status'])}** · {CATEGORIES.get(site['category'], '')} · {site['street']} · "
        f"{site['creation_year']} 年创建" + (f" · {site['named_year']} 年授牌" if site["named_year"] else ""))
if due:
    info += f" · 应于 {due:%Y-%m-%d} 前完成 {site['due_year']} 年度考评"
st.markdown(info)
if site["overdue"]:
    st.warning(f"{site['due_year']} 年度考评已逾期，请尽快安排。")

tabs = st.tabs(["概况与联系人", "记录考评", "考评记录", "创建档案", "结对"], key="site_tab", on_change="rerun")
with tabs[0]:
    if tabs[0].open is not False:
        show_flash_at(f"site_overview_{pick}")
        rounds = W.read(db, store.rounds_of_org, site["org_id"])
        if rounds.height > 1:
            st.caption("历次创建：" + "；".join(f"{r['creation_year']} 年 {R.status_label(r['status'])}"
                                            for r in rounds.iter_rows(named=True)))
        if site["status"] == "applied" and can:
            s1, s2 = st.columns([1, 3])
            on = s1.date_input("立项日期", today, key=f"sel_on_{pick}")
            if s2.button("确定为创建单位", type="primary", key=f"sel_{pick}"):
                _, exc = run_safely(store.select_site, db, user, pick, selected_on=on,
                                    expected_version=site["version"])
                if exc is None:
                    flash(f"「{site['name']}」已确定为 {site['creation_year']} 年创建单位。", where=f"site_overview_{pick}")
                    st.rerun()
        with st.form(f"people_{pick}"):
            p1, p2, p3 = st.columns(3)
            vals = {k: box.text_input(specs.SITES_SPEC.column(k).label, site[k] or "", disabled=not can)
                    for box, k in ((p1, "supervisor"), (p2, "liaison"), (p3, "leader"))}
            q1, q2, q3 = st.columns([2, 2, 1])
            vals["responsible_unit"] = q1.text_input("责任单位", site["responsible_unit"] or "", disabled=not can)
            vals["brand"] = q2.text_input("特色品牌", site["brand"] or "", disabled=not can)
            vals["inspection_interval"] = q3.selectbox("年检周期（年）", [1, 2], index=site["inspection_interval"] - 1,
                                                       disabled=not can)
            vals["note"] = st.text_input("备注", site["note"] or "", disabled=not can)
            if st.form_submit_button("保存联系人和设置", disabled=not can):
                res, exc = run_safely(store.update_people, db, user, pick, vals, site["version"])
                if exc is None:
                    flash("已保存。" if res.batch_id else "没有修改。", where=f"site_overview_{pick}")
                    st.rerun()
with tabs[1]:
    if tabs[1].open is not False:
        W.assessment_entry(db, user, site)
with tabs[2]:
    if tabs[2].open is not False:
        W.history(db, user, site)
with tabs[3]:
    if tabs[3].open is not False:
        ev = W.read(db, store.events, site["org_id"])
        this_year = ev.filter(pl.col("event_date").dt.year() == today.year)
        m1, m2, m3 = st.columns(3)
        m1.metric(f"{today.year} 年督查指导", f"{(this_year['kind'] == 'guidance_visit').sum()} 次")
        m2.metric(f"{today.year} 年典型经验", f"{(this_year['kind'] == 'experience').sum()} 篇")
        m3.metric("以奖代投累计", f"{float(ev['amount'].cast(pl.Float64).sum() or 0):,.0f} 元")
        W.scoped_editor(db, user, specs.EVENTS_SPEC, key=f"ev_{site['org_id']}", fixed={"org_id": site["org_id"]})
        W.attachments(db, ev)
        show_flash_at(f"site_archive_{pick}")  # right above the form, where the click was
        if can:
            with st.form(f"upload_{pick}", clear_on_submit=True):
                u1, u2, u3 = st.columns([2, 1, 1])
                title = u1.text_input("事项", placeholder="例如：主题党日活动照片")
                on = u2.date_input("日期", today)
                kind = u3.selectbox("类型", list(R.EVENT_KINDS), index=4, format_func=R.EVENT_KINDS.get)
                up = st.file_uploader("照片或文件（最大 20 MB）", key=f"upl_{pick}")
                if st.form_submit_button("上传到创建档案") and up is not None:
                    _, exc = run_safely(attachments.add_attachment, db, user, site["org_id"], on, title, up.name,
                                        up.getvalue(), kind=kind)
                    if exc is None:
                        flash(f"已上传：{up.name}", where=f"site_archive_{pick}")
                        st.rerun()
with tabs[4]:
    if tabs[4].open is not False:
        W.scoped_editor(db, user, specs.PAIRINGS_SPEC, key=f"pair_{site['org_id']}",
                        fixed={"site_org_id": site["org_id"]})
        sugg = W.read(db, store.pairing_suggestions, site["org_id"])
        st.markdown("**结对建议**：就近的后进党组织（5 公里内；无坐标时按同一街道）")
        if not sugg:
            st.caption("附近没有尚未结对的后进党组织。")
        else:
            st.dataframe(pl.DataFrame(sugg).select(pl.col("name").alias("党组织"), pl.col("street").alias("街道"),
                                                   pl.col("distance_km").alias("距离（公里）"),
                                                   pl.col("reason").alias("理由")), hide_index=True, placeholder="", width="stretch")
            if can:
                names = {s["org_id"]: s["name"] for s in sugg}
                g1, g2 = st.columns([3, 1])
                partner = g1.selectbox("采纳建议", list(names), format_func=names.get, key=f"sugg_{pick}")
                if g2.button("登记结对", key=f"sugg_go_{pick}"):
                    _, exc = run_safely(tables.save, db, user, specs.PAIRINGS_SPEC, tables.Changes(inserts=[
                        {"site_org_id": site["org_id"], "partner_org_id": partner, "started_on": today}]))
                    if exc is None:
                        flash(f"已登记结对：{site['name']} ↔ {names[partner]}，请补充结对活动。",
                              where=f"site_pairing_{pick}")
                        st.rerun()
                show_flash_at(f"site_pairing_{pick}")

with st.expander("党组织架构（上下级关系）"):
    W.org_tree(db)
