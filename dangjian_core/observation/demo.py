"""观摩互进 — demo rows: past 各街道交叉观摩 rounds with plans and scores."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from .inputs import build_problem
from .model import DEFAULT_RUBRIC
from .solver import solve
from .store import _site_ids

if TYPE_CHECKING:
    from ..db import Cursor
    from ..demo import DemoContext
    from .model import Plan


def seed_demo(cur: Cursor, ctx: DemoContext) -> None:
    """A past 各街道交叉观摩 with plan and scores (demo, tiny); 4 rounds at city scale."""
    from datetime import timedelta

    rng, o = ctx.rng, ctx.orgs
    n_events = 4 if ctx.scale == "city" else 1
    site_ids = _site_ids(cur)
    per_street = 2
    ev_rows: list[dict[str, Any]] = []
    host_rows: list[dict[str, Any]] = []
    visit_rows: list[dict[str, Any]] = []
    rub_rows: list[dict[str, Any]] = []
    score_rows: list[dict[str, Any]] = []
    prev_visits: Plan | None = None
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
        k = min(days * spd, len(chosen) - int(cast(int, per.max())))
        P = build_problem(orgs_in, "cross", days, spd, k, prev_visits, slot_times=["08:30", "10:00", "14:30"])
        plan = solve(P, seed=e, time_limit=0.3)
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
