"""观摩互进 (cross-observation): arrange who visits whom and when, score the hosts after the event.

What is where:
- `model`       the types (`Org`, `Host`, `Delegation`, `Problem`, `Visit`, `Plan`, `Infeasible`) and constants
- `inputs`      orgs input / previous round / slot times → `Problem` (`build_problem`)
- `rules`       pure rules: what fits, `check_plan`, `plan_cost`, `summarise`, `rank_hosts`, `propose_tiers`
- `views`       a plan as tables: the visit list, the slot × delegation grid and back
- `solver`      `solve(problem, locked)`: the method, and the entry point over the phases in
                `solver_state` (index form), `construction` (A–B), `local_search` (A5, C), `travel` (D)
- `bound`       the proven travel lower bound (column generation, scipy/HiGHS)
- `store`       the database side of an event: setup, hosts, the stored plan
- `jobs`        「生成安排」: a draft at once, the full search in a thread, its plan stored once
- `scores`      rubric, scores, ranking and tier changes (database side)
- `exports`     安排表 xlsx / printable page, score sheet xlsx
- `charts`, `indicators`, `demo`   the chart dataset, the 述职 indicator, demo rows

The registry reads AUDIT_TABLES, DATASETS, INDICATORS and DELETE_GUARDS below (plain data;
nothing registers itself at import time).
"""

from ..contracts import AuditTable, DeleteGuard, Indicator
from .charts import SCORES
from .indicators import observation_score_by_org
from .model import PERM, TABLES
from .store import refuse_delete_orgs_in_events

# what the registry reads (plain data; `seed_demo` is in `demo`, listed in registry.SUBJECTS)
AUDIT_TABLES = tuple(AuditTable(table=t, label=label, perm=PERM) for t, label in TABLES.items())
DATASETS = (SCORES,)
INDICATORS = (Indicator("observation_score", "观摩评分", observation_score_by_org, "观摩互进（自动计算）"),)
# an org that hosted an 观摩 stays: the arrangement and its scores are kept
DELETE_GUARDS = (DeleteGuard("orgs", refuse_delete_orgs_in_events),)
