"""党费 (party dues) rules engine — pure functions, no database. Rules: shared/spec/dues.md.

Two calculators give identical answers:

* `calc_dues(category, base_income, fixed_amount, settings)` — one member, Python `Decimal`,
  with a Chinese explanation (the single-person calculator and the tests);
* `calc_dues_frame(df, settings)` — a polars frame of any size, integer 分 (Int64) throughout,
  never float (the batch, the import, the CLI).

Arithmetic: dues = base × rate exactly (base in 分 × rate in ‰ gives dues in 1/1000 分), rounded
once to the chosen precision (分/角/元) with the chosen mode, then capped at 1000.00 when the
ceiling is on. Bounds are compared with the exact base and are inclusive (B ≤ 3000 → 0.5 %,
3000 < B ≤ 5000 → 1 %, 5000 < B ≤ 10000 → 1.5 %, B > 10000 → 2 %; retired 0.5 % up to 5000
inclusive, else 1 %). The rate applies to the whole base (全额累进). Fixed amounts (farmer,
0.20 categories, reduced) are taken as they are: precision and rounding only apply to computed
amounts; the ceiling applies to every amount.

Rule codes (column `rule`, field `DuesResult.rule`):

=================  =============================================================
`bracket_0.5`      employed / annual_salary / self_employed, base ≤ 3000, 0.5 %
`bracket_1`        same, 3000 < base ≤ 5000, 1 %
`bracket_1.5`      same, 5000 < base ≤ 10000, 1.5 %
`bracket_2`        same, base > 10000, 2 %
`retired_0.5`      retired, base ≤ 5000, 0.5 %
`retired_1`        retired, base > 5000, 1 %
`fixed_farmer`     farmer, the branch's fixed amount (0.20–1.00; default 0.20)
`fixed_0.20`       student / unemployed / relief / low_income, 0.20
`exempt`           approved exemption, 0.00 (the month counts as paid)
`reduced`          approved reduction, the approved fixed amount
`suspended`        membership suspended / abroad, 0.00 (never arrears)
`<code>_capped`    the rule gave more than 1000.00 and the ceiling is on: 1000.00
=================  =============================================================

Reading input cells (text from csv/xlsx, or native parquet types) — decided here, used
everywhere:

* Money is yuan with at most two decimals, parsed exactly from text, never through float:
  `5009`, `5009.0`, `5009.00` and ` 5009 ` (trimmed, also full-width spaces) are accepted;
  extra decimals are accepted only when they are zeros (`5009.000`); thousands separators
  are accepted only when correctly grouped (`5,009.00`, `1,234,567`; `50,09` is refused);
  signs, currency symbols, `.5`, `5009.`, exponents and full-width digits are refused.
  Negative amounts are refused with their own message. At most 12 integer digits.
* Parquet numbers: integers are whole yuan; decimals are exact; float64/float32 values are
  read through their shortest repr (5009.01 → "5009.01"), then parsed as text as above, so no
  binary float arithmetic ever touches a money value.
* Category: the codes below, case-insensitive and trimmed; the Chinese names (在职, 离退休,
  农民, 学生 …) are accepted as aliases and normalised to the code.
* `base_income` is required for employed / annual_salary / self_employed / retired and ignored
  (not even validated) for the other categories; `fixed_amount` is optional for farmer
  (0.20–1.00 inclusive, empty → settings.farmer_default), required (> 0) for reduced, ignored
  otherwise. `member_id` is text, trimmed, required and unique in `dues calc` input.
* Arrears input (`compute_arrears`): `month` as `YYYY-MM` (also `YYYY-M`, `YYYY/MM`,
  `YYYY.MM`, `YYYY年M月`, and the `YYYY-MM-01[ 00:00:00]` an Excel date cell turns into; a
  parquet Date/Datetime column gives its year and month), from 2008-04 (the 2008 rules) to
  2100-12; an empty `paid` cell means 0.00; (member_id, month) must be unique. Each row's own
  category and base give that month's due amount (the caller supplies the base in force that
  month, so "fixed for the year" is applied before the rows are built).

Frames returned by this module keep money as Int64 分 in columns ending in `_fen`; the
`format_*` functions turn them into the CLI's text columns ("76.50": always two decimals).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
    localcontext,
)

import polars as pl

from .errors import BadInput, CellError

# --------------------------------------------------------------------------------------
# Categories and constants
# --------------------------------------------------------------------------------------

CATEGORIES: dict[str, str] = {
    "employed": "在职",
    "annual_salary": "年薪制",
    "self_employed": "个体经营/不按月取得收入",
    "retired": "离退休",
    "farmer": "农民",
    "student": "学生",
    "unemployed": "下岗失业",
    "relief": "依靠抚恤或救济生活",
    "low_income": "领取最低生活保障金",
    "exempt": "免交",
    "reduced": "少交",
    "suspended": "停止党籍/出国暂停",
}
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

_EXTRA_ALIASES = {
    "个体经营": "self_employed",
    "不按月取得收入": "self_employed",
    "离休": "retired",
    "退休": "retired",
    "离退休人员": "retired",
    "下岗": "unemployed",
    "失业": "unemployed",
    "抚恤": "relief",
    "救济": "relief",
    "低保": "low_income",
    "停止党籍": "suspended",
    "出国暂停": "suspended",
    "暂停": "suspended",
}
CATEGORY_ALIASES: dict[str, str] = {
    **{c: c for c in CATEGORIES},
    **{label: code for code, label in CATEGORIES.items()},
    **_EXTRA_ALIASES,
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

def _choice(value, allowed: Mapping[str, str], label: str):
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

    def __post_init__(self):
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

    def to_dict(self) -> dict:
        d = asdict(self)
        d["farmer_default"] = str(self.farmer_default)
        return d

    @classmethod
    def from_dict(cls, data: Mapping | None) -> DuesSettings:
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


def _to_decimal(value) -> Decimal | None:
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

    def __iter__(self):
        return iter(self.periods)

    def __len__(self):
        return len(self.periods)

    def __eq__(self, other):
        return isinstance(other, RuleHistory) and self.periods == other.periods

    def __hash__(self):
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


def parse_money(value, *, what: str = "金额") -> Decimal:
    """One money value (text or number) → Decimal with 2 decimals, by the module's rules.
    Raises BadInput with a Chinese message."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadInput(f"{what}不能为空")
    if isinstance(value, str):
        problem = _classify_money_text(value.strip())
        if problem:
            raise BadInput(f"{what}{_MONEY_MESSAGES[problem]}")
    d = _to_decimal(value)
    if d is None:
        raise BadInput(f"{what}{_MONEY_MESSAGES['not_number']}")
    if d < 0:
        raise BadInput(f"{what}{_MONEY_MESSAGES['negative']}")
    if _decimals(d) > 2:
        raise BadInput(f"{what}{_MONEY_MESSAGES['decimals']}")
    if d >= Decimal(10) ** _MAX_INT_DIGITS:
        raise BadInput(f"{what}{_MONEY_MESSAGES['too_large']}")
    return d.quantize(Decimal("0.01"))


def _classify_money_text(t: str) -> str | None:
    if _GROUPED.match(t):
        t = t.replace(",", "")
    if _TEXT_MONEY.match(t):
        return None
    if re.fullmatch(r"-\s*[0-9]+(?:\.[0-9]+)?", t):
        return "negative"
    if re.fullmatch(r"[0-9]{13,}(?:\.[0-9]+)?", t):
        return "too_large"
    if re.fullmatch(r"[0-9]+\.[0-9]+", t):
        return "decimals"
    return "not_number"


def normalize_category(value) -> str | None:
    """Category code for a code or Chinese name (trimmed, case-insensitive); None if unknown."""
    if value is None:
        return None
    t = str(value).strip()
    return CATEGORY_ALIASES.get(t) or CATEGORY_ALIASES.get(t.lower())


def _fmt(d: Decimal) -> str:
    return f"{d.quantize(Decimal('0.01'))}"


def _bound_text(lower: int | None, upper: int | None) -> str:
    lo = None if lower is None else lower // 100
    hi = None if upper is None else upper // 100
    if lo is None:
        return f"≤ {hi}"
    if hi is None:
        return f"> {lo}"
    return f"> {lo} 且 ≤ {hi}"


def _pick_bracket(base: Decimal, table) -> tuple[int, int | None, int | None]:
    """(rate ‰, lower bound 分 exclusive, upper bound 分 inclusive) for an exact base."""
    lower = None
    base_fen = base * 100
    for upper, permille in table:
        if upper is None or base_fen <= upper:
            return permille, lower, upper
        lower = upper
    raise AssertionError("unreachable")


def calc_dues(
    category: str,
    base_income: Decimal | None = None,
    fixed_amount: Decimal | None = None,
    settings: DuesSettings = DEFAULT_SETTINGS,
) -> DuesResult:
    """Monthly dues of one member, exact. `base_income` may have any number of decimals (an
    exact computed base); it must be ≥ 0 and finite. Raises BadInput (Chinese) on bad input."""
    code = normalize_category(category)
    if code is None:
        raise BadInput(f"无法识别的党员类别「{category}」，应为：{'、'.join(CATEGORY_CODES)}")
    label = CATEGORIES[code]
    unit = Decimal(settings.unit_fen) / 100
    rate: Decimal | None = None
    if code in BASE_CATEGORIES:
        if base_income is None or (isinstance(base_income, str) and not base_income.strip()):
            raise BadInput(f"类别「{code}（{label}）」必须填写计算基数")
        if isinstance(base_income, str):
            base = parse_money(base_income, what="计算基数")
        else:
            base = _to_decimal(base_income)
            if base is None:
                raise BadInput(f"计算基数「{base_income}」不是有效的数字")
        if base < 0:
            raise BadInput(f"计算基数「{base_income}」不能为负数")
        table = RETIRED_BRACKETS if code == "retired" else BRACKETS
        permille, lower, upper = _pick_bracket(base, table)
        rate = Decimal(permille) / 1000
        with localcontext() as ctx:
            ctx.prec = 60
            exact = base * permille / 1000
            amount = exact.quantize(unit, rounding=ROUNDINGS[settings.rounding])
        prefix = "retired" if code == "retired" else "bracket"
        rule = f"{prefix}_{_PCT[permille]}"
        who = "离退休，" if code == "retired" else ("" if code == "employed" else f"{label}，")
        base_txt = _fmt(base) if _decimals(base) <= 2 else str(base)
        text = f"{who}基数 {base_txt} 元 {_bound_text(lower, upper)}，费率 {_PCT[permille]}%"
        if exact != amount:
            text += (f"，{base_txt} × {_PCT[permille]}% = {exact.normalize():f}，"
                     f"{ROUNDING_LABELS[settings.rounding]}到{PRECISION_LABELS[settings.precision]}")
    elif code == "farmer":
        if fixed_amount is None or (isinstance(fixed_amount, str) and not fixed_amount.strip()):
            amount = settings.farmer_default
            text = "农民党员，未填固定数额，按默认数额"
        else:
            amount = parse_money(fixed_amount, what="固定数额")
            if not (FARMER_MIN <= amount <= FARMER_MAX):
                raise BadInput(f"农民党员的固定数额「{fixed_amount}」超出范围，应在 0.20–1.00 元之间")
            text = "农民党员，按支部确定的固定数额"
        rule = "fixed_farmer"
    elif code in FLAT_CATEGORIES:
        amount = FLAT_AMOUNT
        rule = "fixed_0.20"
        text = f"{label}党员，按规定的固定数额"
    elif code == "exempt":
        amount = Decimal(0)
        rule = "exempt"
        text = "经批准免交（视为已缴，不计欠缴）"
    elif code == "suspended":
        amount = Decimal(0)
        rule = "suspended"
        text = "停止党籍或出国暂停（不计欠缴）"
    else:  # reduced
        if fixed_amount is None or (isinstance(fixed_amount, str) and not fixed_amount.strip()):
            raise BadInput("少交党员必须填写经批准的数额（fixed_amount）")
        amount = parse_money(fixed_amount, what="少交数额")
        if amount <= 0:
            raise BadInput("少交数额应大于 0（免交请使用类别 exempt）")
        rule = "reduced"
        text = "经批准少交，按批准的数额"
    if settings.cap and amount > CAP_AMOUNT:
        text += f"，按规则为 {_fmt(amount)} 元，超过每月 1000 元上限，按上限收缴（多交部分可作自愿缴纳）"
        amount = CAP_AMOUNT
        rule += "_capped"
    dues = amount.quantize(Decimal("0.01"))
    text += f"，应缴 {_fmt(dues)} 元"
    return DuesResult(dues=dues, rate=rate, rule=rule, explanation=text)


# --------------------------------------------------------------------------------------
# Vectorised parsing
# --------------------------------------------------------------------------------------

_MONEY_MESSAGES = {
    "missing": "不能为空",
    "negative": "不能为负数，应为不小于 0 的金额（元，最多两位小数）",
    "not_number": "不是有效的金额，应为数字（元，最多两位小数，如 5009.00）",
    "decimals": "最多两位小数（精确到分）",
    "too_large": "数值过大，应小于 1 万亿元",
}

PROBLEMS = pl.Enum(list(_MONEY_MESSAGES))  # problem codes of money_to_fen


def _money_text(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Fast path: plain well-formed cells (the vast majority) are checked with one regex and
    converted with one exact decimal cast; only the other cells (spaces, commas, empty, bad)
    go through the slower trimming and classification."""
    ok = s.str.contains(_RE_TEXT_MONEY)
    fen = (
        pl.select(pl.when(ok).then(s).otherwise(None).cast(pl.Decimal(16, 2), strict=False) * 100)
        .to_series()
        .cast(pl.Int64)
    )
    rest = ~ok.fill_null(False) | (ok.fill_null(False) & fen.is_null())  # the latter: never expected
    if not rest.any():
        return fen, pl.repeat(None, len(s), dtype=PROBLEMS, eager=True)
    problem = pl.repeat(None, len(s), dtype=PROBLEMS, eager=True)
    idx = rest.arg_true()
    sub_fen, sub_problem = _money_text_slow(s.gather(idx))
    return fen.scatter(idx, sub_fen), problem.scatter(idx, sub_problem)


def _money_text_slow(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    t = s.str.strip_chars()
    if t.str.contains(",", literal=True).any():
        t = pl.select(
            pl.when(t.str.contains(_RE_GROUPED)).then(t.str.replace_all(",", "", literal=True)).otherwise(t)
        ).to_series()
    missing = t.is_null() | (t.str.len_bytes() == 0)
    ok = t.str.contains(_RE_TEXT_MONEY).fill_null(False)
    fen = (
        pl.select(pl.when(ok).then(t).otherwise(None).cast(pl.Decimal(16, 2), strict=False) * 100)
        .to_series()
        .cast(pl.Int64)
    )
    problem = pl.select(pl.when(missing).then(pl.lit("missing", PROBLEMS)).otherwise(pl.lit(None, PROBLEMS))).to_series()
    bad = (~ok & ~missing) | (ok & fen.is_null())
    if bad.any():
        idx = bad.arg_true()
        sub = t.gather(idx)
        kinds = pl.select(
            pl.when(sub.str.contains(r"^-\s*[0-9]+(?:\.[0-9]+)?$")).then(pl.lit("negative", PROBLEMS))
            .when(sub.str.contains(r"^[0-9]{13,}(?:\.[0-9]+)?$")).then(pl.lit("too_large", PROBLEMS))
            .when(sub.str.contains(r"^[0-9]+\.[0-9]+$")).then(pl.lit("decimals", PROBLEMS))
            .otherwise(pl.lit("not_number", PROBLEMS))
        ).to_series()
        problem = problem.scatter(idx, kinds)
    return fen, problem


def money_to_fen(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Exact 分 (Int64, null where missing or invalid) and a problem code per cell (null when
    fine; else missing | negative | not_number | decimals | too_large), for a text or numeric
    column. Never goes through float arithmetic."""
    dt = s.dtype
    n = len(s)
    if dt == pl.Null:
        return pl.repeat(None, n, dtype=pl.Int64, eager=True), pl.repeat("missing", n, dtype=PROBLEMS, eager=True)
    if dt == pl.String:
        return _money_text(s)
    if isinstance(dt, pl.Decimal) and (dt.scale or 0) <= 2:
        fen = (s.cast(pl.Decimal(38, dt.scale or 0)) * 100).cast(pl.Int64, strict=False)
        problem = pl.select(
            pl.when(s.is_null()).then(pl.lit("missing", PROBLEMS))
            .when(fen.is_null()).then(pl.lit("too_large", PROBLEMS))
            .when(fen < 0).then(pl.lit("negative", PROBLEMS))
            .when(fen >= _TOO_LARGE_FEN).then(pl.lit("too_large", PROBLEMS))
            .otherwise(None)
        ).to_series()
        return pl.select(pl.when(problem.is_null()).then(fen)).to_series(), problem
    if dt.is_integer():
        v = s.cast(pl.Int64, strict=False)
        problem = pl.select(
            pl.when(s.is_null()).then(pl.lit("missing", PROBLEMS))
            .when(v.is_null()).then(pl.lit("too_large", PROBLEMS))
            .when(v < 0).then(pl.lit("negative", PROBLEMS))
            .when(v >= 10 ** _MAX_INT_DIGITS).then(pl.lit("too_large", PROBLEMS))
            .otherwise(None)
        ).to_series()
        return pl.select(pl.when(problem.is_null()).then(v * 100)).to_series().cast(pl.Int64), problem
    if dt.is_float() or isinstance(dt, pl.Decimal):
        return _money_text(s.cast(pl.String))  # shortest repr for floats; exact for decimals
    # booleans, dates, lists …: not money
    problem = pl.select(pl.when(s.is_null()).then(pl.lit("missing", PROBLEMS)).otherwise(pl.lit("not_number", PROBLEMS))).to_series()
    return pl.repeat(None, n, dtype=pl.Int64, eager=True), problem


def _as_text(s: pl.Series) -> pl.Series:
    if s.dtype == pl.String:
        return s
    if s.dtype == pl.Null:
        return s.cast(pl.String)
    try:
        return s.cast(pl.String)
    except Exception:  # nested types
        return pl.Series(s.name, [None if v is None else str(v) for v in s.to_list()], dtype=pl.String)


def categories_from(s: pl.Series) -> pl.Series:
    """Category codes (Enum) for a column of codes or Chinese names; null where unknown."""
    enum = _CATEGORY_ENUM
    s = _as_text(s)
    code = s.cast(enum, strict=False)  # exact codes: the common case, fastest
    retry = code.is_null() & s.is_not_null()
    if retry.any():
        idx = retry.arg_true()
        sub = s.gather(idx).str.strip_chars()
        fixed = pl.select(
            pl.coalesce(
                sub.cast(enum, strict=False),
                sub.replace_strict(CATEGORY_ALIASES, default=None, return_dtype=enum),
                sub.str.to_lowercase().replace_strict(CATEGORY_ALIASES, default=None, return_dtype=enum),
            )
        ).to_series()
        code = code.scatter(idx, fixed)
    return code


def _all_unique(s: pl.Series) -> bool:
    """No value twice (nulls included). Sorted input (the usual export) needs no hashing."""
    if s.is_sorted():
        return not (s == s.shift(1)).any()
    return s.n_unique() == len(s)


class _Errors:
    """Collects CellErrors from vectorised masks; only failing rows touch Python."""

    def __init__(self, first_row: int):
        self.first_row = first_row
        self.items: list[tuple[int, int, CellError]] = []

    def add_mask(self, mask: pl.Series, column: str, values: pl.Series, messages, order: float):
        """mask: Boolean aligned with the frame; values: the raw column (any dtype);
        messages: a str, or a callable taking the failing row indexes (UInt32 Series) and
        returning one message per index — so messages are only built for failing rows."""
        mask = mask.fill_null(False)
        if not mask.any():
            return
        idx = mask.arg_true()
        vals = [None if v is None else str(v) for v in values.gather(idx).to_list()]
        msgs = messages(idx) if callable(messages) else [messages] * len(idx)
        for i, v, m in zip(idx.to_list(), vals, msgs):
            self.items.append((i, order, CellError(self.first_row + i, column, v, m)))

    def add(self, error: CellError, i: int = -1, order: int = -1):
        self.items.append((i, order, error))

    def sorted(self) -> list[CellError]:
        return [e for _, _, e in sorted(self.items, key=lambda t: (t[0], t[1]))]

    def __bool__(self):
        return bool(self.items)


def _check_columns(df: pl.DataFrame, required: Iterable[str], file: str | None):
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise BadInput(
            f"缺少必需的列：{'、'.join(missing)}（现有列：{'、'.join(df.columns) or '无'}）", file=file
        )


def _money_messages(problem: pl.Series, prefix: str):
    """Message builder for `_Errors.add_mask` from money problem codes."""
    return lambda idx: [prefix + _MONEY_MESSAGES[c] for c in problem.gather(idx).to_list()]


def _category_list() -> str:
    return "、".join(f"{c}（{l}）" for c, l in CATEGORIES.items())


def parse_dues_input(
    df: pl.DataFrame,
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    first_row: int = 2,
    unique_member: bool = True,
    errors: _Errors | None = None,
    file: str | None = None,
) -> tuple[pl.DataFrame, list[CellError]]:
    """Validate a dues input frame (member_id, category, base_income[, fixed_amount]) and
    return (member_id, category, base_fen, fixed_fen) plus the list of cell errors (empty
    when all is well). Rows are numbered as the spreadsheet shows them (`first_row` = row of
    df row 0)."""
    _check_columns(df, ["member_id", "category", "base_income"], file)
    df = df.rechunk()  # parquet reads come in chunks: hashing and casts are much faster on one
    n = df.height
    err = errors if errors is not None else _Errors(first_row)

    raw_id = df["member_id"]
    member = _as_text(raw_id).str.strip_chars()
    empty_id = member.is_null() | (member.str.len_bytes() == 0)
    err.add_mask(empty_id, "member_id", raw_id, "缺少党员编号（member_id）", 0)
    if unique_member and n and not _all_unique(member):
        dup = member.is_duplicated() & ~empty_id
        if dup.any():
            idx = dup.arg_true()
            sub = pl.DataFrame({"i": idx, "m": member.gather(idx)}).with_columns(
                first=pl.col("i").min().over("m"))
            sub = sub.filter(pl.col("i") != pl.col("first"))
            for i, m, f in sub.iter_rows():
                err.add(CellError(first_row + i, "member_id", m,
                                  f"党员编号重复：与第 {first_row + f} 行相同，每名党员只能出现一次"), i, 0)

    raw_cat = df["category"]
    cat = categories_from(raw_cat)
    if cat.null_count():
        txt = _as_text(raw_cat)
        cat_missing = txt.is_null() | (txt.str.strip_chars().str.len_bytes() == 0)
        err.add_mask(cat_missing, "category", raw_cat, f"缺少党员类别，应为以下之一：{_category_list()}", 1)
        err.add_mask(cat.is_null() & ~cat_missing, "category", raw_cat,
                     f"无法识别的党员类别，应为以下之一：{_category_list()}", 1)

    k = cat.to_physical()
    ci = _CAT_INDEX
    needs_base = (k <= ci["retired"]).fill_null(False)  # bracket categories and retired
    base_fen, base_problem = money_to_fen(df["base_income"])

    def base_messages(idx):
        out = []
        for c, p in zip(cat.gather(idx).to_list(), base_problem.gather(idx).to_list()):
            if p == "missing":
                out.append(f"类别 {c}（{CATEGORIES[c]}）必须填写计算基数 base_income（元，最多两位小数）")
            else:
                out.append("计算基数" + _MONEY_MESSAGES[p])
        return out

    err.add_mask(needs_base & base_problem.is_not_null(), "base_income", df["base_income"], base_messages, 2)
    base_fen = pl.select(pl.when(needs_base).then(base_fen)).to_series()

    if "fixed_amount" in df.columns:
        raw_fixed = df["fixed_amount"]
        fixed_fen, fixed_problem = money_to_fen(raw_fixed)
    else:
        raw_fixed = pl.repeat(None, n, dtype=pl.String, eager=True)
        fixed_fen = pl.repeat(None, n, dtype=pl.Int64, eager=True)
        fixed_problem = pl.repeat("missing", n, dtype=PROBLEMS, eager=True)
    is_farmer = (k == ci["farmer"]).fill_null(False)
    is_reduced = (k == ci["reduced"]).fill_null(False)
    fmin, fmax = int(FARMER_MIN * 100), int(FARMER_MAX * 100)
    # 1 farmer bad cell, 2 farmer out of range, 3 reduced missing, 4 reduced bad cell, 5 reduced ≤ 0
    fixed_code = pl.select(
        pl.when(is_farmer & (fixed_problem == "missing")).then(None)
        .when(is_farmer & fixed_problem.is_not_null()).then(pl.lit(1, pl.UInt8))
        .when(is_farmer & ((fixed_fen < fmin) | (fixed_fen > fmax))).then(pl.lit(2, pl.UInt8))
        .when(is_reduced & (fixed_problem == "missing")).then(pl.lit(3, pl.UInt8))
        .when(is_reduced & fixed_problem.is_not_null()).then(pl.lit(4, pl.UInt8))
        .when(is_reduced & (fixed_fen <= 0)).then(pl.lit(5, pl.UInt8))
        .otherwise(None)
    ).to_series()

    def fixed_messages(idx):
        out = []
        for c, p in zip(fixed_code.gather(idx).to_list(), fixed_problem.gather(idx).to_list()):
            out.append({
                1: lambda: "固定数额" + _MONEY_MESSAGES.get(p, ""),
                2: lambda: "农民党员的固定数额超出范围，应在 0.20–1.00 元之间",
                3: lambda: "少交党员必须在 fixed_amount 填写经批准的数额（元）",
                4: lambda: "少交数额" + _MONEY_MESSAGES.get(p, ""),
                5: lambda: "少交数额应大于 0（免交请使用类别 exempt）",
            }[c]())
        return out

    err.add_mask(fixed_code.is_not_null(), "fixed_amount", raw_fixed, fixed_messages, 3)
    fixed_fen = pl.select(pl.when(is_farmer | is_reduced).then(fixed_fen)).to_series()

    parsed = pl.DataFrame({"member_id": member, "category": cat, "base_fen": base_fen, "fixed_fen": fixed_fen})
    return parsed, (err.sorted() if errors is None else [])


# --------------------------------------------------------------------------------------
# Vectorised calculation
# --------------------------------------------------------------------------------------

def _round_div(num: pl.Expr, d: int, rounding: str) -> pl.Expr:
    """num / d rounded to an integer, for num ≥ 0 (Int64)."""
    if rounding == "down":
        return num // d
    if rounding == "up":
        return (num + (d - 1)) // d
    if rounding == "half_up":
        return (num + d // 2) // d
    q = num // d
    r = num % d
    return q + pl.when((2 * r > d) | ((2 * r == d) & (q % 2 == 1))).then(pl.lit(1, pl.Int64)).otherwise(pl.lit(0, pl.Int64))


_RULE_LOOKUP = [_RULE_NAMES.get(i) for i in range(2 * _CAPPED_OFFSET)]
RULE_ENUM = pl.Enum([_RULE_NAMES[i] for i in sorted(_RULE_NAMES)])
_RATE_LOOKUP = [RATE_TEXT.get(i) for i in range(21)]


def dues_exprs(settings: DuesSettings = DEFAULT_SETTINGS, *, category: str = "category",
               base_fen: str = "base_fen", fixed_fen: str = "fixed_fen",
               rule_as_enum: bool = False) -> list[pl.Expr]:
    """Expressions adding `dues_fen` (Int64), `rate_permille` (Int64; null for fixed amounts)
    and `rule` (String) to a parsed frame: category codes (Enum or text codes), base and fixed
    amount in 分 (Int64). Works on category indexes, so it costs a few ms per million rows."""
    k = pl.col(category).cast(_CATEGORY_ENUM).to_physical().cast(pl.Int64)
    base = pl.col(base_fen).cast(pl.Int64)
    fixed = pl.col(fixed_fen).cast(pl.Int64)
    i64 = lambda v: pl.lit(v, pl.Int64)  # noqa: E731
    ci = _CAT_INDEX
    is_bracket = k <= 2
    is_retired = k == ci["retired"]
    is_flat = (k >= 5) & (k <= 8)
    bracket_rate = (pl.when(base <= 300000).then(i64(5)).when(base <= 500000).then(i64(10))
                    .when(base <= 1000000).then(i64(15)).otherwise(i64(20)))
    retired_rate = pl.when(base <= 500000).then(i64(5)).otherwise(i64(10))
    permille = (pl.when(is_bracket & base.is_not_null()).then(bracket_rate)
                .when(is_retired & base.is_not_null()).then(retired_rate)
                .otherwise(None))
    unit = settings.unit_fen
    computed = _round_div(base * permille, 1000 * unit, settings.rounding) * unit
    farmer_default = int(settings.farmer_default * 100)
    fixed_amount = (pl.when(k == ci["farmer"]).then(fixed.fill_null(farmer_default))
                    .when(is_flat).then(i64(int(FLAT_AMOUNT * 100)))
                    .when((k == ci["exempt"]) | (k == ci["suspended"])).then(i64(0))
                    .when(k == ci["reduced"]).then(fixed)
                    .otherwise(None))
    raw = pl.coalesce(computed, fixed_amount)
    cap_fen = int(CAP_AMOUNT * 100)
    capped = (raw > cap_fen).fill_null(False) if settings.cap else pl.lit(False)
    # rule id: bracket 0..3, retired 4..5, then one id per fixed category; +32 when capped
    rule_id = (pl.when(is_bracket).then(permille // 5 - 1)
               .when(is_retired).then(permille // 5 + 3)
               .when(k == ci["farmer"]).then(i64(_RULE_IDS["fixed_farmer"]))
               .when(is_flat).then(i64(_RULE_IDS["fixed_0.20"]))
               .when(k == ci["exempt"]).then(i64(_RULE_IDS["exempt"]))
               .when(k == ci["reduced"]).then(i64(_RULE_IDS["reduced"]))
               .when(k == ci["suspended"]).then(i64(_RULE_IDS["suspended"]))
               .otherwise(None))
    rule_id = rule_id + pl.when(capped).then(i64(_CAPPED_OFFSET)).otherwise(i64(0))
    return [
        pl.when(capped).then(i64(cap_fen)).otherwise(raw).alias("dues_fen"),
        permille.alias("rate_permille"),
        pl.lit(pl.Series(_RULE_LOOKUP, dtype=pl.String).cast(RULE_ENUM) if rule_as_enum
               else pl.Series(_RULE_LOOKUP, dtype=pl.String)).gather(rule_id).alias("rule"),
    ]


def dues_exprs_by_rule(rules: RuleHistory, *, month: str = "month_index", category: str = "category",
                       base_fen: str = "base_fen", fixed_fen: str = "fixed_fen",
                       rule_as_enum: bool = False) -> list[pl.Expr]:
    """`dues_exprs` with each row computed by the rule in force in its month (`month`: month
    index), plus `rule_version` (the period's code, String)."""
    kw = dict(category=category, base_fen=base_fen, fixed_fen=fixed_fen, rule_as_enum=rule_as_enum)
    per = [dues_exprs(p.settings, **kw) for p in rules]
    codes = pl.Series(rules.codes, dtype=pl.String)
    if len(per) == 1:
        return per[0] + [pl.lit(codes[0], pl.String).alias("rule_version")]
    pidx = rules.period_index(pl.col(month))
    out = []
    for j, name in enumerate(("dues_fen", "rate_permille", "rule")):
        chain = pl.when(pidx == 0).then(per[0][j])
        for k in range(1, len(per)):
            chain = chain.when(pidx == k).then(per[k][j])
        out.append(chain.otherwise(None).alias(name))
    out.append(pl.lit(codes).gather(pidx).alias("rule_version"))
    return out


def calc_dues_frame(
    df: pl.DataFrame,
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    first_row: int = 2,
    file: str | None = None,
) -> pl.DataFrame:
    """Dues for every row of an input frame (member_id, category, base_income[, fixed_amount];
    text or numeric columns). Returns member_id, category, dues_fen, rate_permille, rule in
    input order. Raises BadInput listing every bad cell (nothing is computed then)."""
    parsed, errors = parse_dues_input(df, settings, first_row=first_row, file=file)
    if errors:
        raise BadInput(f"发现 {len(errors)} 处错误，未计算任何党费", errors, file=file)
    return parsed.lazy().with_columns(dues_exprs(settings)).collect()


def calc_dues_table(
    df: pl.DataFrame,
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    first_row: int = 2,
    file: str | None = None,
) -> pl.DataFrame:
    """`calc_dues_frame` + `format_dues` in one pass: the CLI's output (member_id, dues,
    rate, rule as text)."""
    parsed, errors = parse_dues_input(df, settings, first_row=first_row, file=file)
    if errors:
        raise BadInput(f"发现 {len(errors)} 处错误，未计算任何党费", errors, file=file)
    return format_dues(parsed.lazy().with_columns(dues_exprs(settings))).collect()


def fen_text(expr: pl.Expr | str) -> pl.Expr:
    """分 (Int64) → yuan text with exactly two decimals ("76.50"), exactly."""
    e = pl.col(expr) if isinstance(expr, str) else expr
    return (e.cast(pl.Decimal(38, 2)) / 100).cast(pl.String)


def fen_decimal(expr: pl.Expr | str) -> pl.Expr:
    """分 (Int64) → polars Decimal(38, 2) yuan, exactly (for display in the app)."""
    e = pl.col(expr) if isinstance(expr, str) else expr
    return e.cast(pl.Decimal(38, 2)) / 100


def format_dues(result: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """The CLI's output shape: member_id, dues ("76.50"), rate ("0.015"; null for fixed
    amounts), rule."""
    return result.select(
        "member_id",
        fen_text("dues_fen").alias("dues"),
        pl.lit(pl.Series(_RATE_LOOKUP, dtype=pl.String)).gather(pl.col("rate_permille")).alias("rate"),
        "rule",
    )


# --------------------------------------------------------------------------------------
# Payroll base (计算基数)
# --------------------------------------------------------------------------------------

MAPPING_KINDS: dict[str, str] = {
    "counted": "计入",
    "deducted": "扣除（个人缴纳的社保、公积金、年金）",
    "ignored": "不计入",
    "tax": "个人所得税",
    "member_id": "党员编号",
    "name": "姓名",
    "retiree_allowance": "离退休人员普遍发放的津贴补贴",
}
MAPPING_ALIASES: dict[str, str] = {
    **{k: k for k in MAPPING_KINDS},
    "计入": "counted", "扣除": "deducted", "不计入": "ignored", "个税": "tax",
    "个人所得税": "tax", "党员编号": "member_id", "姓名": "name", "离退休津贴": "retiree_allowance",
}
_MONEY_KINDS = ("counted", "deducted", "tax", "retiree_allowance")


def _kind(value) -> str | None:
    if value is None:
        return None
    t = str(value).strip()
    return MAPPING_ALIASES.get(t) or MAPPING_ALIASES.get(t.lower())


def _mapping_errors(columns: Iterable[str] | None, mapping: Mapping[str, str]) -> list[CellError]:
    errs: list[CellError] = []
    kinds = {}
    for col, kind in mapping.items():
        k = _kind(kind)
        if k is None:
            errs.append(CellError(None, col, kind, "口径无法识别，应为："
                                  + "、".join(f"{a}（{b}）" for a, b in MAPPING_KINDS.items())))
        else:
            kinds[col] = k
    if not any(k == "counted" for k in kinds.values()):
        errs.append(CellError(None, None, None, "工资项口径中没有任何“计入”（counted）的列，无法计算基数"))
    ids = [c for c, k in kinds.items() if k == "member_id"]
    if columns is not None and not ids:
        errs.append(CellError(None, None, None, "工资项口径中没有党员编号（member_id）列"))
    if len(ids) > 1:
        errs.append(CellError(None, None, "、".join(ids), "只能有一列是党员编号（member_id）"))
    if columns is not None:
        cols = list(columns)
        for c in cols:
            if c not in mapping:
                errs.append(CellError(None, c, None, "这一列尚未设置口径（计入/扣除/不计入/个税），请先设置"))
        for c, k in kinds.items():
            if c not in cols and k in ("counted", "deducted", "tax", "member_id", "retiree_allowance"):
                errs.append(CellError(None, c, None, "口径中设置了这一列，但文件中没有这一列"))
    return errs


def _base_explanation(counted, deducted, tax, base, settings, retired, allowance, clamped) -> str:
    if retired:
        if settings.retiree_base == "all_allowances":
            t = f"离退休：基本离退休费 {_fmt(counted)} 元 + 普遍发放的津贴补贴 {_fmt(allowance)} 元"
        else:
            t = f"离退休：只计基本离退休费 {_fmt(counted)} 元（不含津贴补贴）"
        return t + f"，基数 {_fmt(base)} 元"
    if settings.base_reading == "2017":
        t = (f"计入项目合计 {_fmt(counted)} 元 − 个人缴纳社保/公积金/年金 {_fmt(deducted)} 元"
             f" − 个人所得税 {_fmt(tax)} 元")
    else:
        t = f"计入项目合计 {_fmt(counted)} 元 − 个人所得税 {_fmt(tax)} 元（只扣个税口径）"
    if clamped:
        return t + " 为负数，基数按 0.00 元计"
    return t + f" = 基数 {_fmt(base)} 元"


def compute_base(
    items: Mapping[str, Decimal],
    mapping: Mapping[str, str],
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    retired: bool = False,
    fixed_base: Decimal | None = None,
) -> BaseResult:
    """Dues base of one member from pay items and the office's column mapping
    (counted | deducted | ignored | tax | member_id | name | retiree_allowance).

    Employed: base = counted − deducted − tax (2017 reading) or counted − tax ("tax_only").
    Retired (`retired=True`): basic pension only (items mapped counted), or plus the items
    mapped retiree_allowance ("all_allowances"), or `fixed_base` ("fixed").
    A negative result is set to 0.00 (`clamped`). Raises BadInput on unknown kinds,
    unmapped items, or non-numeric / negative amounts."""
    errs = _mapping_errors(None, mapping)
    sums = {k: Decimal(0) for k in _MONEY_KINDS}
    for name, value in items.items():
        if name not in mapping:
            errs.append(CellError(None, name, None, "这一工资项尚未设置口径（计入/扣除/不计入/个税），请先设置"))
            continue
        k = _kind(mapping[name])
        if k not in _MONEY_KINDS:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            d = parse_money(value, what="金额")
        except BadInput as exc:
            errs.append(CellError(None, name, value, exc.message))
            continue
        sums[k] += d
    if errs:
        raise BadInput("工资项无法计算基数", errs)
    counted, deducted, tax, allowance = (sums["counted"], sums["deducted"], sums["tax"],
                                         sums["retiree_allowance"])
    clamped = False
    if retired:
        if settings.retiree_base == "fixed":
            if fixed_base is None:
                raise BadInput("离退休基数设置为“固定基数”，但没有给出固定基数")
            base = parse_money(fixed_base, what="固定基数")
            return BaseResult(base, counted, Decimal("0.00"), Decimal("0.00"),
                              f"离退休：按固定基数 {_fmt(base)} 元")
        base = counted + (allowance if settings.retiree_base == "all_allowances" else 0)
        deducted_used, tax_used = Decimal(0), Decimal(0)
    else:
        deducted_used = deducted if settings.base_reading == "2017" else Decimal(0)
        tax_used = tax
        base = counted - deducted_used - tax_used
        if base < 0:
            base, clamped = Decimal(0), True
    q = Decimal("0.01")
    return BaseResult(
        base=base.quantize(q), counted=counted.quantize(q), deducted=deducted_used.quantize(q),
        tax=tax_used.quantize(q),
        explanation=_base_explanation(counted, deducted_used, tax_used, base, settings, retired, allowance, clamped),
        clamped=clamped,
    )


def compute_base_frame(
    df: pl.DataFrame,
    mapping: Mapping[str, str],
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    retired: bool = False,
    first_row: int = 2,
    file: str | None = None,
) -> pl.DataFrame:
    """Vectorised `compute_base` over a payroll frame (one row per member, one column per pay
    item, text or numeric). Returns member_id, [name,] counted_fen, deducted_fen, tax_fen,
    base_fen, clamped in input order. Empty money cells count as 0. Raises BadInput listing
    mapping problems, or else bad cells (non-numeric, negative, > 2 decimals), empty or
    duplicate member ids. (For retiree_base "fixed" use the fixed base directly.)
    `deducted_fen` is what the reading deducted; `deducted_all_fen` the member's own
    contributions whatever the reading (stored with the base, so another month's rule can read
    the same pay again)."""
    map_errs = _mapping_errors(df.columns, mapping)
    if map_errs:
        raise BadInput("工资项口径设置有误", map_errs, file=file)
    kinds = {c: _kind(k) for c, k in mapping.items() if c in df.columns}
    err = _Errors(first_row)
    id_col = next(c for c, k in kinds.items() if k == "member_id")
    raw_id = df[id_col]
    member = _as_text(raw_id).str.strip_chars()
    empty_id = member.is_null() | (member.str.len_bytes() == 0)
    err.add_mask(empty_id, id_col, raw_id, "缺少党员编号", -1)
    if df.height and not _all_unique(member):
        dup = member.is_duplicated() & ~empty_id
        err.add_mask(dup, id_col, raw_id, "党员编号重复，每名党员只能出现一次", -1)
    sums = {k: pl.repeat(0, df.height, dtype=pl.Int64, eager=True) for k in _MONEY_KINDS}
    for j, (col, k) in enumerate(kinds.items()):
        if k not in _MONEY_KINDS:
            continue
        fen, problem = money_to_fen(df[col])
        bad = problem.is_not_null() & (problem != "missing")
        err.add_mask(bad, col, df[col], _money_messages(problem, "金额"), j)
        sums[k] = sums[k] + fen.fill_null(0)
    if err:
        errors = err.sorted()
        raise BadInput(f"发现 {len(errors)} 处错误，未计算基数", errors, file=file)
    out = {"member_id": member}
    name_col = next((c for c, k in kinds.items() if k == "name"), None)
    if name_col:
        out["name"] = _as_text(df[name_col])
    counted, deducted, tax, allowance = (sums["counted"], sums["deducted"], sums["tax"],
                                         sums["retiree_allowance"])
    zero = pl.repeat(0, df.height, dtype=pl.Int64, eager=True)
    deducted_all = deducted  # the member's own contributions, whatever the reading (kept with the base)
    if retired:
        if settings.retiree_base == "fixed":
            raise BadInput("离退休基数设置为“固定基数”：请直接填写固定基数，不必导入工资表", file=file)
        base = counted + (allowance if settings.retiree_base == "all_allowances" else zero)
        deducted, tax, deducted_all = zero, zero, zero
    else:
        if settings.base_reading != "2017":
            deducted = zero
        base = counted - deducted - tax
    clamped = base < 0
    out.update(counted_fen=counted, deducted_fen=deducted, deducted_all_fen=deducted_all, tax_fen=tax,
               base_fen=pl.select(pl.when(clamped).then(0).otherwise(base)).to_series().cast(pl.Int64),
               clamped=clamped)
    return pl.DataFrame(out)


# --------------------------------------------------------------------------------------
# Arrears (欠缴)
# --------------------------------------------------------------------------------------

_RE_MONTH = r"^([0-9]{4})\s*(?:-|/|\.|年)\s*([0-9]{1,2})\s*月?$"
_RE_MONTH_DATE = r"^([0-9]{4})-([0-9]{1,2})-0?1(?:[ T]00:00(?::00(?:\.0+)?)?)?$"


def month_index(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(year*12 + month-1 as Int64, problem message or null) for a month column. Exact
    `YYYY-MM` text takes a fast path; other spellings go through the regexes."""
    if s.dtype == pl.String:
        d = s.str.strptime(pl.Date, "%Y-%m", strict=False)
        if d.null_count() == 0:
            return _month_index_slow(d)
        rest = d.is_null()
        idx_rest = rest.arg_true()
        i_fast, p_fast = _month_index_slow(d)
        i_slow, p_slow = _month_index_slow(s.gather(idx_rest))
        return i_fast.scatter(idx_rest, i_slow), p_fast.scatter(idx_rest, p_slow)
    return _month_index_slow(s)


def _month_index_slow(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    n = len(s)
    if s.dtype in (pl.Date,) or isinstance(s.dtype, pl.Datetime):
        y, m = s.dt.year().cast(pl.Int64), s.dt.month().cast(pl.Int64)
    else:
        t = _as_text(s).str.strip_chars()
        g1 = t.str.extract_groups(_RE_MONTH)
        g2 = t.str.extract_groups(_RE_MONTH_DATE)
        y = pl.select(pl.coalesce(g1.struct.field("1"), g2.struct.field("1")).cast(pl.Int64)).to_series()
        m = pl.select(pl.coalesce(g1.struct.field("2"), g2.struct.field("2")).cast(pl.Int64)).to_series()
    idx = y * 12 + (m - 1)
    first = FIRST_MONTH[0] * 12 + FIRST_MONTH[1] - 1
    empty = s.is_null() if s.dtype != pl.String else (s.is_null() | (s.str.strip_chars().str.len_bytes() == 0))
    problem = pl.select(
        pl.when(empty).then(pl.lit("缺少月份，应为 YYYY-MM，如 2024-03"))
        .when(y.is_null() | m.is_null()).then(pl.lit("月份格式不对，应为 YYYY-MM，如 2024-03"))
        .when((m < 1) | (m > 12)).then(pl.lit("月份应在 01–12 之间，格式 YYYY-MM"))
        .when(idx < first).then(pl.lit("月份早于 2008-04：本系统按 2008 年规定计算，更早的月份不适用"))
        .when(y > LAST_YEAR).then(pl.lit(f"年份超出范围（应不晚于 {LAST_YEAR} 年）"))
        .otherwise(None)
    ).to_series()
    idx = pl.select(pl.when(problem.is_null()).then(idx)).to_series()
    assert len(idx) == n
    return idx, problem


_FIRST_INDEX = FIRST_MONTH[0] * 12 + FIRST_MONTH[1] - 1
_MONTH_LOOKUP = pl.Series([f"{i // 12}-{i % 12 + 1:02d}" for i in range(_FIRST_INDEX, (LAST_YEAR + 1) * 12)],
                          dtype=pl.String)


def _month_text(expr: pl.Expr) -> pl.Expr:
    """month index (validated range) → "YYYY-MM" via a small lookup table (no string work)."""
    return pl.lit(_MONTH_LOOKUP).gather(expr - _FIRST_INDEX)


_TRUE_TEXT = ("true", "1", "是", "yes", "y", "t", "√")
_FALSE_TEXT = ("false", "0", "否", "no", "n", "f", "")


def _bool_cells(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(Boolean, bad mask) for a yes/no column: true/false, 1/0, 是/否, yes/no; empty = false."""
    if s.dtype == pl.Boolean:
        return s.fill_null(False), pl.repeat(False, len(s), eager=True)
    t = _as_text(s).str.strip_chars().str.to_lowercase().fill_null("")
    yes = t.is_in(list(_TRUE_TEXT))
    bad = ~yes & ~t.is_in(list(_FALSE_TEXT))
    return yes, bad


def _bases_in_force(work: pl.DataFrame, fixed: pl.Expr) -> pl.Series:
    """The base in force in each row's month when amounts are fixed for the year (`fixed`
    true for the row): a row's base applies from its own month when it is the member's first
    row, a January row, marked `redetermine`, or the category changed from the row before (a
    new category is a new determination); otherwise from the next January. The base in force
    is that of the latest applying row (the latest month among rows applying from the same
    month) — the rule `dues_store` applies to the base history. `work` is sorted by member
    (grouped) then month."""
    big = 1 << 20  # month indexes stay below 2**15
    new_member = (pl.col("member_id") != pl.col("member_id").shift(1)).fill_null(True)
    cat_change = (pl.col("category") != pl.col("category").shift(1)).fill_null(True)
    applies = (pl.when(~fixed | new_member | cat_change | (pl.col("month_index") % 12 == 0) | pl.col("redetermine"))
               .then(pl.col("month_index")).otherwise((pl.col("month_index") // 12 + 1) * 12))
    keyed = work.lazy().select(
        _m=new_member.cum_sum().cast(pl.Int64), month_index="month_index", base_fen="base_fen", applies=applies,
    ).with_columns(t=pl.col("_m") * big + pl.col("month_index"), k=pl.col("_m") * big + pl.col("applies")).collect()
    cand = (keyed.select("k", "month_index", "base_fen").sort("k", "month_index")
            .unique("k", keep="last", maintain_order=True))
    got = keyed.select("t").join_asof(cand.select("k", "base_fen"), left_on="t", right_on="k", strategy="backward")
    return got["base_fen"]


def arrears_detail(
    df: pl.DataFrame,
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    rules: RuleHistory | None = None,
    amount_mode: str = "monthly",
    first_row: int = 2,
    file: str | None = None,
) -> pl.DataFrame:
    """Per member and month (应缴 / 实缴 / 补交): member_id, month ("YYYY-MM"), month_index
    (year × 12 + month − 1), category (Enum of the codes), rule (Enum RULE_ENUM), rule_version
    (code of the dated rule used, `rules`; null without), base_used_fen (the base the due
    amount was computed from), due_fen, paid_fen, back_pay_fen (= max(due −
    paid, 0)), unpaid (due > 0 and paid = 0), consecutive_unpaid (length of the unpaid run
    ending that month, 0 otherwise), row (spreadsheet row). Sorted by member (in order of first
    appearance) then month. Raises BadInput listing every bad cell.

    `rules`: compute each month by the rule in force that month (a `RuleHistory`; None: the
    one `settings` for every month). `amount_mode` (`AMOUNT_MODES_CLI`): "monthly" takes each
    row's base as that month's base; "fixed_for_year" keeps the base determined at the start
    of the year (`_bases_in_force`; an optional `redetermine` column marks re-determinations);
    "by_rule" does so in the months whose rule says so (2017 on)."""
    _check_columns(df, ["member_id", "month", "category", "base_income", "paid"], file)
    if amount_mode not in AMOUNT_MODES_CLI:
        raise BadInput(f"金额调整方式「{amount_mode}」无效，应为：{'、'.join(AMOUNT_MODES_CLI)}")
    df = df.rechunk()
    err = _Errors(first_row)
    parsed, _ = parse_dues_input(df, settings, first_row=first_row, unique_member=False, errors=err, file=file)
    midx, mproblem = month_index(df["month"])
    err.add_mask(mproblem.is_not_null(), "month", df["month"], lambda idx: mproblem.gather(idx).to_list(), 1.5)
    paid_fen, paid_problem = money_to_fen(df["paid"])
    paid_bad = paid_problem.is_not_null() & (paid_problem != "missing")
    err.add_mask(paid_bad, "paid", df["paid"], _money_messages(paid_problem, "实缴金额"), 4)
    n = df.height
    if "redetermine" in df.columns:
        redetermine, redet_bad = _bool_cells(df["redetermine"])
        err.add_mask(redet_bad, "redetermine", df["redetermine"], "重新核定应填 true/false（是/否），空白表示否", 5)
    else:
        redetermine = pl.repeat(False, n, eager=True)
    work = parsed.with_columns(
        month_index=midx,
        paid_fen=paid_fen.fill_null(0),  # an empty paid cell means nothing was paid
        row=pl.int_range(n, dtype=pl.Int64, eager=True),
        redetermine=redetermine,
    )
    member = work["member_id"]
    change = (member != member.shift(1)).fill_null(True)
    # Fast path: each member's rows are together and months strictly increase within them
    # (the usual export). Then the rows are already in output order and no (member, month)
    # can repeat. Otherwise sort by (first appearance, month) and look for repeats.
    ordered = (
        not err
        and int(change.sum()) == member.n_unique()
        and bool((change | (midx > midx.shift(1)).fill_null(False)).all())
    )
    if not ordered:
        keyed = work.filter(pl.col("month_index").is_not_null() & pl.col("member_id").is_not_null()
                            & (pl.col("member_id").str.len_bytes() > 0))
        keyed = keyed.with_columns(first=pl.col("row").min().over("member_id")).sort(
            ["first", "month_index", "row"])
        same = (pl.col("first") == pl.col("first").shift(1)) & (pl.col("month_index") == pl.col("month_index").shift(1))
        dup = keyed.filter(same)
        if dup.height:
            firsts = keyed.group_by(["first", "month_index"]).agg(first_dup=pl.col("row").min())
            dup = dup.join(firsts, on=["first", "month_index"], how="left")
            for m, mi, r, f in dup.select("member_id", "month_index", "row", "first_dup").iter_rows():
                err.add(CellError(first_row + r, "month", f"{mi // 12}-{mi % 12 + 1:02d}",
                                  f"党员「{m}」的这个月份与第 {first_row + f} 行重复，每名党员每月只能有一行"), r, 1.5)
        if not err:
            work = keyed.drop("first")
    if err:
        errors = err.sorted()
        raise BadInput(f"发现 {len(errors)} 处错误，未计算欠缴", errors, file=file)

    if amount_mode != "monthly" and n:
        if amount_mode == "fixed_for_year":
            fixed = pl.lit(True)
        else:
            hist = rules or RuleHistory([RulePeriod(0, settings, "", "")])
            fixed = pl.lit(pl.Series([p.settings.amount_mode == "fixed_for_year" for p in hist], dtype=pl.Boolean)
                           ).gather(hist.period_index(pl.col("month_index")))
        work = work.with_columns(base_fen=_bases_in_force(work, fixed))
    if rules is not None:
        computed = dues_exprs_by_rule(rules, rule_as_enum=True)
    else:
        computed = dues_exprs(settings, rule_as_enum=True) + [pl.lit(None, pl.String).alias("rule_version")]
    unpaid = (pl.col("dues_fen") > 0) & (pl.col("paid_fen") == 0)
    new_member = (pl.col("member_id") != pl.col("member_id").shift(1)).fill_null(True)
    adjacent = (pl.col("month_index") == pl.col("month_index").shift(1) + 1).fill_null(False)
    pos = pl.int_range(pl.len(), dtype=pl.Int64)
    start = pl.col("unpaid") & (new_member | ~adjacent | ~pl.col("unpaid").shift(1).fill_null(False))
    run_start = pl.when(start).then(pos).otherwise(None).forward_fill()
    return (
        work.lazy()
        .with_columns(computed)
        .with_columns(unpaid=unpaid)
        .select(
            "member_id",
            month=_month_text(pl.col("month_index")),
            month_index="month_index",
            category="category",
            rule="rule",
            rule_version="rule_version",
            base_used_fen="base_fen",
            due_fen="dues_fen",
            paid_fen="paid_fen",
            back_pay_fen=pl.max_horizontal(pl.col("dues_fen") - pl.col("paid_fen"), pl.lit(0, pl.Int64)),
            unpaid="unpaid",
            consecutive_unpaid=pl.when(pl.col("unpaid")).then(pos - run_start + 1).otherwise(pl.lit(0, pl.Int64)),
            row=pl.col("row") + first_row,
        )
        .collect()
    )


def warning_level(max_consecutive: int, settings: DuesSettings = DEFAULT_SETTINGS) -> str:
    """"none" | "warn" (from 3 consecutive unpaid months) | "flag" (6 or more). A flag is a
    prompt for the branch: the product never removes anyone."""
    if max_consecutive >= settings.flag_months:
        return "flag"
    if max_consecutive >= settings.warn_from_months:
        return "warn"
    return "none"


def warning_level_expr(expr: pl.Expr | str, settings: DuesSettings = DEFAULT_SETTINGS) -> pl.Expr:
    e = pl.col(expr) if isinstance(expr, str) else expr
    return (pl.when(e >= settings.flag_months).then(pl.lit("flag"))
            .when(e >= settings.warn_from_months).then(pl.lit("warn")).otherwise(pl.lit("none")))


def summarize_arrears(detail: pl.DataFrame, settings: DuesSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """Per member from `arrears_detail`: member_id, months, due_total_fen, paid_total_fen,
    arrears_fen, max_consecutive_unpaid, flag_six_months, warning."""
    member_no = (pl.col("member_id") != pl.col("member_id").shift(1)).fill_null(True).cum_sum()
    return (
        detail.lazy()
        .with_columns(_member_no=member_no)  # rows come grouped by member: an integer key
        .group_by("_member_no", maintain_order=True)
        .agg(
            pl.col("member_id").first(),
            months=pl.len().cast(pl.Int64),
            due_total_fen=pl.col("due_fen").sum(),
            paid_total_fen=pl.col("paid_fen").sum(),
            arrears_fen=pl.col("back_pay_fen").sum(),
            max_consecutive_unpaid=pl.col("consecutive_unpaid").max().cast(pl.Int64),
        )
        .with_columns(
            flag_six_months=pl.col("max_consecutive_unpaid") >= settings.flag_months,
            warning=warning_level_expr("max_consecutive_unpaid", settings),
        )
        .drop("_member_no")
        .collect()
    )


def compute_arrears(
    df: pl.DataFrame,
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    rules: RuleHistory | None = None,
    amount_mode: str = "monthly",
    first_row: int = 2,
    file: str | None = None,
) -> pl.DataFrame:
    """Arrears per member (in order of first appearance) from one row per member and month
    (member_id, month, category, base_income, paid[, fixed_amount]). Columns: member_id,
    months, due_total_fen, paid_total_fen, arrears_fen, max_consecutive_unpaid,
    flag_six_months, warning. Unpaid = due > 0 and paid = 0; arrears = Σ max(due − paid, 0);
    runs need adjacent calendar months (a missing month or a month with nothing due breaks a
    run); flag when the longest run ≥ settings.flag_months (6)."""
    detail = arrears_detail(df, settings, rules=rules, amount_mode=amount_mode, first_row=first_row, file=file)
    return summarize_arrears(detail, settings)


def format_arrears(result: pl.DataFrame) -> pl.DataFrame:
    """The CLI's output shape (money as text with two decimals)."""
    return result.select(
        "member_id", "months",
        fen_text("due_total_fen").alias("due_total"),
        fen_text("paid_total_fen").alias("paid_total"),
        fen_text("arrears_fen").alias("arrears"),
        "max_consecutive_unpaid", "flag_six_months",
    )


RULE_VERSION_COLUMNS = ["member_id", "month", "category", "base_used", "rule_version", "rule", "due", "paid",
                        "back_pay", "consecutive_unpaid"]


def format_arrears_detail(detail: pl.DataFrame) -> pl.DataFrame:
    """Per member and month, for `dues arrears --detail`: which rule each month used."""
    return detail.select(
        "member_id", "month", pl.col("category").cast(pl.String),
        fen_text("base_used_fen").alias("base_used"), "rule_version", pl.col("rule").cast(pl.String),
        fen_text("due_fen").alias("due"), fen_text("paid_fen").alias("paid"),
        fen_text("back_pay_fen").alias("back_pay"), "consecutive_unpaid",
    )


# --------------------------------------------------------------------------------------
# Flags
# --------------------------------------------------------------------------------------

def voluntary_payment_flag(amount) -> bool:
    """A one-off voluntary payment of 1000.00 or more is forwarded in full to the Centre."""
    d = parse_money(amount, what="自愿缴纳金额")
    return d >= VOLUNTARY_FORWARD_THRESHOLD


def back_payment_flag(months_covered: int) -> bool:
    """A back payment (补交) covering more than 6 months is accepted but flagged."""
    if isinstance(months_covered, bool) or not isinstance(months_covered, int) or months_covered < 0:
        raise BadInput(f"补交月数「{months_covered}」无效，应为不小于 0 的整数")
    return months_covered > BACK_PAY_NORMAL_MAX_MONTHS


def voluntary_payment_flag_expr(fen: pl.Expr | str) -> pl.Expr:
    e = pl.col(fen) if isinstance(fen, str) else fen
    return e >= int(VOLUNTARY_FORWARD_THRESHOLD * 100)


def back_payment_flag_expr(months: pl.Expr | str) -> pl.Expr:
    e = pl.col(months) if isinstance(months, str) else months
    return e > BACK_PAY_NORMAL_MAX_MONTHS
