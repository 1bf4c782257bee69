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
- Every step is linear in the message, because the standard library's is not (measured on 3.11:
  a Subject of 40,000 encoded words took over a minute in email.header.decode_header, 2 MB of "<!--"
  about 20 minutes in html.parser, and the feed parser checks every line against every enclosing
  boundary and recurses once per nesting level, so 500 nested multiparts raise RecursionError):
  * `parse_message` splits the MIME tree itself: each entity's header block goes to the standard
    parser (compat32), bodies are cut at their boundary lines by one regular-expression search per
    multipart (C speed, no per-line Python), and the tree is bounded (`MAX_DEPTH` levels,
    `MAX_PARTS` entities, `MAX_HEADER_BYTES` of headers per entity). What lies beyond a bound is not
    read and the result says so (`ParsedMail.complete`), so the connector can show its "could not be
    read completely" note. Only LF and CRLF line ends are recognised around boundaries.
  * RFC 2047 words are decoded here in one pass (adjacent words of one charset are joined before
    decoding, so a character split across words survives), from at most `MAX_HEADER_CHARS` of a value.
  * HTML is tokenised by html_text.HTMLScanner (linear), not html.parser.
- Charset labels that name a Python codec which is no mail charset ("undefined" always raises,
  punycode and idna raise UnicodeError and are slow, the escape codecs interpret backslashes, and the
  bytes-to-bytes codecs such as zlib or base64 are not text) count as unknown labels.
"""

from __future__ import annotations

import binascii
import codecs
import email.header
import email.message
import email.parser
import email.utils
import re
from dataclasses import dataclass

from socialdesk.connectors.html_text import HTMLScanner, tidy_lines

MAX_TEXT_CHARS = 100_000
MAX_HTML_CHARS = 300_000  # of one HTML part converted: 3x the text limit; a tag flood stays well under 1 s
MAX_HEADER_CHARS = 20_000  # of one header value decoded: far beyond any real Subject, name or address list
MAX_HEADER_BYTES = 256 * 1024  # of one entity's header block (long Received/DKIM chains are ~50 KB)
MAX_PARTS = 500  # MIME entities read from one message
MAX_DEPTH = 12  # nesting of multiparts and attached messages (real mail rarely goes past 6)
MAX_BOUNDARY_CHARS = 200  # RFC 2046 allows 70
MAX_PART_BYTES = 4 * max(MAX_TEXT_CHARS, MAX_HTML_CHARS)  # of one text part decoded

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


# Python codecs that are not mail charsets (see the module docstring); codecs.lookup names.
_NOT_CHARSETS = frozenset({"undefined", "punycode", "idna", "unicode-escape", "raw-unicode-escape"})


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip('"').lower()[:64]
    label = _CHARSET_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if info.name in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None = None, *, cut: bool = False) -> str:
    """Decode bytes whose charset label may be missing or wrong; never raises. `cut`: the bytes were
    cut short, so a character split at the end is dropped instead of failing the charset."""
    tried = []
    for label in (_codec(charset), "utf-8"):
        if label and label not in tried:
            tried.append(label)
            try:
                if cut:
                    return codecs.getincrementaldecoder(label)().decode(data, final=False)
                return data.decode(label)
            except (ValueError, LookupError):  # UnicodeError is a ValueError
                continue
    # A label that decodes "wrongly but completely" (latin-1 family) would have succeeded above; this
    # is the last resort: cp1252 for the common Western case, replacing the five undefined bytes.
    return data.decode("cp1252", errors="replace")


def clean_line(value: str) -> str:
    """One header-safe line: control characters (CR, LF, tabs, NUL, U+2028) become spaces."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()


_SURROGATE = re.compile("[\udc80-\udcff]")


def _raw_to_str(value: object) -> str:
    """A header value as the compat32 parser stores it (str with surrogate-escaped 8-bit bytes or a
    Header object) → str with the raw 8-bit bytes decoded tolerantly; at most MAX_HEADER_CHARS."""
    if isinstance(value, email.header.Header):
        parts = []
        for chunk, charset in email.header.decode_header(value):
            parts.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
        return "".join(parts)[:MAX_HEADER_CHARS]
    text = str(value)[:MAX_HEADER_CHARS]
    if _SURROGATE.search(text):
        text = decode_bytes(text.encode("ascii", "surrogateescape"))
    return text


# An RFC 2047 encoded word. The encoded text cannot hold "?" (Q encodes it, B has none), so every try
# stops at the next "?" and a run of broken words is still scanned once.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")


def _word_bytes(encoding: str, text: str) -> bytes | None:
    data = text.encode("ascii", "replace")
    try:
        if encoding in "qQ":
            return binascii.a2b_qp(data, header=True)
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return None


def decode_header_value(value: object) -> str:
    """Decode RFC 2047 encoded words (any charset, tolerating wrong labels) into one clean line.

    Whitespace between two encoded words is dropped, whitespace next to plain text kept (RFC 2047
    6.2); a word that does not decode stays as it was written."""
    if value is None:
        return ""
    text = _raw_to_str(value)
    out: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    after_word = False
    pos = 0
    for m in _ENCODED_WORD.finditer(text):
        gap = text[pos : m.start()]
        pos = m.end()
        decoded = _word_bytes(m.group(2), m.group(3))
        charset = m.group(1).split("*", 1)[0].lower()  # RFC 2231 adds "*language"
        if gap and not (after_word and gap.isspace() and decoded is not None):
            if pending_charset is not None:
                out.append(decode_bytes(bytes(pending), pending_charset))
                pending.clear()
                pending_charset = None
            out.append(gap)
        if decoded is None:
            if pending_charset is not None:
                out.append(decode_bytes(bytes(pending), pending_charset))
                pending.clear()
                pending_charset = None
            out.append(m.group(0))
            after_word = False
            continue
        if pending_charset is not None and charset != pending_charset:
            out.append(decode_bytes(bytes(pending), pending_charset))
            pending.clear()
        pending += decoded
        pending_charset = charset
        after_word = True
    if pending_charset is not None:
        out.append(decode_bytes(bytes(pending), pending_charset))
    out.append(text[pos:])
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
    values, total = [], 0
    for raw in msg.get_all(name) or []:
        value = clean_line(_raw_to_str(raw))
        if total + len(value) > MAX_HEADER_CHARS:
            # Cut after the last complete address that fits, never inside one.
            value = value[: max(0, value.rfind(",", 0, MAX_HEADER_CHARS - total))]
            values.append(value)
            break
        values.append(value)
        total += len(value)
    result = []
    for display, addr in email.utils.getaddresses(values):
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


# --- the MIME tree -----------------------------------------------------------------------------

class Part(email.message.Message):
    """A MIME entity as `parse_message` builds it (compat32 semantics); `raw_size` is the length of its
    body as received, so listing an attached message never re-serialises it."""

    raw_size = 0


@dataclass
class ParsedMail:
    message: Part
    complete: bool  # False when a bound of the module docstring left something unread


class _Budget:
    def __init__(self) -> None:
        self.parts = 0
        self.complete = True


_HEADER_PARSER = email.parser.BytesParser(_class=Part)  # compat32 semantics: the default policy


def parse_message(raw: bytes) -> ParsedMail:
    """The MIME tree of an RFC 5322 message in linear time and bounded depth (see the docstring)."""
    budget = _Budget()
    message = _entity(raw, 0, len(raw), 0, budget)
    return ParsedMail(message, budget.complete)


def _header_end(raw: bytes, start: int, end: int) -> tuple[int, int]:
    """(end of the header block, start of the body) of the entity raw[start:end]."""
    if raw.startswith((b"\n", b"\r\n"), start):  # no headers at all
        return start, start + (1 if raw[start] == 10 else 2)
    found = [i for i in (raw.find(b"\n\n", start, end), raw.find(b"\n\r\n", start, end)) if i >= 0]
    if not found:
        return end, end  # headers only (a header fetch, or a message without a body)
    blank = min(found)
    return blank + 1, blank + (2 if raw[blank + 1] == 10 else 3)


def parse_headers(raw: bytes) -> Part:
    """Only the header block of a message (bounded like parse_message), with no body."""
    return _headers(raw, 0, len(raw), _Budget())[0]


def _headers(raw: bytes, start: int, end: int, budget: _Budget) -> tuple[Part, int]:
    """The headers of the entity raw[start:end] (payload None) and where its body starts."""
    header_end, body_start = _header_end(raw, start, end)
    header = raw[start:header_end]
    cut = len(header) > MAX_HEADER_BYTES
    if cut:
        header = header[: header.rfind(b"\n", 0, MAX_HEADER_BYTES) + 1]
    msg = _HEADER_PARSER.parsebytes(header, headersonly=True)
    rest = msg.get_payload()
    if isinstance(rest, str) and rest:
        # A line that is no header ended the headers early: the body starts there (as in the feed parser).
        body_start = start + len(header) - len(rest.encode("ascii", "surrogateescape"))
    elif cut:
        budget.complete = False
    msg.set_payload(None)  # type: ignore[call-overload]  # None clears it (compat32); typeshed omits None
    return msg, body_start


def _entity(raw: bytes, start: int, end: int, depth: int, budget: _Budget) -> Part:
    budget.parts += 1
    msg, body_start = _headers(raw, start, end, budget)
    msg.raw_size = end - body_start
    ctype = msg.get_content_type()
    if ctype.startswith("multipart/") or ctype == "message/rfc822":
        if depth >= MAX_DEPTH:
            budget.complete = False
            msg.set_payload("")
            return msg
        if ctype == "message/rfc822":
            msg.attach(_entity(raw, body_start, end, depth + 1, budget))
            return msg
        spans = _part_spans(raw, body_start, end, _boundary(msg), budget)
        if spans is not None:
            for part_start, part_end in spans:
                if budget.parts >= MAX_PARTS:
                    budget.complete = False
                    break
                msg.attach(_entity(raw, part_start, part_end, depth + 1, budget))
            if msg.get_payload() is None:
                msg.set_payload([])
            return msg
        # No boundary, or none found in the body: the body is shown as text (see _body).
    msg.set_payload(raw[body_start:end].decode("ascii", "surrogateescape"))
    return msg


def _boundary(msg: email.message.Message) -> bytes | None:
    try:
        boundary = msg.get_boundary()
    except (ValueError, LookupError, TypeError):
        return None
    if not boundary or len(boundary) > MAX_BOUNDARY_CHARS:
        return None
    return boundary.encode("utf-8", "surrogateescape")


def _part_spans(raw: bytes, start: int, end: int, boundary: bytes | None,
                budget: _Budget) -> list[tuple[int, int]] | None:
    """The (start, end) of each body part between the delimiter lines of `boundary`, or None when no
    delimiter line is found. A delimiter line is "--boundary" (or "--boundary--", which closes) at the
    start of a line, optionally followed by spaces; the line end before it belongs to it (RFC 2046)."""
    if boundary is None:
        return None
    delimiter = b"--" + boundary
    spans: list[tuple[int, int]] = []
    part_start = None
    for m in _delimiter_lines(raw, start, end, delimiter):
        if part_start is not None:
            part_end = m.start() - 1
            if part_end > part_start and raw[part_end - 1] == 13:
                part_end -= 1
            spans.append((part_start, max(part_start, part_end)))
            if len(spans) > MAX_PARTS:
                budget.complete = False
                return spans
        if m.group(1):  # the close delimiter: what follows is the epilogue
            return spans
        part_start = m.end()
    if part_start is None:
        return None
    spans.append((part_start, end))  # no close delimiter: the last part runs to the end
    return spans


class _Line:
    """A found delimiter line, shaped like the re.Match _part_spans reads."""

    def __init__(self, begin: int, finish: int, closing: bool) -> None:
        self.begin, self.finish, self.closing = begin, finish, closing

    def start(self) -> int:
        return self.begin

    def end(self) -> int:
        return self.finish

    def group(self, _: int) -> bytes | None:
        return b"--" if self.closing else None


_CANDIDATE_LIMIT = 4 * MAX_PARTS


def _delimiter_lines(raw: bytes, start: int, end: int, delimiter: bytes):
    """The delimiter lines of raw[start:end], in order. The pattern's literal comes first so the
    search runs at C speed and the look-behind then insists on a line start. When the body holds far
    more lines that merely begin like a delimiter than a message can have parts (a hostile message
    of "--boundaryX" lines costs a regex try each), only the three exact forms are looked for with
    bytes.find, which never stops at a near miss; a delimiter padded with spaces is then not seen."""
    if raw.count(b"\n" + delimiter, start, end) <= _CANDIDATE_LIMIT:
        pattern = re.compile(re.escape(delimiter) + b"(?<=\n" + re.escape(delimiter) + b")(--)?[ \t]*(?:\r?\n|\\Z)")
        yield from pattern.finditer(raw, start, end)
        return
    forms = [b"\n" + delimiter + b"\r\n", b"\n" + delimiter + b"\n", b"\n" + delimiter + b"--"]
    found = [raw.find(form, max(start - 1, 0), end) for form in forms]
    while True:
        candidates = [(at, i) for i, at in enumerate(found) if at >= 0]
        if not candidates:
            return
        at, i = min(candidates)
        yield _Line(at + 1, at + len(forms[i]), closing=i == 2)
        found[i] = raw.find(forms[i], at + 1, end)


# --- bodies -------------------------------------------------------------------------------------

def _filename(part: email.message.Message) -> str | None:
    try:
        return part.get_filename()
    except (ValueError, LookupError, TypeError):  # e.g. an RFC 2231 name in charset "undefined"
        return None


def _is_attachment(part: email.message.Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    if _filename(part) and part.get_content_maintype() not in ("text", "multipart"):
        return True
    return part.get_content_maintype() not in ("text", "multipart")


def _part_text(part: email.message.Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError):
        payload = None
    if not isinstance(payload, bytes):  # None: nothing decodable (the stubs also allow str and Message)
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    try:
        charset = part.get_content_charset()
    except (ValueError, LookupError, TypeError):
        charset = None
    # More than the text and HTML limits can use is never decoded (4 bytes is the widest character).
    cut = len(payload) > MAX_PART_BYTES
    return decode_bytes(payload[:MAX_PART_BYTES] if cut else payload, charset, cut=cut)


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


_MANY_NEWLINES = re.compile(r"\n{3,}")


def message_text(msg: email.message.Message) -> str:
    """The readable body of a message as plain text (CRLF normalised, bounded)."""
    if _is_attachment(msg) and not msg.is_multipart():
        text = ""
    else:
        text = _body(msg)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _MANY_NEWLINES.sub("\n\n", text).strip()
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS].rstrip() + "\n\n" + SHORTENED
    return text


SHORTENED = "[Message shortened: it is too long to show in full]"


def _safe_filename(name: str) -> str:
    name = clean_line(name)
    # Only the last path component: a name is shown, never used as a path, but keep it honest.
    return re.split(r"[\\/]", name)[-1] or "unnamed"


def _decoded_size(part: email.message.Message) -> int:
    """The attachment's size once decoded, without decoding base64 or uuencode (the two big ones)."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return 0
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte == "base64":
        data = payload.encode("ascii", "surrogateescape").translate(None, b" \t\r\n")
        return max(0, len(data) * 3 // 4 - min(2, len(data) - len(data.rstrip(b"="))))
    if cte in ("x-uuencode", "uuencode", "uue", "x-uue"):
        return len(payload) * 3 // 4  # an estimate: uudecode is a Python loop per line
    try:
        return len(part.get_payload(decode=True) or b"")
    except (ValueError, TypeError, AssertionError):
        return 0


def attachments(msg: email.message.Message) -> list[dict]:
    """Every attachment as {"name", "size" (decoded bytes), "type"}; the content is never parsed."""
    found = []
    for part in msg.walk():
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            continue
        if not _is_attachment(part) and part.get_content_type() != "message/rfc822":
            continue
        filename = _filename(part)
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if not isinstance(inner, email.message.Message):  # compat32 holds the attached message here
                inner = None
            name = (header(inner, "Subject") if inner is not None else "") or "message"
            name = filename or f"{name}.eml"
            size = part.raw_size if isinstance(part, Part) else len(inner.as_bytes()) if inner is not None else 0
        else:
            size = _decoded_size(part)
            name = filename or "unnamed"
        found.append({"name": _safe_filename(decode_header_value(name)), "size": size,
                      "type": part.get_content_type()})
    return found


# --- HTML → text --------------------------------------------------------------------------------

_BLOCK = {"p", "div", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
          "pre", "section", "article", "header", "footer", "address", "center", "dl", "dt", "dd"}
_SKIP = {"script", "style", "head", "title", "noscript", "template", "svg", "object", "iframe"}
_LINK = re.compile(r"(?i)^(https?|mailto):")
_SPACE_LIKE = str.maketrans("\t\n\r\f\v\u00a0", "      ")
_SPACE_RUN = re.compile("  +")
MAX_OPEN_LINKS = 32  # nested <a> remembered; a label is compared with its href only while short


class _TextExtractor(HTMLScanner):
    ATTRIBUTES_OF = frozenset({"a", "img"})
    TAGS = frozenset(_BLOCK | _SKIP | {"br", "li", "td", "th", "hr", "img", "a"})

    def __init__(self) -> None:
        self.out: list[str] = []
        self.length = 0  # characters in self.out, so a link label's size is known without joining
        self.skip = 0
        self.pre = 0
        self.links: list[tuple[str, int, int]] = []  # (href, index in out, length) of open <a>s

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.length += len(text)

    def _newline(self, count: int = 1) -> None:
        self._emit("\n" * count)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self._newline()
        elif tag == "li":
            self._newline()
            self._emit("- ")
        elif tag in _BLOCK:
            self._newline(2 if tag in ("p", "blockquote", "table") else 1)
            if tag == "pre":
                self.pre += 1
        elif tag in ("td", "th"):
            self._emit(" ")
        elif tag == "hr":
            self._emit("\n----------\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and not self.skip:
                self._emit(f"[{alt}]")
        elif tag == "a" and len(self.links) < MAX_OPEN_LINKS:
            self.links.append(((dict(attrs).get("href") or "").strip(), len(self.out), self.length))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self._newline(2 if tag in ("p", "blockquote", "table") else 1)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "a" and self.links:
            href, start, length = self.links.pop()
            if not _LINK.match(href):
                return
            # The label only matters when it could equal the address ("x@y (mailto:x@y)" is noise);
            # a longer one is not joined at all, so nested hostile links cost nothing.
            if self.length - length <= len(href) + 64:
                label = "".join(self.out[start:]).strip()
                if href.removeprefix("mailto:") == label:
                    return
            self._emit(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self._emit(data if self.pre else _SPACE_RUN.sub(" ", data.translate(_SPACE_LIKE)))

    def text(self) -> str:
        return tidy_lines("".join(self.out))


def html_to_text(html: str) -> str:
    """Plain text from untrusted HTML: no markup survives, nothing is fetched or executed."""
    parser = _TextExtractor()
    parser.scan(html[:MAX_HTML_CHARS])
    text = parser.text()
    if len(html) > MAX_HTML_CHARS:
        text += "\n\n" + SHORTENED
    return text


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
