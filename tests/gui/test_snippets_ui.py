"""Snippets in the window: ;abbr expansion, the palette, favourites, the name nudge, reply metrics and
the Snippets window (validation, delete with undo, import errors)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication

from socialdesk.core import snippets as snip
from socialdesk.core.store import Outbox, Snippet
from socialdesk.ui.composer import name_insertion
from socialdesk.ui.keyboard_help import KEYS_ROLE

ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def _idle(qtbot, win):
    qtbot.waitUntil(lambda: win.tasks.pending() == 0, timeout=5000)


def _feature(win):
    return next(f for f in win.features if type(f).__name__ == "SnippetsFeature")


def _ready(qtbot, win):
    """The snippet map and the selected customer's context are loaded; the composer has focus."""
    composer = win.composer
    qtbot.waitUntil(
        lambda: composer.snippets_loaded and composer.row is not None and composer.row.id == win.current_id
        and composer.current_context() is not None,
        timeout=5000,
    )
    _idle(qtbot, win)
    win.focus_composer()
    composer.edit.setFocus()
    return composer, composer.current_context()


def _select_customer_with_first_name(qtbot, win):
    composer, ctx = _ready(qtbot, win)
    for r in range(win.model.rowCount()):
        if ctx.first_name:
            return composer, ctx
        win._select_row(r + 1)
        composer, ctx = _ready(qtbot, win)
    raise AssertionError("no demo customer with a first name")


def _expected(abbr: str, ctx) -> str:
    return snip.render(snip.find_by_abbreviation(abbr).body, ctx)


def test_name_insertion_rule():
    assert name_insertion("Hi, thanks!", "Léa") == (2, 2, " Léa")
    assert name_insertion("Hello there! Welcome", "Léa") == (5, 11, " Léa")
    assert name_insertion("Thanks for your message!", "Léa") == (0, 0, "Hi Léa! ")


def test_semicolon_abbreviation_expands_for_the_selected_customer(qtbot, window):
    composer, ctx = _select_customer_with_first_name(qtbot, window)
    qtbot.keyClicks(composer.edit, ";thx")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Space)
    expected = _expected("thx", ctx)
    assert composer.text() == expected
    assert ctx.first_name in composer.text()
    # Tab works as well, after other text
    qtbot.keyClicks(composer.edit, " ;bye")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Tab)
    assert composer.text() == expected + " " + _expected("bye", ctx)
    qtbot.waitUntil(lambda: Snippet.get(Snippet.abbreviation == "thx").use_count == 1, timeout=5000)


def test_unknown_abbreviation_is_left_as_typed(qtbot, window):
    composer, _ctx = _ready(qtbot, window)
    qtbot.keyClicks(composer.edit, ";zzz")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Space)
    assert composer.text() == ";zzz "
    assert composer.hint.isVisible() and ";zzz" in composer.hint.text()
    # a semicolon inside a word is not a trigger
    composer.clear()
    qtbot.keyClicks(composer.edit, "a;thx")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Space)
    assert composer.text() == "a;thx "


def test_palette_opens_filters_and_inserts(qtbot, window):
    composer, ctx = _ready(qtbot, window)
    qtbot.keyClick(composer.edit, Qt.Key.Key_Semicolon, CTRL)
    feature = _feature(window)
    qtbot.waitUntil(lambda: feature.palette is not None and feature.palette.isVisible(), timeout=3000)
    palette = feature.palette
    qtbot.waitUntil(lambda: palette.listing.count() > 5, timeout=3000)
    qtbot.keyClicks(palette.search, "shipped")
    qtbot.waitUntil(lambda: palette.listing.count() >= 1 and ";shipped" in palette.listing.item(0).data(KEYS_ROLE), timeout=3000)
    expected = _expected("shipped", ctx)
    assert palette.preview.toPlainText() == expected
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not palette.isVisible(), timeout=3000)
    assert composer.text() == expected


def test_enter_before_ranking_inserts_the_top_result(qtbot, window):
    composer, ctx = _ready(qtbot, window)
    _feature(window).open_palette()
    palette = _feature(window).palette
    qtbot.keyClicks(palette.search, "hours")
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)  # ranking not back yet
    qtbot.waitUntil(lambda: not palette.isVisible(), timeout=3000)
    assert composer.text() == _expected("hours", ctx)


def test_slash_in_empty_composer_opens_the_palette(qtbot, window):
    composer, _ctx = _ready(qtbot, window)
    qtbot.keyClick(composer.edit, Qt.Key.Key_Slash)
    feature = _feature(window)
    qtbot.waitUntil(lambda: feature.palette is not None and feature.palette.isVisible(), timeout=3000)
    assert composer.text() == ""
    qtbot.keyClick(feature.palette.search, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not feature.palette.isVisible(), timeout=3000)
    # with text already there, "/" is just a character
    qtbot.keyClicks(composer.edit, "a/b")
    assert composer.text() == "a/b"


def test_alt_1_inserts_favourite_one(qtbot, window):
    composer, ctx = _ready(qtbot, window)
    qtbot.keyClick(composer.edit, Qt.Key.Key_1, ALT)
    favourite = Snippet.get(Snippet.favorite_slot == 1)
    assert composer.text() == snip.render(favourite.body, ctx)
    # from inside the palette too
    _feature(window).open_palette()
    palette = _feature(window).palette
    qtbot.keyClick(palette.search, Qt.Key.Key_2, ALT)
    assert not palette.isVisible()
    assert composer.text().endswith(snip.render(Snippet.get(Snippet.favorite_slot == 2).body, ctx))


def _send_and_get(qtbot, window):
    conv_id = window.current_id
    window.send_reply()
    qtbot.waitUntil(lambda: Outbox.select().where(Outbox.conversation == conv_id).exists(), timeout=5000)
    return Outbox.get(Outbox.conversation == conv_id)


def test_unchanged_snippet_is_recorded_as_such(qtbot, window):
    composer, _ctx = _ready(qtbot, window)
    qtbot.keyClicks(composer.edit, ";ontoit")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Space)
    row = _send_and_get(qtbot, window)
    assert row.via == "snippet" and row.snippet_id == Snippet.get(Snippet.abbreviation == "ontoit").id
    assert row.edited_after_snippet is False


def test_edited_snippet_is_recorded_as_edited(qtbot, window):
    composer, _ctx = _ready(qtbot, window)
    qtbot.keyClicks(composer.edit, ";ontoit")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Space)
    qtbot.keyClicks(composer.edit, " It should not take long.")
    row = _send_and_get(qtbot, window)
    assert row.via == "snippet" and row.edited_after_snippet is True


def test_typed_reply_is_manual(qtbot, window):
    composer, _ctx = _ready(qtbot, window)
    qtbot.keyClicks(composer.edit, "All good, see you soon")
    assert composer.reply_meta() == {"via": "manual", "snippet_id": None, "edited_after_snippet": False}


def test_name_nudge_and_alt_n(qtbot, window):
    composer, ctx = _select_customer_with_first_name(qtbot, window)
    qtbot.keyClicks(composer.edit, ";closed")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Space)
    assert ctx.first_name not in composer.text()
    assert composer.nudge.isVisible()
    assert "Add their name?" in composer.nudge_label.text()
    qtbot.keyClick(composer.edit, Qt.Key.Key_N, ALT)
    assert composer.text().startswith(f"Hi {ctx.first_name}! Thanks for your message!")
    assert not composer.nudge.isVisible()
    assert composer.reply_meta()["via"] == "snippet" and composer.reply_meta()["edited_after_snippet"]


def _open_manager(qtbot, window):
    window.actions["manage_snippets"].trigger()
    manager = _feature(window).manager
    qtbot.waitUntil(lambda: manager.isVisible() and manager.table.rowCount() > 10, timeout=5000)
    _idle(qtbot, window)
    return manager


def test_snippets_window_validates_the_body_live(qtbot, window):
    manager = _open_manager(qtbot, window)
    manager.new_snippet()
    qtbot.keyClicks(manager.title_edit, "Welcome back")
    qtbot.keyClicks(manager.abbr_edit, "wb")
    qtbot.keyClicks(manager.body_edit, "Welcome back {frist_name}!")
    assert not manager.save_button.isEnabled()
    assert "Unknown placeholder {frist_name}" in manager.problems.text()
    assert "{first_name}" in manager.problems.text()
    manager.body_edit.setPlainText("Welcome back {first_name}!")
    assert manager.save_button.isEnabled() and not manager.problems.isVisible()
    assert manager.preview.toPlainText() == snip.render("Welcome back {first_name}!", manager.sample)
    qtbot.keyClick(manager.body_edit, Qt.Key.Key_S, CTRL)
    qtbot.waitUntil(lambda: snip.find_by_abbreviation("wb") is not None, timeout=5000)
    # the composer's map follows: ;wb expands right away
    qtbot.waitUntil(lambda: "wb" in window.composer.abbreviations, timeout=5000)


def test_snippets_window_deletes_with_undo(qtbot, window):
    manager = _open_manager(qtbot, window)
    row = next(r for r, data in enumerate(manager.rows) if data["abbreviation"] == "thx")
    manager.table.setCurrentCell(row, 0)
    snippet_id = manager.current_id
    manager.table.setFocus()
    qtbot.keyClick(manager.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: snip.find_by_abbreviation("thx") is None, timeout=5000)
    qtbot.waitUntil(lambda: manager.undo_button.isVisible(), timeout=3000)
    assert "Deleted" in manager.status.currentMessage()
    qtbot.waitUntil(lambda: "thx" not in window.composer.abbreviations, timeout=5000)
    qtbot.keyClick(manager.table, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(lambda: snip.find_by_abbreviation("thx") is not None, timeout=5000)
    assert snip.find_by_abbreviation("thx").id == snippet_id
    assert snip.find_by_abbreviation("thx").favorite_slot == 2
    qtbot.waitUntil(lambda: "thx" in window.composer.abbreviations, timeout=5000)


def test_bad_csv_import_names_line_and_field_and_imports_nothing(qtbot, window, tmp_path, monkeypatch):
    manager = _open_manager(qtbot, window)
    bad = tmp_path / "bad.csv"
    bad.write_text("abbreviation,title,body\nnew1,First,Hello {first_name}\nnew2,Second,Hi {frist_name}\n",
                   encoding="utf-8")
    monkeypatch.setattr(
        "socialdesk.ui.snippets_window.QFileDialog.getOpenFileName", lambda *a, **k: (str(bad), "")
    )
    shown = []
    monkeypatch.setattr("socialdesk.ui.snippets_window.QMessageBox.warning", lambda *a: shown.append(a[2]))
    before = Snippet.select().count()
    manager.import_button.click()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert "Line 3" in shown[0] and "field 'body'" in shown[0] and "Nothing was imported" in shown[0]
    assert Snippet.select().count() == before
    assert snip.find_by_abbreviation("new1") is None


def test_export_then_import_round_trip(qtbot, window, tmp_path, monkeypatch):
    manager = _open_manager(qtbot, window)
    out = tmp_path / "snippets.csv"
    monkeypatch.setattr(
        "socialdesk.ui.snippets_window.QFileDialog.getSaveFileName", lambda *a, **k: (str(out), "CSV (*.csv)")
    )
    manager.export_button.click()
    qtbot.waitUntil(out.exists, timeout=5000)
    assert out.read_text(encoding="utf-8") == snip.export_csv(window.core.store)
    monkeypatch.setattr(
        "socialdesk.ui.snippets_window.QFileDialog.getOpenFileName", lambda *a, **k: (str(out), "")
    )
    asked = []
    monkeypatch.setattr(
        "socialdesk.ui.snippets_window.QMessageBox.question",
        lambda *a: asked.append(a[2]) or __import__("PySide6.QtWidgets").QtWidgets.QMessageBox.StandardButton.Yes,
    )
    manager.import_button.click()
    qtbot.waitUntil(lambda: "Imported" in manager.status.currentMessage(), timeout=5000)
    assert asked and "replace" in asked[0]
    assert snip.export_csv(window.core.store) == out.read_text(encoding="utf-8")


def test_render_pngs(qtbot, window, tmp_path):
    """Renders the composer with the nudge and the palette open, and the Snippets window, to PNGs
    (run with --basetemp to look at them)."""
    composer, ctx = _ready(qtbot, window)
    qtbot.keyClicks(composer.edit, ";closed")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Space)
    assert composer.nudge.isVisible() == bool(ctx.first_name)
    _feature(window).open_palette()
    palette = _feature(window).palette
    qtbot.keyClicks(palette.search, "order")
    qtbot.waitUntil(lambda: palette.listing.count() >= 1 and palette.preview.toPlainText() != "", timeout=3000)
    QApplication.processEvents()
    shot = window.grab()
    painter = QPainter(shot)
    painter.drawPixmap(window.mapFromGlobal(palette.mapToGlobal(QPoint(0, 0))), palette.grab())
    painter.end()
    assert shot.save(str(tmp_path / "composer_with_palette.png"))
    palette.reject()
    manager = _open_manager(qtbot, window)
    manager.body_edit.setPlainText(manager.body_edit.toPlainText() + " {frist_name}")
    assert not manager.save_button.isEnabled()
    assert manager.grab().save(str(tmp_path / "snippets_window.png"))
