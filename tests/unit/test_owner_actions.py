"""core/owner_actions: the owner's actions publish the change notification the engine publishes, settings
are written and due times recomputed in one place, and snooze choices follow the schedule's zone."""

from __future__ import annotations

import time as time_mod
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from socialdesk import paths
from socialdesk.app import build_core
from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import queue
from socialdesk.core.changes import ChangeSet
from socialdesk.core.clock import ManualClock
from socialdesk.core.hours import Schedule, ScheduleError
from socialdesk.core.owner_actions import snooze_choices
from socialdesk.core.store import Account, Conversation

UTC = timezone.utc
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # Tuesday 19:00 in Tokyo, 02:00 in Los Angeles


@pytest.fixture
def core():
    c = build_core(paths.profile("t"), clock=ManualClock(NOW))
    weekdays = Schedule(timezone="Asia/Tokyo", week={d: [(time(9), time(17))] for d in range(5)})
    c.settings.set("hours.schedule", weekdays.to_json())
    c.policy.invalidate()
    yield c
    c.close()


def conversation(core) -> int:
    with core.store.write():
        account_id = Account.create(kind="demo", name="Shop", settings={"channel": "telegram"}, created_at=NOW).id
    item = InboundItem("m1", "c1", "dm", False, Author("u1", display_name="Ana"), "hello", NOW - timedelta(minutes=5))
    core.engine._ingest(account_id, [item], {})
    return Conversation.get(Conversation.account == account_id).id


@pytest.fixture
def computer_in_los_angeles(monkeypatch):
    """The computer's own zone differs from the schedule's (Tokyo)."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time_mod.tzset()
    assert NOW.astimezone().utcoffset() == timedelta(hours=-8)
    yield
    monkeypatch.undo()
    time_mod.tzset()


def test_snooze_choices_are_read_in_the_schedules_zone(computer_in_los_angeles):
    schedule = Schedule(timezone="Asia/Tokyo", week={d: [(time(9), time(17))] for d in range(5)})
    choices = dict(snooze_choices(schedule, NOW))
    assert choices["1 hour"] == NOW + timedelta(hours=1)
    # 19:00 in Tokyo: this evening has passed there (in Los Angeles it is 02:00, evening still ahead).
    assert choices["Tomorrow evening (18:00)"] == datetime(2026, 12, 2, 18, 0, tzinfo=TOKYO)
    assert choices["Tomorrow morning (08:00)"] == datetime(2026, 12, 2, 8, 0, tzinfo=TOKYO)
    assert choices["When we next open (Wed 09:00)"] == datetime(2026, 12, 2, 9, 0, tzinfo=TOKYO)
    assert all(until.tzinfo == UTC for until in choices.values())


def test_snooze_choices_before_the_evening_and_a_schedule_that_never_opens(computer_in_los_angeles):
    morning = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    labels = [label for label, _until in snooze_choices(Schedule(timezone="Asia/Tokyo", week={}), morning)]
    assert labels == ["1 hour", "This evening (18:00)", "Tomorrow morning (08:00)"]  # never opens: no reopen
    assert dict(snooze_choices(Schedule(timezone="Asia/Tokyo"), morning))["This evening (18:00)"] == datetime(
        2026, 12, 1, 18, 0, tzinfo=TOKYO)


def test_status_changes_and_replies_publish_what_changed(core, published):
    conv_id = conversation(core)
    published.clear()
    core.owner.set_status(conv_id, "done")
    assert published == [ChangeSet({conv_id})]
    assert Conversation.get_by_id(conv_id).status == "done"
    core.owner.set_status(conv_id, "open")
    poked = []
    core.owner.poke = lambda: poked.append(True)
    published.clear()
    core.owner.reply(conv_id, "Thanks!", mark_done=True)
    assert published == [ChangeSet({conv_id}, outbox=True)] and poked == [True]
    with pytest.raises(queue.QueueError):
        core.owner.set_status(conv_id, "snoozed", NOW - timedelta(minutes=1))
    assert len(published) == 1  # a refused action publishes nothing


def test_merging_people_publishes_the_conversations_of_both(core, published):
    conv_id = conversation(core)
    with core.store.write():
        other_account = Account.create(kind="demo", name="Mail", settings={"channel": "email"}, created_at=NOW).id
    item = InboundItem("m2", "c2", "email", False, Author("ana@example.com", display_name="Ana M."), "hi", NOW)
    core.engine._ingest(other_account, [item], {})
    other = Conversation.get(Conversation.account == other_account)
    keep = Conversation.get_by_id(conv_id).contact_id
    published.clear()
    core.owner.merge_contacts(keep, other.contact_id)
    assert published == [ChangeSet({conv_id, other.id})]
    assert Conversation.get_by_id(other.id).contact_id == keep


def test_hours_change_recomputes_due_times_and_says_every_row_changed(core, published):
    conv_id = conversation(core)  # Tuesday 19:00 in Tokyo: closed, the clock starts Wednesday 09:00
    due = Conversation.get_by_id(conv_id).due_at
    published.clear()
    warning = core.owner.save_schedule(Schedule.always_open("Asia/Tokyo"))
    assert warning == ""
    assert Conversation.get_by_id(conv_id).due_at < due  # counted from now, not from tomorrow's opening
    assert core.policy().schedule.is_open(NOW)  # the cached policy was dropped
    assert published == [ChangeSet(settings={"hours.schedule"})] and published[0].policy_changed


def test_other_settings_publish_without_recomputing(core, published, monkeypatch):
    recomputed = []
    monkeypatch.setattr(queue, "recompute_all", lambda *a: recomputed.append(a))
    assert core.owner.save_settings({"business.name": "Juniper & Rye"}) == ""
    assert core.settings.get("business.name") == "Juniper & Rye"
    assert recomputed == [] and not published[-1].policy_changed
    core.owner.set_paused(True)
    assert published[-1] == ChangeSet(settings={"automation.paused"})


def test_a_failed_recompute_keeps_the_edit_and_warns(core, monkeypatch):
    def never_open(*_args):
        raise ScheduleError("never open within 400 days")

    monkeypatch.setattr(queue, "recompute_all", never_open)
    schedule, warning = core.owner.go_away(None, "Back soon")
    assert "could not be recomputed: never open" in warning
    assert Schedule.from_json(core.settings.get("hours.schedule")).away_at(NOW) is not None
    assert schedule.away_at(NOW) is not None
    _schedule, was_away, _warning = core.owner.come_back()
    assert was_away and core.policy().schedule.away_at(NOW) is None
