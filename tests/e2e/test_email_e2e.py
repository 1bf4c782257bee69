"""End to end: the real `socialdesk` command line against real IMAP (pymap) and SMTP (aiosmtpd) servers.

The CLI runs as a subprocess with its own SOCIALDESK_HOME and the file-backed test keyring
(tests/keyring_backends.py, selected with PYTHON_KEYRING_BACKEND); the
servers run in this process on 127.0.0.1.
"""

from __future__ import annotations

import email
import email.policy
import json
import queue as queue_mod
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.keyring_backends import subprocess_env
from tests.mailserver import PASSWORD, USER, ImapServer, SmtpServer, make_message

MAILBOX = "Support"  # not INBOX: pymap cannot delete INBOX, and the UIDVALIDITY test recreates it


@pytest.fixture
def servers():
    imap = ImapServer().start()
    smtp = SmtpServer().start()
    try:
        imap.create(MAILBOX)
        imap.create("Sent")
        yield imap, smtp
    finally:
        imap.stop()
        smtp.stop()


@pytest.fixture
def cli(tmp_path):
    env = subprocess_env(tmp_path / "keyring.json")
    env["SOCIALDESK_HOME"] = str(tmp_path / "home")
    env.pop("QT_QPA_PLATFORM", None)

    def run(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "socialdesk", *args], input=stdin, capture_output=True,
                              text=True, env=env, timeout=timeout)

    run.env = env
    return run


def add_args(imap: ImapServer, smtp: SmtpServer, name: str) -> list[str]:
    settings = {
        "address": USER, "display_name": "Corner Shop", "imap_host": "127.0.0.1", "imap_port": imap.port,
        "imap_tls": "none", "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_tls": "none",
        "mailbox": MAILBOX, "sent_mailbox": "Sent",
    }
    args = ["account", "add", "email", name, "--secret-stdin"]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    return args


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout


def test_email_account_sync_reply_threading_and_recovery(servers, cli):
    imap, smtp = servers

    wrong = cli(*add_args(imap, smtp, "bad"), stdin="not-the-password\n")
    assert wrong.returncode == 1
    assert "rejected the username or password" in wrong.stderr and "not-the-password" not in wrong.stderr

    assert "Connected as Corner Shop" in ok(cli(*add_args(imap, smtp, "shop"), stdin=PASSWORD + "\n"))
    assert "OK" in ok(cli("account", "test", "shop"))

    imap.append(make_message(message_id="<q1@customer.example>", subject="Delivery to Vienna?"), MAILBOX)
    assert ok(cli("sync", "--once")).startswith("1 new message")
    conversations = json.loads(ok(cli("queue", "--json")))
    assert len(conversations) == 1
    conv = conversations[0]
    assert conv["subject"] == "Delivery to Vienna?" and conv["channel"] == "email" and conv["public"] is False
    assert all(b"\\Seen" not in flags for flags in imap.flags(MAILBOX).values())

    ok(cli("reply", str(conv["id"]), "--text", "Yes, we ship to Vienna."))
    manual = [m for m in smtp.messages if b"Auto-Submitted:" not in m.data]
    if not manual:  # the reply may be left for the next sync to send
        ok(cli("sync", "--once"))
    received = [email.message_from_bytes(m.data, policy=email.policy.default) for m in smtp.messages]
    # Outside business hours the first sync also sent an off-hours auto-reply (the default schedule
    # and today's time decide): it must be marked as automatic and threaded like any reply.
    auto = [m for m in received if m["Auto-Submitted"] is not None]
    manual = [m for m in received if m["Auto-Submitted"] is None]
    assert len(manual) == 1 and len(auto) <= 1
    for message in auto:
        assert message["Auto-Submitted"] == "auto-replied" and message["In-Reply-To"] == "<q1@customer.example>"
    sent = manual[0]
    assert sent["In-Reply-To"] == "<q1@customer.example>"
    assert sent["References"] == "<q1@customer.example>"
    assert sent["Subject"] == "Re: Delivery to Vienna?"
    assert sent["To"] == "customer@customer.example"
    assert sent.get_content().strip() == "Yes, we ship to Vienna."
    assert all(m.authenticated for m in smtp.messages)
    assert imap.status("Sent")[b"MESSAGES"] == len(received)

    # The customer answers our reply a minute later (INTERNALDATE has whole seconds only, so "now"
    # could sort before our reply): it joins the same conversation, with the quote collapsed.
    ours = sent["Message-ID"]
    imap.append(make_message(message_id="<q2@customer.example>", subject="Re: Delivery to Vienna?",
                             extra=f"In-Reply-To: {ours}\r\nReferences: <q1@customer.example> {ours}",
                             body="Great, ordering now.\n\nOn Mon, Corner Shop wrote:\n> Yes, we ship."),
                MAILBOX, msg_time=datetime.now(UTC) + timedelta(minutes=1))
    assert ok(cli("sync", "--once")).startswith("1 new message")
    assert ok(cli("sync", "--once")).startswith("0 new message")  # re-sync: no duplicates
    conversations = json.loads(ok(cli("queue", "--json")))
    assert [c["id"] for c in conversations] == [conv["id"]]
    assert conversations[0]["preview"] == "Great, ordering now." and conversations[0]["unanswered_count"] == 1

    # UIDVALIDITY reset: the same messages come back under new UIDs and are not duplicated.
    imap.recreate(MAILBOX)
    imap.append(make_message(message_id="<q1@customer.example>", subject="Delivery to Vienna?"), MAILBOX)
    imap.append(make_message(message_id="<q2@customer.example>", subject="Re: Delivery to Vienna?",
                             extra=f"In-Reply-To: {ours}\r\nReferences: <q1@customer.example> {ours}",
                             body="Great, ordering now."), MAILBOX)
    assert ok(cli("sync", "--once")).startswith("0 new message")

    # A stopped server: the account goes into backoff, and the next sync recovers.
    imap.stop()
    down = cli("sync", "--once")
    assert down.returncode == 1 and "shop: backoff" in down.stderr
    imap.start()  # same port; pymap's memory is fresh, so a new UIDVALIDITY as well
    imap.create(MAILBOX)
    imap.append(make_message(message_id="<q3@customer.example>", subject="Another question"), MAILBOX)
    assert ok(cli("sync", "--once")).startswith("1 new message")
    accounts = json.loads(ok(cli("account", "list", "--json")))
    assert accounts[0]["state"] == "ok" and accounts[0]["last_error"] == ""


def test_idle_delivers_to_running_sync_within_two_seconds(servers, cli):
    imap, smtp = servers
    ok(cli(*add_args(imap, smtp, "shop"), stdin=PASSWORD + "\n"))
    proc = subprocess.Popen([sys.executable, "-m", "socialdesk", "sync"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli.env)
    lines: queue_mod.Queue = queue_mod.Queue()

    def reader() -> None:
        for line in proc.stdout:
            lines.put((time.monotonic(), line))

    threading.Thread(target=reader, daemon=True).start()

    def wait_line(text: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line containing {text!r} within {timeout}s")
            try:
                at, line = lines.get(timeout=remaining)
            except queue_mod.Empty:
                continue
            if text in line:
                return at

    try:
        wait_line("sync running", 20)
        # The first message proves the account's stream is up (delivered by catch-up or IDLE).
        imap.append(make_message(message_id="<i1@customer.example>"), MAILBOX)
        wait_line("1 new message", 15)
        time.sleep(0.5)  # let the stream settle into IDLE after its catch-up pass
        appended = time.monotonic()
        imap.append(make_message(message_id="<i2@customer.example>", subject="Urgent"), MAILBOX)
        arrived = wait_line("1 new message", 5)
        assert arrived - appended < 2.0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    assert proc.returncode == 0, proc.stderr.read()
