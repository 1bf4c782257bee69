"""Bluesky connector against the local fake PDS (tests/fakes/bluesky.py)."""

from __future__ import annotations

import logging

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
from socialdesk.connectors.bluesky import NO_DM_ACCESS, SPEC, BlueskyConnector, NoDmAccess, graphemes
from tests.fakes.bluesky import DID, HANDLE, PASSWORD, BlueskyFake


@pytest.fixture
def fake():
    server = BlueskyFake()
    with server.running():
        yield server


def connector(fake: BlueskyFake, secrets: MemorySecrets | None = None, **kwargs) -> BlueskyConnector:
    kwargs.setdefault("sleep", lambda s: None)
    secrets = secrets if secrets is not None else MemorySecrets({"password": PASSWORD})
    return BlueskyConnector({"pds": fake.url, "handle": HANDLE}, secrets, **kwargs)


def target_for(item, **kwargs) -> ReplyTarget:
    return ReplyTarget(item.conversation_external_id, item.kind, item.public,
                       parent_external_id=item.external_id, parent_meta=item.meta, **kwargs)


def test_spec_settings_and_limit():
    assert dict((k, d) for k, _, d in SPEC.settings) == {"handle": "", "pds": "https://bsky.social"}
    assert SPEC.traits.limit_for("mention").limit == 300 and SPEC.traits.limit_for("dm").limit == 1000
    assert SPEC.login_flow is None and SPEC.secret_name == "password"


def test_login_once_then_reuse_tokens_across_instances(fake):
    secrets = MemorySecrets({"password": PASSWORD})
    fake.add("hi @shop")
    items, cursor = connector(fake, secrets).fetch(None)
    assert len(items) == 1
    assert secrets.get("refresh_token") and secrets.get("access_token")
    for _ in range(3):
        connector(fake, secrets).fetch(cursor)
    assert fake.create_session_calls == 1


def test_expired_access_token_refreshes_once_and_retries(fake):
    secrets = MemorySecrets({"password": PASSWORD})
    conn = connector(fake, secrets)
    _, cursor = conn.fetch(None)
    old_refresh = secrets.get("refresh_token")
    fake.expire_access_tokens()
    fake.add("after expiry")
    items, _ = conn.fetch(cursor)
    assert [i.text for i in items] == ["after expiry"]
    assert fake.refresh_calls == 1 and fake.create_session_calls == 1
    assert secrets.get("refresh_token") != old_refresh  # rotated token written back


def test_revoked_refresh_without_password_is_auth_error(fake, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = MemorySecrets({"password": PASSWORD})
    conn = connector(fake, secrets)
    conn.fetch(None)
    secrets.delete("password")
    fake.expire_access_tokens()
    fake.refresh.clear()
    refresh = secrets.get("refresh_token")
    with pytest.raises(AuthError) as info:
        connector(fake, secrets).fetch(None)
    assert refresh not in str(info.value) and refresh not in caplog.text
    assert PASSWORD not in caplog.text


def test_wrong_app_password_is_auth_error(fake):
    with pytest.raises(AuthError, match="did not accept"):
        connector(fake, MemorySecrets({"password": "wrong-pass-word"})).fetch(None)


def test_mentions_replies_quotes_are_items_and_likes_are_not(fake):
    first = fake.add("hello @shop")
    fake.add("liked", reason="like")
    fake.add("a reply", reason="reply", reply_to=first["uri"])
    fake.add("quoted", reason="quote")
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    assert [i.text for i in items] == ["hello @shop", "a reply", "quoted"]
    assert items[1].conversation_external_id == first["uri"] and items[1].in_reply_to == first["uri"]
    assert items[2].conversation_external_id == items[2].external_id
    assert all(i.public and i.kind == "mention" for i in items)
    assert items[0].permalink.startswith("https://bsky.app/profile/alice.bsky.social/post/")
    assert fake.seen_at is None  # not before the engine has stored them
    conn.after_stored(cursor)
    assert fake.seen_at == cursor["seen"]


def test_paging_newest_to_older_has_no_gaps_or_duplicates(fake):
    conn = connector(fake, page_limit=3)
    _, cursor = conn.fetch(None)
    for i in range(10):
        fake.add(f"m{i}")
    fake.add("same instant", same_time_as_last=True)
    items, cursor = conn.fetch(cursor)
    assert [i.text for i in items] == [f"m{i}" for i in range(10)] + ["same instant"]
    assert len(cursor["seen_uris"]) == 2
    fake.add("tied again", same_time_as_last=True)
    items, cursor = conn.fetch(cursor)
    assert [i.text for i in items] == ["tied again"]
    assert conn.fetch(cursor)[0] == []


def test_reply_uses_root_and_parent_and_counts_graphemes(fake):
    top = fake.add("question")
    fake.add("more detail", reason="reply", reply_to=top["uri"])
    conn = connector(fake)
    items, _ = conn.fetch(None)
    result = conn.reply(target_for(items[1]), "Answer 👍🏽", idempotency_key="k")
    record = fake.created[0]
    assert record["reply"]["root"] == {"uri": top["uri"], "cid": top["cid"]}
    assert record["reply"]["parent"] == {"uri": items[1].external_id, "cid": items[1].meta["cid"]}
    assert result.external_id == record["uri"] and result.permalink.startswith("https://bsky.app/profile/")
    conn.reply(target_for(items[0]), "top reply", idempotency_key="k2")
    assert fake.created[1]["reply"]["root"] == fake.created[1]["reply"]["parent"] == {"uri": top["uri"], "cid": top["cid"]}
    assert graphemes("👍🏽" * 300) == 300
    conn.post_status("👍🏽" * 300, idempotency_key="s")  # 300 graphemes, 600 code points: allowed
    with pytest.raises(PermanentError, match="300"):
        conn.post_status("x" * 301, idempotency_key="s2")
    assert len(fake.created) == 3 and "reply" not in fake.created[2]


def test_dms_in_and_out(fake):
    fake.add_dm("do you ship to Oslo?")
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    dm = items[0]
    assert (dm.kind, dm.public, dm.author.handle) == ("dm", False, "@carol.bsky.social")
    assert dm.conversation_external_id == "convo:convo-carol"
    result = conn.reply(target_for(dm), "Yes!", idempotency_key="k")
    assert fake.sent == [{"convoId": "convo-carol", "text": "Yes!"}]
    echoed, _ = conn.fetch(cursor)
    assert [(i.external_id, i.outbound) for i in echoed] == [(result.external_id, True)]
    chat_calls = [r for r in fake.requests if "chat.bsky" in r.path]
    assert all(r.headers["atproto-proxy"] == "did:web:api.bsky.chat#bsky_chat" for r in chat_calls)


def test_app_password_without_dm_access_is_explained(fake):
    fake.dm_access = False
    fake.add("public still works")
    conn = connector(fake)
    items, _ = conn.fetch(None)
    assert [i.text for i in items] == ["public still works"]
    assert conn.check().notes == (NO_DM_ACCESS,)
    with pytest.raises(NoDmAccess):
        conn.reply(ReplyTarget("convo:x", "dm", False, parent_meta={"convo_id": "x"}), "hi", idempotency_key="k")
    fake.dm_access = True
    info = connector(fake).check()
    assert info.notes == () and info.handle == "@" + HANDLE


def test_rate_limits_and_server_errors(fake):
    conn = connector(fake)
    conn.fetch(None)
    fake.inject(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                path="listNotifications", headers={"RateLimit-Remaining": "0", "RateLimit-Reset": "1900000000"})
    with pytest.raises(RateLimited) as info:
        conn.fetch(None)
    assert info.value.retry_at.timestamp() == 1900000000
    with pytest.raises(RateLimited):  # honoured before sending the next request
        conn.fetch(None)


def test_500_and_malformed_json(fake):
    conn = connector(fake)
    conn.fetch(None)
    fake.inject(500, {"error": "InternalServerError"}, path="listNotifications", times=3)
    with pytest.raises(TransientError):
        conn.fetch(None)
    fake.inject(200, b"<html>oops", path="listNotifications")
    with pytest.raises(TransientError, match="malformed"):
        conn.fetch(None)


def test_reply_without_reference_is_permanent(fake):
    conn = connector(fake)
    with pytest.raises(PermanentError):
        conn.reply(ReplyTarget("at://x", "mention", True, parent_external_id="at://x"), "hi", idempotency_key="k")
    assert conn._my_did() == DID


def test_malformed_notifications_are_skipped(fake):
    fake.add("fine")
    fake.add("broken")["indexedAt"] = "not a date"
    fake.notifications.append({"reason": "mention"})  # no uri at all
    items, cursor = connector(fake).fetch(None)
    assert [i.text for i in items] == ["fine"] and cursor["seen"]


def _facet_slices(text: str, facets: list[dict]) -> list[tuple[str, dict]]:
    raw = text.encode("utf-8")
    return [(raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode("utf-8"), f["features"][0]) for f in facets]


def test_reply_carries_link_mention_and_tag_facets_with_byte_offsets(fake):
    fake.add("where can I order?")
    conn = connector(fake)
    items, _ = conn.fetch(None)
    text = "Grüße 🍞 @alice.bsky.social! Bestellung: https://shop.example/brot. #sourdough"
    conn.reply(target_for(items[0]), text, idempotency_key="k")
    record = fake.created[0]
    assert record["text"] == text
    assert _facet_slices(text, record["facets"]) == [
        ("@alice.bsky.social", {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}),
        ("https://shop.example/brot", {"$type": "app.bsky.richtext.facet#link", "uri": "https://shop.example/brot"}),
        ("#sourdough", {"$type": "app.bsky.richtext.facet#tag", "tag": "sourdough"}),
    ]
    assert record["facets"][0]["index"] == {"byteStart": 13, "byteEnd": 31}  # "Grüße 🍞 " is 13 bytes, 8 chars


def test_unknown_handle_posts_without_its_mention_facet_and_each_handle_resolves_once(fake, caplog):
    caplog.set_level(logging.INFO, logger="socialdesk.connectors.bluesky")
    conn = connector(fake)
    text = "@nobody.bsky.social @alice.bsky.social @Alice.bsky.social @nobody.bsky.social"
    conn.post_status(text, idempotency_key="s")
    slices = _facet_slices(text, fake.created[0]["facets"])
    assert slices == [("@alice.bsky.social", {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}),
                      ("@Alice.bsky.social", {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"})]
    lookups = [r.query["handle"] for r in fake.requests if r.path.endswith("resolveHandle")]
    assert sorted(lookups) == [["alice.bsky.social"], ["nobody.bsky.social"]]
    assert "@nobody.bsky.social could not be resolved" in caplog.text


def test_failed_handle_lookup_does_not_block_the_post(fake):
    conn = connector(fake)
    conn.fetch(None)
    fake.inject(502, b"Bad Gateway", path="resolveHandle", times=5)
    conn.post_status("thanks @alice.bsky.social", idempotency_key="s")
    assert fake.created[0]["text"] == "thanks @alice.bsky.social" and "facets" not in fake.created[0]


def test_plain_text_has_no_facets_key_and_dms_carry_facets(fake):
    conn = connector(fake)
    conn.post_status("Open until 6 today.", idempotency_key="s")
    assert "facets" not in fake.created[0]
    fake.add_dm("link please")
    items, _ = conn.fetch(None)
    conn.reply(target_for(items[0]), "Here: https://shop.example/a", idempotency_key="k")
    conn.reply(target_for(items[0]), "no link", idempotency_key="k2")
    assert fake.sent == [
        {"convoId": "convo-carol", "text": "Here: https://shop.example/a", "facets": [
            {"index": {"byteStart": 6, "byteEnd": 28},
             "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://shop.example/a"}]}]},
        {"convoId": "convo-carol", "text": "no link"},
    ]


# -- chat service unreachable (issue 12 item 9) -----------------------------------------------------

CHAT_FAULTS = [("unresolvable", "InternalServerError, HTTP 500"), ("down", "UpstreamFailure, HTTP 502")]


@pytest.mark.parametrize(("mode", "named"), CHAT_FAULTS)
def test_chat_down_keeps_mentions_flowing_and_says_so(fake, mode, named):
    fake.add_dm("old dm")
    conn = connector(fake)
    _, cursor = conn.fetch(None)
    fake.chat_down = mode
    fake.add("mention while chat is down")
    fake.add_dm("dm while chat is down")
    items, new_cursor = conn.fetch(cursor)
    assert [i.text for i in items] == ["mention while chat is down"]
    assert new_cursor["chat"] == cursor["chat"]  # the DM is fetched once chat is back
    assert conn.notice.startswith("direct messages unavailable:") and named in conn.notice
    info = conn.check()  # `account add` / `account test` succeed, with the note
    assert info.notes == (conn.notice,) and info.handle == "@" + HANDLE
    fake.chat_down = None
    items, _ = conn.fetch(new_cursor)
    assert [i.text for i in items] == ["dm while chat is down"] and conn.notice == ""


def test_no_dm_access_is_the_accounts_notice_too(fake):
    fake.dm_access = False
    conn = connector(fake)
    conn.fetch(None)
    assert conn.notice == NO_DM_ACCESS


def test_update_seen_empty_answer_is_success(fake, caplog):
    caplog.set_level(logging.INFO, logger="socialdesk.connectors.bluesky")
    fake.add("hello")
    conn = connector(fake)
    _, cursor = conn.fetch(None)
    conn.after_stored(cursor)
    assert fake.seen_calls == [cursor["seen"]]
    assert "updateSeen failed" not in caplog.text
    conn.after_stored(cursor)  # nothing new since: not sent again
    _, cursor = conn.fetch(cursor)
    conn.after_stored(cursor)
    assert fake.seen_calls == [cursor["seen"]]


def _engine(store, fake: BlueskyFake):
    from socialdesk.core import queue
    from socialdesk.core.clock import ManualClock
    from socialdesk.core.hours import Schedule
    from socialdesk.core.store import Account
    from socialdesk.core.sync import SyncEngine
    from socialdesk.core.targets import TargetConfig

    policy = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))
    secrets = MemorySecrets({"password": PASSWORD})
    engine = SyncEngine(store, lambda account: connector(fake, secrets), ManualClock(fake.epoch),
                        lambda: policy)
    with store.write():
        account = Account.create(kind="bluesky", name="sky", settings={"pds": fake.url, "handle": HANDLE},
                                 created_at=fake.epoch)
    return engine, account


@pytest.mark.parametrize(("mode", "named"), CHAT_FAULTS)
def test_engine_stores_mentions_while_chat_is_down_and_marks_seen_after(store, fake, mode, named):
    from socialdesk.core.store import Account, Message

    engine, account = _engine(store, fake)
    fake.chat_down = mode
    fake.add("where is my order?")
    fake.add("hello?", reason="reply", reply_to=fake.notifications[0]["uri"])
    engine.sync_account(account.id)
    fresh = Account.get_by_id(account.id)
    assert sorted(m.text for m in Message.select()) == ["hello?", "where is my order?"]
    assert fresh.state == "ok" and fresh.last_error.startswith("direct messages unavailable:")
    assert named in fresh.last_error
    assert fake.seen_calls == [fresh.cursor["seen"]]  # only once the mentions were stored
    fake.chat_down = None
    engine.sync_account(account.id)
    fresh = Account.get_by_id(account.id)
    assert (fresh.state, fresh.last_error) == ("ok", "")


def test_engine_does_not_mark_seen_what_it_failed_to_store(store, fake, monkeypatch):
    from socialdesk.core import ingest
    from socialdesk.core.store import Account, Message

    engine, account = _engine(store, fake)
    fake.add("please answer")

    def broken_ingest(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ingest, "ingest", broken_ingest)
    engine.sync_account(account.id)
    assert Message.select().count() == 0 and fake.seen_calls == []  # the badge still shows it
    monkeypatch.undo()
    engine.sync_account(account.id)
    assert [m.text for m in Message.select()] == ["please answer"]
    assert fake.seen_calls == [Account.get_by_id(account.id).cursor["seen"]]


def test_a_dm_the_person_does_not_take_is_not_allowed_and_the_login_stays_good(fake):
    fake.add_dm("do you ship to Oslo?")
    conn = connector(fake)
    dm = conn.fetch(None)[0][0]
    fake.inject(400, {"error": "InvalidRequest", "message": "recipient has disabled incoming messages"},
                path="chat.bsky.convo.sendMessage")
    with pytest.raises(NotAllowed, match="recipient has disabled incoming messages") as info:
        conn.reply(target_for(dm), "Yes!", idempotency_key="k")
    assert not isinstance(info.value, AuthError)
    assert conn.dm_available is not False  # DMs still work for everyone else
    assert conn.reply(target_for(dm), "Yes!", idempotency_key="k2").external_id
