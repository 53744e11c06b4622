"""述职评议 indicators: where each value comes from — computed indicators
(`contracts.Indicator`: ``provider(cur, as_of) -> pl.DataFrame[unit_id, value]``, collected by
`registry.indicators()` from every subject's `INDICATORS`; this subject's own are `INDICATORS`
below) or else the entered / imported monthly values; the progress score of every unit
(`compute_scores`, `Scores`); the import of entered values (long or wide files). A computed
value wins over an entered one."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import polars as pl

from .. import clock, fileio, registry, tables
from ..auth import User, require
from ..contracts import Indicator
from ..db import Cursor, Database
from ..errors import CellError
from ..tables import ImportPreview, TableSpec
from . import rules
from .model import PERM, as_of_date, defs_from_frame, parse_period, period_of, query
from .specs import VALUES_SPEC

PROVIDER_ERRORS: dict[str, str] = {}    # indicator code → why its provider failed last time

# An item's deadline in force on a given day: the latest escalation issued by then, or the
# first deadline (the one the first escalation replaced, or the item's own if never escalated).
_EFFECTIVE_DEADLINE = """
SELECT r.id, r.unit_id, r.opened, r.closed,
       coalesce(
         (SELECT e.deadline FROM rectification_escalations e WHERE e.item_id = r.id AND e.issued <= $d
          ORDER BY e.issued DESC, e.id DESC LIMIT 1),
         (SELECT e.from_deadline FROM rectification_escalations e WHERE e.item_id = r.id
          ORDER BY e.issued, e.id LIMIT 1),
         r.deadline) AS deadline
FROM rectification_items r WHERE r.opened <= $d AND (r.closed IS NULL OR r.closed > $d)
"""


def _open_rectifications(cur: Cursor, period: object) -> pl.DataFrame:
    d = as_of_date(period)
    return query(cur, "SELECT CAST(o.id AS BIGINT) AS unit_id, CAST(count(r.id) AS DOUBLE) AS value FROM orgs o"
                   " LEFT JOIN rectification_items r ON r.unit_id = o.id AND r.opened <= $d"
                   " AND (r.closed IS NULL OR r.closed > $d) GROUP BY o.id", params={"d": d})


def _overdue_rectifications(cur: Cursor, period: object) -> pl.DataFrame:
    d = as_of_date(period)
    return query(cur, f"WITH open_items AS ({_EFFECTIVE_DEADLINE}) SELECT CAST(o.id AS BIGINT) AS unit_id,"
                   " CAST(count(i.id) AS DOUBLE) AS value FROM orgs o"
                   " LEFT JOIN open_items i ON i.unit_id = o.id AND i.deadline < $d GROUP BY o.id",
                   params={"d": d})


def _site_assessment_score(cur: Cursor, period: object) -> pl.DataFrame:
    """The latest site assessment total on or before the date (demonstration-site units only)."""
    d = as_of_date(period)
    return query(cur, "SELECT CAST(s.org_id AS BIGINT) AS unit_id, CAST(a.total AS DOUBLE) AS value"
                   " FROM site_assessments a JOIN sites s ON s.id = a.site_id WHERE a.assessed_on <= ?"
                   " QUALIFY row_number() OVER (PARTITION BY s.org_id ORDER BY a.assessed_on DESC, a.id DESC) = 1",
                   params=[d])


INDICATORS = (
    Indicator("open_rectifications", "未销号整改事项数", _open_rectifications, "整改跟踪（未销号事项数）"),
    Indicator("overdue_rectifications", "逾期整改事项数", _overdue_rectifications, "整改跟踪（逾期事项数）"),
    Indicator("site_assessment_score", "示范点考评得分", _site_assessment_score, "示范点考评（最近一次总分）"),
)


def indicator_choices(cur: Cursor) -> dict[str, str]:
    """The indicators defined now, code → name (in their 顺序)."""
    return {c: n for c, n in cur.execute("SELECT code, name FROM report_indicators ORDER BY position, id").fetchall()}


def _values_spec(choices: dict[str, str]) -> TableSpec:
    spec = copy.copy(VALUES_SPEC)  # a copy: the shared spec is never rewritten
    spec.columns = [replace(c, choices=choices) if c.name == "indicator" else c for c in VALUES_SPEC.columns]
    return spec


def values_spec(db: Database) -> TableSpec:
    """The value table's spec whose 指标 column offers the indicators defined now."""
    with db.read() as cur:
        return _values_spec(indicator_choices(cur))


def indicator_defs(cur: Cursor, *, enabled_only: bool = True) -> list[rules.IndicatorDef]:
    df = query(cur, "SELECT code, name, weight, direction, target, floor, display_unit, max_value, position, id, enabled"
                 " FROM report_indicators")
    if enabled_only:
        df = df.filter(pl.col("enabled"))
    return defs_from_frame(df)


def indicators(db: Database) -> pl.DataFrame:
    """The indicator settings with where each value comes from (for the settings screen)."""
    sources = {code: ind.source for code, ind in registry.indicators().items()}
    with db.read() as cur:
        df = query(cur, "SELECT i.*, (SELECT count(*) FROM report_indicator_values v WHERE v.indicator = i.code) AS n_values,"
                     " (SELECT max(period) FROM report_indicator_values v WHERE v.indicator = i.code) AS latest_period"
                     " FROM report_indicators i ORDER BY position, id")
    total = float(df.filter(pl.col("enabled"))["weight"].sum() or 0)
    return df.with_columns(
        source=pl.col("code").replace_strict(sources, default="录入或导入", return_dtype=pl.String),
        share=pl.when(pl.col("enabled") & (total > 0)).then(pl.col("weight") / total * 100).otherwise(None),
    )


# =============================================================================================
# Scores
# =============================================================================================
@dataclass
class Scores:
    """Every unit's progress score as of a date. `table`: unit_id, name, street, secretary,
    progress (None: no indicator data), n_indicators, lagging. `contributions`: one row per
    unit and indicator present (rules.indicator_contributions plus name/target/unit).
    `values`: the values used, with `source` (computed / entered)."""

    as_of: date
    defs: list[rules.IndicatorDef]
    table: pl.DataFrame
    contributions: pl.DataFrame
    values: pl.DataFrame
    no_data: int = 0

    def contributions_of(self, unit_id: int) -> pl.DataFrame:
        """Each indicator's part in one unit's score, ready to show."""
        c = self.contributions.filter(pl.col("unit_id") == int(unit_id))
        return c.select(
            pl.col("name_zh").alias("指标"),
            pl.concat_str(rules._num_text(pl.col("value")), pl.col("display_unit")).alias("数值"),
            pl.concat_str(rules._num_text(pl.col("target")), pl.col("display_unit")).alias("目标"),
            pl.col("score").round(1).alias("指标得分"),
            (pl.col("share") * 100).round(1).alias("权重占比%"),
            pl.col("contribution").round(1).alias("贡献分"),
            pl.col("shortfall").round(1).alias("失分"),
            pl.col("source_zh").alias("来源"),
        )


def units_frame(cur: Cursor) -> pl.DataFrame:
    return query(cur, "SELECT CAST(id AS BIGINT) AS unit_id, name, street, secretary FROM orgs ORDER BY id")


def indicator_values(cur: Cursor, as_of: date, defs: list[Any]) -> pl.DataFrame:
    """`[unit_id, indicator, value, source]` as of a date: for each enabled indicator the
    provider's value where there is one, else the latest entered value of a month on or
    before `as_of`'s month."""
    computed_by = registry.indicators()
    codes = [d.code for d in defs]
    entered = query(cur,
        "SELECT CAST(unit_id AS BIGINT) AS unit_id, indicator, arg_max(value, period) AS value"
        " FROM report_indicator_values WHERE period <= ? AND indicator IN (SELECT unnest(?)) GROUP BY ALL",
        params=[period_of(as_of), codes]).with_columns(source=pl.lit("entered"))
    parts = []
    for code in codes:
        ind = computed_by.get(code)
        if ind is None:
            continue
        try:
            got = ind.provider(cur, as_of)
        except Exception as exc:  # noqa: BLE001 — another subject's failure leaves its indicator without values
            PROVIDER_ERRORS[code] = f"{ind.source}：{type(exc).__name__}: {str(exc)[:160]}"
            continue
        PROVIDER_ERRORS.pop(code, None)
        if got is None or got.height == 0:
            continue
        parts.append(got.select(pl.col("unit_id").cast(pl.Int64), pl.lit(code).alias("indicator"),
                                pl.col("value").cast(pl.Float64), pl.lit("computed").alias("source")))
    computed = pl.concat(parts) if parts else entered.clear()
    computed = computed.filter(pl.col("value").is_not_null() & pl.col("value").is_finite() & (pl.col("value") >= 0)
                               ).unique(["unit_id", "indicator"], keep="first", maintain_order=True)
    entered = entered.join(computed.select("unit_id", "indicator"), on=["unit_id", "indicator"], how="anti")
    return pl.concat([computed, entered]).sort("unit_id", "indicator")


def compute_scores(cur: Cursor, as_of: date, defs: list[Any] | None = None) -> Scores:
    """Each unit's progress score as of `as_of` (rules.progress_scores' formula)."""
    defs = defs if defs is not None else indicator_defs(cur)
    rules.check_defs(defs)
    units = units_frame(cur)
    vals = indicator_values(cur, as_of, defs).join(units.select("unit_id"), on="unit_id", how="semi")
    weights = pl.DataFrame({"indicator": [d.code for d in defs], "_w": [float(d.weight) for d in defs]})
    vals = (vals.join(weights, on="indicator", how="left")
            .filter(pl.col("_w").sum().over("unit_id") > 0).drop("_w"))
    contrib = rules.indicator_contributions(vals.select("unit_id", "indicator", "value"), defs)
    progress = rules.progress_from_contributions(contrib)
    lag = rules.lagging_reasons(contrib, defs)
    table = (units.join(progress, on="unit_id", how="left", maintain_order="left")
             .join(lag, on="unit_id", how="left", maintain_order="left"))
    d = rules._defs_frame(defs).select("indicator", "name_zh", "target", "floor", "display_unit")
    contrib = (contrib.join(d, on="indicator", how="left", maintain_order="left")
               .join(vals.select("unit_id", "indicator", "source"), on=["unit_id", "indicator"], how="left",
                     maintain_order="left")
               .with_columns(source_zh=pl.when(pl.col("source") == "computed")
                             .then(pl.lit("自动计算")).otherwise(pl.lit("录入/导入"))))
    return Scores(as_of, list(defs), table, contrib, vals, int(table["progress"].null_count()))


def scores(db: Database, as_of: date | None = None) -> Scores:
    with db.read() as cur:
        return compute_scores(cur, as_of or clock.today())


# =============================================================================================
# Indicator values import (long or wide files)
# =============================================================================================
class _RowFrame(fileio.Frame):
    """A frame whose rows came from other spreadsheet rows (a wide file made long)."""

    def __init__(self, df: pl.DataFrame, file: str, first_row: int, rows: list[int]) -> None:
        super().__init__(df=df, file=file, first_row=first_row)
        self._rows = rows

    def row_number(self, index: int) -> int:
        return self._rows[index] if 0 <= index < len(self._rows) else self.first_row + index


def import_indicator_values(db: Database, user: User, frame: fileio.Frame, *, period: object = None, commit: bool = False) -> ImportPreview:
    """Import entered indicator values through the table write path (all or nothing).

    Long files: 单位, 指标, 月份, 数值[, 备注]. Wide files: 单位[, 月份] and one column per
    indicator (its name or code) — `period` gives the month when the file has no 月份 column.
    A row for a unit, indicator and month that already has a value updates it."""
    require(user, PERM)
    with db.read() as cur:
        choices = indicator_choices(cur)
        orgs = dict(cur.execute("SELECT name, id FROM orgs").fetchall())
    by_header = {**{c: c for c in choices}, **{n: c for c, n in choices.items()}}
    df = frame.df.rename({c: c.strip() for c in frame.df.columns})
    unit_col = next((c for c in ("单位", "unit_id", "单位名称", "name") if c in df.columns), None)
    rows = [frame.row_number(i) for i in range(df.height)]
    if "指标" not in df.columns and "indicator" not in df.columns:
        ind_cols = [c for c in df.columns if c in by_header]
        if unit_col is None or not ind_cols:
            return ImportPreview(0, 0, 0, [CellError(frame.first_row - 1, None, None,
                                 "表头应为「单位、指标、月份、数值」，或「单位、月份」加各指标名称（如「10件实事进度」）")], [])
        month_col = next((c for c in ("月份", "period") if c in df.columns), None)
        p = parse_period(period) if period is not None else None
        if month_col is None and p is None:
            return ImportPreview(0, 0, 0, [CellError(frame.first_row - 1, "月份", period,
                                 "文件没有「月份」列：请在页面上选择这些数值所属的月份")], [])
        base = df.with_columns(_row=pl.Series(rows, dtype=pl.Int64),
                               _month=pl.col(month_col).cast(pl.String) if month_col else pl.lit(p))
        long = (base.unpivot(on=ind_cols, index=[unit_col, "_month", "_row"], variable_name="指标", value_name="数值")
                .filter(pl.col("数值").is_not_null() & (pl.col("数值").cast(pl.String).str.strip_chars() != ""))
                .with_columns(pl.col("指标").replace_strict(by_header))
                .sort("_row", maintain_order=True))
        df = long.select(pl.col(unit_col).cast(pl.String).alias("单位"), "指标", pl.col("_month").alias("月份"),
                         pl.col("数值").cast(pl.String))
        rows = long["_row"].to_list()
    # normalise the month, find the row each (unit, indicator, month) already has
    month_src = next((c for c in ("月份", "period") if c in df.columns), None)
    ind_src = next((c for c in ("指标", "indicator") if c in df.columns), None)
    unit_src = next((c for c in ("单位", "unit_id", "单位名称", "name") if c in df.columns), None)
    if month_src:
        df = df.with_columns(pl.col(month_src).map_elements(lambda v: parse_period(v) or v, return_dtype=pl.String))
    if month_src and ind_src and unit_src and df.height:
        uid = [orgs.get(str(v).strip()) if v is not None and str(v).strip() in orgs else
               (int(str(v).strip()) if v is not None and str(v).strip().isdigit() else None) for v in df[unit_src].to_list()]
        codes = [by_header.get(str(v).strip(), str(v).strip()) if v is not None else None for v in df[ind_src].to_list()]
        key = pl.DataFrame({"_i": range(df.height), "unit_id": uid, "indicator": codes,
                            "period": df[month_src].to_list()},
                           schema={"_i": pl.Int64, "unit_id": pl.Int64, "indicator": pl.String, "period": pl.String})
        with db.read() as cur:
            cur.register("imp_keys", key)
            found = query(cur, "SELECT k._i, v.id FROM imp_keys k JOIN report_indicator_values v ON v.unit_id = k.unit_id"
                            " AND v.indicator = k.indicator AND v.period = k.period")
            cur.unregister("imp_keys")
        ids = dict(zip(found["_i"].to_list(), found["id"].to_list()))
        df = df.with_columns(pl.Series("编号", [ids.get(i) for i in range(df.height)], dtype=pl.Int64))
    mapped = _RowFrame(df, frame.file, frame.first_row, rows)
    # a value file is a month's figures, matched by unit, indicator and month (not an export of
    # ours with versions): updating the stored value is what it is for
    return tables.import_frame(db, user, _values_spec(choices), mapped, commit=commit, confirm_overwrite=True,
                               description=f"导入述职指标数值：{frame.file}")
