"""Settings the install bundle relies on (deploy/install.sh writes them into dangjian.env).
The bundle itself is tested by `make test-bundle` (deploy/test_bundle.py)."""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from dangjian_core import auth, setup
from dangjian_core.auth import SYSTEM
from dangjian_core.db import Database

ROOT = Path(__file__).resolve().parents[1]


def test_login_cookie_is_marked_secure_only_behind_https(monkeypatch):
    from ui import login

    expires = datetime(2026, 11, 23, 18, tzinfo=UTC)
    monkeypatch.delenv("DANGJIAN_SECURE_COOKIES", raising=False)
    assert "Secure" not in login._cookie_script("t", expires)
    monkeypatch.setenv("DANGJIAN_SECURE_COOKIES", "1")
    assert login._cookie_script("t", expires).count("; Secure") == 1
    assert "; Secure" in login._cookie_script("", None)  # deleting it too


def test_an_installed_server_never_turns_a_missing_database_into_a_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("DANGJIAN_NO_DEMO", "1")
    db, created = setup.prepare(str(tmp_path / "new.duckdb"))
    try:
        with db.read() as cur:
            assert created and cur.execute("SELECT count(*) FROM orgs").fetchone()[0] == 0
        assert "数据库是空的" in setup.no_login_reason(db)
        auth.add_user(db, SYSTEM, "admin", "系统管理员", "password-123", "admin")
        assert setup.no_login_reason(db) is None
        auth.set_disabled(db, SYSTEM, "admin", True)
        assert "账号都已停用" in setup.no_login_reason(db) and "users enable" in setup.no_login_reason(db)
    finally:
        db.close()


def test_db_migrate_upgrades_an_existing_database_and_never_creates_one(tmp_path):
    from dangjian_core.db import load_migrations

    path = tmp_path / "d.duckdb"
    run = lambda: subprocess.run([sys.executable, "-m", "dangjian_core", "db", "migrate", "--db", str(path)],
                                 cwd=ROOT, capture_output=True, text=True)
    r = run()
    assert r.returncode == 1 and "不存在" in r.stderr and not path.exists()
    steps = load_migrations()
    d = Database(path)
    d.migrate(steps[:-1])  # the previous version's database, with data
    with d.write() as cur:
        cur.execute("CREATE TABLE keep_me (x INTEGER)")
        cur.execute("INSERT INTO keep_me VALUES (1)")
    d.close()
    r = run()
    assert r.returncode == 0 and f"已升级：{steps[-1].version:03d}" in r.stdout, r.stderr
    assert len(list((tmp_path / "backups").glob("迁移前-*.duckdb"))) == 1
    r = run()
    assert r.returncode == 0 and "已是最新" in r.stdout
    d = Database(path)
    with d.read() as cur:
        assert cur.execute("SELECT count(*) FROM keep_me").fetchone()[0] == 1
    d.close()


def test_bundled_font_folder_counts_as_a_chinese_font(tmp_path, monkeypatch):
    from dangjian_core.charts import export

    (tmp_path / "NotoSansCJK-Regular.ttc").write_bytes(b"font")
    monkeypatch.setattr(export, "_FONT_DIRS", [str(tmp_path / "nothing-here")])
    monkeypatch.setattr(export, "_font_ok", None)
    monkeypatch.delenv("DANGJIAN_FONT_DIR", raising=False)
    assert export.cjk_font_installed() is False
    monkeypatch.setattr(export, "_font_ok", None)
    monkeypatch.setenv("DANGJIAN_FONT_DIR", str(tmp_path))
    assert export.cjk_font_installed() is True
