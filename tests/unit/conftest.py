"""Fixtures shared by the unit tests of core services."""

from __future__ import annotations

import pytest

from socialdesk.core.changes import ChangeSet


@pytest.fixture
def published(core) -> list[ChangeSet]:
    """Every ChangeSet the test module's `core` publishes, in order."""
    got: list[ChangeSet] = []
    core.changes.subscribe(got.append)
    return got
