"""观摩 tier changes are confirmed against the tier the user saw (issue 12 §3): a proposal read
before a colleague changed the tier never overwrites that change."""

from __future__ import annotations

import pytest

from dangjian_core import orgs, tables
from dangjian_core.errors import BadInput
from dangjian_core.observation import scores, store
from tests.conftest import EDITOR


def tier(db, oid):
    with db.read() as cur:
        return cur.execute("SELECT tier FROM orgs WHERE id = ?", [oid]).fetchone()[0]


def test_a_stale_tier_proposal_is_refused_and_a_fresh_one_applies(demo_db):
    eid = int(store.events(demo_db)["id"][0])
    with demo_db.read() as cur:
        oid, version = cur.execute("SELECT id, version FROM orgs WHERE tier = 'advanced' ORDER BY id LIMIT 1").fetchone()
    # the proposal was read while the org was 先进; a colleague sets it to 达标 meanwhile
    tables.save(demo_db, EDITOR, orgs.SPEC, tables.Changes(updates={oid: {"tier": "standard"}}, versions={oid: version}))
    with pytest.raises(BadInput) as e:
        scores.apply_tiers(demo_db, EDITOR, eid, [{"org_id": oid, "tier": "后进", "current": "先进"}])
    assert "已被改为达标" in e.value.errors[0].message
    assert tier(demo_db, oid) == "standard", "the colleague's change stays"
    assert scores.apply_tiers(demo_db, EDITOR, eid, [{"org_id": oid, "tier": "后进", "current": "达标"}]) == 1
    assert tier(demo_db, oid) == "lagging"
