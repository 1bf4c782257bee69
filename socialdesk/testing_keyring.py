"""Keyring backends for tests only: in memory, or a JSON file shared with `socialdesk` subprocesses.

The command line selects the file backend only when `SOCIALDESK_TEST_KEYRING` names a file (end-to-end
tests run the real CLI in a subprocess, where no OS keyring exists on CI). It is never chosen otherwise,
and it says so loudly in its name: it stores secrets in plain text and exists for tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV_VAR = "SOCIALDESK_TEST_KEYRING"


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.values.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


class PlaintextTestFileKeyring(KeyringBackend):
    priority = 1

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def _save(self, data: dict[str, str]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\n{username}"] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}\n{username}", None) is None:
            raise PasswordDeleteError(username)
        self._save(data)


def install_from_environment() -> None:
    path = os.environ.get(ENV_VAR)
    if path:
        import keyring

        keyring.set_keyring(PlaintextTestFileKeyring(Path(path)))
