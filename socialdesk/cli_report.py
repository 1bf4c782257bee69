"""`socialdesk report [--days N] [--json | --csv]`: response metrics per channel (core/metrics.py).

Decisions:
- The period is today and the N-1 days before, in the schedule's timezone (default 7 days).
- `--json` prints `Report.to_json()`: start, end (ISO UTC), days, timezone, channels (a list of rows),
  total (the same row keys, channel "all"). Row keys: channel, received, answered, response_rate
  (0..1 or null), first_responses, first_response_median_s, first_response_p90_s, judged,
  within_target, within_target_pct (0..100 or null), resolved, resolution_median_s, overdue_now,
  repeat_contacts, personal, edited_snippet, unchanged_snippet. Durations are whole seconds.
- `--csv` prints one line per channel plus the "all" line, columns named like the JSON row keys, for
  spreadsheets; the human table rounds durations ("1 h 05") and shows "—" where there is no data.
"""

from __future__ import annotations

import argparse
import csv
import sys

from socialdesk import cli
from socialdesk.core.metrics import ChannelStats, Report

COLUMNS = list(ChannelStats.__dataclass_fields__)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[common], help="response times, response rate and targets per channel")
    p.add_argument("--days", type=int, default=7, help="today and the days before (default 7)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from socialdesk.core import metrics

    if not 1 <= args.days <= 3660:
        raise cli.UsageError("--days must be from 1 to 3660.")
    with cli.open_core(args, write=False) as core:
        policy = core.policy()
        result = metrics.report(core.clock.now(), args.days, policy.schedule.timezone, policy)
    if args.json:
        cli.emit_json(result.to_json())
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in [*result.channels, result.total]:
            data = row.to_json()
            writer.writerow(["" if data[c] is None else data[c] for c in COLUMNS])
    else:
        print_table(result)
    return 0


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60:02d}"
    return f"{minutes // (24 * 60)} d {minutes % (24 * 60) // 60} h"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def print_table(result: Report) -> None:
    first_day = result.start.strftime("%Y-%m-%d")
    print(f"Last {result.days} day(s) since {first_day} ({result.timezone})")
    if not result.channels:
        print("No conversations in this period.")
        return
    header = ("Channel", "Received", "Answered", "Rate", "1st resp.", "p90", "In target",
              "Resolution", "Overdue", "Repeat", "Personal", "Edited", "Unchanged")
    lines = [header]
    for row in [*result.channels, result.total]:
        lines.append(
            (
                "All channels" if row is result.total else row.channel,
                str(row.received),
                str(row.answered),
                _pct(None if row.response_rate is None else 100 * row.response_rate),
                duration(row.first_response_median_s),
                duration(row.first_response_p90_s),
                _pct(row.within_target_pct),
                duration(row.resolution_median_s),
                str(row.overdue_now),
                str(row.repeat_contacts),
                str(row.personal),
                str(row.edited_snippet),
                str(row.unchanged_snippet),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        if n == len(lines) - 1:
            print("  ".join("-" * w for w in widths))
        cells = [line[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(line[1:], widths[1:], strict=True)]
        print("  ".join(cells).rstrip())
