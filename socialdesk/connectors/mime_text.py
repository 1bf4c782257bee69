"""MIME → plain text: everything the email connector needs to turn untrusted mail into safe text.

Decisions:
- Mail is parsed with the `compat32` policy and every header is decoded here, by hand, because the
  modern policy raises on some malformed headers and on unknown charsets; nothing in a customer's
  mail may crash ingest.
- Charsets: the declared label first; when it is unknown or wrong (the classic "us-ascii" label on
  UTF-8 bytes) UTF-8, then Windows-1252, which decodes any byte. Text is never dropped, at worst a
  few characters are replaced.
- Body: text/plain is preferred; when a message only has HTML it is converted with the standard
  library's HTMLParser into plain text (scripts, styles and the head are dropped, links are shown as
  "text (url)"). Nothing is fetched, nothing is executed; the result is plain text only.
- Headers, names and attachment file names never keep CR, LF or other control characters, so a
  decoded value can never smuggle a header line into anything we send.
- Attachments are listed by name and decoded size; their content is never interpreted.
- Quoted earlier replies (a trailing "> " block with its "On … wrote:" line, or an Outlook
  "-----Original Message-----" / "From: … Sent: …" block) are split off so the thread view shows
  only what is new; the caller keeps the quoted part separately (bounded) if it wants to show it.
- Bounds: HTML input is cut at `MAX_HTML_CHARS` before conversion and the final text at
  `MAX_TEXT_CHARS`, so a 10 MB message costs a bounded amount of work and storage.
"""

from __future__ import annotations

import codecs
import email.errors
import email.header
import email.message
import email.utils
import re
from html.parser import HTMLParser

MAX_TEXT_CHARS = 100_000
MAX_HTML_CHARS = 2_000_000

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_SPACES = re.compile(r"[ \t\u00a0]+")

# Labels that mail clients send but Python does not know, mapped to what they mean.
_CHARSET_ALIASES = {
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "utf-8",
    "unknown-8bit": "utf-8",
    "x-user-defined": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "ansi_x3.4-1968": "ascii",
}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip('"').lower()
    label = _CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode bytes whose charset label may be missing or wrong; never raises."""
    tried = []
    for label in (_codec(charset), "utf-8"):
        if label and label not in tried:
            tried.append(label)
            try:
                return data.decode(label)
            except (UnicodeDecodeError, LookupError):
                continue
    # A label that decodes "wrongly but completely" (latin-1 family) would have succeeded above; this
    # is the last resort: cp1252 for the common Western case, replacing the five undefined bytes.
    return data.decode("cp1252", errors="replace")


def clean_line(value: str) -> str:
    """One header-safe line: control characters (CR, LF, tabs, NUL, U+2028) become spaces."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()


def _raw_to_str(value: object) -> str:
    """A header value as the compat32 parser stores it (str with surrogate-escaped 8-bit bytes or a
    Header object) → str with the raw 8-bit bytes decoded tolerantly."""
    if isinstance(value, email.header.Header):
        parts = []
        for chunk, charset in email.header.decode_header(value):
            parts.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
        return "".join(parts)
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        text = decode_bytes(text.encode("ascii", "surrogateescape"))
    return text


def decode_header_value(value: object) -> str:
    """Decode RFC 2047 encoded words (any charset, tolerating wrong labels) into one clean line."""
    if value is None:
        return ""
    text = _raw_to_str(value)
    try:
        chunks = email.header.decode_header(text)
    except (email.errors.HeaderParseError, ValueError, LookupError):
        return clean_line(text)
    out = []
    for chunk, charset in chunks:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    # decode_header drops the whitespace between an encoded word and plain text: it keeps it inside
    # the plain chunks, so joining without a separator is right.
    return clean_line("".join(out))


def header(msg: email.message.Message, name: str) -> str:
    """The first `name` header, decoded, as one line ("" when absent)."""
    value = msg.get(name)
    return decode_header_value(value) if value is not None else ""


def raw_header(msg: email.message.Message, name: str) -> str:
    """The first `name` header undecoded but unfolded (for ids and addresses, which are ASCII)."""
    value = msg.get(name)
    return clean_line(_raw_to_str(value)) if value is not None else ""


def addresses(msg: email.message.Message, name: str) -> list[tuple[str, str]]:
    """(display name, lowercased address) pairs of an address header; names decoded and cleaned.

    Parsing happens before decoding so an encoded comma or angle bracket in a name cannot forge an
    extra address."""
    values = [_raw_to_str(v) for v in (msg.get_all(name) or [])]
    result = []
    for display, addr in email.utils.getaddresses([clean_line(v) for v in values]):
        addr = clean_line(addr).lower()
        if addr and "@" in addr and " " not in addr:
            result.append((decode_header_value(display), addr))
    return result


_MSGID = re.compile(r"<([^<>\s]+)>")


def message_ids(value: str) -> list[str]:
    """All `<id>`s in a Message-ID / In-Reply-To / References value, normalised as "<id>"."""
    found = [f"<{m}>" for m in _MSGID.findall(value or "")]
    if not found and value and value.strip() and " " not in value.strip():
        # Some broken mailers omit the angle brackets.
        found = [f"<{value.strip().strip('<>')}>"]
    return found


# --- bodies -------------------------------------------------------------------------------------

def _is_attachment(part: email.message.Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    if part.get_filename() and part.get_content_maintype() not in ("text", "multipart"):
        return True
    return part.get_content_maintype() not in ("text", "multipart")


def _part_text(part: email.message.Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError):
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return decode_bytes(payload, part.get_content_charset())


def _body(part: email.message.Message) -> str:
    ctype = part.get_content_type()
    if part.is_multipart():
        subs = [s for s in part.get_payload() if isinstance(s, email.message.Message)]
        if ctype == "message/rfc822":
            return ""  # a forwarded message is listed as an attachment, not inlined
        if ctype == "multipart/alternative":
            for sub in subs:
                if sub.get_content_type() == "text/plain" and not _is_attachment(sub):
                    return _body(sub)
            for sub in reversed(subs):  # the richest alternative is last
                text = _body(sub)
                if text.strip():
                    return text
            return ""
        texts = [_body(sub) for sub in subs if not _is_attachment(sub)]
        return "\n\n".join(t for t in texts if t.strip())
    if ctype == "text/html":
        return html_to_text(_part_text(part))
    if ctype.startswith("text/") or part.get_content_maintype() == "multipart":
        # text/* and the malformed case of a multipart type whose boundary is missing: show as text.
        return _part_text(part)
    return ""


def message_text(msg: email.message.Message) -> str:
    """The readable body of a message as plain text (CRLF normalised, bounded)."""
    if _is_attachment(msg) and not msg.is_multipart():
        text = ""
    else:
        text = _body(msg)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS].rstrip() + "\n\n[Message shortened: it is too long to show in full]"
    return text


def _safe_filename(name: str) -> str:
    name = clean_line(name)
    # Only the last path component: a name is shown, never used as a path, but keep it honest.
    return re.split(r"[\\/]", name)[-1] or "unnamed"


def attachments(msg: email.message.Message) -> list[dict]:
    """Every attachment as {"name", "size" (decoded bytes), "type"}; the content is never parsed."""
    found = []
    for part in msg.walk():
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            continue
        if not _is_attachment(part) and part.get_content_type() != "message/rfc822":
            continue
        try:
            filename = part.get_filename()
        except (ValueError, LookupError, TypeError):
            filename = None
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else None
            name = (header(inner, "Subject") if inner is not None else "") or "message"
            name = filename or f"{name}.eml"
            size = len(inner.as_bytes()) if inner is not None else 0
        else:
            try:
                payload = part.get_payload(decode=True) or b""
            except (ValueError, TypeError, AssertionError):
                payload = b""
            size = len(payload)
            name = filename or "unnamed"
        found.append({"name": _safe_filename(decode_header_value(name)), "size": size,
                      "type": part.get_content_type()})
    return found


# --- HTML → text --------------------------------------------------------------------------------

_BLOCK = {"p", "div", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
          "pre", "section", "article", "header", "footer", "address", "center", "dl", "dt", "dd"}
_SKIP = {"script", "style", "head", "title", "noscript", "template", "svg", "object", "iframe"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0
        self.href: list[str | None] = []
        self.anchor_start: list[int] = []

    def _newline(self, count: int = 1) -> None:
        self.out.append("\n" * count)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self._newline()
        elif tag == "li":
            self._newline()
            self.out.append("- ")
        elif tag in _BLOCK:
            self._newline(2 if tag in ("p", "blockquote", "table") else 1)
            if tag == "pre":
                self.pre += 1
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "hr":
            self.out.append("\n----------\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and not self.skip:
                self.out.append(f"[{alt}]")
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
            self.anchor_start.append(len(self.out))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self._newline(2 if tag in ("p", "blockquote", "table") else 1)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "a" and self.href:
            href = (self.href.pop() or "").strip()
            start = self.anchor_start.pop()
            label = "".join(self.out[start:]).strip()
            if re.match(r"(?i)^(https?|mailto):", href) and href.removeprefix("mailto:") != label:
                self.out.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self.out.append(data if self.pre else _SPACES.sub(" ", re.sub(r"\s+", " ", data)))

    def text(self) -> str:
        lines = [line.strip() for line in "".join(self.out).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """Plain text from untrusted HTML: no markup survives, nothing is fetched or executed."""
    parser = _TextExtractor()
    try:
        parser.feed(html[:MAX_HTML_CHARS])
        parser.close()
    except (AssertionError, ValueError):
        pass  # malformed markup: keep what was extracted so far
    return parser.text()


# --- quoted replies -----------------------------------------------------------------------------

_ATTRIBUTION = re.compile(
    r"(?i)(wrote|schrieb|a écrit|escribió|scrisse|schreef|skrev|написал|napisał)\s*:\s*$"
)
_ATTRIBUTION_START = re.compile(r"(?i)^\s*(on|am|le|el|il|op)\s")
_ORIGINAL = re.compile(
    r"(?i)^\s*-{3,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|"
    r"messaggio originale|oorspronkelijk bericht)\s*-{3,}\s*$"
)
_OUTLOOK_FROM = re.compile(r"(?i)^\s*\*?(from|von|de|da|van)\s*:\*?\s")
_OUTLOOK_SENT = re.compile(r"(?i)^\s*\*?(sent|gesendet|envoyé|enviado|inviato|verzonden|date|datum)\s*:\*?\s")


def split_quoted(text: str) -> tuple[str, str]:
    """(new text, quoted earlier messages). When everything would be quoted, nothing is split."""
    lines = text.split("\n")
    cut = None
    for i, line in enumerate(lines):
        if _ORIGINAL.match(line):
            cut = i
            break
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_SENT.match(nxt) for nxt in lines[i + 1 : i + 4]):
            if i == 0 or not lines[i - 1].strip() or set(lines[i - 1].strip()) <= {"_", "-"}:
                cut = i - 1 if i and lines[i - 1].strip() else i
                break
    if cut is None:
        # A trailing block of "> " lines, with its attribution line ("On …, X wrote:"), which some
        # mailers wrap over two lines.
        end = len(lines)
        i = end
        while i > 0 and (not lines[i - 1].strip() or lines[i - 1].lstrip().startswith(">")):
            i -= 1
        if any(line.lstrip().startswith(">") for line in lines[i:end]):
            cut = i
            previous = [j for j in range(i) if lines[j].strip()][-2:]
            if previous and _ATTRIBUTION.search(lines[previous[-1]]):
                cut = previous[-1]
                first = previous[0]
                if len(previous) == 2 and first == cut - 1 and _ATTRIBUTION_START.match(lines[first]):
                    cut = first
    if cut is None:
        return text, ""
    new = "\n".join(lines[:cut]).rstrip()
    if not new.strip():
        return text, ""
    return new, "\n".join(lines[cut:]).strip("\n")
