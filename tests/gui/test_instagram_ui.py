"""GUI: "Add account → Instagram" runs the one Meta sign-in and offers only the Instagram account it
reaches (the browser step simulated against the fake Graph API, tests/fakes/instagram.py)."""

from __future__ import annotations

import pytest
import requests
from PySide6.QtCore import Qt

from socialdesk.core.store import Account
from tests.fakes.instagram import APP_ID, APP_SECRET, IG_USER_ID, PAGE_ID, InstagramFake
from tests.gui.test_accounts_ui import feature, keyring_entries


@pytest.fixture
def instagram_fake():
    fake = InstagramFake(lifetime=120)
    with fake.running():
        yield fake


def test_an_instagram_account_is_added_through_the_meta_sign_in(window, qtbot, instagram_fake, memory_keyring):
    window.actions["add_account"].trigger()
    dialog = feature(window).add_dialog
    dialog.chooser.list.setCurrentRow([s.kind for s in dialog.chooser.specs].index("instagram"))
    dialog.next_step()
    form = dialog.form
    qtbot.keyClicks(form.name, "Insta")
    form.fields["app_id"].setText(APP_ID)
    form.fields["graph_url"].setText(instagram_fake.url)
    qtbot.keyClicks(form.secret, APP_SECRET)
    opened: list[str] = []
    dialog.open_url = opened.append
    qtbot.mouseClick(form.login_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(opened), timeout=10000)
    landed = requests.get(opened[0], allow_redirects=False, timeout=10).headers["Location"]
    qtbot.keyClicks(form.code, landed)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: form.picks.isVisible() or not dialog.isVisible(), timeout=10000)
    if dialog.isVisible():  # a pick list, holding the Instagram account only (the Page is not offered here)
        assert [form.picks.item(i).text() for i in range(form.picks.count())] == [
            "Instagram @juniperandrye (linked to Juniper & Rye)"]
        form.picks.item(0).setCheckState(Qt.CheckState.Checked)
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    account = Account.get(Account.name == "Insta")
    assert account.kind == "instagram"
    assert (account.settings["ig_user_id"], account.settings["page_id"]) == (IG_USER_ID, PAGE_ID)
    assert set(keyring_entries(memory_keyring)) == {"demo/Insta/oauth_token", "demo/Insta/app_secret"}
