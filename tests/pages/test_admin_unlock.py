"""系统管理: an admin lifts a login lock at once (issue 12 §4), and it is recorded."""

from __future__ import annotations

import shutil
from datetime import datetime

from dangjian_core import auth
from dangjian_core.db import Database
from tests.pages.apptest_helpers import app_for, problems


def test_admin_unlocks_a_locked_user_from_the_admin_page(monkeypatch, tmp_path, demo_db_file):
    src = tmp_path / "src.duckdb"
    shutil.copyfile(demo_db_file, src)
    d = Database(src)
    for _ in range(auth.MAX_FAILED_LOGINS):
        auth.authenticate(d, "editor", "wrong-password", now=datetime.now())
    d.close()
    at = app_for(monkeypatch, tmp_path, src, "admin")
    at.switch_page("pages/admin.py")
    at.run()
    at.selectbox(key="adm_target").select("editor")
    at.run()
    unlock = [b for b in at.button if b.label == "解除登录锁定"]
    assert unlock, "a locked user gets an unlock button"
    unlock[0].click()
    at.run()
    assert not problems(at), problems(at)
    assert any("已解除 editor 的登录锁定" in s.value for s in at.success)
    at.selectbox(key="adm_target").select("viewer")
    at.run()
    assert not [b for b in at.button if b.label == "解除登录锁定"], "no button for an account that is not locked"
    at.switch_page("pages/audit_log.py")
    at.run()
    assert "解除用户 editor 的登录锁定" in " ".join(str(v) for v in at.dataframe[0].value["说明"].to_list())
