"""述职评议 rules: scores, picking (property test against a plain-Python reference), sessions,
votes, the rectification chain and the effect of reporting."""

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangjian_core.errors import BadInput
from dangjian_core.reports import rules as r

D = dt.date


def units_frame(rows):
    return pl.DataFrame(rows, schema={"unit_id": pl.String, "name": pl.String, "progress": pl.Float64},
                        orient="row")


def history_frame(rows):
    return pl.DataFrame(rows, schema={"unit_id": pl.String, "date": pl.Date}, orient="row")


def indicator_values(*rows):
    """(unit_id, indicator, value) rows as the frame the score rules read."""
    return pl.DataFrame(rows, schema={"unit_id": pl.String, "indicator": pl.String, "value": pl.Float64}, orient="row")


# ------------------------------------------------------------------------------ scores

def test_score_formula_higher_better_lower_better_and_clamping():
    vals = indicator_values(("a", "dues_collection_rate", 62.0), ("b", "overdue_rectifications", 1.0),
                            ("c", "site_assessment_score", 95.0), ("d", "open_rectifications", 9.0))
    c = r.indicator_contributions(vals)
    score = dict(zip(c["unit_id"], c["score"]))
    assert score["a"] == pytest.approx(62.0)              # (62-0)/(100-0)
    assert score["b"] == pytest.approx(100 * 2 / 3)       # (1-3)/(0-3): 1 of 3 allowed overdue
    assert score["c"] == 100.0                            # above target 90 → clamped
    assert score["d"] == 0.0                              # 9 open items, floor 5 → clamped
    p = r.progress_scores(vals)
    assert dict(zip(p["unit_id"], p["progress"])) == {"a": 62.0, "b": 66.7, "c": 100.0, "d": 0.0}


def test_weights_are_renormalised_over_present_indicators():
    vals = indicator_values(("a", "dues_collection_rate", 62.0), ("a", "three_meetings_one_lesson_rate", 40.0),
                            ("a", "ten_tasks_progress", None))  # ten_tasks missing: neither helps nor hurts
    p = r.progress_scores(vals)
    assert p["progress"].to_list() == [round((20 * 62 + 15 * 40) / 35, 1)]  # 52.6
    assert p["n_indicators"].to_list() == [2]
    c = r.indicator_contributions(vals)
    assert c["share"].sum() == pytest.approx(1.0)
    assert (c["contribution"] + c["shortfall"]).to_list() == pytest.approx((c["share"] * 100).to_list())


def test_total_weight_zero_is_refused_in_chinese():
    defs = [r.IndicatorDef("x", "甲指标", 0, "higher_better", 100, 0)]
    with pytest.raises(BadInput, match="权重之和为 0"):
        r.progress_scores(pl.DataFrame({"unit_id": ["a"], "indicator": ["x"], "value": [1.0]}), defs)
    defs = [r.IndicatorDef("x", "甲", 0, "higher_better", 100, 0), r.IndicatorDef("y", "乙", 1, "higher_better", 100, 0)]
    with pytest.raises(BadInput, match="权重之和为 0.*a"):
        r.progress_scores(pl.DataFrame({"unit_id": ["a"], "indicator": ["x"], "value": [1.0]}), defs)


def test_bad_definitions_and_values_are_refused():
    with pytest.raises(BadInput, match="目标值.*应小于底线值"):
        r.check_defs([r.IndicatorDef("x", "逾期", 1, "lower_better", 5, 0)])
    with pytest.raises(BadInput, match="未设置的指标代码"):
        r.progress_scores(pl.DataFrame({"unit_id": ["a"], "indicator": ["nope"], "value": [1.0]}))
    with pytest.raises(BadInput, match="多个值"):
        r.progress_scores(pl.DataFrame({"unit_id": ["a", "a"], "indicator": ["dues_collection_rate"] * 2,
                                        "value": [1.0, 2.0]}))


def test_latest_values_takes_latest_nonempty_up_to_as_of():
    hist = pl.DataFrame({
        "unit_id": ["a"] * 4,
        "indicator": ["dues_collection_rate"] * 4,
        "month": ["2024-01", "2024-02", "2024-03", "2024-04"],
        "value": [10.0, 20.0, None, 40.0],
    })
    assert r.latest_values(hist)["value"].to_list() == [40.0]
    assert r.latest_values(hist, as_of="2024-03")["value"].to_list() == [20.0]


def test_lagging_reasons_name_the_indicators_that_cost_most():
    vals = indicator_values(("a", "dues_collection_rate", 62.0), ("a", "three_meetings_one_lesson_rate", 40.0),
                            ("a", "ten_tasks_progress", 95.0), ("b", "dues_collection_rate", 100.0))
    lag = r.lagging_reasons(r.indicator_contributions(vals))
    got = dict(zip(lag["unit_id"], lag["lagging"]))
    # shortfalls: dues 20·38=760, three 15·60=900, ten tasks 15·5=75 → three first, then dues
    assert got["a"] == "三会一课完成率 40%（目标 100%）、党费收缴率 62%（目标 100%）"
    assert got["b"] == r.ALL_TARGETS_MET
    lag1 = r.lagging_reasons(r.indicator_contributions(
        pl.DataFrame({"unit_id": ["c"], "indicator": ["overdue_rectifications"], "value": [2.0]})))
    assert lag1["lagging"].to_list() == ["逾期整改事项 2项（目标 0项）"]


# ------------------------------------------------------------------------------ picking

def reference_pick(units, history, on, capacity, cooldown=120):
    """The rule of cli.md written the simplest way, in plain Python."""
    ids = {u[0] for u in units}
    last = {}
    for uid, d in history:
        if uid in ids and d <= on and (uid not in last or d > last[uid]):
            last[uid] = d

    numeric = all(str(u[0]).strip().lstrip("-").isdigit() for u in units)

    def key(u):
        uid, _name, progress = u
        days = (on - last[uid]).days if uid in last else None
        cooling = days is not None and days <= cooldown
        wait = float("inf") if days is None else days
        # one tie rule everywhere: numeric when every id is a whole number, else text
        return (cooling, progress, -wait, int(uid) if numeric else 0, str(uid))

    return [u[0] for u in sorted(units, key=key)[:capacity]], last


@st.composite
def pick_cases(draw):
    ids = draw(st.lists(st.text("abXY12", min_size=1, max_size=3), min_size=1, max_size=25, unique=True))
    progress = st.one_of(st.sampled_from([0.0, 10.0, 42.5, 100.0]), st.floats(0, 100, allow_nan=False))
    units = [(uid, f"单位{uid}", draw(progress)) for uid in ids]
    on = draw(st.dates(D(2020, 1, 1), D(2030, 12, 31)))
    offsets = st.one_of(st.sampled_from([-3, 0, 1, 119, 120, 121, 365]), st.integers(-30, 900))
    hist_ids = st.one_of(st.sampled_from(ids), st.just("unknown"))
    history = [(draw(hist_ids), on - dt.timedelta(days=draw(offsets)))
               for _ in range(draw(st.integers(0, 40)))]
    capacity = draw(st.integers(1, len(ids) + 3))
    return units, history, on, capacity


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pick_cases())
def test_pick_matches_reference_and_rule_properties(case):
    units, history, on, capacity = case
    got = r.pick_units(units_frame(units), history_frame(history), on, capacity)
    expected, last = reference_pick(units, history, on, capacity)

    assert got.height == min(capacity, len(units))
    assert got["unit_id"].to_list() == expected
    assert got["rank"].to_list() == list(range(1, got.height + 1))
    assert got.columns[:5] == ["unit_id", "name", "progress", "rank", "reason"]

    progress = {u[0]: u[2] for u in units}
    cooling = {uid for uid, d in last.items() if (on - d).days <= 120}
    eligible = [u[0] for u in units if u[0] not in cooling]
    picked = set(got["unit_id"])
    picked_cooling = picked & cooling
    # cool-down units only when fewer than N others exist; then all others are in
    if picked_cooling:
        assert len(eligible) < capacity
        assert set(eligible) <= picked
    # the eligible picked are the N lowest eligible
    picked_eligible = [u for u in eligible if u in picked]
    rest = [u for u in eligible if u not in picked]
    if picked_eligible and rest:
        assert max(progress[u] for u in picked_eligible) <= min(progress[u] for u in rest)
    # cooling units always rank after all eligible ones
    flags = got["in_cooldown"].to_list()
    assert flags == sorted(flags)


def test_cooldown_boundary_120_days_is_in_121_is_out():
    on = D(2024, 6, 25)
    units = units_frame([("A", "甲", 10.0), ("B", "乙", 20.0), ("C", "丙", 30.0)])
    hist = history_frame([("A", on - dt.timedelta(days=120)), ("B", on - dt.timedelta(days=121))])
    got = r.pick_units(units, hist, on, 2)
    assert got["unit_id"].to_list() == ["B", "C"]          # A (120 days) waits
    assert got["in_cooldown"].to_list() == [False, False]
    hist = history_frame([("A", on)])                       # a report on the date itself: 0 days
    assert r.pick_units(units, hist, on, 1)["unit_id"].to_list() == ["B"]


def test_future_reports_are_ignored_and_ties_use_wait_then_unit_id():
    on = D(2024, 6, 25)
    units = units_frame([("U3", "c", 40.0), ("U2", "b", 40.0), ("U1", "a", 40.0), ("U0", "z", 40.0)])
    hist = history_frame([("U1", D(2023, 1, 1)), ("U2", D(2022, 1, 1)), ("U0", D(2024, 7, 1))])
    got = r.pick_units(units, hist, on, 4)
    # never reported (U0: its report is after the date; U3) first by unit_id, then the longer wait
    assert got["unit_id"].to_list() == ["U0", "U3", "U2", "U1"]


def test_capacity_rules_and_notes():
    units = units_frame([("A", "甲", 10.0), ("B", "乙", 20.0)])
    empty = history_frame([])
    for bad in (0, -1):
        with pytest.raises(BadInput, match="名额数必须大于 0"):
            r.pick_units(units, empty, D(2024, 1, 1), bad)
    got = r.pick_units(units, empty, D(2024, 1, 1), 5)
    assert got.height == 2
    assert r.pick_notes(got, 2, 5) == ["名额 5 个，多于单位总数 2 个：全部 2 个单位入选"]
    assert r.pick_notes(r.pick_units(units, empty, D(2024, 1, 1), 1), 2, 1) == []


def test_reasons_name_lagging_indicators_position_and_cooldown():
    on = D(2024, 6, 25)
    vals = pl.DataFrame({"unit_id": ["A", "A", "B"],
                         "indicator": ["dues_collection_rate", "three_meetings_one_lesson_rate",
                                       "dues_collection_rate"],
                         "value": [62.0, 40.0, 90.0]})
    contrib = r.indicator_contributions(vals)
    units = r.progress_from_contributions(contrib).with_columns(name=pl.col("unit_id"))
    hist = history_frame([("B", D(2024, 5, 1)), ("A", D(2023, 12, 1))])
    got = r.pick_units(units.select("unit_id", "name", "progress"), hist, on, 2,
                       lagging=r.lagging_reasons(contrib))
    ra, rb = got["reason"].to_list()
    assert ra == ("进度分 52.6，全部 2 个单位中倒数第 1；滞后指标：三会一课完成率 40%（目标 100%）、"
                  "党费收缴率 62%（目标 100%）；上次述职 2023-12-01（距今 207 天）")
    assert rb.startswith("进度分 90.0，全部 2 个单位中倒数第 2；滞后指标：党费收缴率 90%（目标 100%）；")
    assert "距今 55 天，仍在 120 天冷却期内" in rb and "不足名额 2 个" in rb
    plain = r.pick_units(units_frame([("X", "x", 42.0)]), history_frame([]), on, 1)
    assert plain["reason"].to_list() == ["进度分 42.0，全部 1 个单位中倒数第 1；从未述职"]


def test_bad_units_are_refused():
    with pytest.raises(BadInput) as e:
        r.pick_units(units_frame([("A", "a", 101.0), ("A", "b", 5.0)]), history_frame([]), D(2024, 1, 1), 1)
    text = str(e.value)
    assert "progress" in text and "0–100" in text and "单位编号重复" in text


def test_pick_is_fast_for_2000_units_with_24_months_of_indicators():
    import random

    rng = random.Random(7)
    months = [f"{2023 + (m // 12)}-{m % 12 + 1:02d}" for m in range(24)]
    codes = [d.code for d in r.DEFAULT_INDICATORS]
    n = 2000
    rows = {"unit_id": [], "indicator": [], "month": [], "value": []}
    for u in range(n):
        for m in months:
            for c in codes:
                rows["unit_id"].append(f"U{u:04d}")
                rows["indicator"].append(c)
                rows["month"].append(m)
                rows["value"].append(float(rng.randint(0, 100)) if "rate" in c or "progress" in c
                                     or "score" in c else float(rng.randint(0, 6)))
    values = pl.DataFrame(rows)
    hist = history_frame([(f"U{rng.randrange(n):04d}", D(2024, 1, 1) + dt.timedelta(days=rng.randrange(700)))
                          for _ in range(3000)])
    contrib = r.indicator_contributions(r.latest_values(values))
    units = r.progress_from_contributions(contrib).with_columns(name=pl.col("unit_id"))
    got = r.pick_units(units.select("unit_id", "name", "progress"), hist, D(2024, 12, 20), 10,
                       lagging=r.lagging_reasons(contrib))
    assert got.height == 10  # timings live in bench/bench_reports.py, never in pass/fail tests
    assert got["progress"].to_list() == sorted(got["progress"].to_list())


def test_coverage_reported_this_year_and_never():
    units = units_frame([("A", "甲", 1.0), ("B", "乙", 1.0), ("C", "丙", 1.0)])
    hist = history_frame([("A", D(2024, 3, 1)), ("A", D(2024, 9, 1)), ("B", D(2023, 5, 1)),
                          ("C", D(2025, 1, 5))])
    cov = r.coverage(hist, units, 2024)
    assert cov.select("unit_id", "reports_in_year", "status").rows() == [
        ("A", 2, "reported"), ("B", 0, "not_this_year"), ("C", 0, "never")]
    assert cov["status_zh"].to_list() == ["本年已述职", "本年未述职", "从未述职"]


# ------------------------------------------------------------------------------ sessions

def test_default_sessions_six_every_two_months_with_themes():
    s = r.default_sessions(2024)
    assert [x.date.month for x in s] == [2, 4, 6, 8, 10, 12]
    assert all(x.date.weekday() < 5 for x in s)
    assert [x.kind for x in s] == ["year_start", "ordinary", "mid_year", "ordinary", "ordinary", "year_end"]
    assert "上年工作总结和本年计划" in s[0].theme
    assert "半年总结和下半年计划" in s[2].theme
    assert "全年考评" in s[5].theme
    assert r.validate_sessions(s, 2024) == s


def test_sessions_cannot_share_a_date():
    s = r.default_sessions(2024)
    with pytest.raises(BadInput, match="同一天"):
        r.reschedule(s, 2, s[0].date)
    moved = r.reschedule(s, 2, D(2024, 4, 18))
    assert moved[1].date == D(2024, 4, 18) and len(moved) == 6


# ------------------------------------------------------------------------------ votes

def test_tally_votes_validation_and_rate():
    t = r.tally_votes(20, 10, 5, 5, 40)
    assert t.good_rate == 75.0
    with pytest.raises(BadInput) as e:
        r.tally_votes(20, 10, 5, 4, 40)
    assert "四档票数之和（39）应等于参评人数（40）" in str(e.value)
    with pytest.raises(BadInput, match="不能为负数"):
        r.tally_votes(-1, 10, 5, 26, 40)
    with pytest.raises(BadInput, match="应为整数"):
        r.tally_votes(1.5, 10, 5, 26, 40)
    with pytest.raises(BadInput, match="参评人数应大于 0"):
        r.tally_votes(0, 0, 0, 0, 0)


def test_rank_votes_in_a_session_with_shared_ranks_and_row_errors():
    v = pl.DataFrame({"unit_id": ["a", "b", "c", "d"], "good": [3, 6, 5, 2], "fairly_good": [1, 2, 0, 2],
                      "average": [0, 0, 3, 0], "poor": [0, 0, 0, 0], "voters": [4, 8, 8, 4]})
    got = r.rank_votes(v)
    assert got.select("unit_id", "good_rate", "rank").rows() == [
        ("a", 100.0, 1), ("b", 100.0, 1), ("d", 100.0, 3), ("c", 62.5, 4)]  # d: fewer 好
    bad = v.with_columns(poor=pl.Series([0, 0, 1, -1]))
    with pytest.raises(BadInput) as e:
        r.rank_votes(bad, first_row=2)
    assert "第 5 行 列「poor」" in str(e.value)


# ------------------------------------------------------------------------------ rectification

def items_frame(rows):
    return pl.DataFrame(rows, schema={"item_id": pl.Int64, "unit_id": pl.String, "level": pl.Int64,
                                      "opened": pl.Date, "deadline": pl.Date, "closed": pl.Date},
                        orient="row")


def test_escalation_on_deadline_day_nothing_day_after_next_level():
    items = items_frame([(1, "A", 1, D(2024, 3, 1), D(2024, 3, 15), None)])
    assert r.escalation_proposals(items, D(2024, 3, 15)).height == 0      # deadline day: in time
    got = r.escalation_proposals(items, D(2024, 3, 16)).to_dicts()
    assert len(got) == 1
    assert got[0]["days_overdue"] == 1
    assert (got[0]["proposed_level"], got[0]["proposed_name"]) == (2, "通报批评单")
    assert got[0]["proposed_deadline"] == D(2024, 3, 31)                  # today + 15
    assert "逾期 1 天" in got[0]["note"]


def test_escalation_chain_top_level_stays_and_closed_items_are_quiet():
    items = items_frame([
        (1, "A", 2, D(2024, 3, 1), D(2024, 3, 10), None),
        (2, "B", 3, D(2024, 3, 1), D(2024, 3, 5), None),
        (3, "C", 1, D(2024, 3, 1), D(2024, 3, 5), D(2024, 3, 20)),
    ])
    got = r.escalation_proposals(items, D(2024, 3, 20))
    assert got.select("item_id", "proposed_level", "at_top", "days_overdue").rows() == [
        (2, 3, True, 15), (1, 3, False, 10)]
    assert got.filter(pl.col("at_top"))["proposed_deadline"].to_list() == [None]
    assert "已是主要领导约谈单" in got["note"][0]


def test_escalate_sets_new_deadline_from_confirmation_date():
    e = r.escalate(1, D(2024, 3, 18))
    assert (e.level, e.name, e.issued, e.deadline) == (2, "通报批评单", D(2024, 3, 18), D(2024, 4, 2))
    assert r.escalate(2, D(2024, 3, 18), days=10).deadline == D(2024, 3, 28)
    with pytest.raises(BadInput, match="最高一级"):
        r.escalate(3, D(2024, 3, 18))


def test_item_cannot_be_closed_before_it_was_opened():
    with pytest.raises(BadInput, match="不能早于下发日期"):
        r.check_close(D(2024, 3, 10), D(2024, 3, 9))
    r.check_close(D(2024, 3, 10), D(2024, 3, 10))
    items = items_frame([(1, "A", 1, D(2024, 3, 10), D(2024, 3, 20), D(2024, 3, 1))])
    with pytest.raises(BadInput) as e:
        r.validate_rectifications(items, first_row=2)
    assert "第 2 行 列「closed」" in str(e.value)


# ------------------------------------------------------------------------------ effect

def test_report_effect_before_and_next_two_sessions():
    s1, s2, s3, s4 = D(2024, 2, 23), D(2024, 4, 25), D(2024, 6, 25), D(2024, 8, 23)
    scores = pl.DataFrame({
        "session_date": [s1, s1, s2, s2, s3, s3, s4],
        "unit_id": ["A", "B", "A", "B", "A", "B", "B"],
        "progress": [40.0, 50.0, 45.0, 48.0, 60.0, 55.0, 70.0],
    })
    reports = pl.DataFrame({"unit_id": ["A", "B"], "date": [s1, D(2024, 4, 26)]})  # B: day after s2
    got = r.report_effect(scores, reports).to_dicts()
    assert got[0] == {"unit_id": "A", "report_date": s1, "session_date": s1, "before": 40.0,
                      "after_1": 45.0, "after_2": 60.0, "change_1": 5.0, "change_2": 20.0}
    assert got[1]["session_date"] == s2
    assert (got[1]["before"], got[1]["after_1"], got[1]["after_2"]) == (48.0, 55.0, 70.0)
    assert (got[1]["change_1"], got[1]["change_2"]) == (7.0, 22.0)


# ------------------------------------------------------------------ issue 16 §3: -0 and ties

def test_no_negative_zero_for_a_lower_is_better_indicator_at_its_floor():
    vals = pl.DataFrame({"unit_id": ["a"], "indicator": ["open_rectifications"], "value": [5.0]})
    c = r.indicator_contributions(vals)
    assert str(c["score"][0]) == "0.0" and str(c["contribution"][0]) == "0.0"
    scores = r.progress_from_contributions(c)
    assert str(scores["progress"][0]) == "0.0"
    lag = r.lagging_reasons(c)
    units = pl.DataFrame({"unit_id": ["a"], "name": ["甲"], "progress": [-0.0]})
    picked = r.pick_units(units, history_frame([]), D(2024, 6, 1), 1, lagging=lag)
    assert picked["reason"][0].startswith("进度分 0.0，")
    assert "-0" not in picked["reason"][0] and str(picked["progress"][0]) == "0.0"


@pytest.mark.parametrize("ids, dtype, expected", [
    (["10", "9", "100"], pl.String, ["9", "10", "100"]),     # all numeric text: numeric order
    ([10, 9, 100], pl.Int32, [9, 10, 100]),                  # the web path: orgs.id
    ([" 10", "9 ", "007", "7"], pl.String, ["007", "7", "9 ", " 10"]),  # equal numbers: then text
    (["10", "9", "A"], pl.String, ["10", "9", "A"]),         # not all numeric: text order
])
def test_one_tie_rule_for_unit_ids(ids, dtype, expected):
    units = pl.DataFrame({"unit_id": ids, "name": [f"单位{i}" for i in ids], "progress": [50.0] * len(ids)},
                         schema={"unit_id": dtype, "name": pl.String, "progress": pl.Float64})
    picked = r.pick_units(units, pl.DataFrame(schema={"unit_id": dtype, "date": pl.Date}), D(2024, 6, 1), len(ids))
    assert picked["unit_id"].to_list() == expected


@pytest.mark.parametrize("deadline, today, calendar, working", [
    (D(2024, 2, 2), D(2024, 2, 5), 3, 1),    # Fri → Mon: Sat, Sun, Mon; working: Mon only
    (D(2024, 2, 1), D(2024, 2, 2), 1, 1),
    (D(2024, 2, 2), D(2024, 2, 4), 2, 0),    # overdue over a weekend only
    (D(2024, 1, 10), D(2024, 2, 2), 23, 17),
])
def test_overdue_days_calendar_or_working(deadline, today, calendar, working):
    items = pl.DataFrame({"item_id": [1], "unit_id": [1], "level": [1], "deadline": [deadline],
                          "closed": [None], "opened": [D(2024, 1, 1)]},
                         schema_overrides={"closed": pl.Date})
    cal = r.escalation_proposals(items, today)
    wrk = r.escalation_proposals(items, today, overdue_count="working")
    assert cal["days_overdue"].to_list() == [calendar]
    assert wrk["days_overdue"].to_list() == [working]
    with pytest.raises(BadInput, match="计算方式"):
        r.escalation_proposals(items, today, overdue_count="holidays")


def test_excluded_units_still_count_in_the_rank_wording():
    units = units_frame([("A", "a", 10.0), ("B", "b", 20.0), ("C", "c", 30.0), ("D", "d", 40.0)])
    got = r.pick_units(units, history_frame([]), D(2024, 6, 1), 2, exclude=["A"])
    assert got["unit_id"].to_list() == ["B", "C"]
    assert [x.split("；")[0] for x in got["reason"]] == ["进度分 20.0，全部 4 个单位中倒数第 2",
                                                         "进度分 30.0，全部 4 个单位中倒数第 3"]
    assert r.rank_phrase(2, 4) == "全部 4 个单位中倒数第 2"


def test_ranks_are_worded_in_one_place():
    """Every 「…个单位中倒数第…」 comes from rules.RANK_WORDING (issue 14)."""
    import pathlib

    root = pathlib.Path(r.__file__).parents[1]  # all of dangjian_core
    hits = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py") for i, line in
            enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if ("倒数" in line or "个单位中" in line) and "RANK_WORDING =" not in line]
    assert hits == [], hits
