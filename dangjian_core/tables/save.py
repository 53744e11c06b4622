"""The write path of the editor: validate the table as it would be after a change and write
it with its audit entries as one unit of work (`save`; `_apply` is shared with imports).

Every write here is a `uow.action`: permission, one transaction, one audit batch (created on the
first entry, so a save that changes nothing leaves none). Validation reads only the rows a
change names (and the whole table only for a spec's table-wide `checks`): a one-cell save in a
100,000-row table compares one row, and uniqueness is checked in SQL against the touched values."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import polars as pl

from .. import audit, clock, uow
from ..auth import User, require
from ..errors import CellError, ConflictError, ValidationFailed, row_words
from .model import _POLARS_TYPES, MAX_ERRORS, Changes, Row, RowNumber, SaveResult, TableSpec, cap_errors
from .parse import _blank, _norm, _parse_rows, hidden_column_errors, load_refs


def new_row_label(i: int) -> str:
    """How a message names the i-th (from 0) new row when the caller gave no row numbers."""
    return f"新增第{i + 1}行"

if TYPE_CHECKING:
    from ..db import Cursor, Database

def _full_table(cur: Cursor, spec: TableSpec) -> pl.DataFrame:
    cols = ", ".join(f'"{c}"' for c in [spec.key, *spec.names, "version"])
    df: pl.DataFrame = cur.sql(f'SELECT {cols} FROM "{spec.table}"').pl()
    return df


def _rows_of(cur: Cursor, spec: TableSpec, keys: list[Any]) -> pl.DataFrame:
    """The rows with these keys (key, spec columns, version) — what `_full_table` reads, for
    the touched rows only. A key that is not a whole number names no row."""
    ints = []
    for k in keys:
        try:
            ints.append(int(k))
        except (TypeError, ValueError):
            continue
    cols = ", ".join(f'"{c}"' for c in [spec.key, *spec.names, "version"])
    with register_keys(cur, "touched_keys", ints):
        df: pl.DataFrame = cur.sql(
            f'SELECT {cols} FROM "{spec.table}" WHERE "{spec.key}" IN (SELECT k FROM touched_keys)').pl()
    return df


@contextmanager
def register_keys(cur: Cursor, name: str, keys: Iterable[Any]) -> Iterator[None]:
    """Integer keys as the one-column frame `name(k)` while the block runs, for
    `… IN (SELECT k FROM name)`."""
    with cur.registered(name, pl.DataFrame({"k": [int(k) for k in keys]}, schema={"k": pl.Int64})):
        yield


def new_keys(cur: Cursor, table: str, touched: set[Any]) -> set[Any]:
    """Which of the touched keys are rows being added (not yet in `table`) — for checks that
    treat new rows differently (a status that may only be set on creation, and the like)."""
    if not touched:
        return set()
    with register_keys(cur, "chk_keys", touched):
        have = {r[0] for r in cur.execute(f'SELECT id FROM "{table}" WHERE id IN (SELECT k FROM chk_keys)').fetchall()}
    return set(touched) - have


def allocate_keys(cur: Cursor, spec: TableSpec, n: int) -> list[int]:
    """n new keys of `spec.table`, one rising run: the first drawn, the sequence moved past the
    rest (every write holds the write lock: nobody else draws in between)."""
    if n <= 0:
        return []
    seq = f"{spec.table}_seq"
    first = int(cur.execute(f"SELECT nextval('{seq}')").fetchone()[0])
    if n > 1:
        cur.execute(f"SELECT setval('{seq}', ?)", [first + n - 1])
    return list(range(first, first + n))


def _apply(cur: Cursor, spec: TableSpec, *, parsed_updates: dict[Any, Row], parsed_inserts: list[Row],
           new_keys: list[Any], deletes: list[Any], versions: dict[Any, Any], row_number: RowNumber,
           act: uow.Action | None, check_versions: bool = True, pre_errors: list[CellError] | None = None,
           insert_frame: pl.DataFrame | None = None, current: pl.DataFrame | None = None) -> SaveResult:
    """Validate the table as it would be after the change and, given the unit of work `act`,
    write it there (the batch's entries recorded with it). Raises ValidationFailed /
    ConflictError with nothing written. `act=None` validates only (an import's dry run, on a
    read cursor outside the write lock). New rows come as `parsed_inserts` (dicts, from the
    editor) or as `insert_frame` (typed columns, from an import): either way they are checked
    and written as one frame. `current`: the whole table, when the caller read it already (an
    import, in the same transaction); otherwise only the rows the change names are read."""
    assert act is None or act.cur is cur
    key = spec.key
    # only the rows this change names come into Python
    named = list(dict.fromkeys([*parsed_updates, *deletes]))
    if current is None and spec.checks:  # the table-wide checks judge the whole table: read it once
        current = _full_table(cur, spec)
    if not named:
        cur_rows = {}
    else:
        named_rows = current.filter(pl.col(key).is_in(named)) if current is not None else _rows_of(cur, spec, named)
        cur_rows = {r[key]: r for r in named_rows.to_dicts()}
    errors: list[CellError] = list(pre_errors or [])
    bad_cells = {(e.row, e.column) for e in errors}

    # 1. optimistic locking
    if check_versions:
        stale = []
        for k in list(parsed_updates) + list(deletes):
            if k not in cur_rows:
                stale.append(f"{row_words(row_number(k))}已被其他人删除")
            elif versions.get(k) is not None and int(versions[k]) != int(cur_rows[k]["version"]):
                who = cur.execute(f'SELECT updated_by, updated_at FROM "{spec.table}" WHERE "{key}" = ?',
                                  [k]).fetchone()
                when = who[1].strftime("%H:%M") if who and who[1] else ""
                stale.append(f"{row_words(row_number(k))}「{cur_rows[k].get('name', k)}」已被 "
                             f"{who[0] if who else '其他人'} 在 {when} 修改")
        if stale:
            raise ConflictError("保存冲突：" + "；".join(stale[:10]) +
                                "。您的修改没有保存，请点「刷新」载入最新数据后再改。")

    # 2. the rows after the change (touched rows only, as dicts)
    deleted = set(deletes)
    after_rows: dict[Any, Row] = {}
    changed_updates = {}
    for k, vals in parsed_updates.items():
        if k not in cur_rows or k in deleted:
            continue
        merged = dict(cur_rows[k])
        diff = {c: v for c, v in vals.items() if _norm(merged.get(c)) != _norm(v)}
        if diff:
            merged.update(diff)
            after_rows[k] = merged
            changed_updates[k] = diff
    # new rows: one typed frame (defaults where blank), never a dict per row
    ins = _insert_frame(spec, insert_frame if insert_frame is not None else parsed_inserts, new_keys)
    touched = set(changed_updates) | set(new_keys)

    # 3. column rules on touched rows
    for k in changed_updates:
        row = after_rows[k]
        for c in spec.columns:
            v = row.get(c.name)
            if c.required and (v is None or (isinstance(v, str) and not v.strip())) \
                    and (row_number(k), c.label) not in bad_cells:
                errors.append(CellError(row_number(k), c.label, None, "必填，不能为空"))
    for c in spec.columns if ins.height else []:
        if not c.required:
            continue
        col = pl.col(c.name)
        empty = col.is_null() | (col.str.strip_chars() == "") if ins.schema[c.name] == pl.String else col.is_null()
        for k in ins.filter(empty)[key].to_list():
            if (row_number(k), c.label) not in bad_cells:
                errors.append(CellError(row_number(k), c.label, None, "必填，不能为空"))
    if touched:
        errors += _unique_errors(cur, spec, after_rows, changed_updates, ins, deleted, row_number, current)
    # 4. table-wide checks (cycles, levels, references that need the whole table)
    warnings: list[str] = []
    if spec.checks and (touched or deletes):
        assert current is not None
        after_df = _after_frame(spec, current, after_rows, changed_updates, ins, deleted)
        for check in spec.checks:
            for issue in check(cur, after_df, touched, set(deletes)):
                col_label = spec.column(issue.column).label if issue.column else None
                if (row_number(issue.key), col_label) in bad_cells:
                    continue  # the cell could not be read: its own error says so, once
                if issue.hard:
                    errors.append(CellError(row_number(issue.key), col_label, issue.value, issue.message))
                else:
                    where = row_words(row_number(issue.key)) if issue.key is not None else ""
                    warnings.append(f"{where}{'「' + col_label + '」' if col_label else ''}：{issue.message}")
    if deletes:
        from .. import registry  # lazily: the registry imports the subjects, which build on tables

        for dc in [*spec.delete_checks, *registry.delete_checks(spec.table)]:
            for reason in dc(cur, list(deletes)):
                errors.append(CellError(None, None, None, reason))
    if errors:
        errors.sort(key=lambda e: (e.row if isinstance(e.row, int) else 0))
        count = f"有 {len(errors)} 处错误" if len(errors) <= MAX_ERRORS else f"有 {MAX_ERRORS} 处以上错误"
        raise ValidationFailed(f"{count}，没有保存任何修改。请改正后再保存：", cap_errors(errors))

    diffs = {k: {c: (cur_rows[k].get(c), v) for c, v in d.items()} for k, d in changed_updates.items()}
    seen = {k: cur_rows[k]["version"] for k in changed_updates}
    if not (changed_updates or new_keys or deletes) or act is None:
        return SaveResult(None, inserted=len(new_keys), updated=len(changed_updates), deleted=len(deletes),
                          unchanged=len(parsed_updates) - len(changed_updates), warnings=warnings,
                          new_keys=new_keys, diffs=diffs, versions=seen)
    _write(act, spec, changed_updates, ins, new_keys, deletes)
    return SaveResult(act.batch_id, inserted=len(new_keys), updated=len(changed_updates),
                      deleted=len(deletes), warnings=warnings, new_keys=new_keys,
                      unchanged=len(parsed_updates) - len(changed_updates), diffs=diffs, versions=seen)


def _unique_errors(cur: Cursor, spec: TableSpec, after_rows: dict[Any, Row], changed: dict[Any, Row],
                   ins: pl.DataFrame, deleted: set[Any], row_number: RowNumber,
                   current: pl.DataFrame | None) -> list[CellError]:
    """Each touched row (changed or new) whose value in a `unique` column another row holds
    after the change — compared with the touched rows and with the rows of the table that hold
    one of the touched values: found in `current` when the whole table was read anyway, else in
    SQL (never the whole table into Python for this)."""
    key = spec.key
    errors: list[CellError] = []
    for c in (c for c in spec.columns if c.unique):
        parts = []
        if changed:
            parts.append(_typed_frame(spec, [after_rows[k] for k in changed], [key, c.name])
                         .with_columns(pl.lit(0).alias("__new"), pl.col(key).alias("__pos")))
        if ins.height:  # new rows stay in their order (a dry run numbers them -1, -2, …)
            parts.append(ins.select(pl.col(key).cast(pl.Int64), pl.col(c.name).cast(_POLARS_TYPES[c.kind]))
                         .with_columns(pl.lit(1).alias("__new"), pl.int_range(pl.len(), dtype=pl.Int64).alias("__pos")))
        mine = pl.concat(parts).filter(pl.col(c.name).is_not_null())
        if mine.height == 0:
            continue
        skip = [int(k) for k in [*changed, *deleted]]
        if current is not None:
            theirs = current.select(key, c.name).filter(
                pl.col(c.name).is_in(mine[c.name].cast(current.schema[c.name], strict=False).implode())
                & ~pl.col(key).is_in(skip))
        else:
            with (cur.registered("uq_values", mine.select(pl.col(c.name).alias("v")).unique()),
                  register_keys(cur, "uq_skip", skip)):
                theirs = cur.sql(
                    f'SELECT "{key}", "{c.name}" FROM "{spec.table}" WHERE "{c.name}" IN (SELECT v FROM uq_values)'
                    f' AND "{key}" NOT IN (SELECT k FROM uq_skip)').pl()
        # the rows holding these values after the change, in the table's order (new rows last)
        held = pl.concat([theirs.select(pl.col(key).cast(pl.Int64), pl.col(c.name).cast(mine.schema[c.name]),
                                        pl.lit(0).alias("__new"), pl.col(key).cast(pl.Int64).alias("__pos")),
                          mine], how="vertical_relaxed")
        dup = held.sort("__new", "__pos", maintain_order=True).filter(pl.col(c.name).is_duplicated())
        if dup.height == 0:
            continue
        groups: dict[Any, list[Any]] = {}
        for k, v in zip(dup[key].to_list(), dup[c.name].to_list()):
            groups.setdefault(v, []).append(k)
        mine_keys = set(mine[key].to_list())
        for k, v in zip(dup[key].to_list(), dup[c.name].to_list()):
            if k in mine_keys:
                others = [row_number(o) for o in groups[v] if o != k]
                errors.append(CellError(row_number(k), c.label, v, f"与{row_words(others[0])}重复，{c.label}不能重复"))
    return errors


def _write(act: uow.Action, spec: TableSpec, changed_updates: dict[Any, Row], ins: pl.DataFrame,
           new_keys: list[Any], deletes: list[Any]) -> None:
    """Write the change set-based in the action's transaction and record every row in its
    batch: inserts first, then deletes, then updates (undo runs newest first, so rows that
    refer to a new row are set back before that row goes)."""
    cur, key, now, username = act.cur, spec.key, clock.now(), act.user.username
    entries: list[tuple[str, str, str | None, str | None]] = []
    if deletes:
        before = audit.rows_json(cur, spec.table, key, deletes)
        with register_keys(cur, "del_keys", deletes):
            cur.execute(f'DELETE FROM "{spec.table}" WHERE "{key}" IN (SELECT k FROM del_keys)')
        entries += [(str(k), "delete", before.get(str(k)), None) for k in deletes]
    if changed_updates:
        before = audit.rows_json(cur, spec.table, key, list(changed_updates))
        by_cols: dict[tuple[str, ...], list[Any]] = {}
        for k, diff in changed_updates.items():
            by_cols.setdefault(tuple(sorted(diff)), []).append(k)
        for upd_cols, ks in by_cols.items():
            frame = _typed_frame(spec, [{key: k, **changed_updates[k]} for k in ks], [key, *upd_cols])
            sets = ", ".join(f'"{c}" = f."{c}"' for c in upd_cols)
            with cur.registered("upd_frame", frame):
                cur.execute(f'UPDATE "{spec.table}" AS t SET {sets}, version = t.version + 1,'
                            f' updated_at = ?, updated_by = ? FROM upd_frame f WHERE t."{key}" = f."{key}"',
                            [now, username])
        after = audit.rows_json(cur, spec.table, key, list(changed_updates))
        entries += [(str(k), "update", before.get(str(k)), after.get(str(k))) for k in changed_updates]
    if new_keys:
        cols = [key, *spec.names]
        collist = ", ".join(f'"{c}"' for c in cols)
        with cur.registered("ins_frame", ins.select(cols)):
            cur.execute(f'INSERT INTO "{spec.table}" ({collist}, version, updated_at, updated_by)'
                        f' SELECT {collist}, 1, ?, ? FROM ins_frame', [now, username])
        with register_keys(cur, "new_keys", new_keys):
            act.record_inserted(spec.table, key, "new_keys")
    if entries:
        act.record_many(spec.table, pl.DataFrame(
            entries, schema={"row_key": pl.String, "action": pl.String, "before": pl.String,
                             "after": pl.String}, orient="row"))


def _insert_frame(spec: TableSpec, rows: list[Row] | pl.DataFrame, new_keys: list[Any]) -> pl.DataFrame:
    """New rows as one typed frame with every column (key, spec columns, version 1): a blank
    cell takes the column's default (a callable default is called once per such row)."""
    if isinstance(rows, pl.DataFrame):
        given = rows
    else:
        names = list(dict.fromkeys(n for r in rows for n in r))
        given = _typed_frame(spec, list(rows), names) if rows else pl.DataFrame()
    n = len(new_keys)
    exprs: list[pl.Series] = [pl.Series(spec.key, list(new_keys), dtype=pl.Int64)]
    for c in spec.columns:
        dtype = _POLARS_TYPES[c.kind]
        s = (given[c.name].cast(dtype) if c.name in given.columns
             else pl.Series(c.name, [None] * n, dtype=dtype))
        if c.default is not None and s.null_count():
            if callable(c.default):
                s = pl.Series(c.name, [c.default() if v is None else v for v in s.to_list()], dtype=dtype)
            else:
                s = s.fill_null(pl.lit(c.default, dtype=dtype))
        exprs.append(s.alias(c.name))
    exprs.append(pl.Series("version", [1] * n, dtype=pl.Int64))
    return pl.DataFrame(exprs)


def _after_frame(spec: TableSpec, current: pl.DataFrame, after_rows: dict[Any, Row], changed: dict[Any, Row],
                 ins: pl.DataFrame, deleted: set[Any]) -> pl.DataFrame:
    """The whole table as it would be after the change, as a frame in the table's order:
    deleted rows out, changed rows replaced in place, new rows at the end."""
    key, cols = spec.key, list(current.columns)
    out = current.filter(~pl.col(key).is_in(list(deleted))) if deleted else current

    def frame(keys: list[Any]) -> pl.DataFrame:
        f = _typed_frame(spec, [after_rows[k] for k in keys], [c for c in cols if c != "version"])
        f = f.with_columns(pl.Series("version", [after_rows[k].get("version") for k in keys], dtype=pl.Int64))
        return f.select(cols).cast(current.schema, strict=False)

    if changed:
        upd = frame(list(changed))
        out = out.join(upd.with_columns(pl.lit(True).alias("__hit")), on=key, how="left",
                       suffix="__new", maintain_order="left")
        out = out.with_columns([pl.when(pl.col("__hit")).then(pl.col(c + "__new")).otherwise(pl.col(c)).alias(c)
                                for c in cols if c != key]).select(cols)
    if ins.height:
        out = pl.concat([out, ins.select(cols).cast(current.schema, strict=False)], how="vertical_relaxed")
    return out


def _typed_frame(spec: TableSpec, rows: list[Row], cols: list[str]) -> pl.DataFrame:
    schema = {}
    for c in cols:
        schema[c] = pl.Int64 if c == spec.key else _POLARS_TYPES[spec.column(c).kind]
    return pl.DataFrame([{c: r.get(c) for c in cols} for r in rows], schema=schema, orient="row")


def save(db: Database, user: User, spec: TableSpec, changes: Changes, *, kind: str = "edit",
         description: str | None = None) -> SaveResult:
    """Save edits from the table editor as one unit of work (all or nothing, one batch)."""
    require(user, spec.perm)
    if changes.is_empty():
        return SaveResult(None)
    touched = {n for r in changes.updates.values() for n in r}
    touched |= {n for r in changes.inserts for n, v in r.items() if not _blank(v)}
    if hidden := hidden_column_errors(spec, user, touched, None):
        raise ValidationFailed("没有保存任何修改：", hidden)

    def row_number(k: Any) -> Any:
        """The row the user sees: the caller's number, else the id — a new row without one is
        「新增第N行」 (the N-th of `changes.inserts`)."""
        if k in changes.row_numbers:
            return changes.row_numbers[k]
        return new_row_label(k[1]) if isinstance(k, tuple) and k[:1] == ("new",) else k

    with uow.action(db, user, spec.perm, kind, description or f"编辑{spec.label}") as act:
        cur = act.cur
        refs = load_refs(cur, spec)
        upd, e1 = _parse_rows(spec, changes.updates.items(), refs, row_number)
        ins_raw = [(("new", i), r) for i, r in enumerate(changes.inserts)]
        ins, e2 = _parse_rows(spec, ins_raw, refs, row_number)
        if len(e1) + len(e2) > MAX_ERRORS:
            raise ValidationFailed(f"有 {MAX_ERRORS} 处以上错误，没有保存任何修改。请改正后再保存：",
                                   cap_errors(e1 + e2))
        inserts = [ins[("new", i)] for i in range(len(changes.inserts))]
        new_keys = allocate_keys(cur, spec, len(inserts))
        numbers = {nk: row_number(("new", i)) for i, nk in enumerate(new_keys)}
        return _apply(cur, spec, parsed_updates=upd, parsed_inserts=inserts,
                      new_keys=new_keys, deletes=list(changes.deletes),
                      versions=changes.versions,
                      row_number=lambda k: numbers[k] if k in numbers else row_number(k),
                      act=act, pre_errors=e1 + e2)
