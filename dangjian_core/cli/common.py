"""What the file-to-file commands (`observe plan`, `reports pick`) share: their command group,
whole-number options, and the output file (its type checked before any work, written atomically)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ..errors import BadInput, DangjianError
from ..fileio import TEXT_EXTS, write_frame

if TYPE_CHECKING:
    from .db import Subparsers


def add_group(subparsers: Subparsers, name: str, help: str, description: str) -> Subparsers:
    """The command group `name`; its commands go into the returned subparsers (whose argparse
    errors exit 2 in Chinese, like the top level's)."""
    group = subparsers.add_parser(name, help=help, description=description)
    return group.add_subparsers(dest="command", required=True, parser_class=type(group))


def positive_int(text: str, option: str, *, allow_zero: bool = False) -> int:
    """A whole-number option (> 0, or ≥ 0 with allow_zero); BadInput naming the option otherwise."""
    t = (text or "").strip()
    wanted = "不小于 0 " if allow_zero else "大于 0 "
    if not re.fullmatch(r"[+]?\d+", t):
        raise BadInput(f"参数 {option} 的值「{text}」不是整数，应为{wanted}的整数")
    n = int(t)
    if n < 0 or (n == 0 and not allow_zero):
        raise BadInput(f"参数 {option} 的值「{text}」无效，应为{wanted}的整数")
    return n


def output_path(text: str) -> Path:
    """The OUTPUT argument: .csv/.txt, .xlsx or .parquet, refused before anything is read."""
    out = Path(text)
    if out.suffix.lower() not in TEXT_EXTS | {".xlsx", ".parquet"}:
        raise BadInput("不支持的输出文件类型，请使用 .csv、.xlsx 或 .parquet", file=text)
    return out


def write_output(df: pl.DataFrame, out: Path, text: str, *, sheet: str = "Sheet1") -> None:
    """Write the result (atomically: no partial file); a failed write names the file."""
    try:
        write_frame(df, out, sheet=sheet)
    except OSError as exc:
        raise DangjianError(f"无法写入输出文件 {text}：{exc.strerror or exc}") from exc
