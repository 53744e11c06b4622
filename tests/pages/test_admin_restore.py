"""系统管理 → 备份与恢复: a backup is checked before it can be restored, and the admin sees
the row count of every table before confirming (issue 12, section 5)."""

from __future__ import annotations

import shutil

import duckdb

from tests.pages.apptest_helpers import app_for, problems


def test_restore_needs_a_passed_check_and_shows_row_counts(monkeypatch, tmp_path, demo_db_file):
    folder = tmp_path / "backups"
    folder.mkdir()
    shutil.copyfile(demo_db_file, folder / "好的备份.duckdb")
    con = duckdb.connect(str(folder / "坏的备份.duckdb"))
    con.execute("CREATE TABLE schema_migrations (version INTEGER, name VARCHAR, applied_at TIMESTAMP)")
    con.execute("INSERT INTO schema_migrations VALUES (1, 'foundation', now())")
    con.close()
    at = app_for(monkeypatch, tmp_path, demo_db_file, "admin")
    at.switch_page("pages/admin.py")
    at.run()
    assert not at.exception
    at.selectbox(key="adm_restore_pick").select("坏的备份.duckdb")
    at.run()
    assert not any(b.label == "恢复" for b in at.button), "no restore before a passed check"
    next(b for b in at.button if b.label == "检查这个备份").click()
    at.run()
    assert not at.exception
    assert any("缺少数据表" in e.value for e in at.error), [e.value for e in at.error]
    assert not any(b.label == "恢复" for b in at.button)
    at.selectbox(key="adm_restore_pick").select("好的备份.duckdb")
    at.run()
    next(b for b in at.button if b.label == "检查这个备份").click()
    at.run()
    assert not problems(at), problems(at)
    counts = next(d.value for d in at.dataframe if "备份中的行数" in d.value.columns)
    orgs = counts[counts["表名"] == "orgs"].iloc[0]
    assert orgs["数据表"] == "基层党组织" and orgs["备份中的行数"] > 0
    # a copy of a database file, like a backup made before attachments were backed up
    assert any("不含示范点附件文件" in w.value and "保持现状" in w.value for w in at.warning)
    restore = next(b for b in at.button if b.label == "恢复")
    assert restore.disabled
    next(c for c in at.checkbox if c.key.startswith("adm_sure_")).check()
    at.run()
    next(b for b in at.button if b.label == "恢复").click()
    at.run()
    assert not problems(at), problems(at)
    assert any("已从 好的备份.duckdb 恢复" in s.value for s in at.success)


def test_a_backup_just_made_is_the_one_offered_for_restore(monkeypatch, tmp_path, demo_db_file):
    """立即备份 then 检查/恢复: the picker must not stay on an older backup it showed before,
    or the admin restores (and loses the work since) a backup they did not mean."""
    folder = tmp_path / "backups"
    folder.mkdir()
    shutil.copyfile(demo_db_file, folder / "旧的备份.duckdb")
    at = app_for(monkeypatch, tmp_path, demo_db_file, "admin")
    at.switch_page("pages/admin.py")
    at.run()
    before = at.selectbox(key="adm_restore_pick").value
    assert before is not None
    next(b for b in at.button if b.label == "立即备份").click()
    at.run()
    assert not problems(at), problems(at)
    made = next(s.value for s in at.success if s.value.startswith("已备份："))
    assert made.removeprefix("已备份：") != before
    assert at.selectbox(key="adm_restore_pick").value == made.removeprefix("已备份：")
