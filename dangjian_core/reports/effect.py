"""述职效果: did reporting help? Scores at the sessions after a unit reported, and per
session the reporting units against all the others."""

from __future__ import annotations

import polars as pl

from ..db import Cursor, Database
from . import rules
from .indicators import units_frame
from .model import query
from .picks import report_history


def _session_scores(cur: Cursor) -> tuple[pl.DataFrame, pl.DataFrame]:
    scores_ = query(cur, "SELECT s.session_date, CAST(x.unit_id AS BIGINT) AS unit_id, x.progress FROM report_session_scores x"
                      " JOIN report_sessions s ON s.id = x.session_id WHERE s.status = 'published'")
    return scores_, report_history(cur)


def effect(db: Database) -> pl.DataFrame:
    """Each report: the unit's score when it was picked and at the next two sessions
    (rules.report_effect), with the unit's name."""
    with db.read() as cur:
        sc, hist = _session_scores(cur)
        names = units_frame(cur).select("unit_id", "name", "street")
    if sc.height == 0 or hist.height == 0:
        return pl.DataFrame()
    return rules.report_effect(sc, hist).join(names, on="unit_id", how="left", maintain_order="left")


def effect_by_session(db: Database) -> pl.DataFrame:
    """Did reporting help? For each published session: the mean change of score to the next
    session for the units that reported there and for all the others (the comparison)."""
    with db.read() as cur:
        sc, hist = _session_scores(cur)
    if sc.height == 0:
        return pl.DataFrame()
    order = sc.select("session_date").unique().sort("session_date").with_columns(_k=pl.int_range(pl.len()))
    s = sc.join(order, on="session_date")
    nxt = s.select("unit_id", (pl.col("_k") - 1).alias("_k"), pl.col("progress").alias("_next"))
    reported = hist.rename({"date": "session_date"}).with_columns(reported=pl.lit(True)).unique(["unit_id", "session_date"])
    out = (s.join(nxt, on=["unit_id", "_k"], how="inner")
           .join(reported, on=["unit_id", "session_date"], how="left")
           .with_columns(pl.col("reported").fill_null(False), change=pl.col("_next") - pl.col("progress"))
           .group_by("session_date", "reported")
           .agg(mean_change=pl.col("change").mean().round(2), units=pl.len())
           .with_columns(group=pl.when(pl.col("reported")).then(pl.lit("述职单位")).otherwise(pl.lit("其他单位")))
           .sort("session_date", "group"))
    return out
