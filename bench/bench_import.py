"""Imports and exports at city scale (issue 17), each in a fresh process so its peak memory (max
RSS) and CPU time are its own: 100,000 new members and 100,000 new orgs from csv and from xlsx
(the Excel worker's CPU added), dry run then commit (targets: members under 5 s and 500 MB, orgs under 5 s), the 100,000-row members table
export to xlsx (target 3 s) and the whole city's one-month 花名册 xlsx (target 5 s).

Each is printed as three figures with target, ratio and 达标/未达标: wall seconds (from the start
of the work, modules already imported — the target is for a quiet machine), the whole process's
CPU seconds (modules imported included: what the work costs whatever the neighbours do; held
to the same target) and its peak memory. The load average goes with each: on a loaded 2-core
machine the wall clock says more about the neighbours than about us.

`python bench/bench_import.py [city.duckdb]` reuses a city database (copied, never changed);
without one, the shared bench city (bench/city.py)."""

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

from bench.city import city_db  # noqa: E402
from bench.figures import figure, line, load_now  # noqa: E402

N = 100_000

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from dangjian_core import fileio, tables
from dangjian_core.auth import User
from dangjian_core.db import Database
what, db_path, path = sys.argv[1:4]
what = what.removesuffix("-xlsx")
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
    out = {"read": read, "dry": dry, "rows": done.inserts,
           "worker_cpu": fileio.last_worker_cpu_s, "worker_mb": fileio.last_worker_rss_kb // 1024}
out["total"] = time.perf_counter() - start
db.close()
# its own peak (VmHWM): ru_maxrss would start at the size of the process that started it
out["peak_kb"] = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
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
    # an Excel file is parsed by a forked worker that is not this child's own child: added
    fig["cpu"] = usage.ru_utime + usage.ru_stime + fig.get("worker_cpu", 0.0)
    return fig, fig["peak_kb"] // 1024


def _files(db_path: Path, d: Path) -> tuple[Path, Path, Path, Path]:
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
    fileio.write_frame(new_members, d / "members.xlsx")
    fileio.write_frame(new_orgs, d / "orgs.xlsx")
    return m_path, o_path, d / "members.xlsx", d / "orgs.xlsx"


def _figures(title: str, fig: dict, mb: int, target_s: float, target_mb: int | None) -> list[dict]:
    load = load_now()
    wall, cpu = fig["total"], fig["cpu"]
    target = f"< {target_s:g} s"
    out = [figure(f"{title}: wall", round(wall, 2), "s", target=target + "（安静的 2 核机器）", ratio=wall / target_s,
                  ratio_to=f"目标 {target_s:g} s", met=wall < target_s, load=load),
           figure(f"{title}: CPU of the whole process (modules imported included)", round(cpu, 2), "s CPU",
                  target=target, ratio=cpu / target_s, ratio_to=f"目标 {target_s:g} s", met=cpu < target_s, load=load)]
    if target_mb:
        out.append(figure(f"{title}: peak memory of the process", mb, "MB", target=f"< {target_mb} MB",
                          ratio=mb / target_mb, ratio_to=f"目标 {target_mb} MB", met=mb < target_mb, load=load))
    else:
        out.append(figure(f"{title}: peak memory of the process (no target)", mb, "MB", load=load))
    print(*(f"# {line(f)}" for f in out), sep="\n", file=sys.stderr, flush=True)
    return out


def run(db_file: str | None = None) -> list[dict]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        db = d / "city.duckdb"
        shutil.copy(db_file or city_db(d), db)
        m_path, o_path, mx_path, ox_path = _files(db, d)
        for what, path, target_s, target_mb in (("members", m_path, 5.0, 500), ("orgs", o_path, 5.0, None),
                                                ("members-xlsx", mx_path, 5.0, 500), ("orgs-xlsx", ox_path, 5.0, None)):
            work = d / f"{what}.duckdb"
            shutil.copy(db, work)
            fig, mb = _child(what, work, path)
            worker = f"; the Excel worker's own peak {fig['worker_mb']} MB, its CPU counted" if fig["worker_mb"] else ""
            out += _figures(f"import {N:,} {what.removesuffix('-xlsx')} from {path.suffix[1:]}, dry run + commit "
                            f"(read {fig['read']:.1f} s, dry run done at {fig['dry']:.1f} s{worker})",
                            fig, mb, target_s, target_mb)
            work.unlink()
        fig, mb = _child("export", db, d / "export.xlsx")
        out += _figures(f"export {fig['rows']:,} members to xlsx", fig, mb, 3.0, None)
        fig, mb = _child("roll", db, d / "roll.xlsx")
        out += _figures(f"whole-city 花名册 {fig['month']} to xlsx (roll + summary sheets)", fig, mb, 5.0, None)
    return out


if __name__ == "__main__":
    for f in run(sys.argv[1] if len(sys.argv) > 1 else None):
        print(line(f))
