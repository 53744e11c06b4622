"""AppTest: 观摩安排 and 观摩评分 for every role, and the writes they make."""

import polars as pl
import pytest

from dangjian_core.observation import jobs, model, rules, scores, store, views
from tests.pages.apptest_helpers import open_page, problems


def db_():
    from ui.session import get_db

    return get_db()


def button(at, starts):
    return next(b for b in at.button if b.label.startswith(starts))


def new_event_form(monkeypatch, tmp_path, demo_db_file):
    """观摩安排 as the editor with the picker's last option, 「新建观摩活动」: the empty setup form."""
    at = open_page(monkeypatch, tmp_path, demo_db_file, "editor", "pages/observation.py")
    sb = at.selectbox(key="obs_event")
    sb.select_index(len(sb.options) - 1)
    at.run()
    assert not problems(at), problems(at)
    return at


def create_and_solve(at, name: str) -> int:
    """新建观摩活动 with the form as filled in (named `name`), then 生成安排; the new event's id."""
    button(at, "新建观摩活动").click()
    at.run()
    assert not problems(at), problems(at)
    ev = store.events(db_()).filter(pl.col("name") == name)
    assert ev.height == 1
    eid = int(ev["id"][0])
    assert at.session_state["obs_event"] == eid
    button(at, "生成安排").click()
    at.run()
    assert not problems(at), problems(at)
    job = jobs.running(db_(), eid)
    if job is not None:  # a large event: a draft at once, the search in a thread stores the plan
        assert job.wait(120) and job.state == "stored", job.message
        at.run()
        assert not problems(at), problems(at)
    return eid


@pytest.mark.parametrize("role", ["admin", "editor", "treasurer", "viewer"])
def test_both_pages_render_for_each_role(monkeypatch, tmp_path, demo_db_file, role):
    at = open_page(monkeypatch, tmp_path, demo_db_file, role, "pages/observation.py")
    assert not problems(at), problems(at)
    assert at.title[0].value == "观摩安排"
    if role in ("treasurer", "viewer"):
        assert all(b.disabled for b in at.button if b.label.startswith(("生成", "重新生成", "保存设置")))
    at.switch_page("pages/observation_scores.py")
    at.run()
    assert not problems(at), problems(at)
    assert at.title[0].value == "观摩评分"


def test_editor_creates_solves_and_hand_edits(monkeypatch, tmp_path, demo_db_file):
    at = new_event_form(monkeypatch, tmp_path, demo_db_file)
    at.text_input(key="obs_setup_None_name").input("页面测试观摩")
    at.number_input(key="obs_setup_None_spd").set_value(2)
    at.text_input(key="obs_setup_None_times").input("09:00,14:00")
    eid = create_and_solve(at, "页面测试观摩")
    P = store.problem_for(db_(), eid)
    vs, _ = store.plan_visits(db_(), eid)
    assert len(vs) == 12 * 2 and rules.check_plan(P, vs) == []
    # a hand edit that breaks a rule: the first delegation goes to its own street
    d = P.delegations[0]
    own = next(h for h in P.hosts if h.street == d.street)
    key = at.session_state["obs_grid_key"]
    col = views.delegation_names(P)[d.id]
    at.session_state[key] = {"edited_rows": {0: {col: own.name}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert any("本街道" in str(df.value) for df in at.dataframe) or any("不符合要求" in e.value for e in at.error)
    assert button(at, "保存手工调整").disabled
    button(at, "保留这些调整").click()
    at.run()
    vs2, locked = store.plan_visits(db_(), eid)
    assert model.Visit(1, 1, d.id, own.org_id) not in vs2 or rules.check_plan(P, vs2) == []
    assert rules.check_plan(P, vs2) == []


def test_bad_setup_shows_chinese_message_and_writes_nothing(monkeypatch, tmp_path, demo_db_file):
    at = new_event_form(monkeypatch, tmp_path, demo_db_file)
    n = store.events(db_()).height
    at.number_input(key="obs_setup_None_spd").set_value(0)
    button(at, "新建观摩活动").click()
    at.run()
    assert not at.exception
    assert any("设置有误" in e.value for e in at.error)
    assert store.events(db_()).height == n


def test_scores_entry_ranking_and_tier_confirmation(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "editor", "pages/observation_scores.py")
    assert not problems(at), problems(at)
    assert [t.label for t in at.tabs] == ["评分录入", "排名", "等次调整", "图表"]
    # change one score on screen
    assert at.selectbox(key="obs_score_del").value is not None
    before = scores.scores(db_(), 1)
    key = at.session_state["obs_scores_key"]
    at.session_state[key] = {"edited_rows": {0: {"得分": 1.0}}, "added_rows": [], "deleted_rows": []}
    at.button(key="obs_scores_save").click()
    at.run()
    assert not problems(at), problems(at)
    after = scores.scores(db_(), 1)
    assert after["score"].min() == 1.0 and after.height == before.height
    # a score above the item's maximum is refused in Chinese, nothing written
    key = at.session_state["obs_scores_key"]
    at.session_state[key] = {"edited_rows": {1: {"得分": 99.0}}, "added_rows": [], "deleted_rows": []}
    at.button(key="obs_scores_save").click()
    at.run()
    assert any("没有保存" in e.value for e in at.error)
    assert scores.scores(db_(), 1)["score"].max() <= 25
    # confirm the proposed tier changes
    props = scores.proposals(db_(), 1, min_scores=2).filter("change")
    assert props.height
    tk = at.session_state["obs_tiers_key"]
    shown = next(e for e in at.data_editor if "采纳" in e.value.columns).value
    assert not shown["采纳"].any(), "nothing that changes a tier is pre-ticked"
    with db_().read() as cur:
        tiers_before = dict(cur.execute("SELECT CAST(id AS VARCHAR), tier FROM orgs").fetchall())
    at.button(key="obs_tiers_apply").click()  # nothing ticked: nothing happens
    at.run()
    assert any("勾选" in w.value for w in at.warning)
    # tick every proposal by hand, then the count is asked before anything is written
    tk = at.session_state["obs_tiers_key"]
    at.session_state[tk] = {"edited_rows": {i: {"采纳": True} for i in range(props.height)}, "added_rows": [],
                            "deleted_rows": []}
    at.button(key="obs_tiers_apply").click()
    at.run()
    assert any(f"将调整 {props.height} 个党组织的等次" in w.value for w in at.warning)
    with db_().read() as cur:
        assert dict(cur.execute("SELECT CAST(id AS VARCHAR), tier FROM orgs").fetchall()) == tiers_before
    at.button(key="obs_tiers_yes").click()
    at.run()
    assert not problems(at), problems(at)
    with db_().read() as cur:
        tiers = dict(cur.execute("SELECT CAST(id AS VARCHAR), tier FROM orgs").fetchall())
    assert all(model.TIER_CN[tiers[h]] == t for h, t in zip(props["host_org_id"], props["proposed_tier"]))


def a_valid_move(P, vs):
    """(delegation, slot index, host) that keeps every rule: a free, allowed, unseen host."""
    slots = views.slot_labels(P)
    for d in P.delegations:
        seen = {v.host_org_id for v in vs if v.delegation == d.id}
        for i, (day, slot, _) in enumerate(slots):
            if not any(v.delegation == d.id and v.day == day and v.slot == slot for v in vs):
                continue
            busy = {v.host_org_id for v in vs if v.day == day and v.slot == slot}
            for h in P.hosts:
                if h.street != d.street and h.org_id not in seen and h.org_id not in busy:
                    return d, i, h
    raise AssertionError("no valid move")


def test_move_one_visit_check_save_and_lock(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "editor", "pages/observation.py")
    assert at.selectbox(key="obs_event").value == 1
    P = store.problem_for(db_(), 1)
    vs, _ = store.plan_visits(db_(), 1)
    d, i, h = a_valid_move(P, vs)
    at.selectbox(key="obs_mv_del_1").set_value(d.id)
    at.selectbox(key="obs_mv_slot_1").set_value(i)
    at.selectbox(key="obs_mv_host_1").set_value(h.org_id)
    at.button(key="obs_mv_go_1").click()
    at.run()
    assert not problems(at), problems(at)
    assert any("符合全部要求" in s.value for s in at.success)
    at.button(key="obs_save_grid").click()
    at.run()
    assert not problems(at), problems(at)
    day, slot, _ = views.slot_labels(P)[i]
    vs2, locked = store.plan_visits(db_(), 1)
    assert locked == {model.Visit(day, slot, d.id, h.org_id)} and rules.check_plan(P, vs2) == []


def test_new_internal_round_with_the_form_defaults_gets_a_plan(monkeypatch, tmp_path, demo_db_file):
    """Issue 14: the form's defaults (天数 and 每团参观次数 自动) fit the demo city's internal round."""
    at = new_event_form(monkeypatch, tmp_path, demo_db_file)
    assert any("自动测算" in c.value and "街道内部观摩" in c.value for c in at.caption)
    at.text_input(key="obs_setup_None_name").input("内部观摩默认设置")
    at.selectbox(key="obs_setup_None_mode").set_value("internal")
    eid = create_and_solve(at, "内部观摩默认设置")
    P = store.problem_for(db_(), eid)
    vs, _ = store.plan_visits(db_(), eid)
    assert len(vs) == len(P.delegations) * P.visits_per_delegation > 0 and rules.check_plan(P, vs) == []


def open_with_search_held(monkeypatch, tmp_path, demo_db_file, role):
    """The 观摩安排 page as `role` on a large event whose background searches are held: a
    started job is only collected (the test runs it), not put in a thread. Gives the page, the
    event, its stored plan before, and the list of started jobs."""
    started: list = []
    monkeypatch.setattr(jobs, "_start", started.append)
    monkeypatch.setattr(jobs, "is_small", lambda P: False)
    store._SOLVED.clear()
    at = open_page(monkeypatch, tmp_path, demo_db_file, role, "pages/observation.py")
    eid = at.session_state["obs_event"]
    return at, eid, store.plan_visits(db_(), eid), started


def test_solve_shows_a_draft_at_once_then_the_stored_plan(monkeypatch, tmp_path, demo_db_file):
    """「重新生成」 on a large event: the click shows a valid draft (read-only) with a note that the
    search goes on; once the search has stored its plan, the page shows it (the search is run
    here by the test instead of a thread)."""
    at, eid, before, started = open_with_search_held(monkeypatch, tmp_path, demo_db_file, "editor")
    button(at, "重新生成").click()
    at.run()
    assert not problems(at), problems(at)
    assert len(started) == 1 and jobs.running(db_(), eid) is started[0]
    assert any("已排出初步安排" in s.value for s in at.success)
    assert any("正在继续优化路线" in c.value for c in at.caption)
    assert not any(s.value.startswith("已生成安排") for s in at.success)
    assert store.plan_visits(db_(), eid) == before  # nothing stored yet
    P = store.problem_for(db_(), eid)
    assert rules.check_plan(P, started[0].draft.visits) == []
    at.run()  # a rerun (the fragment's poll) while searching: still the draft, no second search
    assert len(started) == 1 and any("已排出初步安排" in s.value for s in at.success)
    started[0].run()
    at.run()  # the poll sees the search done: the page runs again with the stored plan
    assert started[0].state in ("stored", "unchanged")
    if not at.data_editor:
        at.run()  # (AppTest may leave the page's rerun to the next run)
    assert not problems(at), problems(at)
    assert not any("已排出初步安排" in s.value for s in at.success) and jobs.running(db_(), eid) is None
    stored = store.plan_visits(db_(), eid)[0]
    assert sorted(stored) == sorted(started[0].plan.visits)
    assert any(rules.summarise(P, stored)["text"] == c.value for c in at.caption)  # the stored plan's figures


def test_a_viewer_sees_a_running_search_read_only(monkeypatch, tmp_path, demo_db_file):
    """While an editor's search runs, a viewer opening the event sees its draft and can start
    nothing; the viewer's page writes nothing."""
    from tests.conftest import EDITOR

    at, eid, before, started = open_with_search_held(monkeypatch, tmp_path, demo_db_file, "viewer")
    jobs.start_solve(db_(), EDITOR, eid)
    at.run()
    assert not problems(at), problems(at)
    assert any("已排出初步安排" in s.value for s in at.success)
    assert all(b.disabled for b in at.button if b.label.startswith(("生成", "重新生成")))
    assert not any((e.key or "").startswith("obs_grid") for e in at.data_editor)  # the draft is read-only
    assert store.plan_visits(db_(), eid) == before and len(started) == 1
