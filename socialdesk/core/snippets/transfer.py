"""Moving snippets in and out: JSON/CSV export and all-or-nothing import (one path for the CLI and the
window), and the starter pack loaded on a new profile.

Decisions:
- Import is all-or-nothing inside one `store.write()` transaction; parse errors name the line and
  field. Every bad file is one SnippetImportError, shown as one line by the CLI and the window alike
  (`read_import_file`, `import_failure`): deep nesting, huge numbers and unreadable files included.
  Import is linear in the file (100,000 snippets in a few seconds): line numbers are counted on from
  the previous item, the body scanner never searches past a brace twice, and rows are written by
  multi-row upserts. Export is sorted by abbreviation with a fixed key order so export -> import -> export is
  byte-identical. Usage statistics are not exported: they belong to this profile.
- Starter snippets are loaded once (setting "snippets.starter_loaded"), so deleting them is permanent,
  and they never overwrite an existing abbreviation or take an occupied favourite slot. When the pack
  changes (setting "snippets.starter_version"), a starter snippet whose body is still exactly an earlier
  starter text gets the new text; one the owner edited keeps the owner's words.
- Starter texts render cleanly on a new profile too: business and owner names sit on their own
  signature line (dropped when unset) or have a fallback, and hours come from `{hours}`/`{next_open}`.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from socialdesk.core.snippets.library import (
    _CLEANERS,
    _EDITABLE,
    _LIST_SEPARATOR,
    FIELDS,
)
from socialdesk.core.snippets.text import SnippetError
from socialdesk.core.store import Snippet, Store, tuples

STARTER_SETTING = "snippets.starter_loaded"


class SnippetImportError(SnippetError):
    """A bad import file; names the line and field. Nothing was imported."""

    def __init__(self, line: int | None, field: str | None, message: str):
        self.line = line
        self.field = field
        self.message = message
        where = []
        if line is not None:
            where.append(f"line {line}")
        if field:
            where.append(f"field '{field}'")
        text = (", ".join(where) + ": " if where else "") + message
        super().__init__(text[:1].upper() + text[1:])


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int

    @property
    def total(self) -> int:
        return self.created + self.updated


# --- import / export ----------------------------------------------------------------------------


def _export_rows() -> list[dict[str, Any]]:
    return [
        {
            "abbreviation": s.abbreviation,
            "title": s.title,
            "body": s.body,
            "tags": list(s.tags or []),
            "channels": list(s.channels or []),
            "favorite_slot": s.favorite_slot,
        }
        for s in Snippet.select().order_by(Snippet.abbreviation)
    ]


def export_json(store: Store) -> str:
    """The library as a JSON array, one object per snippet, sorted by abbreviation."""
    return json.dumps(_export_rows(), ensure_ascii=False, indent=2) + "\n"


def export_csv(store: Store) -> str:
    """The library as CSV with a header row; tags and channels are ';'-separated."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for row in _export_rows():
        writer.writerow(
            [
                row["abbreviation"],
                row["title"],
                row["body"],
                _LIST_SEPARATOR.join(row["tags"]),
                _LIST_SEPARATOR.join(row["channels"]),
                "" if row["favorite_slot"] is None else str(row["favorite_slot"]),
            ]
        )
    return out.getvalue()


class CheckedRows(list):
    """Rows as _validate_rows returned them (parse_json, parse_csv): import_snippets does not check
    them a second time, which would double the work of a 100,000-row import."""


def _validate_rows(rows: list[tuple[int | None, dict[str, Any]]]) -> CheckedRows:
    """Clean every row; raise SnippetImportError at the first bad field or duplicate."""
    cleaned = CheckedRows()
    abbreviations: dict[str, int | None] = {}
    slots: dict[int, int | None] = {}
    for line, raw in rows:
        for required in ("abbreviation", "title", "body"):
            if required not in raw:
                raise SnippetImportError(line, required, "this field is missing.")
        unknown = sorted(raw.keys() - _EDITABLE)
        if unknown:
            raise SnippetImportError(line, unknown[0], f"unknown field; expected {', '.join(FIELDS)}.")
        row: dict[str, Any] = {}
        for key in FIELDS:
            try:
                row[key] = _CLEANERS[key](raw.get(key))
            except SnippetError as exc:
                raise SnippetImportError(line, key, str(exc)) from None
        if row["abbreviation"] in abbreviations:
            raise SnippetImportError(
                line, "abbreviation", f"'{row['abbreviation']}' appears twice in the file."
            )
        abbreviations[row["abbreviation"]] = line
        slot = row["favorite_slot"]
        if slot is not None:
            if slot in slots:
                raise SnippetImportError(line, "favorite_slot", f"slot {slot} is given twice in the file.")
            slots[slot] = line
        cleaned.append(row)
    return cleaned


def parse_json(text: str) -> list[dict[str, Any]]:
    """Parse and validate an exported JSON file; errors name the line of the bad snippet."""
    text = text.lstrip("\ufeff")
    try:
        rows = _json_items(text)
    except json.JSONDecodeError as exc:
        raise SnippetImportError(exc.lineno, None, f"not valid JSON ({exc.msg}).") from None
    except RecursionError:
        raise SnippetImportError(None, None, "not a snippet list: the JSON is nested too deeply.") from None
    except ValueError:  # e.g. a number of more than 4,300 digits
        raise SnippetImportError(None, None, "not valid JSON (a value is too large).") from None
    for line, item in rows:
        for key in ("tags", "channels"):
            if key in item and not isinstance(item[key], list):
                raise SnippetImportError(line, key, "must be a list of text.")
    return _validate_rows(rows)


def _json_items(text: str) -> list[tuple[int | None, dict[str, Any]]]:
    """(line, object) for each item of a JSON list, read one item at a time so each error and each
    bad item has its line. Line numbers are counted on from the previous item: linear, not quadratic."""
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if not text.startswith("[", pos):
        if pos == len(text):
            raise json.JSONDecodeError("Expecting value", text, pos)
        raise SnippetImportError(1, None, "expected a JSON list of snippets.")
    pos = _skip_ws(text, pos + 1)
    rows: list[tuple[int | None, dict[str, Any]]] = []
    line, counted = 1, 0
    while not text.startswith("]", pos):
        line += text.count("\n", counted, pos)
        counted = pos
        item, pos = decoder.raw_decode(text, pos)
        if not isinstance(item, dict):
            raise SnippetImportError(line, None, "each snippet must be a JSON object.")
        rows.append((line, item))
        pos = _skip_ws(text, pos)
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
            if text.startswith("]", pos):
                raise json.JSONDecodeError("Illegal trailing comma before end of array", text, pos)
        elif not text.startswith("]", pos):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
    if _skip_ws(text, pos + 1) != len(text):
        raise json.JSONDecodeError("Extra data", text, _skip_ws(text, pos + 1))
    return rows


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(_LIST_SEPARATOR) if item.strip()]


def parse_csv(text: str) -> list[dict[str, Any]]:
    """Parse and validate a CSV file with a header row (abbreviation,title,body[,tags,channels,
    favorite_slot]); errors name the line where the bad record starts."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise SnippetImportError(reader.line_num, None, f"not valid CSV ({exc}).") from None
    if header is None:
        raise SnippetImportError(1, None, "the file is empty.")
    header = [h.strip().lower() for h in header]
    for name in header:
        if name not in _EDITABLE:
            raise SnippetImportError(1, name, f"unknown column; expected {', '.join(FIELDS)}.")
    for required in ("abbreviation", "title", "body"):
        if required not in header:
            raise SnippetImportError(1, required, "this column is missing from the header.")
    if len(set(header)) != len(header):
        raise SnippetImportError(1, None, "a column appears twice in the header.")
    rows: list[tuple[int | None, dict[str, Any]]] = []
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            record = next(reader, None)
        except csv.Error as exc:
            raise SnippetImportError(start, None, f"not valid CSV ({exc}).") from None
        if record is None:
            break
        last_line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raise SnippetImportError(
                start, None, f"expected {len(header)} values like the header, found {len(record)}."
            )
        raw: dict[str, Any] = dict(zip(header, record, strict=True))
        for key in ("tags", "channels"):
            if key in raw:
                raw[key] = _split_list(raw[key])
        rows.append((start, raw))
    return _validate_rows(rows)


_INSERT_ROWS = 500  # rows per INSERT statement: 9 columns each stays below SQLite's 32,766 variables


def import_snippets(store: Store, rows: list[dict[str, Any]], now: datetime) -> ImportResult:
    """Import parsed rows in one transaction: an existing abbreviation updates that snippet, others
    are created; favourite slots in the file win over slots held by other snippets. Raises
    SnippetImportError (row number as the line) and imports nothing if any row is invalid.

    The work is linear: one query reads the existing abbreviations, the slots the file gives are freed
    in one statement, and the rows are written by multi-row upserts (INSERT ... ON CONFLICT
    (abbreviation) DO UPDATE), which keep an updated snippet's id, creation time and usage."""
    cleaned = rows if isinstance(rows, CheckedRows) else _validate_rows(
        [(index + 1, row) for index, row in enumerate(rows)]
    )
    columns = [Snippet.abbreviation, Snippet.title, Snippet.body, Snippet.tags, Snippet.channels,
               Snippet.favorite_slot, Snippet.use_count, Snippet.created_at, Snippet.updated_at]
    stamp = Snippet.created_at.db_value(now)
    lists: dict[tuple[str, ...], str] = {}  # a library repeats a few tag/channel lists: encode each once

    def encoded(items: list[str]) -> str:
        key = tuple(items)
        if key not in lists:
            lists[key] = Snippet.tags.db_value(items)
        return lists[key]

    values = [(row["abbreviation"], row["title"], row["body"], encoded(row["tags"]), encoded(row["channels"]),
               row["favorite_slot"], 0, stamp, stamp) for row in cleaned]
    slots = [row["favorite_slot"] for row in cleaned if row["favorite_slot"] is not None]
    with store.write():
        existing = {abbr for (abbr,) in tuples(Snippet.select(Snippet.abbreviation))}
        updated = sum(1 for row in cleaned if row["abbreviation"] in existing)
        if slots:
            Snippet.update(favorite_slot=None).where(Snippet.favorite_slot.in_(slots)).execute()
        # Plain SQL: building 100,000 rows through the ORM's query builder costs more than writing them.
        names = [column.column_name for column in columns]
        row_sql = "(" + ",".join("?" * len(columns)) + ")"
        kept = ("abbreviation", "use_count", "created_at")  # an update keeps its usage and creation time
        update = ", ".join(f"{name} = excluded.{name}" for name in names if name not in kept)
        for start in range(0, len(values), _INSERT_ROWS):
            chunk = values[start : start + _INSERT_ROWS]
            store.db.execute_sql(
                f"INSERT INTO {Snippet._meta.table_name} ({', '.join(names)}) VALUES "
                + ",".join([row_sql] * len(chunk))
                + f" ON CONFLICT(abbreviation) DO UPDATE SET {update}",
                list(itertools.chain.from_iterable(chunk)),
            )
    return ImportResult(created=len(cleaned) - updated, updated=updated)


IMPORT_FORMATS = ("json", "csv")


def import_format(name: str, text: str) -> str:
    """"json" or "csv": from the file name's extension, else from the content (a JSON list starts
    with "[")."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in IMPORT_FORMATS:
        return suffix
    return "json" if text.lstrip("\ufeff \t\r\n").startswith("[") else "csv"


def parse_import(text: str, fmt: str) -> list[dict[str, Any]]:
    """Parse an import file's text as `fmt`; every problem is one SnippetImportError (one line)."""
    try:
        return parse_json(text) if fmt == "json" else parse_csv(text)
    except RecursionError:  # a value nested so deeply that even turning it into text fails
        raise SnippetImportError(None, None, "a value is nested too deeply.") from None


def read_import_file(path: str, fmt: str | None = None) -> list[dict[str, Any]]:
    """Read, detect the format of (unless `fmt` is given) and parse an import file: the window's and
    the CLI's one path."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        raise SnippetImportError(None, None, "the file is not UTF-8 text; save it as UTF-8 and try again.") from None
    except OSError as exc:
        raise SnippetImportError(None, None, f"cannot read the file ({exc.strerror or type(exc).__name__}).") from None
    return parse_import(text, fmt or import_format(path, text))


def import_failure(source: str, error: SnippetError) -> str:
    """The one line that says an import failed and changed nothing (CLI and window alike)."""
    return f"{source}: {error} Nothing was imported."


# Earlier versions of starter texts (issue 17: they sent "—," and fixed hours). A snippet whose body is
# still one of these was never edited by the owner: `load_starter_snippets` gives it the current text.
_EARLIER_STARTER_BODIES: dict[str, tuple[str, ...]] = {
    "badreview": (
        "Thank you for your honest feedback, {first_name|there}, and I'm sorry we let you down. I'd like to put "
        "this right — please get in touch with {business} directly so I can help.",
    ),
    "bye": ("Thanks again, {first_name|there}! Have a lovely day. — {my_name}, {business}",),
    "closed": (
        "Thanks for your message! We're closed right now and back {next_open}. I'll reply as soon as we open.",
    ),
    "hours": ("We're open Monday to Friday 9–5 and Saturday 10–2. Next time we're open: {next_open}.",),
    "review": (
        "Thank you for the lovely review, {first_name|there}! It means a lot to a small business like ours. "
        "Hope to see you again soon. — {my_name}",
    ),
}
STARTER_VERSION = 2  # raise it with every change to _EARLIER_STARTER_BODIES
STARTER_VERSION_SETTING = "snippets.starter_version"


def _starter_rows() -> list[dict[str, Any]]:
    text = resources.files("socialdesk").joinpath("resources", "snippets.json").read_text("utf-8")
    return parse_json(text)


def _upgrade_starter_snippets(store: Store, now: datetime) -> int:
    """Give unedited starter snippets of an older pack the current text; returns how many changed.
    Edited snippets (any other body) and deleted ones are left as they are."""
    if (store.get_setting(STARTER_VERSION_SETTING) or 1) >= STARTER_VERSION:
        return 0
    current = {row["abbreviation"]: row["body"] for row in _starter_rows()}
    upgraded = 0
    with store.write():
        for abbreviation, earlier in _EARLIER_STARTER_BODIES.items():
            if abbreviation in current:
                upgraded += Snippet.update(body=current[abbreviation], updated_at=now).where(
                    (Snippet.abbreviation == abbreviation) & Snippet.body.in_(earlier)
                ).execute()
        store.set_setting(STARTER_VERSION_SETTING, STARTER_VERSION)
    return upgraded


def load_starter_snippets(store: Store, now: datetime) -> int:
    """Load the starter pack on first run only; returns how many snippets were added. On later runs,
    starter snippets of an older pack that the owner never edited get the current text."""
    if store.get_setting(STARTER_SETTING):
        _upgrade_starter_snippets(store, now)
        return 0
    rows = _starter_rows()
    added = 0
    with store.write():
        store.set_setting(STARTER_VERSION_SETTING, STARTER_VERSION)
        for row in rows:
            if Snippet.get_or_none(Snippet.abbreviation == row["abbreviation"]) is not None:
                continue
            slot = row["favorite_slot"]
            if slot is not None and Snippet.get_or_none(Snippet.favorite_slot == slot) is not None:
                slot = None
            Snippet.create(**{**row, "favorite_slot": slot}, created_at=now, updated_at=now)
            added += 1
        store.set_setting(STARTER_SETTING, True)
    return added
