"""Roles are enforced in the core, on every door: for every registered table, each role's
save and import either works or is refused, exactly as auth.PERMISSIONS says."""

import pytest

from dangjian_core import auth, fileio, tables
from dangjian_core.errors import DangjianError, PermissionDenied
from tests.conftest import ADMIN, EDITOR, TREASURER, VIEWER

ROLES = {"admin": ADMIN, "editor": EDITOR, "treasurer": TREASURER, "viewer": VIEWER}


def _specs():
    import importlib

    tables.get_spec("orgs")  # registers the built-in specs
    for name in ("sites", "dues_store", "reports", "observation_store", "charts"):
        try:
            importlib.import_module(f"dangjian_core.{name}")  # their specs register on import
        except ModuleNotFoundError:
            pass
    return sorted(tables.SPECS)


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory):
    """Permission checks come before any write, so one database serves every case."""
    from dangjian_core import demo
    from dangjian_core.db import Database

    d = Database(tmp_path_factory.mktemp("perm") / "p.duckdb")
    d.migrate()
    demo.build_demo(d, scale="tiny")
    yield d
    d.close()


@pytest.mark.parametrize("table", _specs())
@pytest.mark.parametrize("role", list(ROLES))
def test_table_writes_follow_the_permission_table(shared_db, tmp_path, table, role):
    demo_db = shared_db
    spec = tables.SPECS[table]
    user = ROLES[role]
    allowed = user.can(spec.perm)
    empty = tables.Changes(updates={-1: {}}, versions={-1: 1})
    p = tmp_path / "x.csv"
    p.write_text(",".join(c.label for c in spec.columns) + "\n")
    for door in (lambda: tables.save(demo_db, user, spec, empty),
                 lambda: tables.import_frame(demo_db, user, spec, fileio.read_frame(p), commit=True)):
        if allowed:
            try:
                door()  # may find nothing to do, or bad input — but is not refused for the role
            except PermissionDenied:
                raise
            except DangjianError:
                pass
        else:
            with pytest.raises(PermissionDenied):
                door()


def test_viewer_has_no_write_permission_at_all():
    assert [p for p, roles in auth.PERMISSIONS.items() if "viewer" in roles] == ["read"]
