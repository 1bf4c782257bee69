"""connectors/email_autoconfig: server settings from an address, read from hostile documents."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from socialdesk.connectors import email_autoconfig as autoconfig

# The shape Thunderbird's provider database serves (trimmed from its aol.com entry).
ISPDB_DOC = b"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="shop.example">
    <domain>shop.example</domain>
    <displayName>Shop Mail</displayName>
    <incomingServer type="pop3">
      <hostname>pop.shop.example</hostname><port>995</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.shop.example</hostname><port>587</port><socketType>STARTTLS</socketType>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""
EXPECTED = {"imap_host": "imap.shop.example", "imap_port": "993", "imap_tls": "ssl",
            "smtp_host": "smtp.shop.example", "smtp_port": "587", "smtp_tls": "starttls"}


class Server:
    """Serves `pages` (path -> (status, body)) on 127.0.0.1; records what was asked."""

    def __init__(self, pages: dict[str, tuple[int, bytes]]):
        self.pages, self.asked = pages, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                server.asked.append(self.path)
                status, body = server.pages.get(self.path.split("?")[0], (404, b"not here"))
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def sources(self):
        return (("{domain}'s own settings", self.base + "/own/{domain}?emailaddress={address}"),
                ("{domain}'s own settings", self.base + "/well-known/{domain}"),
                ("Thunderbird's provider list", self.base + "/ispdb/{domain}"))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    made: list[Server] = []

    def make(pages):
        made.append(Server(pages))
        return made[-1]

    yield make
    for s in made:
        s.close()


def test_the_domains_own_settings_come_first(server):
    s = server({"/own/shop.example": (200, ISPDB_DOC), "/ispdb/shop.example": (200, b"never read")})
    found = autoconfig.lookup("Sam@Shop.example", sources=s.sources())
    assert found == autoconfig.Found(EXPECTED, "shop.example's own settings")
    assert s.asked == ["/own/shop.example?emailaddress=Sam%40Shop.example"]


def test_missing_and_hostile_sources_give_way_to_the_provider_list(server):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b"<clientConfig>&lol2;</clientConfig>")
    s = server({"/well-known/shop.example": (200, bomb), "/ispdb/shop.example": (200, ISPDB_DOC)})
    found = autoconfig.lookup("sam@shop.example", sources=s.sources())
    assert found == autoconfig.Found(EXPECTED, "Thunderbird's provider list")
    assert [p.split("?")[0] for p in s.asked] == ["/own/shop.example", "/well-known/shop.example",
                                                   "/ispdb/shop.example"]
    assert "sam" not in s.asked[-1]  # the provider list is told the domain only


@pytest.mark.parametrize("doc", [
    ISPDB_DOC.replace(b"<socketType>SSL</socketType>\n      <authentication>", b"<socketType>plain</socketType><authentication>"),
    ISPDB_DOC.replace(b"imap.%EMAILDOMAIN%", b"imap.shop.example\r\nX-Injected: 1"),
    ISPDB_DOC.replace(b"imap.%EMAILDOMAIN%", b"-rf /"),
    ISPDB_DOC.replace(b"<port>587</port>", b"<port>70000</port>"),
    ISPDB_DOC.replace(b"<port>587</port>", b"<port>5\xd9\xa87</port>"),  # an Arabic-Indic digit
    ISPDB_DOC.replace(b"clientConfig", b"somethingElse"),
    ISPDB_DOC[:200],  # cut short
    ISPDB_DOC.replace(b"</clientConfig>", b"<!--" + b"x" * autoconfig.MAX_BYTES + b"--></clientConfig>"),
])
def test_an_unusable_document_fills_nothing(server, doc):
    s = server({"/ispdb/shop.example": (200, doc)})
    assert autoconfig.lookup("sam@shop.example", sources=s.sources()) is None


def test_a_login_name_other_than_the_address_is_filled_in():
    doc = ISPDB_DOC.replace(b"<username>%EMAILADDRESS%</username>\n    </incomingServer>\n    <outgoingServer",
                            b"<username>%EMAILLOCALPART%</username>\n    </incomingServer>\n    <outgoingServer")
    assert autoconfig.parse(doc, "sam@shop.example", "shop.example") == {**EXPECTED, "username": "sam"}


def test_no_address_no_request(server):
    s = server({})
    for address in ("", "sam", "@shop.example", "sam@", "sam@shop..example", "sam@-shop.example",
                    "sam@shop.example/../x", "sam@localhost"):
        assert autoconfig.lookup(address, sources=s.sources()) is None
    assert s.asked == []
    assert autoconfig.mail_domain("léa@bäckerei.example") == "xn--bckerei-5wa.example"


def test_the_real_sources_are_https_only():
    assert all(template.startswith("https://") for _source, template in autoconfig.SOURCES)
