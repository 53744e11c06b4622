"""The command line (`python -m dangjian_core`), contract in shared/spec/cli.md.

Each command group lives in its own module with a `register(subparsers)` function; the
handlers parse arguments and call the same core functions the web app uses.
Exit codes: 0 done; 2 bad input (Chinese message on stderr); 1 anything else.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from ..errors import BadInput, DangjianError

GROUPS = ["dues", "reports", "observe", "db", "users", "docs"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own errors: exit 2 as bad input
        self.print_usage(sys.stderr)
        print(f"参数错误：{message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """All command groups, or just `only` (when the command line names a group: the other
    groups' modules — and the libraries they import — are then never loaded, which keeps a
    `dues calc` batch free of polars' import time)."""
    parser = _Parser(prog="python -m dangjian_core", description="党建工作台 命令行")
    sub = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)
    for name in ([only] if only in GROUPS else GROUPS):
        importlib.import_module(f"dangjian_core.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(args_list[0] if args_list and args_list[0] in GROUPS else None)
    args = parser.parse_args(args_list)
    try:
        result = args.handler(args)
    except BadInput as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except DangjianError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 1
    return int(result or 0)
