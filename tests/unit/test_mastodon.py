"""Mastodon connector against the local fake instance (tests/fakes/mastodon.py)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

import pytest

from socialdesk.connectors.base import (
    AuthError,
    MemorySecrets,
    NotAllowed,
    PermanentError,
    RateLimited,
    ReplyTarget,
    TransientError,
)
from socialdesk.connectors.html_text import html_to_text
from socialdesk.connectors.mastodon import MastodonConnector, newer
from tests.fakes import wait_until
from tests.fakes.mastodon import MastodonFake


@pytest.fixture
def fake():
    server = MastodonFake(heartbeat=0.1)
    with server.running():
        yield server


def connector(fake: MastodonFake, **kwargs) -> MastodonConnector:
    kwargs.setdefault("sleep", lambda s: None)
    return MastodonConnector({"instance": fake.url}, MemorySecrets({"token": "good-token"}), **kwargs)


def test_html_to_text_is_safe_plain_text():
    html = (
        '<p>Hello <span class="h-card"><a href="https://x/@shop" class="u-url mention">@<span>shop</span></a></span>'
        '<br>are you open?</p><p>Link: <a href="https://ex.com/a"><span class="invisible">https://</span>'
        '<span>ex.com/a</span></a></p><script>steal()</script><style>p{}</style>'
        '<p>&lt;img src=x onerror=alert(1)&gt; &amp;amp; \u202eevil\x07</p>'
    )
    assert html_to_text(html) == (
        "Hello @shop\nare you open?\n\nLink: https://ex.com/a\n\n<img src=x onerror=alert(1)> &amp; evil"
    )
    assert html_to_text("") == ""
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"


def test_ids_compare_by_length_then_text():
    assert newer("100", "99")
    assert not newer("99", "100")
    assert newer("5", None)


def test_plain_http_refused_for_remote_instances():
    with pytest.raises(PermanentError, match="unencrypted"):
        MastodonConnector({"instance": "http://mastodon.example"}, MemorySecrets({"token": "t"}))


def test_mentions_and_dms_become_plain_text_items(fake):
    fake.add(html='<p>Hi <a href="https://x/@shop">@shop</a> &lt;b&gt;open?&lt;/b&gt;<script>alert(1)</script></p>')
    fake.add("secret question", visibility="direct", acct="bob@else.where")
    fake.add("followers only", visibility="private")
    fake.add("a like", type="favourite")
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    assert [i.kind for i in items] == ["mention", "dm", "mention"]
    assert items[0].text == "Hi @shop <b>open?</b>"
    assert items[0].public and not items[1].public and not items[2].public
    assert items[1].conversation_external_id == "dm:bob@else.where"
    assert items[1].meta["visibility"] == "direct" and items[1].meta["acct"] == "bob@else.where"
    assert items[1].author.handle == "@bob@else.where"
    assert items[0].created_at.tzinfo is not None
    assert cursor == {"min_id": items[-1].meta["notification_id"], "requests_read": True}
    assert conn.fetch(cursor) == ([], cursor)


def test_min_id_paging_has_no_gaps_and_no_duplicates(fake):
    conn = connector(fake, page_limit=3)
    _, cursor = conn.fetch(None)
    assert cursor == {"min_id": "0", "requests_read": True}
    for i in range(10):
        fake.add(f"m{i}")
    items, cursor = conn.fetch(cursor)
    assert [i.text for i in items] == [f"@shop m{i}" for i in range(10)]
    min_ids = [r.arg("min_id") for r in fake.requests if r.path == "/api/v1/notifications"]
    assert len(min_ids) == 1 + 4  # bootstrap + pages of 3,3,3,1
    fake.add("later")
    more, _ = conn.fetch(cursor)
    assert [i.text for i in more] == ["@shop later"]


def test_replies_join_the_thread_root(fake):
    first = fake.add("question")
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    target = ReplyTarget(items[0].conversation_external_id, "mention", True,
                         parent_external_id=items[0].external_id, parent_meta=items[0].meta)
    ours = conn.reply(target, "answer", idempotency_key="k1")
    fake.add("follow-up", in_reply_to_id=ours.external_id)
    more, _ = conn.fetch(cursor)
    assert more[0].conversation_external_id == f"thread:{first['status']['id']}"
    assert more[0].in_reply_to == ours.external_id


def test_dm_reply_stays_direct_mentions_customer_and_sends_idempotency_key(fake):
    fake.add("where is my order?", visibility="direct", acct="bob@else.where")
    conn = connector(fake)
    items, _ = conn.fetch(None)
    dm = items[0]
    target = ReplyTarget(dm.conversation_external_id, "dm", False, parent_external_id=dm.external_id,
                         parent_meta=dm.meta, recipient_handle=dm.author.handle)
    first = conn.reply(target, "It ships today", idempotency_key="outbox-7")
    again = conn.reply(target, "It ships today", idempotency_key="outbox-7")
    assert first.external_id == again.external_id
    assert len(fake.posted) == 1
    posted = fake.posted[0]
    assert posted["visibility"] == "direct"
    assert posted["text"] == "@bob@else.where It ships today"
    assert posted["in_reply_to_id"] == dm.external_id
    assert posted["idempotency_key"] == "outbox-7"
    assert first.meta == {"visibility": "direct"}


def test_post_status_is_public(fake):
    result = connector(fake).post_status("We are closed today", idempotency_key="s1")
    assert fake.posted[0]["visibility"] == "public" and result.external_id


def test_invalid_token_is_auth_error_without_the_token(fake, caplog):
    caplog.set_level(logging.DEBUG)
    conn = MastodonConnector({"instance": fake.url}, MemorySecrets({"token": "stolen-secret-xyz"}))
    with pytest.raises(AuthError) as info:
        conn.fetch(None)
    assert "access token is invalid" in str(info.value)
    assert "stolen-secret-xyz" not in str(info.value) and "stolen-secret-xyz" not in caplog.text


def test_missing_token_is_auth_error(fake):
    with pytest.raises(AuthError, match="not logged in"):
        MastodonConnector({"instance": fake.url}, MemorySecrets()).fetch(None)


def test_rate_limit_headers_are_honoured(fake):
    conn = connector(fake)
    conn.fetch(None)
    fake.remaining = 1  # the next answer says 0 remaining until the reset
    conn.fetch({"min_id": "0"})
    before = len(fake.requests)
    with pytest.raises(RateLimited) as info:
        conn.fetch({"min_id": "0"})
    assert len(fake.requests) == before  # not even sent
    assert info.value.retry_at == fake.limit_reset


def test_429_500_and_malformed_json(fake):
    conn = connector(fake)
    fake.inject(429, {"error": "Too many requests"}, path="/notifications",
                headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2030-01-01T00:00:00Z"})
    with pytest.raises(RateLimited) as info:
        conn.fetch({"min_id": "0"})
    assert info.value.retry_at.year == 2030
    fake.inject(500, {"error": "boom"}, path="/notifications", times=3)
    with pytest.raises(TransientError):
        connector(fake).fetch({"min_id": "0"})
    fake.inject(200, b"{not json", path="/notifications")
    with pytest.raises(TransientError, match="malformed"):
        connector(fake).fetch({"min_id": "0"})
    fake.inject(503, b"", path="/notifications", times=1)
    read = {"min_id": "0", "requests_read": True}
    assert connector(fake).fetch(read) == ([], read)  # retried once, then fine


def test_stream_delivers_live_mentions_reconnects_and_catches_up(fake):
    conn = connector(fake, reconnect_delay=0.05)
    batches: list = []
    stop = threading.Event()
    thread = threading.Thread(target=conn.stream, args=({"min_id": "0"}, lambda i, c: batches.append((i, c)), stop))
    thread.start()
    try:
        assert wait_until(lambda: len(fake.streams) == 1)
        fake.add("live one")
        assert wait_until(lambda: any(i for i, _ in batches))
        # Cut the connection, add a mention while nobody listens: the reconnect catches it up.
        with fake.lock:
            fake.drop_streams()
            fake.add("while away")
        assert wait_until(lambda: sum(len(i) for i, _ in batches) == 2)
        texts = [item.text for items, _ in batches for item in items]
        assert texts == ["@shop live one", "@shop while away"]
        assert batches[-1][1]["min_id"] == fake.notifications[-1]["id"]
    finally:
        stop.set()
        thread.join(timeout=2)
    assert not thread.is_alive()


def test_stream_reconnects_after_silence_and_stops_promptly(fake):
    fake.heartbeat = 30  # no heartbeats: the client must notice the silence
    conn = connector(fake, idle_timeout=0.3, reconnect_delay=0.05, max_reconnects=50)
    stop = threading.Event()
    thread = threading.Thread(target=conn.stream, args=({"min_id": "0"}, lambda i, c: None, stop))
    thread.start()
    try:
        assert wait_until(lambda: fake.paths().count("/api/v1/streaming/user/notification") >= 2)
    finally:
        stop.set()
        thread.join(timeout=1.5)
    assert not thread.is_alive()


def test_stream_gives_up_after_repeated_failures(fake):
    conn = connector(fake, reconnect_delay=0.01, max_reconnects=2)
    fake.inject(502, b"bad gateway", path="/streaming", times=10)
    with pytest.raises(TransientError):
        conn.stream({"min_id": "0"}, lambda i, c: None, threading.Event())


def test_garbled_payload_fields_do_not_crash_or_lose_the_mention(fake):
    note = fake.add("odd date")
    note["status"]["created_at"] = "yesterday-ish"
    fake.add("gone").pop("status")  # a deleted status: nothing to show
    items, _ = connector(fake).fetch(None)
    assert [i.text for i in items] == ["@shop odd date"]
    assert items[0].created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("v2", "max_characters", "v1", "expected"),
    [
        (True, 5_000, {}, 5_000),  # Mastodon 4: /api/v2/instance
        (True, None, {}, None),  # the instance does not say: 500 is assumed by the composer
        (False, None, {"configuration": {"statuses": {"max_characters": 1_000}}}, 1_000),  # Mastodon 3
        (False, None, {"max_toot_chars": 64_000}, 64_000),  # Pleroma, Akkoma
        (False, None, {"max_toot_chars": "lots"}, None),  # nonsense is ignored
    ],
)
def test_check_learns_the_instance_text_limit(fake, v2, max_characters, v1, expected):
    fake.instance_v2, fake.max_characters, fake.instance_v1 = v2, max_characters, v1
    assert connector(fake).check().text_limit == expected


# -- filtered private mentions, Mastodon 4.3+ (issue 12 item 10) -------------------------------------


def _dm_target(item, **kwargs) -> ReplyTarget:
    return ReplyTarget(item.conversation_external_id, item.kind, item.public, parent_external_id=item.external_id,
                       parent_meta=item.meta, recipient_external_id=item.author.external_id,
                       recipient_handle=item.author.handle, **kwargs)


def test_scopes_cover_reading_and_accepting_message_requests():
    from socialdesk.connectors.mastodon import SCOPES

    assert {"read:notifications", "write:notifications"} <= set(SCOPES.split())


def test_a_strangers_first_dm_arrives_although_mastodon_filters_it(fake):
    conn = connector(fake)
    _, cursor = conn.fetch(None)
    fake.add("hi, do you deliver?", visibility="direct", acct="new@customer.example")
    # Mastodon's defaults hold it back: not in the plain list, waiting as a request.
    assert fake.notifications[-1]["filtered"] is True and len(fake.notification_requests) == 1
    items, cursor = conn.fetch(cursor)
    assert [(i.kind, i.text, i.meta.get("filtered")) for i in items] == [("dm", "@shop hi, do you deliver?", True)]
    assert conn.fetch(cursor)[0] == []


def test_fake_filters_like_mastodon_only_strangers_private_mentions(fake):
    fake.follow("friend@else.where")
    fake.add("friend dm", visibility="direct", acct="friend@else.where")
    fake.add("public mention from a stranger", acct="stranger@else.where")
    fake.add("stranger dm", visibility="direct", acct="stranger@else.where")
    assert [bool(n.get("filtered")) for n in fake.notifications] == [False, False, True]


def test_answering_a_filtered_dm_accepts_the_request_and_the_next_dm_is_not_filtered(fake):
    conn = connector(fake)
    _, cursor = conn.fetch(None)
    fake.add("first question", visibility="direct", acct="new@customer.example")
    items, cursor = conn.fetch(cursor)
    conn.reply(_dm_target(items[0]), "Yes we do", idempotency_key="k1")
    assert fake.posted[0]["visibility"] == "direct" and fake.notification_requests == {}
    assert items[0].author.external_id in fake.permissions and conn.notice == ""
    fake.add("a new thread, not a reply", visibility="direct", acct="new@customer.example")
    assert "filtered" not in fake.notifications[-1]
    items, _ = conn.fetch(cursor)
    assert [i.text for i in items] == ["@shop a new thread, not a reply"]


def test_an_automatic_reply_does_not_accept_a_strangers_request(fake):
    conn = connector(fake)
    fake.add("spam?", visibility="direct", acct="maybe@spam.example")
    items, _ = conn.fetch(None)
    conn.reply(_dm_target(items[0], auto_reply=True), "We are closed until 9", idempotency_key="a1")
    assert len(fake.notification_requests) == 1 and fake.permissions == set()


def test_a_login_without_write_notifications_still_replies_and_says_what_to_do(fake):
    from socialdesk.connectors.mastodon import NEEDS_WRITE_NOTIFICATIONS

    fake.token_scopes["good-token"] = frozenset({"read:accounts", "read:notifications", "read:statuses",
                                                 "write:statuses"})  # a login from before this change
    conn = connector(fake)
    fake.add("first question", visibility="direct", acct="new@customer.example")
    items, _ = conn.fetch(None)
    assert [i.text for i in items] == ["@shop first question"]  # reading needs no new scope
    conn.reply(_dm_target(items[0]), "Yes", idempotency_key="k1")
    assert len(fake.posted) == 1 and len(fake.notification_requests) == 1
    assert conn.notice == NEEDS_WRITE_NOTIFICATIONS


def test_dms_filtered_before_the_upgrade_are_read_from_the_requests_once(fake):
    fake.add("filtered long ago", visibility="direct", acct="new@customer.example")
    later = fake.add("a public mention")
    old_cursor = {"min_id": later["id"]}  # what the old code stored: past the filtered DM
    conn = connector(fake, page_limit=3)
    items, cursor = conn.fetch(old_cursor)
    assert [i.text for i in items] == ["@shop filtered long ago"]
    assert cursor == {"min_id": later["id"], "requests_read": True}
    before = fake.paths().count("/api/v1/notifications/requests")
    assert conn.fetch(cursor) == ([], cursor)
    assert fake.paths().count("/api/v1/notifications/requests") == before  # once only


def test_mastodon_before_4_3_has_no_requests_and_nothing_breaks(fake):
    fake.version = (4, 2)
    fake.add("dm", visibility="direct", acct="new@customer.example")
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    assert [i.text for i in items] == ["@shop dm"] and cursor["requests_read"] is True
    assert "filtered" not in items[0].meta
    conn.reply(_dm_target(items[0]), "Hello", idempotency_key="k1")
    assert len(fake.posted) == 1 and conn.notice == ""


def test_a_server_that_refuses_include_filtered_is_asked_without_it(fake):
    fake.add("hello")
    fake.inject(422, {"error": "Validation failed: unknown parameter"}, path="/api/v1/notifications", times=1)
    conn = connector(fake)
    items, cursor = conn.fetch({"min_id": "0", "requests_read": True})
    assert [i.text for i in items] == ["@shop hello"]
    fake.add("again")
    conn.fetch(cursor)
    asked = [r.arg("include_filtered") for r in fake.requests if r.path == "/api/v1/notifications"]
    assert asked == ["true", None, None]


def test_stream_catches_filtered_dms_that_are_never_pushed(fake):
    conn = connector(fake, reconnect_delay=0.05, catchup_interval=0)
    batches: list = []
    stop = threading.Event()
    thread = threading.Thread(target=conn.stream, args=({"min_id": "0", "requests_read": True},
                                                        lambda i, c: batches.append(i), stop))
    thread.start()
    try:
        assert wait_until(lambda: len(fake.streams) == 1)
        fake.add("first dm", visibility="direct", acct="new@customer.example")
        assert wait_until(lambda: any(batch for batch in batches))
        assert [i.text for batch in batches for i in batch] == ["@shop first dm"]
    finally:
        stop.set()
        thread.join(timeout=2)
    assert not thread.is_alive()


def test_no_duplicate_when_the_owner_accepts_in_mastodon_or_changes_the_policy(store, fake):
    from socialdesk.core import queue
    from socialdesk.core.clock import ManualClock
    from socialdesk.core.hours import Schedule
    from socialdesk.core.store import Account, Message
    from socialdesk.core.sync import SyncEngine
    from socialdesk.core.targets import TargetConfig

    policy = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))
    engine = SyncEngine(store, lambda account: connector(fake), ManualClock(datetime.now(timezone.utc)),
                        lambda: policy)
    with store.write():
        account = Account.create(kind="mastodon", name="masto", settings={"instance": fake.url},
                                 created_at=datetime.now(timezone.utc))
    fake.add("first question", visibility="direct", acct="new@customer.example")
    engine.sync_account(account.id)
    assert [m.text for m in Message.select()] == ["@shop first question"]
    # The owner accepts the request in Mastodon's app and turns filtering off.
    fake.accept_request(fake.notifications[-1]["account"]["id"])
    fake.policy["for_private_mentions"] = "accept"
    engine.sync_account(account.id)
    # Even a cursor that reads everything again (no watermark, requests not read) stores nothing twice.
    with store.write():
        Account.update(cursor=None).where(Account.id == account.id).execute()
    engine.sync_account(account.id)
    fake.add("second question", visibility="direct", acct="new@customer.example")
    engine.sync_account(account.id)
    assert sorted(m.text for m in Message.select()) == ["@shop first question", "@shop second question"]
    assert Account.get_by_id(account.id).state == "ok"


def test_a_refused_reply_is_not_allowed_and_only_a_login_403_is_an_auth_error(fake):
    fake.add("where is my order?", visibility="direct", acct="bob@else.where")
    conn = connector(fake)
    dm = conn.fetch(None)[0][0]
    target = _dm_target(dm)
    fake.inject(403, {"error": "This action is not allowed"}, path="/api/v1/statuses")
    with pytest.raises(NotAllowed, match="This action is not allowed") as info:
        conn.reply(target, "It ships today", idempotency_key="k1")
    assert not isinstance(info.value, AuthError)
    fake.inject(403, {"error": "This action is outside the authorized scopes"}, path="/api/v1/statuses")
    with pytest.raises(AuthError, match="lacks a permission"):
        conn.reply(target, "It ships today", idempotency_key="k2")
    fake.inject(403, {"error": "Your login is currently disabled"}, path="/api/v1/statuses")
    with pytest.raises(AuthError, match="Your login is currently disabled"):
        conn.reply(target, "It ships today", idempotency_key="k3")
    fake.inject(422, {"error": "Validation failed: Text character limit of 500 exceeded"}, path="/api/v1/statuses")
    with pytest.raises(PermanentError, match="character limit") as info:
        conn.reply(target, "It ships today", idempotency_key="k4")
    assert not isinstance(info.value, (AuthError, NotAllowed))
