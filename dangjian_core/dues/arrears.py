"""Arrears in the database: back-calculation over any period (补交), statements per member,
warning lists and their xlsx."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from .. import fileio
from ..auth import User, require
from ..db import Cursor, Database
from ..errors import BadInput
from .arrears_rules import back_payment_flag_expr, summarize_arrears, warning_level_expr
from .model import _CATEGORY_ENUM, CATEGORIES, DuesSettings, RuleHistory, RulePeriod
from .roll import _rate_expr
from .settings import _rule_history, _settings, _this_month
from .store import (
    PERM_READ,
    PERM_SALARY,
    WARN_LABELS,
    _base_by_reading,
    _compute,
    _dec,
    _ids_frame,
    _inputs,
    _labels,
    _register,
    _scope,
    _scope_sql,
    month_end,
    month_text,
    months_between,
    parse_month,
    yuan,
)


# =======================================================================================
# Arrears: back-calculation over any period (补交)
# =======================================================================================
@dataclass
class BackCalc:
    start: date
    end: date
    settings_id: int
    settings: DuesSettings
    detail: pl.DataFrame     # member_id, month (Date), category, base_fen, due_fen, roll_due_fen, paid_fen,
    #                          back_pay_fen, unpaid, consecutive_unpaid, paid_on
    members: pl.DataFrame    # member_id, member_no, name, org_id, org, street, months, due_total_fen, paid_total_fen,
    #                          arrears_fen, max_consecutive_unpaid, trailing_unpaid, warning, flag_six_months
    orgs: pl.DataFrame       # org_id, org, street, members, due_fen, paid_fen, arrears_fen, owing, warned, flagged, rate
    missing: pl.DataFrame    # member_no, name, org, months: no base / fixed amount in force
    back_pays: pl.DataFrame  # member_no, name, org, paid_on, months, amount_fen, flag (> 6 months)
    rules: RuleHistory | None = None  # the dated rules the months were computed by

    @property
    def counted_end(self) -> date:
        """The last month actually counted: months after this month are not owed yet."""
        return min(self.end, _this_month())


def back_calculate(db: Database, user: User, start: object, end: object, *, org_id: int | None = None,
                   member_ids: Iterable[int] | None = None,
                   settings_id: int | None = None) -> BackCalc:
    """For each member of the org (and sub-orgs) and each month of [start, end] after their
    admission and not after this month (clock.today(): months that have not come yet are not
    owed): 应缴 recomputed from the base in force that month (member_bases, read by that
    month's rule) and the category of that month (member_categories, else the roll's, else the
    register's) with the rule in force that month (the dated settings; or version
    `settings_id` for every month), 实缴 from the roll, 补交 = max(应缴 − 实缴, 0), consecutive
    unpaid runs and warnings. `detail.rule_version` / `rule_label` name the rule each month
    used. Members whose base or approved amount is missing are listed apart (not counted as
    arrears)."""
    require(user, PERM_READ)
    months = months_between(start, end)
    first, last = months[0], months[-1]
    months = [m for m in months if m <= _this_month()]
    with db.read() as cur:
        sid, settings = _settings(cur, settings_id)
        if settings_id is None:
            rules = _rule_history(cur)
        else:
            rules = RuleHistory([RulePeriod(0, settings, str(sid), f"第 {sid} 版设置（指定用于所有月份）")])
        scope = _scope(cur, org_id)
        # a few months at a time: only the compact month rows of the whole period are held at
        # once, not the wide inputs (see CHUNK_MONTHS)
        parts = [_month_rows(_inputs(cur, months[i:i + CHUNK_MONTHS], scope=scope, member_ids=member_ids,
                                     rules=rules), rules)
                 for i in range(0, len(months), CHUNK_MONTHS)]
        labels = cur.sql("SELECT m.id AS member_id, m.member_no, m.name, m.org_id, o.name AS org, o.street"
                         f" FROM members m JOIN orgs o ON o.id = m.org_id WHERE {_scope_sql(cur, scope, 'm.org_id')}").pl()
        back = _back_payments(cur, first, last, scope, member_ids)
    rows = pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=_ROWS_SCHEMA)
    del parts
    return _assemble(rows, months, first, last, labels, back, rules, settings, sid, user)


# Months read and computed per query. The wide inputs of a month (100,000 members) and the
# query's own working memory dominate the peak: at city scale a year at once peaked at ~1.4 GB
# in the server, three months at once ~0.6 GB, in the same time (bench/bench_memory.py).
CHUNK_MONTHS = 3


_ROWS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {"member_id": pl.Int32, "org_id": pl.Int32, "month": pl.Date, "category": _CATEGORY_ENUM,
                "base_fen": pl.Int64, "dues_fen": pl.Int64, "rule": pl.String, "rule_version": pl.String,
                "paid_fen": pl.Int64, "roll_due_fen": pl.Int64, "paid_on": pl.Date, "roll_id": pl.Int64}


def _month_rows(raw: pl.DataFrame, rules: RuleHistory) -> pl.DataFrame:
    """`_inputs` rows → what the back-calculation needs per (member, month), compactly: the
    category of the month (history, else the roll's, else the register's), the base read by
    the month's rule, 应缴 by that rule (null: no base / approved amount), 实缴 and the roll."""
    comp = _month_due(raw, rules)
    return comp.select(
        pl.col("member_id").cast(pl.Int32), pl.col("org_id").cast(pl.Int32), "month", "category",
        pl.col("base_fen").cast(pl.Int64), pl.col("dues_fen").cast(pl.Int64), pl.col("rule").cast(pl.String),
        pl.col("rule_version").cast(pl.String), pl.col("paid_fen").fill_null(0).cast(pl.Int64),
        pl.col("roll_due_fen").cast(pl.Int64), "paid_on", pl.col("roll_id").cast(pl.Int64))


# What `_month_due` reads of `_inputs` (a month's ledger needs no more)
_DUE_INPUTS = ("member_id", "month", "dues_category", "hist_category", "base_fen", "counted_fen", "deducted_fen",
               "tax_fen", "member_fixed_fen", "farmer_fen", "roll_category", "roll_base_fen", "roll_fixed_fen",
               "paid_fen")


def _month_due(raw: pl.DataFrame, rules: RuleHistory) -> pl.DataFrame:
    """`_inputs` rows with the month's category (`category`), base and 应缴 (`dues_fen`)."""
    raw = raw.with_columns(
        base_fen=pl.coalesce("base_fen", "roll_base_fen"),
        farmer_fen=pl.coalesce("roll_fixed_fen", "farmer_fen"),
        member_fixed_fen=pl.coalesce("roll_fixed_fen", "member_fixed_fen"),
        cat_used=pl.coalesce("hist_category", "roll_category", "dues_category"))
    raw = raw.with_columns(base_fen=_base_by_reading(rules, pl.col("month"), pl.col("cat_used")))
    return _compute(raw, rules, category="cat_used")


def month_rows(db: Database, user: User, month: object) -> pl.DataFrame:
    """The back-calculation's ledger of one month for the whole city (the unit the 欠缴与补交
    page caches: a change of period computes only the months it has not seen, and a write
    recomputes only the months whose inputs changed — see `month_fingerprints`): one row per
    member admitted by then, sorted by member — member_id, due_fen (应缴 by that month's rule;
    null: no base / approved amount in force), paid_fen (实缴). About 2 MB per month at
    100,000 members; `back_calculate_rows` assembles any period from them."""
    return months_rows(db, user, [month])[parse_month(month)]


_LEDGER_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "member_id": pl.Int32, "due_fen": pl.Int64, "paid_fen": pl.Int64}


def months_rows(db: Database, user: User, months: Iterable[object]) -> dict[date, pl.DataFrame]:
    """`month_rows` of several months, a few months per query (a first visit computes its
    months at once)."""
    require(user, PERM_READ)
    ms = sorted({parse_month(m) for m in months})
    if not ms:
        return {}
    out: dict[date, pl.DataFrame] = {}
    with db.read() as cur:
        rules = _rule_history(cur)
        for i in range(0, len(ms), CHUNK_MONTHS):  # a few months per query (see CHUNK_MONTHS)
            out.update(_ledgers(cur, ms[i:i + CHUNK_MONTHS], rules))
    return out


def _ledgers(cur: Cursor, months: Sequence[date], rules: RuleHistory) -> dict[date, pl.DataFrame]:
    """`month_rows` of these months (one query: keep them few, see CHUNK_MONTHS)."""
    rows = _month_due(_inputs(cur, list(months), rules=rules, columns=_DUE_INPUTS), rules).select(
        "month", pl.col("member_id").cast(pl.Int32), due_fen=pl.col("dues_fen").cast(pl.Int64),
        paid_fen=pl.col("paid_fen").fill_null(0).cast(pl.Int64))
    parts = {k[0]: v.drop("month") for k, v in rows.partition_by("month", as_dict=True,
                                                                 maintain_order=True).items()}
    return {m: parts.get(m, pl.DataFrame(schema=_LEDGER_SCHEMA)) for m in months}


def paid_rows(cur: Cursor, months: Sequence[date]) -> dict[date, pl.DataFrame]:
    """实缴 of these months by member (member_id, paid_fen; sorted by member): what the roll
    says was paid, the only part of a month's ledger a payment changes."""
    with cur.registered("dj_paid_months", pl.DataFrame({"month": list(months)}, schema={"month": pl.Date})):
        rows: pl.DataFrame = cur.sql(
            "SELECT month, member_id, CAST(paid * 100 AS BIGINT) AS paid_fen FROM dues_roll"
            " WHERE month IN (SELECT month FROM dj_paid_months) ORDER BY month, member_id").pl()
    rows = rows.select("month", pl.col("member_id").cast(pl.Int32), pl.col("paid_fen").cast(pl.Int64))
    parts = {k[0]: v.drop("month") for k, v in rows.partition_by("month", as_dict=True, maintain_order=True).items()}
    empty = pl.DataFrame(schema={"member_id": pl.Int32, "paid_fen": pl.Int64})
    return {m: parts.get(m, empty) for m in months}


def with_paid(ledger: pl.DataFrame, paid: pl.DataFrame) -> pl.DataFrame:
    """A month's ledger with its 实缴 replaced by `paid` (from `paid_rows`; a member without a
    roll row paid 0): the same frame `month_rows` gives when only payments changed. The roll
    holds one row per member and month (the core checks it), as the back-calculation's join
    assumes too."""
    return (ledger.select("member_id", "due_fen")
            .join(paid, on="member_id", how="left", maintain_order="left")
            .with_columns(pl.col("paid_fen").fill_null(0)))


# What a month's 应缴 reads of each table, column by column (a write to any other column, e.g.
# a member's phone, leaves the ledgers as they are)
_DUE_TABLES = {
    "members": "id, org_id, dues_category, join_date",
    "member_bases": "id, member_id, month, base, fixed_amount, counted, deducted, tax, redetermine",
    "member_categories": "member_id, month, category",
    "dues_settings": "id, settings, effective_from",
    "dues_farmer_amounts": "org_id, amount",
}
# What the labels and scope of a period read (names, orgs, the tree), and the settings in force
_LABEL_TABLES = {"members": "id, member_no, name, org_id", "orgs": "id, name, street, parent_id",
                 "dues_settings": "id, settings, effective_from"}


@dataclass(frozen=True)
class Prints:
    """Fingerprints of the inputs at one moment: equal prints → equal results. `due`: the
    tables every month's 应缴 reads; `labels`: names, orgs and settings; per month, `calc`:
    the roll's rows as 应缴 reads them (category, base, fixed amount) and `paid`: its 实缴.
    Each is a count and a sum of row hashes of exactly the columns read (a write to other
    columns or tables changes none of them)."""

    due: tuple[Any, ...]
    labels: tuple[Any, ...]
    calc: Mapping[date, tuple[Any, ...]]
    paid: Mapping[date, tuple[Any, ...]]

    def due_key(self, month: date) -> tuple[Any, ...]:
        """What a month's 应缴 depends on."""
        return (month, self.due, self.calc.get(month))

    def ledger_key(self, month: date) -> tuple[Any, ...]:
        """What a month's ledger (应缴 and 实缴) depends on."""
        return (self.due_key(month), self.paid.get(month))


def _table_prints(cur: Cursor, tables: Mapping[str, str]) -> tuple[Any, ...]:
    parts = ", ".join(f"(SELECT [count(*), sum(hash({cols}))] FROM {t})" for t, cols in tables.items())
    return tuple(tuple(p) for p in cur.execute(f"SELECT {parts}").fetchone())


def prints(cur: Cursor, months: Iterable[date], *, tables: bool = True) -> Prints:
    """The inputs' fingerprints now, with the roll's of these months (one scan of their rows);
    `tables=False`: the roll's alone (`due` and `labels` left empty)."""
    ms = sorted(set(months))
    with cur.registered("dj_fp_months", pl.DataFrame({"month": ms}, schema={"month": pl.Date})):
        per = cur.execute(
            "SELECT month, count(*), sum(hash(member_id, category, base, fixed_amount)), sum(hash(member_id, paid))"
            " FROM dues_roll WHERE month IN (SELECT month FROM dj_fp_months) GROUP BY month").fetchall()
    due, labels = (_table_prints(cur, _DUE_TABLES), _table_prints(cur, _LABEL_TABLES)) if tables else ((), ())
    return Prints(due, labels, {r[0]: (r[1], r[2]) for r in per}, {r[0]: (r[1], r[3]) for r in per})


def month_fingerprints(db: Database, user: User, months: Iterable[object]) -> dict[date, tuple[Any, ...]]:
    """A fingerprint of everything a month's ledger (`month_rows`) reads: equal fingerprints
    → equal ledgers (see `Prints`)."""
    require(user, PERM_READ)
    ms = [parse_month(m) for m in months]
    with db.read() as cur:
        p = prints(cur, ms)
    return {m: p.ledger_key(m)[1:] + p.due_key(m)[1:] for m in ms}


@dataclass(frozen=True)
class LedgerContext:
    """What assembling a period from month ledgers reads besides the ledgers: the settings in
    force, the dated rules and the members in scope (sorted by id) with their names and orgs.
    Changes only with a write to members, orgs or the settings (`Prints.labels`)."""

    settings_id: int
    settings: DuesSettings
    rules: RuleHistory
    labels: pl.DataFrame  # member_id, member_no, name, org_id, org, street


def ledger_context(db: Database, user: User, org_id: int | None = None) -> LedgerContext:
    require(user, PERM_READ)
    with db.read() as cur:
        return context(cur, org_id)


def context(cur: Cursor, org_id: int | None = None) -> LedgerContext:
    """`ledger_context` on a cursor (no permission check: the caller's)."""
    sid, settings = _settings(cur)
    rules = _rule_history(cur)
    scope = _scope(cur, org_id)
    labels = cur.sql("SELECT m.id AS member_id, m.member_no, m.name, m.org_id, o.name AS org, o.street"
                     f" FROM members m JOIN orgs o ON o.id = m.org_id WHERE {_scope_sql(cur, scope, 'm.org_id')}"
                     " ORDER BY m.id").pl()
    labels = labels.with_columns(pl.col("member_id").cast(pl.Int32), pl.col("org_id").cast(pl.Int32))
    return LedgerContext(sid, settings, rules, labels)


def back_calculate_rows(db: Database, user: User, start: object, end: object,
                        rows: Sequence[pl.DataFrame] | Mapping[date, pl.DataFrame], *,
                        org_id: int | None = None, with_back_pays: bool = True,
                        context: LedgerContext | None = None) -> BackCalc:
    """`back_calculate`'s members, orgs, missing and back payments from precomputed
    `month_rows` (the page's cached path; the same figures, without the per-month `detail`,
    which is empty here). `rows`: by month, or a list following the period's months; months
    after this month are not owed and may be left out. `with_back_pays=False` leaves
    `back_pays` empty (the page reads `back_payments` when its tab is open); `context`: a
    `ledger_context` of the same org kept by the caller (else read now). No sort and no
    per-(member, month) frame: each month's ledger is placed on the members and the period
    is summed, and its unpaid runs counted, month by month."""
    require(user, PERM_READ)
    period = months_between(start, end)
    by_month = dict(rows) if isinstance(rows, Mapping) else dict(zip(period, rows))
    calc = from_ledgers(period, by_month, context or ledger_context(db, user, org_id))
    if with_back_pays:
        calc.back_pays = back_payments(db, user, calc.start, calc.end, org_id=org_id)
    return calc


def owed_months(period: Sequence[date]) -> list[date]:
    """The months of a period that are owed: not after this month (clock.today())."""
    return [m for m in period if m <= _this_month()]


def from_ledgers(period: Sequence[date], ledgers: Mapping[date, pl.DataFrame], ctx: LedgerContext) -> BackCalc:
    """`back_calculate_rows` without its reads and permission check (back payments left
    empty): the period's figures from the ledgers of its owed months and a context."""
    months = owed_months(period)
    members, missing = _summarize_ledgers([ledgers[m] for m in months], months, ctx.labels, ctx.settings)
    return BackCalc(period[0], period[-1], ctx.settings_id, ctx.settings, pl.DataFrame(schema=_DETAIL_SCHEMA),
                    members, _orgs_frame(members), missing, pl.DataFrame(schema=_BACK_PAYS_SCHEMA), ctx.rules)


_BACK_PAYS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "member_no": pl.String, "name": pl.String, "org": pl.String, "paid_on": pl.Date, "months": pl.Int64,
    "amount_fen": pl.Int64, "first": pl.String, "last": pl.String, "flag": pl.Boolean}


def _summarize_ledgers(ledgers: list[pl.DataFrame], months: list[date], labels: pl.DataFrame,
                       settings: DuesSettings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per member over the months (as `summarize_arrears` + trailing run + labels) and the
    missing list, from one ledger per month: a month counts when its 应缴 is known (a month
    without a base or approved amount is listed as missing, not counted); a run of unpaid
    months (应缴 > 0, nothing paid) breaks at any month not counted. Integer fen throughout:
    each ledger is placed on the members (sorted ids) and added up month by month."""
    ids = labels["member_id"].to_numpy()
    n = len(ids)
    counted = np.zeros(n, dtype=np.int64)
    due = np.zeros(n, dtype=np.int64)
    paid = np.zeros(n, dtype=np.int64)
    owed = np.zeros(n, dtype=np.int64)
    missing = np.zeros(n, dtype=np.int64)
    first_missing = np.full(n, -1, dtype=np.int64)
    run = np.zeros(n, dtype=np.int64)
    longest = np.zeros(n, dtype=np.int64)
    for k, lg in enumerate(ledgers):
        lg_ids = lg["member_id"].to_numpy()
        if len(lg_ids) == n and np.array_equal(lg_ids, ids):  # the usual case: every member, same order
            pos, inside = np.arange(n), np.ones(n, dtype=bool)
        else:
            pos = np.searchsorted(ids, lg_ids)
            inside = pos < n
            inside[inside] = ids[pos[inside]] == lg_ids[inside]   # members outside the scope are left out
            pos = pos[inside]
        d_col = lg["due_fen"]
        ok = np.zeros(n, dtype=bool)
        ok[pos] = d_col.is_not_null().to_numpy()[inside]
        d = np.zeros(n, dtype=np.int64)
        d[pos] = d_col.fill_null(0).to_numpy()[inside]
        p = np.zeros(n, dtype=np.int64)
        p[pos] = lg["paid_fen"].fill_null(0).to_numpy()[inside]
        here = np.zeros(n, dtype=bool)
        here[pos] = True
        counted += ok
        due += np.where(ok, d, 0)
        paid += np.where(ok, p, 0)
        owed += np.where(ok, np.maximum(d - p, 0), 0)
        miss = here & ~ok
        missing += miss
        first_missing[miss & (first_missing < 0)] = k
        run = np.where(ok & (d > 0) & (p == 0), run + 1, 0)   # the unpaid run ending this month
        np.maximum(longest, run, out=longest)
    sums = pl.DataFrame({"member_id": labels["member_id"], "months": counted, "due_total_fen": due,
                         "paid_total_fen": paid, "arrears_fen": owed, "max_consecutive_unpaid": longest,
                         "trailing_unpaid": run, "missing": missing, "first_missing": first_missing})
    members = (sums.filter(pl.col("months") > 0)
               .select("member_id", "months", "due_total_fen", "paid_total_fen", "arrears_fen", "max_consecutive_unpaid",
                       flag_six_months=pl.col("max_consecutive_unpaid") >= settings.flag_months,
                       warning=warning_level_expr("max_consecutive_unpaid", settings),
                       trailing_unpaid="trailing_unpaid")
               .join(labels, on="member_id", how="left", maintain_order="left"))
    month_text_of = pl.Series([month_text(m) for m in months] or [""], dtype=pl.String)
    missing_frame = (sums.filter(pl.col("missing") > 0).join(labels, on="member_id", how="left")
                     .select("member_no", "name", "org", pl.col("missing").cast(pl.UInt32).alias("months"),
                             pl.lit(month_text_of).gather(pl.col("first_missing")).alias("from"))
                     .sort("member_no"))
    return members, missing_frame


_DETAIL_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "member_id": pl.Int32, "month": pl.Date, "month_index": pl.Int64, "category": pl.String, "rule": pl.String,
    "rule_version": pl.String, "base_used_fen": pl.Int64, "due_fen": pl.Int64, "paid_fen": pl.Int64,
    "back_pay_fen": pl.Int64, "unpaid": pl.Boolean, "consecutive_unpaid": pl.Int64, "base_fen": pl.Int64,
    "roll_due_fen": pl.Int64, "paid_on": pl.Date, "roll_id": pl.Int64, "rule_label": pl.String}


def _assemble(comp: pl.DataFrame, months: list[date], first: date, last: date, labels: pl.DataFrame,
              back: pl.DataFrame, rules: RuleHistory, settings: DuesSettings, sid: int, user: User) -> BackCalc:
    """Runs, totals per member and org, the missing list — from computed month rows."""
    if comp.height:  # one Int64 key sorts about twice as fast as (member_id, month)
        key = (comp["member_id"].cast(pl.Int64) * 32768 + comp["month"].dt.year().cast(pl.Int64) * 12
               + comp["month"].dt.month().cast(pl.Int64))
        comp = comp[key.arg_sort()]
    ok = comp.filter(pl.col("dues_fen").is_not_null())
    miss = comp.filter(pl.col("dues_fen").is_null())
    labels = labels.with_columns(pl.col("member_id").cast(pl.Int32), pl.col("org_id").cast(pl.Int32))
    missing = (miss.group_by("member_id").agg(months=pl.len(), first=pl.col("month").min())
               .join(labels, on="member_id", how="left")
               .select("member_no", "name", "org", "months", pl.col("first").dt.strftime("%Y-%m").alias("from"))
               .sort("member_no"))
    if ok.height:
        mi = pl.col("month").dt.year().cast(pl.Int64) * 12 + pl.col("month").dt.month().cast(pl.Int64) - 1
        new_member = (pl.col("member_id") != pl.col("member_id").shift(1)).fill_null(True)
        adjacent = (pl.col("month_index") == pl.col("month_index").shift(1) + 1).fill_null(False)
        pos = pl.int_range(pl.len(), dtype=pl.Int64)
        starts = pl.col("unpaid") & (new_member | ~adjacent | ~pl.col("unpaid").shift(1).fill_null(False))
        run_start = pl.when(starts).then(pos).otherwise(None).forward_fill()
        det = (ok.lazy()
               .with_columns(month_index=mi, unpaid=(pl.col("dues_fen") > 0) & (pl.col("paid_fen") == 0))
               .select("member_id", "month", "month_index", pl.col("category").cast(pl.String), "rule", "rule_version",
                       pl.col("base_fen").alias("base_used_fen"), pl.col("dues_fen").alias("due_fen"), "paid_fen",
                       back_pay_fen=pl.max_horizontal(pl.col("dues_fen") - pl.col("paid_fen"), pl.lit(0, pl.Int64)),
                       unpaid="unpaid",
                       consecutive_unpaid=pl.when(pl.col("unpaid")).then(pos - run_start + 1).otherwise(pl.lit(0, pl.Int64)),
                       base_fen="base_fen", roll_due_fen="roll_due_fen", paid_on="paid_on", roll_id="roll_id",
                       rule_label=pl.col("rule_version").replace_strict(rules.labels(), default=None))
               .collect())
        summ = summarize_arrears(det, settings)
        trailing = det.filter(pl.col("month") == months[-1]).select("member_id", trailing_unpaid="consecutive_unpaid")
        members = (summ.join(trailing, on="member_id", how="left")
                   .with_columns(pl.col("trailing_unpaid").fill_null(0))
                   .join(labels, on="member_id", how="left"))
    else:
        det = pl.DataFrame(schema=_DETAIL_SCHEMA)
        members = pl.DataFrame(schema={"member_id": pl.Int32, "months": pl.Int64, "due_total_fen": pl.Int64,
                                       "paid_total_fen": pl.Int64, "arrears_fen": pl.Int64,
                                       "max_consecutive_unpaid": pl.Int64, "flag_six_months": pl.Boolean,
                                       "warning": pl.String, "trailing_unpaid": pl.Int64, "member_no": pl.String,
                                       "name": pl.String, "org_id": pl.Int32, "org": pl.String, "street": pl.String})
    orgs = _orgs_frame(members)
    if not user.can(PERM_SALARY):
        det = det.with_columns(base_fen=pl.lit(None, pl.Int64), base_used_fen=pl.lit(None, pl.Int64))
    return BackCalc(first, last, sid, settings, det, members, orgs, missing, back, rules)


def _orgs_frame(members: pl.DataFrame) -> pl.DataFrame:
    """Totals per org from the member summary, most owed first."""
    return (members.group_by("org_id", "org", "street")
            .agg(members=pl.len(), due_fen=pl.col("due_total_fen").sum(), paid_fen=pl.col("paid_total_fen").sum(),
                 arrears_fen=pl.col("arrears_fen").sum(), owing=(pl.col("arrears_fen") > 0).sum(),
                 warned=(pl.col("warning") == "warn").sum(), flagged=(pl.col("warning") == "flag").sum())
            .with_columns(collected_fen=pl.col("due_fen") - pl.col("arrears_fen"))
            .with_columns(rate=_rate_expr())
            .sort("arrears_fen", "org", descending=[True, False]))


def back_payments(db: Database, user: User, start: object, end: object, *,
                  org_id: int | None = None) -> pl.DataFrame:
    """`BackCalc.back_pays` alone: payments of the period made after their month (补交)."""
    require(user, PERM_READ)
    first, last = parse_month(start, "起始月份"), parse_month(end, "截止月份")
    with db.read() as cur:
        return _back_payments(cur, first, last, _scope(cur, org_id), None)


def _back_payments(cur: Cursor, start: date, end: date, scope: list[int] | None,
                   member_ids: Iterable[int] | None) -> pl.DataFrame:
    """Payments made after their month (补交), grouped by member and date; flag > 6 months."""
    where = [_scope_sql(cur, scope, "r.org_id", "dj_scope_bp")]
    if member_ids is not None:
        _register(cur, "dj_bp_members", _ids_frame(member_ids))
        where.append("r.member_id IN (SELECT k FROM dj_bp_members)")
    df: pl.DataFrame = cur.sql(
        "SELECT m.member_no, m.name, o.name AS org, r.paid_on, count(*) AS months,"
        " CAST(sum(r.paid) * 100 AS BIGINT) AS amount_fen, strftime(min(r.month), '%Y-%m') AS first,"
        " strftime(max(r.month), '%Y-%m') AS last FROM dues_roll r JOIN members m ON m.id = r.member_id"
        " JOIN orgs o ON o.id = r.org_id WHERE r.paid > 0 AND r.paid_on > last_day(r.month)"
        f" AND r.paid_on BETWEEN ? AND ? AND {' AND '.join(where)}"
        " GROUP BY ALL ORDER BY months DESC, r.paid_on DESC, m.member_no", params=[start, month_end(end)]).pl()
    return df.with_columns(flag=back_payment_flag_expr(pl.col("months")))


def warning_list(calc: BackCalc, level: str = "warn") -> pl.DataFrame:
    """Members at a warning level or above ("warn": 3+, "flag": 6+), longest run first."""
    levels = ["flag"] if level == "flag" else ["warn", "flag"]
    return calc.members.filter(pl.col("warning").is_in(levels)).sort(
        ["max_consecutive_unpaid", "arrears_fen"], descending=True)


def member_statement(db: Database, user: User, member_id: int, start: object, end: object) -> tuple[dict[str, Any], pl.DataFrame]:
    """One member's 应缴/实缴/补交 per month over the period, and a summary."""
    calc = back_calculate(db, user, start, end, member_ids=[int(member_id)])
    with db.read() as cur:
        info = cur.execute("SELECT m.member_no, m.name, o.name, m.dues_category FROM members m JOIN orgs o"
                           " ON o.id = m.org_id WHERE m.id = ?", [int(member_id)]).fetchone()
    if info is None:
        raise BadInput(f"找不到编号为 {member_id} 的党员")
    s = calc.members.row(0, named=True) if calc.members.height else {}
    summary = {"member_no": info[0], "name": info[1], "org": info[2], "category": info[3],
               "start": month_text(calc.start), "end": month_text(calc.end),
               "due_fen": s.get("due_total_fen", 0), "paid_fen": s.get("paid_total_fen", 0),
               "arrears_fen": s.get("arrears_fen", 0), "max_run": s.get("max_consecutive_unpaid", 0),
               "warning": s.get("warning", "none"), "missing_months": int(calc.missing["months"].sum() or 0)}
    return summary, calc.detail


def statement_frame(detail: pl.DataFrame, *, with_base: bool) -> pl.DataFrame:
    cols = [pl.col("month").dt.strftime("%Y-%m").alias("月份"), _labels("category", CATEGORIES).alias("党员类别")]
    if with_base:
        cols.append(_dec("base_fen").alias("计算基数"))
    if "rule_label" in detail.columns:
        cols.append(pl.col("rule_label").alias("适用规定"))
    cols += [_dec("due_fen").alias("应缴（按规定）"), _dec("roll_due_fen").alias("花名册应缴"),
             _dec("paid_fen").alias("实缴"), _dec("back_pay_fen").alias("补交"),
             pl.col("paid_on").alias("缴纳日期"), pl.col("consecutive_unpaid").alias("连续未缴月数")]
    return detail.sort("month").select(cols)


def member_statement_xlsx(db: Database, user: User, member_id: int, start: object, end: object) -> bytes:
    summary, detail = member_statement(db, user, member_id, start, end)
    head = pl.DataFrame({
        "项目": ["党员编号", "姓名", "所在党组织", "期间", "应缴合计", "实缴合计", "应补交", "最长连续未缴（月）", "说明"],
        "内容": [summary["member_no"], summary["name"], summary["org"], f"{summary['start']} 至 {summary['end']}",
               yuan(summary["due_fen"]), yuan(summary["paid_fen"]), yuan(summary["arrears_fen"]),
               str(summary["max_run"]),
               "应缴按各月有效的计算基数和党员类别、按各月施行的规定重新计算（“逐月明细”的“适用规定”列写明每月所用规定）；"
               "实缴取党费花名册登记的金额；自愿多交不抵应缴。"],
    })
    return fileio.xlsx_bytes({"对账单": head, "逐月明细": statement_frame(detail, with_base=user.can(PERM_SALARY))})


def arrears_members_frame(calc: BackCalc, df: pl.DataFrame | None = None) -> pl.DataFrame:
    """Member summary in Chinese, for tables and the xlsx."""
    df = calc.members if df is None else df
    return df.select(
        pl.col("member_no").alias("党员编号"), pl.col("name").alias("姓名"), pl.col("org").alias("所在党组织"),
        pl.col("months").alias("月数"), _dec("due_total_fen").alias("应缴"), _dec("paid_total_fen").alias("实缴"),
        _dec("arrears_fen").alias("应补交"), pl.col("max_consecutive_unpaid").alias("最长连续未缴"),
        pl.col("trailing_unpaid").alias("截至期末连续未缴"),
        _labels("warning", WARN_LABELS).alias("提示"))


def arrears_orgs_frame(calc: BackCalc) -> pl.DataFrame:
    return calc.orgs.select(
        pl.col("org").alias("党组织"), pl.col("street").alias("街道/系统"), pl.col("members").alias("人数"),
        _dec("due_fen").alias("应缴"), _dec("paid_fen").alias("实缴"), _dec("arrears_fen").alias("应补交"),
        pl.col("owing").alias("欠缴人数"), pl.col("warned").alias("提醒人数"), pl.col("flagged").alias("标记人数"),
        pl.col("rate").alias("收缴率（%）"))


def arrears_by_group(calc: BackCalc, key: str, n: int = 20) -> pl.DataFrame:
    """The `n` groups (`key`: "street" or "org") owing the most: key, arrears_fen, owing (members)."""
    return (calc.orgs.group_by(key).agg(pl.col("arrears_fen").sum(), pl.col("owing").sum())
            .filter(pl.col("arrears_fen") > 0).sort("arrears_fen", descending=True).head(n))


def arrears_xlsx(calc: BackCalc) -> bytes:
    return fileio.xlsx_bytes({"按党组织汇总": arrears_orgs_frame(calc),
                              "欠缴党员": arrears_members_frame(calc, calc.members.filter(pl.col("arrears_fen") > 0)
                                                             .sort("arrears_fen", descending=True))})
