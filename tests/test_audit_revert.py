"""revert_batch is set-based (the conflict check and the restore are SQL over the whole batch):
random batches of edits, inserts and deletes come back exactly, a partial revert by entry ids
undoes only those entries, and a row changed after the batch makes it refuse, naming the row,
with nothing written."""

import itertools

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangjian_core import audit, tables
from dangjian_core.errors import ConflictError
from tests.conftest import EDITOR

ORGS = tables.get_spec("orgs")

_PLAN = st.fixed_dictionaries({
    "edits": st.lists(st.tuples(st.integers(0, 10**6),
                                st.one_of(st.none(), st.text("甲乙丙丁abc 1", min_size=1, max_size=5)),
                                st.one_of(st.none(), st.integers(3, 500))), min_size=1, max_size=6),
    "deletes": st.integers(0, 3), "inserts": st.integers(0, 3),
    "mode": st.sampled_from(["whole", "partial", "conflict"]),
    "pick": st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
})
_N = itertools.count()


def _content(db):
    with db.read() as cur:
        return cur.sql("SELECT * EXCLUDE (version, updated_at, updated_by) FROM orgs ORDER BY id").pl()


def _log_height(db):
    with db.read() as cur:
        return cur.execute("SELECT count(*) FROM audit_log").fetchone()[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=_PLAN)
def test_random_batch_reverts_exactly_or_is_refused_naming_the_changed_row(demo_db, plan):
    """One database for all examples (a revert leaves it as it was; the plan is drawn apart
    from its state and mapped onto its rows, so no example copies a database)."""
    db, n = demo_db, next(_N)
    street = tables.load(db, EDITOR, ORGS)["street"][0]
    # leaf orgs nobody depends on, so the batch may delete them
    if plan["deletes"]:
        tables.save(db, EDITOR, ORGS, tables.Changes(inserts=[
            {"name": f"备用支部{n}-{i}", "level": "党支部", "category": "农村", "street": street,
             "member_count": "3"} for i in range(plan["deletes"])]))
    df = tables.load(db, EDITOR, ORGS)
    spare_ids = df.filter(pl.col("name").str.starts_with(f"备用支部{n}-"))["id"].to_list()
    others = df.filter(~pl.col("name").str.contains("支部[0-9]")).sort("id").to_dicts()
    edited = {}
    for i, sec, count in plan["edits"]:
        r = others[i % len(others)]
        change = {"secretary": sec, "member_count": None if count is None else str(count)}
        edited[r["id"]] = (r, {k: v for k, v in change.items() if v is not None} or {"secretary": f"秘{n}"})
    inserts = [{"name": f"新支部{n}-{i}", "level": "党支部", "category": "农村", "street": street,
                "member_count": str(3 + i)} for i in range(plan["inserts"])]
    before = _content(db)
    batch = tables.save(db, EDITOR, ORGS, tables.Changes(
        updates={k: c for k, (_, c) in edited.items()}, versions={k: r["version"] for k, (r, _) in edited.items()},
        deletes=spare_ids, inserts=inserts))
    after = _content(db)
    with db.read() as cur:
        entries = cur.execute("SELECT id, row_key, action FROM audit_log WHERE batch_id = ? ORDER BY id",
                              [batch.batch_id]).fetchall()
    assert len(entries) <= len(edited) + len(spare_ids) + len(inserts)
    if not entries:  # every edit set a value the row already had: nothing to revert
        assert after.equals(before)
        return

    if plan["mode"] == "conflict":  # someone changes one row of the batch afterwards: refused, nothing written
        alive = [e for e in entries if e[2] != "delete"]
        if alive:
            target = alive[plan["pick"][0] % len(alive)]
            row = tables.load(db, EDITOR, ORGS).filter(pl.col("id") == int(target[1])).row(0, named=True)
            tables.save(db, EDITOR, ORGS, tables.Changes(updates={row["id"]: {"secretary": f"后来改的{n}"}},
                                                        versions={row["id"]: row["version"]}))
            changed, n_log = _content(db), _log_height(db)
            with pytest.raises(ConflictError, match=f"第 {target[1]} 条记录在这次修改之后又被改过") as e:
                audit.revert_batch(db, EDITOR, batch.batch_id)
            assert str(e.value).count("又被改过") == 1  # only that row is named
            assert _content(db).equals(changed) and _log_height(db) == n_log
            return
    if plan["mode"] == "partial":
        chosen = sorted({entries[i % len(entries)] for i in plan["pick"]})
        new_id = audit.revert_batch(db, EDITOR, batch.batch_id, entry_ids=[e[0] for e in chosen])
        undone = {int(e[1]) for e in chosen}
        expect = pl.concat([before.filter(pl.col("id").is_in(undone)),
                            after.filter(~pl.col("id").is_in(undone))]).sort("id")
        assert _content(db).equals(expect)
    else:
        new_id = audit.revert_batch(db, EDITOR, batch.batch_id)
        assert _content(db).equals(before)
        chosen = entries
    log = audit.list_changes(db, EDITOR, batch_id=new_id)
    undo = {"insert": "delete", "update": "update", "delete": "insert"}
    assert sorted(zip(log["row_key"], log["action"])) == sorted((k, undo[a]) for _, k, a in chosen)
    with pytest.raises(ConflictError, match="已经撤销过"):
        audit.revert_batch(db, EDITOR, batch.batch_id, entry_ids=[chosen[0][0]])
