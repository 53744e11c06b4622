"""Reading tables: rows in code form (`load`, `query`), labels for display, the export frame,
a column's distinct values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from ..auth import User, require
from .model import VERSION_LABEL, Column, TableSpec
from .parse import load_refs

if TYPE_CHECKING:
    from ..db import Database

# -- reading -------------------------------------------------------------------------------
def _columns_sql(spec: TableSpec, user: User | None) -> str:
    parts = [f'"{spec.key}"']
    for c in spec.columns:
        if c.sensitive and (user is None or not user.can(c.sensitive)):
            parts.append(f'NULL AS "{c.name}"')
        else:
            parts.append(f'"{c.name}"')
    parts += ['"version"', '"updated_at"', '"updated_by"']
    return ", ".join(parts)


def load(db: Database, user: User, spec: TableSpec, *, where: str = "", params: list[Any] | None = None,
         limit: int | None = None, offset: int = 0) -> pl.DataFrame:
    """Rows in code form (with key, version). Sensitive columns are blank for roles that may
    not see them. `where` is a fixed SQL fragment from the core, never user text."""
    require(user, "read")
    sql = f'SELECT {_columns_sql(spec, user)} FROM "{spec.table}"'
    if where:
        sql += f" WHERE {where}"
    sql += f' ORDER BY {spec.order_by}'
    if limit:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    with db.read() as cur:
        df: pl.DataFrame = cur.sql(sql, params=params or None).pl()
    return df


def display_frame(db: Database, spec: TableSpec, df: pl.DataFrame, *, exact_money: bool = False) -> pl.DataFrame:
    """Replace codes by Chinese labels and references by names, for showing and editing.
    Money (decimal columns) becomes a float for the grid widget, whose cells are JavaScript
    numbers (an edited cell is read back exactly by `parse_value`); `exact_money=True` keeps
    the exact Decimal — every file we write (`export_frame`)."""
    with db.read() as cur:
        refs = load_refs(cur, spec)
    exprs = []
    for c in spec.columns:
        if c.name not in df.columns:
            continue
        if c.kind == "choice" and c.choices:
            exprs.append(pl.col(c.name).replace_strict(c.choices, default=pl.col(c.name),
                                                       return_dtype=pl.String).alias(c.name))
        elif c.kind == "ref":
            by_id = {int(k): str(v) for k, v in refs[c.name]["by_id"].items()}
            exprs.append(pl.col(c.name).cast(pl.Int64).replace_strict(
                by_id, default=None, return_dtype=pl.String).alias(c.name))
        elif c.kind == "decimal" and not exact_money:
            exprs.append(pl.col(c.name).cast(pl.Float64).alias(c.name))
    return df.with_columns(exprs) if exprs else df


def export_frame(db: Database, user: User, spec: TableSpec) -> pl.DataFrame:
    """The table with Chinese headers and labels, ready for xlsx; import takes it back. The
    last column, `VERSION_LABEL`, is each row's version: an import of this file will not undo
    a change saved after the export. Money stays an exact Decimal (written as its own digits:
    1234567.89, never a float's 1234567.8899999999)."""
    df = load(db, user, spec)
    disp = display_frame(db, spec, df, exact_money=True)
    cols = [pl.col(spec.key).alias("编号")]
    for c in spec.columns:
        if c.sensitive and not user.can(c.sensitive):
            continue
        cols.append(pl.col(c.name).alias(c.label))
    cols.append(pl.col("version").cast(pl.Int64).alias(VERSION_LABEL))
    return disp.select(cols)


def search_columns(spec: TableSpec) -> list[Column]:
    """The columns a search text is looked for in (text columns a reader may see)."""
    return [c for c in spec.columns if c.kind == "text" and not c.sensitive and not c.hidden]


def distinct_values(db: Database, spec: TableSpec, column: str) -> list[Any]:
    """The values a column holds (no blanks), sorted: the choices of a filter box. `column`
    must be one of the spec's columns (never user text in SQL)."""
    col = spec.column(column)
    with db.read() as cur:
        return [r[0] for r in cur.execute(
            f'SELECT DISTINCT "{col.name}" FROM "{spec.table}" WHERE "{col.name}" IS NOT NULL ORDER BY 1'
        ).fetchall()]


def query(db: Database, user: User, spec: TableSpec, *, search: str | None = None,
          filters: dict[str, object] | None = None, offset: int = 0,
          limit: int | None = 500) -> tuple[pl.DataFrame, int]:
    """One page of rows matching a search text (over text columns) and equality filters on
    choice/ref columns. User text only ever travels as a bound parameter."""
    where: list[str] = []
    params: list[Any] = []
    if search and search.strip():
        text_cols = [c.name for c in search_columns(spec)]
        if text_cols:
            where.append("(" + " OR ".join(f'"{c}" ILIKE ?' for c in text_cols) + ")")
            params += [f"%{search.strip()}%"] * len(text_cols)
    for name, value in (filters or {}).items():
        if value is None or value == "":
            continue
        col = spec.column(name)  # KeyError for unknown columns: never interpolate user text
        if isinstance(value, (list, tuple, set)):
            if not value:
                continue
            where.append(f'"{col.name}" IN (SELECT unnest(?))')
            params.append(list(value))
        else:
            where.append(f'"{col.name}" = ?')
            params.append(value)
    clause = " AND ".join(where)
    with db.read() as cur:
        total = cur.execute(f'SELECT count(*) FROM "{spec.table}"' + (f" WHERE {clause}" if clause else ""),
                            params).fetchone()[0]
    df = load(db, user, spec, where=clause, params=params, limit=limit, offset=offset)
    return df, total
