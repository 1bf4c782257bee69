"""Overall deadlines for network operations: one watchdog shuts the sockets of an operation whose time is up.

Why this exists: a socket timeout bounds each read, not the operation. A server that sends one byte
per second never trips a 30 s read timeout, so a fetch or a send could run for hours (measured: `sync
--once` against a 1 byte/s server was still running after 300 s). requests says so itself ("timeout
is not a time limit on the entire response download"), and imaplib/smtplib only have per-read
timeouts too. Python cannot interrupt a thread blocked in `recv`, but shutting the socket down from
another thread makes that `recv` return at once with EOF or an error.

Decisions:
- An operation runs inside `within(seconds, what)`. Sockets opened (or reused) inside it are
  `watch`ed; when the deadline passes, the watchdog shuts them down and `within` turns whatever the
  library then raised into `DeadlineExceeded` (a TransientError: the engine backs off and retries,
  and the message says which server was too slow). A block that ends normally is left alone even if
  the deadline fired (an email reply already delivered must not be reported as failed); a caller that
  would otherwise trust a cut-short answer checks `fired` itself (http.py does: a response whose
  headers were cut short parses as an empty 200).
- The scope is thread-local, so the socket-creation hooks deep inside libraries (urllib3's
  `_new_conn` in http.py, imaplib's `_create_socket` and smtplib's `_get_socket` in email.py) attach
  to the operation running on their thread without passing it through every call.
- What is watched is a duplicate descriptor (`os.dup` through `socket.fromfd`): shutdown acts on the
  connection, not on a descriptor, so shutting the duplicate wakes the library's read while the
  library's own descriptor is never closed under it (no descriptor-reuse race). It works before TLS
  wraps the socket (a trickled TLS handshake is bounded too) and after (an SSLSocket can be neither
  duplicated nor shut down safely from another thread).
- Scopes nest: an inner scope never outlives the outer one (so the inner one alone watches its
  sockets). `extend` pushes a deadline out (email
  allows time per byte it asks for, so a slow but honest link can still download a big message).
- One daemon thread serves every deadline of the process from a heap; it starts on first use and ends
  when nothing is watched any more.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from socialdesk.connectors.base import TransientError

log = logging.getLogger(__name__)


class DeadlineExceeded(TransientError):
    """A network operation ran past its overall deadline and was stopped; retry later."""


class Deadline:
    """One operation's time limit and the sockets it uses."""

    def __init__(self, seconds: float, what: str, parent: "Deadline | None" = None):
        self.seconds = seconds
        self.what = what
        self.parent = parent
        self.started = time.monotonic()
        self.expires_at = self.started + max(0.0, seconds)
        if parent is not None:
            self.expires_at = min(self.expires_at, parent.expires_at)
        self.fired = False
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._closed = False
        self._scheduled_for: float | None = None  # the expiry the watchdog knows about
        self._seen: set[object] = set()  # connections already watched (a socket is seen again after TLS)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def extend(self, seconds: float) -> None:
        """Allow `seconds` more (never beyond an enclosing scope)."""
        with self._lock:
            self.expires_at += max(0.0, seconds)
            if self.parent is not None:
                self.expires_at = min(self.expires_at, self.parent.expires_at)
        self._schedule()

    def watch(self, sock: socket.socket | None) -> None:
        """Shut `sock` down when this deadline passes (at once if it already has)."""
        if sock is None:
            return
        try:
            # The connection's two ends, not the descriptor number: a number is reused by the next
            # socket once the library closes this one.
            key: object = (sock.getsockname(), sock.getpeername())
        except OSError:
            key = object()  # not connected yet: cannot be a duplicate
        try:
            if key in self._seen:
                return
            handle = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except (OSError, ValueError):  # already closed: nothing left to stop
            return
        with self._lock:
            if self._closed:
                handle.close()
                return
            self._seen.add(key)
            self._watched.append(handle)
            fire_now = self.fired or time.monotonic() >= self.expires_at
        if fire_now:
            self._fire()
        else:
            self._schedule()

    def error(self) -> DeadlineExceeded:
        """What to raise when this deadline stopped the operation (owner-readable)."""
        return DeadlineExceeded(
            f"{self.what} was too slow: the operation took longer than "
            f"{_seconds(self.expires_at - self.started)} and was stopped. Will try again."
        )

    def _schedule(self) -> None:
        with self._lock:
            if self._closed or not self._watched or self._scheduled_for == self.expires_at:
                return
            self._scheduled_for = self.expires_at
        _WATCHDOG.schedule(self)

    def _fire(self) -> None:
        with self._lock:
            if self._closed:
                return
            self.fired = True
            handles = list(self._watched)
        for handle in handles:
            try:
                handle.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if handles:
            log.info("%s: overall deadline of %.0f s passed; connection stopped", self.what, self.seconds)

    def _release(self) -> None:
        with self._lock:
            self._closed = True
            handles, self._watched = self._watched, []
            self._seen.clear()
        for handle in handles:
            handle.close()


class _Watchdog:
    """One thread for all deadlines: sleeps until the earliest one, fires it, exits when idle."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.expires_at, next(self._ids), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="socialdesk-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                due: Deadline | None = None
                while due is None:
                    # Entries of finished operations (or superseded by `extend`) are dropped here.
                    while self._heap and (
                        self._heap[0][2]._closed or self._heap[0][0] != self._heap[0][2]._scheduled_for
                    ):
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._thread = None
                        return
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        due = heapq.heappop(self._heap)[2]
                    else:
                        self._cond.wait(wait)
            due._fire()


_WATCHDOG = _Watchdog()
_local = threading.local()


def current() -> Deadline | None:
    """The deadline of the operation running on this thread, if any."""
    return getattr(_local, "scope", None)


def watch(sock: socket.socket | None) -> None:
    """Let the current operation's deadline stop `sock` (no-op outside `within`)."""
    scope = current()
    if scope is not None:
        scope.watch(sock)


@contextmanager
def within(seconds: float, what: str) -> Iterator[Deadline]:
    """Run the block with an overall deadline; raise DeadlineExceeded if the watchdog had to stop it.

    `what` names the server for the owner ("the IMAP server imap.example.com:993").
    """
    parent = current()
    scope = Deadline(seconds, what, parent)
    _local.scope = scope
    try:
        yield scope
    except Exception:
        if scope.fired or (parent is not None and parent.fired):
            raise scope.error() from None
        raise
    finally:
        _local.scope = parent
        scope._release()


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.3g} s"
