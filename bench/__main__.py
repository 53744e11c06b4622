"""`make bench`: run every benchmark module's run(), print one line per figure, then a summary
table of every figure that has a target (figure, value, target, ratio, 达标/未达标), and write
bench/results.json. Figures, not pass/fail: the exit status is 0 unless a module crashed.

    python -m bench                       every bench/bench_*.py (what `make bench` runs)
    python -m bench bench_dues tables     only these modules (the bench_ prefix may be left out)
    BENCH_QUICK=1 python -m bench         everything but the slow scale proof (development only)
    DANGJIAN_BENCH_CITY=/x/city.duckdb    reuse (or build once into) this city database; by default
                                          it is built into a temporary folder once per run (~35 s)

The figure dict's keys are described in bench/figures.py ("name", "value", "unit", and for a
figure with a target: "target", "ratio", "ratio_to", "met", "load")."""

from __future__ import annotations

import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.figures import figure, line, load_now, verdict  # noqa: E402

# BENCH_QUICK=1 leaves these out (minutes of CPU each); the default `make bench` runs them.
SLOW = ("bench_dues_scale",)

# What issue #17's "Done when" asks `make bench` to print, and which module prints it: the
# summary says 未测 for a group whose module was skipped or crashed.
ISSUE_17 = (
    ("浏览器：≥ 15 个操作 点击 → 稳定，对同次测得的裸页面", "bench_browser"),
    ("dues calc 100 万人 对 DuckDB 下限", "bench_dues"),
    ("导入 10 万党员 / 10 万组织（用时 + 峰值内存）", "bench_import"),
    ("导出：全市花名册 xlsx、10 万行表格导出", "bench_import"),
    ("历史：回退 2,000 行批次 对 写入它", "bench_tables"),
    ("应用服务器内存峰值（各角色走遍各页）", "bench_memory"),
    ("1,000 万 人·月 规模证明（生成花名册 + 补算欠缴：用时、峰值、1 M → 10 M 增长）", "bench_dues_scale"),
)
MAKE_TEST_NOTE = ("`make test` 的用时不是 bench 的数字（它要在干净克隆上跑整个测试集）：用 `time make test` 量，"
                  "结果写在 issue #17 的会话说明里。")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (user + system)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _value(f: dict[str, Any]) -> str:
    v = f["value"]
    if isinstance(v, float):
        v = f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    elif isinstance(v, int) and not isinstance(v, bool):
        v = f"{v:,}"
    return f"{v} {f.get('unit', '')}".strip()


def summary(results: list[dict[str, Any]], chosen: list[str], failed: dict[str, str]) -> list[str]:
    rows = [f for f in results if "target" in f]
    out = ["", "# 汇总（issue #17 的目标）", ""]
    head = ("数字", "值", "目标", "比值", "结论")
    table = [head] + [(f["name"], _value(f), str(f["target"]),
                       (f"{f['ratio']}×" if "ratio" in f else "") + (f"（对 {f['ratio_to']}）" if f.get("ratio_to") else ""),
                       verdict(f) or "—") for f in rows]
    widths = [min(72, max(_width(r[i]) for r in table)) for i in range(len(head))]
    for i, r in enumerate(table if rows else []):
        out.append("  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    missed = [f["name"] for f in rows if f.get("met") is False]
    met = sum(1 for f in rows if f.get("met") is True)
    out += ["", f"达标 {met} 项，未达标 {len(missed)} 项" + ("：" + "；".join(missed) if missed else "。")]
    for what, module in ISSUE_17:
        if module not in chosen:
            if module in SLOW and os.environ.get("BENCH_QUICK"):
                out.append(f"未测：{what}（BENCH_QUICK：没有运行 {module}）")
            continue
        if module in failed:
            out.append(f"未测：{what}（{module} 出错：{failed[module]}）")
    out.append(MAKE_TEST_NOTE)
    return out


def _select(args: list[str]) -> list[Path]:
    wanted = {a if a.startswith("bench_") else f"bench_{a}" for a in args}
    paths = sorted(HERE.glob("bench_*.py"))
    unknown = wanted - {p.stem for p in paths}
    if unknown:
        raise SystemExit(f"没有这个 benchmark：{', '.join(sorted(unknown))}（可选：{', '.join(p.stem for p in paths)}）")
    if wanted:
        return [p for p in paths if p.stem in wanted]
    if os.environ.get("BENCH_QUICK"):
        print(f"# BENCH_QUICK: {', '.join(SLOW)} 不运行（默认的 make bench 会运行）")
        return [p for p in paths if p.stem not in SLOW]
    return paths


def _one(name: str, out: str) -> int:
    """Run one module's run() in this process and write its figures to `out` (JSON)."""
    module = importlib.import_module(f"bench.{name}")
    Path(out).write_text(json.dumps(module.run(), ensure_ascii=False, default=str), encoding="utf-8")
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--one"]:
        return _one(sys.argv[2], sys.argv[3])
    paths = _select(sys.argv[1:])
    if os.environ.get("DANGJIAN_BENCH_CITY"):
        return _main(paths)
    with tempfile.TemporaryDirectory(prefix="dangjian-bench-city-") as d:  # the city, built once for all modules
        os.environ["DANGJIAN_BENCH_CITY"] = str(Path(d) / "city.duckdb")
        return _main(paths)


def _main(paths: list[Path]) -> int:
    machine = f"{platform.machine()} {os.cpu_count()} 核 Python {platform.python_version()}"
    results: list[dict[str, Any]] = [figure("machine", machine), figure("load average (1 min) at the start", load_now())]
    print(f"# machine: {machine}; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    failed: dict[str, str] = {}
    start_wall, start_cpu = time.perf_counter(), _cpu()
    for path in paths:
        name = path.stem
        t0, c0 = time.perf_counter(), _cpu()
        # each module in a fresh process: its figures are what it gives alone (no caches, no
        # environment and no grown memory of the modules before it — a child's ru_maxrss starts
        # at its parent's size), and a crash or a leak stays in it
        with tempfile.TemporaryDirectory(prefix="dangjian-bench-") as d:
            out = Path(d) / "figures.json"
            proc = subprocess.run([sys.executable, "-m", "bench", "--one", name, str(out)], cwd=HERE.parent)
            if proc.returncode != 0 or not out.exists():
                failed[name] = f"exit {proc.returncode} (traceback above)"
                print(f"{name}: FAILED {failed[name]}", flush=True)
                continue
            figures = json.loads(out.read_text(encoding="utf-8"))
        for f in figures:
            print(line(f), flush=True)
        results += figures
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        results.append(figure(f"{name} took", round(wall, 1), "s wall", load=load_now()))
        results.append(figure(f"{name} CPU (this process + finished children)", round(cpu, 1), "s"))
        print(f"# {name} took {wall:.1f} s wall, {cpu:.1f} s CPU (load {load_now()})", flush=True)
    wall, cpu = time.perf_counter() - start_wall, _cpu() - start_cpu
    results += [figure("bench took", round(wall, 1), "s wall"),
                figure("bench CPU (this process + finished children)", round(cpu, 1), "s"),
                figure("load average (1 min) at the end", load_now())]
    results += [figure(f"{name} FAILED", text) for name, text in failed.items()]
    for text in summary(results, [p.stem for p in paths], failed):
        print(text)
    print(f"\n# make bench: {wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU; load at the end {load_now()}")
    (HERE / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
