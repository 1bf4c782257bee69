"""Connector items -> store: dedupe, threading, contacts, and the cursor, in one transaction.

Decisions:
- One call = one transaction: the new messages and the account's new cursor commit together, so a crash
  in between re-fetches from the old cursor and the unique (account, external_id) index dedupes.
- Items are validated before any write; a malformed item is skipped and reported with its id, never
  crashing the batch (a platform sending one odd payload must not stop the queue): the rule of
  connectors.base.convert_items, also when a check itself raises (e.g. meta nested too deep for JSON).
- Threading: an item joins the conversation that holds its `in_reply_to` message when there is one
  (email replies), otherwise the conversation named by `conversation_external_id`.
- Contacts: one Identity per (account, author id); a new identity gets a new Contact. Merging people
  across channels is the owner's call (core/queue.merge_contacts), except that an identical e-mail-like
  handle is not guessed at: wrong merges leak one customer's history into another's.
- The hot path uses a handful of batched SQL statements instead of per-row ORM calls: 10,000 items must
  ingest in well under a second. Rows are built in Python first, with ids handed out under the write
  lock (`_IdAllocator`), then written with multi-row INSERTs (the FTS5 triggers index a multi-row
  statement about four times faster than one statement per row). A conversation created by the batch
  is inserted once with its final queue columns.
- Text is stored as received except NUL, which SQLite text functions and FTS5 truncate at; it becomes
  U+2400 (a visible NUL symbol) so nothing after it is lost.
- Edits: a known id delivered again is a new version only when it carries an `edited_at` newer than
  the stored version's and its text or rating differs; then the stored text is replaced and the old
  version kept as a MessageRevision row, shown in the thread. Anything else (the same item re-delivered,
  the same version rendered anew by a newer connector, an older version arriving late) is a duplicate:
  no write, and the duplicate path reads nothing but the ids. A changed customer message reopens the
  conversation with a fresh clock (the rule is core/conversation_clock.py's `Edited`).
- Deletions: `deleted=True` for a known id sets the message's `deleted_at`; the text stays (the thread
  greys it and says "deleted by the customer"), and no clock changes. A deletion of an id never stored,
  and any later delivery of a deleted message, changes nothing.
- Reply windows: each customer message may bring the end of the platform's reply window
  (`reply_window_ends_at`); the conversation keeps the latest (conversation_clock).
- Every clock column (status, unanswered run, deadline, ...) is written by conversation_clock's fold;
  ingest's rows are ClockStates in stored microseconds, which is what keeps the fold fast here.
"""

from __future__ import annotations

import itertools
import json
import logging
import operator
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from socialdesk.connectors.base import KINDS, Author, InboundItem, SkipItem, convert_items
from socialdesk.core import conversation_clock as clock
from socialdesk.core import queue
from socialdesk.core.states import ConversationStatus, Direction, Via
from socialdesk.core.store import Account, Conversation, Store, to_micros

log = logging.getLogger(__name__)

PREVIEW_CHARS = 160
_CHUNK = 500


@dataclass
class IngestResult:
    new_message_ids: list[int] = field(default_factory=list)
    changed_conversation_ids: set[int] = field(default_factory=set)
    new_inbound: list[tuple[int, int]] = field(default_factory=list)  # (conversation id, message id)
    duplicates: int = 0  # items that changed nothing: known ids, versions already stored
    edited_message_ids: list[int] = field(default_factory=list)  # messages that got a new version
    deleted_message_ids: list[int] = field(default_factory=list)  # messages the platform reported deleted
    skipped: list[str] = field(default_factory=list)  # external ids (or reasons) of malformed items


def clean_text(text: str) -> str:
    return text.replace("\x00", "\u2400")


def preview_of(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:PREVIEW_CHARS]
    return ""


def _problem(item: object) -> str | None:
    if not isinstance(item, InboundItem):
        return "not an InboundItem"
    if not isinstance(item.external_id, str) or not item.external_id:
        return "missing external id"
    if not isinstance(item.created_at, datetime) or item.created_at.tzinfo is None:
        return "created_at is not an aware datetime"
    # The edit fields are checked one by one, without a loop: this runs for every item of every batch.
    edited_at = item.edited_at
    if edited_at is not None and not (isinstance(edited_at, datetime) and edited_at.tzinfo is not None):
        return "edited_at is not an aware datetime"
    window = item.reply_window_ends_at
    if window is not None and not (isinstance(window, datetime) and window.tzinfo is not None):
        return "reply_window_ends_at is not an aware datetime"
    deleted = item.deleted
    if deleted is not False:
        if deleted is not True:
            return "deleted is not true/false"
        # Only its id counts (a platform reporting a deletion may know nothing else), but ingest looks
        # its author and conversation up with the rest of the batch: they must be strings, even empty.
        if not (isinstance(item.author, Author) and isinstance(item.author.external_id, str)
                and isinstance(item.conversation_external_id, str)):
            return "author or conversation id is not a string"
        return None
    if not isinstance(item.conversation_external_id, str) or not item.conversation_external_id:
        return "missing conversation id"
    if item.kind not in KINDS:
        return f"unknown kind {item.kind!r}"
    if not isinstance(item.text, str):
        return "text is not a string"
    author = item.author
    if not isinstance(author, Author) or not isinstance(author.external_id, str) or not author.external_id:
        return "missing author id"
    if not (isinstance(author.handle, str) and isinstance(author.display_name, str)
            and isinstance(author.profile_url, str)):
        return "author handle, name or profile URL is not a string"
    if not (isinstance(item.permalink, str) and isinstance(item.subject, str) and isinstance(item.in_reply_to, str)):
        return "permalink, subject or in_reply_to is not a string"
    if not (isinstance(item.public, bool) and isinstance(item.outbound, bool)):
        return "public or outbound is not true/false"
    if item.rating is not None and not (type(item.rating) is int and 1 <= item.rating <= 5):
        return "rating out of range"
    if _is_empty_dict(item.meta):
        return None
    try:
        json.dumps(item.meta)
    except (TypeError, ValueError):
        return "meta is not JSON"
    return None


def _checked(item: InboundItem) -> InboundItem:
    problem = _problem(item)
    if problem:
        raise SkipItem(problem)
    return item


def _fetch_map(db, sql: str, keys: list) -> dict:
    out = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        for row in db.execute_sql(sql.format(",".join("?" * len(chunk))), chunk).fetchall():
            out[row[0]] = row[1:]
    return out


def ingest(
    store: Store,
    account_id: int,
    items: list[InboundItem],
    cursor: dict | None,
    policy: "queue.Policy",
    now: datetime,
) -> IngestResult:
    """Store new items, edits and deletions, and the cursor covering them, atomically. Returns what
    changed."""
    result = IngestResult()
    valid: list[InboundItem] = convert_items(
        items, _checked, what=f"malformed item from account {account_id}",
        ident=lambda item: getattr(item, "external_id", "?"), skipped=result.skipped,
    )
    valid.sort(key=lambda i: i.created_at)
    db = store.db
    n_now = to_micros(now)
    with store.write():
        existing = _fetch_map(
            db,
            "SELECT external_id, id FROM message WHERE account_id = %d AND external_id IN ({})" % account_id,
            list({i.external_id for i in valid}),
        )
        # Stored messages an item may change (an edit or a deletion of a known id): their current version.
        versions: dict[str, _Version] = {
            key: _Version(*row)
            for key, row in _fetch_map(
                db,
                "SELECT external_id, id, conversation_id, direction, text, rating, created_at, edited_at,"
                " deleted_at, awaiting_from FROM message WHERE account_id = %d AND external_id IN ({})" % account_id,
                [key for key in {i.external_id for i in valid if i.edited_at is not None or i.deleted} if key in existing],
            ).items()
        }
        # identity external id -> (identity id, contact id); the contact's current name (the owner may
        # have renamed it) is what a new conversation shows.
        identities: dict[str, tuple[int, int]] = {}
        contact_names: dict[int, str] = {}
        for key, (identity_id, contact_id, name) in _fetch_map(
            db,
            "SELECT i.external_id, i.id, i.contact_id, c.display_name FROM identity i"
            " JOIN contact c ON c.id = i.contact_id WHERE i.account_id = %d AND i.external_id IN ({})"
            % account_id,
            list({i.author.external_id for i in valid}),
        ).items():
            identities[key] = (identity_id, contact_id)
            contact_names[contact_id] = name
        conversations = _fetch_map(
            db,
            "SELECT external_id, id FROM conversation WHERE account_id = %d AND external_id IN ({})"
            % account_id,
            list({i.conversation_external_id for i in valid}),
        )
        parents = _fetch_map(
            db,
            "SELECT external_id, conversation_id, direction, created_at FROM message"
            " WHERE account_id = %d AND external_id IN ({})" % account_id,
            list({i.in_reply_to for i in valid if i.in_reply_to}),
        )
        ids = _IdAllocator(db)
        new_contacts: list[tuple] = []
        new_identities: list[tuple] = []
        new_convs: dict[int, tuple] = {}  # id -> the insert-only columns of a conversation made here
        messages: list[tuple] = []
        seen: dict[str, tuple] = {}  # external id -> message row, for the messages this batch adds
        conv_updates: dict[int, _Change] = {}
        edited: set[int] = set()  # conversations with an edit: whether it reopens depends on our last reply
        for item in valid:
            known = item.external_id in existing
            if known or item.external_id in seen:
                if item.edited_at is None and not item.deleted:
                    result.duplicates += 1
                    continue
                version = versions.get(item.external_id)
                if version is None:
                    if known:  # deleted from the store meanwhile (its account's data was cleared)
                        result.duplicates += 1
                        continue
                    version = versions[item.external_id] = _Version.of_row(seen[item.external_id])
                change = conv_updates.get(version.conversation_id)
                if change is None:
                    change = conv_updates[version.conversation_id] = _Change()
                change.ops.append((_DELETE if item.deleted else _EDIT, item, version))
                if not item.deleted:
                    edited.add(version.conversation_id)
                continue
            if item.deleted:
                result.duplicates += 1  # a deletion of something never stored: nothing to show
                continue
            if item.outbound:
                # The business's own message: its author is not a customer, so no contact is made
                # (else a thread the business started would show the business as its customer).
                identity_id = contact_id = None
            else:
                identity = identities.get(item.author.external_id)
                if identity is None:
                    identity = _new_identity(ids, account_id, item, n_now, new_contacts, new_identities)
                    identities[item.author.external_id] = identity
                    contact_names[identity[1]] = new_contacts[-1][1]
                identity_id, contact_id = identity
            conv_id = None
            if item.in_reply_to and item.in_reply_to in parents:
                conv_id = parents[item.in_reply_to][0]
            if conv_id is None:
                found = conversations.get(item.conversation_external_id)
                conv_id = found[0] if found else None
            if conv_id is None:
                conv_id = ids.next("conversation")
                new_convs[conv_id] = (
                    conv_id,
                    account_id,
                    item.conversation_external_id,
                    item.kind,
                    1 if item.public else 0,
                    clean_text(item.subject)[:500],
                    item.permalink[:1000],
                    n_now,
                    contact_id,
                    contact_names.get(contact_id, "") if contact_id is not None else "",
                )
                conversations[item.conversation_external_id] = (conv_id,)
            direction = _DIR_OUT if item.outbound else _DIR_IN
            message_id = ids.next("message")
            at = to_micros(item.created_at)
            since = at  # when it begins awaiting an answer
            if not item.outbound and item.in_reply_to:
                parent = parents.get(item.in_reply_to)
                if parent is not None and parent[1] == _DIR_OUT and parent[2] >= at:
                    # An answer to our message stamped before it (clocks disagree): it awaits an
                    # answer from just after ours, so no reply of ours is taken to have answered it.
                    since = parent[2] + 1
            row = (
                message_id,
                conv_id,
                account_id,
                item.external_id,
                direction,
                identity_id,
                clean_text(item.text),
                at,
                _VIA_PLATFORM if item.outbound else _VIA_INBOUND,
                0,
                _EMPTY_META if _is_empty_dict(item.meta) else json.dumps(item.meta, ensure_ascii=False, sort_keys=True),
                item.rating,
                None if since == at else since,
            )
            messages.append(row)
            seen[item.external_id] = row
            parents[item.external_id] = (conv_id, direction, at)
            result.new_message_ids.append(message_id)
            result.changed_conversation_ids.add(conv_id)
            change = conv_updates.get(conv_id)
            if change is None:
                change = conv_updates[conv_id] = _Change()
            if item.outbound:
                change.ops.append((_OUT, item, at))
                change.replies = True
            else:
                if change.contact_id is None:
                    change.contact_id = contact_id
                result.new_inbound.append((conv_id, message_id))
                change.ops.append((_IN, item, at, since))
        _insert_rows(db, "contact", _CONTACT_COLUMNS, new_contacts)
        _insert_rows(db, "identity", _IDENTITY_COLUMNS, new_identities)
        account = db.execute_sql("SELECT kind, settings FROM account WHERE id = ?", (account_id,)).fetchone()
        if account is None:
            raise Account.DoesNotExist(f"no account with id {account_id}")
        channel = queue.channel_from(account[0], Account.settings.python_value(account[1]))
        _apply_conversation_updates(
            db, ids, conv_updates, new_convs, messages, contact_names, channel, policy, now, result, edited
        )
        db.execute_sql(
            "UPDATE account SET cursor = ?, last_sync_at = ?, first_synced_at = coalesce(first_synced_at, ?)"
            " WHERE id = ?",
            (Account.cursor.db_value(cursor), n_now, n_now, account_id),
        )
    return result


_EMPTY_META = json.dumps({})
# The members' plain string values for the per-item raw-SQL path: the same values (equal to the members),
# without an enum attribute lookup per use or sqlite3's slower binding of a str subclass.
_DIR_IN, _DIR_OUT = Direction.IN.value, Direction.OUT.value
_VIA_PLATFORM, _VIA_INBOUND = Via.PLATFORM.value, Via.INBOUND.value


def _is_empty_dict(value: object) -> bool:
    return type(value) is dict and not value


class _IdAllocator:
    """Row ids handed out in Python, so rows can be written in bulk and referenced before they exist.

    The tables have no AUTOINCREMENT, so SQLite itself would give max(id) + 1: the same ids. Safe
    because every write runs under Store.write() (one lane, one transaction); a writer in another
    process would make this transaction fail on its first write, not write a wrong row.
    """

    def __init__(self, db):
        self._db = db
        self._next: dict[str, int] = {}

    def next(self, table: str) -> int:
        value = self._next.get(table)
        if value is None:
            value = self._db.execute_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]
        self._next[table] = value + 1
        return value


def _insert_rows(db, table: str, columns: tuple[str, ...], rows: list) -> None:
    """INSERT many rows with multi-row VALUES statements rather than executemany.

    Why: FTS5 writes its pending index data out at statement boundaries, so with one statement per row
    the insert triggers made one tiny index segment per message (0.33 s per 10,000 messages); one
    statement per few hundred rows indexes the same text in a quarter of the time. Same trigger, same
    index contents.
    """
    if not rows:
        return
    width = len(columns)
    limit = db.connection().getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(500, limit // width))
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    one = "(" + ",".join("?" * width) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        db.execute_sql(head + ",".join([one] * len(chunk)), list(itertools.chain.from_iterable(chunk)))


_CONTACT_COLUMNS = ("id", "display_name", "first_name", "notes", "created_at")
_IDENTITY_COLUMNS = ("id", "contact_id", "account_id", "external_id", "handle", "display_name", "profile_url", "is_self")
_MESSAGE_COLUMNS = (
    "id", "conversation_id", "account_id", "external_id", "direction", "author_id", "text", "created_at", "via",
    "edited_after_snippet", "meta", "rating", "awaiting_from",
)


def _new_identity(
    ids: _IdAllocator, account_id: int, item: InboundItem, n_now: int, contacts: list, identities: list
) -> tuple[int, int]:
    author = item.author
    name = clean_text(author.display_name or author.handle or author.external_id)[:200]
    contact_id = ids.next("contact")
    contacts.append((contact_id, name, first_name_of(name), "", n_now))
    identity_id = ids.next("identity")
    identities.append(
        (
            identity_id,
            contact_id,
            account_id,
            author.external_id,
            clean_text(author.handle)[:200],
            clean_text(author.display_name)[:200],
            author.profile_url[:500],
            0,
        )
    )
    return identity_id, contact_id


def first_name_of(display_name: str) -> str:
    """A cautious first name: the first word of a human-looking name, else "" (so fallbacks apply).

    "Last, First" (common in e-mail From headers) gives First.
    """
    name = display_name.strip()
    if name.count(",") == 1:
        name = name.split(",")[1].strip()
    word = name.split(" ")[0].strip(".,;:!?") if name else ""
    if not word or "@" in word or any(map(str.isdigit, word)) or not word[0].isalpha():
        return ""
    return word[:40]


# Conversation columns ingest may change; written back with one executemany per batch. Every clock
# column is among them: the fold (core/conversation_clock.py) may change any.
_CONV_COLUMNS = (
    "last_message_at", "first_inbound_at", "last_inbound_at", "preview", "rating", "status", "snoozed_until",
    "resolved_at", "paused_remaining_s", "resumed_at", "last_outbound_at", "first_response_at",
    "acknowledged_at", "unanswered_count", "awaiting_since", "reply_window_ends_at", "due_at", "due_soon_at",
    "target_minutes", "contact", "contact_name",
)
_FIELDS = [Conversation._meta.fields[name] for name in _CONV_COLUMNS]
_ATTRS = tuple(f.column_name for f in _FIELDS)  # "contact" is read and written as contact_id
assert set(clock.FIELDS) <= set(_ATTRS)
_SELECT_SQL = "SELECT id, kind, " + ", ".join(_ATTRS) + " FROM conversation WHERE id IN ({})"
_UPDATE_SQL = "UPDATE conversation SET " + ", ".join(f"{a} = ?" for a in _ATTRS) + " WHERE id = ?"
# contact_id and contact_name come last in _ATTRS and rarely change. Leaving them out of the SET list
# spares SQLite the contact index and the foreign-key check on every row (about 60 % of the update).
_UPDATE_KEEP_CONTACT_SQL = "UPDATE conversation SET " + ", ".join(f"{a} = ?" for a in _ATTRS[:-2]) + " WHERE id = ?"
assert _ATTRS[-2:] == ("contact_id", "contact_name")
# A new conversation's insert-only columns (as built in ingest) followed by _ATTRS.
_NEW_CONV_HEAD = ("id", "account_id", "external_id", "kind", "public", "subject", "permalink", "created_at")
_NEW_CONV_COLUMNS = _NEW_CONV_HEAD + _ATTRS
_UPDATE_MESSAGE_SQL = (
    "UPDATE message SET text = ?, rating = ?, edited_at = ?, deleted_at = ?, awaiting_from = ? WHERE id = ?"
)
_REVISION_COLUMNS = ("id", "message_id", "text", "rating", "made_at", "replaced_at")

# What happened to a conversation in this batch, in order: (_IN, item, at, answers us), (_OUT, item,
# at), (_EDIT or _DELETE, item, the message's _Version).
_IN, _OUT, _EDIT, _DELETE = range(4)


class _Change:
    __slots__ = ("ops", "replies", "contact_id", "contact_changed")

    def __init__(self) -> None:
        self.ops: list[tuple] = []
        self.replies = False  # one of our replies is among them: the run is recounted from the thread
        self.contact_id: int | None = None  # the customer of the first customer message
        self.contact_changed = False


class _Version:
    """The current version of a message an edit or deletion names; the batch updates it in place."""

    __slots__ = ("id", "conversation_id", "direction", "text", "rating", "created_at", "edited_at",
                 "deleted_at", "awaiting_from")

    def __init__(self, id: int, conversation_id: int, direction: str, text: str, rating: int | None,
                 created_at: int, edited_at: int | None, deleted_at: int | None, awaiting_from: int | None):
        self.id, self.conversation_id, self.direction = id, conversation_id, direction
        self.text, self.rating, self.created_at = text, rating, created_at
        self.edited_at, self.deleted_at, self.awaiting_from = edited_at, deleted_at, awaiting_from

    @classmethod
    def of_row(cls, row: tuple) -> "_Version":
        """A message this batch inserts (a row as _MESSAGE_COLUMNS orders it)."""
        return cls(row[0], row[1], row[4], row[6], row[11], row[7], None, None, row[12])


def _apply_conversation_updates(
    db,
    ids: "_IdAllocator",
    updates: dict[int, _Change],
    new_convs: dict[int, tuple],
    messages: list[tuple],
    contact_names: dict[int, str],
    channel: str,
    policy: "queue.Policy",
    now: datetime,
    result: IngestResult,
    edited: set[int],
) -> None:
    """Fold each conversation's changes into its columns, and write conversations, messages, edits.

    The clock columns go through conversation_clock's fold, one event per message in time order, as
    one call per item would (the batch and one-at-a-time paths agree). A conversation made by this
    batch is inserted once with its final columns, unless it holds one of our replies: which customer
    messages a reply answered is counted from the stored thread (queue.unanswered_runs), so such
    conversations are inserted or updated after their messages. Older conversations are loaded with
    one query per chunk and written back with one executemany.

    Times stay integer microseconds (as stored) throughout; only the target maths sees datetimes, and
    only for a conversation whose clock inputs changed (a customer adding to a thread that already
    waits keeps its stored deadline).
    """
    convs = _load_conversations(db, [cid for cid in updates if cid not in new_convs])
    for cid, head in new_convs.items():
        conv = _ConvRow()
        conv.__dict__.update(_NO_VALUES)
        conv.id, conv.kind = cid, head[3]
        conv.status, conv.unanswered_count, conv.preview = ConversationStatus.OPEN, 0, ""
        conv.contact_id, conv.contact_name = head[8], head[9]
        convs.append(conv)
    n_now = to_micros(now)
    last_replies = queue.last_human_replies(sorted(edited)) if edited else {}
    touched: dict[int, _Version] = {}
    revisions: list[tuple] = []
    folded: list[_ConvRow] = []
    for conv in convs:
        conv.channel = channel
        change = updates[conv.id]
        if conv.contact_id is None and change.contact_id is not None:
            # A thread the business started gets its customer from the first customer message.
            conv.contact_id = change.contact_id
            conv.contact_name = contact_names[conv.contact_id]
            change.contact_changed = True
        events: list[clock.Event] = []
        newest: str | None = None  # the latest customer message's text, when it changed
        last_reply = last_replies.get(conv.id)  # our last human reply so far (read only where edits are)
        # Locals while folding (attribute writes per message cost more), written back below.
        last_at, first_in, last_in, rating = conv.last_message_at, conv.first_inbound_at, conv.last_inbound_at, conv.rating
        for op in change.ops:
            code = op[0]
            if code == _IN:
                _code, item, at, since = op
                if last_at is None or at > last_at:
                    last_at = at
                if first_in is None or at < first_in:
                    first_in = at
                if last_in is None or at >= last_in:
                    last_in = at
                    newest = item.text
                if item.rating is not None:
                    rating = item.rating
                window = item.reply_window_ends_at
                events.append(clock.Inbound(since, None if window is None else to_micros(window)))
            elif code == _OUT:
                _code, item, at = op
                if last_at is None or at > last_at:
                    last_at = at
                if last_reply is None or at > last_reply:
                    last_reply = at
                events.append(clock.Replied(at))
            else:
                _code, item, version = op
                if version.deleted_at is not None:
                    result.duplicates += 1  # a deleted message stays as it was deleted
                    continue
                if code == _DELETE:
                    version.deleted_at = n_now if item.edited_at is None else to_micros(item.edited_at)
                    touched[version.id] = version
                    result.deleted_message_ids.append(version.id)
                    result.changed_conversation_ids.add(conv.id)
                    continue
                at = to_micros(item.edited_at)
                made = version.created_at if version.edited_at is None else version.edited_at
                text = clean_text(item.text)
                rerated = item.rating is not None and version.rating is not None and item.rating != version.rating
                if at <= made or (text == version.text and not rerated):
                    # An older version delivered late, or this version again: nothing changed.
                    result.duplicates += 1
                    continue
                revisions.append((ids.next("message_revision"), version.id, version.text, version.rating, made, n_now))
                version.text, version.edited_at = text, at
                if item.rating is not None:
                    version.rating = item.rating
                touched[version.id] = version
                result.edited_message_ids.append(version.id)
                result.changed_conversation_ids.add(conv.id)
                if version.direction != Direction.IN:
                    continue  # the business edited its own message: history only, no clock
                if last_in is not None and version.created_at >= last_in:
                    newest = text
                if item.rating is not None:
                    rating = item.rating
                # A message a human reply came after was answered; edited after that reply, it awaits an
                # answer again from the edit (unanswered_runs' rule, which reads awaiting_from).
                since = version.created_at if version.awaiting_from is None else version.awaiting_from
                reopened = last_reply is not None and since <= last_reply < at
                if reopened:
                    version.awaiting_from = at
                events.append(clock.Edited(at, reopened))
        if rating != conv.rating and events:
            # The rating is an input of the deadline (a low one is due soon earlier), set here rather
            # than by an event: have the fold evaluate again, as folding one item at a time would.
            events.append(clock.Reevaluated())
        conv.last_message_at, conv.first_inbound_at, conv.last_inbound_at, conv.rating = last_at, first_in, last_in, rating
        if newest is not None:
            conv.preview = preview_of(clean_text(newest))
        folded.append(clock.fold_all(conv, events, policy, now) if events else conv)
    later = {c.id for c in folded if updates[c.id].replies}
    _insert_rows(db, "conversation", _NEW_CONV_COLUMNS, [
        new_convs[c.id][: len(_NEW_CONV_HEAD)] + tuple(c.db_values()[:-1]) for c in folded if c.id in new_convs
    ])
    _insert_rows(db, "message", _MESSAGE_COLUMNS, messages)
    if touched:
        db.cursor().executemany(_UPDATE_MESSAGE_SQL, [
            (v.text, v.rating, v.edited_at, v.deleted_at, v.awaiting_from, v.id) for v in touched.values()
        ])
    _insert_rows(db, "message_revision", _REVISION_COLUMNS, revisions)
    # Which customer messages our replies answer depends on the whole stored thread: count it there.
    runs = queue.unanswered_runs(sorted(later))
    values, keep_contact = [], []
    for conv in folded:
        if conv.id in later:
            count, oldest = runs.get(conv.id, (0, None))
            conv = clock.fold(conv, clock.Recounted(count, oldest), policy, now)
        elif conv.id in new_convs:
            continue
        row = conv.db_values()
        if updates[conv.id].contact_changed:
            values.append(row)
        else:
            keep_contact.append(row[:-3] + row[-1:])
    if values:
        db.cursor().executemany(_UPDATE_SQL, values)
    if keep_contact:
        db.cursor().executemany(_UPDATE_KEEP_CONTACT_SQL, keep_contact)


_NO_VALUES = dict.fromkeys(_ATTRS)
_GET_VALUES = operator.attrgetter(*_ATTRS)


class _ConvRow(clock.ClockState):
    """The columns ingest may change of one conversation as plain attributes, times as stored (integer
    microseconds): a ClockState with the queue's display columns besides. Loading and saving
    Conversation models cost more than the SQL; a row is filled with one dict.update and read with one
    attrgetter: 21 columns × thousands of rows per batch."""

    id: int
    last_message_at: int | None
    first_inbound_at: int | None
    last_inbound_at: int | None
    preview: str
    rating: int | None
    contact_id: int | None
    contact_name: str

    # Filled by the caller with one dict.update; object's __init__ (in C) skips ClockState's defaults.
    __init__ = object.__init__

    def db_values(self) -> list:
        out = list(_GET_VALUES(self))
        out.append(self.id)
        return out


def _load_conversations(db, ids: list[int]) -> list[_ConvRow]:
    convs: list[_ConvRow] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in db.execute_sql(_SELECT_SQL.format(",".join("?" * len(chunk))), chunk).fetchall():
            conv = _ConvRow()
            conv.id, conv.kind = row[0], row[1]
            conv.__dict__.update(zip(_ATTRS, row[2:], strict=True))
            convs.append(conv)
    return convs
