"""Work-arounds for bugs in the Qt binding, in one place.

PySide6 6.12 on Python 3.11 gives back results it never took a reference to:
- every call of a Qt method that returns nothing (`setText`, `update`, `processEvents`, ...) lowers the
  reference count of `None` by one;
- every `SignalInstance.emit()` from Python lowers the count of `True` by one.
A window that runs for an afternoon makes millions of such calls, and when a count reaches zero the
interpreter aborts ("Fatal Python error: none_dealloc" / "bool_dealloc"). Python 3.12 made these
singletons immortal, which hides the bug there.

Decision: measure once, at import, whether this binding has either leak; if it does, make `None`, `True`
and `False` practically immortal the way Python 3.12 does, by adding 2**48 to their reference counts
(a leak of one per call would need years of calls to use that up, and the count stays far from
overflowing). Compensating call by call was tried for `emit` and cannot cover every void method of Qt.
Every UI module imports this one (through `emit`), so the fix is in place before the window's first
event. On a fixed binding nothing is changed. `emit` stays the one way the UI emits, so a future
binding work-around for signals has one place to go.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

_PIN = 1 << 48


class _Probe(QObject):
    fired = Signal()


def _binding_leaks_singletons() -> bool:
    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(8):
        probe.setObjectName("probe")  # a void method
        probe.fired.emit()
    return sys.getrefcount(None) < none_before or sys.getrefcount(True) < true_before


def _pin(singleton: object) -> None:
    if hasattr(sys, "gettotalrefcount"):
        # A debug build lays PyObject out differently; take references one by one instead.
        for _ in range(1 << 20):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(singleton))
        return
    # ob_refcnt is the first field of every object in a release build of CPython 3.11.
    ctypes.c_ssize_t.from_address(id(singleton)).value += _PIN


def _immortalise_singletons() -> bool:
    if sys.version_info >= (3, 12) or not _binding_leaks_singletons():
        return False
    for singleton in (None, True, False):
        _pin(singleton)
    return True


_PINNED = _immortalise_singletons()


def emit(signal: Any, *args: Any) -> None:
    signal.emit(*args)


def singletons_pinned() -> bool:
    """True when this binding leaks references to None/True/False and they were pinned."""
    return _PINNED
