"""A simulated small business ("Juniper & Rye", a neighbourhood bakery) for the demo profile and tests.

Decisions:
- Deterministic: the opening scene and every later message follow from (channel, sequence number), so
  tests and screenshots are reproducible. Time comes from an injected `now` callable.
- One demo account per channel (setting `channel`), for the platforms an owner can add today (email,
  Mastodon, Bluesky, Telegram): the account points at that platform's traits (`self.traits`, the same
  `traits.of(channel)` the queue and composer read), so it shows the platform's badge and name, is
  addressed the platform's way, produces only the kinds that platform produces, and refuses a reply
  over the platform's limit for that kind, as the real connector would. Platforms without a connector
  are not simulated: a demo must not promise what cannot be
  added; each comes back with its connector and traits. Google reviews carry their star rating
  (an optional ninth field of OPENING, a fourth of LIVE_TEMPLATES). The demo's own SPEC.traits (name "Demo", a
  5 s poll) apply to an account without a channel and to how the demo connector itself behaves.
- Cursor: {"epoch": ISO time of the first fetch, "seq": live messages already delivered}. The opening
  scene is delivered with the first fetch; afterwards one message per `interval_s` seconds (default 20)
  per account, at most `max_live` in total so a demo left running does not grow without bound.
- Replies are accepted and get an id derived from the idempotency key, so a retried send is recognisably
  the same message. `fail` (setting) makes every call raise a chosen typed error, for tests.
- Some texts are deliberately hostile (HTML, a script tag, emoji, right-to-left text) to show they are
  displayed literally.
"""

from __future__ import annotations

import hashlib
import random
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

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
from socialdesk.connectors.traits import Badge, PlatformTraits

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

LIVE_TEMPLATES: dict[str, list[tuple[Any, ...]]] = {
    # (kind, public, text[, star rating])
    "email": [
        ("email", False, "Hi, do you have any availability for a small birthday cake next Friday?"),
        ("email", False, "Could I collect my order an hour later than planned? Something came up."),
    ],
    "bluesky": [
        ("mention", True, "That sourdough looks unreal 🤤 what time do you sell out usually?"),
        ("dm", False, "Hey, do you take custom cookie orders for a baby shower?"),
    ],
    "mastodon": [
        ("mention", True, "@juniperandrye@bakers.social what's the bread of the day?"),
        ("mention", True, "@juniperandrye@bakers.social are dogs allowed on the terrace?"),
        ("dm", False, "Hi, my order number is 4471 — is it ready to collect?"),
    ],
    "instagram": [
        ("comment", True, "Do you do gluten free versions of these? 🙏"),
        ("comment", True, "Saw this on my feed, are you open tomorrow?"),
        ("dm", False, "Hi, can I order a birthday cake for next week?"),
    ],
    "facebook": [
        ("comment", True, "Is the Saturday market stall on this week?"),
        ("dm", False, "Hello! Can I collect an order after closing time?"),
    ],
    "x": [
        ("mention", True, "@juniperandrye what's the bread of the day? 🍞"),
        ("dm", False, "Hey, can I still order a cake for tomorrow?"),
    ],
    "youtube": [
        ("comment", True, "What hydration is this dough? Looks like 75% to me"),
        ("comment", True, "Do you sell the banneton you use in the video?"),
    ],
    "google": [  # (kind, public, text, rating)
        ("review", True, "Lovely staff and great coffee.", 5),
        ("review", True, "Sold out of everything by 11. Disappointing.", 2),
        ("review", True, "", 4),
    ],
    "telegram": [
        ("dm", False, "Hi! Is the shop open on Sunday?"),
        ("dm", False, "Any vegan options today?"),
    ],
}
LIVE_NAMES = ["Sam Taylor", "Chloé Dubois", "Kenji Sato", "Olivia Brown", "Mateo García", "Zainab Ali",
              "Finn O'Brien", "Ines Costa", "Jonas Weber", "Amara Nwosu"]

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
        self.interval = max(1, int(settings.get("interval_s", 20)))
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
        items: list[InboundItem] = []
        if not cursor and not self.opening:
            cursor = {"epoch": self.epoch or now.isoformat(), "seq": 0}
        elif not cursor:
            for minutes, conv, kind, public, author_id, name, text, subject, *rating in OPENING[self.channel]:
                items.append(
                    InboundItem(
                        external_id=f"{self.channel}:open:{conv}:{minutes}",
                        conversation_external_id=f"{self.channel}:{conv}",
                        kind=kind,
                        public=public,
                        author=Author(author_id, handle=author_id.split(":")[-1], display_name=name),
                        text=text,
                        created_at=now - timedelta(minutes=minutes),
                        permalink=f"https://demo.invalid/{self.channel}/{conv}",
                        subject=subject,
                        rating=rating[0] if rating else None,
                        reply_window_ends_at=self._window_end(kind, now - timedelta(minutes=minutes)),
                    )
                )
            return items, {"epoch": now.isoformat(), "seq": 0}
        epoch = datetime.fromisoformat(cursor["epoch"])
        seq = int(cursor.get("seq", 0))
        due = min(self.max_live, int((now - epoch).total_seconds() // self.interval))
        while seq < due and len(items) < 5:
            seq += 1
            items.append(self._live_item(seq, epoch + timedelta(seconds=seq * self.interval)))
        return items, {"epoch": cursor["epoch"], "seq": seq}

    def _live_item(self, seq: int, created_at: datetime) -> InboundItem:
        rng = random.Random(f"{self.channel}:{seq}")
        template = rng.choice(LIVE_TEMPLATES[self.channel])
        kind, public, text = template[:3]
        rating: int | None = template[3] if len(template) > 3 else None
        name = rng.choice(LIVE_NAMES)
        author_id = f"{self.channel}:live:{name.lower().replace(' ', '.')}"
        if kind == "email":
            author_id = name.lower().replace(" ", ".").replace("'", "") + "@example.com"
        return InboundItem(
            external_id=f"{self.channel}:live:{seq}",
            conversation_external_id=f"{self.channel}:live:{author_id}:{kind}",
            kind=kind,
            public=public,
            author=Author(author_id, handle=name.split()[0].lower(), display_name=name),
            text=text,
            created_at=created_at,
            permalink=f"https://demo.invalid/{self.channel}/live/{seq}",
            subject="Question" if kind == "email" else "",
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
TRAITS = PlatformTraits(name="Demo", badge=Badge("#6a994e", "D"), spoken_name="demo", poll_seconds=5)

SPEC = ConnectorSpec(
    kind="demo",
    title="Demo (simulated bakery)",
    capabilities=frozenset({"dm", "mention", "email", "post_status", "review"}),
    settings=(
        ("channel", f"Simulated channel ({', '.join(CHANNELS)})", DEFAULT_CHANNEL),
        ("interval_s", "Seconds between messages", "20"),
    ),
    secret_label="",
    needs="Nothing: it simulates customers locally, for trying socialdesk out.",
    traits=TRAITS,
    factory=lambda settings, secrets: DemoConnector(settings, secrets),
)
