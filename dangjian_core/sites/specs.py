"""示范点台账: the table specs (the table editor, Excel import/export and `db import/export` use
these) with their checks, the audit labels of the tables written only by workflow actions, and
the delete check the programme adds to the orgs table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

from .. import clock, tables
from ..contracts import AuditTable
from ..db import Cursor
from ..tables import Column, Issue, TableSpec
from . import rules as R
from .model import ALL_CATEGORIES, PERM, RUBRIC_CATEGORIES

_new_keys = tables.new_keys


_keys_registered = tables.register_keys  # the keys a delete check is asked about, as `name(k)`


def _outside_programme(cur: Cursor, rows: list[dict[str, Any]], column: str, message: str) -> list[Issue]:
    """Rows whose org (`column`) has never had a round in the programme."""
    site_orgs = org_ids_in_programme(cur)
    return [Issue(r["id"], column, r[column], message) for r in rows
            if r[column] is not None and r[column] not in site_orgs]


def _refuse_new_sites(cur: Cursor, after: pl.DataFrame, touched: set[Any], deleted: set[Any]) -> list[Issue]:
    return [Issue(k, "org_id", None, "新的示范点请在「示范点」页面用「申报」登记，不能在表格中直接添加")
            for k in _new_keys(cur, "sites", touched)]


def _refuse_delete_sites(cur: Cursor, keys: list[Any]) -> list[str]:
    with _keys_registered(cur, "del_sites", keys):
        rows = cur.execute(
            "SELECT o.name, s.status, (SELECT count(*) FROM site_assessments a WHERE a.site_id = s.id)"
            " FROM sites s LEFT JOIN orgs o ON o.id = s.org_id WHERE s.id IN (SELECT k FROM del_sites)").fetchall()
    out = []
    for name, status, n in rows:
        if status != "applied" or n:
            out.append(f"「{name}」是{R.status_label(status)}的示范点（有 {n} 次考评），不能删除：示范点的历程要保留；"
                       "录错的申报或考评请在「操作记录」中撤销")
    return out


# a rubric applies to one category, or to all of them ("all": the general rubric)

SITES_SPEC = TableSpec(
    table="sites",
    label="示范点",
    perm=PERM,
    natural_key=None,
    columns=[
        Column("org_id", "党组织", "ref", required=True, ref="orgs", editable=False, width="large"),
        Column("status", "状态", "choice", choices=R.STATUSES, editable=False,
               help="状态只能通过「确定为创建单位」和「记录考评」改变"),
        Column("creation_year", "创建年度", "int", editable=False),
        Column("named_year", "授牌年度", "int", editable=False),
        Column("last_assessed_year", "最近考评年度", "int", editable=False),
        Column("inspection_interval", "年检周期（年）", "int", required=True, min=1, max=2, default=1,
               help="巩固提升阶段每 1 年或 2 年考评一次"),
        Column("brand", "特色品牌", max_len=100),
        Column("responsible_unit", "责任单位", max_len=100, help="区县委组织部、市直机关工委等"),
        Column("supervisor", "督查指导员", max_len=50),
        Column("liaison", "联络员", max_len=50),
        Column("leader", "联系领导", max_len=50, help="亲自联系该示范点的领导"),
        Column("note", "备注", max_len=500),
    ],
    checks=[_refuse_new_sites],
    delete_checks=[_refuse_delete_sites],
)


def org_ids_in_programme(cur: Cursor) -> set[int]:
    """Every org that has (had) a round in the programme."""
    return {r[0] for r in cur.execute("SELECT DISTINCT org_id FROM sites").fetchall()}


def _check_events(cur: Cursor, after: pl.DataFrame, touched: set[Any], deleted: set[Any]) -> list[Issue]:
    if not touched:
        return []
    today = clock.today()
    rows = after.filter(pl.col("id").is_in(list(touched))).to_dicts()
    out = _outside_programme(cur, rows, "org_id", "这个党组织不在示范点台账中：请先申报")
    for r in rows:
        d = r.get("event_date")
        if d is not None and d > today:
            out.append(Issue(r["id"], "event_date", d, "日期晚于今天：创建档案只记录已经发生的事"))
        if d is not None and d.year < R.MIN_YEAR:
            out.append(Issue(r["id"], "event_date", d, "日期太早，请检查"))
        if r.get("kind") == "award" and r.get("amount") is None:
            out.append(Issue(r["id"], "amount", None, "以奖代投要填写金额（元）"))
        if r.get("kind") != "award" and r.get("amount") is not None:
            out.append(Issue(r["id"], "amount", r["amount"], "只有「以奖代投」记录填写金额"))
    return out


EVENTS_SPEC = TableSpec(
    table="site_events",
    label="示范点创建档案",
    perm=PERM,
    natural_key=None,
    order_by="event_date DESC, id DESC",
    columns=[
        Column("org_id", "示范点", "ref", required=True, ref="orgs", width="medium"),
        Column("event_date", "日期", "date", required=True),
        Column("kind", "类型", "choice", required=True, choices=R.EVENT_KINDS),
        Column("title", "事项", required=True, max_len=100, width="medium"),
        Column("detail", "内容", max_len=2000, width="large"),
        Column("amount", "金额（元）", "decimal", min=0, max=100_000_000, help="以奖代投的金额"),
        Column("person", "经办人/撰写人", max_len=50),
        Column("file_name", "附件", editable=False),
    ],
    checks=[_check_events],
)


def _check_pairings(cur: Cursor, after: pl.DataFrame, touched: set[Any], deleted: set[Any]) -> list[Issue]:
    if not touched:
        return []
    today = clock.today()
    rows = after.to_dicts()
    active: dict[tuple[int, int], list[int]] = {}
    for r in rows:
        if r.get("ended_on") is None or r["ended_on"] >= today:
            active.setdefault((r["site_org_id"], r["partner_org_id"]), []).append(r["id"])
    mine = [r for r in rows if r["id"] in touched]
    out = _outside_programme(cur, mine, "site_org_id", "这个党组织不在示范点台账中")
    for r in mine:
        if r["site_org_id"] is not None and r["site_org_id"] == r["partner_org_id"]:
            out.append(Issue(r["id"], "partner_org_id", None, "不能和自己结对"))
        s, e = r.get("started_on"), r.get("ended_on")
        if s is not None and s > today:
            out.append(Issue(r["id"], "started_on", s, "开始日期晚于今天"))
        if s is not None and e is not None and e < s:
            out.append(Issue(r["id"], "ended_on", e, "结束日期早于开始日期"))
        if len(active.get((r["site_org_id"], r["partner_org_id"]), [])) > 1:
            out.append(Issue(r["id"], "partner_org_id", None, "这两个党组织已经在结对中，不要重复登记"))
    return out


PAIRINGS_SPEC = TableSpec(
    table="site_pairings",
    label="示范点结对",
    perm=PERM,
    natural_key=None,
    order_by="started_on DESC, id DESC",
    columns=[
        Column("site_org_id", "示范点", "ref", required=True, ref="orgs", width="medium"),
        Column("partner_org_id", "结对党组织", "ref", required=True, ref="orgs", width="medium"),
        Column("started_on", "开始日期", "date", required=True),
        Column("ended_on", "结束日期", "date"),
        Column("activities", "结对活动", max_len=1000, width="large"),
        Column("note", "备注", max_len=500),
    ],
    checks=[_check_pairings],
)


def _check_rubrics(cur: Cursor, after: pl.DataFrame, touched: set[Any], deleted: set[Any]) -> list[Issue]:
    out = []
    seen: dict[tuple[int, str], list[int]] = {}
    for r in after.to_dicts():
        seen.setdefault((r["year"], r["category"]), []).append(r["id"])
    for (year, cat), ids in seen.items():
        if len(ids) > 1:
            for k in ids:
                if k in touched:
                    out.append(Issue(k, "category", cat, f"{year} 年已有「{RUBRIC_CATEGORIES.get(cat, cat)}」的考评细则，"
                                                         "同一年度同一类别只能有一套"))
    for r in after.filter(pl.col("id").is_in(list(touched))).to_dicts() if touched else []:
        if r["year"] is not None and not (R.MIN_YEAR <= r["year"] <= 2100):
            out.append(Issue(r["id"], "year", r["year"], "年度不合理"))
    return out


def _refuse_delete_rubrics(cur: Cursor, keys: list[Any]) -> list[str]:
    with _keys_registered(cur, "del_rubrics", keys):
        rows = cur.execute(
            "SELECT r.name, (SELECT count(*) FROM site_rubric_items i WHERE i.rubric_id = r.id),"
            " (SELECT count(*) FROM site_assessments a WHERE a.rubric_id = r.id)"
            " FROM site_rubrics r WHERE r.id IN (SELECT k FROM del_rubrics)").fetchall()
    out = []
    for name, items, used in rows:
        if used:
            out.append(f"「{name}」已用于 {used} 次考评，不能删除")
        elif items:
            out.append(f"「{name}」还有 {items} 条细则：请先删除这些条目")
    return out


RUBRICS_SPEC = TableSpec(
    table="site_rubrics",
    label="考评细则",
    perm=PERM,
    order_by="year DESC, category = 'all' DESC, category, id",
    columns=[
        Column("name", "细则名称", required=True, unique=True, max_len=100, width="large"),
        Column("year", "年度", "int", required=True, min=R.MIN_YEAR, max=2100),
        Column("category", "适用类别", "choice", required=True, choices=RUBRIC_CATEGORIES, default=ALL_CATEGORIES,
               help="「通用」适用于没有单独细则的所有类别"),
        Column("pass_mark", "合格分数线", "decimal", required=True, min=0, max=200, default=Decimal("80")),
        Column("note", "说明", max_len=500),
    ],
    checks=[_check_rubrics],
    delete_checks=[_refuse_delete_rubrics],
)


def _check_rubric_items(cur: Cursor, after: pl.DataFrame, touched: set[Any], deleted: set[Any]) -> list[Issue]:
    if after.height == 0 or not (touched or deleted):
        return []
    affected = set(after.filter(pl.col("id").is_in(list(touched)))["rubric_id"].to_list()) if touched else set()
    out = []
    for rid in affected:
        part = after.filter(pl.col("rubric_id") == rid).sort("seq", "id")
        rows = part.to_dicts()
        for idx, col, msg, hard in R.rubric_issues(rows):
            k = rows[idx]["id"] if idx >= 0 else next((r["id"] for r in rows if r["id"] in touched), rows[0]["id"])
            if idx >= 0 and k not in touched:
                continue
            out.append(Issue(k, col, rows[idx].get(col) if idx >= 0 else None, msg, hard))
        seqs: dict[int, list[int]] = {}
        for r in rows:
            seqs.setdefault(r["seq"], []).append(r["id"])
        for s, ids in seqs.items():
            for k in ids:
                if len(ids) > 1 and k in touched:
                    out.append(Issue(k, "seq", s, "同一套细则中序号重复"))
    return out


RUBRIC_ITEMS_SPEC = TableSpec(
    table="site_rubric_items",
    label="考评细则条目",
    perm=PERM,
    natural_key=None,
    order_by="rubric_id, seq, id",
    columns=[
        Column("rubric_id", "细则", "ref", required=True, ref="site_rubrics", width="medium"),
        Column("seq", "序号", "int", required=True, min=1, max=999),
        Column("item", "考评项目", required=True, max_len=100, width="medium"),
        Column("content", "考评内容", max_len=1000, width="large"),
        Column("kind", "类型", "choice", required=True, choices=R.LINE_KINDS, default="score"),
        Column("max_points", "分值", "decimal", min=0, max=100, help="评分项的满分；加分项、扣分项的上限；否决项留空"),
        Column("scoring_rule", "评分标准", max_len=1000, width="large"),
        Column("method", "考评方式", max_len=100, help="查阅资料、实地察看、座谈走访、问卷测评等"),
    ],
    checks=[_check_rubric_items],
)

SPECS = (SITES_SPEC, EVENTS_SPEC, PAIRINGS_SPEC, RUBRICS_SPEC, RUBRIC_ITEMS_SPEC)

# tables written only by the lifecycle actions: listed in 操作记录 and undone there
AUDIT_TABLES = tuple(AuditTable(table=t, label=label, perm=PERM) for t, label in (
    ("site_assessments", "示范点考评"), ("site_assessment_lines", "示范点考评评分"),
    ("site_plans", "示范点年度计划"), ("site_plan_years", "示范点年度命名目标")))


# -- orgs may not be deleted while they are in the programme -------------------------------
def refuse_delete_orgs_in_programme(cur: Cursor, keys: list[Any]) -> list[str]:
    """DELETE_GUARD on orgs (see sites.__init__): an org with a site round, or an active pairing, stays."""
    with _keys_registered(cur, "del_site_orgs", keys):
        rows = cur.execute(
            "SELECT o.name, s.status, s.creation_year FROM sites s JOIN orgs o ON o.id = s.org_id"
            " WHERE s.org_id IN (SELECT k FROM del_site_orgs)"
            " QUALIFY row_number() OVER (PARTITION BY s.org_id ORDER BY s.id DESC) = 1 ORDER BY o.name").fetchall()
        pairs = cur.execute(
            "SELECT o.name, so.name FROM site_pairings p JOIN orgs o ON o.id = p.partner_org_id"
            " JOIN orgs so ON so.id = p.site_org_id WHERE p.partner_org_id IN (SELECT k FROM del_site_orgs)"
            " AND (p.ended_on IS NULL OR p.ended_on >= ?) ORDER BY 1", [clock.today()]).fetchall()
    out = [f"「{n}」在示范点台账中（{y} 年创建，状态：{R.status_label(s)}），不能删除：示范点的考评和创建档案要保留"
           for n, s, y in rows]
    out += [f"「{n}」正与示范点「{s}」结对，不能删除：请先在「示范点」页面填写结对的结束日期" for n, s in pairs]
    return out

