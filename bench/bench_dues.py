"""Benchmark of the dues engine (a script, not a test).

    .venv/bin/python bench/bench_dues.py

* `dues calc` end to end (a real subprocess: interpreter start, imports, read, validate,
  compute, write) over a 1,000,000-member parquet file, against a plain DuckDB `CASE` query
  doing the same arithmetic over the same file and writing the same columns to parquet, also
  as a subprocess (its own interpreter start and `import duckdb` included), interleaved, the
  median of 5 each: wall and CPU seconds (user + system, all threads: steadier than wall on a
  loaded machine) with the load averages. Peak memory of each child comes from `os.wait4`
  (ru_maxrss of that child only). Again with the ids shuffled (no sorted order to prove them
  unique with: a hash count of distinct ids).
* In process: `calc_dues_frame` on the same million rows, and `compute_arrears` for 100,000
  members × 36 months (text columns, as a csv import gives them), also by the dated rules and
  with amounts fixed for the year.

The CLI takes `dues.sql.try_calc_parquet` for this file (parquet in, parquet out, plain types):
DuckDB alone, no polars import. Target (issue 17): ≤ 1.5× the floor, printed with the ratio.

`run()` returns a list of {"name", "value", "unit"} for `bench/__main__.py`.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from bench.figures import figure, line, load_now  # noqa: E402

N_MEMBERS = 1_000_000
ARREARS_MEMBERS = 100_000
ARREARS_MONTHS = 36

CATEGORY_WEIGHTS = {
    "employed": 55, "annual_salary": 3, "self_employed": 2, "retired": 25, "farmer": 6,
    "student": 3, "unemployed": 2, "relief": 1, "low_income": 1, "exempt": 1, "reduced": 1,
}

DUCKDB_SQL = """
COPY (
  WITH t AS (
    SELECT member_id, category, CAST(base_income AS DECIMAL(18,2)) AS b,
           CAST(fixed_amount AS DECIMAL(18,2)) AS f
    FROM read_parquet('{src}')
  ), r AS (
    SELECT member_id, category, b, f,
      CASE WHEN category IN ('employed','annual_salary','self_employed') THEN
             CASE WHEN b <= 3000 THEN 0.005 WHEN b <= 5000 THEN 0.010
                  WHEN b <= 10000 THEN 0.015 ELSE 0.020 END
           WHEN category = 'retired' THEN CASE WHEN b <= 5000 THEN 0.005 ELSE 0.010 END
      END AS rate
    FROM t
  ), d AS (
    SELECT member_id, category, rate,
      CASE WHEN rate IS NOT NULL THEN ROUND(b * rate, 2)
           WHEN category = 'farmer' THEN COALESCE(f, 0.20)
           WHEN category IN ('student','unemployed','relief','low_income') THEN 0.20
           WHEN category IN ('exempt','suspended') THEN 0.00
           WHEN category = 'reduced' THEN f END AS raw
    FROM r
  )
  SELECT member_id,
         CAST(CAST(LEAST(raw, 1000.00) AS DECIMAL(18,2)) AS VARCHAR) AS dues,
         CASE rate WHEN 0.005 THEN '0.005' WHEN 0.010 THEN '0.01' WHEN 0.015 THEN '0.015'
                   WHEN 0.020 THEN '0.02' END AS rate,
         CASE WHEN category IN ('employed','annual_salary','self_employed') THEN
                'bracket_' || CASE rate WHEN 0.005 THEN '0.5' WHEN 0.010 THEN '1'
                                        WHEN 0.015 THEN '1.5' ELSE '2' END
              WHEN category = 'retired' THEN
                'retired_' || CASE rate WHEN 0.005 THEN '0.5' ELSE '1' END
              WHEN category = 'farmer' THEN 'fixed_farmer'
              WHEN category IN ('student','unemployed','relief','low_income') THEN 'fixed_0.20'
              ELSE category END
         || CASE WHEN raw > 1000 THEN '_capped' ELSE '' END AS rule
  FROM d
) TO '{dst}' (FORMAT parquet)
"""


def make_members(n: int, seed: int = 7) -> pl.DataFrame:
    rng = random.Random(seed)
    cats = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()), k=n)
    base_fen = [rng.randint(0, 2_500_000) if rng.random() < 0.98 else rng.randint(0, 8_000_000)
                for _ in range(n)]
    fixed = [None] * n
    for i, c in enumerate(cats):
        if c == "farmer":
            fixed[i] = rng.choice([None, 20, 50, 100])
        elif c == "reduced":
            fixed[i] = rng.randint(1, 2000)
    base = pl.Series("base_fen", base_fen, dtype=pl.Int64)
    fx = pl.Series("fixed_fen", fixed, dtype=pl.Int64)
    return pl.DataFrame({
        "member_id": [f"M{i:08d}" for i in range(n)],
        "category": cats,
    }).with_columns(
        base_income=(base.cast(pl.Decimal(18, 2)) / 100).cast(pl.Decimal(12, 2)),
        fixed_amount=(fx.cast(pl.Decimal(18, 2)) / 100).cast(pl.Decimal(12, 2)),
    )


def _run_child(cmd: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds — user + system, all threads —, peak RSS MiB) of that child alone."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _median(cmd: list[str], repeat: int) -> float:
    return statistics.median(_run_child(cmd)[0] for _ in range(repeat))


def load_average() -> str:
    """`uptime`'s load averages (1, 5, 15 min): on a busy machine wall times stretch, CPU times less."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def make_arrears(members: int, months: int, seed: int = 11) -> pl.DataFrame:
    """Text columns, as a csv import gives them; some unpaid streaks."""
    rng = random.Random(seed)
    n = members * months
    cats = rng.choices(["employed", "retired", "student", "farmer"], weights=[6, 3, 1, 1], k=members)
    base = [rng.randint(100_000, 1_500_000) for _ in range(members)]
    midx = pl.int_range(0, n, eager=True) % months + (2022 * 12)
    mem = pl.int_range(0, n, eager=True) // months
    paid_r = pl.Series([rng.random() for _ in range(n)])
    base_text = (pl.Series(base, dtype=pl.Int64).cast(pl.Decimal(18, 2)) / 100).cast(pl.String)
    return pl.DataFrame({
        "member_id": ("A" + mem.cast(pl.String)),
        "month": (midx // 12).cast(pl.String) + "-" + (midx % 12 + 1).cast(pl.String).str.zfill(2),
        "category": pl.Series(cats).gather(mem),
        "base_income": base_text.gather(mem),
        "paid": pl.select(pl.when(paid_r < 0.15).then(pl.lit("0")).otherwise(pl.lit("200.00"))).to_series(),
    })


def run(*, repeat: int = 5, n: int = N_MEMBERS) -> list[dict]:
    from dangjian_core.dues import arrears_rules
    from dangjian_core.dues import engine as dues_engine
    from dangjian_core.dues import model as dues_model
    from dangjian_core.dues import rules as dues_rules

    results: list[dict] = []

    def rec(name, value, unit, **target):
        results.append(figure(name, round(value, 4), unit, **target))
        print(line(results[-1]), file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="bench_dues_") as tmp:
        tmp = Path(tmp)
        src = tmp / "members.parquet"
        df = make_members(n)
        df.write_parquet(src)
        py = sys.executable

        cli_out = tmp / "cli_out.parquet"
        db_out = tmp / "duckdb_out.parquet"
        sql = DUCKDB_SQL.format(src=src, dst=db_out)
        cli_cmd = [py, "-m", "dangjian_core", "dues", "calc", str(src), str(cli_out)]
        db_cmd = [py, "-c", f"import duckdb; duckdb.connect().execute({sql!r})"]
        cli_runs, db_runs = [], []
        for _ in range(repeat):  # interleaved, median of `repeat`: other load hits both alike
            cli_runs.append(_run_child(cli_cmd))
            db_runs.append(_run_child(db_cmd))
        load = load_average()
        cli_wall, cli_cpu = (statistics.median(r[i] for r in cli_runs) for i in (0, 1))
        db_wall, db_cpu = (statistics.median(r[i] for r in db_runs) for i in (0, 1))
        cli_mem, db_mem = max(r[2] for r in cli_runs), max(r[2] for r in db_runs)
        rec("dues_calc_cli_1m_wall", cli_wall, f"s (median of {repeat}; load {load})")
        rec("dues_calc_cli_1m_cpu", cli_cpu, "s (user + system, all threads)")
        rec("dues_calc_cli_1m_peak_rss", cli_mem, "MiB")
        rec("duckdb_case_1m_wall", db_wall, f"s (median of {repeat}, interleaved with the CLI)")
        rec("duckdb_case_1m_cpu", db_cpu, "s")
        rec("duckdb_case_1m_peak_rss", db_mem, "MiB")
        rec("dues calc 1 M members, parquet → parquet, whole process (wall)", cli_wall, "s",
            target="≤ 1.5× DuckDB 下限", ratio=cli_wall / db_wall, ratio_to=f"DuckDB COPY 下限 {db_wall:.2f} s",
            met=cli_wall / db_wall <= 1.5, load=load_now())
        rec("dues calc 1 M members, parquet → parquet, whole process (CPU)", cli_cpu, "s CPU",
            target="≤ 1.5× DuckDB 下限（CPU，负载下更稳）", ratio=cli_cpu / db_cpu,
            ratio_to=f"DuckDB COPY 下限 {db_cpu:.2f} s CPU", met=cli_cpu / db_cpu <= 1.5)

        # the two outputs agree row for row
        a = pl.read_parquet(cli_out)
        b = pl.read_parquet(db_out)
        same = a.equals(b.select(a.columns))
        rec("dues_calc_cli_equals_duckdb", 1.0 if same else 0.0, "bool", target="与下限的输出逐行相同", met=same)

        # the same members with their ids in no sorted order: uniqueness then costs a hash
        # count of distinct ids (sorted ids are proven unique by comparing neighbours)
        shuffled = tmp / "members_shuffled.parquet"
        df.sample(fraction=1.0, shuffle=True, seed=3).write_parquet(shuffled)
        un_cmd = [py, "-m", "dangjian_core", "dues", "calc", str(shuffled), str(tmp / "cli_shuffled.parquet")]
        un_sql = DUCKDB_SQL.format(src=shuffled, dst=tmp / "duckdb_shuffled.parquet")
        un_db_cmd = [py, "-c", f"import duckdb; duckdb.connect().execute({un_sql!r})"]
        un_runs, un_db_runs = [], []
        for _ in range(repeat):
            un_runs.append(_run_child(un_cmd))
            un_db_runs.append(_run_child(un_db_cmd))
        un_wall, un_db_wall = (statistics.median(r[0] for r in runs) for runs in (un_runs, un_db_runs))
        rec("dues_calc_cli_1m_unsorted_ids_wall", un_wall, f"s (median of {repeat}; load {load_average()})")
        rec("duckdb_case_1m_unsorted_ids_wall", un_db_wall, "s")
        rec("dues calc 1 M members, ids not sorted (wall)", un_wall, "s", target="≤ 1.5× DuckDB 下限",
            ratio=un_wall / un_db_wall, ratio_to=f"DuckDB COPY 下限 {un_db_wall:.2f} s", met=un_wall / un_db_wall <= 1.5,
            load=load_now())

        # fixed costs before any work: the interpreter with polars, and the CLI's own start
        # (argparse builds every command group, importing their modules)
        rec("python_import_polars_wall", _median([py, "-c", "import polars"], repeat), "s")
        rec("dues_cli_startup_help_wall", _median([py, "-m", "dangjian_core", "dues", "calc", "--help"], repeat), "s")
        rec("python_import_duckdb_wall", _median([py, "-c", "import duckdb"], repeat), "s")

        t0 = time.perf_counter()
        res = dues_engine.calc_dues_frame(df)
        dues_engine.format_dues(res)
        rec("dues_calc_frame_1m_in_process", time.perf_counter() - t0, "s")

        text_df = df.with_columns(pl.col("base_income").cast(pl.String), pl.col("fixed_amount").cast(pl.String))
        t0 = time.perf_counter()
        dues_engine.calc_dues_frame(text_df)
        rec("dues_calc_frame_1m_text_in_process", time.perf_counter() - t0, "s")

        # scalar path for reference (10,000 rows, scaled)
        sample = df.head(10_000).rows()
        t0 = time.perf_counter()
        for _, c, b_, f in sample:
            dues_rules.calc_dues(c, b_, f)
        rec("dues_calc_scalar_per_1m_estimated", (time.perf_counter() - t0) * (1_000_000 / len(sample)), "s")

    arr = make_arrears(ARREARS_MEMBERS, ARREARS_MONTHS)
    t0 = time.perf_counter()
    out = arrears_rules.compute_arrears(arr)
    rec("arrears_100k_x_36_in_process", time.perf_counter() - t0, "s")
    rec("arrears_100k_x_36_flagged_members", float(out["flag_six_months"].sum()), "members")
    t0 = time.perf_counter()
    arrears_rules.compute_arrears(arr, rules=dues_model.BUILTIN_RULES)
    rec("arrears_100k_x_36_dated_rules_in_process", time.perf_counter() - t0, "s")
    t0 = time.perf_counter()
    arrears_rules.compute_arrears(arr, rules=dues_model.BUILTIN_RULES, amount_mode="fixed_for_year")
    rec("arrears_100k_x_36_fixed_for_year_in_process", time.perf_counter() - t0, "s")
    return results


if __name__ == "__main__":
    run()
