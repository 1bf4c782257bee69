"""The coverage report's rows that nothing keeps while socialdesk is closed (issue 17 polish): each says
what is its own (the panel's Details column repeated "no automatic reply while socialdesk is closed" on
every row, which its other columns already say)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import coverage, queue
from socialdesk.core.automation import AutomationConfig, save_config
from socialdesk.core.hours import Schedule, parse_week_spec
from socialdesk.core.ingest import ingest
from socialdesk.core.settings import Settings
from socialdesk.core.store import Account
from socialdesk.core.targets import TargetConfig

# Monday 1 Dec 2025, 12:00 in Berlin; open 09:00-17:00 on weekdays.
NOW = datetime(2025, 12, 1, 11, 0, tzinfo=timezone.utc)
SCHEDULE = Schedule(timezone="Europe/Berlin", week=parse_week_spec("mon-fri 09:00-17:00"))


def _wrote(store, account_id: int, who: str, at: datetime) -> None:
    item = InboundItem(f"m:{who}:{at.isoformat()}", f"c:{who}", "dm", False, Author(who, handle=who, display_name=who),
                       "hello", at)
    ingest(store, account_id, [item], None, queue.Policy(TargetConfig.default(), SCHEDULE), NOW)


def test_rows_nothing_keeps_say_what_is_their_own(store):
    with store.write():
        telegram = Account.create(kind="demo", name="TG", settings={"channel": "telegram"}, created_at=NOW).id
        bluesky = Account.create(kind="demo", name="Sky", settings={"channel": "bluesky"}, created_at=NOW).id
    settings = Settings(store)
    config = AutomationConfig().with_status_posts(bluesky, True, NOW - timedelta(days=1), opening="", away_start="",
                                                  away_end="")
    with store.write():
        save_config(settings, config)
    berlin_evening = datetime(2025, 11, 28, 19, 30, tzinfo=timezone.utc)  # Friday 20:30: closed
    _wrote(store, telegram, "ann", berlin_evening)
    _wrote(store, telegram, "bob", datetime(2025, 11, 29, 10, 0, tzinfo=timezone.utc))  # Saturday
    _wrote(store, telegram, "cy", datetime(2025, 11, 28, 10, 0, tzinfo=timezone.utc))  # Friday 11:00: open
    _wrote(store, telegram, "old", NOW - timedelta(days=9))  # before the last 7 days
    _wrote(store, bluesky, "dee", datetime(2025, 12, 1, 9, 0, tzinfo=timezone.utc))  # Monday 10:00: open

    report = coverage.report(coverage.make_context(store, settings, SCHEDULE, NOW))
    rows = {(account.name, p.what): p for account, promises in report.accounts for p in promises}
    assert all(p.generic and p.kept_by == "app" for p in rows.values())
    assert rows["TG", "auto_reply"].note == "Last 7 days: 2 messages in closed hours"
    assert rows["Sky", "auto_reply"].note == "Last 7 days: no message in closed hours"
    # Its next post is the closing one (the opening post has no text): today 17:00 in Berlin.
    assert rows["Sky", "status_posts"].note == "Next: closing post, Mon 1 Dec 17:00"
    assert len({p.note for p in rows.values()}) == len(rows)
    # The command line's words are unchanged.
    assert rows["TG", "auto_reply"].text == "no automatic reply while socialdesk is closed"
