"""What a polling connector remembers, in its cursor, of the comments it delivered: enough to tell a new
comment from a known one, an edited one from an unchanged one, and a deleted one from one still there,
on platforms that report neither edits nor deletions (Graph: Facebook Page and Instagram comments).

Decisions:
- One entry per delivered comment: `id -> [container, text digest, created (epoch seconds)]`, where the
  container is what a walk reads whole (a post, a media). A CRC-32 of the text is enough to notice a
  change; the text itself is not kept (the cursor is stored on every poll).
- Comments are followed for `track` (7 days: the private-reply window; Instagram allows edits only
  briefly): a comment older than that when first met is history and is not delivered (a first poll
  does not fill the queue with a year of comments), and entries older than that are forgotten.
- A remembered comment met again with another digest is delivered again with `edited_at` = now (the
  platform gives no edit time; ingest keeps the old version). One missing from a complete walk of its
  container (started at the first page) is deleted. Neither is seen once a comment is no longer followed.
- At most `max_entries` entries (the newest are kept), so a viral post cannot grow the cursor without
  bound; a comment forgotten early is then only re-delivered as a duplicate, which ingest ignores.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

TRACK = timedelta(days=7)
MAX_ENTRIES = 20_000


def digest(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "replace"))


def _valid(entry: Any) -> bool:
    return (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str) and type(entry[1]) is int
            and type(entry[2]) is int)


class CommentMemory:
    def __init__(self, stored: Any, now: datetime, *, track: timedelta = TRACK, max_entries: int = MAX_ENTRIES):
        self.now = now
        self.horizon = now - track
        self.max_entries = max_entries
        self.entries: dict[str, list] = ({k: v for k, v in stored.items() if isinstance(k, str) and _valid(v)}
                                         if isinstance(stored, dict) else {})

    def follows(self, container: str) -> bool:
        """Whether any comment of `container` is still followed (worth re-reading for edits)."""
        return any(entry[0] == container for entry in self.entries.values())

    def take(self, comment_id: str, container: str, text: str, created: datetime) -> tuple[bool, datetime | None]:
        """(deliver it, its edited_at) for a comment met on a walk; remembers it when delivered."""
        text_digest = digest(text)
        known = self.entries.get(comment_id)
        if known is not None:
            if known[1] == text_digest:
                return False, None
            self.entries[comment_id] = [container, text_digest, known[2]]
            return True, max(self.now, created)
        if created < self.horizon:
            return False, None
        self.entries[comment_id] = [container, text_digest, int(created.timestamp())]
        return True, None

    def gone(self, container: str, present: set[str]) -> list[tuple[str, datetime]]:
        """(id, created) of the followed comments of `container` that a complete walk of it did not meet:
        deleted. They are forgotten."""
        missing = [(cid, entry[2]) for cid, entry in self.entries.items()
                   if entry[0] == container and cid not in present]
        for cid, _ in missing:
            del self.entries[cid]
        return [(cid, datetime.fromtimestamp(created, timezone.utc)) for cid, created in missing]

    def to_json(self) -> dict[str, list]:
        """The entries still followed (at most max_entries, the newest), for the cursor."""
        horizon = int(self.horizon.timestamp())
        kept = {k: v for k, v in self.entries.items() if v[2] >= horizon}
        if len(kept) > self.max_entries:
            kept = dict(sorted(kept.items(), key=lambda kv: kv[1][2])[-self.max_entries:])
        return kept
