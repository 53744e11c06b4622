"""The process-wide database and the per-browser-session user."""

from __future__ import annotations

import streamlit as st

from dangjian_core import backups, setup
from dangjian_core.auth import User
from dangjian_core.db import Database, default_path


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Database:
    db, _ = setup.prepare(path)
    try:
        backups.daily_backup(db)
    except Exception:  # noqa: BLE001 — a failed backup must not stop the app; admin page shows backups
        pass
    return db


def get_db() -> Database:
    """One connection per process (DuckDB locks the file); pages take cursors from it."""
    return _open(default_path())


def current_user() -> User:
    user = st.session_state.get("user")
    if user is None:
        st.stop()
    return user


def generation(db: Database) -> int:
    """Changes after every committed write: cached reads take it as an argument, so a write
    through any door makes every page read fresh data on its next run."""
    return db.generation
