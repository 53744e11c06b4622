"""The city-scale database the benchmarks share (2,000 orgs, 100,000 members, 3 years of dues):
built once by `python -m dangjian_core db init --demo --scale city` and reused.

Where: $DANGJIAN_BENCH_CITY when set (bench/__main__.py sets it to a temporary file for the
whole `make bench`, so the city is built once per run, not once per module); otherwise a file in
the caller's folder. Benchmarks copy it before changing anything: the shared file stays as built."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def city_db(folder: Path) -> Path:
    keep = os.environ.get("DANGJIAN_BENCH_CITY")
    path = Path(keep) if keep else folder / "city.duckdb"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        print(f"# building the city database {path} (2,000 orgs, 100,000 members, 3 years of dues)…",
              file=sys.stderr, flush=True)
        partial = path.with_name(path.name + ".building")
        partial.unlink(missing_ok=True)
        subprocess.run([sys.executable, "-m", "dangjian_core", "db", "init", "--demo", "--scale", "city",
                        "--db", str(partial)], cwd=ROOT, check=True, capture_output=True)
        partial.rename(path)  # a build cut short never passes for the city
        print(f"# city database built in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return path
