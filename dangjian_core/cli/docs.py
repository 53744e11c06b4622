"""`docs` commands: Word documents from the database (README, section 「命令行」).

    python -m dangjian_core docs briefing --period 2026Q3 [--sections sites,reports,dues,observation] OUT.docx
    python -m dangjian_core docs notice --session ID OUT.docx
    python -m dangjian_core docs rectification --item ID [--level 1|2|3] OUT.docx
    python -m dangjian_core docs observation --event ID OUT.docx
    python -m dangjian_core docs sites --year 2026 OUT.docx

The database is `$DANGJIAN_DB` (default data/dangjian.duckdb; `--db PATH` overrides it). The
document is written to a temporary file beside OUT and renamed, so a failure (exit 2 for bad
input such as an unknown id or period, 1 otherwise) leaves no file behind.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadInput, NotFound
from .db import _db_arg, opened

if TYPE_CHECKING:
    from ..auth import User
    from ..db import Database
    from .db import Subparsers

Build = Callable[["Database", "User", argparse.Namespace], bytes]


def _write(out: str, content: bytes) -> None:
    path = Path(out)
    if path.suffix.lower() != ".docx":
        raise BadInput(f"输出文件 {out} 应以 .docx 结尾")
    if not path.parent.exists():
        raise BadInput(f"输出目录 {path.parent} 不存在")
    fd, tmp = tempfile.mkstemp(prefix=".dangjian-", suffix=".docx.part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _run(args: argparse.Namespace, build: Build) -> int:
    from ..auth import SYSTEM

    if Path(args.out).suffix.lower() != ".docx":
        raise BadInput(f"输出文件 {args.out} 应以 .docx 结尾")
    with opened(args) as db:
        try:
            content = build(db, SYSTEM, args)
        except NotFound as exc:
            raise BadInput(str(exc)) from None
    _write(args.out, content)
    print(f"已生成 {args.out}")
    return 0


# the documents package is imported when a command runs (it loads altair and docx)
def _briefing(db: Database, user: User, args: argparse.Namespace) -> bytes:
    from .. import documents

    sections = [s.strip() for s in args.sections.split(",") if s.strip()] if args.sections else None
    return documents.briefing(db, user, args.period, sections, issue_no=args.issue)


def _notice(db: Database, user: User, args: argparse.Namespace) -> bytes:
    from .. import documents

    return documents.notice(db, user, args.session)


def _rectification(db: Database, user: User, args: argparse.Namespace) -> bytes:
    from .. import documents

    return documents.rectification(db, user, args.item, args.level)


def _observation(db: Database, user: User, args: argparse.Namespace) -> bytes:
    from .. import documents

    return documents.observation(db, user, args.event)


def _sites(db: Database, user: User, args: argparse.Namespace) -> bytes:
    from .. import documents

    return documents.sites(db, user, args.year)


# command → (help, its options, how the document is built)
COMMANDS: dict[str, tuple[str, list[tuple[str, dict[str, Any]]], Build]] = {
    "briefing": ("党建工作通报（季度或月度）", [
        ("--period", {"required": True, "help": "统计期间：季度 2026Q3，或月份 2026-09"}),
        ("--sections", {"default": None, "help": "栏目，逗号分隔：sites,reports,dues,observation（默认全部）"}),
        ("--issue", {"default": None, "help": "期号（默认：季度序号或月份）"})], _briefing),
    "notice": ("述职评议通知", [("--session", {"required": True, "help": "述职场次编号"})], _notice),
    "rectification": ("整改意见单 / 通报批评单 / 约谈单", [
        ("--item", {"required": True, "help": "整改事项编号"}),
        ("--level", {"type": int, "choices": [1, 2, 3], "default": None, "help": "级别（默认：事项当前级别）"})],
        _rectification),
    "observation": ("观摩活动安排表", [("--event", {"required": True, "help": "观摩活动编号"})], _observation),
    "sites": ("示范点命名名单", [("--year", {"required": True, "help": "年度，如 2026"})], _sites),
}


def register(sub: Subparsers) -> None:
    p = sub.add_parser("docs", help="公文：按数据生成 Word 文档（通报、通知、整改单、安排表、命名名单）")
    s = p.add_subparsers(dest="docs_cmd", required=True, parser_class=type(p))
    for name, (help_text, options, build) in COMMANDS.items():
        q = s.add_parser(name, help=help_text)
        for flag, kwargs in options:
            q.add_argument(flag, **kwargs)
        q.add_argument("out", metavar="OUT.docx")
        _db_arg(q)
        q.set_defaults(handler=partial(_run, build=build))
