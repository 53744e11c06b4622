"""Imports never overwrite other people's work (issue 12, section 2): the Excel path carries
each row's version, a row changed since the export is kept or refused, name matching is an
explicit choice shown cell by cell, and the dry run neither writes nor takes the write lock."""

from __future__ import annotations

import polars as pl
import pytest

from dangjian_core import fileio, tables
from dangjian_core.auth import User
from tests.conftest import EDITOR

ORGS = tables.get_spec("orgs")
VER = tables.VERSION_LABEL
COLLEAGUE = User("colleague", "同事小王", frozenset({"editor"}))


def _export(db, tmp_path, name="orgs.xlsx") -> pl.DataFrame:
    p = tmp_path / name
    fileio.write_frame(tables.export_frame(db, EDITOR, ORGS), p)
    return fileio.read_frame(p).df


def _frame(df: pl.DataFrame, tmp_path, name="edited.xlsx"):
    p = tmp_path / name
    fileio.write_frame(df, p)
    return fileio.read_frame(p, expected=[c.label for c in ORGS.columns])


def _edit(df: pl.DataFrame, key, column: str, value) -> pl.DataFrame:
    return df.with_columns(pl.when(pl.col("编号") == str(key)).then(pl.lit(str(value)))
                           .otherwise(pl.col(column)).alias(column))


def _row(db, key) -> dict:
    return tables.load(db, EDITOR, ORGS, where="id = ?", params=[key]).row(0, named=True)


def _colleague_saves(db, key, **values):
    r = _row(db, key)
    tables.save(db, COLLEAGUE, ORGS, tables.Changes(updates={key: values}, versions={key: r["version"]}))


def _batches(db) -> int:
    with db.read() as cur:
        return cur.execute("SELECT count(*) FROM audit_batches").fetchone()[0]


def test_export_carries_a_clearly_marked_version_column(demo_db, tmp_path):
    df = _export(demo_db, tmp_path)
    assert df.columns[-1] == VER == "版本（请勿修改）"
    assert set(df[VER].to_list()) == {"1"}


def test_stale_import_keeps_a_colleagues_save_and_writes_only_the_edited_row(demo_db, tmp_path):
    """Export → a colleague saves row A in the web editor → the old file (with row B edited) is
    imported: A keeps the colleague's value, the preview says 修改 1 行, only B changes."""
    df = _export(demo_db, tmp_path)
    a, b = 2, 3
    _colleague_saves(demo_db, a, secretary="同事改的书记")
    edited = _edit(df, b, "党员人数", 42)
    frame = _frame(edited, tmp_path)
    pre = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=False)
    assert pre.ok, pre.errors
    assert (pre.inserts, pre.updates) == (0, 1)
    assert [c.key for c in pre.changes] == [b]
    assert any("保留了对方的修改" in w and "colleague" in w for w in pre.warnings), pre.warnings
    done = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=True, expect_versions=pre.seen_versions)
    assert done.ok and done.updates == 1, done.errors
    assert _row(demo_db, a)["secretary"] == "同事改的书记"
    assert _row(demo_db, b)["member_count"] == 42


def test_a_row_changed_since_the_export_and_in_the_file_is_refused_naming_who(demo_db, tmp_path):
    df = _export(demo_db, tmp_path)
    a = 2
    _colleague_saves(demo_db, a, secretary="同事改的书记")
    frame = _frame(_edit(df, a, "党员人数", 77), tmp_path)
    n = _batches(demo_db)
    res = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=True)
    assert not res.ok
    text = "\n".join(str(e) for e in res.errors)
    assert "第 3 行" in text and "colleague" in text and "导出后" in text and "党员人数" in text, text
    assert _row(demo_db, a)["secretary"] == "同事改的书记" and _row(demo_db, a)["member_count"] != 77
    assert _batches(demo_db) == n


def test_only_cells_that_differ_from_the_export_are_written(demo_db, tmp_path):
    df = _export(demo_db, tmp_path)
    b = 3
    res = tables.import_frame(demo_db, EDITOR, ORGS, _frame(_edit(df, b, "书记", "新书记"), tmp_path), commit=True)
    assert res.ok and res.updates == 1 and res.unchanged == df.height - 1
    with demo_db.read() as cur:
        before, after = cur.execute(
            "SELECT CAST(before AS VARCHAR), CAST(after AS VARCHAR) FROM audit_log WHERE batch_id = ?",
            [res.batch_id]).fetchone()
    import json

    before, after = json.loads(before), json.loads(after)
    changed = {k for k in after if before.get(k) != after.get(k)} - {"version", "updated_at", "updated_by"}
    assert changed == {"secretary"}


def test_a_save_between_preview_and_commit_is_not_overwritten(demo_db, tmp_path):
    df = _export(demo_db, tmp_path)
    b = 3
    frame = _frame(_edit(df, b, "书记", "导入的书记"), tmp_path)
    pre = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=False)
    assert pre.ok and pre.updates == 1
    _colleague_saves(demo_db, b, secretary="同事在预览之后改的")
    n = _batches(demo_db)
    done = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=True, expect_versions=pre.seen_versions)
    assert not done.ok and "colleague" in str(done.errors[0])
    assert _row(demo_db, b)["secretary"] == "同事在预览之后改的"
    assert _batches(demo_db) == n


def test_unversioned_file_cannot_overwrite_a_row_saved_after_its_preview(demo_db, tmp_path):
    """An old export (no version column): a row the preview did not touch but a colleague
    changed afterwards would now be written — refused, not silently reverted."""
    df = _export(demo_db, tmp_path).drop(VER)
    frame = _frame(_edit(df, 3, "书记", "导入的书记"), tmp_path)
    pre = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=False)
    assert pre.ok and pre.updates == 1 and pre.needs_confirmation
    _colleague_saves(demo_db, 4, secretary="同事在预览之后改的")
    done = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=True, confirm_overwrite=True,
                               expect_versions=pre.seen_versions)
    assert not done.ok and "在检查之后" in str(done.errors[0])
    assert _row(demo_db, 4)["secretary"] == "同事在预览之后改的"
    assert _row(demo_db, 3)["secretary"] != "导入的书记"


def test_old_export_without_version_shows_every_cell_and_needs_confirmation(demo_db, tmp_path):
    df = _export(demo_db, tmp_path).drop(VER)
    old = _row(demo_db, 3)
    frame = _frame(_edit(_edit(df, 3, "层级", "党总支"), 3, "党员人数", 60), tmp_path)
    pre = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=False)
    assert pre.ok and pre.updates == 1 and pre.needs_confirmation
    cells = {label: (o, n) for label, o, n in pre.changes[0].cells}
    assert cells == {"层级": ("党支部", "党总支"), "党员人数": (str(old["member_count"]), "60")}
    assert pre.changes[0].how == "文件没有版本号" and pre.changes[0].row == 4
    refused = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=True)
    assert not refused.ok and "版本" in str(refused.errors[0])
    assert _row(demo_db, 3)["member_count"] == old["member_count"]
    done = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=True, confirm_overwrite=True,
                               expect_versions=pre.seen_versions)
    assert done.ok and done.updates == 1
    assert _row(demo_db, 3)["member_count"] == 60


def test_a_tampered_version_is_refused(demo_db, tmp_path):
    df = _export(demo_db, tmp_path)
    df = df.with_columns(pl.when(pl.col("编号") == "3").then(pl.lit("abc")).otherwise(pl.col(VER)).alias(VER))
    res = tables.import_frame(demo_db, EDITOR, ORGS, _frame(df, tmp_path), commit=False)
    assert not res.ok and res.errors[0].column == VER


def _committee(db) -> dict:
    return tables.load(db, EDITOR, ORGS).filter(pl.col("level") == "committee").row(0, named=True)


def test_a_row_without_id_but_an_existing_name_is_not_silently_an_update(demo_db, tmp_path):
    top = _committee(demo_db)
    p = tmp_path / "byname.csv"
    p.write_text("名称,层级,类别,街道/系统,党员人数\n"
                 f"{top['name']},党支部,农村,{top['street']},5\n", encoding="utf-8")
    frame = fileio.read_frame(p)
    res = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=True)
    assert not res.ok
    e = res.errors[0]
    assert e.row == 2 and e.column == "名称" and "编号" in e.message and "按名称匹配" in e.message
    assert _row(demo_db, top["id"])["level"] == "committee"
    # matching by name is an explicit choice, and the preview shows every cell old → new
    pre = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=False, match_by_name=True)
    assert pre.ok and pre.updates == 1 and not pre.needs_confirmation
    change = pre.changes[0]
    assert change.key == top["id"] and change.how == "按名称匹配" and change.name == top["name"]
    cells = {label: (o, n) for label, o, n in change.cells}
    assert cells["层级"] == ("党委", "党支部")
    assert cells["党员人数"] == (str(top["member_count"]), "5")
    frame_table = pre.changes_frame()
    assert frame_table.columns == ["行", "编号", "名称", "列", "原值", "新值", "说明"]
    assert frame_table.height == len(change.cells)


def test_the_dry_run_neither_writes_nor_takes_the_write_lock(demo_db, tmp_path, monkeypatch):
    df = _export(demo_db, tmp_path)
    extra = pl.DataFrame({c: [None] for c in df.columns}, schema={c: pl.String for c in df.columns}).with_columns(
        pl.lit("预览新增党支部").alias("名称"), pl.lit("党支部").alias("层级"), pl.lit("农村").alias("类别"),
        pl.lit("东湖街道").alias("街道/系统"), pl.lit("5").alias("党员人数"))
    frame = _frame(pl.concat([_edit(df, 3, "书记", "预览"), extra]), tmp_path)
    with demo_db.read() as cur:
        seq = cur.execute("SELECT max(id) FROM orgs").fetchone()[0]

    class NoLock:
        def __enter__(self):
            raise AssertionError("the dry run took the write lock")

        def __exit__(self, *a):
            return False

        acquire = __enter__

    monkeypatch.setattr(demo_db, "_write_lock", NoLock())
    n = _batches(demo_db)
    pre = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=False)
    assert pre.ok and (pre.inserts, pre.updates) == (1, 1), pre.errors
    monkeypatch.undo()
    assert _batches(demo_db) == n
    done = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=True, expect_versions=pre.seen_versions)
    assert done.ok and (done.inserts, done.updates) == (1, 1)
    new = tables.load(demo_db, EDITOR, ORGS).filter(pl.col("name") == "预览新增党支部")
    assert new["id"][0] == seq + 1, "the dry run used no key of the sequence"


def test_new_rows_referring_to_each_other_get_their_real_keys(demo_db, tmp_path):
    p = tmp_path / "o.csv"
    p.write_text("名称,层级,类别,街道/系统,党员人数,上级党组织\n"
                 "新甲总支,党总支,农村,东湖街道,60,东湖街道党工委\n新乙支部,党支部,企业,东湖街道,7,新甲总支\n",
                 encoding="utf-8")
    frame = fileio.read_frame(p)
    pre = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=False)
    assert pre.ok and pre.inserts == 2
    done = tables.import_frame(demo_db, EDITOR, ORGS, frame, commit=True, expect_versions=pre.seen_versions)
    assert done.ok
    df = tables.load(demo_db, EDITOR, ORGS)
    a = df.filter(pl.col("name") == "新甲总支").row(0, named=True)
    b = df.filter(pl.col("name") == "新乙支部").row(0, named=True)
    assert b["parent_id"] == a["id"] > 0


@pytest.mark.parametrize("flag", [False, True])
def test_cli_import_of_an_unversioned_update_needs_a_flag(tmp_path, demo_db_file, flag):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    db = tmp_path / "c.duckdb"
    shutil.copyfile(demo_db_file, db)
    run = lambda *a: subprocess.run([sys.executable, "-m", "dangjian_core", *a, "--db", str(db)],
                                    cwd=root, capture_output=True, text=True)
    assert run("db", "export", "orgs", str(tmp_path / "a.csv")).returncode == 0
    df = pl.read_csv(tmp_path / "a.csv", infer_schema=False).drop(VER)
    df = df.with_columns(pl.when(pl.col("编号") == "3").then(pl.lit("命令行书记")).otherwise(pl.col("书记")).alias("书记"))
    df.write_csv(tmp_path / "b.csv")
    r = run("db", "import", "orgs", str(tmp_path / "b.csv"), *(["--confirm-overwrite"] if flag else []))
    if flag:
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode == 2 and "--confirm-overwrite" in r.stderr and "命令行书记" in r.stderr, r.stderr
