"""The sync engine: runs connectors off the caller's thread, ingests, flushes the outbox, keeps time.

Decisions:
- Qt-free and thread-based, so the GUI and the headless daemon (`socialdesk sync`) run the very same
  engine. `on_change` receives every ChangeSet (core/changes.py); app.build_core points it at the
  profile's ChangeBus, where the window's relay and `socialdesk sync` listen.
- Per account: a poll interval (setting `poll_seconds`, else its connector's traits: 60 s, demo 5 s),
  exponential backoff with jitter on TransientError (15 s doubling to 15 min), RateLimited honoured to
  the second, AuthError marks the account `auth_error` and stops polling it until the owner re-logs in
  (`reset_account`).
  One account's trouble never stops the others.
- One worker per account (issue 13 item 6): in the background run every enabled account has one
  thread that does all its network work serially, sends first (the owner is waiting), then its fetch
  or its stream. A scheduler thread, which never touches the network, asks the workers to fetch when
  their account is due and to send when it has outbox rows due (on `poke`, at once). So a hung or slow
  send or fetch holds up only its own account: before, every send of every account was flushed one
  after another on the scheduler's thread, and a healthy account's reply waited 175 s behind a slow
  account's send. The connector therefore has one user at a time (the account's lock, also taken by
  the synchronous calls below), which also keeps token refreshes from racing. `run_once`, `tick` and `flush_outbox` (the `sync --once` CLI,
  `reply` and tests) run the same per-account work, every account on its own thread, and return when
  all are done. Every network operation itself ends at its deadline (connectors/deadline.py: HTTP
  60 s, IMAP/SMTP 120 s plus download time), so a worker is never stuck for good either.
- A streaming connector (IMAP IDLE, SSE, long polling) streams on its worker: a catch-up fetch, then
  stream() until it ends. A send makes the stream give way (its stop event is set): the worker sends,
  then catches up and streams again; after an error the account backs off like a failed fetch.
- What belongs to the account outlives its connector (`_AccountState`): the failure count behind the
  backoff and the rate-limit windows. A connector is rebuilt after every TransientError and every
  settings change; before, that threw the platform's "0 requests left until T" away and the next call
  was spent on a 429. The engine hands each connector it builds the account's dict as its
  `http.limits` (connectors/http.py).
- Other network work of an account (refreshing what its server keeps while socialdesk is closed,
  core/coverage.py) is a job handed to `submit`: one background job thread runs the jobs in order, so
  they never end an account's stream (a push through the account's worker did, and a customer's mail
  waited for IDLE to start again).
- Writes go through `Store.write()` (one lane), whatever thread they come from.
- Everything time-related takes the injected clock, so `run_once` is deterministic in tests.
- Waking up (issue 18 item 4): the scheduler compares the wall clock with the monotonic one at every
  pass (core/wake.py). After a sleep it catches up at once: healthy accounts are fetched now (backoff
  and rate-limit times still hold), every connector is rebuilt (its connections died in the sleep; a
  stream would otherwise wait out its idle timeout), the `wake_hooks` run with (slept since, now)
  (automation logs what it did not post), the time-driven work runs, and a ChangeSet(woke=True) tells
  the window that every countdown and alert is stale.
- The optional connector members `after_stored(cursor)` (after each commit of items + cursor) and
  `notice` (the account's note while its state is "ok") are honoured as connectors/base.py describes.
- The usage meter (core/usage.py): a connector with a `usage` counter gets the account's own (like the
  rate-limit dict, so daily dedup memory outlives it); the engine drains it after each fetch, stream
  batch and send into the `usage` table. The poll interval is paced: the traits' `poll_seconds_closed`
  while the business is closed (an account's own `poll_seconds` wins over both defaults), stretched
  above 80 % of the account's budget, and at 100 % polling stops with a notice (state rate_limited
  until the budget renews; raising the budget resets the account).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

from socialdesk.connectors import traits
from socialdesk.connectors.base import (
    AuthError,
    Connector,
    ConnectorError,
    InboundItem,
    PermanentError,
    RateLimited,
    TransientError,
)
from socialdesk.connectors.usage import UsageCounter
from socialdesk.core import ingest as ingest_mod
from socialdesk.core import outbox, queue, usage
from socialdesk.core.changes import ChangeSet
from socialdesk.core.clock import Clock
from socialdesk.core.states import AccountState
from socialdesk.core.store import Account, Store, storage_problem
from socialdesk.core.wake import SleepDetector, Slept
from socialdesk.secrets import redact

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 15
BACKOFF_MAX_S = 900
TICK_SECONDS = 5


IngestHook = Callable[[Account, "ingest_mod.IngestResult", datetime], set[int]]
TickHook = Callable[[datetime], set[int]]
WakeHook = Callable[[datetime, datetime], set[int]]  # (slept since, now) -> conversations touched


class _AccountState:
    """What the engine keeps about one account across connectors (a connector is rebuilt after a
    network error, a settings change or a re-login; this is not)."""

    def __init__(self) -> None:
        self.failures = 0  # consecutive transient failures: the backoff exponent
        # The platform's rate-limit windows as connectors/http.py's Http records them ("read" and
        # "write" buckets); every connector built for the account shares this one dict.
        self.rate_limits: dict[str, Any] = {}
        # The usage counter of the first connector built for the account, handed to every later one.
        self.usage: UsageCounter | None = None
        # Held for each piece of network work of the account: its connector has one user at a time.
        self.lock = threading.RLock()
        self.worker: _Worker | None = None


class _Worker:
    """The one thread that does an account's network work, one thing at a time: sends first (the
    owner is waiting), then the fetch or the stream. A stream gives way to a send: the send sets the
    stream's stop event, the worker sends and goes back to streaming (catch-up fetch first)."""

    def __init__(self, engine: "SyncEngine", account_id: int):
        self.engine = engine
        self.account_id = account_id
        self._cond = threading.Condition()
        self._send = self._fetch = self._resume = self._retired = False
        self.stream_stop = threading.Event()  # the stop event the running stream() watches
        self.thread = threading.Thread(target=self._run, name=f"sync-account-{account_id}", daemon=True)

    def request(self, *, fetch: bool = False, send: bool = False) -> None:
        with self._cond:
            self._fetch = self._fetch or fetch
            self._send = self._send or send
            if send:
                self.stream_stop.set()
            self._cond.notify()

    def interrupt(self) -> None:
        """End a running stream; the worker streams again afterwards (with a fresh connector)."""
        with self._cond:
            self.stream_stop.set()

    def retire(self) -> None:
        with self._cond:
            self._retired = True
            self.stream_stop.set()
            self._cond.notify()

    @property
    def finished(self) -> bool:
        return self._retired or self.engine._stop.is_set()

    def _run(self) -> None:
        engine = self.engine
        while True:
            with self._cond:
                while not (self._send or self._fetch or self._resume or self.finished):
                    self._cond.wait()
                if self.finished:
                    return
                send, fetch, resume = self._send, self._fetch, self._resume
                self._send = self._fetch = self._resume = False
                # Cleared under the lock: a send requested from now on stops the stream we start.
                self.stream_stop.clear()
            try:
                if send:
                    engine._emit(engine.flush_account(self.account_id))
                if fetch or resume:
                    self._fetch_or_stream(resume)
            except Exception:  # a bug here must not end the account's worker
                log.exception("sync worker of account %s failed", self.account_id)

    def _fetch_or_stream(self, resume: bool) -> None:
        engine, account_id = self.engine, self.account_id
        account = Account.get_or_none(Account.id == account_id)
        if account is None or not account.enabled or account.state == AccountState.AUTH_ERROR:
            return
        if not resume and account.next_sync_at is not None and account.next_sync_at > engine.clock.now():
            return  # asked while the previous fetch ran; that fetch answered it
        with engine._account_lock(account_id):
            connector = engine.connector(account_id)
            if connector is None:
                engine._emit(ChangeSet(accounts={account_id}))
            elif "stream" in getattr(connector, "capabilities", ()):
                self._stream()
            else:
                engine._emit(engine.sync_account(account_id))

    def _stream(self) -> None:
        """Catch up with a fetch, then stream; on error the account backs off (the scheduler asks
        again when it is due); when interrupted, stream again after the other work."""
        engine, account_id = self.engine, self.account_id
        while not self.stream_stop.is_set():
            engine._emit(engine.sync_account(account_id))
            account = Account.get_or_none(Account.id == account_id)
            if account is None or not account.enabled or account.state != AccountState.OK:
                return
            connector = engine.connector(account_id)
            if connector is None:
                return
            try:
                def on_items(items: list[InboundItem], cursor: dict, live: Connector = connector) -> None:
                    engine._emit(engine._ingest(account_id, items, cursor, live))

                connector.stream(account.cursor, on_items, self.stream_stop)
            except ConnectorError as exc:
                engine._record_error(Account.get_by_id(account_id), exc)
                engine._emit(ChangeSet(accounts={account_id}))
                return
            except Exception as exc:
                log.exception("stream of account %s crashed", account_id)
                engine._record_error(
                    Account.get_by_id(account_id), TransientError(f"Internal error: {type(exc).__name__}")
                )
                return
        with self._cond:
            self._resume = not self.finished


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
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.make_connector = make_connector
        self.clock = clock
        self.policy = policy
        self.on_change = on_change or (lambda change: None)
        self.ingest_hooks = list(ingest_hooks or [])
        self.tick_hooks = list(tick_hooks or [])
        self.wake_hooks: list[WakeHook] = []
        self.sleep_detector = SleepDetector(clock.now, monotonic)
        self.rng = rng or random.Random()
        self._connectors: dict[int, Connector] = {}
        self._accounts: dict[int, _AccountState] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._scheduler_thread: threading.Thread | None = None
        self._jobs: list[tuple[int, Callable[[], ChangeSet]]] = []  # (account id, job), see `submit`
        self._jobs_ready = threading.Condition()
        self._jobs_thread: threading.Thread | None = None

    # --- accounts and connectors ------------------------------------------------------------------

    def _state(self, account_id: int) -> _AccountState:
        with self._lock:
            state = self._accounts.get(account_id)
            if state is None:
                state = self._accounts[account_id] = _AccountState()
            return state

    @contextmanager
    def _account_lock(self, account_id: int) -> Iterator[_AccountState]:
        """Hold the account's lock (one user of its connector at a time). A caller outside the
        worker that finds it streaming makes the stream give way."""
        state = self._state(account_id)
        if not state.lock.acquire(blocking=False):
            if state.worker is not None:
                state.worker.interrupt()
            state.lock.acquire()
        try:
            yield state
        finally:
            state.lock.release()

    def connector(self, account_id: int) -> Connector | None:
        """The live connector for an account, or None if it cannot be used now (disabled, auth)."""
        with self._lock:
            account = Account.get_or_none(Account.id == account_id)
            if account is None or not account.enabled or account.state == AccountState.AUTH_ERROR:
                return None
            if account_id not in self._connectors:
                try:
                    connector = self.make_connector(account)
                except ConnectorError as exc:
                    self._set_state(account, AccountState.ERROR, str(exc))
                    return None
                except Exception as exc:  # e.g. a setting the connector cannot read: this account only
                    log.exception("building the connector of %s failed", account.name)
                    self._set_state(account, AccountState.ERROR, f"Cannot start this account: {type(exc).__name__}: {exc}",
                                    next_in=self._interval(account) * 5)
                    return None
                # The account's rate-limit memory outlives the connector (see the module docstring).
                http = getattr(connector, "http", None)
                if isinstance(getattr(http, "limits", None), dict):
                    http.limits = self._state(account_id).rate_limits  # type: ignore[union-attr]
                counter = getattr(connector, "usage", None)
                if isinstance(counter, UsageCounter):
                    state = self._state(account_id)
                    if state.usage is None or state.usage.plan != counter.plan:
                        state.usage = counter
                    else:
                        connector.usage = state.usage  # type: ignore[attr-defined]
                self._connectors[account_id] = connector
            return self._connectors[account_id]

    def invalidate(self, account_id: int) -> None:
        """Settings or credentials changed: build the connector afresh next time (a running stream
        ends and starts again with the new one)."""
        with self._lock:
            old = self._connectors.pop(account_id, None)
            worker = self._state(account_id).worker
        if worker is not None:
            worker.interrupt()
        if old is not None:
            _close_quietly(old)

    def reset_account(self, account_id: int) -> None:
        """After a re-login: clear the error state and poll now."""
        self.invalidate(account_id)
        with self.store.write():
            Account.update(state=AccountState.NEW, last_error="", next_sync_at=None).where(Account.id == account_id).execute()
        self._state(account_id).failures = 0
        self._wake.set()

    # --- one pass ---------------------------------------------------------------------------------

    def sync_account(self, account_id: int) -> ChangeSet:
        """Fetch one account once and ingest. Errors are recorded on the account, never raised."""
        change = ChangeSet()
        account = Account.get_or_none(Account.id == account_id)
        if account is None or not account.enabled or account.state == AccountState.AUTH_ERROR:
            return change
        with self._account_lock(account_id) as state:
            connector = self.connector(account_id)
            if connector is None:
                change.accounts.add(account_id)
                return change
            stopped = usage.stop_notice(account, self.clock.now())
            if stopped is not None:  # the owner's budget is spent: no fetch until it renews or is raised
                notice, resume_at = stopped
                self._set_state(account, AccountState.RATE_LIMITED, notice, at=resume_at)
                change.accounts.add(account_id)
                return change
            try:
                items, cursor = connector.fetch(account.cursor)
                change.merge(self._ingest(account_id, items, cursor, connector))
                state.failures = 0
                notice = getattr(connector, "notice", "")
                notes = [n for n in (notice if isinstance(notice, str) else "",
                                     usage.pace_notice(account, self.clock.now())) if n]
                self._set_state(account, AccountState.OK, " ".join(notes), next_in=self._interval(account))
            except ConnectorError as exc:
                self._record_error(account, exc)
            except Exception as exc:  # a connector bug must not stop the other accounts
                if storage_problem(exc) is not None:
                    raise  # a full disk or read-only profile is not the account's fault: the caller says so
                log.exception("connector %s crashed", account.name)
                self._record_error(account, TransientError(f"Internal error in the connector: {type(exc).__name__}"))
            finally:
                self._record_usage(account_id)
        change.accounts.add(account_id)
        return change

    def _record_usage(self, account_id: int) -> None:
        """Store what the account's connector counted (core/usage.py); kept for later if the write fails."""
        counter = self._state(account_id).usage
        if counter is None:
            return
        events = counter.drain()
        try:
            usage.record(self.store, account_id, events)
        except Exception:
            counter.restore(events)
            raise

    def _ingest(
        self, account_id: int, items: list[InboundItem], cursor: dict, connector: Connector | None = None
    ) -> ChangeSet:
        now = self.clock.now()
        result = ingest_mod.ingest(self.store, account_id, items, cursor, self.policy(), now)
        self._record_usage(account_id)
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
        """Time-driven work: wake snoozes, automation schedule, then send what is due (every account
        on its own thread; returns when all are done)."""
        change = self._time_work()
        change.merge(self.flush_outbox())
        return change

    def _time_work(self) -> ChangeSet:
        now = self.clock.now()
        change = ChangeSet()
        change.conversation_ids |= set(queue.wake_snoozed(self.store, self.policy(), now))
        for hook in self.tick_hooks:
            try:
                touched = hook(now) or set()
            except Exception:
                log.exception("tick hook failed")
                continue
            change.conversation_ids |= touched
            change.activity = change.activity or bool(touched)  # automation skipped or queued something
        return change

    def flush_outbox(self) -> ChangeSet:
        """Send what is due now, every account on its own thread; returns when all are done."""
        return self._each(outbox.due_account_ids(self.clock.now()), self.flush_account)

    def flush_account(self, account_id: int) -> ChangeSet:
        """Send what is due for one account (holding the account's lock)."""
        with self._account_lock(account_id):
            try:
                report = outbox.flush(
                    self.store, self.connector, self.policy(), self.clock.now(), rng=self.rng, account_id=account_id
                )
            finally:
                self._record_usage(account_id)
        return ChangeSet(set(report.changed_conversation_ids), accounts=set(report.changed_account_ids),
                         outbox=bool(report.sent or report.failed or report.retrying))

    def run_once(self) -> ChangeSet:
        """`socialdesk sync --once`: the time-driven work first (automation retires what is too late to
        send), then every enabled account fetches and sends on its own thread (in parallel, so a slow
        account delays no other), then the time-driven work again and what it queued."""
        change = self._time_work()
        ids = [a.id for a in Account.select(Account.id).where(Account.enabled == True)]  # noqa: E712
        change.merge(self._each(ids, self._account_pass))
        change.merge(self.tick())
        return change

    def _account_pass(self, account_id: int) -> ChangeSet:
        change = self.sync_account(account_id)
        change.merge(self.flush_account(account_id))  # what was due, and the auto-replies just queued
        return change

    def _each(self, account_ids: list[int], work: Callable[[int], ChangeSet]) -> ChangeSet:
        """`work` for every account, each on its own thread, merged. One account runs inline."""
        change = ChangeSet()
        if len(account_ids) <= 1:
            for account_id in account_ids:
                change.merge(work(account_id))
            return change
        with ThreadPoolExecutor(max_workers=len(account_ids), thread_name_prefix="sync-once") as pool:
            for part in pool.map(work, account_ids):
                change.merge(part)
        return change

    def recover(self) -> ChangeSet:
        """Once at process start: outbox rows a crash left "sending" become "unknown", and healthy
        accounts are fetched at once instead of waiting out the poll interval of the previous run
        (backoff and rate-limit times are still honoured)."""
        with self.store.write():
            Account.update(next_sync_at=None).where(Account.state.in_([AccountState.OK, AccountState.NEW])).execute()
        return ChangeSet(outbox=bool(outbox.recover_interrupted(self.store, self.clock.now())))

    # --- background -------------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._scheduler_thread = threading.Thread(target=self._scheduler, name="sync-scheduler", daemon=True)
        self._scheduler_thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the scheduler and the workers. A worker still inside a network call is not waited for
        beyond `timeout` (its operation ends at its deadline; the thread is a daemon)."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            workers = [s.worker for s in self._accounts.values() if s.worker is not None]
        for worker in workers:
            worker.retire()
        with self._jobs_ready:
            self._jobs.clear()
            self._jobs_ready.notify_all()
        until = time.monotonic() + timeout
        threads = ([self._scheduler_thread] if self._scheduler_thread else []) + [w.thread for w in workers]
        threads += [self._jobs_thread] if self._jobs_thread is not None else []
        for thread in threads:
            if thread.ident is not None:
                thread.join(max(0.0, until - time.monotonic()))
        with self._lock:
            for state in self._accounts.values():
                state.worker = None
            for connector in self._connectors.values():
                _close_quietly(connector)
            self._connectors.clear()

    @property
    def _threads(self) -> list[threading.Thread]:
        """The engine's live threads (scheduler and workers), for tests and diagnostics."""
        with self._lock:
            workers = [s.worker.thread for s in self._accounts.values() if s.worker is not None]
        return [t for t in [self._scheduler_thread, *workers] if t is not None and t.is_alive()]

    def submit(self, account_id: int, job: Callable[[], ChangeSet]) -> None:
        """Run `job`, network work of an account other than a fetch or a send (core/coverage.py refreshes
        what the account's server keeps), in the background on the engine's job thread, in order; its
        ChangeSet is published. Not on the account's worker: that would end its IMAP IDLE stream for a
        push, and the next customer's mail would wait for the stream to start again. Without the
        background run (`sync --once`, tests) it runs here and now."""
        scheduler = self._scheduler_thread
        if scheduler is not None and scheduler.is_alive() and not self._stop.is_set():
            with self._jobs_ready:
                self._jobs.append((account_id, job))
                if self._jobs_thread is None or not self._jobs_thread.is_alive():
                    self._jobs_thread = threading.Thread(target=self._run_jobs, name="sync-jobs", daemon=True)
                    self._jobs_thread.start()
                self._jobs_ready.notify()
            return
        self._run_job(account_id, job)

    def _run_job(self, account_id: int, job: Callable[[], ChangeSet]) -> None:
        try:
            self._emit(job())
        except Exception:  # one job's bug must not stop the others
            log.exception("job of account %s failed", account_id)

    def _run_jobs(self) -> None:
        while True:
            with self._jobs_ready:
                while not self._jobs and not self._stop.is_set():
                    self._jobs_ready.wait()
                if self._stop.is_set():
                    return
                account_id, job = self._jobs.pop(0)
            self._run_job(account_id, job)

    def poke(self) -> None:
        """Something was queued (a reply): send and poll without waiting for the next tick."""
        self._wake.set()

    def _scheduler(self) -> None:
        """The clock of the background run: gives every enabled account a worker, asks it to fetch when
        the account is due and to send when it has rows due, and runs the time-driven work. It never
        touches the network itself, so nothing an account does can hold it up."""
        last_tick = None
        while not self._stop.is_set():
            slept = self.sleep_detector.check()
            if slept is not None:
                self.woke(slept)
            now = self.clock.now()
            try:
                accounts = list(Account.select().where(Account.enabled == True))  # noqa: E712
                workers = self._staff({a.id for a in accounts})
                for account in accounts:
                    if account.state != AccountState.AUTH_ERROR and (account.next_sync_at is None or account.next_sync_at <= now):
                        workers[account.id].request(fetch=True)
                if self._wake.is_set() or last_tick is None or (now - last_tick).total_seconds() >= TICK_SECONDS:
                    self._wake.clear()
                    last_tick = now
                    self._emit(self._time_work())
                    for account_id in outbox.due_account_ids(now):
                        if account_id in workers:
                            workers[account_id].request(send=True)
            except Exception:
                log.exception("sync scheduler pass failed")
            # stop() sets _stop, then _wake: a pass that cleared _wake before that sees _stop here, one
            # that cleared it after is woken at once; either way stop() does not wait out the 0.5 s.
            if not self._stop.is_set():
                self._wake.wait(0.5)

    def woke(self, slept: Slept) -> ChangeSet:
        """Catch up after a sleep (module docstring); returns (and publishes) what changed."""
        log.info("the computer slept from %s to %s (%s); catching up", f"{slept.since:%Y-%m-%d %H:%M:%S}",
                 f"{slept.until:%H:%M:%S} UTC", slept.duration)
        try:
            with self.store.write():
                Account.update(next_sync_at=None).where(
                    Account.state.in_([AccountState.OK, AccountState.NEW])).execute()
        except Exception:
            log.exception("could not schedule the catch-up fetch")
        with self._lock:
            account_ids = list(self._connectors)
        for account_id in account_ids:
            self.invalidate(account_id)  # dead connections; a running stream ends and catches up
        change = ChangeSet(woke=True, activity=True)
        for hook in self.wake_hooks:
            try:
                change.conversation_ids |= hook(slept.since, slept.until) or set()
            except Exception:
                log.exception("wake hook failed")
        self._wake.set()  # the time-driven work runs now, not at the next tick
        self._emit(change)
        return change

    def _staff(self, enabled: set[int]) -> dict[int, _Worker]:
        """A live worker for every enabled account; the workers of the others are retired."""
        with self._lock:
            for account_id, state in list(self._accounts.items()):
                if account_id not in enabled and state.worker is not None:
                    state.worker.retire()
                    state.worker = None
            workers = {}
            for account_id in enabled:
                state = self._state(account_id)
                if state.worker is None or not state.worker.thread.is_alive():
                    state.worker = _Worker(self, account_id)
                    state.worker.thread.start()
                workers[account_id] = state.worker
            return workers

    def _emit(self, change: ChangeSet) -> None:
        if change:
            try:
                self.on_change(change)
            except Exception:
                log.exception("change listener failed")

    # --- account state ----------------------------------------------------------------------------

    def _interval(self, account: Account) -> float:
        settings = account.settings or {}
        # The connector's default (by account kind: a demo account polls like the demo, whatever it simulates).
        platform = traits.of(account.kind)
        default = platform.poll_seconds
        now = self.clock.now()
        if platform.poll_seconds_closed is not None and not self.policy().schedule.is_open(now):
            default = platform.poll_seconds_closed
        try:
            base = max(1.0, float(settings.get("poll_seconds", default)))
        except (TypeError, ValueError):
            base = default
        # Above 80 % of the budget the interval stretches; at 100 % sync_account stops polling instead.
        return usage.pace(account, base, now) or base

    def _record_error(self, account: Account, exc: ConnectorError) -> None:
        now = self.clock.now()
        if isinstance(exc, AuthError):
            self.invalidate(account.id)
            self._set_state(account, AccountState.AUTH_ERROR, str(exc))
        elif isinstance(exc, RateLimited):
            self._set_state(account, AccountState.RATE_LIMITED, str(exc), at=max(exc.retry_at, now))
        elif isinstance(exc, PermanentError):
            self._set_state(account, AccountState.ERROR, str(exc), next_in=self._interval(account) * 5)
        else:
            state = self._state(account.id)
            state.failures += 1
            delay = min(BACKOFF_BASE_S * 2 ** (state.failures - 1), BACKOFF_MAX_S) * self.rng.uniform(0.5, 1.5)
            self.invalidate(account.id)  # a fresh connection next time; the account's state stays
            self._set_state(account, AccountState.BACKOFF, str(exc), next_in=delay)

    def _set_state(
        self, account: Account, state: AccountState, error: str, *, next_in: float | None = None, at: datetime | None = None
    ) -> None:
        error = redact(error)  # the one place an account's error text is stored: never a secret
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
