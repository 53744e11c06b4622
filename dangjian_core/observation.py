"""观摩互进 (cross-observation): the problem, the checker, the summary and the scoring roll-up.

Pure functions, no database (spec: shared/spec/observation.md, domain.md §4). The solver
itself lives in `observation_solver.py`; `solve` here is the public entry point.

Vocabulary
----------
- `Host`: an org whose site is visited; `capacity` = delegations it can receive in one slot.
- `Delegation` (观摩团): who travels together. `internal`: every non-host org of a street is its
  own delegation (id = org_id) and visits hosts of its own street only. `cross`: one delegation
  per street (id = street name) that never visits its own street. `district`: one delegation
  per street; it may visit a host of its own street only when no other host is free.
- Slots are numbered day 1.., slot 1.. within the day; a delegation is at most at one host per
  slot; consecutive slots of one day form its route for that day.
- A *lagging* delegation: the org's tier is 后进 (internal), or the street has at least one
  后进 org (cross/district: those orgs travel in the street's delegation). A *preferred* host is
  a demonstration site or an advanced (先进) org.

Hard constraints (`check_plan` reports every breach, in Chinese, naming the visit): known
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

import difflib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import polars as pl

from .errors import BadInput, CellError

MODES = ("internal", "cross", "district")
MODE_CN = {"internal": "街道内部观摩", "cross": "各街道交叉观摩", "district": "全区示范观摩"}
_MODE_ALIASES = {
    "internal": "internal", "街道内部观摩": "internal", "内部": "internal", "街道内部": "internal",
    "cross": "cross", "各街道交叉观摩": "cross", "交叉": "cross", "交叉观摩": "cross",
    "district": "district", "全区示范观摩": "district", "全区": "district", "示范观摩": "district",
}
TIER_CODES = {"advanced": "advanced", "standard": "standard", "lagging": "lagging",
              "先进": "advanced", "达标": "standard", "后进": "lagging"}
TIER_CN = {"advanced": "先进", "standard": "达标", "lagging": "后进"}
_TRUE = {"true", "t", "yes", "y", "1", "是"}
_FALSE = {"false", "f", "no", "n", "0", "否"}
ORG_COLUMNS = ["org_id", "name", "street", "tier", "is_site", "host", "capacity", "lat", "lon"]
REQUIRED_ORG_COLUMNS = ["org_id", "name", "street", "tier", "is_site"]
PLAN_COLUMNS = ["day", "slot", "delegation", "host_org_id", "host_street"]


class Infeasible(BadInput):
    """No arrangement meets every hard constraint; the message says which constraint."""


# ============================================================================ data model

@dataclass(frozen=True)
class Org:
    """One row of the orgs input. `host=None` means: sites and advanced orgs host."""

    org_id: str
    name: str
    street: str
    tier: str = "standard"
    is_site: bool = False
    host: bool | None = None
    capacity: int = 1
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Host:
    org_id: str
    name: str
    street: str
    tier: str
    is_site: bool
    capacity: int = 1
    lat: float | None = None
    lon: float | None = None

    @property
    def preferred(self) -> bool:
        """A demonstration site or an advanced org: where lagging delegations should go."""
        return self.is_site or self.tier == "advanced"

    @property
    def label(self) -> str:
        return f"{self.name}（{self.org_id}）" if self.name and self.name != self.org_id else self.org_id


@dataclass(frozen=True)
class Delegation:
    id: str
    street: str
    lagging: bool = False
    name: str | None = None
    members: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        if self.name and self.name != self.id:
            return f"观摩团「{self.name}（{self.id}）」"
        return f"观摩团「{self.id}」"


@dataclass
class Problem:
    mode: str
    hosts: list[Host]
    delegations: list[Delegation]
    days: int
    slots_per_day: int
    visits_per_delegation: int
    previous_pairs: frozenset = frozenset()
    slot_times: Sequence[str] | None = None
    previous_street_pairs: frozenset | None = None

    def __post_init__(self):
        mode = _MODE_ALIASES.get(str(self.mode).strip().lower()) or _MODE_ALIASES.get(str(self.mode).strip())
        if mode is None:
            raise BadInput(f"观摩方式「{self.mode}」无法识别，应为 internal（街道内部观摩）、"
                           "cross（各街道交叉观摩）或 district（全区示范观摩）")
        self.mode = mode
        for name, label in (("days", "天数"), ("slots_per_day", "每天时段数"),
                            ("visits_per_delegation", "每团参观次数")):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise BadInput(f"{label}必须是不小于 1 的整数（现为「{v}」）")
        self.hosts = list(self.hosts)
        self.delegations = list(self.delegations)
        seen: set[str] = set()
        for h in self.hosts:
            if h.org_id in seen:
                raise BadInput(f"观摩点「{h.org_id}」重复出现")
            seen.add(h.org_id)
            if isinstance(h.capacity, bool) or not isinstance(h.capacity, int) or h.capacity < 1:
                raise BadInput(f"观摩点「{h.org_id}」的容量必须是不小于 1 的整数（现为「{h.capacity}」）")
        dseen: set[str] = set()
        for d in self.delegations:
            if d.id in dseen:
                raise BadInput(f"观摩团「{d.id}」重复出现")
            dseen.add(d.id)
        self.previous_pairs = frozenset((str(a), str(b)) for a, b in (self.previous_pairs or ()))
        if self.previous_street_pairs is not None:
            self.previous_street_pairs = frozenset((str(a), str(b)) for a, b in self.previous_street_pairs)
        if self.slot_times is not None:
            self.slot_times = [str(x) for x in self.slot_times]
            if len(self.slot_times) not in (self.slots_per_day, self.slots):
                raise BadInput(f"时段开始时间应有 {self.slots_per_day} 个（每天相同）或 {self.slots} 个，"
                               f"现为 {len(self.slot_times)} 个")

    @property
    def slots(self) -> int:
        return self.days * self.slots_per_day

    def slot_label(self, day: int, slot: int) -> str:
        return f"第{day}天第{slot}时段" if self.days > 1 else f"第{slot}时段"

    def start_time(self, day: int, slot: int) -> str | None:
        if not self.slot_times:
            return None
        if len(self.slot_times) == self.slots_per_day:
            return self.slot_times[slot - 1]
        return self.slot_times[(day - 1) * self.slots_per_day + slot - 1]

    def street_pairs_previous(self) -> frozenset:
        """(delegation street, host street) pairs of the previous round."""
        if self.previous_street_pairs is not None:
            return self.previous_street_pairs
        dstreet = {d.id: d.street for d in self.delegations}
        hstreet = {h.org_id: h.street for h in self.hosts}
        return frozenset((dstreet[d], hstreet[h]) for d, h in self.previous_pairs
                         if d in dstreet and h in hstreet)


@dataclass(frozen=True, order=True)
class Visit:
    day: int
    slot: int
    delegation: str
    host_org_id: str


@dataclass
class Plan:
    visits: list[Visit]
    summary: dict = field(default_factory=dict)


def allowed_hosts(problem: Problem, d: Delegation) -> list[int]:
    """Indices of the hosts `d` may visit under the mode rule (district: own street included —
    the 'only when no other host is free' part is checked per slot)."""
    if problem.mode == "internal":
        return [i for i, h in enumerate(problem.hosts) if h.street == d.street]
    if problem.mode == "cross":
        return [i for i, h in enumerate(problem.hosts) if h.street != d.street]
    return list(range(len(problem.hosts)))


# ============================================================================ parsing input

def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def parse_tier(v) -> tuple[str | None, str | None]:
    """→ (code, error message)."""
    t = _text(v)
    code = TIER_CODES.get(t.lower()) or TIER_CODES.get(t)
    if code:
        return code, None
    words = list(TIER_CODES)
    guess = difflib.get_close_matches(t.lower(), words, n=1, cutoff=0.5)
    if not guess and t:
        # Chinese one-character slips: 先近 → 先进, 后近 → 后进, 落后 → 后进
        for w in ("先进", "达标", "后进"):
            if len(t) == 2 and (t[0] == w[0] or t[1] == w[1]):
                guess = [w]
                break
        if not guess and ("落后" in t or "差" in t):
            guess = ["后进"]
        if not guess and ("优秀" in t or "先" in t):
            guess = ["先进"]
    hint = f"；您是不是想写「{guess[0]}」？" if guess else ""
    if not t:
        return None, "等次不能为空，应为 advanced/standard/lagging 或 先进/达标/后进"
    return None, f"等次无法识别，应为 advanced、standard、lagging 或 先进、达标、后进{hint}"


def parse_bool(v) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int,)) and v in (0, 1):
        return bool(v)
    if isinstance(v, float) and v in (0.0, 1.0):
        return bool(v)
    t = _text(v).lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    return None


def parse_capacity(v) -> tuple[int | None, str | None]:
    if _blank(v):
        return 1, None
    if isinstance(v, bool):
        return None, "容量必须是正整数（每个时段能同时接待的观摩团数）"
    n: float | None = None
    if isinstance(v, (int, float)):
        n = float(v)
    else:
        t = _text(v)
        if re.fullmatch(r"[+-]?\d+(\.0*)?", t):
            n = float(t)
        elif re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", t):
            return None, "容量必须是整数（每个时段能同时接待的观摩团数），不能是小数"
        else:
            return None, "容量必须是正整数（每个时段能同时接待的观摩团数）"
    if math.isnan(n) or not n.is_integer():
        return None, "容量必须是整数（每个时段能同时接待的观摩团数），不能是小数"
    if n < 1:
        return None, "容量至少为 1（每个时段能同时接待的观摩团数）；不接待的单位请把 host 填为 false"
    return int(n), None


def _parse_coord(v, lo: float, hi: float, what: str) -> tuple[float | None, str | None]:
    if _blank(v):
        return None, None
    try:
        x = float(_text(v)) if not isinstance(v, (int, float)) else float(v)
    except ValueError:
        return None, f"{what}必须是数字（十进制度数）"
    if math.isnan(x) or not (lo <= x <= hi):
        return None, f"{what}必须在 {lo:g} 到 {hi:g} 之间"
    return x, None


def parse_orgs(orgs, *, file: str | None = None) -> list[Org]:
    """Orgs from a fileio `Frame`, a polars DataFrame, or a list of `Org`/dicts → list of `Org`.
    Every bad cell is reported at once (BadInput with CellErrors naming row and column)."""
    row_of = lambda i: i + 2  # noqa: E731
    if hasattr(orgs, "df") and hasattr(orgs, "row_number"):
        file = file or getattr(orgs, "file", None)
        row_of = orgs.row_number
        orgs = orgs.df
    if isinstance(orgs, pl.DataFrame):
        df = orgs
        missing = [c for c in REQUIRED_ORG_COLUMNS if c not in df.columns]
        if missing:
            raise BadInput("缺少列：" + "、".join(missing) + "。机构表需要 org_id、name、street、tier、is_site，"
                           "可选 host、capacity、lat、lon", file=file)
        rows = df.to_dicts()
    else:
        rows = []
        for o in orgs:
            if isinstance(o, Org):
                rows.append({k: getattr(o, k) for k in ORG_COLUMNS})
            elif isinstance(o, dict):
                rows.append(o)
            else:
                raise TypeError("orgs must be a Frame, a polars DataFrame, or a list of Org/dict")
    errors: list[CellError] = []
    out: list[Org] = []
    first_row: dict[str, int] = {}
    for i, r in enumerate(rows):
        if all(_blank(r.get(c)) for c in r):
            continue
        rn = row_of(i)
        bad = False
        oid = _text(r.get("org_id"))
        if not oid:
            errors.append(CellError(rn, "org_id", None, "单位编号不能为空"))
            bad = True
        elif oid in first_row:
            errors.append(CellError(rn, "org_id", oid, f"单位编号重复（与第 {first_row[oid]} 行相同），每个单位只能出现一次"))
            bad = True
        else:
            first_row[oid] = rn
        name = _text(r.get("name")) or oid
        street = _text(r.get("street"))
        if not street:
            errors.append(CellError(rn, "street", None, "所属街道不能为空"))
            bad = True
        tier, msg = parse_tier(r.get("tier"))
        if msg:
            errors.append(CellError(rn, "tier", _text(r.get("tier")), msg))
            bad = True
        is_site = parse_bool(r.get("is_site"))
        if is_site is None:
            if _blank(r.get("is_site")):
                errors.append(CellError(rn, "is_site", None, "是否示范点不能为空，应为 true 或 false"))
            else:
                errors.append(CellError(rn, "is_site", _text(r.get("is_site")), "应为 true 或 false（也可写 是/否、1/0）"))
            bad = True
        host = None
        if not _blank(r.get("host")):
            host = parse_bool(r.get("host"))
            if host is None:
                errors.append(CellError(rn, "host", _text(r.get("host")),
                                        "应为 true 或 false（也可写 是/否、1/0；留空则示范点和先进单位作为观摩点）"))
                bad = True
        cap, msg = parse_capacity(r.get("capacity"))
        if msg:
            errors.append(CellError(rn, "capacity", _text(r.get("capacity")), msg))
            bad = True
        lat, msg = _parse_coord(r.get("lat"), -90, 90, "纬度")
        if msg:
            errors.append(CellError(rn, "lat", _text(r.get("lat")), msg))
            bad = True
        lon, msg = _parse_coord(r.get("lon"), -180, 180, "经度")
        if msg:
            errors.append(CellError(rn, "lon", _text(r.get("lon")), msg))
            bad = True
        if not bad and (lat is None) != (lon is None):
            col = "lon" if lon is None else "lat"
            errors.append(CellError(rn, col, None, "经度和纬度要么都填，要么都不填"))
            bad = True
        if not bad:
            out.append(Org(oid, name, street, tier, is_site, host, cap, lat, lon))
    if errors:
        errors.sort(key=lambda e: (e.row or 0, e.column or ""))
        raise BadInput("机构表有误，请修改后重试", errors, file=file)
    if not out:
        raise BadInput("机构表没有数据行", file=file)
    return out


def parse_previous(previous, problem_like: dict | None = None) -> tuple[frozenset, frozenset | None]:
    """Previous round → ((delegation, host_org_id) pairs, (street, street) pairs or None).
    Accepts a fileio Frame, a polars DataFrame with `delegation`, `host_org_id` (and optional
    `host_street`), a Plan, or an iterable of Visit / (delegation, host_org_id) tuples."""
    if previous is None:
        return frozenset(), None
    file = None
    if isinstance(previous, Plan):
        previous = previous.visits
    if hasattr(previous, "df") and hasattr(previous, "row_number"):
        file = getattr(previous, "file", None)
        previous = previous.df
    if isinstance(previous, pl.DataFrame):
        missing = [c for c in ("delegation", "host_org_id") if c not in previous.columns]
        if missing:
            raise BadInput("上一轮安排缺少列：" + "、".join(missing) + "（应为本命令的输出文件：day、slot、delegation、"
                           "host_org_id、host_street）", file=file)
        pairs = set()
        for r in previous.select([c for c in ("delegation", "host_org_id", "host_street")
                                  if c in previous.columns]).to_dicts():
            d, h = _text(r.get("delegation")), _text(r.get("host_org_id"))
            if d and h:
                pairs.add((d, h, _text(r.get("host_street")) or None))
        return frozenset((d, h) for d, h, _ in pairs), frozenset((d, s) for d, _, s in pairs if s) or None
    pairs2 = set()
    for v in previous:
        if isinstance(v, Visit):
            pairs2.add((v.delegation, v.host_org_id))
        else:
            a, b = v[0], v[1]
            pairs2.add((str(a), str(b)))
    return frozenset(pairs2), None


def build_problem(orgs_frame_or_list, mode: str, days: int, slots_per_day: int,
                  visits: int | None = None, previous=None, *, file: str | None = None,
                  slot_times: Sequence[str] | None = None) -> Problem:
    """Validate the orgs and the settings and build a `Problem`.

    Hosts: the `host` column when given, else sites and advanced orgs. Delegations by mode (see
    module docstring). Raises BadInput (with CellErrors naming rows and columns) for bad cells,
    and Infeasible for structural impossibilities found here (a street without hosts in
    internal mode, no other street in cross mode, more visits than slots, …)."""
    m = _MODE_ALIASES.get(str(mode).strip().lower()) or _MODE_ALIASES.get(str(mode).strip())
    if m is None:
        raise BadInput(f"观摩方式「{mode}」无法识别，应为 internal（街道内部观摩）、cross（各街道交叉观摩）"
                       "或 district（全区示范观摩）")
    for v, label in ((days, "天数"), (slots_per_day, "每天时段数")):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise BadInput(f"{label}必须是不小于 1 的整数（现为「{v}」）")
    T = days * slots_per_day
    if visits is None:
        visits = T
    if isinstance(visits, bool) or not isinstance(visits, int) or visits < 1:
        raise BadInput(f"每团参观次数必须是不小于 1 的整数（现为「{visits}」）")
    if hasattr(orgs_frame_or_list, "file"):
        file = file or orgs_frame_or_list.file
    row_of: dict[str, int] = {}
    if hasattr(orgs_frame_or_list, "df") and hasattr(orgs_frame_or_list, "row_number"):
        fr = orgs_frame_or_list
        ids = fr.df["org_id"].to_list() if "org_id" in fr.df.columns else []
        for i, x in enumerate(ids):
            row_of.setdefault(_text(x), fr.row_number(i))
    else:
        if isinstance(orgs_frame_or_list, pl.DataFrame) and "org_id" in orgs_frame_or_list.columns:
            ids = orgs_frame_or_list["org_id"].to_list()
        elif isinstance(orgs_frame_or_list, pl.DataFrame):
            ids = []
        else:
            orgs_frame_or_list = list(orgs_frame_or_list)
            ids = [o.org_id if isinstance(o, Org) else o.get("org_id") for o in orgs_frame_or_list]
        for i, x in enumerate(ids):
            row_of.setdefault(_text(x), i + 2)
    orgs = parse_orgs(orgs_frame_or_list, file=file)

    def is_host(o: Org) -> bool:
        return o.host if o.host is not None else (o.is_site or o.tier == "advanced")

    hosts = [Host(o.org_id, o.name, o.street, o.tier, o.is_site, o.capacity, o.lat, o.lon)
             for o in orgs if is_host(o)]
    if not hosts:
        raise Infeasible("没有观摩点：请在 host 列把要接待的单位标为 true，或标出示范点（is_site）"
                         "和先进单位（默认它们作为观摩点）", file=file)
    streets: dict[str, list[Org]] = defaultdict(list)
    for o in orgs:
        streets[o.street].append(o)
    delegations: list[Delegation] = []
    if m == "internal":
        errors = []
        for s, members in streets.items():
            observers = [o for o in members if not is_host(o)]
            if observers and not any(is_host(o) for o in members):
                errors.append(CellError(row_of.get(observers[0].org_id), "host", None,
                                        f"街道「{s}」没有观摩点，该街道的 {len(observers)} 个单位在街道内部观摩中无处可看；"
                                        "请把该街道的示范点或先进单位标为观摩点（host=true）"))
            for o in observers:
                delegations.append(Delegation(o.org_id, s, o.tier == "lagging", o.name, (o.org_id,)))
        if errors:
            raise Infeasible("有街道没有观摩点", errors, file=file)
    else:
        if m == "cross" and len(streets) < 2:
            raise Infeasible("只有一个街道，无法进行各街道交叉观摩（观摩团不能看本街道）", file=file)
        for s, members in streets.items():
            delegations.append(Delegation(s, s, any(o.tier == "lagging" for o in members), s,
                                          tuple(o.org_id for o in members)))
    if not delegations:
        raise Infeasible("没有观摩团：街道内部观摩中，每个街道不作为观摩点的单位才是观摩团，"
                         "而现在所有单位都是观摩点", file=file)
    prev_pairs, prev_streets = parse_previous(previous)
    if prev_streets is not None and m == "internal":
        dstreet = {d.id: d.street for d in delegations}
        prev_streets = frozenset((dstreet.get(d, d), s) for d, s in prev_streets)
    return Problem(m, hosts, delegations, days, slots_per_day, visits, prev_pairs, slot_times,
                   prev_streets)


# ============================================================================ what fits

def _street_name(s: str) -> str:
    """「街道X」, or the name alone when it already says what it is (东湖街道, 新塘镇)."""
    named = any(x in s for x in ("街道", "镇", "乡", "片区", "社区")) or s.endswith("街")
    return s if named else f"街道{s}"


def _fit_groups(problem: Problem) -> list[dict]:
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
    out = []
    for street, ds in parts:
        hs = sorted({h for d in ds for h in allowed[d.id]})
        reach = {h: sum(1 for d in ds if h in allowed[d.id]) for h in hs}
        out.append({"street": street, "delegations": len(ds), "hosts": len(hs),
                    "capacity": sum(P.hosts[h].capacity for h in hs),
                    "min_allowed": min((len(allowed[d.id]) for d in ds), default=0),
                    "caps": [(P.hosts[h].capacity, reach[h]) for h in hs]})
    return out


def _group_fits(g: dict, k: int, T: int) -> bool:
    """Necessary conditions for k visits per delegation in T slots: a delegation is at one host
    per slot and sees a host once; a slot holds at most min(delegations, capacity) visits; a host
    receives at most min(capacity × T, delegations that may go there)."""
    D = g["delegations"]
    if k > T or k > g["min_allowed"]:
        return False
    if k * D > T * min(D, g["capacity"]):
        return False
    return k * D <= sum(min(c * T, r) for c, r in g["caps"])


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
    count: Counter = Counter()
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
        d, h = dels[v.delegation], hosts[v.host_org_id]
        when = P.slot_label(v.day, v.slot)
        if P.mode == "internal" and h.street != d.street:
            out.append(f"{d.label}在{when}被安排到{h.label}（{h.street}）：街道内部观摩只能看本街道（{d.street}）的观摩点")
        elif P.mode == "cross" and h.street == d.street:
            out.append(f"{d.label}在{when}被安排到本街道的{h.label}：各街道交叉观摩不能看本街道的观摩点")
        elif P.mode == "district" and h.street == d.street:
            free = [o for o in P.hosts if o.street != d.street and o.org_id not in visited[d.id]
                    and len(occ.get((o.org_id, v.day, v.slot), ())) < o.capacity]
            if free:
                out.append(f"{d.label}在{when}被安排到本街道的{h.label}，但该时段{free[0].label}等 {len(free)} 个"
                           "其他街道的观摩点还有空：全区示范观摩只有在其他观摩点都满时才能看本街道")
    k = P.visits_per_delegation
    for d in P.delegations:
        if count[d.id] != k:
            out.append(f"{d.label}安排了 {count[d.id]} 次参观，应为 {k} 次")
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


def load_spread_bound(problem: Problem) -> int:
    """Proven lower bound on max − min host load over all valid plans (module docstring)."""
    P, T, k = problem, problem.slots, problem.visits_per_delegation
    n_allowed = [0] * len(P.hosts)
    for d in P.delegations:
        for i in allowed_hosts(P, d):
            n_allowed[i] += 1
    u = [min(h.capacity * T, n_allowed[i]) for i, h in enumerate(P.hosts)]
    groups: dict[str, list[int]] = defaultdict(list)
    demand: Counter = Counter()
    if P.mode == "internal":
        for i, h in enumerate(P.hosts):
            groups[h.street].append(i)
        for d in P.delegations:
            demand[d.street] += k
    else:
        groups["*"] = list(range(len(P.hosts)))
        demand["*"] = k * len(P.delegations)
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


def plan_cost(problem: Problem, visits: Iterable[Visit]) -> tuple:
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


def summarise(problem: Problem, plan: Plan | Iterable[Visit], *, travel_bound: float | None = None) -> dict:
    """Figures for the office: host loads (min/max, spread and its proven lower bound, gap),
    lagging→preferred coverage (and its upper bound), repeated pairs (and their lower bound),
    own-street visits, total route length and, when the solver proved one (`travel_bound`,
    see observation_bound), the travel lower bound and the gap to it in per cent; and a
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
    streets_per_del = {}
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


def summary_text(s: dict, problem: Problem | None = None) -> str:
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


def plan_frame(problem: Problem, plan: Plan | Iterable[Visit], *, full: bool = False) -> pl.DataFrame:
    """The plan as a table, one row per visit ordered by day, slot, delegation. Columns
    `day, slot, delegation, host_org_id, host_street` (the CLI contract); with `full=True` also
    `start_time` and `host_name` (observation.md's output)."""
    hosts = {h.org_id: h for h in problem.hosts}
    vs = sorted(plan.visits if isinstance(plan, Plan) else plan,
                key=lambda v: (v.day, v.slot, v.delegation, v.host_org_id))
    data = {
        "day": [v.day for v in vs],
        "slot": [v.slot for v in vs],
        "delegation": [v.delegation for v in vs],
        "host_org_id": [v.host_org_id for v in vs],
        "host_street": [hosts[v.host_org_id].street if v.host_org_id in hosts else None for v in vs],
    }
    schema = {"day": pl.Int64, "slot": pl.Int64, "delegation": pl.String, "host_org_id": pl.String,
              "host_street": pl.String}
    df = pl.DataFrame(data, schema=schema)
    if full:
        df = df.with_columns(
            start_time=pl.Series([problem.start_time(v.day, v.slot) for v in vs], dtype=pl.String),
            host_name=pl.Series([hosts[v.host_org_id].name if v.host_org_id in hosts else None for v in vs],
                                dtype=pl.String),
        ).select("day", "slot", "start_time", "delegation", "host_org_id", "host_name", "host_street")
    return df


def solve(problem: Problem, locked: Sequence[Visit] | None = None, *, seed: int = 0,
          time_limit: float | None = None, exact: bool = False) -> Plan:
    """Arrange the visits: a `Plan` meeting every hard constraint, optimised lexicographically
    (module docstring), or `Infeasible` naming the constraint. `locked` visits are kept as
    they are (re-solving after a hand edit). `exact=True` (「进一步优化路线」, give it a
    `time_limit` of a minute) adds the column-generation pass for travel at any size; it runs
    by default on small instances. Method: see `observation_solver`."""
    from .observation_solver import solve_problem

    return solve_problem(problem, list(locked or ()), seed=seed, time_limit=time_limit, exact=exact)


# ============================================================================ scoring roll-up

SCORE_COLUMNS = ["delegation", "delegation_street", "host_org_id", "host_street", "score"]


def _score_frame(scores) -> pl.DataFrame:
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


def rank_hosts(scores, *, normalise: str = "center", own_street_weight: float = 0.0,
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
        grand = float((counted["score"] * counted["w"]).sum() / counted["w"].sum())
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
