"""What an account check learns (the platform's text limit) is kept with the account and reaches the queue."""

from __future__ import annotations

from datetime import datetime, timezone

from socialdesk.connectors.base import AccountInfo, with_learned
from socialdesk.core import accounts, queue
from socialdesk.core.store import Account, Conversation

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


def test_with_learned_adds_replaces_and_drops_the_limit():
    assert with_learned({"instance": "x"}, AccountInfo("Shop", text_limit=5_000)) == {"instance": "x", "text_limit": 5_000}
    assert with_learned({"instance": "x", "text_limit": 5_000}, AccountInfo("Shop", text_limit=1_000))["text_limit"] == 1_000
    # A check that learns nothing removes a stale limit; nonsense is never kept.
    assert with_learned({"instance": "x", "text_limit": 5_000}, AccountInfo("Shop")) == {"instance": "x"}
    assert with_learned({}, AccountInfo("Shop", text_limit=0)) == {}
    assert with_learned({}, AccountInfo("Shop", text_limit="500")) == {}  # type: ignore[arg-type]


def test_remember_check_stores_it_and_queue_rows_carry_it(store):
    with store.write():
        account = Account.create(kind="mastodon", name="Fedi", settings={"instance": "https://x.example"}, created_at=NOW)
        conv = Conversation.create(account=account, external_id="c1", kind="mention", created_at=NOW)
    assert queue.rows([conv.id])[conv.id].text_limit is None

    accounts.remember_check(store, account.id, AccountInfo("Shop", text_limit=5_000))
    assert Account.get_by_id(account.id).settings == {"instance": "https://x.example", "text_limit": 5_000}
    assert queue.rows([conv.id])[conv.id].text_limit == 5_000

    accounts.remember_check(store, account.id, AccountInfo("Shop"))
    assert Account.get_by_id(account.id).settings == {"instance": "https://x.example"}
    assert queue.rows([conv.id])[conv.id].text_limit is None


def test_text_limit_ignores_what_is_not_a_positive_number():
    assert accounts.text_limit(None) is None
    assert accounts.text_limit({"text_limit": -3}) is None
    assert accounts.text_limit({"text_limit": True}) is None
    assert accounts.text_limit({"text_limit": 640}) == 640
