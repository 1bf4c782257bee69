"""Tests for core/conversation_clock.py: the one fold of a conversation's clock columns.

The property that lets ingest fold a whole batch at once: folding events together gives what folding
them one at a time gives, deadline included. Then the rules: edits reopen with a fresh clock, reply
windows bring the deadline forward, and what the composer says about a window.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from socialdesk.connectors.base import ReplyWindowRule
from socialdesk.core import conversation_clock as clock
from socialdesk.core import queue
from socialdesk.core.hours import Schedule
from socialdesk.core.store import to_micros
from socialdesk.core.targets import TargetConfig

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday
NOW = T0 + timedelta(days=3)
M0 = to_micros(T0)
HOUR = 3_600_000_000
ALWAYS = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))
BUSINESS = queue.Policy(
    TargetConfig.default(),
    Schedule(timezone="Europe/Berlin", week={d: [(time(9), time(17))] for d in range(5)}),
)


def fresh(kind: str = "dm") -> clock.ClockState:
    return clock.ClockState(kind=kind, channel="instagram")


def at(hours: float) -> int:
    return M0 + int(hours * HOUR)


# --- batch == one at a time ---------------------------------------------------------------------------

hours = st.integers(min_value=0, max_value=72 * 4).map(lambda q: at(q / 4))
events = st.one_of(
    st.builds(clock.Inbound, hours, st.one_of(st.none(), hours)),
    st.builds(clock.Edited, hours, st.booleans()),
    st.builds(clock.Replied, hours),
    st.builds(clock.Recounted, st.integers(0, 5), st.one_of(st.none(), hours)),
    st.builds(clock.Acknowledged, hours),
    st.builds(clock.SendFailed, st.integers(0, 5), st.one_of(st.none(), hours)),
    st.builds(clock.StatusChanged, st.sampled_from(["open", "waiting", "snoozed", "done", "spam"]), hours,
              st.one_of(st.none(), hours)),
    st.just(clock.Reevaluated()),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(events, max_size=6),
    st.lists(events, min_size=1, max_size=10),
    st.sampled_from(["dm", "review", "email"]),
    st.sampled_from([ALWAYS, BUSINESS]),
)
def test_folding_a_batch_equals_folding_one_event_at_a_time(history, batch, kind, policy):
    start = clock.fold_all(fresh(kind), history, policy, NOW)  # any state the fold can reach
    one_by_one = start
    for event in batch:
        one_by_one = clock.fold(one_by_one, event, policy, NOW)
    assert clock.fold_all(start, batch, policy, NOW) == one_by_one


@settings(max_examples=200, deadline=None)
@given(st.lists(events, max_size=12), st.sampled_from([ALWAYS, BUSINESS]))
def test_the_stored_deadline_is_always_a_fresh_evaluation(history, policy):
    """Lazy evaluation never leaves a stale deadline: re-evaluating the folded state changes nothing."""
    state = clock.fold_all(fresh(), history, policy, NOW)
    assert clock.fold(state, clock.Reevaluated(), policy, NOW + timedelta(days=9)) == state


def test_fold_leaves_its_input_alone():
    state = fresh()
    after = clock.fold(state, clock.Inbound(at(0)), ALWAYS, NOW)
    assert (state.unanswered_count, state.due_at) == (0, None)
    assert (after.unanswered_count, after.awaiting_since, after.due_at) == (1, at(0), at(1))


# --- edits ----------------------------------------------------------------------------------------------


def answered_review() -> clock.ClockState:
    """A review that arrived at 0 h and was answered at 2 h."""
    state = clock.fold_all(fresh("review"), [clock.Inbound(at(0)), clock.Replied(at(2))], ALWAYS, NOW)
    assert state.awaiting_since is None and state.due_at is None
    return state


def test_an_edit_of_an_answered_review_awaits_an_answer_again_from_the_edit():
    state = clock.fold(answered_review(), clock.Edited(at(30), reopened=True), ALWAYS, NOW)
    assert (state.status, state.unanswered_count, state.awaiting_since) == ("open", 1, at(30))
    assert state.due_at == at(30 + 24)  # a fresh clock: the review target counts from the edit


def test_an_edit_reopens_a_done_conversation_without_its_old_clock():
    done = clock.fold(answered_review(), clock.StatusChanged("done", at(3)), ALWAYS, NOW)
    state = clock.fold(done, clock.Edited(at(50), reopened=True), ALWAYS, NOW)
    assert (state.status, state.resolved_at, state.awaiting_since, state.due_at) == ("open", None, at(50), at(74))


def test_an_edit_drops_a_paused_remainder_where_a_new_message_resumes_it():
    waiting = clock.fold_all(fresh("review"), [clock.Inbound(at(0)), clock.StatusChanged("waiting", at(20))],
                             ALWAYS, NOW)
    assert waiting.paused_remaining_s == 4 * 3600
    message = clock.fold(waiting, clock.Inbound(at(30)), ALWAYS, NOW)
    assert (message.status, message.due_at) == ("open", at(34))  # resumes: 4 h left from the message
    edit = clock.fold(waiting, clock.Edited(at(30), reopened=False), ALWAYS, NOW)
    assert (edit.status, edit.paused_remaining_s, edit.due_at) == ("open", None, at(24))


def test_editing_a_message_that_still_awaits_an_answer_earns_no_time():
    waiting = clock.fold(fresh("review"), clock.Inbound(at(0)), ALWAYS, NOW)
    state = clock.fold(waiting, clock.Edited(at(5), reopened=False), ALWAYS, NOW)
    assert (state.unanswered_count, state.awaiting_since, state.due_at) == (1, at(0), at(24))


# --- reply windows --------------------------------------------------------------------------------------


def test_the_deadline_is_the_earlier_of_the_target_and_the_reply_window():
    # Friday 16:30 in Berlin: the 1 h business-hours target runs into Monday; the 24 h window ends Saturday.
    friday = datetime(2026, 3, 6, 15, 30, tzinfo=timezone.utc)
    window = friday + timedelta(hours=24)
    state = clock.fold(fresh(), clock.Inbound(to_micros(friday), window_ends_at=to_micros(window)), BUSINESS, NOW)
    assert state.due_at == to_micros(window)
    assert state.due_soon_at == to_micros(window - timedelta(minutes=15))  # the target's margin, before it
    assert state.target_minutes == 60
    without = clock.fold(fresh(), clock.Inbound(to_micros(friday)), BUSINESS, NOW)
    assert without.due_at == to_micros(datetime(2026, 3, 9, 8, 30, tzinfo=timezone.utc))  # Monday 9:30 Berlin
    # A window that closes after the target changes nothing.
    late = clock.fold(fresh(), clock.Inbound(at(0), window_ends_at=at(24)), ALWAYS, NOW)
    assert (late.due_at, late.reply_window_ends_at) == (at(1), at(24))


def test_the_conversation_keeps_the_latest_window():
    state = clock.fold_all(fresh(), [clock.Inbound(at(5), window_ends_at=at(29)),
                                     clock.Inbound(at(1), window_ends_at=at(25))], ALWAYS, NOW)
    assert state.reply_window_ends_at == at(29)


MESSENGER = ReplyWindowRule(late_reply=timedelta(days=6), late_reply_how="tagged as a human agent's reply",
                            after_close="open the conversation in the Messenger app")


def test_window_notice_counts_down_warns_and_says_what_still_works():
    ends = T0 + timedelta(hours=2)
    assert clock.window_notice(None, MESSENGER, T0) is None
    info = clock.window_notice(ends, MESSENGER, T0)
    assert (info.text, info.level, info.can_send, info.late) == ("Reply window closes in 2 h 00.", "info", True, False)
    warning = clock.window_notice(ends, MESSENGER, T0 + timedelta(minutes=80))
    assert warning.level == "warning" and warning.can_send
    assert warning.text.startswith("Reply window closes in 40 min.") and "human agent" in warning.text
    late = clock.window_notice(ends, MESSENGER, T0 + timedelta(hours=5))
    assert (late.level, late.can_send, late.late) == ("closed", True, True)
    assert "closed 3 h 00 ago" in late.text and "tagged as a human agent's reply" in late.text
    over = clock.window_notice(ends, MESSENGER, T0 + timedelta(days=7))
    assert (over.can_send, over.late) == (False, False) and "Messenger app" in over.text
    strict = clock.window_notice(ends, None, T0 + timedelta(hours=3))
    assert not strict.can_send and "platform's app" in strict.text
