"""Turn platform HTML (Mastodon status content) into safe plain text.

Decisions:
- The stdlib `html.parser` tokenises; we keep only text. Nothing is fetched or executed, and the
  content of <script>, <style>, <template>, <iframe>, <object> and <noscript> is dropped whole
  (it is never message text, and a hostile server could put anything there).
- Line structure survives: <br> is a newline, block elements (<p>, <div>, <li>, headings,
  <blockquote>, <pre>) are separated by a blank line. Links become their visible text, which for
  Mastodon mentions is "@user" and for URLs is the URL; Mastodon's "invisible" URL parts are kept so
  the text carries the whole address.
- Entities are decoded once (convert_charrefs), so "&lt;b&gt;" becomes the literal text "<b>" and is
  shown as such, never rendered.
- Control characters (other than newline and tab) and bidi override/isolate characters are removed:
  they can disguise text (e.g. reverse a link) in the queue and in logs.
- Tokenising is ours (`HTMLScanner`), not `html.parser`: on Python 3.11 the standard parser is
  quadratic on unterminated constructs (2 MB of repeated "<!--" took about 20 minutes, and "</", "<a <a"
  or "<!x" runs do the same). The scanner reads HTML in one pass with one regular expression whose
  every branch, once its first characters match, consumes what it scans (an unterminated comment,
  tag or quoted value runs to the end of the input, as in a browser), so the work is linear in the
  input. It calls the same handle_starttag/handle_endtag/handle_data callbacks as HTMLParser with
  convert_charrefs on (entities decoded once with html.unescape), and treats <script>/<style> content
  as raw text as HTMLParser does. mime_text's e-mail converter uses the same scanner.
"""

from __future__ import annotations

import html
import re

# One token of HTML at a time. Each branch either fails within its first two or three characters or
# runs to its end (or the end of the input), so no position is scanned twice.
_TOKEN = re.compile(
    r"""
    (?P<text>(?:[^<]+|<(?![a-zA-Z!?/]))+)                          # a "<" that opens nothing is text
  | (?P<comment><!--.*?(?:-->|\Z))                                 # possibly unterminated
  | (?P<decl><[!?][^>]*(?:>|\Z))                                   # doctype, CDATA, processing instruction
  | (?P<endtag></(?P<end>[a-zA-Z][^\s/>]*)[^>]*(?:>|\Z))
  | (?P<bogus></[^>]*(?:>|\Z))                                     # "</>" and the like
  | (?P<starttag><(?P<start>[a-zA-Z][^\s/>]*)
      (?P<attrs>(?:[^>"'=]+|=\s*"[^"]*(?:"|\Z)|=\s*'[^']*(?:'|\Z)|[="'])*)(?:>|\Z))
    """,
    re.VERBOSE | re.DOTALL,
)
_ATTR = re.compile(r"""([^\s/>"'=]+)(?:\s*=\s*(?:"([^"]*)"?|'([^']*)'?|([^\s>]*)))?""")
_RAW_TEXT_END = {name: re.compile(rf"</{name}(?=[\s/>]|\Z)", re.IGNORECASE) for name in ("script", "style")}
# Attributes are read from the first MAX_ATTRIBUTE_CHARS of a tag only: no real href or alt is longer,
# and a hostile tag of megabytes of attributes would otherwise cost time for nothing.
MAX_ATTRIBUTE_CHARS = 8192


def _attrs(source: str) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for m in _ATTR.finditer(source, 0, MAX_ATTRIBUTE_CHARS):
        name, double, single, bare = m.groups()
        value = double if double is not None else single if single is not None else bare
        found.append((name.lower(), html.unescape(value) if value is not None else None))
    return found


class HTMLScanner:
    """A linear-time stand-in for html.parser.HTMLParser(convert_charrefs=True): subclasses implement
    handle_starttag/handle_endtag/handle_data (and optionally handle_startendtag) and call `scan`."""

    # Tags whose attributes the subclass reads; parsing the others' would be wasted work.
    ATTRIBUTES_OF: frozenset[str] = frozenset()
    # Tags the subclass acts on (None: all); the others cost no call, which matters in a tag flood.
    TAGS: frozenset[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        pass

    def handle_data(self, data: str) -> None:
        pass

    def scan(self, source: str) -> None:
        match, unescape, attributes_of, tags = _TOKEN.match, html.unescape, self.ATTRIBUTES_OF, self.TAGS
        data, start, startend, end = self.handle_data, self.handle_starttag, self.handle_startendtag, self.handle_endtag
        pos, size = 0, len(source)
        while pos < size:
            m = match(source, pos)
            assert m is not None  # every "<" either opens a construct or is text
            pos = m.end()
            kind = m.lastgroup
            if kind == "text":
                text = m.group()
                data(unescape(text) if "&" in text else text)
            elif kind == "endtag":
                tag = m.group("end").lower()
                if tags is None or tag in tags:
                    end(tag)
            elif kind == "starttag":
                tag = m.group("start").lower()
                if tags is not None and tag not in tags and tag not in _RAW_TEXT_END:
                    continue
                raw = m.group("attrs")
                attrs = _attrs(raw) if tag in attributes_of else []
                if raw.endswith("/"):
                    startend(tag, attrs)
                    continue
                start(tag, attrs)
                if tag in _RAW_TEXT_END:  # <script>/<style>: everything up to the end tag is text
                    found = _RAW_TEXT_END[tag].search(source, pos)
                    stop = found.start() if found else size
                    if stop > pos:
                        data(source[pos:stop])
                    pos = stop


_DROP = frozenset({"script", "style", "template", "iframe", "object", "noscript", "head", "title"})
_BLOCK = frozenset(
    {"p", "div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table"}
)
_VOID = frozenset({"br", "img", "hr", "input", "meta", "link", "wbr", "source", "area", "col", "embed"})
# C0/C1 controls except \t and \n, plus bidi embeddings/overrides/isolates (U+202A–202E, 2066–2069).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class _TextExtractor(HTMLScanner):
    TAGS = _DROP | _BLOCK | {"br"}

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.drop_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            if tag not in _VOID:
                self.drop_depth += 1
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP:
            self.drop_depth = max(0, self.drop_depth - 1)
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.drop_depth == 0:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text from an HTML fragment: tags stripped, scripts dropped, entities decoded once."""
    parser = _TextExtractor()
    parser.scan(html or "")
    text = "".join(parser.parts)
    return tidy_lines(_UNSAFE.sub("", text).replace("\r", ""))


# Each pattern matches only what must change (never a single space or a single newline): plain text
# then costs C speed, not a replacement per word.
_INLINE_SPACE = re.compile(r"[\t\u00a0][ \t\u00a0]*| [ \t\u00a0]+")
_LINE_EDGE_SPACE = re.compile(r" \n ?|\n ")
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy_lines(text: str) -> str:
    """HTML whitespace is not significant: runs of spaces become one, lines lose their edge spaces and
    at most one blank line stays. Whole-text regular expressions, so it is linear however many lines."""
    text = _LINE_EDGE_SPACE.sub("\n", _INLINE_SPACE.sub(" ", text))
    return _BLANK_LINES.sub("\n\n", text).strip()


def clean_text(text: str) -> str:
    """Plain text from a platform that already sends text (Bluesky, Telegram): unsafe controls out."""
    return _UNSAFE.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
