"""述职评议 (duty reports): the database side — sessions, picks, votes, indicators and the
rectification chain. The pure rules (score formula, ranking, vote tally, escalation timing,
effect) are in `reports_rules.py`; this module reads and writes the tables of migration 030
and calls them.

Units are orgs (`unit_id` = `orgs.id`).

* **Indicators** (`report_indicators`: the weighted formula the office tunes; TableSpec
  `INDICATORS_SPEC`) get their values from two places: entered / imported monthly values
  (`report_indicator_values`, TableSpec `VALUES_SPEC`, `import_indicator_values`) and
  providers (`PROVIDERS`, code → ``fn(cur, period) -> pl.DataFrame[unit_id, value]``)
  that compute a value from other tables. A provider's value wins over an entered one for
  the same unit. Other modules plug in with `register_provider`; the optional modules in
  `OPTIONAL_MODULES` are imported once so their registrations run (a module that is
  missing, or fails to import, only leaves its indicator without computed values).
  `compute_scores(cur, as_of)` gives each unit's progress score, its lagging indicators and
  each indicator's contribution.
* **Sessions** (`report_sessions`, TableSpec `SESSIONS_SPEC` for editing dates, themes and
  capacity; `create_year` makes the six default sessions of a year). A session is a draft
  until `publish`; then its picks and arrangements are frozen.
* **Picks** (`report_picks`): `draft_picks` fills the free places by the rule
  (reports_rules.pick_units: lowest progress first, 120-day cool-down, ties by time since
  the last report), keeping what the office locked, swapped in or added; `lock_pick`,
  `swap_pick`, `add_pick` (swap and add need a note); `publish` freezes them and stores
  every unit's score of that moment (`report_session_scores`, read by `effect`).
* **Votes** (`report_votes`): `record_votes`, `import_votes` (a filled 测评表),
  `votes` ranks them within the session.
* **Rectification chain** (`rectification_items`, TableSpec `ITEMS_SPEC`;
  `rectification_escalations`): `add_item`, `close_item`, `board` (overdue items with the
  proposed next level), `confirm_escalations`; printable notices (`*_html`).
* `seed_demo(cur, ctx)` simulates the past sessions through the same scoring and picking
  code, so the demo's picks, votes and effect figures are consistent.

Every write checks `reports.write` and is recorded in one audit batch in the same
transaction (操作记录 can revert it). Messages are Chinese and say what to fix.
"""

from __future__ import annotations

import html
import importlib
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import polars as pl

from . import audit, clock, fileio, tables
from . import reports_rules as rules
from .auth import User, require
from .errors import BadInput, CellError, ConflictError, NotFound
from .tables import Changes, Column, ImportPreview, Issue, TableSpec, register

PERM = "reports.write"

KINDS = {"year_start": "年初述职", "ordinary": "常规述职", "mid_year": "年中述职", "year_end": "年底考评"}
SESSION_STATUS = {"draft": "未发布", "published": "已发布"}
PICK_SOURCES = {"rule": "按规则选定", "swap": "调换调入", "added": "增加"}
PICK_STATUS = {"picked": "入选", "removed": "已调出"}
SOURCES = {"session": "述职评议发现", "supervision": "督查发现"}
DIRECTIONS = {"higher_better": "越高越好", "lower_better": "越低越好"}
LEVEL_NAMES = rules.LEVEL_NAMES
GRADE_LABELS = {"good": "好", "fairly_good": "较好", "average": "一般", "poor": "差"}
MAX_NOTE = 200


def _today(today: date | None) -> date:
    return today or clock.today()


_keys_frame = tables.register_keys


def _has_table(cur, name: str) -> bool:
    return bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
                            " AND schema_name = 'main' AND table_name = ?", [name]).fetchone()[0])


_new_keys = tables.new_keys


def _log(cur, batch: int, user: User, table: str, action: str, keys: Iterable,
         before: dict | None = None, after: dict | None = None) -> None:
    """Audit entries for rows already read as JSON (audit.rows_json) before / after."""
    keys = [str(k) for k in keys]
    if not keys:
        return
    audit.record_many(cur, batch, user, table, pl.DataFrame({
        "row_key": keys, "action": [action] * len(keys),
        "before": [(before or {}).get(k) for k in keys], "after": [(after or {}).get(k) for k in keys],
    }, schema={"row_key": pl.String, "action": pl.String, "before": pl.String, "after": pl.String}))


def _log_inserts(cur, batch, user, table: str, keys: list) -> None:
    _log(cur, batch, user, table, "insert", keys, None, audit.rows_json(cur, table, "id", keys))


def _required_note(note, what: str) -> str:
    text = (note or "").strip()
    if not text:
        raise BadInput(f"{what}必须填写说明（为什么这样调整），说明会随名单一起保存并记入操作记录")
    if len(text) > MAX_NOTE:
        raise BadInput(f"说明太长了：最多 {MAX_NOTE} 个字")
    return text


def _check_version(row: dict, expected, what: str) -> None:
    if expected is not None and int(expected) != int(row["version"]):
        raise ConflictError(f"{what}在您打开页面之后已被别人修改。您的操作没有保存，请刷新页面后再做。")


# =============================================================================================
# Dates and periods
# =============================================================================================
_PERIOD_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:\s*[-/.]\s*\d{1,2}\s*日?)?(?:[ T]00:00(?::00(?:\.0+)?)?)?\s*$")


def period_of(d: date) -> str:
    """The month a date falls in, as 'YYYY-MM'."""
    return f"{d.year:04d}-{d.month:02d}"


def as_of_date(period) -> date:
    """The date a provider computes for: a date as it is; 'YYYY-MM' → the last day of that month."""
    if isinstance(period, datetime):
        return period.date()
    if isinstance(period, date):
        return period
    p = parse_period(period)
    if p is None:
        raise BadInput(f"月份「{period}」无效，应写成 2024-05")
    y, m = int(p[:4]), int(p[5:])
    return (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1))


def parse_period(raw) -> str | None:
    """'2024-05', '2024/5', '2024年5月', '2024-05-01' (an Excel date) → '2024-05'; None if not a month."""
    if raw is None:
        return None
    if isinstance(raw, (date, datetime)):
        return period_of(raw)
    m = _PERIOD_RE.match(str(raw))
    if not m:
        return None
    y, mo = int(m.group(1)), int(m.group(2))
    if not (1 <= mo <= 12 and 1900 <= y <= 2200):
        return None
    return f"{y:04d}-{mo:02d}"


# =============================================================================================
# Indicator providers
# =============================================================================================
Provider = Callable[[object, object], pl.DataFrame]
PROVIDERS: dict[str, Provider] = {}
PROVIDER_SOURCES: dict[str, str] = {}   # code → where the value comes from (Chinese)
PROVIDER_ERRORS: dict[str, str] = {}    # optional module → why it could not be loaded
OPTIONAL_MODULES = ("dues_store", "sites", "observation_store")
MODULE_LABELS = {"dues_store": "党费收缴", "sites": "示范点", "observation_store": "观摩互进"}
_loaded = False
VALUE_SCHEMA = {"unit_id": pl.Int64, "value": pl.Float64}


def register_provider(code: str, fn: Provider, source: str = "") -> None:
    """Plug in a computed indicator: ``fn(cur, period)`` returns `[unit_id, value]` for every
    unit it knows, as of `period` (a `datetime.date`; use `as_of_date(period)` /
    `period_of(...)`), reading only through `cur` (inside the caller's unit of work). A unit
    left out has no value for this indicator (its weight is shared among the others).
    The indicator must also be defined in 指标设置 (`report_indicators`) with this code."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", code):
        raise ValueError(f"bad indicator code {code!r}")
    PROVIDERS[code] = fn
    PROVIDER_SOURCES[code] = source or "自动计算"


def load_providers() -> dict[str, Provider]:
    """Import the optional modules once so that their `register_provider` calls run."""
    global _loaded
    if not _loaded:
        _loaded = True
        for name in OPTIONAL_MODULES:
            try:
                module = importlib.import_module(f"dangjian_core.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"dangjian_core.{name}":
                    PROVIDER_ERRORS[name] = f"缺少模块 {exc.name}"
                continue
            except Exception as exc:  # noqa: BLE001 — another module's bug must not stop this page
                PROVIDER_ERRORS[name] = f"{type(exc).__name__}: {exc}"
                continue
            extra = getattr(module, "REPORT_INDICATOR_PROVIDERS", None)
            if isinstance(extra, dict):
                for code, fn in extra.items():
                    if code not in PROVIDERS:
                        register_provider(code, fn, f"{MODULE_LABELS.get(name, name)}（自动计算）")
    return PROVIDERS


def _empty_values() -> pl.DataFrame:
    return pl.DataFrame(schema=VALUE_SCHEMA)


# An item's deadline in force on a given day: the latest escalation issued by then, or the
# first deadline (the one the first escalation replaced, or the item's own if never escalated).
_EFFECTIVE_DEADLINE = """
SELECT r.id, r.unit_id, r.opened, r.closed,
       coalesce(
         (SELECT e.deadline FROM rectification_escalations e WHERE e.item_id = r.id AND e.issued <= $d
          ORDER BY e.issued DESC, e.id DESC LIMIT 1),
         (SELECT e.from_deadline FROM rectification_escalations e WHERE e.item_id = r.id
          ORDER BY e.issued, e.id LIMIT 1),
         r.deadline) AS deadline
FROM rectification_items r WHERE r.opened <= $d AND (r.closed IS NULL OR r.closed > $d)
"""


def _open_rectifications(cur, period) -> pl.DataFrame:
    d = as_of_date(period)
    return cur.sql("SELECT CAST(o.id AS BIGINT) AS unit_id, CAST(count(r.id) AS DOUBLE) AS value FROM orgs o"
                   " LEFT JOIN rectification_items r ON r.unit_id = o.id AND r.opened <= $d"
                   " AND (r.closed IS NULL OR r.closed > $d) GROUP BY o.id", params={"d": d}).pl()


def _overdue_rectifications(cur, period) -> pl.DataFrame:
    d = as_of_date(period)
    return cur.sql(f"WITH open_items AS ({_EFFECTIVE_DEADLINE}) SELECT CAST(o.id AS BIGINT) AS unit_id,"
                   " CAST(count(i.id) AS DOUBLE) AS value FROM orgs o"
                   " LEFT JOIN open_items i ON i.unit_id = o.id AND i.deadline < $d GROUP BY o.id",
                   params={"d": d}).pl()


def _site_assessment_score(cur, period) -> pl.DataFrame:
    """The latest site assessment total on or before the date (demonstration-site units only)."""
    if not (_has_table(cur, "site_assessments") and _has_table(cur, "sites")):
        return _empty_values()
    d = as_of_date(period)
    return cur.sql("SELECT CAST(s.org_id AS BIGINT) AS unit_id, CAST(a.total AS DOUBLE) AS value"
                   " FROM site_assessments a JOIN sites s ON s.id = a.site_id WHERE a.assessed_on <= ?"
                   " QUALIFY row_number() OVER (PARTITION BY s.org_id ORDER BY a.assessed_on DESC, a.id DESC) = 1",
                   params=[d]).pl()


register_provider("open_rectifications", _open_rectifications, "整改跟踪（未销号事项数）")
register_provider("overdue_rectifications", _overdue_rectifications, "整改跟踪（逾期事项数）")
register_provider("site_assessment_score", _site_assessment_score, "示范点考评（最近一次总分）")


# =============================================================================================
# Table specs (editor, Excel import/export, revert)
# =============================================================================================
def _settings_checks(cur, after: pl.DataFrame, touched: set, deleted: set) -> list[Issue]:
    issues = [Issue(k, "cooldown_days", None, "设置只有一行，不能新增") for k in _new_keys(cur, "report_settings", touched)]
    if deleted:
        issues.append(Issue(None, None, None, "设置不能删除"))
    return issues


SETTINGS_SPEC = register(TableSpec(
    table="report_settings", label="述职评议设置", perm=PERM, natural_key=None,
    columns=[
        Column("cooldown_days", "冷却期（天）", "int", required=True, min=0, max=730, default=rules.COOLDOWN_DAYS,
               help="上次述职距本场不超过这么多天的单位排在最后"),
        Column("default_capacity", "每场名额", "int", required=True, min=1, max=100, default=5),
        Column("minutes_per_unit", "每个单位时长（分钟）", "int", required=True, min=1, max=240, default=15),
        Column("start_time", "开始时间", required=True, max_len=5, default="09:00"),
        Column("escalation_days", "升级后整改期限（天）", "int", required=True, min=1, max=365,
               default=rules.ESCALATION_DAYS),
        Column("issuer", "通知落款", required=True, max_len=60),
        Column("overdue_count", "逾期天数按", "choice", required=True, choices=rules.OVERDUE_COUNTS,
               default="calendar", help="逾期看板的逾期天数按自然日还是工作日计算（工作日只扣除周六、周日）"),
    ],
    checks=[_settings_checks],
))

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _defs_from_frame(df: pl.DataFrame) -> list[rules.IndicatorDef]:
    return [rules.IndicatorDef(r["code"], r["name"], float(r["weight"]), r["direction"], float(r["target"]),
                               float(r["floor"]), r.get("display_unit") or "",
                               None if r.get("max_value") is None else float(r["max_value"]))
            for r in df.sort("position", "id").to_dicts()]


def _check_indicators(cur, after: pl.DataFrame, touched: set, deleted: set) -> list[Issue]:
    issues: list[Issue] = []
    rows = {r["id"]: r for r in after.to_dicts()} if after.height else {}
    for k in touched:
        r = rows[k]
        if r.get("code") and not _CODE_RE.match(str(r["code"])):
            issues.append(Issue(k, "code", r["code"], "指标代码只能用小写英文字母、数字和下划线，并以字母开头（例如 ten_tasks_progress）"))
        if None in (r.get("weight"), r.get("target"), r.get("floor"), r.get("direction"), r.get("name")):
            continue
        try:
            _defs_from_frame(pl.DataFrame([r]))[0].check()
        except BadInput as exc:
            issues.append(Issue(k, "target", None, exc.message))
    # a code that already has values may not be renamed (the values would be orphaned)
    old = _new_keys(cur, "report_indicators", touched)
    existing = [k for k in touched if k not in old]
    if existing:
        _keys_frame(cur, "chk_ind", existing)
        try:
            was = cur.execute("SELECT i.id, i.code, (SELECT count(*) FROM report_indicator_values v WHERE v.indicator = i.code)"
                              " FROM report_indicators i WHERE i.id IN (SELECT k FROM chk_ind)").fetchall()
        finally:
            cur.unregister("chk_ind")
        for k, code, n in was:
            if n and rows[k].get("code") != code:
                issues.append(Issue(k, "code", rows[k].get("code"),
                                    f"指标「{code}」已有 {n} 条数值，代码不能再改（可以改名称）"))
    if after.height and (touched or deleted):
        on = after.filter(pl.col("enabled").fill_null(True))
        total = float(on["weight"].fill_null(0).sum()) if on.height else 0.0
        if on.height == 0:
            issues.append(Issue(next(iter(touched), None), "enabled", None, "至少要启用一个指标，否则无法计算进度分"))
        elif total <= 0:
            issues.append(Issue(next(iter(touched), None), "weight", total,
                                "所有启用指标的权重之和为 0，无法计算进度分：请至少给一个启用的指标设置大于 0 的权重"))
    return issues


def _refuse_delete_indicators(cur, keys: list) -> list[str]:
    _keys_frame(cur, "del_ind", keys)
    try:
        rows = cur.execute("SELECT i.name, count(v.id) FROM report_indicators i JOIN report_indicator_values v"
                           " ON v.indicator = i.code WHERE i.id IN (SELECT k FROM del_ind) GROUP BY i.name").fetchall()
    finally:
        cur.unregister("del_ind")
    return [f"指标「{name}」已有 {n} 条数值，不能删除：不再使用请取消「启用」" for name, n in rows]


def _new_indicator_code() -> str:
    """A code for an indicator added in the editor (the code column is not shown there)."""
    return f"custom_{uuid.uuid4().hex[:12]}"


INDICATORS_SPEC = register(TableSpec(
    table="report_indicators", label="述职指标设置", perm=PERM, natural_key="code", order_by="position, id",
    columns=[
        # the code is the key values and formulas refer to: kept, never shown (people read the
        # name); a new indicator added in the editor gets one made up for it
        Column("code", "指标代码", required=True, unique=True, max_len=40, hidden=True, default=_new_indicator_code),
        Column("name", "指标名称", required=True, unique=True, max_len=40, width="medium"),
        Column("weight", "权重", "decimal", required=True, min=0, max=1000),
        Column("direction", "方向", "choice", required=True, choices=DIRECTIONS),
        Column("target", "目标值（得 100 分）", "decimal", required=True),
        Column("floor", "底线值（得 0 分）", "decimal", required=True),
        Column("display_unit", "单位", max_len=10),
        Column("max_value", "录入上限", "decimal", min=0),
        Column("enabled", "启用", "bool", required=True, default=True),
        Column("position", "顺序", "int", required=True, min=0, max=1000, default=0),
        Column("note", "说明", max_len=200),
    ],
    checks=[_check_indicators],
    delete_checks=[_refuse_delete_indicators],
))


def _indicator_choices() -> dict[str, str]:
    return {d.code: d.name_zh for d in rules.DEFAULT_INDICATORS} | {"election_overdue_months": "换届逾期月数"}


def _check_values(cur, after: pl.DataFrame, touched: set, deleted: set) -> list[Issue]:
    if not touched:
        return []
    issues: list[Issue] = []
    defs = {r[0]: (r[1], r[2]) for r in cur.execute("SELECT code, name, max_value FROM report_indicators").fetchall()}
    t = after.filter(pl.col("id").is_in(list(touched)))
    for r in t.iter_rows(named=True):
        if r["period"] is not None and parse_period(r["period"]) != r["period"]:
            issues.append(Issue(r["id"], "period", r["period"], "月份应写成「2024-05」（四位年份-两位月份）"))
        d = defs.get(r["indicator"])
        if r["indicator"] is not None and d is None:
            issues.append(Issue(r["id"], "indicator", r["indicator"], "没有这个指标：请先在「指标设置」中添加"))
        elif d and d[1] is not None and r["value"] is not None and r["value"] > d[1]:
            issues.append(Issue(r["id"], "value", r["value"], f"「{d[0]}」不能大于 {d[1]:g}"))
    dup = (after.select("id", "unit_id", "indicator", "period")
           .filter(pl.len().over("unit_id", "indicator", "period") > 1)
           .filter(pl.col("id").is_in(list(touched))))
    for r in dup.head(200).iter_rows(named=True):
        issues.append(Issue(r["id"], "period", r["period"],
                            "同一单位、同一指标、同一月份只能有一个数值：与另一行重复了"))
    return issues


VALUES_SPEC = register(TableSpec(
    table="report_indicator_values", label="述职指标数值", perm=PERM, natural_key=None,
    order_by="period DESC, unit_id, indicator",
    columns=[
        Column("unit_id", "单位", "ref", required=True, ref="orgs", width="large"),
        Column("indicator", "指标", "choice", required=True, choices=_indicator_choices()),
        Column("period", "月份", required=True, max_len=7, help="写成 2024-05"),
        Column("value", "数值", "float", required=True, min=0),
        Column("note", "备注", max_len=200),
    ],
    checks=[_check_values],
))


def refresh_indicator_choices(cur) -> dict[str, str]:
    """The value table's 指标 column offers the indicators now defined (code → name)."""
    choices = {c: n for c, n in cur.execute("SELECT code, name FROM report_indicators ORDER BY position, id").fetchall()}
    i = VALUES_SPEC.names.index("indicator")
    if VALUES_SPEC.columns[i].choices != choices:
        old = VALUES_SPEC.columns[i]
        VALUES_SPEC.columns[i] = Column(old.name, old.label, "choice", required=True, choices=choices)
    return choices


def _check_sessions(cur, after: pl.DataFrame, touched: set, deleted: set) -> list[Issue]:
    issues: list[Issue] = []
    new = _new_keys(cur, "report_sessions", touched)
    for k in new:
        issues.append(Issue(k, "session_date", None, "新的述职场次请点「生成年度场次」建立，不能在表格中直接添加"))
    rows = {r["id"]: r for r in after.to_dicts()} if after.height else {}
    by_date: dict = {}
    for k, r in rows.items():
        d = r["session_date"].date() if isinstance(r["session_date"], datetime) else r["session_date"]
        by_date.setdefault(d, []).append(k)
    for k in sorted(touched - new):
        r = rows[k]
        title = r.get("title") or "这一场"
        if r.get("status") == "published":
            issues.append(Issue(k, "session_date", None, f"{title}已发布，安排和名单已冻结，不能再修改；"
                                                       "确需调整请在「操作记录」中撤销发布"))
            continue
        d = r["session_date"].date() if isinstance(r["session_date"], datetime) else r["session_date"]
        if d is not None and r.get("year") and d.year != r["year"]:
            issues.append(Issue(k, "session_date", d, f"{title}应安排在 {r['year']} 年内"))
        others = [o for o in by_date.get(d, []) if o != k]
        if d is not None and others:
            issues.append(Issue(k, "session_date", d, f"与{rows[others[0]].get('title')}日期相同，两场述职不能安排在同一天"))
        cap = r.get("capacity")
        if cap is not None and cap <= 0:
            issues.append(Issue(k, "capacity", cap, "名额数必须大于 0：每场至少安排 1 个单位述职"))
        st = r.get("start_time")
        if st is not None and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(st)):
            issues.append(Issue(k, "start_time", st, "开始时间应写成 24 小时制，例如 09:00 或 14:30"))
    return issues


def _refuse_delete_sessions(cur, keys: list) -> list[str]:
    _keys_frame(cur, "del_sessions", keys)
    try:
        rows = cur.execute("SELECT s.title, s.status, (SELECT count(*) FROM report_picks p WHERE p.session_id = s.id)"
                           " FROM report_sessions s WHERE s.id IN (SELECT k FROM del_sessions)").fetchall()
    finally:
        cur.unregister("del_sessions")
    return [f"{t}{'已发布' if st == 'published' else f'已有 {n} 个入选单位'}，不能删除" for t, st, n in rows
            if st == "published" or n]


SESSIONS_SPEC = register(TableSpec(
    table="report_sessions", label="述职场次", perm=PERM, natural_key="title", order_by="session_date, id",
    columns=[
        Column("title", "场次", editable=False, max_len=40),
        Column("year", "年度", "int", editable=False),
        Column("seq", "序号", "int", editable=False),
        Column("session_date", "日期", "date", required=True),
        Column("kind", "类型", "choice", required=True, choices=KINDS),
        Column("theme", "主题", required=True, max_len=100, width="large"),
        Column("capacity", "名额", "int", required=True, max=100),
        Column("start_time", "开始时间", required=True, max_len=5),
        Column("minutes_per_unit", "每个单位时长（分钟）", "int", required=True, min=1, max=240),
        Column("venue", "地点", max_len=100),
        Column("status", "状态", "choice", choices=SESSION_STATUS, editable=False),
        Column("note", "备注", max_len=200),
    ],
    checks=[_check_sessions],
    delete_checks=[_refuse_delete_sessions],
))


def _check_items(cur, after: pl.DataFrame, touched: set, deleted: set) -> list[Issue]:
    if not touched:
        return []
    issues: list[Issue] = []
    today = clock.today()
    new = _new_keys(cur, "rectification_items", touched)
    t = after.filter(pl.col("id").is_in(list(touched)))
    for r in t.iter_rows(named=True):
        k, opened, deadline, closed = r["id"], r["opened"], r["deadline"], r["closed"]
        if opened is not None and opened > today:
            issues.append(Issue(k, "opened", opened, "下发日期不能晚于今天"))
        if opened is not None and deadline is not None and deadline < opened:
            issues.append(Issue(k, "deadline", deadline, f"整改期限不能早于下发日期（{opened}）"))
        if closed is not None and opened is not None and closed < opened:
            issues.append(Issue(k, "closed", closed, f"销号日期不能早于下发日期（{opened}）：不能在下发之前销号"))
        if closed is not None and closed > today:
            issues.append(Issue(k, "closed", closed, "销号日期不能晚于今天"))
        if k in new and r.get("level") not in (None, 1):
            issues.append(Issue(k, "level", r["level"], "新事项从问题整改意见单（1 级）开始，升级只能在逾期看板中确认"))
        if r.get("source") == "session" and r.get("session_id") is None:
            issues.append(Issue(k, "session_id", None, "来源是述职评议时请选择述职场次", hard=False))
    return issues


def _refuse_delete_items(cur, keys: list) -> list[str]:
    _keys_frame(cur, "del_items", keys)
    try:
        rows = cur.execute("SELECT r.id, o.name, count(e.id) FROM rectification_items r JOIN rectification_escalations e"
                           " ON e.item_id = r.id LEFT JOIN orgs o ON o.id = r.unit_id"
                           " WHERE r.id IN (SELECT k FROM del_items) GROUP BY r.id, o.name").fetchall()
    finally:
        cur.unregister("del_items")
    return [f"「{name}」的第 {k} 号事项已升级过 {n} 次，不能删除：整改完成请销号" for k, name, n in rows]


ITEMS_SPEC = register(TableSpec(
    table="rectification_items", label="整改事项", perm=PERM, natural_key=None, order_by="id",
    columns=[
        Column("unit_id", "单位", "ref", required=True, ref="orgs", width="large"),
        Column("source", "来源", "choice", required=True, choices=SOURCES, default="supervision"),
        Column("session_id", "述职场次", "ref", ref="report_sessions", ref_label="title"),
        Column("problem", "问题", required=True, max_len=500, width="large"),
        Column("measure", "整改措施", max_len=500, width="large"),
        Column("responsible", "责任人", required=True, max_len=50),
        Column("opened", "下发日期", "date", required=True),
        Column("deadline", "整改期限", "date", required=True),
        Column("level", "级别", "int", editable=False, default=1, help="1 整改意见单，2 通报批评单，3 约谈单；只能在逾期看板中确认升级"),
        Column("closed", "销号日期", "date"),
        Column("close_note", "销号说明", max_len=200),
    ],
    checks=[_check_items],
    delete_checks=[_refuse_delete_items],
))

for _table, _label in (("report_picks", "述职名单"), ("report_votes", "测评票"),
                       ("rectification_escalations", "整改升级记录")):
    audit.register_table(_table, _label, "id", PERM)


# =============================================================================================
# Settings and indicator definitions
# =============================================================================================
def _settings(cur) -> dict:
    cur_rows = cur.sql("SELECT * FROM report_settings ORDER BY id LIMIT 1").pl().to_dicts()
    if not cur_rows:
        return {"id": None, "cooldown_days": rules.COOLDOWN_DAYS, "default_capacity": 5, "minutes_per_unit": 15,
                "start_time": "09:00", "escalation_days": rules.ESCALATION_DAYS, "issuer": "党建工作领导小组办公室",
                "overdue_count": "calendar", "version": None}
    return cur_rows[0]


def settings(db) -> dict:
    with db.read() as cur:
        return _settings(cur)


def save_settings(db, user: User, values: dict, version=None) -> tables.SaveResult:
    """Change the settings row through the table write path (validation, audit)."""
    with db.read() as cur:
        s = _settings(cur)
    ch = Changes(updates={s["id"]: dict(values)}, versions={s["id"]: version}, row_numbers={s["id"]: 1})
    return tables.save(db, user, SETTINGS_SPEC, ch, description="修改述职评议设置")


def indicator_defs(cur, *, enabled_only: bool = True) -> list[rules.IndicatorDef]:
    df = cur.sql("SELECT code, name, weight, direction, target, floor, display_unit, max_value, position, id, enabled"
                 " FROM report_indicators").pl()
    if enabled_only:
        df = df.filter(pl.col("enabled"))
    return _defs_from_frame(df)


def indicators(db) -> pl.DataFrame:
    """The indicator settings with where each value comes from (for the settings screen)."""
    load_providers()
    with db.read() as cur:
        df = cur.sql("SELECT i.*, (SELECT count(*) FROM report_indicator_values v WHERE v.indicator = i.code) AS n_values,"
                     " (SELECT max(period) FROM report_indicator_values v WHERE v.indicator = i.code) AS latest_period"
                     " FROM report_indicators i ORDER BY position, id").pl()
    total = float(df.filter(pl.col("enabled"))["weight"].sum() or 0)
    return df.with_columns(
        source=pl.col("code").map_elements(lambda c: PROVIDER_SOURCES.get(c, "录入或导入"), return_dtype=pl.String),
        share=pl.when(pl.col("enabled") & (total > 0)).then(pl.col("weight") / total * 100).otherwise(None),
    )


# =============================================================================================
# Scores
# =============================================================================================
@dataclass
class Scores:
    """Every unit's progress score as of a date. `table`: unit_id, name, street, secretary,
    progress (None: no indicator data), n_indicators, lagging. `contributions`: one row per
    unit and indicator present (reports_rules.indicator_contributions plus name/target/unit).
    `values`: the values used, with `source` (computed / entered)."""

    as_of: date
    defs: list
    table: pl.DataFrame
    contributions: pl.DataFrame
    values: pl.DataFrame
    no_data: int = 0

    def contributions_of(self, unit_id: int) -> pl.DataFrame:
        """Each indicator's part in one unit's score, ready to show."""
        c = self.contributions.filter(pl.col("unit_id") == int(unit_id))
        return c.select(
            pl.col("name_zh").alias("指标"),
            pl.concat_str(rules._num_text(pl.col("value")), pl.col("display_unit")).alias("数值"),
            pl.concat_str(rules._num_text(pl.col("target")), pl.col("display_unit")).alias("目标"),
            pl.col("score").round(1).alias("指标得分"),
            (pl.col("share") * 100).round(1).alias("权重占比%"),
            pl.col("contribution").round(1).alias("贡献分"),
            pl.col("shortfall").round(1).alias("失分"),
            pl.col("source_zh").alias("来源"),
        )


def _units(cur) -> pl.DataFrame:
    return cur.sql("SELECT CAST(id AS BIGINT) AS unit_id, name, street, secretary FROM orgs ORDER BY id").pl()


def indicator_values(cur, as_of: date, defs: list) -> pl.DataFrame:
    """`[unit_id, indicator, value, source]` as of a date: for each enabled indicator the
    provider's value where there is one, else the latest entered value of a month on or
    before `as_of`'s month."""
    load_providers()
    codes = [d.code for d in defs]
    entered = cur.sql(
        "SELECT CAST(unit_id AS BIGINT) AS unit_id, indicator, arg_max(value, period) AS value"
        " FROM report_indicator_values WHERE period <= ? AND indicator IN (SELECT unnest(?)) GROUP BY ALL",
        params=[period_of(as_of), codes]).pl().with_columns(source=pl.lit("entered"))
    parts = []
    for code in codes:
        fn = PROVIDERS.get(code)
        if fn is None:
            continue
        try:
            got = fn(cur, as_of)
        except Exception as exc:  # noqa: BLE001 — a plug-in's failure leaves its indicator without values
            PROVIDER_ERRORS[code] = f"{PROVIDER_SOURCES.get(code, code)}：{type(exc).__name__}: {str(exc)[:160]}"
            continue
        PROVIDER_ERRORS.pop(code, None)
        if got is None or got.height == 0:
            continue
        parts.append(got.select(pl.col("unit_id").cast(pl.Int64), pl.lit(code).alias("indicator"),
                                pl.col("value").cast(pl.Float64), pl.lit("computed").alias("source")))
    computed = pl.concat(parts) if parts else entered.clear()
    computed = computed.filter(pl.col("value").is_not_null() & pl.col("value").is_finite() & (pl.col("value") >= 0)
                               ).unique(["unit_id", "indicator"], keep="first", maintain_order=True)
    entered = entered.join(computed.select("unit_id", "indicator"), on=["unit_id", "indicator"], how="anti")
    return pl.concat([computed, entered]).sort("unit_id", "indicator")


def compute_scores(cur, as_of: date, defs: list | None = None) -> Scores:
    """Each unit's progress score as of `as_of` (reports_rules.progress_scores' formula)."""
    defs = defs if defs is not None else indicator_defs(cur)
    rules.check_defs(defs)
    units = _units(cur)
    vals = indicator_values(cur, as_of, defs).join(units.select("unit_id"), on="unit_id", how="semi")
    weights = pl.DataFrame({"indicator": [d.code for d in defs], "_w": [float(d.weight) for d in defs]})
    vals = (vals.join(weights, on="indicator", how="left")
            .filter(pl.col("_w").sum().over("unit_id") > 0).drop("_w"))
    contrib = rules.indicator_contributions(vals.select("unit_id", "indicator", "value"), defs)
    progress = rules.progress_from_contributions(contrib)
    lag = rules.lagging_reasons(contrib, defs)
    table = (units.join(progress, on="unit_id", how="left", maintain_order="left")
             .join(lag, on="unit_id", how="left", maintain_order="left"))
    d = rules._defs_frame(defs).select("indicator", "name_zh", "target", "floor", "display_unit")
    contrib = (contrib.join(d, on="indicator", how="left", maintain_order="left")
               .join(vals.select("unit_id", "indicator", "source"), on=["unit_id", "indicator"], how="left",
                     maintain_order="left")
               .with_columns(source_zh=pl.when(pl.col("source") == "computed")
                             .then(pl.lit("自动计算")).otherwise(pl.lit("录入/导入"))))
    return Scores(as_of, list(defs), table, contrib, vals, int(table["progress"].null_count()))


def scores(db, as_of: date | None = None) -> Scores:
    with db.read() as cur:
        return compute_scores(cur, as_of or clock.today())


# =============================================================================================
# Sessions
# =============================================================================================
def _session_row(cur, session_id) -> dict:
    try:
        sid = int(session_id)
    except (TypeError, ValueError):
        raise BadInput("请选择述职场次") from None
    rows = cur.sql("SELECT * FROM report_sessions WHERE id = ?", params=[sid]).pl().to_dicts()
    if not rows:
        raise NotFound("找不到这一场述职（可能已被删除），请刷新页面")
    return rows[0]


def session(db, session_id) -> dict:
    with db.read() as cur:
        return _session_row(cur, session_id)


def years(db) -> list[int]:
    with db.read() as cur:
        return [r[0] for r in cur.execute("SELECT DISTINCT year FROM report_sessions ORDER BY year").fetchall()]


def sessions(db, year: int | None = None) -> pl.DataFrame:
    """Sessions (of a year) with their numbers of picked units and of units with votes."""
    with db.read() as cur:
        return cur.sql(
            "SELECT s.*, (SELECT count(*) FROM report_picks p WHERE p.session_id = s.id AND p.status = 'picked') AS n_picked,"
            " (SELECT count(*) FROM report_votes v WHERE v.session_id = s.id) AS n_votes"
            " FROM report_sessions s" + (" WHERE s.year = ?" if year is not None else "")
            + " ORDER BY s.session_date, s.id", params=[int(year)] if year is not None else None).pl()


def session_label(row: dict) -> str:
    d = row["session_date"]
    return f"{row['title']}（{d:%m月%d日}，{KINDS.get(row['kind'], row['kind'])}）"


def create_year(db, user: User, year) -> list[int]:
    """The six default sessions of a year (reports_rules.default_sessions), with the default
    capacity, start time and time per unit from the settings. Returns the new ids."""
    require(user, PERM)
    try:
        y = int(year)
    except (TypeError, ValueError):
        raise BadInput(f"年度「{year}」无效") from None
    if not 2000 <= y <= 2100:
        raise BadInput(f"年度「{y}」无效，应在 2000–2100 之间")
    with db.write() as cur:
        n = cur.execute("SELECT count(*) FROM report_sessions WHERE year = ?", [y]).fetchone()[0]
        if n:
            raise BadInput(f"{y} 年已有 {n} 场述职安排，不能重复生成；日期可在表格中直接修改")
        s = _settings(cur)
        ids = _insert_sessions(cur, y, rules.default_sessions(y), s, user.username)
        batch = audit.new_batch(cur, user, "report_sessions", f"生成 {y} 年述职场次（6 场）")
        _log_inserts(cur, batch, user, "report_sessions", ids)
    return ids


def _insert_sessions(cur, year: int, plan: list, s: dict, who: str, status: str = "draft") -> list[int]:
    ids = [r[0] for r in cur.execute("SELECT nextval('report_sessions_seq') FROM range(?)", [len(plan)]).fetchall()]
    frame = pl.DataFrame({
        "id": ids, "year": [year] * len(plan), "seq": [x.seq for x in plan],
        "title": [f"{year}年第{x.seq}场" for x in plan], "session_date": [x.date for x in plan],
        "kind": [x.kind for x in plan], "theme": [x.theme for x in plan],
    }, schema={"id": pl.Int64, "year": pl.Int64, "seq": pl.Int64, "title": pl.String, "session_date": pl.Date,
               "kind": pl.String, "theme": pl.String})
    cur.register("new_sessions", frame)
    try:
        cur.execute("INSERT INTO report_sessions (id, year, seq, title, session_date, kind, theme, capacity, start_time,"
                    " minutes_per_unit, status, updated_by) SELECT id, year, seq, title, session_date, kind, theme,"
                    " ?, ?, ?, ?, ? FROM new_sessions",
                    [s["default_capacity"], s["start_time"], s["minutes_per_unit"], status, who])
    finally:
        cur.unregister("new_sessions")
    return ids


def update_session(db, user: User, session_id, values: dict, version=None) -> tables.SaveResult:
    """Change a draft session's date, theme, capacity, … (same checks as the table editor)."""
    ch = Changes(updates={int(session_id): dict(values)}, versions={int(session_id): version},
                 row_numbers={int(session_id): 1})
    return tables.save(db, user, SESSIONS_SPEC, ch, description="修改述职场次")


# =============================================================================================
# Picks
# =============================================================================================
def _history(cur) -> pl.DataFrame:
    """Past duty reports: the picked units of published sessions, dated by the session."""
    return cur.sql("SELECT CAST(p.unit_id AS BIGINT) AS unit_id, s.session_date AS date FROM report_picks p"
                   " JOIN report_sessions s ON s.id = p.session_id"
                   " WHERE s.status = 'published' AND p.status = 'picked'").pl()


def _check_draft(s: dict) -> None:
    if s["status"] == "published":
        raise BadInput(f"{s['title']}的名单已发布，已经冻结，不能再调整；确需调整请在「操作记录」中撤销发布")


@dataclass
class Ranking:
    """The rule's full ranking for a session (`ranked`: reports_rules.pick_units columns plus
    street), and notes for the office."""

    session: dict
    as_of: date
    ranked: pl.DataFrame
    notes: list = field(default_factory=list)


def _rank(cur, s: dict, today: date, *, exclude: Iterable = (), capacity: int | None = None,
          sc: Scores | None = None) -> tuple[pl.DataFrame, Scores, list[str]]:
    as_of = min(s["session_date"], today)
    sc = sc or compute_scores(cur, as_of)
    cooldown = int(_settings(cur)["cooldown_days"])
    scored = sc.table.filter(pl.col("progress").is_not_null())
    exclude = list(exclude)
    # the kept units are not picked again, but every reason ranks among all scored units
    units = scored.filter(~pl.col("unit_id").is_in(exclude)) if exclude else scored
    notes = []
    if sc.no_data:
        notes.append(f"有 {sc.no_data} 个单位没有任何指标数据，未参加排序")
    if units.height == 0:
        return pl.DataFrame(), sc, notes + ["没有可排序的单位"]
    n = units.height if capacity is None else rules.check_capacity(capacity)
    ranked = rules.pick_units(scored.select("unit_id", "name", "progress"), _history(cur), s["session_date"], n,
                              cooldown, lagging=sc.table.select("unit_id", "lagging"), exclude=exclude)
    notes += rules.pick_notes(ranked, units.height, n, cooldown) if capacity is not None else []
    ranked = ranked.join(units.select("unit_id", "street"), on="unit_id", how="left", maintain_order="left")
    return ranked, sc, notes


def ranking(db, session_id, today: date | None = None) -> Ranking:
    """Every unit in the rule's order for this session, with the reason in Chinese."""
    with db.read() as cur:
        s = _session_row(cur, session_id)
        ranked, sc, notes = _rank(cur, s, _today(today))
    return Ranking(s, sc.as_of, ranked, notes)


def picks(db, session_id) -> pl.DataFrame:
    """The session's list (picked first, in notice order; then units swapped out)."""
    with db.read() as cur:
        return cur.sql(
            "SELECT p.id, p.unit_id, o.name, o.street, o.secretary, p.status, p.source, p.locked, p.rule_rank,"
            " p.progress, p.reason, p.note, p.replaces_id, p.version, p.updated_by, p.updated_at"
            " FROM report_picks p LEFT JOIN orgs o ON o.id = p.unit_id WHERE p.session_id = ?"
            " ORDER BY p.status = 'removed', p.source = 'added', p.progress NULLS LAST, p.unit_id",
            params=[int(session_id)]).pl().with_columns(
                pl.int_range(1, pl.len() + 1).over("status").alias("order"))


@dataclass
class DraftResult:
    picked: int
    kept: int
    notes: list
    batch_id: int


def draft_picks(db, user: User, session_id, *, today: date | None = None) -> DraftResult:
    """生成/重新生成建议名单: keep locked, swapped-in and added units (and remember units swapped
    out), drop the other rule picks, and fill the free places by the rule."""
    require(user, PERM)
    today = _today(today)
    with db.write() as cur:
        s = _session_row(cur, session_id)
        _check_draft(s)
        rules.check_capacity(int(s["capacity"]))
        rows = cur.sql("SELECT id, unit_id, status, source, locked FROM report_picks WHERE session_id = ?",
                       params=[s["id"]]).pl()
        keep_mask = (pl.col("status") == "removed") | (pl.col("source") != "rule") | pl.col("locked")
        keep, drop = rows.filter(keep_mask), rows.filter(~keep_mask)
        slots = int(s["capacity"]) - keep.filter((pl.col("status") == "picked") & (pl.col("source") != "added")).height
        notes: list[str] = []
        batch = audit.new_batch(cur, user, "report_pick", f"生成述职建议名单：{s['title']}")
        if drop.height:
            ids = drop["id"].to_list()
            before = audit.rows_json(cur, "report_picks", "id", ids)
            _keys_frame(cur, "drop_picks", ids)
            cur.execute("DELETE FROM report_picks WHERE id IN (SELECT k FROM drop_picks)")
            cur.unregister("drop_picks")
            _log(cur, batch, user, "report_picks", "delete", ids, before, None)
        picked = pl.DataFrame()
        if slots > 0:
            picked, _, notes = _rank(cur, s, today, exclude=keep["unit_id"].to_list(), capacity=slots)
        else:
            notes.append(f"锁定和调换的单位已占满 {s['capacity']} 个名额，没有再按规则增选")
        if picked.height:
            ids = [r[0] for r in cur.execute("SELECT nextval('report_picks_seq') FROM range(?)", [picked.height]).fetchall()]
            frame = picked.select(pl.Series("id", ids, dtype=pl.Int64), "unit_id", pl.col("rank").alias("rule_rank"),
                                  "progress", "reason")
            cur.register("new_picks", frame)
            cur.execute("INSERT INTO report_picks (id, session_id, unit_id, status, source, locked, rule_rank, progress,"
                        " reason, updated_by) SELECT id, ?, unit_id, 'picked', 'rule', false, rule_rank, progress, reason, ?"
                        " FROM new_picks", [s["id"], user.username])
            cur.unregister("new_picks")
            _log_inserts(cur, batch, user, "report_picks", ids)
    return DraftResult(picked.height, keep.filter(pl.col("status") == "picked").height, notes, batch)


def _pick_row(cur, pick_id) -> dict:
    rows = cur.sql("SELECT p.*, o.name FROM report_picks p LEFT JOIN orgs o ON o.id = p.unit_id WHERE p.id = ?",
                   params=[int(pick_id)]).pl().to_dicts()
    if not rows:
        raise NotFound("名单中找不到这个单位（名单可能刚被重新生成），请刷新页面")
    return rows[0]


def _update_pick(cur, batch, user, pick_id: int, sets: dict) -> None:
    before = audit.rows_json(cur, "report_picks", "id", [pick_id])
    cols = ", ".join(f"{c} = ?" for c in sets)
    cur.execute(f"UPDATE report_picks SET {cols}, version = version + 1, updated_at = ?, updated_by = ? WHERE id = ?",
                [*sets.values(), clock.now(), user.username, pick_id])
    _log(cur, batch, user, "report_picks", "update", [pick_id], before, audit.rows_json(cur, "report_picks", "id", [pick_id]))


def lock_pick(db, user: User, pick_id, locked: bool = True, note: str | None = None, *, expected_version=None) -> None:
    """Lock a picked unit (it stays when the list is regenerated) or unlock it."""
    require(user, PERM)
    if note is not None and len(note.strip()) > MAX_NOTE:
        raise BadInput(f"说明太长了：最多 {MAX_NOTE} 个字")
    with db.write() as cur:
        p = _pick_row(cur, pick_id)
        s = _session_row(cur, p["session_id"])
        _check_draft(s)
        _check_version(p, expected_version, f"「{p['name']}」")
        if p["status"] != "picked":
            raise BadInput(f"「{p['name']}」已被调出名单，不能锁定")
        batch = audit.new_batch(cur, user, "report_pick", f"{'锁定' if locked else '解除锁定'}述职单位：{s['title']} {p['name']}")
        sets: dict = {"locked": bool(locked)}
        if note and note.strip():
            sets["note"] = note.strip()
        _update_pick(cur, batch, user, p["id"], sets)


def _unit_row(cur, unit_id) -> dict:
    try:
        uid = int(unit_id)
    except (TypeError, ValueError):
        raise BadInput("请选择单位") from None
    row = cur.execute("SELECT id, name FROM orgs WHERE id = ?", [uid]).fetchone()
    if row is None:
        raise NotFound("找不到这个单位（可能已被删除）")
    return {"id": row[0], "name": row[1]}


def _unit_in_session(cur, session_id: int, unit: dict) -> None:
    row = cur.execute("SELECT status FROM report_picks WHERE session_id = ? AND unit_id = ? LIMIT 1",
                      [session_id, unit["id"]]).fetchone()
    if row is not None:
        where = "已在本场名单中" if row[0] == "picked" else "已从本场名单中调出"
        raise BadInput(f"「{unit['name']}」{where}，不能重复加入；如需恢复请在「操作记录」中撤销那次调整")


def _insert_manual_pick(cur, batch, user, s: dict, unit: dict, source: str, note: str, today: date,
                        replaces: dict | None) -> int:
    sc = compute_scores(cur, min(s["session_date"], today))
    row = sc.table.filter(pl.col("unit_id") == unit["id"]).to_dicts()
    progress = row[0]["progress"] if row else None
    lag = row[0]["lagging"] if row else None
    what = f"调换：替换「{replaces['name']}」" if replaces else "办公室增加"
    score = "无指标数据" if progress is None else f"进度分 {progress:g}"
    reason = f"{what}（说明：{note}）；{score}" + (f"；滞后指标：{lag}" if lag and lag != rules.ALL_TARGETS_MET else "")
    pid = cur.execute("SELECT nextval('report_picks_seq')").fetchone()[0]
    cur.execute("INSERT INTO report_picks (id, session_id, unit_id, status, source, locked, progress, reason, note,"
                " replaces_id, updated_by) VALUES (?, ?, ?, 'picked', ?, false, ?, ?, ?, ?, ?)",
                [pid, s["id"], unit["id"], source, progress, reason, note, replaces["id"] if replaces else None,
                 user.username])
    _log_inserts(cur, batch, user, "report_picks", [pid])
    return pid


def swap_pick(db, user: User, pick_id, unit_id, note: str, *, expected_version=None, today: date | None = None) -> int:
    """Replace a picked unit by another (a note is required). Returns the new pick's id."""
    require(user, PERM)
    note = _required_note(note, "调换单位")
    today = _today(today)
    with db.write() as cur:
        p = _pick_row(cur, pick_id)
        s = _session_row(cur, p["session_id"])
        _check_draft(s)
        _check_version(p, expected_version, f"「{p['name']}」")
        if p["status"] != "picked":
            raise BadInput(f"「{p['name']}」已被调出名单")
        if p["locked"]:
            raise BadInput(f"「{p['name']}」已锁定：确需调换请先解除锁定")
        unit = _unit_row(cur, unit_id)
        _unit_in_session(cur, s["id"], unit)
        batch = audit.new_batch(cur, user, "report_pick", f"调换述职单位：{s['title']} {p['name']} → {unit['name']}")
        _update_pick(cur, batch, user, p["id"], {"status": "removed", "locked": False, "note": f"调出：{note}"})
        return _insert_manual_pick(cur, batch, user, s, unit, "added" if p["source"] == "added" else "swap",
                                   note, today, {"id": p["id"], "name": p["name"]})


def add_pick(db, user: User, session_id, unit_id, note: str, *, today: date | None = None) -> int:
    """Add a unit beyond the rule's list (a note is required). Returns the new pick's id."""
    require(user, PERM)
    note = _required_note(note, "增加单位")
    today = _today(today)
    with db.write() as cur:
        s = _session_row(cur, session_id)
        _check_draft(s)
        unit = _unit_row(cur, unit_id)
        _unit_in_session(cur, s["id"], unit)
        batch = audit.new_batch(cur, user, "report_pick", f"增加述职单位：{s['title']} {unit['name']}")
        return _insert_manual_pick(cur, batch, user, s, unit, "added", note, today, None)


@dataclass
class PublishResult:
    picked: int
    scored: int
    batch_id: int


def publish(db, user: User, session_id, *, expected_version=None, today: date | None = None) -> PublishResult:
    """发布名单: freeze the session and its list; store every unit's score of this moment."""
    require(user, PERM)
    today = _today(today)
    with db.write() as cur:
        s = _session_row(cur, session_id)
        _check_draft(s)
        _check_version(s, expected_version, s["title"])
        n = cur.execute("SELECT count(*) FROM report_picks WHERE session_id = ? AND status = 'picked'", [s["id"]]).fetchone()[0]
        if not n:
            raise BadInput(f"{s['title']}还没有述职单位：请先点「生成建议名单」")
        batch = audit.new_batch(cur, user, "report_publish", f"发布述职名单：{s['title']}（{n} 个单位）")
        before = audit.rows_json(cur, "report_sessions", "id", [s["id"]])
        cur.execute("UPDATE report_sessions SET status = 'published', published_at = ?, published_by = ?,"
                    " version = version + 1, updated_at = ?, updated_by = ? WHERE id = ?",
                    [clock.now(), user.username, clock.now(), user.username, s["id"]])
        _log(cur, batch, user, "report_sessions", "update", [s["id"]], before,
             audit.rows_json(cur, "report_sessions", "id", [s["id"]]))
        scored = _snapshot(cur, s["id"], compute_scores(cur, min(s["session_date"], today)))
    return PublishResult(n, scored, batch)


def _snapshot(cur, session_id: int, sc: Scores) -> int:
    t = sc.table.filter(pl.col("progress").is_not_null()).select(
        pl.lit(session_id, dtype=pl.Int64).alias("session_id"), "unit_id", "progress",
        pl.col("n_indicators").cast(pl.Int64), "lagging")
    cur.execute("DELETE FROM report_session_scores WHERE session_id = ?", [session_id])
    cur.register("snap", t)
    cur.execute("INSERT INTO report_session_scores SELECT session_id, unit_id, progress, n_indicators, lagging FROM snap")
    cur.unregister("snap")
    return t.height


def coverage(db, year: int) -> pl.DataFrame:
    """Who reported in the year and who never has (reports_rules.coverage), with streets."""
    with db.read() as cur:
        units = _units(cur)
        hist = _history(cur)
    return rules.coverage(hist, units.select("unit_id", "name", "street"), int(year)).join(
        units.select("unit_id", "street"), on="unit_id", how="left", maintain_order="left")


# =============================================================================================
# The notice
# =============================================================================================
def _clock(start: str, minutes: int) -> str:
    h, m = (int(x) for x in start.split(":"))
    t = h * 60 + m + minutes
    return f"{(t // 60) % 24:02d}:{t % 60:02d}"


def notice(db, session_id) -> tuple[dict, pl.DataFrame]:
    """The session and its notice table: 序号, 单位, 街道/系统, 书记, 述职时间, 述职重点."""
    s = session(db, session_id)
    p = picks(db, session_id).filter(pl.col("status") == "picked")
    start, mins = s["start_time"] or "09:00", int(s["minutes_per_unit"] or 15)
    times = [f"{_clock(start, i * mins)}–{_clock(start, (i + 1) * mins)}" for i in range(p.height)]
    focus = [(_focus(r)) for r in p.iter_rows(named=True)]
    return s, pl.DataFrame({
        "序号": list(range(1, p.height + 1)), "单位": p["name"].to_list(), "街道/系统": p["street"].to_list(),
        "书记": p["secretary"].to_list(), "述职时间": times, "时长（分钟）": [mins] * p.height, "述职重点": focus,
    }, schema={"序号": pl.Int64, "单位": pl.String, "街道/系统": pl.String, "书记": pl.String, "述职时间": pl.String,
               "时长（分钟）": pl.Int64, "述职重点": pl.String})


def _focus(row: dict) -> str:
    reason = row.get("reason") or ""
    m = re.search(r"滞后指标：([^；]*)", reason)
    return f"重点说明：{m.group(1)}" if m else "全面报告党建工作推进情况"


def notice_xlsx(db, session_id) -> bytes:
    s, table = notice(db, session_id)
    info = pl.DataFrame({"项目": ["场次", "日期", "开始时间", "地点", "主题", "每个单位时长（分钟）"],
                         "内容": [s["title"], s["session_date"].isoformat(), s["start_time"], s["venue"] or "另行通知",
                                  s["theme"], str(s["minutes_per_unit"])]})
    return fileio.xlsx_bytes({"述职安排": table, "会议信息": info})


_PRINT_CSS = """
body{font-family:"Noto Serif CJK SC","SimSun","Songti SC",serif;max-width:760px;margin:24px auto;color:#000;line-height:1.8}
h1{font-size:22pt;text-align:center;color:#C8161D;margin:8px 0 4px} .no{text-align:center;margin:0 0 8px}
hr.red{border:0;border-top:2px solid #C8161D;margin:8px 0 20px} p{font-size:14pt;text-indent:2em;margin:6px 0}
table{border-collapse:collapse;width:100%;font-size:12pt;margin:12px 0} th,td{border:1px solid #000;padding:4px 6px}
th{background:#f3f3f3} td:nth-child(3),td:nth-child(4){white-space:nowrap} .sign{text-align:right;margin-top:36px;font-size:14pt} .to{text-indent:0}
@media print{body{margin:0} .noprint{display:none}}
"""


def _doc(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_PRINT_CSS}</style></head><body><div class='noprint' style='text-align:right'>"
            "<button onclick='window.print()'>打印</button></div>" f"{body}</body></html>")


def notice_html(db, session_id) -> str:
    """A printable notice of the session (a whole HTML page; open and print with Ctrl+P)."""
    s, table = notice(db, session_id)
    st = settings(db)
    e = html.escape
    rows = "".join(f"<tr><td>{r['序号']}</td><td>{e(r['单位'] or '')}</td><td>{e(r['书记'] or '')}</td>"
                   f"<td>{e(r['述职时间'])}</td><td>{e(r['述职重点'])}</td></tr>" for r in table.iter_rows(named=True))
    d = s["session_date"]
    body = (f"<h1>关于召开{e(s['title'])}党建述职评议会的通知</h1><hr class='red'>"
            f"<p class='to'>各基层党组织：</p>"
            f"<p>经研究，定于 {d.year} 年 {d.month} 月 {d.day} 日 {e(s['start_time'])} 在{e(s['venue'] or '（地点另行通知）')}"
            f"召开{e(s['title'])}党建述职评议会，主题为「{e(s['theme'])}」。现将有关事项通知如下：</p>"
            f"<p>一、述职单位及顺序（每个单位述职 {s['minutes_per_unit']} 分钟，含点评）：</p>"
            "<table><tr><th style='width:7%'>序号</th><th style='width:26%'>单位</th><th style='width:10%'>书记</th>"
            f"<th style='width:15%'>时间</th><th>述职重点</th></tr>{rows}</table>"
            "<p>二、请述职单位党组织书记本人到会述职，围绕述职重点如实报告工作进展、存在问题和整改措施；"
            "述职后由参会人员按「好、较好、一般、差」进行测评。</p>"
            "<p>三、请各单位于会前 3 个工作日将述职报告书面材料报送办公室。</p>"
            f"<div class='sign'>{e(st['issuer'])}<br>{clock.today():%Y 年 %m 月 %d 日}</div>")
    return _doc(f"{s['title']}述职评议会通知", body)


# =============================================================================================
# Votes
# =============================================================================================
def _vote_session(cur, session_id, today: date) -> dict:
    s = _session_row(cur, session_id)
    if s["status"] != "published":
        raise BadInput(f"{s['title']}的名单还没有发布：发布并召开述职会后才能录入测评票")
    if s["session_date"] > today:
        raise BadInput(f"{s['title']}定于 {s['session_date']} 召开，还没有召开，不能录入测评票")
    return s


def _picked_units(cur, session_id: int) -> dict[int, str]:
    return {r[0]: r[1] for r in cur.execute(
        "SELECT p.unit_id, o.name FROM report_picks p LEFT JOIN orgs o ON o.id = p.unit_id"
        " WHERE p.session_id = ? AND p.status = 'picked'", [session_id]).fetchall()}


KEEP = object()  # "leave the stored value as it is" (a field the user did not give)
_VOTE_FIELDS = ("voters", *rules.GRADE_COLUMNS, "comments")


def _stored_votes(cur, session_id: int) -> dict[int, dict]:
    rows = cur.sql("SELECT id, CAST(unit_id AS BIGINT) AS unit_id, voters, good, fairly_good, average, poor, comments,"
                   " version FROM report_votes WHERE session_id = ?", params=[int(session_id)]).pl().to_dicts()
    return {r["unit_id"]: r for r in rows}


def _vote_changes(stored: dict[int, dict], rows: list[dict]) -> tuple[list[dict], list[dict], int]:
    """(inserts, updates, unchanged): a KEEP field takes the stored value; a row equal to the
    stored one is left alone (no write, no version bump, no history entry)."""
    ins, upd, same = [], [], 0
    for r in rows:
        old = stored.get(r["unit_id"])
        if old is None:
            ins.append({**r, "comments": None if r.get("comments", KEEP) is KEEP else r["comments"]})
            continue
        full = {**r, **{f: old[f] for f in _VOTE_FIELDS if r.get(f, KEEP) is KEEP}}
        if all(full[f] == old[f] for f in _VOTE_FIELDS):
            same += 1
        else:
            upd.append(full)
    return ins, upd, same


def _write_votes(cur, batch, user, session_id: int, rows: list[dict]) -> tuple[int, int]:
    """Insert or update one vote row per unit (rows: unit_id, voters, good, …, comments —
    `KEEP` or a missing field keeps the stored value); only rows that change are written."""
    stored = _stored_votes(cur, session_id)
    existing = {u: r["id"] for u, r in stored.items()}
    ins, upd, _ = _vote_changes(stored, rows)
    now = clock.now()
    if upd:
        keys = [existing[r["unit_id"]] for r in upd]
        before = audit.rows_json(cur, "report_votes", "id", keys)
        frame = pl.DataFrame([{**r, "id": existing[r["unit_id"]]} for r in upd]).select(
            pl.col("id").cast(pl.Int64), *[pl.col(c).cast(pl.Int64) for c in ("voters", *rules.GRADE_COLUMNS)],
            pl.col("comments").cast(pl.String))
        cur.register("upd_votes", frame)
        cur.execute("UPDATE report_votes AS t SET voters = f.voters, good = f.good, fairly_good = f.fairly_good,"
                    " average = f.average, poor = f.poor, comments = f.comments, version = t.version + 1,"
                    " updated_at = ?, updated_by = ? FROM upd_votes f WHERE t.id = f.id", [now, user.username])
        cur.unregister("upd_votes")
        _log(cur, batch, user, "report_votes", "update", keys, before, audit.rows_json(cur, "report_votes", "id", keys))
    if ins:
        ids = [r[0] for r in cur.execute("SELECT nextval('report_votes_seq') FROM range(?)", [len(ins)]).fetchall()]
        frame = pl.DataFrame([{**r, "id": i} for r, i in zip(ins, ids)]).select(
            pl.col("id").cast(pl.Int64), pl.col("unit_id").cast(pl.Int64),
            *[pl.col(c).cast(pl.Int64) for c in ("voters", *rules.GRADE_COLUMNS)], pl.col("comments").cast(pl.String))
        cur.register("ins_votes", frame)
        cur.execute("INSERT INTO report_votes (id, session_id, unit_id, voters, good, fairly_good, average, poor,"
                    " comments, updated_at, updated_by) SELECT id, ?, unit_id, voters, good, fairly_good, average, poor,"
                    " comments, ?, ? FROM ins_votes", [session_id, now, user.username])
        cur.unregister("ins_votes")
        _log_inserts(cur, batch, user, "report_votes", ids)
    return len(ins), len(upd)


def record_votes(db, user: User, session_id, unit_id, good, fairly_good, average, poor, voters,
                 comments=KEEP, *, expected_version: int | None = None, today: date | None = None) -> int | None:
    """Record (or correct) one unit's appraisal votes. A correction writes only what changed:
    `comments` left out (KEEP) keeps the saved 评议意见; an unchanged form writes nothing
    (returns None). `expected_version` is the version the form was filled from (0: no votes
    yet) — a row changed by someone else since refuses the save. Returns the audit batch id."""
    require(user, PERM)
    tally = rules.tally_votes(good, fairly_good, average, poor, voters)
    if comments is not KEEP:
        comments = (comments or "").strip() or None
        if comments and len(comments) > 1000:
            raise BadInput("评议意见太长了：最多 1000 个字")
    with db.write() as cur:
        s = _vote_session(cur, session_id, _today(today))
        unit = _unit_row(cur, unit_id)
        if unit["id"] not in _picked_units(cur, s["id"]):
            raise BadInput(f"「{unit['name']}」不在{s['title']}的述职名单中，不能录入它的测评票")
        old = _stored_votes(cur, s["id"]).get(unit["id"])
        if expected_version is not None and (old["version"] if old else 0) != int(expected_version):
            raise ConflictError(f"「{unit['name']}」的测评票在您打开之后已被别人修改，您的修改没有保存："
                                "请刷新页面，核对最新的票数后再改。")
        row = {"unit_id": unit["id"], "voters": tally.voters, "good": tally.good, "fairly_good": tally.fairly_good,
               "average": tally.average, "poor": tally.poor, "comments": comments}
        ins, upd, _ = _vote_changes({unit["id"]: old} if old else {}, [row])
        if not ins and not upd:
            return None
        batch = audit.new_batch(cur, user, "report_votes",
                                f"{'更正' if old else '录入'}测评票：{s['title']} {unit['name']}")
        _write_votes(cur, batch, user, s["id"], [row])
    return batch


def votes(db, session_id) -> pl.DataFrame:
    """The session's votes with the 好+较好 rate and the rank (reports_rules.rank_votes)."""
    with db.read() as cur:
        v = cur.sql("SELECT v.id, CAST(v.unit_id AS BIGINT) AS unit_id, o.name, v.voters, v.good, v.fairly_good,"
                    " v.average, v.poor, v.comments, v.version FROM report_votes v LEFT JOIN orgs o ON o.id = v.unit_id"
                    " WHERE v.session_id = ? ORDER BY v.unit_id", params=[int(session_id)]).pl()
    if v.height == 0:
        return v.with_columns(good_rate=pl.lit(None, dtype=pl.Float64), rank=pl.lit(None, dtype=pl.Int64))
    return rules.rank_votes(v)


def year_votes(db, year: int) -> pl.DataFrame:
    """The year's roll-up: each unit's votes summed over all its sessions of that year, with
    the 好+较好 rate of the sums, the rank among the year's units and how many sessions."""
    with db.read() as cur:
        v = cur.sql("SELECT CAST(v.unit_id AS BIGINT) AS unit_id, any_value(o.name) AS name,"
                    " CAST(sum(v.voters) AS BIGINT) AS voters, CAST(sum(v.good) AS BIGINT) AS good,"
                    " CAST(sum(v.fairly_good) AS BIGINT) AS fairly_good, CAST(sum(v.average) AS BIGINT) AS average,"
                    " CAST(sum(v.poor) AS BIGINT) AS poor, CAST(count(*) AS BIGINT) AS sessions"
                    " FROM report_votes v JOIN report_sessions s ON s.id = v.session_id"
                    " LEFT JOIN orgs o ON o.id = v.unit_id WHERE s.year = ? GROUP BY v.unit_id ORDER BY v.unit_id",
                    params=[int(year)]).pl()
    if v.height == 0:
        return v.with_columns(good_rate=pl.lit(None, dtype=pl.Float64), rank=pl.lit(None, dtype=pl.Int64))
    return rules.rank_votes(v).sort("rank", "unit_id")


VOTE_HEADERS = {"单位": "name", "参评人数": "voters", "好": "good", "较好": "fairly_good", "一般": "average",
                "差": "poor", "评议意见": "comments"}
_VOTE_ALIASES = {"单位名称": "name", "name": "name", "unit": "name", "unit_id": "unit_id", "单位编号": "unit_id",
                 "voters": "voters", "实到人数": "voters", "good": "good", "fairly_good": "fairly_good",
                 "average": "average", "poor": "poor", "意见": "comments", "comments": "comments", "备注": "comments"}


def vote_sheet_xlsx(db, session_id) -> bytes:
    """A blank 测评表 for the session (one row per unit in notice order), to fill and import."""
    s, table = notice(db, session_id)
    v = votes(db, session_id)
    done = {r["name"]: r for r in v.iter_rows(named=True)} if v.height else {}
    rows = {k: [] for k in VOTE_HEADERS}
    for name in table["单位"].to_list():
        r = done.get(name, {})
        rows["单位"].append(name)
        for zh, code in list(VOTE_HEADERS.items())[1:]:
            rows[zh].append(r.get(code))
    df = pl.DataFrame(rows, schema={"单位": pl.String, "参评人数": pl.Int64, "好": pl.Int64, "较好": pl.Int64,
                                    "一般": pl.Int64, "差": pl.Int64, "评议意见": pl.String})
    return fileio.xlsx_bytes({f"{s['title']}测评表": df})


def _whole(raw):
    """A vote count from a cell: None when blank; an int; or raise ValueError."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        d = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(raw) from None
    if not d.is_finite() or d != d.to_integral_value():
        raise ValueError(raw)
    return int(d)


def import_votes(db, user: User, session_id, frame: fileio.Frame, *, commit: bool = False,
                 today: date | None = None) -> ImportPreview:
    """Import a filled 测评表 (单位, 参评人数, 好, 较好, 一般, 差, 评议意见): every row checked
    (unit in the session's list and not repeated, whole numbers, the four grades adding up to
    the voters), then all rows written as one batch — or nothing, each error by row and column."""
    require(user, PERM)
    today = _today(today)
    rename, errors = {}, []
    for col in frame.df.columns:
        key = VOTE_HEADERS.get(col.strip()) or _VOTE_ALIASES.get(col.strip())
        if key and key not in rename.values():
            rename[col] = key
    for zh, code in VOTE_HEADERS.items():
        if code not in rename.values() and code != "comments" and not (code == "name" and "unit_id" in rename.values()):
            errors.append(CellError(frame.first_row - 1, zh, None,
                                    f"缺少列「{zh}」（测评表需要：单位、参评人数、好、较好、一般、差）"))
    if errors:
        return ImportPreview(0, 0, 0, errors, [])
    with db.read() as cur:
        s = _vote_session(cur, session_id, today)
        in_list = _picked_units(cur, s["id"])
    by_name = {v: k for k, v in in_list.items()}
    labels = {"voters": "参评人数", **GRADE_LABELS}
    rows, seen = [], {}
    for i, raw in enumerate(frame.df.select([pl.col(c).alias(n) for c, n in rename.items()]).iter_rows(named=True)):
        if all(v is None or not str(v).strip() for v in raw.values()):
            continue  # a blank line in the sheet
        row = frame.row_number(i)
        if raw.get("unit_id") not in (None, ""):
            text = str(raw["unit_id"]).strip()
            uid = int(text) if text.isdigit() and int(text) in in_list else None
            if uid is None:
                errors.append(CellError(row, "单位编号", text, f"不是{s['title']}述职名单中的单位"))
        else:
            text = str(raw.get("name") or "").strip()
            uid = by_name.get(text)
            if uid is None:
                errors.append(CellError(row, "单位", text or None,
                                        f"不是{s['title']}述职名单中的单位（请使用导出的测评表，不要改动单位名称）"))
        if uid is not None and uid in seen:
            errors.append(CellError(row, "单位", in_list[uid], f"与第 {seen[uid]} 行是同一单位，重复了"))
        elif uid is not None:
            seen[uid] = row
        nums, ok = {}, True
        for code, zh in labels.items():
            try:
                nums[code] = _whole(raw.get(code))
            except ValueError:
                errors.append(CellError(row, zh, raw.get(code), "票数应为整数"))
                ok = False
                continue
            if nums[code] is None:
                errors.append(CellError(row, zh, None, "必填：没有票请填 0"))
                ok = False
        if ok:
            try:
                t = rules.tally_votes(nums["good"], nums["fairly_good"], nums["average"], nums["poor"], nums["voters"])
            except BadInput as exc:
                errors += [CellError(row, e.column, e.value, e.message) for e in exc.errors]
                ok = False
        comments = raw.get("comments")
        # no 评议意见 column, or a blank cell: the saved 评议意见 stays (a sheet of numbers
        # never wipes what was written about a unit)
        comments = (str(comments).strip() or KEEP) if comments is not None else KEEP
        if comments is not KEEP and len(comments) > 1000:
            errors.append(CellError(row, "评议意见", None, "太长了：最多 1000 个字"))
        if ok and uid is not None:
            rows.append({"unit_id": uid, "voters": t.voters, "good": t.good, "fairly_good": t.fairly_good,
                         "average": t.average, "poor": t.poor, "comments": comments})
    if not errors and not rows:
        errors.append(CellError(frame.first_row, None, None, "文件中没有数据行（表头下面是空的）"))
    if errors:
        errors.sort(key=lambda e: (e.row or 0))
        return ImportPreview(0, 0, 0, errors, [])
    with db.read() as cur:
        ins, upd, same = _vote_changes(_stored_votes(cur, s["id"]), rows)
    preview = ImportPreview(len(ins), len(upd), same, [], [])
    if len(rows) < len(in_list):
        preview.warnings.append(f"名单中还有 {len(in_list) - len(rows)} 个单位没有测评票")
    if not commit:
        return preview
    with db.write() as cur:
        _vote_session(cur, session_id, today)
        ins, upd, _ = _vote_changes(_stored_votes(cur, s["id"]), rows)
        batch = None
        if ins or upd:
            batch = audit.new_batch(cur, user, "report_votes", f"导入测评表：{s['title']}（{frame.file}）")
            _write_votes(cur, batch, user, s["id"], rows)
    preview.committed, preview.batch_id = True, batch
    return preview


# =============================================================================================
# Indicator values import (long or wide files)
# =============================================================================================
class _RowFrame(fileio.Frame):
    """A frame whose rows came from other spreadsheet rows (a wide file made long)."""

    def __init__(self, df, file, first_row, rows):
        super().__init__(df=df, file=file, first_row=first_row)
        self._rows = rows

    def row_number(self, index: int) -> int:
        return self._rows[index] if 0 <= index < len(self._rows) else self.first_row + index


def import_indicator_values(db, user: User, frame: fileio.Frame, *, period=None, commit: bool = False) -> ImportPreview:
    """Import entered indicator values through the table write path (all or nothing).

    Long files: 单位, 指标, 月份, 数值[, 备注]. Wide files: 单位[, 月份] and one column per
    indicator (its name or code) — `period` gives the month when the file has no 月份 column.
    A row for a unit, indicator and month that already has a value updates it."""
    require(user, PERM)
    with db.read() as cur:
        choices = refresh_indicator_choices(cur)
        orgs = dict(cur.execute("SELECT name, id FROM orgs").fetchall())
    by_header = {**{c: c for c in choices}, **{n: c for c, n in choices.items()}}
    df = frame.df.rename({c: c.strip() for c in frame.df.columns})
    unit_col = next((c for c in ("单位", "unit_id", "单位名称", "name") if c in df.columns), None)
    rows = [frame.row_number(i) for i in range(df.height)]
    if "指标" not in df.columns and "indicator" not in df.columns:
        ind_cols = [c for c in df.columns if c in by_header]
        if unit_col is None or not ind_cols:
            return ImportPreview(0, 0, 0, [CellError(frame.first_row - 1, None, None,
                                 "表头应为「单位、指标、月份、数值」，或「单位、月份」加各指标名称（如「10件实事进度」）")], [])
        month_col = next((c for c in ("月份", "period") if c in df.columns), None)
        p = parse_period(period) if period is not None else None
        if month_col is None and p is None:
            return ImportPreview(0, 0, 0, [CellError(frame.first_row - 1, "月份", period,
                                 "文件没有「月份」列：请在页面上选择这些数值所属的月份")], [])
        base = df.with_columns(_row=pl.Series(rows, dtype=pl.Int64),
                               _month=pl.col(month_col).cast(pl.String) if month_col else pl.lit(p))
        long = (base.unpivot(on=ind_cols, index=[unit_col, "_month", "_row"], variable_name="指标", value_name="数值")
                .filter(pl.col("数值").is_not_null() & (pl.col("数值").cast(pl.String).str.strip_chars() != ""))
                .with_columns(pl.col("指标").replace_strict(by_header))
                .sort("_row", maintain_order=True))
        df = long.select(pl.col(unit_col).cast(pl.String).alias("单位"), "指标", pl.col("_month").alias("月份"),
                         pl.col("数值").cast(pl.String))
        rows = long["_row"].to_list()
    # normalise the month, find the row each (unit, indicator, month) already has
    month_src = next((c for c in ("月份", "period") if c in df.columns), None)
    ind_src = next((c for c in ("指标", "indicator") if c in df.columns), None)
    unit_src = next((c for c in ("单位", "unit_id", "单位名称", "name") if c in df.columns), None)
    if month_src:
        df = df.with_columns(pl.col(month_src).map_elements(lambda v: parse_period(v) or v, return_dtype=pl.String))
    if month_src and ind_src and unit_src and df.height:
        uid = [orgs.get(str(v).strip()) if v is not None and str(v).strip() in orgs else
               (int(str(v).strip()) if v is not None and str(v).strip().isdigit() else None) for v in df[unit_src].to_list()]
        codes = [by_header.get(str(v).strip(), str(v).strip()) if v is not None else None for v in df[ind_src].to_list()]
        key = pl.DataFrame({"_i": range(df.height), "unit_id": uid, "indicator": codes,
                            "period": df[month_src].to_list()},
                           schema={"_i": pl.Int64, "unit_id": pl.Int64, "indicator": pl.String, "period": pl.String})
        with db.read() as cur:
            cur.register("imp_keys", key)
            found = cur.sql("SELECT k._i, v.id FROM imp_keys k JOIN report_indicator_values v ON v.unit_id = k.unit_id"
                            " AND v.indicator = k.indicator AND v.period = k.period").pl()
            cur.unregister("imp_keys")
        ids = dict(zip(found["_i"].to_list(), found["id"].to_list()))
        df = df.with_columns(pl.Series("编号", [ids.get(i) for i in range(df.height)], dtype=pl.Int64))
    mapped = _RowFrame(df, frame.file, frame.first_row, rows)
    # a value file is a month's figures, matched by unit, indicator and month (not an export of
    # ours with versions): updating the stored value is what it is for
    return tables.import_frame(db, user, VALUES_SPEC, mapped, commit=commit, confirm_overwrite=True,
                               description=f"导入述职指标数值：{frame.file}")


# =============================================================================================
# Rectification chain
# =============================================================================================
def add_item(db, user: User, *, unit_id, problem: str, responsible: str, opened: date, deadline: date,
             measure: str | None = None, source: str = "supervision", session_id=None) -> int:
    """A problem found (at a session or by supervision) becomes a level-1 item (问题整改意见单)."""
    values = {"unit_id": unit_id, "problem": problem, "responsible": responsible, "opened": opened,
              "deadline": deadline, "measure": measure, "source": source, "session_id": session_id}
    res = tables.save(db, user, ITEMS_SPEC, Changes(inserts=[values], row_numbers={("new", 0): 1}),
                      description=f"新增整改事项：{(problem or '')[:30]}")
    return res.new_keys[0]


def _item_row(cur, item_id) -> dict:
    rows = cur.sql("SELECT r.*, o.name FROM rectification_items r LEFT JOIN orgs o ON o.id = r.unit_id WHERE r.id = ?",
                   params=[int(item_id)]).pl().to_dicts()
    if not rows:
        raise NotFound(f"找不到第 {item_id} 号整改事项（可能已被删除），请刷新页面")
    return rows[0]


def close_item(db, user: User, item_id, closed_on: date, note: str | None = None, *, expected_version=None,
               today: date | None = None) -> None:
    """销号: the item is done on `closed_on` (not before it was opened, not after today)."""
    require(user, PERM)
    today = _today(today)
    if not isinstance(closed_on, date):
        raise BadInput("请填写销号日期")
    with db.read() as cur:
        r = _item_row(cur, item_id)
    rules.check_close(r["opened"], closed_on)
    if closed_on > today:
        raise BadInput(f"销号日期（{closed_on}）不能晚于今天")
    if r["closed"] is not None:
        raise BadInput(f"第 {r['id']} 号事项已于 {r['closed']} 销号")
    ch = Changes(updates={r["id"]: {"closed": closed_on, "close_note": (note or "").strip() or None}},
                 versions={r["id"]: expected_version if expected_version is not None else r["version"]},
                 row_numbers={r["id"]: r["id"]})
    tables.save(db, user, ITEMS_SPEC, ch, kind="rectification_close", description=f"整改销号：{r['name']} 第 {r['id']} 号")


def _items_frame(cur) -> pl.DataFrame:
    return cur.sql("SELECT r.id AS item_id, CAST(r.unit_id AS BIGINT) AS unit_id, r.level, r.opened, r.deadline,"
                   " r.closed FROM rectification_items r").pl()


def items(db, *, status: str = "all") -> pl.DataFrame:
    """Items with unit names and their state (status: all / open / closed)."""
    where = {"all": "", "open": " WHERE r.closed IS NULL", "closed": " WHERE r.closed IS NOT NULL"}[status]
    with db.read() as cur:
        df = cur.sql("SELECT r.*, o.name, o.street, s.title AS session_title FROM rectification_items r"
                     " LEFT JOIN orgs o ON o.id = r.unit_id LEFT JOIN report_sessions s ON s.id = r.session_id"
                     + where + " ORDER BY r.closed IS NOT NULL, r.deadline, r.id").pl()
    today = clock.today()
    return df.with_columns(
        level_name=pl.col("level").cast(pl.String).replace_strict({str(k): v for k, v in LEVEL_NAMES.items()},
                                                                  default=None),
        state=pl.when(pl.col("closed").is_not_null()).then(pl.lit("已销号"))
        .when(pl.col("deadline") < today).then(pl.lit("逾期")).otherwise(pl.lit("整改中")),
    )


def board(db, today: date | None = None) -> pl.DataFrame:
    """逾期看板: open items past their deadline, most days overdue first, with the proposed next
    level (reports_rules.escalation_proposals) and the unit, problem and responsible person."""
    today = _today(today)
    with db.read() as cur:
        it = _items_frame(cur)
        st = _settings(cur)
        days = int(st["escalation_days"])
        count = st.get("overdue_count") or "calendar"
        info = cur.sql("SELECT r.id AS item_id, o.name, o.street, r.problem, r.responsible, r.opened, r.version"
                       " FROM rectification_items r LEFT JOIN orgs o ON o.id = r.unit_id").pl()
    if it.height == 0:
        return pl.DataFrame()
    prop = rules.escalation_proposals(it, today, days, count)
    return prop.join(info, on="item_id", how="left", maintain_order="left")


def counts(db, today: date | None = None) -> dict:
    """Headline figures: open, overdue, and open items at each level."""
    today = _today(today)
    with db.read() as cur:
        r = cur.execute("SELECT count(*) FILTER (WHERE closed IS NULL), count(*) FILTER (WHERE closed IS NULL AND deadline < ?),"
                        " count(*) FILTER (WHERE closed IS NULL AND level = 1), count(*) FILTER (WHERE closed IS NULL AND level = 2),"
                        " count(*) FILTER (WHERE closed IS NULL AND level = 3), count(*) FROM rectification_items",
                        [today]).fetchone()
    return {"open": r[0], "overdue": r[1], "level1": r[2], "level2": r[3], "level3": r[4], "total": r[5]}


def escalation_question(confirm: list[tuple[int, int]]) -> str:
    """The confirmation asked before escalating: how many items become which document,
    e.g. "将升级 3 项整改事项为通报批评单，确认？"."""
    by_level: dict[int, int] = {}
    for _, level in confirm:
        to = int(level) + 1
        by_level[to] = by_level.get(to, 0) + 1
    n = len(confirm)
    if len(by_level) == 1:
        (to, _), = by_level.items()
        return f"将升级 {n} 项整改事项为{LEVEL_NAMES.get(to, '下一级')}，确认？"
    parts = "、".join(f"{k} 项为{LEVEL_NAMES.get(to, '下一级')}" for to, k in sorted(by_level.items()))
    return f"将升级 {n} 项整改事项（{parts}），确认？"


def _issued_at_level(cur, r: dict) -> date:
    """When the item's current document was issued: 下发 for level 1, else its escalation."""
    if int(r["level"]) == 1:
        return r["opened"]
    row = cur.execute("SELECT max(issued) FROM rectification_escalations WHERE item_id = ? AND to_level = ?",
                      [r["id"], int(r["level"])]).fetchone()
    return row[0] if row and row[0] is not None else r["opened"]


def confirm_escalations(db, user: User, confirm: list[tuple[int, int]], *, confirmed_on: date | None = None,
                        today: date | None = None, note: str | None = None) -> int:
    """The office confirms proposals: each (item_id, level it is at now) goes one level up,
    issued on `confirmed_on` (default today) with a new deadline `confirmed_on + 设置的天数`.
    Refused (nothing written) when an item is closed, not yet overdue on that day, already at
    level 3, or was escalated by someone else meanwhile; and for dates: not after today, not
    before the current document was issued, and never so far back that the new deadline has
    already passed (a document overdue at birth). Returns the audit batch id."""
    require(user, PERM)
    today = _today(today)
    confirmed_on = confirmed_on or today
    if not confirm:
        raise BadInput("请先选择要确认升级的事项")
    if confirmed_on > today:
        raise BadInput("确认日期不能晚于今天")
    with db.write() as cur:
        days = int(_settings(cur)["escalation_days"])
        plan, errors = [], []
        for item_id, level in confirm:
            r = _item_row(cur, item_id)
            label = f"「{r['name']}」第 {r['id']} 号事项"
            if r["closed"] is not None:
                errors.append(CellError(None, "事项", r["id"], f"{label}已于 {r['closed']} 销号，不需要升级"))
            elif int(r["level"]) != int(level):
                errors.append(CellError(None, "事项", r["id"], f"{label}已被别人升级为{LEVEL_NAMES[int(r['level'])]}，请刷新页面"))
            elif not r["deadline"] < confirmed_on:
                errors.append(CellError(None, "事项", r["id"], f"{label}的整改期限是 {r['deadline']}，到 {confirmed_on} 还没有逾期，不能升级"))
            elif confirmed_on < r["opened"]:
                errors.append(CellError(None, "事项", r["id"], f"{label}于 {r['opened']} 下发，确认日期不能更早"))
            elif confirmed_on < (issued := _issued_at_level(cur, r)):
                errors.append(CellError(None, "事项", r["id"], f"{label}的{LEVEL_NAMES[int(r['level'])]}于 {issued} 下发，"
                                                               f"升级的确认日期（{confirmed_on}）不能早于它"))
            else:
                try:
                    e = rules.escalate(int(r["level"]), confirmed_on, days)
                except BadInput as exc:
                    errors.append(CellError(None, "事项", r["id"], f"{label}{exc.message}"))
                    continue
                if e.deadline < today:
                    errors.append(CellError(None, "事项", r["id"], (
                        f"{label}按 {confirmed_on} 确认，新的{e.name}整改期限 {e.deadline} 在今天（{today}）之前，"
                        f"下发时就已逾期：确认日期最早填 {today - timedelta(days=days)}，或填今天")))
                    continue
                plan.append((r, e))
        if errors:
            raise BadInput("以下事项不能升级，没有做任何改动：", errors)
        names = "、".join(f"{r['name']}→{e.name}" for r, e in plan[:3]) + ("等" if len(plan) > 3 else "")
        batch = audit.new_batch(cur, user, "rectification_escalate", f"确认整改升级 {len(plan)} 项：{names}")
        ids = [r[0] for r in cur.execute("SELECT nextval('rectification_escalations_seq') FROM range(?)",
                                         [len(plan)]).fetchall()]
        keys = [r["id"] for r, _ in plan]
        before = audit.rows_json(cur, "rectification_items", "id", keys)
        now = clock.now()
        for eid, (r, e) in zip(ids, plan):
            cur.execute("INSERT INTO rectification_escalations (id, item_id, from_level, to_level, issued, deadline,"
                        " from_deadline, days_overdue, note, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [eid, r["id"], r["level"], e.level, e.issued, e.deadline, r["deadline"],
                         (confirmed_on - r["deadline"]).days, (note or "").strip() or None, now, user.username])
            cur.execute("UPDATE rectification_items SET level = ?, deadline = ?, version = version + 1, updated_at = ?,"
                        " updated_by = ? WHERE id = ?", [e.level, e.deadline, now, user.username, r["id"]])
        _log_inserts(cur, batch, user, "rectification_escalations", ids)
        _log(cur, batch, user, "rectification_items", "update", keys, before,
             audit.rows_json(cur, "rectification_items", "id", keys))
    return batch


def escalations(db, item_id) -> pl.DataFrame:
    with db.read() as cur:
        return cur.sql("SELECT * FROM rectification_escalations WHERE item_id = ? ORDER BY issued, id",
                       params=[int(item_id)]).pl()


def documents(db, item_id) -> list[dict]:
    """The documents issued for an item: level, name, issued, deadline (level 1 first)."""
    with db.read() as cur:
        r = _item_row(cur, item_id)
    esc = escalations(db, item_id).to_dicts()
    first_deadline = esc[0]["from_deadline"] if esc else r["deadline"]
    docs = [{"level": 1, "name": LEVEL_NAMES[1], "issued": r["opened"], "deadline": first_deadline, "days_overdue": None}]
    docs += [{"level": e["to_level"], "name": LEVEL_NAMES[e["to_level"]], "issued": e["issued"], "deadline": e["deadline"],
              "days_overdue": e["days_overdue"]} for e in esc]
    return docs


def rectification_notice_html(db, item_id, level: int) -> str:
    """A printable 问题整改意见单 / 通报批评单 / 主要领导约谈单 for an item at that level."""
    with db.read() as cur:
        r = _item_row(cur, item_id)
        st = _settings(cur)
    doc = next((d for d in documents(db, item_id) if d["level"] == int(level)), None)
    if doc is None:
        raise BadInput(f"第 {r['id']} 号事项还没有下发{LEVEL_NAMES.get(int(level), '这一级通知')}")
    e = html.escape
    dl = doc["deadline"]
    head = f"<h1>{e(doc['name'])}</h1><div class='no'>整改〔{doc['issued'].year}〕第 {r['id']:04d}-{doc['level']} 号</div><hr class='red'>"
    facts = (f"<table><tr><th style='width:22%'>单位</th><td>{e(r['name'] or '')}</td></tr>"
             f"<tr><th>发现的问题</th><td>{e(r['problem'])}</td></tr>"
             f"<tr><th>整改措施要求</th><td>{e(r['measure'] or '请制定具体整改措施')}</td></tr>"
             f"<tr><th>责任人</th><td>{e(r['responsible'])}</td></tr>"
             f"<tr><th>整改期限</th><td>{dl.year} 年 {dl.month} 月 {dl.day} 日前</td></tr></table>")
    to = f"<p class='to'>{e(r['name'] or '')}：</p>"
    if doc["level"] == 1:
        text = "<p>经督查，你单位党建工作存在以下问题，现下发问题整改意见单，请认真研究、逐项整改，并于期限内将整改情况书面报送。</p>"
    elif doc["level"] == 2:
        text = (f"<p>你单位对问题整改意见单所列问题逾期 {doc['days_overdue']} 天仍未整改到位。经研究，现予通报批评，"
                "请党组织书记切实履行第一责任人职责，于下列期限内整改到位并书面报告。</p>")
    else:
        text = (f"<p>你单位对通报批评所列问题逾期 {doc['days_overdue']} 天仍未整改到位。经研究，定于近期对你单位主要负责同志"
                "进行约谈，请做好准备，并于下列期限内整改到位。</p>")
    sign = f"<div class='sign'>{e(st['issuer'])}<br>{doc['issued']:%Y 年 %m 月 %d 日}</div>"
    return _doc(f"{doc['name']}-{r['name']}", head + to + text + facts + sign)


# =============================================================================================
# Effect
# =============================================================================================
def _session_scores(cur) -> tuple[pl.DataFrame, pl.DataFrame]:
    scores_ = cur.sql("SELECT s.session_date, CAST(x.unit_id AS BIGINT) AS unit_id, x.progress FROM report_session_scores x"
                      " JOIN report_sessions s ON s.id = x.session_id WHERE s.status = 'published'").pl()
    return scores_, _history(cur)


def effect(db) -> pl.DataFrame:
    """Each report: the unit's score when it was picked and at the next two sessions
    (reports_rules.report_effect), with the unit's name."""
    with db.read() as cur:
        sc, hist = _session_scores(cur)
        names = _units(cur).select("unit_id", "name", "street")
    if sc.height == 0 or hist.height == 0:
        return pl.DataFrame()
    return rules.report_effect(sc, hist).join(names, on="unit_id", how="left", maintain_order="left")


def effect_by_session(db) -> pl.DataFrame:
    """Did reporting help? For each published session: the mean change of score to the next
    session for the units that reported there and for all the others (the comparison)."""
    with db.read() as cur:
        sc, hist = _session_scores(cur)
    if sc.height == 0:
        return pl.DataFrame()
    order = sc.select("session_date").unique().sort("session_date").with_columns(_k=pl.int_range(pl.len()))
    s = sc.join(order, on="session_date")
    nxt = s.select("unit_id", (pl.col("_k") - 1).alias("_k"), pl.col("progress").alias("_next"))
    reported = hist.rename({"date": "session_date"}).with_columns(reported=pl.lit(True)).unique(["unit_id", "session_date"])
    out = (s.join(nxt, on=["unit_id", "_k"], how="inner")
           .join(reported, on=["unit_id", "session_date"], how="left")
           .with_columns(pl.col("reported").fill_null(False), change=pl.col("_next") - pl.col("progress"))
           .group_by("session_date", "reported")
           .agg(mean_change=pl.col("change").mean().round(2), units=pl.len())
           .with_columns(group=pl.when(pl.col("reported")).then(pl.lit("述职单位")).otherwise(pl.lit("其他单位")))
           .sort("session_date", "group"))
    return out


# =============================================================================================
# Datasets for 简报图表 (registered when the charts module exists)
# =============================================================================================
def _label(col: str, mapping: dict) -> pl.Expr:
    return pl.col(col).replace_strict(mapping, default=pl.col(col), return_dtype=pl.String)


SCORE_BANDS = ["60 分以下", "60–70 分", "70–80 分", "80–90 分", "90 分以上"]


def _dataset_scores(db, user: User) -> pl.DataFrame:
    from .vocab import CATEGORIES, TIERS

    sc = scores(db)
    with db.read() as cur:
        orgs = cur.sql("SELECT CAST(id AS BIGINT) AS unit_id, category, tier FROM orgs").pl()
    t = sc.table.filter(pl.col("progress").is_not_null()).join(orgs, on="unit_id", how="left")
    band = (pl.when(pl.col("progress") < 60).then(pl.lit(SCORE_BANDS[0])).when(pl.col("progress") < 70)
            .then(pl.lit(SCORE_BANDS[1])).when(pl.col("progress") < 80).then(pl.lit(SCORE_BANDS[2]))
            .when(pl.col("progress") < 90).then(pl.lit(SCORE_BANDS[3])).otherwise(pl.lit(SCORE_BANDS[4])))
    return t.select(pl.col("name").alias("unit"), "street", _label("category", CATEGORIES).alias("category"),
                    _label("tier", TIERS).alias("tier"), band.alias("band"), "progress",
                    pl.col("n_indicators").cast(pl.Int64))


def _dataset_votes(db, user: User) -> pl.DataFrame:
    from .vocab import CATEGORIES

    with db.read() as cur:
        v = cur.sql("SELECT s.title AS session, s.session_date, CAST(s.year AS BIGINT) AS year, o.name AS unit,"
                    " o.street, o.category, CAST(v.voters AS BIGINT) AS voters, CAST(v.good AS BIGINT) AS good,"
                    " CAST(v.fairly_good AS BIGINT) AS fairly_good, CAST(v.average AS BIGINT) AS average,"
                    " CAST(v.poor AS BIGINT) AS poor FROM report_votes v JOIN report_sessions s ON s.id = v.session_id"
                    " LEFT JOIN orgs o ON o.id = v.unit_id ORDER BY s.session_date, o.name").pl()
    return v.with_columns(_label("category", CATEGORIES),
                          good_rate=((pl.col("good") + pl.col("fairly_good")) * 100.0 / pl.col("voters")).round(1)
                          ).drop("session_date")


def _dataset_items(db, user: User) -> pl.DataFrame:
    from .vocab import CATEGORIES

    today = clock.today()
    with db.read() as cur:
        df = cur.sql("SELECT strftime(r.opened, '%Y-%m') AS month, CAST(year(r.opened) AS BIGINT) AS year, o.street,"
                     " o.category, r.source, r.level, r.deadline, r.closed FROM rectification_items r"
                     " LEFT JOIN orgs o ON o.id = r.unit_id").pl()
    return df.select(
        "month", "year", "street", _label("category", CATEGORIES).alias("category"),
        _label("source", SOURCES).alias("source"),
        pl.col("level").cast(pl.String).replace_strict({str(k): v for k, v in LEVEL_NAMES.items()}, default=None).alias("level"),
        pl.when(pl.col("closed").is_not_null()).then(pl.lit("已销号")).when(pl.col("deadline") < today)
        .then(pl.lit("逾期")).otherwise(pl.lit("整改中")).alias("state"),
        pl.when(pl.col("closed").is_null() & (pl.col("deadline") < today))
        .then((pl.lit(today) - pl.col("deadline")).dt.total_days()).otherwise(0).cast(pl.Int64).alias("days_overdue"))


def _register_datasets() -> None:
    try:
        from . import vocab
        from .charts import model as charts
    except ImportError:
        return
    F = charts.Field
    charts.register_dataset(charts.Dataset(
        code="report_scores", label="述职评议进度分（各单位当前）",
        description="每个单位一行：按「进度分与指标」中的公式算出的当前进度分（0–100）、分数段和有数据的指标数。",
        fields=[F("unit", "单位"), F("street", "街道/系统"), F("category", "类别", order=vocab.order_of(vocab.CATEGORIES)),
                F("tier", "评定等次", order=vocab.order_of(vocab.TIERS)), F("band", "进度分段", "ordinal", order=SCORE_BANDS),
                F("progress", "进度分", "quantitative", unit="分"), F("n_indicators", "指标数", "quantitative", unit="项")],
        loader=_dataset_scores, tables=("report_indicators", "report_indicator_values", "orgs"), count_label="单位数"))
    charts.register_dataset(charts.Dataset(
        code="report_votes", label="述职测评结果",
        description="每场述职每个单位一行：参评人数和好、较好、一般、差的票数，好+较好率（%）。",
        fields=[F("session", "场次", "ordinal"), F("year", "年度", "ordinal"), F("unit", "单位"),
                F("street", "街道/系统"), F("category", "类别", order=vocab.order_of(vocab.CATEGORIES)),
                F("good_rate", "好+较好率", "quantitative", unit="%"), F("voters", "参评人数", "quantitative", unit="人"),
                F("good", "好", "quantitative", unit="票"), F("fairly_good", "较好", "quantitative", unit="票"),
                F("average", "一般", "quantitative", unit="票"), F("poor", "差", "quantitative", unit="票")],
        loader=_dataset_votes, tables=("report_votes", "report_sessions", "orgs"), count_label="单位·场次数"))
    charts.register_dataset(charts.Dataset(
        code="rectification_items", label="整改事项",
        description="每个整改事项一行：下发月份、来源、当前级别（整改意见单/通报批评单/约谈单）、状态和逾期天数。",
        fields=[F("month", "下发月份", "ordinal"), F("year", "年度", "ordinal"), F("street", "街道/系统"),
                F("category", "类别", order=vocab.order_of(vocab.CATEGORIES)),
                F("source", "来源", order=list(SOURCES.values())),
                F("level", "级别", "ordinal", order=list(LEVEL_NAMES.values())),
                F("state", "状态", order=["整改中", "逾期", "已销号"]),
                F("days_overdue", "逾期天数", "quantitative", unit="天")],
        loader=_dataset_items, tables=("rectification_items", "orgs"), count_label="事项数"))


_register_datasets()


# =============================================================================================
# Demo data
# =============================================================================================
DEMO_PROBLEMS = [
    ("“三会一课”记录不全，组织生活会会前谈心谈话不充分", "建立“三会一课”台账，按月检查，补齐记录"),
    ("党费收缴不及时，有党员连续 3 个月未交", "逐人谈话提醒，建立党费收缴月报制度"),
    ("10件实事推进缓慢，部分项目未明确责任人", "细化项目清单，明确责任人和时间节点"),
    ("党员活动阵地利用率低，活动记录缺失", "制定阵地开放和活动计划，每月至少开展 2 次活动"),
    ("发展党员程序不规范，培养考察材料缺项", "对照发展党员工作细则逐项自查整改"),
    ("支部书记履职不到位，抓党建与业务“两张皮”", "书记带头领办项目，每季度向上级党组织报告"),
    ("党建品牌特色不鲜明，示范带动作用弱", "提炼工作法，与示范点结对学习"),
    ("换届工作未按期启动", "制定换届工作方案，报上级党组织审批"),
]
RESPONSIBLE = ["支部书记", "组织委员", "宣传委员", "纪检委员", "党务工作者"]
SUPERVISION_TEXT = "督查发现"


def seed_demo(cur, ctx) -> None:
    """Sessions for two years (four at scale 'city': 24 sessions), the past ones picked by the
    rule, published and voted; entered indicator values for every month; problems found at the
    sessions and by supervision becoming rectification items, some closed, some overdue and
    escalated to each level. The past is simulated session by session through the app's own
    scoring and picking code, and units that reported improve afterwards (so 述职效果 shows
    something). Set-based inserts; clearly demo data like the rest."""
    rng = ctx.rng
    today = ctx.today
    n_years = 4 if ctx.scale == "city" else 2
    capacity = 10 if ctx.scale == "city" else 5
    years_ = list(range(today.year - n_years + 1, today.year + 1))
    s = _settings(cur)
    who = "demo"
    cur.execute("UPDATE report_settings SET default_capacity = ?, updated_by = ?", [capacity, who])
    s["default_capacity"] = capacity
    sess_ids = []
    for y in years_:
        sess_ids += _insert_sessions(cur, y, rules.default_sessions(y), s, who)
    cur.execute("UPDATE report_sessions SET venue = '机关党建活动中心三楼会议室' WHERE updated_by = ?", [who])
    sessions_ = cur.sql("SELECT id, title, session_date FROM report_sessions ORDER BY session_date").pl().to_dicts()
    units = ctx.orgs.select(pl.col("id").cast(pl.Int64).alias("unit_id"), "tier")
    n = units.height
    # entered indicators: a level per unit (lagging orgs lower), a trend, monthly noise
    first = date(years_[0], 1, 1)
    months = []
    m = first
    while m <= today:
        months.append(period_of(m))
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    tier_base = {"advanced": 88.0, "standard": 72.0, "lagging": 50.0}
    base = units.with_columns(
        _b=pl.col("tier").replace_strict(tier_base, default=70.0),
        _u1=pl.Series([rng.uniform(-18, 12) for _ in range(n)]),
        _u2=pl.Series([rng.uniform(-18, 12) for _ in range(n)]),
        _t=pl.Series([rng.uniform(-0.3, 0.6) for _ in range(n)]),
    )
    month_df = pl.DataFrame({"period": months, "_m": list(range(len(months)))})
    noise = [rng.gauss(0, 4) for _ in range(n * len(months) * 2)]
    grid = base.join(month_df, how="cross")
    values = pl.concat([
        grid.select("unit_id", "period", "_m", pl.lit("ten_tasks_progress").alias("indicator"),
                    (pl.col("_b") + pl.col("_u1") + pl.col("_t") * pl.col("_m")).alias("value")),
        grid.select("unit_id", "period", "_m", pl.lit("three_meetings_one_lesson_rate").alias("indicator"),
                    (pl.col("_b") + 8 + pl.col("_u2") + pl.col("_t") * pl.col("_m")).alias("value")),
    ]).with_columns(pl.col("value") + pl.Series(noise[: grid.height * 2]), boost=pl.lit(0.0))
    past = [x for x in sessions_ if x["session_date"] < today]
    future = [x for x in sessions_ if x["session_date"] >= today]
    inserted_upto = -1
    next_item = cur.execute("SELECT coalesce(max(id), 0) FROM rectification_items").fetchone()[0] + 1
    item_rows, vote_rows, pick_rows = [], [], []
    hist = pl.DataFrame(schema={"unit_id": pl.Int64, "date": pl.Date})

    def flush_values(upto: int) -> None:
        nonlocal inserted_upto
        if upto <= inserted_upto:
            return
        part = values.filter((pl.col("_m") > inserted_upto) & (pl.col("_m") <= upto)).select(
            "unit_id", "indicator", "period", (pl.col("value") + pl.col("boost")).clip(0, 100).round(1).alias("value"))
        cur.register("demo_values", part)
        cur.execute("INSERT INTO report_indicator_values (unit_id, indicator, period, value, updated_by)"
                    " SELECT unit_id, indicator, period, value, 'demo' FROM demo_values")
        cur.unregister("demo_values")
        inserted_upto = upto

    def flush_items() -> None:
        if not item_rows:
            return
        f = pl.DataFrame(item_rows, schema={"id": pl.Int64, "unit_id": pl.Int64, "source": pl.String,
                                            "session_id": pl.Int64, "problem": pl.String, "measure": pl.String,
                                            "responsible": pl.String, "opened": pl.Date, "deadline": pl.Date,
                                            "closed": pl.Date}, orient="row")
        cur.register("demo_items", f)
        cur.execute("INSERT INTO rectification_items (id, unit_id, source, session_id, problem, measure, responsible,"
                    " opened, deadline, closed, close_note, updated_by) SELECT id, unit_id, source, session_id, problem,"
                    " measure, responsible, opened, deadline, closed,"
                    " CASE WHEN closed IS NOT NULL THEN '已整改到位，材料已归档' END, 'demo' FROM demo_items")
        cur.unregister("demo_items")
        item_rows.clear()

    def new_items(unit_ids: list, opened: date, source: str, session_id, p_in_time: float) -> None:
        nonlocal next_item
        for uid in unit_ids:
            for _ in range(rng.choice([1, 1, 2])):
                prob, meas = rng.choice(DEMO_PROBLEMS)
                deadline = opened + timedelta(days=rng.choice([30, 45, 60]))
                r = rng.random()
                if deadline + timedelta(days=10) < today and r < p_in_time:
                    closed = deadline - timedelta(days=rng.randint(0, 20))
                elif deadline + timedelta(days=40) < today and r < (1 + p_in_time) / 2:
                    closed = deadline + timedelta(days=rng.randint(5, 30))  # late, but done
                else:
                    closed = None
                if closed is not None and closed < opened:
                    closed = opened
                item_rows.append((next_item, uid, source, session_id, prob, meas, rng.choice(RESPONSIBLE),
                                  opened, deadline, closed))
                next_item += 1

    defs = indicator_defs(cur)
    for x in past:
        mi = months.index(period_of(x["session_date"]))
        flush_values(mi - 1)          # the months before the session are known
        flush_items()
        sc = compute_scores(cur, x["session_date"], defs)
        cand = sc.table.filter(pl.col("progress").is_not_null())
        picked = rules.pick_units(cand.select("unit_id", "name", "progress"), hist, x["session_date"], capacity,
                                  int(s["cooldown_days"]), lagging=sc.table.select("unit_id", "lagging"))
        _snapshot(cur, x["id"], sc)
        for r in picked.iter_rows(named=True):
            pick_rows.append((x["id"], r["unit_id"], r["rank"], r["progress"], r["reason"]))
            voters = rng.randint(25, 60)
            p = max(0.05, min(0.9, (r["progress"] or 50) / 100))
            good = int(voters * p * rng.uniform(0.4, 0.7))
            fairly = int((voters - good) * rng.uniform(0.4, 0.8))
            avg = int((voters - good - fairly) * rng.uniform(0.5, 1.0))
            vote_rows.append((x["id"], r["unit_id"], voters, good, fairly, avg, voters - good - fairly - avg,
                              rng.choice(["述职内容具体，问题找得准", "整改措施需进一步细化", "工作有进步，亮点不够突出",
                                          None, "建议加强与示范点的结对学习"])))
        ids = picked["unit_id"].to_list()
        hist = pl.concat([hist, pl.DataFrame({"unit_id": ids, "date": [x["session_date"]] * len(ids)},
                                             schema=hist.schema)])
        new_items(ids, min(x["session_date"] + timedelta(days=3), today), "session", x["id"], 0.9)
        # reporting helps: the reported units' entered values rise over the following months
        values = values.with_columns(boost=pl.when(pl.col("unit_id").is_in(ids) & (pl.col("_m") > mi))
                                     .then(pl.col("boost") + pl.min_horizontal((pl.col("_m") - mi) * 5.0, pl.lit(20.0)))
                                     .otherwise(pl.col("boost")))
        # supervision finds problems elsewhere too
        sup = rng.sample(units["unit_id"].to_list(), k=max(1, n // 40))
        new_items(sup, x["session_date"] - timedelta(days=rng.randint(10, 40)), "supervision", None, 0.7)
    flush_values(len(months) - 1)
    flush_items()
    # picks, published sessions, votes
    if pick_rows:
        f = pl.DataFrame(pick_rows, schema={"session_id": pl.Int64, "unit_id": pl.Int64, "rule_rank": pl.Int64,
                                            "progress": pl.Float64, "reason": pl.String}, orient="row")
        cur.register("demo_picks", f)
        cur.execute("INSERT INTO report_picks (session_id, unit_id, status, source, locked, rule_rank, progress, reason,"
                    " updated_by) SELECT session_id, unit_id, 'picked', 'rule', false, rule_rank, progress, reason, 'demo'"
                    " FROM demo_picks")
        cur.unregister("demo_picks")
        v = pl.DataFrame(vote_rows, schema={"session_id": pl.Int64, "unit_id": pl.Int64, "voters": pl.Int64,
                                            "good": pl.Int64, "fairly_good": pl.Int64, "average": pl.Int64,
                                            "poor": pl.Int64, "comments": pl.String}, orient="row")
        cur.register("demo_votes", v)
        cur.execute("INSERT INTO report_votes (session_id, unit_id, voters, good, fairly_good, average, poor, comments,"
                    " updated_by) SELECT *, 'demo' FROM demo_votes")
        cur.unregister("demo_votes")
        cur.register("demo_pub", pl.DataFrame({"id": [x["id"] for x in past]}, schema={"id": pl.Int64}))
        cur.execute("UPDATE report_sessions SET status = 'published', published_by = 'demo',"
                    " published_at = CAST(session_date AS TIMESTAMP) - INTERVAL 20 DAY WHERE id IN (SELECT id FROM demo_pub)")
        cur.unregister("demo_pub")
    # escalations: overdue open items climb the chain (some confirmed once, some twice)
    days = int(s["escalation_days"])
    over = cur.sql("SELECT id, deadline FROM rectification_items WHERE closed IS NULL AND deadline < ?"
                   " ORDER BY deadline, id", params=[today]).pl().to_dicts()
    esc_rows, upd = [], []
    for i, r in enumerate(over):
        level, deadline = 1, r["deadline"]
        steps = [2, 1, 0][i] if i < 3 else rng.choice([0, 1, 1, 2, 2])  # every level is on the board
        for _ in range(steps):
            issued = deadline + timedelta(days=rng.randint(3, 12))
            if issued >= today:
                break
            new_deadline = issued + timedelta(days=days)
            esc_rows.append((r["id"], level, level + 1, issued, new_deadline, deadline, (issued - deadline).days))
            level, deadline = level + 1, new_deadline
        if level > 1:
            upd.append((r["id"], level, deadline))
    if esc_rows:
        cur.register("demo_esc", pl.DataFrame(esc_rows, schema={"item_id": pl.Int64, "from_level": pl.Int64,
                                                                "to_level": pl.Int64, "issued": pl.Date,
                                                                "deadline": pl.Date, "from_deadline": pl.Date,
                                                                "days_overdue": pl.Int64}, orient="row"))
        cur.execute("INSERT INTO rectification_escalations (item_id, from_level, to_level, issued, deadline, from_deadline,"
                    " days_overdue, note, updated_by) SELECT *, '演示数据', 'demo' FROM demo_esc")
        cur.unregister("demo_esc")
        cur.register("demo_lv", pl.DataFrame(upd, schema={"id": pl.Int64, "level": pl.Int64, "deadline": pl.Date},
                                              orient="row"))
        cur.execute("UPDATE rectification_items AS t SET level = f.level, deadline = f.deadline FROM demo_lv f WHERE t.id = f.id")
        cur.unregister("demo_lv")
    for t in ("rectification_items", "rectification_escalations", "report_picks", "report_votes",
              "report_indicator_values", "report_sessions"):
        cur.execute(f"SELECT setval('{t}_seq', (SELECT coalesce(max(id), 1) FROM {t}))")
    # the next session gets a draft list, so the picking screen shows the rule at work
    if future:
        x = future[0]
        ranked, _, _ = _rank(cur, {**x, "status": "draft"}, today, capacity=capacity)
        if ranked.height:
            cur.register("demo_draft", ranked.select("unit_id", "rank", "progress", "reason"))
            cur.execute("INSERT INTO report_picks (session_id, unit_id, status, source, locked, rule_rank, progress,"
                        " reason, updated_by) SELECT ?, unit_id, 'picked', 'rule', false, rank, progress, reason, 'demo'"
                        " FROM demo_draft", [x["id"]])
            cur.unregister("demo_draft")
