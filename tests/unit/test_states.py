"""States as enums (core/states.py): the strings stored and printed stay exactly what they were."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from socialdesk.core import store as models
from socialdesk.core.states import (
    AccountState,
    ConversationStatus,
    Direction,
    OutboxPurpose,
    OutboxState,
    Via,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

# The values databases already hold: a renamed value would orphan every stored row that has it.
STORED = {
    ConversationStatus: ["open", "waiting", "snoozed", "done", "spam"],
    OutboxState: ["pending", "sending", "sent", "failed", "unknown", "cancelled", "skipped", "scheduled"],
    OutboxPurpose: ["reply", "auto_reply", "status_post"],
    AccountState: ["new", "ok", "syncing", "backoff", "rate_limited", "auth_error", "error"],
    Direction: ["in", "out"],
    Via: ["", "manual", "snippet", "platform", "auto", "status"],
}


@pytest.mark.parametrize("enum", list(STORED), ids=lambda e: e.__name__)
def test_members_are_the_stored_strings(enum):
    assert [member.value for member in enum] == STORED[enum]
    for member in enum:
        assert member == member.value and f"{member}" == member.value and json.dumps(member) == f'"{member.value}"'


def test_a_state_column_stores_the_string_and_reads_back_the_member(store):
    account = models.Account.create(kind="demo", name="Shop", created_at=NOW)
    conv = models.Conversation.create(account=account, external_id="c1", kind="dm", created_at=NOW)
    conv.status = ConversationStatus.SNOOZED
    conv.save()
    outbox = models.Outbox.create(
        account=account, conversation=conv, purpose=OutboxPurpose.REPLY, text="Hi", idempotency_key="k1", created_at=NOW
    )
    assert models.database.execute_sql("SELECT state FROM account").fetchall() == [("new",)]
    assert models.database.execute_sql("SELECT status FROM conversation").fetchall() == [("snoozed",)]
    assert models.database.execute_sql("SELECT purpose, state, via FROM outbox").fetchall() == [("reply", "pending", "manual")]

    read = models.Conversation.get_by_id(conv.id)
    assert read.status is ConversationStatus.SNOOZED
    assert models.Account.get_by_id(account.id).state is AccountState.NEW
    assert models.Outbox.get_by_id(outbox.id).state is OutboxState.PENDING
    # Queries compare members and plain strings alike.
    assert models.Conversation.select().where(models.Conversation.status == "snoozed").count() == 1
    assert models.Conversation.select().where(models.Conversation.status == ConversationStatus.SNOOZED).count() == 1
    assert json.dumps({"status": read.status}) == '{"status": "snoozed"}'


def test_a_value_no_member_has_is_read_back_as_it_is(store):
    account = models.Account.create(kind="demo", name="Shop", created_at=NOW)
    models.database.execute_sql("UPDATE account SET state = 'from_the_future' WHERE id = ?", (account.id,))
    assert models.Account.get_by_id(account.id).state == "from_the_future"
