"""`socialdesk coverage show [--json]` and `socialdesk coverage push`: what happens while socialdesk is not
running, per account, and refreshing what the platforms' servers keep (core/coverage.py).

Decisions:
- `show` is read-only (no profile lock), so it works while the window or the daemon runs. It prints the
  report's lines; `--json` prints `CoverageReport.to_json()`: generated_at, lines (list of text),
  accounts (id, name, channel, platform, promises: what, kept_by "server" | "app", text, until (ISO UTC or
  null), note).
- `push` takes the profile lock (it writes what was pushed) and pushes every server part of every
  enabled account now, whatever its refresh schedule says; the window and `socialdesk sync` do this by
  themselves after every change. Exit 1 when a server could not be brought up to date (its line says
  why), after trying every account.
"""

from __future__ import annotations

import argparse

from socialdesk import cli


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("coverage", parents=[common],
                       help="what still happens while socialdesk is closed; push it to the servers now")
    csub = p.add_subparsers(dest="coverage_command", metavar="ACTION", required=True)
    show = csub.add_parser("show", parents=[common], help="per account: what happens while socialdesk is closed")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    push = csub.add_parser("push", parents=[common], help="refresh what the platforms' servers keep, now")
    push.set_defaults(func=cmd_push)


def _context(core, secrets: bool = False):
    from socialdesk.core import coverage
    from socialdesk.secrets import KeyringSecrets

    return coverage.make_context(
        core.store, core.settings, core.policy().schedule, core.clock.now(),
        (lambda account: KeyringSecrets(core.profile.name, account.name)) if secrets else None,
    )


def cmd_show(args) -> int:
    from socialdesk.core import coverage

    with cli.open_core(args, write=False) as core:
        report = coverage.report(_context(core))
    if args.json:
        cli.emit_json(report.to_json())
    else:
        for line in report.lines:
            print(line)
    return 0


def cmd_push(args) -> int:
    from socialdesk.core import coverage

    with cli.open_core(args, write=True) as core:
        lines = coverage.push_all(_context(core, secrets=True))
    if not lines:
        print("Nothing to push: no account has a server that keeps replies or posts for socialdesk.")
    for line in lines:
        print(line.text)
    return 0 if all(line.ok for line in lines) else 1
