"""The safe reader's cost: a small xlsx read through the guard and the limited child process
versus fastexcel in-process (the overhead the second wall adds), the guard alone on a
200,000-row sheet, a 200,000-row xlsx read in full, and the dimension bomb's refusal."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _median(fn, n: int = 7) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def run() -> list[dict]:
    import fastexcel

    from dangjian_core import fileio, sheet_guard
    from tests.data import make_hostile_corpus as corpus

    small = corpus.xlsx_bytes([["名称", "层级", "类别", "街道/系统", "党员人数"]] +
                              [[f"支部{i}", "党支部", "农村", "东湖街道", 5] for i in range(50)])
    fileio.read_frame(data=small, name="warm.xlsx")  # starts the parse server once
    safe = _median(lambda: fileio.read_frame(data=small, name="s.xlsx"))
    bare = _median(lambda: fastexcel.read_excel(small).load_sheet(0, header_row=None, dtypes="string").to_polars())
    big = corpus.long_xlsx(199_980)
    guard = _median(lambda: sheet_guard.inspect_xlsx(big, "b.xlsx"), 3)
    t0 = time.perf_counter()
    fileio.read_frame(data=big, name="b.xlsx")
    full = (time.perf_counter() - t0) * 1000
    bomb = corpus.dimension_bomb()

    def refuse():
        try:
            fileio.read_frame(data=bomb, name="bomb.xlsx")
        except Exception:
            pass
    largest, peak_mb, refused_ms = _largest_hostile_refusal()
    return [
        {"name": "小 xlsx（50 行）安全读取", "value": round(safe, 1), "unit": "ms"},
        {"name": "小 xlsx（50 行）fastexcel 直接读取", "value": round(bare, 1), "unit": "ms"},
        {"name": "子进程隔离的额外开销", "value": round(safe - bare, 1), "unit": "ms"},
        {"name": "20 万行 xlsx 预检（不解析）", "value": round(guard, 1), "unit": "ms"},
        {"name": "20 万行 xlsx 完整读取", "value": round(full, 1), "unit": "ms"},
        {"name": "子进程峰值内存（20 万行）", "value": fileio.last_worker_rss_kb // 1024, "unit": "MB"},
        {"name": "维度炸弹拒绝", "value": round(_median(refuse), 2), "unit": "ms"},
        {"name": f"拒绝恶意文件中最大的一个（{largest}）", "value": round(refused_ms), "unit": "ms"},
        {"name": f"拒绝恶意文件中最大的一个（{largest}）分配峰值", "value": peak_mb, "unit": "MB"},
    ]


def _largest_hostile_refusal() -> tuple[str, float, float]:
    """The hostile corpus's largest refused file (tests/test_hostile_corpus.py checks the
    refusal's wording) through `dues calc` once more: time, and peak Python allocation."""
    import contextlib
    import io
    import tempfile
    import tracemalloc

    from dangjian_core.cli import main as cli_main
    from tests.data import make_hostile_corpus as corpus

    case = max((c for c in corpus.generate() if c.expect == "refused" and c.target == "cli:dues-calc"),
               key=lambda c: len(c.data))
    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / case.name, Path(tmp) / "out.csv"
        path.write_bytes(case.data)
        t0 = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            cli_main(["dues", "calc", str(path), str(out)])
        ms = (time.perf_counter() - t0) * 1000
        tracemalloc.start()
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            code = cli_main(["dues", "calc", str(path), str(out)])
        peak = round(tracemalloc.get_traced_memory()[1] / 1048576, 1)
        tracemalloc.stop()
    assert code == 2, code
    return case.name, peak, ms


if __name__ == "__main__":
    for r in run():
        print(r)
