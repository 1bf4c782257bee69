"""How long a reply may be: a text counted the way its platform counts it, for the conversation's kind.

Owns `count()` and the owner-facing `limit_message()`; the composer shows the counter and refuses to
send when `LimitCount.over` is true.

Decisions:
- The limits and counters are platform traits (connectors/traits.py, declared by each connector; the
  counting functions are in connectors/text_counting.py), read through `traits.of(channel)`. Nothing
  here lists platforms.
- A limit depends on the conversation kind: a Bluesky chat message allows 1,000 graphemes while a post
  (a reply to a mention) allows 300. Before, one number per platform refused a Bluesky DM above 300.
- An account's learned limit (a Mastodon instance's own `max_characters`) is passed as
  `limit_override` and replaces the platform's default for every kind.
- Platforms without a limit (email, the demo's own channel) are never over; an unknown channel raises
  ValueError, which the composer shows as a plain character count.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialdesk.connectors import traits


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


def count(text: str, channel: str, kind: str = "", limit_override: int | None = None) -> LimitCount:
    """Count `text` as `channel` counts it for a conversation of `kind` ("dm", "mention", ...; "" for
    the platform's general limit); `limit_override` replaces the default limit. Raises ValueError for
    an unknown channel."""
    if not traits.known(channel):
        raise ValueError(f"No length rule for channel {channel!r}; known: {', '.join(traits.platforms())}")
    platform = traits.of(channel)
    rule = platform.limit_for(kind)
    limit = limit_override if limit_override is not None else rule.limit
    used = rule.counter(text) if text else 0  # the empty composer of every opened conversation
    return LimitCount(used=used, limit=limit, unit=rule.unit, over=limit is not None and used > limit,
                      label=platform.name)


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
