"""The observation result feeds 述职评议 as the 观摩评分 indicator."""

from datetime import date

from dangjian_core import clock, registry
from dangjian_core.observation import indicators
from tests.conftest import copy_of


def test_observation_scores_feed_the_duty_report_indicator(demo_db_file, tmp_path):
    with copy_of(demo_db_file, tmp_path / "d.duckdb") as db:
        with db.read() as cur:
            got = indicators.observation_score_by_org(cur, clock.today())
            n_hosts_scored = cur.execute(
                "SELECT count(DISTINCT host_org_id) FROM obs_scores").fetchone()[0]
            defined = cur.execute("SELECT count(*) FROM report_indicators WHERE code = 'observation_score'"
                                  ).fetchone()[0]
        assert defined == 1
        assert 0 < got.height <= n_hosts_scored
        assert got["value"].min() >= 0 and got["value"].max() <= 100
        assert "observation_score" in registry.indicators()
        with db.read() as cur:  # before any event: nothing
            assert indicators.observation_score_by_org(cur, date(2000, 1, 1)).height == 0
