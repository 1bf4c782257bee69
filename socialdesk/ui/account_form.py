"""The add-account form pieces: `PlatformChooser` (the platforms the owner may add, with what each can do
and needs) and `AccountForm` (a form generated from a ConnectorSpec: name, settings, secret, sign-in
choices), plus the plain-text helpers the account dialogs share.

Decisions:
- Email settings are checked with `connectors.email.validate_settings` on every keystroke (pure, no
  network), so "plaintext only to this computer" and bad addresses show up before Test is pressed.
  Security settings (`*_tls`) are a choice, not free text.
- Platform text (titles, capabilities, needs, errors, AccountInfo) is shown as plain text only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from socialdesk.connectors.base import (
    CAPABILITIES,
    AccountInfo,
    ConnectorError,
    ConnectorSpec,
    LoginFlow,
    MemorySecrets,
    PermanentError,
)
from socialdesk.connectors.oauth import LoginAccount
from socialdesk.core.account_service import AccountError, OverlaySecrets, name_problem
from socialdesk.secrets import KeyringSecrets, NoKeyringError, error_text
from socialdesk.ui import theme

CAPABILITY_WORDS = {
    "dm": "direct messages",
    "comment": "comments",
    "mention": "mentions",
    "review": "reviews",
    "email": "email",
    "post_status": "status posts",
    "stream": "real time",
    "delete_reply": "removing your published reply",
}
FIELD_MIN_WIDTH = 240
TLS_CHOICES = (("ssl", "SSL/TLS (encrypted)"), ("starttls", "STARTTLS (encrypted)"),
               ("none", "None — only for a server on this computer"))




def capability_text(capabilities: frozenset[str]) -> str:
    """The capabilities in words, in the contract's order: "direct messages, comments, real time"."""
    return ", ".join(CAPABILITY_WORDS.get(c, c) for c in CAPABILITIES if c in capabilities)


def _info_text(info: AccountInfo) -> str:
    text = f"Connected as {info.display_name}" + (f" ({info.handle})" if info.handle else "") + "."
    return "\n".join([text] + [f"Note: {note}" for note in info.notes])


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, (ConnectorError, NoKeyringError, AccountError)):
        return error_text(exc)
    return f"Unexpected problem ({type(exc).__name__}): {error_text(exc)}"


def _plain_label(parent: QWidget, colour: theme.Pair | None = None) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if colour is not None:
        theme.tint(label, colour)
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
        heading = title.font()  # a font, not a style sheet, which would pin the light palette
        heading.setBold(True)
        heading.setPixelSize(14)
        title.setFont(heading)
        title.setText(spec.title if account is None else f"{spec.title}: {account['name']}")
        needs = _plain_label(self, theme.MUTED)
        needs.setText(f"You need: {spec.needs}")
        layout.addWidget(title)
        layout.addWidget(needs)
        form = self.form_layout = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.name = QLineEdit(self)
        self.name.setObjectName("field_name")
        self.name.setPlaceholderText(f"How socialdesk calls this account, e.g. Shop {spec.traits.name}")
        if account is not None:
            self.name.setText(account["name"])
            self.name.setReadOnly(True)
        form.addRow("Account &name", self.name)
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        # Settings most owners never touch are folded under "More settings" (spec.advanced_settings).
        self.more = QWidget(self)
        self.more.setObjectName("more_settings")
        more_form = QFormLayout(self.more)
        more_form.setContentsMargins(0, 0, 0, 0)
        more_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # Each label above its field: the advanced labels are long sentences, and beside their fields they
        # pushed the dialog wide and out of line with the form above.
        more_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
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
            widget.setMinimumWidth(FIELD_MIN_WIDTH)
            self.fields[key] = widget
            (more_form if key in spec.advanced_settings else form).addRow(label, widget)
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
            instructions = _plain_label(self, theme.MUTED)
            instructions.setText(getattr(spec.login_flow, "instructions", ""))
            form.addRow(instructions)
            form.addRow("Sign in", self.login_button)
            form.addRow("Sign-in page", self.url)
            form.addRow("&Code", self.code)
            form.addRow("Accounts", self.picks)
            form.setRowVisible(self.picks, False)  # label and list, once a sign-in gave several accounts
        for layout_ in (form, more_form):
            for row in range(layout_.rowCount()):
                item = layout_.itemAt(row, QFormLayout.ItemRole.LabelRole)
                field = layout_.itemAt(row, QFormLayout.ItemRole.FieldRole)
                if item is not None and field is not None and isinstance(item.widget(), QLabel):
                    item.widget().setBuddy(field.widget())
        layout.addLayout(form)
        self.more_button = QPushButton("&More settings", self)
        self.more_button.setObjectName("more_settings_toggle")
        self.more_button.setCheckable(True)
        self.more_button.setAutoDefault(False)
        self.more_button.toggled.connect(self.show_more)
        self.more_button.setVisible(more_form.rowCount() > 0)
        layout.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.more)
        self.show_more(False)
        self.error = _plain_label(self, theme.ERROR)
        self.error.setObjectName("form_error")
        self.result = _plain_label(self, theme.SUCCESS)
        self.result.setObjectName("form_result")
        layout.addWidget(self.error)
        layout.addWidget(self.result)
        layout.addStretch(1)
        # Secrets typed and tokens obtained during this form's life; the keyring sees them only on Save.
        self.memory = MemorySecrets()
        self.secret_changed = account is None
        self.autofilled_for = ""  # the value settings were last looked up for (spec.autofill)

    def show_more(self, shown: bool) -> None:
        """Unfold (or fold) the advanced settings."""
        self.more.setVisible(shown)
        self.more_button.setText("Fewer &settings" if shown else "&More settings")
        if self.more_button.isChecked() != shown:
            self.more_button.setChecked(shown)

    def apply_autofill(self, settings: dict[str, str]) -> list[str]:
        """Fill in found settings where the owner has not typed anything of their own (a field still
        empty or at its default); returns the keys filled."""
        defaults = {key: default for key, _label, default in self.spec.settings}
        filled = []
        for key, value in settings.items():
            widget = self.fields.get(key)
            if widget is None:
                continue
            if isinstance(widget, QComboBox):
                index = widget.findData(value)
                if index >= 0 and widget.currentData() == defaults.get(key):
                    widget.setCurrentIndex(index)
                    filled.append(key)
            elif widget.text().strip() in ("", defaults.get(key, "")):
                widget.setText(value)
                filled.append(key)
        self._edited()
        return filled

    def focus_chain(self) -> list[QWidget]:
        """The form's widgets in Tab order: name, the everyday settings, the secret and sign-in, then
        "More settings" and what it folds away."""
        advanced = self.spec.advanced_settings
        widgets = [self.name, *(w for k, w in self.fields.items() if k not in advanced), self.secret,
                   self.login_button, self.url, self.code]
        if self.more_button.isVisibleTo(self):
            widgets += [self.more_button, *(w for k, w in self.fields.items() if k in advanced)]
        return [w for w in widgets if w is not None]

    def last_field(self) -> QWidget:
        return self.focus_chain()[-1]

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
        self.form_layout.setRowVisible(self.picks, len(accounts) > 1)

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
