"""党建工作台 — entry point: login, then the pages this user's roles may open."""

import os

import streamlit as st

from dangjian_core.demo import is_demo
from ui import chrome
from ui.login import login_gate, login_page, logout
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

def _forbidden():
    """Stands in, hidden from the menu, for a page this user's roles may not open, so that
    typing its address says why instead of silently landing on 首页."""
    st.title("无法打开该页面")
    st.warning("您没有权限打开该页面。如需使用，请联系系统管理员开通相应角色。", icon=":material/lock:")
    st.page_link("pages/home.py", label="返回首页", icon=":material/home:")


def _logout():
    logout()
    st.rerun()


def _url_path(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


chrome.install()  # Streamlit's own words (uploader, select boxes, grid menus) in Chinese
existing = [p for p in PAGES if os.path.exists(os.path.join(os.path.dirname(__file__), p[0]))]
db = get_db()
user = login_gate(db)
if user is None:
    # Every page's address shows the login form (hidden from a menu), so that an address
    # typed before logging in opens that page once logged in; without st.navigation
    # Streamlit would also list every file in pages/ in the sidebar.
    st.navigation([st.Page(login_page, title="登录", url_path="login", default=True)]
                  + [st.Page(login_page, title=title, url_path=_url_path(path), visibility="hidden")
                     for path, title, *_ in existing], position="hidden").run()
    st.stop()

sections: dict[str, list] = {}
forbidden = []
for path, title, icon, perm, section in existing:
    if user.can(perm):
        sections.setdefault(section, []).append(st.Page(path, title=title, icon=icon))
    else:
        forbidden.append(st.Page(_forbidden, title=title, icon=":material/lock:",
                                 url_path=_url_path(path), visibility="hidden"))
# 退出登录 is a link to a hidden page, not a button drawn beside st.navigation: a widget
# outside the running page can lose its click on a new server's first run (ui.login.login_page)
logout_page = st.Page(_logout, title="退出登录", icon=":material/logout:", url_path="logout",
                      visibility="hidden")
sections[next(iter(sections))].extend(forbidden + [logout_page])
# expanded=True: the whole menu, never folded behind an English "View N more"
nav = st.navigation(sections, expanded=True)

st.sidebar.caption(f"当前用户：{user.display_name}（{user.role_label}）")
st.sidebar.page_link(logout_page, label="退出登录", icon=":material/logout:")
if st.session_state.get("demo_banner") is None:
    st.session_state["demo_banner"] = is_demo(db)
if st.session_state["demo_banner"]:
    st.warning("演示数据：当前数据均为虚构的示例市数据，仅供试用。", icon=":material/science:")
nav.run()
