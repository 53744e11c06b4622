"""The hostile corpus (tests/data/make_hostile_corpus.py) through every import path: the table
imports (each registered table), the CLI commands that read files and the workflow uploaders'
core functions. For every file: no crash and no traceback; a refusal is a Chinese message that
names the file, a row or a column and says what to do, and leaves the database exactly as it was
(every table compared); an accepted file stores exactly its values. The figures (files tried,
refused, accepted; peak memory) are printed and written to /tmp/dangjian-hostile-figures.json;
what refusing the largest file allocates is measured by `make bench` (bench/bench_fileio.py)."""

from __future__ import annotations

import contextlib
import io
import json
import resource
import time

from dangjian_core import fileio, registry, tables
from dangjian_core.cli import main as cli_main
from dangjian_core.errors import BadInput, DangjianError
from tests.conftest import ADMIN
from tests.data import make_hostile_corpus as corpus

WHAT_TO_DO = ("请", "应为", "应是", "不能", "必须", "必填", "找不到", "不存在", "重复", "至少", "最多", "太长",
              "超过", "不是", "没有", "不对", "不合理", "太大", "无法", "缺少", "应")


def _chinese(text: str) -> bool:
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text) >= 4


def _fingerprint(db) -> dict:
    """count and an order-independent hash of every row of every table (the row's own hash:
    every column's value, NULL told apart from '', no text formatting on the way)."""
    out = {}
    with db.read() as cur:
        names = [r[0] for r in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        sql = " UNION ALL ".join(f"SELECT '{t}', count(*), sum(hash(x)) FROM \"{t}\" x" for t in names)
        for t, n, h in cur.execute(sql).fetchall():
            out[t] = (n, h)
    return out


def _full_export(db) -> dict:
    tables.get_spec("orgs")
    return {code: tables.export_frame(db, ADMIN, spec) for code, spec in sorted(registry.specs().items())}


def _run(case, db, tmp) -> tuple[str, str]:
    """→ ("refused", message) or ("accepted", "")."""
    path = tmp / case.name
    path.write_bytes(case.data)
    kind, _, arg = case.target.partition(":")
    if kind == "cli":
        out = tmp / (case.name + ".out.csv")
        args = {
            "dues-calc": ["dues", "calc", str(path), str(out)],
            "dues-arrears": ["dues", "arrears", str(path), str(out)],
            "reports-pick": ["reports", "pick", "--units", str(path), "--history", str(tmp / "history.csv"),
                             "--date", "2026-11-23", "--capacity", "2", str(out)],
            "observe-plan": ["observe", "plan", "--orgs", str(path), "--mode", "internal", "--days", "1",
                             "--slots-per-day", "1", str(out)],
        }[arg]
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli_main(args)
        if code == 0:
            return "accepted", ""
        assert code == 2, (case.name, code, err.getvalue())
        assert not out.exists(), f"{case.name}: output left behind"
        return "refused", err.getvalue()
    try:
        if kind == "table":
            spec = tables.get_spec(arg)
            frame = fileio.read_frame(path, expected=[c.label for c in spec.columns] + spec.names)
            res = tables.import_frame(db, ADMIN, spec, frame, commit=True)
            if res.ok:
                return "accepted", ""
            return "refused", f"文件 {case.name}：" + "\n".join(str(e) for e in res.errors)
        if kind == "dues":
            from dangjian_core.dues import payments, payroll

            frame = fileio.read_frame(path)
            if arg == "payments":
                payments.record_payments(db, ADMIN, frame, commit=True)
            else:
                payroll.import_bases(db, ADMIN, frame, commit=True)
            return "accepted", ""
        if kind == "reports" and arg == "values":
            from dangjian_core.reports import indicators

            frame = fileio.read_frame(path, expected=["单位", "指标", "月份", "数值"])
            res = indicators.import_indicator_values(db, ADMIN, frame, commit=True)
            if res.ok:
                return "accepted", ""
            return "refused", f"文件 {case.name}：" + "\n".join(str(e) for e in res.errors)
        if kind == "observe":
            from dangjian_core.observation import model, scores

            frame = fileio.read_frame(path, expected=model.SHEET_HEADER)
            scores.save_scores(db, ADMIN, 1, frame)
            return "accepted", ""
        if kind == "sites":
            from dangjian_core.sites import sheets

            sheets.read_score_sheet(db, 1, case.data, case.name)
            return "accepted", ""
        if kind == "reports" and arg == "votes":
            from dangjian_core.reports import votes

            frame = fileio.read_frame(path, expected=list(votes.VOTE_HEADERS))
            res = votes.import_votes(db, ADMIN, 1, frame, commit=True)
            if res.ok:
                return "accepted", ""
            return "refused", f"文件 {case.name}：" + "\n".join(str(e) for e in res.errors)
    except BadInput as exc:
        return "refused", str(exc)
    except DangjianError as exc:
        return "refused", str(exc)
    raise AssertionError(case.target)


def test_hostile_corpus_through_every_door(demo_db, tmp_path):
    (tmp_path / "history.csv").write_text("unit_id,date\n", encoding="utf-8")
    cases = corpus.generate(demo_db, ADMIN)
    assert len(cases) >= 100
    doors = {c.target.split(":")[0] + ":" + c.target.split(":")[1] for c in cases}
    tables.get_spec("orgs")
    assert {f"table:{t}" for t in registry.specs()} - {"table:" + t for t in ()} <= doors | {
        f"table:{t}" for t in registry.specs() if tables.export_frame(demo_db, ADMIN, registry.specs()[t]).height == 0}
    before_all = _full_export(demo_db)
    figures = {"tried": 0, "refused": 0, "accepted": 0, "largest_refused_bytes": 0, "largest_refused": None,
               "peak_parent_rss_mb": 0, "peak_child_rss_mb": 0}
    wrong, slow = [], []
    after = _fingerprint(demo_db)
    for case in cases:
        before = after  # the state after the previous file, whatever it did
        fileio.last_worker_rss_kb = 0
        t0 = time.perf_counter()
        try:
            outcome, message = _run(case, demo_db, tmp_path)
        except Exception as exc:  # a crash: collected, the run goes on
            wrong.append(f"{case.name}: CRASH {type(exc).__name__}: {exc!s:.300}")
            continue
        finally:
            slow.append((time.perf_counter() - t0, case.name))
            after = _fingerprint(demo_db)  # once per file: also the next file's `before`
        figures["tried"] += 1
        figures["peak_child_rss_mb"] = max(figures["peak_child_rss_mb"], fileio.last_worker_rss_kb // 1024)
        if outcome != case.expect:
            wrong.append(f"{case.name}: expected {case.expect}, got {outcome}: {message[:200]}")
            continue
        if outcome == "refused":
            figures["refused"] += 1
            if len(case.data) > figures["largest_refused_bytes"]:
                figures["largest_refused_bytes"], figures["largest_refused"] = len(case.data), case.name
            if "Traceback" in message or "Error:" in message:
                wrong.append(f"{case.name}: traceback: {message[:300]}")
            elif not _chinese(message):
                wrong.append(f"{case.name}: not Chinese: {message[:300]}")
            elif not (case.name in message or "第 " in message or "列「" in message):
                wrong.append(f"{case.name}: names neither file nor row nor column: {message[:300]}")
            elif not any(w in message for w in WHAT_TO_DO):
                wrong.append(f"{case.name}: says not what to do: {message[:300]}")
            if after != before:
                wrong.append(f"{case.name} was refused but changed the database")
        else:
            figures["accepted"] += 1
        (tmp_path / case.name).unlink(missing_ok=True)
    print("\nslowest:", sorted(slow, reverse=True)[:8])
    assert not wrong, "\n".join(wrong)
    # accepted files in this corpus are the tables' own exports (change nothing) and one
    # member with text codes, stored exactly as written
    after_all = _full_export(demo_db)
    for code, frame in before_all.items():
        if code != "members":
            assert after_all[code].equals(frame), f"{code} changed"
    m = after_all["members"].filter(after_all["members"]["党员编号"] == "007")
    assert m.height == 1 and m["身份证号"][0] == "11010519491231002X" and m["手机号"][0] == "013800138000"
    figures["peak_parent_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    # what refusing the largest file allocates is a figure of `make bench` (bench_fileio)
    print("\nhostile corpus:", json.dumps(figures, ensure_ascii=False))
    with open("/tmp/dangjian-hostile-figures.json", "w", encoding="utf-8") as f:
        json.dump(figures, f, ensure_ascii=False, indent=1)
    assert figures["refused"] + figures["accepted"] == figures["tried"] >= 100
