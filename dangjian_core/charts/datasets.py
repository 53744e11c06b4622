"""Which datasets a user may chart and their frames; the datasets over orgs and members
(declared in the package's `DATASETS`, like every subject's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from .. import clock, vocab
from ..auth import User, require
from ..contracts import Dataset, Field
from ..errors import BadInput, DangjianError
from .model import get_dataset

if TYPE_CHECKING:
    from ..db import Database


def _existing_tables(db: Database) -> set[str]:
    with db.read() as cur:
        return {r[0] for r in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()}


def all_datasets() -> dict[str, Dataset]:
    """code → every subject's chart dataset (the registry's), the general ones over orgs and
    members first (the chart page offers them first)."""
    from .. import registry  # lazily: registry imports the subjects, which import this package

    return {d.code: d for d in (ORGS, MEMBERS, *registry.datasets().values())}


def available_datasets(db: Database, user: User) -> list[Dataset]:
    """The datasets this user may chart now: permission held and every table present."""
    have = _existing_tables(db)
    return [d for d in all_datasets().values()
            if user.can(d.perm) and all(t in have for t in d.tables)]


def load_frame(db: Database, user: User, dataset: Dataset | str) -> pl.DataFrame:
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


def _labels(col: str, mapping: dict[str, str]) -> pl.Expr:
    return pl.col(col).replace_strict(mapping, default=pl.col(col), return_dtype=pl.String)


def _load_orgs(db: Database, user: User) -> pl.DataFrame:
    with db.read() as cur:
        df: pl.DataFrame = cur.sql("SELECT o.name, o.street, o.category, o.level, o.tier,"
                     " CAST(o.member_count AS BIGINT) AS member_count, p.name AS parent"
                     " FROM orgs o LEFT JOIN orgs p ON p.id = o.parent_id").pl()
    return df.with_columns(_labels("category", vocab.CATEGORIES), _labels("level", vocab.LEVELS),
                           _labels("tier", vocab.TIERS))


def _load_members(db: Database, user: User) -> pl.DataFrame:
    with db.read() as cur:
        df: pl.DataFrame = cur.sql(
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


ORGS = Dataset(
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
)

MEMBERS = Dataset(
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
)

