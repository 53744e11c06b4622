"""Money in table files is exact: an export writes each amount as its own digits (never through
a float), the Excel reader gives a number cell back as the digits typed, and export → import
changes nothing — for any amount in 分 up to 13 integer digits of 元."""

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangjian_core import audit, fileio, tables, uow
from tests.conftest import EDITOR

SPEC = tables.TableSpec(
    table="zz_money", label="金额测试", perm="orgs.write",
    columns=[tables.Column("name", "名称", required=True, unique=True, max_len=50),
             tables.Column("amount", "金额（元）", "decimal", min=0)])


@pytest.fixture
def money_db(db):
    with uow.bookkeeping(db) as cur:
        cur.execute("CREATE SEQUENCE zz_money_seq START 1")
        cur.execute("CREATE TABLE zz_money (id BIGINT PRIMARY KEY DEFAULT nextval('zz_money_seq'),"
                    " name VARCHAR NOT NULL UNIQUE, amount DECIMAL(18, 2), version BIGINT NOT NULL DEFAULT 1,"
                    " updated_at TIMESTAMP, updated_by VARCHAR)")
    tables.register(SPEC)
    try:
        yield db
    finally:
        tables.SPECS.pop(SPEC.table, None)
        for book in (audit.KEY_COLUMNS, audit.TABLE_LABELS, audit.WRITE_PERMS, audit.COLUMNS,
                     audit.DELETE_CHECKS, audit._taken, audit.SENSITIVE):
            book.pop(SPEC.table, None)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


_FEN = st.one_of(st.integers(0, 10**15 - 1), st.integers(0, 10**10),
                 st.sampled_from([10, 20, 30, 123456789, 999999999999, 9999999999, 10**15 - 1, 999999999999989]))


def test_money_in_table_files_is_exact_and_a_round_trip_changes_nothing(money_db, tmp_path):
    db = money_db

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(_FEN, min_size=1, max_size=8))
    def check(fens):
        with uow.bookkeeping(db) as cur:
            cur.execute("DELETE FROM zz_money")
            for i, fen in enumerate(fens):
                cur.execute("INSERT INTO zz_money(name, amount) VALUES (?, ?)",
                            [f"第{i}项", Decimal(fen) / 100])
        exported = tables.export_frame(db, EDITOR, SPEC)
        assert isinstance(exported.schema["金额（元）"], pl.Decimal)  # never a float
        assert exported["金额（元）"].to_list() == [Decimal(_yuan(f)) for f in fens]
        # csv: the amount's own digits
        fileio.write_frame(exported, tmp_path / "m.csv")
        lines = (tmp_path / "m.csv").read_text(encoding="utf-8").splitlines()[1:]
        assert [line.split(",")[2] for line in lines] == [_yuan(f) for f in fens]
        for ext in ("csv", "xlsx"):
            path = tmp_path / f"m.{ext}"
            fileio.write_frame(exported, path)
            frame = fileio.read_frame(path, expected=["名称", "金额（元）"])
            # the cells read back are the same amounts (an xlsx number cell: the digits typed)
            assert [Decimal(v) for v in frame.df["金额（元）"].to_list()] == [Decimal(f) / 100 for f in fens], ext
            res = tables.import_frame(db, EDITOR, SPEC, frame, commit=True)
            assert res.ok, [str(e) for e in res.errors]
            assert (res.inserts, res.updates) == (0, 0) and res.unchanged == len(fens), ext
        assert tables.export_frame(db, EDITOR, SPEC).equals(exported)

    check()


def test_an_excel_number_cell_comes_back_as_its_shortest_digits_and_text_stays_text(tmp_path):
    """The Excel reader prints a number with 9 decimals: 99999999.99 came back as
    99999999.989999995. Number cells come back as typed; a text cell is never changed."""
    df = pl.DataFrame({"n": [99999999.99, 12345678901.23, 9999999999999.89, 0.1, 5.0],
                       "t": ["99999999.990000000", "0.300000000", "1.5", "7", "12345678.8999999990"]})
    fileio.write_frame(df, tmp_path / "x.xlsx")
    got = fileio.read_frame(tmp_path / "x.xlsx").df
    assert got["n"].to_list() == ["99999999.99", "12345678901.23", "9999999999999.89", "0.1", "5"]
    assert got["t"].to_list() == ["99999999.990000000", "0.300000000", "1.5", "7", "12345678.8999999990"]
