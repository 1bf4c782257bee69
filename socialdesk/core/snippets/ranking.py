"""The palette's order: `rank_snippets` and the safe FTS5 query built from a customer's message.

Decisions:
- Ranking (`rank_snippets`) scores in Python over the whole library (a few hundred rows at most):
  a fuzzy match of the typed query (prefix, substring, then subsequence, so "rfd" finds "refund")
  dominates, then the FTS5 bm25 relevance of title+body to the customer's message, then use count and
  recency. Customer text is reduced to word tokens, each quoted, OR'ed: never a raw FTS query.
  Snippets limited to other channels are left out.
"""

from __future__ import annotations

import math

from socialdesk.core.snippets.text import _WORD
from socialdesk.core.store import Snippet, Store

# --- ranking ------------------------------------------------------------------------------------

_STOPWORDS = frozenset(
    """a about am an and any are as at be been but by can could did do does for from had has have
    hello hey hi how i if in is it its just me my no not of on or our so than that the their them
    then there they this to too us was we were what when which who why will with would you your""".split()
)
_MAX_FTS_TOKENS = 32
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
