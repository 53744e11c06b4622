"""观摩互进: solver, checker, bounds and scoring.

The hard constraints are re-checked here by `violations` (written independently of
`check_plan`); infeasibility is confirmed either by the b-matching Hall condition (exact without
locked visits, by König's edge-colouring theorem — see dangjian_core/observation/solver.py) or by brute force
over every timetable of a tiny instance.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter, defaultdict

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from dangjian_core.errors import BadInput
from dangjian_core.observation.inputs import build_problem
from dangjian_core.observation.model import Delegation, Host, Infeasible, Org, Problem, Visit
from dangjian_core.observation.rules import check_plan, load_spread_bound, plan_cost, propose_tiers, rank_hosts, summarise
from dangjian_core.observation.solver import solve
from dangjian_core.observation.views import plan_frame

# ============================================================================ independent oracles


def allowed(P: Problem, d: Delegation) -> list[Host]:
    if P.mode == "internal":
        return [h for h in P.hosts if h.street == d.street]
    if P.mode == "cross":
        return [h for h in P.hosts if h.street != d.street]
    return list(P.hosts)


def violations(P: Problem, visits: list[Visit]) -> list[tuple]:
    """Every hard-constraint breach, computed without the library's checker."""
    H = {h.org_id: h for h in P.hosts}
    D = {d.id: d for d in P.delegations}
    bad = []
    cell, pair, occ, n = Counter(), Counter(), Counter(), Counter()
    seen = defaultdict(set)
    for v in visits:
        if v.delegation not in D or v.host_org_id not in H or not (1 <= v.day <= P.days) \
                or not (1 <= v.slot <= P.slots_per_day):
            bad.append(("unknown", v))
            continue
        cell[(v.delegation, v.day, v.slot)] += 1
        pair[(v.delegation, v.host_org_id)] += 1
        occ[(v.host_org_id, v.day, v.slot)] += 1
        n[v.delegation] += 1
        seen[v.delegation].add(v.host_org_id)
        hs, ds = H[v.host_org_id].street, D[v.delegation].street
        if P.mode == "internal" and hs != ds:
            bad.append(("internal-street", v))
        if P.mode == "cross" and hs == ds:
            bad.append(("cross-own", v))
    bad += [("two-places", c) for c, x in cell.items() if x > 1]
    bad += [("same-host-twice", c) for c, x in pair.items() if x > 1]
    bad += [("capacity", c) for c, x in occ.items() if x > H[c[0]].capacity]
    bad += [("count", d) for d in D if n[d] != P.visits_per_delegation]
    if P.mode == "district":
        for v in visits:
            if v.delegation in D and v.host_org_id in H and H[v.host_org_id].street == D[v.delegation].street:
                if any(h.street != D[v.delegation].street and h.org_id not in seen[v.delegation]
                       and occ[(h.org_id, v.day, v.slot)] < h.capacity for h in P.hosts):
                    bad.append(("district-own-while-free", v))
    return bad


def hall_feasible(P: Problem) -> bool:
    """Exact feasibility without locks: k ≤ slots and, for every set S of delegations,
    k·|S| ≤ Σ_h min(capacity_h · slots, #delegations of S allowed at h)."""
    k, T = P.visits_per_delegation, P.slots
    if k > T:
        return False
    for r in range(1, len(P.delegations) + 1):
        for S in itertools.combinations(P.delegations, r):
            deg = Counter(h.org_id for d in S for h in allowed(P, d))
            if k * r > sum(min(h.capacity * T, deg[h.org_id]) for h in P.hosts):
                return False
    return True


def _rows(P: Problem, locked=()) -> list[list[tuple]]:
    """Per delegation, every row (host or None per slot) with exactly k distinct allowed hosts
    that contains the delegation's locked visits."""
    T, S, k = P.slots, P.slots_per_day, P.visits_per_delegation
    out = []
    for d in P.delegations:
        mine = [((v.day - 1) * S + v.slot - 1, v.host_org_id) for v in locked if v.delegation == d.id]
        hs = [h.org_id for h in allowed(P, d)]
        opts = []
        for row in itertools.product([None] + hs, repeat=T):
            used = [x for x in row if x]
            if len(used) == k and len(set(used)) == k and all(0 <= t < T and row[t] == h for t, h in mine):
                opts.append(row)
        out.append(opts)
    return out


def brute_size(P: Problem) -> int:
    n = 1
    for opts in _rows(P):
        n *= max(1, len(opts))
    return n


def all_plans(P: Problem, locked=(), limit: int | None = None) -> list[list[Visit]]:
    """Valid timetables of a tiny instance keeping `locked` (brute force; at most `limit`)."""
    S = P.slots_per_day
    locked = set(locked)
    cap = {h.org_id: h.capacity for h in P.hosts}
    options = _rows(P, locked)
    out = []

    def rec(i, occ, acc):
        if limit is not None and len(out) >= limit:
            return
        if i == len(options):
            vs = [Visit(t // S + 1, t % S + 1, P.delegations[j].id, h)
                  for j, row in enumerate(acc) for t, h in enumerate(row) if h]
            if locked <= set(vs) and (P.mode != "district" or not violations(P, vs)):
                out.append(vs)
            return
        for row in options[i]:
            if all(occ[(h, t)] < cap[h] for t, h in enumerate(row) if h):
                for t, h in enumerate(row):
                    if h:
                        occ[(h, t)] += 1
                rec(i + 1, occ, acc + [row])
                for t, h in enumerate(row):
                    if h:
                        occ[(h, t)] -= 1

    rec(0, Counter(), [])
    return out


def spread(P: Problem, visits) -> int:
    c = Counter(v.host_org_id for v in visits)
    loads = [c.get(h.org_id, 0) for h in P.hosts]
    return max(loads) - min(loads)


# ============================================================================ instances

TIERS = ["advanced", "standard", "lagging", "先进", "达标", "后进"]


@st.composite
def org_lists(draw, max_streets=3, max_per_street=3, modes=("internal", "cross", "district")):
    mode = draw(st.sampled_from(modes))
    n_streets = draw(st.integers(1 if mode == "internal" else 2, max_streets))
    coords = draw(st.booleans())
    orgs, i = [], 0
    for s in range(n_streets):
        for _ in range(draw(st.integers(1, max_per_street))):
            i += 1
            lat = draw(st.floats(30.0, 30.5)) if coords else None
            lon = draw(st.floats(120.0, 120.5)) if coords else None
            orgs.append(Org(f"o{i}", f"单位{i}", f"s{s}", draw(st.sampled_from(TIERS)), draw(st.booleans()),
                            draw(st.sampled_from([None, True, False])), draw(st.integers(1, 3)), lat, lon))
    days, spd = draw(st.sampled_from([(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]))
    k = draw(st.integers(1, days * spd + 1))
    ids = [o.org_id for o in orgs] + [f"s{s}" for s in range(n_streets)]
    prev = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from([o.org_id for o in orgs])), max_size=5))
    return orgs, mode, days, spd, k, prev


def build_or_skip(args) -> Problem:
    orgs, mode, days, spd, k, prev = args
    try:
        return build_problem(orgs, mode, days, spd, k, prev)
    except Infeasible as exc:
        # structural impossibilities found while building: confirm the reason independently
        hosts = [o for o in orgs if (o.host if o.host is not None else (o.is_site or o.tier in ("advanced", "先进")))]
        by_street = defaultdict(list)
        for o in orgs:
            by_street[o.street].append(o in hosts)
        assert (not hosts
                or (mode == "internal" and any(any(not x for x in v) and not any(v) for v in by_street.values()))
                or (mode == "internal" and all(all(v) for v in by_street.values()))
                or (mode == "cross" and len(by_street) < 2)), str(exc)
        assume(False)


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ============================================================================ the checker-based property


@FAST
@given(org_lists(max_streets=4, max_per_street=3))
def test_every_plan_is_valid_or_infeasibility_is_real(args):
    P = build_or_skip(args)
    try:
        plan = solve(P)
    except Infeasible as exc:
        event("infeasible")
        assert not hall_feasible(P), f"solver gave up on a feasible instance: {exc}"
        return
    event(f"feasible {P.mode}")
    assert hall_feasible(P)
    assert check_plan(P, plan) == []
    assert violations(P, plan.visits) == []
    assert plan.summary["visits"] == P.visits_per_delegation * len(P.delegations)
    assert plan.summary["host_load_spread"] >= plan.summary["host_load_spread_bound"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(org_lists(max_streets=3, max_per_street=2), st.randoms(use_true_random=False), st.booleans())
def test_locked_visits_are_kept_or_infeasibility_is_proven(args, rnd, from_plan):
    P = build_or_skip(args)
    assume(len(P.hosts) <= 4 and len(P.delegations) <= 3 and brute_size(P) <= 50_000)
    plans = all_plans(P, limit=50) if from_plan else []
    if plans:  # a hand edit of a valid plan: locks that are known to fit
        base = rnd.choice(plans)
        locks = rnd.sample(base, rnd.randint(1, len(base)))
    else:
        locks = [Visit(rnd.randint(1, P.days), rnd.randint(1, P.slots_per_day), rnd.choice(P.delegations).id,
                       rnd.choice(P.hosts).org_id) for _ in range(rnd.randint(1, 3))]
    try:
        plan = solve(P, locks)
    except Infeasible:
        event("infeasible with locks")
        assert all_plans(P, locks, limit=1) == [], "a plan keeping the locks exists"
        return
    event("feasible with locks")
    assert set(locks) <= set(plan.visits)
    assert violations(P, plan.visits) == []
    assert check_plan(P, plan) == []


def test_a_locked_own_street_visit_is_kept_when_the_other_host_fills_that_slot():
    """Found by the property above after the travel rework dropped the exhaustive fallback:
    district round, two single-place hosts in two streets; 「s0」 is locked to its own street's
    host in slot 1, which the rule allows once 「s1」 fills the other host in the same slot."""
    args = ([Org(org_id="o1", name="单位1", street="s0", tier="advanced", is_site=False, host=None,
                 capacity=1, lat=None, lon=None),
             Org(org_id="o2", name="单位2", street="s1", tier="advanced", is_site=False, host=None,
                 capacity=1, lat=None, lon=None)], "district", 1, 2, 1, [])
    P = build_or_skip(args)
    lock = Visit(1, 1, "s0", "o1")
    plan = solve(P, [lock])
    assert lock in plan.visits and check_plan(P, plan) == []
    assert Visit(1, 1, "s1", "o2") in plan.visits


# ============================================================================ bounds and optimality vs brute force


def cheap_levels(P: Problem, visits) -> tuple[int, int, int, int, int]:
    """(own-street visits, Σ load², uncovered lagging, lagging covered, repeated pairs)."""
    H = {h.org_id: h for h in P.hosts}
    street = {d.id: d.street for d in P.delegations}
    load = Counter(v.host_org_id for v in visits)
    own = sum(1 for v in visits if P.mode == "district" and H[v.host_org_id].street == street[v.delegation])
    covered = {v.delegation for v in visits if H[v.host_org_id].preferred}
    lagging = [d.id for d in P.delegations if d.lagging]
    cov = sum(1 for d in lagging if d in covered)
    rep = sum(1 for v in visits if (v.delegation, v.host_org_id) in P.previous_pairs)
    return own, sum(x * x for x in load.values()), len(lagging) - cov, cov, rep


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(org_lists(max_streets=3, max_per_street=2))
def test_bounds_never_beat_brute_force_and_solver_reaches_the_optimum(args):
    P = build_or_skip(args)
    assume(len(P.hosts) <= 4 and len(P.delegations) <= 3 and P.visits_per_delegation <= P.slots)
    assume(brute_size(P) <= 20_000)
    plans = all_plans(P)
    assume(plans)
    levels = [cheap_levels(P, vs) for vs in plans]
    best_spread = min(spread(P, vs) for vs in plans)
    assert load_spread_bound(P) <= best_spread
    s = summarise(P, plans[0])
    assert s["repeated_pairs_bound"] <= min(x[4] for x in levels)
    assert s["lagging_coverable"] >= max(x[3] for x in levels)
    plan = solve(P)
    assert spread(P, plan.visits) == best_spread
    # objectives 0–2 (own street, Σ load², lagging without a preferred host) are optimal
    assert cheap_levels(P, plan.visits)[:3] == min(x[:3] for x in levels)


def test_bound_is_tight_on_a_textbook_case():
    # 3 delegations × 2 visits over 4 hosts of capacity 1, 2 slots: loads 2,2,1,1 at best
    hosts = [Host(f"h{i}", f"h{i}", "x", "advanced", True) for i in range(4)]
    dels = [Delegation(f"d{i}", f"s{i}") for i in range(3)]
    P = Problem("cross", hosts, dels, 1, 2, 2)
    assert load_spread_bound(P) == 1
    plan = solve(P)
    assert plan.summary["host_load_spread"] == 1 and plan.summary["host_load_gap"] == 0


# ============================================================================ objectives on designed instances


def _city(n_streets, per_street, *, lagging_every=3, seed=1, capacity=1, coords=True):
    rng = random.Random(seed)
    orgs = []
    for s in range(n_streets):
        cx, cy = 30 + rng.random() * 0.3, 120 + rng.random() * 0.3
        for j in range(per_street):
            tier = "advanced" if j % 2 == 0 else ("lagging" if j % lagging_every == 1 else "standard")
            orgs.append(Org(f"S{s:02d}O{j:02d}", f"单位{s}-{j}", f"街道{s:02d}", tier, j % 4 == 0, None,
                            capacity, cx + rng.random() * 0.02 if coords else None,
                            cy + rng.random() * 0.02 if coords else None))
    return orgs


def test_internal_lagging_orgs_visit_advanced_hosts():
    orgs = _city(4, 9, lagging_every=2)  # half the observers lagging
    P = build_problem(orgs, "internal", 1, 2, 1)
    assert any(d.lagging for d in P.delegations)
    plan = solve(P)
    assert check_plan(P, plan) == []
    hosts = {h.org_id: h for h in P.hosts}
    for d in P.delegations:
        if d.lagging:
            assert any(hosts[v.host_org_id].preferred for v in plan.visits if v.delegation == d.id), d.id
    assert plan.summary["lagging_covered"] == plan.summary["lagging_coverable"]


def test_lagging_delegation_gets_the_only_advanced_host():
    orgs = [Org("A", "先进社区", "东", "advanced", False, True, 1),
            Org("B", "达标社区1", "东", "standard", False, True, 1),
            Org("C", "达标社区2", "东", "standard", False, True, 1),
            Org("L", "后进社区", "东", "lagging", False, False, 1),
            Org("M", "观摩1", "东", "standard", False, False, 1),
            Org("N", "观摩2", "东", "standard", False, False, 1)]
    for seed in range(5):
        plan = solve(build_problem(orgs, "internal", 1, 1, 1), seed=seed)
        assert [v.host_org_id for v in plan.visits if v.delegation == "L"] == ["A"]


def test_no_pair_repeated_from_previous_round_when_avoidable():
    orgs = _city(8, 6)
    P1 = build_problem(orgs, "cross", 1, 3)
    first = solve(P1)
    P2 = build_problem(orgs, "cross", 1, 3, previous=first.visits)
    second = solve(P2)
    assert check_plan(P2, second) == []
    again = {(v.delegation, v.host_org_id) for v in first.visits} & {(v.delegation, v.host_org_id) for v in second.visits}
    assert again == set()
    assert second.summary["repeated_pairs"] == 0
    # street pairs too, via the previous output table (host_street column)
    prev = plan_frame(P1, first)
    P3 = build_problem(orgs, "cross", 1, 3, previous=prev)
    third = solve(P3)
    ss1 = {(v.delegation, v.host_org_id.split("O")[0]) for v in first.visits}
    ss3 = {(v.delegation, v.host_org_id.split("O")[0]) for v in third.visits}
    assert ss1 & ss3 == set()
    assert third.summary["repeated_street_pairs"] == 0


def test_repeats_only_what_cannot_be_avoided():
    # each street can only go to the other street's 2 hosts; k = 2 → all repeated, bound says so
    orgs = [Org("a1", "a1", "A", "advanced", True), Org("a2", "a2", "A", "advanced", True),
            Org("b1", "b1", "B", "advanced", True), Org("b2", "b2", "B", "advanced", True)]
    prev = [("A", "b1"), ("B", "a1")]
    plan = solve(build_problem(orgs, "cross", 1, 2, previous=prev))
    assert plan.summary["repeated_pairs"] == plan.summary["repeated_pairs_bound"] == 2
    plan1 = solve(build_problem(orgs, "cross", 1, 2, 1, previous=prev))
    assert plan1.summary["repeated_pairs"] == 0


@pytest.mark.parametrize("mode,days,spd", [("cross", 2, 3), ("district", 1, 3), ("internal", 1, 2)])
def test_loads_are_balanced(mode, days, spd):
    orgs = _city(10, 8, capacity=2)
    P = build_problem(orgs, mode, days, spd)
    plan = solve(P)
    s = plan.summary
    assert check_plan(P, plan) == []
    if mode != "internal":
        assert s["host_load_max"] - s["host_load_min"] <= 1
    assert s["host_load_spread"] == s["host_load_spread_bound"]


def test_cross_visits_spread_over_many_streets():
    plan = solve(build_problem(_city(10, 6), "cross", 2, 3))
    by = defaultdict(set)
    for v in plan.visits:
        by[v.delegation].add(v.host_org_id.split("O")[0])
    assert all(len(s) == 6 for s in by.values())
    assert plan.summary["min_streets_per_delegation"] == 6


def test_travel_is_shorter_than_a_random_valid_assignment():
    orgs = _city(12, 8, seed=4)
    P = build_problem(orgs, "cross", 2, 3)
    plan = solve(P)
    quick = solve(P, time_limit=0)  # phases A and B only, no travel search
    assert plan.summary["total_distance_km"] < quick.summary["total_distance_km"]
    assert plan_cost(P, plan.visits)[:7] <= plan_cost(P, quick.visits)[:7]


def test_district_uses_own_street_only_when_others_are_full():
    # street A has the only big site; B and C have one small site each.
    orgs = [Org("a", "a", "A", "advanced", True, True, 3), Org("b", "b", "B", "advanced", True, True, 1),
            Org("c", "c", "C", "advanced", True, True, 1)]
    P = build_problem(orgs, "district", 1, 3, 3)
    plan = solve(P)
    assert violations(P, plan.visits) == []
    assert plan.summary["own_street_visits"] == 3  # each delegation must see all three sites
    P2 = build_problem(orgs, "district", 1, 3, 1)
    plan2 = solve(P2)
    assert plan2.summary["own_street_visits"] == 0


# ============================================================================ infeasibility messages


def test_street_with_too_few_hosts_is_named():
    orgs = [Org("h1", "h1", "东湖街道", "advanced", True), Org("h2", "h2", "东湖街道", "advanced", True),
            Org("o1", "o1", "东湖街道", "standard", False), Org("o2", "o2", "东湖街道", "lagging", False)]
    with pytest.raises(Infeasible, match="东湖街道只有2个观摩点，但每个观摩团要看3个点"):
        solve(build_problem(orgs, "internal", 1, 3))


def test_slot_capacity_message():
    orgs = [Org(f"h{i}", "h", f"s{i}", "advanced", True) for i in range(3)] + \
           [Org(f"o{i}", "o", f"s{i}", "standard", False) for i in range(3, 6)]
    # 6 street delegations, every slot, 3 hosts of capacity 1
    with pytest.raises(Infeasible, match="第1时段需要接待的观摩团数（6个）超过全部观摩点容量之和（3）"):
        solve(build_problem(orgs, "district", 1, 2))


def test_more_visits_than_slots():
    orgs = [Org(f"h{i}", "h", f"s{i % 2}", "advanced", True) for i in range(6)]
    with pytest.raises(Infeasible, match="只有 2 个时段"):
        solve(build_problem(orgs, "cross", 1, 2, 3))


def test_hall_violation_is_explained():
    # k = 2 over 2 slots: street A's delegation can only visit b1
    orgs = [Org("a1", "a1", "A", "advanced", True, True, 1), Org("a2", "a2", "A", "advanced", True, True, 1),
            Org("b1", "b1", "B", "advanced", True, True, 1), Org("c0", "c0", "C", "standard", False, False)]
    with pytest.raises(Infeasible, match="可去的其他街道观摩点只有1个"):
        solve(build_problem(orgs, "cross", 1, 2))
    # capacity 2 × 2 slots = 4 looks enough, but a host is seen at most once per delegation:
    # o3 can take 3 visits and o5 2, while 3 delegations × 2 visits need 6
    P = Problem("district", [Host("o3", "o3", "s1", "advanced", True, 2), Host("o5", "o5", "s2", "advanced", True, 1)],
                [Delegation("s0", "s0"), Delegation("s1", "s1"), Delegation("s2", "s2")], 2, 1, 2)
    assert not hall_feasible(P)
    with pytest.raises(Infeasible, match="全部3个观摩团共需6次参观") as e:
        solve(P)
    assert "最多只能为它们安排5次" in str(e.value) and "不能重复看同一个点" in str(e.value)


def test_infeasible_never_returns_partial_plan():
    orgs = [Org("h", "h", "s", "advanced", True), Org("o1", "o1", "s", "standard", False),
            Org("o2", "o2", "s", "standard", False)]
    with pytest.raises(Infeasible):
        solve(build_problem(orgs, "internal", 1, 1))  # 2 observers, 1 host of capacity 1


def test_lock_conflicts_are_reported():
    orgs = _city(3, 4)
    P = build_problem(orgs, "cross", 1, 2)
    plan = solve(P)
    v = plan.visits[0]
    other = next(h for h in P.hosts if h.org_id != v.host_org_id and h.street != v.delegation)
    with pytest.raises(Infeasible, match="同时在"):
        solve(P, [v, Visit(v.day, v.slot, v.delegation, other.org_id)])
    own = next(h for h in P.hosts if h.street == v.delegation)
    with pytest.raises(Infeasible, match="不能看本街道"):
        solve(P, [Visit(1, 1, v.delegation, own.org_id)])
    kept = solve(P, plan.visits[:3])
    assert set(plan.visits[:3]) <= set(kept.visits) and check_plan(P, kept) == []


# ============================================================================ input validation


def _frame(rows, cols=("org_id", "name", "street", "tier", "is_site", "host", "capacity")):
    return pl.DataFrame([list(r) for r in rows], schema={c: pl.String for c in cols}, orient="row")


def test_validation_names_rows_and_columns():
    df = _frame([
        ("a", "甲", "东", "先进", "true", "", "1"),
        ("a", "乙", "东", "达标", "false", "", "1"),      # duplicate id
        ("c", "丙", "东", "advnced", "false", "", "1"),   # misspelled tier
        ("d", "丁", "东", "先近", "false", "", "1"),      # misspelled Chinese tier
        ("e", "戊", "东", "后进", "false", "maybe", "1"),  # host not true/false
        ("f", "己", "东", "后进", "false", "", "0"),       # capacity 0
        ("g", "庚", "东", "后进", "false", "", "-2"),      # negative
        ("h", "辛", "东", "后进", "false", "", "1.5"),     # not an integer
        ("i", "壬", "东", "后进", "yes?", "", "1"),        # is_site not boolean
    ])
    with pytest.raises(BadInput) as e:
        build_problem(df, "internal", 1, 1)
    errs = {(x.row, x.column): x.message for x in e.value.errors}
    assert "与第 2 行相同" in errs[(3, "org_id")]
    assert "advanced" in errs[(4, "tier")] and "您是不是想写「advanced」" in errs[(4, "tier")]
    assert "「先进」" in errs[(5, "tier")]
    assert (6, "host") in errs and (7, "capacity") in errs and (8, "capacity") in errs
    assert "小数" in errs[(9, "capacity")]
    assert (10, "is_site") in errs
    assert all("第" in str(x) for x in e.value.errors)


def test_settings_and_structure_errors():
    orgs = [Org("h", "h", "东", "advanced", True), Org("o", "o", "西", "standard", False)]
    with pytest.raises(BadInput, match="天数"):
        build_problem(orgs, "cross", 0, 2)
    with pytest.raises(BadInput, match="每天时段数"):
        build_problem(orgs, "cross", 1, 0)
    with pytest.raises(BadInput, match="观摩方式"):
        build_problem(orgs, "crosss", 1, 1)
    with pytest.raises(Infeasible, match="街道「西」没有观摩点") as e:
        build_problem(orgs, "internal", 1, 1)
    assert e.value.errors[0].row == 3 and e.value.errors[0].column == "host"
    with pytest.raises(Infeasible, match="只有一个街道"):
        build_problem([Org("h", "h", "东", "advanced", True), Org("o", "o", "东", "lagging", False)], "cross", 1, 1)


# ============================================================================ checker on hand edits


def test_check_plan_reports_each_broken_rule_in_chinese():
    orgs = _city(3, 4)
    P = build_problem(orgs, "cross", 1, 2)
    plan = solve(P)
    assert check_plan(P, plan) == []
    vs = list(plan.visits)
    a = vs[0]
    same_slot_other = next(v for v in vs if v.delegation == a.delegation and v != a)
    # 1. two places in one slot + the second visit gone from its slot
    edited = [Visit(a.day, a.slot, a.delegation, same_slot_other.host_org_id) if v == same_slot_other else v
              for v in vs]
    msgs = check_plan(P, edited)
    assert any("同一时段只能在一处" in m and a.delegation in m for m in msgs)
    assert ("two-places", (a.delegation, a.day, a.slot)) in violations(P, edited)
    # 1b. the same host twice
    twice = [Visit(v.day, v.slot, v.delegation, a.host_org_id) if v == same_slot_other else v for v in vs]
    assert any("重复参观" in m for m in check_plan(P, twice))
    # 2. own street
    own = next(h for h in P.hosts if h.street == a.delegation)
    msgs = check_plan(P, [Visit(a.day, a.slot, a.delegation, own.org_id) if v == a else v for v in vs])
    assert any("不能看本街道" in m for m in msgs)
    # 3. over capacity: move another delegation onto a's host in a's slot
    b = next(v for v in vs if v.delegation != a.delegation and (v.day, v.slot) == (a.day, a.slot)
             and P.hosts[[h.org_id for h in P.hosts].index(a.host_org_id)].street != v.delegation)
    msgs = check_plan(P, [Visit(b.day, b.slot, b.delegation, a.host_org_id) if v == b else v for v in vs])
    assert any("超过容量" in m for m in msgs)
    # 4. missing visit, unknown host
    assert any("应为 2 次" in m for m in check_plan(P, vs[1:]))
    assert any("不是本次的观摩点" in m for m in check_plan(P, vs + [Visit(1, 1, a.delegation, "nope")]))
    # independent oracle agrees that all of those break something
    assert violations(P, vs[1:])


# ============================================================================ scoring


def _scores():
    # delegations X (street X) and Y (street Y) score hosts of streets X, Y, Z
    return [
        ("X", "X", "x1", "X", 100),   # own street: excluded
        ("X", "X", "y1", "Y", 80), ("X", "X", "z1", "Z", 70), ("X", "X", "z2", "Z", 60),
        ("Y", "Y", "y1", "Y", 10),    # own street: excluded
        ("Y", "Y", "x1", "X", 75), ("Y", "Y", "z1", "Z", 65), ("Y", "Y", "z2", "Z", 55),
    ]


def test_own_street_scores_are_excluded_and_counted():
    r = rank_hosts(_scores(), normalise="none")
    row = {x["host_org_id"]: x for x in r.to_dicts()}
    assert row["x1"]["score"] == 75 and row["x1"]["n_scores"] == 1 and row["x1"]["n_own_street"] == 1
    assert row["y1"]["score"] == 80 and row["y1"]["n_scores"] == 1
    assert row["z1"]["score"] == 67.5 and row["z1"]["n_scores"] == 2
    assert row["y1"]["rank"] == 1


def test_normalisation_removes_a_delegations_constant_offset():
    base = rank_hosts(_scores())
    shifted = [(d, ds, h, hs, s + (15 if d == "Y" else 0)) for d, ds, h, hs, s in _scores()]
    r2 = rank_hosts(shifted)
    assert base["host_org_id"].to_list() == r2["host_org_id"].to_list()
    # relative differences are unchanged; only the grand mean moves with the offset
    b, s = base["score"].to_list(), r2["score"].to_list()
    assert [round(x - b[0], 9) for x in b] == [round(x - s[0], 9) for x in s]
    z1 = rank_hosts(_scores(), normalise="zscore")
    z2 = rank_hosts(shifted, normalise="zscore")
    assert z1["score"].to_list() == pytest.approx(z2["score"].to_list())


def test_offset_changes_raw_ranking_but_not_normalised():
    # Y scores everything 30 higher; raw means favour hosts Y happened to visit
    rows = [("X", "X", "a", "A", 60), ("X", "X", "b", "B", 70),
            ("Y", "Y", "b", "B", 100), ("Y", "Y", "c", "C", 90)]
    raw = rank_hosts(rows, normalise="none")
    norm = rank_hosts(rows)
    assert raw["host_org_id"].to_list()[0] == "c"  # c was only seen by the generous Y
    assert norm["host_org_id"].to_list()[0] == "b"  # b is above average for both delegations
    shifted = [(d, ds, h, hs, s - 30 if d == "Y" else s) for d, ds, h, hs, s in rows]
    assert rank_hosts(shifted)["host_org_id"].to_list() == norm["host_org_id"].to_list()


def test_items_are_combined_and_tiers_proposed():
    rows = []
    for d in ("P", "Q"):
        for h, base in (("h1", 30), ("h2", 25), ("h3", 20), ("h4", 15), ("h5", 10)):
            rows += [(d, d, h, "Z", base, "组织建设"), (d, d, h, "Z", base + 5, "阵地建设")]
    rows.append(("Z", "Z", "h1", "Z", 0, "组织建设"))  # own street
    r = rank_hosts(pl.DataFrame([list(x) for x in rows], schema=["delegation", "delegation_street", "host_org_id",
                                                                  "host_street", "score", "item"], orient="row"))
    assert r["host_org_id"].to_list() == ["h1", "h2", "h3", "h4", "h5"]
    assert r.filter(pl.col("host_org_id") == "h1")["n_scores"].item() == 2
    t = propose_tiers(r, 0.2, 0.4)
    assert dict(zip(t["host_org_id"], t["proposed_tier"])) == {
        "h1": "先进", "h2": "达标", "h3": "达标", "h4": "后进", "h5": "后进"}
    flat = propose_tiers(rank_hosts([("P", "P", h, "Z", 50) for h in ("a", "b", "c")]), 0.34, 0.34)
    assert set(flat["proposed_tier"]) == {"达标"}


def test_bad_scores_are_refused():
    with pytest.raises(BadInput, match="0–100"):
        rank_hosts([("X", "X", "a", "A", 120)])
    with pytest.raises(BadInput):
        propose_tiers(rank_hosts(_scores()), 0.7, 0.5)


# ============================================================================ the phases, through `solve`
# Without locks, every 'who visits whom' assignment (k distinct allowed hosts per delegation, at
# most min(capacity × slots, delegations allowed there) visits per host) fits in the slots (König),
# so brute force over assignments is an oracle for objectives 0–2 on instances too big to
# enumerate timetables. `time_limit=0`: phases A–C only (the objective 1–3 search keeps its own
# budget), no travel search.


def _assignments(P: Problem):
    T, k = P.slots, P.visits_per_delegation
    n_allowed = Counter(h.org_id for d in P.delegations for h in allowed(P, d))
    u = {h.org_id: min(h.capacity * T, n_allowed[h.org_id]) for h in P.hosts}
    per = [[[Visit(1, 1, d.id, h) for h in hs] for hs in itertools.combinations([h.org_id for h in allowed(P, d)], k)]
           for d in P.delegations]
    for combo in itertools.product(*per):
        vs = [v for part in combo for v in part]
        load = Counter(v.host_org_id for v in vs)
        if all(load[h] <= u[h] for h in load):
            yield vs


def _assignment_count(P: Problem) -> int:
    n = 1
    for d in P.delegations:
        n *= max(1, math.comb(len(allowed(P, d)), P.visits_per_delegation))
    return n


def _enumerable_or_skip(args) -> Problem:
    """A generated problem small enough that every assignment can be tried (others are skipped)."""
    P = build_or_skip(args)
    assume(P.visits_per_delegation <= P.slots and len(P.delegations) <= 4 and len(P.hosts) <= 6)
    assume(hall_feasible(P) and _assignment_count(P) <= 20_000)
    return P


def _sum_sq(vs) -> int:
    return sum(x * x for x in Counter(v.host_org_id for v in vs).values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(org_lists(max_streets=3, max_per_street=3))
def test_host_loads_are_as_even_as_any_assignment_allows(args):
    P = _enumerable_or_skip(args)
    plan = solve(P, time_limit=0)
    every = list(_assignments(P))
    assert spread(P, plan.visits) == min(spread(P, vs) for vs in every)
    if P.mode != "district":  # (district first minimises own-street visits)
        assert _sum_sq(plan.visits) == min(_sum_sq(vs) for vs in every)


def test_lagging_streets_covered_even_when_it_takes_rotating_three_delegations():
    # the lagging delegation s1 can only be covered by rotating three delegations at once
    P = Problem("district",
                [Host("o2", "o2", "s0", "lagging", False, 1), Host("o4", "o4", "s1", "lagging", True, 2),
                 Host("o6", "o6", "s2", "advanced", False, 1)],
                [Delegation("s0", "s0", True), Delegation("s1", "s1", True), Delegation("s2", "s2", False)],
                1, 2, 1, frozenset({("s2", "o6")}))
    best = min(cheap_levels(P, vs)[:3] for vs in _assignments(P))
    assert best[2] == 0
    for seed in range(12):  # whatever the greedy start, both lagging streets end up covered
        plan = solve(P, seed=seed)
        assert cheap_levels(P, plan.visits)[:3] == best
        assert plan.summary["lagging_covered"] == 2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(org_lists(max_streets=3, max_per_street=3))
def test_objectives_0_to_2_match_the_best_assignment(args):
    P = _enumerable_or_skip(args)
    plan = solve(P, time_limit=0)
    assert check_plan(P, plan) == []
    assert cheap_levels(P, plan.visits)[:3] == min(cheap_levels(P, vs)[:3] for vs in _assignments(P))


def test_check_plan_mode_rules_internal_and_district():
    orgs = [Org("h1", "h1", "东", "advanced", True), Org("h2", "h2", "西", "advanced", True),
            Org("o1", "o1", "东", "lagging", False), Org("o2", "o2", "西", "standard", False)]
    P = build_problem(orgs, "internal", 1, 1)
    msgs = check_plan(P, [Visit(1, 1, "o1", "h2"), Visit(1, 1, "o2", "h1")])
    assert sum("只能看本街道" in m for m in msgs) == 2
    assert violations(P, [Visit(1, 1, "o1", "h2"), Visit(1, 1, "o2", "h1")])
    assert check_plan(D := build_problem(orgs, "district", 1, 1), [Visit(1, 1, "东", "h1"), Visit(1, 1, "西", "h2")]) == []
    orgs = [Org(o.org_id, o.name, o.street, o.tier, o.is_site, o.host, 2) for o in orgs]  # room for two
    D = build_problem(orgs, "district", 1, 1)
    msgs = check_plan(D, [Visit(1, 1, "东", "h1"), Visit(1, 1, "西", "h2")])
    assert sum("其他观摩点都满时才能看本街道" in m for m in msgs) == 2
    assert check_plan(D, [Visit(1, 1, "东", "h2"), Visit(1, 1, "西", "h1")]) == []


def test_orgs_input_reads_yes_no_and_numbers_as_values_does():
    from dangjian_core.observation.inputs import parse_orgs

    rows = [{"org_id": "a", "name": "甲", "street": "东", "tier": "先进", "is_site": "对", "capacity": "２",
             "lat": "30.10", "lon": 120},
            {"org_id": "b", "name": "乙", "street": "西", "tier": "达标", "is_site": "×", "capacity": "1,000"}]
    a, b = parse_orgs(rows)
    assert (a.is_site, a.capacity, a.lat, a.lon) == (True, 2, 30.1, 120.0)
    assert (b.is_site, b.capacity) == (False, 1000)
    with pytest.raises(BadInput) as exc:
        parse_orgs([{"org_id": "c", "name": "丙", "street": "东", "tier": "达标", "is_site": "否", "capacity": "1.5",
                     "lat": "5e1", "lon": "120"}])
    msgs = {e.column: e.message for e in exc.value.errors}
    assert "不能是小数" in msgs["capacity"] and "十进制度数" in msgs["lat"]
