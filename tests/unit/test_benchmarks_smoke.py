"""The benchmark code works: a 200-conversation fixture builds through ingest and measures sanely.

Not a timed test: it checks the fixture's shape and that core_bench returns every figure, never how
fast anything was (benchmarks report; they do not gate CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import fixture, machine

REPO = Path(__file__).resolve().parents[2]


def test_message_counts_sum_exactly_and_stay_in_range():
    import random

    counts = fixture.message_counts(random.Random(1), 200, 1_000)
    assert sum(counts) == 1_000
    assert all(1 <= c <= 12 for c in counts)


def test_generated_items_are_a_realistic_mix():
    now = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    per_account = fixture.generate(200, 1_000, now)
    items = [i for batch in per_account for i in batch]
    assert len(per_account) == 8 and len(items) == 1_000
    assert {i.kind for i in items} == {"dm", "comment", "mention", "review", "email"}
    assert any(i.public for i in items) and any(not i.public for i in items)
    assert any(i.outbound for i in items) and any(not i.outbound for i in items)
    assert all(i.created_at <= now for i in items)
    authors = [i.author.external_id for i in items if not i.outbound]
    conversations_per_author: dict[str, set] = {}
    for i in items:
        if not i.outbound:
            conversations_per_author.setdefault(i.author.external_id, set()).add(i.conversation_external_id)
    assert len(set(authors)) < 200  # people come back
    assert any(len(c) > 1 for c in conversations_per_author.values())


def test_fixture_builds_through_ingest_and_core_bench_measures(tmp_path):
    cache_home = tmp_path / "built"
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.fixture", str(cache_home), "200", "1000"],
        cwd=REPO, check=True, capture_output=True, text=True, timeout=120,
    ).stdout.split()
    assert int(out[2]) == 200 and int(out[3]) == 1_000
    import sqlite3

    db = sqlite3.connect(cache_home / "profiles" / fixture.PROFILE_NAME / "socialdesk.sqlite3")
    try:
        statuses = dict(db.execute("SELECT status, count(*) FROM conversation GROUP BY status").fetchall())
        awaiting = db.execute("SELECT count(*) FROM conversation WHERE awaiting_since IS NOT NULL").fetchone()[0]
        accounts = db.execute("SELECT count(*) FROM account WHERE kind = 'demo'").fetchone()[0]
        indexed = db.execute("SELECT count(*) FROM message_fts WHERE message_fts MATCH 'croissants'").fetchone()[0]
    finally:
        db.close()
    assert statuses["done"] == 40 and statuses["open"] == 160  # every fifth conversation marked done
    assert 0 < awaiting < 160  # some answered by the business, some awaiting
    assert accounts == 8
    assert indexed > 0

    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.core_bench", str(cache_home)],
        cwd=REPO, check=True, capture_output=True, text=True, timeout=120,
    ).stdout
    import json

    figures = json.loads(result.splitlines()[-1])
    assert figures["awaiting_rows"] == awaiting
    assert figures["ingest"]["new"] == 10_000 and figures["ingest"]["duplicates"] == 0
    assert figures["dedupe"]["new"] == 0 and figures["dedupe"]["duplicates"] == 10_000
    for key in ("queue_query", "search", "search_name"):
        assert figures[key]["median_ms"] > 0

    # The first-paint reference: PySide6 + sqlite3 alone paint the first rows of the same file.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    bare = json.loads(subprocess.run(
        [sys.executable, "-m", "benchmarks.gui_bench", "bare_table", str(cache_home)],
        cwd=REPO, check=True, capture_output=True, text=True, timeout=120, env=env,
    ).stdout.splitlines()[-1])
    assert bare["painted"] and bare["rows"] == min(80, awaiting) and bare["first_paint_s"] > 0


def test_machine_info_and_memory_readings():
    info = machine.info()
    assert info["cpu_count"] and info["python"]
    assert 0 < machine.rss_mb() <= machine.peak_rss_mb()
