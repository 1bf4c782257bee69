"""Every owner-visible setting, declared once: key, type, default and description.

Decisions (after Picard's declared options and qutebrowser's configdata): one table of `Option`s; values
are JSON in the Setting table; `Settings.get(key)` returns the default when unset and refuses unknown keys,
so a typo is an error, not a silently new setting. Structured values (schedule, targets) are stored as the
JSON of their own dataclasses, which validate themselves.

A setting that keeps something per account, keyed by the account's id, says where (`Option.per_account`):
removing the account drops its entry there (`Settings.forget_account`, in the removal's transaction), so
nothing of it outlives it. Account ids are never given again either (`NEXT_ACCOUNT_ID_KEY`,
core/account_service.py), so a stale entry anywhere else could not pass to a later account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the keys (POLICY_KEYS, ...) are read where peewee is not loaded yet (core/changes.py)
    from socialdesk.core.store import Store


@dataclass(frozen=True)
class Option:
    key: str
    type: type
    default: Any
    description: str
    # Where the value keeps entries keyed by account id (str): the keys leading to that object inside the
    # value, () for the value itself. None: nothing per account.
    per_account: tuple[str, ...] | None = None


NEXT_ACCOUNT_ID_KEY = "accounts.next_id"
TARGET_RULE_KEY = "targets.rule_version"

OPTIONS: dict[str, Option] = {
    o.key: o
    for o in [
        Option("business.name", str, "", "Your business's name, used in {business} and automatic messages."),
        Option("business.my_name", str, "", "Your first name, used in {my_name} when you sign replies."),
        Option("hours.schedule", dict, None, "Opening hours, holidays and away periods (core/hours/)."),
        Option("targets.config", dict, None, "Response-time targets per kind and channel (core/targets.py)."),
        Option("automation.paused", bool, False, "Pause every automatic reply and status post."),
        Option("automation.config", dict, None, "Auto-reply and status-post texts and switches (core/automation/).",
               per_account=("status_posts",)),
        Option("notifications.enabled", bool, True, "Show desktop notifications."),
        Option("notifications.quiet_when_closed", bool, True, "No pop-ups while the business is closed."),
        Option("ui.tray_hint_shown", bool, False, "Whether the 'still running in the tray' hint was shown."),
        Option("snippets.starter_loaded", bool, False, "Whether the starter snippets were loaded (first run only)."),
        Option("snippets.starter_version", int, 0, "Which starter pack the unedited starter snippets have."),
        Option("setup.done", bool, False, "Whether the first-run assistant was finished or skipped."),
        Option("demo.seeded", bool, False, "Whether the demo profile was filled with its opening scene."),
        Option(TARGET_RULE_KEY, int, 0,
               "Which rule the stored due times follow (core/targets.RULE_VERSION); older ones are recomputed."),
        Option("coverage.server_replies", dict, None,
               "Per account: the off-hours replies its server keeps while socialdesk is closed (core/server_replies.py).",
               per_account=()),
        Option(NEXT_ACCOUNT_ID_KEY, int, 0,
               "No new account gets an id below this: the ids of removed accounts are never given again "
               "(core/account_service.py)."),
    ]
}


# The settings queue.Policy is built from, and the rule its due times follow: writing one of them moves due
# times (owner_actions.save_settings recomputes them, and views refresh every row).
POLICY_KEYS = frozenset({"hours.schedule", "targets.config", TARGET_RULE_KEY})


class UnknownSettingError(KeyError):
    pass


class Settings:
    """Typed access to the declared options of one profile."""

    def __init__(self, store: Store):
        self.store = store

    def _option(self, key: str) -> Option:
        try:
            return OPTIONS[key]
        except KeyError:
            raise UnknownSettingError(key) from None

    def get(self, key: str) -> Any:
        option = self._option(key)
        return self.store.get_setting(key, option.default)

    def set(self, key: str, value: Any) -> None:
        option = self._option(key)
        if value is not None and not isinstance(value, option.type):
            raise TypeError(f"setting {key} expects {option.type.__name__}, got {type(value).__name__}")
        self.store.set_setting(key, value)

    def forget_account(self, account_id: int) -> frozenset[str]:
        """Drop a removed account's entries from every per-account setting (`Option.per_account`); the keys
        of the settings that changed. Call inside the removal's write transaction."""
        changed: list[str] = []
        with self.store.write():
            for option in OPTIONS.values():
                if option.per_account is None:
                    continue
                value = self.store.get_setting(option.key)  # a fresh copy: changed in place below
                entries = value
                for key in option.per_account:
                    entries = entries.get(key) if isinstance(entries, dict) else None
                if isinstance(entries, dict) and str(account_id) in entries:
                    del entries[str(account_id)]
                    self.store.set_setting(option.key, value)
                    changed.append(option.key)
        return frozenset(changed)
