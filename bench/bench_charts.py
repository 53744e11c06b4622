"""简报图表 at city scale (2,000 orgs, 100,000 members): loading a dataset, building a chart
(filter + aggregate + altair), and exporting PNG (2×) / SVG / xlsx with vl-convert."""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _median_ms(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 1)


def run() -> list[dict]:
    from dangjian_core.auth import User
    from dangjian_core.charts import build, datasets, export, model, store, style
    from dangjian_core.db import Database

    user = User("viewer", "查看", frozenset({"viewer"}))
    out = []
    with tempfile.TemporaryDirectory() as d:
        from bench.city import city_db

        shutil.copyfile(city_db(Path(d)), Path(d) / "app.duckdb")  # the city, built once per make bench
        db = Database(Path(d) / "app.duckdb")
        db.migrate()
        members = datasets.load_frame(db, user, "members")
        out.append({"name": f"load dataset members ({members.height} rows, median of 5)",
                    "value": _median_ms(lambda: datasets.load_frame(db, user, "members")), "unit": "ms"})
        out.append({"name": "load dataset orgs (2000 rows, median of 5)",
                    "value": _median_ms(lambda: datasets.load_frame(db, user, "orgs")), "unit": "ms"})
        stacked = model.ChartSpec("members", "stacked", x="street", color="org_category",
                                   filters={"join_year": {"min": 1990}})
        out.append({"name": "build stacked bar over 100k members (filter+aggregate+altair, median of 5)",
                    "value": _median_ms(lambda: build.build_chart(stacked, members)), "unit": "ms"})
        built = build.build_chart(stacked, members)
        out.append({"name": "vega spec with house style (median of 5)",
                    "value": _median_ms(lambda: style.vega_spec(built.chart)), "unit": "ms"})
        t0 = time.perf_counter()
        export.export_png(built.chart)
        out.append({"name": "export PNG 2x, first call (starts vl-convert)",
                    "value": round((time.perf_counter() - t0) * 1000), "unit": "ms"})
        out.append({"name": "export PNG 2x 1600x900 stacked bar (median of 5)",
                    "value": _median_ms(lambda: export.export_png(built.chart)), "unit": "ms"})
        out.append({"name": "export SVG stacked bar (median of 5)",
                    "value": _median_ms(lambda: export.export_svg(built.chart)), "unit": "ms"})
        out.append({"name": "export xlsx of the chart data (median of 5)",
                    "value": _median_ms(lambda: export.export_xlsx(built.table, built.title)), "unit": "ms"})
        specs = [model.ChartSpec("members", kind, x="org_category",
                                  color="status" if kind in ("stacked", "heatmap", "table") else None)
                 for kind in model.CHART_TYPES]
        out.append({"name": "build all 7 chart types over 100k members (median of 5)",
                    "value": _median_ms(lambda: [build.build_chart(s, members) for s in specs]),
                    "unit": "ms"})
        saved = store.list_charts(db, on_home=True)
        out.append({"name": f"draw the {len(saved)} demo saved charts from the database (median of 5)",
                    "value": _median_ms(lambda: [store.render_saved(db, user, c) for c in saved]),
                    "unit": "ms"})
        db.close()
    return out


if __name__ == "__main__":
    for f in run():
        print(f"{f['name']}: {f['value']} {f['unit']}")
