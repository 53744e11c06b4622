"""The 述职 indicator `dues_collection_rate`: collection rate per org over a period."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from .. import orgs
from ..contracts import Indicator
from ..db import Cursor
from .roll import _rate_expr
from .store import add_months, month_end, parse_month

PROVIDER_WINDOW_MONTHS = 12


def _period_months(period: object) -> tuple[date, date]:
    """A date → the 12 months ending with its month if it is the month's last day (a closed
    month), else with the month before; 'YYYY-MM' → that month; 'YYYY-Qn' → the quarter;
    'YYYY' → the year."""
    if isinstance(period, datetime):
        period = period.date()
    if isinstance(period, date):
        end = date(period.year, period.month, 1)
        if period != month_end(end):
            end = add_months(end, -1)
        return add_months(end, 1 - PROVIDER_WINDOW_MONTHS), end
    p = str(period or "").strip()
    if len(p) == 4 and p.isdigit():
        return date(int(p), 1, 1), date(int(p), 12, 1)
    if len(p) == 7 and p[4] == "-" and p[5] in "Qq" and p[6] in "1234":
        q = int(p[6])
        return date(int(p[:4]), 3 * q - 2, 1), date(int(p[:4]), 3 * q, 1)
    m = parse_month(p, "统计期间")
    return m, m


def collection_rate_by_org(cur: Cursor, period: object) -> pl.DataFrame:
    """Indicator provider for 述职评议 ("dues_collection_rate"): per org (unit_id = orgs.id,
    each org counting its sub-orgs' rolls too) the collection rate in % over `period` — a
    date (as of: the 12 closed months up to it), 'YYYY-MM', 'YYYY-Qn' or 'YYYY' —
    Σ min(实缴, 应缴) ÷ Σ 应缴 × 100, 100 when nothing was due. Orgs with no roll rows in the
    period are absent. Columns unit_id (Int64), value (Float64)."""
    a, b = _period_months(period)
    df: pl.DataFrame = cur.sql(f"""
        WITH RECURSIVE {orgs.ancestors_cte("anc")}, per_org AS (
            SELECT r.org_id, sum(r.due) AS due, sum(least(r.paid, r.due)) AS collected, count(*) AS n
            FROM dues_roll r WHERE r.month BETWEEN ? AND ? GROUP BY 1
        )
        SELECT CAST(a.unit_id AS BIGINT) AS unit_id, CAST(sum(p.due) * 100 AS BIGINT) AS due_fen,
               CAST(sum(p.collected) * 100 AS BIGINT) AS collected_fen
        FROM per_org p JOIN anc a ON a.org_id = p.org_id GROUP BY 1 ORDER BY 1""", params=[a, b]).pl()
    return df.select("unit_id", value=_rate_expr())


INDICATORS: tuple[Indicator, ...] = (
    Indicator("dues_collection_rate", "党费收缴率", collection_rate_by_org,
              "党费花名册：近 12 个月实缴 ÷ 应缴（含下级党组织）"),
)
