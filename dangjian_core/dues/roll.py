"""The monthly roll (花名册, `dues_roll`): generate, page, summarise, explain and reproduce."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from .. import uow
from ..auth import User, require
from ..db import Cursor, Database
from ..errors import BadInput
from .engine import dues_exprs
from .model import _CATEGORY_ENUM, BASE_CATEGORIES, CATEGORIES, RuleHistory
from .rules import calc_dues, explain_line
from .settings import _rule_history, _settings, describe_settings
from .store import (
    CALC_FIELDS,
    PERM_READ,
    PERM_SALARY,
    PERM_WRITE,
    _audit_inserts_range,
    _audit_updates,
    _base_by_reading,
    _compute,
    _d,
    _inputs,
    _labels,
    _register,
    _reserve_ids,
    _scope,
    _scope_sql,
    _snapshot,
    month_text,
    parse_month,
    roll_month,
)


# =======================================================================================
# The monthly roll
# =======================================================================================
@dataclass
class RollResult:
    inserted: int
    updated: int
    missing: pl.DataFrame        # member_no, name, org, month, category: no base / fixed amount
    batch_id: int | None
    settings_id: int
    overpaid: int = 0            # recomputed rows whose payment now exceeds the due amount

    @property
    def summary(self) -> str:
        s = f"新增 {self.inserted} 行，重新计算 {self.updated} 行"
        if self.overpaid:
            s += f"；{self.overpaid} 人次重新计算后实缴多于应缴：多出部分请核实后退还或转作自愿多交"
        if self.missing.height:
            s += f"；{self.missing.height} 人次缺少计算基数或核定数额，未列入（请先导入工资表或基数）"
        return s


def _roll_frame(cur: Cursor, months: list[date], *, scope: list[int] | None, member_ids: Iterable[int] | None,
                rules: RuleHistory, recompute: bool) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    raw = _inputs(cur, months, scope=scope, member_ids=member_ids, rules=rules)
    if "counted_fen" in raw.columns:
        raw = raw.with_columns(base_fen=_base_by_reading(rules, pl.col("month"), pl.col("dues_category")))
    df = _compute(raw, rules)
    ok = pl.col("dues_fen").is_not_null()
    new = df.filter(pl.col("roll_id").is_null() & ok)
    missing = df.filter(pl.col("roll_id").is_null() & ~ok)
    changed = df.head(0)
    if recompute:
        rule = pl.col("rule").cast(pl.String)
        differs = ((pl.col("roll_category") != pl.col("category").cast(pl.String))
                   | (pl.col("roll_due_fen") != pl.col("dues_fen"))
                   | (pl.col("roll_rule") != rule)
                   | pl.col("roll_base_fen").ne_missing(pl.col("base_fen"))
                   | pl.col("roll_fixed_fen").ne_missing(pl.col("fixed_fen")))
        changed = df.filter(pl.col("roll_id").is_not_null() & ok & differs)
    return new, changed, missing


def _roll_values(df: pl.DataFrame, settings_id: int | None = None) -> list[pl.Expr]:
    return [
        pl.col("category").cast(pl.String),
        pl.col("base_fen").cast(pl.Int64),
        pl.col("fixed_fen").cast(pl.Int64),
        pl.col("rate_permille").cast(pl.Int32),
        pl.col("rule").cast(pl.String),
        pl.col("dues_fen").cast(pl.Int64),
        (pl.col("rule_version").cast(pl.Int32) if settings_id is None  # the rule in force that month
         else pl.lit(settings_id, pl.Int32)).alias("settings_id"),
    ]


_ROLL_INSERT_VALUES = (f"category, {_d('base_fen')}, {_d('fixed_fen')}, rate_permille, rule, {_d('dues_fen')},"
                       " settings_id")


def generate_roll(db: Database, user: User, month: object = None, *, months: Iterable[object] | None = None,
                  org_id: int | None = None, member_ids: Iterable[int] | None = None,
                  recompute: bool = False, description: str | None = None) -> RollResult:
    """Add the roll rows of `month` (or each of `months`) for the members of `org_id` and its
    sub-orgs (None: everyone) admitted by then; `recompute` also recomputes existing rows'
    due amounts with the rule in force in each month and the bases (payments stay). One
    audited batch. Each row records the settings version of its month's rule."""
    require(user, PERM_WRITE)
    ms = [parse_month(m) for m in (months if months is not None else [month])]
    if not ms:
        raise BadInput("请选择月份")
    what = "、".join(month_text(m) for m in ms[:3]) + ("……" if len(ms) > 3 else "")
    with uow.action(db, user, PERM_WRITE, "dues_roll",
                    description or f"{'重新计算' if recompute else '生成'}党费花名册：{what}") as act:
        cur = act.cur
        sid, settings = _settings(cur)
        rules = _rule_history(cur)
        scope = _scope(cur, org_id)
        inserted = updated = overpaid = 0
        missing_parts = []
        for i in range(0, len(ms), ROLL_CHUNK_MONTHS):  # a few months per query: see ROLL_CHUNK_MONTHS
            new, changed, missing = _roll_frame(cur, ms[i:i + ROLL_CHUNK_MONTHS], scope=scope,
                                                member_ids=member_ids, rules=rules, recompute=recompute)
            if new.height:
                _insert_roll_rows(act, new)
            if changed.height:
                _update_roll_rows(act, changed)
            inserted, updated = inserted + new.height, updated + changed.height
            overpaid += changed.filter(pl.col("paid_fen") > pl.col("dues_fen")).height
            missing_parts.append(missing.select("member_id", "month", "category"))
            del new, changed, missing
        miss = _member_labels(cur, pl.concat(missing_parts))
    return RollResult(inserted, updated, miss, act.batch_id, sid, overpaid)


# Months computed and written per query when a roll covers many months. Each query is
# set-based over every member; the chunk bounds what is held at once (the wide inputs and the
# computed rows): 10 M member-months (277,778 members × 36 months) all in one query peaked at
# 5.4 GB, three months at a time at 2.4 GB with 52 s of CPU, 8.6× the CPU of 1 M
# (bench/bench_dues_scale.py). A monthly roll is one chunk.
ROLL_CHUNK_MONTHS = 3


def _update_roll_rows(act: uow.Action, changed: pl.DataFrame) -> None:
    """Rewrite recomputed roll rows (`_roll_frame`'s `changed`): amounts, rule, settings; audited."""
    cur, user = act.cur, act.user
    frame = changed.select(pl.col("roll_id").alias("id"), *_roll_values(changed))
    _register(cur, "dj_roll_upd", frame)
    _register(cur, "dj_roll_upd_ids", frame.select(pl.col("id").alias("k")))
    before = _snapshot(cur, "dues_roll", "dj_roll_upd_ids", CALC_FIELDS)
    cur.execute(f"UPDATE dues_roll AS t SET category = f.category, base = {_d('f.base_fen')},"
                f" fixed_amount = {_d('f.fixed_fen')}, rate_permille = f.rate_permille, rule = f.rule,"
                f" due = {_d('f.dues_fen')}, settings_id = f.settings_id,"
                " version = t.version + 1, updated_at = current_timestamp, updated_by = ?"
                " FROM dj_roll_upd f WHERE t.id = f.id", [user.username])
    _audit_updates(act, "dues_roll", before, _snapshot(cur, "dues_roll", "dj_roll_upd_ids", CALC_FIELDS))


def _insert_roll_rows(act: uow.Action, new: pl.DataFrame, *, audited: bool = True) -> tuple[int, int]:
    """Write roll rows computed by `_roll_frame` (its `new` frame), audited in the action's batch
    (`audited=False`: the caller audits the id range itself, once the rows are final). Returns
    the id range."""
    cur, user = act.cur, act.user
    first = _reserve_ids(cur, "dues_roll_seq", new.height)
    frame = new.select(
        (pl.int_range(new.height, dtype=pl.Int64) + first).alias("id"), "month",
        pl.col("member_id").cast(pl.Int32), pl.col("org_id").cast(pl.Int32), *_roll_values(new))
    _register(cur, "dj_roll_new", frame)
    cur.execute("INSERT INTO dues_roll(id, month, member_id, org_id, category, base, fixed_amount,"
                " rate_permille, rule, due, settings_id, updated_by) SELECT id, month, member_id, org_id,"
                f" {_ROLL_INSERT_VALUES}, ? FROM dj_roll_new", [user.username])
    cur.unregister("dj_roll_new")
    if audited:
        _audit_inserts_range(act, "dues_roll", first, first + new.height - 1)
    return first, first + new.height - 1


def _member_labels(cur: Cursor, df: pl.DataFrame) -> pl.DataFrame:
    if df.height == 0:
        return pl.DataFrame(schema={"member_no": pl.String, "name": pl.String, "org": pl.String,
                                    "month": pl.String, "category": pl.String})
    _register(cur, "dj_lbl", df.with_columns(pl.col("category").cast(pl.String)))
    out: pl.DataFrame = cur.sql("SELECT m.member_no, m.name, o.name AS org, strftime(x.month, '%Y-%m') AS month,"
                  " x.category FROM dj_lbl x JOIN members m ON m.id = x.member_id"
                  " JOIN orgs o ON o.id = m.org_id ORDER BY m.member_no, x.month").pl()
    return out.with_columns(_labels("category", CATEGORIES))


def roll_months(db: Database, user: User) -> list[date]:
    require(user, PERM_READ)
    with db.read() as cur:
        return [r[0] for r in cur.execute("SELECT DISTINCT month FROM dues_roll ORDER BY month DESC").fetchall()]


_ROLL_STATUS = {
    "all": "true",
    "unpaid": "r.paid = 0 AND r.due > 0",
    "partial": "r.paid > 0 AND r.paid < r.due",
    "paid": "r.paid >= r.due",
    "owing": "r.paid < r.due",
}


def roll_page(db: Database, user: User, month: object, *, org_id: int | None = None, search: str = "", status: str = "all",
              offset: int = 0, limit: int = 200) -> tuple[pl.DataFrame, int]:
    """One page of the roll of a month (org and its sub-orgs): id, version, member_no, name,
    org, category, base (only with salary.read), rate, due, paid, paid_on, method, quarterly,
    proxy_name, consent, note, rule, settings_id. Money as Decimal(18,2)."""
    require(user, PERM_READ)
    m = parse_month(month)
    if status not in _ROLL_STATUS:
        raise BadInput(f"未知的筛选条件「{status}」")
    with db.read() as cur:
        scope = _scope(cur, org_id)
        where = ["r.month = ?", _scope_sql(cur, scope, "r.org_id"), _ROLL_STATUS[status]]
        params: list[object] = [m]
        if search and search.strip():
            where.append("(mem.member_no ILIKE ? OR mem.name ILIKE ?)")
            params += [f"%{search.strip()}%"] * 2
        clause = " AND ".join(where)
        base_sql = "r.base" if user.can(PERM_SALARY) else "CAST(NULL AS DECIMAL(18,2))"
        total = cur.execute(f"SELECT count(*) FROM dues_roll r JOIN members mem ON mem.id = r.member_id"
                            f" WHERE {clause}", params).fetchone()[0]
        df: pl.DataFrame = cur.sql(
            f"SELECT r.id, r.version, mem.member_no, mem.name, o.name AS org, r.category, {base_sql} AS base,"
            " r.rate_permille, r.due, r.paid, r.paid_on, r.method, r.quarterly, r.proxy_name, r.consent, r.note,"
            " r.rule, r.settings_id, r.member_id, r.month FROM dues_roll r JOIN members mem ON mem.id = r.member_id"
            f" JOIN orgs o ON o.id = r.org_id WHERE {clause} ORDER BY o.name, mem.member_no LIMIT ? OFFSET ?",
            params=params + [int(limit), int(offset)]).pl()
    return df, int(total)


def roll_summary(db: Database, user: User, month: object, *, org_id: int | None = None) -> dict[str, Any]:
    """Totals of a month's roll: members, due, paid (分), paid / unpaid / partial counts, rate."""
    require(user, PERM_READ)
    m = parse_month(month)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        row = cur.execute(
            "SELECT count(*), CAST(coalesce(sum(due), 0) * 100 AS BIGINT),"
            " CAST(coalesce(sum(least(paid, due)), 0) * 100 AS BIGINT),"
            " count(*) FILTER (WHERE paid >= due), count(*) FILTER (WHERE paid = 0 AND due > 0),"
            " count(*) FILTER (WHERE paid > 0 AND paid < due), CAST(coalesce(sum(paid), 0) * 100 AS BIGINT)"
            f" FROM dues_roll r WHERE r.month = ? AND {_scope_sql(cur, scope, 'r.org_id')}", [m]).fetchone()
        vol = cur.execute(
            "SELECT count(*), CAST(coalesce(sum(amount), 0) * 100 AS BIGINT), count(*) FILTER (WHERE forward)"
            f" FROM dues_voluntary v WHERE v.month = ? AND {_scope_sql(cur, scope, 'v.org_id', 'dj_scope2')}",
            [m]).fetchone()
    n, due, paid_capped, n_paid, n_unpaid, n_partial, paid = row
    return {"members": n, "due_fen": due, "paid_fen": paid, "collected_fen": paid_capped,
            "paid_members": n_paid, "unpaid_members": n_unpaid, "partial_members": n_partial,
            "rate": _rate(paid_capped, due, n), "voluntary_count": vol[0], "voluntary_fen": vol[1],
            "forward_count": vol[2]}


def _rate(collected_fen: int, due_fen: int | None, n: int) -> float | None:
    """Collection rate in % (display only): collected ÷ due; 100 when nothing was due."""
    if not n:
        return None
    if not due_fen:
        return 100.0
    return float(Decimal(int(collected_fen)) * 100 / Decimal(int(due_fen)))


def roll_by_org(db: Database, user: User, month: object, *, org_id: int | None = None) -> pl.DataFrame:
    """Per org of the scope: org, street, members, due, paid, unpaid members, rate (%)."""
    require(user, PERM_READ)
    m = parse_month(month)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        df: pl.DataFrame = cur.sql(
            "SELECT o.id AS org_id, o.name AS org, o.street, count(*) AS members,"
            " CAST(sum(r.due) * 100 AS BIGINT) AS due_fen, CAST(sum(least(r.paid, r.due)) * 100 AS BIGINT) AS collected_fen,"
            " CAST(sum(r.paid) * 100 AS BIGINT) AS paid_fen,"
            " count(*) FILTER (WHERE r.paid = 0 AND r.due > 0) AS unpaid"
            f" FROM dues_roll r JOIN orgs o ON o.id = r.org_id WHERE r.month = ? AND {_scope_sql(cur, scope, 'r.org_id')}"
            " GROUP BY ALL ORDER BY o.street, o.name", params=[m]).pl()
    return df.with_columns(rate=_rate_expr())


def _rate_expr(collected: str = "collected_fen", due: str = "due_fen") -> pl.Expr:
    return (pl.when(pl.col(due) > 0).then((pl.col(collected) * 10000 // pl.col(due)).cast(pl.Float64) / 100)
            .otherwise(pl.lit(100.0)))


def explain_roll_row(db: Database, user: User, roll_id: int) -> str:
    """How a roll row's amount came about, with the settings it was computed with."""
    require(user, PERM_READ)
    with db.read() as cur:
        row = cur.execute("SELECT r.category, r.base, r.fixed_amount, r.due, r.settings_id, mem.name, r.month"
                          " FROM dues_roll r JOIN members mem ON mem.id = r.member_id WHERE r.id = ?",
                          [int(roll_id)]).fetchone()
        if row is None:
            raise BadInput(f"找不到第 {roll_id} 条花名册记录")
        cat, base, fixed, due, sid, name, m = row
        settings = _settings(cur, sid)[1]
        src = None
        if base is not None and cat in BASE_CATEGORIES and cat != "retired":
            src = cur.execute("SELECT CAST(counted * 100 AS BIGINT), CAST(deducted * 100 AS BIGINT),"
                              " CAST(tax * 100 AS BIGINT) FROM member_bases b JOIN dues_roll r ON r.member_id = b.member_id"
                              " WHERE r.id = ? AND b.base = r.base AND b.month <= r.month AND b.counted IS NOT NULL"
                              " ORDER BY b.month DESC, b.id DESC LIMIT 1", [int(roll_id)]).fetchone()
    if not user.can(PERM_SALARY) and base is not None:
        return f"{name} {month_text(m)}：应缴 {due} 元（计算基数仅党费管理员可见）；按第 {sid} 版设置计算"
    res = calc_dues(cat, base, fixed, settings)
    text = res.explanation
    if src is not None:
        text = explain_line(cat, int(base * 100), src[0], src[1], src[2], None, settings)
    return f"{name} {month_text(m)}：{text}（第 {sid} 版设置：{describe_settings(settings)}）"


def reproduce_roll(db: Database, user: User, month: object, *, org_id: int | None = None) -> pl.DataFrame:
    """Recompute stored roll rows from their own category, base, fixed amount and settings
    version; returns the rows whose stored due differs (empty when the roll reproduces)."""
    df = roll_month(db, user, month, org_id, "r.id, r.category, CAST(r.base * 100 AS BIGINT) AS base_fen,"
                    " CAST(r.fixed_amount * 100 AS BIGINT) AS fixed_fen, CAST(r.due * 100 AS BIGINT) AS due_fen,"
                    " r.settings_id")
    with db.read() as cur:
        versions = {sid: _settings(cur, sid)[1] for sid in df["settings_id"].unique().to_list()}
    parts = []
    for sid, s in versions.items():
        part = df.filter(pl.col("settings_id") == sid).with_columns(
            pl.col("category").cast(_CATEGORY_ENUM, strict=False)).with_columns(dues_exprs(s))
        parts.append(part.filter(pl.col("dues_fen").ne_missing(pl.col("due_fen"))))
    return pl.concat(parts) if parts else df.head(0)
