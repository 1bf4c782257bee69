"""What the owner does to conversations and settings, written once for the window and the command line.

This module owns the owner's actions that are not about accounts (those are core/account_service.py):
status changes (done, waiting, spam, snooze, reopen), replies and their drafts, "same person" merges, resolving an
automatic message of unknown fate, "sync now", and every settings write with what must follow it.
Each action writes through the core modules (queue, outbox, automation, hours) and then publishes a
ChangeSet on the profile's ChangeBus (core/changes.py), exactly as the sync engine does, so every view
refreshes the rows that changed and none of them reloads everything after an action of its own.

Decisions:
- Methods run on the caller's thread (a window task or the command line) and return when the write is
  committed; the notification is published after the commit, never before.
- One settings path, `save_settings`: write the values in one transaction; when a value the target
  policy is built from changed (settings.POLICY_KEYS: hours, targets), drop the cached policy and
  recompute every awaiting conversation's due time. A recompute that fails (a schedule that never
  opens) does not undo the owner's edit: the old due times stay and the warning is returned for the
  owner to read.
- Away mode (`go_away`, `come_back`) edits a private copy of the schedule with hours.start_away /
  end_away and saves it through `save_settings`; the cached policy's schedule is never mutated.
- Undo: done, waiting, spam, snooze, reopen and merge return an `Undo` holding what reverses them
  (the clock columns before and after; the merge's `queue.MergeRecord`); `undo(u)` applies it and
  publishes like any action. A status undo is refused once something else changed the conversation
  (a new message, a snooze ending): the newer fact wins, the owner is told.
- Snooze choices are computed in the schedule's timezone, the zone the business keeps its hours in:
  "this evening (18:00)" is 18:00 where the shop is, not where the computer's clock is set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from socialdesk.core import automation, drafts, outbox, queue
from socialdesk.core.changes import ChangeBus, ChangeSet
from socialdesk.core.clock import Clock
from socialdesk.core.hours import Schedule, ScheduleError, end_away, start_away
from socialdesk.core.settings import POLICY_KEYS, Settings
from socialdesk.core.states import AccountState
from socialdesk.core.store import Account, Conversation, Outbox, Store

log = logging.getLogger(__name__)

EVENING_HOUR = 18
MORNING_HOUR = 8


def snooze_choices(schedule: Schedule, now: datetime) -> list[tuple[str, datetime]]:
    """The snooze menu: (label, until in UTC), read in the schedule's timezone."""
    zone = ZoneInfo(schedule.timezone)
    local = now.astimezone(zone)
    evening = local.replace(hour=EVENING_HOUR, minute=0, second=0, microsecond=0)
    evening_label = "This evening"
    if evening <= local:
        evening += timedelta(days=1)  # aware arithmetic in one zone keeps the wall time across DST
        evening_label = "Tomorrow evening"
    morning = (local + timedelta(days=1)).replace(hour=MORNING_HOUR, minute=0, second=0, microsecond=0)
    choices = [
        ("1 hour", now + timedelta(hours=1)),
        (f"{evening_label} ({EVENING_HOUR:02d}:00)", evening),
        (f"Tomorrow morning ({MORNING_HOUR:02d}:00)", morning),
    ]
    try:
        reopen = schedule.next_open(schedule.next_close(now) or now) if schedule.is_open(now) else schedule.next_open(now)
        if reopen > now:
            choices.append((f"When we next open ({reopen.astimezone(zone).strftime('%a %H:%M')})", reopen))
    except ValueError:  # ScheduleError too: never open within the horizon
        pass
    return [(label, until.astimezone(timezone.utc)) for label, until in choices]


STATUS_LABELS = {"done": "Marked done", "waiting": "Waiting on the customer", "spam": "Marked as spam",
                 "snoozed": "Snoozed", "open": "Reopened"}


@dataclass(frozen=True)
class Undo:
    """What reverses one owner action; returned by the action, applied by `OwnerActions.undo`."""

    label: str  # what was done, for the owner: "Marked done"
    conversation_ids: frozenset[int]
    status: tuple[int, dict, dict] | None = None  # conversation id, clock columns before and after
    merge: queue.MergeRecord | None = None


class OwnerActions:
    """The owner's conversation and settings actions for one profile (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        policy: Callable[[], "queue.Policy"],
        clock: Clock,
        changes: ChangeBus,
        poke: Callable[[], None] = lambda: None,
    ):
        self.store = store
        self.settings = settings
        self.policy = policy  # app._PolicyCache: callable, with invalidate()
        self.clock = clock
        self.changes = changes
        self.poke = poke  # wakes the sync engine: something was queued to send

    # --- conversations ------------------------------------------------------------------------------

    def set_status(self, conversation_id: int, status: str, snoozed_until: datetime | None = None) -> Undo:
        """Done, waiting, spam, snoozed (until a time) or open. Raises queue.QueueError."""
        with self.store.write():  # what it was and what it became, read in the one transaction
            before = queue.clock_values(queue.get_conversation(conversation_id))
            conv = queue.set_status(self.store, conversation_id, status, self.policy(), self.clock.now(),
                                    snoozed_until=snoozed_until)
        self.changes.publish(ChangeSet({conversation_id}))
        return Undo(STATUS_LABELS.get(str(status), "Changed"), frozenset({conversation_id}),
                    status=(conversation_id, before, queue.clock_values(conv)))

    def undo(self, undo: Undo) -> str:
        """Reverse what `undo` came from; returns what the owner is told. Raises queue.QueueError when
        it cannot be undone any more."""
        changed = set(undo.conversation_ids)
        if undo.status is not None:
            conv_id, before, after = undo.status
            queue.restore_clock(self.store, conv_id, before, after, self.policy(), self.clock.now())
        if undo.merge is not None:
            changed |= queue.unmerge_contacts(self.store, undo.merge)
        self.changes.publish(ChangeSet(changed))
        return f"Undone: {undo.label[0].lower() + undo.label[1:]}."

    def reply(self, conversation_id: int, text: str, *, mark_done: bool = False, **meta: Any) -> Outbox:
        """Queue the owner's reply and wake the engine to send it; its draft goes in the same
        transaction. Raises outbox.OutboxError."""
        with self.store.write():
            row = outbox.enqueue_reply(self.store, conversation_id, text, self.policy(), self.clock.now(),
                                       mark_done=mark_done, **meta)
            drafts.delete(self.store, conversation_id)
        self.changes.publish(ChangeSet({conversation_id}, outbox=True))
        self.poke()
        return row

    def save_drafts(self, texts: dict[int, str]) -> None:
        """What the owner is writing, per conversation (a blank text deletes the draft; core/drafts.py)."""
        written = drafts.save(self.store, texts, self.clock.now())
        self.changes.publish(ChangeSet(drafts=written))

    def mark_seen(self, conv_id: int) -> None:
        """The owner opened the conversation: its row is no longer "new" (core/queue.is_new)."""
        with self.store.write():
            updated = Conversation.update(seen_at=self.clock.now()).where(Conversation.id == conv_id).execute()
        if updated:
            self.changes.publish(ChangeSet(seen={conv_id}))

    def merge_contacts(self, keep_id: int, drop_id: int) -> Undo:
        """One person across channels. Every conversation of either contact shows the kept name."""
        affected = {c.id for c in Conversation.select(Conversation.id).where(
            Conversation.contact.in_([keep_id, drop_id]))}
        record = queue.merge_contacts(self.store, keep_id, drop_id)
        self.changes.publish(ChangeSet(affected))
        return Undo("Linked as one person", frozenset(affected), merge=record)

    def resolve_automatic(self, outbox_id: int, *, sent: bool) -> Outbox:
        """An automatic message of unknown fate: it did arrive (`sent`), or send it again."""
        row = outbox.resolve_unknown(self.store, outbox_id, sent=sent, now=self.clock.now(), policy=self.policy())
        if not sent:
            self.poke()
        conversations = {row.conversation_id} if row.conversation_id else set()
        self.changes.publish(ChangeSet(conversations, outbox=True, activity=True))
        return row

    def sync_now(self) -> None:
        """Every account that can be fetched is fetched at once (not the ones that need a new login)."""
        with self.store.write():
            Account.update(next_sync_at=None).where(Account.state != AccountState.AUTH_ERROR).execute()
        self.poke()

    def snooze_choices(self) -> list[tuple[str, datetime]]:
        return snooze_choices(self.policy().schedule, self.clock.now())

    # --- settings -------------------------------------------------------------------------------------

    def save_settings(self, values: dict[str, Any]) -> str:
        """Write settings (one transaction); recompute due times when the policy changed. Returns a
        warning for the owner ("" when all went well)."""
        with self.store.write():
            for key, value in values.items():
                self.settings.set(key, value)
        warning = ""
        if not POLICY_KEYS.isdisjoint(values):
            warning = self._recompute()
        self.changes.publish(ChangeSet(settings=set(values)))
        return warning

    def _recompute(self) -> str:
        self._invalidate()
        try:
            queue.recompute_all(self.store, self.policy(), self.clock.now())
        except ScheduleError as exc:
            log.warning("due times not recomputed: %s", exc)
            return f"Saved, but due times could not be recomputed: {exc}"
        finally:
            self._invalidate()  # a reader that loaded the policy meanwhile must not keep an old one
        return ""

    def _invalidate(self) -> None:
        invalidate = getattr(self.policy, "invalidate", None)
        if invalidate is not None:
            invalidate()

    def schedule(self) -> Schedule:
        """A private copy of the current schedule, to edit and pass to `save_schedule`."""
        return Schedule.from_json(self.policy().schedule.to_json())

    def save_schedule(self, schedule: Schedule, **other_values: Any) -> str:
        return self.save_settings({"hours.schedule": schedule.to_json(), **other_values})

    def go_away(
        self, until: datetime | None, message: str | None, now: datetime | None = None
    ) -> tuple[Schedule, str]:
        """Away from `now` (default: the clock's) until `until` (None: until switched off); returns the
        saved schedule and the save's warning. Raises ScheduleError."""
        schedule = self.schedule()
        start_away(schedule, now or self.clock.now(), until, message)
        return schedule, self.save_schedule(schedule)

    def come_back(self, now: datetime | None = None) -> tuple[Schedule, bool, str]:
        """End away mode at `now`; (schedule, whether the owner was away, warning)."""
        schedule = self.schedule()
        if not end_away(schedule, now or self.clock.now()):
            return schedule, False, ""
        return schedule, True, self.save_schedule(schedule)

    def set_paused(self, paused: bool) -> None:
        """The one switch for every automatic reply and status post."""
        automation.pause(self.settings, paused)
        self.changes.publish(ChangeSet(settings={automation.PAUSED_KEY}))
