"""述职评议 (duty reports) and 整改跟踪 (rectifications). Units are orgs (`unit_id` = `orgs.id`);
the tables are those of migration 030.

What is where:
* `model` — constants (PERM, KINDS, LEVEL_NAMES, …), months/periods, small shared checks.
* `rules` — the pure rules, no database: score formula, ranking and picking, vote tally,
  escalation timing, effect.
* `specs` — TableSpecs (settings, indicators, indicator values, sessions, rectification items)
  and the settings row.
* `indicators` — where indicator values come from (providers, entered values), the progress
  score of every unit (`compute_scores`), the import of entered values.
* `sessions` — the year's sessions; `picks` — the rule's ranking, the list, publishing;
  `votes` — appraisal votes and the 测评表; `notices` — printable notices;
  `rectifications` — the rectification chain and the overdue board; `effect` — did reporting help.
* `charts` — datasets for 简报图表; `demo` — `seed_demo` (domain modules never import it).

Plain data for `registry`: `SPECS`, `AUDIT_TABLES`, `DATASETS`, `INDICATORS`, `seed_demo`.

Every write checks `reports.write` and is recorded in one audit batch in the same
transaction (操作记录 can revert it). Messages are Chinese and say what to fix.
"""

from __future__ import annotations

from .charts import DATASETS
from .demo import seed_demo
from .indicators import INDICATORS
from .specs import AUDIT_TABLES, SPECS

__all__ = ["AUDIT_TABLES", "DATASETS", "INDICATORS", "SPECS", "seed_demo"]
