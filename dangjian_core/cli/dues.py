"""`python -m dangjian_core dues calc|arrears INPUT OUTPUT` — contract in shared/spec/cli.md.

Files only, no database. INPUT and OUTPUT are .csv/.xlsx/.parquet by extension. Money in
OUTPUT is always text with exactly two decimals ("76.50") in every format — exact, and the
same in csv, xlsx and parquet; `rate` is text ("0.005", "0.01", "0.015", "0.02") or empty
(null) for fixed amounts; counts are integers; `flag_six_months` is a boolean (`true`/`false`
in csv). Bad input raises BadInput (exit 2) before anything is written; the output is
written atomically, so a failed run leaves no file.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BadInput

CALC_COLUMNS = ["member_id", "category", "base_income", "fixed_amount"]
ARREARS_COLUMNS = ["member_id", "month", "category", "base_income", "paid", "fixed_amount"]
OUTPUT_EXTS = {".csv", ".txt", ".xlsx", ".parquet"}


def register(subparsers) -> None:
    p = subparsers.add_parser("dues", help="党费计算（只处理文件，不需要数据库）",
                              description="党费计算：按 2008 年规定和 2017 年通知计算应缴党费、统计欠缴")
    sub = p.add_subparsers(dest="dues_command", required=True)

    calc = sub.add_parser("calc", help="按类别和计算基数计算每名党员的月应缴党费",
                          description="INPUT 列：member_id, category, base_income[, fixed_amount]；"
                                      "OUTPUT 列：member_id, dues, rate, rule")
    calc.add_argument("input", metavar="INPUT", help="输入文件（.csv / .xlsx / .parquet）")
    calc.add_argument("output", metavar="OUTPUT", help="输出文件（.csv / .xlsx / .parquet）")
    calc.add_argument("--precision", choices=["fen", "jiao", "yuan"], default="fen",
                      help="计算精度：分 / 角 / 元（默认 fen）")
    calc.add_argument("--rounding", choices=["half_up", "up", "down", "half_even"], default="half_up",
                      help="舍入方式（默认 half_up 四舍五入）")
    calc.add_argument("--cap", choices=["1000", "none"], default="1000",
                      help="每月 1000 元封顶（默认 1000；none 表示不封顶）")
    calc.set_defaults(handler=run_calc)

    arr = sub.add_parser("arrears", help="按月统计每名党员的应缴、实缴、欠缴和连续未缴月数",
                         description="INPUT 列：member_id, month (YYYY-MM), category, base_income, paid"
                                     "[, fixed_amount]；OUTPUT 每名党员一行")
    arr.add_argument("input", metavar="INPUT", help="输入文件（.csv / .xlsx / .parquet）")
    arr.add_argument("output", metavar="OUTPUT", help="输出文件（.csv / .xlsx / .parquet）")
    arr.set_defaults(handler=run_arrears)


def _check_output(path: str) -> None:
    if Path(path).suffix.lower() not in OUTPUT_EXTS:
        raise BadInput("不支持的输出文件类型，请使用 .csv、.xlsx 或 .parquet", file=path)


def _read(path: str, expected: list[str]):
    from ..fileio import read_frame

    return read_frame(path, expected=expected)


def run_calc(args) -> int:
    from .. import dues
    from ..fileio import write_frame

    _check_output(args.output)
    settings = dues.DuesSettings(precision=args.precision, rounding=args.rounding,
                                 cap=args.cap != "none")
    frame = _read(args.input, CALC_COLUMNS)
    df = frame.df.select([c for c in frame.df.columns if c in CALC_COLUMNS])  # extra columns ignored
    out = dues.calc_dues_table(df, settings, first_row=frame.first_row, file=frame.file)
    write_frame(out, args.output)
    return 0


def run_arrears(args) -> int:
    from .. import dues
    from ..fileio import write_frame

    _check_output(args.output)
    frame = _read(args.input, ARREARS_COLUMNS)
    df = frame.df.select([c for c in frame.df.columns if c in ARREARS_COLUMNS])
    result = dues.compute_arrears(df, dues.DEFAULT_SETTINGS, first_row=frame.first_row,
                                  file=frame.file)
    write_frame(dues.format_arrears(result), args.output)
    return 0
