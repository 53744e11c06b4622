"""「生成安排」 with a draft at once and the full search in the background (observation.jobs):
the draft is valid and never worse than the construction, the final plan is stored once, as the
clicking user's one audited action, only while nothing it rests on changed; the same input is
never searched twice; a viewer starts nothing. The search is run by the test (`background=False`
then `job.run()`), so nothing here depends on timing."""

import pytest

from dangjian_core.errors import PermissionDenied
from dangjian_core.observation import jobs, rules, solver, store
from dangjian_core.observation.rules import check_plan, plan_cost
from tests.conftest import EDITOR, VIEWER, copy_of
from tests.observation.instances import INSTANCES

LIMIT = 0.3  # the full search's budget here (the page uses the solver's default)


@pytest.fixture()
def jdb(tmp_path, demo_db_file, monkeypatch):
    """A copy of the demo database where every problem counts as large (the demo's events are
    small, which are solved in one go), and no plan kept from another test's same input."""
    monkeypatch.setattr(jobs, "is_small", lambda P: False)
    store._SOLVED.clear()
    with copy_of(demo_db_file, tmp_path / "j.duckdb") as d:
        yield d


def batches(db):
    with db.read() as cur:
        return cur.execute("SELECT id, username, description FROM audit_batches ORDER BY id").fetchall()


def new_event(db, name="后台求解测试", **kw):
    return store.save_event(db, EDITOR, name=name, mode="cross", days=kw.pop("days", 1),
                            slots_per_day=kw.pop("slots_per_day", 3), **kw)


@pytest.mark.parametrize("name", ["city_cross_30x600_prev", "city_district_30x15"])
def test_draft_is_valid_and_never_worse_than_the_construction(name):
    P = INSTANCES[name][1]()
    construction = solver.solve(P, seed=0, time_limit=0)  # no travel search at all
    draft = solver.solve(P, seed=0, time_limit=0.1, draft=True)
    assert check_plan(P, draft.visits) == []
    assert plan_cost(P, draft.visits) <= plan_cost(P, construction.visits)
    assert draft.summary["travel_bound_km"] is None  # a draft skips the exact pass


def test_click_shows_a_draft_and_the_search_stores_the_final_plan_once(jdb):
    eid = new_event(jdb)
    before, stored = batches(jdb), store.plan_visits(jdb, eid)
    job = jobs.start_solve(jdb, EDITOR, eid, background=False, time_limit=LIMIT)
    P = store.problem_for(jdb, eid)
    assert job.state == "running" and not job.finished and jobs.running(jdb, eid) is job
    assert check_plan(P, job.draft.visits) == []
    assert batches(jdb) == before and store.plan_visits(jdb, eid) == stored  # the draft is shown, not stored
    job.run()
    assert job.state == "stored" and job.finished and jobs.running(jdb, eid) is None
    vs, locked = store.plan_visits(jdb, eid)
    assert sorted(vs) == sorted(job.plan.visits) and not locked
    assert plan_cost(P, vs) <= plan_cost(P, job.draft.visits)
    new = batches(jdb)[len(before):]
    assert [(u, d) for _, u, d in new] == [("editor", "生成观摩安排「后台求解测试」")]  # one entry, the user's
    assert job.message.startswith("已生成安排。")


def test_the_same_input_joins_the_running_search_and_is_then_stored_at_once(jdb, monkeypatch):
    eid = new_event(jdb)
    calls = []
    real = jobs.solve
    monkeypatch.setattr(jobs, "solve", lambda *a, **k: calls.append(k.get("draft")) or real(*a, **k))
    job = jobs.start_solve(jdb, EDITOR, eid, background=False, time_limit=LIMIT)
    assert jobs.start_solve(jdb, EDITOR, eid, background=False, time_limit=LIMIT) is job  # a rerun, a second click
    assert calls == [True]  # one draft, no second search
    job.run()
    assert calls == [True, None]
    n = len(batches(jdb))
    again = jobs.start_solve(jdb, EDITOR, eid, background=False, time_limit=LIMIT)
    assert again.finished and again.state == "unchanged" and calls == [True, None]
    assert sorted(again.plan.visits) == sorted(job.plan.visits) and len(batches(jdb)) == n


def test_a_settings_change_meanwhile_wins_and_the_search_stores_nothing(jdb):
    eid = new_event(jdb)
    job = jobs.start_solve(jdb, EDITOR, eid, background=False, time_limit=LIMIT)
    new_event(jdb, days=1, slots_per_day=2, event_id=eid)  # the user saves other settings meanwhile
    n = len(batches(jdb))
    job.run()
    assert job.state == "superseded" and "没有保存" in job.message
    assert store.plan_visits(jdb, eid) == ([], set()) and len(batches(jdb)) == n


def test_a_hand_edit_saved_meanwhile_wins(jdb):
    eid = new_event(jdb)
    store.solve_event(jdb, EDITOR, eid, time_limit=0.2)
    job = jobs.start_solve(jdb, EDITOR, eid, keep_locked=False, seed=1, background=False, time_limit=LIMIT)
    vs, _ = store.plan_visits(jdb, eid)
    store.save_plan(jdb, EDITOR, eid, vs, locked=vs[:2])  # locks two visits: the stored plan changed
    n = len(batches(jdb))
    job.run()
    assert job.state in ("superseded", "unchanged")  # unchanged only if the search found exactly that plan
    assert store.plan_visits(jdb, eid) == (sorted(vs), set(vs[:2])) and len(batches(jdb)) == n


def test_a_newer_solve_of_the_event_supersedes_the_older_search(jdb):
    eid = new_event(jdb)
    old = jobs.start_solve(jdb, EDITOR, eid, seed=0, background=False, time_limit=LIMIT)
    new = jobs.start_solve(jdb, EDITOR, eid, seed=1, background=False, time_limit=LIMIT)
    assert new is not old and jobs.running(jdb, eid) is new
    n = len(batches(jdb))
    old.run()
    assert old.state == "superseded" and len(batches(jdb)) == n
    new.run()
    assert new.state == "stored" and sorted(store.plan_visits(jdb, eid)[0]) == sorted(new.plan.visits)


def test_a_failed_search_writes_nothing_and_says_so_in_chinese(jdb, monkeypatch):
    eid = new_event(jdb)
    job = jobs.start_solve(jdb, EDITOR, eid, background=False, time_limit=LIMIT)
    monkeypatch.setattr(jobs, "solve", lambda *a, **k: 1 / 0)
    n = len(batches(jdb))
    job.run()  # never raises
    assert job.state == "failed" and "系统内部出错" in job.message and jobs.running(jdb, eid) is None
    assert store.plan_visits(jdb, eid) == ([], set()) and len(batches(jdb)) == n


def test_a_viewer_starts_nothing(jdb):
    eid = new_event(jdb)
    with pytest.raises(PermissionDenied):
        jobs.start_solve(jdb, VIEWER, eid, background=False, time_limit=LIMIT)
    assert jobs.running(jdb, eid) is None


def test_small_problems_are_solved_and_stored_in_one_go(tmp_path, demo_db_file):
    with copy_of(demo_db_file, tmp_path / "s.duckdb") as db:
        hosts = store.candidate_hosts(db).filter("default").group_by("street").head(2)["name"]
        eid = new_event(db, slots_per_day=2, hosts=[{"org": n, "capacity": 1} for n in hosts])
        assert solver.is_small(store.problem_for(db, eid))
        job = jobs.start_solve(db, EDITOR, eid, background=False, time_limit=LIMIT)
        assert job.finished and job.state == "stored" and jobs.running(db, eid) is None
        P = store.problem_for(db, eid)
        assert rules.check_plan(P, store.plan_visits(db, eid)[0]) == []
