"""The Add account / Re-login dialog: choose a platform, fill the form, sign in, test and save through
core/account_service.py.

Decisions:
- The rules are core/account_service.py's, the same the command line runs: names (1–80 characters, no
  "/"), settings from `spec.settings`, the keyring before anything else, the connection tested before
  anything is saved, a failed test or a missing keyring saves nothing, secrets in the keyring only.
  The dialog gathers the input, runs the service in the background and shows the outcome; it writes
  nothing itself.
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
- All network and database work runs in `window.tasks`; results carry a generation number so a late
  answer for a form the owner has already left is ignored. Buttons are disabled while work runs.
"""

from __future__ import annotations

import itertools
import logging

from PySide6.QtCore import QElapsedTimer, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from socialdesk import paths
from socialdesk.connectors import registry
from socialdesk.connectors.base import (
    AccountInfo,
    ConnectorError,
    ConnectorSpec,
    LoginFlow,
    MemorySecrets,
)
from socialdesk.connectors.oauth import AuthRequest, LoginAccount, LoginCancelled, account_names, parse_pasted
from socialdesk.core.account_service import check_connection
from socialdesk.ui import fit
from socialdesk.ui.account_form import (
    AccountForm,
    PlatformChooser,
    _error_text,
    _info_text,
)

log = logging.getLogger(__name__)


def visible_specs(profile_name: str) -> list[ConnectorSpec]:
    """Every platform the owner may add; the simulated one only on the demo profile."""
    return [s for s in registry.all_specs() if s.kind != "demo" or profile_name == paths.DEMO_PROFILE]


class AccountDialog(QDialog):
    """Add an account (choose a platform, then the form) or re-login an existing one (the form only)."""

    def __init__(self, window, *, account: dict | None = None, parent: QWidget | None = None):
        super().__init__(parent or window)  # from the Accounts list: stacked on top of it
        self.window_ = window
        self.core = window.core
        self.account = account
        self.generation = 0
        self.busy = False
        self.stoppable = False  # the running job is a test, which the owner may stop (a save is not)
        self.busy_message = ""
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
        # While a test or sign-in runs: a busy bar and the seconds waited, so a slow server is never
        # 60 s of silence; the Test button becomes Stop (connectors end every call within their deadline).
        self.progress = QProgressBar(self)
        self.progress.setObjectName("busy_indicator")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(120)
        self.progress.setVisible(False)
        self.waited = QElapsedTimer()
        self.tick = QTimer(self)
        self.tick.setInterval(1000)
        self.tick.timeout.connect(self._show_waited)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.progress)
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
            scroll = self.stack.currentWidget()
            self.stack.removeWidget(scroll)
            scroll.deleteLater()
            self.form = None
            self.stack.setCurrentWidget(self.chooser)
            self.chooser.list.setFocus()
            self._update_buttons()

    def _show_form(self, spec: ConnectorSpec) -> None:
        self.form = AccountForm(spec, self, account=self.account)
        if self.form.login_button is not None:
            self.form.login_button.clicked.connect(self.start_login)
        # The form scrolls inside the dialog: unfolded "More settings" (or a sign-in's list of accounts)
        # made the dialog grow to 800x715, past a 1024x640 screen.
        scroll = fit.scrolling(self.form, self, "form_scroll")
        self.stack.addWidget(scroll)
        self.stack.setCurrentWidget(scroll)
        self._update_buttons()
        first = self.form.secret if self.account is not None and self.form.secret is not None else self.form.name
        first.setFocus()
        if self.account is not None and self.form.login_button is not None:
            self.form.login_button.setFocus()
        if spec.autofill is not None and spec.autofill_from in self.form.fields and self.account is None:
            source = self.form.fields[spec.autofill_from]
            if isinstance(source, QLineEdit):
                source.editingFinished.connect(self._autofill)
        # Tab order: the form's fields (form.focus_chain), then Test, Save, Cancel.
        chain = self.form.focus_chain()
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)
        QWidget.setTabOrder(self.form.last_field(), self.test_button)
        QWidget.setTabOrder(self.test_button, self.save_button)
        QWidget.setTabOrder(self.save_button, self.cancel_button)

    def _autofill(self) -> None:
        """The owner finished typing the field settings are looked up from (the email address): look
        them up in the background and fill in what the owner has not typed."""
        form = self.form
        if form is None or form.spec.autofill is None:
            return
        value = form.settings().get(form.spec.autofill_from, "")
        if not value or value == form.autofilled_for:
            return
        form.autofilled_for = value
        lookup, generation = form.spec.autofill, self.generation
        form.show_result(f"Looking up the server settings for {value}…")
        self.window_.tasks.run(lambda: lookup(value), lambda found: self._autofilled(form, value, generation, found),
                               lambda _exc: self._autofilled(form, value, generation, None))

    def _autofilled(self, form: AccountForm, value: str, generation: int, found) -> None:
        if form is not self.form or generation != self.generation or self.busy:
            return  # the owner moved on (another form, a test or a sign-in started)
        if form.settings().get(form.spec.autofill_from, "") != value:
            return  # typed again meanwhile: that lookup will answer
        if found is None:
            form.show_result(f"No published server settings were found for {value}: fill in the server "
                             "names from your provider's help pages.")
            form.show_more(True)
            return
        filled = form.apply_autofill(dict(found.settings))
        if filled:
            form.show_result(f"Server settings filled in from {found.source}. Check them, then press Test.")
        else:
            form.show_result(f"{found.source} has settings for {value}, but you typed your own; they were kept.")

    def _update_buttons(self) -> None:
        on_form = self.form is not None
        self.back_button.setVisible(on_form and self.account is None)
        self.next_button.setVisible(not on_form)
        self.next_button.setDefault(not on_form)
        self.test_button.setVisible(on_form)
        self.save_button.setVisible(on_form)
        for button in (self.back_button, self.next_button, self.test_button, self.save_button):
            button.setEnabled(not self.busy)
        self.test_button.setText("S&top test" if self.busy and self.stoppable else "&Test connection")
        self.test_button.setEnabled(not self.busy or self.stoppable)
        if self.form is not None and self.form.login_button is not None:
            self.form.login_button.setEnabled(not self.busy)

    def _set_busy(self, busy: bool, message: str = "", stoppable: bool = False) -> None:
        self.busy = busy
        self.stoppable = busy and stoppable
        self.busy_message = message if busy else ""
        if busy and self.form is not None:
            self.form.error.clear()
            self.form.result.setText(message)
        self.progress.setVisible(busy)
        if busy:
            self.waited.start()
            self.tick.start()
        else:
            self.tick.stop()
        self._update_buttons()

    def _show_waited(self) -> None:
        seconds = self.waited.elapsed() // 1000
        if self.busy and self.form is not None and seconds >= 3:
            self.form.result.setText(f"{self.busy_message} {seconds} s")

    def stop_test(self) -> None:
        """Stop waiting for a connection test: its answer, when it comes, is ignored."""
        if not (self.busy and self.stoppable) or self.form is None:
            return
        self.generation += 1
        self._set_busy(False)
        self.form.show_result("Test stopped. Nothing was saved.")

    # --- background work --------------------------------------------------------------------------------

    def _run(self, work, on_done, message: str, *, stoppable: bool = False) -> None:
        """Run `work` in the background; only the newest job's outcome reaches the form."""
        self.generation += 1
        generation = self.generation
        self._set_busy(True, message, stoppable)
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
        problem = form.problem()  # the name, and the app secret where the owner brings their own app
        if problem:
            form.show_error(problem)
            return
        form.end_login()  # a new sign-in: the earlier one's listener stops, its answers are ignored
        form.show_accounts([])
        form.memory = MemorySecrets()
        if form.spec.secret_label:  # the owner's own app: its secret, typed or (re-login) stored
            flow = form.spec.login_flow(form.settings(), secrets=form.secrets(self.core.profile.name))
        else:
            flow = form.spec.login_flow(form.settings())
        form.flow = flow
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
        if self.busy and self.stoppable:
            self.stop_test()
            return
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
        self._run(lambda: check_connection(spec, settings, secrets), self._tested, "Testing the connection…",
                  stoppable=True)

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
