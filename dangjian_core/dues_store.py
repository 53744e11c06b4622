"""党费 in the database: settings, payroll bases, the monthly roll (花名册), payments, arrears.

The rules are `dues.py` (pure, no database); this module stores and reads. Everything is
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

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import polars as pl

from . import audit, clock, dues, fileio
from .auth import User, mask_id_number, require
from .errors import BadInput, CellError, ConflictError, DangjianError
from .tables import Column, TableSpec, parse_value, register

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

_CATEGORY_ENUM = pl.Enum(list(dues.CATEGORY_CODES))

audit.register_table("dues_roll", "党费花名册", "id", PERM_WRITE)
audit.register_table("member_bases", "党费计算基数", "id", PERM_WRITE)
audit.register_table("dues_voluntary", "自愿多交党费", "id", PERM_WRITE)
audit.register_table("dues_payroll_mappings", "工资项口径", "id", PERM_WRITE)
audit.register_table("dues_payroll_imports", "工资表导入记录", "id", PERM_WRITE)
audit.register_table("member_categories", "党员类别历史", "id", PERM_WRITE)
# settings are append-only and referenced by roll rows: listed in history, never reverted
audit.TABLE_LABELS["dues_settings"] = "党费设置"
# History shows dues rows only to those who may read dues, salary items only with salary.read
for _t in ("dues_roll", "member_bases", "dues_voluntary", "dues_payroll_mappings", "dues_payroll_imports",
           "dues_settings", "dues_farmer_amounts", "member_categories"):
    audit.restrict_reading(_t, PERM_READ)
audit.restrict_reading("dues_roll", sensitive={"base": PERM_SALARY})
audit.restrict_reading("member_bases", sensitive={c: PERM_SALARY for c in ("base", "fixed_amount", "counted",
                                                                         "deducted", "tax")})


# =======================================================================================
# Small helpers
# =======================================================================================
def parse_month(value, what: str = "月份") -> date:
    """A month as the first day: date/datetime, 'YYYY-MM', 'YYYY-M', 'YYYY/MM', 'YYYY年M月'."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        m = date(value.year, value.month, 1)
        if (m.year, m.month) < dues.FIRST_MONTH:
            raise BadInput(f"{what}早于 2008-04：本系统按 2008 年规定计算，更早的月份不适用")
        return m
    idx, problem = dues.month_index(pl.Series([None if value is None else str(value)], dtype=pl.String))
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


def months_between(start, end) -> list[date]:
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


def _register(cur, name: str, frame: pl.DataFrame) -> None:
    cur.register(name, frame)


def _ids_frame(ids) -> pl.DataFrame:
    return pl.DataFrame({"k": [int(i) for i in ids]}, schema={"k": pl.Int64})


def _labels(col: str, mapping: dict) -> pl.Expr:
    return pl.col(col).replace_strict(mapping, default=pl.col(col), return_dtype=pl.String)


class _Errs:
    """CellErrors from vectorised masks: only failing rows reach Python."""

    def __init__(self):
        self.items: list[tuple[int, int, CellError]] = []

    def mask(self, df: pl.DataFrame, mask: pl.Series | pl.Expr, column: str, value_col: str | None,
             message, order: int = 0) -> None:
        m = df.select(mask.fill_null(False) if isinstance(mask, pl.Expr) else pl.lit(mask).fill_null(False)).to_series()
        if not m.any():
            return
        bad = df.filter(m)
        rows = bad["row"].to_list()
        vals = bad[value_col].to_list() if value_col else [None] * bad.height
        msgs = message(bad) if callable(message) else [message] * bad.height
        for r, v, msg in zip(rows, vals, msgs):
            self.items.append((r if r is not None else 0, order,
                               CellError(r, column, None if v is None else str(v), msg)))

    def add(self, e: CellError, order: int = 0) -> None:
        self.items.append((e.row or 0, order, e))

    def sorted(self) -> list[CellError]:
        return [e for _, _, e in sorted(self.items, key=lambda t: (t[0], t[1]))]

    def __bool__(self):
        return bool(self.items)


_MONEY_MSG = {
    "missing": "不能为空",
    "negative": "不能为负数，应为不小于 0 的金额（元，最多两位小数）",
    "not_number": "不是有效的金额，应为数字（元，最多两位小数，如 43.80）",
    "decimals": "最多两位小数（精确到分）",
    "too_large": "数值过大",
}


def _parse_distinct(values: pl.Series, parse) -> tuple[pl.Series, pl.Series]:
    """Parse a text column by its distinct values (dates, choices, booleans are few)."""
    text = values.cast(pl.String)
    uniq = [v for v in text.unique().to_list() if v is not None]
    good, bad = {}, {}
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


def _parse_date(v):
    return parse_value(_DATE_COL, v)


def _parse_bool(v):
    return parse_value(_BOOL_COL, v)


def _parse_method(v):
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
# Settings
# =======================================================================================
_DEFAULT_FROM = date(*dues.RULE_2017_FROM, 1)


def _month_index(d: date) -> int:
    return dues.month_number(d.year, d.month)


def _this_month() -> date:
    return clock.today().replace(day=1)


def _rule_label(sid: int, note: str | None, start: date) -> str:
    return f"{note or '党费设置'}（第 {sid} 版设置，自 {start:%Y-%m} 起）"


def _rule_history(cur) -> dues.RuleHistory:
    """The dated rules: for each effective month the newest settings row; codes are the
    settings ids (as text), so every computed month can name the version it used."""
    rows = cur.execute(
        "SELECT id, settings, note, coalesce(effective_from, ?) AS f FROM dues_settings"
        " QUALIFY row_number() OVER (PARTITION BY coalesce(effective_from, ?) ORDER BY id DESC) = 1"
        " ORDER BY f", [_DEFAULT_FROM, _DEFAULT_FROM]).fetchall()
    if not rows:
        return dues.RuleHistory([dues.RulePeriod(_month_index(_DEFAULT_FROM), dues.DEFAULT_SETTINGS, "0", "默认设置")])
    return dues.RuleHistory([dues.RulePeriod(_month_index(f), dues.DuesSettings.from_json(js), str(i),
                                             _rule_label(i, note, f)) for i, js, note, f in rows])


def _settings_at(cur, month: date) -> tuple[int, dues.DuesSettings]:
    """(settings id, DuesSettings) of the rule in force in `month`."""
    p = _rule_history(cur).at(_month_index(month))
    return int(p.code), p.settings


def _settings(cur, settings_id: int | None = None) -> tuple[int, dues.DuesSettings]:
    """The settings in force this month (clock.today()), or version `settings_id`."""
    if settings_id is None:
        return _settings_at(cur, _this_month())
    row = cur.execute("SELECT id, settings FROM dues_settings WHERE id = ?", [int(settings_id)]).fetchone()
    if row is None:
        raise DangjianError(f"找不到第 {settings_id} 版党费设置")
    return int(row[0]), dues.DuesSettings.from_json(row[1])


def current_settings(db, user: User) -> tuple[int, dues.DuesSettings]:
    """(settings id, DuesSettings) in force now."""
    require(user, PERM_READ)
    with db.read() as cur:
        return _settings(cur)


def rule_history(db, user: User) -> dues.RuleHistory:
    """The dated rules (2008 rules from 2008-04, the 2017 notice from 2017-01, the office's
    versions from the months they chose)."""
    require(user, PERM_READ)
    with db.read() as cur:
        return _rule_history(cur)


def settings_by_id(db, user: User, settings_id: int) -> dues.DuesSettings:
    require(user, PERM_READ)
    with db.read() as cur:
        return _settings(cur, settings_id)[1]


def save_settings(db, user: User, values, note: str | None = None, effective_from=None) -> int:
    """Store new settings (a dict of DuesSettings fields, or DuesSettings) in force from month
    `effective_from` (default: the month the rule in force now took effect — i.e. an edit of
    today's rule; months under an earlier rule, such as the 2008 rules before 2017, keep
    theirs). Returns the id in force from that month (unchanged when nothing differs). Roll
    rows already computed keep theirs."""
    require(user, PERM_WRITE)
    new = values if isinstance(values, dues.DuesSettings) else dues.DuesSettings.from_dict(values)
    with db.write() as cur:
        hist = _rule_history(cur)
        now = hist.at(_month_index(_this_month()))
        start = (date(now.start // 12, now.start % 12 + 1, 1) if effective_from is None
                 else parse_month(effective_from, "施行月份"))
        same = hist.at(_month_index(start))
        if same.start == _month_index(start) and same.settings == new:
            return int(same.code)
        new_id = cur.execute("INSERT INTO dues_settings(settings, note, updated_by, effective_from) VALUES (?, ?, ?, ?)"
                             " RETURNING id", [new.to_json(), note or None, user.username, start]).fetchone()[0]
        batch = audit.new_batch(cur, user, "dues_settings", f"修改党费设置（第 {new_id} 版，自 {start:%Y-%m} 起施行）")
        audit.record(cur, batch, user, "dues_settings", new_id, "insert", None,
                     {"id": new_id, "settings": json.loads(new.to_json()), "note": note,
                      "effective_from": start.isoformat()})
        return int(new_id)


def settings_history(db, user: User) -> pl.DataFrame:
    require(user, PERM_READ)
    with db.read() as cur:
        return cur.sql("SELECT s.id, s.settings, s.note, s.effective_from, s.updated_at, s.updated_by,"
                       " (SELECT count(*) FROM dues_roll r WHERE r.settings_id = s.id) AS roll_rows"
                       " FROM dues_settings s ORDER BY s.id DESC").pl()


def describe_settings(s: dues.DuesSettings) -> str:
    return "；".join([
        f"精度：{dues.PRECISION_LABELS[s.precision]}",
        f"舍入：{dues.ROUNDING_LABELS[s.rounding]}",
        "每月 1000 元封顶" if s.cap else "不封顶",
        f"基数：{dues.BASE_READINGS[s.base_reading]}",
        f"离退休：{dues.RETIREE_BASES[s.retiree_base]}",
        f"金额：{dues.AMOUNT_MODES[s.amount_mode]}",
        f"农民党员默认 {s.farmer_default} 元",
        f"连续 {s.warn_from_months} 个月未缴提醒、{s.flag_months} 个月标记",
    ])


FARMER_SPEC = register(TableSpec(
    table="dues_farmer_amounts",
    label="农民党员党费数额",
    perm=PERM_WRITE,
    natural_key=None,
    columns=[
        Column("org_id", "党支部", "ref", required=True, ref="orgs", unique=True, width="large",
               help="由党支部确定本支部农民党员每月交纳的数额"),
        Column("amount", "每月数额（元）", "decimal", required=True, min=0.2, max=1.0,
               help="0.20–1.00 元；未设置的支部按设置中的默认数额"),
        Column("note", "备注", max_len=200),
    ],
))


# =======================================================================================
# Orgs and members in scope
# =======================================================================================
def _scope(cur, org_id) -> list[int] | None:
    """The org and everything under it (None = the whole city)."""
    if org_id is None:
        return None
    rows = cur.execute(
        "WITH RECURSIVE t(id, depth) AS (SELECT id, 0 FROM orgs WHERE id = ?"
        " UNION ALL SELECT o.id, t.depth + 1 FROM orgs o JOIN t ON o.parent_id = t.id WHERE t.depth < 20)"
        " SELECT DISTINCT id FROM t", [int(org_id)]).fetchall()
    if not rows:
        raise BadInput(f"找不到编号为 {org_id} 的党组织")
    return [r[0] for r in rows]


def _scope_sql(cur, scope: list[int] | None, column: str, name: str = "dj_scope") -> str:
    if scope is None:
        return "true"
    _register(cur, name, _ids_frame(scope))
    return f"{column} IN (SELECT k FROM {name})"


def org_options(db, user: User) -> pl.DataFrame:
    """Orgs for a picker: id, label (path from the top), street."""
    require(user, PERM_READ)
    with db.read() as cur:
        return cur.sql("""
            WITH RECURSIVE t(id, name, parent_id, depth, path) AS (
                SELECT id, name, parent_id, 0, name FROM orgs WHERE parent_id IS NULL
                UNION ALL
                SELECT o.id, o.name, o.parent_id, t.depth + 1, t.path || ' / ' || o.name
                FROM orgs o JOIN t ON o.parent_id = t.id WHERE t.depth < 20
            ) SELECT t.id, repeat('　', CAST(t.depth AS INTEGER)) || t.name AS label, o.street, t.depth
              FROM t JOIN orgs o ON o.id = t.id ORDER BY t.path""").pl()


def find_members(db, user: User, text: str, limit: int = 30) -> pl.DataFrame:
    """Members whose number or name contains `text`: id, member_no, name, org, category."""
    require(user, PERM_READ)
    t = (text or "").strip()
    if not t:
        return pl.DataFrame(schema={"id": pl.Int32, "member_no": pl.String, "name": pl.String,
                                    "org": pl.String, "dues_category": pl.String})
    with db.read() as cur:
        return cur.sql("SELECT m.id, m.member_no, m.name, o.name AS org, m.dues_category FROM members m"
                       " JOIN orgs o ON o.id = m.org_id WHERE m.member_no ILIKE ? OR m.name ILIKE ?"
                       " ORDER BY m.member_no LIMIT ?", params=[f"%{t}%", f"%{t}%", int(limit)]).pl()


# =======================================================================================
# Inputs of a month: members admitted by then × the base in force × fixed amounts
# =======================================================================================
def _inputs(cur, months: list[date], *, scope: list[int] | None = None, member_ids=None,
            rules: dues.RuleHistory, base_scope_by_roll: bool = False) -> pl.DataFrame:
    """One row per (member, month) of `months` for members admitted by that month, with the
    base in force (`base_fen`, and its payroll parts counted/deducted/tax when it came from a
    payroll sheet), the member's approved fixed amount, the branch's farmer amount, the
    category of that month (`hist_category` from the category history, `dues_category` =
    that or the register's) and the existing roll row, sorted by member and month.

    A base row applies from its own month when the rule in force in its pay month counts
    amounts monthly, when it is marked 重新核定, is a January base, the member's first base,
    or the member's category changed earlier that year (a new category is a new
    determination); otherwise from the next January ("fixed for the year")."""
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
    sql = f"""
    WITH t AS (
        SELECT m.id AS member_id, m.org_id, m.dues_category, mm.month
        FROM members m, dj_months mm
        WHERE (m.join_date IS NULL OR date_trunc('month', m.join_date) <= mm.month) AND {' AND '.join(where)}
    ), eff AS (
        SELECT b.member_id, b.base, b.fixed_amount, b.counted, b.deducted, b.tax, b.month AS base_month, b.id,
               CASE WHEN coalesce(rr.monthly, false) OR b.redetermine OR month(b.month) = 1
                         OR b.month = min(b.month) OVER (PARTITION BY b.member_id)
                         OR EXISTS (SELECT 1 FROM member_categories c WHERE c.member_id = b.member_id
                                    AND c.month <= b.month AND year(c.month) = year(b.month))
                    THEN b.month ELSE make_date(year(b.month) + 1, 1, 1) END AS applies_from
        FROM member_bases b ASOF LEFT JOIN dj_rules rr ON b.month >= rr.effective_from {only}
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
    return cur.sql(sql).pl()


def _base_by_reading(rules: dues.RuleHistory, month: pl.Expr, category: pl.Expr) -> pl.Expr:
    """The base of a (member, month) under that month's rule: a base from a payroll sheet
    (counted, deducted, tax kept) of an employed-type member is read again — the 2017 reading
    deducts the member's own 社保/公积金/年金 and the tax, the 2008 reading ("tax only") just the
    tax (negative → 0.00); other bases (imported, manual, retirees) are taken as stored."""
    mi = month.dt.year().cast(pl.Int64) * 12 + month.dt.month().cast(pl.Int64) - 1
    full = pl.lit(pl.Series([p.settings.base_reading == "2017" for p in rules], dtype=pl.Boolean)
                  ).gather(rules.period_index(mi))
    counted = pl.col("counted_fen")
    raw = counted - pl.when(full).then(pl.col("deducted_fen").fill_null(0)).otherwise(0) - pl.col("tax_fen").fill_null(0)
    from_payroll = counted.is_not_null() & category.is_in(list(dues.BRACKET_CATEGORIES))
    return pl.when(from_payroll).then(pl.max_horizontal(raw, pl.lit(0, pl.Int64))).otherwise(pl.col("base_fen"))


def _compute(df: pl.DataFrame, settings: dues.DuesSettings | dues.RuleHistory,
             category: str = "dues_category") -> pl.DataFrame:
    """Add category (Enum), fixed_fen, dues_fen, rate_permille, rule to `_inputs` rows; with a
    RuleHistory each month by the rule in force then (and `rule_version` = its settings id)."""
    cat = pl.col(category).cast(pl.String).cast(_CATEGORY_ENUM, strict=False)
    out = df.with_columns(category=cat).with_columns(
        fixed_fen=pl.when(pl.col("category") == "farmer").then(pl.col("farmer_fen"))
        .when(pl.col("category") == "reduced").then(pl.col("member_fixed_fen"))
        .otherwise(pl.lit(None, pl.Int64)),
        base_fen=pl.when(pl.col("category").is_in(list(dues.BASE_CATEGORIES))).then(pl.col("base_fen"))
        .otherwise(pl.lit(None, pl.Int64)),
    )
    if isinstance(settings, dues.RuleHistory):
        rules, settings = settings, settings.latest.settings
        out = out.with_columns(_mi=pl.col("month").dt.year().cast(pl.Int64) * 12
                               + pl.col("month").dt.month().cast(pl.Int64) - 1)
        out = out.with_columns(dues.dues_exprs_by_rule(rules, month="_mi")).drop("_mi")
    else:
        out = out.with_columns(dues.dues_exprs(settings))
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


def _snapshot(cur, table: str, ids_view: str, fields: tuple[str, ...] | None = None) -> pl.DataFrame:
    row = "to_json(t)" if fields is None else \
        "json_object('id', t.id, " + ", ".join(f"'{f}', t.\"{f}\"" for f in fields) + ")"
    return cur.sql(f'SELECT CAST(t.id AS VARCHAR) AS row_key, CAST({row} AS VARCHAR) AS j'
                   f' FROM "{table}" t WHERE t.id IN (SELECT k FROM {ids_view})').pl()


def _audit_updates(cur, batch: int, user: User, table: str, before: pl.DataFrame, after: pl.DataFrame) -> None:
    entries = before.rename({"j": "before"}).join(after.rename({"j": "after"}), on="row_key", how="inner")
    audit.record_many(cur, batch, user, table, entries.with_columns(action=pl.lit("update")))


# A generated roll row is audited by its identifying and money fields (revert compares only
# the fields recorded): writing the whole row as JSON for 1.2 M rows took four times longer.
_ROLL_AUDIT_JSON = ("json_object('id', t.id, 'month', t.month, 'member_id', t.member_id, 'org_id', t.org_id,"
                    " 'category', t.category, 'base', t.base, 'rule', t.rule, 'due', t.due,"
                    " 'settings_id', t.settings_id, 'paid', t.paid, 'paid_on', t.paid_on)")


def _audit_inserts_range(cur, batch: int, user: User, table: str, first_id: int, last_id: int) -> None:
    row_json = _ROLL_AUDIT_JSON if table == "dues_roll" else "to_json(t)"
    cur.execute(
        "INSERT INTO audit_log(batch_id, username, created_at, table_name, row_key, action, before, after)"
        f" SELECT ?, ?, ?, ?, CAST(t.id AS VARCHAR), 'insert', NULL, CAST({row_json} AS JSON) FROM \"{table}\" t"
        " WHERE t.id BETWEEN ? AND ?", [batch, user.username, clock.now(), table, first_id, last_id])


def _reserve_ids(cur, seq: str, n: int) -> int:
    """First of n consecutive ids (we hold the write lock, so nobody else draws meanwhile)."""
    first = cur.execute(f"SELECT nextval('{seq}')").fetchone()[0]
    if n > 1:
        cur.execute(f"SELECT setval('{seq}', ?)", [first + n - 1])
    return int(first)


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


def _roll_frame(cur, months, *, scope, member_ids, rules, recompute) -> tuple:
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


def generate_roll(db, user: User, month=None, *, months=None, org_id=None, member_ids=None,
                  recompute: bool = False, description: str | None = None) -> RollResult:
    """Add the roll rows of `month` (or each of `months`) for the members of `org_id` and its
    sub-orgs (None: everyone) admitted by then; `recompute` also recomputes existing rows'
    due amounts with the rule in force in each month and the bases (payments stay). One
    audited batch. Each row records the settings version of its month's rule."""
    require(user, PERM_WRITE)
    ms = [parse_month(m) for m in (months if months is not None else [month])]
    if not ms:
        raise BadInput("请选择月份")
    with db.write() as cur:
        sid, settings = _settings(cur)
        rules = _rule_history(cur)
        scope = _scope(cur, org_id)
        new, changed, missing = _roll_frame(cur, ms, scope=scope, member_ids=member_ids, rules=rules,
                                            recompute=recompute)
        batch = None
        if new.height or changed.height:
            what = "、".join(month_text(m) for m in ms[:3]) + ("……" if len(ms) > 3 else "")
            batch = audit.new_batch(cur, user, "dues_roll", description or
                                    (f"{'重新计算' if recompute else '生成'}党费花名册：{what}"))
        if new.height:
            _insert_roll_rows(cur, batch, user, new)
        if changed.height:
            frame = changed.select(pl.col("roll_id").alias("id"), *_roll_values(changed))
            _register(cur, "dj_roll_upd", frame)
            _register(cur, "dj_roll_upd_ids", frame.select(pl.col("id").alias("k")))
            before = _snapshot(cur, "dues_roll", "dj_roll_upd_ids", CALC_FIELDS)
            cur.execute(f"UPDATE dues_roll AS t SET category = f.category, base = {_d('f.base_fen')},"
                        f" fixed_amount = {_d('f.fixed_fen')}, rate_permille = f.rate_permille, rule = f.rule,"
                        f" due = {_d('f.dues_fen')}, settings_id = f.settings_id,"
                        " version = t.version + 1, updated_at = current_timestamp, updated_by = ?"
                        " FROM dj_roll_upd f WHERE t.id = f.id", [user.username])
            _audit_updates(cur, batch, user, "dues_roll", before,
                           _snapshot(cur, "dues_roll", "dj_roll_upd_ids", CALC_FIELDS))
        miss = _member_labels(cur, missing.select("member_id", "month", "category"))
    overpaid = changed.filter(pl.col("paid_fen") > pl.col("dues_fen")).height
    return RollResult(new.height, changed.height, miss, batch, sid, overpaid)


def _insert_roll_rows(cur, batch: int | None, user: User, new: pl.DataFrame) -> tuple[int, int]:
    """Write roll rows computed by `_roll_frame` (its `new` frame), audited in `batch` (None:
    the caller audits the id range itself, once the rows are final). Returns the id range."""
    first = _reserve_ids(cur, "dues_roll_seq", new.height)
    frame = new.select(
        (pl.int_range(new.height, dtype=pl.Int64) + first).alias("id"), "month",
        pl.col("member_id").cast(pl.Int32), pl.col("org_id").cast(pl.Int32), *_roll_values(new))
    _register(cur, "dj_roll_new", frame)
    cur.execute("INSERT INTO dues_roll(id, month, member_id, org_id, category, base, fixed_amount,"
                " rate_permille, rule, due, settings_id, updated_by) SELECT id, month, member_id, org_id,"
                f" {_ROLL_INSERT_VALUES}, ? FROM dj_roll_new", [user.username])
    cur.unregister("dj_roll_new")
    if batch is not None:
        _audit_inserts_range(cur, batch, user, "dues_roll", first, first + new.height - 1)
    return first, first + new.height - 1


def _member_labels(cur, df: pl.DataFrame) -> pl.DataFrame:
    if df.height == 0:
        return pl.DataFrame(schema={"member_no": pl.String, "name": pl.String, "org": pl.String,
                                    "month": pl.String, "category": pl.String})
    _register(cur, "dj_lbl", df.with_columns(pl.col("category").cast(pl.String)))
    out = cur.sql("SELECT m.member_no, m.name, o.name AS org, strftime(x.month, '%Y-%m') AS month,"
                  " x.category FROM dj_lbl x JOIN members m ON m.id = x.member_id"
                  " JOIN orgs o ON o.id = m.org_id ORDER BY m.member_no, x.month").pl()
    return out.with_columns(_labels("category", dues.CATEGORIES))


def roll_months(db, user: User) -> list[date]:
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


def roll_page(db, user: User, month, *, org_id=None, search: str = "", status: str = "all",
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
        params: list = [m]
        if search and search.strip():
            where.append("(mem.member_no ILIKE ? OR mem.name ILIKE ?)")
            params += [f"%{search.strip()}%"] * 2
        clause = " AND ".join(where)
        base_sql = "r.base" if user.can(PERM_SALARY) else "CAST(NULL AS DECIMAL(18,2))"
        total = cur.execute(f"SELECT count(*) FROM dues_roll r JOIN members mem ON mem.id = r.member_id"
                            f" WHERE {clause}", params).fetchone()[0]
        df = cur.sql(
            f"SELECT r.id, r.version, mem.member_no, mem.name, o.name AS org, r.category, {base_sql} AS base,"
            " r.rate_permille, r.due, r.paid, r.paid_on, r.method, r.quarterly, r.proxy_name, r.consent, r.note,"
            " r.rule, r.settings_id, r.member_id, r.month FROM dues_roll r JOIN members mem ON mem.id = r.member_id"
            f" JOIN orgs o ON o.id = r.org_id WHERE {clause} ORDER BY o.name, mem.member_no LIMIT ? OFFSET ?",
            params=params + [int(limit), int(offset)]).pl()
    return df, int(total)


def roll_summary(db, user: User, month, *, org_id=None) -> dict:
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


def _rate(collected_fen, due_fen, n) -> float | None:
    """Collection rate in % (display only): collected ÷ due; 100 when nothing was due."""
    if not n:
        return None
    if not due_fen:
        return 100.0
    return float(Decimal(int(collected_fen)) * 100 / Decimal(int(due_fen)))


def roll_by_org(db, user: User, month, *, org_id=None) -> pl.DataFrame:
    """Per org of the scope: org, street, members, due, paid, unpaid members, rate (%)."""
    require(user, PERM_READ)
    m = parse_month(month)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        df = cur.sql(
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


def explain_roll_row(db, user: User, roll_id: int) -> str:
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
        if base is not None and cat in dues.BASE_CATEGORIES and cat != "retired":
            src = cur.execute("SELECT CAST(counted * 100 AS BIGINT), CAST(deducted * 100 AS BIGINT),"
                              " CAST(tax * 100 AS BIGINT) FROM member_bases b JOIN dues_roll r ON r.member_id = b.member_id"
                              " WHERE r.id = ? AND b.base = r.base AND b.month <= r.month AND b.counted IS NOT NULL"
                              " ORDER BY b.month DESC, b.id DESC LIMIT 1", [int(roll_id)]).fetchone()
    if not user.can(PERM_SALARY) and base is not None:
        return f"{name} {month_text(m)}：应缴 {due} 元（计算基数仅党费管理员可见）；按第 {sid} 版设置计算"
    res = dues.calc_dues(cat, base, fixed, settings)
    text = res.explanation
    if src is not None:
        text = explain_line(cat, int(base * 100), src[0], src[1], src[2], None, settings)
    return f"{name} {month_text(m)}：{text}（第 {sid} 版设置：{describe_settings(settings)}）"


def reproduce_roll(db, user: User, month, *, org_id=None) -> pl.DataFrame:
    """Recompute stored roll rows from their own category, base, fixed amount and settings
    version; returns the rows whose stored due differs (empty when the roll reproduces)."""
    require(user, PERM_READ)
    m = parse_month(month)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        df = cur.sql("SELECT r.id, r.category, CAST(r.base * 100 AS BIGINT) AS base_fen,"
                     " CAST(r.fixed_amount * 100 AS BIGINT) AS fixed_fen, CAST(r.due * 100 AS BIGINT) AS due_fen,"
                     " r.settings_id FROM dues_roll r"
                     f" WHERE r.month = ? AND {_scope_sql(cur, scope, 'r.org_id')}", params=[m]).pl()
        versions = {sid: _settings(cur, sid)[1] for sid in df["settings_id"].unique().to_list()}
    parts = []
    for sid, s in versions.items():
        part = df.filter(pl.col("settings_id") == sid).with_columns(
            pl.col("category").cast(_CATEGORY_ENUM, strict=False)).with_columns(dues.dues_exprs(s))
        parts.append(part.filter(pl.col("dues_fen").ne_missing(pl.col("due_fen"))))
    return pl.concat(parts) if parts else df.head(0)


# =======================================================================================
# Payments
# =======================================================================================
PAY_HEADERS: dict[str, tuple[str, ...]] = {
    "member_no": ("党员编号", "member_id", "member_no", "人员编号"),
    "id_number": ("身份证号", "身份证号码", "证件号码", "证件号", "id_number"),
    "name": ("姓名", "户名", "账户名称", "name"),
    "month": ("月份", "所属月份", "缴费月份", "month"),
    "amount": ("实缴金额", "金额", "扣款金额", "实扣金额", "交易金额", "缴纳金额", "实缴", "paid", "amount"),
    "paid_on": ("缴纳日期", "日期", "扣款日期", "交易日期", "paid_on"),
    "method": ("缴纳方式", "方式", "method"),
    "status": ("扣款状态", "状态", "处理结果", "交易状态", "扣款结果", "结果", "status"),
    "proxy_name": ("代缴人", "proxy_name"),
    "consent": ("支部同意", "consent"),
    "quarterly": ("按季度", "quarterly"),
    "note": ("备注", "note"),
}
_FAILED_WORDS = ("失败", "不成功", "未成功", "余额不足", "拒绝", "退回", "未扣")

_PAY_LABELS = {"paid": "实缴金额", "paid_on": "缴纳日期", "method": "缴纳方式", "quarterly": "按季度",
               "proxy_name": "代缴人", "consent": "支部同意", "note": "备注"}


@dataclass
class PaymentResult:
    rows: int                      # rows applied
    total_fen: int
    skipped: int = 0               # bank rows that failed (not applied)
    warnings: list[str] = field(default_factory=list)
    back_pay_flags: pl.DataFrame | None = None  # member_no, name, months, paid_on
    batch_id: int | None = None
    committed: bool = False


def parse_paste(text: str, name: str = "粘贴的表格") -> fileio.Frame:
    """Rows pasted from Excel/WPS (tab separated) or typed as csv, the first row a header."""
    if not text or not text.strip():
        raise BadInput("没有粘贴任何内容：请从 Excel 复制包含表头的区域后粘贴")
    lines = [ln for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    delim = "\t" if any("\t" in ln for ln in lines) else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
    data = "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in r) for r in rows).encode("utf-8")
    return fileio.read_frame(data=data, name=name + ".csv", expected=[h for hs in PAY_HEADERS.values() for h in hs])


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


def _prepare_payments(cur, user: User, frame: fileio.Frame, *, month, source: str, default_method: str | None,
                      default_date: date, today: date) -> tuple[pl.DataFrame, PaymentResult]:
    """Validate a payment sheet against the roll. Returns the update frame (roll id and the
    new payment fields) or raises BadInput listing every bad cell; nothing is written."""
    hdr = _map_headers(frame, PAY_HEADERS)
    df = frame.df
    if "member_no" not in hdr and "id_number" not in hdr:
        raise BadInput("缺少「党员编号」或「身份证号」列：无法确定是哪位党员（现有列：" + "、".join(df.columns) + "）",
                       file=frame.file)
    if "amount" not in hdr:
        raise BadInput("缺少「实缴金额」（或「金额」「扣款金额」）列（现有列：" + "、".join(df.columns) + "）",
                       file=frame.file)
    if "month" not in hdr and month is None:
        raise BadInput("缺少「月份」列：请在表中加一列月份（如 2024-03），或在页面上选择月份", file=frame.file)
    if df.height == 0:
        raise BadInput(f"第 {frame.first_row} 行起没有数据：表头下面是空的", file=frame.file)
    if "id_number" in hdr and "member_no" not in hdr:
        require(user, PERM_SALARY)
    n = df.height
    w = pl.DataFrame({"row": pl.int_range(frame.first_row, frame.first_row + n, dtype=pl.Int64, eager=True)})
    errs = _Errs()
    skipped = 0
    warnings: list[str] = []
    # bank status: failed rows are not applied
    if "status" in hdr:
        st = df[hdr["status"]].cast(pl.String).fill_null("")
        failed = pl.any_horizontal([st.str.contains(wd, literal=True) for wd in _FAILED_WORDS]) if n else pl.Series([], dtype=pl.Boolean)
        failed = pl.select(failed).to_series() if isinstance(failed, pl.Expr) else failed
        skipped = int(failed.sum())
        keep = ~failed
        df, w = df.filter(keep), w.filter(keep)
        if skipped:
            warnings.append(f"银行返回文件中有 {skipped} 行扣款未成功，没有登记")
    # who
    raw = {k: df[c] for k, c in hdr.items()}
    w = w.with_columns(
        member_no=raw["member_no"].cast(pl.String).str.strip_chars() if "member_no" in raw else pl.lit(None, pl.String),
        id_number=raw["id_number"].cast(pl.String).str.strip_chars().str.to_uppercase() if "id_number" in raw else pl.lit(None, pl.String))
    members = cur.sql("SELECT id AS member_id, member_no AS mno, upper(id_number) AS idn, name AS db_name FROM members").pl()
    by_no = members.select("member_id", pl.col("mno").alias("member_no"), "db_name")
    w = w.join(by_no, on="member_no", how="left")
    if "id_number" in hdr:
        by_id = members.filter(pl.col("idn").is_not_null()).unique("idn", keep="first").select(
            pl.col("member_id").alias("mid2"), pl.col("idn").alias("id_number"), pl.col("db_name").alias("n2"))
        w = w.join(by_id, on="id_number", how="left").with_columns(
            member_id=pl.coalesce("member_id", "mid2"), db_name=pl.coalesce("db_name", "n2")).drop("mid2", "n2")
    key_col = hdr.get("member_no") or hdr["id_number"]
    key_val = "member_no" if "member_no" in hdr else "id_number"
    no_key = pl.col(key_val).is_null() | (pl.col(key_val).str.len_chars() == 0)
    if "member_no" in hdr and "id_number" in hdr:
        no_key = no_key & (pl.col("id_number").is_null() | (pl.col("id_number").str.len_chars() == 0))
    errs.mask(w, no_key, key_col, key_val, "缺少党员编号：无法确定是哪位党员")
    errs.mask(w, ~no_key & pl.col("member_id").is_null(), key_col, key_val,
              "找不到这位党员：请核对党员编号（或身份证号）")
    # month
    if "month" in hdr:
        idx, prob = dues.month_index(raw["month"])
        w = w.with_columns(m_idx=idx, m_prob=prob, m_raw=raw["month"].cast(pl.String))
        errs.mask(w, pl.col("m_prob").is_not_null(), hdr["month"], "m_raw", lambda b: b["m_prob"].to_list(), 1)
        w = w.with_columns(month=pl.date(pl.col("m_idx") // 12, pl.col("m_idx") % 12 + 1, 1))
    else:
        w = w.with_columns(month=pl.lit(parse_month(month), pl.Date))
    # amount
    fen, prob = dues.money_to_fen(raw["amount"])
    w = w.with_columns(paid_fen=fen, a_prob=prob.cast(pl.String), a_raw=raw["amount"].cast(pl.String))
    errs.mask(w, pl.col("a_prob").is_not_null(), hdr["amount"], "a_raw",
              lambda b: ["实缴金额" + _MONEY_MSG[p] for p in b["a_prob"].to_list()], 2)
    # date, method, flags
    def parsed(name, parse, default, label, order):
        nonlocal w
        if name not in hdr:
            return pl.lit(default)
        vals, probs = _parse_distinct(raw[name], parse)
        w = w.with_columns(pl.Series(f"{name}_p", probs), pl.Series(f"{name}_raw", raw[name].cast(pl.String)))
        errs.mask(w, pl.col(f"{name}_p").is_not_null(), hdr[name], f"{name}_raw", lambda b: b[f"{name}_p"].to_list(), order)
        return pl.Series(vals)
    paid_on = parsed("paid_on", _parse_date, default_date, "缴纳日期", 3)
    method_default = default_method or ("bank" if source == "bank" else None)
    method = parsed("method", _parse_method, method_default, "缴纳方式", 4)
    quarterly = parsed("quarterly", _parse_bool, None, "按季度", 5)
    consent = parsed("consent", _parse_bool, None, "支部同意", 6)
    w = w.with_columns(
        paid_on=paid_on.cast(pl.Date) if isinstance(paid_on, pl.Series) else paid_on.cast(pl.Date),
        method=method.cast(pl.String) if isinstance(method, pl.Series) else method.cast(pl.String),
        quarterly_in=quarterly.cast(pl.Boolean) if isinstance(quarterly, pl.Series) else quarterly.cast(pl.Boolean),
        consent_in=consent.cast(pl.Boolean) if isinstance(consent, pl.Series) else consent.cast(pl.Boolean),
        proxy_in=(raw["proxy_name"].cast(pl.String).str.strip_chars() if "proxy_name" in raw else pl.lit(None, pl.String)),
        note_in=(raw["note"].cast(pl.String) if "note" in raw else pl.lit(None, pl.String)),
    )
    if "method" in hdr:
        w = w.with_columns(method=pl.col("method").fill_null(pl.lit(method_default, pl.String)))
    if "paid_on" in hdr:
        w = w.with_columns(paid_on=pl.col("paid_on").fill_null(pl.lit(default_date, pl.Date)))
    # duplicates (member, month)
    keyed = w.filter(pl.col("member_id").is_not_null() & pl.col("month").is_not_null())
    dup = keyed.with_columns(first=pl.col("row").min().over(["member_id", "month"])).filter(pl.col("row") != pl.col("first"))
    for r, mno, first in dup.select("row", key_val, "first").iter_rows():
        errs.add(CellError(r, key_col, mno, f"同一党员同一月份与第 {first} 行重复，每人每月只能有一行"), 0)
    # roll rows
    _register(cur, "dj_pay_keys", keyed.select(pl.col("member_id").cast(pl.Int32), "month").unique())
    roll = cur.sql("SELECT r.id AS roll_id, r.member_id, r.month, CAST(r.due * 100 AS BIGINT) AS due_fen,"
                   " CAST(r.paid * 100 AS BIGINT) AS old_paid_fen, r.quarterly AS quarterly_old, r.consent AS consent_old,"
                   " r.proxy_name AS proxy_old, r.note AS note_old, r.version"
                   " FROM dues_roll r JOIN dj_pay_keys k ON k.member_id = r.member_id AND k.month = r.month").pl()
    cur.unregister("dj_pay_keys")
    w = w.with_columns(pl.col("member_id").cast(pl.Int32)).join(roll, on=["member_id", "month"], how="left")
    w = w.with_columns(month_txt=pl.col("month").dt.strftime("%Y-%m"))
    errs.mask(w, pl.col("member_id").is_not_null() & pl.col("month").is_not_null() & pl.col("roll_id").is_null(),
              hdr.get("month") or key_col, "month_txt",
              lambda b: [f"这位党员 {m} 还没有花名册记录：请先生成该月花名册" for m in b["month_txt"].to_list()], 1)
    w = w.with_columns(
        quarterly=pl.coalesce("quarterly_in", "quarterly_old", pl.lit(False)),
        consent=pl.coalesce("consent_in", "consent_old", pl.lit(False)),
        proxy_name=pl.coalesce("proxy_in", "proxy_old"),
        note=pl.coalesce("note_in", "note_old"),
    )
    labels = {"paid": hdr["amount"], "paid_on": hdr.get("paid_on", "缴纳日期"), "method": hdr.get("method", "缴纳方式"),
              "consent": hdr.get("consent", "支部同意"), "proxy_name": hdr.get("proxy_name", "代缴人")}
    _check_payments(w.filter(pl.col("roll_id").is_not_null() & pl.col("paid_fen").is_not_null()), errs, labels, today)
    if errs:
        errors = errs.sorted()
        raise BadInput(f"发现 {len(errors)} 处错误，没有登记任何缴费", errors, file=frame.file)
    changed = w.filter(pl.col("old_paid_fen") > 0, pl.col("old_paid_fen") != pl.col("paid_fen"))
    if changed.height:
        warnings.append(f"{changed.height} 人次原已登记过不同的实缴金额，以本次为准")
    if "name" in hdr:
        names = df[hdr["name"]].cast(pl.String).str.strip_chars()
        w = w.with_columns(file_name=names)
        odd = w.filter(pl.col("file_name").is_not_null() & pl.col("db_name").is_not_null()
                       & (pl.col("file_name") != pl.col("db_name")))
        for r, a, b in odd.select("row", "file_name", "db_name").head(10).iter_rows():
            warnings.append(f"第 {r} 行姓名「{a}」与党员名册中的「{b}」不一致，请核对")
    flags = _back_pay_flags(cur, w)
    for r in flags.head(20).iter_rows(named=True):
        warnings.append(f"{r['name']}（{r['member_no']}）在 {r['paid_on']} 一次补交 {r['months']} 个月，"
                        "超过 6 个月：已接收并标记，请核实原因")
    res = PaymentResult(rows=w.height, total_fen=int(w["paid_fen"].sum() or 0), skipped=skipped,
                        warnings=warnings, back_pay_flags=flags)
    return w, res


def _check_payments(w: pl.DataFrame, errs: _Errs, labels: dict, today: date) -> None:
    """Rules every payment obeys, whatever door it came through."""
    if w.height == 0:
        return
    w = w.with_columns(due_txt=pl.col("due_fen").map_elements(yuan, return_dtype=pl.String),
                       paid_txt=pl.col("paid_fen").map_elements(yuan, return_dtype=pl.String),
                       paid_on_txt=pl.col("paid_on").cast(pl.String))
    errs.mask(w, pl.col("paid_fen") > pl.col("due_fen"), labels["paid"], "paid_txt",
              lambda b: [f"实缴金额 {p} 元大于应缴金额 {d} 元：多交部分请在「自愿多交」中单独登记"
                         for p, d in zip(b["paid_txt"], b["due_txt"])], 2)
    paying = pl.col("paid_fen") > 0
    errs.mask(w, paying & pl.col("paid_on").is_null(), labels["paid_on"], "paid_on_txt", "请填写缴纳日期", 3)
    errs.mask(w, paying & (pl.col("paid_on") > pl.lit(today, pl.Date)), labels["paid_on"], "paid_on_txt",
              "缴纳日期不能晚于今天", 3)
    early = paying & (pl.col("paid_on") < pl.col("month")) & ~pl.col("quarterly")
    errs.mask(w, early, labels["paid_on"], "paid_on_txt",
              "缴纳日期早于所属月份：提前缴纳请勾选「按季度」（须经党支部同意）", 3)
    errs.mask(w, paying & pl.col("method").is_null(), labels["method"], "method",
              "请选择缴纳方式：" + "、".join(METHODS.values()), 4)
    needs = (pl.col("quarterly") | (pl.col("proxy_name").fill_null("").str.len_chars() > 0)) & ~pl.col("consent")
    errs.mask(w, needs, labels["consent"], "proxy_name",
              "按季度缴纳或委托他人代缴须经党支部同意：请勾选「支部同意」", 6)


def _back_pay_flags(cur, w: pl.DataFrame) -> pl.DataFrame:
    """Members whose one payment (same date) covers more than 6 months already past."""
    late = w.filter(pl.col("paid_fen") > 0, pl.col("paid_on") > pl.col("month").dt.month_end())
    g = late.group_by("member_id", "paid_on").agg(months=pl.len()).filter(
        dues.back_payment_flag_expr(pl.col("months")))
    if g.height == 0:
        return pl.DataFrame(schema={"member_no": pl.String, "name": pl.String, "paid_on": pl.Date, "months": pl.UInt32})
    _register(cur, "dj_flags", g)
    out = cur.sql("SELECT m.member_no, m.name, f.paid_on, f.months FROM dj_flags f JOIN members m ON m.id = f.member_id"
                  " ORDER BY m.member_no").pl()
    cur.unregister("dj_flags")
    return out


def _write_payments(cur, user: User, w: pl.DataFrame, *, kind: str, description: str,
                    check_versions: bool = False, batch: int | None = None, audited: bool = True) -> int:
    frame = w.select(
        pl.col("roll_id").alias("id"), pl.col("paid_fen").cast(pl.Int64),
        pl.when(pl.col("paid_fen") > 0).then(pl.col("paid_on")).otherwise(None).alias("paid_on"),
        pl.when(pl.col("paid_fen") > 0).then(pl.col("method")).otherwise(None).alias("method"),
        pl.col("quarterly").fill_null(False), pl.col("proxy_name"), pl.col("consent").fill_null(False),
        pl.col("note"), pl.col("version"))
    _register(cur, "dj_pay", frame)
    _register(cur, "dj_pay_ids", frame.select(pl.col("id").alias("k")))
    if check_versions:
        stale = cur.execute("SELECT count(*) FROM dues_roll t JOIN dj_pay f ON f.id = t.id WHERE t.version <> f.version"
                            ).fetchone()[0]
        gone = frame.height - cur.execute("SELECT count(*) FROM dues_roll WHERE id IN (SELECT k FROM dj_pay_ids)").fetchone()[0]
        if stale or gone:
            raise ConflictError(f"保存冲突：有 {stale + gone} 行在您打开之后已被其他人修改或删除。"
                                "您的修改没有保存，请点「刷新」载入最新数据后再改。")
    if batch is None:
        batch = audit.new_batch(cur, user, kind, description)
    before = _snapshot(cur, "dues_roll", "dj_pay_ids", PAY_FIELDS) if audited else None
    cur.execute(f"UPDATE dues_roll AS t SET paid = {_d('f.paid_fen')}, paid_on = f.paid_on, method = f.method,"
                " quarterly = f.quarterly, proxy_name = f.proxy_name, consent = f.consent, note = f.note,"
                " version = t.version + 1, updated_at = current_timestamp, updated_by = ?"
                " FROM dj_pay f WHERE t.id = f.id", [user.username])
    if audited:
        _audit_updates(cur, batch, user, "dues_roll", before, _snapshot(cur, "dues_roll", "dj_pay_ids", PAY_FIELDS))
    cur.unregister("dj_pay")
    cur.unregister("dj_pay_ids")
    return batch


def record_payments(db, user: User, frame: fileio.Frame, *, month=None, source: str = "paste",
                    default_method: str | None = None, default_date: date | None = None,
                    commit: bool = False, today: date | None = None) -> PaymentResult:
    """Payments from a pasted table or the bank's return file (`source` "paste" / "file" /
    "bank"): 党员编号 (or 身份证号), 实缴金额, optional 月份 / 缴纳日期 / 缴纳方式 / 代缴人 / 支部同意 /
    按季度 / 备注 / 扣款状态. Each sets the paid amount of that member's roll row (a re-import of
    the same file changes nothing). `commit=False` checks only. All or nothing."""
    require(user, PERM_WRITE)
    today = today or clock.today()
    default_date = default_date or today
    if default_method is not None and default_method not in METHODS:
        raise BadInput(f"未知的缴纳方式「{default_method}」")
    label = {"bank": "银行返回文件", "paste": "粘贴", "file": "导入"}.get(source, "导入")
    with db.write() as cur:
        w, res = _prepare_payments(cur, user, frame, month=month, source=source, default_method=default_method,
                                   default_date=default_date, today=today)
        if commit and w.height:
            res.batch_id = _write_payments(cur, user, w, kind="dues_payment",
                                           description=f"登记党费缴纳（{label}）：{frame.file}，{w.height} 人次")
            res.committed = True
    return res


EDITABLE = ("paid", "paid_on", "method", "quarterly", "proxy_name", "consent", "note")


def save_roll_edits(db, user: User, edits: list[dict], *, today: date | None = None,
                    default_method: str | None = None) -> PaymentResult:
    """Hand edits from the roll's table editor: each dict has id, version, row (the number
    the user sees) and the full new values of paid, paid_on, method, quarterly, proxy_name,
    consent, note (method as code or label; paid as text/number in yuan). Versions are
    checked (a row changed by someone else refuses the save)."""
    require(user, PERM_WRITE)
    today = today or clock.today()
    if not edits:
        return PaymentResult(0, 0)
    raw = pl.DataFrame([{k: (None if e.get(k) is None else str(e.get(k))) for k in EDITABLE} for e in edits],
                       schema={k: pl.String for k in EDITABLE})
    w = pl.DataFrame({"row": [int(e.get("row") or i + 1) for i, e in enumerate(edits)],
                      "roll_id": [int(e["id"]) for e in edits],
                      "version": [int(e["version"]) for e in edits]},
                     schema={"row": pl.Int64, "roll_id": pl.Int64, "version": pl.Int32})
    errs = _Errs()
    fen, prob = dues.money_to_fen(raw["paid"].fill_null("0"))
    w = w.with_columns(paid_fen=fen, a_prob=prob.cast(pl.String), a_raw=raw["paid"])
    errs.mask(w, pl.col("a_prob").is_not_null(), "实缴金额", "a_raw",
              lambda b: ["实缴金额" + _MONEY_MSG[p] for p in b["a_prob"].to_list()], 2)
    cols = {}
    for name, parse, order in (("paid_on", _parse_date, 3), ("method", _parse_method, 4),
                               ("quarterly", _parse_bool, 5), ("consent", _parse_bool, 6)):
        vals, probs = _parse_distinct(raw[name], parse)
        w = w.with_columns(pl.Series("_p", probs), pl.Series("_raw", raw[name]))
        errs.mask(w, pl.col("_p").is_not_null(), _PAY_LABELS[name], "_raw", lambda b: b["_p"].to_list(), order)
        cols[name] = vals
    w = w.drop("_p", "_raw").with_columns(
        paid_on=cols["paid_on"].cast(pl.Date), method=cols["method"].cast(pl.String),
        quarterly=cols["quarterly"].cast(pl.Boolean).fill_null(False),
        consent=cols["consent"].cast(pl.Boolean).fill_null(False),
        proxy_name=raw["proxy_name"].str.strip_chars().replace("", None),
        note=raw["note"].replace("", None))
    w = w.with_columns(
        paid_on=pl.when((pl.col("paid_fen") > 0) & pl.col("paid_on").is_null()).then(pl.lit(today))
        .otherwise(pl.col("paid_on")),
        method=pl.when((pl.col("paid_fen") > 0) & pl.col("method").is_null()).then(pl.lit(default_method, pl.String))
        .otherwise(pl.col("method")))
    with db.write() as cur:
        _register(cur, "dj_edit_ids", w.select(pl.col("roll_id").alias("k")))
        cur_rows = cur.sql("SELECT id AS roll_id, month, member_id, CAST(due * 100 AS BIGINT) AS due_fen"
                           " FROM dues_roll WHERE id IN (SELECT k FROM dj_edit_ids)").pl()
        cur.unregister("dj_edit_ids")
        w = w.join(cur_rows, on="roll_id", how="left")
        if w["due_fen"].null_count():
            raise ConflictError("保存冲突：有的行已被其他人删除。您的修改没有保存，请点「刷新」后再改。")
        _check_payments(w.filter(pl.col("paid_fen").is_not_null()), errs, _PAY_LABELS, today)
        if errs:
            errors = errs.sorted()
            raise BadInput(f"有 {len(errors)} 处错误，没有保存任何修改。请改正后再保存：", errors)
        flags = _back_pay_flags(cur, w)
        batch = _write_payments(cur, user, w, kind="dues_payment", check_versions=True,
                                description=f"修改党费花名册：{w.height} 行")
    warnings = [f"{r['name']}（{r['member_no']}）在 {r['paid_on']} 一次补交 {r['months']} 个月，超过 6 个月：已标记"
                for r in flags.iter_rows(named=True)]
    return PaymentResult(w.height, int(w["paid_fen"].sum() or 0), warnings=warnings, back_pay_flags=flags,
                         batch_id=batch, committed=True)


def _member_by_no(cur, member_no) -> tuple[int, int, str]:
    t = str(member_no or "").strip()
    if not t:
        raise BadInput("请填写党员编号")
    row = cur.execute("SELECT id, org_id, name FROM members WHERE member_no = ?", [t]).fetchone()
    if row is None:
        raise BadInput(f"找不到党员编号「{t}」：请先在「党员名册」中登记")
    return row


def record_multi_month(db, user: User, member_no: str, first_month, n_months: int, amount, paid_on: date,
                       method: str, *, proxy_name: str | None = None, consent: bool = False,
                       note: str | None = None, today: date | None = None) -> PaymentResult:
    """One payment covering `n_months` months from `first_month` (按季度 / 补交 / 代缴): the amount
    must equal what is still due over those months; each month is marked paid. Roll rows the
    months still lack are computed for this member. Several months, or a proxy, need the
    branch's consent. Covering more than 6 past months is accepted and flagged.

    One user action, one transaction, one audit batch: everything is checked first (on the
    roll as it would be), and only then are the missing roll rows and the payment written
    together — a refused payment leaves no roll rows and no batch behind."""
    require(user, PERM_WRITE)
    today = today or clock.today()
    if isinstance(n_months, bool) or not isinstance(n_months, int) or not 1 <= n_months <= MAX_PAYMENT_MONTHS:
        raise BadInput(f"月数应为 1–{MAX_PAYMENT_MONTHS} 之间的整数")
    if method not in METHODS:
        raise BadInput("请选择缴纳方式：" + "、".join(METHODS.values()))
    amt = dues.parse_money(amount, what="缴纳金额")
    first = parse_month(first_month)
    months = [add_months(first, i) for i in range(n_months)]
    proxy = (proxy_name or "").strip() or None
    if (n_months > 1 or proxy) and not consent:
        raise BadInput("按季度（多个月一次）缴纳或委托他人代缴须经党支部同意：请勾选「支部同意」")
    with db.write() as cur:
        mid, org_id, name = _member_by_no(cur, member_no)
        new, _, _ = _roll_frame(cur, months, scope=None, member_ids=[mid], rules=_rule_history(cur),
                                recompute=False)
        _register(cur, "dj_mm", pl.DataFrame({"month": months}, schema={"month": pl.Date}))
        have = cur.sql("SELECT r.month, CAST(r.due * 100 AS BIGINT) AS due_fen,"
                       " CAST(r.paid * 100 AS BIGINT) AS old_paid_fen, r.note AS note_old"
                       " FROM dues_roll r WHERE r.member_id = ? AND r.month IN (SELECT month FROM dj_mm)",
                       params=[mid]).pl()
        rows = pl.concat([have, new.select("month", pl.col("dues_fen").cast(pl.Int64).alias("due_fen"),
                                           pl.lit(0, pl.Int64).alias("old_paid_fen"),
                                           pl.lit(None, pl.String).alias("note_old"))],
                         how="vertical_relaxed").sort("month")
        if rows.height < n_months:
            got = set(rows["month"].to_list())
            lacking = "、".join(month_text(m) for m in months if m not in got)
            raise BadInput(f"{name} {lacking} 没有应缴记录（入党前，或缺少计算基数）：请调整起始月份或月数")
        owing = int((rows["due_fen"] - rows["old_paid_fen"]).clip(lower_bound=0).sum())
        if int(amt * 100) != owing:
            raise BadInput(f"缴纳金额 {amt} 元与这 {n_months} 个月尚欠的 {yuan(owing)} 元不一致："
                           "多交部分请作为自愿多交单独登记，少交请逐月在花名册中登记")
        if owing == 0:
            raise BadInput(f"{name} 这 {n_months} 个月已经缴清，无需再登记")
        w = rows.filter(pl.col("due_fen") > pl.col("old_paid_fen")).with_columns(
            row=pl.int_range(1, pl.len() + 1, dtype=pl.Int64), member_id=pl.lit(mid),
            paid_fen=pl.col("due_fen"), paid_on=pl.lit(paid_on, pl.Date), method=pl.lit(method),
            quarterly=pl.lit(n_months > 1), consent=pl.lit(bool(consent)), proxy_name=pl.lit(proxy, pl.String),
            note=pl.coalesce(pl.lit(note, pl.String), pl.col("note_old")))
        errs = _Errs()
        _check_payments(w, errs, _PAY_LABELS, today)
        if errs:
            raise BadInput("缴费信息有误，没有登记", errs.sorted())
        flags = _back_pay_flags(cur, w)
        # all checked: the missing roll rows and the payment, one batch
        batch = audit.new_batch(cur, user, "dues_payment",
                                f"登记党费缴纳：{name} {month_text(months[0])} 起 {n_months} 个月"
                                + (f"（{proxy} 代缴）" if proxy else "")
                                + (f"，补生成花名册 {new.height} 个月" if new.height else ""))
        # new rows are audited as inserts of their final state (paid included), so reverting the
        # batch deletes them; rows that existed are audited as payment updates
        first_id, last_id = _insert_roll_rows(cur, None, user, new) if new.height else (0, -1)
        ids = cur.sql("SELECT r.id AS roll_id, r.month, r.version FROM dues_roll r WHERE r.member_id = ?"
                      " AND r.month IN (SELECT month FROM dj_mm)", params=[mid]).pl()
        w = w.join(ids, on="month", how="left")
        fresh = pl.col("roll_id").is_between(first_id, last_id)
        if new.height:
            _write_payments(cur, user, w.filter(fresh), kind="dues_payment", description="", batch=batch,
                            audited=False)
            _audit_inserts_range(cur, batch, user, "dues_roll", first_id, last_id)
        if w.filter(~fresh).height:
            _write_payments(cur, user, w.filter(~fresh), kind="dues_payment", description="", batch=batch)
    warnings = []
    if flags.height:
        warnings.append(f"本次补交 {int(flags['months'][0])} 个月，超过 6 个月：已接收并标记，请核实原因")
    return PaymentResult(w.height, owing, warnings=warnings, back_pay_flags=flags, batch_id=batch, committed=True)


def record_voluntary(db, user: User, member_no: str, month, amount, paid_on: date, method: str,
                     note: str | None = None, today: date | None = None) -> tuple[int, bool]:
    """A voluntary payment, recorded apart from the monthly amount. Returns (id, forward):
    one-off ≥ 1000.00 is forwarded in full to the Centre (flagged)."""
    require(user, PERM_WRITE)
    today = today or clock.today()
    amt = dues.parse_money(amount, what="自愿多交金额")
    if amt <= 0:
        raise BadInput("自愿多交金额应大于 0")
    if method not in METHODS:
        raise BadInput("请选择缴纳方式：" + "、".join(METHODS.values()))
    if paid_on is None or paid_on > today:
        raise BadInput("请填写缴纳日期（不能晚于今天）")
    m = parse_month(month)
    forward = dues.voluntary_payment_flag(amt)
    with db.write() as cur:
        mid, org_id, name = _member_by_no(cur, member_no)
        vid = cur.execute("INSERT INTO dues_voluntary(member_id, org_id, month, amount, paid_on, method, forward,"
                          " note, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                          [mid, org_id, m, amt, paid_on, method, forward, note or None, user.username]).fetchone()[0]
        batch = audit.new_batch(cur, user, "dues_voluntary", f"登记自愿多交党费：{name} {amt} 元"
                                + ("（≥1000 元，全额上缴中央）" if forward else ""))
        audit.record(cur, batch, user, "dues_voluntary", vid, "insert", None,
                     audit.rows_json(cur, "dues_voluntary", "id", [vid]).get(str(vid)))
    return int(vid), forward


def voluntary_list(db, user: User, start, end, *, org_id=None) -> pl.DataFrame:
    require(user, PERM_READ)
    a, b = parse_month(start), parse_month(end)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        return cur.sql("SELECT v.id, strftime(v.month, '%Y-%m') AS month, m.member_no, m.name, o.name AS org,"
                       " v.amount, v.paid_on, v.method, v.forward, v.note FROM dues_voluntary v"
                       " JOIN members m ON m.id = v.member_id JOIN orgs o ON o.id = v.org_id"
                       f" WHERE v.month BETWEEN ? AND ? AND {_scope_sql(cur, scope, 'v.org_id')}"
                       " ORDER BY v.paid_on DESC, v.id DESC", params=[a, b]).pl()


# =======================================================================================
# Payroll → base (工资表)
# =======================================================================================
_GUESS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("member_id", ("党员编号", "人员编号", "工号", "member_id")),
    ("name", ("姓名", "name")),
    ("tax", ("个人所得税", "个税", "所得税")),
    ("deducted", ("公积金", "养老", "医疗", "失业", "年金", "社保", "社会保险")),
    ("ignored", ("奖励性", "改革性", "住房补", "交通", "通讯", "公务用车", "车补", "加班", "误餐", "取暖",
                 "防暑", "物业", "一次性", "抚恤", "身份证", "部门", "科室", "备注", "序号", "应发", "实发",
                 "合计", "扣款合计", "银行", "账号")),
    ("retiree_allowance", ("离退休津贴", "退休补贴")),
    ("counted", ("工资", "津贴", "补贴", "绩效", "薪级", "岗位", "级别", "职务", "技能", "技术等级", "基本",
                 "离退休费", "养老金")),
)


def guess_kind(column: str) -> str | None:
    """A first guess for a payroll column by its name (the treasurer confirms)."""
    t = str(column).strip()
    for kind, words in _GUESS:
        if any(w in t for w in words):
            return kind
    return None


def _norm_kind(value) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    t = str(value).strip()
    for code, label in dues.MAPPING_KINDS.items():
        if t == label:
            return code
    return dues.MAPPING_ALIASES.get(t) or dues.MAPPING_ALIASES.get(t.lower()) or t


def payroll_mapping(db, user: User, org_id: int) -> dict[str, str]:
    """The saved column mapping of a unit's payroll (column name → kind code)."""
    require(user, PERM_READ)
    with db.read() as cur:
        return dict(cur.execute("SELECT column_name, kind FROM dues_payroll_mappings WHERE org_id = ?"
                                " ORDER BY id", [int(org_id)]).fetchall())


@dataclass
class PayrollPreview:
    month: date
    settings_id: int
    settings: dues.DuesSettings
    mapping: dict[str, str]
    lines: pl.DataFrame       # row, member_id, member_no, name, category, counted/deducted/tax/base/fixed/dues _fen,
    #                           rate_permille, rule, clamped, applies_from
    warnings: list[str] = field(default_factory=list)

    @property
    def total_fen(self) -> int:
        return int(self.lines["dues_fen"].sum() or 0)


def _payroll_lines(cur, user: User, org_id, month, frame: fileio.Frame, mapping: dict,
                   redetermine: bool) -> PayrollPreview:
    if org_id is None:
        raise BadInput("请先选择工资表所属的单位（党组织）")
    if not cur.execute("SELECT count(*) FROM orgs WHERE id = ?", [int(org_id)]).fetchone()[0]:
        raise BadInput(f"找不到编号为 {org_id} 的党组织")
    m = parse_month(month, "工资所属月份")
    df = frame.df
    if df.height == 0:
        raise BadInput(f"工资表第 {frame.first_row} 行起没有数据：表头下面是空的", file=frame.file)
    sid, settings = _settings_at(cur, m)  # the rule in force in the pay month
    mp = {str(c): _norm_kind(k) for c, k in (mapping or {}).items()}
    warnings = [f"上次设置过口径的列「{c}」这次文件中没有" for c, k in mp.items()
                if c not in df.columns and k in ("counted", "deducted", "tax")]
    mp = {c: k for c, k in mp.items() if c in df.columns and k is not None}
    base = dues.compute_base_frame(df, mp, settings, retired=False, first_row=frame.first_row, file=frame.file)
    id_col = next(c for c, k in mp.items() if k == "member_id")
    n = df.height
    lines = base.with_columns(row=pl.int_range(frame.first_row, frame.first_row + n, dtype=pl.Int64, eager=True))
    members = cur.sql("SELECT m.id AS member_id, m.member_no, m.name AS db_name, m.dues_category, m.org_id AS member_org"
                      " FROM members m").pl()
    lines = lines.rename({"member_id": "member_no"}).join(members, on="member_no", how="left")
    errs = _Errs()
    errs.mask(lines, pl.col("member_id").is_null(), id_col, "member_no",
              "找不到这个党员编号：请先在「党员名册」中登记，或核对编号")
    retired = pl.col("dues_category") == "retired"
    if lines.filter(retired).height:
        if settings.retiree_base == "fixed":
            errs.mask(lines, retired, id_col, "member_no",
                      "这位党员是离退休人员，设置为“固定基数”：请用「导入基数」直接填写，不从工资表计算")
        else:
            rb = dues.compute_base_frame(df, mp, settings, retired=True, first_row=frame.first_row, file=frame.file)
            lines = lines.with_columns(
                **{c: pl.when(retired).then(rb[c]).otherwise(pl.col(c))
                   for c in ("counted_fen", "deducted_fen", "deducted_all_fen", "tax_fen", "base_fen", "clamped")})
    if errs:
        errors = errs.sorted()
        raise BadInput(f"发现 {len(errors)} 处错误，没有导入任何基数", errors, file=frame.file)
    if "name" in lines.columns:
        odd = lines.filter(pl.col("name").is_not_null() & (pl.col("name").str.strip_chars() != pl.col("db_name")))
        warnings += [f"第 {r} 行姓名「{a}」与党员名册中的「{b}」不一致，请核对"
                     for r, a, b in odd.select("row", "name", "db_name").head(10).iter_rows()]
    ids = lines["member_id"].to_list()
    _register(cur, "dj_pr_ids", _ids_frame(ids))
    extra = cur.sql(
        "SELECT m.id AS member_id, CAST(f.amount * 100 AS BIGINT) AS farmer_fen,"
        " (SELECT CAST(b.fixed_amount * 100 AS BIGINT) FROM member_bases b WHERE b.member_id = m.id"
        "   AND b.fixed_amount IS NOT NULL ORDER BY b.month DESC, b.id DESC LIMIT 1) AS member_fixed_fen,"
        " (SELECT count(*) FROM member_bases b WHERE b.member_id = m.id AND b.month < ?) AS earlier"
        " FROM members m LEFT JOIN dues_farmer_amounts f ON f.org_id = m.org_id"
        " WHERE m.id IN (SELECT k FROM dj_pr_ids)", params=[m]).pl()
    cur.unregister("dj_pr_ids")
    lines = _compute(lines.with_columns(pl.col("member_id").cast(pl.Int32))
                     .join(extra.with_columns(pl.col("member_id").cast(pl.Int32)), on="member_id", how="left"),
                     settings)
    immediate = settings.amount_mode == "monthly" or redetermine or m.month == 1
    lines = lines.with_columns(
        applies_from=pl.when(pl.lit(immediate) | (pl.col("earlier") == 0)).then(pl.lit(m))
        .otherwise(pl.lit(date(m.year + 1, 1, 1))),
        name=pl.col("db_name"))
    clamped = lines.filter(pl.col("clamped"))
    if clamped.height:
        warnings.append(f"{clamped.height} 人扣除项目超过计入项目，基数按 0.00 元计：请核对口径")
    later = lines.filter(pl.col("applies_from") > pl.lit(m))
    if later.height:
        warnings.append(f"设置为“每年年初核定，年内不变”：{later.height} 人的新基数从 {later['applies_from'][0]:%Y-%m} 起生效；"
                        "如需本月起按新基数收缴，请勾选「重新核定」")
    cols = ["row", "member_id", "member_no", "name", "category", "counted_fen", "deducted_fen", "deducted_all_fen", "tax_fen",
            "base_fen", "clamped", "fixed_fen", "dues_fen", "rate_permille", "rule", "applies_from"]
    return PayrollPreview(m, sid, settings, mp, lines.select(cols), warnings)


def preview_payroll(db, user: User, org_id, month, frame: fileio.Frame, mapping: dict,
                    *, redetermine: bool = False) -> PayrollPreview:
    """Check a payroll sheet with a column mapping: every member's base and dues, or a
    BadInput naming each bad row and column. Nothing is written."""
    require(user, PERM_WRITE)
    require(user, PERM_SALARY)
    with db.read() as cur:
        return _payroll_lines(cur, user, org_id, month, frame, mapping, redetermine)


@dataclass
class ImportResult:
    inserted: int
    updated: int
    batch_id: int | None
    import_id: int | None = None
    warnings: list[str] = field(default_factory=list)
    category_changes: int = 0

    @property
    def summary(self) -> str:
        s = f"新增基数 {self.inserted} 条，更新 {self.updated} 条"
        if self.category_changes:
            s += f"，修改党员类别 {self.category_changes} 人"
        return s


def _save_mapping(cur, user: User, batch: int, org_id: int, mapping: dict) -> int:
    old = {c: (i, k) for i, c, k in cur.execute(
        "SELECT id, column_name, kind FROM dues_payroll_mappings WHERE org_id = ?", [int(org_id)]).fetchall()}
    n = 0
    for col, kind in mapping.items():
        if col in old and old[col][1] == kind:
            continue
        if col in old:
            i = old[col][0]
            before = audit.rows_json(cur, "dues_payroll_mappings", "id", [i]).get(str(i))
            cur.execute("UPDATE dues_payroll_mappings SET kind = ?, version = version + 1, updated_at = current_timestamp,"
                        " updated_by = ? WHERE id = ?", [kind, user.username, i])
            audit.record(cur, batch, user, "dues_payroll_mappings", i, "update", before,
                         audit.rows_json(cur, "dues_payroll_mappings", "id", [i]).get(str(i)))
        else:
            i = cur.execute("INSERT INTO dues_payroll_mappings(org_id, column_name, kind, updated_by)"
                            " VALUES (?, ?, ?, ?) RETURNING id", [int(org_id), col, kind, user.username]).fetchone()[0]
            audit.record(cur, batch, user, "dues_payroll_mappings", i, "insert", None,
                         audit.rows_json(cur, "dues_payroll_mappings", "id", [i]).get(str(i)))
        n += 1
    return n


def save_mapping(db, user: User, org_id: int, mapping: dict) -> int:
    """Save a unit's column mapping on its own (also saved by every payroll import)."""
    require(user, PERM_WRITE)
    mp = {str(c): _norm_kind(k) for c, k in mapping.items() if _norm_kind(k)}
    bad = [CellError(None, c, k, "口径无法识别，应为：" + "、".join(dues.MAPPING_KINDS.values()))
           for c, k in mp.items() if k not in dues.MAPPING_KINDS]
    if bad:
        raise BadInput("工资项口径设置有误", bad)
    with db.write() as cur:
        batch = audit.new_batch(cur, user, "dues_mapping", "保存工资项口径")
        return _save_mapping(cur, user, batch, org_id, mp)


def _upsert_bases(cur, user: User, batch: int, rows: pl.DataFrame, *, source: str, import_id: int | None,
                  redetermine: bool) -> tuple[int, int]:
    """rows: member_id, month, base_fen, fixed_fen?, counted_fen?, deducted_fen?, tax_fen?, note?"""
    for c in ("fixed_fen", "counted_fen", "deducted_fen", "tax_fen"):
        if c not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.Int64).alias(c))
    if "note" not in rows.columns:
        rows = rows.with_columns(note=pl.lit(None, pl.String))
    frame = rows.select(pl.col("member_id").cast(pl.Int32), pl.col("month").cast(pl.Date),
                        *[pl.col(c).cast(pl.Int64) for c in ("base_fen", "fixed_fen", "counted_fen", "deducted_fen",
                                                            "tax_fen")], pl.col("note").cast(pl.String))
    _register(cur, "dj_bases", frame)
    existing = cur.sql("SELECT b.id, b.member_id, b.month FROM member_bases b JOIN dj_bases f"
                       " ON f.member_id = b.member_id AND f.month = b.month").pl()
    upd = frame.join(existing, on=["member_id", "month"], how="inner")
    new = frame.join(existing, on=["member_id", "month"], how="anti")
    if upd.height:
        _register(cur, "dj_bases_upd", upd)
        _register(cur, "dj_bases_ids", upd.select(pl.col("id").cast(pl.Int64).alias("k")))
        before = _snapshot(cur, "member_bases", "dj_bases_ids")
        cur.execute(f"UPDATE member_bases AS t SET base = {_d('f.base_fen')},"
                    f" fixed_amount = coalesce({_d('f.fixed_fen')}, t.fixed_amount), counted = {_d('f.counted_fen')},"
                    f" deducted = {_d('f.deducted_fen')}, tax = {_d('f.tax_fen')}, redetermine = ?, source = ?,"
                    " import_id = ?, note = coalesce(f.note, t.note), version = t.version + 1,"
                    " updated_at = current_timestamp, updated_by = ? FROM dj_bases_upd f WHERE t.id = f.id",
                    [redetermine, source, import_id, user.username])
        _audit_updates(cur, batch, user, "member_bases", before, _snapshot(cur, "member_bases", "dj_bases_ids"))
    if new.height:
        first = _reserve_ids(cur, "member_bases_seq", new.height)
        _register(cur, "dj_bases_new", new.with_columns(
            (pl.int_range(new.height, dtype=pl.Int64) + first).alias("id")))
        cur.execute("INSERT INTO member_bases(id, member_id, month, base, fixed_amount, counted, deducted, tax,"
                    f" redetermine, source, import_id, note, updated_by) SELECT id, member_id, month, {_d('base_fen')},"
                    f" {_d('fixed_fen')}, {_d('counted_fen')}, {_d('deducted_fen')}, {_d('tax_fen')}, ?, ?, ?, note, ?"
                    " FROM dj_bases_new",
                    [redetermine, source, import_id, user.username])
        _audit_inserts_range(cur, batch, user, "member_bases", first, first + new.height - 1)
    return new.height, upd.height


def commit_payroll(db, user: User, org_id, month, frame: fileio.Frame, mapping: dict,
                   *, redetermine: bool = False) -> ImportResult:
    """Import a checked payroll sheet: each member's base for the month (replacing an earlier
    import of the same month), the unit's column mapping (reused next time) and an import
    record — one audited batch, all or nothing."""
    require(user, PERM_WRITE)
    require(user, PERM_SALARY)
    with db.write() as cur:
        pv = _payroll_lines(cur, user, org_id, month, frame, mapping, redetermine)
        batch = audit.new_batch(cur, user, "dues_payroll",
                                f"导入工资表：{frame.file}（{month_text(pv.month)}，{pv.lines.height} 人）")
        _save_mapping(cur, user, batch, int(org_id), pv.mapping)
        imp = cur.execute("INSERT INTO dues_payroll_imports(org_id, month, file_name, row_count, settings_id, redetermine,"
                          " kind, updated_by) VALUES (?, ?, ?, ?, ?, ?, 'payroll', ?) RETURNING id",
                          [int(org_id), pv.month, frame.file, pv.lines.height, pv.settings_id, redetermine,
                           user.username]).fetchone()[0]
        audit.record(cur, batch, user, "dues_payroll_imports", imp, "insert", None,
                     audit.rows_json(cur, "dues_payroll_imports", "id", [imp]).get(str(imp)))
        ins, upd = _upsert_bases(cur, user, batch, pv.lines.select(
            "member_id", pl.lit(pv.month).alias("month"), "base_fen", "counted_fen",
            pl.col("deducted_all_fen").alias("deducted_fen"), "tax_fen"),  # all of it: another month's rule may read it
            source="payroll", import_id=imp, redetermine=redetermine)
    return ImportResult(ins, upd, batch, imp, pv.warnings)


def explain_line(category: str, base_fen, counted_fen, deducted_fen, tax_fen, fixed_fen,
                 settings: dues.DuesSettings) -> str:
    """基数 → 档次 → 费率 → 应缴, in words, for one payroll line (scalar engine)."""
    cat = str(category)
    fixed = None if fixed_fen is None else Decimal(int(fixed_fen)) / 100
    parts = []
    if cat in dues.BASE_CATEGORIES and counted_fen is not None and cat != "retired":
        items = {"计入": Decimal(int(counted_fen)) / 100, "扣除": Decimal(int(deducted_fen or 0)) / 100,
                 "个税": Decimal(int(tax_fen or 0)) / 100}
        br = dues.compute_base(items, {"计入": "counted", "扣除": "deducted", "个税": "tax"}, settings)
        parts.append(br.explanation)
    base = None if base_fen is None else Decimal(int(base_fen)) / 100
    try:
        parts.append(dues.calc_dues(cat, base, fixed, settings).explanation)
    except BadInput as exc:
        parts.append(exc.message)
    return "；".join(parts)


def explain_lines(lines: pl.DataFrame, settings: dues.DuesSettings) -> list[str]:
    return [explain_line(r["category"], r["base_fen"], r.get("counted_fen"), r.get("deducted_fen"),
                         r.get("tax_fen"), r.get("fixed_fen"), settings) for r in lines.iter_rows(named=True)]


def payroll_template(db, user: User, org_id: int) -> bytes:
    """An example payroll sheet (the unit's members, typical civil-servant pay items, empty
    amounts) to show the expected shape."""
    require(user, PERM_READ)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        mem = cur.sql("SELECT member_no AS 党员编号, name AS 姓名 FROM members m"
                      f" WHERE {_scope_sql(cur, scope, 'm.org_id')} ORDER BY member_no LIMIT 2000").pl()
    cols = ["职务工资", "级别工资", "工作性津贴", "生活性补贴", "通讯补贴", "交通补贴", "养老保险", "医疗保险",
            "职业年金", "住房公积金", "个人所得税"]
    return fileio.xlsx_bytes({"工资表": mem.with_columns([pl.lit(None, pl.String).alias(c) for c in cols])})


# -- ready bases --------------------------------------------------------------------------
BASE_HEADERS: dict[str, tuple[str, ...]] = {
    "member_no": ("党员编号", "member_id", "member_no"),
    "name": ("姓名", "name"),
    "month": ("月份", "所属月份", "month"),
    "base": ("计算基数", "基数", "base", "base_income"),
    "category": ("党员类别", "党费类别", "category"),
    "fixed_amount": ("固定数额", "核定数额", "少交数额", "fixed_amount"),
    "note": ("备注", "note"),
}


def _prepare_bases(cur, frame: fileio.Frame, month) -> tuple[pl.DataFrame, list[str]]:
    hdr = _map_headers(frame, BASE_HEADERS)
    df = frame.df
    if "member_no" not in hdr:
        raise BadInput("缺少「党员编号」列（现有列：" + "、".join(df.columns) + "）", file=frame.file)
    if "base" not in hdr and "fixed_amount" not in hdr and "category" not in hdr:
        raise BadInput("缺少「计算基数」列（现有列：" + "、".join(df.columns) + "）", file=frame.file)
    if "month" not in hdr and month is None:
        raise BadInput("缺少「月份」列：请在表中加一列月份（如 2024-01），或在页面上选择月份", file=frame.file)
    if df.height == 0:
        raise BadInput(f"第 {frame.first_row} 行起没有数据：表头下面是空的", file=frame.file)
    n = df.height
    errs = _Errs()
    w = pl.DataFrame({"row": pl.int_range(frame.first_row, frame.first_row + n, dtype=pl.Int64, eager=True),
                      "member_no": df[hdr["member_no"]].cast(pl.String).str.strip_chars()})
    members = cur.sql("SELECT id AS member_id, member_no, name AS db_name, dues_category FROM members").pl()
    w = w.join(members, on="member_no", how="left")
    empty = pl.col("member_no").is_null() | (pl.col("member_no").str.len_chars() == 0)
    errs.mask(w, empty, hdr["member_no"], "member_no", "缺少党员编号")
    errs.mask(w, ~empty & pl.col("member_id").is_null(), hdr["member_no"], "member_no",
              "找不到这个党员编号：请先在「党员名册」中登记，或核对编号")
    if "month" in hdr:
        idx, prob = dues.month_index(df[hdr["month"]])
        w = w.with_columns(m_prob=prob, m_raw=df[hdr["month"]].cast(pl.String),
                           month=pl.date(idx // 12, idx % 12 + 1, 1))
        errs.mask(w, pl.col("m_prob").is_not_null(), hdr["month"], "m_raw", lambda b: b["m_prob"].to_list(), 1)
    else:
        w = w.with_columns(month=pl.lit(parse_month(month), pl.Date))
    if "category" in hdr:
        raw = df[hdr["category"]].cast(pl.String)
        cat = dues.categories_from(raw)
        w = w.with_columns(c_raw=raw, new_category=cat.cast(pl.String))
        blank = raw.is_null() | (raw.str.strip_chars().str.len_chars() == 0)
        w = w.with_columns(c_blank=blank)
        errs.mask(w, ~pl.col("c_blank") & pl.col("new_category").is_null(), hdr["category"], "c_raw",
                  "无法识别的党员类别，应为以下之一：" + "、".join(dues.CATEGORIES.values()), 2)
    else:
        w = w.with_columns(new_category=pl.lit(None, pl.String))
    w = w.with_columns(category=pl.coalesce("new_category", "dues_category"))
    for name, label, order in (("base", "计算基数", 3), ("fixed_amount", "固定数额", 4)):
        if name in hdr:
            fen, prob = dues.money_to_fen(df[hdr[name]])
            w = w.with_columns(pl.Series(f"{name}_fen", fen), pl.Series(f"{name}_p", prob.cast(pl.String)),
                               pl.Series(f"{name}_raw", df[hdr[name]].cast(pl.String)))
            errs.mask(w, pl.col(f"{name}_p").is_not_null() & (pl.col(f"{name}_p") != "missing"), hdr[name],
                      f"{name}_raw", lambda b, lb=label, nm=name: [lb + _MONEY_MSG[p] for p in b[f"{nm}_p"].to_list()],
                      order)
        else:
            w = w.with_columns(pl.lit(None, pl.Int64).alias(f"{name}_fen"), pl.lit(None, pl.String).alias(f"{name}_p"))
    needs_base = pl.col("category").is_in(list(dues.BASE_CATEGORIES))
    errs.mask(w, pl.col("member_id").is_not_null() & needs_base & pl.col("base_fen").is_null()
              & pl.col("base_p").fill_null("missing").eq("missing"),
              hdr.get("base", "计算基数"), "category",
              lambda b: [f"党员类别为「{dues.CATEGORIES.get(c, c)}」，必须填写计算基数" for c in b["category"].to_list()], 3)
    errs.mask(w, (pl.col("category") == "reduced") & (pl.col("fixed_amount_fen").fill_null(0) <= 0)
              & pl.col("fixed_amount_p").fill_null("missing").eq("missing"),
              hdr.get("fixed_amount", "固定数额"), "category", "少交党员必须填写经批准的固定数额（大于 0）", 4)
    keyed = w.filter(pl.col("member_id").is_not_null() & pl.col("month").is_not_null())
    dup = keyed.with_columns(first=pl.col("row").min().over(["member_id", "month"])).filter(pl.col("row") != pl.col("first"))
    for r, mno, first in dup.select("row", "member_no", "first").iter_rows():
        errs.add(CellError(r, hdr["member_no"], mno, f"同一党员同一月份与第 {first} 行重复，每人每月只能有一行"))
    if errs:
        errors = errs.sorted()
        raise BadInput(f"发现 {len(errors)} 处错误，没有导入任何基数", errors, file=frame.file)
    warnings = []
    if "name" in hdr:
        w = w.with_columns(file_name=df[hdr["name"]].cast(pl.String).str.strip_chars())
        odd = w.filter(pl.col("file_name").is_not_null() & (pl.col("file_name") != pl.col("db_name")))
        warnings += [f"第 {r} 行姓名「{a}」与党员名册中的「{b}」不一致，请核对"
                     for r, a, b in odd.select("row", "file_name", "db_name").head(10).iter_rows()]
    if "note" in hdr:
        w = w.with_columns(note=df[hdr["note"]].cast(pl.String))
    return w.rename({"base_fen": "base_fen", "fixed_amount_fen": "fixed_fen"}), warnings


def import_bases(db, user: User, frame: fileio.Frame, *, month=None, redetermine: bool = False,
                 commit: bool = False) -> ImportResult:
    """Import ready bases: 党员编号, 计算基数, optional 月份 / 党员类别 / 固定数额 / 姓名 / 备注. A
    category given here also becomes the member's dues category (recorded in the same batch).
    `commit=False` only checks."""
    require(user, PERM_WRITE)
    require(user, PERM_SALARY)
    with db.write() as cur:
        w, warnings = _prepare_bases(cur, frame, month)
        changes = w.filter(pl.col("new_category").is_not_null() & (pl.col("new_category") != pl.col("dues_category")))
        if changes.height:
            require(user, "members.write")
        if not commit:
            return ImportResult(0, 0, None, warnings=warnings + [f"将导入 {w.height} 条基数"],
                                category_changes=changes.unique("member_id").height)
        batch = audit.new_batch(cur, user, "dues_bases", f"导入计算基数：{frame.file}（{w.height} 条）")
        imp = cur.execute("INSERT INTO dues_payroll_imports(org_id, month, file_name, row_count, settings_id, redetermine,"
                          " kind, updated_by) VALUES (NULL, ?, ?, ?, ?, ?, 'bases', ?) RETURNING id",
                          [w["month"].min(), frame.file, w.height, _settings(cur)[0], redetermine,
                           user.username]).fetchone()[0]
        audit.record(cur, batch, user, "dues_payroll_imports", imp, "insert", None,
                     audit.rows_json(cur, "dues_payroll_imports", "id", [imp]).get(str(imp)))
        ins, upd = _upsert_bases(cur, user, batch, w.select("member_id", "month", "base_fen", "fixed_fen",
                                                            *(["note"] if "note" in w.columns else [])),
                                 source="import", import_id=imp, redetermine=redetermine)
        latest = changes.sort("month").unique("member_id", keep="last")
        if latest.height:
            _register(cur, "dj_cat", latest.select(pl.col("member_id").cast(pl.Int32), pl.col("new_category")))
            _register(cur, "dj_cat_ids", latest.select(pl.col("member_id").cast(pl.Int64).alias("k")))
            before = _snapshot(cur, "members", "dj_cat_ids")
            cur.execute("UPDATE members AS t SET dues_category = f.new_category, version = t.version + 1,"
                        " updated_at = current_timestamp, updated_by = ? FROM dj_cat f WHERE t.id = f.member_id",
                        [user.username])
            _audit_updates(cur, batch, user, "members", before, _snapshot(cur, "members", "dj_cat_ids"))
    return ImportResult(ins, upd, batch, imp, warnings, latest.height)


def set_base(db, user: User, member_no: str, month, base=None, *, fixed_amount=None, category=None,
             redetermine: bool = False, note: str | None = None) -> ImportResult:
    """One member's base for a month, typed in a form (same checks as the import)."""
    cols = {"党员编号": [str(member_no or "")], "月份": [str(month or "")],
            "计算基数": [None if base in (None, "") else str(base)],
            "固定数额": [None if fixed_amount in (None, "") else str(fixed_amount)],
            "备注": [note or None]}
    if category:
        cols["党员类别"] = [str(category)]
    frame = fileio.Frame(pl.DataFrame(cols, schema={k: pl.String for k in cols}), "登记基数", first_row=1)
    try:
        return import_bases(db, user, frame, redetermine=redetermine, commit=True)
    except BadInput as exc:
        if exc.errors:
            raise BadInput("；".join(f"{e.column}：{e.message}" for e in exc.errors)) from exc
        raise


def set_category(db, user: User, member_no: str, month, category, *, previous=None,
                 note: str | None = None) -> int:
    """Record that a member's dues category is `category` from `month` on (e.g. 在职 → 离退休
    at retirement): the back-calculation and the roll then use each month's own category.
    The first change of a member also records the category before it (`previous`, default
    the register's category when it differs), from the member's admission, so earlier months
    keep theirs. The same month again replaces the row. Returns the audit batch id."""
    require(user, PERM_WRITE)
    m = parse_month(month, "类别变更月份")
    code = dues.normalize_category(category)
    if code is None:
        raise BadInput(f"无法识别的党员类别「{category}」，应为：{'、'.join(dues.CATEGORIES.values())}")
    prev = None
    if previous not in (None, ""):
        prev = dues.normalize_category(previous)
        if prev is None:
            raise BadInput(f"无法识别的此前类别「{previous}」，应为：{'、'.join(dues.CATEGORIES.values())}")
    with db.write() as cur:
        mid, _org, name = _member_by_no(cur, member_no)
        reg, join = cur.execute("SELECT dues_category, join_date FROM members WHERE id = ?", [mid]).fetchone()
        earlier = cur.execute("SELECT count(*) FROM member_categories WHERE member_id = ? AND month < ?",
                              [mid, m]).fetchone()[0]
        first = date(join.year, join.month, 1) if join else date(*dues.FIRST_MONTH, 1)
        first = max(first, date(*dues.FIRST_MONTH, 1))
        rows = [(m, code)]
        if not earlier and m > first:
            prev = prev or (reg if reg != code else None)
            if prev is None:
                raise BadInput(f"党员「{name}」此前没有类别记录，名册中的类别也已是「{dues.CATEGORIES[code]}」："
                               "请填写变更前的类别，以便此前的月份仍按原类别计算")
            rows.insert(0, (first, prev))
        batch = audit.new_batch(cur, user, "member_categories",
                                f"登记党员类别变更：{name} 自 {month_text(m)} 起为{dues.CATEGORIES[code]}")
        for when, cat in rows:
            old = cur.execute("SELECT id FROM member_categories WHERE member_id = ? AND month = ?", [mid, when]).fetchone()
            if old:
                before = audit.rows_json(cur, "member_categories", "id", [old[0]])
                cur.execute("UPDATE member_categories SET category = ?, note = ?, version = version + 1,"
                            " updated_at = current_timestamp, updated_by = ? WHERE id = ?",
                            [cat, note, user.username, old[0]])
                audit.record(cur, batch, user, "member_categories", old[0], "update", before.get(str(old[0])),
                             audit.rows_json(cur, "member_categories", "id", [old[0]]).get(str(old[0])))
            else:
                new_id = cur.execute("INSERT INTO member_categories(member_id, month, category, note, updated_by)"
                                     " VALUES (?, ?, ?, ?, ?) RETURNING id",
                                     [mid, when, cat, note, user.username]).fetchone()[0]
                audit.record(cur, batch, user, "member_categories", new_id, "insert", None,
                             audit.rows_json(cur, "member_categories", "id", [new_id]).get(str(new_id)))
        return batch


def category_history(db, user: User, member_id: int) -> pl.DataFrame:
    """A member's dues category rows (month, category code and label), oldest first."""
    require(user, PERM_READ)
    with db.read() as cur:
        df = cur.sql("SELECT id, month, category, note, updated_by, updated_at FROM member_categories"
                     " WHERE member_id = ? ORDER BY month", params=[int(member_id)]).pl()
    return df.with_columns(_labels("category", dues.CATEGORIES).alias("category_label"))


def base_history(db, user: User, member_id: int) -> pl.DataFrame:
    """A member's base rows, newest first (salary data: salary.read)."""
    require(user, PERM_READ)
    require(user, PERM_SALARY)
    with db.read() as cur:
        return cur.sql("SELECT b.id, strftime(b.month, '%Y-%m') AS month, b.base, b.fixed_amount, b.counted, b.deducted,"
                       " b.tax, b.redetermine, b.source, b.note, b.updated_by, b.updated_at FROM member_bases b"
                       " WHERE b.member_id = ? ORDER BY b.month DESC, b.id DESC", params=[int(member_id)]).pl()


def import_history(db, user: User, limit: int = 50) -> pl.DataFrame:
    require(user, PERM_READ)
    with db.read() as cur:
        return cur.sql("SELECT i.id, i.kind, o.name AS org, strftime(i.month, '%Y-%m') AS month, i.file_name,"
                       " i.row_count, i.settings_id, i.redetermine, i.updated_by, i.updated_at"
                       " FROM dues_payroll_imports i LEFT JOIN orgs o ON o.id = i.org_id ORDER BY i.id DESC LIMIT ?",
                       params=[int(limit)]).pl()


# =======================================================================================
# Arrears: back-calculation over any period (补交)
# =======================================================================================
@dataclass
class BackCalc:
    start: date
    end: date
    settings_id: int
    settings: dues.DuesSettings
    detail: pl.DataFrame     # member_id, month (Date), category, base_fen, due_fen, roll_due_fen, paid_fen,
    #                          back_pay_fen, unpaid, consecutive_unpaid, paid_on
    members: pl.DataFrame    # member_id, member_no, name, org_id, org, street, months, due_total_fen, paid_total_fen,
    #                          arrears_fen, max_consecutive_unpaid, trailing_unpaid, warning, flag_six_months
    orgs: pl.DataFrame       # org_id, org, street, members, due_fen, paid_fen, arrears_fen, owing, warned, flagged, rate
    missing: pl.DataFrame    # member_no, name, org, months: no base / fixed amount in force
    back_pays: pl.DataFrame  # member_no, name, org, paid_on, months, amount_fen, flag (> 6 months)
    rules: dues.RuleHistory | None = None  # the dated rules the months were computed by

    @property
    def counted_end(self) -> date:
        """The last month actually counted: months after this month are not owed yet."""
        return min(self.end, _this_month())


def back_calculate(db, user: User, start, end, *, org_id=None, member_ids=None,
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
            rules = dues.RuleHistory([dues.RulePeriod(0, settings, str(sid), f"第 {sid} 版设置（指定用于所有月份）")])
        scope = _scope(cur, org_id)
        # a year of months at a time: only the compact month rows of the whole period are held
        # at once, not the wide inputs (10 M member-months: a quarter of the peak memory)
        parts = [_month_rows(_inputs(cur, months[i:i + _CHUNK_MONTHS], scope=scope, member_ids=member_ids,
                                     rules=rules), rules)
                 for i in range(0, len(months), _CHUNK_MONTHS)]
        labels = cur.sql("SELECT m.id AS member_id, m.member_no, m.name, m.org_id, o.name AS org, o.street"
                         f" FROM members m JOIN orgs o ON o.id = m.org_id WHERE {_scope_sql(cur, scope, 'm.org_id')}").pl()
        back = _back_payments(cur, first, last, scope, member_ids)
    rows = pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=_ROWS_SCHEMA)
    del parts
    return _assemble(rows, months, first, last, labels, back, rules, settings, sid, user)


_CHUNK_MONTHS = 12


_ROWS_SCHEMA = {"member_id": pl.Int32, "org_id": pl.Int32, "month": pl.Date, "category": _CATEGORY_ENUM,
                "base_fen": pl.Int64, "dues_fen": pl.Int64, "rule": pl.String, "rule_version": pl.String,
                "paid_fen": pl.Int64, "roll_due_fen": pl.Int64, "paid_on": pl.Date, "roll_id": pl.Int64}


def _month_rows(raw: pl.DataFrame, rules: dues.RuleHistory) -> pl.DataFrame:
    """`_inputs` rows → what the back-calculation needs per (member, month), compactly: the
    category of the month (history, else the roll's, else the register's), the base read by
    the month's rule, 应缴 by that rule (null: no base / approved amount), 实缴 and the roll."""
    raw = raw.with_columns(
        base_fen=pl.coalesce("base_fen", "roll_base_fen"),
        farmer_fen=pl.coalesce("roll_fixed_fen", "farmer_fen"),
        member_fixed_fen=pl.coalesce("roll_fixed_fen", "member_fixed_fen"),
        cat_used=pl.coalesce("hist_category", "roll_category", "dues_category"))
    raw = raw.with_columns(base_fen=_base_by_reading(rules, pl.col("month"), pl.col("cat_used")))
    comp = _compute(raw, rules, category="cat_used")
    return comp.select(
        pl.col("member_id").cast(pl.Int32), pl.col("org_id").cast(pl.Int32), "month", "category",
        pl.col("base_fen").cast(pl.Int64), pl.col("dues_fen").cast(pl.Int64), pl.col("rule").cast(pl.String),
        pl.col("rule_version").cast(pl.String), pl.col("paid_fen").fill_null(0).cast(pl.Int64),
        pl.col("roll_due_fen").cast(pl.Int64), "paid_on", pl.col("roll_id").cast(pl.Int64))


def month_rows(db, user: User, month) -> pl.DataFrame:
    """The back-calculation's rows of one month for the whole city (the unit the 欠缴与补交
    page caches: a change of period computes only the months it has not seen, and a write
    recomputes only the months whose inputs changed — see `month_fingerprints`)."""
    return months_rows(db, user, [month])[parse_month(month)]


def months_rows(db, user: User, months) -> dict[date, pl.DataFrame]:
    """`month_rows` of several months in one query (a first visit computes its months at once)."""
    require(user, PERM_READ)
    ms = sorted({parse_month(m) for m in months})
    if not ms:
        return {}
    with db.read() as cur:
        rules = _rule_history(cur)
        raw = _inputs(cur, ms, rules=rules)
    rows = _month_rows(raw, rules)
    parts = {k[0]: v for k, v in rows.partition_by("month", as_dict=True, maintain_order=True).items()}
    return {m: parts.get(m, rows.head(0)) for m in ms}


_GLOBAL_INPUTS = ("members", "member_bases", "member_categories", "dues_settings", "dues_farmer_amounts")


def month_fingerprints(db, user: User, months) -> dict[date, tuple]:
    """A cheap fingerprint of everything a month's back-calculation reads: that month's roll
    rows (count, versions, last change, payments) and the tables every month reads (members,
    bases, categories, settings, farmer amounts: count, versions, last change). Equal
    fingerprints → equal `month_rows`."""
    require(user, PERM_READ)
    ms = [parse_month(m) for m in months]
    with db.read() as cur:
        glob = tuple(cur.execute(f"SELECT count(*), sum(version), max(updated_at) FROM {t}").fetchall()[0]
                     for t in _GLOBAL_INPUTS)
        _register(cur, "dj_fp_months", pl.DataFrame({"month": ms}, schema={"month": pl.Date}))
        per = {r[0]: tuple(r[1:]) for r in cur.execute(
            "SELECT r.month, count(*), sum(r.version), max(r.updated_at), sum(r.paid) FROM dues_roll r"
            " WHERE r.month IN (SELECT month FROM dj_fp_months) GROUP BY r.month").fetchall()}
    return {m: (glob, per.get(m)) for m in ms}


def back_calculate_rows(db, user: User, start, end, rows: list[pl.DataFrame], *, org_id=None) -> BackCalc:
    """`back_calculate` from precomputed `month_rows` of the period's months (the page's
    cached path; the same result)."""
    require(user, PERM_READ)
    months = months_between(start, end)
    first, last = months[0], months[-1]
    months = [m for m in months if m <= _this_month()]
    with db.read() as cur:
        sid, settings = _settings(cur)
        rules = _rule_history(cur)
        scope = _scope(cur, org_id)
        labels = cur.sql("SELECT m.id AS member_id, m.member_no, m.name, m.org_id, o.name AS org, o.street"
                         f" FROM members m JOIN orgs o ON o.id = m.org_id WHERE {_scope_sql(cur, scope, 'm.org_id')}").pl()
        back = _back_payments(cur, first, last, scope, None)
    frame = pl.concat([r for r in rows if r.height], how="vertical") if any(r.height for r in rows) else \
        pl.DataFrame(schema=_ROWS_SCHEMA)
    frame = frame.filter(pl.col("month").is_in(months))
    if scope is not None:
        frame = frame.filter(pl.col("org_id").is_in(scope))
    return _assemble(frame, months, first, last, labels, back, rules, settings, sid, user)


def _assemble(comp: pl.DataFrame, months, first, last, labels, back, rules, settings, sid, user) -> BackCalc:
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
        summ = dues.summarize_arrears(det, settings)
        trailing = det.filter(pl.col("month") == months[-1]).select("member_id", trailing_unpaid="consecutive_unpaid")
        members = (summ.join(trailing, on="member_id", how="left")
                   .with_columns(pl.col("trailing_unpaid").fill_null(0))
                   .join(labels, on="member_id", how="left"))
    else:
        det = pl.DataFrame(schema={"member_id": pl.Int32, "month": pl.Date, "month_index": pl.Int64,
                                   "category": pl.String, "rule": pl.String, "rule_version": pl.String,
                                   "base_used_fen": pl.Int64, "due_fen": pl.Int64, "paid_fen": pl.Int64,
                                   "back_pay_fen": pl.Int64, "unpaid": pl.Boolean, "consecutive_unpaid": pl.Int64,
                                   "base_fen": pl.Int64, "roll_due_fen": pl.Int64, "paid_on": pl.Date,
                                   "roll_id": pl.Int64, "rule_label": pl.String})
        members = pl.DataFrame(schema={"member_id": pl.Int32, "months": pl.Int64, "due_total_fen": pl.Int64,
                                       "paid_total_fen": pl.Int64, "arrears_fen": pl.Int64,
                                       "max_consecutive_unpaid": pl.Int64, "flag_six_months": pl.Boolean,
                                       "warning": pl.String, "trailing_unpaid": pl.Int64, "member_no": pl.String,
                                       "name": pl.String, "org_id": pl.Int32, "org": pl.String, "street": pl.String})
    orgs = (members.group_by("org_id", "org", "street")
            .agg(members=pl.len(), due_fen=pl.col("due_total_fen").sum(), paid_fen=pl.col("paid_total_fen").sum(),
                 arrears_fen=pl.col("arrears_fen").sum(), owing=(pl.col("arrears_fen") > 0).sum(),
                 warned=(pl.col("warning") == "warn").sum(), flagged=(pl.col("warning") == "flag").sum())
            .with_columns(collected_fen=pl.col("due_fen") - pl.col("arrears_fen"))
            .with_columns(rate=_rate_expr())
            .sort("arrears_fen", "org", descending=[True, False]))
    if not user.can(PERM_SALARY):
        det = det.with_columns(base_fen=pl.lit(None, pl.Int64), base_used_fen=pl.lit(None, pl.Int64))
    return BackCalc(first, last, sid, settings, det, members, orgs, missing, back, rules)


def _back_payments(cur, start: date, end: date, scope, member_ids) -> pl.DataFrame:
    """Payments made after their month (补交), grouped by member and date; flag > 6 months."""
    where = [_scope_sql(cur, scope, "r.org_id", "dj_scope_bp")]
    if member_ids is not None:
        _register(cur, "dj_bp_members", _ids_frame(member_ids))
        where.append("r.member_id IN (SELECT k FROM dj_bp_members)")
    df = cur.sql(
        "SELECT m.member_no, m.name, o.name AS org, r.paid_on, count(*) AS months,"
        " CAST(sum(r.paid) * 100 AS BIGINT) AS amount_fen, strftime(min(r.month), '%Y-%m') AS first,"
        " strftime(max(r.month), '%Y-%m') AS last FROM dues_roll r JOIN members m ON m.id = r.member_id"
        " JOIN orgs o ON o.id = r.org_id WHERE r.paid > 0 AND r.paid_on > last_day(r.month)"
        f" AND r.paid_on BETWEEN ? AND ? AND {' AND '.join(where)}"
        " GROUP BY ALL ORDER BY months DESC, r.paid_on DESC", params=[start, month_end(end)]).pl()
    return df.with_columns(flag=dues.back_payment_flag_expr(pl.col("months")))


def warning_list(calc: BackCalc, level: str = "warn") -> pl.DataFrame:
    """Members at a warning level or above ("warn": 3+, "flag": 6+), longest run first."""
    levels = ["flag"] if level == "flag" else ["warn", "flag"]
    return calc.members.filter(pl.col("warning").is_in(levels)).sort(
        ["max_consecutive_unpaid", "arrears_fen"], descending=True)


def member_statement(db, user: User, member_id: int, start, end) -> tuple[dict, pl.DataFrame]:
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
    cols = [pl.col("month").dt.strftime("%Y-%m").alias("月份"), _labels("category", dues.CATEGORIES).alias("党员类别")]
    if with_base:
        cols.append(_dec("base_fen").alias("计算基数"))
    if "rule_label" in detail.columns:
        cols.append(pl.col("rule_label").alias("适用规定"))
    cols += [_dec("due_fen").alias("应缴（按规定）"), _dec("roll_due_fen").alias("花名册应缴"),
             _dec("paid_fen").alias("实缴"), _dec("back_pay_fen").alias("补交"),
             pl.col("paid_on").alias("缴纳日期"), pl.col("consecutive_unpaid").alias("连续未缴月数")]
    return detail.sort("month").select(cols)


def member_statement_xlsx(db, user: User, member_id: int, start, end) -> bytes:
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


def arrears_xlsx(calc: BackCalc) -> bytes:
    return fileio.xlsx_bytes({"按党组织汇总": arrears_orgs_frame(calc),
                              "欠缴党员": arrears_members_frame(calc, calc.members.filter(pl.col("arrears_fen") > 0)
                                                             .sort("arrears_fen", descending=True))})


# =======================================================================================
# Exports
# =======================================================================================
def roll_export_frame(db, user: User, month, *, org_id=None) -> pl.DataFrame:
    """The 党费收缴花名册 of a month with Chinese headers (base only with salary.read)."""
    require(user, PERM_READ)
    m = parse_month(month)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        df = cur.sql("SELECT o.name AS org, mem.member_no, mem.name, r.category, r.base, r.rate_permille, r.due,"
                     " r.paid, r.paid_on, r.method, r.quarterly, r.proxy_name, r.consent, r.note"
                     " FROM dues_roll r JOIN members mem ON mem.id = r.member_id JOIN orgs o ON o.id = r.org_id"
                     f" WHERE r.month = ? AND {_scope_sql(cur, scope, 'r.org_id')} ORDER BY o.name, mem.member_no",
                     params=[m]).pl()
    cols = [pl.int_range(1, pl.len() + 1).alias("序号"), pl.col("org").alias("党组织"),
            pl.col("member_no").alias("党员编号"), pl.col("name").alias("姓名"),
            _labels("category", dues.CATEGORIES).alias("党员类别")]
    if user.can(PERM_SALARY):
        cols.append(pl.col("base").alias("计算基数"))
    cols += [pl.col("rate_permille").replace_strict(dues.RATE_TEXT, default=None, return_dtype=pl.String).alias("费率"),
             pl.col("due").alias("应缴金额"), pl.col("paid").alias("实缴金额"), pl.col("paid_on").alias("缴纳日期"),
             _labels("method", METHODS).alias("缴纳方式"),
             pl.when(pl.col("quarterly")).then(pl.lit("是")).otherwise(pl.lit("")).alias("按季度"),
             pl.col("proxy_name").alias("代缴人"),
             pl.when(pl.col("consent")).then(pl.lit("是")).otherwise(pl.lit("")).alias("支部同意"),
             pl.col("note").alias("备注")]
    return df.select(cols)


def roll_xlsx(db, user: User, month, *, org_id=None) -> bytes:
    m = parse_month(month)
    roll = roll_export_frame(db, user, m, org_id=org_id)
    by_org = roll_by_org(db, user, m, org_id=org_id).select(
        pl.col("org").alias("党组织"), pl.col("street").alias("街道/系统"), pl.col("members").alias("应缴人数"),
        _dec("due_fen").alias("应缴金额"), _dec("paid_fen").alias("实缴金额"), pl.col("unpaid").alias("未缴人数"),
        pl.col("rate").alias("收缴率（%）"))
    return fileio.xlsx_bytes({f"{month_text(m)} 花名册": roll, "按党组织汇总": by_org})


def bank_bill(db, user: User, month, *, org_id=None, only_unpaid: bool = True) -> pl.DataFrame:
    """The bank's collection file: 党员编号, 姓名, 身份证号, 手机号, 应缴金额 (what is still owed),
    所属月份. ID numbers in full only with salary.read, masked otherwise."""
    require(user, PERM_READ)
    m = parse_month(month)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        df = cur.sql("SELECT mem.member_no, mem.name, mem.id_number, mem.phone, r.due - r.paid AS owed, o.name AS org"
                     " FROM dues_roll r JOIN members mem ON mem.id = r.member_id JOIN orgs o ON o.id = r.org_id"
                     f" WHERE r.month = ? AND {_scope_sql(cur, scope, 'r.org_id')}"
                     + (" AND r.paid < r.due" if only_unpaid else " AND r.due > 0")
                     + " ORDER BY o.name, mem.member_no", params=[m]).pl()
    if not user.can(PERM_SALARY):
        df = df.with_columns(pl.col("id_number").map_elements(mask_id_number, return_dtype=pl.String))
    return df.select(pl.col("member_no").alias("党员编号"), pl.col("name").alias("姓名"),
                     pl.col("id_number").alias("身份证号"), pl.col("phone").alias("手机号"),
                     pl.col("owed").cast(pl.Decimal(18, 2)).alias("应缴金额"),
                     pl.lit(month_text(m)).alias("所属月份"), pl.col("org").alias("党组织"))


def bank_bill_xlsx(db, user: User, month, *, org_id=None) -> bytes:
    return fileio.xlsx_bytes({"银行代收": bank_bill(db, user, month, org_id=org_id)})


# =======================================================================================
# Aggregates for charts and the duty-report indicator
# =======================================================================================
def _group_col(by: str) -> str:
    if by not in ("street", "org"):
        raise BadInput(f"未知的分组方式「{by}」")
    return "o.street" if by == "street" else "o.name"


def collection_series(db, user: User, start, end, *, org_id=None, by: str = "street") -> pl.DataFrame:
    """group, month ('YYYY-MM'), members, due_fen, collected_fen, rate (%), per month."""
    require(user, PERM_READ)
    months = months_between(start, end)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        df = cur.sql(f"SELECT {_group_col(by)} AS grp, strftime(r.month, '%Y-%m') AS month, count(*) AS members,"
                     " CAST(sum(r.due) * 100 AS BIGINT) AS due_fen,"
                     " CAST(sum(least(r.paid, r.due)) * 100 AS BIGINT) AS collected_fen"
                     " FROM dues_roll r JOIN orgs o ON o.id = r.org_id"
                     f" WHERE r.month BETWEEN ? AND ? AND {_scope_sql(cur, scope, 'r.org_id')}"
                     " GROUP BY ALL ORDER BY 1, 2", params=[months[0], months[-1]]).pl()
    return df.with_columns(rate=_rate_expr())


def amounts_by_category(db, user: User, start, end, *, org_id=None) -> pl.DataFrame:
    """category (Chinese, natural order), due_fen, paid_fen, member-months."""
    require(user, PERM_READ)
    months = months_between(start, end)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        df = cur.sql("SELECT r.category, CAST(sum(r.due) * 100 AS BIGINT) AS due_fen,"
                     " CAST(sum(r.paid) * 100 AS BIGINT) AS paid_fen, count(*) AS rows FROM dues_roll r"
                     f" WHERE r.month BETWEEN ? AND ? AND {_scope_sql(cur, scope, 'r.org_id')} GROUP BY 1",
                     params=[months[0], months[-1]]).pl()
    order = {c: i for i, c in enumerate(dues.CATEGORY_CODES)}
    return (df.with_columns(pos=pl.col("category").replace_strict(order, default=99, return_dtype=pl.Int64))
            .sort("pos").drop("pos").with_columns(_labels("category", dues.CATEGORIES)))


PROVIDER_WINDOW_MONTHS = 12


def _period_months(period) -> tuple[date, date]:
    """A date → the 12 months ending with its month if it is the month's last day (a closed
    month), else with the month before; 'YYYY-MM' → that month; 'YYYY-Qn' → the quarter;
    'YYYY' → the year."""
    if isinstance(period, datetime):
        period = period.date()
    if isinstance(period, date):
        end = date(period.year, period.month, 1)
        if period != month_end(end):
            end = add_months(end, -1)
        return add_months(end, 1 - PROVIDER_WINDOW_MONTHS), end
    p = str(period or "").strip()
    if len(p) == 4 and p.isdigit():
        return date(int(p), 1, 1), date(int(p), 12, 1)
    if len(p) == 7 and p[4] == "-" and p[5] in "Qq" and p[6] in "1234":
        q = int(p[6])
        return date(int(p[:4]), 3 * q - 2, 1), date(int(p[:4]), 3 * q, 1)
    m = parse_month(p, "统计期间")
    return m, m


def collection_rate_by_org(cur, period) -> pl.DataFrame:
    """Indicator provider for 述职评议 ("dues_collection_rate"): per org (unit_id = orgs.id,
    each org counting its sub-orgs' rolls too) the collection rate in % over `period` — a
    date (as of: the 12 closed months up to it), 'YYYY-MM', 'YYYY-Qn' or 'YYYY' —
    Σ min(实缴, 应缴) ÷ Σ 应缴 × 100, 100 when nothing was due. Orgs with no roll rows in the
    period are absent. Columns unit_id (Int64), value (Float64)."""
    a, b = _period_months(period)
    df = cur.sql("""
        WITH RECURSIVE anc(org_id, unit_id, depth) AS (
            SELECT id, id, 0 FROM orgs
            UNION ALL
            SELECT a.org_id, o.parent_id, a.depth + 1 FROM anc a JOIN orgs o ON o.id = a.unit_id
            WHERE o.parent_id IS NOT NULL AND a.depth < 20
        ), per_org AS (
            SELECT r.org_id, sum(r.due) AS due, sum(least(r.paid, r.due)) AS collected, count(*) AS n
            FROM dues_roll r WHERE r.month BETWEEN ? AND ? GROUP BY 1
        )
        SELECT CAST(a.unit_id AS BIGINT) AS unit_id, CAST(sum(p.due) * 100 AS BIGINT) AS due_fen,
               CAST(sum(p.collected) * 100 AS BIGINT) AS collected_fen
        FROM per_org p JOIN anc a ON a.org_id = p.org_id GROUP BY 1 ORDER BY 1""", params=[a, b]).pl()
    return df.select("unit_id", value=_rate_expr())


# =======================================================================================
# Datasets for 简报图表 and the duty-report provider (registered when those modules exist)
# =======================================================================================
def _dataset_collection(db, user: User) -> pl.DataFrame:
    from . import vocab

    with db.read() as cur:
        df = cur.sql("SELECT o.street, o.name AS org, o.category AS org_category, strftime(r.month, '%Y-%m') AS month,"
                     " CAST(year(r.month) AS BIGINT) AS year, count(*) AS members,"
                     " count(*) FILTER (WHERE r.paid >= r.due) AS paid_members,"
                     " sum(r.due) AS due, sum(least(r.paid, r.due)) AS collected, sum(greatest(r.due - r.paid, 0)) AS arrears"
                     " FROM dues_roll r JOIN orgs o ON o.id = r.org_id GROUP BY ALL").pl()
    return df.with_columns(
        _labels("org_category", vocab.CATEGORIES),
        # yuan as numbers for drawing only (sums are exact DECIMAL in the database)
        *[pl.col(c).cast(pl.Float64) for c in ("due", "collected", "arrears")],
        pl.col("members").cast(pl.Int64), pl.col("paid_members").cast(pl.Int64),
        rate=pl.when(pl.col("due") > 0).then((pl.col("collected") / pl.col("due")).cast(pl.Float64) * 100)
        .otherwise(pl.lit(100.0)).round(2))


def _dataset_category(db, user: User) -> pl.DataFrame:
    with db.read() as cur:
        df = cur.sql("SELECT o.street, r.category, strftime(r.month, '%Y-%m') AS month, CAST(year(r.month) AS BIGINT) AS year,"
                     " count(*) AS members, sum(r.due) AS due, sum(r.paid) AS paid"
                     " FROM dues_roll r JOIN orgs o ON o.id = r.org_id GROUP BY ALL").pl()
    return df.with_columns(_labels("category", dues.CATEGORIES), pl.col("members").cast(pl.Int64),
                           pl.col("due").cast(pl.Float64), pl.col("paid").cast(pl.Float64))


def _register_datasets() -> None:
    try:
        from . import vocab
        from .charts import model as charts
    except ImportError:
        return
    charts.register_dataset(charts.Dataset(
        code="dues_collection",
        label="党费收缴（按党组织和月份）",
        description="每个党组织每月一行：应缴、实缴（不超过应缴的部分）、欠缴金额（元）和人数；"
                    "收缴率 = 实缴 ÷ 应缴（各行的平均值仅供参考，汇总请用金额求和）。仅党费管理员可见。",
        fields=[charts.Field("month", "月份", "ordinal"), charts.Field("street", "街道/系统"),
                charts.Field("org", "党组织"),
                charts.Field("org_category", "党组织类别", order=vocab.order_of(vocab.CATEGORIES)),
                charts.Field("year", "年度", "ordinal"),
                charts.Field("due", "应缴金额", "quantitative", unit="元"),
                charts.Field("collected", "实缴金额", "quantitative", unit="元"),
                charts.Field("arrears", "欠缴金额", "quantitative", unit="元"),
                charts.Field("members", "应缴人数", "quantitative", unit="人"),
                charts.Field("paid_members", "已缴清人数", "quantitative", unit="人"),
                charts.Field("rate", "收缴率", "quantitative", unit="%")],
        loader=_dataset_collection, perm=PERM_READ, tables=("dues_roll", "orgs"), count_label="党组织·月数"))
    charts.register_dataset(charts.Dataset(
        code="dues_by_category",
        label="党费（按党员类别）",
        description="每个街道、党员类别、月份一行：应缴和实缴金额（元）、人次。仅党费管理员可见。",
        fields=[charts.Field("month", "月份", "ordinal"), charts.Field("street", "街道/系统"),
                charts.Field("category", "党员类别", order=list(dues.CATEGORIES.values())),
                charts.Field("year", "年度", "ordinal"),
                charts.Field("due", "应缴金额", "quantitative", unit="元"),
                charts.Field("paid", "实缴金额", "quantitative", unit="元"),
                charts.Field("members", "人次", "quantitative", unit="人次")],
        loader=_dataset_category, perm=PERM_READ, tables=("dues_roll", "orgs"), count_label="行数"))


REPORT_INDICATOR_PROVIDERS = {"dues_collection_rate": collection_rate_by_org}


def _register_provider() -> bool:
    try:
        from .reports import indicators as reports
    except ImportError:
        return False
    if hasattr(reports, "register_provider"):
        reports.register_provider("dues_collection_rate", collection_rate_by_org,
                                  "党费花名册：近 12 个月实缴 ÷ 应缴（含下级党组织）")
        return True
    return False


_register_datasets()
REPORTS_PROVIDER_REGISTERED = _register_provider()


# =======================================================================================
# Demo data
# =======================================================================================
DEMO_PAYROLL_MAPPING = {
    "党员编号": "member_id", "姓名": "name", "职务工资": "counted", "级别工资": "counted",
    "工作性津贴": "counted", "生活性补贴": "counted", "通讯补贴": "ignored", "交通补贴": "ignored",
    "养老保险": "deducted", "医疗保险": "deducted", "职业年金": "deducted", "住房公积金": "deducted",
    "个人所得税": "tax",
}


def _rnd(col: str, salt: int, mod: int) -> pl.Expr:
    """A seeded pseudo-random integer 0 … mod−1 per row (set-based, no Python loop)."""
    return (pl.col(col).hash(seed=salt) % mod).cast(pl.Int64)


def seed_demo(cur, ctx) -> None:
    """Bases, two years (city: three) of monthly rolls with payments, some members behind
    (a few with 3–9 consecutive unpaid months, a few back payments of 8 months at once),
    quarterly and proxy payments, voluntary payments (one of 2000.00, forwarded), farmer
    amounts and one unit's payroll mapping. Set-based: the dues of each member are computed
    once per year (bases change in January: amounts fixed for the year), expanded to months
    in polars and inserted with one INSERT … SELECT per table."""
    n_months = 36 if ctx.scale == "city" else 24
    today = ctx.today
    end = date(today.year, today.month, 1)
    start = add_months(end, 1 - n_months)
    end_i, start_i = end.year * 12 + end.month - 1, start.year * 12 + start.month - 1
    salt = ctx.rng.randrange(1, 2 ** 31)
    sid, settings = _settings(cur)

    # farmer amounts of some rural branches
    orgs = ctx.orgs.select(pl.col("id").cast(pl.Int64), "category", "level")
    farm = (orgs.filter((pl.col("category") == "rural") & (pl.col("level") == "branch"))
            .with_columns(r=_rnd("id", salt + 1, 5)).filter(pl.col("r") < 2)
            .select(pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("id"), pl.col("id").cast(pl.Int32).alias("org_id"),
                    pl.when(pl.col("r") == 0).then(50).otherwise(100).cast(pl.Int64).alias("farmer_fen")))
    if farm.height:
        _register(cur, "demo_farm", farm)
        cur.execute("INSERT INTO dues_farmer_amounts(id, org_id, amount, note, updated_by) SELECT id, org_id,"
                    f" {_d('farmer_fen')}, '支部大会确定（演示）', 'demo' FROM demo_farm")
        cur.unregister("demo_farm")
        cur.execute("SELECT setval('dues_farmer_amounts_seq', (SELECT max(id) FROM dues_farmer_amounts))")

    # members: category, admission month, a seeded first base; one segment per year
    joined = cur.sql("SELECT CAST(id AS BIGINT) AS member_id, CAST(year(join_date) * 12 + month(join_date) - 1 AS BIGINT)"
                     " AS join_i FROM members").pl()
    mem = (ctx.members.select(pl.col("id").cast(pl.Int64).alias("member_id"), pl.col("org_id").cast(pl.Int64),
                              "dues_category")
           .join(joined, on="member_id", how="left")
           .join(farm.select(pl.col("org_id").cast(pl.Int64), "farmer_fen"), on="org_id", how="left")
           .with_columns(r=_rnd("member_id", salt + 2, 1_000_000_000)))
    lo_span = {"employed": (250000, 1350000), "annual_salary": (600000, 2400000),
               "self_employed": (200000, 600000), "retired": (250000, 450000)}
    base0 = pl.lit(None, pl.Int64)
    for cat, (lo, span) in lo_span.items():
        base0 = pl.when(pl.col("dues_category") == cat).then(lo + pl.col("r") % span).otherwise(base0)
    mem = mem.with_columns(base0=base0)
    seg_starts = [start] + [date(y, 1, 1) for y in range(start.year + 1, end.year + 1)]
    segs = pl.DataFrame({"seg": list(range(len(seg_starts))), "seg_month": seg_starts},
                        schema={"seg": pl.Int64, "seg_month": pl.Date})
    per_seg = mem.join(segs, how="cross").with_columns(
        base_fen=pl.col("base0") * (100 + 3 * pl.col("seg")) // 100, member_fixed_fen=pl.lit(None, pl.Int64))
    per_seg = _compute(per_seg, settings).filter(pl.col("dues_fen").is_not_null())

    # base history: each segment's base, and a mid-year raise for some (applies next January)
    based = per_seg.filter(pl.col("base_fen").is_not_null())
    raises = (based.filter(_rnd("member_id", salt + 3, 10) == 0)
              .with_columns(seg_month=pl.date(pl.col("seg_month").dt.year(), 7, 1),
                            base_fen=pl.col("base_fen") * 105 // 100)
              .filter((pl.col("seg_month") > pl.lit(start)) & (pl.col("seg_month") <= pl.lit(end))))
    bases = pl.concat([based.select("member_id", "seg_month", "base_fen"),
                       raises.select("member_id", "seg_month", "base_fen")]).sort("member_id", "seg_month")
    bases = bases.with_columns(deducted_fen=pl.col("base_fen") * 22 // 100, tax_fen=pl.col("base_fen") * 3 // 100)
    bases = bases.with_columns(counted_fen=pl.col("base_fen") + pl.col("deducted_fen") + pl.col("tax_fen"),
                               id=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    _register(cur, "demo_bases", bases)
    cur.execute("INSERT INTO member_bases(id, member_id, month, base, counted, deducted, tax, source, updated_by)"
                f" SELECT id, member_id, seg_month, {_d('base_fen')}, {_d('counted_fen')}, {_d('deducted_fen')},"
                f" {_d('tax_fen')}, 'demo', 'demo' FROM demo_bases")
    cur.unregister("demo_bases")
    cur.execute("SELECT setval('member_bases_seq', (SELECT max(id) FROM member_bases))")

    # the roll: segment dues expanded to months (from admission), then payments
    months = pl.DataFrame({"mi": pl.int_range(start_i, end_i + 1, dtype=pl.Int64, eager=True)}).with_columns(
        seg=pl.when(pl.col("mi") // 12 == start.year).then(0).otherwise(pl.col("mi") // 12 - start.year).cast(pl.Int64))
    # month-major order without sorting: months × segment rows, kept in the left frame's order
    roll = (months.join(per_seg.select("member_id", "org_id", "seg", "category", "base_fen", "fixed_fen",
                                       "rate_permille", "rule", "dues_fen", "join_i"),
                        on="seg", how="inner", maintain_order="left")
            .filter(pl.col("join_i").is_null() | (pl.col("join_i") <= pl.col("mi")))
            .with_columns(key=pl.col("member_id") * 100000 + pl.col("mi"),
                          month=pl.date(pl.col("mi") // 12, pl.col("mi") % 12 + 1, 1)))
    behind = _rnd("member_id", salt + 10, 1000) < 15
    run = 3 + _rnd("member_id", salt + 11, 7)
    big_back = (~behind) & (_rnd("member_id", salt + 12, 1000) < 4)
    quarterly = (~behind) & (~big_back) & (_rnd("member_id", salt + 13, 50) == 0)
    proxy = (~behind) & (_rnd("member_id", salt + 14, 80) == 1)
    r = _rnd("key", salt + 15, 1000)
    current = pl.col("mi") == end_i
    q_first = pl.col("mi") - pl.col("mi") % 3
    q_paid_on = pl.date(q_first // 12, q_first % 12 + 1, 10)
    month_last = pl.col("month").dt.month_end()
    late_on = pl.min_horizontal(month_last + pl.duration(days=10 + _rnd("key", salt + 16, 70)), pl.lit(today))
    day = 3 + _rnd("key", salt + 17, 25)
    ontime_on = pl.date(pl.col("mi") // 12, pl.col("mi") % 12 + 1,
                        pl.when(current).then(pl.min_horizontal(day, pl.lit(today.day, pl.Int64))).otherwise(day))
    bb_month = add_months(end, -6)
    bb_on = pl.lit(date(bb_month.year, bb_month.month, 15))
    status = (pl.when(pl.col("dues_fen") == 0).then(pl.lit("none"))
              .when(behind & (pl.col("mi") >= end_i - run)).then(pl.lit("none"))
              .when(big_back & (pl.col("mi") >= end_i - 14) & (pl.col("mi") <= end_i - 7)).then(pl.lit("bigback"))
              .when(quarterly & (q_paid_on <= pl.lit(today))).then(pl.lit("quarterly"))
              .when(quarterly).then(pl.lit("none"))
              .when(current).then(pl.when(r < 550).then(pl.lit("ontime")).otherwise(pl.lit("none")))
              .when(r < 10).then(pl.lit("none"))
              .when((r < 100) & (month_last < pl.lit(today))).then(pl.lit("late"))
              .otherwise(pl.lit("ontime")))
    roll = roll.with_columns(status=status, proxy=proxy)
    paying = pl.col("status") != "none"
    partial = (pl.col("status") == "ontime") & (_rnd("key", salt + 18, 200) == 0) & (pl.col("dues_fen") >= 2)
    m_code = _rnd("key", salt + 19, 10)
    method = (pl.when(m_code < 3).then(pl.lit("cash")).when(m_code < 6).then(pl.lit("transfer"))
              .when(m_code < 9).then(pl.lit("bank")).otherwise(pl.lit("online")))
    roll = roll.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("id"), "month",
        pl.col("member_id").cast(pl.Int32), pl.col("org_id").cast(pl.Int32), *_roll_values(roll, sid),
        paid_fen=pl.when(~paying).then(0).when(partial).then(pl.col("dues_fen") // 2).otherwise(pl.col("dues_fen")),
        paid_on=pl.when(paying).then(
            pl.when(pl.col("status") == "ontime").then(ontime_on).when(pl.col("status") == "late").then(late_on)
            .when(pl.col("status") == "quarterly").then(q_paid_on).otherwise(bb_on)),
        method=pl.when(paying).then(pl.when(pl.col("proxy") | (pl.col("status") == "bigback")).then(pl.lit("cash"))
                                    .otherwise(method)),
        quarterly=pl.col("status") == "quarterly",
        proxy_name=pl.when(pl.col("proxy") & paying).then(pl.lit("家属代缴")),
        consent=(pl.col("status") == "quarterly") | pl.col("proxy"),
        note=pl.when(pl.col("status") == "bigback").then(pl.lit("外出务工返回后一次补交（演示）")))
    _register(cur, "demo_roll", roll)
    cur.execute("INSERT INTO dues_roll(id, month, member_id, org_id, category, base, fixed_amount, rate_permille, rule,"
                " due, settings_id, paid, paid_on, method, quarterly, proxy_name, consent, note, updated_by)"
                f" SELECT id, month, member_id, org_id, {_ROLL_INSERT_VALUES}, {_d('paid_fen')}, paid_on, method,"
                " quarterly, proxy_name, consent, note, 'demo' FROM demo_roll")
    cur.unregister("demo_roll")
    cur.execute("SELECT setval('dues_roll_seq', (SELECT max(id) FROM dues_roll))")

    # voluntary payments: a few small ones, and one of 2000.00 (forwarded in full)
    vol = (mem.filter(_rnd("member_id", salt + 20, 400) == 0)
           .select("member_id", "org_id", mi=end_i - 1 - _rnd("member_id", salt + 21, n_months - 1),
                   amount_fen=5000 + _rnd("member_id", salt + 22, 45) * 1000))
    big = mem.filter((pl.col("dues_category") == "employed") & (pl.col("join_i") < start_i)).head(1)
    vol = pl.concat([vol, big.select("member_id", "org_id", mi=pl.lit(end_i - 2, pl.Int64),
                                     amount_fen=pl.lit(200000, pl.Int64))])
    if vol.height:
        vol = vol.with_columns(id=pl.int_range(1, pl.len() + 1, dtype=pl.Int32),
                               month=pl.date(pl.col("mi") // 12, pl.col("mi") % 12 + 1, 1),
                               forward=dues.voluntary_payment_flag_expr("amount_fen"))
        _register(cur, "demo_vol", vol.with_columns(paid_on=pl.col("month") + pl.duration(days=14)))
        cur.execute("INSERT INTO dues_voluntary(id, member_id, org_id, month, amount, paid_on, method, forward, note,"
                    f" updated_by) SELECT id, member_id, org_id, month, {_d('amount_fen')}, paid_on, 'transfer', forward,"
                    " CASE WHEN forward THEN '一次性自愿多交，全额上缴中央（演示）' ELSE '自愿多交（演示）' END, 'demo'"
                    " FROM demo_vol")
        cur.unregister("demo_vol")
        cur.execute("SELECT setval('dues_voluntary_seq', (SELECT max(id) FROM dues_voluntary))")

    # one unit's payroll mapping, as if its payroll had been imported once
    organ = ctx.orgs.filter(pl.col("category") == "organ").head(1)
    if organ.height:
        mp = pl.DataFrame({"id": list(range(1, len(DEMO_PAYROLL_MAPPING) + 1)),
                           "column_name": list(DEMO_PAYROLL_MAPPING), "kind": list(DEMO_PAYROLL_MAPPING.values())},
                          schema={"id": pl.Int32, "column_name": pl.String, "kind": pl.String})
        _register(cur, "demo_map", mp)
        cur.execute("INSERT INTO dues_payroll_mappings(id, org_id, column_name, kind, updated_by)"
                    " SELECT id, ?, column_name, kind, 'demo' FROM demo_map", [int(organ["id"][0])])
        cur.unregister("demo_map")
        cur.execute("SELECT setval('dues_payroll_mappings_seq', (SELECT max(id) FROM dues_payroll_mappings))")
