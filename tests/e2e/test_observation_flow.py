"""观摩互进 in headless Chromium: set up a new cross-observation, solve it, move one visit by
hand on the demo event and save it, export the 观摩活动安排表, fill the downloaded score sheet
and upload it, look at the ranking, confirm tier changes, and the charts.
Screenshots go to /tmp/dangjian-shots/e2e-obs-*.png."""

import polars as pl
import pytest
from playwright.sync_api import expect

from dangjian_core import fileio
from dangjian_core.db import Database
from dangjian_core.observation import model, store, views
from tests.e2e.helpers import click, enter, exceptions, goto_page, open_expander, pick, shot, tab, upload, wait_idle

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


def see(page, text):
    """`text` is on the page (auto-waiting: the message of an action's last run)."""
    expect(page.locator(f"text={text} >> visible=true").first).to_be_visible()


def upload_sheet(page, name, frame):
    upload(page, name, fileio.xlsx_bytes({model.SHEET: frame}), XLSX)


def test_setup_plan_edit_export_score_rank(app, chromium, move):
    page = enter(chromium, app, "editor", height=2400)
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
    expect(page.get_by_text("接待差值 / 可证下界")).to_have_count(1)
    assert not exceptions(page)
    shot(page, "e2e-obs-03-plan")
    # hand edit on the demo event
    pick(page, "观摩活动", "2026年")
    exp = open_expander(page, "调整一次参观")
    pick(exp, "观摩团", move["delegation"])
    pick(exp, "时段", move["slot"])
    pick(exp, "改到观摩点", move["host"])
    exp.get_by_role("button", name="调整", exact=True).click()
    wait_idle(page)
    see(page, "调整后的安排符合全部要求")
    shot(page, "e2e-obs-04-hand-edit")
    click(page, "保存手工调整")
    see(page, "已保存手工调整")
    shot(page, "e2e-obs-04b-saved")
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
    upload_sheet(page, "坏评分表.xlsx", bad)
    see(page, "没有保存任何评分")
    shot(page, "e2e-obs-06-bad-sheet")
    upload_sheet(page, "评分表.xlsx", filled)
    see(page, "检查通过")
    click(page, "确认导入评分")
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
    expect(page.locator("[data-testid='stVegaLiteChart']").nth(2)).to_be_visible()  # three charts at least
    assert not exceptions(page)
    shot(page, "e2e-obs-10-charts")


def test_viewer_sees_read_only_pages(app, chromium):
    page = enter(chromium, app, "viewer", height=2400)
    goto_page(page, "观摩安排")
    assert not exceptions(page)
    assert page.get_by_role("button", name="重新生成（保留手工安排）").is_disabled()
    shot(page, "e2e-obs-11-viewer")
    goto_page(page, "观摩评分")
    assert not exceptions(page)
    assert page.get_by_role("button", name="保存评分").count() == 0
