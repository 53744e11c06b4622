"""An editor makes a briefing chart in headless Chromium, exports it, saves it, and finds it on
the overview page."""

import io

from PIL import Image
from playwright.sync_api import expect

from tests.e2e.helpers import SHOTS, exceptions, goto_page, login, new_page, shot, wait_idle


def choose(page, label: str, option: str) -> None:
    page.locator("[data-testid='stSelectbox']", has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def download(page, button: str, name: str) -> bytes:
    with page.expect_download(timeout=60000) as info:
        page.get_by_role("button", name=button).first.click()
    target = SHOTS / name
    SHOTS.mkdir(parents=True, exist_ok=True)
    info.value.save_as(str(target))
    return target.read_bytes()


def test_editor_makes_exports_and_saves_a_chart(app, chromium):
    page = new_page(chromium, app)
    login(page, "editor", "dangjian-demo")
    goto_page(page, "简报图表")
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(1)  # a chart is drawn at once

    choose(page, "图表类型", "堆叠柱状图")
    choose(page, "横轴（分类）", "类别")
    choose(page, "堆叠分组", "评定等次")
    title = page.get_by_label("标题（空着则自动生成）")
    title.fill("各类别党组织评定等次（浏览器测试）")
    title.press("Enter")
    wait_idle(page)
    chart = page.locator("[data-testid='stVegaLiteChart']").first
    chart.locator("canvas, svg").first.wait_for()
    assert not exceptions(page)
    shot(page, "e2e-charts-built")

    png = download(page, "下载 PNG（幻灯片用）", "e2e-charts-export.png")
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (1600, 900)
    assert img.convert("L").getextrema()[0] < 100, "the PNG is not blank"
    svg = download(page, "下载 SVG", "e2e-charts-export.svg").decode("utf-8")
    assert "Noto Sans CJK SC" in svg and "先进" in svg
    xlsx = download(page, "下载数据（Excel）", "e2e-charts-export.xlsx")
    assert xlsx[:2] == b"PK"

    name = page.get_by_label("图表名称")
    assert name.input_value() == "各类别党组织评定等次（浏览器测试）", "the name follows the title"
    name.fill("浏览器测试：等次分布")
    page.get_by_role("button", name="保存为新图表").click()
    # the save reruns the page (st.rerun): wait for the message of the second run
    page.get_by_text("已保存图表「浏览器测试：等次分布」").first.wait_for()
    wait_idle(page)
    expect(page.get_by_text("正在修改已保存的图表")).to_have_count(1)
    shot(page, "e2e-charts-saved")

    goto_page(page, "首页")
    page.get_by_text("浏览器测试：等次分布", exact=True).first.wait_for()
    expect(page.get_by_text("常用图表", exact=True)).to_have_count(1)
    expect(page.locator("[data-testid='stVegaLiteChart']").nth(4)).to_be_attached()  # five charts at least
    assert not exceptions(page)
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    shot(page, "e2e-charts-home")
    page.get_by_text("浏览器测试：等次分布", exact=True).first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "e2e-charts-home-saved.png"))
    assert not page.failed_requests, page.failed_requests
    page.context.close()


def test_viewer_builds_and_exports_but_cannot_save(app, chromium):
    page = new_page(chromium, app)
    login(page, "viewer", "dangjian-demo")
    goto_page(page, "简报图表")
    choose(page, "数据集", "党员构成")
    choose(page, "图表类型", "环形图")
    choose(page, "扇区（分类）", "党员类型")
    png = download(page, "下载 PNG（幻灯片用）", "e2e-charts-viewer-donut.png")
    assert Image.open(io.BytesIO(png)).size == (1600, 900)
    assert page.get_by_role("button", name="保存为新图表").count() == 0
    expect(page.get_by_text("不能保存")).to_have_count(1)
    shot(page, "e2e-charts-viewer")
    page.context.close()
