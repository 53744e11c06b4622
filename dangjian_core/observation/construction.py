"""Solver phases A–B (see `solver`): checks before solving, the greedy draft, completion by
augmenting paths (Hall certificates for `Infeasible`), own-street reduction, load balance,
König colouring into slots, and the exhaustive search for small instances with locks."""

from __future__ import annotations

import random
import time
from collections import defaultdict, deque
from typing import Literal

from .model import Infeasible, Visit
from .solver_state import Assignment, Instance, Timetable

EXACT_NODE_LIMIT = 400_000


# ============================================================================ checks before solving

def _street(s: str) -> str:
    """「街道X」, or the name alone when it already says what it is (东湖街道, 新塘镇)."""
    named = any(x in s for x in ("街道", "镇", "乡", "片区", "社区")) or s.endswith("街")
    return s if named else f"街道{s}"


def _fmt_list(names: list[str], limit: int = 5) -> str:
    if len(names) <= limit:
        return "、".join(names)
    return "、".join(names[:limit]) + f"等 {len(names)} 个"


def precheck(I: Instance, locks: list[tuple[int, int, int]]) -> None:
    P, k, T = I.P, I.k, I.T
    if k > T:
        raise Infeasible(f"每个观摩团要看 {k} 个点，但活动只有 {T} 个时段（{P.days} 天 × 每天 {P.slots_per_day} 个），"
                         "一个观摩团每个时段只能在一处：请减少每团参观次数或增加时段")
    # a delegation with fewer allowed hosts than k
    if I.mode == "internal":
        by_street: dict[str, list[int]] = defaultdict(list)
        for d in range(I.D):
            by_street[P.delegations[d].street].append(d)
        for s, ds in by_street.items():
            n = len(I.allowed[ds[0]])
            if n < k:
                raise Infeasible(f"{_street(s)}只有{n}个观摩点，但每个观摩团要看{k}个点（同一观摩团不能重复看同一个点）")
    else:
        for d in range(I.D):
            n = len(I.allowed[d])
            if n < k:
                if I.mode == "cross":
                    raise Infeasible(f"{I.dlabel(d)}可去的其他街道观摩点只有{n}个，但每个观摩团要看{k}个点"
                                     "（交叉观摩不能看本街道，同一观摩团不能重复看同一个点）")
                raise Infeasible(f"全区只有{n}个观摩点，但每个观摩团要看{k}个点（同一观摩团不能重复看同一个点）")
    # capacity per group (all of a group's delegations must be placed in its hosts)
    groups: list[tuple[str, list[int], list[int]]] = []
    if I.mode == "internal":
        for s in sorted({P.delegations[d].street for d in range(I.D)}):
            ds = [d for d in range(I.D) if P.delegations[d].street == s]
            groups.append((f"{_street(s)}：", ds, I.allowed[ds[0]]))
    else:
        groups.append(("", list(range(I.D)), list(range(I.H))))
    for prefix, ds, hs in groups:
        C = sum(I.cap[h] for h in hs)
        where = "本街道全部观摩点" if prefix else "全部观摩点"
        if k == T and len(ds) > C:
            raise Infeasible(f"{prefix}{I.tlabel(0)}需要接待的观摩团数（{len(ds)}个）超过{where}容量之和（{C}）："
                             f"每个观摩团要看{k}个点、共{T}个时段，每个时段都要全部出动")
        if k * len(ds) > T * C:
            raise Infeasible(f"{prefix}{len(ds)}个观摩团共需{k * len(ds)}次参观，超过{where}在全部{T}个时段的"
                             f"接待能力（容量之和{C} × {T}个时段 = {T * C}次）")
    # (with locks, k == T still means every delegation is out in every slot: the check above)


def validate_locks(I: Instance, locked: list[Visit]) -> list[tuple[int, int, int]]:
    P = I.P
    msgs: list[str] = []
    out: list[tuple[int, int, int]] = []
    names = {x.org_id: x.name for x in P.hosts}  # a person reads names, not ids
    for v in dict.fromkeys(locked):  # an exact duplicate of a lock is harmless
        d, h = I.did.get(v.delegation), I.hid.get(v.host_org_id)
        where = (f"锁定的参观（{v.delegation} → {names.get(v.host_org_id, v.host_org_id)}，"
                 f"第{v.day}天第{v.slot}时段）")
        if d is None:
            msgs.append(f"{where}：观摩团「{v.delegation}」不在本次观摩团名单中")
            continue
        if h is None:
            msgs.append(f"{where}：「{v.host_org_id}」不是本次的观摩点")
            continue
        if not (isinstance(v.day, int) and 1 <= v.day <= P.days and isinstance(v.slot, int)
                and 1 <= v.slot <= P.slots_per_day):
            msgs.append(f"{where}：没有这个时段（共 {P.days} 天，每天 {P.slots_per_day} 个时段）")
            continue
        if h not in I.allowed_set[d]:
            rule = ("街道内部观摩只能看本街道的观摩点" if I.mode == "internal"
                    else "各街道交叉观摩不能看本街道的观摩点")
            msgs.append(f"{where}：{rule}")
            continue
        out.append((d, (v.day - 1) * I.S + v.slot - 1, h))
    cell: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
    pair: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
    occ: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
    cnt: defaultdict[int, int] = defaultdict(int)
    for d, t, h in out:
        cell[(d, t)].append(h)
        pair[(d, h)].append(t)
        occ[(h, t)].append(d)
        cnt[d] += 1
    for (d, t), hs in cell.items():
        if len(hs) > 1:
            msgs.append(f"锁定的参观中，{I.dlabel(d)}在{I.tlabel(t)}同时在 {_fmt_list([I.hlabel(h) for h in hs])}")
    for (d, h), ts in pair.items():
        if len(ts) > 1:
            msgs.append(f"锁定的参观中，{I.dlabel(d)}重复参观{I.hlabel(h)}")
    for (h, t), ds in occ.items():
        if len(ds) > I.cap[h]:
            msgs.append(f"锁定的参观中，{I.hlabel(h)}在{I.tlabel(t)}接待 {len(ds)} 个观摩团，超过容量 {I.cap[h]}")
    for d, c in cnt.items():
        if c > I.k:
            msgs.append(f"锁定的参观中，{I.dlabel(d)}有 {c} 次参观，超过每团 {I.k} 次")
    if msgs:
        raise Infeasible("锁定的参观本身有冲突：" + "；".join(msgs[:10]) + ("……" if len(msgs) > 10 else ""))
    # keep one entry per (d, t) (exact duplicates of a lock are harmless)
    return sorted(set(out))


# ============================================================================ phase A

def greedy(I: Instance, B: Assignment, rng: random.Random) -> None:
    k = I.k
    rnd = [rng.random() for _ in range(I.H)]
    order = list(range(I.D))
    rng.shuffle(order)
    order.sort(key=lambda d: not I.lag[d])
    last: list[int] = [-1] * I.D
    for d in range(I.D):
        if B.sets[d]:
            last[d] = next(iter(B.sets[d]))
    pss = I.prev_ss
    coords = I.has_coords
    internal = I.mode == "internal"
    for r in range(k):
        seq = order if r % 2 == 0 else order[::-1]
        for d in seq:
            S = B.sets[d]
            if len(S) >= k:
                continue
            n = B.nst[d]
            need = I.lag[d] and B.cov[d] == 0
            own, prev, ds, a = I.own[d], I.prev[d], I.ds[d], last[d]
            best, bkey = -1, None
            for h in I.allowed[d]:
                if h in S or B.load[h] >= I.u[h]:
                    continue
                p = I.pref[h]
                if internal:
                    key: tuple[float, ...] = (B.load[h], need and not p, not p, h in prev,
                           I.approx2(a, h) if (coords and a >= 0) else 0.0, rnd[h])
                else:
                    s = I.hs[h]
                    ns = n.get(s, 0)
                    key = (h in own, B.load[h], need and not p, not p, h in prev,
                           ns == 0 and (ds, s) in pss, ns,
                           I.approx2(a, h) if (coords and a >= 0) else 0.0, rnd[h])
                if bkey is None or key < bkey:
                    best, bkey = h, key
            if best >= 0:
                B.add(d, best)
                last[d] = best


def _augment_from(I: Instance, B: Assignment, d0: int, allow_own: bool
                  ) -> tuple[bool, tuple[set[int], set[int]] | None]:
    """One more visit for d0 along an augmenting path. → (True, None) or (False, (S, N))."""
    parent_h: dict[int, int] = {}
    give: dict[int, int] = {}
    seen = {d0}
    q = deque([d0])
    while q:
        d = q.popleft()
        S = B.sets[d]
        own = I.own[d]
        for h in I.allowed[d]:
            if h in S or h in parent_h or (not allow_own and h in own):
                continue
            parent_h[h] = d
            if B.load[h] < I.u[h]:
                while True:
                    dd = parent_h[h]
                    B.add(dd, h)
                    if dd == d0:
                        return True, None
                    hh = give[dd]
                    B.remove(dd, hh)
                    h = hh
            for d2 in B.users[h]:
                if d2 not in seen and (d2, h) not in B.fixed:
                    seen.add(d2)
                    give[d2] = h
                    q.append(d2)
    return False, (seen, set(parent_h))


def _hall_message(I: Instance, B: Assignment, info: tuple[set[int], set[int]] | None, locked: bool) -> str:
    assert info is not None  # a failed augmentation says who is stuck
    S, N = info
    need = I.k * len(S)
    have = sum(len(B.sets[d]) for d in S)
    reach = set()
    for d in S:
        reach.update(I.allowed[d])
    if len(S) == I.D:
        who = f"全部{I.D}个观摩团"
    else:
        who = "观摩团" + _fmt_list([I.P.delegations[d].id for d in sorted(S)])
    lock = "（已计入锁定的参观）" if locked else ""
    return (f"{who}共需{need}次参观（每团{I.k}次），但它们可去的{len(reach)}个观摩点在全部{I.T}个时段里"
            f"最多只能为它们安排{have}次{lock}：每个观摩点每时段接待不超过其容量，且同一观摩团不能重复看同一个点"
            + ("；交叉观摩不能看本街道" if I.mode == "cross" else ""))


def complete(I: Instance, B: Assignment, locked: bool) -> None:
    for d in range(I.D):
        while len(B.sets[d]) < I.k:
            ok, info = _augment_from(I, B, d, allow_own=False)
            if not ok and I.mode == "district":
                ok, info = _augment_from(I, B, d, allow_own=True)
            if not ok:
                raise Infeasible(_hall_message(I, B, info, locked))


def reduce_own(I: Instance, B: Assignment) -> None:
    if I.mode != "district":
        return
    for d in range(I.D):
        for h in sorted(B.sets[d] & I.own[d]):
            if (d, h) in B.fixed:
                continue
            B.remove(d, h)
            ok, _ = _augment_from(I, B, d, allow_own=False)
            if not ok:
                B.add(d, h)


def balance(I: Instance, B: Assignment, deadline: float) -> None:
    """Shift visits along alternating paths from a host with load L to one with load ≤ L − 2
    until no such path exists (decreasingly-minimal loads)."""
    H = I.H
    live = [h for h in range(H) if I.u[h] > 0]
    if not live:
        return
    while time.perf_counter() < deadline:
        lmin = min(B.load[h] for h in live)
        order = sorted(live, key=lambda h: -B.load[h])
        done: set[int] = set()
        moved = False
        for h0 in order:
            L = B.load[h0]
            if L - lmin < 2:
                break
            if h0 in done:
                continue
            # BFS over hosts: h → h2 when some d using h (not fixed) may take h2
            par: dict[int, tuple[int, int]] = {h0: (-1, -1)}
            q = deque([h0])
            end = -1
            while q and end < 0:
                h = q.popleft()
                for d in B.users[h]:
                    if (d, h) in B.fixed:
                        continue
                    S, own = B.sets[d], I.own[d]
                    for h2 in I.allowed[d]:
                        if h2 in par or h2 in S or h2 in own:
                            continue
                        par[h2] = (h, d)
                        if B.load[h2] <= L - 2 and B.load[h2] < I.u[h2]:
                            end = h2
                            break
                        q.append(h2)
                    if end >= 0:
                        break
            if end < 0:
                done.update(par)  # everything reached from here has no target either
                continue
            h2 = end
            while h2 != h0:
                h, d = par[h2]
                B.add(d, h2)
                B.remove(d, h)
                h2 = h
            moved = True
            break
        if not moved:
            return


def colour(I: Instance, B: Assignment, locks: list[tuple[int, int, int]], rng: random.Random) -> Timetable | None:
    """König colouring of B's edges into slots, locked visits precoloured. → Timetable or None."""
    T = I.T
    tt = Timetable(I, locks)
    copy_host: list[int] = []
    copy_at: list[list[int]] = []
    host_copies: list[list[int]] = [[] for _ in range(I.H)]
    for h in range(I.H):
        for _ in range(I.cap[h]):
            host_copies[h].append(len(copy_host))
            copy_host.append(h)
            copy_at.append([-1] * T)
    dcopy = [[-1] * T for _ in range(I.D)]
    for d, t, h in locks:
        c = next(c for c in host_copies[h] if copy_at[c][t] == -1)
        copy_at[c][t] = d
        dcopy[d][t] = c
    deg = [sum(1 for x in row if x >= 0) for row in copy_at]
    lockcell = tt.lockcell
    slot_use = [0] * T
    for d, t, _ in locks:
        slot_use[t] += 1

    def kempe(c0: int, a: int, b: int) -> list[tuple[int, int, int]] | None:
        # the path alternates sides: from a host copy to the delegation it holds at `col`,
        # from a delegation to the copy it visits at `col`; each edge is (delegation, copy, slot)
        path: list[tuple[int, int, int]] = []
        node, is_copy, col = c0, True, a
        while True:
            other = (copy_at if is_copy else dcopy)[node][col]
            if other < 0:
                return path
            d, c = (other, node) if is_copy else (node, other)
            if (d, col) in lockcell:
                return None
            path.append((d, c, col))
            node, is_copy = other, not is_copy
            col = b if col == a else a

    def assign(d: int, c: int, t: int) -> None:
        copy_at[c][t] = d
        dcopy[d][t] = c

    edges = [(d, h) for d in range(I.D) for h in sorted(B.sets[d]) if (d, h) not in tt.fixed]
    rng.shuffle(edges)
    edges.sort(key=lambda e: -B.load[e[1]] / I.cap[e[1]])  # busiest hosts first
    left = []
    for d, h in edges:
        c = min(host_copies[h], key=lambda c: deg[c])
        deg[c] += 1
        fd = [t for t in range(T) if dcopy[d][t] < 0]
        fc = [t for t in range(T) if copy_at[c][t] < 0]
        fcs = set(fc)
        common = [t for t in fd if t in fcs]
        done = False
        if common:
            t = min(common, key=lambda t: (slot_use[t], t))
            assign(d, c, t)
            slot_use[t] += 1
            done = True
        else:
            for a in fd:
                for b in fc:
                    path = kempe(c, a, b)
                    if path is None:
                        continue
                    for dd, cc, col in path:
                        copy_at[cc][col] = -1
                        dcopy[dd][col] = -1
                    for dd, cc, col in path:
                        assign(dd, cc, b if col == a else a)
                    assign(d, c, a)
                    slot_use[a] += 1
                    done = True
                    break
                if done:
                    break
        if not done:
            deg[c] -= 1
            left.append((d, h))
    for d in range(I.D):
        for t in range(T):
            c = dcopy[d][t]
            if c >= 0 and (d, t) not in lockcell:
                tt.place(d, t, copy_host[c])
    for d, h in left:
        if not _repair_one(I, tt, d, h):
            return None
    return tt


def _repair_one(I: Instance, tt: Timetable, d: int, h: int) -> bool:
    """Place one more visit for d (preferably at h) in the timetable, moving at most one
    other unlocked visit. False when nothing simple works."""
    T = I.T
    free_t = [t for t in range(T) if tt.X[d][t] < 0]
    if h not in tt.sets[d]:
        for t in free_t:
            if tt.free(h, t):
                tt.place(d, t, h)
                return True
    cands = [h2 for h2 in I.allowed[d] if h2 not in tt.sets[d]]
    cands.sort(key=lambda h2: (h2 != h, h2 in I.own[d], tt.load[h2]))
    for h2 in cands:
        for t in free_t:
            if tt.free(h2, t):
                tt.place(d, t, h2)
                return True
    # one ejection: some d3 at (h2, t) moves to another free slot of its own, or another host
    for h2 in cands:
        for t in free_t:
            for d3 in list(tt.who[h2][t]):
                if (d3, t) in tt.lockcell:
                    continue
                for t3 in range(T):
                    if tt.X[d3][t3] < 0 and tt.free(h2, t3):
                        tt.unplace(d3, t)
                        tt.place(d3, t3, h2)
                        tt.place(d, t, h2)
                        return True
                for h4 in I.allowed[d3]:
                    if h4 not in tt.sets[d3] and tt.free(h4, t):
                        tt.unplace(d3, t)
                        tt.place(d3, t, h4)
                        tt.place(d, t, h2)
                        return True
    return False


# ============================================================================ exhaustive search (small)

class _Limit(Exception):
    pass


def exact_search(I: Instance, locks: list[tuple[int, int, int]], node_limit: int = EXACT_NODE_LIMIT
                 ) -> Timetable | Literal[False] | None:
    """Depth-first search over (delegation, slot) cells. → Timetable, or False if proven impossible,
    or None if the node limit was reached."""
    T, k = I.T, I.k
    tt = Timetable(I, locks)
    cnt = [len(tt.sets[d]) for d in range(I.D)]
    cells = [(d, t) for d in range(I.D) for t in range(T) if tt.X[d][t] < 0]
    left = [sum(1 for t in range(T) if tt.X[d][t] < 0) for d in range(I.D)]
    nodes = 0

    def district_ok() -> bool:
        if I.mode != "district":
            return True
        for d in range(I.D):
            for t in range(T):
                h = tt.X[d][t]
                if h >= 0 and h in I.own[d]:
                    for h2 in I.allowed[d]:
                        if h2 not in I.own[d] and h2 not in tt.sets[d] and tt.free(h2, t):
                            return False
        return True

    def rec(i: int) -> bool:
        nonlocal nodes
        nodes += 1
        if nodes > node_limit:
            raise _Limit
        if i == len(cells):
            return district_ok()
        d, t = cells[i]
        need = k - cnt[d]
        if need > 0:
            for h in sorted(I.allowed[d], key=lambda h: (h in I.own[d], tt.load[h])):
                if h in tt.sets[d] or not tt.free(h, t):
                    continue
                tt.place(d, t, h)
                cnt[d] += 1
                left[d] -= 1
                if rec(i + 1):
                    return True
                tt.unplace(d, t)
                cnt[d] -= 1
                left[d] += 1
        if left[d] - 1 >= need:
            left[d] -= 1
            if rec(i + 1):
                return True
            left[d] += 1
        return False

    if any(k - cnt[d] > left[d] for d in range(I.D)):
        return False
    try:
        return tt if rec(0) else False
    except _Limit:
        return None
