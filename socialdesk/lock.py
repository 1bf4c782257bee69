"""One process per profile: an OS file lock on `<profile>/socialdesk.lock` holding the owner's pid.

Decisions: an advisory `flock`/`msvcrt.locking` lock is released by the OS when the process dies, so a
crash never leaves a stale lock behind (unlike a pid file alone). The pid is written only to tell the
next process who holds it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO


class ProfileLockedError(RuntimeError):
    pass


class ProfileLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._fh: TextIO | None = None

    def acquire(self) -> "ProfileLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            if sys.platform == "win32":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise ProfileLockedError(
                f"This profile is already in use by another socialdesk process (pid {holder}). "
                "Close it first, or use another --profile."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "ProfileLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
