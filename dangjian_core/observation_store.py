"""观摩互进 — the database side: events, their hosts, the arrangement, the rubric and scores.

* Tables (migration 040): `obs_events` (mode, days, slots and start times, visits per
  delegation, the previous round), `obs_hosts` (org + capacity per event), `obs_visits` (the
  arrangement; `locked` = placed by hand, kept when re-solving), `obs_rubric_items` (评分细则
  per event: item, points) and `obs_scores` (one row per delegation, host and item).
* The pure problem, solver, checker and roll-up are `observation.py` / `observation_solver.py`;
  this module turns the stored event into an `observation.Problem` (`problem_for`), stores
  plans, scores and tier decisions, and builds the 观摩活动安排表 and score sheets.
* Every write checks the permission (`observation.write`; tier changes `orgs.write` through
  `tables.save` on the orgs spec) and is audited as one batch; bad input raises `BadInput`
  with Chinese `CellError`s and writes nothing.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

import polars as pl

from . import audit, fileio
from . import observation as O
from . import orgs as orgs_mod
from .auth import User, require
from .errors import BadInput, CellError, NotFound, ValidationFailed

PERM = "observation.write"
TABLES = {"obs_events": "观摩活动", "obs_hosts": "观摩点", "obs_visits": "观摩安排",
          "obs_rubric_items": "观摩评分细则", "obs_scores": "观摩评分"}
for _t, _l in TABLES.items():
    audit.register_table(_t, _l, "id", PERM)

ACTIVE_SITE_STATUSES = ("creating", "named", "consolidating")
DEFAULT_RUBRIC = [("阵地建设", 25), ("组织生活", 25), ("特色亮点", 25), ("群众评价", 25)]
SHEET = "评分表"
SHEET_HEADER = ["观摩团", "观摩点编号", "观摩点", "评分项目", "满分", "得分"]
_TIME = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)$")


# =========================================================================== helpers
def _keys(cur, name: str, keys) -> None:
    cur.register(name, pl.DataFrame({"k": [int(k) for k in keys]}, schema={"k": pl.Int64}))


def _insert(cur, batch: int, user: User, table: str, frame: pl.DataFrame) -> list[int]:
    """Insert `frame` (without id/version columns) with fresh ids; audit each row."""
    if frame.height == 0:
        return []
    ids = [r[0] for r in cur.execute(f"SELECT nextval('{table}_seq') FROM range(?)", [frame.height]).fetchall()]
    frame = frame.with_columns(pl.Series("id", ids, dtype=pl.Int64), pl.lit(user.username).alias("updated_by"))
    cols = ", ".join(frame.columns)
    cur.register("obs_ins_frame", frame)
    try:
        cur.execute(f"INSERT INTO {table}({cols}) SELECT {cols} FROM obs_ins_frame")
    finally:
        cur.unregister("obs_ins_frame")
    after = audit.rows_json(cur, table, "id", ids)
    audit.record_many(cur, batch, user, table, pl.DataFrame(
        {"row_key": [str(i) for i in ids], "action": ["insert"] * len(ids), "before": [None] * len(ids),
         "after": [after.get(str(i)) for i in ids]},
        schema={"row_key": pl.String, "action": pl.String, "before": pl.String, "after": pl.String}))
    return ids


def _delete(cur, batch: int, user: User, table: str, where: str, params: list) -> int:
    ids = [r[0] for r in cur.execute(f"SELECT id FROM {table} WHERE {where}", params).fetchall()]
    if not ids:
        return 0
    before = audit.rows_json(cur, table, "id", ids)
    audit.record_many(cur, batch, user, table, pl.DataFrame(
        {"row_key": [str(i) for i in ids], "action": ["delete"] * len(ids),
         "before": [before.get(str(i)) for i in ids], "after": [None] * len(ids)},
        schema={"row_key": pl.String, "action": pl.String, "before": pl.String, "after": pl.String}))
    _keys(cur, "obs_del_keys", ids)
    try:
        cur.execute(f"DELETE FROM {table} WHERE id IN (SELECT k FROM obs_del_keys)")
    finally:
        cur.unregister("obs_del_keys")
    return len(ids)


def _site_ids(cur) -> set[int]:
    try:
        return {r[0] for r in cur.execute("SELECT DISTINCT org_id FROM sites WHERE status IN (SELECT unnest(?))",
                                          [list(ACTIVE_SITE_STATUSES)]).fetchall()}
    except Exception:  # noqa: BLE001 — no sites table yet: no org is a site
        return set()


def _event_row(cur, event_id) -> dict:
    try:
        eid = int(event_id)
    except (TypeError, ValueError):
        raise NotFound(f"观摩活动「{event_id}」不存在") from None
    df = cur.sql("SELECT * FROM obs_events WHERE id = ?", params=[eid]).pl()
    if df.height == 0:
        raise NotFound(f"观摩活动（编号 {event_id}）不存在，可能已被删除：请重新选择")
    return df.row(0, named=True)


def _int_setting(v, label: str, errors: list, *, allow_none: bool = False):
    if v is None or (isinstance(v, str) and not v.strip()):
        if allow_none:
            return None
        errors.append(CellError(None, label, v, f"{label}不能为空"))
        return None
    try:
        n = int(str(v).strip()) if not isinstance(v, (int, float)) or isinstance(v, bool) else v
        if isinstance(n, bool) or float(n) != int(n):
            raise ValueError
        n = int(n)
    except (TypeError, ValueError):
        errors.append(CellError(None, label, v, f"{label}必须是整数"))
        return None
    if n < 1:
        errors.append(CellError(None, label, v, f"{label}至少为 1"))
        return None
    return n


def parse_slot_times(text, slots_per_day: int | None, days: int | None) -> tuple[list[str] | None, str | None]:
    """'08:30, 10:00 14:30' → ['08:30', '10:00', '14:30'] (one per slot of a day, or per slot
    of the whole event); error message in Chinese."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None, None
    parts = text if isinstance(text, (list, tuple)) else re.split(r"[,，、;；\s]+", str(text).strip())
    out = []
    for p in parts:
        m = _TIME.match(str(p).strip())
        if not m:
            return None, f"时段开始时间「{p}」格式不对，应为 时:分，例如 08:30"
        out.append(f"{int(m.group(1)):02d}:{m.group(2)}")
    if slots_per_day and days and len(out) not in (slots_per_day, slots_per_day * days):
        return None, f"时段开始时间应有 {slots_per_day} 个（每天一样），现为 {len(out)} 个"
    return out, None


def _parse_hosts(cur, hosts) -> list[tuple[int, int]]:
    """Rows of {org (id or name) / org_id / 观摩点 / 观摩点编号, capacity / 容量} → [(org_id, capacity)]."""
    if isinstance(hosts, pl.DataFrame):
        rows = hosts.to_dicts()
    else:
        rows = [h if isinstance(h, dict) else {"org": h} for h in hosts]
    orgs = cur.execute("SELECT id, name FROM orgs").fetchall()
    by_id = {i: n for i, n in orgs}
    by_name = {n: i for i, n in orgs}
    out, errors, seen = [], [], {}
    for n, r in enumerate(rows, 1):
        raw = next((r[k] for k in ("org_id", "观摩点编号", "org", "观摩点", "name") if r.get(k) not in (None, "")), None)
        if raw is None:
            continue  # an empty editor row
        oid = None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and float(raw).is_integer():
            oid = int(raw) if int(raw) in by_id else None
        else:
            t = str(raw).strip()
            m = re.search(r"[（(](\d+)[)）]$", t)
            if t.isdigit() and int(t) in by_id:
                oid = int(t)
            elif t in by_name:
                oid = by_name[t]
            elif m and int(m.group(1)) in by_id:
                oid = int(m.group(1))
        if oid is None:
            errors.append(CellError(n, "观摩点", raw, f"「{raw}」不是党组织台账中的党组织：请从台账中选择"))
            continue
        if oid in seen:
            errors.append(CellError(n, "观摩点", raw, f"「{by_id[oid]}」重复出现（第 {seen[oid]} 行已有）"))
            continue
        seen[oid] = n
        cap, msg = O.parse_capacity(r.get("capacity", r.get("容量")))
        if msg:
            errors.append(CellError(n, "容量", r.get("capacity", r.get("容量")), msg))
            continue
        out.append((oid, cap))
    if errors:
        raise BadInput("观摩点有误，没有保存", errors)
    if not out:
        raise BadInput("至少需要一个观摩点")
    return out


def _orgs_input(cur, host_caps: dict[int, int], site_ids: set[int]) -> pl.DataFrame:
    df = cur.sql("SELECT id, name, street, tier, lat, lon FROM orgs ORDER BY id").pl()
    return pl.DataFrame({
        "org_id": [str(i) for i in df["id"]], "name": df["name"], "street": df["street"], "tier": df["tier"],
        "is_site": [i in site_ids for i in df["id"]], "host": [i in host_caps for i in df["id"]],
        "capacity": [host_caps.get(i, 1) for i in df["id"]], "lat": df["lat"], "lon": df["lon"]})


def _build(cur, ev: dict, host_caps: dict[int, int]) -> O.Problem:
    prev = None
    if ev.get("previous_event_id"):
        prev = cur.sql("SELECT v.delegation, CAST(v.host_org_id AS VARCHAR) AS host_org_id, o.street AS host_street"
                       " FROM obs_visits v LEFT JOIN orgs o ON o.id = v.host_org_id WHERE v.event_id = ?",
                       params=[ev["previous_event_id"]]).pl()
    times, _ = parse_slot_times(ev.get("slot_times"), None, None)
    return O.build_problem(_orgs_input(cur, host_caps, _site_ids(cur)), ev["mode"], ev["days"], ev["slots_per_day"],
                           ev.get("visits_per_delegation"), prev if prev is not None and prev.height else None,
                           slot_times=times)


# =========================================================================== reads
def events(db) -> pl.DataFrame:
    with db.read() as cur:
        return cur.sql("""
            SELECT e.id, e.name, e.mode, e.event_date, e.days, e.slots_per_day, e.slot_times,
                   e.visits_per_delegation, e.previous_event_id, e.note, e.version,
                   (SELECT count(*) FROM obs_hosts h WHERE h.event_id = e.id) AS n_hosts,
                   (SELECT count(*) FROM obs_visits v WHERE v.event_id = e.id) AS n_visits,
                   (SELECT count(*) FROM obs_scores s WHERE s.event_id = e.id) AS n_scores
            FROM obs_events e ORDER BY e.event_date DESC NULLS LAST, e.id DESC""").pl()


def get_event(db, event_id) -> dict:
    with db.read() as cur:
        return _event_row(cur, event_id)


def candidate_hosts(db) -> pl.DataFrame:
    """Every org with its street, tier, whether it is an active site and whether it hosts by
    default (a site or an advanced org)."""
    with db.read() as cur:
        sites = _site_ids(cur)
        df = cur.sql("SELECT id AS org_id, name, street, tier FROM orgs ORDER BY street, name").pl()
    return df.with_columns(is_site=pl.col("org_id").is_in(list(sites)),
                           ).with_columns(default=pl.col("is_site") | (pl.col("tier") == "advanced"))


def hosts(db, event_id) -> pl.DataFrame:
    with db.read() as cur:
        sites = _site_ids(cur)
        df = cur.sql("SELECT h.org_id, o.name, o.street, o.tier, h.capacity FROM obs_hosts h"
                     " LEFT JOIN orgs o ON o.id = h.org_id WHERE h.event_id = ? ORDER BY o.street, o.name",
                     params=[int(event_id)]).pl()
    return df.with_columns(is_site=pl.col("org_id").is_in(list(sites)))


def problem_for(db, event_id) -> O.Problem:
    """The stored event as an `observation.Problem` (hosts' org ids as text)."""
    with db.read() as cur:
        ev = _event_row(cur, event_id)
        caps = dict(cur.execute("SELECT org_id, capacity FROM obs_hosts WHERE event_id = ?", [ev["id"]]).fetchall())
        if not caps:
            raise BadInput("该观摩活动还没有观摩点：请先在「设置」中添加")
        return _build(cur, ev, caps)


def plan_visits(db, event_id) -> tuple[list[O.Visit], set[O.Visit]]:
    """(visits, the locked ones) as stored."""
    with db.read() as cur:
        rows = cur.execute("SELECT day, slot, delegation, host_org_id, locked FROM obs_visits WHERE event_id = ?"
                           " ORDER BY day, slot, delegation", [int(event_id)]).fetchall()
    vs = [O.Visit(d, s, g, str(h)) for d, s, g, h, _ in rows]
    return vs, {v for v, r in zip(vs, rows) if r[4]}


def delegation_names(problem: O.Problem) -> dict[str, str]:
    """Delegation id → the name people read (street, or the org's name in internal mode)."""
    return {d.id: (d.name or d.id) for d in problem.delegations}


def plan_table(problem: O.Problem, visits, locked=()) -> pl.DataFrame:
    """One row per visit in Chinese: 天, 时段, 开始时间, 观摩团, 观摩点, 所在街道, 手工安排."""
    df = O.plan_frame(problem, visits, full=True)
    names = delegation_names(problem)
    lk = {(v.delegation, v.day, v.slot) for v in locked}
    return pl.DataFrame({
        "天": df["day"], "时段": df["slot"], "开始时间": df["start_time"],
        "观摩团": [names.get(d, d) for d in df["delegation"]], "观摩点": df["host_name"],
        "所在街道": df["host_street"],
        "手工安排": [(d, a, b) in lk for d, a, b in zip(df["delegation"], df["day"], df["slot"])]})


def slot_labels(problem: O.Problem) -> list[tuple[int, int, str]]:
    out = []
    for day in range(1, problem.days + 1):
        for slot in range(1, problem.slots_per_day + 1):
            t = problem.start_time(day, slot)
            out.append((day, slot, problem.slot_label(day, slot) + (f" {t}" if t else "")))
    return out


def grid_frame(problem: O.Problem, visits) -> pl.DataFrame:
    """The plan as a slot × delegation grid: column 时段, then one column per delegation (its
    name) holding the host's name (empty: no visit in that slot)."""
    hname = {h.org_id: h.name for h in problem.hosts}
    names = delegation_names(problem)
    at = {(v.day, v.slot, v.delegation): hname.get(v.host_org_id, v.host_org_id) for v in visits}
    data = {"时段": [lab for _, _, lab in slot_labels(problem)]}
    for d in problem.delegations:
        data[names[d.id]] = [at.get((day, slot, d.id)) for day, slot, _ in slot_labels(problem)]
    return pl.DataFrame(data, schema={c: pl.String for c in data})


def visits_from_grid(problem: O.Problem, grid: pl.DataFrame) -> list[O.Visit]:
    """The grid (as edited) back to visits; an unknown host name is a BadInput."""
    by_name = {h.name: h.org_id for h in problem.hosts}
    by_name.update({h.org_id: h.org_id for h in problem.hosts})
    dl = {v: k for k, v in delegation_names(problem).items()}
    slots = slot_labels(problem)
    out, errors = [], []
    for col in grid.columns:
        if col not in dl:
            continue
        for i, cell in enumerate(grid[col].to_list()):
            if cell is None or not str(cell).strip() or i >= len(slots):
                continue
            h = by_name.get(str(cell).strip())
            if h is None:
                errors.append(CellError(i + 1, col, cell, f"「{cell}」不是本次观摩活动的观摩点"))
                continue
            out.append(O.Visit(slots[i][0], slots[i][1], dl[col], h))
    if errors:
        raise BadInput("安排表中有无法识别的观摩点", errors)
    return out


def plan_xlsx(db, event_id) -> bytes:
    """观摩活动安排表: one sheet overall (slot × delegation grid and the list), one sheet per
    delegation with its route (day, slot, start time, host, street, address)."""
    ev = get_event(db, event_id)
    P = problem_for(db, event_id)
    visits, locked = plan_visits(db, event_id)
    if not visits:
        raise BadInput("该观摩活动还没有安排：请先点「生成安排」")
    with db.read() as cur:
        addr = dict(cur.execute("SELECT CAST(id AS VARCHAR), address FROM orgs").fetchall())
    sheets = {"总表": grid_frame(P, visits), "安排明细": plan_table(P, visits, locked).drop("手工安排")}
    names = delegation_names(P)
    df = O.plan_frame(P, visits, full=True)
    used = set(sheets)
    for d in P.delegations:
        part = df.filter(pl.col("delegation") == d.id)
        sheet = re.sub(r"[\[\]:*?/\\]", "", names[d.id])[:28] or d.id
        while sheet in used:
            sheet = sheet[:26] + str(len(used))
        used.add(sheet)
        sheets[sheet] = pl.DataFrame({
            "天": part["day"], "时段": part["slot"], "开始时间": part["start_time"], "观摩点": part["host_name"],
            "所在街道": part["host_street"], "地址": [addr.get(h) for h in part["host_org_id"]]},
            schema={"天": pl.Int64, "时段": pl.Int64, "开始时间": pl.String, "观摩点": pl.String,
                    "所在街道": pl.String, "地址": pl.String})
    _ = ev
    return fileio.xlsx_bytes(sheets)


# =========================================================================== setup writes
def _default_hosts(cur) -> list[tuple[int, int]]:
    """The hosts a new event starts with: active sites and advanced orgs, capacity 1."""
    sites = _site_ids(cur)
    return [(i, 1) for i, t in cur.execute("SELECT id, tier FROM orgs ORDER BY id").fetchall()
            if i in sites or t == "advanced"]


MAX_AUTO_DAYS = 7


def _settle(cur, ev: dict, host_caps: dict[int, int]) -> O.Problem:
    """Fill the automatic settings of `ev` from the data and check that the setup can fit,
    before anything is solved. 天数 None: the fewest days (up to a week) in which every
    delegation gets its visits; 每团参观次数 None: every slot when that fits, else the most
    visits that fit. Raises Infeasible naming what does not fit and the nearest settings that do."""
    auto_k = ev.get("visits_per_delegation") is None
    if ev.get("days") is None:
        ev["days"] = 1
        for days in range(1, MAX_AUTO_DAYS + 1):
            P = _build(cur, {**ev, "days": days}, host_caps)
            if (O.max_visits(P) >= 1) if auto_k else (O.fit_advice(P) is None):
                ev["days"] = days
                break
    problem = _build(cur, ev, host_caps)
    if auto_k:
        fit = O.max_visits(problem)
        if 1 <= fit < problem.slots:
            ev["visits_per_delegation"] = problem.visits_per_delegation = fit
    advice = O.fit_advice(problem)
    if advice:  # said now, in the form, not after a solve that cannot succeed
        raise O.Infeasible(f"观摩活动设置放不下，没有保存：{advice}")
    return problem


def suggested_setup(db, mode: str, *, slots_per_day: int = 3, days=None, visits=None, hosts=None) -> dict:
    """What the setup form's automatic settings come to for `mode` with these hosts (None =
    the default hosts): {days, slots_per_day, visits, text}; `text` is the advice when they
    cannot fit (nothing is written)."""
    with db.read() as cur:
        caps = dict(_default_hosts(cur) if hosts is None else _parse_hosts(cur, hosts))
        ev = {"mode": mode, "days": days, "slots_per_day": slots_per_day, "visits_per_delegation": visits,
              "previous_event_id": None, "slot_times": None}
        try:
            P = _settle(cur, ev, caps)
        except BadInput as exc:
            return {"days": ev["days"], "slots_per_day": slots_per_day, "visits": ev["visits_per_delegation"],
                    "text": str(exc)}
        return {"days": P.days, "slots_per_day": P.slots_per_day, "visits": P.visits_per_delegation, "text": None}


def save_event(db, user: User, event_id=None, *, name: str, mode: str, days=1, slots_per_day=3,
               slot_times=None, visits=None, event_date: date | None = None, previous_event_id=None,
               hosts=None, note: str | None = None, rubric=None) -> int:
    """Create (event_id None) or change an event's setup and its host list in one batch.
    `hosts`: rows of org (id or name) and capacity; None = the default hosts (sites and
    advanced orgs) for a new event, unchanged for an existing one. Changing the setup of an
    event that has a plan removes the plan (it no longer fits); an event with scores is
    refused. The whole setup is checked by building the problem first (a street without hosts
    in internal mode, more visits than slots, …): nothing is written when it fails."""
    require(user, PERM)
    errors: list[CellError] = []
    name = (name or "").strip()
    if not name:
        errors.append(CellError(None, "活动名称", name, "活动名称不能为空"))
    m = O._MODE_ALIASES.get(str(mode).strip().lower()) or O._MODE_ALIASES.get(str(mode).strip())
    if m is None:
        errors.append(CellError(None, "观摩方式", mode, "应为 街道内部观摩、各街道交叉观摩 或 全区示范观摩"))
    d = _int_setting(days, "天数", errors, allow_none=True)  # None = 自动
    s = _int_setting(slots_per_day, "每天时段数", errors)
    k = _int_setting(visits, "每团参观次数", errors, allow_none=True)
    times, msg = parse_slot_times(slot_times, s, d)
    if msg:
        errors.append(CellError(None, "时段开始时间", slot_times, msg))
    if errors:
        raise BadInput("观摩活动设置有误，没有保存", errors)
    if k is not None and d is not None and k > d * s:
        raise BadInput(f"每团参观次数（{k}）不能多于时段总数（{d} 天 × {s} 个时段 = {d * s}）")
    rub = _parse_rubric(rubric if rubric is not None else DEFAULT_RUBRIC) if event_id is None or rubric is not None \
        else None
    with db.write() as cur:
        old = _event_row(cur, event_id) if event_id is not None else None
        if previous_event_id is not None:
            prev = _event_row(cur, previous_event_id)
            if old is not None and prev["id"] == old["id"]:
                raise BadInput("上一轮不能是本次活动自己")
        if hosts is None and old is not None:
            host_list = cur.execute("SELECT org_id, capacity FROM obs_hosts WHERE event_id = ?", [old["id"]]).fetchall()
        elif hosts is None:
            host_list = _default_hosts(cur)
        else:
            host_list = _parse_hosts(cur, hosts)
        ev = {"id": None, "name": name, "mode": m, "days": d, "slots_per_day": s,
              "slot_times": ",".join(times) if times else None, "visits_per_delegation": k,
              "previous_event_id": int(previous_event_id) if previous_event_id is not None else None,
              "event_date": event_date, "note": (note or "").strip() or None}
        _settle(cur, ev, dict(host_list))  # raises BadInput/Infeasible naming the problem
        d, k = ev["days"], ev["visits_per_delegation"]
        if times and len(times) not in (s, s * d):
            raise BadInput(f"时段开始时间应有 {s} 个（每天一样），现为 {len(times)} 个")
        if old is not None and cur.execute("SELECT count(*) FROM obs_scores WHERE event_id = ?",
                                           [old["id"]]).fetchone()[0]:
            raise BadInput("该观摩活动已有评分，不能再修改设置和观摩点：如确需修改，请先删除评分")
        batch = audit.new_batch(cur, user, "observation", f"{'修改' if old else '新建'}观摩活动「{name}」")
        if old is None:
            eid = _insert(cur, batch, user, "obs_events", pl.DataFrame(
                [{k2: v for k2, v in ev.items() if k2 != "id"}],
                schema={"name": pl.String, "mode": pl.String, "days": pl.Int32, "slots_per_day": pl.Int32,
                        "slot_times": pl.String, "visits_per_delegation": pl.Int32,
                        "previous_event_id": pl.Int32, "event_date": pl.Date, "note": pl.String}))[0]
        else:
            eid = old["id"]
            before = audit.rows_json(cur, "obs_events", "id", [eid])
            cur.execute("UPDATE obs_events SET name=?, mode=?, days=?, slots_per_day=?, slot_times=?,"
                        " visits_per_delegation=?, previous_event_id=?, event_date=?, note=?, version=version+1,"
                        " updated_at=current_timestamp, updated_by=? WHERE id=?",
                        [name, m, d, s, ev["slot_times"], k, ev["previous_event_id"], event_date, ev["note"],
                         user.username, eid])
            after = audit.rows_json(cur, "obs_events", "id", [eid])
            audit.record(cur, batch, user, "obs_events", eid, "update", before.get(str(eid)), after.get(str(eid)))
            old_hosts = sorted(cur.execute("SELECT org_id, capacity FROM obs_hosts WHERE event_id = ?",
                                           [eid]).fetchall())
            changed = sorted(host_list) != old_hosts or any(
                old[c] != ev[c] for c in ("mode", "days", "slots_per_day", "visits_per_delegation"))
            if changed:
                _delete(cur, batch, user, "obs_visits", "event_id = ?", [eid])
            if sorted(host_list) != old_hosts:
                _delete(cur, batch, user, "obs_hosts", "event_id = ?", [eid])
            else:
                host_list = []
        _insert(cur, batch, user, "obs_hosts", pl.DataFrame(
            {"event_id": [eid] * len(host_list), "org_id": [h for h, _ in host_list],
             "capacity": [c for _, c in host_list]},
            schema={"event_id": pl.Int32, "org_id": pl.Int32, "capacity": pl.Int32}))
        if rub is not None:
            _delete(cur, batch, user, "obs_rubric_items", "event_id = ?", [eid])
            _insert_rubric(cur, batch, user, eid, rub)
    return eid


def delete_event(db, user: User, event_id) -> None:
    require(user, PERM)
    with db.write() as cur:
        ev = _event_row(cur, event_id)
        used = cur.execute("SELECT count(*) FROM obs_events WHERE previous_event_id = ?", [ev["id"]]).fetchone()[0]
        if used:
            raise BadInput(f"「{ev['name']}」是其他观摩活动的上一轮，不能删除")
        batch = audit.new_batch(cur, user, "observation", f"删除观摩活动「{ev['name']}」")
        for t in ("obs_scores", "obs_rubric_items", "obs_visits", "obs_hosts"):
            _delete(cur, batch, user, t, "event_id = ?", [ev["id"]])
        _delete(cur, batch, user, "obs_events", "id = ?", [ev["id"]])


# =========================================================================== the plan
def _replace_visits(cur, batch, user, eid: int, visits, locked) -> None:
    _delete(cur, batch, user, "obs_visits", "event_id = ?", [eid])
    lk = set(locked)
    vs = sorted(visits)
    _insert(cur, batch, user, "obs_visits", pl.DataFrame(
        {"event_id": [eid] * len(vs), "day": [v.day for v in vs], "slot": [v.slot for v in vs],
         "delegation": [v.delegation for v in vs], "host_org_id": [int(v.host_org_id) for v in vs],
         "locked": [v in lk for v in vs]},
        schema={"event_id": pl.Int32, "day": pl.Int32, "slot": pl.Int32, "delegation": pl.String,
                "host_org_id": pl.Int32, "locked": pl.Boolean}))


def solve_event(db, user: User, event_id, *, keep_locked: bool = True, locked=None, seed: int = 0,
                time_limit: float | None = None, exact: bool = False) -> dict:
    """Arrange the event with the solver and store the plan (one batch). Locked visits (those
    stored as placed by hand, or `locked` given) are kept. `exact` with a `time_limit` of about
    a minute is「进一步优化路线」(observation.solve). → `observation.summarise` dict (with the
    travel bound and gap when the solver proved one)."""
    require(user, PERM)
    P = problem_for(db, event_id)
    if locked is None:
        locked = plan_visits(db, event_id)[1] if keep_locked else set()
    locked = list(locked)
    plan = O.solve(P, locked, seed=seed, time_limit=time_limit, exact=exact)
    with db.write() as cur:
        ev = _event_row(cur, event_id)
        batch = audit.new_batch(cur, user, "observation", f"生成观摩安排「{ev['name']}」")
        _replace_visits(cur, batch, user, ev["id"], plan.visits, set(locked) & set(plan.visits))
    return plan.summary


def save_plan(db, user: User, event_id, visits, locked=None) -> dict:
    """Store a hand-edited plan after `check_plan`; any breach refuses it (ValidationFailed
    listing each breach in Chinese). `locked` (default: every visit that differs from the
    stored plan, plus those already locked) are kept when re-solving later."""
    require(user, PERM)
    P = problem_for(db, event_id)
    visits = list(visits)
    problems = O.check_plan(P, visits)
    if problems:
        raise ValidationFailed("安排不符合要求，没有保存：", [CellError(None, None, None, p) for p in problems])
    old, old_locked = plan_visits(db, event_id)
    if locked is None:
        locked = (set(visits) - set(old)) | (old_locked & set(visits))
    with db.write() as cur:
        ev = _event_row(cur, event_id)
        batch = audit.new_batch(cur, user, "observation", f"手工调整观摩安排「{ev['name']}」")
        _replace_visits(cur, batch, user, ev["id"], visits, locked)
    return O.summarise(P, visits)


# =========================================================================== rubric and scores
def _parse_rubric(rows) -> list[tuple[str, Decimal]]:
    if isinstance(rows, pl.DataFrame):
        rows = rows.to_dicts()
    out, errors, seen = [], [], set()
    for n, r in enumerate(rows, 1):
        if isinstance(r, dict):
            item, pts = r.get("item", r.get("评分项目")), r.get("max_points", r.get("满分"))
        else:
            item, pts = r
        item = "" if item is None else str(item).strip()
        if not item and pts in (None, ""):
            continue
        if not item:
            errors.append(CellError(n, "评分项目", item, "评分项目不能为空"))
            continue
        if item in seen:
            errors.append(CellError(n, "评分项目", item, "评分项目重复"))
            continue
        seen.add(item)
        try:
            p = Decimal(str(pts).strip())
            if not p.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.append(CellError(n, "满分", pts, "满分必须是数字"))
            continue
        if p <= 0 or p > 100:
            errors.append(CellError(n, "满分", pts, "满分应大于 0、不超过 100"))
            continue
        out.append((item, p.quantize(Decimal("0.01"))))
    if errors:
        raise BadInput("评分细则有误，没有保存", errors)
    if not out:
        raise BadInput("评分细则至少要有一项")
    total = sum(p for _, p in out)
    if total > 100:
        raise BadInput(f"评分细则各项满分合计 {total} 分，超过 100 分：评分按百分制汇总，请调整")
    return out


def _insert_rubric(cur, batch, user, eid: int, rub) -> None:
    _insert(cur, batch, user, "obs_rubric_items", pl.DataFrame(
        {"event_id": [eid] * len(rub), "seq": list(range(1, len(rub) + 1)), "item": [i for i, _ in rub],
         "max_points": [p for _, p in rub]},
        schema={"event_id": pl.Int32, "seq": pl.Int32, "item": pl.String, "max_points": pl.Decimal(8, 2)}))


def rubric(db, event_id) -> pl.DataFrame:
    with db.read() as cur:
        return cur.sql("SELECT id, seq, item, max_points FROM obs_rubric_items WHERE event_id = ? ORDER BY seq",
                       params=[int(event_id)]).pl()


def set_rubric(db, user: User, event_id, rows) -> None:
    """Replace the event's rubric (items and points); refused once scores exist."""
    require(user, PERM)
    rub = _parse_rubric(rows)
    with db.write() as cur:
        ev = _event_row(cur, event_id)
        if cur.execute("SELECT count(*) FROM obs_scores WHERE event_id = ?", [ev["id"]]).fetchone()[0]:
            raise BadInput("已有评分，不能再修改评分细则")
        batch = audit.new_batch(cur, user, "observation", f"修改观摩评分细则「{ev['name']}」")
        _delete(cur, batch, user, "obs_rubric_items", "event_id = ?", [ev["id"]])
        _insert_rubric(cur, batch, user, ev["id"], rub)


def score_sheet(db, event_id, delegation: str | None = None) -> pl.DataFrame:
    """Rows to fill: one per visit and rubric item (SHEET_HEADER), with any score already
    entered. `delegation`: one delegation's id only."""
    P = problem_for(db, event_id)
    names = delegation_names(P)
    hname = {h.org_id: h.name for h in P.hosts}
    visits, _ = plan_visits(db, event_id)
    items = rubric(db, event_id)
    with db.read() as cur:
        have = {(d, str(h), i): s for d, h, i, s in cur.execute(
            "SELECT delegation, host_org_id, item_id, score FROM obs_scores WHERE event_id = ?",
            [int(event_id)]).fetchall()}
    rows = []
    for v in sorted(visits, key=lambda v: (v.delegation, v.day, v.slot)):
        if delegation is not None and v.delegation != delegation:
            continue
        for iid, _, item, pts in items.iter_rows():
            s = have.get((v.delegation, v.host_org_id, iid))
            rows.append([names.get(v.delegation, v.delegation), int(v.host_org_id), hname.get(v.host_org_id),
                         item, float(pts), None if s is None else float(s)])
    return pl.DataFrame(rows, schema={"观摩团": pl.String, "观摩点编号": pl.Int64, "观摩点": pl.String,
                                      "评分项目": pl.String, "满分": pl.Float64, "得分": pl.Float64}, orient="row")


def score_sheet_xlsx(db, event_id) -> bytes:
    """The 评分表 sheet (fill 得分, upload it back) and one printable sheet per host."""
    df = score_sheet(db, event_id)
    sheets = {SHEET: df}
    for (host,), part in df.group_by(["观摩点"], maintain_order=True):
        name = re.sub(r"[\[\]:*?/\\]", "", str(host))[:28]
        if name and name not in sheets and len(sheets) < 200:
            sheets[name] = part.drop("观摩点编号")
    return fileio.xlsx_bytes(sheets)


def save_scores(db, user: User, event_id, frame, *, commit: bool = True) -> int:
    """Scores from the score sheet (SHEET_HEADER rows; a fileio Frame, a polars frame or dicts)
    → replaces the scores of the (delegation, host, item) cells given; blank 得分 = not scored
    (an existing score there is removed). Every bad cell is reported at once; nothing is
    written then. → number of scores stored."""
    require(user, PERM)
    row_of = lambda i: i + 2  # noqa: E731
    file = None
    if hasattr(frame, "df") and hasattr(frame, "row_number"):
        row_of, file, frame = frame.row_number, frame.file, frame.df
    if not isinstance(frame, pl.DataFrame):
        frame = pl.DataFrame(list(frame))
    missing = [c for c in ("观摩团", "评分项目", "得分") if c not in frame.columns]
    if missing or not ({"观摩点编号", "观摩点"} & set(frame.columns)):
        raise BadInput("评分表缺少列：" + "、".join(missing or ["观摩点"]) + "（请用本页下载的评分表填写）", file=file)
    P = problem_for(db, event_id)
    dl = {v: k for k, v in delegation_names(P).items()}
    dl.update({d.id: d.id for d in P.delegations})
    h_by_name = {h.name: h.org_id for h in P.hosts}
    visits, _ = plan_visits(db, event_id)
    pairs = {(v.delegation, v.host_org_id) for v in visits}
    items = {r[2]: (r[0], Decimal(str(r[3]))) for r in rubric(db, event_id).iter_rows()}
    errors, keep, seen = [], [], {}
    for i, r in enumerate(frame.to_dicts()):
        n = row_of(i)
        dname = "" if r.get("观摩团") is None else str(r["观摩团"]).strip()
        if not dname and r.get("得分") in (None, ""):
            continue
        d = dl.get(dname)
        if d is None:
            errors.append(CellError(n, "观摩团", dname, "不是本次观摩活动的观摩团"))
            continue
        raw_h = r.get("观摩点编号")
        h = None
        if raw_h not in (None, ""):
            try:
                h = str(int(float(raw_h)))
            except (TypeError, ValueError, OverflowError):
                h = None
        if h is None or h not in {x.org_id for x in P.hosts}:
            h = h_by_name.get(str(r.get("观摩点") or "").strip())
        if h is None:
            errors.append(CellError(n, "观摩点", r.get("观摩点") or raw_h, "不是本次观摩活动的观摩点"))
            continue
        if (d, h) not in pairs:
            errors.append(CellError(n, "观摩点", r.get("观摩点") or raw_h, f"观摩团「{dname}」没有被安排参观这个观摩点"))
            continue
        item = str(r.get("评分项目") or "").strip()
        if item not in items:
            errors.append(CellError(n, "评分项目", item, "不是本次评分细则中的项目：应为 " + "、".join(items)))
            continue
        iid, pts = items[item]
        if (d, h, iid) in seen:
            errors.append(CellError(n, "评分项目", item, f"与第 {seen[(d, h, iid)]} 行重复"))
            continue
        seen[(d, h, iid)] = n
        raw = r.get("得分")
        if raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, float) and raw != raw):
            keep.append((d, int(h), iid, None))
            continue
        try:
            s = Decimal(str(raw).strip())
            if not s.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.append(CellError(n, "得分", raw, "得分必须是数字"))
            continue
        if s < 0 or s > pts:
            errors.append(CellError(n, "得分", raw, f"得分应在 0 到 {pts.normalize():f} 之间（该项满分 {pts.normalize():f}）"))
            continue
        keep.append((d, int(h), iid, s.quantize(Decimal("0.01"))))
    if errors:
        raise BadInput(f"评分表有 {len(errors)} 处错误，没有保存任何评分", errors, file=file)
    if not commit or not keep:
        return sum(1 for x in keep if x[3] is not None)
    with db.write() as cur:
        ev = _event_row(cur, event_id)
        batch = audit.new_batch(cur, user, "observation", f"录入观摩评分「{ev['name']}」")
        cells = pl.DataFrame({"d": [x[0] for x in keep], "h": [x[1] for x in keep], "i": [x[2] for x in keep]},
                             schema={"d": pl.String, "h": pl.Int32, "i": pl.Int32})
        cur.register("obs_cells", cells)
        try:
            ids = [r[0] for r in cur.execute(
                "SELECT s.id FROM obs_scores s JOIN obs_cells c ON s.delegation = c.d AND s.host_org_id = c.h"
                " AND s.item_id = c.i WHERE s.event_id = ?", [ev["id"]]).fetchall()]
        finally:
            cur.unregister("obs_cells")
        old = dict(((d, h, i), s) for d, h, i, s in cur.execute(
            "SELECT delegation, host_org_id, item_id, score FROM obs_scores WHERE event_id = ?", [ev["id"]]).fetchall())
        changed = [x for x in keep if old.get((x[0], x[1], x[2])) != x[3]]
        if not changed:
            return 0
        if ids:
            _delete(cur, batch, user, "obs_scores", "id IN (SELECT unnest(?))", [ids])
        new = [x for x in keep if x[3] is not None]
        _insert(cur, batch, user, "obs_scores", pl.DataFrame(
            {"event_id": [ev["id"]] * len(new), "delegation": [x[0] for x in new], "host_org_id": [x[1] for x in new],
             "item_id": [x[2] for x in new], "score": [x[3] for x in new]},
            schema={"event_id": pl.Int32, "delegation": pl.String, "host_org_id": pl.Int32, "item_id": pl.Int32,
                    "score": pl.Decimal(8, 2)}))
    return len(new)


def scores(db, event_id) -> pl.DataFrame:
    """Score rows for `observation.rank_hosts`: delegation, delegation_street, host_org_id,
    host_street, score, item (+ delegation_name, host_name)."""
    P = problem_for(db, event_id)
    dstreet = {d.id: d.street for d in P.delegations}
    names = delegation_names(P)
    with db.read() as cur:
        df = cur.sql("SELECT s.delegation, CAST(s.host_org_id AS VARCHAR) AS host_org_id, o.street AS host_street,"
                     " o.name AS host_name, CAST(s.score AS DOUBLE) AS score, r.item FROM obs_scores s"
                     " JOIN orgs o ON o.id = s.host_org_id JOIN obs_rubric_items r ON r.id = s.item_id"
                     " WHERE s.event_id = ? ORDER BY s.delegation, s.host_org_id, r.seq",
                     params=[int(event_id)]).pl()
    return df.with_columns(
        delegation_street=pl.col("delegation").replace_strict(dstreet, default=None, return_dtype=pl.String),
        delegation_name=pl.col("delegation").replace_strict(names, default=None, return_dtype=pl.String))


def score_totals(db, event_id) -> pl.DataFrame:
    """One row per delegation and host: the sheet total (Σ items) — for the distribution chart."""
    df = scores(db, event_id)
    return df.group_by("delegation_name", "delegation_street", "host_name", "host_street", maintain_order=True) \
        .agg(pl.col("score").sum().alias("total"), pl.len().alias("items"))


def ranking(db, event_id, *, normalise: str = "center") -> pl.DataFrame:
    """`observation.rank_hosts` over the event's scores (own-street scores excluded, except in
    街道内部观摩 where every delegation is of the host's street), with the host's name and
    current tier. Hosts without any score are listed last."""
    ev = get_event(db, event_id)
    df = scores(db, event_id)
    w = 1.0 if ev["mode"] == "internal" else 0.0
    r = O.rank_hosts(df.select(O.SCORE_COLUMNS + ["item"]), normalise=normalise, own_street_weight=w) \
        if df.height else pl.DataFrame(schema={"host_org_id": pl.String, "host_street": pl.String,
                                               "score": pl.Float64, "raw_mean": pl.Float64, "n_scores": pl.Int64,
                                               "n_own_street": pl.Int64, "rank": pl.Int64})
    h = hosts(db, event_id).select(pl.col("org_id").cast(pl.String).alias("host_org_id"), "name", "street", "tier")
    out = h.join(r.drop("host_street"), on="host_org_id", how="left").with_columns(
        pl.col("n_scores").fill_null(0), pl.col("n_own_street").fill_null(0))
    return out.sort(["rank", "name"], nulls_last=True)


def proposals(db, event_id, *, top_share: float = 0.2, bottom_share: float = 0.2, min_scores: int = 1) -> pl.DataFrame:
    """Ranking + `propose_tiers`: proposed tier (先进/达标/后进), current tier in Chinese and
    whether it changes."""
    r = ranking(db, event_id)
    p = O.propose_tiers(r, top_share, bottom_share, min_scores=min_scores)
    return p.with_columns(
        current=pl.col("tier").replace_strict(O.TIER_CN, default=None, return_dtype=pl.String),
    ).with_columns(change=pl.col("proposed_tier").is_not_null() & (pl.col("proposed_tier") != pl.col("current")))


def apply_tiers(db, user: User, event_id, changes) -> int:
    """Confirm tier changes: `changes` = {org id: tier word (先进/达标/后进 or code)} or rows
    with host_org_id/org_id and tier/proposed_tier, and optionally `current` (the tier shown
    when the proposal was read: refused if it has changed since). Written through `tables.save` on the orgs
    spec (permission orgs.write, validation, optimistic locking, one audited batch)."""
    from . import tables

    require(user, "orgs.write")
    if isinstance(changes, pl.DataFrame):
        changes = changes.to_dicts()
    if isinstance(changes, dict):
        items = [(k, v, None) for k, v in changes.items()]
    else:
        items = [(r.get("host_org_id", r.get("org_id")), r.get("tier", r.get("proposed_tier")), r.get("current"))
                 for r in changes]
    ev = get_event(db, event_id)
    with db.read() as cur:
        vers = dict(cur.execute("SELECT id, version FROM orgs").fetchall())
        names = dict(cur.execute("SELECT id, name FROM orgs").fetchall())
        tiers = dict(cur.execute("SELECT id, tier FROM orgs").fetchall())
    errors, upd = [], {}
    for n, (oid, word, seen) in enumerate(items, 1):
        try:
            k = int(oid)
        except (TypeError, ValueError):
            k = None
        if k not in vers:
            errors.append(CellError(n, "党组织", oid, "不是党组织台账中的党组织"))
            continue
        code, msg = O.parse_tier(word)
        if msg:
            errors.append(CellError(n, "评定等次", word, msg))
            continue
        if k in upd:
            errors.append(CellError(n, "党组织", names[k], "重复出现"))
            continue
        if seen is not None and O.parse_tier(seen)[0] != tiers.get(k):
            # the proposal was read when the tier was `seen`: never overwrite a colleague's change
            errors.append(CellError(n, "现等次", seen, f"「{names[k]}」的等次已被改为"
                                    f"{O.TIER_CN.get(tiers.get(k), '未评定')}，请刷新页面后重新核对"))
            continue
        upd[k] = code
    if errors:
        raise BadInput("等次调整有误，没有保存", errors)
    if not upd:
        return 0
    res = tables.save(db, user, orgs_mod.SPEC, tables.Changes(
        updates={k: {"tier": c} for k, c in upd.items()}, versions={k: vers[k] for k in upd}),
        kind="observation", description=f"按观摩评比调整等次（{ev['name']}）")
    return res.updated


# =========================================================================== demo data
def seed_demo(cur, ctx) -> None:
    """A past 各街道交叉观摩 with plan and scores (demo, tiny); 4 rounds at city scale."""
    from datetime import timedelta

    rng, o = ctx.rng, ctx.orgs
    n_events = 4 if ctx.scale == "city" else 1
    site_ids = _site_ids(cur)
    per_street = 2
    ev_rows, host_rows, visit_rows, rub_rows, score_rows = [], [], [], [], []
    prev_visits = None
    rid = 0
    sid = 0
    vid = 0
    hid = 0
    for e in range(n_events):
        eid = e + 1
        when = ctx.today - timedelta(days=60 + 90 * (n_events - 1 - e))
        half = "上半年" if when.month <= 6 else "下半年"
        name = f"{when.year}年{half}各街道交叉观摩" + (f"（第{e + 1}轮）" if n_events > 1 else "")
        chosen = []
        for s in ctx.streets:
            cand = o.filter((pl.col("street") == s) & ((pl.col("tier") == "advanced") | pl.col("id").is_in(list(site_ids))))
            ids = sorted(cand["id"].to_list())
            chosen += rng.sample(ids, min(per_street, len(ids)))
        caps = {i: 1 for i in chosen}
        orgs_in = pl.DataFrame({
            "org_id": [str(i) for i in o["id"]], "name": o["name"], "street": o["street"], "tier": o["tier"],
            "is_site": [i in site_ids for i in o["id"]], "host": [i in caps for i in o["id"]],
            "capacity": [1] * o.height, "lat": o["lat"], "lon": o["lon"]})
        days, spd = 2, 3
        per = pl.DataFrame({"id": chosen}).join(o.select("id", "street"), on="id")["street"].value_counts()["count"]
        k = min(days * spd, len(chosen) - int(per.max()))
        P = O.build_problem(orgs_in, "cross", days, spd, k, prev_visits, slot_times=["08:30", "10:00", "14:30"])
        plan = O.solve(P, seed=e, time_limit=0.3)
        ev_rows.append(dict(id=eid, name=name, mode="cross", event_date=when, days=days, slots_per_day=spd,
                            slot_times="08:30,10:00,14:30", visits_per_delegation=None if k == days * spd else k,
                            previous_event_id=eid - 1 if e else None, note="演示数据"))
        for h in chosen:
            hid += 1
            host_rows.append(dict(id=hid, event_id=eid, org_id=h, capacity=1))
        items = []
        for seq, (item, pts) in enumerate(DEFAULT_RUBRIC, 1):
            rid += 1
            items.append((rid, pts))
            rub_rows.append(dict(id=rid, event_id=eid, seq=seq, item=item, max_points=Decimal(pts)))
        quality = {h: rng.uniform(0.62, 0.95) for h in chosen}
        bias = {d.id: rng.uniform(-0.06, 0.06) for d in P.delegations}
        for v in plan.visits:
            vid += 1
            visit_rows.append(dict(id=vid, event_id=eid, day=v.day, slot=v.slot, delegation=v.delegation,
                                   host_org_id=int(v.host_org_id), locked=False))
            for iid, pts in items:
                sid += 1
                q = min(1.0, max(0.3, quality[int(v.host_org_id)] + bias[v.delegation] + rng.uniform(-0.05, 0.05)))
                score_rows.append(dict(id=sid, event_id=eid, delegation=v.delegation, host_org_id=int(v.host_org_id),
                                       item_id=iid, score=Decimal(str(round(pts * q, 1)))))
        prev_visits = plan
    frames = {
        "obs_events": pl.DataFrame(ev_rows, schema={"id": pl.Int32, "name": pl.String, "mode": pl.String,
                                                    "event_date": pl.Date, "days": pl.Int32, "slots_per_day": pl.Int32,
                                                    "slot_times": pl.String, "visits_per_delegation": pl.Int32,
                                                    "previous_event_id": pl.Int32, "note": pl.String}),
        "obs_hosts": pl.DataFrame(host_rows, schema={"id": pl.Int32, "event_id": pl.Int32, "org_id": pl.Int32,
                                                     "capacity": pl.Int32}),
        "obs_visits": pl.DataFrame(visit_rows, schema={"id": pl.Int32, "event_id": pl.Int32, "day": pl.Int32,
                                                       "slot": pl.Int32, "delegation": pl.String,
                                                       "host_org_id": pl.Int32, "locked": pl.Boolean}),
        "obs_rubric_items": pl.DataFrame(rub_rows, schema={"id": pl.Int32, "event_id": pl.Int32, "seq": pl.Int32,
                                                           "item": pl.String, "max_points": pl.Decimal(8, 2)}),
        "obs_scores": pl.DataFrame(score_rows, schema={"id": pl.Int32, "event_id": pl.Int32, "delegation": pl.String,
                                                       "host_org_id": pl.Int32, "item_id": pl.Int32,
                                                       "score": pl.Decimal(8, 2)}),
    }
    for table, frame in frames.items():
        if frame.height == 0:
            continue
        cols = ", ".join(frame.columns)
        cur.register("obs_demo", frame)
        try:
            cur.execute(f"INSERT INTO {table}({cols}, updated_by) SELECT {cols}, 'demo' FROM obs_demo")
        finally:
            cur.unregister("obs_demo")
        cur.execute(f"SELECT setval('{table}_seq', (SELECT max(id) FROM {table}))")


# =========================================================================== orgs delete guard
def refuse_delete_orgs_in_events(cur, keys: list) -> list[str]:
    _keys(cur, "obs_org_keys", keys)
    try:
        rows = cur.execute("SELECT DISTINCT o.name FROM orgs o WHERE o.id IN (SELECT k FROM obs_org_keys) AND"
                           " (o.id IN (SELECT org_id FROM obs_hosts) OR o.id IN (SELECT host_org_id FROM obs_visits))"
                           " ORDER BY 1").fetchall()
    finally:
        cur.unregister("obs_org_keys")
    return [f"「{n}」是观摩活动的观摩点，不能删除：观摩安排和评分要保留" for (n,) in rows]


if not any(getattr(c, "__name__", "") == refuse_delete_orgs_in_events.__name__ for c in orgs_mod.SPEC.delete_checks):
    orgs_mod.SPEC.delete_checks.append(refuse_delete_orgs_in_events)


# =========================================================================== chart dataset
def _dataset_scores(db, user) -> pl.DataFrame:
    with db.read() as cur:
        return cur.sql("""
            SELECT e.name AS event, s.delegation, o.name AS host, o.street AS host_street,
                   sum(CAST(s.score AS DOUBLE)) AS score
            FROM obs_scores s JOIN obs_events e ON e.id = s.event_id JOIN orgs o ON o.id = s.host_org_id
            GROUP BY ALL ORDER BY 1, 2, 3""").pl()


def _register_dataset() -> None:
    try:
        from .charts import model as charts
    except ImportError:
        return
    charts.register_dataset(charts.Dataset(
        code="observation_scores", label="观摩评分",
        description="每个观摩团对每个观摩点一行：评分表合计得分（各评分项目之和，百分制）。",
        fields=[charts.Field("event", "观摩活动"), charts.Field("delegation", "观摩团"),
                charts.Field("host", "观摩点"), charts.Field("host_street", "观摩点所在街道"),
                charts.Field("score", "得分", "quantitative", unit="分")],
        loader=_dataset_scores, tables=("obs_scores", "obs_events", "orgs"), count_label="评分表数"))


_register_dataset()


def plan_print_html(db, event_id) -> str:
    """A printable 观摩活动安排表 (HTML, one page per delegation after the overall grid)."""
    import html

    ev = get_event(db, event_id)
    P = problem_for(db, event_id)
    visits, _ = plan_visits(db, event_id)
    if not visits:
        raise BadInput("该观摩活动还没有安排：请先点「生成安排」")

    def table(df: pl.DataFrame) -> str:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
        body = "".join("<tr>" + "".join(f"<td>{'' if v is None else html.escape(str(v))}</td>" for v in r) + "</tr>"
                       for r in df.iter_rows())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    title = html.escape(f"{ev['name']} 观摩活动安排表")
    when = f"{ev['event_date']}" if ev.get("event_date") else ""
    parts = [f"<h1>{title}</h1><p>{O.MODE_CN[ev['mode']]} {when}</p>", table(grid_frame(P, visits))]
    full = plan_table(P, visits).drop("手工安排")
    for d in P.delegations:
        name = delegation_names(P)[d.id]
        part = full.filter(pl.col("观摩团") == name).drop("观摩团")
        parts.append(f"<div class='page'><h2>{html.escape(name)} 观摩路线</h2>{table(part)}</div>")
    css = ("body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em}table{border-collapse:collapse;"
           "margin:1em 0}th,td{border:1px solid #444;padding:4px 8px;font-size:12pt}"
           ".page{page-break-before:always}@media print{body{margin:0}}")
    return f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{title}</title>" \
           f"<style>{css}</style></head><body>{''.join(parts)}</body></html>"


# -- feeding 述职评议 ------------------------------------------------------------------------
def observation_score_by_org(cur, period) -> pl.DataFrame:
    """Indicator provider for 述职评议 ("observation_score"): for every org that hosted the
    latest scored observation event on or before `period`, its mean score on a 0–100 scale
    (each delegation's item total ÷ the rubric's total points × 100, averaged over the
    delegations that scored it, own-street delegations excluded except in 街道内部观摩)."""
    from .reports.model import as_of_date

    as_of = as_of_date(period)
    rows = cur.execute(
        """
        WITH ev AS (
            SELECT e.id, e.mode FROM obs_events e
            WHERE e.event_date <= ? AND EXISTS (SELECT 1 FROM obs_scores s WHERE s.event_id = e.id)
            ORDER BY e.event_date DESC, e.id DESC LIMIT 1),
        total AS (SELECT r.event_id, sum(r.max_points) AS points FROM obs_rubric_items r
                  WHERE r.event_id = (SELECT id FROM ev) GROUP BY 1),
        per_delegation AS (
            SELECT s.host_org_id, s.delegation, sum(s.score) AS score
            FROM obs_scores s WHERE s.event_id = (SELECT id FROM ev) GROUP BY 1, 2)
        SELECT p.host_org_id, avg(p.score / t.points * 100)
        FROM per_delegation p, total t, orgs o, ev
        WHERE o.id = p.host_org_id AND t.points > 0
          AND (ev.mode = 'internal' OR p.delegation <> o.street)
        GROUP BY 1
        """, [as_of]).fetchall()
    return pl.DataFrame({"unit_id": [int(r[0]) for r in rows], "value": [float(r[1]) for r in rows]},
                        schema={"unit_id": pl.Int64, "value": pl.Float64})


# picked up by reports.load_providers()
REPORT_INDICATOR_PROVIDERS = {"observation_score": observation_score_by_org}
