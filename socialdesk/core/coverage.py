"""Coverage at a glance (issue 18 item 3): per account, what still happens while socialdesk is not running
and what does not, and the one mechanism that refreshes the server-side parts.

A *server part* is one thing socialdesk hands to a platform so that it happens while socialdesk is
closed (the mail server's off-hours replies, core/server_replies.py; posts the platform schedules). Each
part says, from stored state and without network, what it promises per account (`Promise`), whether it
must be pushed again (`due`), and pushes (network, on the sync engine's job thread). The report, the
`socialdesk coverage show|push` commands and the window's panel are built from `PARTS` alone, so no
platform is named here or in the UI.

Decisions:
- Report lines: an account whose auto-replies a server keeps: "<platform> (<account>): <promise>". The
  accounts where automation would answer (private auto-replies on for the channel, not paused) and no
  server keeps it are grouped by platform name: "Telegram, Bluesky: no automatic reply while socialdesk
  is closed — keep it running, or run `socialdesk sync` on an always-on machine"; one whose part failed
  gets its own line with the reason. Accounts with status posts on and no part keeping them:
  "<platforms>: no status posts while socialdesk is closed". Paused automation is one line.
- Per account, a promise nothing keeps says so in the same words on every row (`Promise.generic`); its
  note is what is particular to the row: how many customer messages came to the account in closed hours
  in the last 7 days (what the missing auto-reply costs there), or the account's next status post (which
  is not posted while socialdesk is closed). The panel shows that note.
- `install` adds a tick hook to the sync engine: on the scheduler thread (no network) it asks every part
  whether an enabled account is `due` and hands the push to the engine's background job thread
  (`SyncEngine.submit`; not the account's worker, whose IMAP IDLE stream it would end), at most one job
  per (account, part) at a time. So hours, away, closed dates and
  texts changed in the window, on the command line or by another process are on the server within a
  tick, the parts refresh at least daily by their own rule, and no network work runs on the GUI
  thread. A push job returns ChangeSet(settings={part's state key}), which the engine publishes, so
  the panel follows.
- `push_all` (`socialdesk coverage push`) runs every due-or-not push synchronously on the caller's
  thread.
- Removing an account (core/account_service.remove) first runs `before_removal`: every part takes what
  socialdesk left on the account's server off it, while the account's secrets are still in the keyring,
  and says in the owner's words what stays there when it could not (offline, login revoked) and where to
  delete it by hand. The removal then proceeds and the owner is shown those lines (the command line
  prints them, the Accounts dialog shows them).
- A removal and the refreshes of the same account exclude each other (`removing`, held by the removal until
  the account's row is gone): a refresh running on the job thread when the removal begins is waited for
  (it could schedule a post on the platform just after `before_removal` cancelled them, left behind for
  good), and none starts for the account meanwhile (`install`'s jobs, `push_all`). Within this process:
  a `socialdesk coverage push` run elsewhere at that moment is not held back.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from socialdesk.connectors import traits
from socialdesk.connectors.base import AccountSecrets
from socialdesk.core import queue, server_replies
from socialdesk.core.automation import (
    STATUS_LABELS,
    AutomationConfig,
    AutomationConfigError,
    StatusPosts,
    is_paused,
    load_config,
    platform_schedule,
    status_transitions,
)
from socialdesk.core.changes import ChangeSet
from socialdesk.core.hours import Schedule
from socialdesk.core.settings import Settings
from socialdesk.core.states import Direction
from socialdesk.core.store import Account, Message, Store, tuples

log = logging.getLogger(__name__)

UTC = timezone.utc
KEEP_RUNNING = "keep it running, or run `socialdesk sync` on an always-on machine"
NEXT_POST_WITHIN = timedelta(days=7)
CLOSED_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class Promise:
    """One thing that does or does not happen for one account while socialdesk is closed."""

    what: str  # "auto_reply" | "status_posts"
    kept_by: str  # "server": the platform or mail server keeps it; "app": only while socialdesk runs
    text: str  # owner-readable, without the account name
    until: datetime | None = None  # UTC end of what the server holds
    note: str = ""  # why it is not kept (the part's last error), or a detail
    # True when `text` only says that nothing keeps it while socialdesk is closed (the same words on every
    # such row, which the panel's columns already say): the panel shows the row's own `note` instead.
    generic: bool = False


@dataclass(frozen=True)
class CoverageContext:
    store: Store
    settings: Settings
    schedule: Schedule
    now: datetime
    config: AutomationConfig | None  # None: the automation settings are invalid
    secrets_for: Callable[[Account], AccountSecrets] | None = None  # pushes only
    typical_response: Callable[[], str] = lambda: ""  # {typical_response} for texts a part renders


@dataclass(frozen=True)
class ServerPart:
    """One thing socialdesk hands to a platform (see the module docstring)."""

    name: str
    applies: Callable[[Account], bool]
    promises: Callable[[CoverageContext, Account], list[Promise]]
    due: Callable[[CoverageContext, Account], str]  # "push", "withdraw" or ""
    push: Callable[[CoverageContext, Account], str]  # network; an owner-readable line
    withdraw: Callable[[CoverageContext, Account], str] | None = None
    state_key: str = ""  # the setting its state lives in (published after a push)
    # The account is being removed: take ours off its server and forget the part's state (network).
    # Returns "" when nothing of ours stays there, else what stays and where to delete it (owner's words).
    before_removal: Callable[[CoverageContext, Account], str] | None = None


def make_context(store: Store, settings: Settings, schedule: Schedule, now: datetime,
                 secrets_for: Callable[[Account], AccountSecrets] | None = None) -> CoverageContext:
    try:
        config: AutomationConfig | None = load_config(settings)
    except AutomationConfigError:
        config = None

    def typical() -> str:
        from socialdesk.core import metrics  # a query; only pushes need it

        return metrics.typical_response_text(now)

    return CoverageContext(store, settings, schedule, now, config, secrets_for, typical)


# --- the mail server's off-hours replies (core/server_replies.py) -----------------------------------------


def _server_reply_promises(ctx: CoverageContext, account: Account) -> list[Promise]:
    part = server_replies.part_for(account)
    if part is None or not server_replies.wanted(account, ctx.settings, ctx.config):
        return []
    state = server_replies.state_of(ctx.settings, account.id)
    if state.active and state.covered_until is not None and state.covered_until > ctx.now:
        local = state.covered_until.astimezone(ZoneInfo(ctx.schedule.timezone))
        return [Promise("auto_reply", "server", f"off-hours replies by {part.server_name} until "
                        f"{local.day} {local:%b}", state.covered_until, state.note)]
    if state.attempt_at is not None and state.attempt_error:
        return [Promise("auto_reply", "app", f"no off-hours replies by {part.server_name}",
                        note=state.attempt_error)]
    return [Promise("auto_reply", "app", f"off-hours replies by {part.server_name} not set up yet",
                    note="socialdesk sets them up when it next syncs, or run `socialdesk coverage push`")]


def _server_reply_push(ctx: CoverageContext, account: Account) -> str:
    assert ctx.secrets_for is not None and ctx.config is not None
    return server_replies.push(account, ctx.store, ctx.settings, ctx.schedule, ctx.config,
                               ctx.secrets_for(account), ctx.now, ctx.typical_response())


def _server_reply_withdraw(ctx: CoverageContext, account: Account) -> str:
    assert ctx.secrets_for is not None
    return server_replies.withdraw(account, ctx.store, ctx.settings, ctx.secrets_for(account), ctx.now)


def _server_reply_before_removal(ctx: CoverageContext, account: Account) -> str:
    assert ctx.secrets_for is not None
    return server_replies.withdraw_before_removal(account, ctx.store, ctx.secrets_for(account), ctx.now,
                                                  ctx.schedule.timezone)


SERVER_REPLIES = ServerPart(
    name="server_replies",
    applies=lambda account: server_replies.part_for(account) is not None,
    promises=_server_reply_promises,
    due=lambda ctx, account: server_replies.due(account, ctx.settings, ctx.schedule, ctx.config, ctx.now),
    push=lambda ctx, account: _server_reply_push(ctx, account) if ctx.config is not None else "",
    withdraw=_server_reply_withdraw,
    state_key=server_replies.STATE_KEY,
    before_removal=_server_reply_before_removal,
)

# Every server part, in report order. A new part is one line here.
PARTS: list[ServerPart] = [SERVER_REPLIES, platform_schedule.part()]  # platform_schedule: posts the platform schedules


# --- the report ---------------------------------------------------------------------------------------


@dataclass
class CoverageReport:
    now: datetime
    accounts: list[tuple[Account, list[Promise]]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        def iso(value: datetime | None) -> str | None:
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None

        return {
            "generated_at": iso(self.now),
            "lines": list(self.lines),
            "accounts": [
                {
                    "id": account.id,
                    "name": account.name,
                    "channel": queue.channel_of(account),
                    "platform": _platform(account),
                    "promises": [
                        {"what": p.what, "kept_by": p.kept_by, "text": p.text, "until": iso(p.until), "note": p.note}
                        for p in promises
                    ],
                }
                for account, promises in self.accounts
            ],
        }


def _platform(account: Account) -> str:
    return traits.of(queue.channel_of(account)).name


def _join(names: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(names))


def _closed_hours_messages(ctx: CoverageContext) -> dict[int, int]:
    """Per account, the customer messages of the last CLOSED_LOOKBACK that came while the business was
    closed: what a missing auto-reply costs there (the detail of a row nothing keeps)."""
    since = ctx.now - CLOSED_LOOKBACK
    intervals = list(ctx.schedule.open_intervals(since, ctx.now))
    starts = [start for start, _end in intervals]
    counts: dict[int, int] = {}
    query = Message.select(Message.account, Message.created_at).where(
        (Message.direction == Direction.IN) & (Message.created_at >= since))
    for account_id, at in tuples(query):
        i = bisect.bisect_right(starts, at) - 1
        if i < 0 or at >= intervals[i][1]:
            counts[account_id] = counts.get(account_id, 0) + 1
    return counts


def _closed_hours_text(count: int) -> str:
    if not count:
        return f"Last {CLOSED_LOOKBACK.days} days: no message in closed hours"
    return f"Last {CLOSED_LOOKBACK.days} days: {count} message{'s' if count != 1 else ''} in closed hours"


def _next_post(ctx: CoverageContext, posts: StatusPosts) -> str:
    """The account's next status post in the coming week: the detail of a row nothing keeps."""
    zone = ZoneInfo(ctx.schedule.timezone)
    for t in status_transitions(ctx.schedule, ctx.now, ctx.now + NEXT_POST_WITHIN):
        if posts.texts.get(t.kind, "").strip():
            local = t.when.astimezone(zone)
            return f"Next: {STATUS_LABELS[t.kind]} post, {local:%a} {local.day} {local:%b} {local:%H:%M}"
    return f"No post due in the next {NEXT_POST_WITHIN.days} days"


def report(ctx: CoverageContext) -> CoverageReport:
    """What happens per enabled account while socialdesk is closed (module docstring)."""
    out = CoverageReport(ctx.now)
    accounts = list(Account.select().where(Account.enabled == True).order_by(Account.id))  # noqa: E712
    paused = is_paused(ctx.settings)
    closed = _closed_hours_messages(ctx)
    uncovered: list[Account] = []
    no_posts: list[Account] = []
    for account in accounts:
        promises: list[Promise] = []
        for part in PARTS:
            if part.applies(account):
                try:
                    promises.extend(part.promises(ctx, account))
                except Exception:  # one part's bug must not hide the others' promises
                    log.exception("coverage part %s failed for account %s", part.name, account.id)
        channel = queue.channel_of(account)
        replies = ctx.config is not None and not paused and ctx.config.rule_for(channel).private
        kept = [p for p in promises if p.what == "auto_reply" and p.kept_by == "server"]
        failed = [p for p in promises if p.what == "auto_reply" and p.kept_by == "app"]
        label = f"{_platform(account)} ({account.name})"
        for p in kept:
            out.lines.append(f"{label}: {p.text}" + (f" — {p.note}" if p.note else ""))
        for p in failed:
            out.lines.append(f"{label}: {p.text} ({p.note}) — no automatic reply while socialdesk is closed; "
                             f"{KEEP_RUNNING}")
        if replies and not kept and not failed:
            uncovered.append(account)
            promises.append(Promise("auto_reply", "app", "no automatic reply while socialdesk is closed",
                                    note=_closed_hours_text(closed.get(account.id, 0)), generic=True))
        posts = ctx.config.posts_for(account.id) if ctx.config is not None else None
        if posts is not None and not paused:
            kept_posts = [p for p in promises if p.what == "status_posts" and p.kept_by == "server"]
            for p in kept_posts:
                out.lines.append(f"{label}: {p.text}")
            if not kept_posts:
                no_posts.append(account)
                promises.append(Promise("status_posts", "app", "no status posts while socialdesk is closed",
                                        note=_next_post(ctx, posts), generic=True))
        out.accounts.append((account, promises))
    if uncovered:
        out.lines.append(f"{_join(_platform(a) for a in uncovered)}: no automatic reply while socialdesk is closed — "
                         f"{KEEP_RUNNING}")
    if no_posts:
        out.lines.append(f"{_join(_platform(a) for a in no_posts)}: no status posts while socialdesk is closed")
    if paused:
        out.lines.append("Automatic replies and status posts are paused.")
    elif ctx.config is None:
        out.lines.append("Automatic replies are off: their settings are invalid.")
    if not accounts:
        out.lines.append("No accounts yet.")
    return out


# --- pushing ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushLine:
    account_id: int
    text: str  # owner-readable
    ok: bool  # the server now keeps what the part promises (or ours was taken off as asked)


class _Removals:
    """The accounts being removed and the refreshes running per account (their threads), which exclude each
    other (module docstring)."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.removing: set[int] = set()
        self.running: dict[int, list[int]] = {}  # account id -> idents of the threads refreshing it

    def start(self, account_id: int) -> bool:
        """A refresh of the account may begin (False: it is being removed); `end` when done."""
        with self.changed:
            if account_id in self.removing:
                return False
            self.running.setdefault(account_id, []).append(threading.get_ident())
            return True

    def end(self, account_id: int) -> None:
        with self.changed:
            threads = self.running.get(account_id, [])
            threads.remove(threading.get_ident())
            if not threads:
                self.running.pop(account_id, None)
            self.changed.notify_all()

    def others(self, account_id: int) -> bool:
        # A refresh on this very thread cannot end while we wait: not waited for (it is not one that races).
        return any(t != threading.get_ident() for t in self.running.get(account_id, []))


_REMOVALS = _Removals()


@contextmanager
def removing(account_id: int) -> Iterator[None]:
    """Held while the account is removed (module docstring): waits for a refresh of it that is running, and
    none starts until the block ends."""
    with _REMOVALS.changed:
        _REMOVALS.removing.add(account_id)
        if _REMOVALS.others(account_id):
            log.info("removing account %s: waiting for the refresh of what its server keeps", account_id)
        while _REMOVALS.others(account_id):
            _REMOVALS.changed.wait()
    try:
        yield
    finally:
        with _REMOVALS.changed:
            _REMOVALS.removing.discard(account_id)


def push_all(ctx: CoverageContext, account_ids: Iterable[int] | None = None) -> list[PushLine]:
    """`socialdesk coverage push`: every part of every enabled account now, on this thread."""
    wanted = set(account_ids) if account_ids is not None else None
    lines = []
    for account in Account.select().where(Account.enabled == True).order_by(Account.id):  # noqa: E712
        if wanted is not None and account.id not in wanted:
            continue
        if not _REMOVALS.start(account.id):
            continue  # being removed: the removal takes ours off its server
        try:
            lines.extend(_push_account(ctx, account))
        finally:
            _REMOVALS.end(account.id)
    return lines


def _push_account(ctx: CoverageContext, account: Account) -> list[PushLine]:
    lines: list[PushLine] = []
    if Account.get_or_none(Account.id == account.id) is None:
        return lines  # removed since the list was read
    for part in PARTS:
        if not part.applies(account):
            continue
        action = part.due(ctx, account)
        if action == "withdraw":
            text = part.withdraw(ctx, account) if part.withdraw is not None else ""
            ok = not any(p.kept_by == "server" for p in part.promises(ctx, account))
        elif action == "push" or part.promises(ctx, account):  # wanted: push now, due or not
            text = part.push(ctx, account)
            ok = any(p.kept_by == "server" for p in part.promises(ctx, account))
        else:
            continue
        if text:
            lines.append(PushLine(account.id, text, ok))
    return lines


def before_removal(ctx: CoverageContext, account: Account) -> list[str]:
    """The account is being removed (module docstring): every part takes ours off its server. Returns what
    stays there, one owner-readable line per part that could not; [] when nothing does. A part's bug is
    logged and reported as such, so the removal still goes on and the owner still hears of it."""
    left = []
    for part in PARTS:
        if part.before_removal is None or not part.applies(account):
            continue
        try:
            line = part.before_removal(ctx, account)
        except Exception:  # noqa: BLE001 - one part's bug must not keep the owner from removing the account
            log.exception("coverage part %s failed before removing account %s", part.name, account.id)
            line = (f"socialdesk could not check what it set up on {_platform(account)} for {account.name}: "
                    f"look there for scheduled posts or filters it left.")
        if line:
            left.append(line)
    return left


class _Refresher:
    """The tick hook of `install` (module docstring)."""

    def __init__(self, engine: Any, store: Store, settings: Settings, policy: Callable[[], Any],
                 secrets_for: Callable[[Account], AccountSecrets]):
        self.engine = engine
        self.store = store
        self.settings = settings
        self.policy = policy
        self.secrets_for = secrets_for
        self._busy: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    def on_tick(self, now: datetime) -> set[int]:
        ctx = make_context(self.store, self.settings, self.policy().schedule, now, self.secrets_for)
        for account in Account.select().where(Account.enabled == True):  # noqa: E712
            if account.id in _REMOVALS.removing:  # a glance without the lock: the job checks again
                continue
            for part in PARTS:
                if not part.applies(account):
                    continue
                with self._lock:
                    if (account.id, part.name) in self._busy:
                        continue
                action = part.due(ctx, account)
                if not action:
                    continue
                with self._lock:
                    self._busy.add((account.id, part.name))
                self.engine.submit(account.id, self._job(part, account.id, action))
        return set()

    def _job(self, part: ServerPart, account_id: int, action: str) -> Callable[[], ChangeSet]:
        def run() -> ChangeSet:
            try:
                if not _REMOVALS.start(account_id):
                    return ChangeSet()  # being removed: the removal takes ours off its server
                try:
                    return self._run(part, account_id, action)
                finally:
                    _REMOVALS.end(account_id)
            finally:
                with self._lock:
                    self._busy.discard((account_id, part.name))

        return run

    def _run(self, part: ServerPart, account_id: int, action: str) -> ChangeSet:
        account = Account.get_or_none(Account.id == account_id)
        if account is None:  # removed since the job was queued (ids are never given again)
            return ChangeSet()
        ctx = make_context(self.store, self.settings, self.policy().schedule, self.engine.clock.now(),
                           self.secrets_for)
        if action == "withdraw" and part.withdraw is not None:
            line = part.withdraw(ctx, account)
        else:
            line = part.push(ctx, account)
        if line:
            log.info("coverage: %s", line)
        return ChangeSet(settings={part.state_key} if part.state_key else set(), accounts={account_id})


def install(engine: Any, store: Store, settings: Settings, policy: Callable[[], Any],
            secrets_for: Callable[[Account], AccountSecrets]) -> None:
    """Keep the server parts fresh from the sync engine (module docstring)."""
    engine.tick_hooks.append(_Refresher(engine, store, settings, policy, secrets_for).on_tick)
