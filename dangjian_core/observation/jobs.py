"""A click on 「生成安排」 answers at once; the full search finishes in the background (issue 17).

Why: the solver (`solver.solve`) spends its whole time budget (1.5 s) shortening routes by local
search; profiled on the city event (30 streets, 60 hosts, 2 days × 3 slots), phases A–C take
~6 ms and the travel search keeps finding shorter routes until the budget ends (and beyond:
0.1 s ≈ 630–740 km, 0.3 s ≈ 570–620, 1.5 s ≈ 510–535, 3 s ≈ 493). So the click solves a
*draft* (the same phases A–C, `DRAFT_LIMIT` of travel search: every hard constraint and
objectives 0–3 exactly as the full search from the same seed), shows it, and the full search
runs in a thread; the page polls `running(db, event)` and shows the stored plan when it lands.

Persistence (one honest audit entry per click, nothing half-written):
- The draft is shown, not stored. The final plan — the better of the full search and the draft
  — is stored once, by the thread, as the clicking user's action (「生成观摩安排「…」」, one
  batch; the permission was checked at the click and again by `uow.action`).
- It is stored only when nothing it rests on changed meanwhile: the event's stored plan is the
  one the click saw and the event's problem (settings, hosts, orgs, previous round) is the same
  — else the job ends "superseded" and writes nothing (the later change stands). A newer solve
  of the same event with another input supersedes an older job.
- Another click (or any rerun) with the same input while the search runs joins that job: the
  search never runs twice for one input. Once stored, the plan is kept by input
  (`store.remember`), so asking again gives it at once.
- The user may leave the page: the thread stores the plan all the same. If the server stops in
  the ~2 s before it lands, nothing was written: the previous plan (or none) stands and one
  more click solves again.
- A viewer never starts a job (`store.solve_input` checks the permission); the page shows any
  running job's draft read-only to everyone who opens the event.

Small problems (`solver.is_small`) are solved in one go as before (their exact pass settles
them), and a plan already found for the input is stored at once: the job is then finished
when `start_solve` returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from ..auth import User
from ..db import Database
from ..errors import DangjianError
from .model import Plan, Problem, Visit
from .rules import plan_cost
from .solver import is_small, solve

DRAFT_LIMIT = 0.1  # seconds of travel search for the draft the click shows
START_DELAY = 0.3  # the page's own run first: a search thread shares the interpreter lock with it

_LOCK = threading.Lock()
_RUNNING: dict[tuple[str, int], SolveJob] = {}  # (database file, event id) → its current job


class SolveJob:
    """One solve of one event. `state`: "running" (draft shown, search under way), then
    "stored" / "unchanged" (the final plan is the stored one), "superseded" (not stored: the
    event changed meanwhile) or "failed" (`message` says why). `draft` is the plan shown while
    running; `plan` the final one."""

    def __init__(self, db: Database, user: User, event_id: int, P: Problem, locked: list[Visit],
                 seed: int, key: tuple[Any, ...], since: tuple[list[Visit], set[Visit]], draft: Plan,
                 time_limit: float | None = None) -> None:
        self.db, self.user, self.event_id, self.P, self.locked, self.seed = db, user, event_id, P, locked, seed
        self.time_limit = time_limit
        self.key, self.since = key, since
        self.draft = draft
        self.plan: Plan | None = None
        self.state = "running"
        self.message = ""
        self.started = time.monotonic()
        self._done = threading.Event()

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    @property
    def summary(self) -> dict[str, Any]:
        """The summary of the final plan when there is one, else of the draft."""
        return (self.plan or self.draft).summary

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def run(self) -> None:
        """The full search, then store its plan (see the module docstring). Never raises: the
        outcome is in `state` and `message`."""
        from . import store

        try:
            plan = solve(self.P, self.locked, seed=self.seed, time_limit=self.time_limit)
            if plan_cost(self.P, self.draft.visits) < plan_cost(self.P, plan.visits):
                plan = self.draft  # never worse than what the page showed
            self.plan = plan
            with _LOCK:
                current = _RUNNING.get(_slot(self.db, self.event_id)) is self
            if not current:
                self._finish("superseded", "这次求解期间又生成了一次安排，以后一次为准，这次的结果没有保存。")
                return
            outcome = store.land_plan(self.db, self.user, self.event_id, self.P, self.locked, plan, since=self.since)
            store.remember(self.key, plan)
            if outcome == "superseded":
                self._finish(outcome, "求解期间该观摩活动的设置、观摩点或安排已被修改，这次求解的安排没有保存"
                                      "（以后来的修改为准）：如仍需要，请重新生成。")
            else:
                self._finish(outcome, "已生成安排。" + plan.summary["text"])
        except DangjianError as exc:
            self._finish("failed", f"没有保存安排：{exc}")
        except Exception:  # noqa: BLE001 — a thread has nobody to raise to: the page shows the message
            self._finish("failed", "没有保存安排：求解时系统内部出错，数据没有被修改。请把操作步骤告诉系统管理员。")

    def _finish(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        with _LOCK:
            if _RUNNING.get(_slot(self.db, self.event_id)) is self:
                del _RUNNING[_slot(self.db, self.event_id)]
        self._done.set()


def _slot(db: Database, event_id: int) -> tuple[str, int]:
    return (db.path, int(event_id))


def running(db: Database, event_id: int | str) -> SolveJob | None:
    """The job still searching for this event, if any (every user's page shows its draft)."""
    with _LOCK:
        job = _RUNNING.get(_slot(db, int(event_id)))
    return job if job is not None and not job.finished else None


def start_solve(db: Database, user: User, event_id: int | str, *, keep_locked: bool = True,
                locked: Iterable[Visit] | None = None, seed: int = 0,
                known: tuple[int, Problem] | None = None, time_limit: float | None = None,
                background: bool = True) -> SolveJob:
    """「生成安排」: a plan to show at once and the full search in the background (the module
    docstring). Raises as `store.solve_event` does when the input cannot be solved (Infeasible,
    BadInput, PermissionDenied) — those are found by the draft, before anything runs.
    `time_limit`: the full search's budget (default `solver.DEFAULT_TIME_LIMIT`).
    `background=False` leaves the search to the caller (`job.run()`; tests)."""
    from . import store

    P, keep = store.solve_input(db, user, event_id, keep_locked=keep_locked, locked=locked, known=known)
    eid = int(event_id)
    key = store.solve_key(P, keep, seed=seed, time_limit=time_limit)
    with _LOCK:
        job = _RUNNING.get(_slot(db, eid))
    if job is not None and job.key == key and not job.finished:
        return job  # the same input is being searched: join it
    since = store.stored_plan(db, eid)
    found = store.solved(key)
    if found is not None or is_small(P):  # at once: the plan found before, or a small problem in one go
        plan = found if found is not None else store.solve_once(P, keep, seed=seed, time_limit=time_limit)
        job = SolveJob(db, user, eid, P, keep, seed, key, since, plan, time_limit)
        job.plan = plan
        job._finish(store.land_plan(db, user, eid, P, keep, plan), "已生成安排。" + plan.summary["text"])
        return job
    draft = solve(P, keep, seed=seed, time_limit=DRAFT_LIMIT, draft=True)
    job = SolveJob(db, user, eid, P, keep, seed, key, since, draft, time_limit)
    with _LOCK:
        _RUNNING[_slot(db, eid)] = job  # an older job of this event (another input) is superseded
    if background:
        _start(job)
    return job


def _start(job: SolveJob) -> None:
    t = threading.Thread(target=_run_after_delay, args=(job,), daemon=True,  # a server stopping does not
                         name=f"观摩求解-{job.event_id}")                      # wait: nothing was written
    t.start()


def _run_after_delay(job: SolveJob) -> None:
    # A sleep, not threading.Timer: a Timer is a timed wait on a lock, and a timed wait never ends
    # when the process's clock is shifted (libfaketime, used to run the tests on another date).
    time.sleep(START_DELAY)
    job.run()
