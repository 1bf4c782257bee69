"""Secrets (passwords, tokens) live only in the OS keyring, under the service name "socialdesk".

Decisions:
- Keys are "<profile>/<account>/<name>" so profiles and accounts never see each other's secrets.
- When no usable keyring backend exists we raise `NoKeyringError` with a message telling the owner
  what to install. We never fall back to a plaintext file (Vorta's lesson: silent fallbacks and
  crashes on a missing backend were its most reported bugs).
- Nothing here logs values.
"""

from __future__ import annotations

from typing import Iterable

import keyring
import keyring.errors

SERVICE = "socialdesk"


class NoKeyringError(RuntimeError):
    pass


def _backend_usable() -> bool:
    from keyring.backends import chainer, fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return False
    return True


def keyring_available() -> bool:
    return _backend_usable()


NO_KEYRING_MESSAGE = (
    "No system keyring is available, so socialdesk cannot store passwords or tokens safely. "
    "Install and unlock one (GNOME Keyring / KWallet on Linux, or `pip install keyrings.alt` "
    "only if you accept a file-based store), then try again. Nothing was saved."
)


class KeyringSecrets:
    """AccountSecrets for one account of one profile (see connectors/base.py)."""

    def __init__(self, profile: str, account: str):
        self.prefix = f"{profile}/{account}/"

    def _check(self) -> None:
        if not _backend_usable():
            raise NoKeyringError(NO_KEYRING_MESSAGE)

    def get(self, name: str) -> str | None:
        self._check()
        try:
            return keyring.get_password(SERVICE, self.prefix + name)
        except keyring.errors.KeyringError as exc:
            raise NoKeyringError(f"The keyring refused to read a secret: {type(exc).__name__}") from None

    def set(self, name: str, value: str) -> None:
        self._check()
        try:
            keyring.set_password(SERVICE, self.prefix + name, value)
        except keyring.errors.KeyringError as exc:
            raise NoKeyringError(f"The keyring refused to store a secret: {type(exc).__name__}") from None

    def delete(self, name: str) -> None:
        self._check()
        try:
            keyring.delete_password(SERVICE, self.prefix + name)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            raise NoKeyringError(f"The keyring refused to delete a secret: {type(exc).__name__}") from None


def forget_account(profile: str, account: str, names: Iterable[str]) -> None:
    """Remove the account's secrets `names`: every name its platform declares (connectors.registry.
    secret_names), so removing an account, or a failed add, leaves nothing behind."""
    secrets = KeyringSecrets(profile, account)
    for name in names:
        try:
            secrets.delete(name)
        except NoKeyringError:
            return
