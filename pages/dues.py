"""党费收缴：花名册（生成、重新计算、逐人登记缴费、导出）、登记缴费（粘贴、银行返回文件、多月与代缴、自愿多交）、
工资表与计算基数、设置。仅党费管理员和系统管理员可见。"""


import streamlit as st

from dangjian_core import clock
from dangjian_core.dues import store as dues_store
from ui import dues_widgets as W
from ui.messages import show_flashes
from ui.session import current_user, get_db

db = get_db()
user = current_user()
st.title("党费收缴")
show_flashes()
if not user.can(dues_store.PERM_READ):  # the navigation hides the page; this guards a direct run
    st.error("您的角色没有「查看党费」的权限。")
    st.stop()

months = W.month_options(db, user)
month, org_id = W.pick_scope(db, user, "dues", months, default=clock.today().replace(day=1))

tabs = st.tabs(["花名册", "登记缴费", "工资表与计算基数", "设置"], key="dues_tab", on_change="rerun")
with tabs[0]:
    if tabs[0].open is not False:
        summary = W.roll_metrics(db, user, month, org_id)
        W.roll_actions(db, user, month, org_id)
        if summary["members"]:
            W.roll_editor(db, user, month, org_id)
            W.roll_downloads(db, user, month, org_id)
        else:
            st.info(f"{dues_store.month_text(month)} 还没有花名册：点「生成」为已入党的党员计算本月应缴。", icon=":material/info:")

with tabs[1]:
    if tabs[1].open:
        if not user.can(dues_store.PERM_WRITE):
            st.info("您的角色只能查看。")
        else:
            st.caption(f"登记到 {dues_store.month_text(month)}（表中有「月份」列时按表中月份）。每种方式都先检查，全部无误才登记，"
                       "登记作为一批记录，可在「操作记录」中整批撤销。")
            with st.expander("粘贴表格", expanded=True):
                W.paste_panel(db, user, month)
            with st.expander("导入银行返回文件"):
                W.bank_panel(db, user, month)
            with st.expander("按季度、补交或委托代缴（一次缴纳多个月）"):
                W.multi_month_form(db, user, month)
            with st.expander("自愿多交"):
                W.voluntary_form(db, user, month)

with tabs[2]:
    if tabs[2].open:
        if not user.can(dues_store.PERM_SALARY):
            st.info("工资和计算基数只有党费管理员和系统管理员可见。")
        else:
            st.caption("计算基数 = 计入的工资项目 − 个人缴纳的社保、公积金、年金 − 个人所得税（口径见「设置」）。"
                       "每列工资项选一次口径：计入 / 扣除 / 不计入 / 个税 / 党员编号 / 姓名，导入时保存，下次自动沿用。")
            with st.expander("导入工资表", expanded=True):
                W.payroll_panel(db, user, month, org_id)
            with st.expander("导入现成的计算基数"):
                W.bases_panel(db, user, month)
            with st.expander("查看党员的计算基数历史"):
                W.base_history_panel(db, user)
            with st.expander("党员类别变化（如退休）"):
                W.category_panel(db, user)
            with st.expander("导入记录"):
                W.import_history_panel(db, user)

with tabs[3]:
    if tabs[3].open:
        W.settings_panel(db, user)
