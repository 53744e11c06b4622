"""values: one parsing rule per kind — documented vectors, and the column-wise parsers agree
with the scalar ones on random input."""

from datetime import date, datetime
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangjian_core import values
from dangjian_core.errors import MORE_ERRORS, ErrorCollector, ValidationFailed
from dangjian_core.values import BadValue


def _err(fn, raw, **kw) -> str:
    with pytest.raises(BadValue) as exc:
        fn(raw, **kw)
    return exc.value.message


# -- documented vectors ------------------------------------------------------------------------
@pytest.mark.parametrize("raw,want", [
    ("1,234.50", "1234.50"), ("１２３", "123.00"), ("1234元", "1234.00"), ("¥12", "12.00"),
    ("￥1,000", "1000.00"), (" 43.8 ", "43.80"), ("12.", "12.00"), (".5", "0.50"), ("1.500", "1.50"),
    ("12,345,678.9", "12345678.90"), ("１，２３４．５", "1234.50"), ("12.50 元", "12.50"), ("0", "0.00"),
    (12, "12.00"), (12.5, "12.50"), (Decimal("3.1"), "3.10"), ("'+12", "12.00"),
])
def test_money_accepted(raw, want):
    assert values.parse_money(raw) == Decimal(want)
    assert str(values.parse_money(raw)) == want


@pytest.mark.parametrize("raw,fragment", [
    ("50,09", "千位分隔符"), ("1,2345", "千位分隔符"), ("5e3", "科学计数法"), ("1.2E+5", "科学计数法"),
    ("nan", "不是有效的金额"), ("NaN", "不是有效的金额"), ("inf", "不是有效的金额"), ("一千五", "不是有效的金额"),
    ("12.345", "最多两位小数"), ("-1", "不能为负数"), ("-¥3", "不能为负数"), ("1000000000000", "数值过大"),
    (True, "不是有效的金额"), (float("inf"), "不是有效的金额"), ("1_000", "不是有效的金额"), ("¥", "不是有效的金额"),
    ("--1", "不是有效的金额"), ("+-1", "不是有效的金额"),
])
def test_money_refused(raw, fragment):
    assert fragment in _err(values.parse_money, raw)


def test_money_negative_when_allowed_and_blank():
    assert values.parse_money("-12.5", negative=True) == Decimal("-12.50")
    assert values.parse_money("¥-3", negative=True) == Decimal("-3.00")
    for raw in (None, "", "  ", float("nan")):
        assert values.parse_money(raw) is None


@pytest.mark.parametrize("raw,want", [
    ("12", 12), ("+12", 12), ("-3", -3), ("1,234", 1234), ("12.0", 12), ("１２", 12), (7, 7), (7.0, 7),
    (Decimal("5.00"), 5),
])
def test_int_accepted(raw, want):
    assert values.parse_int(raw) == want


@pytest.mark.parametrize("raw", ["3.5", "十五", "1e3", "50,09", "", "abc"])
def test_int_refused(raw):
    if raw == "":
        assert values.parse_int(raw) is None
    else:
        assert "应为整数" in _err(values.parse_int, raw)


@pytest.mark.parametrize("raw,want", [
    ("2024-03-15", date(2024, 3, 15)), ("2024/3/5", date(2024, 3, 5)), ("2024.03.15", date(2024, 3, 15)),
    ("2024年3月15日", date(2024, 3, 15)), ("2024 年 3 月 15 日", date(2024, 3, 15)),
    ("2024-03-15 00:00:00", date(2024, 3, 15)), ("2024-03-15T10:30", date(2024, 3, 15)),
    ("２０２４－０３－１５", date(2024, 3, 15)), (datetime(2024, 3, 15, 9), date(2024, 3, 15)),
    (date(2024, 3, 15), date(2024, 3, 15)),
])
def test_date_accepted(raw, want):
    assert values.parse_date(raw) == want


def test_date_refused():
    assert _err(values.parse_date, "2024-02-30") == values.DATE_INVALID
    assert _err(values.parse_date, "15/03/2024") == values.DATE_MESSAGE
    assert _err(values.parse_date, "20240315") == values.DATE_MESSAGE


@pytest.mark.parametrize("raw,want", [
    ("2026-01", date(2026, 1, 1)), ("2026-1", date(2026, 1, 1)), ("2026/01", date(2026, 1, 1)),
    ("2026.1", date(2026, 1, 1)), ("2026年1月", date(2026, 1, 1)), ("2026年1", date(2026, 1, 1)),
    ("202601", date(2026, 1, 1)), (202601, date(2026, 1, 1)), ("2026-01-01", date(2026, 1, 1)),
    ("2026-01-15 00:00:00", date(2026, 1, 1)), (date(2026, 1, 20), date(2026, 1, 1)),
])
def test_month_accepted(raw, want):
    assert values.parse_month(raw) == want
    assert values.month_text(want) == "2026-01"


@pytest.mark.parametrize("raw,msg", [
    ("2026-13", values.MONTH_RANGE), ("202613", values.MONTH_RANGE), ("2026", values.MONTH_MESSAGE),
    ("1月", values.MONTH_MESSAGE), ("1899-12", values.YEAR_RANGE), ("2026-02-30", values.DATE_INVALID),
])
def test_month_refused(raw, msg):
    assert _err(values.parse_month, raw) == msg


def test_bool_words():
    for t in ("是", "对", "√", "✓", "TRUE", "t", "Yes", "y", "1", True):
        assert values.parse_bool(t) is True
    for f in ("否", "错", "×", "✗", "false", "F", "No", "n", "0", False):
        assert values.parse_bool(f) is False
    assert values.parse_bool(" ") is None
    assert _err(values.parse_bool, "也许") == values.BOOL_MESSAGE


def test_codes_stay_text():
    assert values.parse_code(" 007 ") == "007"
    assert values.parse_code("'=1") == "=1"
    for raw in (7, 7.0, Decimal(7)):
        assert _err(values.parse_code, raw) == values.CODE_NUMBER
    for raw in ("123.0", "1.10101E+17", "13800138000.00"):
        assert _err(values.parse_code, raw) == values.CODE_FLOAT
    assert values.parse_code("12.5") == "12.5"  # not what a spreadsheet makes of a code


# -- column-wise = scalar ------------------------------------------------------------------------
def _scalar(fn, raw):
    try:
        return fn(raw), None
    except BadValue as exc:
        return None, exc.message


def _agree(column_fn, scalar_fn, cells, dtype=pl.String):
    s = pl.Series("x", cells, dtype=dtype)
    got = column_fn(s)
    assert len(got.values) == len(got.errors) == len(cells)
    for raw, v, e in zip(cells, got.values.to_list(), got.errors.to_list(), strict=True):
        assert (v, e) == _scalar(scalar_fn, raw), raw


_money_text = st.one_of(
    st.decimals(min_value=-10**13, max_value=10**13, allow_nan=False, places=3).map(str),
    st.decimals(min_value=0, max_value=10**6, allow_nan=False, places=2).map(lambda d: f"{d:,}"),
    st.decimals(min_value=0, max_value=10**6, allow_nan=False, places=2).map(lambda d: f"¥{d}"),
    st.integers(0, 10**14).map(str),
    st.text(alphabet="0123456789,.-+ ¥元eE１２，", max_size=10),
    st.sampled_from(["", " ", "nan", "50,09", "5e3", "1,234.50", "１２３", "1234元", None]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_money_text, max_size=30), st.booleans())
def test_money_column_agrees_with_scalar(cells, negative):
    _agree(lambda s: values.money_column(s, negative=negative),
           lambda r: values.parse_money(r, negative=negative), cells)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.integers(-10**17, 10**17).map(str), _money_text), max_size=30))
def test_int_column_agrees_with_scalar(cells):
    _agree(values.int_column, values.parse_int, cells)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-10**17, 10**17), max_size=20))
def test_int_column_of_integers_agrees_with_scalar(cells):
    _agree(values.int_column, values.parse_int, cells, pl.Int64)


_date_text = st.one_of(
    st.dates(min_value=date(1000, 1, 1)).map(str),
    st.tuples(st.integers(1000, 9999), st.integers(0, 13), st.integers(0, 32)).map(lambda t: f"{t[0]}-{t[1]:02d}-{t[2]:02d}"),
    st.tuples(st.integers(1890, 2210), st.integers(0, 13), st.sampled_from(["-", "/", "年", ""])).map(
        lambda t: f"{t[0]}{t[2]}{t[1]}"),
    st.text(alphabet="0123456789-/年月日 :T", max_size=12),
    st.sampled_from(["", None, "2024-03-15 00:00:00", "202403"]),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_date_text, max_size=30))
def test_date_and_month_columns_agree_with_scalar(cells):
    _agree(values.date_column, values.parse_date, cells)
    _agree(values.month_column, values.parse_month, cells)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(sorted(values.TRUE_WORDS | values.FALSE_WORDS) + ["", None, "也许"]),
                          st.text(max_size=3)), max_size=20))
def test_bool_and_code_columns_agree_with_scalar(cells):
    _agree(values.bool_column, values.parse_bool, cells)
    _agree(values.code_column, values.parse_code, cells)


@settings(max_examples=150, deadline=None)
@given(st.decimals(min_value=0, max_value=10**12 - 1, allow_nan=False, places=2))
def test_money_format_parse_round_trip(d):
    assert values.parse_money(values.format_money(d)) == d
    assert values.parse_money(f"{d:,}") == d
    assert values.parse_money(f"¥{d}") == values.parse_money(f"{d}元") == d


def test_money_column_is_exact_and_fast_path_names_rows():
    got = values.money_column(pl.Series(["1.10", "2,000", "-1", "50,09", None, "0.07"]))
    assert got.values.to_list() == [Decimal("1.10"), Decimal("2000.00"), None, None, None, Decimal("0.07")]
    assert [i for i, _ in got.error_rows()] == [2, 3]


# -- ErrorCollector -----------------------------------------------------------------------------
def test_error_collector_keeps_first_rows_and_caps():
    c = ErrorCollector()
    assert not c
    c.raise_if_any()  # nothing to raise
    c.add_many(list(range(100, 200)), "金额", ["x"] * 100, ["不是有效的金额"] * 100, order=1)
    c.add(3, "月份", "2024-13", "月份应在 01–12 之间")
    assert c.full and len(c) == 101
    errs = c.errors()
    assert len(errs) == 51 and errs[0].row == 3 and errs[-1].message == MORE_ERRORS
    with pytest.raises(ValidationFailed) as exc:
        c.raise_if_any()
    assert "第 3 行 列「月份」" in str(exc.value) and "50 处以上" in exc.value.message


def test_error_collector_orders_columns_within_a_row():
    c = ErrorCollector(file="a.csv")
    c.add(2, "乙", None, "b", order=1)
    c.add(2, "甲", None, "a", order=0)
    assert [e.column for e in c.errors()] == ["甲", "乙"] and not c.full
    with pytest.raises(ValidationFailed, match="a.csv"):
        c.raise_if_any()
