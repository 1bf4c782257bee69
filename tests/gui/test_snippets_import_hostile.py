"""The window's snippet import says what the CLI says, in one line, for every bad file (issue 12, item 17)."""

from __future__ import annotations

import pytest

from socialdesk.core.store import Snippet
from tests.gui.test_snippets_ui import _open_manager


@pytest.mark.parametrize("name, content, message", [
    ("deep.json", b"[" * 100_000, "deep.json: Not a snippet list: the JSON is nested too deeply. Nothing was imported."),
    ("latin.csv", "abbreviation,title,body\nc,Café,x\n".encode("latin-1"),
     "latin.csv: The file is not UTF-8 text; save it as UTF-8 and try again. Nothing was imported."),
], ids=["deep", "latin-1"])
def test_a_bad_file_shows_the_clis_one_line(qtbot, window, tmp_path, monkeypatch, name, content, message):
    manager = _open_manager(qtbot, window)
    path = tmp_path / name
    path.write_bytes(content)
    monkeypatch.setattr("socialdesk.ui.snippets_window.QFileDialog.getOpenFileName", lambda *a, **k: (str(path), ""))
    shown = []
    monkeypatch.setattr("socialdesk.ui.snippets_window.QMessageBox.warning", lambda *a: shown.append(a[2]))
    before = Snippet.select().count()
    manager.import_button.click()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert shown == [message]
    assert Snippet.select().count() == before
