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

import os
import tempfile
from pathlib import Path

from ..errors import BadInput, NotFound
from .db import _db_arg, _open


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


def _run(args, build) -> int:
    from ..auth import SYSTEM

    if Path(args.out).suffix.lower() != ".docx":
        raise BadInput(f"输出文件 {args.out} 应以 .docx 结尾")
    db = _open(args)
    try:
        content = build(db, SYSTEM)
    except NotFound as exc:
        raise BadInput(str(exc)) from None
    finally:
        db.close()
    _write(args.out, content)
    print(f"已生成 {args.out}")
    return 0


def cmd_briefing(args) -> int:
    from .. import documents

    sections = [s.strip() for s in args.sections.split(",") if s.strip()] if args.sections else None
    return _run(args, lambda db, u: documents.briefing(db, u, args.period, sections, issue_no=args.issue))


def cmd_notice(args) -> int:
    from .. import documents

    return _run(args, lambda db, u: documents.notice(db, u, args.session))


def cmd_rectification(args) -> int:
    from .. import documents

    return _run(args, lambda db, u: documents.rectification(db, u, args.item, args.level))


def cmd_observation(args) -> int:
    from .. import documents

    return _run(args, lambda db, u: documents.observation(db, u, args.event))


def cmd_sites(args) -> int:
    from .. import documents

    return _run(args, lambda db, u: documents.sites(db, u, args.year))


def register(sub) -> None:
    p = sub.add_parser("docs", help="公文：按数据生成 Word 文档（通报、通知、整改单、安排表、命名名单）")
    s = p.add_subparsers(dest="docs_cmd", required=True, parser_class=type(p))
    q = s.add_parser("briefing", help="党建工作通报（季度或月度）")
    q.add_argument("--period", required=True, help="统计期间：季度 2026Q3，或月份 2026-09")
    q.add_argument("--sections", default=None, help="栏目，逗号分隔：sites,reports,dues,observation（默认全部）")
    q.add_argument("--issue", default=None, help="期号（默认：季度序号或月份）")
    q.set_defaults(handler=cmd_briefing)
    q = s.add_parser("notice", help="述职评议通知")
    q.add_argument("--session", required=True, help="述职场次编号")
    q.set_defaults(handler=cmd_notice)
    q = s.add_parser("rectification", help="整改意见单 / 通报批评单 / 约谈单")
    q.add_argument("--item", required=True, help="整改事项编号")
    q.add_argument("--level", type=int, choices=[1, 2, 3], default=None, help="级别（默认：事项当前级别）")
    q.set_defaults(handler=cmd_rectification)
    q = s.add_parser("observation", help="观摩活动安排表")
    q.add_argument("--event", required=True, help="观摩活动编号")
    q.set_defaults(handler=cmd_observation)
    q = s.add_parser("sites", help="示范点命名名单")
    q.add_argument("--year", required=True, help="年度，如 2026")
    q.set_defaults(handler=cmd_sites)
    for q in s.choices.values():
        q.add_argument("out", metavar="OUT.docx")
        _db_arg(q)
