"""GUI tests for Tools → Accounts… and the Add account flow (socialdesk/ui/accounts_dialog.py, account_dialog.py, account_form.py).

The email account is added against real local servers (pymap IMAP + aiosmtpd SMTP from
tests/mailserver.py); the keyring is the in-memory backend from tests/conftest.py.
"""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from socialdesk.connectors import registry
from socialdesk.core.store import Account
from socialdesk.secrets import KeyringSecrets
from socialdesk.ui.account_dialog import AccountDialog, visible_specs
from socialdesk.ui.accounts_dialog import AccountsDialog, AccountsFeature
from tests import mailserver
from tests.mailserver import HOST, PASSWORD, USER

email_harness = mailserver.email_harness


def feature(window) -> AccountsFeature:
    return next(f for f in window.features if isinstance(f, AccountsFeature))


def open_email_form(window, qtbot) -> AccountDialog:
    window.actions["add_account"].trigger()
    dialog = feature(window).add_dialog
    qtbot.waitExposed(dialog)
    kinds = [s.kind for s in dialog.chooser.specs]
    dialog.chooser.list.setCurrentRow(kinds.index("email"))
    qtbot.mouseClick(dialog.next_button, Qt.MouseButton.LeftButton)
    assert dialog.form is not None and dialog.form.spec.kind == "email"
    return dialog


def fill_email(dialog: AccountDialog, qtbot, harness, *, name: str = "Shop email", password: str = PASSWORD) -> None:
    form = dialog.form
    qtbot.keyClicks(form.name, name)
    values = {"address": USER, "display_name": "Corner Shop", "imap_host": HOST,
              "imap_port": str(harness.imap.port), "smtp_host": HOST, "smtp_port": str(harness.smtp.port)}
    for key, value in values.items():
        form.fields[key].clear()
        qtbot.keyClicks(form.fields[key], value)
    for key in ("imap_tls", "smtp_tls"):
        combo = form.fields[key]
        combo.setCurrentIndex(combo.findData("none"))
    qtbot.keyClicks(form.secret, password)


def keyring_entries(memory_keyring) -> dict:
    return {user: value for (_service, user), value in memory_keyring.values.items()}


def test_platform_list_shows_every_kind_with_what_it_needs(window, qtbot):
    window.actions["add_account"].trigger()
    dialog = feature(window).add_dialog
    items = [dialog.chooser.list.item(i).text() for i in range(dialog.chooser.list.count())]
    specs = registry.all_specs()
    assert len(items) == len(registry.kinds()) == len(specs)  # the demo profile also lists "demo"
    for spec, text in zip(specs, items, strict=True):
        assert text.startswith(spec.title)
        assert spec.needs in text
    email_text = items[registry.kinds().index("email")]
    assert "Can: email, real time" in email_text
    mastodon_text = items[registry.kinds().index("mastodon")]
    assert "direct messages" in mastodon_text and "status posts" in mastodon_text
    # Other profiles never offer the simulated platform.
    assert "demo" not in [s.kind for s in visible_specs("default")]
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_add_email_account_tests_then_saves_secret_only_in_keyring(window, qtbot, email_harness, memory_keyring):
    dialog = open_email_form(window, qtbot)
    fill_email(dialog, qtbot, email_harness)
    assert dialog.form.error.text() == ""
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Connected as" in dialog.form.result.text(), timeout=10000)
    assert "Corner Shop <shop@example.com>" in dialog.form.result.text()
    # Testing saves nothing.
    assert Account.get_or_none(Account.name == "Shop email") is None
    assert keyring_entries(memory_keyring) == {}

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    account = Account.get(Account.name == "Shop email")
    assert account.kind == "email"
    assert account.settings["imap_port"] == str(email_harness.imap.port)
    assert account.settings["imap_tls"] == "none"
    assert PASSWORD not in json.dumps(account.settings)
    assert keyring_entries(memory_keyring) == {"demo/Shop email/password": PASSWORD}
    assert "Added Shop email" in window.statusBar().currentMessage()


def test_wrong_password_shows_auth_error_and_saves_nothing(window, qtbot, email_harness, memory_keyring):
    dialog = open_email_form(window, qtbot)
    fill_email(dialog, qtbot, email_harness, password="not-the-password")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "rejected the username or password" in dialog.form.error.text(), timeout=10000)
    assert dialog.form.result.text() == ""

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10000)
    assert "rejected the username or password" in dialog.form.error.text()
    assert "not-the-password" not in dialog.form.error.text()
    assert dialog.isVisible()  # the owner can fix the password: nothing typed is lost
    assert dialog.form.name.text() == "Shop email"
    assert Account.get_or_none(Account.name == "Shop email") is None
    assert keyring_entries(memory_keyring) == {}


def test_plaintext_to_a_remote_host_is_refused_at_once(window, qtbot, memory_keyring):
    dialog = open_email_form(window, qtbot)
    form = dialog.form
    qtbot.keyClicks(form.name, "Remote")
    qtbot.keyClicks(form.fields["address"], USER)
    qtbot.keyClicks(form.fields["imap_host"], "mail.example.com")
    form.fields["imap_tls"].setCurrentIndex(form.fields["imap_tls"].findData("none"))
    assert "Refusing an unencrypted IMAP connection to mail.example.com" in form.error.text()
    assert "127.0.0.1 / localhost" in form.error.text()
    qtbot.keyClicks(form.secret, "pw")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert not dialog.busy  # refused before any background work
    assert "Refusing an unencrypted" in form.error.text()
    assert Account.get_or_none(Account.name == "Remote") is None
    assert keyring_entries(memory_keyring) == {}
    # Back to encryption: the message goes away.
    form.fields["imap_tls"].setCurrentIndex(form.fields["imap_tls"].findData("ssl"))
    assert form.error.text() == ""


def test_missing_name_and_password_are_explained(window, qtbot):
    dialog = open_email_form(window, qtbot)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "Give the account a name" in dialog.form.error.text()
    qtbot.keyClicks(dialog.form.name, "a/b")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert "cannot contain" in dialog.form.error.text()


@pytest.mark.parametrize("confirm", [False, True])
def test_remove_asks_first_and_forgets_the_keyring_secret(window, qtbot, monkeypatch, memory_keyring, confirm):
    name = "Email (demo)"
    KeyringSecrets("demo", name).set("password", "demo-secret")
    asked: list[str] = []

    def question(_parent, _title, text, *_args):
        asked.append(text)
        return QMessageBox.StandardButton.Yes if confirm else QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", question)
    window.actions["accounts"].trigger()
    dialog: AccountsDialog = feature(window).dialog
    qtbot.waitUntil(lambda: len(dialog.rows) > 0, timeout=5000)
    row = [a["name"] for a in dialog.rows].index(name)
    assert dialog.table.item(row, 1).text() == "Email · Demo"  # the platform it simulates
    dialog.table.selectRow(row)
    qtbot.mouseClick(dialog.buttons["remove"], Qt.MouseButton.LeftButton)
    assert len(asked) == 1 and "conversations and messages are deleted" in asked[0]
    if not confirm:
        assert Account.get_or_none(Account.name == name) is not None
        assert KeyringSecrets("demo", name).get("password") == "demo-secret"
        return
    qtbot.waitUntil(lambda: name not in [a["name"] for a in dialog.rows], timeout=5000)
    assert Account.get_or_none(Account.name == name) is None
    assert KeyringSecrets("demo", name).get("password") is None
    assert f"Removed {name}" in dialog.status.text()


def test_disable_and_enable_an_account(window, qtbot):
    window.actions["accounts"].trigger()
    dialog: AccountsDialog = feature(window).dialog
    qtbot.waitUntil(lambda: len(dialog.rows) > 0, timeout=5000)
    dialog.table.selectRow(0)
    name = dialog.rows[0]["name"]
    qtbot.mouseClick(dialog.buttons["toggle"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.table.item(0, 2).text() == "disabled", timeout=5000)
    assert Account.get(Account.name == name).enabled is False
    assert dialog.buttons["toggle"].text() == "&Enable"
    qtbot.mouseClick(dialog.buttons["toggle"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: Account.get(Account.name == name).enabled, timeout=5000)


def test_relogin_with_a_new_password_stores_it_and_polls_again(window, qtbot, email_harness, memory_keyring):
    name = "Shop email"
    settings = dict(email_harness.settings)
    with window.core.store.write():
        Account.create(kind="email", name=name, settings=settings, created_at=window.core.clock.now(),
                       state="auth_error", last_error="The mail server rejected the username or password")
    KeyringSecrets("demo", name).set("password", "old-password")
    window.actions["accounts"].trigger()
    accounts: AccountsDialog = feature(window).dialog
    qtbot.waitUntil(lambda: name in [a["name"] for a in accounts.rows], timeout=5000)
    row = [a["name"] for a in accounts.rows].index(name)
    assert accounts.table.item(row, 2).text() == "login needed"
    assert "rejected" in accounts.table.item(row, 3).text()
    accounts.table.selectRow(row)
    qtbot.mouseClick(accounts.buttons["relogin"], Qt.MouseButton.LeftButton)
    dialog = accounts.child
    assert dialog.form.name.isReadOnly() and dialog.form.name.text() == name
    assert dialog.form.fields["imap_host"].text() == HOST
    # Without a new password the stored (wrong) one is tested.
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "rejected" in dialog.form.error.text(), timeout=10000)
    qtbot.keyClicks(dialog.form.secret, PASSWORD)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    assert KeyringSecrets("demo", name).get("password") == PASSWORD
    account = Account.get(Account.name == name)
    assert (account.state, account.last_error) == ("new", "")
    qtbot.waitUntil(lambda: accounts.table.item(row, 2).text() == "waiting for first sync", timeout=5000)


def test_tab_order_runs_through_the_form_then_test_save_cancel(window, qtbot):
    dialog = open_email_form(window, qtbot)
    form = dialog.form
    advanced = form.spec.advanced_settings
    assert advanced and not form.more.isVisible()  # folded away until asked for
    chain = [form.name, *(w for k, w in form.fields.items() if k not in advanced), form.secret, form.more_button,
             *(w for k, w in form.fields.items() if k in advanced), dialog.test_button, dialog.save_button,
             dialog.cancel_button]

    def next_tab_stop(widget):  # the chain also holds containers, which Tab skips (no focus policy)
        following = widget.nextInFocusChain()
        while not following.focusPolicy() & Qt.FocusPolicy.TabFocus:
            following = following.nextInFocusChain()
        return following

    for widget, following in zip(chain, chain[1:], strict=False):
        assert next_tab_stop(widget) is following


def test_first_start_without_accounts_says_how_to_begin(qtbot, fresh_window):
    """A new profile has no account: the empty queue explains, and its button opens "Add account"."""
    core, win = fresh_window
    assert "No accounts yet" in win.empty_label.text() and "socialdesk --demo" in win.empty_label.text()
    qtbot.keyClick(win.add_account_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: feature(win).add_dialog is not None and feature(win).add_dialog.isVisible(),
                    timeout=5000)
    feature(win).add_dialog.reject()

    with core.store.write():
        Account.create(kind="demo", name="Shop", settings={"channel": "telegram"}, created_at=core.clock.now())
    win.refresh_accounts()
    qtbot.waitUntil(lambda: not win.add_account_button.isVisible(), timeout=5000)
    assert win.empty_label.text() == "Nothing awaiting an answer. 🎉"


def test_a_slow_test_shows_that_it_waits_and_can_be_stopped(window, qtbot, email_harness):
    """Issue 17.12: a test in progress shows a busy bar, the seconds waited and a Stop button, instead of
    a minute of silence; stopping it ignores the late answer and saves nothing."""
    import socket

    dialog = open_email_form(window, qtbot)
    assert dialog.form.name.placeholderText().endswith("e.g. Shop Email")  # the platform's own example
    fill_email(dialog, qtbot, email_harness)
    with socket.socket() as silent:  # accepts the connection, never sends the IMAP greeting
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        dialog.form.fields["imap_port"].clear()
        qtbot.keyClicks(dialog.form.fields["imap_port"], str(silent.getsockname()[1]))
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.busy, timeout=5000)
        assert dialog.progress.isVisible() and dialog.test_button.isEnabled()
        assert dialog.test_button.text().replace("&", "") == "Stop test"
        assert not dialog.save_button.isEnabled()
        qtbot.waitUntil(lambda: dialog.form.result.text().endswith(" s"), timeout=10000)  # seconds waited
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        assert not dialog.busy and not dialog.progress.isVisible()
        assert dialog.form.result.text() == "Test stopped. Nothing was saved."
        assert dialog.save_button.isEnabled() and dialog.test_button.text().replace("&", "") == "Test connection"
    # The abandoned test ends now (the socket closed); its answer must not reach the form.
    qtbot.wait(300)
    window.tasks.wait(10000)
    assert dialog.form.result.text() == "Test stopped. Nothing was saved." and dialog.form.error.text() == ""
    assert Account.get_or_none(Account.name == "Shop email") is None


def test_the_address_fills_in_the_servers_and_the_rest_stays_folded(window, qtbot, monkeypatch):
    """Issue 17.12: known providers fill the server settings from the address (looked up in the
    background, from the provider's published autoconfig document); what the owner typed is kept."""
    import functools

    from socialdesk.connectors import email_autoconfig
    from tests.unit.test_email_autoconfig import ISPDB_DOC, Server

    server = Server({"/ispdb/shop.example": (200, ISPDB_DOC)})
    try:
        monkeypatch.setattr(email_autoconfig, "lookup",
                            functools.partial(email_autoconfig.lookup, sources=server.sources()))
        dialog = open_email_form(window, qtbot)
        form = dialog.form
        assert not form.more.isVisible() and form.fields["imap_host"].isVisible()
        qtbot.keyClicks(form.fields["smtp_host"], "mail.my-own.example")  # typed first: must be kept
        qtbot.keyClicks(form.fields["address"], "sam@shop.example")
        form.fields["address"].editingFinished.emit()  # what the field sends when the owner tabs away
        qtbot.waitUntil(lambda: "filled in from Thunderbird's provider list" in form.result.text(), timeout=10000)
        assert form.fields["imap_host"].text() == "imap.shop.example"
        assert form.fields["imap_port"].text() == "993"
        assert form.fields["smtp_host"].text() == "mail.my-own.example"
        assert form.fields["smtp_tls"].currentData() == "starttls" and form.fields["smtp_port"].text() == "587"
        assert not form.more.isVisible()  # filled in, still folded away

        qtbot.keyClicks(form.fields["address"], "x")  # sam@shop.examplex: nothing published
        form.fields["address"].editingFinished.emit()
        qtbot.waitUntil(lambda: "No published server settings" in form.result.text(), timeout=10000)
        assert form.more.isVisible()  # unfolded: the owner fills in the rest
        assert form.fields["imap_host"].text() == "imap.shop.example"  # nothing filled was taken away
    finally:
        server.close()
