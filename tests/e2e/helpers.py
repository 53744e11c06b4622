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


def new_page(b, app: App):
    ctx = b.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.failed_requests = []  # an intranet app must not reach outside hosts
    page.on("requestfailed", lambda r: page.failed_requests.append(r.url))
    page.set_default_timeout(60000)
    page.goto(app.url)
    wait_idle(page)
    return page


def wait_idle(page, timeout: float = 30000, expect_rerun: bool = True) -> None:
    """Wait until the script has finished its run: first (briefly) for the rerun an action
    starts, then for the app to be idle with no stale elements and no running indicator."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout)
    if expect_rerun:
        try:
            page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']",
                                   timeout=1200)
        except Exception:  # noqa: BLE001 — a fast run may be over before we look
            pass
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-stale=\"true\"]')"
        " && !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)
    page.wait_for_timeout(250)


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
        wait_idle(page, expect_rerun=False)  # the first page of the app finishes drawing
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


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def exceptions(page) -> list[str]:
    return [e.inner_text() for e in page.locator("[data-testid='stException']").all()]
