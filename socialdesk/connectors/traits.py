"""Platform facts in one place: `PlatformTraits`, declared by each connector module on its ConnectorSpec,
and `of(name)`, the one lookup core and UI read them through.

What a trait answers: the platform's name and badge, how a person is addressed there, how long a reply
may be for each conversation kind and how the platform counts it, whether a send may be retried without
risk of a duplicate, how often to poll, whether replies go out as email, what still works once a
reply window closed, and what its calls cost where the platform bills or rations them (`usage`).
Adding a platform means giving its name and badge in `IDENTITIES` here and declaring its other traits
next to its connector (`TRAITS = declare("kind", ...)`, `SPEC = ConnectorSpec(..., traits=TRAITS)`);
nothing in core or UI lists platforms. `name_of` and `badge_of` answer from `IDENTITIES` alone, so
what the queue shows of a channel does not load its connector.

Decisions:
- The lookup key is a platform name, which is a connector kind ("email", "bluesky", ...). Core asks by
  *channel* (queue.channel_of: the account kind, or the platform a demo account simulates) for what
  the customer and the owner see: name, badge, addressing, limits, replies by email. It asks by
  *account kind*, the connector that does the work, for how that connector behaves on the wire: poll
  interval and whether its sends are idempotent. So a demo account simulating Telegram shows
  Telegram's badge and limits, but polls every 5 s and is never retried blindly like the demo it is.
- An unknown name (an account of a kind this version no longer has, a typo in a config file) gets
  `unknown(name)`: its own name, a grey badge, no limit, nothing idempotent. Callers that must refuse
  unknown names ask `known(name)`.
- Limits are per conversation kind (`connectors.base.KINDS`), with "*" for every kind not listed:
  Bluesky allows 300 graphemes in a post and 1,000 in a chat message. The counting functions live in
  connectors/text_counting.py, below core, so connectors can refuse an over-long send with the same
  counter and no module imports core from here.
- `usage` (a connectors/usage.UsagePlan) is None where calls are free. A platform that bills per call
  (X's pay-per-use API) or rations them (YouTube's daily quota) declares its prices there, so the
  usage meter (core/usage.py) can show the bill coming and pace polling to the owner's budget.
- The reply window (`reply_window`, a ReplyWindowRule: what still works once a conversation's window
  closed) is asked by channel like the other customer-facing facts (core/queue.reply_window_rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, Literal

from socialdesk.connectors.text_counting import codepoints

if TYPE_CHECKING:  # the platforms that bill declare a plan, and import usage themselves
    from socialdesk.connectors.usage import UsagePlan

AddressStyle = Literal["@handle", "plain"]


@dataclass(frozen=True)
class TextLimit:
    """How long a reply may be, in what unit, counted how (a function of connectors/text_counting.py)."""

    limit: int | None  # None: no limit
    unit: str  # "characters" | "graphemes" | "bytes", as the owner reads it
    counter: Callable[[str], int]


NO_LIMIT = TextLimit(None, "characters", codepoints)
# The settings key under which an account keeps the reply limit its own server told its check (a
# Mastodon instance's max_characters), beside the platform's default (core/accounts.text_limit).
LEARNED_TEXT_LIMIT = "text_limit"


def valid_text_limit(value: object) -> int | None:
    """`value` when it is a usable length limit (a positive int, not a bool), else None."""
    return value if type(value) is int and value > 0 else None


@dataclass(frozen=True)
class Badge:
    """The channel badge the UI paints (ui/icons.py): the platform's icon, `icon`.svg in
    socialdesk/resources/platforms (credited in resources/ICONS.md); without one, or while it cannot be
    read, a rounded square of `colour` with `label` on it."""

    colour: str  # "#rrggbb"
    label: str  # one or two characters
    icon: str = ""  # file name without ".svg"; "" = the letter badge


@dataclass(frozen=True)
class ReplyWindowRule:
    """What a platform allows once a conversation's reply window has closed.

    The connector stamps every inbound item with the end of the window that message opens
    (`InboundItem.reply_window_ends_at`); the conversation keeps the latest end. Until then Send works as
    usual and the deadline shown is the earlier of the response target and the window
    (core/conversation_clock.py). After it closes, Send stays possible only for `late_reply` more, as
    the platform's tagged late reply (`ReplyTarget.late`: Messenger's and Instagram's HUMAN_AGENT tag,
    up to 7 days after the person's last message, i.e. 6 days after the 24 h window); after that the
    owner is told `after_close`. One rule per platform: its traits' `reply_window`.
    """

    late_reply: timedelta = timedelta(0)  # how long after the window a tagged reply is still accepted
    late_reply_how: str = ""  # owner-readable: how that reply goes out, e.g. "tagged as a human agent's reply"
    after_close: str = "open the conversation in the platform's app"  # what still works once Send is off


@dataclass(frozen=True)
class ReplyMode:
    """Another way to answer a conversation than the ordinary reply, offered by the platform: Meta's
    private reply to a public comment ("take it private": one message in the person's inbox). The
    composer and `socialdesk reply --mode KEY` offer it for the conversation kinds in `kinds`; the
    choice reaches the connector as `ReplyTarget.mode` (core stores it with the outgoing message)."""

    key: str  # what the connector receives, e.g. "private"
    label: str  # owner-readable, e.g. "Reply privately (Messenger)"
    kinds: tuple[str, ...]  # the conversation kinds it applies to, e.g. ("comment",)
    help: str = ""  # one sentence: what happens, what the platform limits
    once_per_message: bool = False  # the platform takes it once per customer message (core refuses a second)


@dataclass(frozen=True)
class PlatformTraits:
    name: str  # the platform as the owner knows it: "Email", "Bluesky"
    badge: Badge
    address_style: AddressStyle = "plain"  # "@handle": people are addressed as @name there
    # (conversation kind, limit) pairs; "*" for every kind not listed. Empty: no limit anywhere.
    limits: tuple[tuple[str, TextLimit], ...] = ()
    idempotent_sends: bool = False  # the platform dedupes a retried send (Idempotency-Key): safe to retry
    poll_seconds: float = 60.0  # default interval between fetches (an account's `poll_seconds` wins)
    replies_by_email: bool = False  # replies are emails: RFC 3834 loop guards, one person per address
    spoken_name: str = ""  # how a customer names it in a sentence ("thanks for your email"); default: name
    usage: UsagePlan | None = None  # None: calls are free (connectors/usage.py)
    # The default poll interval while the business is closed (None: poll_seconds); core/usage.pace
    # may stretch either further for a budget, never beyond what off-hours auto-replies need.
    poll_seconds_closed: float | None = None
    # How long the platform accepts replies to a conversation, and what works after; None: no window.
    reply_window: ReplyWindowRule | None = None
    # Other ways to answer than the ordinary reply (a private reply to a comment); () where there are none.
    reply_modes: tuple[ReplyMode, ...] = ()
    # What the owner should know before sending, per conversation kind ("*": every kind): Google's review
    # replies are public and a new one replaces the last. The composer shows it above the text.
    reply_notices: tuple[tuple[str, str], ...] = ()

    def reply_notice(self, kind: str) -> str:
        """The note the composer shows for replies to a conversation of `kind`, or ""."""
        found = dict(self.reply_notices)
        return found.get(kind, found.get("*", ""))

    def reply_mode(self, key: str, kind: str) -> ReplyMode | None:
        """The reply mode `key` where it applies to conversations of `kind`, else None."""
        return next((m for m in self.reply_modes if m.key == key and kind in m.kinds), None)

    def limit_for(self, kind: str) -> TextLimit:
        """The limit for a conversation kind ("dm", "mention", ...; "post" for a status post)."""
        fallback = NO_LIMIT
        for key, limit in self.limits:
            if key == kind:
                return limit
            if key == "*":
                fallback = limit
        return fallback

    @property
    def customer_name(self) -> str:
        return self.spoken_name or self.name

    def address(self, handle: str) -> str:
        """A person's handle as written in a message here: "@sam" where people are @-addressed."""
        handle = handle.strip()
        if handle and self.address_style == "@handle" and not handle.startswith("@"):
            return "@" + handle
        return handle


# What the owner sees of each platform first: its name and badge. They are here, not beside the
# connectors, so the queue shows a channel without loading its connector and protocol libraries (the
# window's first paint, issue 17.15: loading the email connector alone took 50-80 ms); each connector's
# TRAITS takes them from here (`declare`). The keys are registry.MODULES' (tests/unit/test_traits.py).
IDENTITIES: dict[str, tuple[str, Badge]] = {
    "demo": ("Demo", Badge("#6a994e", "D")),
    "email": ("Email", Badge("#5b6b7f", "@", icon="email")),
    "mastodon": ("Mastodon", Badge("#6364ff", "M", icon="mastodon")),
    "bluesky": ("Bluesky", Badge("#1185fe", "B", icon="bluesky")),
    "telegram": ("Telegram", Badge("#229ed9", "T", icon="telegram")),
    "facebook": ("Facebook", Badge("#1877f2", "f", icon="facebook")),
    "instagram": ("Instagram", Badge("#d62976", "IG", icon="instagram")),
    "google": ("Google", Badge("#4285f4", "G", icon="google")),
    "youtube": ("YouTube", Badge("#ff0000", "YT", icon="youtube")),
    "x": ("X", Badge("#000000", "X", icon="x")),
}


def declare(platform: str, **facts: Any) -> PlatformTraits:
    """A connector's traits: the name and badge of `platform` from IDENTITIES, the other facts as given."""
    name, badge = IDENTITIES[platform]
    return PlatformTraits(name=name, badge=badge, **facts)


def name_of(platform: str) -> str:
    """`of(platform).name` without loading the platform's connector (what the queue and headers show)."""
    found = IDENTITIES.get(platform)
    return found[0] if found is not None else unknown(platform).name


def badge_of(platform: str) -> Badge:
    """`of(platform).badge` without loading the platform's connector (ui/icons.py paints it)."""
    found = IDENTITIES.get(platform)
    return found[1] if found is not None else unknown(platform).badge


def unknown(name: str) -> PlatformTraits:
    """Traits for a name no connector declares: shown as itself, no limit, nothing assumed."""
    initial = name[:1].upper() or "?"
    return PlatformTraits(name=name.replace("_", " ").title() or "?", badge=Badge("#777777", initial))


def known(name: str) -> bool:
    from socialdesk.connectors import registry  # lazily: the registry imports this module's users

    return name in registry.kinds()


def of(name: str) -> PlatformTraits:
    """The traits of platform `name` (a connector kind), or `unknown(name)`."""
    from socialdesk.connectors import registry

    if not known(name):
        return unknown(name)
    return registry.spec(name).traits


def platforms() -> tuple[str, ...]:
    """The names of the platforms socialdesk can connect to (the demo is not one)."""
    from socialdesk.connectors import registry

    return tuple(k for k in registry.kinds() if k != "demo")
