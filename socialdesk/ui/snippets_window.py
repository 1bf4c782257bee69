"""The Snippets window (Tools ▸ Manage snippets…, Ctrl+Shift+S): list, edit with live validation and
a live preview, delete with undo, import and export in JSON and CSV.

Decisions:
- Every read and write goes through the feature's `tasks.run`; the window only renders. After each
  change it tells the feature (`snippets_changed`) so the composer's abbreviation map follows.
- The body is validated on every keystroke with core.snippets.validate_body; problems are listed under
  the editor ("Unknown placeholder {frist_name}. Did you mean {first_name}? …") and Save stays disabled
  while there are any, so a broken snippet can never be saved or surface at send time.
- The preview is rendered for the selected conversation's customer when the main window has one
  loaded, else for a sample customer "Alex" with this profile's business name and sign-off.
- Delete needs no confirmation because it has undo: the status bar offers Undo (also Ctrl+Z while the
  list has focus), which calls core.snippets.restore_snippet with the deleted row.
- Import parses the whole file first (all-or-nothing in core); a bad file shows one message naming the
  line and field and nothing is imported. When the file would replace snippets that share an
  abbreviation, the owner confirms first. Export writes a temporary file then renames it, so a failed
  export never leaves half a file.
- Closing with unsaved edits asks before discarding them.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStatusBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from socialdesk.connectors import traits
from socialdesk.core import personalize
from socialdesk.core import snippets as snip
from socialdesk.core.store import Snippet
from socialdesk.ui import theme

_ABBREVIATION = re.compile(r"[\w-]{1,32}")
SAMPLE_FIRST_NAME = "Alex"


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class SnippetsWindow(QDialog):
    def __init__(self, feature, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("snippets_window")
        self.setWindowTitle("Snippets")
        self.resize(980, 600)
        self.feature = feature
        self.tasks = feature.tasks
        self.core = feature.core
        self.rows: list[dict] = []
        self.current_id: int | None = None  # None = a new snippet being written
        self.dirty = False
        self.undo_data: dict | None = None
        self.sample = snip.RenderContext(first_name=SAMPLE_FIRST_NAME, name=SAMPLE_FIRST_NAME)
        self._loading_form = False
        self._build()
        self._show_form(None)

    # --- layout ---------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.table = QTableWidget(0, 4, self)
        self.table.setObjectName("snippets_table")
        self.table.setHorizontalHeaderLabels(["Title", "Abbreviation", "Favourite", "Used"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)  # a list of snippets, not a spreadsheet
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            self.table.horizontalHeader().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentCellChanged.connect(self._row_changed)
        self.new_button = QPushButton("&New", self)
        self.delete_button = QPushButton("&Delete", self)
        self.import_button = QPushButton("&Import…", self)
        self.export_button = QPushButton("E&xport…", self)
        self.new_button.clicked.connect(self.new_snippet)
        self.delete_button.clicked.connect(self.delete_current)
        self.import_button.clicked.connect(self.import_file)
        self.export_button.clicked.connect(self.export_file)
        buttons = QHBoxLayout()
        for b in (self.new_button, self.delete_button, self.import_button, self.export_button):
            buttons.addWidget(b)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        left_layout.addLayout(buttons)

        self.title_edit = QLineEdit(self)
        self.title_edit.setObjectName("snippet_title")
        self.abbr_edit = QLineEdit(self)
        self.abbr_edit.setObjectName("snippet_abbreviation")
        self.abbr_edit.setPlaceholderText("e.g. thx — type ;thx then Space in the reply box")
        self.tags_edit = QLineEdit(self)
        self.tags_edit.setPlaceholderText("comma-separated, e.g. greeting, hours")
        self.channels_edit = QLineEdit(self)
        self.channels_edit.setPlaceholderText("empty = every channel; e.g. telegram, email")
        self.channels_edit.setToolTip("Channels: " + ", ".join(sorted(traits.platforms())))
        self.slot_combo = QComboBox(self)
        self.slot_combo.addItem("None", None)
        for n in range(1, 10):
            self.slot_combo.addItem(f"Alt+{n}", n)
        self.body_edit = QPlainTextEdit(self)
        self.body_edit.setObjectName("snippet_body")
        self.body_edit.setTabChangesFocus(True)
        placeholders = ", ".join("{" + p + "}" for p in snip.PLACEHOLDERS)
        self.body_edit.setToolTip(f"Placeholders: {placeholders}. {{first_name|there}} uses “there” when unknown.")
        self.problems = QLabel(self)
        self.problems.setObjectName("snippet_problems")
        self.problems.setTextFormat(Qt.TextFormat.PlainText)
        self.problems.setWordWrap(True)
        theme.tint(self.problems, theme.ERROR)
        self.preview_label = QLabel(self)
        self.preview_label.setTextFormat(Qt.TextFormat.PlainText)
        theme.tint(self.preview_label, theme.MUTED)
        self.preview = QPlainTextEdit(self)
        self.preview.setObjectName("snippet_live_preview")
        self.preview.setReadOnly(True)
        self.preview.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.preview.setMaximumHeight(110)
        self.save_button = QPushButton("&Save", self)
        self.save_button.setObjectName("snippet_save")
        self.save_button.setDefault(False)
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        form = QFormLayout()
        form.addRow("&Title", self.title_edit)
        form.addRow("&Abbreviation", self.abbr_edit)
        form.addRow("Ta&gs", self.tags_edit)
        form.addRow("&Channels", self.channels_edit)
        form.addRow("&Favourite", self.slot_combo)
        form.addRow("&Body", self.body_edit)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(form, 1)
        right_layout.addWidget(self.problems)
        right_layout.addWidget(self.preview_label)
        right_layout.addWidget(self.preview)
        save_row = QHBoxLayout()
        save_row.addStretch(1)
        save_row.addWidget(self.save_button)
        right_layout.addLayout(save_row)

        split = QSplitter(self)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([420, 560])
        self.status = QStatusBar(self)
        self.status.setSizeGripEnabled(False)
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setObjectName("snippet_undo")
        self.undo_button.clicked.connect(self.undo_delete)
        self.undo_button.hide()
        self.status.addPermanentWidget(self.undo_button)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

        for widget in (self.title_edit, self.abbr_edit, self.tags_edit, self.channels_edit):
            widget.textChanged.connect(self._edited)
        self.body_edit.textChanged.connect(self._edited)
        self.slot_combo.currentIndexChanged.connect(self._edited)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)
        QShortcut(QKeySequence.StandardKey.New, self, self.new_snippet)
        delete = QShortcut(QKeySequence(Qt.Key.Key_Delete), self.table, self.delete_current)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        undo = QShortcut(QKeySequence.StandardKey.Undo, self.table, self.undo_delete)
        undo.setContext(Qt.ShortcutContext.WidgetShortcut)

    # --- loading --------------------------------------------------------------------------------------------

    def load(self, select_id: int | None = None) -> None:
        """(Re)load the list and the sample customer in the background."""
        core = self.core
        composer_ctx = self.feature.composer.current_context() if self.feature.composer else None

        def work():
            rows = [
                {"id": s.id, "title": s.title, "abbreviation": s.abbreviation, "body": s.body,
                 "tags": list(s.tags or []), "channels": list(s.channels or []),
                 "favorite_slot": s.favorite_slot, "use_count": s.use_count}
                for s in Snippet.select().order_by(Snippet.title, Snippet.id)
            ]
            if composer_ctx is not None:
                sample = composer_ctx
            else:
                now = core.clock.now()
                schedule = core.policy().schedule
                sample = replace(
                    personalize.business_context(core.settings, schedule, now, "within 2 hours"),
                    first_name=SAMPLE_FIRST_NAME, name=f"{SAMPLE_FIRST_NAME} Morgan", handle="@alex",
                    channel="Telegram",
                )
            return rows, sample, select_id

        self.tasks.run(work, self._loaded, self._failed)

    def _loaded(self, result) -> None:
        rows, sample, select_id = result
        self.rows, self.sample = rows, sample
        keep = select_id if select_id is not None else self.current_id
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            slot = f"Alt+{row['favorite_slot']}" if row["favorite_slot"] else ""
            for c, value in enumerate((row["title"], ";" + row["abbreviation"], slot, str(row["use_count"]))):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.blockSignals(False)
        target = next((r for r, row in enumerate(rows) if row["id"] == keep), None)
        if target is not None and not self.dirty:
            self.table.setCurrentCell(target, 0)
            self._show_form(rows[target])
        elif target is None and not self.dirty:
            if rows:
                self.table.setCurrentCell(0, 0)
                self._show_form(rows[0])
            else:
                self._show_form(None)
        self._update_preview()

    def _failed(self, exc: Exception) -> None:
        self.status.showMessage(str(exc), 10000)

    # --- editing --------------------------------------------------------------------------------------------

    def _row_changed(self, row: int, _col: int, _prev_row: int, _prev_col: int) -> None:
        if 0 <= row < len(self.rows) and self.rows[row]["id"] != self.current_id:
            if self.dirty and not self._discard_ok():
                self.table.blockSignals(True)
                self._select_id(self.current_id)
                self.table.blockSignals(False)
                return
            self._show_form(self.rows[row])

    def _select_id(self, snippet_id: int | None) -> None:
        for r, row in enumerate(self.rows):
            if row["id"] == snippet_id:
                self.table.setCurrentCell(r, 0)

    def _show_form(self, row: dict | None) -> None:
        self._loading_form = True
        self.current_id = row["id"] if row else None
        self.title_edit.setText(row["title"] if row else "")
        self.abbr_edit.setText(row["abbreviation"] if row else "")
        self.tags_edit.setText(", ".join(row["tags"]) if row else "")
        self.channels_edit.setText(", ".join(row["channels"]) if row else "")
        self.slot_combo.setCurrentIndex(self.slot_combo.findData(row["favorite_slot"]) if row else 0)
        self.body_edit.setPlainText(row["body"] if row else "")
        self._loading_form = False
        self.dirty = False
        self.delete_button.setEnabled(row is not None)
        self._validate()

    def _edited(self, *_args) -> None:
        if self._loading_form:
            return
        self.dirty = True
        self._validate()

    def form_problems(self) -> list[str]:
        """Everything that stops Save, in the order of the form."""
        problems = []
        if not self.title_edit.text().strip():
            problems.append("A snippet needs a title.")
        abbr = self.abbr_edit.text().strip()
        if not _ABBREVIATION.fullmatch(abbr):
            problems.append("The abbreviation must be 1–32 letters, digits, '_' or '-' (no spaces).")
        channel_problem = snip.channel_problem(_split(self.channels_edit.text()))
        if channel_problem:
            problems.append(channel_problem)
        body = self.body_edit.toPlainText()
        for problem in snip.validate_body(body):
            line = body.count("\n", 0, problem.position) + 1
            problems.append(f"Body, line {line}: {problem.message}")
        return problems

    def _validate(self) -> None:
        problems = self.form_problems()
        self.problems.setText("\n".join(problems))
        self.problems.setVisible(bool(problems))
        self.save_button.setEnabled(not problems and (self.dirty or self.current_id is None))
        self._update_preview()

    def _update_preview(self) -> None:
        who = self.sample.first_name or self.sample.name or "a customer"
        self.preview_label.setText(f"Preview for {who}:")
        try:
            self.preview.setPlainText(snip.render(self.body_edit.toPlainText(), self.sample))
        except snip.SnippetError:
            self.preview.setPlainText("(fix the problems above to see the preview)")

    def _fields(self) -> dict:
        return {
            "title": self.title_edit.text(),
            "abbreviation": self.abbr_edit.text().strip(),
            "body": self.body_edit.toPlainText(),
            "tags": _split(self.tags_edit.text()),
            "channels": _split(self.channels_edit.text()),
            "favorite_slot": self.slot_combo.currentData(),
        }

    def new_snippet(self) -> None:
        if self.dirty and not self._discard_ok():
            return
        self.table.clearSelection()
        self._show_form(None)
        self.title_edit.setFocus()

    def save(self) -> None:
        if not self.save_button.isEnabled():
            return
        store, now, fields, snippet_id = self.core.store, self.core.clock.now(), self._fields(), self.current_id

        def work():
            if snippet_id is None:
                return snip.create_snippet(store, now=now, **fields).id
            return snip.update_snippet(store, snippet_id, now=now, **fields).id

        self.save_button.setEnabled(False)
        self.tasks.run(work, self._saved, self._save_failed)

    def _saved(self, snippet_id: int) -> None:
        self.dirty = False
        self.current_id = snippet_id
        self.status.showMessage("Saved.", 4000)
        self.undo_button.hide()
        self.feature.snippets_changed()
        self.load(select_id=snippet_id)

    def _save_failed(self, exc: Exception) -> None:
        # The form keeps everything typed; the message says what to fix.
        self.problems.setText(f"Not saved: {exc}")
        self.problems.show()
        self.save_button.setEnabled(True)

    # --- delete and undo -----------------------------------------------------------------------------------

    def delete_current(self) -> None:
        snippet_id = self.current_id
        if snippet_id is None:
            return
        store = self.core.store
        self.tasks.run(lambda: snip.delete_snippet(store, snippet_id), self._deleted, self._failed)

    def _deleted(self, data: dict) -> None:
        self.undo_data = data
        self.dirty = False
        self.current_id = None
        self.status.showMessage(f"Deleted “{data['title']}”. Undo with the button or Ctrl+Z.")
        self.undo_button.show()
        self.feature.snippets_changed(deleted_id=data["id"])
        self.load()
        self.table.setFocus()

    def undo_delete(self) -> None:
        data = self.undo_data
        if data is None:
            return
        self.undo_data = None
        self.undo_button.hide()
        store = self.core.store
        self.tasks.run(lambda: snip.restore_snippet(store, data).id, self._restored, self._failed)

    def _restored(self, snippet_id: int) -> None:
        self.status.showMessage("Snippet restored.", 4000)
        self.feature.snippets_changed()
        self.load(select_id=snippet_id)

    # --- import and export ---------------------------------------------------------------------------------

    def import_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Import snippets", "", "Snippets (*.json *.csv);;JSON (*.json);;CSV (*.csv)"
        )
        if not path:
            return

        self._import_path = path

        def work():
            rows = snip.read_import_file(path)  # the CLI's path too: same checks, same messages
            existing = {s.abbreviation for s in Snippet.select(Snippet.abbreviation)}
            return path, rows, sorted(r["abbreviation"] for r in rows if r["abbreviation"] in existing)

        self.tasks.run(work, self._import_parsed, self._import_failed)

    def _import_parsed(self, result) -> None:
        path, rows, replaced = result
        if replaced:
            shown = ", ".join(";" + a for a in replaced[:8]) + (" …" if len(replaced) > 8 else "")
            answer = QMessageBox.question(
                self, "Import snippets",
                f"{len(replaced)} snippet(s) in the file replace yours with the same abbreviation: {shown}.\n"
                "Import anyway?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        store, now = self.core.store, self.core.clock.now()
        self.tasks.run(lambda: (path, snip.import_snippets(store, rows, now)), self._imported, self._import_failed)

    def _imported(self, result) -> None:
        path, outcome = result
        self.status.showMessage(
            f"Imported {outcome.total} snippet(s) from {Path(path).name}: "
            f"{outcome.created} new, {outcome.updated} replaced.", 8000,
        )
        self.undo_button.hide()
        self.feature.snippets_changed()
        self.load()

    def _import_failed(self, exc: Exception) -> None:
        if isinstance(exc, snip.SnippetError):
            message = snip.import_failure(Path(self._import_path).name, exc)
        else:  # a bug, not a bad file: say so without a traceback
            message = f"The import failed unexpectedly ({type(exc).__name__}). Nothing was imported."
        QMessageBox.warning(self, "Import failed", message)

    def export_file(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self, "Export snippets", "snippets.json", "JSON (*.json);;CSV (*.csv)")
        if not path:
            return
        if not path.lower().endswith((".json", ".csv")):
            path += ".csv" if "csv" in chosen.lower() else ".json"
        store = self.core.store

        def work():
            text = snip.export_csv(store) if path.lower().endswith(".csv") else snip.export_json(store)
            tmp = path + ".part"
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            os.replace(tmp, path)
            return path

        self.tasks.run(work, lambda p: self.status.showMessage(f"Exported to {p}.", 8000), self._failed)

    # --- closing --------------------------------------------------------------------------------------------

    def _discard_ok(self) -> bool:
        answer = QMessageBox.question(self, "Snippets", "Discard the changes to this snippet?")
        return answer == QMessageBox.StandardButton.Yes

    def reject(self) -> None:
        if self.dirty and not self._discard_ok():
            return
        self.dirty = False
        super().reject()
