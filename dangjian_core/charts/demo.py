"""Demo charts: four saved charts for the overview page's 「常用图表」."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from .model import ChartSpec

if TYPE_CHECKING:
    from ..db import Cursor

DEMO_CHARTS = [
    ("各类别党组织数量", ChartSpec("orgs", "bar", x="category", title="各类别党组织数量",
                                subtitle="数据来源：党建工作台（演示数据）")),
    ("各街道党员人数", ChartSpec("members", "bar", x="street", sort="desc", horizontal=True,
                              title="各街道/系统党员人数")),
    ("党员类型构成", ChartSpec("members", "donut", x="status", title="正式党员与预备党员")),
    ("近年发展党员数", ChartSpec("members", "line", x="join_year",
                              filters={"join_year": {"min": 2010}}, title="2010年以来每年入党人数")),
]


def seed_demo(cur: Cursor, ctx: Any) -> None:
    """Four saved charts for the overview page's 「常用图表」 (demo.WORKFLOW_MODULES)."""
    frame = pl.DataFrame({
        "id": list(range(1, len(DEMO_CHARTS) + 1)),
        "name": [n for n, _ in DEMO_CHARTS],
        "dataset": [s.dataset for _, s in DEMO_CHARTS],
        "spec": [s.to_json() for _, s in DEMO_CHARTS],
        "position": list(range(1, len(DEMO_CHARTS) + 1)),
    }, schema={"id": pl.Int32, "name": pl.String, "dataset": pl.String, "spec": pl.String,
               "position": pl.Int32})
    cur.register("demo_charts", frame)
    try:
        cur.execute("INSERT INTO charts(id, name, dataset, spec, on_home, position, created_by,"
                    " updated_by) SELECT id, name, dataset, spec, true, position, 'demo', 'demo'"
                    " FROM demo_charts")
    finally:
        cur.unregister("demo_charts")
    cur.execute("SELECT setval('charts_seq', (SELECT max(id) FROM charts))")

