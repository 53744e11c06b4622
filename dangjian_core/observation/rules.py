"""观摩互进: the pure rules — what fits, the checker, the cost and the summary of a plan, and
the scoring roll-up after the event. No database (spec: shared/spec/observation.md, domain.md §4).

delegation/host/slot; no delegation twice in a slot; no host twice for one delegation; per-slot
capacity; mode rules (internal: own street only; cross: never own street; district: own street
only when, in that slot, every other-street host the delegation has not seen is full); exactly
k visits per delegation.

Objectives, in lexicographic order (the solver's cost tuple, see `plan_cost`):
  0. own-street visits (district only);
  1. Σ load² over hosts (load = visits = distinct delegations received). Minimising the sum of
     squares over the integral base polyhedron of feasible load vectors gives the
     *decreasingly minimal* vector, which minimises max−min at the same time;
  2. lagging delegations without a preferred host; then visits to non-preferred hosts;
  3. (delegation, host) pairs repeated from the previous round; (street, street) pairs
     repeated; Σ over delegations and host streets of (visits to that street)² (spread);
  4. total route length (haversine, km) when coordinates exist.

Bounds reported by `summarise` (each a proven bound over *all* valid plans):
- host load spread: with u_h = min(capacity_h × slots, number of delegations allowed at h)
  (a host receives a delegation at most once, at most capacity per slot), each group g of hosts
  whose visit total V_g is fixed (internal: each street, V_g = k × its delegations; otherwise
  all hosts, V = k × delegations) satisfies: max load ≥ M_g := min{M : Σ_h min(u_h, M) ≥ V_g}
  (otherwise Σ loads < V_g), and min load ≤ m_g := min(min_h u_h, ⌊V_g/|g|⌋) (no load
  exceeds its u_h, and the minimum never exceeds the average). Hence
  max − min ≥ max_g M_g − min_g m_g (clipped at 0).
- repeated pairs ≥ Σ_d max(0, k − |allowed hosts of d not visited by d last round|).
- lagging coverage ≤ lagging delegations with at least one preferred host they may visit.

Scoring roll-up: `rank_hosts` and `propose_tiers` (after the event).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, cast

import polars as pl

from ..errors import BadInput
from .model import MODE_CN, Delegation, Host, Plan, Problem, Visit, allowed_hosts

# ============================================================================ what fits

def _street_name(s: str) -> str:
    """「街道X」, or the name alone when it already says what it is (东湖街道, 新塘镇)."""
    named = any(x in s for x in ("街道", "镇", "乡", "片区", "社区")) or s.endswith("街")
    return s if named else f"街道{s}"


def _fit_groups(problem: Problem) -> list[dict[str, Any]]:
    """The groups whose visits must all be received by a fixed set of hosts (internal: each
    street; otherwise all delegations), each with the figures that bound the visits."""
    P = problem
    allowed = {d.id: allowed_hosts(P, d) for d in P.delegations}
    parts: list[tuple[str | None, list[Delegation]]] = []
    if P.mode == "internal":
        by: dict[str, list[Delegation]] = defaultdict(list)
        for d in P.delegations:
            by[d.street].append(d)
        parts = [(s, by[s]) for s in sorted(by)]
    else:
        parts = [(None, list(P.delegations))]
    out: list[dict[str, Any]] = []
    for street, ds in parts:
        hs = sorted({h for d in ds for h in allowed[d.id]})
        reach = {h: sum(1 for d in ds if h in allowed[d.id]) for h in hs}
        out.append({"street": street, "delegations": len(ds), "hosts": len(hs),
                    "capacity": sum(P.hosts[h].capacity for h in hs),
                    "min_allowed": min((len(allowed[d.id]) for d in ds), default=0),
                    "caps": [(P.hosts[h].capacity, reach[h]) for h in hs]})
    return out


def _group_fits(g: dict[str, Any], k: int, T: int) -> bool:
    """Necessary conditions for k visits per delegation in T slots: a delegation is at one host
    per slot and sees a host once; a slot holds at most min(delegations, capacity) visits; a host
    receives at most min(capacity × T, delegations that may go there)."""
    D: int = g["delegations"]
    if k > T or k > g["min_allowed"]:
        return False
    if k * D > T * min(D, g["capacity"]):
        return False
    caps: list[tuple[int, int]] = g["caps"]
    return k * D <= sum(min(c * T, r) for c, r in caps)


def max_visits(problem: Problem, slots: int | None = None) -> int:
    """The most visits per delegation that can fit in `slots` (default: the problem's) with these
    hosts and capacities; 0 when not even one fits."""
    T = problem.slots if slots is None else slots
    best = T
    for g in _fit_groups(problem):
        while best > 0 and not _group_fits(g, best, T):
            best -= 1
    return best


def fit_advice(problem: Problem) -> str | None:
    """None when the problem's visits per delegation can fit; otherwise a sentence naming the
    group that does not fit and the nearest settings that do (fewer visits, or more slots)."""
    P, k, T = problem, problem.visits_per_delegation, problem.slots
    bad = [g for g in _fit_groups(P) if not _group_fits(g, k, T)]
    if not bad:
        return None
    g = bad[0]
    who = f"{_street_name(g['street'])} " if g["street"] is not None else "全部 "
    per_slot = min(g["delegations"], g["capacity"])
    head = (f"{who}{g['delegations']} 个观摩团、{g['hosts']} 个观摩点，每个时段最多接待 {per_slot} 个观摩团，"
            f"每团参观 {k} 次共需 {k * g['delegations']} 次参观，{T} 个时段（{P.days} 天 × 每天 {P.slots_per_day} 个）放不下")
    if k > g["min_allowed"]:
        head = (f"{who}{g['delegations']} 个观摩团，可去的观摩点只有 {g['min_allowed']} 个，"
                f"每团参观 {k} 次就要重复参观同一个点")
    fixes = []
    k_fit = max_visits(P)
    if k_fit >= 1:
        fixes.append(f"把每团参观次数改为 {k_fit}")
    groups = _fit_groups(P)
    spd = next((n for n in range(P.slots_per_day + 1, P.slots_per_day + 25)
                if all(_group_fits(x, k, P.days * n) for x in groups)), None)
    if spd is not None:
        fixes.append(f"把每天时段数增加到 {spd}")
    days = next((n for n in range(P.days + 1, P.days + 15)
                 if all(_group_fits(x, k, n * P.slots_per_day) for x in groups)), None)
    if days is not None:
        fixes.append(f"把天数增加到 {days}")
    fixes.append("增加观摩点或提高容量")
    return f"{head}：请{'，或'.join(fixes)}。"


# ============================================================================ checking

def check_plan(problem: Problem, plan: Plan | Iterable[Visit]) -> list[str]:
    """Every hard-constraint violation of `plan`, one Chinese sentence each naming the visit
    and the rule. Works on any list of visits (e.g. after a hand edit). Empty list = valid."""
    visits = list(plan.visits if isinstance(plan, Plan) else plan)
    P = problem
    hosts = {h.org_id: h for h in P.hosts}
    dels = {d.id: d for d in P.delegations}
    out: list[str] = []
    good: list[Visit] = []
    for n, v in enumerate(visits, 1):
        host = hosts[v.host_org_id].name if v.host_org_id in hosts else v.host_org_id  # names, not ids
        where = f"第 {n} 条安排（{v.delegation} → {host}，第{v.day}天第{v.slot}时段）"
        ok = True
        if v.delegation not in dels:
            out.append(f"{where}：观摩团「{v.delegation}」不在本次观摩团名单中")
            ok = False
        if v.host_org_id not in hosts:
            out.append(f"{where}：「{v.host_org_id}」不是本次的观摩点")
            ok = False
        if not (isinstance(v.day, int) and 1 <= v.day <= P.days):
            out.append(f"{where}：天数应在 1 到 {P.days} 之间")
            ok = False
        if not (isinstance(v.slot, int) and 1 <= v.slot <= P.slots_per_day):
            out.append(f"{where}：时段应在 1 到 {P.slots_per_day} 之间")
            ok = False
        if ok:
            good.append(v)
    at: dict[tuple[str, int, int], list[Visit]] = defaultdict(list)
    pair: dict[tuple[str, str], list[Visit]] = defaultdict(list)
    occ: dict[tuple[str, int, int], list[Visit]] = defaultdict(list)
    count: Counter[str] = Counter()
    for v in good:
        at[(v.delegation, v.day, v.slot)].append(v)
        pair[(v.delegation, v.host_org_id)].append(v)
        occ[(v.host_org_id, v.day, v.slot)].append(v)
        count[v.delegation] += 1
    for (d, day, slot), vs in at.items():
        if len(vs) > 1:
            names = "、".join(hosts[x.host_org_id].label for x in vs)
            out.append(f"{dels[d].label}在{P.slot_label(day, slot)}同时被安排到 {names}：一个观摩团同一时段只能在一处")
    for (d, h), vs in pair.items():
        if len(vs) > 1:
            when = "、".join(P.slot_label(x.day, x.slot) for x in sorted(vs))
            out.append(f"{dels[d].label}重复参观{hosts[h].label}（{when}）：同一观摩团不能重复看同一个点")
    for (h, day, slot), vs in occ.items():
        if len(vs) > hosts[h].capacity:
            names = "、".join(dels[x.delegation].label for x in vs)
            out.append(f"{hosts[h].label}在{P.slot_label(day, slot)}接待了 {len(vs)} 个观摩团（{names}），"
                       f"超过容量 {hosts[h].capacity}")
    visited: dict[str, set[str]] = defaultdict(set)
    for v in good:
        visited[v.delegation].add(v.host_org_id)
    for v in good:
        dg, ho = dels[v.delegation], hosts[v.host_org_id]
        when = P.slot_label(v.day, v.slot)
        if P.mode == "internal" and ho.street != dg.street:
            out.append(f"{dg.label}在{when}被安排到{ho.label}（{ho.street}）：街道内部观摩只能看本街道（{dg.street}）的观摩点")
        elif P.mode == "cross" and ho.street == dg.street:
            out.append(f"{dg.label}在{when}被安排到本街道的{ho.label}：各街道交叉观摩不能看本街道的观摩点")
        elif P.mode == "district" and ho.street == dg.street:
            free = [o for o in P.hosts if o.street != dg.street and o.org_id not in visited[dg.id]
                    and len(occ.get((o.org_id, v.day, v.slot), ())) < o.capacity]
            if free:
                out.append(f"{dg.label}在{when}被安排到本街道的{ho.label}，但该时段{free[0].label}等 {len(free)} 个"
                           "其他街道的观摩点还有空：全区示范观摩只有在其他观摩点都满时才能看本街道")
    k = P.visits_per_delegation
    for dg in P.delegations:
        if count[dg.id] != k:
            out.append(f"{dg.label}安排了 {count[dg.id]} 次参观，应为 {k} 次")
    return out


# ============================================================================ summary

def _haversine(a: Host, b: Host) -> float | None:
    if a.lat is None or b.lat is None or a.lon is None or b.lon is None:
        return None
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    x = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(x)))


def route_length_km(problem: Problem, visits: Iterable[Visit]) -> float | None:
    """Σ over delegations and days of the haversine length of the day's route (consecutive
    visits in slot order; a leg with a host lacking coordinates counts 0). None when no host
    has coordinates."""
    hosts = {h.org_id: h for h in problem.hosts}
    if not any(h.lat is not None for h in problem.hosts):
        return None
    by: dict[tuple[str, int], list[Visit]] = defaultdict(list)
    for v in visits:
        if v.host_org_id in hosts:
            by[(v.delegation, v.day)].append(v)
    total = 0.0
    for vs in by.values():
        vs.sort(key=lambda v: v.slot)
        for a, b in zip(vs, vs[1:]):
            total += _haversine(hosts[a.host_org_id], hosts[b.host_org_id]) or 0.0
    return total


def water_level(us: list[int], total: int) -> int:
    """Smallest M with Σ min(u, M) ≥ total (total ≤ Σ u): the fullest host's load when the
    visits fill the hosts as evenly as their capacities allow."""
    lo, hi = 0, max(us) if us else 0
    while lo < hi:
        mid = (lo + hi) // 2
        if sum(min(u, mid) for u in us) >= total:
            hi = mid
        else:
            lo = mid + 1
    return lo


def load_groups(problem: Problem) -> tuple[list[int], dict[str, list[int]], Counter[str]]:
    """(u, groups, demand): u_h, the most visits host h can receive (capacity × slots, and no more
    than the delegations allowed there); the groups of hosts whose visit total is fixed (internal:
    each street, otherwise all hosts, key "*") and that total per group."""
    P, T, k = problem, problem.slots, problem.visits_per_delegation
    n_allowed = [0] * len(P.hosts)
    for d in P.delegations:
        for i in allowed_hosts(P, d):
            n_allowed[i] += 1
    u = [min(h.capacity * T, n_allowed[i]) for i, h in enumerate(P.hosts)]
    groups: dict[str, list[int]] = defaultdict(list)
    demand: Counter[str] = Counter()
    if P.mode == "internal":
        for i, h in enumerate(P.hosts):
            groups[h.street].append(i)
        for d in P.delegations:
            demand[d.street] += k
    else:
        groups["*"] = list(range(len(P.hosts)))
        demand["*"] = k * len(P.delegations)
    return u, groups, demand


def load_spread_bound(problem: Problem) -> int:
    """Proven lower bound on max − min host load over all valid plans (module docstring)."""
    u, groups, demand = load_groups(problem)
    hi, lo = 0, None
    for g, idx in groups.items():
        V = demand[g]
        us = sorted(u[i] for i in idx)
        # M_g: smallest M with Σ min(u, M) ≥ V (if Σ u < V the instance is infeasible: use max u)
        M = 0
        if V > 0:
            M = max(us) if sum(us) < V else water_level(us, V)
        m = min(us[0], V // len(idx))
        hi = max(hi, M)
        lo = m if lo is None else min(lo, m)
    return max(0, hi - (lo or 0))


def plan_cost(problem: Problem, visits: Iterable[Visit]) -> tuple[int | float, ...]:
    """The solver's lexicographic cost tuple of a (valid) plan: (own-street visits, Σ load²,
    uncovered lagging delegations, visits to non-preferred hosts, repeated (delegation, host)
    pairs, repeated (street, street) pairs, Σ (visits per delegation and host street)², km)."""
    P = problem
    hosts = {h.org_id: h for h in P.hosts}
    dels = {d.id: d for d in P.delegations}
    vs = [v for v in visits if v.host_org_id in hosts and v.delegation in dels]
    load = Counter(v.host_org_id for v in vs)
    own = sum(1 for v in vs if P.mode == "district" and hosts[v.host_org_id].street == dels[v.delegation].street)
    sq = sum(c * c for c in load.values())
    covered = {v.delegation for v in vs if hosts[v.host_org_id].preferred}
    unc = sum(1 for d in P.delegations if d.lagging and d.id not in covered)
    nonpref = sum(1 for v in vs if not hosts[v.host_org_id].preferred)
    rep = sum(1 for v in vs if (v.delegation, v.host_org_id) in P.previous_pairs)
    ds = Counter((v.delegation, hosts[v.host_org_id].street) for v in vs)
    if P.mode == "internal":
        rep_ss, spread = 0, 0
    else:
        prev_ss = P.street_pairs_previous()
        rep_ss = sum(1 for (d, s) in ds if (dels[d].street, s) in prev_ss)
        spread = sum(c * c for c in ds.values())
    km = route_length_km(P, vs)
    return (own, sq, unc, nonpref, rep, rep_ss, spread, round(km or 0.0, 6))


def summarise(problem: Problem, plan: Plan | Iterable[Visit], *, travel_bound: float | None = None) -> dict[str, Any]:
    """Figures for the office: host loads (min/max, spread and its proven lower bound, gap),
    lagging→preferred coverage (and its upper bound), repeated pairs (and their lower bound),
    own-street visits, total route length and, when the solver proved one (`travel_bound`,
    see `bound`), the travel lower bound and the gap to it in per cent; and a
    one-paragraph Chinese `text`."""
    P = problem
    visits = list(plan.visits if isinstance(plan, Plan) else plan)
    hosts = {h.org_id: h for h in P.hosts}
    dels = {d.id: d for d in P.delegations}
    vs = [v for v in visits if v.host_org_id in hosts and v.delegation in dels]
    load = Counter(v.host_org_id for v in vs)
    loads = [load.get(h.org_id, 0) for h in P.hosts]
    lo, hi = (min(loads), max(loads)) if loads else (0, 0)
    bound = load_spread_bound(P)
    covered = {v.delegation for v in vs if hosts[v.host_org_id].preferred}
    lagging = [d for d in P.delegations if d.lagging]
    coverable = sum(1 for d in lagging if any(P.hosts[i].preferred for i in allowed_hosts(P, d)))
    k = P.visits_per_delegation
    rep = sum(1 for v in vs if (v.delegation, v.host_org_id) in P.previous_pairs)
    rep_bound = 0
    for d in P.delegations:
        fresh = sum(1 for i in allowed_hosts(P, d) if (d.id, P.hosts[i].org_id) not in P.previous_pairs)
        rep_bound += max(0, k - fresh)
    prev_ss = P.street_pairs_previous()
    ds_pairs = {(dels[v.delegation].street, hosts[v.host_org_id].street) for v in vs}
    rep_ss = 0 if P.mode == "internal" else sum(1 for p in ds_pairs if p in prev_ss)
    own = sum(1 for v in vs if P.mode == "district" and hosts[v.host_org_id].street == dels[v.delegation].street)
    km = route_length_km(P, vs)
    streets_per_del: dict[str, set[str]] = {}
    for v in vs:
        streets_per_del.setdefault(v.delegation, set()).add(hosts[v.host_org_id].street)
    s = {
        "mode": P.mode,
        "delegations": len(P.delegations),
        "hosts": len(P.hosts),
        "visits": len(vs),
        "visits_per_delegation": k,
        "host_load_min": lo,
        "host_load_max": hi,
        "host_load_spread": hi - lo,
        "host_load_spread_bound": bound,
        "host_load_gap": hi - lo - bound,
        "hosts_unvisited": sum(1 for x in loads if x == 0),
        "lagging_delegations": len(lagging),
        "lagging_covered": sum(1 for d in lagging if d.id in covered),
        "lagging_coverable": coverable,
        "preferred_visits": sum(1 for v in vs if hosts[v.host_org_id].preferred),
        "repeated_pairs": rep,
        "repeated_pairs_bound": rep_bound,
        "repeated_street_pairs": rep_ss,
        "own_street_visits": own,
        "min_streets_per_delegation": (min(len(x) for x in streets_per_del.values())
                                       if streets_per_del and P.mode != "internal" else None),
        "total_distance_km": None if km is None else round(km, 2),
        "travel_bound_km": None,
        "travel_gap_pct": None,
    }
    if travel_bound is not None and km is not None and travel_bound > 0:
        s["travel_bound_km"] = round(travel_bound, 2)
        s["travel_gap_pct"] = round(max(0.0, km / travel_bound - 1) * 100, 1)
    s["text"] = summary_text(s, P)
    return s


def summary_text(s: dict[str, Any], problem: Problem | None = None) -> str:
    """One short Chinese paragraph from a `summarise` dict."""
    parts = [f"{MODE_CN.get(s['mode'], s['mode'])}：{s['delegations']} 个观摩团、{s['hosts']} 个观摩点，"
             f"共安排 {s['visits']} 次参观（每团 {s['visits_per_delegation']} 次）。"]
    gap = "，已达最优" if s["host_load_gap"] == 0 else f"，与下界相差 {s['host_load_gap']}"
    parts.append(f"各观摩点接待 {s['host_load_min']}–{s['host_load_max']} 次（差 {s['host_load_spread']}，"
                 f"可证下界 {s['host_load_spread_bound']}{gap}）")
    if s["hosts_unvisited"]:
        parts.append(f"，{s['hosts_unvisited']} 个观摩点无人参观")
    parts.append("。")
    if s["lagging_delegations"]:
        parts.append(f"后进观摩团 {s['lagging_covered']}/{s['lagging_delegations']} 个看到了先进单位或示范点"
                     f"（最多可达 {s['lagging_coverable']} 个）。")
    parts.append(f"与上一轮重复的观摩团—观摩点组合 {s['repeated_pairs']} 个（至少 {s['repeated_pairs_bound']} 个）")
    if s["mode"] != "internal":
        parts.append(f"，重复的街道—街道组合 {s['repeated_street_pairs']} 个")
    parts.append("。")
    if s["own_street_visits"]:
        parts.append(f"因其他观摩点已满，{s['own_street_visits']} 次参观安排在本街道。")
    if s["total_distance_km"] is not None:
        parts.append(f"各团当日路线合计 {s['total_distance_km']:.1f} 公里")
        if s.get("travel_bound_km") is not None:
            gap = s["travel_gap_pct"]
            parts.append(f"（可证下界 {s['travel_bound_km']:.1f} 公里，"
                         + ("已达最优）" if gap < 0.05 else f"与下界相差 {gap:.1f}%）"))
        parts.append("。")
    return "".join(parts)


# ============================================================================ scoring roll-up

SCORE_COLUMNS = ["delegation", "delegation_street", "host_org_id", "host_street", "score"]


def _score_frame(scores: pl.DataFrame | Iterable[Any]) -> pl.DataFrame:
    if isinstance(scores, pl.DataFrame):
        df = scores
    else:
        rows = list(scores)
        if rows and isinstance(rows[0], dict):
            df = pl.DataFrame(rows)
        else:
            cols = SCORE_COLUMNS + (["item"] if rows and len(rows[0]) == 6 else [])
            df = pl.DataFrame([list(r) for r in rows], schema=cols, orient="row") if rows else \
                pl.DataFrame(schema={c: pl.String for c in SCORE_COLUMNS})
    missing = [c for c in SCORE_COLUMNS if c not in df.columns]
    if missing:
        raise BadInput("评分表缺少列：" + "、".join(missing))
    df = df.with_columns(pl.col(c).cast(pl.String) for c in SCORE_COLUMNS[:4])
    try:
        df = df.with_columns(pl.col("score").cast(pl.Float64, strict=True))
    except Exception as exc:  # polars raises InvalidOperationError for text that is not a number
        raise BadInput("评分必须是数字（0–100）") from exc
    bad = df.filter(pl.col("score").is_null() | pl.col("score").is_nan() | (pl.col("score") < 0)
                    | ((pl.col("score") > 100) if "item" not in df.columns else pl.lit(False)))
    if bad.height:
        r = bad.row(0, named=True)
        raise BadInput(f"评分应在 0–100 之间：{r['delegation']} 对 {r['host_org_id']} 的评分「{r['score']}」")
    return df


def rank_hosts(scores: pl.DataFrame | Iterable[Any], *, normalise: str = "center", own_street_weight: float = 0.0,
               item_agg: str = "sum") -> pl.DataFrame:
    """Rank hosts by the scores delegations gave them.

    `scores`: rows (delegation, delegation_street, host_org_id, host_street, score[, item]) as
    tuples, dicts or a polars frame. With an `item` column, a delegation's items for one host
    are combined first (`item_agg` = "sum": items are parts of one score sheet; "mean").
    Own-street scores (delegation_street == host_street) get weight `own_street_weight`
    (default 0: excluded; they are still counted in `n_own_street`).

    Normalisation per delegation, over the scores that count (weight > 0):
    - "center" (default): subtract the delegation's mean and add back the overall mean, so a
      delegation that scores everyone 10 points higher has exactly the same effect as one
      that does not; the result stays on the 0–100 scale;
    - "zscore": (score − delegation mean) / delegation standard deviation (population; a
      delegation that gives everyone the same score contributes 0) — also removes differences
      in how widely delegations spread their scores; the result is in standard deviations;
    - "none": raw scores.

    → frame `host_org_id, host_street, score (weighted mean of normalised scores), raw_mean,
    n_scores (scores it rests on, weight > 0), n_own_street, rank` (1 = best; ties share the
    lowest rank; hosts with no counting score have null score and rank), best first.
    """
    if normalise not in ("center", "zscore", "none"):
        raise BadInput("normalise 应为 center、zscore 或 none")
    if not (0.0 <= own_street_weight <= 1.0):
        raise BadInput("本街道评分权重应在 0 到 1 之间")
    df = _score_frame(scores)
    keys = ["delegation", "delegation_street", "host_org_id", "host_street"]
    if "item" in df.columns:
        agg = pl.col("score").sum() if item_agg == "sum" else pl.col("score").mean()
        df = df.group_by(keys, maintain_order=True).agg(agg.alias("score"))
    df = df.group_by(keys, maintain_order=True).agg(pl.col("score").mean())  # duplicate rows → mean
    df = df.with_columns(
        own=pl.col("delegation_street") == pl.col("host_street"),
    ).with_columns(w=pl.when(pl.col("own")).then(pl.lit(float(own_street_weight))).otherwise(pl.lit(1.0)))
    counted = df.filter(pl.col("w") > 0)
    if normalise == "none" or counted.height == 0:
        df = df.with_columns(norm=pl.col("score"))
    else:
        stats = counted.group_by("delegation").agg(
            mu=(pl.col("score") * pl.col("w")).sum() / pl.col("w").sum(),
            sd=(((pl.col("score") - (pl.col("score") * pl.col("w")).sum() / pl.col("w").sum()) ** 2
                 * pl.col("w")).sum() / pl.col("w").sum()).sqrt(),
        )
        grand = float(cast(float, (counted["score"] * counted["w"]).sum()) / cast(float, counted["w"].sum()))
        df = df.join(stats, on="delegation", how="left")
        if normalise == "center":
            df = df.with_columns(norm=pl.col("score") - pl.col("mu").fill_null(grand) + grand)
        else:
            df = df.with_columns(norm=pl.when(pl.col("sd").fill_null(0) > 1e-12)
                                 .then((pl.col("score") - pl.col("mu")) / pl.col("sd")).otherwise(0.0))
    per_host = df.group_by("host_org_id", maintain_order=True).agg(
        host_street=pl.col("host_street").first(),
        score=pl.when(pl.col("w").sum() > 0).then((pl.col("norm") * pl.col("w")).sum() / pl.col("w").sum())
        .otherwise(None),
        raw_mean=pl.when(pl.col("w").sum() > 0).then((pl.col("score") * pl.col("w")).sum() / pl.col("w").sum())
        .otherwise(None),
        n_scores=(pl.col("w") > 0).sum().cast(pl.Int64),
        n_own_street=pl.col("own").sum().cast(pl.Int64),
    )
    per_host = per_host.with_columns(
        rank=pl.col("score").round(9).rank(method="min", descending=True).cast(pl.Int64))
    return per_host.sort(["rank", "host_org_id"], nulls_last=True).select(
        "host_org_id", "host_street", "score", "raw_mean", "n_scores", "n_own_street", "rank")


def propose_tiers(ranking: pl.DataFrame, top_share: float = 0.2, bottom_share: float = 0.2,
                  *, min_scores: int = 1) -> pl.DataFrame:
    """Proposed tiers from `rank_hosts`: the best round(n × top_share) ranked hosts → 先进, the
    worst round(n × bottom_share) → 后进, the rest → 达标 (n = hosts resting on at least
    `min_scores` scores; halves round up). Ties at a boundary all take the better-placed group's
    tier (a host tied into both groups, e.g. when all scores are equal, stays 达标). Hosts with
    too few scores get no proposal (null)."""
    if not (0 <= top_share <= 1 and 0 <= bottom_share <= 1 and top_share + bottom_share <= 1):
        raise BadInput("先进和后进的比例应在 0 到 1 之间，且两者之和不超过 1")
    ok = pl.col("score").is_not_null() & (pl.col("n_scores") >= min_scores)
    n = ranking.filter(ok).height
    n_top = int(math.floor(n * top_share + 0.5))
    n_bot = int(math.floor(n * bottom_share + 0.5))
    r = ranking.with_columns(
        _desc=pl.when(ok).then(pl.col("score").round(9)).otherwise(None)
        .rank(method="min", descending=True),
        _asc=pl.when(ok).then(pl.col("score").round(9)).otherwise(None).rank(method="min"),
    )
    top = pl.col("_desc") <= n_top
    bot = pl.col("_asc") <= n_bot
    r = r.with_columns(proposed_tier=pl.when(~ok).then(None)
                       .when(top & bot).then(pl.lit("达标"))
                       .when(top).then(pl.lit("先进"))
                       .when(bot).then(pl.lit("后进"))
                       .otherwise(pl.lit("达标")))
    return r.drop("_desc", "_asc")
