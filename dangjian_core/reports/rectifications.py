"""整改跟踪: the rectification chain (`rectification_items`, `rectification_escalations`):
`add_item`, `close_item`, `items`, `board` (overdue items with the proposed next level),
`counts`, `confirm_escalations`, `documents` (what was issued for an item)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from .. import clock, tables, uow
from ..auth import User, require
from ..db import Cursor, Database
from ..errors import BadInput, CellError, NotFound
from ..tables import Changes
from . import rules
from .model import LEVEL_NAMES, PERM, Id, Row, query, resolve_today
from .specs import ITEMS_SPEC, read_settings


def add_item(db: Database, user: User, *, unit_id: Id, problem: str, responsible: str, opened: date, deadline: date,
             measure: str | None = None, source: str = "supervision", session_id: Id | None = None) -> int:
    """A problem found (at a session or by supervision) becomes a level-1 item (问题整改意见单)."""
    values = {"unit_id": unit_id, "problem": problem, "responsible": responsible, "opened": opened,
              "deadline": deadline, "measure": measure, "source": source, "session_id": session_id}
    res = tables.save(db, user, ITEMS_SPEC, Changes(inserts=[values], row_numbers={("new", 0): 1}),
                      description=f"新增整改事项：{(problem or '')[:30]}")
    return int(res.new_keys[0])


def item_row(cur: Cursor, item_id: Id) -> Row:
    rows = query(cur, "SELECT r.*, o.name FROM rectification_items r LEFT JOIN orgs o ON o.id = r.unit_id WHERE r.id = ?",
                   params=[int(item_id)]).to_dicts()
    if not rows:
        raise NotFound(f"找不到第 {item_id} 号整改事项（可能已被删除），请刷新页面")
    return rows[0]


def close_item(db: Database, user: User, item_id: Id, closed_on: date, note: str | None = None, *, expected_version: object = None,
               today: date | None = None) -> None:
    """销号: the item is done on `closed_on` (not before it was opened, not after today)."""
    require(user, PERM)
    today = resolve_today(today)
    if not isinstance(closed_on, date):
        raise BadInput("请填写销号日期")
    with db.read() as cur:
        r = item_row(cur, item_id)
    rules.check_close(r["opened"], closed_on)
    if closed_on > today:
        raise BadInput(f"销号日期（{closed_on}）不能晚于今天")
    if r["closed"] is not None:
        raise BadInput(f"第 {r['id']} 号事项已于 {r['closed']} 销号")
    ch = Changes(updates={r["id"]: {"closed": closed_on, "close_note": (note or "").strip() or None}},
                 versions={r["id"]: expected_version if expected_version is not None else r["version"]},
                 row_numbers={r["id"]: r["id"]})
    tables.save(db, user, ITEMS_SPEC, ch, kind="rectification_close", description=f"整改销号：{r['name']} 第 {r['id']} 号")


def _items_frame(cur: Cursor) -> pl.DataFrame:
    return query(cur, "SELECT r.id AS item_id, CAST(r.unit_id AS BIGINT) AS unit_id, r.level, r.opened, r.deadline,"
                   " r.closed FROM rectification_items r")


def items(db: Database, *, status: str = "all") -> pl.DataFrame:
    """Items with unit names and their state (status: all / open / closed)."""
    where = {"all": "", "open": " WHERE r.closed IS NULL", "closed": " WHERE r.closed IS NOT NULL"}[status]
    with db.read() as cur:
        df = query(cur, "SELECT r.*, o.name, o.street, s.title AS session_title FROM rectification_items r"
                     " LEFT JOIN orgs o ON o.id = r.unit_id LEFT JOIN report_sessions s ON s.id = r.session_id"
                     + where + " ORDER BY r.closed IS NOT NULL, r.deadline, r.id")
    today = clock.today()
    return df.with_columns(
        level_name=pl.col("level").cast(pl.String).replace_strict({str(k): v for k, v in LEVEL_NAMES.items()},
                                                                  default=None),
        state=pl.when(pl.col("closed").is_not_null()).then(pl.lit("已销号"))
        .when(pl.col("deadline") < today).then(pl.lit("逾期")).otherwise(pl.lit("整改中")),
    )


def board(db: Database, today: date | None = None) -> pl.DataFrame:
    """逾期看板: open items past their deadline, most days overdue first, with the proposed next
    level (rules.escalation_proposals) and the unit, problem and responsible person."""
    today = resolve_today(today)
    with db.read() as cur:
        it = _items_frame(cur)
        st = read_settings(cur)
        days = int(st["escalation_days"])
        count = st.get("overdue_count") or "calendar"
        info = query(cur, "SELECT r.id AS item_id, o.name, o.street, r.problem, r.responsible, r.opened, r.version"
                       " FROM rectification_items r LEFT JOIN orgs o ON o.id = r.unit_id")
    if it.height == 0:
        return pl.DataFrame()
    prop = rules.escalation_proposals(it, today, days, count)
    return prop.join(info, on="item_id", how="left", maintain_order="left")


def counts(db: Database, today: date | None = None) -> Row:
    """Headline figures: open, overdue, and open items at each level."""
    today = resolve_today(today)
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


def _issued_at_level(cur: Cursor, r: Row) -> date:
    """When the item's current document was issued: 下发 for level 1, else its escalation."""
    opened: date = r["opened"]
    if int(r["level"]) == 1:
        return opened
    row = cur.execute("SELECT max(issued) FROM rectification_escalations WHERE item_id = ? AND to_level = ?",
                      [r["id"], int(r["level"])]).fetchone()
    issued: date = row[0] if row and row[0] is not None else opened
    return issued


def confirm_escalations(db: Database, user: User, confirm: list[tuple[int, int]], *, confirmed_on: date | None = None,
                        today: date | None = None, note: str | None = None) -> int:
    """The office confirms proposals: each (item_id, level it is at now) goes one level up,
    issued on `confirmed_on` (default today) with a new deadline `confirmed_on + 设置的天数`.
    Refused (nothing written) when an item is closed, not yet overdue on that day, already at
    level 3, or was escalated by someone else meanwhile; and for dates: not after today, not
    before the current document was issued, and never so far back that the new deadline has
    already passed (a document overdue at birth). Returns the audit batch id."""
    today = resolve_today(today)
    confirmed_on = confirmed_on or today
    with uow.action(db, user, PERM, "rectification_escalate", "确认整改升级") as act:
        cur = act.cur
        if not confirm:
            raise BadInput("请先选择要确认升级的事项")
        if confirmed_on > today:
            raise BadInput("确认日期不能晚于今天")
        days = int(read_settings(cur)["escalation_days"])
        plan, errors = [], []
        for item_id, level in confirm:
            r = item_row(cur, item_id)
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
        act.describe(f"确认整改升级 {len(plan)} 项：{names}")
        ids = [r[0] for r in cur.execute("SELECT nextval('rectification_escalations_seq') FROM range(?)",
                                         [len(plan)]).fetchall()]
        now = clock.now()
        with act.track("rectification_items", [r["id"] for r, _ in plan]), \
                act.track("rectification_escalations", []) as escalated:
            for eid, (r, e) in zip(ids, plan):
                cur.execute("INSERT INTO rectification_escalations (id, item_id, from_level, to_level, issued, deadline,"
                            " from_deadline, days_overdue, note, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [eid, r["id"], r["level"], e.level, e.issued, e.deadline, r["deadline"],
                             (confirmed_on - r["deadline"]).days, (note or "").strip() or None, now, user.username])
                cur.execute("UPDATE rectification_items SET level = ?, deadline = ?, version = version + 1, updated_at = ?,"
                            " updated_by = ? WHERE id = ?", [e.level, e.deadline, now, user.username, r["id"]])
            escalated.add(ids)
    assert act.batch_id is not None  # a confirmed plan always writes
    return act.batch_id


def escalations(db: Database, item_id: Id) -> pl.DataFrame:
    with db.read() as cur:
        return query(cur, "SELECT * FROM rectification_escalations WHERE item_id = ? ORDER BY issued, id",
                       params=[int(item_id)])


def documents(db: Database, item_id: Id) -> list[Row]:
    """The documents issued for an item: level, name, issued, deadline (level 1 first)."""
    with db.read() as cur:
        r = item_row(cur, item_id)
    esc = escalations(db, item_id).to_dicts()
    first_deadline = esc[0]["from_deadline"] if esc else r["deadline"]
    docs = [{"level": 1, "name": LEVEL_NAMES[1], "issued": r["opened"], "deadline": first_deadline, "days_overdue": None}]
    docs += [{"level": e["to_level"], "name": LEVEL_NAMES[e["to_level"]], "issued": e["issued"], "deadline": e["deadline"],
              "days_overdue": e["days_overdue"]} for e in esc]
    return docs
