"""App memory at city scale (issue #17): the peak resident memory of the Streamlit server process
after every page of the navigation has been visited as every role, on the city database.

The app is started the README's way (tests/e2e/helpers.start_app runs `python -m streamlit`
directly, so the Popen's pid is the server itself; checked below from /proc/<pid>/cmdline). The
server's figure is its own /proc/<pid>/status VmHWM (peak RSS), children excluded; a sampler
thread watches the server's descendants (e.g. an Excel parsing child) every 0.2 s and their peak
is reported separately. Each role logs in in a fresh browser context, reads the sidebar's links
and clicks each one, waiting for the run to settle the way bench_browser does.

Figures only: nothing here passes or fails. Target: < 1 GB."""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_browser import Product, _city_db, _log, timed  # noqa: E402
from bench.figures import figure, line, load_now  # noqa: E402

TARGET_MB = 1024
ROLES = ("admin", "editor", "treasurer", "viewer")
PASSWORD = "dangjian-demo"


def _status_kb(pid: int, field: str) -> int:
    """VmHWM / VmRSS of one process in kB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak(pid: int) -> bool:
    """Start VmHWM afresh from the current RSS (Linux: write 5 to clear_refs), so each role's
    peak is its own. False when the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


class ChildSampler(threading.Thread):
    """Peak VmHWM of any one descendant, and peak of their summed VmRSS, sampled every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.stop_flag = pid, threading.Event()
        self.peak_one_kb = self.peak_sum_kb = 0
        self.seen: set[int] = set()

    def run(self) -> None:
        while not self.stop_flag.wait(0.2):
            kids = _descendants(self.pid)
            self.seen.update(kids)
            self.peak_one_kb = max([self.peak_one_kb] + [_status_kb(k, "VmHWM") for k in kids])
            self.peak_sum_kb = max(self.peak_sum_kb, sum(_status_kb(k, "VmRSS") for k in kids))


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def _row(name: str, kb: int, targeted: bool = True) -> dict:
    """A server figure carries the target (< 1 GB, issue #17); the children's are for reading."""
    if not targeted:
        return figure(f"memory {name}", _mb(kb), "MB")
    return figure(f"memory {name}", _mb(kb), "MB", target=f"< {TARGET_MB} MB", ratio=_mb(kb) / TARGET_MB,
                  ratio_to=f"目标 {TARGET_MB} MB", met=_mb(kb) < TARGET_MB, load=load_now())


def walk(b, url: str, role: str, pid: int) -> tuple[int, str, int]:
    """Log in as `role` in a fresh context and visit every link its navigation shows. Returns
    the number of pages, the page after which the server's VmHWM grew most, and that growth."""
    p = Product(b, url, user=role, password=PASSWORD)
    p.login_once()
    page = p.page
    links = page.locator("[data-testid='stSidebarNavLink']")
    hrefs = [links.nth(i).get_attribute("href") or str(i) for i in range(links.count())]
    worst, worst_kb = "", 0
    for i, href in enumerate(hrefs):
        before = _status_kb(pid, "VmHWM")
        try:
            timed(page, links.nth(i).click)
            if page.locator("[data-testid='stException']").count():
                _log(f"{role} → {href}: 页面出错")
        except Exception as exc:  # noqa: BLE001 — a benchmark reports, it does not stop
            _log(f"{role} → {href} FAILED: {type(exc).__name__}: {exc}")
        grew = _status_kb(pid, "VmHWM") - before
        _log(f"{role} → {href}: VmHWM {_mb(_status_kb(pid, 'VmHWM'))} MB (+{_mb(grew)})")
        if grew > worst_kb:
            worst, worst_kb = href.rsplit("/", 1)[-1], grew
    page.context.close()
    return len(hrefs), worst, worst_kb


def run() -> list[dict]:
    from tests.e2e.helpers import browser, start_app

    out: list[dict] = [figure("memory bench: load average (1 min) at the start", load_now())]
    with tempfile.TemporaryDirectory(prefix="dangjian-mem-") as d:
        folder = Path(d)
        db = folder / "app.duckdb"
        shutil.copyfile(_city_db(folder), db)
        app = start_app(db, timeout=180)
        pid = app.proc.pid
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if "streamlit" not in cmd:
            raise RuntimeError(f"pid {pid} is not the Streamlit server: {cmd}")
        out.append(_row("server after start, VmHWM", _status_kb(pid, "VmHWM"), targeted=False))
        sampler = ChildSampler(pid)
        sampler.start()
        pages = overall_kb = 0
        try:
            with browser() as b:
                for role in ROLES:
                    overall_kb = max(overall_kb, _status_kb(pid, "VmHWM"))
                    fresh = _reset_peak(pid)
                    n, worst, worst_kb = walk(b, app.url, role, pid)
                    pages += n
                    overall_kb = max(overall_kb, _status_kb(pid, "VmHWM"))
                    out.append(_row(f"server VmHWM {'during' if fresh else 'after'} {role}'s walk ({n} pages;"
                                    f" largest rise {_mb(worst_kb)} MB at {worst or '-'})", _status_kb(pid, "VmHWM")))
            out.append(_row(f"server VmHWM over all walks ({len(ROLES)} roles, {pages} page visits)", overall_kb))
            out.append(_row("server VmRSS at the end", _status_kb(pid, "VmRSS"), targeted=False))
        finally:
            sampler.stop_flag.set()
            sampler.join(2)
            app.stop()
    out.append(_row(f"children peak VmHWM of any one ({len(sampler.seen)} seen)", sampler.peak_one_kb, targeted=False))
    out.append(_row("children peak summed VmRSS", sampler.peak_sum_kb, targeted=False))
    out.append(figure("memory bench: load average (1 min) at the end", load_now()))
    return out


if __name__ == "__main__":
    for row in run():
        print(line(row))
