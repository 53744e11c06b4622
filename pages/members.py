"""党员名册：按党组织、类型筛选，分页编辑，导入导出。身份证号仅党费管理员和系统管理员可见。"""

import streamlit as st

from dangjian_core import members
from ui.messages import show_flashes
from ui.session import current_user, get_db
from ui.table_editor import export_button, import_expander, table_editor

db = get_db()
user = current_user()
st.title("党员名册")
show_flashes()
if not user.can("salary.read"):
    st.caption("身份证号等敏感信息仅党费管理员和系统管理员可见。")
table_editor(db, user, members.SPEC, key="members", filter_columns=["status", "dues_category"],
             page_size=200)
export_button(db, user, members.SPEC, key="members")
import_expander(db, user, members.SPEC, key="members_import")
