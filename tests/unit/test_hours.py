"""Unit tests for socialdesk.core.hours: schedule, DST, midnight windows, holidays, away, week spec."""

from __future__ import annotations

import json
import os
import time as systime
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialdesk.core.hours import (
    AwayPeriod,
    Schedule,
    ScheduleError,
    describe_week,
    format_week_spec,
    format_windows,
    parse_week_spec,
    parse_windows,
    system_timezone_name,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")


def nine_to_five(tz: str = "Europe/Berlin", **kw) -> Schedule:
    return Schedule(timezone=tz, week=parse_week_spec("mon-fri 09:00-17:00"), **kw)


def at(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


# --- basic open/closed --------------------------------------------------------------------------


def test_is_open_and_results_are_utc() -> None:
    s = nine_to_five()
    assert s.is_open(at(BERLIN, 2024, 3, 6, 9, 0))
    assert s.is_open(at(BERLIN, 2024, 3, 6, 16, 59))
    assert not s.is_open(at(BERLIN, 2024, 3, 6, 17, 0))
    assert not s.is_open(at(BERLIN, 2024, 3, 9, 12, 0))  # Saturday
    nxt = s.next_open(at(BERLIN, 2024, 3, 9, 12, 0))
    assert nxt.tzinfo == UTC
    assert nxt == at(BERLIN, 2024, 3, 11, 9, 0)
    now = at(BERLIN, 2024, 3, 6, 10, 0)
    assert s.next_open(now) == now
    assert s.next_close(now) == at(BERLIN, 2024, 3, 6, 17, 0)
    # While closed, next_close is the end of the next open stretch.
    assert s.next_close(at(BERLIN, 2024, 3, 9, 12, 0)) == at(BERLIN, 2024, 3, 11, 17, 0)


def test_naive_datetime_rejected() -> None:
    with pytest.raises(ValueError):
        nine_to_five().is_open(datetime(2024, 3, 6, 10, 0))


def test_split_shift() -> None:
    s = Schedule(timezone="Europe/Berlin", week=parse_week_spec("mon-fri 09:00-12:30,13:30-17:00"))
    assert not s.is_open(at(BERLIN, 2024, 3, 6, 13, 0))
    assert s.next_open(at(BERLIN, 2024, 3, 6, 13, 0)) == at(BERLIN, 2024, 3, 6, 13, 30)
    assert s.next_close(at(BERLIN, 2024, 3, 6, 10, 0)) == at(BERLIN, 2024, 3, 6, 12, 30)
    day = s.open_seconds_between(at(BERLIN, 2024, 3, 6, 0, 0), at(BERLIN, 2024, 3, 7, 0, 0))
    assert day == 7 * 3600
    assert s.state_label(at(BERLIN, 2024, 3, 6, 12, 45)) == "Closed — opens Wed 13:30"


def test_window_across_midnight() -> None:
    s = Schedule(timezone="Europe/Berlin", week=parse_week_spec("fri 18:00-02:00"))
    assert s.is_open(at(BERLIN, 2024, 3, 8, 23, 0))
    assert s.is_open(at(BERLIN, 2024, 3, 9, 1, 59))
    assert not s.is_open(at(BERLIN, 2024, 3, 9, 2, 0))
    assert not s.is_open(at(BERLIN, 2024, 3, 8, 1, 0))  # Friday early morning belongs to Thursday
    assert s.next_close(at(BERLIN, 2024, 3, 8, 20, 0)) == at(BERLIN, 2024, 3, 9, 2, 0)
    assert s.state_label(at(BERLIN, 2024, 3, 8, 20, 0)) == "Open until 02:00"
    assert s.add_open_time(at(BERLIN, 2024, 3, 8, 23, 0), 4 * 3600) == at(BERLIN, 2024, 3, 15, 19, 0)


def test_overlapping_windows_merge() -> None:
    s = Schedule(timezone="UTC", week={4: [(time(18), time(2))], 5: [(time(1), time(5))]})
    iv = list(s.open_intervals(at(UTC, 2024, 3, 8), at(UTC, 2024, 3, 10)))
    assert iv == [(at(UTC, 2024, 3, 8, 18), at(UTC, 2024, 3, 9, 5))]


def test_always_open() -> None:
    s = Schedule.always_open()
    now = at(UTC, 2024, 3, 6, 3, 0)
    assert s.is_open(now)
    assert s.next_close(now) is None
    assert s.closed_period_key(now) is None
    assert s.state_label(now) == "Open"
    assert s.add_open_time(now, 86400 * 3) == now + timedelta(days=3)


def test_never_open_terminates() -> None:
    s = Schedule(timezone="UTC", week={})
    now = at(UTC, 2024, 3, 6)
    t0 = systime.perf_counter()
    with pytest.raises(ScheduleError, match="never open"):
        s.next_open(now)
    with pytest.raises(ScheduleError, match="never open"):
        s.add_open_time(now, 60)
    assert s.next_close(now) is None
    assert s.state_label(now) == "Closed"
    assert s.closed_period_key(now) == "closed:long"
    assert systime.perf_counter() - t0 < 2


# --- DST ------------------------------------------------------------------------------------------


def test_dst_spring_forward_gap_start_moves_to_gap_end() -> None:
    # Berlin jumps 02:00 -> 03:00 on 2024-03-31 (a Sunday).
    s = Schedule(timezone="Europe/Berlin", week={6: [(time(2, 30), time(5))]})
    sunday = at(UTC, 2024, 3, 31, 0, 0)
    opens = s.next_open(sunday)
    assert opens == at(BERLIN, 2024, 3, 31, 3, 0)
    assert opens == at(UTC, 2024, 3, 31, 1, 0)
    assert s.open_seconds_between(sunday, sunday + timedelta(days=1)) == 2 * 3600


def test_dst_fall_back_fold_window_covers_both_occurrences() -> None:
    # New York repeats 01:00-02:00 on 2024-11-03 (a Sunday).
    s = Schedule(timezone="America/New_York", week={6: [(time(0, 30), time(1, 30))]})
    start = at(UTC, 2024, 11, 3, 0, 0)
    iv = list(s.open_intervals(start, start + timedelta(days=1)))
    assert iv == [(at(UTC, 2024, 11, 3, 4, 30), at(UTC, 2024, 11, 3, 6, 30))]  # 2 real hours


def test_dst_week_business_hours_berlin_and_new_york() -> None:
    # Spring-forward Sundays: Berlin 2024-03-31, New York 2024-03-10; fall-back: 2024-10-27, 2024-11-03.
    for tz, zone, sunday in (
        ("Europe/Berlin", BERLIN, date(2024, 3, 31)),
        ("America/New_York", NY, date(2024, 3, 10)),
        ("Europe/Berlin", BERLIN, date(2024, 10, 27)),
        ("America/New_York", NY, date(2024, 11, 3)),
    ):
        s = nine_to_five(tz)
        fri, mon = sunday - timedelta(days=2), sunday + timedelta(days=1)
        # Local 09:00-17:00 on both sides of the change.
        due = s.add_open_time(datetime.combine(fri, time(16, 30), zone), 3600)
        assert due == datetime.combine(mon, time(9, 30), zone), tz
        a = datetime.combine(sunday - timedelta(days=6), time(0), zone)
        b = datetime.combine(sunday + timedelta(days=6), time(0), zone)
        assert s.open_seconds_between(a, b) == 10 * 8 * 3600
        assert s.next_open(datetime.combine(sunday, time(12), zone)) == datetime.combine(mon, time(9), zone)


def test_dst_24h_day_is_23_hours_on_spring_day() -> None:
    s = Schedule.always_open("Europe/Berlin")
    a, b = at(BERLIN, 2024, 3, 31, 0, 0), at(BERLIN, 2024, 4, 1, 0, 0)
    assert s.open_seconds_between(a, b) == 23 * 3600
    assert s.is_open(at(UTC, 2024, 3, 31, 1, 0))


# --- holidays, closed dates, special hours, away ---------------------------------------------------


def test_holiday_on_a_weekday() -> None:
    s = nine_to_five(holidays_country="DE", holidays_subdiv="BY")
    # 2024-05-01 (Labour Day) is a Wednesday.
    assert not s.is_open(at(BERLIN, 2024, 5, 1, 10, 0))
    assert s.is_holiday(date(2024, 5, 1))
    assert s.next_open(at(BERLIN, 2024, 5, 1, 10, 0)) == at(BERLIN, 2024, 5, 2, 9, 0)
    assert s.add_open_time(at(BERLIN, 2024, 4, 30, 16, 30), 3600) == at(BERLIN, 2024, 5, 2, 9, 30)
    assert s.state_label(at(BERLIN, 2024, 5, 1, 10, 0)) == "Closed — opens Thu 09:00"


def test_unknown_holiday_country_is_clear() -> None:
    with pytest.raises(ScheduleError, match="unknown holiday country 'XX'"):
        nine_to_five(holidays_country="XX")
    with pytest.raises(ScheduleError, match="region"):
        nine_to_five(holidays_country="DE", holidays_subdiv="ZZ")


def test_closed_dates_and_special_hours_precedence() -> None:
    s = nine_to_five(
        holidays_country="DE",
        closed_dates={date(2024, 3, 6)},
        special_hours={date(2024, 5, 1): [(time(10), time(12))], date(2024, 3, 7): []},
    )
    assert not s.is_open(at(BERLIN, 2024, 3, 6, 10, 0))  # closed date
    assert not s.is_open(at(BERLIN, 2024, 3, 7, 10, 0))  # special hours: closed all day
    assert s.is_open(at(BERLIN, 2024, 5, 1, 11, 0))  # special hours beat the holiday
    assert not s.is_open(at(BERLIN, 2024, 5, 1, 9, 30))
    assert s.next_open(at(BERLIN, 2024, 3, 5, 18, 0)) == at(BERLIN, 2024, 3, 8, 9, 0)


def test_away_overlapping_a_weekend() -> None:
    away = AwayPeriod(at(BERLIN, 2024, 3, 8, 12, 0), at(BERLIN, 2024, 3, 11, 11, 0), "Back Monday")
    s = nine_to_five(away=[away])
    assert not s.is_open(at(BERLIN, 2024, 3, 8, 13, 0))
    assert s.away_at(at(BERLIN, 2024, 3, 9, 13, 0)) is away
    assert s.away_at(at(BERLIN, 2024, 3, 11, 11, 0)) is None
    assert s.next_open(at(BERLIN, 2024, 3, 8, 13, 0)) == at(BERLIN, 2024, 3, 11, 11, 0)
    assert s.state_label(at(BERLIN, 2024, 3, 8, 13, 0)) == "Away until 11 Mar"
    assert s.state_label(at(BERLIN, 2024, 3, 11, 10, 0)) == "Away until 11:00"
    # Business time skips the away period and the weekend.
    assert s.add_open_time(at(BERLIN, 2024, 3, 8, 11, 30), 3600) == at(BERLIN, 2024, 3, 11, 11, 30)
    # One closed stretch from Friday 12:00 to Monday 11:00: one key.
    keys = {s.closed_period_key(at(BERLIN, 2024, 3, d, h, 0)) for d, h in ((8, 12), (8, 20), (10, 3), (11, 10))}
    assert keys == {"closed:2024-03-08T11:00:00Z"}


def test_open_ended_away_wins_over_hours() -> None:
    s = nine_to_five(away=[AwayPeriod(at(UTC, 2024, 3, 1), None, "Sick")])
    now = at(BERLIN, 2024, 3, 6, 10, 0)
    assert not s.is_open(now)
    assert s.state_label(now) == "Away"
    with pytest.raises(ScheduleError, match="never open"):
        s.next_open(now)


def test_chained_away_periods_label_shows_last_end() -> None:
    s = nine_to_five(
        away=[
            AwayPeriod(at(UTC, 2024, 11, 20), at(UTC, 2024, 11, 25), ""),
            AwayPeriod(at(UTC, 2024, 11, 25), at(UTC, 2024, 12, 3, 12), ""),
        ]
    )
    assert s.state_label(at(UTC, 2024, 11, 21)) == "Away until 3 Dec"


def test_closed_period_key_changes_between_periods() -> None:
    s = nine_to_five()
    evening = s.closed_period_key(at(BERLIN, 2024, 3, 6, 18, 0))
    night = s.closed_period_key(at(BERLIN, 2024, 3, 7, 8, 59))
    next_evening = s.closed_period_key(at(BERLIN, 2024, 3, 7, 17, 0))
    assert evening == night == "closed:2024-03-06T16:00:00Z"
    assert next_evening != evening
    assert s.closed_period_key(at(BERLIN, 2024, 3, 7, 12, 0)) is None


def test_state_labels() -> None:
    s = nine_to_five(closed_dates={date(2024, 3, d) for d in range(11, 23)})
    assert s.state_label(at(BERLIN, 2024, 3, 6, 10, 0)) == "Open until 17:00"
    assert s.state_label(at(BERLIN, 2024, 3, 8, 18, 0)) == "Closed — opens Mon 25 Mar 09:00"
    s2 = Schedule(timezone="UTC", week=parse_week_spec("mon 00:00-24:00; tue 00:00-24:00"))
    assert s2.state_label(at(UTC, 2024, 3, 4, 10, 0)) == "Open until Wed 00:00"


# --- business-time arithmetic -----------------------------------------------------------------------


def test_friday_1630_plus_one_hour_is_monday_0930() -> None:
    s = nine_to_five()
    due = s.add_open_time(at(BERLIN, 2024, 3, 8, 16, 30), 3600)
    assert due == at(BERLIN, 2024, 3, 11, 9, 30)
    assert s.open_seconds_between(at(BERLIN, 2024, 3, 8, 16, 30), due) == 3600
    assert s.add_open_time(due, -3600) == at(BERLIN, 2024, 3, 8, 16, 30)
    assert s.open_seconds_between(due, at(BERLIN, 2024, 3, 8, 16, 30)) == -3600


def test_message_arriving_while_closed_starts_at_opening() -> None:
    s = nine_to_five()
    assert s.add_open_time(at(BERLIN, 2024, 3, 9, 22, 0), 1800) == at(BERLIN, 2024, 3, 11, 9, 30)
    assert s.add_open_time(at(BERLIN, 2024, 3, 9, 22, 0), 0) == at(BERLIN, 2024, 3, 9, 22, 0)


def test_exact_fill_ends_at_close_not_next_opening() -> None:
    s = nine_to_five()
    assert s.add_open_time(at(BERLIN, 2024, 3, 8, 16, 0), 3600) == at(BERLIN, 2024, 3, 8, 17, 0)


def test_long_span_beyond_one_horizon_chunk() -> None:
    s = nine_to_five("UTC")
    start = at(UTC, 2024, 1, 1, 9, 0)  # Monday
    # 70 weeks of 40 open hours = well past the 400-day search chunk.
    assert s.add_open_time(start, 70 * 40 * 3600) == at(UTC, 2024, 1, 1, 9, 0) + timedelta(weeks=69, days=4, hours=8)


def test_performance_per_call() -> None:
    s = nine_to_five(holidays_country="DE", holidays_subdiv="BY")
    start = at(BERLIN, 2024, 3, 8, 16, 30)
    n = 2000
    t0 = systime.perf_counter()
    for i in range(n):
        s.add_open_time(start + timedelta(minutes=i), 3600)
        s.open_seconds_between(start, start + timedelta(days=3, minutes=i))
    per_call = (systime.perf_counter() - t0) / (2 * n)
    assert per_call < 0.0005  # target 0.2 ms; headroom for a loaded CI machine


# --- serialisation and validation -----------------------------------------------------------------


def test_json_round_trip_exact() -> None:
    s = Schedule(
        timezone="America/New_York",
        week={0: [(time(9), time(12, 30)), (time(13, 30), time(17))], 4: [(time(18), time(2))], 6: [], 5: [(time(0), time(0))]},
        holidays_country="US",
        holidays_subdiv="NY",
        closed_dates={date(2024, 12, 24), date(2024, 12, 31)},
        special_hours={date(2024, 11, 29): [(time(10), time(14))], date(2024, 12, 26): []},
        away=[
            AwayPeriod(at(UTC, 2024, 8, 1), at(UTC, 2024, 8, 15), "Vacation"),
            AwayPeriod(at(UTC, 2025, 1, 1), None, ""),
        ],
    )
    d = s.to_json()
    assert d["week"]["fri"] == [["18:00", "02:00"]]
    assert d["week"]["sat"] == [["00:00", "24:00"]]
    assert Schedule.from_json(d) == s
    assert Schedule.from_json(json.loads(json.dumps(d))) == s


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown timezone"),
        ({"week": {"funday": []}}, "unknown day 'funday'"),
        ({"week": {"mon": [["9", "17:00"]]}}, "not a time"),
        ({"week": {"mon": [["24:00", "17:00"]]}}, "24:00 only as an end"),
        ({"closed_dates": ["2024-13-01"]}, "not a date"),
        ({"away": [{"start": "2024-01-01T00:00:00"}]}, "UTC offset"),
        ({"away": [{"start": "2024-01-02T00:00:00+00:00", "end": "2024-01-01T00:00:00+00:00"}]}, "before it starts"),
        ({"holidays_country": "XX"}, "unknown holiday country"),
        ("nope", "JSON object"),
    ],
)
def test_from_json_rejects_bad_data(data: object, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        Schedule.from_json(data)


def test_default_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    s = Schedule.default()
    assert s.timezone == "Europe/Berlin"
    assert s.week == {d: [(time(9), time(17))] for d in range(5)}


def test_system_timezone_detection(tmp_path) -> None:
    assert system_timezone_name({"TZ": ":America/New_York"}, root=str(tmp_path)) == "America/New_York"
    assert system_timezone_name({"TZ": "/usr/share/zoneinfo/Asia/Tokyo"}, root=str(tmp_path)) == "Asia/Tokyo"
    assert system_timezone_name({}, root=str(tmp_path)) == "UTC"
    (tmp_path / "etc").mkdir()
    os.symlink("/usr/share/zoneinfo/Europe/Paris", tmp_path / "etc" / "localtime")
    assert system_timezone_name({"TZ": "Not/AZone"}, root=str(tmp_path)) == "Europe/Paris"
    (tmp_path / "etc" / "timezone").write_text("Europe/Rome\n")
    assert system_timezone_name({}, root=str(tmp_path)) == "Europe/Rome"


# --- week spec ------------------------------------------------------------------------------------


def test_parse_week_spec() -> None:
    w = parse_week_spec("mon-fri 09:00-12:30,13:30-17:00; sat 10:00-14:00; sun closed")
    assert w[0] == w[4] == [(time(9), time(12, 30)), (time(13, 30), time(17))]
    assert w[5] == [(time(10), time(14))]
    assert w[6] == []
    assert parse_week_spec("mon,wed 9:00-24:00") == {0: [(time(9), time(0))], 2: [(time(9), time(0))]}
    assert parse_week_spec("fri-mon 10:00-11:00").keys() == {4, 5, 6, 0}
    assert parse_week_spec("mon-fri 09:00-17:00; wed closed")[2] == []
    assert parse_week_spec("") == {}


@pytest.mark.parametrize(
    ("spec", "part"),
    [
        ("mon-fri 09:00-17:00; xyz 10:00-11:00", "xyz 10:00-11:00"),
        ("mon 09:00", "mon 09:00"),
        ("mon 25:00-26:00", "mon 25:00-26:00"),
        ("monday", "monday"),
        ("mon,,tue 09:00-10:00", "mon,,tue 09:00-10:00"),
    ],
)
def test_bad_week_spec_names_the_part(spec: str, part: str) -> None:
    with pytest.raises(ScheduleError) as e:
        parse_week_spec(spec)
    assert repr(part) in str(e.value)


def test_format_week_spec_round_trip() -> None:
    spec = "mon-thu,sat 09:00-12:30,13:30-17:00; fri 18:00-02:00; sun closed"
    week = parse_week_spec(spec)
    assert format_week_spec(week) == spec
    assert parse_week_spec(format_week_spec(week)) == week
    assert format_week_spec({}) == ""
    assert format_week_spec(Schedule.always_open().week) == "mon-sun 00:00-24:00"


def test_one_days_windows_as_text_for_the_editor_and_the_command_line() -> None:
    """One text form for `hours set --special`, `hours show --json` and the hours editor (issue 13.8)."""
    windows = [(time(9), time(12, 30)), (time(13, 30), time(17))]
    assert format_windows(windows) == "09:00-12:30,13:30-17:00"
    assert format_windows([(time(22), time(0))]) == "22:00-24:00"
    assert format_windows([]) == "closed"
    assert parse_windows(" 09:00-12:30, 13:30-17:00 ") == windows
    assert parse_windows("") == parse_windows("Closed") == []
    with pytest.raises(ScheduleError) as e:
        parse_windows("9-x", "Monday")
    assert str(e.value) == "Monday: '9' is not a time like 09:00"  # named as the owner knows it
    with pytest.raises(ScheduleError, match="week spec part"):
        parse_windows("9-x")
    assert describe_week({}) == "closed every day"
    assert describe_week(parse_week_spec("mon-fri 09:00-17:00")) == "mon-fri 09:00-17:00"


# --- properties -----------------------------------------------------------------------------------

_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
_windows = st.lists(st.tuples(_times, _times), max_size=3)
_weeks = st.dictionaries(st.integers(0, 6), _windows, max_size=7)
_instants = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC))
_zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])


@settings(max_examples=150, deadline=None)
@given(week=_weeks, tz=_zones, now=_instants)
def test_next_open_is_open_and_not_before_now(week, tz, now) -> None:
    s = Schedule(timezone=tz, week=week)
    try:
        nxt = s.next_open(now)
    except ScheduleError:
        # A weekly schedule with no open time in 8 days is never open.
        assert s.open_seconds_between(now, now + timedelta(days=8)) == 0
        return
    assert nxt >= now
    assert s.is_open(nxt)
    if nxt > now:
        assert s.open_seconds_between(now, nxt) == 0


@settings(max_examples=150, deadline=None)
@given(week=_weeks, tz=_zones, now=_instants, a=st.integers(0, 200_000), b=st.integers(0, 200_000))
def test_add_open_time_monotonic_and_consistent(week, tz, now, a, b) -> None:
    s = Schedule(timezone=tz, week=week)
    if s.open_seconds_between(now, now + timedelta(days=8)) == 0:
        return
    lo, hi = sorted((a, b))
    t_lo, t_hi = s.add_open_time(now, lo), s.add_open_time(now, hi)
    assert now <= t_lo <= t_hi
    assert s.open_seconds_between(now, t_hi) == pytest.approx(hi, abs=1e-3)


def test_edits_after_construction_take_effect() -> None:
    s = nine_to_five()
    now = at(BERLIN, 2024, 3, 6, 18, 0)
    assert not s.is_open(now)
    s.week[2] = [(time(9), time(20))]
    assert s.is_open(now)
    s.timezone = "America/New_York"  # 18:00 Berlin is 12:00 in New York
    s.week[2] = [(time(9), time(17))]
    assert s.is_open(now)
    s.closed_dates.add(date(2024, 3, 6))
    assert not s.is_open(now)


def _reference_add_open_time(s: Schedule, start: datetime, seconds: int) -> datetime:
    """The definition, walked naively over open_intervals (no memoised spans)."""
    left = timedelta(seconds=seconds)
    if not left:
        return start
    for lo_s, hi_e in s.open_intervals(start, start + timedelta(weeks=30)):
        if hi_e - lo_s >= left:
            return lo_s + left
        left -= hi_e - lo_s
    raise ScheduleError("never open")


@settings(max_examples=150, deadline=None)
@given(
    week=_weeks,
    tz=_zones,
    now=_instants,
    amounts=st.lists(st.integers(0, 6_000_000), min_size=1, max_size=3),
)
def test_add_open_times_matches_the_definition(week, tz, now, amounts) -> None:
    """One walk for several amounts (targets' due soon + due) gives add_open_time's answers, also when
    they lie beyond the memoised four-week span (up to ~70 days of open time here)."""
    s = Schedule(timezone=tz, week=week)
    weekly = int(s.open_seconds_between(now, now + timedelta(days=8)))
    if weekly == 0:
        return
    # Up to ten weeks of this schedule's open time: past the four-week span, within the reference's reach.
    amounts = sorted(a % (10 * weekly + 1) for a in amounts)
    expected = [_reference_add_open_time(s, now, a) for a in amounts]
    assert s.add_open_times(now, tuple(amounts)) == expected
    assert [s.add_open_time(now, a) for a in amounts] == expected


def test_add_open_times_rejects_unsorted_or_negative_amounts() -> None:
    s = nine_to_five()
    now = at(BERLIN, 2024, 3, 8, 16, 30)
    with pytest.raises(ValueError):
        s.add_open_times(now, (3600, 60))
    with pytest.raises(ValueError):
        s.add_open_times(now, (-60, 60))
