"""`python -m dangjian_core reports pick` — choose the units for a 述职评议 session.

Contract: shared/spec/cli.md (section `reports`); the rules live in `reports.rules`.

UNITS columns: `unit_id`, `name`, and either `progress` (0–100) or indicator columns named
by the default indicator codes (or their Chinese names):

    dues_collection_rate            党费收缴率            %   0–100
    site_assessment_score           示范点考评得分        分  0–100
    open_rectifications             未销号整改事项        项  ≥ 0
    overdue_rectifications          逾期整改事项          项  ≥ 0
    ten_tasks_progress              10件实事进度          %   0–100
    three_meetings_one_lesson_rate  三会一课完成率        %   0–100

An empty indicator cell means "no data" (the weights are renormalised over the rest); a unit
with no indicator at all is refused. Percent values may carry a trailing «%». When both
`progress` and indicator columns are given, `progress` ranks and the indicators only explain
(the reason column). Other columns are ignored.

HISTORY `unit_id, date` (may be header-only or an entirely empty file). Decisions the
contract leaves open:
- rows naming a unit that is not in UNITS are ignored, with a warning on stderr;
- reports dated after `--date` are ignored (not yet known on that date), with a warning;
- a report on `--date` itself is 0 days before it, so inside the cool-down;
- dates may be written 2024-03-05, 2024/3/5, 2024.3.5 or 2024年3月5日 (an Excel date cell
  or a time part after the date is accepted);
- unit_id is compared as text (also from parquet), so ties break by code-point order.
Notes (capacity above the number of units, cool-down units taken) go to stderr; stdout stays
empty. Bad input → exit 2 naming file, row, column, value and what was expected; no output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from .. import values
from ..errors import BadInput, CellError
from ..fileio import TEXT_EXTS, Frame, read_frame
from ..reports import rules
from .common import add_group, output_path, positive_int, write_output

if TYPE_CHECKING:
    from .db import Subparsers

OUTPUT_COLUMNS = ["unit_id", "name", "progress", "rank", "reason"]
_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$"


def register(subparsers: Subparsers) -> None:
    sub = add_group(subparsers, "reports", "述职评议", "述职评议：选定述职单位")
    p = sub.add_parser(
        "pick",
        help="按进度分选出本场述职单位",
        description="按进度分从低到高选出本场述职单位；近 120 天内述过职的单位排在最后。",
    )
    p.add_argument("--units", required=True, metavar="UNITS",
                   help="单位表：unit_id、name、progress（0–100），或用指标列代替 progress")
    p.add_argument("--history", required=True, metavar="HISTORY", help="以往述职记录：unit_id、date（可为空表）")
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="本场述职日期")
    p.add_argument("--capacity", required=True, metavar="N", help="本场述职名额")
    p.add_argument("--cooldown-days", default=str(rules.COOLDOWN_DAYS), metavar="DAYS",
                   help=f"冷却期天数（默认 {rules.COOLDOWN_DAYS}）")
    p.add_argument("output", metavar="OUTPUT", help="输出文件：.csv、.xlsx 或 .parquet")
    p.set_defaults(handler=run_pick)


def _warn(message: str) -> None:
    print(f"提示：{message}", file=sys.stderr)


# ----------------------------------------------------------------------------- arguments

def parse_date_arg(text: str, option: str = "--date") -> dt.date:
    day = parse_date_text(text or "")
    if day is None:
        raise BadInput(f"参数 {option} 的值「{text}」不是有效日期，应为 YYYY-MM-DD 格式，例如 2024-06-25")
    return day


# ----------------------------------------------------------------------------- cells

def _indexed(df: pl.DataFrame) -> pl.DataFrame:
    """Add `_i` (data-row index, for spreadsheet row numbers) and drop entirely blank rows."""
    df = df.with_row_index("_i")
    cols = [c for c in df.columns if c != "_i"]
    if not cols or not df.height:
        return df
    blank = pl.all_horizontal(
        [pl.col(c).cast(pl.String).str.strip_chars().fill_null("") == "" for c in cols])
    return df.filter(~blank)


def _text(df: pl.DataFrame, col: str) -> pl.Expr:
    """A column as stripped text, empty → null."""
    e = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(e == "").then(None).otherwise(e)


def _parse_number(df: pl.DataFrame, col: str, frame: Frame, *, lo: float, hi: float | None,
                  expected: str, percent: bool = False) -> tuple[pl.Series, list[CellError]]:
    """Column `col` as Float64 (empty → null) and the cells that are not a number in range."""
    raw = df[col]
    if raw.dtype.is_numeric():
        num = raw.cast(pl.Float64)
        bad_fmt = num.is_nan() | num.is_infinite()
        num = pl.select(pl.when(bad_fmt).then(None).otherwise(num)).to_series()
        shown = raw.cast(pl.String)
    else:
        txt = df.select(_text(df, col)).to_series()
        cleaned = txt.str.replace(r"\s*[%％]$", "") if percent else txt
        ok = cleaned.str.contains(_NUMBER)
        num = pl.select(pl.when(ok).then(cleaned).otherwise(None)).to_series().cast(pl.Float64)
        bad_fmt = txt.is_not_null() & ~ok.fill_null(False)
        shown = raw.cast(pl.String)
    out_of_range = num.is_not_null() & ((num < lo) | ((num > hi) if hi is not None else False))
    bad = (bad_fmt.fill_null(False) | out_of_range.fill_null(False))
    errors = [
        CellError(frame.row_number(i), col, v, expected)
        for i, v in df.select("_i", shown.alias("_v")).filter(bad).head(60).iter_rows()
    ]
    return num.alias(col), errors


# ----------------------------------------------------------------------------- UNITS

def load_units(path: str, defs: Sequence[rules.IndicatorDef] = rules.DEFAULT_INDICATORS) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Read UNITS → (`[unit_id, name, progress]`, lagging reasons or None)."""
    codes = [d.code for d in defs]
    frame = read_frame(path, expected=["unit_id", "name", "progress", *codes])
    df = frame.df
    by_zh = {d.name_zh: d.code for d in defs}
    renames = {c: by_zh[c] for c in df.columns if c in by_zh and by_zh[c] not in df.columns}
    df = _indexed(df.rename(renames))
    missing = [c for c in ("unit_id", "name") if c not in df.columns]
    ind_cols = [c for c in codes if c in df.columns]
    if "progress" not in df.columns and not ind_cols:
        missing.append("progress")
    if missing:
        raise BadInput(
            "缺少列：" + "、".join(missing) + "。单位表需要 unit_id、name，以及 progress（0–100）"
            "或以下指标列之一：" + "、".join(f"{d.code}（{d.name_zh}）" for d in defs),
            file=frame.file)
    errors: list[CellError] = []
    df = df.with_columns(_text(df, "unit_id").alias("unit_id"), _text(df, "name").alias("name"))
    for col, label in (("unit_id", "单位编号"), ("name", "单位名称")):
        for (i,) in df.filter(pl.col(col).is_null()).select("_i").head(50).iter_rows():
            errors.append(CellError(frame.row_number(i), col, None, f"{label}不能为空"))
    dup = df.filter(pl.col("unit_id").is_not_null()).with_columns(
        _first=pl.col("_i").min().over("unit_id")).filter(pl.col("_i") != pl.col("_first"))
    for i, uid, first in dup.select("_i", "unit_id", "_first").head(50).iter_rows():
        errors.append(CellError(frame.row_number(i), "unit_id", uid,
                                f"单位编号重复（与第 {frame.row_number(first)} 行相同），每个单位只能出现一次"))
    progress = None
    if "progress" in df.columns:
        progress, errs = _parse_number(df, "progress", frame, lo=0, hi=100, expected="应为 0–100 之间的数字")
        errors += errs
        empty = df.select(_text(df, "progress").is_null()).to_series()
        for (i,) in df.filter(empty).select("_i").head(50).iter_rows():
            errors.append(CellError(frame.row_number(i), "progress", None, "进度分不能为空，应为 0–100 之间的数字"))
    values = {}
    for d in defs:
        if d.code not in df.columns:
            continue
        hi = d.max_value
        expected = (f"应为 0–{hi:g} 之间的数字" if hi is not None else "应为不小于 0 的数字") + (
            f"（单位：{d.unit}）" if d.unit else "")
        num, errs = _parse_number(df, d.code, frame, lo=0, hi=hi, expected=expected, percent=d.unit == "%")
        errors += errs
        values[d.code] = num
        nn = num.drop_nulls()
        if d.unit == "%" and nn.len() and float(nn.max()) <= 1 and not nn.is_in([0.0, 1.0]).all():  # type: ignore[arg-type]
            _warn(f"文件 {frame.file} 列「{d.code}」的值都在 0–1 之间，看起来是小数形式的比率；"
                  f"本列按百分数（0–100）理解，例如 62% 请填 62")
    if ind_cols and progress is None:
        no_data = pl.DataFrame({c: values[c].is_null() for c in ind_cols}).select(
            pl.all_horizontal(pl.all())).to_series()
        bad_rows = {e.row for e in errors}
        for (i,) in df.filter(no_data).select("_i").head(50).iter_rows():
            if frame.row_number(i) not in bad_rows:
                errors.append(CellError(frame.row_number(i), None, None,
                                        "该单位没有任何指标数据，无法计算进度分：请至少填写一项指标，或填写 progress 列"))
    if errors:
        errors.sort(key=lambda e: (e.row or 0, e.column or ""))
        raise BadInput("单位表有误，请修改后重试", errors, file=frame.file)

    base = df.select("unit_id", "name")
    lagging = None
    if ind_cols:
        long = (
            pl.DataFrame({"unit_id": df["unit_id"], **{c: values[c] for c in ind_cols}})
            .unpivot(index="unit_id", on=ind_cols, variable_name="indicator", value_name="value")
            .filter(pl.col("value").is_not_null())
        )
        used = [d for d in defs if d.code in ind_cols]
        contrib = rules.indicator_contributions(long, used)
        lagging = rules.lagging_reasons(contrib, used)
        if progress is None:
            scores = rules.progress_from_contributions(contrib)
            base = base.join(scores.select("unit_id", "progress"), on="unit_id", how="left",
                             maintain_order="left")
    if progress is not None:
        base = base.with_columns(progress=progress)
    return base.select("unit_id", "name", "progress"), lagging


# ----------------------------------------------------------------------------- HISTORY

def parse_date_text(text: str) -> dt.date | None:
    """A date as every path reads it (values.parse_date); None when blank or not a date."""
    try:
        return values.parse_date(text)
    except values.BadValue:
        return None


def load_history(path: str) -> pl.DataFrame:
    """Read HISTORY → `[unit_id (text), date]`. Empty file or header only → no rows."""
    empty = pl.DataFrame(schema={"unit_id": pl.String, "date": pl.Date})
    p = Path(path)
    if p.exists() and p.is_file() and p.suffix.lower() in TEXT_EXTS:
        raw = p.read_bytes()
        if not raw.replace(b"\xef\xbb\xbf", b"").strip(b" \t\r\n,;"):
            return empty
    try:
        frame = read_frame(path, expected=["unit_id", "date"])
    except BadInput as exc:
        if exc.message.startswith("文件是空的"):
            return empty
        raise
    df = _indexed(frame.df)
    if not df.height and not [c for c in df.columns if c != "_i"]:
        return empty  # e.g. a parquet file with no columns
    missing = [c for c in ("unit_id", "date") if c not in df.columns]
    if missing:
        raise BadInput("缺少列：" + "、".join(missing) + "。述职记录需要 unit_id、date 两列（可以没有数据行）",
                       file=frame.file)
    if not df.height:
        return empty
    errors: list[CellError] = []
    df = df.with_columns(_text(df, "unit_id").alias("unit_id"))
    for (i,) in df.filter(pl.col("unit_id").is_null()).select("_i").head(50).iter_rows():
        errors.append(CellError(frame.row_number(i), "unit_id", None, "单位编号不能为空"))
    dtype = df.schema["date"]
    if dtype == pl.Date:
        dates = df["date"]
    elif isinstance(dtype, pl.Datetime):
        dates = df["date"].dt.date()
    else:
        txt = df.select(_text(df, "date")).to_series()
        uniq = {t: parse_date_text(t) for t in txt.drop_nulls().unique().to_list()}
        dates = txt.replace_strict(uniq, default=None, return_dtype=pl.Date)
        bad = txt.is_not_null() & dates.is_null()
        for i, v in df.select("_i", pl.col("date").cast(pl.String)).filter(bad).head(50).iter_rows():
            errors.append(CellError(frame.row_number(i), "date", v, "不是有效日期，应为 YYYY-MM-DD，例如 2024-03-05"))
    no_date = df.select(_text(df, "date").is_null()).to_series()
    for (i,) in df.filter(no_date).select("_i").head(50).iter_rows():
        errors.append(CellError(frame.row_number(i), "date", None, "述职日期不能为空"))
    if errors:
        errors.sort(key=lambda e: (e.row or 0, e.column or ""))
        raise BadInput("述职记录有误，请修改后重试", errors, file=frame.file)
    return pl.DataFrame({"unit_id": df["unit_id"], "date": dates}).cast({"date": pl.Date})


# ----------------------------------------------------------------------------- command

def run_pick(args: argparse.Namespace) -> int:
    on = parse_date_arg(args.date)
    capacity = positive_int(args.capacity, "--capacity")
    cooldown = positive_int(args.cooldown_days, "--cooldown-days", allow_zero=True)
    out = output_path(args.output)

    units, lagging = load_units(args.units)
    history = load_history(args.history)
    unknown = rules.unknown_history_units(history, units)
    if unknown:
        shown = "、".join(str(u) for u in unknown[:10]) + ("等" if len(unknown) > 10 else "")
        _warn(f"述职记录中有 {len(unknown)} 个单位不在单位表中，已忽略：{shown}")
    later = history.filter(pl.col("date") > on).height
    if later:
        _warn(f"述职记录中有 {later} 条日期晚于 {on.isoformat()}，按当日尚未发生处理，已忽略")

    picked = rules.pick_units(units, history, on, capacity, cooldown, lagging=lagging)
    for note in rules.pick_notes(picked, units.height, capacity, cooldown):
        _warn(note)
    write_output(picked.select(OUTPUT_COLUMNS), out, args.output)
    return 0
