"""End to end: `socialdesk hours show|set|posts` and `socialdesk away on|off` as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from tests.keyring_backends import subprocess_env


@pytest.fixture
def cli(tmp_path):
    env = subprocess_env(tmp_path / "keyring.json")
    env["SOCIALDESK_HOME"] = str(tmp_path / "home")
    env.pop("QT_QPA_PLATFORM", None)
    # An existing profile: only `account add` and the window create one (issue 12 item 15).
    (tmp_path / "home" / "profiles" / "default").mkdir(parents=True)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "socialdesk", *args], capture_output=True, text=True,
                              env=env, timeout=60)

    return run


def show(cli) -> dict:
    result = cli("hours", "show", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_hours_set_show_away_and_errors(cli):
    result = cli("hours", "set", "--week", "mon-fri 09:00-17:00", "--timezone", "Europe/Berlin",
                 "--holidays", "DE-BY", "--closed", "2026-12-24", "--special", "2026-12-23=09:00-13:00",
                 "--business-name", "Corner Shop")
    assert result.returncode == 0, result.stderr
    data = show(cli)
    assert data["timezone"] == "Europe/Berlin"
    assert data["week"] == "mon-fri 09:00-17:00"
    assert data["week_windows"]["mon"] == [["09:00", "17:00"]] and "sat" not in data["week_windows"]
    assert data["holidays"] == "DE-BY"
    assert data["closed_dates"] == ["2026-12-24"]
    assert data["special_hours"] == {"2026-12-23": "09:00-13:00"}
    assert data["business_name"] == "Corner Shop"
    assert data["away"] == [] and data["automation_paused"] is False
    assert data["state"].startswith(("Open", "Closed"))
    assert set(data) >= {"open", "next_open", "next_close", "status_posts"}

    until = (datetime.now(timezone.utc) + timedelta(days=3)).replace(microsecond=0)
    result = cli("away", "on", "--until", until.isoformat(), "--message", "On holiday — back {next_open}.")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Away until")
    data = show(cli)
    assert data["state"].startswith("Away until")
    [away] = data["away"]
    assert away["active"] is True and away["end"] == until.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert away["message"] == "On holiday — back {next_open}."

    result = cli("away", "off")
    assert result.returncode == 0, result.stderr
    assert not result.stdout.startswith("Away")
    data = show(cli)
    assert not data["state"].startswith("Away")
    assert [a["active"] for a in data["away"]] in ([], [False])
    assert cli("away", "off").stdout.startswith("You were not away.")

    bad = cli("hours", "set", "--week", "mon-fri 9-17")
    assert bad.returncode == 2
    assert "is not a time like 09:00" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert show(cli)["week"] == "mon-fri 09:00-17:00"  # nothing was saved
    assert cli("hours", "set", "--timezone", "Mars/Base").returncode == 2
    assert cli("away", "on", "--message", "Hi {nope}").returncode == 2
    assert cli("hours", "set").returncode == 2


def test_status_post_preview(cli):
    assert cli("hours", "set", "--week", "mon-sun 09:00-17:00", "--timezone", "UTC").returncode == 0
    assert cli("account", "add", "demo", "Masto", "--set", "channel=mastodon", "--no-test").returncode == 0
    assert show(cli)["status_posts"] == []
    result = cli("hours", "posts", "Masto", "on")
    assert result.returncode == 0, result.stderr
    posts = show(cli)["status_posts"]
    assert 13 <= len(posts) <= 14  # an opening and a closing each day of the next 7 days
    assert {p["kind"] for p in posts} == {"opening", "closing"}
    assert {p["account"] for p in posts} == {"Masto"}
    assert "Good morning! We're online until 17:00." in {p["text"] for p in posts}
    text = cli("hours", "show").stdout
    assert "Automatic posts in the next 7 days:" in text and "Masto  opening" in text
