"""Account management in the window: Tools → Accounts… lists accounts; "Add account" walks the owner
through choosing a platform and filling a form generated from its ConnectorSpec.

Decisions:
- The rules are core/account_service.py's, the same the command line runs: names (1–80 characters, no
  "/"), settings from `spec.settings`, the keyring before anything else, the connection tested before
  anything is saved, a failed test or a missing keyring saves nothing, secrets in the keyring only.
  The dialog gathers the input, runs the service in the background and shows the outcome; it writes
  nothing itself. The lists (this dialog's and the window's) follow the service's change notification.
- While the owner types and tests, the secret (and any token a login flow obtains) lives in a
  MemorySecrets; only Save copies those values into the account's KeyringSecrets. Cancelling a
  half-finished Mastodon login therefore leaves nothing behind in the keyring.
- Browser sign-in (connectors/oauth.py): "Sign in in the browser" starts the spec's login flow in the
  background and opens its page (`open_url`); in loopback mode a background task waits for the
  browser while the form stays usable (the owner may paste the code or address instead, go Back or
  Cancel). Back, Cancel, Save and closing all end the flow, which frees its listener's port. A sign-in
  that gives access to several accounts shows them as check boxes; Save adds the ticked ones, named
  with `oauth.account_names`.
- Re-login reuses the same form with the name fixed and the settings filled in. An empty secret field
  means "keep the stored secret": the test then reads the keyring through `OverlaySecrets` (typed values
  first), and only what changed is written back. A new secret replaces every stored one (stale session
  tokens of the old password must not survive), then `engine.reset_account` polls again at once.
- Email settings are checked with `connectors.email.validate_settings` on every keystroke (pure, no
  network), so "plaintext only to this computer" and bad addresses show up before Test is pressed.
  Security settings (`*_tls`) are a choice, not free text.
- All network and database work runs in `window.tasks`; results carry a generation number so a late
  answer for a form the owner has already left is ignored. Buttons are disabled while work runs.
- Platform text (titles, capabilities, needs, errors, AccountInfo) is shown as plain text only.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from socialdesk import paths
from socialdesk.connectors import registry
from socialdesk.connectors.base import (
    CAPABILITIES,
    AccountInfo,
    ConnectorError,
    ConnectorSpec,
    LoginFlow,
    MemorySecrets,
    PermanentError,
)
from socialdesk.connectors.oauth import AuthRequest, LoginAccount, LoginCancelled, account_names, parse_pasted
from socialdesk.core.account_service import AccountError, OverlaySecrets, check_connection, name_problem
from socialdesk.core.changes import ChangeSet
from socialdesk.core.store import Account
from socialdesk.secrets import KeyringSecrets, NoKeyringError, error_text
from socialdesk.ui.actions import ActionSpec

log = logging.getLogger(__name__)

CAPABILITY_WORDS = {
    "dm": "direct messages",
    "comment": "comments",
    "mention": "mentions",
    "review": "reviews",
    "email": "email",
    "post_status": "status posts",
    "stream": "real time",
}
TLS_CHOICES = (("ssl", "SSL/TLS (encrypted)"), ("starttls", "STARTTLS (encrypted)"),
               ("none", "None — only for a server on this computer"))
STATE_WORDS = {"new": "waiting for first sync", "ok": "OK", "syncing": "syncing", "backoff": "retrying soon",
               "rate_limited": "slowed down by the platform", "auth_error": "login needed", "error": "error"}
ERROR_STYLE = "color:#b00020"
OK_STYLE = "color:#1b5e20"


def capability_text(capabilities: frozenset[str]) -> str:
    """The capabilities in words, in the contract's order: "direct messages, comments, real time"."""
    return ", ".join(CAPABILITY_WORDS.get(c, c) for c in CAPABILITIES if c in capabilities)


def visible_specs(profile_name: str) -> list[ConnectorSpec]:
    """Every platform the owner may add; the simulated one only on the demo profile."""
    return [s for s in registry.all_specs() if s.kind != "demo" or profile_name == paths.DEMO_PROFILE]


def _info_text(info: AccountInfo) -> str:
    text = f"Connected as {info.display_name}" + (f" ({info.handle})" if info.handle else "") + "."
    return "\n".join([text] + [f"Note: {note}" for note in info.notes])


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, (ConnectorError, NoKeyringError, AccountError)):
        return error_text(exc)
    return f"Unexpected problem ({type(exc).__name__}): {error_text(exc)}"


def _plain_label(parent: QWidget, style: str = "") -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if style:
        label.setStyleSheet(style)
    return label


class PlatformChooser(QWidget):
    """Step 1: one entry per platform with what it can do and what the owner needs."""

    def __init__(self, specs: list[ConnectorSpec], parent: QWidget | None = None):
        super().__init__(parent)
        self.specs = specs
        intro = QLabel("Which platform do you want to connect?", self)
        self.list = QListWidget(self)
        self.list.setObjectName("platform_list")
        self.list.setWordWrap(True)
        self.list.setSpacing(4)
        self.list.setAlternatingRowColors(True)
        intro.setBuddy(self.list)
        for spec in specs:
            item = QListWidgetItem(f"{spec.title}\nCan: {capability_text(spec.capabilities)}\nNeeds: {spec.needs}")
            item.setData(Qt.ItemDataRole.UserRole, spec.kind)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)

    def current_spec(self) -> ConnectorSpec | None:
        row = self.list.currentRow()
        return self.specs[row] if 0 <= row < len(self.specs) else None


class AccountForm(QWidget):
    """Step 2: name, the spec's settings, the secret or the login flow; errors and results below."""

    def __init__(self, spec: ConnectorSpec, parent: QWidget | None = None, *, account: dict | None = None):
        super().__init__(parent)
        self.spec = spec
        self.account = account  # {"id", "name", "settings"} when re-logging in
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel(self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setStyleSheet("font-weight:bold; font-size:14px")
        title.setText(spec.title if account is None else f"{spec.title}: {account['name']}")
        needs = _plain_label(self, "color:#555")
        needs.setText(f"You need: {spec.needs}")
        layout.addWidget(title)
        layout.addWidget(needs)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name = QLineEdit(self)
        self.name.setObjectName("field_name")
        self.name.setPlaceholderText("How socialdesk calls this account, e.g. Shop email")
        if account is not None:
            self.name.setText(account["name"])
            self.name.setReadOnly(True)
        form.addRow("Account &name", self.name)
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        current = (account or {}).get("settings") or {}
        for key, label, default in spec.settings:
            value = str(current.get(key, "" if account is not None else default))
            if key.endswith("_tls"):
                widget = QComboBox(self)
                for mode, text in TLS_CHOICES:
                    widget.addItem(text, mode)
                widget.setCurrentIndex(max(0, widget.findData(value or default)))
                widget.currentIndexChanged.connect(self._edited)
                label = label.split(":")[0]  # "IMAP security: ssl, starttls or none" — the choices are listed
            else:
                widget = QLineEdit(self)
                widget.setText(value)
                widget.textEdited.connect(self._edited)
            widget.setObjectName(f"field_{key}")
            self.fields[key] = widget
            form.addRow(label, widget)
        self.secret: QLineEdit | None = None
        if spec.secret_label:
            self.secret = QLineEdit(self)
            self.secret.setObjectName("field_secret")
            self.secret.setEchoMode(QLineEdit.EchoMode.Password)
            if account is not None:
                self.secret.setPlaceholderText("Leave empty to keep the stored one")
            self.secret.textEdited.connect(self._secret_edited)
            form.addRow(spec.secret_label, self.secret)
        self.login_button: QPushButton | None = None
        self.url: QLineEdit | None = None
        self.code: QLineEdit | None = None
        self.picks: QListWidget | None = None
        # The browser sign-in in progress (connectors/oauth.py) and the accounts it gave access to.
        self.flow: LoginFlow | None = None
        self.login_accounts: list[LoginAccount] = []
        if spec.login_flow is not None:
            self.login_button = QPushButton("Sign in in the &browser", self)
            self.login_button.setObjectName("login_start")
            self.url = QLineEdit(self)
            self.url.setObjectName("login_url")
            self.url.setReadOnly(True)
            self.url.setPlaceholderText("The address appears here; you can copy it")
            self.code = QLineEdit(self)
            self.code.setObjectName("field_code")
            self.code.setPlaceholderText("Only if the browser cannot come back: paste the code or the address")
            self.code.textEdited.connect(self._edited)
            # One sign-in may give access to several accounts (a Meta login: several Pages): each is a
            # check box, and Save adds the ticked ones.
            self.picks = QListWidget(self)
            self.picks.setObjectName("login_accounts")
            self.picks.setVisible(False)
            instructions = _plain_label(self, "color:#555")
            instructions.setText(getattr(spec.login_flow, "instructions", ""))
            form.addRow(instructions)
            form.addRow("Sign in", self.login_button)
            form.addRow("Sign-in page", self.url)
            form.addRow("&Code", self.code)
            form.addRow("Accounts", self.picks)
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if item is not None and field is not None and isinstance(item.widget(), QLabel):
                item.widget().setBuddy(field.widget())
        layout.addLayout(form)
        self.error = _plain_label(self, ERROR_STYLE)
        self.error.setObjectName("form_error")
        self.result = _plain_label(self, OK_STYLE)
        self.result.setObjectName("form_result")
        layout.addWidget(self.error)
        layout.addWidget(self.result)
        layout.addStretch(1)
        # Secrets typed and tokens obtained during this form's life; the keyring sees them only on Save.
        self.memory = MemorySecrets()
        self.secret_changed = account is None

    def last_field(self) -> QWidget:
        widgets = [self.name, *self.fields.values(), self.secret, self.login_button, self.url, self.code]
        return [w for w in widgets if w is not None][-1]

    def settings(self) -> dict:
        """The settings as the command line would store them: only the non-empty values."""
        values = {}
        for key, widget in self.fields.items():
            text = widget.currentData() if isinstance(widget, QComboBox) else widget.text().strip()
            if text:
                values[key] = text
        if self.account is not None:
            # Settings the spec does not list (poll_seconds, text_limit set from the CLI) are kept.
            kept = {k: v for k, v in (self.account.get("settings") or {}).items() if k not in self.fields}
            values = {**kept, **values}
        return values

    def problem(self) -> str:
        """What is wrong with the form right now, without any network: "" when nothing is."""
        problem = name_problem(self.name.text().strip())
        if problem:
            return problem
        if self.spec.kind == "email":
            from socialdesk.connectors.email import validate_settings

            try:
                validate_settings(self.settings())
            except PermanentError as exc:
                return str(exc)
        if self.secret is not None and self.secret_changed and not self.secret.text():
            return f"Enter the {self.spec.secret_label.lower()}."
        return ""

    def secrets(self, profile_name: str):
        """What the test and Save run with: the typed values, over the keyring only when re-logging in
        without a new secret."""
        if self.secret is not None and self.secret.text():
            self.memory.set(self.spec.secret_name, self.secret.text())
        if self.account is not None and not self.replaces_secrets():
            return OverlaySecrets(self.memory, KeyringSecrets(profile_name, self.account["name"]))
        return self.memory

    def replaces_secrets(self) -> bool:
        return self.secret_changed or self.spec.login_flow is not None and bool(self.login_accounts)

    def show_accounts(self, accounts: list[LoginAccount]) -> None:
        """The accounts a sign-in gave access to: one is simply used; several become check boxes."""
        self.login_accounts = list(accounts)
        if len(accounts) == 1:
            self.memory = MemorySecrets(dict(accounts[0].secrets))
        assert self.picks is not None
        self.picks.clear()
        for account in accounts:
            item = QListWidgetItem(account.label)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.picks.addItem(item)
        self.picks.setVisible(len(accounts) > 1)

    def chosen_accounts(self) -> list[LoginAccount]:
        if len(self.login_accounts) <= 1 or self.picks is None:
            return list(self.login_accounts)
        return [account for row, account in enumerate(self.login_accounts)
                if self.picks.item(row).checkState() == Qt.CheckState.Checked]

    def end_login(self) -> None:
        """Stop a sign-in in progress: its listener's port is freed; nothing was stored."""
        flow, self.flow = self.flow, None
        if flow is not None:
            flow.cancel()

    def show_error(self, text: str) -> None:
        self.result.clear()
        self.error.setText(text)

    def show_result(self, text: str) -> None:
        self.error.clear()
        self.result.setText(text)

    def _edited(self, *_args) -> None:
        self.result.clear()
        self.error.setText(self.problem() if self.spec.kind == "email" else "")

    def _secret_edited(self, _text: str) -> None:
        self.secret_changed = bool(self.secret.text()) or self.account is None
        self.memory = MemorySecrets()  # a new secret starts a new session: no token of the old one
        self._edited()


class AccountDialog(QDialog):
    """Add an account (choose a platform, then the form) or re-login an existing one (the form only)."""

    def __init__(self, window, *, account: dict | None = None, parent: QWidget | None = None):
        super().__init__(parent or window)  # from the Accounts list: stacked on top of it
        self.window_ = window
        self.core = window.core
        self.account = account
        self.generation = 0
        self.busy = False
        self.form: AccountForm | None = None
        self.setObjectName("account_dialog")
        self.setWindowTitle("Add account" if account is None else "Re-login")
        self.resize(640, 560)
        self.stack = QStackedWidget(self)
        self.chooser = PlatformChooser(visible_specs(self.core.profile.name), self)
        self.chooser.list.itemActivated.connect(lambda _item: self.next_step())
        self.stack.addWidget(self.chooser)
        self.back_button = QPushButton("&Back", self)
        self.next_button = QPushButton("&Next", self)
        self.test_button = QPushButton("&Test connection", self)
        self.save_button = QPushButton("&Save", self)
        self.cancel_button = QPushButton("Cancel", self)
        for button, name in ((self.back_button, "back"), (self.next_button, "next"), (self.test_button, "test"),
                             (self.save_button, "save"), (self.cancel_button, "cancel")):
            button.setObjectName(f"button_{name}")
            button.setAutoDefault(False)
        self.back_button.clicked.connect(self.previous_step)
        self.next_button.clicked.connect(self.next_step)
        self.test_button.clicked.connect(self.test_connection)
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        for button in (self.next_button, self.test_button, self.save_button, self.cancel_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)
        if account is not None:
            self._show_form(registry.spec(account["kind"]))
        else:
            self._update_buttons()

    # --- steps ----------------------------------------------------------------------------------------

    def next_step(self) -> None:
        spec = self.chooser.current_spec()
        if spec is not None and self.stack.currentWidget() is self.chooser:
            self._show_form(spec)

    def previous_step(self) -> None:
        if self.account is None and self.form is not None:
            self.generation += 1  # answers for the abandoned form are ignored
            self.form.end_login()
            self.busy = False
            self.stack.removeWidget(self.form)
            self.form.deleteLater()
            self.form = None
            self.stack.setCurrentWidget(self.chooser)
            self.chooser.list.setFocus()
            self._update_buttons()

    def _show_form(self, spec: ConnectorSpec) -> None:
        self.form = AccountForm(spec, self, account=self.account)
        if self.form.login_button is not None:
            self.form.login_button.clicked.connect(self.start_login)
        self.stack.addWidget(self.form)
        self.stack.setCurrentWidget(self.form)
        self._update_buttons()
        first = self.form.secret if self.account is not None and self.form.secret is not None else self.form.name
        first.setFocus()
        if self.account is not None and self.form.login_button is not None:
            self.form.login_button.setFocus()
        # Tab order: the form's fields in creation order, then Test, Save, Cancel.
        QWidget.setTabOrder(self.form.last_field(), self.test_button)
        QWidget.setTabOrder(self.test_button, self.save_button)
        QWidget.setTabOrder(self.save_button, self.cancel_button)

    def _update_buttons(self) -> None:
        on_form = self.form is not None
        self.back_button.setVisible(on_form and self.account is None)
        self.next_button.setVisible(not on_form)
        self.next_button.setDefault(not on_form)
        self.test_button.setVisible(on_form)
        self.save_button.setVisible(on_form)
        for button in (self.back_button, self.next_button, self.test_button, self.save_button):
            button.setEnabled(not self.busy)
        if self.form is not None and self.form.login_button is not None:
            self.form.login_button.setEnabled(not self.busy)

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.busy = busy
        if busy and self.form is not None:
            self.form.error.clear()
            self.form.result.setText(message)
        self._update_buttons()

    # --- background work --------------------------------------------------------------------------------

    def _run(self, work, on_done, message: str) -> None:
        """Run `work` in the background; only the newest job's outcome reaches the form."""
        self.generation += 1
        generation = self.generation
        self._set_busy(True, message)
        self._on_done = on_done

        def job():
            try:
                return generation, True, work()
            except Exception as exc:  # noqa: BLE001 - shown to the owner next to the form
                return generation, False, exc

        self.window_.tasks.run(job, self._finished)

    def _finished(self, result) -> None:
        generation, ok, value = result
        if generation != self.generation or self.form is None:
            return
        self._set_busy(False)
        if ok:
            self._on_done(value)
        else:
            log.info("account form: %s", type(value).__name__)
            self.form.show_error(_error_text(value))

    def _ready(self) -> bool:
        problem = self.form.problem()
        if problem:
            self.form.show_error(problem)
        return not problem

    def start_login(self) -> None:
        form = self.form
        if form is None or self.busy:
            return
        problem = name_problem(form.name.text().strip())
        if problem:
            form.show_error(problem)
            return
        form.end_login()  # a new sign-in: the earlier one's listener stops, its answers are ignored
        form.show_accounts([])
        form.memory = MemorySecrets()
        flow = form.flow = form.spec.login_flow(form.settings())
        self._run(lambda: flow.start(loopback=True), lambda request: self._login_started(flow, request),
                  "Preparing the sign-in page…")

    def open_url(self, url: str) -> None:
        """Open the sign-in page in the system browser (tests replace this)."""
        QDesktopServices.openUrl(QUrl(url))

    def _login_started(self, flow: LoginFlow, request: AuthRequest) -> None:
        form = self.form
        if form is None or flow is not form.flow:
            return
        form.url.setText(request.url)
        if request.mode != "loopback":
            form.show_result("Allow socialdesk in your browser, then paste the code it shows below.")
            form.code.setFocus()
            if request.url.startswith(("https://", "http://")):
                self.open_url(request.url)
            return
        form.show_result("Waiting for your browser… Sign in there and allow socialdesk; this form continues "
                         "by itself. If the browser cannot come back here, paste the code or address below.")
        # The wait is not the dialog's busy work: the owner may paste, go back or cancel meanwhile
        # (cancel frees the listener and ends this task at once).
        self.window_.tasks.run(lambda: flow.wait(), lambda params: self._browser_returned(flow, params),
                               lambda exc: self._browser_failed(flow, exc))
        if request.url.startswith(("https://", "http://")):
            self.open_url(request.url)

    def _browser_returned(self, flow: LoginFlow, params: dict) -> None:
        if self.form is None or flow is not self.form.flow:
            return  # an abandoned sign-in
        self._run(lambda: flow.finish(params), self._logged_in, "Signing in…")

    def _browser_failed(self, flow: LoginFlow, exc: Exception) -> None:
        if self.form is None or flow is not self.form.flow or isinstance(exc, LoginCancelled):
            return
        self.form.show_error(_error_text(exc))

    def _logged_in(self, accounts: list[LoginAccount], then_save: bool = False) -> None:
        form = self.form
        form.show_accounts(accounts)
        form.end_login()
        if len(accounts) == 1:
            form.show_result(f"{_info_text(accounts[0].info)}\nPress Save to add it.")
            if then_save:
                self.save()
        else:
            form.show_result("This sign-in gives access to several accounts: tick the ones to add, then Save.")
            form.picks.setFocus()

    def _pasted(self, form: AccountForm) -> tuple[LoginFlow, dict] | None:
        """The flow and what the owner pasted, when a sign-in waits for it; else None."""
        text = form.code.text().strip() if form.code is not None else ""
        if form.flow is None or not text:
            return None
        return form.flow, parse_pasted(text)

    def _inputs(self):
        """(form, secrets) when the form can be tested or saved now, else None (error shown). A pasted
        code is exchanged first; the owner then presses Test or Save again."""
        form = self.form
        if form is None or self.busy or not self._ready():
            return None
        if form.spec.login_flow is None or form.login_accounts:
            return form, form.secrets(self.core.profile.name)
        try:
            pasted = self._pasted(form)
        except ConnectorError as exc:
            form.show_error(str(exc))
            return None
        if pasted is not None:
            flow, params = pasted
            save = self.sender() is self.save_button
            self._run(lambda: flow.finish(params), lambda accounts: self._logged_in(accounts, then_save=save),
                      "Signing in…")
            return None
        if self.account is not None and form.flow is None:
            return form, form.secrets(self.core.profile.name)  # re-checking the stored sign-in
        form.show_error("Sign in in the browser first (or paste the code it shows).")
        return None

    def test_connection(self) -> None:
        inputs = self._inputs()
        if inputs is None:
            return
        form, secrets = inputs
        spec, settings = form.spec, form.settings()
        chosen = form.chosen_accounts()
        if form.login_accounts:
            if not chosen:
                form.show_error("Tick the accounts to add first.")
                return
            secrets, settings = MemorySecrets(dict(chosen[0].secrets)), {**settings, **chosen[0].settings}
        self._run(lambda: check_connection(spec, settings, secrets), self._tested, "Testing the connection…")

    def _tested(self, info: AccountInfo) -> None:
        self.form.show_result(_info_text(info))

    def save(self) -> None:
        inputs = self._inputs()
        if inputs is None:
            return
        form, secrets = inputs
        service, spec, settings = self.core.account_service, form.spec, form.settings()
        name = form.name.text().strip()
        account_id = None if self.account is None else self.account["id"]
        replace = form.replaces_secrets()
        chosen = form.chosen_accounts()
        if form.login_accounts and (not chosen or (self.account is not None and len(chosen) > 1)):
            form.show_error("Tick the account to sign in again." if self.account is not None
                            else "Tick the accounts to add.")
            return

        def work() -> AccountInfo:
            if account_id is not None:  # re-login: the one account signed in again, or the typed secret
                if chosen:
                    return service.update(account_id, {**settings, **chosen[0].settings},
                                          MemorySecrets(dict(chosen[0].secrets)), replace_secrets=True)
                return service.update(account_id, settings, secrets, replace_secrets=replace)
            if chosen:  # a browser sign-in just checked these accounts
                infos = service.add_signed_in(spec, account_names(name, chosen), settings, chosen)
                return infos[0] if len(infos) == 1 else AccountInfo(display_name=f"{len(infos)} accounts")
            return service.add(spec, name, settings, dict(secrets.values), test=True)

        self._run(work, self._saved, "Testing and saving…")

    def _saved(self, info: AccountInfo) -> None:
        # The window's account list follows the service's change notification.
        verb = "Added" if self.account is None else "Updated"
        self.window_.statusBar().showMessage(f"{verb} {self.form.name.text().strip()}. {_info_text(info)}", 8000)
        self.accept()

    def done(self, result: int) -> None:
        # Save, Cancel, Esc or closing the window: a sign-in still waiting stops and frees its port.
        if self.form is not None:
            self.form.end_login()
        super().done(result)


class AccountsDialog(QDialog):
    """The list of accounts with Add, Test, Re-login, Enable/Disable and Remove."""

    COLUMNS = ("Name", "Platform", "State", "Last error")

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
        def work():
            return [
                {"id": a.id, "name": a.name, "kind": a.kind, "enabled": a.enabled, "state": a.state,
                 "last_error": a.last_error, "settings": dict(a.settings or {})}
                for a in Account.select().order_by(Account.name)
            ]

        self.window_.tasks.run(work, self._loaded, self._failed)

    def _loaded(self, rows: list[dict]) -> None:
        selected = self.selected()
        self.rows = rows
        self.table.setRowCount(len(rows))
        titles = {s.kind: s.title for s in registry.all_specs()}
        for i, account in enumerate(rows):
            state = STATE_WORDS.get(account["state"], account["state"]) if account["enabled"] else "disabled"
            values = (account["name"], titles.get(account["kind"], account["kind"]), state, account["last_error"])
            for col, value in enumerate(values):
                self.table.setItem(i, col, QTableWidgetItem(value))
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
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(_error_text(exc))

    def _say(self, text: str) -> None:
        self.status.setStyleSheet("")
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
            service.remove(account_id)
            return f"Removed {name} and its stored credentials."

        self.window_.tasks.run(work, self._changed, self._failed)


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
