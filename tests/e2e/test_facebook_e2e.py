"""End to end, as a new user would from the command line: add a Facebook Page through the Meta sign-in
(the owner's app secret on standard input, then the login_success.html address the browser ended on,
picking the Page among the Page and its Instagram account), `sync --once`, `queue --json`, answer a
comment publicly, another privately, and a Messenger message; a second private reply is refused.

The CLI runs as a subprocess against the fake Graph API (tests/fakes/meta.py) on 127.0.0.1. The browser
is this test: it GETs the address the CLI prints and pastes the address the fake redirects to.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.e2e.meta_cli import Cli, sign_in
from tests.fakes.meta import APP_ID, APP_SECRET, PAGE_ID, MetaFake


@pytest.fixture
def fake():
    server = MetaFake(lifetime=120)
    with server.running():
        yield server


def test_sign_in_sync_queue_and_reply_publicly_privately_and_in_messenger(tmp_path, fake):
    cli = Cli(tmp_path)
    question = fake.add_comment("Do you have gluten free loaves on Saturday?", name="Ava")
    complaint = fake.add_comment("Sold out again by 10am!! Third time!", name="Ben")
    fake.add_message("Can I pre-order a birthday cake?", name="Cleo")

    added = sign_in(cli, "facebook", fake.url, APP_ID, APP_SECRET, "--pick", "1")
    assert added.returncode == 0, (added.stdout, added.stderr)
    assert "Added Facebook Page (and Instagram) account 'Shop'" in added.stdout
    assert "login_success.html" in added.stdout and "Advanced Access" in added.stdout  # the dialog's steps
    assert "no reviews tab" in added.stdout  # the honest note: Page ratings are gone
    assert APP_SECRET not in added.stdout + added.stderr

    cli.ok("sync", "--once")
    queue = json.loads(cli.ok("queue", "--json"))
    by_preview = {row["preview"]: row for row in queue}
    assert {row["channel"] for row in queue} == {"facebook"}
    assert {row["kind"] for row in queue} == {"comment", "dm"}
    dm = by_preview["Can I pre-order a birthday cake?"]
    assert dm["due_at"] is not None and not dm["public"]
    assert "Reply mode private" in cli.ok("show", str(by_preview[complaint["message"]]["id"]))

    before = len(fake.sent)  # the off-hours automatic answer to the DM may have gone out already
    cli.ok("reply", str(by_preview[question["message"]]["id"]), "--text", "Yes, every Saturday!")
    cli.ok("reply", str(by_preview[complaint["message"]]["id"]), "--text", "Sorry Ben! We'll message you.",
           "--mode", "private")
    cli.ok("reply", str(dm["id"]), "--text", "Of course, which day?")
    assert [(s["kind"], s["text"]) for s in fake.sent[before:]] == [
        ("comment", "Yes, every Saturday!"), ("private", "Sorry Ben! We'll message you."),
        ("dm", "Of course, which day?")]
    assert fake.sent[before]["parent"] == question["id"] and fake.sent[before + 1]["comment"] == complaint["id"]
    again = cli.run("reply", str(by_preview[complaint["message"]]["id"]), "--text", "Hello?", "--mode", "private")
    assert again.returncode == 1 and "once per message" in again.stderr
    wrong = cli.run("reply", str(dm["id"]), "--text", "Hello?", "--mode", "private")
    assert wrong.returncode == 1 and "offers no reply mode" in wrong.stderr
    assert any(r.arg("appsecret_proof") for r in fake.requests if r.path.endswith(f"{PAGE_ID}/feed"))

    cli.ok("sync", "--once")  # our own replies come back as sent, nothing is doubled
    assert json.loads(cli.ok("queue", "--json")) == []


def test_hours_publish_writes_the_week_to_the_page(tmp_path, fake):
    cli = Cli(tmp_path)
    closed = date.today() + timedelta(days=10)
    assert sign_in(cli, "facebook", fake.url, APP_ID, APP_SECRET, "--pick", "1").returncode == 0
    cli.ok("hours", "set", "--timezone", "UTC", "--week", "mon-fri 09:00-18:00; sat 10:00-14:00",
           "--closed", closed.isoformat())
    dry = cli.ok("hours", "publish", "--dry-run")
    # A Page lists no special dates: the closed day (inside the 90-day horizon) is not offered as a change.
    assert "Tuesday: closed → 09:00–18:00" in dry and f"{closed:%d %b %Y}" not in dry
    assert fake.hours == {"mon_1_open": "09:00", "mon_1_close": "17:00"}  # nothing written in a dry run
    cli.ok("hours", "publish", "--yes")
    assert fake.hours["sat_1_open"] == "10:00" and fake.hours["fri_1_close"] == "18:00" and "sun_1_open" not in fake.hours
    assert "already shows these hours" in cli.ok("hours", "publish", "--dry-run")
