"""Installation-level setup: create or open the database, first-run demo data, secrets."""

from __future__ import annotations

import secrets
from pathlib import Path

from . import uow
from .db import Database, default_path


def get_meta(db: Database, key: str) -> str | None:
    with db.read() as cur:
        row = cur.execute("SELECT value FROM app_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(db: Database, key: str, value: str) -> None:
    with uow.bookkeeping(db) as cur:
        cur.execute("INSERT OR REPLACE INTO app_meta VALUES (?, ?)", [key, value])


def ensure_secrets(db: Database) -> str:
    """The cookie signing key: random per installation, kept in the database (never in git)."""
    key = get_meta(db, "cookie_key")
    if not key:
        key = secrets.token_hex(32)
        set_meta(db, "cookie_key", key)
    return key


def prepare(path: str | None = None, *, demo_if_new: bool | None = None, scale: str = "demo") -> tuple[Database, bool]:
    """Open (creating when missing) and migrate the database; a brand-new database gets the
    demo data — except on an installed server (DANGJIAN_NO_DEMO=1, set by install.sh), where
    a missing production database must not silently become a demo one. Returns (db, created)."""
    import os

    from . import demo

    if demo_if_new is None:
        demo_if_new = os.environ.get("DANGJIAN_NO_DEMO", "") not in ("1", "true", "yes")
    path = path or default_path()
    created = not Path(path).exists()
    db = Database(path)
    from . import backups

    backups.sweep_partial(db)  # a backup killed half-way left its .part file behind
    db.migrate()
    ensure_secrets(db)
    if created and demo_if_new:
        demo.build_demo(db, scale=scale)
    return db, created


def has_users(db: Database) -> bool:
    with db.read() as cur:
        return bool(cur.execute("SELECT count(*) FROM users WHERE NOT disabled").fetchone()[0] > 0)


def no_login_reason(db: Database) -> str | None:
    """Why nobody can log in, in Chinese with what the administrator does on the server — an
    installed server (DANGJIAN_NO_DEMO) whose database file was missing starts on an empty
    database — or None when some account is active."""
    with db.read() as cur:
        users, active, orgs = cur.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM users WHERE NOT disabled),"
            " (SELECT count(*) FROM orgs)").fetchone()
    if active:
        return None
    cmd = f"python -m dangjian_core {{}} --db {db.path}"
    if not users and not orgs:
        return (f"数据库是空的：{db.path} 中还没有任何数据和账号（这台服务器设置为不自动创建演示数据），所以现在无法登录。"
                "请系统管理员在服务器上先停止党建工作台，然后二选一：恢复备份（" + cmd.format("db restore 备份文件")
                + "），或新建空库并设置管理员 admin 的密码（" + cmd.format("db init") + "）；再启动党建工作台并刷新本页。"
                "如果数据本应在别的位置，请检查配置文件 dangjian.env 中的 DANGJIAN_DB。")
    return ("没有可以登录的账号：数据库 " + db.path + " 中" + ("的账号都已停用" if users else "还没有任何账号") + "。"
            "请系统管理员在服务器上先停止党建工作台，然后重新启用管理员账号（" + cmd.format("users enable 用户名")
            + "）或添加一个（" + cmd.format("users add 用户名 --roles admin") + "）；再启动党建工作台并刷新本页。")
