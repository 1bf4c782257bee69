"""Deadline alerts: which conversations just became due soon or overdue, each announced once.

Decisions: "once" is remembered in the database (`notified_due_soon_at` / `notified_overdue_at` hold
the deadline we alerted for), so a restart does not repeat an alert, and a *new* deadline (the customer
wrote again after a reply) alerts again. Quiet hours suppress the pop-up but still mark the alert as
handled, so the owner is not flooded with stale alerts when the business opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from socialdesk.core.store import Conversation, Store


@dataclass(frozen=True)
class Alert:
    conversation_id: int
    kind: str  # "due_soon" | "overdue"
    customer: str
    preview: str
    due_at: datetime


def collect(store: Store, now: datetime) -> list[Alert]:
    """Alerts that are due now; marks them as announced in the same transaction."""
    alerts: list[Alert] = []
    with store.write():
        awaiting = (Conversation.status == "open") & Conversation.awaiting_since.is_null(False)
        overdue = Conversation.select().where(
            awaiting
            & (Conversation.due_at <= now)
            & (Conversation.notified_overdue_at.is_null() | (Conversation.notified_overdue_at != Conversation.due_at))
        )
        for conv in overdue:
            alerts.append(Alert(conv.id, "overdue", conv.contact_name, conv.preview, conv.due_at))
            conv.notified_overdue_at = conv.due_at
            conv.notified_due_soon_at = conv.due_at  # an overdue alert supersedes a missed due-soon one
            conv.save(only=[Conversation.notified_overdue_at, Conversation.notified_due_soon_at])
        due_soon = Conversation.select().where(
            awaiting
            & (Conversation.due_soon_at <= now)
            & (Conversation.due_at > now)
            & (
                Conversation.notified_due_soon_at.is_null()
                | (Conversation.notified_due_soon_at != Conversation.due_at)
            )
        )
        for conv in due_soon:
            alerts.append(Alert(conv.id, "due_soon", conv.contact_name, conv.preview, conv.due_at))
            conv.notified_due_soon_at = conv.due_at
            conv.save(only=[Conversation.notified_due_soon_at])
    return alerts
