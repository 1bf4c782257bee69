"""Composition root: the one place that builds and wires the store, services, connectors, window and tray.

Decisions:
- `build_core()` wires the Qt-free part (store, settings, policy, sync engine, automation, the owner's
  action services and the ChangeBus they and the engine publish to); the command line and the GUI both
  use it, so headless and windowed socialdesk behave identically. `wire_window` subscribes the window's
  one ChangeRelay to that bus.
- Qt is imported only inside `run_gui()`, so `socialdesk queue` never pays for loading Qt.
- The window starts in two stages (`build_core(staged=True)`, `wire_window(staged=True)`,
  `start_window`), so the queue is on screen in about the time a bare Qt table over the same file takes:
  before the first paint only the first screen of the queue (read from the file on a worker while the
  window's modules load, without the store: core/queue_read.py) and the window's queue pane; after it
  the store (`Core.open`, without the whole-file page check), the reading pane, the menus and the sync
  engine and owner's services (`Core` makes them on first use), and on a worker thread `Store.verify()`
  (a damaged file stops everything there, before anything writes), the starter snippets, the automation
  and coverage hooks and the engine's recovery, then the features (menus, dialogs) on the GUI thread, and
  only then the engine. The command line builds everything at once (`build_core()`); so do the tests
  unless they test the stages.
- The demo profile gets one demo account per simulated channel on first start, and the business
  name / opening hours of the simulated bakery, which closes a few minutes after that first start so
  the off-hours auto-reply and the closing post show (`seed_demo`, `demo_schedule`).
- The garbage collector's young generation is collected every 10,000 allocations instead of 700
  (`tune_garbage_collector`, applied by build_core): a sync burst allocates rows by the hundred
  thousand and keeps them until its transaction ends, so the default ran ~90 collections per 10,000
  ingested items (6 % of ingest time, measured); with 10,000 it runs one. Reference cycles are rare
  here, so memory does not grow (the leak benchmark checks it).
"""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Callable, NamedTuple

from socialdesk import DESKTOP_ID, paths
from socialdesk.core.changes import ChangeBus, ChangeSet
from socialdesk.core.clock import Clock, SystemClock
from socialdesk.core.hours import Schedule, parse_week_spec, system_timezone_name
from socialdesk.logs import setup_logging
from socialdesk.secrets import KeyringSecrets

if TYPE_CHECKING:  # the store and what needs peewee load when the store opens (Core.open), not with this module
    from socialdesk.connectors.base import Connector
    from socialdesk.core.account_service import AccountService
    from socialdesk.core.owner_actions import OwnerActions
    from socialdesk.core.queue import Policy
    from socialdesk.core.settings import Settings
    from socialdesk.core.store import Account, Store
    from socialdesk.core.sync import SyncEngine

log = logging.getLogger("socialdesk")


class _Services(NamedTuple):
    engine: SyncEngine
    owner: OwnerActions
    account_service: AccountService


class _Opened(NamedTuple):
    store: Store
    settings: Settings
    policy: _PolicyCache


@dataclass
class Core:
    """The wired, Qt-free application: what the CLI and the window both work with.

    The store (with its settings and target policy) opens on first use or `open()`: a staged start opens
    it after the first paint, whose rows are read from the file without it (core/queue_read.py), so
    peewee is not loaded before them. The sync engine and the owner's services are made on first use
    too: their modules (the engine with its ingest and outbox, the owner's actions, the account service)
    are not needed for the window's first rows either. Both are thread-safe."""

    profile: paths.ProfilePaths
    clock: Clock
    make_connector: Callable[[Account], Connector]
    changes: ChangeBus  # every change notification: the engine's and the owner's (core/changes.py)
    verify: bool = True  # the store's whole-file page check when it opens (a staged start runs it later)
    _opened: _Opened | None = field(default=None, repr=False)
    _open_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _services: _Services | None = field(default=None, repr=False)
    _services_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def open(self) -> _Opened:
        """Open the profile's store (once; StoreError with an owner-readable line if it cannot)."""
        with self._open_lock:
            if self._opened is None:
                from socialdesk.core.settings import Settings
                from socialdesk.core.store import Store

                store = Store.open(self.profile.database, self.profile.backups, verify=self.verify)
                settings = Settings(store)
                self._opened = _Opened(store, settings, _PolicyCache(settings))
            return self._opened

    @property
    def store(self) -> Store:
        return self.open().store

    @property
    def settings(self) -> Settings:
        return self.open().settings

    @property
    def policy(self) -> _PolicyCache:
        return self.open().policy

    @property
    def engine(self) -> SyncEngine:
        return self.services().engine

    @property
    def owner(self) -> OwnerActions:
        """The owner's conversation and settings actions."""
        return self.services().owner

    @property
    def account_service(self) -> AccountService:
        """Adding, testing, enabling, removing accounts."""
        return self.services().account_service

    def services(self) -> _Services:
        with self._services_lock:
            if self._services is None:
                from socialdesk.core.account_service import AccountService
                from socialdesk.core.owner_actions import OwnerActions
                from socialdesk.core.sync import SyncEngine

                changes = self.changes
                engine = SyncEngine(self.store, self.make_connector, self.clock, self.policy,
                                    on_change=changes.publish)
                owner = OwnerActions(self.store, self.settings, self.policy, self.clock, changes, poke=engine.poke)
                account_service = AccountService(self.store, self.clock, self.profile.name, engine, changes)
                self._services = _Services(engine, owner, account_service)
            return self._services

    def poke(self) -> None:
        """The engine looks at its clocks now (the desktop is back), if it runs."""
        if self._services is not None:
            self._services.engine.poke()

    def stop(self) -> None:
        """Stop the engine, if it was made."""
        if self._services is not None:
            self._services.engine.stop()

    def close(self) -> None:
        self.stop()
        if self._opened is not None:
            self._opened.store.close()


class _PolicyCache:
    """Loads the target policy once and again only after `invalidate()` (settings changed)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._policy: Policy | None = None

    def __call__(self) -> Policy:
        if self._policy is None:
            from socialdesk.core.queue import Policy

            self._policy = Policy.load(self.settings)
        return self._policy

    def invalidate(self) -> None:
        self._policy = None


def connector_factory(profile_name: str) -> Callable[[Account], "Connector"]:
    def make(account: Account) -> "Connector":
        from socialdesk.connectors import registry

        spec = registry.spec(account.kind)
        return spec.factory(dict(account.settings or {}), KeyringSecrets(profile_name, account.name))

    return make


GC_THRESHOLDS = (10_000, 10, 10)  # young generation, then Python's defaults; see the module docstring


def tune_garbage_collector() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def build_core(
    profile: paths.ProfilePaths,
    *,
    clock: Clock | None = None,
    on_change: Callable[[ChangeSet], None] | None = None,
    staged: bool = False,
) -> Core:
    """Open the profile and wire its services. `staged` (the window): the store opens after the first
    paint (`start_window`), and its page check and the services beside the engine are left to
    `verify_and_install` (module docstring)."""
    tune_garbage_collector()
    profile.ensure()
    setup_logging(profile)
    changes = ChangeBus()
    if on_change is not None:
        changes.subscribe(on_change)
    core = Core(profile, clock or SystemClock(), connector_factory(profile.name), changes, verify=not staged)
    if not staged:
        core.open()
        install_services(core)
    return core


def install_services(core: Core) -> None:
    """What runs beside the engine, in the window and the daemon alike; before the engine starts."""
    from socialdesk.core import automation, coverage, snippets

    snippets.load_starter_snippets(core.store, core.clock.now())  # first run only; deleting them is permanent
    recompute_targets_once(core)
    # Automatic replies and status posts run inside the engine.
    automation.install(core.engine, core.store, core.settings, core.policy)
    # What platforms keep while socialdesk is closed (the mail server's off-hours replies), refreshed on
    # the accounts' worker threads whenever its inputs change and at least daily.
    name = core.profile.name
    coverage.install(core.engine, core.store, core.settings, core.policy,
                     lambda account: KeyringSecrets(name, account.name))


def recompute_targets_once(core: Core) -> None:
    """A profile whose stored due times follow an older rule than core/targets.RULE_VERSION gets them
    recomputed, once; every view reloads (the rule's key is one of settings.POLICY_KEYS)."""
    from socialdesk.core import targets
    from socialdesk.core.settings import TARGET_RULE_KEY

    if core.settings.get(TARGET_RULE_KEY) >= targets.RULE_VERSION:
        return
    from socialdesk.core import queue

    count = queue.awaiting_count()
    if count:  # a new profile has nothing to recompute, and nothing to reload
        queue.recompute_all(core.store, core.policy(), core.clock.now())
        core.policy.invalidate()  # loaded for this alone: the next user reads the settings as they are then
    core.settings.set(TARGET_RULE_KEY, targets.RULE_VERSION)
    if count:
        log.info("due times of %d open conversations recomputed for target rule %d", count, targets.RULE_VERSION)
        core.changes.publish(ChangeSet(settings={TARGET_RULE_KEY}))


def verify_and_install(core: Core) -> str | None:
    """The second stage of a staged start, on a worker thread: the store's page check, then the
    services and the engine's recovery. Returns the owner-readable problem if the file is damaged
    (then nothing was installed and nothing written)."""
    problem = core.store.verify()
    if problem is not None:
        return problem
    install_services(core)
    core.engine.recover()
    return None


# One simulated account per platform an owner can add today (connectors/demo.py CHANNELS).
DEMO_ACCOUNTS = [
    ("Email (demo)", "email"),
    ("Mastodon (demo)", "mastodon"),
    ("Bluesky (demo)", "bluesky"),
    ("Telegram (demo)", "telegram"),
    ("Instagram (demo)", "instagram"),
    ("Facebook (demo)", "facebook"),
    ("X (demo)", "x"),
    ("YouTube (demo)", "youtube"),
    ("Google reviews (demo)", "google"),
]
# The simulated bakery's ordinary week.
DEMO_WEEK = "mon-fri 07:00-18:00; sat 08:00-17:00; sun 09:00-14:00"


def demo_schedule(now: datetime, timezone: str) -> Schedule:
    """The demo bakery's hours: its ordinary week (DEMO_WEEK), and for the day of the first start special
    hours that end demo.CLOSES_AFTER later (on the next whole minute), so the closing post and the
    off-hours auto-reply (the demo's FIRST_MINUTES bring customers just after it) show within minutes,
    without switching on Away. The day opened at its usual time, or at the start of the current hour if
    that is earlier; a start just before midnight closes just after it. From the next day on, the
    ordinary week applies."""
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    from socialdesk.connectors.demo import CLOSES_AFTER

    week = parse_week_spec(DEMO_WEEK)
    local = now.astimezone(ZoneInfo(timezone))
    closes = (local + CLOSES_AFTER + timedelta(seconds=59)).replace(second=0, microsecond=0)
    usual = week.get(local.weekday()) or [(time(7), time(18))]
    opens = min(usual[0][0], time(local.hour))
    return Schedule(timezone=timezone, week=week, special_hours={local.date(): [(opens, closes.time())]})


def seed_demo(core: Core) -> None:
    """Give the demo profile its simulated accounts, business details, hours and closing post (first
    start only), and bring an older demo profile up to date (every start).

    A demo profile seeded by an earlier version may hold simulated accounts of platforms the demo no
    longer simulates: they are removed. One seeded before the demo had an average rate stored
    `interval_s` 45 (a message every 45 s on each account, ~12 a minute in all): it is removed, so each
    account writes at its channel's usual rate (connectors/demo.py RATES, under three an hour in all)."""
    from socialdesk.connectors.demo import CHANNELS, DEFAULT_CHANNEL
    from socialdesk.core.store import Account

    core.open()  # a staged start opens the store after the first paint; the demo is seeded before it
    demo_accounts = list(Account.select().where(Account.kind == "demo"))
    retired = [a.id for a in demo_accounts if (a.settings or {}).get("channel", DEFAULT_CHANNEL) not in CHANNELS]
    for account_id in retired:
        core.account_service.remove(account_id)
    timezone = system_timezone_name()
    with core.store.write():
        for account in demo_accounts:
            settings = dict(account.settings or {})
            if account.id not in retired and "interval_s" in settings:
                del settings["interval_s"]
                settings.setdefault("timezone", timezone)
                Account.update(settings=settings).where(Account.id == account.id).execute()
    if core.settings.get("demo.seeded"):
        return
    now = core.clock.now()
    with core.store.write():
        for name, channel in DEMO_ACCOUNTS:
            Account.get_or_create(
                name=name,
                # The time zone decides when the simulated customers' lunchtime is.
                defaults={"kind": "demo", "settings": {"channel": channel, "timezone": timezone}, "created_at": now},
            )
    core.settings.set("business.name", "Juniper & Rye")
    core.settings.set("business.my_name", "Sam")
    core.settings.set("hours.schedule", demo_schedule(now, timezone).to_json())
    core.policy.invalidate()
    # The closing post: status posts on for every demo account whose platform has them.
    from socialdesk.core import automation

    config = automation.load_config(core.settings)
    for account in Account.select().where(Account.kind == "demo").order_by(Account.id):
        if automation.can_post(account):
            config = config.with_status_posts(account.id, True, now)
    automation.save_config(core.settings, config)
    core.settings.set("demo.seeded", True)


def ui_features(core: Core, tasks) -> tuple:
    """The window's optional parts, each an object with ACTIONS (ui/actions.ActionSpec) and attach(window)."""
    # Plain imports (not __import__ by name), so PyInstaller's analysis sees and bundles them.
    from socialdesk.ui.about import AboutFeature
    from socialdesk.ui.accounts_dialog import AccountsFeature
    from socialdesk.ui.first_run import FirstRunFeature
    from socialdesk.ui.published_reply_feature import PublishedReplyFeature
    from socialdesk.ui.settings_feature import SettingsFeature
    from socialdesk.ui.snippet_palette import SnippetsFeature

    features: list = []
    # features: one line per UI feature, in menu order
    features.append(SnippetsFeature(core, tasks))
    features.append(AccountsFeature(core, tasks))
    features.append(SettingsFeature(core, tasks))
    features.append(FirstRunFeature(core, tasks))
    features.append(AboutFeature(core, tasks))
    features.append(PublishedReplyFeature(core, tasks))
    return tuple(features)


def install_style() -> None:
    """The application's style, with check boxes and radio buttons readable in both palettes
    (ui/indicators.py): once, before the first window, or after its first paint in a staged start."""
    from socialdesk.ui import indicators

    indicators.install_style()


def wire_window(core: Core, *, notifier=None, tray=None, demo: bool = False, staged: bool = False):
    """Build the main window around a Core and connect it to the engine, notifier and tray.

    Used by `run_gui` and by the GUI tests (which pass a RecordingNotifier and no tray).
    Returns (window, tasks, relay); the caller starts the engine, or `start_window` does (`staged`:
    the features are added by `start_window` after the first paint).
    """
    from socialdesk.ui.workers import ChangeRelay, Tasks

    if not staged:
        install_style()
    tasks = Tasks(prepare=core.open)  # every background job finds the store open
    # Staged: the first screen of the queue is read from the file while the window's modules load (SQLite
    # lets go of the interpreter while it reads), without the store, which opens after the first paint.
    first_screen = None
    if staged:
        from socialdesk.core import queue_read

        first_screen = tasks.pool.submit(queue_read.read_first_screen, core.profile.database, "awaiting",
                                         core.clock.now())
    from socialdesk.ui.main_window import MainWindow
    from socialdesk.ui.notifications import RecordingNotifier

    relay = ChangeRelay()
    # The one relay: the engine's changes and the owner's actions reach the window the same way.
    push = relay.push
    core.changes.subscribe(push)
    relay.destroyed.connect(lambda *_: core.changes.unsubscribe(push))
    features = () if staged else ui_features(core, tasks)
    window = MainWindow(core, tasks, notifier or RecordingNotifier(), demo=demo, features=features, tray=tray,
                        staged=staged, first_screen=first_screen)
    if staged:
        window.first_paint.connect(install_style)  # the first rows have no check box to draw
    tasks.setParent(window)
    relay.setParent(window)
    relay.changed.connect(window.on_engine_change)
    if tray is not None:
        tray.toggle_requested.connect(lambda: window.hide() if window.isVisible() else window.show_window())
        tray.show_requested.connect(window.show_window)
        tray.quit_requested.connect(window.quit_app)
    return window, tasks, relay


def start_window(core: Core, window, tasks, *, show: bool = True,
                 on_started: Callable[[], None] | None = None,
                 on_damaged: Callable[[str], None] | None = None) -> None:
    """Show a staged window (build_core and wire_window with staged=True) and run the second stage
    after its first paint: the store opens, `verify_and_install` runs on a worker, then the features,
    then the engine, then `on_started`. A file that cannot be opened or is damaged goes to `on_damaged`
    instead, and nothing starts."""

    def second_stage() -> None:
        from socialdesk.core.store import StoreError

        try:
            # Here, on the GUI thread, before anything after the first paint reads the settings or the
            # store (the accounts' refresh, the whole order of the view).
            core.open()
        except StoreError as exc:
            if on_damaged is not None:
                on_damaged(str(exc))
            return
        tasks.run(lambda: verify_and_install(core), installed, failed)

    def installed(problem: str | None) -> None:
        if problem is not None:
            if on_damaged is not None:
                on_damaged(problem)
            return
        window.add_features(ui_features(core, tasks))
        core.engine.start()
        if on_started is not None:
            on_started()

    def failed(exc: BaseException) -> None:
        from socialdesk.core.store import StoreError, storage_problem

        log.error("start-up failed", exc_info=exc)
        if on_damaged is not None:
            on_damaged(str(exc) if isinstance(exc, StoreError) else
                       storage_problem(exc) or f"socialdesk could not start: {exc}")

    if show:
        window.first_paint.connect(second_stage)
        window.show()
        window.start(screen_first=True)
    else:  # hidden in the tray: there is no paint to wait for
        window.start()
        second_stage()


def _raise_running_instance(name: str) -> bool:
    """Ask an already running window of this profile to come to the front."""
    import time

    from PySide6.QtNetwork import QLocalSocket

    socket = QLocalSocket()
    deadline = time.monotonic() + 5  # the other instance may hold the lock but not listen yet
    while True:
        socket.connectToServer(name)
        if socket.waitForConnected(500):
            break
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    socket.write(b"raise\n")
    socket.waitForBytesWritten(1000)
    socket.disconnectFromServer()
    return True


def run_gui(profile: paths.ProfilePaths, *, demo: bool = False, hidden: bool = False) -> int:
    """Start the window and tray (Qt is imported here only). `hidden` (`--tray`, the start at login,
    socialdesk/autostart.py) keeps the window hidden in the tray; without a tray it is shown anyway, or
    nothing would tell the owner that socialdesk runs."""
    import sys

    from PySide6.QtCore import Qt
    from PySide6.QtNetwork import QLocalServer
    from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

    from socialdesk.lock import ProfileLock, ProfileLockedError
    from socialdesk.ui import icons
    from socialdesk.ui.notifications import desktop_notifier
    from socialdesk.ui.tray import Tray

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("socialdesk")
    app.setDesktopFileName(DESKTOP_ID)
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(icons.tray_icon(0, False))
    profile.ensure()
    lock = ProfileLock(profile.lock_file)
    try:
        lock.acquire()
    except ProfileLockedError as exc:
        if _raise_running_instance(profile.ipc_name):
            print("socialdesk is already running on this profile; raised its window.")
            return 0
        QMessageBox.critical(None, "socialdesk", str(exc))
        return 1
    core = build_core(profile, staged=True)  # the store opens after the first paint (start_window)
    if demo:
        from socialdesk.core.store import StoreError

        try:
            seed_demo(core)  # the demo's accounts and hours, before its window shows them
        except StoreError as exc:
            QMessageBox.critical(None, "socialdesk cannot open its data", str(exc))
            lock.release()
            return 1
    tray = Tray() if QSystemTrayIcon.isSystemTrayAvailable() else None
    # The notification server when the desktop has one (with or without a tray), else the tray balloon.
    notifier = desktop_notifier(tray, icons.tray_icon(0, False))
    window, tasks, _relay = wire_window(core, notifier=notifier, tray=tray, demo=demo, staged=True)
    server = QLocalServer(window)
    QLocalServer.removeServer(profile.ipc_name)  # a crashed instance may have left its socket file
    server.listen(profile.ipc_name)
    server.newConnection.connect(lambda: (server.nextPendingConnection(), window.show_window()))
    if tray is not None:
        tray.show()
    # Qt's word that the desktop is back (unlocked, woken, focused): the engine looks at its clocks now.
    app.applicationStateChanged.connect(
        lambda state: core.poke() if state == Qt.ApplicationState.ApplicationActive else None)

    def started() -> None:
        if not demo:
            from socialdesk.ui.first_run import offer_first_run

            offer_first_run(window)  # business name, hours, first account: only on a new profile

    def damaged(problem: str) -> None:
        QMessageBox.critical(window, "socialdesk cannot open its data", problem)
        app.exit(1)

    start_window(core, window, tasks, show=not (hidden and tray is not None), on_started=started,
                 on_damaged=damaged)
    try:
        return app.exec()
    finally:
        core.stop()
        notifier.close()
        tasks.shutdown()
        core.close()
        lock.release()
