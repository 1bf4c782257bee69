"""A real ManageSieve server for the Sieve tests: pymap's ManageSieve service (its `sieve` extra) on 127.0.0.1.

Decisions:
- pymap runs as a subprocess (like tests/mailserver.ImapServer) with IMAP and ManageSieve on free ports
  and its in-memory `dict` backend: real RFC 5804 LISTSCRIPTS / PUTSCRIPT / SETACTIVE / GETSCRIPT /
  DELETESCRIPT / HAVESPACE / CHECKSCRIPT over the wire.
- pymap's own Sieve *runner* knows only keep/fileinto/reject/discard, so its ManageSieve announces only
  those extensions. The server here announces what Dovecot/Pigeonhole announces (shared/CONNECTORS.md:
  vacation, date, relational, include, envelope, ...) by extending `SieveCompiler.extensions` in the
  server process, and registers sievelib's missing RFC 6609 `include` (connectors/sieve.IncludeCommand)
  so CHECKSCRIPT parses it. `extensions` lets a test announce less (a server without `include`).
- pymap refuses every literal but APPEND's above 4 KiB ("Bad command"), so PUTSCRIPT of a few weeks of
  periods (~40 KB) would fail; the server here takes 1 MiB, Dovecot's default sieve_max_script_size.
- Every wait is bounded; nothing listens anywhere but 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from contextlib import contextmanager
from typing import Iterator

from sievelib.managesieve import Client

from tests.mailserver import HOST, PASSWORD, USER, ImapServer, free_port, wait_for_port

DOVECOT_EXTENSIONS = ("vacation", "date", "relational", "include", "envelope", "body", "variables", "fileinto")


class SieveServer:
    def __init__(self, user: str = USER, password: str = PASSWORD, extensions: tuple[str, ...] = DOVECOT_EXTENSIONS):
        self.host = HOST
        self.user = user
        self.password = password
        self.imap_port = free_port()
        self.port = free_port()
        self.extensions = extensions
        self.proc: subprocess.Popen | None = None

    def start(self) -> SieveServer:
        preamble = (
            "import socialdesk.connectors.sieve; from pymap.sieve import SieveCompiler; "
            f"SieveCompiler.extensions = [e.encode() for e in {list(self.extensions)!r}]; "
            "from pymap.parsing.primitives import String; String._MAX_LEN = 1 << 20; "
            "from pymap.main import main; main()"
        )
        argv = [sys.executable, "-c", preamble, "--host", HOST, "--port", str(self.imap_port), "--no-tls",
                "--sieve-host", HOST, "--sieve-port", str(self.port),
                "dict", "--demo-user", self.user, "--demo-password", self.password]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(self.port)
            wait_for_port(self.imap_port)
        except RuntimeError:
            self.stop()
            raise
        return self

    stop = ImapServer.stop  # the same process handling

    def clear(self) -> None:
        """No scripts, none active: each test starts clean on a module's server."""
        with self.client() as client:
            client.setactive("")
            for name in client.listscripts()[1]:
                client.deletescript(name)

    def account_settings(self, **extra: str) -> dict:
        """Email account settings pointing IMAP and ManageSieve at this server (plaintext: loopback)."""
        return {
            "address": self.user, "imap_host": HOST, "imap_port": str(self.imap_port), "imap_tls": "none",
            "smtp_tls": "none", "sieve_port": str(self.port), "sieve_tls": "none", **extra,
        }

    @contextmanager
    def client(self) -> Iterator[Client]:
        """A logged-in sievelib client, to seed and inspect what the owner has on the server."""
        client = Client(HOST, self.port)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # plaintext to 127.0.0.1
            assert client.connect(self.user, self.password, authmech="PLAIN")
        try:
            yield client
        finally:
            try:
                client.logout()
            except Exception:  # noqa: BLE001 - pymap closes without answering LOGOUT
                pass

    def scripts(self) -> tuple[str | None, dict[str, str]]:
        """(the active script's name, {name: text}) as the server holds them."""
        with self.client() as client:
            active, others = client.listscripts()
            names = [*others, *([active] if active else [])]
            return active, {name: client.getscript(name) for name in names}

    def put(self, name: str, text: str, *, active: bool = False) -> None:
        with self.client() as client:
            assert client.putscript(name, text), client.errmsg
            if active:
                assert client.setactive(name), client.errmsg
