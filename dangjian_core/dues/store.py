"""党费 in the database: settings, payroll bases, the monthly roll (花名册), payments, arrears.

The rules are `model`/`rules`/`engine` (pure, no database); the store modules read and write.
This module holds what they share: permissions, small helpers, scope, the inputs of a month
and the set-based audit helpers. Everything is
set-based (polars frames registered with DuckDB, `INSERT … SELECT` / `UPDATE … FROM`), so a
city of 100,000 members × 12 months is one statement per step, never a Python loop per row.

* **Settings** (`dues_settings`): append-only versions of `dues.DuesSettings`, each in force
  from a month (`effective_from`): the 2008 rules are built in (version 0, from 2008-04: base
  after tax only, no 1000-yuan ceiling, monthly amounts), the 2017 default from 2017-01; the
  rule of month M is the newest version among those with the latest effective month ≤ M
  (`_rule_history`), and every month is computed by its own rule. Every roll row records `settings_id`, so an old roll is reproduced from its own
  category, base, fixed amount and settings (`reproduce_roll`). Farmer amounts per branch:
  `dues_farmer_amounts` (a `tables.TableSpec`, edited in the table editor).
* **Bases** (`member_bases`): one row per member and pay month. The base in force in month M is
  the latest row that *applies* by M: with amounts "monthly" a row applies from its own month;
  with "fixed for the year" (2017 default) a row applies from the next January — unless it is
  the member's first base, a January base, or marked 重新核定 (`redetermine`). Payroll sheets
  are read with `fileio.read_frame`, mapped per unit (`dues_payroll_mappings`: counted /
  deducted / ignored / tax / member_id / name / retiree_allowance, saved and reused) and turned
  into bases by `dues.compute_base_frame`; a ready base can also be imported (`import_bases`).
* **Roll** (`dues_roll`): one row per member and month with 应缴 (due), 实缴 (paid), date,
  method, 按季度 / 代缴 (both need the branch's consent), note. `generate_roll` adds the rows of
  a month (members admitted by then), `recompute=True` recomputes due amounts, keeping payments.
  Payments: by hand (`save_roll_edits`), by paste or the bank's return file (`record_payments`),
  several months at once (`record_multi_month`); voluntary extra in `dues_voluntary` (≥ 1000.00
  at once is flagged for forwarding). A payment covering more than 6 past months is accepted
  and flagged.
* **Categories** (`member_categories`): a member's category from a month on (在职 → 离退休);
  each month uses its own (`set_category`, `category_history`).
* **Arrears** (`back_calculate`): for any period up to this month (later months are not owed),
  each member and month is recomputed from the base history (read by the month's rule) and
  the month's category with the rule in force that month (应缴), against what the roll says
  was paid (实缴),
  giving 补交, consecutive unpaid runs (warning from 3, flag at 6 — the branch meeting decides;
  nothing here removes anyone) and totals per org.
* **Exports**: the 花名册 as xlsx, the bank bill file, statements per member.

Permissions: reads need `dues.read`; writes `dues.write`; bases, salaries and ID numbers are
shown only with `salary.read` (masked or left out otherwise). Money is DECIMAL(18,2) in the
database and integer 分 in polars; never float (charts get yuan as numbers only at the end).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from .. import clock, fileio, orgs, uow
from ..auth import User, require
from ..contracts import AuditTable
from ..db import Cursor, Database
from ..errors import BadInput
from ..tables import Column, parse_value
from .arrears_rules import month_index
from .engine import _MONEY_MESSAGES, dues_exprs, dues_exprs_by_rule
from .model import _CATEGORY_ENUM, BASE_CATEGORIES, BRACKET_CATEGORIES, FIRST_MONTH, DuesSettings, RuleHistory

PERM_READ = "dues.read"
PERM_WRITE = "dues.write"
PERM_SALARY = "salary.read"

METHODS = {"cash": "现金", "transfer": "银行转账", "bank": "银行代扣", "online": "微信/支付宝"}
SOURCES = {"payroll": "工资表", "import": "导入基数", "manual": "手工登记", "demo": "演示数据"}
MAX_MONTHS = 240           # a back-calculation covers at most 20 years
MAX_PAYMENT_MONTHS = 24    # one multi-month payment covers at most 2 years
WARN_LABELS = {"none": "", "warn": "提醒", "flag": "标记：连续未缴满 6 个月"}
BRANCH_DECIDES = ("连续 6 个月不交纳党费的，由党支部大会讨论决定、报上级党组织批准；"
                  "系统只作提示，不会自动处置任何党员。")


# History (操作记录): dues rows only for those who may read dues, salary items only with salary.read;
# settings are append-only and referenced by roll rows: listed in history, never reverted.
_SALARY = {c: PERM_SALARY for c in ("base", "fixed_amount", "counted", "deducted", "tax")}
AUDIT_TABLES: tuple[AuditTable, ...] = (
    AuditTable(table="dues_roll", label="党费花名册", perm=PERM_WRITE, read_perm=PERM_READ, sensitive={"base": PERM_SALARY}),
    AuditTable(table="member_bases", label="党费计算基数", perm=PERM_WRITE, read_perm=PERM_READ, sensitive=_SALARY),
    AuditTable(table="dues_voluntary", label="自愿多交党费", perm=PERM_WRITE, read_perm=PERM_READ),
    AuditTable(table="dues_payroll_mappings", label="工资项口径", perm=PERM_WRITE, read_perm=PERM_READ),
    AuditTable(table="dues_payroll_imports", label="工资表导入记录", perm=PERM_WRITE, read_perm=PERM_READ),
    AuditTable(table="member_categories", label="党员类别历史", perm=PERM_WRITE, read_perm=PERM_READ),
    AuditTable(table="dues_farmer_amounts", label="农民党员党费数额", perm=PERM_WRITE, read_perm=PERM_READ),
    AuditTable(table="dues_settings", label="党费设置", perm=PERM_WRITE, read_perm=PERM_READ, revertible=False),
)


# =======================================================================================
# Small helpers
# =======================================================================================
def parse_month(value: object, what: str = "月份") -> date:
    """A month as the first day: date/datetime, 'YYYY-MM', 'YYYY-M', 'YYYY/MM', 'YYYY年M月'."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        m = date(value.year, value.month, 1)
        if (m.year, m.month) < FIRST_MONTH:
            raise BadInput(f"{what}早于 2008-04：本系统按 2008 年规定计算，更早的月份不适用")
        return m
    idx, problem = month_index(pl.Series([None if value is None else str(value)], dtype=pl.String))
    if problem[0] is not None:
        raise BadInput(f"{what}「{value or ''}」：{problem[0]}")
    i = idx[0]
    return date(i // 12, i % 12 + 1, 1)


def month_text(d: date | None) -> str:
    return "" if d is None else f"{d.year}-{d.month:02d}"


def add_months(d: date, n: int) -> date:
    i = d.year * 12 + d.month - 1 + n
    return date(i // 12, i % 12 + 1, 1)


def month_end(d: date) -> date:
    return add_months(d, 1) - timedelta(days=1)


def months_between(start: object, end: object) -> list[date]:
    a, b = parse_month(start, "起始月份"), parse_month(end, "截止月份")
    if b < a:
        raise BadInput(f"截止月份 {month_text(b)} 早于起始月份 {month_text(a)}")
    n = (b.year - a.year) * 12 + b.month - a.month + 1
    if n > MAX_MONTHS:
        raise BadInput(f"期间太长：最多 {MAX_MONTHS} 个月（{MAX_MONTHS // 12} 年），请分段计算")
    return [add_months(a, i) for i in range(n)]


def yuan(fen: int | None) -> str:
    """分 → '1234.50' (exact)."""
    if fen is None:
        return ""
    return f"{Decimal(int(fen)) / 100:.2f}"


def _dec(col: str) -> pl.Expr:
    """Int64 分 → Decimal(18, 2) 元, exactly."""
    return (pl.col(col).cast(pl.Decimal(18, 2)) / 100).cast(pl.Decimal(18, 2))


def _d(col: str) -> str:
    """SQL: 分 (BIGINT) → DECIMAL(18,2) 元, exactly (faster than converting in polars)."""
    return f"CAST({col} AS DECIMAL(18,0)) * 0.01"


def _register(cur: Cursor, name: str, frame: pl.DataFrame) -> None:
    cur.register(name, frame)


def _ids_frame(ids: Iterable[int]) -> pl.DataFrame:
    return pl.DataFrame({"k": [int(i) for i in ids]}, schema={"k": pl.Int64})


def _labels(col: str, mapping: Mapping[str, str]) -> pl.Expr:
    return pl.col(col).replace_strict(mapping, default=pl.col(col), return_dtype=pl.String)


# money problem codes of engine.money_to_fen → message (the one money rule: values.parse_money)
_MONEY_MSG = _MONEY_MESSAGES


def _parse_distinct(values: pl.Series, parse: Callable[[str], tuple[Any, str | None]]) -> tuple[pl.Series, pl.Series]:
    """Parse a text column by its distinct values (dates, choices, booleans are few)."""
    text = values.cast(pl.String)
    uniq = [v for v in text.unique().to_list() if v is not None]
    good: dict[str, Any] = {}
    bad: dict[str, str] = {}
    for v in uniq:
        out, err = parse(v)
        if err:
            bad[v] = err
        else:
            good[v] = out
    parsed = [good.get(v) if v is not None else None for v in text.to_list()]
    problems = [bad.get(v) if v is not None else None for v in text.to_list()]
    return pl.Series(parsed), pl.Series(problems, dtype=pl.String)


_DATE_COL = Column("d", "日期", "date")
_BOOL_COL = Column("b", "是否", "bool")


def _parse_date(v: str) -> tuple[Any, str | None]:
    return parse_value(_DATE_COL, v)


def _parse_bool(v: str) -> tuple[Any, str | None]:
    return parse_value(_BOOL_COL, v)


def _parse_method(v: object) -> tuple[str | None, str | None]:
    t = str(v).strip()
    if not t:
        return None, None
    if t in METHODS:
        return t, None
    for code, label in METHODS.items():
        if t == label or t in label.split("/"):
            return code, None
    aliases = {"转账": "transfer", "代扣": "bank", "银行": "bank", "微信": "online", "支付宝": "online",
               "网上": "online", "现金缴纳": "cash"}
    if t in aliases:
        return aliases[t], None
    return None, "缴纳方式应为以下之一：" + "、".join(METHODS.values())


# =======================================================================================
# Orgs and members in scope
# =======================================================================================
def _scope(cur: Cursor, org_id: int | None) -> list[int] | None:
    """The org and everything under it (None = the whole city)."""
    if org_id is None:
        return None
    ids = orgs.subtree_ids(cur, org_id)
    if not ids:
        raise BadInput(f"找不到编号为 {org_id} 的党组织")
    return ids


def _scope_sql(cur: Cursor, scope: list[int] | None, column: str, name: str = "dj_scope") -> str:
    if scope is None:
        return "true"
    _register(cur, name, _ids_frame(scope))
    return f"{column} IN (SELECT k FROM {name})"


def roll_month(db: Database, user: User, month: object, org_id: int | None, select: str, *,
               joins: str = "", where: str = "", order: str = "") -> pl.DataFrame:
    """The dues roll (`r`) of one month within an org's subtree (None = the whole city), for
    a reader of dues: `SELECT {select} FROM dues_roll r {joins} WHERE <month and scope> {where}
    {order}` — the SQL pieces are the caller's fixed text, the month and scope are parameters."""
    require(user, PERM_READ)
    m = parse_month(month)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        df: pl.DataFrame = cur.sql(f"SELECT {select} FROM dues_roll r {joins}"
                                   f" WHERE r.month = ? AND {_scope_sql(cur, scope, 'r.org_id')} {where} {order}",
                                   params=[m]).pl()
    return df


def org_options(db: Database, user: User) -> pl.DataFrame:
    """Orgs for a picker: id, label (path from the top), street."""
    require(user, PERM_READ)
    with db.read() as cur:
        df: pl.DataFrame = cur.sql(f"""
            WITH RECURSIVE {orgs.tree_cte("t")}
            SELECT t.id, repeat('　', CAST(t.depth AS INTEGER)) || t.name AS label, o.street, t.depth
              FROM t JOIN orgs o ON o.id = t.id ORDER BY t.name_path""").pl()
    return df


def find_members(db: Database, user: User, text: str, limit: int = 30) -> pl.DataFrame:
    """Members whose number or name contains `text`: id, member_no, name, org, category."""
    require(user, PERM_READ)
    t = (text or "").strip()
    if not t:
        return pl.DataFrame(schema={"id": pl.Int32, "member_no": pl.String, "name": pl.String,
                                    "org": pl.String, "dues_category": pl.String})
    with db.read() as cur:
        df: pl.DataFrame = cur.sql("SELECT m.id, m.member_no, m.name, o.name AS org, m.dues_category FROM members m"
                                   " JOIN orgs o ON o.id = m.org_id WHERE m.member_no ILIKE ? OR m.name ILIKE ?"
                                   " ORDER BY m.member_no LIMIT ?", params=[f"%{t}%", f"%{t}%", int(limit)]).pl()
    return df


# =======================================================================================
# Inputs of a month: members admitted by then × the base in force × fixed amounts
# =======================================================================================
def _inputs(cur: Cursor, months: list[date], *, scope: list[int] | None = None,
            member_ids: Iterable[int] | None = None,
            rules: RuleHistory, base_scope_by_roll: bool = False,
            columns: Sequence[str] | None = None) -> pl.DataFrame:
    """One row per (member, month) of `months` for members admitted by that month, with the
    base in force (`base_fen`, and its payroll parts counted/deducted/tax when it came from a
    payroll sheet), the member's approved fixed amount, the branch's farmer amount, the
    category of that month (`hist_category` from the category history, `dues_category` =
    that or the register's) and the existing roll row, sorted by member and month.

    A base row applies from its own month when the rule in force in its pay month counts
    amounts monthly, when it is marked 重新核定, is a January base, the member's first base,
    or the member's category changed earlier that year (a new category is a new
    determination); otherwise from the next January ("fixed for the year"). `columns`: only
    these of the output columns (a narrower result is converted with far less memory)."""
    _register(cur, "dj_months", pl.DataFrame({"month": months}, schema={"month": pl.Date}))
    _register(cur, "dj_rules", pl.DataFrame(
        {"effective_from": [date(p.start // 12, p.start % 12 + 1, 1) for p in rules],
         "monthly": [p.settings.amount_mode == "monthly" for p in rules]},
        schema={"effective_from": pl.Date, "monthly": pl.Boolean}))
    where = [_scope_sql(cur, scope, "m.org_id")]
    if member_ids is not None:
        _register(cur, "dj_member_ids", _ids_frame(member_ids))
        where.append("m.id IN (SELECT k FROM dj_member_ids)")
    only = "WHERE b.member_id IN (SELECT DISTINCT member_id FROM t)" if len(where) > 1 or scope is not None else ""
    # the member's first base and the first category change of each year are joined as
    # aggregates (a window over every base and a correlated EXISTS cost several times more)
    sql = f"""
    WITH t AS (
        SELECT m.id AS member_id, m.org_id, m.dues_category, mm.month
        FROM members m, dj_months mm
        WHERE (m.join_date IS NULL OR date_trunc('month', m.join_date) <= mm.month) AND {' AND '.join(where)}
    ), first_base AS (
        SELECT member_id, min(month) AS first_month FROM member_bases GROUP BY member_id
    ), cat_year AS (
        SELECT member_id, year(month) AS y, min(month) AS first_change FROM member_categories GROUP BY ALL
    ), eff AS (
        SELECT b.member_id, b.base, b.fixed_amount, b.counted, b.deducted, b.tax, b.month AS base_month, b.id,
               CASE WHEN coalesce(rr.monthly, false) OR b.redetermine OR month(b.month) = 1
                         OR b.month = fb.first_month OR cy.first_change <= b.month
                    THEN b.month ELSE make_date(year(b.month) + 1, 1, 1) END AS applies_from
        FROM member_bases b ASOF LEFT JOIN dj_rules rr ON b.month >= rr.effective_from
        JOIN first_base fb ON fb.member_id = b.member_id
        LEFT JOIN cat_year cy ON cy.member_id = b.member_id AND cy.y = year(b.month) {only}
    ), eff2 AS (
        SELECT * FROM eff
        QUALIFY row_number() OVER (PARTITION BY member_id, applies_from ORDER BY base_month DESC, id DESC) = 1
    )
    SELECT t.member_id, t.month, t.org_id, coalesce(hc.category, t.dues_category) AS dues_category,
           hc.category AS hist_category,
           CAST(e.base * 100 AS BIGINT) AS base_fen,
           CAST(e.counted * 100 AS BIGINT) AS counted_fen,
           CAST(e.deducted * 100 AS BIGINT) AS deducted_fen,
           CAST(e.tax * 100 AS BIGINT) AS tax_fen,
           CAST(e.fixed_amount * 100 AS BIGINT) AS member_fixed_fen,
           e.base_month,
           CAST(f.amount * 100 AS BIGINT) AS farmer_fen,
           r.id AS roll_id, r.org_id AS roll_org_id, r.category AS roll_category,
           CAST(r.base * 100 AS BIGINT) AS roll_base_fen,
           CAST(r.fixed_amount * 100 AS BIGINT) AS roll_fixed_fen,
           r.rule AS roll_rule, CAST(r.due * 100 AS BIGINT) AS roll_due_fen,
           CAST(r.paid * 100 AS BIGINT) AS paid_fen, r.paid_on, r.settings_id AS roll_settings_id
    FROM t ASOF LEFT JOIN eff2 e ON t.member_id = e.member_id AND t.month >= e.applies_from
    ASOF LEFT JOIN member_categories hc ON t.member_id = hc.member_id AND t.month >= hc.month
    LEFT JOIN (SELECT org_id, any_value(amount) AS amount FROM dues_farmer_amounts GROUP BY org_id) f
           ON f.org_id = t.org_id
    LEFT JOIN dues_roll r ON r.member_id = t.member_id AND r.month = t.month
    ORDER BY t.member_id, t.month
    """
    if columns is not None:
        sql = f"SELECT {', '.join(columns)} FROM ({sql}) ORDER BY member_id, month"
    df: pl.DataFrame = cur.sql(sql).pl()
    return df


def _base_by_reading(rules: RuleHistory, month: pl.Expr, category: pl.Expr) -> pl.Expr:
    """The base of a (member, month) under that month's rule: a base from a payroll sheet
    (counted, deducted, tax kept) of an employed-type member is read again — the 2017 reading
    deducts the member's own 社保/公积金/年金 and the tax, the 2008 reading ("tax only") just the
    tax (negative → 0.00); other bases (imported, manual, retirees) are taken as stored."""
    mi = month.dt.year().cast(pl.Int64) * 12 + month.dt.month().cast(pl.Int64) - 1
    full = pl.lit(pl.Series([p.settings.base_reading == "2017" for p in rules], dtype=pl.Boolean)
                  ).gather(rules.period_index(mi))
    counted = pl.col("counted_fen")
    raw = counted - pl.when(full).then(pl.col("deducted_fen").fill_null(0)).otherwise(0) - pl.col("tax_fen").fill_null(0)
    from_payroll = counted.is_not_null() & category.is_in(list(BRACKET_CATEGORIES))
    return pl.when(from_payroll).then(pl.max_horizontal(raw, pl.lit(0, pl.Int64))).otherwise(pl.col("base_fen"))


def _compute(df: pl.DataFrame, settings: DuesSettings | RuleHistory,
             category: str = "dues_category") -> pl.DataFrame:
    """Add category (Enum), fixed_fen, dues_fen, rate_permille, rule to `_inputs` rows; with a
    RuleHistory each month by the rule in force then (and `rule_version` = its settings id)."""
    cat = pl.col(category).cast(pl.String).cast(_CATEGORY_ENUM, strict=False)
    out = df.with_columns(category=cat).with_columns(
        fixed_fen=pl.when(pl.col("category") == "farmer").then(pl.col("farmer_fen"))
        .when(pl.col("category") == "reduced").then(pl.col("member_fixed_fen"))
        .otherwise(pl.lit(None, pl.Int64)),
        base_fen=pl.when(pl.col("category").is_in(list(BASE_CATEGORIES))).then(pl.col("base_fen"))
        .otherwise(pl.lit(None, pl.Int64)),
    )
    if isinstance(settings, RuleHistory):
        rules, settings = settings, settings.latest.settings
        out = out.with_columns(_mi=pl.col("month").dt.year().cast(pl.Int64) * 12
                               + pl.col("month").dt.month().cast(pl.Int64) - 1)
        out = out.with_columns(dues_exprs_by_rule(rules, month="_mi")).drop("_mi")
    else:
        out = out.with_columns(dues_exprs(settings))
    farmer_default = int(settings.farmer_default * 100)
    return out.with_columns(
        fixed_fen=pl.when(pl.col("category") == "farmer").then(pl.col("fixed_fen").fill_null(farmer_default))
        .otherwise(pl.col("fixed_fen")))


# =======================================================================================
# Audit helpers (set-based)
# =======================================================================================
# Roll updates are audited by the fields they change (and the version): revert restores just
# those, history shows just those, and 100,000 payments are not 100,000 whole rows of JSON.
PAY_FIELDS = ("paid", "paid_on", "method", "quarterly", "proxy_name", "consent", "note", "version")
CALC_FIELDS = ("category", "base", "fixed_amount", "rate_permille", "rule", "due", "settings_id", "version")


def _snapshot(cur: Cursor, table: str, ids_view: str, fields: tuple[str, ...] | None = None) -> pl.DataFrame:
    row = "to_json(t)" if fields is None else \
        "json_object('id', t.id, " + ", ".join(f"'{f}', t.\"{f}\"" for f in fields) + ")"
    df: pl.DataFrame = cur.sql(f'SELECT CAST(t.id AS VARCHAR) AS row_key, CAST({row} AS VARCHAR) AS j'
                               f' FROM "{table}" t WHERE t.id IN (SELECT k FROM {ids_view})').pl()
    return df


def _audit_updates(act: uow.Action, table: str, before: pl.DataFrame, after: pl.DataFrame) -> None:
    entries = before.rename({"j": "before"}).join(after.rename({"j": "after"}), on="row_key", how="inner")
    act.record_many(table, entries.with_columns(action=pl.lit("update")))


# A generated roll row is audited by its identifying and money fields (revert compares only
# the fields recorded): writing the whole row as JSON for 1.2 M rows took four times longer.
_ROLL_AUDIT_JSON = ("json_object('id', t.id, 'month', t.month, 'member_id', t.member_id, 'org_id', t.org_id,"
                    " 'category', t.category, 'base', t.base, 'rule', t.rule, 'due', t.due,"
                    " 'settings_id', t.settings_id, 'paid', t.paid, 'paid_on', t.paid_on)")


def _audit_inserts_range(act: uow.Action, table: str, first_id: int, last_id: int) -> None:
    row_json = _ROLL_AUDIT_JSON if table == "dues_roll" else "to_json(t)"
    batch, user = act.batch(), act.user
    act.cur.execute(
        "INSERT INTO audit_log(batch_id, username, created_at, table_name, row_key, action, before, after)"
        f" SELECT ?, ?, ?, ?, CAST(t.id AS VARCHAR), 'insert', NULL, CAST({row_json} AS JSON) FROM \"{table}\" t"
        " WHERE t.id BETWEEN ? AND ?", [batch, user.username, clock.now(), table, first_id, last_id])


def _reserve_ids(cur: Cursor, seq: str, n: int) -> int:
    """First of n consecutive ids (we hold the write lock, so nobody else draws meanwhile)."""
    first = cur.execute(f"SELECT nextval('{seq}')").fetchone()[0]
    if n > 1:
        cur.execute(f"SELECT setval('{seq}', ?)", [first + n - 1])
    return int(first)


def _map_headers(frame: fileio.Frame, wanted: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """internal name → the file's header."""
    found: dict[str, str] = {}
    for col in frame.df.columns:
        key = col.strip()
        for name, aliases in wanted.items():
            if key in aliases or key.lower() in aliases:
                if name in found:
                    raise BadInput(f"表头中「{found[name]}」和「{col}」表示同一项，请只保留一列", file=frame.file)
                found[name] = col
                break
    return found


def _member_by_no(cur: Cursor, member_no: object) -> tuple[int, int, str]:
    t = str(member_no or "").strip()
    if not t:
        raise BadInput("请填写党员编号")
    row = cur.execute("SELECT id, org_id, name FROM members WHERE member_no = ?", [t]).fetchone()
    if row is None:
        raise BadInput(f"找不到党员编号「{t}」：请先在「党员名册」中登记")
    member_id, org_id, name = row
    return member_id, org_id, name
