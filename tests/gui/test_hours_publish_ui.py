"""The hours editor's Listings tab: Check shows what a Google location would change, Publish writes it
(core/hours_publish.py through the connector), against the fake Google on 127.0.0.1."""

from __future__ import annotations

from PySide6.QtCore import Qt

from socialdesk.connectors.google import CLIENT_SECRET
from socialdesk.connectors.oauth import TOKEN_ENTRY
from socialdesk.core.store import Account
from socialdesk.secrets import KeyringSecrets
from tests.fakes.google import CLIENT_SECRET_VALUE, GoogleFake, settings_for
from tests.gui.test_hours_targets_ui import _open_hours


def test_listings_tab_checks_then_publishes_the_edited_hours(qtbot, window, demo_core, memory_keyring):
    fake = GoogleFake()
    with fake.running():
        keyring = KeyringSecrets("demo", "Maps")
        keyring.set(TOKEN_ENTRY, fake.issue_tokens().to_json())
        keyring.set(CLIENT_SECRET, CLIENT_SECRET_VALUE)
        with demo_core.store.write():
            Account.create(kind="google", name="Maps", settings=settings_for(fake), created_at=demo_core.clock.now())

        dialog = _open_hours(qtbot, window)
        dialog.day_edits[0].setText("08:00-16:00")  # Monday, edited and not saved
        qtbot.mouseClick(dialog.listings_check, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "what would change" in dialog.listings_text.toPlainText(), timeout=10000)
        text = dialog.listings_text.toPlainText()
        assert "Google (Maps): what would change:" in text and "Monday: 09:00–17:00 → 08:00–16:00" in text
        assert fake.patches == [] and dialog.listings_publish.isEnabled()

        qtbot.mouseClick(dialog.listings_publish, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "published." in dialog.listings_text.toPlainText(), timeout=10000)
        assert fake.patches[-1]["mask"] == ["regularHours", "specialHours"]
        monday = fake.locations["accounts/1001"][0]["regularHours"]["periods"][0]
        assert monday == {"openDay": "MONDAY", "openTime": {"hours": 8}, "closeDay": "MONDAY", "closeTime": {"hours": 16}}
        dialog.reject()
