"""Small local fake servers that speak the platforms' wire formats, for connector tests.

Decisions:
- stdlib only (`http.server.ThreadingHTTPServer`, HTTP/1.1 so streams can be chunked like the real
  Mastodon SSE endpoint); they listen on 127.0.0.1 on a free port and stop by themselves after
  `lifetime` seconds even if a test forgets them.
- Each platform module subclasses `FakeServer`, keeps its state in plain attributes guarded by
  `self.lock`, and exposes `add_*` methods to seed data. Faults are programmed with `inject`
  (the next matching request gets the given status/body: 401, 429 with headers, 500, malformed JSON).
- Subprocess use (crash-safety and fault-matrix tests): `python -m tests.fakes.<platform> --port N
  --seed K` serves K seeded items and prints "READY <url>" on stdout. Its state can be changed while
  it runs with `POST /__fake__/inject` (JSON: status, body, path, times, headers) and
  `POST /__fake__/add` (JSON: the keyword arguments of the platform's `add` method), and read with
  `GET /__fake__/state`.
- Every request is recorded in `self.requests` so tests can assert what the connector sent.
- Each platform module also has a contract-suite harness (`<Platform>Harness`, fixture
  `<platform>_harness`) with the same shape as tests/mailserver.py's EmailHarness: `kind`,
  `connector()`, `seed(n) -> external ids in arrival order`, `sent()`, `inject("auth" | "transient" |
  "permanent") -> the ConnectorError subclass expected`, `heal()`. Its connectors use pages of 3 so
  a handful of seeded items already spans several pages.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, str]:
        if self.headers.get("content-type", "").startswith("application/json"):
            return {k: str(v) for k, v in self.json().items()}
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:] if value.startswith("Bearer ") else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent verbatim
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None  # chunked body (SSE)


@dataclass
class Fault:
    status: int
    body: Any
    path: str | None
    times: int
    headers: dict[str, str]


class FakeServer:
    """Base of the platform fakes: threading server, fault injection, request log, CLI."""

    def __init__(self, lifetime: float = 300.0):
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self.lifetime = lifetime
        self.httpd: ThreadingHTTPServer | None = None
        self.url = ""

    # -- to override -----------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        raise NotImplementedError

    def add(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def seed(self, count: int) -> None:
        for i in range(count):
            self.add(text=f"seeded message {i + 1}")

    def state(self) -> dict[str, Any]:
        return {}

    # -- programming -----------------------------------------------------------------------------
    def inject(
        self,
        status: int,
        body: Any = None,
        *,
        path: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests whose path contains `path` with this status and body.

        `body` may be bytes (sent verbatim: use b"{not json" for malformed JSON) or JSON-able.
        """
        with self.lock:
            self.faults.append(Fault(status, body, path, times, dict(headers or {})))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take_fault(self, req: Request) -> Reply | None:
        with self.lock:
            for fault in self.faults:
                if fault.path is None or fault.path in req.path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return Reply(fault.status, fault.body, fault.headers)
        return None

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests]

    # -- serving ---------------------------------------------------------------------------------
    def start(self, port: int = 0) -> "FakeServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                with fake.lock:
                    fake.requests.append(req)
                try:
                    reply = fake._control(req) or fake._take_fault(req) or fake.handle(req)
                except Exception:  # a bug in the fake: show it, answer like a crashing server
                    traceback.print_exc()
                    reply = Reply(500, {"error": "fake server bug"})
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.stream is not None:
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for chunk in reply.stream:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                            self.wfile.flush()
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                body = reply.body
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        # Stop by ourselves even if nobody calls stop().
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._timer.cancel()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @contextmanager
    def running(self) -> Iterator["FakeServer"]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def _control(self, req: Request) -> Reply | None:
        if not req.path.startswith("/__fake__/"):
            return None
        action = req.path.removeprefix("/__fake__/")
        if action == "inject":
            spec = req.json()
            body = spec.get("body")
            if spec.get("raw"):
                body = str(spec["raw"]).encode()
            self.inject(
                int(spec["status"]),
                body,
                path=spec.get("path"),
                times=int(spec.get("times", 1)),
                headers=spec.get("headers"),
            )
            return Reply(200, {"ok": True})
        if action == "add":
            result = self.add(**req.json())
            return Reply(200, {"ok": True, "added": result})
        if action == "state":
            with self.lock:
                return Reply(200, self.state())
        return Reply(404, {"error": "unknown control action"})


def serve_cli(fake_cls: type[FakeServer], argv: list[str] | None = None) -> None:
    """`python -m tests.fakes.<platform> --port N --seed K --lifetime S`: serve until killed."""
    parser = argparse.ArgumentParser(description=f"Serve {fake_cls.__name__} on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="how many inbound items to create")
    parser.add_argument("--lifetime", type=float, default=600.0, help="stop after this many seconds")
    args = parser.parse_args(argv)
    fake = fake_cls(lifetime=args.lifetime)
    serve_until_stopped(fake, args.seed, args.port)


def serve_until_stopped(fake: "FakeServer", seed: int, port: int) -> None:
    """Seed, listen, announce `READY <url>` for the parent process, serve until the lifetime ends."""
    fake.seed(seed)
    fake.start(port)
    print(f"READY {fake.url}", flush=True)
    try:
        while not fake.stopping.wait(0.2):
            pass
    except KeyboardInterrupt:
        fake.stop()
    sys.exit(0)


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    """Poll `predicate` (for cross-thread effects in stream tests); bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


class HttpFakeHarness:
    """The contract-suite harness parts every HTTP fake shares: faults come from its ERRORS table
    (error name -> (HTTP status, body, the ConnectorError the connector must raise))."""

    ERRORS: dict[str, tuple[int, Any, type]] = {}
    fake: FakeServer

    def inject(self, error: str) -> type:
        status, body, expected = self.ERRORS[error]
        self.fake.inject(status, body, times=1000)
        return expected

    def heal(self) -> None:
        self.fake.clear_faults()
