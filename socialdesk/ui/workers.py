"""The one background-task helper: run work off the GUI thread, deliver results on it.

Decisions (Anki's TaskManager, qutebrowser's lessons about deleted widgets):
- `Tasks.run(fn, on_done, on_error)` runs `fn` on a QThreadPool. The result comes back through a queued
  signal to a @Slot on this GUI-thread object, which then calls `on_done`. Callbacks are held weakly
  (WeakMethod): if the widget that asked is gone, the result is dropped, never delivered to a corpse.
- Results are keyed by whatever the caller captured (conversation ids), never by row numbers.
- Exceptions in the task are delivered to `on_error` (or logged); they never reach the event loop.
- `prepare` runs on the worker before every job (app.py: `Core.open`, so a job finds the store open
  even when it runs before a staged start opened it after the first paint); its error is the job's.
  A job that needs nothing of it says so (`run(..., prepare=False)`: the window's first screen, read
  from the file before the store opens).
- `ChangeRelay` turns the profile's ChangeBus (core/changes.py: the sync engine's changes and the
  owner's actions alike, published on any thread) into one batched GUI-thread signal: 150 ms after a
  change, but while changes keep coming (a sync burst) no sooner than 500 ms after the last signal. Every
  signal costs a reload of the view (its order and counts on a worker, ~60 ms of CPU on a 20,000-thread
  profile, then the new order and a repaint on the GUI thread); at 150 ms a burst of 10,000 ingested items
  was about 14 of them, and on two cores they took the CPU the GUI thread and the ingest needed.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from socialdesk.core.changes import ChangeSet
from socialdesk.ui.qtcompat import emit

log = logging.getLogger(__name__)


def _weak(callback: Callable | None):
    if callback is None:
        return None
    if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
        return weakref.WeakMethod(callback)
    return lambda: callback


class _Signals(QObject):
    done = Signal(int, bool, object)  # token, ok, result or exception


class Tasks(QObject):
    """Run callables in the background; deliver results on the GUI thread.

    The pool is a ThreadPoolExecutor rather than QThreadPool: its threads are long-lived Python
    threads, so thread-local state (peewee keeps one SQLite connection per thread, with its page cache)
    survives between jobs. QThreadPool jobs each got a fresh Python thread state, which opened a new
    connection for every background query and leaked file handles and memory.
    """

    def __init__(self, parent: QObject | None = None, max_threads: int = 4,
                 prepare: Callable[[], object] | None = None):
        super().__init__(parent)
        self.prepare = prepare
        self.pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="ui-task")
        self._signals = _Signals()
        self._signals.done.connect(self._deliver)
        self._pending: dict[int, tuple] = {}
        self._futures: set[Future] = set()
        self._tokens = itertools.count(1)
        self._closed = False

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        *,
        prepare: bool = True,
    ) -> int:
        """Run `fn` on a worker, after `prepare` unless told not to; its result goes to `on_done`, its
        exception to `on_error` (GUI thread). After `shutdown` (the app is closing) nothing runs: returns 0."""
        if self._closed:
            log.debug("not running %r: the task pool is shut down", fn)
            return 0
        token = next(self._tokens)
        self._pending[token] = (_weak(on_done), _weak(on_error))
        future = self.pool.submit(self._job, token, fn, prepare)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        return token

    def _job(self, token: int, fn: Callable[[], Any], prepare: bool) -> None:
        try:
            if prepare and self.prepare is not None:
                self.prepare()
            result = fn()
        except Exception as exc:  # delivered to on_error on the GUI thread
            log.debug("background task failed", exc_info=True)
            emit(self._signals.done, token, False, exc)
            return
        emit(self._signals.done, token, True, result)

    @Slot(int, bool, object)
    def _deliver(self, token: int, ok: bool, payload: object) -> None:
        refs = self._pending.pop(token, None)
        if refs is None:
            return
        ref = refs[0] if ok else refs[1]
        callback = ref() if ref is not None else None
        if callback is None:
            if not ok:
                log.error("background task failed: %s", payload)
            return
        try:
            callback(payload)
        except RuntimeError as exc:  # "wrapped C/C++ object has been deleted": the widget left
            log.debug("dropping a result for a deleted widget: %s", exc)

    def pending(self) -> int:
        return len(self._pending)

    def wait(self, msecs: int = 5000) -> bool:
        """Wait until queued jobs have run (their results are delivered by the event loop)."""
        _done, not_done = futures_wait(list(self._futures), timeout=msecs / 1000)
        return not not_done

    def shutdown(self) -> None:
        # Events still queued (a selection that changes as the window goes) may ask for work after this.
        self._closed = True
        self.pool.shutdown(wait=True, cancel_futures=True)


class ChangeRelay(QObject):
    """Collects ChangeSets from any thread; emits `changed` on the GUI thread, batched."""

    changed = Signal(object)
    _arrived = Signal()

    def __init__(self, parent: QObject | None = None, interval_ms: int = 150, burst_interval_ms: int = 500,
                 monotonic: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._batch = ChangeSet()
        self._interval_ms = interval_ms
        self._burst_interval_ms = burst_interval_ms
        self._monotonic = monotonic
        self._last_flush: float | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._flush)
        self._arrived.connect(self._schedule)

    def push(self, change: ChangeSet) -> None:
        """Thread-safe: called by the sync engine on its threads."""
        with self._lock:
            self._batch.merge(change)
        emit(self._arrived)

    @Slot()
    def _schedule(self) -> None:
        if self._timer.isActive():
            return
        wait = self._interval_ms
        if self._last_flush is not None:
            # Not sooner than burst_interval after the last signal: a lone change still goes in 150 ms.
            since = (self._monotonic() - self._last_flush) * 1000
            wait = max(wait, round(self._burst_interval_ms - since))
        self._timer.start(wait)

    @Slot()
    def _flush(self) -> None:
        with self._lock:
            batch, self._batch = self._batch, ChangeSet()
        if batch:
            self._last_flush = self._monotonic()
            emit(self.changed, batch)
