"""The column-wise xlsx writer (issue 17): valid OOXML that our reader, fastexcel and zipfile
accept, values exact, text escaped the way Excel escapes it, and nothing ever a formula."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from xml.etree import ElementTree

import polars as pl
import pytest

from dangjian_core import fileio, sheet_writer

HOSTILE = [
    "</t></is></c><c><f>1+1</f></c>",    # markup in text stays text
    "a & b < c > d \" ' ",
    "控制\x01字符\x1f与\t制表\r回车\n换行",
    "字面的 _x0041_ 不是 A",
    "  前后空格  ",
    "中文，标点；“引号”",
]


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        return {n: z.read(n) for n in z.namelist()}


def _frame() -> pl.DataFrame:
    return pl.DataFrame({
        "序号": [1, 2, 3],
        "金额": [Decimal("1234.50"), Decimal("-0.01"), None],
        "比例": [12.345, None, float("nan")],
        "日期": [dt.date(2026, 11, 23), None, dt.date(1900, 1, 1)],
        "时间": [dt.datetime(2026, 11, 23, 8, 30), None, None],
        "是否": [True, False, None],
        "备注": ["=SUM(A1)", None, "普通文字"],
    }, schema_overrides={"金额": pl.Decimal(18, 2)})


def test_every_part_is_well_formed_and_declared():
    data = fileio.xlsx_bytes({"花名册": _frame(), "空表": _frame().head(0)})
    parts = _parts(data)
    for name, body in parts.items():
        ElementTree.fromstring(body)  # raises on malformed XML
    types = parts["[Content_Types].xml"].decode()
    for name in parts:
        if name.endswith(".xml") and name != "[Content_Types].xml":
            assert f'PartName="/{name}"' in types, name
    assert b"<f>" not in b"".join(parts.values()), "no cell of ours is a formula"


def test_values_round_trip_with_their_types_and_formats():
    data = fileio.xlsx_bytes({"表": _frame()})
    back = pl.read_excel(data, sheet_name="表")
    assert back.columns == _frame().columns
    assert back["序号"].to_list() == [1, 2, 3]
    assert back["金额"].to_list() == [1234.5, -0.01, None]
    assert back["比例"].to_list() == [12.345, None, None]  # NaN has no cell in Excel
    assert back["日期"].cast(pl.Date).to_list() == [dt.date(2026, 11, 23), None, dt.date(1900, 1, 1)]
    assert back["时间"][0] == dt.datetime(2026, 11, 23, 8, 30)
    assert back["是否"].to_list() == [True, False, None]
    assert back["备注"].to_list() == ["'=SUM(A1)", None, "普通文字"]
    sheet = _parts(data)["xl/worksheets/sheet1.xml"].decode()
    styles = _parts(data)["xl/styles.xml"].decode()
    # money is written exactly as stored, shown with two decimals; integers with separators
    money_style = re.search(r'<c r="B2" s="(\d+)"><v>1234\.50</v></c>', sheet)
    assert money_style
    codes = re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]+)"/>', styles)
    xfs = re.findall(r"<xf numFmtId=\"(\d+)\"[^>]*xfId=\"0\"", styles)
    assert dict(codes)[xfs[int(money_style.group(1))]] == "#,##0.00;[Red]-#,##0.00"
    assert "yyyy-mm-dd" in styles and "#,##0;[Red]-#,##0" in styles


def test_hostile_text_reads_back_as_itself():
    df = pl.DataFrame({"文字": HOSTILE, "长文字": ["长" * 40_000] + [""] * (len(HOSTILE) - 1)})
    data = sheet_writer.xlsx_bytes({"s": df})
    back = pl.read_excel(data)
    assert back["文字"].to_list() == HOSTILE
    assert len(back["长文字"][0]) == sheet_writer.MAX_TEXT  # Excel's limit, as xlsxwriter cuts it
    sheet = _parts(data)["xl/worksheets/sheet1.xml"].decode()
    assert "<c><f>" not in sheet and "&lt;/t&gt;" in sheet
    assert "_x0001_" in sheet and "_x005F_x0041_" in sheet


def test_our_reader_takes_our_files_back_text_for_text():
    df = pl.DataFrame({"党员编号": ["007", "M000002"], "姓名": ["张三", "=1+2"],
                       "党费": [Decimal("12.30"), Decimal("0.00")]},
                      schema_overrides={"党费": pl.Decimal(18, 2)})
    frame = fileio.read_frame(data=fileio.xlsx_bytes({"党员": df}), name="x.xlsx")
    assert frame.df["党员编号"].to_list() == ["007", "M000002"]
    assert frame.df["姓名"].to_list() == ["张三", "'=1+2"]  # the import takes the apostrophe off
    assert frame.df["党费"].to_list() == ["12.3", "0"]


def test_many_rows_are_written_in_order_across_slices(monkeypatch):
    monkeypatch.setattr(sheet_writer, "SLICE_ROWS", 7)
    df = pl.DataFrame({"n": list(range(50)), "t": [f"行{i}" for i in range(50)]})
    back = pl.read_excel(sheet_writer.xlsx_bytes({"s": df}))
    assert back["n"].to_list() == list(range(50)) and back["t"].to_list() == df["t"].to_list()
    sheet = _parts(sheet_writer.xlsx_bytes({"s": df}))["xl/worksheets/sheet1.xml"].decode()
    assert re.findall(r'<row r="(\d+)"', sheet) == [str(i) for i in range(1, 52)]
    assert '<dimension ref="A1:B51"/>' in sheet


def test_header_is_an_excel_table_and_columns_fit_chinese_text():
    df = pl.DataFrame({"名称": ["东湖街道党工委第一党支部"], "code": ["abcdefghijklm"]})
    parts = _parts(sheet_writer.xlsx_bytes({"s": df}))
    table = parts["xl/tables/table1.xml"].decode()
    assert 'ref="A1:B2"' in table and '<autoFilter ref="A1:B2"/>' in table and 'name="名称"' in table
    widths = [float(w) for w in re.findall(r'width="([\d.]+)"', parts["xl/worksheets/sheet1.xml"].decode())]
    assert widths[0] > widths[1] >= 13  # 12 Chinese characters are wider than 13 letters


@pytest.mark.parametrize("names, expected", [
    (["a/b", "A/B"], ["a_b", "A_B(2)"]),
    (["一" * 40], ["一" * 31]),
])
def test_sheet_names_follow_excels_rules(names, expected):
    assert sheet_writer.sheet_names(names) == expected
    data = sheet_writer.xlsx_bytes({n: pl.DataFrame({"x": [1]}) for n in names})
    assert [s for s in pl.read_excel(data, sheet_id=0)] == expected
