"""The "Same person as…" dialog (issue 17 item 11): the likely person first and preselected, a weak
match never preselected, typing filters, Enter merges; readable in light and dark palettes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core.ingest import ingest
from socialdesk.core.store import Account, Conversation
from socialdesk.ui import same_person


def _customer(core, account_name: str, channel: str, name: str, author_id: str, minutes_ago: int) -> int:
    """A conversation from a customer on a channel (not synced: the engine is not running)."""
    now = core.clock.now()
    with core.store.write():
        account, _ = Account.get_or_create(
            name=account_name, defaults={"kind": "demo", "settings": {"channel": channel}, "created_at": now}
        )
    kind = "email" if channel == "email" else "dm"
    handle = author_id if channel == "email" else author_id.split(":")[-1]
    item = InboundItem(f"m:{author_id}", f"c:{author_id}", kind, False, Author(author_id, handle=handle, display_name=name),
                       "Is the sourdough ready?", now - timedelta(minutes=minutes_ago))
    ingest(core.store, account.id, [item], None, core.policy(), now)
    return Conversation.get((Conversation.account == account.id) & (Conversation.external_id == f"c:{author_id}")).id


def _open_dialog(qtbot, window, conv_id: int) -> same_person.SamePersonDialog:
    window.load_view()
    qtbot.waitUntil(lambda: window.model.row_of(conv_id) is not None, timeout=5000)
    window.open_conversation(conv_id)
    qtbot.waitUntil(lambda: window.current_row is not None and window.current_row.id == conv_id, timeout=5000)
    qtbot.keyClick(window.table, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: getattr(window, "same_person_dialog", None) is not None
                    and window.same_person_dialog.isVisible(), timeout=5000)
    dialog = window.same_person_dialog
    _settled(qtbot, dialog)
    return dialog


def _settled(qtbot, dialog) -> None:
    """The list shows the lookup for what is typed now."""
    qtbot.waitUntil(lambda: not dialog.timer.isActive() and dialog.shown_generation == dialog.generation,
                    timeout=5000)


def _names(dialog) -> list[str]:
    return [dialog.listing.topLevelItem(i).text(0) for i in range(dialog.listing.topLevelItemCount())]


def test_sam_taylor_is_suggested_and_preselected_and_enter_merges(qtbot, window, demo_core):
    sam = _customer(demo_core, "TG shop", "telegram", "Sam Taylor", "telegram:samtaylor", 90)
    sam_mail = _customer(demo_core, "Shop mail", "email", "Sam Taylor", "sam.taylor@example.com", 60)
    _customer(demo_core, "Shop mail", "email", "Mateo García", "mateo@example.com", 1)  # wrote last
    dialog = _open_dialog(qtbot, window, sam)
    first = dialog.listing.topLevelItem(0)
    assert first is not None, dialog.hint.text()
    assert first.text(0) == "Sam Taylor" and "same" in first.text(2)
    assert first.isSelected() and dialog.merge_button.isEnabled()
    assert not dialog.hint.isVisible()
    assert _names(dialog).index("Sam Taylor") < _names(dialog).index("Mateo García")
    mail_contact = Conversation.get_by_id(sam_mail).contact_id
    assert first.data(0, Qt.ItemDataRole.UserRole) == mail_contact
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: Conversation.get_by_id(sam_mail).contact_id == Conversation.get_by_id(sam).contact_id,
                    timeout=5000)
    assert not dialog.isVisible()


def test_a_weak_match_is_not_preselected_and_typing_filters(qtbot, window, demo_core):
    zed = _customer(demo_core, "TG shop", "telegram", "Zed", "telegram:zzz", 5)
    mateo = _customer(demo_core, "Shop mail", "email", "Mateo García", "mateo@example.com", 30)
    dialog = _open_dialog(qtbot, window, zed)
    assert dialog.listing.topLevelItemCount() > 0  # people to browse, but none is likely
    assert dialog.listing.selectedItems() == []
    assert not dialog.merge_button.isEnabled()
    assert dialog.hint.isVisible() and dialog.hint.text() == same_person.NO_STRONG_MATCH
    # Every row says why it is listed (the column was empty for all of these).
    why = {dialog.listing.topLevelItem(i).text(0): dialog.listing.topLevelItem(i).text(2)
           for i in range(dialog.listing.topLevelItemCount())}
    assert all(why.values()), why
    assert why["Mateo García"] == "Only wrote within the same hour"
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)  # Enter with nothing chosen merges nobody
    assert dialog.isVisible()
    dialog.listing.setFocus()  # focus makes a row current; it is still not chosen
    assert not dialog.merge_button.isEnabled()
    qtbot.keyClicks(dialog.search, "garci")
    _settled(qtbot, dialog)
    assert _names(dialog) == ["Mateo García"]
    assert dialog.listing.topLevelItem(0).isSelected() and dialog.merge_button.isEnabled()
    assert not dialog.hint.isVisible()
    qtbot.keyClicks(dialog.search, "zzzz")
    _settled(qtbot, dialog)
    assert _names(dialog) == []
    assert dialog.hint.text().startswith("Nobody matches") and not dialog.merge_button.isEnabled()
    dialog.reject()
    assert Conversation.get_by_id(mateo).contact_id != Conversation.get_by_id(zed).contact_id


def _dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in {
        QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#121212", QPalette.ColorRole.AlternateBase: "#2a2a2a",
        QPalette.ColorRole.Text: "#e8eaed", QPalette.ColorRole.Button: "#303134",
        QPalette.ColorRole.ButtonText: "#e8eaed", QPalette.ColorRole.Highlight: "#8ab4f8",
        QPalette.ColorRole.HighlightedText: "#202124",
    }.items():
        palette.setColor(role, QColor(colour))
    return palette


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_the_dialog_is_not_clipped_in_either_palette(qtbot, window, demo_core, mode, tmp_path):
    app = QApplication.instance()
    before = app.palette()
    if mode == "dark":
        app.setPalette(_dark_palette())
    try:
        zed = _customer(demo_core, "TG shop", "telegram", "Zed Okonkwo-Villanueva", "telegram:zed", 5)
        _customer(demo_core, "Shop mail", "email", "Zed Okonkwo", "zed.okonkwo@example.com", 20)
        dialog = _open_dialog(qtbot, window, zed)
        dialog.grab().save(str(tmp_path / f"same_person_{mode}.png"))
        clipped = [label.text() for label in dialog.findChildren(QLabel)
                   if label.isVisible() and label.wordWrap() and label.height() < label.heightForWidth(label.width())]
        assert not clipped
        for column in (0, 1, 2):  # names, channels and why are never cut (why was too long at 620 px)
            assert dialog.listing.sizeHintForColumn(column) <= dialog.listing.columnWidth(column)
    finally:
        app.setPalette(before)
