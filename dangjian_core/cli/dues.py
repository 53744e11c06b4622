"""`python -m dangjian_core dues calc|arrears INPUT OUTPUT` — contract in shared/spec/cli.md.

Files only, no database. INPUT and OUTPUT are .csv/.xlsx/.parquet by extension. Money in
OUTPUT is always text with exactly two decimals ("76.50") in every format — exact, and the
same in csv, xlsx and parquet; `rate` is text ("0.005", "0.01", "0.015", "0.02") or empty
(null) for fixed amounts; counts are integers; `flag_six_months` is a boolean (`true`/`false`
in csv). Bad input raises BadInput (exit 2) before anything is written; the output is
written atomically, so a failed run leaves no file.

`dues calc` from parquet to parquet first tries `dues.sql.try_calc_parquet` (DuckDB alone, exact
integer arithmetic in SQL, no polars import); a file it does not take as plain — or any bad
cell — goes the general way below, which words the errors.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInput

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..fileio import Frame

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

CALC_COLUMNS = ["member_id", "category", "base_income", "fixed_amount"]
ARREARS_COLUMNS = ["member_id", "month", "category", "base_income", "paid", "fixed_amount", "redetermine"]
OUTPUT_EXTS = {".csv", ".txt", ".xlsx", ".parquet"}


def _file_command(sub: Subparsers, name: str, handler: Callable[[argparse.Namespace], int], *, summary: str,
                  description: str) -> argparse.ArgumentParser:
    """A `dues NAME INPUT OUTPUT` command: both files by extension (.csv / .xlsx / .parquet)."""
    cmd = sub.add_parser(name, help=summary, description=description)
    cmd.add_argument("input", metavar="INPUT", help="输入文件（.csv / .xlsx / .parquet）")
    cmd.add_argument("output", metavar="OUTPUT", help="输出文件（.csv / .xlsx / .parquet）")
    cmd.set_defaults(handler=handler)
    return cmd


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("dues", help="党费计算（只处理文件，不需要数据库）",
                              description="党费计算：按 2008 年规定和 2017 年通知计算应缴党费、统计欠缴")
    sub = p.add_subparsers(dest="dues_command", required=True)

    calc = _file_command(sub, "calc", run_calc, summary="按类别和计算基数计算每名党员的月应缴党费",
                         description="INPUT 列：member_id, category, base_income[, fixed_amount]；"
                                     "OUTPUT 列：member_id, dues, rate, rule")
    calc.add_argument("--precision", choices=["fen", "jiao", "yuan"], default="fen",
                      help="计算精度：分 / 角 / 元（默认 fen）")
    calc.add_argument("--rounding", choices=["half_up", "up", "down", "half_even"], default="half_up",
                      help="舍入方式（默认 half_up 四舍五入）")
    calc.add_argument("--cap", choices=["1000", "none"], default="1000",
                      help="每月 1000 元封顶（默认 1000；none 表示不封顶）")

    arr = _file_command(sub, "arrears", run_arrears, summary="按月统计每名党员的应缴、实缴、欠缴和连续未缴月数",
                        description="INPUT 列：member_id, month (YYYY-MM), category, base_income, paid"
                                    "[, fixed_amount]；OUTPUT 每名党员一行")
    arr.add_argument("--amount-mode", choices=["monthly", "fixed_for_year", "by_rule"], default="monthly",
                     help="计算基数怎样随月份变化：monthly（默认）每行的 base_income 就是该月基数；"
                          "fixed_for_year 每年年初核定、年内不变（可选列 redetermine=true 标记重新核定的月份，"
                          "类别变化的月份也重新核定）；by_rule 按各月适用的规则（2017 年起年初核定，此前按月）")
    arr.add_argument("--rules", choices=["dated", "current"], default="dated",
                     help="dated（默认）：每个月按当月施行的规则计算（2017 年以前按 2008 年规定，不设 1000 元上限）；"
                          "current：所有月份都按现行规则（2017 年通知）计算")
    arr.add_argument("--detail", metavar="DETAIL",
                     help="另写一个逐月明细文件（每名党员每月一行，含该月适用的规则 rule_version）")


def _check_output(path: str) -> None:
    if Path(path).suffix.lower() not in OUTPUT_EXTS:
        raise BadInput("不支持的输出文件类型，请使用 .csv、.xlsx 或 .parquet", file=path)


def _read(path: str, expected: list[str]) -> Frame:
    from ..fileio import BATCH_MAX_ROWS, read_frame

    return read_frame(path, expected=expected, max_rows=BATCH_MAX_ROWS)


def run_calc(args: argparse.Namespace) -> int:
    _check_output(args.output)
    if Path(args.input).suffix.lower() == ".parquet" and Path(args.output).suffix.lower() == ".parquet":
        from ..dues.sql import try_calc_parquet  # DuckDB alone: polars is not even imported

        if try_calc_parquet(args.input, args.output, precision=args.precision, rounding=args.rounding,
                            cap=args.cap != "none"):
            return 0
    from ..dues import engine as dues_engine
    from ..dues import model as dues_model
    from ..fileio import write_frame

    settings = dues_model.DuesSettings(precision=args.precision, rounding=args.rounding,
                                 cap=args.cap != "none")
    frame = _read(args.input, CALC_COLUMNS)
    df = frame.df.select([c for c in frame.df.columns if c in CALC_COLUMNS])  # extra columns ignored
    out = dues_engine.calc_dues_frame(df, settings, first_row=frame.first_row, file=frame.file, as_text=True)
    write_frame(out, args.output)
    return 0


def run_arrears(args: argparse.Namespace) -> int:
    """Each month by the rule in force that month (`dues.BUILTIN_RULES`: the 2008 rules before
    2017-01 — no 1000-yuan ceiling —, the 2017 notice from then), unless `--rules current`.
    The CLI learns "fixed for the year" from `--amount-mode` (and the optional `redetermine`
    column); by default each row's base_income is that month's base, as cli.md says."""
    from ..dues import arrears_rules
    from ..dues import model as dues_model
    from ..fileio import write_frame

    _check_output(args.output)
    detail_path = getattr(args, "detail", None)
    if detail_path:
        _check_output(detail_path)
        if Path(detail_path).resolve() == Path(args.output).resolve():
            raise BadInput("--detail 的文件不能与 OUTPUT 相同", file=detail_path)
    rules = dues_model.BUILTIN_RULES if getattr(args, "rules", "dated") == "dated" else None
    frame = _read(args.input, ARREARS_COLUMNS)
    df = frame.df.select([c for c in frame.df.columns if c in ARREARS_COLUMNS])
    settings = dues_model.BUILTIN_RULES.latest.settings
    detail = arrears_rules.arrears_detail(df, settings, rules=rules, amount_mode=getattr(args, "amount_mode", "monthly"),
                                 first_row=frame.first_row, file=frame.file)
    result = arrears_rules.summarize_arrears(detail, settings)
    if detail_path:
        write_frame(arrears_rules.format_arrears_detail(detail), detail_path)
    try:
        write_frame(arrears_rules.format_arrears(result), args.output)
    except BaseException:
        if detail_path:
            Path(detail_path).unlink(missing_ok=True)
        raise
    return 0
