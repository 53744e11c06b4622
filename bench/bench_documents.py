"""公文 at city scale (2,000 orgs, 100,000 members, the demo city's history): the quarterly
党建工作通报 for the last quarter that has ended — data from every workflow, four charts as 2×
PNG, five tables, rendered into the Word template — and the other documents. Budget (issue 15):
the 通报 in under 5 s."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn, n: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 2), out


def run() -> list[dict]:
    from dangjian_core import documents
    from dangjian_core.auth import SYSTEM
    from dangjian_core.charts import export, style
    from dangjian_core.db import Database
    from dangjian_core.documents import data

    out = []
    with tempfile.TemporaryDirectory() as d:
        from bench.city import city_db

        shutil.copyfile(city_db(Path(d)), Path(d) / "app.duckdb")  # the city, built once per make bench
        db = Database(Path(d) / "app.duckdb")
        db.migrate()
        period = data.last_quarter()
        export.export_png(style.vega_spec({"mark": "point", "data": {"values": []}}))  # start vl-convert once
        t0 = time.perf_counter()
        documents.briefing(db, SYSTEM, period)
        out.append({"name": f"通报 {period.code} at city scale, first call", "value": round(time.perf_counter() - t0, 2),
                    "unit": "s"})
        secs, content = _timed(lambda: documents.briefing(db, SYSTEM, period))
        out.append({"name": f"通报 {period.code} at city scale (4 sections, charts, tables; median of 3; budget 5 s)",
                    "value": secs, "unit": "s"})
        out.append({"name": "通报 .docx size", "value": round(len(content) / 1024), "unit": "KB"})
        with db.read() as cur:
            sid = cur.execute("SELECT session_id FROM report_picks WHERE status = 'picked' ORDER BY session_id DESC"
                              " LIMIT 1").fetchone()[0]
            iid = cur.execute("SELECT id FROM rectification_items ORDER BY level DESC, id LIMIT 1").fetchone()[0]
            eid = cur.execute("SELECT max(event_id) FROM obs_visits").fetchone()[0]
        for name, fn in (("述职评议通知", lambda: documents.notice(db, SYSTEM, sid)),
                         ("整改单", lambda: documents.rectification(db, SYSTEM, iid)),
                         ("观摩活动安排表", lambda: documents.observation(db, SYSTEM, eid)),
                         ("示范点命名名单", lambda: documents.sites(db, SYSTEM, period.end.year - 1))):
            secs, _ = _timed(fn)
            out.append({"name": f"{name} at city scale (median of 3)", "value": secs, "unit": "s"})
        db.close()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if load is not None:  # the machine is shared: a figure means little without this
        out.append({"name": f"1-minute load average at the end ({os.cpu_count()} cores)", "value": round(load, 1),
                    "unit": ""})
    return out


if __name__ == "__main__":
    for f in run():
        print(f"{f['name']}: {f['value']} {f['unit']}")
