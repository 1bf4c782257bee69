"""The demo as a believable small-business day (issue 17 item 5), driven by a ManualClock:
a few live messages an hour across all demo accounts, repeat customers, and a closing time a few
minutes after the first start, after which new messages get the off-hours auto-reply (once per
person) and the channels with status posts publish the closing post. Also: an older demo profile
(interval_s 45 on every account) calms down at its next start."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from socialdesk import app, paths
from socialdesk.connectors.demo import CHANNELS, RATES, DemoConnector
from socialdesk.core import automation
from socialdesk.core.clock import ManualClock
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Account, Message, Outbox

ZONE = "Europe/London"
T0 = datetime(2026, 3, 4, 10, 20, 30, tzinfo=timezone.utc)  # a Wednesday; London is on UTC in March


def _live(channel: str, clock: ManualClock, minutes: int, **settings) -> list:
    """Every live message one demo account delivers in `minutes`, polled once a minute."""
    demo = DemoConnector({"channel": channel, "timezone": ZONE, **settings}, None, now=clock.now)
    _opening, cursor = demo.fetch(None)
    items = []
    for _ in range(minutes):
        clock.advance(minutes=1)
        got, cursor = demo.fetch(cursor)
        items.extend(got)
    return items


def test_a_few_messages_an_hour_across_all_channels_busier_at_lunchtime():
    per_hour: Counter = Counter()
    for channel in CHANNELS:
        clock = ManualClock(datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc))
        for item in _live(channel, clock, 8 * 60):
            per_hour[item.created_at.hour] += 1
    total = sum(per_hour.values())
    # Nine accounts over a working day (09:00-17:00): a few an hour in all, never a flood.
    assert 8 <= total <= 60, per_hour
    assert max(per_hour.values()) <= 12, per_hour
    assert sum(RATES[c] for c in CHANNELS) <= 4
    # Lunchtime (11:00-14:00) is busier per hour than the rest of the day.
    lunch = sum(per_hour[h] for h in (11, 12, 13)) / 3
    rest = sum(per_hour[h] for h in (9, 10, 14, 15, 16)) / 5
    assert lunch > rest, per_hour


def test_arrivals_do_not_depend_on_how_often_the_demo_is_polled():
    every_minute = _live("email", ManualClock(T0), 6 * 60)
    demo = DemoConnector({"channel": "email", "timezone": ZONE}, None, now=(clock := ManualClock(T0)).now)
    _opening, cursor = demo.fetch(None)
    once, seen = [], None
    clock.advance(hours=6)
    while seen != []:  # one late poll, paged five at a time
        seen, cursor = demo.fetch(cursor)
        once.extend(seen)
    assert [(i.external_id, i.created_at, i.text) for i in once] == \
        [(i.external_id, i.created_at, i.text) for i in every_minute]
    assert every_minute and len({i.created_at for i in every_minute}) == len(every_minute)


def test_messages_are_spread_irregularly_not_one_per_fixed_interval():
    items = _live("email", ManualClock(datetime(2026, 3, 4, 0, 0, tzinfo=timezone.utc)), 48 * 60)
    gaps = {(b.created_at - a.created_at) for a, b in itertools.pairwise(items)}
    assert len(gaps) > len(items) // 2  # hardly two gaps alike
    assert 10 <= len(items) <= 60  # email: about 0.6 an hour, over two days


def test_repeat_customers_write_again_in_the_same_conversation_and_on_other_channels():
    names: dict[str, set[str]] = {}
    conversations: Counter = Counter()
    for channel in CHANNELS:
        for item in _live(channel, ManualClock(T0), 10 * 60):
            names.setdefault(item.author.display_name, set()).add(channel)
            conversations[(item.author.external_id, item.conversation_external_id)] += 1
    # Someone writes twice in one conversation (a follow-up), and a regular uses two channels.
    assert max(conversations.values()) >= 2
    assert any(len(channels) >= 2 for channels in names.values()), names
    # The opening scene's correspondents come back in their own conversations.
    lea = [i for i in _live("bluesky", ManualClock(T0), 24 * 60) if i.author.display_name == "Léa Martin"]
    assert lea and {i.conversation_external_id for i in lea} == {"bluesky:bs-dm-lea"}
    assert lea[0].text == "Can I pay when I pick them up?"


def test_a_restart_continues_the_people_and_the_timeline():
    clock = ManualClock(T0)
    straight = _live("telegram", clock, 12 * 60)
    demo = DemoConnector({"channel": "telegram", "timezone": ZONE}, None, now=(clock := ManualClock(T0)).now)
    _opening, cursor = demo.fetch(None)
    resumed = []
    for _ in range(12 * 60):
        clock.advance(minutes=1)
        restarted = DemoConnector({"channel": "telegram", "timezone": ZONE}, None, now=clock.now)
        got, cursor = restarted.fetch(cursor)
        resumed.extend(got)
    assert [(i.external_id, i.text, i.conversation_external_id) for i in resumed] == \
        [(i.external_id, i.text, i.conversation_external_id) for i in straight]


def test_a_cursor_from_before_the_rate_continues_from_now_without_a_backlog():
    clock = ManualClock(T0)
    demo = DemoConnector({"channel": "email"}, None, now=clock.now)
    items, cursor = demo.fetch({"epoch": (T0 - timedelta(days=3)).isoformat(), "seq": 200})
    assert items == []  # the old fixed-interval timeline is not replayed
    later = []
    for _ in range(6 * 60):  # and the 200 it had delivered (max_live) do not silence the new one
        clock.advance(minutes=1)
        got, cursor = demo.fetch(cursor)
        later.extend(got)
    assert later and cursor["seq"] == len(later)


def test_per_hour_setting():
    clock = ManualClock(T0)
    assert len(_live("email", clock, 60, per_hour="0")) == 0
    assert len(_live("email", ManualClock(T0), 60, per_hour="30")) >= 10
    with pytest.raises(Exception, match="Messages per hour"):
        DemoConnector({"channel": "email", "per_hour": "lots"}, None)


# --- the demo profile: seed_demo, the engine and automation -----------------------------------------


@pytest.fixture
def demo_core(monkeypatch):
    """The demo profile as `socialdesk --demo` seeds it, on a ManualClock, its demo accounts on that clock."""
    monkeypatch.setattr(app, "system_timezone_name", lambda: ZONE)
    clock = ManualClock(T0)
    core = app.build_core(paths.profile(paths.DEMO_PROFILE), clock=clock)
    core.engine.make_connector = lambda account: DemoConnector(dict(account.settings), None, now=clock.now)
    yield core
    core.close()


def test_the_first_start_closes_a_few_minutes_later_and_the_week_is_a_bakerys(demo_core):
    app.seed_demo(demo_core)
    schedule = Schedule.from_json(demo_core.settings.get("hours.schedule"))
    assert schedule.is_open(T0) and schedule.state_label(T0) == "Open until 10:24"
    assert not schedule.is_open(T0 + timedelta(minutes=4))
    # The next days keep the ordinary hours.
    assert schedule.next_open(T0 + timedelta(minutes=4)) == datetime(2026, 3, 5, 7, 0, tzinfo=timezone.utc)
    assert schedule.is_open(datetime(2026, 3, 7, 16, 30, tzinfo=timezone.utc))  # Saturday afternoon
    assert not schedule.is_open(datetime(2026, 3, 8, 15, 0, tzinfo=timezone.utc))  # Sunday afternoon
    # A later start changes nothing.
    demo_core.clock.advance(days=2)
    app.seed_demo(demo_core)
    assert Schedule.from_json(demo_core.settings.get("hours.schedule")) == schedule


@pytest.mark.parametrize("local", ["00:00:10", "06:59:00", "23:58:30", "21:30:00"])
def test_the_first_days_closing_at_any_hour(local):
    hour, minute, second = map(int, local.split(":"))
    start = datetime(2026, 3, 4, hour, minute, second, tzinfo=timezone.utc)
    schedule = app.demo_schedule(start, ZONE)
    assert schedule.is_open(start)
    closes = schedule.next_close(start)
    assert timedelta(minutes=3) <= closes - start <= timedelta(minutes=4)
    assert schedule.next_open(closes) >= closes + timedelta(hours=3)  # a real closing, with a closing post


def test_after_closing_time_new_messages_get_one_auto_reply_per_person_and_the_closing_post_goes_out(demo_core):
    app.seed_demo(demo_core)
    engine, clock = demo_core.engine, demo_core.clock
    engine.run_once()  # the opening scene, while open: no auto-replies
    assert Outbox.select().count() == 0
    for _ in range(3 * 60):  # three simulated hours, a pass a minute
        clock.advance(minutes=1)
        engine.run_once()
    closing = T0.replace(second=0) + timedelta(minutes=4)
    posts = list(Outbox.select().where(Outbox.purpose == "status_post"))
    posting = {a.id for a in Account.select() if automation.can_post(a)}
    assert {p.account_id for p in posts} == posting and len(posting) >= 3
    assert all(p.state == "sent" and p.reason.startswith("closing post") for p in posts)
    replies = list(Outbox.select().where(Outbox.purpose == "auto_reply"))
    assert replies and all(r.state == "sent" for r in replies)
    assert all(r.created_at >= closing for r in replies)
    per_person = Counter(r.contact_id for r in replies)
    assert max(per_person.values()) == 1  # once per person per closed period
    # Every private message that came after closing is from someone who got the reply.
    late = Message.select().where((Message.created_at >= closing) & (Message.direction == "in"))
    private_late = {m.conversation.contact_id for m in late if not m.conversation.public}
    assert private_late and private_late <= set(per_person)
    # A few live messages in three hours, not hundreds.
    live = Message.select().where(Message.external_id.contains(":live:")).count()
    assert 3 <= live <= 30


def test_the_first_ten_minutes_show_a_new_message_the_closing_post_and_an_auto_reply(demo_core):
    app.seed_demo(demo_core)
    engine, clock = demo_core.engine, demo_core.clock
    engine.run_once()
    seen_open = []
    for _ in range(10 * 6):  # ten minutes, a pass every 10 s
        clock.advance(seconds=10)
        engine.run_once()
        if clock.now() < T0 + timedelta(minutes=3):
            seen_open.append(Message.select().where(Message.external_id.contains(":live:")).count())
    assert seen_open[-1] >= 1  # someone wrote while the bakery was still open
    assert Outbox.select().where((Outbox.purpose == "status_post") & (Outbox.state == "sent")).count() >= 3
    assert Outbox.select().where((Outbox.purpose == "auto_reply") & (Outbox.state == "sent")).count() >= 1


def test_an_older_demo_profile_calms_down_at_its_next_start(demo_core):
    app.seed_demo(demo_core)
    with demo_core.store.write():  # as the demo of session 4 seeded it
        Account.update(settings={"channel": "telegram", "interval_s": 45}).where(
            Account.name == "Telegram (demo)").execute()
    app.seed_demo(demo_core)
    settings = Account.get(Account.name == "Telegram (demo)").settings
    assert "interval_s" not in settings and settings["timezone"] == ZONE
    assert DemoConnector(settings, None).interval is None
