"""Generates the hostile-file corpus (issue 12 §1): files built to crash, exhaust or fool the
readers, produced by rules rather than picked by hand, for every import path.

`python tests/data/make_hostile_corpus.py OUTDIR` writes them to a folder; the test
(tests/test_hostile_corpus.py) calls `generate()` into a temporary folder at test time, so no
binary files are committed. Every case is a `Case(name, target, data, expect)`: `target` says
which door it goes through (a table code for `tables.import_frame`, or a CLI / workflow
uploader), `expect` is "refused" or "accepted". The rules:

- format attacks on every target: the dimension bomb, a zip bomb, truncated and shredded
  zips, PNG/PDF/random bytes renamed, UTF-16 (with and without BOM), NUL bytes (start, after
  4 KB, inside a cell), a header below row 10, data only on the second sheet, ragged rows,
  unbalanced quotes, a 200,000-character cell, semicolon/tab delimiters, formulas without
  values, more rows than the limit (csv and xlsx);
- cell attacks on every column of every registered table (from its TableSpec): words in
  number columns, 300-digit numbers, NaN/Infinity, each side of every range, impossible
  dates, unknown choices and references, over-long text, number cells in code columns,
  the same field twice in the header (label and code name);
- lossy identity values: 17-digit and rounded 身份证号, 党员编号 007 typed as a number.
"""

from __future__ import annotations

import io
import random
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

# -- a tiny xlsx writer: raw parts, so a test can put any cell anywhere ---------------------
_CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/'
       'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
       'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
       'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '{sheets}</Types>')
_CT_SHEET = ('<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-'
             'officedocument.spreadsheetml.worksheet+xml"/>')
_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
         'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
         'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
         '</Relationships>')
_WB = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.'
       'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
       'relationships"><sheets>{sheets}</sheets></workbook>')
_WBRELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
           'openxmlformats.org/package/2006/relationships">{rels}</Relationships>')
_WBREL = ('<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
          'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>')
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.'
               'openxmlformats.org/spreadsheetml/2006/main">')


def _col(n: int) -> str:
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _cell(ref: str, v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return f'<c r="{ref}" t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)):
        return f'<c r="{ref}"><v>{float(v) if isinstance(v, int) and abs(v) > 2 ** 53 else v}</v></c>'
    if isinstance(v, tuple) and v[0] == "formula":  # ("formula", "A1+1") — no saved value
        return f'<c r="{ref}"><f>{escape(v[1])}</f></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(v))}</t></is></c>'


def sheet_xml(rows, *, dimension: str | None = None, start_row: int = 1) -> bytes:
    out = [_SHEET_HEAD]
    if dimension:
        out.append(f'<dimension ref="{dimension}"/>')
    out.append("<sheetData>")
    for i, row in enumerate(rows, start=start_row):
        cells = "".join(_cell(f"{_col(j)}{i}", v) for j, v in enumerate(row, start=1))
        if cells:
            out.append(f'<row r="{i}">{cells}</row>')
    out.append("</sheetData></worksheet>")
    return "".join(out).encode()


def xlsx_parts(sheets: dict[str, bytes], *, extra_workbook: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        n = len(sheets)
        z.writestr("[Content_Types].xml", _CT.format(sheets="".join(_CT_SHEET.format(i=i) for i in range(1, n + 1))))
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WB.format(sheets="".join(
            f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, 1)))
            .replace("</workbook>", extra_workbook + "</workbook>"))
        z.writestr("xl/_rels/workbook.xml.rels", _WBRELS.format(rels="".join(_WBREL.format(i=i) for i in range(1, n + 1))))
        for i, xml in enumerate(sheets.values(), 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", xml)
    return buf.getvalue()


def xlsx_bytes(rows, **kw) -> bytes:
    """One sheet; str cells are text, int/float cells are numbers (as Excel stores them)."""
    return xlsx_parts({"Sheet1": sheet_xml(rows, **kw)})


def xlsx_sheets(sheets: dict[str, list]) -> bytes:
    return xlsx_parts({name: sheet_xml(rows) for name, rows in sheets.items()})


def dimension_bomb() -> bytes:
    """The issue's file: declared A1:XFD1048576, one cell written at XFD1048576 (~1.6 KB)."""
    xml = (_SHEET_HEAD + '<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr">'
           '<is><t>名称</t></is></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
           '</sheetData></worksheet>').encode()
    return xlsx_parts({"Sheet1": xml})


_BOMBS: dict[int, bytes] = {}


def zip_bomb(mb: int = 40) -> bytes:
    """A worksheet that unzips ~1000 times larger than it is."""
    if mb in _BOMBS:
        return _BOMBS[mb]
    filler = b"<!--" + b" " * (mb << 20) + b"-->"
    xml = sheet_xml([["名称", "党员人数"], ["甲", "5"]]).replace(b"<sheetData>", filler + b"<sheetData>")
    _BOMBS[mb] = xlsx_parts({"Sheet1": xml})
    return _BOMBS[mb]


def long_xlsx(n: int, header=("名称", "层级", "类别", "街道/系统", "党员人数")) -> bytes:
    parts = [_SHEET_HEAD, "<sheetData>", '<row r="1">',
             "".join(_cell(f"{_col(j)}1", h) for j, h in enumerate(header, 1)), "</row>"]
    for i in range(2, n + 2):
        parts.append(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>支部{i}</t></is></c><c r="E{i}"><v>5</v></c></row>')
    parts.append("</sheetData></worksheet>")
    return xlsx_parts({"Sheet1": "".join(parts).encode()})


def csv_bytes(rows, *, sep: str = ",", encoding: str = "utf-8") -> bytes:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue().encode(encoding)


# -- the corpus ----------------------------------------------------------------------------
@dataclass
class Case:
    name: str            # file name (extension decides the reader)
    target: str          # "table:<code>", "cli:dues-calc", "cli:dues-arrears", "cli:reports-pick",
                         # "cli:observe-plan", "cli:db-import:<code>", "dues:payments", "dues:bases",
                         # "reports:values"
    data: bytes
    expect: str          # "refused" | "accepted"
    why: str = ""


def _format_attacks(prefix: str, target: str, header: list[str], good_row: list) -> list[Case]:
    """File-level attacks on one target, built around one good row of that target."""
    rng = random.Random(hash(prefix) & 0xFFFF)
    good_csv = csv_bytes([header, good_row])
    good_xlsx = xlsx_bytes([header, good_row])
    out = [
        Case(f"{prefix}_dimension_bomb.xlsx", target, dimension_bomb(), "refused", "dimension bomb"),
        Case(f"{prefix}_zip_bomb.xlsx", target, zip_bomb(4), "refused", "zip bomb"),
        Case(f"{prefix}_truncated.xlsx", target, good_xlsx[: len(good_xlsx) * 2 // 3], "refused", "truncated zip"),
        Case(f"{prefix}_shredded.xlsx", target, bytes(rng.randrange(256) for _ in range(3000)), "refused", "random bytes"),
        Case(f"{prefix}_png.xlsx", target, b"\x89PNG\r\n\x1a\n" + bytes(200), "refused", "png renamed"),
        Case(f"{prefix}_pdf.csv", target, b"%PDF-1.4\n" + bytes(range(256)), "refused", "pdf renamed"),
        Case(f"{prefix}_utf16_bom.csv", target, good_csv.decode().encode("utf-16"), "refused", "utf-16"),
        Case(f"{prefix}_utf16_nobom.csv", target, good_csv.decode().encode("utf-16-le"), "refused", "utf-16 le"),
        Case(f"{prefix}_nul_start.csv", target, b"\x00" + good_csv, "refused", "nul at start"),
        Case(f"{prefix}_nul_late.csv", target,
             csv_bytes([header] + [good_row] * (4200 // max(len(good_csv), 1) + 2)) + b"x\x00y\n",
             "refused", "nul after 4 KB"),
        Case(f"{prefix}_header_row12.csv", target, csv_bytes([["说明"]] * 11 + [header, good_row]), "refused",
             "header below row 10"),
        Case(f"{prefix}_second_sheet.xlsx", target, xlsx_sheets({"Sheet1": [], "数据": [header, good_row]}),
             "refused", "data on second sheet"),
        Case(f"{prefix}_ragged.csv", target,
             csv_bytes([header, good_row]) + (",".join(str(v) for v in good_row) + ",30,72,114,46\n").encode(),
             "refused", "ragged row"),
        Case(f"{prefix}_ragged.xlsx", target, xlsx_bytes([header, good_row, list(good_row) + ["多出的值"]]),
             "refused", "cell right of the header"),
        Case(f"{prefix}_quote.csv", target, csv_bytes([header]) + ('"' + "未闭合" + "," * 3 + "\n") .encode() * 2 +
             b"x" * 140000, "refused", "unbalanced quote / huge field"),
        Case(f"{prefix}_semicolon.csv", target, csv_bytes([header, good_row], sep=";"), "refused", "semicolons"),
        Case(f"{prefix}_formula.xlsx", target, xlsx_bytes([header, [("formula", "1+1")] + list(good_row[1:])]),
             "refused", "formula without value"),
        Case(f"{prefix}_too_many_rows.csv", target, csv_bytes([header]) + (",".join(str(v) for v in good_row) + "\n")
             .encode() * 200_005, "refused", "row limit"),
    ]
    return out


def _bad_values(col) -> list[tuple[str, object]]:
    """Values every column of this kind must refuse (label, value)."""
    out: list[tuple[str, object]] = []
    if col.kind in ("int", "decimal", "float"):
        out += [("word", "十五"), ("huge", "9" * 300), ("nan", "NaN"), ("inf", "Infinity")]
        if col.min is not None:
            out.append(("below", str(col.min - 1)))
        if col.max is not None:
            out.append(("above", str(col.max * 2 + 1)))
    elif col.kind == "date":
        out += [("date13", "2024-13-40"), ("dateword", "昨天")]
    elif col.kind == "choice":
        out.append(("choice", "不存在的选项"))
    elif col.kind == "ref":
        out.append(("ref", "不存在的记录名"))
    elif col.kind == "bool":
        out.append(("bool", "也许"))
    elif col.kind == "text" and col.max_len:
        out.append(("long", "长" * (col.max_len + 1)))
    if col.format == "id_number":
        out += [("id17", "11010519491231002"), ("idround", "110105194912310000")]
    return out


def _table_cases(db, user) -> list[Case]:
    """Per registered table: format attacks and a bad value in every column, built from a
    good row of its own export."""
    from dangjian_core import registry, tables

    tables.get_spec("orgs")  # registers every table
    cases: list[Case] = []
    for code, spec in sorted(registry.specs().items()):
        export = tables.export_frame(db, user, spec)
        if export.height == 0:
            continue
        header = [c for c in export.columns if c != "编号"]
        row = export.drop("编号").row(0)
        good = ["" if v is None else (v if isinstance(v, str) else str(v)) for v in row]
        full = code in ("orgs", "members")
        attacks = _format_attacks(code, f"table:{code}", header, good)
        attacks = [c for c in attacks if c.why != "row limit"]  # one csv at the limit is enough (dues calc)
        if not full:
            attacks = [c for c in attacks if c.why in ("dimension bomb", "ragged row", "utf-16", "nul after 4 KB")]
        cases += attacks
        # a bad value in each column, on an update of the exported first row (编号 kept)
        key = export["编号"][0]
        for j, name in enumerate(header):
            col = next((c for c in spec.columns if c.label == name), None)
            if col is None or not col.editable:
                continue
            for label, bad in _bad_values(col)[: 3 if full else 1]:
                r = list(good)
                r[j] = bad
                cases.append(Case(f"{code}_{col.name}_{label}.csv", f"table:{code}",
                                  csv_bytes([["编号"] + header, [key] + r]), "refused", f"bad {col.kind}"))
            if col.code:
                r = [v for v in good]
                r[j] = 7
                cases.append(Case(f"{code}_{col.name}_number_cell.xlsx", f"table:{code}",
                                  xlsx_bytes([["编号"] + header, [key] + r]), "refused", "number in code column"))
            alias = col.name
            if alias not in header and j < (3 if full else 1):
                cases.append(Case(f"{code}_{col.name}_twice.csv", f"table:{code}",
                                  csv_bytes([header + [alias], good + [good[j]]]), "refused", "same field twice"))
        # the untouched export itself: accepted, changes nothing
        cases.append(Case(f"{code}_own_export.csv", f"table:{code}",
                          csv_bytes([export.columns] + [["" if v is None else str(v) for v in r] for r in export.rows()]),
                          "accepted", "own export"))
    return cases


def _member_identity_cases(db, user) -> list[Case]:
    from dangjian_core import tables

    spec = tables.get_spec("members")
    org = tables.export_frame(db, user, tables.get_spec("orgs"))["名称"][0]
    head = ["党员编号", "姓名", "所在党组织", "身份证号", "手机号"]
    return [
        Case("members_id_as_number.xlsx", "table:members",
             xlsx_bytes([head, ["N900001", "甲", org, 110105194912310020, "13800138000"]]), "refused", "rounded id"),
        Case("members_no_as_number.xlsx", "table:members",
             xlsx_bytes([head, [7, "乙", org, "11010519491231002X", "13800138000"]]), "refused", "007 → 7"),
        Case("members_phone_as_number.xlsx", "table:members",
             xlsx_bytes([head, ["N900003", "丙", org, "11010519491231002X", 13800138000]]), "refused", "phone number cell"),
        Case("members_leading_zeros.xlsx", "table:members",
             xlsx_bytes([head, ["007", "丁", org, "11010519491231002x", "013800138000"]]), "accepted", "text codes"),
    ] if spec else []


def _cli_cases() -> list[Case]:
    calc = ["member_id", "category", "base_income"]
    arrears = ["member_id", "month", "category", "base_income", "paid"]
    units = ["unit_id", "name", "progress"]
    orgs = ["org_id", "name", "street", "tier", "is_site", "lat", "lon"]
    cases = []
    cases += _format_attacks("dues_calc", "cli:dues-calc", calc, ["m1", "employed", "5009.00"])
    cases += [c for c in _format_attacks("dues_arrears", "cli:dues-arrears", arrears,
                                         ["m1", "2024-01", "employed", "5000", "0"]) if c.why != "row limit"]
    cases += [c for c in _format_attacks("reports_pick", "cli:reports-pick", units, ["U1", "甲", "50"])
              if c.why != "row limit"]
    cases += [c for c in _format_attacks("observe_plan", "cli:observe-plan", orgs,
                                         ["A1", "甲", "东湖街道", "advanced", "true", "30.5", "114.3"])
              if c.why != "row limit"]
    cases += [
        Case("dues_calc_id_number_cell.xlsx", "cli:dues-calc", xlsx_bytes([calc, [7, "employed", "5000"]]),
             "refused", "member_id as number"),
        Case("dues_calc_huge.csv", "cli:dues-calc", csv_bytes([calc, ["m1", "employed", "9" * 300]]), "refused", "huge"),
        Case("observe_lat200.csv", "cli:observe-plan",
             csv_bytes([orgs, ["A1", "甲", "东湖街道", "advanced", "true", "200", "114.3"],
                        ["A2", "乙", "东湖街道", "lagging", "false", "30.5", "114.3"]]), "refused", "latitude 200"),
    ]
    return cases


def _workflow_cases() -> list[Case]:
    pay = ["党员编号", "姓名", "月份", "实缴金额"]
    bases = ["党员编号", "姓名", "计算基数"]
    values = ["单位", "指标", "月份", "数值"]
    cases = []
    for prefix, target, header, row in (("payments", "dues:payments", pay, ["M000001", "张三", "2026-10", "10.00"]),
                                        ("bases", "dues:bases", bases, ["M000001", "张三", "5000.00"]),
                                        ("values", "reports:values", values, ["第1支部", "10件实事进度", "2026-10", "50"])):
        cases += [c for c in _format_attacks(prefix, target, header, row) if c.why != "row limit"]
    cases.append(Case("payments_no_as_number.xlsx", "dues:payments", xlsx_bytes([pay, [7, "张三", "2026-10", "10"]]),
                      "refused", "党员编号 as number"))
    obs = ["观摩团", "观摩点编号", "观摩点", "评分项目", "满分", "得分"]
    votes = ["单位", "参评人数", "好", "较好", "一般", "差", "评议意见"]
    site = ["细则编号", "序号", "类型", "考评项目", "满分", "自评分", "考评得分", "否决", "备注"]
    for prefix, target, header, row in (
            ("obs_scores", "observe:scores", obs, ["东湖街道", "1", "东湖街道党工委", "组织建设", "10", "8"]),
            ("votes", "reports:votes", votes, ["第1支部", "20", "10", "5", "3", "2", ""]),
            ("site_sheet", "sites:score-sheet", site, ["1", "1", "基础项", "阵地建设", "10", "8", "8", "", ""])):
        cases += [c for c in _format_attacks(prefix, target, header, row) if c.why != "row limit"]
    cases += [
        Case("obs_scores_huge_host.csv", "observe:scores",
             csv_bytes([obs, ["东湖街道", "1e999", "不存在的点", "组织建设", "10", "8"]]), "refused", "1e999 host id"),
        Case("obs_scores_200.csv", "observe:scores",
             csv_bytes([obs, ["东湖街道", "1", "东湖街道党工委", "组织建设", "10", "200"]]), "refused", "score 200"),
        Case("votes_huge.csv", "reports:votes", csv_bytes([votes, ["第1支部", "9" * 300, "1", "1", "1", "1", ""]]),
             "refused", "300 digits"),
    ]
    return cases


def generate(db=None, user=None) -> list[Case]:
    """Every case; table cases need a demo database (their good rows come from its export)."""
    cases = _cli_cases() + _workflow_cases()
    if db is not None:
        cases += _table_cases(db, user) + _member_identity_cases(db, user)
    seen = set()
    for c in cases:
        assert c.name not in seen, c.name
        seen.add(c.name)
    return cases


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "hostile")
    out.mkdir(parents=True, exist_ok=True)
    db = user = None
    if len(argv) > 2:
        from dangjian_core.auth import User
        from dangjian_core.db import Database

        db, user = Database(argv[2]), User("admin", "管理员", frozenset({"admin"}))
    cases = generate(db, user)
    for c in cases:
        (out / c.name).write_bytes(c.data)
    print(f"{len(cases)} files in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
