"""`dues calc` file to file in DuckDB alone: exact integer-分 arithmetic in SQL, no polars.

The batch path of `python -m dangjian_core dues calc IN.parquet OUT.parquet`. It imports only
duckdb (polars costs ~0.15 s to import, more than the whole calculation), reads the parquet
file and checks that the file is *plain* (the ids in one light pass over member_id alone;
every other check row by row inside the calculation query itself, where a bad row raises,
each check riding on the CASE branch that uses the value) — the columns are the cli.md
names with native types (member_id text or integer, category the exact codes, base_income and
fixed_amount DECIMAL with at most 2 decimals or integers), every member_id present, trimmed
and unique, every required base present, not negative and below 10¹² yuan, farmer amounts
within 0.20–1.00 and reduced amounts above 0 — and then writes the result with one query.
Anything else (an alias such as 在职, a text or float column, any bad cell) returns False and
the caller takes the general path (`dues.engine.calc_dues_frame(as_text=True)`), which gives
the Chinese messages naming row and column. So this path never decides an error, and where it
runs its output is the general path's, byte for byte in the values (tests/dues/test_dues_sql.py
proves it with hypothesis against the general path — on plain rows, and on rows with refused
or boundary values among them — and on the public vectors).

Arithmetic (as `dues.dues_exprs`): base in 分 × rate in ‰ = dues in 1/1000 分, rounded once to
the precision unit with the chosen mode in BIGINT integer division, capped at 1000.00.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

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


def _check_sql(mid_is_text: bool) -> str:
    """One light pass over member_id alone: rows, ids present, ids not above the one before
    (0 when the file is sorted by id: then every id is unique, with no hash table to build),
    and, for a text id, the ids the general path would refuse or trim (empty, a NUL,
    White_Space first or last: each counted by its own aggregate, cheaper than one OR).
    `lag(…) OVER ()` runs in DuckDB's streaming window, which reads the file in order in one
    thread, so each id is compared with the row just before it in the file."""
    m = "member_id"
    text = (f", min(strlen({m})), count(*) FILTER (WHERE contains({m}, chr(0))),"
            f" count(*) FILTER (WHERE {_ws_sql(f'unicode({m})')}),"
            f" count(*) FILTER (WHERE {_ws_sql(f'unicode(right({m}, 1))')})") if mid_is_text else ""
    return (f"SELECT count(*), count({m}), count(*) FILTER (WHERE {m} <= prev){text}"
            f" FROM (SELECT {m}, lag({m}) OVER () AS prev FROM dj_src)")


_DISTINCT_SQL = "SELECT count(DISTINCT member_id) FROM dj_src"  # ids in no sorted order: the hash way


def _ids_plain(con: duckdb.DuckDBPyConnection, mid_is_text: bool) -> bool:
    """At least one row, every id present and unique, none to refuse or trim."""
    n, present, unsorted, *text = con.execute(_check_sql(mid_is_text)).fetchall()[0]
    if not n or present != n or (text and (text[0] == 0 or text[1:] != [0, 0, 0])):
        return False
    return not unsorted or con.execute(_DISTINCT_SQL).fetchall()[0][0] == n


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


_NOT_PLAIN = "error('dj_not_plain')"  # a row the general path would refuse: the query fails, the caller falls back
# the kind of rule of each category: 1 bracket, 2 retired, 3 farmer, 4 flat 0.20, 5 nothing due, 6 reduced
_KIND_CASE = (f"CASE WHEN {_one_of('category', BRACKET)} THEN 1 WHEN category = 'retired' THEN 2"
              f" WHEN category = 'farmer' THEN 3 WHEN {_one_of('category', FLAT)} THEN 4"
              " WHEN category = 'exempt' OR category = 'suspended' THEN 5 WHEN category = 'reduced' THEN 6"
              f" ELSE CAST({_NOT_PLAIN} AS INTEGER) END")


def calc_sql(*, precision: str = "fen", rounding: str = "half_up", cap: bool = True, farmer_default_fen: int = 20,
             has_fixed: bool = True) -> str:
    """The calculation over view `dj_src`: member_id, dues, rate, rule (all text, as the CLI).

    The checks of each row ride on the calculation itself, so a plain file costs no more than
    the arithmetic: the category picks its kind of rule (an unknown or missing one raises
    `dj_not_plain` in the ELSE), and each kind checks only the value it uses (a base that is
    missing, negative or ≥ 10¹² yuan; a farmer amount outside 0.20–1.00; a reduced amount
    missing or not above 0) — raising in a CASE branch that only that kind's rows reach."""
    unit = PRECISION_FEN[precision]
    fx = "fixed_amount" if has_fixed else "CAST(NULL AS DECIMAL(18,2))"
    computed = _round_div("base_fen * permille", 1000 * unit, rounding) + f" * {unit}"
    capped = f"raw > {CAP_FEN}" if cap else "false"
    bad = f"CAST({_NOT_PLAIN} AS BIGINT)"
    return f"""
    WITH k AS (
        SELECT member_id, category, base_income, {fx} AS fx, {_KIND_CASE} AS kind
        FROM dj_src  -- no WHERE: a filter lets DuckDB write rows out of order; the checks are in columns
    ), p AS (
        SELECT member_id, category, kind,
            CASE WHEN kind <= 2 THEN CASE WHEN base_income IS NULL OR base_income < 0 OR base_income >= {TOO_LARGE_YUAN}
                                          THEN {bad} ELSE CAST(base_income * 100 AS BIGINT) END END AS base_fen,
            CASE WHEN kind = 3 THEN CASE WHEN fx IS NULL THEN {int(farmer_default_fen)}
                                         WHEN fx * 100 < {FARMER_MIN_FEN} OR fx * 100 > {FARMER_MAX_FEN} THEN {bad}
                                         ELSE CAST(fx * 100 AS BIGINT) END
                 WHEN kind = 6 THEN CASE WHEN fx IS NULL OR fx <= 0 OR fx >= {TOO_LARGE_YUAN} THEN {bad}
                                         ELSE CAST(fx * 100 AS BIGINT) END END AS fixed_fen
        FROM k
    ), r AS (
        SELECT *, CASE
            WHEN kind = 1 THEN CASE WHEN base_fen <= 300000 THEN 5 WHEN base_fen <= 500000 THEN 10
                                    WHEN base_fen <= 1000000 THEN 15 ELSE 20 END
            WHEN kind = 2 THEN CASE WHEN base_fen <= 500000 THEN 5 ELSE 10 END END AS permille
        FROM p
    ), d AS (
        SELECT member_id, category, kind, permille, CASE
            WHEN kind <= 2 THEN {computed}
            WHEN kind = 4 THEN {FLAT_FEN}
            WHEN kind = 5 THEN 0
            ELSE fixed_fen END AS raw
        FROM r
    ), c AS (
        SELECT *, {capped} AS capped, CASE WHEN {capped} THEN {CAP_FEN} ELSE raw END AS fen FROM d
    )
    SELECT CAST(member_id AS VARCHAR) AS member_id,
           CAST(CAST(fen AS DECIMAL(18,0)) * 0.01 AS VARCHAR) AS dues,  -- exact DECIMAL(18,2): "76.50"
           CASE permille WHEN 5 THEN '0.005' WHEN 10 THEN '0.01' WHEN 15 THEN '0.015' WHEN 20 THEN '0.02' END AS rate,
           CASE kind WHEN 1 THEN 'bracket_' || CASE permille WHEN 5 THEN '0.5' WHEN 10 THEN '1' WHEN 15 THEN '1.5' ELSE '2' END
                     WHEN 2 THEN 'retired_' || CASE permille WHEN 5 THEN '0.5' ELSE '1' END
                     WHEN 3 THEN 'fixed_farmer'
                     WHEN 4 THEN 'fixed_0.20'
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
            if not _ids_plain(con, mid == "VARCHAR"):
                return False
        except duckdb.Error:
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
