"""Cached reads of the 基层党组织 data for the pages (首页, 基层党组织), keyed on db.generation:
a write through any door makes the next run read fresh data. Rules and SQL stay in
dangjian_core.orgs."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from dangjian_core import orgs


@st.cache_data(show_spinner=False, max_entries=4)
def overview(_db, generation: int) -> dict[str, Any]:
    """首页's figures (orgs, streets, members, by category and tier)."""
    return orgs.overview(_db)


@st.cache_data(show_spinner=False, max_entries=4)
def tree_and_misfits(_db, generation: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The 组织树与层级核对 section's two reads (the org tree, the level check)."""
    return orgs.tree(_db), orgs.level_misfits(_db)
