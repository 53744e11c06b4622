"""述职评议 in headless Chromium: an editor generates the list for the next session, locks and
swaps a unit, publishes, records votes for a held session and confirms an overdue item's
escalation; a viewer finds no way to change anything. Screenshots of every screen go to
/tmp/dangjian-shots/ (e2e-reports-*)."""

from __future__ import annotations

from playwright.sync_api import expect

from dangjian_core import clock
from tests.e2e.helpers import enter, goto_page, no_errors, open_expander, tall_shot, wait_idle


def _section(page, name: str) -> None:
    page.locator("[data-testid='stRadio'] label", has_text=name).first.click()
    wait_idle(page)


def _choose(page, label: str, nth_option: int = 0) -> str:
    """Open a selectbox / multiselect by its label and pick an option; returns its text."""
    box = page.locator("[data-testid='stSelectbox'], [data-testid='stMultiSelect']").filter(
        has=page.get_by_text(label, exact=True)).first
    field = box.locator("input").first
    field.click()
    expect(field).to_be_focused()
    if not page.get_by_role("option").count():  # a click can focus the box without opening its list
        field.press("ArrowDown")
    text = page.get_by_role("option").filter(has_not_text="Select all").nth(nth_option).inner_text()
    # then chosen by its text: typing it keeps the list open on that one option (a redraw of the
    # page while the whole list is open can close it between reading an option and clicking it)
    field.press("Control+a")
    field.press_sequentially(text)
    page.get_by_role("option").filter(has_text=text).first.click()
    wait_idle(page)
    return text


def _ensure_draft_session(page) -> None:
    """After the last session of the year, make next year's sessions through the calendar."""
    if page.get_by_role("button", name="建议名单").count():
        return
    _choose(page, "年度", 1 if clock.today().month == 12 else 0)
    _section(page, "场次安排")
    page.get_by_role("button", name="六场述职安排").click()
    wait_idle(page)
    _section(page, "选定述职单位")


def test_editor_picks_publishes_votes_and_escalates(app, chromium):
    page = enter(chromium, app, "editor")
    goto_page(page, "述职评议")
    tall_shot(page, "e2e-reports-01-calendar")
    no_errors(page, "calendar")

    _section(page, "选定述职单位")
    _ensure_draft_session(page)
    page.get_by_role("button", name="建议名单").click()
    wait_idle(page)
    expect(page.get_by_text("已按规则选出")).to_be_visible()
    expect(page.get_by_text("入选理由")).to_be_visible()
    expect(page.get_by_text("滞后指标").first).to_be_visible()
    no_errors(page, "draft")
    tall_shot(page, "e2e-reports-02-draft")

    page.get_by_role("button", name="锁定", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text("已锁定")).to_be_visible()

    _section(page, "调换")
    _choose(page, "调出", 1)  # the first one was just locked
    _choose(page, "换成", 0)
    note = page.get_by_label("说明（必填）")
    note.fill("书记参加集中培训，下一场再述职")
    note.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="调换", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text("已调换")).to_be_visible()
    expect(page.get_by_text("调换：替换「").first).to_be_visible()  # the reasons list (tables are drawn on a canvas)
    no_errors(page, "swap")
    tall_shot(page, "e2e-reports-03-adjusted")

    page.get_by_text("名单已核对无误").click()
    wait_idle(page)
    page.get_by_role("button", name="发布名单").click()
    wait_idle(page)
    expect(page.get_by_text("已冻结")).not_to_have_count(0)
    expect(page.get_by_role("button", name="下载 Excel")).to_be_visible()
    expect(page.get_by_role("button", name="发布名单")).to_have_count(0)
    open_expander(page, "打印预览")
    wait_idle(page)
    frame = page.frame_locator("iframe[data-testid='stIFrame'], [data-testid='stIFrame'] iframe").first
    expect(frame.get_by_text("党建述职评议会的通知")).to_be_visible()
    tall_shot(page, "e2e-reports-04-published-notice")

    _section(page, "测评结果")
    _choose(page, "年度", 0 if clock.today().month > 2 else 1)  # a year with held sessions
    no_errors(page, "votes")
    for label, value in (("参评人数", "40"), ("好", "20"), ("较好", "10"), ("一般", "5"), ("差", "5")):
        box = page.get_by_label(label, exact=True)
        box.fill(value)
    page.get_by_role("button", name="保存测评票").click()
    wait_idle(page)
    expect(page.get_by_text("的测评票。")).to_be_visible()
    no_errors(page, "votes saved")
    tall_shot(page, "e2e-reports-05-votes")

    for sec, name in (("进度分与指标", "06-scores"), ("述职效果", "07-effect")):
        _section(page, sec)
        no_errors(page, sec)
        tall_shot(page, f"e2e-reports-{name}")

    goto_page(page, "整改跟踪")
    no_errors(page, "board")
    expect(page.get_by_text("按逾期天数从多到少排列")).to_be_visible()
    tall_shot(page, "e2e-reports-08-board")
    picked = _choose(page, "选择要升级的事项", 0)
    page.keyboard.press("Escape")
    page.get_by_role("button", name="确认升级").click()
    wait_idle(page)
    expect(page.get_by_text("将升级 1 项整改事项为")).to_be_visible()  # count and document, before writing
    page.get_by_role("button", name="是，升级 1 项").click()
    wait_idle(page)
    expect(page.get_by_text("已确认升级 1 项")).to_be_visible()
    no_errors(page, "escalated")
    tall_shot(page, "e2e-reports-09-escalated")
    assert "→" in picked

    _section(page, "整改事项")
    no_errors(page, "items")
    tall_shot(page, "e2e-reports-10-items")
    _section(page, "打印通知单")
    open_expander(page, "打印预览")
    wait_idle(page)
    no_errors(page, "notice")
    tall_shot(page, "e2e-reports-11-rectification-notice")
    assert not page.failed_requests, page.failed_requests
    page.context.close()


def test_viewer_sees_the_lists_but_no_write_buttons(app, chromium):
    page = enter(chromium, app, "viewer")
    goto_page(page, "述职评议")
    _section(page, "选定述职单位")
    for name in ("建议名单", "发布名单", "锁定", "调换"):
        assert page.get_by_role("button", name=name).count() == 0, name
    _section(page, "测评结果")
    assert page.get_by_role("button", name="保存测评票").count() == 0
    tall_shot(page, "e2e-reports-12-viewer-votes")
    goto_page(page, "整改跟踪")
    assert page.get_by_role("button", name="确认升级").count() == 0
    no_errors(page, "viewer board")
    tall_shot(page, "e2e-reports-13-viewer-board")
    page.context.close()
