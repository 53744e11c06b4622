"""党费 aggregates for charts and the 简报图表 datasets."""

from __future__ import annotations

import polars as pl

from .. import vocab
from ..auth import User, require
from ..contracts import Dataset, Field
from ..db import Database
from ..errors import BadInput
from .model import CATEGORIES, CATEGORY_CODES
from .roll import _rate_expr
from .store import PERM_READ, _labels, _scope, _scope_sql, months_between


# =======================================================================================
# Aggregates for charts and the duty-report indicator
# =======================================================================================
def _group_col(by: str) -> str:
    if by not in ("street", "org"):
        raise BadInput(f"未知的分组方式「{by}」")
    return "o.street" if by == "street" else "o.name"


def collection_series(db: Database, user: User, start: object, end: object, *, org_id: int | None = None,
                      by: str = "street") -> pl.DataFrame:
    """group, month ('YYYY-MM'), members, due_fen, collected_fen, rate (%), per month."""
    require(user, PERM_READ)
    months = months_between(start, end)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        df: pl.DataFrame = cur.sql(f"SELECT {_group_col(by)} AS grp, strftime(r.month, '%Y-%m') AS month, count(*) AS members,"
                     " CAST(sum(r.due) * 100 AS BIGINT) AS due_fen,"
                     " CAST(sum(least(r.paid, r.due)) * 100 AS BIGINT) AS collected_fen"
                     " FROM dues_roll r JOIN orgs o ON o.id = r.org_id"
                     f" WHERE r.month BETWEEN ? AND ? AND {_scope_sql(cur, scope, 'r.org_id')}"
                     " GROUP BY ALL ORDER BY 1, 2", params=[months[0], months[-1]]).pl()
    return df.with_columns(rate=_rate_expr())


def top_groups(series: pl.DataFrame, n: int = 30) -> tuple[list[str], pl.DataFrame]:
    """The `n` groups of a `collection_series` frame with the largest dues (largest first) and
    the series' rows of those groups: what the rate heat map shows."""
    groups = series.group_by("grp").agg(pl.col("due_fen").sum()).sort("due_fen", descending=True)["grp"].head(n).to_list()
    return groups, series.filter(pl.col("grp").is_in(groups))


def amounts_by_category(db: Database, user: User, start: object, end: object, *, org_id: int | None = None) -> pl.DataFrame:
    """category (Chinese, natural order), due_fen, paid_fen, member-months."""
    require(user, PERM_READ)
    months = months_between(start, end)
    with db.read() as cur:
        scope = _scope(cur, org_id)
        df: pl.DataFrame = cur.sql("SELECT r.category, CAST(sum(r.due) * 100 AS BIGINT) AS due_fen,"
                     " CAST(sum(r.paid) * 100 AS BIGINT) AS paid_fen, count(*) AS rows FROM dues_roll r"
                     f" WHERE r.month BETWEEN ? AND ? AND {_scope_sql(cur, scope, 'r.org_id')} GROUP BY 1",
                     params=[months[0], months[-1]]).pl()
    order = {c: i for i, c in enumerate(CATEGORY_CODES)}
    return (df.with_columns(pos=pl.col("category").replace_strict(order, default=99, return_dtype=pl.Int64))
            .sort("pos").drop("pos").with_columns(_labels("category", CATEGORIES)))


# =======================================================================================
# Datasets for 简报图表 (plain data: the registry collects them)
# =======================================================================================
def _dataset_collection(db: Database, user: User) -> pl.DataFrame:
    with db.read() as cur:
        df: pl.DataFrame = cur.sql("SELECT o.street, o.name AS org, o.category AS org_category, strftime(r.month, '%Y-%m') AS month,"
                     " CAST(year(r.month) AS BIGINT) AS year, count(*) AS members,"
                     " count(*) FILTER (WHERE r.paid >= r.due) AS paid_members,"
                     " sum(r.due) AS due, sum(least(r.paid, r.due)) AS collected, sum(greatest(r.due - r.paid, 0)) AS arrears"
                     " FROM dues_roll r JOIN orgs o ON o.id = r.org_id GROUP BY ALL").pl()
    return df.with_columns(
        _labels("org_category", vocab.CATEGORIES),
        # yuan as numbers for drawing only (sums are exact DECIMAL in the database)
        *[pl.col(c).cast(pl.Float64) for c in ("due", "collected", "arrears")],
        pl.col("members").cast(pl.Int64), pl.col("paid_members").cast(pl.Int64),
        rate=pl.when(pl.col("due") > 0).then((pl.col("collected") / pl.col("due")).cast(pl.Float64) * 100)
        .otherwise(pl.lit(100.0)).round(2))


def _dataset_category(db: Database, user: User) -> pl.DataFrame:
    with db.read() as cur:
        df: pl.DataFrame = cur.sql("SELECT o.street, r.category, strftime(r.month, '%Y-%m') AS month, CAST(year(r.month) AS BIGINT) AS year,"
                     " count(*) AS members, sum(r.due) AS due, sum(r.paid) AS paid"
                     " FROM dues_roll r JOIN orgs o ON o.id = r.org_id GROUP BY ALL").pl()
    return df.with_columns(_labels("category", CATEGORIES), pl.col("members").cast(pl.Int64),
                           pl.col("due").cast(pl.Float64), pl.col("paid").cast(pl.Float64))


DATASETS: tuple[Dataset, ...] = (
    Dataset(
        code="dues_collection",
        label="党费收缴（按党组织和月份）",
        description="每个党组织每月一行：应缴、实缴（不超过应缴的部分）、欠缴金额（元）和人数；"
                    "收缴率 = 实缴 ÷ 应缴（各行的平均值仅供参考，汇总请用金额求和）。仅党费管理员可见。",
        fields=[Field("month", "月份", "ordinal"), Field("street", "街道/系统"),
                Field("org", "党组织"),
                Field("org_category", "党组织类别", order=vocab.order_of(vocab.CATEGORIES)),
                Field("year", "年度", "ordinal"),
                Field("due", "应缴金额", "quantitative", unit="元"),
                Field("collected", "实缴金额", "quantitative", unit="元"),
                Field("arrears", "欠缴金额", "quantitative", unit="元"),
                Field("members", "应缴人数", "quantitative", unit="人"),
                Field("paid_members", "已缴清人数", "quantitative", unit="人"),
                Field("rate", "收缴率", "quantitative", unit="%")],
        loader=_dataset_collection, perm=PERM_READ, tables=("dues_roll", "orgs"), count_label="党组织·月数"),
    Dataset(
        code="dues_by_category",
        label="党费（按党员类别）",
        description="每个街道、党员类别、月份一行：应缴和实缴金额（元）、人次。仅党费管理员可见。",
        fields=[Field("month", "月份", "ordinal"), Field("street", "街道/系统"),
                Field("category", "党员类别", order=list(CATEGORIES.values())),
                Field("year", "年度", "ordinal"),
                Field("due", "应缴金额", "quantitative", unit="元"),
                Field("paid", "实缴金额", "quantitative", unit="元"),
                Field("members", "人次", "quantitative", unit="人次")],
        loader=_dataset_category, perm=PERM_READ, tables=("dues_roll", "orgs"), count_label="行数"),
)
