"""Whether one message gets an auto-reply: the pure `decide_auto_reply` over `AutoReplyFacts`, and the
RFC 3834 email loop guard it is given.

Decisions:
- The decision itself (`decide_auto_reply`) is a pure function of `AutoReplyFacts`, returning a reason
  that the Activity view shows. Skips the owner may wonder about (automated sender, already answered
  this period, cap reached, paused, history at first sync) are logged; "we were open" and "public kind
  off" are not, or every daytime message would fill the log.
- A message that arrived inside a closed period the platform's own server kept (the mail server's
  Sieve vacation, core/server_replies.py) was answered there: no second reply from us (issue 18).
- A message found late (socialdesk was not running, the laptop slept) is judged by when it came: one that
  came in a closed stretch which has ended since gets no reply unless `AutomationConfig.catch_up` is
  "closed_now" (`came_in_ended_period`; issue 18 item 4). The reply, when there is one, is always the
  current period's: "closed right now" is never sent while open.
- A message must be at most 24 h old: at an account's first sync this keeps imported history from
  messaging customers; later it stops a reset cursor or a long outage from answering old mail.
- Email loop guards (RFC 3834): `email_reply.auto_reply_refusal`, the one rule, judging the address
  the reply would actually go to (Reply-To, else From): several Reply-To addresses, an automated
  mailbox, or any of the profile's own addresses (every email-channel account's address and aliases)
  mean no auto-reply, with the reason in the Activity view; plus the connector's `meta["automated"]`.
  What we send carries `Auto-Submitted: auto-replied` (ReplyTarget.auto_reply, set by the outbox), and
  the email connector checks the same rule again before sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from socialdesk.connectors import email_reply
from socialdesk.core.automation.config import (
    AutomationConfig,
)

HISTORY_LIMIT = timedelta(hours=24)  # older messages never get an auto-reply


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
    # The platform's own server already answered this message (core/server_replies.py): its name, e.g.
    # "your mail server"; "" when it did not.
    server_answered: str = ""


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
    if facts.server_answered:
        return Decision(False, f"answered by {facts.server_answered}", True)
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


def came_in_ended_period(schedule: Any, period: str, created_at: datetime, now: datetime) -> bool:
    """Whether a message that came at `created_at` came in a closed stretch other than the current one
    (`period`, the key of the stretch we are in): the business opened since. A message that came while
    open (now closed) is not one. Cheap for live messages: the current stretch's start is in its key."""
    when = min(created_at, now)
    try:
        start = datetime.strptime(period, "closed:%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        start = None  # "closed:long": no start within the horizon
    if start is not None and when >= start:
        return False
    arrived = schedule.closed_period_key(when)
    return arrived is not None and arrived != period


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
