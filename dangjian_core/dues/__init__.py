"""党费 (party dues): rules (pure, no database) and the store (DuckDB). Rules: shared/spec/dues.md.

Pure — no database, never import the store modules:

* `model` — categories, constants, `DuesSettings`, results, the dated rule history (`RuleHistory`, `BUILTIN_RULES`);
* `rules` — one member in `Decimal`: `calc_dues`, `parse_money`, `compute_base`, explanations;
* `engine` — whole frames in integer 分 (polars): `money_to_fen`, `parse_dues_input`, `calc_dues_frame`;
* `arrears_rules` — 欠缴 over months: `arrears_detail`, `summarize_arrears`, warning levels, flags;
* `sql` — `dues calc` parquet → parquet in DuckDB alone (no polars import).

Database (each write checks the permission, runs in one transaction and is audited):

* `store` — what the store modules share: permissions, month helpers, scope, a month's inputs, set-based audit;
* `settings` — settings versions in force from a month, the farmer amounts spec;
* `roll` — the monthly 花名册: generate, page, summary, explain, reproduce;
* `payments` — payments by paste / bank file / hand edits / several months at once;
* `voluntary` — 自愿多交党费;
* `payroll` — payroll sheets → bases, ready bases, categories and their histories;
* `arrears` — back-calculation (补交), month ledgers and their fingerprints, statements, warning lists;
* `arrears_cache` — `LedgerCache`: the 欠缴与补交 page's results kept per input (fingerprints of what
  they read, not the generation), a payment re-reading only 实缴, a background thread at city scale;
* `exports` — 花名册 xlsx, bank bill;
* `charts` — aggregates and the 简报图表 datasets; `indicators` — the 述职 indicator;
* `demo` — demo rows (`seed_demo`); domain modules never import it.

Plain data for `registry` (read as attributes of this package): `SPECS` (settings: the farmer
amounts), `AUDIT_TABLES` (store), `DATASETS` (charts), `INDICATORS` (indicators); `seed_demo` is in
`dues.demo` (registry.SUBJECTS lists it). They are loaded on first access, so importing
`dues.sql` (the batch path) never imports polars or the store.
"""

from __future__ import annotations

import importlib
from typing import Any

_PLAIN = {"SPECS": "settings", "AUDIT_TABLES": "store", "DATASETS": "charts", "INDICATORS": "indicators"}


def __getattr__(name: str) -> Any:
    if name in _PLAIN:
        return getattr(importlib.import_module(f"{__name__}.{_PLAIN[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
