"""Property-based fuzzing (hypothesis): parsers never crash ingest, snippets render, schedules agree.

- Connector parsers: each connector's fetch is fed arbitrary JSON where the platform's items go (the
  network layer is replaced by a function returning the fuzzed page). Fetch may refuse a whole page
  with a ConnectorError (the engine backs off), but any other exception would block the account for
  ever (it re-fetches the same page), so a bad item must be skipped and logged with its id instead;
  whatever fetch returns must then ingest without raising.
- E-mail: arbitrary bytes and arbitrary MIME trees through EmailConnector.parse, which promises never
  to raise, and into ingest.
- Ingest: arbitrary InboundItem-like objects (wrong types, missing ids, naive dates) are skipped with a
  reason; the valid ones are stored once.
- Snippets: validate_body and render agree (render raises SnippetError exactly when validation finds a
  problem) and never raise anything else.
- Schedule: next_open(now) >= now and is open; nothing is open between now and next_open; is_open agrees
  with open_intervals, across time zones with DST, closed dates and away periods.

Decisions: bounded examples (max_examples ~100–200, deadline=None) so the file stays well under ~20 s;
one Store per test (hypothesis reuses it, each example uses its own account so examples don't collide).
"""

from __future__ import annotations

import email.message
import logging
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from socialdesk.connectors.base import Author, ConnectorError, InboundItem, MemorySecrets
from socialdesk.connectors.bluesky import BlueskyConnector
from socialdesk.connectors.email import EmailConnector
from socialdesk.connectors.mastodon import MastodonConnector
from socialdesk.connectors.telegram import TelegramConnector
from socialdesk.core import ingest, queue, snippets
from socialdesk.core.hours import AwayPeriod, Schedule, ScheduleError
from socialdesk.core.store import Account, Message
from socialdesk.core.targets import TargetConfig

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
POLICY = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)


def keyed(keys: list[str], values: st.SearchStrategy = json_values) -> st.SearchStrategy:
    """Dicts that use the platform's real field names (so parsers get past their first checks)."""
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), values, max_size=len(keys) + 2)


def user_like() -> st.SearchStrategy:
    return keyed(["id", "first_name", "last_name", "username", "is_bot", "did", "handle", "displayName",
                  "acct", "display_name", "url"])


# --- telegram -----------------------------------------------------------------------------------------

tg_message = st.fixed_dictionaries({}, optional={
    "message_id": st.integers(-5, 2**40) | json_values,
    "from": user_like() | json_values,
    "chat": keyed(["id", "type", "username", "title"], st.sampled_from(["private", "group", "supergroup"])
                  | st.integers(-(2**40), 2**40) | json_values),
    "date": st.integers(-(2**63), 2**63) | json_values,
    "text": st.text(max_size=40) | json_values,
    "caption": st.text(max_size=20) | json_values,
    "entities": st.lists(keyed(["type", "offset", "length", "user"], st.sampled_from(["mention", "text_mention"])
                               | st.integers(-3, 50) | json_values), max_size=3) | json_values,
    "reply_to_message": keyed(["message_id", "from"]) | json_values,
    "business_connection_id": st.text(max_size=8) | json_values,
    "photo": json_values,
})
tg_update = st.fixed_dictionaries({"update_id": st.integers(0, 2**40)}, optional={
    "message": tg_message | json_values, "business_message": tg_message | json_values})
BOT = {"id": 999, "is_bot": True, "first_name": "Shop Bot", "username": "shop_bot"}


def telegram_fetch(updates: Any) -> tuple[list[InboundItem], dict]:
    connector = TelegramConnector({"api_base": "http://127.0.0.1:9"}, MemorySecrets({"token": "1:x"}),
                                  now=lambda: NOW)
    connector._call = lambda method, body=None, **_: BOT if method == "getMe" else updates  # type: ignore[method-assign]
    return connector.fetch({"offset": 5})


# --- mastodon -----------------------------------------------------------------------------------------

MASTO_SELF = {"id": "1", "acct": "shop", "username": "shop"}
masto_status = keyed(["id", "content", "spoiler_text", "visibility", "account", "mentions", "created_at", "url",
                      "uri", "in_reply_to_id"], st.sampled_from(["public", "direct", "unlisted", "<p>hi</p>"])
                     | user_like() | json_values)
masto_notification = st.fixed_dictionaries({"id": st.text(max_size=6) | json_values}, optional={
    "type": st.sampled_from(["mention", "favourite"]) | json_values,
    "status": masto_status | json_values, "account": user_like() | json_values})


def mastodon_fetch(page: Any) -> tuple[list[InboundItem], dict]:
    connector = MastodonConnector({"instance": "http://127.0.0.1:9"}, MemorySecrets({"token": "t"}), now=lambda: NOW)
    pages = [page]

    def fake_get(path: str, **_: Any) -> Any:
        if path.endswith("verify_credentials"):
            return MASTO_SELF
        if path.endswith("/context"):
            return {"ancestors": []}
        return pages.pop() if pages else []

    connector._get = fake_get  # type: ignore[method-assign]
    return connector.fetch({"min_id": "1"})


# --- bluesky ------------------------------------------------------------------------------------------

sky_record = keyed(["text", "reply", "createdAt"], st.text(max_size=20)
                   | st.fixed_dictionaries({}, optional={"root": keyed(["uri", "cid"]), "parent": keyed(["uri", "cid"])})
                   | json_values)
sky_notification = st.fixed_dictionaries({}, optional={
    "uri": st.text(max_size=20) | json_values,
    "cid": json_values,
    "indexedAt": st.sampled_from(["2026-03-01T10:00:00.000Z", "2026-03-02T08:59:59Z", "garbage"]) | json_values,
    "reason": st.sampled_from(["mention", "reply", "quote", "like"]) | json_values,
    "author": user_like() | json_values,
    "record": sky_record | json_values,
})
sky_log = st.fixed_dictionaries({}, optional={
    "$type": st.sampled_from(["chat.bsky.convo.defs#logCreateMessage", "x#logDeleteMessage"]) | json_values,
    "convoId": json_values,
    "message": keyed(["id", "text", "sender", "sentAt"], st.fixed_dictionaries({"did": json_values})
                     | json_values) | json_values,
})


def bluesky_fetch(notes: Any, logs: Any) -> tuple[list[InboundItem], dict]:
    connector = BlueskyConnector({"pds": "http://127.0.0.1:9", "handle": "shop.bsky.social"},
                                 MemorySecrets({"password": "p"}), now=lambda: NOW)
    connector.did = "did:plc:shop"

    def fake_xrpc(method: str, nsid: str, **_: Any) -> Any:
        if nsid.endswith("listNotifications"):
            return {"notifications": notes}
        if nsid.endswith("getLog"):
            return {"logs": logs}
        if nsid.endswith("getConvo"):
            return {"convo": {"members": [{"did": "did:plc:a", "handle": "a.bsky.social"}]}}
        return {}

    connector.xrpc = fake_xrpc  # type: ignore[method-assign]
    return connector.fetch({"seen": "2026-03-01T00:00:00Z"})


# --- shared checks ------------------------------------------------------------------------------------


def _fetch_then_ingest(store, fetch, *args: Any) -> None:
    try:
        items, cursor = fetch(*args)
    except ConnectorError:
        return  # the whole page refused: the engine backs off and retries, nothing is half-stored
    assert isinstance(cursor, dict)
    assert all(isinstance(item, InboundItem) for item in items)
    account = _new_account(store)
    ingest.ingest(store, account, items, cursor, POLICY, NOW)


_accounts = iter(range(10**9))


def _new_account(store) -> int:
    with store.write():
        return Account.create(kind="demo", name=f"fuzz {next(_accounts)}", settings={}, created_at=NOW).id


@FUZZ
@given(st.lists(tg_update | json_values, max_size=5) | json_values)
def test_telegram_fetch_survives_any_updates(store, updates):
    _fetch_then_ingest(store, telegram_fetch, updates)


@FUZZ
@given(st.lists(masto_notification, max_size=5) | json_values)
def test_mastodon_fetch_survives_any_notifications(store, page):
    _fetch_then_ingest(store, mastodon_fetch, page)


@FUZZ
@given(st.lists(sky_notification | json_values, max_size=4) | json_values, st.lists(sky_log | json_values, max_size=4))
def test_bluesky_fetch_survives_any_notifications_and_chat_logs(store, notes, logs):
    _fetch_then_ingest(store, bluesky_fetch, notes, logs)


def test_bad_telegram_update_is_skipped_and_logged_with_its_id(caplog):
    good = {"update_id": 7, "message": {"message_id": 1, "from": {"id": 5, "first_name": "Ann"},
                                        "chat": {"id": 5, "type": "private"}, "date": 1_700_000_000, "text": "hi"}}
    bad = {"update_id": 8, "message": {**good["message"], "message_id": 2, "date": 10**20}}
    with caplog.at_level(logging.WARNING):
        items, cursor = telegram_fetch([good, bad, {**good, "update_id": 9}])
    assert [i.external_id for i in items] == ["5:1", "5:1"]  # the bad one skipped, the others kept
    assert cursor == {"offset": 10}  # skipped, not re-fetched for ever
    assert "8" in caplog.text and "skip" in caplog.text.lower()


def test_bad_mastodon_notification_is_skipped_and_logged_with_its_id(caplog):
    status = {"id": "50", "content": "<p>hi</p>", "visibility": "public", "account": {"id": "9", "acct": "ann"}}
    page = [{"id": "60", "type": "mention", "status": status},
            {"id": 61, "type": "mention", "status": {**status, "id": "51"}},
            {"id": "62", "type": "mention", "status": {**status, "id": "52", "account": ["not", "a", "dict"]}}]
    with caplog.at_level(logging.WARNING):
        items, cursor = mastodon_fetch(page)
    assert [i.external_id for i in items] == ["50"]
    assert cursor["min_id"] == "62"
    assert "61" in caplog.text and "62" in caplog.text


# --- e-mail -------------------------------------------------------------------------------------------


def email_connector() -> EmailConnector:
    return EmailConnector({"address": "shop@example.org", "imap_host": "127.0.0.1", "smtp_host": "127.0.0.1",
                           "imap_tls": "none", "smtp_tls": "none"}, MemorySecrets({"password": "p"}))


header_names = st.sampled_from(["From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
                                "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted", "Reply-To"])
header_values = st.text(max_size=40) | st.sampled_from([
    "=?utf-8?b?w6k=?=", "=?bogus?q?x?=", "multipart/mixed; boundary=b", "text/html; charset=x-unknown",
    "base64", "quoted-printable", "<a@b>", "Mon, 99 Foo 2026", "\"Ann\" <ann@example.org>", "auto-replied"])
raw_mime = st.builds(
    lambda headers, body: ("\r\n".join(f"{k}: {v}" for k, v in headers) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    + body,
    st.lists(st.tuples(header_names, header_values), max_size=8),
    st.binary(max_size=200) | st.sampled_from([b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--", b"PGI+aGk8L2I+",
                                                b"=E9=\r\n", b"<p>hi <script>x</script></p>"]),
)


@FUZZ
@given(st.binary(max_size=300) | raw_mime, st.booleans())
def test_email_parse_never_raises_and_ingests(store, raw, truncated):
    item = email_connector().parse(raw, internaldate=NOW, truncated=truncated)
    assert isinstance(item, InboundItem) and isinstance(item.text, str) and item.external_id
    ingest.ingest(store, _new_account(store), [item], {}, POLICY, NOW)


def test_email_parse_handles_deep_and_wide_mime():
    outer = email.message.EmailMessage()
    outer["From"] = "x@example.org"
    part = outer
    for depth in range(60):
        inner = email.message.EmailMessage()
        inner.set_content(f"level {depth}")
        part.make_mixed()
        part.attach(inner)
        part = inner
    item = email_connector().parse(outer.as_bytes(), internaldate=NOW)
    assert isinstance(item.text, str)


# --- ingest -------------------------------------------------------------------------------------------

anything = json_values | st.datetimes() | st.just(object())
authors = st.builds(Author, external_id=st.text(max_size=5) | anything, handle=st.text(max_size=5) | anything,
                    display_name=st.text(max_size=8) | anything, profile_url=st.text(max_size=5) | anything)
items = st.builds(
    InboundItem,
    external_id=st.text(max_size=6) | anything,
    conversation_external_id=st.sampled_from(["c1", "c2", ""]) | anything,
    kind=st.sampled_from(["dm", "mention", "comment", "review", "email", "bogus"]) | anything,
    public=st.booleans() | anything,
    author=authors | anything,
    text=st.text(max_size=30) | anything,
    created_at=st.datetimes(timezones=st.just(timezone.utc)) | st.datetimes() | anything,
    permalink=st.text(max_size=5) | anything,
    subject=st.text(max_size=5) | anything,
    rating=st.none() | st.integers(-2, 8) | anything,
    in_reply_to=st.text(max_size=4) | anything,
    outbound=st.booleans() | anything,
    meta=st.dictionaries(st.text(max_size=4), json_values, max_size=3) | anything,
)


@FUZZ
@given(st.lists(items | anything, max_size=6))
def test_ingest_skips_malformed_items_and_stores_valid_ones_once(store, batch):
    account = _new_account(store)
    result = ingest.ingest(store, account, batch, {"n": 1}, POLICY, NOW)
    stored = [m.external_id for m in Message.select().where(Message.account == account)]
    assert len(stored) == len(set(stored))
    assert len(stored) + result.duplicates + len(result.skipped) == len(batch)
    again = ingest.ingest(store, account, batch, {"n": 2}, POLICY, NOW)
    assert again.new_message_ids == []
    assert Message.select().where(Message.account == account).count() == len(stored)
    assert Account.get_by_id(account).cursor == {"n": 2}


# --- snippets -----------------------------------------------------------------------------------------

snippet_tokens = st.sampled_from(list("{}|ab ,.!\n") + ["first_name", "name", "business", "bogus",
                                                        "{first_name|there}", "{{", "}}"])
snippet_bodies = st.lists(snippet_tokens, max_size=15).map("".join) | st.text(max_size=40)
contexts = st.builds(snippets.RenderContext, first_name=st.text(max_size=6), name=st.text(max_size=6),
                     handle=st.text(max_size=6), business=st.text(max_size=6), channel=st.text(max_size=6),
                     my_name=st.text(max_size=6), next_open=st.text(max_size=6))


@settings(max_examples=200, deadline=None)
@given(snippet_bodies, contexts)
def test_snippet_render_and_validate_agree(body, ctx):
    problems = snippets.validate_body(body)
    for p in problems:
        assert 0 <= p.position <= len(body) and p.length >= 0 and p.message
    try:
        text = snippets.render(body, ctx)
    except snippets.SnippetError:
        assert problems
        return
    assert isinstance(text, str)
    assert [p for p in problems if p.message != "The snippet text is empty."] == []
    if "{" not in body and "}" not in body:
        assert text == body  # no placeholders: nothing changes


# --- schedule -----------------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata",
         "Pacific/Chatham"]
quarter_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
windows = st.lists(st.tuples(quarter_times, quarter_times), min_size=1, max_size=3)
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(timezone.utc))


@st.composite
def schedules(draw) -> Schedule:
    week = draw(st.dictionaries(st.integers(0, 6), windows, min_size=1, max_size=7))
    closed = draw(st.sets(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=5))
    special = draw(st.dictionaries(st.dates(date(2025, 1, 1), date(2027, 12, 31)), windows | st.just([]), max_size=3))
    away = []
    for start, hours in draw(st.lists(st.tuples(moments, st.integers(1, 24 * 20) | st.none()), max_size=2)):
        away.append(AwayPeriod(start=start, end=start + timedelta(hours=hours) if hours else None, message=""))
    try:
        return Schedule(timezone=draw(st.sampled_from(ZONES)), week=week, closed_dates=closed, special_hours=special,
                        away=[a for a in away if a.end is not None])
    except ScheduleError:
        assume(False)
        raise  # unreachable: assume(False) aborts the example


@settings(max_examples=150, deadline=None)
@given(schedules(), moments)
def test_next_open_is_in_the_future_and_open(schedule, now):
    try:
        opening = schedule.next_open(now)
    except ScheduleError:
        assert list(schedule.open_intervals(now, now + timedelta(days=400))) == []
        return
    assert opening >= now
    assert schedule.is_open(opening)
    assert schedule.is_open(now) == (opening == now)
    # Nothing is open in between.
    assert all(s >= opening for s, _e in schedule.open_intervals(now, opening + timedelta(seconds=1)))


@settings(max_examples=150, deadline=None)
@given(schedules(), moments)
def test_is_open_agrees_with_open_intervals(schedule, now):
    low, high = now - timedelta(days=3), now + timedelta(days=3)
    around = list(schedule.open_intervals(low, high))
    assert schedule.is_open(now) == any(s <= now < e for s, e in around)
    for s, e in around:
        assert s < e
        assert schedule.is_open(s)
        if e < high:  # the last interval may be cut by the query's end; real ends are closed
            assert not schedule.is_open(e)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_dst_switch_nights_stay_consistent(zone):
    schedule = Schedule(timezone=zone, week={d: [(time(1, 30), time(3, 30))] for d in range(7)})
    for day in ("2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01"):
        start = datetime.fromisoformat(day + "T00:00:00+00:00") - timedelta(hours=6)
        for step in range(0, 16 * 4):
            now = start + timedelta(minutes=15 * step)
            opening = schedule.next_open(now)
            assert opening >= now and schedule.is_open(opening)
