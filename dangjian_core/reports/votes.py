"""述职评议 appraisal votes (`report_votes`): `record_votes` (one unit, or a correction),
`import_votes` (a filled 测评表), `votes` / `year_votes` rank them, `vote_sheet_xlsx`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from .. import clock, fileio, uow
from ..auth import User, require
from ..db import Cursor, Database
from ..errors import BadInput, CellError, ConflictError
from ..tables import ImportPreview
from . import rules
from .model import GRADE_LABELS, PERM, Id, Row, query, resolve_today
from .notices import notice
from .picks import unit_row
from .sessions import session_row


def _vote_session(cur: Cursor, session_id: Id, today: date) -> Row:
    s = session_row(cur, session_id)
    if s["status"] != "published":
        raise BadInput(f"{s['title']}的名单还没有发布：发布并召开述职会后才能录入测评票")
    if s["session_date"] > today:
        raise BadInput(f"{s['title']}定于 {s['session_date']} 召开，还没有召开，不能录入测评票")
    return s


def _picked_units(cur: Cursor, session_id: int) -> dict[int, str]:
    return {r[0]: r[1] for r in cur.execute(
        "SELECT p.unit_id, o.name FROM report_picks p LEFT JOIN orgs o ON o.id = p.unit_id"
        " WHERE p.session_id = ? AND p.status = 'picked'", [session_id]).fetchall()}


KEEP = object()  # "leave the stored value as it is" (a field the user did not give)
_VOTE_FIELDS = ("voters", *rules.GRADE_COLUMNS, "comments")


def _stored_votes(cur: Cursor, session_id: int) -> dict[int, Row]:
    rows = query(cur, "SELECT id, CAST(unit_id AS BIGINT) AS unit_id, voters, good, fairly_good, average, poor, comments,"
                   " version FROM report_votes WHERE session_id = ?", params=[int(session_id)]).to_dicts()
    return {r["unit_id"]: r for r in rows}


def _vote_changes(stored: dict[int, Row], rows: list[Row]) -> tuple[list[Row], list[Row], int]:
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


def _write_votes(act: uow.Action, session_id: int, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Insert or update one vote row per unit (rows: unit_id, voters, good, …, comments —
    `KEEP` or a missing field keeps the stored value); only rows that change are written."""
    cur, who = act.cur, act.user.username
    stored = _stored_votes(cur, session_id)
    existing = {u: r["id"] for u, r in stored.items()}
    ins, upd, _ = _vote_changes(stored, rows)
    now = clock.now()
    with act.track("report_votes", [existing[r["unit_id"]] for r in upd]) as tracked:
        if upd:
            frame = pl.DataFrame([{**r, "id": existing[r["unit_id"]]} for r in upd]).select(
                pl.col("id").cast(pl.Int64), *[pl.col(c).cast(pl.Int64) for c in ("voters", *rules.GRADE_COLUMNS)],
                pl.col("comments").cast(pl.String))
            cur.register("upd_votes", frame)
            cur.execute("UPDATE report_votes AS t SET voters = f.voters, good = f.good, fairly_good = f.fairly_good,"
                        " average = f.average, poor = f.poor, comments = f.comments, version = t.version + 1,"
                        " updated_at = ?, updated_by = ? FROM upd_votes f WHERE t.id = f.id", [now, who])
            cur.unregister("upd_votes")
        if ins:
            ids = [r[0] for r in cur.execute("SELECT nextval('report_votes_seq') FROM range(?)", [len(ins)]).fetchall()]
            frame = pl.DataFrame([{**r, "id": i} for r, i in zip(ins, ids)]).select(
                pl.col("id").cast(pl.Int64), pl.col("unit_id").cast(pl.Int64),
                *[pl.col(c).cast(pl.Int64) for c in ("voters", *rules.GRADE_COLUMNS)], pl.col("comments").cast(pl.String))
            cur.register("ins_votes", frame)
            cur.execute("INSERT INTO report_votes (id, session_id, unit_id, voters, good, fairly_good, average, poor,"
                        " comments, updated_at, updated_by) SELECT id, ?, unit_id, voters, good, fairly_good, average, poor,"
                        " comments, ?, ? FROM ins_votes", [session_id, now, who])
            cur.unregister("ins_votes")
            tracked.add(ids)
    return len(ins), len(upd)


def record_votes(db: Database, user: User, session_id: Id, unit_id: Id, good: object, fairly_good: object,
                 average: object, poor: object, voters: object, comments: object = KEEP, *,
                 expected_version: int | None = None, today: date | None = None) -> int | None:
    """Record (or correct) one unit's appraisal votes. A correction writes only what changed:
    `comments` left out (KEEP) keeps the saved 评议意见; an unchanged form writes nothing
    (returns None). `expected_version` is the version the form was filled from (0: no votes
    yet) — a row changed by someone else since refuses the save. Returns the audit batch id."""
    with uow.action(db, user, PERM, "report_votes", "录入测评票") as act:
        cur = act.cur
        tally = rules.tally_votes(good, fairly_good, average, poor, voters)
        if comments is not KEEP:
            comments = (str(comments or "")).strip() or None
            if comments and len(comments) > 1000:
                raise BadInput("评议意见太长了：最多 1000 个字")
        s = _vote_session(cur, session_id, resolve_today(today))
        unit = unit_row(cur, unit_id)
        if unit["id"] not in _picked_units(cur, s["id"]):
            raise BadInput(f"「{unit['name']}」不在{s['title']}的述职名单中，不能录入它的测评票")
        old = _stored_votes(cur, s["id"]).get(unit["id"])
        if expected_version is not None and (old["version"] if old else 0) != int(expected_version):
            raise ConflictError(f"「{unit['name']}」的测评票在您打开之后已被别人修改，您的修改没有保存："
                                "请刷新页面，核对最新的票数后再改。")
        row = {"unit_id": unit["id"], "voters": tally.voters, "good": tally.good, "fairly_good": tally.fairly_good,
               "average": tally.average, "poor": tally.poor, "comments": comments}
        act.describe(f"{'更正' if old else '录入'}测评票：{s['title']} {unit['name']}")
        _write_votes(act, s["id"], [row])
    return act.batch_id


def votes(db: Database, session_id: Id) -> pl.DataFrame:
    """The session's votes with the 好+较好 rate and the rank (rules.rank_votes)."""
    with db.read() as cur:
        v = query(cur, "SELECT v.id, CAST(v.unit_id AS BIGINT) AS unit_id, o.name, v.voters, v.good, v.fairly_good,"
                    " v.average, v.poor, v.comments, v.version FROM report_votes v LEFT JOIN orgs o ON o.id = v.unit_id"
                    " WHERE v.session_id = ? ORDER BY v.unit_id", params=[int(session_id)])
    if v.height == 0:
        return v.with_columns(good_rate=pl.lit(None, dtype=pl.Float64), rank=pl.lit(None, dtype=pl.Int64))
    return rules.rank_votes(v)


def year_votes(db: Database, year: int) -> pl.DataFrame:
    """The year's roll-up: each unit's votes summed over all its sessions of that year, with
    the 好+较好 rate of the sums, the rank among the year's units and how many sessions."""
    with db.read() as cur:
        v = query(cur, "SELECT CAST(v.unit_id AS BIGINT) AS unit_id, any_value(o.name) AS name,"
                    " CAST(sum(v.voters) AS BIGINT) AS voters, CAST(sum(v.good) AS BIGINT) AS good,"
                    " CAST(sum(v.fairly_good) AS BIGINT) AS fairly_good, CAST(sum(v.average) AS BIGINT) AS average,"
                    " CAST(sum(v.poor) AS BIGINT) AS poor, CAST(count(*) AS BIGINT) AS sessions"
                    " FROM report_votes v JOIN report_sessions s ON s.id = v.session_id"
                    " LEFT JOIN orgs o ON o.id = v.unit_id WHERE s.year = ? GROUP BY v.unit_id ORDER BY v.unit_id",
                    params=[int(year)])
    if v.height == 0:
        return v.with_columns(good_rate=pl.lit(None, dtype=pl.Float64), rank=pl.lit(None, dtype=pl.Int64))
    return rules.rank_votes(v).sort("rank", "unit_id")


VOTE_HEADERS = {"单位": "name", "参评人数": "voters", "好": "good", "较好": "fairly_good", "一般": "average",
                "差": "poor", "评议意见": "comments"}
_VOTE_ALIASES = {"单位名称": "name", "name": "name", "unit": "name", "unit_id": "unit_id", "单位编号": "unit_id",
                 "voters": "voters", "实到人数": "voters", "good": "good", "fairly_good": "fairly_good",
                 "average": "average", "poor": "poor", "意见": "comments", "comments": "comments", "备注": "comments"}


def vote_sheet_xlsx(db: Database, session_id: Id) -> bytes:
    """A blank 测评表 for the session (one row per unit in notice order), to fill and import."""
    s, table = notice(db, session_id)
    v = votes(db, session_id)
    done = {r["name"]: r for r in v.iter_rows(named=True)} if v.height else {}
    rows: dict[str, list[Any]] = {k: [] for k in VOTE_HEADERS}
    for name in table["单位"].to_list():
        r = done.get(name, {})
        rows["单位"].append(name)
        for zh, code in list(VOTE_HEADERS.items())[1:]:
            rows[zh].append(r.get(code))
    df = pl.DataFrame(rows, schema={"单位": pl.String, "参评人数": pl.Int64, "好": pl.Int64, "较好": pl.Int64,
                                    "一般": pl.Int64, "差": pl.Int64, "评议意见": pl.String})
    return fileio.xlsx_bytes({f"{s['title']}测评表": df})


def _whole(raw: object) -> int | None:
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


def import_votes(db: Database, user: User, session_id: Id, frame: fileio.Frame, *, commit: bool = False,
                 today: date | None = None) -> ImportPreview:
    """Import a filled 测评表 (单位, 参评人数, 好, 较好, 一般, 差, 评议意见): every row checked
    (unit in the session's list and not repeated, whole numbers, the four grades adding up to
    the voters), then all rows written as one batch — or nothing, each error by row and column."""
    require(user, PERM)
    today = resolve_today(today)
    rename: dict[str, str] = {}
    errors: list[CellError] = []
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
    rows: list[Row] = []
    seen: dict[int, int] = {}
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
        # no 评议意见 column, or a blank cell: the saved 评议意见 stays (a sheet of numbers
        # never wipes what was written about a unit)
        text = str(raw["comments"]).strip() if raw.get("comments") is not None else ""
        comments: object = text or KEEP
        if len(text) > 1000:
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
    with uow.action(db, user, PERM, "report_votes", f"导入测评表：{s['title']}（{frame.file}）") as act:
        _vote_session(act.cur, session_id, today)
        _write_votes(act, s["id"], rows)
    preview.committed, preview.batch_id = True, act.batch_id
    return preview
