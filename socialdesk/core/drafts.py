"""Drafts: the reply the owner is writing, per conversation, kept across restarts and crashes.

Decisions:
- One `Draft` row per conversation (core/store.py, schema 5), deleted with the conversation. An empty
  or blank text deletes the row: nothing typed, nothing kept.
- The window saves as the owner types (debounced, off the GUI thread: ui/drafts.DraftKeeper) through
  `owner_actions.save_drafts`, several conversations in one transaction; a crash loses at most the
  last keystrokes of the debounce interval.
- Queuing a reply deletes the conversation's draft in the reply's own transaction
  (owner_actions.reply), so a sent text never comes back as a draft.
- A draft for a conversation that no longer exists (removed with its account meanwhile) is dropped,
  not an error: there is nothing left to answer.
- Reading drafts (`texts`, `preview`) needs no peewee: the queue's first screen reads them before the
  ORM is loaded (core/queue_read.py); the writes import the models when they run.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from socialdesk.core.store import Store

PREVIEW_CHARS = 120


def save(store: Store, texts: dict[int, str], now: datetime) -> set[int]:
    """Store each conversation's draft (a blank text deletes it); returns the conversations written."""
    if not texts:
        return set()
    from socialdesk.core.store import Conversation, Draft

    with store.write():
        existing = {c.id for c in Conversation.select(Conversation.id).where(Conversation.id.in_(list(texts)))}
        for conv_id, text in texts.items():
            if conv_id not in existing:
                continue
            if text.strip():
                Draft.insert(conversation=conv_id, text=text, updated_at=now).on_conflict_replace().execute()
            else:
                Draft.delete().where(Draft.conversation == conv_id).execute()
    return existing


def delete(store: Store, conversation_id: int) -> None:
    from socialdesk.core.store import Draft

    with store.write():
        Draft.delete().where(Draft.conversation == conversation_id).execute()


def texts(conversation_ids: list[int], db: sqlite3.Connection | None = None) -> dict[int, str]:
    """The drafts of these conversations (those that have one), read on `db` (default: the store's
    connection of this thread)."""
    if db is None:
        from socialdesk.core.store import connection

        db = connection()
    found: dict[int, str] = {}
    for start in range(0, len(conversation_ids), 500):
        chunk = [int(i) for i in conversation_ids[start : start + 500]]
        sql = f"SELECT conversation_id, text FROM draft WHERE conversation_id IN ({','.join('?' * len(chunk))})"
        found.update(db.execute(sql, chunk).fetchall())
    return found


def preview(text: str) -> str:
    """One line of a draft for the queue ("Draft: Hi Léa, yes we…")."""
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…"
