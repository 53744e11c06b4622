"""Reading the orgs input, the previous round and the slot start times into a `Problem`
(`build_problem`): every bad cell reported at once, in Chinese, naming row and column."""

from __future__ import annotations

import difflib
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import polars as pl

from .. import values
from ..errors import BadInput, CellError
from .model import (
    _MODE_ALIASES,
    ORG_COLUMNS,
    REQUIRED_ORG_COLUMNS,
    TIER_CODES,
    Delegation,
    Host,
    Infeasible,
    Org,
    Plan,
    Problem,
    Visit,
)

_POINTS_MESSAGES = {**values.NUMBER_MESSAGES, "not_number": "满分必须是数字"}
_TIME = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)$")


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def parse_tier(v: object) -> tuple[str | None, str | None]:
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


def parse_bool(v: object) -> bool | None:
    """Yes/no as `values.parse_bool` reads it (是/否, true/false, 1/0 …; also the numbers 0 and 1);
    None when blank or not a yes/no."""
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    try:
        return values.parse_bool(v)
    except values.BadValue:
        return None


def parse_capacity(v: object) -> tuple[int | None, str | None]:
    if _blank(v):
        return 1, None
    try:
        n = v if isinstance(v, int) and not isinstance(v, bool) else values.parse_int(v)
    except values.BadValue:
        try:
            fractional = values.parse_number(v) is not None
        except values.BadValue:
            fractional = False
        if fractional:
            return None, "容量必须是整数（每个时段能同时接待的观摩团数），不能是小数"
        return None, "容量必须是正整数（每个时段能同时接待的观摩团数）"
    assert n is not None  # not blank
    if n < 1:
        return None, "容量至少为 1（每个时段能同时接待的观摩团数）；不接待的单位请把 host 填为 false"
    return n, None


def _parse_coord(v: object, lo: float, hi: float, what: str) -> tuple[float | None, str | None]:
    if isinstance(v, float) and math.isfinite(v) and abs(v) < 1e15 or isinstance(v, int) and not isinstance(v, bool) \
            and abs(v) < 10**15:
        # typed already (the database's DOUBLE): what values.parse_number would give, without the
        # text round trip that cost a third of building a city-scale problem
        x = float(v)
        return (x, None) if lo <= x <= hi else (None, f"{what}必须在 {lo:g} 到 {hi:g} 之间")
    if _blank(v):
        return None, None
    try:
        d = values.parse_number(v)
    except values.BadValue:
        return None, f"{what}必须是数字（十进制度数）"
    x = float(d) if d is not None else math.nan
    if math.isnan(x) or not (lo <= x <= hi):
        return None, f"{what}必须在 {lo:g} 到 {hi:g} 之间"
    return x, None


def parse_orgs(orgs: Any, *, file: str | None = None) -> list[Org]:
    """Orgs from a fileio `Frame`, a polars DataFrame, or a list of `Org`/dicts → list of `Org`.
    Every bad cell is reported at once (BadInput with CellErrors naming row and column)."""
    row_of: Callable[[int], int] = lambda i: i + 2  # noqa: E731
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
            assert tier is not None and is_site is not None and cap is not None  # no message: parsed
            out.append(Org(oid, name, street, tier, is_site, host, cap, lat, lon))
    if errors:
        errors.sort(key=lambda e: (e.row or 0, e.column or ""))
        raise BadInput("机构表有误，请修改后重试", errors, file=file)
    if not out:
        raise BadInput("机构表没有数据行", file=file)
    return out


def parse_previous(previous: Any, problem_like: dict[str, Any] | None = None
                   ) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]] | None]:
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
        pairs: set[tuple[str, str, str | None]] = set()
        for r in previous.select([c for c in ("delegation", "host_org_id", "host_street")
                                  if c in previous.columns]).to_dicts():
            d, h = _text(r.get("delegation")), _text(r.get("host_org_id"))
            if d and h:
                pairs.add((d, h, _text(r.get("host_street")) or None))
        return frozenset((d, h) for d, h, _ in pairs), frozenset((d, s) for d, _, s in pairs if s) or None
    pairs2: set[tuple[str, str]] = set()
    for v in previous:
        if isinstance(v, Visit):
            pairs2.add((v.delegation, v.host_org_id))
        else:
            a, b = v[0], v[1]
            pairs2.add((str(a), str(b)))
    return frozenset(pairs2), None


def build_problem(orgs_frame_or_list: Any, mode: str, days: int, slots_per_day: int,
                  visits: int | None = None, previous: Any = None, *, file: str | None = None,
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


def parse_slot_times(text: object, slots_per_day: int | None, days: int | None) -> tuple[list[str] | None, str | None]:
    """'08:30, 10:00 14:30' → ['08:30', '10:00', '14:30'] (one per slot of a day, or per slot
    of the whole event); error message in Chinese."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None, None
    parts = text if isinstance(text, (list, tuple)) else re.split(r"[,，、;；\s]+", str(text).strip())
    out = []
    for p in parts:
        m = _TIME.match(str(p).strip())
        if not m:
            return None, f"时段开始时间「{p}」格式不对，应为 时:分，例如 08:30"
        out.append(f"{int(m.group(1)):02d}:{m.group(2)}")
    if slots_per_day and days and len(out) not in (slots_per_day, slots_per_day * days):
        return None, f"时段开始时间应有 {slots_per_day} 个（每天一样），现为 {len(out)} 个"
    return out, None


def parse_rubric(rows: pl.DataFrame | Iterable[Any]) -> list[tuple[str, Decimal]]:
    if isinstance(rows, pl.DataFrame):
        rows = rows.to_dicts()
    out, errors, seen = [], [], set()
    for n, r in enumerate(rows, 1):
        if isinstance(r, dict):
            item, pts = r.get("item", r.get("评分项目")), r.get("max_points", r.get("满分"))
        else:
            item, pts = r
        item = "" if item is None else str(item).strip()
        if not item and pts in (None, ""):
            continue
        if not item:
            errors.append(CellError(n, "评分项目", item, "评分项目不能为空"))
            continue
        if item in seen:
            errors.append(CellError(n, "评分项目", item, "评分项目重复"))
            continue
        seen.add(item)
        try:
            p = values.parse_decimal(pts, places=2, messages=_POINTS_MESSAGES)
        except values.BadValue as exc:
            errors.append(CellError(n, "满分", pts, exc.message))
            continue
        if p is None:
            errors.append(CellError(n, "满分", pts, "满分必须是数字"))
            continue
        if p <= 0 or p > 100:
            errors.append(CellError(n, "满分", pts, "满分应大于 0、不超过 100"))
            continue
        out.append((item, p))
    if errors:
        raise BadInput("评分细则有误，没有保存", errors)
    if not out:
        raise BadInput("评分细则至少要有一项")
    total = sum(p for _, p in out)
    if total > 100:
        raise BadInput(f"评分细则各项满分合计 {total} 分，超过 100 分：评分按百分制汇总，请调整")
    return out
