"""示范点 (demonstration sites): the pure rules, no database.

The lifecycle is a state machine; the only ways to move a site are these functions, and the
core (`store.py`) calls them inside the write transaction, so a page, an import and the CLI
cannot disagree about what an assessment does.

    申报 applied ──立项──▶ 创建中 creating (year Y)
        creating ──考评合格──▶ 已授牌 named ──第二年考评合格──▶ 巩固提升 consolidating
        creating ──考评不合格──▶ 未命名 not_named   (may apply again in a later year, as a new round)
        named / consolidating ──考评不合格──▶ 已摘牌 removed   (end of the road)
        consolidating ──年检年审合格（每 1 或 2 年）──▶ consolidating

One assessment a year per round. The result is never typed: `score()` computes it from the
lines (score items, bonus and penalty lines, veto items) and the rubric's pass mark.
Messages meant for users are 简体中文 and raised as `BadInput` / `ValidationFailed`.

Contents: 1. vocabulary; 2. the state machine; 3. due dates; 4. scoring; 5. pairing
suggestions; 6. status at each year's end (for briefings).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import values
from ..errors import BadInput, CellError, ValidationFailed

# ---------------------------------------------------------------------------------------
# 1. Vocabulary (code → Chinese, in the order offices use)
# ---------------------------------------------------------------------------------------
STATUSES = {
    "applied": "已申报",
    "creating": "创建中",
    "not_named": "未通过命名",
    "named": "已授牌",
    "consolidating": "巩固提升",
    "removed": "已摘牌",
}
ACTIVE = ("creating", "named", "consolidating")          # in the programme, assessed yearly
OPEN = ("applied",) + ACTIVE                              # at most one open round per org
RESULTS = {"pass": "合格", "fail": "不合格"}
KINDS = {"exemplary": "真示范", "resting": "守牌子", "isolated": "闭门造车"}
STAGES = {"first": "创建考评", "second": "第二年考评", "inspection": "年检年审"}
LINE_KINDS = {"score": "评分项", "bonus": "加分项", "penalty": "扣分项", "veto": "否决项"}
EVENT_KINDS = {
    "plan_filed": "方案备案",
    "guidance_visit": "督查指导",
    "experience": "典型经验",
    "award": "以奖代投",
    "photo": "照片资料",
    "other": "其他",
}
INTERVALS = (1, 2)
DEFAULT_PASS_MARK = Decimal("80")
# the city plan in the speeches: 50 creating units a year, about 25 named
DEFAULT_PLAN = {"rural": 20, "community": 6, "organ": 4, "school": 3, "enterprise": 15,
                "intermediary": 1, "association": 1}
DEFAULT_NAMED_TARGET = 25
MIN_YEAR = 2000


def status_label(code: str | None) -> str:
    return STATUSES.get(code or "", code or "")


# ---------------------------------------------------------------------------------------
# 2. The state machine
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SiteState:
    """One round of an org in the programme (a new round starts when a not-named unit
    applies again). `last_year` is the year of the latest assessment of this round."""

    status: str
    creation_year: int
    named_year: int | None = None
    last_year: int | None = None
    interval: int = 1


def check_year(year: object, what: str = "年度") -> int:
    """A year as typed ("2026", "2026年", 2026) within MIN_YEAR..2100."""
    try:
        y = values.parse_int(year.strip().removesuffix("年") if isinstance(year, str) else year)
    except values.BadValue:
        y = None
    if y is None:
        raise BadInput(f"{what}应为四位数的年份，例如 2026")
    if y < MIN_YEAR or y > 2100:
        raise BadInput(f"{what}「{y}」不合理：应在 {MIN_YEAR}—2100 之间")
    return y


def check_apply(name: str, rounds: Sequence[SiteState], year: int, today: date) -> None:
    """May this org apply for `year`? `rounds` are its earlier rounds (any order)."""
    year = check_year(year, "申报年度")
    if year > today.year + 1:
        raise BadInput(f"申报年度 {year} 太远了：最多申报明年（{today.year + 1}）的创建")
    for r in rounds:
        if r.status in OPEN:
            raise BadInput(f"「{name}」已在示范点台账中（{r.creation_year} 年，状态：{status_label(r.status)}），"
                           "不能重复申报")
        if r.status == "removed":
            raise BadInput(f"「{name}」已于 {r.last_year} 年考评不合格被摘牌，不能重新申报")
    failed = [r.last_year or r.creation_year for r in rounds if r.status == "not_named"]
    if failed and year <= max(failed):
        raise BadInput(f"「{name}」{max(failed)} 年创建考评未通过，只能申报以后年度（{max(failed) + 1} 年起）的创建")


def select(state: SiteState, name: str = "该单位") -> SiteState:
    """立项: an applied unit becomes a creating unit of its year."""
    if state.status != "applied":
        raise BadInput(f"「{name}」当前状态是「{status_label(state.status)}」，只有「已申报」的单位才能确定为创建单位")
    return replace(state, status="creating")


def stage_of(status: str) -> str | None:
    return {"creating": "first", "named": "second", "consolidating": "inspection"}.get(status)


def check_assessment(state: SiteState, year: object, assessed_on: date | None, today: date,
                     name: str = "该示范点") -> int:
    """Refuse an assessment this round cannot take. Returns the year as int."""
    if state.status == "applied":
        raise BadInput(f"「{name}」还只是申报单位，尚未确定为创建单位，不能考评：请先「确定为创建单位」")
    if state.status == "not_named":
        raise BadInput(f"「{name}」{state.last_year} 年创建考评未通过（未命名），这一轮不能再考评；"
                       "可在以后年度重新申报")
    if state.status == "removed":
        raise BadInput(f"「{name}」已于 {state.last_year} 年摘牌，不能再考评")
    if state.status not in ACTIVE:
        raise BadInput(f"「{name}」的状态「{state.status}」无法考评")
    y = check_year(year, "考评年度")
    if y < state.creation_year:
        raise BadInput(f"考评年度 {y} 早于「{name}」的创建年度 {state.creation_year}：请检查年度")
    if state.last_year is not None and y == state.last_year:
        raise BadInput(f"「{name}」{y} 年度已经考评过了，一年只考评一次。如需更正，"
                       "请在「操作记录」中撤销原来的考评后重新录入")
    if state.last_year is not None and y < state.last_year:
        raise BadInput(f"考评年度 {y} 早于「{name}」上一次考评的年度 {state.last_year}：考评要按年度顺序录入")
    if y > today.year:
        raise BadInput(f"考评年度 {y} 还没到（今天是 {today:%Y-%m-%d}）")
    if assessed_on is None:
        raise BadInput("请填写考评日期")
    if assessed_on > today:
        raise BadInput(f"考评日期 {assessed_on:%Y-%m-%d} 晚于今天：不能预先录入考评")
    if assessed_on.year < y:
        raise BadInput(f"考评日期 {assessed_on:%Y-%m-%d} 早于考评年度 {y}：{y} 年度的考评应在 {y} 年内或次年进行")
    if assessed_on.year > y + 1:
        raise BadInput(f"考评日期 {assessed_on:%Y-%m-%d} 离考评年度 {y} 太远：应在 {y} 年内或 {y + 1} 年进行")
    return y


def after_assessment(state: SiteState, year: int, result: str) -> SiteState:
    """The round after an assessment of `year` with `result` ('pass' / 'fail')."""
    if result not in RESULTS:
        raise ValueError(result)
    s = state.status
    if s == "creating":
        if result == "pass":
            return replace(state, status="named", named_year=year, last_year=year)
        return replace(state, status="not_named", last_year=year)
    if s in ("named", "consolidating"):
        return replace(state, status="consolidating" if result == "pass" else "removed", last_year=year)
    raise BadInput(f"状态「{status_label(s)}」不能考评")


def check_interval(value: object) -> int:
    try:
        v = values.parse_int(value)
    except values.BadValue:
        v = None
    if v is None or v not in INTERVALS:
        raise BadInput("年检周期应为 1 或 2（年）")
    return v


# ---------------------------------------------------------------------------------------
# 3. Due dates: which assessments are due, which are overdue
# ---------------------------------------------------------------------------------------
def due_year(state: SiteState) -> int | None:
    """The year whose assessment this round is waiting for (None: nothing is due)."""
    if state.status == "creating":
        return max(state.creation_year, (state.last_year or 0) + 1)
    if state.status == "named":
        return (state.last_year or state.named_year or state.creation_year) + 1
    if state.status == "consolidating":
        return (state.last_year or state.creation_year) + state.interval
    return None


def due_date(state: SiteState) -> date | None:
    """An assessment of year Y is due by the end of Y."""
    y = due_year(state)
    return date(y, 12, 31) if y is not None else None


def is_overdue(state: SiteState, today: date) -> bool:
    d = due_date(state)
    return d is not None and d < today


# ---------------------------------------------------------------------------------------
# 4. Scoring
# ---------------------------------------------------------------------------------------
@dataclass
class Line:
    """One line of a score sheet. Points are Decimal (or raw text/float from a file or the
    editor: `score()` parses them). For penalty lines the points are the points deducted."""

    seq: int
    item: str
    kind: str = "score"                  # score / bonus / penalty / veto
    max_points: Decimal | None = None
    self_score: object = None
    score: object = None
    vetoed: object = False
    note: str | None = None
    rubric_item_id: int | None = None


@dataclass(frozen=True)
class ScoreResult:
    self_total: Decimal | None
    total: Decimal
    vetoed: bool
    result: str                          # pass / fail
    lines: tuple[Line, ...]              # the lines with parsed Decimal points

    @property
    def result_label(self) -> str:
        return RESULTS[self.result]


_TRUE = {"true", "1", "是", "yes", "y", "√", "否决", "x", "×"}
_FALSE = {"false", "0", "否", "no", "n", ""}


def parse_points(raw: object) -> Decimal | None:
    """Points as typed: blank → None; at most two decimals; else ValueError(Chinese)."""
    if raw is None:
        return None
    if isinstance(raw, float):
        if math.isnan(raw):
            return None
        raw = repr(raw)
    if isinstance(raw, Decimal):
        d = raw
    else:
        text = str(raw).strip().replace("分", "").replace("，", ".")
        if text == "":
            return None
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValueError("应为数字（分数）") from None
    if not d.is_finite():
        raise ValueError("应为数字（分数）")
    if d != d.quantize(Decimal("0.01")):
        raise ValueError("最多两位小数")
    return d.quantize(Decimal("0.01"))


def parse_flag(raw: object) -> bool:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return False
    if isinstance(raw, bool):
        return raw
    t = str(raw).strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError("应填「是」或「否」")


def score(lines: Iterable[Line], pass_mark: Decimal = DEFAULT_PASS_MARK, *,
          first_row: int = 1) -> ScoreResult:
    """Check every line and compute the totals and the result. All problems at once, as a
    ValidationFailed with row (= `first_row` + position), column and value."""
    lines = list(lines)
    errors: list[CellError] = []
    parsed: list[Line] = []
    for i, ln in enumerate(lines):
        row = first_row + i
        kind = ln.kind
        if kind not in LINE_KINDS:
            errors.append(CellError(row, "类型", kind, "应为评分项、加分项、扣分项或否决项"))
            continue
        mx = ln.max_points
        try:
            mx = parse_points(mx)
        except ValueError:
            mx = None
        vals: dict[str, Decimal | None] = {}
        for col, label in (("self_score", "自评分"), ("score", "考评得分")):
            try:
                v = parse_points(getattr(ln, col))
            except ValueError as exc:
                errors.append(CellError(row, label, getattr(ln, col), str(exc)))
                vals[col] = None
                continue
            if v is not None:
                if kind == "veto":
                    errors.append(CellError(row, label, v, "否决项不打分：触发时在「否决」一栏填「是」"))
                    v = None
                elif v < 0:
                    hint = "扣分项填写扣除的分数（正数）" if kind == "penalty" else "分数不能是负数"
                    errors.append(CellError(row, label, v, hint))
                    v = None
                elif mx is not None and v > mx:
                    what = {"score": "满分", "bonus": "加分上限", "penalty": "扣分上限"}[kind]
                    errors.append(CellError(row, label, v, f"超过该项{what} {_fmt(mx)} 分"))
                    v = None
            vals[col] = v
        try:
            flag = parse_flag(ln.vetoed)
        except ValueError as exc:
            errors.append(CellError(row, "否决", ln.vetoed, str(exc)))
            flag = False
        if flag and kind != "veto":
            errors.append(CellError(row, "否决", ln.vetoed, "只有否决项可以勾选「否决」"))
            flag = False
        if kind == "score" and vals["score"] is None and not any(
                e.row == row and e.column == "考评得分" for e in errors):
            errors.append(CellError(row, "考评得分", None, f"请填写「{ln.item}」的考评得分"))
        parsed.append(replace(ln, max_points=mx, self_score=vals["self_score"], score=vals["score"],
                              vetoed=flag))
    if errors:
        raise ValidationFailed(f"评分表有 {len(errors)} 处问题，没有保存。请改正后再记录：", errors)
    if not any(ln.kind == "score" for ln in parsed):
        raise BadInput("评分表中没有评分项：请先在「考评细则」中为这一年度和类别建立细则")

    def total_of(attr: str) -> Decimal:
        t = Decimal("0")
        for ln in parsed:
            v = getattr(ln, attr) or Decimal("0")
            t += -v if ln.kind == "penalty" else (v if ln.kind in ("score", "bonus") else 0)
        return max(t, Decimal("0")).quantize(Decimal("0.01"))

    total = total_of("score")
    has_self = any(ln.self_score is not None for ln in parsed)
    vetoed = any(ln.vetoed for ln in parsed)
    result = "fail" if vetoed or total < Decimal(str(pass_mark)) else "pass"
    return ScoreResult(total_of("self_score") if has_self else None, total, vetoed, result, tuple(parsed))


def _fmt(d: Decimal) -> str:
    return format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f").rstrip("0")


def rubric_issues(items: Sequence[dict[str, Any]]) -> list[tuple[int, str, str, bool]]:
    """Checks on one rubric's items: (index, column, message, hard)."""
    out = []
    total = Decimal("0")
    for i, it in enumerate(items):
        kind, mx = it.get("kind"), it.get("max_points")
        if kind in ("score", "bonus", "penalty"):
            if mx is None or Decimal(str(mx)) <= 0:
                out.append((i, "max_points", f"{LINE_KINDS[kind]}要填写大于 0 的分值", True))
            elif kind == "score":
                total += Decimal(str(mx))
        elif kind == "veto" and mx not in (None, 0, Decimal("0")):
            out.append((i, "max_points", "否决项不设分值：请把分值留空", True))
    if items and total != Decimal("100") and any(it.get("kind") == "score" for it in items):
        out.append((-1, "max_points", f"评分项满分合计为 {_fmt(total)} 分（通常为 100 分），请确认", False))
    return out


# ---------------------------------------------------------------------------------------
# 5. Pairing suggestions (结对): advanced sites ↔ lagging orgs within reach
# ---------------------------------------------------------------------------------------
def distance_km(lat1: float | None, lon1: float | None, lat2: float | None, lon2: float | None) -> float | None:
    if lat1 is None or lon1 is None or lat2 is None or lon2 is None:
        return None
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, a)))


def suggest_pairings(sites: Sequence[dict[str, Any]], candidates: Sequence[dict[str, Any]], *, max_km: float = 5.0,
                     per_site: int = 2, taken: Iterable[int] = ()) -> list[dict[str, Any]]:
    """Greedy nearest-first twinning. `sites`: org_id, name, street, lat, lon;
    `candidates`: lagging orgs (org_id, name, street, lat, lon). Within reach means within
    `max_km` when both have coordinates, else in the same street. Each candidate is suggested
    once, each site at most `per_site` times; orgs in `taken` (already paired, or sites
    themselves) are skipped. Returns dicts: site_org_id, site_name, org_id, name, street,
    distance_km (None when judged by street), reason."""
    taken = set(taken) | {s["org_id"] for s in sites}
    pairs = []
    for s in sites:
        for c in candidates:
            if c["org_id"] in taken:
                continue
            d = distance_km(s.get("lat"), s.get("lon"), c.get("lat"), c.get("lon"))
            if d is not None:
                if d > max_km:
                    continue
                key = d
            elif s.get("street") and s.get("street") == c.get("street"):
                key = max_km  # same street, distance unknown: after the measured ones
            else:
                continue
            pairs.append((key, s["org_id"], c["org_id"], s, c, d))
    pairs.sort(key=lambda p: (p[0], p[1], p[2]))
    used_c: set[int] = set()
    load: dict[int, int] = {}
    out = []
    for _, sid, cid, s, c, d in pairs:
        if cid in used_c or load.get(sid, 0) >= per_site:
            continue
        used_c.add(cid)
        load[sid] = load.get(sid, 0) + 1
        reason = (f"相距约 {d:.1f} 公里" if d is not None else "同一街道/系统") + "，后进党组织与示范点结对"
        out.append({"site_org_id": sid, "site_name": s.get("name"), "org_id": cid, "name": c.get("name"),
                    "street": c.get("street"), "distance_km": None if d is None else round(d, 2),
                    "reason": reason})
    return out


# ---------------------------------------------------------------------------------------
# 6. Status at each year's end (briefings: sites by status and category over the years)
# ---------------------------------------------------------------------------------------
def status_at_year_end(creation_year: int, selected: bool, assessments: Sequence[tuple[int, str]],
                       year: int) -> str | None:
    """Status of a round at the end of `year`, from its creation year, whether it was
    selected, and its assessments as (year, status_after). Terminal statuses (not named,
    removed) are reported only in the year they happened, so counts over years are not
    inflated by old rounds. None: not in the programme that year."""
    if year < creation_year:
        return None
    done = sorted((y, s) for y, s in assessments if y <= year)
    if not done:
        return "creating" if selected else ("applied" if year == creation_year else None)
    last_year, status = done[-1]
    if status in ("not_named", "removed") and last_year != year:
        return None
    return status
