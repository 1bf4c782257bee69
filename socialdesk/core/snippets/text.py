"""What a snippet's text becomes: the closed list of placeholders, checking a body while it is edited,
rendering it for one customer, and classifying a sent reply against the snippet it started from (reply
metrics, the composer's "Add their name?" nudge). Qt-free and free of the database.

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
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

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


class SnippetError(Exception):
    """A snippet cannot be saved or rendered; `str(e)` is meant for the owner."""


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


_WORD = re.compile(r"\w+")


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
