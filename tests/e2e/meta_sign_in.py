"""The CLI side of an e2e test of the one Meta sign-in, shared by the Facebook and Instagram e2e tests:
`Cli` runs `python -m socialdesk` with a private keyring and home; `sign_in` runs `account add KIND` with the
owner's app secret on standard input, plays the browser (GETs the printed dialog address from the fake Graph
API, which redirects to login_success.html) and pastes the address it ended on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import requests

from tests.fakes.meta import APP_ID, APP_SECRET
from tests.keyring_backends import subprocess_env

URL = re.compile(r"^\s+(http://127\.0\.0\.1:\d+/v\d+\.\d+/dialog/oauth\?\S+)$", re.MULTILINE)


class Cli:
    def __init__(self, tmp: Path):
        self.env = dict(subprocess_env(tmp / "keyring.json"), SOCIALDESK_HOME=str(tmp / "home"))
        self.env.pop("QT_QPA_PLATFORM", None)

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "socialdesk", *args], input=stdin, capture_output=True,
                              text=True, env=self.env, timeout=60)

    def ok(self, *args: str, stdin: str = "") -> str:
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout


def sign_in(cli: Cli, graph_url: str, kind: str, name: str, *extra: str) -> subprocess.CompletedProcess:
    process = subprocess.Popen(
        [sys.executable, "-m", "socialdesk", "account", "add", kind, name, "--secret-stdin", "--no-browser",
         "--set", f"app_id={APP_ID}", "--set", f"graph_url={graph_url}", *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli.env)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(APP_SECRET + "\n")
    process.stdin.flush()
    printed = ""
    while (match := URL.search(printed)) is None:
        line = process.stdout.readline()
        assert line, process.communicate(timeout=30)
        printed += line
    # The owner allows the app; the browser ends on login_success.html?code=...&state=...
    landed = requests.get(match.group(1), allow_redirects=False, timeout=10).headers["Location"]
    out, err = process.communicate(landed + "\n", timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, printed + out, err)
