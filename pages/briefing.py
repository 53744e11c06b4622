"""生成通报：按统计期间和栏目生成党建工作通报（Word，公文格式）。"""

import streamlit as st

from ui import documents_widgets as DW
from ui.messages import show_flashes
from ui.session import current_user, get_db

db = get_db()
user = current_user()
st.title("生成通报")
show_flashes()
DW.briefing_panel(db, user)
