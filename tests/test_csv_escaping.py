"""Every csv we write escapes formula-looking text the way the xlsx does (issue 12 §4),
while numbers — negative ones included, and money kept as text — stay exactly as the
cli.md contract says."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import polars as pl

from dangjian_core import fileio, tables
from tests.conftest import EDITOR

ROOT = Path(__file__).resolve().parents[1]
BAD = Path(__file__).parent / "data" / "bad"


def cli(*args: str):
    return subprocess.run([sys.executable, "-m", "dangjian_core", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def cli_rows(*args: str) -> list[list[str]]:
    """Run the CLI, which must succeed, and read the csv it wrote (its last argument)."""
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    return rows(Path(args[-1]))


def test_write_frame_csv_escapes_text_but_not_numbers(tmp_path):
    df = pl.DataFrame({"name": ["=1+1", "+1+2", "-3党支部", "@SUM(A1)", "\tx", "\rx", "甲", "-12.50", "+3", None],
                       "n": [-1, 2, -3, 4, 5, 6, 7, 8, 9, 10],
                       "x": [-1.5, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
    out = tmp_path / "o.csv"
    fileio.write_frame(df, out)
    got = rows(out)
    assert [r[0] for r in got[1:]] == ["'=1+1", "'+1+2", "'-3党支部", "'@SUM(A1)", "'\tx", "'\rx", "甲",
                                      "-12.50", "+3", ""]
    assert [r[1] for r in got[1:4]] == ["-1", "2", "-3"], "a negative number is not a formula"
    assert got[1][2] == "-1.5"
    # the xlsx path applies the same rule (numbers-as-text untouched there too)
    escaped = fileio.escape_formulas(pl.DataFrame({"t": ["-12.50", "-3党支部"]}))
    assert escaped["t"].to_list() == ["-12.50", "'-3党支部"]


def test_db_export_csv_escapes_and_imports_back_unchanged(demo_db, tmp_path):
    spec = tables.get_spec("orgs")
    assert tables.import_frame(demo_db, EDITOR, spec, fileio.read_frame(BAD / "21_formula_injection.csv"),
                               commit=True).ok
    path = demo_db.path
    demo_db.close()
    out = tmp_path / "orgs.csv"
    r = cli("db", "export", "orgs", str(out), "--db", str(path))
    assert r.returncode == 0, r.stderr
    names = [row[1] for row in rows(out)[1:]]
    assert "'=HYPERLINK(\"http://x\")" in names and "'+1+2党支部" in names and "'@SUM党支部" in names
    assert "'-3党支部" in names
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)
    # our own import takes the apostrophe off again: nothing changes
    r = cli("db", "import", "orgs", str(out), "--db", str(path))
    assert r.returncode == 0, r.stderr
    assert "修改 0 行" in r.stdout


def test_observe_plan_csv_escapes_street_names(tmp_path):
    orgs = tmp_path / "orgs.csv"
    with orgs.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["org_id", "name", "street", "tier", "is_site"])
        w.writerows([["A1", "甲", "=cmd|' /C calc'!A0", "先进", "true"], ["A2", "乙", "=cmd|' /C calc'!A0", "后进", "false"],
                     ["B1", "丙", "@东湖", "先进", "true"], ["B2", "丁", "@东湖", "后进", "false"]])
    got = cli_rows("observe", "plan", "--orgs", str(orgs), "--mode", "cross", "--days", "1", "--slots-per-day", "1",
                   str(tmp_path / "plan.csv"))
    assert got[0] == ["day", "slot", "delegation", "host_org_id", "host_street"]
    cells = [c for row in got[1:] for c in row]
    assert "'=cmd|' /C calc'!A0" in cells and "'@东湖" in cells
    assert not any(c.startswith(("=", "@")) for c in cells)


def test_dues_calc_and_arrears_csv_escape_ids_keep_money(tmp_path):
    inp = tmp_path / "in.csv"
    inp.write_text("member_id,category,base_income\n=1+2,employed,5009.00\n-7,retired,3000\n", encoding="utf-8")
    got = cli_rows("dues", "calc", str(inp), str(tmp_path / "out.csv"))
    assert got[0] == ["member_id", "dues", "rate", "rule"]
    assert got[1][:3] == ["'=1+2", "75.14", "0.015"]
    assert got[2][0] == "-7", "an id that is a plain number is left alone"
    arr = tmp_path / "arr.csv"
    arr.write_text("member_id,month,category,base_income,paid\n@x,2026-01,employed,5009.00,0\n", encoding="utf-8")
    got = cli_rows("dues", "arrears", str(arr), str(tmp_path / "arr_out.csv"))
    assert got[1][0] == "'@x" and got[1][2] == "75.14" and got[1][4] == "75.14"


def test_reports_pick_csv_escapes_names(tmp_path):
    units = tmp_path / "u.csv"
    units.write_text("unit_id,name,progress\nU1,=HYPERLINK(\"x\"),10\nU2,+第二,20\n", encoding="utf-8")
    hist = tmp_path / "h.csv"
    hist.write_text("unit_id,date\n", encoding="utf-8")
    got = cli_rows("reports", "pick", "--units", str(units), "--history", str(hist), "--date", "2026-11-01",
                   "--capacity", "2", str(tmp_path / "pick.csv"))
    assert got[0] == ["unit_id", "name", "progress", "rank", "reason"]
    assert [g[1] for g in got[1:]] == ["'=HYPERLINK(\"x\")", "'+第二"]
    assert [g[2] for g in got[1:]] == ["10", "20"] or [g[2] for g in got[1:]] == ["10.0", "20.0"]


def test_streamlit_unescaped_table_csv_download_is_off():
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["client"]["disableDataExport"] is True
