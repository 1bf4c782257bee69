"""The emit work-around keeps `True` alive, and every Python-side emit in the UI goes through it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from socialdesk.ui.qtcompat import emit


class _Sender(QObject):
    fired = Signal(int)


def test_many_emits_do_not_drain_true(qapp):
    sender = _Sender()
    received = []
    sender.fired.connect(received.append)
    before = sys.getrefcount(True)
    for i in range(5000):
        emit(sender.fired, i)
    assert len(received) == 5000
    assert sys.getrefcount(True) >= before - 50  # the bug would have taken 5000


def test_ui_code_never_calls_emit_directly():
    ui = Path(__file__).resolve().parents[2] / "socialdesk" / "ui"
    offenders = [
        f"{path.name}:{n}"
        for path in ui.glob("*.py")
        if path.name != "qtcompat.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\.emit\(", line)
    ]
    assert offenders == []
