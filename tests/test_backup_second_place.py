"""Backups to a second place (another disk, a mounted share) and the age warning."""

from datetime import datetime, timedelta

from dangjian_core import backups
from tests.conftest import ADMIN
from tests.pages.apptest_helpers import app_for, problems

NOW = datetime(2026, 11, 23, 9)


def test_daily_backup_is_copied_to_the_second_place_with_the_same_retention(demo_db, tmp_path, monkeypatch):
    second = tmp_path / "share"
    second.mkdir()
    monkeypatch.setenv("DANGJIAN_BACKUP_DIR", str(second))
    (second / "自动-20200101.duckdb").write_bytes(b"old")
    (second / "别人的文件.txt").write_text("keep")
    assert backups.daily_backup(demo_db, now=NOW) is not None
    copy = second / "自动-20261123.duckdb"
    assert copy.read_bytes() == (backups.backup_dir(demo_db) / copy.name).read_bytes()
    assert not (second / "自动-20200101.duckdb").exists() and (second / "别人的文件.txt").exists()
    assert not list(second.glob("*.part"))
    st = backups.status(demo_db, now=NOW + timedelta(hours=3))
    assert st["last_ok"] == NOW and st["second_last_ok"] == NOW
    assert st["second_dir"] == str(second) and st["second_error"] is None and st["warnings"] == []


def test_an_unmounted_share_is_not_created_and_the_admin_is_told(demo_db, tmp_path, monkeypatch):
    second = tmp_path / "mnt" / "share"
    monkeypatch.setenv("DANGJIAN_BACKUP_DIR", str(second))
    backups.daily_backup(demo_db, now=NOW)  # the local backup is still made
    assert (backups.backup_dir(demo_db) / "自动-20261123.duckdb").exists()
    assert not second.exists()
    st = backups.status(demo_db, now=NOW)
    assert "不存在" in st["second_error"] and str(second) in st["second_error"]
    assert len(st["warnings"]) == 1 and "第二备份位置" in st["warnings"][0]
    # mounted again: the next run copies and clears the error
    second.mkdir(parents=True)
    backups.daily_backup(demo_db, now=NOW + timedelta(hours=1))
    st = backups.status(demo_db, now=NOW + timedelta(hours=1))
    assert st["second_error"] is None and st["warnings"] == []


def test_warns_when_the_last_good_backup_is_over_two_days_old(demo_db, monkeypatch):
    monkeypatch.delenv("DANGJIAN_BACKUP_DIR", raising=False)
    assert "没有记录" in backups.status(demo_db, now=NOW)["warnings"][0]
    backups.daily_backup(demo_db, now=NOW)
    assert backups.status(demo_db, now=NOW + timedelta(days=2))["warnings"] == []
    late = backups.status(demo_db, now=NOW + timedelta(days=2, minutes=1))["warnings"]
    assert len(late) == 1 and "2026-11-23 09:00" in late[0] and "超过 2 天" in late[0]
    assert backups.status(demo_db, now=NOW)["second_dir"] is None


def test_a_manual_backup_counts_as_a_good_backup(demo_db, monkeypatch):
    monkeypatch.delenv("DANGJIAN_BACKUP_DIR", raising=False)
    backups.make_backup(demo_db, ADMIN)
    st = backups.status(demo_db)
    assert st["last_ok"] is not None and st["warnings"] == []


def test_admin_page_shows_the_last_backup_and_the_second_place_problem(monkeypatch, tmp_path, demo_db_file):
    monkeypatch.setenv("DANGJIAN_BACKUP_DIR", str(tmp_path / "not-mounted"))
    at = app_for(monkeypatch, tmp_path, demo_db_file, "admin")
    at.switch_page("pages/admin.py")
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "最近一次成功备份：** 20" in text and "not-mounted" in text
    assert any("第二备份位置" in w.value for w in at.warning)
    assert any("不存在" in e.value for e in at.error)
    assert [p for p in problems(at) if "not-mounted" not in p] == []
