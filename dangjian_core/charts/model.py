"""Chart constants, `ChartSpec` (with `validate`), `check_dataset` and `get_dataset` (by code, from
the registry). The Dataset/Field types are in `dangjian_core.contracts`. No database, no drawing."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ..contracts import Dataset, Field
from ..errors import BadInput

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


def check_dataset(ds: Dataset) -> None:
    """A dataset's declaration is well formed (codes lower_snake_case, known kinds, no field twice,
    at least one dimension). Mistakes are programming errors (ValueError); the chart tests check
    every dataset the registry offers."""
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


def get_dataset(code: str) -> Dataset:
    """The dataset with this code (from every subject, through the registry)."""
    from .. import registry  # lazily: registry imports the subjects, which import this package

    ds = registry.datasets().get(code)
    if ds is None:
        raise BadInput(f"数据集「{code}」不存在（可能已被停用或改名）：请重新选择数据集。")
    return ds


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
    filters: dict[str, dict[str, Any]] = field(default_factory=dict)  # JSON
    sort: str = "natural"
    limit: int | None = None
    horizontal: bool = False
    title: str = ""
    subtitle: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChartSpec:
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

    def dimensions(self) -> list[str]:
        """The fields that group the data: x, then colour, then facet (those chosen)."""
        return [n for n in (self.x, self.color, self.facet) if n]

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
                    if _reversed(_as_bound(lo), _as_bound(hi)):
                        problems.append(f"筛选条件「{f.label}」的下限大于上限")
                except (TypeError, ValueError):
                    problems.append(f"筛选条件「{f.label}」的范围无法识别")
        if problems:
            raise BadInput("这张图画不出来：" + "；".join(dict.fromkeys(problems)) + "。")
        return ds


def field_of(ds: Dataset, name: str | None) -> Field:
    """A field of a validated spec's dataset (validate() has checked it is there)."""
    f = ds.field(name)
    if f is None:
        raise ValueError(f"dataset {ds.code} has no field {name!r}")
    return f


Bound = date | int | float | Decimal


def _as_bound(v: Any) -> Bound:
    """A filter's min/max as saved (JSON: a number, or a date as ISO text) for comparing."""
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return date.fromisoformat(v)
    if isinstance(v, (int, float, Decimal, date)):
        return v
    return float(v)


def _reversed(lo: Bound, hi: Bound) -> bool:
    """lo > hi; TypeError when one is a date and the other a number."""
    if isinstance(lo, date) and isinstance(hi, date):
        return lo > hi
    if isinstance(lo, date) or isinstance(hi, date):
        raise TypeError("a date and a number")
    return lo > hi


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
