"""述职评议 TableSpecs (editor, Excel import/export, revert): settings, indicator
definitions, entered indicator values, sessions and rectification items, with their checks;
and the settings row (`read_settings`, `settings`, `save_settings`)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any

import polars as pl

from .. import clock, tables
from ..auth import User
from ..contracts import AuditTable
from ..db import Cursor, Database
from ..errors import BadInput
from ..tables import Changes, Column, Issue, TableSpec
from . import rules
from .model import DIRECTIONS, KINDS, PERM, SESSION_STATUS, SOURCES, Row, defs_from_frame, keys_frame, new_keys, parse_period, query


def rows_for_keys(cur: Cursor, keys: list[Any], sql: str) -> list[Any]:
    """The rows of `sql`, in which the table `checked_keys(k)` holds `keys`."""
    with keys_frame(cur, "checked_keys", keys):
        return cur.execute(sql).fetchall()


# =============================================================================================
# Table specs (editor, Excel import/export, revert)
# =============================================================================================
def _settings_checks(cur: Cursor, after: pl.DataFrame, touched: set[Any], deleted: set[Any]) -> list[Issue]:
    issues = [Issue(k, "cooldown_days", None, "设置只有一行，不能新增") for k in new_keys(cur, "report_settings", touched)]
    if deleted:
        issues.append(Issue(None, None, None, "设置不能删除"))
    return issues


SETTINGS_SPEC = TableSpec(
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
)

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _check_indicators(cur: Cursor, after: pl.DataFrame, touched: set[Any], deleted: set[Any]) -> list[Issue]:
    issues: list[Issue] = []
    rows = {r["id"]: r for r in after.to_dicts()} if after.height else {}
    for k in touched:
        r = rows[k]
        if r.get("code") and not _CODE_RE.match(str(r["code"])):
            issues.append(Issue(k, "code", r["code"], "指标代码只能用小写英文字母、数字和下划线，并以字母开头（例如 ten_tasks_progress）"))
        if None in (r.get("weight"), r.get("target"), r.get("floor"), r.get("direction"), r.get("name")):
            continue
        try:
            defs_from_frame(pl.DataFrame([r]))[0].check()
        except BadInput as exc:
            issues.append(Issue(k, "target", None, exc.message))
    # a code that already has values may not be renamed (the values would be orphaned)
    old = new_keys(cur, "report_indicators", touched)
    existing = [k for k in touched if k not in old]
    if existing:
        was = rows_for_keys(cur, existing, "SELECT i.id, i.code, (SELECT count(*) FROM report_indicator_values v"
                            " WHERE v.indicator = i.code) FROM report_indicators i WHERE i.id IN (SELECT k FROM checked_keys)")
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


def _refuse_delete_indicators(cur: Cursor, keys: list[Any]) -> list[str]:
    rows = rows_for_keys(cur, keys, "SELECT i.name, count(v.id) FROM report_indicators i JOIN report_indicator_values v"
                         " ON v.indicator = i.code WHERE i.id IN (SELECT k FROM checked_keys) GROUP BY i.name")
    return [f"指标「{name}」已有 {n} 条数值，不能删除：不再使用请取消「启用」" for name, n in rows]


def _new_indicator_code() -> str:
    """A code for an indicator added in the editor (the code column is not shown there)."""
    return f"custom_{uuid.uuid4().hex[:12]}"


INDICATORS_SPEC = TableSpec(
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
)


def _indicator_choices() -> dict[str, str]:
    return {d.code: d.name_zh for d in rules.DEFAULT_INDICATORS} | {"election_overdue_months": "换届逾期月数"}


def _check_values(cur: Cursor, after: pl.DataFrame, touched: set[Any], deleted: set[Any]) -> list[Issue]:
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


VALUES_SPEC = TableSpec(
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
)


def _check_sessions(cur: Cursor, after: pl.DataFrame, touched: set[Any], deleted: set[Any]) -> list[Issue]:
    issues: list[Issue] = []
    new = new_keys(cur, "report_sessions", touched)
    for k in new:
        issues.append(Issue(k, "session_date", None, "新的述职场次请点「生成年度场次」建立，不能在表格中直接添加"))
    rows = {r["id"]: r for r in after.to_dicts()} if after.height else {}
    by_date: dict[date | None, list[Any]] = {}
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


def _refuse_delete_sessions(cur: Cursor, keys: list[Any]) -> list[str]:
    rows = rows_for_keys(cur, keys, "SELECT s.title, s.status, (SELECT count(*) FROM report_picks p WHERE p.session_id = s.id)"
                         " FROM report_sessions s WHERE s.id IN (SELECT k FROM checked_keys)")
    return [f"{t}{'已发布' if st == 'published' else f'已有 {n} 个入选单位'}，不能删除" for t, st, n in rows
            if st == "published" or n]


SESSIONS_SPEC = TableSpec(
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
)


def _check_items(cur: Cursor, after: pl.DataFrame, touched: set[Any], deleted: set[Any]) -> list[Issue]:
    if not touched:
        return []
    issues: list[Issue] = []
    today = clock.today()
    new = new_keys(cur, "rectification_items", touched)
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


def _refuse_delete_items(cur: Cursor, keys: list[Any]) -> list[str]:
    rows = rows_for_keys(cur, keys, "SELECT r.id, o.name, count(e.id) FROM rectification_items r JOIN rectification_escalations e"
                         " ON e.item_id = r.id LEFT JOIN orgs o ON o.id = r.unit_id"
                         " WHERE r.id IN (SELECT k FROM checked_keys) GROUP BY r.id, o.name")
    return [f"「{name}」的第 {k} 号事项已升级过 {n} 次，不能删除：整改完成请销号" for k, name, n in rows]


ITEMS_SPEC = TableSpec(
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
)

SPECS = (SETTINGS_SPEC, INDICATORS_SPEC, VALUES_SPEC, SESSIONS_SPEC, ITEMS_SPEC)
AUDIT_TABLES = tuple(AuditTable(table=t, label=label, perm=PERM) for t, label in (
    ("report_picks", "述职名单"), ("report_votes", "测评票"), ("rectification_escalations", "整改升级记录")))


# =============================================================================================
# Settings and indicator definitions
# =============================================================================================
def read_settings(cur: Cursor) -> Row:
    cur_rows = query(cur, "SELECT * FROM report_settings ORDER BY id LIMIT 1").to_dicts()
    if not cur_rows:
        return {"id": None, "cooldown_days": rules.COOLDOWN_DAYS, "default_capacity": 5, "minutes_per_unit": 15,
                "start_time": "09:00", "escalation_days": rules.ESCALATION_DAYS, "issuer": "党建工作领导小组办公室",
                "overdue_count": "calendar", "version": None}
    return cur_rows[0]


def settings(db: Database) -> Row:
    with db.read() as cur:
        return read_settings(cur)


def save_settings(db: Database, user: User, values: Row, version: object = None) -> tables.SaveResult:
    """Change the settings row through the table write path (validation, audit)."""
    with db.read() as cur:
        s = read_settings(cur)
    ch = Changes(updates={s["id"]: dict(values)}, versions={s["id"]: version}, row_numbers={s["id"]: 1})
    return tables.save(db, user, SETTINGS_SPEC, ch, description="修改述职评议设置")
