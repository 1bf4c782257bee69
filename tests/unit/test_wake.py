"""Waking up (issue 18 item 4): the sleep is told from the clocks (core/wake.py) with injected clocks, and
the engine catches up at once: a fetch now, fresh connectors, the wake hooks, a ChangeSet(woke=True)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from socialdesk.connectors.base import OutboundResult
from socialdesk.core import queue
from socialdesk.core.changes import ChangeSet
from socialdesk.core.clock import ManualClock
from socialdesk.core.settings import Settings
from socialdesk.core.states import AccountState
from socialdesk.core.store import Account
from socialdesk.core.sync import SyncEngine
from socialdesk.core.wake import SleepDetector, Slept
from tests.fakes import wait_until

T0 = datetime(2026, 3, 6, 15, 0, tzinfo=timezone.utc)


class Mono:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def test_suspend_shows_as_wall_time_without_monotonic_time():
    clock, mono = ManualClock(T0), Mono()
    detector = SleepDetector(clock.now, mono)
    assert detector.check() is None  # nothing to compare with yet
    clock.advance(seconds=0.5)
    mono.value += 0.5
    assert detector.check() is None  # a normal pass
    clock.advance(seconds=50)  # a busy machine: 50 s behind is no sleep
    assert detector.check() is None
    before = clock.now()
    clock.advance(hours=62)  # Friday 15:00 to Monday 05:00 with the lid closed; monotonic stood still
    mono.value += 0.5
    slept = detector.check()
    assert slept == Slept(before, clock.now()) and slept.duration == timedelta(hours=62)
    clock.advance(seconds=0.5)
    mono.value += 0.5
    assert detector.check() is None  # reported once


def test_a_long_gap_between_checks_is_a_sleep_where_monotonic_time_runs_on():
    clock, mono = ManualClock(T0), Mono()
    detector = SleepDetector(clock.now, mono)
    detector.check()
    clock.advance(hours=8)
    mono.value += 8 * 3600  # Windows: QueryPerformanceCounter counted the sleep too
    assert detector.check() == Slept(T0, T0 + timedelta(hours=8))


def test_a_wall_clock_set_back_is_no_sleep():
    clock, mono = ManualClock(T0), Mono()
    detector = SleepDetector(clock.now, mono)
    detector.check()
    clock.advance(hours=-2)
    assert detector.check() is None
    clock.advance(seconds=1)
    mono.value += 1
    assert detector.check() is None


class Counting:
    kind = "demo"
    capabilities = frozenset({"dm"})

    def __init__(self, builds: list) -> None:
        builds.append(self)
        self.fetches = 0

    def fetch(self, cursor):
        self.fetches += 1
        return [], dict(cursor or {})

    def reply(self, target, text, *, idempotency_key):
        return OutboundResult("x")

    def post_status(self, text, *, idempotency_key):
        return OutboundResult("x")

    def close(self) -> None:
        pass


def test_the_engine_catches_up_at_once_after_an_injected_clock_jump(store):
    settings = Settings(store)
    clock, mono = ManualClock(T0), Mono()
    with store.write():
        account = Account.create(kind="demo", name="tg", settings={"channel": "telegram", "poll_seconds": 3600},
                                 created_at=T0)
    builds: list[Counting] = []
    woke = threading.Event()
    changes: list[ChangeSet] = []

    def on_change(change: ChangeSet) -> None:
        changes.append(change)
        if change.woke:
            woke.set()

    engine = SyncEngine(store, lambda a: Counting(builds), clock, lambda: queue.Policy.load(settings),
                        on_change=on_change, monotonic=mono)
    hooked: list[tuple[datetime, datetime]] = []
    engine.wake_hooks.append(lambda since, now: hooked.append((since, now)) or set())
    engine.start()
    try:
        # The first fetch; then the account waits an hour (poll_seconds) before the next one.
        assert wait_until(timeout=30, predicate=lambda: builds and builds[0].fetches >= 1 and Account.get_by_id(account.id).state == AccountState.OK)
        assert Account.get_by_id(account.id).next_sync_at == T0 + timedelta(hours=1)
        clock.advance(hours=14)  # the lid was closed all night: the monotonic clock did not move
        assert woke.wait(30), "the wake-up was not noticed"
        # A fresh connector fetches at once, without waiting out the poll interval.
        assert wait_until(timeout=30, predicate=lambda: len(builds) >= 2 and builds[-1].fetches >= 1)
        assert hooked and hooked[0][1] == T0 + timedelta(hours=14) and hooked[0][0] <= T0 + timedelta(seconds=1)
        assert [c for c in changes if c.woke]  # the window is told every countdown is stale
    finally:
        engine.stop()
