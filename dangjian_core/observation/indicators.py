"""观摩互进 — the 述职评议 indicator `observation_score` (hosts' mean score in the latest event)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from ..db import Cursor


def observation_score_by_org(cur: Cursor, period: date) -> pl.DataFrame:
    """Indicator provider for 述职评议 ("observation_score"): for every org that hosted the
    latest scored observation event on or before `period`, its mean score on a 0–100 scale
    (each delegation's item total ÷ the rubric's total points × 100, averaged over the
    delegations that scored it, own-street delegations excluded except in 街道内部观摩)."""
    from ..reports.model import as_of_date

    as_of = as_of_date(period)
    rows = cur.execute(
        """
        WITH ev AS (
            SELECT e.id, e.mode FROM obs_events e
            WHERE e.event_date <= ? AND EXISTS (SELECT 1 FROM obs_scores s WHERE s.event_id = e.id)
            ORDER BY e.event_date DESC, e.id DESC LIMIT 1),
        total AS (SELECT r.event_id, sum(r.max_points) AS points FROM obs_rubric_items r
                  WHERE r.event_id = (SELECT id FROM ev) GROUP BY 1),
        per_delegation AS (
            SELECT s.host_org_id, s.delegation, sum(s.score) AS score
            FROM obs_scores s WHERE s.event_id = (SELECT id FROM ev) GROUP BY 1, 2)
        SELECT p.host_org_id, avg(p.score / t.points * 100)
        FROM per_delegation p, total t, orgs o, ev
        WHERE o.id = p.host_org_id AND t.points > 0
          AND (ev.mode = 'internal' OR p.delegation <> o.street)
        GROUP BY 1
        """, [as_of]).fetchall()
    return pl.DataFrame({"unit_id": [int(r[0]) for r in rows], "value": [float(r[1]) for r in rows]},
                        schema={"unit_id": pl.Int64, "value": pl.Float64})

