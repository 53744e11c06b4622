"""One small bounded cache for values that are expensive to compute and shared by threads
(page runs, background prefetches): the most recently used `max_entries` values are kept,
the least recently used one leaves first.

`get_or_compute(key, compute)` computes a missing key once: a second caller asking for the
same key while it is being computed waits for that result instead of computing it again
(two reruns, two users, a page and its prefetch thread). Different keys compute at the same
time. A compute that raises stores nothing: the next caller (or one already waiting) computes
afresh, so a failure never sticks to its key.

Values are shared, not copied: callers must not change what they get (copy it if they must).
No streamlit here: the ui holds a cache in `st.cache_resource` when it needs one per server.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

@dataclass
class _KeyLock:
    """The lock a key's compute holds, and how many callers are computing or waiting for it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


class BoundedCache(Generic[K, V]):
    """A thread-safe least-recently-used cache of at most `max_entries` values."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()  # guards _data and _computing; never held while computing
        self._computing: dict[K, _KeyLock] = {}

    # -- reading and writing --------------------------------------------------------------
    def get(self, key: K, default: V | None = None) -> V | None:
        """The value kept for `key` (now the most recently used), else `default`."""
        with self._lock:
            if key not in self._data:
                return default
            return self._touch(key)

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The values kept for those of `keys` that are present (each now recently used)."""
        out: dict[K, V] = {}
        with self._lock:
            for k in keys:
                if k in self._data:
                    out[k] = self._touch(k)
        return out

    def put(self, key: K, value: V) -> None:
        """Keep `value` for `key` as the most recently used; the oldest leave beyond the bound."""
        with self._lock:
            self._store(key, value)

    def put_many(self, items: Mapping[K, V]) -> None:
        with self._lock:
            for k, v in items.items():
                self._store(k, v)

    def get_or_compute(self, key: K, compute: Callable[[], V], *,
                       keep: Callable[[V], bool] | None = None) -> V:
        """The value for `key`, computed by `compute()` only when no value is kept and no other
        caller is computing it (then this one waits for theirs). `keep(value)` False: the value
        is returned but not kept (e.g. an answer that is cheap to give again)."""
        with self._lock:
            if key in self._data:
                return self._touch(key)
            entry = self._computing.get(key)
            if entry is None:
                entry = self._computing[key] = _KeyLock()
            entry.users += 1
        try:
            with entry.lock:
                with self._lock:  # computed by the caller we waited for?
                    if key in self._data:
                        return self._touch(key)
                value = compute()
                if keep is None or keep(value):
                    with self._lock:
                        self._store(key, value)
                return value
        finally:
            with self._lock:
                entry.users -= 1
                if entry.users == 0:
                    del self._computing[key]

    def discard(self, key: K) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    # -- looking at it -------------------------------------------------------------------
    def keys(self) -> list[K]:
        """The keys kept, least recently used first (the next to leave)."""
        with self._lock:
            return list(self._data)

    def pending(self, key: K) -> int:
        """How many callers are computing `key` or waiting for its compute (0: none)."""
        with self._lock:
            entry = self._computing.get(key)
            return 0 if entry is None else entry.users

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    # -- under self._lock -------------------------------------------------------------------
    def _touch(self, key: K) -> V:
        """The value of a key that is present, now the most recently used."""
        self._data.move_to_end(key)
        return self._data[key]

    def _store(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)
