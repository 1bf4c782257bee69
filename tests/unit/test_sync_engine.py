"""Tests for core/sync.py: run_once over several accounts, error states, backoff with jitter, background run,
one worker per account (a hung send holds up nobody else; a stream gives way to a send) and the
account's rate-limit memory across rebuilt connectors."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors.base import Author, InboundItem, OutboundResult, PermanentError
from socialdesk.connectors.demo import OPENING, DemoConnector
from socialdesk.core import outbox, queue
from socialdesk.core.clock import ManualClock
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Account, Conversation, Message, Outbox
from socialdesk.core.sync import BACKOFF_BASE_S, ChangeSet, SyncEngine
from socialdesk.core.targets import TargetConfig

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
POLICY = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))


class Harness:
    def __init__(self, store, rng=None):
        self.clock = ManualClock(T0)
        self.fetches: dict[str, int] = {}
        self.built: list[str] = []
        self.store = store
        self.engine = SyncEngine(store, self.make, self.clock, lambda: POLICY, rng=rng or random.Random(0))

    def make(self, account: Account):
        self.built.append(account.name)
        connector = DemoConnector(dict(account.settings), None, now=self.clock.now)
        original = connector.fetch

        def counting_fetch(cursor):
            self.fetches[account.name] = self.fetches.get(account.name, 0) + 1
            return original(cursor)

        connector.fetch = counting_fetch
        return connector

    def add(self, name: str, **settings) -> Account:
        with self.store.write():
            return Account.create(kind="demo", name=name, settings=settings, created_at=T0)


def test_run_once_ingests_every_account(store):
    h = Harness(store)
    ig = h.add("IG", channel="bluesky")
    mail = h.add("Mail", channel="email")
    change = h.engine.run_once()
    expected = len(OPENING["bluesky"]) + len(OPENING["email"])
    assert Message.select().count() == expected
    assert len(change.new_inbound) == expected
    assert change.accounts == {ig.id, mail.id}
    for acc in (ig, mail):
        fresh = Account.get_by_id(acc.id)
        assert fresh.state == "ok" and fresh.last_error == ""
        assert fresh.cursor["seq"] == 0
        assert fresh.next_sync_at == T0 + timedelta(seconds=5)  # the demo poll interval
    # Second pass: nothing new, nothing duplicated.
    assert h.engine.run_once().new_inbound == []
    assert Message.select().count() == expected


def test_disabled_account_is_not_synced(store):
    h = Harness(store)
    h.add("IG", channel="bluesky")
    with store.write():
        Account.update(enabled=False).execute()
    assert not h.engine.run_once()
    assert h.fetches == {}


@pytest.mark.parametrize(
    "fail,state", [("transient", "backoff"), ("auth", "auth_error"), ("rate", "rate_limited"), ("permanent", "error")]
)
def test_failing_account_records_state_and_others_continue(store, fail, state):
    h = Harness(store)
    bad = h.add("Bad", channel="mastodon", fail=fail)
    good = h.add("Good", channel="bluesky")
    h.engine.run_once()
    b = Account.get_by_id(bad.id)
    assert b.state == state
    assert "simulated" in b.last_error
    if fail == "auth":
        assert b.next_sync_at is None
    else:
        assert b.next_sync_at > T0
    if fail == "rate":
        assert b.next_sync_at == T0 + timedelta(seconds=30)
    assert Account.get_by_id(good.id).state == "ok"
    assert Message.select().where(Message.account == good.id).count() == len(OPENING["bluesky"])
    assert Message.select().where(Message.account == bad.id).count() == 0


def test_auth_error_is_skipped_until_reset(store):
    h = Harness(store)
    acc = h.add("Bad", channel="mastodon", fail="auth")
    h.engine.run_once()
    assert h.fetches == {"Bad": 1}
    h.clock.advance(hours=1)
    h.engine.run_once()
    h.engine.sync_account(acc.id)
    assert h.fetches == {"Bad": 1}
    assert h.engine.connector(acc.id) is None
    # The owner fixes the login (here: the setting) and re-logs in.
    with store.write():
        Account.update(settings={"channel": "mastodon"}).where(Account.id == acc.id).execute()
    h.engine.reset_account(acc.id)
    assert Account.get_by_id(acc.id).state == "new"
    h.engine.run_once()
    assert h.fetches == {"Bad": 2}
    assert Account.get_by_id(acc.id).state == "ok"
    assert Message.select().count() == len(OPENING["mastodon"])


def test_backoff_grows_with_jitter_and_resets_after_success(store):
    h = Harness(store, rng=random.Random(0))
    acc = h.add("Bad", channel="mastodon", fail="transient")
    expected_rng = random.Random(0)
    for failures in (1, 2, 3):
        h.engine.sync_account(acc.id)
        base = BACKOFF_BASE_S * 2 ** (failures - 1)
        expected = base * expected_rng.uniform(0.5, 1.5)
        fresh = Account.get_by_id(acc.id)
        assert fresh.state == "backoff"
        delay = (fresh.next_sync_at - h.clock.now()).total_seconds()
        assert delay == pytest.approx(expected, abs=1e-3)
        assert base * 0.5 <= delay <= base * 1.5
    # A transient failure rebuilds the connector next time.
    assert h.built.count("Bad") == 3
    with store.write():
        Account.update(settings={"channel": "mastodon"}).where(Account.id == acc.id).execute()
    h.engine.invalidate(acc.id)
    h.engine.sync_account(acc.id)
    assert Account.get_by_id(acc.id).state == "ok"
    with store.write():
        Account.update(settings={"channel": "mastodon", "fail": "transient"}).where(Account.id == acc.id).execute()
    h.engine.invalidate(acc.id)
    h.engine.sync_account(acc.id)
    delay = (Account.get_by_id(acc.id).next_sync_at - h.clock.now()).total_seconds()
    assert BACKOFF_BASE_S * 0.5 <= delay <= BACKOFF_BASE_S * 1.5  # counting started again


def test_connector_that_cannot_be_built_marks_error(store):
    h = Harness(store)
    acc = h.add("Odd", channel="myspace")
    ok = h.add("Good", channel="bluesky")
    h.engine.run_once()
    assert Account.get_by_id(acc.id).state == "error"
    assert "myspace" in Account.get_by_id(acc.id).last_error
    assert Account.get_by_id(ok.id).state == "ok"


def test_crashing_connector_becomes_backoff(store):
    h = Harness(store)
    acc = h.add("IG", channel="bluesky")
    connector = h.engine.connector(acc.id)

    def crash(cursor):
        raise KeyError("bug")

    connector.fetch = crash
    h.engine.sync_account(acc.id)
    fresh = Account.get_by_id(acc.id)
    assert fresh.state == "backoff"
    assert "KeyError" in fresh.last_error


def test_tick_wakes_snoozes_and_flushes_outbox(store):
    h = Harness(store)
    h.add("IG", channel="bluesky")
    h.engine.run_once()
    conv_id = queue.list_ids("awaiting", h.clock.now())[0]
    row = outbox.enqueue_reply(store, conv_id, "On it!", POLICY, h.clock.now())
    other = queue.list_ids("awaiting", h.clock.now())[0]
    queue.set_status(store, other, "snoozed", POLICY, h.clock.now(), snoozed_until=T0 + timedelta(minutes=30))
    change = h.engine.tick()
    assert Outbox.get_by_id(row.id).state == "sent"
    assert change.outbox and conv_id in change.conversation_ids
    assert Conversation.get_by_id(other).status == "snoozed"
    h.clock.advance(minutes=30)
    change = h.engine.tick()
    assert other in change.conversation_ids
    assert Conversation.get_by_id(other).status == "open"


def test_recover_turns_sending_into_unknown(store):
    h = Harness(store)
    h.add("IG", channel="bluesky")
    h.engine.run_once()
    conv_id = queue.list_ids("awaiting", h.clock.now())[0]
    row = outbox.enqueue_reply(store, conv_id, "On it!", POLICY, h.clock.now())
    with store.write():
        Outbox.update(state="sending").where(Outbox.id == row.id).execute()
    assert h.engine.recover().outbox
    assert Outbox.get_by_id(row.id).state == "unknown"


def test_hooks_run_and_their_failures_are_contained(store):
    h = Harness(store)
    h.add("IG", channel="bluesky")
    seen = []

    def ingest_hook(account, result, now):
        seen.append((account.name, len(result.new_inbound)))
        return {12345}

    def broken_hook(account, result, now):
        raise RuntimeError("hook bug")

    h.engine.ingest_hooks += [broken_hook, ingest_hook]
    h.engine.tick_hooks.append(lambda now: (_ for _ in ()).throw(PermanentError("tick bug")))
    change = h.engine.run_once()
    assert seen == [("IG", len(OPENING["bluesky"]))]
    assert 12345 in change.conversation_ids


def test_changeset_merge_and_truth():
    a = ChangeSet()
    assert not a
    a.merge(ChangeSet({1}, [(1, 2)], {3}, True))
    assert a and a.conversation_ids == {1} and a.new_inbound == [(1, 2)] and a.accounts == {3} and a.outbox


def test_background_run_reports_changes(store):
    """A real, short background run: the scheduler polls the account and on_change gets a ChangeSet."""
    h = Harness(store)
    h.add("IG", channel="bluesky")
    got: list[ChangeSet] = []
    arrived = threading.Event()

    def on_change(change: ChangeSet) -> None:
        got.append(change)
        if change.new_inbound:
            arrived.set()

    h.engine.on_change = on_change
    h.engine.start()
    try:
        assert arrived.wait(2.0), "no ChangeSet with new messages within 2 s"
    finally:
        h.engine.stop(timeout=2.0)
    assert all(isinstance(c, ChangeSet) for c in got)
    assert sum(len(c.new_inbound) for c in got) == len(OPENING["bluesky"])
    assert Message.select().count() == len(OPENING["bluesky"])
    assert not any(t.is_alive() for t in h.engine._threads)


def test_connector_factory_bug_does_not_stop_other_accounts(store):
    """A settings value the connector cannot read (interval_s=abc) must not break the whole pass."""
    h = Harness(store)
    bad = h.add("Bad", channel="mastodon", interval_s="abc")
    good = h.add("Good", channel="bluesky")
    h.engine.run_once()
    fresh = Account.get_by_id(bad.id)
    assert fresh.state == "error"
    assert "ValueError" in fresh.last_error
    assert Account.get_by_id(good.id).state == "ok"
    assert Message.select().where(Message.account == good.id).count() == len(OPENING["bluesky"])
    assert h.engine.connector(bad.id) is None
    # Retried later, not on every scheduler pass.
    assert Account.get_by_id(bad.id).next_sync_at > h.clock.now()


# --- one worker per account (issue 13 item 6, issue 12 item 8) ------------------------------------


def wait_for(predicate, timeout: float = 10.0) -> bool:
    """Poll until `predicate()` holds (bounded; generous: it only ends a failing test sooner)."""
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class HangingSends(Harness):
    """Accounts named in `hang` have a reply() that blocks until `release` (bounded) like a send to a
    server that never answers; `hung` is set once such a send has started."""

    def __init__(self, store, hang: set[str]):
        super().__init__(store)
        self.hang = hang
        self.hung = threading.Event()
        self.release = threading.Event()

    def make(self, account: Account):
        connector = super().make(account)
        if account.name in self.hang:
            original = connector.reply

            def hanging_reply(*args, **kwargs):
                self.hung.set()
                self.release.wait(30)
                return original(*args, **kwargs)

            connector.reply = hanging_reply
        return connector


def _reply_to_first_conversation(h: Harness, account: Account, text: str) -> Outbox:
    conv = Conversation.select().where(Conversation.account == account.id).order_by(Conversation.id).first()
    return outbox.enqueue_reply(h.store, conv.id, text, POLICY, h.clock.now())


def _live_count(account: Account) -> int:
    return Message.select().where((Message.account == account.id) & Message.external_id.contains(":live:")).count()


@pytest.mark.parametrize("mode", ["background", "once"])
def test_a_hung_send_holds_up_only_its_own_account(store, mode):
    h = HangingSends(store, hang={"Slow"})
    slow = h.add("Slow", channel="bluesky")
    fast = h.add("Fast", channel="email", interval_s=60)
    h.engine.run_once()  # opening scenes, nothing to send yet
    slow_row = _reply_to_first_conversation(h, slow, "Slow account's reply")  # queued first
    fast_row = _reply_to_first_conversation(h, fast, "Fast account's reply")
    h.clock.advance(seconds=60)  # a new customer message waits at Fast
    runner = threading.Thread(target=h.engine.run_once, daemon=True)
    try:
        if mode == "background":
            h.engine.start()
            h.engine.poke()
        else:
            runner.start()
        assert h.hung.wait(10), "the slow account's send never started"
        assert wait_for(lambda: Outbox.get_by_id(fast_row.id).state == "sent"), "Fast's reply waited behind Slow's"
        assert wait_for(lambda: _live_count(fast) == 1), "Fast's fetch waited behind Slow's send"
        if mode == "background":  # and it goes on fetching while Slow's send still hangs
            h.clock.advance(seconds=60)
            assert wait_for(lambda: _live_count(fast) == 2)
        assert Outbox.get_by_id(slow_row.id).state == "sending"
    finally:
        h.release.set()
        if runner.ident:
            runner.join(10)
        h.engine.stop(timeout=5)
    assert wait_for(lambda: Outbox.get_by_id(slow_row.id).state == "sent")  # released: it goes out, once
    assert Outbox.select().where(Outbox.state == "sent").count() == 2


def test_rate_limit_state_survives_a_rebuilt_connector(store):
    """Mastodon said "0 posts left until T"; a network error rebuilds the connector; the next reply still
    waits for T instead of spending a request (before: the new connector had forgotten, and posted)."""
    from socialdesk.connectors.base import MemorySecrets
    from socialdesk.connectors.mastodon import MastodonConnector
    from tests.fakes.mastodon import MastodonFake

    fake = MastodonFake(lifetime=60)
    clock = ManualClock(T0)
    built: list[MastodonConnector] = []

    def make(account: Account) -> MastodonConnector:
        connector = MastodonConnector(dict(account.settings), MemorySecrets({"token": "good-token"}),
                                      now=clock.now, sleep=lambda s: None)
        built.append(connector)
        return connector

    with fake.running():
        engine = SyncEngine(store, make, clock, lambda: POLICY, rng=random.Random(1))
        with store.write():
            masto = Account.create(kind="mastodon", name="Fedi", settings={"instance": fake.url}, created_at=T0)
        fake.add("hello @shop, are you open?")
        engine.sync_account(masto.id)
        reset = T0 + timedelta(minutes=10)
        fake.limit_reset, fake.remaining = reset, 1  # our next request spends the last one
        conv = Conversation.get(Conversation.account == masto.id)
        first = outbox.enqueue_reply(store, conv.id, "Yes, until six!", POLICY, clock.now())
        engine.flush_outbox()
        assert Outbox.get_by_id(first.id).state == "sent"
        posts = [p for p in fake.paths() if p == "/api/v1/statuses"]

        fake.inject(500, {"error": "boom"}, path="/api/v1/notifications", times=20)
        clock.advance(minutes=1)
        engine.sync_account(masto.id)
        assert Account.get_by_id(masto.id).state == "backoff"  # a TransientError: the connector goes
        fake.clear_faults()

        second = outbox.enqueue_reply(store, conv.id, "See you then.", POLICY, clock.now())
        engine.flush_outbox()
        assert len(built) == 2  # the connector was rebuilt...
        row = Outbox.get_by_id(second.id)
        assert row.state == "pending" and row.next_attempt_at == reset  # ...and still knew the budget
        assert [p for p in fake.paths() if p == "/api/v1/statuses"] == posts  # no request spent
        engine.stop()


class StreamingFake:
    """A streaming connector that records whether a send ever ran while its stream was open."""

    kind = "demo"
    capabilities = frozenset({"dm", "stream"})

    def __init__(self, log: dict):
        self.log = log

    def fetch(self, cursor):
        if cursor:
            return [], cursor
        item = InboundItem("m1", "c1", "dm", False, Author("cust", "cust"), "hi", T0)
        return [item], {"n": 1}

    def stream(self, cursor, on_items, stop_event):
        self.log["streams"] += 1
        self.log["open"] = True
        try:
            stop_event.wait(30)
        finally:
            self.log["open"] = False

    def reply(self, target, text, *, idempotency_key):
        self.log["sent_while_streaming"].append(self.log["open"])
        return OutboundResult(external_id=f"out:{idempotency_key}")

    def post_status(self, text, *, idempotency_key):
        raise PermanentError("no")

    def check(self):
        raise PermanentError("no")

    def close(self):
        pass


def test_a_stream_gives_way_to_a_send_and_resumes(store):
    """The account's worker is the only user of its connector: a send stops the stream, runs, and the
    stream starts again (before, sends ran on another thread while the stream was open)."""
    log = {"streams": 0, "open": False, "sent_while_streaming": []}
    clock = ManualClock(T0)
    engine = SyncEngine(store, lambda account: StreamingFake(log), clock, lambda: POLICY)
    with store.write():
        acc = Account.create(kind="demo", name="Live", settings={}, created_at=T0)
    engine.start()
    try:
        assert wait_for(lambda: log["open"]), "the stream never started"
        conv = Conversation.get(Conversation.account == acc.id)
        row = outbox.enqueue_reply(store, conv.id, "Hello!", POLICY, clock.now())
        engine.poke()
        assert wait_for(lambda: Outbox.get_by_id(row.id).state == "sent")
        assert log["sent_while_streaming"] == [False]
        assert wait_for(lambda: log["streams"] == 2 and log["open"]), "the stream did not resume"
    finally:
        engine.stop(timeout=5)
    assert not log["open"]
