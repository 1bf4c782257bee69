"""Mastodon's scheduled statuses (issue 18 item 2) against the fake: scheduling, the 5-minute lead, the
limits of 25 a day and 300 in all with Mastodon's 422 texts, a past time publishing at once, listing
across pages, cancelling, and hostile list entries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors.base import MemorySecrets, PermanentError
from socialdesk.connectors.mastodon import MastodonConnector
from tests.fakes.mastodon import MastodonFake

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def fake():
    fake = MastodonFake()
    fake.now = lambda: NOW
    with fake.running():
        yield fake


@pytest.fixture
def mastodon(fake):
    connector = MastodonConnector({"instance": fake.url}, MemorySecrets({"token": "good-token"}), sleep=lambda s: None)
    yield connector
    connector.close()


def test_scheduled_post_is_held_by_the_server_with_our_key(fake, mastodon):
    at = NOW + timedelta(hours=8)
    post = mastodon.schedule_status("Signing off", at, idempotency_key="status:1:closing:x")
    assert (post.at, post.text, post.idempotency_key, post.published) == (at, "Signing off", "status:1:closing:x", False)
    assert fake.posted == [] and list(fake.scheduled) == [post.scheduled_id]
    # The same key again (a retry after a crash) is the same scheduled post, not a second one.
    again = mastodon.schedule_status("Signing off", at, idempotency_key="status:1:closing:x")
    assert again.scheduled_id == post.scheduled_id and len(fake.scheduled) == 1
    assert mastodon.list_scheduled() == [post]
    fake.now = lambda: at
    fake.publish_due()
    assert [p["text"] for p in fake.posted] == ["Signing off"] and fake.scheduled == {}


def test_less_than_five_minutes_ahead_is_refused_with_mastodons_reason(fake, mastodon):
    with pytest.raises(PermanentError, match="refused to schedule.*must be in the future"):
        mastodon.schedule_status("x", NOW + timedelta(minutes=4), idempotency_key="k1")
    assert fake.scheduled == {} and fake.posted == []


def test_a_time_already_past_is_published_at_once_and_says_so(fake, mastodon):
    post = mastodon.schedule_status("late", NOW - timedelta(minutes=1), idempotency_key="k2")
    assert post.published and [p["text"] for p in fake.posted] == ["late"]


def test_daily_and_total_limits(fake, mastodon):
    day = NOW + timedelta(days=1)
    for i in range(25):
        mastodon.schedule_status(f"p{i}", day + timedelta(minutes=i), idempotency_key=f"d{i}")
    with pytest.raises(PermanentError, match="limit of 25 scheduled posts for today"):
        mastodon.schedule_status("one more", day + timedelta(hours=3), idempotency_key="d25")
    mastodon.schedule_status("next day", day + timedelta(days=1), idempotency_key="n0")  # another UTC date
    for i in range(274):
        fake.scheduled[str(10_000 + i)] = {"id": str(10_000 + i), "scheduled_at": "2027-01-01T00:00:00.000Z",
                                           "params": {"text": "", "idempotency": None}, "media_attachments": []}
    with pytest.raises(PermanentError, match="limit of 300 scheduled posts"):
        mastodon.schedule_status("too many", day + timedelta(days=5), idempotency_key="t")
    assert len(mastodon.list_scheduled()) == 300  # eight pages of 40


def test_cancel_then_cancel_again(fake, mastodon):
    post = mastodon.schedule_status("x", NOW + timedelta(hours=1), idempotency_key="k3")
    assert mastodon.cancel_scheduled(post.scheduled_id) is True
    assert fake.scheduled == {}
    assert mastodon.cancel_scheduled(post.scheduled_id) is False  # 404: already gone
    assert mastodon.cancel_scheduled("../statuses/1") is False  # never into the URL path


def test_hostile_entries_in_the_list_are_skipped(fake, mastodon):
    good = mastodon.schedule_status("ok", NOW + timedelta(hours=2), idempotency_key="k4")
    fake.scheduled["1x"] = {"id": "1x/..", "scheduled_at": "2026-03-03T00:00:00Z", "params": {}}
    fake.scheduled["999999"] = {"id": "999999", "scheduled_at": "garbled", "params": None}
    fake.scheduled["999998"] = {"id": "999998", "scheduled_at": "2026-03-03T00:00:00Z", "params": "x"}
    listed = mastodon.list_scheduled()
    assert good in listed and [p.scheduled_id for p in listed] == ["999998", good.scheduled_id]
    assert listed[0].text == "" and listed[0].idempotency_key == ""
