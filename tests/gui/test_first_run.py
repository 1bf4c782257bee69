"""The first-run assistant (issue 17 item 4): offered on a new profile only, saves through core, never
loses what was typed on Esc, and nothing on its pages is clipped in a light or a dark palette."""

from __future__ import annotations

from datetime import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWizard

from socialdesk import paths
from socialdesk.core import first_run, personalize
from socialdesk.core import snippets as sn
from socialdesk.core.hours import Schedule, system_timezone_name
from socialdesk.core.store import Account
from socialdesk.ui.accounts_dialog import AccountsFeature
from socialdesk.ui.first_run import FirstRunFeature, offer_first_run


def _feature(win, kind=FirstRunFeature):
    return next(f for f in win.features if isinstance(f, kind))


@pytest.fixture
def new_core():
    from socialdesk.app import build_core

    core = build_core(paths.profile("default"))
    yield core
    core.engine.stop()
    core.store.close()


@pytest.fixture
def new_window(qtbot, new_core):
    from socialdesk.app import wire_window

    win, tasks, _relay = wire_window(new_core)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.start()
    yield win
    tasks.wait(5000)


def _idle(qtbot, win) -> None:
    qtbot.waitUntil(lambda: win.tasks.pending() == 0, timeout=5000)


def _offered(qtbot, win):
    feature = _feature(win)
    offer_first_run(win)
    qtbot.waitUntil(lambda: feature.wizard is not None and feature.wizard.isVisible(), timeout=5000)
    return feature.wizard


def _not_offered(qtbot, win) -> None:
    feature = _feature(win)
    before = feature.wizard
    offer_first_run(win)
    _idle(qtbot, win)
    assert feature.wizard is before and (before is None or not before.isVisible())


def test_a_new_profile_is_set_up_in_three_pages_and_saved_through_core(qtbot, new_window, new_core):
    wizard = _offered(qtbot, new_window)
    business, hours = wizard.business_page, wizard.hours_page
    # Sensible defaults: the computer's time zone, Monday to Friday 9 to 5.
    assert hours.timezone.currentText() == system_timezone_name()
    assert [edit.text() for edit in hours.day_edits] == ["09:00-17:00"] * 5 + ["", ""]
    assert business.preview.text().startswith("(none yet")
    qtbot.keyClicks(business.business, "Juniper & Rye")
    qtbot.keyClicks(business.my_name, "Sam")
    assert business.preview.text() == "— Sam, Juniper & Rye"
    wizard.next()
    assert wizard.currentPage() is hours
    hours.timezone.setCurrentText("Europe/Berlin")
    qtbot.keyClicks(hours.day_edits[5], "10:00-14:00")
    assert hours.summary.text() == "Customers will read: “Monday to Friday 9:00–17:00, Saturday 10:00–14:00”."
    wizard.next()
    assert wizard.currentPage() is wizard.ready_page
    assert "Juniper & Rye" in wizard.ready_page.summary.text()
    assert wizard.ready_page.add_account.isChecked()
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=5000)
    _idle(qtbot, new_window)
    settings = new_core.settings
    assert (settings.get("business.name"), settings.get("business.my_name")) == ("Juniper & Rye", "Sam")
    stored = Schedule.from_json(settings.get("hours.schedule"))
    assert stored.timezone == "Europe/Berlin"
    assert stored.week == {**{d: [(time(9), time(17))] for d in range(5)}, 5: [(time(10), time(14))]}
    assert settings.get(first_run.DONE_KEY) is True
    assert new_core.policy().schedule.week == stored.week  # saved through OwnerActions: the policy was dropped
    # "Add your first account" follows, and the starter ;bye now signs with the answers.
    accounts = _feature(new_window, AccountsFeature)
    qtbot.waitUntil(lambda: accounts.add_dialog is not None and accounts.add_dialog.isVisible(), timeout=5000)
    accounts.add_dialog.reject()
    ctx = personalize.business_context(settings, stored, new_core.clock.now(), "")
    assert sn.render(sn.find_by_abbreviation("bye").body, ctx).endswith("\n— Sam, Juniper & Rye")
    _not_offered(qtbot, new_window)  # finished: not offered again (Help → Set-up assistant… still opens it)
    new_window.actions["setup_assistant"].trigger()
    qtbot.waitUntil(lambda: _feature(new_window).wizard.isVisible(), timeout=5000)
    assert _feature(new_window).wizard.business_page.business.text() == "Juniper & Rye"


def test_unreadable_hours_keep_next_disabled_and_say_why(qtbot, new_window):
    wizard = _offered(qtbot, new_window)
    wizard.next()
    hours = wizard.hours_page
    hours.day_edits[2].setText("9-17")
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert hours.errors.isVisible() and "Wednesday" in hours.errors.text()
    assert not hours.summary.isVisible()  # no stale week next to the error
    hours.timezone.setCurrentText("Mars/Olympus")
    assert "Mars/Olympus" in hours.errors.text()
    hours.timezone.setCurrentText("Europe/Berlin")
    hours.day_edits[2].setText("09:00-12:30, 13:30-17:00")
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert "Wednesday 9:00–12:30 and 13:30–17:00" in hours.summary.text()


def test_esc_after_typing_asks_and_never_loses_the_text(qtbot, new_window, new_core):
    wizard = _offered(qtbot, new_window)
    qtbot.keyClicks(wizard.business_page.business, "Juniper & Rye")
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    box = wizard.discard_box
    assert box is not None and box.isVisible() and wizard.isVisible()
    assert box.defaultButton() is box.escapeButton()  # Esc again means "Keep editing"
    assert box.escapeButton().objectName() == "keep_editing"
    box.escapeButton().click()
    assert wizard.isVisible() and wizard.business_page.business.text() == "Juniper & Rye"
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    save = next(b for b in wizard.discard_box.buttons() if b.objectName() == "save_and_close")
    save.click()
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=5000)
    _idle(qtbot, new_window)
    assert new_core.settings.get("business.name") == "Juniper & Rye"
    assert _feature(new_window, AccountsFeature).add_dialog is None  # "Save and close" adds no account


def test_discard_and_skip_record_the_choice_and_save_nothing_else(qtbot, new_window, new_core):
    wizard = _offered(qtbot, new_window)
    qtbot.keyClicks(wizard.business_page.my_name, "Sam")
    wizard.button(QWizard.WizardButton.CancelButton).click()  # "Skip set-up" asks too
    discard = next(b for b in wizard.discard_box.buttons() if b.objectName() == "discard")
    discard.click()
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=5000)
    _idle(qtbot, new_window)
    assert new_core.settings.get("business.my_name") == ""
    assert new_core.settings.get(first_run.DONE_KEY) is True
    _not_offered(qtbot, new_window)


def test_esc_with_nothing_typed_skips_at_once(qtbot, new_window, new_core):
    wizard = _offered(qtbot, new_window)
    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=5000)
    assert wizard.discard_box is None
    _idle(qtbot, new_window)
    assert new_core.settings.get(first_run.DONE_KEY) is True


def test_not_offered_on_the_demo(qtbot, window):
    _not_offered(qtbot, window)


@pytest.mark.parametrize("configured", ["business name", "account"])
def test_not_offered_on_a_profile_already_in_use(qtbot, new_core, configured):
    if configured == "business name":
        new_core.settings.set("business.name", "Juniper & Rye")
    else:
        with new_core.store.write():
            Account.create(kind="demo", name="Mail", settings={"channel": "email"}, created_at=new_core.clock.now())
    assert not first_run.needed(new_core.settings)
    from socialdesk.app import wire_window

    win, tasks, _relay = wire_window(new_core)
    qtbot.addWidget(win)
    _not_offered(qtbot, win)
    tasks.wait(5000)


def _dark_palette() -> QPalette:
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#121212", QPalette.ColorRole.Text: "#e8eaed",
        QPalette.ColorRole.Button: "#303134", QPalette.ColorRole.ButtonText: "#e8eaed",
        QPalette.ColorRole.PlaceholderText: "#9aa0a6",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    return palette


def _clipped_labels(widget) -> list[str]:
    """Visible labels shorter than their wrapped text needs."""
    return [
        label.text() for label in widget.findChildren(QLabel)
        if label.isVisible() and label.wordWrap() and label.height() < label.heightForWidth(label.width())
    ]


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_no_page_is_clipped_and_errors_are_readable_in_either_palette(qtbot, new_window, mode, tmp_path):
    app = QApplication.instance()
    before = app.palette()
    if mode == "dark":
        app.setPalette(_dark_palette())
    try:
        wizard = _offered(qtbot, new_window)
        wizard.hours_page.day_edits[2].setText("9-17")  # an error line on the hours page
        for page_number in range(3):
            if page_number == 2:
                wizard.hours_page.day_edits[2].setText("")
            if page_number:
                wizard.next()
            qtbot.wait(50)
            page = wizard.currentPage()
            wizard.grab().save(str(tmp_path / f"wizard_{page_number}_{mode}.png"))
            assert not _clipped_labels(wizard), page.title()  # the page and the wizard's header
        errors = wizard.hours_page.errors
        colour = QColor(errors.styleSheet().split(":", 1)[1])
        background = wizard.hours_page.palette().window().color()
        assert _contrast(colour, background) >= 4.5
    finally:
        app.setPalette(before)


def _contrast(a: QColor, b: QColor) -> float:
    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
