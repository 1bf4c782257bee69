"""The Instagram connector against the fake Graph API (tests/fakes/instagram.py): comments and replies on
recent media, DMs, the 24 h window, private replies, bounded work per poll, expired cursors, edits and
deletions, usage headers and throttling codes, Graph errors 190/10/200, malformed answers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors import meta
from socialdesk.connectors.base import (
    AuthError,
    NotAllowed,
    PermanentError,
    RateLimited,
    ReplyTarget,
    TransientError,
)
from socialdesk.connectors.instagram import MENTIONS_NOTE, SPEC, InstagramConnector
from tests.fakes.instagram import (  # noqa: F401  (fixture used by name)
    IG_USER_ID,
    IG_USERNAME,
    PAGE_ID,
    InstagramFake,
    instagram_fake,
    instagram_secrets,
    instagram_settings,
)

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock):
    server = InstagramFake(now=clock)
    with server.running():
        yield server


def connector(fake, clock=None, **kwargs) -> InstagramConnector:
    settings = instagram_settings(fake, **kwargs.pop("settings", {}))
    kwargs.setdefault("sleep", lambda s: None)
    return InstagramConnector(settings, kwargs.pop("secrets", None) or instagram_secrets(),
                              now=clock or (lambda: fake.now()), **kwargs)


def drain(conn, cursor=None, rounds=20):
    items = []
    for _ in range(rounds):
        got, cursor = conn.fetch(cursor)
        cursor = json.loads(json.dumps(cursor))  # stored as JSON between polls
        if not got:
            return items, cursor
        items += got
    raise AssertionError("fetch kept returning items")


def target(item, **kwargs) -> ReplyTarget:
    return ReplyTarget(conversation_external_id=item.conversation_external_id, kind=item.kind, public=item.public,
                       parent_external_id=item.external_id, parent_meta=item.meta,
                       recipient_external_id=item.author.external_id, recipient_handle=item.author.handle, **kwargs)


def test_comments_replies_and_dms_become_conversations(fake, clock):
    top = fake.add_comment("Do you have gluten free loaves?", username="ava", at=T0 - timedelta(minutes=9))
    answer = fake.add_comment("and vegan?", username="ben", parent_id=top["id"], at=T0 - timedelta(minutes=8))
    ours = fake.add_comment("Yes, on Fridays!", username=IG_USERNAME, user_id=IG_USER_ID, parent_id=top["id"],
                            at=T0 - timedelta(minutes=7))
    fake.add_comment("our own caption note", username=IG_USERNAME, user_id=IG_USER_ID, at=T0 - timedelta(minutes=6))
    dm = fake.add_dm("Are you open on Sunday?", username="carl", at=T0 - timedelta(minutes=5))
    items, _ = drain(connector(fake, clock))
    by_id = {i.external_id: i for i in items}
    assert list(by_id) == [top["id"], answer["id"], ours["id"], dm["id"]]  # oldest first; own top-level skipped
    thread = f"comment:{top['id']}"
    assert [by_id[i].conversation_external_id for i in (top["id"], answer["id"], ours["id"])] == [thread] * 3
    assert by_id[answer["id"]].in_reply_to == top["id"] and by_id[answer["id"]].meta["parent_id"] == top["id"]
    assert by_id[ours["id"]].outbound and not by_id[top["id"]].outbound
    assert by_id[top["id"]].author.handle == "@ava" and by_id[top["id"]].public
    assert by_id[top["id"]].subject == "Fresh sourdough today"
    message = by_id[dm["id"]]
    assert (message.kind, message.public, message.conversation_external_id) == ("dm", False, "dm:" + message.meta["igsid"])
    assert message.reply_window_ends_at == T0 - timedelta(minutes=5) + timedelta(hours=24)
    assert by_id[top["id"]].reply_window_ends_at is None  # a public reply to a comment has no window


def test_paging_next_across_pages_then_nothing_twice(fake, clock):
    first = [fake.add_comment(f"q{i}", at=T0 - timedelta(minutes=30 - i))["id"] for i in range(7)]
    for i in range(5):
        fake.add_dm(f"dm {i}", username=f"person{i}", at=T0 - timedelta(minutes=20 - i))
    conn = connector(fake, clock, page_limit=3)
    items, cursor = drain(conn)
    assert [i.external_id for i in items if i.kind == "comment"] == first
    assert len([i for i in items if i.kind == "dm"]) == 5  # first poll: the newest conversations as history
    assert any("after" in r.query for r in fake.requests if r.path.endswith("/comments"))  # followed paging
    later = [fake.add_comment(f"later {i}", at=T0 + timedelta(seconds=i))["id"] for i in range(4)]
    fake.add_dm("new dm", username="person0", at=T0 + timedelta(seconds=9))
    clock.now = T0 + timedelta(minutes=1)
    more, cursor = drain(connector(fake, clock, page_limit=3), cursor)
    assert [i.external_id for i in more if i.kind == "comment"] == later
    assert [i.text for i in more if i.kind == "dm"] == ["new dm"]
    assert drain(connector(fake, clock, page_limit=3), cursor)[0] == []


def test_first_poll_history_is_bounded_and_conversation_calls_are_paced(fake, clock):
    for i in range(15):
        fake.add_dm(f"dm {i}", username=f"buyer{i}", at=T0 - timedelta(minutes=30 - i))
    waits: list[float] = []
    items, _ = connector(fake, clock, sleep=waits.append).fetch(None)
    assert [i.text for i in items] == [f"dm {i}" for i in range(5, 15)]  # the 10 newest conversations
    assert waits == [0.5] * 10  # one pause per conversation read: under 2 calls a second


def test_two_messages_in_the_same_second_are_neither_lost_nor_doubled(fake, clock):
    same = T0 - timedelta(minutes=1)
    fake.add_dm("first", username="dora", at=same)
    items, cursor = drain(connector(fake, clock))
    fake.add_dm("second", username="dora", at=same)
    more, _ = drain(connector(fake, clock), cursor)
    assert [i.text for i in items] == ["first"] and [i.text for i in more] == ["second"]


def test_a_post_with_1000_comments_is_read_in_bounded_polls(fake, clock):
    ids = [fake.add_comment(f"comment {i}", at=T0 - timedelta(hours=2, seconds=-i))["id"] for i in range(1000)]
    conn = connector(fake, clock, max_pages=5)
    delivered, cursor, polls = [], None, 0
    while True:
        before = len(fake.requests)
        items, cursor = conn.fetch(cursor)
        cursor = json.loads(json.dumps(cursor))
        calls = len(fake.requests) - before
        assert calls <= 1 + 5 + 1  # media list, at most 5 comment pages, the conversations list
        polls += 1
        if not items:
            break
        delivered += [i.external_id for i in items]
    assert sorted(delivered) == sorted(ids) and len(delivered) == 1000
    assert polls == 5  # 1,000 comments, 50 a page, 5 pages a poll: four polls, then one that finds nothing
    before = len(fake.requests)
    conn.fetch(cursor)  # nothing changed: no comment page is read again
    assert [r.path.rsplit("/", 1)[-1] for r in fake.requests[before:]] == ["media", "conversations"]


def test_an_expired_cursor_restarts_the_walk_without_losing_or_doubling(fake, clock):
    ids = [fake.add_comment(f"c{i}", at=T0 - timedelta(minutes=60 - i))["id"] for i in range(12)]
    conn = connector(fake, clock, page_limit=3, max_pages=2)
    items, cursor = conn.fetch(None)
    assert len(items) == 6 and cursor["media"]
    fake.expire_cursors()  # Graph forgets the cursor we stored (the comments under it changed)
    late = fake.add_comment("arrived meanwhile", at=T0 - timedelta(seconds=5))["id"]
    rest, cursor = drain(conn, json.loads(json.dumps(cursor)))
    assert any(r.arg("after") and r.path.endswith("/comments") for r in fake.requests)
    assert sorted(i.external_id for i in items + rest) == sorted(ids + [late])


def test_a_cursor_dying_in_the_middle_of_a_resumed_walk_restarts_it(fake, clock):
    ids = [fake.add_comment(f"c{i}", at=T0 - timedelta(minutes=60 - i))["id"] for i in range(15)]
    conn = connector(fake, clock, page_limit=3, max_pages=2)
    items, cursor = conn.fetch(None)  # two pages read, the walk resumes at the third next time
    fake.expire_in = 1  # the resumed page is served, then the comments change and every cursor dies
    conn = connector(fake, clock, page_limit=3, max_pages=10)
    rest, cursor = drain(conn, json.loads(json.dumps(cursor)))
    assert sorted(i.external_id for i in items + rest) == sorted(ids)
    assert "after" not in cursor["media"][next(iter(cursor["media"]))]


def test_media_without_a_comment_count_is_still_read(fake, clock):
    comment = fake.add_comment("count me", at=T0 - timedelta(minutes=1))
    fake.inject(200, {"data": [{"id": fake.media[-1]["id"], "caption": "x", "timestamp": "2026-11-20T10:00:00+0000"}]},
                path="/media")
    items, _ = connector(fake, clock).fetch(None)
    assert [i.external_id for i in items] == [comment["id"]]


def test_edited_and_deleted_comments(fake, clock):
    keep = fake.add_comment("Is the rye vegan?", at=T0 - timedelta(minutes=3))
    gone = fake.add_comment("rude words", username="troll", at=T0 - timedelta(minutes=2))
    items, cursor = drain(connector(fake, clock))
    assert {i.external_id for i in items} == {keep["id"], gone["id"]}
    fake.edit_comment(keep["id"], "Is the seeded rye vegan?")
    fake.delete_comment(gone["id"])
    clock.now = T0 + timedelta(minutes=1)
    changed, cursor = drain(connector(fake, clock), cursor)
    by_id = {i.external_id: i for i in changed}
    assert by_id[keep["id"]].text == "Is the seeded rye vegan?" and by_id[keep["id"]].edited_at == clock.now
    assert by_id[gone["id"]].deleted and by_id[gone["id"]].external_id == gone["id"]
    # An edit changes no comment count: it is still seen once the periodic re-read comes round.
    fake.edit_comment(keep["id"], "Is the seeded rye vegan? Thanks!")
    clock.now = T0 + timedelta(minutes=30)
    again, _ = drain(connector(fake, clock), cursor)
    assert [(i.external_id, i.text) for i in again] == [(keep["id"], "Is the seeded rye vegan? Thanks!")]


def test_old_comments_are_not_history_but_new_ones_on_old_posts_are(fake, clock):
    old_media = fake.add_media("Last month's post", at=T0 - timedelta(days=40))
    fake.add_comment("ancient", media_id=old_media["id"], at=T0 - timedelta(days=30))
    items, cursor = drain(connector(fake, clock))
    assert items == []
    fresh = fake.add_comment("still selling these?", media_id=old_media["id"], at=T0)
    assert [i.external_id for i in drain(connector(fake, clock), cursor)[0]] == [fresh["id"]]


def test_reply_to_a_top_level_comment_and_to_a_reply(fake, clock):
    top = fake.add_comment("Open late today?", username="ava", at=T0 - timedelta(minutes=3))
    nested = fake.add_comment("same question", username="ben", parent_id=top["id"], at=T0 - timedelta(minutes=2))
    items, _ = drain(connector(fake, clock))
    by_id = {i.external_id: i for i in items}
    conn = connector(fake, clock)
    conn.reply(target(by_id[top["id"]]), "Until 9 tonight!", idempotency_key="a")
    conn.reply(target(by_id[nested["id"]]), "Yes, until 9.", idempotency_key="b")
    assert [(s["parent"], s["text"]) for s in fake.sent] == [(top["id"], "Until 9 tonight!"),
                                                           (top["id"], "@ben Yes, until 9.")]


def test_a_hidden_comment_is_refused_before_any_call(fake, clock):
    fake.add_comment("spam spam", hidden=True, at=T0 - timedelta(minutes=1))
    items, _ = drain(connector(fake, clock))
    before = len(fake.requests)
    with pytest.raises(NotAllowed, match="hidden"):
        connector(fake, clock).reply(target(items[0]), "hello", idempotency_key="h")
    assert len(fake.requests) == before


@pytest.mark.parametrize("after, late, human_agent, sent_as", [
    (timedelta(hours=23, minutes=59), False, "no", "RESPONSE"),
    (timedelta(hours=24, minutes=1), True, "yes", "HUMAN_AGENT"),
    (timedelta(hours=24, minutes=1), True, "no", None),
    (timedelta(hours=24, minutes=1), False, "no", None),  # core's clock disagrees: Meta refuses, one conversation
])
def test_the_24_hour_window_edge(fake, clock, after, late, human_agent, sent_as):
    fake.add_dm("Can I collect at 8?", username="erin", at=T0)
    items, _ = drain(connector(fake, clock))
    clock.now = T0 + after
    conn = connector(fake, clock, settings={"human_agent": human_agent})
    if sent_as is None:
        with pytest.raises(NotAllowed):
            conn.reply(target(items[0], late=late), "Sure!", idempotency_key="w")
        assert not [s for s in fake.sent if s["kind"] == "dm"]
        return
    result = conn.reply(target(items[0], late=late), "Sure!", idempotency_key="w")
    assert result.external_id
    body = [r for r in fake.requests if r.path.endswith("/messages")][-1].json()
    assert body["recipient"] == {"id": items[0].meta["igsid"]}
    assert (body.get("tag") or body["messaging_type"]) == sent_as


def test_private_reply_once_within_7_days(fake, clock):
    comment = fake.add_comment("How much is the wedding cake?", username="fay", at=T0 - timedelta(days=1))
    fake.add_comment("price list?", username="gus", at=T0 - timedelta(days=7, minutes=1))
    fake.add_dm("hi", username="hal", at=T0 - timedelta(minutes=1))
    clock.now = T0 - timedelta(days=7, minutes=1)
    items, cursor = drain(connector(fake, clock))
    clock.now = T0
    by_text = {i.text: i for i in items}
    conn = connector(fake, clock)
    result = conn.reply(target(by_text["How much is the wedding cake?"], mode="private"), "I'll DM you",
                        idempotency_key="p1")
    assert result.external_id and fake.sent[-1] == {"kind": "private", "comment": comment["id"],
                                                    "text": "I'll DM you", "id": result.external_id}
    body = [r for r in fake.requests if r.path.endswith("/messages")][-1].json()
    assert body["recipient"] == {"comment_id": comment["id"]} and "tag" not in body
    with pytest.raises(NotAllowed):  # one private reply per comment: Meta refuses the second
        conn.reply(target(by_text["How much is the wedding cake?"], mode="private"), "again", idempotency_key="p2")
    sends = len([r for r in fake.requests if r.path.endswith("/messages")])
    with pytest.raises(NotAllowed, match="7 days"):  # older than 7 days: refused before any call
        conn.reply(target(by_text["price list?"], mode="private"), "late", idempotency_key="p3")
    with pytest.raises(NotAllowed):  # a DM is not a comment
        conn.reply(target(by_text["hi"], mode="private"), "x", idempotency_key="p4")
    assert len([r for r in fake.requests if r.path.endswith("/messages")]) == sends
    # The private reply opened a conversation with the commenter; it comes back as our message to them.
    more, _ = drain(connector(fake, clock), cursor)
    private = [i for i in more if i.external_id == result.external_id]
    assert private and private[0].outbound and private[0].conversation_external_id == "dm:" + comment["from"]["id"]


def test_usage_headers_slow_down_and_a_regain_time_stops_calls(fake, clock):
    fake.add_comment("hello", at=T0 - timedelta(minutes=1))
    limits: dict = {}
    waits: list[float] = []
    fake.usage = {"call_count": 90, "total_cputime": 10, "total_time": 12, "estimated_time_to_regain_access": 0}
    conn = connector(fake, clock, limits=limits, sleep=waits.append)
    conn.fetch(None)
    assert waits and all(0 < w <= meta.MAX_PACE_S for w in waits)  # above 75 %: slower, not failing
    fake.usage = {"call_count": 100, "total_cputime": 10, "total_time": 12, "estimated_time_to_regain_access": 7}
    with pytest.raises(RateLimited) as caught:
        connector(fake, clock, limits=limits).fetch(None)
    before = len(fake.requests)
    with pytest.raises(RateLimited):  # a rebuilt connector remembers: no request at all
        connector(fake, clock, limits=limits).fetch(None)
    assert len(fake.requests) == before
    assert caught.value.retry_at == T0 + timedelta(minutes=7)


def test_the_usage_memory_outlives_a_rebuilt_connector_as_the_engine_hands_it_over(fake, clock):
    fake.usage = {"call_count": 100, "total_cputime": 1, "total_time": 1, "estimated_time_to_regain_access": 30}
    shared: dict = {}  # the engine's per-account dict, set on `connector.http.limits` (core/sync.py)
    first = connector(fake, clock)
    first.http.limits = shared
    with pytest.raises(RateLimited):
        first.fetch(None)
    rebuilt = connector(fake, clock)
    rebuilt.http.limits = shared
    before = len(fake.requests)
    with pytest.raises(RateLimited):
        rebuilt.fetch(None)
    assert len(fake.requests) == before


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80002])
def test_throttling_codes_in_a_400_body_are_rate_limits(fake, clock, code):
    fake.inject(400, {"error": {"message": "(#%d) Application request limit reached" % code, "type": "OAuthException",
                                "code": code, "fbtrace_id": "x"}}, times=10)
    with pytest.raises(RateLimited):
        connector(fake, clock).fetch(None)


def test_error_190_is_a_new_sign_in(fake, clock):
    fake.page_token = "rotated"
    with pytest.raises(AuthError, match="Sign in again"):
        connector(fake, clock).fetch(None)


def test_a_refused_part_leaves_the_other_working(fake, clock):
    comment = fake.add_comment("still here", at=T0 - timedelta(minutes=1))
    fake.inject(400, {"error": {"message": "(#10) Application does not have permission for this action",
                                "type": "OAuthException", "code": 10, "fbtrace_id": "x"}},
                path="/conversations", times=10)
    conn = connector(fake, clock)
    items, cursor = conn.fetch(None)
    assert [i.external_id for i in items] == [comment["id"]]
    assert "messages" in conn.notice and meta.ADVANCED_ACCESS in conn.notice
    assert "dm_at" not in cursor
    fake.clear_faults()
    fake.inject(400, {"error": {"message": "(#200) Permissions error", "type": "OAuthException", "code": 200,
                                "fbtrace_id": "x"}}, times=10)
    with pytest.raises(AuthError):  # refused everywhere: the login itself
        connector(fake, clock).fetch(cursor)


def test_a_first_poll_that_finds_nothing_says_why_it_may_be(fake, clock):
    conn = connector(fake, clock)
    items, cursor = conn.fetch(None)
    assert items == [] and meta.ADVANCED_ACCESS in conn.notice
    fake.add_comment("first customer!", at=T0)
    clock.now = T0 + timedelta(minutes=1)
    assert conn.fetch(cursor)[0] and conn.notice == ""


def test_malformed_json_and_malformed_entries(fake, clock):
    fake.inject(200, b"{not json", path="/media")
    with pytest.raises(TransientError):
        connector(fake, clock).fetch(None)
    good = fake.add_comment("fine", at=T0 - timedelta(minutes=1))
    bad = fake.add_comment("broken", at=T0 - timedelta(minutes=1))
    fake.ig_comments[bad["id"]]["timestamp"] = "yesterday-ish"
    fake.ig_comments[bad["id"]]["from"] = ["not", "an", "object"]
    legacy = fake.add_comment("no from field", username="old.client", at=T0 - timedelta(seconds=30))
    del fake.ig_comments[legacy["id"]]["from"]
    items, _ = drain(connector(fake, clock))
    assert [i.external_id for i in items] == [good["id"], legacy["id"]]
    assert items[1].author.external_id == "username:old.client" and items[1].author.handle == "@old.client"


def test_hostile_conversation_ids_never_reach_a_path_and_old_messages_are_quietly_left(fake, clock):
    fake.add_dm("hello", username="jo", at=T0 - timedelta(minutes=1))
    for i in range(22):
        fake.add_dm(f"long chat {i}", username="kim", at=T0 - timedelta(minutes=50 - i))
    fake.ig_conversations[next(iter(fake.ig_conversations))]["id"] = "../me/accounts?x="
    items, _ = drain(connector(fake, clock))
    assert [i.text for i in items] == [f"long chat {i}" for i in range(2, 22)]  # the 20 the API describes
    assert not any("accounts" in r.path for r in fake.requests)


def test_over_long_dm_is_refused_before_sending(fake, clock):
    fake.add_dm("hi", username="ivy", at=T0 - timedelta(minutes=1))
    items, _ = drain(connector(fake, clock))
    before = len(fake.requests)
    with pytest.raises(PermanentError, match="1000 bytes"):
        connector(fake, clock).reply(target(items[0]), "é" * 501, idempotency_key="long")
    assert len(fake.requests) == before


def test_check_says_what_cannot_be_polled(fake, clock):
    info = connector(fake, clock).check()
    assert info.handle == "@" + IG_USERNAME and MENTIONS_NOTE in info.notes
    assert SPEC.traits.reply_window is meta.REPLY_WINDOW  # one rule, shared with Messenger


def test_settings_without_ids_are_refused(fake):
    with pytest.raises(PermanentError, match="Meta sign-in"):
        InstagramConnector({"graph_url": fake.url, "page_id": PAGE_ID}, instagram_secrets())


def test_sign_in_offers_only_the_instagram_accounts(fake):
    import requests

    from socialdesk.connectors.base import MemorySecrets
    from socialdesk.connectors.oauth import parse_pasted
    from tests.fakes.instagram import APP_ID, APP_SECRET

    flow = SPEC.login_flow({"app_id": APP_ID, "graph_url": fake.url},
                           secrets=MemorySecrets({meta.APP_SECRET: APP_SECRET}))
    request = flow.start(loopback=False)
    answer = requests.get(request.url, allow_redirects=False, timeout=10)
    accounts = flow.finish(parse_pasted(answer.headers["Location"]))
    assert [(a.kind, a.settings[meta.IG_USER_ID]) for a in accounts] == [("instagram", IG_USER_ID)]
    assert MENTIONS_NOTE in accounts[0].info.notes


def test_the_demo_simulates_what_the_connector_produces():
    from socialdesk.connectors.demo import DemoConnector

    demo = DemoConnector({"channel": "instagram"}, None, now=lambda: T0)
    items, _ = demo.fetch(None)
    assert {i.kind for i in items} == set(SPEC.capabilities)
    assert all(i.reply_window_ends_at == i.created_at + timedelta(hours=24) for i in items if i.kind == "dm")
    assert all(i.reply_window_ends_at is None for i in items if i.kind == "comment")
    assert demo.traits is SPEC.traits


def test_edits_and_deletions_reach_the_store(fake, clock, store):
    from socialdesk.core import ingest, queue
    from socialdesk.core.hours import Schedule
    from socialdesk.core.store import Account, Message, MessageRevision
    from socialdesk.core.targets import TargetConfig

    policy = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))
    with store.write():
        account = Account.create(kind="instagram", name="Insta", settings={}, created_at=T0)
    keep = fake.add_comment("Is the rye vegan?", at=T0 - timedelta(minutes=3))
    gone = fake.add_comment("rude words", username="troll", at=T0 - timedelta(minutes=2))
    items, cursor = connector(fake, clock).fetch(None)
    ingest.ingest(store, account.id, items, cursor, policy, T0)
    fake.edit_comment(keep["id"], "Is the seeded rye vegan?")
    fake.delete_comment(gone["id"])
    clock.now = T0 + timedelta(minutes=1)
    items, cursor = connector(fake, clock).fetch(cursor)
    ingest.ingest(store, account.id, items, cursor, policy, clock.now)
    kept = Message.get(Message.external_id == keep["id"])
    assert kept.text == "Is the seeded rye vegan?"
    assert [r.text for r in MessageRevision.select().where(MessageRevision.message == kept.id)] == ["Is the rye vegan?"]
    deleted = Message.get(Message.external_id == gone["id"])
    assert deleted.deleted_at is not None and deleted.text == "rude words"
