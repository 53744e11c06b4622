"""The one registry: imports every subject once and collects what each declares as plain data
in its package `__init__.py` — nothing registers itself at import time:

    SPECS: tuple[TableSpec, ...]            editable tables (tables.TableSpec)
    AUDIT_TABLES: tuple[AuditTable, ...]    other reversible tables (contracts)
    DATASETS: tuple[Dataset, ...]           chart datasets (contracts)
    INDICATORS: tuple[Indicator, ...]       computed 述职 indicators (contracts)
    DELETE_GUARDS: tuple[DeleteGuard, ...]  checks on deleting another subject's rows (contracts)
    def seed_demo(cur, ctx) -> None         demo rows (called in the order of SUBJECTS)

Consumers (tables.get_spec, audit, charts, reports, demo) call these functions *inside* their
functions: registry → subjects → core at import time, core → registry only lazily. That is
the one import circle, and it is never taken at import time.

Only tuples are read as plain data (a module-level dict of the same name is not a
declaration). A module listed in SUBJECTS that does not exist is skipped. `tables.SPECS` holds
specs no subject declares (a test's, a script's), made known explicitly with `tables.register`
inside a function; `specs()` merges them in live.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .contracts import AuditTable, Dataset, DeleteGuard, Indicator

if TYPE_CHECKING:
    from .db import Cursor
    from .tables import TableSpec

Seeder = Callable[["Cursor", Any], None]

# subject → its modules, in demo seeding order (the demo's random stream depends on it).
# When a subject moves into its package, drop its old module names here.
SUBJECTS: dict[str, tuple[str, ...]] = {
    "orgs": ("orgs",),
    "members": ("members",),
    "sites": ("sites",),
    "dues": ("dues", "dues.demo"),
    "reports": ("reports",),
    "observation": ("observation", "observation.demo"),
    "charts": ("charts", "charts.demo"),
}


def _import(name: str) -> ModuleType | None:
    full = f"{__package__}.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name == full:
            return None  # moved or not there yet
        raise


@cache
def modules() -> tuple[tuple[str, ModuleType], ...]:
    """(subject, module) for every subject module that exists, imported once per process."""
    out = []
    for subject, names in SUBJECTS.items():
        for name in names:
            module = _import(name)
            if module is not None:
                out.append((subject, module))
    return tuple(out)


def _plain(attr: str) -> list[Any]:
    out: list[Any] = []
    for _, module in modules():
        value = getattr(module, attr, None)
        if isinstance(value, tuple):
            out.extend(value)
    return out


def _legacy(module: str, attr: str) -> dict[str, Any]:
    """An old import-time registry (a dict), while its subject has not moved to plain data."""
    value = getattr(_import(module), attr, None)
    return value if isinstance(value, dict) else {}


# -- what consumers read -----------------------------------------------------------------------
def specs() -> dict[str, TableSpec]:
    """table → TableSpec of every editable table."""
    modules()
    out: dict[str, TableSpec] = dict(_legacy("tables", "SPECS"))  # tables.register (tests, scripts)
    out.update({s.table: s for s in _plain("SPECS")})
    return out


def spec(name: str) -> TableSpec | None:
    return specs().get(name)


@cache
def audit_tables() -> tuple[AuditTable, ...]:
    return tuple(_plain("AUDIT_TABLES"))


def datasets() -> dict[str, Dataset]:
    """code → chart dataset."""
    modules()
    return {d.code: d for d in _plain("DATASETS")}


def indicators() -> dict[str, Indicator]:
    """code → computed 述职 indicator."""
    return {i.code: i for i in _plain("INDICATORS")}


def delete_checks(table: str) -> list[Callable[[Cursor, list[Any]], list[str]]]:
    """The other subjects' checks on deleting rows of `table` (their DELETE_GUARDS)."""
    return [g.check for g in _guards() if g.table == table]


@cache
def _guards() -> tuple[DeleteGuard, ...]:
    return tuple(_plain("DELETE_GUARDS"))


def demo_seeders() -> dict[str, Seeder]:
    """subject → its seed_demo, in seeding order (the first module of a subject that has one)."""
    out: dict[str, Seeder] = {}
    for subject, module in modules():
        fn = getattr(module, "seed_demo", None)
        if callable(fn) and subject not in out:
            out[subject] = fn
    return out
