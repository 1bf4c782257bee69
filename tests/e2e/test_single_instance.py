"""One process per profile: a second window launch raises the first; a second writer is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def _env(home):
    env = dict(os.environ, SOCIALDESK_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    env.pop("PYTHON_KEYRING_BACKEND", None)
    return env


def test_second_gui_launch_raises_the_first(tmp_path):
    env = _env(tmp_path)
    first = subprocess.Popen([sys.executable, "-m", "socialdesk", "--demo"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        log = tmp_path / "profiles" / "demo" / "socialdesk.log"
        lock = tmp_path / "profiles" / "demo" / "socialdesk.lock"
        deadline = time.monotonic() + 30
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            if first.poll() is not None:
                raise AssertionError(f"the first window exited: {first.stderr.read()}")
            assert time.monotonic() < deadline, "the first window never took the profile lock"
            time.sleep(0.1)
        second = subprocess.run([sys.executable, "-m", "socialdesk", "--demo"], env=env,
                                capture_output=True, text=True, timeout=30)
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        assert log.exists()
        # A writing command on the same profile is refused while the window runs.
        busy = subprocess.run([sys.executable, "-m", "socialdesk", "--profile", "demo", "sync", "--once"],
                              env=env, capture_output=True, text=True, timeout=30)
        assert busy.returncode == 1
        assert "already in use" in busy.stderr
        # Reading still works (WAL snapshot).
        queue = subprocess.run([sys.executable, "-m", "socialdesk", "--profile", "demo", "queue", "--json"],
                               env=env, capture_output=True, text=True, timeout=30)
        assert queue.returncode == 0, queue.stderr
    finally:
        first.terminate()
        try:
            first.wait(10)
        except subprocess.TimeoutExpired:
            first.kill()
            first.wait(5)
