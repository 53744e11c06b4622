"""The 欠缴与补交 page's kept back-calculation (dues.arrears_cache, issue 17): the fast path — month
ledgers kept per input, 实缴 alone read again after a payment, results kept across writes
elsewhere — gives exactly `back_calculate`'s figures (money in integer 分), after any writes."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangjian_core import fileio, uow
from dangjian_core.dues import arrears, payments, payroll, roll
from dangjian_core.dues import arrears_cache as ac
from dangjian_core.dues import settings as dues_settings
from dangjian_core.dues import store as dues_store
from dangjian_core.errors import PermissionDenied
from tests.conftest import ADMIN, TREASURER, VIEWER

T = TREASURER
TODAY = date(2026, 11, 23)  # tests/conftest.py pins the calendar (DANGJIAN_TODAY)
PARTS = ("members", "orgs", "missing")


def same(calc: arrears.BackCalc, whole: arrears.BackCalc) -> bool:
    return all(getattr(calc, p).equals(getattr(whole, p)) for p in PARTS)


def bases(db, rows) -> None:
    text = "党员编号,月份,计算基数\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    payroll.import_bases(db, T, fileio.read_frame(data=text.encode(), name="基数.csv"), commit=True)


def roll_rows(db) -> pl.DataFrame:
    with db.read() as cur:
        return cur.sql("SELECT r.id, r.version, r.month, m.member_no, CAST(r.due * 100 AS BIGINT) AS due_fen"
                       " FROM dues_roll r JOIN members m ON m.id = r.member_id ORDER BY r.id").pl()


def pay(db, roll_id: int, fen: int) -> None:
    row = roll_rows(db).filter(pl.col("id") == roll_id).row(0, named=True)
    payments.save_roll_edits(db, T, [{"id": roll_id, "version": row["version"], "row": 1,
                                      "paid": f"{fen // 100}.{fen % 100:02d}", "paid_on": TODAY if fen else None,
                                      "method": "cash" if fen else None}], today=TODAY)


def elsewhere(db, sql: str, params: list[object]) -> None:
    """A write no arrears figure reads (an org's secretary, a member's phone): one transaction
    that moves the database's generation like any save."""
    with uow.bookkeeping(db) as cur:
        cur.execute(sql, params)


@pytest.fixture
def town(db):
    """Two branches under one committee, eight members of several categories, bases from
    2026-01 (one member has none: listed as missing), the roll of 2026-01 … 2026-09."""
    with db.write() as cur:
        cur.execute("INSERT INTO orgs(id, name, level, parent_id, category, street, member_count) VALUES"
                    " (1, '测试党委', 'committee', NULL, 'organ', '东湖街道', 100),"
                    " (2, '测试第一党支部', 'branch', 1, 'rural', '东湖街道', 5),"
                    " (3, '测试第二党支部', 'branch', 1, 'organ', '西湖街道', 3)")
        cur.execute("INSERT INTO members(id, member_no, name, org_id, status, join_date, dues_category) VALUES"
                    " (1, 'M1', '张三', 2, 'full', '2010-05-01', 'employed'),"
                    " (2, 'M2', '李四', 2, 'full', '1980-05-01', 'retired'),"
                    " (3, 'M3', '王五', 2, 'full', '2000-05-01', 'farmer'),"
                    " (4, 'M4', '赵六', 2, 'full', '2000-05-01', 'exempt'),"
                    " (5, 'M5', '钱七', 3, 'probationary', '2026-03-15', 'employed'),"
                    " (6, 'M6', '孙八', 3, 'full', '2001-01-01', 'student'),"
                    " (7, 'M7', '周九', 3, 'full', '2005-01-01', 'employed'),"
                    " (8, 'M8', '吴十', 2, 'full', '2005-01-01', 'employed')")
        cur.execute("SELECT setval('orgs_seq', 3)")
        cur.execute("SELECT setval('members_seq', 8)")
    bases(db, [("M1", "2026-01", "5100"), ("M2", "2026-01", "6000"), ("M5", "2026-03", "3000"),
               ("M7", "2026-01", "12000")])   # M8: no base → missing
    roll.generate_roll(db, T, months=[f"2026-{m:02d}" for m in range(1, 10)])
    return db


# -- the kept path is the full path ------------------------------------------------------------
def test_kept_results_are_back_calculate_s_for_any_period_and_scope(demo_db):
    cache = ac.LedgerCache(demo_db)
    seen = {"flag": 0, "warn": 0, "missing": 0}
    for start, end, org in [("2024-01", "2026-11", None), ("2025-01", "2025-12", 3), ("2026-12", "2027-02", None),
                            ("2025-12", "2026-11", None)]:
        calc = cache.result(T, start, end, org)
        whole = arrears.back_calculate(demo_db, T, start, end, org_id=org)
        assert same(calc, whole), (start, end, org)
        assert calc.back_pays.height == 0 and calc.detail.height == 0   # read apart, when their tab is open
        seen["flag"] += int((whole.members["warning"] == "flag").sum())
        seen["warn"] += int((whole.members["warning"] == "warn").sum())
        seen["missing"] += whole.missing.height
    assert all(seen.values()), seen   # the data does exercise runs, warnings and missing months
    computed = cache.computed_months
    assert computed == len(dues_store.months_between("2024-01", "2026-11"))   # each month once
    assert cache.result(T, "2025-12", "2026-11") is calc and cache.computed_months == computed


def test_only_readers_of_dues_get_results(demo_db):
    cache = ac.LedgerCache(demo_db)
    with pytest.raises(PermissionDenied):
        cache.result(VIEWER, "2026-01", "2026-06")
    assert cache.result(ADMIN, "2026-01", "2026-06").members.height > 0


def test_a_payment_reads_only_that_month_s_paid_again(town):
    cache = ac.LedgerCache(town)
    cache.result(T, "2026-01", "2026-11")
    assert (cache.computed_months, cache.paid_months) == (11, 0)
    march = roll_rows(town).filter((pl.col("member_no") == "M1") & (pl.col("month") == date(2026, 3, 1))).row(0, named=True)
    pay(town, march["id"], march["due_fen"])
    calc = cache.result(T, "2026-01", "2026-11")
    assert (cache.computed_months, cache.paid_months) == (11, 1)   # 应缴 kept; March's 实缴 read again
    assert same(calc, arrears.back_calculate(town, T, "2026-01", "2026-11"))
    assert calc.members.filter(pl.col("member_no") == "M1")["paid_total_fen"][0] == march["due_fen"]


def test_writes_to_what_arrears_read_recompute_and_writes_elsewhere_keep_the_result(town):
    cache = ac.LedgerCache(town)
    first = cache.result(T, "2026-01", "2026-11")
    elsewhere(town, "UPDATE orgs SET secretary = '新书记', version = version + 1 WHERE id = 2", [])
    elsewhere(town, "UPDATE members SET phone = '13900000000', version = version + 1 WHERE id = 1", [])
    elsewhere(town, "UPDATE users SET last_login = now()", [])
    assert cache.result(T, "2026-01", "2026-11") is first and cache.computed_months == 11

    elsewhere(town, "UPDATE orgs SET name = '测试第一党支部（改）' WHERE id = 2", [])   # names: labels read again
    renamed = cache.result(T, "2026-01", "2026-11")
    assert renamed is not first and cache.computed_months == 11 and "测试第一党支部（改）" in renamed.orgs["org"].to_list()
    assert same(renamed, arrears.back_calculate(town, T, "2026-01", "2026-11"))

    bases(town, [("M8", "2026-02", "4000")])   # a base: every month's 应缴 again
    calc = cache.result(T, "2026-01", "2026-11")
    assert cache.computed_months == 22 and same(calc, arrears.back_calculate(town, T, "2026-01", "2026-11"))
    payroll.set_category(town, T, "M7", "2026-06", "retired")   # a category from June
    calc = cache.result(T, "2026-01", "2026-11", 3)
    assert cache.computed_months == 33 and same(calc, arrears.back_calculate(town, T, "2026-01", "2026-11", org_id=3))
    dues_settings.save_settings(town, T, {"cap": False})   # settings: every month again
    cache.result(T, "2026-01", "2026-11")
    assert cache.computed_months == 44
    roll.generate_roll(town, T, "2026-06", recompute=True)   # the roll's own amounts (a fallback base) of one month
    calc = cache.result(T, "2026-01", "2026-11")
    assert same(calc, arrears.back_calculate(town, T, "2026-01", "2026-11"))


# -- property: after any writes, the kept path equals the full path -------------------------------
OPS = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 10_000), st.sampled_from(["full", "part", "zero"])),
    st.tuples(st.just("base"), st.sampled_from(["M1", "M5", "M7", "M8"]), st.integers(1, 11),
              st.sampled_from(["2999.99", "3000", "3000.01", "5000", "5000.01", "10000", "10000.01", "60000"])),
    st.tuples(st.just("category"), st.sampled_from(["M1", "M7"]), st.integers(1, 11),
              st.sampled_from(["retired", "student", "exempt"])),
    st.tuples(st.just("register"), st.integers(1, 8), st.sampled_from(["employed", "retired", "farmer", "student"])),
    st.tuples(st.just("elsewhere"), st.integers(1, 3)),
    st.tuples(st.just("rename"), st.integers(2, 3)),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=3), period=st.sampled_from(
    [("2026-01", "2026-11", None), ("2026-03", "2026-09", 3), ("2026-02", "2026-12", 2)]))
def test_after_any_writes_the_kept_result_equals_back_calculate(town, ops, period):
    start, end, org = period
    cache = ac.LedgerCache(town)
    cache.result(T, start, end, org)
    for op in ops:
        computed = cache.computed_months
        if op[0] == "pay":
            rows = roll_rows(town)
            row = rows.row(op[1] % rows.height, named=True)
            pay(town, row["id"], {"full": row["due_fen"], "part": row["due_fen"] // 2, "zero": 0}[op[2]])
        elif op[0] == "base":
            bases(town, [(op[1], f"2026-{op[2]:02d}", op[3])])
        elif op[0] == "category":
            payroll.set_category(town, T, op[1], f"2026-{op[2]:02d}", op[3])
        elif op[0] == "register":   # the register's category (the members table editor)
            elsewhere(town, "UPDATE members SET dues_category = ?, version = version + 1 WHERE id = ?", [op[2], op[1]])
        elif op[0] == "elsewhere":
            elsewhere(town, "UPDATE orgs SET contact = ?, version = version + 1 WHERE id = ?", ["电话", op[1]])
        else:
            elsewhere(town, "UPDATE orgs SET name = name || '·' WHERE id = ?", [op[1]])
        calc = cache.result(T, start, end, org)
        assert same(calc, arrears.back_calculate(town, T, start, end, org_id=org)), op
        if op[0] in ("pay", "elsewhere", "rename"):
            assert cache.computed_months == computed, op   # no 应缴 computed again


@settings(max_examples=200, deadline=None)
@given(due=st.dictionaries(st.integers(1, 60), st.one_of(st.none(), st.integers(0, 100_000)), max_size=25),
       paid=st.dictionaries(st.integers(1, 60), st.integers(0, 100_000), max_size=25))
def test_with_paid_is_the_ledger_s_left_join(due, paid):
    """A kept 应缴 with 实缴 read again equals the ledger the full query gives (the roll's 实缴,
    0 where a member has no roll row; rows outside the ledger are not its members)."""
    ids = sorted(due)
    ledger = pl.DataFrame({"member_id": ids, "due_fen": [due[i] for i in ids], "paid_fen": [7] * len(ids)},
                          schema=arrears._LEDGER_SCHEMA)
    pids = sorted(paid)
    roll_paid = pl.DataFrame({"member_id": pids, "paid_fen": [paid[i] for i in pids]},
                             schema={"member_id": pl.Int32, "paid_fen": pl.Int64})
    got = arrears.with_paid(ledger, roll_paid)
    assert got.schema == ledger.schema and got["member_id"].to_list() == ids
    assert got["due_fen"].to_list() == [due[i] for i in ids]
    assert got["paid_fen"].to_list() == [paid.get(i, 0) for i in ids]


# -- the spec's vectors through the kept path ---------------------------------------------------
VECTORS = [("employed", "2500", 1250), ("employed", "3000.00", 1500), ("employed", "3500", 3500),
           ("employed", "4900", 4900), ("employed", "5000.00", 5000), ("employed", "5100", 7650),
           ("employed", "6000", 9000), ("employed", "7500", 11250), ("employed", "10000.00", 15000),
           ("employed", "12000", 24000), ("employed", "20000", 40000), ("retired", "4000", 2000),
           ("retired", "5000.00", 2500), ("retired", "6000", 6000), ("student", None, 20), ("unemployed", None, 20),
           ("relief", None, 20), ("low_income", None, 20), ("exempt", None, 0), ("farmer", None, 50)]


def test_the_spec_s_vectors_come_out_of_the_kept_path(db):
    """docs: shared/spec/dues.md, public test vectors (default settings; the farmer's branch
    amount 0.50), one month each, and 60000 → 1200.00 once the ceiling is off."""
    with db.write() as cur:
        cur.execute("INSERT INTO orgs(id, name, level, parent_id, category, street, member_count) VALUES"
                    " (1, '测试党支部', 'branch', NULL, 'rural', '东湖街道', 30)")
        cur.execute("INSERT INTO dues_farmer_amounts(org_id, amount) VALUES (1, 0.50)")
        for i, (cat, _, _) in enumerate([*VECTORS, ("employed", "60000", 0)], start=1):
            cur.execute("INSERT INTO members(id, member_no, name, org_id, status, join_date, dues_category)"
                        " VALUES (?, ?, ?, 1, 'full', '2000-01-01', ?)", [i, f"V{i:02d}", f"党员{i}", cat])
    bases(db, [(f"V{i:02d}", "2026-01", b) for i, (_, b, _) in enumerate([*VECTORS, ("employed", "60000", 0)], start=1)
               if b is not None])
    cache = ac.LedgerCache(db)
    due = dict(cache.result(T, "2026-10", "2026-10").members.select("member_no", "due_total_fen").iter_rows())
    assert [due[f"V{i:02d}"] for i in range(1, len(VECTORS) + 1)] == [v for _, _, v in VECTORS]
    assert due["V21"] == 100_000   # capped at 1000.00
    dues_settings.save_settings(db, T, {"cap": False}, effective_from="2026-01")
    due = dict(cache.result(T, "2026-10", "2026-10").members.select("member_no", "due_total_fen").iter_rows())
    assert due["V21"] == 120_000 and due["V06"] == 7650


# -- the background thread ------------------------------------------------------------------------
def test_the_background_keeps_the_default_period_ready_after_writes(town):
    cache = ac.LedgerCache(town, warm_from_members=0)
    assert not ac.LedgerCache(town).start()   # eight members: computed on demand, no thread
    try:
        assert cache.start() and cache.wait_idle()
        start, end = ac.default_period()
        assert (start, end) == (date(2025, 11, 1), date(2026, 10, 1))
        computed = cache.computed_months
        assert computed >= 12   # the default period's months, before anyone asked
        calc = cache.result(T, start, end)
        assert cache.computed_months == computed and same(calc, arrears.back_calculate(town, T, start, end))
        assert cache.wait_idle()   # …and the twelve months before it
        assert cache.computed_months == computed + 12
        row = roll_rows(town).filter(pl.col("member_no") == "M7").row(0, named=True)
        pay(town, row["id"], row["due_fen"])
        assert cache.wait_idle()
        paid, computed = cache.paid_months, cache.computed_months
        assert paid >= 1
        calc = cache.result(T, start, end)   # ready: nothing read again on the page's run
        assert (cache.paid_months, cache.computed_months) == (paid, computed)
        assert same(calc, arrears.back_calculate(town, T, start, end))
    finally:
        cache.stop()
    assert not cache.wait_idle(0)


def test_a_ledger_is_kept_under_the_fingerprint_it_was_read_with(town):
    """The fingerprints and the rows of a month are read in one transaction: a ledger is never
    kept under the fingerprint of other data."""
    cache = ac.LedgerCache(town)
    months = dues_store.months_between("2026-01", "2026-03")
    ledgers, keys = cache._month_ledgers(months, cache._prints_now(months))
    with town.read() as cur:
        now = arrears.prints(cur, months)
    assert keys == {m: now.ledger_key(m) for m in months}
    for m in months:
        assert ledgers[m].equals(arrears.month_rows(town, T, m))
    assert np.array_equal(ledgers[months[0]]["member_id"].to_numpy(), np.sort(ledgers[months[0]]["member_id"].to_numpy()))
