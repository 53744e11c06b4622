"""观摩互进 — files for people: the 观摩活动安排表 (xlsx and a printable page) and the score
sheet to fill in."""

from __future__ import annotations

import re

import polars as pl

from .. import fileio
from ..errors import BadInput
from .model import MODE_CN, SHEET
from .scores import score_sheet
from .store import get_event, plan_visits, problem_for
from .views import delegation_names, grid_frame, plan_frame, plan_table


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


def score_sheet_xlsx(db, event_id) -> bytes:
    """The 评分表 sheet (fill 得分, upload it back) and one printable sheet per host."""
    df = score_sheet(db, event_id)
    sheets = {SHEET: df}
    for (host,), part in df.group_by(["观摩点"], maintain_order=True):
        name = re.sub(r"[\[\]:*?/\\]", "", str(host))[:28]
        if name and name not in sheets and len(sheets) < 200:
            sheets[name] = part.drop("观摩点编号")
    return fileio.xlsx_bytes(sheets)


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
    parts = [f"<h1>{title}</h1><p>{MODE_CN[ev['mode']]} {when}</p>", table(grid_frame(P, visits))]
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
