"""Composition root: the one place that builds and wires the store, services, connectors, window and tray.

Decisions:
- `build_core()` wires the Qt-free part (store, settings, policy, sync engine, automation); the command
  line and the GUI both use it, so headless and windowed socialdesk behave identically.
- Qt is imported only inside `run_gui()`, so `socialdesk queue` never pays for loading Qt.
- The demo profile gets one demo account per simulated channel on first start, and the business
  name / opening hours of the simulated bakery.
"""

from __future__ import annotations

import logging
import logging.handlers
from dataclasses import dataclass
from typing import Callable

from socialdesk import paths
from socialdesk.connectors import registry
from socialdesk.connectors.base import Connector
from socialdesk.core import queue
from socialdesk.core.clock import Clock, SystemClock
from socialdesk.core.settings import Settings
from socialdesk.core.store import Account, Store
from socialdesk.core.sync import ChangeSet, SyncEngine
from socialdesk.secrets import KeyringSecrets

log = logging.getLogger("socialdesk")


@dataclass
class Core:
    """The wired, Qt-free application: what the CLI and the window both work with."""

    profile: paths.ProfilePaths
    store: Store
    settings: Settings
    clock: Clock
    engine: SyncEngine
    policy: Callable[[], queue.Policy]
    make_connector: Callable[[Account], Connector]

    def close(self) -> None:
        self.engine.stop()
        self.store.close()


class _PolicyCache:
    """Loads the target policy once and again only after `invalidate()` (settings changed)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._policy: queue.Policy | None = None

    def __call__(self) -> queue.Policy:
        if self._policy is None:
            self._policy = queue.Policy.load(self.settings)
        return self._policy

    def invalidate(self) -> None:
        self._policy = None


def setup_logging(profile: paths.ProfilePaths, verbose: bool = False) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_socialdesk", False) for h in root.handlers):
        return
    handler = logging.handlers.RotatingFileHandler(
        profile.log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    handler._socialdesk = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def connector_factory(profile_name: str) -> Callable[[Account], Connector]:
    def make(account: Account) -> Connector:
        spec = registry.spec(account.kind)
        return spec.factory(dict(account.settings or {}), KeyringSecrets(profile_name, account.name))

    return make


def build_core(
    profile: paths.ProfilePaths,
    *,
    clock: Clock | None = None,
    on_change: Callable[[ChangeSet], None] | None = None,
) -> Core:
    profile.ensure()
    setup_logging(profile)
    store = Store.open(profile.database, profile.backups)
    settings = Settings(store)
    clock = clock or SystemClock()
    policy = _PolicyCache(settings)
    make_connector = connector_factory(profile.name)
    engine = SyncEngine(store, make_connector, clock, policy, on_change=on_change)
    core = Core(profile, store, settings, clock, engine, policy, make_connector)
    _install_automation(core)
    return core


def _install_automation(core: Core) -> None:
    """Hook automatic replies and status posts into the engine (core/automation.py)."""
    try:
        from socialdesk.core import automation
    except ImportError:  # automation lands with the business-hours issue
        return
    automation.install(core.engine, core.store, core.settings, core.policy)


DEMO_ACCOUNTS = [
    ("Email (demo)", "email"),
    ("Instagram (demo)", "instagram"),
    ("Facebook (demo)", "facebook"),
    ("X (demo)", "x"),
    ("Google reviews (demo)", "google_reviews"),
    ("Telegram (demo)", "telegram"),
    ("Mastodon (demo)", "mastodon"),
]


def seed_demo(core: Core) -> None:
    """Give the demo profile its simulated accounts and business details (first start only)."""
    if core.settings.get("demo.seeded"):
        return
    now = core.clock.now()
    with core.store.write():
        for name, channel in DEMO_ACCOUNTS:
            Account.get_or_create(
                name=name,
                defaults={"kind": "demo", "settings": {"channel": channel, "interval_s": 45}, "created_at": now},
            )
    core.settings.set("business.name", "Juniper & Rye")
    core.settings.set("business.my_name", "Sam")
    core.settings.set("demo.seeded", True)


def run_gui(profile: paths.ProfilePaths, *, demo: bool = False) -> int:
    """Start the window and tray (Qt is imported here only)."""
    from socialdesk.ui.application import run

    return run(profile, demo=demo, build_core=build_core, seed_demo=seed_demo)
