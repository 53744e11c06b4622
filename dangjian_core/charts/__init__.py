"""简报图表: ad-hoc charts for briefings over curated datasets, exported as PNG/SVG/xlsx.

What is where:

- `model` — `ChartSpec` (what the user chose; `validate()` raises `BadInput` in Chinese for a
  combination that cannot be drawn), constants, `check_dataset`, `get_dataset` (by code).
  A dataset (`contracts.Dataset`, `contracts.Field`) is a named view over our data: Chinese
  field labels and kinds, a loader returning a polars frame. Every subject declares its own in
  its package's `DATASETS`; `registry.datasets()` collects them. The chart page never builds SQL
  from what a user types: a user picks a dataset and fields *by code name*; every filter and
  aggregation is done in polars on the loader's frame.
- `datasets` — `all_datasets`, `available_datasets` (permission held and every table present),
  `load_frame`, and the datasets over orgs and members.
- `build` — natural order of Chinese categories, `build_chart` (filter → aggregate → order →
  altair chart plus the aggregated table behind it).
- `style` — the house style (party red first, large type for projectors, a CJK font) and
  `vega_spec`, which merges it under any chart's own config.
- `export` — `export_png` (2× for slides), `export_svg` (offline, vl-convert), `export_xlsx`.
- `store` — saved charts over table `charts` (migration 050), permission `charts.write`,
  audited and revertible like every write.
- `demo` — the four demo saved charts.

Plain data for `registry`: this package's datasets and its reversible table (saved charts).
"""

from ..contracts import AuditTable
from .datasets import MEMBERS, ORGS

DATASETS = (ORGS, MEMBERS)
AUDIT_TABLES = (AuditTable(table="charts", label="简报图表", perm="charts.write"),)
