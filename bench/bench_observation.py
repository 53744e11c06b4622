"""Benchmark: the 观摩互进 solver (dangjian_core.observation.solver.solve) on the instances of issue 16
(tests/observation/instances.py): solve time, total travel, a proven travel lower bound and the
gap, and whether objectives 1–3 equal the solver's before the travel work.

Run: `.venv/bin/python bench/bench_observation.py` (or `make bench`). `run()` returns
`[{"name", "value", "unit"}]`. Targets: every instance within 5 % of the optimum; city scale
(30 streets) under 2 s.

The bound (dangjian_core/observation/bound.py) is the column-generation LP over day-routes
with the rows implied by "objectives 1–3 equal to this plan's"; the value printed is the
Lagrangian bound, proven at every iteration and equal to the LP optimum when column
generation converged ("LP converged" in the figure). Its time is not part of the solve time.
On a busy machine the solve's wall-clock budget buys less search: the CPU time and the load
average are printed too.
Environment: BENCH_OBS_BOUND_S (default 600) caps the bound's time per instance;
BENCH_OBS_ONLY=name,name limits the instances.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dangjian_core.observation.rules import check_plan, plan_cost  # noqa: E402
from dangjian_core.observation.solver import solve  # noqa: E402
from tests.observation.instances import BEFORE, INSTANCES  # noqa: E402

SEEDS = (0, 1)


def run() -> list[dict]:
    from dangjian_core.observation.bound import travel_bound

    cap = float(os.environ.get("BENCH_OBS_BOUND_S", "600"))
    only = [x for x in os.environ.get("BENCH_OBS_ONLY", "").split(",") if x]
    figures = []
    for name, (desc, make, _big) in INSTANCES.items():
        if only and name not in only:
            continue
        P = make()
        plans, times, cpus = [], [], []
        for seed in SEEDS:
            t, c = time.perf_counter(), time.process_time()
            plan = solve(P, seed=seed)
            times.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            assert check_plan(P, plan) == [], name
            plans.append(plan)
        best = plans[0]  # what the app gives (seed 0); the other seeds' travel in the unit text
        cost = plan_cost(P, best.visits)
        t = time.perf_counter()
        info = travel_bound(P, best.visits, time_limit=cap)
        bound_s = time.perf_counter() - t
        km = cost[7]
        figures.append({"name": f"observation_{name}_ms", "value": round(max(times) * 1000, 1),
                        "unit": f"ms (slowest of seeds {SEEDS}, CPU {max(cpus) * 1000:.0f} ms; {desc})"})
        figures.append({"name": f"observation_{name}_objectives_1_3",
                        "value": "equal" if cost[:7] == BEFORE[name] else
                        ("better" if cost[:7] < BEFORE[name] else f"WORSE {cost[:7]} vs {BEFORE[name]}"),
                        "unit": "vs before"})
        others = ", ".join(f"{p.summary['total_distance_km']:.1f}" for p in plans[1:])
        figures.append({"name": f"observation_{name}_travel_km", "value": round(km, 2),
                        "unit": f"km (seed 0; other seeds {others}; bound in the summary "
                                f"{best.summary['travel_bound_km']})"})
        if info is None:
            figures.append({"name": f"observation_{name}_bound_km", "value": None, "unit": "no bound"})
            continue
        bound = info["bound"]
        figures.append({"name": f"observation_{name}_bound_km", "value": round(bound, 2),
                        "unit": "km (proven; " + ("LP converged" if info["converged"] else "LP not converged")
                                + f", {info['columns']} routes, {bound_s:.0f} s)"})
        gap = (km / bound - 1) * 100 if bound > 0 else None
        if gap is not None:
            gap = 0.0 if abs(gap) < 0.05 else round(gap, 1)  # never print -0.0
        figures.append({"name": f"observation_{name}_gap", "value": gap, "unit": "% above the bound"})
    if hasattr(os, "getloadavg"):  # a busy machine leaves the travel search less CPU within its time
        figures.append({"name": "observation_load_average_1min", "value": round(os.getloadavg()[0], 1),
                        "unit": f"({os.cpu_count()} cores)"})
    return figures


if __name__ == "__main__":
    for f in run():
        print(f"{f['name']}: {f['value']} {f['unit']}", flush=True)
