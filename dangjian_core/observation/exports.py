"""观摩互进 — files for people: the 观摩活动安排表 (xlsx and a printable page) and the score
sheet to fill in."""

from __future__ import annotations

import re

import polars as pl

from .. import fileio, printing
from ..db import Database
from ..errors import BadInput
from .model import MODE_CN, SHEET
from .scores import score_sheet
from .store import get_event, plan_visits, problem_for
from .views import delegation_names, grid_frame, plan_frame, plan_table


def plan_xlsx(db: Database, event_id: int | str) -> bytes:
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
    df = plan_frame(P, visits, full=True)
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


def score_sheet_xlsx(db: Database, event_id: int | str) -> bytes:
    """The 评分表 sheet (fill 得分, upload it back) and one printable sheet per host."""
    df = score_sheet(db, event_id)
    sheets = {SHEET: df}
    for (host,), part in df.group_by(["观摩点"], maintain_order=True):
        name = re.sub(r"[\[\]:*?/\\]", "", str(host))[:28]
        if name and name not in sheets and len(sheets) < 200:
            sheets[name] = part.drop("观摩点编号")
    return fileio.xlsx_bytes(sheets)


def plan_print_html(db: Database, event_id: int | str) -> str:
    """A printable 观摩活动安排表 (HTML from templates/plan_print.html: the overall grid, then one
    page per delegation's route)."""
    ev = get_event(db, event_id)
    P = problem_for(db, event_id)
    visits, _ = plan_visits(db, event_id)
    if not visits:
        raise BadInput("该观摩活动还没有安排：请先点「生成安排」")
    full = plan_table(P, visits).drop("手工安排")
    names = delegation_names(P)
    delegations = [{"name": names[d.id], "route": _table(full.filter(pl.col("观摩团") == names[d.id]).drop("观摩团"))}
                   for d in P.delegations]
    return printing.render("dangjian_core.observation", "plan_print.html", title=f"{ev['name']} 观摩活动安排表",
                           mode=MODE_CN[ev["mode"]], when=f"{ev['event_date']}" if ev.get("event_date") else "",
                           grid=_table(grid_frame(P, visits)), delegations=delegations)


def _table(df: pl.DataFrame) -> dict[str, object]:
    return {"columns": df.columns, "rows": list(df.iter_rows())}
