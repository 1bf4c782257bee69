"""The conversation clock: one pure fold of what happens to a conversation into its queue state.

Owns every write of a conversation's clock columns: status, snoozed_until, resolved_at, the
unanswered run (unanswered_count, awaiting_since), first_response_at, last_outbound_at,
acknowledged_at, the paused target (paused_remaining_s, resumed_at), reply_window_ends_at and the
deadline (due_at, due_soon_at, target_minutes). Ingest, the queue and the outbox build events, call
`fold` (or `fold_all`) and write the state back; nothing else sets these columns. Qt-free, no database:
`now` and the policy are passed in, times are integer microseconds since the epoch (UTC), as stored,
because ingest folds thousands of rows per batch (`ClockState` is a plain object whose attributes are
the column names, so ingest's rows are ClockStates).

Decisions:
- Events: `Inbound` (a customer message), `Edited` (a customer message changed), `Replied` (a human
  reply, through socialdesk or seen on the platform), `Recounted` (the unanswered run as the stored
  thread gives it, queue.unanswered_runs), `Acknowledged` (an auto-reply or status post went out),
  `SendFailed` (a human reply that will not arrive: failed for good or withdrawn), `StatusChanged` (the
  owner, or a snooze ending), `Reevaluated` (targets or hours changed) and `Restored` (the owner undid
  a status change: the columns go back to what they were before it, the deadline evaluated again,
  which under the same policy gives the old one).
- Which customer messages a reply answered depends on the whole stored thread (late-arriving messages,
  failed sends), so that rule stays in SQL (queue.unanswered_runs) and reaches the fold as `Recounted`.
  Alone, `Replied` answers everything before it, which is exact for a batch sorted by time.
- A new customer message counts as unanswered when it came after our last reply, and reopens a
  waiting, snoozed or done conversation; a paused clock resumes with the time it had left, from that
  message. An answer to our message that is stamped before it (clocks disagree) is taken as made just
  after it: ingest passes that moment as the message's `at` and stores it as its `awaiting_from`.
- An edit: a changed review or comment reopens the conversation with a fresh clock. It counts as a
  customer message made at the moment of the edit: a message that had been answered awaits an answer
  again from the edit (the deadline runs from there), and a waiting, snoozed or done conversation
  reopens without its paused remainder. An edit to a message still awaiting an answer neither counts
  twice nor moves the running deadline (fixing a typo earns no time); nor does an edit our latest reply
  came after. Whether a reply came after the message and before the edit is the stored thread's rule,
  so ingest decides it, passes it as `Edited.reopened` and stores the edit time as the message's
  `awaiting_from`, which unanswered_runs reads: a recount gives what the fold gave. A deletion changes no clock: the thread shows it, the owner decides.
- Reply window: a conversation keeps the latest window end its messages brought. While it is
  awaiting an answer, the deadline is the earlier of the response target and the window; when the
  window comes first, "due soon" starts the target's margin before it (wall-clock time: a platform's
  window does not follow opening hours). `window_notice` says what the composer shows, and whether Send
  still works (ReplyWindowRule in connectors/base.py).
- The deadline is evaluated lazily: only when its inputs (status, unanswered run, first response,
  paused remainder, resume moment, window) changed, or on `Reevaluated`. Evaluating the same inputs
  under the same policy gives the same deadline, and every policy change sends `Reevaluated` to all
  (queue.recompute_all), so a customer adding to a thread that already waits costs no schedule walk.
  The same rule makes `fold_all(s, [a, b])` equal `fold(fold(s, a), b)`: batch ingest and one event at
  a time agree (tests/unit/test_conversation_clock.py).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, NamedTuple, TypeVar, Union, cast

from socialdesk.core import targets as targets_mod
from socialdesk.core.db_format import from_micros, to_micros
from socialdesk.core.hours import ScheduleError
from socialdesk.core.states import ConversationStatus

if TYPE_CHECKING:
    from socialdesk.connectors.base import ReplyWindowRule
    from socialdesk.core.queue import Policy

PAUSING = (ConversationStatus.WAITING, ConversationStatus.SNOOZED)
_REOPENABLE = (*PAUSING, ConversationStatus.DONE)  # module constants: the fold runs per event in bulk ingest
WINDOW_WARNING_S = 3600  # the composer warns when the reply window closes within the hour


class ClockState:
    """The clock columns of one conversation, times in stored microseconds. `kind` and `channel`
    (the account kind the target rules are keyed by) are context the fold never changes.

    Attributes live in the instance __dict__ (no __slots__): ingest fills thousands of rows with one
    dict.update each, and its row class adds columns of its own (preview, contact) that a fold carries."""

    kind: str
    channel: str
    status: str
    snoozed_until: int | None
    resolved_at: int | None
    first_response_at: int | None
    last_outbound_at: int | None
    acknowledged_at: int | None
    unanswered_count: int
    awaiting_since: int | None
    paused_remaining_s: int | None
    resumed_at: int | None
    reply_window_ends_at: int | None
    due_at: int | None
    due_soon_at: int | None
    target_minutes: int | None

    def __init__(self, **values: object) -> None:
        self.__dict__.update(_NEW)
        self.__dict__.update(values)

    def values(self) -> dict[str, object]:
        """The clock columns (FIELDS) and their values."""
        return {name: self.__dict__[name] for name in FIELDS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClockState) and self.values() == other.values()

    def __repr__(self) -> str:
        return f"ClockState({self.values()!r})"


# The stored columns the fold writes (kind and channel are context, never written).
FIELDS = (
    "status", "snoozed_until", "resolved_at", "first_response_at", "last_outbound_at", "acknowledged_at",
    "unanswered_count", "awaiting_since", "paused_remaining_s", "resumed_at", "reply_window_ends_at",
    "due_at", "due_soon_at", "target_minutes",
)
_NEW = dict.fromkeys(FIELDS)
# rating is context too (the conversation's latest rating: low ones are "due soon" earlier).
_NEW.update(kind="dm", channel="", status=ConversationStatus.OPEN, unanswered_count=0, rating=None)


# --- events -----------------------------------------------------------------------------------------


class Inbound(NamedTuple):
    """A customer message awaiting an answer from `at`; `window_ends_at`: the reply window it opens."""

    at: int
    window_ends_at: int | None = None


class Edited(NamedTuple):
    """A customer message changed at `at`; `reopened`: a human reply came after the message and before
    the edit, so it awaits an answer again, from the edit."""

    at: int
    reopened: bool


class Replied(NamedTuple):
    """A human reply made at `at` (through socialdesk or seen on the platform)."""

    at: int


class Recounted(NamedTuple):
    """The unanswered run as counted from the stored thread (queue.unanswered_runs): how many customer
    messages await an answer, and since when."""

    unanswered: int
    oldest: int | None


class Acknowledged(NamedTuple):
    """An auto-reply or status post went out at `at`: it acknowledges, it is not a response."""

    at: int


class SendFailed(NamedTuple):
    """A human reply that will not arrive (failed for good, or withdrawn); the run recounted without it."""

    unanswered: int
    oldest: int | None


class StatusChanged(NamedTuple):
    """The owner moved the conversation to `status` at `at` (or a snooze ended). Opening needs the run
    recounted first (a `Recounted` before it)."""

    status: str
    at: int
    snoozed_until: int | None = None


class Reevaluated(NamedTuple):
    """The policy changed (targets or hours): evaluate the deadline again."""


class Restored(NamedTuple):
    """The owner undid a status change: `values` are the clock columns (FIELDS) from before it. Only
    offered while nothing else changed the conversation since (owner_actions.undo checks)."""

    values: dict


Event = Union[Inbound, Edited, Replied, Recounted, Acknowledged, SendFailed, StatusChanged, Reevaluated, Restored]
State = TypeVar("State", bound=ClockState)  # ingest folds its own rows, which are ClockStates


# --- the fold ---------------------------------------------------------------------------------------


def fold(state: State, event: Event, policy: "Policy", now: datetime) -> State:
    """The state after `event`, with its deadline evaluated. `state` is not changed."""
    return fold_all(state, (event,), policy, now)


def fold_all(state: State, events: Iterable[Event], policy: "Policy", now: datetime) -> State:
    """`fold` over several events; the same result as folding them one at a time, evaluating the
    deadline once (when its inputs changed) instead of after every event.

    Written for bulk ingest, which folds thousands of rows per batch: no helper objects, the common
    events go through a table of small functions, and the deadline's inputs are read with one
    attrgetter. `due_for` holds the inputs the state's deadline was evaluated for (the state's own on
    entry: every writer folds, so stored deadlines are current); None forces an evaluation."""
    work = object.__new__(type(state))
    work.__dict__.update(state.__dict__)
    due_for: tuple | None = _inputs(state)
    for event in events:
        kind = type(event)
        if kind is StatusChanged:
            due_for = _status_changed(work, cast(StatusChanged, event), policy, now, due_for)
        elif kind is Reevaluated:
            due_for = None
        elif kind is Restored:
            work.__dict__.update({name: cast(Restored, event).values[name] for name in FIELDS})
            due_for = None
        else:
            _HANDLERS[kind](work, event)
    _settle(work, policy, now, due_for)
    return work


def _inbound(s: ClockState, e: Inbound) -> None:
    if s.last_outbound_at is None or e.at > s.last_outbound_at:
        s.unanswered_count += 1
        if s.awaiting_since is None or e.at < s.awaiting_since:
            s.awaiting_since = e.at
    if e.window_ends_at is not None and (s.reply_window_ends_at is None or e.window_ends_at > s.reply_window_ends_at):
        s.reply_window_ends_at = e.window_ends_at
    if s.status in _REOPENABLE:
        _reopen(s, e.at, fresh=False)


def _edited(s: ClockState, e: Edited) -> None:
    if e.reopened:
        s.unanswered_count += 1
        if s.awaiting_since is None or e.at < s.awaiting_since:
            s.awaiting_since = e.at
    if s.status in _REOPENABLE:
        _reopen(s, e.at, fresh=True)


def _reopen(s: ClockState, at: int, *, fresh: bool) -> None:
    """A customer message (or edit) at `at` brings a waiting, snoozed or done conversation back. A
    paused clock resumes with what it had left, from `at`, unless the clock is to start afresh."""
    resumes = not fresh and s.status in PAUSING and s.paused_remaining_s is not None
    s.status = ConversationStatus.OPEN
    s.snoozed_until = None
    s.resolved_at = None
    s.resumed_at = at if resumes else None
    if not resumes:
        s.paused_remaining_s = None


def _replied(s: ClockState, e: Replied) -> None:
    if s.last_outbound_at is None or e.at > s.last_outbound_at:
        s.last_outbound_at = e.at
    if s.first_response_at is None:
        s.first_response_at = e.at
    s.unanswered_count = 0
    s.awaiting_since = None
    _nothing_awaits(s)


def _recounted(s: ClockState, e: Recounted | SendFailed) -> None:
    s.unanswered_count = e.unanswered
    s.awaiting_since = e.oldest
    if e.oldest is None:
        _nothing_awaits(s)


def _nothing_awaits(s: ClockState) -> None:
    """Nothing awaits an answer: no clock is paused or resumed either (a later message starts afresh)."""
    s.paused_remaining_s = None
    s.resumed_at = None


def _acknowledged(s: ClockState, e: Acknowledged) -> None:
    s.acknowledged_at = e.at


def _send_failed(s: ClockState, e: SendFailed) -> None:
    _recounted(s, e)
    if s.awaiting_since is not None and s.status == ConversationStatus.DONE:
        # Marked done together with a reply that never arrived: the customer still waits.
        s.status = ConversationStatus.OPEN
        s.resolved_at = None


def _status_changed(
    s: ClockState, e: StatusChanged, policy: "Policy", now: datetime, due_for: tuple | None
) -> tuple | None:
    """Apply a status change; returns the inputs the state's deadline is now evaluated for."""
    if e.status not in targets_mod.STATUSES:
        raise ValueError(f"unknown conversation status {e.status!r}")
    previous = s.status
    if e.status in PAUSING and previous == ConversationStatus.OPEN:
        due_for = _settle(s, policy, now, due_for)  # the deadline of the clock being paused, current
        s.paused_remaining_s = _remaining_at(s, policy, e.at)
        s.resumed_at = None
    s.status = e.status
    s.snoozed_until = e.snoozed_until if e.status == ConversationStatus.SNOOZED else None
    if e.status == ConversationStatus.DONE:
        s.resolved_at = e.at
        s.paused_remaining_s = None
        s.resumed_at = None
    elif e.status == ConversationStatus.OPEN:
        s.resolved_at = None
        if previous in PAUSING and s.paused_remaining_s is not None:
            s.resumed_at = e.at
        else:
            s.paused_remaining_s = None
            s.resumed_at = None
    return due_for


# The events that need neither the policy nor the deadline (StatusChanged and Reevaluated do).
_HANDLERS: dict[type, Callable[[ClockState, Any], None]] = {
    Inbound: _inbound,
    Edited: _edited,
    Replied: _replied,
    Recounted: _recounted,
    Acknowledged: _acknowledged,
    SendFailed: _send_failed,
}


# --- the deadline -----------------------------------------------------------------------------------

# What the deadline depends on, besides the policy.
_inputs = operator.attrgetter(
    "status", "awaiting_since", "first_response_at", "paused_remaining_s", "resumed_at", "reply_window_ends_at",
    "rating",  # a low rating brings "due soon" forward (targets.due_soon_margin_s)
)


def _settle(s: ClockState, policy: "Policy", now: datetime, due_for: tuple | None) -> tuple:
    """Evaluate the deadline if its inputs changed since `due_for` (None: always); returns the inputs
    it is now evaluated for."""
    if s.awaiting_since is None:
        _nothing_awaits(s)
    inputs = _inputs(s)
    if inputs != due_for:
        s.due_at, s.due_soon_at, s.target_minutes = deadline(s, policy, now)
    return inputs


def deadline(s: ClockState, policy: "Policy", now: datetime) -> tuple[int | None, int | None, int | None]:
    """(due_at, due_soon_at, target_minutes) for this state: the response target (core/targets.py),
    brought forward to the reply window when that closes first.

    A resumed clock (paused_remaining_s with resumed_at) counts its remainder from the resume moment, so
    re-evaluating later gives the same deadline; so does every other clock (it runs from
    awaiting_since): that is what makes the lazy evaluation exact."""
    resumed = s.paused_remaining_s is not None and s.resumed_at is not None
    clock_from = from_micros(s.resumed_at) if resumed else now  # type: ignore[arg-type]
    item = targets_mod.TargetInput(
        kind=s.kind,
        account_kind=s.channel,
        status=s.status,
        awaiting_since=_dt(s.awaiting_since),
        first_response_at=_dt(s.first_response_at),
        paused_remaining_s=s.paused_remaining_s,
        rating=getattr(s, "rating", None),
    )
    try:
        result = targets_mod.evaluate(item, policy.targets, policy.schedule, clock_from)
    except ScheduleError:
        # Business hours that never open again (away with no end): no target can be promised.
        result = targets_mod.TargetResult(None, None, None)
    due = None if result.due_at is None else to_micros(result.due_at)
    soon = None if result.due_soon_at is None else to_micros(result.due_soon_at)
    window = s.reply_window_ends_at
    if due is not None and window is not None and window < due:
        margin_s = targets_mod.due_soon_margin_s(policy.targets, result.target_minutes or 0, item.rating)
        soon = min(soon if soon is not None else window, window - int(margin_s * 1_000_000))
        due = window
    return due, soon, result.target_minutes


def _remaining_at(s: ClockState, policy: "Policy", at: int) -> int | None:
    """Target time left at `at`, in the kind of time the rule counts (0 when already overdue)."""
    if s.due_at is None:
        return None
    if s.due_at <= at:
        return 0
    rule = policy.targets.rule_for(s.kind, s.channel)
    if rule.business_hours:
        return int(policy.schedule.open_seconds_between(from_micros(at), from_micros(s.due_at)))
    return (s.due_at - at) // 1_000_000


def _dt(micros: int | None) -> datetime | None:
    return None if micros is None else from_micros(micros)


# --- the reply window, as the composer shows it --------------------------------------------------------


@dataclass(frozen=True)
class WindowNotice:
    """What the composer says about the reply window, and whether Send works now."""

    text: str
    level: str  # "info" (open), "warning" (closes within WINDOW_WARNING_S), "closed"
    can_send: bool
    late: bool  # Send goes out as the platform's tagged late reply (ReplyTarget.late)


def window_notice(ends_at: datetime | None, rule: "ReplyWindowRule | None", now: datetime) -> WindowNotice | None:
    """The reply window's line for the composer; None when the conversation has no window.

    A window without a rule (a platform that declared none) is treated as the strict case: once
    closed, Send is off and the owner is sent to the platform's app."""
    if ends_at is None:
        return None
    after = rule.after_close if rule is not None else "open the conversation in the platform's app"
    left = (ends_at - now).total_seconds()
    if left > 0:
        text = f"Reply window closes in {targets_mod.format_minutes(math.ceil(left / 60))}."
        if left > WINDOW_WARNING_S:
            return WindowNotice(text, "info", True, False)
        if rule is not None and rule.late_reply:
            later = f"after that a reply can only be sent {rule.late_reply_how}" if rule.late_reply_how else (
                "after that only a late reply can be sent")
        else:
            later = f"after that this platform takes no reply here: {after}"
        return WindowNotice(f"{text} Answer now — {later}.", "warning", True, False)
    ago = targets_mod.format_minutes(max(1, math.floor(-left / 60)))
    if rule is not None and rule.late_reply and now < ends_at + rule.late_reply:
        until = targets_mod.format_minutes(math.ceil((ends_at + rule.late_reply - now).total_seconds() / 60))
        how = f" {rule.late_reply_how}" if rule.late_reply_how else " as a late reply"
        return WindowNotice(
            f"The reply window closed {ago} ago. Send still works for {until}: the reply goes out{how}.",
            "closed", True, True,
        )
    return WindowNotice(
        f"The reply window closed {ago} ago: this platform no longer takes a reply here. To answer, {after}.",
        "closed", False, False,
    )
