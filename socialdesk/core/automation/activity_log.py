"""The Activity view's data: every automatic message (queued, sent, failed, unknown, skipped) and every
logged skip, newest first. Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import peewee as pw

from socialdesk.core.automation.config import (
    UTC,
)
from socialdesk.core.states import OutboxPurpose, OutboxState
from socialdesk.core.store import (
    Account,
    Activity,
    Contact,
    Conversation,
    Outbox,
)

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
        elif row.state == OutboxState.SCHEDULED and row.next_attempt_at:  # held by the platform
            detail = f"the platform publishes it {row.next_attempt_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
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
