"""述职评议 printable documents: the session notice (table, xlsx, HTML) and the
rectification notices 问题整改意见单 / 通报批评单 / 主要领导约谈单 (HTML)."""

from __future__ import annotations

import re

import polars as pl

from .. import clock, fileio, printing
from ..db import Database
from ..errors import BadInput
from .model import LEVEL_NAMES, Id, Row
from .picks import picks
from .rectifications import documents, item_row
from .sessions import session
from .specs import read_settings, settings


def _clock(start: str, minutes: int) -> str:
    h, m = (int(x) for x in start.split(":"))
    t = h * 60 + m + minutes
    return f"{(t // 60) % 24:02d}:{t % 60:02d}"


def notice(db: Database, session_id: object) -> tuple[Row, pl.DataFrame]:
    """The session and its notice table: 序号, 单位, 街道/系统, 书记, 述职时间, 述职重点."""
    s = session(db, session_id)
    p = picks(db, s["id"]).filter(pl.col("status") == "picked")
    start, mins = s["start_time"] or "09:00", int(s["minutes_per_unit"] or 15)
    times = [f"{_clock(start, i * mins)}–{_clock(start, (i + 1) * mins)}" for i in range(p.height)]
    focus = [(_focus(r)) for r in p.iter_rows(named=True)]
    return s, pl.DataFrame({
        "序号": list(range(1, p.height + 1)), "单位": p["name"].to_list(), "街道/系统": p["street"].to_list(),
        "书记": p["secretary"].to_list(), "述职时间": times, "时长（分钟）": [mins] * p.height, "述职重点": focus,
    }, schema={"序号": pl.Int64, "单位": pl.String, "街道/系统": pl.String, "书记": pl.String, "述职时间": pl.String,
               "时长（分钟）": pl.Int64, "述职重点": pl.String})


def _focus(row: Row) -> str:
    reason = row.get("reason") or ""
    m = re.search(r"滞后指标：([^；]*)", reason)
    return f"重点说明：{m.group(1)}" if m else "全面报告党建工作推进情况"


def notice_xlsx(db: Database, session_id: Id) -> bytes:
    s, table = notice(db, session_id)
    info = pl.DataFrame({"项目": ["场次", "日期", "开始时间", "地点", "主题", "每个单位时长（分钟）"],
                         "内容": [s["title"], s["session_date"].isoformat(), s["start_time"], s["venue"] or "另行通知",
                                  s["theme"], str(s["minutes_per_unit"])]})
    return fileio.xlsx_bytes({"述职安排": table, "会议信息": info})


def notice_html(db: Database, session_id: Id) -> str:
    """A printable notice of the session (a whole HTML page; open and print with Ctrl+P)."""
    s, table = notice(db, session_id)
    return printing.render(__package__, "session_notice.html", s=s, date=s["session_date"], rows=table.to_dicts(),
                           issuer=settings(db)["issuer"], signed_on=f"{clock.today():%Y 年 %m 月 %d 日}")


def rectification_notice_html(db: Database, item_id: Id, level: int) -> str:
    """A printable 问题整改意见单 / 通报批评单 / 主要领导约谈单 for an item at that level."""
    with db.read() as cur:
        r = item_row(cur, item_id)
        st = read_settings(cur)
    doc = next((d for d in documents(db, item_id) if d["level"] == int(level)), None)
    if doc is None:
        raise BadInput(f"第 {r['id']} 号事项还没有下发{LEVEL_NAMES.get(int(level), '这一级通知')}")
    return printing.render(__package__, "rectification_notice.html", item=r, doc=doc, issuer=st["issuer"],
                           signed_on=f"{doc['issued']:%Y 年 %m 月 %d 日}")
