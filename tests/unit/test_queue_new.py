"""What "new" means in the queue (issue 17 item 7): the customer wrote after the owner last opened the
conversation in the window and after our last reply; automatic replies do not count."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from socialdesk.core.queue import is_new

T = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
EARLIER, LATER = T - timedelta(minutes=5), T + timedelta(minutes=5)


def test_never_opened_and_never_answered_is_new():
    assert is_new(T, None, None)


def test_opened_after_the_message_is_not_new_and_a_later_message_makes_it_new_again():
    assert not is_new(T, LATER, None)
    assert not is_new(T, T, None)
    assert is_new(LATER, T, None)


def test_answered_after_the_message_is_not_new_even_if_never_opened_in_the_window():
    assert not is_new(T, None, LATER)
    assert is_new(LATER, EARLIER, T)


def test_no_customer_message_is_not_new():
    assert not is_new(None, None, None)
