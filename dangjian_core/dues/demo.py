"""党费 demo data (`seed_demo`)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from .arrears_rules import voluntary_payment_flag_expr
from .roll import _ROLL_INSERT_VALUES, _roll_values
from .settings import _settings
from .store import _compute, _d, _register, add_months

if TYPE_CHECKING:
    from ..db import Cursor
    from ..demo import DemoContext

# =======================================================================================
# Demo data
# =======================================================================================
DEMO_PAYROLL_MAPPING = {
    "党员编号": "member_id", "姓名": "name", "职务工资": "counted", "级别工资": "counted",
    "工作性津贴": "counted", "生活性补贴": "counted", "通讯补贴": "ignored", "交通补贴": "ignored",
    "养老保险": "deducted", "医疗保险": "deducted", "职业年金": "deducted", "住房公积金": "deducted",
    "个人所得税": "tax",
}


def _rnd(col: str, salt: int, mod: int) -> pl.Expr:
    """A seeded pseudo-random integer 0 … mod−1 per row (set-based, no Python loop)."""
    return (pl.col(col).hash(seed=salt) % mod).cast(pl.Int64)


def seed_demo(cur: Cursor, ctx: DemoContext) -> None:
    """Bases, two years (city: three) of monthly rolls with payments, some members behind
    (a few with 3–9 consecutive unpaid months, a few back payments of 8 months at once),
    quarterly and proxy payments, voluntary payments (one of 2000.00, forwarded), farmer
    amounts and one unit's payroll mapping. Set-based: the dues of each member are computed
    once per year (bases change in January: amounts fixed for the year), expanded to months
    in polars and inserted with one INSERT … SELECT per table."""
    n_months = 36 if ctx.scale == "city" else 24
    today = ctx.today
    end = date(today.year, today.month, 1)
    start = add_months(end, 1 - n_months)
    end_i, start_i = end.year * 12 + end.month - 1, start.year * 12 + start.month - 1
    salt = ctx.rng.randrange(1, 2 ** 31)
    sid, settings = _settings(cur)

    # farmer amounts of some rural branches
    orgs = ctx.orgs.select(pl.col("id").cast(pl.Int64), "category", "level")
    farm = (orgs.filter((pl.col("category") == "rural") & (pl.col("level") == "branch"))
            .with_columns(r=_rnd("id", salt + 1, 5)).filter(pl.col("r") < 2)
            .select(pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("id"), pl.col("id").cast(pl.Int32).alias("org_id"),
                    pl.when(pl.col("r") == 0).then(50).otherwise(100).cast(pl.Int64).alias("farmer_fen")))
    if farm.height:
        _register(cur, "demo_farm", farm)
        cur.execute("INSERT INTO dues_farmer_amounts(id, org_id, amount, note, updated_by) SELECT id, org_id,"
                    f" {_d('farmer_fen')}, '支部大会确定（演示）', 'demo' FROM demo_farm")
        cur.unregister("demo_farm")
        cur.execute("SELECT setval('dues_farmer_amounts_seq', (SELECT max(id) FROM dues_farmer_amounts))")

    # members: category, admission month, a seeded first base; one segment per year
    joined = cur.sql("SELECT CAST(id AS BIGINT) AS member_id, CAST(year(join_date) * 12 + month(join_date) - 1 AS BIGINT)"
                     " AS join_i FROM members").pl()
    mem = (ctx.members.select(pl.col("id").cast(pl.Int64).alias("member_id"), pl.col("org_id").cast(pl.Int64),
                              "dues_category")
           .join(joined, on="member_id", how="left")
           .join(farm.select(pl.col("org_id").cast(pl.Int64), "farmer_fen"), on="org_id", how="left")
           .with_columns(r=_rnd("member_id", salt + 2, 1_000_000_000)))
    lo_span = {"employed": (250000, 1350000), "annual_salary": (600000, 2400000),
               "self_employed": (200000, 600000), "retired": (250000, 450000)}
    base0 = pl.lit(None, pl.Int64)
    for cat, (lo, span) in lo_span.items():
        base0 = pl.when(pl.col("dues_category") == cat).then(lo + pl.col("r") % span).otherwise(base0)
    mem = mem.with_columns(base0=base0)
    seg_starts = [start] + [date(y, 1, 1) for y in range(start.year + 1, end.year + 1)]
    segs = pl.DataFrame({"seg": list(range(len(seg_starts))), "seg_month": seg_starts},
                        schema={"seg": pl.Int64, "seg_month": pl.Date})
    per_seg = mem.join(segs, how="cross").with_columns(
        base_fen=pl.col("base0") * (100 + 3 * pl.col("seg")) // 100, member_fixed_fen=pl.lit(None, pl.Int64))
    per_seg = _compute(per_seg, settings).filter(pl.col("dues_fen").is_not_null())

    # base history: each segment's base, and a mid-year raise for some (applies next January)
    based = per_seg.filter(pl.col("base_fen").is_not_null())
    raises = (based.filter(_rnd("member_id", salt + 3, 10) == 0)
              .with_columns(seg_month=pl.date(pl.col("seg_month").dt.year(), 7, 1),
                            base_fen=pl.col("base_fen") * 105 // 100)
              .filter((pl.col("seg_month") > pl.lit(start)) & (pl.col("seg_month") <= pl.lit(end))))
    bases = pl.concat([based.select("member_id", "seg_month", "base_fen"),
                       raises.select("member_id", "seg_month", "base_fen")]).sort("member_id", "seg_month")
    bases = bases.with_columns(deducted_fen=pl.col("base_fen") * 22 // 100, tax_fen=pl.col("base_fen") * 3 // 100)
    bases = bases.with_columns(counted_fen=pl.col("base_fen") + pl.col("deducted_fen") + pl.col("tax_fen"),
                               id=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    _register(cur, "demo_bases", bases)
    cur.execute("INSERT INTO member_bases(id, member_id, month, base, counted, deducted, tax, source, updated_by)"
                f" SELECT id, member_id, seg_month, {_d('base_fen')}, {_d('counted_fen')}, {_d('deducted_fen')},"
                f" {_d('tax_fen')}, 'demo', 'demo' FROM demo_bases")
    cur.unregister("demo_bases")
    cur.execute("SELECT setval('member_bases_seq', (SELECT max(id) FROM member_bases))")

    # the roll: segment dues expanded to months (from admission), then payments
    months = pl.DataFrame({"mi": pl.int_range(start_i, end_i + 1, dtype=pl.Int64, eager=True)}).with_columns(
        seg=pl.when(pl.col("mi") // 12 == start.year).then(0).otherwise(pl.col("mi") // 12 - start.year).cast(pl.Int64))
    # month-major order without sorting: months × segment rows, kept in the left frame's order
    roll = (months.join(per_seg.select("member_id", "org_id", "seg", "category", "base_fen", "fixed_fen",
                                       "rate_permille", "rule", "dues_fen", "join_i"),
                        on="seg", how="inner", maintain_order="left")
            .filter(pl.col("join_i").is_null() | (pl.col("join_i") <= pl.col("mi")))
            .with_columns(key=pl.col("member_id") * 100000 + pl.col("mi"),
                          month=pl.date(pl.col("mi") // 12, pl.col("mi") % 12 + 1, 1)))
    behind = _rnd("member_id", salt + 10, 1000) < 15
    run = 3 + _rnd("member_id", salt + 11, 7)
    big_back = (~behind) & (_rnd("member_id", salt + 12, 1000) < 4)
    quarterly = (~behind) & (~big_back) & (_rnd("member_id", salt + 13, 50) == 0)
    proxy = (~behind) & (_rnd("member_id", salt + 14, 80) == 1)
    r = _rnd("key", salt + 15, 1000)
    current = pl.col("mi") == end_i
    q_first = pl.col("mi") - pl.col("mi") % 3
    q_paid_on = pl.date(q_first // 12, q_first % 12 + 1, 10)
    month_last = pl.col("month").dt.month_end()
    late_on = pl.min_horizontal(month_last + pl.duration(days=10 + _rnd("key", salt + 16, 70)), pl.lit(today))
    day = 3 + _rnd("key", salt + 17, 25)
    ontime_on = pl.date(pl.col("mi") // 12, pl.col("mi") % 12 + 1,
                        pl.when(current).then(pl.min_horizontal(day, pl.lit(today.day, pl.Int64))).otherwise(day))
    bb_month = add_months(end, -6)
    bb_on = pl.lit(date(bb_month.year, bb_month.month, 15))
    status = (pl.when(pl.col("dues_fen") == 0).then(pl.lit("none"))
              .when(behind & (pl.col("mi") >= end_i - run)).then(pl.lit("none"))
              .when(big_back & (pl.col("mi") >= end_i - 14) & (pl.col("mi") <= end_i - 7)).then(pl.lit("bigback"))
              .when(quarterly & (q_paid_on <= pl.lit(today))).then(pl.lit("quarterly"))
              .when(quarterly).then(pl.lit("none"))
              .when(current).then(pl.when(r < 550).then(pl.lit("ontime")).otherwise(pl.lit("none")))
              .when(r < 10).then(pl.lit("none"))
              .when((r < 100) & (month_last < pl.lit(today))).then(pl.lit("late"))
              .otherwise(pl.lit("ontime")))
    roll = roll.with_columns(status=status, proxy=proxy)
    paying = pl.col("status") != "none"
    partial = (pl.col("status") == "ontime") & (_rnd("key", salt + 18, 200) == 0) & (pl.col("dues_fen") >= 2)
    m_code = _rnd("key", salt + 19, 10)
    method = (pl.when(m_code < 3).then(pl.lit("cash")).when(m_code < 6).then(pl.lit("transfer"))
              .when(m_code < 9).then(pl.lit("bank")).otherwise(pl.lit("online")))
    roll = roll.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("id"), "month",
        pl.col("member_id").cast(pl.Int32), pl.col("org_id").cast(pl.Int32), *_roll_values(roll, sid),
        paid_fen=pl.when(~paying).then(0).when(partial).then(pl.col("dues_fen") // 2).otherwise(pl.col("dues_fen")),
        paid_on=pl.when(paying).then(
            pl.when(pl.col("status") == "ontime").then(ontime_on).when(pl.col("status") == "late").then(late_on)
            .when(pl.col("status") == "quarterly").then(q_paid_on).otherwise(bb_on)),
        method=pl.when(paying).then(pl.when(pl.col("proxy") | (pl.col("status") == "bigback")).then(pl.lit("cash"))
                                    .otherwise(method)),
        quarterly=pl.col("status") == "quarterly",
        proxy_name=pl.when(pl.col("proxy") & paying).then(pl.lit("家属代缴")),
        consent=(pl.col("status") == "quarterly") | pl.col("proxy"),
        note=pl.when(pl.col("status") == "bigback").then(pl.lit("外出务工返回后一次补交（演示）")))
    _register(cur, "demo_roll", roll)
    cur.execute("INSERT INTO dues_roll(id, month, member_id, org_id, category, base, fixed_amount, rate_permille, rule,"
                " due, settings_id, paid, paid_on, method, quarterly, proxy_name, consent, note, updated_by)"
                f" SELECT id, month, member_id, org_id, {_ROLL_INSERT_VALUES}, {_d('paid_fen')}, paid_on, method,"
                " quarterly, proxy_name, consent, note, 'demo' FROM demo_roll")
    cur.unregister("demo_roll")
    cur.execute("SELECT setval('dues_roll_seq', (SELECT max(id) FROM dues_roll))")

    # voluntary payments: a few small ones, and one of 2000.00 (forwarded in full)
    vol = (mem.filter(_rnd("member_id", salt + 20, 400) == 0)
           .select("member_id", "org_id", mi=end_i - 1 - _rnd("member_id", salt + 21, n_months - 1),
                   amount_fen=5000 + _rnd("member_id", salt + 22, 45) * 1000))
    big = mem.filter((pl.col("dues_category") == "employed") & (pl.col("join_i") < start_i)).head(1)
    vol = pl.concat([vol, big.select("member_id", "org_id", mi=pl.lit(end_i - 2, pl.Int64),
                                     amount_fen=pl.lit(200000, pl.Int64))])
    if vol.height:
        vol = vol.with_columns(id=pl.int_range(1, pl.len() + 1, dtype=pl.Int32),
                               month=pl.date(pl.col("mi") // 12, pl.col("mi") % 12 + 1, 1),
                               forward=voluntary_payment_flag_expr("amount_fen"))
        _register(cur, "demo_vol", vol.with_columns(paid_on=pl.col("month") + pl.duration(days=14)))
        cur.execute("INSERT INTO dues_voluntary(id, member_id, org_id, month, amount, paid_on, method, forward, note,"
                    f" updated_by) SELECT id, member_id, org_id, month, {_d('amount_fen')}, paid_on, 'transfer', forward,"
                    " CASE WHEN forward THEN '一次性自愿多交，全额上缴中央（演示）' ELSE '自愿多交（演示）' END, 'demo'"
                    " FROM demo_vol")
        cur.unregister("demo_vol")
        cur.execute("SELECT setval('dues_voluntary_seq', (SELECT max(id) FROM dues_voluntary))")

    # one unit's payroll mapping, as if its payroll had been imported once
    organ = ctx.orgs.filter(pl.col("category") == "organ").head(1)
    if organ.height:
        mp = pl.DataFrame({"id": list(range(1, len(DEMO_PAYROLL_MAPPING) + 1)),
                           "column_name": list(DEMO_PAYROLL_MAPPING), "kind": list(DEMO_PAYROLL_MAPPING.values())},
                          schema={"id": pl.Int32, "column_name": pl.String, "kind": pl.String})
        _register(cur, "demo_map", mp)
        cur.execute("INSERT INTO dues_payroll_mappings(id, org_id, column_name, kind, updated_by)"
                    " SELECT id, ?, column_name, kind, 'demo' FROM demo_map", [int(organ["id"][0])])
        cur.unregister("demo_map")
        cur.execute("SELECT setval('dues_payroll_mappings_seq', (SELECT max(id) FROM dues_payroll_mappings))")
