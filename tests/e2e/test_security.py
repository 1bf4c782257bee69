"""Security checks end to end: secrets stay in the keyring, customer HTML stays text, no plaintext off-box.

- After adding Telegram, Bluesky, Mastodon and e-mail accounts with distinctive secrets (plus two with
  wrong secrets, so error paths run too), syncing and replying, no secret appears in any file of the
  data root (database, WAL, backups, settings, log) nor in any output, `--json` or not.
- Customer HTML (a script tag in the text, markup in the name) is shown literally by `queue`, `show`
  and their `--json` forms. (The window, notification and tray are tests/gui/test_untrusted_text.py.)
- Plaintext to a host that is not this computer is refused by `account add` before any connection,
  with or without --no-test: e-mail with imap_tls/smtp_tls=none and http:// API addresses.

Decisions: every `socialdesk` subprocess runs with a `sitecustomize` guard on PYTHONPATH that makes
any connection to a non-loopback address fail and records it, so a regression could never reach
192.0.2.1 (TEST-NET) or anywhere else; the test asserts the record stays empty.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.bluesky import HANDLE, BlueskyFake
from tests.fakes.bluesky import PASSWORD as BLUESKY_PASSWORD
from tests.fakes.mastodon import MastodonFake
from tests.fakes.telegram import TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram import TelegramFake
from tests.keyring_backends import subprocess_env
from tests.mailserver import USER, ImapServer, SmtpServer, make_message

MAIL_PASSWORD = "Imap-Pa55-q7Zx-unique"
MASTODON_TOKEN = "masto-tok-Hj4kL9mN2pQ"
WRONG_TELEGRAM_TOKEN = "424242:WRONG-tg-token-vR8sT1"
WRONG_MAIL_PASSWORD = "wrong-mail-pass-Kd83nB"
HOSTILE_TEXT = '<script>alert("pwned")</script><b>bold?</b> &amp; <img src=x onerror=alert(1)>'
HOSTILE_USER = "<i>eve</i>"  # the Telegram fake makes the display name "<I>Eve</I>"

GUARD = '''
import os, socket
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex

def _check(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0])
        if not (host.startswith("127.") or host in ("::1", "localhost")):
            with open(os.environ["SOCIALDESK_TEST_CONNECT_LOG"], "a") as log:
                log.write(host + "\\n")
            raise OSError("test guard: no connections beyond this computer")

def connect(self, address):
    _check(self, address)
    return _connect(self, address)

def connect_ex(self, address):
    _check(self, address)
    return _connect_ex(self, address)

socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
'''


class Cli:
    def __init__(self, tmp: Path):
        guard = tmp / "guard"
        guard.mkdir()
        (guard / "sitecustomize.py").write_text(GUARD)
        self.home = tmp / "home"
        self.connect_log = tmp / "connections.log"
        self.env = subprocess_env(tmp / "keyring.json")
        self.env.update(SOCIALDESK_HOME=str(self.home),
                        SOCIALDESK_TEST_CONNECT_LOG=str(self.connect_log),
                        PYTHONPATH=os.pathsep.join([str(guard), str(Path(__file__).resolve().parents[2])]))
        self.env.pop("QT_QPA_PLATFORM", None)
        self.outputs: list[str] = []

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "socialdesk", *args], input=stdin, capture_output=True,
                                text=True, env=self.env, timeout=60)
        self.outputs += [result.stdout, result.stderr]
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self(*args, stdin=stdin)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def json(self, *args: str) -> object:
        return json.loads(self.ok(*args, "--json"))

    def attempted_remote_connections(self) -> list[str]:
        return self.connect_log.read_text().split() if self.connect_log.exists() else []


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def services():
    telegram, bluesky, mastodon = TelegramFake(lifetime=90), BlueskyFake(lifetime=90), MastodonFake(lifetime=90)
    imap, smtp = ImapServer(password=MAIL_PASSWORD), SmtpServer(password=MAIL_PASSWORD)
    mastodon.tokens.add(MASTODON_TOKEN)
    for server in (telegram, bluesky, mastodon, imap, smtp):
        server.start()
    try:
        yield telegram, bluesky, mastodon, imap, smtp
    finally:
        for server in (telegram, bluesky, mastodon, smtp, imap):
            server.stop()


def _mail_args(imap: ImapServer, smtp: SmtpServer, name: str) -> list[str]:
    settings = {"address": USER, "imap_host": "127.0.0.1", "imap_port": imap.port, "imap_tls": "none",
                "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_tls": "none"}
    return ["account", "add", "email", name, "--secret-stdin", *[f"--set={k}={v}" for k, v in settings.items()]]


def test_no_secret_in_files_or_output_and_customer_html_stays_literal(cli, services):
    telegram, bluesky, mastodon, imap, smtp = services
    telegram.add(HOSTILE_TEXT, user=HOSTILE_USER)
    bluesky.add("@shop.bsky.social <script>x</script> hello")
    mastodon.add("<p>hi @shop</p>")
    imap.append(make_message(subject="<b>Order</b>", body=HOSTILE_TEXT))

    cli.ok("account", "add", "telegram", "Bot", "--set", f"api_base={telegram.url}", "--secret-stdin",
           stdin=TELEGRAM_TOKEN + "\n")
    cli.ok("account", "add", "bluesky", "Sky", "--set", f"pds={bluesky.url}", "--set", f"handle={HANDLE}",
           "--secret-stdin", stdin=BLUESKY_PASSWORD + "\n")
    cli.ok("account", "add", "mastodon", "Fedi", "--set", f"instance={mastodon.url}", "--secret-stdin",
           stdin=MASTODON_TOKEN + "\n")
    cli.ok(*_mail_args(imap, smtp, "Mail"), stdin=MAIL_PASSWORD + "\n")
    # Wrong secrets: saved without testing, so the error paths of sync run with them.
    cli.ok("account", "add", "telegram", "Old bot", "--set", f"api_base={telegram.url}", "--secret-stdin",
           "--no-test", stdin=WRONG_TELEGRAM_TOKEN + "\n")
    cli.ok(*_mail_args(imap, smtp, "Old mail"), "--no-test", stdin=WRONG_MAIL_PASSWORD + "\n")
    cli.ok("sync", "--once")

    accounts = {a["name"]: a for a in cli.json("account", "list")}
    assert accounts["Old bot"]["state"] == "auth_error" and accounts["Old mail"]["state"] == "auth_error"
    # The check at `account add` learned the instance's post length (the fake says 500, as Mastodon does).
    assert accounts["Fedi"]["settings"] == {"instance": mastodon.url, "text_limit": 500}
    assert {accounts[n]["state"] for n in ("Bot", "Sky", "Fedi", "Mail")} == {"ok"}

    rows = cli.json("queue", "--all")
    by_account = {}
    for row in rows:
        by_account.setdefault(row["account"], []).append(row)
    assert set(by_account) == {"Bot", "Sky", "Fedi", "Mail"}
    for row in rows:
        cli.json("show", str(row["id"]))
        assert cli.ok("reply", str(row["id"]), "--text", "Thanks, <b>we</b> will check!").startswith("Sent")
    cli.ok("sync", "--once")
    cli.json("hours", "show")
    cli.json("snippets", "list")
    cli.json("report")
    cli.ok("queue", "--all")

    # Customer HTML is data: shown exactly as sent, never interpreted or stripped.
    tg = by_account["Bot"][0]
    assert tg["customer"] == "<I>Eve</I>" and HOSTILE_TEXT in tg["preview"]
    shown = cli.json("show", str(tg["id"]))
    assert shown["messages"][0]["text"] == HOSTILE_TEXT
    plain = cli.ok("show", str(tg["id"]))
    assert HOSTILE_TEXT in plain and "<I>Eve</I>" in plain
    mail = cli.json("show", str(by_account["Mail"][0]["id"]))
    assert mail["subject"] == "<b>Order</b>" and HOSTILE_TEXT in mail["messages"][0]["text"]
    assert "<I>Eve</I>" in cli.ok("queue", "--all")

    secrets = {TELEGRAM_TOKEN, BLUESKY_PASSWORD, MASTODON_TOKEN, MAIL_PASSWORD, WRONG_TELEGRAM_TOKEN,
               WRONG_MAIL_PASSWORD, *bluesky.access, *bluesky.refresh, *bluesky.expired}
    assert len(secrets) >= 8  # the Bluesky session tokens are in there too
    files = [p for p in cli.home.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert "socialdesk.sqlite3" in names and "socialdesk.log" in names
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{secret!r} found in {path}"
    for output in cli.outputs:
        for secret in secrets:
            assert secret not in output
    assert cli.attempted_remote_connections() == []


@pytest.mark.parametrize("no_test", [False, True])
@pytest.mark.parametrize("kind,settings,what", [
    ("email", {"address": "shop@example.org", "imap_host": "192.0.2.1", "imap_tls": "none",
               "smtp_host": "127.0.0.1", "smtp_tls": "none"}, "IMAP"),
    ("email", {"address": "shop@example.org", "imap_host": "127.0.0.1", "imap_tls": "none",
               "smtp_host": "192.0.2.1", "smtp_tls": "none"}, "SMTP"),
    ("telegram", {"api_base": "http://192.0.2.1"}, "Telegram"),
    ("mastodon", {"instance": "http://192.0.2.1:8080"}, "Mastodon"),
    ("bluesky", {"pds": "http://192.0.2.1", "handle": "shop.bsky.social"}, "Bluesky"),
])
def test_plaintext_to_a_remote_host_is_refused_before_connecting(cli, kind, settings, what, no_test):
    args = ["account", "add", kind, "Remote", "--secret-stdin", *[f"--set={k}={v}" for k, v in settings.items()]]
    result = cli(*args, *(["--no-test"] if no_test else []), stdin="some-secret-value\n")
    assert result.returncode == 1
    assert "Refusing an unencrypted" in result.stderr and "192.0.2.1" in result.stderr and what in result.stderr
    assert cli.json("account", "list") == []
    assert cli.attempted_remote_connections() == []
    keyring_file = cli.home.parent / "keyring.json"  # the refused account's secret was not kept either
    assert not keyring_file.exists() or "some-secret-value" not in keyring_file.read_text()
