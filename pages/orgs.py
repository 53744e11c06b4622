"""基层党组织：台账表格，可直接编辑、粘贴、导入导出。"""

import streamlit as st

from dangjian_core import orgs
from ui.messages import show_flashes
from ui.session import current_user, get_db
from ui.table_editor import export_button, import_panel, table_editor

db = get_db()
user = current_user()
st.title("基层党组织")
show_flashes()
st.caption("直接在表格中修改，可从 Excel 复制粘贴多行；点「保存」后才写入，所有修改都记录在「操作记录」中并可撤销。")
table_editor(db, user, orgs.SPEC, key="orgs", filter_columns=["street", "category", "tier"], page_size=500)
col1, col2 = st.columns([1, 3])
with col1:
    export_button(db, user, orgs.SPEC, key="orgs")
with st.expander("从 Excel 导入"):
    import_panel(db, user, orgs.SPEC, key="orgs_import")
