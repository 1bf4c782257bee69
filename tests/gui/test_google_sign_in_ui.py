"""GUI: adding a Google account in Add account (ui/account_dialog.py) against the fake Google, the browser
step simulated (an HTTP GET on a helper thread: the fake consents and redirects to the loopback listener).
The owner types the OAuth client ID and secret; one sign-in offers the location and the YouTube channel."""

from __future__ import annotations

import threading

import pytest
import requests
from PySide6.QtCore import Qt

from socialdesk.connectors import google
from socialdesk.core.store import Account
from tests.fakes.google import CLIENT_ID, CLIENT_SECRET_VALUE, GoogleFake
from tests.gui.test_accounts_ui import feature, keyring_entries


@pytest.fixture
def google_fake():
    fake = GoogleFake()
    with fake.running():
        yield fake


def test_google_location_is_added_through_the_dialog(window, qtbot, google_fake, memory_keyring):
    window.actions["add_account"].trigger()
    dialog = feature(window).add_dialog
    dialog.chooser.list.setCurrentRow([s.kind for s in dialog.chooser.specs].index("google"))
    assert "Google" in dialog.chooser.list.currentItem().text()
    dialog.next_step()
    form = dialog.form
    # The three steps: where the client comes from, and that Google must approve the API first.
    shown = " ".join(label.text() for label in form.findChildren(type(form.error)))
    assert "1. In the Google Cloud console" in shown and "Application for Basic API Access" in shown
    assert "quota is 0" in shown and "3. Under APIs & Services → Credentials" in shown
    qtbot.keyClicks(form.name, "Shop")
    form.fields["client_id"].setText(CLIENT_ID)
    form.fields["api_base"].setText(google_fake.url)
    opened: list[str] = []
    dialog.open_url = lambda url: (opened.append(url), threading.Thread(
        target=lambda: requests.get(url, timeout=10), daemon=True).start())

    qtbot.mouseClick(form.login_button, Qt.MouseButton.LeftButton)
    assert "Enter the oauth client secret" in form.error.text()  # the secret comes first
    qtbot.keyClicks(form.secret, CLIENT_SECRET_VALUE)
    qtbot.mouseClick(form.login_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: form.picks.isVisible(), timeout=10000)
    assert [form.picks.item(i).text() for i in range(form.picks.count())] == [
        "The Shop – Main Street (Google reviews)", "Shop How-tos (YouTube)"]
    assert google.SCOPE_BUSINESS.replace(":", "%3A").replace("/", "%2F") in opened[0]
    assert keyring_entries(memory_keyring) == {}  # nothing stored before Save

    form.picks.item(0).setCheckState(Qt.CheckState.Checked)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    account = Account.get(Account.name == "Shop")
    assert account.kind == "google"
    assert account.settings["location"] == "accounts/1001/locations/2002"
    assert account.settings["client_id"] == CLIENT_ID and "client_secret" not in account.settings
    entries = keyring_entries(memory_keyring)
    assert entries["demo/Shop/client_secret"] == CLIENT_SECRET_VALUE and "demo/Shop/oauth_token" in entries
