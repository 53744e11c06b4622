"""Solver local search (phases A5 and C, see `solver`): replace / swap / ejection-chain moves on
who-visits-whom, then on the timetable; every move lowers the lexicographic cost tuple."""

from __future__ import annotations

import time

from .solver_state import ZERO7, Assignment, Instance, Timetable


def improve_bip(I: Instance, B: Assignment, deadline: float) -> None:
    """Replace / swap / bump moves on 'bad' edges until none improves the cost tuple."""
    for _ in range(60):
        improved = False
        for d in range(I.D):
            if time.perf_counter() > deadline:
                return
            for h in sorted(B.sets[d]):
                if h not in B.sets[d] or (d, h) in B.fixed or not B.is_bad(d, h):
                    continue
                S = B.sets[d]
                best, bdelta = None, ZERO7
                for h2 in I.allowed[d]:
                    if h2 in S:
                        continue
                    if B.load[h2] < I.u[h2]:
                        t = B.d_replace(d, h, h2)
                        if t < bdelta:
                            best, bdelta = ("r", h2, -1), t
                    for d2 in B.users[h2]:
                        if (d2, h2) in B.fixed or h in B.sets[d2] or h not in I.allowed_set[d2]:
                            continue
                        t = B.d_swap(d, h, d2, h2)
                        if t < bdelta:
                            best, bdelta = ("s", h2, d2), t
                if best is None:
                    size = I.D * I.H
                    depth = 3 if size <= 400 else (2 if size <= 5000 or (I.lag[d] and B.cov[d] == 0) else 0)
                    if depth:
                        chain, _ = _chain(I, B, d, h, depth, deadline)
                        if chain is not None:
                            _apply_chain(B, h, chain)
                            improved = True
                            continue
                if best is not None:
                    kind, h2, d2 = best
                    if kind == "r":
                        B.remove(d, h)
                        B.add(d, h2)
                    else:
                        B.remove(d, h)
                        B.remove(d2, h2)
                        B.add(d, h2)
                        B.add(d2, h)
                    improved = True
        if not improved:
            return


Chain = tuple[list[int], list[int]]  # the delegations of an ejection chain and the hosts they take


def _chain(I: Instance, B: Assignment, d0: int, h0: int, maxlen: int,
           deadline: float) -> tuple[Chain | None, tuple[int, ...]]:
    """Best improving ejection chain starting with d0 giving up h0: d0 takes t0 from d1, d1
    takes t1 from d2, …; it closes when a delegation takes h0 back (a cycle: loads unchanged)
    or ends at a host with spare capacity (h0 loses a visit, that host gains one). Every
    delegation and host appears once, so the parts of the cost change simply add up."""
    best: Chain | None = None
    bdelta: tuple[int, ...] = ZERO7
    load, u = B.load, I.u
    stack_d: list[int] = []
    stack_t: list[int] = []
    used_d = {d0}
    used_h = {h0}

    def dfs(d: int, g: int, acc: tuple[int, ...], depth: int) -> None:
        nonlocal best, bdelta
        if time.perf_counter() > deadline:
            return
        S = B.sets[d]
        for t in I.allowed[d]:
            if t in S:
                continue
            closing = t == h0
            if t in used_h and not closing:
                continue
            p = B.part(d, g, t)
            a = (acc[0] + p[0], acc[1] + p[1], acc[2] + p[2], acc[3] + p[3], acc[4] + p[4], acc[5] + p[5])
            if closing:
                if depth >= 1:
                    tot = (a[0], 0, a[1], a[2], a[3], a[4], a[5])
                    if tot < bdelta:
                        best, bdelta = (stack_d + [d], stack_t + [t]), tot
                continue
            if load[t] < u[t]:
                tot = (a[0], 2 * (load[t] - load[h0] + 1), a[1], a[2], a[3], a[4], a[5])
                if tot < bdelta:
                    best, bdelta = (stack_d + [d], stack_t + [t]), tot
            if depth + 1 < maxlen:
                for d2 in B.users[t]:
                    if d2 in used_d or (d2, t) in B.fixed:
                        continue
                    used_d.add(d2)
                    used_h.add(t)
                    stack_d.append(d)
                    stack_t.append(t)
                    dfs(d2, t, a, depth + 1)
                    stack_d.pop()
                    stack_t.pop()
                    used_h.discard(t)
                    used_d.discard(d2)

    dfs(d0, h0, (0, 0, 0, 0, 0, 0), 0)
    return best, bdelta


def _apply_chain(B: Assignment, h0: int, chain: Chain) -> None:
    ds, ts = chain
    gives = [h0] + ts[:-1]
    for d, g in zip(ds, gives):
        B.remove(d, g)
    for d, t in zip(ds, ts):
        B.add(d, t)


# ============================================================================ phase C

def fix_district(I: Instance, tt: Timetable) -> None:
    """An own-street visit while another host is free in that slot → move it there."""
    if I.mode != "district":
        return
    changed = True
    while changed:
        changed = False
        for d in range(I.D):
            for t in range(I.T):
                h = tt.X[d][t]
                if h < 0 or h not in I.own[d] or (d, t) in tt.lockcell:
                    continue
                cands = [h2 for h2 in I.allowed[d]
                         if h2 not in I.own[d] and h2 not in tt.sets[d] and tt.free(h2, t)]
                if cands:
                    h2 = min(cands, key=lambda x: tt.d_replace(d, h, x))
                    tt.unplace(d, t)
                    tt.place(d, t, h2)
                    changed = True


def improve_timetable(I: Instance, tt: Timetable, deadline: float) -> None:
    """Local search on the timetable: every move must lower the full cost tuple
    (objectives 0–3 as in phase A, then travel)."""
    S, T = I.S, I.T
    coords = I.has_coords
    lockcell = tt.lockcell
    EPS = 1e-7

    def better(t7: tuple[int, ...], dd: float) -> bool:
        if t7 != ZERO7:
            return t7 < ZERO7
        return dd < -EPS

    for _ in range(100):
        improved = False
        # 1. slot moves inside one delegation (travel only)
        if coords:
            for d in range(I.D):
                row = tt.X[d]
                for t1 in range(T):
                    for t2 in range(t1 + 1, T):
                        if (d, t1) in lockcell or (d, t2) in lockcell:
                            continue
                        h1, h2 = row[t1], row[t2]
                        if h1 < 0 and h2 < 0:
                            continue
                        if h2 >= 0 and not tt.free(h2, t1):
                            continue
                        if h1 >= 0 and not tt.free(h1, t2):
                            continue
                        y1, y2 = t1 // S, t2 // S
                        before = tt.route(d, y1) + (tt.route(d, y2) if y2 != y1 else 0.0)
                        after = tt.route(d, y1, t1, h2, t2, h1) + (
                            tt.route(d, y2, t1, h2, t2, h1) if y2 != y1 else 0.0)
                        if after - before < -EPS:
                            if h1 >= 0:
                                tt.unplace(d, t1)
                            if h2 >= 0:
                                tt.unplace(d, t2)
                            if h2 >= 0:
                                tt.place(d, t1, h2)
                            if h1 >= 0:
                                tt.place(d, t2, h1)
                            improved = True
        if time.perf_counter() > deadline:
            return
        # 2. replace / swap a visit's host within its slot
        for d in range(I.D):
            if time.perf_counter() > deadline:
                return
            for t in range(T):
                h = tt.X[d][t]
                if h < 0 or (d, t) in lockcell:
                    continue
                bad = tt.is_bad(d, h)
                y = t // S
                if coords:
                    row = tt.X[d]
                    nb = [row[x] for x in range(y * S, y * S + S) if row[x] >= 0 and x != t]
                    if not nb and not bad:
                        continue
                    if bad:
                        cands = I.allowed[d]
                    else:
                        seen: set[int] = set()
                        cands = []
                        for a in nb:
                            for x in I.knn(a):
                                if x not in seen:
                                    seen.add(x)
                                    cands.append(x)
                    base = tt.route(d, y)
                elif bad:
                    cands = I.allowed[d]
                    base = 0.0
                else:
                    continue
                S_ = tt.sets[d]
                best, bt, bd = None, ZERO7, 0.0
                allowed = I.allowed_set[d]
                for h2 in cands:
                    if h2 in S_ or h2 not in allowed:
                        continue
                    dd = None  # route change of d, computed only when the rest is not worse
                    if tt.free(h2, t):
                        t7 = tt.d_replace(d, h, h2)
                        if t7 <= bt:
                            dd = (tt.route(d, y, t, h2) - base) if coords else 0.0
                            if (t7, dd) < (bt, bd) and better(t7, dd):
                                best, bt, bd = (h2, -1), t7, dd
                    for d2 in tt.who[h2][t]:
                        if (d2, t) in lockcell or h in tt.sets[d2] or h not in I.allowed_set[d2]:
                            continue
                        t7 = tt.d_swap(d, h, d2, h2)
                        if t7 > bt:
                            continue
                        if dd is None:
                            dd = (tt.route(d, y, t, h2) - base) if coords else 0.0
                        dd2 = dd + (tt.route(d2, y, t, h) - tt.route(d2, y) if coords else 0.0)
                        if (t7, dd2) < (bt, bd) and better(t7, dd2):
                            best, bt, bd = (h2, d2), t7, dd2
                if best is not None:
                    h2, d2 = best
                    tt.unplace(d, t)
                    if d2 >= 0:
                        tt.unplace(d2, t)
                        tt.place(d2, t, h)
                    tt.place(d, t, h2)
                    improved = True
        if not improved:
            return
