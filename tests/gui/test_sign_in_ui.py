"""GUI tests of the browser sign-in in Add account (ui/account_dialog.py on connectors/oauth.py).

The browser is simulated: the dialog's `open_url` is replaced by an HTTP GET (on a helper thread, as a
browser is another process) to the fake Mastodon instance, which plays the owner pressing "Authorize"
and redirects to the dialog's loopback listener.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import threading

import pytest
import requests
from PySide6.QtCore import Qt

from socialdesk.connectors import demo, registry
from socialdesk.connectors.base import AccountInfo
from socialdesk.connectors.oauth import AuthRequest, LoginAccount
from socialdesk.core.store import Account
from socialdesk.ui import account_dialog
from tests.fakes import mastodon as fakes_mastodon
from tests.gui.test_accounts_ui import feature, keyring_entries

mastodon_fake = fakes_mastodon.mastodon_fake


def browser(opened: list[str]):
    def open_url(url: str) -> None:
        opened.append(url)
        threading.Thread(target=lambda: requests.get(url, timeout=10), daemon=True).start()
    return open_url


def mastodon_form(window, qtbot, fake, name: str = "Shop toots"):
    window.actions["add_account"].trigger()
    dialog = feature(window).add_dialog
    dialog.chooser.list.setCurrentRow([s.kind for s in dialog.chooser.specs].index("mastodon"))
    dialog.next_step()
    qtbot.keyClicks(dialog.form.name, name)
    dialog.form.fields["instance"].setText(fake.url)
    return dialog


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_mastodon_account_is_added_through_the_loopback_sign_in(window, qtbot, mastodon_fake, memory_keyring):
    mastodon_fake.max_characters = 5_000
    dialog = mastodon_form(window, qtbot, mastodon_fake)
    form = dialog.form
    opened: list[str] = []
    dialog.open_url = browser(opened)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert "Sign in in the browser first" in form.error.text()

    qtbot.mouseClick(form.login_button, Qt.MouseButton.LeftButton)
    # The browser opened the instance's page, came back to the listener, and the dialog signed in.
    qtbot.waitUntil(lambda: "Connected as The Shop" in form.result.text(), timeout=10000)
    assert opened == [form.url.text()] and "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in opened[0]
    assert keyring_entries(memory_keyring) == {}  # nothing is stored before Save
    assert not form.picks.isVisible()  # one account: nothing to pick

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    account = Account.get(Account.name == "Shop toots")
    assert account.kind == "mastodon" and account.settings == {"instance": mastodon_fake.url, "text_limit": 5_000}
    assert set(keyring_entries(memory_keyring)) == {"demo/Shop toots/oauth_token", "demo/Shop toots/client_id",
                                                    "demo/Shop toots/client_secret"}


def test_pasted_code_signs_in_where_the_browser_cannot_come_back(window, qtbot, mastodon_fake, memory_keyring):
    mastodon_fake.refuse_loopback = True  # an instance that takes only the out-of-band code
    dialog = mastodon_form(window, qtbot, mastodon_fake, name="Pasted")
    form = dialog.form
    opened: list[str] = []
    dialog.open_url = opened.append
    qtbot.mouseClick(form.login_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(opened), timeout=10000)
    assert "paste the code" in form.result.text()
    page = requests.get(opened[0], timeout=10)  # the owner reads the code on the instance's page
    qtbot.keyClicks(form.code, re.search(r'value="([0-9a-f]+)"', page.text).group(1))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)  # signs in, then saves
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    assert Account.get(Account.name == "Pasted").kind == "mastodon"
    assert "demo/Pasted/oauth_token" in keyring_entries(memory_keyring)


def test_cancelling_a_sign_in_frees_the_port_and_stores_nothing(window, qtbot, mastodon_fake, memory_keyring):
    dialog = mastodon_form(window, qtbot, mastodon_fake)
    form = dialog.form
    dialog.open_url = lambda url: None  # the owner never finishes in the browser
    qtbot.mouseClick(form.login_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: form.flow is not None and form.flow.listener is not None and form.url.text() != "",
                    timeout=10000)
    port = form.flow.listener.port
    assert listening(port)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and not listening(port)
    assert keyring_entries(memory_keyring) == {} and Account.get_or_none(Account.name == "Shop toots") is None


class TwoPagesLogin:
    """A sign-in giving access to two accounts, as one Meta login gives several Pages."""

    instructions = "Sign in and allow socialdesk."

    def __init__(self, settings):
        self.settings = settings

    def start(self, *, loopback=True, browser=None):
        return AuthRequest(url="https://login.example/authorize?state=s", mode="loopback")

    def wait(self, timeout=None):
        return {"code": "c", "state": "s"}

    def finish(self, params):
        return [LoginAccount(label=label, info=AccountInfo(display_name=label),
                             secrets={"password": f"token of {label}"}, settings={"channel": channel})
                for label, channel in (("Bakery Page", "mastodon"), ("Bakery Instagram", "bluesky"))]

    def cancel(self):
        pass


@pytest.fixture
def two_pages(monkeypatch):
    spec = dataclasses.replace(demo.SPEC, title="Pages (test)", login_flow=TwoPagesLogin)
    monkeypatch.setattr(account_dialog, "visible_specs", lambda profile: [spec])
    return spec


def test_several_accounts_of_one_sign_in_are_picked_with_check_boxes(window, qtbot, two_pages, memory_keyring):
    window.actions["add_account"].trigger()
    dialog = feature(window).add_dialog
    dialog.next_step()
    form = dialog.form
    dialog.open_url = lambda url: None
    qtbot.keyClicks(form.name, "Shop")
    qtbot.mouseClick(form.login_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: form.picks.isVisible(), timeout=10000)
    assert [form.picks.item(i).text() for i in range(form.picks.count())] == ["Bakery Page", "Bakery Instagram"]
    assert "tick the ones to add" in form.result.text()

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "Tick the accounts to add" in form.error.text()  # nothing ticked: nothing added

    form.picks.item(1).setCheckState(Qt.CheckState.Checked)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    added = Account.get(Account.name == "Shop")
    assert added.settings["channel"] == "bluesky"
    assert keyring_entries(memory_keyring) == {"demo/Shop/password": "token of Bakery Instagram"}
    assert registry.secret_names("demo") == ("password",)
