"""Where socialdesk keeps its files: the only module that knows directories.

Decisions:
- `SOCIALDESK_HOME` overrides the platform data directory (tests and portable installs always set it).
- Each profile is a folder under `<home>/profiles/<name>/` holding the database, its backups, the log
  and the lock file; "demo" is just another profile, so the demo never touches real data.
- Profile names are restricted to a safe character set so a name can never escape the data root:
  the whole name must match (`fullmatch`: a `$` would let "demo\n" through), so newlines, other
  control characters and path separators are refused.
- `ensure()` creates a profile; only the window, `--demo` and `account add` call it. Everything else
  asks `exists()` first, so a mistyped --profile is an error, not a new empty profile.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from socialdesk import APP_NAME

DEFAULT_PROFILE = "default"
DEMO_PROFILE = "demo"
_PROFILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class ProfileNameError(ValueError):
    pass


def data_root() -> Path:
    override = os.environ.get("SOCIALDESK_HOME")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class ProfilePaths:
    name: str
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "socialdesk.sqlite3"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def log_file(self) -> Path:
        return self.root / "socialdesk.log"

    @property
    def lock_file(self) -> Path:
        return self.root / "socialdesk.lock"

    @property
    def ipc_name(self) -> str:
        """Name of the local socket a running instance listens on (to raise its window)."""
        import hashlib

        digest = hashlib.sha1(str(self.root.resolve()).encode()).hexdigest()[:12]
        return f"socialdesk-{digest}"

    def exists(self) -> bool:
        return self.root.is_dir()

    def ensure(self) -> "ProfilePaths":
        self.root.mkdir(parents=True, exist_ok=True)
        self.backups.mkdir(exist_ok=True)
        return self


def profile(name: str = DEFAULT_PROFILE) -> ProfilePaths:
    if not _PROFILE_RE.fullmatch(name):
        raise ProfileNameError(
            f"Invalid profile name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)."
        )
    return ProfilePaths(name, data_root() / "profiles" / name)


def existing_profiles() -> list[str]:
    """Names of the profiles that exist, sorted."""
    try:
        entries = list((data_root() / "profiles").iterdir())
    except OSError:
        return []
    return sorted(e.name for e in entries if e.is_dir() and _PROFILE_RE.fullmatch(e.name))
