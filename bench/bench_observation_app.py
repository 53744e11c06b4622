"""Benchmark: 观摩互进 database side and pages at city scale (30 streets, 2,000 orgs).

Measured in process on a city-scale registry (the sites seeder and this module's seeder only):
seeding 4 past rounds with plans and scores; creating an event with the default hosts (sites
and advanced orgs); solving and storing the plan; a hand edit saved through check_plan; the
观摩活动安排表 xlsx; the score sheet out and back in; the ranking with tier proposals; and the
AppTest runs of both pages (first run and cached rerun) as editor.
「生成安排」 is timed as the page does it (observation.jobs): the draft the click shows, then the
full search stored in the background.
`run()` returns [{"name", "value", "unit"}] for `bench/__main__.py`.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


def _city_db(path: Path):
    """City registry + sites + observation seeders (other workflow seeders skipped)."""
    from dangjian_core import demo
    from dangjian_core.db import Database

    db = Database(path)
    db.migrate()
    ctx = demo.build_demo(db, scale="city", subjects=("sites",))
    return db, ctx


def run() -> list[dict]:
    from dangjian_core import fileio
    from dangjian_core.auth import User
    from dangjian_core.observation import demo, exports, jobs, model, rules, scores, store

    editor = User("editor", "编辑", frozenset({"editor"}))
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        db, ctx = _city_db(Path(tmp) / "city.duckdb")
        t = time.perf_counter()
        with db.write() as cur:
            demo.seed_demo(cur, ctx)
        out.append({"name": "seed 4 rounds (plans + scores), city", "value": _ms(t), "unit": "ms"})
        t = time.perf_counter()
        eid = store.save_event(db, editor, name="基准交叉观摩", mode="cross", days=2, slots_per_day=3,
                           slot_times="08:30,10:00,14:30", previous_event_id=4)
        out.append({"name": "create event with default hosts", "value": _ms(t), "unit": "ms"})
        out.append({"name": "default hosts", "value": store.hosts(db, eid).height, "unit": "hosts"})
        t, c = time.perf_counter(), time.process_time()
        job = jobs.start_solve(db, editor, eid)  # 「生成安排」: the draft the click shows
        cpu = round((time.process_time() - c) * 1000)
        out.append({"name": "生成安排 click: draft shown (30 delegations x 6 visits)", "value": _ms(t),
                    "unit": f"ms (CPU {cpu} ms; {job.draft.summary['total_distance_km']:.0f} km)"})
        job.wait(120)
        out.append({"name": "生成安排: full search stored (background)", "value": _ms(t),
                    "unit": f"ms after the click ({job.state}; {job.summary['total_distance_km']:.0f} km)"})
        t = time.perf_counter()
        s = store.solve_event(db, editor, eid)
        out.append({"name": "solve + store plan, same input again", "value": _ms(t), "unit": "ms"})
        out.append({"name": "host load spread - bound", "value": s["host_load_gap"], "unit": "visits"})
        P = store.problem_for(db, eid)
        vs, _ = store.plan_visits(db, eid)
        t = time.perf_counter()
        store.save_plan(db, editor, eid, vs)
        out.append({"name": "hand edit saved (check_plan + replace)", "value": _ms(t), "unit": "ms"})
        t = time.perf_counter()
        data = exports.plan_xlsx(db, eid)
        out.append({"name": "观摩活动安排表 xlsx", "value": _ms(t), "unit": "ms"})
        out.append({"name": "观摩活动安排表 size", "value": round(len(data) / 1024, 1), "unit": "KB"})
        t = time.perf_counter()
        sheet = exports.score_sheet_xlsx(db, 4)
        out.append({"name": "score sheet xlsx (round 4)", "value": _ms(t), "unit": "ms"})
        fr = fileio.read_frame(data=sheet, name="s.xlsx", expected=model.SHEET_HEADER, sheet=model.SHEET)
        t = time.perf_counter()
        scores.save_scores(db, editor, 4, fr, commit=False)
        out.append({"name": "score sheet checked back in", "value": _ms(t), "unit": "ms"})
        t = time.perf_counter()
        p = scores.proposals(db, 4)
        out.append({"name": "ranking + tier proposals", "value": _ms(t), "unit": "ms"})
        out.append({"name": "hosts ranked", "value": int(p["score"].is_not_null().sum()), "unit": "hosts"})
        assert rules.check_plan(P, store.plan_visits(db, eid)[0]) == []
        db.close()
        out += _pages(Path(tmp) / "city.duckdb")
    return out


def _pages(path: Path) -> list[dict]:
    from streamlit.testing.v1 import AppTest

    os.environ["DANGJIAN_DB"] = str(path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.text_input(key="login_username").input("editor")
    at.text_input(key="login_password").input("dangjian-demo")
    at.button[0].click()
    at.run()
    out = []
    for page, label in (("pages/observation.py", "观摩安排"), ("pages/observation_scores.py", "观摩评分")):
        at.switch_page(page)
        t = time.perf_counter()
        at.run()
        out.append({"name": f"page {label}: first run", "value": _ms(t), "unit": "ms"})
        times = []
        for _ in range(5):
            t = time.perf_counter()
            at.run()
            times.append(_ms(t))
        out.append({"name": f"page {label}: rerun (median of 5)", "value": statistics.median(times), "unit": "ms"})
        assert not at.exception, [e.value for e in at.exception]
    return out


if __name__ == "__main__":
    for r in run():
        print(f"{r['name']:<50} {r['value']:>10} {r['unit']}")
