"""Briefing charts for the site programme (altair Chart or LayerChart, hence `Any`), built in the core as functions returning altair
charts, so a page shows them with `st.altair_chart` and `charts.py` can export them (PNG/SVG
for slides) without a page. Inputs are the frames `store.py` returns (code values); labels
are put in Chinese here, and every nominal axis gets an explicit order (Chinese sorts by
code point otherwise)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import altair as alt
import polars as pl

from .. import vocab
from ..contracts import Dataset, Field
from ..vocab import CATEGORIES, TIERS
from . import rules as R
from .store import list_sites

if TYPE_CHECKING:
    from ..auth import User
    from ..db import Database

RED = "#C8161D"
STATUS_COLORS = {"已申报": "#BDBDBD", "创建中": "#F2A33A", "未通过命名": "#8C8C8C", "已授牌": "#E0542E",
                 "巩固提升": RED, "已摘牌": "#4D4D4D"}
CATEGORY_ORDER = list(CATEGORIES.values())
STATUS_ORDER = list(R.STATUSES.values())


def _label(df: pl.DataFrame, col: str, mapping: Mapping[str, str], alias: str) -> pl.Expr:
    return pl.col(col).replace_strict(mapping, default=pl.col(col), return_dtype=pl.String).alias(alias)


def _empty(title: str) -> Any:
    return alt.Chart(pl.DataFrame({"说明": ["暂无数据"]})).mark_text(size=16).encode(
        text="说明:N").properties(title=title, height=120)


def plan_vs_actual(by_category: pl.DataFrame, year: int, named_target: int | None = None) -> Any:
    """Planned creating units vs creating units actually set up and named, by category."""
    title = f"{year} 年示范点创建计划与完成情况（按类别）"
    if by_category.height == 0:
        return _empty(title)
    series = {"planned": "计划创建", "actual": "实际创建", "named": "已命名"}
    long = by_category.select(_label(by_category, "category", CATEGORIES, "类别"), *series).unpivot(
        index="类别", on=list(series), variable_name="series", value_name="数量").with_columns(
        pl.col("series").replace_strict(series, return_dtype=pl.String).alias("项目"))
    sub = f"计划命名 {named_target} 个" if named_target is not None else ""
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("类别:N", sort=CATEGORY_ORDER, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("项目:N", sort=list(series.values())),
        y=alt.Y("数量:Q", title="单位数"),
        color=alt.Color("项目:N", sort=list(series.values()),
                        scale=alt.Scale(domain=list(series.values()), range=["#D9D9D9", "#F2A33A", RED])),
        tooltip=["类别", "项目", "数量"],
    ).properties(title=alt.TitleParams(title, subtitle=sub), height=320)


def plan_over_years(plan_years: pl.DataFrame) -> Any:
    """Totals per year: planned, actual creating, named, and the named target."""
    title = "历年创建计划与完成"
    if plan_years.height == 0:
        return _empty(title)
    tot = plan_years.select("year", "planned", "actual", "named", "named_target").group_by("year").agg(pl.col("planned").sum(), pl.col("actual").sum(), pl.col("named").sum(),
                                          pl.col("named_target").first()).sort("year")
    series = {"planned": "计划创建", "actual": "实际创建", "named_target": "计划命名", "named": "已命名"}
    long = tot.unpivot(index="year", on=list(series), variable_name="s", value_name="数量").with_columns(
        pl.col("s").replace_strict(series, return_dtype=pl.String).alias("项目"),
        pl.col("year").cast(pl.String).alias("年度"))
    return alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("年度:O", sort="ascending", axis=alt.Axis(labelAngle=0)), y=alt.Y("数量:Q", title="单位数"),
        color=alt.Color("项目:N", sort=list(series.values()),
                        scale=alt.Scale(domain=list(series.values()), range=["#BDBDBD", "#F2A33A", "#8C8C8C", RED])),
        strokeDash=alt.StrokeDash("项目:N", sort=list(series.values()),
                                  scale=alt.Scale(domain=list(series.values()), range=[[4, 3], [1, 0], [4, 3], [1, 0]]),
                                  legend=None),
        tooltip=["年度", "项目", "数量"],
    ).properties(title=title, height=300)


def status_over_years(df: pl.DataFrame) -> Any:
    """Rounds by status at each year's end (not named / removed shown in their year only)."""
    title = "历年示范点状态（年末）"
    if df.height == 0:
        return _empty(title)
    d = df.select(_label(df, "status", R.STATUSES, "状态"), pl.col("year").cast(pl.String).alias("年度"),
                  pl.col("n").alias("数量"))
    return alt.Chart(d).mark_bar().encode(
        x=alt.X("年度:O", sort="ascending", axis=alt.Axis(labelAngle=0)), y=alt.Y("sum(数量):Q", title="单位数"),
        color=alt.Color("状态:N", sort=STATUS_ORDER,
                        scale=alt.Scale(domain=STATUS_ORDER, range=[STATUS_COLORS[s] for s in STATUS_ORDER])),
        order=alt.Order("status_order:Q"),
        tooltip=["年度", "状态", alt.Tooltip("sum(数量):Q", title="数量")],
    ).transform_calculate(
        status_order=f"indexof({STATUS_ORDER!r}, datum['状态'])"
    ).properties(title=title, height=300)


def category_over_years(df: pl.DataFrame) -> Any:
    """Units in the programme (creating, named, consolidating) by category, year by year."""
    title = "历年在创在册示范点（按类别）"
    d = df.filter(pl.col("status").is_in(list(R.ACTIVE)))
    if d.height == 0:
        return _empty(title)
    d = d.select(_label(d, "category", CATEGORIES, "类别"), pl.col("year").cast(pl.String).alias("年度"),
                 pl.col("n").alias("数量"))
    return alt.Chart(d).mark_bar().encode(
        x=alt.X("年度:O", sort="ascending", axis=alt.Axis(labelAngle=0)), y=alt.Y("sum(数量):Q", title="单位数"),
        color=alt.Color("类别:N", sort=CATEGORY_ORDER, scale=alt.Scale(scheme="tableau10")),
        tooltip=["年度", "类别", alt.Tooltip("sum(数量):Q", title="数量")],
    ).properties(title=title, height=300)


def score_distribution(assessments: pl.DataFrame, pass_mark: float = 80) -> Any:
    """Histogram of assessment totals (5-point bins), coloured by result, with the pass mark."""
    title = "考评得分分布"
    if assessments.height == 0:
        return _empty(title)
    d = assessments.select(pl.col("total").cast(pl.Float64).alias("得分"),
                           _label(assessments, "result", R.RESULTS, "结果"),
                           _label(assessments, "stage", R.STAGES, "阶段"))
    order = list(R.RESULTS.values())
    bars = alt.Chart(d).mark_bar().encode(
        x=alt.X("得分:Q", bin=alt.Bin(step=5, extent=[0, 110]), title="考评得分"),
        y=alt.Y("count():Q", title="考评次数"),
        color=alt.Color("结果:N", sort=order, scale=alt.Scale(domain=order, range=[RED, "#8C8C8C"])),
        tooltip=[alt.Tooltip("count():Q", title="次数"), "结果"],
    )
    rule = alt.Chart(pl.DataFrame({"合格线": [float(pass_mark)]})).mark_rule(strokeDash=[4, 3]).encode(x="合格线:Q")
    return (bars + rule).properties(title=alt.TitleParams(title, subtitle=f"虚线为合格线 {pass_mark:g} 分"), height=280)


def kinds_over_years(assessments: pl.DataFrame) -> Any:
    """How assessors judged the sites: true model / resting on the plaque / working alone."""
    title = "考评类型判定（真示范 / 守牌子 / 闭门造车）"
    if assessments.height == 0:
        return _empty(title)
    order = list(R.KINDS.values())
    d = assessments.select(_label(assessments, "kind", R.KINDS, "判定"),
                           pl.col("year").cast(pl.String).alias("年度"))
    return alt.Chart(d).mark_bar().encode(
        x=alt.X("年度:O", sort="ascending", axis=alt.Axis(labelAngle=0)), y=alt.Y("count():Q", title="考评次数"),
        color=alt.Color("判定:N", sort=order, scale=alt.Scale(domain=order, range=[RED, "#F2A33A", "#8C8C8C"])),
        tooltip=["年度", "判定", alt.Tooltip("count():Q", title="次数")],
    ).properties(title=title, height=280)


ALL = {
    "plan_vs_actual": plan_vs_actual,
    "plan_over_years": plan_over_years,
    "status_over_years": status_over_years,
    "category_over_years": category_over_years,
    "score_distribution": score_distribution,
    "kinds_over_years": kinds_over_years,
}


# 简报图表 dataset (the chart page's 「示范点」)
def _dataset_sites(db: Database, user: User) -> pl.DataFrame:
    df = list_sites(db)
    return df.select(
        pl.col("name").alias("org"), "street",
        pl.col("category").replace_strict(CATEGORIES, default=pl.col("category"), return_dtype=pl.String),
        pl.col("tier").replace_strict(TIERS, default=pl.col("tier"), return_dtype=pl.String),
        pl.col("status").replace_strict(R.STATUSES, default=pl.col("status"), return_dtype=pl.String),
        pl.col("creation_year").cast(pl.String).alias("creation_year"),
        pl.col("named_year").cast(pl.String).alias("named_year"),
        pl.col("responsible_unit"),
        pl.when(pl.col("overdue")).then(pl.lit("逾期未考评")).otherwise(pl.lit("按期")).alias("due_state"),
        pl.col("last_total").cast(pl.Float64).alias("last_total"),
        pl.col("assessments").cast(pl.Int64),
    )


SITES_DATASET = Dataset(
    code="sites", label="示范点",
    description="每个示范点（含创建单位）一行：可按状态、类别、街道/系统、创建年度、授牌年度、"
                "责任单位统计数量，或对最近一次考评得分求平均。",
    fields=[Field("status", "状态", "ordinal", order=list(R.STATUSES.values())),
            Field("category", "类别", order=vocab.order_of(CATEGORIES)),
            Field("street", "街道/系统"), Field("org", "党组织"),
            Field("tier", "评定等次", "ordinal", order=vocab.order_of(TIERS)),
            Field("creation_year", "创建年度", "ordinal"), Field("named_year", "授牌年度", "ordinal"),
            Field("responsible_unit", "责任单位"), Field("due_state", "考评是否到期", order=["按期", "逾期未考评"]),
            Field("last_total", "最近考评得分", "quantitative", unit="分"),
            Field("assessments", "考评次数", "quantitative", unit="次")],
    loader=_dataset_sites, tables=("sites", "orgs"), count_label="示范点数")
