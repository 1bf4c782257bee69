"""End to end (issue 18 item 2): with status posts on for a Mastodon account, `socialdesk coverage push`
hands the next days' opening and closing posts to the (fake) instance, `coverage show` and `hours show`
say so, changed hours re-plan them (only ours), and `sync --once` posts nothing twice. The real CLI runs as
a subprocess against the fake on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.fakes.mastodon import MastodonFake
from tests.keyring_backends import subprocess_env


@pytest.fixture
def fake():
    server = MastodonFake(lifetime=120)
    with server.running():
        yield server


class Cli:
    def __init__(self, tmp: Path):
        self.env = dict(subprocess_env(tmp / "keyring.json"), SOCIALDESK_HOME=str(tmp / "home"))
        self.env.pop("QT_QPA_PLATFORM", None)

    def __call__(self, *args: str, stdin: str = "") -> str:
        out = subprocess.run([sys.executable, "-m", "socialdesk", *args], input=stdin, capture_output=True,
                             text=True, env=self.env, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout


def test_status_posts_are_scheduled_on_mastodon_and_replanned(tmp_path, fake):
    cli = Cli(tmp_path)
    cli("account", "add", "mastodon", "shop", "--set", f"instance={fake.url}", "--secret-stdin", stdin="good-token\n")
    cli("hours", "set", "--timezone", "Europe/Berlin", "--week", "mon-sun 09:00-17:00")
    cli("hours", "posts", "shop", "on")
    owner_own = {"id": "424242", "scheduled_at": "2099-01-01T12:00:00.000Z",
                 "params": {"text": "Our own post", "idempotency": None, "visibility": "public"}}
    fake.scheduled[owner_own["id"]] = owner_own
    assert "status posts on Mastodon:" in cli("coverage", "push")
    ours = [s for s in fake.scheduled.values() if s["id"] != "424242"]
    assert len(ours) >= 12  # opening and closing on each of the next 7 days (the first may be under 10 min away)
    assert all(s["params"]["idempotency"].startswith("status:") for s in ours)
    shown = cli("coverage", "show")
    assert "Mastodon (shop): opening and closing posts scheduled until" in shown, shown
    assert "[scheduled on Mastodon]" in cli("hours", "show")
    before = {s["id"] for s in ours}
    cli("hours", "set", "--week", "mon-sun 10:00-18:00")
    cli("coverage", "push")
    after = {s["id"] for s in fake.scheduled.values() if s["id"] != "424242"}
    assert after and not (after & before)  # every one of ours re-planned
    assert "424242" in fake.scheduled  # the owner's own scheduled post is never touched
    berlin = ZoneInfo("Europe/Berlin")
    assert {datetime.fromisoformat(s["scheduled_at"].replace("Z", "+00:00")).astimezone(berlin).strftime("%H:%M")
            for s in fake.scheduled.values() if s["id"] != "424242"} == {"10:00", "18:00"}
    cli("sync", "--once")
    assert fake.posted == []  # nothing is due now, and nothing the platform holds is posted by the app
