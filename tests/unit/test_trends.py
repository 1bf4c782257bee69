"""core/trends: the Today panel's chart numbers, with an injected now and schedule (Mon-Fri 09:00-17:00 Berlin)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from socialdesk.core import queue, trends
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Conversation
from socialdesk.core.targets import TargetConfig
from tests.unit.test_metrics import BERLIN, NOW, UTC, WEEKDAYS_9_17, account, inbound, reply


@pytest.fixture
def store(tmp_path):
    from socialdesk.core.store import Store

    s = Store.open(tmp_path / "db.sqlite3")
    yield s
    s.close()


@pytest.fixture
def policy():
    return queue.Policy(TargetConfig.default(), Schedule(timezone="Europe/Berlin", week=WEEKDAYS_9_17))


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """November `day` 2026, local Berlin time (the 16th is a Monday, NOW is Friday the 20th 15:00)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def test_evening_arrivals_while_closed_make_the_sentence(store, policy):
    ig = account(store, "ig", "telegram")
    n = 0

    def arrive(at: datetime) -> None:
        nonlocal n
        n += 1
        inbound(store, policy, ig, f"c{n}", at)

    for day in (16, 17, 18):  # Mon-Wed evenings: 12 while closed, 19:00-21:00
        for hour in (19, 20):
            arrive(berlin(day, hour, 10))
            arrive(berlin(day, hour, 40))
    arrive(berlin(17, 23, 30))  # two more while closed, late
    arrive(berlin(18, 6, 30))
    for day in (16, 17, 18, 19):  # 16 while open
        for hour in (10, 11, 13, 14):
            arrive(berlin(day, hour, 5))
    arrive(NOW - timedelta(days=40))  # before the window
    spam = inbound(store, policy, ig, "spam", berlin(19, 20))
    with store.write():
        Conversation.update(status="spam").where(Conversation.id == spam).execute()

    week = trends.week_arrivals(NOW, policy.schedule)
    assert week.total == 30 and week.closed == 14
    assert week.band == (19, 21) and week.band_count == 12
    assert week.sentence == "40 % of your messages arrive 19:00–21:00 while you are closed"
    assert week.counts[0][19] == 2 and week.counts[3][10] == 1 and week.counts[3][20] == 0  # spam left out
    assert week.open_minutes[0][9] == 60 and week.open_minutes[0][17] == 0 and week.open_minutes[5][10] == 0


def test_sentence_without_a_clear_band_or_without_closed_arrivals():
    assert trends.arrival_sentence(0, 0, None, 0, 28) == "No customer messages in the last 28 days."
    assert trends.arrival_sentence(25, 0, None, 0, 28) == "All of your messages in the last 28 days arrived while you were open."
    assert trends.arrival_sentence(30, 20, (22, 0), 20, 28) == "67 % of your messages arrive 22:00–24:00 while you are closed"
    # Too few messages to name a band: the overall closed share.
    assert trends.arrival_sentence(10, 4, (19, 21), 4, 28) == "40 % of your messages arrive while you are closed"
    # A band holding under 10 % of all messages is not worth naming.
    assert trends.arrival_sentence(100, 30, (7, 8), 9, 28) == "30 % of your messages arrive while you are closed"


def test_band_grows_over_busy_neighbours_and_wraps_midnight():
    hours = [0] * 24
    hours[23], hours[0], hours[1], hours[5] = 6, 8, 1, 2
    assert trends._band(hours) == ((23, 1), 14)
    assert trends._band([0] * 24) == (None, 0)


def test_open_minutes_follow_the_regular_week_to_the_minute():
    schedule = Schedule(timezone="Europe/Berlin", week={0: [(time(9, 30), time(17))], 4: [(time(22), time(2))]})
    minutes = trends.open_minutes_of_week(schedule)
    assert not minutes[9 * 60 + 10] and minutes[9 * 60 + 30] and not minutes[17 * 60]
    assert minutes[4 * 1440 + 23 * 60] and minutes[5 * 1440 + 60] and not minutes[5 * 1440 + 2 * 60]


def test_response_trend_measures_like_the_target_and_draws_the_usual_target(store, policy):
    ig = account(store, "ig", "telegram")
    mail = account(store, "mail", "email")
    for i, (start, answer) in enumerate([
        (berlin(19, 10), berlin(19, 10, 30)),  # 30 min
        (berlin(19, 10), berlin(19, 11, 30)),  # 90 min
        (berlin(18, 16, 30), berlin(19, 9, 30)),  # overnight: 60 open minutes (17 h on the clock)
        (berlin(17, 10), berlin(17, 10, 20)),  # 20 min on Tuesday
    ]):
        reply(store, policy, inbound(store, policy, ig, f"dm{i}", start), answer)
    reply(store, policy, inbound(store, policy, mail, "e1", berlin(19, 9), kind="email"), berlin(19, 15))

    trend = trends.response_trend(NOW, policy)
    assert len(trend.days) == 30 and trend.days[-1].day == date(2026, 11, 20)
    assert trend.days[0].day == date(2026, 10, 22)
    by_day = {d.day: d for d in trend.days}
    assert by_day[date(2026, 11, 19)].median_s == 60 * 60 and by_day[date(2026, 11, 19)].count == 3
    assert by_day[date(2026, 11, 17)].median_s == 20 * 60
    assert by_day[date(2026, 11, 18)].median_s is None  # no first response that day: a gap
    assert trend.target_s == 3600 and trend.business_hours
    assert (trend.shown, trend.total) == (4, 5)  # the email (12 h target) is not in these bars


def test_share_within_target_per_channel(store, policy):
    tg = account(store, "tg", "telegram")
    mail = account(store, "mail", "email")
    reply(store, policy, inbound(store, policy, tg, "a", berlin(19, 10)), berlin(19, 10, 30))
    reply(store, policy, inbound(store, policy, tg, "b", berlin(19, 10)), berlin(19, 12))
    reply(store, policy, inbound(store, policy, mail, "c", berlin(19, 10), kind="email"), berlin(19, 11))
    shares = {s.channel: s for s in trends.channel_shares(NOW, policy)}
    assert (shares["telegram"].judged, shares["telegram"].within, shares["telegram"].pct) == (2, 1, 50.0)
    assert shares["email"].pct == 100.0
    charts = trends.today_charts(NOW, policy)
    assert charts.trend.total == 3 and charts.week.total == 3 and len(charts.shares) == 2
