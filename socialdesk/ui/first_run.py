"""The first-run assistant: business name, your name, time zone and opening hours, then "Add your first
account". Its facts and writes are core/first_run.py's; this module only asks.

Decisions:
- A QWizard of three pages (your business, opening hours, ready), in ModernStyle on every platform so
  it looks the same in light and dark palettes (colours come from the palette; the one error colour
  is a light/dark pair).
- `offer_first_run(window)` is called by app.run_gui after the window is shown: it loads in the
  background whether the profile needs the assistant (core/first_run.needed) and opens it only then,
  never on the demo. Help → Set-up assistant… opens it at any time.
- Opening hours are the hours editor's day-by-day text ("09:00-17:00", "09:00-12:30, 13:30-17:00",
  empty = closed), parsed by core/hours.parse_windows as everywhere else; the page shows the problems
  and the week as customers will read it ({hours}, core/personalize.format_hours) as it is typed, and
  Next stays disabled while a day cannot be read. Time zones are checked against the list loaded in
  the background, so nothing reads the disk on the GUI thread.
- Finish saves through core (first_run.settings_values + OwnerActions.save_settings on a worker); the
  assistant closes only once that succeeded, and a failure is shown on the page with everything typed
  still there. Then, if ticked, Tools → Add account… opens ("Add your first account"). The box "Start
  socialdesk when I log in (in the tray)" shows whether the login entry is on (loaded with the setup
  data) and, when changed, is written on the same worker (socialdesk/autostart.py).
- Skip, Esc and the window's close button all go through `reject`: with nothing typed it records
  "skipped" and closes; once anything was typed it asks first (Keep editing is the default and Esc's
  answer; Save and close; Discard), so a stray Esc never loses the owner's words.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from socialdesk import autostart
from socialdesk.core import first_run, personalize, snippets
from socialdesk.core.hours import ScheduleError, Window, parse_windows
from socialdesk.ui import theme
from socialdesk.ui.actions import ActionSpec
from socialdesk.ui.qtcompat import emit

SIGNATURE_PREVIEW = "— {my_name}, {business}"  # the starter ;bye's signature line
START_AT_LOGIN = "Start socialdesk when I &log in (in the tray)"  # also Tools → (settings_feature.py)


def _label(text: str, parent: QWidget, name: str = "") -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


class _BusinessPage(QWizardPage):
    def __init__(self, data: first_run.SetupData, parent: QWidget):
        super().__init__(parent)
        self.setTitle("Welcome! Who is answering?")
        self.setSubTitle(
            "socialdesk signs replies and automatic messages with these names. Both may stay empty; "
            "replies then leave the signature out."
        )
        self.business = QLineEdit(data.business_name, self)
        self.business.setObjectName("business_name")
        self.business.setPlaceholderText("e.g. Juniper & Rye")
        self.business.setMaxLength(first_run.MAX_NAME)
        self.my_name = QLineEdit(data.my_name, self)
        self.my_name.setObjectName("my_name")
        self.my_name.setPlaceholderText("e.g. Sam")
        self.my_name.setMaxLength(first_run.MAX_NAME)
        self.preview = _label("", self, "signature_preview")
        form = QFormLayout(self)
        form.addRow("&Business name:", self.business)
        form.addRow("&Your name:", self.my_name)
        form.addRow("Signature:", self.preview)
        for edit in (self.business, self.my_name):
            edit.textChanged.connect(self._update_preview)
        self._update_preview()

    def _update_preview(self) -> None:
        ctx = snippets.RenderContext(business=first_run.clean_name(self.business.text()),
                                     my_name=first_run.clean_name(self.my_name.text()))
        line = snippets.render(SIGNATURE_PREVIEW, ctx)
        self.preview.setText(line if line else "(none yet: replies end without a signature)")


class _HoursPage(QWizardPage):
    def __init__(self, data: first_run.SetupData, parent: QWidget):
        # The hours editor's day titles and day text; imported here, not at start-up (the feature is).
        from socialdesk.ui.hours_dialog import DAY_TITLES, windows_text

        super().__init__(parent)
        self.setTitle("When are you open?")
        self.setSubTitle("Customers are told when you are open, and response times count open hours.")
        how = _label("Write each day's hours like 09:00-17:00, or 09:00-12:30, 13:30-17:00 with a lunch "
                     "break. Leave a day empty when you are closed.", self)
        self.zones = frozenset(data.timezones)
        self.timezone = QComboBox(self)
        self.timezone.setObjectName("timezone")
        self.timezone.setEditable(True)
        self.timezone.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.timezone.addItems(list(data.timezones))
        self.timezone.setCurrentText(data.schedule.timezone)
        completer = self.timezone.completer()
        completer.setFilterMode(Qt.MatchFlag.MatchContains)  # "berlin" finds Europe/Berlin
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.timezone.currentTextChanged.connect(self._changed)

        grid = QGridLayout()
        self.day_titles = DAY_TITLES
        self.day_edits: list[QLineEdit] = []
        for day, title in enumerate(DAY_TITLES):
            edit = QLineEdit(windows_text(data.schedule.week.get(day, [])), self)
            edit.setObjectName(f"day_{day}")
            edit.setPlaceholderText("closed")
            edit.textChanged.connect(self._changed)
            label = QLabel(f"{title}:", self)
            label.setBuddy(edit)
            grid.addWidget(label, day, 0)
            grid.addWidget(edit, day, 1)
            self.day_edits.append(edit)
        copy = QPushButton("Copy &Monday to Tuesday–Friday", self)
        copy.setObjectName("copy_monday")
        copy.clicked.connect(self._copy_monday)
        grid.addWidget(copy, 7, 1, alignment=Qt.AlignmentFlag.AlignLeft)

        self.errors = _label("", self, "errors")
        self.errors.hide()
        self.summary = _label("", self, "hours_summary")
        layout = QVBoxLayout(self)
        layout.addWidget(how)
        zone_form = QFormLayout()
        zone_form.addRow("&Time zone:", self.timezone)
        layout.addLayout(zone_form)
        layout.addLayout(grid)
        layout.addWidget(self.summary)
        layout.addWidget(self.errors)
        layout.addStretch(1)
        self.week: dict[int, list[Window]] | None = None
        theme.tint(self.errors, theme.ERROR)  # follows the system's switch between light and dark
        self._changed()

    def _copy_monday(self) -> None:
        for edit in self.day_edits[1:5]:
            edit.setText(self.day_edits[0].text())

    def problems(self) -> list[str]:
        """What cannot be read, in the owner's words; sets `self.week` when everything can."""
        problems: list[str] = []
        week: dict[int, list[Window]] = {}
        zone = self.timezone.currentText().strip()
        if zone not in self.zones:
            problems.append(f"Time zone: {zone or '(empty)'} is not a time zone name such as Europe/Berlin.")
        for day, edit in enumerate(self.day_edits):
            try:
                windows = parse_windows(edit.text(), self.day_titles[day])
            except ScheduleError as exc:
                problems.append(str(exc))
                continue
            if windows:
                week[day] = windows
        self.week = None if problems else week
        return problems

    def _changed(self, *_args: Any) -> None:
        problems = self.problems()
        self.errors.setText("\n".join(problems))
        self.errors.setVisible(bool(problems))
        self.summary.setVisible(self.week is not None)  # never a stale week next to an error
        if self.week is not None:
            self.summary.setText(self.hours_text())
        emit(self.completeChanged)

    def hours_text(self) -> str:
        hours = personalize.format_hours(self.week or {})
        return f"Customers will read: “{hours}”." if hours else "Closed every day: no opening hours to tell."

    def isComplete(self) -> bool:  # noqa: N802 (Qt override)
        return self.week is not None



class _ReadyPage(QWizardPage):
    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setTitle("Ready")
        self.setSubTitle("All of this can be changed later in Tools → Business hours.")
        # No platforms named: the next step lists every one (a list here fell behind as platforms came).
        self.add_account = QCheckBox("&Next, add your first account", self)
        self.add_account.setObjectName("add_first_account")
        self.add_account.setChecked(True)
        # Off unless it is already on: writing a login entry is the owner's choice (socialdesk/autostart.py).
        self.start_at_login = QCheckBox(START_AT_LOGIN, self)
        self.start_at_login.setObjectName("start_at_login")
        self.status = _label("", self, "save_status")
        self.summary = _label("", self, "summary")
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addSpacing(8)
        layout.addWidget(_label(
            "Customer messages from every account you connect land in one queue, most urgent first. "
            "Starter snippets are ready: type ; in a reply, e.g. ;hours or ;bye.", self))
        layout.addSpacing(12)
        layout.addWidget(self.add_account)
        layout.addWidget(self.start_at_login)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802 (Qt override)
        wizard = self.wizard()
        business, hours = wizard.business_page, wizard.hours_page
        name = first_run.clean_name(business.business.text()) or "(not set)"
        self.summary.setText(
            f"Business: {name}\nSignature: {business.preview.text()}\n"
            f"Time zone: {hours.timezone.currentText().strip()}\n{hours.hours_text()}"
        )


class SetupWizard(QWizard):
    """The assistant; `feature` saves and skips (FirstRunFeature), the wizard only asks."""

    def __init__(self, feature: "FirstRunFeature", data: first_run.SetupData, parent: QWidget | None = None):
        super().__init__(parent)
        self.feature = feature
        self.data = data
        self.setObjectName("setup_wizard")
        self.setWindowTitle("Set up socialdesk")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.CancelButton, "&Skip set-up")
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Finish")
        self.business_page = _BusinessPage(data, self)
        self.hours_page = _HoursPage(data, self)
        self.ready_page = _ReadyPage(self)
        self.ready_page.start_at_login.setChecked(feature.start_at_login)
        for page in (self.business_page, self.hours_page, self.ready_page):
            self.addPage(page)
        self.initial = self._answers()
        self.saving = False
        self.discard_box: QMessageBox | None = None
        self.resize(640, 540)

    def _answers(self) -> tuple:
        return (
            self.business_page.business.text(),
            self.business_page.my_name.text(),
            self.hours_page.timezone.currentText(),
            tuple(edit.text() for edit in self.hours_page.day_edits),
        )

    def dirty(self) -> bool:
        return self._answers() != self.initial

    # --- finish -----------------------------------------------------------------------------------------

    def accept(self) -> None:
        self.save(add_account=self.ready_page.add_account.isChecked())

    def save(self, *, add_account: bool) -> None:
        # Finish needs a readable hours page, and "Save and close" is offered only then: never save a
        # week that could not be read as "closed every day".
        if self.saving or self.hours_page.problems():
            return
        self.saving = True
        self._set_buttons_enabled(False)
        self.ready_page.status.setText("Saving…")
        self.feature.save(
            self.data.schedule,
            dict(
                business_name=self.business_page.business.text(),
                my_name=self.business_page.my_name.text(),
                timezone=self.hours_page.timezone.currentText(),
                week=dict(self.hours_page.week or {}),
            ),
            lambda: self._saved(add_account),
            self._save_failed,
            start_at_login=(None if self.ready_page.start_at_login.isChecked() == self.feature.start_at_login
                            else self.ready_page.start_at_login.isChecked()),
        )

    def _saved(self, add_account: bool) -> None:
        self.saving = False
        super().accept()
        if add_account:
            self.feature.add_first_account()

    def _save_failed(self, exc: Exception) -> None:
        self.saving = False
        self._set_buttons_enabled(True)
        message = f"Not saved: {exc}. Everything you typed is still here; try Finish again."
        self.ready_page.status.setText(message)
        if self.currentPage() is not self.ready_page:
            QMessageBox.warning(self, "Not saved", message)

    def _set_buttons_enabled(self, enabled: bool) -> None:
        for which in (QWizard.WizardButton.BackButton, QWizard.WizardButton.NextButton,
                      QWizard.WizardButton.FinishButton, QWizard.WizardButton.CancelButton):
            self.button(which).setEnabled(enabled)

    # --- skip, Esc, close ----------------------------------------------------------------------------

    def reject(self) -> None:
        if self.saving:
            return  # the save decides; closing now would hide its error
        if not self.dirty():
            self.feature.skip()
            super().reject()
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Leave the set-up?",
                          "What you typed is not saved yet.", parent=self)
        box.setObjectName("discard_box")
        keep = box.addButton("&Keep editing", QMessageBox.ButtonRole.RejectRole)
        keep.setObjectName("keep_editing")
        if not self.hours_page.problems():
            box.addButton("&Save and close", QMessageBox.ButtonRole.AcceptRole).setObjectName("save_and_close")
        box.addButton("&Discard", QMessageBox.ButtonRole.DestructiveRole).setObjectName("discard")
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.buttonClicked.connect(self._leave_answered)
        self.discard_box = box
        box.open()

    def _leave_answered(self, button) -> None:
        name = button.objectName()
        if name == "save_and_close":
            self.save(add_account=False)
        elif name == "discard":
            self.feature.skip()
            super().reject()


class FirstRunFeature:
    """Help → Set-up assistant… and the first-run offer (see ui/actions.py for the feature contract)."""

    ACTIONS = (
        ActionSpec("setup_assistant", "Set-up assistant…", "Help", (), "open_setup",
                   "Your business name, your name, time zone and opening hours"),
    )

    def __init__(self, core, tasks):
        self.core, self.tasks = core, tasks
        self.window = None
        self.wizard: SetupWizard | None = None
        self.start_at_login = False  # whether the login entry is ours and on, loaded with the setup data

    def attach(self, window) -> None:
        self.window = window

    def _load(self, then: Callable[[first_run.SetupData], None]) -> None:
        core = self.core

        def work() -> tuple[first_run.SetupData, bool]:
            return first_run.load(core.settings, core.policy().schedule), autostart.is_enabled()

        def loaded(result: tuple[first_run.SetupData, bool]) -> None:
            self.start_at_login = result[1]
            then(result[0])

        self.tasks.run(work, loaded, self._failed)

    def offer(self) -> None:
        """Open the assistant if this profile needs it (never on the demo)."""
        if self.window is not None and not self.window.demo:
            self._load(self._offer_loaded)

    def _offer_loaded(self, data: first_run.SetupData) -> None:
        if data.needed:
            self._show(data)

    def open_setup(self) -> None:
        self._load(self._show)

    def _show(self, data: first_run.SetupData) -> None:
        if self.wizard is not None and self.wizard.isVisible():
            self.wizard.raise_()
            self.wizard.activateWindow()
            return
        self.wizard = SetupWizard(self, data, self.window)
        self.wizard.open()

    def save(self, base, answers: dict, on_done: Callable[[], None], on_error: Callable[[Exception], None],
             *, start_at_login: bool | None = None) -> None:
        """Save the answers; `start_at_login` switches the login entry (None: leave it as it is)."""
        owner = self.core.owner
        profile = self.core.profile.name

        def work() -> str:
            warning = owner.save_settings(first_run.settings_values(base, **answers))
            if start_at_login is not None:
                try:
                    autostart.set_enabled(start_at_login, profile)
                except autostart.AutostartError as exc:  # the answers are saved; say what did not work
                    warning = " ".join(filter(None, [warning, f"Start at login was not changed: {exc}."]))
                else:
                    self.start_at_login = start_at_login
            return warning

        def done(warning: str) -> None:
            if warning and self.window is not None:
                self.window.statusBar().showMessage(warning, 15000)
            on_done()

        self.tasks.run(work, done, on_error)

    def skip(self) -> None:
        owner = self.core.owner
        self.tasks.run(lambda: first_run.skip(owner), None, self._failed)

    def add_first_account(self) -> None:
        if self.window is not None and "add_account" in self.window.actions:
            self.window.actions["add_account"].trigger()

    def _failed(self, exc: Exception) -> None:
        if self.window is not None:
            self.window.statusBar().showMessage(f"The set-up assistant could not load or save: {exc}", 10000)


def offer_first_run(window) -> None:
    """app.run_gui's hook: open the assistant when the profile needs it."""
    for feature in window.features:
        if isinstance(feature, FirstRunFeature):
            feature.offer()
