"""Nothing of a removed account passes to a later one (core/account_service.remove): its per-account settings
go with it (core/settings.Option.per_account), its id is never given again, and a refresh of what its server
keeps that is running on the job thread when the removal begins cannot leave a post behind on the platform
(core/coverage.removing)."""

from __future__ import annotations

import dataclasses
import logging
import threading

import pytest

from socialdesk.connectors import registry
from socialdesk.connectors.base import AccountInfo
from socialdesk.core import coverage
from socialdesk.core.automation import AutomationConfig, load_config, save_config
from socialdesk.core.changes import ChangeSet
from socialdesk.core.settings import OPTIONS, Settings
from socialdesk.core.store import Account
from socialdesk.secrets import KeyringSecrets

SAFETY = 30  # seconds: only ever reached when the code under test hangs


class Offline:
    """A connector that is never asked anything here."""

    def __init__(self, settings: dict, secrets) -> None:
        pass

    def check(self) -> AccountInfo:
        return AccountInfo("Shop")

    def close(self) -> None:
        pass


@pytest.fixture
def spec():
    return dataclasses.replace(registry.spec("telegram"), factory=Offline)


def add(core, spec, name: str) -> int:
    core.account_service.add(spec, name, {}, {"token": "1:t"}, test=False)
    return Account.get(Account.name == name).id


def test_the_next_account_inherits_none_of_a_removed_accounts_settings(core, spec, published):
    """The newest account had status posts on; it is removed and another added: SQLite gave the new row the
    removed one's id, and with it the switch, so socialdesk posted "we're closed" on an account the owner
    never switched it on for."""
    old = add(core, spec, "Old shop")
    save_config(core.settings, AutomationConfig.default().with_status_posts(old, True, core.clock.now()))
    core.settings.set("coverage.server_replies", {str(old): {"withdrawn": True}})
    published.clear()
    core.account_service.remove(old)
    new = add(core, spec, "New shop")
    assert new != old
    assert load_config(core.settings).posts_for(new) is None
    assert load_config(core.settings).status_posts == {}
    assert core.settings.get("coverage.server_replies") == {}
    # The views that show those settings (the coverage panel) hear of the change.
    assert published[0] == ChangeSet(accounts={old}, settings={"automation.config", "coverage.server_replies"})


def test_account_ids_are_never_given_again(core, spec):
    first, second = add(core, spec, "First"), add(core, spec, "Second")
    core.account_service.remove(second)  # the newest: SQLite alone would give its id to the next row
    third = add(core, spec, "Third")
    core.account_service.remove(first)
    core.account_service.remove(third)  # none left at all
    fourth = add(core, spec, "Fourth")
    assert (first, second, third, fourth) == (first, first + 1, first + 2, first + 3)


def test_a_new_account_does_not_take_what_an_older_version_left_of_a_removed_one(core, spec):
    """A profile where an older version removed the newest account and kept its status-post switch."""
    now = core.clock.now()
    config = AutomationConfig.default().with_status_posts(1, True, now).with_status_posts(2, True, now)
    save_config(core.settings, config)
    core.settings.set("coverage.server_replies", {"1": {"withdrawn": True}})
    first = add(core, spec, "Shop")
    assert first == 1  # the id the entries name
    assert load_config(core.settings).posts_for(first) is None
    assert str(first) not in core.settings.get("coverage.server_replies")
    assert load_config(core.settings).posts_for(first + 1) is not None  # only the new account's id is cleared


def test_removal_forgets_the_account_in_every_per_account_setting(core):
    """Every option that keeps entries keyed by account id declares where; removal drops the account's
    entry there and nothing else."""
    settings = Settings(core.store)
    declared = {key: option.per_account for key, option in OPTIONS.items() if option.per_account is not None}
    assert set(declared) >= {"automation.config", "coverage.server_replies"}
    for key, path in declared.items():
        value: dict = {"other": 1}
        entries = value
        for step in path:
            entries = entries.setdefault(step, {})
        entries.update({"5": {"a": 1}, "6": {"b": 2}})
        core.store.set_setting(key, value)
    assert settings.forget_account(5) == frozenset(declared)
    for key, path in declared.items():
        entries = core.store.get_setting(key)
        assert entries["other"] == 1
        for step in path:
            entries = entries[step]
        assert "5" not in entries and entries["6"] == {"b": 2}
    assert settings.forget_account(5) == frozenset()  # nothing left to forget: nothing written


class _Platform:
    """A part that schedules one post on its platform per refresh, and cancels ours before removal."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        self.refreshing = threading.Event()
        self.go_on = threading.Event()  # the refresh may schedule its post now
        self.refreshes = 0

    def push(self, ctx, account) -> str:
        self.refreshes += 1
        self.refreshing.set()
        if self.go_on.wait(SAFETY):
            self.posts.append(f"closing post on {account.name}")
        return ""

    def before_removal(self, ctx, account) -> str:
        self.posts.clear()
        self.go_on.set()  # the removal got this far while the refresh was still running
        return ""

    def part(self) -> coverage.ServerPart:
        return coverage.ServerPart(name="test", applies=lambda account: True, promises=lambda ctx, account: [],
                                   due=lambda ctx, account: "push", push=self.push,
                                   before_removal=self.before_removal)


class _Waiting(logging.Handler):
    """Lets the refresh go on once the removal says it waits for it."""

    def __init__(self, platform: _Platform) -> None:
        super().__init__(logging.INFO)
        self.platform = platform

    def emit(self, record: logging.LogRecord) -> None:
        if "waiting" in record.getMessage():
            self.platform.go_on.set()


def refresher(core) -> coverage._Refresher:
    return coverage._Refresher(core.engine, core.store, core.settings, core.policy,
                               lambda account: KeyringSecrets("t", account.name))


def test_a_refresh_running_when_the_removal_begins_leaves_no_post_behind(core, spec, monkeypatch, caplog):
    """The refresh is mid-way (between the platform's list and its schedule call) when the owner removes the
    account: the removal cancelled ours, then the refresh scheduled one more, which stayed on the platform.
    Now the removal waits for the refresh, then cancels."""
    platform = _Platform()
    monkeypatch.setattr(coverage, "PARTS", [platform.part()])
    account_id = add(core, spec, "Shop")
    caplog.set_level(logging.INFO, logger=coverage.log.name)
    waiting = _Waiting(platform)
    coverage.log.addHandler(waiting)
    try:
        # Without the background run the engine runs the job on the calling thread: this one is the job thread.
        job = threading.Thread(target=refresher(core).on_tick, args=(core.clock.now(),), name="sync-jobs")
        job.start()
        assert platform.refreshing.wait(SAFETY)
        removal = threading.Thread(target=core.account_service.remove, args=(account_id,))
        removal.start()
        job.join(SAFETY)
        removal.join(SAFETY)
    finally:
        coverage.log.removeHandler(waiting)
    assert not job.is_alive() and not removal.is_alive()
    assert Account.get_or_none(Account.id == account_id) is None
    assert platform.posts == []


def test_no_refresh_starts_for_an_account_being_removed(core, spec, monkeypatch):
    platform = _Platform()
    platform.go_on.set()
    monkeypatch.setattr(coverage, "PARTS", [platform.part()])
    account_id = add(core, spec, "Shop")
    hook = refresher(core)
    queued = hook._job(platform.part(), account_id, "push")  # queued before the removal began
    now = core.clock.now()
    ctx = coverage.make_context(core.store, core.settings, core.policy().schedule, now,
                                lambda account: KeyringSecrets("t", account.name))
    with coverage.removing(account_id):
        hook.on_tick(now)
        queued()
        assert coverage.push_all(ctx) == []
        assert platform.refreshes == 0
    hook.on_tick(now)  # the removal ended without removing it (it failed): refreshes go on
    assert platform.posts == ["closing post on Shop"]
