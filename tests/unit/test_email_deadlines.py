"""Overall deadlines for email: a server that trickles one byte per second cannot hold an IMAP fetch or
check or an SMTP send (issue 12 item 8), and a slow fetch hands over what it has instead of starting over.

The trickle server (tests/trickle.py) keeps every connection moving, so no per-read socket timeout
fires; only the overall deadline can end the operation. Deadlines are injected small (1.5 s); the only
wall-clock assertion is a generous bound far below the trickle server's own lifetime.
"""

from __future__ import annotations

import itertools

import pytest

from socialdesk.connectors import email as email_module
from socialdesk.connectors.base import MemorySecrets, ReplyTarget
from socialdesk.connectors.deadline import DeadlineExceeded
from socialdesk.connectors.email import EmailConnector
from tests.mailserver import PASSWORD, USER, ImapServer, make_message
from tests.trickle import BOUND, IMAP_GREETING, LIFETIME, SMTP_GREETING, TrickleServer, timed

DEADLINE = 1.5


def _mail_connector(imap_port: int, smtp_port: int, **kwargs) -> EmailConnector:
    settings = {
        "address": USER, "imap_host": "127.0.0.1", "imap_port": str(imap_port), "imap_tls": "none",
        "smtp_host": "127.0.0.1", "smtp_port": str(smtp_port), "smtp_tls": "none",
    }
    settings.update(kwargs.pop("settings", {}))
    return EmailConnector(settings, MemorySecrets({"password": PASSWORD}), deadline_s=DEADLINE, **kwargs)


@pytest.mark.parametrize("whole_greeting", [False, True], ids=["greeting-trickled", "commands-trickled"])
def test_imap_fetch_and_check_against_a_trickling_server_end_at_the_deadline(whole_greeting):
    server = TrickleServer(IMAP_GREETING, whole_greeting=whole_greeting, lifetime=LIFETIME)
    with server.running():
        connector = _mail_connector(server.port, 1)
        for operation in (lambda: connector.fetch(None), connector.check):
            error, elapsed = timed(operation)
            assert isinstance(error, DeadlineExceeded), error
            assert "IMAP server" in str(error) and PASSWORD not in str(error)
            assert elapsed < BOUND
        assert server.closed_by_client.wait(5)


@pytest.mark.parametrize("whole_greeting", [False, True], ids=["greeting-trickled", "commands-trickled"])
def test_smtp_send_against_a_trickling_server_ends_at_the_deadline(whole_greeting):
    server = TrickleServer(SMTP_GREETING, whole_greeting=whole_greeting, lifetime=LIFETIME)
    with server.running():
        connector = _mail_connector(1, server.port)
        target = ReplyTarget(
            conversation_external_id="<q1@customer.example>", kind="email", public=False, subject="Question",
            parent_external_id="<q1@customer.example>",
            parent_meta={"from": "customer@customer.example", "message_id": "<q1@customer.example>"},
            recipient_external_id="customer@customer.example",
        )
        error, elapsed = timed(lambda: connector.reply(target, "Yes we do!", idempotency_key="k1"))
        assert isinstance(error, DeadlineExceeded), error
        assert "SMTP server" in str(error)
        assert elapsed < BOUND
        assert server.closed_by_client.wait(5)


_boxes = itertools.count(1)


@pytest.fixture(scope="module")
def imap():
    server = ImapServer().start()
    yield server
    server.stop()


def test_a_fetch_past_half_its_deadline_returns_what_it_has_and_the_next_one_goes_on(imap, monkeypatch):
    """On a slow link a fetch stops starting new FETCH groups and hands over what it read, so every
    fetch makes progress instead of starting over after the deadline."""
    mailbox = f"Slow{next(_boxes)}"
    imap.create(mailbox)
    monkeypatch.setattr(email_module, "FETCH_CHUNK", 2)  # messages per FETCH group
    ids = [f"<slow{i}@customer.example>" for i in range(3)]
    for message_id in ids:
        imap.append(make_message(message_id=message_id), mailbox)
    connector = EmailConnector(
        {"address": USER, "imap_host": "127.0.0.1", "imap_port": str(imap.port), "imap_tls": "none",
         "smtp_tls": "none", "mailbox": mailbox},
        MemorySecrets({"password": PASSWORD}),
    )
    monkeypatch.setattr(EmailConnector, "_over_budget", lambda self: True)  # as if half the time is gone
    first, cursor = connector.fetch(None)
    assert [i.external_id for i in first] == ids[:2]  # the first group always runs
    second, cursor = connector.fetch(cursor)
    assert [i.external_id for i in second] == ids[2:]
    assert connector.fetch(cursor)[0] == []
