"""The Today panel's three charts, drawn with QPainter: first response per day against the target, messages
per hour of the week against the opening hours, and the share answered within target per channel.

Why QPainter and not QtCharts: QtCharts ships only in PySide6-Addons, which is no longer a dependency (it
was dropped: 161 MB for the bundle, packaging/README.md). Three small charts — bars, one line, a 7×24
grid — are about 300 lines of painting; in exchange they need nothing new, start nothing heavy, and take
every colour from ui/theme.py pairs, so they follow the palette live (Qt repaints on PaletteChange and the
colours are read at paint time) and meet the contrast the dark-mode tests measure.

Decisions:
- Each chart is a widget showing numbers computed elsewhere (core/trends.py, on a worker thread);
  `set_data` stores them, sets the accessible description with the numbers a screen reader says, and
  repaints. A chart takes Tab focus (so that description is reachable) and draws the focus frame.
- Drawn on the palette's Base colour as a card; text in the palette's Text colour or theme.MUTED; bars
  theme.CHART_BAR, within/over target theme.STATE ok/overdue; open hours theme.CHART_OPEN; lines and
  empty tracks theme.CHART_GRID (not the palette's Mid/Midlight: many dark palettes leave them light).
- Response-time bars are capped at `CAP_TIMES` × the target (a 3-day answer would flatten every other
  day); a capped bar ends in a triangle and its value is in the description and the tooltip.
- Channel names come through connectors.traits (icons.channel_label), never written here.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QStyle, QStyleOptionFocusRect, QWidget

from socialdesk.core import trends
from socialdesk.ui import icons, theme

CAP_TIMES = 4
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
PAD = 10


def short_duration(seconds: int) -> str:
    """"12 min", "1 h", "2 h 30", "3 d"."""
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h" + (f" {rest:02d}" if rest else "")
    return f"{round(minutes / 1440)} d"


class ChartWidget(QWidget):
    """A card with a title; subclasses draw the plot in `plot(painter, rect)`."""

    title = ""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName(self.title)
        self.data: object = None

    def colour(self, pair: theme.Pair) -> QColor:
        return QColor(theme.colour(pair, self.palette()))

    def text_colour(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.Text)

    def describe(self) -> str:
        return ""

    def set_data(self, data: object) -> None:
        self.data = data
        description = self.describe()
        self.setAccessibleDescription(description)
        self.setToolTip(f"<p>{html.escape(description)}</p>" if description else "")  # rich text wraps
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(self.colour(theme.CHART_GRID), 1))
        painter.setBrush(self.palette().color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(card, 6, 6)
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(self.text_colour())
        line = QFontMetrics(bold).height()
        painter.drawText(QRect(PAD, PAD - 2, self.width() - 2 * PAD, line), Qt.AlignmentFlag.AlignLeft, self.title)
        painter.setFont(self.font())
        # Marks without antialiasing: a bar's blended edge would be a faint sliver of colour, not the bar.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        plot = QRect(PAD, PAD + line + 4, self.width() - 2 * PAD, self.height() - 2 * PAD - line - 4)
        if self.data is None:
            painter.setPen(self.colour(theme.MUTED))
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "Counting…")
        else:
            self.plot(painter, plot)
        if self.hasFocus():
            option = QStyleOptionFocusRect()
            option.initFrom(self)
            option.rect = self.rect().adjusted(2, 2, -2, -2)
            self.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, option, painter, self)
        painter.end()

    def plot(self, painter: QPainter, rect: QRect) -> None:
        raise NotImplementedError

    def note(self, painter: QPainter, rect: QRect, text: str, align=Qt.AlignmentFlag.AlignLeft) -> None:
        painter.setPen(self.colour(theme.MUTED))
        painter.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, text)


class ResponseTrendChart(ChartWidget):
    """Median first response per day (bars, green within target, red over) and the target (dashed line)."""

    title = "First response per day (median)"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("chart_response_trend")
        self.setMinimumSize(320, 170)

    def target_text(self) -> str:
        trend: trends.ResponseTrend = self.data
        where = " in opening hours" if trend.business_hours else ""
        return f"Target {short_duration(trend.target_s)}{where}"

    def describe(self) -> str:
        trend: trends.ResponseTrend | None = self.data
        if trend is None:
            return ""
        days = [f"{d.day:%d %b}: {short_duration(d.median_s)}" for d in trend.days if d.median_s is not None]
        shown = f"{trend.shown} of {trend.total} first responses (those with this target)"
        return (f"{self.target_text()}, last {len(trend.days)} days; {shown}. "
                + ("; ".join(days) if days else "No answers yet.")
                + ("" if not days else ". Days without answers are left out."))

    def plot(self, painter: QPainter, rect: QRect) -> None:
        trend: trends.ResponseTrend = self.data
        metrics = QFontMetrics(self.font())
        line = metrics.height()
        # Legend: a dashed sample of the target line, then what it is and what the bars hold.
        painter.setPen(QPen(self.text_colour(), 1.5, Qt.PenStyle.DashLine))
        painter.drawLine(rect.left(), rect.top() + line // 2, rect.left() + 18, rect.top() + line // 2)
        self.note(painter, QRect(rect.left() + 24, rect.top(), rect.width() - 24, line),
                  f"{self.target_text()} · {trend.shown} of {trend.total} answers, last {len(trend.days)} days")
        values = [d.median_s for d in trend.days if d.median_s is not None]
        top = max([trend.target_s * 5 // 4, *values]) if values else trend.target_s * 5 // 4
        top = min(top, trend.target_s * CAP_TIMES)
        axis_w = max(metrics.horizontalAdvance(short_duration(v)) for v in (0, top)) + 8
        area = QRect(rect.left() + axis_w, rect.top() + line + 8, rect.width() - axis_w, rect.height() - 2 * line - 12)
        if area.height() < 20:
            return
        base = area.bottom()

        def y(seconds: float) -> float:
            return base - area.height() * min(seconds, top) / top

        # Axis labels: 0 and the top value.
        for seconds in (0, top):
            self.note(painter, QRect(rect.left(), int(y(seconds)) - line // 2, axis_w - 4, line),
                      short_duration(seconds), Qt.AlignmentFlag.AlignRight)
        painter.setPen(QPen(self.colour(theme.CHART_GRID), 1))
        painter.drawLine(area.left(), base, area.right(), base)
        slot = area.width() / max(1, len(trend.days))
        ok, over = self.colour(theme.STATE["ok"]), self.colour(theme.STATE["overdue"])
        painter.setPen(Qt.PenStyle.NoPen)
        for i, day in enumerate(trend.days):
            if day.median_s is None:
                continue
            x = area.left() + i * slot + slot * 0.15
            bar = QRectF(x, y(day.median_s), max(2.0, slot * 0.7), base - y(day.median_s))
            painter.setBrush(ok if day.median_s <= trend.target_s else over)
            painter.drawRect(bar)
            if day.median_s > top:  # capped: a triangle says "more than shown"
                tip = QPolygonF([QPointF(bar.left(), bar.top()), QPointF(bar.right(), bar.top()),
                                 QPointF(bar.center().x(), bar.top() - min(8.0, slot * 0.5))])
                painter.drawPolygon(tip)
        # The target line, dashed, in the text colour (readable on both palettes), labelled.
        pen = QPen(self.text_colour(), 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        ty = int(y(trend.target_s))
        painter.drawLine(area.left(), ty, area.right(), ty)
        if not values:
            self.note(painter, area, f"No answers in the last {len(trend.days)} days.", Qt.AlignmentFlag.AlignCenter)
        # Dates under every 7th day from today back.
        for i in range(len(trend.days) - 1, -1, -7):
            text = "today" if i == len(trend.days) - 1 else f"{trend.days[i].day:%d %b}"
            width = metrics.horizontalAdvance(text)
            cx = area.left() + (i + 0.5) * slot
            left = int(min(max(cx - width / 2, area.left()), area.right() - width))
            self.note(painter, QRect(left, base + 2, width + 2, line), text)


class WeekArrivalsChart(ChartWidget):
    """Customer messages per hour of the week (bars in a 7×24 grid) over the regular opening hours (band)."""

    title = "Messages per hour of the week"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("chart_week_arrivals")
        self.setMinimumSize(420, 200)

    def describe(self) -> str:
        week: trends.WeekArrivals | None = self.data
        if week is None:
            return ""
        cells = sorted(((week.counts[d][h], d, h) for d in range(7) for h in range(24)), reverse=True)
        busiest = [f"{DAY_NAMES[d]} {h:02d}:00 {n}" for n, d, h in cells[:5] if n]
        per_day = ", ".join(f"{DAY_NAMES[d]} {sum(week.counts[d])}" for d in range(7))
        return (f"{week.sentence}. {week.total} messages in the last {week.days} days, {week.closed} while closed. "
                f"Per day: {per_day}. Busiest hours: {', '.join(busiest) or 'none'}.")

    def plot(self, painter: QPainter, rect: QRect) -> None:
        week: trends.WeekArrivals = self.data
        metrics = QFontMetrics(self.font())
        line = metrics.height()
        # Legend: the open-hours swatch and the messages swatch.
        x = rect.left()
        for swatch, text in ((theme.CHART_OPEN, "open hours"), (theme.CHART_BAR, f"messages, last {week.days} days")):
            painter.setPen(QPen(self.colour(theme.CHART_GRID), 1))
            painter.setBrush(self.colour(swatch))
            painter.drawRect(QRect(x, rect.top() + 3, 12, line - 6))
            width = metrics.horizontalAdvance(text)
            self.note(painter, QRect(x + 16, rect.top(), width + 4, line), text)
            x += 16 + width + 18
        label_w = max(metrics.horizontalAdvance(n) for n in DAY_NAMES) + 8
        grid = QRect(rect.left() + label_w, rect.top() + line + 4, rect.width() - label_w, rect.height() - 2 * line - 6)
        if grid.height() < 28:
            return
        row_h, col_w = grid.height() / 7, grid.width() / 24
        peak = max(1, max(max(row) for row in week.counts))
        open_colour, bar_colour = self.colour(theme.CHART_OPEN), self.colour(theme.CHART_BAR)
        for d in range(7):
            top = grid.top() + d * row_h
            self.note(painter, QRect(rect.left(), int(top), label_w - 6, int(row_h)), DAY_NAMES[d])
            painter.setPen(Qt.PenStyle.NoPen)
            for h in range(24):
                left = grid.left() + h * col_w
                if week.open_minutes[d][h] >= 30:
                    painter.setBrush(open_colour)
                    painter.drawRect(QRectF(left, top + 1, col_w + 0.5, row_h - 2))
                count = week.counts[d][h]
                if count:
                    height = max(2.0, (row_h - 4) * count / peak)
                    painter.setBrush(bar_colour)
                    painter.drawRect(QRectF(left + col_w * 0.2, top + row_h - 2 - height, col_w * 0.6, height))
            painter.setPen(QPen(self.colour(theme.CHART_GRID), 1))
            painter.drawLine(QPointF(grid.left(), top + row_h), QPointF(grid.right(), top + row_h))
        step = 3 if col_w * 3 >= metrics.horizontalAdvance("00:00") + 6 else 6
        for h in range(0, 24, step):
            text = f"{h:02d}:00"
            self.note(painter, QRect(int(grid.left() + h * col_w), grid.bottom() + 2,
                                     metrics.horizontalAdvance(text) + 2, line), text)


class ChannelShareChart(ChartWidget):
    """Share answered within target per channel: one horizontal bar each, with the numbers beside it."""

    title = "Answered within target, per channel"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("chart_channel_share")
        self.setMinimumSize(280, 170)

    @staticmethod
    def value_text(share: trends.ChannelShare) -> str:
        pct = "—" if share.pct is None else f"{round(share.pct)} %"
        return f"{pct} ({share.within} of {share.judged})"

    def describe(self) -> str:
        shares: list[trends.ChannelShare] | None = self.data
        if shares is None:
            return ""
        if not shares:
            return f"No answers judged in the last {trends.TREND_DAYS} days."
        return f"Last {trends.TREND_DAYS} days: " + "; ".join(
            f"{icons.channel_label(s.channel)} {self.value_text(s)}" for s in shares) + "."

    def plot(self, painter: QPainter, rect: QRect) -> None:
        shares: list[trends.ChannelShare] = self.data
        metrics = QFontMetrics(self.font())
        line = metrics.height()
        self.note(painter, QRect(rect.left(), rect.top(), rect.width(), line), f"last {trends.TREND_DAYS} days")
        if not shares:
            self.note(painter, rect, "No answers to judge yet.", Qt.AlignmentFlag.AlignCenter)
            return
        names = [icons.channel_label(s.channel) for s in shares]
        name_w = min(rect.width() // 3, max(metrics.horizontalAdvance(n) for n in names) + 8)
        value_w = max(metrics.horizontalAdvance(self.value_text(s)) for s in shares) + 8
        track_w = rect.width() - name_w - value_w
        row_h = min(line + 10, (rect.height() - line - 4) / len(shares))
        track_colour = self.colour(theme.CHART_GRID)
        bar_colour = self.colour(theme.CHART_BAR)
        for i, (share, name) in enumerate(zip(shares, names, strict=True)):
            top = rect.top() + line + 4 + i * row_h
            painter.setPen(self.text_colour())
            painter.drawText(QRect(rect.left(), int(top), name_w - 6, int(row_h)), Qt.AlignmentFlag.AlignVCenter,
                             metrics.elidedText(name, Qt.TextElideMode.ElideRight, name_w - 6))
            bar = QRectF(rect.left() + name_w, top + row_h * 0.2, track_w, row_h * 0.6)
            # The track is an outline, not a fill: the bar then stands on the base colour it is chosen for.
            painter.setPen(QPen(track_colour, 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(bar)
            if share.pct:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(bar_colour)
                painter.drawRect(QRectF(bar.left(), bar.top(), track_w * share.pct / 100, bar.height()))
            painter.setPen(self.text_colour())
            painter.drawText(QRect(int(bar.right()) + 6, int(top), value_w, int(row_h)),
                             Qt.AlignmentFlag.AlignVCenter, self.value_text(share))
