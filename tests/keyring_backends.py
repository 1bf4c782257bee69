"""Keyring backends for the tests only, selected the way `keyring` itself provides.

- `MemoryKeyring`: in this process, installed with `keyring.set_keyring` (tests/conftest.py does it for
  every test).
- `FileKeyring`: a plain JSON file, for the `socialdesk` subprocesses of the end-to-end tests. They
  select it with keyring's own `PYTHON_KEYRING_BACKEND=tests.keyring_backends.FileKeyring` and give
  its file with keyring's own `KEYRING_PROPERTY_FILE_PATH` (KeyringBackend.set_properties_from_env);
  `subprocess_env()` builds those variables plus PYTHONPATH so `tests` is importable there.

Decisions: both have priority -1, like keyring's null backend, so importing this module never makes
them a candidate keyring's automatic choice would pick (that picks the highest priority and the chainer
only chains priorities above 0): they are used only when a test names them. Nothing in the
`socialdesk` package imports or names them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

REPO_ROOT = Path(__file__).resolve().parent.parent
FILE_BACKEND = "tests.keyring_backends.FileKeyring"


class MemoryKeyring(KeyringBackend):
    priority = -1  # never chosen automatically (see the module docstring)

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


class FileKeyring(KeyringBackend):
    """Plain text in the JSON file `file_path` (set from KEYRING_PROPERTY_FILE_PATH by keyring)."""

    priority = -1
    file_path = ""

    def _path(self) -> Path:
        if not self.file_path:
            raise RuntimeError("FileKeyring needs KEYRING_PROPERTY_FILE_PATH")
        return Path(self.file_path)

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self._path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def _save(self, data: dict[str, str]) -> None:
        path = self._path()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)

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


def subprocess_env(file_path: Path | str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a `socialdesk` subprocess whose keyring is the JSON file `file_path`."""
    env = dict(os.environ if base is None else base)
    env["PYTHON_KEYRING_BACKEND"] = FILE_BACKEND
    env["KEYRING_PROPERTY_FILE_PATH"] = str(file_path)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def no_keyring_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a subprocess on a machine without any usable keyring (keyring's fail backend)."""
    env = dict(os.environ if base is None else base)
    env.pop("KEYRING_PROPERTY_FILE_PATH", None)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return env
