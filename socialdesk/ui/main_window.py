"""The main window: the unified queue on the left, the conversation and composer on the right.

Decisions:
- The window is thin: every query and write runs through `Tasks` (ui/workers.py) on a worker thread and
  comes back to a method here; the GUI thread only renders. Results carry the ids they were asked for,
  so a late result for a conversation the owner has left is ignored.
- Refreshes are driven by ChangeSets (core/changes.py), the engine's and the owner's alike: an action
  here (done, snooze, send, merge, a settings or account edit) runs a core service
  (core/owner_actions.py, core/account_service.py) that publishes what it changed, and the window
  refreshes from that notification like from a sync: the view's order and counts (one indexed query),
  only the changed rows, the open thread only if it changed; every row only when hours or targets
  changed. Nothing calls a global reload after its own action. Loading a view (tab, filter, search,
  the minute tick) is `load_view`.
- Triage flow: after done/waiting/spam/snooze/send, the next most urgent item is selected once the
  refreshed view no longer lists the triaged one (or, if it stays, at the first refresh after the
  write), so the owner can clear the queue with the keyboard alone. Drafts are stored per conversation
  as the owner types (ui/drafts.DraftKeeper, core/drafts.py), on switching and before Ctrl+Q quits,
  and a failed send leaves the text in the composer: nothing typed is ever lost.
- Nothing the owner did is hidden: Sent lists what was answered (latest first), All everything, and a
  search in All covers spam too; a search that finds nothing in the current view says where its matches
  are ("1 in Sent", core/queue_read.search_places) and Enter shows them in All. The status column says
  where each row is (queue_read.PLACES) in views that mix places and in search results.
- Customer text is plain text everywhere (list, thread, notifications, tooltips).
- The queue is two-line rows (ui/queue_delegate.py); opening a conversation marks it seen
  (owner.mark_seen), so its row is no longer "new". The header's countdown is redrawn from the model's
  row whenever the model repaints it (a change notification's rows, the minute tick), so the two agree.
- Away and Paused: a banner over the window with the button that ends it (ui/mode_banner.py) and a
  tray badge, read at start, at the minute tick and after any settings change.
"""

from __future__ import annotations

import gc
import logging
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QCloseEvent, QPalette, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from socialdesk.core import automation, queue_read
from socialdesk.core.changes import ChangeSet
from socialdesk.core.states import ConversationStatus
from socialdesk.ui import icons, theme
from socialdesk.ui.drafts import DraftKeeper
from socialdesk.ui.mode_banner import ModeBanner
from socialdesk.ui.notifications import CATEGORY_MESSAGE, AlertAnnouncer, Notifier, new_messages_text
from socialdesk.ui.qtcompat import emit
from socialdesk.ui.queue_delegate import QueueDelegate
from socialdesk.ui.queue_model import COLUMNS, KIND_LABELS, QueueModel, due_text, positions_of
from socialdesk.ui.workers import Tasks

if TYPE_CHECKING:
    from socialdesk.core.owner_actions import Undo
    from socialdesk.ui.composer import Composer
    from socialdesk.ui.conversation_view import ConversationView

log = logging.getLogger(__name__)

TAB_VIEWS = ("awaiting", "overdue", "public", "private", "reviews", "waiting", "snoozed", "done", "sent", "all")
# Views whose rows are in different places (the status column says which); a search shows it too.
STATUS_COLUMN_VIEWS = ("all", "reviews", "sent")
COUNTDOWN_REFRESH_MS = 30_000
UNDO_MS = 8_000  # how long "Marked done. Undo (Ctrl+Z)" is offered
QUIT_SAVE_WAIT_MS = 3_000  # Ctrl+Q waits at most this long for the last draft to be stored
NEW_MESSAGE_BATCH_MS = 2_000


class MainWindow(QMainWindow):
    # Every batched engine change, after the window handled it: features (Activity view...) listen here.
    engine_changed = Signal(object)
    # Once, when the first rows of the queue are on screen (or the empty view is): app.py starts what can
    # wait for it then (the features' menus and dialogs, the file check, automation, the engine).
    first_paint = Signal()
    # Built by _build_reading_pane (in a staged start, once the first rows are painted).
    header: QLabel
    details: QLabel
    thread_view: ConversationView
    composer: Composer

    def __init__(
        self, core, tasks: Tasks, notifier: Notifier, *, demo: bool = False, features: tuple = (), tray=None,
        staged: bool = False, first_screen: Future | None = None,
    ):
        """`features` are objects with `ACTIONS` (ActionSpecs) and their handlers, plus `attach(window)`:
        the snippet palette, hours editor, dashboard... each adds its own actions and widgets.
        `staged` (app.start_window): the reading pane (thread, composer), the actions and the menus are
        built once the first rows are painted; until then the pane is blank and a selected conversation
        waits for it. `first_screen`: the awaiting view's first screen (queue_read.read_first_screen), already
        being read from the file (app.wire_window starts it while this module loads); the first load_view
        takes it."""
        super().__init__()
        self.features: list = []
        self.core = core
        self.tasks = tasks
        self.notifier = notifier
        self.demo = demo
        self.view = "awaiting"
        self.account_filter: int | None = None
        self.current_id: int | None = None
        self.current_row: queue_read.QueueRow | None = None
        # Through a lambda: the owner's services are made on first use, after the first paint.
        self.keeper = DraftKeeper(tasks, lambda drafts: self.core.owner.save_drafts(drafts), self._task_failed, self)
        self._filling = False  # the composer's text is being set by the window, not typed
        self.view_generation = 0
        # The conversation being triaged and the one to select after it: (conv id, next id, written).
        self.triage: tuple[int, int | None, bool] | None = None
        self.first_rows_shown = False
        self._screen_first = False  # the next load_view fetches one screen first (start(screen_first=True))
        self._first_screen = first_screen
        self._accounts_shown: tuple | None = None  # what queue rows show of each account (refresh_accounts)
        self.accounts_generation = 0
        self.pending_new: list[tuple[int, int]] = []
        self.search_places: dict[str, int] = {}  # where an empty search result's matches are
        self.tray = tray  # ui/tray.Tray when a system tray exists
        self.quitting = False
        self.reading_pane_built = False
        self.actions: dict = {}  # id -> QAction, once the reading pane is built (_build_reading_pane)
        self.setWindowTitle("socialdesk — demo" if demo else "socialdesk")
        self.resize(1240, 760)
        self._build()
        if staged:
            # Connected before start()'s own first-paint work, so the pane is there when that runs.
            self.first_paint.connect(self._build_reading_pane)
        else:
            self._build_reading_pane()
        self.add_features(features)
        self.notifier.activated.connect(self.open_conversation)
        self.alert_announcer = AlertAnnouncer(notifier, tasks, core, self._task_failed)

    # --- layout -------------------------------------------------------------------------------------

    def _build(self) -> None:
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 0, 6)
        self.tabs = QTabBar(left)
        self.tabs.setObjectName("view_tabs")
        for view in TAB_VIEWS:
            self.tabs.addTab(queue_read.VIEW_TITLES[view])
        self.tabs.currentChanged.connect(self._tab_changed)
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tabs.setExpanding(False)  # left-aligned at their own width, not stretched across a wide window
        filters = QHBoxLayout()
        self.channel_combo = QComboBox(left)
        self.channel_combo.setObjectName("channel_filter")
        self.channel_combo.addItem("All accounts", None)
        self.channel_combo.currentIndexChanged.connect(self._filter_changed)
        self.search = QLineEdit(left)
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search messages and people  ( / )")
        self.search.setClearButtonEnabled(True)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(250)
        self.search_timer.timeout.connect(self.load_view)
        self.search.textChanged.connect(lambda _t: self.search_timer.start())
        self.search.returnPressed.connect(self._search_enter)
        filters.addWidget(self.channel_combo)
        filters.addWidget(self.search, 1)
        self.table = QTableView(left)
        self.table.setObjectName("queue_table")
        self.model = QueueModel(self.core.clock.now, self._fetch_rows, self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Two-line rows painted by ui/queue_delegate.py in the "customer" column, which stretches; the
        # other columns stay in the model (their texts are what the row says) but only "status" is ever
        # shown, in views that mix places. No horizontal scroll bar: the countdown is never behind one.
        self.row_delegate = QueueDelegate(self.table)
        self.table.setItemDelegateForColumn(COLUMNS.index("customer"), self.row_delegate)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.row_delegate.row_height(self.table.font()))
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.hide()
        header.setStretchLastSection(False)
        for col, name in enumerate(COLUMNS):
            self.table.setColumnHidden(col, name not in ("customer", "status"))
        self.table.setColumnWidth(COLUMNS.index("status"), 76)
        header.setSectionResizeMode(COLUMNS.index("customer"), QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.current_linked: list[int] = []  # the open conversation's person's other conversations
        self.model.dataChanged.connect(self._rows_changed)
        # Shown instead of the table when the view is empty. On first start (no account yet) it says
        # how to begin, with a button for it (the action exists once the accounts feature is attached).
        self.empty_panel = QWidget(left)
        empty_layout = QVBoxLayout(self.empty_panel)
        self.empty_label = QLabel("Nothing awaiting an answer. 🎉", self.empty_panel)
        self.empty_label.setObjectName("empty_label")
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)  # it may quote the owner's search
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        theme.tint(self.empty_label, theme.MUTED, "padding:12px 24px")
        self.add_account_button = QPushButton("&Add your first account…", self.empty_panel)
        self.add_account_button.setObjectName("add_first_account")
        self.add_account_button.hide()
        self.add_account_button.clicked.connect(self._add_first_account)
        empty_layout.addStretch(2)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addWidget(self.add_account_button, 0, Qt.AlignmentFlag.AlignHCenter)
        empty_layout.addStretch(3)
        self.empty_panel.hide()
        self.has_accounts: bool | None = None  # None until refresh_accounts has looked
        left_layout.addLayout(filters)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.empty_panel, 1)
        left_layout.addWidget(self._build_undo_bar(left))

        splitter = QSplitter(self)
        splitter.addWidget(left)
        splitter.addWidget(QWidget(splitter))  # the reading pane's place (_build_reading_pane)
        self.splitter = splitter
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([720, 520])
        central = QWidget(self)
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        # Away or Paused, at a glance, with the button that ends it (ui/mode_banner.py).
        self.mode_banner = ModeBanner(central)
        self.mode_banner.end_away_requested.connect(self.end_away)
        self.mode_banner.resume_requested.connect(self.resume_automation)
        self.mode_generation = 0
        central_layout.addWidget(self.mode_banner)
        # The view tabs span the window, over the queue and the thread: in the queue's pane the ten of them
        # did not fit at 1024 px (scroll arrows hid half of them); across the window they do.
        tab_row = QHBoxLayout()
        tab_row.setContentsMargins(6, 6, 6, 0)
        tab_row.addWidget(self.tabs)
        central_layout.addLayout(tab_row)
        central_layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self.hours_label = QLabel(self)
        self.hours_label.setObjectName("hours_state")
        self.accounts_label = QLabel(self)
        self.accounts_label.setObjectName("account_states")
        self.accounts_label.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addWidget(self.hours_label)
        self.statusBar().addPermanentWidget(self.accounts_label)

        self._first_paint_watch: QObject | None = None

        self.countdown_timer = QTimer(self)
        self.countdown_timer.setInterval(COUNTDOWN_REFRESH_MS)
        self.countdown_timer.timeout.connect(self.on_minute_tick)
        self.countdown_timer.start()
        self.new_message_timer = QTimer(self)
        self.new_message_timer.setSingleShot(True)
        self.new_message_timer.setInterval(NEW_MESSAGE_BATCH_MS)
        self.new_message_timer.timeout.connect(self._announce_new_messages)

    def _build_reading_pane(self) -> None:
        """The conversation's side (header, details, thread, composer), the actions and the menus: after
        the first paint in a staged start (their modules are a third of the window's), else at once."""
        if self.reading_pane_built:
            return
        from socialdesk.ui import actions as actions_mod
        from socialdesk.ui.composer import Composer
        from socialdesk.ui.conversation_view import ConversationView

        right = QWidget(self)  # the splitter's child only by replaceWidget (a child would be a third pane)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 6, 6, 6)
        self.header = QLabel(right)
        self.header.setObjectName("conversation_header")
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        # A font, not a style sheet: a style sheet pins the label's palette, and the name stayed black after
        # the system switched to dark.
        header_font = self.header.font()
        header_font.setPixelSize(15)
        header_font.setBold(True)
        self.header.setFont(header_font)
        # A customer's name is theirs to choose (an email display name has no length limit): it wraps, and
        # what cannot wrap is cut at the pane's edge instead of widening the window past the screen.
        self.header.setWordWrap(True)
        self.header.setMinimumWidth(1)
        self.details = QLabel(right)
        self.details.setObjectName("conversation_details")
        self.details.setTextFormat(Qt.TextFormat.RichText)  # built from escaped parts only
        # Wraps: one line of kind, status, countdown and "Same person: #3, #7..." links was as wide as it was
        # long and pushed the queue down to 270 px at 1024 px.
        self.details.setWordWrap(True)
        self.details.setOpenExternalLinks(False)
        self.details.linkActivated.connect(self._details_link)
        self.thread_view = ConversationView(right)
        self.thread_view.link_activated.connect(self._open_link)
        self.composer = Composer(right, now=self.core.clock.now)
        self.composer.send_clicked.connect(self._send)
        self.composer.edit.textChanged.connect(self._composer_edited)
        right_layout.addWidget(self.header)
        right_layout.addWidget(self.details)
        right_layout.addWidget(self.thread_view, 1)
        right_layout.addWidget(self.composer)

        placeholder = self.splitter.replaceWidget(1, right)  # the pane takes the placeholder's size
        if placeholder is not None:
            placeholder.deleteLater()
        self.splitter.setStretchFactor(1, 2)  # a widget's own (its size policy): set again for this one
        self.action_specs = list(actions_mod.ACTIONS)
        self.actions = actions_mod.build_actions(self, [self.table, self.thread_view], [(actions_mod.ACTIONS, self)])
        self._build_menus()
        self.reading_pane_built = True
        # A conversation selected before the pane existed (the first row, in a staged start) opens now.
        conv_id, self.current_id = self.current_id, None
        self._set_conversation(None)
        if conv_id is not None:
            self._open(conv_id)
        if self.first_rows_shown:
            self._show_empty_state(not self.model.ids)

    def _build_undo_bar(self, parent: QWidget) -> QWidget:
        """The "Marked done. Undo (Ctrl+Z)" line under the queue, shown for UNDO_MS after an action."""
        bar = QFrame(parent)
        bar.setObjectName("undo_bar")
        bar.setFrameShape(QFrame.Shape.StyledPanel)
        bar.setAutoFillBackground(True)
        bar.setBackgroundRole(QPalette.ColorRole.ToolTipBase)  # a light/dark pair the style provides
        bar.setForegroundRole(QPalette.ColorRole.ToolTipText)
        row = QHBoxLayout(bar)
        row.setContentsMargins(10, 4, 4, 4)
        self.undo_label = QLabel(bar)
        self.undo_label.setObjectName("undo_label")
        self.undo_label.setTextFormat(Qt.TextFormat.PlainText)
        self.undo_label.setForegroundRole(QPalette.ColorRole.ToolTipText)
        self.undo_button = QPushButton("&Undo (Ctrl+Z)", bar)
        self.undo_button.setObjectName("undo_button")
        self.undo_button.clicked.connect(self.undo_last)
        row.addWidget(self.undo_label, 1)
        row.addWidget(self.undo_button)
        bar.hide()
        self.undo_bar = bar
        self.undoable: Undo | None = None
        self.undo_timer = QTimer(self)
        self.undo_timer.setSingleShot(True)
        self.undo_timer.setInterval(UNDO_MS)
        self.undo_timer.timeout.connect(self._undo_expired)
        return bar

    def _build_menus(self) -> None:
        from socialdesk.ui import actions as actions_mod

        menus: dict[str, QMenu] = {}
        for name in actions_mod.MENU_ORDER:
            menus[name] = self.menuBar().addMenu("&" + name)
        for spec in self.action_specs:
            menus[spec.menu].addAction(self.actions[spec.id])
        self.menus = menus

    def add_features(self, features) -> None:
        """Attach features (ACTIONS and `attach(window)`): their actions join the menus, the palette and
        the cheat sheet after the window's own, in the order given. app.py adds them after the first
        paint, so the queue shows without waiting for the dialogs' modules."""
        features = [f for f in features if f not in self.features]
        if not features:
            return
        from socialdesk.ui import actions as actions_mod

        providers = [(f.ACTIONS, f) for f in features]
        actions = actions_mod.build_actions(self, [self.table, self.thread_view], providers)
        self.features.extend(features)
        for specs, _feature in providers:
            for spec in specs:
                self.action_specs.append(spec)
                self.actions[spec.id] = actions[spec.id]
                self.menus[spec.menu].addAction(actions[spec.id])
        for feature in features:
            feature.attach(self)
        if features and self.first_rows_shown:
            self._show_empty_state(not self.model.ids)  # "Add your first account" needs its action

    def _first_rows_on_screen(self) -> None:
        """Emit `first_paint` once the rows just loaded are painted (at once when the view is empty or
        the window hidden: there is no paint to wait for)."""
        if not self.table.isVisible():
            emit(self.first_paint)
            return
        window = self

        class Watch(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 (Qt override)
                if event.type() == QEvent.Type.Paint:
                    window.table.viewport().removeEventFilter(self)
                    QTimer.singleShot(0, window, lambda: emit(window.first_paint))  # after this paint completes
                return False

        self._first_paint_watch = Watch(self)
        self.table.viewport().installEventFilter(self._first_paint_watch)

    # --- loading --------------------------------------------------------------------------------------

    def start(self, *, screen_first: bool = False) -> None:
        """First load: queue order and the first rows; once they are painted, accounts (the filter's
        icons, the status bar) and the Away/Paused state, which the first rows do not need.
        `screen_first` (app.start_window): one screen of rows first, then the whole order and the counts."""
        self.first_paint.connect(self.refresh_accounts)
        self.first_paint.connect(self.refresh_mode)
        self._screen_first = screen_first
        self.load_view()

    @Slot()
    def load_view(self, select_id: int | None = None) -> None:
        """Load the order of the current view in the background (keeps the selection by id).

        With `select_id`, that conversation (or the first row) is selected and focused afterwards.
        """
        self.view_generation += 1
        generation = self.view_generation
        view, accounts, search = self.view, self.account_filter, self.search.text()
        now = self.core.clock.now()

        baseline = self._accounts_shown is None
        # One screen of rows and nothing else, so they paint sooner; the whole order and the counts
        # follow at once (_view_loaded loads the view again).
        screen, self._screen_first = self._screen_first, False
        prefetched, self._first_screen = self._first_screen, None
        if not (screen and view == "awaiting" and accounts is None and not search):
            prefetched = None
        serial = self.model.new_serial()  # the first rows' (a row read again since is not replaced by them)

        def work():
            account_ids = None if accounts is None else [accounts]
            if screen:
                # The screen read from the file before the store opens (app.wire_window); None when the
                # file was not ready for that (new, or to be migrated): then from the store, opened here.
                read = prefetched.result() if prefetched is not None else None
                if read is None:
                    self.core.open()
                    read = queue_read.first_screen(view, now, account_ids=account_ids, search=search)
                ids, first, shown = read
                return generation, ids, (first, serial, positions_of(ids)), None, select_id, {}, shown, True
            # What the rows show of their accounts, read with them the first time: an account change
            # before the accounts' first refresh (they load after the first paint) is still seen as one.
            shown = queue_read.accounts_shown() if baseline else None
            ids = queue_read.list_ids(view, now, account_ids=account_ids, search=search)
            first = queue_read.rows(ids[:queue_read.FIRST_ROWS])
            if view == "awaiting" and account_ids is None and not search.strip() and (not ids or ids[0] in first):
                # The whole awaiting view is what the awaiting count counts, and its first row is the most
                # urgent: read with the order (one snapshot), not by two more queries (~18 ms of a worker's
                # CPU at every refresh of a 20,000-conversation profile, while a sync burst needs the cores).
                urgent = first[ids[0]] if ids else None
                counts = (len(ids), queue_read.overdue_count(now), urgent)
            else:
                counts = (queue_read.awaiting_count(), queue_read.overdue_count(now), queue_read.most_urgent(now))
            # Nothing here: say where the search found something instead ("3 in Done").
            places = queue_read.search_places(search, account_ids=account_ids) if search.strip() and not ids else {}
            return generation, ids, (first, serial, positions_of(ids)), counts, select_id, places, shown, False

        self.tasks.run(work, self._view_loaded, self._task_failed if self.first_rows_shown else self._first_load_failed,
                       prepare=prefetched is None)  # a prefetched screen needs no store

    def _first_load_failed(self, exc: Exception) -> None:
        """The first rows could not be read (a damaged page under them, which the page check after the
        first paint has not looked at yet): the start goes on as after a first paint, so that check can say
        what is wrong, instead of the window waiting for rows that never come."""
        self._task_failed(exc)
        if not self.first_rows_shown:
            self.first_rows_shown = True
            emit(self.first_paint)

    def _view_loaded(self, result) -> None:
        generation, ids, (first, serial, positions), counts, select_id, places, shown, screen = result
        if self._accounts_shown is None and shown is not None:
            self._accounts_shown = shown
        if generation != self.view_generation:
            return  # a newer load is on its way
        self.search_places = places
        # Every row of a triage view is "open": the status column only earns its space where rows differ.
        self.table.setColumnHidden(COLUMNS.index("status"),
                                   self.view not in STATUS_COLUMN_VIEWS and not self.search.text().strip())
        self.model.update_rows(first, serial)
        self.model.set_ids(ids, positions)  # the row index was made on the worker
        self.model.update_rows(first, serial)
        if self.triage is not None and (self.triage[0] not in ids or self.triage[2]):
            # The triaged conversation left the view (or stays after its write): on to the next one.
            # (When its row went, Qt already moved the current row; selecting it again changes nothing.)
            select_id, self.triage = self.triage[1], None
        self.table.setVisible(bool(ids))
        self._show_empty_state(not ids)
        if screen:
            # The whole order and the counts, after the first paint (a staged start opens the store then,
            # before this runs: connected after app.start_window's second stage). Connected before the
            # watch below, which emits at once when there is nothing to paint.
            follow = select_id if select_id is not None and select_id not in ids else None
            self.first_paint.connect(lambda: self.load_view(follow), Qt.ConnectionType.SingleShotConnection)
        if not self.first_rows_shown:
            # Everything built so far (Qt wrappers, modules, the first rows) lives as long as the app:
            # move it out of the garbage collector's reach, so full collections stay short pauses on
            # the GUI thread (measured: 25-63 ms each without this, over the 50 ms stall budget).
            gc.freeze()
            self.first_rows_shown = True
            self._first_rows_on_screen()
        if not screen:
            self._update_counts(*counts)
        if select_id is not None or (self.current_id is None and ids):
            target = self.model.row_of(select_id) if select_id is not None else None
            self._select_row(target if target is not None else 0)
            self.table.setFocus()
        elif self.current_id is not None and self.model.row_of(self.current_id) is not None:
            row = self.model.row_of(self.current_id)
            if self.table.currentIndex().row() != row:
                self._select_row(row)

    def _fetch_rows(self, ids: list[int], serial: int) -> None:
        """The model's reads of rows (QueueModel.fetch_rows), on a worker."""
        model = self.model

        def failed(exc: Exception) -> None:
            model.read_failed(ids, serial)
            self._task_failed(exc)

        self.tasks.run(lambda: queue_read.rows(ids), lambda rows: model.update_rows(rows, serial), failed)

    def _update_counts(self, awaiting: int, overdue: int, urgent: queue_read.QueueRow | None) -> None:
        self.tabs.setTabText(0, f"Awaiting ({awaiting})")
        self.tabs.setTabText(1, f"Overdue ({overdue})")
        now = self.core.clock.now()
        urgent_text = ""
        if urgent is not None:
            from socialdesk.core import targets

            due = targets.format_countdown(urgent.due_at, now) if urgent.due_at else ""
            urgent_text = f"{urgent.contact_name} ({icons.channel_label(urgent.channel)}) {due}".strip()
        self.awaiting, self.overdue = awaiting, overdue
        if self.tray is not None:
            self.tray.update_state(awaiting, overdue > 0, urgent_text)

    def refresh_accounts(self) -> None:
        # Refreshes overlap (the minute tick, engine state changes, the Accounts dialog) and the task pool
        # may finish them out of order: only the newest one's result is applied, as for load_view().
        self.accounts_generation += 1
        generation = self.accounts_generation
        now, core = self.core.clock.now(), self.core

        def work():  # the store is read here, not on the GUI thread: it may not be open yet (a staged start)
            from socialdesk.core.store import Account

            rows = list(Account.select().order_by(Account.name))
            accounts = [(a.id, a.name, a.kind, queue_read.channel_from(a.kind, a.settings), a.state, a.last_error)
                        for a in rows]
            shown = tuple(queue_read.shown_account(a.id, a.name, a.kind, a.settings) for a in rows)
            return generation, accounts, core.policy().schedule.state_label(now), shown

        self.tasks.run(work, self._accounts_loaded, self._task_failed)

    def _show_empty_state(self, empty: bool) -> None:
        first_start = empty and self.has_accounts is False and "add_account" in self.actions
        was_shown = self.add_account_button.isVisible()
        self.empty_panel.setVisible(empty)
        if self.reading_pane_built:
            self.composer.setVisible(not empty)  # nothing listed, nothing to answer: no greyed-out composer
        self.add_account_button.setVisible(first_start)
        if first_start and not was_shown:
            self.add_account_button.setFocus()  # Enter or Space starts, as everything here is keyboard-driven
        if first_start:
            self.empty_label.setText(
                "No accounts yet.\n\nConnect your mailbox, chats, social media and review pages, and every "
                "customer message lands here, most urgent first. More can be added any time from Tools → Accounts.\n\n"
                "To look around first with a sample bakery, start:  socialdesk --demo"
            )
        elif self.search.text().strip():
            self.empty_label.setText(self._no_match_text())
        elif self.view == "awaiting":
            self.empty_label.setText("Nothing awaiting an answer. 🎉")
        elif self.view == "sent":
            self.empty_label.setText("Nothing answered yet: conversations you reply to are listed here.")
        else:
            self.empty_label.setText("No conversations here.")

    def _no_match_text(self) -> str:
        """An empty search result says where its matches are: "No matches in Awaiting: 3 in Done, 1 in
        Sent." (Enter in the search box then opens All, which a search covers whole)."""
        if not self.search_places:
            return "No conversation matches."
        found = ", ".join(f"{n} in {queue_read.PLACE_TITLES[p]}" for p, n in self.search_places.items())
        return f"No matches in {queue_read.VIEW_TITLES[self.view]}: {found}.\nPress Enter to show them in All."

    def _add_first_account(self) -> None:
        self.actions["add_account"].trigger()

    def _accounts_loaded(self, result) -> None:
        import html

        generation, accounts, hours_label, shown = result
        if generation != self.accounts_generation:
            return  # a newer refresh is on its way
        if self._accounts_shown is not None and shown != self._accounts_shown:
            # An account was renamed, re-checked (its text limit) or removed: fetch the rows again,
            # and the open conversation's (its header and the composer's limit come from it).
            self.model.forget_all()
            self.load_view()
            if self.current_id is not None:
                self._load_thread(self.current_id)
        self._accounts_shown = shown
        self.has_accounts = bool(accounts)
        self._show_empty_state(not self.model.ids and self.first_rows_shown)
        self.hours_label.setText(hours_label)
        current = self.channel_combo.currentData()
        self.channel_combo.blockSignals(True)
        self.channel_combo.clear()
        self.channel_combo.addItem("All accounts", None)
        for account_id, name, _kind, channel, _state, _error in accounts:
            self.channel_combo.addItem(icons.channel_icon(channel), name, account_id)
        index = self.channel_combo.findData(current)
        self.channel_combo.setCurrentIndex(max(0, index))
        self.channel_combo.blockSignals(False)
        marks = {"ok": "●", "new": "○", "syncing": "◐", "backoff": "▲", "rate_limited": "⏸", "auth_error": "✖", "error": "✖"}
        parts = []
        tips = []
        working = 0
        for _id, name, _kind, _channel, state, error in accounts:
            # Accounts that work are counted, the others named: the line fits the status bar at any
            # window width (a list of every name was cut off at 1024 px), and a problem stands out.
            if state in ("ok", "new", "syncing"):
                working += 1
            else:
                parts.append(f"{marks.get(state, '?')} {name}")
            tips.append(f"{name}: {state}" + (f" — {error}" if error else ""))
        if working:
            plural = "s" if working > 1 else ""
            parts.append(f"● {working}{' more' if parts else ''} account{plural} connected")
        self.accounts_label.setText("   ".join(parts) if parts else "No accounts yet")
        self.accounts_label.setToolTip(html.escape("\n".join(tips)).replace("\n", "<br>"))

    def _task_failed(self, exc: Exception) -> None:
        log.error("background task failed: %s", exc, exc_info=exc)
        self.statusBar().showMessage(f"Something went wrong: {exc}", 8000)

    # --- engine changes -----------------------------------------------------------------------------------

    @Slot(object)
    def on_engine_change(self, change: ChangeSet) -> None:
        """Every batched ChangeSet: the engine's and the owner's actions' (see the module docstring)."""
        every_row = change.policy_changed  # hours or targets: every due time may have moved
        if every_row:
            self.model.forget_all()
        else:
            # The rows read so far are read again (they stay shown meanwhile); the others when first shown.
            # A draft or a row seen changes "Draft: …" or the new dot, not the order.
            self.model.reread(change.conversation_ids | change.drafts | change.seen)
        if every_row or change.conversation_ids or change.outbox:
            self.load_view()
            if self.current_id is not None and (every_row or self.current_id in change.conversation_ids):
                self._load_thread(self.current_id)
        if change.accounts or every_row:
            self.refresh_accounts()  # also the hours label
        if change.settings:
            self.refresh_mode()  # away is in the hours, pausing a setting of its own
        if change.new_inbound:
            self.pending_new.extend(change.new_inbound)
            if not self.new_message_timer.isActive():
                self.new_message_timer.start()
        if change.woke:
            self.on_minute_tick()  # the computer slept: countdowns and deadline alerts are stale (core/wake.py)
        emit(self.engine_changed, change)

    def _announce_new_messages(self) -> None:
        batch, self.pending_new = self.pending_new, []
        if not batch or not self.core.settings.get("notifications.enabled"):
            return
        quiet = self.core.settings.get("notifications.quiet_when_closed")
        now = self.core.clock.now()
        policy = self.core.policy
        first_conv = batch[-1][0]

        def work():
            if quiet and not policy().schedule.is_open(now):
                return None
            rows = queue_read.rows([first_conv])
            return rows.get(first_conv)

        def shown(row):
            if row is None:
                return
            title, body = new_messages_text(len(batch), row.contact_name, row.preview)
            # One "new messages" pop-up, updated in place, rather than a stack of them.
            self.notifier.notify(title, body, first_conv, category=CATEGORY_MESSAGE, replace_key="new-messages")

        self.tasks.run(work, shown, self._task_failed)

    @Slot()
    def on_minute_tick(self) -> None:
        """Every 30 s: countdowns repaint, deadline alerts are collected, the tray follows."""
        self.model.refresh_countdowns()
        if self.reading_pane_built:
            self.composer.update_counter()  # the reply window's line, and Send once the window closed
        self.load_view()  # time moves conversations into Overdue
        self.refresh_accounts()  # also the "Open until 17:00" label, which changes with time
        self.refresh_mode()  # an away period ends by itself
        self.check_alerts()

    # --- away and paused --------------------------------------------------------------------------------

    def refresh_mode(self) -> None:
        """Read whether the owner is away and automation paused (worker thread); banner and tray follow."""
        self.mode_generation += 1
        generation, now, core = self.mode_generation, self.core.clock.now(), self.core

        def work():  # the store is read here, not on the GUI thread: it may not be open yet (a staged start)
            schedule = core.policy().schedule
            away = schedule.state_label(now) if schedule.away_at(now) is not None else ""
            return generation, away, automation.is_paused(core.settings)

        self.tasks.run(work, self._mode_loaded, self._task_failed)

    def _mode_loaded(self, result) -> None:
        generation, away, paused = result
        if generation != self.mode_generation:
            return  # a newer read is on its way
        self.mode_banner.show_mode(away, paused)
        if self.tray is not None:
            self.tray.set_mode(away, paused)

    def end_away(self) -> None:
        """The banner's "End away": back now; everything follows the change notification."""
        owner = self.core.owner
        self.tasks.run(lambda: owner.come_back(), lambda _r: self.statusBar().showMessage("Welcome back.", 4000),
                       self._task_failed)

    def resume_automation(self) -> None:
        """The banner's "Resume automation": through the pause action where it exists (its check follows)."""
        action = self.actions.get("pause_automation")
        if action is not None and action.isCheckable() and action.isChecked():
            action.trigger()
            return
        owner = self.core.owner
        self.tasks.run(lambda: owner.set_paused(False), None, self._task_failed)

    def check_alerts(self) -> None:
        """Deadline pop-ups; each alert is recorded only once shown (ui/notifications.AlertAnnouncer)."""
        self.alert_announcer.check()

    # --- selection and thread -----------------------------------------------------------------------------

    def _select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row, 1)
            self.table.setCurrentIndex(index)
            self.table.scrollTo(index)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        conv_id = self.model.id_at(current.row()) if current.isValid() else None
        if conv_id == self.current_id:
            return
        if not self.reading_pane_built:
            self.current_id = conv_id  # opened when the pane is built (_build_reading_pane)
            return
        if self.current_id is not None:
            self.keeper.flush()  # leaving it: what was typed there is stored now, not after the pause
        self._open(conv_id)

    def _open(self, conv_id: int | None) -> None:
        """Show conversation `conv_id` (or none): its draft in the composer, its header, its thread."""
        self.current_id = conv_id
        row = self.model.cache.get(conv_id) if conv_id is not None else None
        latest = self.keeper.latest(conv_id) if conv_id is not None else None
        self._fill_composer(latest if latest is not None else (row.draft if row is not None else ""))
        self._set_conversation(row)
        if conv_id is not None:
            self._load_thread(conv_id)

    def _fill_composer(self, text: str) -> None:
        """Set the composer's text as the window (a draft coming back, a sent reply leaving), not typing."""
        self._filling = True
        try:
            self.composer.clear()
            if text:
                self.composer.edit.setPlainText(text)
                self.composer.edit.moveCursor(QTextCursor.MoveOperation.End)
        finally:
            self._filling = False

    def _composer_edited(self) -> None:
        if not self._filling and self.current_id is not None:
            self.keeper.typed(self.current_id, self.composer.text())

    def _set_conversation(self, row: queue_read.QueueRow | None) -> None:
        previous, self.current_row = self.current_row, row
        if not self.reading_pane_built:
            return
        has = row is not None
        self.composer.setEnabled(has)
        for action_id in ("send", "send_done", "done", "waiting", "snooze", "spam", "reopen", "open_platform", "reply"):
            self.actions[action_id].setEnabled(has)
        if row is None:
            self.header.setText("")
            self.details.setText("")
            self.thread_view.clear()
            self.composer.leave()
            return
        self.header.setText(f"{row.contact_name or '(unknown)'}  ·  {icons.channel_label(row.channel)}")
        if previous is None or previous.id != row.id:  # another conversation: none of the last one's details
            self.current_linked = []
            self._show_details(row)
        self.composer.set_conversation(row)

    def _load_thread(self, conv_id: int) -> None:
        def work():
            from socialdesk.core import queue  # the conversation's side: after the first paint

            return conv_id, queue.rows([conv_id]).get(conv_id), queue.thread(conv_id), queue.linked_conversations(conv_id)

        self.tasks.run(work, self._thread_loaded, self._task_failed)

    def _thread_loaded(self, result) -> None:
        conv_id, row, messages, linked = result
        if conv_id != self.current_id or row is None:
            return
        if row.draft and not self.composer.text() and self.keeper.latest(conv_id) is None:
            self._fill_composer(row.draft)  # its row was not loaded yet when it was selected
        self._set_conversation(row)
        self.thread_view.show_thread(messages, row.subject)
        self.current_linked = linked
        self._show_details(row)
        if row.new:
            owner = self.core.owner  # opened: no longer "new" (its row follows the change notification)
            self.tasks.run(lambda: owner.mark_seen(conv_id), None, self._task_failed)

    def _rows_changed(self, top_left: QModelIndex, bottom_right: QModelIndex, _roles=()) -> None:
        """The model repainted rows (a change notification's fresh rows, the minute tick's countdowns):
        the open conversation's header is redrawn from the same row at the same moment, never stale."""
        row_number = self.model.row_of(self.current_id) if self.current_id is not None else None
        if row_number is None or not top_left.row() <= row_number <= bottom_right.row():
            return
        row = self.model.cache.get(self.current_id)
        if row is not None and self.current_row is not None and self.reading_pane_built:
            self.current_row = row
            self._show_details(row)

    def _show_details(self, row: queue_read.QueueRow) -> None:
        """The header's second line: kind, status, the countdown exactly as the row shows it, links."""
        import html

        kind = KIND_LABELS.get(row.kind, row.kind).lower()
        link = theme.colour(theme.LINK, self.details.palette())  # the palette's own may be unreadable
        parts = [html.escape(("Public " if row.public else "Private ") + kind), html.escape(row.status)]
        if row.status == ConversationStatus.OPEN and (due := due_text(row, self.core.clock.now())):
            parts.append(html.escape(due))
        linked = self.current_linked
        if row.unanswered_count >= 2:
            parts.append(f"<b>{row.unanswered_count}× unanswered</b>")
        if row.permalink.startswith(("https://", "http://")):
            parts.append(f'<a style="color:{link}" href="{html.escape(row.permalink, quote=True)}">Open on platform</a>')
        if linked:
            links = ", ".join(f'<a style="color:{link}" href="conv:{i}">#{i}</a>' for i in linked[:5])
            parts.append(f"Same person: {links}")
        self.details.setText("  ·  ".join(parts))

    def _details_link(self, link: str) -> None:
        if link.startswith("conv:"):
            self.open_conversation(int(link[5:]))
        else:
            self._open_link(QUrl(link))

    def _open_link(self, url: QUrl) -> None:
        from socialdesk.ui.conversation_view import open_url

        if not open_url(url):
            self.statusBar().showMessage("Only web and mail links can be opened.", 5000)

    @Slot(int)
    def open_conversation(self, conv_id: int) -> None:
        """Bring the window up on a conversation (from a notification, the tray or a link).

        It is selected in the current tab when that tab lists it, else in the first tab that does, and
        that tab is the highlighted one; a search or account filter that hides it is cleared.
        """
        self.show_window()
        row = self.model.row_of(conv_id)
        if row is not None:
            self._select_row(row)
            self.table.setFocus()  # the triage keys work at once: r, e, j...
            return
        now = self.core.clock.now()
        self.tasks.run(lambda: queue_read.views_of(conv_id, now), lambda views: self._open_in_view(conv_id, views),
                       self._task_failed)

    def _open_in_view(self, conv_id: int, views: list[str]) -> None:
        tabs = [view for view in TAB_VIEWS if view in views]
        if not tabs:
            where = f"is in {queue_read.VIEW_TITLES[views[0]]}" if views else "no longer exists"
            self.statusBar().showMessage(f"That conversation {where}.", 5000)
            return
        for widget in (self.search, self.channel_combo, self.tabs):
            widget.blockSignals(True)
        self.search.clear()
        self.channel_combo.setCurrentIndex(0)
        self.account_filter = None
        self.view = self.view if self.view in tabs else tabs[0]
        self.tabs.setCurrentIndex(TAB_VIEWS.index(self.view))
        for widget in (self.search, self.channel_combo, self.tabs):
            widget.blockSignals(False)
        self.current_id = None
        self._set_conversation(None)
        self.model.set_ids([])
        self.load_view(select_id=conv_id)

    def show_window(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        """The system switched between light and dark: the header's links are drawn in the new LINK colour
        (once the event loop runs again: the labels inside get the new palette after the window)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            QTimer.singleShot(0, self, self._repaint_details)  # dropped if the window goes first

    def _repaint_details(self) -> None:
        if self.current_row is not None and self.reading_pane_built:
            self._show_details(self.current_row)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Shown again (from the tray, often right after the laptop woke): countdowns and alerts are made
        right at once instead of at the next 30 s tick, and the engine looks at the clocks now (a sleep
        it has not noticed yet is caught up, core/wake.py). The first show is start()'s."""
        super().showEvent(event)
        if getattr(self, "_shown_before", False):
            self.on_minute_tick()
            self.core.engine.poke()
        self._shown_before = True

    # --- triage actions -------------------------------------------------------------------------------------

    def _next_after_current(self) -> int | None:
        row = self.table.currentIndex().row()
        if row < 0:
            return None
        for candidate in (row + 1, row - 1):
            conv_id = self.model.id_at(candidate)
            if conv_id is not None:
                return conv_id
        return None

    def _triage(self, work, conv_id: int, next_id: int | None, on_done=None, on_error=None) -> None:
        """Run an owner action on `conv_id`; the view follows its change notification, and `next_id` is
        selected once the refreshed view shows the result (see `_view_loaded`)."""
        self.triage = (conv_id, next_id, False)

        def written(result) -> None:
            if self.triage is not None and self.triage[0] == conv_id:
                self.triage = (conv_id, next_id, True)
            if on_done is not None:
                on_done(result)

        def failed(exc: Exception) -> None:
            if self.triage is not None and self.triage[0] == conv_id:
                self.triage = None
            (on_error or self._task_failed)(exc)

        self.tasks.run(work, written, failed)

    def _status(self, status: str, until: datetime | None = None) -> None:
        conv_id = self.current_id
        if conv_id is None:
            return
        next_id = self._next_after_current() if self.view in TAB_VIEWS[:5] else conv_id
        owner = self.core.owner
        # Once written, the undo bar says what was done ("Marked done.") and offers Ctrl+Z.
        self._triage(lambda: owner.set_status(conv_id, status, until), conv_id, next_id, self._offer_undo)

    def mark_done(self) -> None:
        self._status("done")

    def mark_waiting(self) -> None:
        self._status("waiting")

    def mark_spam(self) -> None:
        self._status("spam")

    def reopen(self) -> None:
        self._status("open")

    def snooze_menu(self) -> None:
        """The snooze choices (core/owner_actions.snooze_choices, in the schedule's timezone), then a menu."""
        if self.current_id is None:
            return
        conv_id, owner = self.current_id, self.core.owner
        self.tasks.run(lambda: (conv_id, owner.snooze_choices()), self._show_snooze_menu, self._task_failed)

    def _show_snooze_menu(self, result) -> None:
        conv_id, choices = result
        if conv_id != self.current_id:
            return  # the owner moved on meanwhile
        menu = QMenu(self)
        for label, until in choices:
            menu.addAction(label, lambda u=until: self._status("snoozed", u))
        menu.addAction("Custom…", self._snooze_custom)
        rect = self.table.visualRect(self.table.currentIndex())
        menu.exec(self.table.viewport().mapToGlobal(rect.bottomLeft()))

    def _snooze_custom(self) -> None:
        """A date and time read in the schedule's timezone, like the snooze choices."""
        owner = self.core.owner
        self.tasks.run(lambda: (owner.policy().schedule.timezone, owner.clock.now()), self._show_snooze_custom,
                       self._task_failed)

    def _show_snooze_custom(self, result) -> None:
        zone_name, now = result
        from socialdesk.ui.snooze_dialog import ask_snooze_until  # dialogs load when first opened

        until = ask_snooze_until(self, zone_name, now)
        if until is None:
            return
        if until <= self.core.clock.now():
            QMessageBox.warning(self, "Snooze", "Pick a time in the future.")
            return
        self._status("snoozed", until)

    def send_reply(self) -> None:
        self._send(False)

    def send_reply_done(self) -> None:
        self._send(True)

    @Slot(bool)
    def _send(self, mark_done: bool) -> None:
        conv_id = self.current_id
        if conv_id is None:
            return
        problem = self.composer.why_not()
        if problem:
            self.statusBar().showMessage(problem, 6000)
            self.composer.hint.setText(problem)
            self.composer.hint.show()
            return
        text = self.composer.text()
        meta = self.composer.reply_meta()
        next_id = self._next_after_current()
        owner = self.core.owner

        def sent(_result):
            if self.current_id == conv_id:
                self._fill_composer("")
            self.statusBar().showMessage("Reply queued — sending…" + (" Marked done." if mark_done else ""), 4000)

        def failed(exc):
            # The text stays in the composer and as the draft: nothing typed is lost.
            self.keeper.typed(conv_id, text)
            QMessageBox.warning(self, "Could not send", str(exc))

        # The reply deletes the stored draft: it is written after any save of this text that is under way.
        self.keeper.forget(conv_id)
        self.keeper.when_saved(lambda: self._triage(
            lambda: owner.reply(conv_id, text, mark_done=mark_done, **meta), conv_id, next_id, sent, failed))

    # --- navigation -----------------------------------------------------------------------------------------

    def select_next(self) -> None:
        row = self.table.currentIndex().row()
        self._select_row(min(row + 1, self.model.rowCount() - 1) if row >= 0 else 0)

    def select_previous(self) -> None:
        row = self.table.currentIndex().row()
        self._select_row(max(row - 1, 0))

    def open_selected(self) -> None:
        if self.current_id is None:
            self._select_row(0)
        self.thread_view.setFocus()

    def focus_composer(self) -> None:
        if self.current_id is not None:
            self.composer.edit.setFocus()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _search_enter(self) -> None:
        self.search_timer.stop()
        if self.search_places and not self.model.ids and self.view != "all":
            self.show_all()  # the matches are elsewhere: All lists every one of them (tab change loads)
        else:
            self.load_view()
        self.table.setFocus()

    def back_to_queue(self) -> None:
        if self.search.hasFocus() and self.search.text():
            self.search.clear()
        self.table.setFocus()

    def _tab_changed(self, index: int) -> None:
        if 0 <= index < len(TAB_VIEWS):
            self.view = TAB_VIEWS[index]
            self.current_id = None
            self._set_conversation(None)
            self.model.set_ids([])
            self.load_view()

    def _filter_changed(self, _index: int) -> None:
        self.account_filter = self.channel_combo.currentData()
        self.model.set_ids([])
        self.current_id = None
        self.load_view()

    def show_awaiting(self) -> None:
        self.tabs.setCurrentIndex(TAB_VIEWS.index("awaiting"))

    def show_overdue(self) -> None:
        self.tabs.setCurrentIndex(TAB_VIEWS.index("overdue"))

    def show_done(self) -> None:
        self.tabs.setCurrentIndex(TAB_VIEWS.index("done"))

    def show_sent(self) -> None:
        self.tabs.setCurrentIndex(TAB_VIEWS.index("sent"))

    def show_all(self) -> None:
        self.tabs.setCurrentIndex(TAB_VIEWS.index("all"))

    def open_on_platform(self) -> None:
        if self.current_row is not None and self.current_row.permalink:
            self._open_link(QUrl(self.current_row.permalink))

    def same_person(self) -> None:
        """Merge the selected customer with another person (ui/same_person.py ranks the candidates)."""
        from socialdesk.ui.same_person import SamePersonDialog

        row = self.current_row
        if row is None or row.contact_id is None:
            return
        self.same_person_dialog = SamePersonDialog(self.core, self.tasks, row.contact_id, row.contact_name, self)
        self.same_person_dialog.chosen.connect(self._merge_contacts)
        self.same_person_dialog.open()

    def _merge_contacts(self, keep: int, drop: int) -> None:
        owner = self.core.owner

        # The rows of both people and the open thread follow the change notification.
        self.tasks.run(lambda: owner.merge_contacts(keep, drop), self._offer_undo, self._task_failed)

    # --- undo -------------------------------------------------------------------------------------------

    def _offer_undo(self, undo: Undo) -> None:
        """An action was written: offer to reverse it for UNDO_MS (the bar, or Ctrl+Z anywhere but in text)."""
        self.undoable = undo
        self.undo_label.setText(f"{undo.label}.")
        self.undo_bar.show()
        self.undo_timer.start()

    def _undo_expired(self) -> None:
        self.undoable = None
        self.undo_bar.hide()

    def undo_last(self) -> None:
        """Ctrl+Z: reverse the last done, waiting, spam, snooze or merge while it is offered."""
        undo, self.undoable = self.undoable, None
        self.undo_timer.stop()
        self.undo_bar.hide()
        if undo is None:
            self.statusBar().showMessage("Nothing to undo.", 3000)
            return
        owner = self.core.owner
        select = next(iter(undo.conversation_ids)) if undo.status is not None else None

        def undone(message: str) -> None:
            self.statusBar().showMessage(message, 5000)
            if select is not None:
                self.triage = None
                self.load_view(select_id=select)  # it is back in the view: select it again

        def refused(exc: Exception) -> None:
            self.statusBar().showMessage(f"Could not undo: {exc}", 8000)

        self.tasks.run(lambda: owner.undo(undo), undone, refused)

    def sync_now(self) -> None:
        owner = self.core.owner
        self.tasks.run(owner.sync_now, lambda _r: self.statusBar().showMessage("Syncing…", 3000), self._task_failed)

    # --- palette and cheat sheet ----------------------------------------------------------------------------

    def command_palette(self) -> None:
        from socialdesk.ui.keyboard_help import command_palette_dialog

        dialog, line = command_palette_dialog(self, self.action_specs, self.actions)
        self.palette_dialog = dialog
        dialog.open()
        line.setFocus()

    def cheat_sheet(self) -> None:
        from socialdesk.ui.keyboard_help import cheat_sheet_dialog

        dialog = cheat_sheet_dialog(self, self.action_specs)
        self.cheat_sheet_dialog = dialog
        dialog.open()

    # --- window lifecycle ---------------------------------------------------------------------------------

    def hide_to_tray(self) -> None:
        self.keeper.flush()
        if self.tray is not None and self.tray.isVisible():
            self.hide()
        else:
            self.showMinimized()

    def quit_app(self) -> None:
        """Quit once every draft typed is stored (bounded: a disk that hangs must not keep the app up)."""
        self.quitting = True
        self.keeper.flush(self._quit_now)
        QTimer.singleShot(QUIT_SAVE_WAIT_MS, self, self._quit_now)

    def _quit_now(self) -> None:
        from PySide6.QtWidgets import QApplication

        QApplication.instance().quit()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.keeper.flush()
        if self.quitting or self.tray is None or not self.tray.isVisible():
            event.accept()
            return
        event.ignore()
        self.hide()
        if not self.core.settings.get("ui.tray_hint_shown"):
            self.tray.showMessage(
                "socialdesk is still running",
                "It keeps watching your accounts from the tray. Quit from the tray menu or with Ctrl+Q.",
            )
            owner = self.core.owner
            self.tasks.run(lambda: owner.save_settings({"ui.tray_hint_shown": True}))

