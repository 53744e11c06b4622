"""The observation-arrangement solver (观摩互进排程). Entry point: `solve`.

Method, and why
---------------
The hard constraints split into *who visits whom* and *when*. Ignoring slots, a plan is a
bipartite b-matching: delegation d gets exactly k distinct allowed hosts, host h at most
u_h = capacity_h × slots visits. Conversely every such b-matching can be put into slots: split
host h into `capacity` copies of degree ≤ slots; the bipartite multigraph then has maximum degree
≤ slots, so by König's edge-colouring theorem it has a proper edge colouring with `slots`
colours — a colour is a slot, a delegation is in one place per slot and a host copy receives
one delegation per slot. Hence, without locked visits, *feasibility is exactly a max-flow
question*, and every infeasibility is a Hall violation we can name.

The phases:
A. Who visits whom (bipartite, no slots):
   1. greedy snake draft (lagging delegations first), each pick minimising the lexicographic
      key (own street, host load, lagging need, preference, repeats, street spread, distance);
   2. completion by augmenting paths (max flow); failure leaves the residual-reachable
      delegations S and hosts N, a certificate that S needs more visits than it can get —
      reported as `Infeasible`;
   3. district: own-street visits removed by augmenting paths that avoid own-street hosts;
   4. balance: while some host h has an alternating path to a host h' with
      load(h') ≤ load(h) − 2 (and spare capacity), shift one visit along it. The feasible load
      vectors form an M-convex set (integral base polyhedron), where "no such 1-tightening
      step" is exactly decreasing-minimality (Frank–Murota), so max−min is optimal;
   5. local search for objectives 2–3 with replace and swap moves and ejection chains of up
      to three delegations, never worsening a higher objective (costs compared as tuples).
B. When: König colouring with alternating (Kempe) paths; locked visits are precoloured and
   never flipped; what cannot be coloured around locks is repaired, retried with another
   seed, and on small instances settled by exhaustive search.
C. Timetable local search (slot swaps within a delegation, host replacement, host swaps in a
   slot; candidates from the hosts nearest the route neighbours), never worsening a higher
   objective; then the district own-street rule is enforced locally.
D. Travel (issue 16), every step kept only when the cost tuple of objectives 0–3 is not worse
   (checked exactly, `_tuple`), so travel is never bought with them:
   1. cluster first: every day-route is taken out and rebuilt, one (delegation, day) at a
      time, as the cheapest route through hosts that still have room (exact for ≤ 3 slots a
      day: best first/last host per middle host and the runner-up of another street, see
      `bound._price`; hosts may take back what they gave up, or one visit when no
      busier than the least busy host freed; own street, repeated pairs and street pairs
      excluded, street-distinct when the delegation's streets were);
   2. descent: phase C moves, each day-route rebuilt alone, each slot re-solved as an
      assignment problem (Hungarian method) among the delegations out in it;
   3. large-neighbourhood search until the budget: 2–6 day-routes of one day lying close
      together are ruined and recreated as in 1 (random order), kept when shorter;
   4. exact pass (`exact=True`, the page's「进一步优化路线」, or by default when delegations ×
      days × hosts ≤ SMALL_EXACT): column generation over day-routes and an integer program
      over the routes found (bound, scipy/HiGHS); its plan replaces the heuristic
      one only when valid, not worse on objectives 0–3 and shorter, and its proven bound goes
      into the summary (travel_bound_km, travel_gap_pct).

Measured (bench/bench_observation.py prints time, travel, proven bound and gap per instance of
issue 16): phases A–C take well under a second at city scale (30 streets × 600 hosts, 2 × 3
slots); the travel phase uses the rest of `time_limit` (default 1.5 s). A plain
successive-shortest-path min-cost flow in pure Python took 7.3 s on the phase-A network of the
cross case alone, so the flow is used only in its augmenting-path form.

Exactness: feasibility without locks is exact (flow + König); the host-load balance is exact
(decreasingly minimal; in district mode among arrangements adding no own-street visit, whose
number is minimised by augmenting paths, not proven minimal); objectives 2–3 are local optima of replace/swap/ejection-chain moves
(on brute-forced tiny instances they matched the optimum); travel is the best found within the
time budget (`time_limit`, default 1.5 s), proven optimal when the exact pass's integer plan
meets its LP bound (the summary then says 已达最优). With locked visits, feasibility is
NP-hard in general (precoloured edge colouring): the heuristic is retried, small instances are
settled exactly, and a large instance can in principle be declared "未能排出" although a plan
exists — the message then says so rather than claiming impossibility.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from .construction import balance, colour, complete, exact_search, greedy, precheck, reduce_own, validate_locks
from .local_search import fix_district, improve_bip
from .model import Infeasible, Plan, Problem, Visit
from .rules import check_plan, plan_cost, summarise
from .solver_state import Assignment, Instance
from .travel import improve_travel

DEFAULT_TIME_LIMIT = 1.5  # seconds for the local-search phases
SMALL_EXACT = 600  # delegations × days × hosts up to which the exact pass runs by default


def is_small(P: Problem) -> bool:
    """Small enough (delegations × days × hosts ≤ SMALL_EXACT) that `solve` settles it in one go
    (with the exact travel pass when it has coordinates): not cut into a draft and a background
    search (`observation.jobs`)."""
    return len(P.delegations) * P.days * len(P.hosts) <= SMALL_EXACT


# ============================================================================ entry point

def solve(P: Problem, locked: Sequence[Visit] | None = None, *, seed: int = 0,
          time_limit: float | None = None, exact: bool = False, draft: bool = False) -> Plan:
    """Arrange the visits: a `Plan` meeting every hard constraint, optimised lexicographically
    (`rules`), or `Infeasible` naming the constraint. `locked` visits are kept as they are
    (re-solving after a hand edit). `exact=True` (「进一步优化路线」, give it a `time_limit` of a
    minute) adds the column-generation pass for travel at any size; it runs by default on small
    instances. `draft=True`: a first plan within `time_limit` (no exact pass; the page shows it
    while the full search runs in the background, `observation.jobs`). Phases A–C do not depend
    on the budget, so a draft meets the same hard constraints and objectives 0–3 as the full
    search from the same seed; only travel is shorter after the full budget. Method: the
    module docstring."""
    t0 = time.perf_counter()
    limit = DEFAULT_TIME_LIMIT if time_limit is None else float(time_limit)
    I = Instance(P)
    locks = validate_locks(I, list(locked or ()))
    precheck(I, locks)
    tt = None
    attempts = 1 if not locks else 3
    for attempt in range(attempts):
        rng = random.Random(seed * 7919 + attempt)
        B = Assignment(I)
        for d, _t, h in locks:
            B.add(d, h)
            B.fixed.add((d, h))
        deadline = t0 + max(limit * 0.3, 1.0) * (attempt + 1) / attempts  # objectives 1–3 first
        greedy(I, B, rng)
        complete(I, B, bool(locks))
        reduce_own(I, B)
        balance(I, B, t0 + 60.0)  # objective 1 is not cut short by the search budget
        improve_bip(I, B, deadline)
        tt = colour(I, B, locks, rng)
        if tt is not None:
            break
    if tt is None:
        res = exact_search(I, locks)
        if res is False:
            raise Infeasible(f"在锁定的{len(locks)}次参观保持不变的前提下，不存在满足全部硬约束的安排"
                             "（已穷举所有可能）：请解除部分锁定后重试")
        if res is None:
            raise Infeasible(f"在锁定的{len(locks)}次参观保持不变的前提下，未能排出满足全部硬约束的安排"
                             "（每个观摩点每时段不超过容量、观摩团每时段只在一处、不重复看同一个点）：请解除部分锁定后重试")
        tt = res
    # exact pass (column generation over day-routes, then an integer program): on request, or
    # by default when the instance is small enough to finish within the budget
    want_exact = (exact or I.D * P.days * I.H <= SMALL_EXACT) and not locks and I.has_coords \
        and I.k == I.T and time_limit != 0 and not draft
    fix_district(I, tt)
    heur = min(limit * 0.4, DEFAULT_TIME_LIMIT * 4) if want_exact else limit  # the rest: exact pass
    improve_travel(I, tt, t0 + max(0.0, heur), random.Random(seed))
    fix_district(I, tt)
    visits = tt.visits()
    problems = check_plan(P, visits)
    if problems and locks:  # the heuristics could not place the rest around the locks: search
        res = exact_search(I, locks)
        if res:
            fix_district(I, res)
            visits = res.visits()
            problems = check_plan(P, visits)
        elif res is False:
            raise Infeasible(f"在锁定的{len(locks)}次参观保持不变的前提下，不存在满足全部硬约束的安排"
                             "（已穷举所有可能）：" + problems[0])
    travel_bound = None
    if want_exact and not problems:
        # (small instances converge in a fraction of a second; the floor keeps a busy machine from
        # cutting them short)
        visits, travel_bound = _exact_pass(P, visits, max(2.0, t0 + limit - time.perf_counter()))
        problems = check_plan(P, visits)
    if problems:
        raise Infeasible("在锁定的参观保持不变的前提下，未能排出满足全部硬约束的安排：" + "；".join(problems[:5])
                         if locks else "内部错误：排出的安排不满足硬约束：" + "；".join(problems[:5]))
    visits.sort(key=lambda v: (v.day, v.slot, v.delegation))
    return Plan(visits, summarise(P, visits, travel_bound=travel_bound))


def _exact_pass(P: Problem, visits: list[Visit], budget: float) -> tuple[list[Visit], float | None]:
    """Column generation over day-routes and an integer program over the routes it found
    (bound). → (visits, proven travel bound or None). The integer plan replaces
    the heuristic one only when it is valid, its objectives 0–3 are not worse and its travel
    is shorter."""
    try:
        from .bound import travel_bound
    except ImportError:  # scipy missing: the heuristic plan stands, no bound
        return visits, None
    info = travel_bound(P, visits, time_limit=budget * 0.6, integer=True, integer_time=max(0.2, budget * 0.4))
    if not info:
        return visits, None
    cand = info.get("visits")
    bound = info["bound"]
    if cand and not check_plan(P, cand):
        a, b = plan_cost(P, cand), plan_cost(P, visits)
        if a[:7] <= b[:7] and a[7] < b[7] - 1e-9:
            visits = cand
            if a[:7] != b[:7]:  # the bound holds for plans with the heuristic plan's objectives
                bound = 0.0
    return visits, (bound if bound > 0 else None)
