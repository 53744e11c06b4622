"""示范点台账 (sites): the demonstration-site programme as a workflow.

* Tables: `sites` (one row per round of an org in the programme; status changes only here),
  `site_assessments` + `site_assessment_lines` (scored, one per round and year),
  `site_rubrics` + `site_rubric_items` (考评细则 per year and category, as data),
  `site_events` (创建档案, with attachments under data/attachments/sites/), `site_pairings` (结对),
  `site_plans` + `site_plan_years` (年度计划).

What is where:
  `model.py`        shared constants (permission, limits, rubric categories)
  `rules.py`        the pure rules: vocabulary, state machine, due dates, scoring, pairing (no db)
  `specs.py`        TableSpecs with their checks; audit labels; the delete check on orgs
  `store.py`        reads for pages and briefings; lifecycle actions (申报, 立项, 考评, 计划, 细则)
  `attachments.py`  创建档案 files; `sheets.py` the xlsx score sheet out and back in
  `charts.py`       briefing charts (altair) and the 简报图表 dataset
  `demo.py`         demo rows (`seed_demo`)

A general rubric has category 'all' (shown as 通用), not NULL as the comment in migration 010
says, so the table editor can show and require it.
"""

from __future__ import annotations

from . import charts as _charts  # noqa: F401 — registers the 简报图表 dataset
from . import specs as _specs  # noqa: F401 — registers the table specs and audit labels


def seed_demo(cur, ctx) -> None:
    """Demo rows for the programme (called by demo.build_demo): see demo.py."""
    from .demo import seed

    seed(cur, ctx)
