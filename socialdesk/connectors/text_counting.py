"""How each platform counts the length of a text: the counting functions platform traits refer to.

Owns the pure counters (`graphemes`, `x_weighted_length`, `mastodon_length`, `utf16_units`, `utf8_bytes`,
`codepoints`). Which platform uses which counter, with which limit per conversation kind, is a platform
trait (connectors/traits.py, declared in each connector module); core/text_limits.py counts a reply and
words the result for the composer; connectors refuse an over-long send with the same counter.

Decisions:
- The counters live in the connectors layer, below core: connectors need them to refuse a send and to
  declare their traits, core reads them through the traits, and connectors never import core, so no
  import cycle is possible. The module imports nothing of socialdesk and nothing of Qt.
- Grapheme clusters come from the maintained `regex` package (`\\X`, Unicode extended grapheme
  clusters, updated with each Unicode release) rather than hand-written segmentation rules: an emoji
  ZWJ family, a skin-toned thumb, a flag or a letter with combining marks is one grapheme. Bluesky
  counts graphemes (300 a post, 1,000 a chat message).
- X follows twitter-text v3 weighting (NFC first; code points in U+0000–U+10FF, U+2000–U+200D,
  U+2010–U+201F, U+2032–U+2037 weigh 1, everything else — CJK included — weighs 2; an emoji sequence
  weighs 2 as a whole; every URL weighs 23). Our URL detection only sees `http(s)://…` and `www.…`,
  not bare domains, so the count is an approximation that can undercount those. (Kept for the X
  connector of issue 16.)
- Mastodon counts grapheme clusters (its StatusLengthValidator uses `grapheme_length`), every URL
  as 23 and a remote mention `@user@domain` as just `@user`.
- Telegram counts UTF-16 code units (so an emoji outside the BMP counts 2); Google review replies
  and Instagram messages count UTF-8 bytes; Facebook Messenger counts code points. These are taken
  from the platforms' API documentation and are approximate: the platform has the last word.
- Every counter is linear in the text: URL matches are greedy and trimmed afterwards, so a long run of
  dots cannot make the scan quadratic.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import regex

_URL_TRAILING = ".,;:!?)]"


@cache
def _patterns() -> tuple[regex.Pattern[str], regex.Pattern[str], regex.Pattern[str], regex.Pattern[str]]:
    """(grapheme, URL, remote mention, emoji), compiled on the first count: `regex` and its Unicode
    tables take ~15 ms to load, which the window's first paint (it reads traits) need not wait for."""
    import regex

    return (
        regex.compile(r"\X"),
        # A URL as the platforms shorten it; trailing sentence punctuation is trimmed in `_urls` (a greedy
        # match then a trim, so a long run of dots cannot make the scan quadratic).
        regex.compile(r"(?:https?://|www\.)[^\s<>\"']+", regex.IGNORECASE),
        regex.compile(r"(?<![\w@])(@\w+)@[\w.-]+\w"),
        regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}"),
    )


SHORT_URL_LENGTH = 23
# twitter-text v3 configuration: code point ranges that weigh 1 (everything else weighs 2).
_X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))


def graphemes(text: str) -> int:
    """Number of extended grapheme clusters: what a person sees as one character."""
    return len(_patterns()[0].findall(text))


def _x_weight_of_codepoint(char: str) -> int:
    cp = ord(char)
    return 1 if any(lo <= cp <= hi for lo, hi in _X_LIGHT_RANGES) else 2


def _urls(text: str) -> list[tuple[int, int]]:
    """(start, end) of each URL, without trailing sentence punctuation."""
    spans = []
    for match in _patterns()[1].finditer(text):
        url = match.group().rstrip(_URL_TRAILING)
        if "." in url or "://" in url:
            spans.append((match.start(), match.start() + len(url)))
    return spans


def _replace_urls(text: str, weight_plain: Callable[[str], int]) -> int:
    total = 0
    pos = 0
    for start, end in _urls(text):
        total += weight_plain(text[pos:start]) + SHORT_URL_LENGTH
        pos = end
    return total + weight_plain(text[pos:])


def x_weighted_length(text: str) -> int:
    """Approximate twitter-text v3 weighted length (see the module docstring)."""
    return _replace_urls(unicodedata.normalize("NFC", text), _x_weight_plain)


def _x_weight_plain(text: str) -> int:
    total = 0
    grapheme, _url, _mention, emoji = _patterns()
    for cluster in grapheme.findall(text):
        if emoji.search(cluster):
            total += 2
        else:
            total += sum(_x_weight_of_codepoint(c) for c in cluster)
    return total


def mastodon_length(text: str) -> int:
    """Mastodon's count: graphemes, with each URL as 23 and `@user@domain` as `@user`."""
    return _replace_urls(text, lambda plain: graphemes(_patterns()[2].sub(r"\1", plain)))


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def codepoints(text: str) -> int:
    return len(text)
