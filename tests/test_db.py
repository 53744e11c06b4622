import subprocess
import sys

import duckdb
import pytest

from dangjian_core.db import Database, Migration, load_migrations
from dangjian_core.errors import DangjianError, DatabaseLocked


def test_fresh_migration_creates_schema_and_is_repeatable(tmp_path):
    db = Database(tmp_path / "a.duckdb")
    applied = db.migrate()
    assert applied == [m.version for m in load_migrations()]
    assert db.migrate() == []  # second start applies nothing
    with db.read() as cur:
        tables = {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"orgs", "members", "users", "audit_log", "schema_migrations"} <= tables


def test_failing_migration_rolls_back_and_keeps_earlier(tmp_path):
    db = Database(tmp_path / "a.duckdb")
    good = Migration(1, "good", "CREATE TABLE a (x INTEGER);")
    bad = Migration(2, "bad", "CREATE TABLE b (x INTEGER); INSERT INTO b VALUES ('not a number');")
    with pytest.raises(DangjianError, match="第 002 步"):
        db.migrate([good, bad])
    with db.read() as cur:
        names = {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        versions = [r[0] for r in cur.execute("SELECT version FROM schema_migrations").fetchall()]
    assert "a" in names and "b" not in names
    assert versions == [1]


def test_backup_before_migrating_a_database_with_data(tmp_path):
    db = Database(tmp_path / "a.duckdb")
    db.migrate([Migration(1, "one", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);")])
    db.migrate([Migration(1, "one", ""), Migration(2, "two", "ALTER TABLE a ADD COLUMN y INTEGER;")],
               backup_dir=tmp_path / "bk")
    backups = list((tmp_path / "bk").glob("*.duckdb"))
    assert len(backups) == 1
    con = duckdb.connect(str(backups[0]), read_only=True)
    assert con.execute("SELECT x FROM a").fetchall() == [(1,)]
    assert [c[0] for c in con.execute("DESCRIBE a").fetchall()] == ["x"]


def test_backup_restore_round_trip(demo_db, tmp_path):
    from dangjian_core import tables
    from tests.conftest import EDITOR

    spec = tables.get_spec("orgs")
    before = tables.export_frame(demo_db, EDITOR, spec)
    demo_db.backup(tmp_path / "b.duckdb")
    r = tables.load(demo_db, EDITOR, spec).row(0, named=True)
    tables.save(demo_db, EDITOR, spec, tables.Changes(updates={r["id"]: {"name": "改过的名字"}},
                                                   versions={r["id"]: r["version"]}))
    assert not tables.export_frame(demo_db, EDITOR, spec).equals(before)
    demo_db.restore_from(tmp_path / "b.duckdb")
    assert tables.export_frame(demo_db, EDITOR, spec).equals(before)


def test_restore_refuses_a_file_that_is_not_a_backup(db, tmp_path):
    p = tmp_path / "x.duckdb"
    p.write_bytes(b"not a database")
    with pytest.raises(DangjianError, match="不是有效的数据库备份"):
        db.restore_from(p)


def test_second_process_gets_a_chinese_locked_message(db):
    code = ("import sys\nfrom dangjian_core.db import Database\nfrom dangjian_core.errors import DatabaseLocked\n"
            f"try:\n    Database({str(db.path)!r})\nexcept DatabaseLocked as e:\n    print(e); sys.exit(3)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 3, r.stderr
    assert "正被另一个程序使用" in r.stdout
    _ = DatabaseLocked


def test_a_watched_event_is_set_by_every_write_and_only_by_writes(db):
    """A background thread waits on an event the database sets after each committed write
    (no polling with a timeout). A write that leaves the cache alone (login bookkeeping) and a
    read set nothing; after unwatch nothing is set any more."""
    import threading

    ev = threading.Event()
    db.watch(ev)
    with db.read() as cur:
        cur.execute("SELECT 1")
    assert not ev.is_set()
    with db.write(invalidates_cache=False) as cur:
        cur.execute("SELECT 1")
    assert not ev.is_set()
    before = db.generation
    with db.write() as cur:
        cur.execute("SELECT 1")
    assert ev.is_set() and db.generation == before + 1
    ev.clear()
    db.unwatch(ev)
    with db.write() as cur:
        cur.execute("SELECT 1")
    assert not ev.is_set()
