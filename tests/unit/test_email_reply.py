"""Outgoing email (connectors/email_reply.py through EmailConnector): hostile stored values never become
headers we did not set, and an automatic reply goes to exactly one address the RFC 3834 guard accepts.

Every test starts from raw hostile mail parsed by the connector (what ingest stores), builds the reply
and parses the resulting bytes with a strict parser: exactly our headers, exactly our body.
No network: build_reply does not connect.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
from datetime import UTC, datetime

import pytest

from socialdesk.connectors import email_reply
from socialdesk.connectors.base import MemorySecrets, PermanentError, ReplyTarget
from socialdesk.connectors.email import EmailConnector

STRICT = email.policy.default.clone(raise_on_defect=True)
NOW = datetime(2026, 3, 10, 21, 0, tzinfo=UTC)
OURS = "shop@example.com"
REPLY_HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References"]
MIME = ["Content-Type", "Content-Transfer-Encoding", "MIME-Version"]
AUTO = ["Auto-Submitted", "X-Auto-Response-Suppress"]
INJECTED = "Hi=0D=0AReply-To:_attacker@evil.example=0D=0AX-Injected:_1=0D=0A=0D=0AATTACKER_TEXT"


def conn(**extra: str) -> EmailConnector:
    settings = {"address": OURS, "display_name": "Corner Shop", "imap_host": "127.0.0.1", "imap_tls": "none",
                "smtp_tls": "none", **extra}
    return EmailConnector(settings, MemorySecrets({"password": "x"}), now=lambda: NOW)


def raw(*headers: str, body: str = "Hello") -> bytes:
    lines = ["From: Bob <bob@customer.example>", "To: Shop <shop@example.com>",
             "Date: Tue, 10 Mar 2026 20:00:00 +0000", *headers, "", body, ""]
    return "\r\n".join(lines).encode()


def nested(inner: str) -> str:
    """An encoded-word whose decoded text is itself an encoded-word."""
    return "=?utf-8?b?" + base64.b64encode(f"=?utf-8?q?{inner}?=".encode()).decode() + "?="


def reply_bytes(message: bytes, *, auto: bool, text: str = "We are closed until 9:00.", **settings: str) -> bytes:
    c = conn(**settings)
    item = c.parse(message)
    target = ReplyTarget(conversation_external_id=item.conversation_external_id, kind="email", public=False,
                         subject=item.subject, parent_external_id=item.external_id, parent_meta=item.meta,
                         recipient_external_id=item.author.external_id, auto_reply=auto)
    return c.build_reply(target, text, idempotency_key="k1").as_bytes()


def strict(data: bytes) -> email.message.EmailMessage:
    return email.parser.BytesParser(policy=STRICT).parsebytes(data)


def assert_exactly(data: bytes, names: list[str], body: str) -> email.message.EmailMessage:
    msg = strict(data)
    assert list(msg.keys()) == names
    assert msg.get_content().replace("\r\n", "\n") == body
    assert b"attacker" not in data.lower() and b"ATTACKER" not in data
    return msg


@pytest.mark.parametrize("auto", [True, False])
def test_nested_encoded_word_subject_cannot_inject_headers_or_body(auto):
    data = reply_bytes(raw(f"Subject: {nested(INJECTED)}", "Message-ID: <q1@customer.example>"), auto=auto)
    names = ["From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References", *(AUTO if auto else []),
             *MIME]
    msg = strict(data)
    assert list(msg.keys()) == names
    assert msg.get_content().replace("\r\n", "\n") == "We are closed until 9:00.\n"
    # The stored text is kept, but its "=?" can never start an encoded-word again.
    assert msg["Subject"] == f"Re: = ?utf-8?q?{INJECTED}?="
    assert msg["To"] == "bob@customer.example" and msg["In-Reply-To"] == "<q1@customer.example>"


@pytest.mark.parametrize("auto", [True, False])
def test_crafted_message_ids_are_dropped_not_decoded(auto):
    evil = "<=?utf-8?q?a=0D=0AReply-To:_attacker@evil.example=0D=0A=0D=0AATTACKER?=@customer.example>"
    data = reply_bytes(raw("Subject: Question", f"Message-ID: {evil}",
                           f"References: <root@customer.example> {evil} <mid@customer.example>"), auto=auto)
    names = ["From", "To", "Subject", "Date", "Message-ID", "References", *(AUTO if auto else []), *MIME]
    msg = assert_exactly(data, names, "We are closed until 9:00.\n")
    # The parent's own id is unusable: no In-Reply-To, but the valid chain still threads the reply.
    assert msg["References"] == "<root@customer.example> <mid@customer.example>"


def test_crafted_parent_id_without_valid_references_leaves_threading_out():
    evil = "<=?utf-8?q?a=0D=0AReply-To:_attacker@evil.example?=@customer.example>"
    data = reply_bytes(raw("Subject: Question", f"Message-ID: {evil}", f"In-Reply-To: {evil}"), auto=True)
    assert_exactly(data, ["From", "To", "Subject", "Date", "Message-ID", *AUTO, *MIME], "We are closed until 9:00.\n")


@pytest.mark.parametrize("auto", [True, False])
def test_an_id_we_derived_never_threads_our_reply(auto):
    """A mail without a readable Message-ID (none, or behind a header block over the bound) is stored under
    an id we made up; the customer's program never knew it, so our reply must not name it."""
    for message in (raw("Subject: Question"),
                    raw("Subject: " + "\r\n ".join(["=?utf-8?q?ab?="] * 40_000), "Message-ID: <q@customer.example>")):
        data = reply_bytes(message, auto=auto)
        assert b"invalid" not in data
        assert_exactly(data, ["From", "To", "Subject", "Date", "Message-ID", *(AUTO if auto else []), *MIME],
                       "We are closed until 9:00.\n")


def test_encoded_word_address_in_reply_to_is_not_a_recipient():
    hostile = "=?utf-8?q?x=0D=0ABcc=3A_attacker=40evil.example?=@evil.example"
    data = reply_bytes(raw("Subject: Question", "Message-ID: <q@customer.example>", f"Reply-To: {hostile}"),
                       auto=False)
    msg = assert_exactly(data, [*REPLY_HEADERS, *MIME], "We are closed until 9:00.\n")
    assert msg["To"] == "bob@customer.example"


@pytest.mark.parametrize("subject", [
    nested(INJECTED),
    "=?utf-8?q?=3D=3Futf-8=3Fq=3Fa=3D0A=3D0AB=3F=3D?=",  # "=?" hidden by quoted-printable
    "=?iso-8859-1?q?Caf=E9?= " + "=?utf-8?b?" + base64.b64encode(b"=?x?b?Cg==?=").decode() + "?=",
    "x" * 3000,  # one giant word
    "Grüße aus Köln – ünïcödé " * 40,
    "Re: Re: AW: " + nested("A=0D=0A=0D=0AB"),
    "=?utf-8?q?no_close",
    "a =? b ?= c",
], ids=range(8))
def test_every_subject_round_trips_exactly(subject):
    data = reply_bytes(raw(f"Subject: {subject}", "Message-ID: <q@customer.example>"), auto=True)
    msg = strict(data)
    assert list(msg.keys()) == [*REPLY_HEADERS, *AUTO, *MIME]
    assert "=?" not in msg["Subject"] and "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert len(msg["Subject"]) <= email_reply.MAX_SUBJECT_CHARS


def test_long_non_ascii_subject_keeps_every_space():
    # Python 3.11 drops the space between two encoded-words when it folds a long non-ASCII header.
    subject = ("Grüße aus Köln – ünïcödé " * 8).strip()
    data = reply_bytes(raw(f"Subject: =?utf-8?b?{base64.b64encode(subject.encode()).decode()}?=",
                           "Message-ID: <q@customer.example>"), auto=False)
    assert strict(data)["Subject"] == f"Re: {subject}"
    assert max(len(line) for line in data.split(b"\r\n")) <= 78


def test_long_message_ids_are_never_encoded():
    long_id = "<" + "a" * 200 + "@customer.example>"
    data = reply_bytes(raw("Subject: Q", f"Message-ID: {long_id}", "References: <root@customer.example>"),
                       auto=False)
    msg = strict(data)
    assert msg["In-Reply-To"] == long_id and msg["References"] == f"<root@customer.example> {long_id}"
    assert long_id.encode() in data  # on the wire as itself, not as an encoded-word


def test_hostile_display_name_setting_cannot_inject():
    data = reply_bytes(raw("Subject: Q", "Message-ID: <q@customer.example>"), auto=False,
                       display_name=nested("Shop=0D=0ABcc:_attacker@evil.example"))
    msg = assert_exactly(data, [*REPLY_HEADERS, *MIME], "We are closed until 9:00.\n")
    assert msg["From"].addresses[0].addr_spec == OURS


def test_a_value_the_validation_misses_is_caught_by_the_parse_back(monkeypatch):
    # Should a future change let an encoded-word through, the reply is refused rather than sent.
    monkeypatch.setattr(email_reply, "header_text", lambda value, limit=500: str(value or ""))
    with pytest.raises(PermanentError, match="could not be built safely"):
        reply_bytes(raw(f"Subject: {nested('Hi=0D=0AX')}", "Message-ID: <q@customer.example>"), auto=True)


# --- who an automatic reply goes to (RFC 3834) ------------------------------------------------------


def test_auto_reply_to_many_reply_to_addresses_is_refused_manual_reply_goes_to_the_sender():
    many = ", ".join(f"p{i}@list.example" for i in range(500))
    message = raw("Subject: Q", "Message-ID: <q@customer.example>", f"Reply-To: {many}")
    with pytest.raises(PermanentError, match="Reply-To names 500 addresses"):
        reply_bytes(message, auto=True)
    manual = strict(reply_bytes(message, auto=False))
    # 500 addresses are not a person asking for an answer: the owner's reply goes to From, once.
    assert [a.addr_spec for a in manual["To"].addresses] == ["bob@customer.example"]


def test_a_manual_reply_keeps_a_few_reply_to_addresses():
    message = raw("Subject: Q", "Message-ID: <q@customer.example>",
                  "Reply-To: Bob Home <bob@home.example>, Ana <ana@customer.example>")
    manual = strict(reply_bytes(message, auto=False))
    assert [a.addr_spec for a in manual["To"].addresses] == ["bob@home.example", "ana@customer.example"]


@pytest.mark.parametrize("reply_to", [OURS, "Help <HELP@example.com>", "MAILER-DAEMON@mx.example.net",
                                      f"{OURS}, news-request@lists.example"])
def test_a_manual_reply_never_goes_to_us_or_a_robot_named_in_reply_to(reply_to):
    message = raw("Subject: Q", "Message-ID: <q@customer.example>", f"Reply-To: {reply_to}")
    manual = strict(reply_bytes(message, auto=False, aliases="help@example.com"))
    assert [a.addr_spec for a in manual["To"].addresses] == ["bob@customer.example"]


@pytest.mark.parametrize("reply_to, why", [
    (OURS, "our own address"),
    ("Help <HELP@example.com>", "our own address"),  # an alias of this account
    ("MAILER-DAEMON@mx.example.net", "automated mailbox"),
    ("postmaster@customer.example", "automated mailbox"),
    ("owner-news@lists.example", "automated mailbox"),
    ("news-request@lists.example", "automated mailbox"),
])
def test_auto_reply_judges_the_reply_to_address(reply_to, why):
    message = raw("Subject: Q", "Message-ID: <q@customer.example>", f"Reply-To: {reply_to}")
    with pytest.raises(PermanentError, match=why):
        reply_bytes(message, auto=True, aliases="help@example.com")
    assert conn(aliases="help@example.com").parse(message).meta["automated"] is True


def test_auto_reply_goes_to_the_one_reply_to_address():
    message = raw("Subject: Q", "Message-ID: <q@customer.example>", "Reply-To: Bob Home <Bob@Home.example>")
    assert conn().parse(message).meta["automated"] is False
    assert strict(reply_bytes(message, auto=True))["To"] == "bob@home.example"


def test_refusal_rules():
    refusal = email_reply.auto_reply_refusal
    assert refusal({"from": "bob@c.example"}) == ""
    assert refusal({"from": "bob@c.example", "reply_to": ["a@c.example", "b@c.example"]}).startswith(
        "Reply-To names 2 addresses")
    assert refusal({"from": "bob@c.example", "reply_to": ["not an address"]}) == ""  # ignored, as by hand
    assert refusal({"from": "bounces+x@mail.example"}) == email_reply.AUTOMATED
    assert refusal({"from": "bob@c.example", "return_path": "< >"}) == email_reply.AUTOMATED
    assert refusal({}, "bob@c.example") == ""
    assert refusal({"from": "Bob@C.example"}, own=["bob@c.example"]) == email_reply.AUTOMATED


def test_values_are_validated_for_what_they_are():
    assert email_reply.valid_message_id("<a.b@c.example>") == "<a.b@c.example>"
    assert email_reply.valid_message_id("<a@[127.0.0.1]>") == "<a@[127.0.0.1]>"
    for bad in ("<a b@c>", "<a@c> x", "a@c", "<a>", "<=?utf-8?q?x?=@c>", "<a@c\r\n>", "<" + "a" * 300 + "@c>"):
        assert email_reply.valid_message_id(bad) == "", bad
    assert email_reply.valid_address(" Bob@Exämple.com ") == "bob@xn--exmple-cua.com"
    for bad in ("a@b", "a b@c.example", "=?utf-8?q?a?=@c.example", "a@c.example\nBcc: x@y.example",
                "bö@c.example", '"a"@c.example', "a@-c.example", "a@@c.example"):
        assert not email_reply.is_valid_address(bad), bad
    assert email_reply.person_address(" Anna@Example.ORG ") == "anna@example.org"
    assert email_reply.person_address("anna+shop@example.org") == "anna+shop@example.org"
