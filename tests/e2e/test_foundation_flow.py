"""A person's path through the foundation in headless Chromium."""

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.helpers import edit_cell, exceptions, goto_page, login, new_page, shot, wait_for_cookie, wait_idle


def _search(page, text):
    box = page.get_by_label("搜索")
    box.fill(text)
    box.press("Enter")
    wait_idle(page)


def test_editor_edits_an_org_name_saves_reloads_and_sees_it(app, chromium):
    page = new_page(chromium, app)
    login(page, "editor", "dangjian-demo")
    assert wait_for_cookie(page), "the login cookie is written"
    goto_page(page, "基层党组织")
    grid = page.locator("[data-testid='stDataFrame'] >> visible=true").first
    edit_cell(grid, 200, 35 + 17, "浏览器测试改名党工委")  # first row, 名称
    expect(page.get_by_role("button", name="保存", exact=True)).to_be_enabled()
    page.get_by_role("button", name="保存", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text("已保存")).not_to_have_count(0)
    shot(page, "e2e-orgs-saved")
    page.reload()
    wait_idle(page)
    # the cookie logs us back in; the saved name is found by the search box
    goto_page(page, "基层党组织")
    _search(page, "浏览器测试改名")
    expect(page.locator("[data-testid='stMetricValue']").first).to_have_text(re.compile(r"^1\s*行$"))
    assert not exceptions(page)
    page.context.close()


def test_export_downloads_twice_in_a_row_without_rerunning_the_page(app, chromium):
    """导出 Excel builds its file on click. The click used to rerun the page too, and that run
    replaced the button's file id on the server while the browser still held the old one: the
    next click got 「Failed to generate file for download」 and no file (bench_browser, after the
    editing section). Now a download asks for no run, so two clicks in a row both get the file."""
    page = new_page(chromium, app)
    login(page, "editor", "dangjian-demo")
    goto_page(page, "基层党组织")
    asked = page.evaluate("() => window.__dj.req")
    for _ in range(2):
        with page.expect_download() as dl:
            page.get_by_role("button", name="导出 Excel").click()
        assert Path(dl.value.path()).stat().st_size > 1000
    assert page.evaluate("() => window.__dj.req") == asked, "a download click asked the server for a run"
    expect(page.get_by_test_id("stDownloadButtonError")).to_have_count(0)
    page.context.close()


def test_viewer_finds_no_way_to_save(app, chromium):
    page = new_page(chromium, app)
    # before login the sidebar lists nothing (no auto-discovered pages/ files)
    assert page.locator("[data-testid='stSidebarNavLink']").count() == 0
    login(page, "viewer", "dangjian-demo")
    goto_page(page, "基层党组织")
    shot(page, "e2e-orgs-viewer-before")
    expect(page.get_by_text("只能查看")).to_have_count(1)
    assert page.get_by_role("button", name="保存", exact=True).count() == 0
    assert page.locator("[data-testid='stSidebarNavLink']", has_text="系统管理").count() == 0
    shot(page, "e2e-orgs-viewer")
    page.context.close()


def test_five_wrong_passwords_lock_the_account(app, chromium):
    page = new_page(chromium, app)
    # exactly five: every submitted form counts (a submit is never lost, see test_login_flow),
    # and the fifth wrong password is the one that locks
    for _ in range(5):
        login(page, "treasurer", "not-the-password")
    # a wrong password never says whether the account exists or is locked (same text as unknown users)
    assert page.get_by_text("账号已锁定").count() == 0
    expect(page.get_by_text("用户名或密码不正确")).not_to_have_count(0)
    login(page, "treasurer", "dangjian-demo", expect_ok=False)
    shot(page, "e2e-login-locked-right-password")
    expect(page.get_by_text("账号已锁定")).not_to_have_count(0)  # the right password is refused while locked
    assert page.locator("[data-testid='stSidebarNavLink']").count() == 0
    shot(page, "e2e-login-locked")
    page.context.close()


# Every page as admin (no exception, no error box, no outside request) is walked by
# test_every_page_speaks_chinese.py::test_role_walks_every_page_in_chinese[admin].
