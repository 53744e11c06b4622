"""Reading cells: one value (`parse_value`, 身份证号 check), a column at once (imports),
rows of the editor, file headers, and a stored value back for display."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import polars as pl

from .. import clock, values
from ..auth import User
from ..errors import CellError
from .model import _POLARS_TYPES, MAX_ERRORS, Column, Refs, Row, RowNumber, TableSpec

if TYPE_CHECKING:
    from ..db import Cursor
    from ..fileio import Frame

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


def _norm(v: Any) -> Any:
    if isinstance(v, Decimal):
        return v.normalize()
    if isinstance(v, float):
        v = round(v, 6)
        return int(v) if v.is_integer() else v
    if isinstance(v, datetime):
        return v.date() if v.time() == datetime.min.time() else v
    return v


def _editable_column(spec: TableSpec, name: str) -> Column | None:
    """The column a file or editor field `name` writes to, or None when it writes none (the key,
    the version and bookkeeping columns, unknown names, columns that are not editable)."""
    if name in (spec.key, "version", "updated_at", "updated_by"):
        return None
    try:
        col = spec.column(name)
    except KeyError:
        return None
    return col if col.editable else None


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
            col = _editable_column(spec, name)
            if col is None:
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
        # at most 6 decimals: the float read is already what round(x, 6) gives (the nearest
        # 6-decimal number to it is the text's own value), so no rounding per cell; longer
        # fractions go the scalar way, once per distinct value
        ok = s.str.contains(r"^-?[0-9]{1,4}(?:\.[0-9]{1,6})?$")
        f = s.cast(pl.Float64, strict=False)
        return values.with_fast(s, ok & inside(f), f, one, dtype)
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
        col = _editable_column(spec, name)
        if col is None:
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
