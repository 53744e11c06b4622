"""观摩互进 — the rubric (评分细则) and the scores after the event, the ranking of hosts and the
tier changes it proposes (the roll-up itself is `rules.rank_hosts` / `rules.propose_tiers`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import polars as pl

from .. import orgs as orgs_mod
from .. import uow, values
from ..auth import User, require
from ..db import Database
from ..errors import BadInput, CellError
from .inputs import parse_rubric, parse_tier
from .model import PERM, TIER_CN
from .rules import SCORE_COLUMNS, propose_tiers, rank_hosts
from .store import _delete, _event_row, _insert, _insert_rubric, get_event, hosts, plan_visits, problem_for
from .views import delegation_names

_SCORE_MESSAGES = {**values.NUMBER_MESSAGES, "not_number": "得分必须是数字"}


# =========================================================================== rubric and scores
def rubric(db: Database, event_id: int | str) -> pl.DataFrame:
    with db.read() as cur:
        df: pl.DataFrame = cur.sql("SELECT id, seq, item, max_points FROM obs_rubric_items WHERE event_id = ? ORDER BY seq",
                       params=[int(event_id)]).pl()
    return df


def set_rubric(db: Database, user: User, event_id: int | str, rows: pl.DataFrame | Iterable[Any]) -> None:
    """Replace the event's rubric (items and points); refused once scores exist."""
    require(user, PERM)
    rub = parse_rubric(rows)
    with uow.action(db, user, PERM, "observation", "修改观摩评分细则") as act:
        cur = act.cur
        ev = _event_row(cur, event_id)
        if cur.execute("SELECT count(*) FROM obs_scores WHERE event_id = ?", [ev["id"]]).fetchone()[0]:
            raise BadInput("已有评分，不能再修改评分细则")
        act.describe(f"修改观摩评分细则「{ev['name']}」")
        _delete(act, "obs_rubric_items", "event_id = ?", [ev["id"]])
        _insert_rubric(act, ev["id"], rub)


def score_sheet(db: Database, event_id: int | str, delegation: str | None = None) -> pl.DataFrame:
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


def save_scores(db: Database, user: User, event_id: int | str, frame: Any, *, commit: bool = True) -> int:
    """Scores from the score sheet (SHEET_HEADER rows; a fileio Frame, a polars frame or dicts)
    → replaces the scores of the (delegation, host, item) cells given; blank 得分 = not scored
    (an existing score there is removed). Every bad cell is reported at once; nothing is
    written then. → number of scores stored."""
    require(user, PERM)
    row_of: Callable[[int], int] = lambda i: i + 2  # noqa: E731
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
    errors: list[CellError] = []
    keep: list[tuple[str, int, int, Decimal | None]] = []
    seen: dict[tuple[str, str, int], int] = {}
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
            s = values.parse_decimal(raw, places=2, messages=_SCORE_MESSAGES)
        except values.BadValue as exc:
            errors.append(CellError(n, "得分", raw, exc.message))
            continue
        assert s is not None  # blank handled above
        if s < 0 or s > pts:
            errors.append(CellError(n, "得分", raw, f"得分应在 0 到 {pts.normalize():f} 之间（该项满分 {pts.normalize():f}）"))
            continue
        keep.append((d, int(h), iid, s))
    if errors:
        raise BadInput(f"评分表有 {len(errors)} 处错误，没有保存任何评分", errors, file=file)
    if not commit or not keep:
        return sum(1 for x in keep if x[3] is not None)
    with uow.action(db, user, PERM, "observation", "录入观摩评分") as act:
        cur = act.cur
        ev = _event_row(cur, event_id)
        act.describe(f"录入观摩评分「{ev['name']}」")
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
            _delete(act, "obs_scores", "id IN (SELECT unnest(?))", [ids])
        new = [x for x in keep if x[3] is not None]
        _insert(act, "obs_scores", pl.DataFrame(
            {"event_id": [ev["id"]] * len(new), "delegation": [x[0] for x in new], "host_org_id": [x[1] for x in new],
             "item_id": [x[2] for x in new], "score": [x[3] for x in new]},
            schema={"event_id": pl.Int32, "delegation": pl.String, "host_org_id": pl.Int32, "item_id": pl.Int32,
                    "score": pl.Decimal(8, 2)}))
    return len(new)


def scores(db: Database, event_id: int | str) -> pl.DataFrame:
    """Score rows for `rules.rank_hosts`: delegation, delegation_street, host_org_id,
    host_street, score, item (+ delegation_name, host_name)."""
    P = problem_for(db, event_id)
    dstreet = {d.id: d.street for d in P.delegations}
    names = delegation_names(P)
    with db.read() as cur:
        df: pl.DataFrame = cur.sql("SELECT s.delegation, CAST(s.host_org_id AS VARCHAR) AS host_org_id, o.street AS host_street,"
                     " o.name AS host_name, CAST(s.score AS DOUBLE) AS score, r.item FROM obs_scores s"
                     " JOIN orgs o ON o.id = s.host_org_id JOIN obs_rubric_items r ON r.id = s.item_id"
                     " WHERE s.event_id = ? ORDER BY s.delegation, s.host_org_id, r.seq",
                     params=[int(event_id)]).pl()
    return df.with_columns(
        delegation_street=pl.col("delegation").replace_strict(dstreet, default=None, return_dtype=pl.String),
        delegation_name=pl.col("delegation").replace_strict(names, default=None, return_dtype=pl.String))


def score_totals(db: Database, event_id: int | str) -> pl.DataFrame:
    """One row per delegation and host: the sheet total (Σ items) — for the distribution chart."""
    df = scores(db, event_id)
    return df.group_by("delegation_name", "delegation_street", "host_name", "host_street", maintain_order=True) \
        .agg(pl.col("score").sum().alias("total"), pl.len().alias("items"))


def ranking(db: Database, event_id: int | str, *, normalise: str = "center") -> pl.DataFrame:
    """`rules.rank_hosts` over the event's scores (own-street scores excluded, except in
    街道内部观摩 where every delegation is of the host's street), with the host's name and
    current tier. Hosts without any score are listed last."""
    ev = get_event(db, event_id)
    df = scores(db, event_id)
    w = 1.0 if ev["mode"] == "internal" else 0.0
    r = rank_hosts(df.select(SCORE_COLUMNS + ["item"]), normalise=normalise, own_street_weight=w) \
        if df.height else pl.DataFrame(schema={"host_org_id": pl.String, "host_street": pl.String,
                                               "score": pl.Float64, "raw_mean": pl.Float64, "n_scores": pl.Int64,
                                               "n_own_street": pl.Int64, "rank": pl.Int64})
    h = hosts(db, event_id).select(pl.col("org_id").cast(pl.String).alias("host_org_id"), "name", "street", "tier")
    out = h.join(r.drop("host_street"), on="host_org_id", how="left").with_columns(
        pl.col("n_scores").fill_null(0), pl.col("n_own_street").fill_null(0))
    return out.sort(["rank", "name"], nulls_last=True)


def proposals(db: Database, event_id: int | str, *, top_share: float = 0.2, bottom_share: float = 0.2, min_scores: int = 1) -> pl.DataFrame:
    """Ranking + `propose_tiers`: proposed tier (先进/达标/后进), current tier in Chinese and
    whether it changes."""
    r = ranking(db, event_id)
    p = propose_tiers(r, top_share, bottom_share, min_scores=min_scores)
    return p.with_columns(
        current=pl.col("tier").replace_strict(TIER_CN, default=None, return_dtype=pl.String),
    ).with_columns(change=pl.col("proposed_tier").is_not_null() & (pl.col("proposed_tier") != pl.col("current")))


def apply_tiers(db: Database, user: User, event_id: int | str,
                changes: pl.DataFrame | dict[Any, Any] | Iterable[dict[str, Any]]) -> int:
    """Confirm tier changes: `changes` = {org id: tier word (先进/达标/后进 or code)} or rows
    with host_org_id/org_id and tier/proposed_tier, and optionally `current` (the tier shown
    when the proposal was read: refused if it has changed since). Written through `tables.save` on the orgs
    spec (permission orgs.write, validation, optimistic locking, one audited batch)."""
    from .. import tables

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
        code, msg = parse_tier(word)
        if msg:
            errors.append(CellError(n, "评定等次", word, msg))
            continue
        if k in upd:
            errors.append(CellError(n, "党组织", names[k], "重复出现"))
            continue
        if seen is not None and parse_tier(seen)[0] != tiers.get(k):
            # the proposal was read when the tier was `seen`: never overwrite a colleague's change
            errors.append(CellError(n, "现等次", seen, f"「{names[k]}」的等次已被改为"
                                    f"{TIER_CN.get(tiers.get(k), '未评定')}，请刷新页面后重新核对"))
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
