"""Publishing opening hours: the schedule as weekly periods and special days (core/hours_publish.py), the
differences shown before writing, and Google's regularHours/specialHours shapes (connectors/google_reviews.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from socialdesk.connectors.google_reviews import GoogleReviewsConnector, hours_from_google, hours_to_google
from socialdesk.connectors.opening_hours import OpeningHours, SpecialDay, WeeklyPeriod
from socialdesk.core import hours_publish
from socialdesk.core.hours import AwayPeriod, Schedule
from tests.fakes.google import GoogleFake, secrets_for, settings_for

MONDAY = date(2026, 12, 21)  # Christmas week


def schedule() -> Schedule:
    return Schedule(
        timezone="Europe/Berlin",
        week={d: [(time(9), time(17))] for d in range(5)} | {5: [(time(22), time(2))], 6: [(time(18), time(0))]},
        holidays_country="DE",
        closed_dates={date(2026, 12, 28)},
        special_hours={date(2026, 12, 24): [(time(9), time(12))]},
        away=[AwayPeriod(datetime(2026, 12, 30, 11, 0, tzinfo=timezone.utc), datetime(2027, 1, 2, 23, 0, tzinfo=timezone.utc))],
    )


def test_the_week_and_every_day_that_differs_in_the_coming_days():
    hours = hours_publish.wanted(schedule(), MONDAY, days=14)
    assert WeeklyPeriod(0, "09:00", 0, "17:00") in hours.weekly
    assert WeeklyPeriod(5, "22:00", 6, "02:00") in hours.weekly  # overnight: closes on Sunday
    assert WeeklyPeriod(6, "18:00", 6, "24:00") in hours.weekly  # until midnight
    special = {s.day: s.windows for s in hours.special}
    assert special == {
        date(2026, 12, 24): (("09:00", "12:00"),),  # special hours
        date(2026, 12, 25): (),  # public holidays (DE)
        date(2026, 12, 26): (),
        date(2026, 12, 28): (),  # a closed date
        date(2026, 12, 30): (("09:00", "12:00"),),  # away from 12:00 Berlin time
        date(2026, 12, 31): (),
        date(2027, 1, 1): (),
        date(2027, 1, 2): (),  # a Saturday: away until 00:00 Berlin, so its 22:00–02:00 is not opened
    }


def test_differences_name_each_changed_day_and_nothing_else():
    wanted = hours_publish.wanted(schedule(), MONDAY, days=7)
    current = OpeningHours((WeeklyPeriod(0, "09:00", 0, "18:00"),), (SpecialDay(date(2026, 12, 25), ()),
                                                                     SpecialDay(date(2026, 12, 1), ())))
    lines = hours_publish.differences(current, wanted, MONDAY)
    assert lines[0] == "Monday: 09:00–18:00 → 09:00–17:00"
    assert "Saturday: closed → 22:00–02:00 (Sunday)" in lines
    assert "Thu 24 Dec 2026: usual hours → 09:00–12:00" in lines
    assert not any("25 Dec" in line for line in lines)  # already closed on the platform
    assert not any("01 Dec" in line for line in lines)  # past days do not count
    assert hours_publish.differences(wanted, wanted, MONDAY) == []


def test_google_shapes_round_trip():
    wanted = hours_publish.wanted(schedule(), MONDAY, days=14)
    body = hours_to_google(wanted)
    assert body["regularHours"]["periods"][0] == {"openDay": "MONDAY", "openTime": {"hours": 9}, "closeDay": "MONDAY",
                                                  "closeTime": {"hours": 17}}
    assert {"openDay": "SUNDAY", "openTime": {"hours": 18}, "closeDay": "SUNDAY", "closeTime": {"hours": 24}} in \
        body["regularHours"]["periods"]
    specials = body["specialHours"]["specialHourPeriods"]
    assert {"startDate": {"year": 2026, "month": 12, "day": 25}, "closed": True} in specials
    assert {"startDate": {"year": 2026, "month": 12, "day": 24}, "openTime": {"hours": 9},
            "endDate": {"year": 2026, "month": 12, "day": 24}, "closeTime": {"hours": 12}} in specials
    assert hours_from_google(body) == wanted


def test_publishing_patches_the_location_with_an_update_mask():
    fake = GoogleFake()
    with fake.running():
        connector = GoogleReviewsConnector(settings_for(fake), secrets_for(fake))
        assert connector.current_hours().weekly[0] == WeeklyPeriod(0, "09:00", 0, "17:00")
        wanted = hours_publish.wanted(schedule(), MONDAY, days=14)
        connector.publish_hours(wanted)
        assert fake.patches[-1]["mask"] == ["regularHours", "specialHours"]
        assert connector.current_hours() == wanted
        assert hours_publish.differences(connector.current_hours(), wanted, MONDAY) == []
