"""Accounts: adding, testing, re-login, enabling and removing, one implementation for window and CLI.

This module owns every rule about what makes an account acceptable and the order in which one is
created or removed. ui/account_dialog.py (Add account / Re-login) and `socialdesk account ...` (cli.py)
only gather the owner's input and show the outcome; before, each had its own copy and they disagreed (the dialog
took names of any length, the command line stored `--set text_limit=...` and then ignored it).

Decisions:
- Input rules are pure functions (`name_problem`, `initial_settings`) that raise `AccountInputError`,
  so the command line checks its arguments before it touches the profile (a usage error, exit 2) and
  the dialog checks on every keystroke. A name is 1–80 characters after trimming, without "/"
  (keyring keys are "<profile>/<account>/<name>": a slash could reach another account's secrets) and
  without control characters. Settings are the platform's own (ConnectorSpec.settings) plus
  `poll_seconds` (1 s to a day), plus the budget setting where the platform bills or rations calls
  (core/usage.py). `text_limit` is refused: it is learned from the platform at every
  check (connectors.base.LEARNED_TEXT_LIMIT); a value set by hand was stored and never used.
- The keyring comes first: an add that stores secrets (a typed secret or a browser sign-in) calls
  `secrets.require_keyring()` before anything else (`require_keyring_for`; the CLI runs it even
  before the profile is created), so a missing keyring leaves no row, no secret and no profile.
- While the account is tested its secrets live in a MemorySecrets (tokens a check refreshes land there
  too), remembered for redaction (secrets.remember: no error text quotes a typed password either);
  only a passing test writes them to the keyring, and only then is the row created, in a write
  transaction that checks the name again. Any failure after the first secret was stored forgets every
  secret name the platform declares (registry.secret_names), so nothing is left behind.
- Building the connector validates the settings without network (plaintext to a remote host, bad
  ports): done even when the test is skipped (`--no-test`), so such an account is never saved.
- Accounts of a browser sign-in (oauth.LoginAccount) are not tested again: the sign-in just did.
- Re-login (`update`) tests with the typed values over the stored ones (`OverlaySecrets`); a new
  secret replaces every stored name (stale session tokens of an old password must not survive), and
  the engine forgets the account's old state and polls at once.
- Removal takes what socialdesk left on the account's platform off it first (its scheduled status posts,
  the mail server's off-hours filter: core/coverage.before_removal), while the credentials are still in
  the keyring. When that fails (offline, a revoked login) the account is removed all the same, and the
  `Removal` says what stays there and where to delete it by hand; the CLI prints it, the Accounts dialog
  shows it. A coverage refresh of the account running on the job thread is waited for first, and none
  starts from then on (`coverage.removing`): it could schedule a post just after the removal cancelled them.
- Nothing of a removed account passes to a later one: its per-account settings go with its row, in one
  transaction (`Settings.forget_account`), and its id is never given again (setting `accounts.next_id`;
  SQLite gives a deleted highest rowid to the next row, and settings, the engine's memory, running jobs
  and open windows key by account id). A new account starts with no per-account settings either: older
  versions left the entries of removed accounts behind.
- Every change publishes ChangeSet(accounts={id}) on the profile's ChangeBus (core/changes.py).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping

import peewee as pw

from socialdesk.connectors import registry
from socialdesk.connectors.base import (
    LEARNED_TEXT_LIMIT,
    AccountInfo,
    ConnectorError,
    ConnectorSpec,
    MemorySecrets,
    TransientError,
    with_learned,
)
from socialdesk.core import accounts as learned
from socialdesk.core import usage
from socialdesk.core.changes import ChangeBus, ChangeSet
from socialdesk.core.clock import Clock
from socialdesk.core.settings import NEXT_ACCOUNT_ID_KEY, Settings
from socialdesk.core.store import Account, Store
from socialdesk.secrets import (
    KeyringSecrets,
    NoKeyringError,
    error_text,
    forget_account,
    remember,
    require_keyring,
)

log = logging.getLogger(__name__)

NAME_MAX = 80
GENERIC_SETTINGS = ("poll_seconds",)  # settings any account may have besides its platform's own
POLL_SECONDS_RANGE = (1, 86_400)


class AccountError(Exception):
    """Something the owner must know about an account action (exists already, no such account)."""


class AccountInputError(AccountError, ValueError):
    """The owner's input is not acceptable (a usage error on the command line)."""


@dataclass(frozen=True)
class Removal:
    """A removed account: its name, and what socialdesk had set up on its platform that stays there
    (owner-readable lines, each saying where to delete it by hand; empty when nothing stays)."""

    name: str
    left_behind: tuple[str, ...] = ()


class AccountNotSaved(AccountError):
    """The platform refused the settings or the connection test: nothing was stored. The message says
    which; the connector's own error is the __cause__."""


# --- input rules ---------------------------------------------------------------------------------------


def name_problem(name: str) -> str:
    """What is wrong with an account name (after trimming), or ""."""
    name = name.strip()
    if not name:
        return "Give the account a name (for example “Shop email”)."
    if len(name) > NAME_MAX:
        return f"An account name can have at most {NAME_MAX} characters."
    if "/" in name:
        return "An account name cannot contain “/”."
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        return "An account name cannot contain control characters or line breaks."
    return ""


def check_name(name: str) -> str:
    """The trimmed name, or AccountInputError."""
    problem = name_problem(name)
    if problem:
        raise AccountInputError(problem)
    return name.strip()


def settings_problem(spec: ConnectorSpec, settings: Mapping[str, Any]) -> str:
    """What is wrong with settings the owner gave for a `spec` account, or ""."""
    if LEARNED_TEXT_LIMIT in settings:
        return (f"{LEARNED_TEXT_LIMIT} cannot be set: socialdesk learns the platform's limit when it checks "
                "the account.")
    known = [key for key, _label, _default in spec.settings] + list(GENERIC_SETTINGS)
    plan = spec.traits.usage
    if plan is not None:  # a platform that bills or rations calls: the owner's budget (core/usage.py)
        known.append(plan.budget_setting)
        problem = usage.budget_problem(plan, settings.get(plan.budget_setting))
        if problem:
            return problem
    unknown = sorted(set(settings) - set(known))
    if unknown:
        return f"Unknown setting(s) for {spec.kind}: {', '.join(unknown)}. Known: {', '.join(sorted(known))}"
    if "poll_seconds" in settings:
        low, high = POLL_SECONDS_RANGE
        try:
            seconds = float(settings["poll_seconds"])
        except (TypeError, ValueError):
            seconds = float("nan")
        if not low <= seconds <= high:  # NaN fails too
            return f"poll_seconds is a number of seconds from {low} to {high}."
    return ""


def initial_settings(spec: ConnectorSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """A new account's settings: the platform's non-empty defaults, then what the owner gave."""
    problem = settings_problem(spec, given)
    if problem:
        raise AccountInputError(problem)
    settings = {key: default for key, _label, default in spec.settings if default != ""}
    settings.update(given)
    return settings


def require_keyring_for(spec: ConnectorSpec, *, has_secrets: bool) -> None:
    """NoKeyringError when this add would store secrets and no keyring can keep them."""
    if has_secrets or spec.login_flow is not None:
        require_keyring()


class OverlaySecrets:
    """Typed values first, the stored keyring second; writes stay in memory until saved (re-login)."""

    def __init__(self, memory: MemorySecrets, stored: KeyringSecrets):
        self.memory, self.stored = memory, stored
        self.deleted: set[str] = set()

    def get(self, name: str) -> str | None:
        if name in self.memory.values:
            return self.memory.values[name]
        return None if name in self.deleted else self.stored.get(name)

    def set(self, name: str, value: str) -> None:
        self.deleted.discard(name)
        self.memory.set(name, value)

    def delete(self, name: str) -> None:
        self.memory.delete(name)
        self.deleted.add(name)


def _close_quietly(connector: Any) -> None:
    try:
        connector.close()
    except Exception:  # noqa: BLE001 - closing must never hide the result of the check
        log.debug("closing a connector failed", exc_info=True)


def _remember_typed(values: Mapping[str, str]) -> None:
    for value in values.values():
        remember(value)  # typed, not yet in the keyring: no error text may quote it either


def check_connection(spec: ConnectorSpec, settings: Mapping[str, Any], secrets: Any) -> AccountInfo:
    """Build the connector and ask the platform who we are (network: call off the GUI thread)."""
    memory = secrets.memory if isinstance(secrets, OverlaySecrets) else secrets
    _remember_typed(getattr(memory, "values", {}))
    connector = spec.factory(dict(settings), secrets)
    try:
        return connector.check()
    except TransientError as exc:
        raise TransientError(_no_retry_promise(str(exc))) from None
    finally:
        _close_quietly(connector)


_RETRY_PROMISE = re.compile(r"\s*(?:Will try again|Try again|reconnecting)\.?\s*$", re.IGNORECASE)


def _no_retry_promise(text: str) -> str:
    """Connectors speak for the sync engine, which retries ("Will try again."); after a test nothing
    retries (the dialog's Test, Save, `account add`), so the promise is dropped rather than mislead."""
    return _RETRY_PROMISE.sub("", text)


# --- the service -----------------------------------------------------------------------------------------


class AccountService:
    """Account actions of one profile; every method may block on the network (worker thread or CLI)."""

    def __init__(self, store: Store, clock: Clock, profile_name: str, engine: Any, changes: ChangeBus):
        self.store = store
        self.clock = clock
        self.profile_name = profile_name
        self.engine = engine  # sync.SyncEngine: make_connector, reset_account, invalidate
        self.changes = changes

    def by_name(self, name: str) -> Account:
        account = Account.get_or_none(Account.name == name)
        if account is None:
            raise AccountError(f"No account named {name!r} (see `socialdesk account list`).")
        return account

    def ensure_free(self, name: str) -> None:
        if Account.get_or_none(Account.name == name) is not None:
            raise AccountError(f"An account named {name!r} exists already.")

    def add(
        self,
        spec: ConnectorSpec,
        name: str,
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        test: bool = True,
        info: AccountInfo | None = None,
    ) -> AccountInfo | None:
        """Check, store the secrets, create the Account. Returns what the check learned (None untested).

        Raises AccountInputError, AccountError (AccountNotSaved: settings or test refused) or
        NoKeyringError; on any failure nothing of the account remains."""
        _remember_typed(secrets)
        name = check_name(name)
        settings = {k: v for k, v in settings.items() if k != LEARNED_TEXT_LIMIT}
        require_keyring_for(spec, has_secrets=bool(secrets))
        self.ensure_free(name)
        memory = MemorySecrets(dict(secrets))
        try:
            connector = spec.factory(dict(settings), memory)  # validates the settings, no network
        except ConnectorError as exc:
            raise AccountNotSaved(f"Nothing was saved: {error_text(exc)}") from exc
        try:
            if test:
                try:
                    info = connector.check()
                except (ConnectorError, NoKeyringError) as exc:
                    raise AccountNotSaved(
                        f"Connection test failed, nothing was saved: {_no_retry_promise(error_text(exc))}") from exc
        finally:
            _close_quietly(connector)
        if info is not None:
            settings = with_learned(settings, info)
        account_id = self._store_new(spec, name, settings, memory.values)
        self.changes.publish(ChangeSet(accounts={account_id}))
        return info

    def add_signed_in(
        self, spec: ConnectorSpec, names: list[str], settings: Mapping[str, Any], picked: list[Any]
    ) -> list[AccountInfo]:
        """Add the accounts a browser sign-in gave access to (oauth.LoginAccount), under `names`
        (oauth.account_names). All names are checked before the first is added."""
        names = [check_name(n) for n in names]
        for name in names:
            self.ensure_free(name)
        infos = []
        for name, account in zip(names, picked, strict=True):
            account_spec = registry.spec(account.kind) if getattr(account, "kind", "") else spec
            info = self.add(account_spec, name, {**settings, **account.settings}, dict(account.secrets),
                            test=False, info=account.info)
            infos.append(info or account.info)
        return infos

    def _store_new(self, spec: ConnectorSpec, name: str, settings: dict, values: Mapping[str, str]) -> int:
        keyring = KeyringSecrets(self.profile_name, name)
        try:
            for key, value in values.items():
                keyring.set(key, value)
            with self.store.write():
                if Account.get_or_none(Account.name == name) is not None:  # added meanwhile elsewhere
                    raise AccountError(f"An account named {name!r} exists already.")
                account_id = self._next_id()
                # Entries an older version left when it removed an account with this id: not the new one's.
                Settings(self.store).forget_account(account_id)
                row = Account.create(id=account_id, kind=spec.kind, name=name, settings=settings,
                                     created_at=self.clock.now())
        except BaseException:
            forget_account(self.profile_name, name, registry.secret_names(spec.kind))
            raise
        return row.id

    def _next_id(self) -> int:
        """A new account's id: above every account's, and above every removed one's (module docstring)."""
        highest = Account.select(pw.fn.MAX(Account.id)).scalar() or 0
        return max(highest + 1, int(Settings(self.store).get(NEXT_ACCOUNT_ID_KEY) or 0))

    def update(
        self, account_id: int, settings: Mapping[str, Any], secrets: Any, *, replace_secrets: bool
    ) -> AccountInfo:
        """Re-login: test with `secrets` (MemorySecrets or OverlaySecrets), then store what changed
        and poll again from a clean state."""
        account = Account.get_by_id(account_id)
        spec = registry.spec(account.kind)
        # The settings are the stored ones with the form's edits: not judged again (a key an older
        # version stored must not lock the owner out of a re-login).
        require_keyring()
        info = check_connection(spec, settings, secrets)
        memory = secrets.memory if isinstance(secrets, OverlaySecrets) else secrets
        keyring = KeyringSecrets(self.profile_name, account.name)
        for key, value in memory.values.items():
            keyring.set(key, value)
        # Replacing: every other name the platform declares goes (a new password's stale session, an
        # earlier sign-in's app registration).
        stale = set(registry.secret_names(spec.kind)) - set(memory.values) if replace_secrets else set()
        if isinstance(secrets, OverlaySecrets):
            stale |= secrets.deleted
        for key in stale:
            keyring.delete(key)
        with self.store.write():
            Account.update(settings=with_learned(dict(settings), info)).where(Account.id == account_id).execute()
        self.engine.reset_account(account_id)
        self.changes.publish(ChangeSet(accounts={account_id}))
        return info

    def test(self, account_id: int) -> AccountInfo:
        """Check a stored account with its stored secrets; keep what it learned; poll again at once."""
        account = Account.get_by_id(account_id)
        connector = self.engine.make_connector(account)
        try:
            info = connector.check()
        finally:
            _close_quietly(connector)
        learned.remember_check(self.store, account_id, info)
        self.engine.reset_account(account_id)
        self.changes.publish(ChangeSet(accounts={account_id}))
        return info

    def set_settings(self, account_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change some of an account's own settings without signing in again (raising a usage budget,
        the poll interval); an empty value removes the setting. Judged like an add's settings, then the
        account polls again at once (a budget that stopped polling resumes). Returns the new settings."""
        account = Account.get_by_id(account_id)
        spec = registry.spec(account.kind)
        problem = settings_problem(spec, {k: v for k, v in changes.items() if v not in ("", None)}) \
            or settings_problem(spec, {k: "1" for k in changes if changes[k] in ("", None)})
        if problem:
            raise AccountInputError(problem)
        settings = dict(account.settings or {})
        for key, value in changes.items():
            if value in ("", None):
                settings.pop(key, None)
            else:
                settings[key] = value
        with self.store.write():
            Account.update(settings=settings).where(Account.id == account_id).execute()
        self.engine.reset_account(account_id)
        self.changes.publish(ChangeSet(accounts={account_id}))
        return settings

    def set_enabled(self, account_id: int, enabled: bool) -> None:
        with self.store.write():
            Account.update(enabled=enabled).where(Account.id == account_id).execute()
        if enabled:
            self.engine.reset_account(account_id)  # poll now, from a clean state
        else:
            self.engine.invalidate(account_id)
        self.changes.publish(ChangeSet(accounts={account_id}))

    def remove(self, account_id: int) -> Removal:
        """Delete the account, its conversations and messages, and every secret it may have stored, after
        taking what socialdesk set up on its platform off it (network: call off the GUI thread)."""
        account = Account.get_by_id(account_id)
        self.engine.invalidate(account_id)
        # What the account's server keeps while socialdesk is closed (scheduled status posts, the mail server's
        # off-hours filter) is taken off first, while its credentials are still in the keyring.
        from socialdesk.core import coverage  # automation, personalisation and snippets: only on removal

        settings = Settings(self.store)
        with coverage.removing(account_id):  # no refresh of what its server keeps runs from here on
            ctx = coverage.make_context(self.store, settings, self.engine.policy().schedule, self.clock.now(),
                                        lambda a: KeyringSecrets(self.profile_name, a.name))
            left_behind = tuple(coverage.before_removal(ctx, account))
            with self.store.write():
                Account.delete().where(Account.id == account_id).execute()
                forgotten = settings.forget_account(account_id)
                next_id = int(settings.get(NEXT_ACCOUNT_ID_KEY) or 0)
                if next_id <= account_id:
                    settings.set(NEXT_ACCOUNT_ID_KEY, account_id + 1)
        forget_account(self.profile_name, account.name, registry.secret_names(account.kind))
        self.changes.publish(ChangeSet(accounts={account_id}, settings=set(forgotten)))
        return Removal(account.name, left_behind)
