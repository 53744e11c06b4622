"""A backup holds everything the office needs back: the database and the uploaded 示范点
attachments (data/attachments/), checked file by file before a restore; backups made before
attachments were backed up still restore, with a Chinese note that the files stay as they are."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dangjian_core import backups, clock, datafiles
from dangjian_core.db import Database
from dangjian_core.errors import BadInput, NotFound
from dangjian_core.sites import attachments, store
from tests.conftest import ADMIN, EDITOR

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPG = b"\xff\xd8\xff" + b"jpeg" * 300


def _site(db) -> int:
    return int(store.list_sites(db).filter(pl.col("status") == "consolidating")["org_id"][0])


def _upload(db, name: str, data: bytes) -> int:
    return attachments.add_attachment(db, EDITOR, _site(db), clock.today(), "创建活动照片", name, data)


def _live_files(db) -> dict[str, bytes]:
    root = db.files_dir
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _events(db) -> int:
    with db.read() as cur:
        return cur.execute("SELECT count(*) FROM site_events WHERE file_path IS NOT NULL").fetchone()[0]


def test_a_backup_holds_the_attachments_and_a_restore_brings_them_back(demo_db):
    first = _upload(demo_db, "照片一.png", PNG)
    made = backups.make_backup(demo_db, ADMIN)
    folder = datafiles.folder_for(made)
    assert folder.is_dir() and sorted(p.read_bytes() for p in folder.rglob("*") if p.is_file()) == [PNG]
    later = _upload(demo_db, "照片二.jpg", JPG)          # after the backup: gone after the restore …
    for p in demo_db.files_dir.rglob("*.png"):           # … and a lost file comes back
        p.unlink()
    with pytest.raises(NotFound):
        attachments.attachment(demo_db, first)
    check = backups.check(demo_db, ADMIN, made.name)
    assert check.attachments is not None and len(check.attachments) == 1
    assert "1 个" in check.attachments_line
    safety = backups.restore(demo_db, ADMIN, made.name)
    assert attachments.attachment(demo_db, first) == ("照片一.png", PNG)
    assert list(_live_files(demo_db).values()) == [PNG]
    with pytest.raises(NotFound):
        attachments.attachment(demo_db, later)
    # the state before the restore, files included, is kept in the safety backup
    assert sorted(p.read_bytes() for p in datafiles.folder_for(safety).rglob("*") if p.is_file()) == [JPG]
    assert "_backup_files" not in {r[0] for r in demo_db.cursor().execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}


def test_a_damaged_or_missing_attachment_folder_is_refused_and_nothing_changes(demo_db):
    _upload(demo_db, "照片.png", PNG)
    made = backups.make_backup(demo_db, ADMIN)
    _upload(demo_db, "新的.jpg", JPG)
    before, n_events = _live_files(demo_db), _events(demo_db)
    stored = next(p for p in datafiles.folder_for(made).rglob("*.png"))
    stored.unlink()                                       # a hard link: write a new file, not into the live one
    stored.write_bytes(PNG[:-1] + b"\0")
    with pytest.raises(BadInput, match="附件文件夹.*不完整.*与备份时的内容不同"):
        backups.check(demo_db, ADMIN, made.name)
    n_backups = len(list(backups.backup_dir(demo_db).iterdir()))
    with pytest.raises(BadInput, match="不完整"):
        backups.restore(demo_db, ADMIN, made.name)
    shutil.rmtree(datafiles.folder_for(made))
    with pytest.raises(BadInput, match="带有 1 个附件文件.*没有找到"):
        backups.restore(demo_db, ADMIN, made.name)
    assert _live_files(demo_db) == before and _events(demo_db) == n_events
    assert len(list(backups.backup_dir(demo_db).iterdir())) == n_backups - 1, "no safety copy was made"


def test_an_old_backup_without_attachments_restores_the_data_and_keeps_the_files(demo_db):
    eid = _upload(demo_db, "照片.png", PNG)
    made = backups.make_backup(demo_db, ADMIN)
    shutil.rmtree(datafiles.folder_for(made))             # as made by the program before this change
    con = duckdb.connect(str(made))
    con.execute("DROP TABLE _backup_files")
    con.close()
    later = _upload(demo_db, "新的.jpg", JPG)
    files = _live_files(demo_db)
    check = backups.check(demo_db, ADMIN, made.name)
    assert check.attachments is None and "旧版本" in check.attachments_line and "保持现状" in check.attachments_line
    backups.restore(demo_db, ADMIN, made.name)
    assert _live_files(demo_db) == files                  # nothing deleted or replaced
    assert attachments.attachment(demo_db, eid) == ("照片.png", PNG)
    with pytest.raises(NotFound):
        attachments.attachment(demo_db, later)             # its row is not in the old backup


def test_a_file_list_pointing_outside_the_folder_is_refused(demo_db, tmp_path):
    _upload(demo_db, "照片.png", PNG)
    made = backups.make_backup(demo_db, ADMIN)
    con = duckdb.connect(str(made))
    con.execute("UPDATE _backup_files SET path = '../../evil.png'")
    con.close()
    with pytest.raises(BadInput, match="附件清单不正常"):
        backups.restore(demo_db, ADMIN, made.name)
    assert not (tmp_path / "evil.png").exists() and not (tmp_path.parent / "evil.png").exists()


def test_daily_backups_keep_their_folder_here_and_at_the_second_place(demo_db, tmp_path, monkeypatch):
    second = tmp_path / "share"
    second.mkdir()
    monkeypatch.setenv("DANGJIAN_BACKUP_DIR", str(second))
    _upload(demo_db, "照片.png", PNG)
    d = backups.backup_dir(demo_db)
    d.mkdir(parents=True, exist_ok=True)
    for place in (d, second):                              # an old daily backup and its folder
        (place / "自动-20200101.duckdb").write_bytes(b"old")
        (place / "自动-20200101.duckdb.附件").mkdir()
    assert backups.daily_backup(demo_db, now=datetime(2026, 11, 23, 9)) is not None
    for place in (d, second):
        folder = place / "自动-20261123.duckdb.附件"
        assert [p.read_bytes() for p in folder.rglob("*") if p.is_file()] == [PNG], place
        assert not (place / "自动-20200101.duckdb.附件").exists(), place
        assert not list(place.glob("*.part")), place
    monkeypatch.delenv("DANGJIAN_BACKUP_DIR")
    shutil.copyfile(second / "自动-20261123.duckdb", d / "从共享目录.duckdb")
    shutil.copytree(second / "自动-20261123.duckdb.附件", d / "从共享目录.duckdb.附件")
    assert len(backups.check(demo_db, ADMIN, "从共享目录.duckdb").attachments) == 1


def test_a_failed_attachment_copy_leaves_no_backup_behind(demo_db, tmp_path, monkeypatch):
    _upload(demo_db, "照片.png", PNG)

    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(datafiles, "_link_or_copy", full)
    dest = tmp_path / "out" / "b.duckdb"
    with pytest.raises(Exception, match="附件"):
        demo_db.backup(dest)
    assert list(dest.parent.iterdir()) == []


def test_startup_finishes_a_restore_killed_between_the_two_folder_renames(tmp_path):
    root = tmp_path / "attachments"
    (tmp_path / "attachments.恢复中.part" / "sites").mkdir(parents=True)
    (tmp_path / "attachments.恢复中.part" / "sites" / "a.png").write_bytes(PNG)
    (tmp_path / "attachments.恢复前.part").mkdir()
    datafiles.sweep(root)
    assert (root / "sites" / "a.png").read_bytes() == PNG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attachments"]


def test_cli_backup_and_restore_carry_the_attachments(tmp_path):
    path = tmp_path / "c.duckdb"
    run = lambda *a: subprocess.run([sys.executable, "-m", "dangjian_core", *a, "--db", str(path)],
                                    cwd=ROOT, capture_output=True, text=True)
    assert run("db", "init", "--demo", "--scale", "tiny").returncode == 0
    db = Database(path)
    eid = _upload(db, "照片.png", PNG)
    db.close()
    r = run("db", "backup", str(tmp_path / "bk.duckdb"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"已备份到 {tmp_path / 'bk.duckdb'}"
    assert "bk.duckdb.附件" in r.stdout
    shutil.rmtree(tmp_path / "attachments")
    r = run("db", "restore", str(tmp_path / "bk.duckdb"))
    assert r.returncode == 0, r.stderr
    assert "附件文件：1 个" in r.stdout
    db = Database(path)
    assert attachments.attachment(db, eid) == ("照片.png", PNG)
    db.close()
