"""Benchmark: the 观摩互进 solver (dangjian_core.observation.solve).

Run: `.venv/bin/python bench/bench_observation.py`. `run()` returns the figures as
`[{"name", "value", "unit"}]`: solve time (best of several repeats, milliseconds, including
the summary) and, for each case, the host-load spread against its proven bound and the total
route length. Targets: cross 30 streets × 20 hosts, 2 days × 3 slots under 2 s; district
30 delegations × 15 sites "instantly".
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dangjian_core.observation import Org, build_problem, check_plan, solve  # noqa: E402

REPEATS = 3


def city(n_streets: int, per_street: int, *, hosts_per_street: int | None = None, capacity: int = 1,
         seed: int = 20240601) -> list[Org]:
    """Streets as clusters (~2 km) scattered over ~30 km; tiers mixed; with
    `hosts_per_street`, that many orgs of each street host (the rest observe)."""
    rng = random.Random(seed)
    orgs = []
    for s in range(n_streets):
        cx, cy = 30.0 + rng.random() * 0.3, 120.0 + rng.random() * 0.3
        for j in range(per_street):
            tier = rng.choice(["advanced", "standard", "standard", "lagging"])
            host = None if hosts_per_street is None else j < hosts_per_street
            orgs.append(Org(f"S{s:02d}O{j:02d}", f"单位{s}-{j}", f"街道{s:02d}", tier, j % 3 == 0, host, capacity,
                            cx + rng.random() * 0.02, cy + rng.random() * 0.02))
    return orgs


def district_sites(n_streets: int, n_sites: int, capacity: int, seed: int = 7) -> list[Org]:
    orgs = city(n_streets, 3, hosts_per_street=0, seed=seed)
    rng = random.Random(seed)
    chosen = set(rng.sample(range(len(orgs)), n_sites))
    return [Org(o.org_id, o.name, o.street, o.tier, i in chosen, i in chosen, capacity, o.lat, o.lon)
            for i, o in enumerate(orgs)]


CASES = [
    # name, orgs, mode, days, slots per day
    ("cross_10x10_1x3", lambda: city(10, 10, hosts_per_street=10), "cross", 1, 3),
    ("cross_20x15_2x3", lambda: city(20, 15, hosts_per_street=15), "cross", 2, 3),
    ("cross_30x20_2x3", lambda: city(30, 20, hosts_per_street=20), "cross", 2, 3),
    ("district_30x15_1x3", lambda: district_sites(30, 15, 2), "district", 1, 3),
    ("district_30x15_2x3", lambda: district_sites(30, 15, 2), "district", 2, 3),
    ("internal_30x20_1x3", lambda: city(30, 20, hosts_per_street=5, capacity=3), "internal", 1, 3),
]


def run() -> list[dict]:
    figures = []
    for name, make, mode, days, spd in CASES:
        problem = build_problem(make(), mode, days, spd)
        best = float("inf")
        plan = None
        for r in range(REPEATS):
            t = time.perf_counter()
            plan = solve(problem, seed=r)
            best = min(best, time.perf_counter() - t)
        assert plan is not None and check_plan(problem, plan) == [], name
        s = plan.summary
        figures.append({"name": f"observation_{name}_ms", "value": round(best * 1000, 1), "unit": "ms"})
        figures.append({"name": f"observation_{name}_load_spread",
                        "value": f"{s['host_load_spread']} (bound {s['host_load_spread_bound']})", "unit": ""})
        figures.append({"name": f"observation_{name}_route_km", "value": s["total_distance_km"], "unit": "km"})
    return figures


if __name__ == "__main__":
    for f in run():
        print(f"{f['name']}: {f['value']} {f['unit']}")
