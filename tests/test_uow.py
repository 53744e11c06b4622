"""The unit of work: one action = one permission check = one transaction = one undoable batch."""

import subprocess
import sys
from pathlib import Path

import pytest

from dangjian_core import audit, registry, uow
from dangjian_core.contracts import AuditTable, Dataset, Field, Indicator
from dangjian_core.errors import BadInput, PermissionDenied
from tests.conftest import ADMIN, EDITOR, VIEWER

ROOT = Path(__file__).resolve().parents[1]


def _org(cur, oid, name="甲支部"):
    cur.execute("INSERT INTO orgs(id, name, level, category, street) VALUES (?, ?, 'branch', 'rural', '东湖街道')",
                [oid, name])


def _counts(db):
    with db.read() as cur:
        return (cur.execute("SELECT count(*) FROM audit_batches").fetchone()[0],
                cur.execute("SELECT count(*) FROM audit_log").fetchone()[0],
                cur.execute("SELECT count(*) FROM orgs").fetchone()[0])


def _log(db, batch_id):
    with db.read() as cur:
        return cur.execute("SELECT table_name, row_key, action, CAST(before AS VARCHAR) IS NULL,"
                           " CAST(after AS VARCHAR) IS NULL FROM audit_log WHERE batch_id = ? ORDER BY row_key",
                           [batch_id]).fetchall()


def test_exception_rolls_back_the_writes_and_the_batch(db):
    with pytest.raises(BadInput), uow.action(db, EDITOR, "orgs.write", "t", "新增") as act:
        with act.track("orgs", [1]):
            _org(act.cur, 1)
        assert act.batch_id is not None  # recorded inside, then the action fails
        raise BadInput("不行")
    assert _counts(db) == (0, 0, 0)


def test_track_records_insert_update_and_delete_per_key(db):
    with uow.action(db, EDITOR, "orgs.write", "t", "建两个") as act:
        with act.track("orgs", [1, 2]):
            _org(act.cur, 1)
            _org(act.cur, 2, "乙支部")
    first = act.batch_id
    assert _log(db, first) == [("orgs", "1", "insert", True, False), ("orgs", "2", "insert", True, False)]
    with uow.action(db, EDITOR, "orgs.write", "t", "改一个删一个，一个不动") as act:
        with act.track("orgs", [1, 2, 3]) as tracked:
            act.cur.execute("UPDATE orgs SET name = '甲支部（新）' WHERE id = 1")
            act.cur.execute("DELETE FROM orgs WHERE id = 2")
            _org(act.cur, 9, "丙支部")
            tracked.add([9])
    assert _log(db, act.batch_id) == [("orgs", "1", "update", False, False), ("orgs", "2", "delete", False, True),
                                      ("orgs", "9", "insert", True, False)]
    with db.read() as cur:
        desc = cur.execute("SELECT description, kind, username FROM audit_batches WHERE id = ?", [act.batch_id]).fetchone()
    assert desc == ("改一个删一个，一个不动", "t", "editor")


def test_an_action_that_changes_nothing_leaves_no_batch(db):
    with uow.action(db, EDITOR, "orgs.write", "t", "什么也没改") as act:
        with act.track("orgs", [1]):
            act.cur.execute("UPDATE orgs SET name = 'x' WHERE id = 1")  # no such row
        act.record_many("orgs", audit_entries_empty())
    assert act.batch_id is None
    assert _counts(db) == (0, 0, 0)


def audit_entries_empty():
    import polars as pl

    return pl.DataFrame(schema={"row_key": pl.String, "action": pl.String, "before": pl.String, "after": pl.String})


def test_a_viewer_is_refused_before_anything_is_written(db):
    gen = db.generation
    with pytest.raises(PermissionDenied), uow.action(db, VIEWER, "orgs.write", "t", "偷偷改") as act:
        _org(act.cur, 1)  # never reached
    with pytest.raises(PermissionDenied), uow.action(db, None, "orgs.write", "t", "没登录"):
        pass
    assert _counts(db) == (0, 0, 0)
    assert db.generation == gen  # no transaction was opened


def test_describe_and_explicit_record_then_revert_restores(db):
    with uow.action(db, EDITOR, "orgs.write", "t", "草稿") as act:
        _org(act.cur, 1)
        act.record("orgs", 1, "insert", None, audit.rows_json(act.cur, "orgs", "id", [1])["1"])
        act.describe("新增甲支部")
        with act.track("orgs", [1]):
            act.cur.execute("UPDATE orgs SET name = '甲支部（改）', version = version + 1 WHERE id = 1")
    with uow.action(db, EDITOR, "orgs.write", "t", "再改") as later:
        with later.track("orgs", [1]):
            later.cur.execute("UPDATE orgs SET secretary = '张三', version = version + 1 WHERE id = 1")
    with db.read() as cur:
        assert cur.execute("SELECT description FROM audit_batches WHERE id = ?", [act.batch_id]).fetchone()[0] == "新增甲支部"
    # undo the later batch: the row is as the first action left it, as one new batch
    new_id = audit.revert_batch(db, EDITOR, later.batch_id)
    with db.read() as cur:
        assert cur.execute("SELECT name, secretary FROM orgs WHERE id = 1").fetchone() == ("甲支部（改）", None)
        assert cur.execute("SELECT reverts, kind FROM audit_batches WHERE id = ?", [new_id]).fetchone() == (later.batch_id, "revert")
    audit.revert_batch(db, ADMIN, act.batch_id)
    assert _counts(db)[2] == 0


def test_bookkeeping_is_one_unaudited_transaction(db):
    gen = db.generation
    with uow.bookkeeping(db, invalidates_cache=False) as cur:
        cur.execute("INSERT OR REPLACE INTO app_meta VALUES ('k', 'v')")
    assert db.generation == gen
    with pytest.raises(RuntimeError), uow.bookkeeping(db) as cur:
        cur.execute("INSERT OR REPLACE INTO app_meta VALUES ('k2', 'v')")
        raise RuntimeError
    with db.read() as cur:
        assert cur.execute("SELECT key FROM app_meta WHERE key IN ('k', 'k2')").fetchall() == [("k",)]
    assert _counts(db)[0] == 0


def test_registry_collects_every_subject():
    specs = registry.specs()
    assert {"orgs", "members"} <= set(specs) and registry.spec("orgs") is specs["orgs"]
    assert registry.spec("no_such_table") is None
    assert {"orgs", "sites", "dues_collection", "observation_scores"} <= set(registry.datasets())
    assert all(isinstance(d, Dataset) and all(isinstance(f, Field) for f in d.fields) for d in registry.datasets().values())
    assert {"open_rectifications", "dues_collection_rate"} <= set(registry.indicators())
    assert all(isinstance(i, Indicator) for i in registry.indicators().values())
    assert all(isinstance(t, AuditTable) for t in registry.audit_tables())
    assert list(registry.demo_seeders()) == ["sites", "dues", "reports", "observation", "charts"]
    assert audit.key_column("orgs") == "id" and audit.key_column("users") == "username"
    assert audit.table_labels()["orgs"]


def test_contract_types_refuse_bad_codes():
    with pytest.raises(ValueError):
        Indicator("Bad Code", "x", lambda cur, d: None)


def test_history_takes_in_a_spec_registered_after_first_use(monkeypatch):
    """Building a TableSpec registers nothing; `tables.register` (the explicit way for a spec
    no subject declares) makes it known to the history on its next read."""
    from dangjian_core import tables

    audit.table_labels()  # the registry has been read once already
    spec = tables.TableSpec("zz_later", "后来的表", [tables.Column("name", "名称")], perm="orgs.write")
    books = (audit.KEY_COLUMNS, audit.TABLE_LABELS, audit.WRITE_PERMS, audit.COLUMNS, audit.DELETE_CHECKS, audit._taken)
    try:
        assert not any("zz_later" in d for d in books), "building a spec registered it"
        with pytest.raises(BadInput):
            audit.key_column("zz_later")
        monkeypatch.setitem(tables.SPECS, "zz_later", spec)
        assert audit.key_column("zz_later") == "id" and audit.table_labels()["zz_later"] == "后来的表"
        assert audit.field_label("zz_later", "name") == "名称"
    finally:
        for d in books:
            d.pop("zz_later", None)


def test_importing_every_subject_registers_nothing():
    """No module registers itself at import time: after importing every subject (and the UI's
    core modules) the history knows no table until it reads the registry, and it then knows
    every declared spec with its column labels."""
    code = (
        "from dangjian_core import audit, registry, tables\n"
        "registry.modules()\n"
        "assert not audit.KEY_COLUMNS and not audit.COLUMNS and not audit.WRITE_PERMS, sorted(audit.KEY_COLUMNS)\n"
        "assert not audit.SENSITIVE and not tables.SPECS and audit.TABLE_LABELS == {'users': '用户'}\n"
        "assert set(registry.specs()) <= set(audit.table_labels())\n"
        "assert audit.field_label('orgs', 'parent_id') == '上级党组织'\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_delete_guards_are_plain_data_and_reach_the_org_editor_and_undo(demo_db):
    """sites and observation keep orgs they use through DELETE_GUARDS read by the registry; no
    subject appends to orgs.SPEC at import time any more."""
    from dangjian_core import orgs, registry, tables
    from dangjian_core.errors import ConflictError, ValidationFailed

    registry.modules()
    assert [c.__name__ for c in orgs.SPEC.delete_checks] == ["_refuse_delete_with_members"]
    guards = {c.__name__ for c in registry.delete_checks("orgs")}
    assert guards == {"refuse_delete_orgs_in_programme", "refuse_delete_orgs_in_events"}
    with demo_db.read() as cur:
        site_org = cur.execute("SELECT org_id FROM sites ORDER BY id LIMIT 1").fetchone()[0]
        v = cur.execute("SELECT version FROM orgs WHERE id = ?", [site_org]).fetchone()[0]
    with pytest.raises(ValidationFailed) as e:
        tables.save(demo_db, EDITOR, orgs.SPEC, tables.Changes(deletes=[site_org], versions={site_org: v}))
    assert any("在示范点台账中" in x.message for x in e.value.errors)
    # undoing the insert of an org that has since become a site is refused by the same guard
    done = tables.save(demo_db, EDITOR, orgs.SPEC, tables.Changes(inserts=[{
        "name": "新建测试党支部", "level": "branch", "category": "rural", "street": "东湖街道", "member_count": 5}]))
    with demo_db.read() as cur:
        new_id = cur.execute("SELECT id FROM orgs WHERE name = '新建测试党支部'").fetchone()[0]
    from dangjian_core.sites import store as sites_store
    sites_store.apply_site(demo_db, EDITOR, new_id, 2026)
    with pytest.raises(ConflictError, match="示范点"):
        audit.revert_batch(demo_db, EDITOR, done.batch_id)
