"""Crash safety: `socialdesk sync` killed with SIGKILL 20 times while syncing and sending loses nothing.

A slow fake Telegram (tests/crashsync.py) serves 2,000 seeded updates 100 per page, more arrive between
runs, and replies are queued while the daemon is down. The daemon is killed at seeded random moments
(0.1–0.8 s after it says it is running) and, in a few rounds, exactly while a message is on the wire.
After every kill the database must hold each update once and a cursor that covers exactly what is
stored; an outbox row caught "sending" must become "unknown" on restart and never be sent again; at
the end every update is stored once and nothing (replies or automatic replies) reached the platform
twice.

Decisions: real processes and SIGKILL (no in-process simulation: the point is what is on disk when
the process dies), the database read with plain sqlite3 like an outsider, time bounded by design
(each wait has a deadline; the whole test takes well under a minute on 2 cores).
"""

from __future__ import annotations

import json
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

from tests.fakes.telegram import TOKEN
from tests.keyring_backends import subprocess_env

SEEDED = 2000
FIRST_UPDATE_ID = 1000  # TelegramFake numbers updates from 1000
KILLS = 20
ADDED_PER_ROUND = 25
REPLY_ROUNDS = {1, 3, 5, 8, 11, 14, 17}
KILL_WHILE_SENDING = {3, 11, 17}  # rounds killed the moment a message reaches the platform


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def _read_line(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    """The first stdout line containing `marker`, within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            break
        if marker in line:
            return line.strip()
    proc.kill()
    raise AssertionError(f"no {marker!r} from {proc.args}: {proc.stderr.read() if proc.stderr else ''}")


class Fake:
    def __init__(self, env: dict[str, str]):
        self.proc = _spawn([sys.executable, "-m", "tests.crashsync", "--seed", str(SEEDED), "--page-delay",
                            "0.15", "--send-delay", "0.8", "--lifetime", "170"], env)
        self.url = _read_line(self.proc, "READY", 20).split()[1]

    def control(self, action: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{self.url}/__fake__/{action}", data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def sent(self) -> list[dict]:
        return self.control("state")["sent"]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


class Profile:
    def __init__(self, tmp: Path):
        self.home = tmp / "home"
        self.env = subprocess_env(tmp / "keyring.json")
        self.env["SOCIALDESK_HOME"] = str(self.home)
        self.env.pop("QT_QPA_PLATFORM", None)
        self.env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
        self.db = self.home / "profiles" / "default" / "socialdesk.sqlite3"

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "socialdesk", *args], input=stdin, capture_output=True,
                                text=True, env=self.env, timeout=60)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def query(self, sql: str, *params) -> list[tuple]:
        con = sqlite3.connect(self.db, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def query_together(self, *sqls: str) -> list[list[tuple]]:
        """Several queries on one snapshot: a running daemon may commit a page between two queries."""
        con = sqlite3.connect(self.db, timeout=10)
        try:
            con.execute("BEGIN")
            return [con.execute(sql).fetchall() for sql in sqls]
        finally:
            con.close()


def _check_consistent(profile: Profile) -> int:
    """Every stored update once; the cursor is exactly one past the newest stored update. Returns count."""
    doubled, counts, cursors = profile.query_together(
        "SELECT external_id, COUNT(*) FROM message WHERE direction = 'in' GROUP BY external_id HAVING COUNT(*) > 1",
        "SELECT COUNT(*), COUNT(DISTINCT json_extract(meta, '$.update_id')), MAX(json_extract(meta, '$.update_id'))"
        " FROM message WHERE direction = 'in'",
        "SELECT cursor FROM account")
    assert doubled == []
    stored, distinct, newest = counts[0]
    assert stored == distinct
    (cursor,) = cursors[0]
    if stored == 0:
        assert cursor is None or not json.loads(cursor).get("offset")
        return 0
    offset = json.loads(cursor)["offset"]
    # Updates are numbered without gaps and every one is a private message: a consistent cursor is
    # one past the newest stored update, and everything below it is stored.
    assert offset == newest + 1
    assert stored == offset - FIRST_UPDATE_ID
    return stored


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_sigkill_during_sync_and_sending_loses_and_doubles_nothing(tmp_path):
    rng = random.Random(20261122)
    profile = Profile(tmp_path)
    fake = Fake(profile.env)
    daemon: subprocess.Popen | None = None
    try:
        # poll_seconds=1: a restarted daemon honours the next_sync_at its predecessor stored (60 s by
        # default for Telegram), which would leave most rounds idle.
        profile.cli("account", "add", "telegram", "shop", "--set", f"api_base={fake.url}", "--set",
                    "poll_seconds=1", "--secret-stdin", "--no-test", stdin=TOKEN + "\n")
        expected = SEEDED
        partial_counts: set[int] = set()
        queued: list[str] = []
        interrupted: set[int] = set()  # outbox ids a kill left "sending"
        for round_no in range(KILLS):
            if round_no:
                for i in range(ADDED_PER_ROUND):
                    fake.control("add", {"text": f"round {round_no} message {i}"})
                expected += ADDED_PER_ROUND
            conversations = profile.query("SELECT id FROM conversation") if round_no else []
            reply_now = round_no in REPLY_ROUNDS and bool(conversations)
            if reply_now:
                # The daemon is down and this process sends at once: make Telegram say "retry now" to
                # everything it sends (an auto-reply may be due too), so the daemon we kill next sends.
                due = profile.query("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")[0][0] + 1
                fake.control("inject", {"status": 429, "path": "sendMessage", "times": due, "body": {
                    "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 0",
                    "parameters": {"retry_after": 0}}})
                text = f"Thanks! Answer number {round_no}."
                out = profile.cli("reply", str(conversations[0][0]), "--text", text).stdout
                assert "Queued" in out, (out, profile.query("SELECT id, purpose, state FROM outbox"))
                queued.append(text)
            sent_before = len(fake.sent())
            daemon = _spawn([sys.executable, "-m", "socialdesk", "sync"], profile.env)
            _read_line(daemon, "sync running", 30)
            if interrupted:  # the restart recovered the rows the previous kills left "sending"
                states = dict(profile.query("SELECT id, state FROM outbox"))
                assert all(states[i] == "unknown" for i in interrupted), states
            if round_no in KILL_WHILE_SENDING and reply_now:
                assert _wait_for(lambda before=sent_before: len(fake.sent()) > before, 10), "the queued reply was not sent"
            else:
                time.sleep(rng.uniform(0.1, 0.8))
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(10)
            daemon = None
            stored = _check_consistent(profile)
            if 0 < stored < expected:
                partial_counts.add(stored)
            sending = {i for (i,) in profile.query("SELECT id FROM outbox WHERE state = 'sending'")}
            if round_no in KILL_WHILE_SENDING and reply_now:
                assert sending, "the kill was meant to land while a message was on the wire"
            interrupted |= sending

        # Let the last run finish everything, then stop it politely.
        daemon = _spawn([sys.executable, "-m", "socialdesk", "sync"], profile.env)
        _read_line(daemon, "sync running", 30)
        assert _wait_for(lambda: _check_consistent(profile) == expected and not profile.query(
            "SELECT id FROM outbox WHERE state IN ('pending', 'sending')"), 30), (
            expected, _check_consistent(profile), profile.query("SELECT state, last_error FROM account"),
            profile.query("SELECT id, purpose, state, attempts, next_attempt_at, last_error FROM outbox"))
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(15) == 0
        daemon = None

        assert _check_consistent(profile) == expected
        (offset,) = profile.query("SELECT json_extract(cursor, '$.offset') FROM account")[0]
        assert offset == FIRST_UPDATE_ID + expected
        assert len(partial_counts) >= 5, f"kills should land mid-sync, got {sorted(partial_counts)}"

        sent_texts = Counter(s["text"] for s in fake.sent())
        assert all(n == 1 for n in sent_texts.values()), sent_texts
        rows = profile.query("SELECT id, purpose, text, state FROM outbox")
        assert sorted(text for _, purpose, text, _ in rows if purpose == "reply") == sorted(queued)
        assert interrupted, "no kill landed during a send"
        for outbox_id, purpose, text, state in rows:  # replies and automatic replies alike
            if outbox_id in interrupted:
                assert state == "unknown"  # never resent automatically: Telegram has no idempotency key
            else:
                assert state == "sent" and sent_texts[text] == 1, (outbox_id, purpose, text, state)
    finally:
        if daemon is not None:
            daemon.kill()
            daemon.wait(10)
        fake.stop()
