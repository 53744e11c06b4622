"""党费 (party dues) rules — pure functions, no database. Rules: shared/spec/dues.md.

Two calculators give identical answers:

* `calc_dues(category, base_income, fixed_amount, settings)` — one member, Python `Decimal`,
  with a Chinese explanation (the single-person calculator and the tests);
* `calc_dues_frame(df, settings)` — a polars frame of any size, integer 分 (Int64) throughout,
  never float (the batch, the import, the CLI).

Arithmetic: dues = base × rate exactly (base in 分 × rate in ‰ gives dues in 1/1000 分), rounded
once to the chosen precision (分/角/元) with the chosen mode, then capped at 1000.00 when the
ceiling is on. Bounds are compared with the exact base and are inclusive (B ≤ 3000 → 0.5 %,
3000 < B ≤ 5000 → 1 %, 5000 < B ≤ 10000 → 1.5 %, B > 10000 → 2 %; retired 0.5 % up to 5000
inclusive, else 1 %). The rate applies to the whole base (全额累进). Fixed amounts (farmer,
0.20 categories, reduced) are taken as they are: precision and rounding only apply to computed
amounts; the ceiling applies to every amount.

Rule codes (column `rule`, field `DuesResult.rule`):

=================  =============================================================
`bracket_0.5`      employed / annual_salary / self_employed, base ≤ 3000, 0.5 %
`bracket_1`        same, 3000 < base ≤ 5000, 1 %
`bracket_1.5`      same, 5000 < base ≤ 10000, 1.5 %
`bracket_2`        same, base > 10000, 2 %
`retired_0.5`      retired, base ≤ 5000, 0.5 %
`retired_1`        retired, base > 5000, 1 %
`fixed_farmer`     farmer, the branch's fixed amount (0.20–1.00; default 0.20)
`fixed_0.20`       student / unemployed / relief / low_income, 0.20
`exempt`           approved exemption, 0.00 (the month counts as paid)
`reduced`          approved reduction, the approved fixed amount
`suspended`        membership suspended / abroad, 0.00 (never arrears)
`<code>_capped`    the rule gave more than 1000.00 and the ceiling is on: 1000.00
=================  =============================================================

Reading input cells (text from csv/xlsx, or native parquet types) — decided here, used
everywhere:

* Money is yuan with at most two decimals, parsed exactly from text, never through float:
  `5009`, `5009.0`, `5009.00` and ` 5009 ` (trimmed, also full-width spaces) are accepted;
  extra decimals are accepted only when they are zeros (`5009.000`); thousands separators
  are accepted only when correctly grouped (`5,009.00`, `1,234,567`; `50,09` is refused);
  signs, currency symbols, `.5`, `5009.`, exponents and full-width digits are refused.
  Negative amounts are refused with their own message. At most 12 integer digits.
* Parquet numbers: integers are whole yuan; decimals are exact; float64/float32 values are
  read through their shortest repr (5009.01 → "5009.01"), then parsed as text as above, so no
  binary float arithmetic ever touches a money value.
* Category: the codes below, case-insensitive and trimmed; the Chinese names (在职, 离退休,
  农民, 学生 …) are accepted as aliases and normalised to the code.
* `base_income` is required for employed / annual_salary / self_employed / retired and ignored
  (not even validated) for the other categories; `fixed_amount` is optional for farmer
  (0.20–1.00 inclusive, empty → settings.farmer_default), required (> 0) for reduced, ignored
  otherwise. `member_id` is text, trimmed, required and unique in `dues calc` input.
* Arrears input (`compute_arrears`): `month` as `YYYY-MM` (also `YYYY-M`, `YYYY/MM`,
  `YYYY.MM`, `YYYY年M月`, and the `YYYY-MM-01[ 00:00:00]` an Excel date cell turns into; a
  parquet Date/Datetime column gives its year and month), from 2008-04 (the 2008 rules) to
  2100-12; an empty `paid` cell means 0.00; (member_id, month) must be unique. Each row's own
  category and base give that month's due amount (the caller supplies the base in force that
  month, so "fixed for the year" is applied before the rows are built).

Frames returned by this module keep money as Int64 分 in columns ending in `_fen`; the
`format_*` functions turn them into the CLI's text columns ("76.50": always two decimals).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import (
    Decimal,
    localcontext,
)

import polars as pl

from .. import values
from ..errors import BadInput, CellError
from .engine import _MONEY_MESSAGES, MaskErrors, _all_unique, _as_text, _money_messages, money_to_fen
from .model import (
    _PCT,
    BASE_CATEGORIES,
    BRACKETS,
    CAP_AMOUNT,
    CATEGORIES,
    CATEGORY_ALIASES,
    CATEGORY_CODES,
    DEFAULT_SETTINGS,
    FARMER_MAX,
    FARMER_MIN,
    FLAT_AMOUNT,
    FLAT_CATEGORIES,
    PRECISION_LABELS,
    RETIRED_BRACKETS,
    ROUNDING_LABELS,
    ROUNDINGS,
    BaseResult,
    DuesResult,
    DuesSettings,
    _decimals,
    _to_decimal,
)


def parse_money(value: object, *, what: str = "金额") -> Decimal:
    """One money value (text or number) → Decimal with 2 decimals by `values.parse_money`, the
    one money rule ("1,234.50", "１２３", "1234元", "¥12" accepted); blank refused.
    Raises BadInput with a Chinese message starting with `what`."""
    if values.blank(value):
        raise BadInput(f"{what}{_MONEY_MESSAGES['missing']}")
    d, problem = values.money_problem(value)
    if d is None:
        raise BadInput(f"{what}{_MONEY_MESSAGES[problem or 'not_number']}")
    return d


def normalize_category(value: object) -> str | None:
    """Category code for a code or Chinese name (trimmed, case-insensitive); None if unknown."""
    if value is None:
        return None
    t = str(value).strip()
    return CATEGORY_ALIASES.get(t) or CATEGORY_ALIASES.get(t.lower())


def _fmt(d: Decimal) -> str:
    return f"{d.quantize(Decimal('0.01'))}"


def _bound_text(lower: int | None, upper: int | None) -> str:
    lo = None if lower is None else lower // 100
    hi = None if upper is None else upper // 100
    if lo is None:
        return f"≤ {hi}"
    if hi is None:
        return f"> {lo}"
    return f"> {lo} 且 ≤ {hi}"


def _pick_bracket(base: Decimal, table: tuple[tuple[int | None, int], ...]) -> tuple[int, int | None, int | None]:
    """(rate ‰, lower bound 分 exclusive, upper bound 分 inclusive) for an exact base."""
    lower = None
    base_fen = base * 100
    for upper, permille in table:
        if upper is None or base_fen <= upper:
            return permille, lower, upper
        lower = upper
    raise AssertionError("unreachable")


def calc_dues(
    category: str,
    base_income: Decimal | None = None,
    fixed_amount: Decimal | None = None,
    settings: DuesSettings = DEFAULT_SETTINGS,
) -> DuesResult:
    """Monthly dues of one member, exact. `base_income` may have any number of decimals (an
    exact computed base); it must be ≥ 0 and finite. Raises BadInput (Chinese) on bad input."""
    code = normalize_category(category)
    if code is None:
        raise BadInput(f"无法识别的党员类别「{category}」，应为：{'、'.join(CATEGORY_CODES)}")
    label = CATEGORIES[code]
    unit = Decimal(settings.unit_fen) / 100
    rate: Decimal | None = None
    if code in BASE_CATEGORIES:
        if base_income is None or (isinstance(base_income, str) and not base_income.strip()):
            raise BadInput(f"类别「{code}（{label}）」必须填写计算基数")
        if isinstance(base_income, str):
            base = parse_money(base_income, what="计算基数")
        else:
            base = _to_decimal(base_income)
            if base is None:
                raise BadInput(f"计算基数「{base_income}」不是有效的数字")
        if base < 0:
            raise BadInput(f"计算基数「{base_income}」不能为负数")
        table = RETIRED_BRACKETS if code == "retired" else BRACKETS
        permille, lower, upper = _pick_bracket(base, table)
        rate = Decimal(permille) / 1000
        with localcontext() as ctx:
            ctx.prec = 60
            exact = base * permille / 1000
            amount = exact.quantize(unit, rounding=ROUNDINGS[settings.rounding])
        prefix = "retired" if code == "retired" else "bracket"
        rule = f"{prefix}_{_PCT[permille]}"
        who = "离退休，" if code == "retired" else ("" if code == "employed" else f"{label}，")
        base_txt = _fmt(base) if _decimals(base) <= 2 else str(base)
        text = f"{who}基数 {base_txt} 元 {_bound_text(lower, upper)}，费率 {_PCT[permille]}%"
        if exact != amount:
            text += (f"，{base_txt} × {_PCT[permille]}% = {exact.normalize():f}，"
                     f"{ROUNDING_LABELS[settings.rounding]}到{PRECISION_LABELS[settings.precision]}")
    elif code == "farmer":
        if fixed_amount is None or (isinstance(fixed_amount, str) and not fixed_amount.strip()):
            amount = settings.farmer_default
            text = "农民党员，未填固定数额，按默认数额"
        else:
            amount = parse_money(fixed_amount, what="固定数额")
            if not (FARMER_MIN <= amount <= FARMER_MAX):
                raise BadInput(f"农民党员的固定数额「{fixed_amount}」超出范围，应在 0.20–1.00 元之间")
            text = "农民党员，按支部确定的固定数额"
        rule = "fixed_farmer"
    elif code in FLAT_CATEGORIES:
        amount = FLAT_AMOUNT
        rule = "fixed_0.20"
        text = f"{label}党员，按规定的固定数额"
    elif code == "exempt":
        amount = Decimal(0)
        rule = "exempt"
        text = "经批准免交（视为已缴，不计欠缴）"
    elif code == "suspended":
        amount = Decimal(0)
        rule = "suspended"
        text = "停止党籍或出国暂停（不计欠缴）"
    else:  # reduced
        if fixed_amount is None or (isinstance(fixed_amount, str) and not fixed_amount.strip()):
            raise BadInput("少交党员必须填写经批准的数额（fixed_amount）")
        amount = parse_money(fixed_amount, what="少交数额")
        if amount <= 0:
            raise BadInput("少交数额应大于 0（免交请使用类别 exempt）")
        rule = "reduced"
        text = "经批准少交，按批准的数额"
    if settings.cap and amount > CAP_AMOUNT:
        text += f"，按规则为 {_fmt(amount)} 元，超过每月 1000 元上限，按上限收缴（多交部分可作自愿缴纳）"
        amount = CAP_AMOUNT
        rule += "_capped"
    dues = amount.quantize(Decimal("0.01"))
    text += f"，应缴 {_fmt(dues)} 元"
    return DuesResult(dues=dues, rate=rate, rule=rule, explanation=text)

# --------------------------------------------------------------------------------------
# Payroll base (计算基数)
# --------------------------------------------------------------------------------------

MAPPING_KINDS: dict[str, str] = {
    "counted": "计入",
    "deducted": "扣除（个人缴纳的社保、公积金、年金）",
    "ignored": "不计入",
    "tax": "个人所得税",
    "member_id": "党员编号",
    "name": "姓名",
    "retiree_allowance": "离退休人员普遍发放的津贴补贴",
}
MAPPING_ALIASES: dict[str, str] = {
    **{k: k for k in MAPPING_KINDS},
    "计入": "counted", "扣除": "deducted", "不计入": "ignored", "个税": "tax",
    "个人所得税": "tax", "党员编号": "member_id", "姓名": "name", "离退休津贴": "retiree_allowance",
}
_MONEY_KINDS = ("counted", "deducted", "tax", "retiree_allowance")


def _kind(value: object) -> str | None:
    if value is None:
        return None
    t = str(value).strip()
    return MAPPING_ALIASES.get(t) or MAPPING_ALIASES.get(t.lower())


def _mapping_errors(columns: Iterable[str] | None, mapping: Mapping[str, str]) -> list[CellError]:
    errs: list[CellError] = []
    kinds = {}
    for col, kind in mapping.items():
        k = _kind(kind)
        if k is None:
            errs.append(CellError(None, col, kind, "口径无法识别，应为："
                                  + "、".join(f"{a}（{b}）" for a, b in MAPPING_KINDS.items())))
        else:
            kinds[col] = k
    if not any(k == "counted" for k in kinds.values()):
        errs.append(CellError(None, None, None, "工资项口径中没有任何“计入”（counted）的列，无法计算基数"))
    ids = [c for c, k in kinds.items() if k == "member_id"]
    if columns is not None and not ids:
        errs.append(CellError(None, None, None, "工资项口径中没有党员编号（member_id）列"))
    if len(ids) > 1:
        errs.append(CellError(None, None, "、".join(ids), "只能有一列是党员编号（member_id）"))
    if columns is not None:
        cols = list(columns)
        for c in cols:
            if c not in mapping:
                errs.append(CellError(None, c, None, "这一列尚未设置口径（计入/扣除/不计入/个税），请先设置"))
        for c, k in kinds.items():
            if c not in cols and k in ("counted", "deducted", "tax", "member_id", "retiree_allowance"):
                errs.append(CellError(None, c, None, "口径中设置了这一列，但文件中没有这一列"))
    return errs


def _base_explanation(counted: Decimal, deducted: Decimal, tax: Decimal, base: Decimal, settings: DuesSettings,
                      retired: bool, allowance: Decimal, clamped: bool) -> str:
    if retired:
        if settings.retiree_base == "all_allowances":
            t = f"离退休：基本离退休费 {_fmt(counted)} 元 + 普遍发放的津贴补贴 {_fmt(allowance)} 元"
        else:
            t = f"离退休：只计基本离退休费 {_fmt(counted)} 元（不含津贴补贴）"
        return t + f"，基数 {_fmt(base)} 元"
    if settings.base_reading == "2017":
        t = (f"计入项目合计 {_fmt(counted)} 元 − 个人缴纳社保/公积金/年金 {_fmt(deducted)} 元"
             f" − 个人所得税 {_fmt(tax)} 元")
    else:
        t = f"计入项目合计 {_fmt(counted)} 元 − 个人所得税 {_fmt(tax)} 元（只扣个税口径）"
    if clamped:
        return t + " 为负数，基数按 0.00 元计"
    return t + f" = 基数 {_fmt(base)} 元"


def compute_base(
    items: Mapping[str, Decimal],
    mapping: Mapping[str, str],
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    retired: bool = False,
    fixed_base: Decimal | None = None,
) -> BaseResult:
    """Dues base of one member from pay items and the office's column mapping
    (counted | deducted | ignored | tax | member_id | name | retiree_allowance).

    Employed: base = counted − deducted − tax (2017 reading) or counted − tax ("tax_only").
    Retired (`retired=True`): basic pension only (items mapped counted), or plus the items
    mapped retiree_allowance ("all_allowances"), or `fixed_base` ("fixed").
    A negative result is set to 0.00 (`clamped`). Raises BadInput on unknown kinds,
    unmapped items, or non-numeric / negative amounts."""
    errs = _mapping_errors(None, mapping)
    sums = {k: Decimal(0) for k in _MONEY_KINDS}
    for name, value in items.items():
        if name not in mapping:
            errs.append(CellError(None, name, None, "这一工资项尚未设置口径（计入/扣除/不计入/个税），请先设置"))
            continue
        k = _kind(mapping[name])
        if k not in _MONEY_KINDS:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            d = parse_money(value, what="金额")
        except BadInput as exc:
            errs.append(CellError(None, name, value, exc.message))
            continue
        sums[k] += d
    if errs:
        raise BadInput("工资项无法计算基数", errs)
    counted, deducted, tax, allowance = (sums["counted"], sums["deducted"], sums["tax"],
                                         sums["retiree_allowance"])
    clamped = False
    if retired:
        if settings.retiree_base == "fixed":
            if fixed_base is None:
                raise BadInput("离退休基数设置为“固定基数”，但没有给出固定基数")
            base = parse_money(fixed_base, what="固定基数")
            return BaseResult(base, counted, Decimal("0.00"), Decimal("0.00"),
                              f"离退休：按固定基数 {_fmt(base)} 元")
        base = counted + (allowance if settings.retiree_base == "all_allowances" else 0)
        deducted_used, tax_used = Decimal(0), Decimal(0)
    else:
        deducted_used = deducted if settings.base_reading == "2017" else Decimal(0)
        tax_used = tax
        base = counted - deducted_used - tax_used
        if base < 0:
            base, clamped = Decimal(0), True
    q = Decimal("0.01")
    return BaseResult(
        base=base.quantize(q), counted=counted.quantize(q), deducted=deducted_used.quantize(q),
        tax=tax_used.quantize(q),
        explanation=_base_explanation(counted, deducted_used, tax_used, base, settings, retired, allowance, clamped),
        clamped=clamped,
    )


def compute_base_frame(
    df: pl.DataFrame,
    mapping: Mapping[str, str],
    settings: DuesSettings = DEFAULT_SETTINGS,
    *,
    retired: bool = False,
    first_row: int = 2,
    file: str | None = None,
) -> pl.DataFrame:
    """Vectorised `compute_base` over a payroll frame (one row per member, one column per pay
    item, text or numeric). Returns member_id, [name,] counted_fen, deducted_fen, tax_fen,
    base_fen, clamped in input order. Empty money cells count as 0. Raises BadInput listing
    mapping problems, or else bad cells (non-numeric, negative, > 2 decimals), empty or
    duplicate member ids. (For retiree_base "fixed" use the fixed base directly.)
    `deducted_fen` is what the reading deducted; `deducted_all_fen` the member's own
    contributions whatever the reading (stored with the base, so another month's rule can read
    the same pay again)."""
    map_errs = _mapping_errors(df.columns, mapping)
    if map_errs:
        raise BadInput("工资项口径设置有误", map_errs, file=file)
    kinds = {c: _kind(k) for c, k in mapping.items() if c in df.columns}
    err = MaskErrors(first_row, file=file)
    id_col = next(c for c, k in kinds.items() if k == "member_id")
    raw_id = df[id_col]
    member = _as_text(raw_id).str.strip_chars()
    empty_id = member.is_null() | (member.str.len_bytes() == 0)
    err.add_mask(empty_id, id_col, raw_id, "缺少党员编号", -1)
    if df.height and not _all_unique(member):
        dup = member.is_duplicated() & ~empty_id
        err.add_mask(dup, id_col, raw_id, "党员编号重复，每名党员只能出现一次", -1)
    sums = {k: pl.repeat(0, df.height, dtype=pl.Int64, eager=True) for k in _MONEY_KINDS}
    for j, (col, k) in enumerate(kinds.items()):
        if k not in _MONEY_KINDS:
            continue
        fen, problem = money_to_fen(df[col])
        bad = problem.is_not_null() & (problem != "missing")
        err.add_mask(bad, col, df[col], _money_messages(problem, "金额"), j)
        sums[k] = sums[k] + fen.fill_null(0)
    if err:
        raise BadInput(f"发现 {err.count} 处错误，未计算基数", err.errors(), file=file)
    out = {"member_id": member}
    name_col = next((c for c, k in kinds.items() if k == "name"), None)
    if name_col:
        out["name"] = _as_text(df[name_col])
    counted, deducted, tax, allowance = (sums["counted"], sums["deducted"], sums["tax"],
                                         sums["retiree_allowance"])
    zero = pl.repeat(0, df.height, dtype=pl.Int64, eager=True)
    deducted_all = deducted  # the member's own contributions, whatever the reading (kept with the base)
    if retired:
        if settings.retiree_base == "fixed":
            raise BadInput("离退休基数设置为“固定基数”：请直接填写固定基数，不必导入工资表", file=file)
        base = counted + (allowance if settings.retiree_base == "all_allowances" else zero)
        deducted, tax, deducted_all = zero, zero, zero
    else:
        if settings.base_reading != "2017":
            deducted = zero
        base = counted - deducted - tax
    clamped = base < 0
    out.update(counted_fen=counted, deducted_fen=deducted, deducted_all_fen=deducted_all, tax_fen=tax,
               base_fen=pl.select(pl.when(clamped).then(0).otherwise(base)).to_series().cast(pl.Int64),
               clamped=clamped)
    return pl.DataFrame(out)


def explain_line(category: str, base_fen: int | None, counted_fen: int | None, deducted_fen: int | None,
                 tax_fen: int | None, fixed_fen: int | None, settings: DuesSettings) -> str:
    """基数 → 档次 → 费率 → 应缴, in words, for one payroll line (scalar engine)."""
    cat = str(category)
    fixed = None if fixed_fen is None else Decimal(int(fixed_fen)) / 100
    parts = []
    if cat in BASE_CATEGORIES and counted_fen is not None and cat != "retired":
        items = {"计入": Decimal(int(counted_fen)) / 100, "扣除": Decimal(int(deducted_fen or 0)) / 100,
                 "个税": Decimal(int(tax_fen or 0)) / 100}
        br = compute_base(items, {"计入": "counted", "扣除": "deducted", "个税": "tax"}, settings)
        parts.append(br.explanation)
    base = None if base_fen is None else Decimal(int(base_fen)) / 100
    try:
        parts.append(calc_dues(cat, base, fixed, settings).explanation)
    except BadInput as exc:
        parts.append(exc.message)
    return "；".join(parts)


def explain_lines(lines: pl.DataFrame, settings: DuesSettings) -> list[str]:
    return [explain_line(r["category"], r["base_fen"], r.get("counted_fen"), r.get("deducted_fen"),
                         r.get("tax_fen"), r.get("fixed_fen"), settings) for r in lines.iter_rows(named=True)]
