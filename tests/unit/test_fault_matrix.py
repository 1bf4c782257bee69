"""Fault matrix: the sync engine against the fake servers when the network and the platforms misbehave.

Faults: timeouts, connection resets, 500s, 429 with a retry time, malformed JSON, truncated bodies,
expired or invalid tokens. For each the account shows a state and an owner-readable error, backs off
(growing, jittered `next_sync_at`) or waits exactly as asked, never stops the other accounts, and
recovers when the fault clears with everything ingested once.

Decisions:
- Status and body faults use the fakes' own `inject`. Network faults (reset, stall, truncated body)
  come from `FaultProxy`, a tiny TCP relay in front of the fake on 127.0.0.1 whose mode the test flips.
- Time is a `ManualClock` given to both the engine and the connectors (so a 429's retry time is on the
  same clock); the engine's rng is seeded. Only read timeouts take real time, kept short by giving
  the connector's Http a 0.3 s read timeout (connectors build their Http without a timeout argument).
"""

from __future__ import annotations

import random
import socket
import struct
import threading
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest

from socialdesk.connectors.base import MemorySecrets
from socialdesk.connectors.bluesky import BlueskyConnector
from socialdesk.connectors.demo import OPENING, DemoConnector
from socialdesk.connectors.mastodon import MastodonConnector
from socialdesk.connectors.telegram import TelegramConnector
from socialdesk.core import outbox, queue
from socialdesk.core.clock import ManualClock
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Account, Conversation, Message, Outbox
from socialdesk.core.sync import BACKOFF_BASE_S, SyncEngine
from socialdesk.core.targets import TargetConfig
from tests.fakes.bluesky import HANDLE, PASSWORD, BlueskyFake
from tests.fakes.mastodon import MastodonFake
from tests.fakes.telegram import TOKEN, TelegramFake

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
POLICY = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))
SHORT_TIMEOUT = (1.0, 0.3)


class FaultProxy:
    """A TCP relay to `upstream` with a switchable fault: pass, reset, stall or truncate.

    reset: the connection is closed with RST as soon as it is accepted. stall: the request is read and
    never answered (the client's read timeout fires). truncate: the answer's headers and the first few
    body bytes are relayed, then the connection closes (Content-Length promised more).
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.mode = "pass"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopping = threading.Event()
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def set(self, mode: str) -> None:
        """Switch mode; connections kept alive from before are dropped so the new mode applies."""
        with self.lock:
            self.mode = mode
            for sock in self.open:
                _close(sock)
            self.open.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.set("pass")
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            mode = self.mode
            if mode == "reset":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            with self.lock:
                self.open.append(client)
            if mode == "stall":
                continue  # held open, never answered, closed by set()/stop()
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            with self.lock:
                self.open.append(upstream)
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, mode), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, mode: str | None) -> None:
        seen = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if mode == "truncate":
                    seen += data
                    end = seen.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    dst.sendall(seen[: end + 4 + 3])  # headers and three body bytes, then hang up
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class Rig:
    """Store + engine + fakes: `telegram` goes through the proxy; a demo account runs alongside."""

    def __init__(self, store, telegram: TelegramFake, proxy: FaultProxy):
        self.store = store
        self.clock = ManualClock(T0)
        self.telegram = telegram
        self.proxy = proxy
        self.secrets: dict[str, MemorySecrets] = {}
        self.engine = SyncEngine(store, self.make, self.clock, lambda: POLICY, rng=random.Random(7))

    def make(self, account: Account):
        settings = dict(account.settings)
        secrets = self.secrets[account.name]
        quiet = {"sleep": lambda s: None, "now": self.clock.now}
        if account.kind == "telegram":
            connector = TelegramConnector(settings, secrets, page_limit=3, **quiet)
        elif account.kind == "mastodon":
            connector = MastodonConnector(settings, secrets, page_limit=3, **quiet)
        elif account.kind == "bluesky":
            connector = BlueskyConnector(settings, secrets, page_limit=3, **quiet)
        else:
            return DemoConnector(settings, None, now=self.clock.now)
        connector.http.timeout = SHORT_TIMEOUT
        return connector

    def add(self, kind: str, name: str, settings: dict, secrets: dict[str, str] | None = None) -> int:
        self.secrets[name] = MemorySecrets(dict(secrets or {}))
        with self.store.write():
            return Account.create(kind=kind, name=name, settings=settings, created_at=T0).id

    def sync(self, account_id: int) -> Account:
        self.engine.sync_account(account_id)
        return Account.get_by_id(account_id)

    def catch_up(self, account_id: int, rounds: int = 10) -> Account:
        """Sync until nothing new arrives (pages of 3), moving the clock past each next_sync_at."""
        for _ in range(rounds):
            before = Message.select().where(Message.account == account_id).count()
            account = self.sync(account_id)
            assert account.state == "ok", account.last_error
            self.clock.set(account.next_sync_at)
            if Message.select().where(Message.account == account_id).count() == before:
                return account
        raise AssertionError("did not catch up")


def inbound_ids(account_id: int) -> list[str]:
    return [m.external_id for m in Message.select().where((Message.account == account_id) & (Message.direction == "in"))]


@pytest.fixture
def telegram() -> Iterator[TelegramFake]:
    fake = TelegramFake(max_poll=0.2, lifetime=60)
    with fake.running():
        yield fake


@pytest.fixture
def rig(store, telegram) -> Iterator[Rig]:
    proxy = FaultProxy(int(telegram.url.rsplit(":", 1)[1]))
    rig = Rig(store, telegram, proxy)
    yield rig
    rig.engine.stop()
    proxy.stop()


NETWORK_FAULTS = ["reset", "stall", "truncate"]
STATUS_FAULTS = {
    "http500": (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
    "malformed_json": (200, b'{"ok": true, "result": [{"update_id": 10'),
    "html_error_page": (502, b"<html><body>Bad Gateway</body></html>"),
}


@pytest.mark.parametrize("fault", NETWORK_FAULTS + list(STATUS_FAULTS))
def test_transient_fault_backs_off_keeps_others_going_and_recovers(rig, fault):
    tg = rig.add("telegram", "Shop bot", {"api_base": rig.proxy.url}, {"token": TOKEN})
    demo = rig.add("demo", "Demo Bluesky", {"channel": "bluesky"})
    updates = [rig.telegram.add(f"question {i}") for i in range(5)]
    seeded = [f"{u['message']['chat']['id']}:{u['message']['message_id']}" for u in updates]
    if fault in NETWORK_FAULTS:
        rig.proxy.set(fault)
    else:
        status, body = STATUS_FAULTS[fault]
        rig.telegram.inject(status, body, path="getUpdates", times=1000)

    delays = []
    for failures in range(1, 4):
        now = rig.clock.now()
        rig.engine.run_once()
        account = Account.get_by_id(tg)
        assert account.state == "backoff"
        assert account.last_error and TOKEN not in account.last_error and "Traceback" not in account.last_error
        delay = (account.next_sync_at - now).total_seconds()
        base = BACKOFF_BASE_S * 2 ** (failures - 1)
        assert base * 0.5 <= delay <= base * 1.5  # exponential with ±50 % jitter
        delays.append(delay)
        rig.clock.set(account.next_sync_at)
    assert delays[2] > delays[0]
    # The other account was synced on every pass regardless.
    assert Account.get_by_id(demo).state == "ok"
    assert len(inbound_ids(demo)) >= len(OPENING["bluesky"])
    assert inbound_ids(tg) == []

    rig.proxy.set("pass")
    rig.telegram.clear_faults()
    rig.catch_up(tg)
    account = Account.get_by_id(tg)
    assert account.state == "ok" and account.last_error == ""
    assert sorted(inbound_ids(tg)) == sorted(seeded)  # everything, once
    assert account.cursor["offset"] == updates[-1]["update_id"] + 1


def test_rate_limit_waits_exactly_as_asked_then_recovers(rig):
    tg = rig.add("telegram", "Shop bot", {"api_base": rig.telegram.url}, {"token": TOKEN})
    rig.telegram.add("are you open?")
    rig.telegram.inject(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 90",
                              "parameters": {"retry_after": 90}}, path="getUpdates")
    account = rig.sync(tg)
    assert account.state == "rate_limited"
    assert account.next_sync_at == T0 + timedelta(seconds=90)
    assert "90" in account.last_error
    account = rig.catch_up(tg)
    assert len(inbound_ids(tg)) == 1 and account.state == "ok"


def test_mastodon_429_retry_after_header_and_expired_token(store):
    fake = MastodonFake(lifetime=60)
    with fake.running():
        rig = Rig(store, None, None)  # type: ignore[arg-type]
        masto = rig.add("mastodon", "Fedi", {"instance": fake.url}, {"token": "good-token"})
        fake.add("hello @shop")
        fake.inject(429, {"error": "Too many requests"}, path="/api/v1/notifications",
                    headers={"Retry-After": "120"})
        account = rig.sync(masto)
        assert account.state == "rate_limited"
        assert account.next_sync_at == T0 + timedelta(seconds=120)
        rig.catch_up(masto)
        assert len(inbound_ids(masto)) == 1

        fake.tokens.clear()  # the owner revoked the app: the token no longer works
        fake.add("second question")
        account = rig.sync(masto)
        assert account.state == "auth_error"
        assert "good-token" not in account.last_error
        # No polling while the credentials are bad, however much time passes.
        rig.clock.advance(hours=2)
        assert not rig.engine.sync_account(masto).new_inbound
        assert Account.get_by_id(masto).state == "auth_error"
        fake.tokens.add("good-token")  # re-login
        rig.engine.reset_account(masto)
        rig.catch_up(masto)
        assert len(inbound_ids(masto)) == 2
        rig.engine.stop()


def test_telegram_invalid_token_is_auth_error_until_relogin(rig):
    tg = rig.add("telegram", "Shop bot", {"api_base": rig.telegram.url}, {"token": "123:wrong-token-xyz"})
    demo = rig.add("demo", "Demo mail", {"channel": "email"})
    rig.telegram.add("hi")
    rig.engine.run_once()
    account = Account.get_by_id(tg)
    assert account.state == "auth_error" and "@BotFather" in account.last_error
    assert "wrong-token" not in account.last_error
    assert Account.get_by_id(demo).state == "ok"
    rig.secrets["Shop bot"].set("token", TOKEN)
    rig.engine.reset_account(tg)
    rig.catch_up(tg)
    assert len(inbound_ids(tg)) == 1


def test_bluesky_expired_token_refreshes_and_retries_once(store):
    fake = BlueskyFake(lifetime=60)
    with fake.running():
        rig = Rig(store, None, None)  # type: ignore[arg-type]
        sky = rig.add("bluesky", "Sky", {"pds": fake.url, "handle": HANDLE}, {"password": PASSWORD})
        fake.add("@shop hello")
        rig.catch_up(sky)
        assert len(inbound_ids(sky)) == 1
        logins = fake.create_session_calls

        fake.expire_access_tokens()
        fake.add("@shop second")
        account = rig.catch_up(sky)
        assert account.state == "ok"
        assert fake.refresh_calls == 1 and fake.create_session_calls == logins  # refreshed, no new login
        assert len(inbound_ids(sky)) == 2

        # Refresh refused and the app password revoked: only the owner can fix it.
        fake.expire_access_tokens()
        fake.refresh.clear()
        rig.secrets["Sky"].set("password", "revoked-app-pass")
        account = rig.sync(sky)
        assert account.state == "auth_error"
        assert "revoked-app-pass" not in account.last_error
        rig.secrets["Sky"].set("password", PASSWORD)
        rig.engine.reset_account(sky)
        fake.add("@shop third")
        rig.catch_up(sky)
        assert len(inbound_ids(sky)) == 3 and len(set(inbound_ids(sky))) == 3
        rig.engine.stop()


def _mastodon_with_a_dm(store, fake: MastodonFake) -> tuple[Rig, int]:
    """A rig with one Mastodon account that has fetched one customer DM."""
    rig = Rig(store, None, None)  # type: ignore[arg-type]
    masto = rig.add("mastodon", "Fedi", {"instance": fake.url}, {"token": "good-token"})
    fake.add("where is my order?", visibility="direct", acct="bob@else.where")
    rig.catch_up(masto)
    return rig, masto


def test_a_refused_reply_fails_once_returns_to_the_queue_and_the_account_stays_ok(store):
    """Mastodon's 403 "This action is not allowed" concerns this reply, not the login: before, it was
    read as "log in again", so the reply was retried every 5 minutes for ever while the account showed OK."""
    fake = MastodonFake(lifetime=60)
    with fake.running():
        rig, masto = _mastodon_with_a_dm(store, fake)
        conv = Conversation.get()
        row = outbox.enqueue_reply(store, conv.id, "It ships today", POLICY, rig.clock.now())
        fake.inject(403, {"error": "This action is not allowed"}, path="/api/v1/statuses", times=100)
        for _ in range(50):
            rig.engine.flush_outbox()
            rig.clock.advance(minutes=5)
        assert Outbox.get_by_id(row.id).state == "failed" and Outbox.get_by_id(row.id).attempts == 1
        assert Account.get_by_id(masto).state == "ok"
        assert queue.list_ids("awaiting", rig.clock.now()) == [conv.id]
        assert Conversation.get_by_id(conv.id).preview == "Not sent: Mastodon does not allow this here: This action is not allowed."
        rig.engine.stop()


def test_a_send_refused_for_the_login_marks_the_account_and_waits_for_relogin(store):
    fake = MastodonFake(lifetime=60)
    with fake.running():
        rig, masto = _mastodon_with_a_dm(store, fake)
        row = outbox.enqueue_reply(store, Conversation.get().id, "It ships today", POLICY, rig.clock.now())
        fake.tokens.clear()  # the owner revoked the app
        change = rig.engine.flush_outbox()
        assert masto in change.accounts
        account = Account.get_by_id(masto)
        assert account.state == "auth_error" and "good-token" not in account.last_error
        sent_before = len(fake.requests)
        for _ in range(12):  # an hour of scheduler ticks: nothing is tried with the dead login
            rig.clock.advance(minutes=5)
            rig.engine.flush_outbox()
        assert len(fake.requests) == sent_before and Outbox.get_by_id(row.id).attempts == 1
        fake.tokens.add("good-token")  # re-login
        rig.engine.reset_account(masto)
        rig.engine.flush_outbox()
        assert Outbox.get_by_id(row.id).state == "sent" and len(fake.posted) == 1
        rig.engine.stop()
