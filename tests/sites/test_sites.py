"""示范点台账 through the database: lifecycle actions, refusals (nothing written), audit and
revert, table specs, plans, checks, score sheets, attachments and the demo data."""

import io
import re
import zipfile
from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangjian_core import audit, clock, orgs, tables
from dangjian_core.db import Database
from dangjian_core.errors import BadInput, ConflictError, NotFound, PermissionDenied, ValidationFailed
from dangjian_core.sites import attachments, sheets, specs, store
from dangjian_core.sites import rules as R
from tests.conftest import EDITOR, VIEWER
from tests.sites.test_sites_rules import implied_status

TODAY = clock.today()
Y = TODAY.year


# -- helpers ---------------------------------------------------------------------------------
def counts(db):
    with db.read() as cur:
        return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("sites", "site_assessments", "site_assessment_lines", "audit_log", "audit_batches",
                          "site_events", "site_pairings", "site_plans", "site_rubrics", "site_rubric_items")}


def site_with(db, status):
    df = store.list_sites(db).filter(pl.col("status") == status)
    assert df.height, f"demo has a {status} site"
    return df.row(0, named=True)


def lines_for(db, site, year, factor=Decimal("0.9"), **overrides):
    _, lines = store.rubric_for(db, year, site["category"])
    out = []
    for ln in lines:
        if ln.kind == "score":
            ln.score = (ln.max_points * factor).quantize(Decimal("0.5"))
            ln.self_score = ln.max_points
        out.append(ln)
    for seq, values in overrides.items():
        for k, v in values.items():
            setattr(out[int(seq[1:]) - 1], k, v)
    return out


def free_org(db):
    with db.read() as cur:
        return cur.execute("SELECT id, name FROM orgs WHERE id NOT IN (SELECT org_id FROM sites)"
                           " AND tier <> 'lagging' ORDER BY id LIMIT 1").fetchone()


def new_creating(db, year=Y):
    oid, _ = free_org(db)
    sid = store.apply_site(db, EDITOR, oid, year, applied_on=TODAY - timedelta(days=3), supervisor="王督查")
    store.select_site(db, EDITOR, sid, selected_on=TODAY - timedelta(days=1))
    return store.get_site(db, sid)


def assess(db, site, year, factor=Decimal("0.9"), on=None, **kw):
    return store.record_assessment(db, EDITOR, site["id"], year, on or min(TODAY, date(year, 12, 20)),
                                   "考评组", "exemplary", lines_for(db, site, year, factor), **kw)


# -- demo data -------------------------------------------------------------------------------
def test_demo_has_every_stage_and_sql_due_years_match_the_rules(demo_db):
    df = store.list_sites(demo_db)
    assert set(df["status"]) == set(R.STATUSES)
    for row in df.iter_rows(named=True):
        assert row["due_year"] == R.due_year(store.state_of(row)), row
    a = store.assessments(demo_db)
    assert a.height and set(a["result"]) == {"pass", "fail"}
    # every stored total is what the rules compute from the stored lines
    for aid, total, result in a.select("id", "total", "result").iter_rows():
        ln = store.assessment_lines(demo_db, aid)
        lines = [R.Line(r["seq"], r["item"], r["kind"], r["max_points"], r["self_score"], r["score"], r["vetoed"])
                 for r in ln.iter_rows(named=True)]
        res = R.score(lines)
        assert (res.total, res.result) == (total, result)


# -- the lifecycle through the database -------------------------------------------------------
def test_apply_select_and_first_assessment_name_the_site_in_one_audit_batch(demo_db):
    oid, name = free_org(demo_db)
    sid = store.apply_site(demo_db, EDITOR, oid, Y, applied_on=TODAY, brand="「红色讲台」")
    assert store.get_site(demo_db, sid)["status"] == "applied"
    with pytest.raises(BadInput, match="尚未确定为创建单位"):
        store.record_assessment(demo_db, EDITOR, sid, Y, TODAY, "考评组", "exemplary", [])
    store.select_site(demo_db, EDITOR, sid)
    site = store.get_site(demo_db, sid)
    assert site["status"] == "creating" and site["due_year"] == Y
    out = assess(demo_db, site, Y, on=TODAY)
    assert out["status_after"] == "named" and out["result"] == "pass" and out["total"] >= 80
    site = store.get_site(demo_db, sid)
    assert (site["status"], site["named_year"], site["last_assessed_year"]) == ("named", Y, Y)
    log = audit.list_changes(demo_db, EDITOR, batch_id=out["batch_id"])
    assert set(log["table_name"]) == {"site_assessments", "site_assessment_lines", "sites"}
    assert "已授牌" in log["description"][0] and name in log["description"][0]


def test_failed_first_assessment_then_apply_again_next_year_is_a_new_round(demo_db):
    site = new_creating(demo_db, Y - 1)
    out = assess(demo_db, site, Y - 1, factor=Decimal("0.5"), on=date(Y - 1, 12, 20))
    assert out["status_after"] == "not_named"
    with pytest.raises(BadInput, match=f"{Y}\\s*年起|{Y} 年起"):
        store.apply_site(demo_db, EDITOR, site["org_id"], Y - 1)
    sid2 = store.apply_site(demo_db, EDITOR, site["org_id"], Y)
    rounds = store.rounds_of_org(demo_db, site["org_id"])
    assert rounds["status"].to_list() == ["not_named", "applied"] and sid2 != site["id"]


def test_named_consolidating_and_removed_through_the_database(demo_db):
    site = new_creating(demo_db, Y - 2)
    assess(demo_db, site, Y - 2, on=date(Y - 2, 12, 1))
    assess(demo_db, store.get_site(demo_db, site["id"]), Y - 1, on=date(Y - 1, 12, 1))
    s = store.get_site(demo_db, site["id"])
    assert s["status"] == "consolidating" and s["due_year"] == Y - 1 + s["inspection_interval"]
    lines = lines_for(demo_db, s, Y)
    veto = next(ln for ln in lines if ln.kind == "veto")
    veto.vetoed = "是"
    out = store.record_assessment(demo_db, EDITOR, s["id"], Y, TODAY, "考评组", "resting", lines)
    assert out["vetoed"] and out["result"] == "fail" and out["status_after"] == "removed"
    with pytest.raises(BadInput, match="摘牌，不能重新申报"):
        store.apply_site(demo_db, EDITOR, s["org_id"], Y + 1)


# -- every refusal writes nothing ---------------------------------------------------------
def test_refusals_write_nothing(demo_db):
    site = new_creating(demo_db, Y)
    removed = site_with(demo_db, "removed")
    not_named = site_with(demo_db, "not_named")
    before = counts(demo_db)
    cases = [
        (lambda: assess(demo_db, site, Y - 1, on=date(Y - 1, 12, 1)), BadInput, "早于.*创建年度"),
        (lambda: assess(demo_db, removed, Y), BadInput, "摘牌"),
        (lambda: assess(demo_db, not_named, Y), BadInput, "未命名"),
        (lambda: assess(demo_db, site, Y, on=TODAY + timedelta(days=1)), BadInput, "晚于今天"),
        (lambda: store.record_assessment(demo_db, EDITOR, site["id"], Y, TODAY, " ", "exemplary",
                                         lines_for(demo_db, site, Y)), BadInput, "考评人"),
        (lambda: store.record_assessment(demo_db, EDITOR, site["id"], Y, TODAY, "组", "model",
                                         lines_for(demo_db, site, Y)), BadInput, "类型判定"),
        (lambda: store.record_assessment(demo_db, EDITOR, site["id"], Y, TODAY, "组", "exemplary",
                                         lines_for(demo_db, site, Y, s1={"score": Decimal("99")})),
         ValidationFailed, "评分表有 1 处问题"),
        (lambda: store.record_assessment(demo_db, EDITOR, site["id"], Y, TODAY, "组", "exemplary",
                                         lines_for(demo_db, site, Y)[:-1]), BadInput, "不一致"),
        (lambda: store.record_assessment(demo_db, EDITOR, site["id"], Y, TODAY, "组", "exemplary",
                                         lines_for(demo_db, site, Y) + lines_for(demo_db, site, Y)[:1]),
         BadInput, "不一致"),
        (lambda: assess(demo_db, site, Y, expected_version=site["version"] - 1), ConflictError, "已被修改"),
        (lambda: store.record_assessment(demo_db, VIEWER, site["id"], Y, TODAY, "组", "exemplary",
                                         lines_for(demo_db, site, Y)), PermissionDenied, "修改示范点台账"),
        (lambda: store.record_assessment(demo_db, EDITOR, 999999, Y, TODAY, "组", "exemplary", []),
         NotFound, "找不到"),
        (lambda: store.select_site(demo_db, EDITOR, site["id"]), BadInput, "只有「已申报」"),
        (lambda: store.apply_site(demo_db, EDITOR, site["org_id"], Y + 1), BadInput, "不能重复申报"),
        (lambda: store.apply_site(demo_db, EDITOR, 999999, Y), NotFound, "党组织"),
        (lambda: store.apply_site(demo_db, EDITOR, free_org(demo_db)[0], Y + 3), BadInput, "太远"),
        (lambda: store.apply_site(demo_db, VIEWER, free_org(demo_db)[0], Y), PermissionDenied, "没有"),
    ]
    for fn, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            fn()
    assert counts(demo_db) == before
    # and a second assessment in one year
    assess(demo_db, site, Y, on=TODAY)
    after_one = counts(demo_db)
    with pytest.raises(BadInput, match="已经考评过了，一年只考评一次"):
        assess(demo_db, store.get_site(demo_db, site["id"]), Y, on=TODAY)
    assert counts(demo_db) == after_one


def test_no_rubric_for_the_year_is_refused(db):
    with db.write() as cur:
        cur.execute("INSERT INTO orgs (name, level, category, street, member_count) VALUES"
                    " ('甲村党支部', 'branch', 'rural', '东街道', 10)")
    sid = store.apply_site(db, EDITOR, 1, Y - 1, applied_on=date(Y - 1, 1, 1))
    store.select_site(db, EDITOR, sid, selected_on=date(Y - 1, 2, 1))
    with pytest.raises(BadInput, match="还没有适用于「农村」的考评细则"):
        store.record_assessment(db, EDITOR, sid, Y - 1, date(Y - 1, 12, 1), "组", "exemplary", [])


# -- revert -----------------------------------------------------------------------------------
def test_reverting_an_assessment_reverts_the_status_it_caused(demo_db):
    site = new_creating(demo_db)
    before = counts(demo_db)
    out = assess(demo_db, site, Y, on=TODAY)
    assert store.get_site(demo_db, site["id"])["status"] == "named"
    store.revert_assessment(demo_db, EDITOR, out["assessment_id"])
    s = store.get_site(demo_db, site["id"])
    assert (s["status"], s["named_year"], s["last_assessed_year"]) == ("creating", None, None)
    after = counts(demo_db)
    for t in ("sites", "site_assessments", "site_assessment_lines"):
        assert after[t] == before[t]
    # and the year can be assessed again
    assert assess(demo_db, s, Y, factor=Decimal("0.5"), on=TODAY)["status_after"] == "not_named"


def test_an_older_assessment_cannot_be_reverted_under_a_newer_one(demo_db):
    site = new_creating(demo_db, Y - 1)
    first = assess(demo_db, site, Y - 1, on=date(Y - 1, 12, 1))
    assess(demo_db, store.get_site(demo_db, site["id"]), Y, on=TODAY)
    with pytest.raises(ConflictError, match="之后又被改过"):
        store.revert_assessment(demo_db, EDITOR, first["assessment_id"])
    assert store.get_site(demo_db, site["id"])["status"] == "consolidating"


def test_revert_of_apply_and_select_through_the_generic_history(demo_db):
    oid, _ = free_org(demo_db)
    sid = store.apply_site(demo_db, EDITOR, oid, Y)
    store.select_site(demo_db, EDITOR, sid)
    batches = audit.list_batches(demo_db, EDITOR, 5)
    audit.revert_batch(demo_db, EDITOR, int(batches["id"][0]))
    assert store.get_site(demo_db, sid)["status"] == "applied"
    audit.revert_batch(demo_db, EDITOR, int(batches["id"][1]))
    with pytest.raises(NotFound):
        store.get_site(demo_db, sid)


# -- the org registry and the table path --------------------------------------------------------
def _delete_org(db, org_id):
    with db.read() as cur:
        v = cur.execute("SELECT version FROM orgs WHERE id = ?", [org_id]).fetchone()[0]
    return tables.save(db, EDITOR, orgs.SPEC, tables.Changes(deletes=[org_id], versions={org_id: v},
                                                             row_numbers={org_id: 7}))


def test_an_org_in_the_programme_cannot_be_deleted(demo_db):
    site = site_with(demo_db, "consolidating")
    with demo_db.write() as cur:  # no members in the way: only the site rule speaks
        cur.execute("DELETE FROM members WHERE org_id = ?", [site["org_id"]])
        cur.execute("UPDATE orgs SET parent_id = NULL WHERE parent_id = ?", [site["org_id"]])
    before = counts(demo_db)
    with pytest.raises(ValidationFailed) as e:
        _delete_org(demo_db, site["org_id"])
    assert any("在示范点台账中" in x.message and "巩固提升" in x.message for x in e.value.errors)
    assert counts(demo_db) == before


def test_a_paired_org_cannot_be_deleted(demo_db):
    site = new_creating(demo_db)
    with demo_db.read() as cur:
        partner = cur.execute("SELECT id FROM orgs WHERE id NOT IN (SELECT org_id FROM sites)"
                              " AND id NOT IN (SELECT parent_id FROM orgs WHERE parent_id IS NOT NULL)"
                              " ORDER BY id DESC LIMIT 1").fetchone()[0]
    tables.save(demo_db, EDITOR, specs.PAIRINGS_SPEC, tables.Changes(inserts=[
        {"site_org_id": site["org_id"], "partner_org_id": partner, "started_on": TODAY}]))
    with demo_db.write() as cur:
        cur.execute("DELETE FROM members WHERE org_id = ?", [partner])
    with pytest.raises(ValidationFailed) as e:
        _delete_org(demo_db, partner)
    assert any("结对" in x.message for x in e.value.errors)


def test_status_cannot_be_typed_and_rounds_cannot_be_added_in_the_table(demo_db):
    site = site_with(demo_db, "creating")
    res = tables.save(demo_db, EDITOR, specs.SITES_SPEC, tables.Changes(
        updates={site["id"]: {"status": "已授牌", "creation_year": 2001}}, versions={site["id"]: site["version"]}))
    assert res.batch_id is None
    assert store.get_site(demo_db, site["id"])["status"] == "creating"
    with pytest.raises(ValidationFailed) as e:
        tables.save(demo_db, EDITOR, specs.SITES_SPEC, tables.Changes(inserts=[
            {"org_id": free_org(demo_db)[0], "status": "named", "inspection_interval": 1}]))
    assert any("申报" in x.message for x in e.value.errors)
    with pytest.raises(ValidationFailed, match="有 1 处错误"):
        tables.save(demo_db, EDITOR, specs.SITES_SPEC, tables.Changes(
            deletes=[site["id"]], versions={site["id"]: site["version"]}))


def test_people_are_edited_through_the_table_path_and_audited(demo_db):
    site = site_with(demo_db, "named")
    res = store.update_people(demo_db, EDITOR, site["id"], {"supervisor": "新督查", "inspection_interval": 2},
                              site["version"])
    s = store.get_site(demo_db, site["id"])
    assert (s["supervisor"], s["inspection_interval"]) == ("新督查", 2) and res.batch_id
    with pytest.raises(ValidationFailed, match="错误"):
        store.update_people(demo_db, EDITOR, site["id"], {"inspection_interval": 3}, s["version"])
    with pytest.raises(ConflictError):
        store.update_people(demo_db, EDITOR, site["id"], {"supervisor": "甲"}, site["version"])


def test_archive_rows_are_checked(demo_db):
    site = site_with(demo_db, "consolidating")
    other = free_org(demo_db)[0]
    bad = [
        {"org_id": site["org_id"], "event_date": TODAY + timedelta(days=2), "kind": "督查指导", "title": "走访"},
        {"org_id": site["org_id"], "event_date": TODAY, "kind": "以奖代投", "title": "奖励"},
        {"org_id": site["org_id"], "event_date": TODAY, "kind": "典型经验", "title": "经验", "amount": "100"},
        {"org_id": other, "event_date": TODAY, "kind": "其他", "title": "不在台账"},
    ]
    with pytest.raises(ValidationFailed) as e:
        tables.save(demo_db, EDITOR, specs.EVENTS_SPEC, tables.Changes(inserts=bad))
    msgs = " ".join(x.message for x in e.value.errors)
    for m in ("晚于今天", "要填写金额", "只有「以奖代投」", "不在示范点台账中"):
        assert m in msgs
    ok = tables.save(demo_db, EDITOR, specs.EVENTS_SPEC, tables.Changes(inserts=[
        {"org_id": site["org_id"], "event_date": TODAY, "kind": "以奖代投", "title": "奖励", "amount": "30000"}]))
    assert ok.inserted == 1


def test_pairings_are_checked(demo_db):
    site = site_with(demo_db, "consolidating")
    partner = free_org(demo_db)[0]
    bad = [{"site_org_id": site["org_id"], "partner_org_id": site["org_id"], "started_on": TODAY},
           {"site_org_id": site["org_id"], "partner_org_id": partner, "started_on": TODAY,
            "ended_on": TODAY - timedelta(days=5)},
           {"site_org_id": partner, "partner_org_id": site["org_id"], "started_on": TODAY}]
    with pytest.raises(ValidationFailed) as e:
        tables.save(demo_db, EDITOR, specs.PAIRINGS_SPEC, tables.Changes(inserts=bad))
    msgs = " ".join(x.message for x in e.value.errors)
    assert "不能和自己结对" in msgs and "早于开始日期" in msgs and "不在示范点台账中" in msgs
    two = [{"site_org_id": site["org_id"], "partner_org_id": partner, "started_on": TODAY}] * 2
    with pytest.raises(ValidationFailed, match="错误"):
        tables.save(demo_db, EDITOR, specs.PAIRINGS_SPEC, tables.Changes(inserts=two))


def test_pairing_suggestions_are_lagging_orgs_not_in_the_programme(demo_db):
    site = site_with(demo_db, "consolidating")
    with demo_db.write() as cur:  # a lagging org next door, not yet paired
        cur.execute("UPDATE orgs SET tier = 'lagging', street = ?, lat = NULL WHERE id = ?",
                    [site["street"], free_org(demo_db)[0]])
    mine = store.pairing_suggestions(demo_db, site["org_id"])
    assert mine and all(o["site_org_id"] == site["org_id"] for o in mine)
    out = store.pairing_suggestions(demo_db, max_km=50)
    with demo_db.read() as cur:
        lagging = {r[0] for r in cur.execute("SELECT id FROM orgs WHERE tier = 'lagging'"
                                             " AND parent_id IS NOT NULL").fetchall()}
    assert out and all(o["org_id"] in lagging for o in out), "lagging, and never a street's top committee"
    assert len({o["org_id"] for o in out}) == len(out)


# -- rubrics -----------------------------------------------------------------------------------
def test_rubric_rules(demo_db):
    rub = store.rubrics(demo_db).filter(pl.col("year") == Y).row(0, named=True)
    with pytest.raises(ValidationFailed) as e:
        tables.save(demo_db, EDITOR, specs.RUBRIC_ITEMS_SPEC, tables.Changes(inserts=[
            {"rubric_id": rub["id"], "seq": 1, "item": "重复序号", "kind": "评分项", "max_points": "5"},
            {"rubric_id": rub["id"], "seq": 90, "item": "否决带分", "kind": "否决项", "max_points": "5"},
            {"rubric_id": rub["id"], "seq": 91, "item": "加分无上限", "kind": "加分项"}]))
    msgs = " ".join(x.message for x in e.value.errors)
    assert "序号重复" in msgs and "否决项不设分值" in msgs and "大于 0 的分值" in msgs
    with pytest.raises(ValidationFailed, match="错误"):
        tables.save(demo_db, EDITOR, specs.RUBRICS_SPEC, tables.Changes(inserts=[
            {"name": "另一套通用细则", "year": Y, "category": "通用（所有类别）", "pass_mark": "80"}]))
    with pytest.raises(ValidationFailed) as e:
        tables.save(demo_db, EDITOR, specs.RUBRICS_SPEC, tables.Changes(deletes=[rub["id"]]))
    assert any("考评" in x.message or "条细则" in x.message for x in e.value.errors)
    rid = store.copy_rubric(demo_db, EDITOR, rub["id"], Y + 1)
    assert store.rubric_items(demo_db, rid).height == rub["items"]
    with pytest.raises(BadInput, match="不能再建一套"):
        store.copy_rubric(demo_db, EDITOR, rub["id"], Y + 1)
    # a warning (not an error) when score items do not add up to 100
    res = tables.save(demo_db, EDITOR, specs.RUBRIC_ITEMS_SPEC, tables.Changes(inserts=[
        {"rubric_id": rid, "seq": 50, "item": "新增项目", "kind": "评分项", "max_points": "5"}]))
    assert any("105" in w for w in res.warnings)


def test_category_rubric_wins_over_the_general_one(demo_db):
    rub_rural, _ = store.rubric_for(demo_db, Y, "rural")
    rub_school, _ = store.rubric_for(demo_db, Y, "school")
    assert rub_rural["category"] == "rural" and rub_school["category"] == "all"


# -- plans -----------------------------------------------------------------------------------
def test_plan_defaults_save_validation_and_revert(demo_db):
    p = store.plan(demo_db, Y + 1)
    assert p["is_default"] and p["by_category"]["planned"].sum() == 50 and p["named_target"] == 25
    batch = store.save_plan(demo_db, EDITOR, Y + 1, {**R.DEFAULT_PLAN, "rural": 22}, 26)
    p = store.plan(demo_db, Y + 1)
    assert not p["is_default"] and p["by_category"]["planned"].sum() == 52 and p["named_target"] == 26
    assert store.save_plan(demo_db, EDITOR, Y + 1, {**R.DEFAULT_PLAN, "rural": 22}, 26) is None
    with pytest.raises(ValidationFailed) as e:
        store.save_plan(demo_db, EDITOR, Y + 1, {"rural": "二十", "school": 1.5, "space": 1}, 2)
    assert {x.column for x in e.value.errors} == {"农村", "学校", "类别"}
    with pytest.raises(BadInput, match="计划命名数 60"):
        store.save_plan(demo_db, EDITOR, Y + 1, R.DEFAULT_PLAN, 60)
    with pytest.raises(PermissionDenied):
        store.save_plan(demo_db, VIEWER, Y + 1, R.DEFAULT_PLAN, 20)
    audit.revert_batch(demo_db, EDITOR, batch)
    assert store.plan(demo_db, Y + 1)["is_default"]


def test_plan_vs_actual_counts_selected_rounds_by_category(demo_db):
    p = store.plan(demo_db, Y - 2)
    df = store.list_sites(demo_db)
    with demo_db.read() as cur:
        cats = dict(cur.execute("SELECT id, category FROM orgs").fetchall())
    cohort = df.filter((pl.col("creation_year") == Y - 2) & (pl.col("status") != "applied"))
    assert p["by_category"]["actual"].sum() == cohort.height
    for r in p["by_category"].iter_rows(named=True):
        assert r["actual"] == sum(1 for o in cohort["org_id"] if cats[o] == r["category"])
    assert p["by_category"]["named"].sum() == cohort.filter(pl.col("named_year").is_not_null()).height


# -- due dates and the office's checks ----------------------------------------------------------
def test_due_and_overdue_lists(demo_db):
    later = date(Y + 2, 1, 10)
    d = store.due_and_overdue(demo_db, today=later)
    active = store.list_sites(demo_db).filter(pl.col("status").is_in(list(R.ACTIVE)))
    assert d["overdue"].height == active.filter(pl.col("due_year") < Y + 2).height > 0
    assert set(d["due"]["due_year"]) <= {Y + 2}


def test_checks_visits_experiences_and_workload(demo_db):
    c = store.checks(demo_db, today=TODAY)
    active = store.list_sites(demo_db).filter(pl.col("status").is_in(list(R.ACTIVE)))
    assert c["workload"]["sites"].sum() == active.height
    assert set(c["experiences"].columns) >= {"unit", "sites", "experiences", "short"}
    if c["no_visit"].height:
        row = c["no_visit"].row(0, named=True)
        tables.save(demo_db, EDITOR, specs.EVENTS_SPEC, tables.Changes(inserts=[
            {"org_id": row["org_id"], "event_date": TODAY, "kind": "督查指导", "title": "到点指导"}]))
        again = store.checks(demo_db, today=TODAY)
        assert row["org_id"] not in again["no_visit"]["org_id"].to_list()
    unit = c["experiences"].row(0, named=True)
    assert unit["short"] == (unit["experiences"] < 2)


def test_status_over_years_counts_each_round_once_a_year(demo_db):
    df = store.status_over_years(demo_db)
    assert df.height and set(df["status"]) <= set(R.STATUSES)
    per_year = df.group_by("year").agg(pl.col("n").sum())
    n_sites = store.list_sites(demo_db).height
    assert per_year["n"].max() <= n_sites


# -- score sheets ------------------------------------------------------------------------------
def fill_xlsx(data: bytes, cells: dict) -> bytes:
    """Type values into cells of an xlsx (as a person would in WPS): {sheet_no: {"J4": v}}."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info)
            m = re.match(r"xl/worksheets/sheet(\d+)\.xml$", info.filename)
            if m and int(m.group(1)) in cells:
                xml = body.decode()
                for ref, v in cells[int(m.group(1))].items():
                    if isinstance(v, (int, float)):
                        val = f"<v>{v}</v>"
                        t = ""
                    else:
                        val = f"<is><t>{v}</t></is>"
                        t = ' t="inlineStr"'
                    xml, n = re.subn(rf'<c r="{ref}"( s="\d+")?(?: t="\w+")?\s*/>', rf'<c r="{ref}"\1{t}>{val}</c>', xml)
                    if n == 0:
                        xml, n = re.subn(rf'<c r="{ref}"( s="\d+")?(?: t="\w+")?>.*?</c>',
                                         rf'<c r="{ref}"\1{t}>{val}</c>', xml)
                    assert n == 1, ref
                body = xml.encode()
            z.writestr(info, body)
    return out.getvalue()


def test_score_sheet_round_trip(demo_db):
    site = new_creating(demo_db)
    data = sheets.score_sheet_xlsx(demo_db, site["id"], Y)
    _, template = store.rubric_for(demo_db, Y, site["category"])
    cells = {}
    for i, ln in enumerate(template):
        row = 4 + i
        if ln.kind == "score":
            cells[f"J{row}"] = float(ln.max_points) - 1
            cells[f"I{row}"] = float(ln.max_points)
    cells["L4"] = "表现突出"
    filled = fill_xlsx(data, {1: cells, 2: {"B5": TODAY.isoformat(), "B6": "市考评组", "B7": "真示范"}})
    parsed = sheets.read_score_sheet(demo_db, site["id"], filled, "评分表.xlsx")
    assert parsed["year"] == Y and parsed["assessor"] == "市考评组" and parsed["kind"] == "exemplary"
    assert parsed["assessed_on"] == TODAY and parsed["lines"][0].note == "表现突出"
    out = store.record_assessment(demo_db, EDITOR, site["id"], parsed["year"], parsed["assessed_on"],
                                  parsed["assessor"], parsed["kind"], parsed["lines"])
    n_score = sum(1 for ln in template if ln.kind == "score")
    assert out["total"] == Decimal(100 - n_score) and out["status_after"] == "named"


def test_score_sheet_of_another_site_or_with_a_changed_row_is_refused(demo_db):
    a = new_creating(demo_db)
    b = new_creating(demo_db)
    data = sheets.score_sheet_xlsx(demo_db, a["id"], Y)
    with pytest.raises(BadInput, match="不是当前选择的"):
        sheets.read_score_sheet(demo_db, b["id"], data, "a.xlsx")
    broken = fill_xlsx(data, {1: {"A4": 99999}})
    with pytest.raises(BadInput) as e:
        sheets.read_score_sheet(demo_db, a["id"], broken, "a.xlsx")
    assert any(x.row == 4 and "重新下载" in x.message for x in e.value.errors)
    assert any("缺少" in x.message for x in e.value.errors)
    too_high = fill_xlsx(data, {1: {"J4": 50}, 2: {"B5": TODAY.isoformat(), "B6": "组"}})
    parsed = sheets.read_score_sheet(demo_db, a["id"], too_high, "a.xlsx")
    with pytest.raises(ValidationFailed) as e:
        store.record_assessment(demo_db, EDITOR, a["id"], Y, parsed["assessed_on"], "组", "exemplary",
                                parsed["lines"])
    assert any(x.row == 1 and "超过该项满分" in x.message for x in e.value.errors)


# -- attachments -------------------------------------------------------------------------------
def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 22, 29)).save(buf, format="PNG")
    return buf.getvalue()


PNG = _png()


def test_attachments_are_stored_under_data_and_read_back(demo_db, tmp_path):
    site = site_with(demo_db, "consolidating")
    eid = attachments.add_attachment(demo_db, EDITOR, site["org_id"], TODAY, "活动照片", "../../etc/照片.png", PNG)
    name, data = attachments.attachment(demo_db, eid)
    assert data == PNG and name == "照片.png"
    stored = list((tmp_path / "attachments" / "sites").rglob("*.png"))
    assert len(stored) == 1 and stored[0].is_relative_to(tmp_path / "attachments" / "sites")
    for fname, blob, msg in [("a.exe", b"MZ", "类型不支持"), ("b.png", b"not a png", "不是图片"),
                             ("c.pdf", b"", "空的")]:
        with pytest.raises(BadInput, match=msg):
            attachments.add_attachment(demo_db, EDITOR, site["org_id"], TODAY, "x", fname, blob)
    with pytest.raises(BadInput, match="不在示范点台账中"):
        attachments.add_attachment(demo_db, EDITOR, free_org(demo_db)[0], TODAY, "x", "d.png", PNG)
    assert len(list((tmp_path / "attachments" / "sites").rglob("*.png"))) == 1


# -- property: through the database, status is what the accepted results imply -------------------


SEEN: list[int] = []


@pytest.fixture(scope="module")
def prop_db(tmp_path_factory):
    from dangjian_core import demo

    d = Database(tmp_path_factory.mktemp("prop") / "p.duckdb")
    d.migrate()
    demo.build_demo(d, scale="tiny")
    yield d
    d.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(back=st.integers(3, 8), interval=st.sampled_from([1, 2]),
       steps=st.lists(st.tuples(st.integers(-1, 2), st.booleans()), max_size=7))
def test_random_assessment_sequences_through_the_database(prop_db, back, interval, steps):
    db = prop_db
    oid = free_org(db)[0]
    start = Y - back
    sid = store.apply_site(db, EDITOR, oid, start, applied_on=date(start - 1, 11, 1), inspection_interval=interval)
    store.select_site(db, EDITOR, sid, selected_on=date(start, 2, 1))
    with db.write() as cur:  # the demo only has rubrics for recent years: copy one back
        have = {r[0] for r in cur.execute("SELECT year FROM site_rubrics WHERE category = 'all'").fetchall()}
    for y in range(start, Y + 1):
        if y not in have:
            src = int(store.rubrics(db).filter(pl.col("category") == "all")["id"][0])
            store.copy_rubric(db, EDITOR, src, y)
    accepted, year = [], start - 1
    for gap, ok in steps:
        y = year + gap
        n_before = counts(db)["site_assessments"]
        site = store.get_site(db, sid)
        try:
            store.record_assessment(db, EDITOR, sid, y, min(TODAY, date(y, 12, 15)) if y >= 2000 else TODAY,
                                    "组", "exemplary", lines_for(db, site, max(y, start),
                                                                 Decimal("0.95") if ok else Decimal("0.5")))
        except BadInput:
            assert counts(db)["site_assessments"] == n_before
            continue
        accepted.append("pass" if ok else "fail")
        year = y
        assert store.get_site(db, sid)["status"] == implied_status(accepted)
    assert store.get_site(db, sid)["status"] == implied_status(accepted)
    SEEN.append(len(accepted))
    with db.write() as cur:  # make room for the next example
        cur.execute("DELETE FROM site_assessment_lines WHERE assessment_id IN"
                    " (SELECT id FROM site_assessments WHERE site_id = ?)", [sid])
        cur.execute("DELETE FROM site_assessments WHERE site_id = ?", [sid])
        cur.execute("DELETE FROM sites WHERE id = ?", [sid])


def test_the_property_test_did_accept_assessments():
    assert SEEN and max(SEEN) >= 2 and sum(SEEN) >= 10, SEEN


# -- export then import of the same file changes nothing (cli.md) ------------------------------
@pytest.mark.parametrize("spec", [specs.SITES_SPEC, specs.EVENTS_SPEC, specs.PAIRINGS_SPEC, specs.RUBRICS_SPEC,
                                  specs.RUBRIC_ITEMS_SPEC], ids=lambda s: s.table)
def test_export_then_import_changes_nothing(demo_db, spec):
    from dangjian_core import fileio

    assert tables.get_spec(spec.table) is spec
    data = fileio.xlsx_bytes({spec.label: tables.export_frame(demo_db, EDITOR, spec)})
    frame = fileio.read_frame(data=data, name="x.xlsx", expected=[c.label for c in spec.columns])
    preview = tables.import_frame(demo_db, EDITOR, spec, frame, commit=False)
    assert preview.ok, preview.errors[:3]
    assert (preview.inserts, preview.updates) == (0, 0)
