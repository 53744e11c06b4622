"""党费 vectorised engine: money and category columns read exactly (`money_to_fen`,
`parse_dues_input`), dues of a whole frame in integer 分 (`calc_dues_frame`, `dues_exprs`). The
same answers as `rules.calc_dues`, proven equal by the tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

import polars as pl

from .. import values
from ..errors import BadInput, CellError, ErrorCollector
from .model import (
    _CAPPED_OFFSET,
    _CAT_INDEX,
    _CATEGORY_ENUM,
    _MAX_INT_DIGITS,
    _RE_TEXT_MONEY,
    _RULE_IDS,
    _RULE_NAMES,
    _TOO_LARGE_FEN,
    CAP_AMOUNT,
    CATEGORIES,
    CATEGORY_ALIASES,
    DEFAULT_SETTINGS,
    FARMER_MAX,
    FARMER_MIN,
    FLAT_AMOUNT,
    RATE_TEXT,
    DuesSettings,
    RuleHistory,
)

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

# a frame kept eager or lazy: `format_dues` returns the kind it is given
_Frame = TypeVar("_Frame", pl.DataFrame, pl.LazyFrame)

# --------------------------------------------------------------------------------------
# Vectorised parsing
# --------------------------------------------------------------------------------------

# problem codes of money_to_fen: "missing" (blank) and values.MONEY_MESSAGES' codes — the one
# money rule of `values.parse_money`, so every dues path accepts and refuses the same spellings
_MONEY_MESSAGES = {"missing": "不能为空", **values.MONEY_MESSAGES}

PROBLEMS = pl.Enum(list(_MONEY_MESSAGES))  # problem codes of money_to_fen


def _money_text(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Fast path: plain well-formed cells (the vast majority) are checked with one regex and
    converted with one exact decimal cast; only the other cells (spaces, commas, ¥/元,
    full-width digits, empty, bad) go through `values.money_problem`, once per distinct value."""
    ok = s.str.contains(_RE_TEXT_MONEY)
    fen = (
        pl.select(pl.when(ok).then(s).otherwise(None).cast(pl.Decimal(16, 2), strict=False) * 100)
        .to_series()
        .cast(pl.Int64)
    )
    rest = ~ok.fill_null(False) | (ok.fill_null(False) & fen.is_null())  # the latter: never expected
    if not rest.any():
        return fen, pl.repeat(None, len(s), dtype=PROBLEMS, eager=True)
    problem = pl.repeat(None, len(s), dtype=PROBLEMS, eager=True)
    idx = rest.arg_true()
    sub_fen, sub_problem = _money_slow(s.gather(idx))
    return fen.scatter(idx, sub_fen), problem.scatter(idx, sub_problem)


def _money_slow(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Per distinct value through `values.money_problem` (blank → "missing")."""
    table: dict[object, tuple[int | None, str | None]] = {}
    for v in s.drop_nulls().unique().to_list():
        if values.blank(v):
            table[v] = (None, "missing")
            continue
        d, problem = values.money_problem(v)
        table[v] = (None, problem) if d is None else (int(d * 100), None)
    if not table:
        n = len(s)
        return pl.repeat(None, n, dtype=pl.Int64, eager=True), pl.repeat("missing", n, dtype=PROBLEMS, eager=True)
    keys = pl.Series("k", list(table), dtype=s.dtype)
    lookup = pl.DataFrame({
        "k": keys,
        "f": pl.Series("f", [t[0] for t in table.values()], dtype=pl.Int64),
        "p": pl.Series("p", [t[1] for t in table.values()], dtype=PROBLEMS),
    })
    joined = pl.DataFrame({"k": s}).join(lookup, on="k", how="left", maintain_order="left", nulls_equal=False)
    problems = pl.select(pl.when(s.is_null()).then(pl.lit("missing", PROBLEMS)).otherwise(joined["p"])).to_series()
    return joined["f"], problems


def money_to_fen(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Exact 分 (Int64, null where missing or invalid) and a problem code per cell (null when
    fine; else missing | negative | not_number | decimals | too_large), for a text or numeric
    column. Never goes through float arithmetic."""
    dt = s.dtype
    n = len(s)
    if dt == pl.Null:
        return pl.repeat(None, n, dtype=pl.Int64, eager=True), pl.repeat("missing", n, dtype=PROBLEMS, eager=True)
    if dt == pl.String:
        return _money_text(s)
    if isinstance(dt, pl.Decimal) and (dt.scale or 0) <= 2:
        fen = (s.cast(pl.Decimal(38, dt.scale or 0)) * 100).cast(pl.Int64, strict=False)
        problem = pl.select(
            pl.when(s.is_null()).then(pl.lit("missing", PROBLEMS))
            .when(fen.is_null()).then(pl.lit("too_large", PROBLEMS))
            .when(fen < 0).then(pl.lit("negative", PROBLEMS))
            .when(fen >= _TOO_LARGE_FEN).then(pl.lit("too_large", PROBLEMS))
            .otherwise(None)
        ).to_series()
        return pl.select(pl.when(problem.is_null()).then(fen)).to_series(), problem
    if dt.is_integer():
        v = s.cast(pl.Int64, strict=False)
        problem = pl.select(
            pl.when(s.is_null()).then(pl.lit("missing", PROBLEMS))
            .when(v.is_null()).then(pl.lit("too_large", PROBLEMS))
            .when(v < 0).then(pl.lit("negative", PROBLEMS))
            .when(v >= 10 ** _MAX_INT_DIGITS).then(pl.lit("too_large", PROBLEMS))
            .otherwise(None)
        ).to_series()
        return pl.select(pl.when(problem.is_null()).then(v * 100)).to_series().cast(pl.Int64), problem
    if dt.is_float() or isinstance(dt, pl.Decimal):
        return _money_text(s.cast(pl.String))  # shortest repr for floats; exact for decimals
    # booleans, dates, lists …: not money
    problem = pl.select(pl.when(s.is_null()).then(pl.lit("missing", PROBLEMS)).otherwise(pl.lit("not_number", PROBLEMS))).to_series()
    return pl.repeat(None, n, dtype=pl.Int64, eager=True), problem


def _as_text(s: pl.Series) -> pl.Series:
    if s.dtype == pl.String:
        return s
    if s.dtype == pl.Null:
        return s.cast(pl.String)
    try:
        return s.cast(pl.String)
    except Exception:  # nested types
        return pl.Series(s.name, [None if v is None else str(v) for v in s.to_list()], dtype=pl.String)


def categories_from(s: pl.Series) -> pl.Series:
    """Category codes (Enum) for a column of codes or Chinese names; null where unknown."""
    enum = _CATEGORY_ENUM
    s = _as_text(s)
    code = s.cast(enum, strict=False)  # exact codes: the common case, fastest
    retry = code.is_null() & s.is_not_null()
    if retry.any():
        idx = retry.arg_true()
        sub = s.gather(idx).str.strip_chars()
        fixed = pl.select(
            pl.coalesce(
                sub.cast(enum, strict=False),
                sub.replace_strict(CATEGORY_ALIASES, default=None, return_dtype=enum),
                sub.str.to_lowercase().replace_strict(CATEGORY_ALIASES, default=None, return_dtype=enum),
            )
        ).to_series()
        code = code.scatter(idx, fixed)
    return code


def _all_unique(s: pl.Series) -> bool:
    """No value twice (nulls included). Sorted input (the usual export) needs no hashing."""
    if s.is_sorted():
        return not (s == s.shift(1)).any()
    return s.n_unique() == len(s)


class MaskErrors(ErrorCollector):
    """`errors.ErrorCollector` fed from vectorised masks: only failing rows touch Python.
    Row numbers are as the spreadsheet shows them (`first_row` = row of frame row 0)."""

    def __init__(self, first_row: int = 0, *, file: str | None = None) -> None:
        super().__init__(file=file)
        self.first_row = first_row

    def add_mask(self, mask: pl.Series, column: str, values: pl.Series,
                 messages: str | Callable[[pl.Series], list[str]], order: float) -> None:
        """mask: Boolean aligned with the frame; values: the raw column (any dtype);
        messages: a str, or a callable taking the failing row indexes (UInt32 Series) and
        returning one message per index — so messages are only built for failing rows."""
        mask = mask.fill_null(False)
        if not mask.any():
            return
        idx = mask.arg_true()
        vals = [None if v is None else str(v) for v in values.gather(idx).to_list()]
        msgs = messages(idx) if callable(messages) else [messages] * len(idx)
        for i, v, m in zip(idx.to_list(), vals, msgs):
            self.add_error(CellError(self.first_row + i, column, v, m), int(order * 10))

    def mask(self, df: pl.DataFrame, mask: pl.Series | pl.Expr, column: str, value_col: str | None,
             message: str | Callable[[pl.DataFrame], list[str]], order: float = 0) -> None:
        """As `add_mask` over a frame with a "row" column (the spreadsheet row)."""
        m = df.select(mask.fill_null(False) if isinstance(mask, pl.Expr) else pl.lit(mask).fill_null(False)).to_series()
        if not m.any():
            return
        bad = df.filter(m)
        rows = bad["row"].to_list()
        vals = bad[value_col].to_list() if value_col else [None] * bad.height
        msgs = message(bad) if callable(message) else [message] * bad.height
        for r, v, msg in zip(rows, vals, msgs):
            self.add_error(CellError(r, column, None if v is None else str(v), msg), int(order * 10))

    def add_at(self, error: CellError, order: float = 0) -> None:
        self.add_error(error, int(order * 10))


def _check_columns(df: pl.DataFrame, required: Iterable[str], file: str | None) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise BadInput(
            f"缺少必需的列：{'、'.join(missing)}（现有列：{'、'.join(df.columns) or '无'}）", file=file
        )


def _money_messages(problem: pl.Series, prefix: str) -> Callable[[pl.Series], list[str]]:
    """Message builder for `MaskErrors.add_mask` from money problem codes."""
    return lambda idx: [prefix + _MONEY_MESSAGES[c] for c in problem.gather(idx).to_list()]


def _category_list() -> str:
    return "、".join(f"{c}（{l}）" for c, l in CATEGORIES.items())


def parse_dues_input(
    df: pl.DataFrame,
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    first_row: int = 2,
    unique_member: bool = True,
    errors: MaskErrors | None = None,
    file: str | None = None,
) -> tuple[pl.DataFrame, list[CellError]]:
    """Validate a dues input frame (member_id, category, base_income[, fixed_amount]) and
    return (member_id, category, base_fen, fixed_fen) plus the list of cell errors (empty
    when all is well). Rows are numbered as the spreadsheet shows them (`first_row` = row of
    df row 0)."""
    _check_columns(df, ["member_id", "category", "base_income"], file)
    df = df.rechunk()  # parquet reads come in chunks: hashing and casts are much faster on one
    n = df.height
    err = errors if errors is not None else MaskErrors(first_row, file=file)

    raw_id = df["member_id"]
    member = _as_text(raw_id).str.strip_chars()
    empty_id = member.is_null() | (member.str.len_bytes() == 0)
    err.add_mask(empty_id, "member_id", raw_id, "缺少党员编号（member_id）", 0)
    if unique_member and n and not _all_unique(member):
        dup = member.is_duplicated() & ~empty_id
        if dup.any():
            idx = dup.arg_true()
            sub = pl.DataFrame({"i": idx, "m": member.gather(idx)}).with_columns(
                first=pl.col("i").min().over("m"))
            sub = sub.filter(pl.col("i") != pl.col("first"))
            for i, m, f in sub.iter_rows():
                err.add_at(CellError(first_row + i, "member_id", m,
                                  f"党员编号重复：与第 {first_row + f} 行相同，每名党员只能出现一次"), 0)

    raw_cat = df["category"]
    cat = categories_from(raw_cat)
    if cat.null_count():
        txt = _as_text(raw_cat)
        cat_missing = txt.is_null() | (txt.str.strip_chars().str.len_bytes() == 0)
        err.add_mask(cat_missing, "category", raw_cat, f"缺少党员类别，应为以下之一：{_category_list()}", 1)
        err.add_mask(cat.is_null() & ~cat_missing, "category", raw_cat,
                     f"无法识别的党员类别，应为以下之一：{_category_list()}", 1)

    k = cat.to_physical()
    ci = _CAT_INDEX
    needs_base = (k <= ci["retired"]).fill_null(False)  # bracket categories and retired
    base_fen, base_problem = money_to_fen(df["base_income"])

    def base_messages(idx: pl.Series) -> list[str]:
        out = []
        for c, p in zip(cat.gather(idx).to_list(), base_problem.gather(idx).to_list()):
            if p == "missing":
                out.append(f"类别 {c}（{CATEGORIES[c]}）必须填写计算基数 base_income（元，最多两位小数）")
            else:
                out.append("计算基数" + _MONEY_MESSAGES[p])
        return out

    err.add_mask(needs_base & base_problem.is_not_null(), "base_income", df["base_income"], base_messages, 2)
    base_fen = pl.select(pl.when(needs_base).then(base_fen)).to_series()

    if "fixed_amount" in df.columns:
        raw_fixed = df["fixed_amount"]
        fixed_fen, fixed_problem = money_to_fen(raw_fixed)
    else:
        raw_fixed = pl.repeat(None, n, dtype=pl.String, eager=True)
        fixed_fen = pl.repeat(None, n, dtype=pl.Int64, eager=True)
        fixed_problem = pl.repeat("missing", n, dtype=PROBLEMS, eager=True)
    is_farmer = (k == ci["farmer"]).fill_null(False)
    is_reduced = (k == ci["reduced"]).fill_null(False)
    fmin, fmax = int(FARMER_MIN * 100), int(FARMER_MAX * 100)
    # 1 farmer bad cell, 2 farmer out of range, 3 reduced missing, 4 reduced bad cell, 5 reduced ≤ 0
    fixed_code = pl.select(
        pl.when(is_farmer & (fixed_problem == "missing")).then(None)
        .when(is_farmer & fixed_problem.is_not_null()).then(pl.lit(1, pl.UInt8))
        .when(is_farmer & ((fixed_fen < fmin) | (fixed_fen > fmax))).then(pl.lit(2, pl.UInt8))
        .when(is_reduced & (fixed_problem == "missing")).then(pl.lit(3, pl.UInt8))
        .when(is_reduced & fixed_problem.is_not_null()).then(pl.lit(4, pl.UInt8))
        .when(is_reduced & (fixed_fen <= 0)).then(pl.lit(5, pl.UInt8))
        .otherwise(None)
    ).to_series()

    def fixed_messages(idx: pl.Series) -> list[str]:
        out = []
        for c, p in zip(fixed_code.gather(idx).to_list(), fixed_problem.gather(idx).to_list()):
            out.append({
                1: "固定数额" + _MONEY_MESSAGES.get(p, ""),
                2: "农民党员的固定数额超出范围，应在 0.20–1.00 元之间",
                3: "少交党员必须在 fixed_amount 填写经批准的数额（元）",
                4: "少交数额" + _MONEY_MESSAGES.get(p, ""),
                5: "少交数额应大于 0（免交请使用类别 exempt）",
            }[c])
        return out

    err.add_mask(fixed_code.is_not_null(), "fixed_amount", raw_fixed, fixed_messages, 3)
    fixed_fen = pl.select(pl.when(is_farmer | is_reduced).then(fixed_fen)).to_series()

    parsed = pl.DataFrame({"member_id": member, "category": cat, "base_fen": base_fen, "fixed_fen": fixed_fen})
    return parsed, (err.errors() if errors is None else [])


# --------------------------------------------------------------------------------------
# Vectorised calculation
# --------------------------------------------------------------------------------------

def _round_div(num: pl.Expr, d: int, rounding: str) -> pl.Expr:
    """num / d rounded to an integer, for num ≥ 0 (Int64)."""
    if rounding == "down":
        return num // d
    if rounding == "up":
        return (num + (d - 1)) // d
    if rounding == "half_up":
        return (num + d // 2) // d
    q = num // d
    r = num % d
    return q + pl.when((2 * r > d) | ((2 * r == d) & (q % 2 == 1))).then(pl.lit(1, pl.Int64)).otherwise(pl.lit(0, pl.Int64))


_RULE_LOOKUP = [_RULE_NAMES.get(i) for i in range(2 * _CAPPED_OFFSET)]
RULE_ENUM = pl.Enum([_RULE_NAMES[i] for i in sorted(_RULE_NAMES)])
_RATE_LOOKUP = [RATE_TEXT.get(i) for i in range(21)]


def dues_exprs(settings: DuesSettings = DEFAULT_SETTINGS, *, category: str = "category",
               base_fen: str = "base_fen", fixed_fen: str = "fixed_fen",
               rule_as_enum: bool = False) -> list[pl.Expr]:
    """Expressions adding `dues_fen` (Int64), `rate_permille` (Int64; null for fixed amounts)
    and `rule` (String) to a parsed frame: category codes (Enum or text codes), base and fixed
    amount in 分 (Int64). Works on category indexes, so it costs a few ms per million rows."""
    k = pl.col(category).cast(_CATEGORY_ENUM).to_physical().cast(pl.Int64)
    base = pl.col(base_fen).cast(pl.Int64)
    fixed = pl.col(fixed_fen).cast(pl.Int64)

    def i64(v: int) -> pl.Expr:
        return pl.lit(v, pl.Int64)

    ci = _CAT_INDEX
    is_bracket = k <= 2
    is_retired = k == ci["retired"]
    is_flat = (k >= 5) & (k <= 8)
    bracket_rate = (pl.when(base <= 300000).then(i64(5)).when(base <= 500000).then(i64(10))
                    .when(base <= 1000000).then(i64(15)).otherwise(i64(20)))
    retired_rate = pl.when(base <= 500000).then(i64(5)).otherwise(i64(10))
    permille = (pl.when(is_bracket & base.is_not_null()).then(bracket_rate)
                .when(is_retired & base.is_not_null()).then(retired_rate)
                .otherwise(None))
    unit = settings.unit_fen
    computed = _round_div(base * permille, 1000 * unit, settings.rounding) * unit
    farmer_default = int(settings.farmer_default * 100)
    fixed_amount = (pl.when(k == ci["farmer"]).then(fixed.fill_null(farmer_default))
                    .when(is_flat).then(i64(int(FLAT_AMOUNT * 100)))
                    .when((k == ci["exempt"]) | (k == ci["suspended"])).then(i64(0))
                    .when(k == ci["reduced"]).then(fixed)
                    .otherwise(None))
    raw = pl.coalesce(computed, fixed_amount)
    cap_fen = int(CAP_AMOUNT * 100)
    capped = (raw > cap_fen).fill_null(False) if settings.cap else pl.lit(False)
    # rule id: bracket 0..3, retired 4..5, then one id per fixed category; +32 when capped
    rule_id = (pl.when(is_bracket).then(permille // 5 - 1)
               .when(is_retired).then(permille // 5 + 3)
               .when(k == ci["farmer"]).then(i64(_RULE_IDS["fixed_farmer"]))
               .when(is_flat).then(i64(_RULE_IDS["fixed_0.20"]))
               .when(k == ci["exempt"]).then(i64(_RULE_IDS["exempt"]))
               .when(k == ci["reduced"]).then(i64(_RULE_IDS["reduced"]))
               .when(k == ci["suspended"]).then(i64(_RULE_IDS["suspended"]))
               .otherwise(None))
    rule_id = rule_id + pl.when(capped).then(i64(_CAPPED_OFFSET)).otherwise(i64(0))
    return [
        pl.when(capped).then(i64(cap_fen)).otherwise(raw).alias("dues_fen"),
        permille.alias("rate_permille"),
        pl.lit(pl.Series(_RULE_LOOKUP, dtype=pl.String).cast(RULE_ENUM) if rule_as_enum
               else pl.Series(_RULE_LOOKUP, dtype=pl.String)).gather(rule_id).alias("rule"),
    ]


def dues_exprs_by_rule(rules: RuleHistory, *, month: str = "month_index", category: str = "category",
                       base_fen: str = "base_fen", fixed_fen: str = "fixed_fen",
                       rule_as_enum: bool = False) -> list[pl.Expr]:
    """`dues_exprs` with each row computed by the rule in force in its month (`month`: month
    index), plus `rule_version` (the period's code, String)."""
    per = [dues_exprs(p.settings, category=category, base_fen=base_fen, fixed_fen=fixed_fen,
                      rule_as_enum=rule_as_enum) for p in rules]
    codes = pl.Series(rules.codes, dtype=pl.String)
    if len(per) == 1:
        return per[0] + [pl.lit(codes[0], pl.String).alias("rule_version")]
    pidx = rules.period_index(pl.col(month))
    out = []
    for j, name in enumerate(("dues_fen", "rate_permille", "rule")):
        chain: Then | ChainedThen = pl.when(pidx == 0).then(per[0][j])
        for k in range(1, len(per)):
            chain = chain.when(pidx == k).then(per[k][j])
        out.append(chain.otherwise(None).alias(name))
    out.append(pl.lit(codes).gather(pidx).alias("rule_version"))
    return out


def calc_dues_frame(
    df: pl.DataFrame,
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    first_row: int = 2,
    file: str | None = None,
    as_text: bool = False,
) -> pl.DataFrame:
    """Dues for every row of an input frame (member_id, category, base_income[, fixed_amount];
    text or numeric columns). Returns member_id, category, dues_fen, rate_permille, rule in
    input order — or, `as_text`, the CLI's output in the same pass (`format_dues`: member_id,
    dues, rate, rule as text). Raises BadInput listing every bad cell (nothing is computed then)."""
    err = MaskErrors(first_row, file=file)
    parsed, _ = parse_dues_input(df, settings, first_row=first_row, errors=err, file=file)
    if err:
        raise BadInput(f"发现 {err.count} 处错误，未计算任何党费", err.errors(), file=file)
    lazy = parsed.lazy().with_columns(dues_exprs(settings))
    return (format_dues(lazy) if as_text else lazy).collect()


def fen_text(expr: pl.Expr | str) -> pl.Expr:
    """分 (Int64) → yuan text with exactly two decimals ("76.50"), exactly."""
    e = pl.col(expr) if isinstance(expr, str) else expr
    return (e.cast(pl.Decimal(38, 2)) / 100).cast(pl.String)


def fen_decimal(expr: pl.Expr | str) -> pl.Expr:
    """分 (Int64) → polars Decimal(38, 2) yuan, exactly (for display in the app)."""
    e = pl.col(expr) if isinstance(expr, str) else expr
    return e.cast(pl.Decimal(38, 2)) / 100


def format_dues(result: _Frame) -> _Frame:
    """The CLI's output shape: member_id, dues ("76.50"), rate ("0.015"; null for fixed
    amounts), rule."""
    return result.select(
        "member_id",
        fen_text("dues_fen").alias("dues"),
        pl.lit(pl.Series(_RATE_LOOKUP, dtype=pl.String)).gather(pl.col("rate_permille")).alias("rate"),
        "rule",
    )
