"""观摩互进 — the chart dataset 观摩评分 (one row per delegation and host: the sheet total)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from ..contracts import Dataset, Field

if TYPE_CHECKING:
    from ..auth import User
    from ..db import Database


def _dataset_scores(db: Database, user: User) -> pl.DataFrame:
    with db.read() as cur:
        df: pl.DataFrame = cur.sql("""
            SELECT e.name AS event, s.delegation, o.name AS host, o.street AS host_street,
                   sum(CAST(s.score AS DOUBLE)) AS score
            FROM obs_scores s JOIN obs_events e ON e.id = s.event_id JOIN orgs o ON o.id = s.host_org_id
            GROUP BY ALL ORDER BY 1, 2, 3""").pl()
    return df


SCORES = Dataset(
    code="observation_scores", label="观摩评分",
    description="每个观摩团对每个观摩点一行：评分表合计得分（各评分项目之和，百分制）。",
    fields=[Field("event", "观摩活动"), Field("delegation", "观摩团"),
            Field("host", "观摩点"), Field("host_street", "观摩点所在街道"),
            Field("score", "得分", "quantitative", unit="分")],
    loader=_dataset_scores, tables=("obs_scores", "obs_events", "orgs"), count_label="评分表数")
