"""Off-hours auto-replies kept by a platform's own server while socialdesk is not running (issue 18 item 1):
the plan (closed periods and their texts from core/hours and the automation settings), what was pushed,
when to push again, and which messages the server already answered.

The connector side is `connectors/server_replies.ServerAutoReply`, declared on a ConnectorSpec
(`server_auto_reply`; today the mail server's Sieve). Nothing here names a platform.

Decisions:
- The plan lists every closed stretch from now until COVER (6 weeks) ahead, at most MAX_PERIODS, each
  [start, end) in UTC with the app's own closed-period key (`Schedule.closed_period_key`: the instant the
  stretch began), so the server's once-per-person memory and the AutoReplyLedger name the same period.
  The stretch we are in starts in the past; the last one may end after COVER (its real reopening).
- Texts: the channel's auto-reply text (or the away message of an away period in the stretch), rendered
  like the app's (snippets placeholders) for an unknown customer (`{first_name|there}` takes its fallback)
  and with `{next_open}` as an absolute date, "at 09:00 Monday 7 December", because the reply is read at
  some unknown moment of the stretch ("tomorrow" would be wrong). `{today}` has no value there.
- Wanted when the account's connector offers it and its settings allow it (`enabled`), automation is
  not paused, its settings are valid and the channel's private auto-replies are on. Otherwise what we
  pushed is withdrawn (the owner's own filter restored). A disabled account is left as it is.
- When: `due` (no network, cheap enough for every scheduler tick) compares a fingerprint of the inputs
  (schedule, automation settings, pause, business names, the account's settings) with the last push,
  and pushes at least every REFRESH_EVERY (so the window always reaches 5+ weeks ahead while the app
  runs); after a failure it waits RETRY_AFTER (RETRY_UNAVAILABLE when the server cannot do it at all).
  Changes made by another process (`socialdesk hours set` while the window runs) are seen the same way.
- State (setting "coverage.server_replies", per account id): `server` = what the server holds after
  the last successful push (pushed_at, covered_until, periods, note) or None; `attempt` = the last
  failure (at, kind: unavailable | kept | error, message) or None; `fingerprint`. Written under the
  store's write lock (read-modify-write of one JSON value from several workers).
- No double replies: `answered_by_server(settings, account_id, when)` gives the closed-period key when a
  message that arrived at `when` fell inside a period the server held at that time (our script was on
  the server since before it arrived: `since`, the first of an unbroken run of pushes; periods that
  ended in the last KEEP_PAST stay known for mail fetched late); core/automation then sends nothing itself and writes the ledger row, so the person's other
  channels get no second reply in that period. The server applies the same RFC 3834 guards as the app
  (connectors/sieve.py), so a message the app would answer is one the server answered.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from socialdesk.connectors import registry, traits
from socialdesk.connectors.base import AccountSecrets, ConnectorError
from socialdesk.connectors.server_replies import (
    ClosedPeriod,
    Kept,
    PushResult,
    ReplyPlan,
    ServerAutoReply,
    Unavailable,
)
from socialdesk.core import personalize, queue, snippets

# The modules, not the package facade: core/automation's engine imports this module.
from socialdesk.core.automation.config import DEFAULT_AUTO_REPLY, AutomationConfig, is_paused
from socialdesk.core.automation.render import render_text
from socialdesk.core.hours import Schedule, ScheduleError
from socialdesk.core.settings import Settings
from socialdesk.core.store import Account, Store
from socialdesk.secrets import error_text

log = logging.getLogger(__name__)

UTC = timezone.utc
STATE_KEY = "coverage.server_replies"
COVER = timedelta(days=42)
MAX_PERIODS = 120
REFRESH_EVERY = timedelta(hours=24)
RETRY_AFTER = timedelta(minutes=15)
RETRY_UNAVAILABLE = timedelta(hours=24)
KEEP_PAST = timedelta(days=7)  # ended periods remembered for `answered_by_server`


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: Any) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return value.astimezone(UTC) if value.tzinfo is not None else None


# --- which accounts ---------------------------------------------------------------------------------


def part_for(account: Account) -> ServerAutoReply | None:
    """The account's connector's ServerAutoReply, when its platform has one."""
    if not traits.known(account.kind):
        return None
    return registry.spec(account.kind).server_auto_reply


def wanted(account: Account, settings: Settings, config: AutomationConfig | None) -> bool:
    """Whether the account's server should keep off-hours replies now (module docstring)."""
    part = part_for(account)
    if part is None or not part.enabled(dict(account.settings or {})):
        return False
    if config is None or is_paused(settings):
        return False
    return config.rule_for(queue.channel_of(account)).private


# --- the plan -----------------------------------------------------------------------------------------


def closed_stretches(schedule: Schedule, now: datetime, cover: timedelta = COVER,
                     limit: int = MAX_PERIODS) -> tuple[list[tuple[datetime, datetime | None, str]], datetime]:
    """The closed stretches from now until `now + cover` as (start, end, key), and until when that
    list is complete (the plan is right until then)."""
    now = now.astimezone(UTC)  # arithmetic on an aware local time would be wall-clock arithmetic
    until = now + cover
    out: list[tuple[datetime, datetime | None, str]] = []
    start: datetime | None = None
    key = ""
    if not schedule.is_open(now):
        key = schedule.closed_period_key(now) or "closed:long"
        start = _parse(key.removeprefix("closed:")) or now
    for s, e in schedule.open_intervals(now, until):
        if start is not None and s > start:
            out.append((start, s, key))
            if len(out) >= limit:
                return out, s
        start, key = e, "closed:" + _iso(e)
    if start is not None and start < until:
        try:
            end: datetime | None = schedule.next_open(start)
        except ScheduleError:
            end = None
        out.append((start, end, key))
    return out, until


def _away_message(schedule: Schedule, start: datetime, end: datetime | None) -> str:
    for period in schedule.away:
        if period.message.strip() and (end is None or period.start < end) and (
            period.end is None or period.end > start
        ):
            return period.message
    return ""


def build_plan(account: Account, settings: Settings, schedule: Schedule, config: AutomationConfig,
               now: datetime, typical_response: str = "") -> ReplyPlan:
    """The periods and texts for one account's server (module docstring)."""
    channel = queue.channel_of(account)
    base = replace(
        personalize.business_context(settings, schedule, now, typical_response),
        today="", channel=personalize.channel_name(channel),
    )
    business = base.business.strip()
    stretches, covered_until = closed_stretches(schedule, now)
    periods = []
    for start, end, key in stretches:
        opening = personalize.format_opening_date(end, schedule.timezone) if end is not None else ""
        ctx = replace(base, next_open=opening)
        text = ""
        for body in (_away_message(schedule, start, end), config.reply_text_for(channel), DEFAULT_AUTO_REPLY):
            if not body.strip():
                continue
            try:
                text = render_text(body, ctx).strip()
            except snippets.SnippetError:
                continue
            if text:
                break
        who = f"{business} is closed" if business else "We're closed"
        subject = f"{who} — back {opening}" if opening else who
        periods.append(ClosedPeriod(start, end, key, subject, text))
    return ReplyPlan(tuple(periods), covered_until)


def fingerprint(account: Account, settings: Settings, schedule: Schedule, config: AutomationConfig | None) -> str:
    """What the plan depends on besides the time (module docstring)."""
    inputs = [
        schedule.to_json(), config.to_json() if config is not None else None, is_paused(settings),
        settings.get("business.name"), settings.get("business.my_name"), account.kind, account.settings or {},
    ]
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


# --- state --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerState:
    """What socialdesk last left on one account's server (see the module docstring)."""

    pushed_at: datetime | None = None
    since: datetime | None = None  # the first push of this unbroken stretch of pushes
    covered_until: datetime | None = None
    periods: tuple[tuple[datetime, datetime | None, str], ...] = ()
    note: str = ""
    attempt_at: datetime | None = None
    attempt_kind: str = ""  # "", "unavailable", "kept", "error"
    attempt_error: str = ""
    fingerprint: str = ""
    withdrawn: bool = False  # wanted no more and taken off the server

    @property
    def active(self) -> bool:
        return self.pushed_at is not None

    def answered(self, when: datetime) -> str | None:
        """The key of the period the server held when a message arrived at `when`, or None."""
        if self.pushed_at is None or when < (self.since or self.pushed_at):
            return None
        for start, end, key in self.periods:
            if start <= when and (end is None or when < end):
                return key
        return None

    def to_json(self) -> dict:
        return {
            "pushed_at": _iso(self.pushed_at) if self.pushed_at else None,
            "since": _iso(self.since) if self.since else None,
            "covered_until": _iso(self.covered_until) if self.covered_until else None,
            "periods": [[_iso(s), _iso(e) if e else None, k] for s, e, k in self.periods],
            "note": self.note,
            "attempt_at": _iso(self.attempt_at) if self.attempt_at else None,
            "attempt_kind": self.attempt_kind,
            "attempt_error": self.attempt_error,
            "fingerprint": self.fingerprint,
            "withdrawn": self.withdrawn,
        }

    @classmethod
    def from_json(cls, raw: Any) -> ServerState:
        if not isinstance(raw, dict):
            return cls()
        periods = []
        for item in raw.get("periods") or []:
            if isinstance(item, list) and len(item) == 3:
                start, end = _parse(item[0]), _parse(item[1]) if item[1] else None
                if start is not None:
                    periods.append((start, end, str(item[2])))
        return cls(
            pushed_at=_parse(raw.get("pushed_at")) if raw.get("pushed_at") else None,
            since=_parse(raw.get("since")) if raw.get("since") else None,
            covered_until=_parse(raw.get("covered_until")) if raw.get("covered_until") else None,
            periods=tuple(periods),
            note=str(raw.get("note") or ""),
            attempt_at=_parse(raw.get("attempt_at")) if raw.get("attempt_at") else None,
            attempt_kind=str(raw.get("attempt_kind") or ""),
            attempt_error=str(raw.get("attempt_error") or ""),
            fingerprint=str(raw.get("fingerprint") or ""),
            withdrawn=bool(raw.get("withdrawn")),
        )


def state_of(settings: Settings, account_id: int) -> ServerState:
    return ServerState.from_json((settings.get(STATE_KEY) or {}).get(str(account_id)))


def _save(store: Store, settings: Settings, account_id: int, state: ServerState) -> None:
    with store.write():  # read-modify-write of one JSON value that several workers update
        states = dict(settings.get(STATE_KEY) or {})
        states[str(account_id)] = state.to_json()
        settings.set(STATE_KEY, states)


def answered_by_server(settings: Settings, account_id: int, when: datetime) -> str | None:
    """The closed-period key when a message that arrived at `when` got the server's reply (module docstring)."""
    return state_of(settings, account_id).answered(when)


# --- pushing ------------------------------------------------------------------------------------------


def due(account: Account, settings: Settings, schedule: Schedule, config: AutomationConfig | None,
        now: datetime) -> str:
    """"push", "withdraw" or "" for one account (no network; module docstring)."""
    if not account.enabled or part_for(account) is None:
        return ""
    state = state_of(settings, account.id)
    if not wanted(account, settings, config):
        if not state.active:
            return ""  # nothing of ours is there
        if state.attempt_at is not None and timedelta(0) <= now - state.attempt_at < RETRY_AFTER:
            return ""  # the last withdraw failed a moment ago
        return "withdraw"
    if state.attempt_at is not None:
        wait = RETRY_UNAVAILABLE if state.attempt_kind in ("unavailable", "kept") else RETRY_AFTER
        if state.fingerprint == fingerprint(account, settings, schedule, config) and (
            timedelta(0) <= now - state.attempt_at < wait
        ):
            return ""
        return "push"
    if not state.active or state.fingerprint != fingerprint(account, settings, schedule, config):
        return "push"
    assert state.pushed_at is not None
    return "push" if now - state.pushed_at >= REFRESH_EVERY or now < state.pushed_at else ""


def push(account: Account, store: Store, settings: Settings, schedule: Schedule, config: AutomationConfig,
         secrets: AccountSecrets, now: datetime, typical_response: str = "") -> str:
    """Write the plan to the account's server (network); records the outcome; returns an owner-readable line."""
    part = part_for(account)
    if part is None:
        return f"{account.name}: its platform has no server that keeps replies."
    stamp = fingerprint(account, settings, schedule, config)
    old = state_of(settings, account.id)
    try:
        plan = build_plan(account, settings, schedule, config, now, typical_response)
        result: PushResult = part.push(dict(account.settings or {}), secrets, plan)
    except ConnectorError as exc:
        kind = "unavailable" if isinstance(exc, Unavailable) else "kept" if isinstance(exc, Kept) else "error"
        message = error_text(exc)
        # Unavailable/Kept: our script is not (or no longer) what the server runs.
        base = ServerState() if kind != "error" else old
        _save(store, settings, account.id, replace(base, attempt_at=now, attempt_kind=kind, attempt_error=message,
                                                  fingerprint=stamp, withdrawn=False))
        return f"{account.name}: {message}"
    periods = [(p.start, p.end, p.key) for p in result.periods]
    keys = {key for _s, _e, key in periods}
    # Periods that ended lately stay known: mail that arrived in them was answered by the server, even
    # if socialdesk fetches it only now (woken from sleep).
    past = [p for p in old.periods if old.active and p[1] is not None and now - KEEP_PAST < p[1] <= now
            and p[2] not in keys]
    state = ServerState(
        pushed_at=now, since=old.since or old.pushed_at if old.active else now, covered_until=result.covered_until,
        periods=tuple(sorted(past) + periods), note=result.note, fingerprint=stamp,
    )
    _save(store, settings, account.id, state)
    line = f"{account.name}: off-hours replies by {part.server_name} until {_short(result.covered_until, schedule)}"
    return line + (f" ({result.note})" if result.note else "")


def withdraw(account: Account, store: Store, settings: Settings, secrets: AccountSecrets, now: datetime) -> str:
    """Take ours off the account's server and restore what was there (network)."""
    part = part_for(account)
    if part is None:
        return ""
    try:
        line = part.withdraw(dict(account.settings or {}), secrets)
    except ConnectorError as exc:
        old = state_of(settings, account.id)
        _save(store, settings, account.id, replace(old, attempt_at=now, attempt_kind="error",
                                                  attempt_error=error_text(exc)))
        return f"{account.name}: {error_text(exc)}"
    _save(store, settings, account.id, ServerState(withdrawn=True))
    return f"{account.name}: {line}"


def withdraw_before_removal(account: Account, store: Store, secrets: AccountSecrets, now: datetime,
                            tz: str = "UTC") -> str:
    """The account is being removed: take ours off its server (network; its state goes with the account:
    core/settings.Option.per_account). "" when nothing of ours stays there; else, in the owner's words, what
    keeps answering and how to stop it by hand (the removal goes on: core/coverage.before_removal)."""
    settings = Settings(store)
    left = ""
    if state_of(settings, account.id).active:
        line = withdraw(account, store, settings, secrets, now)
        stays = state_of(settings, account.id)
        part = part_for(account)
        if stays.active and part is not None:
            log.warning("could not restore the server's filters of removed account %s: %s", account.id, line)
            until = ""
            if stays.covered_until is not None:
                local = stays.covered_until.astimezone(ZoneInfo(tz))
                until = f" until {local.day} {local:%b}"
            left = (f"socialdesk's off-hours replies for {account.name} stay on {part.server_name} and keep "
                    f"answering{until} (socialdesk could not remove them: {stays.attempt_error.rstrip('.')}). "
                    f"To stop them, {part.where_to_remove}.")
    return left


def _short(when: datetime | None, schedule: Schedule) -> str:
    if when is None:
        return "further notice"
    local = when.astimezone(ZoneInfo(schedule.timezone))
    return f"{local.day} {local:%b}"
