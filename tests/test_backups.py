import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dangjian_core import backups, setup, tables
from dangjian_core.db import Database
from dangjian_core.errors import PermissionDenied
from tests.conftest import ADMIN, EDITOR

ROOT = Path(__file__).resolve().parents[1]


def test_daily_backup_once_a_day_and_old_ones_dropped(demo_db):
    d = backups.backup_dir(demo_db)
    old = d / "自动-20200101.duckdb"
    d.mkdir(parents=True, exist_ok=True)
    old.write_bytes(b"x")
    now = datetime(2026, 11, 23, 9)
    assert backups.daily_backup(demo_db, now=now) is not None
    assert backups.daily_backup(demo_db, now=now + timedelta(hours=5)) is None  # same day
    assert not old.exists()
    assert (d / "自动-20261123.duckdb").exists()


def test_restore_then_export_equals_export_before(demo_db):
    spec = tables.get_spec("orgs")
    before = tables.export_frame(demo_db, EDITOR, spec)
    made = backups.make_backup(demo_db, ADMIN)
    r = tables.load(demo_db, EDITOR, spec).row(0, named=True)
    tables.save(demo_db, EDITOR, spec, tables.Changes(updates={r["id"]: {"secretary": "变了"}},
                                                   versions={r["id"]: r["version"]}))
    safety = backups.restore(demo_db, ADMIN, made.name)
    assert tables.export_frame(demo_db, EDITOR, spec).equals(before)
    assert safety.exists()  # the state before the restore was kept


def test_only_admin_backs_up_or_restores(demo_db):
    with pytest.raises(PermissionDenied):
        backups.make_backup(demo_db, EDITOR)
    with pytest.raises(PermissionDenied):
        backups.restore(demo_db, EDITOR, "x.duckdb")


def test_restore_refuses_paths_outside_the_backup_folder(demo_db):
    with pytest.raises(Exception, match="找不到备份文件"):
        backups.restore(demo_db, ADMIN, "../../etc/passwd")


def test_cli_backup_restore_round_trip(tmp_path):
    db = tmp_path / "c.duckdb"
    run = lambda *a: subprocess.run([sys.executable, "-m", "dangjian_core", *a, "--db", str(db)],
                                    cwd=ROOT, capture_output=True, text=True)
    assert run("db", "init", "--demo", "--scale", "tiny").returncode == 0
    assert run("db", "export", "orgs", str(tmp_path / "a.csv")).returncode == 0
    assert run("db", "backup", str(tmp_path / "bk.duckdb")).returncode == 0
    (tmp_path / "new.csv").write_text("名称,层级,类别,街道/系统,党员人数\n多出来的支部,党支部,农村,东湖街道,5\n")
    assert run("db", "import", "orgs", str(tmp_path / "new.csv")).returncode == 0
    r = run("db", "restore", str(tmp_path / "bk.duckdb"))
    assert r.returncode == 0, r.stderr
    assert run("db", "export", "orgs", str(tmp_path / "b.csv")).returncode == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_cookie_key_is_random_per_installation_and_not_in_git(tmp_path):
    keys = []
    for name in ("a", "b"):
        d = Database(tmp_path / f"{name}.duckdb")
        d.migrate()
        keys.append(setup.ensure_secrets(d))
        assert setup.ensure_secrets(d) == keys[-1]  # stable for one installation
        d.close()
    assert keys[0] != keys[1] and len(keys[0]) == 64
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout
    assert ".duckdb" not in tracked
    for path in tracked.split():
        p = ROOT / path
        if path.startswith(("dangjian_core/", "ui/", "pages/", "app.py", ".streamlit/")) and p.exists():
            # the library's public default cookie key must never be used
            assert "some_key" not in p.read_text(errors="ignore"), path


def _copies_through_duckdb(monkeypatch) -> list[str]:
    from dangjian_core import db as dbmod

    seen: list[str] = []
    real = dbmod.Cursor.execute

    def spy(self, sql, params=None):
        if sql.startswith("COPY FROM DATABASE"):
            seen.append(sql)
        return real(self, sql, params)

    monkeypatch.setattr(dbmod.Cursor, "execute", spy)
    return seen


def test_a_backup_is_the_checkpointed_file_copied_and_holds_every_row(demo_db, monkeypatch):
    """The backup copies the file after a checkpoint (the operating system's copy: no table goes
    through DuckDB's memory, which the server would keep) and holds every row of every table."""
    with demo_db.read() as cur:
        before = {t: cur.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                  for (t,) in cur.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
                                          ).fetchall()}
    through_duckdb = _copies_through_duckdb(monkeypatch)
    made = backups.make_backup(demo_db, ADMIN)
    assert through_duckdb == []
    check = demo_db.check_backup(made)
    assert len(check.migrations) == before.pop("schema_migrations")
    assert {t: n for t, n in check.row_counts.items() if t in before} == before
    assert check.attachments is not None  # the attachment list is inside the copy


def test_with_something_left_in_the_log_the_backup_goes_through_duckdb(demo_db, tmp_path, monkeypatch):
    """A byte copy is only taken when the write-ahead log is empty; else DuckDB copies the tables
    (e.g. a reader kept the checkpoint from finishing) — and the backup still holds the write."""
    with demo_db.write() as cur:
        cur.execute("UPDATE orgs SET secretary = '日志里的修改' WHERE id = (SELECT min(id) FROM orgs)")
    wal = Path(demo_db.path + ".wal")
    assert wal.exists() and wal.stat().st_size > 0  # committed to the log, not yet checkpointed
    assert demo_db._copy_checkpointed_file(tmp_path / "x.part") is False
    assert not (tmp_path / "x.part").exists()
    monkeypatch.setattr(Database, "_copy_checkpointed_file", lambda self, tmp: False)  # as if a reader held it
    through_duckdb = _copies_through_duckdb(monkeypatch)
    made = backups.make_backup(demo_db, ADMIN)
    assert len(through_duckdb) == 1
    b = Database(made, read_only=True)
    try:
        with b.read() as cur:
            assert cur.execute("SELECT count(*) FROM orgs WHERE secretary = '日志里的修改'").fetchone()[0] == 1
    finally:
        b.close()
