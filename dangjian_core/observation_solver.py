"""The observation-arrangement solver (观摩互进排程). Entry point: `solve_problem`, called by
`observation.solve`.

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
      `observation_bound._price`; hosts may take back what they gave up, or one visit when no
      busier than the least busy host freed; own street, repeated pairs and street pairs
      excluded, street-distinct when the delegation's streets were);
   2. descent: phase C moves, each day-route rebuilt alone, each slot re-solved as an
      assignment problem (Hungarian method) among the delegations out in it;
   3. large-neighbourhood search until the budget: 2–6 day-routes of one day lying close
      together are ruined and recreated as in 1 (random order), kept when shorter;
   4. exact pass (`exact=True`, the page's「进一步优化路线」, or by default when delegations ×
      days × hosts ≤ SMALL_EXACT): column generation over day-routes and an integer program
      over the routes found (observation_bound, scipy/HiGHS); its plan replaces the heuristic
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

import heapq
import math
import random
import time
from collections import defaultdict, deque

from .observation import (
    Infeasible,
    Plan,
    Problem,
    Visit,
    allowed_hosts,
    check_plan,
    plan_cost,
    summarise,
)

R_EARTH = 6371.0088
DEFAULT_TIME_LIMIT = 1.5  # seconds for the local-search phases
EXACT_NODE_LIMIT = 400_000
KNN_REROUTE = 40
SMALL_EXACT = 600  # delegations × days × hosts up to which the exact pass runs by default


# ============================================================================ instance

class _Inst:
    def __init__(self, P: Problem):
        self.P = P
        self.mode = P.mode
        self.H = len(P.hosts)
        self.D = len(P.delegations)
        self.S = P.slots_per_day
        self.T = P.slots
        self.k = P.visits_per_delegation
        self.hid = {h.org_id: i for i, h in enumerate(P.hosts)}
        self.did = {d.id: i for i, d in enumerate(P.delegations)}
        streets = sorted({h.street for h in P.hosts} | {d.street for d in P.delegations})
        sidx = {s: i for i, s in enumerate(streets)}
        self.streets = streets
        self.hs = [sidx[h.street] for h in P.hosts]
        self.ds = [sidx[d.street] for d in P.delegations]
        self.cap = [h.capacity for h in P.hosts]
        self.pref = [1 if h.preferred else 0 for h in P.hosts]
        self.lag = [bool(d.lagging) for d in P.delegations]
        self.allowed = [allowed_hosts(P, d) for d in P.delegations]
        self.allowed_set = [set(a) for a in self.allowed]
        n_allowed = [0] * self.H
        for a in self.allowed:
            for h in a:
                n_allowed[h] += 1
        self.u = [min(self.cap[h] * self.T, n_allowed[h]) for h in range(self.H)]
        if self.mode == "district":
            self.own = [{h for h in self.allowed[d] if self.hs[h] == self.ds[d]} for d in range(self.D)]
        else:
            self.own = [set() for _ in range(self.D)]
        self.prev = [set() for _ in range(self.D)]
        for dname, hname in P.previous_pairs:
            d, h = self.did.get(dname), self.hid.get(hname)
            if d is not None and h is not None:
                self.prev[d].add(h)
        self.prev_ss = set()
        if self.mode != "internal":
            for a, b in P.street_pairs_previous():
                if a in sidx and b in sidx:
                    self.prev_ss.add((sidx[a], sidx[b]))
        self.has_coords = any(h.lat is not None and h.lon is not None for h in P.hosts)
        self.ll = []
        self.xy = []
        lat0 = 0.0
        if self.has_coords:
            lats = [h.lat for h in P.hosts if h.lat is not None]
            lat0 = math.radians(sum(lats) / len(lats))
        for h in P.hosts:
            if h.lat is None or h.lon is None:
                self.ll.append(None)
                self.xy.append(None)
            else:
                la, lo = math.radians(h.lat), math.radians(h.lon)
                self.ll.append((la, lo, math.cos(la)))
                self.xy.append((R_EARTH * lo * math.cos(lat0), R_EARTH * la))
        self._dc: dict[int, float] = {}
        self._knn: dict[int, list[int]] | None = None
        self._pts: list[tuple[int, float, float]] = []

    # --- geometry
    def dist(self, a: int, b: int) -> float:
        if a == b:
            return 0.0
        key = a * self.H + b if a < b else b * self.H + a
        v = self._dc.get(key)
        if v is None:
            p, q = self.ll[a], self.ll[b]
            if p is None or q is None:
                v = 0.0
            else:
                x = math.sin((q[0] - p[0]) / 2) ** 2 + p[2] * q[2] * math.sin((q[1] - p[1]) / 2) ** 2
                v = 2 * R_EARTH * math.asin(min(1.0, math.sqrt(x)))
            self._dc[key] = v
        return v

    def approx2(self, a: int, b: int) -> float:
        p, q = self.xy[a], self.xy[b]
        if p is None or q is None:
            return 0.0
        return (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2

    def knn(self, h: int) -> list[int]:
        """Hosts nearest to h (planar approximation), nearest first; computed on first use
        (only hosts on some route are ever asked for)."""
        if self._knn is None:
            self._knn = {}
            self._pts = [(j, p[0], p[1]) for j, p in enumerate(self.xy) if p is not None]
        out = self._knn.get(h)
        if out is None:
            p = self.xy[h]
            if p is None:
                out = []
            else:
                x, y = p
                K = min(self.H - 1, 60)
                near = heapq.nsmallest(K + 1, [((px - x) ** 2 + (py - y) ** 2, j) for j, px, py in self._pts])
                out = [j for _, j in near if j != h][:K]
            self._knn[h] = out
        return out

    # --- labels
    def dlabel(self, d: int) -> str:
        return self.P.delegations[d].label

    def hlabel(self, h: int) -> str:
        return self.P.hosts[h].label

    def tlabel(self, t: int) -> str:
        return self.P.slot_label(t // self.S + 1, t % self.S + 1)


# ============================================================================ bipartite state

class _Bip:
    """Who visits whom, with the counters the cost tuple needs."""

    def __init__(self, I: _Inst):
        self.I = I
        self.sets = [set() for _ in range(I.D)]
        self.users = [set() for _ in range(I.H)]
        self.load = [0] * I.H
        self.cov = [0] * I.D
        self.nst = [defaultdict(int) for _ in range(I.D)]
        self.fixed: set[tuple[int, int]] = set()

    def add(self, d: int, h: int) -> None:
        self.sets[d].add(h)
        self.users[h].add(d)
        self.load[h] += 1
        self.cov[d] += self.I.pref[h]
        self.nst[d][self.I.hs[h]] += 1

    def remove(self, d: int, h: int) -> None:
        self.sets[d].discard(h)
        self.users[h].discard(d)
        self.load[h] -= 1
        self.cov[d] -= self.I.pref[h]
        n = self.nst[d]
        s = self.I.hs[h]
        n[s] -= 1
        if n[s] == 0:
            del n[s]

    def part(self, d: int, h: int, h2: int) -> tuple:
        """Change of (own, uncovered, nonpref, repeated pair, repeated street pair, spread) when
        delegation d gives up h and takes h2 (host loads handled by the caller)."""
        I = self.I
        own = I.own[d]
        o = (h2 in own) - (h in own)
        if I.lag[d]:
            c = self.cov[d]
            c2 = c - I.pref[h] + I.pref[h2]
            unc = (c2 == 0) - (c == 0)
        else:
            unc = 0
        np_ = I.pref[h] - I.pref[h2]
        prev = I.prev[d]
        rep = (h2 in prev) - (h in prev)
        s, s2 = I.hs[h], I.hs[h2]
        if s == s2 or I.mode == "internal":
            return o, unc, np_, rep, 0, 0
        n = self.nst[d]
        a, b = n.get(s, 0), n.get(s2, 0)
        sp = 2 * (b - a + 1)
        pss = I.prev_ss
        ds = I.ds[d]
        ss = (b == 0 and (ds, s2) in pss) - (a == 1 and (ds, s) in pss)
        return o, unc, np_, rep, ss, sp

    def d_replace(self, d: int, h: int, h2: int) -> tuple:
        o, unc, np_, rep, ss, sp = self.part(d, h, h2)
        return (o, 2 * (self.load[h2] - self.load[h] + 1), unc, np_, rep, ss, sp)

    def d_swap(self, d1: int, h1: int, d2: int, h2: int) -> tuple:
        a = self.part(d1, h1, h2)
        b = self.part(d2, h2, h1)
        return (a[0] + b[0], 0, a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], a[5] + b[5])

    def is_bad(self, d: int, h: int) -> bool:
        """Can the edge (d, h) take part in an improving move for objectives 0 and 2–3?"""
        I = self.I
        if h in I.own[d] or not I.pref[h] or h in I.prev[d]:
            return True
        if I.lag[d] and self.cov[d] == 0:
            return True
        if I.mode != "internal":
            s = I.hs[h]
            if self.nst[d].get(s, 0) > 1 or (I.ds[d], s) in I.prev_ss:
                return True
        return False


ZERO7 = (0, 0, 0, 0, 0, 0, 0)


# ============================================================================ checks before solving

def _street(s: str) -> str:
    """「街道X」, or the name alone when it already says what it is (东湖街道, 新塘镇)."""
    named = any(x in s for x in ("街道", "镇", "乡", "片区", "社区")) or s.endswith("街")
    return s if named else f"街道{s}"


def _fmt_list(names: list[str], limit: int = 5) -> str:
    if len(names) <= limit:
        return "、".join(names)
    return "、".join(names[:limit]) + f"等 {len(names)} 个"


def _precheck(I: _Inst, locks: list[tuple[int, int, int]]) -> None:
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


def _validate_locks(I: _Inst, locked: list[Visit]) -> list[tuple[int, int, int]]:
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
    cell, pair, occ, cnt = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(int)
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

def _greedy(I: _Inst, B: _Bip, rng: random.Random) -> None:
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
                    key = (B.load[h], need and not p, not p, h in prev,
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


def _augment_from(I: _Inst, B: _Bip, d0: int, allow_own: bool):
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


def _hall_message(I: _Inst, B: _Bip, info, locked: bool) -> str:
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


def _complete(I: _Inst, B: _Bip, locked: bool) -> None:
    for d in range(I.D):
        while len(B.sets[d]) < I.k:
            ok, info = _augment_from(I, B, d, allow_own=False)
            if not ok and I.mode == "district":
                ok, info = _augment_from(I, B, d, allow_own=True)
            if not ok:
                raise Infeasible(_hall_message(I, B, info, locked))


def _reduce_own(I: _Inst, B: _Bip) -> None:
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


def _balance(I: _Inst, B: _Bip, deadline: float) -> None:
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


def _improve_bip(I: _Inst, B: _Bip, deadline: float) -> None:
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


def _chain(I: _Inst, B: _Bip, d0: int, h0: int, maxlen: int, deadline: float):
    """Best improving ejection chain starting with d0 giving up h0: d0 takes t0 from d1, d1
    takes t1 from d2, …; it closes when a delegation takes h0 back (a cycle: loads unchanged)
    or ends at a host with spare capacity (h0 loses a visit, that host gains one). Every
    delegation and host appears once, so the parts of the cost change simply add up."""
    best, bdelta = None, ZERO7
    load, u = B.load, I.u
    stack_d: list[int] = []
    stack_t: list[int] = []
    used_d = {d0}
    used_h = {h0}

    def dfs(d: int, g: int, acc: tuple, depth: int) -> None:
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


def _apply_chain(B: _Bip, h0: int, chain) -> None:
    ds, ts = chain
    gives = [h0] + ts[:-1]
    for d, g in zip(ds, gives):
        B.remove(d, g)
    for d, t in zip(ds, ts):
        B.add(d, t)


# ============================================================================ timetable

class _TT(_Bip):
    """A timetable: X[d][t] = host or -1; who[h][t] = delegations there."""

    def __init__(self, I: _Inst, locks: list[tuple[int, int, int]]):
        super().__init__(I)
        self.X = [[-1] * I.T for _ in range(I.D)]
        self.who = [[[] for _ in range(I.T)] for _ in range(I.H)]
        self.lockcell = {(d, t) for d, t, _ in locks}
        self.nfree = None  # numpy mirrors (room per host and slot, loads) for the travel phase
        self.nload = None
        for d, t, h in locks:
            self.place(d, t, h)
            self.fixed.add((d, h))

    def np_enable(self) -> None:
        import numpy as np

        I = self.I
        self.nfree = np.array([[I.cap[h] - len(self.who[h][t]) for t in range(I.T)] for h in range(I.H)])
        self.nload = np.array(self.load)

    def place(self, d: int, t: int, h: int) -> None:
        self.X[d][t] = h
        self.who[h][t].append(d)
        self.add(d, h)
        if self.nfree is not None:
            self.nfree[h, t] -= 1
            self.nload[h] += 1

    def unplace(self, d: int, t: int) -> int:
        h = self.X[d][t]
        self.X[d][t] = -1
        self.who[h][t].remove(d)
        self.remove(d, h)
        if self.nfree is not None:
            self.nfree[h, t] += 1
            self.nload[h] -= 1
        return h

    def free(self, h: int, t: int) -> bool:
        return len(self.who[h][t]) < self.I.cap[h]

    def route(self, d: int, day: int, t_over: int = -1, h_over: int = -1, t2: int = -1, h2: int = -1) -> float:
        I = self.I
        row = self.X[d]
        prev = -1
        total = 0.0
        for t in range(day * I.S, day * I.S + I.S):
            h = h_over if t == t_over else (h2 if t == t2 else row[t])
            if h < 0:
                continue
            if prev >= 0:
                total += I.dist(prev, h)
            prev = h
        return total

    def visits(self) -> list[Visit]:
        I = self.I
        out = []
        for d in range(I.D):
            for t in range(I.T):
                h = self.X[d][t]
                if h >= 0:
                    out.append(Visit(t // I.S + 1, t % I.S + 1, I.P.delegations[d].id, I.P.hosts[h].org_id))
        return out


def _colour(I: _Inst, B: _Bip, locks, rng: random.Random):
    """König colouring of B's edges into slots, locked visits precoloured. → _TT or None."""
    T = I.T
    tt = _TT(I, locks)
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

    def kempe(c0: int, a: int, b: int):
        path = []
        node, is_copy, col = c0, True, a
        while True:
            if is_copy:
                d = copy_at[node][col]
                if d < 0:
                    return path
                if (d, col) in lockcell:
                    return None
                path.append((d, node, col))
                node, is_copy = d, False
            else:
                c = dcopy[node][col]
                if c < 0:
                    return path
                if (node, col) in lockcell:
                    return None
                path.append((node, c, col))
                node, is_copy = c, True
            col = b if col == a else a

    def assign(d, c, t):
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


def _repair_one(I: _Inst, tt: _TT, d: int, h: int) -> bool:
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


def _exact(I: _Inst, locks, node_limit: int = EXACT_NODE_LIMIT):
    """Depth-first search over (delegation, slot) cells. → _TT, or False if proven impossible,
    or None if the node limit was reached."""
    T, k = I.T, I.k
    tt = _TT(I, locks)
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


# ============================================================================ phase C

def _fix_district(I: _Inst, tt: _TT) -> None:
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


def _improve_tt(I: _Inst, tt: _TT, deadline: float) -> None:
    """Local search on the timetable: every move must lower the full cost tuple
    (objectives 0–3 as in phase A, then travel)."""
    S, T = I.S, I.T
    coords = I.has_coords
    lockcell = tt.lockcell
    EPS = 1e-7

    def better(t7, dd):
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


# ============================================================================ phase D: travel

def _tuple(I: _Inst, tt: _TT) -> tuple:
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


def _travel(I: _Inst, tt: _TT) -> float:
    return sum(tt.route(d, y) for d in range(I.D) for y in range(I.P.days))


def _legs(I: _Inst, row: list[int], t: int) -> tuple[int, int]:
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


def _slot_assign(I: _Inst, tt: _TT, t: int, use_free: bool) -> bool:
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
        if use_free and _tuple(I, tt) > before:
            for d in rows:
                tt.unplace(d, t)
            for d in rows:
                tt.place(d, t, olds[d])
            continue
        improved = True
    return improved


def _distm(I: _Inst):
    """All host-to-host distances (numpy, km), computed once."""
    m = getattr(I, "_distm", None)
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


def _static_ok(I: _Inst):
    """Per delegation, the hosts a rebuilt route may use without touching objectives 0 and 3
    (allowed, not own street, no pair or street pair repeated from the previous round)."""
    m = getattr(I, "_sok", None)
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


def _reroute(I: _Inst, tt: _TT, d: int, y: int, before: tuple) -> bool:
    """Take delegation d's whole day y out and put in the shortest day-route through hosts
    near the old one that have room in each slot; kept only when travel drops and the cost
    tuple of objectives 0–3 is not worse. → improved?"""
    import numpy as np

    from .observation_bound import _price

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


def _ruin_recreate(I: _Inst, tt: _TT, cells: list[tuple[int, int]], before: tuple, rng: random.Random) -> bool:
    """Large-neighbourhood step: take the day-routes of `cells` (delegation, day) out and put
    each back as the cheapest day-route through the hosts that then have room (cluster first:
    routes go where free hosts lie close together). Kept when travel drops and the cost tuple
    of objectives 0–3 is not worse. → improved?"""
    import numpy as np

    from .observation_bound import _price

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
        if len(idx) < S:
            ok = False
            break
        node = np.where(fr[idx] > 0, 0.0, np.inf).T
        route, val = _price(dmall[np.ix_(idx, idx)], node, I._hs_np[idx], distinct[d], exact=False)
        cand = idx
        if route is None or not np.isfinite(val) or len(set(route)) < S:
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


def _near_cells(I: _Inst, tt: _TT, q: int, rng: random.Random) -> list[tuple[int, int]]:
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


def _improve_travel(I: _Inst, tt: _TT, deadline: float, rng: random.Random) -> None:
    """Travel search that never worsens objectives 0–3: whole day-routes rebuilt through nearby
    hosts, each slot re-solved as an assignment, the replace/swap moves of `_improve_tt`; when
    stuck, day-routes are exchanged between delegations (a kick) and the best plan is kept."""
    if not I.has_coords:
        _improve_tt(I, tt, deadline)  # objectives 0–3 only
        return
    tt.np_enable()
    T, Y = I.T, I.P.days
    base = _tuple(I, tt)

    def descend() -> None:
        while time.perf_counter() < deadline:
            changed = False
            nonlocal base
            before = _travel(I, tt)
            _improve_tt(I, tt, deadline)
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
        _ruin_recreate(I, tt, [(d, y) for d in range(I.D) for y in range(Y)], base, rng)
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


# ============================================================================ entry point

def solve_problem(P: Problem, locked: list[Visit], *, seed: int = 0, time_limit: float | None = None,
                  exact: bool = False) -> Plan:
    t0 = time.perf_counter()
    limit = DEFAULT_TIME_LIMIT if time_limit is None else float(time_limit)
    I = _Inst(P)
    locks = _validate_locks(I, locked)
    _precheck(I, locks)
    tt = None
    attempts = 1 if not locks else 3
    for attempt in range(attempts):
        rng = random.Random(seed * 7919 + attempt)
        B = _Bip(I)
        for d, _t, h in locks:
            B.add(d, h)
            B.fixed.add((d, h))
        deadline = t0 + max(limit * 0.3, 1.0) * (attempt + 1) / attempts  # objectives 1–3 first
        _greedy(I, B, rng)
        _complete(I, B, bool(locks))
        _reduce_own(I, B)
        _balance(I, B, t0 + 60.0)  # objective 1 is not cut short by the search budget
        _improve_bip(I, B, deadline)
        tt = _colour(I, B, locks, rng)
        if tt is not None:
            break
    if tt is None:
        res = _exact(I, locks)
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
        and I.k == I.T and time_limit != 0
    _fix_district(I, tt)
    heur = min(limit * 0.4, DEFAULT_TIME_LIMIT * 4) if want_exact else limit  # the rest: exact pass
    _improve_travel(I, tt, t0 + max(0.0, heur), random.Random(seed))
    _fix_district(I, tt)
    visits = tt.visits()
    problems = check_plan(P, visits)
    if problems and locks:  # the heuristics could not place the rest around the locks: search
        res = _exact(I, locks)
        if res:
            _fix_district(I, res)
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


def _exact_pass(P: Problem, visits: list[Visit], budget: float):
    """Column generation over day-routes and an integer program over the routes it found
    (observation_bound). → (visits, proven travel bound or None). The integer plan replaces
    the heuristic one only when it is valid, its objectives 0–3 are not worse and its travel
    is shorter."""
    try:
        from .observation_bound import travel_bound
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


__all__ = ["solve_problem"]
