"""AppTest: the 示范点 and 年度计划与考评 pages for every role, and the writes they make."""


import polars as pl
import pytest

from dangjian_core import clock
from dangjian_core.sites import specs, store
from tests.pages.apptest_helpers import app_for, open_page, problems, walk_tabs

Y = clock.today().year
SITE_TABS = ["概况与联系人", "记录考评", "考评记录", "创建档案", "结对"]
PLAN_TABS = ["计划与完成", "到期与逾期", "督查提醒", "考评细则", "简报图表"]


def db_():
    from ui.session import get_db

    return get_db()


def open_site(at, site_id, tab="概况与联系人"):
    at.switch_page("pages/sites.py")
    at.run()
    at.multiselect(key="st_status").set_value([])  # all statuses
    at.run()
    at.selectbox(key="site_pick").set_value(site_id)
    at.session_state["site_tab"] = tab
    at.run()
    assert not problems(at), problems(at)


def button(at, starts):
    return next(b for b in at.button if b.label.startswith(starts))


CREATING_DUE = (pl.col("status") == "creating") & (pl.col("due_year") == Y)


def editor_on_site(monkeypatch, tmp_path, demo_db_file, where, tab="概况与联系人"):
    """The editor on the 示范点 page, at `tab` of the first site matching `where`; (at, site)."""
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    site = store.list_sites(db_()).filter(where).row(0, named=True)
    open_site(at, site["id"], tab)
    return at, site


def type_archive_row(at, site, kind, title):
    """A new 创建档案 row (today, kind, title) typed into the site's archive editor, not saved."""
    at.session_state[f"ev_{site['org_id']}_editor_0"] = {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"event_date": clock.today().isoformat(), "kind": kind, "title": title}]}
    at.run()


def fill_scores(at, site, factor=1.0, extra=None):
    _, lines = store.rubric_for(db_(), Y, site["category"])
    edits = {i: {"考评得分": float(ln.max_points) * factor} for i, ln in enumerate(lines) if ln.kind == "score"}
    for i, v in (extra or {}).items():
        edits.setdefault(i, {}).update(v)
    at.session_state[f"as_lines_{site['id']}_{Y}_0"] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}
    at.text_input(key=f"as_who_{site['id']}").input("市委组织部考评组")
    at.run()


@pytest.mark.parametrize("role", ["admin", "editor", "treasurer", "viewer"])
def test_both_pages_and_every_tab_render_for_each_role(monkeypatch, tmp_path, demo_db_file, role):
    at = open_page(monkeypatch, tmp_path, demo_db_file, role, "pages/sites.py")
    assert not problems(at) and at.title[0].value == "示范点"
    assert [t.label for t in at.tabs] == SITE_TABS
    walk_tabs(at, "site_tab", SITE_TABS)
    at.switch_page("pages/site_plan.py")
    at.run()
    walk_tabs(at, "sp_tab", PLAN_TABS)
    at.session_state["sp_tab"] = "计划与完成"
    at.run()
    can_write = role in ("admin", "editor")
    assert any(b.label == "保存计划" for b in at.button) == can_write
    at.switch_page("pages/sites.py")
    at.run()
    assert any(b.label == "申报" for b in at.button) == can_write


def test_editor_records_an_assessment_sees_the_status_change_and_reverts_it(monkeypatch, tmp_path, demo_db_file):
    at, site = editor_on_site(monkeypatch, tmp_path, demo_db_file, CREATING_DUE, "记录考评")
    fill_scores(at, site, 0.9)
    assert {m.label: m.value for m in at.metric}["状态将变为"] == "已授牌"
    button(at, "记录考评").click()
    at.run()
    assert not problems(at)
    assert any("创建中 → 已授牌" in s.value for s in at.success)
    assert store.get_site(db_(), site["id"])["status"] == "named"
    at.session_state["site_tab"] = "考评记录"
    at.run()
    hist = next(d.value for d in at.dataframe if "状态变化" in d.value.columns)
    assert hist["状态变化"].to_list()[-1] == "创建中 → 已授牌"
    button(at, f"撤销 {Y} 年度考评").click()
    at.run()
    assert any("已撤销" in s.value for s in at.success)
    assert store.get_site(db_(), site["id"])["status"] == "creating"


def test_a_score_above_the_maximum_is_listed_by_row_and_nothing_is_saved(monkeypatch, tmp_path, demo_db_file):
    at, site = editor_on_site(monkeypatch, tmp_path, demo_db_file, CREATING_DUE, "记录考评")
    fill_scores(at, site, 1.0, extra={0: {"考评得分": 99.0}})
    button(at, "记录考评").click()
    at.run()
    assert any("没有保存" in e.value for e in at.error)
    table = next(d.value for d in at.dataframe if "问题" in d.value.columns)
    assert table["行"].to_list() == ["1"] and table["列"].to_list() == ["考评得分"]
    assert "超过该项满分" in table["问题"][0]
    assert store.get_site(db_(), site["id"])["status"] == "creating"
    assert store.assessments(db_(), site["id"]).height == 0


def test_a_veto_fails_the_assessment_on_screen(monkeypatch, tmp_path, demo_db_file):
    at, site = editor_on_site(monkeypatch, tmp_path, demo_db_file, CREATING_DUE, "记录考评")
    _, lines = store.rubric_for(db_(), Y, site["category"])
    veto = next(i for i, ln in enumerate(lines) if ln.kind == "veto")
    fill_scores(at, site, 1.0, extra={veto: {"否决": True}})
    m = {m.label: m.value for m in at.metric}
    assert m["考评结果"] == "不合格（否决）" and m["状态将变为"] == "未通过命名"


def test_apply_then_select_through_the_page(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "editor", "pages/sites.py")
    org = int(store.open_candidates(db_())["id"][0])
    next(s for s in at.selectbox if s.label == "党组织").set_value(org)
    next(t for t in at.text_input if t.label == "责任单位").input("东湖街道党工委")
    button(at, "申报").click()
    at.run()
    assert not problems(at)
    assert any("已登记申报" in s.value for s in at.success)
    new = store.rounds_of_org(db_(), org).row(-1, named=True)
    assert new["status"] == "applied" and at.selectbox(key="site_pick").value == new["id"]
    button(at, "确定为创建单位").click()
    at.run()
    assert store.get_site(db_(), new["id"])["status"] == "creating"


def test_people_are_saved_from_the_form(monkeypatch, tmp_path, demo_db_file):
    at, site = editor_on_site(monkeypatch, tmp_path, demo_db_file, pl.col("status") == "consolidating")
    next(t for t in at.text_input if t.label == "督查指导员").input("页面测试督查员")
    button(at, "保存联系人和设置").click()
    at.run()
    assert store.get_site(db_(), site["id"])["supervisor"] == "页面测试督查员"


def test_an_archive_entry_is_added_in_the_site_table(monkeypatch, tmp_path, demo_db_file):
    at, site = editor_on_site(monkeypatch, tmp_path, demo_db_file, pl.col("status") == "named", "创建档案")
    type_archive_row(at, site, "典型经验", "页面测试经验材料")
    next(b for b in at.button if b.label == "保存" and b.key == f"ev_{site['org_id']}_save").click()
    at.run()
    assert not problems(at)
    ev = store.events(db_(), site["org_id"])
    assert "页面测试经验材料" in ev["title"].to_list()


def test_plan_is_saved_and_shown_against_actual(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "editor", "pages/site_plan.py")
    at.number_input(key="sp_year").set_value(Y + 1)
    at.run()
    assert any("默认计划" in i.value for i in at.info)
    at.session_state[f"plan_{Y + 1}_0"] = {"edited_rows": {0: {"计划创建": 24}}, "added_rows": [], "deleted_rows": []}
    at.number_input(key=f"plan_target_{Y + 1}").set_value(27)
    at.run()
    button(at, "保存计划").click()
    at.run()
    assert not problems(at)
    p = store.plan(db_(), Y + 1)
    assert not p["is_default"] and p["named_target"] == 27
    assert p["by_category"].filter(pl.col("category") == "rural")["planned"][0] == 24


def test_due_and_checks_tabs_list_what_the_core_finds(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "viewer")
    at.switch_page("pages/site_plan.py")
    at.session_state["sp_tab"] = "到期与逾期"
    at.run()
    d = store.due_and_overdue(db_())
    assert len(at.dataframe[0].value) == d["due"].height
    at.session_state["sp_tab"] = "督查提醒"
    at.run()
    c = store.checks(db_())
    assert len(at.dataframe[0].value) == c["experiences"].height
    shown = at.dataframe[0].value
    assert (shown["提醒"] == "不足").sum() == int(c["experiences"]["short"].sum())


def test_rubric_is_copied_to_next_year_from_the_page(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    at.switch_page("pages/site_plan.py")
    at.session_state["sp_tab"] = "考评细则"
    at.run()
    button(at, "复制这套细则").click()
    at.run()
    assert not problems(at)
    assert any("已复制" in s.value for s in at.success)
    assert store.rubrics(db_()).filter(pl.col("year") == Y + 1).height == 1


def test_unsaved_archive_edits_survive_a_colleagues_save(monkeypatch, tmp_path, demo_db_file):
    at, site = editor_on_site(monkeypatch, tmp_path, demo_db_file, pl.col("status") == "consolidating", "创建档案")
    type_archive_row(at, site, "督查指导", "我的未保存记录")
    from dangjian_core import tables
    from tests.conftest import EDITOR

    tables.save(db_(), EDITOR, specs.EVENTS_SPEC, tables.Changes(inserts=[  # a colleague, same site
        {"org_id": site["org_id"], "event_date": clock.today(), "kind": "典型经验", "title": "同事的记录"}]))
    at.run()
    assert any("数据已有更新" in c.value for c in at.caption)
    next(b for b in at.button if b.key == f"ev_{site['org_id']}_save").click()
    at.run()
    assert not problems(at)
    titles = store.events(db_(), site["org_id"])["title"].to_list()
    assert "我的未保存记录" in titles and "同事的记录" in titles
