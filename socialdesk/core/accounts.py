"""What socialdesk keeps about an account beyond the owner's own settings: what `check()` learned.

Decisions:
- A learned fact (today only the platform's text limit, e.g. a Mastodon instance allowing 5,000
  characters) lives in the account's settings JSON under a key no connector declares
  (`connectors.traits.LEARNED_TEXT_LIMIT`), so it needs no schema change and travels with the account.
  Adding, editing and testing an account all refresh it; a check that learns nothing removes it,
  so a stale limit never outlives the instance's change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialdesk.connectors.traits import LEARNED_TEXT_LIMIT, valid_text_limit

if TYPE_CHECKING:
    from socialdesk.connectors.base import AccountInfo
    from socialdesk.core.store import Store


def remember_check(store: Store, account_id: int, info: AccountInfo) -> None:
    """Keep what a successful `check()` of this account learned."""
    # Here, not at the top: text_limit is read where neither the connectors nor peewee are loaded yet
    # (the queue's first screen, core/queue_read.py).
    from socialdesk.connectors.base import with_learned
    from socialdesk.core.store import Account

    with store.write():
        account = Account.get_by_id(account_id)
        settings = with_learned(account.settings or {}, info)
        if settings != (account.settings or {}):
            Account.update(settings=settings).where(Account.id == account_id).execute()


def text_limit(settings: dict | None) -> int | None:
    """The account's own text limit, when a check learned one."""
    return valid_text_limit((settings or {}).get(LEARNED_TEXT_LIMIT))
