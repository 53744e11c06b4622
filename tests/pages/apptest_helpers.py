"""AppTest helpers: run app.py against a copy of the demo database, logged in as a role."""

from __future__ import annotations

import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def app_for(monkeypatch, tmp_path: Path, demo_file: Path, username: str | None) -> AppTest:
    db = tmp_path / "app.duckdb"
    shutil.copyfile(demo_file, db)
    monkeypatch.setenv("DANGJIAN_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    if username:
        at.text_input(key="login_username").input(username)
        at.text_input(key="login_password").input("dangjian-demo")
        at.button[0].click()
        at.run()
    return at


def open_page(monkeypatch, tmp_path: Path, demo_file: Path, username: str, page: str, **state) -> AppTest:
    """`app_for`, then `page` run once; then each `state` key (a tab, a picker) set in turn, the
    page run again after each."""
    at = app_for(monkeypatch, tmp_path, demo_file, username)
    at.switch_page(page)
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
        at.run()
    return at


def walk_tabs(at: AppTest, key: str, tabs: list[str]) -> None:
    """Open every tab of the tab bar `key` in turn; each renders without an error."""
    for tab in tabs:
        at.session_state[key] = tab
        at.run()
        assert not problems(at), (tab, problems(at))


def problems(at: AppTest) -> list[str]:
    return [e.value for e in at.exception] + [f"error: {e.value}" for e in at.error]
