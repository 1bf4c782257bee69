"""Canned snippets: placeholders, the snippet library, palette ranking, reply classification,
import/export and the starter pack. Qt-free; the composer and palette in ui/ call these.

Decisions:
- Placeholders are a closed list (`PLACEHOLDERS`). Rendering is plain string substitution by a small
  hand-written scanner: no format(), no template engine, nothing in a body can reach attributes or run
  code (`{__class__}` is simply an unknown placeholder). Values are inserted verbatim and never
  re-scanned, so a customer named "{today}" stays "{today}".
- `{{` and `}}` are literal braces. `{name|fallback}` uses the fallback when the value is empty.
  Problems are reported while editing (`validate_body`), with the position, so they never surface at
  send time; `render` refuses an invalid body with `SnippetError`.
- An empty placeholder without fallback renders as nothing, and we tidy only the seam it leaves:
  "Hi {name}, thanks" -> "Hi, thanks", "Hi {name} and" -> "Hi and"; at the start of a line the
  leading space or ", " after it goes too. A separator it would leave dangling goes with it: before
  the end of a line or closing punctuation ("Thanks, {name}!" -> "Thanks!", "soon. — {my_name}" ->
  "soon."), and after a dash ("— {my_name}, {business}" -> "— Rye"). A line where a value was dropped
  and only spaces and punctuation remain is removed with its line break, so an unset signature line
  ("— {my_name}, {business}") disappears instead of sending "—,". The owner's own spacing elsewhere
  is never touched.
- Abbreviations are stored lower-case (1–32 of letters in any script, digits, `_`, `-`) so `Thx` and `thx` cannot
  both exist and lookup is case-insensitive. Favourite slots 1–9 are unique: giving a slot to one
  snippet frees it from the previous holder.
- Ranking (`rank_snippets`) scores in Python over the whole library (a few hundred rows at most):
  a fuzzy match of the typed query (prefix, substring, then subsequence, so "rfd" finds "refund")
  dominates, then the FTS5 bm25 relevance of title+body to the customer's message, then use count and
  recency. Customer text is reduced to word tokens, each quoted, OR'ed: never a raw FTS query.
  Snippets limited to other channels are left out.
- Import is all-or-nothing inside one `store.write()` transaction; parse errors name the line and
  field. Every bad file is one SnippetImportError, shown as one line by the CLI and the window alike
  (`read_import_file`, `import_failure`): deep nesting, huge numbers and unreadable files included.
  Import is linear in the file (100,000 snippets in a few seconds): line numbers are counted on from
  the previous item, the body scanner never searches past a brace twice, and rows are written by
  multi-row upserts. Export is sorted by abbreviation with a fixed key order so export -> import -> export is
  byte-identical. Usage statistics are not exported: they belong to this profile.
- Starter snippets are loaded once (setting "snippets.starter_loaded"), so deleting them is permanent,
  and they never overwrite an existing abbreviation or take an occupied favourite slot. When the pack
  changes (setting "snippets.starter_version"), a starter snippet whose body is still exactly an earlier
  starter text gets the new text; one the owner edited keeps the owner's words.
- Starter texts render cleanly on a new profile too: business and owner names sit on their own
  signature line (dropped when unset) or have a fallback, and hours come from `{hours}`/`{next_open}`.
"""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from socialdesk.connectors import traits
from socialdesk.core.store import Snippet, Store, tuples

PLACEHOLDERS: dict[str, str] = {
    "first_name": "The customer's first name",
    "name": "The customer's full display name",
    "handle": "The customer's handle on this channel (e.g. @sam)",
    "business": "Your business name",
    "channel": "The channel this reply goes to (e.g. Instagram)",
    "my_name": "Your own name, to sign off",
    "hours": "Your opening hours (e.g. Monday to Friday 9:00–17:00, Saturday 10:00–14:00)",
    "next_open": "When you are next open (e.g. at 9:00 tomorrow; while open: now until 17:00)",
    "typical_response": "Your typical response time (e.g. within 2 hours)",
    "today": "Today's date",
}

STARTER_SETTING = "snippets.starter_loaded"
FIELDS = ("abbreviation", "title", "body", "tags", "channels", "favorite_slot")
_EDITABLE = frozenset(FIELDS)
_ABBREVIATION = re.compile(r"[\w-]{1,32}")  # \w: letters of any script, digits, "_"
_MAX_TITLE = 120
_LIST_SEPARATOR = ";"


class SnippetError(Exception):
    """A snippet cannot be saved or rendered; `str(e)` is meant for the owner."""


class SnippetImportError(SnippetError):
    """A bad import file; names the line and field. Nothing was imported."""

    def __init__(self, line: int | None, field: str | None, message: str):
        self.line = line
        self.field = field
        self.message = message
        where = []
        if line is not None:
            where.append(f"line {line}")
        if field:
            where.append(f"field '{field}'")
        text = (", ".join(where) + ": " if where else "") + message
        super().__init__(text[:1].upper() + text[1:])


@dataclass(frozen=True)
class SnippetProblem:
    position: int  # index into the body where the problem starts
    length: int  # how many characters to highlight
    message: str


@dataclass(frozen=True)
class RenderContext:
    first_name: str = ""
    name: str = ""
    handle: str = ""
    business: str = ""
    channel: str = ""
    my_name: str = ""
    hours: str = ""
    next_open: str = ""
    typical_response: str = ""
    today: str = ""


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int

    @property
    def total(self) -> int:
        return self.created + self.updated


# --- placeholders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _Placeholder:
    name: str
    fallback: str | None


_BRACE = re.compile(r"[{}]")


def _parse(body: str) -> tuple[list[_Literal | _Placeholder], list[SnippetProblem]]:
    parts: list[_Literal | _Placeholder] = []
    problems: list[SnippetProblem] = []
    literal: list[str] = []
    i, n = 0, len(body)
    # The next '}' and '{' after i, found once and reused until i passes them: a body of many unclosed
    # braces would otherwise search to its end from every one of them.
    next_close = next_open = -2
    while i < n:
        brace = _BRACE.search(body, i)  # plain text up to the next brace is copied in one slice
        if brace is None:
            literal.append(body[i:])
            break
        if brace.start() > i:
            literal.append(body[i : brace.start()])
            i = brace.start()
        ch = body[i]
        if ch == "{" and body.startswith("{{", i):
            literal.append("{")
            i += 2
        elif ch == "}" and body.startswith("}}", i):
            literal.append("}")
            i += 2
        elif ch == "}":
            problems.append(
                SnippetProblem(i, 1, "A '}' without its '{'. Write '}}' for a literal brace.")
            )
            literal.append(ch)
            i += 1
        elif ch == "{":
            if next_close != -1 and next_close <= i:
                next_close = body.find("}", i + 1)
            if next_open != -1 and next_open <= i:
                next_open = body.find("{", i + 1)
            close, nested = next_close, next_open
            if close == -1 or (nested != -1 and nested < close):
                end = close if close != -1 else n
                problems.append(
                    SnippetProblem(
                        i, max(1, min(end, nested if nested != -1 else end) - i),
                        "A '{' that is never closed. Write '{{' for a literal brace.",
                    )
                )
                literal.append(ch)
                i += 1
                continue
            inner = body[i + 1 : close]
            name, sep, fallback = inner.partition("|")
            name = name.strip()
            if name not in PLACEHOLDERS:
                problems.append(SnippetProblem(i, close + 1 - i, _unknown_message(name)))
            else:
                if literal:
                    parts.append(_Literal("".join(literal)))
                    literal = []
                parts.append(_Placeholder(name, fallback if sep else None))
            i = close + 1
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append(_Literal("".join(literal)))
    return parts, problems


def _unknown_message(name: str) -> str:
    if not name:
        return "An empty placeholder '{}'. Write '{{' and '}}' for literal braces."
    # difflib is quadratic in the name's length; real placeholder names are short.
    close = difflib.get_close_matches(name.lower()[:40], list(PLACEHOLDERS), n=1)
    hint = f" Did you mean {{{close[0]}}}?" if close else ""
    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    return f"Unknown placeholder {{{_shown(name, quote=False)}}}.{hint} Available: {known}."


def _shown(value: str, *, quote: bool = True, limit: int = 40) -> str:
    """A value quoted in an error message: one line, at most `limit` characters."""
    short = value if len(value) <= limit else value[:limit] + "…"
    return repr(short) if quote else " ".join(short.split())


def validate_body(body: str) -> list[SnippetProblem]:
    """Everything wrong with a snippet body, in order of position (empty list = valid)."""
    problems = _parse(body)[1] if "{" in body or "}" in body else []
    if not body.strip():
        problems.append(SnippetProblem(0, 0, "The snippet text is empty."))
    return problems


_SEPARATORS = ",;:–—"  # what may be left dangling next to a dropped value ("— {my_name}," -> "—,")
_CLOSING = "\r\n.!?)"  # a dropped value right before these (or the end) leaves no separator before it


def _trim_separators(out: str) -> str:
    """`out` without the spaces, tabs and separators at its end ("Thanks, " -> "Thanks", "soon. —" ->
    "soon."); an ASCII hyphen counts only after a space ("Thanks - "), not in "555-". Linear: a long run
    of spaces in a customer's name is walked once."""
    i = len(out)
    while i > 0:
        ch = out[i - 1]
        if ch in " \t" or ch in _SEPARATORS or (ch == "-" and i >= 2 and out[i - 2] in " \t"):
            i -= 1
        else:
            break
    return out[:i]


def _ends_with_separator(out: str) -> bool:
    stripped = out.rstrip(" \t")
    return bool(stripped) and (stripped[-1] in _SEPARATORS or (stripped[-1] == "-" and stripped[-2:-1] in (" ", "\t")))


def _has_words(line: str) -> bool:
    """True when a line holds more than spaces and punctuation (an emoji counts as words)."""
    return any(not (ch.isspace() or unicodedata.category(ch).startswith("P")) for ch in line)


def render(body: str, ctx: RenderContext) -> str:
    """Substitute placeholders; raises SnippetError if the body has problems (module docstring: seams)."""
    parts, problems = _parse(body)
    if problems:
        raise SnippetError(problems[0].message)
    out = ""
    gap = False  # an empty placeholder was just dropped: tidy the seam with the next text
    dropped_on: set[int] = set()  # lines (0-based) where a value was dropped
    for part in parts:
        if isinstance(part, _Placeholder):
            value = getattr(ctx, part.name)
            if not value and part.fallback is not None:
                value = part.fallback
            if value:
                out += value
                gap = False
            else:
                gap = True
                dropped_on.add(out.count("\n"))
            continue
        text = part.text
        if gap:
            if out == "" or out.endswith("\n"):
                text = re.sub(r"^(?:[ \t]*[,;:][ \t]*|[ \t]+)", "", text, count=1)
            elif text[0] in _CLOSING:
                out = _trim_separators(out)
            elif text.lstrip(" \t")[:1] in (",", ";", ":") and _ends_with_separator(out):
                text = re.sub(r"^[ \t]*[,;:][ \t]*", "", text, count=1)  # "— {my_name}, Rye" -> "— Rye"
            elif out.endswith((" ", "\t")) and text[0] in " \t,;:":
                out = out.rstrip(" \t")
            gap = text == ""
        out += text
    if gap:
        out = _trim_separators(out)
    if dropped_on:
        lines = out.split("\n")
        out = "\n".join(line for n, line in enumerate(lines) if n not in dropped_on or _has_words(line))
    return out


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


# --- ranking ------------------------------------------------------------------------------------

_STOPWORDS = frozenset(
    """a about am an and any are as at be been but by can could did do does for from had has have
    hello hey hi how i if in is it its just me my no not of on or our so than that the their them
    then there they this to too us was we were what when which who why will with would you your""".split()
)
_MAX_FTS_TOKENS = 32
_WORD = re.compile(r"\w+")


def fts_query_from_text(text: str) -> str:
    """Customer text -> a safe FTS5 query: distinct word tokens, each quoted, joined by OR."""
    tokens: list[str] = []
    for token in _WORD.findall(text.casefold()):
        if len(token) < 2 or token in _STOPWORDS or token.isdigit() or token in tokens:
            continue
        tokens.append(token)
        if len(tokens) == _MAX_FTS_TOKENS:
            break
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in tokens)


def _relevance(store: Store, customer_text: str) -> dict[int, float]:
    """snippet id -> relevance of title+body to the customer's message, 0..1 (1 = best)."""
    query = fts_query_from_text(customer_text)
    if not query:
        return {}
    rows = store.db.execute_sql(
        "SELECT rowid, bm25(snippet_fts, 1.0, 0.0, 1.0) FROM snippet_fts WHERE snippet_fts MATCH ?",
        ("{title body} : (" + query + ")",),
    ).fetchall()
    # bm25 is negative, more negative = more relevant.
    scores = {int(rowid): -float(score) for rowid, score in rows if score < 0}
    best = max(scores.values(), default=0.0)
    return {rowid: score / best for rowid, score in scores.items()} if best > 0 else {}


def _fuzzy_term(term: str, text: str) -> float:
    """How well one typed term matches a text, 0..1."""
    text = text.casefold()
    if not text:
        return 0.0
    if text == term:
        return 1.0
    if text.startswith(term):
        return 0.9
    words = _WORD.findall(text)
    if any(w.startswith(term) for w in words):
        return 0.8
    if term in text:
        return 0.6
    # Subsequence: every typed character in order; tighter spans score higher.
    start = pos = -1
    for ch in term:
        pos = text.find(ch, pos + 1)
        if pos == -1:
            return 0.0
        if start == -1:
            start = pos
    span = pos - start + 1
    return 0.2 + 0.3 * (len(term) / span)


_FIELD_WEIGHTS = (("abbreviation", 1.0), ("title", 0.9), ("body", 0.6))


def _fuzzy(query: str, snippet: Snippet) -> float:
    terms = query.casefold().split()
    total = 0.0
    for term in terms:
        best = max(_fuzzy_term(term, getattr(snippet, f)) * w for f, w in _FIELD_WEIGHTS)
        if best == 0.0:
            return 0.0
        total += best
    return total / len(terms)


def rank_snippets(
    store: Store, query: str, customer_text: str, channel: str, limit: int = 50
) -> list[Snippet]:
    """The palette's list, best first (see the module docstring for the scoring)."""
    snippets = [s for s in Snippet.select() if not s.channels or not channel or channel in s.channels]
    query = query.strip()
    if not query and not customer_text.strip():
        snippets.sort(
            key=lambda s: (
                s.favorite_slot is None,
                s.favorite_slot or 0,
                -s.use_count,
                -(s.last_used_at.timestamp() if s.last_used_at else 0.0),
                s.title.casefold(),
                s.id,
            )
        )
        return snippets[:limit]
    relevance = _relevance(store, customer_text)
    max_use = max((s.use_count for s in snippets), default=0)
    used_times = [s.last_used_at.timestamp() for s in snippets if s.last_used_at]
    oldest, newest = (min(used_times), max(used_times)) if used_times else (0.0, 0.0)

    def usage(s: Snippet) -> float:
        count = math.log1p(s.use_count) / math.log1p(max_use) if max_use else 0.0
        if s.last_used_at is None:
            recent = 0.0
        elif newest == oldest:
            recent = 1.0
        else:
            recent = (s.last_used_at.timestamp() - oldest) / (newest - oldest)
        return 0.7 * count + 0.3 * recent

    scored: list[tuple[float, Snippet]] = []
    for s in snippets:
        score = 3.0 * relevance.get(s.id, 0.0) + usage(s) + (0.5 if s.favorite_slot else 0.0)
        if query:
            match = _fuzzy(query, s)
            if match == 0.0:
                continue
            score += 10.0 * match
        scored.append((score, s))
    scored.sort(key=lambda pair: (-pair[0], pair[1].title.casefold(), pair[1].id))
    return [s for _, s in scored[:limit]]


# --- personalisation ----------------------------------------------------------------------------


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _words(text: str, drop: set[str]) -> list[str]:
    return [w for w in _WORD.findall(text.casefold()) if w not in drop]


def classify_reply(sent_text: str, inserted_snippet_text: str | None, customer_names: list[str]) -> str:
    """"personal" | "snippet_edited" | "snippet_unchanged" for the reply metrics.

    Unchanged means equal apart from whitespace and case. An edit that keeps less than half of the
    snippet's words (customer names left out of the comparison, so adding a name alone never makes a
    reply "personal") counts as personal: the snippet was only a starting point.
    """
    if inserted_snippet_text is None:
        return "personal"
    if _normal(sent_text) == _normal(inserted_snippet_text):
        return "snippet_unchanged"
    names = {w for name in customer_names for w in _WORD.findall(name.casefold())}
    sent, snippet = _words(sent_text, names), _words(inserted_snippet_text, names)
    kept = sum(block.size for block in difflib.SequenceMatcher(None, snippet, sent).get_matching_blocks())
    if snippet and kept / max(len(snippet), len(sent)) < 0.5:
        return "personal"
    return "snippet_edited"


def contains_name(text: str, name: str) -> bool:
    name = name.strip()
    return bool(name) and re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text, re.IGNORECASE) is not None


def needs_name_nudge(sent_text: str, inserted_snippet_text: str | None, customer_first_name: str) -> bool:
    """True when the reply is a snippet sent unchanged that does not mention the customer's name
    (and we know the name to suggest): the composer then shows "Add their name?"."""
    if inserted_snippet_text is None or not customer_first_name.strip():
        return False
    if _normal(sent_text) != _normal(inserted_snippet_text):
        return False
    return not contains_name(sent_text, customer_first_name)


# --- import / export ----------------------------------------------------------------------------


def _export_rows() -> list[dict[str, Any]]:
    return [
        {
            "abbreviation": s.abbreviation,
            "title": s.title,
            "body": s.body,
            "tags": list(s.tags or []),
            "channels": list(s.channels or []),
            "favorite_slot": s.favorite_slot,
        }
        for s in Snippet.select().order_by(Snippet.abbreviation)
    ]


def export_json(store: Store) -> str:
    """The library as a JSON array, one object per snippet, sorted by abbreviation."""
    return json.dumps(_export_rows(), ensure_ascii=False, indent=2) + "\n"


def export_csv(store: Store) -> str:
    """The library as CSV with a header row; tags and channels are ';'-separated."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for row in _export_rows():
        writer.writerow(
            [
                row["abbreviation"],
                row["title"],
                row["body"],
                _LIST_SEPARATOR.join(row["tags"]),
                _LIST_SEPARATOR.join(row["channels"]),
                "" if row["favorite_slot"] is None else str(row["favorite_slot"]),
            ]
        )
    return out.getvalue()


class CheckedRows(list):
    """Rows as _validate_rows returned them (parse_json, parse_csv): import_snippets does not check
    them a second time, which would double the work of a 100,000-row import."""


def _validate_rows(rows: list[tuple[int | None, dict[str, Any]]]) -> CheckedRows:
    """Clean every row; raise SnippetImportError at the first bad field or duplicate."""
    cleaned = CheckedRows()
    abbreviations: dict[str, int | None] = {}
    slots: dict[int, int | None] = {}
    for line, raw in rows:
        for required in ("abbreviation", "title", "body"):
            if required not in raw:
                raise SnippetImportError(line, required, "this field is missing.")
        unknown = sorted(raw.keys() - _EDITABLE)
        if unknown:
            raise SnippetImportError(line, unknown[0], f"unknown field; expected {', '.join(FIELDS)}.")
        row: dict[str, Any] = {}
        for key in FIELDS:
            try:
                row[key] = _CLEANERS[key](raw.get(key))
            except SnippetError as exc:
                raise SnippetImportError(line, key, str(exc)) from None
        if row["abbreviation"] in abbreviations:
            raise SnippetImportError(
                line, "abbreviation", f"'{row['abbreviation']}' appears twice in the file."
            )
        abbreviations[row["abbreviation"]] = line
        slot = row["favorite_slot"]
        if slot is not None:
            if slot in slots:
                raise SnippetImportError(line, "favorite_slot", f"slot {slot} is given twice in the file.")
            slots[slot] = line
        cleaned.append(row)
    return cleaned


def parse_json(text: str) -> list[dict[str, Any]]:
    """Parse and validate an exported JSON file; errors name the line of the bad snippet."""
    text = text.lstrip("\ufeff")
    try:
        rows = _json_items(text)
    except json.JSONDecodeError as exc:
        raise SnippetImportError(exc.lineno, None, f"not valid JSON ({exc.msg}).") from None
    except RecursionError:
        raise SnippetImportError(None, None, "not a snippet list: the JSON is nested too deeply.") from None
    except ValueError:  # e.g. a number of more than 4,300 digits
        raise SnippetImportError(None, None, "not valid JSON (a value is too large).") from None
    for line, item in rows:
        for key in ("tags", "channels"):
            if key in item and not isinstance(item[key], list):
                raise SnippetImportError(line, key, "must be a list of text.")
    return _validate_rows(rows)


def _json_items(text: str) -> list[tuple[int | None, dict[str, Any]]]:
    """(line, object) for each item of a JSON list, read one item at a time so each error and each
    bad item has its line. Line numbers are counted on from the previous item: linear, not quadratic."""
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if not text.startswith("[", pos):
        if pos == len(text):
            raise json.JSONDecodeError("Expecting value", text, pos)
        raise SnippetImportError(1, None, "expected a JSON list of snippets.")
    pos = _skip_ws(text, pos + 1)
    rows: list[tuple[int | None, dict[str, Any]]] = []
    line, counted = 1, 0
    while not text.startswith("]", pos):
        line += text.count("\n", counted, pos)
        counted = pos
        item, pos = decoder.raw_decode(text, pos)
        if not isinstance(item, dict):
            raise SnippetImportError(line, None, "each snippet must be a JSON object.")
        rows.append((line, item))
        pos = _skip_ws(text, pos)
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
            if text.startswith("]", pos):
                raise json.JSONDecodeError("Illegal trailing comma before end of array", text, pos)
        elif not text.startswith("]", pos):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
    if _skip_ws(text, pos + 1) != len(text):
        raise json.JSONDecodeError("Extra data", text, _skip_ws(text, pos + 1))
    return rows


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(_LIST_SEPARATOR) if item.strip()]


def parse_csv(text: str) -> list[dict[str, Any]]:
    """Parse and validate a CSV file with a header row (abbreviation,title,body[,tags,channels,
    favorite_slot]); errors name the line where the bad record starts."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise SnippetImportError(reader.line_num, None, f"not valid CSV ({exc}).") from None
    if header is None:
        raise SnippetImportError(1, None, "the file is empty.")
    header = [h.strip().lower() for h in header]
    for name in header:
        if name not in _EDITABLE:
            raise SnippetImportError(1, name, f"unknown column; expected {', '.join(FIELDS)}.")
    for required in ("abbreviation", "title", "body"):
        if required not in header:
            raise SnippetImportError(1, required, "this column is missing from the header.")
    if len(set(header)) != len(header):
        raise SnippetImportError(1, None, "a column appears twice in the header.")
    rows: list[tuple[int | None, dict[str, Any]]] = []
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            record = next(reader, None)
        except csv.Error as exc:
            raise SnippetImportError(start, None, f"not valid CSV ({exc}).") from None
        if record is None:
            break
        last_line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raise SnippetImportError(
                start, None, f"expected {len(header)} values like the header, found {len(record)}."
            )
        raw: dict[str, Any] = dict(zip(header, record, strict=True))
        for key in ("tags", "channels"):
            if key in raw:
                raw[key] = _split_list(raw[key])
        rows.append((start, raw))
    return _validate_rows(rows)


_INSERT_ROWS = 500  # rows per INSERT statement: 9 columns each stays below SQLite's 32,766 variables


def import_snippets(store: Store, rows: list[dict[str, Any]], now: datetime) -> ImportResult:
    """Import parsed rows in one transaction: an existing abbreviation updates that snippet, others
    are created; favourite slots in the file win over slots held by other snippets. Raises
    SnippetImportError (row number as the line) and imports nothing if any row is invalid.

    The work is linear: one query reads the existing abbreviations, the slots the file gives are freed
    in one statement, and the rows are written by multi-row upserts (INSERT ... ON CONFLICT
    (abbreviation) DO UPDATE), which keep an updated snippet's id, creation time and usage."""
    cleaned = rows if isinstance(rows, CheckedRows) else _validate_rows(
        [(index + 1, row) for index, row in enumerate(rows)]
    )
    columns = [Snippet.abbreviation, Snippet.title, Snippet.body, Snippet.tags, Snippet.channels,
               Snippet.favorite_slot, Snippet.use_count, Snippet.created_at, Snippet.updated_at]
    stamp = Snippet.created_at.db_value(now)
    lists: dict[tuple[str, ...], str] = {}  # a library repeats a few tag/channel lists: encode each once

    def encoded(items: list[str]) -> str:
        key = tuple(items)
        if key not in lists:
            lists[key] = Snippet.tags.db_value(items)
        return lists[key]

    values = [(row["abbreviation"], row["title"], row["body"], encoded(row["tags"]), encoded(row["channels"]),
               row["favorite_slot"], 0, stamp, stamp) for row in cleaned]
    slots = [row["favorite_slot"] for row in cleaned if row["favorite_slot"] is not None]
    with store.write():
        existing = {abbr for (abbr,) in tuples(Snippet.select(Snippet.abbreviation))}
        updated = sum(1 for row in cleaned if row["abbreviation"] in existing)
        if slots:
            Snippet.update(favorite_slot=None).where(Snippet.favorite_slot.in_(slots)).execute()
        # Plain SQL: building 100,000 rows through the ORM's query builder costs more than writing them.
        names = [column.column_name for column in columns]
        row_sql = "(" + ",".join("?" * len(columns)) + ")"
        kept = ("abbreviation", "use_count", "created_at")  # an update keeps its usage and creation time
        update = ", ".join(f"{name} = excluded.{name}" for name in names if name not in kept)
        for start in range(0, len(values), _INSERT_ROWS):
            chunk = values[start : start + _INSERT_ROWS]
            store.db.execute_sql(
                f"INSERT INTO {Snippet._meta.table_name} ({', '.join(names)}) VALUES "
                + ",".join([row_sql] * len(chunk))
                + f" ON CONFLICT(abbreviation) DO UPDATE SET {update}",
                list(itertools.chain.from_iterable(chunk)),
            )
    return ImportResult(created=len(cleaned) - updated, updated=updated)


IMPORT_FORMATS = ("json", "csv")


def import_format(name: str, text: str) -> str:
    """"json" or "csv": from the file name's extension, else from the content (a JSON list starts
    with "[")."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in IMPORT_FORMATS:
        return suffix
    return "json" if text.lstrip("\ufeff \t\r\n").startswith("[") else "csv"


def parse_import(text: str, fmt: str) -> list[dict[str, Any]]:
    """Parse an import file's text as `fmt`; every problem is one SnippetImportError (one line)."""
    try:
        return parse_json(text) if fmt == "json" else parse_csv(text)
    except RecursionError:  # a value nested so deeply that even turning it into text fails
        raise SnippetImportError(None, None, "a value is nested too deeply.") from None


def read_import_file(path: str, fmt: str | None = None) -> list[dict[str, Any]]:
    """Read, detect the format of (unless `fmt` is given) and parse an import file: the window's and
    the CLI's one path."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        raise SnippetImportError(None, None, "the file is not UTF-8 text; save it as UTF-8 and try again.") from None
    except OSError as exc:
        raise SnippetImportError(None, None, f"cannot read the file ({exc.strerror or type(exc).__name__}).") from None
    return parse_import(text, fmt or import_format(path, text))


def import_failure(source: str, error: SnippetError) -> str:
    """The one line that says an import failed and changed nothing (CLI and window alike)."""
    return f"{source}: {error} Nothing was imported."


# Earlier versions of starter texts (issue 17: they sent "—," and fixed hours). A snippet whose body is
# still one of these was never edited by the owner: `load_starter_snippets` gives it the current text.
_EARLIER_STARTER_BODIES: dict[str, tuple[str, ...]] = {
    "badreview": (
        "Thank you for your honest feedback, {first_name|there}, and I'm sorry we let you down. I'd like to put "
        "this right — please get in touch with {business} directly so I can help.",
    ),
    "bye": ("Thanks again, {first_name|there}! Have a lovely day. — {my_name}, {business}",),
    "closed": (
        "Thanks for your message! We're closed right now and back {next_open}. I'll reply as soon as we open.",
    ),
    "hours": ("We're open Monday to Friday 9–5 and Saturday 10–2. Next time we're open: {next_open}.",),
    "review": (
        "Thank you for the lovely review, {first_name|there}! It means a lot to a small business like ours. "
        "Hope to see you again soon. — {my_name}",
    ),
}
STARTER_VERSION = 2  # raise it with every change to _EARLIER_STARTER_BODIES
STARTER_VERSION_SETTING = "snippets.starter_version"


def _starter_rows() -> list[dict[str, Any]]:
    text = resources.files("socialdesk").joinpath("resources", "snippets.json").read_text("utf-8")
    return parse_json(text)


def _upgrade_starter_snippets(store: Store, now: datetime) -> int:
    """Give unedited starter snippets of an older pack the current text; returns how many changed.
    Edited snippets (any other body) and deleted ones are left as they are."""
    if (store.get_setting(STARTER_VERSION_SETTING) or 1) >= STARTER_VERSION:
        return 0
    current = {row["abbreviation"]: row["body"] for row in _starter_rows()}
    upgraded = 0
    with store.write():
        for abbreviation, earlier in _EARLIER_STARTER_BODIES.items():
            if abbreviation in current:
                upgraded += Snippet.update(body=current[abbreviation], updated_at=now).where(
                    (Snippet.abbreviation == abbreviation) & Snippet.body.in_(earlier)
                ).execute()
        store.set_setting(STARTER_VERSION_SETTING, STARTER_VERSION)
    return upgraded


def load_starter_snippets(store: Store, now: datetime) -> int:
    """Load the starter pack on first run only; returns how many snippets were added. On later runs,
    starter snippets of an older pack that the owner never edited get the current text."""
    if store.get_setting(STARTER_SETTING):
        _upgrade_starter_snippets(store, now)
        return 0
    rows = _starter_rows()
    added = 0
    with store.write():
        store.set_setting(STARTER_VERSION_SETTING, STARTER_VERSION)
        for row in rows:
            if Snippet.get_or_none(Snippet.abbreviation == row["abbreviation"]) is not None:
                continue
            slot = row["favorite_slot"]
            if slot is not None and Snippet.get_or_none(Snippet.favorite_slot == slot) is not None:
                slot = None
            Snippet.create(**{**row, "favorite_slot": slot}, created_at=now, updated_at=now)
            added += 1
        store.set_setting(STARTER_SETTING, True)
    return added
