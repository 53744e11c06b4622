"""The 观摩互进 instances of issue 16 (own instances of the same sizes), shared by
tests/observation/test_observation_travel.py (objectives 1–3 never worse than the solver before
the travel work) and bench/bench_observation.py (travel, bound, gap, time). They live with the
tests so that the suite never imports bench/; the benchmark imports them from here.

Geography as in the office's city: streets are clusters (~2 km across) scattered over ~30 km;
tiers mixed; every third org of a street is a demonstration site.
"""

from __future__ import annotations

import random

from dangjian_core.observation.inputs import build_problem
from dangjian_core.observation.model import Org


def city(n_streets: int, per_street: int, *, hosts_per_street: int | None = None, capacity: int = 1,
         seed: int = 20240601) -> list[Org]:
    """Streets as clusters (~2 km) scattered over ~30 km; with `hosts_per_street`, that many orgs
    of each street host (the rest observe)."""
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


def _drop_hosts(orgs: list[Org], n: int) -> list[Org]:
    """Make the last `n` hosts observers-only (an uneven number of hosts per street)."""
    out = list(orgs)
    idx = [i for i, o in enumerate(out) if o.host][-n:]
    for i in idx:
        o = out[i]
        out[i] = Org(o.org_id, o.name, o.street, o.tier, o.is_site, False, o.capacity, o.lat, o.lon)
    return out


def _with_previous(orgs: list[Org], mode: str, days: int, spd: int, seed: int = 99):
    """The previous round, independent of the solver: each delegation saw k random hosts of k
    different other streets, preferring the hosts nearest to its own street (as a travel-minded
    planner would), which are the pairs this round would like most."""
    P = build_problem(orgs, mode, days, spd)
    rng = random.Random(seed)
    pairs = []
    for d in P.delegations:
        own = [h for h in P.hosts if h.street == d.street and h.lat is not None] or P.hosts
        cx = sum(h.lat for h in own) / len(own)
        cy = sum(h.lon for h in own) / len(own)
        others = [h for h in P.hosts if h.street != d.street]
        others.sort(key=lambda h: (h.lat - cx) ** 2 + (h.lon - cy) ** 2 + rng.random() * 1e-4)
        seen: set[str] = set()
        for h in others:
            if h.street in seen:
                continue
            seen.add(h.street)
            pairs.append((d.id, h.org_id))
            if len(seen) == P.visits_per_delegation:
                break
    return build_problem(orgs, mode, days, spd, previous=pairs)


def _p(orgs, mode, days, spd):
    return lambda: build_problem(orgs(), mode, days, spd)


# name → (what the issue calls it, problem factory, city scale)
INSTANCES = {
    "small_cross_5x10": ("small cross 5 streets × 10 hosts, 3 slots",
                         _p(lambda: city(5, 2, hosts_per_street=2, seed=11), "cross", 1, 3), False),
    "medium_cross_10x49": ("medium cross 10 × 49, 3 slots",
                           _p(lambda: _drop_hosts(city(10, 5, hosts_per_street=5, seed=12), 1), "cross", 1, 3),
                           False),
    "medium_cross_10x49_prev": ("medium cross with previous round",
                                lambda: _with_previous(_drop_hosts(city(10, 5, hosts_per_street=5, seed=12), 1),
                                                       "cross", 1, 3), False),
    "district_15x8": ("district 15 × 8, 3 slots", _p(lambda: district_sites(15, 8, 2, seed=13), "district", 1, 3),
                      False),
    "city_cross_30x600": ("city cross 30 streets × 600 hosts, 2 days × 3 slots",
                          _p(lambda: city(30, 20, hosts_per_street=20), "cross", 2, 3), True),
    "city_cross_30x600_prev": ("city cross with previous round",
                               lambda: _with_previous(city(30, 20, hosts_per_street=20), "cross", 2, 3), True),
    "city_district_30x15": ("city district 30 × 15, 2 × 3",
                            _p(lambda: district_sites(30, 15, 2), "district", 2, 3), True),
    "city_internal_450x150": ("city internal 450 × 150",
                              _p(lambda: city(30, 20, hosts_per_street=5, capacity=3), "internal", 1, 3), True),
}

# objectives 1–3 (plan_cost[:7]) of the solver before the travel work (commit 6da5641; seeds 0 and 1 agree)
BEFORE = {  # (own street, Σ load², uncovered lagging, non-preferred, repeated pairs, street pairs, spread)
    "small_cross_5x10": (0, 25, 0, 2, 0, 0, 15),
    "medium_cross_10x49": (0, 30, 0, 2, 0, 0, 30),
    "medium_cross_10x49_prev": (0, 30, 0, 2, 0, 0, 30),
    "district_15x8": (0, 255, 0, 0, 0, 0, 45),
    "city_cross_30x600": (0, 180, 0, 0, 0, 0, 180),
    "city_cross_30x600_prev": (0, 180, 0, 0, 0, 0, 180),
    "city_district_30x15": (0, 2160, 0, 0, 0, 0, 180),
    "city_internal_450x150": (0, 12150, 0, 594, 0, 0, 0),
}
