"""What a failed connection means, in the owner's words: one sentence of cause and one of what to check.

Owns `explain(exc, host, port, what)`, used wherever a socket-level failure reaches the owner (the
account dialog's connection test, the account's error line, `account add`). Before, the owner read
the library's text: "[Errno -2] Name or service not known", "_ssl.c:989: The handshake operation
timed out".

Decisions:
- The cause is read from the exception's type and errno, walking its `__cause__`/`__context__` chain
  and the first argument (requests and urllib3 wrap the socket error two or three levels deep). The
  library's own text is never shown: it can carry a URL, and it is not what the owner needs.
- Certificate failures are not explained here: the connectors say so themselves, with the reason the
  certificate was refused, because "never connect without a valid certificate" is a rule, not a fault.
- No promise of a retry: the same sentence serves the account dialog's test, after which nothing
  retries, and the sync engine, which says for itself when it tries again.
- Unknown failures fall back to "the connection failed" plus the exception's type name, which is
  enough for a support question and says nothing secret.
"""

from __future__ import annotations

import errno
import socket
import sys
from typing import Iterator

_OFFLINE = {errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTUNREACH}


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception behind it, nearest first: cause, context, an exception passed as one
    of the first two arguments (peewee wraps sqlite3's error there; requests and urllib3 wrap the socket
    error), and urllib3's `reason`. Each once; a cycle or a very long chain ends."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending and len(seen) < 20:  # bounded: a chain is a handful of exceptions deep
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (current.__cause__, current.__context__, *(a for a in current.args[:2])):
            if isinstance(nxt, BaseException):
                pending.append(nxt)
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError / NewConnectionError
        if isinstance(reason, BaseException):
            pending.append(reason)


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (TimeoutError, socket.timeout)) or "timed out" in str(exc).lower()


def explain(exc: BaseException, host: str, port: int | None = None, what: str = "server") -> str:
    """A sentence for the owner on why the connection to `what` at host:port failed, and what to check."""
    where = f"{host}:{port}" if port else host
    # No TLS error exists before the ssl module is loaded: the store (which explains its errors through
    # this module too) starts without loading it.
    ssl = sys.modules.get("ssl")
    for cause in causes(exc):
        if isinstance(cause, socket.gaierror):
            if cause.errno in (socket.EAI_AGAIN,) or cause.errno in _OFFLINE:
                return (f"The {what} address {host} could not be looked up just now. Check that this "
                        "computer is online.")
            return f"The {what} address {host} does not exist. Check it for typos."
        if isinstance(cause, ConnectionRefusedError):
            return (f"{host} refused the connection on port {port}. Check the port number; the "
                    f"{what} may not offer this service on that port.")
        if isinstance(cause, OSError) and cause.errno in _OFFLINE:
            return f"No network route to {host}. Check that this computer is online."
        if ssl is not None and isinstance(cause, ssl.SSLCertVerificationError):
            break  # the connectors say why the certificate was refused
        if ssl is not None and isinstance(cause, ssl.SSLError):
            return (f"A secure connection to {where} could not be set up. Check the security setting: "
                    "SSL/TLS and STARTTLS use different ports (for mail usually 993/465 and 143/587).")
        if _is_timeout(cause):
            return (f"{where} did not answer in time. Check the server name and port, and whether a "
                    "firewall or VPN blocks the connection.")
        if isinstance(cause, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, EOFError)):
            return (f"{where} closed the connection. The server may be busy, or the port may expect a "
                    "different security setting.")
    return f"The connection to {where} failed ({type(exc).__name__})."
