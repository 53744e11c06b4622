"""`dues calc` file to file in DuckDB alone: exact integer-分 arithmetic in SQL, no polars.

The batch path of `python -m dangjian_core dues calc IN.parquet OUT.parquet`. It imports only
duckdb (polars costs ~0.15 s to import, more than the whole calculation), reads the parquet
file and checks that the file is *plain* (the ids unique in one light pass over member_id;
every other check row by row inside the calculation query itself, where a bad row raises) —
the columns are the cli.md
names with native types (member_id text or integer, category the exact codes, base_income and
fixed_amount DECIMAL with at most 2 decimals or integers), every member_id present, trimmed
and unique, every required base present, not negative and below 10¹² yuan, farmer amounts
within 0.20–1.00 and reduced amounts above 0 — and then writes the result with one query.
Anything else (an alias such as 在职, a text or float column, any bad cell) returns False and
the caller takes the general path (`dues.calc_dues_table`), which gives the Chinese messages
naming row and column. So this path never decides an error, and where it runs its output is
the general path's, byte for byte in the values (tests/dues/test_dues_sql.py proves it with
hypothesis against `dues.calc_dues_table` and on the public vectors).

Arithmetic (as `dues.dues_exprs`): base in 分 × rate in ‰ = dues in 1/1000 分, rounded once to
the precision unit with the chosen mode in BIGINT integer division, capped at 1000.00.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

# the same codes and numbers as dues/model.py (tests/dues/test_dues_sql.py checks they agree)
CATEGORY_CODES = ("employed", "annual_salary", "self_employed", "retired", "farmer", "student",
                  "unemployed", "relief", "low_income", "exempt", "reduced", "suspended")
BRACKET = ("employed", "annual_salary", "self_employed")
FLAT = ("student", "unemployed", "relief", "low_income")
PRECISION_FEN = {"fen": 1, "jiao": 10, "yuan": 100}
CAP_FEN = 100000
FLAT_FEN = 20
FARMER_MIN_FEN, FARMER_MAX_FEN = 20, 100
TOO_LARGE_YUAN = 10 ** 12

_MAX_COLS = 100  # more columns than a dues file has: left to the general (guarded) reader
_INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}


def _money_type_ok(t: str) -> bool:
    if t in _INT_TYPES:
        return True
    if t.startswith("DECIMAL(") and t.endswith(")"):
        try:
            _, scale = (int(x) for x in t[8:-1].split(","))
        except ValueError:
            return False
        return scale <= 2
    return False


def _round_div(num: str, d: int, rounding: str) -> str:
    """num / d rounded to an integer for num ≥ 0, in BIGINT arithmetic (as dues._round_div)."""
    if rounding == "down":
        return f"({num}) // {d}"
    if rounding == "up":
        return f"(({num}) + {d - 1}) // {d}"
    if rounding == "half_up":
        return f"(({num}) + {d // 2}) // {d}"
    # half_even
    return (f"(({num}) // {d} + CASE WHEN 2 * (({num}) % {d}) > {d} OR (2 * (({num}) % {d}) = {d}"
            f" AND (({num}) // {d}) % 2 = 1) THEN 1 ELSE 0 END)")


def _count_sql() -> str:
    """Rows and distinct ids: the one check that needs a pass of its own (only member_id is read)."""
    return "SELECT count(*), count(DISTINCT member_id) FROM dj_src"


def _ws_sql(expr: str) -> str:
    """True when the code point `expr` is Unicode White_Space (what polars' strip_chars()
    removes: an id starting or ending with one is left to the general path, which trims it) —
    as explicit comparisons: a long
    IN list becomes a join in DuckDB's plan, and that join writes rows out of input order."""
    runs, singles = [(9, 13), (8192, 8202)], [32, 133, 160, 5760, 8232, 8233, 8239, 8287, 12288]
    parts = [f"({expr} BETWEEN {a} AND {b})" for a, b in runs] + [f"{expr} = {c}" for c in singles]
    # most ids start and end with a letter or digit (33–132): one comparison settles them
    return f"(({expr} <= 32 OR {expr} >= 133) AND (" + " OR ".join(parts) + "))"


def _one_of(expr: str, values: Iterable[str]) -> str:
    return "(" + " OR ".join(f"{expr} = '{v}'" for v in values) + ")"  # not IN: see _ws_sql


def _bad_row_sql(has_fixed: bool) -> str:
    """True for a row the general path would refuse (or trim): checked inside the calculation
    query, where such a row raises and the caller falls back."""
    fixed = "fixed_amount" if has_fixed else "CAST(NULL AS DECIMAL(18,2))"
    mid = "CAST(member_id AS VARCHAR)"
    return f"""(member_id IS NULL OR {mid} = '' OR contains({mid}, chr(0))
        OR {_ws_sql(f"unicode({mid})")} OR {_ws_sql(f"unicode(right({mid}, 1))")}
        OR category IS NULL OR NOT {_one_of("category", CATEGORY_CODES)}
        OR ({_one_of("category", BRACKET + ("retired",))}
            AND (base_income IS NULL OR base_income < 0 OR base_income >= {TOO_LARGE_YUAN}))
        OR (category = 'farmer' AND {fixed} IS NOT NULL
            AND ({fixed} * 100 < {FARMER_MIN_FEN} OR {fixed} * 100 > {FARMER_MAX_FEN}))
        OR (category = 'reduced' AND ({fixed} IS NULL OR {fixed} <= 0 OR {fixed} >= {TOO_LARGE_YUAN})))"""


def calc_sql(*, precision: str = "fen", rounding: str = "half_up", cap: bool = True, farmer_default_fen: int = 20,
             has_fixed: bool = True) -> str:
    """The calculation over view `dj_src`: member_id, dues, rate, rule (all text, as the CLI)."""
    unit = PRECISION_FEN[precision]
    fixed = "CAST(fixed_amount * 100 AS BIGINT)" if has_fixed else "CAST(NULL AS BIGINT)"
    computed = _round_div("base_fen * permille", 1000 * unit, rounding) + f" * {unit}"
    capped = f"raw > {CAP_FEN}" if cap else "false"
    return f"""
    WITH p AS (
        SELECT CASE WHEN {_bad_row_sql(has_fixed)} THEN CAST(error('dj_not_plain') AS VARCHAR)
                    ELSE CAST(member_id AS VARCHAR) END AS member_id, category,

               CASE WHEN {_one_of('category', BRACKET + ('retired',))} THEN CAST(base_income * 100 AS BIGINT) END AS base_fen,
               CASE WHEN category = 'farmer' OR category = 'reduced' THEN {fixed} END AS fixed_fen
        FROM dj_src  -- no WHERE: a filter lets DuckDB write rows out of order; the check is in a column
    ), r AS (
        SELECT *, CASE
            WHEN {_one_of('category', BRACKET)} THEN CASE WHEN base_fen <= 300000 THEN 5 WHEN base_fen <= 500000 THEN 10
                                                     WHEN base_fen <= 1000000 THEN 15 ELSE 20 END
            WHEN category = 'retired' THEN CASE WHEN base_fen <= 500000 THEN 5 ELSE 10 END END AS permille
        FROM p
    ), d AS (
        SELECT member_id, category, permille, CASE
            WHEN permille IS NOT NULL THEN {computed}
            WHEN category = 'farmer' THEN coalesce(fixed_fen, {int(farmer_default_fen)})
            WHEN {_one_of('category', FLAT)} THEN {FLAT_FEN}
            WHEN category = 'exempt' OR category = 'suspended' THEN 0
            WHEN category = 'reduced' THEN fixed_fen END AS raw
        FROM r
    ), c AS (
        SELECT *, {capped} AS capped, CASE WHEN {capped} THEN {CAP_FEN} ELSE raw END AS fen FROM d
    )
    SELECT member_id,
           CAST(CAST(fen AS DECIMAL(18,0)) * 0.01 AS VARCHAR) AS dues,  -- exact DECIMAL(18,2): "76.50"
           CASE permille WHEN 5 THEN '0.005' WHEN 10 THEN '0.01' WHEN 15 THEN '0.015' WHEN 20 THEN '0.02' END AS rate,
           CASE WHEN {_one_of('category', BRACKET)} THEN 'bracket_' || CASE permille WHEN 5 THEN '0.5' WHEN 10 THEN '1'
                                                                           WHEN 15 THEN '1.5' ELSE '2' END
                WHEN category = 'retired' THEN 'retired_' || CASE permille WHEN 5 THEN '0.5' ELSE '1' END
                WHEN category = 'farmer' THEN 'fixed_farmer'
                WHEN {_one_of('category', FLAT)} THEN 'fixed_0.20'
                ELSE category END || CASE WHEN capped THEN '_capped' ELSE '' END AS rule
    FROM c"""


def try_calc_parquet(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, precision: str = "fen",
                     rounding: str = "half_up", cap: bool = True) -> bool:
    """Write `dst` (parquet, atomically) from `src` (parquet) and return True when the input is
    plain (see the module's text); return False — writing nothing — otherwise."""
    import duckdb

    con = duckdb.connect()
    try:
        try:
            rel = con.read_parquet(str(src))
        except duckdb.Error:
            return False  # unreadable: the general path words the message
        types = dict(zip(rel.columns, (str(t) for t in rel.types)))
        if len(types) != len(rel.columns) or len(types) > _MAX_COLS:
            return False  # the general path's reader words the refusal
        mid, cat, base = types.get("member_id"), types.get("category"), types.get("base_income")
        if mid is None or cat != "VARCHAR" or base is None:
            return False
        if not (mid == "VARCHAR" or mid in _INT_TYPES) or not _money_type_ok(base):
            return False
        has_fixed = "fixed_amount" in types
        if has_fixed and not _money_type_ok(types["fixed_amount"]):
            return False
        con.execute("SET enable_progress_bar = false")
        rel.create_view("dj_src")
        try:
            n, n_ids = con.execute(_count_sql()).fetchall()[0]
        except duckdb.Error:
            return False
        if n == 0 or n_ids != n:
            return False
        out = Path(dst)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
        os.close(fd)
        try:
            con.sql(calc_sql(precision=precision, rounding=rounding, cap=cap, has_fixed=has_fixed)).write_parquet(tmp)
            os.replace(tmp, out)
        except duckdb.Error:
            Path(tmp).unlink(missing_ok=True)
            return False  # a row that is not plain (error('dj_not_plain')): the general path decides
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True
    finally:
        con.close()
