"""QueueDelegate: the queue as two-line rows, painted over QueueModel (issue 17 item 7).

    [•][icon]  Customer name  ·  Public comment            [state] 12 min left
               The message preview, or "Draft: …" in italics

Decisions:
- One delegate paints the whole row in the model's "customer" column; the window hides the other
  columns except "status" (shown in views that mix places), so the row is as wide as the list and the
  countdown, drawn right-aligned, stays visible at any width: there is no horizontal scroll bar for it
  to move behind. The texts are the model's own DisplayRole texts of the hidden columns (one place
  decides what a row says); accessible text and tooltips stay the model's.
- Row height is fixed (`row_height`), so QTableView never measures rows: the lazy loading and the
  first paint stay as they were. A row not fetched yet shows "…" and asks nothing but the model.
- The channel is its platform icon (ui/icons.channel_pixmap); the state keeps its colour and shape
  (ui/icons.state_icon, ui/theme.STATE) beside the countdown; overdue is bold as before.
- "New" (core/queue.is_new: the customer wrote after the owner last opened the conversation or last
  answered) shows as a dot in the accent colour before the icon and a bold name, and its preview in
  full text colour; once seen, the preview is secondary text. Shape and weight, not colour alone.
- Every text colour is the palette's or a ui/theme pair; a selected row uses the palette's
  HighlightedText for its texts.
- A row is painted from the model's row and texts directly (QueueModel.row_texts, the same texts its
  DisplayRole gives), not through a QModelIndex per text, and the style gets only the item's state for
  its background: a repaint of the screen's rows runs while a sync burst keeps both cores busy, and
  every Python call in it is GUI-thread time the event loop waits for (about half of a row's time went
  into model calls that answered the same thing several times).
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QAbstractItemView, QStyledItemDelegate, QStyleOptionViewItem

from socialdesk.ui import icons, theme
from socialdesk.ui.queue_model import QueueModel, RowRole

PAD_X, PAD_Y, LINE_GAP = 8, 6, 3
DOT = 8  # the "new" dot's diameter
ICON = 20
STATE_MARK = 14
_GAP = 6


class QueueDelegate(QStyledItemDelegate):
    def row_height(self, font: QFont) -> int:
        """The fixed height of a row in `font`: two lines and the padding."""
        spacing = QFontMetrics(font).lineSpacing()
        return 2 * spacing + LINE_GAP + 2 * PAD_Y

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: N802 (Qt override)
        return QSize(200, self.row_height(option.font))

    def layout(self, rect: QRect, font: QFont) -> dict[str, QRect]:
        """Where each part of a row at `rect` is drawn (also what tests measure): the dot, the icon, the
        first line (name and kind), the countdown with its state mark, the second line (preview)."""
        metrics = QFontMetrics(font)
        line = metrics.lineSpacing()
        left = rect.left() + PAD_X
        top = rect.top() + PAD_Y
        dot = QRect(left, top + (line - DOT) // 2, DOT, DOT)
        icon = QRect(left + DOT + 4, top + (line - ICON) // 2, ICON, ICON)
        text_left = icon.right() + 1 + _GAP + 2
        right = rect.right() - PAD_X
        return {
            "dot": dot,
            "icon": icon,
            "first": QRect(text_left, top, max(0, right - text_left), line),
            "second": QRect(text_left, top + line + LINE_GAP, max(0, right - text_left), line),
        }

    @staticmethod
    def countdown(first: QRect, due_text: str, state: str | None, font: QFont) -> tuple[QFont, QRect, QRect | None]:
        """The countdown's font and place at the right of the first line, and its state mark's place
        (None: no mark), as painted (also what tests measure: the mark is a graphic, the countdown text)."""
        due_font = QFont(font)
        due_font.setBold(state == "overdue")
        due_width = QFontMetrics(due_font).horizontalAdvance(due_text) if due_text else 0
        due_rect = QRect(first.right() + 1 - due_width, first.top(), due_width, first.height())
        mark = None
        if due_text and state in ("ok", "due_soon", "overdue"):
            mark = QRect(due_rect.left() - 4 - STATE_MARK, first.top() + (first.height() - STATE_MARK) // 2,
                         STATE_MARK, STATE_MARK)
        return due_font, due_rect, mark

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:  # noqa: N802 (Qt override)
        # No text, decoration, font or colours from the model (QStyledItemDelegate's asks it for seven roles):
        # the style draws only the background, selection and focus of the view's own option; the row paints
        # its own texts.
        pass

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        # The item's background, selection and focus as the style draws them, by QStyledItemDelegate in C++:
        # the style and its state flags are never touched from Python on the way to the first paint, where
        # creating their Python types (QStyle and its enums) took ~10 ms.
        super().paint(painter, option, index)
        model = index.model()
        conv_id = model.id_at(index.row()) if isinstance(model, QueueModel) else None
        row = model.cache.get(conv_id) if conv_id is not None else None
        parts = self.layout(option.rect, option.font)
        view = option.widget
        selection = view.selectionModel() if isinstance(view, QAbstractItemView) else None
        selected = selection is not None and selection.isSelected(index)
        palette = option.palette
        text_colour = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if row is None:  # not fetched yet: the model asks for it
            index.data(RowRole)
            painter.setPen(text_colour)
            painter.drawText(parts["first"], Qt.AlignmentFlag.AlignVCenter, "…")
            painter.restore()
            return
        dark = theme.is_dark(palette)
        muted = text_colour if selected else QColor(theme.colour(theme.MUTED, palette))
        state, texts = model.row_texts(row)

        if row.new:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(text_colour if selected else QColor(theme.colour(theme.LINK, palette)))
            painter.drawEllipse(parts["dot"])
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        painter.drawPixmap(parts["icon"], icons.channel_pixmap(row.channel, ICON, dark, ratio))

        first, second = parts["first"], parts["second"]
        # First line, right: the countdown and its state mark (always whole: the name gives way).
        due_text = texts["due"]
        due_font, due_rect, mark = self.countdown(first, due_text, state, option.font)
        name_right = due_rect.left() - _GAP
        if due_text:
            if mark is not None:
                icons.state_icon(state, STATE_MARK, dark).paint(painter, mark)
                name_right = mark.left() - _GAP
            painter.setFont(due_font)
            colour = text_colour
            if not selected and state in ("overdue", "due_soon"):
                colour = QColor(theme.colour(theme.STATE[state], palette))
            elif not selected and state is None:
                colour = muted  # an age ("3 h ago"): no deadline to watch
            painter.setPen(colour)
            painter.drawText(due_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, due_text)

        # First line, left: the name (bold when new or overdue), then the kind if it fits whole.
        name_font = QFont(option.font)
        name_font.setBold(row.new or state == "overdue")
        name_metrics = QFontMetrics(name_font)
        name_box = QRect(first.left(), first.top(), max(0, name_right - first.left()), first.height())
        name = texts["customer"]
        if name_metrics.horizontalAdvance(name) > name_box.width() and row.unanswered_count >= 2:
            # Narrow: "Moira Grant · 2×" (the name elided first), not "Moira Grant · 2× unans…".
            count = f"  ·  {row.unanswered_count}×"
            room = name_box.width() - name_metrics.horizontalAdvance(count)
            name = name_metrics.elidedText(row.contact_name or "(unknown)", Qt.TextElideMode.ElideRight, room) + count
        name = name_metrics.elidedText(name, Qt.TextElideMode.ElideRight, name_box.width())
        painter.setFont(name_font)
        painter.setPen(text_colour)
        painter.drawText(name_box, Qt.AlignmentFlag.AlignVCenter, name)
        kind = "  ·  " + texts["kind"]
        kind_left = first.left() + name_metrics.horizontalAdvance(name)
        plain = QFontMetrics(option.font)
        if kind_left + plain.horizontalAdvance(kind) <= name_box.right():
            painter.setFont(option.font)
            painter.setPen(muted)
            painter.drawText(QRect(kind_left, first.top(), name_box.right() - kind_left, first.height()),
                             Qt.AlignmentFlag.AlignVCenter, kind)

        # Second line: the preview, or the owner's draft in italics.
        preview_font = QFont(option.font)
        preview_font.setItalic(bool(row.draft))
        painter.setFont(preview_font)
        painter.setPen(text_colour if row.new or row.draft else muted)
        preview = QFontMetrics(preview_font).elidedText(
            " ".join(texts["message"].split()), Qt.TextElideMode.ElideRight, second.width())
        painter.drawText(second, Qt.AlignmentFlag.AlignVCenter, preview)
        painter.restore()
