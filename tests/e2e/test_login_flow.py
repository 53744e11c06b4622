"""Logging in on a freshly started server: a submitted form is never lost, the session cookie
is there before the app is, and a page the role may not open says so."""

from playwright.sync_api import expect

from tests.e2e.helpers import exceptions, login, new_page, shot, wait_idle

NAV = "[data-testid='stSidebarNavLink']"


def test_twenty_logins_in_a_row_on_a_fresh_server_each_land_at_once(app, chromium):
    # `app` is this module's own server, started for it: the first login is its first visitor
    for i in range(20):
        page = new_page(chromium, app)  # a fresh browser context: no cookie, no session
        who = ("admin", "editor", "treasurer", "viewer")[i % 4]
        login(page, who, "dangjian-demo")  # one fill, one click: raises if it did not land
        expect(page.locator(NAV).nth(4)).to_be_attached()  # the whole menu
        expect(page.get_by_label("用户名")).to_have_count(0)  # the form is gone
        assert not exceptions(page)
        page.context.close()


def test_reload_right_after_logging_in_keeps_the_session_and_logout_ends_it(app, chromium):
    page = new_page(chromium, app)
    login(page, "editor", "dangjian-demo")
    page.reload()  # at once: no waiting for the cookie
    wait_idle(page)
    expect(page.locator(NAV).first).to_be_visible()
    assert page.get_by_label("用户名").count() == 0, "a reload just after login keeps the session"
    shot(page, "e2e-login-reloaded")
    page.get_by_role("link", name="退出登录").click()
    wait_idle(page)
    expect(page.get_by_label("用户名")).to_have_count(1)
    page.reload()
    wait_idle(page)
    expect(page.get_by_label("用户名")).to_have_count(1)
    assert page.locator(NAV).count() == 0, "after 退出登录 a reload does not log back in"
    page.context.close()


def test_viewer_typing_the_address_of_a_closed_page_is_told_why(app, chromium):
    page = new_page(chromium, app)
    login(page, "viewer", "dangjian-demo")
    for path in ("dues", "admin", "dues_arrears"):
        page.goto(f"{app.url}/{path}")
        wait_idle(page)
        expect(page.get_by_text("您没有权限打开该页面")).to_be_visible()
        assert page.locator(NAV, has_text="党费收缴").count() == 0, "the menu still hides it"
        shot(page, f"e2e-viewer-forbidden-{path}")
    page.context.close()
