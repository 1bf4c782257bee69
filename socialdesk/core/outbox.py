"""The durable send queue: every outbound message (reply, auto-reply, status post) goes through here.

Decisions:
- A row is written (pending) before anything is sent, with a unique idempotency key. Sending marks it
  "sending" in its own committed transaction *before* the network call, and "sent"/"failed" after, so
  a crash in between leaves evidence: on start-up `recover_interrupted` turns "sending" into "unknown"
  and the owner decides (mark as sent / send again). Only platforms that honour an Idempotency-Key
  header (traits' `idempotent_sends`: Mastodon) are retried automatically with the same key.
- A reply counts as the owner's response the moment it is queued (the owner acted; the queue should
  move on). The outbound message appears in the thread at once with its state; if sending fails for
  good, the conversation's waiting time is recomputed from the messages and it returns to the queue.
- Auto-replies and status posts acknowledge but never count as a response (DESIGN.md targets).
- The conversation's clock columns change only through core/conversation_clock.py's fold: queuing a
  reply folds `Replied` (and the owner's "done"), a reply that fails for good or is withdrawn folds
  `SendFailed`, the owner's verdict on an "unknown" send `Recounted`, a sent auto-reply `Acknowledged`.
- Reply windows: once a conversation's window has closed, a reply is queued only where the platform
  still takes one (ReplyWindowRule.late_reply), and goes out as that late reply (`ReplyTarget.late`);
  otherwise `enqueue_reply` refuses with what the owner can still do (conversation_clock.window_notice).
- Sending runs per account (`flush(..., account_id=...)`, `due_account_ids`): the sync engine gives
  every account its own worker, so a send that hangs holds only its own account's rows.
- Retries: TransientError backs off exponentially with jitter (30 s .. 30 min, 8 attempts, then failed);
  RateLimited waits until the platform's retry time; PermanentError (NotAllowed included: this one item
  cannot be answered here) fails the row with the platform's reason.
- AuthError means the account's login needs the owner, so the send marks the account `auth_error` (with
  the reason, in the same transaction as the row) and nothing more of that account is tried until the
  owner logs in again (`_due` leaves out accounts in auth_error; the sync engine's `reset_account`
  clears the state): the row stays pending and goes out right after the re-login. Before, it was tried
  every 5 minutes for ever while the account still showed OK (a probe found 50 attempts pending).
- A reply that failed for good no longer counts as the owner's response: the conversation's run is
  recounted without it and it returns to the queue, visibly: the thread shows the message "not sent"
  with the reason, and the queue row's preview reads "Not sent: <reason>" (NOT_SENT) until the owner
  acts on the conversation again (replies, withdraws or resolves the send) or the customer writes.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from peewee import Expression

from socialdesk.connectors import traits
from socialdesk.connectors.base import (
    AuthError,
    Connector,
    ConnectorError,
    PermanentError,
    RateLimited,
    ReplyTarget,
    TransientError,
)
from socialdesk.core import conversation_clock as clock
from socialdesk.core import ingest, queue
from socialdesk.core.states import (
    AccountState,
    ConversationStatus,
    Direction,
    OutboxPurpose,
    OutboxState,
    Via,
)
from socialdesk.core.store import Account, Activity, Conversation, Identity, Message, Outbox, Store, to_micros
from socialdesk.secrets import error_text

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
NOT_SENT = "Not sent: "  # the queue preview of a conversation whose reply failed for good
HUMAN_VIA = (Via.MANUAL, Via.SNIPPET)  # what enqueue_reply accepts (PLATFORM: written outside socialdesk)


class OutboxError(ValueError):
    """A send request that cannot be queued (empty text, unknown conversation, ...)."""


@dataclass(frozen=True)
class FlushReport:
    sent: list[int]
    failed: list[int]
    retrying: list[int]
    changed_conversation_ids: set[int]
    # Accounts whose state the flush changed (marked auth_error by a send): views refresh them.
    changed_account_ids: set[int] = field(default_factory=set)


def new_key(prefix: str = "reply") -> str:
    return f"{prefix}:{uuid.uuid4().hex}"


def enqueue_reply(
    store: Store,
    conversation_id: int,
    text: str,
    policy: "queue.Policy",
    now: datetime,
    *,
    via: str = Via.MANUAL,
    snippet_id: int | None = None,
    edited_after_snippet: bool = False,
    mark_done: bool = False,
    idempotency_key: str | None = None,
    mode: str = "",
) -> Outbox:
    """Queue the owner's reply; the conversation stops awaiting at once. `mode`: one of the channel's
    reply modes (traits.ReplyMode key, e.g. a private reply to a comment); "" for the ordinary reply."""
    if not text.strip():
        raise OutboxError("The reply is empty.")
    if via not in HUMAN_VIA:
        raise OutboxError(f"unknown via {via!r}")
    with store.write():
        conv = queue.get_conversation(conversation_id)
        reply_to = _check_mode(conv, mode) if mode else ""
        window = _window_notice(conv, now)
        if window is not None and not window.can_send:
            raise OutboxError(window.text)
        row = Outbox.create(
            account=conv.account_id,
            conversation=conv.id,
            contact=conv.contact_id,
            purpose=OutboxPurpose.REPLY,
            text=text,
            idempotency_key=idempotency_key or new_key(),
            state=OutboxState.PENDING,
            via=via,
            snippet=snippet_id,
            edited_after_snippet=edited_after_snippet,
            mark_done=mark_done,
            created_at=now,
            next_attempt_at=now,
        )
        Message.create(
            conversation=conv.id,
            account=conv.account_id,
            external_id=f"outbox:{row.idempotency_key}",
            direction=Direction.OUT,
            text=text,
            created_at=now,
            via=via,
            snippet=snippet_id,
            edited_after_snippet=edited_after_snippet,
            meta={"state": OutboxState.PENDING, "outbox_id": row.id,
                  **({"reply_mode": mode, "reply_to": reply_to} if mode else {})},
        )
        conv.last_message_at = now
        at = to_micros(now)
        events: list[clock.Event] = [clock.Replied(at), queue.recount(conv.id)]
        if mark_done:
            events.append(clock.StatusChanged(ConversationStatus.DONE, at))
        elif conv.status == ConversationStatus.SNOOZED:
            # answering a snoozed item brings it back
            events.append(clock.StatusChanged(ConversationStatus.OPEN, at))
        queue.fold_conversation(conv, events, policy, now)
        _restore_preview(conv)
        conv.save()
    return row


_MODE_KEYS = ("reply_mode", "reply_to")  # kept on an outgoing message sent in a reply mode


def _latest_inbound(conv_id: int) -> Message | None:
    return (Message.select()
            .where((Message.conversation == conv_id) & (Message.direction == Direction.IN))
            .order_by(Message.created_at.desc(), Message.id.desc())
            .first())


def _check_mode(conv: Conversation, mode: str) -> str:
    """The external id of the message a reply in `mode` answers, after the channel's rules; else
    OutboxError. One generic rule for every platform's reply modes (traits.ReplyMode)."""
    platform = traits.of(queue.channel_of(conv.account))
    rule = platform.reply_mode(mode, conv.kind)
    if rule is None:
        offered = [m.key for m in platform.reply_modes if conv.kind in m.kinds]
        raise OutboxError(f"{platform.name} offers no reply mode {mode!r} here"
                          + (f" (offered: {', '.join(offered)})." if offered else "."))
    parent = _latest_inbound(conv.id)
    if parent is None:
        raise OutboxError("There is no customer message to answer that way.")
    if rule.once_per_message:
        for message in Message.select().where((Message.conversation == conv.id) & (Message.direction == Direction.OUT)):
            meta = message.meta or {}
            if (meta.get("reply_mode") == mode and meta.get("reply_to") == parent.external_id
                    and meta.get("state") != OutboxState.FAILED):
                raise OutboxError(f"{rule.label}: {platform.name} takes this once per message, and this one "
                                  "was answered that way already.")
    return parent.external_id


def _window_notice(conv: Conversation, now: datetime) -> clock.WindowNotice | None:
    if conv.reply_window_ends_at is None:
        return None
    rule = queue.reply_window_rule(queue.channel_of(conv.account))
    return clock.window_notice(conv.reply_window_ends_at, rule, now)


def enqueue_automatic(
    store: Store,
    *,
    account_id: int,
    purpose: str,
    text: str,
    idempotency_key: str,
    reason: str,
    now: datetime,
    conversation_id: int | None = None,
    contact_id: int | None = None,
) -> Outbox | None:
    """Queue an auto-reply or status post. Returns None if this key was queued before (at most once).

    Must be called inside `store.write()` by callers that also write a ledger row atomically; it
    opens its own (nested) transaction otherwise.
    """
    if purpose not in (OutboxPurpose.AUTO_REPLY, OutboxPurpose.STATUS_POST):
        raise OutboxError(f"unknown purpose {purpose!r}")
    with store.write():
        if Outbox.select().where(Outbox.idempotency_key == idempotency_key).exists():
            return None
        row = Outbox.create(
            account=account_id,
            conversation=conversation_id,
            contact=contact_id,
            purpose=purpose,
            text=text,
            idempotency_key=idempotency_key,
            state=OutboxState.PENDING,
            via=Via.AUTO if purpose == OutboxPurpose.AUTO_REPLY else Via.STATUS,
            reason=reason,
            created_at=now,
            next_attempt_at=now,
        )
        Activity.create(
            created_at=now,
            kind=purpose,
            account=account_id,
            conversation=conversation_id,
            outbox=row.id,
            text=f"queued: {reason}",
        )
    return row


def recover_interrupted(store: Store, now: datetime) -> list[int]:
    """At start-up: rows left "sending" by a crash become "unknown" (or pending where retry is safe)."""
    changed = []
    with store.write():
        for row in Outbox.select(Outbox, Account).join(Account).where(Outbox.state == OutboxState.SENDING):
            # Only a connector whose platform dedupes on the idempotency key may be retried blindly.
            if traits.of(row.account.kind).idempotent_sends:
                row.state = OutboxState.PENDING
                row.last_error = "Interrupted while sending; retrying with the same idempotency key."
            else:
                row.state = OutboxState.UNKNOWN
                row.last_error = (
                    "socialdesk stopped while this was being sent; it may or may not have arrived. "
                    "Check on the platform, then mark it as sent or send it again."
                )
            row.save()
            _sync_message_state(row)
            changed.append(row.id)
    return changed


def resolve_unknown(
    store: Store, outbox_id: int, *, sent: bool, now: datetime, policy: "queue.Policy | None" = None
) -> Outbox:
    """The owner's decision about an "unknown" row: it did arrive (sent) or send it again (pending).
    `policy`: the target policy (loaded from the settings when not given)."""
    with store.write():
        row = Outbox.get_or_none(Outbox.id == outbox_id)
        if row is None or row.state not in (OutboxState.UNKNOWN, OutboxState.FAILED):
            raise OutboxError("Only messages in the 'unknown' or 'failed' state can be resolved.")
        if sent:
            row.state = OutboxState.SENT
            row.sent_at = row.sent_at or now
        else:
            row.state = OutboxState.PENDING
            row.attempts = 0
            row.next_attempt_at = now
            row.last_error = ""
        row.save()
        _sync_message_state(row)
        if row.conversation_id and row.purpose == OutboxPurpose.REPLY:
            if policy is None:
                from socialdesk.core.settings import Settings

                policy = queue.Policy.load(Settings(store))
            conv = Conversation.get_by_id(row.conversation_id)
            # Answered after all (or awaiting its resend): the deadline a failed send reinstated goes.
            queue.fold_conversation(conv, [queue.recount(conv.id)], policy, now)
            _restore_preview(conv)
            conv.save()
    return row


def cancel(store: Store, outbox_id: int, policy: "queue.Policy", now: datetime) -> None:
    """Withdraw a pending or failed reply (undo send); the conversation awaits again."""
    with store.write():
        row = Outbox.get_or_none(Outbox.id == outbox_id)
        if row is None or row.state not in (OutboxState.PENDING, OutboxState.FAILED, OutboxState.UNKNOWN):
            raise OutboxError("Only messages that have not been sent can be cancelled.")
        row.state = OutboxState.CANCELLED
        row.save()
        Message.delete().where(Message.external_id == f"outbox:{row.idempotency_key}").execute()
        if row.conversation_id:
            _reopen_after_unsent(row.conversation_id, policy, now)


def _due(now: datetime, account_id: int | None = None) -> Expression:
    # An account whose login needs the owner sends nothing until the re-login (module docstring).
    locked_out = Account.select(Account.id).where(Account.state == AccountState.AUTH_ERROR)
    due = (
        (Outbox.state == OutboxState.PENDING) & (Outbox.next_attempt_at <= now) & Outbox.account.not_in(locked_out)
    )
    return due if account_id is None else due & (Outbox.account == account_id)


def pending_rows(now: datetime, limit: int = 50, account_id: int | None = None) -> list[Outbox]:
    return list(Outbox.select().where(_due(now, account_id)).order_by(Outbox.created_at, Outbox.id).limit(limit))


def due_account_ids(now: datetime) -> list[int]:
    """Accounts with something to send now."""
    return [row.account_id for row in Outbox.select(Outbox.account).where(_due(now)).distinct()]


def reply_target(conv: Conversation, *, auto_reply: bool = False, now: datetime | None = None) -> ReplyTarget:
    """What a connector needs to answer this conversation (the latest inbound message is the parent).
    `now`: when it is sent, which decides whether it goes out as a late reply (reply window closed)."""
    parent = (
        Message.select()
        .where((Message.conversation == conv.id) & (Message.direction == Direction.IN))
        .order_by(Message.created_at.desc(), Message.id.desc())
        .first()
    )
    identity = Identity.get_or_none(Identity.id == parent.author_id) if parent and parent.author_id else None
    return ReplyTarget(
        conversation_external_id=conv.external_id,
        kind=conv.kind,
        public=conv.public,
        subject=conv.subject,
        parent_external_id=parent.external_id if parent else "",
        parent_meta=(parent.meta or {}) if parent else {},
        recipient_external_id=identity.external_id if identity else "",
        recipient_handle=identity.handle if identity else "",
        recipient_name=identity.display_name if identity else "",
        auto_reply=auto_reply,
        late=bool(now is not None and (notice := _window_notice(conv, now)) is not None and notice.late),
    )


def flush(
    store: Store,
    connector_for: Callable[[int], Connector | None],
    policy: "queue.Policy",
    now: datetime,
    *,
    limit: int = 50,
    rng: random.Random | None = None,
    account_id: int | None = None,
) -> FlushReport:
    """Send what is due (of one account, when given). `connector_for(account_id)` returns None for
    accounts that cannot send now."""
    rng = rng or random.Random()
    sent: list[int] = []
    failed: list[int] = []
    retrying: list[int] = []
    changed: set[int] = set()
    locked_out: set[int] = set()  # accounts whose login failed during this flush
    for row in pending_rows(now, limit, account_id):
        if row.account_id in locked_out:
            continue
        connector = connector_for(row.account_id)
        if connector is None:
            continue
        with store.write():
            fresh = Outbox.get_by_id(row.id)
            if fresh.state != OutboxState.PENDING:
                continue
            fresh.state = OutboxState.SENDING
            fresh.attempts += 1
            fresh.save()
            _sync_message_state(fresh)
            target = None
            if fresh.conversation_id is not None:
                target = reply_target(
                    Conversation.get_by_id(fresh.conversation_id),
                    auto_reply=fresh.purpose == OutboxPurpose.AUTO_REPLY,
                    now=now,
                )
                if fresh.purpose == OutboxPurpose.REPLY:
                    target = _with_mode(target, fresh)
        try:
            if fresh.purpose == OutboxPurpose.STATUS_POST:
                result = connector.post_status(fresh.text, idempotency_key=fresh.idempotency_key)
            else:
                if target is None:
                    raise PermanentError("This reply's conversation no longer exists.")
                result = connector.reply(target, fresh.text, idempotency_key=fresh.idempotency_key)
        except ConnectorError as exc:
            outcome = _record_failure(store, fresh, exc, policy, now, rng)
            (failed if outcome == OutboxState.FAILED else retrying).append(fresh.id)
            if isinstance(exc, AuthError):
                locked_out.add(fresh.account_id)
            if fresh.conversation_id:
                changed.add(fresh.conversation_id)
            continue
        except Exception as exc:  # a connector bug must not kill the sender loop
            log.exception("connector crashed while sending outbox %s", fresh.id)
            _record_failure(
                store, fresh, PermanentError(f"Internal error: {type(exc).__name__}"), policy, now, rng
            )
            failed.append(fresh.id)
            if fresh.conversation_id:
                changed.add(fresh.conversation_id)
            continue
        _record_success(store, fresh, result.external_id, result.permalink, policy, now)
        sent.append(fresh.id)
        if fresh.conversation_id:
            changed.add(fresh.conversation_id)
    return FlushReport(sent, failed, retrying, changed, locked_out)


def _record_success(
    store: Store, row: Outbox, external_id: str, permalink: str, policy: "queue.Policy", now: datetime
) -> None:
    with store.write():
        row.state = OutboxState.SENT
        row.sent_at = now
        row.external_id = external_id or ""
        row.last_error = ""
        row.save()
        if row.conversation_id is None:
            Activity.create(
                created_at=now, kind=row.purpose, account=row.account_id, outbox=row.id, text="posted"
            )
            return
        message = Message.get_or_none(Message.external_id == f"outbox:{row.idempotency_key}")
        meta = {"state": "", "outbox_id": row.id, "permalink": permalink}
        taken = (
            external_id
            and Message.select()
            .where((Message.account == row.account_id) & (Message.external_id == external_id))
            .exists()
        )
        if message is not None:
            if external_id and not taken:
                message.external_id = external_id
            # The reply mode and the message it answered stay: they decide whether another is allowed.
            message.meta = {**{k: v for k, v in (message.meta or {}).items() if k in _MODE_KEYS}, **meta}
            message.save()
        elif row.purpose == OutboxPurpose.AUTO_REPLY and not taken:
            Message.create(
                conversation=row.conversation_id,
                account=row.account_id,
                external_id=external_id or f"outbox:{row.idempotency_key}",
                direction=Direction.OUT,
                text=row.text,
                created_at=now,
                via=Via.AUTO,
                meta=meta,
            )
        conv = Conversation.get_by_id(row.conversation_id)
        if row.purpose == OutboxPurpose.AUTO_REPLY:
            queue.fold_conversation(conv, [clock.Acknowledged(to_micros(now))], policy, now)
            Activity.create(
                created_at=now,
                kind="auto_reply",
                account=row.account_id,
                conversation=row.conversation_id,
                outbox=row.id,
                text="sent",
            )
        conv.last_message_at = max(filter(None, [conv.last_message_at, now]))
        conv.save()


def _record_failure(
    store: Store, row: Outbox, exc: ConnectorError, policy: "queue.Policy", now: datetime, rng: random.Random
) -> OutboxState:
    with store.write():
        row.last_error = error_text(exc)[:500]  # never quotes a secret (secrets.error_text)
        if isinstance(exc, RateLimited):
            row.state = OutboxState.PENDING
            row.next_attempt_at = max(exc.retry_at, now)
        elif isinstance(exc, AuthError):
            # Held, not failed: it goes out as soon as the owner has logged in again.
            row.state = OutboxState.PENDING
            row.next_attempt_at = now
            Account.update(state=AccountState.AUTH_ERROR, last_error=row.last_error, next_sync_at=None).where(
                Account.id == row.account_id
            ).execute()
        elif isinstance(exc, TransientError) and row.attempts < MAX_ATTEMPTS:
            row.state = OutboxState.PENDING
            row.next_attempt_at = now + backoff_delay(row.attempts, rng)
        else:
            row.state = OutboxState.FAILED
        row.save()
        _sync_message_state(row)
        if row.state == OutboxState.FAILED:
            Activity.create(
                created_at=now,
                kind="error",
                account=row.account_id,
                conversation=row.conversation_id,
                outbox=row.id,
                text=f"{row.purpose} failed: {row.last_error}",
            )
            if row.purpose == OutboxPurpose.REPLY and row.conversation_id:
                _reopen_after_unsent(row.conversation_id, policy, now, not_sent=row.last_error)
        return row.state


def _reopen_after_unsent(
    conversation_id: int, policy: "queue.Policy", now: datetime, *, not_sent: str | None = None
) -> None:
    """The reply will not arrive: recount the conversation without it (back in the queue). `not_sent`:
    the reason it failed for good, shown as the queue preview; None (withdrawn) restores the preview."""
    conv = Conversation.get_or_none(Conversation.id == conversation_id)
    if conv is None:
        return
    if not_sent is None:
        _restore_preview(conv)
    else:
        conv.preview = ingest.preview_of(NOT_SENT + (not_sent or "the platform refused it"))
    count, oldest = queue.recount(conv.id)
    queue.fold_conversation(conv, [clock.SendFailed(count, oldest)], policy, now)
    conv.save()


def _restore_preview(conv: Conversation) -> None:
    """The customer's latest words as the queue preview again, where a failed send had replaced them."""
    if not (conv.preview or "").startswith(NOT_SENT):
        return
    latest = (
        Message.select(Message.text)
        .where((Message.conversation == conv.id) & (Message.direction == Direction.IN))
        .order_by(Message.created_at.desc(), Message.id.desc())
        .first()
    )
    conv.preview = ingest.preview_of(ingest.clean_text(latest.text)) if latest is not None else ""


def _with_mode(target: ReplyTarget, row: Outbox) -> ReplyTarget:
    """The target of a reply queued in a reply mode: that mode, answering the message it was chosen for."""
    message = Message.get_or_none(Message.external_id == f"outbox:{row.idempotency_key}")
    meta = (message.meta or {}) if message is not None else {}
    mode = meta.get("reply_mode")
    if not isinstance(mode, str) or not mode:
        return target
    parent = Message.get_or_none((Message.conversation == row.conversation_id)
                                 & (Message.external_id == meta.get("reply_to")))
    if parent is None:
        return dataclasses.replace(target, mode=mode)
    return dataclasses.replace(target, mode=mode, parent_external_id=parent.external_id,
                               parent_meta=parent.meta or {})


def _sync_message_state(row: Outbox) -> None:
    """Mirror the outbox state onto the thread's copy of the message ("" once sent)."""
    if row.purpose != OutboxPurpose.REPLY:
        return
    message = Message.get_or_none(Message.external_id == f"outbox:{row.idempotency_key}")
    if message is None:
        return
    meta = dict(message.meta or {})
    meta["state"] = "" if row.state == OutboxState.SENT else row.state
    if row.last_error:
        meta["error"] = row.last_error
    else:
        meta.pop("error", None)  # sent again after the owner's decision: the old reason no longer holds
    message.meta = meta
    message.save()


def backoff_delay(attempt: int, rng: random.Random) -> timedelta:
    """30 s, 1 min, 2 min ... capped at 30 min, with ±50% jitter so retries do not synchronise."""
    base = min(30 * (2 ** max(0, attempt - 1)), 1800)
    return timedelta(seconds=base * rng.uniform(0.5, 1.5))
