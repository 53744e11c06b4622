"""One user action is one transaction and one audit batch (issue 12 §3): a multi-month payment
is checked on the roll as it would be before anything is written — a refused payment leaves no
roll rows and no batch; an accepted one is one batch whose undo removes what it added."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dangjian_core import audit
from dangjian_core.dues import payments, roll
from dangjian_core.errors import BadInput
from tests.conftest import TREASURER as T
from tests.dues.test_dues_store import bases, count, roll_row, town  # noqa: F401 — town is a fixture

TODAY = date(2024, 12, 20)


@pytest.fixture
def based(town):  # noqa: F811
    bases(town, [("M1", "2024-01", "5100")])  # 76.50 a month; no roll rows yet
    return town


def state(db) -> tuple[int, int, int]:
    return count(db, "dues_roll"), count(db, "audit_batches"), count(db, "audit_log")


@pytest.mark.parametrize("amount,paid_on,message", [
    ("230", date(2024, 4, 2), "不一致"),                  # not what is owed
    ("229.50", date(2025, 1, 5), "晚于今天"),              # paid in the future
    ("0", date(2024, 4, 2), "不一致"),
])
def test_a_refused_payment_writes_no_roll_rows_and_no_batch(based, amount, paid_on, message):
    before = state(based)
    with pytest.raises(BadInput) as e:
        payments.record_multi_month(based, T, "M1", "2024-04", 3, amount, paid_on, "cash", consent=True, today=TODAY)
    assert message in str(e.value) + " ".join(x.message for x in e.value.errors)
    assert state(based) == before, "nothing written: no roll rows, no audit batch"


def test_an_accepted_payment_is_one_batch_and_one_undo(based):
    rolls, batches, _ = state(based)
    res = payments.record_multi_month(based, T, "M1", "2024-04", 3, "229.50", date(2024, 4, 2), "cash", consent=True,
                                today=TODAY)
    assert res.rows == 3 and res.total_fen == 22950
    assert count(based, "dues_roll") == rolls + 3
    assert count(based, "audit_batches") == batches + 1, "roll rows and payment in one batch"
    for m in ("2024-04", "2024-05", "2024-06"):
        r = roll_row(based, "M1", m)
        assert r["paid"] == Decimal("76.50") and r["quarterly"] is True and r["consent"] is True
    audit.revert_batch(based, T, res.batch_id)
    assert count(based, "dues_roll") == rolls, "undo removes the rows the payment added"


def test_a_payment_over_existing_and_missing_months_undoes_as_one(based):
    roll.generate_roll(based, T, "2024-04")
    rolls = count(based, "dues_roll")
    res = payments.record_multi_month(based, T, "M1", "2024-04", 3, "229.50", date(2024, 4, 2), "cash", consent=True,
                                today=TODAY)
    entries = audit.list_changes(based, T, batch_id=res.batch_id)
    assert sorted(entries["action"].to_list()) == ["insert", "insert", "update"]
    audit.revert_batch(based, T, res.batch_id)
    assert count(based, "dues_roll") == rolls
    assert roll_row(based, "M1", "2024-04")["paid"] == 0
