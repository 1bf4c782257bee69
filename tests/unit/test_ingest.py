"""Tests for core/ingest.py: atomic cursor, dedupe, threading, contacts, repeat counts, validation, hostile text."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import ingest as ingest_mod
from socialdesk.core import queue
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Account, Contact, Conversation, Identity, Message, to_micros
from socialdesk.core.targets import TargetConfig

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
POLICY = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))


def item(ext: str, conv: str = "c1", *, minutes: float = 0, author: str = "u1", name: str = "Léa Martin",
         text: str = "hello", kind: str = "dm", **kw) -> InboundItem:
    return InboundItem(
        external_id=ext,
        conversation_external_id=conv,
        kind=kind,
        public=kw.pop("public", False),
        author=Author(author, handle=author, display_name=name),
        text=text,
        created_at=kw.pop("created_at", T0 + timedelta(minutes=minutes)),
        **kw,
    )


@pytest.fixture
def account(store):
    with store.write():
        return Account.create(kind="demo", name="Demo", settings={"channel": "instagram"}, created_at=T0)


def run(store, account, items, cursor=None, now=None):
    return ingest_mod.ingest(store, account.id, items, cursor, POLICY, now or T0 + timedelta(minutes=30))


def test_new_items_and_cursor_are_stored(store, account):
    result = run(store, account, [item("m1"), item("m2", minutes=1)], cursor={"seq": 2})
    assert len(result.new_message_ids) == 2
    assert len(result.new_inbound) == 2
    assert Message.select().count() == 2
    acc = Account.get_by_id(account.id)
    assert acc.cursor == {"seq": 2}
    assert acc.last_sync_at == T0 + timedelta(minutes=30)
    assert acc.first_synced_at == T0 + timedelta(minutes=30)
    conv = Conversation.get()
    assert conv.status == "open"
    assert conv.awaiting_since == T0
    assert conv.due_at == T0 + timedelta(minutes=60)  # a DM's default 1 h target, always open
    assert conv.target_minutes == 60
    assert conv.contact_name == "Léa Martin"
    assert conv.last_message_at == T0 + timedelta(minutes=1)


def test_failure_mid_ingest_commits_neither_messages_nor_cursor(store, account, monkeypatch):
    run(store, account, [item("m0")], cursor={"seq": 1})

    def boom(*args, **kwargs):
        raise RuntimeError("crash after inserting messages")

    monkeypatch.setattr(ingest_mod, "_apply_conversation_updates", boom)
    with pytest.raises(RuntimeError):
        run(store, account, [item("m1", minutes=1), item("m2", "c2", author="u2", minutes=2)], cursor={"seq": 3})
    assert [m.external_id for m in Message.select()] == ["m0"]
    assert Conversation.select().count() == 1
    assert Identity.select().count() == 1
    assert Account.get_by_id(account.id).cursor == {"seq": 1}


def test_dedupe_within_and_across_batches(store, account):
    first = run(store, account, [item("m1"), item("m1"), item("m2", minutes=1)])
    assert first.duplicates == 1
    second = run(store, account, [item("m2", minutes=1), item("m3", minutes=2)])
    assert second.duplicates == 1
    assert len(second.new_message_ids) == 1
    assert sorted(m.external_id for m in Message.select()) == ["m1", "m2", "m3"]
    assert Conversation.get().unanswered_count == 3


def test_same_external_id_on_another_account_is_not_a_duplicate(store, account):
    with store.write():
        other = Account.create(kind="demo", name="Other", created_at=T0)
    run(store, account, [item("m1")])
    result = run(store, other, [item("m1")])
    assert result.duplicates == 0
    assert Message.select().count() == 2


def test_email_threading_follows_in_reply_to(store, account):
    run(store, account, [item("<a@x>", "thread-a", kind="email", subject="Cake")])
    # The reply arrives with a different conversation key (another subject line) but names its parent.
    run(store, account, [item("<b@x>", "thread-b", kind="email", minutes=5, in_reply_to="<a@x>")])
    assert Conversation.select().count() == 1
    conv = Conversation.get()
    assert conv.external_id == "thread-a"
    assert [m.external_id for m in Message.select().order_by(Message.created_at)] == ["<a@x>", "<b@x>"]


def test_threading_within_one_batch(store, account):
    run(store, account, [
        item("<a@x>", "thread-a", kind="email"),
        item("<b@x>", "thread-b", kind="email", minutes=1, in_reply_to="<a@x>"),
    ])
    assert Conversation.select().count() == 1


def test_unknown_parent_falls_back_to_conversation_key(store, account):
    run(store, account, [item("<b@x>", "thread-b", kind="email", in_reply_to="<never-seen@x>")])
    assert Conversation.get().external_id == "thread-b"


def test_same_author_is_one_contact(store, account):
    run(store, account, [item("m1", "c1"), item("m2", "c2", minutes=1)])
    run(store, account, [item("m3", "c3", minutes=2)])
    assert Contact.select().count() == 1
    assert Identity.select().count() == 1
    contact = Contact.get()
    assert contact.first_name == "Léa"
    assert {c.contact_id for c in Conversation.select()} == {contact.id}
    run(store, account, [item("m4", "c4", author="u2", name="Sam Taylor", minutes=3)])
    assert Contact.select().count() == 2


def test_repeat_contact_counts_unanswered(store, account):
    run(store, account, [item("m1"), item("m2", minutes=1), item("m3", minutes=2)])
    conv = Conversation.get()
    assert conv.unanswered_count == 3
    assert conv.awaiting_since == T0
    assert conv.preview == "hello"


def test_outbound_items_end_awaiting(store, account):
    run(store, account, [item("m1"), item("m2", minutes=1)])
    run(store, account, [item("o1", minutes=5, outbound=True, author="me", text="Yes we can!")])
    conv = Conversation.get()
    assert conv.awaiting_since is None
    assert conv.unanswered_count == 0
    assert conv.due_at is None
    assert conv.first_response_at == T0 + timedelta(minutes=5)
    out = Message.get(Message.external_id == "o1")
    assert out.direction == "out"
    assert out.author_id is None
    # A later customer message starts a new clock with the next-response target.
    run(store, account, [item("m3", minutes=10)])
    conv = Conversation.get()
    assert conv.awaiting_since == T0 + timedelta(minutes=10)
    assert conv.unanswered_count == 1


def test_malformed_items_are_skipped_with_reasons(store, account):
    bad = [
        item("naive", created_at=datetime(2026, 3, 2, 9, 0)),
        item(""),
        item("kind", kind="tweet"),
        item("rating", kind="review", rating=9),
        item("meta", meta={"when": object()}),
        "not an item",
        # Found by the fuzzer: a connector bug must not crash the batch on a missing author or a None.
        replace(item("no-author"), author=None),
        replace(item("no-name"), author=Author("u9", display_name=None)),
        item("no-subject", subject=None),
        item("public", public="yes"),
        item("bool-rating", kind="review", rating=True),
    ]
    good = item("ok", minutes=1)
    result = run(store, account, bad + [good], cursor={"seq": 9})
    assert len(result.skipped) == 11
    joined = "\n".join(result.skipped)
    for reason in ("aware datetime", "missing external id", "unknown kind 'tweet'", "rating out of range",
                   "meta is not JSON", "not an InboundItem", "no-author: missing author id",
                   "no-name: author handle, name or profile URL", "no-subject: permalink, subject",
                   "public: public or outbound", "bool-rating: rating out of range"):
        assert reason in joined
    assert [m.external_id for m in Message.select()] == ["ok"]
    assert Account.get_by_id(account.id).cursor == {"seq": 9}


@pytest.mark.parametrize(
    "text",
    [
        "<b>bold</b> <script>alert('x')</script> <img src=x onerror=alert(1)>",
        "x" * 1_000_000,
        "",
        "🥐😍👩‍👩‍👧 pistachio",
        "שלום! האם יש לכם חלות? مرحبا",
    ],
    ids=["html", "1mb", "empty", "emoji", "rtl"],
)
def test_hostile_text_is_stored_literally(store, account, text):
    run(store, account, [item("m1", text=text)])
    stored = Message.get(Message.external_id == "m1")
    assert stored.text == text
    assert queue.thread(stored.conversation_id)[0].text == text


def test_nul_byte_becomes_visible_symbol_and_nothing_is_lost(store, account):
    run(store, account, [item("m1", text="before\x00after")])
    stored = Message.get(Message.external_id == "m1")
    assert stored.text == "before\u2400after"
    hits = store.db.execute_sql("SELECT rowid FROM message_fts WHERE message_fts MATCH 'after'").fetchall()
    assert [h[0] for h in hits] == [stored.id]


@pytest.mark.parametrize("status", ["done", "waiting", "snoozed"])
def test_new_inbound_reopens(store, account, status):
    run(store, account, [item("m1")])
    conv = Conversation.get()
    until = T0 + timedelta(hours=5) if status == "snoozed" else None
    queue.set_status(store, conv.id, status, POLICY, T0 + timedelta(minutes=10), snoozed_until=until)
    run(store, account, [item("m2", minutes=20)], now=T0 + timedelta(minutes=20))
    conv = Conversation.get()
    assert conv.status == "open"
    assert conv.snoozed_until is None
    assert conv.resolved_at is None
    if status == "done":
        assert conv.paused_remaining_s is None and conv.resumed_at is None
        assert conv.due_at is not None
    else:
        # The paused clock resumes from the new message with the 50 minutes it had left.
        assert conv.paused_remaining_s == 50 * 60
        assert conv.resumed_at == T0 + timedelta(minutes=20)
        assert conv.due_at == T0 + timedelta(minutes=70)
    assert queue.list_ids("awaiting", T0 + timedelta(minutes=20)) == [conv.id]


def test_preview_is_first_nonblank_line_of_latest_inbound(store, account):
    run(store, account, [item("m1", text="first"), item("m2", minutes=1, text="\n\n  second line  \nmore")])
    assert Conversation.get().preview == "second line"
    assert ingest_mod.first_name_of("sunny.days@example.org") == ""
    assert ingest_mod.first_name_of("Sam Taylor") == "Sam"


def test_rating_is_kept_for_reviews(store, account):
    run(store, account, [item("r1", kind="review", public=True, rating=2, text="Slow service")])
    conv = Conversation.get()
    assert conv.rating == 2
    assert conv.public is True
    assert conv.target_minutes == 24 * 60


def test_thread_started_by_the_business_gets_the_customer_as_contact(store, account):
    run(store, account, [item("o1", outbound=True, author="shop", name="Juniper & Rye", text="Your order is ready")])
    conv = Conversation.get()
    assert conv.contact_id is None and conv.contact_name == ""
    assert conv.awaiting_since is None
    assert Contact.select().count() == 0  # the business is not one of its own customers
    run(store, account, [item("m1", minutes=5, text="Great, thanks!")])
    conv = Conversation.get()
    assert conv.contact_name == "Léa Martin"
    assert conv.contact_id == Contact.get().id
    assert conv.awaiting_since == T0 + timedelta(minutes=5)
    assert [c.display_name for c in Contact.select()] == ["Léa Martin"]


# --- issue 13 item 4: edits, deletions and reply windows ----------------------------------------------------


def review(**kw) -> InboundItem:
    kw.setdefault("rating", 5)
    kw.setdefault("text", "Lovely croissants!")
    return item("r1", "place-1", kind="review", public=True, **kw)


def answered_and_done(store, account) -> Conversation:
    """A 5-star review at T0, answered on the platform an hour later, then marked done."""
    run(store, account, [review(), item("o1", "place-1", minutes=60, outbound=True, author="shop",
                                        kind="review", text="Thank you!")])
    conv = Conversation.get()
    queue.set_status(store, conv.id, "done", POLICY, T0 + timedelta(hours=2))
    return conv


def test_an_edited_review_is_a_new_revision_and_reopens_with_a_fresh_clock(store, account):
    conv = answered_and_done(store, account)
    edited_at = T0 + timedelta(hours=30)
    result = run(store, account, [review(text="Stale bread, rude staff.", rating=1, edited_at=edited_at)],
                 now=edited_at + timedelta(minutes=5))
    message = Message.get(Message.external_id == "r1")
    assert result.edited_message_ids == [message.id] and result.new_message_ids == []
    assert result.changed_conversation_ids == {conv.id}
    assert (message.text, message.rating, message.edited_at) == ("Stale bread, rude staff.", 1, edited_at)
    [old] = queue.thread(conv.id)[0].revisions
    assert (old.text, old.rating, old.made_at) == ("Lovely croissants!", 5, T0)
    conv = Conversation.get()
    assert (conv.status, conv.rating, conv.preview) == ("open", 1, "Stale bread, rude staff.")
    assert (conv.unanswered_count, conv.awaiting_since) == (1, edited_at)
    assert conv.due_at == edited_at + timedelta(hours=24)  # the review target, counted from the edit
    # The stored thread says the same as the fold: the edit awaits an answer (queue.unanswered_runs).
    assert queue.recount(conv.id) == (1, to_micros(edited_at))


def test_the_same_version_again_changes_nothing(store, account):
    answered_and_done(store, account)
    edit = review(text="Stale bread.", rating=1, edited_at=T0 + timedelta(hours=30))
    run(store, account, [edit], now=T0 + timedelta(hours=31))
    before = snapshot(store)
    again = [
        edit,  # the same edit re-delivered
        review(),  # the original again, without an edit time
        review(text="Stale bread. ", rating=1),  # the same version rendered anew: no newer edit time
        review(text="Older draft", rating=3, edited_at=T0 + timedelta(hours=20)),  # an older version, late
        replace(edit, edited_at=T0 + timedelta(hours=40)),  # a newer time, but nothing changed
    ]
    result = run(store, account, again, cursor={"seq": 2}, now=T0 + timedelta(hours=50))
    assert result.duplicates == 5 and result.edited_message_ids == []
    assert snapshot(store) == before


def test_an_item_edited_in_the_batch_that_brings_it(store, account):
    """Telegram delivers a message and its edit in one getUpdates batch."""
    result = run(store, account, [item("m1", text="see you at 5"),
                                  item("m1", text="see you at 6", edited_at=T0 + timedelta(minutes=2))])
    message = Message.get()
    assert (message.text, message.edited_at) == ("see you at 6", T0 + timedelta(minutes=2))
    assert result.edited_message_ids == [message.id]
    assert [r.text for r in queue.thread(message.conversation_id)[0].revisions] == ["see you at 5"]
    conv = Conversation.get()
    # Still the same unanswered message: no second count, no time earned.
    assert (conv.unanswered_count, conv.awaiting_since, conv.due_at) == (1, T0, T0 + timedelta(hours=1))
    assert store.db.execute_sql("SELECT count(*) FROM message_fts WHERE message_fts MATCH '6'").fetchone()[0] == 1


def test_a_deleted_item_is_kept_marked_and_moves_no_clock(store, account):
    run(store, account, [item("m1", text="You are all idiots"), item("m2", minutes=1, text="and another thing")])
    conv_before = Conversation.get()
    deleted_at = T0 + timedelta(minutes=7)
    result = run(store, account, [
        InboundItem("m1", "", "dm", False, Author(""), "", created_at=T0, deleted=True, edited_at=deleted_at),
        replace(item("never-seen"), deleted=True),
    ], now=T0 + timedelta(minutes=9))
    message = Message.get(Message.external_id == "m1")
    assert result.deleted_message_ids == [message.id] and result.skipped == []
    assert (message.text, message.deleted_at) == ("You are all idiots", deleted_at)
    assert Message.select().count() == 2  # nothing stored for a deletion of an unknown id
    conv = Conversation.get()
    assert (conv.unanswered_count, conv.awaiting_since, conv.due_at) == (2, T0, conv_before.due_at)
    # A deleted message stays as it was deleted, whatever comes later.
    again = run(store, account, [item("m1", text="sorry", edited_at=T0 + timedelta(minutes=20))])
    assert again.duplicates == 1 and Message.get(Message.external_id == "m1").text == "You are all idiots"


def test_reply_window_is_kept_and_brings_the_deadline_forward(store, account):
    run(store, account, [item("m1", kind="review", reply_window_ends_at=T0 + timedelta(hours=3))])
    conv = Conversation.get()
    assert conv.reply_window_ends_at == T0 + timedelta(hours=3)
    assert conv.due_at == T0 + timedelta(hours=3)  # the window closes before the 24 h review target
    run(store, account, [item("m2", kind="review", minutes=60, reply_window_ends_at=T0 + timedelta(hours=25))])
    conv = Conversation.get()
    assert conv.reply_window_ends_at == T0 + timedelta(hours=25)
    assert conv.due_at == T0 + timedelta(hours=24)  # now the target comes first


def test_bad_edit_fields_are_skipped(store, account):
    result = run(store, account, [item("a", edited_at=datetime(2026, 3, 2, 10, 0)), item("b", deleted="yes"),
                                  item("c", reply_window_ends_at="tomorrow"),
                                  replace(item("d"), deleted=True, author=None)])
    assert [s.split(":")[0] for s in result.skipped] == ["a", "b", "c", "d"]


def snapshot(store) -> dict:
    return {
        table: store.db.execute_sql(f"SELECT * FROM {table} ORDER BY id").fetchall()
        for table in ("conversation", "message", "message_revision")
    }
