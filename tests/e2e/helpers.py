"""Typed helpers for browser tests: start the app the README's way on a free port with a
temporary database, drive Debian's Chromium through Playwright, wait for Streamlit reruns."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("DANGJIAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"]
SHOTS = Path(os.environ.get("DANGJIAN_SHOTS", "/tmp/dangjian-shots"))
# `make test` sets DANGJIAN_SHOTS_OFF=1: no screenshots for people to look at (a failed test still
# leaves FAILED-*.png, see conftest); running a browser test by hand takes them all.
SHOTS_OFF = os.environ.get("DANGJIAN_SHOTS_OFF") == "1"


def _patient_expect() -> None:
    # CI machines have 2 cores shared with the server under test: give auto-waits room
    from playwright.sync_api import expect

    expect.set_options(timeout=20000)


_patient_expect()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    def __init__(self, db_path: Path, port: int, proc: subprocess.Popen, log: Path):
        self.db_path, self.port, self.proc, self.log = db_path, port, proc, log
        self.url = f"http://127.0.0.1:{port}"

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def start_app(db_path: Path, *, seed_from: Path | None = None, timeout: float = 60) -> App:
    if seed_from is not None and not db_path.exists():
        shutil.copyfile(seed_from, db_path)
    port = free_port()
    log = db_path.with_suffix(".log")
    env = dict(os.environ, DANGJIAN_DB=str(db_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), f"--server.port={port}",
         "--server.address=127.0.0.1", "--server.headless=true"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return App(db_path, port, proc, log)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("app did not become healthy")


@contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


# Installed in every page before the app's own code: once Streamlit's App component is mounted,
# count the rerun requests the page sends and the runs it has finished drawing. A request is
# answered when a run that finished after it (not one cut short by a newer request, nor by
# st.rerun) has been committed to the screen; its stale elements are gone by then.
SETTLE_HOOK = """
(() => {
  const dj = window.__dj = {req: 0, answered: 0, done: 0, last: null, mark: 0, hooked: false};
  function hook() {
    const root = document.querySelector("[data-testid='stApp']");
    const key = root && Object.keys(root).find((k) => k.startsWith('__reactFiber$'));
    let fiber = key ? root[key] : null;
    while (fiber && !(fiber.stateNode && fiber.stateNode.handleScriptFinished && fiber.stateNode.sendBackMsg)) {
      fiber = fiber.return;
    }
    if (!fiber) return false;
    const app = fiber.stateNode;
    const send = app.sendBackMsg;
    app.sendBackMsg = (msg) => {
      if (msg && msg.rerunScript) dj.req += 1;
      return send(msg);
    };
    const finished = app.handleScriptFinished;
    app.handleScriptFinished = function (status, metadata) {
      const result = finished.call(this, status, metadata);
      if (status !== 2) {  // 2: FINISHED_EARLY_FOR_RERUN, another run follows
        const answers = dj.req;
        this.setState({}, () => {
          dj.answered = Math.max(dj.answered, answers); dj.done += 1; dj.last = performance.now();
        });
      }
      return result;
    };
    dj.hooked = true;
    return true;
  }
  const watch = new MutationObserver(() => { if (hook()) watch.disconnect(); });
  watch.observe(document, {childList: true, subtree: true});
})();
"""

SETTLED = """() => {
  const dj = window.__dj;
  const app = document.querySelector("[data-testid='stApp']");
  return !!dj && dj.hooked && dj.done > 0 && dj.answered >= dj.req
    && !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-stale="true"]')
    && !document.querySelector('[data-testid="stStatusWidget"]');
}"""


def new_page(b, app: App):
    ctx = b.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    ctx.add_init_script(SETTLE_HOOK)
    page = ctx.new_page()
    page.failed_requests = []  # an intranet app must not reach outside hosts
    page.on("requestfailed", lambda r: page.failed_requests.append(r.url))
    page.set_default_timeout(60000)
    page.goto(app.url)
    wait_idle(page)
    return page


def wait_idle(page, timeout: float = 60000) -> None:
    """Wait until every rerun this page has asked for (a click, a choice, a page load) has run
    to its end and is drawn: counted inside the page (SETTLE_HOOK), so an action that starts no
    run (opening an expander, a tab without on_change, a widget inside a form) returns at once
    and a slow server is waited for, however late its run starts. One rerun-starting action per
    wait: two sent together can be answered by a run the server finished between them.
    Some widgets ask for their run a little after the input event (Enter in a text input sends
    it after keyup), so two frames and a task are let through before the counts are compared."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 0))))")
    page.wait_for_function(SETTLED, timeout=timeout)


def login(page, username: str, password: str, *, expect_ok: bool | None = None) -> None:
    """Fill the login form once and submit it once: a submitted form is never lost, so a
    login that does not land is a failure, not something to click again."""
    from playwright.sync_api import expect

    if expect_ok is None:
        expect_ok = password == "dangjian-demo"
    # a run still finishing can briefly show the old form beside the new one
    expect(page.get_by_label("用户名")).to_have_count(1)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_label("密码").press("Tab")  # let the widget report its value before submitting
    page.get_by_role("button", name="登录").click()
    wait_idle(page)
    if not expect_ok:
        return
    try:
        page.locator("[data-testid='stSidebarNavLink']").first.wait_for(timeout=30000)
    except Exception as exc:  # noqa: BLE001 — reported with a screenshot
        shot(page, f"login-failed-{username}")
        raise AssertionError(f"login as {username} failed") from exc


def wait_for_cookie(page, name: str = "dangjian_session", timeout: float = 10) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(c["name"] == name for c in page.context.cookies()):
            return True
        page.wait_for_timeout(200)
    return False


def nav_titles(page) -> list[str]:
    return [s.inner_text().strip() for s in
            page.locator("[data-testid='stSidebarNavLink'] [data-testid='stMarkdownContainer'], "
                         "[data-testid='stSidebarNavLink'] span:not([data-testid='stIconMaterial'])").all()
            if s.inner_text().strip()]


def goto_page(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNavLink']", has_text=title).first.click()
    wait_idle(page)


def edit_grid_cell(page, x: float, y: float, text: str) -> None:
    """Double-click a data-grid cell at (x, y), wait for its cell editor (a textarea the grid
    opens in #portal) and replace the text there, then commit with Enter. Filling the editor
    element itself does not depend on which browser window has the keyboard focus."""
    from playwright.sync_api import expect

    page.mouse.dblclick(x, y)
    editor = page.locator("#portal textarea.gdg-input")
    expect(editor).to_be_visible()
    editor.fill(text)
    editor.press("Enter")
    expect(editor).to_have_count(0)


def edit_cell(grid, dx: float, dy: float, text: str) -> None:
    """Double-click the cell at (dx, dy) inside the data grid `grid` (a locator: Playwright
    waits until the grid is drawn and still, and scrolls it into view), replace the text in
    its cell editor and commit with Enter; then wait for the run the edit asks for."""
    from playwright.sync_api import expect

    grid.dblclick(position={"x": dx, "y": dy})
    editor = grid.page.locator("#portal textarea.gdg-input")
    expect(editor).to_be_visible()
    editor.fill(text)
    editor.press("Enter")
    expect(editor).to_have_count(0)
    wait_idle(grid.page)


def shot(page, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    if not SHOTS_OFF:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
    return path


def tall_shot(page, name: str, most: int = 6000) -> Path:
    """A screenshot of the whole screen: Streamlit scrolls inside its own container, so the
    window is grown to the content's height for the shot, then put back."""
    if SHOTS_OFF:
        return shot(page, name)
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight || 0")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 80, most))})
    try:
        return shot(page, name)
    finally:
        page.set_viewport_size(size)


def exceptions(page) -> list[str]:
    return [e.inner_text() for e in page.locator("[data-testid='stException']").all()]


# -- what every flow does: each action is followed by waiting for the run it starts ---------------
def enter(b, app: App, username: str, *, height: int | None = None):
    """A new browser page logged in as `username` (with the demo password); `height` grows the
    window so screenshots show whole screens."""
    page = new_page(b, app)
    if height:
        page.set_viewport_size({"width": 1400, "height": height})
    login(page, username, "dangjian-demo")
    return page


def click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    wait_idle(page)


def tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    wait_idle(page)


def open_expander(page, title: str):
    """Open the expander titled `title` and wait until it has finished growing (Streamlit
    animates its height; a click on a widget inside it before then can be lost); returns it."""
    box = page.locator("[data-testid='stExpander']", has_text=title).first
    box.locator("summary").first.click()
    box.locator("details").first.evaluate(
        "(d) => new Promise((done) => { const check = () => (d.open && !d.getAnimations().length && !d.style.height)"
        " ? done() : requestAnimationFrame(check); check(); })")
    wait_idle(page)
    return box


def pick(where, label: str, text: str) -> None:
    """Choose in a Streamlit selectbox by typing part of an option (`where`: the page or a
    locator inside it): focus it, type (which opens the list filtered by the text; a click alone
    can focus the box without opening it), click the first option that contains `text`."""
    from playwright.sync_api import expect

    page = getattr(where, "page", where)
    box = where.get_by_label(label, exact=True)
    box.click()
    expect(box).to_be_focused()
    page.keyboard.press("Control+a")  # replace the current choice's text
    page.keyboard.type(text)
    page.get_by_role("option").filter(has_text=text).first.click()
    wait_idle(page)
    assert text in box.input_value(), f"{label}: {text} was not chosen ({box.input_value()})"


def upload(page, name: str, data: bytes, mime: str, nth: int = 0) -> None:
    """Put a file in the `nth` uploader and wait until it is uploaded (its chip offers
    「Remove <name>」, set in the same update that gives the widget its value and, outside a
    form, asks for the rerun), then for that rerun."""
    from playwright.sync_api import expect

    box = page.locator("[data-testid='stFileUploader']").nth(nth)
    box.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}])
    expect(box.get_by_role("button", name=f"Remove {name}", exact=True)).to_be_visible()
    wait_idle(page)


def no_errors(page, where: str) -> None:
    """No Python exception and no error box on the page."""
    assert not exceptions(page), where
    assert page.locator("[data-testid='stAlertContentError']").count() == 0, where
