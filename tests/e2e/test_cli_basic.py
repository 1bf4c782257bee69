"""End to end: the real `socialdesk` command line on a demo account (subprocesses, own SOCIALDESK_HOME).

Covers the foundation's commands (account add/list, sync --once, queue, show, reply, done, snooze), the
exit codes (0 ok, 1 operational, 2 usage) and the refusals that must leave data untouched.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from socialdesk.connectors.demo import OPENING
from socialdesk.lock import ProfileLock
from tests.keyring_backends import subprocess_env

QUEUE_KEYS = {"id", "customer", "due_at", "state", "target_minutes", "awaiting_since", "unanswered_count"}


class Cli:
    def __init__(self, home: Path, keyring_file: Path):
        self.home = home
        self.env = subprocess_env(keyring_file)
        self.env["SOCIALDESK_HOME"] = str(home)
        self.env.pop("QT_QPA_PLATFORM", None)

    @property
    def database(self) -> Path:
        return self.home / "profiles" / "default" / "socialdesk.sqlite3"

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "socialdesk", *args], capture_output=True, text=True,
                              env=self.env, timeout=60)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result.stdout

    def json(self, *args: str):
        return json.loads(self.ok(*args, "--json"))


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "home", tmp_path / "keyring.json")


def _iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def test_version(cli):
    out = cli.ok("--version")
    assert out.startswith("socialdesk ")


def test_demo_account_sync_queue_reply_done_snooze(cli):
    out = cli.ok("account", "add", "demo", "Demo Bluesky", "--set", "channel=bluesky")
    assert "Added" in out and "Demo Bluesky" in out
    accounts = cli.json("account", "list")
    assert [(a["name"], a["kind"], a["settings"]["channel"]) for a in accounts] == [("Demo Bluesky", "demo", "bluesky")]
    assert accounts[0]["state"] == "new"

    out = cli.ok("sync", "--once")
    assert f"{len(OPENING['bluesky'])} new message(s)" in out
    assert cli.json("account", "list")[0]["state"] == "ok"

    items = cli.json("queue")
    assert len(items) == 2  # Léa's three DMs are one conversation, plus Sunny's public mention
    for item in items:
        assert QUEUE_KEYS <= set(item)
        assert item["status"] == "open" and item["awaiting_since"] is not None
        assert item["state"] in ("ok", "due_soon", "overdue") and item["due_at"] is not None
    lea = next(i for i in items if i["customer"] == "Léa Martin")
    sunny = next(i for i in items if i["customer"] != "Léa Martin")
    assert lea["unanswered_count"] == 3 and lea["target_minutes"] == 60
    urgent_first = sorted(items, key=lambda i: (_iso(i["due_at"]), -i["unanswered_count"]))
    assert [i["id"] for i in items] == [i["id"] for i in urgent_first]

    shown = cli.json("show", str(lea["id"]))
    inbound = [m for m in shown["messages"] if m["direction"] == "in"]
    assert [m["text"] for m in inbound][-1] == "Hello? Just checking you got this 🙂"
    assert len(inbound) == 3 and all(m["author"] == "Léa Martin" for m in inbound)

    out = cli.ok("reply", str(lea["id"]), "--text", "Thanks!")
    assert "Sent" in out
    awaiting = [i["id"] for i in cli.json("queue")]
    assert awaiting == [sunny["id"]]
    shown = cli.json("show", str(lea["id"]))
    mine = [m for m in shown["messages"] if m["direction"] == "out" and m["text"] == "Thanks!"]
    assert len(mine) == 1
    assert mine[0]["via"] == "manual" and mine[0]["state"] == ""  # "" = sent, no pending/failed marker
    assert shown["awaiting_since"] is None

    before = datetime.now(timezone.utc)
    out = cli.ok("snooze", str(sunny["id"]), "--until", "2h")
    assert "snoozed" in out
    assert cli.json("queue") == []
    snoozed = cli.json("queue", "--view", "snoozed")
    assert [i["id"] for i in snoozed] == [sunny["id"]]
    until = _iso(snoozed[0]["snoozed_until"])
    assert before + timedelta(hours=2) - timedelta(seconds=2) <= until <= datetime.now(timezone.utc) + timedelta(hours=2)

    assert "done" in cli.ok("done", str(lea["id"]))
    assert [i["id"] for i in cli.json("queue", "--view", "done")] == [lea["id"]]
    assert {i["id"] for i in cli.json("queue", "--all")} == {lea["id"], sunny["id"]}
    assert [i["id"] for i in cli.json("queue", "--all", "--search", "croissants")] == [sunny["id"]]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["frobnicate"], "invalid choice"),
        (["show", "abc"], "not a conversation id"),
        (["reply", "abc", "--text", "hi"], "not a conversation id"),
        (["account", "add", "demo", "X", "--set", "colour=red"], "Unknown setting"),
        (["account", "add", "myspace", "X"], "Unknown account kind"),
        # A learned value (core/account_service.py): it was stored, then ignored.
        (["account", "add", "demo", "X", "--set", "text_limit=1000"], "text_limit cannot be set"),
        (["account", "add", "demo", "X", "--set", "poll_seconds=0"], "poll_seconds is a number of seconds"),
        (["account", "add", "demo", "two\nlines"], "control characters"),
        (["account", "add", "telegram", "Bot"], "needs a bot token: pass it with --secret-stdin"),
        (["snooze", "1", "--until", "next tuesday-ish"], "Cannot read the time"),
        (["--profile", "../x", "queue"], "Invalid profile name"),
        (["reply", "1"], "required"),
        (["queue", "--view", "bogus"], "Unknown view"),
    ],
)
def test_usage_errors_exit_2(cli, args, needle):
    result = cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_conversation_exits_1(cli):
    cli.ok("account", "add", "demo", "Demo Bluesky", "--set", "channel=bluesky")  # the profile exists
    for args in (["show", "999"], ["reply", "999", "--text", "hi"], ["done", "999"]):
        result = cli(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert "No conversation 999" in result.stderr
        assert "Traceback" not in result.stderr


def test_corrupt_database_is_refused_and_left_untouched(cli):
    cli.database.parent.mkdir(parents=True)
    cli.database.write_bytes(os.urandom(16384))
    before = cli.database.read_bytes()
    for args in (["queue"], ["sync", "--once"]):
        result = cli(*args)
        assert result.returncode == 1, result.stderr
        assert "not a socialdesk database" in result.stderr and "untouched" in result.stderr
        assert "Traceback" not in result.stderr
    assert cli.database.read_bytes() == before


def test_newer_schema_is_refused_and_left_untouched(cli):
    cli.database.parent.mkdir(parents=True)
    conn = sqlite3.connect(cli.database)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = cli.database.read_bytes()
    result = cli("queue")
    assert result.returncode == 1
    assert "newer socialdesk" in result.stderr and "Traceback" not in result.stderr
    assert cli.database.read_bytes() == before


def test_second_writer_is_refused_while_the_lock_is_held(cli):
    cli.ok("account", "add", "demo", "Demo Bluesky", "--set", "channel=bluesky")
    lock_file = cli.home / "profiles" / "default" / "socialdesk.lock"
    with ProfileLock(lock_file):
        result = cli("sync", "--once")
        assert result.returncode == 1
        assert "already in use" in result.stderr and f"pid {os.getpid()}" in result.stderr
        assert "Traceback" not in result.stderr
        # Read-only commands still work while another process owns the profile.
        assert cli.json("queue") == []
    assert "new message(s)" in cli.ok("sync", "--once")
