"""Help → About socialdesk and Help → Documentation.

The About box says which socialdesk this is and where it keeps things: version, licence, the profile's data
folder and its log file (paths.ProfilePaths), and links to the documentation.

Decisions:
- Version, licence and the documentation address come from the installed package's metadata, which is
  built from pyproject.toml (`version`, `license`, `[project.urls] Documentation`): one fact, one place.
  The bundle carries that metadata (packaging/socialdesk.spec: copy_metadata). Without it (a bare source
  tree never installed) the box says the version from `socialdesk.__version__` and "unknown" licence.
- The documentation link is the project's README on its home page (`Documentation` in pyproject, the
  AppStream metainfo's homepage); it opens in the browser, only over https (ui/conversation_view.open_url).
- The data folder and log file are links too: they open in the file manager; the text is selectable so
  it can be pasted into a support mail.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

import socialdesk
from socialdesk.ui import theme
from socialdesk.ui.actions import ActionSpec
from socialdesk.ui.conversation_view import open_url


@dataclass(frozen=True)
class AboutFacts:
    version: str
    licence: str
    documentation: str  # an https URL, or "" when unknown
    data_folder: Path
    log_file: Path


def about_facts(profile) -> AboutFacts:
    """Read from the installed metadata (pyproject.toml) and the profile's paths."""
    try:
        meta = metadata.metadata(socialdesk.APP_NAME)
        version = metadata.version(socialdesk.APP_NAME)
        licence = meta.get("License-Expression") or meta.get("License") or "unknown"
        urls = dict(entry.split(", ", 1) for entry in meta.get_all("Project-URL") or [] if ", " in entry)
    except metadata.PackageNotFoundError:
        version, licence, urls = socialdesk.__version__, "unknown", {}
    documentation = urls.get("Documentation") or urls.get("Homepage") or ""
    if not documentation.startswith("https://"):
        documentation = ""
    return AboutFacts(version, licence, documentation, profile.root, profile.log_file)


def _link(url: str, text: str, colour: str) -> str:
    return f'<a style="color:{colour}" href="{html.escape(url, quote=True)}">{html.escape(text)}</a>'


class AboutDialog(QDialog):
    def __init__(self, facts: AboutFacts, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle("About socialdesk")
        self.facts = facts
        self.text = QLabel(self)
        self._render()
        self.text.setObjectName("about_text")
        self.text.setTextFormat(Qt.TextFormat.RichText)  # built from escaped parts only
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.text.setOpenExternalLinks(False)
        self.text.linkActivated.connect(self._open)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        # Focus starts on Close (Enter closes): on the text it showed a text cursor after the last link.
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        self.close_button.setDefault(True)
        self.close_button.setFocus()
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)

    def _render(self) -> None:
        """The text, with links in theme.LINK for the current palette (rebuilt when the palette changes:
        rich text keeps the link colour it was built with)."""
        facts, colour = self.facts, theme.colour(theme.LINK, self.palette())
        folder_url = QUrl.fromLocalFile(str(facts.data_folder)).toString()
        log_url = QUrl.fromLocalFile(str(facts.log_file)).toString()
        rows = [
            ("Version", html.escape(facts.version)),
            ("Licence", html.escape(facts.licence)),
            ("Data folder", _link(folder_url, str(facts.data_folder), colour)),
            ("Log file", _link(log_url, str(facts.log_file), colour)),
            ("Documentation", _link(facts.documentation, facts.documentation, colour) if facts.documentation
             else "the README.md that came with socialdesk"),
        ]
        body = "".join(f"<tr><td><b>{name}</b>&nbsp;&nbsp;</td><td>{value}</td></tr>" for name, value in rows)
        summary = (socialdesk.__doc__ or "").split(":", 1)[-1].strip()
        self.text.setText(f"<p style='font-size:15px'><b>socialdesk {html.escape(facts.version)}</b></p>"
                          f"<p>{html.escape(summary[:1].upper() + summary[1:])}</p><table>{body}</table>")

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "text"):
            self._render()

    def _open(self, link: str) -> None:
        url = QUrl(link)
        if url.isLocalFile():
            # The log file may not exist yet: open its folder then.
            path = Path(url.toLocalFile())
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path if path.exists() else path.parent)))
        else:
            open_url(url)


class AboutFeature:
    ACTIONS: tuple[ActionSpec, ...] = (
        ActionSpec("documentation", "Documentation", "Help", (), "open_documentation",
                   "The socialdesk manual (README) in your browser"),
        ActionSpec("about", "About socialdesk", "Help", (), "open_about",
                   "Version, licence, where your data and the log file are"),
    )

    def __init__(self, core, tasks):
        self.core = core
        self.tasks = tasks
        self.window = None
        self.dialog: AboutDialog | None = None

    def attach(self, window) -> None:
        self.window = window

    # The metadata is read from disk: on a worker (tasks.run), never on the GUI thread.

    def open_about(self) -> None:
        profile = self.core.profile
        self.tasks.run(lambda: about_facts(profile), self._show_about, self._failed)

    def _show_about(self, facts: AboutFacts) -> None:
        if self.dialog is None:
            self.dialog = AboutDialog(facts, self.window)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()

    def open_documentation(self) -> None:
        profile = self.core.profile
        self.tasks.run(lambda: about_facts(profile), self._open_documentation, self._failed)

    def _open_documentation(self, facts: AboutFacts) -> None:
        if not facts.documentation or not open_url(QUrl(facts.documentation)):
            self.window.statusBar().showMessage("The documentation is the README.md that came with socialdesk.", 6000)

    def _failed(self, exc: Exception) -> None:
        self.window.statusBar().showMessage(f"About: {exc}", 6000)
