"""The thread of one conversation, rendered from escaped text.

Decisions: message text is untrusted. We build the HTML ourselves and every piece of text passes through
`html.escape` first; only then are http(s) URLs turned into links (on the escaped text, so a crafted
"URL" cannot break out of the attribute). Nothing is ever fetched: QTextBrowser's resource loading is
disabled, links open only on click, and only http/https/mailto are handed to the desktop.

Edits and deletions (core/ingest.py keeps both): an edited message shows its current text with an
"edited <time>" mark and, below it, each earlier version with its time and rating, escaped like any
text. A message the customer deleted keeps its text, greyed, under "deleted by the customer": the owner
already received it and may need it (an abusive comment, a changed order), and vanishing text would
make the thread lie about what was said.
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QEvent, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QTextBrowser

from socialdesk.core.queue import ThreadMessage
from socialdesk.core.states import Direction, OutboxState, Via
from socialdesk.ui import theme
from socialdesk.ui.qtcompat import emit
from socialdesk.ui.queue_model import stars

_URL_RE = re.compile(r"\bhttps?://[^\s<>&\"']+(?:&amp;[^\s<>&\"']+)*", re.IGNORECASE)
SAFE_SCHEMES = {"http", "https", "mailto"}
STATE_LABELS = {
    "pending": "sending…",
    "sending": "sending…",
    "failed": "not sent",
    "unknown": "may not have arrived",
}


def linkify_escaped(escaped: str) -> str:
    """Make URLs in already-escaped text clickable."""

    def repl(match: re.Match) -> str:
        url = match.group(0)
        return f'<a href="{url}">{url}</a>'

    return _URL_RE.sub(repl, escaped)


def _rich(text: str) -> str:
    """Untrusted plain text as HTML: escaped, links made clickable, line breaks kept."""
    return linkify_escaped(html.escape(text)).replace("\n", "<br>")


def _time(when) -> str:
    return html.escape(when.astimezone().strftime("%a %d %b %H:%M"))


def message_html(m: ThreadMessage, dark: bool = False) -> str:
    """One message as a bubble, in the colours of a light or a dark palette (ui/theme.py)."""

    def c(pair: theme.Pair) -> str:
        return pair.dark if dark else pair.light

    muted, error = c(theme.MUTED), c(theme.ERROR)
    text = _rich(m.text)
    if m.rating:
        text = f"{stars(m.rating)}<br>{text}"
        before = m.revisions[-1].rating if m.revisions else None  # the version this edit replaced
        if before and before != m.rating:
            text = (f'<span style="color:{error}">Rating changed: was {stars(before)}, now {stars(m.rating)}</span>'
                    f"<br>{text}")
    if m.deleted_at is not None:
        text = f'<span style="color:{muted}">{text}</span>'
    for old in m.revisions:
        rated = f"{stars(old.rating)} " if old.rating else ""
        text += (f'<br><span style="color:{muted}; font-size:small">Before, {_time(old.made_at)}: '
                 f"{rated}{_rich(old.text)}</span>")
    when = _time(m.created_at)
    outbound = m.direction == Direction.OUT
    who = html.escape(m.author_name or ("You" if outbound else "Customer"))
    badge = ""
    if m.via == Via.AUTO:
        badge = " · automatic reply"
    elif m.via == Via.SNIPPET:
        badge = " · snippet"
    state = STATE_LABELS.get(m.state, "")
    error_text = (str(m.meta.get("error") or "")
                  if m.state in (OutboxState.FAILED, OutboxState.UNKNOWN, OutboxState.PENDING) else "")
    if m.state == OutboxState.PENDING and error_text:
        state = "not sent yet"  # held until the account's login works again (core/outbox.py)
    if state:
        colour = error if m.state in (OutboxState.FAILED, OutboxState.UNKNOWN) or error_text else muted
        badge += f' · <span style="color:{colour}">{state}{(": " + html.escape(error_text)) if error_text else ""}</span>'
    if m.edited_at is not None:
        badge += f" · edited {_time(m.edited_at)}"
    if m.deleted_at is not None:
        by = "on the platform" if outbound else "by the customer"
        badge += f' · <span style="color:{error}">deleted {by} {_time(m.deleted_at)}</span>'
    align = "right" if outbound else "left"
    background = c(theme.BUBBLE_OUT if outbound else theme.BUBBLE_IN)
    return (
        f'<table width="100%" cellspacing="0" cellpadding="0"><tr><td align="{align}">'
        f'<table cellpadding="8" style="background:{background}; border-radius:6px; margin:4px">'
        f'<tr><td style="color:{c(theme.BUBBLE_TEXT)}"><span style="color:{muted}; font-size:small">'
        f"{who} · {when}{badge}</span><br>{text}</td></tr>"
        f"</table></td></tr></table>"
    )


class ConversationView(QTextBrowser):
    """Read-only thread view. Emits `link_activated(url)` for safe links (the window decides), and
    `thread_shown(messages)` each time it is given a thread to show, and `thread_shown([])` when it is
    cleared, so features can read what the window shows instead of asking the store again
    (ui/published_reply_feature.py). It re-renders the thread it shows when the palette changes; a cleared
    view shows none, and stays empty."""

    link_activated = Signal(QUrl)
    thread_shown = Signal(object)  # list[ThreadMessage]: what it shows now ([] once cleared)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setReadOnly(True)
        self.anchorClicked.connect(self._on_anchor)
        self.setPlaceholderText("Select a conversation in the queue.")
        self.setAccessibleName("Conversation")
        self._shown: tuple[list[ThreadMessage], str] | None = None

    def loadResource(self, resource_type, url):  # noqa: N802 (Qt override)
        return None  # never fetch anything a message names

    def show_thread(self, messages: list[ThreadMessage], header: str = "") -> None:
        self._render(messages, header)
        emit(self.thread_shown, messages)

    def clear(self) -> None:
        """Show no thread (nothing is selected): the one shown before is forgotten, so a palette switch does
        not draw it back into the empty pane, and the features hear that no thread is shown."""
        self._shown = None
        super().clear()
        emit(self.thread_shown, [])

    def _render(self, messages: list[ThreadMessage], header: str) -> None:
        self._shown = (messages, header)
        dark = theme.is_dark(self.palette())
        # Links in the palette's own link colour would sit on our bubble colours: ours are chosen for them.
        self.document().setDefaultStyleSheet(f"a {{ color: {theme.LINK.dark if dark else theme.LINK.light}; }}")
        body = "".join(message_html(m, dark) for m in messages)
        doc_html = (f"<p><b>{html.escape(header)}</b></p>" if header else "") + body
        self.setHtml(doc_html)
        self.moveCursor(self.textCursor().MoveOperation.End)
        self.ensureCursorVisible()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._shown is not None:
            bar = self.verticalScrollBar()
            at = bar.value()
            self._render(*self._shown)  # the system switched between light and dark: the same thread
            bar.setValue(at)

    def plain_text(self) -> str:
        return self.document().toPlainText()

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme().lower() in SAFE_SCHEMES:
            emit(self.link_activated, url)


def open_url(url: QUrl) -> bool:
    if url.scheme().lower() not in SAFE_SCHEMES:
        return False
    return QDesktopServices.openUrl(url)



