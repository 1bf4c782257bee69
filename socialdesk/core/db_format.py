"""The database file's format as code without the ORM needs it: schema version, owner mark, time encoding.

Decisions:
- These facts live here, not in core/store.py, so that a reader that must not wait for peewee (the
  window's first screen, core/queue_read.py) uses the very same ones; store.py imports them from here.
- Times are integer microseconds since the epoch, UTC: compact, fast to index, ordered numerically in
  SQL. Python sees timezone-aware UTC datetimes; a naive datetime is refused, never guessed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

SCHEMA_VERSION = 6
APPLICATION_ID = 0x534F4344  # "SOCD": PRAGMA application_id of every database socialdesk creates

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("naive datetime: socialdesk stores only timezone-aware times")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int, _epoch: datetime = _EPOCH, _delta: type[timedelta] = timedelta) -> datetime:
    # Positional timedelta and bound defaults: four times faster than timedelta(microseconds=...), and
    # ingest and the queue convert tens of thousands of these per burst.
    return _epoch + _delta(0, 0, value)


def optional_time(value: int | None) -> datetime | None:
    """A nullable time column's value as Python sees it."""
    return None if value is None else from_micros(value)
