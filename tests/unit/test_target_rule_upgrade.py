"""Stored due times follow core/targets.RULE_VERSION: a profile written under an older rule (due soon
counted in open time, which coloured "2 d left" amber before closing and all through Away) gets its open
conversations recomputed once at start, and every view is told to reload."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from socialdesk import paths
from socialdesk.app import build_core
from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import targets
from socialdesk.core.changes import ChangeSet
from socialdesk.core.clock import ManualClock
from socialdesk.core.ingest import ingest
from socialdesk.core.settings import TARGET_RULE_KEY
from socialdesk.core.store import Account, Conversation

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def _profile_with_one_awaiting_conversation() -> int:
    core = build_core(paths.profile("default"), clock=ManualClock(NOW))
    with core.store.write():
        account_id = Account.create(kind="demo", name="Chat", settings={"channel": "telegram"}, created_at=NOW).id
    item = InboundItem("m1", "c1", "dm", False, Author("u1", handle="sam"), "hello", NOW - timedelta(minutes=5))
    ingest(core.store, account_id, [item], None, core.policy(), NOW)
    conv = Conversation.get(Conversation.account == account_id)
    assert conv.due_soon_at is not None and core.settings.get(TARGET_RULE_KEY) == targets.RULE_VERSION
    # As an older version left it: its own due-soon time, and no rule recorded.
    with core.store.write():
        Conversation.update(due_soon_at=NOW + timedelta(days=2)).where(Conversation.id == conv.id).execute()
    core.settings.set(TARGET_RULE_KEY, 0)
    core.close()
    return conv.id


def test_a_profile_under_an_older_rule_is_recomputed_once_and_views_reload():
    conv_id = _profile_with_one_awaiting_conversation()
    seen: list[ChangeSet] = []
    core = build_core(paths.profile("default"), clock=ManualClock(NOW), on_change=seen.append)
    try:
        recomputed = Conversation.get_by_id(conv_id)
        assert recomputed.due_soon_at is not None and recomputed.due_soon_at < NOW + timedelta(days=1)
        assert core.settings.get(TARGET_RULE_KEY) == targets.RULE_VERSION
        assert [c.policy_changed for c in seen] == [True]
    finally:
        core.close()
    # Once: the next start leaves stored times alone and publishes nothing.
    core = build_core(paths.profile("default"), clock=ManualClock(NOW), on_change=seen.append)
    try:
        with core.store.write():
            Conversation.update(due_soon_at=NOW + timedelta(days=3)).where(Conversation.id == conv_id).execute()
        core.close()
        core = build_core(paths.profile("default"), clock=ManualClock(NOW), on_change=seen.append)
        assert Conversation.get_by_id(conv_id).due_soon_at == NOW + timedelta(days=3) and len(seen) == 1
    finally:
        core.close()
