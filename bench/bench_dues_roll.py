"""Benchmark of the dues roll in the database (a script, not a test).

    .venv/bin/python bench/bench_dues_roll.py

A fresh DuckDB file with 2,000 orgs and 100,000 members (in-process, the app's own code):

* `generate_roll` for 12 months at once (1.2 M roll rows, audited), then recomputing one
  month with nothing to change;
* the reads a page makes for a month (summary, per-org totals, one page of 100 rows);
* a bank return file for one month (100,000 rows) checked and committed;
* the back-calculation 100,000 members × 12 months, and the duty-report provider;
* the city demo seeder (100,000 members × 36 months) on a second file.

`run()` returns a list of {"name", "value", "unit"} for `bench/__main__.py`.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

MEMBERS = 100_000
ORGS = 2_000
MONTHS = [date(2025, m, 1) for m in range(1, 13)]
CATS = {"employed": 55, "retired": 25, "farmer": 6, "annual_salary": 3, "self_employed": 3, "student": 3,
        "unemployed": 2, "low_income": 1, "exempt": 1, "relief": 1}


def _registry(db, seed: int = 5) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    orgs = pl.DataFrame({
        "id": pl.int_range(1, ORGS + 1, dtype=pl.Int32, eager=True),
        "name": [f"测试第{i}党支部" for i in range(1, ORGS + 1)],
        "level": ["committee" if i % 50 == 1 else "branch" for i in range(1, ORGS + 1)],
        "parent_id": [None if i % 50 == 1 else (i - 1) // 50 * 50 + 1 for i in range(1, ORGS + 1)],
        "category": [rng.choice(["rural", "community", "organ", "enterprise"]) for _ in range(ORGS)],
        "street": [f"街道{(i - 1) // 50 + 1}" for i in range(1, ORGS + 1)],
    }, schema_overrides={"parent_id": pl.Int32})
    members = pl.DataFrame({
        "id": pl.int_range(1, MEMBERS + 1, dtype=pl.Int32, eager=True),
        "member_no": [f"B{i:06d}" for i in range(1, MEMBERS + 1)],
        "org_id": pl.Series([rng.randint(1, ORGS) for _ in range(MEMBERS)], dtype=pl.Int32),
        "dues_category": rng.choices(list(CATS), list(CATS.values()), k=MEMBERS),
        "id_number": [f"99{rng.randint(10**15, 10**16 - 1)}" for _ in range(MEMBERS)],
        "join_date": pl.Series([date(rng.randint(1980, 2025), rng.randint(1, 12), 1) for _ in range(MEMBERS)]),
    })
    with db.write() as cur:
        cur.register("b_orgs", orgs)
        cur.execute("INSERT INTO orgs(id, name, level, parent_id, category, street) SELECT * FROM b_orgs")
        cur.register("b_members", members)
        cur.execute("INSERT INTO members(id, member_no, name, org_id, dues_category, id_number, join_date)"
                    " SELECT id, member_no, '党员' || id, org_id, dues_category, id_number, join_date FROM b_members")
        cur.execute("SELECT setval('orgs_seq', ?)", [ORGS])
        cur.execute("SELECT setval('members_seq', ?)", [MEMBERS])
    return orgs, members


def run() -> list[dict]:
    from dangjian_core import demo, fileio
    from dangjian_core.auth import User
    from dangjian_core.db import Database
    from dangjian_core.dues import arrears, indicators, payments, payroll, roll
    from dangjian_core.dues import demo as dues_demo
    from dangjian_core.dues import exports as dues_exports
    from dangjian_core.dues import model as dues_model

    treasurer = User("bench", "bench", frozenset({"treasurer"}))
    results: list[dict] = []

    def rec(name, value, unit):
        results.append({"name": name, "value": round(value, 4) if isinstance(value, float) else value, "unit": unit})
        print(f"{name:<48} {value:>12.4f} {unit}" if isinstance(value, float) else f"{name:<48} {value} {unit}",
              flush=True)

    def timed(name, fn, *a, **k):
        t0 = time.perf_counter()
        out = fn(*a, **k)
        rec(name, time.perf_counter() - t0, "s")
        return out

    with tempfile.TemporaryDirectory(prefix="bench_dues_roll_") as tmp:
        db = Database(Path(tmp) / "roll.duckdb")
        db.migrate()
        orgs, members = _registry(db)
        based = members.filter(pl.col("dues_category").is_in(list(dues_model.BASE_CATEGORIES)))
        rng = random.Random(9)
        text = "党员编号,月份,计算基数\n" + "".join(
            f"{no},2025-01,{rng.randint(200000, 2000000) / 100:.2f}\n" for no in based["member_no"].to_list())
        frame = fileio.read_frame(data=text.encode(), name="bases.csv")
        timed("bases_import_70k_rows", payroll.import_bases, db, treasurer, frame, commit=True)

        res = timed("roll_generate_100k_x_12_months", roll.generate_roll, db, treasurer, months=MONTHS)
        rec("roll_generate_rows", res.inserted, "rows")
        timed("roll_recompute_one_month_unchanged", roll.generate_roll, db, treasurer, MONTHS[5], recompute=True)
        timed("roll_summary_one_month_city", roll.roll_summary, db, treasurer, MONTHS[5])
        timed("roll_by_org_one_month_city", roll.roll_by_org, db, treasurer, MONTHS[5])
        timed("roll_page_100_rows_city", roll.roll_page, db, treasurer, MONTHS[5], limit=100, offset=50_000)

        page, _ = roll.roll_page(db, treasurer, MONTHS[5], limit=MEMBERS)
        bank = page.filter(pl.col("due") > 0).select(
            pl.col("member_no").alias("党员编号"), pl.col("due").cast(pl.String).alias("扣款金额"),
            pl.lit("成功").alias("扣款状态"), pl.lit("2025-06-20").alias("扣款日期"))
        data = bank.write_csv().encode()
        bank_frame = fileio.read_frame(data=data, name="bank.csv")
        timed("bank_file_100k_check", payments.record_payments, db, treasurer, bank_frame, month=MONTHS[5],
              source="bank", today=date(2026, 1, 15))
        timed("bank_file_100k_commit", payments.record_payments, db, treasurer, bank_frame, month=MONTHS[5],
              source="bank", commit=True, today=date(2026, 1, 15))

        calc = timed("back_calculate_100k_x_12", arrears.back_calculate, db, treasurer, MONTHS[0], MONTHS[-1])
        rec("back_calculate_members_flagged", int((calc.members["warning"] == "flag").sum()), "members")
        with db.read() as cur:
            t0 = time.perf_counter()
            rates = indicators.collection_rate_by_org(cur, date(2025, 12, 31))
            rec("provider_collection_rate_12_months", time.perf_counter() - t0, "s")
        rec("provider_units", rates.height, "orgs")
        timed("roll_xlsx_one_month_city", dues_exports.roll_xlsx, db, treasurer, MONTHS[5])
        db.close()

        # the city demo seeder on its own (100,000 members × 36 months)
        db2 = Database(Path(tmp) / "seed.duckdb")
        db2.migrate()
        orgs2, members2 = _registry(db2)
        ctx = demo.DemoContext(rng=random.Random(1), scale="city", today=date(2026, 11, 23), streets=[],
                               orgs=orgs2.with_columns(pl.lit("standard").alias("tier")),
                               members=members2.select("id", "member_no", "org_id", "dues_category",
                                                       pl.lit("full").alias("status")))
        t0 = time.perf_counter()
        with db2.write() as cur:
            dues_demo.seed_demo(cur, ctx)
        rec("demo_seed_city_100k_x_36", time.perf_counter() - t0, "s")
        with db2.read() as cur:
            rec("demo_seed_city_roll_rows", cur.execute("SELECT count(*) FROM dues_roll").fetchone()[0], "rows")
        db2.close()
    return results


if __name__ == "__main__":
    run()
