"""述职评议 picks (`report_picks`): `draft_picks` fills the free places by the rule
(rules.pick_units: lowest progress first, 120-day cool-down, ties by time since the last
report), keeping what the office locked, swapped in or added; `lock_pick`, `swap_pick`,
`add_pick` (swap and add need a note); `publish` freezes the list and stores every unit's
score of that moment (`report_session_scores`, read by `effect`); `coverage` of a year."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from .. import clock, uow
from ..auth import User
from ..db import Cursor, Database
from ..errors import BadInput, NotFound
from . import rules
from .indicators import Scores, compute_scores, units_frame
from .model import MAX_NOTE, PERM, Id, Row, check_version, keys_frame, query, required_note, resolve_today, to_int
from .sessions import session_row
from .specs import read_settings


def report_history(cur: Cursor) -> pl.DataFrame:
    """Past duty reports: the picked units of published sessions, dated by the session."""
    return query(cur, "SELECT CAST(p.unit_id AS BIGINT) AS unit_id, s.session_date AS date FROM report_picks p"
                   " JOIN report_sessions s ON s.id = p.session_id"
                   " WHERE s.status = 'published' AND p.status = 'picked'")


def _check_draft(s: Row) -> None:
    if s["status"] == "published":
        raise BadInput(f"{s['title']}的名单已发布，已经冻结，不能再调整；确需调整请在「操作记录」中撤销发布")


@dataclass
class Ranking:
    """The rule's full ranking for a session (`ranked`: rules.pick_units columns plus
    street), and notes for the office."""

    session: Row
    as_of: date
    ranked: pl.DataFrame
    notes: list[str] = field(default_factory=list)


def rank_units(cur: Cursor, s: Row, today: date, *, exclude: Iterable[object] = (), capacity: int | None = None,
          sc: Scores | None = None) -> tuple[pl.DataFrame, Scores, list[str]]:
    as_of = min(s["session_date"], today)
    if sc is None or sc.as_of != as_of:
        sc = compute_scores(cur, as_of)
    cooldown = int(read_settings(cur)["cooldown_days"])
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
    ranked = rules.pick_units(scored.select("unit_id", "name", "progress"), report_history(cur), s["session_date"], n,
                              cooldown, lagging=sc.table.select("unit_id", "lagging"), exclude=exclude, today=today)
    notes += rules.pick_notes(ranked, units.height, n, cooldown) if capacity is not None else []
    ranked = ranked.join(units.select("unit_id", "street"), on="unit_id", how="left", maintain_order="left")
    return ranked, sc, notes


def ranking(db: Database, session_id: Id, today: date | None = None, *, sc: Scores | None = None) -> Ranking:
    """Every unit in the rule's order for this session, with the reason in Chinese. `sc`:
    the scores as of the session's date (or today, if earlier) when the caller has them
    for the database as it is now (else they are computed)."""
    with db.read() as cur:
        s = session_row(cur, session_id)
        ranked, sc, notes = rank_units(cur, s, resolve_today(today), sc=sc)
    return Ranking(s, sc.as_of, ranked, notes)


def picks(db: Database, session_id: Id) -> pl.DataFrame:
    """The session's list (picked first, in notice order; then units swapped out)."""
    with db.read() as cur:
        return query(cur,
            "SELECT p.id, p.unit_id, o.name, o.street, o.secretary, p.status, p.source, p.locked, p.rule_rank,"
            " p.progress, p.reason, p.note, p.replaces_id, p.version, p.updated_by, p.updated_at"
            " FROM report_picks p LEFT JOIN orgs o ON o.id = p.unit_id WHERE p.session_id = ?"
            " ORDER BY p.status = 'removed', p.source = 'added', p.progress NULLS LAST, p.unit_id",
            params=[int(session_id)]).with_columns(
                pl.int_range(1, pl.len() + 1).over("status").alias("order"))


@dataclass
class DraftResult:
    """`scores` (when the rule ranked units): the scores the list was drawn from, which are
    also every unit's scores after the draft (a draft changes no indicator input), i.e. at
    `db.generation == generation`."""

    picked: int
    kept: int
    notes: list[str]
    batch_id: int | None
    scores: Scores | None = None
    generation: int | None = None


def draft_picks(db: Database, user: User, session_id: Id, *, today: date | None = None,
                known: tuple[int, Scores] | None = None) -> DraftResult:
    """生成/重新生成建议名单: keep locked, swapped-in and added units (and remember units swapped
    out), drop the other rule picks, and fill the free places by the rule. `known`:
    (db.generation, scores) the caller already holds (a page's cached read); they are used
    when no write has been committed since (checked under the write lock) and their date is
    the session's, else the scores are computed anew."""
    today = resolve_today(today)
    sc: Scores | None = None
    with uow.action(db, user, PERM, "report_pick", "生成述职建议名单") as act:
        cur = act.cur
        generation = db.generation  # no other write can commit while this one is open
        s = session_row(cur, session_id)
        _check_draft(s)
        rules.check_capacity(int(s["capacity"]))
        if known is not None and known[0] == generation and known[1].as_of == min(s["session_date"], today):
            sc = known[1]
        act.describe(f"生成述职建议名单：{s['title']}")
        rows = query(cur, "SELECT id, unit_id, status, source, locked FROM report_picks WHERE session_id = ?",
                       params=[s["id"]])
        keep_mask = (pl.col("status") == "removed") | (pl.col("source") != "rule") | pl.col("locked")
        keep, drop = rows.filter(keep_mask), rows.filter(~keep_mask)
        slots = int(s["capacity"]) - keep.filter((pl.col("status") == "picked") & (pl.col("source") != "added")).height
        notes: list[str] = []
        with act.track("report_picks", drop["id"].to_list()) as tracked:
            if drop.height:
                with keys_frame(cur, "drop_picks", drop["id"].to_list()):
                    cur.execute("DELETE FROM report_picks WHERE id IN (SELECT k FROM drop_picks)")
            picked = pl.DataFrame()
            if slots > 0:
                picked, sc, notes = rank_units(cur, s, today, exclude=keep["unit_id"].to_list(), capacity=slots, sc=sc)
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
                tracked.add(ids)
    return DraftResult(picked.height, keep.filter(pl.col("status") == "picked").height, notes, act.batch_id,
                       sc, generation + 1 if sc is not None else None)


def _pick_row(cur: Cursor, pick_id: Id) -> Row:
    rows = query(cur, "SELECT p.*, o.name FROM report_picks p LEFT JOIN orgs o ON o.id = p.unit_id WHERE p.id = ?",
                   params=[int(pick_id)]).to_dicts()
    if not rows:
        raise NotFound("名单中找不到这个单位（名单可能刚被重新生成），请刷新页面")
    return rows[0]


def _listed_pick(cur: Cursor, pick_id: Id, expected_version: int | None, refused: str = "") -> tuple[Row, Row]:
    """(pick, session) of a unit on a draft list, as the form saw it (version), still picked."""
    p = _pick_row(cur, pick_id)
    s = session_row(cur, p["session_id"])
    _check_draft(s)
    check_version(p, expected_version, f"「{p['name']}」")
    if p["status"] != "picked":
        raise BadInput(f"「{p['name']}」已被调出名单{refused}")
    return p, s


def _update_pick(act: uow.Action, pick_id: int, sets: dict[str, object]) -> None:
    cols = ", ".join(f"{c} = ?" for c in sets)
    with act.track("report_picks", [pick_id]):
        act.cur.execute(f"UPDATE report_picks SET {cols}, version = version + 1, updated_at = ?, updated_by = ? WHERE id = ?",
                        [*sets.values(), clock.now(), act.user.username, pick_id])


def lock_pick(db: Database, user: User, pick_id: Id, locked: bool = True, note: str | None = None, *,
              expected_version: int | None = None) -> None:
    """Lock a picked unit (it stays when the list is regenerated) or unlock it."""
    with uow.action(db, user, PERM, "report_pick", "锁定述职单位") as act:
        if note is not None and len(note.strip()) > MAX_NOTE:
            raise BadInput(f"说明太长了：最多 {MAX_NOTE} 个字")
        p, s = _listed_pick(act.cur, pick_id, expected_version, "，不能锁定")
        act.describe(f"{'锁定' if locked else '解除锁定'}述职单位：{s['title']} {p['name']}")
        sets: dict[str, object] = {"locked": bool(locked)}
        if note and note.strip():
            sets["note"] = note.strip()
        _update_pick(act, p["id"], sets)


def unit_row(cur: Cursor, unit_id: Id) -> Row:
    uid = to_int(unit_id, "请选择单位")
    row = cur.execute("SELECT id, name FROM orgs WHERE id = ?", [uid]).fetchone()
    if row is None:
        raise NotFound("找不到这个单位（可能已被删除）")
    return {"id": row[0], "name": row[1]}


def _unit_in_session(cur: Cursor, session_id: int, unit: Row) -> None:
    row = cur.execute("SELECT status FROM report_picks WHERE session_id = ? AND unit_id = ? LIMIT 1",
                      [session_id, unit["id"]]).fetchone()
    if row is not None:
        where = "已在本场名单中" if row[0] == "picked" else "已从本场名单中调出"
        raise BadInput(f"「{unit['name']}」{where}，不能重复加入；如需恢复请在「操作记录」中撤销那次调整")


def _insert_manual_pick(act: uow.Action, s: dict[str, Any], unit: dict[str, Any], source: str, note: str, today: date,
                        replaces: dict[str, Any] | None) -> int:
    cur = act.cur
    sc = compute_scores(cur, min(s["session_date"], today))
    row = sc.table.filter(pl.col("unit_id") == unit["id"]).to_dicts()
    progress = row[0]["progress"] if row else None
    lag = row[0]["lagging"] if row else None
    what = f"调换：替换「{replaces['name']}」" if replaces else "办公室增加"
    score = "无指标数据" if progress is None else f"进度分 {progress:g}"
    reason = f"{what}（说明：{note}）；{score}" + (f"；滞后指标：{lag}" if lag and lag != rules.ALL_TARGETS_MET else "")
    pid = int(cur.execute("SELECT nextval('report_picks_seq')").fetchone()[0])
    with act.track("report_picks", [pid]):
        cur.execute("INSERT INTO report_picks (id, session_id, unit_id, status, source, locked, progress, reason, note,"
                    " replaces_id, updated_by) VALUES (?, ?, ?, 'picked', ?, false, ?, ?, ?, ?, ?)",
                    [pid, s["id"], unit["id"], source, progress, reason, note, replaces["id"] if replaces else None,
                     act.user.username])
    return pid


def swap_pick(db: Database, user: User, pick_id: Id, unit_id: Id, note: str, *,
              expected_version: int | None = None, today: date | None = None) -> int:
    """Replace a picked unit by another (a note is required). Returns the new pick's id."""
    today = resolve_today(today)
    with uow.action(db, user, PERM, "report_pick", "调换述职单位") as act:
        note = required_note(note, "调换单位")
        p, s = _listed_pick(act.cur, pick_id, expected_version)
        if p["locked"]:
            raise BadInput(f"「{p['name']}」已锁定：确需调换请先解除锁定")
        unit = unit_row(act.cur, unit_id)
        _unit_in_session(act.cur, s["id"], unit)
        act.describe(f"调换述职单位：{s['title']} {p['name']} → {unit['name']}")
        _update_pick(act, p["id"], {"status": "removed", "locked": False, "note": f"调出：{note}"})
        return _insert_manual_pick(act, s, unit, "added" if p["source"] == "added" else "swap",
                                   note, today, {"id": p["id"], "name": p["name"]})


def add_pick(db: Database, user: User, session_id: Id, unit_id: Id, note: str, *, today: date | None = None) -> int:
    """Add a unit beyond the rule's list (a note is required). Returns the new pick's id."""
    today = resolve_today(today)
    with uow.action(db, user, PERM, "report_pick", "增加述职单位") as act:
        note = required_note(note, "增加单位")
        s = session_row(act.cur, session_id)
        _check_draft(s)
        unit = unit_row(act.cur, unit_id)
        _unit_in_session(act.cur, s["id"], unit)
        act.describe(f"增加述职单位：{s['title']} {unit['name']}")
        return _insert_manual_pick(act, s, unit, "added", note, today, None)


@dataclass
class PublishResult:
    picked: int
    scored: int
    batch_id: int | None


def publish(db: Database, user: User, session_id: Id, *, expected_version: int | None = None,
            today: date | None = None) -> PublishResult:
    """发布名单: freeze the session and its list; store every unit's score of this moment."""
    today = resolve_today(today)
    with uow.action(db, user, PERM, "report_publish", "发布述职名单") as act:
        cur = act.cur
        s = session_row(cur, session_id)
        _check_draft(s)
        check_version(s, expected_version, s["title"])
        n = int(cur.execute("SELECT count(*) FROM report_picks WHERE session_id = ? AND status = 'picked'", [s["id"]]).fetchone()[0])
        if not n:
            raise BadInput(f"{s['title']}还没有述职单位：请先点「生成建议名单」")
        act.describe(f"发布述职名单：{s['title']}（{n} 个单位）")
        with act.track("report_sessions", [s["id"]]):
            cur.execute("UPDATE report_sessions SET status = 'published', published_at = ?, published_by = ?,"
                        " version = version + 1, updated_at = ?, updated_by = ? WHERE id = ?",
                        [clock.now(), user.username, clock.now(), user.username, s["id"]])
        scored = snapshot_scores(cur, s["id"], compute_scores(cur, min(s["session_date"], today)))
    return PublishResult(n, scored, act.batch_id)


def snapshot_scores(cur: Cursor, session_id: int, sc: Scores) -> int:
    t = sc.table.filter(pl.col("progress").is_not_null()).select(
        pl.lit(session_id, dtype=pl.Int64).alias("session_id"), "unit_id", "progress",
        pl.col("n_indicators").cast(pl.Int64), "lagging")
    cur.execute("DELETE FROM report_session_scores WHERE session_id = ?", [session_id])
    cur.register("snap", t)
    cur.execute("INSERT INTO report_session_scores SELECT session_id, unit_id, progress, n_indicators, lagging FROM snap")
    cur.unregister("snap")
    return t.height


def coverage(db: Database, year: int) -> pl.DataFrame:
    """Who reported in the year and who never has (rules.coverage), with streets."""
    with db.read() as cur:
        units = units_frame(cur)
        hist = report_history(cur)
    return rules.coverage(hist, units.select("unit_id", "name", "street"), int(year)).join(
        units.select("unit_id", "street"), on="unit_id", how="left", maintain_order="left")
