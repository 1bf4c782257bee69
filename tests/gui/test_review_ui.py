"""A review in the window: an edit that changes the stars says "was ★★★★★, now ★☆☆☆☆", and the composer
says the reply is public (the platform's traits.reply_notices). The account is a demo account
simulating Google, so what is shown comes from Google's traits, as for a real one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialdesk import paths
from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import ingest
from socialdesk.core.clock import ManualClock
from socialdesk.core.store import Account

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc)


def review(text: str, rating: int, **kw) -> InboundItem:
    return InboundItem("r1", "r1", "review", True, Author("review:r1", "", "Sam Doe"), text, T0 - timedelta(hours=2),
                       rating=rating, **kw)


@pytest.fixture
def window(qtbot):
    from socialdesk.app import build_core, wire_window

    core = build_core(paths.profile("default"), clock=ManualClock(T0))
    with core.store.write():
        account = Account.create(kind="demo", name="Maps", settings={"channel": "google"}, created_at=T0)
    ingest.ingest(core.store, account.id, [review("Lovely staff", 5)], None, core.policy(), T0 - timedelta(hours=1))
    ingest.ingest(core.store, account.id, [review("Nobody answered the phone", 1, edited_at=T0 - timedelta(minutes=5))],
                  None, core.policy(), T0)
    win, tasks, _relay = wire_window(core)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.start()
    qtbot.waitUntil(lambda: win.current_id is not None and "phone" in win.thread_view.plain_text(), timeout=5000)
    yield win
    tasks.wait(5000)
    core.engine.stop()
    core.store.close()


def test_a_changed_rating_is_said_and_the_reply_is_public(window):
    text = window.thread_view.plain_text()
    assert "Rating changed: was ★★★★★, now ★☆☆☆☆" in text
    assert "Lovely staff" in text[text.index("Nobody answered the phone"):]  # the earlier version below
    notice = window.composer.notice_line
    assert notice.isVisible() and notice.text().startswith("Your reply is public: it appears under the review on Google")
