"""`users` commands: list, add, passwd, disable, enable, unlock."""

from __future__ import annotations

from .db import _db_arg, _open, _read_password


def _auth():
    from .. import auth

    return auth


def cmd_list(args) -> int:
    db = _open(args)
    for u in _auth().list_users(db):
        state = "已停用" if u["disabled"] else "正常"
        print(f"{u['username']}\t{u['display_name']}\t{u['roles']}\t{state}")
    db.close()
    return 0


def cmd_add(args) -> int:
    db = _open(args)
    password = _read_password(f"请设置 {args.username} 的密码：")
    a = _auth()
    a.add_user(db, a.SYSTEM, args.username, args.name or args.username, password, args.roles)
    db.close()
    print(f"已添加用户 {args.username}")
    return 0


def cmd_passwd(args) -> int:
    db = _open(args)
    a = _auth()
    a.set_password(db, a.SYSTEM, args.username, _read_password(f"请输入 {args.username} 的新密码："))
    db.close()
    print(f"已修改 {args.username} 的密码（该用户需要重新登录）")
    return 0


def cmd_disable(args) -> int:
    db = _open(args)
    a = _auth()
    a.set_disabled(db, a.SYSTEM, args.username, True)
    db.close()
    print(f"已停用 {args.username}（其登录立即失效）")
    return 0


def cmd_enable(args) -> int:
    db = _open(args)
    a = _auth()
    a.set_disabled(db, a.SYSTEM, args.username, False)
    db.close()
    print(f"已启用 {args.username}")
    return 0


def cmd_unlock(args) -> int:
    db = _open(args)
    a = _auth()
    done = a.unlock_user(db, a.SYSTEM, args.username)
    db.close()
    print(f"已解除 {args.username} 的登录锁定，可以立即登录" if done else f"{args.username} 没有被锁定，无需解锁")
    return 0


def register(sub) -> None:
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
    for name, fn, text in (("passwd", cmd_passwd, "修改密码"), ("disable", cmd_disable, "停用账号"),
                           ("enable", cmd_enable, "启用账号"),
                           ("unlock", cmd_unlock, "解除连续输错密码造成的登录锁定")):
        q = s.add_parser(name, help=text)
        q.add_argument("username")
        _db_arg(q)
        q.set_defaults(handler=fn)
