"""The log file: `<profile>/socialdesk.log`, rotated, every line redacted; set up first, never fatal.

Decisions:
- The command line sets logging up right after it has read its arguments (before the profile's lock,
  database or connectors can fail), the window in app.build_core; both call `setup_logging`, which does
  the work once per process.
- Every line goes through secrets.RedactingFormatter: no secret, and no UnicodeError quoting a
  character of one, ever reaches the file.
- Logging is best effort and never the reason a command fails: a folder the log cannot be written to
  (read-only, full disk) leaves the process without a log file, and `logging.raiseExceptions` is off so
  a failing write prints no "--- Logging error ---" tracebacks (a full disk printed 73 lines of them).
  The real problem is reported once, in one line, by whoever meets it (cli.main). A NullHandler on the
  root logger keeps logging's last-resort handler from printing warnings on stderr instead.
- `setup_logging` never creates the profile folder: only the commands that may create a profile do.
"""

from __future__ import annotations

import logging
import logging.handlers

from socialdesk import paths
from socialdesk.secrets import RedactingFormatter

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(profile: paths.ProfilePaths, verbose: bool = False) -> bool:
    """Log to the profile's file if its folder exists and can be written; True if the file is in use."""
    logging.raiseExceptions = False
    root = logging.getLogger()
    if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        root.addHandler(logging.NullHandler())
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if any(getattr(h, "_socialdesk", False) for h in root.handlers):
        return True
    if not profile.root.is_dir():
        return False
    try:
        handler = logging.handlers.RotatingFileHandler(
            profile.log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return False
    handler._socialdesk = True  # type: ignore[attr-defined]
    handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    root.addHandler(handler)
    return True
