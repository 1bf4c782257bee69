"""core/personalize: placeholder values for a conversation, next-open and date wording."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from socialdesk import paths
from socialdesk.app import build_core
from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import personalize, snippets
from socialdesk.core.clock import ManualClock
from socialdesk.core.hours import AwayPeriod, Schedule
from socialdesk.core.ingest import ingest
from socialdesk.core.store import Account, Contact, Conversation

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
# Sunday 22 November 2026, 11:00 in Berlin.
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def core():
    c = build_core(paths.profile("t"), clock=ManualClock(NOW))
    c.settings.set("hours.schedule", Schedule(timezone="Europe/Berlin", week={
        d: [(time(9), time(17))] for d in range(5)
    }).to_json())
    c.settings.set("business.name", "Juniper & Rye")
    c.settings.set("business.my_name", "Sam")
    yield c
    c.close()


def conversation(core, channel: str, author: Author, kind: str = "dm") -> int:
    with core.store.write():
        account_id = Account.create(kind="demo", name=channel, settings={"channel": channel}, created_at=NOW).id
    item = InboundItem("m1", "c1", kind, False, author, "hello", NOW - timedelta(minutes=5))
    ingest(core.store, account_id, [item], None, core.policy(), NOW)
    return Conversation.get(Conversation.account == account_id).id


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (NOW, "now"),
        (NOW - timedelta(hours=1), "now"),
        (datetime(2026, 11, 22, 15, 30, tzinfo=UTC), "at 16:30 today"),
        (datetime(2026, 11, 23, 8, 0, tzinfo=UTC), "at 9:00 tomorrow"),
        (datetime(2026, 11, 25, 7, 0, tzinfo=UTC), "Wednesday at 8:00"),
        (datetime(2026, 11, 28, 22, 59, tzinfo=UTC), "Saturday at 23:59"),
        (datetime(2026, 11, 29, 8, 0, tzinfo=UTC), "Sunday 29 November at 9:00"),
    ],
)
def test_format_next_open(when, expected):
    assert personalize.format_next_open(when, NOW, BERLIN) == expected


def test_format_next_open_uses_the_given_zone_for_tomorrow():
    # 23:30 UTC is already the next day in Berlin but still today in New York.
    when = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert personalize.format_next_open(when, NOW, "Europe/Berlin") == "at 0:30 tomorrow"
    assert personalize.format_next_open(when, NOW, "America/New_York") == "at 18:30 today"


def test_format_today():
    assert personalize.format_today(NOW, BERLIN) == "Sunday 22 November"
    assert personalize.format_today(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), BERLIN) == "Monday 23 November"


def test_context_for_fills_every_placeholder(core):
    conv = conversation(core, "bluesky", Author("u1", handle="ana.lima", display_name="Ana Lima"))
    ctx = personalize.context_for(core, conv)
    assert ctx == snippets.RenderContext(
        first_name="Ana",
        name="Ana Lima",
        handle="@ana.lima",
        business="Juniper & Rye",
        channel="Bluesky",
        my_name="Sam",
        hours="Monday to Friday 9:00–17:00",
        next_open="at 9:00 tomorrow",
        typical_response="within a few hours",
        today="Sunday 22 November",
    )
    body = "Hi {first_name|there}, {business} is back {next_open}. — {my_name}"
    assert snippets.render(body, ctx) == "Hi Ana, Juniper & Rye is back at 9:00 tomorrow. — Sam"


def test_owner_corrected_first_name_wins_and_email_handles_stay_plain(core):
    conv = conversation(core, "email", Author("ana@example.com", handle="ana@example.com",
                                              display_name="Ana Lima"), kind="email")
    assert personalize.context_for(core, conv).first_name == "Ana"
    with core.store.write():
        Contact.update(first_name="Annie").execute()
    ctx = personalize.context_for(core, conv)
    assert (ctx.first_name, ctx.name, ctx.handle, ctx.channel) == ("Annie", "Ana Lima", "ana@example.com", "email")


def test_non_name_display_names_leave_first_name_empty_for_the_fallback(core):
    conv = conversation(core, "telegram", Author("42", handle="@shop4u", display_name="shop4u"))
    ctx = personalize.context_for(core, conv)
    assert ctx.first_name == "" and ctx.handle == "@shop4u" and ctx.channel == "Telegram"
    assert snippets.render("Thanks {first_name|there}!", ctx) == "Thanks there!"


def test_next_open_says_until_when_while_open_and_is_empty_when_never_open(core):
    conv = conversation(core, "mastodon", Author("u1", display_name="Ana"))
    core.clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # Monday 10:00 Berlin
    assert personalize.context_for(core, conv).next_open == "now until 17:00"
    away = Schedule(timezone="Europe/Berlin", week={0: [(time(9), time(17))]},
                    away=[AwayPeriod(NOW - timedelta(days=1), None)])
    core.settings.set("hours.schedule", away.to_json())
    core.policy.invalidate()
    assert personalize.context_for(core, conv).next_open == ""
