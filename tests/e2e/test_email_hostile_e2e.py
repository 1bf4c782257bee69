"""End to end: hostile mail through the real `socialdesk` CLI, pymap and aiosmtpd never puts a stranger's
header or text into our mail, and off-hours auto-replies go to exactly one acceptable address.

Uses the servers and CLI fixtures of test_email_e2e (one place for the account and keyring setup).
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
from datetime import UTC, datetime

from tests.e2e import test_email_e2e as base
from tests.e2e.test_email_e2e import MAILBOX, add_args, ok
from tests.mailserver import PASSWORD, make_message

servers, cli = base.servers, base.cli  # the same fixtures

STRICT = email.policy.default.clone(raise_on_defect=True)
INNER = "=?utf-8?q?Hi=0D=0AReply-To:_attacker@evil.example=0D=0AX-Injected:_1=0D=0A=0D=0AATTACKER_TEXT?="
NESTED = "=?utf-8?b?" + base64.b64encode(INNER.encode()).decode() + "?="
EVIL_ID = "<=?utf-8?q?a=0D=0AReply-To:_attacker@evil.example=0D=0A=0D=0AATTACKER?=@customer.example>"
AWAY = "We are away until Monday - thank you for your patience."
HEADERS = ["From", "To", "Subject", "Date", "Message-ID"]
MIME = ["Content-Type", "Content-Transfer-Encoding", "MIME-Version"]


def strict(data: bytes) -> email.message.EmailMessage:
    return email.parser.BytesParser(policy=STRICT).parsebytes(data)


def test_hostile_mail_gets_clean_replies_and_auto_replies_only_to_one_valid_address(servers, cli):
    imap, smtp = servers
    ok(cli(*add_args(imap, smtp, "shop"), "--set", "aliases=help@example.com", stdin=PASSWORD + "\n"))
    ok(cli("away", "on", "--message", AWAY))
    now = datetime.now(UTC)
    seeds = [
        dict(message_id="<q1@customer.example>", subject=NESTED, sender="Customer <customer@customer.example>",
             extra=f"References: <root@customer.example> {EVIL_ID}"),
        dict(message_id=EVIL_ID, subject="Opening hours?", sender="Second <second@customer.example>"),
        dict(message_id="<q3@customer.example>", sender="third@customer.example", extra="Reply-To: help@example.com"),
        dict(message_id="<q4@customer.example>", sender="fourth@customer.example",
             extra="Reply-To: a@list.example, b@list.example, c@list.example"),
        dict(message_id="<q5@customer.example>", sender="fifth@customer.example",
             extra="Reply-To: MAILER-DAEMON@mx.customer.example"),
    ]
    for seed in seeds:
        imap.append(make_message(**seed), MAILBOX, msg_time=now)
    ok(cli("sync", "--once"))
    if len(smtp.messages) < 2:  # sends may be left for the next pass
        ok(cli("sync", "--once"))

    auto = {tuple(m.rcpt_tos): m.data for m in smtp.wait_for(2)}
    assert sorted(auto) == [("customer@customer.example",), ("second@customer.example",)]
    for data in auto.values():
        assert b"attacker" not in data.lower()
    first = strict(auto[("customer@customer.example",)])
    assert list(first.keys()) == [*HEADERS, "In-Reply-To", "References", "Auto-Submitted",
                                  "X-Auto-Response-Suppress", *MIME]
    assert first["Subject"] == "Re: = ?utf-8?q?" + INNER[10:]
    assert first["References"] == "<root@customer.example> <q1@customer.example>"
    assert first.get_content().strip() == AWAY
    second = strict(auto[("second@customer.example",)])
    assert list(second.keys()) == [*HEADERS, "Auto-Submitted", "X-Auto-Response-Suppress", *MIME]
    assert second.get_content().strip() == AWAY

    # The owner answers the hostile conversation by hand: the same clean headers, our text only.
    conversations = json.loads(ok(cli("queue", "--json")))
    hostile = next(c for c in conversations if c["subject"].startswith("=?utf-8?q?Hi"))
    ok(cli("reply", str(hostile["id"]), "--text", "Here are our hours."))
    if len(smtp.messages) < 3:
        ok(cli("sync", "--once"))
    manual = strict(smtp.wait_for(3)[2].data)
    assert smtp.messages[2].rcpt_tos == ["customer@customer.example"]
    assert list(manual.keys()) == [*HEADERS, "In-Reply-To", "References", *MIME]
    assert manual["Subject"] == first["Subject"] and manual.get_content().strip() == "Here are our hours."
    assert len(smtp.messages) == 3  # nothing to the alias, the list or the mailer-daemon
