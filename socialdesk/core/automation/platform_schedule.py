"""Status posts kept by the platform: the opening, closing and away posts of the next days are handed to
platforms that publish posts at a given time by themselves (connector capability "schedule_status",
connectors/base.py), so they go out while the laptop sleeps. Qt-free.

Decisions:
- Tracking: one Outbox row per post handed over, purpose status_post, state SCHEDULED, with the usual
  idempotency key "status:<account>:<kind>:<UTC instant>" (status.status_key), the platform's scheduled
  id in `external_id`, the instant in `next_attempt_at` and the rendered text. Because the key exists,
  the app's own tick (engine.on_tick) never posts it a second time, and a SCHEDULED row is never flushed
  (outbox._due takes PENDING rows only). Only posts tracked here are ever cancelled: the owner's own
  scheduled posts on the platform are never touched.
- What is wanted (`wanted_posts`): the transitions of the next `HORIZON` (7 days) that are at least
  `LEAD` (10 min) ahead, for accounts with status posts on, not paused, texts rendered as of the
  transition (as the preview shows them). `LEAD` is above the platforms' minimum (Mastodon: 5 min) on
  purpose: a time that has passed by the moment the platform reads it is published at once, i.e. late.
- `reconcile` (network; on the account's sync worker, through core/coverage.py's part, see PART) makes
  the platform match: (1) one list call; our SCHEDULED rows whose time has come are marked sent (the
  platform published them); rows the platform no longer holds before their time were deleted there by
  the owner: marked cancelled, key kept, so neither the platform nor the app posts them; (2) rows no
  longer wanted or whose text changed (hours, away, texts, posts switched off, automation paused) are
  cancelled on the platform and their key released (renamed "<key>~cancelled~<row id>"), so the
  re-planned post can be scheduled; (3) wanted posts without a row are scheduled, earliest first, or
  adopted when the platform already holds one under our key (a crash between the platform's answer and
  our write). The idempotency key sent to the platform is "<key>@<random>": Mastodon remembers a key for
  an hour and answers 404 for a key whose scheduled post was deleted, so a re-scheduled post needs a
  fresh one; the prefix still says whose it is.
- A refusal (too soon, the platform's daily or total limit: PermanentError) is logged once per post in
  the Activity view ("socialdesk posts it itself if it is running then") and ends this round's
  scheduling for the account; that post stays with the app's own tick, which keeps the rule "never
  late": posted within the grace window if socialdesk runs, else skipped and logged.
- `due` is cheap (no network, no rendering): the inputs' fingerprint (hours, automation settings,
  pause, business texts) changed since the last successful round, a SCHEDULED row's time has passed,
  or `RECHECK` (6 h) went by (the horizon moves on; the owner may have deleted one on the platform).
  After a round the platform did not complete (offline, rate limit, login) not before `RETRY_AFTER`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from socialdesk.connectors import traits
from socialdesk.connectors.base import ConnectorError, PermanentError, ScheduledPost
from socialdesk.core import queue, snippets
from socialdesk.core.automation.config import (
    CONFIG_KEY,
    PAUSED_KEY,
    STATUS_LABELS,
    AutomationConfig,
)
from socialdesk.core.automation.render import _base_context, format_next_close, render_text
from socialdesk.core.automation.status import status_key, status_transitions
from socialdesk.core.hours import Schedule
from socialdesk.core.settings import Settings
from socialdesk.core.states import OutboxPurpose, OutboxState, Via
from socialdesk.core.store import Account, Activity, Outbox, Store

log = logging.getLogger(__name__)

CAPABILITY = "schedule_status"
LEAD = timedelta(minutes=10)
HORIZON = timedelta(days=7)
RECHECK = timedelta(hours=6)
RETRY_AFTER = timedelta(minutes=5)  # after a round the platform did not answer (offline, rate limit)
# Settings whose change can change what is wanted (besides the time): hours, automation, business texts.
INPUT_KEYS = ("hours.schedule", CONFIG_KEY, PAUSED_KEY, "business.name", "business.my_name")


@dataclass(frozen=True)
class Wanted:
    key: str
    when: datetime
    kind: str
    text: str


def platform_name(account: Account) -> str:
    """The display name of the platform the account posts to ("Mastodon"), from its traits."""
    channel = queue.channel_of(account)
    return traits.of(channel if traits.known(channel) else account.kind).name


def label(kind: str, when: datetime, tz: str) -> str:
    return f"{STATUS_LABELS[kind]} post for {when.astimezone(ZoneInfo(tz)):%a %d %b %H:%M}"


def wanted_posts(
    settings: Settings, schedule: Schedule, config: AutomationConfig | None, account: Account, now: datetime,
    *, paused: bool, typical: str = "",
) -> list[Wanted]:
    """The status posts of `account` the platform should hold now, earliest first."""
    posts = config.posts_for(account.id) if config is not None and not paused else None
    if posts is None:
        return []
    out = []
    for t in status_transitions(schedule, now + LEAD, now + HORIZON):
        body = posts.texts.get(t.kind, "")
        if not body.strip() or (posts.enabled_since is not None and t.when < posts.enabled_since):
            continue
        ctx = _base_context(settings, schedule, t.when, typical)
        try:
            text = render_text(body, ctx, format_next_close(schedule.next_close(t.when), t.when, schedule.timezone))
        except snippets.SnippetError:
            continue  # the app's tick logs the broken text at the post's time
        if text.strip():
            out.append(Wanted(status_key(account.id, t.kind, t.when), t.when, t.kind, text))
    return out


def scheduled_rows(account_id: int) -> list[Outbox]:
    """Our posts the platform holds for this account, earliest first."""
    return list(
        Outbox.select().where(
            (Outbox.account == account_id) & (Outbox.purpose == OutboxPurpose.STATUS_POST)
            & (Outbox.state == OutboxState.SCHEDULED)
        ).order_by(Outbox.next_attempt_at)
    )


def scheduled_keys(account_ids: Any = None) -> dict[str, tuple[str, str]]:
    """idempotency key -> (text, "scheduled on <platform>") for the rows the platforms hold (the preview's
    mark: shown only while the previewed text is the one the platform holds)."""
    query = Outbox.select(Outbox, Account).join(Account).where(
        (Outbox.purpose == OutboxPurpose.STATUS_POST) & (Outbox.state == OutboxState.SCHEDULED))
    if account_ids is not None:
        query = query.where(Outbox.account.in_(list(account_ids)))
    return {row.idempotency_key: (row.text, f"scheduled on {platform_name(row.account)}") for row in query}


def can_schedule(connector: Any) -> bool:
    return CAPABILITY in getattr(connector, "capabilities", ()) and callable(getattr(connector, "schedule_status", None))


# --- due: cheap, no network ---------------------------------------------------------------------------------


class _Rounds:
    """Per account: the inputs' fingerprint and time of the last complete round (this process only: after a
    restart the first round lists and compares, which changes nothing when nothing changed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last: dict[int, tuple[str, datetime]] = {}
        self.refused: set[str] = set()  # keys whose refusal was logged once already
        self.retry_at: dict[int, datetime] = {}  # account -> no round before (the last one failed)


ROUNDS = _Rounds()


def fingerprint(settings: Settings) -> str:
    values = {key: settings.get(key) for key in INPUT_KEYS}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def due(settings: Settings, account_id: int, now: datetime) -> bool:
    with ROUNDS.lock:
        last = ROUNDS.last.get(account_id)
        retry_at = ROUNDS.retry_at.get(account_id)
    if retry_at is not None and now < retry_at:
        return False
    if last is None or last[0] != fingerprint(settings) or not timedelta(0) <= now - last[1] < RECHECK:
        return True
    return Outbox.select().where(
        (Outbox.account == account_id) & (Outbox.state == OutboxState.SCHEDULED) & (Outbox.next_attempt_at <= now)
    ).exists()


# --- reconcile: network, on the account's worker -------------------------------------------------------------


@dataclass
class Round:
    scheduled: int = 0
    cancelled: int = 0
    adopted: int = 0
    published: int = 0
    problem: str = ""

    def line(self, platform: str) -> str:
        parts = [f"{n} {what}" for n, what in ((self.scheduled, "scheduled"), (self.cancelled, "cancelled"),
                                               (self.adopted, "found already scheduled"),
                                               (self.published, "published")) if n]
        text = f"status posts on {platform}: " + (", ".join(parts) if parts else "up to date")
        return text + (f" ({self.problem})" if self.problem else "")


def reconcile(
    store: Store, settings: Settings, schedule: Schedule, config: AutomationConfig | None, account: Account,
    connector: Any, now: datetime, *, paused: bool, typical: str = "",
) -> Round:
    """Make the platform hold exactly the wanted posts of `account` (see the module docstring)."""
    result = Round()
    if not can_schedule(connector):
        return result
    platform = platform_name(account)
    inputs = fingerprint(settings)
    wanted = {w.key: w for w in wanted_posts(settings, schedule, config, account, now, paused=paused, typical=typical)}
    try:
        held = {p.scheduled_id: p for p in connector.list_scheduled()}
    except ConnectorError as exc:
        return _failed(result, account.id, str(exc), now)
    rows = scheduled_rows(account.id)
    for row in rows:
        if row.next_attempt_at is not None and row.next_attempt_at <= now:
            _mark_published(store, row, platform, now)
            result.published += 1
        elif row.external_id not in held:
            _close(store, row, OutboxState.CANCELLED, f"deleted on {platform}; not posted", now, release=False)
            result.cancelled += 1
        elif row.idempotency_key not in wanted or wanted[row.idempotency_key].text != row.text:
            try:
                connector.cancel_scheduled(row.external_id)
            except ConnectorError as exc:
                return _failed(result, account.id, f"could not cancel a scheduled post: {exc}", now)
            _close(store, row, OutboxState.CANCELLED, "cancelled: the hours or the text changed", now, release=True)
            result.cancelled += 1
    taken = {r.idempotency_key for r in Outbox.select(Outbox.idempotency_key).where(
        Outbox.idempotency_key.in_(list(wanted)))} if wanted else set()
    ours = {p.idempotency_key.split("@", 1)[0]: p for p in held.values() if "@" in p.idempotency_key}
    for key, post in sorted(wanted.items(), key=lambda kv: kv[1].when):
        if key in taken:
            continue
        found = ours.get(key)
        if found is not None and found.at == post.when and found.text == post.text:
            _record(store, account.id, post, found, platform, now, adopted=True)
            result.adopted += 1
            continue
        try:
            answer = connector.schedule_status(post.text, post.when, idempotency_key=f"{key}@{uuid.uuid4().hex[:12]}")
        except PermanentError as exc:
            _refused(store, account.id, post, schedule.timezone, str(exc), now)
            result.problem = str(exc)
            break  # most refusals are the platform's limits: the rest of this round would fail the same way
        except ConnectorError as exc:
            return _failed(result, account.id, str(exc), now)
        _record(store, account.id, post, answer, platform, now, adopted=False)
        result.scheduled += 1
    with ROUNDS.lock:
        ROUNDS.last[account.id] = (inputs, now)
        ROUNDS.retry_at.pop(account.id, None)
    return result


def _failed(result: Round, account_id: int, problem: str, now: datetime) -> Round:
    """A round the platform did not complete: try again after RETRY_AFTER, not at every tick."""
    result.problem = problem
    with ROUNDS.lock:
        ROUNDS.retry_at[account_id] = now + RETRY_AFTER
    return result


def _record(store: Store, account_id: int, post: Wanted, answer: ScheduledPost, platform: str, now: datetime,
            *, adopted: bool) -> None:
    tz_label = f"{STATUS_LABELS[post.kind]} post"
    with store.write():
        if Outbox.select().where(Outbox.idempotency_key == post.key).exists():
            return
        if answer.published:  # the platform published it at once (its time had passed there)
            row = Outbox.create(
                account=account_id, purpose=OutboxPurpose.STATUS_POST, text=post.text, idempotency_key=post.key,
                state=OutboxState.SENT, reason=tz_label, via=Via.STATUS, created_at=now, sent_at=now,
                external_id=answer.scheduled_id,
            )
            Activity.create(created_at=now, kind="status_post", account=account_id, outbox=row.id,
                            text=f"{tz_label}: {platform} published it at once instead of scheduling it")
            return
        row = Outbox.create(
            account=account_id, purpose=OutboxPurpose.STATUS_POST, text=post.text, idempotency_key=post.key,
            state=OutboxState.SCHEDULED, reason=tz_label, via=Via.STATUS, created_at=now,
            next_attempt_at=post.when, external_id=answer.scheduled_id,
        )
        verb = "found already scheduled" if adopted else "scheduled"
        Activity.create(created_at=now, kind="status_post", account=account_id, outbox=row.id,
                        text=f"{tz_label} {verb} on {platform} for {post.when:%Y-%m-%d %H:%M} UTC")


def _mark_published(store: Store, row: Outbox, platform: str, now: datetime) -> None:
    with store.write():
        row.state = OutboxState.SENT
        row.sent_at = row.next_attempt_at
        row.last_error = ""
        row.save()
        Activity.create(created_at=now, kind="status_post", account=row.account_id, outbox=row.id,
                        text=f"{row.reason}: published by {platform} at its time")


def _close(store: Store, row: Outbox, state: OutboxState, why: str, now: datetime, *, release: bool) -> None:
    with store.write():
        row.state = state
        row.last_error = why
        if release:  # the key is free for the re-planned post
            row.idempotency_key = f"{row.idempotency_key}~cancelled~{row.id}"
        row.save()
        Activity.create(created_at=now, kind="status_post", account=row.account_id, outbox=row.id,
                        text=f"{row.reason}: {why}")


def _refused(store: Store, account_id: int, post: Wanted, tz: str, reason: str, now: datetime) -> None:
    with ROUNDS.lock:
        if post.key in ROUNDS.refused:
            return
        ROUNDS.refused.add(post.key)
    with store.write():
        Activity.create(created_at=now, kind="skipped", account=account_id,
                        text=f"{label(post.kind, post.when, tz)} could not be scheduled on the platform ({reason}); "
                             "socialdesk posts it itself if it is running then")


def promise_text(rows: list[Outbox], tz: str, now: datetime) -> str:
    """"closing posts scheduled until Friday" for the coverage report; "" when nothing is scheduled."""
    if not rows:
        return ""
    # Named in one fixed order, not in the order the rows fall due: the same plan reads the same whether
    # it is asked while open (the next post a closing) or while closed.
    names = {"opening": "opening", "closing": "closing", "away_start": "away", "away_end": "back-from-away"}
    present = {row.idempotency_key.split(":")[2] for row in rows if row.idempotency_key.count(":") >= 3}
    kinds = [name for kind, name in names.items() if kind in present]
    last = max(t for r in rows if (t := r.next_attempt_at) is not None)
    local = last.astimezone(ZoneInfo(tz))
    days = (local.date() - now.astimezone(ZoneInfo(tz)).date()).days
    until = "today" if days <= 0 else "tomorrow" if days == 1 else f"{local:%A}" if days < 7 else f"{local:%d %b}"
    what = " and ".join([", ".join(kinds[:-1]), kinds[-1]] if len(kinds) > 1 else kinds) or "status"
    return f"{what} posts scheduled until {until}"


# --- the coverage part (core/coverage.py lists it in PARTS) ------------------------------------------------


def applies(account: Account) -> bool:
    """The account's own connector can schedule (by account kind: a demo account simulating a platform
    posts through the demo connector, which cannot)."""
    from socialdesk.connectors import registry

    try:
        return CAPABILITY in registry.spec(account.kind).capabilities
    except registry.UnknownKindError:
        return False


def _promises(ctx: Any, account: Account) -> list:
    from socialdesk.core.coverage import Promise

    rows = [r for r in scheduled_rows(account.id) if r.next_attempt_at is not None and r.next_attempt_at > ctx.now]
    times = [t for r in rows if (t := r.next_attempt_at) is not None]
    if not rows:
        return []
    return [Promise("status_posts", "server", promise_text(rows, ctx.schedule.timezone, ctx.now), max(times))]


def _due(ctx: Any, account: Account) -> str:
    has_rows = bool(scheduled_rows(account.id))
    wanted = ctx.config is not None and ctx.config.posts_for(account.id) is not None
    if not wanted and not has_rows:
        return ""
    return "push" if due(ctx.settings, account.id, ctx.now) else ""


def _push(ctx: Any, account: Account, *, withdraw: bool = False) -> str:
    """The round, with a connector built for it from the account's keyring (on the account's worker).
    `withdraw` (the account is being removed): cancel every post of ours the platform holds."""
    from socialdesk.connectors import registry
    from socialdesk.core.automation.config import is_paused

    if ctx.secrets_for is None:
        return ""
    try:
        connector = registry.spec(account.kind).factory(dict(account.settings or {}), ctx.secrets_for(account))
    except ConnectorError as exc:
        return f"{account.name}: {_failed(Round(), account.id, str(exc), ctx.now).line(platform_name(account))}"
    try:
        result = reconcile(ctx.store, ctx.settings, ctx.schedule, None if withdraw else ctx.config, account,
                           connector, ctx.now, paused=withdraw or is_paused(ctx.settings),
                           typical=ctx.typical_response())
    finally:
        close = getattr(connector, "close", None)
        if callable(close):
            close()
    return f"{account.name}: {result.line(platform_name(account))}"


def before_removal(ctx: Any, account: Account) -> str:
    """The account is being removed: cancel every post of ours the platform holds (network, with the
    account's secrets, still in the keyring). "" when none stays; else, in the owner's words, which posts
    the platform will still publish and where to delete them (ConnectorSpec.scheduled_posts_where)."""
    from socialdesk.connectors import registry

    if not scheduled_rows(account.id):
        return ""  # nothing of ours is held there: no network
    problem = ""
    try:
        if ctx.secrets_for is None:
            raise ConnectorError("its login was not available")
        connector = registry.spec(account.kind).factory(dict(account.settings or {}), ctx.secrets_for(account))
    except ConnectorError as exc:
        problem = str(exc)
    else:
        try:
            problem = reconcile(ctx.store, ctx.settings, ctx.schedule, None, account, connector, ctx.now,
                                paused=True).problem
        finally:
            close = getattr(connector, "close", None)
            if callable(close):
                close()
    with ROUNDS.lock:  # nothing of a removed account is kept
        ROUNDS.last.pop(account.id, None)
        ROUNDS.retry_at.pop(account.id, None)
    left = [(r, when) for r in scheduled_rows(account.id) if (when := r.next_attempt_at) is not None and when > ctx.now]
    if not left:
        return ""
    platform = platform_name(account)
    tz = ZoneInfo(ctx.schedule.timezone)
    posts = "; ".join(f"{r.reason} on {when.astimezone(tz):%a %d %b %H:%M} (“{_snippet(r.text)}”)" for r, when in left)
    where = registry.spec(account.kind).scheduled_posts_where or f"on {platform}"
    count = "1 status post" if len(left) == 1 else f"{len(left)} status posts"
    because = f"socialdesk could not cancel them: {problem.rstrip('.')}" if problem else \
        "socialdesk could not cancel them"
    return (f"{count} that socialdesk scheduled on {platform} for {account.name} will still be published ({because}). "
            f"Delete them {where}: {posts}.")


def _snippet(text: str, limit: int = 40) -> str:
    """The start of a post's text, on one line, to recognise it by."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def part() -> Any:
    """This module as a coverage ServerPart (core/coverage.py: PARTS)."""
    from socialdesk.core.coverage import ServerPart

    return ServerPart(name="scheduled_posts", applies=applies, promises=_promises, due=_due, push=_push,
                      withdraw=lambda ctx, account: _push(ctx, account, withdraw=True),
                      before_removal=before_removal)
