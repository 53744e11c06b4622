"""Benchmark: 述职评议 picking for 2,000 units with 24 months of indicators.

Run: `.venv/bin/python bench/bench_reports.py`. `run()` returns the figures as
`[{"name", "value", "unit"}]` (best of several repeats, milliseconds) for a bench runner.
The target (domain: up to 2,000 grassroots organisations) is score + pick well under a second.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from dangjian_core.reports import rules  # noqa: E402

N_UNITS = 2_000
N_MONTHS = 24
N_REPORTS = 3_000
ON = dt.date(2024, 12, 20)
CAPACITY = 10
REPEATS = 5


def make_data(seed: int = 20240601) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Indicator history `[unit_id, indicator, month, value]` (2,000 × 6 × 24 rows, a few
    empty) and report history `[unit_id, date]`."""
    rng = random.Random(seed)
    months = [f"{2023 + m // 12}-{m % 12 + 1:02d}" for m in range(N_MONTHS)]
    rows: dict[str, list] = {"unit_id": [], "indicator": [], "month": [], "value": []}
    for u in range(N_UNITS):
        uid = f"U{u:05d}"
        for d in rules.DEFAULT_INDICATORS:
            level = rng.uniform(d.floor, d.target) if d.direction == "higher_better" else rng.uniform(0, d.floor)
            for m in months:
                v = None if rng.random() < 0.03 else round(max(0.0, level + rng.gauss(0, 5)), 1)
                if d.max_value is not None and v is not None:
                    v = min(v, d.max_value)
                rows["unit_id"].append(uid)
                rows["indicator"].append(d.code)
                rows["month"].append(m)
                rows["value"].append(v)
    values = pl.DataFrame(rows, schema={"unit_id": pl.String, "indicator": pl.String,
                                        "month": pl.String, "value": pl.Float64})
    history = pl.DataFrame(
        {"unit_id": [f"U{rng.randrange(N_UNITS):05d}" for _ in range(N_REPORTS)],
         "date": [dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(720)) for _ in range(N_REPORTS)]},
        schema={"unit_id": pl.String, "date": pl.Date})
    return values, history


def _best(fn, repeats: int = REPEATS) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000.0, result


def score_and_pick(values: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    latest = rules.latest_values(values, as_of="2024-12")
    contrib = rules.indicator_contributions(latest)
    units = rules.progress_from_contributions(contrib).with_columns(name=pl.col("unit_id"))
    return rules.pick_units(units.select("unit_id", "name", "progress"), history, ON, CAPACITY,
                            lagging=rules.lagging_reasons(contrib))


def run() -> list[dict]:
    values, history = make_data()
    figures: list[dict] = []

    ms, latest = _best(lambda: rules.latest_values(values, as_of="2024-12"))
    figures.append({"name": "reports.latest_values_288k_rows", "value": round(ms, 2), "unit": "ms"})
    ms, contrib = _best(lambda: rules.indicator_contributions(latest))
    figures.append({"name": "reports.indicator_contributions_2000_units", "value": round(ms, 2), "unit": "ms"})
    ms, _ = _best(lambda: rules.lagging_reasons(contrib))
    figures.append({"name": "reports.lagging_reasons_2000_units", "value": round(ms, 2), "unit": "ms"})
    units = rules.progress_from_contributions(contrib).with_columns(name=pl.col("unit_id"))
    lag = rules.lagging_reasons(contrib)
    ms, _ = _best(lambda: rules.pick_units(units.select("unit_id", "name", "progress"), history, ON,
                                           CAPACITY, lagging=lag))
    figures.append({"name": "reports.pick_units_2000_units", "value": round(ms, 2), "unit": "ms"})
    ms, picked = _best(lambda: score_and_pick(values, history))
    assert picked.height == CAPACITY
    figures.append({"name": "reports.score_and_pick_2000_units_24_months", "value": round(ms, 2), "unit": "ms"})

    # the CLI path in-process: a 2,000-row UNITS csv with indicator columns → csv output
    from dangjian_core.cli import main

    latest_wide = latest.pivot(on="indicator", index="unit_id", values="value").with_columns(
        name=pl.col("unit_id"))
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        latest_wide.write_csv(d / "units.csv")
        history.write_csv(d / "history.csv")
        argv = ["reports", "pick", "--units", str(d / "units.csv"), "--history", str(d / "history.csv"),
                "--date", ON.isoformat(), "--capacity", str(CAPACITY), str(d / "out.csv")]
        ms, rc = _best(lambda: main(argv), repeats=3)
        assert rc == 0
        with open(d / "out.csv", newline="", encoding="utf-8") as fh:
            assert sum(1 for _ in csv.reader(fh)) == CAPACITY + 1
    figures.append({"name": "reports.cli_pick_2000_units_csv", "value": round(ms, 2), "unit": "ms"})
    figures.append({"name": "reports.indicator_rows", "value": values.height, "unit": "rows"})
    return figures


if __name__ == "__main__":
    for f in run():
        print(f"{f['name']:<48} {f['value']:>12} {f['unit']}")
