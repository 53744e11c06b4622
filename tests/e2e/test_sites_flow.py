"""The site programme in headless Chromium: one org walked from 申报 to 授牌 (with a score
sheet downloaded, filled as at a field visit and uploaded), its archive and pairing, the
assessment reverted; and the yearly plan page. Screenshots go to /tmp/dangjian-shots/."""


import polars as pl
import pytest
from playwright.sync_api import expect

from dangjian_core import clock, fileio
from dangjian_core.db import Database
from dangjian_core.sites import sheets, store
from tests.e2e.helpers import click, enter, exceptions, goto_page, no_errors, open_expander, pick, shot, tab, upload, wait_idle
from tests.sites.test_sites import PNG, fill_xlsx

Y = clock.today().year


@pytest.fixture(scope="module")
def facts(demo_db_file):
    """Names picked from the demo file the app was copied from (the app holds its own copy)."""
    db = Database(demo_db_file, read_only=True)
    try:
        cand = store.open_candidates(db)
        creating = store.list_sites(db).filter((pl.col("status") == "creating") & (pl.col("due_year") == Y))
        return {"org": cand["name"][0], "creating": creating["name"][0]}
    finally:
        db.close()


def fill_downloaded_sheet(page, ratio=0.9) -> bytes:
    open_expander(page, "评分表：下载后带到现场填写，填好后上传")
    with page.expect_download() as dl:
        page.get_by_role("button", name="下载评分表（Excel）").click()
    data = open(dl.value.path(), "rb").read()
    frame = fileio.read_frame(data=data, name="sheet.xlsx", expected=sheets.SHEET_HEADER, sheet=sheets.SHEET)
    cells = {}
    for i, r in enumerate(frame.df.iter_rows(named=True)):
        if r["类型"] == "评分项":
            mx = float(r["满分"])
            cells[f"J{frame.row_number(i)}"] = round(mx * ratio * 2) / 2
            cells[f"I{frame.row_number(i)}"] = mx
    return fill_xlsx(data, {1: cells, 2: {"B5": clock.today().isoformat(), "B6": "市委组织部考评组（浏览器测试）",
                                          "B7": "真示范"}})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_walk_one_org_from_application_to_named_and_back(app, chromium, facts):
    page = enter(chromium, app, "editor")
    goto_page(page, "示范点")
    shot(page, "e2e-sites-01-register")
    # 申报
    form = open_expander(page, "申报新的创建单位")
    pick(form, "党组织", facts["org"])
    form.get_by_label("责任单位").fill("东湖街道党工委")
    form.get_by_label("联络员").fill("李联络")
    form.get_by_role("button", name="申报", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text("已登记申报")).not_to_have_count(0)
    expect(page.get_by_text("已申报", exact=True)).not_to_have_count(0)
    shot(page, "e2e-sites-02-applied")
    # 立项
    click(page, "确定为创建单位")
    expect(page.get_by_text("已确定为")).not_to_have_count(0)
    shot(page, "e2e-sites-03-creating")
    # 考评: download the sheet, fill it as at a field visit, upload, record
    tab(page, "记录考评")
    filled = fill_downloaded_sheet(page)
    upload(page, "评分表-已填.xlsx", filled, XLSX)
    expect(page.get_by_text("评分表已读入")).not_to_have_count(0)
    metrics = page.locator("[data-testid='stMetric']").all_inner_texts()
    shot(page, "e2e-sites-04-sheet-uploaded")
    assert any("状态将变为" in m and "已授牌" in m for m in metrics), metrics
    shot(page, "e2e-sites-04-sheet-uploaded")
    click(page, "记录考评")
    page.locator("[data-testid='stAlertContentSuccess']").first.scroll_into_view_if_needed()
    shot(page, "e2e-sites-05-named")
    expect(page.get_by_text("创建中 → 已授牌")).not_to_have_count(0)  # the flash names the status change
    expect(page.get_by_text("展开全文", exact=True)).not_to_have_count(0)  # the long toast's link, in Chinese
    expect(page.get_by_text("view more", exact=True)).to_have_count(0)
    expect(page.locator("[data-testid='stMarkdownContainer'] strong", has_text="已授牌")).not_to_have_count(0)
    shot(page, "e2e-sites-05-named")
    # 创建档案: a photo
    tab(page, "创建档案")
    page.get_by_label("事项").fill("创建活动照片")
    upload(page, "活动.png", PNG, "image/png")
    click(page, "上传到创建档案")
    expect(page.get_by_text("创建活动照片：活动.png")).to_be_visible()  # listed in the archive
    expect(page.locator("[data-testid='stImage'] img").first).to_be_visible()  # and previewed
    # the message: a toast in the window's corner (wherever the page is scrolled) and kept above the form
    expect(page.locator("[data-testid='stToast']", has_text="已上传：活动.png")).to_be_in_viewport()
    done = page.locator("[data-testid='stAlertContentSuccess']", has_text="已上传：活动.png")
    expect(done).to_be_visible()
    shot(page, "e2e-sites-06-archive")
    click(page, "刷新")  # the next run (the archive table's 刷新) does not wipe it before it is read
    expect(done).to_be_visible()
    tab(page, "结对")
    tab(page, "概况与联系人")
    tab(page, "创建档案")
    expect(done).to_have_count(0)  # gone once the place was left
    assert not exceptions(page)
    # 结对
    tab(page, "结对")
    if page.get_by_role("button", name="登记结对").count():  # a lagging org nearby was suggested
        click(page, "登记结对")
        expect(page.get_by_text("已登记结对")).not_to_have_count(0)
    assert not exceptions(page)
    shot(page, "e2e-sites-07-pairing")
    # 考评记录 and undo
    tab(page, "考评记录")
    shot(page, "e2e-sites-08-history")
    page.get_by_role("button", name=f"撤销 {Y} 年度考评（状态恢复为「创建中」）").click()
    wait_idle(page)
    shot(page, "e2e-sites-09-reverted")
    # the result of the click, waited for (a loaded machine can still be drawing it)
    expect(page.get_by_text("已撤销")).not_to_have_count(0)
    expect(page.locator("[data-testid='stMarkdownContainer'] strong", has_text="创建中")).not_to_have_count(0)
    shot(page, "e2e-sites-09-reverted")
    assert not exceptions(page)
    page.context.close()


def test_record_an_assessment_on_a_demo_site_and_see_the_status(app, chromium, facts):
    page = enter(chromium, app, "editor")
    goto_page(page, "示范点")
    pick(page, "选择示范点", facts["creating"])
    tab(page, "记录考评")
    filled = fill_downloaded_sheet(page, ratio=0.6)  # well below the pass mark
    upload(page, "评分表.xlsx", filled, XLSX, nth=0)
    click(page, "记录考评")
    shot(page, "e2e-sites-10-not-named")
    expect(page.get_by_text("创建中 → 未通过命名")).not_to_have_count(0)
    expect(page.locator("[data-testid='stMarkdownContainer'] strong", has_text="未通过命名")).not_to_have_count(0)
    shot(page, "e2e-sites-10-not-named")
    assert not exceptions(page)
    page.context.close()


def test_plan_page_every_tab(app, chromium):
    page = enter(chromium, app, "viewer")
    goto_page(page, "年度计划与考评")
    for i, name in enumerate(["计划与完成", "到期与逾期", "督查提醒", "考评细则", "简报图表"]):
        tab(page, name)
        no_errors(page, name)
        shot(page, f"e2e-plan-{i + 1}")
    expect(page.locator("[data-testid='stVegaLiteChart']").first).to_be_visible()  # 简报图表 draws its charts
    assert page.get_by_role("button", name="保存计划").count() == 0
    assert not exceptions(page)
    page.context.close()
