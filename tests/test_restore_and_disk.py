"""Restore only whole backups of this program; survive a full disk; leave no half-written
backup behind (issue 12, section 5)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest

from dangjian_core import backups, setup, tables
from dangjian_core import db as dbmod
from dangjian_core.db import Database
from dangjian_core.errors import BadInput, DangjianError, DiskError
from tests.conftest import ADMIN, EDITOR

ROOT = Path(__file__).resolve().parents[1]
ORGS = tables.get_spec("orgs")


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _snapshot(db) -> dict:
    out = {}
    with db.read() as cur:
        for (t,) in cur.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
                                " ORDER BY 1").fetchall():
            out[t] = cur.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
    out["orgs_export"] = tables.export_frame(db, EDITOR, ORGS)
    return out


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (a[k].equals(b[k]) if hasattr(a[k], "equals") else a[k] == b[k]) for k in a)


def _only_migrations_file(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER, name VARCHAR, applied_at TIMESTAMP)")
    con.execute("INSERT INTO schema_migrations VALUES (1, 'foundation', now())")
    con.close()
    return path


def _truncated_backup(db, path: Path) -> Path:
    db.backup(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


# -- restore checks ------------------------------------------------------------------------------
def test_backup_with_only_the_migrations_table_is_refused_and_nothing_changes(demo_db, tmp_path):
    bad = _only_migrations_file(tmp_path / "only-migrations.duckdb")
    before = _snapshot(demo_db)
    with pytest.raises(BadInput, match="缺少数据表") as exc:
        demo_db.restore_from(bad)
    assert "orgs" in str(exc.value) and _chinese(str(exc.value))
    assert _same(_snapshot(demo_db), before)


def test_truncated_backup_is_refused_in_chinese_and_nothing_changes(demo_db, tmp_path):
    bad = _truncated_backup(demo_db, tmp_path / "half.duckdb")
    before = _snapshot(demo_db)
    with pytest.raises(BadInput) as exc:
        demo_db.restore_from(bad)
    assert "当前数据没有改动" in str(exc.value)
    assert _same(_snapshot(demo_db), before)


def test_backup_from_a_newer_program_is_refused(demo_db, tmp_path):
    newer = demo_db.backup(tmp_path / "newer.duckdb")
    con = duckdb.connect(str(newer))
    con.execute("INSERT INTO schema_migrations(version, name) VALUES (999, 'from_the_future')")
    con.close()
    with pytest.raises(BadInput, match="更新版本"):
        demo_db.check_backup(newer)


def test_garbage_file_is_refused(db, tmp_path):
    p = tmp_path / "garbage.duckdb"
    p.write_bytes(bytes(range(256)) * 256)
    with pytest.raises(BadInput, match="不是有效的数据库备份"):
        db.check_backup(p)


def test_check_shows_the_row_count_of_every_table(demo_db):
    made = backups.make_backup(demo_db, ADMIN)
    check = backups.check(demo_db, ADMIN, made.name)
    with demo_db.read() as cur:
        n_orgs = cur.execute("SELECT count(*) FROM orgs").fetchone()[0]
        tables_now = {r[0] for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    assert check.row_counts["orgs"] == n_orgs > 0
    assert set(check.row_counts) == tables_now - {"schema_migrations"}
    assert max(check.migrations) == max(m.version for m in dbmod.load_migrations())


def test_admin_restore_of_a_bad_file_in_the_backup_folder_changes_nothing(demo_db):
    d = backups.backup_dir(demo_db)
    d.mkdir(parents=True, exist_ok=True)
    _only_migrations_file(d / "坏的.duckdb")
    before = _snapshot(demo_db)
    n_files = len(list(d.iterdir()))
    with pytest.raises(BadInput, match="缺少数据表"):
        backups.restore(demo_db, ADMIN, "坏的.duckdb")
    assert _same(_snapshot(demo_db), before)
    assert len(list(d.iterdir())) == n_files, "not even the safety copy is made for a refused file"


def _cli(db_path: Path, *args: str):
    return subprocess.run([sys.executable, "-m", "dangjian_core", *args, "--db", str(db_path)],
                          cwd=ROOT, capture_output=True, text=True)


@pytest.fixture
def cli_db(tmp_path, demo_db_file):
    p = tmp_path / "cli.duckdb"
    shutil.copyfile(demo_db_file, p)
    return p


@pytest.mark.parametrize("kind", ["only_migrations", "truncated", "garbage", "missing"])
def test_cli_restore_of_a_bad_file_exits_2_in_chinese_and_leaves_the_database(cli_db, tmp_path, kind):
    bad = tmp_path / f"{kind}.duckdb"
    if kind == "only_migrations":
        _only_migrations_file(bad)
    elif kind == "truncated":
        d = Database(cli_db)
        _truncated_backup(d, bad)
        d.close()
    elif kind == "garbage":
        import random

        bad.write_bytes(b"\0" * 8 + b"DUCK" + random.Random(12).randbytes(300_000))  # same bytes every run
    before = cli_db.read_bytes()
    r = _cli(cli_db, "db", "restore", str(bad))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and _chinese(r.stderr), r.stderr
    assert cli_db.read_bytes() == before, "the live database is untouched"
    assert not list(tmp_path.glob("cli.duckdb.before-restore-*")), "no safety copy for a refused file"


def test_cli_restore_prints_the_row_counts_it_restores(cli_db, tmp_path):
    bk = tmp_path / "good.duckdb"
    assert _cli(cli_db, "db", "backup", str(bk)).returncode == 0
    r = _cli(cli_db, "db", "restore", str(bk))
    assert r.returncode == 0, r.stderr
    d = Database(cli_db)
    with d.read() as cur:
        n = cur.execute("SELECT count(*) FROM orgs").fetchone()[0]
    d.close()
    assert f"orgs\t{n}" in r.stdout and "检查通过" in r.stdout


# -- partial backup files ------------------------------------------------------------------------
@pytest.mark.parametrize("way", ["file copy", "through duckdb"])
def test_a_failed_backup_leaves_no_part_file(demo_db, tmp_path, monkeypatch, way):
    real = dbmod.Cursor.execute
    real_copy = shutil.copyfile

    def failing(self, sql, params=None):
        if sql.startswith("COPY FROM DATABASE"):
            real(self, sql, params)  # the copy is written …
            raise duckdb.IOException("IO Error: simulated write failure")  # … then fails
        return real(self, sql, params)

    def failing_copy(src, dst, **kw):
        real_copy(src, dst, **kw)  # the copy is written …
        raise OSError(28, "No space left on device")  # … then fails

    if way == "file copy":
        monkeypatch.setattr(dbmod.shutil, "copyfile", failing_copy)
    else:
        monkeypatch.setattr(Database, "_copy_checkpointed_file", lambda self, tmp: False)
        monkeypatch.setattr(dbmod.Cursor, "execute", failing)
    dest = tmp_path / "out" / "b.duckdb"
    with pytest.raises(DiskError):
        demo_db.backup(dest)
    monkeypatch.undo()
    left = sorted(p.name for p in dest.parent.iterdir())
    assert left == [], left
    with demo_db.read() as cur:  # the database is still usable
        assert cur.execute("SELECT count(*) FROM orgs").fetchone()[0] > 0


def test_startup_sweeps_part_files_of_a_killed_backup(tmp_path):
    path = tmp_path / "app.duckdb"
    db, _ = setup.prepare(str(path), demo_if_new=False)
    d = backups.backup_dir(db)
    db.close()
    d.mkdir(parents=True, exist_ok=True)
    (d / "自动-20261123.duckdb.part").write_bytes(b"half")
    (d / "自动-20261123.duckdb.part.wal").write_bytes(b"half")
    (d / "手动-20261122-100000.duckdb").write_bytes(b"kept")
    db, _ = setup.prepare(str(path), demo_if_new=False)
    db.close()
    assert sorted(p.name for p in d.iterdir()) == ["手动-20261122-100000.duckdb"]


# -- a dead connection after a fatal error ---------------------------------------------------------
def test_a_fatal_error_reopens_the_database_and_says_so_in_chinese(demo_db, monkeypatch):
    real = dbmod.Cursor.execute
    state = {"armed": True}

    def fatal_commit(self, sql, params=None):
        if sql == "COMMIT" and state["armed"]:
            state["armed"] = False
            raise duckdb.FatalException("FATAL Error: Failed to create checkpoint because of error: "
                                        "Could not write file: No space left on device")
        return real(self, sql, params)

    monkeypatch.setattr(dbmod.Cursor, "execute", fatal_commit)
    old_conn = demo_db._conn
    r = tables.load(demo_db, EDITOR, ORGS).row(0, named=True)
    with pytest.raises(DangjianError) as exc:
        tables.save(demo_db, EDITOR, ORGS, tables.Changes(updates={r["id"]: {"secretary": "新书记"}},
                                                        versions={r["id"]: r["version"]}))
    assert "重新打开数据库" in str(exc.value) and "磁盘" in str(exc.value)
    assert demo_db._conn is not old_conn, "the connection was reopened"
    # later reads and writes work again without a restart
    r = tables.load(demo_db, EDITOR, ORGS).row(0, named=True)
    tables.save(demo_db, EDITOR, ORGS, tables.Changes(updates={r["id"]: {"secretary": "再试一次"}},
                                                    versions={r["id"]: r["version"]}))
    assert tables.load(demo_db, EDITOR, ORGS).row(0, named=True)["secretary"] == "再试一次"


@pytest.fixture
def tiny_disk():
    """A 24 MB tmpfs (root only); skipped where mounting is not allowed."""
    mnt = Path("/tmp") / f"dangjian-fulldisk-{uuid.uuid4().hex[:8]}"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        mnt.rmdir()
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        shutil.rmtree(mnt, ignore_errors=True)


def test_a_real_full_disk_during_commit_reopens_the_database(tiny_disk):
    from dangjian_core import demo

    db = Database(tiny_disk / "full.duckdb")
    db.migrate()

    demo.build_demo(db, scale="tiny")
    with db.read() as cur:
        cur.execute("SET wal_autocheckpoint = '64KB'")  # checkpoint on commit, as a big WAL would
    filler = tiny_disk / "filler.bin"
    free = shutil.disk_usage(tiny_disk).free
    filler.write_bytes(b"\0" * max(0, free - 200 * 1024))
    messages = []
    for i in range(200):
        rows = tables.load(db, EDITOR, ORGS)
        ch = tables.Changes(updates={k: {"address": f"地址{i}-{k}" * 15} for k in rows["id"].to_list()},
                            versions=dict(zip(rows["id"].to_list(), rows["version"].to_list())))
        try:
            tables.save(db, EDITOR, ORGS, ch)
        except DiskError as exc:
            messages.append(str(exc))
            break
    assert messages, "the disk never filled up"
    assert "磁盘" in messages[0] and _chinese(messages[0]), messages[0]
    filler.unlink()  # the administrator frees space: the same process carries on
    r = tables.load(db, EDITOR, ORGS).row(0, named=True)
    tables.save(db, EDITOR, ORGS, tables.Changes(updates={r["id"]: {"secretary": "磁盘清理后"}},
                                                 versions={r["id"]: r["version"]}))
    assert tables.load(db, EDITOR, ORGS).row(0, named=True)["secretary"] == "磁盘清理后"
    db.close()


def test_when_the_reopen_fails_the_next_unit_of_work_tries_again(demo_db, monkeypatch):
    real_exec, real_connect = dbmod.Cursor.execute, dbmod.duckdb.connect
    state = {"fatal": True, "refuse_open": 1}

    def fatal_once(self, sql, params=None):
        if state["fatal"] and sql.startswith("SELECT count(*) FROM orgs"):
            state["fatal"] = False
            raise duckdb.FatalException("FATAL Error: Failed: database has been invalidated because of a previous fatal error.")
        return real_exec(self, sql, params)

    def flaky_connect(*a, **k):
        if state["refuse_open"]:
            state["refuse_open"] -= 1
            raise duckdb.IOException("IO Error: No space left on device")
        return real_connect(*a, **k)

    monkeypatch.setattr(dbmod.Cursor, "execute", fatal_once)
    monkeypatch.setattr(dbmod.duckdb, "connect", flaky_connect)
    with pytest.raises(DiskError, match="暂时无法重新打开数据库"):
        with demo_db.read() as cur:
            cur.execute("SELECT count(*) FROM orgs")
    with demo_db.read() as cur:  # the next unit of work opens the file again
        assert cur.execute("SELECT count(*) FROM orgs").fetchone()[0] > 0
