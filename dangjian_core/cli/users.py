"""`users` commands: list, add, passwd, disable, enable, unlock."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from .db import _db_arg, _read_password, opened

if TYPE_CHECKING:
    from ..db import Database
    from .db import Subparsers

# auth (and bcrypt) is imported inside the handlers, like db.py's: registering the arguments
# must stay cheap.


def cmd_list(args: argparse.Namespace) -> int:
    from .. import auth

    with opened(args) as db:
        users = auth.list_users(db)
    for u in users:
        state = "已停用" if u["disabled"] else "正常"
        print(f"{u['username']}\t{u['display_name']}\t{u['roles']}\t{state}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from .. import auth

    with opened(args) as db:
        password = _read_password(f"请设置 {args.username} 的密码：")
        auth.add_user(db, auth.SYSTEM, args.username, args.name or args.username, password, args.roles)
    print(f"已添加用户 {args.username}")
    return 0


# One account change: (db, username) -> the message to print.
Change = Callable[["Database", str], str]


def _passwd(db: Database, name: str) -> str:
    from .. import auth

    auth.set_password(db, auth.SYSTEM, name, _read_password(f"请输入 {name} 的新密码："))
    return f"已修改 {name} 的密码（该用户需要重新登录）"


def _disable(db: Database, name: str) -> str:
    from .. import auth

    auth.set_disabled(db, auth.SYSTEM, name, True)
    return f"已停用 {name}（其登录立即失效）"


def _enable(db: Database, name: str) -> str:
    from .. import auth

    auth.set_disabled(db, auth.SYSTEM, name, False)
    return f"已启用 {name}"


def _unlock(db: Database, name: str) -> str:
    from .. import auth

    if auth.unlock_user(db, auth.SYSTEM, name):
        return f"已解除 {name} 的登录锁定，可以立即登录"
    return f"{name} 没有被锁定，无需解锁"


ACCOUNT_COMMANDS: tuple[tuple[str, Change, str], ...] = (
    ("passwd", _passwd, "修改密码"),
    ("disable", _disable, "停用账号"),
    ("enable", _enable, "启用账号"),
    ("unlock", _unlock, "解除连续输错密码造成的登录锁定"),
)


def _account_handler(change: Change) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        with opened(args) as db:
            message = change(db, args.username)
        print(message)
        return 0

    return handler


def register(sub: Subparsers) -> None:
    p = sub.add_parser("users", help="用户管理")
    s = p.add_subparsers(dest="users_cmd", required=True)
    q = s.add_parser("list")
    _db_arg(q)
    q.set_defaults(handler=cmd_list)
    q = s.add_parser("add", help="添加用户；密码从终端输入，或环境变量 DANGJIAN_ADMIN_PASSWORD")
    q.add_argument("username")
    q.add_argument("--roles", required=True, help="逗号分隔：admin,editor,treasurer,viewer")
    q.add_argument("--name", default=None)
    _db_arg(q)
    q.set_defaults(handler=cmd_add)
    for name, change, text in ACCOUNT_COMMANDS:
        q = s.add_parser(name, help=text)
        q.add_argument("username")
        _db_arg(q)
        q.set_defaults(handler=_account_handler(change))
