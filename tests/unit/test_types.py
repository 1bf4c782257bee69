"""Types as a test: mypy over what [tool.mypy] in pyproject.toml names (core and connectors at least).

Runs the checker the way a developer does (`python -m mypy`, configuration from pyproject.toml), so CI fails on
a type error like on a lint error (tests/unit/test_lint.py). The cache lives in a temporary folder: a cache
left by an older checkout must not hide an error, and the test must not write into the work tree.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_covers_core_and_connectors():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert {"socialdesk/core", "socialdesk/connectors"} <= set(config["files"])
    assert config["check_untyped_defs"] and config["warn_unused_ignores"] and config["no_implicit_optional"]


def test_mypy_passes(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
