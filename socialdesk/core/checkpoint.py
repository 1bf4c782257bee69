"""WAL checkpoints on a background thread, so no write waits for one.

Decisions:
- SQLite's automatic checkpoint runs inside the COMMIT of whichever write crosses its threshold: that
  write (a sync burst, or the owner pressing Send) waits while the WAL is copied into the database and
  the file is fsynced: 37 ms in a 10,000-item burst on this machine's disk, far more on a slow laptop
  disk. The Checkpointer runs PASSIVE checkpoints on its own connection instead. PASSIVE never blocks
  or waits for writers and readers; the writer goes on appending while pages are copied.
- It runs while writes happen, at most every `interval` seconds (Store.write wakes it), and is started
  by the first write, so read-only commands never start a thread.
- The writer's own automatic checkpoint stays on as a backstop at a higher threshold, for when this
  thread falls behind or is stopped.
- A failed checkpoint (busy, disk full) is logged and retried on the next write; the backstop covers
  it, and the WAL keeps every committed transaction either way.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class Checkpointer:
    def __init__(self, path: Path, interval: float = 0.25):
        self._path = str(path)
        self._interval = interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.completed = 0  # checkpoints run (read by tests and benchmarks)

    def notify(self) -> None:
        """A write committed: checkpoint soon."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._stopping.is_set():
                    self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
                    self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and close its connection (before the store's own, which then checkpoints
        and removes the WAL as the last connection)."""
        with self._start_lock:
            self._stopping.set()
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            log.warning("background checkpoints disabled: %s", exc)
            return
        try:
            conn.execute("PRAGMA busy_timeout = 1000")
            while True:
                self._wake.wait()
                if self._stopping.is_set():
                    return
                self._wake.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.completed += 1
                except sqlite3.Error as exc:
                    log.info("WAL checkpoint postponed: %s", exc)
                if self._stopping.wait(self._interval):
                    return
        finally:
            conn.close()
