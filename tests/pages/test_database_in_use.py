"""A second app process on the same database file: one Chinese page, not Streamlit's English
error page listing every page file (issue 12, section 5)."""

import shutil
import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
from dangjian_core.db import Database
db = Database(sys.argv[1])
print("ready", flush=True)
sys.stdin.read()
"""


def test_database_held_by_another_process_shows_one_chinese_page(monkeypatch, tmp_path, demo_db_file):
    path = tmp_path / "held.duckdb"
    shutil.copyfile(demo_db_file, path)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        monkeypatch.setenv("DANGJIAN_DB", str(path))
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert [t.value for t in at.title] == ["数据库正被另一个程序使用"]
        text = " ".join(e.value for e in at.error)
        assert "正被另一个程序使用" in text and "请关闭那个程序后刷新本页" in text
        assert "pages/" not in text and "Traceback" not in text
        assert not at.text_input, "no login form on this page"
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    # once the other program is gone, the next run opens the database and shows the login
    at.run()
    assert not at.exception
    assert at.text_input(key="login_username") is not None


def test_an_installed_server_without_its_database_says_what_to_do_instead_of_a_login_form(monkeypatch, tmp_path):
    monkeypatch.setenv("DANGJIAN_NO_DEMO", "1")
    path = tmp_path / "data" / "dangjian.duckdb"
    monkeypatch.setenv("DANGJIAN_DB", str(path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(w.value for w in at.warning)
    assert "数据库是空的" in text and "db restore 备份文件" in text and "db init" in text and str(path) in text
    assert not at.text_input, "no login form that nobody can pass"
