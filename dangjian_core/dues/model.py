"""党费 types and constants: categories, settings (`DuesSettings`), results, the dated rule
history (`RuleHistory`, `BUILTIN_RULES`). The rules themselves: `rules` (one member, Decimal),
`engine` (polars frames), `arrears_rules` (欠缴 over months)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)
from typing import Any

import polars as pl

from .. import vocab
from ..errors import BadInput

# --------------------------------------------------------------------------------------
# Categories and constants
# --------------------------------------------------------------------------------------

# the one table of dues categories (code → label, in the order of the rate rules) is vocab's
CATEGORIES: dict[str, str] = vocab.DUES_CATEGORIES
CATEGORY_CODES: tuple[str, ...] = tuple(CATEGORIES)
BRACKET_CATEGORIES = frozenset({"employed", "annual_salary", "self_employed"})
BASE_CATEGORIES = BRACKET_CATEGORIES | {"retired"}
FLAT_CATEGORIES = frozenset({"student", "unemployed", "relief", "low_income"})
ZERO_CATEGORIES = frozenset({"exempt", "suspended"})
_CAT_INDEX = {c: i for i, c in enumerate(CATEGORY_CODES)}  # the Enum's physical codes
_CATEGORY_ENUM = pl.Enum(list(CATEGORY_CODES))
# the vectorised code relies on this order: bracket categories 0–2, retired 3, flat 5–8
assert [_CAT_INDEX[c] for c in ("employed", "annual_salary", "self_employed", "retired")] == [0, 1, 2, 3]
assert [_CAT_INDEX[c] for c in ("student", "unemployed", "relief", "low_income")] == [5, 6, 7, 8]

CATEGORY_ALIASES: dict[str, str] = {
    **{c: c for c in CATEGORIES},
    **{label: code for code, label in CATEGORIES.items()},
    **vocab.DUES_CATEGORY_ALIASES,
}

FLAT_AMOUNT = Decimal("0.20")
FARMER_MIN = Decimal("0.20")
FARMER_MAX = Decimal("1.00")
CAP_AMOUNT = Decimal("1000.00")
VOLUNTARY_FORWARD_THRESHOLD = Decimal("1000.00")  # 一次性自愿多交 ≥ 1000 元：全额上缴中央
BACK_PAY_NORMAL_MAX_MONTHS = 6  # 补交一般不超过 6 个月
FIRST_MONTH = (2008, 4)  # the 2008 rules are in force from 2008-04
LAST_YEAR = 2100

# (inclusive upper bound in 分, rate in ‰); None = no upper bound
BRACKETS: tuple[tuple[int | None, int], ...] = ((300000, 5), (500000, 10), (1000000, 15), (None, 20))
RETIRED_BRACKETS: tuple[tuple[int | None, int], ...] = ((500000, 5), (None, 10))

_PCT = {5: "0.5", 10: "1", 15: "1.5", 20: "2"}
RATE_TEXT = {5: "0.005", 10: "0.01", 15: "0.015", 20: "0.02"}

RULE_CODES: tuple[str, ...] = (
    "bracket_0.5", "bracket_1", "bracket_1.5", "bracket_2", "retired_0.5", "retired_1",
    "fixed_farmer", "fixed_0.20", "exempt", "reduced", "suspended",
)
_RULE_IDS = {code: i for i, code in enumerate(RULE_CODES)}
_CAPPED_OFFSET = 32
_RULE_NAMES = {**{i: c for c, i in _RULE_IDS.items()},
               **{i + _CAPPED_OFFSET: c + "_capped" for c, i in _RULE_IDS.items()}}

PRECISIONS = {"fen": 1, "jiao": 10, "yuan": 100}  # unit in 分
PRECISION_LABELS = {"fen": "分", "jiao": "角", "yuan": "元"}
ROUNDINGS = {"half_up": ROUND_HALF_UP, "up": ROUND_UP, "down": ROUND_DOWN, "half_even": ROUND_HALF_EVEN}
ROUNDING_LABELS = {"half_up": "四舍五入", "up": "进位", "down": "舍去", "half_even": "四舍六入五成双"}
BASE_READINGS = {"2017": "扣除个人缴纳的社保、公积金、年金和个税（2017 年口径）",
                 "tax_only": "只扣除个人所得税（2008 年口径）"}
RETIREE_BASES = {"basic_pension": "只计基本离退休费（2017 年口径）",
                 "all_allowances": "基本离退休费加普遍发放的津贴补贴（2008 年口径）",
                 "fixed": "固定基数"}
AMOUNT_MODES = {"fixed_for_year": "每年年初核定，年内不变", "monthly": "按月随工资变化"}

_MAX_INT_DIGITS = 12
_TOO_LARGE_FEN = 10 ** (_MAX_INT_DIGITS + 2)


# --------------------------------------------------------------------------------------
# Settings and results
# --------------------------------------------------------------------------------------

def _choice(value: object, allowed: Mapping[str, object], label: str) -> None:
    if value not in allowed:
        raise BadInput(f"设置「{label}」的值「{value}」无效，应为：{'、'.join(allowed)}")


@dataclass(frozen=True)
class DuesSettings:
    """How dues are computed. Stored as JSON (`to_dict`) and recorded with each amount."""

    precision: str = "fen"            # fen | jiao | yuan
    rounding: str = "half_up"         # half_up | up | down | half_even
    cap: bool = True                  # cap at 1000.00
    base_reading: str = "2017"        # "2017" | "tax_only"
    retiree_base: str = "basic_pension"  # basic_pension | all_allowances | fixed
    amount_mode: str = "fixed_for_year"  # fixed_for_year | monthly
    farmer_default: Decimal = FLAT_AMOUNT
    warn_from_months: int = 3
    flag_months: int = 6

    def __post_init__(self) -> None:
        _choice(self.precision, PRECISIONS, "计算精度")
        _choice(self.rounding, ROUNDINGS, "舍入方式")
        _choice(self.base_reading, BASE_READINGS, "计算基数口径")
        _choice(self.retiree_base, RETIREE_BASES, "离退休基数")
        _choice(self.amount_mode, AMOUNT_MODES, "金额调整方式")
        if not isinstance(self.cap, bool):
            raise BadInput(f"设置「封顶」的值「{self.cap}」无效，应为 true 或 false")
        fd = _to_decimal(self.farmer_default)
        if fd is None or not (FARMER_MIN <= fd <= FARMER_MAX) or _decimals(fd) > 2:
            raise BadInput(f"设置「农民党员默认数额」的值「{self.farmer_default}」无效，"
                           f"应在 {FARMER_MIN}–{FARMER_MAX} 元之间，最多两位小数")
        object.__setattr__(self, "farmer_default", fd.quantize(Decimal("0.01")))
        for name, label in (("warn_from_months", "提醒月数"), ("flag_months", "标记月数")):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise BadInput(f"设置「{label}」的值「{v}」无效，应为正整数")
        if self.warn_from_months > self.flag_months:
            raise BadInput("设置无效：提醒月数不能大于标记月数")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["farmer_default"] = str(self.farmer_default)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DuesSettings:
        data = dict(data or {})
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BadInput(f"党费设置中有无法识别的项目：{'、'.join(unknown)}")
        if "cap" in data and isinstance(data["cap"], str):
            v = data["cap"].strip().lower()
            if v in ("1000", "true", "on", "yes"):
                data["cap"] = True
            elif v in ("none", "false", "off", "no"):
                data["cap"] = False
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DuesSettings:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BadInput("党费设置不是有效的 JSON") from exc
        if not isinstance(data, dict):
            raise BadInput("党费设置应为 JSON 对象")
        return cls.from_dict(data)

    @property
    def unit_fen(self) -> int:
        return PRECISIONS[self.precision]



@dataclass(frozen=True)
class DuesResult:
    dues: Decimal            # always 2 decimals
    rate: Decimal | None     # 0.005 / 0.01 / 0.015 / 0.02; None for fixed amounts
    rule: str
    explanation: str


@dataclass(frozen=True)
class BaseResult:
    base: Decimal
    counted: Decimal
    deducted: Decimal
    tax: Decimal
    explanation: str
    clamped: bool = False    # deductions exceeded the counted pay: base set to 0.00


# --------------------------------------------------------------------------------------
# Scalar helpers
# --------------------------------------------------------------------------------------

# money text: ASCII digits only (a Unicode \d would let full-width digits through)
_RE_TEXT_MONEY = r"^[0-9]{1,12}(?:\.[0-9]{1,2}0*)?$"  # extra decimals only if they are zeros
_RE_GROUPED = r"^-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$"  # correctly grouped thousands
_TEXT_MONEY = re.compile(_RE_TEXT_MONEY)
_GROUPED = re.compile(_RE_GROUPED)


def _decimals(d: Decimal) -> int:
    d = d.normalize() if d != 0 else Decimal(0)
    exp = d.as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0


def _to_decimal(value: object) -> Decimal | None:
    """Exact Decimal from Decimal/int/str/float (float via its shortest repr); None if not a
    finite number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        t = value.strip()
        if _GROUPED.match(t):
            t = t.replace(",", "")
        if not re.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?", t):
            return None
        try:
            d = Decimal(t)
        except InvalidOperation:
            return None
        return d
    return None


DEFAULT_SETTINGS = DuesSettings()


# --------------------------------------------------------------------------------------
# Dated rule history: each month is computed by the rule in force that month
# --------------------------------------------------------------------------------------

def month_number(year: int, month: int) -> int:
    """year × 12 + month − 1: the month index used by every frame of this module."""
    return year * 12 + month - 1


#: The 2008 rules as they stood before the 2017 notice: the base deducts only the income tax,
#: retirees' base includes the allowances paid to all retirees, no 1000-yuan ceiling, and a new
#: pay level counts from the month it is first paid (Art. 10).
RULE_2008_SETTINGS = DuesSettings(cap=False, base_reading="tax_only", retiree_base="all_allowances",
                                  amount_mode="monthly")
#: From the 2017 notice: base after the member's own 社保/公积金/年金 and tax, retirees' basic
#: pension only, at most 1000.00 a month, amounts fixed at the start of the year.
RULE_2017_SETTINGS = DuesSettings()
RULE_2017_FROM = (2017, 1)  # the notice is applied from the first month of 2017 (amounts are set per year)


@dataclass(frozen=True)
class RulePeriod:
    """A rule in force from month `start` (month index) until the next period starts."""

    start: int
    settings: DuesSettings
    code: str        # short code shown per month: "2008", "2017", or "v<N>" for an office version
    label: str       # Chinese description

    @property
    def start_text(self) -> str:
        return f"{self.start // 12}-{self.start % 12 + 1:02d}"


class RuleHistory:
    """Rules effective from a month, oldest first. `at(month)` is the rule in force that
    month (a month before the first period uses the first period's rule)."""

    def __init__(self, periods: Iterable[RulePeriod]):
        ps = sorted(periods, key=lambda p: p.start)
        if not ps:
            raise BadInput("党费规则历史为空：至少需要一条规则")
        starts = [p.start for p in ps]
        if len(set(starts)) != len(starts):
            raise BadInput("党费规则历史中有两条规则自同一月份起施行")
        self.periods: tuple[RulePeriod, ...] = tuple(ps)

    def __iter__(self) -> Iterator[RulePeriod]:
        return iter(self.periods)

    def __len__(self) -> int:
        return len(self.periods)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RuleHistory) and self.periods == other.periods

    def __hash__(self) -> int:
        return hash(self.periods)

    @property
    def latest(self) -> RulePeriod:
        return self.periods[-1]

    def at(self, month_index: int) -> RulePeriod:
        found = self.periods[0]
        for p in self.periods:
            if p.start <= month_index:
                found = p
        return found

    def period_index(self, month: pl.Expr) -> pl.Expr:
        """Int64 index into `periods` of the rule in force for a month-index expression."""
        idx = pl.lit(0, pl.Int64)
        for p in self.periods[1:]:
            idx = idx + (month >= p.start).cast(pl.Int64)
        return idx

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.periods]

    def labels(self) -> dict[str, str]:
        return {p.code: p.label for p in self.periods}


BUILTIN_RULES = RuleHistory([
    RulePeriod(month_number(*FIRST_MONTH), RULE_2008_SETTINGS, "2008",
               "2008 年规定（中组发〔2008〕3号）：基数只扣个人所得税，不设 1000 元上限，工资变动当月起调整"),
    RulePeriod(month_number(*RULE_2017_FROM), RULE_2017_SETTINGS, "2017",
               "2017 年通知（组电明字〔2017〕5号）：基数扣除个人缴纳的社保、公积金、年金和个税，"
               "每月一般不超过 1000 元，每年年初核定"),
])
AMOUNT_MODES_CLI = {
    "monthly": "每行的计算基数就是该月的基数（默认，与 cli.md 一致）",
    "fixed_for_year": "每年年初核定：年内沿用当年第一次核定的基数，标记 redetermine 的月份或类别变化的月份重新核定",
    "by_rule": "按各月适用的规则：2017 年起每年年初核定，此前按月随工资变化",
}
