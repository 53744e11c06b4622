"""Travel in 观摩 arrangements (issue 16 §1): the travel search and the exact pass never trade
objectives 1–3 for travel, and the travel lower bound is a real bound.

Objective values below are the solver's before the travel work (commit 6da5641, seeds 0 and 1
agree), on the issue's instances (tests/observation/instances.py). Times and travel figures are
in bench/bench_observation.py, not here."""

from __future__ import annotations

import itertools

import pytest

from dangjian_core.observation.bound import travel_bound
from dangjian_core.observation.model import Delegation, Host, Problem, Visit
from dangjian_core.observation.rules import check_plan, plan_cost, route_length_km, summary_text
from dangjian_core.observation.solver import solve
from tests.observation.instances import BEFORE, INSTANCES


@pytest.mark.parametrize("name", list(INSTANCES))
def test_objectives_1_to_3_never_worse_than_before(name):
    P = INSTANCES[name][1]()
    plan = solve(P, time_limit=0.5)
    assert check_plan(P, plan) == []
    assert plan_cost(P, plan.visits)[:7] <= BEFORE[name]


def test_exact_pass_keeps_objectives_and_reaches_its_bound():
    P = INSTANCES["district_15x8"][1]()
    quick = solve(P, time_limit=0.5)
    best = solve(P, time_limit=30, exact=True)
    assert check_plan(P, best) == []
    assert plan_cost(P, best.visits)[:7] <= plan_cost(P, quick.visits)[:7] <= BEFORE["district_15x8"]
    s = best.summary
    assert s["travel_bound_km"] is not None
    assert s["travel_bound_km"] <= s["total_distance_km"] + 1e-6
    assert s["total_distance_km"] <= quick.summary["total_distance_km"] + 1e-6
    assert "公里（可证下界" in s["text"]


def _tiny():
    """3 streets × 2 hosts, cross, 1 day × 2 slots: small enough to enumerate every plan."""
    coords = {"a1": (30.00, 120.00), "a2": (30.05, 120.01), "b1": (30.01, 120.00), "b2": (30.10, 120.10),
              "c1": (30.02, 120.03), "c2": (30.00, 120.08)}
    hosts = [Host(h, h, h[0].upper(), "advanced" if h.endswith("1") else "standard", False, 1, *coords[h])
             for h in sorted(coords)]
    dels = [Delegation(s, s, s == "B") for s in "ABC"]
    return Problem("cross", hosts, dels, 1, 2, 2)


def _all_plans(P):
    """Every valid plan (all hosts capacity 1, so a plan is each delegation's ordered pair)."""
    ids = {d.id: [h.org_id for h in P.hosts if h.street != d.street] for d in P.delegations}
    per = [[(d, a, b) for a, b in itertools.permutations(ids[d], 2)] for d in ids]
    for combo in itertools.product(*per):
        vs = [Visit(1, 1, d, a) for d, a, _ in combo] + [Visit(1, 2, d, b) for d, _, b in combo]
        if not check_plan(P, vs):
            yield vs


def test_travel_bound_is_below_every_plan_with_the_same_objectives():
    P = _tiny()
    plans = list(_all_plans(P))
    assert plans
    best_key = min(plan_cost(P, vs)[:7] for vs in plans)
    best_km = min(route_length_km(P, vs) for vs in plans if plan_cost(P, vs)[:7] == best_key)
    worst_km = max(route_length_km(P, vs) for vs in plans if plan_cost(P, vs)[:7] == best_key)
    assert worst_km > best_km + 1  # the instance has something to optimise
    same = [vs for vs in plans if plan_cost(P, vs)[:7] == best_key]
    for vs in same[:: max(1, len(same) // 4)]:  # the bound depends on the plan only through its objectives
        info = travel_bound(P, vs)
        assert info["converged"] and info["bound"] <= best_km + 1e-6
    plan = solve(P)  # small: the exact pass runs by default
    assert plan_cost(P, plan.visits)[:7] == best_key
    assert plan.summary["total_distance_km"] == pytest.approx(best_km, abs=0.01)
    assert plan.summary["travel_bound_km"] == pytest.approx(best_km, abs=0.01)
    assert plan.summary["travel_gap_pct"] == 0.0


def test_summary_text_shows_the_gap_only_with_a_bound():
    P = _tiny()
    plan = solve(P)
    s = dict(plan.summary)
    assert "公里（可证下界" in s["text"] and "公里，已达最优" in s["text"]
    s["travel_bound_km"] = s["travel_gap_pct"] = None
    assert "公里（可证下界" not in summary_text(s, P)
    s["travel_bound_km"], s["travel_gap_pct"] = 10.0, 12.5
    assert "与下界相差 12.5%" in summary_text(s, P)


def test_three_slot_pricing_with_no_route_at_all_gives_no_routes_not_a_crash():
    """Three slots a day, distinct streets asked for, but every allowed host is on one street:
    no route exists. Asked for its best few routes, the pricing says 'none' (an empty list) —
    it used to hand back the single-route answer (None, 0.0), which its caller then indexed."""
    import numpy as np

    from dangjian_core.observation.bound import _price

    dm = np.zeros((4, 4))
    node = np.zeros((3, 4))
    one_street = np.zeros(4, dtype=int)
    assert _price(dm, node, one_street, True, many=3) == []
    assert _price(dm, node, one_street, True) == (None, 0.0)
    route, value = _price(dm, node, np.arange(4), True)
    assert route is not None and len(set(route)) == 3 and value == 0.0


def _city_event_timetable():
    """The coloured timetable (before any travel work) of an event shaped like the city
    database's: 30 streets × 2 hosts, 2 days × 3 slots, a previous round — where a greedy
    rebuild of every day-route often finds no room for the last few routes."""
    import copy

    from dangjian_core.observation import solver
    from tests.observation.instances import _with_previous, city

    P = _with_previous(city(30, 4, hosts_per_street=2), "cross", 2, 3)
    got = {}

    def grab(I, tt, deadline, rng):
        got["I"], got["tt"] = I, copy.deepcopy(tt)
    real = solver.improve_travel
    solver.improve_travel = grab
    try:
        solver.solve(P, seed=0, time_limit=0.1, draft=True)
    finally:
        solver.improve_travel = real
    got["tt"].np_enable()
    return got["I"], got["tt"]


def test_cluster_first_retries_with_the_stuck_route_first_and_keeps_objectives_0_to_3():
    import copy
    import random

    from dangjian_core.observation import travel

    I, tt0 = _city_event_timetable()
    base, km0 = travel._tuple(I, tt0), travel._travel(I, tt0)
    cells = [(d, y) for d in range(I.D) for y in range(I.P.days)]
    once = again = 0
    for seed in range(20):
        tt = copy.deepcopy(tt0)
        once += travel._ruin_recreate(I, tt, cells, base, random.Random(seed))
        tt = copy.deepcopy(tt0)
        ok = travel._cluster_first(I, tt, base, random.Random(seed), float("inf"))
        again += ok
        if ok:  # shorter, objectives 0–3 kept, still a valid timetable
            assert travel._travel(I, tt) < km0 - 1 and travel._tuple(I, tt) <= base
            assert check_plan(I.P, tt.visits()) == []
        else:  # nothing changed
            assert tt.X == tt0.X and travel._tuple(I, tt) == base
    assert again > once  # putting the route that found no room first helps
