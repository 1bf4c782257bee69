"""End to end: an X account through the real CLI against the fake X API (tests/fakes/x.py) on 127.0.0.1:
`account add x` (browser sign-in on the registered callback port; the browser is this test) → `sync
--once` → `queue --json` → `reply`, the spend in `account list --json`, a not-summoned refusal that
leaves the conversation open, and the monthly budget stopping the polling."""

from __future__ import annotations

import json
import socket
from decimal import Decimal

import pytest
import requests

from tests.e2e.test_cli_sign_in import Cli
from tests.fakes.x import CLIENT_ID, XFake


@pytest.fixture
def fake():
    server = XFake(lifetime=120)
    with server.running():
        yield server


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def next_line_starting(running, prefix: str) -> str:
    """The first line the CLI prints that starts with `prefix` (the sign-in address)."""
    while True:
        line = running.lines.get(timeout=30).strip()
        running.seen.append(line)
        if line.startswith(prefix):
            return line


def add_account(cli: Cli, fake: XFake, *sets: str) -> tuple[int, str, str]:
    port = free_port()
    fake.register_callback(f"http://127.0.0.1:{port}/callback")
    running = cli.start("account", "add", "x", "Shop X", "--no-browser", "--set", f"client_id={CLIENT_ID}",
                        "--set", f"api_base={fake.url}", "--set", f"authorize_url={fake.url}/i/oauth2/authorize",
                        "--set", f"callback_port={port}", *sets)
    address = next_line_starting(running, fake.url + "/i/oauth2/authorize?")
    assert any(f"http://127.0.0.1:{port}/callback" in line for line in running.seen)  # the address to register
    page = requests.get(address, timeout=10)  # the browser: X sends it back to the CLI's listener
    assert page.status_code == 200 and "You can close this tab" in page.text
    return running.finish()


def test_add_sync_queue_reply_and_see_the_spend(cli, fake):
    returncode, out, err = add_account(cli, fake)
    assert returncode == 0, (out, err)
    assert "Connected as Juniper & Rye (@juniperandrye)" in out and "Added X (Twitter) account 'Shop X'." in out
    fake.add("do you have gluten-free bread today?", author="ava_chen")
    fake.add_dm("Hi! Can I pre-order 12 buns for Saturday?", author="lea")
    sync = cli.run("sync", "--once")
    assert sync.returncode == 0 and "2 new message(s)" in sync.stdout, (sync.stdout, sync.stderr)
    queue = json.loads(cli.run("queue", "--json").stdout)
    assert sorted(item["kind"] for item in queue) == ["dm", "mention"]
    mention = next(item for item in queue if item["kind"] == "mention")
    dm = next(item for item in queue if item["kind"] == "dm")
    sent = cli.run("reply", str(mention["id"]), "--text", "Yes, the seeded loaf!")
    assert sent.returncode == 0 and "Sent" in sent.stdout, (sent.stdout, sent.stderr)
    assert fake.posted[-1]["reply"] == {"in_reply_to_tweet_id": fake.tweets[0]["id"]}
    sent = cli.run("reply", str(dm["id"]), "--text", "Of course, see you Saturday!")
    assert sent.returncode == 0 and "Sent" in sent.stdout, (sent.stdout, sent.stderr)
    assert fake.dms_sent[-1]["text"] == "Of course, see you Saturday!"
    assert [i["id"] for i in json.loads(cli.run("queue", "--json").stdout)] == []

    accounts = json.loads(cli.run("account", "list", "--json").stdout)
    spend = accounts[0]["usage"]
    assert spend["currency"] == "USD" and spend["budget"] == "10" and spend["budget_period"] == "month"
    # users/me at sign-in and on check are not in the account's meter; after: 1 mention ($0.001), 1 DM event
    # ($0.010), 2 user objects ($0.020), a reply ($0.010) and each DM sent ($0.015: ours, and the off-hours
    # auto-reply when the default hours say closed now).
    expected = Decimal("0.041") + Decimal("0.015") * len(fake.dms_sent)
    assert Decimal(spend["today"]) == Decimal(spend["month"]) == expected
    assert f"${expected:.2f} today" in cli.run("account", "list").stdout


def test_a_reply_x_refuses_stays_open_with_x_reason(cli, fake):
    returncode, out, err = add_account(cli, fake)
    assert returncode == 0, (out, err)
    fake.add("love this place", author="ava_chen")
    assert cli.run("sync", "--once").returncode == 0
    [item] = json.loads(cli.run("queue", "--json").stdout)
    fake.inject(403, {"title": "Forbidden", "type": "about:blank", "status": 403,
                      "detail": "Reply to this conversation is not allowed because you have not been mentioned or "
                                "otherwise engaged by the author of the post you are replying to."}, path="/2/tweets")
    refused = cli.run("reply", str(item["id"]), "--text", "Thank you!")
    assert "not been mentioned" in refused.stdout + refused.stderr
    assert [i["id"] for i in json.loads(cli.run("queue", "--json").stdout)] == [item["id"]]


def test_the_budget_stops_polling_with_a_notice(cli, fake):
    returncode, out, err = add_account(cli, fake, "--set", "usage_budget=0.01")
    assert returncode == 0, (out, err)
    fake.add_dm("first", author="lea")  # $0.010 for the event + $0.010 for the user: over $0.01
    assert cli.run("sync", "--once").returncode == 0
    fake.add_dm("second", author="lea")
    before = len(fake.requests)
    cli.run("sync", "--once")
    assert len(fake.requests) == before  # no call at all
    [account] = json.loads(cli.run("account", "list", "--json").stdout)
    assert account["state"] == "rate_limited" and "budget of $0.01 is used" in account["last_error"]
    assert account["usage"]["used_fraction"] >= 1

    # The owner raises the budget: polling resumes at once, and the waiting message arrives.
    raised = cli.run("account", "set", "Shop X", "usage_budget=5")
    assert raised.returncode == 0, raised.stderr
    sync = cli.run("sync", "--once")
    assert "1 new message(s)" in sync.stdout, (sync.stdout, sync.stderr)
    [account] = json.loads(cli.run("account", "list", "--json").stdout)
    assert account["state"] == "ok" and account["usage"]["budget"] == "5"
    refused = cli.run("account", "set", "Shop X", "usage_budget=lots")
    assert refused.returncode == 2 and "usage_budget is an amount" in refused.stderr
