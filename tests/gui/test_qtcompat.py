"""The binding work-around keeps None and True alive through any number of void calls and emits."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from socialdesk.ui.qtcompat import emit


class _Sender(QObject):
    fired = Signal(int)


def test_many_emits_and_void_calls_keep_the_singletons_alive(qapp):
    sender = _Sender()
    received = []
    sender.fired.connect(received.append)
    for i in range(5000):
        emit(sender.fired, i)
        sender.setObjectName("x")
    assert len(received) == 5000
    # Without the work-around both counts start near 5,000 and this loop takes 5,000 from each.
    assert sys.getrefcount(None) > 5000 and sys.getrefcount(True) > 5000


def test_a_long_running_window_does_not_abort_with_none_dealloc(tmp_path):
    # In a fresh interpreter: 200,000 void calls would drain None's count (~5,000 at start) and abort
    # the process on the affected binding, unless the work-around is in place.
    script = (
        "import os, sys\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtWidgets import QApplication, QWidget\n"
        "app = QApplication([])\n"
        "import socialdesk.ui.qtcompat\n"
        "w = QWidget()\n"
        "for _ in range(200_000):\n"
        "    w.setWindowTitle('x')\n"
        "import gc; gc.collect()\n"
        "print('alive')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "alive" in out.stdout, out.stderr[-2000:]


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
