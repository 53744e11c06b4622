from datetime import datetime, timedelta

import pytest

from dangjian_core import auth
from dangjian_core.errors import BadInput, PermissionDenied
from tests.conftest import ADMIN, EDITOR, VIEWER


def test_throttle_locks_after_five_failures_and_survives_reopen(demo_db, tmp_path):
    t0 = datetime(2026, 1, 1, 9, 0)
    for _i in range(5):
        r = auth.authenticate(demo_db, "editor", "wrong", now=t0)
        assert not r.ok and r.message == auth.LOGIN_FAILED  # never "再错 N 次": that names a real user
    # correct password is refused while locked, also from a new process opening the file
    path = demo_db.path
    demo_db.close()
    from dangjian_core.db import Database

    db2 = Database(path)
    r = auth.authenticate(db2, "editor", "dangjian-demo", now=t0 + timedelta(minutes=5))
    assert not r.ok and "锁定" in r.message
    r = auth.authenticate(db2, "editor", "dangjian-demo", now=t0 + timedelta(minutes=16))
    assert r.ok and r.user.roles == {"editor"}
    db2.close()


def test_logging_in_keeps_every_cached_read(demo_db):
    """A login writes last_login and the failure counter, which no cached page shows: the
    generation that keys every page cache must not move (else each login empties them all)."""
    g = demo_db.generation
    assert auth.authenticate(demo_db, "editor", "wrong").message.startswith("用户名或密码不正确")
    assert auth.authenticate(demo_db, "editor", "dangjian-demo").ok
    assert demo_db.generation == g
    last = next(u["last_login"] for u in auth.list_users(demo_db) if u["username"] == "editor")
    assert last is not None, "the login itself is still recorded"
    auth.set_disabled(demo_db, ADMIN, "viewer", True)  # a real change still refreshes pages
    assert demo_db.generation == g + 1


def test_disabled_user_cannot_log_in_and_session_is_cut(demo_db):
    r = auth.authenticate(demo_db, "viewer", "dangjian-demo")
    assert r.ok
    tv = r.user.token_version
    assert auth.session_user(demo_db, "viewer", tv) is not None
    auth.set_disabled(demo_db, ADMIN, "viewer", True)
    assert auth.session_user(demo_db, "viewer", tv) is None
    assert not auth.authenticate(demo_db, "viewer", "dangjian-demo").ok


def test_password_change_invalidates_old_token(demo_db):
    tv = auth.get_user(demo_db, "editor").token_version
    auth.set_password(demo_db, ADMIN, "editor", "new-password-1")
    assert auth.session_user(demo_db, "editor", tv) is None
    assert auth.authenticate(demo_db, "editor", "new-password-1").ok


def test_password_length_limits_in_chinese():
    with pytest.raises(BadInput, match="至少"):
        auth.hash_password("short")
    with pytest.raises(BadInput, match="24 个汉字"):
        auth.hash_password("党" * 25)
    assert auth.verify_password("党" * 24, auth.hash_password("党" * 24))


def test_only_admin_manages_users(demo_db):
    for user in (EDITOR, VIEWER):
        with pytest.raises(PermissionDenied):
            auth.add_user(demo_db, user, "x1", "X", "password-123", "viewer")
    auth.add_user(demo_db, ADMIN, "x1", "X", "password-123", "viewer")
    with pytest.raises(BadInput, match="已存在"):
        auth.add_user(demo_db, ADMIN, "x1", "X", "password-123", "viewer")


@pytest.mark.parametrize("perm", sorted(p for p in auth.PERMISSIONS if p != "read"))
def test_viewer_holds_no_write_permission(perm):
    assert not VIEWER.can(perm)
    with pytest.raises(PermissionDenied):
        auth.require(VIEWER, perm)


def test_mask_id_number():
    assert auth.mask_id_number("110101199001011234") == "110***********1234"


class _CountBcrypt:
    def __init__(self, monkeypatch):
        self.calls = 0
        real = auth.bcrypt.checkpw

        def checkpw(pw, hashed):
            self.calls += 1
            return real(pw, hashed)

        monkeypatch.setattr(auth.bcrypt, "checkpw", checkpw)


def test_unknown_and_known_users_get_the_same_answer_after_the_same_work(demo_db, monkeypatch):
    counter = _CountBcrypt(monkeypatch)
    unknown = auth.authenticate(demo_db, "nobody-here", "wrong-password")
    assert counter.calls == 1, "an unknown user name runs bcrypt too (against a dummy hash)"
    known = auth.authenticate(demo_db, "editor", "wrong-password")
    assert counter.calls == 2
    assert not unknown.ok and not known.ok
    assert unknown.message == known.message == auth.LOGIN_FAILED
    assert "再错" not in known.message
    # the dummy hash has the cost of a real one
    with demo_db.read() as cur:
        real = cur.execute("SELECT password_hash FROM users WHERE username = 'editor'").fetchone()[0]
    assert auth._DUMMY_HASH[:7] == "$2b$12$" and auth.hash_password("x" * 8)[:7] == auth._DUMMY_HASH[:7]
    assert real.startswith("$2")


def test_disabled_account_is_named_only_after_the_right_password(demo_db, monkeypatch):
    auth.set_disabled(demo_db, ADMIN, "viewer", True)
    counter = _CountBcrypt(monkeypatch)
    r = auth.authenticate(demo_db, "viewer", "wrong-password")
    assert not r.ok and r.message == auth.LOGIN_FAILED and "停用" not in r.message
    assert counter.calls == 1
    r = auth.authenticate(demo_db, "viewer", "dangjian-demo")
    assert not r.ok and "停用" in r.message


def test_locked_account_is_named_only_after_the_right_password(demo_db):
    t0 = datetime(2026, 1, 1, 9, 0)
    for _ in range(5):
        auth.authenticate(demo_db, "treasurer", "wrong", now=t0)
    r = auth.authenticate(demo_db, "treasurer", "still-wrong", now=t0 + timedelta(minutes=1))
    assert not r.ok and r.message == auth.LOGIN_FAILED
    r = auth.authenticate(demo_db, "treasurer", "dangjian-demo", now=t0 + timedelta(minutes=1))
    assert not r.ok and "已锁定" in r.message and "解锁" in r.message
    # wrong passwords during the lock do not extend it
    assert auth.authenticate(demo_db, "treasurer", "dangjian-demo", now=t0 + timedelta(minutes=16)).ok


def test_admin_unlocks_a_locked_user_audited(demo_db):
    from dangjian_core import audit

    t0 = datetime.now()
    for _ in range(5):
        auth.authenticate(demo_db, "editor", "wrong", now=t0)
    assert not auth.authenticate(demo_db, "editor", "dangjian-demo", now=t0).ok
    for u in (EDITOR, VIEWER):
        with pytest.raises(PermissionDenied):
            auth.unlock_user(demo_db, u, "editor")
    with pytest.raises(BadInput, match="不存在"):
        auth.unlock_user(demo_db, ADMIN, "nobody-here")
    assert auth.unlock_user(demo_db, ADMIN, "editor") is True
    row = next(u for u in auth.list_users(demo_db) if u["username"] == "editor")
    assert row["failed_logins"] == 0 and row["locked_until"] is None
    assert auth.authenticate(demo_db, "editor", "dangjian-demo", now=t0).ok
    log = audit.list_changes(demo_db, ADMIN, table="users")
    assert "解除用户 editor 的登录锁定" in log["description"].to_list()
    assert auth.unlock_user(demo_db, ADMIN, "editor") is False  # not locked: nothing written


def test_cli_users_unlock(demo_db, capsys):
    from dangjian_core.cli import main

    t0 = datetime.now()
    for _ in range(5):
        auth.authenticate(demo_db, "admin", "wrong", now=t0)
    path = demo_db.path
    demo_db.close()
    assert main(["users", "unlock", "admin", "--db", str(path)]) == 0
    assert "已解除 admin 的登录锁定" in capsys.readouterr().out
    assert main(["users", "unlock", "ghost", "--db", str(path)]) == 2
    assert "不存在" in capsys.readouterr().err
    from dangjian_core.db import Database

    db2 = Database(path)
    assert auth.authenticate(db2, "admin", "dangjian-demo").ok
    db2.close()


def test_readme_says_how_to_unlock_from_the_command_line():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "python -m dangjian_core users unlock" in text
