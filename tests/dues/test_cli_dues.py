"""`python -m dangjian_core dues calc|arrears` as real subprocesses (cli.md): exit codes, output
columns, row order, Chinese messages naming row and column, nothing written on error, csv
(UTF-8 / GBK), xlsx and parquet inputs and outputs."""

from __future__ import annotations

import csv
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent.parent / "data" / "dues"
VECTORS = list(csv.DictReader((DATA / "public_vectors.csv").open(encoding="utf-8")))
OUT_COLUMNS = ["member_id", "dues", "rate", "rule"]


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dangjian_core", "dues", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def write_csv(path: Path, header: list[str], rows: list[list], encoding="utf-8") -> Path:
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def read_csv_text(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("cap", ["1000", "none"])
def test_public_vectors_through_the_cli(tmp_path, cap):
    rows = [r for r in VECTORS if r["cap"] == cap]
    src = write_csv(tmp_path / "in.csv", ["member_id", "category", "base_income", "fixed_amount"],
                    [[f"m{i:02d}", r["category"], r["base_income"], r["fixed_amount"]] for i, r in enumerate(rows)])
    out = tmp_path / "out.csv"
    args = ["calc", src, out] + (["--cap", "none"] if cap == "none" else [])
    p = run(*args)
    assert p.returncode == 0, p.stderr
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(OUT_COLUMNS)
    got = read_csv_text(out)
    assert [g["member_id"] for g in got] == [f"m{i:02d}" for i in range(len(rows))]  # row order kept
    assert [g["dues"] for g in got] == [r["dues"] for r in rows]
    prefix = {"employed": "bracket_", "annual_salary": "bracket_", "retired": "retired_",
              "farmer": "fixed_farmer", "exempt": "exempt"}
    for g, r in zip(got, rows):
        assert g["rule"].startswith(prefix.get(r["category"], "fixed_0.20"))
        if r["category"] in ("employed", "annual_salary", "retired"):
            assert g["rate"] in ("0.005", "0.01", "0.015", "0.02")
            exact = Decimal(r["base_income"]) * Decimal(g["rate"])
            assert Decimal(g["dues"]) == exact.quantize(Decimal("0.01"))
        else:
            assert g["rate"] == ""


def test_settings_flags_and_rate_column(tmp_path):
    src = write_csv(tmp_path / "in.csv", ["member_id", "category", "base_income"],
                    [["b", "employed", "5009.00"], ["a", "student", ""], ["c", "employed", "60000"]])
    out = tmp_path / "out.csv"
    p = run("calc", src, out, "--precision", "jiao", "--rounding", "down")
    assert p.returncode == 0, p.stderr
    assert out.read_text(encoding="utf-8").splitlines() == [
        "member_id,dues,rate,rule",
        "b,75.10,0.015,bracket_1.5",
        "a,0.20,,fixed_0.20",
        "c,1000.00,0.02,bracket_2_capped",
    ]
    p = run("calc", src, out, "--precision", "li")
    assert p.returncode == 2 and "参数错误" in p.stderr


def test_bad_input_exit_2_names_row_and_column_and_writes_nothing(tmp_path):
    src = write_csv(tmp_path / "bad.csv", ["member_id", "category", "base_income", "fixed_amount"], [
        ["a", "employed", "5100", None],
        ["a", "student", None, None],          # row 3: duplicate member_id
        ["c", "boss", "5100", None],           # row 4: unknown category
        ["d", "employed", "-5", None],         # row 5: negative income
        ["e", "farmer", None, "1.20"],         # row 6: farmer amount outside 0.20–1.00
        ["f", "employed", "五千", None],        # row 7: not a number
        ["g", "retired", None, None],          # row 8: missing base
    ])
    out = tmp_path / "out.csv"
    p = run("calc", src, out)
    assert p.returncode == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]  # no temporary file left either
    err = p.stderr
    assert "bad.csv" in err
    for expected in ["第 3 行 列「member_id」（值「a」）", "第 4 行 列「category」（值「boss」）",
                     "第 5 行 列「base_income」（值「-5」）", "第 6 行 列「fixed_amount」（值「1.20」）",
                     "第 7 行 列「base_income」（值「五千」）", "第 8 行 列「base_income」"]:
        assert expected in err, err
    assert "重复" in err and "无法识别" in err and "负数" in err and "0.20–1.00" in err


REJECTIONS = {
    "duplicate": (["m1", "student", "", ""], "member_id"),
    "unknown_category": (["m2", "cadre", "5000", ""], "category"),
    "negative_income": (["m2", "employed", "-0.01", ""], "base_income"),
    "farmer_1.20": (["m2", "farmer", "", "1.20"], "fixed_amount"),
}


def test_each_rejection_alone(tmp_path):
    """One bad row at a time (run side by side to keep the suite fast)."""
    procs = {}
    for case, (row, _) in REJECTIONS.items():
        src = write_csv(tmp_path / f"{case}.csv", ["member_id", "category", "base_income", "fixed_amount"],
                        [["m1", "employed", "5100", ""], row])
        out = tmp_path / f"{case}.parquet"
        procs[case] = (out, subprocess.Popen(
            [sys.executable, "-m", "dangjian_core", "dues", "calc", str(src), str(out)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for case, (out, proc) in procs.items():
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 2, case
        assert f"第 3 行 列「{REJECTIONS[case][1]}」" in stderr, (case, stderr)
        assert not out.exists()


def test_gbk_csv_with_title_row(tmp_path):
    src = write_csv(tmp_path / "gbk.csv", ["member_id", "category", "base_income", "fixed_amount"],
                    [["张三", "在职", "5100", ""], ["李四", "农民", "", "0.50"], ["王五", "离退休", "6000", ""]],
                    encoding="gbk")
    src.write_bytes("二〇二四年三月党费\n".encode("gbk") + src.read_bytes())
    out = tmp_path / "out.csv"
    p = run("calc", src, out)
    assert p.returncode == 0, p.stderr
    got = read_csv_text(out)
    assert [(g["member_id"], g["dues"], g["rule"]) for g in got] == [
        ("张三", "76.50", "bracket_1.5"), ("李四", "0.50", "fixed_farmer"), ("王五", "60.00", "retired_1")]
    # an error in a file with a title row names the row the user sees (header on row 2)
    bad = write_csv(tmp_path / "gbk_bad.csv", ["member_id", "category", "base_income"],
                    [["张三", "在职", "abc"]], encoding="gbk")
    bad.write_bytes("标题\n".encode("gbk") + bad.read_bytes())
    p = run("calc", bad, tmp_path / "o2.csv")
    assert p.returncode == 2 and "第 3 行 列「base_income」" in p.stderr


def test_xlsx_input_with_number_cells_and_xlsx_output(tmp_path):
    import xlsxwriter

    src = tmp_path / "in.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("党费")
    ws.write_row(0, 0, ["member_id", "category", "base_income", "fixed_amount"])
    ws.write_row(1, 0, ["x1", "employed"]); ws.write_number(1, 2, 5009.0)
    ws.write_row(2, 0, ["x2", "employed"]); ws.write_number(2, 2, 5009.01)
    ws.write_row(3, 0, ["x3", "farmer"]); ws.write_number(3, 3, 0.3)
    ws.write_row(4, 0, ["x4", "retired", "5000.00"])
    wb.close()
    out = tmp_path / "out.xlsx"
    p = run("calc", src, out)
    assert p.returncode == 0, p.stderr
    from dangjian_core.fileio import read_frame

    df = read_frame(out).df
    assert df.columns == OUT_COLUMNS
    assert df["dues"].to_list() == ["75.14", "75.14", "0.30", "25.00"]


def test_parquet_input_native_types_and_parquet_output(tmp_path):
    src = tmp_path / "in.parquet"
    pl.DataFrame({
        "member_id": [101, 102, 103, 104],
        "category": ["employed", "employed", "retired", "reduced"],
        "base_income": pl.Series([5009.01, 3000.0, 5000.0, None], dtype=pl.Float64),
        "fixed_amount": pl.Series([None, None, None, Decimal("3.50")], dtype=pl.Decimal(10, 2)),
        "note": ["extra", "columns", "are", "ignored"],
    }).write_parquet(src)
    out = tmp_path / "out.parquet"
    p = run("calc", src, out)
    assert p.returncode == 0, p.stderr
    df = pl.read_parquet(out)
    assert df.columns == OUT_COLUMNS
    assert df.rows() == [("101", "75.14", "0.015", "bracket_1.5"), ("102", "15.00", "0.005", "bracket_0.5"),
                         ("103", "25.00", "0.005", "retired_0.5"), ("104", "3.50", None, "reduced")]
    # a float with binary noise is not silently rounded
    pl.DataFrame({"member_id": ["a"], "category": ["employed"], "base_income": [0.1 + 0.2]}).write_parquet(src)
    p = run("calc", src, out)
    assert p.returncode == 2 and "两位小数" in p.stderr


def test_missing_file_missing_column_bad_output_extension(tmp_path):
    p = run("calc", tmp_path / "nope.csv", tmp_path / "o.csv")
    assert p.returncode == 2 and "不存在" in p.stderr
    src = write_csv(tmp_path / "in.csv", ["member_id", "category"], [["a", "student"]])
    p = run("calc", src, tmp_path / "o.csv")
    assert p.returncode == 2 and "base_income" in p.stderr and not (tmp_path / "o.csv").exists()
    src = write_csv(tmp_path / "in2.csv", ["member_id", "category", "base_income"], [["a", "student", ""]])
    p = run("calc", src, tmp_path / "o.json")
    assert p.returncode == 2 and not (tmp_path / "o.json").exists()


def test_arrears_cli(tmp_path):
    rows = [["a", f"2024-{m:02d}", "employed", "5100", "0"] for m in range(1, 7)]
    rows += [["b", "2024-01", "employed", "5100", "200"], ["b", "2024-02", "employed", "5100", "0"],
             ["b", "2024-04", "student", "", "0"]]
    src = write_csv(tmp_path / "arr.csv", ["member_id", "month", "category", "base_income", "paid"], rows)
    out = tmp_path / "arr_out.csv"
    p = run("arrears", src, out)
    assert p.returncode == 0, p.stderr
    assert out.read_text(encoding="utf-8").splitlines() == [
        "member_id,months,due_total,paid_total,arrears,max_consecutive_unpaid,flag_six_months",
        "a,6,459.00,0.00,459.00,6,true",
        "b,3,153.20,200.00,76.70,1,false",
    ]
    pq = tmp_path / "arr_out.parquet"
    assert run("arrears", src, pq).returncode == 0
    df = pl.read_parquet(pq)
    assert df.schema["flag_six_months"] == pl.Boolean and df["arrears"].to_list() == ["459.00", "76.70"]


def test_arrears_cli_rejects_bad_rows(tmp_path):
    src = write_csv(tmp_path / "arr.csv", ["member_id", "month", "category", "base_income", "paid"], [
        ["a", "2024-01", "employed", "5100", "0"],
        ["a", "2024-01", "employed", "5100", "0"],   # row 3 duplicate month
        ["b", "2024-13", "employed", "5100", "0"],   # row 4 bad month
        ["c", "2024-02", "employed", "5100", "-3"],  # row 5 negative paid
    ])
    out = tmp_path / "o.csv"
    p = run("arrears", src, out)
    assert p.returncode == 2 and not out.exists()
    assert "第 3 行 列「month」" in p.stderr and "第 2 行" in p.stderr
    assert "第 4 行 列「month」（值「2024-13」）" in p.stderr
    assert "第 5 行 列「paid」（值「-3」）" in p.stderr


def test_arrears_cli_each_month_by_its_rule_2016_to_2018(tmp_path):
    """Issue 16 §2: months spanning 2016–2018, each by the rule in force then. 2016-05 employed
    base 60000 → 1200.00 (2008 rules, no ceiling); from 2017-01 → 1000.00 (the 2017 notice)."""
    rows = [["a", "2016-05", "employed", "60000", "0"], ["a", "2016-12", "employed", "60000", "1200"],
            ["a", "2017-01", "employed", "60000", "0"], ["a", "2018-03", "employed", "60000", "1000"],
            ["b", "2016-12", "employed", "5940", "89.10"], ["b", "2017-01", "employed", "4380", "0"],
            ["b", "2018-06", "retired", "4000", "0"]]
    src = write_csv(tmp_path / "arr.csv", ["member_id", "month", "category", "base_income", "paid"], rows)
    out, det = tmp_path / "out.csv", tmp_path / "detail.csv"
    p = run("arrears", src, out, "--detail", det)
    assert p.returncode == 0, p.stderr
    assert out.read_text(encoding="utf-8").splitlines() == [   # cli.md's columns, unchanged
        "member_id,months,due_total,paid_total,arrears,max_consecutive_unpaid,flag_six_months",
        "a,4,4400.00,2200.00,2200.00,1,false",
        "b,3,152.90,89.10,63.80,1,false",
    ]
    got = read_csv_text(det)
    assert [(g["month"], g["rule_version"], g["rule"], g["due"]) for g in got] == [
        ("2016-05", "2008", "bracket_2", "1200.00"), ("2016-12", "2008", "bracket_2", "1200.00"),
        ("2017-01", "2017", "bracket_2_capped", "1000.00"), ("2018-03", "2017", "bracket_2_capped", "1000.00"),
        ("2016-12", "2008", "bracket_1.5", "89.10"), ("2017-01", "2017", "bracket_1", "43.80"),
        ("2018-06", "2017", "retired_0.5", "20.00")]
    assert run("arrears", src, out, "--rules", "current").returncode == 0
    assert read_csv_text(out)[0]["due_total"] == "4000.00"   # every month capped: today's rule


def test_arrears_cli_fixed_for_year_flag_and_redetermine_column(tmp_path):
    header = ["member_id", "month", "category", "base_income", "paid", "redetermine"]
    rows = [["a", "2018-01", "employed", "5000", "0", ""],       # determined in January: 50.00
            ["a", "2018-02", "employed", "6000", "0", ""],       # raise mid-year: still 50.00
            ["a", "2018-03", "employed", "7000", "0", "是"],     # re-determined: 105.00
            ["a", "2018-04", "employed", "8000", "0", "false"],  # still 105.00
            ["a", "2018-05", "retired", "4000", "0", ""],        # retired: a new determination, 20.00
            ["a", "2019-01", "retired", "6000", "0", ""]]        # next January: 60.00
    src = write_csv(tmp_path / "arr.csv", header, rows)
    out, det = tmp_path / "out.csv", tmp_path / "det.csv"
    assert run("arrears", src, out, "--amount-mode", "fixed_for_year", "--detail", det).returncode == 0
    assert [g["due"] for g in read_csv_text(det)] == ["50.00", "50.00", "105.00", "105.00", "20.00", "60.00"]
    assert read_csv_text(out)[0]["due_total"] == "390.00"
    assert run("arrears", src, out, "--detail", det).returncode == 0      # default: each row's own base
    assert [g["due"] for g in read_csv_text(det)] == ["50.00", "90.00", "105.00", "120.00", "20.00", "60.00"]
    bad = write_csv(tmp_path / "bad.csv", header, [["a", "2018-01", "employed", "5000", "0", "也许"]])
    out2, det2 = tmp_path / "out2.csv", tmp_path / "det2.csv"
    p = run("arrears", bad, out2, "--amount-mode", "fixed_for_year", "--detail", det2)
    assert p.returncode == 2 and "第 2 行 列「redetermine」" in p.stderr
    assert not det2.exists() and not out2.exists()


def test_a_batch_file_over_the_upload_row_limit_is_computed_and_its_bad_cell_named(tmp_path):
    """The 200,000-row limit guards upload boxes; the CLI's own batch files (cli.md: a whole
    city's roll) may be larger, and a bad cell there is named like anywhere else."""
    from dangjian_core.fileio import MAX_ROWS

    n = MAX_ROWS + 5
    lines = ["member_id,category,base_income,fixed_amount"]
    lines += [f"m{i},employed,3000.00," for i in range(n)]
    src = tmp_path / "big.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    p = run("calc", src, out)
    assert p.returncode == 0, p.stderr
    assert sum(1 for _ in out.open(encoding="utf-8")) == n + 1
    lines[n] = f"m{n - 1},employed,abc,"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.unlink()
    p = run("calc", src, out)
    assert p.returncode == 2 and not out.exists()
    assert f"第 {n + 1} 行" in p.stderr and "base_income" in p.stderr and "上限" not in p.stderr
