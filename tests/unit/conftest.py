"""Fixtures shared by the unit tests of core services."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from socialdesk import paths
from socialdesk.core.changes import ChangeSet
from socialdesk.core.clock import ManualClock

CORE_NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def core():
    """A Core through the real composition root on the test's fresh profile, its clock standing at CORE_NOW
    until the test moves it (tests read it as `core.clock.now()`). A module that needs another start
    (hours, a clock elsewhere) defines its own `core`, which pytest uses instead."""
    from socialdesk.app import build_core  # the app's modules, only for the tests that ask for a core

    c = build_core(paths.profile("t"), clock=ManualClock(CORE_NOW))
    yield c
    c.close()


@pytest.fixture
def published(core) -> list[ChangeSet]:
    """Every ChangeSet the test's `core` publishes, in order."""
    got: list[ChangeSet] = []
    core.changes.subscribe(got.append)
    return got
