"""The YouTube connector against the fake YouTube Data API (tests/fakes/youtube.py), which holds every
request and answer to Google's discovery document.

Covered: the fake refuses what Google's description does not allow; paging with tokens until known
threads, resuming a cut-short catch-up, a page token YouTube no longer takes; replies beyond what a
thread carries (comments.list), our own channel's comments as outbound, edits as revisions; reply limits
and refusals; 401 with refresh and a refused refresh; 403 quotaExceeded until midnight Pacific; malformed
JSON; the quota meter and the pace that keeps polling within its share of the day's quota.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests

from socialdesk.connectors.base import (
    AuthError,
    MemorySecrets,
    NotAllowed,
    PermanentError,
    QuotaExceeded,
    ReplyTarget,
    TransientError,
)
from socialdesk.connectors.oauth import TOKEN_ENTRY, Tokens
from socialdesk.connectors.youtube import SPEC, TEXT_LIMIT, YouTubeConnector
from tests.fakes.youtube import (
    CHANNEL_ID,
    CLIENT_SECRET,
    REPLIES_CARRIED,
    YouTubeFake,
    account_secrets,
    discovery,
    schema_problems,
    settings_for,
    token_entry,
    youtube_fake,  # noqa: F401  (a fixture, used by name)
)

PACIFIC = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def fake(youtube_fake):  # noqa: F811 - the fixture of tests/fakes/youtube.py (it asserts no violations)
    return youtube_fake


def connector(fake: YouTubeFake, secrets: MemorySecrets | None = None, **kwargs) -> YouTubeConnector:
    settings = settings_for(fake, usage_budget=kwargs.pop("budget", 10**9), **kwargs.pop("settings", {}))
    return YouTubeConnector(settings, secrets or account_secrets(), sleep=lambda s: None, **kwargs)


def target(item) -> ReplyTarget:
    return ReplyTarget(conversation_external_id=item.conversation_external_id, kind=item.kind, public=item.public,
                       parent_external_id=item.external_id, parent_meta=item.meta)


def calls(fake: YouTubeFake, path: str) -> list:
    return [r for r in fake.requests if r.path.endswith(path)]


# --- the fake keeps to Google's description --------------------------------------------------------


def test_discovery_document_still_has_what_the_connector_uses():
    doc = discovery()
    threads = doc["resources"]["commentThreads"]["methods"]["list"]["parameters"]
    assert {"allThreadsRelatedToChannelId", "order", "pageToken", "textFormat", "maxResults"} <= set(threads)
    assert "time" in threads["order"]["enum"] and threads["maxResults"]["maximum"] == "100"
    assert doc["resources"]["comments"]["methods"]["insert"]["httpMethod"] == "POST"
    assert {"parentId", "textOriginal", "updatedAt", "publishedAt", "authorChannelId"} <= set(
        doc["schemas"]["CommentSnippet"]["properties"])


@pytest.mark.parametrize("query, reason", [
    ({"part": "snippet", "allThreadsRelatedToChannelId": CHANNEL_ID, "since": "2026-01-01"}, "unexpectedParameter"),
    ({"part": "snippet", "allThreadsRelatedToChannelId": CHANNEL_ID, "order": "newest"}, "invalidParameter"),
    ({"part": "snippet", "allThreadsRelatedToChannelId": CHANNEL_ID, "maxResults": "101"}, "invalidParameter"),
    ({"part": "snippet,statistics", "allThreadsRelatedToChannelId": CHANNEL_ID}, "invalidParameter"),
    ({"allThreadsRelatedToChannelId": CHANNEL_ID}, "missingRequiredParameter"),
])
def test_the_fake_refuses_a_request_the_discovery_document_does_not_allow(query, reason):
    fake = YouTubeFake()
    with fake.running():
        answer = requests.get(fake.url + "/www.googleapis.com/youtube/v3/commentThreads", params=query,
                              headers={"Authorization": "Bearer good-token"}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["errors"][0]["reason"] == reason
    assert fake.violations  # and the test that caused it would fail at teardown


def test_the_fake_checks_its_own_answers_against_the_response_schema():
    fake = YouTubeFake()
    thread = fake.add("hello")
    assert schema_problems({"items": [thread]}, "CommentThreadListResponse") == []
    thread["snippet"]["starRating"] = 5  # a field Google does not describe
    assert schema_problems({"items": [thread]}, "CommentThreadListResponse") == [
        "CommentThreadListResponse.items[0].snippet.starRating: not in the discovery document"]


# --- fetching --------------------------------------------------------------------------------------


def test_comments_arrive_with_video_title_author_and_link(fake):
    fake.add("Is the rye vegan?", "Robin Baker", video_id="vid-sourdough")
    items, cursor = connector(fake).fetch(None)
    [item] = items
    assert item.kind == "comment" and item.public and not item.outbound
    assert item.text == "Is the rye vegan?"
    assert item.author.handle == "@robinbaker" and item.author.external_id.startswith("UC")
    assert item.subject == item.meta["video_title"] == "How we shape sourdough"
    assert item.permalink == f"https://www.youtube.com/watch?v=vid-sourdough&lc={item.external_id}"
    assert item.conversation_external_id == f"thread:{item.external_id}"
    json.dumps(cursor)
    # Every list call asked what the issue says: all threads of the channel, newest first, with replies.
    [call] = calls(fake, "/commentThreads")
    assert call.arg("allThreadsRelatedToChannelId") == CHANNEL_ID and call.arg("order") == "time"
    assert call.arg("part") == "snippet,replies" and call.arg("textFormat") == "plainText"


def test_pages_with_tokens_until_a_known_thread(fake):
    for i in range(2):
        fake.add(f"old {i}")
    yt = connector(fake, page_size=3)
    _, cursor = yt.fetch(None)
    new = [fake.add(f"new {i}")["id"] for i in range(7)]
    fake.requests.clear()
    items, cursor = yt.fetch(cursor)
    assert [i.external_id for i in items] == new  # oldest first, none twice, none missing
    pages = calls(fake, "/commentThreads")
    assert len(pages) == 3  # 3 + 3 + (1 new + 2 known): stops at the page with a known thread
    assert [p.arg("pageToken") for p in pages][0] is None and all(p.arg("pageToken") for p in pages[1:])
    fake.requests.clear()
    assert yt.fetch(cursor)[0] == []
    assert len(calls(fake, "/commentThreads")) == 1  # one page, one unit, when nothing is new


def test_a_flood_beyond_the_page_limit_is_resumed_next_poll_not_skipped(fake):
    fake.add("old")
    yt = connector(fake, page_size=3, max_pages=1)
    _, cursor = yt.fetch(None)
    new = [fake.add(f"new {i}")["id"] for i in range(7)]
    seen: list[str] = []
    for _ in range(5):
        items, cursor = yt.fetch(cursor)
        seen += [i.external_id for i in items]
    assert sorted(seen) == sorted(new) and len(seen) == len(set(seen))
    assert cursor["resume"] == ""


def test_a_page_token_youtube_no_longer_takes_restarts_from_the_top(fake):
    fake.add("old")
    yt = connector(fake)
    _, cursor = yt.fetch(None)
    fresh = fake.add("new")["id"]
    items, cursor = yt.fetch({**cursor, "resume": "not-a-token"})
    assert items == [] and cursor["resume"] == ""
    assert [i.external_id for i in yt.fetch(cursor)[0]] == [fresh]
    fake.violations.clear()  # the bad token was ours on purpose


def test_replies_beyond_what_the_thread_carries_are_read_with_comments_list(fake):
    thread = fake.add("Do you ship?")
    replies = [fake.add_reply(thread["id"], f"me too {i}", f"Fan {i}")["id"]
               for i in range(REPLIES_CARRIED + 2)]
    yt = connector(fake)
    items, cursor = yt.fetch(None)
    assert [i.external_id for i in items] == [thread["id"], *replies]
    assert all(i.in_reply_to == thread["id"] and i.conversation_external_id == f"thread:{thread['id']}"
               for i in items[1:])
    [listed] = calls(fake, "/comments")
    assert listed.arg("parentId") == thread["id"]
    # One more reply: the count grew beyond what the thread carries, so comments.list again.
    later = fake.add_reply(thread["id"], "any news?", "Fan 0")["id"]
    items, cursor = yt.fetch(cursor)
    assert later in [i.external_id for i in items]
    assert len(calls(fake, "/comments")) == 2
    # Nothing new: no comments.list.
    assert yt.fetch(cursor)[0] == [] and len(calls(fake, "/comments")) == 2


def test_our_own_channels_comments_are_outbound(fake):
    thread = fake.add("Open on Sunday?")
    ours = fake.add_reply(thread["id"], "Yes, 8 to 2!", ours=True)
    items, _ = connector(fake).fetch(None)
    by_id = {i.external_id: i for i in items}
    assert by_id[ours["id"]].outbound and not by_id[thread["id"]].outbound


def test_an_edited_comment_comes_again_as_a_new_version(fake):
    thread = fake.add("Five stars")
    yt = connector(fake)
    [first], cursor = yt.fetch(None)
    assert first.edited_at is None
    fake.edit(thread["id"], "One star, the bread was stale")
    [edited], cursor = yt.fetch(cursor)
    assert edited.external_id == first.external_id and edited.text == "One star, the bread was stale"
    assert edited.edited_at is not None and edited.edited_at > first.created_at
    assert yt.fetch(cursor)[0] == []


def test_a_malformed_answer_is_transient(fake):
    fake.inject(200, b"{not json", path="commentThreads")
    with pytest.raises(TransientError):
        connector(fake).fetch(None)


# --- replying --------------------------------------------------------------------------------------


def test_reply_goes_to_the_threads_top_level_comment(fake):
    thread = fake.add("Is there parking?")
    reply = fake.add_reply(thread["id"], "Asking too", "Other")
    yt = connector(fake)
    items, _ = yt.fetch(None)
    answered = next(i for i in items if i.external_id == reply["id"])  # answering the reply, not the top
    result = yt.reply(target(answered), "Yes, behind the shop.", idempotency_key="k1")
    [body] = fake.inserted
    assert body == {"snippet": {"parentId": thread["id"], "textOriginal": "Yes, behind the shop."}}
    assert result.external_id.startswith(thread["id"] + ".")
    [insert] = calls(fake, "/comments")
    assert insert.method == "POST" and insert.arg("part") == "snippet"


def test_reply_limits_and_refusals(fake):
    fake.add("q")
    closed = fake.add("comments held", can_reply=False)
    yt = connector(fake)
    items, _ = yt.fetch(None)
    open_item = next(i for i in items if i.external_id != closed["id"])
    with pytest.raises(PermanentError, match="10,000"):
        yt.reply(target(open_item), "x" * (TEXT_LIMIT + 1), idempotency_key="long")
    assert fake.inserted == [] and calls(fake, "/comments") == []  # refused before spending
    assert SPEC.traits.limit_for("comment").limit == TEXT_LIMIT  # the composer counts to the same limit
    closed_item = next(i for i in items if i.external_id == closed["id"])
    with pytest.raises(NotAllowed):
        yt.reply(target(closed_item), "hi", idempotency_key="closed")
    # Where we did not know, YouTube's own refusal (400 operationNotSupported) is the same NotAllowed.
    with pytest.raises(NotAllowed):
        yt.reply(target(closed_item).__class__(**{**target(closed_item).__dict__, "parent_meta": {
            "top_comment_id": closed["id"]}}), "hi", idempotency_key="closed2")


# --- tokens and quota --------------------------------------------------------------------------------


def test_a_401_refreshes_the_token_once_and_stores_it(fake):
    secrets = account_secrets(access="stale-token")  # not valid at the fake, not yet expired locally
    yt = connector(fake, secrets)
    fake.add("hello")
    items, _ = yt.fetch(None)
    assert len(items) == 1 and fake.refresh_calls == 1
    stored = Tokens.from_json(secrets.get(TOKEN_ENTRY))
    assert stored is not None and stored.access_token in fake.tokens
    assert stored.refresh_token == "good-refresh"
    [refresh] = calls(fake, "/oauth2.googleapis.com/token")
    assert refresh.form()["client_secret"] == CLIENT_SECRET


def test_a_refused_refresh_asks_for_a_new_sign_in_and_names_the_testing_trap(fake):
    secrets = MemorySecrets({TOKEN_ENTRY: token_entry(access="stale", refresh="revoked"),
                             "client_secret": CLIENT_SECRET})
    with pytest.raises(AuthError, match="Testing"):
        connector(fake, secrets).fetch(None)


def test_quota_exceeded_waits_for_midnight_pacific(fake):
    now = datetime(2026, 11, 30, 22, 30, tzinfo=timezone.utc)  # 14:30 in Los Angeles
    fake.quota = 0
    with pytest.raises(QuotaExceeded) as caught:
        connector(fake, now=lambda: now).fetch(None)
    assert caught.value.retry_at == datetime(2026, 12, 1, 0, 0, tzinfo=PACIFIC)
    assert "midnight Pacific" in str(caught.value)


def test_every_call_is_counted_on_the_usage_meter(fake):
    thread = fake.add("q")
    for i in range(REPLIES_CARRIED + 1):
        fake.add_reply(thread["id"], f"r{i}")
    yt = connector(fake)
    items, _ = yt.fetch(None)
    yt.reply(target(items[0]), "thanks", idempotency_key="k")
    yt.check()
    counted = {e.bucket: e.units for e in yt.usage.drain()}
    assert counted == {"list": fake.units - 50, "insert": 50}
    assert fake.units_by_method["comments.insert"] == 50


def test_polling_keeps_to_its_share_of_the_days_quota(fake):
    """Budget 100 units, polling share 50 %: at 1 unit a poll and 10 h left in the Pacific day, a poll is
    due every 10 h / 50 = 12 min; polls in between spend nothing; the share spent stops polling until the
    next Pacific day, with a notice."""
    clock = [datetime(2026, 11, 30, 22, 0, tzinfo=timezone.utc)]  # 14:00 Pacific, 10 h to midnight
    yt = connector(fake, budget=100, now=lambda: clock[0])
    fake.add("first", video_id="")  # channel comments: no video title to look up, 1 unit a poll
    _, cursor = yt.fetch(None)
    spent = fake.units
    clock[0] += timedelta(minutes=5)
    assert yt.fetch(cursor) == ([], cursor)  # not due: nothing asked, nothing spent
    assert fake.units == spent
    clock[0] += timedelta(minutes=8)
    fake.add("second", video_id="")
    items, cursor = yt.fetch(cursor)
    assert [i.text for i in items] == ["second"]
    # Spend the rest of the share, then polling stops until midnight Pacific.
    cursor["poll_units"] = 50
    clock[0] += timedelta(hours=1)
    before = fake.units
    assert yt.fetch(cursor)[0] == [] and fake.units == before
    assert "share of today's YouTube quota" in yt.notice
    clock[0] = datetime(2026, 12, 1, 8, 1, tzinfo=timezone.utc)  # 00:01 Pacific: a new quota day
    fake.add("third", video_id="")
    items, cursor = yt.fetch(cursor)
    assert [i.text for i in items] == ["third"] and cursor["poll_units"] >= 1 and yt.notice == ""


def test_a_poll_stops_where_its_share_ends_and_resumes_there(fake):
    fake.add("old")
    clock = [datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)]
    yt = connector(fake, budget=10, page_size=2, now=lambda: clock[0])  # share: 5 units
    _, cursor = yt.fetch(None)
    new = [fake.add(f"new {i}")["id"] for i in range(9)]
    cursor.update(poll_units=3, polls=3)  # 2 units left today (1 a poll so far): two pages of 2
    clock[0] += timedelta(hours=12)  # 13:00 Pacific: the pace (11 h left × 1 / 2 units) allows a poll
    items, cursor = yt.fetch(cursor)
    assert len(items) == 4 and cursor["resume"] and cursor["poll_units"] == 5
    clock[0] = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # the next Pacific day
    rest: list[str] = []
    for _ in range(10):
        clock[0] += timedelta(hours=1)
        got, cursor = yt.fetch(cursor)
        rest += [i.external_id for i in got]
    assert sorted([i.external_id for i in items] + rest) == sorted(new)


def test_a_garbled_cursor_starts_afresh_instead_of_failing(fake):
    fake.add("still here")
    garbled = {"known": "x", "resume": 5, "poll_units": -3, "polls": True, "titles": [], "last_poll": "soon"}
    items, cursor = connector(fake).fetch(garbled)
    assert [i.text for i in items] == ["still here"] and cursor["poll_units"] >= 1
    json.dumps(cursor)


def test_an_edit_is_stored_as_a_revision_and_our_studio_reply_answers(fake, store):
    """Through ingest: the edited comment keeps its earlier text as a revision; a reply the channel wrote
    in YouTube Studio (outbound) answers the thread."""
    from socialdesk.core import ingest, queue
    from socialdesk.core.hours import Schedule
    from socialdesk.core.store import Account, Conversation, Message, MessageRevision
    from socialdesk.core.targets import TargetConfig

    policy = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))
    now = datetime.now(timezone.utc)
    with store.write():
        account = Account.create(name="tube", kind="youtube", settings={"channel_id": CHANNEL_ID}, created_at=now)
    thread = fake.add("Lovely loaf")
    yt = connector(fake)
    items, cursor = yt.fetch(None)
    ingest.ingest(store, account.id, items, cursor, policy, now)
    fake.edit(thread["id"], "Lovely loaf, but it was burnt")
    items, cursor = yt.fetch(cursor)
    ingest.ingest(store, account.id, items, cursor, policy, now)
    message = Message.get(Message.external_id == thread["id"])
    assert message.text == "Lovely loaf, but it was burnt"
    assert [r.text for r in MessageRevision.select().where(MessageRevision.message == message)] == ["Lovely loaf"]
    conversation = Conversation.get(Conversation.account == account.id)
    assert conversation.awaiting_since is not None and conversation.unanswered_count == 1
    fake.add_reply(thread["id"], "Sorry! Come by for a fresh one.", ours=True)
    items, cursor = yt.fetch(cursor)
    ingest.ingest(store, account.id, items, cursor, policy, now + timedelta(minutes=1))
    answered = Conversation.get_by_id(conversation.id)
    assert answered.awaiting_since is None and answered.unanswered_count == 0 and answered.due_at is None


def test_channels_of_one_google_project_poll_within_one_share(fake):
    """Two channels signed in with the same OAuth client: their polling adds up against one share (50 of a
    100-unit quota); a channel of another client keeps its own."""
    clock = [datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc)]
    fake.add("hello")
    shop = connector(fake, budget=100, now=lambda: clock[0], settings={"client_id": "project-share-test"})
    _, cursor = shop.fetch(None)
    shop.fetch({**cursor, "poll_units": 45, "polls": 45})  # the shop channel has polled a lot today
    other_channel = connector(fake, budget=100, now=lambda: clock[0],
                              settings={"client_id": "project-share-test", "channel_id": "UCtutorials00000000000b"})
    before = fake.units
    later = {**cursor, "poll_units": 5, "polls": 5, "last_poll": None}
    assert other_channel.fetch(later)[0] == [] and fake.units == before  # 45 + 5: the project's share is spent
    assert "share of today's YouTube quota (50 of 100 units)" in other_channel.notice
    elsewhere = connector(fake, budget=100, now=lambda: clock[0], settings={"client_id": "another-project"})
    assert [i.text for i in elsewhere.fetch(None)[0]] == ["hello"]
