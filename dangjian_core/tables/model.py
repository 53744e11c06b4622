"""The table model: `Column`, `TableSpec` and `Issue`, the change and result types
(`Changes`, `SaveResult`, `RowChange`, `ImportPreview`), shared constants and the spec lookup."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..errors import BadInput, CellError

Row = dict[str, Any]             # one row, column name → value
Refs = dict[str, dict[str, Any]]  # ref column → {"ids", "by_label", "by_id"}
RowNumber = Callable[[Any], Any]  # key → the row number the user sees

KINDS = {"text", "int", "decimal", "float", "date", "bool", "choice", "ref"}
# Exports carry each row's version under this header; an import compares it with the database
# so a file exported before a colleague's save cannot silently undo that save.
VERSION_LABEL = "版本（请勿修改）"


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str = "text"
    required: bool = False
    choices: dict[str, str] | None = None  # code → Chinese label (kind="choice")
    min: float | None = None
    max: float | None = None
    max_len: int | None = 200
    ref: str | None = None                 # referenced table (kind="ref"), by id or by name
    ref_label: str = "name"
    editable: bool = True
    unique: bool = False
    help: str = ""
    sensitive: str | None = None           # permission needed to see the value
    default: object = None
    width: str | None = None
    code: bool = False                     # a code (编号, 身份证号, 电话): text only, never a number
    format: str | None = None              # "id_number": GB 11643 身份证号 with its check digit
    hidden: bool = False                   # a key kept for files and links, never shown in the editor
    aliases: dict[str, str] | None = None  # kind="choice": other spellings (e.g. an earlier label) → code

    def label_of(self, code: Any) -> Any:
        if self.choices and code in self.choices:
            return self.choices[code]
        return code


@dataclass
class Issue:
    """A problem found on a row during table-wide checks (hard errors refuse the save)."""

    key: object            # the row's id (or temporary key for new rows)
    column: str | None     # column code name
    value: object
    message: str
    hard: bool = True


@dataclass
class TableSpec:
    """An editable table. Building one registers nothing: a subject lists its specs in its
    package's `SPECS` tuple, and `registry` / `audit` read them from there when first asked.
    A spec no subject declares (a test's, a script's) is made known with `register(spec)`,
    called inside a function — never at import time."""

    table: str
    label: str
    columns: list[Column]
    perm: str
    key: str = "id"
    natural_key: str | None = "name"
    order_by: str = "id"
    # (cur, after: pl.DataFrame of the whole table after the change, touched: set of keys) → issues
    checks: list[Callable[..., list[Issue]]] = field(default_factory=list)
    # (cur, keys) → list of Chinese reasons why these rows may not be deleted
    delete_checks: list[Callable[..., list[str]]] = field(default_factory=list)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def header_map(self) -> dict[str, str]:
        """Accepted file headers (Chinese label or code name) → code name."""
        m = {self.key: self.key, "编号": self.key, VERSION_LABEL: "version", "version": "version"}
        for c in self.columns:
            m[c.name] = c.name
            m[c.label] = c.name
        return m


SPECS: dict[str, TableSpec] = {}  # specs no subject declares, made known by `register` (tests, scripts)


def register(spec: TableSpec) -> TableSpec:
    """Make a spec that no subject declares in its `SPECS` known to `get_spec`, the history and
    undo (registry.specs() merges these in; audit takes a new spec object in on its next read).
    For tests and scripts, called explicitly inside a function — subjects declare plain data."""
    SPECS[spec.table] = spec
    return spec


def get_spec(table: str) -> TableSpec:
    """The spec of an editable table, from the registry (read here, lazily: registry →
    subjects → tables is the one documented import circle)."""
    from .. import registry

    specs = registry.specs()
    if table not in specs:
        names = "、".join(sorted(specs))
        raise BadInput(f"没有名为「{table}」的数据表；可用：{names}")
    return specs[table]



@dataclass
class Changes:
    """Edits to one table, in display or code form as typed.
    updates: key → {column: raw value}; versions: key → version loaded;
    inserts: list of {column: raw value}; deletes: list of keys;
    row_numbers: key or ("new", i) → the row number the user sees, for messages."""

    updates: dict[Any, Row] = field(default_factory=dict)
    versions: dict[Any, Any] = field(default_factory=dict)
    inserts: list[Row] = field(default_factory=list)
    deletes: list[Any] = field(default_factory=list)
    row_numbers: dict[Any, Any] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.updates or self.inserts or self.deletes)


@dataclass
class SaveResult:
    batch_id: int | None
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    new_keys: list[Any] = field(default_factory=list)
    # key → {column: (old value, new value)} of every updated row (code form)
    diffs: dict[Any, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    versions: dict[Any, Any] = field(default_factory=dict)  # key → version of each updated row before the write

    @property
    def summary(self) -> str:
        return f"新增 {self.inserted} 行，修改 {self.updated} 行，删除 {self.deleted} 行"


_POLARS_TYPES: dict[str, pl.DataType] = {
    "text": pl.String(), "choice": pl.String(), "int": pl.Int64(), "ref": pl.Int64(), "float": pl.Float64(),
    "decimal": pl.Decimal(18, 2), "date": pl.Date(), "bool": pl.Boolean()}


MAX_ERRORS = 50  # errors collected before stopping: "另有更多错误未列出"
MORE_ERRORS = "另有更多错误未列出：请先改正以上错误，再重新检查"


def cap_errors(errors: list[CellError]) -> list[CellError]:
    """At most MAX_ERRORS errors, then one line saying there are more."""
    if len(errors) > MAX_ERRORS:
        return errors[:MAX_ERRORS] + [CellError(None, None, None, MORE_ERRORS)]
    return errors


@dataclass
class RowChange:
    """One row an import would update: which row of the file, which record, and each cell's
    old → new value in display form (Chinese labels, names instead of ids)."""

    row: object
    key: int
    name: str
    cells: list[tuple[str, str, str]]   # (column label, old, new)
    how: str = ""                       # "" matched by 编号 and version; else why to look twice


@dataclass
class ImportPreview:
    inserts: int
    updates: int
    unchanged: int
    errors: list[CellError]
    warnings: list[str]
    committed: bool = False
    batch_id: int | None = None
    sample: pl.DataFrame | None = None
    changes: list[RowChange] = field(default_factory=list)
    # updates of rows whose state at export is unknown (no version in the file): the user
    # must confirm them (`confirm_overwrite=True`) after reading `changes`
    needs_confirmation: bool = False
    # key → version of every row the import would write, as checked: pass it back as
    # `expect_versions` on commit so a save in between is never overwritten
    seen_versions: dict[Any, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def changes_frame(self) -> pl.DataFrame:
        """Every updated cell, old → new, for the preview table."""
        rows = [(str(c.row), str(c.key), c.name, label, old, new, c.how)
                for c in self.changes for label, old, new in c.cells]
        return pl.DataFrame(rows, schema={"行": pl.String, "编号": pl.String, "名称": pl.String,
                                          "列": pl.String, "原值": pl.String, "新值": pl.String,
                                          "说明": pl.String}, orient="row")
