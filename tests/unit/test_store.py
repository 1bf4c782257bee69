"""Tests for core/store.py: schema, versions (too new, corrupt, backup before migrating), UTCField, FTS triggers."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.core import store as store_mod
from socialdesk.core.store import (
    SCHEMA_VERSION,
    Account,
    Contact,
    Conversation,
    Message,
    MessageRevision,
    Store,
    StoreCorruptError,
    StoreTooNewError,
)

NOW = datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=timezone.utc)


def _tables(db) -> set[str]:
    return {r[0] for r in db.execute_sql("SELECT name FROM sqlite_master WHERE type IN ('table','trigger')")}


def test_fresh_store_has_schema_wal_and_version(store):
    names = _tables(store.db)
    for expected in ("account", "contact", "identity", "conversation", "message", "outbox", "setting",
                     "message_fts", "contact_fts", "snippet_fts", "message_fts_ai", "contact_fts_au"):
        assert expected in names
    assert store.db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute_sql("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


def test_reopening_keeps_data(tmp_path):
    path = tmp_path / "db.sqlite3"
    s = Store.open(path)
    s.set_setting("business.name", "Juniper")
    s.close()
    s = Store.open(path)
    try:
        assert s.get_setting("business.name") == "Juniper"
        assert s.get_setting("missing", "dflt") == "dflt"
        assert not (tmp_path / "backups").exists()  # same version: nothing to back up
    finally:
        s.close()


def test_newer_schema_is_refused_and_file_untouched(tmp_path):
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreTooNewError) as info:
        Store.open(path)
    assert "newer socialdesk" in str(info.value)
    assert path.read_bytes() == before


def test_corrupt_file_is_refused_and_untouched(tmp_path):
    path = tmp_path / "db.sqlite3"
    path.write_bytes(os.urandom(8192))
    before = path.read_bytes()
    with pytest.raises(StoreCorruptError) as info:
        Store.open(path)
    assert "left untouched" in str(info.value)
    assert path.read_bytes() == before


def test_damaged_sqlite_file_is_refused_and_untouched(tmp_path):
    """A valid header followed by garbage: the check must go beyond the magic bytes."""
    path = tmp_path / "db.sqlite3"
    s = Store.open(path)
    s.close()
    good = path.read_bytes()
    damaged = good[:100] + os.urandom(len(good) - 100)
    path.write_bytes(damaged)
    with pytest.raises(StoreCorruptError):
        Store.open(path)
    assert path.read_bytes() == damaged


def test_older_schema_is_backed_up_then_migrated(tmp_path, monkeypatch):
    path = tmp_path / "db.sqlite3"
    s = Store.open(path)
    s.set_setting("business.name", "Before migration")
    s.close()
    old_version = SCHEMA_VERSION
    ran: list[int] = []

    def migrate(db) -> None:
        ran.append(1)
        db.execute_sql("CREATE TABLE added_by_migration (x INTEGER)")

    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", old_version + 1)
    monkeypatch.setitem(store_mod.MIGRATIONS, old_version, migrate)
    s = Store.open(path)
    try:
        assert ran == [1]
        assert "added_by_migration" in _tables(s.db)
        assert s.db.execute_sql("PRAGMA user_version").fetchone()[0] == old_version + 1
        assert s.get_setting("business.name") == "Before migration"
    finally:
        s.close()
    backups = list((tmp_path / "backups").glob("*.sqlite3"))
    assert len(backups) == 1
    assert f"-v{old_version}-" in backups[0].name
    conn = sqlite3.connect(backups[0])
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == old_version
        assert conn.execute("SELECT value FROM setting WHERE key='business.name'").fetchone()[0] == '"Before migration"'
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "added_by_migration" not in names
    finally:
        conn.close()


def test_utc_field_round_trip_keeps_microseconds_and_zone(store):
    local = datetime(2026, 3, 29, 2, 30, 15, 987654, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    with store.write():
        a = Account.create(kind="demo", name="A", created_at=local, last_sync_at=NOW)
    back = Account.get_by_id(a.id)
    assert back.created_at == local
    assert back.created_at.tzinfo == timezone.utc
    assert back.created_at.microsecond == 987654
    assert back.last_sync_at == NOW
    assert back.next_sync_at is None
    # Ordering in SQL is numeric: an earlier instant sorts first regardless of its zone.
    raw = store.db.execute_sql("SELECT created_at FROM account WHERE id=?", (a.id,)).fetchone()[0]
    assert raw == store_mod.to_micros(local)
    assert store_mod.from_micros(raw) == local


def test_naive_datetime_is_rejected(store):
    with pytest.raises(ValueError, match="naive"):
        with store.write():
            Account.create(kind="demo", name="B", created_at=datetime(2026, 1, 1, 12, 0))
    assert Account.select().count() == 0


def _fts(store, table: str, query: str) -> list[int]:
    return [r[0] for r in store.db.execute_sql(f"SELECT rowid FROM {table} WHERE {table} MATCH ?", (query,))]


def test_fts_triggers_follow_insert_update_delete(store):
    with store.write():
        acc = Account.create(kind="demo", name="A", created_at=NOW)
        contact = Contact.create(display_name="Léa Martin", created_at=NOW)
        conv = Conversation.create(account=acc, external_id="c1", kind="dm", created_at=NOW, contact=contact)
        msg = Message.create(conversation=conv, account=acc, external_id="m1", direction="in",
                             text="Do you bake sourdough on Sundays?", created_at=NOW)
    assert _fts(store, "message_fts", "sourdough") == [msg.id]
    assert _fts(store, "contact_fts", "lea") == [contact.id]  # diacritics removed
    with store.write():
        Message.update(text="Any rye today?").where(Message.id == msg.id).execute()
        Contact.update(display_name="Lea Dubois").where(Contact.id == contact.id).execute()
    assert _fts(store, "message_fts", "sourdough") == []
    assert _fts(store, "message_fts", "rye") == [msg.id]
    assert _fts(store, "contact_fts", "martin") == []
    assert _fts(store, "contact_fts", "dubois") == [contact.id]
    with store.write():
        Message.delete_by_id(msg.id)
        Contact.delete_by_id(contact.id)
    assert _fts(store, "message_fts", "rye") == []
    assert _fts(store, "contact_fts", "dubois") == []


def test_write_lane_rolls_back_on_error(store):
    with pytest.raises(RuntimeError):
        with store.write():
            Account.create(kind="demo", name="A", created_at=NOW)
            raise RuntimeError("boom")
    assert Account.select().count() == 0


_V1_ONLY_INDEXES = [
    'CREATE INDEX "message_conversation_id" ON "message" ("conversation_id")',
    'CREATE INDEX "message_account_id" ON "message" ("account_id")',
    'CREATE INDEX "conversation_account_id" ON "conversation" ("account_id")',
    'CREATE INDEX "identity_account_id" ON "identity" ("account_id")',
    'CREATE INDEX "conversation_due_at" ON "conversation" ("due_at")',
]


def _indexes(db) -> dict[str, str]:
    return {
        name: sql
        for name, sql in db.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
    }


def test_schema_1_file_migrates_to_the_same_indexes_as_a_new_file(tmp_path):
    """A real version-1 file (the indexes it had) ends with exactly a fresh file's indexes, data kept."""
    fresh = Store.open(tmp_path / "fresh.sqlite3")
    expected = _indexes(fresh.db)
    fresh.close()
    assert "message_conversation_id" not in expected
    assert "WHERE" in expected["message_snippet_id"]

    path = tmp_path / "old.sqlite3"
    s = Store.open(path)
    s.set_setting("business.name", "Kept")
    s.close()
    conn = sqlite3.connect(path)
    conn.execute('DROP INDEX "message_snippet_id"')
    conn.execute('CREATE INDEX "message_snippet_id" ON "message" ("snippet_id")')
    for sql in _V1_ONLY_INDEXES:
        conn.execute(sql)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()

    s = Store.open(path)
    try:
        assert _indexes(s.db) == expected
        assert s.db.execute_sql("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
        assert s.get_setting("business.name") == "Kept"
    finally:
        s.close()
    assert [p.name for p in (tmp_path / "backups").glob("*.sqlite3") if "-v1-" in p.name]


def test_queries_still_use_indexes_after_the_drops(store):
    """The dropped single-column indexes are covered: the queue, account deletes and thread reads stay
    index lookups, not table scans."""
    plans = {
        "queue": "SELECT id FROM conversation WHERE status = 'open' AND due_at <= 5",
        "thread": "SELECT id FROM message WHERE conversation_id = 1 ORDER BY created_at",
        "account messages": "SELECT id FROM message WHERE account_id = 1",
        "account conversations": "SELECT id FROM conversation WHERE account_id = 1",
        "account identities": "SELECT id FROM identity WHERE account_id = 1",
        "snippet uses": "SELECT id FROM message WHERE snippet_id = 3",
    }
    for what, sql in plans.items():
        plan = " ".join(row[-1] for row in store.db.execute_sql("EXPLAIN QUERY PLAN " + sql).fetchall())
        assert "USING" in plan and "INDEX" in plan, (what, plan)


# --- issue 12 item 14: files that are not ours, and what a full or read-only disk raises ------------------


def _foreign_db(path, *, user_version: int = 0, application_id: int = 0, tables=("notes",)) -> bytes:
    conn = sqlite3.connect(path)
    for table in tables:
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute(f"INSERT INTO {table} (body) VALUES ('the other program''s data')")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.execute(f"PRAGMA application_id = {application_id}")
    conn.commit()
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["other tables", "negative version", "other application id"])
def test_a_database_that_is_not_ours_is_refused_and_untouched(tmp_path, kind):
    folder = tmp_path / "profile"
    folder.mkdir()
    path = folder / "db.sqlite3"
    if kind == "other tables":
        before = _foreign_db(path)
    elif kind == "negative version":  # used to be "unexpected error (KeyError: -1)"
        before = _foreign_db(path, user_version=-1, tables=())
    else:  # another program's file format, even with tables named like ours
        before = _foreign_db(path, user_version=1, application_id=0x12345678, tables=("account", "conversation", "message"))
    with pytest.raises(store_mod.StoreForeignError) as info:
        Store.open(path)
    assert "another program" in str(info.value) and "left untouched" in str(info.value)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["db.sqlite3"]  # no -wal, -shm or backup either


def test_new_databases_carry_our_application_id_and_older_ones_still_open(tmp_path, store):
    assert store.db.execute_sql("PRAGMA application_id").fetchone()[0] == store_mod.APPLICATION_ID
    store.close()
    # A database made before application_id existed: ours by its tables; it is not marked by a read.
    path = tmp_path / "old.sqlite3"
    s = Store.open(path)
    s.db.execute_sql("PRAGMA application_id = 0")
    s.close()
    s = Store.open(path)
    try:
        assert s.db.execute_sql("PRAGMA application_id").fetchone()[0] == 0
        assert s.get_setting("missing", 1) == 1
    finally:
        s.close()


def test_storage_problem_sees_a_full_disk_behind_peewee_cannot_rollback(tmp_path):
    """A real SQLITE_FULL (max_page_count reached): SQLite rolls the transaction back itself, so what
    reaches the caller is peewee's "cannot rollback - no transaction is active", the full disk behind."""
    s = Store.open(tmp_path / "db.sqlite3")
    try:
        pages = s.db.execute_sql("PRAGMA page_count").fetchone()[0]
        s.db.execute_sql(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(Exception) as info:
            with s.write():
                for i in range(200):
                    store_mod.Setting.insert(key=f"k{i}", value="x" * 5000).execute()
        assert "cannot rollback" in str(info.value)  # the misleading error the owner used to see
        message = store_mod.storage_problem(info.value, tmp_path)
        assert message is not None and message.startswith("The disk is full") and str(tmp_path) in message
        assert "rollback" not in message and "\n" not in message
    finally:
        s.close()


def test_storage_problem_names_read_only_places_and_ignores_other_errors(tmp_path):
    denied = PermissionError(13, "Permission denied", str(tmp_path / "socialdesk.lock"))
    assert "cannot write to " + str(tmp_path / "socialdesk.lock") in store_mod.storage_problem(denied)
    readonly = sqlite3.OperationalError("attempt to write a readonly database")
    assert "read-only" in store_mod.storage_problem(readonly, tmp_path)
    assert store_mod.storage_problem(ValueError("no")) is None
    assert store_mod.storage_problem(sqlite3.IntegrityError("UNIQUE constraint failed")) is None


# --- issue 13 item 4: schema 3, edits, deletions and reply windows ---------------------------------------------

_SCHEMA_3_COLUMNS = {"message": ("rating", "edited_at", "deleted_at", "awaiting_from"),
                     "conversation": ("reply_window_ends_at",)}


def _columns(db) -> dict[str, list[tuple]]:
    tables = [r[0] for r in db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchall()]
    return {t: sorted(db.execute_sql(f'PRAGMA table_info("{t}")').fetchall(), key=lambda c: c[1]) for t in tables}


def test_schema_2_file_is_backed_up_and_gains_edits_deletions_and_windows(tmp_path):
    """A version-2 file (no revision table, none of the new columns) ends with a fresh file's tables and
    columns; its rows are kept and need no rewrite (NULL: never edited, not deleted, no window)."""
    fresh = Store.open(tmp_path / "fresh.sqlite3")
    expected = {t: [c[1:] for c in cols] for t, cols in _columns(fresh.db).items()}  # without positions
    fresh.close()

    path = tmp_path / "old.sqlite3"
    s = Store.open(path)
    with s.write():
        account = Account.create(kind="demo", name="Demo", created_at=NOW)
        conv = Conversation.create(account=account, external_id="c1", kind="review", created_at=NOW)
        Message.create(conversation=conv, account=account, external_id="m1", direction="in", text="Lovely",
                       created_at=NOW)
    s.close()
    conn = sqlite3.connect(path)
    conn.execute('DROP TABLE "message_revision"')
    for table, columns in _SCHEMA_3_COLUMNS.items():
        for column in columns:
            conn.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()

    s = Store.open(path)
    try:
        assert s.db.execute_sql("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
        assert {t: [c[1:] for c in cols] for t, cols in _columns(s.db).items()} == expected
        kept = Message.get(Message.external_id == "m1")
        assert (kept.text, kept.rating, kept.edited_at, kept.deleted_at, kept.awaiting_from) == ("Lovely", None, None,
                                                                                                None, None)
        assert Conversation.get().reply_window_ends_at is None
        assert MessageRevision.select().count() == 0
    finally:
        s.close()
    assert [p.name for p in (tmp_path / "backups").glob("*.sqlite3") if "-v2-" in p.name]


def test_schema_3_file_is_backed_up_and_gains_the_usage_table(tmp_path):
    """A version-3 file (before the usage meter) gains the `usage` table; its rows are kept."""
    path = tmp_path / "old.sqlite3"
    s = Store.open(path)
    s.set_setting("business.name", "Kept")
    s.close()
    conn = sqlite3.connect(path)
    conn.execute('DROP TABLE "usage"')
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()

    s = Store.open(path)
    try:
        assert s.db.execute_sql("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
        assert "usage" in s.db.get_tables()
        assert s.get_setting("business.name") == "Kept"
    finally:
        s.close()
    assert [p.name for p in (tmp_path / "backups").glob("*.sqlite3") if "-v3-" in p.name]


def test_schema_5_file_gains_seen_at_and_its_conversations_count_as_seen(tmp_path):
    """Issue 17 item 7: a version-5 file gains conversation.seen_at, set to each conversation's last
    message so that an upgrade does not show every old conversation as new."""
    path = tmp_path / "old.sqlite3"
    s = Store.open(path)
    with s.write():
        account = Account.create(kind="demo", name="Demo", created_at=NOW)
        Conversation.create(account=account, external_id="c1", kind="dm", created_at=NOW, last_message_at=NOW,
                            last_inbound_at=NOW)
    s.close()
    conn = sqlite3.connect(path)
    conn.execute('ALTER TABLE "conversation" DROP COLUMN "seen_at"')
    conn.execute("PRAGMA user_version = 5")
    conn.commit()
    conn.close()

    s = Store.open(path)
    try:
        assert s.db.execute_sql("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
        assert Conversation.get().seen_at == NOW
    finally:
        s.close()
    assert [p.name for p in (tmp_path / "backups").glob("*.sqlite3") if "-v5-" in p.name]


def write_too_new_database(path, table: str = "conversation") -> bytes:
    """A database file as a newer socialdesk leaves it (schema version one past ours); its bytes."""
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE {table} (id INTEGER)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    return path.read_bytes()


def damage_a_data_page(path) -> bytes:
    """A sound first page (header, schema) over a damaged page of message rows."""
    s = Store.open(path)
    with s.db.atomic():
        s.db.execute_sql("CREATE TABLE filler (x TEXT)")
        for i in range(400):
            s.db.execute_sql("INSERT INTO filler VALUES (?)", (f"row {i} " * 20,))
    s.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    data = bytearray(path.read_bytes())
    page = 4096
    last = len(data) // page - 1
    data[last * page: last * page + 200] = b"\xff" * 200  # a b-tree page header turned to garbage
    path.write_bytes(bytes(data))
    return bytes(data)


def test_open_without_verify_leaves_the_page_check_to_verify(tmp_path):
    """The window opens the file without reading every page (its first paint would wait for it) and
    verifies it on a worker before anything syncs: the damage is found there, said the same way."""
    path = tmp_path / "db.sqlite3"
    damaged = damage_a_data_page(path)
    with pytest.raises(StoreCorruptError):
        Store.open(path)
    store = Store.open(path, verify=False)
    try:
        problem = store.verify()
    finally:
        store.close()
    assert problem is not None and "is damaged" in problem and "backups" in problem
    assert path.read_bytes() == damaged


def test_verify_of_a_sound_file_says_nothing(tmp_path):
    store = Store.open(tmp_path / "db.sqlite3", verify=False)
    try:
        assert store.verify() is None
    finally:
        store.close()
