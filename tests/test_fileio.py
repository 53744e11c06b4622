import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangjian_core.errors import BadInput
from dangjian_core.fileio import read_frame, write_frame, xlsx_bytes


def test_gbk_csv_with_title_row_is_read_as_text(tmp_path):
    p = tmp_path / "g.csv"
    p.write_bytes("党费名单\n\nmember_id,category\n张三,student\n".encode("gbk"))
    f = read_frame(p, expected=["member_id", "category"])
    assert f.df.columns == ["member_id", "category"]
    assert f.df.row(0) == ("张三", "student")
    assert f.row_number(0) == 4


def test_utf8_bom_header_is_clean(tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes("\ufeffmember_id,base_income\nm1,5009.00\n".encode())
    f = read_frame(p)
    assert f.df.columns == ["member_id", "base_income"]
    assert f.df["base_income"].to_list() == ["5009.00"]


def test_xlsx_round_trip_keeps_text_and_escapes_formulas(tmp_path):
    p = tmp_path / "t.xlsx"
    write_frame(pl.DataFrame({"name": ["甲", "=1+1"], "n": [3, 4]}), p)
    f = read_frame(p)
    assert f.df["name"].to_list() == ["甲", "'=1+1"]
    assert f.df["n"].to_list() == ["3", "4"]


def test_png_renamed_to_xlsx_is_refused(tmp_path):
    p = tmp_path / "x.xlsx"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    with pytest.raises(BadInput, match="不是 Excel"):
        read_frame(p)


def test_truncated_xlsx_is_refused(tmp_path):
    data = xlsx_bytes({"s": pl.DataFrame({"a": [1, 2], "b": [3, 4]})})
    p = tmp_path / "t.xlsx"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadInput):
        read_frame(p)


def test_empty_file_and_duplicate_header(tmp_path):
    p = tmp_path / "e.csv"
    p.write_bytes(b"")
    with pytest.raises(BadInput, match="空"):
        read_frame(p)
    p.write_text("a,a\n1,2\n")
    with pytest.raises(BadInput, match="重复"):
        read_frame(p)


def test_failed_write_leaves_no_file(tmp_path):
    p = tmp_path / "out.csv"
    class Boom(pl.DataFrame):
        def write_csv(self, *a, **k):
            raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        write_frame(Boom({"a": [1]}), p)
    assert list(tmp_path.iterdir()) == []


_PLAIN = st.lists(st.sampled_from(["a", "中", " ", "\t", ",", "\n", "\r\n", "\r", "'", "=", "1", "\u3000", "\x1c", "\n\n"]),
                  max_size=40).map("".join)


@settings(max_examples=150, deadline=None)
@given(_PLAIN)
def test_a_csv_without_quotes_splits_as_the_csv_module_reads_it(text):
    """The column-wise split of a quote-free csv gives the csv module's rows (shorter rows
    padded with nulls, an empty line a row of nulls), or declines."""
    import csv
    import io

    from dangjian_core import fileio

    grid = fileio._plain_csv_grid(text, 1000)
    if grid is None:
        body = text.replace("\r\n", "\n")
        assert "\r" in body or not body.removesuffix("\n")  # a bare CR, or no line at all
        return
    rows = list(csv.reader(io.StringIO(text)))
    width = max(1, *(len(r) for r in rows))  # as _rows_grid: at least one column
    assert grid.rows() == [tuple(r + [None] * (width - len(r))) if r else (None,) * width for r in rows]


@settings(max_examples=60, deadline=None)
@given(_PLAIN)
def test_a_quote_free_csv_reads_the_same_either_way(text):
    """read_frame on a quote-free csv: the same frame, or the same refusal, as the csv module path."""
    from unittest import mock

    from dangjian_core import fileio

    data = ("名称,层级\n" + text).encode()

    def read():
        try:
            f = read_frame(data=data, name="x.csv", expected=["名称", "层级"])
            return f.df.to_dicts(), f.df.columns, f.first_row
        except BadInput as exc:
            return str(exc), [(e.row, e.column, e.value, e.message) for e in exc.errors]

    fast = read()
    with mock.patch.object(fileio, "_plain_csv_grid", lambda text, limit: None):
        slow = read()
    assert fast == slow


_XML_BITS = st.sampled_from([b'<c ', b'<x:c ', b'<row ', b'r="', b'A', b'ZZ', b'B', b'XFD', b'1', b'12', b'"', b'>',
                             b'<', b' ', b'x', b'/>', b'<t>', b'</t>', b'<cc ', b'xr="', b'<row', b'row', b'\t',
                             b'\x0b', b'\x1c', b':row ', b'<rows ', b'/', b'<x:row>', b'r="9"'])


@settings(max_examples=300, deadline=None)
@given(st.lists(_XML_BITS, max_size=16).map(b"".join))
def test_the_widest_column_and_the_rows_found_from_hints_are_the_exact_patterns(buf):
    """sheet_guard looks for the widest column and the row tags from cheap literal hints; it
    must find what the exact patterns find, on any bytes (malformed tags included)."""
    from dangjian_core import sheet_guard

    letters = set(sheet_guard._CELL_COL_RE.findall(buf))
    assert sheet_guard._widest_column(buf) == (max(letters, key=lambda b: (len(b), b)) if letters else None)
    assert sheet_guard._rows_in(buf) == (len(sheet_guard._ROW_TAG_RE.findall(buf)), sheet_guard._ROW_NUM_RE.findall(buf))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_XML_BITS, st.sampled_from([b' t="n"', b' t="s"', b't="', b'G', b'AG', b'/'])), max_size=18)
       .map(b"".join))
def test_numeric_code_cells_found_from_hints_are_the_exact_patterns_matches(buf):
    """The Excel worker looks for the cells of code columns from a literal hint; the matches
    must be exactly those of the cell pattern over the whole text, in order."""
    import re

    from dangjian_core import sheet_worker

    pat = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="(G|AG)(\d+)"[^>]*?(/?)>')
    got = [m.span() for m in sheet_worker._cells(pat, re.compile(rb'r="(?:G|AG)\d'), buf)]
    assert got == [m.span() for m in pat.finditer(buf)]
