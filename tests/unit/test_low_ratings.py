"""One- and two-star reviews: ranked above others with the same deadline, "due soon" earlier (a setting).
Generic: by rating, whatever the platform (core/targets.py, core/queue.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import ingest, queue, targets
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Account, Conversation
from socialdesk.core.targets import TargetConfig, TargetConfigError, TargetInput

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ALWAYS = Schedule.always_open("UTC")
POLICY = queue.Policy(TargetConfig.default(), ALWAYS)


def review(ext: str, rating: int, *, author: str, text: str = "ok", minutes: float = 0) -> InboundItem:
    return InboundItem(external_id=ext, conversation_external_id=ext, kind="review", public=True,
                       author=Author(author, display_name=author), text=text, rating=rating,
                       created_at=T0 + timedelta(minutes=minutes))


def test_a_low_rating_is_due_soon_earlier_by_the_owners_setting():
    def due_soon(rating, config=TargetConfig.default()):
        item = TargetInput("review", "google", "open", T0, None, None, rating=rating)
        return targets.evaluate(item, config, ALWAYS, T0)

    five, one, two, three = due_soon(5), due_soon(1), due_soon(2), due_soon(3)
    assert five.due_at == one.due_at == T0 + timedelta(hours=24)  # the same deadline
    assert five.due_soon_at == T0 + timedelta(hours=18)  # a quarter left
    assert one.due_soon_at == two.due_soon_at == T0 + timedelta(hours=12)  # half left
    assert three.due_soon_at == five.due_soon_at
    config = TargetConfig.from_json({**TargetConfig.default().to_json(), "low_rating_due_soon_fraction": 0.75})
    assert due_soon(1, config).due_soon_at == T0 + timedelta(hours=6)
    assert TargetConfig.from_json(config.to_json()).low_rating_due_soon_fraction == 0.75
    with pytest.raises(TargetConfigError, match="low ratings"):
        TargetConfig.from_json({"low_rating_due_soon_fraction": 1.5})


def test_low_ratings_rank_first_among_equal_deadlines_and_alert_earlier(store):
    with store.write():
        account = Account.create(kind="demo", name="Reviews", settings={"channel": "google"}, created_at=T0)
    # Same deadline (same minute, same 24 h target); the five-star one even has more unanswered.
    ingest.ingest(store, account.id, [review("r5", 5, author="a"), review("r1", 1, author="b"),
                                      review("r3", 3, author="c")], None, POLICY, T0)
    ids = {c.external_id: c.id for c in Conversation.select()}
    assert len({c.due_at for c in Conversation.select()}) == 1
    assert queue.list_ids("awaiting", T0)[0] == ids["r1"]  # by id alone the five-star one came first
    by_id = {c.id: c for c in Conversation.select()}
    assert by_id[ids["r1"]].due_soon_at < by_id[ids["r5"]].due_soon_at == by_id[ids["r3"]].due_soon_at
