"""End to end: `socialdesk coverage show --json` and `socialdesk coverage push` against a real ManageSieve
server (pymap, tests/sieveserver.py), and `account remove` restoring the owner's own filter.

The CLI runs as a subprocess with its own SOCIALDESK_HOME and the file-backed test keyring; the server
runs on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from socialdesk.connectors import sieve
from tests.keyring_backends import subprocess_env
from tests.sieveserver import SieveServer

OWNER_SCRIPT = 'require ["fileinto"];\r\nif header :contains "subject" "invoice" {\r\n  fileinto "Invoices";\r\n}\r\n'


@pytest.fixture
def server():
    srv = SieveServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def cli(tmp_path):
    env = subprocess_env(tmp_path / "keyring.json")
    env["SOCIALDESK_HOME"] = str(tmp_path / "home")
    env.pop("QT_QPA_PLATFORM", None)

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "socialdesk", *args], input=stdin, capture_output=True,
                              text=True, env=env, timeout=60)

    return run


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout


def test_coverage_show_and_push_against_a_managesieve_server(server, cli):
    server.put("mine", OWNER_SCRIPT, active=True)
    args = ["account", "add", "email", "shop", "--secret-stdin", "--no-test"]
    for key, value in server.account_settings().items():
        args += ["--set", f"{key}={value}"]
    ok(cli(*args, stdin=server.password + "\n"))
    ok(cli("account", "add", "demo", "chat", "--set", "channel=telegram", "--no-test"))
    ok(cli("hours", "set", "--timezone", "Europe/Berlin", "--week", "mon-fri 09:00-17:00",
           "--business-name", "Corner Shop"))
    ok(cli("away", "on", "--until", "3d"))  # closed now, whatever the time of the test

    before = json.loads(ok(cli("coverage", "show", "--json")))
    shop = [a for a in before["accounts"] if a["name"] == "shop"][0]
    assert shop["platform"] == "Email"
    assert shop["promises"] == [{"what": "auto_reply", "kept_by": "app", "until": None,
                                 "text": "off-hours replies by your mail server not set up yet",
                                 "note": "socialdesk sets them up when it next syncs, or run `socialdesk coverage push`"}]
    assert server.scripts()[0] == "mine"  # showing changes nothing

    pushed = ok(cli("coverage", "push"))
    assert pushed.startswith("shop: off-hours replies by your mail server until ")
    assert "your own filter 'mine' still runs after it" in pushed
    active, scripts = server.scripts()
    assert active == sieve.SCRIPT_NAME and scripts["mine"] == OWNER_SCRIPT.replace("\r\n", "\n").rstrip("\n")
    ours = scripts[sieve.SCRIPT_NAME]
    assert sieve.included_script(ours) == "mine"
    assert "Corner Shop is closed — back at " in ours and ":handle \"socialdesk-" in ours

    after = json.loads(ok(cli("coverage", "show", "--json")))
    shop = [a for a in after["accounts"] if a["name"] == "shop"][0]
    promise = shop["promises"][0]
    assert promise["kept_by"] == "server" and promise["until"].endswith("Z")
    assert promise["text"].startswith("off-hours replies by your mail server until ")
    assert after["lines"][0].startswith("Email (shop): off-hours replies by your mail server until ")
    assert after["lines"][1] == ("Telegram: no automatic reply while socialdesk is closed — keep it running, "
                                 "or run `socialdesk sync` on an always-on machine")
    assert ok(cli("coverage", "show")).splitlines() == after["lines"]

    # Turned off: the next push (or sync, or the window's next tick) restores the owner's filter.
    ok(cli("account", "set", "shop", "sieve=off"))
    assert "your filter 'mine' is active again" in ok(cli("coverage", "push"))
    assert server.scripts()[0] == "mine" and sieve.SCRIPT_NAME not in server.scripts()[1]
    assert "Email, Telegram: no automatic reply" in ok(cli("coverage", "show"))

    ok(cli("account", "set", "shop", "sieve=auto"))
    ok(cli("coverage", "push"))
    assert server.scripts()[0] == sieve.SCRIPT_NAME
    ok(cli("account", "remove", "shop"))
    assert server.scripts()[0] == "mine" and sieve.SCRIPT_NAME not in server.scripts()[1]


def test_coverage_push_says_why_a_server_cannot_keep_replies(cli):
    from tests.mailserver import free_port

    args = ["account", "add", "email", "shop", "--secret-stdin", "--no-test", "--set", "address=shop@example.com",
            "--set", "imap_host=127.0.0.1", "--set", "imap_tls=none", "--set", "smtp_tls=none",
            "--set", "sieve_tls=none", "--set", f"sieve_port={free_port()}"]
    ok(cli(*args, stdin="pw\n"))
    result = cli("coverage", "push")
    assert result.returncode == 1
    assert "shop: The mail server offers no ManageSieve service at 127.0.0.1:" in result.stdout
    shown = ok(cli("coverage", "show"))
    assert "Email (shop): no off-hours replies by your mail server (The mail server offers no ManageSieve" in shown
