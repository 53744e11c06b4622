"""Correcting a unit's votes never wipes its 评议意见 (issue 12 §3): an edit starts from the stored
values and writes only what changed — in the core (record_votes, import_votes) and on the page
(the form is pre-filled from the saved row)."""

from __future__ import annotations

import polars as pl
import pytest

from dangjian_core import audit, clock, fileio
from dangjian_core.errors import ConflictError
from dangjian_core.reports import sessions, votes
from tests.conftest import EDITOR
from tests.pages.apptest_helpers import open_page, problems
from tests.reports.test_reports import LATE, held, rdb  # noqa: F401 — fixtures


def vote(db, sid, unit) -> dict:
    return votes.votes(db, sid).filter(pl.col("unit_id") == unit).to_dicts()[0]


def test_correcting_the_numbers_keeps_the_saved_comments(held):  # noqa: F811
    db, s = held
    votes.record_votes(db, EDITOR, s["id"], 1, 10, 5, 3, 2, 20, "问题查找准确", today=LATE)
    votes.record_votes(db, EDITOR, s["id"], 1, 12, 5, 2, 1, 20, today=LATE)  # numbers only
    v = vote(db, s["id"], 1)
    assert (v["good"], v["comments"]) == (12, "问题查找准确")
    # the history shows the numbers that changed and nothing else
    change = audit.list_changes(db, EDITOR, table="report_votes").to_dicts()[0]
    line = audit.describe_change("report_votes", change["action"], change["before"], change["after"])
    assert "好：10 → 12" in line and "评议意见" not in line and "comments" not in line


def test_an_unchanged_correction_writes_nothing(held):  # noqa: F811
    db, s = held
    votes.record_votes(db, EDITOR, s["id"], 1, 10, 5, 3, 2, 20, "很好", today=LATE)
    version = vote(db, s["id"], 1)["version"]
    n = audit.list_batches(db, EDITOR).height
    assert votes.record_votes(db, EDITOR, s["id"], 1, 10, 5, 3, 2, 20, "很好", today=LATE) is None
    assert vote(db, s["id"], 1)["version"] == version and audit.list_batches(db, EDITOR).height == n


def test_a_correction_from_a_stale_form_is_refused(held):  # noqa: F811
    db, s = held
    votes.record_votes(db, EDITOR, s["id"], 1, 10, 5, 3, 2, 20, "很好", today=LATE)
    v = vote(db, s["id"], 1)
    votes.record_votes(db, EDITOR, s["id"], 1, 10, 5, 3, 2, 20, "同事补充的意见", today=LATE)  # a colleague
    with pytest.raises(ConflictError, match="已被别人修改"):
        votes.record_votes(db, EDITOR, s["id"], 1, 11, 5, 3, 1, 20, v["comments"], expected_version=v["version"],
                       today=LATE)
    assert vote(db, s["id"], 1)["comments"] == "同事补充的意见"
    with pytest.raises(ConflictError):  # the form thought there were no votes yet
        votes.record_votes(db, EDITOR, s["id"], 1, 11, 5, 3, 1, 20, expected_version=0, today=LATE)


def test_an_imported_sheet_without_comments_keeps_them(held):  # noqa: F811
    db, s = held
    votes.record_votes(db, EDITOR, s["id"], 1, 10, 5, 3, 2, 20, "有亮点", today=LATE)
    votes.record_votes(db, EDITOR, s["id"], 2, 10, 5, 3, 2, 20, "需加强", today=LATE)
    numbers = pl.DataFrame({"单位": ["第1支部", "第2支部"], "参评人数": ["20", "20"], "好": ["11", "10"],
                            "较好": ["4", "5"], "一般": ["3", "3"], "差": ["2", "2"]})
    pv = votes.import_votes(db, EDITOR, s["id"], fileio.Frame(numbers, "只有票数.xlsx"), commit=True, today=LATE)
    assert pv.ok and (pv.inserts, pv.updates, pv.unchanged) == (0, 1, 1)
    assert vote(db, s["id"], 1)["comments"] == "有亮点" and vote(db, s["id"], 1)["good"] == 11
    assert vote(db, s["id"], 2)["comments"] == "需加强"
    blank = numbers.with_columns(pl.Series("评议意见", [None, "改写的意见"]))
    votes.import_votes(db, EDITOR, s["id"], fileio.Frame(blank, "空意见.xlsx"), commit=True, today=LATE)
    assert vote(db, s["id"], 1)["comments"] == "有亮点" and vote(db, s["id"], 2)["comments"] == "改写的意见"


def test_the_correction_form_is_prefilled_and_keeps_the_comments(monkeypatch, tmp_path, demo_db_file):
    at = open_page(monkeypatch, tmp_path, demo_db_file, "editor", "pages/reports.py")
    at.radio(key="rp_section").set_value("测评结果")
    at.run()
    from ui.session import get_db

    db = get_db()
    today = clock.today()
    voted = None
    for s in sessions.sessions(db).filter(pl.col("status") == "published").to_dicts():
        v = votes.votes(db, s["id"])
        if s["session_date"] <= today and v.height and v["comments"].is_not_null().any():
            voted = (s, v.filter(pl.col("comments").is_not_null()).to_dicts()[0])
            break
    assert voted, "the demo has a session with votes and comments"
    s, row = voted
    at.selectbox(key="rp_year").set_value(s["year"])
    at.run()
    at.selectbox(key="rp_vote_session").set_value(s["id"])
    at.run()
    at.selectbox(key="rp_vote_unit").set_value(row["unit_id"])
    at.run()
    uid = row["unit_id"]
    for k in ("voters", "good", "fairly_good", "average", "poor"):
        assert at.number_input(key=f"rp_vote_{k}_{uid}").value == row[k], k
    assert at.text_area(key=f"rp_vote_comments_{uid}").value == row["comments"]
    # correct one number: move a vote from 差 to 好 (keeps the sum), comments untouched
    if row["poor"] > 0:
        at.number_input(key=f"rp_vote_poor_{uid}").set_value(row["poor"] - 1)
        at.number_input(key=f"rp_vote_good_{uid}").set_value(row["good"] + 1)
    else:
        at.number_input(key=f"rp_vote_average_{uid}").set_value(row["average"] + 1)
        at.number_input(key=f"rp_vote_voters_{uid}").set_value(row["voters"] + 1)
    next(b for b in at.button if b.label == "保存测评票").click()
    at.run()
    assert not problems(at), problems(at)
    after = vote(db, s["id"], uid)
    assert after["comments"] == row["comments"] and after["version"] == row["version"] + 1
