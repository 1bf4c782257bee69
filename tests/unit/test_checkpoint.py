"""WAL checkpoints run on the store's background thread, not inside a write's COMMIT."""

from __future__ import annotations

import sqlite3
import time

from socialdesk.core.store import Store


def _wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _in_database_file(path, key: str) -> bool:
    """Whether a setting is in the database file itself, ignoring the WAL (immutable=1 reads only the
    main file): true once a checkpoint copied the write there."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM setting WHERE key = ?", (key,)).fetchone()[0] == 1
    except sqlite3.OperationalError:  # not even the tables are in the file yet
        return False
    finally:
        conn.close()


def test_writes_are_checkpointed_in_the_background(tmp_path):
    path = tmp_path / "db.sqlite3"
    store = Store.open(path)
    try:
        # The writer only checkpoints itself past ~64 MB of WAL (far more than these writes make), so
        # whatever reaches the database file got there through the background thread.
        assert store.db.execute_sql("PRAGMA wal_autocheckpoint").fetchone()[0] == 16_000
        for n in range(50):
            store.set_setting(f"key{n}", "x" * 2000)
        assert _wait_until(lambda: _in_database_file(path, "key49"))
        assert store.checkpointer.completed >= 1
    finally:
        store.close()


def test_opening_and_reading_starts_no_thread(tmp_path):
    path = tmp_path / "db.sqlite3"
    Store.open(path).close()  # create the file
    store = Store.open(path)
    try:
        assert store.get_setting("missing") is None
        assert store.checkpointer._thread is None
    finally:
        store.close()


def test_close_stops_the_thread_and_leaves_no_wal(tmp_path):
    path = tmp_path / "db.sqlite3"
    store = Store.open(path)
    store.set_setting("a", 1)
    thread = store.checkpointer._thread
    assert thread is not None and thread.is_alive()
    store.close()
    assert not thread.is_alive()
    # The store's connection closed last, so SQLite checkpointed and removed the WAL.
    assert not (tmp_path / "db.sqlite3-wal").exists()
    reopened = Store.open(path)
    try:
        assert reopened.get_setting("a") == 1
    finally:
        reopened.close()
