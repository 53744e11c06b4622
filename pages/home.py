"""首页：全市（区）基层党建概况。"""

import altair as alt
import polars as pl
import streamlit as st

from dangjian_core.vocab import CATEGORIES, TIERS
from ui import orgs_widgets
from ui.charts_widgets import saved_charts_section
from ui.messages import show_flashes
from ui.session import current_user, get_db

db = get_db()
user = current_user()
show_flashes()
st.title("党建工作台")

data = orgs_widgets.overview(db, db.generation)
c1, c2, c3, c4 = st.columns(4)
c1.metric("基层党组织", f"{data['orgs']:,}")
c2.metric("街道/系统", data["streets"])
c3.metric("党员", f"{data['members']:,}")
c4.metric("其中预备党员", f"{data['probationary']:,}")

by = data["by_category_tier"].with_columns(
    pl.col("category").replace_strict(CATEGORIES, default=pl.col("category")).alias("类别"),
    pl.col("tier").replace_strict(TIERS, default=pl.col("tier")).alias("等次"),
    pl.col("n").alias("数量"),
)
chart = alt.Chart(by).mark_bar().encode(
    x=alt.X("类别:N", sort=list(CATEGORIES.values()), axis=alt.Axis(labelAngle=0)),
    y=alt.Y("sum(数量):Q", title="党组织数"),
    color=alt.Color("等次:N", sort=list(TIERS.values()),
                    scale=alt.Scale(domain=list(TIERS.values()), range=["#C8161D", "#F2A33A", "#7F7F7F"])),
    order=alt.Order("等次:N"),
    tooltip=["类别", "等次", "数量"],
).properties(title="各类别党组织数量及评定等次", height=320)
st.altair_chart(chart, width="stretch")

st.divider()
saved_charts_section(db, user)
