"""Waking up (issue 18 item 4): telling that the computer slept (suspend, hibernate, a closed lid) from the
clocks alone, so the sync engine can catch up at once. Qt-free; the window may also tell the engine to
look now (ui: the application becoming active), but the clocks decide.

Decisions:
- Two clocks are compared at every check of the engine's scheduler (about twice a second): the wall
  clock (the injected `Clock`, UTC) and a monotonic one (`time.monotonic`, injected too). On Linux
  (CLOCK_MONOTONIC) and macOS the monotonic clock stops while the machine is suspended and the wall clock
  does not, so a wall step that exceeds the monotonic step by `JUMP` (60 s) is a sleep. On Windows the
  monotonic clock (QueryPerformanceCounter) may keep counting through sleep; there, and when the process
  was stopped, the sign is a gap: more than `GAP` (5 min) of monotonic time between two checks that come
  every half second. Either way the sleep is reported as `Slept(since, until)`: `since` is the wall time
  of the last check before it, `until` the wall time now.
- A wall clock set backwards (or NTP stepping it back) is no sleep: the detector starts again from there.
  One set forwards by more than JUMP looks like a sleep, and is treated as one: catching up early is
  harmless (a fetch, and skipping what is too late anyway).
- No sleep is ever reported on the first check (nothing to compare with).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

JUMP = timedelta(seconds=60)
GAP = timedelta(minutes=5)


@dataclass(frozen=True)
class Slept:
    since: datetime  # wall time of the last check before the sleep (UTC)
    until: datetime  # wall time of the check that noticed it (UTC)

    @property
    def duration(self) -> timedelta:
        return self.until - self.since


class SleepDetector:
    def __init__(self, wall: Callable[[], datetime], monotonic: Callable[[], float] = time.monotonic,
                 jump: timedelta = JUMP, gap: timedelta = GAP):
        self.wall = wall
        self.monotonic = monotonic
        self.jump = jump
        self.gap = gap
        self._last: tuple[datetime, float] | None = None
        self._lock = threading.Lock()

    def check(self) -> Slept | None:
        """Compare the clocks with the previous check; the sleep between them, if there was one."""
        wall, mono = self.wall(), self.monotonic()
        with self._lock:
            last, self._last = self._last, (wall, mono)
        if last is None:
            return None
        wall_step = wall - last[0]
        mono_step = timedelta(seconds=max(0.0, mono - last[1]))
        if wall_step <= timedelta(0):
            return None  # the wall clock went back: no sleep, start again from here
        if wall_step - mono_step >= self.jump or mono_step >= self.gap:
            return Slept(last[0], wall)
        return None
