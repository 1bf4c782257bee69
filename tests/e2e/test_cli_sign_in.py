"""End to end: `socialdesk account add mastodon` signs in through the browser (connectors/oauth.py).

The real CLI runs as a subprocess against the fake Mastodon instance (tests/fakes/mastodon.py) on
127.0.0.1. The browser is this test: it reads the address the CLI prints and GETs it; the fake plays
the owner pressing "Authorize" and redirects to the CLI's loopback listener (or shows the code).
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.fakes.mastodon import MastodonFake
from tests.keyring_backends import subprocess_env

URL = re.compile(r"^\s+(http://127\.0\.0\.1:\d+/oauth/authorize\?\S+)$")


@pytest.fixture
def fake():
    server = MastodonFake(lifetime=120)
    with server.running():
        yield server


class Cli:
    def __init__(self, tmp: Path):
        self.keyring = tmp / "keyring.json"
        self.env = dict(subprocess_env(self.keyring), SOCIALDESK_HOME=str(tmp / "home"))
        self.env.pop("QT_QPA_PLATFORM", None)

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "socialdesk", *args], input=stdin, capture_output=True,
                              text=True, env=self.env, timeout=60)

    def start(self, *args: str) -> "Running":
        return Running(subprocess.Popen([sys.executable, "-m", "socialdesk", *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env))

    def secrets(self) -> dict[str, str]:
        if not self.keyring.exists():
            return {}
        return {key.split("\n", 1)[1]: value for key, value in json.loads(self.keyring.read_text()).items()}


class Running:
    """A CLI process whose output is read on a thread, so waiting for a line cannot hang the test."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def address(self) -> str:
        while True:
            line = self.lines.get(timeout=30)
            self.seen.append(line)
            if match := URL.match(line):
                return match.group(1)

    def finish(self, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            self.process.stdin.write(stdin)
            self.process.stdin.flush()
        returncode = self.process.wait(timeout=60)
        self.process.stdin.close()
        err = self.process.stderr.read()
        out = "\n".join(self.seen + [self.lines.get(timeout=5) for _ in range(self.lines.qsize())])
        return returncode, out, err


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


def test_add_mastodon_through_the_loopback_sign_in_then_remove_it(cli, fake):
    running = cli.start("account", "add", "mastodon", "Fedi", "--set", f"instance={fake.url}", "--no-browser")
    address = running.address()
    page = requests.get(address, timeout=10)  # the browser: the instance redirects to the CLI's listener
    assert page.status_code == 200 and "You can close this tab" in page.text
    returncode, out, err = running.finish()
    assert returncode == 0, (out, err)
    assert "Connected as The Shop (@shop@127.0.0.1)" in out and "Added Mastodon account 'Fedi'." in out
    secrets = cli.secrets()
    assert set(secrets) == {"default/Fedi/oauth_token", "default/Fedi/client_id", "default/Fedi/client_secret"}
    assert json.loads(secrets["default/Fedi/oauth_token"])["access_token"] in fake.tokens
    accounts = json.loads(cli.run("account", "list", "--json").stdout)
    assert [(a["name"], a["kind"], a["settings"]) for a in accounts] == [
        ("Fedi", "mastodon", {"instance": fake.url, "text_limit": 500})]
    # The account works: one mention arrives through the stored token.
    fake.add("is the shop open on Sunday?")
    sync = cli.run("sync", "--once")
    assert sync.returncode == 0 and "1 new message(s)" in sync.stdout, sync.stderr

    # Removal takes every secret the platform declares, also what older versions left behind.
    data = json.loads(cli.keyring.read_text())
    data["socialdesk\ndefault/Fedi/pkce_verifier"] = "left by an older version"
    cli.keyring.write_text(json.dumps(data))
    removed = cli.run("account", "remove", "Fedi")
    assert removed.returncode == 0, removed.stderr
    assert cli.secrets() == {}


def test_paste_mode_takes_the_code_the_instance_shows(cli, fake):
    running = cli.start("account", "add", "mastodon", "Fedi", "--set", f"instance={fake.url}", "--paste")
    page = requests.get(running.address(), timeout=10)  # oob: the instance shows the code
    code = re.search(r'value="([0-9a-f]+)"', page.text).group(1)
    returncode, out, err = running.finish(f"{code}\n")
    assert returncode == 0, (out, err)
    assert "Added Mastodon account 'Fedi'." in out and "default/Fedi/oauth_token" in cli.secrets()


def test_loopback_mode_takes_a_pasted_redirect_address(cli, fake):
    """Headless: the browser runs elsewhere and cannot reach this computer's 127.0.0.1."""
    running = cli.start("account", "add", "mastodon", "Fedi", "--set", f"instance={fake.url}", "--no-browser")
    redirect = requests.get(running.address(), allow_redirects=False, timeout=10).headers["Location"]
    returncode, out, err = running.finish(redirect + "\n")
    assert returncode == 0, (out, err)
    assert "Added Mastodon account 'Fedi'." in out


def test_declined_or_abandoned_sign_ins_store_nothing(cli, fake):
    fake.deny_next = True
    running = cli.start("account", "add", "mastodon", "Fedi", "--set", f"instance={fake.url}", "--no-browser")
    requests.get(running.address(), timeout=10)
    returncode, out, err = running.finish()
    assert returncode == 1 and "You did not allow socialdesk on Mastodon" in err and "Traceback" not in err

    abandoned = cli.run("account", "add", "mastodon", "Fedi", "--set", f"instance={fake.url}", "--paste", stdin="")
    assert abandoned.returncode == 1 and "Paste the code" in abandoned.stderr
    assert cli.secrets() == {}
    assert json.loads(cli.run("account", "list", "--json").stdout) == []
