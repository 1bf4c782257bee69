"""connectors/comment_memory.py: new, edited, deleted and forgotten comments, and the bound on the cursor."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from socialdesk.connectors.comment_memory import CommentMemory

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def test_new_then_unchanged_then_edited():
    memory = CommentMemory(None, NOW)
    assert memory.take("1", "post", "hello", NOW - timedelta(hours=1)) == (True, None)
    later = CommentMemory(json.loads(json.dumps(memory.to_json())), NOW + timedelta(minutes=5))
    assert later.take("1", "post", "hello", NOW - timedelta(hours=1)) == (False, None)
    assert later.take("1", "post", "hello!", NOW - timedelta(hours=1)) == (True, NOW + timedelta(minutes=5))
    assert later.take("1", "post", "hello!", NOW - timedelta(hours=1)) == (False, None)


def test_history_older_than_the_followed_days_is_not_delivered():
    memory = CommentMemory(None, NOW)
    assert memory.take("old", "post", "x", NOW - timedelta(days=8)) == (False, None)
    assert not memory.follows("post")


def test_missing_from_a_complete_walk_is_deleted_once():
    memory = CommentMemory(None, NOW)
    memory.take("1", "a", "x", NOW - timedelta(minutes=3))
    memory.take("2", "a", "y", NOW - timedelta(minutes=2))
    memory.take("3", "b", "z", NOW - timedelta(minutes=1))
    assert memory.gone("a", {"1"}) == [("2", NOW - timedelta(minutes=2))]
    assert memory.gone("a", {"1"}) == [] and memory.follows("b")


def test_the_cursor_forgets_old_entries_and_keeps_at_most_the_newest():
    memory = CommentMemory(None, NOW, max_entries=3)
    for i in range(5):
        memory.take(str(i), "p", "t", NOW - timedelta(minutes=10 - i))
    assert list(memory.to_json()) == ["2", "3", "4"]
    later = CommentMemory(memory.to_json(), NOW + timedelta(days=7, minutes=5), max_entries=3)
    assert later.to_json() == {}
    assert CommentMemory({"x": "garbage", "y": [1, 2]}, NOW).entries == {}
