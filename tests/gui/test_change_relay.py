"""ChangeRelay (ui/workers.py): the profile's change notifications reach the window batched, 150 ms after a
lone change, and while changes keep coming (a sync burst) no more than twice a second, so a burst does not
reload the view (its order and counts: a worker's query, the new order and a repaint) seven times a second."""

from __future__ import annotations

from socialdesk.core.changes import ChangeSet
from socialdesk.ui.workers import ChangeRelay


def test_a_lone_change_goes_in_150_ms_and_a_stream_of_them_twice_a_second(qtbot):
    clock = [1000.0]
    relay = ChangeRelay(monotonic=lambda: clock[0])
    got: list[ChangeSet] = []
    relay.changed.connect(got.append)

    relay.push(ChangeSet({1}))
    assert relay._timer.isActive() and relay._timer.interval() == 150
    qtbot.waitUntil(lambda: got == [ChangeSet({1})], timeout=2000)

    clock[0] += 0.1  # the next change 100 ms after that signal: a stream
    relay.push(ChangeSet({2}))
    assert relay._timer.interval() == 400  # 500 ms after the last signal
    relay.push(ChangeSet({3}, [(3, 7)]))
    assert relay._timer.interval() == 400  # one signal for both
    qtbot.waitUntil(lambda: len(got) == 2, timeout=2000)
    assert got[1] == ChangeSet({2, 3}, [(3, 7)])

    clock[0] += 0.3  # 300 ms after the last signal: 150 would be sooner than 500 after it
    relay.push(ChangeSet({4}))
    assert relay._timer.interval() == 200
    relay._timer.stop()
    relay._flush()

    clock[0] += 2.0  # quiet for a while: a lone change again
    relay.push(ChangeSet({5}))
    assert relay._timer.interval() == 150
    qtbot.waitUntil(lambda: got[-1] == ChangeSet({5}), timeout=2000)
    assert [c.conversation_ids for c in got] == [{1}, {2, 3}, {4}, {5}]
