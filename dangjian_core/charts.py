"""简报图表: ad-hoc charts for briefings over curated datasets, exported as PNG/SVG/xlsx.

Four parts, top to bottom:

1. **Datasets** — named, documented views over our data, each with Chinese field labels and
   kinds. The chart page never builds SQL from what a user types: a user picks a dataset and
   fields *by code name*, and every filter and aggregation is done in polars on the frame the
   dataset's loader returned. Workflow modules register their own datasets::

       from dangjian_core.charts import Dataset, Field, register_dataset

       register_dataset(Dataset(
           code="sites_by_status", label="示范点（按状态）", description="……",
           fields=[Field("status", "状态", "ordinal", order=["创建单位", "正式示范点", ...]),
                   Field("year", "创建年度", "ordinal"),
                   Field("score", "考评得分", "quantitative")],
           loader=lambda db, user: ...pl.DataFrame with those columns...,
           perm="read", tables=("sites",), count_label="示范点数"))

   at import time of their module; the module must be listed in `DATASET_MODULES` (the demo
   workflow modules are, by default). A dataset whose `tables` do not exist in the database
   yet, or whose permission the user lacks, is simply absent from `available_datasets`.
2. **ChartSpec** — what the user chose (dataset, chart type, x / y / colour / facet fields,
   aggregation, filters, sort, top-N, title). `validate()` raises `BadInput` in Chinese for a
   combination that cannot be drawn; `build_chart` turns a valid spec and a dataset frame into
   an altair chart plus the aggregated table behind it.
3. **House style and export** — `HOUSE_CONFIG` (party red first, large type for projectors,
   a CJK font) is merged under any chart's own config by `vega_spec`; `export_png` (2× for
   slides) and `export_svg` render offline with vl-convert; `export_xlsx` writes the data.
4. **Saved charts** — `save_chart` / `delete_chart` / `list_charts` over table `charts`
   (migration 050), permission `charts.write`, audited and revertible like every write.
"""

from __future__ import annotations

import copy
import glob
import importlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from . import audit, clock, vocab
from .auth import User, require
from .errors import BadInput, ConflictError, DangjianError, NotFound

log = logging.getLogger(__name__)

KINDS = ("nominal", "ordinal", "quantitative", "temporal")

CHART_TYPES = {
    "bar": "柱状图",
    "stacked": "堆叠柱状图",
    "line": "折线图",
    "pie": "饼图",
    "donut": "环形图",
    "heatmap": "热力图",
    "table": "表格",
}
AGGREGATIONS = {"count": "计数", "sum": "求和", "mean": "平均值", "min": "最小值", "max": "最大值"}
_AGG_SHORT = {"sum": "合计", "mean": "平均", "min": "最小", "max": "最大"}
SORTS = {"natural": "自然顺序", "desc": "按数值从大到小", "asc": "按数值从小到大"}
MISSING = "（未填）"
OTHER = "其他"
VALUE = "value"  # the aggregated measure's column name in chart data

# Limits that keep a chart readable; beyond them the user is told to filter or take top N.
MAX_CATEGORIES = 60
MAX_SLICES = 12
MAX_SERIES = 20
MAX_FACETS = 12
MAX_TABLE_ROWS = 500
MAX_NAME = 40
MAX_TITLE = 60
MAX_SUBTITLE = 120

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


# =========================================================================================
# 1. Datasets
# =========================================================================================
@dataclass(frozen=True)
class Field:
    """One column of a dataset frame. `order`: the natural order of its (Chinese) values."""

    name: str
    label: str
    kind: str = "nominal"          # nominal | ordinal | quantitative | temporal
    order: list[str] | None = None
    unit: str = ""
    description: str = ""

    @property
    def is_measure(self) -> bool:
        return self.kind == "quantitative"


@dataclass(frozen=True)
class Dataset:
    """A named view over our data. `loader(db, user) -> pl.DataFrame` returns one row per
    counted thing (an org, a member, a payment…) with a column per field, nominal values
    already in Chinese. `tables`: the tables it reads (absent from the list until they all
    exist). `count_label`: what "计数" counts, e.g. 党组织数."""

    code: str
    label: str
    description: str
    fields: list[Field]
    loader: Callable[[Any, User], pl.DataFrame]
    perm: str = "read"
    tables: tuple[str, ...] = ()
    count_label: str = "数量"

    def field(self, name: str | None) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def dimensions(self) -> list[Field]:
        return [f for f in self.fields if not f.is_measure]

    @property
    def measures(self) -> list[Field]:
        return [f for f in self.fields if f.is_measure]


DATASETS: dict[str, Dataset] = {}

# Modules imported before listing datasets, so the ones they register appear. A module that is
# missing is skipped (its feature has not landed yet).
DATASET_MODULES: list[str] = ["sites", "dues_store", "dues", "reports", "observation_store"]


def register_dataset(dataset: Dataset | None = None, /, **kwargs) -> Dataset:
    """Add (or replace) a dataset: `register_dataset(Dataset(...))` or
    `register_dataset(code=..., label=..., description=..., fields=[...], loader=...)`.
    Mistakes here are programming errors (ValueError), found by the module's own tests."""
    ds = dataset if dataset is not None else Dataset(**kwargs)
    if not _IDENT.match(ds.code):
        raise ValueError(f"dataset code must be lower_snake_case: {ds.code!r}")
    if not ds.fields:
        raise ValueError(f"dataset {ds.code} has no fields")
    names = set()
    for f in ds.fields:
        if not _IDENT.match(f.name) or f.name == VALUE:
            raise ValueError(f"dataset {ds.code}: bad field name {f.name!r}")
        if f.kind not in KINDS:
            raise ValueError(f"dataset {ds.code}: field {f.name} kind {f.kind!r} not in {KINDS}")
        if f.name in names:
            raise ValueError(f"dataset {ds.code}: field {f.name} twice")
        names.add(f.name)
    if not ds.dimensions:
        raise ValueError(f"dataset {ds.code} needs at least one non-quantitative field")
    DATASETS[ds.code] = ds
    return ds


_imported: set[str] = set()


def _import_dataset_modules() -> None:
    """Import each module of DATASET_MODULES once per process (their import registers)."""
    for name in DATASET_MODULES:
        if name in _imported:
            continue
        _imported.add(name)
        try:
            importlib.import_module(f"dangjian_core.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"dangjian_core.{name}":
                log.warning("datasets of %s not loaded: %s", name, exc)
        except Exception as exc:  # noqa: BLE001 — one broken module must not hide the others
            log.warning("datasets of %s not loaded: %s", name, exc)


def get_dataset(code: str) -> Dataset:
    _import_dataset_modules()
    ds = DATASETS.get(code)
    if ds is None:
        raise BadInput(f"数据集「{code}」不存在（可能已被停用或改名）：请重新选择数据集。")
    return ds


def _existing_tables(db) -> set[str]:
    with db.read() as cur:
        return {r[0] for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()}


def available_datasets(db, user: User) -> list[Dataset]:
    """The datasets this user may chart now: permission held and every table present."""
    _import_dataset_modules()
    have = _existing_tables(db)
    return [d for d in DATASETS.values()
            if user.can(d.perm) and all(t in have for t in d.tables)]


def load_frame(db, user: User, dataset: Dataset | str) -> pl.DataFrame:
    """The dataset's rows for this user, checked against its declared fields."""
    import duckdb

    ds = get_dataset(dataset) if isinstance(dataset, str) else dataset
    require(user, ds.perm)
    missing = [t for t in ds.tables if t not in _existing_tables(db)]
    if missing:
        raise BadInput(f"数据集「{ds.label}」暂不可用：相关数据表尚未建立。")
    try:
        frame = ds.loader(db, user)
    except duckdb.CatalogException as exc:
        raise BadInput(f"数据集「{ds.label}」暂不可用：相关数据表尚未建立。") from exc
    absent = [f.label for f in ds.fields if f.name not in frame.columns]
    if absent:
        raise DangjianError(f"数据集「{ds.label}」缺少字段：{'、'.join(absent)}。请联系系统管理员。")
    return frame.select([f.name for f in ds.fields])


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


def _natural_key(text: str):
    text = _CN_NUM.sub(lambda m: str(_cn_int(m.group(0))), text)
    parts = re.split(r"(\d+(?:\.\d+)?)", text)
    return tuple((0, float(p)) if i % 2 else (1, p) for i, p in enumerate(parts) if p != "")


def has_natural_order(values, declared: list[str] | None = None) -> bool:
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


def natural_order(values, declared: list[str] | None = None) -> list:
    """Distinct values in the order an office expects: the field's declared order, else a
    known vocabulary (先进/达标/后进, 好/较好/一般/差, categories, months), else by the numbers
    in them (2024年3月, 第二季度), else by text. Nulls last."""
    vals = list(dict.fromkeys(v for v in values if v is not None))
    has_null = any(v is None for v in values)
    if all(isinstance(v, (int, float, Decimal, date)) for v in vals):
        out = sorted(vals)
    else:
        out = []
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


def field_values(frame: pl.DataFrame, dataset: Dataset, name: str) -> list:
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


# =========================================================================================
# 2. ChartSpec
# =========================================================================================
@dataclass
class ChartSpec:
    """What a user chose. `y` is the measure (a quantitative field; None when counting).
    For a heat map `color` is the second dimension (drawn on the vertical axis) and the
    measure colours the cells; for a table `color` spreads into columns.
    `filters`: {field: {"in": [values]}} or {field: {"min": a, "max": b}}.
    `limit`: only the N categories with the largest values."""

    dataset: str
    kind: str = "bar"
    x: str | None = None
    y: str | None = None
    agg: str = "count"
    color: str | None = None
    facet: str | None = None
    filters: dict = field(default_factory=dict)
    sort: str = "natural"
    limit: int | None = None
    horizontal: bool = False
    title: str = ""
    subtitle: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, data: dict) -> ChartSpec:
        if not isinstance(data, dict) or not data.get("dataset"):
            raise BadInput("图表配置已损坏：缺少数据集。请重新制作后保存。")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        spec = cls(**known)
        if not isinstance(spec.filters, dict):
            spec.filters = {}
        return spec

    @classmethod
    def from_json(cls, text: str) -> ChartSpec:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise BadInput("图表配置已损坏，无法读取。请重新制作后保存。") from exc
        return cls.from_dict(data)

    # -- validation ----------------------------------------------------------------------
    def validate(self, dataset: Dataset | None = None) -> Dataset:
        """Raise BadInput (Chinese, saying what to choose) when this cannot be drawn."""
        ds = dataset or get_dataset(self.dataset)
        problems: list[str] = []

        def need_field(role: str, name: str | None) -> Field | None:
            if name is None or name == "":
                return None
            f = ds.field(name)
            if f is None:
                problems.append(f"{role}使用的字段「{name}」已不在数据集「{ds.label}」中"
                                "（数据集已变化），请重新选择")
            return f

        if self.kind not in CHART_TYPES:
            problems.append(f"不认识的图表类型「{self.kind}」，可选：{'、'.join(CHART_TYPES.values())}")
        if self.agg not in AGGREGATIONS:
            problems.append(f"不认识的统计方式「{self.agg}」，可选：{'、'.join(AGGREGATIONS.values())}")
        if self.sort not in SORTS:
            problems.append(f"不认识的排序方式「{self.sort}」")
        kind_label = CHART_TYPES.get(self.kind, "图表")
        x = need_field("横轴（分类）", self.x)
        y = need_field("数值", self.y)
        color = need_field("颜色分组", self.color)
        facet = need_field("分面", self.facet)
        if self.x in (None, ""):
            problems.append("请选择横轴（分类）字段：图表按它分组")
        for role, f in (("横轴（分类）", x), ("颜色分组", color), ("分面", facet)):
            if f is not None and f.is_measure:
                problems.append(f"「{f.label}」是数值字段，不能用作{role}：请选择分类字段，"
                                "数值字段请放在「数值」")
        if self.agg != "count" and self.agg in AGGREGATIONS:
            if self.y in (None, ""):
                problems.append(f"统计方式「{AGGREGATIONS[self.agg]}」需要选择一个数值字段；"
                                "只想数个数请选「计数」")
            elif y is not None and not y.is_measure:
                problems.append(f"「{y.label}」不是数值字段，不能{AGGREGATIONS[self.agg]}：请选择数值字段，"
                                "或改用「计数」")
        named = [n for n in (self.x, self.color, self.facet) if n]
        if len(set(named)) < len(named):
            problems.append("横轴、颜色分组和分面不能选同一个字段")
        if self.kind in ("pie", "donut"):
            if self.color:
                problems.append(f"{kind_label}只能按一个分类分扇区：请清空「颜色分组」，"
                                "或改用堆叠柱状图")
            if self.agg not in ("count", "sum"):
                problems.append(f"{kind_label}表示各部分占总数的比例，统计方式只能是「计数」或「求和」")
        if self.kind == "heatmap" and not self.color:
            problems.append("热力图需要两个分类：请在「纵轴分类」中再选一个字段")
        if self.limit is not None:
            if not isinstance(self.limit, int) or isinstance(self.limit, bool) or self.limit < 1:
                problems.append("「只显示前几项」应为正整数")
        if len(self.title or "") > MAX_TITLE:
            problems.append(f"标题太长：最多 {MAX_TITLE} 个字")
        if len(self.subtitle or "") > MAX_SUBTITLE:
            problems.append(f"副标题太长：最多 {MAX_SUBTITLE} 个字")
        for name, cond in (self.filters or {}).items():
            f = need_field("筛选条件", name)
            if f is None or not isinstance(cond, dict):
                continue
            lo, hi = cond.get("min"), cond.get("max")
            if lo is not None and hi is not None:
                try:
                    if _as_bound(lo) > _as_bound(hi):
                        problems.append(f"筛选条件「{f.label}」的下限大于上限")
                except (TypeError, ValueError):
                    problems.append(f"筛选条件「{f.label}」的范围无法识别")
        if problems:
            raise BadInput("这张图画不出来：" + "；".join(dict.fromkeys(problems)) + "。")
        return ds


def _as_bound(v):
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return date.fromisoformat(v)
    if isinstance(v, (int, float, Decimal, date)):
        return v
    return float(v)


def value_label(spec: ChartSpec, ds: Dataset) -> str:
    if spec.agg == "count" or not spec.y:
        return ds.count_label
    f = ds.field(spec.y)
    unit = f"（{f.unit}）" if f and f.unit else ""
    return f"{f.label if f else spec.y}{_AGG_SHORT.get(spec.agg, '')}{unit}"


def default_title(spec: ChartSpec, ds: Dataset) -> str:
    x = ds.field(spec.x)
    c = ds.field(spec.color)
    head = f"各{x.label}{value_label(spec, ds)}" if x else value_label(spec, ds)
    if spec.kind in ("pie", "donut") and x:
        head = f"{value_label(spec, ds)}按{x.label}构成"
    f = ds.field(spec.facet)
    return head + (f"（按{c.label}）" if c else "") + (f"（分{f.label}）" if f else "")


# =========================================================================================
# Building: filter → aggregate → order → altair
# =========================================================================================
@dataclass
class BuiltChart:
    """An altair chart and the aggregated data it shows. `table` has Chinese headers."""

    spec: ChartSpec
    dataset: Dataset
    chart: Any
    data: pl.DataFrame
    orders: dict[str, list]
    value_label: str
    title: str

    @property
    def table(self) -> pl.DataFrame:
        cols = [n for n in (self.spec.x, self.spec.color, self.spec.facet) if n]
        return self.data.select(
            [pl.col(n).alias(self.dataset.field(n).label) for n in cols]
            + [pl.col(VALUE).alias(self.value_label)])

    @property
    def vega(self) -> dict:
        return vega_spec(self.chart)


def apply_filters(frame: pl.DataFrame, spec: ChartSpec, ds: Dataset) -> pl.DataFrame:
    exprs = []
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
            bound = _as_bound(bound)
            if dtype == pl.Date and isinstance(bound, datetime):
                bound = bound.date()
            exprs.append(getattr(col, op)(pl.lit(bound)))
    return frame.filter(exprs) if exprs else frame


def _text(v) -> str:
    if v is None:
        return MISSING
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _date_text(values: list) -> dict:
    """Dates as Chinese text at the coarsest exact grain (2025年, 2025年3月, 2025-03-14)."""
    ds = [v for v in values if isinstance(v, date)]
    if ds and all(d.day == 1 for d in ds):
        if all(d.month == 1 for d in ds):
            return {d: f"{d.year}年" for d in ds}
        return {d: f"{d.year}年{d.month}月" for d in ds}
    return {}


def _aggregate(frame: pl.DataFrame, spec: ChartSpec, ds: Dataset) -> pl.DataFrame:
    keys = [n for n in (spec.x, spec.color, spec.facet) if n]
    if spec.agg == "count":
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
        raise BadInput(f"「{ds.field(spec.y).label}」在筛选出的数据中都是空的，没有可画的数值。")

    # order of each dimension, computed on the raw values (numbers, dates, Chinese labels)
    orders: dict[str, list] = {}
    for name in (spec.x, spec.color, spec.facet):
        if name:
            orders[name] = natural_order(data[name].unique().to_list(), ds.field(name).order)
    x = spec.x
    totals = data.group_by(x).agg(pl.col(VALUE).sum().alias("t"))
    total_of = dict(zip(totals[x].to_list(), totals["t"].to_list()))
    top = None
    if spec.limit and spec.limit < len(orders[x]):
        top = sorted(total_of, key=lambda v: (-(total_of[v] or 0), orders[x].index(v)))[:spec.limit]
        orders[x] = [v for v in orders[x] if v in set(top)]
    sort = spec.sort
    if sort == "natural" and not has_natural_order(orders[x], ds.field(x).order):
        sort = "desc"  # streets, org names: no natural order, so largest first
    if spec.kind != "line" and sort in ("desc", "asc"):  # a line keeps its x in sequence
        sign = -1 if sort == "desc" else 1
        orders[x] = sorted(orders[x], key=lambda v: (sign * (total_of.get(v) or 0), orders[x].index(v)))

    # every dimension becomes text, in the computed order
    for name in list(orders):
        raw = natural_order(data[name].unique().to_list()) if name != x else list(total_of)
        mapping = {v: _text(v) for v in raw}
        mapping.update(_date_text(raw))
        orders[name] = [mapping[v] for v in orders[name]]
        mapping.pop(None, None)
        data = data.with_columns(pl.col(name).replace_strict(
            mapping, default=None, return_dtype=pl.String).fill_null(MISSING))
    if top is not None:
        kept = data.filter(pl.col(x).is_in(orders[x]))
        if spec.kind in ("pie", "donut"):  # a pie shows the whole: the rest becomes 其他
            keys = [spec.facet] if spec.facet else []
            rest = data.filter(~pl.col(x).is_in(orders[x]))
            rest = (rest.group_by(keys).agg(pl.col(VALUE).sum()) if keys
                    else rest.select(pl.col(VALUE).sum()))
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
    out = data.select([n for n in (spec.x, spec.color, spec.facet) if n] + [VALUE])
    return BuiltChart(spec, ds, chart, out, orders, label, title)


def _check_size(spec: ChartSpec, ds: Dataset, orders: dict) -> None:
    n = len(orders[spec.x])
    xl = ds.field(spec.x).label
    if spec.kind in ("pie", "donut") and n > MAX_SLICES:
        raise BadInput(f"「{xl}」有 {n} 个分类，饼图最多 {MAX_SLICES} 个扇区：请用「只显示前几项」，"
                       "或改用柱状图。")
    limit = MAX_TABLE_ROWS if spec.kind == "table" else MAX_CATEGORIES
    if n > limit:
        raise BadInput(f"「{xl}」有 {n} 个分类，图太挤（最多 {limit} 个）：请加筛选条件，"
                       "或用「只显示前几项」。")
    if spec.color and len(orders[spec.color]) > (limit if spec.kind == "heatmap" else MAX_SERIES):
        raise BadInput(f"「{ds.field(spec.color).label}」有 {len(orders[spec.color])} 个分类，"
                       "分组太多：请换一个字段，或加筛选条件。")
    if spec.facet and len(orders[spec.facet]) > MAX_FACETS:
        raise BadInput(f"「{ds.field(spec.facet).label}」有 {len(orders[spec.facet])} 个分类，"
                       f"分面最多 {MAX_FACETS} 个小图：请换一个字段，或加筛选条件。")


# =========================================================================================
# 3. House style, drawing, export
# =========================================================================================
PARTY_RED = "#C8161D"
PALETTE = [PARTY_RED, "#F2A33A", "#3B6FB6", "#5B8C5A", "#8E5EA2", "#7F7F7F", "#D9822B",
           "#2A9D8F", "#B5651D", "#4F6D7A", "#E377C2", "#17BECF", "#BCBD22", "#9C755F",
           "#FF9DA7", "#59A14F", "#EDC948", "#76B7B2", "#AF7AA1", "#F28E2B"]
# Noto Sans CJK SC is the family name fontconfig reports for Debian's fonts-noto-cjk
# (`fc-list | grep -i cjk`); the others are for an SVG opened on Windows/macOS, which names
# the font instead of embedding it.
FONT = "Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, Microsoft YaHei, PingFang SC, sans-serif"
CHART_WIDTH, CHART_HEIGHT = 800, 450      # 16:9; 1600×900 pixels as a 2× PNG
VL_VERSION = "6.4"

HOUSE_CONFIG: dict = {
    "font": FONT,
    "background": "white",
    "padding": 8,
    "view": {"stroke": None, "continuousWidth": CHART_WIDTH, "continuousHeight": CHART_HEIGHT},
    "title": {"fontSize": 24, "subtitleFontSize": 15, "color": "#1F1F1F", "subtitleColor": "#555555",
              "anchor": "middle", "offset": 14, "fontWeight": "bold", "subtitlePadding": 6},
    "axis": {"labelFontSize": 14, "titleFontSize": 15, "titleFontWeight": "normal",
             "labelColor": "#333333", "titleColor": "#333333", "gridColor": "#E6E6E6",
             "domainColor": "#888888", "tickColor": "#888888", "labelLimit": 180, "titlePadding": 10},
    "legend": {"labelFontSize": 14, "titleFontSize": 14, "titleFontWeight": "normal",
               "symbolSize": 160, "labelLimit": 200},
    "header": {"labelFontSize": 15, "titleFontSize": 15, "titleFontWeight": "normal"},
    "range": {"category": PALETTE, "ramp": {"scheme": "reds"}, "heatmap": {"scheme": "reds"}},
    "mark": {"color": PARTY_RED},
    "bar": {"color": PARTY_RED},
    "line": {"color": PARTY_RED, "strokeWidth": 3},
    "point": {"color": PARTY_RED, "size": 70, "filled": True},
    "arc": {"stroke": "white", "strokeWidth": 1.5},
    "text": {"fontSize": 14, "color": "#333333"},
}


def _register_theme() -> None:
    import altair as alt

    try:
        @alt.theme.register("dangjian", enable=False)
        def _theme():
            return alt.theme.ThemeConfig(config=copy.deepcopy(HOUSE_CONFIG))
    except Exception:  # noqa: BLE001 — an older altair without alt.theme: config still merged
        pass


_register_theme()


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def vega_spec(chart) -> dict:
    """The Vega-Lite dict of an altair chart (or dict) with the house style beneath its own
    config — the same dict is shown on the page and exported."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    spec = copy.deepcopy(spec)
    spec["config"] = _merge(HOUSE_CONFIG, spec.get("config") or {})
    return spec


FMT = ",.2~f"  # 1,234 and 12.5 (trailing zeros trimmed)


def _draw(spec: ChartSpec, ds: Dataset, data: pl.DataFrame, orders: dict, label: str,
          title: str, width: int, height: int):
    import altair as alt

    x, c, fct = spec.x, spec.color, spec.facet
    xl = ds.field(x).label
    cl = ds.field(c).label if c else None
    fmt = FMT
    tip = [alt.Tooltip(f"{n}:N", title=ds.field(n).label) for n in (x, c, fct) if n]
    tip.append(alt.Tooltip(f"{VALUE}:Q", title=label, format=fmt))
    # counts and sums of whole numbers: no 0.5 ticks
    val_axis = alt.Axis(tickMinStep=1) if data[VALUE].dtype.is_integer() else alt.Axis()
    base = alt.Chart(data)
    n = len(orders[x])
    longest = max((_label_px(v) for v in orders[x]), default=0)
    cols = min(3, len(orders[fct])) if fct else 1
    w = width if not fct else max(200, (width - 40 * cols) // cols)
    h = height if not fct else max(180, int(w * 0.6))

    def color_enc(field_name, legend_title):
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
        enc = {"y" if horiz else "x": cat, "x" if horiz else "y": val, "tooltip": tip}
        if c:
            enc["color"] = color_enc(c, cl)
            if stacked:
                enc["order"] = alt.Order("_crank:Q", sort="ascending")
            elif horiz:
                enc["yOffset"] = alt.YOffset(f"{c}:N", sort=orders[c])
            else:
                enc["xOffset"] = alt.XOffset(f"{c}:N", sort=orders[c])
        bars = base.mark_bar(**({} if c else {"color": PARTY_RED})).encode(**enc)
        text_kw = dict(dx=5, align="left") if horiz else dict(dy=-6, baseline="bottom")
        if stacked and c:
            keys = [x] + ([fct] if fct else [])
            text = base.transform_aggregate(total=f"sum({VALUE})", groupby=keys).mark_text(
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
        line = base.mark_line(point=True, **({} if c else {"color": PARTY_RED})).encode(**enc)
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
    elif spec.kind == "heatmap":
        top = data[VALUE].max() or 0
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


def _label_px(text: str, size: int = 14) -> int:
    """Rough width of an axis label: CJK characters are square, Latin about half."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in str(text))


_fonts_registered = False


def _bundled_font_dir() -> str | None:
    """The install bundle's fonts/ (Noto Sans CJK), named by DANGJIAN_FONT_DIR in dangjian.env:
    an intranet machine may have no Chinese font of its own."""
    d = os.environ.get("DANGJIAN_FONT_DIR")
    return d if d and os.path.isdir(d) else None


def _vlc():
    global _fonts_registered
    try:
        import vl_convert
    except ImportError as exc:  # pragma: no cover — it is in the lock file
        raise DangjianError("服务器缺少图表导出组件 vl-convert-python，请联系系统管理员。") from exc
    if not _fonts_registered:
        d = _bundled_font_dir()
        if d:
            vl_convert.register_font_directory(os.path.abspath(d))
        _fonts_registered = True
    return vl_convert


def export_png(chart, *, scale: float = 2.0) -> bytes:
    """PNG for slides (2× by default: an 800×450 chart gives 1600×900 pixels)."""
    try:
        return _vlc().vegalite_to_png(vega_spec(chart), vl_version=VL_VERSION, scale=scale,
                                      format_locale="zh-CN", time_format_locale="zh-CN")
    except ValueError as exc:
        raise BadInput(f"无法导出这张图：{exc}") from exc


def export_svg(chart) -> str:
    """SVG: sharp at any size, but it names its fonts rather than embedding them."""
    try:
        return _vlc().vegalite_to_svg(vega_spec(chart), vl_version=VL_VERSION,
                                      format_locale="zh-CN", time_format_locale="zh-CN")
    except ValueError as exc:
        raise BadInput(f"无法导出这张图：{exc}") from exc


def export_xlsx(data: pl.DataFrame, name: str = "数据") -> bytes:
    from .fileio import xlsx_bytes

    sheet = re.sub(r"[\[\]:*?/\\]", "_", name or "数据")[:31] or "数据"
    return xlsx_bytes({sheet: data})


_FONT_DIRS = ["/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.fonts"),
              os.path.expanduser("~/.local/share/fonts")]
_FONT_FILES = ("NotoSansCJK", "NotoSerifCJK", "SourceHanSans", "wqy-microhei", "wqy-zenhei")
_font_ok: bool | None = None


def cjk_font_installed() -> bool:
    """Whether the server has a Chinese font for PNG export (else text comes out blank)."""
    global _font_ok
    if _font_ok is None:
        dirs = _FONT_DIRS + ([_bundled_font_dir()] if _bundled_font_dir() else [])
        _font_ok = any(any(k.lower() in os.path.basename(p).lower() for k in _FONT_FILES)
                       for d in dirs for p in glob.glob(os.path.join(d, "**", "*"), recursive=True))
    return _font_ok


def safe_filename(name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", name or "图表").strip("_")[:60] or "图表"


# =========================================================================================
# 4. Saved charts
# =========================================================================================
audit.register_table("charts", "简报图表", "id", "charts.write")


@dataclass
class SavedChart:
    id: int
    name: str
    dataset: str
    spec_json: str
    on_home: bool
    position: int
    version: int
    updated_at: Any
    updated_by: str | None
    note: str | None = None

    def spec(self) -> ChartSpec:
        return ChartSpec.from_json(self.spec_json)


_SAVED_COLS = "id, name, dataset, spec, on_home, position, version, updated_at, updated_by, note"


def list_charts(db, *, on_home: bool | None = None) -> list[SavedChart]:
    sql = f"SELECT {_SAVED_COLS} FROM charts"
    if on_home is not None:
        sql += " WHERE on_home = ?"
    with db.read() as cur:
        rows = cur.execute(sql + " ORDER BY position, id", [on_home] if on_home is not None else None).fetchall()
    return [SavedChart(*r) for r in rows]


def get_chart(db, chart_id: int) -> SavedChart:
    with db.read() as cur:
        row = cur.execute(f"SELECT {_SAVED_COLS} FROM charts WHERE id = ?", [int(chart_id)]).fetchone()
    if row is None:
        raise NotFound(f"找不到第 {chart_id} 号图表（可能已被删除）。")
    return SavedChart(*row)


def visible_charts(db, user: User, *, on_home: bool | None = None) -> list[SavedChart]:
    """Saved charts whose dataset this user may read (a dues chart is hidden from editors)."""
    out = []
    for c in list_charts(db, on_home=on_home):
        ds = DATASETS.get(c.dataset)
        if ds is None:
            _import_dataset_modules()
            ds = DATASETS.get(c.dataset)
        if ds is None or user.can(ds.perm):
            out.append(c)
    return out


def make_chart(db, user: User, spec: ChartSpec) -> BuiltChart:
    ds = spec.validate()
    return build_chart(spec, load_frame(db, user, ds), ds)


def render_saved(db, user: User, saved: SavedChart) -> BuiltChart:
    """Draw a saved chart with today's data; a BadInput names the chart and what changed."""
    try:
        return make_chart(db, user, saved.spec())
    except BadInput as exc:
        raise BadInput(f"图表「{saved.name}」现在画不出来：{exc.message}") from exc


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise BadInput("请给图表起一个名称，例如「各类别党组织数量」。")
    if len(name) > MAX_NAME:
        raise BadInput(f"图表名称太长：最多 {MAX_NAME} 个字。")
    return name


def save_chart(db, user: User, name: str, spec: ChartSpec, *, chart_id: int | None = None,
               version: int | None = None, on_home: bool = True, position: int | None = None,
               note: str | None = None) -> int:
    """Save a new chart (chart_id None) or change one (with the version it was loaded at).
    Returns the chart's id. Audited as one batch; 操作记录 can revert it."""
    require(user, "charts.write")
    name = _check_name(name)
    ds = spec.validate()
    require(user, ds.perm)
    text = spec.to_json()
    with db.write() as cur:
        clash = cur.execute("SELECT id FROM charts WHERE lower(trim(name)) = lower(?) AND id <> ?",
                            [name, int(chart_id or -1)]).fetchone()
        if clash:
            raise BadInput(f"已有名为「{name}」的图表：请换一个名称，或打开那张图表修改。")
        if chart_id is None:
            if position is None:
                position = cur.execute("SELECT coalesce(max(position), 0) + 1 FROM charts").fetchone()[0]
            new_id = cur.execute(
                "INSERT INTO charts(name, dataset, spec, on_home, position, note, created_by, updated_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [name, spec.dataset, text, bool(on_home), int(position), note, user.username,
                 user.username]).fetchone()[0]
            batch = audit.new_batch(cur, user, "charts", f"保存图表「{name}」")
            audit.record(cur, batch, user, "charts", new_id, "insert", None,
                         audit.rows_json(cur, "charts", "id", [new_id]).get(str(new_id)))
            return int(new_id)
        before = audit.rows_json(cur, "charts", "id", [chart_id]).get(str(chart_id))
        if before is None:
            raise NotFound(f"找不到要修改的图表（第 {chart_id} 号），可能已被别人删除。")
        row = json.loads(before)
        if version is not None and row["version"] != version:
            raise ConflictError(f"图表「{row['name']}」在您打开之后被 {row.get('updated_by') or '别人'}"
                                "修改过：请重新打开后再改。")
        cur.execute("UPDATE charts SET name = ?, dataset = ?, spec = ?, on_home = ?, position = ?,"
                    " note = ?, version = version + 1, updated_at = current_timestamp, updated_by = ?"
                    " WHERE id = ?",
                    [name, spec.dataset, text, bool(on_home),
                     int(row["position"] if position is None else position), note, user.username,
                     int(chart_id)])
        batch = audit.new_batch(cur, user, "charts", f"修改图表「{name}」")
        audit.record(cur, batch, user, "charts", chart_id, "update", before,
                     audit.rows_json(cur, "charts", "id", [chart_id]).get(str(chart_id)))
        return int(chart_id)


def delete_chart(db, user: User, chart_id: int, version: int | None = None) -> None:
    require(user, "charts.write")
    with db.write() as cur:
        before = audit.rows_json(cur, "charts", "id", [chart_id]).get(str(chart_id))
        if before is None:
            raise NotFound(f"找不到要删除的图表（第 {chart_id} 号），可能已被别人删除。")
        row = json.loads(before)
        if version is not None and row["version"] != version:
            raise ConflictError(f"图表「{row['name']}」在您打开之后被修改过：请刷新后再删除。")
        cur.execute("DELETE FROM charts WHERE id = ?", [int(chart_id)])
        batch = audit.new_batch(cur, user, "charts", f"删除图表「{row['name']}」")
        audit.record(cur, batch, user, "charts", chart_id, "delete", before, None)


# =========================================================================================
# The datasets over orgs and members
# =========================================================================================
def _labels(col: str, mapping: dict) -> pl.Expr:
    return pl.col(col).replace_strict(mapping, default=pl.col(col), return_dtype=pl.String)


def _load_orgs(db, user: User) -> pl.DataFrame:
    with db.read() as cur:
        df = cur.sql("SELECT o.name, o.street, o.category, o.level, o.tier,"
                     " CAST(o.member_count AS BIGINT) AS member_count, p.name AS parent"
                     " FROM orgs o LEFT JOIN orgs p ON p.id = o.parent_id").pl()
    return df.with_columns(_labels("category", vocab.CATEGORIES), _labels("level", vocab.LEVELS),
                           _labels("tier", vocab.TIERS))


def _load_members(db, user: User) -> pl.DataFrame:
    with db.read() as cur:
        df = cur.sql(
            "SELECT o.street, o.name AS org, o.category AS org_category, o.tier AS org_tier,"
            " m.status, m.gender, m.dues_category,"
            " CAST(year(m.join_date) AS BIGINT) AS join_year,"
            " CAST(floor(date_diff('day', m.join_date, ?) / 365.25) AS BIGINT) AS party_age"
            " FROM members m JOIN orgs o ON o.id = m.org_id", params=[clock.today()]).pl()
    return df.with_columns(
        _labels("org_category", vocab.CATEGORIES), _labels("org_tier", vocab.TIERS),
        _labels("status", vocab.MEMBER_STATUS), _labels("gender", vocab.GENDERS),
        _labels("dues_category", vocab.DUES_CATEGORIES),
        pl.when(pl.col("join_year").is_not_null())
        .then((pl.col("join_year") // 10 * 10).cast(pl.String) + pl.lit("年代"))
        .alias("join_decade"))


register_dataset(Dataset(
    code="orgs",
    label="基层党组织",
    description="每个基层党组织一行：可按街道/系统、类别、层级、评定等次统计党组织数量，"
                "或对党员人数求和、求平均。党员人数取台账中的「党员人数」（党委、党总支含下级）。",
    fields=[
        Field("street", "街道/系统"),
        Field("category", "类别", order=vocab.order_of(vocab.CATEGORIES)),
        Field("level", "层级", "ordinal", order=vocab.order_of(vocab.LEVELS)),
        Field("tier", "评定等次", "ordinal", order=vocab.order_of(vocab.TIERS)),
        Field("name", "党组织名称"),
        Field("parent", "上级党组织"),
        Field("member_count", "党员人数", "quantitative", unit="人"),
    ],
    loader=_load_orgs,
    tables=("orgs",),
    count_label="党组织数",
))

register_dataset(Dataset(
    code="members",
    label="党员构成",
    description="每名党员一行（不含姓名、身份证号等个人信息）：可按街道/系统、所在党组织、"
                "党组织类别、党员类型、性别、党费类别、入党年份统计人数，或对党龄求平均。",
    fields=[
        Field("street", "街道/系统"),
        Field("org", "所在党组织"),
        Field("org_category", "党组织类别", order=vocab.order_of(vocab.CATEGORIES)),
        Field("org_tier", "党组织评定等次", "ordinal", order=vocab.order_of(vocab.TIERS)),
        Field("status", "党员类型", order=vocab.order_of(vocab.MEMBER_STATUS)),
        Field("gender", "性别", order=vocab.order_of(vocab.GENDERS)),
        Field("dues_category", "党费类别", order=vocab.order_of(vocab.DUES_CATEGORIES)),
        Field("join_year", "入党年份", "ordinal"),
        Field("join_decade", "入党年代", "ordinal"),
        Field("party_age", "党龄", "quantitative", unit="年"),
    ],
    loader=_load_members,
    tables=("members", "orgs"),
    count_label="党员人数",
))


# =========================================================================================
# Demo charts
# =========================================================================================
DEMO_CHARTS = [
    ("各类别党组织数量", ChartSpec("orgs", "bar", x="category", title="各类别党组织数量",
                                subtitle="数据来源：党建工作台（演示数据）")),
    ("各街道党员人数", ChartSpec("members", "bar", x="street", sort="desc", horizontal=True,
                              title="各街道/系统党员人数")),
    ("党员类型构成", ChartSpec("members", "donut", x="status", title="正式党员与预备党员")),
    ("近年发展党员数", ChartSpec("members", "line", x="join_year",
                              filters={"join_year": {"min": 2010}}, title="2010年以来每年入党人数")),
]


def seed_demo(cur, ctx) -> None:
    """Four saved charts for the overview page's 「常用图表」 (demo.WORKFLOW_MODULES)."""
    frame = pl.DataFrame({
        "id": list(range(1, len(DEMO_CHARTS) + 1)),
        "name": [n for n, _ in DEMO_CHARTS],
        "dataset": [s.dataset for _, s in DEMO_CHARTS],
        "spec": [s.to_json() for _, s in DEMO_CHARTS],
        "position": list(range(1, len(DEMO_CHARTS) + 1)),
    }, schema={"id": pl.Int32, "name": pl.String, "dataset": pl.String, "spec": pl.String,
               "position": pl.Int32})
    cur.register("demo_charts", frame)
    try:
        cur.execute("INSERT INTO charts(id, name, dataset, spec, on_home, position, created_by,"
                    " updated_by) SELECT id, name, dataset, spec, true, position, 'demo', 'demo'"
                    " FROM demo_charts")
    finally:
        cur.unregister("demo_charts")
    cur.execute("SELECT setval('charts_seq', (SELECT max(id) FROM charts))")
