"""The solver's working state: the instance in index form (`Instance`: hosts and delegations
as integers, allowed hosts, previous pairs, distances), who-visits-whom with the counters the
cost tuple needs (`Assignment`) and the timetable (`Timetable`). See `solver` for the method."""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from typing import TYPE_CHECKING

from .model import Problem, Visit, allowed_hosts

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

R_EARTH = 6371.0088


# ============================================================================ instance

class Instance:
    # caches of the travel phase (`travel`), set on first use
    _distm: npt.NDArray[np.float64]
    _sok: npt.NDArray[np.bool_]
    _hs_np: npt.NDArray[np.int_]
    _pref_np: npt.NDArray[np.bool_]

    def __init__(self, P: Problem) -> None:
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
        self.prev: list[set[int]] = [set() for _ in range(self.D)]
        for dname, hname in P.previous_pairs:
            di, hi = self.did.get(dname), self.hid.get(hname)
            if di is not None and hi is not None:
                self.prev[di].add(hi)
        self.prev_ss: set[tuple[int, int]] = set()
        if self.mode != "internal":
            for sa, sb in P.street_pairs_previous():
                if sa in sidx and sb in sidx:
                    self.prev_ss.add((sidx[sa], sidx[sb]))
        self.has_coords = any(h.lat is not None and h.lon is not None for h in P.hosts)
        self.ll: list[tuple[float, float, float] | None] = []
        self.xy: list[tuple[float, float] | None] = []
        lat0 = 0.0
        if self.has_coords:
            lats = [h.lat for h in P.hosts if h.lat is not None]
            lat0 = math.radians(sum(lats) / len(lats))
        for host in P.hosts:
            if host.lat is None or host.lon is None:
                self.ll.append(None)
                self.xy.append(None)
            else:
                la, lo = math.radians(host.lat), math.radians(host.lon)
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

class Assignment:
    """Who visits whom, with the counters the cost tuple needs."""

    def __init__(self, I: Instance) -> None:
        self.I = I
        self.sets: list[set[int]] = [set() for _ in range(I.D)]
        self.users: list[set[int]] = [set() for _ in range(I.H)]
        self.load = [0] * I.H
        self.cov = [0] * I.D
        self.nst: list[defaultdict[int, int]] = [defaultdict(int) for _ in range(I.D)]
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

    def part(self, d: int, h: int, h2: int) -> tuple[int, int, int, int, int, int]:
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

    def d_replace(self, d: int, h: int, h2: int) -> tuple[int, int, int, int, int, int, int]:
        o, unc, np_, rep, ss, sp = self.part(d, h, h2)
        return (o, 2 * (self.load[h2] - self.load[h] + 1), unc, np_, rep, ss, sp)

    def d_swap(self, d1: int, h1: int, d2: int, h2: int) -> tuple[int, int, int, int, int, int, int]:
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


# ============================================================================ timetable

class Timetable(Assignment):
    """A timetable: X[d][t] = host or -1; who[h][t] = delegations there."""

    def __init__(self, I: Instance, locks: list[tuple[int, int, int]]) -> None:
        super().__init__(I)
        self.X = [[-1] * I.T for _ in range(I.D)]
        self.who: list[list[list[int]]] = [[[] for _ in range(I.T)] for _ in range(I.H)]
        self.lockcell = {(d, t) for d, t, _ in locks}
        # numpy mirrors (room per host and slot, loads) for the travel phase
        self.nfree: npt.NDArray[np.int_] | None = None
        self.nload: npt.NDArray[np.int_] | None = None
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
        if self.nfree is not None and self.nload is not None:
            self.nfree[h, t] -= 1
            self.nload[h] += 1

    def unplace(self, d: int, t: int) -> int:
        h = self.X[d][t]
        self.X[d][t] = -1
        self.who[h][t].remove(d)
        self.remove(d, h)
        if self.nfree is not None and self.nload is not None:
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
