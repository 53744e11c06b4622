"""Voluntary extra payments (自愿多交党费, `dues_voluntary`)."""

from __future__ import annotations

from datetime import date

import polars as pl

from .. import audit, clock, uow
from ..auth import User, require
from ..db import Database
from ..errors import BadInput
from .arrears_rules import voluntary_payment_flag
from .rules import parse_money
from .store import METHODS, PERM_READ, PERM_WRITE, _member_by_no, _scope, _scope_sql, parse_month


def record_voluntary(db: Database, user: User, member_no: str, month: object, amount: object, paid_on: date, method: str,
                     note: str | None = None, today: date | None = None) -> tuple[int, bool]:
    """A voluntary payment, recorded apart from the monthly amount. Returns (id, forward):
    one-off ≥ 1000.00 is forwarded in full to the Centre (flagged)."""
    require(user, PERM_WRITE)
    today = today or clock.today()
    amt = parse_money(amount, what="自愿多交金额")
    if amt <= 0:
        raise BadInput("自愿多交金额应大于 0")
    if method not in METHODS:
        raise BadInput("请选择缴纳方式：" + "、".join(METHODS.values()))
    if paid_on is None or paid_on > today:
        raise BadInput("请填写缴纳日期（不能晚于今天）")
    m = parse_month(month)
    forward = voluntary_payment_flag(amt)
    with uow.action(db, user, PERM_WRITE, "dues_voluntary", "登记自愿多交党费") as act:
        cur = act.cur
        mid, org_id, name = _member_by_no(cur, member_no)
        vid = cur.execute("INSERT INTO dues_voluntary(member_id, org_id, month, amount, paid_on, method, forward,"
                          " note, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                          [mid, org_id, m, amt, paid_on, method, forward, note or None, user.username]).fetchone()[0]
        act.describe(f"登记自愿多交党费：{name} {amt} 元" + ("（≥1000 元，全额上缴中央）" if forward else ""))
        act.record("dues_voluntary", vid, "insert", None,
                     audit.rows_json(cur, "dues_voluntary", "id", [vid]).get(str(vid)))
    return int(vid), forward


def voluntary_list(db: Database, user: User, start: object, end: object, *, org_id: int | None = None) -> pl.DataFrame:
    require(user, PERM_READ)
    a, b = parse_month(start), parse_month(end)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        out: pl.DataFrame = cur.sql("SELECT v.id, strftime(v.month, '%Y-%m') AS month, m.member_no, m.name,"
                                    " o.name AS org, v.amount, v.paid_on, v.method, v.forward, v.note FROM dues_voluntary v"
                                    " JOIN members m ON m.id = v.member_id JOIN orgs o ON o.id = v.org_id"
                                    f" WHERE v.month BETWEEN ? AND ? AND {_scope_sql(cur, scope, 'v.org_id')}"
                                    " ORDER BY v.paid_on DESC, v.id DESC", params=[a, b]).pl()
    return out
