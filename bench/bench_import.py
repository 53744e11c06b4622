"""Imports and exports at city scale (issue 17), each in a fresh process so its peak memory (max
RSS) and CPU time are its own: 100,000 new members and 100,000 new orgs from csv, dry run then
commit (targets: members under 5 s and 500 MB, orgs under 5 s), the 100,000-row members table
export to xlsx (target 3 s) and the whole city's one-month 花名册 xlsx (target 5 s).

Every line says wall time (from the start of the work, modules already imported), the whole
process's CPU time and its peak memory, with the target and the ratio to it, and the machine's
load: on a loaded 2-core machine the wall clock says more about the neighbours than about us.

`python bench/bench_import.py [city.duckdb]` reuses a city database (copied, never changed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N = 100_000

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from dangjian_core import fileio, tables
from dangjian_core.auth import User
from dangjian_core.db import Database
what, db_path, path = sys.argv[1:4]
user = User("admin", "管理员", frozenset({"admin"}))
db = Database(db_path)
spec = tables.get_spec("members" if what in ("export", "roll") else what)
start = time.perf_counter()
if what == "export":
    spec = tables.get_spec("members")
    df = tables.export_frame(db, user, spec)
    fileio.write_frame(df, path)
    out = {"rows": df.height}
elif what == "roll":
    from dangjian_core.dues import exports
    with db.read() as cur:
        month = cur.execute("SELECT max(month) FROM dues_roll").fetchone()[0]
    data = exports.roll_xlsx(db, user, month)
    open(path, "wb").write(data)
    out = {"month": str(month)[:7]}
else:
    frame = fileio.read_frame(path, expected=[c.label for c in spec.columns])
    read = time.perf_counter() - start
    pre = tables.import_frame(db, user, spec, frame, commit=False)
    dry = time.perf_counter() - start
    assert pre.ok, [str(e) for e in pre.errors[:5]]
    done = tables.import_frame(db, user, spec, frame, commit=True, expect_versions=pre.seen_versions)
    assert done.ok and done.inserts == len(frame.df), [str(e) for e in done.errors[:5]]
    out = {"read": read, "dry": dry, "rows": done.inserts}
out["total"] = time.perf_counter() - start
db.close()
print(json.dumps(out))
"""


def _child(what: str, db: Path, path: Path) -> tuple[dict, int]:
    """Run one import in a fresh process: (its figures with its CPU seconds, its peak RSS in MB).
    CPU time is shown too: on a loaded machine the wall clock says more about the neighbours."""
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, what, str(db), str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    if status != 0:
        raise RuntimeError(err.decode()[-2000:])
    fig = json.loads(out.decode().strip().splitlines()[-1])
    fig["cpu"] = usage.ru_utime + usage.ru_stime
    return fig, usage.ru_maxrss // 1024


def _files(db_path: Path, d: Path) -> tuple[Path, Path]:
    import polars as pl

    from dangjian_core import fileio, tables
    from dangjian_core.auth import User
    from dangjian_core.db import Database

    admin = User("admin", "管理员", frozenset({"admin"}))
    db = Database(db_path)
    members = tables.export_frame(db, admin, tables.get_spec("members")).head(N)
    orgs = tables.export_frame(db, admin, tables.get_spec("orgs"))
    db.close()
    # new members: same shape, new numbers (and valid 身份证号 kept), so the import inserts N rows
    new_members = members.drop("编号", tables.VERSION_LABEL).with_columns(
        ("N" + pl.col("党员编号").str.slice(1)).alias("党员编号"))
    m_path = d / "members.csv"
    fileio.write_frame(new_members, m_path)
    # new orgs: N branches under the existing orgs, named uniquely
    base = orgs.drop("编号", tables.VERSION_LABEL)
    reps = -(-N // base.height)
    new_orgs = (pl.concat([base] * reps).head(N)
                .with_columns(pl.format("新建党支部{}", pl.int_range(pl.len())).alias("名称"),
                              pl.lit("党支部").alias("层级"),
                              pl.concat([orgs["名称"]] * reps).head(N).alias("上级党组织"),
                              pl.lit("12").alias("党员人数")))
    o_path = d / "orgs.csv"
    fileio.write_frame(new_orgs, o_path)
    return m_path, o_path


def _load() -> str:
    return "load " + " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _figures(title: str, fig: dict, mb: int, target_s: float, target_mb: int | None) -> list[dict]:
    load = _load()
    out = [{"name": f"{title}: wall (target {target_s:.0f} s, ratio {fig['total'] / target_s:.2f}×; {load})",
            "value": round(fig["total"], 2), "unit": "s"},
           {"name": f"{title}: process CPU (modules imported included)", "value": round(fig["cpu"], 2), "unit": "s"}]
    mem = f"target {target_mb} MB, ratio {mb / target_mb:.2f}×" if target_mb else "no target"
    out.append({"name": f"{title}: peak memory of the process ({mem})", "value": mb, "unit": "MB"})
    print(*(f"# {f['name']}: {f['value']} {f['unit']}" for f in out), sep="\n", flush=True)
    return out


def run(db_file: str | None = None) -> list[dict]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        db = d / "city.duckdb"
        if db_file:
            shutil.copy(db_file, db)
        else:
            subprocess.run([sys.executable, "-m", "dangjian_core", "db", "init", "--demo", "--scale", "city",
                            "--db", str(db)], cwd=ROOT, check=True, capture_output=True)
        m_path, o_path = _files(db, d)
        for what, path, target_s, target_mb in (("members", m_path, 5.0, 500), ("orgs", o_path, 5.0, None)):
            work = d / f"{what}.duckdb"
            shutil.copy(db, work)
            fig, mb = _child(what, work, path)
            out += _figures(f"import {N:,} {what} from csv, dry run + commit (read {fig['read']:.1f} s, "
                            f"dry run done at {fig['dry']:.1f} s)", fig, mb, target_s, target_mb)
        fig, mb = _child("export", db, d / "export.xlsx")
        out += _figures(f"export {fig['rows']:,} members to xlsx", fig, mb, 3.0, None)
        fig, mb = _child("roll", db, d / "roll.xlsx")
        out += _figures(f"whole-city 花名册 {fig['month']} to xlsx (roll + summary sheets)", fig, mb, 5.0, None)
    return out


if __name__ == "__main__":
    for f in run(sys.argv[1] if len(sys.argv) > 1 else None):
        print(f"{f['name']}: {f['value']} {f['unit']}")
