"""`make bench`: run every benchmark module's run(), print one line per figure and write
bench/results.json. Figures, not pass/fail: compare them with the budgets in the issues."""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    only = sys.argv[1:]
    results = [{"name": "machine", "value": f"{platform.machine()} {os.cpu_count()} 核 "
                                             f"Python {platform.python_version()}", "unit": ""}]
    print(f"# machine: {results[0]['value']}")
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            figures = module.run()
        except Exception as exc:  # noqa: BLE001 — one broken benchmark must not hide the others
            print(f"{name}: FAILED {type(exc).__name__}: {exc}")
            continue
        for f in figures:
            print(f"{f['name']}: {f['value']} {f.get('unit', '')}")
        results += figures
        print(f"# {name} took {time.perf_counter() - t0:.1f} s")
    (HERE / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
