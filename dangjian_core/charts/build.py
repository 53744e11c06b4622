"""Drawing a chart: natural order of Chinese categories, filter → aggregate → order → altair."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from .. import vocab
from ..contracts import Dataset
from ..errors import BadInput
from .model import (
    MAX_CATEGORIES,
    MAX_FACETS,
    MAX_SERIES,
    MAX_SLICES,
    MAX_TABLE_ROWS,
    MISSING,
    OTHER,
    VALUE,
    ChartSpec,
    _as_bound,
    default_title,
    field_of,
    value_label,
)
from .style import CHART_HEIGHT, CHART_WIDTH, FMT, PALETTE, PARTY_RED, vega_spec

# -- natural order of Chinese categories ---------------------------------------------------
GRADES = ["好", "较好", "一般", "差"]
MONTHS_CN = ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月",
             "十一月", "十二月"]


def known_orders() -> list[list[str]]:
    """Every vocabulary order we know: each dict of code → label in vocab.py (so one added
    there is picked up), the appraisal grades and month names."""
    out = [GRADES, MONTHS_CN, [f"{i}月" for i in range(1, 13)]]
    for name in dir(vocab):
        value = getattr(vocab, name)
        if name.isupper() and isinstance(value, dict) and value and all(
                isinstance(v, str) for v in value.values()):
            out.append(list(value.values()))
    return out


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_NUM = re.compile(r"(?:(?<=第)[零〇一二两三四五六七八九十百]+|"
                     r"[零〇一二两三四五六七八九十百]+(?=[月年季期批届次号日周轮]))")


def _cn_int(text: str) -> int:
    if "十" not in text and "百" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, cur = 0, 0
    for c in text:
        if c == "百":
            total, cur = total + (cur or 1) * 100, 0
        elif c == "十":
            total, cur = total + (cur or 1) * 10, 0
        else:
            cur = _CN_DIGITS[c]
    return total + cur


# A cell of a dataset frame as polars gives it: str, int, float, Decimal, date, datetime or None.
Cell = Any


def _natural_key(text: str) -> tuple[tuple[int, float | str], ...]:
    text = _CN_NUM.sub(lambda m: str(_cn_int(m.group(0))), text)
    parts = re.split(r"(\d+(?:\.\d+)?)", text)
    return tuple((0, float(p)) if i % 2 else (1, p) for i, p in enumerate(parts) if p != "")


def has_natural_order(values: Iterable[Cell], declared: list[str] | None = None) -> bool:
    vals = {v for v in values if v is not None}
    if not vals:
        return True
    if declared and vals <= set(declared):
        return True
    if all(isinstance(v, (int, float, Decimal, date)) for v in vals):
        return True
    if any(vals <= set(seq) for seq in known_orders()):
        return True
    return all(re.search(r"\d", _CN_NUM.sub("0", str(v))) for v in vals)


def natural_order(values: Iterable[Cell], declared: list[str] | None = None) -> list[Cell]:
    """Distinct values in the order an office expects: the field's declared order, else a
    known vocabulary (先进/达标/后进, 好/较好/一般/差, categories, months), else by the numbers
    in them (2024年3月, 第二季度), else by text. Nulls last."""
    values = list(values)
    vals = list(dict.fromkeys(v for v in values if v is not None))
    has_null = any(v is None for v in values)
    out: list[Cell] = []
    if all(isinstance(v, (int, float, Decimal, date)) for v in vals):
        out = sorted(vals)
    else:
        rest = vals
        if declared:
            out = [v for v in declared if v in set(vals)]
            rest = [v for v in vals if v not in set(declared)]
        if rest:
            for seq in known_orders():
                if set(rest) <= set(seq):
                    rest = [v for v in seq if v in set(rest)]
                    break
            else:
                rest = sorted(rest, key=lambda v: _natural_key(str(v)))
        out += rest
    return out + [None] if has_null else out


def field_values(frame: pl.DataFrame, dataset: Dataset, name: str) -> list[Cell]:
    """Distinct values of a field in natural order (for filter pickers)."""
    f = dataset.field(name)
    if f is None or name not in frame.columns:
        return []
    return [v for v in natural_order(frame[name].unique().to_list(), f.order) if v is not None]


def filter_kind(frame: pl.DataFrame, name: str) -> str:
    """"range" for numbers and dates, "values" for categories."""
    dtype = frame.schema.get(name)
    if dtype is not None and (dtype.is_numeric() or dtype.is_temporal()):
        return "range"
    return "values"


@dataclass
class BuiltChart:
    """An altair chart and the aggregated data it shows. `table` has Chinese headers."""

    spec: ChartSpec
    dataset: Dataset
    chart: Any
    data: pl.DataFrame
    orders: dict[str, list[str]]
    value_label: str
    title: str

    @property
    def table(self) -> pl.DataFrame:
        return self.data.select(
            [pl.col(n).alias(field_of(self.dataset, n).label) for n in self.spec.dimensions()]
            + [pl.col(VALUE).alias(self.value_label)])

    @property
    def vega(self) -> dict[str, Any]:
        return vega_spec(self.chart)


def apply_filters(frame: pl.DataFrame, spec: ChartSpec, ds: Dataset) -> pl.DataFrame:
    exprs: list[pl.Expr] = []
    for name, cond in (spec.filters or {}).items():
        if ds.field(name) is None or not isinstance(cond, dict):
            continue
        col = pl.col(name)
        if cond.get("in"):
            wanted = list(cond["in"])
            if MISSING in wanted:
                exprs.append(col.cast(pl.String).is_in([str(v) for v in wanted if v != MISSING])
                             | col.is_null())
            else:
                exprs.append(col.cast(pl.String).is_in([str(v) for v in wanted]))
        dtype = frame.schema[name]
        for key, op in (("min", "ge"), ("max", "le")):
            bound = cond.get(key)
            if bound is None:
                continue
            value = _as_bound(bound)
            if dtype == pl.Date and isinstance(value, datetime):
                value = value.date()
            exprs.append(col.ge(pl.lit(value)) if op == "ge" else col.le(pl.lit(value)))
    return frame.filter(exprs) if exprs else frame


def _text(v: Cell) -> str:
    if v is None:
        return MISSING
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _date_text(values: list[Cell]) -> dict[Cell, str]:
    """Dates as Chinese text at the coarsest exact grain (2025年, 2025年3月, 2025-03-14)."""
    ds = [v for v in values if isinstance(v, date)]
    if ds and all(d.day == 1 for d in ds):
        if all(d.month == 1 for d in ds):
            return {d: f"{d.year}年" for d in ds}
        return {d: f"{d.year}年{d.month}月" for d in ds}
    return {}


def _aggregate(frame: pl.DataFrame, spec: ChartSpec, ds: Dataset) -> pl.DataFrame:
    keys = spec.dimensions()
    if spec.agg == "count" or not spec.y:
        expr = pl.len()
    else:
        col = pl.col(spec.y)
        if isinstance(frame.schema[spec.y], pl.Decimal):
            col = col.cast(pl.Float64)  # display only: money is exact in the core, rounded here
        expr = getattr(col, spec.agg)()
    out = frame.group_by(keys).agg(expr.alias(VALUE)).filter(pl.col(VALUE).is_not_null())
    if out.schema[VALUE].is_float():
        out = out.with_columns(pl.col(VALUE).round(2))
    return out


def build_chart(spec: ChartSpec, frame: pl.DataFrame, dataset: Dataset | None = None, *,
                width: int | None = None, height: int | None = None) -> BuiltChart:
    """Validate, filter, aggregate and draw. Raises BadInput (Chinese) instead of drawing
    something wrong: nothing chosen, an impossible combination, an empty filter result,
    too many categories."""
    ds = spec.validate(dataset)
    df = apply_filters(frame, spec, ds)
    if df.height == 0:
        raise BadInput("筛选后没有数据：请放宽或清除筛选条件。")
    data = _aggregate(df, spec, ds)
    if data.height == 0:
        raise BadInput(f"「{field_of(ds, spec.y).label}」在筛选出的数据中都是空的，没有可画的数值。")

    # order of each dimension, computed on the raw values (numbers, dates, Chinese labels)
    raw_orders: dict[str, list[Cell]] = {}
    for name in spec.dimensions():
        raw_orders[name] = natural_order(data[name].unique().to_list(), field_of(ds, name).order)
    x = spec.dimensions()[0]
    totals = data.group_by(x).agg(pl.col(VALUE).sum().alias("t"))
    total_of = dict(zip(totals[x].to_list(), totals["t"].to_list()))
    top = None
    xs = raw_orders[x]
    if spec.limit and spec.limit < len(xs):
        top = sorted(total_of, key=lambda v: (-(total_of[v] or 0), xs.index(v)))[:spec.limit]
        xs = raw_orders[x] = [v for v in xs if v in set(top)]
    sort = spec.sort
    if sort == "natural" and not has_natural_order(xs, field_of(ds, x).order):
        sort = "desc"  # streets, org names: no natural order, so largest first
    if spec.kind != "line" and sort in ("desc", "asc"):  # a line keeps its x in sequence
        sign = -1 if sort == "desc" else 1
        raw_orders[x] = sorted(xs, key=lambda v: (sign * (total_of.get(v) or 0), xs.index(v)))

    # every dimension becomes text, in the computed order
    orders: dict[str, list[str]] = {}
    for name, order in raw_orders.items():
        raw = natural_order(data[name].unique().to_list()) if name != x else list(total_of)
        mapping = {v: _text(v) for v in raw}
        mapping.update(_date_text(raw))
        orders[name] = [mapping[v] for v in order]
        mapping.pop(None, None)
        data = data.with_columns(pl.col(name).replace_strict(
            mapping, default=None, return_dtype=pl.String).fill_null(MISSING))
    if top is not None:
        kept = data.filter(pl.col(x).is_in(orders[x]))
        if spec.kind in ("pie", "donut"):  # a pie shows the whole: the rest becomes 其他
            keys = [spec.facet] if spec.facet else []
            others = data.filter(~pl.col(x).is_in(orders[x]))
            rest = (others.group_by(keys).agg(pl.col(VALUE).sum()) if keys
                    else others.select(pl.col(VALUE).sum()))
            rest = rest.with_columns(pl.lit(OTHER).alias(x)).select(kept.columns)
            kept = pl.concat([kept, rest.cast(kept.schema)])
            orders[x] = orders[x] + [OTHER]
        data = kept
    rank = {v: i for i, v in enumerate(orders[x])}
    data = data.with_columns(pl.col(x).replace_strict(rank, default=len(rank)).alias("_rank"))
    if spec.color:
        crank = {v: i for i, v in enumerate(orders[spec.color])}
        data = data.with_columns(pl.col(spec.color).replace_strict(crank, default=len(crank))
                                 .alias("_crank"))
    sort_cols = ["_rank"] + (["_crank"] if spec.color else [])
    if spec.facet:
        frank = {v: i for i, v in enumerate(orders[spec.facet])}
        data = data.with_columns(pl.col(spec.facet).replace_strict(frank, default=len(frank))
                                 .alias("_frank"))
        sort_cols = ["_frank"] + sort_cols
    data = data.sort(sort_cols)
    _check_size(spec, ds, orders)
    label = value_label(spec, ds)
    title = spec.title.strip() or default_title(spec, ds)
    chart = _draw(spec, ds, data, orders, label, title, width or CHART_WIDTH, height or CHART_HEIGHT)
    out = data.select([*spec.dimensions(), VALUE])
    return BuiltChart(spec, ds, chart, out, orders, label, title)


def _check_size(spec: ChartSpec, ds: Dataset, orders: dict[str, list[str]]) -> None:
    x = spec.dimensions()[0]
    n = len(orders[x])
    xl = field_of(ds, x).label
    if spec.kind in ("pie", "donut") and n > MAX_SLICES:
        raise BadInput(f"「{xl}」有 {n} 个分类，饼图最多 {MAX_SLICES} 个扇区：请用「只显示前几项」，"
                       "或改用柱状图。")
    limit = MAX_TABLE_ROWS if spec.kind == "table" else MAX_CATEGORIES
    if n > limit:
        raise BadInput(f"「{xl}」有 {n} 个分类，图太挤（最多 {limit} 个）：请加筛选条件，"
                       "或用「只显示前几项」。")
    if spec.color and len(orders[spec.color]) > (limit if spec.kind == "heatmap" else MAX_SERIES):
        raise BadInput(f"「{field_of(ds, spec.color).label}」有 {len(orders[spec.color])} 个分类，"
                       "分组太多：请换一个字段，或加筛选条件。")
    if spec.facet and len(orders[spec.facet]) > MAX_FACETS:
        raise BadInput(f"「{field_of(ds, spec.facet).label}」有 {len(orders[spec.facet])} 个分类，"
                       f"分面最多 {MAX_FACETS} 个小图：请换一个字段，或加筛选条件。")



def _draw(spec: ChartSpec, ds: Dataset, data: pl.DataFrame, orders: dict[str, list[str]], label: str,
          title: str, width: int, height: int) -> Any:
    """The altair chart (a Chart, LayerChart or FacetChart, hence Any)."""
    import altair as alt

    x, c, fct = spec.dimensions()[0], spec.color, spec.facet
    xl = field_of(ds, x).label
    cl = field_of(ds, c).label if c else None
    fmt = FMT
    tip = [alt.Tooltip(f"{n}:N", title=field_of(ds, n).label) for n in spec.dimensions()]
    tip.append(alt.Tooltip(f"{VALUE}:Q", title=label, format=fmt))
    # counts and sums of whole numbers: no 0.5 ticks
    val_axis = alt.Axis(tickMinStep=1) if data[VALUE].dtype.is_integer() else alt.Axis()
    base = alt.Chart(data)
    n = len(orders[x])
    longest = max((_label_px(v) for v in orders[x]), default=0)
    cols = min(3, len(orders[fct])) if fct else 1
    w = width if not fct else max(200, (width - 40 * cols) // cols)
    h = height if not fct else max(180, int(w * 0.6))

    mark_kw: dict[str, Any] = {} if c else {"color": PARTY_RED}
    chart: Any

    def color_enc(field_name: str, legend_title: str | None) -> alt.Color:
        order = orders[field_name]
        return alt.Color(f"{field_name}:N", sort=order, title=legend_title,
                         scale=alt.Scale(domain=order, range=(PALETTE * 3)[:len(order)]))

    if spec.kind in ("bar", "stacked"):
        horiz = spec.horizontal
        stacked = spec.kind == "stacked"
        angle = 0 if horiz or n * (longest + 12) < w * (1 if c is None or stacked else 0.9) else -40
        cat_axis = alt.Axis(labelAngle=angle, labelLimit=160) if not horiz else alt.Axis(labelLimit=200)
        cat = (alt.Y if horiz else alt.X)(f"{x}:N", sort=orders[x], title=xl, axis=cat_axis)
        val = (alt.X if horiz else alt.Y)(f"{VALUE}:Q", title=label, axis=val_axis,
                                          stack="zero" if stacked else None)
        enc: dict[str, Any] = {"y" if horiz else "x": cat, "x" if horiz else "y": val, "tooltip": tip}
        if c:
            enc["color"] = color_enc(c, cl)
            if stacked:
                enc["order"] = alt.Order("_crank:Q", sort="ascending")
            elif horiz:
                enc["yOffset"] = alt.YOffset(f"{c}:N", sort=orders[c])
            else:
                enc["xOffset"] = alt.XOffset(f"{c}:N", sort=orders[c])
        bars = base.mark_bar(**mark_kw).encode(**enc)
        text_kw: dict[str, Any] = dict(dx=5, align="left") if horiz else dict(dy=-6, baseline="bottom")
        if stacked and c:
            groupby: list[str | alt.FieldName] = [x, fct] if fct else [x]
            text = base.transform_aggregate(total=f"sum({VALUE})", groupby=groupby).mark_text(
                **text_kw).encode(**{"y" if horiz else "x": cat,
                                     "x" if horiz else "y": alt.X("total:Q") if horiz else alt.Y("total:Q"),
                                     "text": alt.Text("total:Q", format=fmt)})
        else:
            tenc = {k: v for k, v in enc.items() if k not in ("color", "tooltip", "order")}
            tenc["text"] = alt.Text(f"{VALUE}:Q", format=fmt)
            text = base.mark_text(**text_kw).encode(**tenc)
        chart = alt.layer(bars, text) if (n * max(1, len(orders[c]) if c and not stacked else 1)) <= 40 else bars
    elif spec.kind == "line":
        enc = {"x": alt.X(f"{x}:N", sort=orders[x], title=xl,
                          axis=alt.Axis(labelAngle=0 if n * (longest + 12) < w else -40)),
               "y": alt.Y(f"{VALUE}:Q", title=label, axis=val_axis), "tooltip": tip}
        if c:
            enc["color"] = color_enc(c, cl)
        line = base.mark_line(point=True, **mark_kw).encode(**enc)
        chart = line
        if not c and n <= 24:
            chart = alt.layer(line, base.mark_text(dy=-12).encode(
                x=enc["x"], y=enc["y"], text=alt.Text(f"{VALUE}:Q", format=fmt)))
    elif spec.kind in ("pie", "donut"):
        keys = [fct] if fct else []
        # radius from the plot area left after the title and legend (autosize "fit")
        r = "max(40, min(width, height) / 2 - 34)"
        if keys:
            sums = data.group_by(keys).agg(pl.col(VALUE).sum().alias("_sum"))
            d2 = data.join(sums, on=keys, maintain_order="left")
        else:
            d2 = data.with_columns(pl.lit(data[VALUE].sum()).alias("_sum"))
        d2 = d2.with_columns((pl.col(VALUE) / pl.col("_sum") * 100).round(1).alias("_pct"))
        # labels inside the slices (names are in the legend too): name and share on big
        # slices, the share on middling ones, nothing on slivers (the tooltip has them)
        pct_text = pl.col("_pct").cast(pl.String) + pl.lit("%")
        d2 = d2.with_columns(pl.when(pl.col("_pct") >= 8).then(pl.col(x) + pl.lit("\n") + pct_text)
                             .when(pl.col("_pct") >= 5).then(pct_text).otherwise(pl.lit(""))
                             .alias("_label"))
        pie_base = alt.Chart(d2)
        theta = alt.Theta(f"{VALUE}:Q", stack=True)
        arcs = pie_base.mark_arc(outerRadius=alt.expr(r),
                                 innerRadius=alt.expr(f"({r}) * 0.55") if spec.kind == "donut" else 0).encode(
            theta=theta, color=color_enc(x, xl), order=alt.Order("_rank:Q", sort="ascending"),
            tooltip=tip + [alt.Tooltip("_pct:Q", title="占比（%）")])
        inside = 0.775 if spec.kind == "donut" else 0.66
        labels = pie_base.mark_text(radius=alt.expr(f"({r}) * {inside}"), color="white",
                                    fontWeight="bold", lineBreak="\n", fontSize=15).encode(
            theta=theta, order=alt.Order("_rank:Q", sort="ascending"), text="_label:N")
        chart = alt.layer(arcs, labels)
    elif spec.kind == "heatmap" and c:
        top: Any = data[VALUE].max() or 0
        enc = dict(x=alt.X(f"{x}:N", sort=orders[x], title=xl,
                           axis=alt.Axis(labelAngle=0 if n * (longest + 12) < w * 0.85 else -40)),
                   y=alt.Y(f"{c}:N", sort=orders[c], title=cl))
        rect = base.mark_rect().encode(
            color=alt.Color(f"{VALUE}:Q", title=label, scale=alt.Scale(scheme="reds")),
            tooltip=tip, **enc)
        chart = rect
        if n * len(orders[c]) <= 300:
            chart = alt.layer(rect, base.mark_text(fontSize=13).encode(
                text=alt.Text(f"{VALUE}:Q", format=fmt),
                color=alt.condition(alt.datum[VALUE] > top * 0.6, alt.value("white"),
                                    alt.value("#222222")), **enc))
    else:  # table
        col_field = c or "_col"
        tdata = data if c else data.with_columns(pl.lit(label).alias("_col"))
        ncols = len(orders[c]) if c else 1
        chart = alt.Chart(tdata).mark_text(fontSize=15, align="center").encode(
            y=alt.Y(f"{x}:N", sort=orders[x], title=xl,
                    axis=alt.Axis(ticks=False, domain=False, labelFontSize=15, labelPadding=12,
                                  titleAngle=0, titleAlign="right", titleBaseline="bottom",
                                  titleY=-8, titleX=-12, titleFontWeight="bold")),
            x=alt.X(f"{col_field}:N", sort=orders[c] if c else None, title=cl,
                    axis=alt.Axis(orient="top", labelAngle=0, ticks=False, domain=False,
                                  labelFontSize=15, labelFontWeight="bold")),
            text=alt.Text(f"{VALUE}:Q", format=fmt), tooltip=tip)
        w = max(240, min(width, 110 * ncols))
        chart = chart.properties(width=w, height=alt.Step(30))
    if spec.kind != "table":
        chart = chart.properties(width=w, height=h)
    if fct:
        chart = chart.facet(facet=alt.Facet(f"{fct}:N", sort=orders[fct], title=None,
                                            header=alt.Header(labelFontWeight="bold")),
                            columns=cols)
    elif spec.kind != "table":
        chart = chart.properties(autosize=alt.AutoSizeParams(type="fit", contains="padding"))
    return chart.properties(title=alt.TitleParams(
        text=title, subtitle=spec.subtitle.strip() or alt.Undefined))


def _label_px(text: str, size: int = 14) -> float:
    """Rough width of an axis label: CJK characters are square, Latin about half."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in str(text))
