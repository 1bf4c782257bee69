"""app.Core opens the profile's store on first use (a staged start opens it after the first paint, whose rows
are read from the file without it): once, whichever thread asks first, and a store that cannot be opened
says so every time it is asked, leaving the file as it was."""

from __future__ import annotations

import threading

import pytest

from socialdesk import paths
from socialdesk.app import build_core
from socialdesk.core.store import StoreTooNewError
from tests.unit.test_store import write_too_new_database


def test_a_staged_core_opens_nothing_until_asked_then_opens_once_for_every_thread():
    profile = paths.profile("default")
    core = build_core(profile, staged=True)
    try:
        assert not profile.database.exists()  # nothing read, nothing created before the first use
        stores: list[object] = []
        start = threading.Barrier(4)

        def ask() -> None:
            start.wait(timeout=10)
            stores.append(core.store)

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(stores) == 4 and all(store is stores[0] for store in stores)
        assert profile.database.exists() and core.settings.store is stores[0] and core.policy() is core.policy()
    finally:
        core.close()


def test_a_store_that_cannot_be_opened_is_refused_each_time_and_left_alone():
    profile = paths.profile("default").ensure()
    before = write_too_new_database(profile.database, table="account")
    core = build_core(profile, staged=True)  # the window's start: nothing is opened yet, nothing fails yet
    for _ in range(2):
        with pytest.raises(StoreTooNewError):
            core.open()
    core.close()  # nothing was opened: nothing to close, and no error
    assert profile.database.read_bytes() == before
