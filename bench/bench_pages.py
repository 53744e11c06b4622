"""Page rerun times at city scale (2,000 orgs, 100,000 members), measured with AppTest:
first run and the median of 10 reruns of every page, as admin; and a bare Streamlit page that
only shows the same orgs table, so the ratio is the overhead our page adds. Also app start
time (process start to /_stcore/health) on an existing database and on a new one."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE = '''
import duckdb, os, streamlit as st
con = duckdb.connect(os.environ["DANGJIAN_DB"], read_only=False)
st.dataframe(con.sql("SELECT * FROM orgs ORDER BY id").pl(), hide_index=True)
con.close()
'''


def _city_db(tmp: Path) -> Path:
    path = tmp / "city.duckdb"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dangjian_core", "db", "init", "--demo", "--scale", "city",
                    "--db", str(path)], cwd=ROOT, check=True, capture_output=True)
    _city_db.seconds = time.perf_counter() - t0
    return path


def _median_rerun(at, n=10):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _app_start(db: Path) -> float:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, DANGJIAN_DB=str(db))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dangjian_core", "db", "prepare"], cwd=ROOT, env=env)
    proc.wait()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", f"--server.port={port}",
                             "--server.headless=true"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while time.perf_counter() - t0 < 60:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                    return time.perf_counter() - t0
            except OSError:
                time.sleep(0.05)
        return float("nan")
    finally:
        proc.kill()
        proc.wait()


def registered_pages() -> list[tuple]:
    """The PAGES registry, read from app.py without running it."""
    import ast

    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PAGES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise RuntimeError("PAGES not found in app.py")


def run() -> list[dict]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    pages = registered_pages()

    out = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        db = _city_db(tmp)
        out.append({"name": "city demo build (2000 orgs, 100000 members)", "value": round(_city_db.seconds, 2), "unit": "s"})
        os.environ["DANGJIAN_DB"] = str(db)
        st.cache_resource.clear()
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.text_input(key="login_username").input("admin")
        at.text_input(key="login_password").input("dangjian-demo")
        at.button[0].click()
        at.run()
        for path, title, *_ in pages:
            if not (ROOT / path).exists():
                continue
            t0 = time.perf_counter()
            at.switch_page(path)
            at.run()
            first = time.perf_counter() - t0
            med = _median_rerun(at)
            bad = [e.value for e in at.exception]
            out.append({"name": f"page {title} first run", "value": round(first * 1000), "unit": "ms"})
            out.append({"name": f"page {title} rerun median", "value": round(med * 1000), "unit": "ms"
                        + (" (EXCEPTION)" if bad else "")})
            if path == "pages/orgs.py":
                orgs_med = med
        bare_file = tmp / "bare.py"
        bare_file.write_text(BARE)
        bare = AppTest.from_file(str(bare_file), default_timeout=60)
        bare.run()
        bare_med = _median_rerun(bare)
        out.append({"name": "bare page (orgs table only) rerun median", "value": round(bare_med * 1000), "unit": "ms"})
        out.append({"name": "orgs page / bare page", "value": round(orgs_med / bare_med, 2), "unit": "×"})
        # start times
        existing = tmp / "start.duckdb"
        shutil.copyfile(db, existing)
        out.append({"name": "app start to healthy (existing city database)", "value": round(_app_start(existing), 2), "unit": "s"})
        out.append({"name": "app start to healthy (new database, demo data created)",
                    "value": round(_app_start(tmp / "fresh.duckdb"), 2), "unit": "s"})
    return out


if __name__ == "__main__":
    for f in run():
        print(f"{f['name']}: {f['value']} {f['unit']}")
