"""AppTest:「进一步优化路线」on 观摩安排 (issue 16): the longer travel pass keeps the plan valid,
is no worse on objectives 1–3 than the quick solve, and reports the result."""

from dangjian_core.observation import rules, solver, store
from tests.pages.apptest_helpers import app_for, problems


def test_further_route_optimisation_keeps_the_plan_valid(monkeypatch, tmp_path, demo_db_file):
    from ui.session import get_db

    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    at.switch_page("pages/observation.py")
    at.run()
    assert not problems(at), problems(at)
    eid = at.session_state["obs_event"]
    db = get_db()
    P = store.problem_for(db, eid)
    before, _ = store.plan_visits(db, eid)
    if not before:
        next(b for b in at.button if b.label.startswith("生成安排")).click()
        at.run()
        before, _ = store.plan_visits(db, eid)
    assert before
    at.button(key="obs_solve_exact").click()
    at.run()
    assert not problems(at), problems(at)
    after, locked = store.plan_visits(db, eid)
    assert rules.check_plan(P, after) == []
    assert any(s.value.startswith("已优化路线。") for s in at.success)
    # same objectives 1–3 as the quick solve with the same seed and locks
    quick = solver.solve(P, sorted(locked), seed=0)
    assert rules.plan_cost(P, after)[:7] <= rules.plan_cost(P, quick.visits)[:7]
