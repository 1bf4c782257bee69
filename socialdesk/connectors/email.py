"""Email over IMAP (imapclient) and SMTP (smtplib): the business's mailbox as a queue channel.

Decisions:
- Settings (all strings, as `--set key=value` gives them): imap_host, imap_port, imap_tls
  (ssl | starttls | none), smtp_host (defaults to imap_host), smtp_port, smtp_tls, username (defaults
  to address), address, display_name, mailbox (INBOX), sent_mailbox (optional), initial_days (14),
  poll_seconds (60, only for servers without IDLE). Ports default to 993 (ssl) / 143 for IMAP and
  465 (ssl) / 587 (starttls) / 25 (none) for SMTP. `none` is refused unless the host is loopback.
  TLS always uses `ssl.create_default_context()`: verification is never turned off.
- The password is the secret "password" in AccountSecrets; it is never logged or put in errors
  (server error texts are scrubbed of it before they travel).
- Cursor: {"uidvalidity", "last_uid", "message_ids" (the last MAX_CURSOR_IDS, for dedupe after a
  UIDVALIDITY change), "last_date" (newest INTERNALDATE seen)}. Same UIDVALIDITY: `UID SEARCH
  last+1:*`, filtered to uid > last (the `n:*` quirk). No cursor or a changed UIDVALIDITY: `SEARCH
  SINCE` from initial_days ago — or from the day before `last_date` when that is older, so a reset
  after a long pause loses nothing — and Message-IDs already in the cursor are skipped (ingest
  also dedupes on (account, external_id), so the cursor set is only an optimisation).
- The mailbox is opened read-only (EXAMINE) and bodies are fetched with BODY.PEEK: syncing never
  marks mail as read. Messages larger than MAX_MESSAGE_BYTES are fetched as headers only, and FETCH
  commands are grouped by RFC822.SIZE so memory stays bounded.
- A missing Message-ID is derived from the account and a hash of the raw message, so it is stable
  across re-fetches *and* across a UIDVALIDITY reset (account + UIDVALIDITY + UID would change on a
  reset and duplicate the message).
- Mapping: kind "email", public False; external_id = Message-ID "<…>"; conversation = thread root
  (first References id, else In-Reply-To, else own id); in_reply_to = the In-Reply-To id (ingest also
  attaches by it). created_at = the server's INTERNALDATE (a sender's Date header can lie), falling
  back to Date. Mail from our own address comes back with outbound=True. Quoted earlier replies are
  collapsed out of `text` when the message is a reply; the quoted part is kept bounded in
  meta["quoted_text"]. meta["automated"] is the RFC 3834 loop guard the automation module obeys.
- reply(): the message is built by connectors/email_reply.py, which owns everything outgoing: who a
  reply goes to (an automatic reply: exactly one address, judged by the RFC 3834 guard), validated
  header values that Python cannot re-decode into injected headers, and a parse-back check. "Re: "
  once; In-Reply-To and References per RFC 5322 3.6.4; Message-ID derived from the idempotency key, so
  a retried send is recognisable; `Auto-Submitted: auto-replied` for automatic replies. A copy is
  appended to sent_mailbox when configured; a failure there does not fail the (already delivered) reply.
- `aliases` (optional setting): other addresses that deliver into this mailbox; they count as our own
  for the auto-reply guard (we never auto-reply to ourselves).
- Off-hours replies kept by the mail server while socialdesk is closed (settings sieve, sieve_host,
  sieve_port, sieve_tls): connectors/sieve.py, declared on the SPEC as its `server_auto_reply`.
- stream(): IDLE when the server offers it, idle_check(timeout=1 s) so stop_event is honoured within
  a second, a fetch pass on every (re)connect, whenever the server reports EXISTS, and after every
  IDLE cycle of at most IDLE_RENEW_SECONDS (60 s; servers drop IDLE after 10-30 min). The pass after a
  quiet cycle is not redundant: a message that lands between our last command and the next IDLE is,
  on some servers (pymap, seen in tests), reported only when that IDLE ends, so without the pass it
  would wait for the next customer's mail. One IDLE/DONE and one UID SEARCH a minute is the price.
  A garbled response during IDLE (imapclient reads IDLE responses from a non-blocking socket and
  breaks on a line split across packets, its issue #519) reconnects and fetches at once; only more
  than IDLE_RESYNCS_PER_MINUTE of those in a minute are reported as a connection problem.
  Servers without IDLE are
  polled every poll_seconds inside stream(). Connection loss raises TransientError (the engine backs
  off, then calls stream again, which starts with a full fetch pass).
- Deadlines (connectors/deadline.py): every operation has an overall deadline, not only the 30 s
  per-read socket timeout (TIMEOUT), which a server sending one byte per second never trips.
  `fetch`, `reply` (the SMTP send, and separately the copy to sent_mailbox), `check` (IMAP, then
  SMTP), each stream connect, each fetch pass of the stream and each IDLE cycle (plus its 60 s) get
  DEADLINE_S = 120 s for connect, TLS, greeting, login and commands; a server that is still not done
  is cut off and the operation raises DeadlineExceeded (a TransientError: back off, try again). The
  sockets are watched from creation, before the TLS handshake and the greeting (connectors/
  email_transport.py). 120 s because a healthy server answers these in a few seconds and a busy one
  (a large provider under load) in 20-30; it is four read timeouts. Downloading mail may legitimately
  take longer on a slow link, so each FETCH of bodies adds its announced size at MIN_RATE (64 KiB/s,
  about 0.5 Mbit/s) to the deadline, and a fetch stops starting new FETCH groups after half the base
  deadline and returns what it has, with the cursor covering exactly that (the next fetch continues).
  So every fetch makes progress (its first group always runs) and none takes longer than about
  60 s + one group's allowance (at most FETCH_BYTES / MIN_RATE = 256 s) + 120 s.
- Unreadable mail: one message never stops an account. parse() never raises: a message the parser
  fails on (any exception, through connectors.base.convert_items) is stored with what could be read
  of its headers (sender, date, subject, ids; each header read on its own) and UNREADABLE_NOTE as its
  text; a message read only in part (a mime_text bound, or a header that could not be decoded) keeps
  what was read with the note on top; meta["incomplete"] says so. The fetch loop converts each message
  through the same helper, and the cursor's last_uid covers every fetched UID, so the rest of the batch
  arrives and the bad message is never fetched again. mime_text keeps parsing linear and bounded.
- Errors: login refused → AuthError; socket errors, timeouts, aborted connections, 4xx SMTP →
  TransientError; unverifiable certificates, unknown mailbox, refused recipients, 5xx SMTP →
  PermanentError. All messages are owner-readable.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import email.utils
import functools
import hashlib
import imaplib
import logging
import re
import smtplib
import ssl
import threading
import time
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Callable, Iterator, TypeVar

from socialdesk.connectors import deadline, email_reply, mime_text, network_errors, sieve
from socialdesk.connectors.base import (
    AccountInfo,
    AccountSecrets,
    AuthError,
    Author,
    ConnectorSpec,
    InboundItem,
    OutboundResult,
    PermanentError,
    ReplyTarget,
    TransientError,
    convert_items,
    require_secure_transport,
)
from socialdesk.connectors.email_reply import is_automated, valid_address
from socialdesk.connectors.traits import declare

if TYPE_CHECKING:
    from imapclient import IMAPClient

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_D = TypeVar("_D")

TLS_MODES = ("ssl", "starttls", "none")
MAX_CURSOR_IDS = 1000
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
BATCH = 500  # messages per fetch pass; fetch() runs passes up to MAX_FETCH_ITEMS
MAX_FETCH_ITEMS = 2000
FETCH_CHUNK = 20  # messages per FETCH command
FETCH_BYTES = 16 * 1024 * 1024  # and bytes per FETCH, so a run of big messages stays in bounds
IDLE_RENEW_SECONDS = 60  # see stream() in the module docstring
IDLE_RESYNCS_PER_MINUTE = 3  # reconnects after a garbled IDLE response before the error is reported
MAX_QUOTED_CHARS = 10_000
UNREADABLE_NOTE = "[This message could not be read completely — open it in your mail program.]"
TIMEOUT = 30.0  # per socket read; the overall limit is DEADLINE_S
DEADLINE_S = 120.0  # one operation (see Deadlines in the module docstring)
MIN_RATE = 64 * 1024  # bytes/s a FETCH of bodies is allowed on top of the deadline
AUTH_MESSAGE = "The mail server rejected the username or password"


def _int(settings: dict, key: str, default: int, low: int, high: int, label: str) -> int:
    raw = str(settings.get(key) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PermanentError(f"{label} must be a whole number, not {raw!r}.") from None
    if not low <= value <= high:
        raise PermanentError(f"{label} must be between {low} and {high}.")
    return value


def _host(settings: dict, key: str, label: str, fallback: str = "") -> str:
    host = str(settings.get(key) or fallback).strip()
    if not host:
        raise PermanentError(f"{label} is missing (for example imap.example.com).")
    if not re.fullmatch(r"[A-Za-z0-9.\-:\[\]_]+", host):
        raise PermanentError(f"{label} {host!r} is not a valid host name.")
    return host


def _tls(settings: dict, key: str, default: str, label: str) -> str:
    mode = str(settings.get(key) or default).strip().lower()
    if mode not in TLS_MODES:
        raise PermanentError(f"{label} must be one of ssl, starttls or none, not {mode!r}.")
    return mode


@dataclass(frozen=True)
class EmailSettings:
    imap_host: str
    imap_port: int
    imap_tls: str
    smtp_host: str
    smtp_port: int
    smtp_tls: str
    username: str
    address: str
    display_name: str
    mailbox: str
    sent_mailbox: str
    initial_days: int
    poll_seconds: int
    aliases: tuple[str, ...] = ()

    @property
    def domain(self) -> str:
        return self.address.split("@", 1)[1]

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset((self.address, *self.aliases))


def validate_settings(settings: dict) -> EmailSettings:
    """Parse and check the account settings; PermanentError messages are meant for the owner."""
    address = valid_address(str(settings.get("address") or ""))
    imap_host = _host(settings, "imap_host", "The IMAP server")
    imap_tls = _tls(settings, "imap_tls", "ssl", "IMAP security")
    smtp_host = _host(settings, "smtp_host", "The SMTP server", fallback=imap_host)
    smtp_tls = _tls(settings, "smtp_tls", "starttls", "SMTP security")
    require_secure_transport(imap_host, imap_tls != "none", "IMAP connection")
    require_secure_transport(smtp_host, smtp_tls != "none", "SMTP connection")
    mailbox = mime_text.clean_line(str(settings.get("mailbox") or "INBOX"))
    sent_mailbox = mime_text.clean_line(str(settings.get("sent_mailbox") or ""))
    return EmailSettings(
        imap_host=imap_host,
        imap_port=_int(settings, "imap_port", 993 if imap_tls == "ssl" else 143, 1, 65535, "The IMAP port"),
        imap_tls=imap_tls,
        smtp_host=smtp_host,
        smtp_port=_int(settings, "smtp_port", {"ssl": 465, "starttls": 587, "none": 25}[smtp_tls], 1, 65535,
                       "The SMTP port"),
        smtp_tls=smtp_tls,
        username=mime_text.clean_line(str(settings.get("username") or address)),
        address=address,
        display_name=mime_text.clean_line(str(settings.get("display_name") or "")),
        mailbox=mailbox or "INBOX",
        sent_mailbox=sent_mailbox,
        initial_days=_int(settings, "initial_days", 14, 0, 3650, "Days of mail to import"),
        poll_seconds=_int(settings, "poll_seconds", 60, 1, 86400, "The check interval"),
        aliases=tuple(dict.fromkeys(valid_address(a) for a in email_reply.parse_aliases(settings.get("aliases")))),
    )


def _first(ids: list[str]) -> str:
    return ids[0] if ids else ""


def stored_password(secrets: AccountSecrets) -> str:
    """The mailbox password (IMAP, SMTP and ManageSieve alike); AuthError when none is stored."""
    password = secrets.get("password")
    if not password:
        raise AuthError("No password is stored for this email account: enter it again.")
    return password


def scrub(secrets: AccountSecrets, text: object) -> str:
    """A server's or library's error text made safe to show: the password blanked, one line, bounded."""
    text = str(text)
    try:
        password = secrets.get("password")
    except Exception:  # noqa: BLE001 - a broken keyring must not hide the original error
        password = None
    if password:
        text = text.replace(password, "***")
    return mime_text.clean_line(text)[:300]


class EmailConnector:
    kind = "email"
    capabilities = frozenset({"email", "stream"})

    def __init__(
        self,
        settings: dict,
        secrets: AccountSecrets,
        *,
        now: Callable[[], datetime] | None = None,
        timeout: float = TIMEOUT,
        deadline_s: float = DEADLINE_S,
    ):
        self.settings = validate_settings(settings)
        self.secrets = secrets
        self.now = now or (lambda: datetime.now(UTC))
        self.timeout = timeout
        self.deadline_s = deadline_s
        s = self.settings
        # Identifies this mailbox in derived ids; stable as long as the account points at it.
        self.account_key = f"{s.username}@{s.imap_host}/{s.mailbox}"

    # --- plumbing -------------------------------------------------------------------------------

    def _password(self) -> str:
        return stored_password(self.secrets)

    def _scrub(self, text: object) -> str:
        return scrub(self.secrets, text)

    @contextmanager
    def _errors(self, where: str) -> Iterator[None]:
        """Map library and socket errors to the connector's typed errors."""
        from socialdesk.connectors.email_transport import LoginError

        s = self.settings
        try:
            yield
        except (AuthError, PermanentError, TransientError):
            raise
        except LoginError:
            raise AuthError(AUTH_MESSAGE) from None
        except smtplib.SMTPAuthenticationError:
            raise AuthError(AUTH_MESSAGE) from None
        except ssl.SSLCertVerificationError as exc:
            raise PermanentError(
                f"The certificate of the {where} server could not be verified ({exc.verify_message}); "
                "socialdesk never connects without a valid certificate."
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(sorted(exc.recipients))
            raise PermanentError(f"The mail server refused the recipient {refused}.") from None
        except smtplib.SMTPSenderRefused:
            raise PermanentError(f"The mail server refused our sender address {s.address}.") from None
        except smtplib.SMTPResponseException as exc:
            message = f"The SMTP server answered {exc.smtp_code}: {self._scrub(exc.smtp_error)}"
            raise (PermanentError if exc.smtp_code >= 500 else TransientError)(message) from None
        except (OSError, EOFError) as exc:
            # Socket errors, refused connections, timeouts and TLS failures, said in the owner's words.
            host, port = (s.imap_host, s.imap_port) if where == "IMAP" else (s.smtp_host, s.smtp_port)
            raise TransientError(network_errors.explain(exc, host, port, f"{where} server")) from None
        except (imaplib.IMAP4.abort, smtplib.SMTPException) as exc:
            host, port = (s.imap_host, s.imap_port) if where == "IMAP" else (s.smtp_host, s.smtp_port)
            reason = self._scrub(exc) or type(exc).__name__
            raise TransientError(f"Cannot talk to the {where} server {host}:{port}: {reason}") from None
        except imaplib.IMAP4.error as exc:
            raise TransientError(f"The {where} server reported an error: {self._scrub(exc)}") from None

    def _deadline(self, where: str, extra: float = 0.0) -> AbstractContextManager[deadline.Deadline]:
        """An overall deadline for one operation against the IMAP or SMTP server."""
        s = self.settings
        host, port = (s.imap_host, s.imap_port) if where == "IMAP" else (s.smtp_host, s.smtp_port)
        return deadline.within(self.deadline_s + extra, f"The {where} server {host}:{port}")

    @contextmanager
    def _watched(self, client: IMAPClient, extra: float = 0.0) -> Iterator[None]:
        """A deadline for the next steps on a connection that is already open (the stream's)."""
        with self._deadline("IMAP", extra) as scope:
            scope.watch(client.socket())
            yield

    def _over_budget(self) -> bool:
        """Past half the deadline: start no new FETCH of bodies (see the module docstring)."""
        scope = deadline.current()
        return scope is not None and scope.elapsed() > self.deadline_s / 2

    def _connect_imap(self) -> IMAPClient:
        from socialdesk.connectors.email_transport import WatchedIMAPClient, imap_login

        s = self.settings
        context = ssl.create_default_context()
        with self._errors("IMAP"):
            client = WatchedIMAPClient(s.imap_host, port=s.imap_port, ssl=s.imap_tls == "ssl",
                                       ssl_context=context, timeout=self.timeout)
            try:
                if s.imap_tls == "starttls":
                    client.starttls(context)
                client.normalise_times = False  # aware datetimes, converted to UTC below
                imap_login(client, s.username, self._password())
            except BaseException:
                self._quietly(client.shutdown)
                raise
        return client

    @staticmethod
    def _quietly(action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:  # noqa: BLE001 - closing a broken connection: nothing left to report
            pass

    @contextmanager
    def _imap(self) -> Iterator[IMAPClient]:
        client = self._connect_imap()
        try:
            with self._errors("IMAP"):
                yield client
        finally:
            self._quietly(client.logout)

    def _select(self, client: IMAPClient) -> int:
        try:
            info = client.select_folder(self.settings.mailbox, readonly=True)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error:
            raise PermanentError(f"The mailbox {self.settings.mailbox!r} does not exist on the mail server.") from None
        return int(info[b"UIDVALIDITY"])

    @contextmanager
    def _smtp(self) -> Iterator[smtplib.SMTP]:
        from socialdesk.connectors.email_transport import WatchedSMTP, WatchedSMTP_SSL, smtp_login

        s = self.settings
        context = ssl.create_default_context()
        with self._errors("SMTP"):
            if s.smtp_tls == "ssl":
                server: smtplib.SMTP = WatchedSMTP_SSL(s.smtp_host, s.smtp_port, timeout=self.timeout,
                                                       context=context)
            else:
                server = WatchedSMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
            try:
                server.ehlo()
                if s.smtp_tls == "starttls":
                    server.starttls(context=context)
                    server.ehlo()
                # A local relay may offer no AUTH at all; then there is nothing to log in to.
                if server.has_extn("auth"):
                    smtp_login(server, s.username, self._password())
                yield server
            finally:
                self._quietly(server.quit)

    # --- inbound --------------------------------------------------------------------------------

    def fetch(self, cursor: dict | None) -> tuple[list[InboundItem], dict]:
        items: list[InboundItem] = []
        with self._deadline("IMAP"), self._imap() as client:
            while True:
                batch, cursor, more = self._fetch_pass(client, cursor)
                items.extend(batch)
                if not more or len(items) >= MAX_FETCH_ITEMS or self._over_budget():
                    return items, cursor

    def _fetch_pass(self, client: IMAPClient, cursor: dict | None) -> tuple[list[InboundItem], dict, bool]:
        """One pass over new mail: (items, cursor covering them, whether more is waiting)."""
        uidvalidity = self._select(client)
        cursor = dict(cursor or {})
        known = [str(i) for i in cursor.get("message_ids") or []]
        last_date = cursor.get("last_date") or ""
        if cursor.get("uidvalidity") == uidvalidity:
            last_uid = int(cursor.get("last_uid") or 0)
            uids = [u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid]
        else:
            if cursor.get("uidvalidity") is not None:
                log.info("UIDVALIDITY of %s changed: resyncing by Message-ID", self.settings.mailbox)
            last_uid = 0
            since = self.now() - timedelta(days=self.settings.initial_days)
            if last_date:
                since = min(since, datetime.fromisoformat(last_date) - timedelta(days=1))
            uids = client.search(["SINCE", since.date()])
        uids = sorted(uids)
        more = len(uids) > BATCH
        uids = uids[:BATCH]
        seen = set(known)
        items: list[InboundItem] = []
        for n, (chunk, large, size) in enumerate(self._groups(client, uids)):
            if n and self._over_budget():  # the cursor covers what was read; the next pass goes on
                more = True
                break
            scope = deadline.current()
            if scope is not None:
                scope.extend(size / MIN_RATE)
            data = {}
            small = [u for u in chunk if u not in large]
            if small:
                data.update(client.fetch(small, ["BODY.PEEK[]", "INTERNALDATE"]))
            if large:
                data.update(client.fetch(sorted(large), ["BODY.PEEK[HEADER]", "INTERNALDATE"]))
            last_uid = max([last_uid, *chunk])  # past every UID fetched, also one that cannot be read
            # (uid, FETCH data, headers only?); a UID without data was expunged between SEARCH and FETCH.
            fetched = [(uid, data[uid], uid in large) for uid in chunk if uid in data]
            for item in convert_items(
                fetched, lambda got: self._parse(self._raw(got[1]), self._internaldate(got[1]), got[2]),
                what="email", ident=lambda got: f"UID {got[0]}",
                unreadable=lambda got: self._unreadable(self._raw(got[1]), self._internaldate(got[1])),
            ):
                stamp = item.created_at.isoformat()
                last_date = max(last_date, stamp) if last_date else stamp
                if item.external_id in seen:
                    continue
                seen.add(item.external_id)
                known.append(item.external_id)
                items.append(item)
        new_cursor = {
            "uidvalidity": uidvalidity,
            "last_uid": last_uid,
            "message_ids": known[-MAX_CURSOR_IDS:],
            "last_date": last_date,
        }
        return items, new_cursor, more

    @staticmethod
    def _groups(client: IMAPClient, uids: list[int]) -> Iterator[tuple[list[int], set[int], int]]:
        """UIDs in fetch groups of at most FETCH_CHUNK messages / FETCH_BYTES bytes (a group may hold
        one bigger message alone), with the set of messages too large to download (headers only)
        and the bytes the group will download."""
        for start in range(0, len(uids), 200):
            part = uids[start : start + 200]
            sizes = {uid: int(d.get(b"RFC822.SIZE", 0)) for uid, d in client.fetch(part, ["RFC822.SIZE"]).items()}
            group: list[int] = []
            total = 0
            for uid in part:
                size = sizes.get(uid, 0) if sizes.get(uid, 0) <= MAX_MESSAGE_BYTES else 0
                if group and (len(group) >= FETCH_CHUNK or total + size > FETCH_BYTES):
                    yield group, {u for u in group if sizes.get(u, 0) > MAX_MESSAGE_BYTES}, total
                    group, total = [], 0
                group.append(uid)
                total += size
            if group:
                yield group, {u for u in group if sizes.get(u, 0) > MAX_MESSAGE_BYTES}, total

    @staticmethod
    def _raw(entry: dict) -> bytes:
        raw = entry.get(b"BODY[]") or entry.get(b"BODY[HEADER]") or b""
        return raw if isinstance(raw, bytes) else b""

    @staticmethod
    def _internaldate(entry: dict) -> datetime | None:
        value = entry.get(b"INTERNALDATE")
        return value if isinstance(value, datetime) else None

    def derived_message_id(self, raw: bytes) -> str:
        digest = hashlib.sha256(self.account_key.encode() + b"\0" + raw).hexdigest()[:32]
        return f"<derived-{digest}@{email_reply.DERIVED_ID_DOMAIN}>"

    def parse(self, raw: bytes, *, internaldate: datetime | None = None, truncated: bool = False) -> InboundItem:
        """One raw RFC 5322 message → InboundItem; never raises. A message that cannot be read whole
        comes back with what could be read and UNREADABLE_NOTE (see "Unreadable mail" above)."""
        items = convert_items(
            [raw], lambda raw: self._parse(raw, internaldate, truncated), what="email message",
            ident=lambda raw: f"of {len(raw)} bytes", unreadable=lambda raw: self._unreadable(raw, internaldate),
        )
        return items[0] if items else self._unreadable(b"", internaldate, raw)

    def _parse(self, raw: bytes, internaldate: datetime | None, truncated: bool) -> InboundItem:
        parsed = mime_text.parse_message(raw)
        msg = parsed.message
        text = mime_text.message_text(msg) if not truncated else ""
        quoted = ""
        head = self._head(msg, raw, internaldate)
        if head["in_reply_to"] or head["references"]:
            text, quoted = mime_text.split_quoted(text)
        if truncated:
            text = "[This message is too large to show here; open it in your mail program.]"
        complete = parsed.complete and head["complete"]
        if not complete and not truncated:
            text = f"{UNREADABLE_NOTE}\n\n{text}".strip()
        extra = {
            "attachments": mime_text.attachments(msg) if not truncated else [],
            "quoted_text": quoted[:MAX_QUOTED_CHARS],
            "truncated": truncated,
            "incomplete": not complete,
        }
        return self._item(head, text, extra)

    def _unreadable(self, raw: bytes, internaldate: datetime | None, original: bytes | None = None) -> InboundItem:
        """What could be read of a message the parser failed on: each header on its own (one that
        fails is left empty), the note as its text. The RFC 3834 guard treats a message whose
        headers could not be read at all as automated: never auto-answer what we cannot see."""
        try:
            msg: email.message.Message | None = mime_text.parse_headers(raw)
        except Exception:  # noqa: BLE001 - hostile input; nothing could be read
            msg = None
        head = self._head(msg, original if original is not None else raw, internaldate)
        extra = {"attachments": [], "quoted_text": "", "truncated": False, "incomplete": True}
        item = self._item(head, UNREADABLE_NOTE, extra)
        if msg is None:
            item.meta["automated"] = True
        return item

    def _head(self, msg: email.message.Message | None, raw: bytes, internaldate: datetime | None) -> dict:
        """The header facts of a message; each read on its own, so one hostile header costs only itself."""

        failed: list[str] = []

        def read(what: Callable[[email.message.Message], _T], default: _D) -> _T | _D:
            if msg is None:
                return default
            try:
                return what(msg)
            except Exception as exc:  # noqa: BLE001 - hostile input: this one fact stays unknown
                failed.append(type(exc).__name__)
                return default

        def addresses(name: str) -> list[str]:
            return [addr for _, addr in read(lambda m: mime_text.addresses(m, name), [])]

        message_id = read(lambda m: _first(mime_text.message_ids(mime_text.raw_header(m, "Message-ID"))), "")
        references = read(lambda m: mime_text.message_ids(" ".join(mime_text.raw_header(m, "References").split())), [])
        senders = read(lambda m: mime_text.addresses(m, "From") or mime_text.addresses(m, "Sender"), [])
        name, sender = senders[0] if senders else ("", "")
        head = {
            "message_id": message_id or self.derived_message_id(raw),
            "in_reply_to": read(lambda m: _first(mime_text.message_ids(mime_text.raw_header(m, "In-Reply-To"))), ""),
            "references": references,
            "subject": read(lambda m: mime_text.header(m, "Subject"), ""),
            "from": sender,
            "from_name": name,
            "reply_to": addresses("Reply-To"),
            "to": addresses("To"),
            "cc": addresses("Cc"),
            **{key: read(functools.partial(mime_text.header, name=h), "") for key, h in (
                ("auto_submitted", "Auto-Submitted"), ("precedence", "Precedence"), ("list_id", "List-Id"),
                ("list_unsubscribe", "List-Unsubscribe"), ("x_auto_response_suppress", "X-Auto-Response-Suppress"))},
            "return_path": read(lambda m: mime_text.raw_header(m, "Return-Path").replace(" ", ""), ""),
            "created": read(lambda m: self._created_at(m, internaldate), None) or self._created_at(None, internaldate),
        }
        if failed:
            log.warning("%d header(s) of an email could not be read (%s)", len(failed), ", ".join(failed))
        head["complete"] = msg is not None and not failed
        return head

    def _item(self, head: dict, text: str, extra: dict) -> InboundItem:
        root = _first(head["references"]) or head["in_reply_to"] or head["message_id"]
        meta = {key: value for key, value in head.items() if key not in ("created", "complete")}
        meta["references"] = head["references"][-50:]
        meta.update(extra)
        meta["automated"] = is_automated(meta, self.settings.own_addresses)
        sender = head["from"]
        return InboundItem(
            external_id=head["message_id"],
            conversation_external_id=root,
            kind="email",
            public=False,
            author=Author(external_id=sender or "unknown", handle=sender, display_name=head["from_name"]),
            text=text,
            created_at=head["created"],
            subject=head["subject"],
            in_reply_to=head["in_reply_to"],
            outbound=sender == self.settings.address,
            meta=meta,
        )

    def _created_at(self, msg: email.message.Message | None, internaldate: datetime | None) -> datetime:
        if isinstance(internaldate, datetime):
            if internaldate.tzinfo is None:
                return internaldate.replace(tzinfo=UTC)
            return internaldate.astimezone(UTC)
        if msg is None:
            return self.now()
        try:
            parsed = email.utils.parsedate_to_datetime(mime_text.raw_header(msg, "Date"))
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is None:
            return self.now()
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

    # --- outbound -------------------------------------------------------------------------------

    def our_message_id(self, idempotency_key: str) -> str:
        digest = hashlib.sha256(f"{self.account_key}\0{idempotency_key}".encode()).hexdigest()[:32]
        return f"<sd-{digest}@{self.settings.domain}>"

    def build_reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> email.message.EmailMessage:
        """The reply as an EmailMessage (separate from sending so it can be inspected in tests)."""
        s = self.settings
        return email_reply.build_reply(
            target, text, address=s.address, display_name=s.display_name, own=s.own_addresses,
            message_id=self.our_message_id(idempotency_key), now=self.now(),
        )

    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult:
        msg = self.build_reply(target, text, idempotency_key=idempotency_key)
        recipients = [a.addr_spec for a in msg["To"].addresses]
        with self._deadline("SMTP"), self._smtp() as server:
            with self._errors("SMTP"):
                server.send_message(msg, from_addr=self.settings.address, to_addrs=recipients)
        meta = {"message_id": str(msg["Message-ID"]), "subject": str(msg["Subject"]), "to": recipients,
                "references": str(msg.get("References", "")).split()}
        if self.settings.sent_mailbox:
            try:
                with self._deadline("IMAP"), self._imap() as client:
                    client.append(self.settings.sent_mailbox, msg.as_bytes(), flags=[b"\\Seen"])
                meta["sent_copy"] = "saved"
            except (AuthError, PermanentError, TransientError) as exc:
                # The mail has gone out; failing now would make the outbox send it twice.
                log.warning("reply sent but not saved to %s: %s", self.settings.sent_mailbox, exc)
                meta["sent_copy"] = f"not saved: {exc}"
        return OutboundResult(external_id=str(msg["Message-ID"]), meta=meta)

    def post_status(self, text: str, *, idempotency_key: str) -> OutboundResult:
        raise PermanentError("Email accounts cannot post a status.")

    # --- connection test ------------------------------------------------------------------------

    def check(self) -> AccountInfo:
        s = self.settings
        notes = []
        with self._deadline("IMAP"), self._imap() as client:
            self._select(client)
            if not client.has_capability("IDLE"):
                notes.append(f"This mail server does not offer IMAP IDLE: new mail is checked every "
                             f"{s.poll_seconds} seconds.")
            if s.sent_mailbox and not client.folder_exists(s.sent_mailbox):
                notes.append(f"The sent folder {s.sent_mailbox!r} does not exist: replies will not be "
                             "saved there.")
        with self._deadline("SMTP"), self._smtp() as server:
            with self._errors("SMTP"):
                server.noop()
        name = f"{s.display_name} <{s.address}>" if s.display_name else s.address
        return AccountInfo(display_name=name, handle=s.address, notes=tuple(notes))

    # --- real time ------------------------------------------------------------------------------

    def stream(
        self,
        cursor: dict | None,
        on_items: Callable[[list[InboundItem], dict], None],
        stop_event: threading.Event,
    ) -> None:
        with self._deadline("IMAP"):
            client = self._connect_imap()
        resyncs: list[float] = []
        try:
            with self._errors("IMAP"):
                cursor = self._deliver(client, cursor, on_items)
                if not client.has_capability("IDLE"):
                    while not stop_event.wait(self.settings.poll_seconds):
                        cursor = self._deliver(client, cursor, on_items)
                    return
                while not stop_event.is_set():
                    try:
                        with self._watched(client, extra=IDLE_RENEW_SECONDS):
                            self._idle_until_change(client, stop_event)
                    except imaplib.IMAP4.abort as exc:
                        # imapclient's idle_check reads lines from a non-blocking socket and fails on a
                        # response split across two packets (imapclient issue #519; seen with pymap here
                        # and reported with Dovecot). The connection is out of step but nothing is lost:
                        # reconnect and fetch at once instead of reporting the account as failing. A
                        # server that really went away fails the reconnect; three in a minute are raised.
                        now = time.monotonic()
                        resyncs = [t for t in resyncs if now - t < 60] + [now]
                        if len(resyncs) > IDLE_RESYNCS_PER_MINUTE:
                            raise
                        log.info("IMAP IDLE out of step (%s); reconnecting", self._scrub(exc))
                        self._quietly(client.shutdown)  # no LOGOUT: its answer could be garbled too
                        with self._deadline("IMAP"):
                            client = self._connect_imap()
                    if not stop_event.is_set():
                        cursor = self._deliver(client, cursor, on_items)
        finally:
            with self._watched(client):
                self._quietly(client.logout)

    def _deliver(self, client: IMAPClient, cursor: dict | None, on_items) -> dict:
        """Fetch passes until nothing is waiting; hand every batch (even empty, when the cursor
        moved) to on_items."""
        while True:
            with self._watched(client):  # each pass its own deadline: a long catch-up goes on in steps
                items, new_cursor, more = self._fetch_pass(client, cursor)
            if items or new_cursor != cursor:
                on_items(items, new_cursor)
            cursor = new_cursor
            if not more:
                return cursor

    def _idle_until_change(self, client: IMAPClient, stop_event: threading.Event) -> None:
        """IDLE until the mailbox changes, the cycle ends or stop_event is set."""
        client.idle()
        started = time.monotonic()
        try:
            while not stop_event.is_set() and time.monotonic() - started < IDLE_RENEW_SECONDS:
                responses = client.idle_check(timeout=1)
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"EXPUNGE") for r in responses):
                    return
                if any(r and r[0] == b"BYE" for r in responses):
                    raise TransientError("The IMAP server closed the connection.")
        finally:
            client.idle_done()

    def close(self) -> None:
        """Nothing to release: every call opens and closes its own connections."""


def _autoconfig(address: str):
    from socialdesk.connectors import email_autoconfig  # XML and DNS parsing: only when a form asks

    return email_autoconfig.lookup(address)


# Replies are emails of any length; a person is their address, never @-addressed.
TRAITS = declare("email", spoken_name="email", replies_by_email=True, poll_seconds=60)

SPEC = ConnectorSpec(
    kind="email",
    title="Email (IMAP/SMTP)",
    capabilities=frozenset({"email", "stream"}),
    settings=(
        ("address", "Email address customers write to", ""),
        ("display_name", "Name shown to customers", ""),
        ("aliases", "Other addresses of this mailbox (optional, comma separated)", ""),
        ("username", "Login name (empty: the email address)", ""),
        ("imap_host", "IMAP server", ""),
        ("imap_port", "IMAP port (empty: 993 for ssl, else 143)", ""),
        ("imap_tls", "IMAP security: ssl, starttls or none", "ssl"),
        ("smtp_host", "SMTP server (empty: the IMAP server)", ""),
        ("smtp_port", "SMTP port (empty: 465 ssl, 587 starttls, 25 none)", ""),
        ("smtp_tls", "SMTP security: ssl, starttls or none", "starttls"),
        ("mailbox", "Mailbox to watch", "INBOX"),
        ("sent_mailbox", "Folder to save sent replies in (optional, e.g. Sent)", ""),
        ("initial_days", "Days of existing mail to import", "14"),
        ("poll_seconds", "Check interval when the server has no IDLE (seconds)", "60"),
        ("sieve", "Off-hours replies by the mail server while socialdesk is closed (Sieve): auto or off", "auto"),
        ("sieve_host", "ManageSieve server (empty: the IMAP server)", ""),
        ("sieve_port", "ManageSieve port", "4190"),
        ("sieve_tls", "ManageSieve security: starttls or none", "starttls"),
    ),
    secret_label="Password",
    needs="The mailbox's address and password (an app password if the provider uses two-step login). "
    "The server names are filled in from the address where the provider publishes them.",
    traits=TRAITS,
    factory=lambda settings, secrets: EmailConnector(settings, secrets),
    server_auto_reply=sieve.SERVER_AUTO_REPLY,
    autofill=lambda address: _autoconfig(address),
    autofill_from="address",
    advanced_settings=frozenset({
        "aliases", "username", "imap_port", "imap_tls", "smtp_port", "smtp_tls", "mailbox", "sent_mailbox",
        "initial_days", "poll_seconds", "sieve", "sieve_host", "sieve_port", "sieve_tls",
    }),
)
