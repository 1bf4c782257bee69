"""GUI: adding a Facebook Page through the Meta sign-in in Add account (the browser step simulated against
the fake Graph API, tests/fakes/meta.py), and the composer offering the private reply to a comment."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
import requests
from PySide6.QtCore import Qt

from socialdesk.core.store import Account
from socialdesk.ui.composer import Composer
from tests.fakes.meta import APP_ID, APP_SECRET, PAGE_ID, MetaFake
from tests.gui.test_accounts_ui import feature, keyring_entries


@pytest.fixture
def meta_fake():
    fake = MetaFake(lifetime=120)
    with fake.running():
        yield fake


def test_a_facebook_page_is_added_through_the_meta_sign_in(window, qtbot, meta_fake, memory_keyring):
    window.actions["add_account"].trigger()
    dialog = feature(window).add_dialog
    dialog.chooser.list.setCurrentRow([s.kind for s in dialog.chooser.specs].index("facebook"))
    dialog.next_step()
    form = dialog.form
    qtbot.keyClicks(form.name, "Bakery")
    form.fields["app_id"].setText(APP_ID)
    form.fields["graph_url"].setText(meta_fake.url)
    qtbot.keyClicks(form.secret, APP_SECRET)
    opened: list[str] = []
    dialog.open_url = opened.append
    qtbot.mouseClick(form.login_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(opened), timeout=10000)
    assert "redirect_uri=https%3A%2F%2Fwww.facebook.com%2Fconnect%2Flogin_success.html" in opened[0]
    # The owner allows the app; the browser ends on login_success.html, whose address they paste.
    landed = requests.get(opened[0], allow_redirects=False, timeout=10).headers["Location"]
    qtbot.keyClicks(form.code, landed)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)  # signs in; two accounts to pick from
    qtbot.waitUntil(lambda: form.picks.isVisible(), timeout=10000)
    assert [form.picks.item(i).text() for i in range(form.picks.count())] == [
        "Facebook Page Juniper & Rye", "Instagram @juniperandrye (linked to Juniper & Rye)"]
    assert keyring_entries(memory_keyring) == {}  # nothing stored before Save
    form.picks.item(0).setCheckState(Qt.CheckState.Checked)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    account = Account.get(Account.name == "Bakery")
    assert account.kind == "facebook" and account.settings["page_id"] == PAGE_ID
    entries = keyring_entries(memory_keyring)
    assert set(entries) == {"demo/Bakery/oauth_token", "demo/Bakery/app_secret"}
    assert entries["demo/Bakery/app_secret"] == APP_SECRET


def test_the_form_explains_the_meta_app_and_advanced_access(window, qtbot):
    window.actions["add_account"].trigger()
    dialog = feature(window).add_dialog
    dialog.chooser.list.setCurrentRow([s.kind for s in dialog.chooser.specs].index("facebook"))
    dialog.next_step()
    texts = " ".join(label.text() for label in dialog.form.findChildren(type(dialog.form.error)))
    assert "Meta app" in texts and "Advanced Access" in texts and "App Review" in texts
    assert "login_success.html" in texts and "no longer offers Page ratings" in texts


def row(kind: str, channel: str = "facebook") -> SimpleNamespace:
    return SimpleNamespace(id=7 if kind == "comment" else 8, channel=channel, kind=kind, text_limit=None, preview="hi",
                           subject="", reply_window_ends_at=None, reply_window=None,
                           awaiting_since=datetime(2026, 11, 30, 11, tzinfo=timezone.utc), place="awaiting")


def test_the_composer_offers_the_private_reply_where_the_channel_has_it(qtbot):
    composer = Composer(now=lambda: datetime(2026, 11, 30, 12, tzinfo=timezone.utc))
    qtbot.addWidget(composer)
    composer.set_conversation(row("comment"))
    assert not composer.mode_box.isHidden()
    assert [composer.mode_box.itemText(i) for i in range(composer.mode_box.count())] == [
        "Reply", "Reply privately (in the person's inbox)"]
    assert "once per comment" in composer.mode_box.itemData(1, Qt.ItemDataRole.ToolTipRole)
    assert "mode" not in composer.reply_meta()
    composer.mode_box.setCurrentIndex(1)
    assert composer.reply_meta()["mode"] == "private"
    composer.clear()
    assert "mode" not in composer.reply_meta()  # the next reply is ordinary again
    composer.mode_box.setCurrentIndex(1)
    composer.set_conversation(row("dm"))  # Messenger chats have no such mode
    assert composer.mode_box.isHidden() and "mode" not in composer.reply_meta()
    composer.set_conversation(row("mention", channel="mastodon"))
    assert composer.mode_box.isHidden()
