"""The one place the product asks what day it is.

Every calendar decision (demo data, default months, deadlines, overdue boards, "this year")
asks `clock.today()` / `clock.now()`, never `date.today()`. `DANGJIAN_TODAY=YYYY-MM-DD` in the
environment pins the calendar date for a whole process and its children (tests, training
installations, the browser tests' app server); `pin()` does the same inside one process.
The time of day keeps running, so timestamps stay ordered. Security clocks (login throttle,
cookie expiry) use the real time and do not come here.
"""
from __future__ import annotations

import os
from datetime import date, datetime

ENV = "DANGJIAN_TODAY"
_pinned: date | None = None


def pin(day: date | str | None) -> None:
    """Pin today's date for this process (None: back to the environment / real calendar)."""
    global _pinned
    _pinned = date.fromisoformat(day) if isinstance(day, str) else day


def today() -> date:
    if _pinned is not None:
        return _pinned
    value = os.environ.get(ENV, "").strip()
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"环境变量 {ENV} 应为日期，例如 2026-12-01，而不是「{value}」") from None
    return date.today()


def now() -> datetime:
    real = datetime.now()
    day = today()
    return real if day == real.date() else datetime.combine(day, real.time())
