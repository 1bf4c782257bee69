"""Qt-free measurements on a prepared profile: queue and search query times, ingest and dedupe rates.

Run as `python -m benchmarks.core_bench HOME` (HOME a private copy of the fixture); prints one JSON line.

Decisions:
- Query times are the median of 20 runs of what the window's first reload does: `queue.list_ids(view)`
  plus `queue.rows()` for the first 80 ids (the first screenful and a bit). Cold-cache cost is part of
  the first-paint measurement, not this one.
- Search is the owner typing a common product word ("croissants", in ~8% of messages) into the search
  box of the default view; a person's name is measured too (informational).
- Ingest: 10,000 new inbound items (half start conversations, half join existing ones, new and known
  authors) in batches of 1,000 per account, as a connector delivers them, then the same 10,000 again
  (all duplicates). Rates are items per second of wall time, transactions and cursor commits included.
- The process runs with the app's garbage-collector settings (`app.tune_garbage_collector`), as the
  window and `socialdesk sync` do; the store is opened directly, without the rest of build_core.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import fixture

RUNS = 20


def _median_ms(fn) -> dict:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(samples), 2), "max_ms": round(max(samples), 2)}


def measure(home: Path) -> dict:
    import os

    os.environ["SOCIALDESK_HOME"] = str(home)
    from socialdesk import app, paths
    from socialdesk.core import ingest, queue
    from socialdesk.core.settings import Settings
    from socialdesk.core.store import Account, Store

    profile = paths.profile(fixture.PROFILE_NAME)
    app.tune_garbage_collector()  # as every socialdesk process does (app.build_core)
    store = Store.open(profile.database, profile.backups)
    now = datetime.now(timezone.utc)
    result: dict = {}
    try:
        def urgent_first():
            ids = queue.list_ids("awaiting", now)
            queue.rows(ids[:80])
            return ids

        def search(term: str):
            def run():
                ids = queue.list_ids("awaiting", now, search=term)
                queue.rows(ids[:80])
                return ids
            return run

        result["awaiting_rows"] = len(urgent_first())
        result["queue_query"] = _median_ms(urgent_first)
        result["search_hits"] = len(search("croissants")())
        result["search"] = _median_ms(search("croissants"))
        result["search_name"] = _median_ms(search("Lopez"))

        policy = queue.Policy.load(Settings(store))
        accounts = [a.id for a in Account.select().order_by(Account.id)]
        batches = fixture.new_items(10_000, now, existing_conversations=result_conversations(store))

        def ingest_all() -> tuple[float, int, int]:
            new = dup = 0
            started = time.perf_counter()
            for acc, items in enumerate(batches):
                for start in range(0, len(items), fixture.BATCH):
                    r = ingest.ingest(store, accounts[acc], items[start : start + fixture.BATCH], None, policy, now)
                    new += len(r.new_message_ids)
                    dup += r.duplicates
            return time.perf_counter() - started, new, dup

        seconds, new, dup = ingest_all()
        result["ingest"] = {"items": 10_000, "new": new, "duplicates": dup, "seconds": round(seconds, 3),
                            "items_per_s": round(10_000 / seconds)}
        seconds, new, dup = ingest_all()
        result["dedupe"] = {"items": 10_000, "new": new, "duplicates": dup, "seconds": round(seconds, 3),
                            "items_per_s": round(10_000 / seconds)}
    finally:
        store.close()
    return result


def result_conversations(store) -> int:
    return store.db.execute_sql("SELECT count(*) FROM conversation").fetchone()[0]


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
