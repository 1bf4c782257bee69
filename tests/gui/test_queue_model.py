"""QueueModel on its own (ui/queue_model.py): how it applies a new order, caches rows and asks for them again.
A burst of synced items refreshes the view many times a second, so these are also what keeps the GUI thread
short: one dataChanged per batch of rows, rows read again only where the model holds them."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from PySide6.QtCore import QItemSelectionModel, Qt

from socialdesk.core.queue_read import QueueRow
from socialdesk.ui.queue_model import COLUMNS, IdRole, QueueModel, StateRole, positions_of

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def _row(conv_id: int, name: str = "") -> QueueRow:
    return QueueRow(
        id=conv_id, account_id=1, account_name="Shop", channel="telegram", kind="dm", public=False, contact_id=conv_id,
        contact_name=name or f"Person {conv_id}", subject="", preview=f"Message {conv_id}", status="open",
        awaiting_since=NOW, last_message_at=NOW, last_outbound_at=None, due_at=None, due_soon_at=None,
        target_minutes=None, unanswered_count=1, rating=None, snoozed_until=None, permalink="")


class Reads:
    """The model's fetch_rows: records what it was asked for (ids, serial)."""

    def __init__(self):
        self.asked: list[tuple[list[int], int]] = []

    def __call__(self, ids: list[int], serial: int) -> None:
        self.asked.append((list(ids), serial))

    def answer(self, model: QueueModel, n: int = -1, names: dict[int, str] | None = None) -> None:
        ids, serial = self.asked[n]
        model.update_rows({i: _row(i, (names or {}).get(i, "")) for i in ids}, serial)


def _model(qapp, ids) -> tuple[QueueModel, Reads]:
    reads = Reads()
    model = QueueModel(lambda: NOW, reads)
    model.set_ids(list(ids))
    return model, reads


def _name(model: QueueModel, conv_id: int) -> str:
    return model.data(model.index(model.row_of(conv_id), 1), Qt.ItemDataRole.DisplayRole)


def test_scattered_fresh_rows_repaint_with_one_signal_over_their_span(qapp):
    model, _reads = _model(qapp, range(1, 1001))
    changed = []
    model.dataChanged.connect(lambda top, bottom, _roles=(): changed.append((top.row(), top.column(),
                                                                              bottom.row(), bottom.column())))
    model.update_rows({i: _row(i) for i in (900, 5, 17, 400, 401, 4000)})  # 4000 is not in the view
    assert changed == [(model.row_of(5), 0, model.row_of(900), model.columnCount() - 1)]
    assert set(model.cache) == {5, 17, 400, 401, 900}
    model.update_rows({4000: _row(4000)})
    assert len(changed) == 1  # nothing of this view: no signal


def test_a_row_is_asked_for_once_however_often_the_view_asks_for_its_cells(qapp):
    model, reads = _model(qapp, range(1, 501))
    for _ in range(3):
        for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.FontRole, Qt.ItemDataRole.ToolTipRole):
            assert model.data(model.index(250, 1), role) in ("…", None)
    assert [ids for ids, _serial in reads.asked] == [list(range(201, 401))]  # its block of 200
    reads.answer(model)
    assert _name(model, 251) == "Person 251"


def test_changed_rows_are_read_again_only_where_the_model_holds_or_reads_them(qapp):
    model, reads = _model(qapp, range(1, 501))
    model.update_rows({i: _row(i) for i in range(1, 81)})  # a view's first rows
    model.data(model.index(300, 1))  # rows 201-400 are being read
    reads.asked.clear()
    again = model.reread({3, 77, 250, 450, 9999})
    assert sorted(again) == [3, 77, 250]  # not 450 (never read: read when shown), nor one out of the view
    assert sorted(reads.asked[-1][0]) == [3, 77, 250]
    # Until the fresh rows arrive the ones shown stay (no "…" in between).
    assert _name(model, 3) == "Person 3"
    reads.answer(model, names={3: "Moira Grant", 77: "Noor Haddad", 250: "Ada"})
    assert (_name(model, 3), _name(model, 77), _name(model, 250)) == ("Moira Grant", "Noor Haddad", "Ada")
    assert model._asked.keys().isdisjoint({3, 77, 250}) and 300 in model._asked  # 201-400 still out


def test_a_read_older_than_the_newest_asked_never_replaces_a_row_shown(qapp):
    model, reads = _model(qapp, range(1, 11))
    model.update_rows({i: _row(i, "old") for i in range(1, 11)})
    model.reread({4})
    model.reread({4, 5})  # a second change while the first read is out
    first, second = reads.asked
    reads.answer(model, -1, names={4: "newest", 5: "newest"})
    reads.answer(model, 0, names={4: "stale"})  # the pool finished the first read last
    assert _name(model, 4) == "newest"
    # An older read still fills a row that shows nothing yet; the newer one then replaces it.
    model.set_ids(list(range(1, 12)))
    model.data(model.index(model.row_of(11), 1))
    ids, serial = reads.asked[-1]
    assert ids == [11]
    assert model.reread({11}) == [11]
    model.update_rows({11: _row(11, "older")}, serial)
    assert _name(model, 11) == "older"
    reads.answer(model, -1, names={11: "fresh"})
    assert _name(model, 11) == "fresh"
    assert first[1] < second[1]



def test_a_read_out_when_every_row_changed_is_dropped_and_the_row_read_again(qapp):
    """The hours or targets changed (every due time may have moved): rows read before are forgotten, and
    so is what a read asked for before the change brings back."""
    model, reads = _model(qapp, range(1, 301))
    model.update_rows({i: _row(i, "before") for i in range(1, 81)})
    model.data(model.index(250, 1))  # rows 201-300 are being read
    out = reads.asked[-1]
    model.forget_all()
    assert not model.cache and not model._asked
    reads.asked.clear()
    model.update_rows({i: _row(i, "before") for i in out[0]}, out[1])  # it comes back after the change
    assert not model.cache
    model.data(model.index(250, 1))  # shown again: read again
    assert reads.asked and 251 in reads.asked[-1][0]
    reads.answer(model, names={251: "after"})
    assert _name(model, 251) == "after"

def test_a_failed_read_leaves_its_rows_to_be_asked_for_again(qapp):
    model, reads = _model(qapp, range(1, 11))
    model.update_rows({i: _row(i) for i in range(1, 11)})
    model.reread({2, 3})
    ids, serial = reads.asked[-1]
    model.read_failed(ids, serial)
    assert 2 not in model.cache and not model._asked
    reads.asked.clear()
    model.data(model.index(model.row_of(2), 1))
    assert reads.asked and {2, 3} <= set(reads.asked[-1][0])


def test_a_new_order_keeps_the_selection_and_cached_rows_by_id(qapp):
    model, _reads = _model(qapp, range(1, 2001))
    model.update_rows({i: _row(i) for i in (10, 11, 1500)})
    selection = QItemSelectionModel(model)
    selection.setCurrentIndex(model.index(model.row_of(1500), 1), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    # Rows leave (some in runs), newcomers arrive anywhere, the rest move.
    new_ids = [5000, 1500, *(i for i in range(2000, 20, -1) if i != 1500), 5001, 7, 3]
    model.set_ids(new_ids, positions_of(new_ids))  # the row index made on a worker
    assert model.ids == new_ids and model.rowCount() == len(new_ids)
    assert [model.data(model.index(r, 0), IdRole) for r in range(model.rowCount())] == new_ids
    assert all(model.row_of(i) == r for r, i in enumerate(new_ids))
    assert model.id_at(selection.currentIndex().row()) == 1500 and selection.currentIndex().row() == 1
    assert set(model.cache) == {1500}  # 10 and 11 left the view with their rows
    model.set_ids([3, 1500])
    assert model.id_at(selection.currentIndex().row()) == 1500 and model.ids == [3, 1500]
    assert [model.row_of(i) for i in (3, 1500, 5000)] == [0, 1, None]


def test_rows_from_a_read_are_the_ones_the_view_shows(qapp):
    model, reads = _model(qapp, range(1, 4))
    model.data(model.index(0, 1))
    row = dataclasses.replace(_row(2), draft="Thanks, I'll check")
    model.update_rows({2: row}, reads.asked[-1][1])
    assert model.data(model.index(1, 2)) == "Draft: Thanks, I'll check"


def test_the_window_reads_again_only_the_changed_rows_it_holds_and_shows_them_meanwhile(qtbot, window, demo_core):
    from socialdesk.core.changes import ChangeSet
    from socialdesk.core.store import Contact, Conversation

    model = window.model
    qtbot.waitUntil(lambda: window.tasks.pending() == 0 and model.ids[0] in model.cache, timeout=5000)
    shown = model.ids[0]
    unread = model.ids[1:]
    assert unread
    model.forget(unread)  # as if never read (a long queue's rows below the screen)
    contact = Conversation.get_by_id(shown).contact_id
    with demo_core.store.write():
        Contact.update(display_name="Renamed Customer").where(Contact.id == contact).execute()
        Conversation.update(contact_name="Renamed Customer").where(Conversation.id == shown).execute()
    asked: list[list[int]] = []
    reads = model.fetch_rows
    model.fetch_rows = lambda ids, serial: (asked.append(list(ids)), reads(ids, serial))
    window.on_engine_change(ChangeSet({shown, *unread}))
    assert model.cache[shown].contact_name != "Renamed Customer"  # the row read before stays on screen
    assert asked == [[shown]]  # not the rows it never read: those are read when shown
    qtbot.waitUntil(lambda: model.cache[shown].contact_name == "Renamed Customer", timeout=5000)



def test_a_row_paints_the_models_texts_and_asks_it_nothing_once_read(qtbot):
    """The delegate paints each row from the model's cached row and QueueModel.row_texts (its DisplayRole
    texts, one place deciding what a row says), not through a QModelIndex per text: during a sync burst a
    repaint's every Python call is time the event loop waits for."""
    from PySide6.QtWidgets import QTableView

    from socialdesk.ui.queue_delegate import QueueDelegate

    class Counting(QueueModel):
        def data(self, index, role=Qt.ItemDataRole.DisplayRole):
            asked.append(role)
            return super().data(index, role)

    class CountingDelegate(QueueDelegate):
        def paint(self, painter, option, index):
            painted.append(index.row())
            super().paint(painter, option, index)

    asked: list = []
    painted: list[int] = []
    reads = Reads()
    model = Counting(lambda: NOW, reads)
    model.set_ids(list(range(1, 41)))
    model.update_rows({i: dataclasses.replace(_row(i), due_at=NOW, unanswered_count=i % 3) for i in range(1, 41)})
    for r in range(5):
        state, texts = model.row_texts(model.cache[model.ids[r]])
        assert state == model.data(model.index(r, 1), StateRole)
        assert texts == {c: model.data(model.index(r, n), Qt.ItemDataRole.DisplayRole) or ""
                         for n, c in enumerate(COLUMNS)}
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setItemDelegateForColumn(COLUMNS.index("customer"), CountingDelegate(view))
    for column in range(len(COLUMNS)):
        view.setColumnHidden(column, COLUMNS[column] != "customer")
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: len(painted) > 0, timeout=5000)  # laid out and painted once
    asked.clear()
    painted.clear()
    view.viewport().repaint()
    assert painted and asked == []
    # A row not read yet shows "…" and asks the model for it (the model reads its block).
    model.forget([model.ids[2]])
    reads.asked.clear()
    view.viewport().repaint()
    assert reads.asked and model.ids[2] in reads.asked[0][0]


def test_the_awaiting_views_counts_come_with_its_order(qtbot, window, demo_core, monkeypatch):
    """Unfiltered, the awaiting view is what the awaiting count counts and its first row the most urgent:
    they come with the order it reads, not from two more queries at every refresh. Elsewhere they are read."""
    from socialdesk.core import queue_read

    calls: list[str] = []
    for name in ("awaiting_count", "most_urgent"):
        real = getattr(queue_read, name)
        monkeypatch.setattr(queue_read, name, lambda *a, _real=real, _name=name, **k: (calls.append(_name),
                                                                                      _real(*a, **k))[1])
    now = demo_core.clock.now()
    qtbot.waitUntil(lambda: window.tasks.pending() == 0, timeout=5000)
    calls.clear()
    window.load_view()
    qtbot.waitUntil(lambda: window.tasks.pending() == 0, timeout=5000)
    assert calls == []
    awaiting, urgent = queue_read.awaiting_count(), queue_read.most_urgent(now)
    assert awaiting > 1 and window.awaiting == awaiting and window.tabs.tabText(0) == f"Awaiting ({awaiting})"
    assert window.overdue == queue_read.overdue_count(now)
    assert urgent is not None and window.tray.urgent.startswith(urgent.contact_name)
    assert window.model.ids[0] == urgent.id
    window.show_done()
    qtbot.waitUntil(lambda: window.view == "done" and window.tasks.pending() == 0, timeout=5000)
    calls.clear()
    window.load_view()
    qtbot.waitUntil(lambda: window.tasks.pending() == 0, timeout=5000)
    assert calls == ["awaiting_count", "most_urgent"] and window.awaiting == awaiting
