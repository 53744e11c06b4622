"""观摩互进 in headless Chromium: set up a new cross-observation, solve it, move one visit by
hand on the demo event and save it, export the 观摩活动安排表, fill the downloaded score sheet
and upload it, look at the ranking, confirm tier changes, and the charts.
Screenshots go to /tmp/dangjian-shots/e2e-obs-*.png."""

import polars as pl
import pytest

from dangjian_core import fileio
from dangjian_core.db import Database
from dangjian_core.observation import model, store, views
from tests.e2e.helpers import exceptions, goto_page, login, new_page, shot, wait_idle

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def move(demo_db_file):
    """A valid hand move on the demo event, computed from the file the app was copied from."""
    from tests.pages.test_observation_pages import a_valid_move

    db = Database(demo_db_file, read_only=True)
    try:
        P = store.problem_for(db, 1)
        vs, _ = store.plan_visits(db, 1)
        d, i, h = a_valid_move(P, vs)
        return {"delegation": views.delegation_names(P)[d.id], "slot": views.slot_labels(P)[i][2], "host": h.name}
    finally:
        db.close()


def enter(chromium, app, username):
    """A new browser page logged in as `username`."""
    page = new_page(chromium, app)
    page.set_viewport_size({"width": 1400, "height": 2400})  # whole screens in the screenshots
    login(page, username, "dangjian-demo")
    return page


def pick(where, label, text):
    """Choose in a Streamlit selectbox by typing; tried twice (a click during a redraw can be
    swallowed)."""
    page = getattr(where, "page", where)
    for attempt in range(3):
        box = where.get_by_label(label, exact=True)
        box.click()
        page.keyboard.type(text)
        option = page.get_by_role("option").filter(has_text=text).first
        try:
            option.wait_for(timeout=5000)
            break
        except Exception:  # noqa: BLE001 — retried
            page.keyboard.press("Escape")
            wait_idle(page)
            if attempt == 2:
                shot(page, f"e2e-obs-pick-failed-{label}")
                raise
    option.click()
    wait_idle(page)


def see(page, text):
    """Wait (auto-retrying) until `text` is on the page: an action's rerun can come in two steps."""
    from playwright.sync_api import expect

    expect(page.locator(f"text={text} >> visible=true").first).to_be_visible()


def tab(page, name):
    page.get_by_role("tab", name=name, exact=True).click()
    wait_idle(page)


def click(page, name):
    page.get_by_role("button", name=name, exact=True).click()
    wait_idle(page)


def test_setup_plan_edit_export_score_rank(app, chromium, move):
    page = enter(chromium, app, "editor")
    goto_page(page, "观摩安排")
    assert not exceptions(page)
    shot(page, "e2e-obs-01-demo-event")
    # setup: a new cross observation, 1 day x 2 slots, default hosts
    pick(page, "观摩活动", "新建观摩活动")
    page.get_by_role("textbox", name="活动名称").fill("浏览器测试交叉观摩")
    page.get_by_label("每天时段数").fill("2")
    page.get_by_role("textbox", name="各时段开始时间").fill("09:00,14:30")
    shot(page, "e2e-obs-02-setup")
    click(page, "新建观摩活动")
    see(page, "已新建观摩活动")
    # plan
    click(page, "生成安排")
    see(page, "已生成安排")
    assert page.get_by_text("接待差值 / 可证下界").count() == 1
    assert not exceptions(page)
    shot(page, "e2e-obs-03-plan")
    # hand edit on the demo event
    pick(page, "观摩活动", "2026年")
    page.get_by_text("调整一次参观").click()
    page.wait_for_timeout(600)
    exp = page.locator("[data-testid='stExpander']", has_text="调整一次参观")
    pick(exp, "观摩团", move["delegation"])
    pick(exp, "时段", move["slot"])
    pick(exp, "改到观摩点", move["host"])
    exp.get_by_role("button", name="调整", exact=True).click()
    wait_idle(page)
    see(page, "调整后的安排符合全部要求")
    shot(page, "e2e-obs-04-hand-edit")
    click(page, "保存手工调整")
    shot(page, "e2e-obs-04b-saved")
    see(page, "已保存手工调整")
    # export
    tab(page, "导出与打印")
    with page.expect_download() as dl:
        page.get_by_role("button", name="下载观摩活动安排表（Excel）").click()
    data = open(dl.value.path(), "rb").read()
    grid = fileio.read_frame(data=data, name="p.xlsx", sheet="总表").df
    row = grid.filter(pl.col("时段") == move["slot"])
    assert row[move["delegation"]][0] == move["host"], "the hand edit is in the exported table"
    shot(page, "e2e-obs-05-export")
    # scoring: download the sheet of the new event, fill it, upload it
    goto_page(page, "观摩评分")
    pick(page, "观摩活动", "浏览器测试交叉观摩")
    with page.expect_download() as dl:
        page.get_by_role("button", name="下载评分表（Excel）").click()
    sheet = fileio.read_frame(data=open(dl.value.path(), "rb").read(), name="s.xlsx",
                              expected=model.SHEET_HEADER, sheet=model.SHEET).df
    filled = sheet.with_columns(得分=(pl.col("满分").cast(pl.Float64)
                                     * (0.6 + (pl.int_range(pl.len()) % 7) * 0.05)).round(1))
    # first a bad sheet: a score above the maximum is refused with a Chinese row message
    bad = filled.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(99.0))
                              .otherwise(pl.col("得分")).alias("得分"))
    upl = page.locator("[data-testid='stFileUploaderDropzoneInput']").first
    upl.set_input_files(files=[{"name": "坏评分表.xlsx", "mimeType": XLSX,
                                "buffer": fileio.xlsx_bytes({model.SHEET: bad})}])
    wait_idle(page)
    page.wait_for_timeout(500)
    wait_idle(page)
    see(page, "没有保存任何评分")
    shot(page, "e2e-obs-06-bad-sheet")
    upl.set_input_files(files=[{"name": "评分表.xlsx", "mimeType": XLSX,
                                "buffer": fileio.xlsx_bytes({model.SHEET: filled})}])
    wait_idle(page)
    page.wait_for_timeout(500)
    wait_idle(page)
    see(page, "检查通过")
    click(page, "确认导入评分")
    shot(page, "e2e-obs-07-scores")
    see(page, "已导入评分")
    shot(page, "e2e-obs-07-scores")
    tab(page, "排名")
    see(page, "校正后得分")
    shot(page, "e2e-obs-08-ranking")
    tab(page, "等次调整")
    page.get_by_label("至少评分数").fill("1")  # each host of this small event was seen once
    page.get_by_label("至少评分数").press("Enter")
    wait_idle(page)
    shot(page, "e2e-obs-09-tiers")
    click(page, "确认调整等次")
    see(page, "逐个勾选「采纳」")  # nothing that changes a tier is pre-ticked: one click changes nothing
    tab(page, "图表")
    page.wait_for_timeout(1500)
    assert page.locator("[data-testid='stVegaLiteChart']").count() >= 3
    assert not exceptions(page)
    shot(page, "e2e-obs-10-charts")


def test_viewer_sees_read_only_pages(app, chromium):
    page = enter(chromium, app, "viewer")
    goto_page(page, "观摩安排")
    assert not exceptions(page)
    assert page.get_by_role("button", name="重新生成（保留手工安排）").is_disabled()
    shot(page, "e2e-obs-11-viewer")
    goto_page(page, "观摩评分")
    assert not exceptions(page)
    assert page.get_by_role("button", name="保存评分").count() == 0
