"""Off-hours replies kept by the mail server: a Sieve script (RFC 5228) uploaded and activated over
ManageSieve (RFC 5804) with the maintained `sievelib` client, for the email connector.

Why: the owner's laptop sleeps exactly when the off-hours promise matters. A mail server that runs
Sieve (Dovecot/Pigeonhole, Fastmail, ...) answers by itself with `vacation` (RFC 5230) while socialdesk
is closed. Core (core/server_replies.py) computes the closed periods; this module writes them.

Decisions:
- Settings (strings, like every email setting): `sieve` = auto (default: use it when the server offers
  it) | off; `sieve_host` (default: the IMAP host); `sieve_port` (4190); `sieve_tls` = starttls
  (default) | none, and none only to loopback (base.require_secure_transport). Login name and password
  are the IMAP ones (the keyring's "password"). TLS verification is never off (sievelib uses
  ssl.create_default_context()).
- The script lists every coming closed period explicitly as a UTC range tested with `currentdate`
  (date + relational extensions, RFCs 5260/5231): `currentdate :zone "+0000" :value "ge" "iso8601"
  "2026-12-04T17:00:00Z"` and `:value "lt"` the end. Pigeonhole renders that date-part as
  `YYYY-MM-DDTHH:MM:SSZ` and compares it as text (shared/CONNECTORS.md), so every bound is written in
  exactly that form. Time zones, DST, holidays, closed dates and away periods are therefore decided by
  core/hours, not by the server. The periods form one if/elsif chain, so at most one vacation runs.
- `vacation` per period: `:handle` from the app's closed-period key (a new handle gives a new reply;
  the same person gets one per period), `:seconds` the period's length where the server has
  vacation-seconds (RFC 6131), else `:days` its length rounded up (at least 1, the RFC's minimum), so a
  person writing twice in a long weekend is answered once; `:from` our address, `:addresses` our address
  and aliases (mail to an alias gets no reply otherwise), `:subject` naming when we open again.
- Guards in the script, the same rule as the app's (email_reply.auto_reply_refusal): no reply to
  mail carrying email_reply.LIST_HEADERS (List-Id, List-Unsubscribe, X-Auto-Response-Suppress),
  Auto-Submitted other than "no", Precedence email_reply.BULK_PRECEDENCE (bulk, list, junk), automated
  mailboxes (email_reply.AUTOMATED_LOCALPARTS, "+tags", owner-*, *-request) in From, Sender or Reply-To, our own addresses, and, where the server has the
  envelope extension, the null sender and automated or own envelope senders. Pigeonhole applies most of
  these itself but still answers postmaster@ and noreply@.
- Only one script is active on a ManageSieve server. Ours is named "socialdesk" and only ever replaces
  itself. When the owner has an active script of their own, ours includes it after our block
  (`include :personal`, RFC 6609), so every filter of theirs still runs on every message exactly as
  before (vacation cancels no implicit keep, RFC 5230 4.7). Ours runs first so that a `stop` in theirs
  cannot silently cancel the promised reply. Their script is left alone (the app keeps answering while
  it runs, and the coverage panel says so) when it sends vacation replies itself (two vacations in one
  run is an error) or when the server has no `include`. The name of the included script is the record
  of what was active before: `withdraw` (feature off, account removed) activates it again and deletes
  ours, or deactivates ours when nothing was active. No state is kept on our side.
- The script is parsed back with sievelib before it is sent (sievelib has no RFC 6609 `include`, so a
  minimal `IncludeCommand` is registered with it), checked by the server with CHECKSCRIPT where it
  offers it (VERSION capability), and HAVESPACE is asked first: a server with a small size limit gets
  fewer periods (never fewer than MIN_DAYS), else the push fails with the server's words.
- Every text that goes into the script is quoted by one function (`quote`), which escapes backslash and
  double quote, turns line breaks into CRLF and drops other control characters: customer-facing texts
  are the owner's, but nothing reaches the script unquoted.
- Network: one connection per push, under an overall deadline (connectors/deadline.py, DEADLINE_S) with
  a per-read timeout; the socket is watched from creation. sievelib's `connect` opens its socket without a
  timeout, so `_Client.open` does what it does with a timeout and the deadline (the only private
  sievelib names used are its capability/STARTTLS/authenticate steps; tests run against a real server).
  Errors: authentication refused -> AuthError (the IMAP password is wrong, the owner re-logs in); no
  ManageSieve service (connection refused, or no answer within TIMEOUT: a provider without Sieve whose
  firewall drops the port) or missing extensions -> Unavailable (core tries again a day later); other
  socket trouble (offline, DNS) -> TransientError.
"""

from __future__ import annotations

import logging
import math
import re
import socket
import ssl
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sievelib import commands as sieve_commands
from sievelib.managesieve import Client, Error
from sievelib.parser import Parser

from socialdesk.connectors import deadline, email_reply
from socialdesk.connectors.base import (
    AccountSecrets,
    AuthError,
    PermanentError,
    TransientError,
    require_secure_transport,
)
from socialdesk.connectors.server_replies import ClosedPeriod, Kept, PushResult, ReplyPlan, Unavailable

log = logging.getLogger(__name__)

SCRIPT_NAME = "socialdesk"
PORT = 4190
TLS_MODES = ("starttls", "none")
MODES = ("auto", "off")
TIMEOUT = 30.0  # per socket read
DEADLINE_S = 120.0  # one push or withdraw, connect to logout
REQUIRED = ("vacation", "date", "relational")
MIN_DAYS = 7  # a server too small for a week of periods is refused rather than half-served
MAX_SUBJECT = 200
_INCLUDE_RE = re.compile(r'^include\s+:personal\s+"((?:[^"\\]|\\.)*)"\s*;', re.MULTILINE)


class IncludeCommand(sieve_commands.ControlCommand):
    """RFC 6609 `include [:personal | :global] [:once] [:optional] <value: string>`, which sievelib
    (1.6) does not know; registered so the parse-back check understands our script."""

    extension = "include"
    args_definition = [
        {"name": "location", "type": ["tag"], "values": [":personal", ":global"], "required": False},
        {"name": "once", "type": ["tag"], "values": [":once"], "required": False},
        {"name": "optional", "type": ["tag"], "values": [":optional"], "required": False},
        {"name": "script-name", "type": ["string"], "required": True},
    ]


sieve_commands.add_commands(IncludeCommand)


# --- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SieveSettings:
    host: str
    port: int
    tls: str
    username: str
    address: str
    own: tuple[str, ...]  # address first, then aliases


def enabled(settings: dict) -> bool:
    return str(settings.get("sieve") or "auto").strip().lower() != "off"


def sieve_settings(settings: dict) -> SieveSettings:
    """The account's ManageSieve settings; PermanentError (owner-readable) when one is wrong."""
    from socialdesk.connectors import email  # email.py declares this module on its SPEC

    mode = str(settings.get("sieve") or "auto").strip().lower()
    if mode not in MODES:
        raise PermanentError(f"Off-hours replies by the mail server must be auto or off, not {mode!r}.")
    base = email.validate_settings(settings)
    host = email._host(settings, "sieve_host", "The ManageSieve server", fallback=base.imap_host)
    tls = str(settings.get("sieve_tls") or "starttls").strip().lower()
    if tls not in TLS_MODES:
        raise PermanentError(f"ManageSieve security must be starttls or none, not {tls!r}.")
    require_secure_transport(host, tls != "none", "ManageSieve connection")
    port = email._int(settings, "sieve_port", PORT, 1, 65535, "The ManageSieve port")
    return SieveSettings(host, port, tls, base.username, base.address, (base.address, *base.aliases))


# --- the script -------------------------------------------------------------------------------------


def quote(text: str) -> str:
    """A Sieve quoted string (RFC 5228 2.4.2) of `text`: the only way text enters the script."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch == "\n" or ch == "\t" or (ord(ch) >= 32 and ord(ch) != 127))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\r\n") + '"'


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(quote(v) for v in values) + "]"


def stamp(when: datetime) -> str:
    """A bound as `currentdate :zone "+0000" "iso8601"` renders it: 2026-12-04T17:00:00Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def handle(period: ClosedPeriod) -> str:
    return "socialdesk-" + re.sub(r"[^0-9A-Za-z]", "", period.key.removeprefix("closed:"))


def _interval(period: ClosedPeriod, seconds_ok: bool) -> str:
    """`:seconds N` (vacation-seconds) or `:days N`: the period's length, so one reply per person per period."""
    if period.end is None:
        length = timedelta(days=30)  # not open again within the horizon: once a month, as a mailbox would
    else:
        length = max(period.end - period.start, timedelta(seconds=1))
    if seconds_ok:
        return f":seconds {max(1, math.ceil(length.total_seconds()))}"
    return f":days {max(1, math.ceil(length.total_seconds() / 86400))}"


def _guards(own: tuple[str, ...], envelope: bool) -> list[str]:
    robots = sorted(email_reply.AUTOMATED_LOCALPARTS)
    patterns = [*robots, *(r + "+*" for r in robots), "owner-*", "*-request"]
    tests = [
        # one `not exists` per header: `exists` with a list is true only when ALL of them exist (RFC 5228 5.5)
        *(f"not exists {quote(h.lower())}" for h in email_reply.LIST_HEADERS),
        'anyof (not exists "auto-submitted", header :matches "auto-submitted" ["no", "no;*", "no *"])',
        f'not header :is "precedence" {_list(email_reply.BULK_PRECEDENCE)}',
        f'not address :localpart :matches ["from", "sender", "reply-to"] {_list(patterns)}',
        f'not address :all :is ["from", "sender", "reply-to"] {_list(own)}',
    ]
    if envelope:
        tests += [
            'not envelope :all :is "from" ""',
            f'not envelope :localpart :matches "from" {_list(patterns)}',
            f'not envelope :all :is "from" {_list(own)}',
        ]
    return tests


def build_script(
    periods: Iterable[ClosedPeriod], *, address: str, own: tuple[str, ...], capabilities: Iterable[str],
    include: str | None = None,
) -> str:
    """The whole script (module docstring). `capabilities` are the server's SIEVE extensions."""
    caps = {c.lower() for c in capabilities}
    seconds_ok = "vacation-seconds" in caps
    envelope = "envelope" in caps
    required = [*REQUIRED, *(["vacation-seconds"] if seconds_ok else []), *(["envelope"] if envelope else []),
                *(["include"] if include is not None else [])]
    lines = [
        "# socialdesk: off-hours replies while the business is closed. Written by socialdesk; edits are",
        "# replaced at the next refresh. Turn it off in socialdesk (account setting sieve=off) to restore",
        "# the filter that was active before.",
        f"require {_list(required)};",
        "",
    ]
    chain: list[str] = []
    for period in periods:
        bounds = [f'currentdate :zone "+0000" :value "ge" "iso8601" {quote(stamp(period.start))}']
        if period.end is not None:
            bounds.append(f'currentdate :zone "+0000" :value "lt" "iso8601" {quote(stamp(period.end))}')
        test = f"allof ({', '.join(bounds)})"
        action = (
            f"vacation {_interval(period, seconds_ok)} :handle {quote(handle(period))} :from {quote(address)}"
            f" :addresses {_list(own)} :subject {quote(period.subject)}\r\n        {quote(period.text)};"
        )
        keyword = "if" if not chain else "elsif"
        chain.append(f"    {keyword} {test} {{\r\n        {action}\r\n    }}")
    if chain:
        guards = ",\r\n        ".join(_guards(own, envelope))
        lines.append(f"if allof (\r\n        {guards}) {{")
        lines.extend(chain)
        lines.append("}")
    if include is not None:
        lines += ["", "# The filter that was active before socialdesk: every rule of it still runs.",
                  f"include :personal {quote(include)};"]
    return "\r\n".join(lines) + "\r\n"


def check_script(text: str) -> None:
    """Parse the script back with sievelib; PermanentError when it is not valid Sieve."""
    parser = Parser()
    if not parser.parse(text.encode("utf-8")):
        raise PermanentError(f"socialdesk made a Sieve script it cannot read back ({parser.error}).")


def included_script(ours: str) -> str | None:
    """The owner's script our script includes (the record of what was active before ours), or None."""
    match = _INCLUDE_RE.search(ours.replace("\r\n", "\n"))
    if match is None:
        return None
    return re.sub(r"\\(.)", r"\1", match.group(1))


def uses_vacation(script: str) -> bool:
    """Whether a script sends vacation replies itself (then ours must not run beside it)."""
    parser = Parser()
    if parser.parse(script.encode("utf-8")):
        return _has_command(parser.result, "vacation")
    # A script sievelib cannot read (an extension it does not know): judge by its words, erring on
    # the side of leaving it alone.
    return re.search(r"\bvacation\b", script) is not None


def _has_command(cmds: Iterable, name: str) -> bool:
    """Whether an action `name` appears anywhere in a parsed script (actions live in blocks)."""
    return any(cmd.name == name or _has_command(cmd.children, name) for cmd in cmds)


# --- ManageSieve ------------------------------------------------------------------------------------


class _NoService(Exception):
    """Nothing answers on the ManageSieve port."""


class _Client(Client):
    """sievelib's client, opened with a connect timeout and the operation's deadline watching it."""

    def open(self, login: str, password: str, starttls: bool) -> bool:
        try:
            self.sock: socket.socket | None = socket.create_connection((self.srvaddr, self.srvport), timeout=TIMEOUT)
        except (ConnectionRefusedError, TimeoutError) as exc:
            # Refused, or silently dropped by a firewall (no answer within TIMEOUT): nothing serves
            # ManageSieve there (a provider without Sieve). Other OSErrors (offline, DNS) are transient.
            raise _NoService() from exc
        deadline.watch(self.sock)
        # What Client.connect does, minus its socket without a timeout: sievelib's own (name-mangled) steps.
        if not self._Client__get_capabilities():
            raise Error("Failed to read capabilities from server")
        if starttls and not self._Client__starttls():
            raise Error("STARTTLS failed")
        with warnings.catch_warnings():  # plaintext only reaches here for loopback (sieve_settings)
            warnings.simplefilter("ignore")
            return bool(self._Client__authenticate(login, password, "", None))


class ManageSieve:
    """One account's ManageSieve conversation; `push` and `withdraw` each open and close a connection."""

    def __init__(self, settings: dict, secrets: AccountSecrets):
        self.settings = sieve_settings(settings)
        self.secrets = secrets

    def _password(self) -> str:
        from socialdesk.connectors import email

        return email.stored_password(self.secrets)

    def _scrub(self, text: object) -> str:
        from socialdesk.connectors import email

        return email.scrub(self.secrets, text)

    @contextmanager
    def _session(self) -> Iterator[_Client]:
        s = self.settings
        where = f"the ManageSieve server {s.host}:{s.port}"
        client = _Client(s.host, s.port)
        try:
            with deadline.within(DEADLINE_S, where):
                try:
                    if not client.open(s.username, self._password(), s.tls == "starttls"):
                        raise AuthError("The mail server's ManageSieve service rejected the username or password.")
                except _NoService:
                    raise Unavailable(f"The mail server offers no ManageSieve service at {s.host}:{s.port}.") from None
                except ssl.SSLCertVerificationError as exc:
                    raise PermanentError(
                        f"The certificate of {where} could not be verified ({exc.verify_message}); "
                        "socialdesk never connects without a valid certificate."
                    ) from None
                except (OSError, Error) as exc:
                    if "STARTTLS not supported" in str(exc):
                        raise Unavailable(f"{where} does not offer STARTTLS (sieve_tls=starttls).") from None
                    raise TransientError(f"Cannot talk to {where}: {self._scrub(exc)}") from None
                try:
                    yield client
                except (OSError, Error) as exc:
                    raise TransientError(f"Lost {where}: {self._scrub(exc)}") from None
        finally:
            try:
                if client.sock is not None and client.authenticated:
                    client.logout()
            except Exception:  # noqa: BLE001 - some servers close without answering LOGOUT (pymap does)
                pass
            if client.sock is not None:
                client.sock.close()
                client.sock = None

    def _fail(self, client: _Client, what: str) -> PermanentError:
        reason = self._scrub(client.errmsg.decode("utf-8", "replace")) if client.errmsg else "no reason given"
        return PermanentError(f"The mail server refused to {what}: {reason}.")

    def capabilities(self, client: _Client) -> set[str]:
        return {c.lower() for c in (client.get_sieve_capabilities() or [])}

    def push(self, plan: ReplyPlan) -> PushResult:
        """Upload our script for `plan` and make it the active one, keeping the owner's (module docstring)."""
        s = self.settings
        with self._session() as client:
            caps = self.capabilities(client)
            missing = [c for c in REQUIRED if c not in caps]
            if missing:
                raise Unavailable(f"The mail server's Sieve has no {', '.join(missing)} extension.")
            listing = client.listscripts()
            if listing is None:
                raise self._fail(client, "list its filters")
            active, others = listing
            names = set(others) | ({active} if active else set())
            owner: str | None = active if active and active != SCRIPT_NAME else None
            if active == SCRIPT_NAME:
                previous = included_script(client.getscript(SCRIPT_NAME) or "")
                owner = previous if previous in names and previous != SCRIPT_NAME else None
            note = ""
            if owner is not None:
                theirs = client.getscript(owner)
                if theirs is None:
                    raise self._fail(client, f"show the filter {owner!r}")
                if uses_vacation(theirs):
                    raise Kept(f"Your own active mail filter {owner!r} sends vacation replies itself: "
                               "socialdesk left it as it is.")
                if "include" not in caps:
                    raise Kept(f"Your own mail filter {owner!r} is active and the server cannot include it "
                               "in another: socialdesk left it as it is.")
                note = f"your own filter {owner!r} still runs after it"
            periods = plan.periods
            covered_until = plan.covered_until
            while True:
                script = build_script(periods, address=s.address, own=s.own, capabilities=caps, include=owner)
                check_script(script)
                if client.havespace(SCRIPT_NAME, len(script.encode("utf-8"))):
                    break
                if not periods or covered_until - periods[0].start <= timedelta(days=MIN_DAYS):
                    raise self._fail(client, "store the off-hours filter (too large for it)")
                covered_until = max(periods[0].start + timedelta(days=MIN_DAYS),
                                    periods[0].start + (covered_until - periods[0].start) / 2)
                periods = tuple(p for p in periods if p.start < covered_until)
            if "VERSION" in _server_caps(client) and not client.checkscript(script):
                raise self._fail(client, "accept the off-hours filter")
            if not client.putscript(SCRIPT_NAME, script):
                raise self._fail(client, "store the off-hours filter")
            if active != SCRIPT_NAME and not client.setactive(SCRIPT_NAME):
                raise self._fail(client, "switch the off-hours filter on")
        return PushResult(periods=periods, covered_until=covered_until, note=note)

    def withdraw(self) -> str:
        """Deactivate and delete ours; activate again the owner's script it included."""
        with self._session() as client:
            listing = client.listscripts()
            if listing is None:
                raise self._fail(client, "list its filters")
            active, others = listing
            names = set(others) | ({active} if active else set())
            if SCRIPT_NAME not in names:
                return "Nothing of socialdesk's was on the mail server."
            restored = ""
            if active == SCRIPT_NAME:
                previous = included_script(client.getscript(SCRIPT_NAME) or "")
                if previous is not None and previous in names and previous != SCRIPT_NAME:
                    if not client.setactive(previous):
                        raise self._fail(client, f"switch your filter {previous!r} back on")
                    restored = previous
                elif not client.setactive(""):
                    raise self._fail(client, "switch the off-hours filter off")
            if not client.deletescript(SCRIPT_NAME):
                raise self._fail(client, "delete the off-hours filter")
        if restored:
            return f"Removed socialdesk's off-hours filter; your filter {restored!r} is active again."
        return "Removed socialdesk's off-hours filter from the mail server."


def _server_caps(client: _Client) -> set[str]:
    return set(client._Client__capabilities)


class SieveAutoReply:
    """The email connector's `ServerAutoReply` (connectors/server_replies.py)."""

    server_name = "your mail server"
    where_to_remove = (f"delete the filter “{SCRIPT_NAME}” in your mail provider's filter (Sieve) settings and "
                       "switch your own filter on again there")

    def enabled(self, settings: dict) -> bool:
        return enabled(settings)

    def push(self, settings: dict, secrets: AccountSecrets, plan: ReplyPlan) -> PushResult:
        return ManageSieve(settings, secrets).push(plan)

    def withdraw(self, settings: dict, secrets: AccountSecrets) -> str:
        return ManageSieve(settings, secrets).withdraw()


SERVER_AUTO_REPLY = SieveAutoReply()
