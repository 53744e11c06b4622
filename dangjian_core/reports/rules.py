"""述职评议 (duty-report scheduling): the pure rules, no database.

Everything here takes polars frames or dataclasses in and gives frames or dataclasses out, so
the web pages, the CLI (`reports pick`, contract in shared/spec/cli.md) and the tests call the
same code. Messages meant for users are in 简体中文 and raised as `BadInput`.

Contents
1. Indicators → progress score (`IndicatorDef`, `DEFAULT_INDICATORS`, `latest_values`,
   `indicator_contributions`, `progress_scores`, `lagging_reasons`).
2. Picking the units that report (`pick_units`, `pick_notes`, `coverage`).
3. Sessions: six a year, one every two months (`Session`, `default_sessions`,
   `validate_sessions`, `reschedule`).
4. Appraisal votes 好/较好/一般/差 (`tally_votes`, `rank_votes`).
5. The rectification chain 整改意见单 → 通报批评单 → 约谈单 (`escalation_proposals`,
   `escalate`, `validate_rectifications`, `check_close`).
6. Did reporting help? (`report_effect`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import polars as pl

from ..errors import BadInput, CellError

# --------------------------------------------------------------------------------------------
# 1. Indicators → progress score
# --------------------------------------------------------------------------------------------

Direction = Literal["higher_better", "lower_better"]


@dataclass(frozen=True)
class IndicatorDef:
    """One indicator of party-building progress.

    `target` is the value that earns the full 100 points, `floor` the value that earns 0.
    For `higher_better` the target is above the floor (e.g. a rate: floor 0, target 100);
    for `lower_better` it is below (e.g. overdue items: target 0, floor 3).
    `unit` is only for display (「%」「分」「项」); `max_value` is the largest value a user may
    enter (None: no upper bound); values are never negative.
    """

    code: str
    name_zh: str
    weight: float
    direction: Direction
    target: float
    floor: float
    unit: str = ""
    max_value: float | None = None

    def check(self) -> None:
        if self.direction not in ("higher_better", "lower_better"):
            raise BadInput(f"指标「{self.name_zh}」的方向「{self.direction}」无效，"
                           "应为 higher_better（越高越好）或 lower_better（越低越好）")
        for label, v in (("权重", self.weight), ("目标值", self.target), ("底线值", self.floor)):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise BadInput(f"指标「{self.name_zh}」的{label}「{v}」不是有效数字")
        if self.weight < 0:
            raise BadInput(f"指标「{self.name_zh}」的权重不能为负数（现为 {self.weight}）")
        if self.direction == "higher_better" and not self.target > self.floor:
            raise BadInput(f"指标「{self.name_zh}」越高越好，目标值（{self.target}）应大于底线值（{self.floor}）")
        if self.direction == "lower_better" and not self.target < self.floor:
            raise BadInput(f"指标「{self.name_zh}」越低越好，目标值（{self.target}）应小于底线值（{self.floor}）")


#: The default indicator set. The codes are also the column names the CLI accepts in UNITS
#: instead of `progress` (the Chinese names are accepted as column names too).
DEFAULT_INDICATORS: tuple[IndicatorDef, ...] = (
    IndicatorDef("dues_collection_rate", "党费收缴率", 20, "higher_better", 100, 0, "%", 100),
    IndicatorDef("site_assessment_score", "示范点考评得分", 15, "higher_better", 90, 60, "分", 100),
    IndicatorDef("open_rectifications", "未销号整改事项", 15, "lower_better", 0, 5, "项", None),
    IndicatorDef("overdue_rectifications", "逾期整改事项", 20, "lower_better", 0, 3, "项", None),
    IndicatorDef("ten_tasks_progress", "10件实事进度", 15, "higher_better", 100, 0, "%", 100),
    IndicatorDef("three_meetings_one_lesson_rate", "三会一课完成率", 15, "higher_better", 100, 0, "%", 100),
)


def check_defs(defs: Sequence[IndicatorDef]) -> None:
    """Each definition valid, codes unique, and the total weight above 0."""
    if not defs:
        raise BadInput("没有设置任何指标，无法计算进度分")
    seen: set[str] = set()
    for d in defs:
        d.check()
        if d.code in seen:
            raise BadInput(f"指标代码「{d.code}」重复")
        seen.add(d.code)
    if sum(d.weight for d in defs) <= 0:
        raise BadInput("所有指标的权重之和为 0，无法计算进度分：请至少给一个指标设置大于 0 的权重")


def _defs_frame(defs: Sequence[IndicatorDef]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "indicator": [d.code for d in defs],
            "name_zh": [d.name_zh for d in defs],
            "weight": [float(d.weight) for d in defs],
            "target": [float(d.target) for d in defs],
            "floor": [float(d.floor) for d in defs],
            "display_unit": [d.unit for d in defs],
            "order": list(range(len(defs))),
        }
    )


def latest_values(values: pl.DataFrame, period: str = "month", as_of: object = None) -> pl.DataFrame:
    """From a long history `[unit_id, indicator, <period>, value]` keep, per unit and
    indicator, the latest non-empty value whose period is on or before `as_of` (all periods
    when None). `period` may hold dates or sortable text such as ``2024-06``.
    Returns `[unit_id, indicator, value]`."""
    lf = values.lazy().filter(pl.col("value").is_not_null())
    if as_of is not None:
        lf = lf.filter(pl.col(period) <= pl.lit(as_of))
    return (
        lf.group_by("unit_id", "indicator")
        .agg(pl.col("value").sort_by(period, maintain_order=True).last())
        .sort("unit_id", "indicator")
        .collect()
    )


def indicator_contributions(values: pl.DataFrame, defs: Sequence[IndicatorDef] = DEFAULT_INDICATORS
                            ) -> pl.DataFrame:
    """Score each indicator value and its share of the unit's progress.

    Input `[unit_id, indicator, value]`, one row per unit and indicator (use `latest_values`
    first for a history); rows with an empty value are left out (the indicator is absent for
    that unit). Output, one row per present indicator:
    `unit_id, indicator, value, score, weight, share, contribution, shortfall` where

        score        = clamp(100 · (value − floor) / (target − floor), 0, 100)
                       (one formula for both directions: for lower_better target < floor)
        share        = weight / Σ weight of the indicators present for this unit
        contribution = share · score          (Σ over a unit = its progress)
        shortfall    = share · (100 − score)  (points lost; what `lagging_reasons` ranks by)
    """
    check_defs(defs)
    for col in ("unit_id", "indicator", "value"):
        if col not in values.columns:
            raise BadInput(f"指标数据缺少列「{col}」（需要 unit_id、indicator、value）")
    v = values.select("unit_id", "indicator", pl.col("value").cast(pl.Float64)).filter(
        pl.col("value").is_not_null()
    )
    known = {d.code for d in defs}
    unknown = sorted(set(v["indicator"].unique().to_list()) - known)
    if unknown:
        raise BadInput("指标数据中有未设置的指标代码：" + "、".join(map(str, unknown[:10]))
                       + "；可用的指标代码：" + "、".join(d.code for d in defs))
    bad = v.filter(pl.col("value").is_nan() | pl.col("value").is_infinite())
    if bad.height:
        raise BadInput("指标值必须是有限的数字", [
            CellError(None, str(r["indicator"]), r["value"], f"单位「{r['unit_id']}」的指标值无效")
            for r in bad.head(50).iter_rows(named=True)])
    dup = v.filter(pl.len().over("unit_id", "indicator") > 1)
    if dup.height:
        first = dup.row(0, named=True)
        raise BadInput(f"单位「{first['unit_id']}」的指标「{first['indicator']}」有多个值："
                       "每个单位每个指标只能有一个值（历史数据请先取最新值）")
    out = (
        v.join(_defs_frame(defs), on="indicator", how="left")
        .with_columns(
            score=_no_negative_zero((100.0 * (pl.col("value") - pl.col("floor"))
                                     / (pl.col("target") - pl.col("floor"))).clip(0.0, 100.0)),
            _wsum=pl.col("weight").sum().over("unit_id"),
        )
    )
    zero = out.filter(pl.col("_wsum") <= 0)["unit_id"].unique(maintain_order=True)
    if zero.len():
        raise BadInput("以下单位现有指标的权重之和为 0，无法计算进度分："
                       + "、".join(map(str, zero.head(10).to_list()))
                       + ("等" if zero.len() > 10 else "") + "。请补充其他指标数据或调整权重")
    return (
        out.with_columns(share=pl.col("weight") / pl.col("_wsum"))
        .with_columns(
            contribution=pl.col("share") * pl.col("score"),
            shortfall=pl.col("share") * (100.0 - pl.col("score")),
        )
        .sort("unit_id", "order")
        .select("unit_id", "indicator", "value", "score", "weight", "share", "contribution", "shortfall")
    )


def progress_from_contributions(contributions: pl.DataFrame) -> pl.DataFrame:
    """`[unit_id, progress, n_indicators]`: progress = Σ contribution, rounded to 1 decimal
    (the rounded value is the one ranked, so what is shown is what decides)."""
    return (
        contributions.group_by("unit_id")
        .agg(progress=_no_negative_zero(pl.col("contribution").sum().round(1)), n_indicators=pl.len().cast(pl.Int64))
        .sort("unit_id")
    )


def progress_scores(values: pl.DataFrame, defs: Sequence[IndicatorDef] = DEFAULT_INDICATORS
                    ) -> pl.DataFrame:
    """Progress score 0–100 per unit from indicator values `[unit_id, indicator, value]`.

    Formula: each indicator is normalised to 0–100 against its target and floor
    (``clamp(100·(value−floor)/(target−floor), 0, 100)``: at the target or better → 100, at
    the floor or worse → 0, linear between); the progress is the weighted mean of the
    normalised scores over the indicators the unit has, the weights renormalised over those
    present (a missing indicator neither helps nor hurts). Rounded to 1 decimal.
    A total weight of 0 (all definitions, or all indicators present for a unit) → BadInput.

    Returns `[unit_id, progress, n_indicators]` plus one `score_<code>` column per indicator
    (the normalised 0–100 score, empty when absent). The long per-indicator frame is
    `indicator_contributions(values, defs)`.
    """
    contrib = indicator_contributions(values, defs)
    wide = progress_from_contributions(contrib)
    per = contrib.select("unit_id", "indicator", "score")
    for d in defs:
        wide = wide.join(
            per.filter(pl.col("indicator") == d.code).select("unit_id", pl.col("score").alias(f"score_{d.code}")),
            on="unit_id", how="left", maintain_order="left")
    return wide


def _num_text(expr: pl.Expr) -> pl.Expr:
    """A number as short text: one decimal at most, no trailing ``.0``, never ``-0``."""
    return _no_negative_zero(expr.round(1)).cast(pl.String).str.replace(r"\.0$", "")


def _no_negative_zero(expr: pl.Expr) -> pl.Expr:
    """−0.0 → 0.0, so no text ever reads「-0.0」(−0.0 == 0 is true; `+ 0.0` would be
    simplified away by the query optimiser)."""
    return pl.when(expr != 0).then(expr).otherwise(pl.lit(0.0, pl.Float64))


def unit_sort_key(unit_id: pl.Series) -> pl.Series:
    """The one tie rule for unit ids, used by every path (CLI files, the web app): numeric
    order when every id is a whole number (``9`` before ``10``), otherwise text order by code
    point. Numeric ids that compare equal (``7`` and ``007``) fall back to the text."""
    if unit_id.dtype.is_integer():
        return unit_id.cast(pl.Int64)
    txt = unit_id.cast(pl.String).str.strip_chars()
    nums = txt.cast(pl.Int64, strict=False)
    if txt.null_count() == 0 and nums.null_count() == 0:
        return nums
    return unit_id.cast(pl.String)


ALL_TARGETS_MET = "各项指标均已达到目标"


def lagging_reasons(contributions: pl.DataFrame, defs: Sequence[IndicatorDef] = DEFAULT_INDICATORS,
                    top: int = 2) -> pl.DataFrame:
    """`[unit_id, lagging]`: for each unit the `top` indicators that cost it most points
    (largest shortfall; ties in definition order), e.g.
    「党费收缴率 62%（目标 100%）、三会一课完成率 40%（目标 100%）」;
    `ALL_TARGETS_MET` (「各项指标均已达到目标」) when none is below target."""
    d = _defs_frame(defs)
    c = contributions.join(d.select("indicator", "name_zh", "target", "display_unit", "order"),
                           on="indicator", how="left")
    lag = (
        c.filter(pl.col("score") < 100.0)
        .sort(["unit_id", "shortfall", "order"], descending=[False, True, False])
        .with_columns(_n=pl.int_range(pl.len()).over("unit_id"))
        .filter(pl.col("_n") < top)
        .with_columns(
            _txt=pl.concat_str(
                pl.col("name_zh"), pl.lit(" "), _num_text(pl.col("value")), pl.col("display_unit"),
                pl.lit("（目标 "), _num_text(pl.col("target")), pl.col("display_unit"), pl.lit("）"),
            )
        )
        .group_by("unit_id", maintain_order=True)
        .agg(lagging=pl.col("_txt").str.join("、"))
    )
    units = contributions.select("unit_id").unique(maintain_order=True)
    return units.join(lag, on="unit_id", how="left", maintain_order="left").with_columns(
        pl.col("lagging").fill_null(ALL_TARGETS_MET)
    )


# --------------------------------------------------------------------------------------------
# 2. Picking
# --------------------------------------------------------------------------------------------

COOLDOWN_DAYS = 120
_NEVER = 10**9  # sort key for "never reported": longer than any real wait


def check_capacity(capacity: object) -> int:
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise BadInput(f"名额数必须是正整数，收到「{capacity}」")
    if capacity <= 0:
        raise BadInput(f"名额数必须大于 0，收到「{capacity}」")
    return capacity


def _as_date(on: object) -> dt.date:
    if isinstance(on, dt.datetime):
        return on.date()
    if isinstance(on, dt.date):
        return on
    raise BadInput(f"日期「{on}」无效，应为 YYYY-MM-DD")


def _history_dates(history: pl.DataFrame) -> pl.DataFrame:
    for col in ("unit_id", "date"):
        if col not in history.columns:
            raise BadInput(f"述职记录缺少列「{col}」（需要 unit_id、date）")
    h = history.select("unit_id", "date")
    dtype = h.schema["date"]
    if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
        h = h.with_columns(pl.col("date").dt.date())
    elif dtype == pl.Null:
        h = h.with_columns(pl.col("date").cast(pl.Date))
    elif dtype != pl.Date:
        raise BadInput("述职记录的 date 列应为日期类型")
    return h.filter(pl.col("date").is_not_null())


def _check_units(units: pl.DataFrame) -> None:
    for col in ("unit_id", "name", "progress"):
        if col not in units.columns:
            raise BadInput(f"单位表缺少列「{col}」（需要 unit_id、name、progress）")
    errors: list[CellError] = []
    dup = units.with_row_index("_i").filter(pl.col("unit_id").is_duplicated())
    for r in dup.head(50).iter_rows(named=True):
        errors.append(CellError(None, "unit_id", r["unit_id"], "单位编号重复"))
    p = units.select(pl.col("unit_id"), pl.col("progress").cast(pl.Float64, strict=False).alias("p"),
                     pl.col("progress").alias("raw"))
    bad = p.filter(pl.col("p").is_null() | pl.col("p").is_nan() | (pl.col("p") < 0) | (pl.col("p") > 100))
    for r in bad.head(50).iter_rows(named=True):
        errors.append(CellError(None, "progress", r["raw"],
                                f"单位「{r['unit_id']}」的进度分应为 0–100 之间的数字"))
    if units.select(pl.col("unit_id").is_null().any()).item():
        errors.append(CellError(None, "unit_id", None, "单位编号不能为空"))
    if errors:
        raise BadInput("单位数据有误", errors)


def pick_units(
    units: pl.DataFrame,
    history: pl.DataFrame,
    on: dt.date,
    capacity: int,
    cooldown_days: int = COOLDOWN_DAYS,
    *,
    lagging: pl.DataFrame | None = None,
    exclude: Iterable[object] = (),
    today: dt.date | None = None,
) -> pl.DataFrame:
    """Choose the units that report at the session on `on` (rule of cli.md, `reports pick`).

    `exclude`: unit ids already on the list (kept by hand); they are not picked again, but the
    reason's position still counts them, so every reason on one list ranks among the same units.

    units   `[unit_id, name, progress]` (progress 0–100, higher is better; unique unit_id)
    history `[unit_id, date]` of past duty reports; reports dated after `on` are not yet
    known at `on` and are ignored; rows of units not in `units` are ignored.
    lagging optional `[unit_id, lagging]` (from `lagging_reasons`) for the reason text.
    today   the day the reason is written (「距今」 counts to it; the cool-down to `on`); by
            default `on` (the CLI's `--date`). When it is not `on`, a unit in its cool-down
            also says how long before the session its last report was (「距本场」).

    Order: units whose last report was `cooldown_days` (120) days or fewer before `on`
    (a report on `on` itself counts as 0 days) come after all others; within each group the
    lowest progress first; ties by the longer time since the last report (never reported
    counts as longest); then by unit_id (`unit_sort_key`: numeric when every id is a whole
    number, else text by code point — the same on the CLI and the web path).
    Returns exactly ``min(capacity, units.height)`` rows ordered by rank:
    `unit_id, name, progress, rank, reason, last_report, days_since_report, in_cooldown`.
    capacity ≤ 0 → BadInput. `pick_notes` tells when capacity exceeds the units, or when
    cool-down units had to be taken.
    """
    check_capacity(capacity)
    on = _as_date(on)
    today = on if today is None else _as_date(today)
    if isinstance(cooldown_days, bool) or not isinstance(cooldown_days, int) or cooldown_days < 0:
        raise BadInput(f"冷却期天数必须是不小于 0 的整数，收到「{cooldown_days}」")
    _check_units(units)
    h = _history_dates(history)
    if h.schema["unit_id"] != units.schema["unit_id"]:
        h = h.with_columns(pl.col("unit_id").cast(units.schema["unit_id"], strict=False))
    last = (
        h.filter(pl.col("date") <= on)
        .group_by("unit_id")
        .agg(last_report=pl.col("date").max())
    )
    n_units = units.height
    ranked = (
        units.select("unit_id", "name", _no_negative_zero(pl.col("progress").cast(pl.Float64)))
        .with_columns(_uid_key=unit_sort_key(units["unit_id"]), _uid_text=pl.col("unit_id").cast(pl.String))
        .join(last, on="unit_id", how="left", maintain_order="left")
        .with_columns(days_since_report=(pl.lit(on) - pl.col("last_report")).dt.total_days())
        .with_columns(
            in_cooldown=pl.col("days_since_report").is_not_null()
            & (pl.col("days_since_report") <= cooldown_days),
            _wait=pl.col("days_since_report").fill_null(_NEVER),
            _position=pl.col("progress").rank("min").cast(pl.Int64),
        )
        .filter(~pl.col("unit_id").is_in(list(exclude)) if exclude else pl.lit(True))
        .sort(["in_cooldown", "progress", "_wait", "_uid_key", "_uid_text"],
              descending=[False, False, True, False, False])
    )
    others = int((~ranked["in_cooldown"]).sum())
    df = ranked.head(capacity).with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    if lagging is not None and lagging.height:
        lag = lagging.select("unit_id", pl.col("lagging").cast(pl.String))
        if lag.schema["unit_id"] != df.schema["unit_id"]:
            lag = lag.with_columns(pl.col("unit_id").cast(df.schema["unit_id"], strict=False))
        df = df.join(lag.unique("unit_id", keep="first"), on="unit_id", how="left", maintain_order="left")
    else:
        df = df.with_columns(lagging=pl.lit(None, dtype=pl.String))
    date_txt = pl.col("last_report").dt.strftime("%Y-%m-%d")
    ago = (pl.lit(today) - pl.col("last_report")).dt.total_days()
    ahead = ago < 0  # a published session later than today (but not after this one)
    to_session = pl.concat_str(pl.lit("距本场 "), pl.col("days_since_report").cast(pl.String), pl.lit(" 天"))
    inner = pl.concat_str([
        pl.when(ahead).then(pl.lit(None, dtype=pl.String)).otherwise(
            pl.concat_str(pl.lit("距今 "), ago.cast(pl.String), pl.lit(" 天"))),
        pl.lit(None, dtype=pl.String) if today == on else
        pl.when(pl.col("in_cooldown") | ahead).then(to_session).otherwise(pl.lit(None, dtype=pl.String)),
        pl.when(pl.col("in_cooldown")).then(pl.lit(
            f"仍在 {cooldown_days} 天冷却期内；冷却期外的单位只有 {others} 个，不足名额 {capacity} 个，因此补选")),
    ], separator="，", ignore_nulls=True)
    history_txt = (
        pl.when(pl.col("last_report").is_null()).then(pl.lit("从未述职"))
        .otherwise(pl.concat_str(
            pl.when(ahead).then(pl.lit("已安排 ")).otherwise(pl.lit("上次述职 ")), date_txt,
            pl.when(ahead).then(pl.lit(" 述职（")).otherwise(pl.lit("（")), inner, pl.lit("）")))
    )
    reason = pl.concat_str(
        pl.lit("进度分 "), _no_negative_zero(pl.col("progress").round(2)).cast(pl.String),
        pl.lit("，"), rank_phrase_expr(pl.col("_position"), n_units),
        pl.when(pl.col("lagging").is_null()).then(pl.lit(""))
        .when(pl.col("lagging") == ALL_TARGETS_MET).then(pl.lit("；") + pl.col("lagging"))
        .otherwise(pl.lit("；滞后指标：") + pl.col("lagging")),
        pl.lit("；"), history_txt,
    )
    return df.with_columns(reason=reason).select(
        "unit_id", "name", "progress", "rank", "reason", "last_report", "days_since_report", "in_cooldown"
    )


RANK_WORDING = "全部 {n} 个单位中倒数第 {k}"


def rank_phrase(position: int, n_units: int) -> str:
    """The one wording of a unit's place by progress, lowest first (see RANK_WORDING);
    `rank_phrase_expr` is the same for a polars column."""
    return RANK_WORDING.format(n=n_units, k=position)


def rank_phrase_expr(position: pl.Expr, n_units: int) -> pl.Expr:
    head, tail = (part.format(n=n_units) for part in RANK_WORDING.split("{k}"))
    return pl.concat_str(pl.lit(head), position.cast(pl.String), pl.lit(tail))


def pick_notes(picked: pl.DataFrame, n_units: int, capacity: int, cooldown_days: int = COOLDOWN_DAYS
               ) -> list[str]:
    """Notes for the office about a pick (shown beside the result, printed by the CLI)."""
    notes = []
    if capacity > n_units:
        notes.append(f"名额 {capacity} 个，多于单位总数 {n_units} 个：全部 {n_units} 个单位入选")
    if "in_cooldown" in picked.columns:
        k = int(picked["in_cooldown"].sum())
        if k:
            notes.append(f"冷却期（{cooldown_days} 天）外的单位不足名额，另从近期已述职的单位中补选 {k} 个")
    return notes


def unknown_history_units(history: pl.DataFrame, units: pl.DataFrame) -> list[object]:
    """unit_ids named in the history but absent from the units, in first-seen order."""
    h = history.select(pl.col("unit_id").cast(pl.String))
    u = units.select(pl.col("unit_id").cast(pl.String))
    return h.join(u, on="unit_id", how="anti").unique(maintain_order=True)["unit_id"].to_list()


def coverage(history: pl.DataFrame, units: pl.DataFrame, year: int) -> pl.DataFrame:
    """Who reported in `year` and who never has, one row per unit (units' order):
    `unit_id, [name,] reports_in_year, last_report, status, status_zh` where status is
    `reported` (本年已述职), `not_this_year` (本年未述职，以前述过) or `never` (从未述职).
    Reports after the end of `year` are not counted."""
    h = _history_dates(history)
    if h.schema["unit_id"] != units.schema["unit_id"]:
        h = h.with_columns(pl.col("unit_id").cast(units.schema["unit_id"], strict=False))
    h = h.filter(pl.col("date") <= dt.date(year, 12, 31))
    agg = h.group_by("unit_id").agg(
        reports_in_year=(pl.col("date").dt.year() == year).sum().cast(pl.Int64),
        last_report=pl.col("date").max(),
    )
    cols = ["unit_id"] + (["name"] if "name" in units.columns else [])
    out = (
        units.select(cols)
        .join(agg, on="unit_id", how="left", maintain_order="left")
        .with_columns(pl.col("reports_in_year").fill_null(0))
        .with_columns(
            status=pl.when(pl.col("reports_in_year") > 0).then(pl.lit("reported"))
            .when(pl.col("last_report").is_not_null()).then(pl.lit("not_this_year"))
            .otherwise(pl.lit("never"))
        )
        .with_columns(
            status_zh=pl.col("status").replace_strict(
                {"reported": "本年已述职", "not_this_year": "本年未述职", "never": "从未述职"})
        )
    )
    return out


# --------------------------------------------------------------------------------------------
# 3. Sessions
# --------------------------------------------------------------------------------------------

SESSION_MONTHS = (2, 4, 6, 8, 10, 12)
SESSION_THEMES = {
    "year_start": "年初述职：上年工作总结和本年计划",
    "mid_year": "年中述职：半年总结和下半年计划",
    "year_end": "年底述职：全年考评",
    "ordinary": "常规述职：党建工作推进情况",
}


@dataclass(frozen=True)
class Session:
    seq: int            # 1..6 within the year
    date: dt.date
    kind: str           # year_start | ordinary | mid_year | year_end
    theme: str


def _default_day(year: int, month: int) -> dt.date:
    """The 25th of the month, moved back to the Friday before when it falls on a weekend."""
    d = dt.date(year, month, 25)
    while d.weekday() >= 5:
        d -= dt.timedelta(days=1)
    return d


def default_sessions(year: int) -> list[Session]:
    """Six sessions, one every two months (February, April, …, December, around the 25th,
    on a weekday). February is the year-start session (last year's work and this year's
    plan), June the mid-year one (half-year and plan for the second half), December the
    full-year appraisal; the other three are ordinary. Dates are editable (`reschedule`)."""
    kinds = {2: "year_start", 6: "mid_year", 12: "year_end"}
    out = []
    for i, m in enumerate(SESSION_MONTHS, start=1):
        kind = kinds.get(m, "ordinary")
        out.append(Session(i, _default_day(year, m), kind, SESSION_THEMES[kind]))
    return out


def validate_sessions(sessions: Iterable[Session], year: int | None = None) -> list[Session]:
    """Check that no two sessions share a date or a number (and, with `year`, that all fall in
    it). Returns the sessions sorted by date."""
    sessions = list(sessions)
    errors: list[CellError] = []
    by_date: dict[dt.date, Session] = {}
    seqs: set[int] = set()
    for s in sessions:
        if not isinstance(s.date, dt.date):
            errors.append(CellError(None, "date", s.date, f"第 {s.seq} 场的日期无效"))
            continue
        if s.date in by_date:
            errors.append(CellError(None, "date", s.date.isoformat(),
                                    f"第 {s.seq} 场与第 {by_date[s.date].seq} 场日期相同，两场述职不能安排在同一天"))
        else:
            by_date[s.date] = s
        if s.seq in seqs:
            errors.append(CellError(None, "seq", s.seq, "场次编号重复"))
        seqs.add(s.seq)
        if year is not None and s.date.year != year:
            errors.append(CellError(None, "date", s.date.isoformat(), f"第 {s.seq} 场不在 {year} 年内"))
    if errors:
        raise BadInput("述职场次安排有误", errors)
    return sorted(sessions, key=lambda s: s.date)


def reschedule(sessions: Sequence[Session], seq: int, new_date: dt.date) -> list[Session]:
    """Move session `seq` to `new_date`; the result is validated (no shared dates)."""
    if not any(s.seq == seq for s in sessions):
        raise BadInput(f"没有第 {seq} 场述职")
    return validate_sessions([replace(s, date=new_date) if s.seq == seq else s for s in sessions])


def sessions_frame(sessions: Sequence[Session]) -> pl.DataFrame:
    return pl.DataFrame(
        {"seq": [s.seq for s in sessions], "date": [s.date for s in sessions],
         "kind": [s.kind for s in sessions], "theme": [s.theme for s in sessions]},
        schema={"seq": pl.Int64, "date": pl.Date, "kind": pl.String, "theme": pl.String},
    )


# --------------------------------------------------------------------------------------------
# 4. Appraisal votes
# --------------------------------------------------------------------------------------------

GRADE_COLUMNS = ("good", "fairly_good", "average", "poor")
GRADE_ZH = {"good": "好", "fairly_good": "较好", "average": "一般", "poor": "差", "voters": "参评人数"}


@dataclass(frozen=True)
class VoteTally:
    good: int
    fairly_good: int
    average: int
    poor: int
    voters: int

    @property
    def good_rate(self) -> float:
        """Share of 好 + 较好 votes, in percent (not rounded)."""
        return 100.0 * (self.good + self.fairly_good) / self.voters


def tally_votes(good: object, fairly_good: object, average: object, poor: object, voters: object) -> VoteTally:
    """Validate one unit's votes: whole numbers, none negative, at least one voter, and the
    four grades adding up to the number of voters."""
    given = {"good": good, "fairly_good": fairly_good, "average": average, "poor": poor, "voters": voters}
    vals: dict[str, int] = {}
    errors = []
    for k, v in given.items():
        if isinstance(v, bool) or not isinstance(v, int):
            if isinstance(v, float) and v.is_integer():
                vals[k] = int(v)
                continue
            errors.append(CellError(None, GRADE_ZH[k], v, "票数应为整数"))
        elif v < 0:
            errors.append(CellError(None, GRADE_ZH[k], v, "票数不能为负数"))
        else:
            vals[k] = v
    if errors:
        raise BadInput("测评票数有误", errors)
    if vals["voters"] <= 0:
        raise BadInput("测评票数有误", [CellError(None, "参评人数", vals["voters"], "参评人数应大于 0")])
    total = vals["good"] + vals["fairly_good"] + vals["average"] + vals["poor"]
    if total != vals["voters"]:
        raise BadInput("测评票数有误", [CellError(
            None, "参评人数", vals["voters"],
            f"好、较好、一般、差四档票数之和（{total}）应等于参评人数（{vals['voters']}）")])
    return VoteTally(**vals)


def rank_votes(votes: pl.DataFrame, first_row: int | None = None) -> pl.DataFrame:
    """Rank units within one session by their 好+较好 rate.

    votes `[unit_id, good, fairly_good, average, poor, voters]`. Adds `good_rate` (percent,
    1 decimal) and `rank` (1 = best; by the exact rate, then by the share of 好 votes; equal
    units share a rank: 1, 2, 2, 4). Invalid rows → BadInput naming each row (`first_row` is
    the spreadsheet row of data row 0, when the frame came from a file)."""
    cols = ("unit_id",) + GRADE_COLUMNS + ("voters",)
    missing = [c for c in cols if c not in votes.columns]
    if missing:
        raise BadInput("测评数据缺少列：" + "、".join(missing))
    v = votes.with_columns([pl.col(c).cast(pl.Int64, strict=False).alias(f"_{c}") for c in cols[1:]])
    errors: list[CellError] = []
    rows = v.with_row_index("_i")

    def row_of(i: int) -> int | None:
        return None if first_row is None else first_row + i

    for c in cols[1:]:
        for r in rows.filter(pl.col(f"_{c}").is_null() | (pl.col(f"_{c}") < 0)).head(50).iter_rows(named=True):
            errors.append(CellError(row_of(r["_i"]), c, r[c], f"{GRADE_ZH[c]}票数应为不小于 0 的整数"))
    if not errors:
        total = sum(pl.col(f"_{c}") for c in GRADE_COLUMNS)
        for r in rows.filter(pl.col("_voters") <= 0).head(50).iter_rows(named=True):
            errors.append(CellError(row_of(r["_i"]), "voters", r["voters"], "参评人数应大于 0"))
        for r in rows.with_columns(_t=total).filter((pl.col("_t") != pl.col("_voters")) & (pl.col("_voters") > 0)
                                                    ).head(50).iter_rows(named=True):
            errors.append(CellError(row_of(r["_i"]), "voters", r["voters"],
                                    f"单位「{r['unit_id']}」好、较好、一般、差四档票数之和（{r['_t']}）应等于参评人数"))
    if errors:
        raise BadInput("测评票数有误", errors)
    rate = (pl.col("_good") + pl.col("_fairly_good")) / pl.col("_voters")
    good_share = pl.col("_good") / pl.col("_voters")
    return (
        v.with_columns(_rate=rate, _gs=good_share)
        .with_columns(
            good_rate=(pl.col("_rate") * 100).round(1),
            rank=pl.struct("_rate", "_gs").rank("min", descending=True).cast(pl.Int64),
        )
        .sort("rank", "unit_id")
        .drop([f"_{c}" for c in cols[1:]] + ["_rate", "_gs"])
    )


# --------------------------------------------------------------------------------------------
# 5. Rectification chain
# --------------------------------------------------------------------------------------------

LEVEL_NAMES = {1: "问题整改意见单", 2: "通报批评单", 3: "主要领导约谈单"}
ESCALATION_DAYS = 15


@dataclass(frozen=True)
class Escalation:
    level: int
    name: str
    issued: dt.date
    deadline: dt.date


def escalate(level: int, confirmed_on: dt.date, days: int = ESCALATION_DAYS) -> Escalation:
    """The next document once the office confirms a proposal on `confirmed_on`: one level up,
    issued that day, with a new deadline `confirmed_on + days` (default 15)."""
    if level not in LEVEL_NAMES:
        raise BadInput(f"整改级别「{level}」无效，应为 1、2 或 3")
    if level == 3:
        raise BadInput("已是主要领导约谈单（最高一级），不能再升级：请报分管领导研究处理")
    if days <= 0:
        raise BadInput(f"整改期限天数应大于 0，收到「{days}」")
    return Escalation(level + 1, LEVEL_NAMES[level + 1], confirmed_on, confirmed_on + dt.timedelta(days=days))


def check_close(opened: dt.date, closed: dt.date) -> None:
    """An item cannot be closed (销号) before it was opened (下发)."""
    if closed < opened:
        raise BadInput(f"销号日期（{closed.isoformat()}）不能早于下发日期（{opened.isoformat()}）")


def validate_rectifications(items: pl.DataFrame, first_row: int | None = None) -> None:
    """items `[item_id, unit_id, level, opened, deadline, closed]`: level 1–3, opened and
    deadline present, deadline not before opened, closed (if any) not before opened."""
    need = ("item_id", "unit_id", "level", "opened", "deadline", "closed")
    missing = [c for c in need if c not in items.columns]
    if missing:
        raise BadInput("整改事项缺少列：" + "、".join(missing))
    rows = items.with_row_index("_i")
    errors: list[CellError] = []

    def add(mask: pl.Expr, col: str, msg: str) -> None:
        for r in rows.filter(mask).head(50).iter_rows(named=True):
            errors.append(CellError(None if first_row is None else first_row + r["_i"], col,
                                    r[col], f"事项「{r['item_id']}」{msg}"))

    add(~pl.col("level").is_in([1, 2, 3]) | pl.col("level").is_null(), "level", "的级别应为 1、2 或 3")
    add(pl.col("opened").is_null(), "opened", "缺少下发日期")
    add(pl.col("deadline").is_null(), "deadline", "缺少整改期限")
    add(pl.col("deadline") < pl.col("opened"), "deadline", "的整改期限早于下发日期")
    add(pl.col("closed") < pl.col("opened"), "closed", "的销号日期早于下发日期，不能在下发之前销号")
    if errors:
        raise BadInput("整改事项数据有误", errors)


OVERDUE_COUNTS = {"calendar": "自然日", "working": "工作日（只扣除周六、周日，不含法定节假日调休）"}


def overdue_days_expr(deadline: pl.Expr, today: dt.date, count: str = "calendar") -> pl.Expr:
    """Days an item is overdue on `today`: the days after `deadline` up to and including
    `today`. "calendar" counts every day; "working" counts Monday–Friday only (there is no
    holiday table: public holidays and make-up working days are not known to the product)."""
    if count not in OVERDUE_COUNTS:
        raise BadInput(f"逾期天数的计算方式「{count}」无效，应为：{'、'.join(OVERDUE_COUNTS)}")
    if count == "calendar":
        return (pl.lit(today) - deadline).dt.total_days()
    # business_day_count counts [start, end): the day after the deadline … today
    return pl.business_day_count(deadline + pl.duration(days=1), pl.lit(today + dt.timedelta(days=1))).cast(pl.Int64)


def escalation_proposals(items: pl.DataFrame, today: dt.date, days: int = ESCALATION_DAYS,
                         overdue_count: str = "calendar") -> pl.DataFrame:
    """Open items past their deadline, with the proposed next step.

    Timing rule: an item is overdue from the day after its deadline (on the deadline day it
    is still in time); `days_overdue` = today − deadline (1 on the day after), or with
    `overdue_count="working"` the Monday–Friday days after the deadline up to today. An overdue
    open item proposes the next level (1 问题整改意见单 → 2 通报批评单 → 3 主要领导约谈单);
    the office confirms it with `escalate`, and the new document's deadline is the
    confirmation date + `days` (default 15) — `proposed_deadline` shows it for a
    confirmation today. An overdue level-3 item stays at 3 and is flagged (`at_top`).
    Closed items never propose anything. Ordered by days overdue (most first), then item_id.

    Returns `item_id, unit_id, level, level_name, deadline, days_overdue, proposed_level,
    proposed_name, proposed_deadline, at_top, note`.
    """
    validate_rectifications(items)
    today = _as_date(today)
    names = {str(k): v for k, v in LEVEL_NAMES.items()}
    over = (
        items.filter(pl.col("closed").is_null() & (pl.col("deadline") < today))
        .with_columns(
            level=pl.col("level").cast(pl.Int64),
            days_overdue=overdue_days_expr(pl.col("deadline"), today, overdue_count),
        )
        .with_columns(
            at_top=pl.col("level") >= 3,
            proposed_level=pl.min_horizontal(pl.col("level") + 1, pl.lit(3, dtype=pl.Int64)),
        )
        .with_columns(
            level_name=pl.col("level").cast(pl.String).replace_strict(names),
            proposed_name=pl.col("proposed_level").cast(pl.String).replace_strict(names),
            proposed_deadline=pl.when(pl.col("at_top")).then(pl.lit(None, dtype=pl.Date))
            .otherwise(pl.lit(today + dt.timedelta(days=days))),
        )
        .with_columns(
            note=pl.when(pl.col("at_top")).then(pl.concat_str(
                pl.lit("已是主要领导约谈单，仍逾期 "), pl.col("days_overdue").cast(pl.String),
                pl.lit(" 天：请报分管领导研究处理")))
            .otherwise(pl.concat_str(
                pl.lit("逾期 "), pl.col("days_overdue").cast(pl.String), pl.lit(" 天：建议下发"),
                pl.col("proposed_name"), pl.lit(f"，确认之日起 {days} 天内整改")))
        )
        .sort(["days_overdue", "item_id"], descending=[True, False])
    )
    return over.select("item_id", "unit_id", "level", "level_name", "deadline", "days_overdue",
                       "proposed_level", "proposed_name", "proposed_deadline", "at_top", "note")


# --------------------------------------------------------------------------------------------
# 6. Effect of reporting
# --------------------------------------------------------------------------------------------

def report_effect(scores_by_session: pl.DataFrame, reports: pl.DataFrame) -> pl.DataFrame:
    """Each report's progress before it and at the next two sessions.

    scores_by_session `[session_date, unit_id, progress]`: the score of each unit as measured
    for each session (the score at a session is taken before that session's reports).
    reports `[unit_id, date]`. A report on date D belongs to the latest session on or before D;
    `before` is the unit's score at that session, `after_1` / `after_2` at the next two
    sessions (empty when not yet held or not scored), `change_1` / `change_2` the differences.
    Returns `unit_id, report_date, session_date, before, after_1, after_2, change_1, change_2`
    ordered by report date, then unit_id."""
    for col in ("session_date", "unit_id", "progress"):
        if col not in scores_by_session.columns:
            raise BadInput(f"各场次进度分缺少列「{col}」")
    s = scores_by_session.select("session_date", "unit_id", pl.col("progress").cast(pl.Float64))
    sessions = (
        s.select("session_date").unique().sort("session_date")
        .with_columns(_k=pl.int_range(pl.len(), dtype=pl.Int64))
    )
    scored = s.join(sessions, on="session_date", how="left")
    r = _history_dates(reports).rename({"date": "report_date"}).sort("report_date")
    if r.schema["unit_id"] != s.schema["unit_id"]:
        r = r.with_columns(pl.col("unit_id").cast(s.schema["unit_id"], strict=False))
    r = r.join_asof(sessions.rename({"session_date": "_sd"}).with_columns(session_date=pl.col("_sd")),
                    left_on="report_date", right_on="_sd", strategy="backward").drop("_sd")

    def at(offset: int, name: str) -> pl.DataFrame:
        return scored.select("unit_id", (pl.col("_k") - offset).alias("_k"), pl.col("progress").alias(name))

    out = (
        r.join(at(0, "before"), on=["unit_id", "_k"], how="left")
        .join(at(1, "after_1"), on=["unit_id", "_k"], how="left")
        .join(at(2, "after_2"), on=["unit_id", "_k"], how="left")
        .with_columns(
            change_1=(pl.col("after_1") - pl.col("before")).round(2),
            change_2=(pl.col("after_2") - pl.col("before")).round(2),
        )
        .sort("report_date", "unit_id")
    )
    return out.select("unit_id", "report_date", "session_date", "before", "after_1", "after_2",
                      "change_1", "change_2")
