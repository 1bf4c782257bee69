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
from socialdesk.core import queue
from socialdesk.core.store import Account, Conversation, Store, from_micros, to_micros

log = logging.getLogger(__name__)

PREVIEW_CHARS = 160
_CHUNK = 500


@dataclass
class IngestResult:
    new_message_ids: list[int] = field(default_factory=list)
    changed_conversation_ids: set[int] = field(default_factory=set)
    new_inbound: list[tuple[int, int]] = field(default_factory=list)  # (conversation id, message id)
    duplicates: int = 0
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
    if not isinstance(item.conversation_external_id, str) or not item.conversation_external_id:
        return "missing conversation id"
    if item.kind not in KINDS:
        return f"unknown kind {item.kind!r}"
    if not isinstance(item.text, str):
        return "text is not a string"
    if not isinstance(item.created_at, datetime) or item.created_at.tzinfo is None:
        return "created_at is not an aware datetime"
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
    """Store new items and the cursor covering them atomically. Returns what changed."""
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
            "SELECT external_id, conversation_id, direction FROM message"
            " WHERE account_id = %d AND external_id IN ({})" % account_id,
            list({i.in_reply_to for i in valid if i.in_reply_to}),
        )
        ids = _IdAllocator(db)
        new_contacts: list[tuple] = []
        new_identities: list[tuple] = []
        new_convs: dict[int, tuple] = {}  # id -> the insert-only columns of a conversation made here
        messages: list[tuple] = []
        seen: set[str] = set()
        conv_updates: dict[int, dict] = {}
        for item in valid:
            if item.external_id in existing or item.external_id in seen:
                result.duplicates += 1
                continue
            seen.add(item.external_id)
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
            direction = "out" if item.outbound else "in"
            message_id = ids.next("message")
            at = to_micros(item.created_at)
            messages.append(
                (
                    message_id,
                    conv_id,
                    account_id,
                    item.external_id,
                    direction,
                    identity_id,
                    clean_text(item.text),
                    at,
                    "platform" if item.outbound else "",
                    0,
                    _EMPTY_META if _is_empty_dict(item.meta) else json.dumps(item.meta, ensure_ascii=False, sort_keys=True),
                )
            )
            parents[item.external_id] = (conv_id, direction)
            result.new_message_ids.append(message_id)
            result.changed_conversation_ids.add(conv_id)
            update = conv_updates.get(conv_id)
            if update is None:
                update = conv_updates[conv_id] = {"inbound": [], "outbound": []}
            if item.outbound:
                update["outbound"].append((at, item))
            else:
                update["inbound"].append((at, item))
                update.setdefault("contact_id", contact_id)
                result.new_inbound.append((conv_id, message_id))
                parent = parents.get(item.in_reply_to) if item.in_reply_to else None
                if parent is not None and parent[1] == "out":
                    # An answer to our reply is new even if clocks disagree about which came first.
                    update.setdefault("answers_to_us", set()).add(item.external_id)
        _insert_rows(db, "contact", _CONTACT_COLUMNS, new_contacts)
        _insert_rows(db, "identity", _IDENTITY_COLUMNS, new_identities)
        account = db.execute_sql("SELECT kind, settings FROM account WHERE id = ?", (account_id,)).fetchone()
        if account is None:
            raise Account.DoesNotExist(f"no account with id {account_id}")
        channel = queue.channel_from(account[0], Account.settings.python_value(account[1]))
        _apply_conversation_updates(db, conv_updates, new_convs, messages, contact_names, channel, policy, now)
        db.execute_sql(
            "UPDATE account SET cursor = ?, last_sync_at = ?, first_synced_at = coalesce(first_synced_at, ?)"
            " WHERE id = ?",
            (Account.cursor.db_value(cursor), n_now, n_now, account_id),
        )
    return result


_EMPTY_META = json.dumps({})


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
    "edited_after_snippet", "meta",
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


# Conversation columns ingest may change; written back with one executemany per batch.
_CONV_COLUMNS = (
    "last_message_at", "first_inbound_at", "last_inbound_at", "preview", "rating", "status", "snoozed_until",
    "resolved_at", "paused_remaining_s", "resumed_at", "last_outbound_at", "first_response_at",
    "unanswered_count", "awaiting_since", "due_at", "due_soon_at", "target_minutes", "contact", "contact_name",
)
_FIELDS = [Conversation._meta.fields[name] for name in _CONV_COLUMNS]
_ATTRS = tuple(f.column_name for f in _FIELDS)  # "contact" is read and written as contact_id
_SELECT_SQL = "SELECT id, kind, " + ", ".join(_ATTRS) + " FROM conversation WHERE id IN ({})"
_UPDATE_SQL = "UPDATE conversation SET " + ", ".join(f"{a} = ?" for a in _ATTRS) + " WHERE id = ?"
# contact_id and contact_name come last in _ATTRS and rarely change. Leaving them out of the SET list
# spares SQLite the contact index and the foreign-key check on every row (about 60 % of the update).
_UPDATE_KEEP_CONTACT_SQL = "UPDATE conversation SET " + ", ".join(f"{a} = ?" for a in _ATTRS[:-2]) + " WHERE id = ?"
assert _ATTRS[-2:] == ("contact_id", "contact_name")
# A new conversation's insert-only columns (as built in ingest) followed by _ATTRS.
_NEW_CONV_HEAD = ("id", "account_id", "external_id", "kind", "public", "subject", "permalink", "created_at")
_NEW_CONV_COLUMNS = _NEW_CONV_HEAD + _ATTRS


def _apply_conversation_updates(
    db,
    updates: dict[int, dict],
    new_convs: dict[int, tuple],
    messages: list[tuple],
    contact_names: dict[int, str],
    account_kind: str,
    policy: "queue.Policy",
    now: datetime,
) -> None:
    """Write the new conversations and messages, and fold the messages into the queue columns.

    A conversation made by this batch is inserted once, with its final queue columns, unless it holds
    one of our replies: the unanswered run is then counted from the stored thread (as for older
    conversations), so it is inserted first and updated after its messages. Older conversations are
    loaded with one query per chunk and written back with one executemany.

    Times stay integer microseconds (as stored) throughout the fold; only the target maths sees
    datetimes. An older conversation whose clock inputs did not change (a customer adding to a thread
    that was already waiting for us) keeps its stored deadline: evaluating the same inputs under the
    same policy gives the same answer, and every other writer of those inputs re-evaluates (queue,
    outbox), as does a policy change (queue.recompute_all).
    """
    convs = _load_conversations(db, [cid for cid in updates if cid not in new_convs])
    for cid, head in new_convs.items():
        conv = _ConvRow()
        conv.__dict__.update(_NO_VALUES)
        conv.id, conv.kind = cid, head[3]
        conv.status, conv.unanswered_count, conv.preview = "open", 0, ""
        conv.contact_id, conv.contact_name = head[8], head[9]
        conv.clock_before = None
        convs.append(conv)
    for conv in convs:
        change = updates[conv.id]
        inbound: list[tuple[int, InboundItem]] = change["inbound"]
        outbound: list[tuple[int, InboundItem]] = change["outbound"]
        latest = max(at for at, _item in inbound + outbound)
        if conv.last_message_at is None or latest > conv.last_message_at:
            conv.last_message_at = latest
        if inbound:
            if conv.contact_id is None and change.get("contact_id") is not None:
                # A thread the business started gets its customer from the first customer message.
                conv.contact_id = change["contact_id"]
                conv.contact_name = contact_names[conv.contact_id]
                change["contact_changed"] = True
            newest_at, newest = inbound[-1]
            first = inbound[0][0]
            if conv.first_inbound_at is None or first < conv.first_inbound_at:
                conv.first_inbound_at = first
            if conv.last_inbound_at is None or newest_at >= conv.last_inbound_at:
                conv.last_inbound_at = newest_at
                conv.preview = preview_of(clean_text(newest.text))
            if newest.rating is not None:
                conv.rating = newest.rating
            if conv.status in ("waiting", "snoozed", "done"):
                # A new message from the customer reopens. A paused clock (snoozed/waiting while
                # unanswered) resumes with the time it had left, from this message; otherwise the
                # clock runs from the oldest unanswered message as usual.
                resumes = conv.status in ("waiting", "snoozed") and conv.paused_remaining_s is not None
                conv.status = "open"
                conv.snoozed_until = None
                conv.resolved_at = None
                conv.resumed_at = newest_at if resumes else None
                if not resumes:
                    conv.paused_remaining_s = None
        if outbound:
            last_out = outbound[-1][0]
            if conv.last_outbound_at is None or last_out > conv.last_outbound_at:
                conv.last_outbound_at = last_out
            if conv.first_response_at is None:
                conv.first_response_at = outbound[0][0]
        if not outbound:
            # Only new inbound messages: extend the unanswered run without re-reading the thread.
            last_reply = conv.last_outbound_at
            answers = change.get("answers_to_us", ())
            fresh = sorted(
                at
                for at, item in inbound
                if last_reply is None or at > last_reply or item.external_id in answers
            )
            if fresh:
                conv.unanswered_count += len(fresh)
                if conv.awaiting_since is None or fresh[0] < conv.awaiting_since:
                    conv.awaiting_since = fresh[0]
    later = {c.id for c in convs if updates[c.id]["outbound"]}
    inserts = []
    for conv in convs:
        if conv.id in new_convs:
            if conv.id not in later:
                _apply_target(conv, policy, now, account_kind)
            inserts.append(new_convs[conv.id][: len(_NEW_CONV_HEAD)] + tuple(conv.db_values()[:-1]))
    _insert_rows(db, "conversation", _NEW_CONV_COLUMNS, inserts)
    _insert_rows(db, "message", _MESSAGE_COLUMNS, messages)
    # Which customer messages our replies answer depends on the whole stored thread: count it there.
    runs = queue.unanswered_runs(sorted(later))
    for conv in convs:
        if conv.id in later:
            conv.unanswered_count, conv.awaiting_since = runs.get(conv.id, (0, None))
    values, keep_contact = [], []
    for conv in convs:
        if conv.id not in new_convs or conv.id in later:
            if conv.id in later or not conv.clock_unchanged():
                _apply_target(conv, policy, now, account_kind)
            row = conv.db_values()
            if updates[conv.id].get("contact_changed"):
                values.append(row)
            else:
                keep_contact.append(row[:-3] + row[-1:])
    if values:
        db.cursor().executemany(_UPDATE_SQL, values)
    if keep_contact:
        db.cursor().executemany(_UPDATE_KEEP_CONTACT_SQL, keep_contact)


def _apply_target(conv: "_ConvRow", policy: "queue.Policy", now: datetime, account_kind: str) -> None:
    """queue.apply_target for a row held in microseconds."""
    if conv.awaiting_since is None:
        conv.paused_remaining_s = None
        conv.resumed_at = None
    result = queue.target_for(
        conv.kind,
        account_kind,
        conv.status,
        _datetime(conv.awaiting_since),
        _datetime(conv.first_response_at),
        conv.paused_remaining_s,
        _datetime(conv.resumed_at),
        policy,
        now,
    )
    conv.due_at = None if result.due_at is None else to_micros(result.due_at)
    conv.due_soon_at = None if result.due_soon_at is None else to_micros(result.due_soon_at)
    conv.target_minutes = result.target_minutes


def _datetime(micros: int | None) -> datetime | None:
    return None if micros is None else from_micros(micros)


_NO_VALUES = dict.fromkeys(_ATTRS)
_GET_VALUES = operator.attrgetter(*_ATTRS)


class _ConvRow:
    """The queue columns of one conversation as plain attributes, times as stored (integer
    microseconds); loading and saving Conversation models cost more than the SQL. Attributes live in
    the instance __dict__ (no __slots__) so a row is filled with one dict.update and read with one
    attrgetter: 19 columns × thousands of rows per batch."""

    id: int
    kind: str
    clock_before: tuple | None

    def clock_inputs(self) -> tuple:
        """What the response-target clock depends on (besides the policy)."""
        return (self.status, self.awaiting_since, self.first_response_at, self.paused_remaining_s, self.resumed_at)

    def clock_unchanged(self) -> bool:
        """True when the stored deadline is still the answer: same clock inputs as loaded, and not a
        paused remainder without its resume moment (that clock would count from `now`)."""
        return self.clock_before == self.clock_inputs() and (
            self.paused_remaining_s is None or self.resumed_at is not None
        )

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
            conv.clock_before = conv.clock_inputs()
            convs.append(conv)
    return convs
