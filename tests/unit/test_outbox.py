"""Tests for core/outbox.py: queued replies, sending, typed failures and retries, crash recovery, cancel."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors.base import (
    AuthError,
    Author,
    InboundItem,
    NotAllowed,
    OutboundResult,
    PermanentError,
    RateLimited,
    ReplyWindowRule,
    TransientError,
)
from socialdesk.connectors.demo import DemoConnector
from socialdesk.core import ingest, outbox, queue
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Account, Activity, Conversation, Message, Outbox
from socialdesk.core.targets import TargetConfig

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
NOW = T0 + timedelta(minutes=10)
POLICY = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))


class FakeConnector:
    """Raises the queued errors in order, then succeeds; records what it was asked to send."""

    kind = "fake"
    capabilities = frozenset({"dm", "post_status"})

    def __init__(self, *errors: Exception):
        self.errors = list(errors)
        self.calls: list[tuple[str, str]] = []
        self.targets = []

    def _next(self, text: str, key: str) -> OutboundResult:
        self.calls.append((key, text))
        if self.errors:
            raise self.errors.pop(0)
        return OutboundResult(external_id=f"platform-{len(self.calls)}", permalink="https://x.invalid/1")

    def reply(self, target, text, *, idempotency_key):
        self.targets.append(target)
        return self._next(text, idempotency_key)

    def post_status(self, text, *, idempotency_key):
        return self._next(text, idempotency_key)


@pytest.fixture
def conv(store):
    with store.write():
        account = Account.create(kind="demo", name="Demo", settings={"channel": "telegram"}, created_at=T0)
    item = InboundItem("in-1", "c1", "dm", False, Author("u1", "lea", "Léa Martin"), "Can I pre-order?", T0)
    ingest.ingest(store, account.id, [item], None, POLICY, T0)
    return Conversation.get()


def _message(row: Outbox) -> Message:
    return Message.get(Message.meta.contains(f'"outbox_id": {row.id}'))


def test_enqueue_reply_stops_awaiting_and_shows_pending(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Yes, of course!", POLICY, NOW)
    c = Conversation.get_by_id(conv.id)
    assert c.awaiting_since is None and c.unanswered_count == 0 and c.due_at is None
    assert c.first_response_at == NOW
    assert queue.list_ids("awaiting", NOW) == []
    last = queue.thread(conv.id)[-1]
    assert (last.direction, last.text, last.state) == ("out", "Yes, of course!", "pending")
    assert row.state == "pending" and row.next_attempt_at == NOW


def test_empty_reply_rejected(store, conv):
    for text in ("", "   \n"):
        with pytest.raises(outbox.OutboxError):
            outbox.enqueue_reply(store, conv.id, text, POLICY, NOW)
    assert Outbox.select().count() == 0
    with pytest.raises(queue.QueueError):
        outbox.enqueue_reply(store, 999, "hi", POLICY, NOW)


def test_flush_with_demo_connector_sends_and_takes_platform_id(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    demo = DemoConnector({"channel": "telegram"}, None, now=lambda: NOW)
    report = outbox.flush(store, lambda account_id: demo, POLICY, NOW)
    assert report.sent == [row.id] and report.changed_conversation_ids == {conv.id}
    row = Outbox.get_by_id(row.id)
    assert row.state == "sent" and row.sent_at == NOW and row.attempts == 1
    assert row.external_id.startswith("telegram:out:")
    message = _message(row)
    assert message.external_id == row.external_id
    assert message.meta["state"] == ""
    assert demo.sent == [(row.idempotency_key, "Yes!")]
    # Nothing is sent twice.
    assert outbox.flush(store, lambda account_id: demo, POLICY, NOW + timedelta(hours=1)).sent == []
    assert len(demo.sent) == 1


def test_reply_target_names_the_latest_inbound_and_customer(store, conv):
    outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    fake = FakeConnector()
    outbox.flush(store, lambda account_id: fake, POLICY, NOW)
    target = fake.targets[0]
    assert target.parent_external_id == "in-1"
    assert target.recipient_external_id == "u1"
    assert target.recipient_handle == "lea"
    assert target.conversation_external_id == "c1"


def test_transient_errors_retry_with_backoff_then_fail_and_await_again(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    fake = FakeConnector(*[TransientError("network down")] * outbox.MAX_ATTEMPTS)
    now = NOW
    for attempt in range(1, outbox.MAX_ATTEMPTS):
        report = outbox.flush(store, lambda account_id: fake, POLICY, now, rng=random.Random(attempt))
        assert report.retrying == [row.id]
        fresh = Outbox.get_by_id(row.id)
        assert fresh.state == "pending" and fresh.attempts == attempt
        assert fresh.next_attempt_at > now
        base = min(30 * 2 ** (attempt - 1), 1800)
        assert base * 0.5 <= (fresh.next_attempt_at - now).total_seconds() <= base * 1.5
        # Not due yet: nothing is attempted.
        assert outbox.flush(store, lambda account_id: fake, POLICY, now).retrying == []
        now = fresh.next_attempt_at
        assert Conversation.get_by_id(conv.id).awaiting_since is None
    report = outbox.flush(store, lambda account_id: fake, POLICY, now)
    assert report.failed == [row.id]
    fresh = Outbox.get_by_id(row.id)
    assert fresh.state == "failed" and fresh.attempts == outbox.MAX_ATTEMPTS
    assert "network down" in fresh.last_error
    c = Conversation.get_by_id(conv.id)
    assert c.awaiting_since == T0 and c.unanswered_count == 1 and c.due_at is not None
    assert _message(fresh).meta["state"] == "failed"
    assert Activity.select().where(Activity.kind == "error").count() == 1


def test_permanent_error_fails_and_reopens_done_conversation(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW, mark_done=True)
    assert Conversation.get_by_id(conv.id).status == "done"
    fake = FakeConnector(PermanentError("Recipient blocked you"))
    report = outbox.flush(store, lambda account_id: fake, POLICY, NOW)
    assert report.failed == [row.id]
    assert Outbox.get_by_id(row.id).state == "failed"
    c = Conversation.get_by_id(conv.id)
    assert c.status == "open" and c.awaiting_since == T0
    assert queue.list_ids("awaiting", NOW) == [conv.id]


def test_rate_limited_waits_until_retry_at(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    retry_at = NOW + timedelta(minutes=7)
    fake = FakeConnector(RateLimited("slow down", retry_at))
    assert outbox.flush(store, lambda account_id: fake, POLICY, NOW).retrying == [row.id]
    fresh = Outbox.get_by_id(row.id)
    assert fresh.state == "pending" and fresh.next_attempt_at == retry_at
    assert outbox.flush(store, lambda account_id: fake, POLICY, retry_at - timedelta(seconds=1)).sent == []
    assert outbox.flush(store, lambda account_id: fake, POLICY, retry_at).sent == [row.id]


def test_auth_error_marks_the_account_and_holds_its_sends_until_relogin(store, conv):
    first = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    second = outbox.enqueue_reply(store, conv.id, "And it ships today.", POLICY, NOW)
    fake = FakeConnector(AuthError("Telegram does not accept this bot token."))
    report = outbox.flush(store, lambda account_id: fake, POLICY, NOW)
    assert len(fake.calls) == 1  # the second row is not tried with the same dead login
    assert report.changed_account_ids == {conv.account_id}
    account = Account.get_by_id(conv.account_id)
    assert account.state == "auth_error" and "does not accept this bot token" in account.last_error
    for row in (first, second):
        assert Outbox.get_by_id(row.id).state == "pending"  # held, not failed: the owner's reply still counts
    assert "does not accept" in _message(first).meta["error"]
    assert Conversation.get_by_id(conv.id).awaiting_since is None
    later = NOW + timedelta(hours=6)
    assert outbox.due_account_ids(later) == []
    assert outbox.flush(store, lambda account_id: fake, POLICY, later) == outbox.FlushReport([], [], [], set())
    assert len(fake.calls) == 1
    with store.write():  # the owner logs in again (SyncEngine.reset_account)
        Account.update(state="new", last_error="").where(Account.id == conv.account_id).execute()
    assert outbox.flush(store, lambda account_id: fake, POLICY, later).sent == [first.id, second.id]
    assert "error" not in _message(first).meta


def test_a_refused_login_is_not_retried_every_five_minutes_for_ever(store, conv):
    """The probe: a reply refused with "log in again" was retried every 5 minutes (50 attempts pending)
    while the account still showed OK."""
    row = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    fake = FakeConnector(*[AuthError("login expired")] * 60)
    for step in range(50):
        outbox.flush(store, lambda account_id: fake, POLICY, NOW + timedelta(minutes=5 * step))
    assert Outbox.get_by_id(row.id).attempts == 1 and len(fake.calls) == 1
    assert Account.get_by_id(conv.account_id).state == "auth_error"


def test_not_allowed_fails_once_and_returns_the_conversation_visibly(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Yes, of course!", POLICY, NOW)
    assert queue.list_ids("awaiting", NOW) == []
    why = "Telegram does not let the bot write to this chat: Forbidden: bot was blocked by the user."
    fake = FakeConnector(NotAllowed(why))
    report = outbox.flush(store, lambda account_id: fake, POLICY, NOW)
    assert report.failed == [row.id] and len(fake.calls) == 1
    assert Account.get_by_id(conv.account_id).state == "new"  # the account is fine
    assert outbox.flush(store, lambda account_id: fake, POLICY, NOW + timedelta(days=1)).failed == []
    # Back in the queue, as awaiting as before the reply: the failed reply answered no one.
    c = Conversation.get_by_id(conv.id)
    assert (c.awaiting_since, c.unanswered_count, c.status) == (T0, 1, "open") and c.due_at is not None
    assert queue.list_ids("awaiting", NOW) == [conv.id]
    shown = queue.rows([conv.id])[conv.id]
    assert shown.preview.startswith("Not sent: Telegram does not let the bot write to this chat")
    last = queue.thread(conv.id)[-1]
    assert (last.direction, last.state) == ("out", "failed") and "bot was blocked" in last.meta["error"]
    # The owner answers another way: the customer's words are the preview again.
    outbox.enqueue_reply(store, conv.id, "Try our shop page.", POLICY, NOW + timedelta(minutes=1))
    assert queue.rows([conv.id])[conv.id].preview == "Can I pre-order?"


def test_withdrawing_a_failed_reply_restores_the_customers_words(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    outbox.flush(store, lambda account_id: FakeConnector(PermanentError("Recipient blocked you")), POLICY, NOW)
    assert Conversation.get_by_id(conv.id).preview == "Not sent: Recipient blocked you"
    outbox.cancel(store, row.id, POLICY, NOW)
    assert Conversation.get_by_id(conv.id).preview == "Can I pre-order?"


def test_account_without_connector_is_skipped(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    assert outbox.flush(store, lambda account_id: None, POLICY, NOW) == outbox.FlushReport([], [], [], set())
    assert Outbox.get_by_id(row.id).state == "pending"
    assert Outbox.get_by_id(row.id).attempts == 0


def test_connector_crash_fails_the_row_without_raising(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    fake = FakeConnector(ZeroDivisionError("bug"))
    report = outbox.flush(store, lambda account_id: fake, POLICY, NOW)
    assert report.failed == [row.id]
    assert "ZeroDivisionError" in Outbox.get_by_id(row.id).last_error


def _interrupted(store, conv) -> Outbox:
    row = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    with store.write():
        Outbox.update(state="sending", attempts=1).where(Outbox.id == row.id).execute()
    return row


def test_recover_interrupted_marks_unknown_and_does_not_resend(store, conv):
    row = _interrupted(store, conv)
    assert outbox.recover_interrupted(store, NOW) == [row.id]
    fresh = Outbox.get_by_id(row.id)
    assert fresh.state == "unknown"
    assert _message(fresh).meta["state"] == "unknown"
    fake = FakeConnector()
    assert outbox.flush(store, lambda account_id: fake, POLICY, NOW + timedelta(hours=1)).sent == []
    assert fake.calls == []


def test_recover_interrupted_retries_idempotent_platforms(store, conv):
    with store.write():
        Account.update(kind="mastodon").execute()
    row = _interrupted(store, conv)
    outbox.recover_interrupted(store, NOW)
    assert Outbox.get_by_id(row.id).state == "pending"
    fake = FakeConnector()
    assert outbox.flush(store, lambda account_id: fake, POLICY, NOW).sent == [row.id]
    assert fake.calls == [(row.idempotency_key, "Yes!")]


def test_resolve_unknown(store, conv):
    row = _interrupted(store, conv)
    outbox.recover_interrupted(store, NOW)
    resolved = outbox.resolve_unknown(store, row.id, sent=False, now=NOW)
    assert resolved.state == "pending" and resolved.attempts == 0
    fake = FakeConnector()
    assert outbox.flush(store, lambda account_id: fake, POLICY, NOW).sent == [row.id]
    with pytest.raises(outbox.OutboxError):
        outbox.resolve_unknown(store, row.id, sent=True, now=NOW)

    other = _interrupted(store, conv)
    outbox.recover_interrupted(store, NOW)
    resolved = outbox.resolve_unknown(store, other.id, sent=True, now=NOW)
    assert resolved.state == "sent" and resolved.sent_at == NOW
    assert _message(resolved).meta["state"] == ""


def test_resolve_failed_as_sent_clears_the_deadline(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    outbox.flush(store, lambda account_id: FakeConnector(PermanentError("no")), POLICY, NOW)
    assert Conversation.get_by_id(conv.id).due_at is not None
    outbox.resolve_unknown(store, row.id, sent=True, now=NOW)
    c = Conversation.get_by_id(conv.id)
    assert c.awaiting_since is None
    assert c.due_at is None  # a stale deadline would still alert and show a countdown


def test_cancel_withdraws_and_conversation_awaits_again(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Oops", POLICY, NOW)
    outbox.cancel(store, row.id, POLICY, NOW)
    assert Outbox.get_by_id(row.id).state == "cancelled"
    assert [m.direction for m in queue.thread(conv.id)] == ["in"]
    c = Conversation.get_by_id(conv.id)
    assert c.awaiting_since == T0 and c.due_at == T0 + timedelta(hours=1)
    fake = FakeConnector()
    assert outbox.flush(store, lambda account_id: fake, POLICY, NOW).sent == []
    with pytest.raises(outbox.OutboxError):
        outbox.cancel(store, row.id, POLICY, NOW)


def test_sent_reply_cannot_be_cancelled(store, conv):
    row = outbox.enqueue_reply(store, conv.id, "Yes", POLICY, NOW)
    outbox.flush(store, lambda account_id: FakeConnector(), POLICY, NOW)
    with pytest.raises(outbox.OutboxError):
        outbox.cancel(store, row.id, POLICY, NOW)


def test_enqueue_automatic_is_at_most_once(store, conv):
    kwargs = dict(account_id=conv.account_id, purpose="auto_reply", text="We're closed, back at 9.",
                  idempotency_key="auto:contact-1:2026-03-02", reason="closed", now=NOW,
                  conversation_id=conv.id, contact_id=conv.contact_id)
    first = outbox.enqueue_automatic(store, **kwargs)
    assert first is not None
    assert outbox.enqueue_automatic(store, **kwargs) is None
    assert Outbox.select().count() == 1
    with pytest.raises(outbox.OutboxError):
        outbox.enqueue_automatic(store, **{**kwargs, "purpose": "reply", "idempotency_key": "k2"})
    fake = FakeConnector()
    assert outbox.flush(store, lambda account_id: fake, POLICY, NOW).sent == [first.id]
    c = Conversation.get_by_id(conv.id)
    # An auto-reply acknowledges but is not a response: the clock keeps running.
    assert c.acknowledged_at == NOW
    assert c.awaiting_since == T0 and c.first_response_at is None
    auto = Message.get(Message.via == "auto")
    assert auto.external_id == "platform-1"


def test_status_post_is_sent_without_conversation(store, conv):
    row = outbox.enqueue_automatic(store, account_id=conv.account_id, purpose="status_post",
                                   text="Closed today", idempotency_key="status:1", reason="holiday", now=NOW)
    fake = FakeConnector()
    assert outbox.flush(store, lambda account_id: fake, POLICY, NOW).sent == [row.id]
    assert Outbox.get_by_id(row.id).external_id == "platform-1"


def test_backoff_delay_bounds():
    rng = random.Random(0)
    for attempt, base in [(1, 30), (2, 60), (3, 120), (20, 1800)]:
        seconds = outbox.backoff_delay(attempt, rng).total_seconds()
        assert base * 0.5 <= seconds <= base * 1.5


def test_connector_crash_reports_the_reopened_conversation(store, conv):
    outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    report = outbox.flush(store, lambda account_id: FakeConnector(ZeroDivisionError("bug")), POLICY, NOW)
    assert Conversation.get_by_id(conv.id).awaiting_since == T0
    assert report.changed_conversation_ids == {conv.id}  # the queue must refresh the row that came back


# --- issue 13 items 4 and 5: one clock, edits and reply windows -----------------------------------------------


def test_resolving_a_failed_send_as_sent_counts_the_deadline_from_what_still_awaits(store, conv):
    """The customer wrote again after the failed reply; once the owner says it arrived after all, the
    deadline runs from that later message (the next-response target), not from the first one."""
    row = outbox.enqueue_reply(store, conv.id, "Yes!", POLICY, NOW)
    outbox.flush(store, lambda account_id: FakeConnector(PermanentError("no")), POLICY, NOW)
    later = InboundItem("in-2", "c1", "dm", False, Author("u1", "lea", "Léa Martin"), "Hello?", NOW + timedelta(minutes=5))
    ingest.ingest(store, conv.account_id, [later], None, POLICY, NOW + timedelta(minutes=5))
    assert Conversation.get_by_id(conv.id).awaiting_since == T0
    outbox.resolve_unknown(store, row.id, sent=True, now=NOW + timedelta(minutes=6), policy=POLICY)
    c = Conversation.get_by_id(conv.id)
    assert (c.unanswered_count, c.awaiting_since) == (1, NOW + timedelta(minutes=5))
    assert c.due_at == NOW + timedelta(minutes=65)  # was still T0 + 1 h, from the first message


def test_withdrawing_a_reply_to_an_edited_review_leaves_it_awaiting_from_the_edit(store, conv):
    review = InboundItem("r1", "place", "review", True, Author("u2", "sam", "Sam"), "Lovely", T0, rating=5)
    ingest.ingest(store, conv.account_id, [review], None, POLICY, T0)
    rid = Conversation.get(Conversation.external_id == "place").id
    outbox.enqueue_reply(store, rid, "Thank you!", POLICY, NOW)
    edited = T0 + timedelta(hours=30)
    ingest.ingest(store, conv.account_id, [replace(review, text="Awful", rating=1, edited_at=edited)], None, POLICY,
                  edited)
    second = outbox.enqueue_reply(store, rid, "So sorry, what happened?", POLICY, edited + timedelta(minutes=1))
    outbox.cancel(store, second.id, POLICY, edited + timedelta(minutes=2))
    c = Conversation.get_by_id(rid)
    assert (c.unanswered_count, c.awaiting_since, c.due_at) == (1, edited, edited + timedelta(hours=24))


WINDOW_RULE = ReplyWindowRule(late_reply=timedelta(days=6), late_reply_how="tagged as a human agent's reply",
                              after_close="open the conversation in the Messenger app")


def _windowed(store, conv, monkeypatch, rule) -> Conversation:
    monkeypatch.setattr(queue, "reply_window_rule", lambda kind: rule)
    item = InboundItem("in-w", "cw", "dm", False, Author("u3", "kim", "Kim"), "Still open?", T0,
                       reply_window_ends_at=T0 + timedelta(hours=24))
    ingest.ingest(store, conv.account_id, [item], None, POLICY, T0)
    return Conversation.get(Conversation.external_id == "cw")


def test_after_the_reply_window_send_is_refused_where_the_platform_takes_no_reply(store, conv, monkeypatch):
    windowed = _windowed(store, conv, monkeypatch, ReplyWindowRule())
    with pytest.raises(outbox.OutboxError, match="reply window closed .* platform's app"):
        outbox.enqueue_reply(store, windowed.id, "Sorry for the wait", POLICY, T0 + timedelta(hours=25))
    assert Outbox.select().count() == 0
    outbox.enqueue_reply(store, windowed.id, "Yes!", POLICY, T0 + timedelta(hours=23))  # still open: fine


def test_after_the_reply_window_a_late_reply_goes_out_tagged(store, conv, monkeypatch):
    windowed = _windowed(store, conv, monkeypatch, WINDOW_RULE)
    late_at = T0 + timedelta(hours=30)
    row = outbox.enqueue_reply(store, windowed.id, "Sorry for the wait", POLICY, late_at)
    fake = FakeConnector()
    assert outbox.flush(store, lambda account_id: fake, POLICY, late_at).sent == [row.id]
    assert fake.targets[-1].late is True
    with pytest.raises(outbox.OutboxError, match="Messenger app"):
        outbox.enqueue_reply(store, windowed.id, "Hello?", POLICY, T0 + timedelta(days=8))
