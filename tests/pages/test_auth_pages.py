"""Sessions end when they should: expiry, disabled users, changed passwords."""

import time

from dangjian_core import auth
from dangjian_core.db import Database
from tests.conftest import ADMIN
from tests.pages.apptest_helpers import app_for, open_page


def test_disabled_user_is_logged_out_on_the_next_click(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "viewer")
    assert "user" in at.session_state
    from ui.session import get_db

    auth.set_disabled(get_db(), ADMIN, "viewer", True)
    at.run()
    assert "user" not in at.session_state
    assert any("重新登录" in i.value for i in at.info)


def test_session_expires_after_eight_hours(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    at.session_state["login_at"] = time.time() - 8 * 3600 - 5
    at.run()
    assert "user" not in at.session_state
    assert any("登录已过期" in i.value for i in at.info)
    assert not at.metric, "no data is shown after expiry"


def test_admin_disables_a_user_on_the_admin_page(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "admin", "pages/admin.py")
    at.selectbox(key="adm_target").select("viewer")
    at.run()
    next(b for b in at.button if b.label == "停用账号").click()
    at.run()
    assert not at.exception
    from ui.session import get_db

    assert auth.get_user(get_db(), "viewer") is None
    _ = Database
