"""End to end, as a new user would from the command line: add an Instagram account through the Meta
sign-in (the owner's app secret on standard input, then the login_success.html address the browser ended
on), `sync --once`, `queue --json`, answer a comment publicly, another privately, and a DM.

The CLI runs as a subprocess against the fake Graph API (tests/fakes/instagram.py) on 127.0.0.1; the
browser step is tests/e2e/meta_cli.py's.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.meta_cli import Cli, sign_in
from tests.fakes.instagram import APP_ID, APP_SECRET, IG_USER_ID, InstagramFake


@pytest.fixture
def fake():
    server = InstagramFake(lifetime=120)
    with server.running():
        yield server


def test_sign_in_sync_queue_and_reply_publicly_privately_and_by_dm(tmp_path, fake):
    cli = Cli(tmp_path)
    question = fake.add_comment("Do you have gluten free loaves on Saturday?", username="ava")
    complaint = fake.add_comment("Sold out again by 10am!!", username="ben")
    fake.add_dm("Can I pre-order a birthday cake?", username="cleo")

    added = sign_in(cli, "instagram", fake.url, APP_ID, APP_SECRET)
    assert added.returncode == 0, (added.stdout, added.stderr)
    assert "Added Instagram account 'Shop'" in added.stdout
    assert "webhooks" in added.stdout  # the honest note: @mentions elsewhere cannot be polled
    assert APP_SECRET not in added.stdout + added.stderr

    cli.ok("sync", "--once")
    queue = json.loads(cli.ok("queue", "--json"))
    by_preview = {row["preview"]: row for row in queue}
    assert {row["channel"] for row in queue} == {"instagram"}
    assert {row["kind"] for row in queue} == {"comment", "dm"}
    dm = by_preview["Can I pre-order a birthday cake?"]
    assert dm["due_at"] is not None and not dm["public"]

    before = len(fake.sent)  # the off-hours automatic answer to the DM may have gone out already
    cli.ok("reply", str(by_preview[question["text"]]["id"]), "--text", "Yes, every Saturday!")
    cli.ok("reply", str(by_preview[complaint["text"]]["id"]), "--text", "Sorry! We'll message you.",
           "--mode", "private")
    cli.ok("reply", str(dm["id"]), "--text", "Of course, which day?")
    assert [(s["kind"], s["text"]) for s in fake.sent[before:]] == [
        ("comment", "Yes, every Saturday!"), ("private", "Sorry! We'll message you."), ("dm", "Of course, which day?")]
    assert fake.sent[before]["parent"] == question["id"] and fake.sent[before + 1]["comment"] == complaint["id"]
    assert all(r.bearer() != APP_SECRET for r in fake.requests)
    assert any(r.arg("appsecret_proof") for r in fake.requests if r.path.endswith(f"{IG_USER_ID}/media"))

    cli.ok("sync", "--once")  # our own replies come back as sent, nothing is doubled
    assert json.loads(cli.ok("queue", "--json")) == []
