"""Work-arounds for bugs in the Qt binding, in one place.

`emit(signal, *args)`: PySide6 6.12 on Python 3.11 returns the result of `SignalInstance.emit()`
(True) without taking a reference to it, so every emit from Python lowers the reference count of
`True` by one; after some thousands of emits the interpreter aborts with "bool_dealloc" (Python 3.12
made True immortal, which hides the bug). We measure once at import whether this binding has the bug,
and if it does, give the reference back after each emit. On a fixed binding this is a plain emit.
All Python-side emits in socialdesk/ui go through here.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal


class _Probe(QObject):
    fired = Signal()


def _emit_steals_result() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.fired.emit()
    return sys.getrefcount(True) < before


_STEALS = _emit_steals_result()
_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


def emit(signal: Any, *args: Any) -> None:
    result = signal.emit(*args)
    if _STEALS and (result is True or result is False):
        _incref(result)


def emit_is_compensated() -> bool:
    """True when this binding needs (and gets) the compensation; for tests and diagnostics."""
    return _STEALS
