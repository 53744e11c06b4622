"""Users, roles and permissions — enforced here, in the core, on every write.

Pages hide what a role may not use, but the check that counts is `require(user, perm)`,
called by every core function that writes. A viewer calling a write function gets
`PermissionDenied`, whichever door (page, import, CLI) the call came through.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import bcrypt

from .errors import BadInput, PermissionDenied

if TYPE_CHECKING:
    from .db import Cursor, Database
    from .uow import Action

ROLES = {
    "admin": "系统管理员",
    "editor": "业务编辑",
    "treasurer": "党费管理员",
    "viewer": "只读查看",
}

# permission → roles that hold it
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"admin", "editor", "treasurer", "viewer"}),
    "orgs.write": frozenset({"admin", "editor"}),
    "members.write": frozenset({"admin", "editor", "treasurer"}),
    "sites.write": frozenset({"admin", "editor"}),
    "reports.write": frozenset({"admin", "editor"}),
    "observation.write": frozenset({"admin", "editor"}),
    "dues.read": frozenset({"admin", "treasurer"}),
    "dues.write": frozenset({"admin", "treasurer"}),
    "salary.read": frozenset({"admin", "treasurer"}),
    "charts.write": frozenset({"admin", "editor", "treasurer"}),
    "audit.revert": frozenset({"admin", "editor", "treasurer"}),
    "users.manage": frozenset({"admin"}),
    "backup": frozenset({"admin"}),
}

PERMISSION_LABELS = {
    "orgs.write": "修改基层党组织",
    "members.write": "修改党员信息",
    "sites.write": "修改示范点台账",
    "reports.write": "修改述职评议",
    "observation.write": "修改观摩互进",
    "dues.read": "查看党费",
    "dues.write": "修改党费",
    "salary.read": "查看工资和身份证号",
    "charts.write": "保存图表",
    "audit.revert": "撤销修改",
    "users.manage": "管理用户",
    "backup": "备份与恢复",
}

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LEN = 8
MAX_PASSWORD_BYTES = 72  # bcrypt's limit


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    token_version: int = 1

    def can(self, perm: str) -> bool:
        return bool(self.roles & PERMISSIONS.get(perm, frozenset()))

    @property
    def role_label(self) -> str:
        return "、".join(ROLES[r] for r in sorted(self.roles) if r in ROLES)


# A user for the command line and maintenance tasks run by the machine's administrator.
SYSTEM = User("system", "系统（命令行）", frozenset({"admin"}))


def require(user: User | None, perm: str) -> None:
    if user is None:
        raise PermissionDenied("请先登录。")
    if not user.can(perm):
        label = PERMISSION_LABELS.get(perm, perm)
        raise PermissionDenied(f"您的角色（{user.role_label or '无'}）没有「{label}」的权限。")


def mask_id_number(value: str | None) -> str | None:
    """110101199001011234 → 110***********1234."""
    if not value:
        return value
    v = str(value)
    if len(v) <= 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


# -- passwords ---------------------------------------------------------------------------
def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN:
        raise BadInput(f"密码至少需要 {MIN_PASSWORD_LEN} 个字符。")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise BadInput("密码太长：最多 72 个字节（约 72 个英文字母或数字，或 24 个汉字）。")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=12)).decode("ascii")


def verify_password(password: str, hashed: str) -> bool:
    data = password.encode("utf-8")
    if len(data) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(data, hashed.encode("ascii"))
    except ValueError:
        return False


def parse_roles(text: str) -> frozenset[str]:
    roles = frozenset(r.strip() for r in str(text).replace("，", ",").split(",") if r.strip())
    unknown = roles - set(ROLES)
    if unknown:
        raise BadInput(f"未知角色：{'、'.join(sorted(unknown))}；可选：{', '.join(ROLES)}")
    if not roles:
        raise BadInput("至少需要一个角色。")
    return roles


# -- users in the database ---------------------------------------------------------------
def _row_to_user(row: tuple[Any, ...]) -> User:
    username, display_name, roles, token_version = row
    return User(username, display_name, parse_roles(roles), token_version)


def get_user(db: Database, username: str) -> User | None:
    with db.read() as cur:
        row = cur.execute(
            "SELECT username, display_name, roles, token_version FROM users"
            " WHERE username = ? AND NOT disabled", [username]).fetchone()
    return _row_to_user(row) if row else None


def list_users(db: Database) -> list[dict[str, Any]]:
    with db.read() as cur:
        rows = cur.execute(
            "SELECT username, display_name, roles, disabled, failed_logins, locked_until,"
            " last_login FROM users ORDER BY username").fetchall()
    keys = ["username", "display_name", "roles", "disabled", "failed_logins", "locked_until",
            "last_login"]
    return [dict(zip(keys, r)) for r in rows]


def _user_action(db: Database, actor: User | None, perm: str, description: str) -> AbstractContextManager[Action]:
    """One audited action on the users table (uow imports this module, hence the late import)."""
    from . import uow

    return uow.action(db, actor, perm, "users", description)


def _user_row(cur: Cursor, username: str) -> dict[str, Any] | None:
    rel = cur.execute(
        "SELECT username, display_name, roles, disabled, token_version FROM users"
        " WHERE username = ?", [username])
    row = rel.fetchone()
    if row is None:
        return None
    return dict(zip(["username", "display_name", "roles", "disabled", "token_version"], row))


def add_user(db: Database, actor: User, username: str, display_name: str, password: str,
             roles: str | Iterable[str]) -> None:
    require(actor, "users.manage")
    username = (username or "").strip()
    if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise BadInput("用户名只能包含字母、数字、下划线、连字符或点，且不能为空。")
    role_set = parse_roles(",".join(roles) if not isinstance(roles, str) else roles)
    hashed = hash_password(password)
    with _user_action(db, actor, "users.manage", f"新增用户 {username}") as act:
        cur = act.cur
        if _user_row(cur, username):
            raise BadInput(f"用户名「{username}」已存在。")
        cur.execute("INSERT INTO users(username, display_name, password_hash, roles)"
                    " VALUES (?, ?, ?, ?)",
                    [username, display_name or username, hashed, ",".join(sorted(role_set))])
        act.record("users", username, "insert", None, _user_row(cur, username))


def set_password(db: Database, actor: User, username: str, password: str) -> None:
    own = actor is not None and actor.username == username  # everyone may change their own password
    require(actor, "read" if own else "users.manage")
    hashed = hash_password(password)
    with _user_action(db, actor, "read" if own else "users.manage", f"修改用户 {username} 的密码") as act:
        cur = act.cur
        before = _user_row(cur, username)
        if before is None:
            raise BadInput(f"用户「{username}」不存在。")
        cur.execute("UPDATE users SET password_hash = ?, token_version = token_version + 1,"
                    " failed_logins = 0, locked_until = NULL WHERE username = ?",
                    [hashed, username])
        act.record("users", username, "update", before, _user_row(cur, username))


def set_disabled(db: Database, actor: User, username: str, disabled: bool = True) -> None:
    require(actor, "users.manage")
    if disabled and actor.username == username:
        raise BadInput("不能停用自己的账号。")
    with _user_action(db, actor, "users.manage", f"{'停用' if disabled else '启用'}用户 {username}") as act:
        cur = act.cur
        before = _user_row(cur, username)
        if before is None:
            raise BadInput(f"用户「{username}」不存在。")
        cur.execute("UPDATE users SET disabled = ?, token_version = token_version + 1"
                    " WHERE username = ?", [disabled, username])
        act.record("users", username, "update", before, _user_row(cur, username))


def set_roles(db: Database, actor: User, username: str, roles: str | Iterable[str]) -> None:
    require(actor, "users.manage")
    role_set = parse_roles(",".join(roles) if not isinstance(roles, str) else roles)
    with _user_action(db, actor, "users.manage", f"修改用户 {username} 的角色") as act:
        cur = act.cur
        before = _user_row(cur, username)
        if before is None:
            raise BadInput(f"用户「{username}」不存在。")
        if actor.username == username and "admin" not in role_set:
            raise BadInput("不能去掉自己的管理员角色。")
        cur.execute("UPDATE users SET roles = ?, token_version = token_version + 1"
                    " WHERE username = ?", [",".join(sorted(role_set)), username])
        act.record("users", username, "update", before, _user_row(cur, username))


class LoginResult:
    def __init__(self, user: User | None, message: str = "") -> None:
        self.user = user
        self.message = message

    @property
    def ok(self) -> bool:
        return self.user is not None


# One answer for every failed login, known user or not: the form never tells whether a
# user name exists, nor how many tries are left.
LOGIN_FAILED = (f"用户名或密码不正确。连续输错 {MAX_FAILED_LOGINS} 次，账号将锁定 {LOCK_MINUTES} 分钟"
                "（可请系统管理员解锁）。")
# A bcrypt hash (cost 12, like every real one) of a random secret nobody kept: an unknown
# user name costs the same bcrypt run as a known one, so timing does not tell them apart.
_DUMMY_HASH = "$2b$12$m5vkH57RYuoOyJX/wnEk/Ousw.oX59wDcavMQ.UStdYdvrtZcDvTK"


def authenticate(db: Database, username: str, password: str, now: datetime | None = None) -> LoginResult:
    """Check a password with throttling kept in the database (survives restarts):
    5 failures lock the account for 15 minutes (an admin can unlock it: `unlock_user`).

    Unknown and known users get the same answer after the same bcrypt work (a dummy hash
    for unknown names); a disabled or locked account is only named once the password
    has been checked and is right — before that, every failure reads `LOGIN_FAILED`."""
    now = now or datetime.now()
    username = (username or "").strip()
    if not username or not password:
        return LoginResult(None, "请输入用户名和密码。")
    from . import uow

    # only the login counters and last_login change, which no cached page read shows
    with uow.bookkeeping(db, invalidates_cache=False) as cur:
        row = cur.execute(
            "SELECT username, display_name, roles, token_version, password_hash, disabled,"
            " failed_logins, locked_until FROM users WHERE username = ?", [username]).fetchone()
        if row is None:
            verify_password(password, _DUMMY_HASH)
            return LoginResult(None, LOGIN_FAILED)
        _, display_name, roles, tv, hashed, disabled, failed, locked_until = row
        good = verify_password(password, hashed)
        locked = locked_until is not None and locked_until > now
        if not good:
            if not locked and not disabled:
                failed = (failed or 0) + 1
                if locked_until is not None:
                    failed = 1  # the earlier lock has expired: start counting again
                lock = now + timedelta(minutes=LOCK_MINUTES) if failed >= MAX_FAILED_LOGINS else None
                cur.execute("UPDATE users SET failed_logins = ?, locked_until = ? WHERE username = ?",
                            [failed, lock, username])
            return LoginResult(None, LOGIN_FAILED)
        if disabled:
            return LoginResult(None, "该账号已停用，请联系系统管理员。")
        if locked:
            minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
            return LoginResult(None, f"密码连续输错 {MAX_FAILED_LOGINS} 次，账号已锁定，"
                                     f"请 {minutes} 分钟后再试，或请系统管理员解锁。")
        cur.execute("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login = ?"
                    " WHERE username = ?", [now, username])
        return LoginResult(User(username, display_name, parse_roles(roles), tv))


def unlock_user(db: Database, actor: User, username: str) -> bool:
    """Lift a login lock (and the failure count) before its 15 minutes are up. Needs
    users.manage; audited. Returns False when the account was not locked (nothing written)."""
    require(actor, "users.manage")
    username = (username or "").strip()
    with _user_action(db, actor, "users.manage", f"解除用户 {username} 的登录锁定") as act:
        cur = act.cur
        row = cur.execute("SELECT failed_logins, locked_until FROM users WHERE username = ?",
                          [username]).fetchone()
        if row is None:
            raise BadInput(f"用户「{username}」不存在。")
        if not row[0] and row[1] is None:
            return False
        before = {**(_user_row(cur, username) or {}), "failed_logins": row[0], "locked_until": row[1]}
        cur.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = ?", [username])
        after = {**(_user_row(cur, username) or {}), "failed_logins": 0, "locked_until": None}
        act.record("users", username, "update", before, after)
    return True


def session_user(db: Database, username: str, token_version: int | None) -> User | None:
    """The user behind a session or cookie, or None when disabled or the token is stale."""
    user = get_user(db, username)
    if user is None or (token_version is not None and user.token_version != token_version):
        return None
    return user
