"""述职评议: constants, the month/period helpers and the small checks every part shares
(no database reads here)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from .. import clock, tables, values
from ..db import Cursor
from ..errors import BadInput, ConflictError
from . import rules

PERM = "reports.write"

KINDS = {"year_start": "年初述职", "ordinary": "常规述职", "mid_year": "年中述职", "year_end": "年底考评"}
SESSION_STATUS = {"draft": "未发布", "published": "已发布"}
PICK_SOURCES = {"rule": "按规则选定", "swap": "调换调入", "added": "增加"}
PICK_STATUS = {"picked": "入选", "removed": "已调出"}
SOURCES = {"session": "述职评议发现", "supervision": "督查发现"}
DIRECTIONS = {"higher_better": "越高越好", "lower_better": "越低越好"}
LEVEL_NAMES = rules.LEVEL_NAMES
GRADE_LABELS = {"good": "好", "fairly_good": "较好", "average": "一般", "poor": "差"}
MAX_NOTE = 200
Row = dict[str, Any]  # a database row as read (query(...).to_dicts())
Id = int | str  # a row or unit id as a page, a file or the CLI gives it


def resolve_today(today: date | None) -> date:
    return today or clock.today()


keys_frame = tables.register_keys


new_keys = tables.new_keys


def query(cur: Cursor, sql: str, params: object = None) -> pl.DataFrame:
    """The rows of one SELECT as a polars frame (`params`: a list, or a dict for $name)."""
    frame: pl.DataFrame = cur.sql(sql, params=params).pl()
    return frame


def to_int(value: object, message: str) -> int:
    """An id or number as a page, a file or the CLI gives it (7, "7", 7.0), or BadInput(message)."""
    try:
        number: int = int(value)  # type: ignore[call-overload]  # whatever int() reads
        return number
    except (TypeError, ValueError):
        raise BadInput(message) from None


def required_note(note: str | None, what: str) -> str:
    text = (note or "").strip()
    if not text:
        raise BadInput(f"{what}必须填写说明（为什么这样调整），说明会随名单一起保存并记入操作记录")
    if len(text) > MAX_NOTE:
        raise BadInput(f"说明太长了：最多 {MAX_NOTE} 个字")
    return text


def check_version(row: Row, expected: int | None, what: str) -> None:
    if expected is not None and int(expected) != int(row["version"]):
        raise ConflictError(f"{what}在您打开页面之后已被别人修改。您的操作没有保存，请刷新页面后再做。")


# =============================================================================================
# Dates and periods
# =============================================================================================
def period_of(d: date) -> str:
    """The month a date falls in, as 'YYYY-MM'."""
    return f"{d.year:04d}-{d.month:02d}"


def as_of_date(period: object) -> date:
    """The date a provider computes for: a date as it is; 'YYYY-MM' → the last day of that month."""
    if isinstance(period, datetime):
        return period.date()
    if isinstance(period, date):
        return period
    p = parse_period(period)
    if p is None:
        raise BadInput(f"月份「{period}」无效，应写成 2024-05")
    y, m = int(p[:4]), int(p[5:])
    return (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1))


def parse_period(raw: object) -> str | None:
    """A month as every path reads it (values.parse_month: '2024-05', '2024/5', '2024年5月', an
    Excel date …) as 'YYYY-MM'; None when blank or not a month."""
    try:
        month = values.parse_month(raw)
    except values.BadValue:
        return None
    return None if month is None else period_of(month)


def defs_from_frame(df: pl.DataFrame) -> list[rules.IndicatorDef]:
    """`report_indicators` rows (in their 顺序) as the rules' indicator definitions."""
    return [rules.IndicatorDef(r["code"], r["name"], float(r["weight"]), r["direction"], float(r["target"]),
                               float(r["floor"]), r.get("display_unit") or "",
                               None if r.get("max_value") is None else float(r["max_value"]))
            for r in df.sort("position", "id").to_dicts()]
