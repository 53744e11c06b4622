"""述职评议 sessions (`report_sessions`): read them, `create_year` makes the six default
sessions of a year, `update_session` edits a draft one (same checks as the table editor)."""

from __future__ import annotations

from typing import Any

import polars as pl

from .. import tables, uow
from ..auth import User
from ..db import Cursor, Database
from ..errors import BadInput, NotFound
from ..tables import Changes
from . import rules
from .model import KINDS, PERM, Id, Row, query, to_int
from .specs import SESSIONS_SPEC, read_settings


def session_row(cur: Cursor, session_id: object) -> Row:
    sid = to_int(session_id, "请选择述职场次")
    rows = query(cur, "SELECT * FROM report_sessions WHERE id = ?", params=[sid]).to_dicts()
    if not rows:
        raise NotFound("找不到这一场述职（可能已被删除），请刷新页面")
    return rows[0]


def session(db: Database, session_id: object) -> Row:
    with db.read() as cur:
        return session_row(cur, session_id)


def years(db: Database) -> list[int]:
    with db.read() as cur:
        return [r[0] for r in cur.execute("SELECT DISTINCT year FROM report_sessions ORDER BY year").fetchall()]


def sessions(db: Database, year: int | None = None) -> pl.DataFrame:
    """Sessions (of a year) with their numbers of picked units and of units with votes, and
    who published each by name (`published_by_name`: the user's 姓名, else the login name)."""
    with db.read() as cur:
        return query(cur,
            "SELECT s.*, (SELECT count(*) FROM report_picks p WHERE p.session_id = s.id AND p.status = 'picked') AS n_picked,"
            " (SELECT count(*) FROM report_votes v WHERE v.session_id = s.id) AS n_votes,"
            " coalesce((SELECT u.display_name FROM users u WHERE u.username = s.published_by), s.published_by)"
            " AS published_by_name"
            " FROM report_sessions s" + (" WHERE s.year = ?" if year is not None else "")
            + " ORDER BY s.session_date, s.id", params=[int(year)] if year is not None else None)


def session_label(row: Row) -> str:
    d = row["session_date"]
    return f"{row['title']}（{d:%m月%d日}，{KINDS.get(row['kind'], row['kind'])}）"


def create_year(db: Database, user: User, year: Id) -> list[int]:
    """The six default sessions of a year (rules.default_sessions), with the default
    capacity, start time and time per unit from the settings. Returns the new ids."""
    with uow.action(db, user, PERM, "report_sessions", "生成年度述职场次") as act:
        y = parse_year(year)
        act.describe(f"生成 {y} 年述职场次（6 场）")
        n = act.cur.execute("SELECT count(*) FROM report_sessions WHERE year = ?", [y]).fetchone()[0]
        if n:
            raise BadInput(f"{y} 年已有 {n} 场述职安排，不能重复生成；日期可在表格中直接修改")
        with act.track("report_sessions", []) as tracked:
            ids = insert_sessions(act.cur, y, rules.default_sessions(y), read_settings(act.cur), user.username)
            tracked.add(ids)
    return ids


def parse_year(year: Id) -> int:
    """A year the office may plan (2000–2100), or BadInput in Chinese."""
    y = to_int(year, f"年度「{year}」无效")
    if not 2000 <= y <= 2100:
        raise BadInput(f"年度「{y}」无效，应在 2000–2100 之间")
    return y


def insert_sessions(cur: Cursor, year: int, plan: list[Any], s: Row, who: str, status: str = "draft") -> list[int]:
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


def update_session(db: Database, user: User, session_id: Id, values: Row, version: object = None) -> tables.SaveResult:
    """Change a draft session's date, theme, capacity, … (same checks as the table editor)."""
    ch = Changes(updates={int(session_id): dict(values)}, versions={int(session_id): version},
                 row_numbers={int(session_id): 1})
    return tables.save(db, user, SESSIONS_SPEC, ch, description="修改述职场次")
