"""观摩互进 — the database side of an event: its setup and hosts, and the arrangement.

* Tables (migration 040): `obs_events` (mode, days, slots and start times, visits per
  delegation, the previous round), `obs_hosts` (org + capacity per event), `obs_visits` (the
  arrangement; `locked` = placed by hand, kept when re-solving), `obs_rubric_items` (评分细则
  per event: item, points) and `obs_scores` (one row per delegation, host and item; `scores.py`).
* This module turns the stored event into a `model.Problem` (`problem_for`), stores the setup
  and the plans (`save_event`, `solve_event`, `save_plan`).
* Every write checks the permission (`observation.write`) and is audited as one batch; bad
  input raises `BadInput` with Chinese `CellError`s and writes nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from .. import uow, values
from ..auth import User, require
from ..caching import BoundedCache
from ..db import Cursor, Database
from ..errors import BadInput, CellError, NotFound, ValidationFailed
from .inputs import build_problem, parse_capacity, parse_rubric, parse_slot_times
from .model import _MODE_ALIASES, DEFAULT_RUBRIC, PERM, Infeasible, Plan, Problem, Visit
from .rules import check_plan, fit_advice, max_visits, summarise
from .solver import solve

ACTIVE_SITE_STATUSES = ("creating", "named", "consolidating")


# =========================================================================== helpers
def _keys(cur: Cursor, name: str, keys: Iterable[int | str]) -> None:
    cur.register(name, pl.DataFrame({"k": [int(k) for k in keys]}, schema={"k": pl.Int64}))


def _insert(act: uow.Action, table: str, frame: pl.DataFrame) -> list[int]:
    """Insert `frame` (without id/version columns) with fresh ids, recorded in the action."""
    if frame.height == 0:
        return []
    cur = act.cur
    ids = [r[0] for r in cur.execute(f"SELECT nextval('{table}_seq') FROM range(?)", [frame.height]).fetchall()]
    frame = frame.with_columns(pl.Series("id", ids, dtype=pl.Int64), pl.lit(act.user.username).alias("updated_by"))
    cols = ", ".join(frame.columns)
    with act.track(table, [], key="id") as tracked:
        cur.register("obs_ins_frame", frame)
        try:
            cur.execute(f"INSERT INTO {table}({cols}) SELECT {cols} FROM obs_ins_frame")
        finally:
            cur.unregister("obs_ins_frame")
        tracked.add(ids)
    return ids


def _delete(act: uow.Action, table: str, where: str, params: list[Any]) -> int:
    cur = act.cur
    ids = [r[0] for r in cur.execute(f"SELECT id FROM {table} WHERE {where}", params).fetchall()]
    if not ids:
        return 0
    with act.track(table, ids, key="id"):
        _keys(cur, "obs_del_keys", ids)
        try:
            cur.execute(f"DELETE FROM {table} WHERE id IN (SELECT k FROM obs_del_keys)")
        finally:
            cur.unregister("obs_del_keys")
    return len(ids)


def _insert_rubric(act: uow.Action, eid: int, rub: list[tuple[str, Decimal]]) -> None:
    _insert(act, "obs_rubric_items", pl.DataFrame(
        {"event_id": [eid] * len(rub), "seq": list(range(1, len(rub) + 1)), "item": [i for i, _ in rub],
         "max_points": [p for _, p in rub]},
        schema={"event_id": pl.Int32, "seq": pl.Int32, "item": pl.String, "max_points": pl.Decimal(8, 2)}))

def _site_ids(cur: Cursor) -> set[int]:
    try:
        return {r[0] for r in cur.execute("SELECT DISTINCT org_id FROM sites WHERE status IN (SELECT unnest(?))",
                                          [list(ACTIVE_SITE_STATUSES)]).fetchall()}
    except Exception:  # noqa: BLE001 — no sites table yet: no org is a site
        return set()


def _event_row(cur: Cursor, event_id: int | str) -> dict[str, Any]:
    try:
        eid = int(event_id)
    except (TypeError, ValueError):
        raise NotFound(f"观摩活动「{event_id}」不存在") from None
    df: pl.DataFrame = cur.sql("SELECT * FROM obs_events WHERE id = ?", params=[eid]).pl()
    if df.height == 0:
        raise NotFound(f"观摩活动（编号 {event_id}）不存在，可能已被删除：请重新选择")
    return df.row(0, named=True)


def _int_setting(v: object, label: str, errors: list[CellError], *, allow_none: bool = False) -> int | None:
    try:
        n = values.parse_int(v)
    except values.BadValue:
        errors.append(CellError(None, label, v, f"{label}必须是整数"))
        return None
    if n is None:
        if not allow_none:
            errors.append(CellError(None, label, v, f"{label}不能为空"))
        return None
    if n < 1:
        errors.append(CellError(None, label, v, f"{label}至少为 1"))
        return None
    return n


def _parse_hosts(cur: Cursor, hosts: pl.DataFrame | Iterable[Any]) -> list[tuple[int, int]]:
    """Rows of {org (id or name) / org_id / 观摩点 / 观摩点编号, capacity / 容量} → [(org_id, capacity)]."""
    if isinstance(hosts, pl.DataFrame):
        rows = hosts.to_dicts()
    else:
        rows = [h if isinstance(h, dict) else {"org": h} for h in hosts]
    orgs = cur.execute("SELECT id, name FROM orgs").fetchall()
    by_id = {i: n for i, n in orgs}
    by_name = {n: i for i, n in orgs}
    out: list[tuple[int, int]] = []
    errors: list[CellError] = []
    seen: dict[int, int] = {}
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
        cap, msg = parse_capacity(r.get("capacity", r.get("容量")))
        if msg:
            errors.append(CellError(n, "容量", r.get("capacity", r.get("容量")), msg))
            continue
        assert cap is not None  # no message: a capacity
        out.append((oid, cap))
    if errors:
        raise BadInput("观摩点有误，没有保存", errors)
    if not out:
        raise BadInput("至少需要一个观摩点")
    return out


def _orgs_input(cur: Cursor, host_caps: dict[int, int], site_ids: set[int]) -> pl.DataFrame:
    df: pl.DataFrame = cur.sql("SELECT id, name, street, tier, lat, lon FROM orgs ORDER BY id").pl()
    return pl.DataFrame({
        "org_id": [str(i) for i in df["id"]], "name": df["name"], "street": df["street"], "tier": df["tier"],
        "is_site": [i in site_ids for i in df["id"]], "host": [i in host_caps for i in df["id"]],
        "capacity": [host_caps.get(i, 1) for i in df["id"]], "lat": df["lat"], "lon": df["lon"]})


def _build(cur: Cursor, ev: dict[str, Any], host_caps: dict[int, int]) -> Problem:
    prev: pl.DataFrame | None = None
    if ev.get("previous_event_id"):
        prev = cur.sql("SELECT v.delegation, CAST(v.host_org_id AS VARCHAR) AS host_org_id, o.street AS host_street"
                       " FROM obs_visits v LEFT JOIN orgs o ON o.id = v.host_org_id WHERE v.event_id = ?",
                       params=[ev["previous_event_id"]]).pl()
    times, _ = parse_slot_times(ev.get("slot_times"), None, None)
    return build_problem(_orgs_input(cur, host_caps, _site_ids(cur)), ev["mode"], ev["days"], ev["slots_per_day"],
                           ev.get("visits_per_delegation"), prev if prev is not None and prev.height else None,
                           slot_times=times)


# =========================================================================== reads
def events(db: Database) -> pl.DataFrame:
    with db.read() as cur:
        df: pl.DataFrame = cur.sql("""
            SELECT e.id, e.name, e.mode, e.event_date, e.days, e.slots_per_day, e.slot_times,
                   e.visits_per_delegation, e.previous_event_id, e.note, e.version,
                   (SELECT count(*) FROM obs_hosts h WHERE h.event_id = e.id) AS n_hosts,
                   (SELECT count(*) FROM obs_visits v WHERE v.event_id = e.id) AS n_visits,
                   (SELECT count(*) FROM obs_scores s WHERE s.event_id = e.id) AS n_scores
            FROM obs_events e ORDER BY e.event_date DESC NULLS LAST, e.id DESC""").pl()
    return df


def get_event(db: Database, event_id: int | str) -> dict[str, Any]:
    with db.read() as cur:
        return _event_row(cur, event_id)


def candidate_hosts(db: Database) -> pl.DataFrame:
    """Every org with its street, tier, whether it is an active site and whether it hosts by
    default (a site or an advanced org)."""
    with db.read() as cur:
        sites = _site_ids(cur)
        df: pl.DataFrame = cur.sql("SELECT id AS org_id, name, street, tier FROM orgs ORDER BY street, name").pl()
    return df.with_columns(is_site=pl.col("org_id").is_in(list(sites)),
                           ).with_columns(default=pl.col("is_site") | (pl.col("tier") == "advanced"))


def hosts(db: Database, event_id: int | str) -> pl.DataFrame:
    with db.read() as cur:
        sites = _site_ids(cur)
        df: pl.DataFrame = cur.sql("SELECT h.org_id, o.name, o.street, o.tier, h.capacity FROM obs_hosts h"
                     " LEFT JOIN orgs o ON o.id = h.org_id WHERE h.event_id = ? ORDER BY o.street, o.name",
                     params=[int(event_id)]).pl()
    return df.with_columns(is_site=pl.col("org_id").is_in(list(sites)))


def problem_for(db: Database, event_id: int | str) -> Problem:
    """The stored event as an `model.Problem` (hosts' org ids as text)."""
    with db.read() as cur:
        return _problem(cur, _event_row(cur, event_id))


def _problem(cur: Cursor, ev: dict[str, Any]) -> Problem:
    caps = dict(cur.execute("SELECT org_id, capacity FROM obs_hosts WHERE event_id = ?", [ev["id"]]).fetchall())
    if not caps:
        raise BadInput("该观摩活动还没有观摩点：请先在「设置」中添加")
    return _build(cur, ev, caps)


def plan_visits(db: Database, event_id: int | str) -> tuple[list[Visit], set[Visit]]:
    """(visits, the locked ones) as stored."""
    with db.read() as cur:
        rows = cur.execute("SELECT day, slot, delegation, host_org_id, locked FROM obs_visits WHERE event_id = ?"
                           " ORDER BY day, slot, delegation", [int(event_id)]).fetchall()
    vs = [Visit(d, s, g, str(h)) for d, s, g, h, _ in rows]
    return vs, {v for v, r in zip(vs, rows) if r[4]}


# =========================================================================== setup writes
def _default_hosts(cur: Cursor) -> list[tuple[int, int]]:
    """The hosts a new event starts with: active sites and advanced orgs, capacity 1."""
    sites = _site_ids(cur)
    return [(i, 1) for i, t in cur.execute("SELECT id, tier FROM orgs ORDER BY id").fetchall()
            if i in sites or t == "advanced"]


MAX_AUTO_DAYS = 7


def _settle(cur: Cursor, ev: dict[str, Any], host_caps: dict[int, int]) -> Problem:
    """Fill the automatic settings of `ev` from the data and check that the setup can fit,
    before anything is solved. 天数 None: the fewest days (up to a week) in which every
    delegation gets its visits; 每团参观次数 None: every slot when that fits, else the most
    visits that fit. Raises Infeasible naming what does not fit and the nearest settings that do."""
    auto_k = ev.get("visits_per_delegation") is None
    if ev.get("days") is None:
        ev["days"] = 1
        for days in range(1, MAX_AUTO_DAYS + 1):
            P = _build(cur, {**ev, "days": days}, host_caps)
            if (max_visits(P) >= 1) if auto_k else (fit_advice(P) is None):
                ev["days"] = days
                break
    problem = _build(cur, ev, host_caps)
    if auto_k:
        fit = max_visits(problem)
        if 1 <= fit < problem.slots:
            ev["visits_per_delegation"] = problem.visits_per_delegation = fit
    advice = fit_advice(problem)
    if advice:  # said now, in the form, not after a solve that cannot succeed
        raise Infeasible(f"观摩活动设置放不下，没有保存：{advice}")
    return problem


def suggested_setup(db: Database, mode: str, *, slots_per_day: int = 3, days: int | None = None,
                    visits: int | None = None, hosts: pl.DataFrame | Iterable[Any] | None = None) -> dict[str, Any]:
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


def save_event(db: Database, user: User, event_id: int | str | None = None, *, name: str, mode: str,
               days: object = 1, slots_per_day: object = 3, slot_times: object = None, visits: object = None,
               event_date: date | None = None, previous_event_id: int | str | None = None,
               hosts: pl.DataFrame | Iterable[Any] | None = None, note: str | None = None,
               rubric: pl.DataFrame | Iterable[Any] | None = None) -> int:
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
    m = _MODE_ALIASES.get(str(mode).strip().lower()) or _MODE_ALIASES.get(str(mode).strip())
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
    assert s is not None  # not allow_none: a blank is an error above
    if k is not None and d is not None and k > d * s:
        raise BadInput(f"每团参观次数（{k}）不能多于时段总数（{d} 天 × {s} 个时段 = {d * s}）")
    rub = parse_rubric(rubric if rubric is not None else DEFAULT_RUBRIC) if event_id is None or rubric is not None \
        else None
    with uow.action(db, user, PERM, "observation", f"{'修改' if event_id is not None else '新建'}观摩活动「{name}」") as act:
        cur = act.cur
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
        ev: dict[str, Any] = {"id": None, "name": name, "mode": m, "days": d, "slots_per_day": s,
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
        if old is None:
            eid = _insert(act, "obs_events", pl.DataFrame(
                [{k2: v for k2, v in ev.items() if k2 != "id"}],
                schema={"name": pl.String, "mode": pl.String, "days": pl.Int32, "slots_per_day": pl.Int32,
                        "slot_times": pl.String, "visits_per_delegation": pl.Int32,
                        "previous_event_id": pl.Int32, "event_date": pl.Date, "note": pl.String}))[0]
        else:
            eid = old["id"]
            with act.track("obs_events", [eid], key="id"):
                cur.execute("UPDATE obs_events SET name=?, mode=?, days=?, slots_per_day=?, slot_times=?,"
                            " visits_per_delegation=?, previous_event_id=?, event_date=?, note=?, version=version+1,"
                            " updated_at=current_timestamp, updated_by=? WHERE id=?",
                            [name, m, d, s, ev["slot_times"], k, ev["previous_event_id"], event_date, ev["note"],
                             user.username, eid])
            old_hosts = sorted(cur.execute("SELECT org_id, capacity FROM obs_hosts WHERE event_id = ?",
                                           [eid]).fetchall())
            changed = sorted(host_list) != old_hosts or any(
                old[c] != ev[c] for c in ("mode", "days", "slots_per_day", "visits_per_delegation"))
            if changed:
                _delete(act, "obs_visits", "event_id = ?", [eid])
            if sorted(host_list) != old_hosts:
                _delete(act, "obs_hosts", "event_id = ?", [eid])
            else:
                host_list = []
        _insert(act, "obs_hosts", pl.DataFrame(
            {"event_id": [eid] * len(host_list), "org_id": [h for h, _ in host_list],
             "capacity": [c for _, c in host_list]},
            schema={"event_id": pl.Int32, "org_id": pl.Int32, "capacity": pl.Int32}))
        if rub is not None:
            _delete(act, "obs_rubric_items", "event_id = ?", [eid])
            _insert_rubric(act, eid, rub)
    return eid


# =========================================================================== the plan
def _replace_visits(act: uow.Action, eid: int, visits: Iterable[Visit], locked: Iterable[Visit]) -> None:
    _delete(act, "obs_visits", "event_id = ?", [eid])
    lk = set(locked)
    vs = sorted(visits)
    _insert(act, "obs_visits", pl.DataFrame(
        {"event_id": [eid] * len(vs), "day": [v.day for v in vs], "slot": [v.slot for v in vs],
         "delegation": [v.delegation for v in vs], "host_org_id": [int(v.host_org_id) for v in vs],
         "locked": [v in lk for v in vs]},
        schema={"event_id": pl.Int32, "day": pl.Int32, "slot": pl.Int32, "delegation": pl.String,
                "host_org_id": pl.Int32, "locked": pl.Boolean}))


# Solved plans by their whole input (the problem, the locks, seed, budget): the solver searches
# for its whole time budget (`solver.DEFAULT_TIME_LIMIT`), so asking again with the same input
# (「重新生成」 with nothing changed, a second editor) gives the plan already found at once.
_SOLVED: BoundedCache[tuple[Any, ...], Plan] = BoundedCache(16)


def _problem_key(P: Problem) -> tuple[Any, ...]:
    return (P.mode, tuple(P.hosts), tuple(P.delegations), P.days, P.slots_per_day, P.visits_per_delegation,
            P.previous_pairs, tuple(P.slot_times or ()), P.previous_street_pairs)


def solve_key(P: Problem, locked: Iterable[Visit], *, seed: int = 0, time_limit: float | None = None,
              exact: bool = False) -> tuple[Any, ...]:
    """The whole input of a solve, as the key of the plans found (`solved`, `remember`)."""
    return (_problem_key(P), tuple(sorted(set(locked))), seed, time_limit, exact)


def solved(key: tuple[Any, ...]) -> Plan | None:
    """The plan found before for this input (a copy), or None."""
    plan = _SOLVED.get(key)
    return None if plan is None else _copy(plan)


def remember(key: tuple[Any, ...], plan: Plan) -> None:
    _SOLVED.put(key, _copy(plan))


def _copy(plan: Plan) -> Plan:
    return Plan(list(plan.visits), copy.deepcopy(plan.summary))


def solve_once(P: Problem, locked: Iterable[Visit], *, seed: int = 0, time_limit: float | None = None,
               exact: bool = False) -> Plan:
    """`solver.solve`, once per input: the same problem, locks, seed and budget give the plan
    found before (a copy; a second caller with the same input while it is being solved waits
    for that plan). Infeasible inputs are not kept (they answer quickly anyway)."""
    locked = sorted(set(locked))
    key = solve_key(P, locked, seed=seed, time_limit=time_limit, exact=exact)
    return _copy(_SOLVED.get_or_compute(key, lambda: solve(P, locked, seed=seed, time_limit=time_limit,
                                                             exact=exact)))


class _Unchanged(Exception):
    """The new plan is the stored one: leave the transaction without writing (no batch, and
    every cached read stays valid)."""


class _Superseded(Exception):
    """The event or its stored plan changed since the solve began: its plan is not stored."""


def solve_input(db: Database, user: User, event_id: int | str, *, keep_locked: bool = True,
                locked: Iterable[Visit] | None = None,
                known: tuple[int, Problem] | None = None) -> tuple[Problem, list[Visit]]:
    """(the event's problem, the visits to keep) for a solve: the permission first; `known`:
    (db.generation, this event's problem) the caller already holds (a page's cached read), used
    while nothing has been written since, else the problem is read again."""
    require(user, PERM)
    P = known[1] if known is not None and known[0] == db.generation else problem_for(db, event_id)
    if locked is None:
        locked = plan_visits(db, event_id)[1] if keep_locked else set()
    return P, sorted(set(locked))


def stored_plan(db: Database, event_id: int | str) -> tuple[list[Visit], set[Visit]]:
    """(sorted visits, locked ones) as stored: what a background solve must find unchanged
    before it stores its plan (`land_plan`)."""
    with db.read() as cur:
        return _stored_plan(cur, int(event_id))


def land_plan(db: Database, user: User, event_id: int | str, P: Problem, locked: Iterable[Visit], plan: Plan, *,
              since: tuple[list[Visit], set[Visit]] | None = None) -> str:
    """Store `plan` as the event's arrangement (one batch 「生成观摩安排」, the user's action;
    the locked visits it kept stay locked). → "stored", or "unchanged" when the stored plan is
    already this one (nothing written). `since`: the stored plan when the solve began (a
    background solve, `jobs`): when the stored plan or the event's problem (settings, hosts,
    orgs, the previous round) changed meanwhile, nothing is written → "superseded"."""
    keep = set(locked) & set(plan.visits)
    try:
        with uow.action(db, user, PERM, "observation", "生成观摩安排") as act:
            ev = _event_row(act.cur, event_id)
            act.describe(f"生成观摩安排「{ev['name']}」")
            stored = _stored_plan(act.cur, ev["id"])
            if stored == (sorted(plan.visits), keep):
                raise _Unchanged
            if since is not None and (stored != since or _problem_key(_problem(act.cur, ev)) != _problem_key(P)):
                raise _Superseded
            _replace_visits(act, ev["id"], plan.visits, keep)
    except _Unchanged:
        return "unchanged"
    except _Superseded:
        return "superseded"
    return "stored"


def solve_event(db: Database, user: User, event_id: int | str, *, keep_locked: bool = True,
                locked: Iterable[Visit] | None = None, seed: int = 0,
                time_limit: float | None = None, exact: bool = False,
                known: tuple[int, Problem] | None = None) -> dict[str, Any]:
    """Arrange the event with the solver and store the plan (one batch), waiting for the whole
    search (the page shows a draft at once instead: `jobs.start_solve`). Locked visits (those
    stored as placed by hand, or `locked` given) are kept. `exact` with a `time_limit` of about
    a minute is「进一步优化路线」(`solver.solve`). → `rules.summarise` dict (with the
    travel bound and gap when the solver proved one). The solver runs once per input
    (`solve_once`); a plan equal to the stored one (visits and locks) writes nothing.
    `known`: as in `solve_input`."""
    P, locked = solve_input(db, user, event_id, keep_locked=keep_locked, locked=locked, known=known)
    plan = solve_once(P, locked, seed=seed, time_limit=time_limit, exact=exact)
    land_plan(db, user, event_id, P, locked, plan)
    return plan.summary


def _stored_plan(cur: Cursor, eid: int) -> tuple[list[Visit], set[Visit]]:
    rows = cur.execute("SELECT day, slot, delegation, host_org_id, locked FROM obs_visits WHERE event_id = ?",
                       [eid]).fetchall()
    vs = [Visit(d, s, g, str(h)) for d, s, g, h, _ in rows]
    return sorted(vs), {v for v, r in zip(vs, rows) if r[4]}


def save_plan(db: Database, user: User, event_id: int | str, visits: Iterable[Visit],
              locked: Iterable[Visit] | None = None) -> dict[str, Any]:
    """Store a hand-edited plan after `check_plan`; any breach refuses it (ValidationFailed
    listing each breach in Chinese). `locked` (default: every visit that differs from the
    stored plan, plus those already locked) are kept when re-solving later."""
    require(user, PERM)
    P = problem_for(db, event_id)
    visits = list(visits)
    problems = check_plan(P, visits)
    if problems:
        raise ValidationFailed("安排不符合要求，没有保存：", [CellError(None, None, None, p) for p in problems])
    old, old_locked = plan_visits(db, event_id)
    if locked is None:
        locked = (set(visits) - set(old)) | (old_locked & set(visits))
    with uow.action(db, user, PERM, "observation", "手工调整观摩安排") as act:
        ev = _event_row(act.cur, event_id)
        act.describe(f"手工调整观摩安排「{ev['name']}」")
        _replace_visits(act, ev["id"], visits, locked)
    return summarise(P, visits)


# =========================================================================== orgs delete guard
def refuse_delete_orgs_in_events(cur: Cursor, keys: list[int | str]) -> list[str]:
    _keys(cur, "obs_org_keys", keys)
    try:
        rows = cur.execute("SELECT DISTINCT o.name FROM orgs o WHERE o.id IN (SELECT k FROM obs_org_keys) AND"
                           " (o.id IN (SELECT org_id FROM obs_hosts) OR o.id IN (SELECT host_org_id FROM obs_visits))"
                           " ORDER BY 1").fetchall()
    finally:
        cur.unregister("obs_org_keys")
    return [f"「{n}」是观摩活动的观摩点，不能删除：观摩安排和评分要保留" for (n,) in rows]

