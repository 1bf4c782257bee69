"""The engine hooks: `Automation.on_ingest` queues off-hours auto-replies for a batch of ingested
messages, `Automation.on_tick` queues or skips status posts and expires stale auto-replies; `install`
hooks both into a SyncEngine. The decisions themselves live in `decision` and `status`.

Decisions:
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
- The auto-reply is decided when the message is ingested and only while the business is closed at that
  moment. A queued auto-reply that could not be sent before the business opened again is skipped
  (state "skipped"): "we're closed right now" must never arrive while we are open.
- While away with a message (`socialdesk away on --message`), that message is the auto-reply text.
- Waking up (issue 18 item 4): a message found late is judged by when it came (decision.
  came_in_ended_period, setting `catch_up`); `on_wake` (an engine wake hook) logs every status post of
  the time slept through as skipped, beyond the tick's 24 h look-back, up to WAKE_LOOKBACK (14 days).
- A message the account's own server answered while socialdesk was closed (core/server_replies.py,
  the mail server's Sieve) gets no reply from us; a ledger row without an outbox row records the
  person as answered for that period, so their other channels get no second reply (issue 18).
"""

from __future__ import annotations

import json
import logging
from collections import namedtuple
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from socialdesk.connectors import email_reply, traits
from socialdesk.core import outbox, personalize, queue, server_replies, snippets
from socialdesk.core.automation.config import (
    STATUS_LABELS,
    AutomationConfig,
    AutomationConfigError,
    is_paused,
    load_config,
)
from socialdesk.core.automation.decision import (
    AutoReplyFacts,
    came_in_ended_period,
    decide_auto_reply,
    email_guard,
)
from socialdesk.core.automation.render import (
    _base_context,
    format_next_close,
    render_text,
)
from socialdesk.core.automation.status import (
    _key_instant,
    can_post,
    status_key,
    status_transitions,
)
from socialdesk.core.hours import Schedule
from socialdesk.core.settings import Settings
from socialdesk.core.states import OutboxPurpose, OutboxState, Via
from socialdesk.core.store import (
    Account,
    Activity,
    AutoReplyLedger,
    Conversation,
    Outbox,
    Store,
    from_micros,
    to_micros,
)

log = logging.getLogger(__name__)


CAP_WINDOW = timedelta(hours=24)
STATUS_LOOKBACK = timedelta(hours=24)
WAKE_LOOKBACK = timedelta(days=14)  # how far back a wake-up logs the status posts it did not make


TYPICAL_REUSE = timedelta(minutes=1)  # the typical response time moves slowly: one query per minute


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
        # The account's own server may have answered already (core/server_replies.py): then no reply
        # from us, and the ledger notes the period so the person's other channels get none either.
        server = server_replies.part_for(account)
        server_state = server_replies.state_of(self.settings, account.id) if server is not None else None

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
        delegated: list[tuple[int, str]] = []  # (contact id, closed-period key) the server answered
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
            server_key = server_state.answered(message.created_at) if server_state is not None else None
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
                server_answered=server.server_name if server is not None and server_key else "",
            )
            decision = decide_auto_reply(facts, config)
            if decision.reason == "history at first sync":
                history += 1
                continue
            if decision.send and config.catch_up == "still_closed" and came_in_ended_period(
                    schedule, period, message.created_at, now):
                skips.append((conv_id, "no auto-reply: it came in a closed period that has ended (socialdesk was "
                                       "not running); the business opened since"))
                continue
            if not decision.send:
                if decision.log:
                    skips.append((conv_id, f"no auto-reply: {decision.reason}"))
                if facts.server_answered and server_key and contact_id is not None:
                    delegated.append((contact_id, server_key))
                    replied.add(contact_id)
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
                                        addresses, email_accounts, delegated)

    def _write_auto_replies(
        self, account_id: int, planned: list[tuple[Any, str]], skips: list[tuple[int | None, str]],
        period: str, reason: str, now: datetime, addresses: dict[int, str], email_accounts: dict[int, frozenset],
        delegated: list[tuple[int, str]] = (),  # type: ignore[assignment]  # read only
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
            # Answered by the account's server: the person counts as answered for that period (no outbox row).
            cursor.executemany(
                "INSERT OR IGNORE INTO auto_reply_ledger (contact_id, closed_period_key, outbox_id, created_at)"
                " VALUES (?,?,NULL,?)",
                [(contact_id, key, n_now) for contact_id, key in dict.fromkeys(delegated)],
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

    def on_wake(self, since: datetime, now: datetime) -> set[int]:
        """After a sleep (core/wake.py): every status post of the time slept through is logged as skipped,
        also beyond the tick's 24 h look-back (at most WAKE_LOOKBACK); the tick covers the last 24 h."""
        if since >= now - STATUS_LOOKBACK:
            return self.on_tick(now)
        return self.on_tick(now, lookback_from=max(since, now - WAKE_LOOKBACK))

    def on_tick(self, now: datetime, lookback_from: datetime | None = None) -> set[int]:
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
        transitions = status_transitions(schedule, lookback_from or now - STATUS_LOOKBACK, now)
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
    engine.wake_hooks.append(automation.on_wake)
    return automation
