"""Fuzzy matching for the command palette: a query ranks titles by how well its words match them.

Owns `score(query, text)` and `rank(query, items)`. Qt-free and small on purpose: the palette searches a
few dozen titles, so clarity beats speed.

Decisions:
- Every word of the query must match the text (words are matched independently, in any order).
- A word matches, best first: as a substring at the start of a word of the text ("snoo" in "Snooze…"),
  as a substring elsewhere, as a subsequence ("snd" in "Send", "mkdn" in "Mark done") scored by how many of
  its letters start a word or follow the previous one, and finally with one typo (two from 7 letters on:
  a letter wrong, missing, extra, or two swapped; Damerau-Levenshtein) against a word of the text or that
  word's start ("sned" finds "Send", "todya" finds "Today"). Words under 4 letters get no typo allowance:
  "snd" would otherwise match "Undo" and "Snooze" too.
- Case and accents are ignored (casefold, NFKD without combining marks).
- `rank` keeps ties in the order given, so the palette's own order (menu order) breaks them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable, TypeVar

K = TypeVar("K")
_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _word_starts(text: str) -> set[int]:
    return {m.start() for m in _WORD.finditer(text)}


def _subsequence(word: str, text: str, starts: set[int]) -> float | None:
    """1..2 when `word`'s letters appear in order in `text`; higher when they start words or run together."""
    best: float | None = None
    # Two greedy walks: leftmost letters, and word starts first (the better of the two is kept).
    for prefer_starts in (False, True):
        pos, previous, bonus = 0, -2, 0
        for ch in word:
            at = text.find(ch, pos)
            if at < 0:
                bonus = -1
                break
            if prefer_starts:
                start = next((i for i in sorted(starts) if i >= pos and text[i] == ch), None)
                if start is not None and at != previous + 1:
                    at = start
            bonus += (at in starts) + (at == previous + 1)
            previous, pos = at, at + 1
        if bonus >= 0:
            # A tighter title (more of it matched) wins a tie: "mkdn" prefers "Mark done".
            value = 1.0 + bonus / (2 * len(word)) + 0.1 * len(word) / len(text)
            best = value if best is None else max(best, value)
    return best


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment): a swap of two neighbours is one edit."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _word_score(word: str, text: str, starts: set[int], loose: bool) -> float | None:
    at = text.find(word)
    if at >= 0:
        return (4.0 if at in starts else 3.0) + len(word) / max(len(text), 1)
    if not loose:
        return None
    found = _subsequence(word, text, starts)
    if found is not None:
        return found
    if len(word) < 4:
        return None
    allowed = 2 if len(word) >= 7 else 1
    for candidate in _WORD.findall(text):
        # The whole word, or its start (the owner is still typing), cut a letter longer or shorter.
        options = {candidate} | {candidate[: len(word) + d] for d in (-1, 0, 1) if len(word) + d > 0}
        if any(_edit_distance(word, option) <= allowed for option in options):
            return 0.5
    return None


def score(query: str, text: str, loose: bool = True) -> float | None:
    """How well `query` matches `text` (higher is better); None when some query word does not match.
    An empty query matches everything with 0. `loose=False`: substrings only (for long texts such as
    descriptions, where nearly any few letters appear in order somewhere)."""
    words = normalise(query).split()
    target = normalise(text)
    starts = _word_starts(target)
    total = 0.0
    for word in words:
        value = _word_score(word, target, starts, loose)
        if value is None:
            return None
        total += value
    return total


def rank(query: str, items: Iterable[tuple[K, str]], loose: bool = True) -> list[tuple[float, K]]:
    """(score, key) of the items whose text matches, best first; ties keep the given order."""
    scored = [(value, i, key) for i, (key, text) in enumerate(items)
              if (value := score(query, text, loose)) is not None]
    scored.sort(key=lambda entry: (-entry[0], entry[1]))
    return [(value, key) for value, _i, key in scored]
