"""Scale proof of the dues roll and back-calculation, and the 欠缴与补交 page's cached path
(a script, not a test).

    .venv/bin/python bench/bench_dues_scale.py [--sizes 1,10]

* **10 M member-months** (issue 17): a fresh database with members × 36 months of roll rows
  made by the app's own `generate_roll` (audited), then `back_calculate` over all 36 months,
  each size in its own child process so its peak memory (ru_maxrss) is its own: 1 M
  (27,778 members) and 10 M (277,778 members). Prints time and peak memory of both steps at
  both sizes and how they grow (10× the rows should cost about 10× the time: linear). Each
  step runs in its own child (the roll builds the file, the back-calculation opens it), so
  each peak is that step's own. Wall and CPU seconds (user + system, all threads: on a loaded
  machine wall time stretches with the load, CPU time much less) with the load averages, against
  the one-machine targets: 10 M within a few minutes (180 s) and a few GB (4 GiB), and 1 M → 10 M
  growth about linear (≤ 12× the CPU time, ≤ 10× the memory).
* **The page's path** at city scale (100,000 members × 12 months): the first period computed
  month by month (`month_rows`), a change of 截止月份 (one new month + assembly), and a payment
  (one month's fingerprint changes: one month recomputed), against `back_calculate` from
  scratch — the cost the page paid before on every period change.

`run()` returns a list of {"name", "value", "unit"} for `bench/__main__.py`.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.figures import figure, line, load_now, own_peak_mib  # noqa: E402

MONTHS = 36
SIZES_M = {1: 27_778, 10: 277_778}  # million member-months → members (× 36 months)


# the one-machine claim (issue 17): 10 M member-months within a few minutes and a few GB, growing
# about linearly from 1 M (10× the rows: ≤ ~12× the time, and no more memory than 10×)
TARGET_10M_S = 180.0
TARGET_10M_MIB = 4096.0
TARGET_GROWTH = 12.0


def _peak_mib() -> float:
    return own_peak_mib()  # VmHWM: ru_maxrss would start at the parent's size (bench/figures.py)


def _cpu_s() -> float:
    """CPU seconds of this process so far (user + system, all threads: DuckDB's and polars')."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _setup(db, members: int, orgs: int = 2_000) -> None:
    """Orgs, members and one base per member (set-based SQL, not what is measured)."""
    with db.write() as cur:
        cur.execute("INSERT INTO orgs(id, name, level, parent_id, category, street) SELECT i, '测试第' || i || '党支部',"
                    " CASE WHEN i % 50 = 1 THEN 'committee' ELSE 'branch' END,"
                    " CASE WHEN i % 50 = 1 THEN NULL ELSE (i - 1) // 50 * 50 + 1 END, 'community',"
                    " '街道' || ((i - 1) // 50 + 1) FROM range(1, ?) t(i)", [orgs + 1])
        cur.execute("INSERT INTO members(id, member_no, name, org_id, dues_category, join_date)"
                    " SELECT i, 'S' || lpad(CAST(i AS VARCHAR), 7, '0'), '党员' || i, 1 + (i * 7919) % ?,"
                    " CASE WHEN i % 20 < 12 THEN 'employed' WHEN i % 20 < 17 THEN 'retired'"
                    "      WHEN i % 20 < 18 THEN 'farmer' ELSE 'student' END, DATE '2000-01-01'"
                    " FROM range(1, ?) t(i)", [orgs, members + 1])
        cur.execute("INSERT INTO member_bases(member_id, month, base, source, updated_by)"
                    " SELECT i, DATE '2020-01-01', CAST(2000 + (i * 104729) % 18000 AS DECIMAL(18,2)), 'import', 'bench'"
                    " FROM range(1, ?) t(i)", [members + 1])
        cur.execute("SELECT setval('orgs_seq', ?)", [orgs])
        cur.execute("SELECT setval('members_seq', ?)", [members])


def child(mode: str, members: int, path: str) -> dict:
    """One step of one size in this process, so ru_maxrss is that step's own peak: "roll"
    builds the database at `path` and generates the roll; "back" opens it and back-calculates."""
    from dangjian_core.auth import User
    from dangjian_core.db import Database
    from dangjian_core.dues import arrears
    from dangjian_core.dues import roll as dues_roll
    from dangjian_core.dues import store as dues_store

    user = User("bench", "bench", frozenset({"treasurer"}))
    months = [dues_store.add_months(date(2023, 1, 1), i) for i in range(MONTHS)]
    db = Database(Path(path))
    out: dict = {}
    if mode == "roll":
        db.migrate()
        _setup(db, members)
        out["setup_peak_mib"] = _peak_mib()
        t0, c0 = time.perf_counter(), _cpu_s()
        res = dues_roll.generate_roll(db, user, months=months)
        out["roll_s"], out["roll_cpu_s"] = time.perf_counter() - t0, _cpu_s() - c0
        out["roll_rows"] = res.inserted
        out["roll_peak_mib"] = _peak_mib()
    else:
        t0, c0 = time.perf_counter(), _cpu_s()
        calc = arrears.back_calculate(db, user, months[0], months[-1])
        out["back_s"], out["back_cpu_s"] = time.perf_counter() - t0, _cpu_s() - c0
        out["back_members"] = calc.members.height
        out["back_peak_mib"] = _peak_mib()
    db.close()
    return out


def _page_path(rec) -> None:
    """The 欠缴与补交 page's cached path on 100,000 members × 12 months."""
    from dangjian_core.auth import User
    from dangjian_core.db import Database
    from dangjian_core.dues import arrears, payments
    from dangjian_core.dues import roll as dues_roll
    from dangjian_core.dues import store as dues_store

    user = User("bench", "bench", frozenset({"treasurer"}))
    months = [dues_store.add_months(date(2025, 1, 1), i) for i in range(13)]
    with tempfile.TemporaryDirectory(prefix="bench_dues_page_") as tmp:
        db = Database(Path(tmp) / "page.duckdb")
        db.migrate()
        _setup(db, 100_000)
        dues_roll.generate_roll(db, user, months=months)
        cache: dict = {}

        def period(start, end):
            ms = [m for m in dues_store.months_between(start, end)]
            fps = arrears.month_fingerprints(db, user, ms)
            need = [m for m in ms if (m, fps[m]) not in cache]
            for m, frame in arrears.months_rows(db, user, need).items():   # the missing months in one query
                cache[(m, fps[m])] = frame
            return arrears.back_calculate_rows(db, user, start, end, [cache[(m, fps[m])] for m in ms])

        t0 = time.perf_counter()
        arrears.back_calculate(db, user, months[0], months[11])
        scratch = time.perf_counter() - t0
        rec("arrears_page_from_scratch_100k_x_12", scratch, "s (what every period change cost before)")
        t0 = time.perf_counter()
        period(months[0], months[11])
        rec("arrears_page_first_period_100k_x_12", time.perf_counter() - t0, "s (once per input)")
        t0 = time.perf_counter()
        period(months[1], months[12])
        change = time.perf_counter() - t0
        rec("arrears_page_change_end_month", change, "s (one new month + assembly)")
        rec("arrears_page_change_end_month_vs_scratch", change / scratch, "x")
        roll, _ = dues_roll.roll_page(db, user, months[5], limit=1)
        r = roll.row(0, named=True)
        payments.save_roll_edits(db, user, [{"id": r["id"], "paid": str(r["due"]), "paid_on": "2025-06-10", "method": "cash",
                                       "version": r["version"]}], today=date(2025, 6, 30))
        t0 = time.perf_counter()
        period(months[1], months[12])
        rec("arrears_page_after_one_payment", time.perf_counter() - t0, "s (one month recomputed)")
        db.close()


def run(sizes=(1, 10)) -> list[dict]:
    results: list[dict] = []

    def rec(name, value, unit, **target):
        results.append(figure(name, round(value, 4) if isinstance(value, float) else value, unit, **target))
        print(line(results[-1]), file=sys.stderr, flush=True)

    got = {}
    for size in sizes:
        members = SIZES_M[size]
        g = got[size] = {}
        with tempfile.TemporaryDirectory(prefix="bench_dues_scale_") as tmp:
            for mode in ("roll", "back"):
                proc = subprocess.run([sys.executable, __file__, "--child", mode, str(members), str(Path(tmp) / "s.duckdb")],
                                      cwd=ROOT, capture_output=True, text=True,
                                      env={**os.environ, "PYTHONPATH": str(ROOT)})
                if proc.returncode != 0:
                    raise RuntimeError(proc.stderr[-2000:])
                g.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        big = size == 10  # the 10 M figures carry the one-machine targets
        names = {"roll": f"{size} M member-months: dues roll generated ({g['roll_rows']:,} roll rows, audited)",
                 "back": f"{size} M member-months: back-calculation ({g['back_members']:,} members × {MONTHS} months)"}
        for step in ("roll", "back"):
            cpu, mib = g[f"{step}_cpu_s"], g[f"{step}_peak_mib"]
            rec(f"{names[step]}, wall", g[f"{step}_s"], f"s (load {load})")
            rec(f"{names[step]}, CPU (user + system, all threads)", cpu, "s CPU",
                **(dict(target=f"≤ {TARGET_10M_S:.0f} s CPU（一台机器几分钟内）", ratio=cpu / TARGET_10M_S,
                        ratio_to=f"目标 {TARGET_10M_S:.0f} s", met=cpu <= TARGET_10M_S, load=load_now()) if big else {}))
            rec(f"{names[step]}, peak memory", mib, "MiB",
                **(dict(target=f"≤ {TARGET_10M_MIB:.0f} MiB（几 GB）", ratio=mib / TARGET_10M_MIB,
                        ratio_to=f"目标 {TARGET_10M_MIB:.0f} MiB", met=mib <= TARGET_10M_MIB) if big else {}))
    if 1 in got and 10 in got:
        for step, what in (("roll", "dues roll"), ("back", "back-calculation")):
            rec(f"{what}: wall growth 1 M → 10 M member-months", got[10][f"{step}_s"] / got[1][f"{step}_s"],
                "× (10× rows; linear ≈ 10)")
            growth = got[10][f"{step}_cpu_s"] / got[1][f"{step}_cpu_s"]
            rec(f"{what}: CPU growth 1 M → 10 M member-months", growth, "×", target=f"≤ {TARGET_GROWTH:.0f}×（线性约 10×）",
                ratio=growth / 10, ratio_to="线性 10×", met=growth <= TARGET_GROWTH)
            mem = got[10][f"{step}_peak_mib"] / got[1][f"{step}_peak_mib"]
            rec(f"{what}: peak memory growth 1 M → 10 M member-months", mem, "×", target="≤ 10×（内存不比行数涨得快）",
                ratio=mem / 10, ratio_to="行数 10×", met=mem <= 10)
    _page_path(rec)
    return results


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
    else:
        sizes = (1, 10)
        if len(sys.argv) == 3 and sys.argv[1] == "--sizes":
            sizes = tuple(int(x) for x in sys.argv[2].split(","))
        run(sizes)
