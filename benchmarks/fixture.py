"""The benchmark profile: 20,000 conversations / 100,000 messages over 8 accounts, built through ingest().

Decisions:
- Built through the real `core.ingest.ingest()` in batches of 1,000 InboundItems per account, not bulk
  SQL: the result then has exactly the rows, denormalised queue columns, FTS entries and due times the
  app would have, and building doubles as a first ingest measurement (100,000 items take ~10 s on the
  reference machine, see README). Bulk SQL would be faster but could drift from what ingest writes.
- Deterministic: one seeded `random.Random`, so every run measures the same data. Times are relative to
  the `now` the builder is given (conversations started over the last 30 days).
- Realistic mix: 8 demo accounts on 7 channels (email twice), each channel with its own kinds (dm,
  comment, mention, review with ratings, email), public flags as the platform has them; ~5 messages per
  conversation alternating customer and business; a contact pool per account smaller than its
  conversations, so people come back (repeat contacts); about a third of conversations end answered by
  the business and a fifth are marked done afterwards.
- The built profile is cached under the system temp dir keyed by BUILDER_VERSION and the sizes; every
  run copies it into its own SOCIALDESK_HOME so measurements that write (ingest, GUI stall, leak check)
  never change the cache. The cache name carries the store's SCHEMA_VERSION, so a schema change builds a
  new profile (a stale one would make every measured start migrate and back up 100,000 messages first);
  bump BUILDER_VERSION when the generated data changes.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

BUILDER_VERSION = 6  # what the generator writes; the schema is keyed separately (cache_dir)
PROFILE_NAME = "bench"
BATCH = 1_000

# (account name, demo channel, [(kind, public, weight)])
ACCOUNTS: list[tuple[str, str, list[tuple[str, bool, int]]]] = [
    ("Email (bench)", "email", [("email", False, 1)]),
    ("Instagram (bench)", "instagram", [("dm", False, 3), ("comment", True, 2)]),
    ("Facebook (bench)", "facebook", [("dm", False, 2), ("comment", True, 2)]),
    ("X (bench)", "x", [("mention", True, 3), ("dm", False, 1)]),
    ("Google reviews (bench)", "google_reviews", [("review", True, 1)]),
    ("Telegram (bench)", "telegram", [("dm", False, 1)]),
    ("Mastodon (bench)", "mastodon", [("mention", True, 2), ("dm", False, 1)]),
    ("Shop email (bench)", "email", [("email", False, 1)]),
]

FIRST = ["Maria", "Tom", "Léa", "Gary", "Nadia", "Daniel", "Ava", "Kenji", "Olivia", "Mateo", "Zainab", "Finn",
         "Ines", "Jonas", "Amara", "Priya", "Chloé", "Sam", "Yusuf", "Hanna", "Omar", "Greta", "Luca", "Mei"]
LAST = ["Lopez", "Becker", "Martin", "Holt", "Rahman", "Okafor", "Chen", "Sato", "Brown", "García", "Ali",
        "O'Brien", "Costa", "Weber", "Nwosu", "Patel", "Dubois", "Taylor", "Demir", "Berg", "Haddad", "Rossi"]
ASKS = [
    "Do you still have {item} today?", "Can I pre-order {n} {item} for {day}?",
    "Is the {item} vegan or does it contain dairy?", "What time do you open on {day}?",
    "My order #{order} was missing the {item}, can you help?", "Could I collect order #{order} an hour later?",
    "Do you deliver {item} to the office on {day}?", "Loved the {item} yesterday, thank you!",
    "Any gluten free {item} this week?", "How much for {n} {item} for a party on {day}?",
]
ANSWERS = [
    "Hi {name}, yes we do! See you {day}.", "Thanks {name}, that's booked for {day}.",
    "Sorry about that {name}, we'll refund order #{order} today.", "Hi {name}, we open at 7:00 on {day}.",
    "Yes {name}, the {item} is dairy free.",
]
ITEMS = ["sourdough", "croissants", "cinnamon buns", "rye loaves", "lemon cake", "baguettes", "brownies",
         "pistachio croissants", "focaccia", "carrot cake", "macarons", "bagels"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class BuildInfo:
    home: Path  # the SOCIALDESK_HOME holding profiles/bench
    conversations: int
    messages: int
    accounts: int
    built_at: datetime  # the `now` the data is relative to
    build_seconds: float  # 0.0 when the profile came from the cache
    cached: bool


def _text(rng: random.Random, templates: list[str], name: str) -> str:
    return rng.choice(templates).format(
        item=rng.choice(ITEMS), n=rng.randint(2, 40), day=rng.choice(DAYS), order=rng.randint(1000, 99999),
        name=name,
    )


def message_counts(rng: random.Random, conversations: int, messages: int) -> list[int]:
    """Messages per conversation: 1..9 (mean about messages/conversations), summing exactly to `messages`."""
    mean = messages / conversations
    counts = [max(1, min(9, round(rng.gauss(mean, 2)))) for _ in range(conversations)]
    diff = messages - sum(counts)
    while diff:
        i = rng.randrange(conversations)
        if diff > 0 and counts[i] < 12:
            counts[i] += 1
            diff -= 1
        elif diff < 0 and counts[i] > 1:
            counts[i] -= 1
            diff += 1
    return counts


def generate(conversations: int, messages: int, now: datetime, seed: int = 20_000):
    """Yield (account index, [InboundItem]) for every account: the whole fixture as connector items."""
    from socialdesk.connectors.base import Author, InboundItem

    rng = random.Random(seed)
    counts = message_counts(rng, conversations, messages)
    per_account: list[list] = [[] for _ in ACCOUNTS]
    for conv_no, count in enumerate(counts):
        acc = conv_no % len(ACCOUNTS)
        _name, channel, kinds = ACCOUNTS[acc]
        kind, public = rng.choices([(k, p) for k, p, _w in kinds], weights=[w for *_x, w in kinds])[0]
        # ~1 contact per 2.5 conversations of an account: repeat contacts are common.
        person = rng.randrange(max(1, conversations // len(ACCOUNTS) * 2 // 5))
        first, last = FIRST[person % len(FIRST)], LAST[(person // len(FIRST)) % len(LAST)]
        display = f"{first} {last}"
        author_id = f"{channel}:p{person}" if channel != "email" else f"p{person}.{last.lower()}@example.org"
        author = Author(author_id, handle=f"{first.lower()}{person}", display_name=display)
        answered = rng.random() < 0.35  # the business had the last word
        start = now - timedelta(minutes=rng.randint(10, 30 * 24 * 60))
        at = start
        conv_ext = f"{channel}:c{conv_no}"
        for m in range(count):
            outbound = (count - 1 - m) % 2 == 1 if not answered else (count - 1 - m) % 2 == 0
            if m == 0:
                outbound = False  # the customer always starts
            at = min(now, at + timedelta(minutes=rng.randint(1, 600)))
            per_account[acc].append(
                InboundItem(
                    external_id=f"{conv_ext}:m{m}",
                    conversation_external_id=conv_ext,
                    kind=kind,
                    public=public,
                    author=author if not outbound else Author(f"{channel}:self", handle="juniperandrye"),
                    text=_text(rng, ANSWERS if outbound else ASKS, first),
                    created_at=at,
                    permalink=f"https://bench.invalid/{conv_ext}",
                    subject=f"Order question {conv_no}" if kind == "email" else "",
                    rating=rng.randint(1, 5) if kind == "review" and not outbound else None,
                    outbound=outbound,
                )
            )
    return per_account


def new_items(count: int, now: datetime, *, seed: int = 7, existing_conversations: int = 20_000):
    """`count` items not in the fixture, per account: half start conversations, half join existing ones."""
    from socialdesk.connectors.base import Author, InboundItem

    rng = random.Random(seed)
    per_account: list[list] = [[] for _ in ACCOUNTS]
    for n in range(count):
        acc = n % len(ACCOUNTS)
        _name, channel, kinds = ACCOUNTS[acc]
        kind, public = rng.choices([(k, p) for k, p, _w in kinds], weights=[w for *_x, w in kinds])[0]
        if n % 2:
            conv_no = rng.randrange(existing_conversations // len(ACCOUNTS)) * len(ACCOUNTS) + acc
        else:
            conv_no = existing_conversations + n
        person = rng.randrange(3_000)
        first = FIRST[person % len(FIRST)]
        author_id = f"{channel}:p{person}" if channel != "email" else f"p{person}.new@example.org"
        per_account[acc].append(
            InboundItem(
                external_id=f"{channel}:new{seed}:{n}",
                conversation_external_id=f"{channel}:c{conv_no}",
                kind=kind,
                public=public,
                author=Author(author_id, handle=f"{first.lower()}{person}", display_name=f"{first} Newcomer"),
                text=_text(rng, ASKS, first),
                created_at=now - timedelta(seconds=count - n),
                subject="New order question" if kind == "email" else "",
                rating=rng.randint(1, 5) if kind == "review" else None,
            )
        )
    return per_account


def account_settings(channel: str) -> dict:
    # max_live high and a short interval so the leak check's compressed hour keeps messages coming.
    return {"channel": channel, "interval_s": 20, "max_live": 1_000_000}


def build(home: Path, conversations: int = 20_000, messages: int = 100_000, now: datetime | None = None) -> BuildInfo:
    """Build the profile under `home` (a fresh SOCIALDESK_HOME) in this process."""
    from socialdesk import paths
    from socialdesk.core import ingest, queue
    from socialdesk.core.settings import Settings
    from socialdesk.core.store import Account, Conversation, Store

    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    os.environ["SOCIALDESK_HOME"] = str(home)
    profile = paths.profile(PROFILE_NAME).ensure()
    started = time.perf_counter()
    store = Store.open(profile.database, profile.backups)
    try:
        policy = queue.Policy.load(Settings(store))
        with store.write():
            account_ids = [
                Account.create(kind="demo", name=name, settings=account_settings(channel), created_at=now).id
                for name, channel, _kinds in ACCOUNTS
            ]
        for acc, items in enumerate(generate(conversations, messages, now)):
            items.sort(key=lambda i: i.created_at)
            for start in range(0, len(items), BATCH):
                ingest.ingest(store, account_ids[acc], items[start : start + BATCH], None, policy, now)
        # A fifth of the conversations were closed by the owner (deterministic pick by id).
        with store.write():
            store.db.execute_sql(
                "UPDATE conversation SET status = 'done', resolved_at = last_message_at, awaiting_since = NULL,"
                " unanswered_count = 0, due_at = NULL, due_soon_at = NULL, target_minutes = NULL WHERE id % 5 = 0"
            )
        # Its due times follow today's rule, as a profile in use does (else every start recomputes them).
        from socialdesk.core import targets
        from socialdesk.core.settings import TARGET_RULE_KEY

        Settings(store).set(TARGET_RULE_KEY, targets.RULE_VERSION)
        store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        total_conv = Conversation.select().count()
        total_msg = store.db.execute_sql("SELECT count(*) FROM message").fetchone()[0]
    finally:
        store.close()
    return BuildInfo(home, total_conv, total_msg, len(ACCOUNTS), now, time.perf_counter() - started, False)


def cache_dir(conversations: int, messages: int) -> Path:
    from socialdesk.core.store import SCHEMA_VERSION

    name = f"socialdesk-bench-v{BUILDER_VERSION}-s{SCHEMA_VERSION}-{conversations}c-{messages}m"
    return Path(tempfile.gettempdir()) / name


def prepared_home(dest: Path, conversations: int = 20_000, messages: int = 100_000) -> BuildInfo:
    """A private copy of the cached profile in `dest` (building the cache first if needed).

    The build runs in a child process: Store.open binds a process-wide database proxy, and the caller
    may want to open its own copy afterwards.
    """
    cache = cache_dir(conversations, messages)
    marker = cache / "built.txt"
    build_seconds, cached = 0.0, True
    if not marker.exists():
        import subprocess
        import sys

        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.fixture", str(cache), str(conversations), str(messages)],
            check=True, capture_output=True, text=True,
        ).stdout
        marker.write_text(out)
        cached = False
    built_at_s, build_s, conv_n, msg_n = marker.read_text().split()
    if not cached:
        build_seconds = float(build_s)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(cache, dest, ignore=shutil.ignore_patterns("built.txt", "*.log", "*.lock"))
    built_at = datetime.fromtimestamp(float(built_at_s), timezone.utc)
    return BuildInfo(dest, int(conv_n), int(msg_n), len(ACCOUNTS), built_at, build_seconds, cached)


def _main(argv: list[str]) -> None:
    home, conversations, messages = Path(argv[0]), int(argv[1]), int(argv[2])
    info = build(home, conversations, messages)
    print(info.built_at.timestamp(), f"{info.build_seconds:.3f}", info.conversations, info.messages)


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
