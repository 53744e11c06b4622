"""The shape of one benchmark figure, shared by every bench/bench_*.py and bench/__main__.py.

A figure is a plain dict. Always: "name" (what was measured, no target or verdict packed in),
"value" (a number, or text for a note) and "unit". Optional, for a figure that has a target
(issue #17's "Done when": every figure printed with its target and ratio):

    "target"    text of the target, e.g. "< 1000 ms 且 ≤ 2× 裸页面", "≤ 1.5× DuckDB 下限", "< 5 s"
    "ratio"     the measured value over what it is compared with (a float; e.g. 1.3 for 1.3×)
    "ratio_to"  what the ratio compares with, e.g. "裸页面 button 280 ms", "DuckDB 下限 0.21 s", "目标 5 s"
    "met"       True / False — the target is met (达标) or not (未达标)
    "load"      the 1-minute load average when it was measured (2-core machine: > 2 is loaded)

`bench/__main__.py` prints every figure, then a summary table of the figures that carry a
"target" (figure, value, target, ratio, 达标/未达标), and writes all of them to bench/results.json.
"""

from __future__ import annotations

import os
from typing import Any


def figure(name: str, value: Any, unit: str = "", *, target: str | None = None, ratio: float | None = None,
           ratio_to: str | None = None, met: bool | None = None, load: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "value": value, "unit": unit}
    if target is not None:
        out["target"] = target
    if ratio is not None:
        out["ratio"] = round(float(ratio), 2)
    if ratio_to is not None:
        out["ratio_to"] = ratio_to
    if met is not None:
        out["met"] = bool(met)
    if load is not None:
        out["load"] = round(load, 1)
    return out


def load_now() -> float:
    return round(os.getloadavg()[0], 1)


def own_peak_mib() -> float:
    """This process's own peak resident memory (VmHWM) in MiB. Not ru_maxrss: on Linux a child's
    ru_maxrss starts at its parent's resident size when it was started (exec keeps the larger
    "maxrss"), so under `make bench`, whose process had grown to ~1.9 GB, every child seemed to
    need at least that much. VmHWM belongs to the process's own memory map, made fresh by exec."""
    try:
        for row in open("/proc/self/status", encoding="ascii"):
            if row.startswith("VmHWM:"):
                return int(row.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def verdict(f: dict[str, Any]) -> str:
    if "met" not in f:
        return ""
    return "达标" if f["met"] else "未达标"


def line(f: dict[str, Any]) -> str:
    """One figure as one printed line: name: value unit [target …, ratio …×, 达标]."""
    text = f"{f['name']}: {f['value']} {f.get('unit', '')}".rstrip()
    extra = []
    if "target" in f:
        extra.append(f"目标 {f['target']}")
    if "ratio" in f:
        extra.append(f"比值 {f['ratio']}×" + (f"（对 {f['ratio_to']}）" if f.get("ratio_to") else ""))
    if "met" in f:
        extra.append(verdict(f))
    if "load" in f:
        extra.append(f"load {f['load']}")
    return text + (f"  [{'; '.join(extra)}]" if extra else "")
