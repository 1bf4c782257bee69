"""Unit tests for socialdesk.core.targets: rules, the clock (business and wall), states, countdowns."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialdesk.core.hours import AwayPeriod, Schedule, parse_week_spec
from socialdesk.core.targets import (
    TargetConfig,
    TargetConfigError,
    TargetInput,
    TargetResult,
    TargetRule,
    evaluate,
    format_countdown,
    remaining_seconds,
    state,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def nine_to_five(tz: str = "Europe/Berlin", **kw) -> Schedule:
    return Schedule(timezone=tz, week=parse_week_spec("mon-fri 09:00-17:00"), **kw)


def item(**kw) -> TargetInput:
    base = dict(
        kind="dm",
        account_kind="telegram",
        status="open",
        awaiting_since=berlin(2024, 3, 8, 16, 30),
        first_response_at=None,
        paused_remaining_s=None,
    )
    base.update(kw)
    return TargetInput(**base)


def config(**rules: TargetRule) -> TargetConfig:
    c = TargetConfig.default()
    for key, rule in rules.items():
        kind, _, account_kind = key.partition("__")
        c.rules[(kind, account_kind or "*")] = rule
    c.validate()
    return c


WALL_1H = TargetRule(60, 30, business_hours=False)
BIZ_1H = TargetRule(60, 30, business_hours=True)


# --- config ---------------------------------------------------------------------------------------


def test_defaults_from_design() -> None:
    c = TargetConfig.default()
    for platform in ("x", "facebook", "instagram", "mastodon", "bluesky"):
        assert c.rule_for("mention", platform).first_response_minutes == 60
        assert c.rule_for("comment", platform).first_response_minutes == 60
    for platform in ("telegram", "x", "facebook", "instagram", "mastodon", "bluesky", "demo"):
        assert c.rule_for("dm", platform).first_response_minutes == 60
    assert c.rule_for("email", "email").first_response_minutes == 12 * 60
    assert c.rule_for("review", "google_reviews").first_response_minutes == 24 * 60
    assert c.due_soon_fraction == 0.25 and c.due_soon_min_minutes == 15


def test_specific_rule_beats_star() -> None:
    c = config(dm__telegram=TargetRule(5, 5, False))
    assert c.rule_for("dm", "telegram").first_response_minutes == 5
    assert c.rule_for("dm", "mastodon").first_response_minutes == 60
    with pytest.raises(TargetConfigError, match="unknown conversation kind"):
        c.rule_for("tweetstorm", "x")


def test_config_json_round_trip() -> None:
    c = config(dm__telegram=TargetRule(5, 10, False))
    c.due_soon_fraction = 0.5
    c.due_soon_min_minutes = 0
    d = json.loads(json.dumps(c.to_json()))
    assert TargetConfig.from_json(d) == c


def test_from_json_fills_missing_star_rules() -> None:
    c = TargetConfig.from_json({"rules": [{"kind": "email", "account_kind": "*", "first_response_minutes": 30}]})
    assert c.rule_for("email", "email") == TargetRule(30, 30, True)
    assert c.rule_for("review", "google_reviews").first_response_minutes == 24 * 60


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"kind": "dm", "first_response_minutes": 0}, "from 1 to 43200"),
        ({"kind": "dm", "first_response_minutes": 43201}, "from 1 to 43200"),
        ({"kind": "dm", "first_response_minutes": 60, "next_response_minutes": 0}, "next response minutes"),
        ({"kind": "dm", "first_response_minutes": "60"}, "whole number"),
        ({"kind": "dm", "first_response_minutes": True}, "whole number"),
        ({"kind": "dm", "first_response_minutes": 60, "business_hours": "yes"}, "true or false"),
        ({"kind": "letter", "first_response_minutes": 60}, "kind must be one of"),
        ({"kind": "dm", "account_kind": "X Corp", "first_response_minutes": 60}, "account kind"),
        ({"kind": "dm"}, "missing first_response_minutes"),
    ],
)
def test_config_validation(rule: dict, message: str) -> None:
    with pytest.raises(TargetConfigError, match=message):
        TargetConfig.from_json({"rules": [rule]})


def test_config_validation_of_due_soon_settings() -> None:
    with pytest.raises(TargetConfigError, match="fraction"):
        TargetConfig.from_json({"due_soon_fraction": 1.5})
    with pytest.raises(TargetConfigError, match="minimum"):
        TargetConfig.from_json({"due_soon_min_minutes": -1})
    with pytest.raises(TargetConfigError, match="listed twice"):
        TargetConfig.from_json({"rules": [{"kind": "dm", "first_response_minutes": 1}] * 2})


# --- the clock --------------------------------------------------------------------------------------


def test_friday_1630_plus_one_hour_business_hours_is_monday_0930() -> None:
    r = evaluate(item(), config(dm=BIZ_1H), nine_to_five(), berlin(2024, 3, 8, 16, 31))
    assert r == TargetResult(berlin(2024, 3, 11, 9, 30), berlin(2024, 3, 11, 9, 15), 60)
    assert r.due_at.tzinfo == UTC


def test_wall_clock_rule_ignores_hours() -> None:
    r = evaluate(item(), config(dm=WALL_1H), nine_to_five(), berlin(2024, 3, 8, 16, 31))
    assert r.due_at == berlin(2024, 3, 8, 17, 30)
    assert r.due_soon_at == berlin(2024, 3, 8, 17, 15)


def test_next_response_target_after_first_reply() -> None:
    it = item(first_response_at=berlin(2024, 3, 8, 10, 0), awaiting_since=berlin(2024, 3, 8, 12, 0))
    r = evaluate(it, config(dm=WALL_1H), nine_to_five(), berlin(2024, 3, 8, 12, 1))
    assert r.target_minutes == 30
    assert r.due_at == berlin(2024, 3, 8, 12, 30)
    # max(25% of 30 min, 15 min) = 15 min
    assert r.due_soon_at == berlin(2024, 3, 8, 12, 15)


@pytest.mark.parametrize("status", ["done", "spam", "waiting", "snoozed"])
def test_stopped_or_paused_statuses_have_no_target(status: str) -> None:
    r = evaluate(item(status=status), config(), nine_to_five(), berlin(2024, 3, 8, 16, 31))
    assert r == TargetResult(None, None, None)


def test_not_awaiting_has_no_target_and_bad_status_raises() -> None:
    assert evaluate(item(awaiting_since=None), config(), nine_to_five(), berlin(2024, 3, 8)).due_at is None
    with pytest.raises(ValueError, match="status"):
        evaluate(item(status="archived"), config(), nine_to_five(), berlin(2024, 3, 8))


def test_auto_reply_does_not_stop_the_clock() -> None:
    # An auto-reply is not a human response: first_response_at stays None, awaiting_since unchanged,
    # so the item keeps its first-response target; only a human reply changes these inputs.
    r = evaluate(item(), config(dm=WALL_1H), nine_to_five(), berlin(2024, 3, 8, 16, 45))
    assert r.target_minutes == 60 and r.due_at == berlin(2024, 3, 8, 17, 30)


def test_message_arriving_while_closed() -> None:
    it = item(awaiting_since=berlin(2024, 3, 9, 22, 0))  # Saturday night
    r = evaluate(it, config(dm=BIZ_1H), nine_to_five(), berlin(2024, 3, 9, 22, 1))
    assert r.due_at == berlin(2024, 3, 11, 10, 0)
    assert r.due_soon_at == berlin(2024, 3, 11, 9, 45)
    assert state(r.due_at, r.due_soon_at, berlin(2024, 3, 10, 12, 0)) == "ok"


def test_holiday_is_closed_time() -> None:
    s = nine_to_five(holidays_country="DE")
    it = item(awaiting_since=berlin(2024, 4, 30, 16, 30))  # the day before Labour Day (Wed)
    r = evaluate(it, config(dm=BIZ_1H), s, berlin(2024, 4, 30, 16, 31))
    assert r.due_at == berlin(2024, 5, 2, 9, 30)


def test_away_period_is_closed_time() -> None:
    s = nine_to_five(away=[AwayPeriod(berlin(2024, 3, 11, 0, 0), berlin(2024, 3, 13, 0, 0), "Vacation")])
    r = evaluate(item(), config(dm=BIZ_1H), s, berlin(2024, 3, 8, 16, 31))
    assert r.due_at == berlin(2024, 3, 13, 9, 30)


@pytest.mark.parametrize(
    ("tz", "zone", "friday"),
    [
        ("Europe/Berlin", BERLIN, date(2024, 3, 29)),
        ("Europe/Berlin", BERLIN, date(2024, 10, 25)),
        ("America/New_York", NY, date(2024, 3, 8)),
        ("America/New_York", NY, date(2024, 11, 1)),
    ],
)
def test_dst_weekend_business_and_wall_clock(tz: str, zone: ZoneInfo, friday: date) -> None:
    s = nine_to_five(tz)
    start = datetime.combine(friday, datetime.min.time(), zone).replace(hour=16, minute=30)
    monday = friday + timedelta(days=3)
    it = item(awaiting_since=start)
    biz = evaluate(it, config(dm=BIZ_1H), s, start)
    assert biz.due_at == datetime.combine(monday, datetime.min.time(), zone).replace(hour=9, minute=30)
    # Wall-clock 24 h targets count real elapsed time: across the change the local hour shifts.
    wall = evaluate(item(awaiting_since=start), config(dm=TargetRule(48 * 60, 60, False)), s, start)
    assert wall.due_at - start == timedelta(hours=48)
    local_hour = wall.due_at.astimezone(zone).hour
    assert local_hour in (15, 17)  # 16:30 +/- the DST hour, minute 30


def test_paused_item_resumes_with_remaining_time() -> None:
    s = nine_to_five()
    c = config(dm=BIZ_1H)
    it = item(awaiting_since=berlin(2024, 3, 6, 10, 0))
    # Paused at 10:40 with 20 business minutes left.
    left = remaining_seconds(replace(it, status="waiting"), c, s, berlin(2024, 3, 6, 10, 40))
    assert left == 20 * 60
    # Resumed on Thursday 16:50: 10 min today, 10 min on Friday morning.
    resumed = replace(it, paused_remaining_s=left)
    r = evaluate(resumed, c, s, berlin(2024, 3, 7, 16, 50))
    assert r.due_at == berlin(2024, 3, 8, 9, 10)
    # Due soon max(25% of 60, 15) = 15 minutes before the deadline on the wall clock: Friday, not
    # Thursday 16:55, when the countdown says "16 h 14 left".
    assert r.due_soon_at == berlin(2024, 3, 8, 8, 55)
    assert state(r.due_at, r.due_soon_at, berlin(2024, 3, 7, 16, 56)) == "ok"
    # With less left than the margin the item is due soon right away.
    r = evaluate(replace(it, paused_remaining_s=600), c, s, berlin(2024, 3, 7, 12, 0))
    assert r.due_soon_at == berlin(2024, 3, 7, 12, 0) and r.due_at == berlin(2024, 3, 7, 12, 10)


def test_remaining_seconds_negative_when_overdue_and_wall_clock() -> None:
    s = nine_to_five()
    it = item(awaiting_since=berlin(2024, 3, 6, 10, 0))
    assert remaining_seconds(it, config(dm=BIZ_1H), s, berlin(2024, 3, 6, 11, 30)) == -30 * 60
    # Business-time remaining counts only open time: the evening does not eat it.
    late = item(awaiting_since=berlin(2024, 3, 6, 16, 30))
    assert remaining_seconds(late, config(dm=BIZ_1H), s, berlin(2024, 3, 6, 20, 0)) == 30 * 60
    assert remaining_seconds(late, config(dm=WALL_1H), s, berlin(2024, 3, 6, 17, 0)) == 30 * 60
    assert remaining_seconds(it, config(dm=WALL_1H), s, berlin(2024, 3, 6, 10, 59, 30)) == 30
    assert remaining_seconds(item(status="done"), config(), s, berlin(2024, 3, 6)) is None
    assert remaining_seconds(item(awaiting_since=None), config(), s, berlin(2024, 3, 6)) is None


def test_resumed_with_zero_left_is_overdue_now() -> None:
    now = berlin(2024, 3, 6, 12, 0)
    r = evaluate(item(paused_remaining_s=0), config(dm=BIZ_1H), nine_to_five(), now)
    assert r.due_at == now and state(r.due_at, r.due_soon_at, now) == "overdue"


def test_due_soon_fraction_and_minimum_configurable() -> None:
    c = config(email=TargetRule(12 * 60, 12 * 60, False))
    it = item(kind="email", account_kind="email", awaiting_since=berlin(2024, 3, 6, 0, 0))
    r = evaluate(it, c, nine_to_five(), berlin(2024, 3, 6, 1, 0))
    assert r.due_soon_at == berlin(2024, 3, 6, 9, 0)  # 25% of 12 h = 3 h before
    c.due_soon_fraction, c.due_soon_min_minutes = 0.0, 30
    r = evaluate(it, c, nine_to_five(), berlin(2024, 3, 6, 1, 0))
    assert r.due_soon_at == berlin(2024, 3, 6, 11, 30)


def test_business_due_soon_measured_in_open_time() -> None:
    # 4 h business target from Friday 15:00: due Monday 11:00; 1 h margin of open time -> Monday 10:00.
    c = config(dm=TargetRule(240, 240, True))
    r = evaluate(item(awaiting_since=berlin(2024, 3, 8, 15, 0)), c, nine_to_five(), berlin(2024, 3, 8, 15, 0))
    assert r.due_at == berlin(2024, 3, 11, 11, 0)
    assert r.due_soon_at == berlin(2024, 3, 11, 10, 0)


def test_due_soon_just_before_closing_waits_for_the_wall_clock() -> None:
    """Ten minutes of open time left at Friday 16:55 is a deadline on Monday 09:10: the queue showed
    "2 d left" in the due-soon colour (and alerted "Due soon") until closing. Due soon is the margin
    before the deadline as the countdown shows it."""
    it = item(awaiting_since=berlin(2024, 3, 8, 16, 10))
    r = evaluate(it, config(dm=BIZ_1H), nine_to_five(), berlin(2024, 3, 8, 16, 10))
    assert r.due_at == berlin(2024, 3, 11, 9, 10)
    friday = berlin(2024, 3, 8, 16, 56)
    assert format_countdown(r.due_at, friday) == "2 d left" and state(r.due_at, r.due_soon_at, friday) == "ok"
    assert r.due_soon_at == berlin(2024, 3, 11, 8, 55)
    monday = berlin(2024, 3, 11, 8, 56)
    assert format_countdown(r.due_at, monday) == "14 min left"
    assert state(r.due_at, r.due_soon_at, monday) == "due_soon"


def test_switching_away_on_moves_due_soon_with_the_deadline() -> None:
    """Away from 10:50 (15 open minutes were left): the deadline moves to Wednesday, and the row is no
    longer "due soon" while it says "1 d left"."""
    it = item(awaiting_since=berlin(2024, 3, 11, 10, 5))
    now = berlin(2024, 3, 11, 10, 50)
    assert state(*_due(evaluate(it, config(dm=BIZ_1H), nine_to_five(), now)), now) == "due_soon"
    away = nine_to_five(away=[AwayPeriod(now, berlin(2024, 3, 13, 0, 0), "")])
    r = evaluate(it, config(dm=BIZ_1H), away, now)
    assert r.due_at == berlin(2024, 3, 13, 9, 15)
    assert format_countdown(r.due_at, now) == "1 d left" and state(r.due_at, r.due_soon_at, now) == "ok"
    assert r.due_soon_at == berlin(2024, 3, 13, 9, 0)


def _due(r: TargetResult) -> tuple[datetime | None, datetime | None]:
    return r.due_at, r.due_soon_at


def test_stored_resolution_target_of_older_versions_is_ignored() -> None:
    # Older versions stored a resolution target that nothing used; loading it must not fail or keep it.
    c = TargetConfig.from_json({"rules": [{"kind": "dm", "first_response_minutes": 30, "resolution_minutes": 2880}]})
    assert c.rule_for("dm", "*") == TargetRule(30, 30, True)
    assert "resolution_minutes" not in str(c.to_json())


# --- states and countdowns ----------------------------------------------------------------------------


def test_state() -> None:
    due, soon = berlin(2024, 3, 6, 12, 0), berlin(2024, 3, 6, 11, 45)
    assert state(None, None, due) is None
    assert state(due, soon, berlin(2024, 3, 6, 11, 44)) == "ok"
    assert state(due, soon, soon) == "due_soon"
    assert state(due, soon, due) == "overdue"
    assert state(due, None, berlin(2024, 3, 6, 11, 59)) == "ok"


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=12), "12 min left"),
        (timedelta(seconds=30), "1 min left"),
        (timedelta(minutes=59, seconds=30), "1 h 00 left"),
        (timedelta(hours=2, minutes=5), "2 h 05 left"),
        (timedelta(days=3, hours=5), "3 d left"),
        (timedelta(0), "overdue 1 min"),
        (-timedelta(minutes=4, seconds=20), "overdue 4 min"),
        (-timedelta(hours=1, minutes=5), "overdue 1 h 05"),
        (-timedelta(days=2, hours=23), "overdue 2 d"),
    ],
)
def test_format_countdown(delta: timedelta, text: str) -> None:
    now = berlin(2024, 3, 6, 12, 0)
    assert format_countdown(now + delta, now) == text


# --- properties -------------------------------------------------------------------------------------

_instants = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC))


@settings(max_examples=100, deadline=None)
@given(
    since=_instants,
    wait=st.integers(0, 14 * 86400),
    minutes=st.integers(1, 43200),
    business=st.booleans(),
    tz=st.sampled_from(["Europe/Berlin", "America/New_York"]),
)
def test_due_soon_before_due_and_states_progress(since, wait, minutes, business, tz) -> None:
    s = nine_to_five(tz)
    c = config(dm=TargetRule(minutes, minutes, business))
    now = since + timedelta(seconds=wait)
    r = evaluate(item(awaiting_since=since), c, s, now)
    assert since <= r.due_soon_at <= r.due_at
    # Due soon is the margin before the deadline on the wall clock (less only when the clock started later).
    margin = timedelta(seconds=max(0.25 * minutes * 60, 15 * 60))
    assert r.due_at - r.due_soon_at == margin or r.due_soon_at == since
    if business:
        # Business time never runs faster than the wall clock.
        assert r.due_at - since >= timedelta(minutes=minutes)
        assert s.open_seconds_between(since, r.due_at) == pytest.approx(minutes * 60, abs=1e-3)
    else:
        assert r.due_at - since == timedelta(minutes=minutes)
    order = ["ok", "due_soon", "overdue"]
    seen = [state(r.due_at, r.due_soon_at, t) for t in (since, r.due_soon_at, r.due_at)]
    assert seen == sorted(seen, key=order.index)
    assert seen[-1] == "overdue"
