"""述职评议, the database side (dangjian_core.reports): indicators and providers, the score as
stored data gives it, sessions, picking with lock/swap/add and publishing, votes, the
rectification chain, the effect, and the demo data. The pure rules are covered in
test_reports_rules.py; here every write goes through a real migrated database."""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
import pytest

from dangjian_core import audit, clock, fileio, registry, tables
from dangjian_core.contracts import Indicator
from dangjian_core.db import Database, load_migrations
from dangjian_core.errors import BadInput, ConflictError, NotFound, PermissionDenied, ValidationFailed
from dangjian_core.reports import effect, indicators, model, notices, picks, rectifications, rules, sessions, specs, votes
from tests.conftest import EDITOR, VIEWER

D = dt.date
LATE = D(2024, 12, 31)  # "today" in these tests: after every 2024 session


# -- helpers ---------------------------------------------------------------------------------
def add_orgs(db, n: int = 8) -> None:
    with db.write() as cur:
        cur.execute("INSERT INTO orgs (id, name, level, category, street, member_count, secretary)"
                    " SELECT i, '第' || i || '支部', 'branch', 'community', CASE WHEN i % 2 = 0 THEN '东湖街道' ELSE '西城街道' END,"
                    " 10, '书记' || i FROM range(1, ?) t(i)", [n + 1])
        cur.execute("SELECT setval('orgs_seq', ?)", [n])


def only_ten_tasks(db) -> None:
    """One indicator (0–100, weight 1): a unit's progress equals its 10件实事 value."""
    with db.write() as cur:
        cur.execute("UPDATE report_indicators SET enabled = (code = 'ten_tasks_progress')")


def put_values(db, values: dict[int, float], period: str = "2024-01", indicator: str = "ten_tasks_progress") -> None:
    with db.write() as cur:
        cur.register("v", pl.DataFrame({"unit_id": list(values), "value": list(values.values())},
                                       schema={"unit_id": pl.Int64, "value": pl.Float64}))
        cur.execute("INSERT INTO report_indicator_values (unit_id, indicator, period, value)"
                    " SELECT unit_id, ?, ?, value FROM v", [indicator, period])
        cur.unregister("v")


@pytest.fixture
def rdb(db):
    """8 branches, one indicator; unit i has progress 10·i (unit 1 lowest)."""
    add_orgs(db)
    only_ten_tasks(db)
    put_values(db, {i: 10.0 * i for i in range(1, 9)})
    return db


def year_sessions(db, year: int = 2024) -> list[dict]:
    sessions.create_year(db, EDITOR, year)
    return sessions.sessions(db, year).to_dicts()


def picked_units(db, sid) -> list[int]:
    p = picks.picks(db, sid)
    return p.filter(pl.col("status") == "picked")["unit_id"].to_list()


def set_capacity(db, sid, n) -> None:
    with db.write() as cur:
        cur.execute("UPDATE report_sessions SET capacity = ? WHERE id = ?", [n, sid])


def batch_tables(db, batch: int) -> set[str]:
    return set(audit.list_changes(db, EDITOR, batch_id=batch)["table_name"].to_list())


# -- migration and settings ------------------------------------------------------------------
def test_migration_seeds_the_default_formula_and_settings(db):
    ind = indicators.indicators(db)
    enabled = ind.filter(pl.col("enabled"))
    assert {d.code for d in rules.DEFAULT_INDICATORS} == set(enabled["code"].to_list())
    assert enabled["weight"].sum() == sum(d.weight for d in rules.DEFAULT_INDICATORS)
    assert ind.filter(~pl.col("enabled"))["code"].to_list() == ["election_overdue_months", "observation_score"]
    s = specs.settings(db)
    assert (s["cooldown_days"], s["default_capacity"], s["escalation_days"]) == (120, 5, 15)
    with db.read() as cur:
        assert [d.code for d in indicators.indicator_defs(cur)] == [d.code for d in rules.DEFAULT_INDICATORS]


def test_settings_change_goes_through_the_write_path(db):
    with pytest.raises(PermissionDenied):
        specs.save_settings(db, VIEWER, {"cooldown_days": 90})
    specs.save_settings(db, EDITOR, {"cooldown_days": "90", "issuer": "示例市委组织部"})
    assert specs.settings(db)["cooldown_days"] == 90
    with pytest.raises(ValidationFailed):
        specs.save_settings(db, EDITOR, {"default_capacity": 0})


# -- the score from stored data --------------------------------------------------------------
def test_score_uses_latest_entered_value_on_or_before_the_month(rdb):
    put_values(rdb, {1: 95.0}, period="2024-03")
    put_values(rdb, {1: 5.0}, period="2024-06")
    with rdb.read() as cur:
        assert indicators.compute_scores(cur, D(2024, 2, 10)).table.filter(pl.col("unit_id") == 1)["progress"][0] == 10.0
        assert indicators.compute_scores(cur, D(2024, 3, 1)).table.filter(pl.col("unit_id") == 1)["progress"][0] == 95.0
        assert indicators.compute_scores(cur, D(2024, 7, 1)).table.filter(pl.col("unit_id") == 1)["progress"][0] == 5.0


def test_score_matches_the_documented_formula(db):
    add_orgs(db, 3)
    put_values(db, {1: 62.0, 2: 100.0}, indicator="ten_tasks_progress")
    put_values(db, {1: 40.0, 3: 90.0}, indicator="three_meetings_one_lesson_rate")
    put_values(db, {2: 80.0}, indicator="dues_collection_rate")
    with db.read() as cur:
        sc = indicators.compute_scores(cur, D(2024, 1, 31))
        defs = indicators.indicator_defs(cur)
    expected = rules.progress_scores(sc.values.select("unit_id", "indicator", "value"), defs)
    got = sc.table.select("unit_id", "progress").sort("unit_id")
    assert got.join(expected.select("unit_id", pl.col("progress").alias("e")), on="unit_id")["e"].to_list() \
        == got["progress"].to_list()
    # the breakdown adds up to the score, indicator by indicator
    for uid in (1, 2, 3):
        parts = sc.contributions_of(uid)
        assert round(parts["贡献分"].sum(), 0) == round(got.filter(pl.col("unit_id") == uid)["progress"][0], 0)
    # open / overdue rectifications are computed for every unit (0 here), so they count
    assert set(sc.contributions.filter(pl.col("unit_id") == 3)["indicator"].to_list()) == {
        "open_rectifications", "overdue_rectifications", "three_meetings_one_lesson_rate"}
    assert "三会一课完成率" in sc.table.filter(pl.col("unit_id") == 1)["lagging"][0] or \
        "10件实事进度" in sc.table.filter(pl.col("unit_id") == 1)["lagging"][0]


def test_a_declared_indicator_plugs_in_and_wins_over_entered_values(rdb, monkeypatch):
    declared = registry.indicators() | {"ten_tasks_progress": Indicator(
        "ten_tasks_progress", "10件实事进度", lambda cur, as_of: pl.DataFrame({"unit_id": [1], "value": [77.0]}))}
    monkeypatch.setattr(registry, "indicators", lambda: declared)
    with rdb.read() as cur:
        sc = indicators.compute_scores(cur, D(2024, 2, 1))
    t = sc.table.sort("unit_id")
    assert t["progress"].to_list()[:2] == [77.0, 20.0]  # unit 1 from the provider, unit 2 entered
    assert sc.contributions.filter(pl.col("unit_id") == 1)["source_zh"][0] == "自动计算"


def test_computed_indicators_come_from_the_registry():
    got = registry.indicators()
    assert {"open_rectifications", "overdue_rectifications", "site_assessment_score", "dues_collection_rate",
            "observation_score"} <= set(got)
    assert got["open_rectifications"].source == "整改跟踪（未销号事项数）"


def test_a_failing_provider_leaves_its_indicator_without_values_and_the_scores_still_come(tmp_path):
    d = Database(tmp_path / "no_sites.duckdb")
    d.migrate([m for m in load_migrations() if m.version in (1, 30)])  # no sites tables: that provider fails
    add_orgs(d, 2)
    with d.read() as cur:
        assert indicators.compute_scores(cur, D(2024, 5, 1)).table.height == 2
    assert "site_assessment_score" in indicators.PROVIDER_ERRORS
    d.close()


def test_units_whose_only_indicators_weigh_zero_are_left_unscored(db):
    add_orgs(db, 2)
    with db.write() as cur:
        cur.execute("UPDATE report_indicators SET weight = 0 WHERE code IN ('open_rectifications', 'overdue_rectifications')")
    put_values(db, {1: 50.0})
    with db.read() as cur:
        sc = indicators.compute_scores(cur, D(2024, 1, 31))
    t = sc.table.sort("unit_id")
    assert t["progress"].to_list() == [50.0, None] and sc.no_data == 1


def test_rectification_counts_as_of_a_date_follow_the_deadline_then_in_force(rdb):
    iid = rectifications.add_item(rdb, EDITOR, unit_id=3, problem="台账不全", responsible="书记", opened=D(2024, 1, 5),
                     deadline=D(2024, 2, 5))
    rectifications.confirm_escalations(rdb, EDITOR, [(iid, 1)], confirmed_on=D(2024, 2, 10), today=D(2024, 2, 10))
    with rdb.read() as cur:
        def at(fn, d):
            return fn(cur, d).filter(pl.col("unit_id") == 3)["value"][0]
        assert at(indicators._open_rectifications, D(2024, 1, 4)) == 0
        assert at(indicators._open_rectifications, D(2024, 1, 5)) == 1
        assert at(indicators._overdue_rectifications, D(2024, 2, 5)) == 0   # the deadline day is still in time
        assert at(indicators._overdue_rectifications, D(2024, 2, 6)) == 1   # overdue under the first deadline
        assert at(indicators._overdue_rectifications, D(2024, 2, 12)) == 0  # new deadline 2024-02-25 in force
        assert at(indicators._overdue_rectifications, D(2024, 2, 26)) == 1
        assert at(indicators._overdue_rectifications, "2024-02") == 1       # a month means its last day
    rectifications.close_item(rdb, EDITOR, iid, D(2024, 3, 1), "已整改", today=D(2024, 3, 1))
    with rdb.read() as cur:
        assert indicators._open_rectifications(cur, D(2024, 3, 1)).filter(pl.col("unit_id") == 3)["value"][0] == 0


# -- indicator settings and values -----------------------------------------------------------
def test_weights_that_make_the_total_zero_are_refused_nothing_written(rdb):
    spec = specs.INDICATORS_SPEC
    df = tables.load(rdb, EDITOR, spec)
    ten = df.filter(pl.col("code") == "ten_tasks_progress")
    ch = tables.Changes(updates={ten["id"][0]: {"weight": 0}}, versions={ten["id"][0]: ten["version"][0]})
    with pytest.raises(ValidationFailed) as exc:
        tables.save(rdb, EDITOR, spec, ch)
    assert any("权重之和为 0" in e.message for e in exc.value.errors)
    assert indicators.indicators(rdb).filter(pl.col("code") == "ten_tasks_progress")["weight"][0] == 15.0
    # the same through an Excel import of the settings
    exported = tables.export_frame(rdb, EDITOR, spec).with_columns(
        pl.when(pl.col("指标代码") == "ten_tasks_progress").then(0.0).otherwise(pl.col("权重")).alias("权重"))
    frame = fileio.Frame(exported.with_columns(pl.all().cast(pl.String)), "指标设置.xlsx")
    pv = tables.import_frame(rdb, EDITOR, spec, frame, commit=True)
    assert not pv.ok and any("权重之和为 0" in e.message for e in pv.errors)


def test_indicator_definition_checks(rdb):
    spec = specs.INDICATORS_SPEC
    bad = tables.Changes(inserts=[{"code": "实事", "name": "新指标", "weight": 5, "direction": "higher_better",
                                   "target": 0, "floor": 10}])
    with pytest.raises(ValidationFailed) as exc:
        tables.save(rdb, EDITOR, spec, bad)
    text = " ".join(e.message for e in exc.value.errors)
    assert "小写英文字母" in text and "目标值" in text
    df = tables.load(rdb, EDITOR, spec).filter(pl.col("code") == "ten_tasks_progress")
    with pytest.raises(ValidationFailed, match="错误") as exc:
        tables.save(rdb, EDITOR, spec, tables.Changes(updates={df["id"][0]: {"code": "renamed_code"}},
                                                      versions={df["id"][0]: df["version"][0]}))
    assert "代码不能再改" in exc.value.errors[0].message
    with pytest.raises(ValidationFailed):
        tables.save(rdb, EDITOR, spec, tables.Changes(deletes=[df["id"][0]], versions={df["id"][0]: df["version"][0]}))
    ok = tables.Changes(inserts=[{"code": "party_day", "name": "主题党日开展率", "weight": 5, "direction": "越高越好",
                                  "target": 100, "floor": 0, "enabled": "是", "position": 8}])
    tables.save(rdb, EDITOR, spec, ok)
    with rdb.read() as cur:
        assert "party_day" in indicators.indicator_choices(cur)


def test_import_indicator_values_long_wide_update_and_errors(rdb):
    long = fileio.Frame(pl.DataFrame({"单位": ["第1支部", "第2支部"], "指标": ["10件实事进度", "ten_tasks_progress"],
                                      "月份": ["2024年2月", "2024-02"], "数值": ["55", "66.5"]}), "long.csv")
    pv = indicators.import_indicator_values(rdb, EDITOR, long, commit=True)
    assert pv.ok and (pv.inserts, pv.updates) == (2, 0)
    # the same rows again with other values: updated in place, no duplicates
    wide = fileio.Frame(pl.DataFrame({"单位": ["第1支部", "第3支部"], "10件实事进度": ["60", ""],
                                      "三会一课完成率": ["80", "90"]}), "wide.xlsx")
    pv = indicators.import_indicator_values(rdb, EDITOR, wide, period="2024-02", commit=True)
    assert pv.ok and (pv.inserts, pv.updates) == (2, 1), pv
    with rdb.read() as cur:
        n = cur.execute("SELECT count(*) FROM report_indicator_values WHERE period = '2024-02'").fetchone()[0]
        v = cur.execute("SELECT value FROM report_indicator_values WHERE unit_id = 1 AND period = '2024-02'"
                        " AND indicator = 'ten_tasks_progress'").fetchone()[0]
    assert (n, v) == (4, 60.0)
    # unknown unit, bad month, a value over the limit: every error with its spreadsheet row, nothing written
    bad = fileio.Frame(pl.DataFrame({"单位": ["第1支部", "不存在的支部", "第2支部"], "指标": ["10件实事进度"] * 3,
                                     "月份": ["2024-03", "2024-03", "2024-13"], "数值": ["101", "5", "5"]}), "bad.csv")
    pv = indicators.import_indicator_values(rdb, EDITOR, bad, commit=True)
    found = {(e.row, e.column) for e in pv.errors}
    assert {(2, "数值"), (3, "单位"), (4, "月份")} <= found, pv.errors
    assert any("找不到这个党组织" in e.message for e in pv.errors)
    with rdb.read() as cur:
        assert cur.execute("SELECT count(*) FROM report_indicator_values WHERE period = '2024-03'").fetchone()[0] == 0
    # a wide file with no month: says so
    pv = indicators.import_indicator_values(rdb, EDITOR, fileio.Frame(pl.DataFrame({"单位": ["第1支部"], "10件实事进度": ["5"]}), "w.csv"))
    assert pv.errors and "月份" in pv.errors[0].message
    with pytest.raises(PermissionDenied):
        indicators.import_indicator_values(rdb, VIEWER, long)


def test_wide_import_reports_the_row_of_the_file(rdb):
    wide = fileio.Frame(pl.DataFrame({"单位": ["第1支部", "第2支部"], "月份": ["2024-04", "2024-04"],
                                      "10件实事进度": ["50", "500"], "三会一课完成率": ["x", "60"]}), "wide.csv")
    pv = indicators.import_indicator_values(rdb, EDITOR, wide)
    assert {(e.row, e.column) for e in pv.errors} == {(2, "数值"), (3, "数值")}


# -- sessions ----------------------------------------------------------------------------------
def test_create_year_makes_six_sessions_once(rdb):
    with pytest.raises(PermissionDenied):
        sessions.create_year(rdb, VIEWER, 2024)
    ss = year_sessions(rdb)
    assert [s["seq"] for s in ss] == [1, 2, 3, 4, 5, 6]
    assert [s["kind"] for s in ss] == ["year_start", "ordinary", "mid_year", "ordinary", "ordinary", "year_end"]
    assert {s["capacity"] for s in ss} == {5} and {s["status"] for s in ss} == {"draft"}
    assert ss[2]["title"] == "2024年第3场"
    with pytest.raises(BadInput, match="已有 6 场"):
        sessions.create_year(rdb, EDITOR, 2024)
    with pytest.raises(BadInput, match="年度"):
        sessions.create_year(rdb, EDITOR, "明年")


def test_session_edits_refuse_collisions_zero_capacity_and_other_years(rdb):
    ss = year_sessions(rdb)
    s2, s3 = ss[1], ss[2]
    with pytest.raises(ValidationFailed) as exc:
        sessions.update_session(rdb, EDITOR, s3["id"], {"session_date": s2["session_date"]}, s3["version"])
    assert "日期相同" in exc.value.errors[0].message and "2024年第2场" in exc.value.errors[0].message
    with pytest.raises(ValidationFailed) as exc:
        sessions.update_session(rdb, EDITOR, s3["id"], {"capacity": 0})
    assert "名额数必须大于 0" in exc.value.errors[0].message
    with pytest.raises(ValidationFailed, match="错误") as exc:
        sessions.update_session(rdb, EDITOR, s3["id"], {"session_date": "2025-01-10", "start_time": "25:00"})
    msgs = " ".join(e.message for e in exc.value.errors)
    assert "2024 年内" in msgs and "24 小时制" in msgs
    assert sessions.session(rdb, s3["id"])["session_date"] == s3["session_date"]  # nothing written
    sessions.update_session(rdb, EDITOR, s3["id"], {"session_date": "2024-06-20", "capacity": "7", "venue": "三楼会议室"},
                     s3["version"])
    s = sessions.session(rdb, s3["id"])
    assert (s["session_date"], s["capacity"], s["venue"]) == (D(2024, 6, 20), 7, "三楼会议室")
    with pytest.raises(ValidationFailed):  # no new sessions typed into the grid
        tables.save(rdb, EDITOR, specs.SESSIONS_SPEC, tables.Changes(inserts=[{"session_date": "2024-07-01", "kind": "ordinary",
                                                                          "theme": "加场", "capacity": 3,
                                                                          "start_time": "09:00", "minutes_per_unit": 10}]))


# -- picking -----------------------------------------------------------------------------------
def test_draft_picks_the_lowest_progress_with_reasons(rdb):
    s = year_sessions(rdb)[0]
    res = picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    assert res.picked == 5 and picked_units(rdb, s["id"]) == [1, 2, 3, 4, 5]
    p = picks.picks(rdb, s["id"])
    assert p["reason"][0].startswith("进度分 10.0，全部 8 个单位中倒数第 1；滞后指标：10件实事进度 10%（目标 100%）；从未述职")
    assert p["order"].to_list() == [1, 2, 3, 4, 5]
    assert batch_tables(rdb, res.batch_id) == {"report_picks"}


def test_the_history_names_the_units_put_on_the_list(rdb):
    s = year_sessions(rdb)[0]
    res = picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    log = audit.list_changes(rdb, EDITOR, batch_id=res.batch_id)
    lines = audit.describe_changes(rdb, log)
    names = picks.picks(rdb, s["id"])["name"].to_list()
    assert len(names) == 5 and all(names)
    assert sorted(lines) == sorted(f"新增：{n}" for n in names), lines
    # the same words without the database at hand: by the unit's number, never a bare 「新增：」
    alone = audit.describe_change("report_picks", "insert", None, log["after"][0])
    assert alone.startswith("新增：单位（编号 ") and alone.endswith("）")


def test_draft_uses_the_callers_scores_only_while_nothing_was_written(rdb):
    s = year_sessions(rdb)[0]
    with rdb.read() as cur:
        sc = indicators.compute_scores(cur, min(s["session_date"], LATE))
    # the caller's scores rank the units the other way round: the list follows them when the
    # database is still as they saw it, and the draft hands them on for the next generation
    flipped = indicators.Scores(sc.as_of, sc.defs, sc.table.with_columns(progress=100 - pl.col("progress")),
                                sc.contributions, sc.values, sc.no_data)
    res = picks.draft_picks(rdb, EDITOR, s["id"], today=LATE, known=(rdb.generation, flipped))
    assert picked_units(rdb, s["id"]) != [1, 2, 3, 4, 5]
    assert res.scores is flipped and res.generation == rdb.generation
    # something was written since they were read: computed anew
    res = picks.draft_picks(rdb, EDITOR, s["id"], today=LATE, known=(rdb.generation - 1, flipped))
    assert picked_units(rdb, s["id"]) == [1, 2, 3, 4, 5] and res.scores is not flipped
    assert res.scores.table.equals(sc.table)


def test_cooldown_from_a_published_session_and_coverage(rdb):
    ss = year_sessions(rdb)
    picks.draft_picks(rdb, EDITOR, ss[0]["id"], today=LATE)
    picks.publish(rdb, EDITOR, ss[0]["id"], today=LATE)
    set_capacity(rdb, ss[1]["id"], 4)
    picks.draft_picks(rdb, EDITOR, ss[1]["id"], today=LATE)
    # units 1–5 reported 2 months ago (inside 120 days): 6, 7, 8 first, then the lowest of the rest
    assert picked_units(rdb, ss[1]["id"]) == [1, 6, 7, 8]
    p = picks.picks(rdb, ss[1]["id"]).filter(pl.col("unit_id") == 1)
    assert "冷却期" in p["reason"][0] and "补选" in p["reason"][0]
    cov = picks.coverage(rdb, 2024)
    assert cov.filter(pl.col("status") == "reported")["unit_id"].to_list() == [1, 2, 3, 4, 5]
    assert cov.filter(pl.col("status") == "never").height == 3


def test_the_reason_counts_距今_to_today_and_the_cooldown_to_the_session(rdb):
    ss = year_sessions(rdb)
    picks.draft_picks(rdb, EDITOR, ss[0]["id"], today=LATE)
    picks.publish(rdb, EDITOR, ss[0]["id"], today=LATE)
    first = ss[0]["session_date"]
    today = first + dt.timedelta(days=10)  # the next session is weeks away
    set_capacity(rdb, ss[1]["id"], 8)
    picks.draft_picks(rdb, EDITOR, ss[1]["id"], today=today)
    reason = picks.picks(rdb, ss[1]["id"]).filter(pl.col("unit_id") == 1)["reason"][0]
    gap = (ss[1]["session_date"] - first).days
    assert gap != 10 and f"上次述职 {first}（距今 10 天，距本场 {gap} 天，仍在 120 天冷却期内；" in reason
    later = picks.ranking(rdb, ss[3]["id"], today).ranked  # out of the cool-down: 距今 only
    assert later.filter(pl.col("unit_id") == 1)["reason"][0].endswith(f"上次述职 {first}（距今 10 天）")


def test_lock_swap_add_then_regenerate_keeps_the_office_choices(rdb):
    s = year_sessions(rdb)[0]
    picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    p = picks.picks(rdb, s["id"]).to_dicts()
    pid = {r["unit_id"]: r["id"] for r in p}
    picks.lock_pick(rdb, EDITOR, pid[5], True, "书记新任，需述职")
    with pytest.raises(BadInput, match="必须填写说明"):
        picks.swap_pick(rdb, EDITOR, pid[2], 8, "  ")
    new = picks.swap_pick(rdb, EDITOR, pid[2], 8, "第2支部书记外出学习")
    with pytest.raises(BadInput, match="已在本场名单中"):
        picks.add_pick(rdb, EDITOR, s["id"], 8, "重复")
    with pytest.raises(BadInput, match="已从本场名单中调出"):
        picks.add_pick(rdb, EDITOR, s["id"], 2, "再加回来")
    picks.add_pick(rdb, EDITOR, s["id"], 7, "领导点名", today=LATE)
    assert sorted(picked_units(rdb, s["id"])) == [1, 3, 4, 5, 7, 8]
    # make unit 5 score best and unit 6 worst: the rule would drop 5, but it is locked
    put_values(rdb, {5: 99.0, 6: 1.0}, period="2024-02")
    with rdb.write() as cur:
        cur.execute("UPDATE report_sessions SET session_date = '2024-03-01' WHERE id = ?", [s["id"]])
    picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    p = picks.picks(rdb, s["id"])
    got = p.filter(pl.col("status") == "picked")
    assert sorted(got["unit_id"].to_list()) == [1, 3, 5, 6, 7, 8]   # 4 dropped for 6; 2 stays out
    row8 = got.filter(pl.col("unit_id") == 8).to_dicts()[0]
    assert row8["source"] == "swap" and "替换「第2支部」" in row8["reason"] and row8["id"] == new
    assert got.filter(pl.col("unit_id") == 7)["source"][0] == "added"
    assert p.filter(pl.col("unit_id") == 2)["status"][0] == "removed"
    assert got["order"].to_list()[-1] == 6 and got["unit_id"].to_list()[-1] == 7  # added last in the notice


def test_lock_and_swap_refuse_stale_versions_and_viewers(rdb):
    s = year_sessions(rdb)[0]
    picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    p = picks.picks(rdb, s["id"]).to_dicts()[0]
    with pytest.raises(PermissionDenied):
        picks.lock_pick(rdb, VIEWER, p["id"])
    with pytest.raises(PermissionDenied):
        picks.draft_picks(rdb, VIEWER, s["id"])
    picks.lock_pick(rdb, EDITOR, p["id"], True, expected_version=p["version"])
    with pytest.raises(ConflictError):
        picks.swap_pick(rdb, EDITOR, p["id"], 8, "换人", expected_version=p["version"])
    with pytest.raises(BadInput, match="已锁定"):
        picks.swap_pick(rdb, EDITOR, p["id"], 8, "换人")
    with pytest.raises(NotFound):
        picks.lock_pick(rdb, EDITOR, 99999)


def test_capacity_above_the_units_picks_all_and_says_so_zero_refused(rdb):
    s = year_sessions(rdb)[0]
    set_capacity(rdb, s["id"], 20)
    res = picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    assert res.picked == 8 and any("多于单位总数" in n for n in res.notes)
    other = sessions.sessions(rdb, 2024).to_dicts()[1]
    set_capacity(rdb, other["id"], 0)
    with pytest.raises(BadInput, match="名额数必须大于 0"):
        picks.draft_picks(rdb, EDITOR, other["id"], today=LATE)
    assert picks.picks(rdb, other["id"]).height == 0


def test_publish_freezes_the_list_and_stores_the_scores(rdb):
    s = year_sessions(rdb)[0]
    with pytest.raises(BadInput, match="还没有述职单位"):
        picks.publish(rdb, EDITOR, s["id"])
    picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    with pytest.raises(PermissionDenied):
        picks.publish(rdb, VIEWER, s["id"])
    with pytest.raises(ConflictError):
        picks.publish(rdb, EDITOR, s["id"], expected_version=s["version"] + 5)
    res = picks.publish(rdb, EDITOR, s["id"], expected_version=s["version"], today=LATE)
    assert (res.picked, res.scored) == (5, 8)
    assert batch_tables(rdb, res.batch_id) == {"report_sessions"}
    pick = picks.picks(rdb, s["id"]).to_dicts()[0]
    for call in (lambda: picks.draft_picks(rdb, EDITOR, s["id"]), lambda: picks.lock_pick(rdb, EDITOR, pick["id"]),
                 lambda: picks.swap_pick(rdb, EDITOR, pick["id"], 8, "换"), lambda: picks.add_pick(rdb, EDITOR, s["id"], 8, "加"),
                 lambda: picks.publish(rdb, EDITOR, s["id"])):
        with pytest.raises(BadInput, match="已发布"):
            call()
    with pytest.raises(ValidationFailed, match="错误"):
        sessions.update_session(rdb, EDITOR, s["id"], {"theme": "改主题"})
    with rdb.read() as cur:
        snap = cur.sql("SELECT unit_id, progress FROM report_session_scores WHERE session_id = ? ORDER BY unit_id",
                       params=[s["id"]]).pl()
    assert snap["progress"].to_list() == [10.0 * i for i in range(1, 9)]
    # undo from 操作记录: the session is a draft again and can be changed
    audit.revert_batch(rdb, EDITOR, res.batch_id)
    assert sessions.session(rdb, s["id"])["status"] == "draft"
    picks.lock_pick(rdb, EDITOR, pick["id"])


def test_a_swap_is_one_batch_that_can_be_reverted(rdb):
    s = year_sessions(rdb)[0]
    picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    pid = picks.picks(rdb, s["id"]).filter(pl.col("unit_id") == 2)["id"][0]
    picks.swap_pick(rdb, EDITOR, pid, 8, "书记外出")
    batch = audit.list_batches(rdb, EDITOR)["id"][0]
    assert batch_tables(rdb, batch) == {"report_picks"}
    audit.revert_batch(rdb, EDITOR, batch)
    assert picked_units(rdb, s["id"]) == [1, 2, 3, 4, 5]


def test_notice_xlsx_and_html(rdb):
    s = year_sessions(rdb)[0]
    sessions.update_session(rdb, EDITOR, s["id"], {"start_time": "14:30", "minutes_per_unit": 20, "venue": "<b>礼堂</b>"})
    picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    sess, table = notices.notice(rdb, s["id"])
    assert table["单位"].to_list() == [f"第{i}支部" for i in range(1, 6)]
    assert table["述职时间"].to_list()[:2] == ["14:30–14:50", "14:50–15:10"]
    assert table["述职重点"][0].startswith("重点说明：10件实事进度")
    book = pl.read_excel(io.BytesIO(notices.notice_xlsx(rdb, s["id"])), sheet_name="述职安排")
    assert book["单位"].to_list() == table["单位"].to_list()
    page = notices.notice_html(rdb, s["id"])
    assert "2024年第1场" in page and "第1支部" in page and "14:30–14:50" in page
    assert "<b>礼堂</b>" not in page and "&lt;b&gt;礼堂&lt;/b&gt;" in page
    assert page.index("第1支部") < page.index("第5支部")


# -- votes -------------------------------------------------------------------------------------
@pytest.fixture
def held(rdb):
    s = year_sessions(rdb)[0]
    picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    picks.publish(rdb, EDITOR, s["id"], today=LATE)
    return rdb, s


def test_record_votes_rate_rank_and_bad_input(held):
    db, s = held
    with pytest.raises(BadInput, match="还没有召开"):
        votes.record_votes(db, EDITOR, s["id"], 1, 10, 5, 3, 2, 20, today=s["session_date"] - dt.timedelta(days=1))
    with pytest.raises(BadInput) as exc:
        votes.record_votes(db, EDITOR, s["id"], 1, 10, 5, 3, 2, 21, today=LATE)
    assert "四档票数之和（20）应等于参评人数（21）" in exc.value.errors[0].message
    with pytest.raises(BadInput, match="不在2024年第1场的述职名单中"):
        votes.record_votes(db, EDITOR, s["id"], 8, 10, 5, 3, 2, 20, today=LATE)
    with pytest.raises(PermissionDenied):
        votes.record_votes(db, VIEWER, s["id"], 1, 10, 5, 3, 2, 20, today=LATE)
    assert votes.votes(db, s["id"]).height == 0  # nothing written by any of those
    votes.record_votes(db, EDITOR, s["id"], 1, 10, 5, 3, 2, 20, "很好", today=LATE)
    votes.record_votes(db, EDITOR, s["id"], 2, 20, 10, 0, 0, 30, today=LATE)
    votes.record_votes(db, EDITOR, s["id"], 1, 12, 5, 2, 1, 20, "更正", today=LATE)  # a correction updates
    v = votes.votes(db, s["id"])
    assert v.select("unit_id", "good_rate", "rank").rows() == [(2, 100.0, 1), (1, 85.0, 2)]
    assert v.filter(pl.col("unit_id") == 1)["comments"][0] == "更正"


def test_draft_session_refuses_votes(rdb):
    s = year_sessions(rdb)[0]
    with pytest.raises(BadInput, match="还没有发布"):
        votes.record_votes(rdb, EDITOR, s["id"], 1, 1, 0, 0, 0, 1, today=LATE)


def test_import_a_filled_vote_sheet(held):
    db, s = held
    sheet = pl.read_excel(io.BytesIO(votes.vote_sheet_xlsx(db, s["id"])))
    assert sheet.columns == list(votes.VOTE_HEADERS) and sheet["单位"].to_list()[0] == "第1支部"
    filled = pl.DataFrame({"单位": ["第1支部", None, "第2支部", "第3支部"], "参评人数": ["30", None, "30", "30"],
                           "好": ["10", None, "20", "5"], "较好": ["10", None, "5", "5"], "一般": ["5", None, "5", "10"],
                           "差": ["5", None, "0", "10"], "评议意见": ["有亮点", None, None, "需加强"]})
    frame = fileio.Frame(filled, "测评表.xlsx")
    pv = votes.import_votes(db, EDITOR, s["id"], frame, today=LATE)
    assert pv.ok and pv.inserts == 3 and "还有 2 个单位" in pv.warnings[0]
    assert votes.votes(db, s["id"]).height == 0  # a dry run writes nothing
    done = votes.import_votes(db, EDITOR, s["id"], frame, commit=True, today=LATE)
    assert done.committed and batch_tables(db, done.batch_id) == {"report_votes"}
    assert votes.votes(db, s["id"])["unit_id"].to_list() == [2, 1, 3]
    # errors keep the sheet's row numbers (the blank line 3 is skipped, not renumbered)
    bad = filled.with_columns(pl.Series("参评人数", ["30", None, "31", "3x"]),
                              pl.Series("单位", ["第1支部", None, "第8支部", "第1支部"]))
    pv = votes.import_votes(db, EDITOR, s["id"], fileio.Frame(bad, "bad.xlsx"), commit=True, today=LATE)
    got = {(e.row, e.column) for e in pv.errors}
    assert {(4, "单位"), (4, "参评人数"), (5, "单位"), (5, "参评人数")} <= got, pv.errors
    assert votes.votes(db, s["id"]).filter(pl.col("unit_id") == 1)["comments"][0] == "有亮点"
    missing = votes.import_votes(db, EDITOR, s["id"], fileio.Frame(pl.DataFrame({"单位": ["第1支部"]}), "x.csv"))
    assert {e.column for e in missing.errors} == {"参评人数", "好", "较好", "一般", "差"}


# -- rectification chain -----------------------------------------------------------------------
def test_items_refuse_bad_dates_and_closing_before_opening(rdb):
    with pytest.raises(ValidationFailed) as exc:
        rectifications.add_item(rdb, EDITOR, unit_id=1, problem="问题", responsible="书记", opened=D(2024, 3, 1),
                   deadline=D(2024, 2, 1))
    assert "整改期限不能早于下发日期" in exc.value.errors[0].message
    with pytest.raises(ValidationFailed):
        rectifications.add_item(rdb, EDITOR, unit_id=None, problem="", responsible="书记", opened=D(2024, 3, 1), deadline=D(2024, 4, 1))
    iid = rectifications.add_item(rdb, EDITOR, unit_id=1, problem="问题", responsible="书记", opened=D(2024, 3, 1),
                     deadline=D(2024, 4, 1), source="supervision")
    with pytest.raises(BadInput, match="不能早于下发日期"):
        rectifications.close_item(rdb, EDITOR, iid, D(2024, 2, 28))
    row = rectifications.items(rdb).filter(pl.col("id") == iid)
    with pytest.raises(ValidationFailed) as exc:  # the same through the table editor
        tables.save(rdb, EDITOR, specs.ITEMS_SPEC, tables.Changes(updates={iid: {"closed": "2024-02-28"}},
                                                              versions={iid: row["version"][0]}))
    assert "不能在下发之前销号" in exc.value.errors[0].message
    assert rectifications.items(rdb).filter(pl.col("id") == iid)["closed"][0] is None
    with pytest.raises(PermissionDenied):
        rectifications.close_item(rdb, VIEWER, iid, D(2024, 3, 5))
    rectifications.close_item(rdb, EDITOR, iid, D(2024, 3, 5), "已整改")
    with pytest.raises(BadInput, match="已于 2024-03-05 销号"):
        rectifications.close_item(rdb, EDITOR, iid, D(2024, 3, 6))


def test_board_orders_by_days_overdue_and_proposes_the_next_level(rdb):
    a = rectifications.add_item(rdb, EDITOR, unit_id=1, problem="甲", responsible="书记", opened=D(2024, 1, 1), deadline=D(2024, 2, 1))
    b = rectifications.add_item(rdb, EDITOR, unit_id=2, problem="乙", responsible="书记", opened=D(2024, 1, 1), deadline=D(2024, 1, 10))
    rectifications.add_item(rdb, EDITOR, unit_id=3, problem="丙", responsible="书记", opened=D(2024, 1, 1), deadline=D(2024, 3, 1))
    board = rectifications.board(rdb, D(2024, 2, 2))
    assert board["item_id"].to_list() == [b, a]
    assert board["days_overdue"].to_list() == [23, 1]
    assert board["proposed_name"].to_list() == ["通报批评单", "通报批评单"]
    assert board["name"].to_list() == ["第2支部", "第1支部"]
    assert rectifications.counts(rdb, D(2024, 2, 2)) == {"open": 3, "overdue": 2, "level1": 3, "level2": 0, "level3": 0, "total": 3}


def test_escalation_timing_levels_and_refusals(rdb):
    iid = rectifications.add_item(rdb, EDITOR, unit_id=4, problem="<script>alert(1)</script>党费未交", responsible="组织委员",
                     opened=D(2024, 1, 1), deadline=D(2024, 2, 1))
    with pytest.raises(BadInput) as exc:  # on the deadline day it is still in time
        rectifications.confirm_escalations(rdb, EDITOR, [(iid, 1)], confirmed_on=D(2024, 2, 1), today=D(2024, 2, 1))
    assert "还没有逾期" in exc.value.errors[0].message
    with pytest.raises(PermissionDenied):
        rectifications.confirm_escalations(rdb, VIEWER, [(iid, 1)], confirmed_on=D(2024, 2, 2), today=D(2024, 2, 2))
    with pytest.raises(BadInput, match="不能晚于今天"):
        rectifications.confirm_escalations(rdb, EDITOR, [(iid, 1)], confirmed_on=D(2024, 2, 3), today=D(2024, 2, 2))
    batch = rectifications.confirm_escalations(rdb, EDITOR, [(iid, 1)], confirmed_on=D(2024, 2, 2), today=D(2024, 2, 2))
    assert batch_tables(rdb, batch) == {"rectification_items", "rectification_escalations"}
    it = rectifications.items(rdb).filter(pl.col("id") == iid).to_dicts()[0]
    assert (it["level"], it["deadline"]) == (2, D(2024, 2, 17))   # confirmed + 15 days
    esc = rectifications.escalations(rdb, iid).to_dicts()[0]
    assert (esc["from_level"], esc["to_level"], esc["from_deadline"], esc["days_overdue"]) == (1, 2, D(2024, 2, 1), 1)
    with pytest.raises(BadInput) as exc:  # someone else already escalated it
        rectifications.confirm_escalations(rdb, EDITOR, [(iid, 1)], confirmed_on=D(2024, 3, 1), today=D(2024, 3, 1))
    assert "已被别人升级" in exc.value.errors[0].message
    rectifications.confirm_escalations(rdb, EDITOR, [(iid, 2)], confirmed_on=D(2024, 2, 20), today=D(2024, 2, 20))
    assert rectifications.board(rdb, D(2024, 3, 10)).to_dicts()[0]["at_top"] is True
    with pytest.raises(BadInput) as exc:
        rectifications.confirm_escalations(rdb, EDITOR, [(iid, 3)], confirmed_on=D(2024, 3, 10), today=D(2024, 3, 10))
    assert "最高一级" in exc.value.errors[0].message
    docs = rectifications.documents(rdb, iid)
    assert [(d["level"], d["deadline"]) for d in docs] == [(1, D(2024, 2, 1)), (2, D(2024, 2, 17)), (3, D(2024, 3, 6))]
    for level, title in ((1, "问题整改意见单"), (2, "通报批评单"), (3, "主要领导约谈单")):
        page = notices.rectification_notice_html(rdb, iid, level)
        assert title in page and "第4支部" in page and "<script>" not in page
    assert "逾期 3 天" in notices.rectification_notice_html(rdb, iid, 3)
    # with a reverted escalation the item is back where it was
    audit.revert_batch(rdb, EDITOR, audit.list_batches(rdb, EDITOR)["id"][0])
    assert rectifications.items(rdb).filter(pl.col("id") == iid)["level"][0] == 2


def test_escalating_several_items_is_all_or_nothing(rdb):
    a = rectifications.add_item(rdb, EDITOR, unit_id=1, problem="甲", responsible="书记", opened=D(2024, 1, 1), deadline=D(2024, 2, 1))
    b = rectifications.add_item(rdb, EDITOR, unit_id=2, problem="乙", responsible="书记", opened=D(2024, 1, 1), deadline=D(2024, 5, 1))
    with pytest.raises(BadInput):
        rectifications.confirm_escalations(rdb, EDITOR, [(a, 1), (b, 1)], confirmed_on=D(2024, 3, 1), today=D(2024, 3, 1))
    assert rectifications.items(rdb)["level"].to_list() == [1, 1]
    rectifications.confirm_escalations(rdb, EDITOR, [(a, 1)], confirmed_on=D(2024, 3, 1), today=D(2024, 3, 1))
    with pytest.raises(ValidationFailed, match="错误"):  # an item that was escalated cannot be deleted
        row = rectifications.items(rdb).filter(pl.col("id") == a)
        tables.save(rdb, EDITOR, specs.ITEMS_SPEC, tables.Changes(deletes=[a], versions={a: row["version"][0]}))


# -- effect ------------------------------------------------------------------------------------
def test_effect_compares_the_score_before_and_at_the_next_two_sessions(rdb):
    ss = year_sessions(rdb)
    for i, s in enumerate(ss[:3]):
        set_capacity(rdb, s["id"], 2)
        picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
        picks.publish(rdb, EDITOR, s["id"], today=s["session_date"])
        # after each session the units that reported improve by 30 points
        done = picked_units(rdb, s["id"])
        month = f"2024-{s['session_date'].month + 1:02d}"
        put_values(rdb, {u: min(100.0, 10.0 * u + 30 * (i + 1)) for u in done}, period=month)
    eff = effect.effect(rdb)
    first = eff.filter(pl.col("session_date") == ss[0]["session_date"]).sort("unit_id")
    assert first["unit_id"].to_list() == [1, 2]
    assert first["before"].to_list() == [10.0, 20.0]
    assert first["change_1"].to_list() == [30.0, 30.0]
    by = effect.effect_by_session(rdb)
    s1 = by.filter(pl.col("session_date") == ss[0]["session_date"])
    assert dict(zip(s1["group"].to_list(), s1["mean_change"].to_list())) == {"其他单位": 0.0, "述职单位": 30.0}


# -- demo data ---------------------------------------------------------------------------------
def test_demo_data_is_consistent(demo_db):
    db = demo_db
    ss = sessions.sessions(db)
    today = clock.today()
    assert ss.height == 12 and ss["year"].n_unique() == 2
    past = ss.filter(pl.col("session_date") < today)
    assert set(past["status"].to_list()) == {"published"}
    assert set(ss.filter(pl.col("session_date") >= today)["status"].to_list()) <= {"draft"}
    assert (past["n_picked"] > 0).all() and (past["n_votes"] == past["n_picked"]).all()
    with db.read() as cur:
        bad = cur.execute("SELECT count(*) FROM report_votes WHERE good + fairly_good + average + poor <> voters").fetchone()[0]
        levels = dict(cur.execute("SELECT level, count(*) FROM rectification_items WHERE closed IS NULL GROUP BY level").fetchall())
        snaps = cur.execute("SELECT count(DISTINCT session_id) FROM report_session_scores").fetchone()[0]
        months = cur.execute("SELECT count(DISTINCT period) FROM report_indicator_values").fetchone()[0]
        closed_early = cur.execute("SELECT count(*) FROM rectification_items WHERE closed < opened").fetchone()[0]
    assert bad == 0 and closed_early == 0
    assert set(levels) == {1, 2, 3}, levels
    assert snaps == past.height and months >= 12
    assert rectifications.board(db).height > 0 and effect.effect(db).height == past["n_picked"].sum()
    # a past list follows the rule as it stood on that day (in cool-down order, lowest first)
    first = picks.picks(db, past["id"][0])
    assert first["reason"][0].startswith("进度分") and "倒数第 1" in first["reason"][0]


def test_audit_labels_are_registered():
    for t in ("report_sessions", "report_picks", "report_votes", "rectification_items", "rectification_escalations",
              "report_indicators", "report_indicator_values", "report_settings"):
        assert audit.key_column(t) == "id" and audit.WRITE_PERMS[t] == model.PERM and audit.table_labels()[t]


def test_chart_datasets_for_briefings(demo_db):
    from dangjian_core.charts import datasets
    from dangjian_core.charts import model as chart_model
    from tests.conftest import VIEWER as viewer

    codes = {d.code for d in datasets.available_datasets(demo_db, viewer)}
    assert {"report_scores", "report_votes", "rectification_items"} <= codes
    for code in ("report_scores", "report_votes", "rectification_items"):
        ds = chart_model.get_dataset(code)
        frame = datasets.load_frame(demo_db, viewer, ds)
        assert frame.height > 0 and {f.name for f in ds.fields} <= set(frame.columns), code
    items = datasets.load_frame(demo_db, viewer, chart_model.get_dataset("rectification_items"))
    assert set(items["level"].unique().to_list()) <= set(model.LEVEL_NAMES.values())


# -- issue 16 §3 on the web path: one tie rule, no negative zero, working-day overdue board ---
def test_web_ranking_ties_by_numeric_unit_id_and_never_prints_negative_zero(db):
    add_orgs(db, 12)
    with db.write() as cur:
        cur.execute("UPDATE report_indicators SET enabled = (code = 'open_rectifications')")
    # at the floor (5 open items) the lower-is-better score is 0: units 11, 10 and 9 tie at 0
    for unit in (11, 10, 9):
        for k in range(5):
            rectifications.add_item(db, EDITOR, unit_id=unit, problem=f"问题{k}", responsible="书记", opened=D(2024, 1, 1),
                       deadline=D(2025, 6, 1))
    s = year_sessions(db)[0]
    ranked = picks.ranking(db, s["id"], today=LATE).ranked
    assert ranked["unit_id"].to_list()[:3] == [9, 10, 11]          # numbers: 9 before 10
    assert all("-0" not in t for t in ranked["reason"].to_list())
    assert ranked["reason"][0].startswith("进度分 0.0，")


def test_board_counts_working_days_when_the_office_chooses(rdb):
    a = rectifications.add_item(rdb, EDITOR, unit_id=1, problem="甲", responsible="书记", opened=D(2024, 1, 1), deadline=D(2024, 2, 2))
    assert rectifications.board(rdb, D(2024, 2, 5))["days_overdue"].to_list() == [3]       # default: calendar days
    s = specs.settings(rdb)
    specs.save_settings(rdb, EDITOR, {"overdue_count": "working"}, s["version"])
    assert specs.settings(rdb)["overdue_count"] == "working"
    board = rectifications.board(rdb, D(2024, 2, 5))
    assert board["item_id"].to_list() == [a] and board["days_overdue"].to_list() == [1]  # Sat, Sun not counted


def test_indicator_code_is_hidden_and_made_up_for_a_new_indicator(rdb):
    """Issue 14: the settings editor shows 指标名称, never codes such as dues_collection_rate; the
    code stays the key values refer to, and an indicator added without one gets one."""
    spec = specs.INDICATORS_SPEC
    assert spec.column("code").hidden and "指标代码" not in [c.label for c in tables.search_columns(spec)]
    tables.save(rdb, EDITOR, spec, tables.Changes(inserts=[{"name": "主题党日开展率二", "weight": 5,
                                                            "direction": "越高越好", "target": 100, "floor": 0}]))
    code = indicators.indicators(rdb).filter(pl.col("name") == "主题党日开展率二")["code"][0]
    assert specs._CODE_RE.match(code)
    with rdb.read() as cur:
        assert indicators.indicator_choices(cur)[code] == "主题党日开展率二"


def test_rank_wording_is_one_and_counts_the_same_units_after_a_lock(rdb):
    """Issue 14: 「全部 8 个单位中倒数第 1」 next to 「全部 7 个…」 on one list. Regenerating around a
    locked unit ranks the new picks among all scored units too, in the one wording."""
    s = year_sessions(rdb)[0]
    picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    p = picks.picks(rdb, s["id"])
    picks.lock_pick(rdb, EDITOR, int(p["id"][0]))
    picks.draft_picks(rdb, EDITOR, s["id"], today=LATE)
    reasons = picks.picks(rdb, s["id"])["reason"].to_list()
    assert len(reasons) == 5 and all(x.startswith("进度分") for x in reasons), reasons
    assert all(f"，{rules.rank_phrase(i, 8)}；" in x for i, x in zip(range(1, 6), reasons)), reasons
