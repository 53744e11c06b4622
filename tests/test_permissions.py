"""Roles are enforced in the core, on every door: for every registered table, each role's
save and import either works or is refused, exactly as auth.PERMISSIONS says."""

import polars as pl
import pytest

from dangjian_core import auth, fileio, registry, tables
from dangjian_core.errors import DangjianError, PermissionDenied
from tests.conftest import ADMIN, EDITOR, TREASURER, VIEWER, copy_of

ROLES = {"admin": ADMIN, "editor": EDITOR, "treasurer": TREASURER, "viewer": VIEWER}


def _specs():
    import importlib

    tables.get_spec("orgs")  # registers the built-in specs
    for name in ("sites", "dues.settings", "reports", "observation.store", "charts"):
        try:
            importlib.import_module(f"dangjian_core.{name}")  # their specs register on import
        except ModuleNotFoundError:
            pass
    return sorted(registry.specs())


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory, tiny_demo_file):
    """Permission checks come before any write, so one database serves every case (a copy of
    the session's tiny demo)."""
    with copy_of(tiny_demo_file, tmp_path_factory.mktemp("perm") / "p.duckdb") as d:
        yield d


@pytest.mark.parametrize("table", _specs())
@pytest.mark.parametrize("role", list(ROLES))
def test_table_writes_follow_the_permission_table(shared_db, tmp_path, table, role):
    demo_db = shared_db
    spec = registry.specs()[table]
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


def test_a_column_the_user_may_not_see_cannot_be_written_or_previewed(demo_db):
    """An editor (no salary.read) importing a file with a 身份证号 column, or an edit that sets
    it, is refused: a blind overwrite, and the preview would show the old number."""
    from dangjian_core import fileio, tables
    from dangjian_core.errors import ValidationFailed
    from tests.conftest import ADMIN, EDITOR, TREASURER

    spec = tables.get_spec("members")
    frame = tables.export_frame(demo_db, ADMIN, spec).head(2).with_columns(
        pl.lit("11010119900307451X").alias("身份证号"))
    data = fileio.xlsx_bytes({"党员": frame})
    read = fileio.read_frame(data=data, name="m.xlsx", expected=[c.label for c in spec.columns])
    preview = tables.import_frame(demo_db, EDITOR, spec, read, commit=False)
    assert not preview.ok and not preview.changes
    assert any(e.column == "身份证号" and "权限" in e.message for e in preview.errors)
    assert "11010119900307451X" not in repr(preview) and "身份证号" not in str(preview.changes)
    with pytest.raises(ValidationFailed):
        tables.save(demo_db, EDITOR, spec, tables.Changes(updates={1: {"id_number": None}}, versions={1: 1}))
    ok = tables.import_frame(demo_db, TREASURER, spec, read, commit=False) if TREASURER.can("members.write") else None
    assert ok is None or not any(e.column == "身份证号" and "权限" in e.message for e in ok.errors)
