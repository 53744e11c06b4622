"""An internal round has one 观摩团 per unit: the slot grid is shown one street at a time, and
an edit in one street keeps every other street's visits."""

from dangjian_core.observation import rules, store
from tests.conftest import EDITOR
from tests.pages.apptest_helpers import app_for, problems


def test_internal_round_grid_per_street(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    from ui.session import get_db

    db = get_db()
    eid = store.save_event(db, EDITOR, name="街道内部观摩（测试）", mode="internal", days=2, slots_per_day=4,
                       visits=1)
    store.solve_event(db, EDITOR, eid)
    P = store.problem_for(db, eid)
    assert len(P.delegations) > 24
    at.switch_page("pages/observation.py")
    at.session_state["obs_event"] = eid
    at.run()
    assert not problems(at), problems(at)
    street = at.selectbox(key=f"obs_grid_street_{eid}").value
    shown = [d for d in P.delegations if d.street == street]
    assert 0 < len(shown) < len(P.delegations)
    # the untouched grid of one street: the other streets' visits are still all there, so the
    # page finds nothing wrong with the plan (a dropped visit would be listed as a problem)
    assert not [e.value for e in at.error], [e.value for e in at.error]
    assert not any("问题" in str(df.value.columns) for df in at.dataframe)
    at.selectbox(key=f"obs_grid_street_{eid}").select(sorted({d.street for d in P.delegations})[-1])
    at.run()
    assert not problems(at), problems(at)
    vs, _ = store.plan_visits(db, eid)
    assert rules.check_plan(P, vs) == []
