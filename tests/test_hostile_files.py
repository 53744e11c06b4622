"""Hostile and lossy files (issue 12 §1): one safe reader for every door. Each test here fails
on the reader before this change (the dimension bomb even aborted the test process)."""

from __future__ import annotations

import pytest

from dangjian_core import fileio, registry, sheet_guard, tables
from dangjian_core.errors import BadInput
from tests.conftest import EDITOR, TREASURER
from tests.data import make_hostile_corpus as corpus

ORGS_EXPECTED = None


def _expected(spec):
    return [c.label for c in spec.columns] + spec.names


def _orgs():
    return tables.get_spec("orgs")


def _members():
    return tables.get_spec("members")


def _refused(match: str, **kw) -> str:
    with pytest.raises(BadInput) as exc:
        fileio.read_frame(**kw)
    text = str(exc.value)
    assert match in text, text
    assert kw.get("name", "") in text  # the file is named
    return text


# -- the dimension bomb and other things that used to take the process down ------------
def test_dimension_bomb_is_refused_before_parsing():
    data = corpus.dimension_bomb()
    assert len(data) < 2500  # the 1.8 KB file of the issue
    text = _refused("XFD", data=data, name="炸弹.xlsx")
    assert "A1:XFD1048576" in text and "16384" in text


def test_second_wall_survives_a_bomb_the_first_wall_lets_through(monkeypatch):
    """With the guard's limits switched off, the parser in the child runs out of memory and dies;
    this process gets a Chinese refusal and keeps working."""
    monkeypatch.setattr(sheet_guard, "MAX_COLS", 10 ** 9)
    monkeypatch.setattr(sheet_guard, "MAX_ROWS", 10 ** 9)
    monkeypatch.setattr(sheet_guard, "MAX_CELLS", 10 ** 18)
    _refused("内存", data=corpus.dimension_bomb(), name="炸弹.xlsx")
    ok = fileio.read_frame(data=corpus.xlsx_bytes([["名称", "党员人数"], ["甲", "5"]]), name="ok.xlsx")
    assert ok.df.rows() == [("甲", "5")]


def test_child_time_limit(monkeypatch):
    monkeypatch.setattr(fileio, "WORKER_TIMEOUT_SECONDS", 0.0)
    _refused("超时", data=corpus.xlsx_bytes([["名称", "党员人数"], ["甲", "5"]]), name="慢.xlsx")


def test_zip_bomb_part_is_refused():
    _refused("压缩炸弹", data=corpus.zip_bomb(), name="bomb.xlsx")


def test_huge_part_is_refused(monkeypatch):
    monkeypatch.setattr(sheet_guard, "MAX_PART_BYTES", 1 << 20)
    rows = [["名称", "党员人数"]] + [[f"支部{i}", "5"] for i in range(30000)]
    _refused("超过上限", data=corpus.xlsx_bytes(rows), name="大.xlsx")


# -- row limit and error cap -----------------------------------------------------------
def test_csv_beyond_the_row_limit_is_refused_at_once():
    text = "名称,层级,类别,街道/系统,党员人数\n" + "支部,党支部,农村,东湖街道,5\n" * (fileio.MAX_ROWS + 1)
    _refused("200000", data=text.encode(), name="多.csv")


def test_xlsx_beyond_the_row_limit_is_refused_by_the_guard():
    data = corpus.long_xlsx(fileio.MAX_ROWS + 50)
    _refused("200000", data=data, name="多.xlsx")


def test_errors_stop_after_fifty_and_name_the_first_rows(demo_db):
    text = "名称,层级,类别,街道/系统,党员人数\n" + "".join(f"支部{i},党支部,农村,东湖街道,十五\n" for i in range(5000))
    frame = fileio.read_frame(data=text.encode(), name="错.csv", expected=_expected(_orgs()))
    res = tables.import_frame(demo_db, EDITOR, _orgs(), frame)
    assert len(res.errors) == tables.MAX_ERRORS + 1
    assert "另有更多错误未列出" in res.errors[-1].message
    # parsed column by column, the first fifty rows are named, in order
    assert [e.row for e in res.errors[:-1]] == list(range(2, 2 + tables.MAX_ERRORS))
    assert {e.column for e in res.errors[:-1]} == {"党员人数"}


# -- text-coded columns -------------------------------------------------------------------
def test_numeric_id_number_cell_is_refused_with_set_to_text():
    rows = [["党员编号", "姓名", "所在党组织", "身份证号"],
            ["M1", "张三", "东湖街道党工委", 110101199001011234]]
    text = _refused("文本", data=corpus.xlsx_bytes(rows), name="党员.xlsx")
    assert "第 2 行" in text and "身份证号" in text


def test_numeric_member_no_loses_leading_zeros_and_is_refused():
    rows = [["党员编号", "姓名"], [7, "张三"]]
    text = _refused("文本", data=corpus.xlsx_bytes(rows), name="党员.xlsx")
    assert "党员编号" in text


def test_text_codes_keep_leading_zeros():
    rows = [["党员编号", "姓名", "手机号"], ["007", "张三", "013800138000"]]
    f = fileio.read_frame(data=corpus.xlsx_bytes(rows), name="党员.xlsx")
    assert f.df.row(0) == ("007", "张三", "013800138000")


@pytest.mark.parametrize("value,ok", [
    ("11010519491231002X", True), ("11010519491231002x", True),
    ("1101051949123100", False), ("11010519491231002", False),   # 16 and 17 digits
    ("110101199001011200", False),                               # rounded by Excel
    ("11010519491331002X", False),                               # month 13
    ("1.10101E+17", False),                                       # scientific notation from a csv
])
def test_id_number_format_and_check_digit(value, ok):
    v, err = tables.parse_value(_members().column("id_number"), value)
    assert (err is None) == ok, err
    if ok:
        assert v == "11010519491231002X"


def test_id_number_import_refuses_17_digits(demo_db):
    head = "党员编号,姓名,所在党组织,身份证号\n"
    frame = fileio.read_frame(data=(head + "X9,张三,东湖街道党工委,11010519491231002\n").encode(),
                              name="m.csv", expected=_expected(_members()))
    # the treasurer writes 身份证号 (an editor may not see the column, so may not import it)
    res = tables.import_frame(demo_db, TREASURER, _members(), frame, commit=True)
    assert not res.ok and "18 位" in res.errors[0].message and res.errors[0].row == 2


def test_number_in_a_code_column_of_a_typed_frame_is_refused():
    v, err = tables.parse_value(_members().column("member_no"), 7)
    assert v is None and "文本" in err


# -- shapes of files ----------------------------------------------------------------------
def test_ragged_csv_row_is_refused_naming_the_row():
    text = "名称,层级,类别,街道/系统,党员人数,纬度,经度\n甲,党支部,农村,东湖街道,5,30,114\n乙,党支部,农村,东湖街道,5,30,72,114,46\n"
    msg = _refused("第 3 行", data=text.encode(), name="r.csv")
    assert "比表头" in msg


def test_trailing_empty_cells_are_not_ragged():
    f = fileio.read_frame(data="名称,党员人数\n甲,5,,\n".encode(), name="t.csv")
    assert f.df.rows() == [("甲", "5")]


def test_same_field_twice_after_mapping_is_a_chinese_message(demo_db):
    frame = fileio.read_frame(data="名称,name,层级\n甲,乙,党支部\n".encode(), name="d.csv",
                              expected=_expected(_orgs()))
    res = tables.import_frame(demo_db, EDITOR, _orgs(), frame, commit=True)
    assert not res.ok and "同一字段" in str(res.errors[0])


def test_nul_byte_after_four_kilobytes_is_refused():
    good = "名称,层级,类别,街道/系统,党员人数\n" + "支部,党支部,农村,东湖街道,5\n" * 300
    data = good.encode() + b"\xe4\xb9\x99\x00,\xe5\x85\x9a\xe6\x94\xaf\xe9\x83\xa8,x,y,5\n"
    assert data.index(b"\x00") > 4096
    _refused("空字符", data=data, name="nul.csv")


def test_header_below_row_ten_is_named():
    text = "说明\n" * 11 + "名称,层级,类别,街道/系统,党员人数\n甲,党支部,农村,东湖街道,5\n"
    _refused("前 10 行中找不到表头", data=text.encode(), name="h.csv", expected=_expected(_orgs()))


def test_data_on_the_second_sheet_names_that_sheet():
    data = corpus.xlsx_sheets({"Sheet1": [], "党组织": [["名称", "党员人数"], ["甲", "5"]]})
    _refused("党组织", data=data, name="s.xlsx")


def test_utf16_is_told_to_save_as_utf8():
    data = "名称,党员人数\n甲,5\n".encode("utf-16")
    _refused("UTF-8", data=data, name="u.csv")
    _refused("UTF-8", data="名称,党员人数\n甲,5\n".encode("utf-16-le"), name="u.csv")


def test_a_bad_number_gives_exactly_one_error(demo_db):
    frame = fileio.read_frame(data="名称,层级,类别,街道/系统,党员人数\n新支部,党支部,农村,东湖街道,十五\n".encode(),
                              name="n.csv", expected=_expected(_orgs()))
    res = tables.import_frame(demo_db, EDITOR, _orgs(), frame)
    assert len(res.errors) == 1 and res.errors[0].column == "党员人数"


def test_huge_numbers_are_not_echoed_whole(demo_db):
    frame = fileio.read_frame(data=("名称,层级,类别,街道/系统,党员人数\n新支部,党支部,农村,东湖街道," + "9" * 300 + "\n").encode(),
                              name="n.csv", expected=_expected(_orgs()))
    res = tables.import_frame(demo_db, EDITOR, _orgs(), frame)
    assert not res.ok
    shown = str(res.errors[0])
    assert len(shown) < 120 and "300" in shown


def test_out_of_range_is_refused_never_clamped(demo_db):
    frame = fileio.read_frame(data="名称,层级,类别,街道/系统,党员人数,纬度\n新支部,党支部,农村,东湖街道,5,200\n".encode(),
                              name="lat.csv", expected=_expected(_orgs()))
    res = tables.import_frame(demo_db, EDITOR, _orgs(), frame, commit=True)
    assert not res.ok and "不能大于 90" in res.errors[0].message
    # the web editor must not clamp either: no grid column carries a maximum
    from ui.table_editor import column_config

    for name, spec in registry.specs().items():
        cfg = column_config(demo_db, spec, EDITOR)
        for c in spec.columns:
            if c.kind in ("int", "float", "decimal") and c.name in cfg:
                assert (cfg[c.name].get("type_config") or {}).get("max_value") is None, (name, c.name)
