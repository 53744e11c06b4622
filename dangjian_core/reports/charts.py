"""述职评议 datasets for 简报图表 (`DATASETS`, collected by `registry.datasets()`)."""

from __future__ import annotations

import polars as pl

from .. import clock, vocab
from ..auth import User
from ..contracts import Dataset, Field
from ..db import Database
from ..vocab import CATEGORIES, TIERS
from .indicators import scores
from .model import GRADE_LABELS, LEVEL_NAMES, SOURCES, Row, query


def _label(col: str, mapping: Row) -> pl.Expr:
    return pl.col(col).replace_strict(mapping, default=pl.col(col), return_dtype=pl.String)


SCORE_BANDS = ["60 分以下", "60–70 分", "70–80 分", "80–90 分", "90 分以上"]


def _dataset_scores(db: Database, user: User) -> pl.DataFrame:
    sc = scores(db)
    with db.read() as cur:
        orgs = query(cur, "SELECT CAST(id AS BIGINT) AS unit_id, category, tier FROM orgs")
    t = sc.table.filter(pl.col("progress").is_not_null()).join(orgs, on="unit_id", how="left")
    band = (pl.when(pl.col("progress") < 60).then(pl.lit(SCORE_BANDS[0])).when(pl.col("progress") < 70)
            .then(pl.lit(SCORE_BANDS[1])).when(pl.col("progress") < 80).then(pl.lit(SCORE_BANDS[2]))
            .when(pl.col("progress") < 90).then(pl.lit(SCORE_BANDS[3])).otherwise(pl.lit(SCORE_BANDS[4])))
    return t.select(pl.col("name").alias("unit"), "street", _label("category", CATEGORIES).alias("category"),
                    _label("tier", TIERS).alias("tier"), band.alias("band"), "progress",
                    pl.col("n_indicators").cast(pl.Int64))


def _dataset_votes(db: Database, user: User) -> pl.DataFrame:
    with db.read() as cur:
        v = query(cur, "SELECT s.title AS session, s.session_date, CAST(s.year AS BIGINT) AS year, o.name AS unit,"
                    " o.street, o.category, CAST(v.voters AS BIGINT) AS voters, CAST(v.good AS BIGINT) AS good,"
                    " CAST(v.fairly_good AS BIGINT) AS fairly_good, CAST(v.average AS BIGINT) AS average,"
                    " CAST(v.poor AS BIGINT) AS poor FROM report_votes v JOIN report_sessions s ON s.id = v.session_id"
                    " LEFT JOIN orgs o ON o.id = v.unit_id ORDER BY s.session_date, o.name")
    return v.with_columns(_label("category", CATEGORIES),
                          good_rate=((pl.col("good") + pl.col("fairly_good")) * 100.0 / pl.col("voters")).round(1)
                          ).drop("session_date")


def _dataset_items(db: Database, user: User) -> pl.DataFrame:
    today = clock.today()
    with db.read() as cur:
        df = query(cur, "SELECT strftime(r.opened, '%Y-%m') AS month, CAST(year(r.opened) AS BIGINT) AS year, o.street,"
                     " o.category, r.source, r.level, r.deadline, r.closed FROM rectification_items r"
                     " LEFT JOIN orgs o ON o.id = r.unit_id")
    return df.select(
        "month", "year", "street", _label("category", CATEGORIES).alias("category"),
        _label("source", SOURCES).alias("source"),
        pl.col("level").cast(pl.String).replace_strict({str(k): v for k, v in LEVEL_NAMES.items()}, default=None).alias("level"),
        pl.when(pl.col("closed").is_not_null()).then(pl.lit("已销号")).when(pl.col("deadline") < today)
        .then(pl.lit("逾期")).otherwise(pl.lit("整改中")).alias("state"),
        pl.when(pl.col("closed").is_null() & (pl.col("deadline") < today))
        .then((pl.lit(today) - pl.col("deadline")).dt.total_days()).otherwise(0).cast(pl.Int64).alias("days_overdue"))


F = Field
# fields every 述职评议 dataset has (one definition each)
_STREET = F("street", "街道/系统")
_CATEGORY = F("category", "类别", order=vocab.order_of(vocab.CATEGORIES))

DATASETS = (
    Dataset(
        code="report_scores", label="述职评议进度分（各单位当前）",
        description="每个单位一行：按「进度分与指标」中的公式算出的当前进度分（0–100）、分数段和有数据的指标数。",
        fields=[F("unit", "单位"), _STREET, _CATEGORY, F("tier", "评定等次", order=vocab.order_of(vocab.TIERS)),
                F("band", "进度分段", "ordinal", order=SCORE_BANDS),
                F("progress", "进度分", "quantitative", unit="分"), F("n_indicators", "指标数", "quantitative", unit="项")],
        loader=_dataset_scores, tables=("report_indicators", "report_indicator_values", "orgs"), count_label="单位数"),
    Dataset(
        code="report_votes", label="述职测评结果",
        description="每场述职每个单位一行：参评人数和好、较好、一般、差的票数，好+较好率（%）。",
        fields=[F("session", "场次", "ordinal"), F("year", "年度", "ordinal"), F("unit", "单位"), _STREET, _CATEGORY,
                F("good_rate", "好+较好率", "quantitative", unit="%"), F("voters", "参评人数", "quantitative", unit="人"),
                *[F(grade, label, "quantitative", unit="票") for grade, label in GRADE_LABELS.items()]],
        loader=_dataset_votes, tables=("report_votes", "report_sessions", "orgs"), count_label="单位·场次数"),
    Dataset(
        code="rectification_items", label="整改事项",
        description="每个整改事项一行：下发月份、来源、当前级别（整改意见单/通报批评单/约谈单）、状态和逾期天数。",
        fields=[F("month", "下发月份", "ordinal"), F("year", "年度", "ordinal"), _STREET, _CATEGORY,
                F("source", "来源", order=list(SOURCES.values())),
                F("level", "级别", "ordinal", order=list(LEVEL_NAMES.values())),
                F("state", "状态", order=["整改中", "逾期", "已销号"]),
                F("days_overdue", "逾期天数", "quantitative", unit="天")],
        loader=_dataset_items, tables=("rectification_items", "orgs"), count_label="事项数"),
)

