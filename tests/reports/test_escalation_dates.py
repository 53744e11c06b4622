"""整改升级 dates (issue 12 §3): a new level is checked against today (clock.today()) and against
the previous level — no back-dating before the document it escalates, no deadline already
past when the new document is issued."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from dangjian_core import tables
from dangjian_core.errors import BadInput
from dangjian_core.reports import rectifications, specs
from tests.conftest import EDITOR
from tests.reports.test_reports import rdb  # noqa: F401 — fixture

D = dt.date


@pytest.fixture
def on_2025_02_20(monkeypatch):
    monkeypatch.setenv("DANGJIAN_TODAY", "2025-02-20")  # the product's clock, no today= passed below


def item(db, opened=D(2024, 12, 1), deadline=D(2025, 1, 10)) -> int:
    return rectifications.add_item(db, EDITOR, unit_id=3, problem="三会一课记录不全", responsible="组织委员",
                      opened=opened, deadline=deadline)


def level(db, iid) -> int:
    return rectifications.items(db).filter(pl.col("id") == iid)["level"][0]


def test_a_document_overdue_at_birth_is_refused(rdb, on_2025_02_20):  # noqa: F811
    iid = item(rdb)
    with pytest.raises(BadInput) as e:  # 01-11 + 15 days = 01-26, already past on 02-20
        rectifications.confirm_escalations(rdb, EDITOR, [(iid, 1)], confirmed_on=D(2025, 1, 11))
    msg = e.value.errors[0].message
    assert "下发时就已逾期" in msg and "2025-01-26" in msg and "2025-02-05" in msg
    assert level(rdb, iid) == 1, "nothing written"
    # the earliest date that keeps the new deadline today or later is accepted
    rectifications.confirm_escalations(rdb, EDITOR, [(iid, 1)], confirmed_on=D(2025, 2, 5))
    assert level(rdb, iid) == 2
    assert rectifications.items(rdb).filter(pl.col("id") == iid)["deadline"][0] == D(2025, 2, 20)


def test_the_issue_example_two_levels_on_one_day_is_refused(rdb, on_2025_02_20):  # noqa: F811
    iid = item(rdb)
    with pytest.raises(BadInput):
        rectifications.confirm_escalations(rdb, EDITOR, [(iid, 1)], confirmed_on=D(2025, 1, 11))
    with pytest.raises(BadInput):
        rectifications.confirm_escalations(rdb, EDITOR, [(iid, 2)], confirmed_on=D(2025, 1, 27))
    assert level(rdb, iid) == 1 and rectifications.escalations(rdb, iid).height == 0


def test_no_back_dating_before_the_previous_level(rdb, on_2025_02_20):  # noqa: F811
    iid = item(rdb)
    rectifications.confirm_escalations(rdb, EDITOR, [(iid, 1)], confirmed_on=D(2025, 2, 10))  # 通报批评单, due 02-25
    # someone moves the deadline back in the table editor (allowed: not before 下发)
    row = rectifications.items(rdb).filter(pl.col("id") == iid)
    tables.save(rdb, EDITOR, specs.ITEMS_SPEC, tables.Changes(updates={iid: {"deadline": D(2025, 2, 5)}},
                                                          versions={iid: row["version"][0]}))
    with pytest.raises(BadInput) as e:  # after the (moved) deadline, but before the 通报批评单 was issued
        rectifications.confirm_escalations(rdb, EDITOR, [(iid, 2)], confirmed_on=D(2025, 2, 8))
    msg = e.value.errors[0].message
    assert "通报批评单于 2025-02-10 下发" in msg and "不能早于" in msg
    assert level(rdb, iid) == 2
    rectifications.confirm_escalations(rdb, EDITOR, [(iid, 2)], confirmed_on=D(2025, 2, 12))
    assert level(rdb, iid) == 3


def test_future_dates_are_refused_against_the_clock(rdb, on_2025_02_20):  # noqa: F811
    iid = item(rdb)
    with pytest.raises(BadInput, match="不能晚于今天"):
        rectifications.confirm_escalations(rdb, EDITOR, [(iid, 1)], confirmed_on=D(2025, 2, 21))


def test_the_confirmation_question_names_count_and_documents():
    assert rectifications.escalation_question([(1, 1), (2, 1), (3, 1)]) == "将升级 3 项整改事项为通报批评单，确认？"
    assert rectifications.escalation_question([(1, 1), (2, 2)]) == "将升级 2 项整改事项（1 项为通报批评单、1 项为主要领导约谈单），确认？"
