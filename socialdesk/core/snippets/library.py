"""The snippet library: creating, editing, deleting (with undo) and counting the use of snippets, and the
field rules every way in (editor, import, starter pack) shares through `_CLEANERS`.

Decisions:
- Abbreviations are stored lower-case (1–32 of letters in any script, digits, `_`, `-`) so `Thx` and `thx` cannot
  both exist and lookup is case-insensitive. Favourite slots 1–9 are unique: giving a slot to one
  snippet frees it from the previous holder.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterable

from socialdesk.connectors import traits
from socialdesk.core.snippets.text import SnippetError, _shown, validate_body
from socialdesk.core.store import Snippet, Store

FIELDS = ("abbreviation", "title", "body", "tags", "channels", "favorite_slot")
_EDITABLE = frozenset(FIELDS)
_ABBREVIATION = re.compile(r"[\w-]{1,32}")  # \w: letters of any script, digits, "_"
_MAX_TITLE = 120
_LIST_SEPARATOR = ";"


# --- the library --------------------------------------------------------------------------------


def find_by_abbreviation(abbr: str) -> Snippet | None:
    return Snippet.get_or_none(Snippet.abbreviation == abbr.strip().lower())


def _clean_abbreviation(value: Any) -> str:
    abbr = str(value or "").strip()
    if not _ABBREVIATION.fullmatch(abbr):
        raise SnippetError(
            f"The abbreviation {_shown(abbr)} must be 1–32 letters, digits, '_' or '-' (no spaces)."
        )
    return abbr.lower()


def _clean_title(value: Any) -> str:
    title = " ".join(str(value or "").split())
    if not title:
        raise SnippetError("A snippet needs a title.")
    if len(title) > _MAX_TITLE:
        raise SnippetError(f"The title is longer than {_MAX_TITLE} characters.")
    return title


def _clean_body(value: Any) -> str:
    body = str(value if value is not None else "")
    problems = validate_body(body)
    if problems:
        raise SnippetError(problems[0].message)
    return body


def _clean_list(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        raise SnippetError(f"The {what} must be a list, not text.")
    seen: list[str] = []
    for item in value or ():
        if not isinstance(item, str):
            raise SnippetError(f"Each of the {what} must be text.")
        item = item.strip()
        if _LIST_SEPARATOR in item:
            raise SnippetError(f"The {what} may not contain '{_LIST_SEPARATOR}': {_shown(item)}.")
        if item and item not in seen:
            seen.append(item)
    return seen


def channel_problem(channels: Iterable[str]) -> str:
    """"" when every name is a platform socialdesk can connect to (traits.known), else the problem, in
    the owner's words (the snippet editor shows the same sentence)."""
    unknown = [c for c in channels if not traits.known(c)]
    if unknown:
        return f"Unknown channel {_shown(unknown[0])}; choose from: {', '.join(sorted(traits.platforms()))}."
    return ""


def _clean_channels(value: Any) -> list[str]:
    channels = _clean_list(value, "channels")
    problem = channel_problem(channels)
    if problem:
        raise SnippetError(problem)
    return channels


def _clean_slot(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise SnippetError(f"The favourite slot must be a number from 1 to 9, not {_shown(str(value))}.") from None
    if not 1 <= value <= 9:
        raise SnippetError(f"The favourite slot must be from 1 to 9, not {_shown(str(value))}.")
    return value


_CLEANERS = {
    "abbreviation": _clean_abbreviation,
    "title": _clean_title,
    "body": _clean_body,
    "tags": lambda v: _clean_list(v, "tags"),
    "channels": _clean_channels,
    "favorite_slot": _clean_slot,
}


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: _CLEANERS[key](value) for key, value in fields.items()}


def _check_abbreviation_free(abbr: str, own_id: int | None) -> None:
    other = Snippet.get_or_none(Snippet.abbreviation == abbr)
    if other is not None and other.id != own_id:
        raise SnippetError(f"The abbreviation '{abbr}' is already used by “{other.title}”.")


def _take_slot(slot: int | None, own_id: int) -> None:
    """Free `slot` from any other snippet so `own_id` can take it."""
    if slot is not None:
        Snippet.update(favorite_slot=None).where(
            (Snippet.favorite_slot == slot) & (Snippet.id != own_id)
        ).execute()


def create_snippet(
    store: Store,
    *,
    title: str,
    abbreviation: str,
    body: str,
    tags: Iterable[str] = (),
    channels: Iterable[str] = (),
    favorite_slot: int | None = None,
    now: datetime,
) -> Snippet:
    clean = _clean(
        {
            "title": title,
            "abbreviation": abbreviation,
            "body": body,
            "tags": list(tags),
            "channels": list(channels),
            "favorite_slot": favorite_slot,
        }
    )
    with store.write():
        _check_abbreviation_free(clean["abbreviation"], None)
        slot = clean.pop("favorite_slot")
        snippet = Snippet.create(**clean, created_at=now, updated_at=now)
        if slot is not None:
            _take_slot(slot, snippet.id)
            snippet.favorite_slot = slot
            snippet.save()
    return snippet


def update_snippet(store: Store, snippet_id: int, *, now: datetime, **fields: Any) -> Snippet:
    """Change some of title, abbreviation, body, tags, channels, favorite_slot."""
    unknown = set(fields) - _EDITABLE
    if unknown:
        raise TypeError(f"update_snippet() got unknown fields: {', '.join(sorted(unknown))}")
    clean = _clean(fields)
    with store.write():
        snippet = Snippet.get_or_none(Snippet.id == snippet_id)
        if snippet is None:
            raise SnippetError("That snippet no longer exists.")
        if "abbreviation" in clean:
            _check_abbreviation_free(clean["abbreviation"], snippet.id)
        if "favorite_slot" in clean:
            _take_slot(clean["favorite_slot"], snippet.id)
        for key, value in clean.items():
            setattr(snippet, key, value)
        snippet.updated_at = now
        snippet.save()
    return snippet


def snippet_data(snippet: Snippet) -> dict[str, Any]:
    """Every column of a snippet, for undo."""
    return {field.name: getattr(snippet, field.name) for field in Snippet._meta.sorted_fields}


def delete_snippet(store: Store, snippet_id: int) -> dict[str, Any]:
    """Delete and return the row data, which `restore_snippet` accepts to undo."""
    with store.write():
        snippet = Snippet.get_or_none(Snippet.id == snippet_id)
        if snippet is None:
            raise SnippetError("That snippet no longer exists.")
        data = snippet_data(snippet)
        snippet.delete_instance()
    return data


def restore_snippet(store: Store, data: dict[str, Any]) -> Snippet:
    """Undo a delete: the same text, slot and usage, and the same id unless SQLite reused it for a
    newer snippet. If another snippet took the favourite slot meanwhile it keeps it (the restored one
    comes back without a slot). Messages that pointed at the snippet were unlinked by the delete and
    stay unlinked."""
    with store.write():
        _check_abbreviation_free(data["abbreviation"], None)
        row = dict(data)
        if Snippet.get_or_none(Snippet.id == row.get("id")) is not None:
            del row["id"]
        if row.get("favorite_slot") is not None and Snippet.get_or_none(
            Snippet.favorite_slot == row["favorite_slot"]
        ):
            row["favorite_slot"] = None
        new_id = Snippet.insert(**row).execute()
    return Snippet.get_by_id(new_id)


def record_use(store: Store, snippet_id: int, now: datetime) -> None:
    with store.write():
        Snippet.update(use_count=Snippet.use_count + 1, last_used_at=now).where(
            Snippet.id == snippet_id
        ).execute()
