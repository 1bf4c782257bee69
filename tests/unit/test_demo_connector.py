"""Tests for connectors/demo.py and connectors/registry.py: determinism, live cursor, replies, simulated failures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors import registry, traits
from socialdesk.connectors.base import (
    KINDS,
    AuthError,
    Connector,
    PermanentError,
    RateLimited,
    ReplyTarget,
    TransientError,
)
from socialdesk.connectors.demo import CHANNELS, OPENING, SPEC, DemoConnector
from socialdesk.core.clock import ManualClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("channel", CHANNELS)
def test_opening_scene_is_valid_and_deterministic(channel):
    clock = ManualClock(T0)
    demo = DemoConnector({"channel": channel}, None, now=clock.now)
    assert isinstance(demo, Connector)
    items, cursor = demo.fetch(None)
    again, _ = DemoConnector({"channel": channel}, None, now=clock.now).fetch(None)
    assert items == again
    assert len(items) == len(OPENING[channel])
    assert cursor == {"epoch": T0.isoformat(), "seq": 0, "after": T0.isoformat(), "people": {}}
    assert len({i.external_id for i in items}) == len(items)
    for i in items:
        assert i.kind in KINDS
        assert i.created_at.tzinfo is not None and i.created_at < T0
        assert i.author.external_id
        assert i.rating is None or 1 <= i.rating <= 5


def test_live_messages_follow_the_interval_and_cap():
    clock = ManualClock(T0)
    demo = DemoConnector({"channel": "bluesky", "interval_s": 10, "max_live": 7}, None, now=clock.now)
    _, cursor = demo.fetch(None)
    items, cursor = demo.fetch(cursor)
    assert items == [] and cursor["seq"] == 0
    clock.advance(seconds=25)
    items, cursor = demo.fetch(cursor)
    assert [i.external_id for i in items] == ["bluesky:live:1", "bluesky:live:2"]
    assert items[0].created_at == T0 + timedelta(seconds=10)
    clock.advance(hours=1)
    items, cursor = demo.fetch(cursor)
    assert len(items) == 5 and cursor["seq"] == 7  # max_live reached
    items, cursor = demo.fetch(cursor)
    assert items == [] and cursor["seq"] == 7


def test_at_most_five_live_messages_per_fetch():
    clock = ManualClock(T0)
    demo = DemoConnector({"channel": "email", "interval_s": 1}, None, now=clock.now)
    _, cursor = demo.fetch(None)
    clock.advance(seconds=100)
    items, cursor = demo.fetch(cursor)
    assert len(items) == 5 and cursor["seq"] == 5
    assert all(i.kind == "email" and "@" in i.author.external_id for i in items)


def test_reply_id_derives_from_the_idempotency_key():
    demo = DemoConnector({"channel": "mastodon"}, None)
    target = ReplyTarget("mastodon:c", "mention", True)
    first = demo.reply(target, "Thanks!", idempotency_key="k1")
    assert demo.reply(target, "Thanks!", idempotency_key="k1").external_id == first.external_id
    assert demo.reply(target, "Thanks!", idempotency_key="k2").external_id != first.external_id
    with pytest.raises(PermanentError):
        demo.reply(target, "  ", idempotency_key="k3")
    assert demo.post_status("Open today", idempotency_key="s1").external_id.startswith("mastodon:out:")
    with pytest.raises(PermanentError):
        DemoConnector({"channel": "email"}, None).post_status("x", idempotency_key="s2")
    assert "juniperandrye" == demo.check().handle


def test_unknown_channel_is_refused():
    with pytest.raises(PermanentError):
        DemoConnector({"channel": "myspace"}, None)


@pytest.mark.parametrize("channel", ["google_reviews"])
def test_only_platforms_that_can_be_added_are_simulated(channel):
    # Their connectors come with issues 14-16, and the demo with them.
    with pytest.raises(PermanentError, match="does not simulate"):
        DemoConnector({"channel": channel}, None)
    assert set(CHANNELS) == set(traits.platforms())


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_demo_account_points_at_the_traits_of_its_platform(channel):
    demo = DemoConnector({"channel": channel}, None)
    assert demo.traits is traits.of(channel) is registry.spec(channel).traits
    items, _ = DemoConnector({"channel": channel, "interval_s": 1}, None, now=ManualClock(T0).now).fetch(None)
    produced = {i.kind for i in items}
    assert produced <= demo.capabilities <= set(KINDS) | {"post_status", "stream"}
    # Only what the real platform can do: Telegram bots and email have no status to post to.
    assert ("post_status" in demo.capabilities) == ("post_status" in registry.spec(channel).capabilities)


def test_demo_replies_keep_the_simulated_platforms_limits():
    demo = DemoConnector({"channel": "bluesky"}, None)
    assert demo.reply(ReplyTarget("c", "dm", False), "x" * 1000, idempotency_key="k1").external_id
    with pytest.raises(PermanentError, match="300 graphemes"):
        demo.reply(ReplyTarget("c", "mention", True), "x" * 301, idempotency_key="k2")


def test_the_demo_opening_scene_has_every_kind_a_platform_produces_today():
    produced = {(c, i.kind, i.public) for c in CHANNELS for i in DemoConnector({"channel": c}, None).fetch(None)[0]}
    kinds = {k for _, k, _ in produced}
    # Every kind the simulated platforms' connectors produce, and nothing else.
    assert kinds == {k for c in CHANNELS for k in registry.spec(c).capabilities if k in KINDS}
    assert any(public for _, _, public in produced) and any(not public for _, _, public in produced)
    for channel in CHANNELS:  # a few of each, on every simulated platform
        assert len(OPENING[channel]) >= 3


@pytest.mark.parametrize(
    "fail,error", [("transient", TransientError), ("auth", AuthError), ("rate", RateLimited),
                   ("permanent", PermanentError)]
)
def test_simulated_failures(fail, error):
    clock = ManualClock(T0)
    demo = DemoConnector({"channel": "mastodon", "fail": fail}, None, now=clock.now)
    with pytest.raises(error) as info:
        demo.fetch(None)
    with pytest.raises(error):
        demo.check()
    with pytest.raises(error):
        demo.reply(ReplyTarget("mastodon:c", "mention", True), "hi", idempotency_key="k")
    if fail == "rate":
        # Retry time comes from the injected clock, so tests with a manual clock stay deterministic.
        assert info.value.retry_at == T0 + timedelta(seconds=30)


def test_registry():
    assert registry.spec("demo") is SPEC
    assert [s.kind for s in registry.all_specs()] == list(registry.kinds()) == list(registry.MODULES)
    with pytest.raises(registry.UnknownKindError):
        registry.spec("myspace")
    built = SPEC.factory({"channel": "telegram"}, None)
    assert built.channel == "telegram"
