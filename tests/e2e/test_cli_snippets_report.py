"""End to end: `socialdesk snippets ...`, `reply --snippet` personalisation and `report`, run as
subprocesses on a demo account in a temporary SOCIALDESK_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REPORT_KEYS = {"start", "end", "days", "timezone", "channels", "total"}
ROW_KEYS = {
    "channel", "received", "answered", "response_rate", "first_responses", "first_response_median_s",
    "first_response_p90_s", "judged", "within_target", "within_target_pct", "resolved",
    "resolution_median_s", "overdue_now", "repeat_contacts", "personal", "edited_snippet",
    "unchanged_snippet",
}
SNIPPET_KEYS = {"abbreviation", "title", "body", "tags", "channels", "favorite_slot", "use_count", "last_used_at"}


@pytest.fixture
def sd(tmp_path, socialdesk_home):
    env = {**os.environ, "SOCIALDESK_HOME": str(socialdesk_home)}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-m", "socialdesk", *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    run("account", "add", "demo", "D", "--set", "channel=bluesky")
    run("sync", "--once")
    return run


def test_starters_reply_personalised_report_keys(sd):
    listed = json.loads(sd("snippets", "list", "--json").stdout)
    assert {s["abbreviation"] for s in listed} >= {"thx", "closed", "hi"}
    assert all(set(s) == SNIPPET_KEYS for s in listed)

    queue = json.loads(sd("queue", "--json").stdout)
    conv = next(c for c in queue if c["kind"] == "dm")
    first = conv["customer"].split()[0]
    sd("reply", str(conv["id"]), "--snippet", "thx")
    shown = json.loads(sd("show", str(conv["id"]), "--json").stdout)
    sent = [m for m in shown["messages"] if m["direction"] == "out"][-1]
    assert sent["via"] == "snippet"
    assert sent["text"].startswith(f"Thanks so much, {first}!")

    report = json.loads(sd("report", "--json", "--days", "7").stdout)
    assert set(report) == REPORT_KEYS and report["days"] == 7
    assert set(report["total"]) == ROW_KEYS and report["total"]["channel"] == "all"
    assert [set(row) for row in report["channels"]] == [ROW_KEYS]
    total = report["total"]
    assert total["received"] >= 2 and total["answered"] == 1 and total["unchanged_snippet"] == 1
    csv_lines = sd("report", "--csv").stdout.splitlines()
    assert csv_lines[0].split(",")[:3] == ["channel", "received", "answered"] and csv_lines[-1].startswith("all,")
    assert sd("report", "--json", "--csv", ok=False).returncode == 2


def test_export_import_round_trip_and_bad_csv_changes_nothing(sd, tmp_path):
    exported = tmp_path / "lib.csv"
    sd("snippets", "export", str(exported))
    original = exported.read_text(encoding="utf-8")
    assert original.startswith("abbreviation,title,body,tags,channels,favorite_slot\n")
    assert json.loads(sd("snippets", "export", "-").stdout)[0]["abbreviation"] == "badreview"

    edited = tmp_path / "new.csv"
    edited.write_text(original + 'zz,Brand new,"Hi {first_name|there},\nsee you",,,\n', encoding="utf-8")
    out = sd("snippets", "import", str(edited)).stdout
    assert "1 new" in out
    sd("snippets", "export", str(tmp_path / "again.json"))
    again = json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))
    assert again[-1] == {"abbreviation": "zz", "title": "Brand new", "body": "Hi {first_name|there},\nsee you",
                         "tags": [], "channels": [], "favorite_slot": None}

    before = sd("snippets", "list", "--json").stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("abbreviation,title,body\nok1,Fine,Hello\nok2,Also fine,Hi {nmae}\n", encoding="utf-8")
    proc = sd("snippets", "import", str(bad), ok=False)
    assert proc.returncode == 1
    assert "line 3, field 'body'" in proc.stderr.lower() and "Traceback" not in proc.stderr
    assert sd("snippets", "list", "--json").stdout == before
    assert sd("snippets", "export", str(tmp_path / "lib.txt"), ok=False).returncode == 2
