"""Tests for core/queue.py: urgent-first order, views, search, statuses, snooze pause semantics, rows, links."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors.base import Author, InboundItem, ReplyWindowRule
from socialdesk.core import ingest, queue, queue_read
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Account, Conversation
from socialdesk.core.targets import TargetConfig

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
POLICY = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))


def item(ext, conv, *, minutes=0.0, author="u1", name="Customer", text="hello", kind="dm", public=False, **kw):
    return InboundItem(
        external_id=ext,
        conversation_external_id=conv,
        kind=kind,
        public=public,
        author=Author(author, handle=author, display_name=name),
        text=text,
        created_at=T0 + timedelta(minutes=minutes),
        **kw,
    )


@pytest.fixture
def account(store):
    with store.write():
        return Account.create(kind="demo", name="Demo IG", settings={"channel": "instagram"}, created_at=T0)


def add(store, account, items, now=None):
    ingest.ingest(store, account.id, items, None, POLICY, now or T0)
    return {c.external_id: c.id for c in Conversation.select()}


def test_urgent_first_order(store, account):
    ids = add(store, account, [
        item("a", "soon", minutes=80, author="a"),          # DM due at +140
        item("b", "overdue-most", minutes=0, author="b"),   # DM due at +60
        item("c", "overdue-less", minutes=30, author="c"),  # DM due at +90
        item("d", "email", minutes=10, author="d", kind="email"),  # due at +730
    ])
    now = T0 + timedelta(minutes=100)
    assert queue.list_ids("awaiting", now) == [ids["overdue-most"], ids["overdue-less"], ids["soon"], ids["email"]]
    assert queue.list_ids("overdue", now) == [ids["overdue-most"], ids["overdue-less"]]
    assert queue.overdue_count(now) == 2
    assert queue.awaiting_count() == 4
    assert queue.most_urgent(now).id == ids["overdue-most"]
    assert queue.list_ids("awaiting", now, limit=2) == [ids["overdue-most"], ids["overdue-less"]]


def test_repeat_contacts_rank_above_equal_deadlines_and_no_target_last(store, account):
    ids = add(store, account, [
        item("a1", "single", author="a"),
        item("b1", "repeat", author="b"),
        item("b2", "repeat", minutes=1, author="b"),
        item("b3", "repeat", minutes=2, author="b"),
        item("c1", "untargeted", minutes=-500, author="c"),
    ])
    same = T0 + timedelta(minutes=60)
    with store.write():
        Conversation.update(due_at=same, due_soon_at=same).where(
            Conversation.id.in_([ids["single"], ids["repeat"]])).execute()
        Conversation.update(due_at=None, due_soon_at=None).where(Conversation.id == ids["untargeted"]).execute()
    assert queue.list_ids("awaiting", T0) == [ids["repeat"], ids["single"], ids["untargeted"]]


def _scene(store, account):
    ids = add(store, account, [
        item("p", "public", author="p", kind="comment", public=True, text="croissants back?"),
        item("d", "private", author="d", name="Léa Martin", text="Can I pre-order sourdough?"),
        item("r", "review", author="r", kind="review", public=True, rating=2, text="slow"),
        item("w", "waiting", author="w"),
        item("s", "snoozed", author="s"),
        item("x", "done", author="x"),
        item("z", "spam", author="z", text="cheap followers"),
    ])
    now = T0 + timedelta(minutes=5)
    queue.set_status(store, ids["waiting"], "waiting", POLICY, now)
    queue.set_status(store, ids["snoozed"], "snoozed", POLICY, now, snoozed_until=now + timedelta(hours=1))
    queue.set_status(store, ids["done"], "done", POLICY, now)
    queue.set_status(store, ids["spam"], "spam", POLICY, now)
    return ids, now


def test_views(store, account):
    ids, now = _scene(store, account)

    def view(name):
        return {key for key, cid in ids.items() if cid in queue.list_ids(name, now)}

    assert view("awaiting") == {"public", "private", "review"}
    assert view("public") == {"public", "review"}
    assert view("private") == {"private"}
    assert view("reviews") == {"review"}
    assert view("waiting") == {"waiting"}
    assert view("snoozed") == {"snoozed"}
    assert view("done") == {"done"}
    assert view("spam") == {"spam"}
    assert view("all") == set(ids) - {"spam"}
    assert view("overdue") == set()
    with pytest.raises(queue.QueueError):
        queue.list_ids("nonsense", now)
    assert queue.list_ids("awaiting", now, account_ids=[]) == []
    assert len(queue.list_ids("awaiting", now, account_ids=[account.id])) == 3


def test_views_of_agrees_with_list_ids(store, account):
    """The views a conversation is listed in (the window opens a clicked notification in one of them)."""
    ids, now = _scene(store, account)
    for cid in ids.values():
        assert queue.views_of(cid, now) == [v for v in queue.VIEWS if cid in queue.list_ids(v, now)]
    assert queue.views_of(ids["waiting"], now) == ["waiting", "all"]
    assert queue.views_of(ids["spam"], now) == ["spam"]
    assert queue.views_of(max(ids.values()) + 1, now) == []


def test_search(store, account):
    ids, now = _scene(store, account)
    assert queue.list_ids("all", now, search="sourdough") == [ids["private"]]
    assert queue.list_ids("all", now, search="sourd") == [ids["private"]]  # prefix
    assert queue.list_ids("all", now, search="lea") == [ids["private"]]  # contact name, no diacritics
    assert queue.list_ids("all", now, search="sourdough croissants") == []  # words are ANDed
    assert queue.list_ids("spam", now, search="followers") == [ids["spam"]]
    assert queue.list_ids("awaiting", now, search="croissants") == [ids["public"]]


@pytest.mark.parametrize("query", ['"', '"unbalanced', "*", "NEAR(", "-", "sourdough -", "a OR", "text:x",
                                   "^", "(", ")", "'; DROP TABLE message; --", "%", "_", "\\", "   "])
def test_fts_syntax_never_raises(store, account, query):
    ids, now = _scene(store, account)
    result = queue.list_ids("all", now, search=query)
    assert isinstance(result, list)
    if query.strip() == "":
        assert len(result) == len(ids) - 1
    assert Conversation.select().count() == len(ids)


def test_search_punctuation_only_matches_nothing_but_subject_like(store, account):
    ids, now = _scene(store, account)
    assert queue.list_ids("all", now, search="%") == []
    assert queue.list_ids("all", now, search="sourdough?") == [ids["private"]]


def test_set_status_transitions(store, account):
    ids = add(store, account, [item("m", "c")])
    cid = ids["c"]
    now = T0 + timedelta(minutes=10)
    conv = queue.set_status(store, cid, "done", POLICY, now)
    assert conv.status == "done" and conv.resolved_at == now and conv.due_at is None
    conv = queue.set_status(store, cid, "open", POLICY, now)
    assert conv.status == "open" and conv.resolved_at is None
    assert conv.due_at == T0 + timedelta(minutes=60)  # the original clock: never paused
    conv = queue.set_status(store, cid, "spam", POLICY, now)
    assert conv.status == "spam" and conv.due_at is None
    with pytest.raises(queue.QueueError):
        queue.set_status(store, cid, "archived", POLICY, now)
    with pytest.raises(queue.QueueError):
        queue.set_status(store, 9999, "done", POLICY, now)


def test_snooze_requires_future_time(store, account):
    ids = add(store, account, [item("m", "c")])
    now = T0 + timedelta(minutes=10)
    for until in (None, now, now - timedelta(minutes=1)):
        with pytest.raises(queue.QueueError):
            queue.set_status(store, ids["c"], "snoozed", POLICY, now, snoozed_until=until)
    assert Conversation.get_by_id(ids["c"]).status == "open"


def test_snooze_pauses_and_wake_resumes_with_remaining_time(store, account):
    ids = add(store, account, [item("m", "c")])
    cid = ids["c"]
    at = T0 + timedelta(minutes=20)  # 40 of the 60 minutes left
    until = T0 + timedelta(hours=3)
    conv = queue.set_status(store, cid, "snoozed", POLICY, at, snoozed_until=until)
    assert conv.paused_remaining_s == 40 * 60
    assert conv.due_at is None
    assert queue.wake_snoozed(store, POLICY, until - timedelta(seconds=1)) == []
    assert queue.wake_snoozed(store, POLICY, until) == [cid]
    conv = Conversation.get_by_id(cid)
    assert conv.status == "open"
    assert conv.snoozed_until is None
    assert conv.resumed_at == until
    assert conv.due_at == until + timedelta(minutes=40)
    # Re-evaluating later (targets edited, restart) keeps the same deadline.
    queue.recompute_all(store, POLICY, until + timedelta(minutes=30))
    assert Conversation.get_by_id(cid).due_at == until + timedelta(minutes=40)


def test_waiting_pauses_overdue_item_with_zero_left(store, account):
    ids = add(store, account, [item("m", "c")])
    cid = ids["c"]
    conv = queue.set_status(store, cid, "waiting", POLICY, T0 + timedelta(minutes=90))
    assert conv.paused_remaining_s == 0
    conv = queue.set_status(store, cid, "open", POLICY, T0 + timedelta(minutes=120))
    assert conv.due_at == T0 + timedelta(minutes=120)


def test_rows_batch(store, account):
    ids = add(store, account, [item(f"m{i}", f"c{i}", author=f"a{i}", name=f"Person {i}", text=f"text {i}")
                               for i in range(501)])
    all_ids = list(ids.values())
    rows = queue.rows(all_ids)
    assert set(rows) == set(all_ids)
    row = rows[ids["c7"]]
    assert row.contact_name == "Person 7"
    assert row.preview == "text 7"
    assert row.channel == "instagram"
    assert row.account_name == "Demo IG"
    assert row.target_minutes == 60
    assert row.state(T0) == "ok"
    assert row.state(T0 + timedelta(minutes=50)) == "due_soon"
    assert row.state(T0 + timedelta(minutes=60)) == "overdue"
    assert queue.rows([]) == {}


def test_linked_conversations_after_merge(store, account):
    with store.write():
        other = Account.create(kind="email", name="Mail", created_at=T0)
    add(store, account, [item("ig1", "ig", author="ig:lea", name="Léa")])
    ingest.ingest(store, other.id, [item("em1", "em", author="lea@example.org", name="lea@example.org",
                                         kind="email")], None, POLICY, T0)
    ig = Conversation.get(Conversation.external_id == "ig")
    em = Conversation.get(Conversation.external_id == "em")
    assert queue.linked_conversations(ig.id) == []
    queue.merge_contacts(store, ig.contact_id, em.contact_id)
    assert queue.linked_conversations(ig.id) == [em.id]
    assert queue.linked_conversations(em.id) == [ig.id]
    assert Conversation.get_by_id(em.id).contact_name == "Léa"
    with pytest.raises(queue.QueueError):
        queue.merge_contacts(store, ig.contact_id, ig.contact_id)
    with pytest.raises(queue.QueueError):
        queue.merge_contacts(store, ig.contact_id, 999)


def test_thread_order_and_authors(store, account):
    add(store, account, [
        item("m2", "c", minutes=2, text="second"),
        item("m1", "c", minutes=1, text="first"),
        item("o1", "c", minutes=3, text="reply", outbound=True, author="me"),
    ])
    conv = Conversation.get()
    messages = queue.thread(conv.id)
    assert [m.text for m in messages] == ["first", "second", "reply"]
    assert [m.direction for m in messages] == ["in", "in", "out"]
    assert messages[0].author_name == "Customer"
    assert messages[2].author_name == "You"
    assert all(m.state == "" for m in messages)


# --- issue 13 items 4 and 5: edits, deletions and reply windows in what the queue shows -------------------------


def test_the_thread_shows_each_version_and_what_was_deleted(store, account):
    ids = add(store, account, [item("r1", "place", kind="review", public=True, rating=5, text="Lovely"),
                               item("r2", "place", minutes=1, kind="review", public=True, text="and fast")])
    add(store, account, [item("r1", "place", kind="review", public=True, rating=1, text="Awful",
                              edited_at=T0 + timedelta(hours=3)),
                         item("r2", "place", deleted=True)], now=T0 + timedelta(hours=4))
    first, second = queue.thread(ids["place"])
    assert (first.text, first.rating, first.edited_at, first.deleted_at) == ("Awful", 1, T0 + timedelta(hours=3), None)
    assert [(r.text, r.rating, r.made_at) for r in first.revisions] == [("Lovely", 5, T0)]
    assert (second.text, second.deleted_at, second.revisions) == ("and fast", T0 + timedelta(hours=4), ())


def test_rows_carry_the_reply_window_and_the_platforms_rule(store, account, monkeypatch):
    rule = ReplyWindowRule(after_close="open the conversation in the Instagram app")
    monkeypatch.setattr(queue_read, "reply_window_rule", lambda kind: rule)
    ids = add(store, account, [item("w", "windowed", reply_window_ends_at=T0 + timedelta(minutes=45)),
                               item("n", "plain", author="u2")])
    rows = queue.rows([ids["windowed"], ids["plain"]])
    windowed, plain = rows[ids["windowed"]], rows[ids["plain"]]
    assert (windowed.reply_window_ends_at, windowed.reply_window) == (T0 + timedelta(minutes=45), rule)
    assert windowed.due_at == T0 + timedelta(minutes=45)  # before the DM's 1 h target
    assert (plain.reply_window_ends_at, plain.reply_window) == (None, None)


def test_a_snooze_keeps_what_was_left_before_the_window_closes(store, account):
    ids = add(store, account, [item("w", "windowed", kind="review", reply_window_ends_at=T0 + timedelta(hours=3))])
    conv = queue.set_status(store, ids["windowed"], "snoozed", POLICY, T0 + timedelta(hours=1),
                            snoozed_until=T0 + timedelta(hours=2))
    assert conv.paused_remaining_s == 2 * 3600  # to the window, not to the 24 h review target
    conv = queue.set_status(store, ids["windowed"], "open", POLICY, T0 + timedelta(hours=2))
    assert (conv.status, conv.resumed_at, conv.due_at) == ("open", T0 + timedelta(hours=2), T0 + timedelta(hours=3))


def test_sent_view_lists_answered_conversations_most_recently_answered_first(store, account):
    """A reply used to make a conversation vanish from every view but "all" (issue 17 item 1)."""
    from socialdesk.core import outbox

    ids, now = _scene(store, account)
    outbox.enqueue_reply(store, ids["private"], "Yes, until Friday.", POLICY, now + timedelta(minutes=1))
    outbox.enqueue_reply(store, ids["public"], "They are!", POLICY, now + timedelta(minutes=2))
    outbox.enqueue_reply(store, ids["done"], "Thanks again", POLICY, now + timedelta(minutes=3), mark_done=True)
    later = now + timedelta(minutes=4)
    assert queue.list_ids("sent", later) == [ids["done"], ids["public"], ids["private"]]
    assert "sent" in queue.views_of(ids["private"], later)
    assert queue.rows([ids["private"]])[ids["private"]].place == "sent"
    assert queue.rows([ids["done"]])[ids["done"]].place == "done"
    # The customer writes again: no longer answered, so out of Sent and back in Awaiting.
    add(store, account, [item("d2", "private", minutes=10, author="d", name="Léa Martin", text="And Saturday?")],
        now=later)
    assert queue.list_ids("sent", later) == [ids["done"], ids["public"]]
    assert queue.rows([ids["private"]])[ids["private"]].place == "awaiting"


def test_search_in_all_covers_every_conversation_and_places_say_where(store, account):
    ids, now = _scene(store, account)
    assert queue.list_ids("all", now, search="followers") == [ids["spam"]]  # spam too, when searching
    assert ids["spam"] not in queue.list_ids("all", now)
    assert queue.list_ids("awaiting", now, search="followers") == []
    assert queue.search_places("followers") == {"spam": 1}
    assert queue.search_places("hello") == {"waiting": 1, "snoozed": 1, "done": 1}
    assert queue.search_places("hello", account_ids=[]) == {}
    assert queue.search_places("") == {}
    assert {queue.PLACE_VIEW[p] for p in queue.PLACES} <= set(queue.VIEWS)
    assert queue.PLACE_TITLES["done"] == "Done" and queue.PLACE_VIEW["spam"] == "all"


# --- the first screen read from the file, before the store opens (core/queue_read.read_first_screen) -------


def test_the_first_screen_read_from_the_file_is_the_one_the_store_gives(store, account):
    add(store, account, [item("a", "one", kind="review", public=True, rating=2, text="Cold"),
                         item("b", "two", minutes=5, author="b", name="Bo", text="Open Sunday?")])
    with store.write():
        Account.update(settings={"channel": "instagram", "text_limit": 900}).where(Account.id == account.id).execute()
    from socialdesk.core import drafts

    two_id = Conversation.get(Conversation.external_id == "two").id
    drafts.save(store, {two_id: "Hi Bo, yes"}, T0)
    now = T0 + timedelta(minutes=30)
    from_file = queue_read.read_first_screen(store.path, "awaiting", now)
    assert from_file is not None
    assert from_file == queue.first_screen("awaiting", now)
    ids, rows, shown = from_file
    assert shown == ((account.id, "Demo IG", "instagram", 900),)
    assert set(ids) == set(rows) and two_id in ids
    two = rows[two_id]
    assert (two.contact_name, two.draft, two.text_limit, two.new, two.public) == ("Bo", "Hi Bo, yes", 900, True, False)
    assert two.status is queue_read.ConversationStatus.OPEN  # the member, as the store's models give it


def test_a_file_that_is_not_this_versions_database_gives_no_first_screen(tmp_path, store, account):
    import sqlite3

    now = T0
    missing = tmp_path / "nothing-here.sqlite3"
    assert queue_read.read_first_screen(missing, "awaiting", now) is None
    assert not missing.exists()  # never created by the read
    older = tmp_path / "older.sqlite3"
    foreign = tmp_path / "foreign.sqlite3"
    for path, pragma in ((older, "PRAGMA user_version = 5"), (foreign, "PRAGMA application_id = 42")):
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE conversation (id INTEGER)")
        db.execute(pragma)
        db.commit()
        db.close()
        assert queue_read.read_first_screen(path, "awaiting", now) is None
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    assert queue_read.read_first_screen(garbage, "awaiting", now) is None
    assert garbage.read_bytes() == b"not a database at all" * 100
