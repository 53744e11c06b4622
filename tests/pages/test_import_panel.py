"""The import panel (issue 12, section 2): the dry run runs once per uploaded file, the preview
lists every updated cell old → new, name matching is an explicit tick, and an old export
without versions needs a confirmation."""

from __future__ import annotations

import polars as pl

from dangjian_core import fileio, tables
from dangjian_core.db import Database
from tests.conftest import EDITOR
from tests.pages.apptest_helpers import app_for, problems

ORGS = tables.get_spec("orgs")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file(db_path, edit) -> bytes:
    db = Database(db_path)
    try:
        df = tables.export_frame(db, EDITOR, ORGS)
    finally:
        db.close()
    return fileio.xlsx_bytes({"基层党组织": edit(df)})


def _count_dry_runs(monkeypatch) -> list:
    calls = []
    real = tables.import_frame

    def counting(*a, **k):
        calls.append(bool(k.get("commit")))
        return real(*a, **k)

    monkeypatch.setattr(tables, "import_frame", counting)
    return calls


def test_dry_run_once_per_file_and_preview_shows_old_and_new(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    at.switch_page("pages/orgs.py")
    at.run()
    path = tmp_path / "app.duckdb"

    def edit(df):  # an old export: no version column; one row's 书记 changed
        df = df.drop(tables.VERSION_LABEL).with_columns(pl.col("编号").cast(pl.String))
        return df.with_columns(pl.when(pl.col("编号") == "3").then(pl.lit("导入的书记"))
                               .otherwise(pl.col("书记")).alias("书记"))

    data = _file(path, edit)
    calls = _count_dry_runs(monkeypatch)
    at.file_uploader(key="orgs_import_upload").upload("基层党组织.xlsx", data, XLSX)
    at.run()
    assert not problems(at), problems(at)
    assert calls == [False]
    at.run()  # any other rerun of the page (a widget elsewhere) does not check the file again
    at.run()
    assert calls == [False]
    table = next(d.value for d in at.dataframe if "原值" in d.value.columns)
    row = table.to_dict("records")[0] if hasattr(table, "to_dict") else table.row(0, named=True)
    assert (row["列"], row["新值"], row["说明"]) == ("书记", "导入的书记", "文件没有版本号")
    commit = next(b for b in at.button if b.label == "确认导入")
    assert commit.disabled, "an unversioned update needs the confirmation tick first"
    at.checkbox(key="orgs_import_confirm").check()
    at.run()
    assert calls == [False], "ticking the confirmation does not re-read the file"
    next(b for b in at.button if b.label == "确认导入").click()
    at.run()
    assert not problems(at), problems(at)
    assert calls == [False, True]
    assert any("导入完成" in s.value for s in at.success)


def test_name_matching_is_a_visible_option_that_rechecks(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    at.switch_page("pages/orgs.py")
    at.run()
    db = Database(tmp_path / "app.duckdb")
    top = tables.load(db, EDITOR, ORGS).filter(pl.col("level") == "committee").row(0, named=True)
    db.close()
    csv = ("名称,层级,类别,街道/系统,党员人数\n"
           f"{top['name']},党支部,农村,{top['street']},5\n").encode()
    calls = _count_dry_runs(monkeypatch)
    at.file_uploader(key="orgs_import_upload").upload("按名称.csv", csv, "text/csv")
    at.run()
    assert calls == [False]
    assert any("按名称匹配" in str(d.value) or "已有名称相同" in str(d.value) for d in at.dataframe)
    assert not any(b.label == "确认导入" for b in at.button)
    at.checkbox(key="orgs_import_by_name").check()
    at.run()
    assert calls == [False, False], "a new option is a new check"
    table = next(d.value for d in at.dataframe if "原值" in d.value.columns)
    cells = {r["列"]: (r["原值"], r["新值"], r["说明"]) for r in table.to_dict("records")}
    assert cells["层级"] == ("党委", "党支部", "按名称匹配")


def test_table_above_shows_the_imported_values_at_once(monkeypatch, tmp_path, demo_db_file):
    """After 确认导入 the table on the same page is reloaded: it must not keep showing the
    values from before the import with a hint that 'someone else' saved (a user editing that
    stale grid next would run into a version conflict on their own import)."""
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    at.switch_page("pages/orgs.py")
    at.run()

    def edit(df):
        return df.with_columns(pl.when(pl.col("编号") == 3).then(pl.lit("导入后立即可见"))
                               .otherwise(pl.col("书记")).alias("书记"))

    at.file_uploader(key="orgs_import_upload").upload("基层党组织.xlsx", _file(tmp_path / "app.duckdb", edit), XLSX)
    at.run()
    assert not problems(at), problems(at)
    next(b for b in at.button if b.label == "确认导入").click()
    at.run()
    assert not problems(at), problems(at)
    assert any("导入完成" in s.value for s in at.success)
    assert not any("数据已有更新" in c.value for c in at.caption), [c.value for c in at.caption]
    frame = at.session_state["orgs_snapshot"]["frame"]
    assert frame.filter(pl.col("id") == 3)["secretary"].to_list() == ["导入后立即可见"]
