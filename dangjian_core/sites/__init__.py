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

Plain data for `registry` (nothing here registers itself): SPECS (the
five editable tables), AUDIT_TABLES (assessments, their lines, plans), DATASETS (示范点),
INDICATORS (none: reports computes 示范点考评得分 itself), seed_demo.

A general rubric has category 'all' (shown as 通用), not NULL as the comment in migration 010
says, so the table editor can show and require it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..contracts import Dataset, DeleteGuard, Indicator
from .charts import SITES_DATASET
from .specs import AUDIT_TABLES, SPECS, refuse_delete_orgs_in_programme

if TYPE_CHECKING:
    from ..db import Cursor
    from ..demo import DemoContext

__all__ = ["AUDIT_TABLES", "DATASETS", "DELETE_GUARDS", "INDICATORS", "SPECS", "seed_demo"]

DATASETS: tuple[Dataset, ...] = (SITES_DATASET,)
# the 述职 indicator 示范点考评（最近一次总分） is computed in reports/indicators.py
INDICATORS: tuple[Indicator, ...] = ()
# an org in the programme (or paired with a site) stays: its assessments and archive are kept
DELETE_GUARDS: tuple[DeleteGuard, ...] = (DeleteGuard("orgs", refuse_delete_orgs_in_programme),)


def seed_demo(cur: Cursor, ctx: DemoContext) -> None:
    """Demo rows for the programme (called through registry.demo_seeders): see demo.py."""
    from .demo import seed

    seed(cur, ctx)
