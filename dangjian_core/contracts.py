"""The small types a subject package hands to the core, so subjects depend on this module and
not on each other (see `registry`): a subject's `__init__.py` exposes

    AUDIT_TABLES: tuple[AuditTable, ...]   # reversible tables that have no TableSpec
    DATASETS: tuple[Dataset, ...]          # chart datasets (简报图表)
    INDICATORS: tuple[Indicator, ...]      # computed 述职 progress indicators
    DELETE_GUARDS: tuple[DeleteGuard, ...] # why rows of another subject's table must stay

Nothing here reads the database or imports a subject.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from .auth import User
    from .db import Cursor, Database

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


# -- history and undo ------------------------------------------------------------------------
@dataclass(frozen=True)
class DeleteGuard:
    """A subject's reason why rows of *another* subject's table may not be deleted (an org that
    is still a 示范点 or an 观摩点): `check(cur, keys)` returns one Chinese sentence per row that
    must stay. Asked by every delete of `table` (editor, import) and by undoing its inserts,
    together with the table's own `TableSpec.delete_checks`."""

    table: str
    check: Callable[[Cursor, list[Any]], list[str]]


@dataclass(frozen=True, kw_only=True)
class AuditTable:
    """A table whose changes 操作记录 lists (and, when `revertible`, undoes) — for tables
    written by workflows; editable tables declare the same through their TableSpec.

    `perm`: needed to undo its changes; `read_perm`: needed to see its history at all (default
    "read"); `sensitive`: column → permission needed to see that column's values (else ***).
    `revertible=False`: listed in the history, never undone (e.g. append-only settings)."""

    table: str
    label: str
    perm: str
    key: str = "id"
    read_perm: str | None = None
    sensitive: Mapping[str, str] = field(default_factory=dict)
    revertible: bool = True


# -- 述职 indicators -------------------------------------------------------------------------
Provider = Callable[["Cursor", date], pl.DataFrame]


@dataclass(frozen=True)
class Indicator:
    """A computed 述职 progress indicator: `provider(cur, as_of)` returns `[unit_id, value]`
    (Int64, Float64) for every unit it knows as of that day, reading only through `cur`; a
    unit left out has no value. `code` matches a row of 指标设置 (report_indicators);
    `source` says in Chinese where the value comes from."""

    code: str
    label: str
    provider: Provider
    source: str = "自动计算"

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise ValueError(f"bad indicator code {self.code!r}")


# -- chart datasets (moved here from charts) ---------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One column of a dataset frame. `order`: the natural order of its (Chinese) values."""

    name: str
    label: str
    kind: str = "nominal"          # nominal | ordinal | quantitative | temporal
    order: list[str] | None = None
    unit: str = ""
    description: str = ""

    @property
    def is_measure(self) -> bool:
        return self.kind == "quantitative"


@dataclass(frozen=True)
class Dataset:
    """A named view over our data. `loader(db, user) -> pl.DataFrame` returns one row per
    counted thing (an org, a member, a payment…) with a column per field, nominal values
    already in Chinese. `tables`: the tables it reads (absent from the list until they all
    exist). `count_label`: what "计数" counts, e.g. 党组织数."""

    code: str
    label: str
    description: str
    fields: list[Field]
    loader: Callable[[Database, User], pl.DataFrame]
    perm: str = "read"
    tables: tuple[str, ...] = ()
    count_label: str = "数量"

    def field(self, name: str | None) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def dimensions(self) -> list[Field]:
        return [f for f in self.fields if not f.is_measure]

    @property
    def measures(self) -> list[Field]:
        return [f for f in self.fields if f.is_measure]
