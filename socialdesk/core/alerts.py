"""Deadline alerts: which conversations just became due soon or overdue, each announced once.

Decisions: "once" is remembered in the database (`notified_due_soon_at` / `notified_overdue_at` hold
the deadline we alerted for), so a restart does not repeat an alert, and a *new* deadline (the customer
wrote again after a reply) alerts again. `collect` only reads; `record` marks an alert announced, and
the window calls it for each alert only after the notifier accepted its pop-up, so an alert that could
not be shown is collected (and tried) again next time. Quiet hours suppress the pop-up but still
record the alert as handled, so the owner is not flooded with stale alerts when the business opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from socialdesk.core.states import ConversationStatus
from socialdesk.core.store import Conversation, Store


@dataclass(frozen=True)
class Alert:
    conversation_id: int
    kind: str  # "due_soon" | "overdue"
    customer: str
    preview: str
    due_at: datetime


def collect(store: Store, now: datetime) -> list[Alert]:
    """Alerts that are due now and not yet recorded as announced (reads only; see `record`)."""
    awaiting = (Conversation.status == ConversationStatus.OPEN) & Conversation.awaiting_since.is_null(False)
    overdue = Conversation.select().where(
        awaiting
        & (Conversation.due_at <= now)
        & (Conversation.notified_overdue_at.is_null() | (Conversation.notified_overdue_at != Conversation.due_at))
    )
    # `conv.due_at is not None` holds by the query; it is said again for the type checker.
    alerts = [
        Alert(conv.id, "overdue", conv.contact_name, conv.preview, conv.due_at)
        for conv in overdue
        if conv.due_at is not None
    ]
    due_soon = Conversation.select().where(
        awaiting
        & (Conversation.due_soon_at <= now)
        & (Conversation.due_at > now)
        & (Conversation.notified_due_soon_at.is_null() | (Conversation.notified_due_soon_at != Conversation.due_at))
    )
    alerts += [
        Alert(conv.id, "due_soon", conv.contact_name, conv.preview, conv.due_at)
        for conv in due_soon
        if conv.due_at is not None
    ]
    return alerts


def record(store: Store, alerts: Iterable[Alert]) -> None:
    """Remember these alerts as announced (shown, or deliberately not shown in quiet hours)."""
    with store.write():
        for alert in alerts:
            fields = {Conversation.notified_due_soon_at: alert.due_at}
            if alert.kind == "overdue":
                # An overdue alert supersedes a missed due-soon one for the same deadline.
                fields[Conversation.notified_overdue_at] = alert.due_at
            Conversation.update(fields).where(Conversation.id == alert.conversation_id).execute()
