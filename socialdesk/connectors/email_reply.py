"""Outgoing email: who a reply goes to, whether an automatic one may go at all, and its headers.

The email connector (connectors/email.py) parses incoming mail; this module owns everything we *send*.
Every value that came from a customer's mail is hostile: it is validated for what it is before it
becomes a header, and the finished message is parsed back and compared with what we meant to send.

Decisions:
- Why values are re-validated although ingest cleaned them: the stored text is *decoded* text, and
  Python 3.11's header registry decodes RFC 2047 encoded-words again when a string is assigned to a
  header (`msg["Subject"] = s`), then folds the result without checking for CR/LF (fixed only in 3.13,
  CVE-2024-6923). A Subject that was an encoded-word inside an encoded-word is stored as the harmless
  text "=?utf-8?q?Hi=0D=0AReply-To:…?=" and would become `Reply-To: attacker` plus a body of the
  attacker's choosing in our reply. So:
  - a text value (Subject, our display name) is one line (control characters become spaces), at most
    MAX_SUBJECT_CHARS, and every "=?" in it becomes "= ?", so nothing in it can be read as an
    encoded-word again, by Python or by the customer's mail program. Only "=?" starts one, so this is
    enough; it costs a visible space in a subject that nobody but an attacker writes;
  - a Message-ID (ours, In-Reply-To, References) must be `<left@right>` of RFC 5322 atext and dots
    (right may be a [literal]), without whitespace or "=?", at most 250 characters; anything else is
    dropped (no In-Reply-To when the parent's own id is unusable; the valid References still thread);
    an id we derived for mail without a readable Message-ID (`@DERIVED_ID_DOMAIN`, connectors/email.py)
    is ours alone, so it is dropped too: the customer's program never knew it, it cannot thread there;
  - an address must be a plain ASCII addr-spec (atext-and-dots local part, LDH domain with a dot, no
    "=?"), is lowercased, and is serialised by email.headerregistry.Address, never by string joining.
    Internationalised local parts are refused (we send without SMTPUTF8); IDN domains are IDNA-encoded.
- Subject and the ids are folded here and set with `set_raw` (policy refold_source "none"), not passed
  through the header registry, which on 3.11 also drops the space between two encoded-words when it
  folds long non-ASCII text, and encodes a Message-ID longer than a line as an encoded-word (which
  breaks threading). The Subject is folded by email.header.Header (plain ASCII when it is, else UTF-8
  encoded-words, lines of at most 78 characters); ids go one per line.
- The finished message is parsed back with a strict parser (policy.default, raise_on_defect) and its
  header names, values and body are compared with what we set; any difference refuses the send with a
  PermanentError. This catches whatever a future Python or a value we did not think of might do.
- Manual replies go where a mail program's "Reply" goes (RFC 5322 3.6.2): the valid Reply-To
  addresses, else From, else the stored identity; but never to our own addresses or an automated
  mailbox named in Reply-To (the customer would never get the answer while the queue shows it
  answered), and a Reply-To of more than MAX_REPLY_TO addresses is ignored in favour of From (a
  hostile Reply-To once made one reply go to 500 strangers).
- Automatic replies (RFC 3834) go to exactly one address, and the guard judges that address, not only
  From. A Reply-To naming several addresses gets NO automatic reply: picking one would be a guess, and
  sending to all is how one message made us write to 500 people. The owner still sees the message and
  can answer it by hand. A single Reply-To that is not a valid address is ignored (From is used), as
  a manual reply does. The one address (Reply-To, else From) must not be one of our own addresses
  (every email account's address and aliases in the profile) or an automated mailbox (mailer-daemon,
  postmaster, noreply…, bounce(s), listserv/majordomo, owner-*, *-request: the list MIT IS&T gives for
  well-behaved responders; "+tags" ignored); From is held to the same; and the message itself must not
  be automatic (Auto-Submitted other than "no", Precedence bulk/list/junk, List-Id/List-Unsubscribe,
  X-Auto-Response-Suppress, a null Return-Path). `auto_reply_refusal` is that one rule: the
  connector's meta["automated"], core/automation's decision and build_reply's last check all call it.
- Identity of a person across the profile's email accounts is `person_address`: the address with
  surrounding space removed and lowercased as a whole. The local part is compared case-insensitively
  although RFC 5321 allows case-sensitive mailboxes: no provider we know of uses that, and treating
  Bob@ and bob@ as two people sends two auto-replies, the failure the promise forbids. Dots and "+tags"
  are kept: their meaning is provider-specific (bob+shop@ may be another mailbox), and merging two real
  people would cost one of them their reply.
"""

from __future__ import annotations

import email.errors
import email.header
import email.headerregistry
import email.message
import email.parser
import email.policy
import email.utils
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.headerregistry import Address
from typing import cast

from socialdesk.connectors import mime_text
from socialdesk.connectors.base import PermanentError, ReplyTarget

MAX_SUBJECT_CHARS = 500
MAX_MESSAGE_ID_CHARS = 250
DERIVED_ID_DOMAIN = "socialdesk.invalid"  # RFC 6761 .invalid: ids we make up for mail without a readable one
MAX_REPLY_TO = 5  # more Reply-To addresses than this: a manual reply goes to From (see reply_recipients)
MAX_REFERENCES = 11  # the root and the last 10 (RFC 5322 3.6.4 leaves the trimming to us)
AUTOMATED_LOCALPARTS = frozenset({
    "mailer-daemon", "noreply", "no-reply", "postmaster", "donotreply", "do-not-reply", "listserv",
    "majordomo", "bounce", "bounces",
})
AUTOMATED = "automated sender"  # the refusal the Activity view shows for RFC 3834 reasons
# Headers that mark a message as list or robot mail, and Precedence values of bulk mail: never auto-answered
# (the app's rule below, and the mail server's Sieve script, connectors/sieve.py, from the same lists).
LIST_HEADERS = ("List-Id", "List-Unsubscribe", "X-Auto-Response-Suppress")
BULK_PRECEDENCE = ("bulk", "list", "junk")

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
_LOCAL = re.compile(rf"[{_ATEXT}.]{{1,64}}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_MESSAGE_ID = re.compile(rf"<[{_ATEXT}.]+@(?:[{_ATEXT}.]+|\[[\x21-\x5a\x5e-\x7e]*\])>")
_REPLY_PREFIX = re.compile(r"(?i)^(re|aw|sv|antw|vs)\s*:")
_STRICT = email.policy.default.clone(raise_on_defect=True)
_POLICY = email.policy.SMTP.clone(refold_source="none")  # set_raw values are written as we folded them


# --- values ---------------------------------------------------------------------------------------


def valid_address(addr: object) -> str:
    """The address lowercased, or PermanentError when it is not one plain, sendable addr-spec."""
    text = str(addr or "").strip()
    problem = PermanentError(f"{mime_text.clean_line(text)[:100]!r} is not a valid email address.")
    if text.count("@") != 1 or "=?" in text:
        raise problem
    local, domain = text.split("@")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise problem from None
    if not _LOCAL.fullmatch(local) or not _DOMAIN.fullmatch(domain) or len(local) + len(domain) > 253:
        raise problem
    return f"{local}@{domain}".lower()


def is_valid_address(addr: object) -> bool:
    try:
        valid_address(addr)
    except PermanentError:
        return False
    return True


def person_address(addr: object) -> str:
    """The identity of an email sender across accounts (see the module docstring); "" if not an address."""
    text = str(addr or "").strip().lower()
    return text if text.count("@") == 1 and not any(c.isspace() for c in text) else ""


def valid_message_id(value: object) -> str:
    """`value` if it is one safe `<left@right>` Message-ID, else "" (dropped)."""
    text = str(value or "")
    if len(text) > MAX_MESSAGE_ID_CHARS or "=?" in text or not _MESSAGE_ID.fullmatch(text):
        return ""
    return text


def thread_id(value: object) -> str:
    """`value` if it may thread our reply: a valid Message-ID that the customer's mail has, not one we derived."""
    text = valid_message_id(value)
    return "" if text.lower().endswith(f"@{DERIVED_ID_DOMAIN}>") else text


def header_text(value: object, limit: int = MAX_SUBJECT_CHARS) -> str:
    """One line of text that no reader can decode into anything else (no control characters, no "=?")."""
    text = mime_text.clean_line(str(value or ""))[:limit].strip()
    return text.replace("=?", "= ?")


def reply_subject(subject: object) -> str:
    base = header_text(subject, MAX_SUBJECT_CHARS - 4)
    if not base:
        return "Re: (no subject)"
    return base if _REPLY_PREFIX.match(base) else f"Re: {base}"


# --- where a reply goes, and whether an automatic one may go ---------------------------------------


def reply_recipients(meta: dict, fallback: object = "", own: str | Iterable[str] = ()) -> list[str]:
    """A manual reply's recipients: the valid Reply-To addresses, else From, else `fallback`.

    Reply-To is the sender's word, but not blindly: our own addresses and automated mailboxes
    (mailer-daemon, list robots) are dropped from it, since a reply there never reaches the customer
    and the conversation would look answered; and a Reply-To naming more than MAX_REPLY_TO addresses
    is not a person asking for an answer, so the reply goes to From instead.
    """
    own_set = {person_address(own)} if isinstance(own, str) else {person_address(a) for a in own}
    listed = [valid_address(a) for a in _listed(meta.get("reply_to")) if is_valid_address(a)]
    reply_to = [a for a in dict.fromkeys(listed) if a not in own_set and not _is_automated_mailbox(a)]
    if reply_to and len(reply_to) <= MAX_REPLY_TO:
        return reply_to
    for candidate in (meta.get("from"), fallback):
        if is_valid_address(candidate):
            return [valid_address(candidate)]
    return []


def own_addresses(settings: dict | None) -> set[str]:
    """An email account's own addresses (address + aliases) from its stored settings; never raises."""
    settings = settings or {}
    found = {person_address(settings.get("address"))}
    found.update(person_address(a) for a in parse_aliases(settings.get("aliases")))
    return found - {""}


def parse_aliases(raw: object) -> list[str]:
    """The `aliases` setting: addresses separated by commas, semicolons or spaces."""
    return [a for a in re.split(r"[\s,;]+", str(raw or "")) if a]


def _is_automated_mailbox(addr: str) -> bool:
    local = addr.split("@")[0].split("+")[0]
    return local in AUTOMATED_LOCALPARTS or local.startswith("owner-") or local.endswith("-request")


def _listed(value: str | Iterable[object] | None) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [str(v) for v in value or [] if str(v).strip()]


def auto_reply_refusal(meta: dict, fallback: object = "", own: str | Iterable[str] = ()) -> str:
    """Why no automatic reply may answer this message ("" when one may go to auto_reply_recipient).

    `meta` is the message's stored email meta, `fallback` the sender's stored address (used when meta
    has no From), `own` the profile's own addresses."""
    own_set = {person_address(own)} if isinstance(own, str) else {person_address(a) for a in own}
    auto = str(meta.get("auto_submitted") or "").strip().lower()
    if auto and not auto.startswith("no"):
        return AUTOMATED
    if str(meta.get("precedence") or "").strip().lower() in BULK_PRECEDENCE:
        return AUTOMATED
    if meta.get("list_id") or meta.get("list_unsubscribe") or meta.get("x_auto_response_suppress"):
        return AUTOMATED
    if str(meta.get("return_path") or "").replace(" ", "") == "<>":  # bounces have a null reverse-path
        return AUTOMATED
    sender = person_address(meta.get("from") or fallback)
    if not sender or sender in own_set or _is_automated_mailbox(sender):
        return AUTOMATED
    reply_to = _listed(meta.get("reply_to"))
    if len(reply_to) > 1:
        return f"Reply-To names {len(reply_to)} addresses (an automatic reply goes to exactly one)"
    if reply_to and is_valid_address(reply_to[0]):
        target = valid_address(reply_to[0])
        if target in own_set:
            return f"Reply-To is our own address {target}"
        if _is_automated_mailbox(target):
            return f"Reply-To is an automated mailbox ({target})"
    elif not is_valid_address(sender):  # an unusable Reply-To is ignored, as a manual reply does
        return "the sender's address is not valid"
    return ""


def auto_reply_recipient(meta: dict, fallback: object = "", own: str | Iterable[str] = ()) -> str:
    """The one address an automatic reply goes to; PermanentError with the reason when none may."""
    refusal = auto_reply_refusal(meta, fallback, own)
    if refusal:
        raise PermanentError(f"No automatic reply: {refusal}.")
    return reply_recipients(meta, fallback, own)[0]


def is_automated(meta: dict, own: str | Iterable[str]) -> bool:
    """RFC 3834 loop guard as one flag (the connector's meta["automated"]): no automatic reply, ever."""
    return bool(auto_reply_refusal(meta, "", own))


# --- the message ------------------------------------------------------------------------------------


def build_reply(
    target: ReplyTarget, text: str, *, address: str, display_name: str, own: Iterable[str], message_id: str,
    now: datetime,
) -> email.message.EmailMessage:
    """The reply as an EmailMessage whose headers are exactly the validated values (see the docstring)."""
    parent = target.parent_meta or {}
    if target.auto_reply:
        recipients = [auto_reply_recipient(parent, target.recipient_external_id, own)]
    else:
        recipients = reply_recipients(parent, target.recipient_external_id, own)
    if not recipients:
        raise PermanentError("This message has no valid sender address to reply to.")
    parent_id = thread_id(_first_id(parent.get("message_id") or target.parent_external_id))
    references = [r for r in (thread_id(r) for r in _listed(parent.get("references"))) if r]
    if not references:
        references = [r for r in (thread_id(r) for r in mime_text.message_ids(
            str(parent.get("in_reply_to") or ""))) if r]
    if parent_id:  # without it (an unusable id) the valid chain still threads the reply
        references = [r for r in references if r != parent_id] + [parent_id]
    if len(references) > MAX_REFERENCES:
        references = references[:1] + references[-(MAX_REFERENCES - 1):]
    ours = valid_message_id(message_id)
    if not ours:
        raise PermanentError(f"Cannot build a safe Message-ID for {address}.")

    subject = reply_subject(target.subject or parent.get("subject"))
    # (name, value a reader must get back, folded raw form or None to let the header registry fold it).
    # Text and ids are folded here and set raw: the registry would decode "=?" in text (3.11), drop the
    # space between adjacent encoded-words when folding long non-ASCII text (3.11), and encode a long
    # Message-ID as an encoded-word, which breaks threading.
    fields: list[tuple[str, object, str | None]] = [
        ("From", email.headerregistry.Address(display_name=header_text(display_name, 200),
                                              addr_spec=valid_address(address)), None),
        ("To", [email.headerregistry.Address(addr_spec=a) for a in recipients], None),
        ("Subject", subject, _folded("Subject", subject)),
        ("Date", email.utils.format_datetime(now.astimezone(UTC)), None),
        ("Message-ID", ours, ours),
    ]
    if parent_id:
        fields.append(("In-Reply-To", parent_id, parent_id))
    if references:
        fields.append(("References", " ".join(references), "\n ".join(references)))
    if target.auto_reply:
        fields += [("Auto-Submitted", "auto-replied", None),
                   ("X-Auto-Response-Suppress", "All", None)]  # ask Exchange not to answer our auto-reply
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    body = body if body.endswith("\n") else body + "\n"
    msg = email.message.EmailMessage(policy=_POLICY)
    try:
        for name, value, raw in fields:
            if raw is None:
                msg[name] = value
            else:
                msg.set_raw(name, raw)
        msg.set_content(body)
    except (ValueError, TypeError, UnicodeError, email.errors.MessageError) as exc:
        raise PermanentError(f"This reply could not be built: {type(exc).__name__}.") from None
    _verify(msg, fields, body)
    return msg


def _folded(name: str, text: str) -> str:
    """`text` as a folded header value that decodes to exactly `text` (lines of at most 78 characters)."""
    plain = text.isascii() and all(len(word) < 60 for word in text.split())
    header = email.header.Header(text, "us-ascii" if plain else "utf-8", header_name=name)
    return header.encode(linesep="\n", maxlinelen=78)


def _first_id(value: object) -> str:
    ids = mime_text.message_ids(str(value or ""))
    return ids[0] if ids else ""


def _verify(msg: email.message.EmailMessage, fields: list[tuple[str, object, str | None]], body: str) -> None:
    """Parse the bytes we would send and refuse unless they say exactly what we set."""
    try:
        back = email.parser.BytesParser(policy=_STRICT).parsebytes(msg.as_bytes())
        names = [name for name, _, _ in fields] + ["Content-Type", "Content-Transfer-Encoding", "MIME-Version"]
        same = [k.lower() for k in back.keys()] == [n.lower() for n in names]
        for name, value, _ in fields:
            if not same:
                break
            got = back[name]
            if name == "To":
                same = [a.addr_spec for a in got.addresses] == [a.addr_spec for a in cast(list[Address], value)]
            elif name == "From":
                sender = cast(Address, value)
                same = (got.addresses[0].addr_spec, got.addresses[0].display_name) == (
                    sender.addr_spec, sender.display_name)
            else:
                same = str(got) == value
        same = same and back.get_content().replace("\r\n", "\n") == body
    except (ValueError, TypeError, LookupError, IndexError, AttributeError, email.errors.MessageError):
        same = False
    if not same:
        raise PermanentError("This reply could not be built safely from the customer's message; "
                             "answer it from your mail program.")
