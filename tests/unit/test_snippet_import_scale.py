"""Snippet import is linear and every bad file is one clear line (issue 12, item 17).

100,000 snippets took 178 s from JSON and 36 s from CSV (a line count from the file's start for every
item, and two SQL statements per row); deeply nested JSON printed a traceback. The work is checked by
counting SQL statements, and the time with a generous bound (the budget is 5 s on an idle machine).
"""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime

import pytest

from socialdesk.core import snippets as sn
from socialdesk.core.store import Snippet

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
N = 100_000


def _rows(n: int) -> list[dict]:
    return [{"abbreviation": f"s{i}", "title": f"Snippet {i}", "body": f"Hi {{first_name|there}}, answer {i}.",
             "tags": ["shop"], "channels": [], "favorite_slot": i + 1 if i < 3 else None} for i in range(n)]


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(sn.FIELDS)
    for r in rows:
        writer.writerow([r["abbreviation"], r["title"], r["body"], ";".join(r["tags"]), "",
                         "" if r["favorite_slot"] is None else r["favorite_slot"]])
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_100k_snippets_import_in_linear_work(store, monkeypatch, fmt):
    rows = _rows(N)
    text = json.dumps(rows, indent=2) if fmt == "json" else _csv(rows)
    statements = []
    real = store.db.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        statements.append(sql[:30])
        return real(sql, params, *args, **kwargs)

    monkeypatch.setattr(store.db, "execute_sql", counting)
    started = time.perf_counter()
    parsed = sn.parse_import(text, fmt)
    result = sn.import_snippets(store, parsed, NOW)
    elapsed = time.perf_counter() - started
    assert (result.created, result.updated) == (N, 0)
    assert len(statements) <= N // 500 + 10  # was two statements per snippet
    assert elapsed < 60, f"{elapsed:.1f} s"
    again = sn.import_snippets(store, parsed, NOW)
    assert (again.created, again.updated) == (0, N)
    assert Snippet.select().count() == N and sn.find_by_abbreviation("s2").favorite_slot == 3


def test_json_line_numbers_cost_no_rescan():
    """40,000 items: counting lines from the start for each item scanned ~80 GB of text."""
    rows = _rows(40_000)
    rows[-1]["body"] = "{oops}"
    text = json.dumps(rows, indent=2)
    started = time.perf_counter()
    with pytest.raises(sn.SnippetImportError) as info:
        sn.parse_json(text)
    assert time.perf_counter() - started < 20
    # the line of the last item's "{", just above its abbreviation
    assert info.value.line == text[: text.index('"s39999"')].count("\n") and info.value.field == "body"


def test_an_update_keeps_usage_creation_time_and_id(store):
    first = sn.create_snippet(store, title="Thanks", abbreviation="thx", body="Thanks!", favorite_slot=4, now=NOW)
    sn.record_use(store, first.id, NOW)
    later = datetime(2026, 4, 1, tzinfo=UTC)
    sn.import_snippets(store, [{"abbreviation": "thx", "title": "Thanks v2", "body": "Thanks a lot!"}], later)
    again = Snippet.get_by_id(first.id)
    assert (again.title, again.body, again.use_count, again.created_at, again.updated_at, again.favorite_slot) == \
        ("Thanks v2", "Thanks a lot!", 1, NOW, later, None)


@pytest.mark.parametrize("text, fmt, expected", [
    ("[" * 100_000, "json", "The JSON is nested too deeply."),
    ('[{"abbreviation": "a", "title": "A", "body": "B", "favorite_slot": 1' + "0" * 5000 + "}]", "json",
     "a value is too large"),
    ("", "json", "Line 1: not valid JSON"),
    ('[{"abbreviation": "a", "title": "A", "body": "B"}] trailing', "json", "Extra data"),
    ('[{"abbreviation": "a", "title": "A", "body": "' + "{x" * 200_000 + '"}]', "json", "never closed"),
    ('[{"abbreviation": "a", "title": "A", "body": "{' + "a" * 200_000 + '}"}]', "json", "Unknown placeholder"),
    ('[{"abbreviation": "' + "a" * 200_000 + '", "title": "A", "body": "B"}]', "json", "abbreviation"),
    ("abbreviation,title,body\na,A," + "x" * 200_000 + "\n", "csv", "not valid CSV"),
])
def test_every_bad_file_is_one_short_line(text, fmt, expected):
    started = time.perf_counter()
    with pytest.raises(sn.SnippetImportError) as info:
        sn.parse_import(text, fmt)
    assert time.perf_counter() - started < 5
    message = sn.import_failure("lib." + fmt, info.value)
    assert expected.lower() in message.lower() and "\n" not in message and len(message) < 400
    assert message.startswith(f"lib.{fmt}: ") and message.endswith("Nothing was imported.")


def test_reading_a_file_that_is_not_utf8_or_missing_is_one_line(tmp_path):
    latin = tmp_path / "lib.csv"
    latin.write_bytes("abbreviation,title,body\nc,Café,x\n".encode("latin-1"))
    with pytest.raises(sn.SnippetImportError, match="not UTF-8"):
        sn.read_import_file(str(latin))
    with pytest.raises(sn.SnippetImportError, match="(?i)cannot read the file"):
        sn.read_import_file(str(tmp_path / "missing.json"))
    good = tmp_path / "lib"
    good.write_text('[{"abbreviation": "a", "title": "A", "body": "B"}]', encoding="utf-8")
    assert [r["abbreviation"] for r in sn.read_import_file(str(good))] == ["a"]  # format from the content
