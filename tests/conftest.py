"""Shared test set-up: offscreen Qt, a fresh SOCIALDESK_HOME per test, an in-memory keyring."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("SOCIALDESK_TEST_KEYRING", None)

import keyring  # noqa: E402
import pytest  # noqa: E402

from socialdesk.testing_keyring import MemoryKeyring  # noqa: E402


@pytest.fixture(autouse=True)
def socialdesk_home(tmp_path, monkeypatch):
    home = tmp_path / "socialdesk-home"
    home.mkdir()
    monkeypatch.setenv("SOCIALDESK_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def store(tmp_path):
    from socialdesk.core.store import Store

    s = Store.open(tmp_path / "db.sqlite3")
    yield s
    s.close()
