"""Per-channel length limits: how long a reply may be, counted the way each platform counts it.

Owns `LIMITS` (account kind -> `TextLimit`), `count()` and the owner-facing `limit_message()`.
The composer shows the counter and refuses to send when `LimitCount.over` is true.

Decisions:
- Grapheme clusters come from the maintained `regex` package (`\\X`, Unicode extended grapheme
  clusters, updated with each Unicode release) rather than hand-written segmentation rules: an emoji
  ZWJ family, a skin-toned thumb, a flag or a letter with combining marks is one grapheme.
- X follows twitter-text v3 weighting (NFC first; code points in U+0000–U+10FF, U+2000–U+200D,
  U+2010–U+201F, U+2032–U+2037 weigh 1, everything else — CJK included — weighs 2; an emoji sequence
  weighs 2 as a whole; every URL weighs 23). Our URL detection only sees `http(s)://…` and `www.…`,
  not bare domains, so the count is an approximation that can undercount those.
- Mastodon counts grapheme clusters (its StatusLengthValidator uses `grapheme_length`), every URL
  as 23 and a remote mention `@user@domain` as just `@user`. The instance's own limit, when the
  connector learned it, is passed as `limit_override`.
- Telegram counts UTF-16 code units (so an emoji outside the BMP counts 2); Google review replies
  and Instagram messages count UTF-8 bytes; Facebook Messenger counts code points. These are taken
  from the platforms' API documentation and are approximate: the platform has the last word.
- Email and the demo channel have no limit (`limit is None`, never over).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Callable

import regex

_GRAPHEME = regex.compile(r"\X")
# A URL as the platforms shorten it; trailing sentence punctuation is trimmed in `_urls` (a greedy
# match then a trim, so a long run of dots cannot make the scan quadratic).
_URL = regex.compile(r"(?:https?://|www\.)[^\s<>\"']+", regex.IGNORECASE)
_URL_TRAILING = ".,;:!?)]"
_REMOTE_MENTION = regex.compile(r"(?<![\w@])(@\w+)@[\w.-]+\w")
_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}")
_SHORT_URL_LENGTH = 23
# twitter-text v3 configuration: code point ranges that weigh 1 (everything else weighs 2).
_X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))


@dataclass(frozen=True)
class TextLimit:
    label: str  # the platform as the owner knows it, for messages
    limit: int | None
    unit: str  # "characters" | "graphemes" | "bytes"
    counter: Callable[[str], int]


@dataclass(frozen=True)
class LimitCount:
    used: int
    limit: int | None
    unit: str
    over: bool
    label: str = ""

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else self.limit - self.used


def graphemes(text: str) -> int:
    """Number of extended grapheme clusters: what a person sees as one character."""
    return len(_GRAPHEME.findall(text))


def _x_weight_of_codepoint(char: str) -> int:
    cp = ord(char)
    return 1 if any(lo <= cp <= hi for lo, hi in _X_LIGHT_RANGES) else 2


def _urls(text: str) -> list[tuple[int, int]]:
    """(start, end) of each URL, without trailing sentence punctuation."""
    spans = []
    for match in _URL.finditer(text):
        url = match.group().rstrip(_URL_TRAILING)
        if "." in url or "://" in url:
            spans.append((match.start(), match.start() + len(url)))
    return spans


def _replace_urls(text: str, weight_plain: Callable[[str], int]) -> int:
    total = 0
    pos = 0
    for start, end in _urls(text):
        total += weight_plain(text[pos:start]) + _SHORT_URL_LENGTH
        pos = end
    return total + weight_plain(text[pos:])


def x_weighted_length(text: str) -> int:
    """Approximate twitter-text v3 weighted length (see the module docstring)."""
    return _replace_urls(unicodedata.normalize("NFC", text), _x_weight_plain)


def _x_weight_plain(text: str) -> int:
    total = 0
    for cluster in _GRAPHEME.findall(text):
        if _EMOJI.search(cluster):
            total += 2
        else:
            total += sum(_x_weight_of_codepoint(c) for c in cluster)
    return total


def mastodon_length(text: str) -> int:
    """Mastodon's count: graphemes, with each URL as 23 and `@user@domain` as `@user`."""
    return _replace_urls(text, lambda plain: graphemes(_REMOTE_MENTION.sub(r"\1", plain)))


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def codepoints(text: str) -> int:
    return len(text)


LIMITS: dict[str, TextLimit] = {
    "x": TextLimit("X", 280, "characters", x_weighted_length),
    "bluesky": TextLimit("Bluesky", 300, "graphemes", graphemes),
    # Telegram's 4096 is in UTF-16 code units after entity parsing; we send plain text.
    "telegram": TextLimit("Telegram", 4096, "characters", utf16_units),
    "mastodon": TextLimit("Mastodon", 500, "characters", mastodon_length),
    # Google documents review replies as at most 4096 bytes (approximate: UTF-8 assumed).
    "google_reviews": TextLimit("Google review", 4096, "bytes", utf8_bytes),
    # Messenger Send API: 2000 characters (approximate: counted as code points).
    "facebook": TextLimit("Facebook", 2000, "characters", codepoints),
    # Instagram messaging: under 1000 bytes of UTF-8 (approximate).
    "instagram": TextLimit("Instagram", 1000, "bytes", utf8_bytes),
    "email": TextLimit("Email", None, "characters", codepoints),
    "demo": TextLimit("Demo", None, "characters", codepoints),
}


def count(text: str, account_kind: str, limit_override: int | None = None) -> LimitCount:
    """Count `text` as `account_kind` counts it; `limit_override` replaces the default limit
    (a Mastodon instance's own `max_characters`). Raises ValueError for an unknown kind."""
    try:
        spec = LIMITS[account_kind]
    except KeyError:
        raise ValueError(
            f"No length rule for account kind {account_kind!r}; known: {', '.join(sorted(LIMITS))}"
        ) from None
    limit = limit_override if limit_override is not None else spec.limit
    used = spec.counter(text)
    return LimitCount(
        used=used, limit=limit, unit=spec.unit, over=limit is not None and used > limit, label=spec.label
    )


def limit_message(result: LimitCount) -> str:
    """The counter text, e.g. "312 / 300 graphemes — 12 over the Bluesky limit"."""
    unit = result.unit
    if result.limit is None:
        return f"{result.used} {unit}"
    text = f"{result.used} / {result.limit} {unit}"
    if result.over:
        where = f"the {result.label} limit" if result.label else "the limit"
        return f"{text} — {result.used - result.limit} over {where}"
    return text
