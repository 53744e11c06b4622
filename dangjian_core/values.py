"""One parsing rule per kind of value, the same on every path (table editor, Excel/CSV import,
CLI, workflow forms): what a Chinese office types is read the same way everywhere.

Scalar parsers take a value as typed (text, or a number/date from a typed file) and return the
typed value, `None` for a blank cell (whether blank is allowed is the caller's rule), or raise
`BadValue` with a Chinese message that names no row or column (the caller adds those).
Column-wise versions (`*_column`) take a polars Series and return `Parsed(values, errors)`:
the parsed Series and, per row, the message (null where fine or blank). They give exactly what
the scalar parser gives for every cell (tests/test_values.py proves it on random input): the
common spelling takes a vectorised fast path, every other cell goes through the scalar parser
once per distinct value.

Rules (documented vectors in tests/test_values.py):
- every kind but text: surrounding spaces are ignored, full-width characters are read as
  their ASCII forms (１２３ → 123, ，→ ,, ．→ ., －→ -, ￥ → ¥), and our own export's formula
  escape (a leading ' before = + - @) is taken off.
- numbers (`parse_decimal`, `parse_money`, `parse_int`): digits with an optional sign and
  decimal point ("12", "12.5", "12.", ".5"); commas only as thousands separators
  ("1,234.50"; "50,09" is refused — 50.09 or 5009?); no scientific notation ("5e3" refused);
  extra decimals only when they are zeros ("1.500"). Money may carry "¥" before or "元"
  after ("¥12", "1234元"); it is never negative unless the caller allows it.
- dates: "2024-03-15", "2024/3/15", "2024.3.15", "2024年3月15日" (spaces around the
  separators allowed), optionally followed by a time of day, which is dropped (Excel date
  cells arrive as "2024-03-15 00:00:00").
- months: "2024-03", "2024-3", "2024/03", "2024.3", "2024年3月", "2024年3"; a date
  ("2024-03-15", an Excel date cell) gives its month; six digits "202403" (as payroll systems
  write it) is read as 2024-03. Years 1900–2200. The value is the month's first day.
- yes/no: 是/否, 对/错, √/×, ✓/✗, true/false, t/f, yes/no, y/n, 1/0 (any case).
- codes (编号, 身份证号, 电话): text; a number cell (7 instead of "007") and a float-looking
  text ("123.0", "1.10101E+17") are refused: the spreadsheet has already changed the code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple, TypeVar

import polars as pl

from .errors import BadInput

T = TypeVar("T")


class BadValue(BadInput):
    """A value that cannot be read; the message names no row or column."""


class Parsed(NamedTuple):
    """Column-wise result: parsed values (null where blank or bad) and a message per row
    (null where fine or blank)."""

    values: pl.Series
    errors: pl.Series

    def error_rows(self) -> list[tuple[int, str]]:
        """(index, message) of the failing rows, in order."""
        idx = self.errors.is_not_null().arg_true()
        return list(zip(idx.to_list(), self.errors.gather(idx).to_list(), strict=True))


# -- messages -------------------------------------------------------------------------------
NUMBER_MESSAGES = {
    "not_number": "应为数字",
    "grouping": "应为数字：逗号只能用作千位分隔符（如 1,234.50），请确认是哪个数后改正",
    "scientific": "应为数字：不接受科学计数法，请写出完整的数字（如 5000）",
    "negative": "不能为负数",
    "decimals": "最多两位小数",
    "too_large": "数值太大",
}
MONEY_MESSAGES = {
    "not_number": "不是有效的金额，应为数字（元，最多两位小数，如 43.80）",
    "grouping": "不是有效的金额：逗号只能用作千位分隔符（如 1,234.50），请确认是哪个数后改正",
    "scientific": "不是有效的金额：不接受科学计数法，请写出完整的数字（如 5000）",
    "negative": "不能为负数，应为不小于 0 的金额（元，最多两位小数）",
    "decimals": "最多两位小数（精确到分）",
    "too_large": "数值过大，应小于 1 万亿元",
}
INT_MESSAGES = {
    "not_number": "应为整数",
    "grouping": "应为整数：逗号只能用作千位分隔符（如 1,234）",
    "scientific": "应为整数：不接受科学计数法，请写出完整的数字",
    "negative": "不能为负数",
    "decimals": "应为整数",
    "too_large": "数值太大",
}
DATE_MESSAGE = "应为日期，例如 2024-03-15"
DATE_INVALID = "不是有效的日期"
MONTH_MESSAGE = "月份格式不对，应为 YYYY-MM，如 2024-03"
MONTH_RANGE = "月份应在 01–12 之间，格式 YYYY-MM"
YEAR_RANGE = "年份应在 1900–2200 之间"
BOOL_MESSAGE = "应为 是 或 否"
CODE_NUMBER = ("是数字，不是文本：编码类的值（身份证号、编号、电话）必须是文本，数字会丢掉开头的 0 "
               "和 15 位以后的数字。请在 Excel 中把这一列设为「文本」格式后重新输入")
CODE_FLOAT = ("看起来是被当成数字的编码（末尾多了「.0」或变成了科学计数法）：开头的 0 或末尾几位可能已经丢失。"
              "请在 Excel 中把这一列设为「文本」格式，重新输入完整的值")

# -- text clean-up ----------------------------------------------------------------------------
# full-width ASCII (U+FF01–FF5E) → ASCII; ideographic space → space; ￥ → ¥; minus signs → -
_WIDE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_WIDE.update({0x3000: 0x20, 0xFFE5: 0xA5, 0x2212: 0x2D})


def narrow(text: str) -> str:
    """Full-width characters as their ASCII forms (１２３ → 123, ，→ ,)."""
    return text.translate(_WIDE)


def blank(raw: object) -> bool:
    """None, NaN, or text of spaces only."""
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    return isinstance(raw, str) and raw.strip() == ""


def unescape(text: str) -> str:
    """Our exports put ' before text starting with = + - @ (so no spreadsheet runs it as a
    formula); reading it back takes it off."""
    if text.startswith("'") and len(text) > 1 and text[1] in "=+-@":
        return text[1:]
    return text


def _text(raw: object) -> str:
    return narrow(unescape(str(raw).strip())).strip()


# -- numbers --------------------------------------------------------------------------------
_NUM = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_NUMBER_RE = re.compile(rf"^([+-]?)\s*({_NUM})$")
_MONEY_RE = re.compile(rf"^([+-]?)\s*¥?\s*([+-]?)\s*({_NUM})\s*元?$")
_SCIENTIFIC_RE = re.compile(r"^[+-]?\s*¥?\s*(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+\s*元?$")
_BADLY_GROUPED_RE = re.compile(r"^[+-]?\s*¥?\s*[0-9][0-9,]*,[0-9,]*(?:\.[0-9]*)?\s*元?$")


def _number_text(text: str, currency: bool) -> tuple[Decimal | None, str | None]:
    """(value, None) or (None, problem code) for a narrowed, stripped text."""
    if currency:
        m = _MONEY_RE.match(text)
        if m and m.group(1) and m.group(2):
            m = None  # two signs
        sign = (m.group(1) or m.group(2)) if m else ""
        body = m.group(3) if m else ""
    else:
        m = _NUMBER_RE.match(text)
        sign, body = (m.group(1), m.group(2)) if m else ("", "")
    if not m:
        if _SCIENTIFIC_RE.match(text):
            return None, "scientific"
        if _BADLY_GROUPED_RE.match(text):
            return None, "grouping"
        return None, "not_number"
    try:
        d = Decimal(body.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
        return None, "not_number"
    return (-d if sign == "-" else d), None


def _number(raw: object, currency: bool) -> tuple[Decimal | None, str | None]:
    if isinstance(raw, bool):
        return None, "not_number"
    if isinstance(raw, Decimal):
        return (raw, None) if raw.is_finite() else (None, "not_number")
    if isinstance(raw, int):
        return Decimal(raw), None
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return None, "not_number"
        raw = repr(raw)
        if "e" in raw:  # 1e-05, 1.5e+16: a float's shortest form, not something typed
            return Decimal(raw), None
    return _number_text(_text(raw), currency)


def _decimals(d: Decimal) -> int:
    exp = d.normalize().as_tuple().exponent if d != 0 else 0
    return -exp if isinstance(exp, int) and exp < 0 else 0


def _check_number(d: Decimal, *, places: int, negative: bool, max_int_digits: int) -> str | None:
    if d < 0 and not negative:
        return "negative"
    if _decimals(d) > places:
        return "decimals"
    if abs(d) >= Decimal(10) ** max_int_digits:
        return "too_large"
    return None


def _decimal_problem(raw: object, *, places: int, negative: bool, currency: bool,
                     max_int_digits: int) -> tuple[Decimal | None, str | None]:
    d, problem = _number(raw, currency)
    if d is None:
        return None, problem
    problem = _check_number(d, places=places, negative=negative, max_int_digits=max_int_digits)
    if problem:
        return None, problem
    return d.quantize(Decimal(1).scaleb(-places)), None


def parse_decimal(raw: object, *, places: int = 2, negative: bool = True, currency: bool = False,
                  max_int_digits: int = 15, messages: dict[str, str] = NUMBER_MESSAGES) -> Decimal | None:
    """An exact number with at most `places` decimals (quantized to them); blank → None."""
    if blank(raw):
        return None
    d, problem = _decimal_problem(raw, places=places, negative=negative, currency=currency,
                                  max_int_digits=max_int_digits)
    if problem:
        msg = messages[problem]
        if problem == "decimals" and places != 2 and messages is NUMBER_MESSAGES:
            msg = f"最多 {places} 位小数" if places else "应为整数"
        raise BadValue(msg)
    return d


def parse_number(raw: object, *, negative: bool = True, max_int_digits: int = 15) -> Decimal | None:
    """An exact number with any count of decimals (coordinates, ratios); blank → None."""
    if blank(raw):
        return None
    d, problem = _number(raw, False)
    if d is not None:
        problem = _check_number(d, places=10**6, negative=negative, max_int_digits=max_int_digits)
    if problem or d is None:
        raise BadValue(NUMBER_MESSAGES[problem or "not_number"])
    return d


def parse_money(raw: object, *, negative: bool = False, places: int = 2) -> Decimal | None:
    """Money in 元 as an exact Decimal with two decimals: "1,234.50", "１２３", "1234元",
    "¥12" accepted; "50,09", "5e3", "nan", three decimals, and negatives (unless `negative`)
    refused. Less than 1 万亿元. Blank → None."""
    return parse_decimal(raw, places=places, negative=negative, currency=True, max_int_digits=12,
                         messages=MONEY_MESSAGES)


def money_problem(raw: object, *, negative: bool = False, places: int = 2) -> tuple[Decimal | None, str | None]:
    """`parse_money`'s verdict on a non-blank value as data: (value, None) or (None, problem
    code, a key of MONEY_MESSAGES) — for callers that word or group the refusal themselves."""
    return _decimal_problem(raw, places=places, negative=negative, currency=True, max_int_digits=12)


def format_money(d: Decimal) -> str:
    """'1234.50' — what `parse_money` reads back to the same value."""
    return f"{d.quantize(Decimal('0.01'))}"


def parse_int(raw: object, *, negative: bool = True) -> int | None:
    """A whole number: "12", "+12", "1,234", "12.0" (Excel); blank → None."""
    if blank(raw):
        return None
    d, problem = _number(raw, False)
    if d is not None:
        if d != d.to_integral_value():
            problem = "decimals"
        elif d < 0 and not negative:
            problem = "negative"
        elif d.adjusted() > 15:
            problem = "too_large"
    if problem or d is None:
        raise BadValue(INT_MESSAGES[problem or "not_number"])
    return int(d)


# -- dates and months --------------------------------------------------------------------------
_DATE_RE = re.compile(r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?"
                      r"(?:(?:\s+|T)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$")
_MONTH_RE = re.compile(r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*月?$")
_MONTH6_RE = re.compile(r"^([0-9]{4})([0-9]{2})$")


def parse_date(raw: object) -> date | None:
    """A calendar date; blank → None."""
    if blank(raw):
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    m = _DATE_RE.match(_text(raw))
    if not m:
        raise BadValue(DATE_MESSAGE)
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise BadValue(DATE_INVALID) from None


def parse_month(raw: object) -> date | None:
    """A month as its first day; blank → None."""
    if blank(raw):
        return None
    if isinstance(raw, datetime):
        raw = raw.date()
    if isinstance(raw, date):
        y, mo = raw.year, raw.month
    else:
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        t = _text(raw)
        m = _MONTH_RE.match(t) or _MONTH6_RE.match(t)
        if m:
            y, mo = int(m.group(1)), int(m.group(2))
        else:
            m = _DATE_RE.match(t)
            if not m:
                raise BadValue(MONTH_MESSAGE)
            y, mo = int(m.group(1)), int(m.group(2))
            try:
                date(y, mo, int(m.group(3)))
            except ValueError:
                raise BadValue(DATE_INVALID) from None
    if not 1 <= mo <= 12:
        raise BadValue(MONTH_RANGE)
    if not 1900 <= y <= 2200:
        raise BadValue(YEAR_RANGE)
    return date(y, mo, 1)


def month_text(d: date) -> str:
    """'YYYY-MM' of a date."""
    return f"{d.year:04d}-{d.month:02d}"


# -- yes/no and codes ---------------------------------------------------------------------------
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "是", "对", "√", "✓", "✔"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "否", "错", "×", "✗", "✘"})


def parse_bool(raw: object) -> bool | None:
    """是/否 and its usual spellings; blank → None."""
    if blank(raw):
        return None
    if isinstance(raw, bool):
        return raw
    t = _text(raw).lower()
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    raise BadValue(BOOL_MESSAGE)


FLOATISH_CODE = r"^[0-9]+\.0+$|^[0-9]+(?:\.[0-9]+)?[eE]\+?[0-9]+$"
_FLOATISH_CODE_RE = re.compile(FLOATISH_CODE)


def parse_code(raw: object) -> str | None:
    """A code kept as text (leading zeros and every digit kept); blank → None."""
    if blank(raw):
        return None
    if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
        raise BadValue(CODE_NUMBER)
    t = unescape(str(raw).strip())
    if _FLOATISH_CODE_RE.match(t):
        raise BadValue(CODE_FLOAT)
    return t


# -- column-wise ----------------------------------------------------------------------------------
def by_distinct(s: pl.Series, parse: Callable[[object], T | None], dtype: pl.DataType) -> Parsed:
    """Apply a scalar parser once per distinct value; blanks stay null without a message."""
    n = len(s)
    good: dict[object, object] = {}
    bad: dict[object, str] = {}
    uniq = s.drop_nulls().unique()
    for v in uniq.to_list():
        try:
            good[v] = parse(v)
        except BadValue as exc:
            bad[v] = exc.message
    if not bad and not good:
        return Parsed(pl.repeat(None, n, dtype=dtype, eager=True), pl.repeat(None, n, dtype=pl.String, eager=True))
    keys = pl.Series("k", list(good) + list(bad), dtype=s.dtype)
    table = pl.DataFrame({
        "k": keys,
        "v": pl.Series("v", list(good.values()) + [None] * len(bad), dtype=dtype),
        "e": pl.Series("e", [None] * len(good) + list(bad.values()), dtype=pl.String),
    })
    joined = pl.DataFrame({"k": s}).join(table, on="k", how="left", maintain_order="left", nulls_equal=False)
    return Parsed(joined["v"].alias(s.name), joined["e"].alias(s.name))


def with_fast(s: pl.Series, fast_ok: pl.Series, fast_values: pl.Series,
               parse: Callable[[object], object], dtype: pl.DataType) -> Parsed:
    """Cells where `fast_ok` holds take `fast_values`; the others go through the scalar parser."""
    rest = ~fast_ok.fill_null(False) & s.is_not_null()
    values = pl.select(pl.when(fast_ok.fill_null(False)).then(fast_values)).to_series().cast(dtype)
    errors = pl.repeat(None, len(s), dtype=pl.String, eager=True)
    if rest.any():
        idx = rest.arg_true()
        sub = by_distinct(s.gather(idx), parse, dtype)
        values = values.scatter(idx, sub.values)
        errors = errors.scatter(idx, sub.errors)
    return Parsed(values.alias(s.name), errors.alias(s.name))


def _is_text(s: pl.Series) -> bool:
    return s.dtype == pl.String


def decimal_column(s: pl.Series, *, places: int = 2, negative: bool = True, currency: bool = False,
                   max_int_digits: int = 15, messages: dict[str, str] = NUMBER_MESSAGES) -> Parsed:
    """`parse_decimal` over a column: Decimal(38, places) values."""
    dtype = pl.Decimal(38, places)

    def one(v: object) -> Decimal | None:
        return parse_decimal(v, places=places, negative=negative, currency=currency,
                             max_int_digits=max_int_digits, messages=messages)

    if not _is_text(s):
        return by_distinct(s, one, dtype)
    digits = f"[0-9]{{1,{max_int_digits}}}"
    frac = rf"(?:\.[0-9]{{1,{places}}})?" if places else ""
    fast_ok = s.str.contains(f"^{digits}{frac}$")
    return with_fast(s, fast_ok, s.cast(dtype, strict=False), one, dtype)


def money_column(s: pl.Series, *, negative: bool = False, places: int = 2) -> Parsed:
    """`parse_money` over a column."""
    return decimal_column(s, places=places, negative=negative, currency=True, max_int_digits=12,
                          messages=MONEY_MESSAGES)


def int_column(s: pl.Series, *, negative: bool = True) -> Parsed:
    """`parse_int` over a column: Int64 values."""
    def one(v: object) -> int | None:
        return parse_int(v, negative=negative)

    if not _is_text(s):
        if s.dtype.is_integer():
            v = s.cast(pl.Int64, strict=False)
            bad = (v.is_null() & s.is_not_null()) | (v.abs() >= 10 ** 16)
            if not negative:
                bad = bad | (v < 0)
            if not bad.any():
                return Parsed(v.alias(s.name), pl.repeat(None, len(s), dtype=pl.String, eager=True).alias(s.name))
        return by_distinct(s, one, pl.Int64())
    fast_ok = s.str.contains(r"^[0-9]{1,15}$")
    return with_fast(s, fast_ok, s.cast(pl.Int64, strict=False), one, pl.Int64())


def date_column(s: pl.Series) -> Parsed:
    """`parse_date` over a column: Date values."""
    if s.dtype == pl.Date:
        return Parsed(s, pl.repeat(None, len(s), dtype=pl.String, eager=True).alias(s.name))
    if not _is_text(s):
        return by_distinct(s, parse_date, pl.Date())
    fast_ok = s.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    fast = s.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    return with_fast(s, fast_ok & fast.is_not_null(), fast, parse_date, pl.Date())


def month_column(s: pl.Series) -> Parsed:
    """`parse_month` over a column: Date values (first of the month)."""
    return by_distinct(s, parse_month, pl.Date())


def bool_column(s: pl.Series) -> Parsed:
    """`parse_bool` over a column: Boolean values."""
    if s.dtype == pl.Boolean:
        return Parsed(s, pl.repeat(None, len(s), dtype=pl.String, eager=True).alias(s.name))
    return by_distinct(s, parse_bool, pl.Boolean())


def code_column(s: pl.Series) -> Parsed:
    """`parse_code` over a column: String values."""
    if not _is_text(s):
        return by_distinct(s, parse_code, pl.String())
    # cells with nothing to trim or unescape (almost all) are taken as they are
    plain = ~s.str.contains(r"^[\s\x1c-\x1f']|[\s\x1c-\x1f]$") & ~s.str.contains(_FLOATISH_CODE_RE.pattern) \
        & (s.str.len_bytes() > 0)
    return with_fast(s, plain, s, parse_code, pl.String())
