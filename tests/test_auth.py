from datetime import datetime, timedelta

import pytest

from dangjian_core import auth
from dangjian_core.errors import BadInput, PermissionDenied
from tests.conftest import ADMIN, EDITOR, VIEWER


def test_throttle_locks_after_five_failures_and_survives_reopen(demo_db, tmp_path):
    t0 = datetime(2026, 1, 1, 9, 0)
    for i in range(4):
        r = auth.authenticate(demo_db, "editor", "wrong", now=t0)
        assert not r.ok and "再错" in r.message
    r = auth.authenticate(demo_db, "editor", "wrong", now=t0)
    assert "锁定" in r.message
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
