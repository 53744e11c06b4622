"""THE write path for table data: permission → parsing → validation → transaction → audit.

A table is described once by a `TableSpec` (columns with Chinese labels, types, required,
choices, ranges, references, table-wide checks). The web editor, the Excel/CSV import and the
CLI import all call `save()` / `import_frame()` here, so no door can skip a check.

Values arrive as the user typed them (a Chinese label or a code, text from a spreadsheet);
`parse_value` turns them into typed values and says in Chinese what was expected.
Concurrency: every editable table has a `version` column; an update or delete names the
version it was loaded with, and a mismatch is a `ConflictError`, never a silent overwrite.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import polars as pl

from . import audit, clock, values
from .auth import User, require
from .errors import BadInput, CellError, ConflictError, ValidationFailed

if TYPE_CHECKING:
    from .db import Cursor, Database
    from .fileio import Frame

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

    def __post_init__(self) -> None:
        audit.register_table(self.table, self.label, self.key, self.perm,
                             sensitive={c.name: c.sensitive for c in self.columns if c.sensitive})
        audit.register_columns(self.table, {c.name: (c.label, c.choices) for c in self.columns},
                               self.delete_checks)

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


SPECS: dict[str, TableSpec] = {}  # old-style registrations, until every subject declares SPECS


def register(spec: TableSpec) -> TableSpec:
    SPECS[spec.table] = spec
    return spec


def get_spec(table: str) -> TableSpec:
    """The spec of an editable table, from the registry (read here, lazily: registry →
    subjects → tables is the one documented import circle)."""
    from . import registry

    specs = registry.specs()
    if table not in specs:
        names = "、".join(sorted(specs))
        raise BadInput(f"没有名为「{table}」的数据表；可用：{names}")
    return specs[table]


# -- parsing one value -------------------------------------------------------------------
_blank = values.blank


def parse_value(col: Column, raw: Any, refs: Refs | None = None) -> tuple[Any, str | None]:
    """Return (value, error_message or None). Blank → None (required is checked later).
    Numbers, dates and yes/no follow `values` (the one rule on every path)."""
    if _blank(raw):
        return None, None
    if isinstance(raw, str):
        raw = values.unescape(raw.strip())
    kind = col.kind
    try:
        if kind == "text":
            if col.code and isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
                return None, values.CODE_NUMBER
            # a 身份证号 has its own check (its message names scientific notation and length)
            text = values.parse_code(raw) if col.code and col.format != "id_number" else str(raw)
            if text is None:
                return None, None
            if "\x00" in text:
                return None, "含有空字符（NUL），请删除后重新输入"
            if col.max_len and len(text) > col.max_len:
                return None, f"太长了：最多 {col.max_len} 个字"
            if col.format == "id_number":
                return check_id_number(text)
            return text, None
        if kind == "int":
            return _range(col, values.parse_int(raw))
        if kind == "decimal":
            return _range(col, values.parse_decimal(raw, places=2, currency=True))
        if kind == "float":
            d = values.parse_number(raw)
            assert d is not None
            return _range(col, round(float(d), 6))  # coordinates and ratios: 6 decimals is plenty (0.1 m)
        if kind == "date":
            return values.parse_date(raw), None
        if kind == "bool":
            return values.parse_bool(raw), None
    except values.BadValue as exc:
        return None, exc.message
    if kind == "choice":
        text = str(raw)
        assert col.choices is not None
        if text in col.choices:
            return text, None
        for code, label in col.choices.items():
            if text == label:
                return code, None
        if col.aliases and text in col.aliases:
            return col.aliases[text], None
        return None, "应为以下之一：" + "、".join(col.choices.values())
    if kind == "ref":
        lookup = (refs or {}).get(col.name, {})
        text = str(raw)
        if text in lookup.get("by_label", {}):
            return lookup["by_label"][text], None
        try:
            d = Decimal(text)
            if d == d.to_integral_value() and int(d) in lookup.get("ids", set()):
                return int(d), None
        except InvalidOperation:
            pass
        return None, f"找不到这个{_REF_LABEL.get(col.ref or '', '记录')}"
    raise ValueError(kind)


_REF_LABEL = {"orgs": "党组织", "members": "党员", "sites": "示范点"}

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def check_id_number(text: str) -> tuple[str | None, str | None]:
    """GB 11643-1999 公民身份号码: 17 digits (area, birth date, sequence) and a check character
    (0–9 or X; a lower-case x is accepted and stored as X). Returns (value, error)."""
    t = text.strip().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?[eE][+]?\d+", t):
        return None, ("是科学计数法（Excel 把它当成了数字，后几位已经丢失）：请把这一列设为「文本」格式，"
                      "重新输入完整的 18 位身份证号")
    if len(t) != 18:
        return None, f"身份证号应为 18 位，这里是 {len(t)} 位"
    if not re.fullmatch(r"\d{17}[\dXx]", t):
        return None, "身份证号应为 17 位数字加 1 位数字或 X"
    try:
        born = date(int(t[6:10]), int(t[10:12]), int(t[12:14]))
    except ValueError:
        return None, f"身份证号中的出生日期 {t[6:14]} 不是有效的日期"
    if born.year < 1900 or born > clock.today():
        return None, f"身份证号中的出生日期 {t[6:14]} 不合理"
    check = _ID_CHECK[sum(int(c) * w for c, w in zip(t[:17], _ID_WEIGHTS)) % 11]
    if t[17].upper() != check:
        return None, "身份证号的校验位不对（最后一位）：可能有数字输错，或 Excel 把它当成数字改掉了末尾几位"
    return t.upper(), None


def _valid_id_numbers(s: pl.Series) -> pl.Series:
    """True where a cell is a valid 身份证号 as `check_id_number` would keep it unchanged (18
    characters, upper-case X, real birth date from 1900 to today, right check character)."""
    ok = s.str.contains(r"^[0-9]{17}[0-9X]$").fill_null(False)
    t = pl.select(pl.when(ok).then(s)).to_series()
    born = t.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False)
    total = pl.select(pl.sum_horizontal(
        t.str.slice(j, 1).cast(pl.Int64, strict=False) * w for j, w in enumerate(_ID_WEIGHTS))).to_series()
    check = pl.select(pl.lit(pl.Series(list(_ID_CHECK))).gather(total % 11)).to_series()
    return (ok & born.is_not_null() & (born >= date(1900, 1, 1)) & (born <= clock.today())
            & (t.str.slice(17, 1) == check)).fill_null(False)


def _range(col: Column, v: Any) -> tuple[Any, str | None]:
    if v is None:
        return None, None
    if col.min is not None and v < (Decimal(repr(col.min)) if isinstance(v, Decimal) else col.min):
        return None, f"不能小于 {_fmt(col.min)}"
    if col.max is not None and v > (Decimal(repr(col.max)) if isinstance(v, Decimal) else col.max):
        return None, f"不能大于 {_fmt(col.max)}"
    return v, None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def load_refs(cur: Cursor, spec: TableSpec) -> Refs:
    refs = {}
    for c in spec.columns:
        if c.kind == "ref" and c.ref:
            rows = cur.execute(f'SELECT id, "{c.ref_label}" FROM "{c.ref}"').fetchall()
            refs[c.name] = {"ids": {r[0] for r in rows},
                            "by_label": {str(r[1]): r[0] for r in rows if r[1] is not None},
                            "by_id": {r[0]: r[1] for r in rows}}
    return refs


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


def display_frame(db: Database, spec: TableSpec, df: pl.DataFrame) -> pl.DataFrame:
    """Replace codes by Chinese labels and references by names, for showing and editing."""
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
        elif c.kind == "decimal":
            exprs.append(pl.col(c.name).cast(pl.Float64).alias(c.name))
    return df.with_columns(exprs) if exprs else df


# -- writing -------------------------------------------------------------------------------
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


def _full_table(cur: Cursor, spec: TableSpec) -> pl.DataFrame:
    cols = ", ".join(f'"{c}"' for c in [spec.key, *spec.names, "version"])
    df: pl.DataFrame = cur.sql(f'SELECT {cols} FROM "{spec.table}"').pl()
    return df


def register_keys(cur: Cursor, name: str, keys: Iterable[Any]) -> None:
    """Register integer keys as a one-column frame `name(k)` for `… IN (SELECT k FROM name)`;
    the caller unregisters it."""
    cur.register(name, pl.DataFrame({"k": [int(k) for k in keys]}, schema={"k": pl.Int64}))


def new_keys(cur: Cursor, table: str, touched: set[Any]) -> set[Any]:
    """Which of the touched keys are rows being added (not yet in `table`) — for checks that
    treat new rows differently (a status that may only be set on creation, and the like)."""
    if not touched:
        return set()
    register_keys(cur, "chk_keys", touched)
    try:
        have = {r[0] for r in cur.execute(f'SELECT id FROM "{table}" WHERE id IN (SELECT k FROM chk_keys)').fetchall()}
    finally:
        cur.unregister("chk_keys")
    return set(touched) - have


def allocate_keys(cur: Cursor, spec: TableSpec, n: int) -> list[int]:
    if n <= 0:
        return []
    seq = f"{spec.table}_seq"
    return [r[0] for r in cur.execute(f"SELECT nextval('{seq}') FROM range(?)", [n]).fetchall()]


def _apply(cur: Cursor, user: User, spec: TableSpec, *, parsed_updates: dict[Any, Row], parsed_inserts: list[Row],
           new_keys: list[Any], deletes: list[Any], versions: dict[Any, Any], row_number: RowNumber, kind: str,
           description: str, check_versions: bool = True,
           pre_errors: list[CellError] | None = None, write: bool = True,
           insert_frame: pl.DataFrame | None = None, current: pl.DataFrame | None = None) -> SaveResult:
    """Validate the table as it would be after the change and write it, inside `cur`'s
    transaction. Raises ValidationFailed / ConflictError with nothing written.
    `write=False` validates only (an import's dry run, on a read cursor outside the write lock).
    New rows come as `parsed_inserts` (dicts, from the editor) or as `insert_frame` (typed
    columns, from an import): either way they are checked and written as one frame."""
    key = spec.key
    if current is None:  # (an import passes the table it read in the same transaction)
        current = _full_table(cur, spec)
    # only the rows this change names come into Python; the rest of the table stays a frame
    named = list(dict.fromkeys([*parsed_updates, *deletes]))
    cur_rows = ({r[key]: r for r in current.filter(pl.col(key).is_in(named)).to_dicts()} if named else {})
    errors: list[CellError] = list(pre_errors or [])
    bad_cells = {(e.row, e.column) for e in errors}

    # 1. optimistic locking
    if check_versions:
        stale = []
        for k in list(parsed_updates) + list(deletes):
            if k not in cur_rows:
                stale.append(f"第 {row_number(k)} 行已被其他人删除")
            elif versions.get(k) is not None and int(versions[k]) != int(cur_rows[k]["version"]):
                who = cur.execute(f'SELECT updated_by, updated_at FROM "{spec.table}" WHERE "{key}" = ?',
                                  [k]).fetchone()
                when = who[1].strftime("%H:%M") if who and who[1] else ""
                stale.append(f"第 {row_number(k)} 行「{cur_rows[k].get('name', k)}」已被 "
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
    unique = [c for c in spec.columns if c.unique]
    after_df = pl.DataFrame()
    if (unique and touched) or (spec.checks and (touched or deletes)):
        after_df = _after_frame(spec, current, after_rows, changed_updates, ins, deleted)
    for c in unique if touched else []:
        # values held by more than one row of the table after the change (set-based)
        dup = after_df.select(key, c.name).filter(pl.col(c.name).is_not_null() & pl.col(c.name).is_duplicated())
        if dup.height == 0:
            continue
        groups: dict[Any, list[Any]] = {}
        for k, v in zip(dup[key].to_list(), dup[c.name].to_list()):
            groups.setdefault(v, []).append(k)
        for k, v in zip(dup[key].to_list(), dup[c.name].to_list()):
            if k in touched:
                others = [row_number(o) for o in groups[v] if o != k]
                errors.append(CellError(row_number(k), c.label, v,
                                        f"与第 {others[0]} 行重复，{c.label}不能重复"))
    # 4. table-wide checks (cycles, levels, references that need the whole table)
    warnings: list[str] = []
    if spec.checks and (touched or deletes):
        for check in spec.checks:
            for issue in check(cur, after_df, touched, set(deletes)):
                col_label = spec.column(issue.column).label if issue.column else None
                if (row_number(issue.key), col_label) in bad_cells:
                    continue  # the cell could not be read: its own error says so, once
                if issue.hard:
                    errors.append(CellError(row_number(issue.key), col_label, issue.value, issue.message))
                else:
                    where = f"第 {row_number(issue.key)} 行" if issue.key is not None else ""
                    warnings.append(f"{where}{'「' + col_label + '」' if col_label else ''}：{issue.message}")
    if deletes:
        from . import registry  # lazily: the registry imports the subjects, which build on tables

        for dc in [*spec.delete_checks, *registry.delete_checks(spec.table)]:
            for reason in dc(cur, list(deletes)):
                errors.append(CellError(None, None, None, reason))
    if errors:
        errors.sort(key=lambda e: (e.row if isinstance(e.row, int) else 0))
        count = f"有 {len(errors)} 处错误" if len(errors) <= MAX_ERRORS else f"有 {MAX_ERRORS} 处以上错误"
        raise ValidationFailed(f"{count}，没有保存任何修改。请改正后再保存：", cap_errors(errors))

    diffs = {k: {c: (cur_rows[k].get(c), v) for c, v in d.items()} for k, d in changed_updates.items()}
    seen = {k: cur_rows[k]["version"] for k in changed_updates}
    if not (changed_updates or new_keys or deletes) or not write:
        return SaveResult(None, inserted=len(new_keys), updated=len(changed_updates), deleted=len(deletes),
                          unchanged=len(parsed_updates) - len(changed_updates), warnings=warnings,
                          new_keys=new_keys, diffs=diffs, versions=seen)

    # 5. write, set-based, with audit in the same transaction
    batch = audit.new_batch(cur, user, kind, description)
    now = clock.now()
    entries: list[tuple[str, str, str | None, str | None]] = []
    if deletes:
        before = audit.rows_json(cur, spec.table, key, deletes)
        kf = pl.DataFrame({"k": list(deletes)}, schema={"k": pl.Int64})
        cur.register("del_keys", kf)
        cur.execute(f'DELETE FROM "{spec.table}" WHERE "{key}" IN (SELECT k FROM del_keys)')
        cur.unregister("del_keys")
        entries += [(str(k), "delete", before.get(str(k)), None) for k in deletes]
    if changed_updates:
        before = audit.rows_json(cur, spec.table, key, list(changed_updates))
        by_cols: dict[tuple[str, ...], list[Any]] = {}
        for k, diff in changed_updates.items():
            by_cols.setdefault(tuple(sorted(diff)), []).append(k)
        for upd_cols, ks in by_cols.items():
            frame = _typed_frame(spec, [{key: k, **changed_updates[k]} for k in ks], [key, *upd_cols])
            cur.register("upd_frame", frame)
            sets = ", ".join(f'"{c}" = f."{c}"' for c in upd_cols)
            cur.execute(f'UPDATE "{spec.table}" AS t SET {sets}, version = t.version + 1,'
                        f' updated_at = ?, updated_by = ? FROM upd_frame f WHERE t."{key}" = f."{key}"',
                        [now, user.username])
            cur.unregister("upd_frame")
        after = audit.rows_json(cur, spec.table, key, list(changed_updates))
        entries += [(str(k), "update", before.get(str(k)), after.get(str(k))) for k in changed_updates]
    if new_keys:
        cols = [key, *spec.names]
        cur.register("ins_frame", ins.select(cols))
        collist = ", ".join(f'"{c}"' for c in cols)
        cur.execute(f'INSERT INTO "{spec.table}" ({collist}, version, updated_at, updated_by)'
                    f' SELECT {collist}, 1, ?, ? FROM ins_frame', [now, user.username])
        cur.unregister("ins_frame")
        kf = pl.DataFrame({"k": new_keys}, schema={"k": pl.Int64})
        cur.register("new_keys", kf)
        ins = cur.sql(f'SELECT CAST(t."{key}" AS VARCHAR) AS row_key, \'insert\' AS action,'
                          f' NULL AS before, CAST(to_json(t) AS VARCHAR) AS after FROM "{spec.table}" t'
                          f' WHERE t."{key}" IN (SELECT k FROM new_keys)').pl()
        cur.unregister("new_keys")
        audit.record_many(cur, batch, user, spec.table, ins)
    if entries:
        audit.record_many(cur, batch, user, spec.table, pl.DataFrame(
            entries, schema={"row_key": pl.String, "action": pl.String, "before": pl.String,
                             "after": pl.String}, orient="row"))
    return SaveResult(batch, inserted=len(new_keys), updated=len(changed_updates),
                      deleted=len(deletes), warnings=warnings, new_keys=new_keys,
                      unchanged=len(parsed_updates) - len(changed_updates), diffs=diffs, versions=seen)


_POLARS_TYPES: dict[str, pl.DataType] = {
    "text": pl.String(), "choice": pl.String(), "int": pl.Int64(), "ref": pl.Int64(), "float": pl.Float64(),
    "decimal": pl.Decimal(18, 2), "date": pl.Date(), "bool": pl.Boolean()}


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


def _norm(v: Any) -> Any:
    if isinstance(v, Decimal):
        return v.normalize()
    if isinstance(v, float):
        v = round(v, 6)
        return int(v) if v.is_integer() else v
    if isinstance(v, datetime):
        return v.date() if v.time() == datetime.min.time() else v
    return v


MAX_ERRORS = 50  # errors collected before stopping: "另有更多错误未列出"
MORE_ERRORS = "另有更多错误未列出：请先改正以上错误，再重新检查"


def cap_errors(errors: list[CellError]) -> list[CellError]:
    """At most MAX_ERRORS errors, then one line saying there are more."""
    if len(errors) > MAX_ERRORS:
        return errors[:MAX_ERRORS] + [CellError(None, None, None, MORE_ERRORS)]
    return errors


def _parse_rows(spec: TableSpec, rows: Iterable[tuple[Any, Row]], refs: Refs,
                row_number: RowNumber) -> tuple[dict[Any, Row], list[CellError]]:
    """Parse every cell; stops reading once more than MAX_ERRORS errors were found."""
    parsed: dict[Any, Row] = {}
    errors: list[CellError] = []
    for k, raw in rows:
        if len(errors) > MAX_ERRORS:
            break
        out = {}
        for name, value in raw.items():
            if name in (spec.key, "version", "updated_at", "updated_by"):
                continue
            try:
                col = spec.column(name)
            except KeyError:
                continue
            if not col.editable:
                continue
            v, err = parse_value(col, value, refs)
            if err:
                errors.append(CellError(row_number(k), col.label, value, err))
            else:
                out[name] = v
        parsed[k] = out
    return parsed, errors


_TEXT_PLAIN = r"^[\s\x1c-\x1f']|[\s\x1c-\x1f]$|\x00"


def _parse_column(col: Column, s: pl.Series, refs: Refs) -> values.Parsed:
    """`parse_value` over a column: the common spellings take a vectorised path, every other
    cell goes through `parse_value` once per distinct value (so the result is the same)."""
    dtype = _POLARS_TYPES[col.kind]

    def one(v: object) -> Any:
        out, err = parse_value(col, v, refs)
        if err:
            raise values.BadValue(err)
        return out

    if s.dtype != pl.String or col.kind in ("choice", "ref", "bool"):
        return values.by_distinct(s, one, dtype)
    if col.format == "id_number":
        return values.with_fast(s, _valid_id_numbers(s), s, one, dtype)

    def inside(x: pl.Series) -> pl.Series:  # strictly inside the range (the bounds go the slow way)
        ok = pl.repeat(True, len(x), eager=True)
        if col.min is not None:
            ok = ok & (x > col.min)
        if col.max is not None:
            ok = ok & (x < col.max)
        return ok.fill_null(False)

    if col.kind == "text":
        ok = ~s.str.contains(_TEXT_PLAIN) & (s.str.len_bytes() > 0)
        if col.max_len:
            ok = ok & (s.str.len_chars() <= col.max_len)
        if col.code:
            ok = ok & ~s.str.contains(values.FLOATISH_CODE)
        return values.with_fast(s, ok, s, one, dtype)
    if col.kind == "int":
        fast = s.cast(pl.Int64, strict=False)
        return values.with_fast(s, s.str.contains(r"^[0-9]{1,15}$") & inside(fast), fast, one, dtype)
    if col.kind == "decimal":
        fast = s.cast(pl.Decimal(18, 2), strict=False)
        ok = s.str.contains(r"^[0-9]{1,13}(?:\.[0-9]{1,2})?$") & inside(fast.cast(pl.Float64))
        return values.with_fast(s, ok, fast, one, dtype)
    if col.kind == "float":
        ok = s.str.contains(r"^-?[0-9]{1,4}(?:\.[0-9]{1,12})?$")
        f = s.cast(pl.Float64, strict=False)
        ok = ok & inside(f)
        fast = pl.Series([None if x is None else round(x, 6) for x in f.to_list()], dtype=pl.Float64)
        return values.with_fast(s, ok, fast, one, dtype)
    if col.kind == "date":
        fast = s.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        return values.with_fast(s, s.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$") & fast.is_not_null(),
                                fast, one, dtype)
    return values.by_distinct(s, one, dtype)


def _parse_frame(spec: TableSpec, df: pl.DataFrame, keep: tuple[int, ...], refs: Refs,
                 row_number: RowNumber) -> tuple[pl.DataFrame, list[CellError]]:
    """Parse the rows `keep` (indexes into `df`) column by column: a frame of typed columns
    ("__i" = the row index) and the cell errors in row order (at most MAX_ERRORS + 1 per column,
    enough to show the first ones)."""
    idx = pl.Series("__i", list(keep), dtype=pl.Int64)
    sub = df if len(keep) == df.height else df.select(pl.all().gather(idx))
    out = [idx]
    found: list[tuple[int, int, CellError]] = []
    for pos, name in enumerate(sub.columns):
        if name in (spec.key, "version", "updated_at", "updated_by"):
            continue
        try:
            col = spec.column(name)
        except KeyError:
            continue
        if not col.editable:
            continue
        got = _parse_column(col, sub[name], refs)
        out.append(got.values.alias(name))
        bad = got.errors.is_not_null().arg_true().head(MAX_ERRORS + 1)
        for i, v, m in zip(idx.gather(bad).to_list(), sub[name].gather(bad).to_list(),
                           got.errors.gather(bad).to_list(), strict=True):
            found.append((i, pos, CellError(row_number(i), col.label, v, m)))
    found.sort(key=lambda t: (t[0], t[1]))
    return pl.DataFrame(out), [e for *_, e in found]


def hidden_column_errors(spec: TableSpec, user: User, names: Iterable[str], row: int | None) -> list[CellError]:
    """A column the user may not see (身份证号, salary items without salary.read) may not be
    written by them either: a blind overwrite, and an import preview would show the old value."""
    out = []
    for c in spec.columns:
        if c.name in names and c.sensitive and not user.can(c.sensitive):
            out.append(CellError(row, c.label, None,
                                 f"您没有查看「{c.label}」的权限，也不能修改它：请删除这一列后再导入，"
                                 "或请有权限的同事（党费管理员）办理"))
    return out


def save(db: Database, user: User, spec: TableSpec, changes: Changes, *, kind: str = "edit",
         description: str | None = None) -> SaveResult:
    """Save edits from the table editor in one transaction (all or nothing)."""
    require(user, spec.perm)
    if changes.is_empty():
        return SaveResult(None)
    touched = {n for r in changes.updates.values() for n in r}
    touched |= {n for r in changes.inserts for n, v in r.items() if not _blank(v)}
    if hidden := hidden_column_errors(spec, user, touched, None):
        raise ValidationFailed("没有保存任何修改：", hidden)

    def row_number(k: Any) -> Any:
        return changes.row_numbers.get(k, k)

    with db.write() as cur:
        refs = load_refs(cur, spec)
        upd, e1 = _parse_rows(spec, changes.updates.items(), refs, row_number)
        ins_raw = [(("new", i), r) for i, r in enumerate(changes.inserts)]
        ins, e2 = _parse_rows(spec, ins_raw, refs, row_number)
        if len(e1) + len(e2) > MAX_ERRORS:
            raise ValidationFailed(f"有 {MAX_ERRORS} 处以上错误，没有保存任何修改。请改正后再保存：",
                                   cap_errors(e1 + e2))
        inserts = [ins[("new", i)] for i in range(len(changes.inserts))]
        new_keys = allocate_keys(cur, spec, len(inserts))
        numbers = {nk: changes.row_numbers.get(("new", i), f"新增第{i + 1}")
                   for i, nk in enumerate(new_keys)}
        return _apply(cur, user, spec, parsed_updates=upd, parsed_inserts=inserts,
                      new_keys=new_keys, deletes=list(changes.deletes),
                      versions=changes.versions,
                      row_number=lambda k: numbers[k] if k in numbers else row_number(k),
                      kind=kind, description=description or f"编辑{spec.label}",
                      pre_errors=e1 + e2)


# -- import and export ----------------------------------------------------------------------
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


def map_headers(spec: TableSpec, frame: Frame) -> tuple[pl.DataFrame, list[CellError]]:
    hm = spec.header_map()
    errors: list[CellError] = []
    rename: dict[str, str] = {}
    for col in frame.df.columns:
        name = hm.get(col.strip())
        if name is None:
            continue  # extra columns are ignored (reported as a warning)
        if name in rename.values():
            other = next(c for c, n in rename.items() if n == name)
            errors.append(CellError(frame.first_row - 1, col, None,
                                    f"与「{other}」列表示同一字段（{spec.column(name).label if name != spec.key else '编号'}），"
                                    "重复了：请删除其中一列"))
            continue
        rename[col] = name
    df = frame.df.select([pl.col(c).alias(n) for c, n in rename.items()])
    missing = [c for c in spec.columns if c.required and c.default is None
               and c.name not in df.columns and c.editable]
    natural = spec.natural_key
    if missing and (spec.key not in df.columns):
        for c in missing:
            errors.append(CellError(frame.first_row - 1, c.label, None,
                                    f"缺少必需的列「{c.label}」（表头可以写中文名「{c.label}」或代码名「{c.name}」）"))
    if not rename:
        errors.append(CellError(frame.first_row - 1, None, None,
                                "表头中没有可识别的列名：请使用导出文件的表头（" +
                                "、".join(c.label for c in spec.columns[:6]) + "……）"))
    _ = natural
    return df, errors


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
            preview = _import_pass(cur, user, spec, ctx, warnings, kind, description, write=False,
                                   validate=not (commit and expect_versions is not None))
        finally:
            cur.execute("ROLLBACK")
    if not commit or preview.errors:
        return preview
    if preview.needs_confirmation and not confirm_overwrite:
        preview.errors = [_unconfirmed()]
        return preview
    # 2. inside the write transaction: the table as it is now, versions re-checked, rules re-run
    try:
        with db.write() as cur:
            done = _import_pass(cur, user, spec, ctx, warnings, kind, description, write=True,
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

    def blanks(self, name: str | None) -> list[bool]:
        """Per row: is the cell of column `name` blank (as `values.blank` says)?"""
        if not name or name not in self.df.columns:
            return [True] * self.df.height
        s = self.df[name]
        if s.dtype != pl.String:
            return [_blank(v) for v in s.to_list()]
        return (s.is_null() | s.str.contains(r"^[\s\x1c-\x1f]*$")).to_list()

    def column(self, name: str | None) -> list[Any]:
        n = self.df.height
        return self.df[name].to_list() if name and name in self.df.columns else [None] * n

    def row_number(self, k: Any) -> Any:
        return self.frame.row_number(k) if isinstance(k, int) else k


def _refs_fingerprint(refs: Refs) -> tuple[Any, ...]:
    return tuple(sorted((name, tuple(sorted(r["by_label"].items()))) for name, r in refs.items()))


def _import_pass(cur: Cursor, user: User, spec: TableSpec, ctx: _ImportContext, warnings: list[str], kind: str,
                 description: str | None, *, write: bool,
                 expect_versions: dict[Any, Any] | None = None, validate: bool = True,
                 confirm_overwrite: bool = True) -> ImportPreview:
    row_number = ctx.row_number
    raw_keys, raw_versions, raw_nat = ctx.column(spec.key), ctx.column("version"), ctx.column(spec.natural_key)
    refs = load_refs(cur, spec)
    current = _full_table(cur, spec)
    by_key = dict(zip(current[spec.key].to_list(), current["version"].to_list()))
    nat = spec.natural_key
    by_nat = (dict(zip(current[nat].cast(pl.String).to_list(), current[spec.key].to_list())) if nat else {})
    nat_label = spec.column(nat).label if nat else ""
    errs: list[CellError] = []
    seen_keys: dict[int, int] = {}
    targets: dict[int, int] = {}
    insert_idx: list[int] = []
    how: dict[int, str] = {}
    file_versions: dict[int, int] = {}
    key_blank, nat_blank = ctx.blanks(spec.key), ctx.blanks(nat)
    for i, k in enumerate(raw_keys):
        target = None
        if not key_blank[i]:
            try:
                kd = Decimal(str(k).strip())
                target = int(kd) if kd == kd.to_integral_value() else None
            except InvalidOperation:
                target = None
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
        elif nat and not nat_blank[i]:
            found = by_nat.get(str(raw_nat[i]).strip())
            if found is not None:
                if not ctx.match_by_name:
                    errs.append(CellError(
                        row_number(i), nat_label, raw_nat[i],
                        f"已有{nat_label}相同的记录（编号 {found}），而这一行没有编号：要修改那条记录，请填上它的编号"
                        f"（或勾选「没有编号的行按{nat_label}匹配已有记录」）；要新增，请换一个{nat_label}"))
                    continue
                target = found
                how[target] = BY_NAME_HOW.format(label=nat_label)
        if target is not None:
            if target in seen_keys:
                label = "编号" if not _blank(k) else nat_label
                errs.append(CellError(row_number(i), label, k if not _blank(k) else raw_nat[i],
                                      f"与第 {row_number(seen_keys[target])} 行是同一条记录，重复了"))
                continue
            seen_keys[target] = i
            targets[i] = target
        else:
            insert_idx.append(i)
    # new rows get real keys only when written; a dry run numbers them -1, -2, …
    new_keys = allocate_keys(cur, spec, len(insert_idx)) if write else [-(j + 1) for j in range(len(insert_idx))]
    # rows of this file may refer to each other (a new branch under a new committee)
    self_refs = [c.name for c in spec.columns if c.kind == "ref" and c.ref == spec.table and nat and c.name in refs]
    placeholder = {-(j + 1): nk for j, nk in enumerate(new_keys)} if self_refs and write else {}
    for name in self_refs:
        for j, i in enumerate(insert_idx):
            label = raw_nat[i]
            if not _blank(label):
                refs[name]["by_label"].setdefault(str(label).strip(), -(j + 1))
            refs[name]["ids"].add(-(j + 1))
    keep = tuple(sorted(set(targets) | set(insert_idx)))
    fingerprint = (_refs_fingerprint(refs), keep)
    if ctx.parsed_for != fingerprint:
        ctx.parsed, ctx.parse_errors = _parse_frame(spec, ctx.df, keep, refs, row_number)
        ctx.parsed_for = fingerprint
    errs += ctx.parse_errors
    if len(errs) > MAX_ERRORS:  # enough to fix first: do not validate the rest
        errs.sort(key=lambda e: (e.row if isinstance(e.row, int) else 0))
        return ImportPreview(0, 0, 0, cap_errors(errs), warnings)
    if not validate:  # parsed (the slow part) outside the lock; the write transaction validates
        return ImportPreview(0, 0, 0, errs, warnings)

    parsed = ctx.parsed
    if self_refs and write and placeholder:
        parsed = parsed.with_columns(pl.col(c).replace(placeholder) for c in self_refs if c in parsed.columns)
    # updates (usually few) as dicts without the cells that could not be read; new rows stay a frame
    bad = {(e.row, e.column) for e in ctx.parse_errors}
    labels = {c.name: c.label for c in spec.columns}
    updates = {}
    if targets:
        for r in parsed.filter(pl.col("__i").is_in(list(targets))).to_dicts():
            i = r.pop("__i")
            updates[targets[i]] = {c: v for c, v in r.items() if (row_number(i), labels[c]) not in bad}
    inserts = parsed.filter(pl.col("__i").is_in(insert_idx)).drop("__i") if insert_idx else None
    numbers = {t: row_number(i) for t, i in seen_keys.items()}
    numbers.update(zip(new_keys, [row_number(i) for i in insert_idx], strict=True))

    def number(k: Any) -> Any:
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
        result = _apply(cur, user, spec, parsed_updates=updates, parsed_inserts=[], insert_frame=inserts,
                        new_keys=new_keys, deletes=[], versions={}, row_number=number, kind=kind,
                        description=description or f"导入{spec.label}：{ctx.frame.file}",
                        check_versions=False, pre_errors=errs, write=write, current=current)
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
    register_keys(cur, "who_keys", keys)
    try:
        rows = cur.execute(
            f'SELECT t."{spec.key}", coalesce(u.display_name, t.updated_by), t.updated_at FROM "{spec.table}" t'
            f' LEFT JOIN users u ON u.username = t.updated_by WHERE t."{spec.key}" IN (SELECT k FROM who_keys)'
        ).fetchall()
    finally:
        cur.unregister("who_keys")
    return {k: f"{name or '其他人'}{(' 于 ' + at.strftime('%m-%d %H:%M')) if at else ''}" for k, name, at in rows}


def _rows_at_versions(cur: Cursor, spec: TableSpec, versions: dict[Any, Any]) -> dict[int, Row]:
    """The rows as they were at the given versions (as exported), from the audit history:
    the state before or after a logged change carries its version. Missing when unknown."""
    import json

    register_keys(cur, "base_keys", versions)
    try:
        entries = cur.execute(
            "SELECT row_key, CAST(before AS VARCHAR), CAST(after AS VARCHAR) FROM audit_log"
            " WHERE table_name = ? AND row_key IN (SELECT CAST(k AS VARCHAR) FROM base_keys)",
            [spec.table]).fetchall()
    finally:
        cur.unregister("base_keys")
    out = {}
    for row_key, before, after in entries:
        k = int(row_key)
        for text in (before, after):
            if text and k not in out:
                state = json.loads(text)
                if state.get("version") is not None and int(state["version"]) == versions[k]:
                    out[k] = state
    return out


def _from_json(spec: TableSpec, name: str, v: Any) -> Any:
    """A value of an audit JSON row back in the type the parser gives."""
    if v is None:
        return None
    kind = spec.column(name).kind
    try:
        if kind in ("int", "ref"):
            return int(v)
        if kind == "float":
            return float(v)
        if kind == "decimal":
            return Decimal(str(v)).quantize(Decimal("0.01"))
        if kind == "date":
            return date.fromisoformat(str(v)[:10])
        if kind == "bool":
            return bool(v) if not isinstance(v, str) else v.lower() == "true"
    except (ValueError, InvalidOperation):
        return v
    return str(v)


def display_value(col: Column, v: Any, refs: Refs | None = None, new_labels: dict[Any, str] | None = None) -> str:
    """A stored value as the user sees it (labels, names, 是/否); blank shows as （空）."""
    if v is None or (isinstance(v, str) and v == ""):
        return "（空）"
    if col.kind == "choice":
        return str(col.label_of(v))
    if col.kind == "ref":
        if new_labels and v in new_labels:
            return f"{new_labels[v]}（本文件新增）"
        name = (refs or {}).get(col.name, {}).get("by_id", {}).get(v)
        return str(name) if name is not None else f"编号 {v}"
    if col.kind == "bool":
        return "是" if v else "否"
    if col.kind == "decimal":
        return f"{Decimal(v):.2f}"
    if isinstance(v, float):
        return f"{v:.6f}".rstrip("0").rstrip(".")
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return str(v)


def _row_changes(cur: Cursor, spec: TableSpec, diffs: dict[Any, dict[str, tuple[Any, Any]]], current: pl.DataFrame,
                 refs: Refs, number: RowNumber, how: dict[int, str]) -> list[RowChange]:
    new_labels = {}
    for _name, r in refs.items():
        new_labels.update({v: k for k, v in r["by_label"].items() if isinstance(v, int) and v < 0})
    rows = {r[spec.key]: r for r in current.filter(pl.col(spec.key).is_in(list(diffs))).to_dicts()} if diffs else {}
    out = []
    for k, cells in diffs.items():
        shown = [(spec.column(c).label, display_value(spec.column(c), old, refs, new_labels),
                  display_value(spec.column(c), new, refs, new_labels)) for c, (old, new) in cells.items()]
        out.append(RowChange(number(k), k, _name_of(spec, rows.get(k, {}), k), shown, how.get(k, "")))
    out.sort(key=lambda c: (c.row if isinstance(c.row, int) else 0))
    return out


def export_frame(db: Database, user: User, spec: TableSpec) -> pl.DataFrame:
    """The table with Chinese headers and labels, ready for xlsx; import takes it back. The
    last column, `VERSION_LABEL`, is each row's version: an import of this file will not undo
    a change saved after the export."""
    df = load(db, user, spec)
    disp = display_frame(db, spec, df)
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
