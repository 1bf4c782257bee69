"""Real mail servers for the email connector tests: pymap (IMAP) and aiosmtpd (SMTP) on 127.0.0.1.

Decisions:
- pymap runs as a subprocess with its in-memory `dict` backend (the real IMAP4rev1 server code:
  APPEND, UIDPLUS, IDLE), on a free port, waiting until the port accepts (bounded) and killed at
  teardown. Its data lives in that process only, so a restart on the same port is also a fresh
  UIDVALIDITY.
- INBOX cannot be deleted on pymap, so tests that need a UIDVALIDITY change use their own mailbox
  and delete + recreate it (`ImapServer.recreate`).
- aiosmtpd runs in its Controller thread offering AUTH PLAIN/LOGIN (auth_require_tls=False is fine:
  127.0.0.1 only) and records every accepted message and whether the client had logged in.
- Every wait is bounded; nothing listens anywhere but 127.0.0.1.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from imapclient import IMAPClient

HOST = "127.0.0.1"
USER = "shop@example.com"
PASSWORD = "s3cret-pass"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout}s")


class ImapServer:
    """A pymap process. `client()` gives a logged-in IMAPClient for seeding and inspection."""

    def __init__(self, user: str = USER, password: str = PASSWORD, port: int | None = None):
        self.host = HOST
        self.user = user
        self.password = password
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> ImapServer:
        # No ManageSieve here (pymap[sieve] would listen on 4190 by default: parallel servers would collide
        # and the app's off-hours push would reach another test's server); tests/sieveserver.py runs one.
        argv = [sys.executable, "-c", "from pymap.main import main; main()",
                "--host", HOST, "--port", str(self.port), "--no-tls", "--no-service", "managesieve",
                "dict", "--demo-user", self.user, "--demo-password", self.password]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(self.port)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            self.proc = None

    def client(self) -> IMAPClient:
        client = IMAPClient(HOST, port=self.port, ssl=False, timeout=10)
        if self.password.isascii():
            client.login(self.user, self.password)
        else:
            client.plain_login(self.user, self.password)  # LOGIN takes ASCII only
        return client

    def append(self, raw: bytes, mailbox: str = "INBOX", flags: tuple = (), msg_time: datetime | None = None) -> int:
        """APPEND one message (msg_time sets its INTERNALDATE); returns its UID (from APPENDUID)."""
        client = self.client()
        try:
            response = client.append(mailbox, raw, flags=flags, msg_time=msg_time)
        finally:
            client.logout()
        # b"[APPENDUID <uidvalidity> <uid>] APPEND completed."
        return int(response.split(b"]")[0].split()[-1])

    def create(self, mailbox: str) -> None:
        client = self.client()
        try:
            client.create_folder(mailbox)
        finally:
            client.logout()

    def recreate(self, mailbox: str) -> None:
        """Delete and recreate `mailbox`: its UIDVALIDITY changes and its messages are gone."""
        client = self.client()
        try:
            client.delete_folder(mailbox)
            client.create_folder(mailbox)
        finally:
            client.logout()

    def status(self, mailbox: str = "INBOX") -> dict:
        client = self.client()
        try:
            return client.folder_status(mailbox, ["UIDVALIDITY", "UIDNEXT", "MESSAGES", "UNSEEN"])
        finally:
            client.logout()

    def flags(self, mailbox: str = "INBOX") -> dict[int, tuple]:
        client = self.client()
        try:
            client.select_folder(mailbox, readonly=True)
            return {uid: data[b"FLAGS"] for uid, data in client.fetch(client.search("ALL"), ["FLAGS"]).items()}
        finally:
            client.logout()


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated: bool  # the client logged in with AUTH before sending


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, _server, _session, envelope, address, _options) -> str:
        refused = self.server.refuse_recipients
        if address.lower() in refused or "*" in refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server, session, envelope) -> str:
        self.server._record(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                                     bool(session.authenticated)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd with AUTH; `messages` holds what was accepted, `wait_for(n)` blocks (bounded)."""

    def __init__(self, user: str = USER, password: str = PASSWORD):
        self.host = HOST
        self.port = free_port()
        self.user = user
        self.password = password
        self.messages: list[Received] = []
        self.refuse_recipients: set[str] = set()  # RCPT TO these ("*": anyone) gets 550
        self._cond = threading.Condition()
        self.controller: Controller | None = None

    def _authenticate(self, _server, _session, _envelope, mechanism, auth_data) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == self.user and auth_data.password.decode() == self.password)
        return AuthResult(success=ok, handled=False)

    def _record(self, received: Received) -> None:
        with self._cond:
            self.messages.append(received)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)

    @property
    def running(self) -> bool:
        return self.controller is not None

    def start(self) -> SmtpServer:
        """Start (or start again, on the same port: a Controller cannot be restarted)."""
        self.controller = Controller(
            _Handler(self), hostname=HOST, port=self.port,
            # AUTH is offered without TLS (loopback only); it is not *required* because aiosmtpd
            # warns on every connection then: tests check `Received.authenticated` instead.
            authenticator=self._authenticate, auth_require_tls=False,
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def imap_server():
    server = ImapServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


def make_message(
    *, message_id: str | None = "<m1@customer.example>", subject: str = "Question",
    sender: str = "Customer <customer@customer.example>", to: str = f"Shop <{USER}>",
    body: str = "Hello, do you ship to Austria?", extra: str = "",
    date: str = "Mon, 23 Nov 2026 09:00:00 +0000",
) -> bytes:
    """A small RFC 5322 message for seeding (extra: more header lines, CRLF-separated)."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if extra:
        lines.extend(extra.strip("\r\n").split("\r\n"))
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode("utf-8")


class EmailHarness:
    """What the connector contract suite needs: a connector on real servers, N seeded messages, and
    injected failures (`inject("auth" | "transient" | "permanent")`, undone by `heal()`)."""

    kind = "email"

    def __init__(self, imap: ImapServer, smtp: SmtpServer, mailbox: str = "INBOX"):
        from socialdesk.connectors.base import MemorySecrets

        self.imap, self.smtp, self.mailbox = imap, smtp, mailbox
        self.secrets = MemorySecrets({"password": imap.password})
        self.settings = {
            "address": USER, "display_name": "Corner Shop", "imap_host": HOST, "imap_port": str(imap.port),
            "imap_tls": "none", "smtp_host": HOST, "smtp_port": str(smtp.port), "smtp_tls": "none",
            "mailbox": mailbox,
        }
        self._seeded = 0

    def connector(self):
        from socialdesk.connectors.email import EmailConnector

        return EmailConnector(dict(self.settings), self.secrets)

    def seed(self, n: int) -> list[str]:
        """Append n customer messages; returns their external ids (Message-IDs) in arrival order."""
        ids = []
        for _ in range(n):
            self._seeded += 1
            mid = f"<seed{self._seeded}@customer.example>"
            self.imap.append(make_message(message_id=mid, subject=f"Question {self._seeded}",
                                          body=f"Message number {self._seeded}"), self.mailbox)
            ids.append(mid)
        return ids

    def sent(self) -> list[Received]:
        """What reached the SMTP server."""
        return list(self.smtp.messages)

    def inject(self, error: str) -> type:
        """Make the next call fail; returns the ConnectorError subclass it must raise."""
        from socialdesk.connectors.base import AuthError, PermanentError, TransientError

        if error == "auth":
            self.secrets.set("password", "wrong-password")
            return AuthError
        if error == "transient":
            self.imap.stop()
            self.smtp.stop()
            return TransientError
        if error == "permanent":
            self.settings["mailbox"] = "Does-Not-Exist"  # fetch, check and stream fail
            self.smtp.refuse_recipients.add("*")  # reply fails
            return PermanentError
        raise ValueError(error)

    def heal(self) -> None:
        self.secrets.set("password", self.imap.password)
        self.settings["mailbox"] = self.mailbox
        self.smtp.refuse_recipients.discard("*")
        if self.imap.proc is None:
            self.imap.start()  # fresh memory: earlier seeds are gone, UIDVALIDITY is new
        if not self.smtp.running:
            self.smtp.start()


@pytest.fixture
def email_harness(monkeypatch):
    from socialdesk.connectors import email as email_connector

    # pymap announces mail that lands between two commands only when the next IDLE ends, so in that
    # (timing-dependent) case the stream sees it at the end of its IDLE cycle: 60 s in production,
    # longer than the contract suite waits. A 2 s cycle keeps the suite deterministic.
    monkeypatch.setattr(email_connector, "IDLE_RENEW_SECONDS", 2)
    imap, smtp = ImapServer().start(), SmtpServer().start()
    try:
        yield EmailHarness(imap, smtp)
    finally:
        imap.stop()
        smtp.stop()
