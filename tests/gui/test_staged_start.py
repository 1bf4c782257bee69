"""The window's two-stage start (app.start_window, issue 17.15): the queue paints first; the page check,
the services beside the engine, the features and the engine follow; a damaged file stops there."""

from __future__ import annotations

import subprocess
import sys

from socialdesk import paths
from tests.gui.conftest import release_window
from tests.unit.test_store import damage_a_data_page, write_too_new_database


def _staged(qtbot, before_window=None):
    from socialdesk.app import build_core, seed_demo, wire_window
    from socialdesk.ui.notifications import RecordingNotifier

    core = build_core(paths.profile("demo"), staged=True)
    seed_demo(core)
    if before_window is not None:
        before_window(core)
    window, tasks, _relay = wire_window(core, notifier=RecordingNotifier(), demo=True, staged=True)
    qtbot.addWidget(window)
    return core, window, tasks


def test_the_queue_paints_before_the_features_and_the_engine_start(qtbot, monkeypatch):
    from socialdesk.app import start_window
    from socialdesk.core import queue, queue_read
    from socialdesk.core.store import Snippet

    # One screen of rows first (a screen of 5 here), then the whole order and the counts.
    monkeypatch.setattr(queue_read, "FIRST_ROWS", 5)
    # The first screen is read once from the file, while the window's modules load (wire_window), and that
    # read is used.
    screens: list[str] = []
    read_first_screen = queue_read.read_first_screen
    monkeypatch.setattr(queue_read, "read_first_screen",
                        lambda *a, **k: (screens.append(a[1]), read_first_screen(*a, **k))[1])
    core, window, tasks = _staged(qtbot, before_window=lambda core: core.engine.run_once())  # the demo's rows
    assert window._first_screen is not None
    loads: list[int] = []
    view_loaded = window._view_loaded
    window._view_loaded = lambda result: (loads.append(len(result[1])), view_loaded(result))
    order: list[str] = []
    window.first_paint.connect(lambda: order.append("painted"))
    started: list[bool] = []
    engine_start = core.engine.start
    core.engine.start = lambda: (order.append("engine"), engine_start())
    try:
        start_window(core, window, tasks, on_started=lambda: started.append(True))
        # Nothing of the second stage has run yet: no menus of the features, no engine.
        assert window.features == [] and "add_account" not in window.actions and order == []
        qtbot.waitUntil(lambda: bool(started), timeout=10_000)
        assert order == ["painted", "engine"]
        assert window.first_rows_shown
        awaiting = queue.awaiting_count()
        qtbot.waitUntil(lambda: window.tabs.tabText(0) == f"Awaiting ({awaiting})", timeout=5000)
        assert awaiting > 5 and loads[:2] == [5, awaiting] and window.model.rowCount() == awaiting
        assert screens == ["awaiting"]
        # The features are attached (their actions are in the menus) and the services ran: the starter
        # snippets of a first start are there, and the automation hooks are on the engine.
        assert "add_account" in window.actions and window.actions["add_account"] in window.menus["Tools"].actions()
        assert any(type(f).__name__ == "SnippetsFeature" for f in window.features)
        assert Snippet.select().count() > 0
        assert core.engine._scheduler_thread is not None and core.engine._scheduler_thread.is_alive()
    finally:
        core.engine.stop()
        release_window(window, tasks)
        core.store.close()


def test_the_reading_pane_is_built_after_the_first_paint_and_opens_the_selected_row(qtbot):
    """The thread and composer (a third of the window's modules) are built once the rows are painted, in
    the splitter's second pane at its size; the row selected meanwhile opens then, thread and all."""
    from socialdesk.app import start_window

    core, window, tasks = _staged(qtbot, before_window=lambda core: core.engine.run_once())
    core.engine.start = lambda: None
    painted: list[bool] = []
    window.first_paint.connect(lambda: painted.append(window.reading_pane_built))
    started: list[bool] = []
    try:
        start_window(core, window, tasks, on_started=lambda: started.append(True))
        assert not window.reading_pane_built and window.actions == {} and window.splitter.count() == 2
        qtbot.waitUntil(lambda: bool(painted), timeout=10_000)
        assert painted == [True]  # built by the first slot of first_paint, before the others run
        assert window.splitter.count() == 2 and window.splitter.widget(1) is window.composer.parentWidget()
        assert window.splitter.sizes()[1] > 0 and window.composer.isVisible()
        first = window.model.cache[window.model.id_at(0)]
        assert window.current_id == first.id and window.header.text().startswith(first.contact_name)
        qtbot.waitUntil(lambda: bool(window.thread_view.toPlainText().strip()), timeout=5000)
        assert window.actions["send"].isEnabled() and window.actions["done"] in window.menus["Conversation"].actions()
        from PySide6.QtWidgets import QApplication

        from socialdesk.ui.indicators import ReadableIndicators

        assert isinstance(QApplication.instance().style(), ReadableIndicators)  # installed at the first paint
        # The snippets feature attaches after the conversation opened: it still gets its suggested reply.
        qtbot.waitUntil(lambda: bool(started), timeout=10_000)
        qtbot.waitUntil(lambda: window.composer.suggestion() is not None, timeout=5000)
        assert window.composer.edit.placeholderText().startswith("Suggested reply (Tab inserts it")
    finally:
        release_window(window, tasks)
        core.store.close()


def test_a_damaged_file_stops_the_start_before_anything_writes(qtbot, tmp_path):
    """The page check left out before the first paint runs after it: a damaged page ends the start with
    the owner-readable message, the engine never starts and the file is left as it was."""
    from socialdesk.app import build_core, start_window, wire_window
    from socialdesk.ui.notifications import RecordingNotifier

    profile = paths.profile("default")
    profile.ensure()
    data = damage_a_data_page(profile.database)

    core = build_core(profile, staged=True)  # the store opens at the first paint: header, owner, version are sound
    window, tasks, _relay = wire_window(core, notifier=RecordingNotifier(), staged=True)
    qtbot.addWidget(window)
    problems: list[str] = []
    core.engine.start = lambda: problems.append("the engine started")
    try:
        start_window(core, window, tasks, on_started=lambda: problems.append("started"),
                     on_damaged=problems.append)
        qtbot.waitUntil(lambda: bool(problems), timeout=10_000)
        qtbot.wait(200)  # nothing else follows
        assert len(problems) == 1 and "is damaged" in problems[0] and "backups" in problems[0], problems
        assert window.features == []
    finally:
        release_window(window, tasks)
        core.store.close()
    assert profile.database.read_bytes() == data


def test_a_file_the_store_cannot_open_is_told_after_the_first_paint_and_nothing_starts(qtbot):
    """The store opens after the first paint in a staged start: a file from a newer socialdesk gives no
    early rows (the read refuses other versions), the window paints its empty queue, and opening the store
    then reports the owner-readable reason; nothing starts and the file is left as it was."""
    from socialdesk.app import build_core, start_window, wire_window
    from socialdesk.ui.notifications import RecordingNotifier

    profile = paths.profile("default").ensure()
    data = write_too_new_database(profile.database)
    core = build_core(profile, staged=True)
    window, tasks, _relay = wire_window(core, notifier=RecordingNotifier(), staged=True)
    qtbot.addWidget(window)
    problems: list[str] = []
    try:
        start_window(core, window, tasks, on_started=lambda: problems.append("started"), on_damaged=problems.append)
        qtbot.waitUntil(lambda: bool(problems), timeout=10_000)
        qtbot.wait(200)  # nothing else follows
        assert len(problems) == 1 and "newer socialdesk" in problems[0], problems
        assert window.features == [] and core._services is None  # no engine was even made
    finally:
        release_window(window, tasks)
        core.close()
    assert profile.database.read_bytes() == data


def test_rows_that_cannot_be_read_do_not_keep_the_page_check_from_saying_what_is_wrong(qtbot, monkeypatch):
    """The first screen fails (as reading a damaged page under it would): the start still goes on to the
    page check after the first paint, which reports the damage, instead of waiting for rows forever."""
    import sqlite3

    from socialdesk.app import build_core, start_window, wire_window
    from socialdesk.core import queue_read
    from socialdesk.ui.notifications import RecordingNotifier

    profile = paths.profile("default")
    profile.ensure()
    damage_a_data_page(profile.database)

    def unreadable(*_args, **_kwargs):
        raise sqlite3.DatabaseError("database disk image is malformed")

    # Both reads fail: the one from the file before the store opens (which then gives no screen) and the
    # one the window falls back on.
    monkeypatch.setattr(queue_read, "first_screen", unreadable)
    core = build_core(profile, staged=True)
    window, tasks, _relay = wire_window(core, notifier=RecordingNotifier(), staged=True)
    qtbot.addWidget(window)
    problems: list[str] = []
    core.engine.start = lambda: problems.append("the engine started")
    try:
        start_window(core, window, tasks, on_started=lambda: problems.append("started"), on_damaged=problems.append)
        qtbot.waitUntil(lambda: bool(problems), timeout=10_000)
        assert len(problems) == 1 and "is damaged" in problems[0], problems
        assert "malformed" in window.statusBar().currentMessage()
    finally:
        release_window(window, tasks)
        core.store.close()


def test_the_first_paint_does_not_wait_for_modules_it_does_not_use():
    """What the window imports before its first rows: not the automation engine, the transports
    (requests, imapclient, sievelib), the keyring, holiday calendars, the grapheme tables or the dialogs.
    Each was measured on the first paint (issue 17.15); this keeps them from creeping back."""
    probe = (
        "import sys, socialdesk.app\n"
        "from PySide6.QtWidgets import QApplication\n"
        "import socialdesk.ui.main_window\n"
        "heavy = ['socialdesk.core.automation.engine', 'requests', 'imapclient',\n"
        "         'sievelib', 'keyring', 'holidays', 'regex', 'http.server', 'socialdesk.ui.keyboard_help',\n"
        "         'socialdesk.ui.accounts_dialog', 'socialdesk.ui.hours_dialog', 'socialdesk.ui.snooze_dialog',\n"
        "         'socialdesk.connectors.email_transport', 'socialdesk.ui.composer', 'socialdesk.ui.conversation_view',\n"
        "         'socialdesk.core.snippets', 'socialdesk.ui.actions', 'socialdesk.ui.indicators',\n"
        "         'socialdesk.core.sync', 'socialdesk.core.owner_actions', 'socialdesk.connectors.base',\n"
        "         'peewee', 'socialdesk.core.store', 'socialdesk.core.queue']\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == []


def test_the_first_rows_are_painted_before_the_store_and_peewee_load(tmp_path):
    """A staged start on a profile with conversations paints its first rows from the file, read without
    the ORM (core/queue_read.read_first_screen); the store opens after. Run as the app runs, in a process
    of its own, up to the first paint."""
    import os

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SOCIALDESK_HOME": str(tmp_path / "home")}
    fill = ("from socialdesk import paths\n"
            "from socialdesk.app import build_core, seed_demo\n"
            "core = build_core(paths.profile('demo'))\n"
            "seed_demo(core)\n"
            "core.engine.run_once()\n"
            "core.close()\n")
    made = subprocess.run([sys.executable, "-c", fill], capture_output=True, text=True, timeout=60, env=env)
    assert made.returncode == 0, made.stderr
    probe = (
        "import sys\n"
        "from socialdesk import paths\n"
        "from socialdesk.app import build_core, start_window, wire_window\n"
        "from PySide6.QtCore import QEvent, QObject\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "core = build_core(paths.profile('demo'), staged=True)\n"
        "window, tasks, _relay = wire_window(core, demo=True, staged=True)\n"
        "seen = []\n"
        "class Watch(QObject):\n"
        "    def eventFilter(self, obj, event):\n"
        "        if event.type() == QEvent.Type.Paint and window.first_rows_shown and not seen:\n"
        "            seen.append((window.model.rowCount(),\n"
        "                         [m for m in ('peewee', 'socialdesk.core.store') if m in sys.modules]))\n"
        "        return False\n"
        "watch = Watch()\n"
        "window.table.viewport().installEventFilter(watch)\n"
        "start_window(core, window, tasks, on_damaged=print)\n"
        "while not seen:\n"
        "    app.processEvents()\n"
        "print(seen[0][0], ' '.join(seen[0][1]) or '-')\n"
        "import os; os._exit(0)\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 0, run.stderr
    rows, loaded = run.stdout.split()
    assert int(rows) > 0 and loaded == "-", run.stdout
