"""A proven lower bound on the total travel of 观摩 plans (observation.md, objective 4), by
column generation over day-routes (Dantzig–Wolfe master LP solved with HiGHS via scipy).

What is bounded
---------------
`travel_bound(problem, visits)` bounds the travel of every valid plan whose objectives 1–3
(the first seven parts of `plan_cost`) are equal to those of `visits`. Such a plan satisfies
these linear constraints, all implied by that equality (each is a relaxation, so the LP minimum
is ≤ the travel of every such plan):

- each (delegation, day) takes one day-route (a host per slot of the day; k = slots only);
- host-slot capacity; a delegation sees a host at most once (rows added when violated);
- own-street visits ≤ c0; visits to non-preferred hosts ≤ c3; repeated pairs ≤ c4 (a zero
  right-hand side simply removes those hosts from the pricing);
- Σ load² = c1: when c1 equals the minimum of Σ load² over integer loads with the fixed
  total per group (internal: per street) and 0 ≤ load ≤ u_h, every such load vector has
  min(u_h, M−1) ≤ load_h ≤ M, M the smallest integer with Σ min(u_h, M) ≥ total
  (a vector outside could move one visit and lower Σ load²); otherwise no load rows;
- lagging coverage: when c2 = 0, every lagging delegation sees a preferred host;
- street spread: when c6 equals the sum over delegations of the minimum of Σ_s n_s² (n_s ≤
  the street's allowed hosts), each delegation is at its minimum, hence n_s ≤ M_d (same
  argument); repeated street pairs: when c5 = 0 those streets are removed from the pricing.

Pricing is exact over elementary routes for up to three slots a day (for each middle host the
best first and last hosts and the runner-up of another street, see `_price`); for longer days
it is a layered shortest path that may revisit a host (a relaxation: still a valid bound).
Pricing runs at duals smoothed towards those of the best bound so far (Wentges), falling back
to the LP's own duals when that finds no column. The reported bound is the Lagrangian bound
Σ y·b + Σ_(d,day) min_route (cost − y·a) at the duals priced, valid for any y ≤ 0, so stopping
on the time limit still gives a proven bound; when column generation converges it equals the
LP optimum. With `integer=True` the master is then solved as an integer program over the
routes found (an upper bound; equal to the bound means proven optimal).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from .model import Problem, Visit, allowed_hosts
from .rules import load_groups, plan_cost, water_level

R_EARTH = 6371.0088
MANY = 10  # columns added per (delegation, day) and pricing round
SMOOTH = 0.7  # dual smoothing towards the duals of the best bound (Wentges)

Arr = npt.NDArray[np.float64]
IArr = npt.NDArray[np.int_]
Route = tuple[int, ...]                 # a host index per slot of a day
Col = tuple[int, int, Route]            # (delegation, day, route): one column of the master
RowKey = tuple[Any, ...]                # ("cap", host, slot), ("dh", delegation, host), …
Built = tuple[Arr, Any, Arr, Any]       # cost, A_ub, b_ub, A_eq (scipy sparse matrices)


@dataclass
class _Columns:
    """The master's columns built so far (rebuilt when delegation-host rows were added)."""

    n: int = 0
    ndh: int = -1
    data: list[float] = field(default_factory=list)
    ri: list[int] = field(default_factory=list)
    ci: list[int] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)


def _min_sq(us: list[int], total: int) -> int | None:
    if total > sum(us):
        return None
    M = water_level(us, total)
    base = [min(u, M - 1) if M > 0 else 0 for u in us]
    rest = total - sum(base)
    sq = sum(b * b for b in base)
    # `rest` hosts with u ≥ M go from M−1 to M
    return sq + rest * (M * M - (M - 1) * (M - 1))


def travel_bound(problem: Problem, visits: list[Visit], *, time_limit: float = 60.0,
                 integer: bool = False, integer_time: float = 30.0) -> dict[str, Any] | None:
    """→ {"bound": km, "lp": km (last master LP), "converged": bool, "columns": n, "seconds": s,
    and with `integer`: "visits": the best plan over the generated day-routes (integer
    program, HiGHS) or None} or None (no coordinates, or k < slots). The caller must check
    the plan (check_plan, plan_cost): rows that could not be proven are left out of the model."""
    from scipy.optimize import linprog
    from scipy.sparse import csc_matrix

    t0 = time.perf_counter()
    P = problem
    H, D, S, Y, T = len(P.hosts), len(P.delegations), P.slots_per_day, P.days, P.slots
    if P.visits_per_delegation != T or not any(h.lat is not None for h in P.hosts):
        return None
    if any(h.lat is None for h in P.hosts):
        return None
    c = plan_cost(P, visits)
    c0, c1, c2, c3, c4, c5, c6 = c[:7]
    hid = {h.org_id: i for i, h in enumerate(P.hosts)}
    did = {d.id: i for i, d in enumerate(P.delegations)}
    streets = sorted({h.street for h in P.hosts} | {d.street for d in P.delegations})
    sidx = {s: i for i, s in enumerate(streets)}
    hs = np.array([sidx[h.street] for h in P.hosts])
    ds = [sidx[d.street] for d in P.delegations]
    pref = np.array([1 if h.preferred else 0 for h in P.hosts])
    cap = np.array([h.capacity for h in P.hosts])
    lat = np.radians([h.lat if h.lat is not None else math.nan for h in P.hosts])  # all set (checked above)
    lon = np.radians([h.lon if h.lon is not None else math.nan for h in P.hosts])
    x = np.sin((lat[:, None] - lat[None, :]) / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * \
        np.sin((lon[:, None] - lon[None, :]) / 2) ** 2
    dist = 2 * R_EARTH * np.arcsin(np.minimum(1.0, np.sqrt(x)))
    allowed = [allowed_hosts(P, d) for d in P.delegations]
    prev: list[set[int]] = [set() for _ in range(D)]
    for d_id, h_id in P.previous_pairs:
        if d_id in did and h_id in hid:
            prev[did[d_id]].add(hid[h_id])
    pss: set[tuple[int, int]] = set()
    if P.mode != "internal":
        for s_a, s_b in P.street_pairs_previous():
            if s_a in sidx and s_b in sidx:
                pss.add((sidx[s_a], sidx[s_b]))
    own = [set(i for i in allowed[d] if hs[i] == ds[d]) if P.mode == "district" else set() for d in range(D)]

    # --- which hosts each delegation may take in the pricing (zero right-hand sides)
    usable = []
    for d in range(D):
        ok = []
        for i in allowed[d]:
            if c0 == 0 and i in own[d]:
                continue
            if c3 == 0 and not pref[i]:
                continue
            if c4 == 0 and i in prev[d]:
                continue
            if c5 == 0 and P.mode != "internal" and (ds[d], int(hs[i])) in pss:
                continue
            ok.append(i)
        usable.append(np.array(ok, dtype=int))

    # --- load rows
    u, groups, demand = load_groups(P)
    k = P.visits_per_delegation
    load_lo = np.zeros(H, dtype=int)
    load_hi = np.full(H, -1, dtype=int)
    mins = [_min_sq([u[i] for i in idx], demand[g]) for g, idx in groups.items()]
    if all(m is not None for m in mins) and sum(m for m in mins if m is not None) == c1:
        for g, idx in groups.items():
            M = water_level([u[i] for i in idx], demand[g])
            for i in idx:
                load_lo[i] = min(u[i], M - 1) if M > 0 else 0
                load_hi[i] = M
    # --- spread rows
    spread_cap: list[int] | None = None
    if P.mode != "internal":
        per_d = []
        levels = []
        for d in range(D):
            cnt: dict[int, int] = defaultdict(int)
            for i in allowed[d]:
                cnt[int(hs[i])] += 1
            us = list(cnt.values())
            per_d.append(_min_sq(us, k))
            levels.append(water_level(us, k))
        if all(m is not None for m in per_d) and sum(m for m in per_d if m is not None) == c6:
            spread_cap = levels

    # --- columns: (d, y, hosts tuple)
    cols: list[Col] = []
    colset: set[Col] = set()

    def add_col(d: int, y: int, route: Route) -> bool:
        key = (d, y, route)
        if key not in colset:
            colset.add(key)
            cols.append(key)
            return True
        return False

    byd: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    for v in visits:
        byd[(did[v.delegation], v.day - 1)][v.slot - 1] = hid[v.host_org_id]
    for (d, y), m in byd.items():
        add_col(d, y, tuple(m[s] for s in range(S)))

    def route_len(r: Route) -> float:
        return float(sum(dist[a, b] for a, b in zip(r, r[1:])))

    # row indexing
    rows: dict[RowKey, int] = {}

    def row(key: RowKey) -> int:
        if key not in rows:
            rows[key] = len(rows)
        return rows[key]

    dh_rows: set[tuple[int, int]] = set()
    dsub: dict[int, Arr] = {}
    lag = [bool(dd.lagging) for dd in P.delegations]

    cache = _Columns()

    def build() -> Built:
        nonlocal cache
        if cache.ndh != len(dh_rows):  # new delegation-host rows: rebuild every column
            cache = _Columns(ndh=len(dh_rows))
        data, ri, ci = cache.data, cache.ri, cache.ci
        for j in range(cache.n, len(cols)):
            d, y, r = cols[j]
            cache.cost.append(route_len(r))
            ent: dict[RowKey, float] = defaultdict(float)
            for s, i in enumerate(r):
                t = y * S + s
                if not (0 <= load_hi[i] <= cap[i]):  # else implied by the host's load row
                    ent[("cap", i, t)] += 1
                if load_hi[i] >= 0:
                    ent[("hi", i)] += 1
                    if load_lo[i] > 0:
                        ent[("lo", i)] -= 1
                if (d, i) in dh_rows:
                    ent[("dh", d, i)] += 1
                if c0 > 0 and i in own[d]:
                    ent[("own",)] += 1
                if 0 < c3 and not pref[i]:
                    ent[("np",)] += 1
                if 0 < c4 and i in prev[d]:
                    ent[("rep",)] += 1
                if c2 == 0 and lag[d] and pref[i]:
                    ent[("cov", d)] -= 1
                if spread_cap is not None:
                    ent[("sp", d, int(hs[i]))] += 1
            for key, v in ent.items():
                data.append(v)
                ri.append(row(key))
                ci.append(j)
        cache.n = len(cols)
        # right-hand sides
        b = np.zeros(len(rows))
        for key, r_ in rows.items():
            kind = key[0]
            if kind == "cap":
                b[r_] = cap[key[1]]
            elif kind == "hi":
                b[r_] = load_hi[key[1]]
            elif kind == "lo":
                b[r_] = -load_lo[key[1]]
            elif kind == "dh":
                b[r_] = 1
            elif kind == "own":
                b[r_] = c0
            elif kind == "np":
                b[r_] = c3
            elif kind == "rep":
                b[r_] = c4
            elif kind == "cov":
                b[r_] = -1
            elif kind == "sp":
                assert spread_cap is not None  # "sp" rows exist only with a spread cap
                b[r_] = spread_cap[key[1]]
        A = csc_matrix((data, (ri, ci)), shape=(len(rows), len(cols)))
        Ae_data, Ae_r, Ae_c = [], [], []
        for j, (d, y, r) in enumerate(cols):
            Ae_data.append(1.0)
            Ae_r.append(d * Y + y)
            Ae_c.append(j)
        Aeq = csc_matrix((Ae_data, (Ae_r, Ae_c)), shape=(D * Y, len(cols)))
        cost = np.array(cache.cost)
        return cost, A, b, Aeq

    # hosts needing a load floor must appear in some row even without columns: ensure "lo" rows
    # exist for all hosts with load_lo > 0 (an empty row 0 ≤ -lo is infeasible → add later cols)
    def _pricing(y_ub: Arr, y_eq: Arr) -> tuple[float | None, int]:
        """Cheapest routes of every (delegation, day) at duals (y_ub, y_eq); new columns with a
        negative reduced cost go into the master. → (Σ of the cheapest route values, or None
        when some cell has no route; number of columns added)."""
        inv = {r_: key for key, r_ in rows.items()}
        w_cap = np.zeros((H, T))
        w_host = np.zeros(H)
        extra_np = extra_rep = extra_own = 0.0
        w_dh: dict[tuple[int, int], float] = defaultdict(float)
        w_cov = np.zeros(D)
        w_sp: dict[tuple[int, int], float] = defaultdict(float)
        for r_, yv in enumerate(y_ub):
            if yv == 0:
                continue
            key = inv[r_]
            kind = key[0]
            if kind == "cap":
                w_cap[key[1], key[2]] -= yv
            elif kind == "hi":
                w_host[key[1]] -= yv
            elif kind == "lo":
                w_host[key[1]] += yv
            elif kind == "dh":
                w_dh[(key[1], key[2])] -= yv
            elif kind == "own":
                extra_own -= yv
            elif kind == "np":
                extra_np -= yv
            elif kind == "rep":
                extra_rep -= yv
            elif kind == "cov":
                w_cov[key[1]] += yv
            elif kind == "sp":
                w_sp[(key[1], key[2])] -= yv
        total = 0.0
        complete = True
        added = 0
        for d in range(D):
            cand = usable[d]
            if len(cand) == 0:
                complete = False
                continue
            if d not in dsub:
                dsub[d] = dist[np.ix_(cand, cand)]
            wd = w_host[cand].copy()
            if extra_np:
                wd += extra_np * (1 - pref[cand])
            if extra_rep:
                wd += extra_rep * np.array([1.0 if i in prev[d] else 0.0 for i in cand])
            if extra_own:
                wd += extra_own * np.array([1.0 if i in own[d] else 0.0 for i in cand])
            if lag[d] and c2 == 0:
                wd += w_cov[d] * pref[cand]
            if w_sp:
                wd += np.array([w_sp.get((d, int(hs[i])), 0.0) for i in cand])
            if w_dh:
                wd += np.array([w_dh.get((d, int(i)), 0.0) for i in cand])
            dstn = spread_cap is not None and spread_cap[d] <= 1
            for y in range(Y):
                node = np.stack([wd + w_cap[cand, y * S + s] for s in range(S)])  # S × n
                found: list[tuple[Route, float]]
                if S == 3:
                    many = _price(dsub[d], node, hs[cand], dstn, many=MANY)
                    assert isinstance(many, list)  # three slots and many=: always a list
                    found = many
                else:
                    r1, v1 = _price(dsub[d], node, hs[cand], dstn)
                    found = [] if r1 is None else [(r1, v1)]
                if not found:
                    complete = False
                    continue
                total += found[0][1]
                for route, val in found:
                    if val - y_eq[d * Y + y] < -1e-6 and add_col(d, y, tuple(int(cand[i]) for i in route)):
                        added += 1
        return (total if complete else None), added

    best_bound = -math.inf
    best_y: Arr | None = None
    best_e: Arr | None = None
    converged = False
    lp_val = None
    it = 0
    while True:
        it += 1
        cost, A, b, Aeq = build()
        res = linprog(cost, A_ub=A, b_ub=b, A_eq=Aeq, b_eq=np.ones(D * Y), bounds=(0, None), method="highs")
        if res.status != 0:
            return None
        lp_val = float(res.fun)
        xs = res.x
        # violated delegation-host rows (a host seen twice by one delegation across days)
        use: dict[tuple[int, int], float] = defaultdict(float)
        for j, (d, y, r) in enumerate(cols):
            if xs[j] > 1e-9:
                for i in r:
                    use[(d, i)] += xs[j]
        viol = [key for key, v in use.items() if v > 1 + 1e-6 and key not in dh_rows]
        if viol:
            dh_rows.update(viol)
            continue
        y_cur = np.asarray(res.ineqlin.marginals)  # ≤ 0
        e_cur = np.asarray(res.eqlin.marginals)
        if lp_val - best_bound <= 1e-7 * max(1.0, abs(lp_val)):
            converged = True  # the Lagrangian bound has met the LP: nothing left to price
            best_bound = max(best_bound, lp_val)
            break
        # price at duals smoothed towards those of the best bound so far (Wentges), then, if
        # that finds no column, at the LP's own duals (then no column means converged)
        tries = [True, False] if best_y is not None else [False]
        added = 0
        for smooth in tries:
            if smooth:
                assert best_y is not None and best_e is not None  # smoothing is tried only then
                by = np.zeros(len(y_cur))
                by[:len(best_y)] = best_y
                y_use = SMOOTH * by + (1 - SMOOTH) * y_cur
                e_use = SMOOTH * best_e + (1 - SMOOTH) * e_cur
            else:
                y_use, e_use = y_cur, e_cur
            lag_sum, added = _pricing(y_use, e_use)
            if lag_sum is not None:
                # Lagrangian bound: Σ y·b + Σ over (delegation, day) of the cheapest route's
                # cost less its dual price — a proven bound for any y ≤ 0 (exact pricing)
                L = float(np.dot(y_use, b)) + lag_sum
                if L > best_bound:
                    best_bound, best_y, best_e = L, y_use.copy(), e_use.copy()
            if added:
                break
        if added == 0:
            converged = True
            best_bound = max(best_bound, lp_val)
            break
        if time.perf_counter() - t0 > time_limit:
            break
    out: dict[str, Any] = {"bound": best_bound, "lp": lp_val, "converged": converged, "columns": len(cols),
           "seconds": time.perf_counter() - t0}
    if integer:
        out["visits"] = _integer(P, cols, build, dh_rows, did, hid, D, Y, S, integer_time)
    return out


def _integer(P: Problem, cols: list[Col], build: Callable[[], Built], dh_rows: set[tuple[int, int]],
             did: Mapping[Any, int], hid: Mapping[Any, int], D: int, Y: int, S: int,
             limit: float) -> list[Visit] | None:
    """The best plan made of the generated day-routes: the master as an integer program, with
    every delegation-host row that two columns of one delegation could break."""
    from scipy.optimize import LinearConstraint, milp

    seen: dict[tuple[int, int], set[int]] = defaultdict(set)
    for d, y, r in cols:
        for i in r:
            seen[(d, i)].add(y)
    dh_rows.update(key for key, ys in seen.items() if len(ys) > 1)
    cost, A, b, Aeq = build()
    cons = [LinearConstraint(A, -np.inf, b), LinearConstraint(Aeq, 1, 1)]
    res = milp(cost, constraints=cons, integrality=np.ones(len(cost)), bounds=(0, 1),
               options={"time_limit": float(limit), "disp": False})
    if res.x is None:
        return None
    out = []
    for j, (d, y, r) in enumerate(cols):
        if res.x[j] > 0.5:
            for s_, i in enumerate(r):
                out.append(Visit(y + 1, s_ + 1, P.delegations[d].id, P.hosts[i].org_id))
    return out


@overload
def _price(dm: Arr, node: Arr, st: IArr, distinct_streets: bool, exact: bool = True) -> tuple[Route | None, float]: ...
@overload
def _price(dm: Arr, node: Arr, st: IArr, distinct_streets: bool, exact: bool = True, *,
           many: int) -> tuple[Route | None, float] | list[tuple[Route, float]]: ...
def _price(dm: Arr, node: Arr, st: IArr, distinct_streets: bool, exact: bool = True,
           many: int = 0) -> tuple[Route | None, float] | list[tuple[Route, float]]:
    """Cheapest route over S layers: Σ node[s, i_s] + Σ dm[i_s, i_s+1], hosts distinct (and
    streets distinct when asked) for S ≤ 3; a layered shortest path (relaxation) beyond.
    `exact` is kept for callers (every case here is exact except the S > 3 relaxation);
    `many` (S = 3): the best routes through the `many` best middle hosts, as a list."""
    S, n = node.shape
    if S == 1:
        i = int(np.argmin(node[0]))
        return (i,), float(node[0, i])
    if S == 2:
        M = node[0][:, None] + dm + node[1][None, :]
        bad = np.eye(n, dtype=bool)
        if distinct_streets:
            bad |= st[:, None] == st[None, :]
        M = np.where(bad, np.inf, M)
        a, b = np.unravel_index(int(np.argmin(M)), M.shape)
        if not np.isfinite(M[a, b]):
            return None, 0.0
        return (int(a), int(b)), float(M[a, b])
    if S == 3:
        # exact: for each middle host m take the best first host a1 (street s1) and the best
        # first host a2 of another street (another host when streets may repeat), likewise b1,
        # b2 for the last host; the best valid route through m is (a1, b1) when their streets
        # differ, else the better of (a1, b2) and (a2, b1) (an optimum cannot have both ends
        # in s1, and swapping the end that is not in s1 for a2 or b2 costs no more).
        bad = np.eye(n, dtype=bool)
        if distinct_streets:
            bad |= st[:, None] == st[None, :]
        F = np.where(bad, np.inf, node[0][:, None] + dm)        # F[a, m]
        G = np.where(bad, np.inf, dm + node[2][None, :]).T      # G[b, m]
        ar = np.arange(n)
        a1 = np.argmin(F, axis=0)
        b1 = np.argmin(G, axis=0)
        if distinct_streets:
            F2 = np.where(st[:, None] == st[a1][None, :], np.inf, F)
            G2 = np.where(st[:, None] == st[b1][None, :], np.inf, G)
        else:
            F2 = F.copy()
            F2[a1, ar] = np.inf
            G2 = G.copy()
            G2[b1, ar] = np.inf
        a2 = np.argmin(F2, axis=0)
        b2 = np.argmin(G2, axis=0)
        fa1, fa2, gb1, gb2 = F[a1, ar], F2[a2, ar], G[b1, ar], G2[b2, ar]
        clash = (st[a1] == st[b1]) if distinct_streets else (a1 == b1)
        v11 = np.where(clash, np.inf, fa1 + gb1)
        if distinct_streets:
            v12 = np.where(st[a1] == st[b2], np.inf, fa1 + gb2)
            v21 = np.where(st[a2] == st[b1], np.inf, fa2 + gb1)
        else:
            v12 = np.where(a1 == b2, np.inf, fa1 + gb2)
            v21 = np.where(a2 == b1, np.inf, fa2 + gb1)
        vals = np.stack([v11, v12, v21]) + node[1][None, :]
        which = np.argmin(vals, axis=0)
        best_m = vals[which, ar]
        m = int(np.argmin(best_m))
        if not np.isfinite(best_m[m]):
            return [] if many else (None, 0.0)  # no route at all (a list when routes were asked for)
        w = int(which[m])
        first = int((a1, a1, a2)[w][m])
        last = int((b1, b2, b1)[w][m])
        if many:
            routes: list[tuple[Route, float]] = []
            for mm in np.argsort(best_m)[:many]:
                if not np.isfinite(best_m[mm]):
                    break
                w = int(which[mm])
                routes.append(((int((a1, a1, a2)[w][mm]), int(mm), int((b1, b2, b1)[w][mm])), float(best_m[mm])))
            return routes
        return (first, m, last), float(best_m[m])
    # S > 3: layered shortest path (may revisit a host: a relaxation)
    cost = node[0].copy()
    back = []
    for s in range(1, S):
        tot = cost[:, None] + dm
        arg = np.argmin(tot, axis=0)
        cost = tot[arg, np.arange(n)] + node[s]
        back.append(arg)
    i = int(np.argmin(cost))
    val = float(cost[i])
    route = [i]
    for arg in reversed(back):
        i = int(arg[i])
        route.append(i)
    return tuple(reversed(route)), val


__all__ = ["travel_bound"]
