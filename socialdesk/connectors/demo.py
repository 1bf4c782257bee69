"""A simulated small business ("Juniper & Rye", a neighbourhood bakery) for the demo profile and tests.

Decisions:
- Deterministic: the opening scene and every later message follow from the channel, the time slot (or
  sequence number) and the cursor, so tests and screenshots are reproducible. Time comes from an
  injected `now` callable (the app's factory gives none: then the system clock).
- One demo account per channel (setting `channel`), for the platforms an owner can add today
  (CHANNELS, registry.kinds()): the account points at that platform's traits (`self.traits`, the same
  `traits.of(channel)` the queue and composer read), so it shows the platform's badge and name, is
  addressed the platform's way, produces only the kinds that platform produces, and refuses a reply
  over the platform's limit for that kind, as the real connector would. Platforms without a connector
  are not simulated: a demo must not promise what cannot be
  added; each comes back with its connector and traits. Google reviews carry their star rating
  (an optional ninth field of OPENING, Ask.rating in LIVE_TEMPLATES). The demo's own SPEC.traits (name "Demo", a
  5 s poll) apply to an account without a channel and to how the demo connector itself behaves.
- Live messages come at an average rate per account (setting `per_hour`; empty = the channel's usual
  rate in RATES, under three an hour across all nine channels), irregularly and busier at lunchtime
  (SHAPE, by the local hour in setting `timezone`, default UTC): time is cut into 15-minute slots of
  absolute time, and each slot's arrivals (a Poisson draw around its expected count, at random
  seconds) follow from (channel, slot) alone, so they do not depend on when or how often the app polls.
  A new demo also has FIRST_MINUTES: a message half a minute after the first fetch, and two after the
  first start's closing (CLOSES_AFTER), so a pop-up and the off-hours auto-reply show at once.
  Only arrivals after the first fetch are delivered (the opening scene stands for the time before),
  at most 5 per fetch, at most a day back after a long pause, and at most `max_live` in total.
- `interval_s` (tests and benchmarks only; not in the form) instead delivers exactly one message per
  `interval_s` seconds after the first fetch, for timelines a test can count. Demo profiles seeded
  before the rate existed stored interval_s 45; app.seed_demo removes it so they calm down.
- Repeat customers: each live message comes from a channel's small pool of people: the opening
  scene's private correspondents (who follow up in their own conversation) and regulars (LIVE_PEOPLE)
  who use two or three channels under the same name, so "Same person as…" pairs them. A person's
  messages alternate between a new question and a follow-up in the same conversation; an email
  question opens a new thread. The cursor counts each person's messages, so a restart continues.
- Cursor: {"epoch": ISO time of the first fetch, "seq": live messages delivered, "after": ISO time up
  to which arrivals were delivered (rate mode), "people": {author id: messages so far}}. A cursor
  without "after" (a profile from before the rate) continues from now, without a backlog.
- Replies are accepted and get an id derived from the idempotency key, so a retried send is recognisably
  the same message. `fail` (setting) makes every call raise a chosen typed error, for tests.
- Some texts are deliberately hostile (HTML, a script tag, emoji, right-to-left text) to show they are
  displayed literally.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, NamedTuple
from zoneinfo import ZoneInfo

from socialdesk.connectors.base import (
    AccountInfo,
    AuthError,
    Author,
    ConnectorSpec,
    InboundItem,
    OutboundResult,
    PermanentError,
    RateLimited,
    ReplyTarget,
    TransientError,
)
from socialdesk.connectors.traits import declare

# The platforms a demo account can simulate: those an owner can add today (registry.kinds()). Each
# simulates its platform's traits (name, badge, addressing, limits) and the kinds it really produces.
CHANNELS = ("email", "mastodon", "bluesky", "telegram", "instagram", "facebook", "x", "youtube", "google")
DEFAULT_CHANNEL = "telegram"

# (minutes ago, conversation key, kind, public, author id ("prefix:handle"), display name, text, subject
#  [, star rating for reviews])
OPENING: dict[str, list[tuple]] = {
    "email": [
        (190, "wedding", "email", False, "maria.lopez@example.org", "Maria Lopez",
         "Hello! We're getting married on 14 June and would love a three-tier lemon and elderflower cake "
         "for about 80 guests. Do you still have that date free, and could we come in for a tasting?",
         "Wedding cake for 14 June"),
        (75, "invoice", "email", False, "accounts@harbourcafe.example", "Harbour Café accounts",
         "Hi, could you resend invoice #2291 for last week's wholesale order? The PDF we got was empty.\n\n"
         "Thanks, Priya", "Invoice #2291"),
        (22, "allergy", "email", False, "tom.becker@example.net", "Tom Becker",
         "Do your seeded rye loaves contain sesame? My son is allergic and I can't find it on the website.",
         "Sesame in the seeded rye?"),
    ],
    "bluesky": [
        (48, "bs-post-croissant", "mention", True, "bs:sunnydays.bsky.social", "Sunny ☀️",
         "Are the pistachio croissants back this weekend?? 😍🥐", ""),
        (31, "bs-dm-lea", "dm", False, "bs:lea-m.bsky.social", "Léa Martin",
         "Hi! Can I pre-order 12 cinnamon buns for Saturday morning pick-up?", ""),
        (9, "bs-dm-lea", "dm", False, "bs:lea-m.bsky.social", "Léa Martin",
         "Sorry, make that 14 — two more friends are coming 🙈", ""),
        (4, "bs-dm-lea", "dm", False, "bs:lea-m.bsky.social", "Léa Martin", "Hello? Just checking you got this 🙂",
         ""),
    ],
    "mastodon": [
        (300, "md-wait", "mention", True, "md:pvance@mastodon.social", "Peter Vance",
         "Bread is lovely but I waited 25 minutes on Saturday and the staff seemed overwhelmed. Nobody "
         "apologised. @juniperandrye@bakers.social", ""),
        (140, "md-praise", "mention", True, "md:fatimaz@mastodon.social", "Fatima Zahra",
         "Best sourdough in town, and the team at @juniperandrye@bakers.social remembered my name after two "
         "visits. Thank you! 🥖", ""),
        (95, "md-thread-1", "mention", True, "md:robin@bakers.social", "Robin (they/them)",
         "@juniperandrye@bakers.social is your rye starter vegan? No honey or milk?", ""),
        (65, "md-queue", "mention", True, "md:dokafor@mastodon.social", "Daniel Okafor",
         "Queue out the door again this morning 😅 any chance of a pre-order option, "
         "@juniperandrye@bakers.social?", ""),
        (57, "md-dm-refund", "dm", False, "md:nadia@fosstodon.org", "Nadia Rahman",
         "I picked up a birthday cake yesterday and it was the wrong flavour (chocolate instead of carrot). "
         "My daughter was really upset. I'd like a refund please.", ""),
        (12, "md-html", "mention", True, "md:notbold@mastodon.social", "<b>Definitely Not Bold</b>",
         "Your site shows <script>alert('hi')</script> in the footer, and <img src=x onerror=alert(1)> — "
         "thought you'd want to know! @juniperandrye@bakers.social", ""),
    ],
    "instagram": [
        (220, "ig-comment-1", "comment", True, "ig:lucia.bakes", "lucia.bakes",
         "Is this the seeded rye? Do you ship to Leith or is it pick-up only? 😍", "Fresh seeded rye, out of the oven"),
        (160, "ig-comment-1", "comment", True, "ig:mo_eats_edi", "mo_eats_edi",
         "@lucia.bakes pick-up only I think, I asked last week", "Fresh seeded rye, out of the oven"),
        (70, "ig-dm-hana", "dm", False, "ig:hana.k", "hana.k",
         "Hi! Could you write \"Happy 30th Jo\" on a lemon drizzle for Saturday? 🎂", ""),
        (25, "ig-dm-hana", "dm", False, "ig:hana.k", "hana.k", "And can it be dairy free?", ""),
        (14, "ig-comment-2", "comment", True, "ig:thebrunchclub", "thebrunchclub",
         "Third time this month the cinnamon buns were gone by 10am. Please bake more!!", "Cinnamon bun Sunday"),
    ],
    "facebook": [
        (300, "fb-comment-1", "comment", True, "fb:7100001", "Moira Grant",
         "Ordered a birthday cake for today, nobody answers the phone. Is it ready???", "Our week in bakes"),
        (240, "fb-comment-1", "comment", True, "fb:7100001", "Moira Grant",
         "Hello?? The party starts at 4. Can ANYONE from the bakery answer please", "Our week in bakes"),
        (95, "fb-dm-dan", "dm", False, "fb:7100002", "Dan Whitfield",
         "Hi, do you do sourdough starters to take home? Happy to pay.", ""),
        (12, "fb-comment-2", "comment", True, "fb:7100003", "Eilidh Ross",
         "Are you open on Boxing Day this year?", "Christmas opening hours"),
    ],
    "x": [  # mentions (public, threaded by conversation) and DMs, as connectors/x.py produces them
        (220, "x-thread-croissant", "mention", True, "x:mika_eats", "Mika 🥐",
         "@juniperandrye you've sold out of almond croissants before 9 THREE Saturdays in a row. Bake more or "
         "open earlier, please", ""),
        (80, "x-thread-croissant", "mention", True, "x:mika_eats", "Mika 🥐",
         "@juniperandrye still waiting for an answer… 👀", ""),
        (44, "x-dm-omar", "dm", False, "x:omar_h", "Omar Haddad",
         "Hi! Do you cater office breakfasts? About 30 people, next Thursday.", ""),
        (7, "x-thread-rye", "mention", True, "x:lindqvist", "Sofia Lindqvist",
         "@juniperandrye is the dark rye 100% rye or mixed with wheat? Baking for a friend who can't have wheat", ""),
    ],
    "youtube": [  # comments under the bakery's how-to videos, one thread each (connectors/youtube.py)
        (400, "yt-thread-shaping", "comment", True, "yt:UCmarcobakes0000000000a", "@marcobakes",
         "My loaf always spreads flat at 3:40 like yours doesn't. Is it the flour or am I under-proofing?",
         "How we shape sourdough"),
        (180, "yt-thread-shaping", "comment", True, "yt:UCpriyakitchen00000000b", "@priyaskitchen",
         "Same problem here! Following for the answer 🙏", "How we shape sourdough"),
        (45, "yt-thread-croissant", "comment", True, "yt:UCjonasweber0000000000c", "@jonas.weber",
         "What butter do you laminate with? Mine keeps breaking through the dough.", "Croissants at 5 am"),
        (8, "yt-thread-visit", "comment", True, "yt:UCdesmondtravels000000d", "@desmondtravels",
         "Visiting Edinburgh next week — can we watch the bakers in the morning?", "A morning at Juniper & Rye"),
    ],
    "google": [  # Business Profile reviews, one conversation each (connectors/google_reviews.py)
        (600, "gr-review-1", "review", True, "review:gr-review-1", "Hamish Reid",
         "Ordered a wedding cake three weeks ahead, picked it up and the tiers were leaning. Nobody apologised.",
         "", 1),
        (260, "gr-review-2", "review", True, "review:gr-review-2", "Anonymous Google user",
         "Good bread, but the queue on Saturdays is a nightmare.", "", 3),
        (50, "gr-review-3", "review", True, "review:gr-review-3", "Aisha Bello",
         "The cardamom buns are the best thing in Edinburgh. Friendly team too!", "", 5),
        (15, "gr-review-4", "review", True, "review:gr-review-4", "Callum Fraser", "", "", 2),
    ],
    "telegram": [
        (130, "tg-chat-904", "dm", False, "tg:garyholt", "Gary Holt",
         "What time do you open on bank holiday Monday?", ""),
        (36, "tg-chat-901", "dm", False, "tg:yusuf_k", "Yusuf",
         "Salam! Do you deliver to Marine Parade? We'd like bread for a community iftar on Friday.", ""),
        (18, "tg-chat-903", "dm", False, "tg:ava_chen", "Ava Chen",
         "Hi! Do you do anything gluten free? Asking for my coeliac sister", ""),
        (6, "tg-chat-902", "dm", False, "tg:noa_levi", "נועה",
         "שלום! האם יש לכם חלות ביום שישי? Do you have challah on Fridays?", ""),
    ],
}

class Ask(NamedTuple):
    """A live customer's new question: its kind, whether it is public, the text, an email's subject and a
    review's star rating."""

    kind: str
    public: bool
    text: str
    subject: str = ""
    rating: int | None = None


LIVE_TEMPLATES: dict[str, list[Ask]] = {
    "email": [
        Ask("email", False, "Hi, do you have any availability for a small birthday cake next Friday?",
            "Birthday cake next Friday"),
        Ask("email", False, "Could I collect my order an hour later than planned? Something came up.",
            "Collecting my order later"),
        Ask("email", False, "We're hosting a team breakfast on the 12th — could you do 20 pastries, half of "
            "them vegan?", "Pastries for a team breakfast"),
        Ask("email", False, "Do you have gift vouchers? It's for my dad, he's in every Saturday.", "Gift vouchers"),
    ],
    "bluesky": [
        Ask("mention", True, "That sourdough looks unreal 🤤 what time do you sell out usually?"),
        Ask("dm", False, "Hey, do you take custom cookie orders for a baby shower?"),
        Ask("dm", False, "Is the rye bread suitable for freezing? Buying for the week."),
    ],
    "mastodon": [
        Ask("mention", True, "@juniperandrye@bakers.social what's the bread of the day?"),
        Ask("mention", True, "@juniperandrye@bakers.social are dogs allowed on the terrace?"),
        Ask("dm", False, "Hi, my order number is 4471 — is it ready to collect?"),
    ],
    "instagram": [
        Ask("comment", True, "Do you do gluten free versions of these? 🙏", "Fresh seeded rye, out of the oven"),
        Ask("comment", True, "Saw this on my feed, are you open tomorrow?", "Cinnamon bun Sunday"),
        Ask("dm", False, "Hi, can I order a birthday cake for next week?"),
    ],
    "facebook": [
        Ask("comment", True, "Is the Saturday market stall on this week?", "Our week in bakes"),
        Ask("dm", False, "Hello! Can I collect an order after closing time?"),
    ],
    "x": [
        Ask("mention", True, "@juniperandrye what's the bread of the day? 🍞"),
        Ask("dm", False, "Hey, can I still order a cake for tomorrow?"),
    ],
    "youtube": [
        Ask("comment", True, "What hydration is this dough? Looks like 75% to me", "How we shape sourdough"),
        Ask("comment", True, "Do you sell the banneton you use in the video?", "Croissants at 5 am"),
    ],
    "google": [
        Ask("review", True, "Lovely staff and great coffee.", rating=5),
        Ask("review", True, "Sold out of everything by 11. Disappointing.", rating=2),
        Ask("review", True, "", rating=4),
    ],
    "telegram": [
        Ask("dm", False, "Hi! Is the shop open on Sunday?"),
        Ask("dm", False, "Any vegan options today?"),
        Ask("dm", False, "Could you keep two sourdough loaves for me until 5?"),
    ],
}

# Regulars: one person, the same name on two or three channels (the owner may link them as one person).
LIVE_PEOPLE: dict[str, tuple[str, ...]] = {
    "Sam Taylor": ("telegram", "email"),
    "Chloé Dubois": ("instagram", "email"),
    "Kenji Sato": ("x", "mastodon"),
    "Olivia Brown": ("facebook", "email", "google"),
    "Mateo García": ("telegram", "instagram"),
    "Zainab Ali": ("bluesky", "email"),
    "Finn O'Brien": ("facebook", "youtube", "x"),
    "Ines Costa": ("instagram", "telegram", "google"),
    "Jonas Weber": ("youtube", "mastodon"),
    "Amara Nwosu": ("bluesky", "facebook", "google"),
}
LIVE_NAMES = list(LIVE_PEOPLE)

# What the opening scene's private correspondents write next, in their own conversation, in order.
OPENING_FOLLOW_UPS: dict[str, tuple[str, ...]] = {
    "wedding": ("Also — could my mum come to the tasting too? She insists 😄",),
    "invoice": ("Never mind the empty PDF, our accountant found a copy. Could you send #2290 as well?",),
    "allergy": ("Thanks for checking. Is the plain rye safe for him, then?",),
    "bs-dm-lea": ("Can I pay when I pick them up?",),
    "md-dm-refund": ("I'm in town on Saturday morning if it's easier to sort out in person.",),
    "ig-dm-hana": ("Pick-up at 10 on Saturday works for me!",),
    "fb-dm-dan": ("Also, do you sell the flour you use?",),
    "x-dm-omar": ("Forgot to say: four of them are vegan.",),
    "tg-chat-904": ("And on the Tuesday after?",),
    "tg-chat-901": ("About 40 people, if that helps.",),
    "tg-chat-903": ("She says thank you in advance 😊",),
    "tg-chat-902": ("תודה! Thank you!",),
}
# A follow-up anyone can send, once the tailored ones are used up.
FOLLOW_UPS = (
    "Hi again! Just checking you got my message 🙂",
    "Sorry, one more thing — can I pay by card when I collect?",
    "Thanks so much! See you then.",
)

# Live messages per hour per account, on average over a day (setting per_hour overrides): 2.4 an hour
# across all nine channels (about 3 at 10:00, 5 at lunchtime, under 1 at night), so the queue grows the
# way a small bakery's does.
RATES: dict[str, float] = {
    "email": 0.5, "telegram": 0.4, "instagram": 0.4, "facebook": 0.3, "mastodon": 0.25, "bluesky": 0.2,
    "x": 0.15, "youtube": 0.1, "google": 0.1,
}
# Relative traffic by local hour: quiet at night, a morning and an evening wave, busiest at lunchtime.
SHAPE = (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 0.9, 1.0, 1.0, 1.2, 1.6, 1.8, 1.6, 1.1, 1.0, 1.0, 1.1,
         1.2, 1.3, 1.2, 1.0, 0.7, 0.4)
SLOT = timedelta(minutes=15)
# The first minutes of a new demo, counted from its first fetch: someone writes while the owner looks
# around (a pop-up while open), the bakery closes CLOSES_AFTER the first start (app.demo_schedule), and
# two customers who write after that get the off-hours auto-reply, all within about ten minutes.
CLOSES_AFTER = timedelta(minutes=3)
FIRST_MINUTES: dict[str, tuple[timedelta, ...]] = {
    "telegram": (timedelta(seconds=30), timedelta(minutes=9)),
    "email": (timedelta(minutes=5, seconds=30),),
}
MAX_PER_FETCH = 5
CATCH_UP = timedelta(days=1)  # after a long pause, arrivals further back are not delivered

def _rate(raw: Any, channel: str) -> float:
    """Setting per_hour: messages per hour on average ("" = the channel's usual rate)."""
    if raw is None or str(raw).strip() == "":
        return RATES[channel]
    try:
        rate = float(str(raw).strip().replace(",", "."))
    except ValueError:
        rate = math.nan
    if not 0 <= rate <= 60:  # NaN fails too
        raise PermanentError(f"Messages per hour must be a number from 0 to 60, not {str(raw)[:20]!r}.")
    return rate


def _zone(raw: Any) -> ZoneInfo:
    """The time zone whose lunchtime is busiest (UTC when unset or unknown: a demo never fails on it)."""
    try:
        return ZoneInfo(str(raw)) if raw else ZoneInfo("UTC")
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo("UTC")


def _poisson(rng: random.Random, expected: float) -> int:
    """A Poisson-distributed count (Knuth's method: `expected` is well below 10 here)."""
    limit, count, product = math.exp(-expected), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _live_author(channel: str, name: str) -> str:
    """A regular's id on a channel: an email address, or "<channel>:live:<name>"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = ascii_name.replace("'", "").replace(" ", ".")
    return f"{slug}@example.com" if channel == "email" else f"{channel}:live:{slug}"


def _handle(author_id: str) -> str:
    return author_id if "@" in author_id and ":" not in author_id else author_id.split(":")[-1]


def _author(author_id: str, name: str) -> Author:
    """An email sender is its address; elsewhere the id is opaque, as the platforms' own ids are (a
    Mastodon account id is a number, its "user@instance" is the handle), so no "@" in it."""
    if ":" not in author_id:
        return Author(author_id, handle=author_id, display_name=name)
    return Author(author_id.replace("@", "."), handle=_handle(author_id), display_name=name)


# Each takes the connector's injected `now`, so a simulated retry time follows the test's clock.
FAILURES: dict[str, Callable[[datetime], Exception]] = {
    "transient": lambda now: TransientError("The demo server is having a moment (simulated)."),
    "auth": lambda now: AuthError("The demo account's login expired (simulated)."),
    "rate": lambda now: RateLimited("Too many requests (simulated).", now + timedelta(seconds=30)),
    "permanent": lambda now: PermanentError("The demo platform rejected this (simulated)."),
}


class DemoConnector:
    kind = "demo"

    def __init__(self, settings: dict, secrets=None, now: Callable[[], datetime] | None = None):
        self.channel = settings.get("channel", DEFAULT_CHANNEL)
        if self.channel not in CHANNELS:
            raise PermanentError(
                f"The demo does not simulate {self.channel!r}; choose one of: {', '.join(CHANNELS)}."
            )
        from socialdesk.connectors import registry, traits  # lazily: the registry imports this module

        self.traits = traits.of(self.channel)
        # A fixed interval only when a test or benchmark sets one; otherwise an irregular average rate.
        self.interval = max(1, int(settings["interval_s"])) if "interval_s" in settings else None
        self.per_hour = _rate(settings.get("per_hour"), self.channel)
        self.zone = _zone(settings.get("timezone"))
        self.max_live = int(settings.get("max_live", 200))
        self.fail = settings.get("fail", "")
        # For tests: no opening scene, and a fixed start of the live timeline.
        self.opening = str(settings.get("opening", "yes")).lower() not in ("no", "none", "false", "0")
        self.epoch = settings.get("epoch")
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.sent: list[tuple[str, str]] = []  # (idempotency key, text), for tests
        kinds = {k for _, _, k, *_ in OPENING[self.channel]} | {k for k, *_ in LIVE_TEMPLATES[self.channel]}
        posts = "post_status" in registry.spec(self.channel).capabilities  # as the simulated platform
        self.capabilities = frozenset(kinds | ({"post_status"} if posts else set()))

    def _window_end(self, kind: str, created_at: datetime) -> datetime | None:
        """Where the simulated platform limits how long a message may be answered (Meta's DMs: 24 h), the
        end of that window, as its connector stamps it, so the demo shows the countdown."""
        if self.traits.reply_window is None or kind != "dm":
            return None
        from socialdesk.connectors import meta  # the window is Meta's rule, written once there

        return meta.window_end(created_at)

    def _maybe_fail(self) -> None:
        if self.fail:
            raise FAILURES[self.fail](self.now())

    def fetch(self, cursor: dict | None) -> tuple[list[InboundItem], dict]:
        self._maybe_fail()
        now = self.now()
        if not cursor and not self.opening:
            start = datetime.fromisoformat(self.epoch) if self.epoch else now
            cursor = {"epoch": start.isoformat(), "seq": 0, "after": start.isoformat(), "people": {}}
        elif not cursor:
            return self._opening_scene(now), {"epoch": now.isoformat(), "seq": 0, "after": now.isoformat(),
                                              "people": {}}
        seq = int(cursor.get("seq", 0))
        if self.interval is None and not cursor.get("after"):  # a fixed-interval cursor: a new timeline
            seq = 0
        people = dict(cursor.get("people") or {})
        room = min(MAX_PER_FETCH, self.max_live - seq)
        items: list[InboundItem] = []
        if self.interval is not None:  # tests and benchmarks: one message per interval after the epoch
            epoch = datetime.fromisoformat(cursor["epoch"])
            due = min(self.max_live, int((now - epoch).total_seconds() // self.interval))
            while seq < due and len(items) < MAX_PER_FETCH:
                seq += 1
                items.append(self._live_item(str(seq), epoch + timedelta(seconds=seq * self.interval), people))
            return items, {**cursor, "seq": seq, "people": people}
        after = datetime.fromisoformat(cursor["after"]) if cursor.get("after") else now  # older cursor: from now
        after = max(after, now - CATCH_UP)
        epoch = datetime.fromisoformat(cursor["epoch"]) if cursor.get("epoch") else now
        for key, created_at in self._arrivals(after, now, epoch)[:max(0, room)]:
            seq += 1
            items.append(self._live_item(key, created_at, people))
            after = created_at
        if len(items) < room or room <= 0:
            after = max(after, now)  # everything up to now is delivered (or nothing more ever will be)
        return items, {"epoch": cursor.get("epoch", now.isoformat()), "seq": seq, "after": after.isoformat(),
                       "people": people}

    def _opening_scene(self, now: datetime) -> list[InboundItem]:
        items = []
        for minutes, conv, kind, public, author_id, name, text, subject, *rating in OPENING[self.channel]:
            items.append(
                InboundItem(
                    external_id=f"{self.channel}:open:{conv}:{minutes}",
                    conversation_external_id=f"{self.channel}:{conv}",
                    kind=kind,
                    public=public,
                    author=_author(author_id, name),
                    text=text,
                    created_at=now - timedelta(minutes=minutes),
                    permalink=f"https://demo.invalid/{self.channel}/{conv}",
                    subject=subject,
                    rating=rating[0] if rating else None,
                    reply_window_ends_at=self._window_end(kind, now - timedelta(minutes=minutes)),
                )
            )
        return items

    def _arrivals(self, after: datetime, until: datetime, epoch: datetime) -> list[tuple[str, datetime]]:
        """(key, time) of the live messages with after < time <= until, earliest first. Each 15-minute
        slot of absolute time draws its own arrivals from (channel, slot), so polling does not matter;
        a demo with an opening scene adds its FIRST_MINUTES after `epoch`, its first fetch."""
        out: list[tuple[str, datetime]] = []
        if self.opening and self.per_hour > 0:
            for i, offset in enumerate(FIRST_MINUTES.get(self.channel, ())):
                if after < epoch + offset <= until:
                    out.append((f"first.{i}", epoch + offset))
        slot_s = int(SLOT.total_seconds())
        first, last = int(after.timestamp()) // slot_s, int(until.timestamp()) // slot_s
        mean_shape = sum(SHAPE) / len(SHAPE)
        for slot in range(first, last + 1):
            start = datetime.fromtimestamp(slot * slot_s, timezone.utc)
            expected = self.per_hour * SLOT / timedelta(hours=1) * SHAPE[start.astimezone(self.zone).hour] / mean_shape
            rng = random.Random(f"{self.channel}:slot:{slot}")
            seconds = sorted(set(rng.randrange(slot_s) for _ in range(_poisson(rng, expected))))
            for i, second in enumerate(seconds):
                created_at = start + timedelta(seconds=second)
                if after < created_at <= until:
                    out.append((f"{slot}.{i}", created_at))
        return sorted(out, key=lambda arrival: arrival[1])

    def _pool(self) -> list[tuple[str, str, str]]:
        """Who writes on this channel: (author id, name, opening conversation key or "")."""
        pool = []
        if self.opening:  # the opening scene's private correspondents follow up in their conversations
            seen = set()
            for _m, conv, _kind, public, author_id, name, *_ in OPENING[self.channel]:
                if not public and author_id not in seen:
                    seen.add(author_id)
                    pool.append((author_id, name, conv))
        for name, channels in LIVE_PEOPLE.items():
            if self.channel in channels:
                pool.append((_live_author(self.channel, name), name, ""))
        return pool

    def _live_item(self, key: str, created_at: datetime, people: dict[str, int]) -> InboundItem:
        """Live message `key`: from whom and what follow from (channel, key) and how often that person has
        written here before (`people`, updated)."""
        rng = random.Random(f"{self.channel}:{key}")
        author_id, name, opening_conv = rng.choice(self._pool())
        count = int(people.get(author_id, 0))
        people[author_id] = count + 1
        rating: int | None = None
        if opening_conv:  # someone from the opening scene writes again in their conversation
            kind, subject = next((k, subj) for _m, c, k, _p, _a, _n, _t, subj, *_ in OPENING[self.channel]
                                 if c == opening_conv)
            tailored = OPENING_FOLLOW_UPS.get(opening_conv, ())
            text = tailored[count] if count < len(tailored) else FOLLOW_UPS[(count - len(tailored)) % len(FOLLOW_UPS)]
            public, conversation = False, f"{self.channel}:{opening_conv}"
            subject = f"Re: {subject}" if subject else ""
        else:  # a regular: a new question, then a follow-up to it, then the next question...
            asks = LIVE_TEMPLATES[self.channel]
            turn = count // 2 + random.Random(f"{self.channel}:{author_id}").randrange(len(asks))
            ask = asks[turn % len(asks)]
            follow_up = bool(count % 2) and not ask.public
            if count % 2 and ask.public:  # nothing to follow up in public: the next question instead
                ask = asks[(turn + 1) % len(asks)]
            kind, public, text, subject, rating = ask
            if follow_up:
                text = FOLLOW_UPS[(count // 2) % len(FOLLOW_UPS)]
                subject = f"Re: {subject}" if subject else ""
            if kind == "email":  # each question opens a thread; its follow-up answers in it
                conversation = f"{self.channel}:live:{_handle(author_id)}:{count // 2}"
            elif not public or kind == "review":  # one chat per person; a second review updates the first
                conversation = f"{self.channel}:live:{_handle(author_id)}:{kind}"
            else:  # a comment or mention of its own
                conversation = f"{self.channel}:live:{key}"
        return InboundItem(
            external_id=f"{self.channel}:live:{key}",
            conversation_external_id=conversation,
            kind=kind,
            public=public,
            author=_author(author_id, name),
            text=text,
            created_at=created_at,
            permalink=f"https://demo.invalid/{self.channel}/live/{key}",
            subject=subject,
            rating=rating,
            reply_window_ends_at=self._window_end(kind, created_at),
        )

    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult:
        self._maybe_fail()
        if not text.strip():
            raise PermanentError("Empty message.")
        rule = self.traits.limit_for(target.kind)
        if rule.limit is not None and rule.counter(text) > rule.limit:
            raise PermanentError(f"{self.traits.name} allows at most {rule.limit} {rule.unit} here (simulated).")
        self.sent.append((idempotency_key, text))
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        return OutboundResult(external_id=f"{self.channel}:out:{digest}")

    def post_status(self, text: str, *, idempotency_key: str) -> OutboundResult:
        if "post_status" not in self.capabilities:
            raise PermanentError("This demo channel cannot post statuses.")
        return self.reply(ReplyTarget("", "post", True), text, idempotency_key=idempotency_key)

    def check(self) -> AccountInfo:
        self._maybe_fail()
        return AccountInfo(display_name=f"Juniper & Rye ({self.channel}, demo)", handle="juniperandrye")

    def stream(self, cursor, on_items, stop_event: threading.Event) -> None:
        raise PermanentError("The demo connector does not stream; it is polled.")

    def close(self) -> None:
        pass


# The demo connector itself: polled often so the simulated customers arrive while someone watches, and
# never retried blindly after an interruption (it stands in for platforms that may not dedupe).
TRAITS = declare("demo", spoken_name="demo", poll_seconds=5)

SPEC = ConnectorSpec(
    kind="demo",
    title="Demo (simulated bakery)",
    capabilities=frozenset({"dm", "mention", "email", "post_status", "review"}),
    settings=(
        ("channel", f"Simulated channel ({', '.join(CHANNELS)})", DEFAULT_CHANNEL),
        ("per_hour", "Messages per hour, on average (empty: the channel's usual, under one)", ""),
    ),
    secret_label="",
    needs="Nothing: it simulates customers locally, for trying socialdesk out.",
    traits=TRAITS,
    factory=lambda settings, secrets: DemoConnector(settings, secrets),
)
