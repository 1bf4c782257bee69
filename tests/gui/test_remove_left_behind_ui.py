"""The Accounts dialog tells the owner what stays on the platform after a removal that could not take it off
(core/account_service.Removal.left_behind: scheduled posts still to be published, and where to delete them)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from socialdesk.core import coverage
from socialdesk.core.store import Account
from socialdesk.ui import theme
from socialdesk.ui.accounts_dialog import AccountsDialog, AccountsFeature

LEFT = ("2 status posts that socialdesk scheduled on Mastodon for Email (demo) will still be published "
        "(socialdesk could not cancel them: offline). Delete them in a Mastodon app that lists scheduled posts: "
        "closing post on Fri 04 Dec 17:00 (“We're closed”).")


def test_what_stays_on_the_platform_is_shown_after_the_removal(window, qtbot, monkeypatch):
    name = "Email (demo)"
    calls: list[str] = []

    def before_removal(ctx, account):
        calls.append(account.name)
        return [LEFT]

    monkeypatch.setattr(coverage, "before_removal", before_removal)
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
    window.actions["accounts"].trigger()
    dialog: AccountsDialog = next(f for f in window.features if isinstance(f, AccountsFeature)).dialog
    qtbot.waitUntil(lambda: len(dialog.rows) > 0, timeout=5000)
    dialog.table.selectRow([a["name"] for a in dialog.rows].index(name))
    qtbot.mouseClick(dialog.buttons["remove"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: name not in [a["name"] for a in dialog.rows], timeout=5000)
    qtbot.waitUntil(lambda: LEFT in dialog.status.text(), timeout=5000)
    assert calls == [name] and Account.get_or_none(Account.name == name) is None
    assert dialog.status.text().startswith(f"Removed {name} and its stored credentials.\n")
    assert theme.colour(theme.ERROR) in dialog.status.styleSheet()  # shown as a warning
