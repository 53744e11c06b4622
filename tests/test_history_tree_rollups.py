"""操作记录 undo and labels, the org tree and level check, the 示范点 chart dataset, the yearly vote
roll-up: one change inside a batch can be undone on its own, unless later changes depend on it;
the history reads in Chinese labels and display values, never code names."""

import json

import polars as pl
import pytest

from dangjian_core import audit, members, orgs, tables  # noqa: F401 — members/orgs register their specs
from dangjian_core.errors import ConflictError
from tests.conftest import ADMIN, EDITOR


def _batch_with_org_and_member(db):
    """One batch that adds an org and a member in it (as an import of both would)."""
    with db.write() as cur:
        batch = audit.new_batch(cur, EDITOR, "import", "新建党支部并录入党员")
        parent = cur.execute("SELECT id, street, category FROM orgs ORDER BY id LIMIT 1").fetchone()
        org_id = cur.execute(
            "INSERT INTO orgs(id, name, level, parent_id, category, street, member_count, tier)"
            " VALUES (nextval('orgs_seq'), '撤销测试党支部', 'branch', ?, ?, ?, 1, 'standard') RETURNING id",
            [parent[0], parent[2], parent[1]]).fetchone()[0]
        audit.record(cur, batch, EDITOR, "orgs", org_id, "insert", None,
                     audit.rows_json(cur, "orgs", "id", [org_id])[str(org_id)])
        member_id = cur.execute(
            "INSERT INTO members(id, member_no, name, org_id, status, dues_category)"
            " VALUES (nextval('members_seq'), 'UNDO0001', '撤销测试', ?, 'full', 'employed') RETURNING id",
            [org_id]).fetchone()[0]
        audit.record(cur, batch, EDITOR, "members", member_id, "insert", None,
                     audit.rows_json(cur, "members", "id", [member_id])[str(member_id)])
    log = audit.list_changes(db, ADMIN, batch_id=batch)
    entry = {t: i for i, t in zip(log["id"], log["table_name"])}
    return batch, org_id, member_id, entry


def test_undoing_one_insert_that_others_depend_on_is_refused_with_the_reason(demo_db):
    batch, org_id, member_id, entry = _batch_with_org_and_member(demo_db)
    with pytest.raises(ConflictError) as exc:
        audit.revert_batch(demo_db, ADMIN, batch, entry_ids=[entry["orgs"]])
    assert "撤销测试党支部" in str(exc.value) and "党员" in str(exc.value)
    with demo_db.read() as cur:
        assert cur.execute("SELECT count(*) FROM orgs WHERE id = ?", [org_id]).fetchone()[0] == 1

    # the member alone can go; then the org has nothing depending on it
    audit.revert_batch(demo_db, ADMIN, batch, entry_ids=[entry["members"]])
    audit.revert_batch(demo_db, ADMIN, batch, entry_ids=[entry["orgs"]])
    with demo_db.read() as cur:
        assert cur.execute("SELECT count(*) FROM orgs WHERE id = ?", [org_id]).fetchone()[0] == 0
        assert cur.execute("SELECT count(*) FROM members WHERE id = ?", [member_id]).fetchone()[0] == 0
    with pytest.raises(ConflictError, match="撤销过"):
        audit.revert_batch(demo_db, ADMIN, batch, entry_ids=[entry["members"]])


def test_undoing_the_whole_batch_removes_the_dependent_rows_first(demo_db):
    batch, org_id, member_id, _ = _batch_with_org_and_member(demo_db)
    audit.revert_batch(demo_db, ADMIN, batch)
    with demo_db.read() as cur:
        assert cur.execute("SELECT count(*) FROM orgs WHERE id = ?", [org_id]).fetchone()[0] == 0


def test_one_update_inside_a_batch_is_undone_alone(demo_db):
    df = tables.load(demo_db, ADMIN, orgs.SPEC).head(2)
    (a, va, na), (b, vb, nb) = df.select("id", "version", "name").rows()
    res = tables.save(demo_db, EDITOR, orgs.SPEC, tables.Changes(
        updates={a: {"name": na + "甲"}, b: {"name": nb + "乙"}}, versions={a: va, b: vb}))
    log = audit.list_changes(demo_db, ADMIN, batch_id=res.batch_id)
    first = next(i for i, k in zip(log["id"], log["row_key"]) if k == str(a))
    audit.revert_batch(demo_db, ADMIN, res.batch_id, entry_ids=[first])
    names = dict(tables.load(demo_db, ADMIN, orgs.SPEC).select("id", "name").rows())
    assert names[a] == na and names[b] == nb + "乙"


def test_history_reads_in_chinese_labels_and_display_values():
    before = json.dumps({"member_count": 10, "level": "general_branch", "secretary": None, "version": 1})
    after = json.dumps({"member_count": 656, "level": "committee", "secretary": "王芳", "version": 2})
    text = audit.describe_change("orgs", "update", before, after)
    assert text == "层级：党总支 → 党委；书记：空 → 王芳；党员人数：10 → 656"
    assert "member_count" not in text and "None" not in text


def test_org_tree_and_levels_that_do_not_fit_their_size_both_ways(demo_db):
    with demo_db.write() as cur:
        ids = [r[0] for r in cur.execute("SELECT id FROM orgs ORDER BY id LIMIT 2").fetchall()]
        cur.execute("UPDATE orgs SET level = 'committee', member_count = 10 WHERE id = ?", [ids[0]])
        cur.execute("UPDATE orgs SET level = 'branch', member_count = 120 WHERE id = ?", [ids[1]])
    m = orgs.level_misfits(demo_db)
    small = m.filter(pl.col("id") == ids[0]).row(0, named=True)
    big = m.filter(pl.col("id") == ids[1]).row(0, named=True)
    assert small["too_small"] and "党委" in small["reason"] and "10" in small["reason"]
    assert not big["too_small"] and "党总支或党委" in big["reason"]
    t = orgs.tree(demo_db)
    assert t.height == tables.load(demo_db, ADMIN, orgs.SPEC).height
    depth = dict(zip(t["id"], t["depth"]))
    pos = {k: i for i, k in enumerate(t["id"])}
    with demo_db.read() as cur:
        for oid, parent in cur.execute("SELECT id, parent_id FROM orgs WHERE parent_id IS NOT NULL").fetchall():
            assert depth[oid] == depth[parent] + 1 and pos[parent] < pos[oid]
    assert not set(t["level_label"]) - {"党委", "党总支", "党支部"}


def test_sites_dataset_for_briefing_charts_speaks_chinese(demo_db):
    from dangjian_core import sites  # noqa: F401 — sites registers the dataset
    from dangjian_core.charts import datasets
    from dangjian_core.sites import rules as R
    from tests.conftest import VIEWER

    assert "sites" in [d.code for d in datasets.available_datasets(demo_db, VIEWER)]
    df = datasets.load_frame(demo_db, VIEWER, "sites")
    assert df.height > 0 and set(df["status"]) <= set(R.STATUSES.values())


def test_vote_roll_up_per_year_sums_every_session(demo_db):
    from dangjian_core.reports import votes

    with demo_db.read() as cur:
        year, = cur.execute("SELECT max(s.year) FROM report_votes v JOIN report_sessions s ON s.id = v.session_id").fetchone()
        sessions = [r[0] for r in cur.execute("SELECT id FROM report_sessions WHERE year = ?", [year]).fetchall()]
    y = votes.year_votes(demo_db, year)
    assert y.height > 0
    unit = y.row(0, named=True)
    per_session = [votes.votes(demo_db, s).filter(pl.col("unit_id") == unit["unit_id"]) for s in sessions]
    assert unit["good"] == sum(int(v["good"][0]) for v in per_session if v.height)
    assert unit["sessions"] == sum(1 for v in per_session if v.height)
    assert unit["rank"] == 1 and y["rank"].is_sorted()
