"""X connector (connectors/x.py) against the local fake X API (tests/fakes/x.py): sign-in on the fixed
registered port, mentions paged with next_token and since_id without gaps, DMs paged to a known event
behind a one-event probe, partial answers, problem JSON, 429 with x-rate-limit-reset, usage-capped,
token refresh with rotation, the not-summoned refusal, weighted length, and what every call costs."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests

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
from socialdesk.connectors.oauth import TOKEN_ENTRY, Tokens
from socialdesk.connectors.text_counting import x_weighted_length
from socialdesk.connectors.x import DEFAULT_PORT, SPEC, XConnector, XLogin, redirect_address
from tests.fakes.x import CLIENT_ID, SELF, XFake, settings_for, signed_in_secrets


@pytest.fixture
def fake():
    server = XFake()
    with server.running():
        yield server


def connector(fake: XFake, secrets=None, **kwargs) -> XConnector:
    kwargs.setdefault("sleep", lambda s: None)
    kwargs.setdefault("mention_page", 5)
    kwargs.setdefault("dm_page", 3)
    return XConnector(settings_for(fake), secrets or signed_in_secrets(fake), **kwargs)


def requests_to(fake: XFake, path: str) -> list:
    return [r for r in fake.requests if r.path == path]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mention_target(item, **kw) -> ReplyTarget:
    return ReplyTarget(conversation_external_id=item.conversation_external_id, kind=item.kind, public=item.public,
                       parent_external_id=item.external_id, parent_meta=item.meta,
                       recipient_external_id=item.author.external_id, recipient_handle=item.author.handle, **kw)


# -- sign-in ------------------------------------------------------------------------------------------


def test_sign_in_listens_on_the_registered_port_and_adds_the_account(fake):
    port = free_port()
    settings = settings_for(fake, callback_port=str(port))
    del settings["user_id"], settings["username"]
    address = f"http://127.0.0.1:{port}/callback"
    fake.register_callback(address)
    flow = XLogin(settings)
    assert address in flow.instructions  # the exact address to register, as the CLI prints it
    try:
        request = flow.start(loopback=True)
        assert request.mode == "loopback"
        assert f"redirect_uri={requests.utils.quote(address, safe='')}" in request.url
        page = requests.get(request.url, timeout=10)  # the browser: X redirects to our listener
        assert page.status_code == 200 and "You can close this tab" in page.text
        accounts = flow.finish(flow.wait(5))
    finally:
        flow.cancel()
    assert [a.label for a in accounts] == ["Juniper & Rye (@juniperandrye)"]
    assert accounts[0].settings == {"user_id": SELF["id"], "username": SELF["username"]}
    tokens = Tokens.from_json(accounts[0].secrets[TOKEN_ENTRY])
    assert tokens.access_token in fake.tokens and tokens.refresh_token in fake.refresh_tokens
    form = requests_to(fake, "/2/oauth2/token")[0].form()
    assert form["grant_type"] == "authorization_code" and form["client_id"] == CLIENT_ID
    assert form["redirect_uri"] == address and "client_secret" not in form


def test_a_callback_that_is_not_registered_exactly_is_refused_by_x(fake):
    fake.register_callback(f"http://127.0.0.1:{DEFAULT_PORT}/callback")
    flow = XLogin(settings_for(fake, callback_port=str(free_port())))  # another port than registered
    try:
        request = flow.start(loopback=True)
        assert requests.get(request.url, timeout=10).status_code == 400
    finally:
        flow.cancel()


def test_a_busy_callback_port_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        flow = XLogin({"client_id": CLIENT_ID, "callback_port": str(port)})
        with pytest.raises(PermanentError, match=f"Port {port} .* in use"):
            flow.start(loopback=True)


def test_the_form_explains_the_address_and_refuses_odd_settings():
    assert redirect_address({}) == f"http://127.0.0.1:{DEFAULT_PORT}/callback"
    assert f"http://127.0.0.1:{DEFAULT_PORT}/callback" in XLogin.instructions
    assert "Native App" in XLogin.instructions and "Client ID" in XLogin.instructions
    with pytest.raises(PermanentError, match="callback port"):
        redirect_address({"callback_port": "80"})
    with pytest.raises(PermanentError, match="Client ID"):
        XConnector({"client_id": ""}, MemorySecrets())
    with pytest.raises(PermanentError, match="unencrypted"):
        XConnector({"client_id": CLIENT_ID, "api_base": "http://api.x.example"},
                   MemorySecrets())
    assert {key for key, _label, _default in SPEC.settings} >= {"client_id", "callback_port", "usage_budget",
                                                               "api_base", "authorize_url"}


# -- mentions ----------------------------------------------------------------------------------------


def test_mentions_follow_next_token_to_the_end_before_the_newest_id_is_stored(fake):
    first = [fake.add(f"first {i}")["id"] for i in range(2)]
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    assert [i.external_id for i in items] == first and cursor["since_id"] == first[-1]
    later = [fake.add(f"later {i}")["id"] for i in range(12)]  # 3 pages of 5
    fake.requests.clear()
    items, cursor2 = conn.fetch(cursor)
    assert [i.external_id for i in items] == later  # oldest first, none missing
    assert cursor2["since_id"] == later[-1]
    pages = requests_to(fake, f"/2/users/{SELF['id']}/mentions")
    assert len(pages) == 3
    assert all(p.arg("since_id") == first[-1] for p in pages)
    assert [p.arg("pagination_token") is None for p in pages] == [True, False, False]
    assert pages[0].arg("tweet.fields") == "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets"
    assert pages[0].arg("expansions") == "author_id" and pages[0].arg("user.fields") == "username,name"


def test_a_failure_mid_paging_stores_nothing_so_nothing_is_skipped(fake):
    fake.add("the first")
    conn = connector(fake)
    _, cursor = conn.fetch(None)
    ids = [fake.add(f"q {i}")["id"] for i in range(8)]
    original = conn._call
    calls = []

    def fail_on_second_page(method, path, bucket, **kw):
        if "/mentions" in path and kw["params"].get("pagination_token"):
            calls.append(path)
            raise TransientError("X had a server problem")
        return original(method, path, bucket, **kw)

    conn._call = fail_on_second_page
    with pytest.raises(TransientError):
        conn.fetch(cursor)
    conn._call = original
    items, _ = conn.fetch(cursor)
    assert [i.external_id for i in items] == ids and calls


def test_items_carry_author_thread_and_reply_to_and_our_own_posts_are_outbound(fake):
    root = fake.add("do you deliver? & <when>?", author="ava_chen")
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    item = items[0]
    assert item.text == f"@{SELF['username']} do you deliver? & <when>?"  # X's &amp; &lt; undone once
    assert (item.author.handle, item.author.display_name) == ("@ava_chen", "Ava Chen")
    assert item.permalink == f"https://x.com/ava_chen/status/{root['id']}"
    assert item.conversation_external_id == f"thread:{root['id']}" and item.kind == "mention" and item.public
    conn.reply(mention_target(item), "Yes, every morning!", idempotency_key="k1")
    answer = fake.add("great, thanks", author="ava_chen", reply_to=fake.posted[-1]["id"])
    items, _ = conn.fetch(cursor)
    assert items[0].external_id == answer["id"]
    assert items[0].conversation_external_id == f"thread:{root['id']}"
    assert items[0].in_reply_to == fake.posted[-1]["id"]


def test_a_200_with_data_and_errors_is_a_partial_success(fake, caplog):
    caplog.set_level("INFO", logger="socialdesk.connectors.x")
    fake.partial_errors = True
    fake.add("still here")
    items, _ = connector(fake).fetch(None)
    assert [i.text.split(" ", 1)[1] for i in items] == ["still here"]
    assert "partial answer" in caplog.text and "resource-not-found" in caplog.text


def test_a_200_with_errors_and_no_data_and_problem_json_are_errors_with_x_reason(fake):
    conn = connector(fake)
    fake.inject(200, {"errors": [{"title": "Not Found Error", "detail": "Could not find user with id: [1].",
                                  "type": "https://api.twitter.com/2/problems/resource-not-found"}]}, path="/mentions")
    with pytest.raises(PermanentError, match="Could not find user"):
        conn.fetch(None)
    fake.inject(400, {"title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                      "type": "https://api.twitter.com/2/problems/invalid-request"}, path="/mentions")
    with pytest.raises(PermanentError, match="parameters to your request was invalid"):
        conn.fetch(None)


def test_429_waits_for_x_rate_limit_reset(fake):
    reset = fake.rate_limit("/mentions")
    with pytest.raises(RateLimited) as caught:
        connector(fake).fetch(None)
    assert caught.value.retry_at == datetime.fromtimestamp(reset, timezone.utc)


def test_usage_capped_is_a_spent_quota(fake):
    fake.usage_capped(path="/mentions")
    with pytest.raises(QuotaExceeded, match="usage cap"):
        connector(fake).fetch(None)
    fake.usage_capped(path="/dm_events")  # also from the DM part: nothing works until it renews
    with pytest.raises(QuotaExceeded):
        connector(fake).fetch(None)


# -- DMs ---------------------------------------------------------------------------------------------


def test_dms_page_until_a_known_event_behind_a_one_event_probe(fake):
    fake.add_dm("hello", author="lea")
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    assert [i.text for i in items] == ["hello"] and cursor["dm_newest"]
    fake.requests.clear()
    assert conn.fetch(cursor) == ([], cursor)
    probe = requests_to(fake, "/2/dm_events")
    assert [r.arg("max_results") for r in probe] == ["1"]  # nothing new: one event read
    assert probe[0].arg("event_types") == "MessageCreate" and probe[0].arg("expansions") == "sender_id"
    assert probe[0].arg("dm_event.fields") == "id,text,created_at,sender_id,dm_conversation_id"
    new = [fake.add_dm(f"more {i}", author="lea" if i % 2 else "sam")["id"] for i in range(7)]
    fake.requests.clear()
    items, cursor2 = conn.fetch(cursor)
    assert [i.external_id for i in items] == [f"dm:{n}" for n in new]
    assert cursor2["dm_newest"] == new[-1]
    pages = requests_to(fake, "/2/dm_events")
    assert [r.arg("max_results") for r in pages] == ["1", "3", "3", "3"]  # the last page holds the known one
    assert {i.conversation_external_id for i in items} == {
        f"dm:{fake.events[-1]['dm_conversation_id']}", f"dm:{fake.events[-2]['dm_conversation_id']}"}
    assert all(i.kind == "dm" and not i.public for i in items)


def test_dm_reply_goes_to_the_participant_and_our_own_dm_comes_back_outbound(fake):
    fake.add_dm("is the cake ready?", author="lea")
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    result = conn.reply(mention_target(items[0]), "Yes, come by!", idempotency_key="k")
    lea = fake.user("lea")["id"]
    assert fake.dms_sent[-1]["path"] == f"/2/dm_conversations/with/{lea}/messages"
    assert result.external_id == f"dm:{fake.dms_sent[-1]['id']}"
    items, _ = conn.fetch(cursor)
    assert [(i.external_id, i.outbound) for i in items] == [(result.external_id, True)]


def test_rate_limited_dms_leave_mentions_working_with_a_notice(fake):
    fake.add("a mention")
    fake.rate_limit("/dm_events")
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    assert [i.kind for i in items] == ["mention"] and "dm_newest" not in cursor
    assert "rate limit" in conn.notice and "mentions still arrive" in conn.notice
    fake.requests.clear()
    conn.fetch(cursor)  # the window is still spent: no DM call is burned on a certain 429
    assert requests_to(fake, "/2/dm_events") == [] and "rate limit" in conn.notice
    conn.http.limits.clear()  # the window has passed
    conn.fetch(cursor)
    assert conn.notice == ""


# -- replies and posts -----------------------------------------------------------------------------


def test_reply_to_a_mention_posts_in_reply_to(fake):
    fake.add("open sunday?")
    conn = connector(fake)
    items, _ = conn.fetch(None)
    result = conn.reply(mention_target(items[0]), "Yes, 8 to 12!", idempotency_key="k")
    sent = requests_to(fake, "/2/tweets")[-1].json()
    assert sent == {"text": "Yes, 8 to 12!", "reply": {"in_reply_to_tweet_id": items[0].external_id}}
    assert result.external_id == fake.posted[-1]["id"]


def test_not_summoned_is_not_allowed_with_x_reason(fake):
    stranger = fake.add("a post that does not mention the shop", author="someone", mention=False)
    target = ReplyTarget(conversation_external_id=f"thread:{stranger['id']}", kind="mention", public=True,
                         parent_external_id=stranger["id"])
    with pytest.raises(NotAllowed, match="not been mentioned or otherwise engaged"):
        connector(fake).reply(target, "Hello!", idempotency_key="k")
    assert fake.posted == []


def test_weighted_length_refuses_before_any_call(fake):
    fake.add("q")
    conn = connector(fake)
    items, _ = conn.fetch(None)
    assert x_weighted_length("日本" * 70) == 280 and x_weighted_length("日本" * 70 + "x") == 281
    assert x_weighted_length("see https://example.com/" + "a" * 200) == 4 + 23
    fake.requests.clear()
    with pytest.raises(PermanentError, match="281 characters long; X allows 280"):
        conn.reply(mention_target(items[0]), "日本" * 70 + "x", idempotency_key="k")
    assert fake.requests == []


def test_status_post_and_what_calls_cost(fake):
    fake.add("q1")
    fake.add_dm("dm", author="lea")
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    conn.fetch(cursor)  # the DM probe re-reads the known event: deduplicated today
    conn.post_status("We're open until 17:00!", idempotency_key="s1")
    conn.post_status("Menu: https://juniper.example/menu", idempotency_key="s2")
    conn.reply(mention_target(items[0]), "thanks", idempotency_key="r1")
    counted = {e.bucket: e.units for e in conn.usage.drain()}
    assert counted == {"owned_read": 1, "dm_read": 1, "user_read": 2, "post_create": 1, "post_url_create": 1,
                       "reply_create": 1}
    assert [p["reply"] for p in fake.posted] == [None, None, {"in_reply_to_tweet_id": items[0].external_id}]


# -- tokens ------------------------------------------------------------------------------------------


def test_a_401_refreshes_once_and_stores_the_rotated_pair_atomically(fake):
    secrets = signed_in_secrets(fake)
    old = Tokens.from_json(secrets.get(TOKEN_ENTRY))
    fake.expire_tokens()
    fake.add("after expiry")
    items, _ = connector(fake, secrets).fetch(None)
    assert len(items) == 1
    new = Tokens.from_json(secrets.get(TOKEN_ENTRY))
    assert new.access_token != old.access_token and new.refresh_token != old.refresh_token
    assert old.refresh_token in fake.used_refresh and new.refresh_token in fake.refresh_tokens
    form = requests_to(fake, "/2/oauth2/token")[-1].form()
    assert form == {"grant_type": "refresh_token", "refresh_token": old.refresh_token, "client_id": CLIENT_ID}
    fake.expire_tokens()
    connector(fake, secrets).fetch(None)  # the rotated refresh token works in turn
    assert Tokens.from_json(secrets.get(TOKEN_ENTRY)).refresh_token != new.refresh_token


def test_a_token_about_to_expire_is_refreshed_first_and_only_once_for_two_threads(fake):
    secrets = signed_in_secrets(fake, lifetime=60)  # 1 min left: within the refresh margin
    errors = []

    def work():
        try:
            connector(fake, secrets).fetch(None)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    assert len(requests_to(fake, "/2/oauth2/token")) == 1  # one rotation, not two racing


def test_a_dead_refresh_token_means_sign_in_again(fake):
    secrets = signed_in_secrets(fake)
    fake.expire_tokens()
    fake.refresh_tokens.clear()
    with pytest.raises(AuthError, match="log in again"):
        connector(fake, secrets).fetch(None)


def test_cursor_and_items_are_json(fake):
    fake.add("q")
    fake.add_dm("d", author="lea")
    items, cursor = connector(fake).fetch(None)
    json.dumps(cursor)
    for item in items:
        json.dumps(item.meta)
        assert abs(item.created_at - datetime.now(timezone.utc)) < timedelta(hours=1)


def test_what_arrives_after_a_first_fetch_that_found_nothing_is_found_by_time(fake):
    """No id to page to yet: mentions by `start_time`, DMs by created_at, so nothing of a burst is lost."""
    conn = connector(fake)
    items, cursor = conn.fetch(None)
    assert items == [] and cursor["started_at"].endswith("Z") and "since_id" not in cursor
    mentions = [fake.add(f"m {i}")["id"] for i in range(12)]  # more than the first fetch's history page
    dms = [fake.add_dm(f"d {i}", author="lea")["id"] for i in range(12)]
    fake.requests.clear()
    items, cursor2 = conn.fetch(cursor)
    assert [i.external_id for i in items] == mentions + [f"dm:{d}" for d in dms]
    pages = requests_to(fake, f"/2/users/{SELF['id']}/mentions")
    assert pages[0].arg("start_time") == cursor["started_at"] and pages[0].arg("since_id") is None
    assert cursor2["since_id"] == mentions[-1] and cursor2["dm_newest"] == dms[-1]
