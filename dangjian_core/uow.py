"""The unit of work: one user action = one permission check = one transaction = one undoable
audit batch, by construction. Every workflow write goes through it::

    from dangjian_core import uow

    with uow.action(db, user, "sites.write", "site_select", "确定为创建单位：…") as act:
        cur = act.cur                               # the one transaction
        with act.track("sites", [site_id]):         # rows read before and after the block;
            cur.execute("UPDATE sites …")           # insert/update/delete recorded per key
        act.record("t", key, "update", before, after)   # explicit form
        act.record_many("t", entries)                   # many at once (see audit.record_many)
        act.describe("…")                               # the batch description, any time
    return act.batch_id                             # None when nothing was recorded

`action` checks the permission before the transaction opens; the audit batch is created on the
first record (an action that changed nothing leaves no empty batch); an exception anywhere in
the block rolls back the writes and the batch together. Writes that are nobody's action —
login counters, app settings, backup times, the demo build — use `bookkeeping(db)`: one
transaction, no audit. Only db.py and this module open `db.write()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import polars as pl

from . import audit
from .auth import User, require
from .db import Cursor, Database

ACTIONS = ("insert", "update", "delete")
Row = Mapping[str, Any] | str | None   # a row as a dict, or as JSON text; None: no row


class Tracker:
    """The keys one `Action.track` block watches; `add` keys of rows the block inserts whose
    keys were not known before it (e.g. from `RETURNING id`)."""

    def __init__(self, keys: Iterable[object]) -> None:
        self.keys: list[str] = _unique(keys)
        self.added: list[str] = []

    def add(self, keys: Iterable[object]) -> None:
        self.added += [k for k in _unique(keys) if k not in self.keys and k not in self.added]


class Action:
    """One user action inside its transaction (made by `action`, not directly)."""

    def __init__(self, cur: Cursor, user: User, kind: str, description: str,
                 reverts: int | None = None) -> None:
        self.cur = cur
        self.user = user
        self.kind = kind
        self.description = description
        self.reverts = reverts
        self.batch_id: int | None = None

    def batch(self) -> int:
        """The batch id, creating the batch now (for rows that must name their batch)."""
        if self.batch_id is None:
            self.batch_id = audit.new_batch(self.cur, self.user, self.kind, self.description,
                                            reverts=self.reverts)
        return self.batch_id

    def describe(self, text: str) -> None:
        """Set the batch description (before or after the first record)."""
        self.description = text
        if self.batch_id is not None:
            self.cur.execute("UPDATE audit_batches SET description = ? WHERE id = ?", [text, self.batch_id])

    def record(self, table: str, key: object, action: str, before: Row, after: Row) -> None:
        """Record one row's change: action insert/update/delete, the rows before and after."""
        if action not in ACTIONS:
            raise ValueError(f"audit action must be one of {ACTIONS}: {action!r}")
        audit.record(self.cur, self.batch(), self.user, table, key, action, before, after)

    def record_many(self, table: str, entries: pl.DataFrame) -> None:
        """Record many changes at once. entries: row_key (str), action, before, after (JSON
        text or null). An empty frame records nothing (and creates no batch)."""
        if entries.height == 0:
            return
        audit.record_many(self.cur, self.batch(), self.user, table, entries)

    def record_inserted(self, table: str, key: str, keys_view: str) -> None:
        """Record the rows of `table` just inserted whose `key` is in the registered frame
        `keys_view(k)` (see audit.record_inserted: in SQL, the rows never come into Python)."""
        audit.record_inserted(self.cur, self.batch(), self.user, table, key, keys_view)

    @contextmanager
    def track(self, table: str, keys: Iterable[object], *, key: str | None = None) -> Iterator[Tracker]:
        """Read the rows of `table` with these keys now and again when the block ends, and
        record each difference (insert, update or delete). `key`: the key column (default:
        the one the table was registered with)."""
        column = key or audit.key_column(table)
        tracker = Tracker(keys)
        before = audit.rows_json(self.cur, table, column, tracker.keys)
        yield tracker
        watched = tracker.keys + tracker.added
        after = audit.rows_json(self.cur, table, column, watched)
        rows = [(k, before.get(k), after.get(k)) for k in watched]
        changed = [(k, b, a) for k, b, a in rows if b != a]
        self.record_many(table, pl.DataFrame(
            {"row_key": [k for k, _, _ in changed],
             "action": ["insert" if b is None else "delete" if a is None else "update" for _, b, a in changed],
             "before": [b for _, b, _ in changed], "after": [a for _, _, a in changed]},
            schema={"row_key": pl.String, "action": pl.String, "before": pl.String, "after": pl.String}))


@contextmanager
def action(db: Database, user: User | None, perm: str, kind: str, description: str, *,
           invalidates_cache: bool = True, reverts: int | None = None) -> Iterator[Action]:
    """Check `perm`, open the one transaction of this action and yield its `Action`.
    `kind`: a short code of what was done (audit_batches.kind); `description`: Chinese, shown
    in 操作记录; `reverts`: the batch this action undoes (audit only)."""
    require(user, perm)
    assert user is not None  # require refused None
    with db.write(invalidates_cache=invalidates_cache) as cur:
        yield Action(cur, user, kind, description, reverts)


@contextmanager
def bookkeeping(db: Database, *, invalidates_cache: bool = True) -> Iterator[Cursor]:
    """One transaction that is no user's action and is not audited: login counters, app
    settings (app_meta), backup times, the demo build. `invalidates_cache=False` when no cached
    page read shows what it writes."""
    with db.write(invalidates_cache=invalidates_cache) as cur:
        yield cur


def _unique(keys: Iterable[object]) -> list[str]:
    return list(dict.fromkeys(str(k) for k in keys))
