"""The contract every connector must keep, run against each platform's harness.

A harness (see tests/fakes/__init__.py and tests/mailserver.py's EmailHarness) is a fixture object:
    kind: str                                 the account kind (registry name)
    connector() -> Connector                  a fresh connector on the harness's server/secrets
    seed(n) -> list[str]                      n new inbound items; their external ids, arrival order
    sent() -> list                            what our replies delivered to the server so far
    inject(error) -> type[ConnectorError]     "auth" | "transient" | "permanent": every following
                                              call fails; returns the error type it must raise
    heal() -> None                            undo inject
To add a platform, define its `<kind>_harness` fixture and add the name to HARNESSES.
Connectors may page internally or return one page per fetch: the suite loops fetch until it
returns nothing (bounded), so both are covered.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from socialdesk.connectors.base import ConnectorError, OutboundResult, ReplyTarget
from socialdesk.connectors.registry import spec
from tests import mailserver
from tests.fakes.bluesky import bluesky_harness  # noqa: F401  (fixtures used by name below)
from tests.fakes.google import google_harness  # noqa: F401
from tests.fakes.instagram import instagram_harness  # noqa: F401
from tests.fakes.mastodon import mastodon_harness  # noqa: F401
from tests.fakes.meta import facebook_harness  # noqa: F401
from tests.fakes.telegram import telegram_harness  # noqa: F401
from tests.fakes.x import x_harness  # noqa: F401
from tests.fakes.youtube import youtube_harness  # noqa: F401

email_harness = mailserver.email_harness



class DemoHarness:
    """The demo connector's live timeline driven by a manual clock: seeding n = letting n intervals pass."""

    kind = "demo"
    interval = 10

    def __init__(self):
        from datetime import datetime, timezone

        self.now = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
        self.epoch = self.now.isoformat()
        self.delivered = 0
        self.fail = ""
        self.connectors = []

    def connector(self):
        from socialdesk.connectors.demo import DemoConnector

        settings = {"channel": "mastodon", "opening": "no", "epoch": self.epoch, "interval_s": self.interval,
                    "max_live": 1000, "fail": self.fail}
        connector = DemoConnector(settings, None, now=lambda: self.now)
        self.connectors.append(connector)
        return connector

    def seed(self, n):
        from datetime import timedelta

        self.now += timedelta(seconds=n * self.interval)
        ids = [f"mastodon:live:{k}" for k in range(self.delivered + 1, self.delivered + n + 1)]
        self.delivered += n
        return ids

    def sent(self):
        return [s for c in self.connectors for s in c.sent]

    def inject(self, error):
        from socialdesk.connectors.base import AuthError, PermanentError, TransientError

        self.fail = error
        return {"auth": AuthError, "transient": TransientError, "permanent": PermanentError}[error]

    def heal(self):
        self.fail = ""


@pytest.fixture
def demo_harness():
    return DemoHarness()


HARNESSES = ["instagram_harness",
             "mastodon_harness", "bluesky_harness", "telegram_harness", "email_harness", "demo_harness",
             "google_harness", "youtube_harness", "facebook_harness", "x_harness"]
STREAMING = [name for name in HARNESSES if "stream" in spec(name.removesuffix("_harness")).capabilities]
MAX_FETCHES = 20


@pytest.fixture(params=HARNESSES)
def harness(request):
    return request.getfixturevalue(request.param)


def drain(connector, cursor):
    """Fetch until nothing new comes (bounded); returns all items and the last cursor."""
    collected = []
    for _ in range(MAX_FETCHES):
        items, cursor = connector.fetch(cursor)
        assert isinstance(cursor, dict)
        if not items:
            return collected, cursor
        collected.extend(items)
    raise AssertionError(f"fetch kept returning items after {MAX_FETCHES} calls")


def target_for(item) -> ReplyTarget:
    return ReplyTarget(
        conversation_external_id=item.conversation_external_id, kind=item.kind, public=item.public,
        subject=item.subject, parent_external_id=item.external_id, parent_meta=item.meta,
        recipient_external_id=item.author.external_id, recipient_handle=item.author.handle,
        recipient_name=item.author.display_name,
    )


def test_spec_matches_connector(harness):
    connector = harness.connector()
    assert connector.kind == harness.kind == spec(harness.kind).kind
    if harness.kind == "demo":  # one demo account simulates one channel; its SPEC is the union of all
        assert connector.capabilities <= spec(harness.kind).capabilities
    else:
        assert connector.capabilities == spec(harness.kind).capabilities
    # The window offers taking back a reply from the spec's capability; the call needs the method.
    assert ("delete_reply" in connector.capabilities) == callable(getattr(connector, "delete_reply", None))


def test_fetch_cursor_fetch_has_no_gaps_and_no_duplicates(harness):
    first = harness.seed(2)
    connector = harness.connector()
    items, cursor = drain(connector, None)
    assert [i.external_id for i in items] == first
    json.dumps(cursor)  # cursors are stored as JSON
    later = harness.seed(7)  # several pages for every harness
    # A fresh connector (as after a restart) continues from the stored cursor.
    more, cursor = drain(harness.connector(), json.loads(json.dumps(cursor)))
    assert [i.external_id for i in more] == later
    assert drain(harness.connector(), cursor)[0] == []
    for item in items + more:
        assert item.text.strip()
        assert item.created_at.tzinfo is not None
        assert not item.outbound
        json.dumps(item.meta)


def test_reply_returns_an_external_id(harness):
    harness.seed(1)
    items, _ = drain(harness.connector(), None)
    before = len(harness.sent())
    result = harness.connector().reply(target_for(items[0]), "Thanks, we will look into it.",
                                       idempotency_key="contract-1")
    assert isinstance(result, OutboundResult) and result.external_id
    assert len(harness.sent()) == before + 1


@pytest.mark.parametrize("error", ["auth", "transient", "permanent"])
def test_errors_map_to_typed_errors(harness, error):
    harness.seed(1)
    connector = harness.connector()
    items, cursor = drain(connector, None)
    expected = harness.inject(error)
    assert issubclass(expected, ConnectorError)
    with pytest.raises(expected):
        harness.connector().fetch(cursor)
    with pytest.raises(expected):
        harness.connector().reply(target_for(items[0]), "hello", idempotency_key=f"contract-{error}")
    harness.heal()
    harness.seed(1)
    # Healed, the stored cursor works again and the new item arrives (a restarted server may resend more).
    assert len(drain(harness.connector(), cursor)[0]) >= 1


@pytest.fixture(params=STREAMING)
def streaming_harness(request):
    return request.getfixturevalue(request.param)


def test_stream_delivers_batches_and_stops_within_a_second(streaming_harness):
    harness = streaming_harness
    connector = harness.connector()
    _, cursor = drain(connector, None)
    batches: list = []
    stop = threading.Event()
    errors: list = []

    def run():
        try:
            connector.stream(cursor, lambda items, c: batches.append((items, c)), stop)
        except Exception as exc:  # reported below: the stream must not fail here
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        time.sleep(0.3)  # let the stream connect; anything seeded earlier is caught up anyway
        ids = harness.seed(2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sum(len(i) for i, _ in batches) < 2:
            time.sleep(0.02)
        delivered = [item.external_id for items, _ in batches for item in items]
        assert delivered == ids, f"stream errors: {errors!r}"
        assert all(isinstance(c, dict) for _, c in batches)
    finally:
        started = time.monotonic()
        stop.set()
        thread.join(timeout=3)
    assert not thread.is_alive()
    assert time.monotonic() - started < 1.5
    assert errors == []
    assert drain(harness.connector(), batches[-1][1])[0] == []
