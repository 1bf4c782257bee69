"""Command palette, cheat sheet, menus, snippet palette and About (issue 17 item 9)."""

from __future__ import annotations

from collections import Counter
from importlib import metadata

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QFontMetrics, QKeySequence
from PySide6.QtWidgets import QLineEdit, QListWidget, QMenu, QStyleOptionViewItem

from socialdesk.core import snippets as snip
from socialdesk.ui import actions as actions_mod
from socialdesk.ui.keyboard_help import GAP, HEADER_ROLE, KEYS_ROLE, sheet_rows


def _menu_keys(menu: QMenu) -> dict[QAction, str]:
    """What each menu entry shows as its shortcut: QMenu draws the text after a tab, else the shortcut."""
    shown: dict[QAction, str] = {}
    for action in menu.actions():
        if action.menu() is not None:
            shown.update(_menu_keys(action.menu()))
        elif not action.isSeparator():
            text = action.text()
            shown[action] = text.split("\t", 1)[1] if "\t" in text else \
                action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    return shown


def _cheat_rows(qtbot, window) -> list[tuple[str, str, str]]:
    window.cheat_sheet()
    listing = window.cheat_sheet_dialog.findChild(QListWidget, "cheat_sheet_list")
    rows = sheet_rows(listing)
    window.cheat_sheet_dialog.close()
    return rows


def test_menus_and_cheat_sheet_show_the_same_key_names(qtbot, window):
    sheet = {title: keys for _group, title, keys in _cheat_rows(qtbot, window)}
    menus: dict[QAction, str] = {}
    for menu in window.menus.values():
        menus.update(_menu_keys(menu))
    for spec in window.action_specs:
        action = window.actions[spec.id]
        assert action in menus, f"{spec.id} is in no menu"
        assert menus[action] == sheet[spec.title] == actions_mod.key_text(spec), spec.id
    assert sheet["Send reply"] == "Ctrl+Enter"
    assert sheet["Send and mark done"] == "Ctrl+Shift+Enter"
    assert sheet["Next conversation"] == "j / ↓"
    assert not any("Return" in keys for keys in sheet.values())


def test_cheat_sheet_is_grouped(qtbot, window):
    rows = _cheat_rows(qtbot, window)
    groups = [g for i, (g, _t, _k) in enumerate(rows) if i == 0 or rows[i - 1][0] != g]
    assert groups == list(actions_mod.GROUPS)  # each group once, in this order
    group = {title: g for g, title, _k in rows}
    assert Counter(title for _g, title, _k in rows) == Counter(spec.title for spec in window.action_specs)
    assert group["Next conversation"] == group["Search"] == "Move"
    assert group["Reply"] == group["Send reply"] == group["Insert snippet…"] == "Answer"
    assert group["Mark done"] == group["Snooze…"] == group["Undo"] == "Organise"
    assert group["Today"] == group["Show sent"] == "Views"
    assert group["Quit"] == group["About socialdesk"] == group["Keyboard shortcuts"] == "App"


def _ink_right_edge(image, top: int, bottom: int, right: int) -> int:
    """The x of the rightmost pixel in rows [top, bottom) that differs from the row's background."""
    colours = Counter(image.pixel(x, y) for y in range(top, bottom) for x in range(0, right))
    background = colours.most_common(1)[0][0]
    edge = -1
    for y in range(top, bottom):
        for x in range(right - 1, edge, -1):
            if abs(QColor(image.pixel(x, y)).lightness() - QColor(background).lightness()) > 60:
                edge = x
                break
    return edge


def test_palette_matches_fuzzily_in_groups_with_keys_right_aligned(qtbot, window):
    window.command_palette()
    dialog = window.palette_dialog
    listing = dialog.findChild(QListWidget, "palette_list")
    search = dialog.findChild(QLineEdit, "palette_search")
    qtbot.waitExposed(dialog)
    # Grouped: every action row sits under a header; with no query, the groups in cheat-sheet order.
    headers = [listing.item(i).text() for i in range(listing.count()) if listing.item(i).data(HEADER_ROLE)]
    assert headers == list(actions_mod.GROUPS)
    # A typo still finds the action, first and selected.
    qtbot.keyClicks(search, "sned")
    assert listing.currentItem().text() == "Send reply"
    assert listing.item(0).data(HEADER_ROLE) and listing.item(0).text() == "Answer"
    # Down moves between actions, from the search line.
    qtbot.keyClick(search, Qt.Key.Key_Down)
    assert listing.currentItem().text() == "Send and mark done"
    qtbot.keyClick(search, Qt.Key.Key_Up)
    assert listing.currentItem().text() == "Send reply"
    # Keys right-aligned: rows with keys of different lengths end at the same x, at the list's right side.
    search.clear()
    qtbot.keyClicks(search, "mark")
    rows = {listing.item(i).text(): listing.visualItemRect(listing.item(i)) for i in range(listing.count())}
    listing.setCurrentRow(-1)
    image = listing.viewport().grab().toImage()
    width = listing.viewport().width()
    edges = {t: _ink_right_edge(image, rows[t].top(), rows[t].bottom(), width) for t in ("Mark done", "Mark as spam")}
    assert listing.item(1).data(KEYS_ROLE) != listing.item(2).data(KEYS_ROLE)
    assert abs(edges["Mark done"] - edges["Mark as spam"]) <= 2, edges
    assert edges["Mark done"] >= width - 16, (edges, width)
    # Enter runs the best match.
    search.clear()
    qtbot.keyClicks(search, "todya")
    qtbot.keyClick(search, Qt.Key.Key_Return)
    feature = next(f for f in window.features if type(f).__name__ == "SettingsFeature")
    qtbot.waitUntil(lambda: feature.today_dialog is not None and feature.today_dialog.isVisible(), timeout=5000)
    feature.today_dialog.close()


def test_snippet_palette_shows_whole_titles(qtbot, window, demo_core):
    title = "Thank you so much for the lovely review of our little shop"
    snip.create_snippet(demo_core.store, title=title, abbreviation="lovelyreview", body="Thanks!",
                        favorite_slot=None, now=demo_core.clock.now())
    feature = next(f for f in window.features if type(f).__name__ == "SnippetsFeature")
    qtbot.waitUntil(lambda: window.composer.row is not None, timeout=5000)
    feature.open_palette()
    palette = feature.palette
    qtbot.waitExposed(palette)
    qtbot.keyClicks(palette.search, "lovely review")
    qtbot.waitUntil(lambda: palette.listing.count() >= 1 and palette.listing.item(0).text() == title, timeout=5000)
    palette.resize(1100, 440)  # room for the title (the offscreen screen is too small to grow into)
    qtbot.wait(20)
    item = palette.listing.item(0)
    rect = palette.listing.visualItemRect(item)
    font = QFontMetrics(palette.listing.font())
    assert rect.width() >= font.horizontalAdvance(title) + GAP + font.horizontalAdvance(item.data(KEYS_ROLE))
    option = QStyleOptionViewItem()
    option.initFrom(palette.listing.viewport())
    option.rect = rect
    assert palette.listing.itemDelegate().title_shown(option, palette.listing.indexFromItem(item)) == title
    assert palette.preview.width() >= 250  # the preview keeps its room
    palette.close()


def test_about_says_version_licence_folders_and_documentation(qtbot, window, demo_core):
    window.actions["about"].trigger()
    feature = next(f for f in window.features if type(f).__name__ == "AboutFeature")
    qtbot.waitUntil(lambda: feature.dialog is not None and feature.dialog.isVisible(), timeout=5000)
    text = feature.dialog.text.text()
    assert f"socialdesk {metadata.version('socialdesk')}" in text
    assert "MIT" in text  # pyproject's licence, through the installed metadata
    assert str(demo_core.profile.root) in text and str(demo_core.profile.log_file) in text
    assert "https://github.com/socialdesk/socialdesk#readme" in text
    assert window.actions["about"] in window.menus["Help"].actions()
    # Links follow a live switch to a dark palette (rich text keeps the colour it was built with).
    from PySide6.QtWidgets import QApplication

    from socialdesk.ui import theme
    from tests.gui.test_dark_mode import dark_palette

    app = QApplication.instance()
    light = app.style().standardPalette()
    assert f"color:{theme.LINK.light}" in text
    try:
        app.setPalette(dark_palette())
        qtbot.waitUntil(lambda: f"color:{theme.LINK.dark}" in feature.dialog.text.text(), timeout=2000)
    finally:
        app.setPalette(light)
    feature.dialog.close()
