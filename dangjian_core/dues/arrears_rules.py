"""欠缴 (arrears) over months, pure: the detail per member and month by the rule in force
each month (`arrears_detail`), consecutive-unpaid warnings, the summary per member, and the
voluntary / back-payment flags."""

from __future__ import annotations

from typing import TypedDict, Unpack

import polars as pl

from .. import values
from ..errors import BadInput, CellError
from .engine import (
    MaskErrors,
    _as_text,
    _check_columns,
    _money_messages,
    dues_exprs,
    dues_exprs_by_rule,
    fen_text,
    money_to_fen,
    parse_dues_input,
)
from .model import (
    AMOUNT_MODES_CLI,
    BACK_PAY_NORMAL_MAX_MONTHS,
    DEFAULT_SETTINGS,
    FIRST_MONTH,
    LAST_YEAR,
    VOLUNTARY_FORWARD_THRESHOLD,
    DuesSettings,
    RuleHistory,
    RulePeriod,
)
from .rules import parse_money

# --------------------------------------------------------------------------------------
# Arrears (欠缴)
# --------------------------------------------------------------------------------------

def month_index(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(year*12 + month-1 as Int64, problem message or null) for a month column. Exact
    `YYYY-MM` text takes a fast path; other spellings go through `values.parse_month` (the one
    month rule: "2024-3", "2024/03", "2024年3月", "202403", a date gives its month)."""
    if s.dtype == pl.String:
        d = s.str.strptime(pl.Date, "%Y-%m", strict=False)
        if d.null_count() == 0:
            return _month_index_slow(d)
        rest = d.is_null()
        idx_rest = rest.arg_true()
        i_fast, p_fast = _month_index_slow(d)
        i_slow, p_slow = _month_index_slow(s.gather(idx_rest))
        return i_fast.scatter(idx_rest, i_slow), p_fast.scatter(idx_rest, p_slow)
    return _month_index_slow(s)


def _month_index_slow(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    n = len(s)
    if s.dtype in (pl.Date,) or isinstance(s.dtype, pl.Datetime):
        y, m = s.dt.year().cast(pl.Int64), s.dt.month().cast(pl.Int64)
        parsed_error = pl.repeat(None, n, dtype=pl.String, eager=True)
    else:
        parsed = values.month_column(s)
        y, m = parsed.values.dt.year().cast(pl.Int64), parsed.values.dt.month().cast(pl.Int64)
        parsed_error = parsed.errors
    idx = y * 12 + (m - 1)
    first = FIRST_MONTH[0] * 12 + FIRST_MONTH[1] - 1
    empty = s.is_null() if s.dtype != pl.String else (s.is_null() | (s.str.strip_chars().str.len_bytes() == 0))
    problem = pl.select(
        pl.when(empty).then(pl.lit("缺少月份，应为 YYYY-MM，如 2024-03"))
        .when(parsed_error.is_not_null()).then(parsed_error)
        .when(y.is_null() | m.is_null()).then(pl.lit(values.MONTH_MESSAGE))
        .when(idx < first).then(pl.lit("月份早于 2008-04：本系统按 2008 年规定计算，更早的月份不适用"))
        .when(y > LAST_YEAR).then(pl.lit(f"年份超出范围（应不晚于 {LAST_YEAR} 年）"))
        .otherwise(None)
    ).to_series()
    idx = pl.select(pl.when(problem.is_null()).then(idx)).to_series()
    assert len(idx) == n
    return idx, problem


_FIRST_INDEX = FIRST_MONTH[0] * 12 + FIRST_MONTH[1] - 1
_MONTH_LOOKUP = pl.Series([f"{i // 12}-{i % 12 + 1:02d}" for i in range(_FIRST_INDEX, (LAST_YEAR + 1) * 12)],
                          dtype=pl.String)


def _month_text(expr: pl.Expr) -> pl.Expr:
    """month index (validated range) → "YYYY-MM" via a small lookup table (no string work)."""
    return pl.lit(_MONTH_LOOKUP).gather(expr - _FIRST_INDEX)


_TRUE_TEXT = ("true", "1", "是", "yes", "y", "t", "√")
_FALSE_TEXT = ("false", "0", "否", "no", "n", "f", "")


def _bool_cells(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(Boolean, bad mask) for a yes/no column: true/false, 1/0, 是/否, yes/no; empty = false."""
    if s.dtype == pl.Boolean:
        return s.fill_null(False), pl.repeat(False, len(s), eager=True)
    t = _as_text(s).str.strip_chars().str.to_lowercase().fill_null("")
    yes = t.is_in(list(_TRUE_TEXT))
    bad = ~yes & ~t.is_in(list(_FALSE_TEXT))
    return yes, bad


def _bases_in_force(work: pl.DataFrame, fixed: pl.Expr) -> pl.Series:
    """The base in force in each row's month when amounts are fixed for the year (`fixed`
    true for the row): a row's base applies from its own month when it is the member's first
    row, a January row, marked `redetermine`, or the category changed from the row before (a
    new category is a new determination); otherwise from the next January. The base in force
    is that of the latest applying row (the latest month among rows applying from the same
    month) — the rule `dues.store` applies to the base history. `work` is sorted by member
    (grouped) then month."""
    big = 1 << 20  # month indexes stay below 2**15
    new_member = (pl.col("member_id") != pl.col("member_id").shift(1)).fill_null(True)
    cat_change = (pl.col("category") != pl.col("category").shift(1)).fill_null(True)
    applies = (pl.when(~fixed | new_member | cat_change | (pl.col("month_index") % 12 == 0) | pl.col("redetermine"))
               .then(pl.col("month_index")).otherwise((pl.col("month_index") // 12 + 1) * 12))
    keyed = work.lazy().select(
        _m=new_member.cum_sum().cast(pl.Int64), month_index="month_index", base_fen="base_fen", applies=applies,
    ).with_columns(t=pl.col("_m") * big + pl.col("month_index"), k=pl.col("_m") * big + pl.col("applies")).collect()
    cand = (keyed.select("k", "month_index", "base_fen").sort("k", "month_index")
            .unique("k", keep="last", maintain_order=True))
    got = keyed.select("t").join_asof(cand.select("k", "base_fen"), left_on="t", right_on="k", strategy="backward")
    return got["base_fen"]


def arrears_detail(
    df: pl.DataFrame,
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    rules: RuleHistory | None = None,
    amount_mode: str = "monthly",
    first_row: int = 2,
    file: str | None = None,
) -> pl.DataFrame:
    """Per member and month (应缴 / 实缴 / 补交): member_id, month ("YYYY-MM"), month_index
    (year × 12 + month − 1), category (Enum of the codes), rule (Enum RULE_ENUM), rule_version
    (code of the dated rule used, `rules`; null without), base_used_fen (the base the due
    amount was computed from), due_fen, paid_fen, back_pay_fen (= max(due −
    paid, 0)), unpaid (due > 0 and paid = 0), consecutive_unpaid (length of the unpaid run
    ending that month, 0 otherwise), row (spreadsheet row). Sorted by member (in order of first
    appearance) then month. Raises BadInput listing every bad cell.

    `rules`: compute each month by the rule in force that month (a `RuleHistory`; None: the
    one `settings` for every month). `amount_mode` (`AMOUNT_MODES_CLI`): "monthly" takes each
    row's base as that month's base; "fixed_for_year" keeps the base determined at the start
    of the year (`_bases_in_force`; an optional `redetermine` column marks re-determinations);
    "by_rule" does so in the months whose rule says so (2017 on)."""
    _check_columns(df, ["member_id", "month", "category", "base_income", "paid"], file)
    if amount_mode not in AMOUNT_MODES_CLI:
        raise BadInput(f"金额调整方式「{amount_mode}」无效，应为：{'、'.join(AMOUNT_MODES_CLI)}")
    df = df.rechunk()
    err = MaskErrors(first_row, file=file)
    parsed, _ = parse_dues_input(df, settings, first_row=first_row, unique_member=False, errors=err, file=file)
    midx, mproblem = month_index(df["month"])
    err.add_mask(mproblem.is_not_null(), "month", df["month"], lambda idx: mproblem.gather(idx).to_list(), 1.5)
    paid_fen, paid_problem = money_to_fen(df["paid"])
    paid_bad = paid_problem.is_not_null() & (paid_problem != "missing")
    err.add_mask(paid_bad, "paid", df["paid"], _money_messages(paid_problem, "实缴金额"), 4)
    n = df.height
    if "redetermine" in df.columns:
        redetermine, redet_bad = _bool_cells(df["redetermine"])
        err.add_mask(redet_bad, "redetermine", df["redetermine"], "重新核定应填 true/false（是/否），空白表示否", 5)
    else:
        redetermine = pl.repeat(False, n, eager=True)
    work = parsed.with_columns(
        month_index=midx,
        paid_fen=paid_fen.fill_null(0),  # an empty paid cell means nothing was paid
        row=pl.int_range(n, dtype=pl.Int64, eager=True),
        redetermine=redetermine,
    )
    member = work["member_id"]
    change = (member != member.shift(1)).fill_null(True)
    # Fast path: each member's rows are together and months strictly increase within them
    # (the usual export). Then the rows are already in output order and no (member, month)
    # can repeat. Otherwise sort by (first appearance, month) and look for repeats.
    ordered = (
        not err
        and int(change.sum()) == member.n_unique()
        and bool((change | (midx > midx.shift(1)).fill_null(False)).all())
    )
    if not ordered:
        keyed = work.filter(pl.col("month_index").is_not_null() & pl.col("member_id").is_not_null()
                            & (pl.col("member_id").str.len_bytes() > 0))
        keyed = keyed.with_columns(first=pl.col("row").min().over("member_id")).sort(
            ["first", "month_index", "row"])
        same = (pl.col("first") == pl.col("first").shift(1)) & (pl.col("month_index") == pl.col("month_index").shift(1))
        dup = keyed.filter(same)
        if dup.height:
            firsts = keyed.group_by(["first", "month_index"]).agg(first_dup=pl.col("row").min())
            dup = dup.join(firsts, on=["first", "month_index"], how="left")
            for m, mi, r, f in dup.select("member_id", "month_index", "row", "first_dup").iter_rows():
                err.add_at(CellError(first_row + r, "month", f"{mi // 12}-{mi % 12 + 1:02d}",
                                  f"党员「{m}」的这个月份与第 {first_row + f} 行重复，每名党员每月只能有一行"), 1.5)
        if not err:
            work = keyed.drop("first")
    if err:
        raise BadInput(f"发现 {err.count} 处错误，未计算欠缴", err.errors(), file=file)

    if amount_mode != "monthly" and n:
        if amount_mode == "fixed_for_year":
            fixed = pl.lit(True)
        else:
            hist = rules or RuleHistory([RulePeriod(0, settings, "", "")])
            fixed = pl.lit(pl.Series([p.settings.amount_mode == "fixed_for_year" for p in hist], dtype=pl.Boolean)
                           ).gather(hist.period_index(pl.col("month_index")))
        work = work.with_columns(base_fen=_bases_in_force(work, fixed))
    if rules is not None:
        computed = dues_exprs_by_rule(rules, rule_as_enum=True)
    else:
        computed = dues_exprs(settings, rule_as_enum=True) + [pl.lit(None, pl.String).alias("rule_version")]
    unpaid = (pl.col("dues_fen") > 0) & (pl.col("paid_fen") == 0)
    new_member = (pl.col("member_id") != pl.col("member_id").shift(1)).fill_null(True)
    adjacent = (pl.col("month_index") == pl.col("month_index").shift(1) + 1).fill_null(False)
    pos = pl.int_range(pl.len(), dtype=pl.Int64)
    start = pl.col("unpaid") & (new_member | ~adjacent | ~pl.col("unpaid").shift(1).fill_null(False))
    run_start = pl.when(start).then(pos).otherwise(None).forward_fill()
    return (
        work.lazy()
        .with_columns(computed)
        .with_columns(unpaid=unpaid)
        .select(
            "member_id",
            month=_month_text(pl.col("month_index")),
            month_index="month_index",
            category="category",
            rule="rule",
            rule_version="rule_version",
            base_used_fen="base_fen",
            due_fen="dues_fen",
            paid_fen="paid_fen",
            back_pay_fen=pl.max_horizontal(pl.col("dues_fen") - pl.col("paid_fen"), pl.lit(0, pl.Int64)),
            unpaid="unpaid",
            consecutive_unpaid=pl.when(pl.col("unpaid")).then(pos - run_start + 1).otherwise(pl.lit(0, pl.Int64)),
            row=pl.col("row") + first_row,
        )
        .collect()
    )


def warning_level(max_consecutive: int, settings: DuesSettings = DEFAULT_SETTINGS) -> str:
    """"none" | "warn" (from 3 consecutive unpaid months) | "flag" (6 or more). A flag is a
    prompt for the branch: the product never removes anyone."""
    if max_consecutive >= settings.flag_months:
        return "flag"
    if max_consecutive >= settings.warn_from_months:
        return "warn"
    return "none"


def warning_level_expr(expr: pl.Expr | str, settings: DuesSettings = DEFAULT_SETTINGS) -> pl.Expr:
    e = pl.col(expr) if isinstance(expr, str) else expr
    return (pl.when(e >= settings.flag_months).then(pl.lit("flag"))
            .when(e >= settings.warn_from_months).then(pl.lit("warn")).otherwise(pl.lit("none")))


def summarize_arrears(detail: pl.DataFrame, settings: DuesSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """Per member from `arrears_detail`: member_id, months, due_total_fen, paid_total_fen,
    arrears_fen, max_consecutive_unpaid, flag_six_months, warning."""
    member_no = (pl.col("member_id") != pl.col("member_id").shift(1)).fill_null(True).cum_sum()
    return (
        detail.lazy()
        .with_columns(_member_no=member_no)  # rows come grouped by member: an integer key
        .group_by("_member_no", maintain_order=True)
        .agg(
            pl.col("member_id").first(),
            months=pl.len().cast(pl.Int64),
            due_total_fen=pl.col("due_fen").sum(),
            paid_total_fen=pl.col("paid_fen").sum(),
            arrears_fen=pl.col("back_pay_fen").sum(),
            max_consecutive_unpaid=pl.col("consecutive_unpaid").max().cast(pl.Int64),
        )
        .with_columns(
            flag_six_months=pl.col("max_consecutive_unpaid") >= settings.flag_months,
            warning=warning_level_expr("max_consecutive_unpaid", settings),
        )
        .drop("_member_no")
        .collect()
    )


class ArrearsOptions(TypedDict, total=False):
    """`arrears_detail`'s keyword options, taken as they are by `compute_arrears`."""

    rules: RuleHistory | None
    amount_mode: str
    first_row: int
    file: str | None


def compute_arrears(df: pl.DataFrame, settings: DuesSettings = DEFAULT_SETTINGS,
                    **options: Unpack[ArrearsOptions]) -> pl.DataFrame:
    """Arrears per member (in order of first appearance) from one row per member and month
    (member_id, month, category, base_income, paid[, fixed_amount]); `options` as for
    `arrears_detail` (rules, amount_mode, first_row, file). Columns: member_id,
    months, due_total_fen, paid_total_fen, arrears_fen, max_consecutive_unpaid,
    flag_six_months, warning. Unpaid = due > 0 and paid = 0; arrears = Σ max(due − paid, 0);
    runs need adjacent calendar months (a missing month or a month with nothing due breaks a
    run); flag when the longest run ≥ settings.flag_months (6)."""
    return summarize_arrears(arrears_detail(df, settings, **options), settings)


def format_arrears(result: pl.DataFrame) -> pl.DataFrame:
    """The CLI's output shape (money as text with two decimals)."""
    return result.select(
        "member_id", "months",
        fen_text("due_total_fen").alias("due_total"),
        fen_text("paid_total_fen").alias("paid_total"),
        fen_text("arrears_fen").alias("arrears"),
        "max_consecutive_unpaid", "flag_six_months",
    )


RULE_VERSION_COLUMNS = ["member_id", "month", "category", "base_used", "rule_version", "rule", "due", "paid",
                        "back_pay", "consecutive_unpaid"]


def format_arrears_detail(detail: pl.DataFrame) -> pl.DataFrame:
    """Per member and month, for `dues arrears --detail`: which rule each month used."""
    return detail.select(
        "member_id", "month", pl.col("category").cast(pl.String),
        fen_text("base_used_fen").alias("base_used"), "rule_version", pl.col("rule").cast(pl.String),
        fen_text("due_fen").alias("due"), fen_text("paid_fen").alias("paid"),
        fen_text("back_pay_fen").alias("back_pay"), "consecutive_unpaid",
    )


# --------------------------------------------------------------------------------------
# Flags
# --------------------------------------------------------------------------------------

def voluntary_payment_flag(amount: object) -> bool:
    """A one-off voluntary payment of 1000.00 or more is forwarded in full to the Centre."""
    d = parse_money(amount, what="自愿缴纳金额")
    return d >= VOLUNTARY_FORWARD_THRESHOLD


def back_payment_flag(months_covered: int) -> bool:
    """A back payment (补交) covering more than 6 months is accepted but flagged."""
    if isinstance(months_covered, bool) or not isinstance(months_covered, int) or months_covered < 0:
        raise BadInput(f"补交月数「{months_covered}」无效，应为不小于 0 的整数")
    return months_covered > BACK_PAY_NORMAL_MAX_MONTHS


def voluntary_payment_flag_expr(fen: pl.Expr | str) -> pl.Expr:
    e = pl.col(fen) if isinstance(fen, str) else fen
    return e >= int(VOLUNTARY_FORWARD_THRESHOLD * 100)


def back_payment_flag_expr(months: pl.Expr | str) -> pl.Expr:
    e = pl.col(months) if isinstance(months, str) else months
    return e > BACK_PAY_NORMAL_MAX_MONTHS
