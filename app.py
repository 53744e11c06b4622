"""党建工作台 — entry point: login, then the pages this user's roles may open."""

import os

import streamlit as st

from dangjian_core.demo import is_demo
from ui.login import login_gate, logout
from ui.session import get_db

st.set_page_config(page_title="党建工作台", page_icon=os.path.join(os.path.dirname(__file__), "ui", "icon.png"), layout="wide")

# (file, title, icon, permission needed, section)
PAGES = [
    ("pages/home.py", "首页", ":material/home:", "read", "概览"),
    ("pages/orgs.py", "基层党组织", ":material/account_tree:", "read", "示范点台账"),
    ("pages/members.py", "党员名册", ":material/groups:", "read", "示范点台账"),
    ("pages/sites.py", "示范点", ":material/flag:", "read", "示范点台账"),
    ("pages/site_plan.py", "年度计划与考评", ":material/assignment:", "read", "示范点台账"),
    ("pages/reports.py", "述职评议", ":material/record_voice_over:", "read", "述职评议"),
    ("pages/rectifications.py", "整改跟踪", ":material/notification_important:", "read", "述职评议"),
    ("pages/dues.py", "党费收缴", ":material/payments:", "dues.read", "党费"),
    ("pages/dues_arrears.py", "欠缴与补交", ":material/receipt_long:", "dues.read", "党费"),
    ("pages/observation.py", "观摩安排", ":material/directions_bus:", "read", "观摩互进"),
    ("pages/observation_scores.py", "观摩评分", ":material/military_tech:", "read", "观摩互进"),
    ("pages/charts.py", "简报图表", ":material/bar_chart:", "read", "工具"),
    ("pages/briefing.py", "生成通报", ":material/article:", "read", "工具"),
    ("pages/audit_log.py", "操作记录", ":material/history:", "read", "工具"),
    ("pages/admin.py", "系统管理", ":material/settings:", "users.manage", "工具"),
]

def _login_screen():
    """The only page before login (the form itself is drawn by login_gate)."""


db = get_db()
user, authenticator = login_gate(db)
if user is None:
    # Without st.navigation Streamlit would list every file in pages/ in the sidebar.
    st.navigation([st.Page(_login_screen, title="登录", url_path="login")], position="hidden")
    st.stop()

sections: dict[str, list] = {}
for path, title, icon, perm, section in PAGES:
    if user.can(perm) and os.path.exists(os.path.join(os.path.dirname(__file__), path)):
        sections.setdefault(section, []).append(st.Page(path, title=title, icon=icon))
nav = st.navigation(sections)

with st.sidebar:
    st.caption(f"当前用户：{user.display_name}（{user.role_label}）")
    if st.button("退出登录", key="logout_btn"):
        logout(authenticator)
        st.rerun()
if st.session_state.get("demo_banner") is None:
    st.session_state["demo_banner"] = is_demo(db)
if st.session_state["demo_banner"]:
    st.warning("演示数据：当前数据均为虚构的示例市数据，仅供试用。", icon=":material/science:")
nav.run()
