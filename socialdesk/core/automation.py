"""Automatic messages: off-hours auto-replies and open/close/away status posts, plus the Activity view.

This module decides; core/outbox.py sends. Nothing here talks to a platform, and nothing is sent that
does not first become an Outbox row with a unique idempotency key (DESIGN.md's at-most-once rule).

Decisions:
- Configuration is one `AutomationConfig` (setting "automation.config"), validated with owner-readable
  errors. Auto-replies are switched per channel (`queue.channel_of`: the account kind, or the channel a
  demo account simulates) with a "*" rule for every other channel; private messages (DMs, email,
  Telegram) are on by default, public comments, mentions and reviews off. A rule's empty text means the
  shared default text. Status posts are per account and off by default.
- One auto-reply per person per closed period, across all of that person's channels: the
  AutoReplyLedger row (unique on contact + `Schedule.closed_period_key`) and the outbox row are written
  in the same `store.write()` transaction, so two channels ingesting at once still yield one reply.
  A person is a contact (the owner merges contacts across platforms), and for email also every contact
  whose identity on any of the profile's email accounts has the same address
  (`email_reply.person_address`: lowercased as a whole, dots and +tags kept): ingest makes one contact
  per account, so without this a customer writing to info@ and sales@ got two replies. The ledger and
  the 24 h cap are read for that whole group, and the group is read again under the write lock (the
  other account's ingest may have created its identity meanwhile).
  The idempotency key is "auto:<contact>:<period key>". The ingest hook works per batch: one IN (...)
  query per table for the facts, decisions in Python, then ONE transaction for every outbox, ledger and
  Activity row of the batch, which re-reads the ledger under the write lock (a concurrent ingest on
  another channel may have answered the same person meanwhile). While open it returns before reading any
  conversation. Reads and writes are plain SQL: peewee query building cost more than the queries.
  On top, a hard cap of `max_per_day` (3)
  auto-replies per person in any 24 hours, whatever the schedule does (away on/off flapping).
- The decision itself (`decide_auto_reply`) is a pure function of `AutoReplyFacts`, returning a reason
  that the Activity view shows. Skips the owner may wonder about (automated sender, already answered
  this period, cap reached, paused, history at first sync) are logged; "we were open" and "public kind
  off" are not, or every daytime message would fill the log.
- A message must be at most 24 h old: at an account's first sync this keeps imported history from
  messaging customers; later it stops a reset cursor or a long outage from answering old mail.
- Email loop guards (RFC 3834): `email_reply.auto_reply_refusal`, the one rule, judging the address
  the reply would actually go to (Reply-To, else From): several Reply-To addresses, an automated
  mailbox, or any of the profile's own addresses (every email-channel account's address and aliases)
  mean no auto-reply, with the reason in the Activity view; plus the connector's `meta["automated"]`.
  What we send carries `Auto-Submitted: auto-replied` (ReplyTarget.auto_reply, set by the outbox), and
  the email connector checks the same rule again before sending.
- The auto-reply is decided when the message is ingested and only while the business is closed at that
  moment. A queued auto-reply that could not be sent before the business opened again is skipped
  (state "skipped"): "we're closed right now" must never arrive while we are open.
- While away with a message (`socialdesk away on --message`), that message is the auto-reply text.
- Status posts: the tick hook finds the transitions (opening, closing, away start, away end) of the last
  24 hours. Each has the key "status:<account id>:<kind>:<UTC instant>". Within `grace_minutes` (15) of
  the instant it is queued; later it is recorded as a "skipped" outbox row with the reason (N min late),
  which logs it exactly once and consumes the key so it can never be posted later. A pending status
  post whose instant is older than the grace window (account offline, retries) is skipped the same way.
  Transitions before an account's `enabled_since` are ignored, so enabling posts does not log a day
  of "missed" posts.
- A break shorter than `MIN_CLOSED_GAP` (3 h, e.g. lunch) is no opening/closing for posts, and an
  opening or closing caused by an away period is announced by the away post instead.
- `{next_close}` (status posts only) is substituted here, around snippets.render, because the snippet
  placeholder list is for replies; everything else is snippets.render's plain substitution.
"""

from __future__ import annotations

import json
import logging
import re
from collections import namedtuple
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

import peewee as pw

from socialdesk.connectors import email_reply, traits
from socialdesk.core import outbox, personalize, queue, snippets
from socialdesk.core.hours import Schedule
from socialdesk.core.settings import Settings
from socialdesk.core.states import OutboxPurpose, OutboxState, Via
from socialdesk.core.store import (
    Account,
    Activity,
    AutoReplyLedger,
    Contact,
    Conversation,
    Outbox,
    Store,
    from_micros,
    to_micros,
)

log = logging.getLogger(__name__)

UTC = timezone.utc
CONFIG_KEY = "automation.config"
PAUSED_KEY = "automation.paused"
HISTORY_LIMIT = timedelta(hours=24)  # older messages never get an auto-reply
CAP_WINDOW = timedelta(hours=24)
STATUS_LOOKBACK = timedelta(hours=24)
MIN_CLOSED_GAP = timedelta(hours=3)
TYPICAL_REUSE = timedelta(minutes=1)  # the typical response time moves slowly: one query per minute
STATUS_KINDS = ("opening", "closing", "away_start", "away_end")
STATUS_LABELS = {"opening": "opening", "closing": "closing", "away_start": "away start", "away_end": "back from away"}
_CHANNEL_RE = re.compile(r"^(\*|[a-z][a-z0-9_]{0,39})$")
_NEXT_CLOSE_RE = re.compile(r"(?<!\{)\{\s*next_close\s*(?:\|([^{}]*))?\}")
MAX_TEXT = 2000
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

DEFAULT_AUTO_REPLY = (
    "Hi {first_name|there}, thanks for your message to {business|us}! We're closed right now — back "
    "{next_open|soon} — and we usually answer {typical_response}."
)
DEFAULT_STATUS_TEXTS = {
    "opening": "Good morning! We're online until {next_close}.",
    "closing": "Signing off for today — back {next_open|soon}. We read every message first thing.",
    "away_start": "We're away for a little while — back {next_open|soon}. Your messages are safe with us.",
    "away_end": "We're back! Thanks for your patience — we're catching up on messages now.",
}


class AutomationConfigError(ValueError):
    """Invalid automation settings; `str(e)` is meant for the owner."""


# --- configuration ----------------------------------------------------------------------------------


def text_problems(text: str) -> list[str]:
    """What is wrong with an automatic message text (placeholders as in snippets, plus {next_close})."""
    if not isinstance(text, str):
        return ["the text must be a string"]
    if len(text) > MAX_TEXT:
        return [f"the text is longer than {MAX_TEXT} characters"]
    return [p.message for p in snippets.validate_body(_NEXT_CLOSE_RE.sub("", text))] if text.strip() else []


def _check_text(text: Any, where: str, *, allow_empty: bool) -> str:
    if not isinstance(text, str):
        raise AutomationConfigError(f"{where}: the text must be a string")
    if not text.strip():
        if allow_empty:
            return ""
        raise AutomationConfigError(f"{where}: the text is empty")
    problems = text_problems(text)
    if problems:
        raise AutomationConfigError(f"{where}: {problems[0]}")
    return text


def _check_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise AutomationConfigError(f"{where} must be true or false")
    return value


@dataclass
class ChannelRule:
    """Auto-replies on one channel: private messages, public items, and the text ("" = default)."""

    private: bool = True
    public: bool = False
    text: str = ""


@dataclass
class StatusPosts:
    """Status posts of one account. An empty text switches that kind of post off."""

    enabled: bool = False
    enabled_since: datetime | None = None
    texts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STATUS_TEXTS))


@dataclass
class AutomationConfig:
    auto_reply_text: str = DEFAULT_AUTO_REPLY
    channels: dict[str, ChannelRule] = field(default_factory=lambda: {"*": ChannelRule()})
    status_posts: dict[int, StatusPosts] = field(default_factory=dict)  # account id -> posts
    grace_minutes: int = 15
    max_per_day: int = 3

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def default(cls) -> AutomationConfig:
        return cls()

    def validate(self) -> None:
        _check_text(self.auto_reply_text, "default auto-reply", allow_empty=False)
        if "*" not in self.channels:
            raise AutomationConfigError("auto-replies need a rule for every other channel ('*')")
        for channel, rule in self.channels.items():
            where = f"auto-reply on {'every other channel' if channel == '*' else channel}"
            if not isinstance(channel, str) or not _CHANNEL_RE.match(channel):
                raise AutomationConfigError(f"{where}: channel must be '*' or a name like 'telegram'")
            if not isinstance(rule, ChannelRule):
                raise AutomationConfigError(f"{where}: not a ChannelRule")
            _check_bool(rule.private, f"{where}: private messages")
            _check_bool(rule.public, f"{where}: public comments, mentions and reviews")
            _check_text(rule.text, where, allow_empty=True)
        for account_id, posts in self.status_posts.items():
            where = f"status posts of account {account_id}"
            if isinstance(account_id, bool) or not isinstance(account_id, int):
                raise AutomationConfigError(f"{where}: the account must be an id")
            if not isinstance(posts, StatusPosts):
                raise AutomationConfigError(f"{where}: not a StatusPosts")
            _check_bool(posts.enabled, f"{where}: enabled")
            if posts.enabled_since is not None and (
                not isinstance(posts.enabled_since, datetime) or posts.enabled_since.tzinfo is None
            ):
                raise AutomationConfigError(f"{where}: enabled_since must be an aware date-time")
            if not isinstance(posts.texts, dict) or set(posts.texts) - set(STATUS_KINDS):
                raise AutomationConfigError(f"{where}: texts are keyed by {', '.join(STATUS_KINDS)}")
            for kind, text in posts.texts.items():
                _check_text(text, f"{where}: {STATUS_LABELS[kind]} text", allow_empty=True)
        g = self.grace_minutes
        if isinstance(g, bool) or not isinstance(g, int) or not 1 <= g <= 180:
            raise AutomationConfigError(f"the grace window must be 1 to 180 minutes, got {g!r}")
        m = self.max_per_day
        if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 10:
            raise AutomationConfigError(f"the auto-reply cap must be 1 to 10 per person per 24 h, got {m!r}")

    def rule_for(self, channel: str) -> ChannelRule:
        return self.channels.get(channel) or self.channels["*"]

    def reply_text_for(self, channel: str) -> str:
        return self.rule_for(channel).text or self.auto_reply_text

    def posts_for(self, account_id: int) -> StatusPosts | None:
        posts = self.status_posts.get(account_id)
        return posts if posts is not None and posts.enabled else None

    def with_status_posts(self, account_id: int, enabled: bool, now: datetime, **texts: str) -> AutomationConfig:
        """A copy with an account's status posts switched (and texts changed); validates."""
        old = self.status_posts.get(account_id) or StatusPosts()
        merged = dict(old.texts)
        merged.update(texts)
        since = old.enabled_since if (old.enabled and enabled) else (now if enabled else None)
        posts = dict(self.status_posts)
        posts[account_id] = StatusPosts(enabled, since, merged)
        return replace(self, status_posts=posts)

    def to_json(self) -> dict:
        return {
            "auto_reply_text": self.auto_reply_text,
            "channels": {
                c: {"private": r.private, "public": r.public, "text": r.text} for c, r in sorted(self.channels.items())
            },
            "status_posts": {
                str(a): {
                    "enabled": p.enabled,
                    "enabled_since": p.enabled_since.astimezone(UTC).isoformat() if p.enabled_since else None,
                    "texts": dict(sorted(p.texts.items())),
                }
                for a, p in sorted(self.status_posts.items())
            },
            "grace_minutes": self.grace_minutes,
            "max_per_day": self.max_per_day,
        }

    @classmethod
    def from_json(cls, d: Any) -> AutomationConfig:
        if not isinstance(d, dict):
            raise AutomationConfigError("automation settings must be a JSON object")
        channels_raw = d.get("channels", {"*": {}})
        if not isinstance(channels_raw, dict):
            raise AutomationConfigError("channels must be an object keyed by channel")
        channels = {}
        for channel, raw in channels_raw.items():
            if not isinstance(raw, dict):
                raise AutomationConfigError(f"auto-reply on {channel}: expected an object")
            channels[channel] = ChannelRule(
                private=raw.get("private", True), public=raw.get("public", False), text=raw.get("text", "")
            )
        channels.setdefault("*", ChannelRule())
        posts_raw = d.get("status_posts", {})
        if not isinstance(posts_raw, dict):
            raise AutomationConfigError("status_posts must be an object keyed by account id")
        posts = {}
        for key, raw in posts_raw.items():
            if not isinstance(key, str) or not key.isdigit() or not isinstance(raw, dict):
                raise AutomationConfigError(f"status posts {key!r}: expected an account id and an object")
            since_raw = raw.get("enabled_since")
            try:
                since = datetime.fromisoformat(since_raw) if since_raw is not None else None
            except (TypeError, ValueError):
                raise AutomationConfigError(f"status posts of account {key}: bad enabled_since {since_raw!r}") from None
            texts = dict(DEFAULT_STATUS_TEXTS)
            texts_raw = raw.get("texts", {})
            if not isinstance(texts_raw, dict):
                raise AutomationConfigError(f"status posts of account {key}: texts must be an object")
            texts.update(texts_raw)
            posts[int(key)] = StatusPosts(enabled=raw.get("enabled", False), enabled_since=since, texts=texts)
        return cls(
            auto_reply_text=d.get("auto_reply_text", DEFAULT_AUTO_REPLY),
            channels=channels,
            status_posts=posts,
            grace_minutes=d.get("grace_minutes", 15),
            max_per_day=d.get("max_per_day", 3),
        )


def load_config(settings: Settings) -> AutomationConfig:
    raw = settings.get(CONFIG_KEY)
    return AutomationConfig.from_json(raw) if raw else AutomationConfig.default()


def save_config(settings: Settings, config: AutomationConfig) -> None:
    config.validate()
    settings.set(CONFIG_KEY, config.to_json())


def is_paused(settings: Settings) -> bool:
    return bool(settings.get(PAUSED_KEY))


def pause(settings: Settings, paused: bool) -> None:
    """The one switch that stops every automatic reply and status post (and starts them again)."""
    settings.set(PAUSED_KEY, bool(paused))


# --- rendering ----------------------------------------------------------------------------------------


def _clock(local: datetime) -> str:
    return f"{local.hour}:{local.minute:02d}"


def format_next_close(when: datetime | None, now: datetime, tz: str) -> str:
    """"17:00", "2:00 tomorrow", "Friday 17:00"; "" when there is no closing within the horizon."""
    if when is None:
        return ""
    zone = ZoneInfo(tz)
    local = when.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    if days <= 0:
        return _clock(local)
    if days == 1:
        return f"{_clock(local)} tomorrow"
    return f"{_DAYS[local.weekday()]} {_clock(local)}"


def render_text(body: str, ctx: snippets.RenderContext, next_close: str = "") -> str:
    """snippets.render plus {next_close}; values are inserted verbatim, never re-scanned."""
    pieces = _NEXT_CLOSE_RE.split(body)
    # split() with one group gives [text, fallback, text, fallback, ..., text]
    out = snippets.render(pieces[0], ctx) if pieces[0] else ""
    for i in range(1, len(pieces), 2):
        fallback = pieces[i]
        out += next_close or (fallback or "")
        tail = pieces[i + 1]
        out += snippets.render(tail, ctx) if tail else ""
    return out


def _base_context(settings: Settings, schedule: Schedule, now: datetime, typical: str) -> snippets.RenderContext:
    return personalize.business_context(settings, schedule, now, typical)


# --- the auto-reply decision ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoReplyFacts:
    """Everything the decision needs, gathered from the store (so the decision itself is pure)."""

    now: datetime
    period_key: str | None  # None = open
    channel: str
    public: bool
    message_created_at: datetime
    first_sync: bool
    automated_sender: bool
    already_replied: bool  # the ledger has this person for this closed period
    sent_last_24h: int  # auto-replies to this person in the last 24 h
    paused: bool
    has_contact: bool = True
    guard_reason: str = ""  # why the loop guard refused (shown instead of "automated sender")


@dataclass(frozen=True)
class Decision:
    send: bool
    reason: str
    log: bool  # worth a line in the Activity view


def decide_auto_reply(facts: AutoReplyFacts, config: AutomationConfig) -> Decision:
    if facts.period_key is None:
        return Decision(False, "open", False)
    rule = config.rule_for(facts.channel)
    if facts.public and not rule.public:
        return Decision(False, "public kind off", False)
    if not facts.public and not rule.private:
        return Decision(False, "channel off", False)
    if not facts.has_contact:
        return Decision(False, "no contact", False)
    if facts.automated_sender:
        return Decision(False, facts.guard_reason or email_reply.AUTOMATED, True)
    if facts.now - facts.message_created_at > HISTORY_LIMIT:
        if facts.first_sync:
            return Decision(False, "history at first sync", True)
        return Decision(False, "message older than 24 h", True)
    if facts.already_replied:
        return Decision(False, "already replied this period", True)
    if facts.sent_last_24h >= config.max_per_day:
        return Decision(False, "cap reached", True)
    if facts.paused:
        return Decision(False, "paused", True)
    return Decision(True, "closed", True)


def email_guard(meta: dict, sender: str, own_addresses: Any) -> str:
    """Why the RFC 3834 guard refuses an auto-reply to this message ("" = it may go; non-email senders
    always pass). The rule is `email_reply.auto_reply_refusal`; the connector's precomputed
    meta["automated"] also refuses."""
    address = str(meta.get("from") or sender or "").strip()
    if "@" in address:
        refusal = email_reply.auto_reply_refusal({**meta, "from": address}, sender, own_addresses)
        if refusal:
            return refusal
    return email_reply.AUTOMATED if meta.get("automated") else ""


# --- status post schedule --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    when: datetime
    kind: str  # opening | closing | away_start | away_end


def status_transitions(schedule: Schedule, start: datetime, end: datetime) -> list[Transition]:
    """Transitions worth a status post with `start < when <= end`, earliest first."""
    tiny = timedelta(microseconds=1)
    out: list[Transition] = []
    intervals = list(schedule.open_intervals(start - MIN_CLOSED_GAP, end + MIN_CLOSED_GAP))
    for i, (s, e) in enumerate(intervals):
        if start < s <= end and schedule.away_at(s - tiny) is None:
            if i == 0 or intervals[i - 1][1] <= s - MIN_CLOSED_GAP:
                out.append(Transition(s, "opening"))
        if start < e <= end and schedule.away_at(e) is None:
            if i + 1 == len(intervals) or intervals[i + 1][0] >= e + MIN_CLOSED_GAP:
                out.append(Transition(e, "closing"))
    for p in schedule.away:
        if start < p.start <= end and schedule.away_at(p.start - tiny) is None:
            out.append(Transition(p.start, "away_start"))
        if p.end is not None and start < p.end <= end and schedule.away_at(p.end) is None:
            out.append(Transition(p.end, "away_end"))
    unique = {(t.when, t.kind): t for t in out}
    return sorted(unique.values(), key=lambda t: (t.when, STATUS_KINDS.index(t.kind)))


def status_key(account_id: int, kind: str, when: datetime) -> str:
    return f"status:{account_id}:{kind}:{when.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _key_instant(key: str) -> datetime | None:
    parts = key.split(":", 3)  # status, account id, kind, instant (which has colons of its own)
    try:
        return datetime.strptime(parts[3], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (ValueError, IndexError):
        return None


def can_post(account: Account) -> bool:
    """Whether this account's platform can publish a status post: the capability of the platform it
    posts to (a demo account answers as the platform it simulates, so a demo email channel cannot)."""
    from socialdesk.connectors import registry

    channel = queue.channel_of(account)
    try:
        return "post_status" in registry.spec(channel if traits.known(channel) else account.kind).capabilities
    except registry.UnknownKindError:
        return False


@dataclass(frozen=True)
class PlannedPost:
    when: datetime
    account_id: int
    account_name: str
    kind: str
    text: str


def preview_status_posts(
    settings: Settings, schedule: Schedule, now: datetime, days: int = 7, config: AutomationConfig | None = None
) -> list[PlannedPost]:
    """The automatic posts of the next `days` days, for the hours editor and `hours show`.

    `config` is the automation configuration to preview (the hours editor's unsaved edits); by default
    the stored one."""
    config = config if config is not None else load_config(settings)
    accounts = [
        a for a in Account.select().where(Account.enabled == True).order_by(Account.name)  # noqa: E712
        if config.posts_for(a.id) is not None and can_post(a)
    ]
    if not accounts:
        return []
    from socialdesk.core import metrics

    typical = metrics.typical_response_text(now)
    out = []
    for t in status_transitions(schedule, now, now + timedelta(days=days)):
        ctx = _base_context(settings, schedule, t.when, typical)
        next_close = format_next_close(schedule.next_close(t.when), t.when, schedule.timezone)
        for account in accounts:
            body = config.status_posts[account.id].texts.get(t.kind, "")
            if body.strip():
                out.append(PlannedPost(t.when, account.id, account.name, t.kind, render_text(body, ctx, next_close)))
    return out


# --- the Activity view --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityEntry:
    when: datetime
    kind: str  # auto_reply | status_post | skipped | error
    account: str
    to_whom: str  # the customer, or "public post"
    why: str
    result: str  # pending | sending | sent | failed | unknown | skipped | cancelled | not sent
    text: str
    conversation_id: int | None
    outbox_id: int | None
    detail: str = ""  # last error, or when it was sent


def activity(limit: int = 200) -> list[ActivityEntry]:
    """Every automatic message (queued, sent, failed, unknown, skipped) and every logged skip, newest first."""
    entries: list[ActivityEntry] = []
    rows = (
        Outbox.select(Outbox, Account, Contact)
        .join(Account)
        .switch(Outbox)
        .join(Contact, pw.JOIN.LEFT_OUTER)
        .where(Outbox.purpose.in_([OutboxPurpose.AUTO_REPLY, OutboxPurpose.STATUS_POST]))
        .order_by(Outbox.created_at.desc(), Outbox.id.desc())
        .limit(limit)
    )
    for row in rows:
        contact = row.contact.display_name if row.contact_id and row.contact else ""
        detail = row.last_error
        if row.state == OutboxState.SENT and row.sent_at:
            detail = f"sent {row.sent_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        entries.append(
            ActivityEntry(
                when=row.created_at,
                kind=row.purpose,
                account=row.account.name,
                to_whom=contact or ("public post" if row.purpose == OutboxPurpose.STATUS_POST else "customer"),
                why=row.reason,
                result=row.state,
                text=row.text,
                conversation_id=row.conversation_id,
                outbox_id=row.id,
                detail=detail,
            )
        )
    skips = (
        Activity.select(Activity, Account, Conversation)
        .join(Account, pw.JOIN.LEFT_OUTER)
        .switch(Activity)
        .join(Conversation, pw.JOIN.LEFT_OUTER)
        .where((Activity.kind == "skipped") & Activity.outbox.is_null(True))
        .order_by(Activity.created_at.desc(), Activity.id.desc())
        .limit(limit)
    )
    for a in skips:
        entries.append(
            ActivityEntry(
                when=a.created_at,
                kind="skipped",
                account=a.account.name if a.account_id and a.account else "",
                to_whom=(a.conversation.contact_name if a.conversation_id and a.conversation else ""),
                why=a.text,
                result="not sent",
                text="",
                conversation_id=a.conversation_id,
                outbox_id=None,
            )
        )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]


# --- batched reads for the ingest hook ----------------------------------------------------------------------

_CHUNK = 500  # ids per IN (...): well under SQLite's variable limit
# Plain rows for the hook's hot path: peewee model objects and query building cost more than the SQL.
_Conv = namedtuple("_Conv", "id contact_id public contact_name")
_Msg = namedtuple("_Msg", "id created_at meta author_id")
_Author = namedtuple("_Author", "id is_self external_id handle")


def _select_in(sql: str, values: Any, params: tuple = ()) -> list[tuple]:
    """Rows of `sql` (with one "{}" for the IN list, after `params`) over `values`, _CHUNK at a time."""
    values = list(values)
    db = Conversation._meta.database
    out: list[tuple] = []
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        out.extend(db.execute_sql(sql.format(",".join("?" * len(chunk))), (*params, *chunk)).fetchall())
    return out


def _conversations(ids: Any) -> dict[int, _Conv]:
    rows = _select_in("SELECT id, contact_id, public, contact_name FROM conversation WHERE id IN ({})", ids)
    return {r[0]: _Conv(r[0], r[1], bool(r[2]), r[3] or "") for r in rows}


def _messages(ids: Any) -> dict[int, _Msg]:
    rows = _select_in("SELECT id, created_at, meta, author_id FROM message WHERE id IN ({})", ids)
    return {r[0]: _Msg(r[0], from_micros(r[1]), json.loads(r[2]) if r[2] else {}, r[3]) for r in rows}


def _identities(ids: Any) -> dict[int, _Author]:
    rows = _select_in("SELECT id, is_self, external_id, handle FROM identity WHERE id IN ({})", ids)
    return {r[0]: _Author(r[0], bool(r[1]), r[2], r[3] or "") for r in rows}


def _ledger_contacts(contact_ids: Any, period: str) -> set[int]:
    """The contacts that already got their auto-reply for this closed period."""
    return {
        r[0] for r in _select_in(
            "SELECT contact_id FROM auto_reply_ledger WHERE closed_period_key = ? AND contact_id IN ({})",
            contact_ids, (period,),
        )
    }


def _email_accounts() -> dict[int, frozenset[str]]:
    """Every email-channel account of the profile (enabled or not) -> its own addresses."""
    found = {}
    for account_id, kind, settings in Conversation._meta.database.execute_sql(
        "SELECT id, kind, settings FROM account"
    ).fetchall():
        settings = json.loads(settings) if settings else {}
        if traits.of(queue.channel_from(kind, settings)).replies_by_email:
            found[account_id] = frozenset(email_reply.own_addresses(settings))
    return found


def _same_person(
    contact_ids: Any, addresses: dict[int, str], email_accounts: dict[int, frozenset]
) -> dict[int, frozenset[int]]:
    """contact id -> the contacts that are the same person for the once-per-period rule: itself, and
    every contact with an identity of the same email address on any of the profile's email accounts.

    Identities of the email connector are stored lowercased (mime_text.addresses), so an exact match
    on the normalised address uses the (account, external_id) index."""
    groups = {c: {c} for c in contact_ids}
    wanted = {a for c, a in addresses.items() if c in groups}
    if wanted and email_accounts:
        by_address: dict[str, set[int]] = {}
        sql = ("SELECT contact_id, external_id FROM identity WHERE account_id IN (%s) AND external_id IN ({})"
               % ",".join(str(int(a)) for a in email_accounts))
        for contact_id, external_id in _select_in(sql, wanted):
            by_address.setdefault(email_reply.person_address(external_id), set()).add(contact_id)
        for contact_id in groups:
            groups[contact_id] |= by_address.get(addresses.get(contact_id, ""), set())
    return {c: frozenset(g) for c, g in groups.items()}


def _auto_replies_since(contact_ids: Any, since: datetime) -> dict[int, int]:
    """Auto-replies per contact created after `since` (cancelled and skipped ones do not count)."""
    return dict(_select_in(
        "SELECT contact_id, count(*) FROM outbox WHERE purpose = 'auto_reply' AND created_at > ?"
        " AND state NOT IN ('cancelled', 'skipped') AND contact_id IN ({}) GROUP BY contact_id",
        contact_ids, (to_micros(since),),
    ))


class _ReplyTexts:
    """Auto-reply texts of one batch: the schedule-, settings- and metrics-derived parts computed once."""

    def __init__(self, settings: Settings, schedule: Schedule, now: datetime, contact_ids: Any, typical: str):
        self.base = _base_context(settings, schedule, now, typical)
        self.next_close = format_next_close(schedule.next_close(now), now, schedule.timezone)
        self.away = schedule.away_at(now)
        self.contacts = {
            r[0]: r[1:] for r in _select_in("SELECT id, display_name, first_name FROM contact WHERE id IN ({})",
                                            contact_ids)
        }

    def render(
        self, config: AutomationConfig, channel: str, conv: _Conv, author: _Author | None,
        skips: list[tuple[int | None, str]],
    ) -> str | None:
        """The text for one conversation, or None; a broken text adds a skip line and falls back."""
        display_name, first = self.contacts.get(conv.contact_id, ("", ""))
        name = display_name or conv.contact_name
        first = first or ""
        ctx = replace(
            self.base,
            first_name=first.strip(),
            name=name.strip(),
            handle=personalize.format_handle(author.handle if author else "", channel),
            channel=personalize.channel_name(channel),
        )
        bodies = [config.reply_text_for(channel)]
        if self.away is not None and self.away.message.strip():
            bodies.insert(0, self.away.message)
        for body in bodies:
            try:
                text = render_text(body, ctx, self.next_close)
            except snippets.SnippetError as exc:
                skips.append((conv.id, f"auto-reply text has a problem: {exc}"))
                continue
            if text.strip():
                return text
        return None


# --- the engine hooks -------------------------------------------------------------------------------------


class Automation:
    """The ingest and tick hooks of one profile; configuration is read afresh on every call."""

    def __init__(self, store: Store, settings: Settings, policy: Callable[[], "queue.Policy"]):
        self.store = store
        self.settings = settings
        self.policy = policy
        self._config_error = ""
        self._typical: tuple[datetime, str] | None = None

    def _typical_response(self, now: datetime) -> str:
        """{typical_response}: a 30-day median (a 60 ms query on a big profile), reused for up to a minute."""
        cached = self._typical
        if cached is None or not timedelta(0) <= now - cached[0] < TYPICAL_REUSE:
            from socialdesk.core import metrics

            cached = self._typical = (now, metrics.typical_response_text(now))
        return cached[1]

    def _config(self) -> AutomationConfig | None:
        try:
            config = load_config(self.settings)
        except AutomationConfigError as exc:
            if str(exc) != self._config_error:  # say it once, not every tick
                log.error("automation is off: its settings are invalid (%s)", exc)
                self._config_error = str(exc)
            return None
        self._config_error = ""
        return config

    # -- auto-replies --

    def on_ingest(self, account: Account, result: Any, now: datetime) -> set[int]:
        """Decide the auto-replies of one ingested batch: a few batched reads, one write transaction.

        Facts are read for the whole batch with one IN (...) query per table, decisions are made in
        Python, and every outbox, ledger and skip row of the batch is written in ONE store.write(). Inside
        that transaction the ledger and idempotency keys are read again: another channel may have answered
        the same person since our reads, and the write lock makes this second look authoritative (the
        ledger's unique index stays the last line of defence).
        """
        if not result.new_inbound:
            return set()
        config = self._config()
        if config is None:
            return set()
        schedule = self.policy().schedule
        period = schedule.closed_period_key(now)
        if period is None:  # open now and not away: nothing to decide, no DB reads
            return set()
        newest: dict[int, int] = {}
        for conv_id, message_id in result.new_inbound:
            newest[conv_id] = max(message_id, newest.get(conv_id, 0))
        channel = queue.channel_of(account)
        first_sync = account.first_synced_at is None or account.first_synced_at >= now
        email_accounts = _email_accounts()
        own = frozenset().union(*email_accounts.values())
        paused = is_paused(self.settings)

        convs = _conversations(newest)
        messages = _messages(newest.values())
        authors = _identities({m.author_id for m in messages.values() if m.author_id})
        contact_ids = {c.contact_id for c in convs.values() if c.contact_id is not None}
        addresses: dict[int, str] = {}  # contact id -> email address, on an email channel
        if traits.of(channel).replies_by_email:
            for conv_id, message_id in newest.items():
                conv, message = convs.get(conv_id), messages.get(message_id)
                author = authors.get(message.author_id) if message and message.author_id else None
                if conv is not None and conv.contact_id is not None and author is not None:
                    address = email_reply.person_address(author.external_id)
                    if address:
                        addresses[conv.contact_id] = address
        people = _same_person(contact_ids, addresses, email_accounts)
        everyone = set().union(*people.values()) if people else set()
        replied = _ledger_contacts(everyone, period)
        sent_24h = _auto_replies_since(everyone, now - CAP_WINDOW)

        history = 0
        planned: list[tuple[Any, str]] = []  # (conversation row, text)
        skips: list[tuple[int | None, str]] = []  # (conversation id, text), in decision order
        texts: _ReplyTexts | None = None  # built once, only if a reply is due
        for conv_id, message_id in sorted(newest.items()):
            conv, message = convs.get(conv_id), messages.get(message_id)
            if conv is None or message is None:
                continue
            author = authors.get(message.author_id) if message.author_id else None
            contact_id = conv.contact_id
            person = people.get(contact_id, frozenset())
            guard = "" if author is not None and author.is_self else email_guard(
                message.meta, author.external_id if author else "", own)
            facts = AutoReplyFacts(
                now=now,
                period_key=period,
                channel=channel,
                public=bool(conv.public),
                message_created_at=message.created_at,
                first_sync=first_sync,
                automated_sender=(author is not None and author.is_self) or bool(guard),
                already_replied=not replied.isdisjoint(person),
                sent_last_24h=sum(sent_24h.get(c, 0) for c in person),
                paused=paused,
                has_contact=contact_id is not None,
                guard_reason=guard,
            )
            decision = decide_auto_reply(facts, config)
            if decision.reason == "history at first sync":
                history += 1
                continue
            if not decision.send:
                if decision.log:
                    skips.append((conv_id, f"no auto-reply: {decision.reason}"))
                continue
            if texts is None:
                texts = _ReplyTexts(self.settings, schedule, now, contact_ids, self._typical_response(now))
            text = texts.render(config, channel, conv, author, skips)
            if text is None:
                continue
            planned.append((conv, text))
            # Later conversations of the same person in this batch see this reply, as they would have
            # had each conversation been written on its own.
            replied.add(contact_id)
            sent_24h[contact_id] = sent_24h.get(contact_id, 0) + 1
        if history:
            skips.append((
                None,
                f"no auto-reply to {history} message(s) older than 24 h found at the first sync of "
                f"{account.name} (imported history never messages customers)",
            ))
        if not planned and not skips:
            return set()
        return self._write_auto_replies(account.id, planned, skips, period, self._reason(schedule, now), now,
                                        addresses, email_accounts)

    def _write_auto_replies(
        self, account_id: int, planned: list[tuple[Any, str]], skips: list[tuple[int | None, str]],
        period: str, reason: str, now: datetime, addresses: dict[int, str], email_accounts: dict[int, frozenset],
    ) -> set[int]:
        """One transaction: outbox + ledger + Activity rows for the replies, and the skip lines."""
        changed: set[int] = set()
        db = self.store.db
        n_now = to_micros(now)
        with self.store.write():
            contacts = {conv.contact_id for conv, _text in planned}
            # Answered by a concurrent ingest since our read, possibly on another email account whose
            # identity for this address was created meanwhile: both are read again under the lock.
            people = _same_person(contacts, addresses, email_accounts)
            taken = _ledger_contacts(set().union(*people.values()) if people else set(), period)
            used_keys = {
                r[0] for r in _select_in("SELECT idempotency_key FROM outbox WHERE idempotency_key IN ({})",
                                         {f"auto:{c}:{period}" for c in contacts})
            }
            cursor = db.cursor()
            activity: list[tuple] = []
            ledger: list[tuple] = []
            for conv, text in planned:
                key = f"auto:{conv.contact_id}:{period}"
                if not taken.isdisjoint(people[conv.contact_id]):
                    skips.append((conv.id, "no auto-reply: already replied this period"))
                    continue
                if key in used_keys:
                    continue
                used_keys.add(key)
                taken.add(conv.contact_id)
                cursor.execute(
                    "INSERT INTO outbox (account_id, conversation_id, contact_id, purpose, text, idempotency_key,"
                    " state, attempts, last_error, reason, via, edited_after_snippet, mark_done, created_at,"
                    " next_attempt_at, external_id)"
                    " VALUES (?, ?, ?, 'auto_reply', ?, ?, 'pending', 0, '', ?, 'auto', 0, 0, ?, ?, '')",
                    (account_id, conv.id, conv.contact_id, text, key, reason, n_now, n_now),
                )
                outbox_id = cursor.lastrowid
                activity.append((n_now, "auto_reply", account_id, conv.id, outbox_id, f"queued: {reason}"))
                ledger.append((conv.contact_id, period, outbox_id, n_now))
                changed.add(conv.id)
            activity.extend((n_now, "skipped", account_id, conv_id, None, text) for conv_id, text in skips)
            cursor.executemany(
                "INSERT INTO auto_reply_ledger (contact_id, closed_period_key, outbox_id, created_at) VALUES (?,?,?,?)",
                ledger,
            )
            cursor.executemany(
                "INSERT INTO activity (created_at, kind, account_id, conversation_id, outbox_id, text)"
                " VALUES (?,?,?,?,?,?)",
                activity,
            )
        return changed

    def _reason(self, schedule: Schedule, now: datetime) -> str:
        away = schedule.away_at(now)
        label = schedule.state_label(now)
        return f"away ({label})" if away is not None else f"closed ({label})"

    # -- status posts and expiry --

    def on_tick(self, now: datetime) -> set[int]:
        config = self._config()
        if config is None:
            return set()
        schedule = self.policy().schedule
        changed = self._expire(now, config, schedule)
        accounts = [
            a for a in Account.select().where(Account.enabled == True).order_by(Account.id)  # noqa: E712
            if config.posts_for(a.id) is not None and can_post(a)
        ]
        if not accounts:
            return changed
        transitions = status_transitions(schedule, now - STATUS_LOOKBACK, now)
        if not transitions:
            return changed
        grace = timedelta(minutes=config.grace_minutes)
        paused = is_paused(self.settings)
        typical: list[str] = []
        for account in accounts:
            posts = config.status_posts[account.id]
            for t in transitions:
                body = posts.texts.get(t.kind, "")
                if not body.strip() or (posts.enabled_since is not None and t.when < posts.enabled_since):
                    continue
                key = status_key(account.id, t.kind, t.when)
                if Outbox.select().where(Outbox.idempotency_key == key).exists():
                    continue
                local = t.when.astimezone(ZoneInfo(schedule.timezone))
                label = f"{STATUS_LABELS[t.kind]} post for {local:%a %H:%M}"
                late = now - t.when
                if paused:
                    self._record_skipped_post(account.id, key, label, "automation was paused", now)
                    continue
                if late > grace:
                    minutes = int(late.total_seconds() // 60)
                    self._record_skipped_post(
                        account.id, key, label,
                        f"{_late_text(minutes)} late (socialdesk was not running); never posted late", now,
                    )
                    continue
                if not typical:
                    from socialdesk.core import metrics

                    typical.append(metrics.typical_response_text(now))
                ctx = _base_context(self.settings, schedule, now, typical[0])
                try:
                    text = render_text(body, ctx, format_next_close(schedule.next_close(now), now, schedule.timezone))
                except snippets.SnippetError as exc:
                    self._record_skipped_post(account.id, key, label, f"the text has a problem: {exc}", now)
                    continue
                outbox.enqueue_automatic(
                    self.store, account_id=account.id, purpose=OutboxPurpose.STATUS_POST, text=text,
                    idempotency_key=key, reason=label, now=now,
                )
        return changed

    def _record_skipped_post(self, account_id: int, key: str, label: str, why: str, now: datetime) -> None:
        """Consume the key with a "skipped" row: logged once, and never posted later."""
        with self.store.write():
            if Outbox.select().where(Outbox.idempotency_key == key).exists():
                return
            row = Outbox.create(
                account=account_id, purpose=OutboxPurpose.STATUS_POST, text="", idempotency_key=key,
                state=OutboxState.SKIPPED, reason=label, via=Via.STATUS, last_error=f"skipped: {why}", created_at=now,
            )
            Activity.create(created_at=now, kind="skipped", account=account_id, outbox=row.id,
                            text=f"{label} skipped: {why}")

    def _expire(self, now: datetime, config: AutomationConfig, schedule: Schedule) -> set[int]:
        """Pending automatic messages that are no longer true: skip them instead of sending them late."""
        changed: set[int] = set()
        grace = timedelta(minutes=config.grace_minutes)
        period = schedule.closed_period_key(now)
        with self.store.write():
            for row in Outbox.select().where(
                (Outbox.state == OutboxState.PENDING)
                & Outbox.purpose.in_([OutboxPurpose.AUTO_REPLY, OutboxPurpose.STATUS_POST])
            ):
                why = ""
                if row.purpose == OutboxPurpose.STATUS_POST:
                    instant = _key_instant(row.idempotency_key) or row.created_at
                    if now - instant > grace:
                        why = f"could not be posted within {config.grace_minutes} min of its time"
                else:
                    ledger = AutoReplyLedger.get_or_none(AutoReplyLedger.outbox == row.id)
                    if ledger is not None and ledger.closed_period_key != period:
                        why = "the closed period ended before it could be sent"
                if not why:
                    continue
                row.state = OutboxState.SKIPPED
                row.last_error = f"skipped: {why}"
                row.save()
                Activity.create(created_at=now, kind="skipped", account=row.account_id,
                                conversation=row.conversation_id, outbox=row.id, text=f"{row.reason}: {why}")
                if row.conversation_id:
                    changed.add(row.conversation_id)
        return changed

    def _log_skip(self, now: datetime, account_id: int | None, conversation_id: int | None, text: str) -> None:
        with self.store.write():
            Activity.create(created_at=now, kind="skipped", account=account_id, conversation=conversation_id,
                            text=text)


def _late_text(minutes: int) -> str:
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def install(engine: Any, store: Store, settings: Settings, policy: Callable[[], "queue.Policy"]) -> Automation:
    """Hook automation into a SyncEngine: auto-replies on ingest, status posts and expiry on every tick."""
    automation = Automation(store, settings, policy)
    engine.ingest_hooks.append(automation.on_ingest)
    engine.tick_hooks.append(automation.on_tick)
    return automation
