"""The email connector against real server software: pymap (IMAP) and aiosmtpd (SMTP) on 127.0.0.1.

One pymap process serves the module (each test gets its own mailbox); tests that stop or restart the
server start their own.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from socialdesk.connectors import email as email_connector
from socialdesk.connectors.base import (
    AuthError,
    MemorySecrets,
    PermanentError,
    ReplyTarget,
    TransientError,
)
from socialdesk.connectors.email import SPEC, EmailConnector, validate_settings
from tests import mailserver
from tests.mailserver import PASSWORD, USER, ImapServer, SmtpServer, make_message

_names = itertools.count(1)
email_harness = mailserver.email_harness  # the contract-suite harness, tested here too


@pytest.fixture(scope="module")
def imap():
    server = ImapServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(imap):
    name = f"Box{next(_names)}"
    imap.create(name)
    return name


def settings_for(imap: ImapServer, smtp: SmtpServer | None, mailbox: str = "INBOX", **extra) -> dict:
    settings = {
        "address": USER, "display_name": "Corner Shop", "imap_host": "127.0.0.1", "imap_port": str(imap.port),
        "imap_tls": "none", "smtp_host": "127.0.0.1", "smtp_port": str(smtp.port if smtp else 1),
        "smtp_tls": "none", "mailbox": mailbox,
    }
    settings.update(extra)
    return settings


def connector(imap, smtp=None, mailbox="INBOX", password=PASSWORD, **extra) -> EmailConnector:
    return EmailConnector(settings_for(imap, smtp, mailbox, **extra), MemorySecrets({"password": password}))


def target_for(item, **kw) -> ReplyTarget:
    return ReplyTarget(conversation_external_id=item.conversation_external_id, kind="email", public=False,
                       subject=item.subject, parent_external_id=item.external_id, parent_meta=item.meta,
                       recipient_external_id=item.author.external_id, **kw)


def parsed(received) -> email.message.EmailMessage:
    return email.message_from_bytes(received.data, policy=email.policy.default)


# --- settings ------------------------------------------------------------------------------------

def test_settings_defaults_and_spec():
    s = validate_settings({"address": "Shop@Example.com", "imap_host": "imap.example.com"})
    assert (s.imap_port, s.imap_tls, s.smtp_host, s.smtp_port, s.smtp_tls) == (993, "ssl", "imap.example.com", 587, "starttls")
    assert s.username == "shop@example.com" and s.mailbox == "INBOX" and s.initial_days == 14
    assert validate_settings({"address": "a@b.co", "imap_host": "h", "imap_tls": "starttls",
                              "smtp_tls": "ssl"}).imap_port == 143
    assert validate_settings({"address": "a@b.co", "imap_host": "h", "smtp_tls": "ssl"}).smtp_port == 465
    assert validate_settings({"address": "a@b.co", "imap_host": "localhost", "imap_tls": "none",
                              "smtp_tls": "none"}).smtp_port == 25
    assert SPEC.kind == "email" and SPEC.capabilities == frozenset({"email", "stream"})
    assert SPEC.secret_label == "Password" and SPEC.traits.limit_for("email").limit is None
    assert {key for key, _, _ in SPEC.settings} >= {"imap_host", "imap_port", "imap_tls", "smtp_host", "smtp_port",
                                                     "smtp_tls", "username", "address", "display_name", "mailbox",
                                                     "sent_mailbox", "initial_days"}
    made = SPEC.factory({"address": "a@b.co", "imap_host": "h"}, MemorySecrets())
    assert isinstance(made, EmailConnector)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"address": "a@b.co", "imap_host": "mail.example.com", "imap_tls": "none"}, "Refusing an unencrypted IMAP"),
        ({"address": "a@b.co", "imap_host": "127.0.0.1", "imap_tls": "none", "smtp_host": "smtp.example.com",
          "smtp_tls": "none"}, "Refusing an unencrypted SMTP"),
        ({"address": "a@b.co", "imap_host": "h", "imap_tls": "tls1"}, "ssl, starttls or none"),
        ({"address": "not an address", "imap_host": "h"}, "not a valid email address"),
        ({"address": "a@b.co"}, "IMAP server is missing"),
        ({"address": "a@b.co", "imap_host": "h", "imap_port": "99999"}, "between 1 and 65535"),
        ({"address": "a@b.co", "imap_host": "h", "imap_port": "abc"}, "whole number"),
        ({"address": "a@b.co", "imap_host": "h/evil"}, "not a valid host name"),
    ],
)
def test_settings_errors_are_owner_readable(settings, message):
    with pytest.raises(PermanentError, match=message):
        validate_settings(settings)


# --- fetch ---------------------------------------------------------------------------------------

def test_fetch_ingests_never_marks_read_and_refetch_is_empty(imap, mailbox):
    imap.append(make_message(message_id="<a1@c.example>"), mailbox)
    imap.append(make_message(message_id="<a2@c.example>", subject="Second", body="Another question"), mailbox)
    conn = connector(imap, mailbox=mailbox)
    items, cursor = conn.fetch(None)
    assert [i.external_id for i in items] == ["<a1@c.example>", "<a2@c.example>"]
    first = items[0]
    assert first.kind == "email" and first.public is False and first.outbound is False
    assert first.author.external_id == "customer@customer.example" and first.author.display_name == "Customer"
    assert first.text == "Hello, do you ship to Austria?" and first.subject == "Question"
    assert first.created_at.tzinfo is not None and first.created_at.utcoffset() == timedelta(0)
    assert first.meta["automated"] is False
    assert set(cursor) == {"uidvalidity", "last_uid", "message_ids", "last_date"}
    assert cursor["message_ids"] == ["<a1@c.example>", "<a2@c.example>"]
    assert all(b"\\Seen" not in flags for flags in imap.flags(mailbox).values())

    again, cursor2 = conn.fetch(cursor)
    assert again == [] and cursor2["last_uid"] == cursor["last_uid"]
    imap.append(make_message(message_id="<a3@c.example>"), mailbox)
    newer, cursor3 = conn.fetch(cursor2)
    assert [i.external_id for i in newer] == ["<a3@c.example>"] and cursor3["last_uid"] > cursor["last_uid"]


def test_first_sync_only_imports_recent_days(imap, mailbox):
    client = imap.client()
    try:
        client.append(mailbox, make_message(message_id="<old@c.example>"),
                      msg_time=datetime.now(UTC) - timedelta(days=40))
        client.append(mailbox, make_message(message_id="<new@c.example>"))
    finally:
        client.logout()
    items, _ = connector(imap, mailbox=mailbox, initial_days="14").fetch(None)
    assert [i.external_id for i in items] == ["<new@c.example>"]


def test_uidvalidity_change_resyncs_without_duplicates(imap, mailbox):
    conn = connector(imap, mailbox=mailbox)
    imap.append(make_message(message_id="<u1@c.example>"), mailbox)
    imap.append(make_message(message_id=None, body="no id at all"), mailbox)
    items, cursor = conn.fetch(None)
    assert len(items) == 2
    derived = items[1].external_id
    assert derived.startswith("<derived-") and derived.endswith("@socialdesk.invalid>")

    imap.recreate(mailbox)  # new UIDVALIDITY, UIDs restart
    imap.append(make_message(message_id="<u1@c.example>"), mailbox)
    imap.append(make_message(message_id=None, body="no id at all"), mailbox)
    imap.append(make_message(message_id="<u2@c.example>"), mailbox)
    items2, cursor2 = conn.fetch(cursor)
    assert cursor2["uidvalidity"] != cursor["uidvalidity"]
    assert [i.external_id for i in items2] == ["<u2@c.example>"]
    assert conn.fetch(cursor2)[0] == []


def test_threading_reply_joins_conversation_and_our_mail_is_outbound(imap, mailbox):
    imap.append(make_message(message_id="<t1@c.example>", subject="Order 55"), mailbox)
    imap.append(make_message(
        message_id="<t3@c.example>", subject="Re: Order 55",
        extra="In-Reply-To: <t2@example.com>\r\nReferences: <t1@c.example>\r\n <t2@example.com>",
        body="Great, thanks!\n\nOn Mon, 23 Nov 2026, Corner Shop <shop@example.com> wrote:\n> It ships today.\n"), mailbox)
    imap.append(make_message(message_id="<t2@example.com>", sender=f"Corner Shop <{USER}>",
                             to="customer@customer.example", subject="Re: Order 55",
                             extra="In-Reply-To: <t1@c.example>"), mailbox)
    first, reply, ours = connector(imap, mailbox=mailbox).fetch(None)[0]
    assert first.conversation_external_id == "<t1@c.example>"
    assert reply.conversation_external_id == "<t1@c.example>" and reply.in_reply_to == "<t2@example.com>"
    assert reply.meta["references"] == ["<t1@c.example>", "<t2@example.com>"]
    assert reply.text == "Great, thanks!"
    assert reply.meta["quoted_text"].startswith("On Mon") and "It ships today" in reply.meta["quoted_text"]
    assert ours.outbound is True and ours.meta["automated"] is True
    assert ours.conversation_external_id == "<t1@c.example>"


def test_bad_input_malformed_charset_huge_and_attachments(imap, mailbox):
    malformed = (b"From: =?bogus-charset?Q?Bad=FFName?= <bad@c.example>\r\nSubject: =?utf-8?B?!!?=\r\n"
                 b"Message-ID: <bad@c.example>\r\nContent-Type: multipart/mixed\r\n\r\nno boundary here\r\n")
    wrong_label = (b"From: x@c.example\r\nMessage-ID: <label@c.example>\r\n"
                   b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + "Grüße aus Wien".encode())
    huge = make_message(message_id="<huge@c.example>", body="") + b"A" * (10 * 1024 * 1024) + b"\r\n"
    with_attachment = (
        b"From: x@c.example\r\nMessage-ID: <att@c.example>\r\nContent-Type: multipart/mixed; boundary=Z\r\n\r\n"
        b"--Z\r\nContent-Type: text/html\r\n\r\n<p>See <b>file</b></p><script>steal()</script>\r\n"
        b"--Z\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=\"invoice.zip\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nUEsDBAo=\r\n--Z--\r\n"
    )
    for raw in (malformed, wrong_label, huge, with_attachment):
        imap.append(raw, mailbox)
    started = time.monotonic()
    items = {i.external_id: i for i in connector(imap, mailbox=mailbox).fetch(None)[0]}
    assert time.monotonic() - started < 10
    assert "no boundary here" in items["<bad@c.example>"].text
    assert "\n" not in items["<bad@c.example>"].author.display_name
    assert items["<label@c.example>"].text == "Grüße aus Wien"
    assert len(items["<huge@c.example>"].text) <= 100_100
    assert items["<att@c.example>"].text == "See file"
    assert items["<att@c.example>"].meta["attachments"] == [{"name": "invoice.zip", "size": 5, "type": "application/zip"}]


def test_too_large_messages_are_fetched_as_headers_only_in_bounded_groups(imap, mailbox, monkeypatch):
    monkeypatch.setattr(email_connector, "MAX_MESSAGE_BYTES", 5000)
    monkeypatch.setattr(email_connector, "FETCH_BYTES", 3000)
    imap.append(make_message(message_id="<big@c.example>", subject="Big", body="x" * 8000), mailbox)
    for n in range(3):
        imap.append(make_message(message_id=f"<mid{n}@c.example>", body="y" * 1500), mailbox)
    items = connector(imap, mailbox=mailbox).fetch(None)[0]
    assert [i.external_id for i in items] == ["<big@c.example>", "<mid0@c.example>", "<mid1@c.example>",
                                               "<mid2@c.example>"]
    big = items[0]
    assert big.meta["truncated"] is True and big.subject == "Big" and "too large" in big.text
    assert all(i.text == "y" * 1500 for i in items[1:])


def test_automated_mail_is_flagged(imap):
    conn = connector(imap)
    cases = {
        "Auto-Submitted: auto-replied": True,
        "Auto-Submitted: no": False,
        "Precedence: bulk": True,
        "List-Id: <news.example.com>": True,
        "List-Unsubscribe: <mailto:u@example.com>": True,
        "X-Auto-Response-Suppress: All": True,
        "Return-Path: <>": True,
    }
    for extra, expected in cases.items():
        assert conn.parse(make_message(extra=extra)).meta["automated"] is expected, extra
    for sender in ("MAILER-DAEMON@example.com", "noreply@x.example", "no-reply@x.example", "postmaster@x.example"):
        assert conn.parse(make_message(sender=sender)).meta["automated"] is True, sender
    own = conn.parse(make_message(sender=f"Shop <{USER.upper()}>"))
    assert own.outbound is True and own.meta["automated"] is True


def test_missing_message_id_is_stable(imap):
    conn = connector(imap)
    raw = make_message(message_id=None)
    assert conn.parse(raw).external_id == conn.parse(raw).external_id
    assert conn.parse(raw).external_id != conn.parse(raw + b"x").external_id
    other_account = connector(imap, mailbox="Other")
    assert other_account.parse(raw).external_id != conn.parse(raw).external_id


# --- reply ---------------------------------------------------------------------------------------

def test_reply_threads_and_is_saved_to_sent(imap, smtp, mailbox):
    imap.create(f"{mailbox}-Sent")
    imap.append(make_message(message_id="<r1@c.example>", subject="Re: Order 7",
                             extra="References: <r0@c.example>\r\nReply-To: Billing <billing@c.example>"), mailbox)
    conn = connector(imap, smtp, mailbox=mailbox, sent_mailbox=f"{mailbox}-Sent")
    item = conn.fetch(None)[0][0]
    result = conn.reply(target_for(item), "It ships today.\nRegards", idempotency_key="outbox-1")
    got = parsed(smtp.wait_for(1)[0])
    assert result.external_id == got["Message-ID"] and got["Message-ID"].endswith("@example.com>")
    assert got["In-Reply-To"] == "<r1@c.example>"
    assert got["References"] == "<r0@c.example> <r1@c.example>"
    assert got["Subject"] == "Re: Order 7"
    assert got["To"] == "billing@c.example"
    assert got["From"] == f"Corner Shop <{USER}>"
    assert got["Auto-Submitted"] is None
    assert got.get_content().replace("\r\n", "\n") == "It ships today.\nRegards\n"
    assert smtp.messages[0].authenticated is True
    assert smtp.messages[0].mail_from == USER and smtp.messages[0].rcpt_tos == ["billing@c.example"]
    assert imap.status(f"{mailbox}-Sent")[b"MESSAGES"] == 1
    # A retry of the same outbox row carries the same Message-ID, so it is recognisable.
    assert conn.our_message_id("outbox-1") == result.external_id != conn.our_message_id("outbox-2")


def test_auto_reply_header_and_crlf_injection_never_reaches_smtp(imap, smtp):
    conn = EmailConnector(settings_for(imap, smtp, display_name="Shop\r\nBcc: evil@x.example"),
                          MemorySecrets({"password": PASSWORD}))
    parent = conn.parse(make_message(subject="Hi", sender="Bob <bob@c.example>"))
    injected = ReplyTarget(conversation_external_id="c", kind="email", public=False,
                           subject="Hello\r\nBcc: victim@x.example\nX-Evil: 1", parent_external_id=parent.external_id,
                           parent_meta={**parent.meta, "reply_to": ["evil@x.example\r\nBcc: v@x.example"]},
                           auto_reply=True)
    conn.reply(injected, "We are closed until Monday.", idempotency_key="auto-1")
    received = smtp.wait_for(1)[0]
    head = received.data.split(b"\r\n\r\n")[0].decode()
    assert "\nBcc" not in head and "\nX-Evil" not in head
    assert received.rcpt_tos == ["bob@c.example"]
    got = parsed(received)
    assert got["Subject"] == "Re: Hello Bcc: victim@x.example X-Evil: 1"
    assert got["Auto-Submitted"] == "auto-replied"


def test_reply_subject_not_doubled_and_needs_a_recipient(imap, smtp):
    conn = connector(imap, smtp)
    msg = conn.build_reply(ReplyTarget("c", "email", False, subject="RE: Price", parent_meta={"from": "a@c.example"}),
                           "ok", idempotency_key="k")
    assert msg["Subject"] == "RE: Price" and msg["In-Reply-To"] is None
    with pytest.raises(PermanentError, match="no valid sender"):
        conn.build_reply(ReplyTarget("c", "email", False, parent_meta={"from": "not valid"}), "x", idempotency_key="k")


def test_recipient_refused_is_permanent(imap, smtp):
    smtp.refuse_recipients.add("gone@c.example")
    with pytest.raises(PermanentError, match="refused the recipient gone@c.example"):
        connector(imap, smtp).reply(ReplyTarget("c", "email", False, parent_meta={"from": "gone@c.example"}), "x",
                                    idempotency_key="k")
    assert smtp.messages == []


# --- check and errors ----------------------------------------------------------------------------

def test_check_logs_in_to_both(imap, smtp, mailbox):
    info = connector(imap, smtp, mailbox=mailbox, sent_mailbox="Nope").check()
    assert info.display_name == f"Corner Shop <{USER}>" and info.handle == USER
    assert any("'Nope' does not exist" in note for note in info.notes)
    with pytest.raises(PermanentError, match="does not exist"):
        connector(imap, smtp, mailbox="Missing").check()


def test_wrong_password_is_auth_error_without_the_secret(imap, smtp):
    with pytest.raises(AuthError, match="rejected the username or password") as exc:
        connector(imap, smtp, password="wrong-pw-123").fetch(None)
    assert "wrong-pw-123" not in str(exc.value)
    smtp_only_wrong = SmtpServer(password="other").start()
    try:
        with pytest.raises(AuthError, match="rejected the username or password"):
            connector(imap, smtp_only_wrong).reply(
                ReplyTarget("c", "email", False, parent_meta={"from": "a@c.example"}), "x", idempotency_key="k")
    finally:
        smtp_only_wrong.stop()
    with pytest.raises(AuthError, match="No password"):
        EmailConnector(settings_for(imap, smtp), MemorySecrets()).fetch(None)


def test_unreachable_server_is_transient(imap):
    from tests.mailserver import free_port

    conn = EmailConnector(settings_for(imap, None, imap_port=str(free_port())), MemorySecrets({"password": PASSWORD}))
    with pytest.raises(TransientError, match="refused the connection on port") as caught:
        conn.fetch(None)
    assert "Errno" not in str(caught.value)  # the owner reads what it means, not the library's text


# --- real time -----------------------------------------------------------------------------------

def run_stream(conn, cursor=None):
    batches: list = []
    arrived = threading.Condition()
    errors: list = []
    stop = threading.Event()

    def on_items(items, new_cursor):
        with arrived:
            batches.append((time.monotonic(), items, new_cursor))
            arrived.notify_all()

    def target():
        try:
            conn.stream(cursor, on_items, stop)
        except Exception as exc:  # the test inspects what stream() raised
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def wait_for_ids(count: int, timeout: float) -> list:
        with arrived:
            arrived.wait_for(lambda: sum(len(b[1]) for b in batches) >= count, timeout=timeout)
        return [i.external_id for b in batches for i in b[1]]

    return stop, thread, batches, errors, wait_for_ids


def test_idle_delivers_new_mail_within_two_seconds_and_stops_promptly(imap, mailbox, monkeypatch):
    monkeypatch.setattr(email_connector, "IDLE_RENEW_SECONDS", 0.5)  # exercise re-issuing IDLE too
    imap.append(make_message(message_id="<s1@c.example>"), mailbox)
    stop, thread, batches, errors, wait_for_ids = run_stream(connector(imap, mailbox=mailbox))
    assert wait_for_ids(1, 5) == ["<s1@c.example>"]  # the fetch pass on connect
    time.sleep(1.2)  # let IDLE be re-issued at least once
    sent_at = time.monotonic()
    imap.append(make_message(message_id="<s2@c.example>"), mailbox)
    assert wait_for_ids(2, 2) == ["<s1@c.example>", "<s2@c.example>"]
    assert batches[-1][0] - sent_at < 2
    assert batches[-1][2]["message_ids"][-1] == "<s2@c.example>"
    stop.set()
    thread.join(3)
    assert not thread.is_alive() and errors == []


def test_mail_landing_just_before_idle_is_not_stranded(imap, mailbox, monkeypatch):
    """A message that arrives between the fetch pass and the IDLE command is, on pymap (as on some
    real servers), not announced during that IDLE; the pass after each IDLE cycle must still bring it."""
    from imapclient import IMAPClient

    monkeypatch.setattr(email_connector, "IDLE_RENEW_SECONDS", 1)
    real_idle = IMAPClient.idle
    slipped_in: list[str] = []

    def idle_after_a_message_lands(self):
        if not slipped_in:
            slipped_in.append("<gap@c.example>")
            imap.append(make_message(message_id=slipped_in[0]), mailbox)
        return real_idle(self)

    monkeypatch.setattr(IMAPClient, "idle", idle_after_a_message_lands)
    stop, thread, _, errors, wait_for_ids = run_stream(connector(imap, mailbox=mailbox))
    try:
        assert wait_for_ids(1, 4) == ["<gap@c.example>"]
    finally:
        stop.set()
        thread.join(3)
    assert not thread.is_alive() and errors == []


def test_without_idle_the_stream_polls(imap, mailbox, monkeypatch):
    from imapclient import IMAPClient

    real = IMAPClient.has_capability
    monkeypatch.setattr(IMAPClient, "has_capability", lambda self, cap: cap != "IDLE" and real(self, cap))
    stop, thread, _, errors, wait_for_ids = run_stream(connector(imap, mailbox=mailbox, poll_seconds="1"))
    time.sleep(0.3)
    imap.append(make_message(message_id="<p1@c.example>"), mailbox)
    assert wait_for_ids(1, 3) == ["<p1@c.example>"]
    stop.set()
    thread.join(3)
    assert not thread.is_alive() and errors == []


def test_server_loss_raises_transient_then_recovers_with_a_fetch_pass():
    server = ImapServer().start()
    try:
        conn = EmailConnector(settings_for(server, None), MemorySecrets({"password": PASSWORD}))
        server.append(make_message(message_id="<x1@c.example>"))
        stop, thread, _, errors, wait_for_ids = run_stream(conn)
        assert wait_for_ids(1, 5) == ["<x1@c.example>"]
        server.stop()
        thread.join(5)
        assert not thread.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], TransientError)
        with pytest.raises(TransientError):
            conn.fetch(None)
        server.start()  # same port, fresh data (and a new UIDVALIDITY)
        server.append(make_message(message_id="<x2@c.example>"))
        stop, thread, _, errors, wait_for_ids = run_stream(conn)
        assert wait_for_ids(1, 5) == ["<x2@c.example>"]
        stop.set()
        thread.join(3)
        assert errors == []
    finally:
        server.stop()


def test_contract_harness_seeds_and_injects_errors(email_harness):
    ids = email_harness.seed(3)
    items, cursor = email_harness.connector().fetch(None)
    assert [i.external_id for i in items] == ids
    target = target_for(items[0])
    for error in ("auth", "permanent", "transient"):
        expected = email_harness.inject(error)
        with pytest.raises(expected):
            email_harness.connector().fetch(cursor)
        with pytest.raises(expected):
            email_harness.connector().reply(target, "x", idempotency_key=f"k-{error}")
        email_harness.heal()
    assert email_harness.sent() == []
    new = email_harness.seed(1)
    assert [i.external_id for i in email_harness.connector().fetch(cursor)[0]] == new
    email_harness.connector().reply(target, "Thanks", idempotency_key="k-ok")
    assert len(email_harness.sent()) == 1


def _garble_idle_checks(monkeypatch, times: int) -> list[int]:
    """Make the next `times` idle_check calls fail the way imapclient does on a response split across
    packets (its issue #519): an imaplib abort about an unterminated line."""
    import imaplib

    from imapclient import IMAPClient

    real = IMAPClient.idle_check
    failures = [0]

    def idle_check(self, timeout=None):
        if failures[0] < times:
            failures[0] += 1
            raise imaplib.IMAP4.abort("socket error: unterminated line: b'* 2 FETCH (FLAGS ('")
        return real(self, timeout=timeout)

    monkeypatch.setattr(IMAPClient, "idle_check", idle_check)
    return failures


def test_a_garbled_idle_response_reconnects_without_an_error(imap, mailbox, monkeypatch):
    failures = _garble_idle_checks(monkeypatch, 2)
    stop, thread, _, errors, wait_for_ids = run_stream(connector(imap, mailbox=mailbox))
    try:
        # Wait for both garbled answers (each one a reconnect), then deliver: a fixed sleep lost the race
        # on a loaded machine, where a pymap connect takes ~0.4 s.
        give_up = time.monotonic() + 20
        while failures[0] < 2 and time.monotonic() < give_up:
            time.sleep(0.05)
        assert failures[0] == 2
        imap.append(make_message(message_id="<after-garble@c.example>"), mailbox)
        assert wait_for_ids(1, 10) == ["<after-garble@c.example>"]
        assert errors == []
    finally:
        stop.set()
        thread.join(3)
    assert not thread.is_alive() and errors == []


def test_garbled_idle_responses_over_and_over_are_reported(imap, mailbox, monkeypatch):
    _garble_idle_checks(monkeypatch, 1_000)
    stop, thread, _, errors, _wait = run_stream(connector(imap, mailbox=mailbox))
    thread.join(10)
    stop.set()
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], TransientError)
    assert "unterminated line" in str(errors[0])
