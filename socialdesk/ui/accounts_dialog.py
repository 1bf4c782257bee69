"""Account management in the window: Tools → Accounts… lists accounts with Add, Test, Re-login,
Enable/Disable and Remove; "Add account" and "Re-login" open ui/account_dialog.py, which walks the owner
through choosing a platform and filling a form generated from its ConnectorSpec (ui/account_form.py).

Decisions:
- Every action runs core/account_service.py in the background; the dialog writes nothing itself. The lists
  (this dialog's and the window's) follow the service's change notification.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from socialdesk.connectors import registry
from socialdesk.connectors.base import (
    PermanentError,
)
from socialdesk.core import queue, usage
from socialdesk.core.changes import ChangeSet
from socialdesk.core.store import Account
from socialdesk.ui import icons, theme
from socialdesk.ui.account_dialog import AccountDialog
from socialdesk.ui.account_form import (
    _error_text,
    _info_text,
    _plain_label,
)
from socialdesk.ui.actions import ActionSpec

STATE_WORDS = {"new": "waiting for first sync", "ok": "OK", "syncing": "syncing", "backoff": "retrying soon",
               "rate_limited": "slowed down by the platform", "auth_error": "login needed", "error": "error"}


class AccountsDialog(QDialog):
    """The list of accounts with Add, Test, Re-login, Enable/Disable and Remove."""

    # "Usage": what the account spent where its platform bills or rations calls (core/usage.py).
    COLUMNS = ("Name", "Platform", "State", "Last error", "Usage")

    def __init__(self, window):
        super().__init__(window)
        self.window_ = window
        self.core = window.core
        self.rows: list[dict] = []
        self.child: AccountDialog | None = None
        self.setObjectName("accounts_dialog")
        self.setWindowTitle("Accounts")
        self.resize(760, 420)
        self.table = QTableWidget(0, len(self.COLUMNS), self)
        self.table.setObjectName("accounts_table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)  # a list of accounts, not a spreadsheet
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.status = _plain_label(self)
        self.status.setObjectName("accounts_status")
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for key, text, handler in (("add", "&Add…", self.add_account), ("test", "&Test", self.test_account),
                                   ("relogin", "&Re-login…", self.relogin_account),
                                   ("toggle", "&Disable", self.toggle_account),
                                   ("remove", "Re&move…", self.remove_account), ("close", "Close", self.reject)):
            button = QPushButton(text, self)
            button.setObjectName(f"accounts_{key}")
            button.setAutoDefault(False)
            button.clicked.connect(handler)
            self.buttons[key] = button
            if key == "close":
                row.addStretch(1)
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(row)
        self._update_buttons()
        window.engine_changed.connect(self._notified)
        self.load()

    def _notified(self, change: ChangeSet) -> None:
        """An account was added, edited or removed, or the engine changed an account's state."""
        if change.accounts and self.isVisible():
            self.load()

    # --- listing ----------------------------------------------------------------------------------------

    def load(self) -> None:
        now = self.core.clock.now()

        def work():
            rows = []
            for a in Account.select().order_by(Account.name):
                spent = usage.summary(a, now)
                rows.append({"id": a.id, "name": a.name, "kind": a.kind, "channel": queue.channel_of(a),
                             "enabled": a.enabled, "state": a.state,
                             "last_error": a.last_error, "settings": dict(a.settings or {}),
                             "usage": spent.text if spent is not None else ""})
            return rows

        self.window_.tasks.run(work, self._loaded, self._failed)

    def _loaded(self, rows: list[dict]) -> None:
        selected = self.selected()
        self.rows = rows
        self.table.setRowCount(len(rows))
        titles = {s.kind: s.title for s in registry.all_specs()}
        dark = theme.is_dark(self.table.palette())
        for i, account in enumerate(rows):
            state = STATE_WORDS.get(account["state"], account["state"]) if account["enabled"] else "disabled"
            channel = account.get("channel") or account["kind"]
            # The platform the account talks to, with its icon: an account simulating one (the demo's) says
            # which ("Bluesky · Demo"), not the same "Demo (simulated bakery)" on every row.
            platform = titles.get(account["kind"], account["kind"]) if channel == account["kind"] else (
                f"{icons.channel_label(channel)} · {icons.channel_label(account['kind'])}")
            values = (account["name"], platform, state, account["last_error"], account.get("usage", ""))
            for col, value in enumerate(values):
                self.table.setItem(i, col, QTableWidgetItem(value))
            self.table.item(i, 1).setIcon(icons.channel_icon(channel, 16, dark))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        keep = next((i for i, a in enumerate(rows) if selected and a["id"] == selected["id"]), 0 if rows else -1)
        self.table.selectRow(keep)
        if not rows:
            self.status.setText("No accounts yet. Press Add… to connect your first one.")
        self._update_buttons()

    def selected(self) -> dict | None:
        row = self.table.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) and self.table.selectedItems() else None

    def _update_buttons(self) -> None:
        account = self.selected()
        for key in ("test", "relogin", "toggle", "remove"):
            self.buttons[key].setEnabled(account is not None)
        self.buttons["toggle"].setText("&Enable" if account is not None and not account["enabled"] else "&Disable")

    def _failed(self, exc: Exception) -> None:
        theme.tint(self.status, theme.ERROR)
        self.status.setText(_error_text(exc))

    def _say(self, text: str) -> None:
        theme.untint(self.status)
        self.status.setText(text)

    def _changed(self, message: str) -> None:
        self._say(message)  # the list follows the change notification (`_notified`)

    # --- actions ------------------------------------------------------------------------------------------

    def add_account(self) -> None:
        self._open_child(AccountDialog(self.window_, parent=self))

    def relogin_account(self) -> None:
        account = self.selected()
        if account is None:
            return
        try:
            registry.spec(account["kind"])
        except registry.UnknownKindError:
            self._failed(PermanentError(f"socialdesk no longer knows the platform {account['kind']!r}."))
            return
        self._open_child(AccountDialog(self.window_, account=account, parent=self))

    def _open_child(self, dialog: AccountDialog) -> None:
        self.child = dialog
        dialog.accepted.connect(self._child_saved)
        dialog.open()

    def _child_saved(self) -> None:
        self._changed("Saved.")

    def test_account(self) -> None:
        account = self.selected()
        if account is None:
            return
        service, account_id, name = self.core.account_service, account["id"], account["name"]

        def work():
            return f"{name}: OK — {_info_text(service.test(account_id))}"

        def failed(exc: Exception) -> None:
            self._failed(exc)
            self.status.setText(f"{name}: {_error_text(exc)}")

        self._say(f"Testing {name}…")
        self.window_.tasks.run(work, self._changed, failed)

    def toggle_account(self) -> None:
        account = self.selected()
        if account is None:
            return
        service, account_id, enable = self.core.account_service, account["id"], not account["enabled"]

        def work():
            service.set_enabled(account_id, enable)
            return f"{account['name']} {'enabled' if enable else 'disabled'}."

        self.window_.tasks.run(work, self._changed, self._failed)

    def remove_account(self) -> None:
        account = self.selected()
        if account is None:
            return
        name = account["name"]
        answer = QMessageBox.question(
            self, "Remove account",
            f"Remove the account “{name}”?\n\nIts conversations and messages are deleted from socialdesk too "
            "(they stay on the platform), and its password or token is removed from the keyring. "
            "This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        service, account_id = self.core.account_service, account["id"]

        def work():
            return service.remove(account_id)

        def done(removal) -> None:
            self._changed(f"Removed {name} and its stored credentials.")
            if removal.left_behind:  # what socialdesk could not take off the platform stays there: say so
                theme.tint(self.status, theme.ERROR)
                self.status.setText("\n".join([self.status.text(), *removal.left_behind]))

        self._say(f"Removing {name}…")
        self.window_.tasks.run(work, done, self._failed)


class AccountsFeature:
    """Tools → Accounts… and Tools → Add account… (see ui/actions.py for the feature contract)."""

    ACTIONS = (
        ActionSpec("accounts", "Accounts…", "Tools", ("Ctrl+Shift+A",), "open_accounts",
                   "Add, test, re-login, disable or remove accounts"),
        ActionSpec("add_account", "Add account…", "Tools", (), "open_add_account",
                   "Connect a mailbox or a social media account"),
    )

    def __init__(self, core, tasks):
        self.core, self.tasks = core, tasks
        self.window = None
        self.dialog: AccountsDialog | None = None
        self.add_dialog: AccountDialog | None = None

    def attach(self, window) -> None:
        self.window = window

    def open_accounts(self) -> None:
        self.dialog = AccountsDialog(self.window)
        self.dialog.open()

    def open_add_account(self) -> None:
        self.add_dialog = AccountDialog(self.window)
        self.add_dialog.open()
