"""The site programme at city scale (2,000 orgs, 100,000 members, 300 site rounds, ~1,500
assessments with ~25,000 score lines), measured in process:

* seeding the site programme (set-based inserts) on top of the city registry;
* the core reads behind the two pages (list with due dates, checks, plan over the years,
  status over the years) and one assessment recorded and reverted;
* score sheet out (xlsx) and back in;
* AppTest page runs as admin: first run, median of 10 reruns (cached reads), and median of 5
  reruns right after a write elsewhere (cache invalidated: every read runs again), for each
  tab of 示范点 and 年度计划与考评, against a bare page that shows the same site list.

Only the sites seeder runs (the other modules' seeders do not touch these pages).
`run()` returns [{"name", "value", "unit"}] for `bench/__main__.py`.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from dangjian_core import clock

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BARE = '''
import os, duckdb, streamlit as st
con = duckdb.connect(os.environ["DANGJIAN_DB"])
st.dataframe(con.sql("SELECT s.*, o.name FROM sites s JOIN orgs o ON o.id = s.org_id ORDER BY s.id").pl(),
             hide_index=True)
con.close()
'''
SITE_TABS = ["概况与联系人", "记录考评", "考评记录", "创建档案", "结对"]
PLAN_TABS = ["计划与完成", "到期与逾期", "督查提醒", "考评细则", "简报图表"]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _timed(fn, *args, repeat: int = 5, **kwargs) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _build(path: Path) -> tuple[float, float, dict]:
    from dangjian_core import demo, sites
    from dangjian_core.db import Database

    db = Database(path)
    db.migrate()
    t0 = time.perf_counter()
    ctx = demo.build_demo(db, scale="city", subjects=())
    registry = time.perf_counter() - t0
    t0 = time.perf_counter()
    with db.write() as cur:
        sites.seed_demo(cur, ctx)
    seed = time.perf_counter() - t0
    with db.read() as cur:
        counts = {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("orgs", "sites", "site_assessments", "site_assessment_lines", "site_events",
                            "site_pairings")}
    db.close()
    return registry, seed, counts


def _core(path: Path, out: list) -> None:
    import polars as pl

    from dangjian_core.auth import User
    from dangjian_core.db import Database
    from dangjian_core.sites import sheets, store

    editor = User("editor", "编辑", frozenset({"editor"}))
    db = Database(path)
    today = clock.today()
    for name, fn in [("list_sites", lambda: store.list_sites(db)),
                     ("checks", lambda: store.checks(db)),
                     ("due_and_overdue", lambda: store.due_and_overdue(db)),
                     ("plan_years", lambda: store.plan_years(db)),
                     ("status_over_years", lambda: store.status_over_years(db)),
                     ("assessments (all)", lambda: store.assessments(db))]:
        t, _ = _timed(fn)
        out.append({"name": f"sites core {name}", "value": _ms(t), "unit": "ms"})
    site = store.list_sites(db).filter((pl.col("status") == "creating") & (pl.col("due_year") == today.year))
    if site.height:
        s = site.row(0, named=True)
        _, lines = store.rubric_for(db, today.year, s["category"])
        for ln in lines:
            if ln.kind == "score":
                ln.score = ln.max_points * Decimal("0.9")
        t0 = time.perf_counter()
        res = store.record_assessment(db, editor, s["id"], today.year, today, "考评组", "exemplary", lines)
        out.append({"name": "sites record_assessment (18 lines, audited)", "value": _ms(time.perf_counter() - t0),
                    "unit": "ms"})
        t0 = time.perf_counter()
        store.revert_assessment(db, editor, res["assessment_id"])
        out.append({"name": "sites revert_assessment (status restored)", "value": _ms(time.perf_counter() - t0),
                    "unit": "ms"})
        t, data = _timed(sheets.score_sheet_xlsx, db, s["id"], today.year)
        out.append({"name": "sites score sheet xlsx out", "value": _ms(t), "unit": "ms"})
        t, _ = _timed(sheets.read_score_sheet, db, s["id"], data, "sheet.xlsx")
        out.append({"name": "sites score sheet read back", "value": _ms(t), "unit": "ms"})
    db.close()


def _median_rerun(at, n: int, *, bump=None) -> float:
    times = []
    for _ in range(n):
        if bump:
            bump()
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _pages(path: Path, out: list) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["DANGJIAN_DB"] = str(path)
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.text_input(key="login_username").input("admin")
    at.text_input(key="login_password").input("dangjian-demo")
    at.button[0].click()
    at.run()
    from ui.session import get_db

    db = get_db()

    def bump():
        db.generation += 1  # what any committed write does: every cached read runs again

    for page, key, tabs, title in (("pages/sites.py", "site_tab", SITE_TABS, "示范点"),
                                   ("pages/site_plan.py", "sp_tab", PLAN_TABS, "年度计划与考评")):
        t0 = time.perf_counter()
        at.switch_page(page)
        at.run()
        out.append({"name": f"page {title} first run", "value": _ms(time.perf_counter() - t0), "unit": "ms"})
        for tab in tabs:
            at.session_state[key] = tab
            at.run()
            bad = [e.value for e in at.exception]
            warm = _median_rerun(at, 10)
            cold = _median_rerun(at, 5, bump=bump)
            flag = " (EXCEPTION)" if bad else ""
            out.append({"name": f"page {title} · {tab} rerun median", "value": _ms(warm), "unit": "ms" + flag})
            out.append({"name": f"page {title} · {tab} rerun after a write", "value": _ms(cold), "unit": "ms" + flag})
    bare_file = path.parent / "bare_sites.py"
    bare_file.write_text(BARE, encoding="utf-8")
    st.cache_resource.clear()  # the bare page opens the file itself
    bare = AppTest.from_file(str(bare_file), default_timeout=60)
    bare.run()
    out.append({"name": "bare page (site list only) rerun median", "value": _ms(_median_rerun(bare, 10)),
                "unit": "ms"})


def run() -> list[dict]:
    out: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench_sites_") as d:
        path = Path(d) / "city.duckdb"
        registry, seed, counts = _build(path)
        out.append({"name": "city registry build (2,000 orgs, 100,000 members)", "value": round(registry, 2),
                    "unit": "s"})
        out.append({"name": "sites seed_demo at city scale", "value": _ms(seed), "unit": "ms"})
        for t, n in counts.items():
            out.append({"name": f"rows in {t}", "value": n, "unit": "rows"})
        _core(path, out)
        _pages(path, out)
    return out


if __name__ == "__main__":
    for f in run():
        print(f"{f['name']}: {f['value']} {f['unit']}")
