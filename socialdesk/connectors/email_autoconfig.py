"""Server settings from an email address: the IMAP and SMTP hosts, ports and security a provider publishes.

Owns `lookup(address)`, the email account form's "fill in the servers for me" (ConnectorSpec.autofill),
so the owner types an address and a password, not six server settings.

Where it looks, in Thunderbird's order (the de-facto standard; file format "config-v1.1.xml",
documented at github.com/thunderbird/autoconfig):
1. the mail domain's own configuration, `https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=<address>`;
2. the same file at `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml`;
3. Thunderbird's provider database (ISPDB), `https://autoconfig.thunderbird.net/v1.1/<domain>`, which
   knows Gmail, Outlook, Yahoo, GMX and a few thousand others; only the domain is sent there.

Decisions:
- HTTPS only, through connectors/http.Http (TLS verification, deadline); each source gets 10 s and the
  first usable answer wins, so a lookup ends within about 30 s. Runs off the GUI thread.
- Every byte is hostile: at most 64 KB are read; a document with a DOCTYPE (entity tricks) is refused;
  host names must be plain DNS names, ports 1–65535; unknown socket types and plaintext servers are
  skipped (socialdesk never sends a password unencrypted to a remote host). %EMAILADDRESS%,
  %EMAILLOCALPART% and %EMAILDOMAIN% are the only placeholders filled in.
- Not done: RFC 6186 SRV records, which need a DNS library for one more source the three above
  already cover for nearly every provider; and MX-based guesses (Thunderbird's last resort), which
  can name a server that refuses the login. When nothing is found the owner fills the fields in.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Callable
from urllib.parse import quote

from socialdesk.connectors.base import ConnectorError
from socialdesk.connectors.http import Http

MAX_BYTES = 64 * 1024
SOURCE_DEADLINE_S = 10.0
# (what the owner is told it came from, address template); {domain} and {address} are URL-quoted.
SOURCES: tuple[tuple[str, str], ...] = (
    ("{domain}'s own settings", "https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={address}"),
    ("{domain}'s own settings", "https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml"),
    ("Thunderbird's provider list", "https://autoconfig.thunderbird.net/v1.1/{domain}"),
)
_HOSTNAME = re.compile(r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")
_PORT = re.compile(r"[0-9]{1,5}")
_SOCKET_TYPES = {"SSL": "ssl", "STARTTLS": "starttls"}  # "plain" is skipped on purpose


@dataclass(frozen=True)
class Found:
    """Settings for the email form (its keys) and where they came from, for the owner to read."""

    settings: dict[str, str]
    source: str


def mail_domain(address: str) -> str | None:
    """The address's domain as an ASCII DNS name, or None when it is not a plausible address."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return None
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    return ascii_domain if _HOSTNAME.fullmatch(ascii_domain) else None


def _server(element: ElementTree.Element, address: str, domain: str) -> dict[str, str] | None:
    def text(tag: str) -> str:
        return (element.findtext(tag) or "").strip()

    host = text("hostname").replace("%EMAILDOMAIN%", domain).lower()
    tls = _SOCKET_TYPES.get(text("socketType").upper())
    port = text("port")
    # ASCII digits only: str.isdigit() and int() also take "5٨7" (Arabic-Indic) as 587.
    if not _HOSTNAME.fullmatch(host) or tls is None or not _PORT.fullmatch(port) or not 0 < int(port) < 65536:
        return None
    username = text("username")
    local = address.rpartition("@")[0]
    username = username.replace("%EMAILADDRESS%", address).replace("%EMAILLOCALPART%", local)
    username = username.replace("%EMAILDOMAIN%", domain)
    if "%" in username or any(ord(c) < 32 for c in username) or len(username) > 254:
        username = ""
    return {"host": host, "port": str(int(port)), "tls": tls, "username": username}


def parse(body: bytes, address: str, domain: str) -> dict[str, str] | None:
    """The email form's settings from a config-v1.1.xml document, or None if it has no usable IMAP and
    SMTP server."""
    if len(body) > MAX_BYTES or b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        return None
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    if root.tag != "clientConfig":
        return None
    for provider in root.findall("emailProvider"):
        imap = next((s for s in (_server(e, address, domain) for e in provider.findall("incomingServer")
                                 if e.get("type") == "imap") if s), None)
        smtp = next((s for s in (_server(e, address, domain) for e in provider.findall("outgoingServer")
                                 if e.get("type") == "smtp") if s), None)
        if imap is None or smtp is None:
            continue
        settings = {"imap_host": imap["host"], "imap_port": imap["port"], "imap_tls": imap["tls"],
                    "smtp_host": smtp["host"], "smtp_port": smtp["port"], "smtp_tls": smtp["tls"]}
        # The form's login name defaults to the address; fill it only where the provider wants another.
        if imap["username"] and imap["username"].lower() != address.lower():
            settings["username"] = imap["username"]
        return settings
    return None


def _fetch(url: str, http_factory: Callable[[str], Http]) -> bytes | None:
    try:
        http = http_factory(url)
    except ConnectorError:
        return None
    try:
        response = http.request("GET", url, headers={"Accept": "application/xml, text/xml"}, stream=True,
                                retry=False, deadline=SOURCE_DEADLINE_S, timeout=(5.0, 5.0))
        try:
            body = response.raw.read(MAX_BYTES + 1, decode_content=True)
        finally:
            response.close()
        return body if isinstance(body, bytes) else None
    except (ConnectorError, OSError):
        return None
    finally:
        http.close()


def _http_for(url: str) -> Http:
    return Http("The mail settings lookup", url, retries=0)


def lookup(address: str, *, sources: tuple[tuple[str, str], ...] = SOURCES,
           http_factory: Callable[[str], Http] = _http_for) -> Found | None:
    """The IMAP/SMTP settings published for `address`'s domain, or None (network: off the GUI thread)."""
    domain = mail_domain(address)
    if domain is None:
        return None
    address = address.strip()
    for source, template in sources:
        url = template.format(domain=quote(domain, safe=""), address=quote(address, safe=""))
        body = _fetch(url, http_factory)
        settings = parse(body, address, domain) if body else None
        if settings is not None:
            return Found(settings, source.format(domain=domain))
    return None
