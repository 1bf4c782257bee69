"""The sync engine: runs connectors off the caller's thread, ingests, flushes the outbox, keeps time.

Decisions:
- Qt-free and thread-based, so the GUI and the headless daemon (`socialdesk sync`) run the very same
  engine. The GUI turns `on_change` into a queued Qt signal; the CLI ignores it or logs.
- Per account: a poll interval (setting `poll_seconds`, default 60 s; demo 5 s), exponential backoff
  with jitter on TransientError (15 s doubling to 15 min), RateLimited honoured to the second, AuthError
  marks the account `auth_error` and stops polling it until the owner re-logs in (`reset_account`).
  One account's trouble never stops the others.
- Accounts whose connector can stream (IMAP IDLE, SSE, long polling) get a dedicated thread that does a
  fetch pass (catch-up) and then streams; after any error it backs off, fetches again, and resumes.
- Fetches run on a small thread pool (network in parallel); writes go through `Store.write()` (one lane).
- Everything time-related takes the injected clock, so `run_once` is deterministic in tests.
- The optional connector members `after_stored(cursor)` (after each commit of items + cursor) and
  `notice` (the account's note while its state is "ok") are honoured as connectors/base.py describes.
"""

from __future__ import annotations

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from socialdesk.connectors.base import (
    AuthError,
    Connector,
    ConnectorError,
    InboundItem,
    PermanentError,
    RateLimited,
    TransientError,
)
from socialdesk.core import ingest as ingest_mod
from socialdesk.core import outbox, queue
from socialdesk.core.clock import Clock
from socialdesk.core.store import Account, Store

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = {"demo": 5}
FALLBACK_POLL_SECONDS = 60
BACKOFF_BASE_S = 15
BACKOFF_MAX_S = 900
TICK_SECONDS = 5


@dataclass
class ChangeSet:
    """What changed, for views to refresh just those rows (Anki's OpChanges)."""

    conversation_ids: set[int] = field(default_factory=set)
    new_inbound: list[tuple[int, int]] = field(default_factory=list)  # (conversation id, message id)
    accounts: set[int] = field(default_factory=set)  # accounts whose state changed
    outbox: bool = False

    def __bool__(self) -> bool:
        return bool(self.conversation_ids or self.new_inbound or self.accounts or self.outbox)

    def merge(self, other: "ChangeSet") -> None:
        self.conversation_ids |= other.conversation_ids
        self.new_inbound += other.new_inbound
        self.accounts |= other.accounts
        self.outbox = self.outbox or other.outbox


IngestHook = Callable[[Account, "ingest_mod.IngestResult", datetime], set[int]]
TickHook = Callable[[datetime], set[int]]


class SyncEngine:
    def __init__(
        self,
        store: Store,
        make_connector: Callable[[Account], Connector],
        clock: Clock,
        policy: Callable[[], "queue.Policy"],
        *,
        on_change: Callable[[ChangeSet], None] | None = None,
        ingest_hooks: list[IngestHook] | None = None,
        tick_hooks: list[TickHook] | None = None,
        rng: random.Random | None = None,
        max_workers: int = 4,
    ):
        self.store = store
        self.make_connector = make_connector
        self.clock = clock
        self.policy = policy
        self.on_change = on_change or (lambda change: None)
        self.ingest_hooks = list(ingest_hooks or [])
        self.tick_hooks = list(tick_hooks or [])
        self.rng = rng or random.Random()
        self._connectors: dict[int, Connector] = {}
        self._failures: dict[int, int] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._running: set[int] = set()
        self._streams: dict[int, threading.Thread] = {}
        self._threads: list[threading.Thread] = []
        self._pool: ThreadPoolExecutor | None = None
        self._max_workers = max_workers

    # --- connectors -------------------------------------------------------------------------------

    def connector(self, account_id: int) -> Connector | None:
        """The live connector for an account, or None if it cannot be used now (disabled, auth)."""
        with self._lock:
            account = Account.get_or_none(Account.id == account_id)
            if account is None or not account.enabled or account.state == "auth_error":
                return None
            if account_id not in self._connectors:
                try:
                    self._connectors[account_id] = self.make_connector(account)
                except ConnectorError as exc:
                    self._set_state(account, "error", str(exc))
                    return None
                except Exception as exc:  # e.g. a setting the connector cannot read: this account only
                    log.exception("building the connector of %s failed", account.name)
                    self._set_state(account, "error", f"Cannot start this account: {type(exc).__name__}: {exc}",
                                    next_in=self._interval(account) * 5)
                    return None
            return self._connectors[account_id]

    def invalidate(self, account_id: int) -> None:
        """Settings or credentials changed: build the connector afresh next time."""
        with self._lock:
            old = self._connectors.pop(account_id, None)
        if old is not None:
            _close_quietly(old)

    def reset_account(self, account_id: int) -> None:
        """After a re-login: clear the error state and poll now."""
        self.invalidate(account_id)
        with self.store.write():
            Account.update(state="new", last_error="", next_sync_at=None).where(Account.id == account_id).execute()
        self._failures.pop(account_id, None)
        self._wake.set()

    # --- one pass ---------------------------------------------------------------------------------

    def sync_account(self, account_id: int) -> ChangeSet:
        """Fetch one account once and ingest. Errors are recorded on the account, never raised."""
        change = ChangeSet()
        account = Account.get_or_none(Account.id == account_id)
        if account is None or not account.enabled or account.state == "auth_error":
            return change
        connector = self.connector(account_id)
        if connector is None:
            change.accounts.add(account_id)
            return change
        try:
            items, cursor = connector.fetch(account.cursor)
            change.merge(self._ingest(account_id, items, cursor, connector))
            self._failures.pop(account_id, None)
            notice = getattr(connector, "notice", "")
            self._set_state(account, "ok", notice if isinstance(notice, str) else "", next_in=self._interval(account))
        except ConnectorError as exc:
            self._record_error(account, exc)
        except Exception as exc:  # a connector bug must not stop the other accounts
            log.exception("connector %s crashed", account.name)
            self._record_error(account, TransientError(f"Internal error in the connector: {type(exc).__name__}"))
        change.accounts.add(account_id)
        return change

    def _ingest(
        self, account_id: int, items: list[InboundItem], cursor: dict, connector: Connector | None = None
    ) -> ChangeSet:
        now = self.clock.now()
        result = ingest_mod.ingest(self.store, account_id, items, cursor, self.policy(), now)
        after_stored = getattr(connector, "after_stored", None)
        if callable(after_stored):
            try:
                after_stored(cursor)
            except Exception as exc:  # the items are stored; only a platform side effect failed
                log.warning("after_stored of account %s failed: %s", account_id, type(exc).__name__)
        change = ChangeSet(set(result.changed_conversation_ids), list(result.new_inbound))
        if result.new_inbound:
            account = Account.get_by_id(account_id)
            for hook in self.ingest_hooks:
                try:
                    change.conversation_ids |= hook(account, result, now) or set()
                except Exception:
                    log.exception("ingest hook failed")
        return change

    def tick(self) -> ChangeSet:
        """Time-driven work: wake snoozes, automation schedule, outbox flush."""
        now = self.clock.now()
        policy = self.policy()
        change = ChangeSet()
        change.conversation_ids |= set(queue.wake_snoozed(self.store, policy, now))
        for hook in self.tick_hooks:
            try:
                change.conversation_ids |= hook(now) or set()
            except Exception:
                log.exception("tick hook failed")
        change.merge(self.flush_outbox())
        return change

    def flush_outbox(self) -> ChangeSet:
        report = outbox.flush(self.store, self.connector, self.policy(), self.clock.now(), rng=self.rng)
        return ChangeSet(set(report.changed_conversation_ids), outbox=bool(report.sent or report.failed or report.retrying))

    def run_once(self) -> ChangeSet:
        """`socialdesk sync --once`: every enabled account once, then automation and the outbox."""
        change = ChangeSet()
        for account in Account.select().where(Account.enabled == True):  # noqa: E712
            change.merge(self.sync_account(account.id))
        change.merge(self.tick())
        return change

    def recover(self) -> ChangeSet:
        """Once at process start: outbox rows a crash left "sending" become "unknown", and healthy
        accounts are fetched at once instead of waiting out the poll interval of the previous run
        (backoff and rate-limit times are still honoured)."""
        with self.store.write():
            Account.update(next_sync_at=None).where(Account.state.in_(["ok", "new"])).execute()
        return ChangeSet(outbox=bool(outbox.recover_interrupted(self.store, self.clock.now())))

    # --- background -------------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._pool = ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="sync")
        thread = threading.Thread(target=self._scheduler, name="sync-scheduler", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads + list(self._streams.values()):
            thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for connector in self._connectors.values():
                _close_quietly(connector)
            self._connectors.clear()

    def poke(self) -> None:
        """Something was queued (a reply): flush and poll without waiting for the next tick."""
        self._wake.set()

    def _scheduler(self) -> None:
        last_tick = None
        while not self._stop.is_set():
            now = self.clock.now()
            try:
                for account in Account.select().where(Account.enabled == True):  # noqa: E712
                    self._maybe_start(account, now)
                if self._wake.is_set() or last_tick is None or (now - last_tick).total_seconds() >= TICK_SECONDS:
                    self._wake.clear()
                    last_tick = now
                    self._emit(self.tick())
            except Exception:
                log.exception("sync scheduler pass failed")
            self._wake.wait(0.5)

    def _maybe_start(self, account: Account, now: datetime) -> None:
        if account.state == "auth_error" or account.id in self._running:
            return
        if account.next_sync_at is not None and account.next_sync_at > now:
            return
        connector = self.connector(account.id)
        if connector is None:
            return
        if "stream" in getattr(connector, "capabilities", ()):
            if account.id not in self._streams or not self._streams[account.id].is_alive():
                thread = threading.Thread(
                    target=self._stream_loop, args=(account.id,), name=f"stream-{account.id}", daemon=True
                )
                self._streams[account.id] = thread
                self._running.add(account.id)
                thread.start()
            return
        self._running.add(account.id)
        assert self._pool is not None
        self._pool.submit(self._poll_job, account.id)

    def _poll_job(self, account_id: int) -> None:
        try:
            self._emit(self.sync_account(account_id))
        finally:
            self._running.discard(account_id)

    def _stream_loop(self, account_id: int) -> None:
        """Catch up with a fetch, then stream; on error back off and start over."""
        try:
            while not self._stop.is_set():
                change = self.sync_account(account_id)
                self._emit(change)
                account = Account.get_or_none(Account.id == account_id)
                if account is None or not account.enabled or account.state != "ok":
                    return  # the scheduler restarts us when the account is due again
                connector = self.connector(account_id)
                if connector is None:
                    return
                try:
                    connector.stream(account.cursor, lambda items, cursor, live=connector: self._emit(
                        self._ingest(account_id, items, cursor, live)), self._stop)
                except ConnectorError as exc:
                    self._record_error(Account.get_by_id(account_id), exc)
                    self._emit(ChangeSet(accounts={account_id}))
                    return
                except Exception as exc:
                    log.exception("stream of account %s crashed", account_id)
                    self._record_error(
                        Account.get_by_id(account_id), TransientError(f"Internal error: {type(exc).__name__}")
                    )
                    return
        finally:
            self._running.discard(account_id)

    def _emit(self, change: ChangeSet) -> None:
        if change:
            try:
                self.on_change(change)
            except Exception:
                log.exception("change listener failed")

    # --- account state ----------------------------------------------------------------------------

    def _interval(self, account: Account) -> float:
        settings = account.settings or {}
        try:
            return max(1.0, float(settings.get("poll_seconds", DEFAULT_POLL_SECONDS.get(account.kind, FALLBACK_POLL_SECONDS))))
        except (TypeError, ValueError):
            return FALLBACK_POLL_SECONDS

    def _record_error(self, account: Account, exc: ConnectorError) -> None:
        now = self.clock.now()
        if isinstance(exc, AuthError):
            self.invalidate(account.id)
            self._set_state(account, "auth_error", str(exc))
        elif isinstance(exc, RateLimited):
            self._set_state(account, "rate_limited", str(exc), at=max(exc.retry_at, now))
        elif isinstance(exc, PermanentError):
            self._set_state(account, "error", str(exc), next_in=self._interval(account) * 5)
        else:
            failures = self._failures.get(account.id, 0) + 1
            self._failures[account.id] = failures
            delay = min(BACKOFF_BASE_S * 2 ** (failures - 1), BACKOFF_MAX_S) * self.rng.uniform(0.5, 1.5)
            self.invalidate(account.id)
            self._set_state(account, "backoff", str(exc), next_in=delay)

    def _set_state(
        self, account: Account, state: str, error: str, *, next_in: float | None = None, at: datetime | None = None
    ) -> None:
        now = self.clock.now()
        next_at = at if at is not None else (now + timedelta(seconds=next_in) if next_in is not None else None)
        with self.store.write():
            Account.update(state=state, last_error=error[:500], next_sync_at=next_at).where(
                Account.id == account.id
            ).execute()
        account.state, account.last_error, account.next_sync_at = state, error, next_at


def _close_quietly(connector: Connector) -> None:
    try:
        connector.close()
    except Exception:
        log.debug("closing a connector failed", exc_info=True)
