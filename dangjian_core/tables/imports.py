"""Excel/CSV import: a dry run (preview with every changed cell) or an all-or-nothing commit,
with optimistic locking against the version each exported row carries."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import polars as pl

from .. import uow
from ..auth import User, require
from ..errors import CellError, ValidationFailed
from .model import MAX_ERRORS, VERSION_LABEL, ImportPreview, Refs, Row, RowChange, RowNumber, TableSpec, cap_errors
from .parse import _blank, _from_json, _norm, _parse_frame, display_value, hidden_column_errors, load_refs, map_headers
from .save import _apply, _full_table, _rows_of, allocate_keys, register_keys

if TYPE_CHECKING:
    from ..db import Cursor, Database
    from ..fileio import Frame

UNVERSIONED_HOW = "文件没有版本号"
BY_NAME_HOW = "按{label}匹配"


def import_frame(db: Database, user: User, spec: TableSpec, frame: Frame, *, commit: bool = False,
                 kind: str = "import", description: str | None = None, match_by_name: bool = False,
                 confirm_overwrite: bool = False, expect_versions: dict[Any, Any] | None = None) -> ImportPreview:
    """Dry run (commit=False) or all-or-nothing import of a file already read by fileio.

    Rows with an existing 编号 update that row; rows without one are new — or, only when
    `match_by_name` is set, update the record with the same natural key (名称, 党员编号 …).
    Optimistic locking: our exports carry each row's version (`VERSION_LABEL`). A row changed
    in the database since the export is left as the colleague saved it when the file does not
    change it, and refused (naming who changed it and when) when it does; only cells that differ
    from the exported value are written. Updates of rows whose exported state is unknown (old
    exports without the version column, hand-made files) are shown cell by cell and need
    `confirm_overwrite=True`. On commit, `expect_versions` (the preview's `seen_versions`)
    refuses rows saved by someone else between the preview and the commit.

    Validation runs on a read snapshot outside the write lock (other users' saves do not wait
    for a big preview); a commit then re-checks versions and table rules inside the write
    transaction before writing."""
    require(user, spec.perm)
    df, errors = map_headers(spec, frame)
    errors += hidden_column_errors(spec, user, df.columns, frame.first_row - 1)
    extra = [c for c in frame.df.columns if c.strip() not in spec.header_map()]
    warnings = [f"以下列不认识，已忽略：{'、'.join(extra)}"] if extra else []
    if errors:
        return ImportPreview(0, 0, 0, errors, warnings)
    if df.height == 0:
        return ImportPreview(0, 0, 0, [CellError(frame.first_row, None, None,
                                                  "文件中没有数据行（表头下面是空的）")], warnings)
    ctx = _ImportContext(spec, frame, df, match_by_name)

    # 1. parse and validate on one snapshot, without the write lock and without writing
    #    (a commit after a preview — expect_versions given — only parses here: the preview
    #    validated already, and the write transaction validates again)
    with db.read() as cur:
        cur.execute("BEGIN TRANSACTION")
        try:
            preview = _import_pass(cur, spec, ctx, warnings, None,
                                   validate=not (commit and expect_versions is not None))
        finally:
            cur.execute("ROLLBACK")
    if not commit or preview.errors:
        return preview
    if preview.needs_confirmation and not confirm_overwrite:
        preview.errors = [_unconfirmed()]
        return preview
    # 2. one unit of work: the table as it is now, versions re-checked, rules re-run, the rows
    #    and their audit batch written together (a refusal rolls both back)
    try:
        with uow.action(db, user, spec.perm, kind, description or f"导入{spec.label}：{frame.file}") as act:
            done = _import_pass(act.cur, spec, ctx, warnings, act,
                                expect_versions=expect_versions, confirm_overwrite=confirm_overwrite)
            if done.errors:
                raise _Refused(done)
            return done
    except _Refused as r:
        return r.preview


def _unconfirmed() -> CellError:
    return CellError(None, VERSION_LABEL, None,
                     "文件没有「版本（请勿修改）」列（旧的导出文件或自制的表格），无法判断要修改的行在导出后是否"
                     "被别人改过：请逐项核对预览中的修改后勾选确认再导入，或重新导出后在新文件上修改")


class _Refused(Exception):
    def __init__(self, preview: ImportPreview):
        self.preview = preview


class _ImportContext:
    """What one import keeps between its dry run and its commit: the file's rows, and the
    parsed values (parsing is the slow part: done once unless the references changed)."""

    def __init__(self, spec: TableSpec, frame: Frame, df: pl.DataFrame, match_by_name: bool):
        self.spec, self.frame, self.df, self.match_by_name = spec, frame, df, match_by_name
        self.parsed_for: tuple[Any, ...] | None = None   # (refs fingerprint, matched rows) of `parsed`
        self.parsed: pl.DataFrame = pl.DataFrame()  # "__i" (row index) + parsed columns
        self.parse_errors: list[CellError] = []

    def blank_mask(self, name: str | None) -> pl.Series:
        """Per row: is the cell of column `name` blank (as `values.blank` says)?"""
        if not name or name not in self.df.columns:
            return pl.repeat(True, self.df.height, dtype=pl.Boolean, eager=True)
        s = self.df[name]
        if s.dtype != pl.String:
            return pl.Series([_blank(v) for v in s.to_list()], dtype=pl.Boolean)
        return s.is_null() | s.str.contains(r"^[\s\x1c-\x1f]*$")

    def cells(self, name: str | None, rows: list[int]) -> dict[int, Any]:
        """row index → the raw cell of column `name`, for these rows only."""
        if not name or name not in self.df.columns:
            return dict.fromkeys(rows)
        return dict(zip(rows, self.df[name].gather(rows).to_list(), strict=True))

    def row_number(self, k: Any) -> Any:
        return self.frame.row_number(k) if isinstance(k, int) else k


# what Python's str.strip() takes off (Rust's whitespace lacks \x1c-\x1f)
_PY_SPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


def _integral(raw: Any) -> int | None:
    """A cell of the 编号 column as a whole number (12, "12", "12.0"), else None."""
    try:
        kd = Decimal(str(raw).strip())
        return int(kd) if kd == kd.to_integral_value() else None
    except InvalidOperation:
        return None


def _versions_of(cur: Cursor, spec: TableSpec, keys: set[int]) -> dict[int, int]:
    """key → version of the records among `keys` that exist (the rest of the table stays put)."""
    if not keys:
        return {}
    with register_keys(cur, "file_keys", keys):
        rows = cur.execute(f'SELECT "{spec.key}", version FROM "{spec.table}"'
                           f' WHERE "{spec.key}" IN (SELECT k FROM file_keys)').fetchall()
    return {k: v for k, v in rows}


def _keys_by_natural(cur: Cursor, spec: TableSpec, labels: pl.Series) -> dict[str, int]:
    """natural key text → key, for the file's labels that the table already holds."""
    assert spec.natural_key
    if labels.len() == 0:
        return {}
    with cur.registered("file_labels", pl.DataFrame({"v": labels.unique()}, schema={"v": pl.String})):
        rows = cur.execute(f'SELECT CAST("{spec.natural_key}" AS VARCHAR), "{spec.key}" FROM "{spec.table}"'
                           f' WHERE CAST("{spec.natural_key}" AS VARCHAR) IN (SELECT v FROM file_labels)'
                           f' ORDER BY "{spec.key}"').fetchall()
    return {v: k for v, k in rows}


def _refs_fingerprint(refs: Refs) -> tuple[Any, ...]:
    return tuple(sorted((name, tuple(sorted(r["by_label"].items()))) for name, r in refs.items()))


def _import_pass(cur: Cursor, spec: TableSpec, ctx: _ImportContext, warnings: list[str],
                 act: uow.Action | None, *, expect_versions: dict[Any, Any] | None = None,
                 validate: bool = True, confirm_overwrite: bool = True) -> ImportPreview:
    """One pass over the file on `cur`: a dry run (`act=None`, a read snapshot) or the commit
    inside the unit of work `act`."""
    write = act is not None
    row_number = ctx.row_number
    refs = load_refs(cur, spec)
    nat = spec.natural_key
    nat_label = spec.column(nat).label if nat else ""
    errs: list[CellError] = []
    seen_keys: dict[int, int] = {}
    targets: dict[int, int] = {}
    how: dict[int, str] = {}
    file_versions: dict[int, int] = {}
    key_blank, nat_blank = ctx.blank_mask(spec.key), ctx.blank_mask(nat)
    # only rows that may name an existing record are looked at one by one (those with an 编号,
    # or whose natural key is taken); every other row is new — decided column-wise, and only
    # the records the file names are read from the table
    keyed = (~key_blank).arg_true().to_list()
    raw_keys, raw_versions = ctx.cells(spec.key, keyed), ctx.cells("version", keyed)
    parsed_keys = {i: _integral(raw_keys[i]) for i in keyed}
    by_key = _versions_of(cur, spec, {k for k in parsed_keys.values() if k is not None})
    nat_text = (ctx.df[nat].cast(pl.String).str.strip_chars(_PY_SPACE) if nat and nat in ctx.df.columns
                else pl.Series([None] * ctx.df.height, dtype=pl.String))
    named = key_blank & ~nat_blank if nat else pl.Series([False] * ctx.df.height)
    by_nat = _keys_by_natural(cur, spec, nat_text.filter(named)) if nat else {}
    taken = named & nat_text.is_in(list(by_nat)) if by_nat else pl.Series([False] * ctx.df.height)
    candidates = (~key_blank | taken)
    insert_idx: list[int] = (~candidates).arg_true().to_list()
    cand = candidates.arg_true().to_list()
    raw_nat = ctx.cells(nat, cand)
    for i in cand:
        k = raw_keys.get(i)
        target = None
        if i in raw_keys:  # the row names its 编号
            target = parsed_keys[i]
            if target is None or target not in by_key:
                errs.append(CellError(row_number(i), "编号", k, "编号不存在：新增的行请把编号留空"))
                continue
            v = raw_versions[i]
            if not _blank(v):
                try:
                    vd = Decimal(str(v).strip())
                    if vd != vd.to_integral_value() or vd < 1:
                        raise InvalidOperation
                    file_versions[target] = int(vd)
                except InvalidOperation:
                    errs.append(CellError(row_number(i), VERSION_LABEL, v,
                                          "版本号被改动过：请不要修改这一列（重新导出可得到正确的版本号）"))
                    continue
            else:
                how[target] = UNVERSIONED_HOW
        else:
            found = by_nat[str(raw_nat[i]).strip()]
            if not ctx.match_by_name:
                errs.append(CellError(
                    row_number(i), nat_label, raw_nat[i],
                    f"已有{nat_label}相同的记录（编号 {found}），而这一行没有编号：要修改那条记录，请填上它的编号"
                    f"（或勾选「没有编号的行按{nat_label}匹配已有记录」）；要新增，请换一个{nat_label}"))
                continue
            target = found
            how[target] = BY_NAME_HOW.format(label=nat_label)
        if target in seen_keys:
            label = "编号" if not _blank(k) else nat_label
            errs.append(CellError(row_number(i), label, k if not _blank(k) else raw_nat[i],
                                  f"与第 {row_number(seen_keys[target])} 行是同一条记录，重复了"))
            continue
        seen_keys[target] = i
        targets[i] = target
    # new rows get real keys only when written (one rising run, in file order); a dry run
    # numbers them -1, -2, …
    new_keys = allocate_keys(cur, spec, len(insert_idx)) if write else [-(j + 1) for j in range(len(insert_idx))]
    # rows of this file may refer to each other (a new branch under a new committee)
    self_refs = [c.name for c in spec.columns if c.kind == "ref" and c.ref == spec.table and nat and c.name in refs]
    keep = tuple(sorted(set(targets) | set(insert_idx)))
    # what the parsed values depend on: the references in the database, the rows parsed and
    # (for references inside the file) which of them are new — the labels added below follow
    fingerprint = (_refs_fingerprint(refs), keep, tuple(insert_idx) if self_refs else ())
    if self_refs and insert_idx:
        # each new row's label → its placeholder key (the first row of a label wins; labels
        # already in the table keep their record)
        new_labels = (pl.DataFrame({"label": nat_text.gather(insert_idx), "blank": nat_blank.gather(insert_idx)})
                      .with_row_index("j").with_columns(pl.col("j").cast(pl.Int64)).filter(~pl.col("blank")).unique("label", keep="first", maintain_order=True))
        first = dict(zip(new_labels["label"].to_list(), (-(new_labels["j"] + 1)).to_list(), strict=True))
        for name in self_refs:
            by_label = refs[name]["by_label"]
            by_label.update({lab: v for lab, v in first.items() if lab not in by_label})
            refs[name]["ids"].update(range(-1, -len(insert_idx) - 1, -1))
    if ctx.parsed_for != fingerprint:
        ctx.parsed, ctx.parse_errors = _parse_frame(spec, ctx.df, keep, refs, row_number)
        ctx.parsed_for = fingerprint
    errs += ctx.parse_errors
    if len(errs) > MAX_ERRORS:  # enough to fix first: do not validate the rest
        errs.sort(key=lambda e: (e.row if isinstance(e.row, int) else 0))
        return ImportPreview(0, 0, 0, cap_errors(errs), warnings)
    if not validate:  # parsed (the slow part) outside the lock; the write transaction validates
        return ImportPreview(0, 0, 0, errs, warnings)

    # the whole table only for table-wide rules (levels, cycles); else the rows the file names
    whole = bool(spec.checks)
    current = _full_table(cur, spec) if whole else _rows_of(cur, spec, list(targets.values()))
    parsed = ctx.parsed
    if self_refs and write and new_keys:
        # placeholder -j-1 → the j-th new key (allocate_keys gives one rising run: arithmetic)
        parsed = parsed.with_columns(
            pl.when(pl.col(c) < 0).then(new_keys[0] - pl.col(c) - 1).otherwise(pl.col(c)).alias(c)
            for c in self_refs if c in parsed.columns)
    # updates (usually few) as dicts without the cells that could not be read; new rows stay a frame
    bad = {(e.row, e.column) for e in ctx.parse_errors}
    labels = {c.name: c.label for c in spec.columns}
    updates = {}
    if targets:
        for r in parsed.filter(pl.col("__i").is_in(list(targets))).to_dicts():
            i = r.pop("__i")
            updates[targets[i]] = {c: v for c, v in r.items() if (row_number(i), labels[c]) not in bad}
    inserts = ((parsed if not targets else parsed.filter(pl.col("__i").is_in(insert_idx))).drop("__i")
               if insert_idx else None)
    if write:
        ctx.parsed, parsed = pl.DataFrame(), pl.DataFrame()  # the last pass: hold one copy, not three
    numbers = {t: row_number(i) for t, i in seen_keys.items()}
    # a new row's number by arithmetic: its key is the j-th of one rising run (written) or -j-1
    first_new = new_keys[0] if write and new_keys else 0
    n_new = len(insert_idx)

    def number(k: Any) -> Any:
        if isinstance(k, int) and k not in numbers:
            j = k - first_new if write else -k - 1
            if 0 <= j < n_new:
                return row_number(insert_idx[j])
        return numbers.get(k, k)

    # optimistic lock: rows changed since the file was exported
    stale = {k: v for k, v in file_versions.items() if k in updates and int(by_key[k]) != v}
    if stale:
        bases = _rows_at_versions(cur, spec, stale)
        current_rows = {r[spec.key]: r for r in current.filter(pl.col(spec.key).is_in(list(stale))).to_dicts()}
        who = _last_writers(cur, spec, list(stale))
        kept: list[str] = []
        for k in stale:
            base, now, mine = bases.get(k), current_rows[k], updates[k]
            if base is not None:
                edited = {c: v for c, v in mine.items() if _norm(_from_json(spec, c, base.get(c))) != _norm(v)}
            else:  # the exported state is not in the history: anything that differs may be the user's
                edited = {c: v for c, v in mine.items() if _norm(now.get(c)) != _norm(v)}
            if not edited:
                del updates[k]  # the file does not change this row: the colleague's save stays
                kept.append(f"第 {number(k)} 行「{_name_of(spec, now, k)}」（{who.get(k, '其他人')}）")
                continue
            cells = "、".join(spec.column(c).label for c in edited)
            errs.append(CellError(number(k), cells, None,
                                  f"这一行在导出后已被 {who.get(k, '其他人')} 修改，文件中也改了它（{cells}）："
                                  "为免覆盖对方的修改，没有导入。请重新导出后在新文件上修改，或在网页表格中直接修改这一行"))
        if kept:
            warnings = warnings + [f"有 {len(kept)} 行在导出后已被别人修改，文件中这些行没有改动，保留了对方的修改："
                                   + "、".join(kept[:20]) + ("……" if len(kept) > 20 else "")]
    try:
        result = _apply(cur, spec, parsed_updates=updates, parsed_inserts=[], insert_frame=inserts,
                        new_keys=new_keys, deletes=[], versions={}, row_number=number, act=act,
                        check_versions=False, pre_errors=errs, current=current if whole else None)
    except ValidationFailed as exc:
        return ImportPreview(0, 0, 0, exc.errors, warnings)
    # between the preview and the commit: a row someone saved in between is not overwritten
    # (on commit this runs after the write, inside its transaction: an error rolls it back)
    if expect_versions is not None:
        moved = [k for k, v in result.versions.items()
                 if k not in expect_versions or int(expect_versions[k]) != int(v)]
        if moved:
            who = _last_writers(cur, spec, moved)
            return ImportPreview(0, 0, 0, [CellError(
                number(k), None, None,
                f"「{_name_of(spec, _row_dict(current, spec, k), k)}」在检查之后已被 {who.get(k, '其他人')} 修改，"
                "为免覆盖对方的修改，没有导入任何数据：请重新检查后再确认导入") for k in sorted(moved, key=str)], warnings)
    changes = _row_changes(cur, spec, result.diffs, current, refs, number, how)
    needs = any(c.how == UNVERSIONED_HOW for c in changes)
    if write and needs and not confirm_overwrite:
        return ImportPreview(0, 0, 0, [_unconfirmed()], warnings, changes=changes, needs_confirmation=True)
    return ImportPreview(result.inserted, result.updated, result.unchanged, [], warnings + result.warnings,
                         committed=write, batch_id=result.batch_id if write else None,
                         changes=changes, needs_confirmation=needs, seen_versions=dict(result.versions))


def _row_dict(frame: pl.DataFrame, spec: TableSpec, k: Any) -> Row:
    hit = frame.filter(pl.col(spec.key) == k)
    return hit.row(0, named=True) if hit.height else {}


def _name_of(spec: TableSpec, row: Row, k: Any) -> str:
    if spec.natural_key and row.get(spec.natural_key) not in (None, ""):
        return str(row[spec.natural_key])
    return f"编号 {k}"


def _last_writers(cur: Cursor, spec: TableSpec, keys: list[Any]) -> dict[Any, str]:
    """key → 「姓名 于 11-23 10:32」 for the last save of each row."""
    with register_keys(cur, "who_keys", keys):
        rows = cur.execute(
            f'SELECT t."{spec.key}", coalesce(u.display_name, t.updated_by), t.updated_at FROM "{spec.table}" t'
            f' LEFT JOIN users u ON u.username = t.updated_by WHERE t."{spec.key}" IN (SELECT k FROM who_keys)'
        ).fetchall()
    return {k: f"{name or '其他人'}{(' 于 ' + at.strftime('%m-%d %H:%M')) if at else ''}" for k, name, at in rows}


def _rows_at_versions(cur: Cursor, spec: TableSpec, versions: dict[Any, Any]) -> dict[int, Row]:
    """The rows as they were at the given versions (as exported), from the audit history:
    the state before or after a logged change carries its version. Missing when unknown."""
    import json

    with register_keys(cur, "base_keys", versions):
        entries = cur.execute(
            "SELECT row_key, CAST(before AS VARCHAR), CAST(after AS VARCHAR) FROM audit_log"
            " WHERE table_name = ? AND row_key IN (SELECT CAST(k AS VARCHAR) FROM base_keys)",
            [spec.table]).fetchall()
    out = {}
    for row_key, before, after in entries:
        k = int(row_key)
        for text in (before, after):
            if text and k not in out:
                state = json.loads(text)
                if state.get("version") is not None and int(state["version"]) == versions[k]:
                    out[k] = state
    return out


def _row_changes(cur: Cursor, spec: TableSpec, diffs: dict[Any, dict[str, tuple[Any, Any]]], current: pl.DataFrame,
                 refs: Refs, number: RowNumber, how: dict[int, str]) -> list[RowChange]:
    new_labels = {}
    for _name, r in refs.items() if diffs else ():
        new_labels.update({v: k for k, v in r["by_label"].items() if isinstance(v, int) and v < 0})
    rows = {r[spec.key]: r for r in current.filter(pl.col(spec.key).is_in(list(diffs))).to_dicts()} if diffs else {}
    out = []
    for k, cells in diffs.items():
        shown = [(spec.column(c).label, display_value(spec.column(c), old, refs, new_labels),
                  display_value(spec.column(c), new, refs, new_labels)) for c, (old, new) in cells.items()]
        out.append(RowChange(number(k), k, _name_of(spec, rows.get(k, {}), k), shown, how.get(k, "")))
    out.sort(key=lambda c: (c.row if isinstance(c.row, int) else 0))
    return out
