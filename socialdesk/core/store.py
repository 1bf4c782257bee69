"""The database: peewee models, schema version, migrations, the write lane and the FTS5 index.

Decisions:
- One SQLite file per profile, WAL mode, foreign keys on. Readers run on any thread (peewee keeps a
  connection per thread); every write goes through `Store.write()`, one process-wide lock plus a short
  transaction: the "one lane" of DESIGN.md.
- Times are stored as integer microseconds since the epoch, UTC (`UTCField`): compact, fast to index,
  and ordering in SQL is numeric. Python sees timezone-aware UTC datetimes.
- The schema version lives in `PRAGMA user_version`. Opening an older file backs it up (SQLite online
  backup into `backups/`) before migrating; a newer file is refused with `StoreTooNewError`; a file
  that is not a valid database raises `StoreCorruptError`. Neither case ever writes to the file.
- A file is ours only if it says so: new databases carry `PRAGMA application_id = APPLICATION_ID`;
  files made before that (application id 0) count as ours only with socialdesk's tables. Another
  program's SQLite file at the database path, or a negative user_version, raises `StoreForeignError`
  and is never written to (we once created our tables inside such a file).
- `storage_problem(exc)` turns what a full disk, a read-only folder or a failing disk raise anywhere
  (OSError, sqlite3 or peewee errors, also hidden behind peewee's "cannot rollback" that follows a
  failed commit) into one owner-readable line; the command line prints it instead of a traceback.
- Conversation carries denormalised queue columns (preview, contact name, due_at, due_soon_at) so the
  urgent-first queue is one indexed query over one table, even with 20,000 conversations.
- Search is an external-content FTS5 index over message text plus one over contact names, kept in step
  by triggers so no code path can forget it.
- Indexes are the ones queries use, no more: every index costs on each ingested row. A foreign key
  that leads a composite index (message.conversation, message.account, conversation.account,
  identity.account) gets no index of its own, the queue's due-time index is (status, due_at), and
  message.snippet is indexed only where set (only our own replies have one). Schema 2 dropped the rest
  (ingest of 10,000 new items: about 8 % less CPU).
- Schema 3 (edits, deletions, reply windows): a message keeps its current text in `text` and each
  earlier version as a MessageRevision row; `deleted_at` marks what the customer deleted (kept, never
  removed); `Conversation.reply_window_ends_at` holds the platform's reply window. The new columns are
  nullable, so the migration adds them without rewriting a row.
- Schema 4 (the usage meter): table `usage`, units per account, day and bucket (core/usage.py).
- Schema 5 (drafts): table `draft`, the reply the owner is writing, one row per conversation
  (core/drafts.py); a new table, nothing else is rewritten.
- NULL parameters skip sqlite3's adaptation protocol (a registered adapter for None): without it the
  module looks for `__adapt__` on its protocol type for every None it binds, and raises and formats an
  AttributeError each time. Ingest binds about nine NULLs per new item; with the adapter a NULL costs
  half as much, and ingesting 10,000 items (then the same again) takes about 5 % fewer instructions
  (callgrind). Stored values are the same NULLs.
"""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Iterator, Literal, TypeVar, overload

import peewee as pw

from socialdesk.connectors.network_errors import causes
from socialdesk.core.checkpoint import Checkpointer
from socialdesk.core.db_format import APPLICATION_ID, SCHEMA_VERSION, from_micros, to_micros
from socialdesk.core.states import (
    AccountState,
    ConversationStatus,
    Direction,
    OutboxPurpose,
    OutboxState,
    Via,
)

# The file's format (schema version, owner mark, time encoding) is core/db_format.py's, which readers
# without peewee share; APPLICATION_ID, SCHEMA_VERSION, from_micros and to_micros stay importable from here.
_OUR_TABLES = {"account", "conversation", "message"}

database = pw.DatabaseProxy()


def _null(value: None) -> None:
    """None is bound as NULL either way; this adapter only spares sqlite3 the failed protocol lookup it
    would make for every None (see the module docstring)."""
    return None


sqlite3.register_adapter(type(None), _null)


class StoreError(Exception):
    """A problem opening the database; `str(e)` is meant for the owner."""


class StoreTooNewError(StoreError):
    pass


class StoreCorruptError(StoreError):
    pass


class StoreForeignError(StoreError):
    pass


def tuples(query: pw.BaseQuery) -> Iterator[tuple[Any, ...]]:
    """The rows of `query` as plain tuples, as `query.tuples()` gives them; peewee's stubs type that as
    yielding model instances, so code that unpacks rows goes through here to be type-checked."""
    return iter(query.tuples())


def connection() -> sqlite3.Connection:
    """This thread's connection to the open database (peewee keeps one per thread), for reads in plain SQL
    (core/queue_read.py, core/drafts.py) that share this thread's transaction with the models."""
    return database.connection()


_T = TypeVar("_T")


class UTCField(pw.BigIntegerField, Generic[_T]):
    """A timezone-aware datetime stored as integer microseconds since the epoch (UTC)."""

    if TYPE_CHECKING:
        # peewee's stubs type a field by the value it holds; this one holds a datetime, not the int it
        # stores (None allowed only with null=True). Runtime peewee fields are not generic: hence Generic.
        @overload
        def __new__(cls, *args: Any, null: Literal[True], **kwargs: Any) -> UTCField[datetime | None]: ...
        @overload
        def __new__(cls, *args: Any, null: Literal[False] = ..., **kwargs: Any) -> UTCField[datetime]: ...
        def __new__(cls, *args: Any, **kwargs: Any) -> Any: ...
        @overload
        def __get__(self, instance: None, owner: Any) -> UTCField[_T]: ...
        @overload
        def __get__(self, instance: object, owner: Any) -> _T: ...
        def __get__(self, instance: object, owner: Any) -> Any: ...
        def __set__(self, instance: object, value: _T) -> None: ...

    def db_value(self, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return to_micros(value)
        return int(value)

    def python_value(self, value: Any) -> datetime | None:
        return None if value is None else from_micros(int(value))


_E = TypeVar("_E", bound=StrEnum)


class EnumField(pw.CharField, Generic[_E]):
    """A state column (core/states.py): stored as the member's string, read back as the member.

    A stored string that is no member (only a database edited by hand can hold one) is read back as that
    plain string rather than failing every query that touches the row; it still compares as before."""

    def __init__(self, enum: type[_E], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.enum = enum
        self._members: dict[str, _E] = {member.value: member for member in enum}

    if TYPE_CHECKING:
        def __new__(cls, enum: type[_E], *args: Any, **kwargs: Any) -> EnumField[_E]: ...
        @overload
        def __get__(self, instance: None, owner: Any) -> EnumField[_E]: ...
        @overload
        def __get__(self, instance: object, owner: Any) -> _E: ...
        def __get__(self, instance: object, owner: Any) -> Any: ...
        def __set__(self, instance: object, value: _E) -> None: ...

    def python_value(self, value: Any) -> Any:
        # A dict lookup, not enum(value): the queue and ingest read thousands of rows per burst.
        return None if value is None else self._members.get(value, value)


class JSONField(pw.TextField):
    @overload
    def db_value(self, value: None) -> None: ...
    @overload
    def db_value(self, value: list | dict | str | int | float) -> str: ...
    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value: Any) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(pw.Model):
    # Attributes peewee adds at run time, declared for the type checker (annotations only: no class attribute
    # is created, so peewee's metaclass sees nothing new). The implicit primary key of every model but
    # Setting; each model declares the `<foreign key>_id` attributes it uses the same way. Each model's own
    # DoesNotExist (a subclass of pw.DoesNotExist).
    id: pw.AutoField[int]
    DoesNotExist: ClassVar[type[pw.DoesNotExist]]

    class Meta:
        database = database
        legacy_table_names = False


class Account(BaseModel):
    kind = pw.CharField()
    name = pw.CharField(unique=True)
    settings = JSONField(default=dict)  # never secrets: those live in the keyring
    enabled = pw.BooleanField(default=True)
    state = EnumField(AccountState, default=AccountState.NEW)
    last_error = pw.TextField(default="")
    cursor = JSONField(null=True)
    last_sync_at = UTCField(null=True)
    next_sync_at = UTCField(null=True)
    first_synced_at = UTCField(null=True)
    created_at = UTCField()


class Contact(BaseModel):
    display_name = pw.TextField(default="")
    first_name = pw.TextField(default="")
    notes = pw.TextField(default="")
    created_at = UTCField()


class Identity(BaseModel):
    contact = pw.ForeignKeyField(Contact, backref="identities", on_delete="CASCADE")
    contact_id: int
    account = pw.ForeignKeyField(Account, backref="identities", on_delete="CASCADE", index=False)
    account_id: int
    external_id = pw.CharField()
    handle = pw.TextField(default="")
    display_name = pw.TextField(default="")
    profile_url = pw.TextField(default="")
    is_self = pw.BooleanField(default=False)  # the business's own identity on this account

    class Meta:
        indexes = ((("account", "external_id"), True),)


class Conversation(BaseModel):
    account = pw.ForeignKeyField(Account, backref="conversations", on_delete="CASCADE", index=False)
    account_id: int
    external_id = pw.CharField()
    kind = pw.CharField()  # dm | comment | mention | review | email
    public = pw.BooleanField(default=False)
    subject = pw.TextField(default="")
    permalink = pw.TextField(default="")
    contact = pw.ForeignKeyField(Contact, backref="conversations", null=True, on_delete="SET NULL")
    contact_id: int | None
    contact_name = pw.TextField(default="")  # denormalised for the queue list
    status = EnumField(ConversationStatus, default=ConversationStatus.OPEN)
    snoozed_until = UTCField(null=True)
    first_inbound_at = UTCField(null=True)
    first_response_at = UTCField(null=True)
    awaiting_since = UTCField(null=True)  # oldest unanswered inbound message; None when answered
    last_inbound_at = UTCField(null=True)
    last_outbound_at = UTCField(null=True)
    last_message_at = UTCField(null=True)
    acknowledged_at = UTCField(null=True)  # last auto-reply/status: acknowledges, is not a response
    resolved_at = UTCField(null=True)
    unanswered_count = pw.IntegerField(default=0)
    rating = pw.IntegerField(null=True)
    preview = pw.TextField(default="")  # first line of the latest inbound message, truncated
    # Response-time target, computed by core/targets.py whenever the conversation changes.
    due_at = UTCField(null=True)
    due_soon_at = UTCField(null=True)
    target_minutes = pw.IntegerField(null=True)
    paused_remaining_s = pw.IntegerField(null=True)  # target time left when waiting/snoozed began
    resumed_at = UTCField(null=True)  # when a paused clock resumed with paused_remaining_s left
    notified_due_soon_at = UTCField(null=True)  # the due_at we already alerted "due soon" for
    notified_overdue_at = UTCField(null=True)  # the due_at we already alerted "overdue" for
    # Until when the platform accepts an ordinary reply (the latest window its messages opened; None: no
    # window). The deadline is the earlier of the target and this (core/conversation_clock.py).
    reply_window_ends_at = UTCField(null=True)
    # When the owner last opened it in the window: a customer message after this (and after our last
    # reply) makes the queue row "new" (core/queue.QueueRow.new). None: never opened.
    seen_at = UTCField(null=True)
    created_at = UTCField()

    class Meta:
        indexes = (
            (("account", "external_id"), True),
            (("status", "due_at"), False),
            (("status", "awaiting_since"), False),
            (("contact",), False),
            (("last_message_at",), False),
        )


class Snippet(BaseModel):
    title = pw.TextField()
    abbreviation = pw.CharField(unique=True)
    body = pw.TextField()
    tags = JSONField(default=list)
    channels = JSONField(default=list)  # empty = suits every channel
    favorite_slot = pw.IntegerField(null=True, unique=True)  # 1..9
    use_count = pw.IntegerField(default=0)
    last_used_at = UTCField(null=True)
    created_at = UTCField()
    updated_at = UTCField()


class Message(BaseModel):
    conversation = pw.ForeignKeyField(Conversation, backref="messages", on_delete="CASCADE", index=False)
    conversation_id: int
    account = pw.ForeignKeyField(Account, on_delete="CASCADE", index=False)
    account_id: int
    external_id = pw.CharField()
    direction = EnumField(Direction)
    author = pw.ForeignKeyField(Identity, null=True, on_delete="SET NULL")
    author_id: int | None
    text = pw.TextField()
    created_at = UTCField()
    via = EnumField(Via, default=Via.MANUAL)
    snippet = pw.ForeignKeyField(Snippet, null=True, on_delete="SET NULL", index=False)  # partial: _INDEX_SQL
    snippet_id: int | None
    edited_after_snippet = pw.BooleanField(default=False)
    meta = JSONField(default=dict)
    rating = pw.IntegerField(null=True)  # the stars this message gave (reviews), as last delivered
    edited_at = UTCField(null=True)  # when the current text was made by an edit; older ones: MessageRevision
    deleted_at = UTCField(null=True)  # when the platform reported it deleted (the text is kept, shown greyed)
    # When this customer message began awaiting an answer, where that is not created_at (None): an edit
    # made it await again, or it answers our message but is stamped before it (queue.unanswered_runs).
    awaiting_from = UTCField(null=True)

    class Meta:
        indexes = (
            (("account", "external_id"), True),
            (("conversation", "created_at"), False),
        )


class MessageRevision(BaseModel):
    """An earlier version of an edited message, kept so the thread shows what changed."""

    message = pw.ForeignKeyField(Message, backref="revisions", on_delete="CASCADE")
    message_id: int
    text = pw.TextField()
    rating = pw.IntegerField(null=True)
    made_at = UTCField()  # when this version was made (the message's created_at, or an earlier edit)
    replaced_at = UTCField()  # when socialdesk stored the version that replaced it


class Outbox(BaseModel):
    account = pw.ForeignKeyField(Account, on_delete="CASCADE")
    account_id: int
    conversation = pw.ForeignKeyField(Conversation, null=True, on_delete="SET NULL")
    conversation_id: int | None
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    contact_id: int | None
    purpose = EnumField(OutboxPurpose)
    text = pw.TextField()
    idempotency_key = pw.CharField(unique=True)
    state = EnumField(OutboxState, default=OutboxState.PENDING, index=True)
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(default="")
    reason = pw.TextField(default="")  # why it was queued (shown in the Activity view)
    via = EnumField(Via, default=Via.MANUAL)
    snippet = pw.ForeignKeyField(Snippet, null=True, on_delete="SET NULL")
    snippet_id: int | None
    edited_after_snippet = pw.BooleanField(default=False)
    mark_done = pw.BooleanField(default=False)
    created_at = UTCField()
    next_attempt_at = UTCField(null=True)
    sent_at = UTCField(null=True)
    external_id = pw.TextField(default="")


class AutoReplyLedger(BaseModel):
    contact = pw.ForeignKeyField(Contact, on_delete="CASCADE")
    contact_id: int
    closed_period_key = pw.CharField()
    outbox = pw.ForeignKeyField(Outbox, null=True, on_delete="SET NULL")
    outbox_id: int | None
    created_at = UTCField()

    class Meta:
        indexes = ((("contact", "closed_period_key"), True),)


class Activity(BaseModel):
    """What automation and the sync engine did or decided not to do (the Activity view)."""

    created_at = UTCField(index=True)
    kind = pw.CharField()  # auto_reply | status_post | skipped | sync | error
    account = pw.ForeignKeyField(Account, null=True, on_delete="SET NULL")
    account_id: int | None
    conversation = pw.ForeignKeyField(Conversation, null=True, on_delete="SET NULL")
    conversation_id: int | None
    outbox = pw.ForeignKeyField(Outbox, null=True, on_delete="SET NULL")
    outbox_id: int | None
    text = pw.TextField()


class Usage(BaseModel):
    """Units an account spent where its platform bills or rations calls (core/usage.py): one row per
    day (in the platform's zone, ISO date) and bucket ("owned_read", "post_create", ...)."""

    account = pw.ForeignKeyField(Account, on_delete="CASCADE", index=False)
    account_id: int
    day = pw.CharField()
    bucket = pw.CharField()
    units = pw.BigIntegerField(default=0)

    class Meta:
        indexes = ((("account", "day", "bucket"), True),)


class Draft(BaseModel):
    """The reply the owner is writing in a conversation, kept across restarts (core/drafts.py)."""

    conversation = pw.ForeignKeyField(Conversation, primary_key=True, on_delete="CASCADE")
    conversation_id: int
    text = pw.TextField()
    updated_at = UTCField()


class Setting(BaseModel):
    key = pw.CharField(primary_key=True)
    value = JSONField()


MODELS = [
    Account,
    Contact,
    Identity,
    Conversation,
    Snippet,
    Message,
    MessageRevision,
    Outbox,
    AutoReplyLedger,
    Activity,
    Usage,
    Draft,
    Setting,
]

_FTS_SQL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5("
    "text, content='message', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS message_fts_ai AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS message_fts_ad AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS message_fts_au AFTER UPDATE OF text ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE VIRTUAL TABLE IF NOT EXISTS contact_fts USING fts5("
    "display_name, content='contact', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS contact_fts_ai AFTER INSERT ON contact BEGIN "
    "INSERT INTO contact_fts(rowid, display_name) VALUES (new.id, new.display_name); END",
    "CREATE TRIGGER IF NOT EXISTS contact_fts_ad AFTER DELETE ON contact BEGIN "
    "INSERT INTO contact_fts(contact_fts, rowid, display_name) VALUES ('delete', old.id, old.display_name); END",
    "CREATE TRIGGER IF NOT EXISTS contact_fts_au AFTER UPDATE OF display_name ON contact BEGIN "
    "INSERT INTO contact_fts(contact_fts, rowid, display_name) VALUES ('delete', old.id, old.display_name); "
    "INSERT INTO contact_fts(rowid, display_name) VALUES (new.id, new.display_name); END",
    "CREATE VIRTUAL TABLE IF NOT EXISTS snippet_fts USING fts5("
    "title, abbreviation, body, content='snippet', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS snippet_fts_ai AFTER INSERT ON snippet BEGIN "
    "INSERT INTO snippet_fts(rowid, title, abbreviation, body) VALUES (new.id, new.title, new.abbreviation, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS snippet_fts_ad AFTER DELETE ON snippet BEGIN "
    "INSERT INTO snippet_fts(snippet_fts, rowid, title, abbreviation, body) "
    "VALUES ('delete', old.id, old.title, old.abbreviation, old.body); END",
    "CREATE TRIGGER IF NOT EXISTS snippet_fts_au AFTER UPDATE OF title, abbreviation, body ON snippet BEGIN "
    "INSERT INTO snippet_fts(snippet_fts, rowid, title, abbreviation, body) "
    "VALUES ('delete', old.id, old.title, old.abbreviation, old.body); "
    "INSERT INTO snippet_fts(rowid, title, abbreviation, body) VALUES (new.id, new.title, new.abbreviation, new.body); END",
]

# Indexes peewee cannot declare (partial ones); created with the tables and by the migration to 2.
_INDEX_SQL = [
    'CREATE INDEX IF NOT EXISTS "message_snippet_id" ON "message" ("snippet_id") WHERE "snippet_id" IS NOT NULL',
]


def _migrate_1_to_2(db: pw.SqliteDatabase) -> None:
    """Drop indexes that a composite index covers or no query uses; make message.snippet's partial."""
    for name in (
        "message_conversation_id",
        "message_account_id",
        "conversation_account_id",
        "identity_account_id",
        "conversation_due_at",
        "message_snippet_id",
    ):
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    for sql in _INDEX_SQL:
        db.execute_sql(sql)


def _migrate_2_to_3(db: pw.SqliteDatabase) -> None:
    """Edits, deletions and reply windows: new nullable columns (NULL means "never edited", "not
    deleted", "no window", so existing rows need no rewrite) and the revision table."""
    for table, column in (
        ("message", "rating"),
        ("message", "edited_at"),
        ("message", "deleted_at"),
        ("message", "awaiting_from"),
        ("conversation", "reply_window_ends_at"),
    ):
        if column not in {c.name for c in db.get_columns(table)}:  # a migration may be run again
            db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" INTEGER')
    db.create_tables([MessageRevision])


def _migrate_3_to_4(db: pw.SqliteDatabase) -> None:
    """The usage meter: a new table, nothing else changes."""
    db.create_tables([Usage])


def _migrate_4_to_5(db: pw.SqliteDatabase) -> None:
    """Drafts: a new table, nothing else changes."""
    db.create_tables([Draft])


def _migrate_5_to_6(db: pw.SqliteDatabase) -> None:
    """When the owner last opened a conversation: what is in the file already counts as seen (an upgrade
    must not make every old conversation "new"), what arrives afterwards is new until opened."""
    if "seen_at" not in {c.name for c in db.get_columns("conversation")}:  # a migration may be run again
        db.execute_sql('ALTER TABLE "conversation" ADD COLUMN "seen_at" INTEGER')
        db.execute_sql('UPDATE "conversation" SET "seen_at" = "last_message_at"')


# version -> function migrating a database at that version to version + 1.
MIGRATIONS: dict[int, Any] = {1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4, 4: _migrate_4_to_5,
                              5: _migrate_5_to_6}

_SQLITE_MAGIC = b"SQLite format 3\x00"


def _inspect(path: Path, *, verify: bool = True) -> int:
    """Return the schema version of an existing file, without writing to it. With `verify`, every page is
    checked too (PRAGMA quick_check, which reads the whole file: ~0.1 s per 100,000 messages)."""
    with open(path, "rb") as fh:
        header = fh.read(16)
    if header and header != _SQLITE_MAGIC:
        raise StoreCorruptError(
            f"{path} is not a socialdesk database (it may be damaged). It was left untouched; "
            "move it away or restore a backup from the 'backups' folder next to it."
        )
    if not header:
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if verify:
                _quick_check(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        problem = storage_problem(exc, path)
        if problem:
            raise StoreError(problem) from None
        raise StoreCorruptError(_damaged(path, exc)) from None
    # Before application_id: our tables, or an empty file; a version beyond ours is "too new" (Store.open).
    ours = app_id == APPLICATION_ID or (
        app_id == 0 and (_OUR_TABLES <= tables or (version == 0 and not tables) or version > SCHEMA_VERSION)
    )
    if not ours or version < 0:
        raise StoreForeignError(
            f"{path} is a database of another program, not socialdesk's. It was left untouched; move it "
            "away (socialdesk then starts a new one) or use another --profile."
        )
    return int(version)


def _quick_check(conn: sqlite3.Connection) -> None:
    if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
        raise sqlite3.DatabaseError("quick_check failed")


def _damaged(path: Path, exc: BaseException) -> str:
    return (f"{path} is damaged ({exc}). It was left untouched; restore a backup from the 'backups' "
            "folder next to it, or move it away to start fresh.")


# sqlite3 primary result codes (extended codes keep them in the low byte) and errno values that mean
# "the disk is full" or "this place cannot be written", wherever they surface.
_FULL_CODES = {13}  # SQLITE_FULL
_READONLY_CODES = {3, 8, 14}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_CANTOPEN
_IOERR_CODES = {10}  # SQLITE_IOERR
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READONLY_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


def storage_problem(exc: BaseException, where: Path | str | None = None) -> str | None:
    """One line for the owner if `exc` (or what it hides) is a full disk, a place socialdesk may not
    write, or a failing disk; None for anything else. `where`: the file or folder concerned."""
    # causes(): the sqlite3 error peewee wraps as its first argument too ("cannot rollback" after a
    # failed commit hides the real error there).
    for error in causes(exc):
        code = getattr(error, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        text = str(error).lower()
        number = error.errno if isinstance(error, OSError) else None
        place = (error.filename if isinstance(error, OSError) and error.filename else None) or where
        at = f" to {place}" if place else ""
        if number in (errno.EISDIR, errno.ENOTDIR):
            return (f"socialdesk cannot use {place or 'its database'}: a folder stands where its database file "
                    "belongs (or a file where a folder belongs). Move it away, or use another --profile.")
        if primary in _FULL_CODES or number in _FULL_ERRNOS or "database or disk is full" in text:
            return (f"The disk is full: socialdesk could not write{at}. Free some space and try again; "
                    "what was saved before is intact.")
        if (primary in _READONLY_CODES or number in _READONLY_ERRNOS or "readonly database" in text
                or "unable to open database file" in text):
            return (f"socialdesk cannot write{at}: the folder or file is read-only or belongs to another "
                    "user. Make it writable, or use another --profile.")
        if primary in _IOERR_CODES or "disk i/o error" in text:
            if _nearly_full(place):  # SQLite reports a full disk as an I/O error when its -shm file cannot grow
                return (f"The disk is full: socialdesk could not write{at}. Free some space and try again; "
                        "what was saved before is intact.")
            return f"The disk reported an error: socialdesk could not read or write{at}."
    return None


def _nearly_full(place: Path | str | None) -> bool:
    """True if the file system holding `place` (or its nearest existing parent) has under 1 MiB free."""
    if place is None:
        return False
    path = Path(place)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free < 1024 * 1024
    except OSError:
        return False


def _backup(path: Path, backups: Path, version: int) -> Path:
    backups.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = backups / f"socialdesk-v{version}-{stamp}.sqlite3"
    src = sqlite3.connect(str(path))
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


class Store:
    """An open profile database. Create with `Store.open(path)`; one per process."""

    def __init__(self, db: pw.SqliteDatabase, path: Path):
        self.db = db
        self.path = path
        self._write_lock = threading.RLock()
        self.checkpointer = Checkpointer(path)

    @classmethod
    def open(cls, path: Path | str, backups: Path | None = None, *, verify: bool = True) -> "Store":
        """Open (create, migrate) the database; StoreError with one owner-readable line if it cannot.

        `verify=False` leaves out the check of every page when no migration is due (the header, the
        owner and the version are still checked): the window opens that way, so its first paint does not
        wait for a read of the whole file, and calls `verify()` on a worker thread before anything syncs."""
        path = Path(path)
        try:
            return cls._open(path, backups, verify)
        except (OSError, sqlite3.Error, pw.PeeweeException) as exc:
            problem = storage_problem(exc, path.parent)
            if problem is None:
                raise
            raise StoreError(problem) from None

    @classmethod
    def _open(cls, path: Path, backups: Path | None, verify: bool) -> "Store":
        existing = path.exists() and path.stat().st_size > 0
        version = _inspect(path, verify=verify) if existing else 0
        if existing and not verify and version != SCHEMA_VERSION:
            version = _inspect(path)  # a migration writes: every page is checked before it
        if version > SCHEMA_VERSION:
            raise StoreTooNewError(
                f"{path} was written by a newer socialdesk (schema {version}, this version reads up to "
                f"{SCHEMA_VERSION}). Update socialdesk; the file was left untouched."
            )
        if existing and 0 < version < SCHEMA_VERSION:
            _backup(path, backups or path.parent / "backups", version)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = pw.SqliteDatabase(
            str(path),
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                "synchronous": "normal",
                "busy_timeout": 10_000,
                "cache_size": -16_000,
                # Checkpoints run on a background thread (core/checkpoint.py); the writer's own
                # automatic checkpoint is only the backstop, at ~64 MB of WAL. After a checkpoint the
                # WAL file is cut back to 16 MB, so a burst does not leave a large file behind.
                "wal_autocheckpoint": 16_000,
                "journal_size_limit": 16 * 1024 * 1024,
            },
            check_same_thread=False,
        )
        database.initialize(db)
        try:
            db.connect(reuse_if_open=True)
            store = cls(db, path)
            store._migrate(version)
        except BaseException:
            db.close()
            raise
        return store

    def verify(self) -> str | None:
        """Check every page of the file (PRAGMA quick_check on a read-only connection of its own, so it
        runs beside the writer); None if it is sound, else one owner-readable line saying what to do."""
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                _quick_check(conn)
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            return storage_problem(exc, self.path) or _damaged(self.path, exc)
        return None

    def _migrate(self, version: int) -> None:
        if version == SCHEMA_VERSION:
            return  # nothing to write (read-only commands open the store too, beside a running writer)
        with self.write():
            self.db.execute_sql(f"PRAGMA application_id = {APPLICATION_ID}")  # older files get it too
            if version == 0:
                self.db.create_tables(MODELS)
                for sql in _FTS_SQL + _INDEX_SQL:
                    self.db.execute_sql(sql)
                version = SCHEMA_VERSION
            while version < SCHEMA_VERSION:
                MIGRATIONS[version](self.db)
                version += 1
            self.db.execute_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def write(self) -> Iterator[None]:
        """The one write lane: a process-wide lock around a short transaction."""
        with self._write_lock:
            with self.db.atomic():
                yield
        self.checkpointer.notify()

    def close(self) -> None:
        self.checkpointer.stop()
        if not self.db.is_closed():
            try:
                self.db.execute_sql("PRAGMA optimize")
            except pw.OperationalError:
                pass
            self.db.close()

    # --- settings: raw JSON values; declared keys and defaults live in core/settings.py ---
    def get_setting(self, key: str, default: Any = None) -> Any:
        row = Setting.get_or_none(Setting.key == key)
        return default if row is None else row.value

    def set_setting(self, key: str, value: Any) -> None:
        with self.write():
            Setting.insert(key=key, value=value).on_conflict_replace().execute()

