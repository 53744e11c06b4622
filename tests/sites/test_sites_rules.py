"""示范点: the pure lifecycle, due dates, scoring and pairing rules (no database)."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangjian_core.errors import BadInput, ValidationFailed
from dangjian_core.sites import rules as R

TODAY = date(2026, 11, 23)


def creating(y=2024, **kw):
    return R.SiteState("creating", y, **kw)


# -- every transition ----------------------------------------------------------------------
def test_select_moves_applied_to_creating_of_its_year():
    s = R.select(R.SiteState("applied", 2026))
    assert (s.status, s.creation_year) == ("creating", 2026)


@pytest.mark.parametrize("status", ["creating", "not_named", "named", "consolidating", "removed"])
def test_select_refuses_anything_but_applied(status):
    with pytest.raises(BadInput, match="只有「已申报」"):
        R.select(R.SiteState(status, 2024, last_year=2024))


def test_creating_passes_to_named_and_fails_to_not_named():
    assert R.after_assessment(creating(), 2024, "pass") == R.SiteState("named", 2024, 2024, 2024)
    assert R.after_assessment(creating(), 2024, "fail") == R.SiteState("not_named", 2024, None, 2024)


def test_named_passes_to_consolidating_and_fails_to_removed():
    named = R.SiteState("named", 2024, 2024, 2024)
    assert R.after_assessment(named, 2025, "pass").status == "consolidating"
    assert R.after_assessment(named, 2025, "fail").status == "removed"


def test_consolidating_stays_on_pass_and_is_removed_on_fail():
    c = R.SiteState("consolidating", 2022, 2022, 2023, interval=2)
    assert R.after_assessment(c, 2025, "pass") == R.SiteState("consolidating", 2022, 2022, 2025, 2)
    assert R.after_assessment(c, 2025, "fail").status == "removed"


@pytest.mark.parametrize("status,msg", [("applied", "尚未确定为创建单位"), ("not_named", "未命名"),
                                        ("removed", "已于 2024 年摘牌")])
def test_assessment_refused_outside_the_programme(status, msg):
    with pytest.raises(BadInput, match=msg):
        R.check_assessment(R.SiteState(status, 2024, last_year=2024), 2025, date(2025, 12, 1), TODAY)


def test_assessment_for_a_year_before_creation_is_refused():
    with pytest.raises(BadInput, match="早于.*创建年度 2024"):
        R.check_assessment(creating(2024), 2023, date(2024, 1, 10), TODAY)


def test_second_assessment_in_one_year_is_refused():
    with pytest.raises(BadInput, match="已经考评过了，一年只考评一次"):
        R.check_assessment(R.SiteState("named", 2024, 2024, 2024), 2024, date(2024, 12, 30), TODAY)


def test_assessment_out_of_order_is_refused():
    with pytest.raises(BadInput, match="按年度顺序"):
        R.check_assessment(R.SiteState("consolidating", 2020, 2020, 2023), 2022, date(2023, 1, 5), TODAY)


@pytest.mark.parametrize("year,on,msg", [
    (2027, date(2026, 11, 1), "还没到"),
    (2026, date(2026, 12, 1), "晚于今天"),
    (2025, date(2024, 12, 1), "早于考评年度"),
    (2024, date(2026, 1, 5), "太远"),
    ("二〇二五", date(2025, 1, 1), "四位数"),
    (1990, date(2025, 1, 1), "不合理"),
])
def test_bad_years_and_dates(year, on, msg):
    with pytest.raises(BadInput, match=msg):
        R.check_assessment(creating(2024), year, on, TODAY)


def test_late_first_assessment_and_next_year_date_are_accepted():
    assert R.check_assessment(creating(2024), 2025, date(2026, 2, 1), TODAY) == 2025


# -- applying ----------------------------------------------------------------------------
def test_apply_refuses_an_open_round_and_a_removed_site():
    with pytest.raises(BadInput, match="不能重复申报"):
        R.check_apply("甲", [R.SiteState("named", 2024, 2024, 2024)], 2026, TODAY)
    with pytest.raises(BadInput, match="摘牌，不能重新申报"):
        R.check_apply("甲", [R.SiteState("removed", 2022, 2022, 2024)], 2026, TODAY)


def test_not_named_may_apply_again_only_in_a_later_year():
    failed = [R.SiteState("not_named", 2025, None, 2025)]
    with pytest.raises(BadInput, match="2026 年起"):
        R.check_apply("甲", failed, 2025, TODAY)
    R.check_apply("甲", failed, 2026, TODAY)
    with pytest.raises(BadInput, match="太远"):
        R.check_apply("甲", [], 2029, TODAY)


# -- due dates -----------------------------------------------------------------------------
def test_due_years_per_status_and_interval():
    assert R.due_year(creating(2026)) == 2026
    assert R.due_year(R.SiteState("named", 2025, 2025, 2025)) == 2026
    assert R.due_year(R.SiteState("consolidating", 2022, 2022, 2024, interval=2)) == 2026
    assert R.due_year(R.SiteState("consolidating", 2022, 2022, 2024, interval=1)) == 2025
    assert R.due_date(R.SiteState("removed", 2022, last_year=2023)) is None
    assert R.is_overdue(R.SiteState("consolidating", 2022, 2022, 2024, interval=1), TODAY)
    assert not R.is_overdue(R.SiteState("consolidating", 2022, 2022, 2024, interval=2), TODAY)


# -- scoring -------------------------------------------------------------------------------
def sheet(*scores, bonus=None, penalty=None, veto=False):
    lines = [R.Line(i + 1, f"项目{i + 1}", "score", Decimal("25"), None, s) for i, s in enumerate(scores)]
    lines.append(R.Line(10, "加分", "bonus", Decimal("5"), None, bonus))
    lines.append(R.Line(11, "扣分", "penalty", Decimal("5"), None, penalty))
    lines.append(R.Line(12, "否决", "veto", None, None, None, veto))
    return lines


def test_total_and_result_are_computed():
    r = R.score(sheet(20, 20, 20, 19.5, bonus=2, penalty="1.5"))
    assert r.total == Decimal("80.00") and r.result == "pass" and not r.vetoed
    r = R.score(sheet(20, 20, 20, 19, bonus=None, penalty=None))
    assert r.total == Decimal("79.00") and r.result == "fail"


def test_a_veto_fails_whatever_the_total():
    r = R.score(sheet(25, 25, 25, 25, bonus=5, veto="是"))
    assert r.total == Decimal("105.00") and r.vetoed and r.result == "fail"


def test_scores_above_the_maximum_and_other_mistakes_are_listed_all_at_once():
    lines = sheet(26, "abc", None, -1, bonus=6, penalty=-2)
    lines[0].self_score = 30
    with pytest.raises(ValidationFailed) as e:
        R.score(lines)
    msgs = [(x.row, x.column, x.message) for x in e.value.errors]
    assert (1, "考评得分", "超过该项满分 25 分") in msgs
    assert (1, "自评分", "超过该项满分 25 分") in msgs
    assert (2, "考评得分", "应为数字（分数）") in msgs
    assert any(m[0] == 3 and "请填写" in m[2] for m in msgs)
    assert (4, "考评得分", "分数不能是负数") in msgs
    assert (5, "考评得分", "超过该项加分上限 5 分") in msgs
    assert (6, "考评得分", "扣分项填写扣除的分数（正数）") in msgs


def test_veto_items_take_no_points_and_only_veto_items_veto():
    lines = sheet(20, 20, 20, 20)
    lines[-1].score = 3
    lines[0].vetoed = True
    with pytest.raises(ValidationFailed) as e:
        R.score(lines)
    cols = {(x.row, x.column) for x in e.value.errors}
    assert (7, "考评得分") in cols and (1, "否决") in cols


def test_three_decimals_are_refused_and_total_never_negative():
    with pytest.raises(ValidationFailed, match="1 处"):
        R.score(sheet("20.125", 20, 20, 20))
    lines = [R.Line(1, "a", "score", Decimal(10), None, 0), R.Line(2, "p", "penalty", Decimal(5), None, 5)]
    assert R.score(lines, Decimal(60)).total == Decimal("0.00")


def test_self_total_is_separate():
    lines = sheet(20, 20, 20, 20)
    for ln in lines[:4]:
        ln.self_score = 25
    r = R.score(lines)
    assert r.self_total == Decimal("100.00") and r.total == Decimal("80.00")


def test_rubric_issues():
    items = [{"kind": "score", "max_points": Decimal(60)}, {"kind": "score", "max_points": None},
             {"kind": "veto", "max_points": Decimal(3)}]
    issues = R.rubric_issues(items)
    assert (1, "max_points", "评分项要填写大于 0 的分值", True) in issues
    assert any(i[0] == 2 and i[3] for i in issues)
    assert any(i[0] == -1 and not i[3] and "60" in i[2] for i in issues)


# -- pairing -------------------------------------------------------------------------------
def test_pairing_suggests_nearest_lagging_orgs_within_reach_once_each():
    sites = [{"org_id": 1, "name": "示范A", "street": "东", "lat": 30.0, "lon": 114.0},
             {"org_id": 2, "name": "示范B", "street": "西", "lat": 30.1, "lon": 114.1}]
    cands = [{"org_id": 10, "name": "近A", "street": "东", "lat": 30.001, "lon": 114.0},
             {"org_id": 11, "name": "远", "street": "东", "lat": 31.0, "lon": 115.0},
             {"org_id": 12, "name": "无坐标同街", "street": "西", "lat": None, "lon": None},
             {"org_id": 13, "name": "已结对", "street": "东", "lat": 30.0, "lon": 114.0},
             {"org_id": 1, "name": "示范A自己", "street": "东", "lat": 30.0, "lon": 114.0}]
    out = R.suggest_pairings(sites, cands, max_km=5, taken=[13])
    got = {(o["site_org_id"], o["org_id"]) for o in out}
    assert got == {(1, 10), (2, 12)}
    assert out[0]["distance_km"] < 0.2 and "公里" in out[0]["reason"]


def test_status_at_year_end():
    a = [(2024, "named"), (2025, "consolidating"), (2026, "removed")]
    assert R.status_at_year_end(2024, True, a, 2023) is None
    assert R.status_at_year_end(2024, True, [], 2024) == "creating"
    assert R.status_at_year_end(2024, True, a, 2024) == "named"
    assert R.status_at_year_end(2024, True, a, 2026) == "removed"
    assert R.status_at_year_end(2024, True, a[:2] + [], 2026) == "consolidating"
    assert R.status_at_year_end(2024, True, [(2024, "not_named")], 2025) is None
    assert R.status_at_year_end(2026, False, [], 2026) == "applied"


# -- property: the status is what the sequence of results implies ---------------------------
def implied_status(results: list[str]) -> str:
    """The oracle, written from the issue's words rather than from the state machine."""
    if not results:
        return "creating"
    if results[0] == "fail":
        return "not_named"
    if len(results) == 1:
        return "named"
    return "consolidating" if all(r == "pass" for r in results[1:]) else "removed"


@settings(max_examples=400, deadline=None)
@given(start=st.integers(2010, 2020), interval=st.sampled_from([1, 2]),
       steps=st.lists(st.tuples(st.integers(-2, 3), st.sampled_from(["pass", "fail"])), max_size=12))
def test_random_assessment_sequences(start, interval, steps):
    state = R.SiteState("creating", start, interval=interval)
    accepted: list[str] = []
    year = start - 1
    for gap, result in steps:
        y = year + gap
        try:
            R.check_assessment(state, y, date(min(y, 2026), 6, 1), TODAY)
        except BadInput:
            # refused exactly when outside the programme, or the year is not after the last
            assert (state.status not in R.ACTIVE or y < start or
                    (state.last_year is not None and y <= state.last_year) or y > 2026)
            continue
        assert state.status in R.ACTIVE and y >= start and (state.last_year is None or y > state.last_year)
        state = R.after_assessment(state, y, result)
        accepted.append(result)
        year = y
        assert state.status == implied_status(accepted)
        if state.status in R.ACTIVE:
            assert R.due_year(state) > y
        else:
            assert R.due_year(state) is None
    assert state.status == implied_status(accepted)
