"""Secrets (passwords, tokens) live only in the OS keyring, under the service name "socialdesk"; and no
error text, on screen or in the log, ever quotes one.

Decisions:
- Keys are "<profile>/<account>/<name>" so profiles and accounts never see each other's secrets.
- The backend is whatever `keyring` selects (OS keyring, or the owner's own choice through keyring's
  `PYTHON_KEYRING_BACKEND` / keyringrc.cfg, e.g. keyrings.alt installed knowingly). socialdesk ships
  no backend of its own and never selects one. When keyring has nothing usable (its fail backend, its
  null backend, a chainer with nothing to chain, a configured backend that cannot load) we raise
  `NoKeyringError` with one line telling the owner what to install. We never fall back to a plaintext
  file or to memory (Vorta's lesson: silent fallbacks and crashes on a missing backend were its most
  reported bugs; an in-memory store says "saved" and loses the token when the process ends).
- `require_keyring()` is the check every "add an account" path runs before it creates or stores
  anything (command line and window alike), so a missing keyring leaves no half-made account.
- Redaction, the one place exceptions become text: `error_text(exc)` never shows the object of a
  Unicode{En,De}codeError (its message quotes characters of the input, e.g. of a non-ASCII password),
  and `redact(text)` removes every secret value this process has read or stored (also in repr, \\x
  escaped, UTF-8 bytes and URL-quoted forms). The command line's error lines, the account's last
  error and the log file (`RedactingFormatter`, installed by app.setup_logging) all go through them.
  Values shorter than 4 characters are not scrubbed (they would garble every message; no real
  password or token is that short).
- Nothing here logs values.
"""

from __future__ import annotations

import logging
import threading
import traceback
import urllib.parse
from types import ModuleType
from typing import Iterable

SERVICE = "socialdesk"


def _keyring() -> ModuleType:
    """The keyring module, imported on first use: it costs about 70 ms, and nothing on the way to the
    window's first paint needs a secret."""
    import keyring
    import keyring.errors  # noqa: F401 - loaded for the callers' `keyring.errors.*`

    return keyring


class NoKeyringError(RuntimeError):
    pass


NO_KEYRING_MESSAGE = (
    "No system keyring is available, so socialdesk cannot store passwords or tokens safely: install and "
    "unlock one (Secret Service, e.g. GNOME Keyring, or KWallet on Linux), or install `keyrings.alt` "
    "only if you accept a file-based store. Nothing was saved."
)


def _unusable_reason() -> str | None:
    """Why keyring's selected backend cannot keep a secret, or None if it can."""
    keyring = _keyring()
    from keyring.backends import chainer, fail, null

    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - a configured backend that cannot be imported or built
        return (f"The keyring backend configured for this user cannot be loaded ({type(exc).__name__}). "
                + NO_KEYRING_MESSAGE)
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return NO_KEYRING_MESSAGE
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return NO_KEYRING_MESSAGE
    return None


def keyring_available() -> bool:
    return _unusable_reason() is None


def require_keyring() -> None:
    """Raise NoKeyringError (one line, what to install) unless secrets can be stored."""
    reason = _unusable_reason()
    if reason is not None:
        raise NoKeyringError(reason)


class KeyringSecrets:
    """AccountSecrets for one account of one profile (see connectors/base.py)."""

    def __init__(self, profile: str, account: str):
        self.prefix = f"{profile}/{account}/"

    def get(self, name: str) -> str | None:
        keyring = _keyring()
        require_keyring()
        try:
            value = keyring.get_password(SERVICE, self.prefix + name)
        except keyring.errors.KeyringError as exc:
            raise NoKeyringError(f"The keyring refused to read a secret: {type(exc).__name__}") from None
        remember(value)
        return value

    def set(self, name: str, value: str) -> None:
        keyring = _keyring()
        remember(value)
        require_keyring()
        try:
            keyring.set_password(SERVICE, self.prefix + name, value)
        except keyring.errors.KeyringError as exc:
            raise NoKeyringError(f"The keyring refused to store a secret: {type(exc).__name__}") from None

    def delete(self, name: str) -> None:
        keyring = _keyring()
        require_keyring()
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


# --- redaction ---------------------------------------------------------------------------------------

MIN_REDACTED_LENGTH = 4
_known_lock = threading.Lock()
_known_forms: list[str] = []  # every spelling of every remembered secret, longest first


def _spellings(value: str) -> set[str]:
    forms = {value, repr(value)[1:-1], ascii(value)[1:-1], repr(value.encode("utf-8", "replace"))[2:-1],
             urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    return {form for form in forms if len(form) >= MIN_REDACTED_LENGTH}


def remember(value: str | None) -> None:
    """Note a secret value so `redact` removes it from any message of this process."""
    if not isinstance(value, str) or len(value) < MIN_REDACTED_LENGTH:
        return
    forms = _spellings(value)
    with _known_lock:
        if forms.issubset(_known_forms):
            return
        _known_forms[:] = sorted(set(_known_forms) | forms, key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every remembered secret replaced by "[secret]"."""
    for form in _known_forms:  # a snapshot is not needed: the list is replaced, never edited in place
        if form in text:
            text = text.replace(form, "[secret]")
    return text


def error_text(exc: BaseException) -> str:
    """The one way an exception becomes text for the owner, a stored error or the log.

    A UnicodeError's str() quotes the character it choked on and its position in the input, which
    may be a password: only the codec and the reason are kept."""
    if isinstance(exc, UnicodeEncodeError):
        text = f"'{exc.encoding}' codec can't encode a character of the text ({exc.reason}; text not shown)"
    elif isinstance(exc, UnicodeDecodeError):
        text = f"'{exc.encoding}' codec can't decode a byte of the text ({exc.reason}; text not shown)"
    elif isinstance(exc, UnicodeError):
        text = "text could not be converted (text not shown)"
    else:
        text = str(exc)
    return redact(text)


def _format_exception(exc: BaseException, seen: set[int]) -> list[str]:
    """traceback.format_exception, with every exception line of the chain rendered by error_text."""
    seen.add(id(exc))
    lines: list[str] = []
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        lines += _format_exception(cause, seen)
        lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        lines += _format_exception(context, seen)
        lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    if exc.__traceback__ is not None:
        lines.append("Traceback (most recent call last):\n")
        lines += traceback.format_tb(exc.__traceback__)
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    message = error_text(exc)
    lines.append(f"{name}: {message}\n" if message else f"{name}\n")
    return lines


class RedactingFormatter(logging.Formatter):
    """A log formatter whose output never quotes a secret (see the module docstring)."""

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        exc = ei[1]
        if exc is None:
            return super().formatException(ei)
        return "".join(_format_exception(exc, set())).rstrip("\n")

    def format(self, record: logging.LogRecord) -> str:
        # An exception passed as a message argument is rendered by error_text too, and the traceback
        # text another formatter may have cached on the record is made again, safely.
        if isinstance(record.msg, BaseException):
            record.msg = error_text(record.msg)
        if isinstance(record.args, tuple) and any(isinstance(a, BaseException) for a in record.args):
            record.args = tuple(error_text(a) if isinstance(a, BaseException) else a for a in record.args)
        if record.exc_info:
            record.exc_text = None
        return redact(super().format(record))
