"""The email connector's connections: imapclient and smtplib classes whose sockets the running
operation's deadline (connectors/deadline.py) watches from creation, before the TLS handshake and the
greeting, and the logins that carry non-ASCII credentials (SASL PLAIN, RFC 4616).

Decisions:
- Its own module, imported by connectors/email.py on its first connection: importing the email
  connector for its traits (the window does, to paint its first rows) does not load imapclient.
- The subclasses hook the libraries' socket factories (`_create_socket`, `_get_socket`,
  `_create_IMAP4`), kept in step with imapclient 3-4 and CPython's smtplib.
"""

from __future__ import annotations

import base64
import imaplib
import smtplib
import socket

from imapclient import IMAPClient
from imapclient import imap4 as imapclient_imap4
from imapclient import tls as imapclient_tls
from imapclient.exceptions import LoginError

from socialdesk.connectors import deadline
from socialdesk.connectors.base import AuthError

__all__ = ["LoginError", "WatchedIMAPClient", "WatchedSMTP", "WatchedSMTP_SSL", "imap_login", "smtp_login"]

NON_ASCII_LOGIN_MESSAGE = (
    "Your password (or user name) has characters outside plain ASCII, and the {where} server does not "
    "offer the PLAIN login that can carry them. Use an app password, or change the password on the "
    "server to plain letters, digits and punctuation."
)


def plain_token(username: str, password: str) -> str:
    """The SASL PLAIN initial response (RFC 4616): UTF-8, NUL-separated, base64."""
    return base64.b64encode(b"\0" + username.encode("utf-8") + b"\0" + password.encode("utf-8")).decode("ascii")


def imap_login(client: IMAPClient, username: str, password: str) -> None:
    """LOGIN for ASCII credentials; AUTHENTICATE PLAIN (UTF-8, RFC 4616) otherwise.

    IMAP LOGIN takes only ASCII strings (imaplib raises UnicodeEncodeError quoting the password), so a
    non-ASCII password goes through SASL PLAIN, which carries UTF-8.
    """
    if username.isascii() and password.isascii():
        client.login(username, password)
        return
    capabilities = {c.upper() for c in client.capabilities()}
    if b"AUTH=PLAIN" not in capabilities:
        raise AuthError(NON_ASCII_LOGIN_MESSAGE.format(where="IMAP"))
    client.plain_login(username, password)


def smtp_login(server: smtplib.SMTP, username: str, password: str) -> None:
    """smtplib's login for ASCII credentials; AUTH PLAIN with UTF-8 (RFC 4616) otherwise.

    smtplib encodes every AUTH response as ASCII, so a non-ASCII password would raise
    UnicodeEncodeError before reaching the server.
    """
    if username.isascii() and password.isascii():
        server.login(username, password)
        return
    if "PLAIN" not in server.esmtp_features.get("auth", "").upper().split():
        raise AuthError(NON_ASCII_LOGIN_MESSAGE.format(where="SMTP"))
    code, response = server.docmd("AUTH", "PLAIN " + plain_token(username, password))
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, response)


class WatchedIMAP4(imapclient_imap4.IMAP4WithTimeout):
    """imapclient's plain IMAP4 whose socket the running operation's deadline watches from creation."""

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = super()._create_socket(timeout)
        deadline.watch(sock)  # before the greeting: a trickled greeting is bounded too
        return sock


class WatchedIMAP4TLS(imapclient_tls.IMAP4_TLS):
    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout if timeout is not None else self._timeout)
        deadline.watch(sock)  # before the TLS handshake
        return imapclient_tls.wrap_socket(sock, self.ssl_context, self.host)


class WatchedIMAPClient(IMAPClient):
    """IMAPClient built on the watched IMAP4 classes (its `_create_IMAP4` picks the class; kept in step
    with imapclient 3-4, where it passes (host, port, ssl_context, connect timeout))."""

    def _create_IMAP4(self) -> imaplib.IMAP4:
        connect_timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return WatchedIMAP4TLS(self.host, self.port, self.ssl_context, connect_timeout)
        return WatchedIMAP4(self.host, self.port, connect_timeout)


class WatchedSMTP(smtplib.SMTP):
    """smtplib.SMTP whose socket the running operation's deadline watches from creation."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = super()._get_socket(host, port, timeout)  # type: ignore[misc]  # an smtplib internal the stubs omit
        deadline.watch(sock)
        return sock


class WatchedSMTP_SSL(smtplib.SMTP_SSL):
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # the plain socket, then TLS; _get_socket and _host are smtplib internals the stubs leave out
        sock = smtplib.SMTP._get_socket(self, host, port, timeout)  # type: ignore[attr-defined]  # see above
        deadline.watch(sock)
        return self.context.wrap_socket(sock, server_hostname=self._host)  # type: ignore[attr-defined]  # same
