import polars as pl
import pytest

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
