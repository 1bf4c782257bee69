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
        "[r.spec(k) for k in r.kinds()]\n"
        "print(sorted(m for m in sys.modules if m.startswith('PySide6')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --- no ORM writes under ui/ (issue 13 item 8): the window gathers input and shows results; every write
# is a core service's (core/owner_actions.py, core/account_service.py, ...), which publishes the change.

UI = ROOT / "socialdesk" / "ui"
MODEL_WRITES = {
    "save", "create", "get_or_create", "update", "insert", "insert_many", "insert_from", "replace",
    "replace_many", "delete", "delete_by_id", "delete_instance", "set_by_id", "bulk_create", "bulk_update",
}
INSTANCE_WRITES = {"save", "delete_instance"}  # on a model row, whatever its variable is called
SQL_WRITE = ("insert", "update", "delete", "replace")


def _receiver_chain(node: ast.AST) -> list[str]:
    """`core.store.write` -> ["core", "store"] for the call's receiver (names and attributes only)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def orm_writes(source: str) -> list[str]:
    """Database writes a module makes itself: peewee model writes (`Account.update(...)`, `row.save()`),
    `store.write()` transactions, `set_setting`, and SQL INSERT/UPDATE/DELETE text given to execute."""
    tree = ast.parse(source)
    models: set[str] = set()  # names bound to socialdesk.core.store's models (or the module itself)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "socialdesk.core.store":
            models |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "socialdesk.core":
            models |= {alias.asname or alias.name for alias in node.names if alias.name == "store"}
        elif isinstance(node, ast.Import):
            models |= {alias.asname or alias.name for alias in node.names if alias.name == "socialdesk.core.store"}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        method, chain = node.func.attr, _receiver_chain(node.func.value)
        where = f"line {node.lineno}: {'.'.join(chain) or '(expression)'}.{method}("
        if method in MODEL_WRITES and chain and (chain[0] in models or chain[-1] in models):
            found.append(where)
        elif (method in INSTANCE_WRITES and chain[:1] not in (["self"], ["super"])
              and not (chain and chain[-1].lower().endswith("painter"))):  # QPainter.save(): state, not a row
            found.append(where)
        elif method == "write" and chain and chain[-1] == "store":
            found.append(where)
        elif method == "set_setting":
            found.append(where)
        elif (method in ("execute", "execute_sql", "executemany") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and node.args[0].value.lstrip().lower().startswith(SQL_WRITE)):
            found.append(where)
    return found


def test_ui_makes_no_orm_writes():
    files = sorted(UI.rglob("*.py"))
    assert len(files) > 10  # the folder was found
    offenders = {
        str(f.relative_to(ROOT)): writes for f in files if (writes := orm_writes(f.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_orm_write_scan_detects_writes():
    store_import = "from socialdesk.core.store import Account as _Account, Conversation\n"
    assert orm_writes(store_import + "_Account.update(enabled=False).where(_Account.id == 1).execute()\n")
    assert orm_writes(store_import + "Conversation.create(subject='x')\n")
    assert orm_writes(store_import + "def f():\n    Conversation.delete().execute()\n")
    assert orm_writes("from socialdesk.core import store as s\ns.Account.insert(name='x').execute()\n")
    assert orm_writes("row = fetch()\nrow.save()\n")
    assert orm_writes("account.delete_instance()\n")
    assert orm_writes("def work(core):\n    with core.store.write():\n        pass\n")
    assert orm_writes("with store.write():\n    pass\n")
    assert orm_writes("core.store.set_setting('k', 1)\n")
    assert orm_writes("db.execute_sql('  UPDATE account SET enabled = 0')\n")
    # Not writes: the window's own methods, sets and text widgets, keyring entries, core services.
    assert orm_writes(
        store_import
        + "self.save()\nseen.update({1})\ncursor.insertText('x')\ntable.insertRow(0)\nsecrets.delete('password')\n"
        + "snippets.delete_snippet(store, 1)\ncore.owner.set_status(1, 'done')\nAccount.select().where(1)\n"
        + "widget.deleteLater()\n"
    ) == []
