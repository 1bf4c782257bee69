"""End to end: a YouTube channel through the real CLI against the fake YouTube Data API (tests/fakes/youtube.py,
held to Google's discovery document), mounted on the fake Google sign-in (tests/fakes/google.py), all on
127.0.0.1: `account add youtube` (the browser step is this test) → `sync --once` → `queue --json` →
`reply`, and the quota on `account list`."""

from __future__ import annotations

import json

import pytest
import requests

from tests.e2e.test_cli_sign_in import Cli
from tests.fakes.google import CLIENT_ID, CLIENT_SECRET_VALUE, GoogleFake
from tests.fakes.youtube import CHANNEL_ID, YouTubeFake


@pytest.fixture
def fake():
    server = YouTubeFake(lifetime=120, google=GoogleFake())
    with server.running():
        yield server
    assert server.violations == [], server.violations


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


def add_channel(cli: Cli, fake: YouTubeFake) -> tuple[int, str, str]:
    running = cli.start("account", "add", "youtube", "Shop YouTube", "--no-browser", "--secret-stdin",
                        "--set", f"client_id={CLIENT_ID}", "--set", f"api_base={fake.url}")
    running.process.stdin.write(CLIENT_SECRET_VALUE + "\n")  # the owner's OAuth client secret
    running.process.stdin.flush()
    address = ""
    while not address:  # the sign-in address the CLI prints, indented
        line = running.lines.get(timeout=30)
        running.seen.append(line)
        address = line.strip() if line.strip().startswith(fake.url + "/accounts.google.com/") else ""
    assert address.startswith(fake.url + "/accounts.google.com/o/oauth2/v2/auth?")
    assert "youtube.force-ssl" in address and "business.manage" not in address  # only what YouTube needs
    page = requests.get(address, timeout=10)  # the browser: Google sends it back to the CLI's listener
    assert page.status_code == 200 and "You can close this tab" in page.text
    return running.finish()


def test_add_sync_queue_reply_and_the_quota(cli, fake):
    fake.google.channels = [{"id": CHANNEL_ID, "snippet": {"title": "Juniper & Rye Bakes",
                                                           "customUrl": "@juniperandrye"}}]
    returncode, out, err = add_channel(cli, fake)
    assert returncode == 0, (out, err)
    assert "Added YouTube account 'Shop YouTube'." in out
    [account] = json.loads(cli.run("account", "list", "--json").stdout)
    assert account["kind"] == "youtube"
    assert "client_secret" not in json.dumps(account) and CLIENT_SECRET_VALUE not in json.dumps(account)

    thread = fake.add("Is the seeded rye vegan?", "Robin Baker")
    fake.add_reply(thread["id"], "Asking for my sister too", "Ava Chen")
    sync = cli.run("sync", "--once")
    assert sync.returncode == 0 and "2 new message(s)" in sync.stdout, (sync.stdout, sync.stderr)
    [item] = json.loads(cli.run("queue", "--json").stdout)
    assert item["kind"] == "comment"

    sent = cli.run("reply", str(item["id"]), "--text", "Yes: flour, water, salt and seeds only.")
    assert sent.returncode == 0 and "Sent" in sent.stdout, (sent.stdout, sent.stderr)
    assert fake.inserted == [{"snippet": {"parentId": thread["id"],
                                          "textOriginal": "Yes: flour, water, salt and seeds only."}}]
    assert json.loads(cli.run("queue", "--json").stdout) == []

    [account] = json.loads(cli.run("account", "list", "--json").stdout)
    quota = account["usage"]
    assert quota["currency"] == "units" and quota["budget"] == "10000" and quota["budget_period"] == "day"
    assert int(quota["today"]) >= 50  # the reply's 50 units and the list calls
    assert "quota today: " in cli.run("account", "list").stdout
