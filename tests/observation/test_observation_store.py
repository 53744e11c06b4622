"""观摩互进 database side: setup, bad input, solve, hand edit, exports, scores, ranking, tiers."""

import shutil

import polars as pl
import pytest

from dangjian_core import audit, fileio
from dangjian_core.db import Database
from dangjian_core.errors import BadInput, PermissionDenied, ValidationFailed
from dangjian_core.observation import exports, model, rules, scores, store, views
from tests.conftest import EDITOR, VIEWER, copy_of


@pytest.fixture(scope="module")
def ddb(tmp_path_factory, demo_db_file):
    """A copy of the session's demo database (built once for the whole run)."""
    with copy_of(demo_db_file, tmp_path_factory.mktemp("obs") / "o.duckdb") as d:
        yield d


def counts(db):
    with db.read() as cur:
        return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in model.TABLES}


def test_demo_has_a_past_cross_event_with_plan_and_scores(ddb):
    ev = store.events(ddb)
    assert ev.height >= 1
    first = ev.filter(pl.col("id") == 1).row(0, named=True)
    assert first["mode"] == "cross" and first["n_visits"] > 0 and first["n_scores"] > 0
    P = store.problem_for(ddb, 1)
    vs, _ = store.plan_visits(ddb, 1)
    assert rules.check_plan(P, vs) == []


def test_tiny_demo_seeds_too(demo_db):
    assert store.events(demo_db).height == 1


def test_create_event_default_hosts_and_solve(ddb):
    eid = store.save_event(ddb, EDITOR, name="交叉观摩测试", mode="各街道交叉观摩", days=1, slots_per_day=3,
                       slot_times="08:30，10:00 14:30", previous_event_id=1)
    h = store.hosts(ddb, eid)
    cand = store.candidate_hosts(ddb)
    assert set(h["org_id"]) == set(cand.filter("default")["org_id"])
    assert store.get_event(ddb, eid)["slot_times"] == "08:30,10:00,14:30"
    s = store.solve_event(ddb, EDITOR, eid, time_limit=0.3)
    assert s["visits"] == 12 * 3 and s["repeated_pairs"] == 0
    P = store.problem_for(ddb, eid)
    vs, locked = store.plan_visits(ddb, eid)
    assert rules.check_plan(P, vs) == [] and not locked
    g = views.grid_frame(P, vs)
    assert g.height == 3 and g.width == 13
    assert sorted(views.visits_from_grid(P, g)) == sorted(vs)


def test_hand_edit_is_checked_saved_locked_and_resolved_around(ddb):
    eid = store.save_event(ddb, EDITOR, name="手工调整测试", mode="cross", days=1, slots_per_day=2,
                       hosts=[{"org": n, "capacity": 1} for n in
                              store.candidate_hosts(ddb).filter("default").group_by("street").head(2)["name"]])
    store.solve_event(ddb, EDITOR, eid, time_limit=0.3)
    P = store.problem_for(ddb, eid)
    vs, _ = store.plan_visits(ddb, eid)
    # move one delegation's first visit to a host of its own street: refused, in Chinese
    v = vs[0]
    d = next(x for x in P.delegations if x.id == v.delegation)
    own = next(h for h in P.hosts if h.street == d.street)
    bad = [model.Visit(v.day, v.slot, v.delegation, own.org_id)] + vs[1:]
    before = counts(ddb)
    with pytest.raises(ValidationFailed) as e:
        store.save_plan(ddb, EDITOR, eid, bad)
    assert "本街道" in " ".join(x.message for x in e.value.errors)
    assert counts(ddb) == before
    # a valid swap of two delegations' hosts in one slot is stored and locked
    w = next(x for x in vs if x.day == v.day and x.slot == v.slot and x.delegation != v.delegation
             and P.hosts[[h.org_id for h in P.hosts].index(x.host_org_id)].street != d.street
             and next(dd for dd in P.delegations if dd.id == x.delegation).street
             != P.hosts[[h.org_id for h in P.hosts].index(v.host_org_id)].street)
    swapped = [x for x in vs if x not in (v, w)] + [model.Visit(v.day, v.slot, v.delegation, w.host_org_id),
                                                     model.Visit(w.day, w.slot, w.delegation, v.host_org_id)]
    if rules.check_plan(P, swapped):
        pytest.skip("swap breaks another rule on this data")
    store.save_plan(ddb, EDITOR, eid, swapped)
    _, locked = store.plan_visits(ddb, eid)
    assert len(locked) == 2
    store.solve_event(ddb, EDITOR, eid, time_limit=0.3)
    vs2, locked2 = store.plan_visits(ddb, eid)
    assert locked2 == locked and locked <= set(vs2)


def test_the_same_input_is_solved_once_and_an_unchanged_plan_writes_nothing(ddb, monkeypatch):
    eid = store.save_event(ddb, EDITOR, name="重复求解测试", mode="cross", days=1, slots_per_day=3)
    first = store.solve_event(ddb, EDITOR, eid, time_limit=0.3)
    stored = store.plan_visits(ddb, eid)
    with ddb.read() as cur:
        batches = cur.execute("SELECT count(*) FROM audit_batches").fetchone()[0]
    before, generation = counts(ddb), ddb.generation
    calls = []

    def solver_called(*a, **k):
        calls.append(a)
        raise RuntimeError("solver called")
    monkeypatch.setattr(store, "solve", solver_called)
    again = store.solve_event(ddb, EDITOR, eid, time_limit=0.3)
    assert calls == [] and again == first
    assert store.plan_visits(ddb, eid) == stored and counts(ddb) == before and ddb.generation == generation
    with ddb.read() as cur:
        assert cur.execute("SELECT count(*) FROM audit_batches").fetchone()[0] == batches
    # another budget is another input: solved anew (and here refused by the stand-in solver)
    with pytest.raises(RuntimeError):
        store.solve_event(ddb, EDITOR, eid, time_limit=0.2)
    assert len(calls) == 1


def test_solve_takes_the_callers_problem_only_while_nothing_was_written(ddb, monkeypatch):
    eid = store.save_event(ddb, EDITOR, name="页面已读的问题", mode="cross", days=1, slots_per_day=2)
    P = store.problem_for(ddb, eid)
    reads, real = [], store.problem_for
    monkeypatch.setattr(store, "problem_for", lambda db, e: reads.append(e) or real(db, e))
    store.solve_event(ddb, EDITOR, eid, time_limit=0.3, known=(ddb.generation, P))
    assert reads == []
    store.solve_event(ddb, EDITOR, eid, time_limit=0.3, known=(ddb.generation - 1, P))
    assert reads == [eid]


@pytest.mark.parametrize("kwargs, word", [
    (dict(hosts=[{"org": "没有这个单位", "capacity": 1}]), "不是党组织"),
    (dict(hosts=[{"org": 2, "capacity": 0}]), "容量至少为 1"),
    (dict(hosts=[{"org": 2}, {"org": "2"}]), "重复"),
    (dict(slots_per_day=0), "每天时段数至少为 1"),
    (dict(days=0), "天数至少为 1"),
    (dict(slot_times="8点半"), "格式不对"),
    (dict(mode="交叉看看"), "观摩方式"),
    (dict(mode="internal", hosts=[{"org": 2}]), "没有观摩点"),
    (dict(visits=9), "不能多于时段总数"),
])
def test_bad_setup_is_refused_in_chinese_and_writes_nothing(ddb, kwargs, word):
    before = counts(ddb)
    args = dict(name="坏输入", mode="cross", days=1, slots_per_day=3)
    args.update(kwargs)
    with pytest.raises(BadInput) as e:
        store.save_event(ddb, EDITOR, **args)
    assert word in str(e.value), str(e.value)
    assert counts(ddb) == before


def test_viewer_is_refused_everywhere(ddb):
    before = counts(ddb)
    for fn, args in ((store.save_event, dict(name="x", mode="cross")), (store.solve_event, dict(event_id=1)),
                     (scores.set_rubric, dict(event_id=1, rows=[("a", 10)])),
                     (scores.save_scores, dict(event_id=1, frame=[])), (scores.apply_tiers, dict(event_id=1, changes={}))):
        with pytest.raises(PermissionDenied):
            fn(ddb, VIEWER, **args)
    assert counts(ddb) == before


def test_plan_xlsx_has_overall_and_one_sheet_per_delegation(ddb):
    data = exports.plan_xlsx(ddb, 1)
    overall = fileio.read_frame(data=data, name="p.xlsx", sheet="总表")
    assert overall.df.height == 6 and overall.df.columns[0] == "时段" and len(overall.df.columns) == 13
    one = fileio.read_frame(data=data, name="p.xlsx", sheet="东湖街道")
    assert one.df.columns == ["天", "时段", "开始时间", "观摩点", "所在街道", "地址"]
    assert one.df.height == 6 and "东湖街道" not in set(one.df["所在街道"])


def test_score_sheet_round_trip_and_bad_scores(ddb):
    eid = store.save_event(ddb, EDITOR, name="评分测试", mode="cross", days=1, slots_per_day=2,
                       rubric=[("阵地", 50), ("活动", 50)],
                       hosts=[{"org": n} for n in store.candidate_hosts(ddb).filter("default")
                              .group_by("street").head(1)["name"]])
    store.solve_event(ddb, EDITOR, eid, time_limit=0.3)
    data = exports.score_sheet_xlsx(ddb, eid)
    fr = fileio.read_frame(data=data, name="s.xlsx", expected=model.SHEET_HEADER, sheet=model.SHEET)
    assert fr.df.height == 12 * 2 * 2
    filled = fr.df.with_columns(得分=pl.col("满分").cast(pl.Float64) * 0.8)
    bad = filled.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(70.0)).otherwise(pl.col("得分")).alias("得分"))
    bad = bad.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("先近")).otherwise(pl.col("评分项目")).alias("评分项目"))
    before = counts(ddb)
    with pytest.raises(BadInput) as e:
        scores.save_scores(ddb, EDITOR, eid, bad)
    msgs = [x.message for x in e.value.errors]
    assert any("0 到 50" in m for m in msgs) and any("不是本次评分细则" in m for m in msgs)
    assert counts(ddb) == before
    assert scores.save_scores(ddb, EDITOR, eid, filled) == 48
    r = scores.ranking(ddb, eid)
    assert r["n_scores"].to_list() == [2] * r.height or r["n_scores"].min() >= 1
    with pytest.raises(BadInput):
        scores.set_rubric(ddb, EDITOR, eid, [("x", 100)])


def test_ranking_proposals_and_tier_confirmation_with_audit(ddb):
    p = scores.proposals(ddb, 1)
    assert p["n_scores"].min() >= 1 and p["n_own_street"].sum() == 0
    assert set(p["proposed_tier"].drop_nulls()) <= {"先进", "达标", "后进"}
    ch = p.filter("change").head(2)
    with pytest.raises(BadInput) as e:
        scores.apply_tiers(ddb, EDITOR, 1, {ch["host_org_id"][0]: "先近"})
    assert "先进" in str(e.value.errors[0].message)
    with pytest.raises(BadInput):
        scores.apply_tiers(ddb, EDITOR, 1, {"999999": "先进"})
    n = scores.apply_tiers(ddb, EDITOR, 1, ch.select("host_org_id", "proposed_tier"))
    assert n == ch.height
    with ddb.read() as cur:
        tiers = dict(cur.execute("SELECT CAST(id AS VARCHAR), tier FROM orgs").fetchall())
    assert [model.TIER_CN[tiers[h]] for h in ch["host_org_id"]] == ch["proposed_tier"].to_list()
    b = audit.list_batches(ddb, EDITOR, 5)
    assert "观摩评比" in b["description"][0]


def test_setup_change_clears_plan_and_revert_restores(ddb):
    eid = store.save_event(ddb, EDITOR, name="撤销测试", mode="district", days=1, slots_per_day=2,
                       hosts=[{"org": n} for n in store.candidate_hosts(ddb).filter("default").head(12)["name"]])
    store.solve_event(ddb, EDITOR, eid, time_limit=0.3)
    n = len(store.plan_visits(ddb, eid)[0])
    store.save_event(ddb, EDITOR, eid, name="撤销测试", mode="district", days=1, slots_per_day=1)
    assert store.plan_visits(ddb, eid)[0] == []
    batch = audit.list_batches(ddb, EDITOR, 1)["id"][0]
    audit.revert_batch(ddb, EDITOR, int(batch))
    assert len(store.plan_visits(ddb, eid)[0]) == n
    assert store.get_event(ddb, eid)["slots_per_day"] == 2


def test_chart_dataset_registered(ddb):
    from dangjian_core.charts import datasets
    from tests.conftest import ADMIN

    df = datasets.load_frame(ddb, ADMIN, "observation_scores")
    assert df.height > 0 and "score" in df.columns


def _form_default_hosts(db):
    """The host rows the setup form offers for a new event (default candidates, capacity 1)."""
    return [{"org": n, "capacity": 1} for n in store.candidate_hosts(db).filter("default")["name"]]


def test_new_internal_round_with_form_defaults_solves_on_demo_city(tmp_path, demo_db_file):
    """Issue 14: in the demo city a street has up to 21 delegations for 4 places, so 1 day × 3
    slots with every delegation out every slot cannot fit. The form's defaults (天数 and 每团参观次数
    自动, 3 slots a day) follow from the data instead, and the round solves."""
    path = tmp_path / "d.duckdb"
    shutil.copyfile(demo_db_file, path)
    db = Database(path)
    try:
        hint = store.suggested_setup(db, "internal")
        assert hint["text"] is None and hint["visits"] >= 1
        eid = store.save_event(db, EDITOR, name="内部观摩", mode="internal", days=None, slots_per_day=3,
                           slot_times="08:30,10:00,14:30", visits=None, hosts=_form_default_hosts(db))
        P = store.problem_for(db, eid)
        ev = store.get_event(db, eid)
        assert (ev["days"], ev["visits_per_delegation"]) == (P.days, P.visits_per_delegation) \
            == (hint["days"], hint["visits"])
        assert rules.max_visits(P) == P.visits_per_delegation and rules.fit_advice(P) is None
        s = store.solve_event(db, EDITOR, eid, time_limit=0.5)
        vs, _ = store.plan_visits(db, eid)
        assert rules.check_plan(P, vs) == [] and s["visits"] == len(P.delegations) * P.visits_per_delegation
        # one day with every delegation out in every slot is refused before solving, naming the
        # street that does not fit and the nearest settings that do
        before = counts(db)
        with pytest.raises(model.Infeasible) as e:
            store.save_event(db, EDITOR, name="内部观摩3", mode="internal", days=1, slots_per_day=3, visits=None,
                         hosts=_form_default_hosts(db))
        msg = str(e.value)
        assert "个观摩团" in msg and "每个时段最多接待" in msg and "把天数增加到" in msg, msg
        assert counts(db) == before
        # 1 day × 3 slots, 1 visit each: it says so, and the days it names do fit
        with pytest.raises(model.Infeasible) as e:
            store.save_event(db, EDITOR, name="x", mode="internal", days=1, slots_per_day=3, visits=1,
                         hosts=_form_default_hosts(db))
        n = int(str(e.value).split("把天数增加到 ")[1][:1])
        store.save_event(db, EDITOR, name="内部观摩n", mode="internal", days=n, slots_per_day=3, visits=1,
                     hosts=_form_default_hosts(db))
    finally:
        db.close()


def test_fit_advice_names_the_street_and_nearest_settings():
    hosts = [model.Host(f"h{i}", f"点{i}", "北街道", "advanced", False) for i in range(18)]
    dels = [model.Delegation(f"d{i}", "北街道") for i in range(19)]
    P = model.Problem("internal", hosts, dels, 1, 3, 3)
    assert rules.max_visits(P) == 2
    msg = rules.fit_advice(P)
    assert msg.startswith("北街道 19 个观摩团、18 个观摩点，每个时段最多接待 18 个观摩团"), msg
    assert "每团参观次数改为 2" in msg and "每天时段数增加到 4" in msg and "天数增加到 2" in msg, msg
    assert rules.fit_advice(model.Problem("internal", hosts, dels, 1, 4, 3)) is None


def test_printable_plan_shows_the_grid_and_one_page_per_delegation(ddb):
    P = store.problem_for(ddb, 1)
    vs, _ = store.plan_visits(ddb, 1)
    page = exports.plan_print_html(ddb, 1)
    ev = store.get_event(ddb, 1)
    assert page.startswith("<!DOCTYPE html>") and f"<title>{ev['name']} 观摩活动安排表</title>" in page
    assert page.count('<div class="page">') == len(P.delegations)
    for name in views.delegation_names(P).values():
        assert f"<h2>{name} 观摩路线</h2>" in page
    hosts = {h.org_id: h.name for h in P.hosts}
    assert all(f"<td>{hosts[v.host_org_id]}</td>" in page for v in vs)


def test_an_org_that_hosted_an_event_cannot_be_deleted(ddb):
    from dangjian_core import orgs, tables

    host = int(store.hosts(ddb, 1)["org_id"][0])
    with ddb.read() as cur:
        v = cur.execute("SELECT version FROM orgs WHERE id = ?", [host]).fetchone()[0]
    with pytest.raises(ValidationFailed) as e:
        tables.save(ddb, EDITOR, orgs.SPEC, tables.Changes(deletes=[host], versions={host: v}, row_numbers={host: 2}))
    assert any("是观摩活动的观摩点，不能删除" in x.message for x in e.value.errors)
    assert host in store.hosts(ddb, 1)["org_id"].to_list()
