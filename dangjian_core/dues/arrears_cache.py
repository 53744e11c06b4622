"""The 欠缴与补交 page's back-calculation, computed once per input and kept (issue 17).

A period's figures are summed from one ledger per month for the whole city (`arrears.month_rows`:
member, 应缴, 实缴 — about 2 MB at 100,000 members) and a context (settings, rules, the names and
orgs of the members in scope). Everything kept is keyed on fingerprints of exactly what it reads
(`arrears.Prints`: a count and a sum of row hashes of the columns read, per table and per roll
month), not on the database's generation, so

* a write to anything else (orgs' secretaries, sites, reports, the audit log, a login) finds
  every result still valid: only the fingerprints are read again (once per write, ~50 ms CPU);
* a payment changes one month's 实缴: that month's 实缴 is read again (one small query) and put
  beside its 应缴, which is kept (应缴 depends on members, bases, categories, settings, farmer
  amounts and the roll's category/base/fixed amount only);
* a new period computes only the months not seen yet, a few months per query, one query at a
  time in the process (their working memory would add up);
* a few period results are kept (`RESULTS_KEPT`), contexts apart from them (`CONTEXTS_KEPT`).

At city scale (`WARM_FROM_MEMBERS`) a background thread keeps the page's default period ready:
at start and after every write it computes what the write changed (usually nothing, or one
month's 实缴), and after a period is shown it computes the twelve months before it, so moving
截止月份 back finds them ready. A page asking for a result the thread is computing waits for it
instead of computing it twice. No streamlit here: the page holds one `LedgerCache` per database
(`st.cache_resource`).

The figures are exactly `back_calculate`'s (tests/dues/test_arrears_cache.py proves it, also
after random payments, base and category changes); the result has no per-month `detail` and no
`back_pays` (the page reads `arrears.back_payments` when its tab is open)."""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from datetime import date
from typing import TypeVar

import polars as pl

from ..auth import User, require
from ..caching import BoundedCache
from ..db import Cursor, Database
from .arrears import (
    _DUE_TABLES,
    _LABEL_TABLES,
    CHUNK_MONTHS,
    BackCalc,
    LedgerContext,
    Prints,
    _ledgers,
    _table_prints,
    context,
    from_ledgers,
    owed_months,
    paid_rows,
    prints,
    with_paid,
)
from .settings import _rule_history, _this_month
from .store import PERM_READ, add_months, months_between, parse_month

MONTHS_KEPT = 48          # month ledgers kept (~2 MB each at 100,000 members), and as many 应缴 parts
RESULTS_KEPT = 6          # period results kept
CONTEXTS_KEPT = 4         # contexts (a scope's labels) kept, apart from the results
PREFETCH_MONTHS = 12      # after a period is shown, these months before it are computed in the background
WARM_FROM_MEMBERS = 5_000  # below this a period computes in a few ms on demand: no background thread

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def default_period(this_month: date | None = None) -> tuple[date, date]:
    """The page's default period: the twelve months up to last month (the last closed month)."""
    end = add_months(this_month or _this_month(), -1)
    return add_months(end, -11), end


class LedgerCache:
    """The kept ledgers, contexts and period results of one database (see the module doc)."""

    def __init__(self, db: Database, *, warm_from_members: int = WARM_FROM_MEMBERS) -> None:
        self.db = db
        self.warm_from_members = warm_from_members
        self._prints: BoundedCache[tuple[int, date], _Moment] = BoundedCache(2)
        self._dues: BoundedCache[Hashable, pl.DataFrame] = BoundedCache(MONTHS_KEPT)
        self._ledgers: BoundedCache[Hashable, pl.DataFrame] = BoundedCache(MONTHS_KEPT)
        self._contexts: BoundedCache[Hashable, LedgerContext] = BoundedCache(CONTEXTS_KEPT)
        self._results: BoundedCache[Hashable, BackCalc] = BoundedCache(RESULTS_KEPT)
        # one ledger query at a time in the process: the page and the background take turns by
        # chunk (two at once would add up their working memory)
        self._compute = threading.Lock()
        self._state = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._checked = False
        self._prefetch: date | None = None
        self._handled: int | None = None   # the generation the background thread has warmed for
        self.computed_months = 0           # ledgers computed in full (tests and benches read it)
        self.paid_months = 0               # ledgers whose 实缴 alone was read again

    # -- what the page asks ----------------------------------------------------------------
    def result(self, user: User, start: object, end: object, org_id: int | None = None) -> BackCalc:
        """The period's back-calculation for the org and everything under it (None: the whole
        city): `back_calculate`'s members, orgs and missing list, without the per-month detail
        and the back payments. Shared by every reader of dues (it holds no salary column)."""
        require(user, PERM_READ)
        period = months_between(start, end)
        calc = self._result(period, org_id)
        if not self._checked:
            self._checked = True
            self.start()
        if self._worker is not None:
            self.prefetch_before(period[0])
        return calc

    def prefetch_before(self, month: date) -> None:
        """Have the background thread compute the `PREFETCH_MONTHS` months before `month`."""
        with self._state:
            self._prefetch = parse_month(month)
        self._wake.set()

    # -- the background thread ---------------------------------------------------------------
    def start(self) -> bool:
        """Start the background thread when the city is large enough to need it (idempotent).
        True when it runs."""
        with self._state:
            if self._worker is not None:
                return True
            if self.warm_from_members > 0:
                try:
                    with self.db.read() as cur:
                        members = int(cur.execute("SELECT count(*) FROM members").fetchone()[0])
                except Exception:  # noqa: BLE001 — only a head start: never in the way of a page or the start
                    return False
                if members < self.warm_from_members:
                    return False
            self._stop.clear()
            self.db.watch(self._wake)
            self._worker = threading.Thread(target=self._run, name="dangjian-arrears", daemon=True)
            self._worker.start()
        _LIVE.add(self)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background thread (after the query it is running)."""
        self._stop.set()
        self._wake.set()
        self.db.unwatch(self._wake)
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)
        with self._state:
            self._worker = None

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until the background thread has warmed for the current data and has no
        prefetch waiting (for tests). False on timeout or when no thread runs."""
        with self._state:
            return self._state.wait_for(
                lambda: self._worker is None or (self._handled == self.db.generation and self._prefetch is None),
                timeout) and self._worker is not None

    def warm(self) -> BackCalc:
        """Compute (or find) the default period's result for the whole city."""
        start, end = default_period()
        return self._result(months_between(start, end), None)

    def _run(self) -> None:
        while not self._stop.is_set():
            generation = self.db.generation
            with self._state:
                before = self._prefetch
            try:
                if generation != self._handled:
                    self.warm()
                if before is not None:
                    months = [add_months(before, -i) for i in range(1, PREFETCH_MONTHS + 1)]  # nearest first
                    self._month_ledgers(owed_months(months), self._prints_now(months))
            except Exception:  # noqa: BLE001 — only a head start: the page computes what is missing
                pass
            with self._state:
                self._handled = generation
                if self._prefetch == before:  # not asked again meanwhile
                    self._prefetch = None
                self._state.notify_all()
            self._wake.wait()  # set by a write (Database.watch), a prefetch request or stop
            self._wake.clear()

    # -- computing -------------------------------------------------------------------------
    def _prints_now(self, months: Sequence[date]) -> Prints:
        """Fingerprints of the data now: the tables once per write (generation), the roll's
        months as they are first asked for after it."""
        moment = self._prints.get_or_compute((self.db.generation, _this_month()), self._read_tables)
        with moment.lock:
            missing = sorted(set(months) - moment.seen)
            if missing:
                with self.db.read() as cur:
                    p = prints(cur, missing, tables=False)
                moment.calc.update(p.calc)
                moment.paid.update(p.paid)
                moment.seen.update(missing)
            return Prints(moment.due, moment.labels, dict(moment.calc), dict(moment.paid))

    def _read_tables(self) -> _Moment:
        with self.db.read() as cur:
            return _Moment(_table_prints(cur, _DUE_TABLES), _table_prints(cur, _LABEL_TABLES))

    def _result(self, period: Sequence[date], org_id: int | None) -> BackCalc:
        p = self._prints_now(period)
        months = owed_months(period)
        this = _this_month()
        key = (period[0], period[-1], org_id, this, p.labels, tuple(p.ledger_key(m) for m in months))

        def compute() -> tuple[BackCalc, Hashable]:
            ledgers, keys = self._month_ledgers(months, p)
            ctx, labels = self._context(org_id, p)
            actual = (period[0], period[-1], org_id, this, labels, tuple(keys[m] for m in months))
            return from_ledgers(period, ledgers, ctx), actual
        return _kept(self._results, key, compute)[0]

    def _context(self, org_id: int | None, p: Prints) -> tuple[LedgerContext, Hashable]:
        """The scope's context and the label fingerprint it was read with."""
        this = _this_month()

        def compute() -> tuple[LedgerContext, Hashable]:
            with self.db.read() as cur, _snapshot(cur):
                return context(cur, org_id), (org_id, this, _table_prints(cur, _LABEL_TABLES))
        ctx, key = _kept(self._contexts, (org_id, this, p.labels), compute)
        return ctx, key[2]  # type: ignore[index]

    def _month_ledgers(self, months: Sequence[date], p: Prints
                       ) -> tuple[dict[date, pl.DataFrame], dict[date, Hashable]]:
        """The ledgers of these months and the keys they were computed with: kept ones, else
        a kept 应缴 with 实缴 read again, else computed a few months per query."""
        keys: dict[date, Hashable] = {m: p.ledger_key(m) for m in months}
        kept = self._ledgers.get_many(keys.values())
        out = {m: kept[k] for m, k in keys.items() if k in kept}
        need = [m for m in months if m not in out]
        if need:  # 实缴 again where 应缴 is kept (a payment): a small query, no lock needed
            got, got_keys = self._load(need, full=False)
            out.update(got)
            keys.update(got_keys)
        need = [m for m in months if m not in out]
        for i in range(0, len(need), CHUNK_MONTHS):
            with self._compute:
                got, got_keys = self._load(need[i:i + CHUNK_MONTHS], full=True)
            out.update(got)
            keys.update(got_keys)
        return out, keys

    def _load(self, months: Sequence[date], *, full: bool
              ) -> tuple[dict[date, pl.DataFrame], dict[date, Hashable]]:
        """In one read transaction (the fingerprints and the rows of one moment): the months'
        ledgers from the cache, from a kept 应缴 and 实缴 read now, or (`full`) computed."""
        out: dict[date, pl.DataFrame] = {}
        with self.db.read() as cur, _snapshot(cur):
            now = Prints(_table_prints(cur, _DUE_TABLES), (), *_roll_prints(cur, months))
            keys: dict[date, Hashable] = {m: now.ledger_key(m) for m in months}
            kept = self._ledgers.get_many(keys.values())
            out.update({m: kept[k] for m, k in keys.items() if k in kept})
            dues = self._dues.get_many(now.due_key(m) for m in months if m not in out)
            paid_only = [m for m in months if m not in out and now.due_key(m) in dues]
            if paid_only:
                paid = paid_rows(cur, paid_only)
                for m in paid_only:
                    out[m] = with_paid(dues[now.due_key(m)], paid[m])
                    self._ledgers.put(keys[m], out[m])
                self.paid_months += len(paid_only)
            rest = [m for m in months if m not in out]
            if full and rest:
                got = _ledgers(cur, rest, _rule_history(cur))
                for m in rest:
                    out[m] = got[m]
                    self._dues.put(now.due_key(m), got[m].select("member_id", "due_fen"))
                    self._ledgers.put(keys[m], got[m])
                self.computed_months += len(rest)
        return out, {m: keys[m] for m in out}


class _Moment:
    """The fingerprints read after one write: the tables' at once, the roll's months as asked."""

    def __init__(self, due: tuple[object, ...], labels: tuple[object, ...]) -> None:
        self.due, self.labels = due, labels
        self.calc: dict[date, tuple[object, ...]] = {}
        self.paid: dict[date, tuple[object, ...]] = {}
        self.seen: set[date] = set()
        self.lock = threading.Lock()


def _roll_prints(cur: Cursor, months: Sequence[date]) -> tuple[dict[date, tuple[object, ...]],
                                                                dict[date, tuple[object, ...]]]:
    p = prints(cur, months, tables=False)
    return dict(p.calc), dict(p.paid)


class _snapshot:
    """A read transaction on a cursor: every query inside sees one moment of the data."""

    def __init__(self, cur: Cursor) -> None:
        self.cur = cur

    def __enter__(self) -> Cursor:
        self.cur.execute("BEGIN TRANSACTION")
        return self.cur

    def __exit__(self, *exc: object) -> None:
        self.cur.execute("ROLLBACK")  # nothing was written


def _kept(cache: BoundedCache[Hashable, V], key: Hashable,
          compute: Callable[[], tuple[V, Hashable]]) -> tuple[V, Hashable]:
    """`cache.get_or_compute(key, …)` where `compute` also says the key its inputs really had
    (read in the same transaction): the value is kept under that key, and under `key` only
    when they are the same (a write landed in between: the value is newer than `key`).
    Returns the value and its real key."""
    actual: list[Hashable] = []

    def run() -> V:
        value, really = compute()
        actual.append(really)
        if really != key:
            cache.put(really, value)
        return value
    value = cache.get_or_compute(key, run, keep=lambda _: bool(actual) and actual[-1] == key)
    return value, (actual[-1] if actual else key)


_LIVE: weakref.WeakSet[LedgerCache] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """At exit, let background threads finish their query first (DuckDB aborts the process
    when a thread is still inside it at shutdown)."""
    for cache in list(_LIVE):
        cache.stop(timeout=30)
