"""`db` commands: init, prepare, backup, restore, import, export (cli.md)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from dangjian_core import clock

from ..errors import BadInput, DangjianError

if TYPE_CHECKING:
    from ..db import Database

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

# duckdb, bcrypt and polars are imported inside the handlers: every CLI command loads this
# module to register its arguments, and `dues calc` should not pay for the database.


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None, help="数据库文件（默认 $DANGJIAN_DB 或 data/dangjian.duckdb）")


def _path(args: argparse.Namespace) -> str:
    from ..db import default_path

    return args.db or default_path()


def _open(args: argparse.Namespace) -> Database:
    from ..db import Database

    path = _path(args)
    if not Path(path).exists():
        raise DangjianError(f"数据库文件 {path} 不存在：请先运行 python -m dangjian_core db init")
    db = Database(path)
    db.migrate()
    return db


@contextmanager
def opened(args: argparse.Namespace) -> Iterator[Database]:
    """The database named by --db (it must exist), migrated, closed on the way out."""
    db = _open(args)
    try:
        yield db
    finally:
        db.close()


def _read_password(prompt: str) -> str:
    env = os.environ.get("DANGJIAN_ADMIN_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise BadInput("没有提供密码：请在终端中运行，或设置环境变量 DANGJIAN_ADMIN_PASSWORD")
        return line
    first = getpass.getpass(prompt)
    second = getpass.getpass("再输入一次：")
    if first != second:
        raise BadInput("两次输入的密码不一致")
    return first


def cmd_init(args: argparse.Namespace) -> int:
    from .. import demo, setup
    from ..auth import SYSTEM, add_user
    from ..db import Database

    path = _path(args)
    if Path(path).exists():
        db = Database(path)
        db.migrate()
        with db.read() as cur:
            row = cur.execute("SELECT count(*) FROM orgs").fetchone()
        if row and row[0]:
            raise BadInput(f"数据库 {path} 已存在且有数据，没有做任何修改（如需重建，请先备份并删除该文件）")
    else:
        db = Database(path)
        db.migrate()
    setup.ensure_secrets(db)
    if args.demo:
        demo.build_demo(db, scale=args.scale)
        print(f"已创建演示数据库 {path}（规模：{args.scale}）。演示账号 admin / editor / treasurer / viewer，"
              f"密码 {demo.DEMO_PASSWORD}")
    else:
        if not setup.has_users(db):
            password = _read_password("请设置管理员 admin 的密码：")
            add_user(db, SYSTEM, "admin", "系统管理员", password, "admin")
        print(f"已创建数据库 {path}，管理员账号 admin。")
    db.close()
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from .. import setup

    db, created = setup.prepare(_path(args))
    db.close()
    if created:
        print(f"首次启动：已创建演示数据库 {_path(args)}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade an existing database to this version (install.sh runs it on upgrade); a
    database that holds data is backed up first (backups/迁移前-…). Never creates one."""
    from ..db import Database

    path = _path(args)
    if not Path(path).exists():
        raise DangjianError(f"数据库文件 {path} 不存在：新安装请运行 python -m dangjian_core db init")
    db = Database(path)
    applied = db.migrate()
    db.close()
    if applied:
        print(f"数据库 {path} 已升级：" + "、".join(f"{v:03d}" for v in applied))
    else:
        print(f"数据库 {path} 已是最新，无需升级")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    dest = Path(args.dest)
    if dest.is_dir():
        dest = dest / f"dangjian-{clock.now():%Y%m%d-%H%M%S}.duckdb"
    with opened(args) as db:
        db.backup(dest)
    print(f"已备份到 {dest}")
    from ..datafiles import folder_for

    if folder_for(dest).is_dir():
        print(f"附件文件在旁边的文件夹 {folder_for(dest).name} 中：挪动或复制备份时请连同这个文件夹一起。")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    if not Path(args.src).is_file():
        raise BadInput(f"备份文件不存在：{args.src}")
    with opened(args) as db:
        # a bad file is refused (exit 2) before anything, even the safety copy, is written
        check = db.check_backup(args.src)
        print(f"备份 {Path(args.src).name} 检查通过（数据库第 {max(check.migrations):03d} 步），各表行数：")
        for t, n in check.row_counts.items():
            print(f"  {t}\t{n}")
        print(check.attachments_line)
        before = _path(args) + f".before-restore-{clock.now():%Y%m%d-%H%M%S}"
        db.backup(before)
        db.restore_from(args.src)
        db.migrate()
    print(f"已从 {args.src} 恢复（恢复前的数据已另存为 {before}）")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .. import fileio, tables
    from ..auth import SYSTEM

    spec = tables.get_spec(args.table)
    frame = fileio.read_frame(args.file, expected=[c.label for c in spec.columns] + spec.names)
    with opened(args) as db:
        preview = tables.import_frame(db, SYSTEM, spec, frame, commit=True, kind="cli",
                                      description=f"命令行导入{spec.label}：{Path(args.file).name}",
                                      match_by_name=args.match_name, confirm_overwrite=args.confirm_overwrite)
    if preview.errors:
        if preview.needs_confirmation and not args.confirm_overwrite:
            lines = [f"  第 {c.row} 行「{c.name}」{label}：{old} → {new}"
                     for c in preview.changes for label, old, new in c.cells]
            shown = "\n".join(lines[:50]) + (f"\n  ……另有 {len(lines) - 50} 处" if len(lines) > 50 else "")
            raise BadInput(f"文件没有「{tables.VERSION_LABEL}」列（旧的导出文件或自制的表格），无法判断下列修改的行"
                           "在导出后是否被别人改过，没有导入任何数据。核对无误后加 --confirm-overwrite 再运行，"
                           f"或重新导出后在新文件上修改：\n{shown}", file=args.file)
        raise BadInput(f"有 {len(preview.errors)} 处错误，没有导入任何数据：", preview.errors, file=args.file)
    for w in preview.warnings:
        print(f"提示：{w}", file=sys.stderr)
    print(f"导入完成：新增 {preview.inserts} 行，修改 {preview.updates} 行，未变 {preview.unchanged} 行")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .. import fileio, tables
    from ..auth import SYSTEM

    spec = tables.get_spec(args.table)
    with opened(args) as db:
        df = tables.export_frame(db, SYSTEM, spec)
    fileio.write_frame(df, args.file, sheet=spec.label)
    print(f"已导出 {df.height} 行到 {args.file}")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("db", help="数据库：初始化、备份、恢复、导入、导出")
    s = p.add_subparsers(dest="db_cmd", required=True)
    q = s.add_parser("init", help="创建数据库（--demo 带演示数据）")
    q.add_argument("--demo", action="store_true")
    q.add_argument("--scale", default="demo", choices=["demo", "city", "tiny"])
    _db_arg(q)
    q.set_defaults(handler=cmd_init)
    q = s.add_parser("prepare", help="启动前准备：升级数据库；首次启动时创建演示数据")
    _db_arg(q)
    q.set_defaults(handler=cmd_prepare)
    q = s.add_parser("migrate", help="升级已有的数据库到本版本（先自动备份；不会新建数据库）")
    _db_arg(q)
    q.set_defaults(handler=cmd_migrate)
    q = s.add_parser("backup", help="备份到文件（或目录）")
    q.add_argument("dest")
    _db_arg(q)
    q.set_defaults(handler=cmd_backup)
    q = s.add_parser("restore", help="从备份恢复（请先停止网页应用）")
    q.add_argument("src")
    _db_arg(q)
    q.set_defaults(handler=cmd_restore)
    q = s.add_parser("import", help="从 xlsx/xls/csv 导入数据表（全部成功才写入）")
    q.add_argument("table")
    q.add_argument("file")
    q.add_argument("--match-name", action="store_true",
                   help="没有编号的行按名称（党员名册按党员编号）匹配已有记录并更新它")
    q.add_argument("--confirm-overwrite", action="store_true",
                   help="文件没有「版本（请勿修改）」列时，确认以文件为准修改已有记录")
    _db_arg(q)
    q.set_defaults(handler=cmd_import)
    q = s.add_parser("export", help="导出数据表到 xlsx/csv/parquet")
    q.add_argument("table")
    q.add_argument("file")
    _db_arg(q)
    q.set_defaults(handler=cmd_export)
