"""Window measurements, each in a fresh process: first paint and scrolling, GUI stall, leak check.

Run as `python -m benchmarks.gui_bench MODE HOME` with MODE first_paint | bare_table | stall | leak; prints one
JSON line.

Decisions:
- The window is built exactly as `app.run_gui` builds it (build_core + wire_window staged, then
  `app.start_window`) on the offscreen platform, minus the tray, the profile lock and the single-instance
  socket (none of which touch the queue). The second stage (page check, services, features) runs as in
  the app and its end is reported (`second_stage_done_s`); the sync engine is not started: first paint
  must not depend on the network.
- "First paint" is the first Paint event of the queue table's viewport after `first_rows_shown` with the
  top row's data cached, i.e. real rows on screen. Time is counted from process start: the parent passes
  its time.monotonic() (CLOCK_MONOTONIC, system-wide) just before spawning, so interpreter start-up and
  imports are included; the time from this module's first line is reported too.
- Scrolling moves the vertical scroll bar one page at a time to the end, each step waiting until the
  visible rows arrived from the lazy row loader, as a user dragging through the whole queue would.
- The GUI-stall probe is a 5 ms QTimer; the stall is the largest lateness of a timeout against its
  schedule, while a background thread ingests 10,000 items in batches of 500 through the engine's own
  `_ingest` (ingest hooks, automation included) and pushes each ChangeSet to the window's ChangeRelay,
  exactly as the engine's poll jobs do, and until the window has caught up with the last change.
- The leak check runs one hour of demo traffic in compressed time: a ManualClock advanced 10 s per
  step (360 steps), the 8 demo accounts polled with `engine.run_once()`, every ChangeSet delivered to
  `window.on_engine_change` and the window's background work awaited. RSS is sampled after a 15-minute
  warm-up and at the end; Python's live object count is reported beside it to tell a Python-level leak
  from allocator noise.
"""

from __future__ import annotations

import time

T0 = time.monotonic()

import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

from benchmarks import fixture, machine  # noqa: E402

SPAWN = float(os.environ.get("BENCH_SPAWN_MONOTONIC", T0))


def sqlite_handles() -> int:
    """Open file descriptors on the profile database, its WAL and shared memory (3 per connection)."""
    count = 0
    for fd in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        try:
            count += "socialdesk.sqlite3" in os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return count


def _app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


def _wait(app, predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.001)
    return True


def _window(home: Path, clock=None, staged: bool = False):
    os.environ["SOCIALDESK_HOME"] = str(home)
    # In the order `socialdesk` runs: the command line imports socialdesk.app (and the core under it), and
    # run_gui imports Qt. (The order matters: PySide6's import hook reads the source of every module
    # imported after it, ~0.25 ms each, for its `__feature__` switches.)
    from socialdesk import paths
    from socialdesk.app import build_core, wire_window
    app = _app()
    core = build_core(paths.profile(fixture.PROFILE_NAME), clock=clock, staged=staged)
    window, tasks, relay = wire_window(core, staged=staged)
    return app, core, window, tasks, relay


class _PaintWatch:
    """Records when the queue viewport first paints real rows."""

    def __init__(self, window):
        from PySide6.QtCore import QEvent, QObject

        watch = self

        class Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 (Qt override)
                if event.type() == QEvent.Type.Paint and watch.at is None and window.first_rows_shown:
                    model = window.model
                    if model.rowCount() and model.id_at(0) in model.cache:
                        watch.at = time.monotonic()
                return False

        self.at: float | None = None
        self.filter = Filter()
        window.table.viewport().installEventFilter(self.filter)


def first_paint(home: Path) -> dict:
    from socialdesk.app import start_window

    app, core, window, tasks, _relay = _window(home, staged=True)
    watch = _PaintWatch(window)
    # The second stage runs as in the app, but nothing syncs here: the engine, made on first use (after
    # the first paint, as in the app), is made without its start.
    services = core.services

    def services_without_sync():
        built = services()
        built.engine.start = lambda: None
        return built

    core.services = services_without_sync
    started: list[bool] = []
    start_window(core, window, tasks, on_started=lambda: started.append(True))
    painted = _wait(app, lambda: watch.at is not None, 30)
    result = {
        "painted": painted,
        "first_paint_s": round((watch.at or time.monotonic()) - SPAWN, 3),
        "first_paint_from_module_s": round((watch.at or time.monotonic()) - T0, 3),
        "rows": window.model.rowCount(),
        "rss_at_first_paint_mb": machine.rss_mb(),
        "peak_rss_at_first_paint_mb": machine.peak_rss_mb(),
    }
    result["second_stage_done"] = _wait(app, lambda: bool(started), 30)
    result["second_stage_done_s"] = round(time.monotonic() - SPAWN, 3)
    bar = window.table.verticalScrollBar()
    started_at = time.monotonic()
    steps = 0
    complete = True
    while True:
        top = window.table.rowAt(0)
        bottom = window.table.rowAt(window.table.viewport().height() - 1)
        bottom = window.model.rowCount() - 1 if bottom < 0 else bottom
        visible = [window.model.id_at(r) for r in range(max(top, 0), bottom + 1)]
        complete &= _wait(app, lambda visible=visible: all(i in window.model.cache for i in visible), 10)
        if bar.value() >= bar.maximum():
            break
        bar.setValue(bar.value() + bar.pageStep())
        app.processEvents()
        steps += 1
    result.update(
        scroll_steps=steps,
        scroll_s=round(time.monotonic() - started_at, 2),
        scroll_complete=complete,
        cached_rows_after_scroll=len(window.model.cache),
        rss_after_scroll_mb=machine.rss_mb(),
        sqlite_fds_after_scroll=sqlite_handles(),
        peak_rss_after_scroll_mb=machine.peak_rss_mb(),
    )
    tasks.wait(5000)
    core.close()
    return result


class _Probe:
    """A 5 ms timer measuring how late the GUI thread runs it (the event loop's latency)."""

    def __init__(self, interval_ms: int = 5):
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000
        self.max_late = 0.0
        self.samples = 0
        self.last = time.monotonic()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.fire)

    def start(self) -> None:
        self.last = time.monotonic()
        self.timer.start()

    def fire(self) -> None:
        now = time.monotonic()
        self.max_late = max(self.max_late, now - self.last - self.interval)
        self.samples += 1
        self.last = now


def stall(home: Path) -> dict:
    from datetime import datetime, timezone

    from socialdesk.core.store import Account

    app, core, window, tasks, relay = _window(home)
    window.show()
    window.start()
    _wait(app, lambda: window.first_rows_shown, 30)
    tasks.wait(5000)
    app.processEvents()
    accounts = [a.id for a in Account.select().order_by(Account.id)]
    batches = fixture.new_items(10_000, datetime.now(timezone.utc), seed=11, existing_conversations=20_000)
    done = threading.Event()
    timings: dict = {}

    def sync():
        started = time.monotonic()
        for acc, items in enumerate(batches):
            for start in range(0, len(items), 500):
                change = core.engine._ingest(accounts[acc], items[start : start + 500], {"bench": start})
                core.engine._emit(change)
        timings["ingest_s"] = time.monotonic() - started
        done.set()

    probe = _Probe()
    probe.start()
    thread = threading.Thread(target=sync, name="bench-sync")
    thread.start()
    _wait(app, done.is_set, 600)
    thread.join()
    # Let the relay's last batch land and the window's reload and row fetches finish.
    settle_until = time.monotonic() + 1.0
    _wait(app, lambda: time.monotonic() > settle_until and tasks.pending() == 0, 60)
    probe.timer.stop()
    result = {
        "max_stall_ms": round(probe.max_late * 1000, 1),
        "probe_samples": probe.samples,
        "background_ingest_s": round(timings["ingest_s"], 2),
        "rows_after": window.model.rowCount(),
    }
    tasks.wait(5000)
    core.close()
    return result


def leak(home: Path) -> dict:
    from datetime import datetime, timedelta, timezone

    from socialdesk.connectors.demo import DemoConnector
    from socialdesk.core.clock import ManualClock

    clock = ManualClock(datetime.now(timezone.utc).replace(microsecond=0))
    app, core, window, tasks, _relay = _window(home, clock=clock)
    core.engine.make_connector = lambda account: DemoConnector(dict(account.settings or {}), now=clock.now)
    window.show()
    window.start()
    _wait(app, lambda: window.first_rows_shown, 30)
    step_s, steps, warmup_steps = 10, 360, 90
    samples = []
    warm_rss = warm_objects = None
    started = time.monotonic()
    for step in range(steps):
        clock.advance(seconds=step_s)
        change = core.engine.run_once()
        if change:
            window.on_engine_change(change)
        if step % 3 == 0:
            window.on_minute_tick()  # countdown refresh + alerts every 30 simulated seconds
        _wait(app, lambda: tasks.pending() == 0, 30)
        app.processEvents()
        if step + 1 == warmup_steps:
            gc.collect()
            warm_rss, warm_objects = machine.rss_mb(), len(gc.get_objects())
        if (step + 1) % 30 == 0:
            samples.append({"minute": (step + 1) * step_s // 60, "rss_mb": machine.rss_mb(),
                            "sqlite_fds": sqlite_handles()})
    gc.collect()
    end_rss, end_objects = machine.rss_mb(), len(gc.get_objects())
    result = {
        "simulated_minutes": steps * step_s // 60,
        "warmup_minutes": warmup_steps * step_s // 60,
        "wall_s": round(time.monotonic() - started, 1),
        "rss_after_warmup_mb": warm_rss,
        "rss_end_mb": end_rss,
        "growth_mb": round(end_rss - warm_rss, 1),
        "python_objects_after_warmup": warm_objects,
        "python_objects_end": end_objects,
        "messages_ingested": core.store.db.execute_sql(
            "SELECT count(*) FROM message WHERE created_at > ?",
            (int((clock.now() - timedelta(seconds=steps * step_s + 60)).timestamp() * 1_000_000),),
        ).fetchone()[0],
        "rss_samples": samples,
    }
    tasks.wait(5000)
    core.close()
    return result


def bare_table(home: Path) -> dict:
    """The reference for first paint (issue 17.15): PySide6 and sqlite3 alone, no socialdesk import,
    showing the same 80 rows the window shows first (the awaiting view, most urgent first) from the
    same database file in a plain QTableWidget, timed from process start to its first painted row."""
    import sqlite3

    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

    app = _app()
    database = next(home.rglob("socialdesk.sqlite3"))
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    rows = connection.execute(
        "SELECT contact_name, kind, preview, due_at, status FROM conversation c"
        " WHERE c.status = 'open' AND c.awaiting_since IS NOT NULL"
        " ORDER BY (c.due_at IS NULL), c.due_at, c.unanswered_count DESC, c.id LIMIT 80"
    ).fetchall()
    table = QTableWidget(len(rows), 5)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem("" if value is None else str(value)))
    painted: list[float] = []

    class Filter(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt override)
            if event.type() == QEvent.Type.Paint and not painted:
                painted.append(time.monotonic())
            return False

    watch = Filter()
    table.viewport().installEventFilter(watch)
    table.resize(1280, 800)
    table.show()
    ok = _wait(app, lambda: bool(painted), 30)
    at = painted[0] if painted else time.monotonic()
    connection.close()
    return {"painted": ok, "rows": len(rows), "first_paint_s": round(at - SPAWN, 3),
            "peak_rss_at_first_paint_mb": machine.peak_rss_mb()}


MODES = {"first_paint": first_paint, "bare_table": bare_table, "stall": stall, "leak": leak}

if __name__ == "__main__":
    print(json.dumps(MODES[sys.argv[1]](Path(sys.argv[2]))), flush=True)
    # Leave without interpreter finalisation: the measurement is printed, and tearing down Qt objects
    # owned by worker threads adds nothing to it.
    os._exit(0)
