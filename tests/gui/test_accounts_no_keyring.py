"""Issue 12 item 1 in the window: without a usable keyring, Add account → Save behaves as `account add`
(secrets.require_keyring first): one message naming what to install, nothing tested, stored or created."""

from __future__ import annotations

import keyring
from keyring.backends import fail
from PySide6.QtCore import Qt

from socialdesk.core.store import Account
from socialdesk.ui import accounts_dialog
from tests import mailserver
from tests.gui.test_accounts_ui import fill_email, open_email_form

email_harness = mailserver.email_harness


def test_save_without_a_keyring_creates_nothing_and_says_what_to_install(window, qtbot, email_harness,
                                                                        monkeypatch):
    tested = []
    real_check = accounts_dialog.check_connection
    monkeypatch.setattr(accounts_dialog, "check_connection", lambda *a, **k: tested.append(a) or real_check(*a, **k))
    keyring.set_keyring(fail.Keyring())  # the conftest fixture restores the test keyring afterwards
    dialog = open_email_form(window, qtbot)
    fill_email(dialog, qtbot, email_harness)

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy and dialog.form.error.text() != "", timeout=10000)
    message = dialog.form.error.text()
    for words in ("Secret Service", "KWallet", "keyrings.alt", "Nothing was saved"):
        assert words in message
    assert dialog.isVisible()  # nothing typed is lost
    assert Account.get_or_none(Account.name == "Shop email") is None
    assert tested == []  # the keyring is checked before the connection is tested
