"""Several people at once in real browsers: nothing lost, the second save of a row is refused."""

import os
import shutil
import signal
import time

import polars as pl
from playwright.sync_api import expect

from dangjian_core import tables
from dangjian_core.db import Database
from tests.conftest import EDITOR
from tests.e2e.helpers import edit_cell, exceptions, goto_page, login, new_page, open_expander, shot, start_app, wait_idle


def _edit_cell(page, row: int, text: str) -> None:
    """Double-click the 名称 cell of a visible row (1-based) and type a new value."""
    page.bring_to_front()  # keyboard focus belongs to one window at a time
    edit_cell(page.locator("[data-testid='stDataFrame'] >> visible=true").first, 200, 35 * row + 17, text)
    # the edit reruns the script; 保存 is enabled once it knows of a change
    expect(page.get_by_role("button", name="保存", exact=True)).to_be_enabled()


def _orgs(app):
    # read through a copy: the running app holds the DuckDB file lock
    copy = app.db_path.with_name("peek.duckdb")
    for suffix in ("", ".wal"):
        src = app.db_path.with_name(app.db_path.name + suffix)
        if src.exists():
            shutil.copyfile(src, copy.with_name(copy.name + suffix))
    db = Database(copy)
    df = tables.load(db, EDITOR, tables.get_spec("orgs"))
    db.close()
    for suffix in ("", ".wal"):
        copy.with_name(copy.name + suffix).unlink(missing_ok=True)
    return df


def test_three_editors_save_different_rows_at_once_and_all_land(app, chromium):
    pages = []
    for i in range(3):
        p = new_page(chromium, app)
        login(p, "editor", "dangjian-demo")
        goto_page(p, "基层党组织")
        pages.append(p)
    for i, p in enumerate(pages):
        _edit_cell(p, i + 2, f"并发编辑{i}号党支部")
    for p in pages:  # click all three saves before waiting for any
        p.bring_to_front()
        p.get_by_role("button", name="保存", exact=True).click()
    for i, p in enumerate(pages):
        wait_idle(p)
        assert not exceptions(p)
        expect(p.get_by_text("已保存").first).to_be_visible()
        shot(p, f"e2e-concurrent-{i}")
        p.context.close()
    names = set(_orgs(app)["name"].to_list())
    assert {f"并发编辑{i}号党支部" for i in range(3)} <= names


def test_two_editors_same_row_second_gets_conflict(app, chromium):
    a, b = new_page(chromium, app), new_page(chromium, app)
    for p in (a, b):
        login(p, "editor", "dangjian-demo")
        goto_page(p, "基层党组织")
    _edit_cell(a, 6, "甲改的名字党支部")
    _edit_cell(b, 6, "乙改的名字党支部")
    a.get_by_role("button", name="保存", exact=True).click()
    wait_idle(a)
    b.get_by_role("button", name="保存", exact=True).click()
    wait_idle(b)
    expect(b.get_by_text("保存冲突")).to_be_visible()
    shot(b, "e2e-conflict")
    names = _orgs(app)["name"].to_list()
    assert "甲改的名字党支部" in names and "乙改的名字党支部" not in names
    a.context.close()
    b.context.close()


def test_app_killed_during_a_web_import_keeps_all_or_nothing(tmp_path, demo_db_file, chromium):
    db_path = tmp_path / "kill.duckdb"
    shutil.copyfile(demo_db_file, db_path)
    app = start_app(db_path)
    try:
        n0 = _orgs(app).height
        csv = tmp_path / "members.csv"
        n = 60_000
        pl.DataFrame({"党员编号": [f"W{i:07d}" for i in range(n)], "姓名": ["测试"] * n,
                      "所在党组织": ["东湖街道党工委"] * n, "党员类型": ["正式党员"] * n,
                      "党费类别": ["在职"] * n}).write_csv(csv)
        page = new_page(chromium, app)
        login(page, "editor", "dangjian-demo")
        goto_page(page, "党员名册")
        open_expander(page, "从 Excel 导入")
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(csv))
        expect(page.get_by_role("button", name="确认导入")).to_be_visible(timeout=60000)
        page.get_by_role("button", name="确认导入").click()
        time.sleep(1.0)
        app.stop(signal.SIGKILL)
    finally:
        app.stop(signal.SIGKILL)
    db = Database(db_path)  # opens after the kill
    with db.read() as cur:
        added = cur.execute("SELECT count(*) FROM members WHERE member_no LIKE 'W%'").fetchone()[0]
        logged = cur.execute("SELECT count(*) FROM audit_log WHERE table_name = 'members'").fetchone()[0]
        orgs = cur.execute("SELECT count(*) FROM orgs").fetchone()[0]
    db.close()
    assert added in (0, n), added
    assert logged == added, "the audit log agrees with the data"
    assert orgs == n0
    _ = os


def test_dimension_bomb_upload_is_refused_and_the_server_keeps_working(app, chromium):
    """The 1.8 KB xlsx claiming A1:XFD1048576 used to abort the whole server (exit −6)."""
    from tests.data import make_hostile_corpus as corpus

    page = new_page(chromium, app)
    login(page, "editor", "dangjian-demo")
    goto_page(page, "基层党组织")
    open_expander(page, "从 Excel 导入")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(files=[{
        "name": "炸弹.xlsx", "buffer": corpus.dimension_bomb(),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    wait_idle(page)
    expect(page.get_by_text("XFD", exact=False).first).to_be_visible(timeout=30000)
    shot(page, "dimension_bomb_refused")
    assert app.proc.poll() is None, "the server is still running"
    assert not exceptions(page)
    # and it keeps serving: a good file is checked in the same box
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(files=[{
        "name": "好.csv", "mimeType": "text/csv",
        "buffer": "名称,层级,类别,街道/系统,党员人数\n炸弹之后新建党支部,党支部,农村,东湖街道,5\n".encode()}])
    wait_idle(page)
    expect(page.get_by_text("检查通过").first).to_be_visible(timeout=30000)
    assert app.proc.poll() is None
