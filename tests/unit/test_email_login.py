"""A password with characters outside ASCII logs in (SASL PLAIN carries UTF-8), and a wrong one is a
plain "login refused", never a UnicodeEncodeError that quotes the password (issue 12 item 2).

IMAP LOGIN and smtplib's AUTH only take ASCII; the connector switches to AUTHENTICATE PLAIN / AUTH PLAIN
(RFC 4616) for such credentials. Real servers: pymap (IMAP) and aiosmtpd (SMTP) on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from socialdesk.connectors.base import AuthError, MemorySecrets, ReplyTarget
from socialdesk.connectors.email import EmailConnector
from tests.mailserver import USER, ImapServer, SmtpServer, make_message

SECRET = "Geheimnis-Zähler-✓"


@pytest.fixture(scope="module")
def servers():
    imap, smtp = ImapServer(password=SECRET).start(), SmtpServer(password=SECRET).start()
    yield imap, smtp
    imap.stop()
    smtp.stop()


def connector(imap: ImapServer, smtp: SmtpServer, password: str) -> EmailConnector:
    settings = {
        "address": USER, "display_name": "Corner Shop", "imap_host": "127.0.0.1", "imap_port": str(imap.port),
        "imap_tls": "none", "smtp_host": "127.0.0.1", "smtp_port": str(smtp.port), "smtp_tls": "none",
    }
    return EmailConnector(settings, MemorySecrets({"password": password}))


def test_a_non_ascii_password_logs_in_to_imap_and_smtp(servers):
    imap, smtp = servers
    imap.append(make_message(message_id="<q1@customer.example>", subject="Opening hours?", body="Hi"), "INBOX")
    c = connector(imap, smtp, SECRET)
    try:
        c.check()
        items, _cursor = c.fetch(None)
        assert [i.external_id for i in items] == ["<q1@customer.example>"]
        item = items[0]
        target = ReplyTarget(conversation_external_id=item.conversation_external_id, kind="email", public=False,
                             subject=item.subject, parent_external_id=item.external_id, parent_meta=item.meta,
                             recipient_external_id=item.author.external_id)
        c.reply(target, "We open at nine.", idempotency_key="k1")
    finally:
        c.close()
    assert [m.authenticated for m in smtp.messages] == [True]


@pytest.mark.parametrize("wrong", ["Geheimnis-Zähler-✗", "ascii-but-wrong"])
def test_a_refused_password_is_a_login_error_that_quotes_nothing(servers, wrong):
    imap, smtp = servers
    c = connector(imap, smtp, wrong)
    try:
        with pytest.raises(AuthError) as raised:
            c.check()
    finally:
        c.close()
    text = str(raised.value)
    assert "Zähler" not in text and "✗" not in text and "position" not in text
