"""Dues rules engine (dangjian_core.dues): public vectors from shared/spec/dues.md through the
scalar and the vectorised calculator, properties (scalar == vectorised, monotone, jumps only at
the bounds, rounding modes, ceiling), parsing, validation, payroll base, arrears, flags."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dangjian_core import values
from dangjian_core.dues import arrears_rules
from dangjian_core.dues import engine as dues_engine
from dangjian_core.dues import model as dues_model
from dangjian_core.dues import rules as dues_rules
from dangjian_core.dues import store as dues_store
from dangjian_core.dues.arrears_rules import compute_arrears
from dangjian_core.dues.engine import calc_dues_frame, format_dues
from dangjian_core.dues.model import DuesSettings
from dangjian_core.dues.rules import calc_dues, compute_base, compute_base_frame
from dangjian_core.errors import BadInput

DATA = Path(__file__).parent.parent / "data" / "dues"
D = Decimal
VECTORS = list(csv.DictReader((DATA / "public_vectors.csv").open(encoding="utf-8")))
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _settings_for(row) -> DuesSettings:
    return DuesSettings(cap=row["cap"] != "none")


def _opt(v: str):
    return D(v) if v else None


def _frame(rows: list[dict]) -> pl.DataFrame:
    cols = ["member_id", "category", "base_income", "fixed_amount"]
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in cols}, schema={c: pl.String for c in cols})


def _vector_dues(rows, s=dues_model.DEFAULT_SETTINGS) -> list[str]:
    out = format_dues(calc_dues_frame(_frame(rows), s))
    return out["dues"].to_list()


# ---------------------------------------------------------------- public vectors

@pytest.mark.parametrize("row", VECTORS, ids=lambda r: f"{r['category']}-{r['base_income'] or r['fixed_amount']}")
def test_public_vector_scalar(row):
    r = calc_dues(row["category"], _opt(row["base_income"]), _opt(row["fixed_amount"]), _settings_for(row))
    assert str(r.dues) == row["dues"]
    assert r.explanation.endswith(f"应缴 {row['dues']} 元")


def test_public_vectors_vectorised():
    for cap in ("1000", "none"):
        rows = [dict(r, member_id=f"m{i}") for i, r in enumerate(VECTORS) if r["cap"] == cap]
        assert _vector_dues(rows, DuesSettings(cap=cap != "none")) == [r["dues"] for r in rows]


def test_explanation_and_rate_for_the_documented_example():
    r = calc_dues("employed", D("5100"), None)
    assert r.explanation == "基数 5100.00 元 > 5000 且 ≤ 10000，费率 1.5%，应缴 76.50 元"
    assert (r.rate, r.rule) == (D("0.015"), "bracket_1.5")


def test_farmer_amount_outside_range_is_rejected():
    with pytest.raises(BadInput, match="0.20–1.00"):
        calc_dues("farmer", None, D("1.20"))
    with pytest.raises(BadInput, match="0.20–1.00"):
        calc_dues("farmer", None, D("0.19"))
    assert calc_dues("farmer", None, D("1.00")).dues == D("1.00")
    assert calc_dues("farmer", None, None).dues == D("0.20")
    assert calc_dues("farmer", None, None, DuesSettings(farmer_default=D("0.30"))).dues == D("0.30")


def test_civil_servant_base_vector():
    items = {"职务工资": D(1500), "级别工资": D(2000), "津贴补贴": D(2500), "通讯补贴": D(300),
             "交通补贴": D(500), "养老保险": D(480), "医疗保险": D(120), "职业年金": D(240),
             "住房公积金": D(720), "个人所得税": D(60)}
    mapping = {"职务工资": "counted", "级别工资": "counted", "津贴补贴": "counted",
               "通讯补贴": "ignored", "交通补贴": "ignored", "养老保险": "deducted",
               "医疗保险": "deducted", "职业年金": "deducted", "住房公积金": "deducted",
               "个人所得税": "tax"}
    b = compute_base(items, mapping, DuesSettings())
    assert (b.base, b.counted, b.deducted, b.tax) == (D("4380.00"), D("6000.00"), D("1560.00"), D("60.00"))
    assert calc_dues("employed", b.base, None).dues == D("43.80")
    t = compute_base(items, mapping, DuesSettings(base_reading="tax_only"))
    assert t.base == D("5940.00")
    assert calc_dues("employed", t.base, None).dues == D("89.10")
    assert "4380.00" in b.explanation

    # the same through the vectorised payroll function, two people, text cells
    frame = pl.DataFrame({"编号": ["p1", "p2"], "姓名": ["甲", "乙"],
                          **{k: [str(v), "0"] for k, v in items.items()}})
    m = {"编号": "member_id", "姓名": "name", **mapping}
    out = compute_base_frame(frame, m, DuesSettings())
    assert out["base_fen"].to_list() == [438000, 0]
    out2 = compute_base_frame(frame, m, DuesSettings(base_reading="tax_only"))
    assert out2["base_fen"].to_list() == [594000, 0]
    assert out["name"].to_list() == ["甲", "乙"]


# ---------------------------------------------------------------- bounds, rounding, cap

@pytest.mark.parametrize("category,base,expected", [
    ("employed", "3000", "15.00"), ("employed", "3000.01", "30.00"),
    ("employed", "5000", "50.00"), ("employed", "5000.01", "75.00"),
    ("employed", "10000", "150.00"), ("employed", "10000.01", "200.00"),
    ("retired", "5000", "25.00"), ("retired", "5000.01", "50.00"),
    ("employed", "0", "0.00"), ("employed", "5009.00", "75.14"),
    ("self_employed", "3000.01", "30.00"), ("employed", "50000", "1000.00"),
])
def test_jumps_at_the_bounds(category, base, expected):
    assert str(calc_dues(category, D(base), None).dues) == expected
    assert _vector_dues([{"member_id": "x", "category": category, "base_income": base}]) == [expected]


@pytest.mark.parametrize("base,precision,rounding,expected", [
    ("5009.00", "fen", "half_up", "75.14"), ("5009.00", "fen", "down", "75.13"),
    ("5009.00", "fen", "up", "75.14"), ("5009.00", "fen", "half_even", "75.14"),
    ("3000.50", "fen", "half_up", "30.01"), ("3000.50", "fen", "half_even", "30.00"),
    ("3000.50", "fen", "down", "30.00"), ("3000.50", "fen", "up", "30.01"),
    ("5009.00", "jiao", "half_up", "75.10"), ("5009.00", "jiao", "up", "75.20"),
    ("5100", "jiao", "half_up", "76.50"), ("5100", "jiao", "half_even", "76.50"),
    ("5100", "yuan", "half_up", "77.00"), ("5100", "yuan", "half_even", "76.00"),
    ("5100", "yuan", "down", "76.00"), ("5009.00", "yuan", "up", "76.00"),
])
def test_rounding_modes(base, precision, rounding, expected):
    s = DuesSettings(precision=precision, rounding=rounding)
    assert str(calc_dues("employed", D(base), None, s).dues) == expected
    assert _vector_dues([{"member_id": "x", "category": "employed", "base_income": base}], s) == [expected]


def test_fixed_amounts_are_not_rounded_by_precision():
    s = DuesSettings(precision="yuan")
    assert calc_dues("student", None, None, s).dues == D("0.20")
    assert _vector_dues([{"member_id": "x", "category": "farmer", "fixed_amount": "0.55"}], s) == ["0.55"]


def test_cap_rule_codes():
    on, off = calc_dues("employed", D("60000"), None), calc_dues("employed", D("60000"), None, DuesSettings(cap=False))
    assert (on.dues, on.rule) == (D("1000.00"), "bracket_2_capped")
    assert (off.dues, off.rule) == (D("1200.00"), "bracket_2")
    r = calc_dues("retired", D("150000"), None)
    assert (r.dues, r.rule, r.rate) == (D("1000.00"), "retired_1_capped", D("0.01"))
    assert calc_dues("employed", D("50000"), None).rule == "bracket_2"  # exactly 1000.00: not capped
    out = format_dues(calc_dues_frame(_frame([
        {"member_id": "a", "category": "employed", "base_income": "50000"},
        {"member_id": "b", "category": "employed", "base_income": "50000.24"},  # 1000.0048
        {"member_id": "c", "category": "reduced", "fixed_amount": "1000.01"}])))
    assert out["rule"].to_list() == ["bracket_2", "bracket_2", "reduced_capped"]
    assert out["dues"].to_list() == ["1000.00", "1000.00", "1000.00"]


# ---------------------------------------------------------------- properties

CATS = list(dues_model.CATEGORY_CODES)
BOUNDS_FEN = [0, 300000, 500000, 1000000]

base_fen_st = st.one_of(
    st.integers(0, 6_000_000),
    st.sampled_from(BOUNDS_FEN).flatmap(lambda b: st.integers(max(0, b - 3), b + 3)),
    st.integers(0, 10 ** 9),
)
settings_st = st.builds(
    DuesSettings,
    precision=st.sampled_from(["fen", "jiao", "yuan"]),
    rounding=st.sampled_from(["half_up", "up", "down", "half_even"]),
    cap=st.booleans(),
)


def _yuan_text(fen: int, style: int) -> str:
    y, f = divmod(fen, 100)
    if style == 1 and f == 0:
        return str(y)
    if style == 2:
        return f" {y}.{f:02d} "
    if style == 3:
        return f"{y:,}.{f:02d}"
    if style == 4:  # full-width digits, as a Chinese IME types them
        return f"{y}.{f:02d}".translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)})
    if style == 5:
        return f"{y:,}.{f:02d}元"
    if style == 6:
        return f"¥{y}.{f:02d}"
    return f"{y}.{f:02d}"


@st.composite
def member_rows(draw):
    n = draw(st.integers(1, 40))
    rows = []
    for i in range(n):
        cat = draw(st.sampled_from(CATS))
        fen = draw(base_fen_st)
        style = draw(st.integers(0, 6))
        fixed = None
        if cat == "farmer":
            fixed = draw(st.one_of(st.none(), st.integers(20, 100).map(lambda f: f"{f // 100}.{f % 100:02d}")))
        elif cat == "reduced":
            fixed = draw(st.integers(1, 200_000).map(lambda f: f"{f // 100}.{f % 100:02d}"))
        rows.append({"member_id": f"m{i}", "category": cat, "base_income": _yuan_text(fen, style),
                     "fixed_amount": fixed})
    return rows


@FAST
@given(rows=member_rows(), s=settings_st)
def test_scalar_equals_vectorised(rows, s):
    res = calc_dues_frame(_frame(rows), s)
    out = format_dues(res)
    for row, got in zip(rows, out.iter_rows(named=True)):
        base = dues_rules.parse_money(row["base_income"])
        r = calc_dues(row["category"], base, _opt(row["fixed_amount"] or ""), s)
        assert got["dues"] == str(r.dues), row
        assert got["rule"] == r.rule
        assert got["rate"] == (None if r.rate is None else dues_model.RATE_TEXT[int(r.rate * 1000)])
        assert D(got["rate"]) == r.rate if got["rate"] else r.rate is None
    assert res["dues_fen"].dtype == pl.Int64


def _bracket_of(fen: int, retired: bool) -> int:
    bounds = [500000] if retired else [300000, 500000, 1000000]
    return sum(fen > b for b in bounds)


@FAST
@given(a=base_fen_st, b=base_fen_st, s=settings_st, retired=st.booleans())
def test_monotone_within_a_bracket(a, b, s, retired):
    a, b = sorted((a, b))
    assume(_bracket_of(a, retired) == _bracket_of(b, retired))
    cat = "retired" if retired else "employed"
    da = calc_dues(cat, D(a) / 100, None, s).dues
    db = calc_dues(cat, D(b) / 100, None, s).dues
    assert da <= db


@FAST
@given(fen=base_fen_st, s=settings_st, retired=st.booleans())
def test_jumps_only_at_the_bounds(fen, s, retired):
    """One fen more moves the dues by at most one precision unit, except across a bound."""
    cat = "retired" if retired else "employed"
    lo = calc_dues(cat, D(fen) / 100, None, s).dues
    hi = calc_dues(cat, D(fen + 1) / 100, None, s).dues
    unit = D(s.unit_fen) / 100
    if _bracket_of(fen, retired) == _bracket_of(fen + 1, retired):
        assert D(0) <= hi - lo <= unit
    else:
        assert hi - lo > unit or (s.cap and hi == D("1000.00"))


@FAST
@given(fen=base_fen_st, precision=st.sampled_from(["fen", "jiao", "yuan"]))
def test_rounding_mode_relations(fen, precision):
    r = {m: calc_dues("employed", D(fen) / 100, None, DuesSettings(precision=precision, rounding=m, cap=False)).dues
         for m in ("half_up", "up", "down", "half_even")}
    unit = D(dues_model.PRECISIONS[precision]) / 100
    assert r["down"] <= r["half_even"] <= r["half_up"] <= r["up"]
    assert r["up"] - r["down"] in (D(0), unit)
    for v in r.values():
        assert v % unit == 0
    exact = D(fen) / 100 * calc_dues("employed", D(fen) / 100, None).rate
    assert r["down"] <= exact <= r["up"]
    if r["half_up"] != r["half_even"]:  # only on an exact tie, and half-even then picks the even unit
        assert exact - r["down"] == unit / 2
        assert (r["half_even"] / unit) % 2 == 0


@FAST
@given(fen=st.integers(0, 10 ** 10), s=settings_st, retired=st.booleans())
def test_cap(fen, s, retired):
    cat = "retired" if retired else "employed"
    off = calc_dues(cat, D(fen) / 100, None, DuesSettings(precision=s.precision, rounding=s.rounding, cap=False))
    on = calc_dues(cat, D(fen) / 100, None, DuesSettings(precision=s.precision, rounding=s.rounding, cap=True))
    assert on.dues == min(off.dues, D("1000.00"))
    assert on.rule.endswith("_capped") == (off.dues > D("1000.00"))
    assert not off.rule.endswith("_capped")


# ---------------------------------------------------------------- parsing input cells

@pytest.mark.parametrize("text,fen,problem", [
    ("5009", 500900, None), ("5009.0", 500900, None), ("5009.00", 500900, None),
    (" 5009 ", 500900, None), ("\u30005009.01", 500901, None), ("5,009.00", 500900, None),
    ("1,234,567.8", 123456780, None), ("5009.000", 500900, None), ("007", 700, None),
    ("50,09", None, "grouping"), ("5009.001", None, "decimals"), ("-1", None, "negative"),
    ("-5,009.00", None, "negative"), ("abc", None, "not_number"), ("1e3", None, "scientific"),
    ("", None, "missing"), (None, None, "missing"), ("1234567890123", None, "too_large"),
    # issue #13: the one money rule of values.parse_money — what an office types is accepted
    ("+5", 500, None), (".5", 50, None), ("5009.", 500900, None),
    ("５００９", 500900, None), ("１２３", 12300, None), ("1234元", 123400, None), ("¥12", 1200, None),
    ("￥1,234.50", 123450, None), ("1,234.50 元", 123450, None), ("５，００９．５０", 500950, None),
])
def test_money_text(text, fen, problem):
    f, p = dues_engine.money_to_fen(pl.Series([text, "1.00"], dtype=pl.String))
    assert f.to_list() == [fen, 100]
    assert p.to_list() == [problem, None]


@FAST
@given(texts=st.lists(st.text(alphabet="0123456789１２３,，.．-+ ¥￥元e", max_size=12), min_size=1, max_size=8))
def test_money_column_and_scalar_agree(texts):
    """Issue #13: money_to_fen (every dues import) and rules.parse_money (every dues form) read
    each text as values.parse_money does: same value, same refusal."""
    f, p = dues_engine.money_to_fen(pl.Series(texts, dtype=pl.String))
    for t, fen, problem in zip(texts, f.to_list(), p.to_list(), strict=True):
        try:
            d = dues_rules.parse_money(t)
        except BadInput as exc:
            assert fen is None and problem is not None and exc.message.endswith(dues_engine._MONEY_MESSAGES[problem]), t
        else:
            assert problem is None and fen == int(d * 100), t
            assert values.parse_money(t) == d


def test_money_numeric_types_are_exact():
    f, p = dues_engine.money_to_fen(pl.Series([5009.01, 5100.0, 0.1 + 0.2, -1.0, float("nan"), None]))
    assert f.to_list() == [500901, 510000, None, None, None, None]
    assert p.to_list() == [None, None, "decimals", "negative", "not_number", "missing"]
    f, p = dues_engine.money_to_fen(pl.Series([D("5009.01"), D("-2.50"), None], dtype=pl.Decimal(12, 2)))
    assert f.to_list() == [500901, None, None] and p.to_list() == [None, "negative", "missing"]
    f, p = dues_engine.money_to_fen(pl.Series([D("5009.010"), D("5009.011")], dtype=pl.Decimal(12, 3)))
    assert f.to_list() == [500901, None] and p.to_list() == [None, "decimals"]
    f, p = dues_engine.money_to_fen(pl.Series([5009, -3], dtype=pl.Int32))
    assert f.to_list() == [500900, None] and p.to_list() == [None, "negative"]
    f, p = dues_engine.money_to_fen(pl.Series([0.2, 5009.01], dtype=pl.Float32))
    assert f.to_list() == [20, 500901]


def test_float_base_5009_is_not_a_float_rounding_victim():
    df = pl.DataFrame({"member_id": ["a"], "category": ["employed"], "base_income": [5009.0]})
    assert format_dues(calc_dues_frame(df))["dues"].to_list() == ["75.14"]


def test_category_aliases_and_case():
    df = _frame([{"member_id": "a", "category": " Employed ", "base_income": "5100"},
                 {"member_id": "b", "category": "离退休", "base_income": "4000"},
                 {"member_id": "c", "category": "学生"}])
    assert format_dues(calc_dues_frame(df))["dues"].to_list() == ["76.50", "20.00", "0.20"]


# ---------------------------------------------------------------- validation

def _errors(rows, **kw):
    with pytest.raises(BadInput) as exc:
        calc_dues_frame(_frame(rows), **kw)
    return exc.value.errors


def test_validation_collects_every_bad_cell_with_rows_and_columns():
    rows = [
        {"member_id": "a", "category": "employed", "base_income": "5100"},    # row 2 fine
        {"member_id": "b", "category": "employed", "base_income": "-5"},      # 3 negative
        {"member_id": "c", "category": "boss", "base_income": "5100"},        # 4 unknown category
        {"member_id": "d", "category": "employed", "base_income": "abc"},     # 5 not a number
        {"member_id": "e", "category": "employed", "base_income": "1.234"},   # 6 decimals
        {"member_id": "f", "category": "retired", "base_income": ""},         # 7 missing
        {"member_id": "g", "category": "farmer", "fixed_amount": "1.20"},     # 8 out of range
        {"member_id": "h", "category": "reduced"},                            # 9 missing fixed
        {"member_id": "i", "category": "reduced", "fixed_amount": "0"},       # 10 reduced 0
        {"member_id": "a", "category": "student"},                            # 11 duplicate
        {"member_id": "", "category": "student"},                             # 12 no id
        {"member_id": "k", "category": "student", "base_income": "zzz"},      # ignored
        {"member_id": "l", "category": None},                                 # 14 no category
    ]
    errs = _errors(rows)
    got = [(e.row, e.column) for e in errs]
    assert got == [(3, "base_income"), (4, "category"), (5, "base_income"), (6, "base_income"),
                   (7, "base_income"), (8, "fixed_amount"), (9, "fixed_amount"), (10, "fixed_amount"),
                   (11, "member_id"), (12, "member_id"), (14, "category")]
    text = {(e.row, e.column): str(e) for e in errs}
    assert "负数" in text[(3, "base_income")] and "「-5」" in text[(3, "base_income")]
    assert "无法识别" in text[(4, "category")]
    assert "两位小数" in text[(6, "base_income")]
    assert "0.20–1.00" in text[(8, "fixed_amount")]
    assert "第 2 行" in text[(11, "member_id")]
    assert text[(3, "base_income")].startswith("第 3 行 列「base_income」")


def test_first_row_offset_and_missing_columns():
    errs = _errors([{"member_id": "a", "category": "x"}], first_row=5)
    assert errs[0].row == 5
    with pytest.raises(BadInput, match="base_income"):
        calc_dues_frame(pl.DataFrame({"member_id": ["a"], "category": ["student"]}))


def test_duplicates_found_in_unsorted_input_name_the_first_row():
    rows = [{"member_id": m, "category": "student"} for m in ["z", "a", "z", "b", "a"]]
    errs = _errors(rows)
    assert [(e.row, e.message) for e in errs] == [
        (4, "党员编号重复：与第 2 行相同，每名党员只能出现一次"),
        (6, "党员编号重复：与第 3 行相同，每名党员只能出现一次"),
    ]


def test_scalar_rejects_bad_input_in_chinese():
    with pytest.raises(BadInput, match="无法识别"):
        calc_dues("boss", D(1), None)
    with pytest.raises(BadInput, match="负数"):
        calc_dues("employed", D(-1), None)
    with pytest.raises(BadInput, match="计算基数"):
        calc_dues("employed", None, None)
    with pytest.raises(BadInput, match="少交"):
        calc_dues("reduced", None, None)
    with pytest.raises(BadInput):
        calc_dues("employed", D("NaN"), None)


# ---------------------------------------------------------------- settings

def test_settings_round_trip_and_validation():
    s = DuesSettings(precision="jiao", rounding="half_even", cap=False, base_reading="tax_only",
                     retiree_base="all_allowances", amount_mode="monthly", farmer_default=D("0.5"))
    d = s.to_dict()
    assert d["farmer_default"] == "0.50" and d["cap"] is False
    assert DuesSettings.from_dict(d) == s
    assert DuesSettings.from_json(s.to_json()) == s
    assert DuesSettings.from_dict({}) == DuesSettings()
    assert DuesSettings.from_dict({"cap": "none"}).cap is False
    for bad in ({"precision": "li"}, {"rounding": "ceil"}, {"farmer_default": "1.20"},
                {"warn_from_months": 7}, {"nonsense": 1}, {"cap": "maybe"}):
        with pytest.raises(BadInput):
            DuesSettings.from_dict(bad)


# ---------------------------------------------------------------- payroll base

def test_compute_base_errors():
    with pytest.raises(BadInput) as exc:
        compute_base({"a": D(1), "b": "x", "c": D(-3), "d": D(1)},
                     {"a": "counted", "b": "counted", "c": "deducted", "d": "bonus"})
    cols = sorted(e.column for e in exc.value.errors)
    assert cols == ["b", "c", "d"]
    with pytest.raises(BadInput, match="尚未设置口径"):
        compute_base({"a": D(1), "new": D(2)}, {"a": "counted"})
    with pytest.raises(BadInput, match="没有任何"):
        compute_base({"a": D(1)}, {"a": "ignored"})


def test_compute_base_negative_is_clamped_and_retiree_readings():
    b = compute_base({"p": D(100), "s": D(300)}, {"p": "counted", "s": "deducted"})
    assert b.base == D("0.00") and b.clamped
    items = {"基本养老金": D(4000), "普发津贴": D(1500)}
    mapping = {"基本养老金": "counted", "普发津贴": "retiree_allowance"}
    assert compute_base(items, mapping, retired=True).base == D("4000.00")
    s08 = DuesSettings(retiree_base="all_allowances")
    assert compute_base(items, mapping, s08, retired=True).base == D("5500.00")
    fixed = DuesSettings(retiree_base="fixed")
    assert compute_base(items, mapping, fixed, retired=True, fixed_base=D("3000")).base == D("3000.00")


def test_compute_base_frame_errors():
    df = pl.DataFrame({"id": ["a", "b", "a"], "pay": ["100", "x", "-1"], "tax": ["1", "", "2"],
                       "new": ["1", "1", "1"]})
    with pytest.raises(BadInput) as exc:  # mapping problems come first
        compute_base_frame(df, {"id": "member_id", "pay": "counted", "tax": "taxes"})
    msgs = [str(e) for e in exc.value.errors]
    assert any("taxes" in m for m in msgs) and any("new" in m and "尚未设置" in m for m in msgs)
    with pytest.raises(BadInput) as exc:
        compute_base_frame(df, {"pay": "counted", "tax": "tax", "new": "ignored", "id": "ignored"})
    assert any("member_id" in str(e) for e in exc.value.errors)
    with pytest.raises(BadInput) as exc:
        compute_base_frame(df, {"id": "ignored", "pay": "ignored", "tax": "tax", "new": "member_id"})
    assert any("计入" in str(e) for e in exc.value.errors)
    with pytest.raises(BadInput) as exc:
        compute_base_frame(df, {"id": "member_id", "pay": "counted", "tax": "tax", "new": "ignored"})
    got = [(e.row, e.column) for e in exc.value.errors]
    assert (3, "pay") in got and (4, "pay") in got and (4, "id") in got


# ---------------------------------------------------------------- arrears

def _arr(rows):
    cols = ["member_id", "month", "category", "base_income", "paid"]
    return pl.DataFrame({c: [r[i] for r in rows] for i, c in enumerate(cols)}, schema={c: pl.String for c in cols})


def _summary(rows):
    return {r["member_id"]: r for r in compute_arrears(_arr(rows)).iter_rows(named=True)}


def test_six_consecutive_unpaid_months_flag_and_five_do_not():
    six = [("a", f"2024-{m:02d}", "employed", "5100", "0") for m in range(1, 7)]
    five = [("b", f"2024-{m:02d}", "employed", "5100", "0") for m in range(1, 6)]
    s = _summary(six + five)
    assert (s["a"]["max_consecutive_unpaid"], s["a"]["flag_six_months"], s["a"]["warning"]) == (6, True, "flag")
    assert (s["b"]["max_consecutive_unpaid"], s["b"]["flag_six_months"], s["b"]["warning"]) == (5, False, "warn")
    assert s["a"]["arrears_fen"] == 6 * 7650 and s["a"]["months"] == 6


def test_a_run_never_continues_into_the_next_member():
    rows = [("a", f"2024-{m:02d}", "employed", "5100", "0") for m in range(1, 4)]
    rows += [("b", f"2024-{m:02d}", "employed", "5100", "0") for m in range(4, 7)]
    s = _summary(rows)
    assert (s["a"]["max_consecutive_unpaid"], s["b"]["max_consecutive_unpaid"]) == (3, 3)
    assert not s["b"]["flag_six_months"]


def test_missing_month_breaks_a_run():
    rows = [("a", m, "employed", "5100", "0") for m in
            ["2023-10", "2023-11", "2023-12", "2024-02", "2024-03", "2024-04"]]  # 2024-01 missing
    assert _summary(rows)["a"]["max_consecutive_unpaid"] == 3


def test_month_with_nothing_due_breaks_a_run_and_counts_as_paid():
    rows = [("a", f"2024-{m:02d}", "employed", "5100", "0") for m in range(1, 4)]
    rows += [("a", "2024-04", "exempt", "", "0")]
    rows += [("a", f"2024-{m:02d}", "employed", "5100", "0") for m in range(5, 8)]
    rows += [("b", "2024-01", "suspended", "", "0")]
    s = _summary(rows)
    assert s["a"]["max_consecutive_unpaid"] == 3 and not s["a"]["flag_six_months"]
    assert (s["b"]["arrears_fen"], s["b"]["max_consecutive_unpaid"]) == (0, 0)


def test_overpaid_month_never_offsets_another_and_partial_payment_is_not_unpaid():
    rows = [("a", "2024-01", "employed", "5100", "200.00"),   # due 76.50, paid 200
            ("a", "2024-02", "employed", "5100", "0"),        # unpaid 76.50
            ("a", "2024-03", "employed", "5100", "20"),       # partial: 56.50 owed, not "unpaid"
            ("a", "2024-04", "employed", "5100", "")]         # empty paid = 0
    s = _summary(rows)["a"]
    assert (s["due_total_fen"], s["paid_total_fen"], s["arrears_fen"]) == (4 * 7650, 22000, 7650 + 5650 + 7650)
    assert s["max_consecutive_unpaid"] == 1
    detail = arrears_rules.arrears_detail(_arr(rows))
    assert detail["back_pay_fen"].to_list() == [0, 7650, 5650, 7650]
    assert detail["consecutive_unpaid"].to_list() == [0, 1, 0, 1]


def test_arrears_output_order_and_unsorted_input():
    rows = [("z", "2024-02", "student", "", "0"), ("a", "2024-01", "student", "", "0"),
            ("z", "2024-01", "student", "", "0"), ("a", "2024-02", "student", "", "0.20")]
    out = compute_arrears(_arr(rows))
    assert out["member_id"].to_list() == ["z", "a"]
    assert out["max_consecutive_unpaid"].to_list() == [2, 1]
    fmt = arrears_rules.format_arrears(out)
    assert fmt.columns == ["member_id", "months", "due_total", "paid_total", "arrears",
                           "max_consecutive_unpaid", "flag_six_months"]
    assert fmt.row(0) == ("z", 2, "0.40", "0.00", "0.40", 2, False)


def test_arrears_validation():
    rows = [("a", "2024-13", "employed", "5100", "0"),
            ("a", "24-01", "employed", "5100", "0"),
            ("a", "2024-02", "employed", "5100", "-1"),
            ("b", "2024-01", "employed", "5100", "0"),
            ("b", "2024-1", "employed", "5100", "0"),      # same month as the row above
            ("c", "2008-03", "employed", "5100", "0"),
            ("d", "2024-01", "boss", "5100", "0")]
    with pytest.raises(BadInput) as exc:
        compute_arrears(_arr(rows))
    got = [(e.row, e.column) for e in exc.value.errors]
    assert got == [(2, "month"), (3, "month"), (4, "paid"), (6, "month"), (7, "month"), (8, "category")]
    dup = next(e for e in exc.value.errors if e.row == 6)
    assert "第 5 行" in dup.message


def test_month_spellings():
    idx, problem = arrears_rules.month_index(pl.Series(["2024-03", "2024-3", "2024/03", "2024年3月",
                                               "2024-03-01 00:00:00", "2008-04"]))
    assert problem.null_count() == 6
    assert idx.to_list() == [2024 * 12 + 2] * 5 + [2008 * 12 + 3]


def test_month_spellings_are_values_parse_month():
    """Issue #13: dues reads months by values.parse_month — full-width, 202403, a date."""
    texts = ["２０２４－０３", "202403", "2024.3", "2024年3", "2024-03-15", " 2024-03 "]
    idx, problem = arrears_rules.month_index(pl.Series(texts))
    assert problem.null_count() == len(texts), problem.to_list()
    assert idx.to_list() == [2024 * 12 + 2] * len(texts)
    for t in texts:
        assert values.parse_month(t) == dues_store.parse_month(t)
    idx, problem = arrears_rules.month_index(pl.Series(["2024-13", "abc", "2008-03", "", "2024-02-30"]))
    assert idx.to_list() == [None] * 5
    assert problem.to_list() == [values.MONTH_RANGE, values.MONTH_MESSAGE,
                                 "月份早于 2008-04：本系统按 2008 年规定计算，更早的月份不适用",
                                 "缺少月份，应为 YYYY-MM，如 2024-03", values.DATE_INVALID]


def _reference_arrears(rows, s=dues_model.DEFAULT_SETTINGS):
    """Plain Python, month by month, straight from cli.md."""
    by_member: dict[str, list] = {}
    for m, month, cat, base, paid in rows:
        y, mo = map(int, month.split("-"))
        due = calc_dues(cat, D(base) if base else None, None, s).dues
        by_member.setdefault(m, []).append((y * 12 + mo - 1, due, D(paid or "0")))
    out = {}
    for m, items in by_member.items():
        items.sort()
        best = run = 0
        prev = None
        arrears = D(0)
        for idx, due, paid in items:
            unpaid = due > 0 and paid == 0
            if unpaid and prev is not None and prev[0] == idx - 1 and prev[1]:
                run += 1
            elif unpaid:
                run = 1
            else:
                run = 0
            best = max(best, run)
            arrears += max(due - paid, D(0))
            prev = (idx, unpaid)
        out[m] = (len(items), sum(i[1] for i in items), sum(i[2] for i in items), arrears, best, best >= 6)
    return out


@st.composite
def arrears_rows(draw):
    rows = []
    for m in range(draw(st.integers(1, 5))):
        months = draw(st.sets(st.integers(0, 30), min_size=1, max_size=20))
        for k in months:
            cat = draw(st.sampled_from(["employed", "retired", "student", "exempt", "suspended"]))
            base = str(draw(st.integers(0, 1_500_000)) / 100) if cat in ("employed", "retired") else ""
            paid = draw(st.sampled_from(["0", "0", "0", "", "0.20", "50", "100.00", "1000"]))
            rows.append((f"m{m}", f"{2022 + k // 12}-{k % 12 + 1:02d}", cat, base, paid))
    order = draw(st.permutations(range(len(rows))))
    return [rows[i] for i in order]


@FAST
@given(rows=arrears_rows())
def test_arrears_matches_plain_python_reference(rows):
    got = compute_arrears(_arr(rows))
    ref = _reference_arrears(rows)
    assert set(got["member_id"]) == set(ref)
    for r in got.iter_rows(named=True):
        months, due, paid, arrears, run, flag = ref[r["member_id"]]
        assert r["months"] == months
        assert r["due_total_fen"] == int(due * 100)
        assert r["paid_total_fen"] == int(paid * 100)
        assert r["arrears_fen"] == int(arrears * 100)
        assert r["max_consecutive_unpaid"] == run
        assert r["flag_six_months"] == flag
        assert r["warning"] == arrears_rules.warning_level(run)


# ---------------------------------------------------------------- flags

def test_warning_levels_and_flags():
    assert [arrears_rules.warning_level(n) for n in (0, 2, 3, 5, 6, 12)] == ["none", "none", "warn", "warn", "flag", "flag"]
    assert arrears_rules.warning_level(4, DuesSettings(warn_from_months=2, flag_months=4)) == "flag"
    assert not arrears_rules.voluntary_payment_flag(D("999.99"))
    assert arrears_rules.voluntary_payment_flag(D("1000.00")) and arrears_rules.voluntary_payment_flag("1500")
    assert not arrears_rules.back_payment_flag(6) and arrears_rules.back_payment_flag(7)
    with pytest.raises(BadInput):
        arrears_rules.back_payment_flag(-1)
    df = pl.DataFrame({"fen": [99999, 100000], "months": [6, 7]})
    assert df.select(arrears_rules.voluntary_payment_flag_expr("fen"))["fen"].to_list() == [False, True]
    assert df.select(arrears_rules.back_payment_flag_expr("months"))["months"].to_list() == [False, True]



def test_arrears_from_native_parquet_types():
    from datetime import date

    df = pl.DataFrame({
        "member_id": [7, 7, 7],
        "month": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)],
        "category": ["employed"] * 3,
        "base_income": pl.Series([D("5100.00")] * 3, dtype=pl.Decimal(10, 2)),
        "paid": [76.5, 0.0, 0.0],
    })
    r = compute_arrears(df).row(0, named=True)
    assert (r["member_id"], r["months"], r["arrears_fen"], r["max_consecutive_unpaid"]) == ("7", 3, 15300, 2)
    assert arrears_rules.arrears_detail(df)["month"].to_list() == ["2024-01", "2024-02", "2024-03"]


# ---------------------------------------------------------------- dated rules (issue 16 §2)

def test_builtin_rule_history_2008_then_2017():
    r = dues_model.BUILTIN_RULES
    assert [p.code for p in r] == ["2008", "2017"]
    assert r.at(dues_model.month_number(2016, 5)).code == "2008" and r.at(dues_model.month_number(2016, 12)).code == "2008"
    assert r.at(dues_model.month_number(2017, 1)).code == "2017" and r.at(dues_model.month_number(2030, 6)).code == "2017"
    s08 = r.at(dues_model.month_number(2016, 5)).settings
    assert (s08.cap, s08.base_reading, s08.retiree_base, s08.amount_mode) == (False, "tax_only", "all_allowances", "monthly")
    assert r.latest.settings == dues_model.DEFAULT_SETTINGS
    with pytest.raises(BadInput):
        dues_model.RuleHistory([])


def test_2016_worked_example_no_ceiling_before_the_2017_notice():
    rows = [("a", "2016-05", "employed", "60000", "0"), ("a", "2017-05", "employed", "60000", "0")]
    det = arrears_rules.arrears_detail(_arr(rows), rules=dues_model.BUILTIN_RULES)
    assert det["due_fen"].to_list() == [120000, 100000]
    assert det["rule_version"].to_list() == ["2008", "2017"]
    assert det["rule"].cast(pl.String).to_list() == ["bracket_2", "bracket_2_capped"]
    # without the history every month gets today's rule (the old behaviour)
    assert arrears_rules.arrears_detail(_arr(rows))["due_fen"].to_list() == [100000, 100000]


def test_2017_worked_example_base_reading_by_rule():
    """dues.md: 职务 1500 + 级别 2000 + 津补贴 2500 (通讯 300, 交通 500 not counted); own 养老 480,
    医疗 120, 职业年金 240, 公积金 720; 个税 60 → base 4380 → 43.80 (2017) — the 2008 reading
    ("tax only") of the same pay gives base 5940 → 89.10."""
    items = {"职务工资": "1500", "级别工资": "2000", "津贴补贴": "2500", "通讯补贴": "300", "交通补贴": "500",
             "养老保险": "480", "医疗保险": "120", "职业年金": "240", "住房公积金": "720", "个人所得税": "60"}
    mapping = {"职务工资": "counted", "级别工资": "counted", "津贴补贴": "counted", "通讯补贴": "ignored",
               "交通补贴": "ignored", "养老保险": "deducted", "医疗保险": "deducted", "职业年金": "deducted",
               "住房公积金": "deducted", "个人所得税": "tax"}
    got = {}
    for y in (2016, 2017):
        s = dues_model.BUILTIN_RULES.at(dues_model.month_number(y, 6)).settings
        b = dues_rules.compute_base(items, mapping, s)
        got[y] = (b.base, calc_dues("employed", b.base, None, s).dues)
    assert got == {2016: (D("5940.00"), D("89.10")), 2017: (D("4380.00"), D("43.80"))}


def _fixed_for_year_reference(rows, by_rule=False):
    """Plain Python: the base in force per (member, month) by the rule of dues_store."""
    out = {}
    members: dict[str, list] = {}
    for m, month, cat, base, _paid, redet in rows:
        y, mo = map(int, month.split("-"))
        members.setdefault(m, []).append((y * 12 + mo - 1, cat, base, redet))
    for m, items in members.items():
        items.sort()
        cands = []
        for i, (idx, cat, base, redet) in enumerate(items):
            fixed = True
            if by_rule:
                fixed = dues_model.BUILTIN_RULES.at(idx).settings.amount_mode == "fixed_for_year"
            now = (not fixed or i == 0 or cat != items[i - 1][1] or idx % 12 == 0 or redet)
            cands.append(((idx if now else (idx // 12 + 1) * 12), idx, base))
        for idx, cat, base, _ in items:
            best = max(c for c in cands if c[0] <= idx)
            out[(m, idx)] = best[2]
    return out


@st.composite
def fixed_rows(draw):
    rows = []
    for m in range(draw(st.integers(1, 4))):
        months = sorted(draw(st.sets(st.integers(96, 130), min_size=1, max_size=18)))  # 2016-01 … 2018-11
        for k in months:
            cat = draw(st.sampled_from(["employed", "employed", "employed", "retired"]))
            base = str(draw(st.sampled_from([2500, 4900, 5100, 12000, 60000])) + draw(st.integers(0, 3)))
            rows.append((f"m{m}", f"{2008 + k // 12}-{k % 12 + 1:02d}", cat, base, "0", draw(st.booleans())
                         if draw(st.integers(0, 5)) == 0 else False))
    return rows


@FAST
@given(rows=fixed_rows(), mode=st.sampled_from(["fixed_for_year", "by_rule"]))
def test_fixed_for_year_matches_plain_python_and_each_month_uses_its_rule(rows, mode):
    df = pl.DataFrame({"member_id": [r[0] for r in rows], "month": [r[1] for r in rows],
                       "category": [r[2] for r in rows], "base_income": [r[3] for r in rows],
                       "paid": [r[4] for r in rows], "redetermine": ["是" if r[5] else "" for r in rows]})
    det = arrears_rules.arrears_detail(df, rules=dues_model.BUILTIN_RULES, amount_mode=mode)
    ref = _fixed_for_year_reference(rows, by_rule=mode == "by_rule")
    for r in det.iter_rows(named=True):
        base = ref[(r["member_id"], r["month_index"])]
        assert r["base_used_fen"] == int(D(base) * 100)
        rule = dues_model.BUILTIN_RULES.at(r["month_index"])
        assert r["rule_version"] == rule.code
        assert D(r["due_fen"]) / 100 == calc_dues(r["category"], D(base), None, rule.settings).dues


@FAST
@given(rows=arrears_rows())
def test_dated_rules_equal_the_current_rule_from_2017_on(rows):
    """Months from 2022 on (the strategy's range) fall under the 2017 rule: same as before."""
    a = compute_arrears(_arr(rows))
    b = compute_arrears(_arr(rows), rules=dues_model.BUILTIN_RULES)
    assert a.equals(b)


def test_redetermine_column_is_validated():
    df = _arr([("a", "2024-01", "employed", "5100", "0")]).with_columns(redetermine=pl.lit("也许"))
    with pytest.raises(BadInput) as exc:
        arrears_rules.arrears_detail(df, amount_mode="fixed_for_year")
    assert [(e.row, e.column) for e in exc.value.errors] == [(2, "redetermine")]
    with pytest.raises(BadInput, match="金额调整方式"):
        arrears_rules.arrears_detail(df, amount_mode="yearly")


def test_dues_errors_are_one_error_collector():
    """Issue #13: dues collects cell errors in errors.ErrorCollector — the count in the headline
    is every error, the list the first MAX_ERRORS by row then 「另有更多错误未列出」."""
    from dangjian_core.errors import MAX_ERRORS, MORE_ERRORS
    n = MAX_ERRORS + 10
    df = pl.DataFrame({"member_id": [f"m{i}" for i in range(n)], "category": ["employed"] * n,
                       "base_income": ["abc"] * n})
    with pytest.raises(BadInput, match=f"发现 {n} 处错误") as exc:
        dues_engine.calc_dues_frame(df, as_text=True)
    errs = exc.value.errors
    assert len(errs) == MAX_ERRORS + 1 and errs[-1].message == MORE_ERRORS
    assert [e.row for e in errs[:3]] == [2, 3, 4] and errs[0].column == "base_income"
