"""基层党组织：台账表格，可直接编辑、粘贴、导入导出。"""

import polars as pl
import streamlit as st

from dangjian_core import orgs
from ui import orgs_widgets
from ui.messages import show_flashes
from ui.session import current_user, get_db
from ui.table_editor import export_button, import_expander, table_editor

db = get_db()
user = current_user()
st.title("基层党组织")
show_flashes()
st.caption("直接在表格中修改，可从 Excel 复制粘贴多行；点「保存」后才写入，所有修改都记录在「操作记录」中并可撤销。")
table_editor(db, user, orgs.SPEC, key="orgs", filter_columns=["street", "category", "tier"], page_size=500)
col1, col2 = st.columns([1, 3])
with col1:
    export_button(db, user, orgs.SPEC, key="orgs")
import_expander(db, user, orgs.SPEC, key="orgs_import")

# drawn only while open (a collapsed expander would still run its body): the tree and the check
# read the whole table, which a search, an edit or a save of the table above does not need
tree_box = st.expander("组织树与层级核对", key="orgs_tree_open", on_change="rerun")
if tree_box.open:
    with tree_box:
        tree, misfit = orgs_widgets.tree_and_misfits(db, db.generation)
        st.caption("按上下级排列；层级、党员人数、评定等次和示范点状态一目了然。")
        st.dataframe(tree.select(
            pl.concat_str([pl.lit("　").repeat_by(pl.col("depth")).list.join(""), pl.col("name")]).alias("党组织"),
            pl.col("level_label").alias("层级"), pl.col("member_count").alias("党员人数"),
            pl.col("tier_label").alias("评定等次"), pl.col("site_label").alias("示范点"),
            pl.col("street").alias("街道/系统")), hide_index=True, width="stretch", height=420, placeholder="—")
        st.markdown(f"**层级与规模不相符的党组织**（{misfit.height} 个：人数过少 "
                    f"{misfit.filter(pl.col('too_small')).height} 个，人数过多 {misfit.filter(~pl.col('too_small')).height} 个）")
        if misfit.height:
            st.dataframe(misfit.select(pl.col("name").alias("党组织"), pl.col("street").alias("街道/系统"),
                                       pl.col("level_label").alias("层级"), pl.col("member_count").alias("党员人数"),
                                       pl.col("reason").alias("建议核对")),
                         hide_index=True, width="stretch", placeholder="—")
        else:
            st.success("所有党组织的层级都与党员人数相符。")
