"""Benchmark: 述职评议 in the app path at city scale (2,000 orgs; 24 sessions over four
years; entered indicators for every month since — more than the 24 months of the budget).

`bench_reports.py` times the pure rules; this one times what a user waits for: the score
and ranking read from the database (providers included), 生成建议名单 and 发布 through the
audited write path, the overdue board, the effect, a monthly indicator import, and the
pages themselves in AppTest (first run and median rerun, and the click on 生成建议名单).
Budget (issue #5): picking for 2,000 units well under a second.

Run: `.venv/bin/python bench/bench_reports_app.py`; `run()` returns [{"name", "value", "unit"}].
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from dangjian_core import clock

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 5


def _best(fn, repeats: int = REPEATS):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return round(best * 1000, 1), out


def _ms(name: str, value, unit: str = "ms") -> dict:
    return {"name": f"reports_app.{name}", "value": value, "unit": unit}


def _city(tmp: Path) -> tuple[Path, float, float]:
    from dangjian_core import demo, reports
    from dangjian_core.db import Database

    seeded = {}
    orig = reports.seed_demo

    def timed(cur, ctx):
        t0 = time.perf_counter()
        orig(cur, ctx)
        seeded["s"] = time.perf_counter() - t0

    path = tmp / "city.duckdb"
    db = Database(path)
    db.migrate()
    reports.seed_demo = timed
    try:
        t0 = time.perf_counter()
        demo.build_demo(db, scale="city")
        total = time.perf_counter() - t0
    finally:
        reports.seed_demo = orig
    db.close()
    return path, total, seeded.get("s", float("nan"))


def core_figures(path: Path) -> list[dict]:
    from dangjian_core import fileio
    from dangjian_core.auth import SYSTEM
    from dangjian_core.db import Database
    from dangjian_core.reports import effect, indicators, picks, rectifications, sessions

    out = []
    db = Database(path)
    try:
        with db.read() as cur:
            n_units = cur.execute("SELECT count(*) FROM orgs").fetchone()[0]
            n_values = cur.execute("SELECT count(*) FROM report_indicator_values").fetchone()[0]
            months = cur.execute("SELECT count(DISTINCT period) FROM report_indicator_values").fetchone()[0]
            n_items = cur.execute("SELECT count(*) FROM rectification_items").fetchone()[0]
        out += [_ms("units", n_units, "orgs"), _ms("indicator_value_rows", n_values, "rows"),
                _ms("indicator_months", months, "months"), _ms("rectification_items", n_items, "items")]
        draft = sessions.sessions(db).filter(pl.col("status") == "draft")
        if draft.height == 0:
            sessions.create_year(db, SYSTEM, clock.today().year + 1)
            draft = sessions.sessions(db).filter(pl.col("status") == "draft")
        sid = draft["id"][0]
        ms, sc = _best(lambda: indicators.scores(db))
        out.append(_ms("scores_2000_units_from_db", ms))
        ms, rk = _best(lambda: picks.ranking(db, sid))
        assert rk.ranked.height == sc.table.filter(pl.col("progress").is_not_null()).height
        out.append(_ms("ranking_all_units_with_reasons", ms))
        ms, res = _best(lambda: picks.draft_picks(db, SYSTEM, sid), repeats=3)
        out.append(_ms("draft_picks_write_path_audited", ms))
        p = picks.picks(db, sid)
        picks.lock_pick(db, SYSTEM, p["id"][0], True)
        t0 = time.perf_counter()
        picks.swap_pick(db, SYSTEM, p["id"][1], rk.ranked["unit_id"][-1], "基准测试调换")
        out.append(_ms("swap_pick", round((time.perf_counter() - t0) * 1000, 1)))
        ms, _ = _best(lambda: rectifications.board(db), repeats=3)
        out.append(_ms("overdue_board", ms))
        ms, _ = _best(lambda: (effect.effect(db), effect.effect_by_session(db)), repeats=3)
        out.append(_ms("effect_all_sessions", ms))
        # a month of entered values for every unit (wide file: 2 indicators × 2,000 units)
        units = sc.table.select("name")
        wide = units.with_columns(pl.lit("61").alias("10件实事进度"), pl.lit("72.5").alias("三会一课完成率"))
        frame = fileio.Frame(wide.rename({"name": "单位"}), "月报.xlsx")
        nxt = clock.today().replace(day=1)
        period = f"{nxt.year + (nxt.month == 12)}-{nxt.month % 12 + 1:02d}"
        t0 = time.perf_counter()
        pv = indicators.import_indicator_values(db, SYSTEM, frame, period=period)
        out.append(_ms("import_month_4000_values_dry_run", round((time.perf_counter() - t0) * 1000, 1)))
        assert pv.ok, pv.errors[:3]
        t0 = time.perf_counter()
        indicators.import_indicator_values(db, SYSTEM, frame, period=period, commit=True)
        out.append(_ms("import_month_4000_values_commit", round((time.perf_counter() - t0) * 1000, 1)))
        t0 = time.perf_counter()
        pub = picks.publish(db, SYSTEM, sid)
        out.append(_ms("publish_with_2000_score_snapshot", round((time.perf_counter() - t0) * 1000, 1)))
        assert pub.scored > 0
    finally:
        db.close()
    return out


def _median_rerun(at, n: int = 7) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000)


def page_figures(path: Path) -> list[dict]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    out = []
    os.environ["DANGJIAN_DB"] = str(path)
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.text_input(key="login_username").input("editor")
    at.text_input(key="login_password").input("dangjian-demo")
    at.button[0].click()
    at.run()
    for page, key, sections in (("pages/reports.py", "rp_section", ["场次安排", "选定述职单位", "测评结果", "进度分与指标", "述职效果"]),
                                ("pages/rectifications.py", "rc_section", ["逾期看板", "整改事项", "打印通知单"])):
        at.switch_page(page)
        at.run()
        for sec in sections:
            at.radio(key=key).set_value(sec)
            t0 = time.perf_counter()
            at.run()
            first = round((time.perf_counter() - t0) * 1000)
            bad = [e.value for e in at.exception]
            tag = " (EXCEPTION)" if bad else ""
            out.append(_ms(f"page {page.split('/')[1]} {sec} first run", first, "ms" + tag))
            out.append(_ms(f"page {page.split('/')[1]} {sec} rerun median", _median_rerun(at), "ms" + tag))
            if sec == "选定述职单位":
                label = next((b.label for b in at.button if b.label.startswith(("生成建议名单", "重新生成"))), None)
                if label:
                    next(b for b in at.button if b.label == label).click()
                    t0 = time.perf_counter()
                    at.run()  # the click's run: draft_picks, then st.rerun() draws the new list
                    out.append(_ms("page click 生成建议名单 (write + redraw)", round((time.perf_counter() - t0) * 1000)))
    return out


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path, total, seed = _city(tmp)
        out = [_ms("city_demo_build_total", round(total, 2), "s"), _ms("reports_seed_demo_city", round(seed, 2), "s")]
        core_db = tmp / "core.duckdb"
        shutil.copyfile(path, core_db)
        out += core_figures(core_db)
        out += page_figures(path)
    return out


if __name__ == "__main__":
    for f in run():
        print(f"{f['name']:<62} {f['value']:>10} {f['unit']}")
