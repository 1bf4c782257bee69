"""A simulated small business ("Juniper & Rye", a neighbourhood bakery) for the demo profile and tests.

Decisions:
- Deterministic: the opening scene and every later message follow from (channel, sequence number), so
  tests and screenshots are reproducible. Time comes from an injected `now` callable.
- One demo account per channel (setting `channel`): the queue shows realistic icons and kinds for
  email, Instagram, Facebook, X, Google reviews, Telegram and Mastodon without any network.
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
from typing import Callable

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

CHANNELS = ("email", "instagram", "facebook", "x", "google_reviews", "telegram", "mastodon")

# (minutes ago, conversation key, kind, public, author id, display name, text, rating, subject)
OPENING: dict[str, list[tuple]] = {
    "email": [
        (190, "wedding", "email", False, "maria.lopez@example.org", "Maria Lopez",
         "Hello! We're getting married on 14 June and would love a three-tier lemon and elderflower cake "
         "for about 80 guests. Do you still have that date free, and could we come in for a tasting?",
         None, "Wedding cake for 14 June"),
        (75, "invoice", "email", False, "accounts@harbourcafe.example", "Harbour Café accounts",
         "Hi, could you resend invoice #2291 for last week's wholesale order? The PDF we got was empty.\n\n"
         "Thanks, Priya", None, "Invoice #2291"),
        (22, "allergy", "email", False, "tom.becker@example.net", "Tom Becker",
         "Do your seeded rye loaves contain sesame? My son is allergic and I can't find it on the website.",
         None, "Sesame in the seeded rye?"),
    ],
    "instagram": [
        (48, "ig-post-croissant", "comment", True, "ig:sunny.days", "Sunny ☀️",
         "Are the pistachio croissants back this weekend?? 😍🥐", None, ""),
        (31, "ig-dm-lea", "dm", False, "ig:lea.m", "Léa Martin",
         "Hi! Can I pre-order 12 cinnamon buns for Saturday morning pick-up?", None, ""),
        (9, "ig-dm-lea", "dm", False, "ig:lea.m", "Léa Martin",
         "Sorry, make that 14 — two more friends are coming 🙈", None, ""),
        (4, "ig-dm-lea", "dm", False, "ig:lea.m", "Léa Martin", "Hello? Just checking you got this 🙂",
         None, ""),
    ],
    "facebook": [
        (130, "fb-comment-hours", "comment", True, "fb:1001", "Gary Holt",
         "What time do you open on bank holiday Monday?", None, ""),
        (57, "fb-dm-refund", "dm", False, "fb:1002", "Nadia Rahman",
         "I picked up a birthday cake yesterday and it was the wrong flavour (chocolate instead of carrot). "
         "My daughter was really upset. I'd like a refund please.", None, ""),
        (12, "fb-comment-html", "comment", True, "fb:1003", "<b>Definitely Not Bold</b>",
         "Your site shows <script>alert('hi')</script> in the footer, and <img src=x onerror=alert(1)> "
         "— thought you'd want to know!", None, ""),
    ],
    "x": [
        (65, "x-mention-queue", "mention", True, "x:44521", "Daniel Okafor",
         "@juniperandrye queue out the door again this morning 😅 any chance of a pre-order option?",
         None, ""),
        (18, "x-mention-gluten", "mention", True, "x:88210", "Ava Chen",
         "@juniperandrye do you do anything gluten free? asking for my coeliac sister", None, ""),
    ],
    "google_reviews": [
        (300, "review-2star", "review", True, "g:rev-1", "Peter Vance",
         "Bread is lovely but I waited 25 minutes on Saturday and the staff seemed overwhelmed. "
         "Nobody apologised.", 2, ""),
        (140, "review-5star", "review", True, "g:rev-2", "Fatima Zahra",
         "Best sourdough in town, and the team remembered my name after two visits. Thank you!", 5, ""),
    ],
    "telegram": [
        (36, "tg-chat-901", "dm", False, "tg:901", "Yusuf",
         "Salam! Do you deliver to Marine Parade? We'd like bread for a community iftar on Friday.",
         None, ""),
        (6, "tg-chat-902", "dm", False, "tg:902", "נועה",
         "שלום! האם יש לכם חלות ביום שישי? Do you have challah on Fridays?", None, ""),
    ],
    "mastodon": [
        (95, "md-thread-1", "mention", True, "md:77", "Robin (they/them)",
         "@juniperandrye@bakers.social is your rye starter vegan? No honey or milk?", None, ""),
    ],
}

LIVE_TEMPLATES: dict[str, list[tuple[str, bool, str]]] = {
    # (kind, public, text)
    "email": [
        ("email", False, "Hi, do you have any availability for a small birthday cake next Friday?"),
        ("email", False, "Could I collect my order an hour later than planned? Something came up."),
    ],
    "instagram": [
        ("comment", True, "That sourdough looks unreal 🤤 what time do you sell out usually?"),
        ("dm", False, "Hey, do you take custom cookie orders for a baby shower?"),
    ],
    "facebook": [
        ("comment", True, "Are dogs allowed on the terrace?"),
        ("dm", False, "Hi, my order number is 4471 — is it ready to collect?"),
    ],
    "x": [("mention", True, "@juniperandrye any vegan options today?")],
    "google_reviews": [("review", True, "Friendly staff, great coffee, a bit pricey.")],
    "telegram": [("dm", False, "Hi! Is the shop open on Sunday?")],
    "mastodon": [("mention", True, "@juniperandrye@bakers.social what's the bread of the day?")],
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
        self.channel = settings.get("channel", "instagram")
        if self.channel not in CHANNELS:
            raise PermanentError(f"Unknown demo channel {self.channel!r}")
        self.interval = max(1, int(settings.get("interval_s", 20)))
        self.max_live = int(settings.get("max_live", 200))
        self.fail = settings.get("fail", "")
        # For tests: no opening scene, and a fixed start of the live timeline.
        self.opening = str(settings.get("opening", "yes")).lower() not in ("no", "none", "false", "0")
        self.epoch = settings.get("epoch")
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.sent: list[tuple[str, str]] = []  # (idempotency key, text), for tests
        kinds = {k for _, _, k, *_ in OPENING[self.channel]} | {k for k, _, _ in LIVE_TEMPLATES[self.channel]}
        self.capabilities = frozenset(kinds | ({"post_status"} if self.channel != "email" else set()))

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
            for minutes, conv, kind, public, author_id, name, text, rating, subject in OPENING[self.channel]:
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
                        rating=rating,
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
        kind, public, text = rng.choice(LIVE_TEMPLATES[self.channel])
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
            rating=rng.choice([3, 4, 5]) if kind == "review" else None,
        )

    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult:
        self._maybe_fail()
        if not text.strip():
            raise PermanentError("Empty message.")
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


SPEC = ConnectorSpec(
    kind="demo",
    title="Demo (simulated bakery)",
    capabilities=frozenset({"dm", "comment", "mention", "review", "email", "post_status"}),
    settings=(("channel", "Simulated channel", "instagram"), ("interval_s", "Seconds between messages", "20")),
    secret_label="",
    needs="Nothing: it simulates customers locally, for trying socialdesk out.",
    text_limit=None,
    factory=lambda settings, secrets: DemoConnector(settings, secrets),
)
