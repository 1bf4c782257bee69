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
"""

from __future__ import annotations

from datetime import datetime

from socialdesk.core.store import Conversation, Draft, Store, tuples

PREVIEW_CHARS = 120


def save(store: Store, texts: dict[int, str], now: datetime) -> set[int]:
    """Store each conversation's draft (a blank text deletes it); returns the conversations written."""
    if not texts:
        return set()
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
    with store.write():
        Draft.delete().where(Draft.conversation == conversation_id).execute()


def texts(conversation_ids: list[int]) -> dict[int, str]:
    """The drafts of these conversations (those that have one)."""
    found: dict[int, str] = {}
    for start in range(0, len(conversation_ids), 500):
        chunk = conversation_ids[start : start + 500]
        for conv_id, text in tuples(Draft.select(Draft.conversation, Draft.text).where(
                Draft.conversation.in_(chunk))):
            found[conv_id] = text
    return found


def preview(text: str) -> str:
    """One line of a draft for the queue ("Draft: Hi Léa, yes we…")."""
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…"
