"""观摩互进 (cross-observation): the types and constants every other module of the package uses.

Vocabulary
----------
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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import BadInput

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
ORG_COLUMNS = ["org_id", "name", "street", "tier", "is_site", "host", "capacity", "lat", "lon"]
REQUIRED_ORG_COLUMNS = ["org_id", "name", "street", "tier", "is_site"]
PLAN_COLUMNS = ["day", "slot", "delegation", "host_org_id", "host_street"]

PERM = "observation.write"
TABLES = {"obs_events": "观摩活动", "obs_hosts": "观摩点", "obs_visits": "观摩安排",
          "obs_rubric_items": "观摩评分细则", "obs_scores": "观摩评分"}
DEFAULT_RUBRIC = [("阵地建设", 25), ("组织生活", 25), ("特色亮点", 25), ("群众评价", 25)]
SHEET = "评分表"
SHEET_HEADER = ["观摩团", "观摩点编号", "观摩点", "评分项目", "满分", "得分"]


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
    previous_pairs: frozenset[tuple[str, str]] = frozenset()
    slot_times: Sequence[str] | None = None
    previous_street_pairs: frozenset[tuple[str, str]] | None = None

    def __post_init__(self) -> None:
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

    def street_pairs_previous(self) -> frozenset[tuple[str, str]]:
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
    summary: dict[str, Any] = field(default_factory=dict)


def allowed_hosts(problem: Problem, d: Delegation) -> list[int]:
    """Indices of the hosts `d` may visit under the mode rule (district: own street included —
    the 'only when no other host is free' part is checked per slot)."""
    if problem.mode == "internal":
        return [i for i, h in enumerate(problem.hosts) if h.street == d.street]
    if problem.mode == "cross":
        return [i for i, h in enumerate(problem.hosts) if h.street != d.street]
    return list(range(len(problem.hosts)))
