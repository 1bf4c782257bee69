"""What is awaiting the owner and what the owner does to it: statuses, snooze, repeat contacts, targets.

Decisions:
- Reading the queue (views, places, urgency order, rows, search, the first screen) is core/queue_read.py,
  plain SQL that the window's first screen runs before peewee is loaded; this module re-exports it, so
  `queue.rows`, `queue.list_ids`, `queue.VIEWS`... are one vocabulary for every caller.
- `due_at` is denormalised on Conversation and recomputed here whenever a conversation changes (and in
  bulk when targets or hours change), so ordering never needs Python per row.
- The clock columns change only through core/conversation_clock.py's fold (`fold_conversation` is its
  adapter for a Conversation row): pausing ("waiting", "snoozed" keep the target time left), resuming,
  reopening on a new message or an edit, and the deadline.
- `awaiting_since` is recounted from the messages (`unanswered_runs`: oldest customer message after the
  last human reply), never incremented blindly, so a failed send or a late-arriving message cannot
  leave it wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from socialdesk.core import conversation_clock as clock
from socialdesk.core import queue_read
from socialdesk.core.hours import Schedule
from socialdesk.core.settings import Settings
from socialdesk.core.states import ConversationStatus, Direction
from socialdesk.core.store import (
    Account,
    AutoReplyLedger,
    Contact,
    Conversation,
    Identity,
    Message,
    MessageRevision,
    Outbox,
    Store,
    UTCField,
    from_micros,
    to_micros,
)
from socialdesk.core.targets import STATUSES, TargetConfig

# Reading the queue (views, order, rows, search, the first screen) is core/queue_read.py's; its names are
# this module's too, one vocabulary for every caller.
FIRST_ROWS = queue_read.FIRST_ROWS
PLACE_TITLES = queue_read.PLACE_TITLES
PLACE_VIEW = queue_read.PLACE_VIEW
PLACES = queue_read.PLACES
VIEW_TITLES = queue_read.VIEW_TITLES
VIEWS = queue_read.VIEWS
QueueError = queue_read.QueueError
QueueRow = queue_read.QueueRow
accounts_shown = queue_read.accounts_shown
awaiting_count = queue_read.awaiting_count
channel_from = queue_read.channel_from
first_screen = queue_read.first_screen
fts_query = queue_read.fts_query
is_new = queue_read.is_new
list_ids = queue_read.list_ids
most_urgent = queue_read.most_urgent
overdue_count = queue_read.overdue_count
place_of = queue_read.place_of
read_first_screen = queue_read.read_first_screen
reply_window_rule = queue_read.reply_window_rule
rows = queue_read.rows
search_places = queue_read.search_places
search_tokens = queue_read.search_tokens
shown_account = queue_read.shown_account
views_of = queue_read.views_of


@dataclass(frozen=True)
class Policy:
    """Everything the target clock needs, loaded once and passed around (cheap to rebuild)."""

    targets: TargetConfig
    schedule: Schedule

    @classmethod
    def load(cls, settings: Settings) -> "Policy":
        schedule_json = settings.get("hours.schedule")
        targets_json = settings.get("targets.config")
        schedule = Schedule.from_json(schedule_json) if schedule_json else Schedule.default()
        config = TargetConfig.from_json(targets_json) if targets_json else TargetConfig.default()
        return cls(config, schedule)


def channel_of(account: Account) -> str:
    return channel_from(account.kind, account.settings)


def get_conversation(conversation_id: int) -> Conversation:
    conv = Conversation.get_or_none(Conversation.id == conversation_id)
    if conv is None:
        raise QueueError(f"No conversation {conversation_id}.")
    return conv


@dataclass(frozen=True)
class ThreadMessage:
    id: int
    direction: str
    author_name: str
    text: str
    created_at: datetime
    via: str
    state: str  # "" for stored messages; pending/sending/failed/unknown for outbox copies
    meta: dict
    rating: int | None = None
    edited_at: datetime | None = None  # the current text is an edit made then
    deleted_at: datetime | None = None  # the customer deleted it (the text is kept)
    revisions: tuple["Revision", ...] = ()  # earlier versions, oldest first


@dataclass(frozen=True)
class Revision:
    """An earlier version of an edited message."""

    text: str
    rating: int | None
    made_at: datetime


def thread(conversation_id: int) -> list[ThreadMessage]:
    messages = list(
        Message.select().where(Message.conversation == conversation_id).order_by(Message.created_at, Message.id)
    )
    author_ids = {m.author_id for m in messages if m.author_id}
    authors = {i.id: i for i in Identity.select().where(Identity.id.in_(author_ids))} if author_ids else {}
    edited = [m.id for m in messages if m.edited_at is not None]
    revisions: dict[int, list[Revision]] = {}
    if edited:
        for r in MessageRevision.select().where(MessageRevision.message.in_(edited)).order_by(
            MessageRevision.made_at, MessageRevision.id
        ):
            revisions.setdefault(r.message_id, []).append(Revision(r.text, r.rating, r.made_at))
    result = []
    for m in messages:
        author = authors.get(m.author_id) if m.author_id is not None else None
        name = (author.display_name or author.handle) if author else ("You" if m.direction == Direction.OUT else "")
        result.append(
            ThreadMessage(
                id=m.id,
                direction=m.direction,
                author_name=name,
                text=m.text,
                created_at=m.created_at,
                via=m.via,
                state=(m.meta or {}).get("state", ""),
                meta=m.meta or {},
                rating=m.rating,
                edited_at=m.edited_at,
                deleted_at=m.deleted_at,
                revisions=tuple(revisions.get(m.id, ())),
            )
        )
    return result


def linked_conversations(conversation_id: int) -> list[int]:
    """Other open conversations of the same person (on any channel)."""
    conv = get_conversation(conversation_id)
    if conv.contact_id is None:
        return []
    return [
        c.id
        for c in Conversation.select(Conversation.id)
        .where(
            (Conversation.contact == conv.contact_id)
            & (Conversation.id != conv.id)
            & (Conversation.status.not_in([ConversationStatus.SPAM]))
        )
        .order_by(Conversation.last_message_at.desc())
    ]


# --- the clock -------------------------------------------------------------------------------------


def recount(conversation_id: int) -> clock.Recounted:
    """The conversation's unanswered run, counted from its stored messages (see unanswered_runs)."""
    count, oldest = unanswered_runs([conversation_id]).get(conversation_id, (0, None))
    return clock.Recounted(count, oldest)


def unanswered_runs(conversation_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Unanswered count and oldest unanswered message of many conversations, one query per 500.

    The rule: a customer message is unanswered when no human reply (manual, snippet or seen on the
    platform; auto-replies and status posts only acknowledge, and a reply that failed for good answered
    no one) came after the moment it began awaiting one: its `awaiting_from` when ingest set one (an
    edit that made it await again, conversation_clock's edit rule; an answer to our message stamped
    before that message, as clocks disagree), else its created_at. Returns id -> (unanswered count,
    oldest such moment in stored microseconds) for the conversations that have unanswered messages;
    the others are answered.
    """
    db = Conversation._meta.database
    found: dict[int, tuple[int, int]] = {}
    for start in range(0, len(conversation_ids), 500):
        chunk = conversation_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        # No reply yet: compare with the smallest 64-bit integer, below any time a datetime can store.
        for row in db.execute_sql(
            "SELECT m.conversation_id, count(*), min(coalesce(m.awaiting_from, m.created_at)) FROM message m"
            f" WHERE m.conversation_id IN ({marks}) AND m.direction = 'in'"
            " AND coalesce(m.awaiting_from, m.created_at) > coalesce(("
            f"SELECT max(o.created_at) FROM message o WHERE o.conversation_id = m.conversation_id AND {_HUMAN_REPLY}"
            "), -9223372036854775808) GROUP BY m.conversation_id",
            chunk,
        ).fetchall():
            found[row[0]] = (row[1], row[2])
    return found


# A human reply in a conversation's thread (`o`): ours, manual or from a snippet, or seen on the platform,
# and not failed for good. Auto-replies and status posts only acknowledge.
_HUMAN_REPLY = (
    "o.direction = 'out' AND o.via IN ('manual', 'snippet', 'platform')"
    " AND coalesce(json_extract(o.meta, '$.state'), '') != 'failed'"
)


def last_human_replies(conversation_ids: list[int]) -> dict[int, int]:
    """When each conversation last had a human reply (stored microseconds); absent: never."""
    db = Conversation._meta.database
    found: dict[int, int] = {}
    for start in range(0, len(conversation_ids), 500):
        chunk = conversation_ids[start : start + 500]
        for cid, at in db.execute_sql(
            f"SELECT o.conversation_id, max(o.created_at) FROM message o"
            f" WHERE o.conversation_id IN ({','.join('?' * len(chunk))}) AND {_HUMAN_REPLY} GROUP BY o.conversation_id",
            chunk,
        ).fetchall():
            found[cid] = at
    return found


def clock_state(conv: Conversation, channel: str) -> clock.ClockState:
    """The clock columns of a Conversation row, as the fold takes them (stored microseconds)."""
    data = conv.__data__
    return clock.ClockState(
        kind=conv.kind, channel=channel, rating=conv.rating,
        **{name: _stored(data.get(name)) for name in clock.FIELDS},
    )


def _stored(value: object) -> object:
    return to_micros(value) if isinstance(value, datetime) else value


def fold_conversation(
    conv: Conversation, events: list[clock.Event], policy: Policy, now: datetime, *, channel: str | None = None
) -> None:
    """Fold `events` into a Conversation row's clock columns (the caller saves it). `channel`: the
    account kind the target rules are keyed by, looked up from the row's account when not given."""
    state = clock.fold_all(clock_state(conv, channel if channel is not None else channel_of(conv.account)),
                           events, policy, now)
    for name, value in state.values().items():
        setattr(conv, name, from_micros(value) if isinstance(value, int) and name in _TIME_FIELDS else value)


_TIME_FIELDS = frozenset(name for name in clock.FIELDS if isinstance(Conversation._meta.fields[name], UTCField))


def apply_target(
    conv: Conversation, policy: Policy, now: datetime, *, account_kind: str | None = None
) -> None:
    """Evaluate the deadline again (due_at / due_soon_at / target_minutes), as after a policy change."""
    fold_conversation(conv, [clock.Reevaluated()], policy, now, channel=account_kind)


def recompute_all(store: Store, policy: Policy, now: datetime) -> int:
    """Re-evaluate every awaiting conversation (after targets or hours change). Returns the count."""
    kinds = {a.id: channel_of(a) for a in Account.select()}
    with store.write():
        ids = [c.id for c in Conversation.select(Conversation.id).where(
            (Conversation.status == ConversationStatus.OPEN) & Conversation.awaiting_since.is_null(False)
        ).iterator()]
        # 500 rows at a time: tens of thousands need not all be held at once, and no row is written while
        # the query that reads it is still stepping (SQLite leaves the order of such a scan undefined).
        for start in range(0, len(ids), 500):
            for conv in list(Conversation.select().where(Conversation.id.in_(ids[start : start + 500]))):
                apply_target(conv, policy, now, account_kind=kinds.get(conv.account_id, ""))
                conv.save(only=[Conversation.due_at, Conversation.due_soon_at, Conversation.target_minutes])
    return len(ids)


# --- status changes ---------------------------------------------------------------------------------


def set_status(
    store: Store,
    conversation_id: int,
    status: str,
    policy: Policy,
    now: datetime,
    *,
    snoozed_until: datetime | None = None,
) -> Conversation:
    """Move a conversation to a status. Returns the saved row. Raises QueueError for bad requests."""
    if status not in STATUSES:
        raise QueueError(f"Unknown status {status!r}; choose one of: {', '.join(STATUSES)}")
    status = ConversationStatus(status)  # the member, also when the caller passed its string
    if status == ConversationStatus.SNOOZED and (snoozed_until is None or snoozed_until <= now):
        raise QueueError("Snooze needs a time in the future.")
    with store.write():
        conv = get_conversation(conversation_id)
        change = clock.StatusChanged(status, to_micros(now), to_micros(snoozed_until) if snoozed_until else None)
        # Reopening counts what awaits an answer afresh from the thread.
        events: list[clock.Event] = [recount(conv.id), change] if status == ConversationStatus.OPEN else [change]
        fold_conversation(conv, events, policy, now)
        conv.save()
    return conv


def clock_values(conv: Conversation) -> dict:
    """A conversation's clock columns as stored (what an undo of a status change restores)."""
    data = conv.__data__
    return {name: _stored(data.get(name)) for name in clock.FIELDS}


def restore_clock(store: Store, conversation_id: int, before: dict, after: dict, policy: Policy,
                  now: datetime) -> Conversation:
    """Undo a status change: the clock columns go back to `before`, provided they are still `after`,
    what the change left (a new message or a snooze ending since then wins: QueueError)."""
    with store.write():
        conv = get_conversation(conversation_id)
        if clock_values(conv) != after:
            raise QueueError("It changed since (a new message, or its snooze ended), so it was left as it is.")
        fold_conversation(conv, [clock.Restored(before)], policy, now)
        conv.save()
    return conv


def wake_snoozed(store: Store, policy: Policy, now: datetime) -> list[int]:
    """Snoozes whose time has come go back to open; returns their ids."""
    due = [
        c.id
        for c in Conversation.select(Conversation.id).where(
            (Conversation.status == ConversationStatus.SNOOZED) & (Conversation.snoozed_until <= now)
        )
    ]
    for conv_id in due:
        set_status(store, conv_id, ConversationStatus.OPEN, policy, now)
    return due


@dataclass(frozen=True)
class MergeRecord:
    """What a merge moved and removed: exactly what `unmerge_contacts` puts back."""

    keep_id: int
    drop: dict  # the removed contact's row
    identities: tuple[int, ...]
    outbox: tuple[int, ...]
    conversations: tuple[tuple[int, str], ...]  # id and the contact name it showed
    ledger_moved: tuple[int, ...]
    ledger_deleted: tuple[dict, ...]  # rows of closed periods both had (the kept person's row stays)
    keep_notes: tuple[str, str]  # the kept person's notes before and after


def merge_contacts(store: Store, keep_id: int, drop_id: int) -> MergeRecord:
    """One person, two identities: move everything of `drop` onto `keep` (the owner's decision; who may
    be the same person is core/contact_match.py's ranking). Returns what undoing it needs."""
    if keep_id == drop_id:
        raise QueueError("Cannot merge a contact with itself.")
    with store.write():
        keep = Contact.get_or_none(Contact.id == keep_id)
        drop = Contact.get_or_none(Contact.id == drop_id)
        if keep is None or drop is None:
            raise QueueError("Both contacts must exist to merge them.")
        identities = tuple(i.id for i in Identity.select(Identity.id).where(Identity.contact == drop))
        outboxes = tuple(o.id for o in Outbox.select(Outbox.id).where(Outbox.contact == drop))
        conversations = tuple((c.id, c.contact_name) for c in Conversation.select(
            Conversation.id, Conversation.contact_name).where(Conversation.contact == drop))
        notes_before = keep.notes
        moved, deleted = [], []
        Identity.update(contact=keep).where(Identity.contact == drop).execute()
        # Auto-reply history follows the person, so a merge never allows a second reply in one
        # closed period or escapes the daily cap (a period both already had keeps one row).
        for row in AutoReplyLedger.select().where(AutoReplyLedger.contact == drop):
            taken = AutoReplyLedger.select().where(
                (AutoReplyLedger.contact == keep) & (AutoReplyLedger.closed_period_key == row.closed_period_key)
            ).exists()
            if taken:
                deleted.append(dict(row.__data__))
                row.delete_instance()
            else:
                moved.append(row.id)
                row.contact = keep
                row.save()
        Outbox.update(contact=keep).where(Outbox.contact == drop).execute()
        Conversation.update(contact=keep, contact_name=keep.display_name).where(
            Conversation.contact == drop
        ).execute()
        if drop.notes and drop.notes not in keep.notes:
            keep.notes = (keep.notes + "\n" + drop.notes).strip()
            keep.save()
        record = MergeRecord(keep_id, dict(drop.__data__), identities, outboxes, conversations, tuple(moved),
                             tuple(deleted), (notes_before, keep.notes))
        drop.delete_instance()
    return record


def unmerge_contacts(store: Store, record: MergeRecord) -> set[int]:
    """Undo a merge exactly: the removed person comes back with their id, identities, conversations (and
    the names they showed), outbox rows, auto-reply history and the kept person's notes as they were.
    What arrived since stays with the kept person. Returns the conversations that changed."""
    drop_id = record.drop["id"]
    with store.write():
        keep = Contact.get_or_none(Contact.id == record.keep_id)
        if keep is None or Contact.get_or_none(Contact.id == drop_id) is not None:
            raise QueueError("These people were changed since, so the link cannot be undone.")
        Contact.insert(**record.drop).execute()
        Identity.update(contact=drop_id).where(
            Identity.id.in_(record.identities) & (Identity.contact == keep)).execute()
        Outbox.update(contact=drop_id).where(Outbox.id.in_(record.outbox) & (Outbox.contact == keep)).execute()
        changed = set()
        for conv_id, name in record.conversations:
            if Conversation.update(contact=drop_id, contact_name=name).where(
                    (Conversation.id == conv_id) & (Conversation.contact == keep)).execute():
                changed.add(conv_id)
        AutoReplyLedger.update(contact=drop_id).where(
            AutoReplyLedger.id.in_(record.ledger_moved) & (AutoReplyLedger.contact == keep)).execute()
        for row in record.ledger_deleted:
            AutoReplyLedger.insert(**row).execute()
        if keep.notes == record.keep_notes[1]:
            keep.notes = record.keep_notes[0]
            keep.save()
    return changed
