"""示范点台账: reads for pages and briefings, and the lifecycle actions.

Lifecycle actions (`apply_site`, `select_site`, `record_assessment`, `save_plan`,
`copy_rubric`) check permission, validate with `rules`, and write with their audit records in
one transaction — an assessment and the status change it caused are one batch, reverted as one.
Table-shaped edits go through `tables.save` with the specs in `specs.py` (`update_people`).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from .. import audit, clock, orgs, tables, uow, values
from ..auth import User
from ..db import Cursor, Database
from ..errors import BadInput, ConflictError, ErrorCollector, NotFound
from ..tables import Changes, SaveResult
from ..vocab import CATEGORIES
from . import rules as R
from .model import ALL_CATEGORIES, MIN_EXPERIENCES, PERM, RUBRIC_CATEGORIES, VISIT_GAP_DAYS
from .specs import SITES_SPEC


def _frame(relation: Any) -> pl.DataFrame:
    """A DuckDB relation as a polars frame (the cursor's relations are untyped)."""
    df: pl.DataFrame = relation.pl()
    return df


def _today(today: date | None) -> date:
    return today or clock.today()



# =======================================================================================
# Reads
# =======================================================================================
_DUE_SQL = """CASE s.status
    WHEN 'creating' THEN greatest(s.creation_year, coalesce(s.last_assessed_year + 1, 0))
    WHEN 'named' THEN coalesce(s.last_assessed_year, s.named_year, s.creation_year) + 1
    WHEN 'consolidating' THEN coalesce(s.last_assessed_year, s.creation_year) + s.inspection_interval
    END"""

_SITES_SQL = f"""
WITH last AS (
    SELECT site_id, max(year) AS y, arg_max(total, year) AS last_total, arg_max(result, year) AS last_result,
           arg_max(kind, year) AS last_kind, count(*) AS assessments
    FROM site_assessments GROUP BY site_id),
visit AS (SELECT org_id, max(event_date) AS last_visit FROM site_events WHERE kind = 'guidance_visit' GROUP BY org_id)
SELECT s.id, s.org_id, coalesce(o.name, '（已删除的党组织）') AS name, o.category, o.street, o.tier,
       s.status, s.creation_year, s.applied_on, s.selected_on, s.named_year, s.last_assessed_year,
       s.status_since, s.inspection_interval, s.brand, s.responsible_unit, s.supervisor, s.liaison, s.leader,
       s.note, s.version, l.last_total, l.last_result, l.last_kind, coalesce(l.assessments, 0) AS assessments,
       v.last_visit, CAST({_DUE_SQL} AS INTEGER) AS due_year
FROM sites s LEFT JOIN orgs o ON o.id = s.org_id LEFT JOIN last l ON l.site_id = s.id
LEFT JOIN visit v ON v.org_id = s.org_id
"""


def list_sites(db: Database, *, today: date | None = None) -> pl.DataFrame:
    """Every round with its org, last assessment, last guidance visit and due year/overdue."""
    today = _today(today)
    with db.read() as cur:
        df = _frame(cur.sql(_SITES_SQL + " ORDER BY s.id"))
    return df.with_columns(
        pl.when(pl.col("due_year").is_not_null()).then(pl.date(pl.col("due_year"), 12, 31)).alias("due_date"),
    ).with_columns((pl.col("due_date") < pl.lit(today)).fill_null(False).alias("overdue"))


def state_of(row: dict[str, Any]) -> R.SiteState:
    return R.SiteState(row["status"], row["creation_year"], row.get("named_year"),
                       row.get("last_assessed_year"), row.get("inspection_interval") or 1)


def _site_row(cur: Cursor, site_id: object) -> dict[str, Any]:
    try:
        sid = int(str(site_id))
    except (TypeError, ValueError):
        raise NotFound("请选择一个示范点") from None
    df = cur.sql(_SITES_SQL + " WHERE s.id = ?", params=[sid]).pl()
    if df.height == 0:
        raise NotFound(f"找不到第 {sid} 号示范点记录（可能已被撤销）")
    row: dict[str, Any] = df.row(0, named=True)
    return row


def get_site(db: Database, site_id: object) -> dict[str, Any]:
    with db.read() as cur:
        return _site_row(cur, site_id)


def rounds_of_org(db: Database, org_id: int) -> pl.DataFrame:
    with db.read() as cur:
        return _frame(cur.sql(_SITES_SQL + " WHERE s.org_id = ? ORDER BY s.id", params=[int(org_id)]))


def assessments(db: Database, site_id: int | None = None, *, org_id: int | None = None) -> pl.DataFrame:
    where, params = "1=1", []
    if site_id is not None:
        where, params = "a.site_id = ?", [int(site_id)]
    elif org_id is not None:
        where, params = "s.org_id = ?", [int(org_id)]
    with db.read() as cur:
        return _frame(cur.sql(
            "SELECT a.id, a.site_id, s.org_id, o.name, o.category, a.year, a.assessed_on, a.assessor, a.stage,"
            " a.self_total, a.total, a.vetoed, a.result, a.kind, a.status_before, a.status_after, a.note,"
            " a.rubric_id FROM site_assessments a JOIN sites s ON s.id = a.site_id"
            f" LEFT JOIN orgs o ON o.id = s.org_id WHERE {where} ORDER BY a.year, a.id", params=params))


def assessment_lines(db: Database, assessment_id: int) -> pl.DataFrame:
    with db.read() as cur:
        return _frame(cur.sql("SELECT seq, kind, item, max_points, self_score, score, vetoed, note"
                       " FROM site_assessment_lines WHERE assessment_id = ? ORDER BY seq, id",
                       params=[int(assessment_id)]))


def _rubric(cur: Cursor, year: int, category: str | None) -> dict[str, Any] | None:
    row = cur.execute(
        "SELECT id, name, year, category, pass_mark FROM site_rubrics WHERE year = ?"
        " AND (category = ? OR category = 'all') ORDER BY category = 'all', id LIMIT 1",
        [int(year), category]).fetchone()
    if row is None:
        return None
    return dict(zip(["id", "name", "year", "category", "pass_mark"], row))


def rubric_for(db: Database, year: int, category: str | None) -> tuple[dict[str, Any] | None, list[R.Line]]:
    """The rubric that applies to a category in a year (its own, else the general one) and
    its items as empty score lines."""
    with db.read() as cur:
        rub = _rubric(cur, year, category)
        if rub is None:
            return None, []
        rows = cur.execute("SELECT id, seq, item, kind, max_points FROM site_rubric_items"
                           " WHERE rubric_id = ? ORDER BY seq, id", [rub["id"]]).fetchall()
    return rub, [R.Line(seq, item, kind, mx, rubric_item_id=iid) for iid, seq, item, kind, mx in rows]


def rubric_items(db: Database, rubric_id: int) -> pl.DataFrame:
    with db.read() as cur:
        return _frame(cur.sql("SELECT id, seq, item, content, kind, max_points, scoring_rule, method"
                       " FROM site_rubric_items WHERE rubric_id = ? ORDER BY seq, id", params=[int(rubric_id)]))


def rubrics(db: Database) -> pl.DataFrame:
    with db.read() as cur:
        return _frame(cur.sql("SELECT r.id, r.name, r.year, r.category, r.pass_mark,"
                       " (SELECT count(*) FROM site_rubric_items i WHERE i.rubric_id = r.id) AS items,"
                       " (SELECT coalesce(sum(max_points), 0) FROM site_rubric_items i WHERE i.rubric_id = r.id"
                       "  AND i.kind = 'score') AS full_marks"
                       " FROM site_rubrics r ORDER BY r.year DESC, r.category = 'all' DESC, r.category, r.id"))


def plan(db: Database, year: object) -> dict[str, Any]:
    """Plan vs actual for one year: per category planned / applied / creating (selected) /
    named, and the named target. Without a saved plan the default plan is shown."""
    year = R.check_year(year)
    with db.read() as cur:
        stored = dict(cur.execute("SELECT category, planned FROM site_plans WHERE year = ?", [year]).fetchall())
        target = cur.execute("SELECT named_target FROM site_plan_years WHERE year = ?", [year]).fetchone()
        actual = cur.sql(
            "SELECT o.category, count(*) AS applied, count(*) FILTER (WHERE s.status <> 'applied') AS creating,"
            " count(*) FILTER (WHERE s.named_year IS NOT NULL) AS named"
            " FROM sites s JOIN orgs o ON o.id = s.org_id WHERE s.creation_year = ? GROUP BY 1",
            params=[year]).pl()
    is_default = not stored and target is None
    planned = stored if stored else dict(R.DEFAULT_PLAN)
    act = {r["category"]: r for r in actual.to_dicts()}
    rows = [{"category": c, "planned": int(planned.get(c, 0)),
             "applied": int(act.get(c, {}).get("applied", 0)),
             "actual": int(act.get(c, {}).get("creating", 0)),
             "named": int(act.get(c, {}).get("named", 0))} for c in CATEGORIES]
    df = pl.DataFrame(rows, schema={"category": pl.String, "planned": pl.Int64, "applied": pl.Int64,
                                    "actual": pl.Int64, "named": pl.Int64})
    return {"year": year, "by_category": df, "is_default": is_default,
            "named_target": int(target[0]) if target else R.DEFAULT_NAMED_TARGET}


def plan_years(db: Database) -> pl.DataFrame:
    """Plan vs actual over all years that have a plan or a cohort (briefings)."""
    with db.read() as cur:
        years = [r[0] for r in cur.execute(
            "SELECT year FROM site_plans UNION SELECT year FROM site_plan_years"
            " UNION SELECT creation_year FROM sites ORDER BY 1").fetchall()]
    frames = []
    for y in years:
        p = plan(db, y)
        frames.append(p["by_category"].with_columns(pl.lit(y, dtype=pl.Int64).alias("year"),
                                                    pl.lit(p["named_target"], dtype=pl.Int64).alias("named_target")))
    return pl.concat(frames) if frames else pl.DataFrame()


def due_and_overdue(db: Database, *, today: date | None = None, year: int | None = None) -> dict[str, Any]:
    """Rounds whose assessment falls due in `year` (default this year), and overdue ones."""
    today = _today(today)
    year = year or today.year
    df = list_sites(db, today=today)
    return {"due": df.filter(pl.col("due_year") == year).sort("due_year", "name"),
            "overdue": df.filter(pl.col("overdue")).sort("due_year", "name")}


def checks(db: Database, *, today: date | None = None, year: int | None = None) -> dict[str, Any]:
    """The office's rules of thumb: ≥ 2 experience write-ups a year per responsible unit,
    a guidance visit at least every 90 days, and each supervisor's workload."""
    today = _today(today)
    year = year or today.year
    cutoff = today - timedelta(days=VISIT_GAP_DAYS)
    active = list(R.ACTIVE)
    with db.read() as cur:
        exp = cur.sql(
            "WITH a AS (SELECT DISTINCT org_id, responsible_unit FROM sites WHERE status IN (SELECT unnest(?))"
            "  AND responsible_unit IS NOT NULL),"
            " e AS (SELECT org_id, count(*) AS n FROM site_events WHERE kind = 'experience'"
            "  AND year(event_date) = ? GROUP BY org_id)"
            " SELECT a.responsible_unit AS unit, count(DISTINCT a.org_id) AS sites,"
            " CAST(coalesce(sum(e.n), 0) AS BIGINT) AS experiences FROM a LEFT JOIN e USING (org_id)"
            " GROUP BY 1 ORDER BY experiences, unit", params=[active, year]).pl()
        sites_df = cur.sql(_SITES_SQL + " WHERE s.status IN (SELECT unnest(?))", params=[active]).pl()
        recent = cur.sql("SELECT org_id, count(*) AS n FROM site_events WHERE kind = 'guidance_visit'"
                         " AND event_date >= ? GROUP BY org_id", params=[cutoff]).pl()
    exp = exp.with_columns((pl.col("experiences") < MIN_EXPERIENCES).alias("short"))
    ref = pl.coalesce("last_visit", "selected_on", "applied_on")
    no_visit = sites_df.with_columns(ref.alias("since")).filter(
        pl.col("since").is_null() | (pl.col("since") < pl.lit(cutoff))).with_columns(
        (pl.lit(today) - pl.col("since")).dt.total_days().alias("days")).sort("days", descending=True, nulls_last=False)
    sd = sites_df.with_columns(
        pl.col("supervisor").fill_null("（未指定）"),
        (pl.col("due_year").is_not_null() & (pl.col("due_year") < today.year)).alias("overdue"),
        ref.alias("since"))
    sd = sd.join(recent, on="org_id", how="left").with_columns(pl.col("n").fill_null(0))
    load = sd.group_by("supervisor").agg(
        pl.len().alias("sites"), pl.col("n").sum().alias("visits_90d"),
        pl.col("overdue").sum().alias("overdue"),
        (pl.col("since").is_null() | (pl.col("since") < pl.lit(cutoff))).sum().alias("no_visit_90d"),
    ).sort(["sites", "supervisor"], descending=[True, False])
    return {"experiences": exp, "no_visit": no_visit, "workload": load, "year": year, "cutoff": cutoff}


def status_over_years(db: Database) -> pl.DataFrame:
    """Rounds by status (at each year's end) and category, year by year."""
    with db.read() as cur:
        s = cur.sql("SELECT s.id, s.creation_year, s.status <> 'applied' AS selected, o.category"
                    " FROM sites s JOIN orgs o ON o.id = s.org_id").pl()
        a = cur.sql("SELECT site_id, year, status_after FROM site_assessments").pl()
        span = cur.execute("SELECT min(creation_year), greatest(max(creation_year), ?)"
                           " FROM sites", [clock.today().year]).fetchone()
    if s.height == 0:
        return pl.DataFrame(schema={"year": pl.Int64, "category": pl.String, "status": pl.String, "n": pl.Int64})
    by_site: dict[int, list[tuple[int, str]]] = {}
    for sid, y, st in a.iter_rows():
        by_site.setdefault(sid, []).append((y, st))
    rows = []
    for sid, cy, selected, cat in s.iter_rows():
        for y in range(cy, span[1] + 1):
            st = R.status_at_year_end(cy, selected, by_site.get(sid, []), y)
            if st is not None:
                rows.append((y, cat, st))
    df = pl.DataFrame(rows, schema={"year": pl.Int64, "category": pl.String, "status": pl.String}, orient="row")
    return df.group_by("year", "category", "status").len("n").sort("year", "category", "status")


def org_tree(db: Database) -> pl.DataFrame:
    """The org tree (from orgs.tree_paths) with level, street, size, tier and site status."""
    tree = orgs.tree_paths(db)
    with db.read() as cur:
        info = cur.sql("SELECT o.id, o.level, o.street, o.member_count, o.tier, (SELECT s.status FROM sites s"
                       " WHERE s.org_id = o.id ORDER BY s.id DESC LIMIT 1) AS site_status FROM orgs o").pl()
    return tree.join(info, on="id", how="left", maintain_order="left")


def open_candidates(db: Database) -> pl.DataFrame:
    """Orgs that may apply now (no open round, never removed), for the 申报 picker."""
    with db.read() as cur:
        return _frame(cur.sql("SELECT id, name, street, category, tier FROM orgs WHERE id NOT IN (SELECT org_id FROM sites"
                       " WHERE status IN ('applied', 'creating', 'named', 'consolidating', 'removed'))"
                       " ORDER BY street, name"))


def events(db: Database, org_id: int) -> pl.DataFrame:
    with db.read() as cur:
        return _frame(cur.sql("SELECT id, event_date, kind, title, detail, amount, person, file_name, file_path"
                       " FROM site_events WHERE org_id = ? ORDER BY event_date DESC, id DESC",
                       params=[int(org_id)]))


def pairing_suggestions(db: Database, org_id: int | None = None, *, max_km: float = 5.0, per_site: int = 3) -> list[dict[str, Any]]:
    """Lagging orgs within reach of named sites (or of one site), not yet paired."""
    with db.read() as cur:
        sites_ = cur.sql("SELECT DISTINCT o.id AS org_id, o.name, o.street, o.lat, o.lon FROM sites s"
                         " JOIN orgs o ON o.id = s.org_id WHERE s.status IN ('creating', 'named', 'consolidating')"
                         + (" AND o.id = ?" if org_id is not None else ""),
                         params=[int(org_id)] if org_id is not None else None).pl().to_dicts()
        # top-level committees lead the streets' work: they are not units to be lifted by a site
        cands = cur.sql("SELECT id AS org_id, name, street, lat, lon FROM orgs WHERE tier = 'lagging'"
                        " AND parent_id IS NOT NULL"
                        " AND id NOT IN (SELECT org_id FROM sites WHERE status IN ('applied', 'creating', 'named', 'consolidating'))"
                        " ORDER BY id").pl().to_dicts()
        taken = [r[0] for r in cur.execute(
            "SELECT partner_org_id FROM site_pairings WHERE ended_on IS NULL OR ended_on >= ?",
            [clock.today()]).fetchall()]
    return R.suggest_pairings(sites_, cands, max_km=max_km, per_site=per_site, taken=taken)


# =======================================================================================
# Lifecycle actions (each: permission → validation → one transaction with its audit batch)
# =======================================================================================
def _not_after(today: date, day: date | None, what: str) -> date:
    """The day given (today when none), refused when it is later than today."""
    day = day or today
    if day > today:
        raise BadInput(f"{what}不能晚于今天")
    return day


def _check_version(row: dict[str, Any], expected_version: object) -> None:
    if expected_version is not None and int(str(expected_version)) != int(row["version"]):
        raise ConflictError(f"「{row['name']}」在您打开页面之后已被修改（例如别人刚录入了考评）。"
                            "您的操作没有保存，请刷新页面后再做。")


def apply_site(db: Database, user: User, org_id: object, year: object, *, applied_on: date | None = None, today: date | None = None,
               inspection_interval: int = 1, **people: str | None) -> int:
    """申报: start a new round for an org. Returns the new site id."""
    today = _today(today)
    with uow.action(db, user, PERM, "site_apply", "示范点申报") as act:
        cur = act.cur
        applied_on = _not_after(today, applied_on, "申报日期")
        interval = R.check_interval(inspection_interval)
        unknown = set(people) - {"brand", "responsible_unit", "supervisor", "liaison", "leader", "note"}
        if unknown:
            raise ValueError(unknown)
        for k, v in people.items():
            if v is not None and len(str(v)) > (SITES_SPEC.column(k).max_len or 0):
                raise BadInput(f"「{SITES_SPEC.column(k).label}」太长了：最多 {SITES_SPEC.column(k).max_len} 个字")
        try:
            oid = int(str(org_id))
        except (TypeError, ValueError):
            raise BadInput("请选择申报的党组织") from None
        org = cur.execute("SELECT name FROM orgs WHERE id = ?", [oid]).fetchone()
        if org is None:
            raise NotFound("找不到这个党组织（可能已被删除）")
        rounds = cur.sql("SELECT status, creation_year, named_year, last_assessed_year, inspection_interval"
                         " FROM sites WHERE org_id = ?", params=[oid]).pl().to_dicts()
        y = R.check_year(year, "申报年度")
        R.check_apply(org[0], [state_of(r) for r in rounds], y, today)
        sid = cur.execute("SELECT nextval('sites_seq')").fetchone()[0]
        cols = ["id", "org_id", "status", "creation_year", "applied_on", "status_since", "inspection_interval",
                *people, "updated_by"]
        vals = [sid, oid, "applied", y, applied_on, applied_on, interval,
                *[(str(v).strip() or None) if v is not None else None for v in people.values()], user.username]
        act.describe(f"示范点申报：{org[0]}（{y} 年）")
        with act.track("sites", [sid]):
            cur.execute(f"INSERT INTO sites ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", vals)
    return int(sid)


def select_site(db: Database, user: User, site_id: object, *, selected_on: date | None = None, today: date | None = None,
                expected_version: object = None) -> None:
    """立项: an applied unit becomes a creating unit of its year."""
    today = _today(today)
    with uow.action(db, user, PERM, "site_select", "确定为创建单位") as act:
        cur = act.cur
        selected_on = _not_after(today, selected_on, "立项日期")
        row = _site_row(cur, site_id)
        _check_version(row, expected_version)
        new = R.select(state_of(row), row["name"])
        if row["applied_on"] and selected_on < row["applied_on"]:
            raise BadInput(f"立项日期 {selected_on} 早于申报日期 {row['applied_on']}")
        act.describe(f"确定为创建单位：{row['name']}（{row['creation_year']} 年）")
        with act.track("sites", [row["id"]]):
            cur.execute("UPDATE sites SET status = ?, selected_on = ?, status_since = ?, version = version + 1,"
                        " updated_at = ?, updated_by = ? WHERE id = ?",
                        [new.status, selected_on, selected_on, clock.now(), user.username, row["id"]])


def record_assessment(db: Database, user: User, site_id: object, year: object, assessed_on: date | None, assessor: str | None,
                      kind: str | None, lines: list[R.Line], *, note: str | None = None,
                      expected_version: object = None, today: date | None = None) -> dict[str, Any]:
    """Record one year's assessment of a round: validates the state, the dates and every
    score line, computes total and result, writes the assessment, its lines and the status
    change in one transaction and one audit batch. Returns a summary dict."""
    today = _today(today)
    assessor = (assessor or "").strip()
    with uow.action(db, user, PERM, "assessment", "考评") as act:
        cur = act.cur
        row = _site_row(cur, site_id)
        _check_version(row, expected_version)
        state = state_of(row)
        y = R.check_assessment(state, year, assessed_on, today, row["name"])
        if not assessor:
            raise BadInput("请填写考评人（考评组或考评人员姓名）")
        if len(assessor) > 100:
            raise BadInput("考评人太长了：最多 100 个字")
        if kind not in R.KINDS:
            raise BadInput("请选择类型判定：" + "、".join(R.KINDS.values()))
        if note is not None and len(note) > 1000:
            raise BadInput("备注太长了：最多 1000 个字")
        rub = _rubric(cur, y, row["category"])
        if rub is None:
            raise BadInput(f"{y} 年还没有适用于「{CATEGORIES.get(row['category'], row['category'])}」的考评细则："
                           "请先在「年度计划与考评 → 考评细则」中建立")
        items = {r[0]: r for r in cur.execute("SELECT id, seq, item, kind, max_points FROM site_rubric_items"
                                             " WHERE rubric_id = ?", [rub["id"]]).fetchall()}
        given = [ln.rubric_item_id for ln in lines]
        if set(items) != set(given) or len(given) != len(items):
            raise BadInput("评分表与考评细则不一致（细则可能刚被修改）：请刷新页面，按最新的细则重新打分")
        # the rubric, not the caller, says what each line is and how much it is worth
        fixed = [R.Line(items[ln.rubric_item_id][1], items[ln.rubric_item_id][2], items[ln.rubric_item_id][3],
                        items[ln.rubric_item_id][4], ln.self_score, ln.score, ln.vetoed, ln.note, ln.rubric_item_id)
                 for ln in sorted(lines, key=lambda ln: (items[ln.rubric_item_id][1], ln.rubric_item_id))]
        res = R.score(fixed, Decimal(str(rub["pass_mark"])))
        new = R.after_assessment(state, y, res.result)
        change = (f"{R.status_label(state.status)}→{R.status_label(new.status)}" if new.status != state.status
                  else f"仍为{R.status_label(new.status)}")
        act.describe(f"考评：{row['name']} {y} 年度 {res.total} 分，{res.result_label}，{change}")
        aid = cur.execute("SELECT nextval('site_assessments_seq')").fetchone()[0]
        now = clock.now()
        with act.track("site_assessments", [aid]):
            cur.execute("INSERT INTO site_assessments (id, site_id, year, assessed_on, assessor, rubric_id, stage,"
                        " self_total, total, vetoed, result, kind, status_before, status_after, note, updated_at,"
                        " updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [aid, row["id"], y, assessed_on, assessor, rub["id"], R.stage_of(state.status),
                         res.self_total, res.total, res.vetoed, res.result, kind, state.status, new.status,
                         note or None, now, user.username])
        ids = [r[0] for r in cur.execute("SELECT nextval('site_assessment_lines_seq') FROM range(?)",
                                         [len(res.lines)]).fetchall()]
        frame = pl.DataFrame({
            "id": ids, "assessment_id": [aid] * len(ids),
            "rubric_item_id": [ln.rubric_item_id for ln in res.lines], "seq": [ln.seq for ln in res.lines],
            "item": [ln.item for ln in res.lines], "kind": [ln.kind for ln in res.lines],
            "max_points": [ln.max_points for ln in res.lines], "self_score": [ln.self_score for ln in res.lines],
            "score": [ln.score for ln in res.lines], "vetoed": [bool(ln.vetoed) for ln in res.lines],
            "note": [(str(ln.note).strip() or None) if ln.note is not None else None for ln in res.lines],
        }, schema={"id": pl.Int64, "assessment_id": pl.Int64, "rubric_item_id": pl.Int64, "seq": pl.Int64,
                   "item": pl.String, "kind": pl.String, "max_points": pl.Decimal(8, 2),
                   "self_score": pl.Decimal(8, 2), "score": pl.Decimal(8, 2), "vetoed": pl.Boolean,
                   "note": pl.String})
        with act.track("site_assessment_lines", ids):
            cur.register("new_lines", frame)
            cur.execute("INSERT INTO site_assessment_lines (id, assessment_id, rubric_item_id, seq, item, kind,"
                        " max_points, self_score, score, vetoed, note, updated_at, updated_by)"
                        " SELECT id, assessment_id, rubric_item_id, seq, item, kind, max_points, self_score, score,"
                        " vetoed, note, ?, ? FROM new_lines", [now, user.username])
            cur.unregister("new_lines")
        with act.track("sites", [row["id"]]):
            cur.execute("UPDATE sites SET status = ?, named_year = ?, last_assessed_year = ?, status_since = ?,"
                        " version = version + 1, updated_at = ?, updated_by = ? WHERE id = ?",
                        [new.status, new.named_year, new.last_year,
                         assessed_on if new.status != state.status else row["status_since"], now, user.username,
                         row["id"]])
    return {"assessment_id": aid, "batch_id": act.batch_id, "total": res.total, "self_total": res.self_total,
            "result": res.result, "vetoed": res.vetoed, "status_before": state.status,
            "status_after": new.status, "name": row["name"], "year": y}


def assessment_batch(db: Database, assessment_id: int) -> int | None:
    with db.read() as cur:
        row = cur.execute("SELECT batch_id FROM audit_log WHERE table_name = 'site_assessments' AND row_key = ?"
                          " AND action = 'insert' AND reverted_by IS NULL ORDER BY id DESC LIMIT 1",
                          [str(int(assessment_id))]).fetchone()
    return row[0] if row else None


def revert_assessment(db: Database, user: User, assessment_id: int) -> int:
    """Undo an assessment and the status change it caused (one audit batch)."""
    batch = assessment_batch(db, assessment_id)
    if batch is None:
        raise NotFound("找不到这次考评的录入记录（可能已经撤销）")
    return audit.revert_batch(db, user, batch)


def _count(raw: object, column: str, errors: ErrorCollector) -> int | None:
    """A whole number as typed (blank → 0), or None (with the error collected)."""
    try:
        return values.parse_int(raw) or 0
    except values.BadValue as exc:
        errors.add(None, column, raw, exc.message)
        return None


def save_plan(db: Database, user: User, year: object, planned: dict[str, object], named_target: object) -> int | None:
    """Save one year's plan (creating units per category and the number to be named).
    Returns the audit batch id, or None when nothing changed."""
    with uow.action(db, user, PERM, "site_plan", "示范点年度计划") as act:
        y = R.check_year(year)
        act.describe(f"示范点年度计划：{y} 年")
        errors = ErrorCollector()
        clean = {}
        for cat, label in CATEGORIES.items():
            v = _count(planned.get(cat, 0), label, errors)
            if v is not None and not 0 <= v <= 1000:
                errors.add(None, label, v, "应在 0—1000 之间")
            elif v is not None:
                clean[cat] = v
        for u in set(planned) - set(CATEGORIES):
            errors.add(None, "类别", u, "不是已知的类别")
        target = _count(named_target, "计划命名数", errors)
        errors.raise_if_any("年度计划有错误，没有保存：")
        assert target is not None
        if target < 0 or target > sum(clean.values()):
            raise BadInput(f"计划命名数 {target} 应在 0 到创建单位总数 {sum(clean.values())} 之间")
        cur, now = act.cur, clock.now()
        stored = {c: (i, p) for i, c, p in cur.execute(
            "SELECT id, category, planned FROM site_plans WHERE year = ?", [y]).fetchall()}
        with act.track("site_plans", [i for i, _ in stored.values()]) as added:
            for c, v in clean.items():
                if c not in stored:
                    added.add([cur.execute("INSERT INTO site_plans (year, category, planned, updated_by)"
                                           " VALUES (?, ?, ?, ?) RETURNING id", [y, c, v, user.username]).fetchone()[0]])
                elif stored[c][1] != v:
                    cur.execute("UPDATE site_plans SET planned = ?, version = version + 1, updated_at = ?,"
                                " updated_by = ? WHERE id = ?", [v, now, user.username, stored[c][0]])
        yr = cur.execute("SELECT id, named_target FROM site_plan_years WHERE year = ?", [y]).fetchone()
        with act.track("site_plan_years", [yr[0]] if yr else []) as added:
            if yr is None:
                added.add([cur.execute("INSERT INTO site_plan_years (year, named_target, updated_by) VALUES (?, ?, ?)"
                                       " RETURNING id", [y, target, user.username]).fetchone()[0]])
            elif yr[1] != target:
                cur.execute("UPDATE site_plan_years SET named_target = ?, version = version + 1, updated_at = ?,"
                            " updated_by = ? WHERE id = ?", [target, now, user.username, yr[0]])
    return act.batch_id


def copy_rubric(db: Database, user: User, source_id: int, year: object, category: str = ALL_CATEGORIES) -> int:
    """A new rubric for `year` (and category) with the items of an existing one."""
    with uow.action(db, user, PERM, "site_rubric", "新建考评细则（复制）") as act:
        cur = act.cur
        y = R.check_year(year)
        if category not in RUBRIC_CATEGORIES:
            raise BadInput(f"未知的类别「{category}」")
        src = cur.execute("SELECT name, pass_mark, note FROM site_rubrics WHERE id = ?", [int(source_id)]).fetchone()
        if src is None:
            raise NotFound("找不到要复制的考评细则")
        dup = cur.execute("SELECT name FROM site_rubrics WHERE year = ? AND category = ?", [y, category]).fetchone()
        if dup:
            raise BadInput(f"{y} 年已有「{RUBRIC_CATEGORIES[category]}」的考评细则「{dup[0]}」，不能再建一套")
        name = f"{y}年度示范点考评细则（{CATEGORIES.get(category, '通用')}）"
        if cur.execute("SELECT count(*) FROM site_rubrics WHERE name = ?", [name]).fetchone()[0]:
            name += f"-{uuid.uuid4().hex[:4]}"
        act.describe(f"新建考评细则：{name}（复制）")
        with act.track("site_rubrics", []) as added:
            rid = cur.execute("INSERT INTO site_rubrics (name, year, category, pass_mark, note, updated_by)"
                              " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                              [name, y, category, src[1], f"复制自「{src[0]}」", user.username]).fetchone()[0]
            added.add([rid])
        with act.track("site_rubric_items", []) as added:
            added.add(r[0] for r in cur.execute(
                "INSERT INTO site_rubric_items (rubric_id, seq, item, content, kind, max_points, scoring_rule,"
                " method, updated_by) SELECT ?, seq, item, content, kind, max_points, scoring_rule, method, ?"
                " FROM site_rubric_items WHERE rubric_id = ? ORDER BY seq, id RETURNING id",
                [rid, user.username, int(source_id)]).fetchall())
    return int(rid)


def update_people(db: Database, user: User, site_id: int, values: dict[str, object], version: int) -> SaveResult:
    """People and settings of a round (督查指导员、联络员、联系领导、责任单位、品牌、年检周期)
    through the ordinary table write path."""
    ch = Changes(updates={int(site_id): dict(values)}, versions={int(site_id): version},
                 row_numbers={int(site_id): 1})
    return tables.save(db, user, SITES_SPEC, ch, description="修改示范点联系人和设置")
