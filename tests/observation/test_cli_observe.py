"""`python -m dangjian_core observe plan` through a real subprocess (contract: cli.md)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["org_id", "name", "street", "tier", "is_site", "host", "capacity", "lat", "lon"]
ORGS = [
    ["E1", "东一社区", "东湖街道", "先进", "true", "", "1", "30.10", "120.10"],
    ["E2", "东二社区", "东湖街道", "达标", "true", "", "2", "30.11", "120.12"],
    ["E3", "东三社区", "东湖街道", "后进", "false", "", "", "30.12", "120.10"],
    ["E4", "东四社区", "东湖街道", "达标", "false", "", "", "", ""],
    ["W1", "西一社区", "西山街道", "advanced", "false", "", "2", "30.20", "120.20"],
    ["W2", "西二社区", "西山街道", "lagging", "false", "", "", "30.21", "120.20"],
    ["W3", "西三社区", "西山街道", "standard", "true", "", "", "30.22", "120.21"],
    ["S1", "南一社区", "南岭街道", "standard", "true", "", "1", "30.30", "120.30"],
    ["S2", "南二社区", "南岭街道", "lagging", "false", "", "", "30.31", "120.30"],
    ["S3", "南三社区", "南岭街道", "advanced", "false", "", "", "30.32", "120.31"],
]


def write_csv(path: Path, rows, header=HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def run(*args: str):
    return subprocess.run([sys.executable, "-m", "dangjian_core", "observe", "plan", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


@pytest.mark.parametrize("mode", ["internal", "cross", "district"])
def test_plan_writes_exact_columns(tmp_path, mode):
    orgs = write_csv(tmp_path / "orgs.csv", ORGS)
    out = tmp_path / "plan.csv"
    r = run("--orgs", str(orgs), "--mode", mode, "--days", "1", "--slots-per-day", "2", str(out))
    assert r.returncode == 0, r.stderr
    df = pl.read_csv(out, infer_schema_length=0)
    assert df.columns == ["day", "slot", "delegation", "host_org_id", "host_street"]
    assert set(df["day"]) == {"1"} and set(df["slot"]) <= {"1", "2"}
    delegations = set(df["delegation"])
    if mode == "internal":
        assert delegations == {"E3", "E4", "W2", "S2"}  # the orgs that do not host
    else:
        assert delegations == {"东湖街道", "西山街道", "南岭街道"}
    assert df.height == 2 * len(delegations)
    if mode == "cross":
        assert (df["delegation"] != df["host_street"]).all()
    assert "观摩" in r.stdout and "接待" in r.stdout  # the summary paragraph


def test_visits_and_previous_and_xlsx(tmp_path):
    orgs = write_csv(tmp_path / "orgs.csv", ORGS)
    first = tmp_path / "r1.csv"
    assert run("--orgs", str(orgs), "--mode", "cross", "--days", "1", "--slots-per-day", "3",
               "--visits", "1", str(first)).returncode == 0
    second = tmp_path / "r2.xlsx"
    r = run("--orgs", str(orgs), "--mode", "cross", "--days", "1", "--slots-per-day", "3", "--visits", "1",
            "--previous", str(first), str(second))
    assert r.returncode == 0, r.stderr
    a = pl.read_csv(first, infer_schema_length=0)
    b = pl.read_excel(second)
    assert b.columns == ["day", "slot", "delegation", "host_org_id", "host_street"]
    assert b.height == 3
    assert not (set(zip(a["delegation"], a["host_org_id"])) & set(zip(b["delegation"], b["host_org_id"])))


def _fails(tmp_path, rows, *extra, mode="internal", days="1", slots="2"):
    orgs = write_csv(tmp_path / "orgs.csv", rows)
    out = tmp_path / "plan.csv"
    r = run("--orgs", str(orgs), "--mode", mode, "--days", days, "--slots-per-day", slots, *extra, str(out))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert not out.exists()
    assert not list(tmp_path.glob("*.part"))
    return r.stderr


def test_infeasible_exits_2_with_reason(tmp_path):
    err = _fails(tmp_path, ORGS, "--visits", "3", slots="3")
    assert "东湖街道只有2个观摩点，但每个观摩团要看3个点" in err


def test_misspelled_tier(tmp_path):
    rows = [r[:] for r in ORGS]
    rows[4][3] = "advnced"
    err = _fails(tmp_path, rows, mode="cross")
    assert "第 6 行" in err and "tier" in err and "advanced" in err


def test_duplicate_org_id(tmp_path):
    rows = [r[:] for r in ORGS]
    rows[5][0] = "W1"
    err = _fails(tmp_path, rows, mode="cross")
    assert "第 7 行" in err and "重复" in err and "第 6 行" in err


def test_capacity_zero(tmp_path):
    rows = [r[:] for r in ORGS]
    rows[0][6] = "0"
    err = _fails(tmp_path, rows, mode="district")
    assert "第 2 行" in err and "capacity" in err


def test_bad_settings_in_process(tmp_path, capsys):
    from dangjian_core.cli import main

    orgs = str(write_csv(tmp_path / "orgs.csv", ORGS))
    out = tmp_path / "plan.csv"
    cases = [
        (["--mode", "cross", "--days", "0", "--slots-per-day", "2"], "--days"),
        (["--mode", "visit", "--days", "1", "--slots-per-day", "2"], "观摩方式"),
        (["--mode", "cross", "--days", "1", "--slots-per-day", "x"], "--slots-per-day"),
        (["--mode", "cross", "--days", "1", "--slots-per-day", "2", "--previous",
          str(write_csv(tmp_path / "p.csv", [["x"]], header=["foo"]))], "缺少列"),
        (["--mode", "cross", "--days", "1", "--slots-per-day", "2", "--visits", "0"], "--visits"),
    ]
    for args, expected in cases:
        assert main(["observe", "plan", "--orgs", orgs, *args, str(out)]) == 2
        assert expected in capsys.readouterr().err
        assert not out.exists()
    assert main(["observe", "plan", "--orgs", orgs, "--mode", "cross", "--days", "1", "--slots-per-day", "2",
                 str(tmp_path / "plan.txt.json")]) == 2
    assert "不支持的输出文件类型" in capsys.readouterr().err
