"""Google: the one sign-in (connectors/google.py) and the reviews connector (connectors/google_reviews.py),
against the fake Google (tests/fakes/google.py) on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from socialdesk.connectors import google
from socialdesk.connectors.base import (
    AuthError,
    MemorySecrets,
    NotAllowed,
    PermanentError,
    QuotaExceeded,
    RateLimited,
    ReplyTarget,
    TransientError,
)
from socialdesk.connectors.google_reviews import ANONYMOUS, SPEC, GoogleReviewsConnector
from socialdesk.connectors.oauth import TOKEN_ENTRY, Tokens
from tests.fakes.google import (
    CLIENT_ID,
    CLIENT_SECRET_VALUE,
    QUOTA_EXCEEDED,
    RATE_LIMITED,
    GoogleFake,
    secrets_for,
    settings_for,
)


@pytest.fixture
def google_fake():
    fake = GoogleFake()
    with fake.running():
        yield fake


def sign_in(fake: GoogleFake, use: str = "reviews, youtube", secret: str = CLIENT_SECRET_VALUE):
    """The whole browser sign-in, the browser being this test: returns the accounts offered."""
    flow = SPEC.login_flow({"client_id": CLIENT_ID, "use": use, "api_base": fake.url},
                           secrets=MemorySecrets({"client_secret": secret}))
    request = flow.start(loopback=True)
    assert request.mode == "loopback"
    try:
        page = requests.get(request.url, timeout=10)  # the fake consents and redirects to the listener
        assert page.status_code == 200
        return flow.finish(flow.wait(5)), request.url
    finally:
        flow.cancel()


def connector(fake: GoogleFake, **kwargs) -> GoogleReviewsConnector:
    return GoogleReviewsConnector(settings_for(fake), kwargs.pop("secrets", None) or secrets_for(fake),
                                  sleep=lambda s: None, **kwargs)


# --- sign-in ------------------------------------------------------------------------------------------


def test_one_sign_in_offers_the_locations_and_the_youtube_channels(google_fake):
    accounts, url = sign_in(google_fake)
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/accounts.google.com/o/oauth2/v2/auth"
    assert query["scope"] == [f"{google.SCOPE_BUSINESS} {google.SCOPE_YOUTUBE}"]
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"][0].startswith("http://127.0.0.1:")
    assert [(a.label, a.kind) for a in accounts] == [("The Shop – Main Street (Google reviews)", ""),
                                                     ("Shop How-tos (YouTube)", "youtube")]
    location, channel = accounts
    assert location.settings == {"location": "accounts/1001/locations/2002",
                                 "maps_uri": "https://maps.google.com/maps?cid=42"}
    assert channel.settings == {"channel_id": "UCshopchannel000000000001"} and channel.info.handle == "@shophowtos"
    for account in accounts:  # each refreshes on its own: the token entry and the owner's client secret
        assert set(account.secrets) == {TOKEN_ENTRY, "client_secret"} == set(google.SECRET_NAMES)
        assert Tokens.from_json(account.secrets[TOKEN_ENTRY]).refresh_token
    # Only the locations listing and channels.list were called, with the token just issued.
    assert "/mybusinessaccountmanagement.googleapis.com/v1/accounts" in google_fake.paths()


def test_only_the_scopes_the_owner_enables_are_asked(google_fake):
    accounts, url = sign_in(google_fake, use="youtube")
    assert parse_qs(urlsplit(url).query)["scope"] == [google.SCOPE_YOUTUBE]
    assert [a.kind for a in accounts] == ["youtube"]
    assert not any("mybusiness" in p for p in google_fake.paths())
    accounts, url = sign_in(google_fake, use="reviews")
    assert parse_qs(urlsplit(url).query)["scope"] == [google.SCOPE_BUSINESS]
    assert [a.kind for a in accounts] == [""]
    assert google.uses({"use": "both"}) == ("reviews", "youtube")
    with pytest.raises(PermanentError, match="reviews, youtube or both"):
        google.uses({"use": "maps"})


def test_before_approval_the_sign_in_says_the_quota_is_0_not_error_429(google_fake):
    google_fake.approved = False
    with pytest.raises(QuotaExceeded) as caught:
        sign_in(google_fake, use="reviews")
    text = str(caught.value)
    assert "has not approved this app's access" in text and "quota is 0" in text and "Application for Basic API Access" in text
    assert "429" not in text
    # With YouTube enabled too, the channel is still offered and says why no location is.
    accounts, _ = sign_in(google_fake)
    assert [a.kind for a in accounts] == ["youtube"]
    assert any("quota is 0" in note for note in accounts[0].info.notes)


def test_a_wrong_client_secret_or_a_missing_one_is_said_plainly(google_fake):
    with pytest.raises(PermanentError, match="invalid_client"):
        sign_in(google_fake, secret="not-the-secret")
    flow = SPEC.login_flow({"client_id": CLIENT_ID, "api_base": google_fake.url}, secrets=MemorySecrets())
    with pytest.raises(AuthError, match="client secret is missing"):
        flow.start(loopback=True)
    assert flow.listener is None  # the port is free again


def test_an_unticked_permission_is_named(google_fake):
    google_fake.grant_only = {google.SCOPE_YOUTUBE}
    accounts, _ = sign_in(google_fake)
    assert [a.kind for a in accounts] == ["youtube"]
    assert any("Reviews were not allowed" in note for note in accounts[0].info.notes)


def test_api_base_is_only_for_a_server_on_this_computer():
    assert google.endpoint({}, google.REVIEWS_BASE) == "https://mybusiness.googleapis.com/v4"
    assert google.endpoint({"api_base": "http://127.0.0.1:9"}, google.REVIEWS_BASE) == \
        "http://127.0.0.1:9/mybusiness.googleapis.com/v4"
    for bad in ("https://evil.example", "http://10.0.0.1:80"):
        with pytest.raises(PermanentError):
            google.endpoint({"api_base": bad}, google.TOKEN_URL)


# --- reviews ----------------------------------------------------------------------------------------------


def test_reviews_arrive_with_stars_names_anonymity_and_our_existing_reply(google_fake):
    first = google_fake.add("Friendly staff", 5, name="Léa Martin")
    silent = google_fake.add("", 2, anonymous=True)
    answered = google_fake.add("Good coffee", 4, reply="Thank you!")
    items, cursor = connector(google_fake, page_size=2).fetch(None)
    assert [(i.external_id, i.rating, i.author.display_name, i.text, i.outbound) for i in items] == [
        (first["reviewId"], 5, "Léa Martin", "Friendly staff", False),
        (silent["reviewId"], 2, ANONYMOUS, "", False),
        (answered["reviewId"], 4, "Alice Example", "Good coffee", False),
        (answered["reviewId"] + "/reply", None, "", "Thank you!", True),
    ]
    assert {i.conversation_external_id for i in items[2:]} == {answered["reviewId"]}
    assert all(i.kind == "review" and i.public for i in items)
    assert items[1].meta == {"anonymous": True}
    requested = [r for r in google_fake.requests if r.path.endswith("/reviews")]
    assert {r.arg("orderBy") for r in requested} == {"updateTime desc"} and len(requested) == 2  # 2 pages
    json.dumps(cursor)


def test_paging_stops_at_the_watermark_and_an_edit_is_a_new_version(google_fake):
    review = google_fake.add("Perfect", 5)
    c = connector(google_fake, page_size=2)
    _, cursor = c.fetch(None)
    for i in range(5):
        google_fake.add(f"more {i}", 4)
    google_fake.requests.clear()
    items, cursor = c.fetch(cursor)
    assert [i.text for i in items] == [f"more {i}" for i in range(5)]
    assert len([r for r in google_fake.requests if r.path.endswith("/reviews")]) == 3  # 2 + 2 + 1 (stops below)
    edited = google_fake.edit(review["reviewId"], "Rude staff today", rating=1)
    items, cursor = c.fetch(cursor)
    assert [(i.external_id, i.text, i.rating) for i in items] == [(review["reviewId"], "Rude staff today", 1)]
    assert items[0].edited_at == datetime.fromisoformat(edited["updateTime"][:26] + "+00:00")
    assert c.fetch(cursor)[0] == []


def test_a_deleted_review_is_reported_deleted_within_bounded_work(google_fake):
    kept = google_fake.add("stays", 5)
    gone = google_fake.add("will vanish", 1)
    c = connector(google_fake, page_size=2)
    _, cursor = c.fetch(None)
    google_fake.delete(gone["reviewId"])
    google_fake.add("a new one", 3)  # same count as before: the total alone would not tell
    items, cursor = c.fetch(cursor)
    assert [(i.external_id, i.deleted) for i in items] == [(gone["reviewId"], True), (items[1].external_id, False)]
    assert kept["reviewId"] not in [i.external_id for i in items]
    google_fake.requests.clear()
    assert c.fetch(cursor)[0] == []
    assert len(google_fake.requests) == 1  # nothing vanished: one page, no sweep


def test_a_reply_made_in_googles_app_and_its_removal_arrive_with_the_daily_sweep(google_fake):
    now = [datetime.now(timezone.utc)]
    review = google_fake.add("Nice", 5)
    c = connector(google_fake, now=lambda: now[0])
    _, cursor = c.fetch(None)
    google_fake.reviews[review["reviewId"]]["reviewReply"] = {"comment": "Merci!", "updateTime": review["updateTime"]}
    assert c.fetch(cursor)[0] == []  # the review's updateTime did not move: seen only by the sweep
    now[0] += timedelta(days=1, minutes=1)
    items, cursor = c.fetch(cursor)
    assert [(i.external_id, i.text, i.outbound) for i in items] == [(review["reviewId"] + "/reply", "Merci!", True)]
    del google_fake.reviews[review["reviewId"]]["reviewReply"]
    now[0] += timedelta(days=1, minutes=1)
    items, _ = c.fetch(cursor)
    assert [(i.external_id, i.deleted, i.outbound) for i in items] == [(review["reviewId"] + "/reply", True, True)]


def test_reply_puts_the_reply_edits_it_and_deletes_it(google_fake):
    review = google_fake.add("Where do I park?", 3)
    c = connector(google_fake)
    target = ReplyTarget(conversation_external_id=review["reviewId"], kind="review", public=True,
                         parent_external_id=review["reviewId"])
    result = c.reply(target, "Behind the shop.", idempotency_key="k1")
    assert result.external_id == review["reviewId"] + "/reply"
    c.reply(target, "Behind the shop, free after 6 pm.", idempotency_key="k2")
    assert google_fake.reviews[review["reviewId"]]["reviewReply"]["comment"] == "Behind the shop, free after 6 pm."
    items, _ = c.fetch(None)  # the fetched reply has our result's id: stored once
    assert [i.external_id for i in items if i.outbound] == [result.external_id]
    c.delete_reply(review["reviewId"])
    assert "reviewReply" not in google_fake.reviews[review["reviewId"]]
    with pytest.raises(PermanentError, match="4,096 bytes"):
        c.reply(target, "é" * 2049, idempotency_key="k3")  # 4,098 bytes
    assert SPEC.traits.limit_for("review").counter("é" * 2049) == 4098


def test_an_unverified_location_refuses_replies_as_not_allowed(google_fake):
    review = google_fake.add("Hello", 4)
    google_fake.locations["accounts/1001"][0]["metadata"]["hasVoiceOfMerchant"] = False
    c = connector(google_fake)
    with pytest.raises(NotAllowed, match="verified locations"):
        c.reply(ReplyTarget(conversation_external_id=review["reviewId"], kind="review", public=True), "Hi",
                idempotency_key="k")
    assert any("not verified" in note for note in c.check().notes)


def test_an_expired_token_is_refreshed_once_with_the_owners_client(google_fake):
    google_fake.add("Hi", 5)
    secrets = secrets_for(google_fake)
    google_fake.expire_access_tokens()  # 401 UNAUTHENTICATED for the stored token
    items, _ = connector(google_fake, secrets=secrets).fetch(None)
    assert len(items) == 1
    refreshes = [r for r in google_fake.requests if r.path.endswith("/token")]
    assert len(refreshes) == 1 and refreshes[0].form()["client_secret"] == CLIENT_SECRET_VALUE
    stored = Tokens.from_json(secrets.get(TOKEN_ENTRY))
    assert stored.access_token in google_fake.tokens and stored.refresh_token  # kept: Google does not rotate
    # A refused refresh says what to do, including Google's 7-day rule for "Testing" projects.
    google_fake.expire_access_tokens()
    google_fake.refresh_tokens.clear()
    with pytest.raises(AuthError, match="Testing"):
        connector(google_fake, secrets=secrets).fetch(None)


def test_quota_rate_limits_and_malformed_answers_are_typed(google_fake):
    google_fake.add("Hi", 5)
    c = connector(google_fake)
    google_fake.inject(403, QUOTA_EXCEEDED, path="/reviews")
    with pytest.raises(QuotaExceeded, match="midnight Pacific"):
        c.fetch(None)
    google_fake.inject(429, RATE_LIMITED, path="/reviews")
    with pytest.raises(RateLimited) as caught:  # a per-minute limit: not the quota-0 state
        c.fetch(None)
    assert not isinstance(caught.value, QuotaExceeded)
    google_fake.inject(200, b"{not json", path="/reviews")
    with pytest.raises(TransientError, match="malformed"):
        c.fetch(None)
    google_fake.approved = False
    with pytest.raises(QuotaExceeded, match="quota is 0"):
        c.fetch(None)


def test_the_demo_google_reviews_use_googles_traits_and_carry_stars():
    from socialdesk.app import DEMO_ACCOUNTS
    from socialdesk.connectors.demo import DemoConnector

    assert ("Google reviews (demo)", "google") in DEMO_ACCOUNTS
    connector = DemoConnector({"channel": "google"}, None)
    items, _ = connector.fetch(None)
    assert connector.traits is SPEC.traits and connector.capabilities == {"review"}
    assert [i.rating for i in items] == [1, 3, 5, 2] and {i.kind for i in items} == {"review"}


def test_removing_a_published_reply_is_refused_where_the_platform_cannot(store):
    from socialdesk.connectors.base import Author, InboundItem
    from socialdesk.connectors.demo import DemoConnector
    from socialdesk.core import ingest, published_reply, queue
    from socialdesk.core.changes import ChangeBus
    from socialdesk.core.hours import Schedule
    from socialdesk.core.store import Account, Conversation
    from socialdesk.core.targets import TargetConfig

    now = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    with store.write():
        account = Account.create(kind="demo", name="Tg", settings={"channel": "telegram"}, created_at=now)
    ingest.ingest(store, account.id, [InboundItem("m1", "c1", "dm", False, Author("u1", "u", "U"), "hi", now)], None,
                  queue.Policy(TargetConfig.default(), Schedule.always_open("UTC")), now)
    conversation = Conversation.get()
    with pytest.raises(NotAllowed, match="does not let socialdesk remove a reply"):
        published_reply.delete_our_reply(store, lambda a: DemoConnector(a.settings), ChangeBus(), conversation.id, now)
