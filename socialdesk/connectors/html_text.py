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
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_DROP = frozenset({"script", "style", "template", "iframe", "object", "noscript", "head", "title"})
_BLOCK = frozenset(
    {"p", "div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table"}
)
_VOID = frozenset({"br", "img", "hr", "input", "meta", "link", "wbr", "source", "area", "col", "embed"})
# C0/C1 controls except \t and \n, plus bidi embeddings/overrides/isolates (U+202A–202E, 2066–2069).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
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
    parser.feed(html or "")
    parser.close()
    text = "".join(parser.parts)
    text = _UNSAFE.sub("", text).replace("\r", "")
    # HTML whitespace is not significant: collapse runs within lines, keep at most one blank line.
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def clean_text(text: str) -> str:
    """Plain text from a platform that already sends text (Bluesky, Telegram): unsafe controls out."""
    return _UNSAFE.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
