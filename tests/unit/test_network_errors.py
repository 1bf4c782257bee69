"""connectors/network_errors.explain: a failed connection in the owner's words, never the library's."""

from __future__ import annotations

import socket
import ssl

import pytest

from socialdesk.connectors.network_errors import explain


def refused() -> ConnectionRefusedError:
    with socket.socket() as probe:  # a port nobody listens on: the kernel refuses for real
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError as exc:
        return exc
    raise AssertionError("the port was open")


def wrapped(inner: BaseException) -> Exception:
    """As requests/urllib3 hand it over: the socket error two levels down, with a URL in the text."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise OSError("HTTPSConnectionPool(host='x', port=443): Max retries exceeded with url: /?token=s3") from exc
    except OSError as outer:
        return RuntimeError(outer)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "does not exist. Check it for typos"),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), "Check that this computer is online"),
        (TimeoutError("_ssl.c:989: The handshake operation timed out"), "did not answer in time"),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "SSL/TLS and STARTTLS use different ports"),
        (ConnectionResetError(104, "Connection reset by peer"), "closed the connection"),
        (OSError(101, "Network is unreachable"), "No network route"),
    ],
)
def test_each_failure_says_what_it_means_and_what_to_check(exc, expected):
    for raised in (exc, wrapped(exc)):
        text = explain(raised, "imap.example.com", 993, "IMAP server")
        assert expected in text
        assert "Errno" not in text and "_ssl.c" not in text and "token" not in text
        assert "try again" not in text  # nothing may retry (the account dialog's test)


def test_a_refused_port_names_the_port():
    text = explain(refused(), "127.0.0.1", 4190, "mail server")
    assert text.startswith("127.0.0.1 refused the connection on port 4190.")


def test_a_certificate_failure_is_left_to_the_connector_and_unknowns_give_the_type_only():
    cert = ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate")
    assert explain(cert, "h", 1) == "The connection to h:1 failed (SSLCertVerificationError)."
    assert explain(ValueError("secret=abc"), "h") == "The connection to h failed (ValueError)."


def test_a_cyclic_chain_ends():
    a, b = OSError("a"), OSError("b")
    a.__context__, b.__context__ = b, a
    assert explain(a, "h", 1) == "The connection to h:1 failed (OSError)."
