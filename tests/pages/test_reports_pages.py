"""述职评议 and 整改跟踪 pages in AppTest: every section for each role, picking (generate, lock,
swap, publish), recording votes, bad input shown in Chinese with nothing written, and
confirming an overdue item's escalation."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dangjian_core import clock
from dangjian_core.reports import model, picks, rectifications, sessions, specs, votes
from tests.conftest import EDITOR
from tests.pages.apptest_helpers import app_for, problems

REPORT_SECTIONS = ["场次安排", "选定述职单位", "测评结果", "进度分与指标", "述职效果"]
RECT_SECTIONS = ["逾期看板", "整改事项", "打印通知单"]
WRITE_LABELS = {"生成建议名单", "重新生成建议名单（保留锁定、调换和增加的单位）", "发布名单", "保存测评票", "确认升级",
                "调换", "增加", "锁定", "销号", "保存", "登记（下发问题整改意见单）"}


def _db():
    from ui.session import get_db

    return get_db()


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _open(at, page, section=None, key="rp_section"):
    at.switch_page(page)
    at.run()
    if section:
        at.radio(key=key).set_value(section)
        at.run()
    return at


def _draft_session(at) -> dict:
    """The next draft session (making next year's sessions if this year has none left)."""
    db = _db()
    s = sessions.sessions(db).filter(pl.col("status") == "draft")
    if s.height == 0:
        sessions.create_year(db, EDITOR, clock.today().year + 1)
        s = sessions.sessions(db).filter(pl.col("status") == "draft")
    row = s.to_dicts()[0]
    at.selectbox(key="rp_year").set_value(row["year"])
    at.run()
    at.selectbox(key="rp_pick_session").set_value(row["id"])
    at.run()
    return row


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_every_section_renders(monkeypatch, tmp_path, demo_db_file, role):
    at = app_for(monkeypatch, tmp_path, demo_db_file, role)
    for page, sections, key in (("pages/reports.py", REPORT_SECTIONS, "rp_section"),
                                ("pages/rectifications.py", RECT_SECTIONS, "rc_section")):
        _open(at, page)
        assert at.title[0].value in ("述职评议", "整改跟踪")
        for sec in sections:
            at.radio(key=key).set_value(sec)
            at.run()
            assert not problems(at), (page, sec, problems(at))
            labels = {b.label for b in at.button}
            if role == "viewer":
                assert not labels & WRITE_LABELS, (sec, labels & WRITE_LABELS)
    if role == "viewer":
        _open(at, "pages/reports.py", "选定述职单位")
        assert any("只能查看" in c.value for c in at.caption) or not any(b.label == "发布名单" for b in at.button)


def test_editor_generates_locks_swaps_and_publishes(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    _open(at, "pages/reports.py", "选定述职单位")
    s = _draft_session(at)
    label = next(b.label for b in at.button if b.label.startswith(("生成建议名单", "重新生成")))
    _button(at, label).click()
    at.run()
    assert not problems(at), problems(at)
    assert any("已按规则选出" in x.value for x in at.success)
    listed = picks.picks(_db(), s["id"]).filter(pl.col("status") == "picked")
    assert listed.height == s["capacity"]
    assert any("入选理由" in m.value and "进度分" in m.value for m in at.markdown)
    # lock the first
    first = listed.to_dicts()[0]
    at.selectbox(key="rp_lock_pick").set_value(first["id"])
    at.run()
    _button(at, "锁定").click()
    at.run()
    assert picks.picks(_db(), s["id"]).filter(pl.col("id") == first["id"])["locked"][0] is True
    # a swap without a note is refused in Chinese, nothing changes
    second = listed.to_dicts()[1]
    outsider = picks.ranking(_db(), s["id"]).ranked.filter(~pl.col("unit_id").is_in(listed["unit_id"].to_list()))["unit_id"][0]
    at.radio(key="rp_adjust").set_value("调换")
    at.run()
    at.selectbox(key="rp_swap_out").set_value(second["id"])
    at.selectbox(key="rp_swap_in").set_value(outsider)
    at.run()
    _button(at, "调换").click()
    at.run()
    assert any("必须填写说明" in e.value for e in at.error)
    assert picks.picks(_db(), s["id"]).filter(pl.col("status") == "removed").height == 0
    at.text_input(key="rp_swap_note").input("书记参加集中培训")
    _button(at, "调换").click()
    at.run()
    assert not problems(at), problems(at)
    now = picks.picks(_db(), s["id"])
    assert now.filter(pl.col("unit_id") == second["unit_id"])["status"][0] == "removed"
    assert now.filter(pl.col("unit_id") == outsider)["source"][0] == "swap"
    # publish: needs the confirmation box
    assert _button(at, "发布名单").disabled
    at.checkbox(key="rp_publish_sure").check()
    at.run()
    _button(at, "发布名单").click()
    at.run()
    assert not problems(at), problems(at)
    assert sessions.session(_db(), s["id"])["status"] == "published"
    assert any("已冻结" in x.value for x in at.success)
    # by the publisher's name, not the login name
    assert any("由 业务编辑（演示） 发布" in x.value for x in at.success), [x.value for x in at.success]
    assert {"下载打印版（网页）", "下载 Excel"} <= {d.label for d in at.get("download_button")}
    assert "发布名单" not in {b.label for b in at.button}


def test_capacity_zero_in_the_calendar_is_refused(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    _open(at, "pages/reports.py", "场次安排")
    s = sessions.sessions(_db(), clock.today().year).to_dicts()
    nonce = at.session_state["rp_sessions_nonce"]
    draft_pos = next(i for i, r in enumerate(s) if r["status"] == "draft") if any(r["status"] == "draft" for r in s) else None
    if draft_pos is None:
        pytest.skip("no draft session left this year")
    at.session_state[f"rp_sessions_editor_{nonce}"] = {"edited_rows": {draft_pos: {"capacity": 0}},
                                                        "added_rows": [], "deleted_rows": []}
    at.run()
    _button(at, "保存").click()
    at.run()
    assert any("没有保存" in e.value for e in at.error)
    table = next(d.value for d in at.dataframe if "问题" in d.value.columns)
    assert "名额数必须大于 0" in " ".join(table["问题"].to_list())
    assert sessions.session(_db(), s[draft_pos]["id"])["capacity"] > 0


def test_editor_records_votes_and_a_bad_sum_is_refused(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    _open(at, "pages/reports.py", "测评结果")
    past = sessions.sessions(_db()).filter((pl.col("status") == "published") & (pl.col("session_date") <= clock.today()))
    s = past.to_dicts()[-1]
    at.selectbox(key="rp_year").set_value(s["year"])
    at.run()
    at.selectbox(key="rp_vote_session").set_value(s["id"])
    at.run()
    unit = picks.picks(_db(), s["id"]).filter(pl.col("status") == "picked")["unit_id"][0]
    at.selectbox(key="rp_vote_unit").set_value(unit)
    at.run()  # the form is filled from the saved votes of the unit chosen
    for k, v in {"voters": 40, "good": 20, "fairly_good": 10, "average": 5, "poor": 4}.items():
        at.number_input(key=f"rp_vote_{k}_{unit}").set_value(v)
    _button(at, "保存测评票").click()
    at.run()
    assert any("应等于参评人数" in " ".join(str(x) for x in d.value["问题"].to_list())
               for d in at.dataframe if "问题" in d.value.columns)
    before = votes.votes(_db(), s["id"]).filter(pl.col("unit_id") == unit)["voters"][0]
    assert before != 40
    at.number_input(key=f"rp_vote_poor_{unit}").set_value(5)
    at.text_area(key=f"rp_vote_comments_{unit}").input("问题查找准确，措施具体")
    _button(at, "保存测评票").click()
    at.run()
    assert not problems(at), problems(at)
    v = votes.votes(_db(), s["id"]).filter(pl.col("unit_id") == unit).to_dicts()[0]
    assert (v["voters"], v["good"], v["good_rate"], v["comments"]) == (40, 20, 75.0, "问题查找准确，措施具体")


def test_editor_confirms_an_overdue_escalation(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    _open(at, "pages/rectifications.py", "逾期看板", key="rc_section")
    board = rectifications.board(_db()).filter(~pl.col("at_top"))
    item = board.to_dicts()[0]
    assert at.multiselect(key="rc_pick").proto.select_all == 0, "no「全选」on a list that creates documents"
    at.multiselect(key="rc_pick").select(item["item_id"])
    _button(at, "确认升级").click()
    at.run()
    assert not problems(at), problems(at)
    # a second step names the count and the document before anything is written
    question = f"将升级 1 项整改事项为{model.LEVEL_NAMES[item['level'] + 1]}，确认？"
    assert any(question in w.value for w in at.warning), [w.value for w in at.warning]
    assert rectifications.items(_db()).filter(pl.col("id") == item["item_id"])["level"][0] == item["level"]
    _button(at, "是，升级 1 项").click()
    at.run()
    assert not problems(at), problems(at)
    it = rectifications.items(_db()).filter(pl.col("id") == item["item_id"]).to_dicts()[0]
    assert it["level"] == item["level"] + 1
    assert (it["deadline"] - clock.today()).days == specs.settings(_db())["escalation_days"]
    assert any("已确认升级 1 项" in x.value for x in at.success)
    # the new notice can be printed
    at.radio(key="rc_section").set_value("打印通知单")
    at.run()
    at.selectbox(key="rc_doc_item").set_value(item["item_id"])
    at.run()
    assert not problems(at)
    assert model.LEVEL_NAMES[it["level"]] in at.radio(key="rc_doc_level").format_func(at.radio(key="rc_doc_level").value)


def test_registering_an_item_with_a_deadline_before_it_opens_is_refused(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    _open(at, "pages/rectifications.py", "整改事项", key="rc_section")
    n = rectifications.counts(_db())["total"]
    at.selectbox(key="rc_new_unit").set_value(int(rectifications.items(_db())["unit_id"][0]))
    at.text_area(key="rc_new_problem").input("组织生活会会前谈心谈话不充分")
    at.text_input(key="rc_new_who").input("支部书记")
    at.date_input(key="rc_new_deadline").set_value(date(2000, 1, 1))
    _button(at, "登记（下发问题整改意见单）").click()
    at.run()
    assert any("没有保存" in e.value for e in at.error)
    assert rectifications.counts(_db())["total"] == n


def test_escalating_several_asks_with_the_count_and_cancel_writes_nothing(monkeypatch, tmp_path, demo_db_file):
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    _open(at, "pages/rectifications.py", "逾期看板", key="rc_section")
    board = rectifications.board(_db()).filter(~pl.col("at_top") & (pl.col("level") == 1)).head(2)
    assert board.height == 2
    before = rectifications.counts(_db())
    at.multiselect(key="rc_pick").set_value(board["item_id"].to_list())
    _button(at, "确认升级").click()
    at.run()
    assert any("将升级 2 项整改事项为通报批评单，确认？" in w.value for w in at.warning)
    _button(at, "取消").click()
    at.run()
    assert not problems(at) and rectifications.counts(_db()) == before, "cancel writes nothing"
    assert not [b for b in at.button if b.label.startswith("是，升级")]


def test_indicator_settings_editor_shows_names_not_codes(monkeypatch, tmp_path, demo_db_file):
    """Issue 14: 指标设置 shows the Chinese indicator name; the code column is not shown."""
    at = app_for(monkeypatch, tmp_path, demo_db_file, "editor")
    _open(at, "pages/reports.py", "进度分与指标")
    assert not problems(at), problems(at)
    editors = [d for d in at.dataframe if "code" in d.value.columns and "name" in d.value.columns]
    assert editors, [list(d.value.columns) for d in at.dataframe]
    order = list(editors[0].proto.column_order)
    assert "name" in order and "code" not in order, order
