"""Issue 12 items 1 and 2 in the window's Add account dialog.

- Without a usable keyring, Save behaves as `account add` (secrets.require_keyring first): one message
  naming what to install, nothing tested, stored or created.
- No error the form shows quotes the typed password (secrets.error_text / remember)."""

from __future__ import annotations

import keyring
from keyring.backends import fail
from PySide6.QtCore import Qt

from socialdesk.connectors.base import AccountInfo, PermanentError
from socialdesk.core.store import Account
from socialdesk.ui import account_dialog, account_form
from tests import mailserver
from tests.gui.test_accounts_ui import fill_email, open_email_form

email_harness = mailserver.email_harness


def test_save_without_a_keyring_creates_nothing_and_says_what_to_install(window, qtbot, email_harness,
                                                                        monkeypatch):
    tested = []
    real_check = account_dialog.check_connection
    monkeypatch.setattr(account_dialog, "check_connection", lambda *a, **k: tested.append(a) or real_check(*a, **k))
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


SECRET = "Zähler€-Geheimnis-9"


def leaks(text: str) -> list[str]:
    found = [piece for piece in (SECRET, "Geheimnis") if piece in text]
    return found + [form for ch in "ä€" for form in (ch, ascii(ch)[1:-1]) if form in text]


def test_a_non_ascii_password_is_never_shown_in_the_form(window, qtbot, email_harness):
    dialog = open_email_form(window, qtbot)
    fill_email(dialog, qtbot, email_harness, password="")
    dialog.form.secret.setText(SECRET)  # QTest cannot type "€"
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy and dialog.form.error.text() != "", timeout=10000)
    assert leaks(dialog.form.error.text()) == [] and "position" not in dialog.form.error.text()


def test_a_server_echoing_the_typed_password_is_redacted():
    class Echo:
        def __init__(self, settings, secrets):
            self.secrets = secrets

        def check(self) -> AccountInfo:
            raise PermanentError(f"the server refused the password {self.secrets.get('password')}")

        def close(self) -> None:
            pass

    class Spec:
        factory = Echo

    from socialdesk.connectors.base import MemorySecrets

    typed = "typed-Pässwort-42"
    try:
        account_dialog.check_connection(Spec, {}, MemorySecrets({"password": typed}))
    except PermanentError as exc:
        shown = account_form._error_text(exc)
    assert shown == "the server refused the password [secret]"
