"""Nothing clipped at a small screen (issue 17 "Done when"): what tools/screenshots.py showed cut off at
1024×640, checked by geometry so it stays fixed: every widget named here shows its whole text."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QTableWidget, QToolButton


def test_every_view_tab_is_whole_at_1024_px(window, qtbot):
    """The ten view tabs fit a 1024 px window without scroll arrows (in the queue's pane half were hidden)."""
    window.resize(1024, 640)
    qtbot.wait(50)
    tabs = window.tabs
    assert tabs.count() == 10
    arrows = [button for button in tabs.findChildren(QToolButton) if button.isVisible()]
    assert not arrows, "the view tabs need scroll arrows at 1024 px"
    for index in range(tabs.count()):
        assert tabs.rect().contains(tabs.tabRect(index)), f"tab {tabs.tabText(index)!r} is cut off"


def test_more_email_settings_scroll_inside_the_add_account_dialog(window, qtbot):
    """Unfolding "More settings" keeps the dialog's size (it grew to 801x715, past a 1024x640 screen)."""
    from socialdesk.ui.accounts_dialog import AccountsFeature

    window.actions["add_account"].trigger()
    dialog = next(f for f in window.features if isinstance(f, AccountsFeature)).add_dialog
    qtbot.waitExposed(dialog)
    size = dialog.size()
    dialog.chooser.list.setCurrentRow([s.kind for s in dialog.chooser.specs].index("email"))
    dialog.next_step()
    dialog.form.show_more(True)
    qtbot.wait(50)
    assert dialog.form.more.isVisible()
    assert dialog.size() == size
    hint = dialog.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 600, hint
    dialog.reject()


def test_every_platform_form_gives_its_fields_room(window, qtbot):
    """A long label ("Late replies tagged as a human agent (yes/no; ...)") goes above its field instead of
    squeezing every field of the form to ~150 px, where an address was cut to "s://graph.facebook.com"."""
    from socialdesk.ui.account_form import FIELD_MIN_WIDTH
    from socialdesk.ui.accounts_dialog import AccountsFeature

    window.actions["add_account"].trigger()
    dialog = next(f for f in window.features if isinstance(f, AccountsFeature)).add_dialog
    qtbot.waitExposed(dialog)
    for row, spec in enumerate(dialog.chooser.specs):
        dialog.chooser.list.setCurrentRow(row)
        dialog.next_step()
        qtbot.wait(20)
        for key, field in dialog.form.fields.items():
            if field.isVisible():
                assert field.width() >= FIELD_MIN_WIDTH, (spec.kind, key, field.width())
        assert dialog.width() <= 1024, spec.kind
        dialog.previous_step()
    dialog.reject()


def _open_dialog(window, qtbot, action: str):
    from PySide6.QtWidgets import QApplication, QDialog

    before = set(QApplication.topLevelWidgets())
    window.actions[action].trigger()
    found: list = []

    def opened() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets() if w not in before and isinstance(w, QDialog)
                    and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(opened, timeout=5000)
    return found[0]


def test_hours_and_today_fit_a_1024x640_screen(window, qtbot):
    """Their pages scroll instead of asking 625 px (hours) and 647 px (Today) of a 600 px high screen."""
    from socialdesk.ui.fit import SMALL_SCREEN

    for action in ("hours_editor", "today"):
        dialog = _open_dialog(window, qtbot, action)
        hint = dialog.minimumSizeHint().expandedTo(dialog.minimumSize())
        assert hint.width() <= SMALL_SCREEN[0] and hint.height() <= SMALL_SCREEN[1], (action, hint)
        dialog.close()


def test_hours_fit_an_800x500_screen_with_no_page_cut_off(window, qtbot):
    """The hours dialog asked 833 px (the auto-replies tab's "Messages found later ..." row beside its
    choice), so an 800 px screen cut its right edge off. Every tab fits, and nothing on a page is cut."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QWidget

    from socialdesk.ui.fit import TINY_SCREEN

    dialog = _open_dialog(window, qtbot, "hours_editor")
    hint = dialog.minimumSizeHint().expandedTo(dialog.minimumSize())
    assert hint.width() <= TINY_SCREEN[0] and hint.height() <= TINY_SCREEN[1], hint
    dialog.resize(*TINY_SCREEN)
    for index in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(index)
        qtbot.wait(20)
        area = dialog.tabs.widget(index)
        page = area.widget()
        assert page.width() <= area.viewport().width(), dialog.tabs.tabText(index)
        for child in page.findChildren(QWidget):
            if child.isVisible():
                right = child.mapTo(page, QPoint(child.width(), 0)).x()
                assert right <= page.width(), (dialog.tabs.tabText(index), child.objectName(), type(child).__name__)
    # The next week's posts fold under one line (they took 130 px of the 460); unfolded, it still fits.
    assert not dialog.preview.isVisible()
    qtbot.waitUntil(lambda: dialog.preview_toggle.text().split(": ")[-1][:1].isdigit(), timeout=5000)
    dialog.preview_toggle.click()
    assert dialog.preview.isVisible() and dialog.preview.count() == int(dialog.preview_toggle.text().split(": ")[1]
                                                                           .split(",")[0])
    assert dialog.minimumSizeHint().height() <= TINY_SCREEN[1]
    dialog.close()


def test_a_dialog_opens_within_a_small_screen(qtbot):
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QDialog

    from socialdesk.ui import fit

    dialog = QDialog()
    qtbot.addWidget(dialog)
    fit.resize_within_screen(dialog, 760, 680, QRect(0, 0, 1024, 610))
    assert (dialog.width(), dialog.height()) == (760, 610 - fit.TITLE_BAR)
    fit.resize_within_screen(dialog, 760, 680, QRect(0, 0, 1600, 1000))
    assert (dialog.width(), dialog.height()) == (760, 680)


def test_accounts_list_names_each_accounts_platform_with_its_icon(window, qtbot):
    """A simulated account says which platform it simulates (every demo row said "Demo (simulated bakery)")."""
    dialog = _open_dialog(window, qtbot, "accounts")
    table = dialog.table
    qtbot.waitUntil(lambda: table.rowCount() > 0, timeout=5000)
    rows = {table.item(i, 0).text(): table.item(i, 1) for i in range(table.rowCount())}
    assert rows["Bluesky (demo)"].text() == "Bluesky · Demo"
    assert not rows["Bluesky (demo)"].icon().isNull()
    assert len({item.text() for item in rows.values()}) == len(rows)
    dialog.close()


def test_listings_box_says_what_appears_in_it_before_the_first_check(window, qtbot):
    dialog = _open_dialog(window, qtbot, "hours_editor")
    assert dialog.listings_text.toPlainText() == ""
    assert "Check listings" in dialog.listings_text.placeholderText()
    dialog.close()


def test_an_empty_view_shows_no_idle_composer(window, qtbot):
    """A search that finds nothing leaves no conversation to answer: the greyed-out composer ("0 / 10000
    characters", disabled Send) is hidden until a conversation is listed again."""
    assert window.composer.isVisible()
    window.search.setText("zzqx nothing matches this")
    window.search_timer.timeout.emit()
    qtbot.waitUntil(lambda: window.empty_panel.isVisible(), timeout=5000)
    assert not window.composer.isVisible()
    window.search.clear()
    window.search_timer.timeout.emit()
    qtbot.waitUntil(lambda: window.composer.isVisible() and window.current_id is not None, timeout=5000)


def test_custom_snooze_shows_the_weekday_and_an_unambiguous_date(qtbot):
    """It showed the locale's short form, "1 12 2026 12:14", with the zone only in the title bar."""
    from datetime import datetime, timezone

    from PySide6.QtWidgets import QLabel, QWidget

    from socialdesk.ui.snooze_dialog import snooze_dialog

    parent = QWidget()
    qtbot.addWidget(parent)
    dialog, edit = snooze_dialog(parent, "Europe/Berlin", datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc))
    assert edit.text() == "Tue 2026-12-01 12:00"
    assert any("Europe/Berlin" in label.text() for label in dialog.findChildren(QLabel))


@pytest.mark.parametrize("shown", [True, False])
def test_tinted_text_follows_a_switch_to_dark(qtbot, shown):
    """A tinted label (muted hints, "No matches in Awaiting: 1 in Done.", "Preview for Moira:") takes its dark
    colour when the system switches to dark, shown or hidden at the time (it kept #474747 on #353535)."""
    from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

    from socialdesk.ui import theme
    from tests.gui.test_dark_mode import dark_palette

    app = QApplication.instance()
    light = app.style().standardPalette()
    app.setPalette(light)
    parent = QWidget()
    qtbot.addWidget(parent)
    label = QLabel("hint", parent)
    QVBoxLayout(parent).addWidget(label)
    theme.tint(label, theme.MUTED)
    parent.show()
    label.setVisible(shown)
    try:
        app.setPalette(dark_palette())
        qtbot.wait(20)  # Qt posts the change to the widgets
        label.show()
        assert label.styleSheet() == f"color:{theme.MUTED.dark}"
        app.setPalette(light)
        qtbot.wait(20)
        assert label.styleSheet() == f"color:{theme.MUTED.light}"
    finally:
        app.setPalette(light)


def test_no_bare_accounts_label_before_a_sign_in(window, qtbot):
    """A sign-in form showed "Accounts" beside nothing until a sign-in gave several accounts to pick from."""
    from PySide6.QtWidgets import QFormLayout

    from socialdesk.ui.accounts_dialog import AccountsFeature

    window.actions["add_account"].trigger()
    dialog = next(f for f in window.features if isinstance(f, AccountsFeature)).add_dialog
    qtbot.waitExposed(dialog)
    dialog.chooser.list.setCurrentRow([s.kind for s in dialog.chooser.specs].index("google"))
    dialog.next_step()
    form = dialog.form
    layout = next(lay for lay in form.findChildren(QFormLayout) if lay.indexOf(form.picks) >= 0)
    label = layout.labelForField(form.picks)
    assert not label.isVisible() and not form.picks.isVisible()
    dialog.reject()


def test_about_opens_with_focus_on_close(window, qtbot):
    """Focus on the text showed a text cursor after the last link, like a debug artefact."""
    from PySide6.QtWidgets import QPushButton

    dialog = _open_dialog(window, qtbot, "about")
    assert isinstance(dialog.focusWidget(), QPushButton)
    dialog.close()


def test_first_run_does_not_list_some_of_the_platforms(window, qtbot):
    """"add your first account (email, Telegram, Mastodon or Bluesky)" fell behind the platforms there are."""
    from socialdesk.connectors import registry

    dialog = _open_dialog(window, qtbot, "setup_assistant")
    text = dialog.ready_page.add_account.text()
    assert not [s.traits.name for s in registry.all_specs() if s.kind != "demo" and s.traits.name in text]
    dialog.close()


def test_first_start_names_no_platforms(fresh_window):
    """The empty queue of a new profile listed "your mailbox, Telegram bot, Mastodon or Bluesky account": four
    of the nine platforms there are (Add account lists each)."""
    from socialdesk.connectors import registry

    _core, win = fresh_window
    text = win.empty_label.text()
    assert "No accounts yet" in text
    assert not [s.traits.name for s in registry.all_specs() if s.kind != "demo" and s.traits.name in text]


def test_lists_of_snippets_and_accounts_draw_no_spreadsheet_grid(window, qtbot):
    for action, name in (("manage_snippets", "snippets_table"), ("accounts", "accounts_table")):
        dialog = _open_dialog(window, qtbot, action)
        table = dialog.findChild(QTableWidget, name)
        assert not table.showGrid() and table.alternatingRowColors(), name
        dialog.close()


def test_the_thread_header_wraps_rather_than_squeezing_the_queue(window, qtbot):
    """The header's second line with the same person's other conversations forced the thread pane to 729 px,
    which left the queue 270 px of a 1024 px window."""
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: bool(window.thread_view.plain_text()), timeout=5000)
    window.tasks.wait(5000)
    qtbot.wait(50)  # the thread's own details are shown
    window.current_linked = [101, 102, 103, 104, 105]
    window._show_details(window.current_row)
    qtbot.wait(50)
    assert "#105" in window.details.text()
    assert window.minimumSizeHint().width() <= 700
    assert window.table.width() >= 380


@pytest.mark.parametrize("name", ["Harbour Café accounts and wholesale orders for the whole of the north " * 2,
                                  "x" * 160])
def test_a_long_customer_name_does_not_widen_the_window(window, qtbot, name):
    """A name is hostile input (an email's display name has no length limit): the thread's header wraps or
    is cut at the pane's edge; it never made the window wider than the screen."""
    from dataclasses import replace

    window.resize(1024, 640)
    qtbot.waitUntil(lambda: bool(window.thread_view.plain_text()), timeout=5000)
    window.tasks.wait(5000)
    qtbot.wait(50)
    window._set_conversation(replace(window.current_row, contact_name=name))
    qtbot.wait(50)
    assert window.header.text().startswith(name)
    assert window.minimumSizeHint().width() <= 700
    assert window.table.width() >= 380


def test_the_thread_header_follows_a_switch_to_dark(window, qtbot):
    """After the system switched to dark the name stayed black (a style sheet pinned the label's light
    palette) and "Open on platform" kept the light palette's dark blue until the row changed."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from socialdesk.ui import theme
    from tests.gui.test_dark_mode import dark_palette

    app = QApplication.instance()
    light = app.style().standardPalette()
    qtbot.waitUntil(lambda: bool(window.thread_view.plain_text()), timeout=5000)
    window.tasks.wait(5000)
    qtbot.wait(50)
    try:
        app.setPalette(dark_palette())
        qtbot.wait(50)
        text = window.header.palette().color(QPalette.ColorRole.WindowText).name()
        assert theme.contrast(text, "#353535") >= 4.5, text
        assert theme.LINK.dark in window.details.text()
    finally:
        app.setPalette(light)



def test_bold_dialog_labels_follow_a_switch_to_dark(window, qtbot):
    """The hours dialog's "With these hours: ..." stayed black on dark when the system switched while it was
    open: a style sheet for the bold weight pinned the label's light palette."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from socialdesk.ui import theme
    from tests.gui.test_dark_mode import dark_palette

    dialog = _open_dialog(window, qtbot, "hours_editor")
    app = QApplication.instance()
    light = app.style().standardPalette()
    try:
        app.setPalette(dark_palette())
        qtbot.wait(50)
        text = dialog.state_label.palette().color(QPalette.ColorRole.WindowText).name()
        assert theme.contrast(text, "#353535") >= 4.5, text
        assert dialog.state_label.font().bold()
    finally:
        app.setPalette(light)
        dialog.close()
