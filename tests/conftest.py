"""Shared test set-up: offscreen Qt, a fresh SOCIALDESK_HOME per test, an in-memory keyring.

The keyring is chosen the way `keyring` provides (tests/keyring_backends.py): `keyring.set_keyring`
in this process; subprocesses get their own backend through `PYTHON_KEYRING_BACKEND`, so a variable
left in the environment by the caller is dropped here.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for _name in ("PYTHON_KEYRING_BACKEND", "KEYRING_PROPERTY_FILE_PATH"):
    os.environ.pop(_name, None)

import keyring  # noqa: E402
import pytest  # noqa: E402

from tests.keyring_backends import MemoryKeyring  # noqa: E402


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
