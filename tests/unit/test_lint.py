"""Lint as a test: ruff over the code and tests, and an independent check that core/connectors stay Qt-free."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QT_FREE = [ROOT / "socialdesk" / "core", ROOT / "socialdesk" / "connectors"]


def test_ruff_passes():
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "socialdesk", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def qt_imports(source: str) -> list[str]:
    """Names of PySide6/Qt modules a module imports, anywhere in it (also inside functions)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        else:
            continue
        found += [n for n in names if n.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6")]
    return found


def test_core_and_connectors_never_import_qt():
    files = [f for folder in QT_FREE for f in sorted(folder.rglob("*.py"))]
    assert len(files) > 10  # the folders were found
    offenders = {
        str(f.relative_to(ROOT)): names
        for f in files
        if (names := qt_imports(f.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_qt_scan_detects_imports():
    assert qt_imports("import PySide6") == ["PySide6"]
    assert qt_imports("def f():\n    from PySide6.QtCore import QObject\n") == ["PySide6.QtCore"]
    assert qt_imports("import importlib\nimportlib.import_module('PySide6.QtWidgets')") == ["PySide6.QtWidgets"]
    assert qt_imports("import os, sqlite3\nfrom socialdesk.core import store") == []


def test_importing_core_does_not_load_qt():
    code = (
        "import sys\n"
        "import socialdesk.core.sync, socialdesk.core.outbox, socialdesk.core.alerts, socialdesk.cli\n"
        "import socialdesk.connectors.registry as r\n"
        "[r.spec(k) for k in r.KINDS]\n"
        "print(sorted(m for m in sys.modules if m.startswith('PySide6')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
