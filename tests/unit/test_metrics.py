"""core/metrics: first response, within target, response rate, resolution, repeat contacts, reply mix,
the Today panel and the typical response text, on a store filled by ingest with injected times."""

from __future__ import annotations

import time as time_mod
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import metrics, outbox, queue
from socialdesk.core.hours import Schedule
from socialdesk.core.ingest import ingest
from socialdesk.core.store import Account, Conversation, Message, Snippet, Store, to_micros
from socialdesk.core.targets import TargetConfig, TargetRule

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
# Friday 20 November 2026, 15:00 in Berlin (14:00 UTC).
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
WEEKDAYS_9_17 = {d: [(time(9), time(17))] for d in range(5)}


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "db.sqlite3")
    yield s
    s.close()


@pytest.fixture
def policy():
    return queue.Policy(TargetConfig.default(), Schedule(timezone="Europe/Berlin", week=WEEKDAYS_9_17))


def account(store: Store, name: str, channel: str) -> int:
    with store.write():
        return Account.create(kind="demo", name=name, settings={"channel": channel}, created_at=NOW).id


def inbound(store, policy, account_id, conv, at, *, ext=None, author="u1", name="Ana Lima", kind="dm", outbound=False):
    item = InboundItem(
        external_id=ext or f"{conv}-{at.isoformat()}-{'out' if outbound else 'in'}",
        conversation_external_id=conv,
        kind=kind,
        public=False,
        author=Author(author, handle=author, display_name=name),
        text="hello",
        created_at=at,
        outbound=outbound,
    )
    ingest(store, account_id, [item], None, policy, at)
    return Conversation.get(Conversation.external_id == conv, Conversation.account == account_id).id


def reply(store, policy, conv_id, at, **kw):
    return outbox.enqueue_reply(store, conv_id, "thanks!", policy, at, **kw)


def test_first_response_median_p90_and_response_rate(store, policy):
    ig = account(store, "ig", "instagram")
    delays = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]  # minutes
    for i, minutes in enumerate(delays):
        start = NOW - timedelta(days=1, minutes=200 - i)
        conv = inbound(store, policy, ig, f"c{i}", start)
        reply(store, policy, conv, start + timedelta(minutes=minutes))
    inbound(store, policy, ig, "unanswered", NOW - timedelta(hours=2))

    rep = metrics.report(NOW, 7, BERLIN, policy)
    row = rep.total
    assert row.received == 11 and row.answered == 10
    assert row.response_rate == pytest.approx(10 / 11)
    assert row.first_responses == 10
    assert row.first_response_median_s == 55 * 60
    assert row.first_response_p90_s == 90 * 60  # nearest rank: the 9th of 10
    assert [c.channel for c in rep.channels] == ["instagram"]
    assert rep.channels[0].to_json() == {**row.to_json(), "channel": "instagram"}


def test_auto_replies_and_failed_replies_are_not_a_first_response(store, policy):
    ig = account(store, "ig", "instagram")
    start = NOW - timedelta(hours=5)
    conv = inbound(store, policy, ig, "c1", start)
    with store.write():
        Message.create(conversation=conv, account=ig, external_id="auto1", direction="out", text="We're closed",
                       created_at=start + timedelta(minutes=1), via="auto", meta={"state": ""})
    failed = reply(store, policy, conv, start + timedelta(minutes=5))
    with store.write():
        Message.update(meta={"state": "failed", "outbox_id": failed.id}).where(
            Message.external_id == f"outbox:{failed.idempotency_key}"
        ).execute()
    reply(store, policy, conv, start + timedelta(minutes=45))

    row = metrics.report(NOW, 1, BERLIN, policy).total
    assert row.first_response_median_s == 45 * 60
    assert row.personal == 1  # the failed copy is not a reply


def test_owner_initiated_thread_is_measured_from_the_customers_first_message(store, policy):
    ig = account(store, "ig", "instagram")
    start = NOW - timedelta(hours=6)
    inbound(store, policy, ig, "c1", start, outbound=True, ext="o1")
    conv = inbound(store, policy, ig, "c1", start + timedelta(hours=1))
    reply(store, policy, conv, start + timedelta(hours=1, minutes=30))
    assert metrics.report(NOW, 1, BERLIN, policy).total.first_response_median_s == 30 * 60


def test_within_target_counts_business_hours(store, policy):
    ig = account(store, "ig", "instagram")
    # Friday 13 Nov 16:30 Berlin (15:30 UTC) + 1 business hour = Monday 16 Nov 09:30 Berlin.
    friday = datetime(2026, 11, 13, 15, 30, tzinfo=UTC)
    in_time = inbound(store, policy, ig, "a", friday)
    reply(store, policy, in_time, datetime(2026, 11, 16, 8, 20, tzinfo=UTC))  # Mon 09:20 Berlin
    late = inbound(store, policy, ig, "b", friday, author="u2")
    reply(store, policy, late, datetime(2026, 11, 16, 8, 45, tzinfo=UTC))  # Mon 09:45 Berlin
    quick = inbound(store, policy, ig, "c", NOW - timedelta(hours=3), author="u3")
    reply(store, policy, quick, NOW - timedelta(hours=2, minutes=10))

    row = metrics.report(NOW, 7, BERLIN, policy).total
    assert (row.judged, row.within_target) == (3, 2)
    assert row.within_target_pct == pytest.approx(200 / 3)
    assert metrics.report(NOW, 7, BERLIN).total.within_target_pct is None  # no policy: not judged


def test_within_target_wall_clock_rule(store):
    rules = TargetConfig.default().rules
    rules[("dm", "*")] = TargetRule(60, 60, False)
    wall = queue.Policy(TargetConfig(rules=rules), Schedule(timezone="Europe/Berlin", week=WEEKDAYS_9_17))
    ig = account(store, "ig", "instagram")
    friday = datetime(2026, 11, 13, 15, 30, tzinfo=UTC)
    conv = inbound(store, wall, ig, "a", friday)
    reply(store, wall, conv, datetime(2026, 11, 16, 8, 20, tzinfo=UTC))
    row = metrics.report(NOW, 7, BERLIN, wall).total
    assert (row.judged, row.within_target) == (1, 0)


def test_channels_are_reported_separately_and_totals_add_up(store, policy):
    ig = account(store, "ig", "instagram")
    mail = account(store, "mail", "email")
    c1 = inbound(store, policy, ig, "i1", NOW - timedelta(hours=4))
    reply(store, policy, c1, NOW - timedelta(hours=3))
    c2 = inbound(store, policy, mail, "m1", NOW - timedelta(hours=4), kind="email")
    reply(store, policy, c2, NOW - timedelta(hours=1))
    inbound(store, policy, mail, "m2", NOW - timedelta(hours=1), kind="email", author="u9")

    rep = metrics.report(NOW, 7, BERLIN, policy)
    by = {c.channel: c for c in rep.channels}
    assert set(by) == {"instagram", "email"}
    assert by["instagram"].first_response_median_s == 3600
    assert by["email"].first_response_median_s == 3 * 3600
    assert (by["email"].received, by["email"].answered) == (2, 1)
    assert rep.total.received == 3 and rep.total.first_response_median_s == 2 * 3600


def test_reply_mix_personal_edited_unchanged(store, policy):
    ig = account(store, "ig", "instagram")
    with store.write():
        snip = Snippet.create(title="t", abbreviation="t", body="b", created_at=NOW, updated_at=NOW)
    conv = inbound(store, policy, ig, "c", NOW - timedelta(hours=5))
    reply(store, policy, conv, NOW - timedelta(hours=4))
    reply(store, policy, conv, NOW - timedelta(hours=3), via="snippet", snippet_id=snip.id, edited_after_snippet=True)
    reply(store, policy, conv, NOW - timedelta(hours=2), via="snippet", snippet_id=snip.id)
    reply(store, policy, conv, NOW - timedelta(hours=1), via="snippet", snippet_id=snip.id)
    row = metrics.report(NOW, 1, BERLIN).total
    assert (row.personal, row.edited_snippet, row.unchanged_snippet) == (1, 1, 2)
    today = metrics.today_summary(NOW, BERLIN)
    assert (today.personal_today, today.edited_snippet_today, today.unchanged_snippet_today) == (1, 1, 2)


def test_repeat_contacts_wrote_three_times_before_an_answer(store, policy):
    ig = account(store, "ig", "instagram")
    start = NOW - timedelta(hours=6)
    for i in range(3):
        conv = inbound(store, policy, ig, "pushy", start + timedelta(minutes=i))
    reply(store, policy, conv, start + timedelta(hours=1))
    inbound(store, policy, ig, "pushy", start + timedelta(hours=2))  # after the answer: not counted
    for i in range(2):
        conv2 = inbound(store, policy, ig, "patient", start + timedelta(minutes=i), author="u2")
    reply(store, policy, conv2, start + timedelta(hours=1))
    for i in range(4):
        waiting = inbound(store, policy, ig, "waiting", start + timedelta(minutes=i), author="u3")

    assert metrics.report(NOW, 1, BERLIN).total.repeat_contacts == 2
    assert metrics.today_summary(NOW, BERLIN).repeat_waiting_ids == [waiting]


def test_resolution_time_and_overdue_now(store, policy):
    ig = account(store, "ig", "instagram")
    start = NOW - timedelta(hours=5)
    conv = inbound(store, policy, ig, "c", start)
    reply(store, policy, conv, start + timedelta(minutes=30))
    queue.set_status(store, conv, "done", policy, start + timedelta(hours=2))
    inbound(store, policy, ig, "late", NOW - timedelta(hours=3), author="u2")  # 1 h target, still open

    row = metrics.report(NOW, 1, BERLIN, policy).total
    assert row.resolved == 1 and row.resolution_median_s == 2 * 3600
    assert row.overdue_now == 1
    summary = metrics.today_summary(NOW, BERLIN, policy)
    assert summary.overdue_now == 1 and summary.awaiting_now == 1


def test_spam_is_left_out(store, policy):
    ig = account(store, "ig", "instagram")
    conv = inbound(store, policy, ig, "c", NOW - timedelta(hours=2))
    queue.set_status(store, conv, "spam", policy, NOW - timedelta(hours=1))
    row = metrics.report(NOW, 1, BERLIN).total
    assert row.received == 0 and row.response_rate is None


def test_today_follows_the_schedule_timezone(store, policy):
    ig = account(store, "ig", "instagram")
    # 23:30 UTC on the 19th is 00:30 on the 20th in Berlin: today there, yesterday in UTC.
    conv = inbound(store, policy, ig, "c", datetime(2026, 11, 19, 23, 0, tzinfo=UTC))
    reply(store, policy, conv, datetime(2026, 11, 19, 23, 30, tzinfo=UTC))
    berlin = metrics.today_summary(NOW, BERLIN)
    assert berlin.answered_today == 1 and berlin.date.isoformat() == "2026-11-20"
    assert metrics.today_summary(NOW, "UTC").answered_today == 0
    assert berlin.week is not None and berlin.week.days == 7
    assert metrics.report(NOW, 1, BERLIN).start == datetime(2026, 11, 19, 23, 0, tzinfo=UTC)


def test_typical_response_text(store, policy):
    assert metrics.typical_response_text(NOW) == "within a few hours"  # no data
    ig = account(store, "ig", "instagram")
    for i, hours in enumerate([1.5, 2, 2.4]):
        start = NOW - timedelta(days=2, hours=i)
        conv = inbound(store, policy, ig, f"c{i}", start, author=f"u{i}")
        reply(store, policy, conv, start + timedelta(hours=hours))
    assert metrics.typical_response_text(NOW) == "within about 2 hours"
    # A month later those replies are outside the 30-day window.
    assert metrics.typical_response_text(NOW + timedelta(days=31)) == "within a few hours"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (120, "within a few minutes"),
        (22 * 60, "within about 20 minutes"),
        (70 * 60, "within about an hour"),
        (5.4 * 3600, "within about 5 hours"),
        (26 * 3600, "within a day"),
        (60 * 3600, "within about 2 days"),
    ],
)
def test_describe_duration(seconds, text):
    assert metrics.describe_duration(seconds) == text


def test_report_rejects_zero_days():
    with pytest.raises(ValueError):
        metrics.report(NOW, 0, BERLIN)


def test_twenty_thousand_conversations_report_quickly(store, policy):
    # Bulk SQL instead of ingest: this measures the metrics queries, not ingest's per-item work.
    ig = account(store, "ig", "instagram")
    base = NOW - timedelta(days=6)
    convs, msgs = [], []
    for i in range(20_000):
        at = to_micros(base + timedelta(seconds=20 * i))
        convs.append((i + 1, ig, f"c{i}", "dm", at, at))
        msgs.append((i + 1, ig, f"in{i}", "in", at, ""))
        if i % 4:
            msgs.append((i + 1, ig, f"out{i}", "out", at + (i % 90) * 60_000_000, "manual" if i % 3 else "snippet"))
    with store.write():
        store.db.connection().executemany(
            "INSERT INTO conversation (id, account_id, external_id, kind, public, subject, permalink, contact_name, status,"
            " unanswered_count, preview, created_at, first_inbound_at) VALUES (?,?,?,?,0,'','','','open',0,'',?,?)",
            convs,
        )
        store.db.connection().executemany(
            "INSERT INTO message (conversation_id, account_id, external_id, direction, text, created_at, via,"
            " edited_after_snippet, meta) VALUES (?,?,?,?,'x',?,?,0,'{}')",
            msgs,
        )
    started = time_mod.perf_counter()
    rep = metrics.report(NOW, 7, BERLIN, policy)
    metrics.today_summary(NOW, BERLIN, policy)
    metrics.typical_response_text(NOW)
    elapsed = time_mod.perf_counter() - started
    assert rep.total.received == 20_000 and rep.total.answered == 15_000
    assert rep.total.personal + rep.total.unchanged_snippet == 15_000
    assert elapsed < 3.0, f"metrics took {elapsed:.2f}s"
