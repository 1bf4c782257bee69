"""The states socialdesk compares: one enum per stored column that holds a state or a kind of row.

Decisions:
- `enum.StrEnum`: a member *is* its string ("open" == ConversationStatus.OPEN, json.dumps prints "open",
  f"{status}" is "open"), so the database, SQL, the `--json` output and the UI's lookup tables see exactly
  the strings they saw before. What changes is the code: a misspelt member is a type error (mypy) and an
  AttributeError, where a misspelt string was a comparison that was silently never true.
- The store's columns hold members (`store.EnumField` turns a stored string into its member on read).
  Rows read with raw SQL for speed (the queue list, ingest, metrics) keep plain strings, which compare
  equal to the members. SQL written by hand keeps the literal values ('open', 'out'): a value never
  changes, since the databases already hold it (renaming one would take a migration).
- This module only names the values. What a state means and when it changes belongs to the module that
  changes it: conversation status to core/conversation_clock.py and core/queue.py, outbox state to
  core/outbox.py, account state to core/sync.py.
"""

from __future__ import annotations

from enum import StrEnum


class ConversationStatus(StrEnum):
    """Where a conversation is in the owner's work. Only OPEN runs a response clock; WAITING and SNOOZED
    pause it, DONE and SPAM stop it (core/targets.py)."""

    OPEN = "open"
    WAITING = "waiting"  # on the customer
    SNOOZED = "snoozed"  # until Conversation.snoozed_until
    DONE = "done"
    SPAM = "spam"


class OutboxState(StrEnum):
    """Where a queued send is (core/outbox.py)."""

    PENDING = "pending"  # waits for its next attempt
    SENDING = "sending"  # handed to the connector; found so at start-up it becomes UNKNOWN or PENDING
    SENT = "sent"
    FAILED = "failed"  # failed for good; the owner may retry or cancel
    UNKNOWN = "unknown"  # socialdesk stopped mid-send where a retry could send it twice: the owner decides
    CANCELLED = "cancelled"  # by the owner
    SKIPPED = "skipped"  # automatic, and no longer true or too late: never sent (kept for the Activity view)
    # A status post handed to the platform, which publishes it by itself at its time (external_id = the
    # platform's scheduled id, next_attempt_at = the time): never flushed (core/automation/platform_schedule.py).
    SCHEDULED = "scheduled"


class OutboxPurpose(StrEnum):
    """Why a send was queued."""

    REPLY = "reply"  # the owner's reply in a conversation
    AUTO_REPLY = "auto_reply"  # automation's away message
    STATUS_POST = "status_post"  # automation's public open/closed post


class AccountState(StrEnum):
    """How an account's last sync went (core/sync.py sets it; the accounts dialog and tray show it)."""

    NEW = "new"  # not synced since it was added or logged in again
    OK = "ok"
    SYNCING = "syncing"  # shown by the UI; the engine does not set it today
    BACKOFF = "backoff"  # a transient error: retried later, each time later
    RATE_LIMITED = "rate_limited"  # the platform asked us to wait until next_sync_at
    AUTH_ERROR = "auth_error"  # the credentials need the owner: no polling, no sending until a new login
    ERROR = "error"  # a permanent error, retried rarely


class Direction(StrEnum):
    """Who wrote a message."""

    IN = "in"  # the customer
    OUT = "out"  # the business: through socialdesk, or on the platform itself (via PLATFORM)


class Via(StrEnum):
    """How an outbound message was written (empty for inbound ones). Human replies are MANUAL, SNIPPET and
    PLATFORM; AUTO and STATUS acknowledge but never count as a response (core/metrics.py)."""

    INBOUND = ""  # a customer's message
    MANUAL = "manual"
    SNIPPET = "snippet"
    PLATFORM = "platform"  # written on the platform, outside socialdesk, and fetched back
    AUTO = "auto"  # an automatic away message
    STATUS = "status"  # an automatic public status post
