"""述职评议 printable documents: the session notice (table, xlsx, HTML) and the
rectification notices 问题整改意见单 / 通报批评单 / 主要领导约谈单 (HTML)."""

from __future__ import annotations

import html
import re

import polars as pl

from .. import clock, fileio
from ..errors import BadInput
from .model import LEVEL_NAMES
from .picks import picks
from .rectifications import documents, item_row
from .sessions import session
from .specs import read_settings, settings


def _clock(start: str, minutes: int) -> str:
    h, m = (int(x) for x in start.split(":"))
    t = h * 60 + m + minutes
    return f"{(t // 60) % 24:02d}:{t % 60:02d}"


def notice(db, session_id) -> tuple[dict, pl.DataFrame]:
    """The session and its notice table: 序号, 单位, 街道/系统, 书记, 述职时间, 述职重点."""
    s = session(db, session_id)
    p = picks(db, session_id).filter(pl.col("status") == "picked")
    start, mins = s["start_time"] or "09:00", int(s["minutes_per_unit"] or 15)
    times = [f"{_clock(start, i * mins)}–{_clock(start, (i + 1) * mins)}" for i in range(p.height)]
    focus = [(_focus(r)) for r in p.iter_rows(named=True)]
    return s, pl.DataFrame({
        "序号": list(range(1, p.height + 1)), "单位": p["name"].to_list(), "街道/系统": p["street"].to_list(),
        "书记": p["secretary"].to_list(), "述职时间": times, "时长（分钟）": [mins] * p.height, "述职重点": focus,
    }, schema={"序号": pl.Int64, "单位": pl.String, "街道/系统": pl.String, "书记": pl.String, "述职时间": pl.String,
               "时长（分钟）": pl.Int64, "述职重点": pl.String})


def _focus(row: dict) -> str:
    reason = row.get("reason") or ""
    m = re.search(r"滞后指标：([^；]*)", reason)
    return f"重点说明：{m.group(1)}" if m else "全面报告党建工作推进情况"


def notice_xlsx(db, session_id) -> bytes:
    s, table = notice(db, session_id)
    info = pl.DataFrame({"项目": ["场次", "日期", "开始时间", "地点", "主题", "每个单位时长（分钟）"],
                         "内容": [s["title"], s["session_date"].isoformat(), s["start_time"], s["venue"] or "另行通知",
                                  s["theme"], str(s["minutes_per_unit"])]})
    return fileio.xlsx_bytes({"述职安排": table, "会议信息": info})


_PRINT_CSS = """
body{font-family:"Noto Serif CJK SC","SimSun","Songti SC",serif;max-width:760px;margin:24px auto;color:#000;line-height:1.8}
h1{font-size:22pt;text-align:center;color:#C8161D;margin:8px 0 4px} .no{text-align:center;margin:0 0 8px}
hr.red{border:0;border-top:2px solid #C8161D;margin:8px 0 20px} p{font-size:14pt;text-indent:2em;margin:6px 0}
table{border-collapse:collapse;width:100%;font-size:12pt;margin:12px 0} th,td{border:1px solid #000;padding:4px 6px}
th{background:#f3f3f3} td:nth-child(3),td:nth-child(4){white-space:nowrap} .sign{text-align:right;margin-top:36px;font-size:14pt} .to{text-indent:0}
@media print{body{margin:0} .noprint{display:none}}
"""


def print_page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_PRINT_CSS}</style></head><body><div class='noprint' style='text-align:right'>"
            "<button onclick='window.print()'>打印</button></div>" f"{body}</body></html>")


def notice_html(db, session_id) -> str:
    """A printable notice of the session (a whole HTML page; open and print with Ctrl+P)."""
    s, table = notice(db, session_id)
    st = settings(db)
    e = html.escape
    rows = "".join(f"<tr><td>{r['序号']}</td><td>{e(r['单位'] or '')}</td><td>{e(r['书记'] or '')}</td>"
                   f"<td>{e(r['述职时间'])}</td><td>{e(r['述职重点'])}</td></tr>" for r in table.iter_rows(named=True))
    d = s["session_date"]
    body = (f"<h1>关于召开{e(s['title'])}党建述职评议会的通知</h1><hr class='red'>"
            f"<p class='to'>各基层党组织：</p>"
            f"<p>经研究，定于 {d.year} 年 {d.month} 月 {d.day} 日 {e(s['start_time'])} 在{e(s['venue'] or '（地点另行通知）')}"
            f"召开{e(s['title'])}党建述职评议会，主题为「{e(s['theme'])}」。现将有关事项通知如下：</p>"
            f"<p>一、述职单位及顺序（每个单位述职 {s['minutes_per_unit']} 分钟，含点评）：</p>"
            "<table><tr><th style='width:7%'>序号</th><th style='width:26%'>单位</th><th style='width:10%'>书记</th>"
            f"<th style='width:15%'>时间</th><th>述职重点</th></tr>{rows}</table>"
            "<p>二、请述职单位党组织书记本人到会述职，围绕述职重点如实报告工作进展、存在问题和整改措施；"
            "述职后由参会人员按「好、较好、一般、差」进行测评。</p>"
            "<p>三、请各单位于会前 3 个工作日将述职报告书面材料报送办公室。</p>"
            f"<div class='sign'>{e(st['issuer'])}<br>{clock.today():%Y 年 %m 月 %d 日}</div>")
    return print_page(f"{s['title']}述职评议会通知", body)


def rectification_notice_html(db, item_id, level: int) -> str:
    """A printable 问题整改意见单 / 通报批评单 / 主要领导约谈单 for an item at that level."""
    with db.read() as cur:
        r = item_row(cur, item_id)
        st = read_settings(cur)
    doc = next((d for d in documents(db, item_id) if d["level"] == int(level)), None)
    if doc is None:
        raise BadInput(f"第 {r['id']} 号事项还没有下发{LEVEL_NAMES.get(int(level), '这一级通知')}")
    e = html.escape
    dl = doc["deadline"]
    head = f"<h1>{e(doc['name'])}</h1><div class='no'>整改〔{doc['issued'].year}〕第 {r['id']:04d}-{doc['level']} 号</div><hr class='red'>"
    facts = (f"<table><tr><th style='width:22%'>单位</th><td>{e(r['name'] or '')}</td></tr>"
             f"<tr><th>发现的问题</th><td>{e(r['problem'])}</td></tr>"
             f"<tr><th>整改措施要求</th><td>{e(r['measure'] or '请制定具体整改措施')}</td></tr>"
             f"<tr><th>责任人</th><td>{e(r['responsible'])}</td></tr>"
             f"<tr><th>整改期限</th><td>{dl.year} 年 {dl.month} 月 {dl.day} 日前</td></tr></table>")
    to = f"<p class='to'>{e(r['name'] or '')}：</p>"
    if doc["level"] == 1:
        text = "<p>经督查，你单位党建工作存在以下问题，现下发问题整改意见单，请认真研究、逐项整改，并于期限内将整改情况书面报送。</p>"
    elif doc["level"] == 2:
        text = (f"<p>你单位对问题整改意见单所列问题逾期 {doc['days_overdue']} 天仍未整改到位。经研究，现予通报批评，"
                "请党组织书记切实履行第一责任人职责，于下列期限内整改到位并书面报告。</p>")
    else:
        text = (f"<p>你单位对通报批评所列问题逾期 {doc['days_overdue']} 天仍未整改到位。经研究，定于近期对你单位主要负责同志"
                "进行约谈，请做好准备，并于下列期限内整改到位。</p>")
    sign = f"<div class='sign'>{e(st['issuer'])}<br>{doc['issued']:%Y 年 %m 月 %d 日}</div>"
    return print_page(f"{doc['name']}-{r['name']}", head + to + text + facts + sign)
