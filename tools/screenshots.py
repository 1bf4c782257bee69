"""Screenshots of every window and dialog, in a light and a dark palette, at 1024×640 and 1600×1000.

Owns the visual review of issue 17 ("Done when"): it opens the demo profile in a temporary
SOCIALDESK_HOME through the public wiring (app.build_core, seed_demo, wire_window, the same the
window and the GUI tests use), lets the demo engine deliver its opening scene once, answers one
conversation (so Sent and Done have content) and saves a PNG of each screen. It also writes the
README's screenshot with `--readme`.

Run (offscreen, no display needed):

    QT_QPA_PLATFORM=offscreen python tools/screenshots.py            # everything into /tmp/shots/
    QT_QPA_PLATFORM=offscreen python tools/screenshots.py --only main_queue about --modes light
    QT_QPA_PLATFORM=offscreen python tools/screenshots.py --readme docs/screenshot.png \
        --emoji-font /path/to/NotoColorEmoji.ttf

`--emoji-font` loads a colour emoji font for this run only, as a desktop has one (a machine without one
draws the demo customers' emoji as empty boxes); it is not installed system-wide, where it would change
what the GUI tests measure.

Or under a virtual X server (Xvfb) with a `-screen 0 1600x1000x24`: `xvfb-run -s "-screen 0 1600x1000x24"
python tools/screenshots.py`. Files are named `<out>/<mode>/<screen>[_<size>].png`; `index.txt` lists
each with its size and notes (a dialog that does not fit a 1024×640 screen says so).

Decisions:
- Widgets are grabbed (`QWidget.grab`), not the screen: no window decorations, but the same pixels on
  any machine, with or without a display.
- The palette is switched live (QApplication.setPalette), as when the desktop switches to dark; the dark
  palette is the one tests/gui/test_dark_mode.py measures contrast with.
- Time: the wall clock (the demo connector stamps its messages with it), in a time zone where it is late
  morning now (TZ, unless set), so the demo bakery is open and countdowns run as in a working day.
- Dialogs are shot at the size they open at and, where that is larger than a 1024×640 screen, shrunk to
  fit it as a window manager would (to their minimum size at most).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
SIZES = ((1024, 640), (1600, 1000))
SMALL_SCREEN = (1024, 640)
# Zones tried for "late morning now", west to east (the bakery opens at 07:00, closes at 21:00).
ZONES = ("Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver", "America/Chicago",
         "America/New_York", "America/Sao_Paulo", "Atlantic/Azores", "Europe/London", "Europe/Berlin",
         "Europe/Athens", "Europe/Moscow", "Asia/Dubai", "Asia/Karachi", "Asia/Dhaka", "Asia/Bangkok",
         "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney", "Pacific/Noumea", "Pacific/Auckland")


def late_morning_zone(now: datetime) -> str:
    from zoneinfo import ZoneInfo

    def distance(name: str) -> float:
        local = now.astimezone(ZoneInfo(name))
        return abs(local.hour + local.minute / 60 - 10.5)

    return min(ZONES, key=distance)


class Shooter:
    def __init__(self, out: Path, only: set[str], modes: list[str]):
        from PySide6.QtWidgets import QApplication

        self.out = out
        self.only = only
        self.modes = modes
        self.app = QApplication.instance() or QApplication(sys.argv)
        self.light = self.app.style().standardPalette()
        sys.path.insert(0, str(ROOT))
        from PySide6.QtGui import QColor, QPalette

        from tests.gui.test_dark_mode import dark_palette

        self.dark = dark_palette()
        # A desktop's dark palette greys out disabled text too (the test palette sets only the active one).
        for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
            self.dark.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
        self.index: list[str] = []
        self.mode = "light"

    # --- plumbing -----------------------------------------------------------------------------------

    def wanted(self, name: str) -> bool:
        return not self.only or any(name.startswith(prefix) for prefix in self.only)

    def pump(self, seconds: float) -> None:
        from PySide6.QtCore import QEventLoop

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)

    def settle(self, tasks, quiet: float = 0.35, timeout: float = 15) -> None:
        """Until no background task has been pending for `quiet` seconds (the relay batches 150 ms)."""
        deadline = time.monotonic() + timeout
        calm_since = None
        while time.monotonic() < deadline:
            self.pump(0.05)
            if tasks.pending():
                calm_since = None
            elif calm_since is None:
                calm_since = time.monotonic()
            elif time.monotonic() - calm_since >= quiet:
                return

    def until(self, predicate: Callable[[], bool], timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            self.pump(0.05)
        return True

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.app.setPalette(self.dark if mode == "dark" else self.light)
        self.pump(0.1)

    def save(self, widget, name: str, note: str = "") -> None:
        folder = self.out / self.mode
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        widget.grab().save(str(path))
        line = f"{self.mode}/{name}.png  {widget.width()}x{widget.height()}" + (f"  {note}" if note else "")
        self.index.append(line)
        print(line, flush=True)

    def shoot_dialog(self, widget, name: str, tasks) -> None:
        """At its opening size, and shrunk to a 1024×640 screen when it is larger."""
        self.settle(tasks)
        self.save(widget, name)
        width, height = widget.width(), widget.height()
        small_w, small_h = SMALL_SCREEN[0], SMALL_SCREEN[1] - 40  # a panel or title bar takes some height
        if width > small_w or height > small_h:
            minimum = widget.minimumSizeHint().expandedTo(widget.minimumSize())
            fit_w, fit_h = max(min(width, small_w), minimum.width()), max(min(height, small_h), minimum.height())
            widget.resize(fit_w, fit_h)
            self.pump(0.2)
            overflow = "" if (fit_w <= small_w and fit_h <= small_h) else f"  DOES NOT FIT {small_w}x{small_h}"
            self.save(widget, f"{name}_small", f"shrunk from {width}x{height}{overflow}")
            widget.resize(width, height)
            self.pump(0.1)

    def capture(self, name: str, opener: Callable[[], None], tasks, *, prepare=None, close=True,
                first=True) -> None:
        """Run `opener` (from the event loop, so a dialog's exec() may block it) and shoot the new
        top-level window that appears; `prepare(dialog)` may go through its pages and shoot more."""
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        if not self.wanted(name):
            return
        before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
        state: dict = {}

        def poll() -> None:
            if "busy" in state:
                return
            new = [w for w in QApplication.topLevelWidgets() if w.isVisible() and id(w) not in before
                   and w.windowType() != Qt.WindowType.ToolTip]
            if not new:
                return
            state["busy"] = True
            timer.stop()
            dialog = new[-1]
            try:
                self.pump(0.2)
                if first:
                    self.shoot_dialog(dialog, name, tasks)
                else:
                    self.settle(tasks)
                if prepare is not None:
                    prepare(dialog, name)
            except Exception as exc:  # one broken screen must not stop the rest
                print(f"!! {name}: {exc!r}", flush=True)
                self.index.append(f"{self.mode}/{name}: FAILED {exc!r}")
            finally:
                if close:
                    dialog.reject() if hasattr(dialog, "reject") else dialog.close()
                    dialog.close()
                state["done"] = True

        from PySide6.QtCore import Qt

        timer = QTimer()
        timer.setInterval(50)
        timer.timeout.connect(poll)
        timer.start()
        QTimer.singleShot(0, opener)
        if not self.until(lambda: "done" in state, timeout=30):
            timer.stop()
            print(f"!! {name}: nothing opened", flush=True)
            self.index.append(f"{self.mode}/{name}: NOTHING OPENED")
        self.pump(0.2)


def build(home: Path):
    os.environ["SOCIALDESK_HOME"] = str(home)
    from socialdesk import paths
    from socialdesk.app import build_core, seed_demo, wire_window
    from socialdesk.ui.notifications import RecordingNotifier

    core = build_core(paths.profile(paths.DEMO_PROFILE))
    seed_demo(core)
    core.engine.run_once()
    window, tasks, _relay = wire_window(core, notifier=RecordingNotifier(), demo=True)
    return core, window, tasks


def answer_one(core, window, shooter: Shooter) -> None:
    """Reply to the last awaiting conversation and mark it done, so Sent and Done list something."""
    from socialdesk.core import queue

    ids = queue.list_ids("awaiting", core.clock.now())
    rows = queue.rows(ids)
    direct = [i for i in ids if rows.get(i) is not None and rows[i].kind == "dm"] or ids
    if direct:
        core.owner.reply(direct[-1], "Thank you! Yes, we do — see you on Saturday.", mark_done=True)
        core.engine.run_once()  # sends it
    shooter.settle(window.tasks)


def shoot_main(shooter: Shooter, core, window, tasks) -> None:
    from socialdesk.ui.main_window import TAB_VIEWS

    for width, height in SIZES:
        size = f"{width}x{height}"
        window.resize(width, height)
        window.show_awaiting()
        shooter.settle(tasks)
        window._select_row(1)
        shooter.settle(tasks)
        if shooter.wanted("main_queue"):
            shooter.save(window, f"main_queue_{size}")
        if shooter.wanted("main_composer"):
            window.composer.edit.setFocus()
            window.composer.edit.setPlainText("Hi Peter, thanks for telling us. I'm sorry about Saturday —")
            shooter.settle(tasks)
            shooter.save(window, f"main_composer_{size}")
            window.composer.edit.clear()
            shooter.settle(tasks)
        for view in TAB_VIEWS:
            name = f"main_tab_{view}"
            if shooter.wanted(name):
                window.tabs.setCurrentIndex(TAB_VIEWS.index(view))
                shooter.settle(tasks)
                shooter.save(window, f"{name}_{size}")
        window.show_awaiting()
        shooter.settle(tasks)
        if shooter.wanted("main_search"):
            for query, label in (("zzqx nothing", "none"), ("see you on Saturday", "elsewhere")):
                window.search.setText(query)
                shooter.settle(tasks)
                shooter.pump(0.4)  # the search waits 250 ms for typing to stop
                shooter.settle(tasks)
                shooter.save(window, f"main_search_{label}_{size}")
            window.search.clear()
            shooter.settle(tasks)
        if shooter.wanted("main_undo"):
            window.table.setFocus()
            window._select_row(0)
            shooter.settle(tasks)
            window.mark_waiting()  # the undo bar shows
            shooter.settle(tasks)
            shooter.save(window, f"main_undo_{size}")
            window.undo_last()
            shooter.settle(tasks)
        if shooter.wanted("main_away"):
            now = core.clock.now()
            core.owner.go_away(now + timedelta(days=2), None, now)
            shooter.settle(tasks)
            shooter.pump(0.3)
            shooter.settle(tasks)
            shooter.save(window, f"main_away_{size}")
            core.owner.come_back(core.clock.now())
            shooter.settle(tasks)


def shoot_dialogs(shooter: Shooter, core, window, tasks) -> None:
    from PySide6.QtWidgets import QTabWidget, QWizard

    window.resize(1280, 800)
    window.show_awaiting()
    shooter.settle(tasks)
    window._select_row(1)
    shooter.settle(tasks)
    act = window.actions

    def tabs_of(dialog, name: str) -> None:
        for tab_widget in dialog.findChildren(QTabWidget):
            for index in range(1, tab_widget.count()):
                tab_widget.setCurrentIndex(index)
                shooter.settle(tasks)
                title = tab_widget.tabText(index).replace("&&", "and").replace("&", "").replace(" ", "_").lower()
                shooter.shoot_dialog(dialog, f"{name}_tab_{title}", tasks)
            tab_widget.setCurrentIndex(0)

    window.composer.edit.setFocus()
    shooter.capture("command_palette", act["palette"].trigger, tasks)
    shooter.capture("cheat_sheet", act["cheatsheet"].trigger, tasks)
    def conversation_open() -> None:
        """The snippet palette and Same person need one (a minute tick may have reloaded the view)."""
        if window.current_id is None or window.composer.row is None:
            window._select_row(1)
            shooter.until(lambda: window.composer.row is not None, timeout=10)
            shooter.settle(tasks)
        window.composer.edit.setFocus()

    conversation_open()
    shooter.capture("snippet_palette", act["snippet_palette"].trigger, tasks)
    shooter.capture("snippets_window", act["manage_snippets"].trigger, tasks)
    shooter.capture("accounts", act["accounts"].trigger, tasks)

    def account_form(kind: str, more: bool):
        def prepare(dialog, name: str) -> None:
            chooser = dialog.chooser
            row = next(i for i, s in enumerate(chooser.specs) if s.kind == kind)
            chooser.list.setCurrentRow(row)
            dialog.next_step()
            shooter.settle(tasks)
            shooter.shoot_dialog(dialog, f"{name}_{kind}", tasks)
            if more and dialog.form is not None and hasattr(dialog.form, "more_button"):
                dialog.form.show_more(True)
                shooter.settle(tasks)
                shooter.shoot_dialog(dialog, f"{name}_{kind}_more", tasks)
        return prepare

    shooter.capture("account_dialog", act["add_account"].trigger, tasks, prepare=account_form("email", True))
    for kind in ("mastodon", "google", "facebook", "telegram", "bluesky"):
        # The chooser again is not shot again: only the form.
        shooter.capture(f"account_form_{kind}", act["add_account"].trigger, tasks, first=False,
                        prepare=lambda d, n, k=kind: account_form(k, False)(d, "account_dialog"))
    shooter.capture("hours", act["hours_editor"].trigger, tasks, prepare=tabs_of)
    shooter.capture("targets", act["targets_page"].trigger, tasks)
    shooter.capture("away_now", act["away_now"].trigger, tasks)
    shooter.capture("activity", act["activity"].trigger, tasks)
    shooter.capture("today", act["today"].trigger, tasks, prepare=tabs_of)
    shooter.capture("coverage", act["coverage"].trigger, tasks)
    conversation_open()
    shooter.capture("same_person", act["same_person"].trigger, tasks)
    shooter.capture("snooze_custom", lambda: window._snooze_custom(), tasks)

    def wizard_pages(dialog, name: str) -> None:
        if not isinstance(dialog, QWizard):
            return
        for page in range(1, 4):
            if not dialog.button(QWizard.WizardButton.NextButton).isVisible():
                break
            dialog.next()
            shooter.settle(tasks)
            shooter.shoot_dialog(dialog, f"{name}_page{page + 1}", tasks)

    shooter.capture("first_run", act["setup_assistant"].trigger, tasks, prepare=wizard_pages)
    shooter.capture("about", act["about"].trigger, tasks)


README_CUSTOMER = "Moira Grant"  # a birthday cake nobody answered about: the reply being written is hers
README_REPLY = ("Hi Moira, so sorry we missed your call! Your birthday cake is ready and boxed at the counter "
                "— we're here until closing. Have a wonderful party!")


def shoot_first_start(shooter: Shooter) -> None:
    """A new profile: no account yet, the empty queue says how to begin (both sizes)."""
    if not shooter.wanted("first_start"):
        return
    from socialdesk import paths
    from socialdesk.app import build_core, wire_window
    from socialdesk.ui.notifications import RecordingNotifier

    core = build_core(paths.profile("fresh"))
    window, tasks, _relay = wire_window(core, notifier=RecordingNotifier(), demo=False)
    try:
        window.show()
        window.start()
        shooter.until(lambda: window.add_account_button.isVisible(), timeout=15)
        for width, height in SIZES:
            window.resize(width, height)
            shooter.settle(tasks)
            shooter.save(window, f"first_start_{width}x{height}")
    finally:
        release(window, tasks, core)


def release(window, tasks, core) -> None:
    """Close a window for good: its timers stop (a minute tick must not reach a pool that is shut down)."""
    from PySide6.QtCore import QTimer

    window.quitting = True
    window.close()
    for timer in window.findChildren(QTimer):
        timer.stop()
    tasks.wait(5000)
    tasks.shutdown()
    core.close()


def quiet_qt_messages() -> None:
    """The offscreen platform says "This plugin does not support raise()" for every window: drop that."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(_kind, _context, message: str) -> None:
        if "This plugin does not support" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(handler)


def write_readme_shot(core, window, tasks, shooter: Shooter, path: Path) -> None:
    """Light, 1280×800 (legible at the README's width), the queue with a conversation open and a reply being
    written: the README's picture. The demo's deliberately hostile messages (markup shown literally, a test
    of the display, connectors/demo.py) are marked as spam first, as an owner would."""
    from PySide6.QtGui import QImageWriter, QTextCursor

    from socialdesk.core import queue

    shooter.set_mode("light")
    for conv_id, row in queue.rows(queue.list_ids("awaiting", core.clock.now())).items():
        if "<" in row.contact_name or "<" in row.preview:
            core.owner.set_status(conv_id, "spam")
    window.resize(1280, 800)
    window.show_awaiting()
    shooter.settle(tasks)
    names = [window.model.cache[i].contact_name if i in window.model.cache else "" for i in window.model.ids]
    window._select_row(names.index(README_CUSTOMER) if README_CUSTOMER in names else 1)
    shooter.settle(tasks)
    window.composer.edit.setFocus()
    window.composer.edit.setPlainText(README_REPLY)
    window.composer.edit.moveCursor(QTextCursor.MoveOperation.End)
    window.statusBar().clearMessage()
    shooter.settle(tasks)
    writer = QImageWriter(str(path), b"png")
    writer.setQuality(0)  # PNG: 0 is the strongest compression (lossless either way)
    if not writer.write(window.grab().toImage()):
        raise OSError(f"{path}: {writer.errorString()}")
    print(f"README screenshot: {path} ({path.stat().st_size // 1024} KB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/shots"))
    parser.add_argument("--only", nargs="*", default=[], help="screen name prefixes (main_queue, about, ...)")
    parser.add_argument("--modes", nargs="*", default=["light", "dark"], choices=["light", "dark"])
    parser.add_argument("--readme", type=Path, help="write the README screenshot to this file and stop")
    parser.add_argument("--emoji-font", type=Path, help="a colour emoji font file to draw emoji with")
    args = parser.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if "TZ" not in os.environ:
        os.environ["TZ"] = late_morning_zone(datetime.now(timezone.utc))
        time.tzset()
    with tempfile.TemporaryDirectory(prefix="socialdesk-shots-") as home:
        shooter = Shooter(args.out, set(args.only), args.modes)
        quiet_qt_messages()
        if args.emoji_font:
            from PySide6.QtGui import QFontDatabase

            font_id = QFontDatabase.addApplicationFont(str(args.emoji_font))
            if font_id < 0:
                parser.error(f"{args.emoji_font}: not a font Qt can load")
            QFontDatabase.setApplicationEmojiFontFamilies(QFontDatabase.applicationFontFamilies(font_id))
        core, window, tasks = build(Path(home))
        window.show()
        window.start()
        shooter.until(lambda: window.model.rowCount() > 0, timeout=15)
        shooter.settle(tasks)
        try:
            if args.readme:
                write_readme_shot(core, window, tasks, shooter, args.readme)
                return 0
            answer_one(core, window, shooter)
            for mode in args.modes:
                shooter.set_mode(mode)
                shoot_main(shooter, core, window, tasks)
                shoot_dialogs(shooter, core, window, tasks)
        finally:
            release(window, tasks, core)
        # Only once the demo's window and store are closed: the store's tables are bound to one database
        # per process, and the new profile's would take the demo window's data away.
        for mode in args.modes:
            shooter.set_mode(mode)
            shoot_first_start(shooter)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "index.txt").write_text("\n".join(shooter.index) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
