"""The thread shows an edited message with its earlier version and a deleted one, greyed but kept; the
composer shows the conversation's reply window, warns in its last hour and, once it closed on a
platform that takes no late reply, says what still works and turns Send off (issue 13 item 4).

Time is a ManualClock, moved by hand; the window's 30-second tick is called directly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialdesk import paths
from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import ingest
from socialdesk.core.clock import ManualClock
from socialdesk.core.store import Account
from socialdesk.ui import theme

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc)


def message(ext: str, text: str, minutes: int, **kw) -> InboundItem:
    return InboundItem(ext, "chat-1", "dm", False, Author("u1", "lea", "Léa Martin"), text,
                       T0 + timedelta(minutes=minutes), **kw)


@pytest.fixture
def clock():
    return ManualClock(T0)


@pytest.fixture
def window(qtbot, clock):
    from socialdesk.app import build_core, wire_window

    core = build_core(paths.profile("default"), clock=clock)
    with core.store.write():
        account = Account.create(kind="demo", name="Shop", settings={"channel": "telegram"}, created_at=T0)
    window_ends = T0 + timedelta(hours=2)
    ingest.ingest(core.store, account.id, [
        message("m1", "Can I order <b>12</b> buns?", -60),
        message("m2", "You are all idiots", -20, reply_window_ends_at=window_ends),
    ], None, core.policy(), T0 - timedelta(minutes=15))
    ingest.ingest(core.store, account.id, [
        message("m1", "Can I order 14 buns for Saturday?", -60, edited_at=T0 - timedelta(minutes=30)),
        message("m2", "", -20, deleted=True, edited_at=T0 - timedelta(minutes=10)),
    ], None, core.policy(), T0)
    win, tasks, _relay = wire_window(core)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.start()
    qtbot.waitUntil(lambda: win.current_id is not None and "14 buns" in win.thread_view.plain_text(), timeout=5000)
    yield win
    tasks.wait(5000)
    core.engine.stop()
    core.store.close()


def test_thread_shows_the_edit_with_its_earlier_version_and_keeps_the_deleted_text(window):
    text = window.thread_view.plain_text()
    edited = text.index("Can I order 14 buns for Saturday?")
    assert "edited" in text[:edited]
    # The earlier version follows, as plain text (its markup is shown, never applied).
    assert "Before, " in text[edited:] and "Can I order <b>12</b> buns?" in text[edited:]
    assert "deleted by the customer" in text and "You are all idiots" in text
    # greyed (ui/theme.MUTED, readable: 4.5:1 on the bubble)
    assert f'color:{theme.MUTED.light};">You are all idiots</span>' in window.thread_view.toHtml()


def test_composer_counts_down_the_reply_window_then_says_what_still_works(qtbot, window, clock):
    composer = window.composer
    composer.edit.setPlainText("Yes, 14 buns on Saturday!")
    line = composer.window_line
    assert line.isVisible() and line.text() == "Reply window closes in 2 h 00."
    assert composer.send_button.isEnabled()

    clock.advance(minutes=90)
    window.on_minute_tick()
    assert line.text().startswith("Reply window closes in 30 min. Answer now")
    assert composer.send_button.isEnabled()

    clock.advance(minutes=45)
    window.on_minute_tick()
    assert line.text() == ("The reply window closed 15 min ago: this platform no longer takes a reply here. "
                           "To answer, open the conversation in the platform's app.")
    assert not composer.send_button.isEnabled() and not composer.send_done_button.isEnabled()
    assert composer.why_not() == line.text()


def test_the_reply_window_line_and_an_over_limit_counter_follow_a_switch_to_dark(qtbot, window):
    """Both were coloured once from the widget's own palette (pinned light by that very style sheet), so
    after the system switched to dark they stayed in their light colours, e.g. #474747 on #353535."""
    from PySide6.QtWidgets import QApplication

    from tests.gui.test_dark_mode import dark_palette

    composer = window.composer
    composer.edit.setPlainText("x" * 20_000)  # over every limit
    line, counter = composer.window_line, composer.counter
    assert line.isVisible() and theme.MUTED.light in line.styleSheet()
    assert theme.ERROR.light in counter.styleSheet()
    app = QApplication.instance()
    light = app.palette()
    try:
        app.setPalette(dark_palette())
        qtbot.waitUntil(lambda: theme.MUTED.dark in line.styleSheet(), timeout=2000)
        assert theme.ERROR.dark in counter.styleSheet()
        composer.edit.setPlainText("Yes")  # within the limit again: back to the palette's own colour
        assert counter.styleSheet() == ""
    finally:
        app.setPalette(light)
