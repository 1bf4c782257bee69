"""Bluesky rich text: find links, @mentions and #hashtags in what the owner sends and build the facets.

A Bluesky post is plain text plus `facets` (lexicon app.bsky.richtext.facet): each facet names a byte
range of the text and what it is (link uri, mention DID, tag). Without facets nothing in a post is
clickable, so every reply and status post we send carries them.

Decisions:
- Offsets are UTF-8 byte offsets (start inclusive, end exclusive), as the lexicon says. We match on the
  `str` (so Unicode-aware boundaries work) and convert character offsets to byte offsets at the end;
  lone surrogates are counted as their 3 "surrogatepass" bytes instead of crashing.
- Links: only http:// and https:// (a scheme is required; bare "shop.example" stays text, so we never
  guess). A link may follow anything but an ASCII letter or digit ("見てhttps://..." links, "xhttps://"
  does not). It runs to whitespace, `<`, `>`, `"` or CJK full-width punctuation (、。，！？「」 ...), then
  sentence punctuation is trimmed from its end (. , ; : ! ? quotes, …, *) and a closing ) ] } only
  when it has no opening partner inside the link, so "(see https://x.example/a_(b))." keeps "(b)". The
  host must have at least two dot-separated labels (as the docs' reference regex requires).
- Mentions follow the official app's rule: "@" at the start of the text, after whitespace or after
  "(", then a syntactically valid handle (atproto handle syntax, at most 253 characters). The handle is
  read possessively up to the first character that cannot be in a handle; if that character is a
  word character or "@" there is no mention (no partial "@alice.bsky" out of "@alice.bsky.social_x"),
  and trailing dots are sentence punctuation. So "mail me at a@b.com" has no mention (the "@" follows
  a letter). Handles are compared and resolved lower-cased (handles are case-insensitive).
- Tags follow the official app's TAG_REGEX: "#" or full-width "＃" at the start or after whitespace, at
  least one character that is not a digit, space or punctuation ("#1" and "#2024" are not tags),
  trailing punctuation trimmed; longer than 64 graphemes or 640 bytes → no tag (not truncated). The
  tag value is stored without the "#".
- Spans never overlap: links are taken first, and a mention or tag inside a link is dropped; between a
  mention and a tag (a tag runs to the next space, "#tag(@alice.bsky.social") the earlier one wins.
  Facets are returned in text order.
- `build_facets` takes the handle → DID lookup as a callable so this module stays pure (no HTTP): each
  distinct handle is looked up once per text, and a handle the lookup cannot resolve (None) simply
  gets no facet; the post still goes out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Literal
from urllib.parse import urlsplit

import regex

FACET = "app.bsky.richtext.facet"
TAG_MAX_GRAPHEMES = 64
TAG_MAX_BYTES = 640
HANDLE_MAX = 253

# CJK and full-width punctuation ends a link: Japanese and Chinese text often has no space after it.
_LINK_STOP = "\\s<>\"、。，．！？：；「」『』（）【】〈〉《》"
_LINK = re.compile(rf"(?<![A-Za-z0-9])https?://[^{_LINK_STOP}]+", re.IGNORECASE)
_LINK_TRAILING = ".,;:!?'\"*…’”»"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_HOST = re.compile(r"[\w-]+(?:\.[\w-]+)+")

_MENTION = re.compile(r"(?<![^\s(])@([a-zA-Z0-9.-]++)(?![\w@])")
_HANDLE = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")

# The official app's TAG_REGEX (packages/api/src/rich-text/util.ts): \ufe0f excludes the keycap emoji
# "#️⃣"; the other code points are zero-width characters that must not hide inside a tag.
_ZW = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_TAG = regex.compile(rf"(?<![^\s])[#＃]((?!\ufe0f)[^\s{_ZW}]*[^\d\s\p{{P}}{_ZW}]+[^\s{_ZW}]*)")
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
_GRAPHEME = regex.compile(r"\X")


Kind = Literal["link", "mention", "tag"]


@dataclass(frozen=True)
class Span:
    """One rich-text span: `start`/`end` are UTF-8 byte offsets of the text (end exclusive).

    `value` is the link uri, the mention's handle (lower-cased, without "@") or the tag (without "#").
    """

    kind: Kind
    start: int
    end: int
    value: str


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _trim_link(uri: str) -> str:
    while uri:
        last = uri[-1]
        if last in _LINK_TRAILING:
            uri = uri[:-1]
        elif last in _CLOSERS and uri.count(last) > uri.count(_CLOSERS[last]):
            uri = uri[:-1]
        else:
            break
    return uri


def _valid_link(uri: str) -> bool:
    try:
        host = urlsplit(uri).hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return host is not None and _HOST.fullmatch(host) is not None


def _char_spans(text: str) -> list[tuple[Kind, int, int, str]]:
    """(kind, start, end, value) with character offsets, links first, no overlaps, in text order."""
    taken: list[tuple[Kind, int, int, str]] = []
    for match in _LINK.finditer(text):
        uri = _trim_link(match.group())
        if _valid_link(uri):
            taken.append(("link", match.start(), match.start() + len(uri), uri))

    candidates: list[tuple[Kind, int, int, str]] = []
    for match in _MENTION.finditer(text):
        handle = match.group(1).rstrip(".")
        if len(handle) <= HANDLE_MAX and _HANDLE.fullmatch(handle):
            candidates.append(("mention", match.start(), match.start(1) + len(handle), handle.lower()))
    for tag_match in _TAG.finditer(text):  # a `regex` match, not an `re` one: a name of its own
        tag = _TRAILING_PUNCTUATION.sub("", tag_match.group(1))
        if tag and len(_GRAPHEME.findall(tag)) <= TAG_MAX_GRAPHEMES and _utf8_len(tag) <= TAG_MAX_BYTES:
            candidates.append(("tag", tag_match.start(), tag_match.start(1) + len(tag), tag))
    # A tag runs to the next space, so "#tag(@alice.bsky.social" is both: the earlier start wins.
    for candidate in sorted(candidates, key=lambda span: span[1]):
        if all(candidate[2] <= s or candidate[1] >= e for _, s, e, _ in taken):
            taken.append(candidate)
    return sorted(taken, key=lambda span: span[1])


def find_spans(text: str) -> list[Span]:
    """The links, mentions and tags of `text`, in text order, with UTF-8 byte offsets."""
    return [
        Span(kind, _utf8_len(text[:start]), _utf8_len(text[:end]), value)
        for kind, start, end, value in _char_spans(text)
    ]


def build_facets(text: str, resolve: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """The `facets` list for a post record; mentions whose handle `resolve` maps to None are left out.

    `resolve(handle)` gets a lower-cased handle without "@" and returns its DID or None; it is called at
    most once per distinct handle.
    """
    dids: dict[str, str | None] = {}
    facets: list[dict[str, Any]] = []
    for span in find_spans(text):
        if span.kind == "link":
            feature = {"$type": f"{FACET}#link", "uri": span.value}
        elif span.kind == "tag":
            feature = {"$type": f"{FACET}#tag", "tag": span.value}
        else:
            if span.value not in dids:
                dids[span.value] = resolve(span.value)
            did = dids[span.value]
            if not did:
                continue
            feature = {"$type": f"{FACET}#mention", "did": did}
        facets.append({"index": {"byteStart": span.start, "byteEnd": span.end}, "features": [feature]})
    return facets
