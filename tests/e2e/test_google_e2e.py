"""End to end: `socialdesk account add google` signs in through the browser against the fake Google
(tests/fakes/google.py) on 127.0.0.1, then `sync --once`, `queue --json` (with the star rating), `reply`,
an edited review reopening the conversation, and `hours publish --dry-run` / `--yes`.

The browser is this test: it GETs the address the CLI prints; the fake consents and redirects to the
CLI's loopback listener. The client secret goes in on standard input."""

from __future__ import annotations

import json

import pytest
import requests

from tests.e2e.test_cli_sign_in import Cli
from tests.fakes.google import CLIENT_ID, CLIENT_SECRET_VALUE, GoogleFake


@pytest.fixture
def fake():
    server = GoogleFake(lifetime=180)
    with server.running():
        yield server


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


def add_google(cli: Cli, fake: GoogleFake, *extra: str) -> tuple[int, str, str]:
    running = cli.start("account", "add", "google", "Shop", "--set", f"client_id={CLIENT_ID}", "--set",
                        f"api_base={fake.url}", "--secret-stdin", "--no-browser", *extra)
    running.process.stdin.write(CLIENT_SECRET_VALUE + "\n")
    running.process.stdin.flush()
    address = ""
    while not address:
        line = running.lines.get(timeout=30)
        running.seen.append(line)
        if line.strip().startswith(f"{fake.url}/accounts.google.com/o/oauth2/v2/auth?"):
            address = line.strip()
    page = requests.get(address, timeout=10)
    assert page.status_code == 200 and "You can close this tab" in page.text
    return running.finish()


def test_sign_in_sync_queue_reply_edit_and_publish_hours(cli, fake):
    one_star = fake.add("Waited 40 minutes, nobody came.", 1, name="Sam Doe")
    fake.add("", 5, anonymous=True)
    fake.add("Lovely bread", 4, reply="Thank you!")

    returncode, out, err = add_google(cli, fake, "--pick", "all")
    assert returncode == 0, (out, err)
    assert "Added Google (Business Profile reviews, YouTube) account 'Shop – The Shop – Main Street (Google reviews)'." in out
    accounts = {a["name"]: a for a in json.loads(cli.run("account", "list", "--json").stdout)}
    location = accounts["Shop – The Shop – Main Street (Google reviews)"]
    assert location["kind"] == "google" and location["settings"]["location"] == "accounts/1001/locations/2002"
    channel = accounts["Shop – Shop How-tos (YouTube)"]
    assert channel["kind"] == "youtube" and channel["settings"]["channel_id"] == "UCshopchannel000000000001"
    secrets = cli.secrets()
    assert secrets["default/Shop – The Shop – Main Street (Google reviews)/client_secret"] == CLIENT_SECRET_VALUE
    assert CLIENT_SECRET_VALUE not in out + err
    cli.run("account", "remove", "Shop – Shop How-tos (YouTube)")  # the YouTube side is another test's

    sync = cli.run("sync", "--once")
    assert sync.returncode == 0, sync.stderr
    queue = json.loads(cli.run("queue", "--json").stdout)
    # The answered review is not awaiting; the one-star review ranks first.
    assert [(row["rating"], row["customer"], row["kind"], row["public"]) for row in queue] == [
        (1, "Sam Doe", "review", True), (5, "Anonymous Google user", "review", True)]

    reply = cli.run("reply", str(queue[0]["id"]), "--text", "We are sorry, Sam. Please ask for me next time.")
    assert reply.returncode == 0, reply.stderr
    assert fake.reviews[one_star["reviewId"]]["reviewReply"]["comment"].startswith("We are sorry, Sam.")
    assert [row["rating"] for row in json.loads(cli.run("queue", "--json").stdout)] == [5]

    # Our reply can be taken back; the thread keeps it, marked deleted on the platform.
    removed = cli.run("reply", str(queue[0]["id"]), "--delete")
    assert removed.returncode == 0 and "Removed your reply" in removed.stdout, removed.stderr
    assert "reviewReply" not in fake.reviews[one_star["reviewId"]]
    thread = json.loads(cli.run("show", str(queue[0]["id"]), "--json").stdout)
    ours = [m for m in thread["messages"] if m["direction"] == "out"]
    assert ours and all(m.get("deleted_at") for m in ours)
    demo_side = cli.run("reply", str(queue[1]["id"]), "--delete")  # the five-star one has no reply of ours
    assert demo_side.returncode == 0  # Google answers a DELETE of no reply with success: nothing to remove

    fake.edit(one_star["reviewId"], "Still nobody answers the phone.", rating=1)
    assert cli.run("sync", "--once").returncode == 0
    # The edit reopened it (a fresh clock from the edit).
    assert sorted(row["rating"] for row in json.loads(cli.run("queue", "--json").stdout)) == [1, 5]

    changed = cli.run("hours", "set", "--timezone", "UTC", "--week", "mon-fri 09:00-18:00; sat 10:00-14:00")
    assert changed.returncode == 0, changed.stderr
    dry = cli.run("hours", "publish", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Google (Shop – The Shop – Main Street (Google reviews)): what would change:" in dry.stdout
    assert "  Monday: 09:00–17:00 → 09:00–18:00" in dry.stdout and "  Saturday: closed → 10:00–14:00" in dry.stdout
    assert "Dry run: nothing was published." in dry.stdout and fake.patches == []
    refused = cli.run("hours", "publish")  # no terminal to ask on
    assert refused.returncode == 2 and "--yes" in refused.stderr
    done = cli.run("hours", "publish", "--yes")
    assert done.returncode == 0 and "published." in done.stdout, done.stderr
    assert fake.patches[-1]["mask"] == ["regularHours", "specialHours"]
    assert "already shows these hours" in cli.run("hours", "publish", "--dry-run").stdout


def test_before_approval_the_owner_reads_why_not_a_status_code(cli, fake):
    fake.approved = False
    returncode, out, err = add_google(cli, fake, "--set", "use=reviews")
    assert returncode == 1
    assert "has not approved this app's access" in err and "quota is 0" in err and "429" not in err
    assert cli.secrets() == {}
