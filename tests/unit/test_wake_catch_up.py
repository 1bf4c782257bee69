"""Waking up, the automation side (issue 18 item 4): after the laptop slept, a message that came in a
closed period that has ended gets no "we're closed" reply (setting catch_up, default "still_closed"),
one from the period still going on does, and every status post of the night is logged as skipped, also
beyond the tick's 24 h look-back. Driven through the real engine (fetch, ingest, automation, outbox)."""

from __future__ import annotations

import pytest

from socialdesk.core import automation
from socialdesk.core.automation import AutomationConfig, AutomationConfigError
from socialdesk.core.wake import Slept
from tests.unit.test_automation import World, berlin


@pytest.fixture
def world(store) -> World:
    w = World(store, berlin(2026, 3, 9, 18, 0))  # Monday evening; Mon-Fri 09:00-17:00 (Berlin)
    w.account("tg", "telegram")
    return w


def _catch_up(world: World, mode: str) -> None:
    config = automation.load_config(world.settings)
    config.catch_up = mode
    automation.save_config(world.settings, config)


def test_a_message_from_a_closed_period_that_ended_gets_no_reply_by_default(world):
    world.write("tg", "tg:maria", "Do you deliver?", created_at=berlin(2026, 3, 9, 18, 30))
    world.clock.set(berlin(2026, 3, 10, 17, 30))  # the laptop slept through Tuesday's opening hours
    world.engine.run_once()
    assert world.sent("tg") == []
    assert any("came in a closed period that has ended" in s for s in world.skips())


def test_closed_now_answers_it_with_the_current_periods_text(world):
    _catch_up(world, "closed_now")
    world.write("tg", "tg:maria", "Do you deliver?", created_at=berlin(2026, 3, 9, 18, 30))
    world.clock.set(berlin(2026, 3, 10, 17, 30))
    world.engine.run_once()
    assert len(world.sent("tg")) == 1 and "at 9:00 tomorrow" in world.sent("tg")[0][1]


def test_a_message_of_the_period_still_going_on_is_answered(world):
    world.clock.set(berlin(2026, 3, 13, 17, 30))  # Friday evening
    world.write("tg", "tg:maria", "Open on Saturday?", created_at=berlin(2026, 3, 14, 10, 0))
    world.clock.set(berlin(2026, 3, 14, 20, 0))  # the lid opened on Saturday evening: still closed since Friday
    world.engine.run_once()
    assert len(world.sent("tg")) == 1 and "Monday" in world.sent("tg")[0][1]


def test_a_message_that_came_while_open_and_is_found_closed_is_answered_as_before(world):
    world.clock.set(berlin(2026, 3, 10, 16, 55))
    world.write("tg", "tg:maria", "Still there?", created_at=berlin(2026, 3, 10, 16, 55))
    world.clock.set(berlin(2026, 3, 10, 17, 10))
    world.engine.run_once()
    assert len(world.sent("tg")) == 1


def test_the_setting_is_validated_and_kept():
    with pytest.raises(AutomationConfigError, match="late messages"):
        AutomationConfig(catch_up="always")
    config = AutomationConfig.from_json({**AutomationConfig.default().to_json(), "catch_up": "closed_now"})
    assert config.catch_up == "closed_now" and AutomationConfig.default().catch_up == "still_closed"


def test_waking_after_a_weekend_logs_every_status_post_it_did_not_make(world):
    world.account("masto", "mastodon")
    world.clock.set(berlin(2026, 3, 13, 16, 0))  # Friday 16:00, the lid closes
    world.enable_posts("masto")
    world.engine.run_once()
    world.clock.set(berlin(2026, 3, 16, 10, 0))  # Monday 10:00
    world.engine.woke(Slept(berlin(2026, 3, 13, 16, 0), world.clock.now()))
    world.engine.run_once()
    assert world.posts("masto") == []  # never late
    skipped = [s for s in world.skips() if "post for" in s]
    assert any("closing post for Fri 17:00 skipped" in s for s in skipped), skipped  # 65 h ago: the wake-up's
    assert any("opening post for Mon 09:00 skipped" in s for s in skipped), skipped
    assert len(skipped) == 2
