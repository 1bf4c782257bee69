"""Reading the queue: its views and places, their urgency order, and the rows the window shows.

Decisions:
- Plain SQL over a DB-API connection, no ORM: the window's first screen is read with this module before
  peewee is even imported (`read_first_screen`, which opens the file itself), and every later read uses
  the same code on the store's connection of the calling thread (`db=None`). core/queue.py re-exports
  it all; what changes conversations stays there.
- The queue is a list of conversation ids from one indexed query; rows are fetched in batches by id
  (`rows(ids)`) so the UI model stays lazy (Anki's browser model) and 20,000 conversations stay fast.
- Urgency order: items with a target first, by `due_at` ascending (the longest overdue is the smallest
  due_at, then the soonest due); among equal deadlines low ratings (one or two stars, targets.LOW_RATING)
  rank first, then repeat contacts (more unanswered messages) rank higher; items without a target after,
  oldest awaiting first.
- A file the first-screen read does not take for this version's database (missing, another schema
  version, another program's, unreadable) gives no first screen rather than an error: opening the store
  says what is wrong, or migrates an older file, after the first paint.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from socialdesk.connectors import traits
from socialdesk.core import accounts as accounts_mod
from socialdesk.core import drafts
from socialdesk.core import targets as targets_mod
from socialdesk.core.db_format import APPLICATION_ID, SCHEMA_VERSION, optional_time, to_micros
from socialdesk.core.states import ConversationStatus

if TYPE_CHECKING:
    from socialdesk.connectors.traits import ReplyWindowRule


def _connection(db: sqlite3.Connection | None) -> sqlite3.Connection:
    """`db`, or the open store's connection of this thread."""
    if db is not None:
        return db
    from socialdesk.core.store import connection

    return connection()


VIEWS = ("awaiting", "overdue", "public", "private", "reviews", "waiting", "snoozed", "done", "sent", "spam", "all")
VIEW_TITLES = {
    "awaiting": "Awaiting",
    "overdue": "Overdue",
    "public": "Public",
    "private": "Private",
    "reviews": "Reviews",
    "waiting": "Waiting",
    "snoozed": "Snoozed",
    "done": "Done",
    "sent": "Sent",
    "spam": "Spam",
    "all": "All",
}

# Where a conversation is, in one word (the queue's status column, and where a search found matches):
# each conversation is in exactly one place, and each place is listed by the view of the same name
# ("open": neither awaiting nor answered by us, e.g. only our own post; listed in All).
PLACES = ("awaiting", "waiting", "snoozed", "done", "sent", "open", "spam")
PLACE_TITLES = {place: VIEW_TITLES.get(place, "Open") for place in PLACES}
PLACE_VIEW = {place: place if place in VIEW_TITLES and place != "spam" else "all" for place in PLACES}


def place_of(status: str, awaiting: bool, answered: bool) -> str:
    """The place of a conversation with this status, awaiting an answer or not, answered by a human reply
    of ours or not (the `sent` view's rule: answered and nothing awaits since)."""
    if status == ConversationStatus.OPEN:
        return "awaiting" if awaiting else ("sent" if answered else "open")
    return str(status)


class QueueError(ValueError):
    """A request the owner made that cannot be done (unknown conversation, bad snooze time, ...)."""


@dataclass(frozen=True)
class QueueRow:
    """What one line of the queue shows."""

    id: int
    account_id: int
    account_name: str
    channel: str  # platform shown to the owner (account kind, or the demo account's channel)
    kind: str
    public: bool
    contact_id: int | None
    contact_name: str
    subject: str
    preview: str
    status: str
    awaiting_since: datetime | None
    last_message_at: datetime | None
    last_outbound_at: datetime | None
    due_at: datetime | None
    due_soon_at: datetime | None
    target_minutes: int | None
    unanswered_count: int
    rating: int | None
    snoozed_until: datetime | None
    permalink: str
    text_limit: int | None = None  # the account's own limit for replies, when its check learned one
    reply_window_ends_at: datetime | None = None  # until when the platform takes an ordinary reply
    draft: str = ""  # the reply the owner is writing (core/drafts.py), "" when none
    new: bool = False  # a customer wrote since the owner last opened it or answered (see is_new)

    def state(self, now: datetime) -> str | None:
        return targets_mod.state(self.due_at, self.due_soon_at, now)

    @property
    def reply_window(self) -> ReplyWindowRule | None:
        """What the platform allows once the reply window closed (None: it has none). Looked up when asked,
        not when rows load: it loads the platform's connector, which the queue's first rows need not."""
        return reply_window_rule(self.channel) if self.reply_window_ends_at is not None else None

    @property
    def place(self) -> str:
        return place_of(self.status, self.awaiting_since is not None, self.last_outbound_at is not None)


FIRST_ROWS = 80  # rows read with a view's order; the others come as the owner scrolls (ui/queue_model.py)


def shown_account(account_id: int, name: str, kind: str, settings: dict | None) -> tuple:
    """What queue rows show of one account (name, channel, text limit)."""
    return (account_id, name, channel_from(kind, settings), accounts_mod.text_limit(settings))


def _accounts(db: sqlite3.Connection) -> list[tuple[int, str, str, dict | None]]:
    """Every account as (id, name, kind, settings), by name."""
    return [(a_id, name, kind, json.loads(settings) if settings is not None else None)
            for a_id, name, kind, settings in db.execute("SELECT id, name, kind, settings FROM account ORDER BY name")]


def accounts_shown(db: sqlite3.Connection | None = None) -> tuple:
    """What queue rows show of every account (name, channel, text limit): when it changes, shown rows
    are stale."""
    return tuple(shown_account(*account) for account in _accounts(_connection(db)))


def first_screen(view: str, now: datetime, *, account_ids: Iterable[int] | None = None, search: str = "",
                 limit: int | None = None, db: sqlite3.Connection | None = None,
                 ) -> tuple[list[int], dict[int, QueueRow], tuple]:
    """One screen of a view, for the window's first paint: its first `limit` (FIRST_ROWS) ids in order,
    their rows, and what they show of every account (accounts_shown), all read together."""
    db = _connection(db)
    shown = accounts_shown(db)
    ids = list_ids(view, now, account_ids=account_ids, search=search, limit=limit or FIRST_ROWS, db=db)
    return ids, rows(ids, db), shown


def read_first_screen(database: Path, view: str, now: datetime,
                      ) -> tuple[list[int], dict[int, QueueRow], tuple] | None:
    """`first_screen` read straight from the profile's file, before the store (and peewee) is loaded;
    None when the file is not this version's database or cannot be read (module docstring)."""
    try:
        # mode=rw never creates a missing file; query_only keeps this connection from writing.
        db = sqlite3.connect(f"{Path(database).absolute().as_uri()}?mode=rw", uri=True)
    except sqlite3.Error:
        return None
    try:
        db.execute("PRAGMA query_only = 1")
        application_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if application_id not in (APPLICATION_ID, 0) or version != SCHEMA_VERSION:
            return None
        return first_screen(view, now, db=db)
    except sqlite3.Error:
        return None
    finally:
        db.close()


def reply_window_rule(channel: str) -> ReplyWindowRule | None:
    """The reply-window rule of the platform a conversation is on (None: no window, or unknown)."""
    return traits.of(channel).reply_window


def channel_from(kind: str, settings: dict | None) -> str:
    """The channel an account posts to: its connector kind unless its settings name one (demo accounts)."""
    return (settings or {}).get("channel") or kind


# --- ordering and views ----------------------------------------------------------------------------

_ORDER_SQL = (
    " ORDER BY (c.due_at IS NULL), c.due_at,"
    f" (c.rating IS NOT NULL AND c.rating BETWEEN 1 AND {int(targets_mod.LOW_RATING)}) DESC, c.unanswered_count DESC,"
    " (c.awaiting_since IS NULL), c.awaiting_since, c.last_message_at DESC, c.id"
)


def _view_where(view: str, now: datetime) -> tuple[str, list]:
    n = to_micros(now)
    awaiting = "c.status = 'open' AND c.awaiting_since IS NOT NULL"
    if view == "awaiting":
        return awaiting, []
    if view == "overdue":
        return awaiting + " AND c.due_at IS NOT NULL AND c.due_at <= ?", [n]
    if view == "public":
        return awaiting + " AND c.public = 1", []
    if view == "private":
        return awaiting + " AND c.public = 0", []
    if view == "reviews":
        return "c.kind = 'review' AND c.status IN ('open', 'waiting', 'snoozed')", []
    if view in ("waiting", "snoozed", "done", "spam"):
        return "c.status = ?", [view]
    if view == "sent":
        # Answered by a human reply of ours, and nothing awaits an answer since (done ones too).
        return "c.status != 'spam' AND c.last_outbound_at IS NOT NULL AND c.awaiting_since IS NULL", []
    if view == "all":
        return "c.status != 'spam'", []
    raise QueueError(f"Unknown view {view!r}; choose one of: {', '.join(VIEWS)}")


def views_of(conversation_id: int, now: datetime, db: sqlite3.Connection | None = None) -> list[str]:
    """The views that list this conversation (in VIEWS order), before any search or account filter."""
    db = _connection(db)
    found = []
    for view in VIEWS:
        where, params = _view_where(view, now)
        sql = f"SELECT 1 FROM conversation c WHERE c.id = ? AND {where}"
        if db.execute(sql, [int(conversation_id), *params]).fetchone():
            found.append(view)
    return found


def list_ids(
    view: str,
    now: datetime,
    *,
    account_ids: Iterable[int] | None = None,
    search: str = "",
    limit: int | None = None,
    db: sqlite3.Connection | None = None,
) -> list[int]:
    """Conversation ids of a view, most urgent first (done/spam/all: most recent first; sent: most
    recently answered first). A search in "all" covers every conversation, spam included."""
    where, params = ("1", []) if view == "all" and search.strip() else _view_where(view, now)
    filters = _filters(account_ids, search)
    if filters is None:
        return []
    sql = "SELECT c.id FROM conversation c WHERE " + where + filters[0]
    params += filters[1]
    if view == "sent":
        sql += " ORDER BY c.last_outbound_at DESC, c.id DESC"
    elif view in ("done", "spam", "all"):
        sql += " ORDER BY c.last_message_at DESC, c.id DESC"
    else:
        sql += _ORDER_SQL
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [r[0] for r in _connection(db).execute(sql, params).fetchall()]


def _filters(account_ids: Iterable[int] | None, search: str) -> tuple[str, list] | None:
    """The account filter and the search as " AND ..." SQL and its parameters; None: nothing can match."""
    sql = ""
    params: list[object] = []
    if account_ids is not None:
        ids = [int(i) for i in account_ids]
        if not ids:
            return None
        sql += f" AND c.account_id IN ({','.join('?' * len(ids))})"
        params += ids
    tokens = search_tokens(search)
    if search.strip() and not tokens:
        return None
    for token in tokens:
        # Each word may be found in a message, the customer's name or the subject ("Léa sourdough");
        # all words must be found.
        term = f'"{token}"*'
        sql += (
            " AND (c.id IN (SELECT m.conversation_id FROM message m WHERE m.id IN"
            " (SELECT rowid FROM message_fts WHERE message_fts MATCH ?))"
            " OR c.contact_id IN (SELECT rowid FROM contact_fts WHERE contact_fts MATCH ?)"
            " OR c.subject LIKE ? ESCAPE '\\')"
        )
        like = "%" + token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [term, term, like]
    return sql, params


def search_places(search: str, *, account_ids: Iterable[int] | None = None,
                  db: sqlite3.Connection | None = None) -> dict[str, int]:
    """Where the conversations a search finds are: place (PLACES) -> count, over every conversation.
    For an empty result to say where the matches are ("3 in Done")."""
    filters = _filters(account_ids, search)
    if filters is None or not search.strip():
        return {}
    sql = ("SELECT c.status, c.awaiting_since IS NOT NULL, c.last_outbound_at IS NOT NULL, count(*)"
           " FROM conversation c WHERE 1" + filters[0] + " GROUP BY 1, 2, 3")
    found: dict[str, int] = {}
    for status, awaiting, answered, count in _connection(db).execute(sql, filters[1]).fetchall():
        place = place_of(status, bool(awaiting), bool(answered))
        found[place] = found.get(place, 0) + count
    return {place: found[place] for place in PLACES if place in found}


_TOKEN_RE = re.compile(r"\w+", re.UNICODE)


def search_tokens(text: str) -> list[str]:
    """The words of what the owner typed (at most 12); only these ever reach an FTS5 MATCH."""
    return _TOKEN_RE.findall(text or "")[:12]


def fts_query(text: str) -> str:
    """Turn what the owner typed into a safe FTS5 query: every word as a quoted prefix term, ANDed.

    Raw user text is never passed to MATCH (FTS5 syntax errors and column filters would leak through).
    """
    return " ".join(f'"{t}"*' for t in search_tokens(text))


_STATUSES = {status.value: status for status in ConversationStatus}  # as the store's EnumField reads them

_ROW_COLUMNS = (
    "id, account_id, kind, public, contact_id, contact_name, subject, preview, status, awaiting_since,"
    " last_message_at, last_outbound_at, due_at, due_soon_at, target_minutes, unanswered_count, rating,"
    " snoozed_until, permalink, reply_window_ends_at, last_inbound_at, seen_at"
)


def rows(ids: list[int], db: sqlite3.Connection | None = None) -> dict[int, QueueRow]:
    """Fetch display rows for the given ids in one query per 500 ids."""
    db = _connection(db)
    result: dict[int, QueueRow] = {}
    accounts = {account[0]: shown_account(*account) for account in _accounts(db)}
    for start in range(0, len(ids), 500):
        chunk = [int(i) for i in ids[start : start + 500]]
        draft_texts = drafts.texts(chunk, db)
        sql = f"SELECT {_ROW_COLUMNS} FROM conversation WHERE id IN ({','.join('?' * len(chunk))})"
        for (conv_id, account_id, kind, public, contact_id, contact_name, subject, preview, status, awaiting_since,
             last_message_at, last_outbound_at, due_at, due_soon_at, target_minutes, unanswered_count, rating,
             snoozed_until, permalink, reply_window_ends_at, last_inbound_at, seen_at) in db.execute(sql, chunk):
            _, account_name, channel, text_limit = accounts.get(account_id, (0, "", "", None))
            last_outbound = optional_time(last_outbound_at)
            result[conv_id] = QueueRow(
                id=conv_id,
                account_id=account_id,
                account_name=account_name,
                channel=channel,
                kind=kind,
                public=bool(public),
                contact_id=contact_id,
                contact_name=contact_name,
                subject=subject,
                preview=preview,
                status=_STATUSES.get(status, status),
                awaiting_since=optional_time(awaiting_since),
                last_message_at=optional_time(last_message_at),
                last_outbound_at=last_outbound,
                due_at=optional_time(due_at),
                due_soon_at=optional_time(due_soon_at),
                target_minutes=target_minutes,
                unanswered_count=unanswered_count,
                rating=rating,
                snoozed_until=optional_time(snoozed_until),
                permalink=permalink,
                text_limit=text_limit,
                reply_window_ends_at=optional_time(reply_window_ends_at),
                draft=draft_texts.get(conv_id, ""),
                new=is_new(optional_time(last_inbound_at), optional_time(seen_at), last_outbound),
            )
    return result


def is_new(last_inbound_at: datetime | None, seen_at: datetime | None, last_outbound_at: datetime | None) -> bool:
    """A conversation is new to the owner when the customer's latest message came after the owner last
    opened it in the window (`seen_at`) and after our last reply (answering means it was read, also from
    the command line). Automatic replies do not count: nobody read the message for them."""
    if last_inbound_at is None:
        return False
    return all(when is None or last_inbound_at > when for when in (seen_at, last_outbound_at))


_AWAITING_SQL = "SELECT count(*) FROM conversation c WHERE c.status = 'open' AND c.awaiting_since IS NOT NULL"


def awaiting_count(db: sqlite3.Connection | None = None) -> int:
    return _connection(db).execute(_AWAITING_SQL).fetchone()[0]


def overdue_count(now: datetime, db: sqlite3.Connection | None = None) -> int:
    sql = _AWAITING_SQL + " AND c.due_at IS NOT NULL AND c.due_at <= ?"
    return _connection(db).execute(sql, [to_micros(now)]).fetchone()[0]


def most_urgent(now: datetime, db: sqlite3.Connection | None = None) -> QueueRow | None:
    db = _connection(db)
    ids = list_ids("awaiting", now, limit=1, db=db)
    return rows(ids, db).get(ids[0]) if ids else None
