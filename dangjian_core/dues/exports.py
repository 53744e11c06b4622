"""党费 exports: the 花名册 as xlsx and the bank bill file."""

from __future__ import annotations

import polars as pl

from .. import fileio
from ..auth import User, mask_id_number, require
from ..db import Database
from .model import CATEGORIES, RATE_TEXT
from .roll import roll_by_org
from .store import METHODS, PERM_READ, PERM_SALARY, _dec, _labels, month_text, parse_month, roll_month

_JOINS = "JOIN members mem ON mem.id = r.member_id JOIN orgs o ON o.id = r.org_id"


def roll_export_frame(db: Database, user: User, month: object, *, org_id: int | None = None) -> pl.DataFrame:
    """The 党费收缴花名册 of a month with Chinese headers (base only with salary.read)."""
    df = roll_month(db, user, month, org_id,
                    "o.name AS org, mem.member_no, mem.name, r.category, r.base, r.rate_permille, r.due,"
                    " r.paid, r.paid_on, r.method, r.quarterly, r.proxy_name, r.consent, r.note", joins=_JOINS,
                    order="ORDER BY o.name, mem.member_no")
    cols = [pl.int_range(1, pl.len() + 1).alias("序号"), pl.col("org").alias("党组织"),
            pl.col("member_no").alias("党员编号"), pl.col("name").alias("姓名"),
            _labels("category", CATEGORIES).alias("党员类别")]
    if user.can(PERM_SALARY):
        cols.append(pl.col("base").alias("计算基数"))
    cols += [pl.col("rate_permille").replace_strict(RATE_TEXT, default=None, return_dtype=pl.String).alias("费率"),
             pl.col("due").alias("应缴金额"), pl.col("paid").alias("实缴金额"), pl.col("paid_on").alias("缴纳日期"),
             _labels("method", METHODS).alias("缴纳方式"),
             pl.when(pl.col("quarterly")).then(pl.lit("是")).otherwise(pl.lit("")).alias("按季度"),
             pl.col("proxy_name").alias("代缴人"),
             pl.when(pl.col("consent")).then(pl.lit("是")).otherwise(pl.lit("")).alias("支部同意"),
             pl.col("note").alias("备注")]
    return df.select(cols)


def roll_xlsx(db: Database, user: User, month: object, *, org_id: int | None = None) -> bytes:
    m = parse_month(month)
    roll = roll_export_frame(db, user, m, org_id=org_id)
    by_org = roll_by_org(db, user, m, org_id=org_id).select(
        pl.col("org").alias("党组织"), pl.col("street").alias("街道/系统"), pl.col("members").alias("应缴人数"),
        _dec("due_fen").alias("应缴金额"), _dec("paid_fen").alias("实缴金额"), pl.col("unpaid").alias("未缴人数"),
        pl.col("rate").alias("收缴率（%）"))
    return fileio.xlsx_bytes({f"{month_text(m)} 花名册": roll, "按党组织汇总": by_org})


def bank_bill(db: Database, user: User, month: object, *, org_id: int | None = None, only_unpaid: bool = True) -> pl.DataFrame:
    """The bank's collection file: 党员编号, 姓名, 身份证号, 手机号, 应缴金额 (what is still owed),
    所属月份. ID numbers in full only with salary.read, masked otherwise."""
    require(user, PERM_READ)
    m = parse_month(month)
    df = roll_month(db, user, m, org_id, "mem.member_no, mem.name, mem.id_number, mem.phone, r.due - r.paid AS owed,"
                    " o.name AS org", joins=_JOINS, where="AND r.paid < r.due" if only_unpaid else "AND r.due > 0",
                    order="ORDER BY o.name, mem.member_no")
    if not user.can(PERM_SALARY):
        df = df.with_columns(pl.col("id_number").map_elements(mask_id_number, return_dtype=pl.String))
    return df.select(pl.col("member_no").alias("党员编号"), pl.col("name").alias("姓名"),
                     pl.col("id_number").alias("身份证号"), pl.col("phone").alias("手机号"),
                     pl.col("owed").cast(pl.Decimal(18, 2)).alias("应缴金额"),
                     pl.lit(month_text(m)).alias("所属月份"), pl.col("org").alias("党组织"))


def bank_bill_xlsx(db: Database, user: User, month: object, *, org_id: int | None = None) -> bytes:
    return fileio.xlsx_bytes({"银行代收": bank_bill(db, user, month, org_id=org_id)})
