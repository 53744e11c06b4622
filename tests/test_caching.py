"""dangjian_core.caching.BoundedCache: least recently used leaves first, a key is computed once
however many threads ask at the same time, and a failed compute leaves nothing behind."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from dangjian_core.caching import BoundedCache

WAIT = 30  # seconds before a test gives up on a thread (a hang is a failure, not a timing)


def _until(cond: Callable[[], bool]) -> None:
    """Wait (without sleeping a fixed time) until another thread has reached a point."""
    done = threading.Event()
    for _ in range(WAIT * 1000):
        if cond():
            return
        done.wait(0.001)
    raise AssertionError("the other thread never got there")


def _thread(fn: Callable[[], object], out: dict[str, object], name: str) -> threading.Thread:
    def run() -> None:
        try:
            out[name] = fn()
        except Exception as exc:  # noqa: BLE001 — the test looks at it
            out[name] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_the_least_recently_used_leaves_first():
    c: BoundedCache[str, int] = BoundedCache(3)
    for i, k in enumerate("abc"):
        c.put(k, i)
    assert c.get("a") == 0  # a is now the most recent: b is next to leave
    c.put("d", 3)
    assert c.keys() == ["c", "a", "d"]
    assert "b" not in c and c.get("b") is None and c.get("b", -1) == -1
    assert c.get_or_compute("c", lambda: 99) == 2  # kept: not computed; c now the most recent
    c.put("e", 4)
    assert c.keys() == ["d", "c", "e"]
    assert len(c) == 3


def test_put_of_a_kept_key_replaces_it_and_makes_it_recent():
    c: BoundedCache[str, int] = BoundedCache(2)
    c.put("a", 1)
    c.put("b", 2)
    c.put("a", 10)
    c.put("c", 3)
    assert c.keys() == ["a", "c"] and c.get("a") == 10


def test_get_many_and_put_many():
    c: BoundedCache[int, str] = BoundedCache(3)
    c.put_many({1: "x", 2: "y", 3: "z"})
    assert c.get_many([3, 1, 7]) == {3: "z", 1: "x"}  # 7 absent; 3 then 1 touched
    c.put(4, "w")
    assert c.keys() == [3, 1, 4]


def test_compute_happens_once_per_key_and_keep_false_is_not_kept():
    c: BoundedCache[str, int] = BoundedCache(4)
    calls: list[str] = []

    def compute(k: str, v: int) -> Callable[[], int]:
        return lambda: calls.append(k) or v

    assert c.get_or_compute("a", compute("a", 1)) == 1
    assert c.get_or_compute("a", compute("a", 2)) == 1
    assert c.get_or_compute("b", compute("b", -1), keep=lambda v: v >= 0) == -1
    assert "b" not in c
    assert c.get_or_compute("b", compute("b", 5), keep=lambda v: v >= 0) == 5
    assert calls == ["a", "b", "b"]


def test_two_threads_asking_the_same_key_compute_it_once():
    c: BoundedCache[str, object] = BoundedCache(4)
    release = threading.Event()
    calls = []
    value = object()

    def slow() -> object:
        calls.append(1)
        assert release.wait(WAIT)
        return value

    out: dict[str, object] = {}
    first = _thread(lambda: c.get_or_compute("k", slow), out, "first")
    _until(lambda: len(calls) == 1)
    second = _thread(lambda: c.get_or_compute("k", slow), out, "second")
    _until(lambda: c.pending("k") == 2)  # the second is waiting for the first's compute
    release.set()
    first.join(WAIT)
    second.join(WAIT)
    assert out == {"first": value, "second": value}
    assert out["first"] is out["second"]
    assert calls == [1]
    assert c.pending("k") == 0


def test_different_keys_compute_at_the_same_time():
    c: BoundedCache[str, str] = BoundedCache(4)
    b_started = threading.Event()

    def a() -> str:  # finishes only once b's compute has started: a lock over all keys would hang
        assert b_started.wait(WAIT)
        return "A"

    def b() -> str:
        b_started.set()
        return "B"

    out: dict[str, object] = {}
    ta = _thread(lambda: c.get_or_compute("a", a), out, "a")
    _until(lambda: c.pending("a") == 1)
    tb = _thread(lambda: c.get_or_compute("b", b), out, "b")
    ta.join(WAIT)
    tb.join(WAIT)
    assert out == {"a": "A", "b": "B"}


def test_an_exception_does_not_poison_the_key():
    c: BoundedCache[str, int] = BoundedCache(4)

    def boom() -> int:
        raise RuntimeError("数据库暂时不可用")

    with pytest.raises(RuntimeError):
        c.get_or_compute("k", boom)
    assert "k" not in c and c.pending("k") == 0
    assert c.get_or_compute("k", lambda: 7) == 7


def test_a_waiter_computes_itself_when_the_compute_it_waited_for_fails():
    c: BoundedCache[str, int] = BoundedCache(4)
    release = threading.Event()
    started = threading.Event()

    def failing() -> int:
        started.set()
        assert release.wait(WAIT)
        raise RuntimeError("失败")

    out: dict[str, object] = {}
    first = _thread(lambda: c.get_or_compute("k", failing), out, "first")
    assert started.wait(WAIT)
    second = _thread(lambda: c.get_or_compute("k", lambda: 42), out, "second")
    _until(lambda: c.pending("k") == 2)
    release.set()
    first.join(WAIT)
    second.join(WAIT)
    assert isinstance(out["first"], RuntimeError)
    assert out["second"] == 42
    assert c.get("k") == 42


def test_a_bound_below_one_is_refused():
    with pytest.raises(ValueError):
        BoundedCache(0)
