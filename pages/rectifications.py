"""整改跟踪：问题整改意见单 → 通报批评单 → 主要领导约谈单。逾期看板、确认升级、销号、打印通知单。"""


import polars as pl
import streamlit as st

from dangjian_core import clock, documents
from dangjian_core.reports import model, rectifications, specs
from dangjian_core.reports import notices as notices_core
from ui import reports_widgets as W
from ui.messages import flash, run_safely
from ui.session import start_page
from ui.table_editor import export_button, import_expander, table_editor

db, user, can = start_page("整改跟踪", model.PERM)
today = clock.today()


board, n = W.rectification_board(db, db.generation, today)
cols = st.columns(5)
for box, label, key in zip(cols, ["未销号", "逾期", "整改意见单", "通报批评单", "约谈单"],
                           ["open", "overdue", "level1", "level2", "level3"]):
    box.metric(label, f"{n[key]:,}")
section = st.radio("栏目", ["逾期看板", "整改事项", "打印通知单"], horizontal=True, key="rc_section",
                   label_visibility="hidden")


def overdue() -> None:
    if board.height == 0:
        st.success("没有逾期未整改的事项。")
        return
    st.caption("按逾期天数从多到少排列。逾期的事项建议升级一级：问题整改意见单 → 通报批评单 → 主要领导约谈单；"
               "升级需办公室确认，确认之日起重新计算整改期限。")
    st.dataframe(board.select(
        pl.col("days_overdue").alias("逾期天数"), pl.col("name").alias("单位"), pl.col("level_name").alias("当前"),
        pl.col("note").alias("建议"), pl.col("problem").alias("问题"), pl.col("responsible").alias("责任人"),
        pl.col("deadline").alias("整改期限"), pl.col("street").alias("街道/系统")), hide_index=True, width="stretch",
        height=min(420, 35 * (board.height + 1) + 3), placeholder="—")
    props = board.filter(~pl.col("at_top"))
    if not can or props.height == 0:
        return
    labels = {r["item_id"]: f"{r['name']} · 第 {r['item_id']} 号 · 逾期 {r['days_overdue']} 天 → {r['proposed_name']}"
              for r in props.iter_rows(named=True)}
    level = dict(zip(props["item_id"].to_list(), props["level"].to_list()))
    with st.form("rc_escalate"):
        st.markdown("**确认升级**（升级会下发新的通知单：先选事项，再核对件数确认）")
        # no「全选」: each item that gets a formal document is picked by hand
        pick = st.multiselect("选择要升级的事项", list(labels), format_func=labels.get, key="rc_pick",
                              placeholder="逐项选择", select_all=False)
        c1, c2 = st.columns([1, 3])
        on = c1.date_input("确认日期", today, max_value=today, key="rc_on")
        note = c2.text_input("备注（可选）", key="rc_note")
        if st.form_submit_button("确认升级", type="primary"):
            if pick:
                st.session_state["rc_pending"] = {"items": [(i, level[i]) for i in pick], "on": on, "note": note}
            else:
                st.warning("请先选择要升级的事项。")
    pending = st.session_state.get("rc_pending")
    if pending:
        n = len(pending["items"])
        st.warning(rectifications.escalation_question(pending["items"]) + f"（确认日期 {pending['on']}）")
        b1, b2, _ = st.columns([1, 1, 3])
        if b1.button(f"是，升级 {n} 项", type="primary", key="rc_escalate_yes"):
            st.session_state.pop("rc_pending", None)
            _, exc = run_safely(rectifications.confirm_escalations, db, user, pending["items"], confirmed_on=pending["on"],
                                note=pending["note"])
            if exc is None:
                flash(f"已确认升级 {n} 项，可在「打印通知单」中打印新的通知单。")
                st.session_state.pop("rc_pick", None)
                st.rerun()
        if b2.button("取消", key="rc_escalate_no"):
            st.session_state.pop("rc_pending", None)
            st.rerun()


def register_items() -> None:
    if can:
        with st.expander("登记新的整改事项", expanded=False):
            with st.form("rc_new", clear_on_submit=True):
                unit = W.unit_picker(db, "单位", "rc_new_unit")
                c1, c2 = st.columns(2)
                source = c1.selectbox("来源", list(model.SOURCES), format_func=model.SOURCES.get, key="rc_new_source")
                ss = W.sessions(db, db.generation, None).filter(pl.col("status") == "published")
                titles = dict(zip(ss["id"].to_list(), ss["title"].to_list()))
                sess = c2.selectbox("述职场次（来源为述职评议时选择）", list(titles), index=None,
                                    format_func=titles.get, key="rc_new_session")
                problem = st.text_area("发现的问题", key="rc_new_problem", height=80)
                measure = st.text_area("整改措施要求", key="rc_new_measure", height=80)
                c3, c4, c5 = st.columns(3)
                who = c3.text_input("责任人", key="rc_new_who")
                opened = c4.date_input("下发日期", today, max_value=today, key="rc_new_opened")
                deadline = c5.date_input("整改期限", None, key="rc_new_deadline")
                if st.form_submit_button("登记（下发问题整改意见单）", type="primary"):
                    iid, exc = run_safely(rectifications.add_item, db, user, unit_id=unit, problem=problem, measure=measure,
                                          responsible=who, opened=opened, deadline=deadline, source=source,
                                          session_id=sess)
                    if exc is None:
                        flash(f"已登记第 {iid} 号整改事项。")
                        st.rerun()
        open_items = W.rectification_items(db, db.generation, "open")
        with st.expander("销号（整改完成）", expanded=False):
            if open_items.height == 0:
                st.info("没有未销号的事项。")
            else:
                labels = {r["id"]: f"第 {r['id']} 号 · {r['name']} · {r['problem'][:24]}（{r['state']}）"
                          for r in open_items.iter_rows(named=True)}
                versions = dict(zip(open_items["id"].to_list(), open_items["version"].to_list()))
                iid = st.selectbox("事项", list(labels), format_func=labels.get, key="rc_close_item")
                c1, c2 = st.columns([1, 3])
                closed = c1.date_input("销号日期", today, max_value=today, key="rc_close_on")
                note = c2.text_input("销号说明", key="rc_close_note", placeholder="例如：已整改到位，材料已归档")
                if st.button("销号", key="rc_close", type="primary"):
                    _, exc = run_safely(rectifications.close_item, db, user, iid, closed, note, expected_version=versions[iid])
                    if exc is None:
                        flash(f"第 {iid} 号事项已销号。")
                        st.rerun()
    st.caption("可在表中修改问题、措施、责任人和期限；级别只能在逾期看板中确认升级。")
    table_editor(db, user, specs.ITEMS_SPEC, key="rc_items", filter_columns=["source"], page_size=300)
    export_button(db, user, specs.ITEMS_SPEC, key="rc_items")
    import_expander(db, user, specs.ITEMS_SPEC, key="rc_items_import", label="从 Excel 导入整改事项")


def notices() -> None:
    all_items = W.rectification_items(db, db.generation, "all")
    if all_items.height == 0:
        st.info("还没有整改事项。")
        return
    labels = {r["id"]: f"第 {r['id']} 号 · {r['name']} · {r['level_name']}（{r['state']}）"
              for r in all_items.iter_rows(named=True)}
    iid = st.selectbox("事项", list(labels), format_func=labels.get, key="rc_doc_item",
                       index=0, placeholder="输入单位名称查找")
    docs = rectifications.documents(db, iid)
    lv = st.radio("通知单", [d["level"] for d in docs], horizontal=True, key="rc_doc_level",
                  format_func=lambda v: f"{model.LEVEL_NAMES.get(v, v)}（{next((d['issued'] for d in docs if d['level'] == v), '')}）",
                  index=len(docs) - 1)
    W.printable(notices_core.rectification_notice_html(db, iid, lv), f"{model.LEVEL_NAMES[lv]}-第{iid}号", f"rc_doc_{iid}_{lv}",
                docx=lambda: documents.rectification(db, user, iid, lv))


{"逾期看板": overdue, "整改事项": register_items, "打印通知单": notices}[section]()
