"""Snippets in the main window: the feature object (actions, background loading) and the palette.

`SnippetsFeature(core, tasks)` is the UI feature registered in app.ui_features. It owns every snippet
I/O of the window, always through `tasks.run`: the abbreviation/favourite index handed to the composer
(loaded at attach time and after every change in the Snippets window), the per-conversation render
context (core.personalize.context_for), record_use after an insertion, the palette's ranking, and the
composer's suggested reply (the same ranking for the customer's latest message, no query).

Keys: Ctrl+; opens the palette (so does "/" in an empty composer, see ui/composer.py), Alt+1…9 insert
the favourites, Alt+N adds the customer's name, Ctrl+Shift+S opens the Snippets window.

Palette decisions: ranking is core.snippets.rank_snippets (fuzzy match on title, abbreviation and body,
bm25 relevance to the selected customer's latest message, then use), run in the background 120 ms after
the last keystroke; stale results are dropped by a generation number. Enter pressed before the
ranking for the current query arrived waits for it and inserts its top result, so fast typists get what
they typed. The preview is the snippet rendered for the selected customer, as plain text.
Rows show the title on the left and ";abbreviation  Alt+N" right-aligned (ui/keyboard_help.KeyedDelegate);
after each ranking the list takes the width its longest row needs, leaving the preview at least
PREVIEW_MIN_WIDTH and widening the dialog up to MAX_SCREEN_SHARE of the screen for it, so a title is cut
only when the screen has no room for it.
"""

from __future__ import annotations

from functools import partialmethod

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from socialdesk.core import personalize
from socialdesk.core import snippets as snip
from socialdesk.core.store import Snippet
from socialdesk.ui import theme
from socialdesk.ui.actions import ActionSpec, menu_text
from socialdesk.ui.composer import SUGGESTIONS, SnippetRef
from socialdesk.ui.keyboard_help import add_row, fit_list_width, keyed_list

RANK_DELAY_MS = 120
PREVIEW_MIN_WIDTH = 260
MAX_SCREEN_SHARE = 0.8  # the palette widens for a long title up to this share of the screen
FAVORITE_SLOTS = range(1, 10)


def load_refs() -> list[SnippetRef]:
    """Every snippet as a plain snapshot (runs on a worker thread)."""
    return [
        SnippetRef(s.id, s.abbreviation, s.title, s.body, s.favorite_slot)
        for s in Snippet.select().order_by(Snippet.abbreviation)
    ]


class SnippetsFeature(QObject):
    ACTIONS: tuple[ActionSpec, ...] = (
        ActionSpec("snippet_palette", "Insert snippet…", "Tools", ("Ctrl+;",), "open_palette",
                   "Search your snippets and insert one for this customer", group="Answer"),
        ActionSpec("snippet_add_name", "Add the customer's name", "Conversation", ("Alt+N",), "add_name",
                   "Put the customer's first name into the reply", group="Answer"),
        ActionSpec("manage_snippets", "Manage snippets…", "Tools", ("Ctrl+Shift+S",), "open_manager",
                   "Edit, delete, import and export your snippets"),
    ) + tuple(
        ActionSpec(f"snippet_favorite_{n}", f"Insert favourite {n}", "Tools", (f"Alt+{n}",), f"insert_favorite_{n}",
                   group="Answer")
        for n in FAVORITE_SLOTS
    )

    def __init__(self, core, tasks):
        super().__init__()
        self.core = core
        self.tasks = tasks
        self.window = None
        self.composer = None
        self.palette: SnippetPalette | None = None
        self.manager = None
        self._loading_contexts: set[int] = set()

    def attach(self, window) -> None:
        self.window = window
        self.composer = window.composer
        self.composer.context_needed.connect(self._load_context)
        self.composer.snippet_inserted.connect(self._record_use)
        self.composer.palette_requested.connect(self.open_palette)
        self.composer.suggestions_needed.connect(self._load_suggestions)
        # The nine favourite actions live in a submenu that shows which snippet each key inserts.
        tools = window.menus["Tools"]
        self.favorites_menu = tools.addMenu("Favourite snippets")
        for n in FAVORITE_SLOTS:
            action: QAction = window.actions[f"snippet_favorite_{n}"]
            tools.removeAction(action)
            self.favorites_menu.addAction(action)
        self.reload_index()
        self.composer.ask_again()  # a conversation opened before this attached: its suggestion, its details

    # --- background loading -------------------------------------------------------------------------------

    def reload_index(self) -> None:
        """Refresh the composer's abbreviation/favourite map (after attach and after every edit)."""
        self.tasks.run(load_refs, self._index_loaded, self._failed)

    def _index_loaded(self, refs: list[SnippetRef]) -> None:
        self.composer.set_snippet_index(refs)
        by_slot = {r.favorite_slot: r for r in refs if r.favorite_slot is not None}
        for n in FAVORITE_SLOTS:
            ref = by_slot.get(n)
            title = f"Insert favourite {n}: {ref.title}" if ref else f"Insert favourite {n} (empty)"
            spec = next(s for s in self.ACTIONS if s.id == f"snippet_favorite_{n}")
            self.window.actions[spec.id].setText(menu_text(spec, title.replace("&", "&&")))

    def _load_context(self, conversation_id: int) -> None:
        if conversation_id in self._loading_contexts:
            return
        self._loading_contexts.add(conversation_id)
        core = self.core

        def work():
            try:
                return conversation_id, True, personalize.context_for(core, conversation_id)
            except Exception as exc:  # noqa: BLE001 — reported to the owner with the conversation id
                return conversation_id, False, str(exc)

        self.tasks.run(work, self._context_loaded, self._failed)

    def _context_loaded(self, result) -> None:
        conversation_id, ok, payload = result
        self._loading_contexts.discard(conversation_id)
        if ok:
            self.composer.set_context(conversation_id, payload)
        else:
            self.composer.context_failed(conversation_id, payload)

    def _load_suggestions(self, conversation_id: int, customer_text: str, channel: str) -> None:
        """The composer's suggested reply: the palette's ranking for the customer's latest message."""
        store = self.core.store

        def work():
            ranked = snip.rank_snippets(store, "", customer_text, channel, limit=SUGGESTIONS)
            return conversation_id, [SnippetRef(s.id, s.abbreviation, s.title, s.body, s.favorite_slot) for s in ranked]

        self.tasks.run(work, self._suggestions_loaded, self._failed)

    def _suggestions_loaded(self, result) -> None:
        self.composer.set_suggestions(*result)

    def _record_use(self, snippet_id: int) -> None:
        store, now = self.core.store, self.core.clock.now()
        self.tasks.run(lambda: snip.record_use(store, snippet_id, now), None, self._failed)

    def _failed(self, exc: Exception) -> None:
        if self.window is not None:
            self.window.statusBar().showMessage(f"Snippets: {exc}", 8000)

    # --- actions ------------------------------------------------------------------------------------------

    def open_palette(self) -> None:
        if self.window.current_id is None or self.composer.row is None:
            self.window.statusBar().showMessage("Select a conversation first.", 4000)
            return
        if self.palette is not None:
            self.palette.close()
        self.palette = SnippetPalette(self, self.window)
        self.palette.open()
        self.palette.search.setFocus()

    def add_name(self) -> None:
        if not self.composer.add_name():
            self.window.statusBar().showMessage("No first name to add (unknown, or already in the reply).", 4000)

    def insert_favorite(self, slot: int, _checked: bool = False) -> None:
        if self.window.current_id is None:
            self.window.statusBar().showMessage("Select a conversation first.", 4000)
            return
        self.composer.insert_favorite(slot)

    insert_favorite_1 = partialmethod(insert_favorite, 1)
    insert_favorite_2 = partialmethod(insert_favorite, 2)
    insert_favorite_3 = partialmethod(insert_favorite, 3)
    insert_favorite_4 = partialmethod(insert_favorite, 4)
    insert_favorite_5 = partialmethod(insert_favorite, 5)
    insert_favorite_6 = partialmethod(insert_favorite, 6)
    insert_favorite_7 = partialmethod(insert_favorite, 7)
    insert_favorite_8 = partialmethod(insert_favorite, 8)
    insert_favorite_9 = partialmethod(insert_favorite, 9)

    def open_manager(self) -> None:
        from socialdesk.ui.snippets_window import SnippetsWindow

        if self.manager is None:
            self.manager = SnippetsWindow(self, self.window)
        self.manager.show()
        self.manager.raise_()
        self.manager.activateWindow()
        self.manager.load()

    def snippets_changed(self, deleted_id: int | None = None) -> None:
        """Called by the Snippets window after any change."""
        if deleted_id is not None:
            self.composer.forget_snippet(deleted_id)
        self.composer.forget_suggestions()
        self.reload_index()


class SnippetPalette(QDialog):
    """Search field + ranked list + preview; Up/Down move, Enter inserts, Esc closes."""

    def __init__(self, feature: SnippetsFeature, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("snippet_palette")
        self.setWindowTitle("Insert snippet")
        self.resize(720, 440)
        self.feature = feature
        composer = feature.composer
        self.conversation_id = composer.row.id
        self.channel = composer.channel
        self.customer_text = composer.row.preview or ""
        self.context = composer.current_context()
        self.generation = 0
        self.shown_generation = -1
        self.accept_when_ranked = False
        self.search = QLineEdit(self)
        self.search.setObjectName("snippet_search")
        self.search.setPlaceholderText("Search title, abbreviation or text…")
        self.search.installEventFilter(self)
        self.listing = keyed_list(self, "snippet_list")
        self.listing.setAccessibleName("Snippets")
        self.preview = QPlainTextEdit(self)
        self.preview.setObjectName("snippet_preview")
        self.preview.setReadOnly(True)
        self.preview.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        who = self.context.first_name if self.context and self.context.first_name else "this customer"
        self.preview_label = QLabel(f"Preview for {who}", self)
        self.preview_label.setTextFormat(Qt.TextFormat.PlainText)
        theme.tint(self.preview_label, theme.MUTED)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.preview_label)
        right_layout.addWidget(self.preview, 1)
        split = QSplitter(self)
        split.addWidget(self.listing)
        split.addWidget(right)
        split.setSizes([300, 420])
        self.split = split
        keys = QLabel("↑↓ choose · Enter insert · Esc close · Alt+1…9 favourites", self)
        theme.tint(keys, theme.MUTED)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(split, 1)
        layout.addWidget(keys)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(RANK_DELAY_MS)
        self.timer.timeout.connect(self._rank)
        self.search.textChanged.connect(self._query_changed)
        self.search.returnPressed.connect(self.choose)
        self.listing.currentItemChanged.connect(self._show_preview)
        self.listing.itemActivated.connect(lambda _item: self.choose())
        self._rank()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        if obj is self.search and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if mods == Qt.KeyboardModifier.AltModifier and Qt.Key.Key_1 <= event.key() <= Qt.Key.Key_9:
                # The window's Alt+1…9 do not reach this dialog: insert the favourite from here too.
                self.accept()
                self.feature.insert_favorite(event.key() - Qt.Key.Key_0)
                return True
            if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
                self.listing.setFocus()
                self.listing.keyPressEvent(event)
                self.search.setFocus()
                return True
        return super().eventFilter(obj, event)

    def _query_changed(self, _text: str) -> None:
        self.generation += 1
        self.timer.start()

    def _rank(self) -> None:
        generation = self.generation
        store, query, customer, channel = self.feature.core.store, self.search.text(), self.customer_text, self.channel

        def work():
            ranked = snip.rank_snippets(store, query, customer, channel, limit=50)
            return generation, [SnippetRef(s.id, s.abbreviation, s.title, s.body, s.favorite_slot) for s in ranked]

        self.feature.tasks.run(work, self._ranked, self.feature._failed)

    def _ranked(self, result) -> None:
        generation, refs = result
        if generation != self.generation:
            return
        self.shown_generation = generation
        self.listing.clear()
        for ref in refs:
            slot = f"  Alt+{ref.favorite_slot}" if ref.favorite_slot else ""
            add_row(self.listing, ref.title, f";{ref.abbreviation}{slot}", ref, ref.body)
        self.fit_list()
        if refs:
            self.listing.setCurrentRow(0)
        else:
            self.preview.setPlainText("No snippet matches. Ctrl+Shift+S manages your snippets.")
        if self.accept_when_ranked:
            self.accept_when_ranked = False
            self.choose()

    def fit_list(self) -> None:
        """Give the list the width its longest row needs: the dialog grows for it (up to most of the
        screen) and the preview keeps at least PREVIEW_MIN_WIDTH."""
        total = sum(self.split.sizes())
        if total <= 0 or self.listing.count() == 0:
            return
        needed = fit_list_width(self.listing)
        short = needed + PREVIEW_MIN_WIDTH - total
        screen = self.screen().availableGeometry().width() if self.screen() is not None else 0
        if short > 0 and self.width() < MAX_SCREEN_SHARE * screen:
            self.resize(min(int(MAX_SCREEN_SHARE * screen), self.width() + short), self.height())
            return  # resizeEvent fits again
        width = min(needed, max(total - PREVIEW_MIN_WIDTH, total // 2))
        self.split.setSizes([width, total - width])

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.fit_list()

    def _show_preview(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is None:
            self.preview.clear()
            return
        ref: SnippetRef = item.data(Qt.ItemDataRole.UserRole)
        try:
            text = snip.render(ref.body, self.context or snip.RenderContext())
        except snip.SnippetError as exc:
            text = f"This snippet cannot be used: {exc}"
        self.preview.setPlainText(text)

    def choose(self) -> None:
        if self.timer.isActive() or self.shown_generation != self.generation:
            self.accept_when_ranked = True  # the list is not for the current query yet
            return
        item = self.listing.currentItem()
        if item is None:
            return
        ref: SnippetRef = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
        composer = self.feature.composer
        if composer.row is not None and composer.row.id == self.conversation_id:
            composer.insert_snippet(ref)
