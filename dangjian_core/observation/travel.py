"""Solver phase D (see `solver`): shorter routes without giving up objectives 0–3 — day-routes
rebuilt through nearby free hosts, slots re-solved as assignment problems, and
large-neighbourhood search until the time budget."""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from typing import TYPE_CHECKING

from .local_search import improve_timetable
from .solver_state import R_EARTH, Instance, Timetable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

KNN_REROUTE = 40


# ============================================================================ phase D: travel

def _tuple(I: Instance, tt: Timetable) -> tuple[int, ...]:
    """The 7-part cost tuple of objectives 0–3 (as `plan_cost`), from the counters."""
    own = sum(len(tt.sets[d] & I.own[d]) for d in range(I.D)) if I.mode == "district" else 0
    sq = sum(x * x for x in tt.load)
    unc = sum(1 for d in range(I.D) if I.lag[d] and tt.cov[d] == 0)
    nonpref = sum(tt.load[h] for h in range(I.H) if not I.pref[h])
    rep = sum(len(tt.sets[d] & I.prev[d]) for d in range(I.D))
    if I.mode == "internal":
        return (own, sq, unc, nonpref, rep, 0, 0)
    pss = I.prev_ss
    rep_ss = sum(1 for d in range(I.D) for s in tt.nst[d] if (I.ds[d], s) in pss)
    spread = sum(c * c for d in range(I.D) for c in tt.nst[d].values())
    return (own, sq, unc, nonpref, rep, rep_ss, spread)


def _travel(I: Instance, tt: Timetable) -> float:
    return sum(tt.route(d, y) for d in range(I.D) for y in range(I.P.days))


def _legs(I: Instance, row: list[int], t: int) -> tuple[int, int]:
    """The visits before and after slot t on the same day of one delegation's row (-1: none)."""
    S = I.S
    y0 = (t // S) * S
    a = -1
    for x in range(t - 1, y0 - 1, -1):
        if row[x] >= 0:
            a = row[x]
            break
    b = -1
    for x in range(t + 1, y0 + S):
        if row[x] >= 0:
            b = row[x]
            break
    return a, b


_BIG = 1e9


def _assign(cost: list[list[float]]) -> list[int]:
    """Minimum-cost assignment of n rows to distinct columns of an n × m matrix (n ≤ m),
    by shortest augmenting paths with potentials (the Hungarian method, O(n²m)). → column of
    each row."""
    n, m = len(cost), len(cost[0])
    INF = math.inf
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    p = [0] * (m + 1)
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = [INF] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = p[j0]
            delta = INF
            j1 = 0
            ci = cost[i0 - 1]
            ui = u[i0]
            for j in range(1, m + 1):
                if not used[j]:
                    cur = ci[j - 1] - ui - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    out = [-1] * n
    for j in range(1, m + 1):
        if p[j]:
            out[p[j] - 1] = j - 1
    return out


def _slot_assign(I: Instance, tt: Timetable, t: int, use_free: bool) -> bool:
    """Re-solve slot t as an assignment problem: the delegations out in slot t are matched
    to the host places they occupy (and, with `use_free`, to free hosts that take no more
    visits than the ones they relieve), minimising the legs into and out of slot t. An edge
    is allowed only when it worsens none of that delegation's parts of objectives 0–3, so the
    cost tuple cannot get worse (checked after, reverted if it does). → improved?"""
    rows_all = [d for d in range(I.D) if tt.X[d][t] >= 0 and (d, t) not in tt.lockcell]
    if len(rows_all) < 1:
        return False
    if I.mode == "internal":
        groups: dict[int, list[int]] = defaultdict(list)
        for d in rows_all:
            groups[I.ds[d]].append(d)
        parts = list(groups.values())
    else:
        parts = [rows_all]
    improved = False
    for rows in parts:
        cols = [tt.X[d][t] for d in rows]
        if use_free:
            lo = min(tt.load[h] for h in cols)
            need_pref = any(I.pref[h] for h in cols)
            cand: set[int] = set()
            for d in rows:
                a, b = _legs(I, tt.X[d], t)
                for x in (a, b, tt.X[d][t]):
                    if x >= 0:
                        cand.update(I.knn(x)[:30])
            occ = set(cols)
            extra = [h for h in cand if h not in occ and tt.free(h, t) and tt.load[h] <= lo - 1
                     and (I.pref[h] or not need_pref)]
            if not extra:
                continue
            cols = cols + sorted(extra)[:2 * len(rows) + 10]
        if len(rows) == 1 and len(cols) == 1:
            continue
        n, m = len(rows), len(cols)
        cost = [[_BIG] * m for _ in range(n)]
        old = 0.0
        for i, d in enumerate(rows):
            row = tt.X[d]
            g = row[t]
            a, b = _legs(I, row, t)
            S_ = tt.sets[d]
            allowed = I.allowed_set[d]
            ci = cost[i]
            for j, h in enumerate(cols):
                if h != g:
                    if h in S_ or h not in allowed:
                        continue
                    o, unc, _np, rep, ss, sp = tt.part(d, g, h)
                    if o > 0 or unc > 0 or rep > 0 or ss > 0 or sp > 0:
                        continue
                c = 0.0
                if a >= 0:
                    c += I.dist(a, h)
                if b >= 0:
                    c += I.dist(h, b)
                ci[j] = c
            old += (I.dist(a, g) if a >= 0 else 0.0) + (I.dist(g, b) if b >= 0 else 0.0)
        cj = _assign(cost)
        ri = range(n)
        new = sum(cost[i][j] for i, j in zip(ri, cj))
        if new >= old - 1e-7 or new >= _BIG:
            continue
        before = _tuple(I, tt) if use_free else None
        olds = {d: tt.X[d][t] for d in rows}
        for d in rows:
            tt.unplace(d, t)
        for i, j in zip(ri, cj):
            tt.place(rows[i], t, cols[j])
        if before is not None and _tuple(I, tt) > before:  # before is set iff use_free
            for d in rows:
                tt.unplace(d, t)
            for d in rows:
                tt.place(d, t, olds[d])
            continue
        improved = True
    return improved


def _distm(I: Instance) -> npt.NDArray[np.float64]:
    """All host-to-host distances (numpy, km), computed once."""
    m: npt.NDArray[np.float64] | None = getattr(I, "_distm", None)
    if m is None:
        import numpy as np

        lat = np.radians([h.lat if h.lat is not None else 0.0 for h in I.P.hosts])
        lon = np.radians([h.lon if h.lon is not None else 0.0 for h in I.P.hosts])
        x = (np.sin((lat[:, None] - lat[None, :]) / 2) ** 2
             + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin((lon[:, None] - lon[None, :]) / 2) ** 2)
        m = 2 * R_EARTH * np.arcsin(np.minimum(1.0, np.sqrt(x)))
        missing = [i for i, p in enumerate(I.ll) if p is None]
        if missing:
            m[missing, :] = 0.0
            m[:, missing] = 0.0
        I._distm = m
    return m


def _static_ok(I: Instance) -> npt.NDArray[np.bool_]:
    """Per delegation, the hosts a rebuilt route may use without touching objectives 0 and 3
    (allowed, not own street, no pair or street pair repeated from the previous round)."""
    m: npt.NDArray[np.bool_] | None = getattr(I, "_sok", None)
    if m is None:
        import numpy as np

        m = np.zeros((I.D, I.H), dtype=bool)
        for d in range(I.D):
            for h in I.allowed[d]:
                if h in I.own[d] or h in I.prev[d] or (I.ds[d], I.hs[h]) in I.prev_ss:
                    continue
                m[d, h] = True
        I._sok = m
        I._hs_np = np.array(I.hs)
        I._pref_np = np.array(I.pref, dtype=bool)
    return m


def _reroute(I: Instance, tt: Timetable, d: int, y: int, before: tuple[int, ...]) -> bool:
    """Take delegation d's whole day y out and put in the shortest day-route through hosts
    near the old one that have room in each slot; kept only when travel drops and the cost
    tuple of objectives 0–3 is not worse. → improved?"""
    import numpy as np

    from .bound import _price

    S = I.S
    ts = list(range(y * S, y * S + S))
    row = tt.X[d]
    if any((d, t) in tt.lockcell for t in ts) or any(row[t] < 0 for t in ts):
        return False
    old = [row[t] for t in ts]
    old_len = tt.route(d, y)
    if old_len <= 1e-9:
        return False
    was_distinct = I.mode != "internal" and all(c <= 1 for c in tt.nst[d].values())
    all_pref = all(I.pref[h] for h in old)
    for t in ts:
        tt.unplace(d, t)
    near: set[int] = set(old)
    for h in old:
        near.update(I.knn(h)[:KNN_REROUTE])
    S_ = tt.sets[d]
    used_streets = set(tt.nst[d]) if was_distinct else set()
    allowed = I.allowed_set[d]
    lo_load = min(tt.load[h] for h in old)
    cand = [h for h in near if h in allowed and h not in S_ and (I.pref[h] or not all_pref)
            and I.hs[h] not in used_streets and tt.load[h] <= lo_load and h not in I.own[d]]
    ok = False
    if len(cand) >= S:
        cand.sort()
        idx = np.array(cand)
        dm = _distm(I)[np.ix_(idx, idx)]
        node = np.array([[0.0 if tt.free(h, t) else np.inf for h in cand] for t in ts])
        route, val = _price(dm, node, np.array([I.hs[h] for h in cand]), was_distinct, exact=False)
        if route is not None and np.isfinite(val) and val < old_len - 1e-7 and len(set(route)) == S:
            new = [cand[i] for i in route]
            for t, h in zip(ts, new):
                tt.place(d, t, h)
            if _tuple(I, tt) <= before:
                ok = True
            else:
                for t in ts:
                    tt.unplace(d, t)
    if not ok:
        for t, h in zip(ts, old):
            tt.place(d, t, h)
    return ok


def _ruin_recreate(I: Instance, tt: Timetable, cells: list[tuple[int, int]], before: tuple[int, ...],
                  rng: random.Random, *, order: list[tuple[int, int]] | None = None,
                  stuck: list[tuple[int, int]] | None = None) -> bool:
    """Large-neighbourhood step: take the day-routes of `cells` (delegation, day) out and put
    each back as the cheapest day-route through the hosts that then have room (cluster first:
    routes go where free hosts lie close together), in random order or in `order`. Kept when
    travel drops and the cost tuple of objectives 0–3 is not worse. → improved? A day-route
    that found no room is appended to `stuck` (`_cluster_first` puts it first next time)."""
    import numpy as np

    from .bound import _price

    assert tt.nfree is not None and tt.nload is not None  # np_enable() ran: the travel phase
    S = I.S
    for d, y in cells:
        for t in range(y * S, y * S + S):
            if (d, t) in tt.lockcell or tt.X[d][t] < 0:
                return False
    old_len = sum(tt.route(d, y) for d, y in cells)
    saved = {(d, y): [tt.X[d][t] for t in range(y * S, y * S + S)] for d, y in cells}
    old_hosts = [h for r in saved.values() for h in r]
    distinct = {d: I.mode != "internal" and all(c <= 1 for c in tt.nst[d].values()) for d, _ in cells}
    all_pref = all(I.pref[h] for h in old_hosts)
    for d, y in cells:
        for t in range(y * S, y * S + S):
            tt.unplace(d, t)

    give = np.zeros(I.H, dtype=int)  # each host may take back what it gave up …
    for h in old_hosts:
        give[h] += 1
    cap_load = tt.nload + give        # (loads before the ruin)
    lo_load = min(tt.load[h] for h in old_hosts)  # … and a host at most that busy may take one
    cap_load = np.maximum(cap_load, lo_load + 1)
    sok = _static_ok(I)
    base_mask = np.ones(I.H, dtype=bool)
    if all_pref:
        base_mask &= I._pref_np
    dmall = _distm(I)
    if order is None:
        order = list(cells)
        rng.shuffle(order)
    new_len = 0.0
    ok = True
    for d, y in order:
        ts = list(range(y * S, y * S + S))
        fr = tt.nfree[:, ts]
        mask = sok[d] & base_mask & (tt.nload < cap_load) & (fr.max(axis=1) > 0)
        if tt.sets[d]:
            mask[list(tt.sets[d])] = False
        if distinct[d] and tt.nst[d]:
            mask &= ~np.isin(I._hs_np, list(tt.nst[d]))
        idx = np.flatnonzero(mask)
        route: tuple[int, ...] | None = None
        if len(idx) >= S:
            node = np.where(fr[idx] > 0, 0.0, np.inf).T
            route, val = _price(dmall[np.ix_(idx, idx)], node, I._hs_np[idx], distinct[d], exact=False)
        cand = idx
        if route is None or not np.isfinite(val) or len(set(route)) < S:
            if stuck is not None:
                stuck.append((d, y))
            ok = False
            break
        for t, i in zip(ts, route):
            tt.place(d, t, int(cand[i]))
        new_len += val
        if new_len >= old_len - 1e-7:
            ok = False
            break
    if ok and new_len < old_len - 1e-7 and _tuple(I, tt) <= before:
        return True
    for d, y in cells:
        for t in range(y * S, y * S + S):
            if tt.X[d][t] >= 0:
                tt.unplace(d, t)
    for (d, y), r in saved.items():
        for t, h in zip(range(y * S, y * S + S), r):
            tt.place(d, t, h)
    return False


def _near_cells(I: Instance, tt: Timetable, q: int, rng: random.Random) -> list[tuple[int, int]]:
    """A random day-route and the q−1 day-routes (same day) whose hosts lie closest to it."""
    Y, S = I.P.days, I.S
    d0, y = rng.randrange(I.D), rng.randrange(Y)
    r0 = [tt.X[d0][t] for t in range(y * S, y * S + S) if tt.X[d0][t] >= 0]
    if not r0:
        return []
    import numpy as np

    R = np.array([[tt.X[d][t] for t in range(y * S, y * S + S)] for d in range(I.D)])
    dm = _distm(I)[np.asarray(r0)][:, np.maximum(R, 0).ravel()].reshape(len(r0), I.D, S)
    dm = np.where((R < 0)[None, :, :], np.inf, dm).min(axis=(0, 2))
    dm = dm + np.array([rng.random() * 0.5 for _ in range(I.D)])
    dm[d0] = np.inf
    scored = [(dm[d], d) for d in np.argsort(dm)[:q - 1] if np.isfinite(dm[d])]
    scored.sort()
    return [(d0, y)] + [(d, y) for _, d in scored[:q - 1]]


CLUSTER_TRIES = 12


def _cluster_first(I: Instance, tt: Timetable, before: tuple[int, ...], rng: random.Random, deadline: float) -> bool:
    """Every day-route rebuilt, one at a time, through free hosts close together
    (`_ruin_recreate` over all of them). Built greedily, the last few routes often find no
    host with room left (measured on the city event: 13 of 15 random orders fail at route
    58–60 of 60); so, squeaky wheel (Joslin & Clements 1999): the route that found no room goes
    first in the next try, up to CLUSTER_TRIES tries (~10 ms each at city scale) within the
    deadline (at least one try). A success is usually 480–575 km against ~1,200 km for the
    coloured timetable, the rest of the search then starts from there. → rebuilt?"""
    cells = [(d, y) for d in range(I.D) for y in range(I.P.days)]
    order = list(cells)
    rng.shuffle(order)
    for n in range(CLUSTER_TRIES):
        if n and time.perf_counter() > deadline:
            break
        stuck: list[tuple[int, int]] = []
        if _ruin_recreate(I, tt, cells, before, rng, order=order, stuck=stuck):
            return True
        if not stuck:  # rebuilt, but not shorter or objectives 0–3 not kept: another order will not help
            return False
        order.remove(stuck[0])
        order.insert(0, stuck[0])
    return False


def improve_travel(I: Instance, tt: Timetable, deadline: float, rng: random.Random) -> None:
    """Travel search that never worsens objectives 0–3: whole day-routes rebuilt through nearby
    hosts, each slot re-solved as an assignment, the replace/swap moves of `improve_timetable`; when
    stuck, day-routes are exchanged between delegations (a kick) and the best plan is kept."""
    if not I.has_coords:
        improve_timetable(I, tt, deadline)  # objectives 0–3 only
        return
    tt.np_enable()
    T, Y = I.T, I.P.days
    base = _tuple(I, tt)

    def descend() -> None:
        while time.perf_counter() < deadline:
            changed = False
            nonlocal base
            before = _travel(I, tt)
            improve_timetable(I, tt, deadline)
            base = min(base, _tuple(I, tt))  # phase C moves may also improve objectives 0–3
            cells = [(d, y) for d in range(I.D) for y in range(Y)]
            rng.shuffle(cells)
            for d, y in cells:
                if time.perf_counter() > deadline:
                    return
                if _reroute(I, tt, d, y, base):
                    changed = True
            order = list(range(T))
            rng.shuffle(order)
            for t in order:
                if time.perf_counter() > deadline:
                    return
                if _slot_assign(I, tt, t, False):
                    changed = True
                if _slot_assign(I, tt, t, True):
                    changed = True
            if not changed and _travel(I, tt) >= before - 1e-7:
                return

    full = I.P.visits_per_delegation == I.T
    if time.perf_counter() >= deadline:
        return
    if full:  # cluster first: every day-route rebuilt through free hosts close together
        _cluster_first(I, tt, base, rng, deadline)
    descend()
    if not full:
        return
    fails = 0
    while time.perf_counter() < deadline:
        q = rng.choice((2, 3, 3, 4, 5, 6))
        cells = _near_cells(I, tt, q, rng)
        if cells and _ruin_recreate(I, tt, cells, base, rng):
            fails = 0
            for d, y in cells:
                _reroute(I, tt, d, y, base)
        else:
            fails += 1
        if fails and fails % 200 == 0:
            descend()
