"""`python -m dangjian_core reports pick` — the contract of shared/spec/cli.md."""

import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangjian_core.cli import main
from tests.reports.test_reports_rules import reference_pick  # the plain-Python reference of the ranking rule

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ["unit_id", "name", "progress", "rank", "reason"]

UNITS = """unit_id,name,progress
U1,第一支部,42
U2,第二支部,42
U3,第三支部,10
U4,第四支部,80
U5,第五支部,55.5
"""
HISTORY = """unit_id,date
U3,2024-05-01
U2,2023-01-01
U1,2024/1/5
"""


def cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "dangjian_core", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd or ROOT, timeout=60)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def pick_args(units, history, output, date="2024-06-25", capacity=3):
    return [str(a) for a in ("reports", "pick", "--units", units, "--history", history, "--date", date,
                             "--capacity", capacity, output)]


def leftovers(folder: Path, name: str):
    return [p.name for p in folder.iterdir() if p.name.startswith(name) or p.name.startswith("." + name)]


def test_pick_writes_exact_columns_in_rank_order(tmp_path):
    u = write(tmp_path / "units.csv", UNITS)
    h = write(tmp_path / "history.csv", HISTORY)
    out = tmp_path / "out.csv"
    res = cli(*pick_args(u, h, out, capacity=3))
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    df = pl.read_csv(out, infer_schema=False)
    assert df.columns == COLUMNS
    # U3 (10) reported 55 days ago → cool-down, after everyone; U1 (last 2024-01-05, 172 days)
    # and U2 (2023-01-01) tie at 42: U2 has waited longer.
    assert df["unit_id"].to_list() == ["U2", "U1", "U5"]
    assert df["rank"].to_list() == ["1", "2", "3"]
    assert df["reason"][0] == "进度分 42.0，全部 5 个单位中倒数第 2；上次述职 2023-01-01（距今 541 天）"


def test_cooldown_units_fill_up_and_capacity_above_units_notes(tmp_path):
    u = write(tmp_path / "units.csv", UNITS)
    h = write(tmp_path / "history.csv", HISTORY)
    out = tmp_path / "out.xlsx"
    assert main(pick_args(u, h, out, capacity=9)) == 0
    df = pl.read_excel(out)
    assert df.columns == COLUMNS
    assert df["unit_id"].to_list() == ["U2", "U1", "U5", "U4", "U3"]
    assert "冷却期内" in df["reason"][-1]


def test_capacity_note_on_stderr(tmp_path, capsys):
    u = write(tmp_path / "units.csv", UNITS)
    h = write(tmp_path / "history.csv", "unit_id,date\n")
    assert main(pick_args(u, h, tmp_path / "o.csv", capacity=9)) == 0
    err = capsys.readouterr().err
    assert "名额 9 个，多于单位总数 5 个" in err


@pytest.mark.parametrize("content", ["unit_id,date\n", "\ufeffunit_id,date\r\n", "", "\n\n"])
def test_empty_history_header_only_or_zero_bytes(tmp_path, content):
    u = write(tmp_path / "units.csv", UNITS)
    h = write(tmp_path / "history.csv", content)
    out = tmp_path / "out.csv"
    assert main(pick_args(u, h, out, capacity=2)) == 0
    assert pl.read_csv(out)["unit_id"].to_list() == ["U3", "U1"]


def test_empty_history_in_subprocess(tmp_path):
    u = write(tmp_path / "units.csv", UNITS)
    h = write(tmp_path / "history.csv", "")
    out = tmp_path / "out.parquet"
    res = cli(*pick_args(u, h, out, capacity=1))
    assert res.returncode == 0, res.stderr
    df = pl.read_parquet(out)
    assert df.columns == COLUMNS and df["unit_id"].to_list() == ["U3"]


def test_unknown_history_units_and_future_reports_warn_and_are_ignored(tmp_path, capsys):
    u = write(tmp_path / "units.csv", UNITS)
    h = write(tmp_path / "history.csv", "unit_id,date\nU9,2024-01-01\nU3,2024-09-01\n")
    out = tmp_path / "out.csv"
    assert main(pick_args(u, h, out, capacity=1)) == 0
    err = capsys.readouterr().err
    assert "U9" in err and "不在单位表中" in err and "晚于 2024-06-25" in err
    assert pl.read_csv(out)["unit_id"].to_list() == ["U3"]


def test_bad_progress_duplicates_and_empty_cells_exit_2_naming_rows(tmp_path):
    u = write(tmp_path / "units.csv",
              "unit_id,name,progress\nA,甲,abc\nB,乙,101\nA,丙,5\nC,丁,\n")
    h = write(tmp_path / "history.csv", "unit_id,date\n")
    out = tmp_path / "out.csv"
    res = cli(*pick_args(u, h, out))
    assert res.returncode == 2
    err = res.stderr
    assert "units.csv" in err
    assert "第 2 行 列「progress」（值「abc」）：应为 0–100 之间的数字" in err
    assert "第 3 行 列「progress」（值「101」）" in err
    assert "第 4 行 列「unit_id」（值「A」）：单位编号重复（与第 2 行相同）" in err
    assert "第 5 行 列「progress」：进度分不能为空" in err
    assert "Traceback" not in err
    assert leftovers(tmp_path, "out") == []


def test_title_row_above_header_counts_in_row_numbers(tmp_path, capsys):
    u = write(tmp_path / "units.csv", "述职单位进度表\nunit_id,name,progress\nA,甲,1\nB,乙,-3\n")
    h = write(tmp_path / "history.csv", "unit_id,date\n")
    assert main(pick_args(u, h, tmp_path / "o.csv")) == 2
    assert "第 4 行 列「progress」（值「-3」）" in capsys.readouterr().err


@pytest.mark.parametrize("date,capacity,expected", [
    ("2024-02-30", "3", "参数 --date 的值「2024-02-30」不是有效日期"),
    ("25/06/2024", "3", "应为 YYYY-MM-DD"),
    ("2024-06-25", "0", "参数 --capacity 的值「0」无效，应为大于 0 的整数"),
    ("2024-06-25", "-2", "参数 --capacity"),
    ("2024-06-25", "三", "不是整数"),
])
def test_bad_arguments_exit_2(tmp_path, capsys, date, capacity, expected):
    u = write(tmp_path / "units.csv", UNITS)
    h = write(tmp_path / "history.csv", HISTORY)
    out = tmp_path / "out.csv"
    assert main(pick_args(u, h, out, date=date, capacity=capacity)) == 2
    assert expected in capsys.readouterr().err
    assert leftovers(tmp_path, "out") == []


def test_bad_history_date_exit_2_subprocess(tmp_path):
    u = write(tmp_path / "units.csv", UNITS)
    h = write(tmp_path / "history.csv", "unit_id,date\nU1,2024-01-01\nU2,去年\nU3,\n")
    out = tmp_path / "out.csv"
    res = cli(*pick_args(u, h, out, capacity="0"))
    assert res.returncode == 2 and "--capacity" in res.stderr   # arguments are checked first
    res = cli(*pick_args(u, h, out))
    assert res.returncode == 2
    assert "history.csv" in res.stderr
    assert "第 3 行 列「date」（值「去年」）：不是有效日期" in res.stderr
    assert "第 4 行 列「date」：述职日期不能为空" in res.stderr
    assert not out.exists() and leftovers(tmp_path, "out") == []


def test_missing_columns_and_missing_file(tmp_path, capsys):
    u = write(tmp_path / "units.csv", "unit_id,名称\nA,甲\n")
    h = write(tmp_path / "history.csv", "unit_id,when\n")
    assert main(pick_args(u, h, tmp_path / "o.csv")) == 2
    err = capsys.readouterr().err
    assert "缺少列：name、progress" in err and "dues_collection_rate" in err
    u = write(tmp_path / "units.csv", UNITS)
    assert main(pick_args(u, h, tmp_path / "o.csv")) == 2
    assert "缺少列：date" in capsys.readouterr().err
    assert main(pick_args(tmp_path / "nope.csv", h, tmp_path / "o.csv")) == 2
    assert "文件不存在" in capsys.readouterr().err


def test_failed_run_keeps_an_existing_output_untouched(tmp_path):
    u = write(tmp_path / "units.csv", "unit_id,name,progress\nA,甲,x\n")
    h = write(tmp_path / "history.csv", "unit_id,date\n")
    out = write(tmp_path / "out.csv", "old\n")
    assert main(pick_args(u, h, out)) == 2
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "out.csv", "units.csv"]


def test_indicator_columns_instead_of_progress(tmp_path, capsys):
    u = write(tmp_path / "units.csv",
              "unit_id,name,党费收缴率,three_meetings_one_lesson_rate,overdue_rectifications,备注\n"
              "A,甲,62%,40,,x\nB,乙,100,,1,\nD,丁,90,90,0,\n")
    h = write(tmp_path / "history.csv", "unit_id,date\n")
    out = tmp_path / "out.csv"
    assert main(pick_args(u, h, out, capacity=2)) == 0
    df = pl.read_csv(out, infer_schema=False)
    assert df.columns == COLUMNS
    assert df["unit_id"].to_list() == ["A", "B"]
    assert df["progress"].to_list() == ["52.6", "83.3"]
    assert "滞后指标：三会一课完成率 40%（目标 100%）、党费收缴率 62%（目标 100%）" in df["reason"][0]
    assert "逾期整改事项 1项（目标 0项）" in df["reason"][1]


def test_indicator_errors_and_unit_without_indicators(tmp_path, capsys):
    u = write(tmp_path / "units.csv",
              "unit_id,name,dues_collection_rate,overdue_rectifications\nA,甲,120,\nB,乙,,-1\nC,丙,,\n")
    h = write(tmp_path / "history.csv", "unit_id,date\n")
    assert main(pick_args(u, h, tmp_path / "o.csv")) == 2
    err = capsys.readouterr().err
    assert "第 2 行 列「dues_collection_rate」（值「120」）：应为 0–100 之间的数字" in err
    assert "第 3 行 列「overdue_rectifications」（值「-1」）：应为不小于 0 的数字" in err
    assert "第 4 行：该单位没有任何指标数据" in err


def test_rates_written_as_fractions_draw_a_warning(tmp_path, capsys):
    u = write(tmp_path / "units.csv", "unit_id,name,dues_collection_rate\nA,甲,0.62\nB,乙,0.9\n")
    h = write(tmp_path / "history.csv", "unit_id,date\n")
    assert main(pick_args(u, h, tmp_path / "o.csv", capacity=1)) == 0
    assert "看起来是小数形式的比率" in capsys.readouterr().err


def test_parquet_and_xlsx_inputs_with_native_types(tmp_path):
    pl.DataFrame({"unit_id": [1, 2, 3], "name": ["甲", "乙", "丙"], "progress": [30, 20, 20]}).write_parquet(
        tmp_path / "u.parquet")
    pl.DataFrame({"unit_id": [2], "date": [dt.datetime(2024, 1, 1)]}).write_excel(tmp_path / "h.xlsx")
    out = tmp_path / "o.csv"
    assert main(pick_args(tmp_path / "u.parquet", tmp_path / "h.xlsx", out, capacity=2)) == 0
    assert pl.read_csv(out, infer_schema=False)["unit_id"].to_list() == ["3", "2"]


@st.composite
def cli_cases(draw):
    n = draw(st.integers(1, 8))
    ids = [f"U{i}" for i in draw(st.permutations(range(n)))]
    units = [(uid, draw(st.sampled_from([0.0, 12.5, 42.0, 99.9, 100.0]))) for uid in ids]
    on = dt.date(2024, 6, 25)
    history = [(draw(st.sampled_from(ids)), on - dt.timedelta(days=draw(st.sampled_from([0, 60, 120, 121, 400]))))
               for _ in range(draw(st.integers(0, 6)))]
    return units, history, on, draw(st.integers(1, n + 2))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cli_cases())
def test_cli_agrees_with_plain_reference(case):
    units, history, on, capacity = case
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        write(d / "u.csv", "unit_id,name,progress\n" + "".join(f"{u},名{u},{p}\n" for u, p in units))
        write(d / "h.csv", "unit_id,date\n" + "".join(f"{u},{x.isoformat()}\n" for u, x in history))
        assert main(pick_args(d / "u.csv", d / "h.csv", d / "o.csv", date=on.isoformat(), capacity=capacity)) == 0
        got = pl.read_csv(d / "o.csv", infer_schema=False)
    expected, _ = reference_pick([(u, "", p) for u, p in units], history, on, capacity)
    assert got["unit_id"].to_list() == expected
    assert got.height == min(capacity, len(units))


def test_ties_numeric_ids_in_numeric_order_and_no_negative_zero(tmp_path):
    """Issue 16 §3: the CLI and the web path share one tie rule (numeric when all ids are)."""
    u = write(tmp_path / "units.csv", "unit_id,name,open_rectifications\n10,十,5\n9,九,5\n100,百,5\n2,二,0\n")
    h = write(tmp_path / "history.csv", "unit_id,date\n")
    out = tmp_path / "out.csv"
    assert main(pick_args(u, h, out, capacity=4)) == 0
    got = pl.read_csv(out, infer_schema=False)
    assert got["unit_id"].to_list() == ["9", "10", "100", "2"]
    assert all("-0" not in t for t in got["reason"].to_list() + got["progress"].to_list())
    assert got["reason"][0].startswith("进度分 0.0，")
    mixed = write(tmp_path / "mixed.csv", "unit_id,name,progress\n10,十,5\n9,九,5\nA,甲,5\n")
    assert main(pick_args(mixed, h, out, capacity=3)) == 0
    assert pl.read_csv(out, infer_schema=False)["unit_id"].to_list() == ["10", "9", "A"]
