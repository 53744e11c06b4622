"""Every file in tests/data/bad/ is refused with a Chinese message naming the problem (row and
column where there is one) and the database is unchanged — or accepted where the format is
valid. Exports escape formula-looking cells."""

import json
from pathlib import Path

import pytest

from dangjian_core import fileio, tables
from dangjian_core.errors import BadInput
from tests.conftest import EDITOR

BAD = Path(__file__).parent / "data" / "bad"
MANIFEST = json.loads((BAD / "manifest.json").read_text(encoding="utf-8"))


def _snapshot(db):
    return {t: tables.export_frame(db, EDITOR, tables.get_spec(t)) for t in ("orgs", "members")}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus_file(demo_db, name):
    case = MANIFEST[name]
    spec = tables.get_spec(case["table"])
    before = _snapshot(demo_db)
    message = None
    try:
        frame = fileio.read_frame(BAD / name, expected=[c.label for c in spec.columns] + spec.names)
        res = tables.import_frame(demo_db, EDITOR, spec, frame, commit=True)
        if not res.ok:
            message = "\n".join(str(e) for e in res.errors)
            rows_named = [e for e in res.errors if e.row is not None or e.column]
            assert rows_named, f"{name}: errors should name a row or a column: {message}"
    except BadInput as exc:
        message = str(exc)
    after = _snapshot(demo_db)
    if case["expect"] == "refused":
        assert message is not None, f"{name} should be refused"
        assert case["contains"] in message, f"{name}: {message}"
        assert any("\u4e00" <= ch <= "\u9fff" for ch in message), "message is in Chinese"
        for t in before:
            assert after[t].equals(before[t]), f"{name} changed {t}"
    else:
        assert message is None, f"{name} should be accepted: {message}"
        assert after["orgs"].height > before["orgs"].height


def test_corpus_is_large_enough():
    assert len(MANIFEST) >= 30


def test_fifty_megabyte_upload_is_refused_before_parsing(tmp_path):
    big = tmp_path / "big.csv"
    line = "新建测试党支部,党支部,农村,东湖街道,5\n".encode()
    with big.open("wb") as f:
        f.write("名称,层级,类别,街道/系统,党员人数\n".encode())
        f.write(line * (50 * 1024 * 1024 // len(line) + 1))
    size = big.stat().st_size
    assert size >= 50 * 1024 * 1024
    with pytest.raises(BadInput, match="文件太大"):
        fileio.check_upload_size(size, big.name)


def test_exported_formula_looking_cells_are_escaped(demo_db, tmp_path):
    spec = tables.get_spec("orgs")
    frame = fileio.read_frame(BAD / "21_formula_injection.csv")
    assert tables.import_frame(demo_db, EDITOR, spec, frame, commit=True).ok
    out = tmp_path / "export.xlsx"
    fileio.write_frame(tables.export_frame(demo_db, EDITOR, spec), out)
    import zipfile

    with zipfile.ZipFile(out) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in z.namelist() else ""
    assert "<f>" not in sheet, "no cell of ours is a formula"
    text = sheet + strings  # inline strings or shared strings: the apostrophe is in the text
    assert "'=HYPERLINK" in text and "'+1+2" in text and "'@SUM" in text
    # and importing our own export gives the original text back (no apostrophes added)
    back = tables.import_frame(demo_db, EDITOR, spec, fileio.read_frame(out), commit=True)
    assert back.ok and back.updates == 0
