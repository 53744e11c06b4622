"""`dues calc` parquet → parquet in DuckDB alone (dues.sql) gives exactly the general path's
output (dues.engine.calc_dues_frame(as_text=True)) wherever it runs, and steps aside (writing
nothing) otherwise."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangjian_core.cli import main
from dangjian_core.dues import engine as dues_engine
from dangjian_core.dues import model as dues_model
from dangjian_core.dues import sql as dues_sql
from dangjian_core.errors import BadInput

DATA = Path(__file__).parent.parent / "data" / "dues"
VECTORS = list(csv.DictReader((DATA / "public_vectors.csv").open(encoding="utf-8")))
MONEY = pl.Decimal(12, 2)


def test_constants_agree_with_the_rules_module():
    assert dues_model.CATEGORY_CODES == dues_model.CATEGORY_CODES
    assert set(dues_sql.BRACKET) == dues_model.BRACKET_CATEGORIES and set(dues_sql.FLAT) == dues_model.FLAT_CATEGORIES
    assert dues_sql.PRECISION_FEN == dues_model.PRECISIONS
    assert dues_sql.CAP_FEN == int(dues_model.CAP_AMOUNT * 100) and dues_sql.FLAT_FEN == int(dues_model.FLAT_AMOUNT * 100)
    assert (dues_sql.FARMER_MIN_FEN, dues_sql.FARMER_MAX_FEN) == (int(dues_model.FARMER_MIN * 100), int(dues_model.FARMER_MAX * 100))


def test_every_category_has_its_kind_of_rule():
    kinds = set(dues_sql.BRACKET) | set(dues_sql.FLAT) | {"retired", "farmer", "exempt", "suspended", "reduced"}
    assert kinds == set(dues_sql.CATEGORY_CODES) and all(f"'{c}'" in dues_sql._KIND_CASE for c in kinds)


def _frame(rows, money=MONEY):
    return pl.DataFrame(rows, schema={"member_id": pl.String, "category": pl.String, "base_income": money,
                                      "fixed_amount": money}, orient="row")


def _both(tmp_path, df, **kw):
    src, fast = tmp_path / "in.parquet", tmp_path / "fast.parquet"
    df.write_parquet(src)
    took = dues_sql.try_calc_parquet(src, fast, **kw)
    s = dues_model.DuesSettings(**kw)
    return took, (pl.read_parquet(fast) if took else None), dues_engine.calc_dues_frame(df, s, as_text=True)


cats = st.sampled_from(dues_model.CATEGORY_CODES)
money = st.one_of(st.integers(0, 2_500_000), st.sampled_from([0, 300000, 300001, 500000, 500001, 1000000,
                                                              1000001, 5000000, 6666667, 99999999999]))


@st.composite
def plain_rows(draw):
    n = draw(st.integers(1, 30))
    rows = []
    for i in range(n):
        c = draw(cats)
        base = Decimal(draw(money)) / 100 if c in dues_model.BASE_CATEGORIES or draw(st.booleans()) else None
        fixed = None
        if c == "farmer":
            fixed = draw(st.one_of(st.none(), st.integers(20, 100).map(lambda v: Decimal(v) / 100)))
        elif c == "reduced":
            fixed = Decimal(draw(st.integers(1, 200000))) / 100
        rows.append((f"m{i}", c, base, fixed))
    return rows


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(rows=plain_rows(), precision=st.sampled_from(["fen", "jiao", "yuan"]),
       rounding=st.sampled_from(["half_up", "up", "down", "half_even"]), cap=st.booleans())
def test_sql_engine_equals_the_vectorised_engine(tmp_path, rows, precision, rounding, cap):
    took, fast, general = _both(tmp_path, _frame(rows), precision=precision, rounding=rounding, cap=cap)
    assert took
    assert fast.schema == general.schema and fast.equals(general)


def test_public_vectors_through_the_sql_engine(tmp_path):
    for cap in ("1000", "none"):
        rows = [r for r in VECTORS if r["cap"] == cap]
        df = _frame([(f"v{i}", r["category"], Decimal(r["base_income"]) if r["base_income"] else None,
                      Decimal(r["fixed_amount"]) if r["fixed_amount"] else None) for i, r in enumerate(rows)])
        took, fast, _ = _both(tmp_path, df, cap=cap == "1000")
        assert took and fast["dues"].to_list() == [r["dues"] for r in rows]


@pytest.mark.parametrize("rows, why", [
    ([("a", "在职", Decimal("5000"), None)], "an alias is for the general path"),
    ([("a", "employed", None, None)], "missing base: an error with row and column"),
    ([("a", "employed", Decimal("-1"), None)], "negative base"),
    ([("a", "farmer", None, Decimal("1.20"))], "farmer amount out of range"),
    ([("a", "reduced", None, None)], "reduced without its amount"),
    ([("a", "employed", Decimal("1"), None), ("a", "student", None, None)], "duplicate id"),
    ([(" a", "employed", Decimal("1"), None)], "an id to trim"),
    ([("a\u3000", "employed", Decimal("1"), None)], "full-width space"),
    ([(None, "employed", Decimal("1"), None)], "no id"),
    ([("a\x00", "employed", Decimal("1"), None)], "NUL in an id: the guarded reader refuses it"),
    ([("a ", "employed", Decimal("1"), None)], "a trailing space"),
    ([("", "employed", Decimal("1"), None)], "an empty id"),
    ([("a", "employed", Decimal("1"), None), ("b", None, None, None)], "no category"),
    ([("a", "employed", Decimal("1"), None), ("b", "foo", None, None)], "unknown category after a good row"),
    ([("a", "retired", Decimal("1000000000000"), None)], "a base of 10¹² yuan"),
    ([("a", "reduced", None, Decimal("0"))], "a reduced amount of 0"),
    ([("a", "farmer", None, Decimal("0.19"))], "farmer amount below 0.20"),
])
def test_anything_not_plain_is_left_to_the_general_path(tmp_path, rows, why):
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    _frame(rows, pl.Decimal(18, 2)).write_parquet(src)
    assert not dues_sql.try_calc_parquet(src, out), why
    assert not out.exists()


D = Decimal
ODD_ROWS = st.one_of(  # rows the general path refuses or trims, or accepts only at a boundary
    st.tuples(st.sampled_from([" x", "x\u3000", "", "m0", None, "x\t", "\u4e00", "x\x00"]), st.just("employed"),
              st.just(D("5000")), st.none()),
    st.tuples(st.just("x"), st.sampled_from(["在职", "foo", None]), st.just(D("5000")), st.none()),
    st.tuples(st.just("x"), st.sampled_from(sorted(dues_model.BASE_CATEGORIES)),
              st.sampled_from([None, D("-0.01"), D("1000000000000"), D("999999999999.99"), D("0")]), st.none()),
    st.tuples(st.just("x"), st.sampled_from(["farmer", "reduced"]), st.none(),
              st.sampled_from([None, D("0"), D("0.19"), D("0.20"), D("1.00"), D("1.01"), D("1000000000000")])),
)


@st.composite
def maybe_bad_rows(draw):
    """Plain rows with, most of the time, one or two odd rows put in among them."""
    rows = draw(plain_rows())
    for _ in range(draw(st.integers(0, 2))):
        rows.insert(draw(st.integers(0, len(rows))), draw(ODD_ROWS))
    return rows


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(rows=maybe_bad_rows())
def test_sql_engine_takes_only_what_the_general_path_accepts_and_then_agrees(tmp_path, rows):
    """Any rows, good or bad: where the SQL path writes a file, the general path accepts the
    same rows and gives the same table; where the general path refuses, the SQL path writes nothing."""
    df = _frame(rows, pl.Decimal(18, 2))
    src, fast = tmp_path / "in.parquet", tmp_path / "fast.parquet"
    fast.unlink(missing_ok=True)
    df.write_parquet(src)
    took = dues_sql.try_calc_parquet(src, fast)
    try:
        general = dues_engine.calc_dues_frame(df, as_text=True)
    except BadInput:
        assert not took and not fast.exists()
        return
    if took:
        assert pl.read_parquet(fast).equals(general)


def test_other_column_types_are_left_to_the_general_path(tmp_path):
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pl.DataFrame({"member_id": ["a"], "category": ["employed"], "base_income": [5009.0]}).write_parquet(src)
    assert not dues_sql.try_calc_parquet(src, out)
    pl.DataFrame({"member_id": ["a"], "category": ["employed"], "base_income": ["5009"]}).write_parquet(src)
    assert not dues_sql.try_calc_parquet(src, out)
    pl.DataFrame({"member_id": [7], "category": ["employed"], "base_income": [5009]}).write_parquet(src)
    assert dues_sql.try_calc_parquet(src, out)                      # integers are plain
    assert pl.read_parquet(out).row(0) == ("7", "75.14", "0.015", "bracket_1.5")   # 75.135 half up


def test_cli_parquet_to_parquet_fast_and_bad_cells_still_exit_2(tmp_path, capsys):
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    _frame([("a", "employed", Decimal("5100"), None), ("b", "farmer", None, Decimal("0.50"))]).write_parquet(src)
    assert main(["dues", "calc", str(src), str(out)]) == 0
    assert pl.read_parquet(out).rows() == [("a", "76.50", "0.015", "bracket_1.5"), ("b", "0.50", None, "fixed_farmer")]
    bad = tmp_path / "bad.parquet"
    _frame([("a", "employed", Decimal("5100"), None), ("b", "employed", None, None)]).write_parquet(bad)
    out2 = tmp_path / "out2.parquet"
    assert main(["dues", "calc", str(bad), str(out2)]) == 2
    assert "第 3 行" in capsys.readouterr().err and not out2.exists()


def test_row_order_is_kept_on_a_file_read_by_several_threads(tmp_path):
    """cli.md: row order is kept. 300,000 rows in several row groups, ids in no sorted order."""
    n = 300_000
    ids = (pl.int_range(n, eager=True) * 7919) % n
    df = pl.DataFrame({"member_id": "m" + ids.cast(pl.String), "category": pl.Series(["employed", "student"] * (n // 2)),
                       "base_income": (ids.cast(pl.Decimal(18, 2)) / 10).cast(MONEY)})
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    df.write_parquet(src, row_group_size=20_000)
    assert dues_sql.try_calc_parquet(src, out)
    got = pl.read_parquet(out)
    assert got["member_id"].equals(df["member_id"])
    assert got.equals(dues_engine.calc_dues_frame(df, as_text=True))


@pytest.mark.parametrize("order", ["sorted", "unsorted"])
def test_a_duplicate_id_in_another_row_group_is_found(tmp_path, order):
    """Sorted ids are proven unique by comparing each with the row before it (no hash table);
    other files by counting distinct ids. Either way an id repeated in another row group is found."""
    n = 60_000
    ids = pl.int_range(n, eager=True) if order == "sorted" else (pl.int_range(n, eager=True) * 7919) % n
    ids = ("m" + ids.cast(pl.String).str.zfill(6)).scatter(40_000, "m" + str(39_999 if order == "sorted" else 5).zfill(6))
    df = pl.DataFrame({"member_id": ids, "category": "student", "base_income": pl.Series([None] * n, dtype=MONEY)})
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    df.write_parquet(src, row_group_size=10_000)
    assert ids.n_unique() == n - 1
    assert not dues_sql.try_calc_parquet(src, out) and not out.exists()
    df.with_columns(member_id=pl.Series(ids.to_list()[:40_000] + [f"x{i}" for i in range(n - 40_000)])).write_parquet(
        src, row_group_size=10_000)
    assert dues_sql.try_calc_parquet(src, out)
