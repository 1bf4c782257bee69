"""GUI: adding an X account in the Add account dialog against the fake X API (tests/fakes/x.py), and its
spend in the Accounts list. The browser is simulated as in test_sign_in_ui.py: an HTTP GET to the fake,
which plays the owner pressing "Authorize app" and redirects to the dialog's listener on the registered port."""

from __future__ import annotations

import socket

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from socialdesk.connectors.usage import UsageEvent
from socialdesk.core import usage
from socialdesk.core.store import Account
from tests.fakes import x as fakes_x
from tests.gui.test_accounts_ui import feature, keyring_entries
from tests.gui.test_sign_in_ui import browser

x_fake = fakes_x.x_fake


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_x_is_added_through_the_registered_callback_and_shows_its_spend(window, qtbot, x_fake, memory_keyring):
    window.actions["add_account"].trigger()
    dialog = feature(window).add_dialog
    kinds = [s.kind for s in dialog.chooser.specs]
    assert "x" in kinds  # "Add account" offers X
    dialog.chooser.list.setCurrentRow(kinds.index("x"))
    dialog.next_step()
    form = dialog.form
    # The form says where the Client ID is and which callback address to register.
    assert any("Native App" in label.text() and "/callback" in label.text() for label in form.findChildren(QLabel))
    port = free_port()
    x_fake.register_callback(f"http://127.0.0.1:{port}/callback")
    qtbot.keyClicks(form.name, "Shop X")
    for key, value in {"client_id": fakes_x.CLIENT_ID, "callback_port": str(port), "api_base": x_fake.url,
                       "authorize_url": f"{x_fake.url}/i/oauth2/authorize"}.items():
        form.fields[key].setText(value)
    assert form.fields["usage_budget"].text() == "10"
    opened: list[str] = []
    dialog.open_url = browser(opened)
    qtbot.mouseClick(form.login_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Connected as Juniper & Rye" in form.result.text(), timeout=10000)
    assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback" in opened[0]
    assert keyring_entries(memory_keyring) == {}  # nothing stored before Save
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    account = Account.get(Account.name == "Shop X")
    assert account.kind == "x" and account.settings["user_id"] == fakes_x.SELF["id"]
    assert set(keyring_entries(memory_keyring)) == {"demo/Shop X/oauth_token"}

    # The meter moves: what the engine recorded shows in the Accounts list.
    core = window.core
    usage.record(core.store, account.id, [UsageEvent("reply_create", 3, core.clock.now().date())])
    feature(window).open_accounts()
    accounts = feature(window).dialog
    qtbot.waitUntil(lambda: accounts.table.rowCount() > 0 and any(
        accounts.table.item(r, 0).text() == "Shop X" for r in range(accounts.table.rowCount())), timeout=10000)
    row = next(r for r in range(accounts.table.rowCount()) if accounts.table.item(r, 0).text() == "Shop X")
    column = accounts.COLUMNS.index("Usage")
    assert accounts.table.item(row, column).text() == "$0.03 today · $0.03 this month of $10.00 budget"
