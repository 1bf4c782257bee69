"""A trickle server: answers every connection one byte per second, forever (for deadline tests).

Decisions:
- A plain TCP listener on 127.0.0.1, free port. Each connection gets `greeting` (for IMAP "* OK",
  for SMTP "220 ...", for HTTP a status line and headers) and then endless filler, one byte every
  `interval` seconds: always moving, so no per-read socket timeout ever fires; only an overall
  deadline ends the client's operation.
- Bounded: it stops by itself after `lifetime` seconds (and on `stop()`), closing every connection.
  Tests record how many connections it saw and when each one was closed by the client.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

HTTP_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
IMAP_GREETING = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] trickle ready\r\n"
SMTP_GREETING = b"220 trickle.example ESMTP\r\n"
LIFETIME = 40.0  # how long a test's trickle server lives: an operation still running then was not stopped
BOUND = 15.0  # the generous wall-clock bound for an operation whose injected deadline is a second or two


def timed(call: Callable[[], object]) -> tuple[Exception | None, float]:
    """(what `call` raised or None, seconds it took)."""
    started = time.monotonic()
    try:
        call()
    except Exception as exc:  # the test inspects it
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


class TrickleServer:
    def __init__(self, greeting: bytes = b"", *, filler: bytes = b" ", interval: float = 1.0,
                 lifetime: float = 30.0, whole_greeting: bool = True):
        """`whole_greeting`: send the greeting at once, then trickle filler; else trickle it too."""
        self.greeting = greeting
        self.filler = filler
        self.interval = interval
        self.lifetime = lifetime
        self.whole_greeting = whole_greeting
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.closed_by_client = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []

    def start(self) -> "TrickleServer":
        threading.Thread(target=self._accept, name="trickle-accept", daemon=True).start()
        timer = threading.Timer(self.lifetime, self.stop)
        timer.daemon = True
        timer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for sock in self._socks:
                try:
                    sock.close()
                except OSError:
                    pass
        try:
            self.listener.close()
        except OSError:
            pass

    @contextmanager
    def running(self) -> Iterator["TrickleServer"]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
                self._socks.append(conn)
            threading.Thread(target=self._trickle, args=(conn,), name="trickle", daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        try:
            if self.whole_greeting and self.greeting:
                conn.sendall(self.greeting)
                pending = b""
            else:
                pending = self.greeting
            started = next_send = time.monotonic()
            while not self._stop.is_set() and time.monotonic() - started < self.lifetime:
                if time.monotonic() >= next_send:
                    byte, pending = (pending[:1], pending[1:]) if pending else (self.filler, b"")
                    conn.sendall(byte)
                    next_send += self.interval
                conn.settimeout(max(0.01, next_send - time.monotonic()))
                try:
                    if not conn.recv(4096):  # read what the client says, and notice it leaving
                        self.closed_by_client.set()
                        return
                except TimeoutError:
                    pass
        except OSError:
            self.closed_by_client.set()
        finally:
            try:
                conn.close()
            except OSError:
                pass
