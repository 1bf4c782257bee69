"""`socialdesk hours show|set` and `socialdesk away on|off`: opening hours and away mode from the shell.

Decisions:
- `hours set` edits the stored schedule (or the default one) field by field and validates the whole
  result with `Schedule.from_json`; anything invalid (week spec, timezone, holiday region, date) is a
  usage error (exit 2) with the schedule's own owner-readable message, and nothing is saved. The
  arguments are checked before the profile is locked, so a bad one is a usage error even while the
  window runs. `--week ""` (or one naming no day) is refused: closing every day is said explicitly,
  `--week closed`.
- `--holidays CC[-SUBDIV]` (DE, DE-BY, US-CA) sets the public-holiday calendar; `--holidays none`
  clears it. `--closed DATE` adds a closed date, `--reopen DATE` removes one, `--special DATE=WINDOWS`
  sets special hours for one date ("2026-12-24=09:00-12:00", or "=closed"), `--clear-special DATE`
  drops them. `--business-name` sets {business}.
- Times given without a zone (`away on --until 2026-12-03T09:00`) are read in the schedule's timezone,
  the zone the owner thinks in; "2h", "30m", "3d" are relative to now.
- `away on` while already away changes the current away period (its end and message) instead of
  stacking a second one, so `away off` has one thing to end. Away periods that ended more than 30 days
  ago are dropped when away mode changes, so the list does not grow forever.
- Every change is saved through core/owner_actions.py (the window's path too): the target clock of every
  awaiting conversation is recomputed and the cached policy invalidated, so `socialdesk queue` and a
  running window agree at once. A recompute that fails keeps the edit and prints the warning.
- Windows text ("09:00-12:30", "closed") and the week summary are core/hours/week_spec.py's, as in the window.
- `hours posts ACCOUNT on|off` switches an account's status posts (texts are edited in the window).
- `hours publish [--dry-run] [--yes] [--account NAME] [--days N]` writes the schedule to every account
  that can publish hours (core/hours_publish.py): it prints each one's differences first and asks (a
  terminal) unless --yes; without a terminal --yes or --dry-run is required. Exit 1 when one failed.
- `hours show --json` keys (stable): timezone, week (spec text), week_windows, holidays, closed_dates,
  special_hours (date -> windows text), away [{start, end, message, active}], state, open, next_open,
  next_close, business_name, automation_paused, status_posts [{when, account, kind, text, where, cost}]. Times are
  ISO 8601 UTC with "Z".
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from socialdesk import cli
from socialdesk.core.hours import (
    Schedule,
    ScheduleError,
    describe_week,
    format_week_spec,
    format_windows,
    parse_week_spec,
    parse_windows,
)

_RELATIVE = re.compile(r"^\d+[mhd]$")
CLOSED_WEEK = "closed"  # `hours set --week closed`: no opening hours on any day, said explicitly


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    hours = sub.add_parser("hours", parents=[common], help="show or change opening hours")
    hsub = hours.add_subparsers(dest="hours_command", metavar="ACTION", required=True)
    p = hsub.add_parser("show", parents=[common], help="opening hours, away mode and the next automatic posts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_hours_show)
    p = hsub.add_parser("set", parents=[common], help="change opening hours")
    p.add_argument("--timezone", metavar="TZ", help="IANA name, e.g. Europe/Berlin")
    p.add_argument("--week", metavar="SPEC", help='e.g. "mon-fri 09:00-12:30,13:30-17:00; sat 10:00-14:00"; '
                   f'"{CLOSED_WEEK}" closes every day')
    p.add_argument("--holidays", metavar="CC[-SUBDIV]", help="public holidays, e.g. DE or DE-BY; 'none' to clear")
    p.add_argument("--closed", action="append", default=[], metavar="DATE", help="add a closed date (YYYY-MM-DD)")
    p.add_argument("--reopen", action="append", default=[], metavar="DATE", help="remove a closed date")
    p.add_argument("--special", action="append", default=[], metavar="DATE=WINDOWS",
                   help='special hours for one date, e.g. "2026-12-24=09:00-12:00"')
    p.add_argument("--clear-special", action="append", default=[], metavar="DATE", help="drop a date's special hours")
    p.add_argument("--business-name", metavar="NAME", help="your business's name, used in {business}")
    p.set_defaults(func=cmd_hours_set)
    p = hsub.add_parser("posts", parents=[common], help="switch an account's opening/closing/away posts on or off")
    p.add_argument("account", help="account name")
    p.add_argument("state", choices=("on", "off"))
    p.set_defaults(func=cmd_hours_posts)
    p = hsub.add_parser("publish", parents=[common],
                        help="write these opening hours to the platforms that list the business (Google Maps)")
    p.add_argument("--dry-run", action="store_true", help="only show what would change")
    p.add_argument("--yes", action="store_true", help="publish without asking")
    p.add_argument("--account", metavar="NAME", help="only this account")
    p.add_argument("--days", type=int, default=None, metavar="N",
                   help="publish holidays, closed dates and away days of the next N days (default 90)")
    p.set_defaults(func=cmd_hours_publish)

    away = sub.add_parser("away", parents=[common], help="away mode: closed until you are back")
    asub = away.add_subparsers(dest="away_command", metavar="ACTION", required=True)
    p = asub.add_parser("on", parents=[common], help="go away now")
    p.add_argument("--until", metavar="ISO_DATETIME", help="when you are back (schedule's timezone), or 3d / 2h")
    p.add_argument("--message", metavar="TEXT", help="the auto-reply while away (placeholders allowed)")
    p.set_defaults(func=cmd_away_on)
    p = asub.add_parser("off", parents=[common], help="end away mode now")
    p.set_defaults(func=cmd_away_off)


# --- helpers -----------------------------------------------------------------------------------------


def _schedule(core) -> Schedule:
    """A private copy of the current schedule (the cached policy's object is never mutated)."""
    return core.owner.schedule()


def _save(core, schedule: Schedule, more: dict | None = None) -> None:
    _warn(core.owner.save_schedule(schedule, **(more or {})))


def _warn(warning: str) -> None:
    """A recompute that failed: the edit is saved, the owner is told (core/owner_actions.py)."""
    if warning:
        print(warning, file=sys.stderr)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise cli.UsageError(f"{option}: {text!r} is not a date like 2026-12-24.") from None


def _when(text: str, now: datetime, tz: str) -> datetime:
    text = text.strip()
    if _RELATIVE.match(text):
        return cli.parse_when(text, now)
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(tz))
        return value.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # unreadable, or beyond the years datetime can hold
        raise cli.UsageError(f"Cannot read the time {text!r}: use ISO format like 2026-12-03T09:00 or 3d / 2h "
                             "(within the years 1 to 9999).") from None


def _local(value: datetime, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M")


def hours_json(core, schedule: Schedule, now: datetime) -> dict:
    from socialdesk.core import automation

    try:
        next_open = schedule.next_open(now)
    except ScheduleError:
        next_open = None
    data = schedule.to_json()
    holidays = schedule.holidays_country + (f"-{schedule.holidays_subdiv}" if schedule.holidays_subdiv else "")
    return {
        "timezone": schedule.timezone,
        "week": format_week_spec(schedule.week),
        "week_windows": data["week"],
        "holidays": holidays,
        "closed_dates": data["closed_dates"],
        "special_hours": {d.isoformat(): format_windows(w) for d, w in sorted(schedule.special_hours.items())},
        "away": [
            {"start": cli.iso(p.start), "end": cli.iso(p.end), "message": p.message, "active": p.covers(now)}
            for p in schedule.away
        ],
        "state": schedule.state_label(now),
        "open": schedule.is_open(now),
        "next_open": cli.iso(next_open),
        "next_close": cli.iso(schedule.next_close(now)),
        "business_name": core.settings.get("business.name") or "",
        "automation_paused": automation.is_paused(core.settings),
        "status_posts": [
            {"when": cli.iso(p.when), "account": p.account_name, "kind": p.kind, "text": p.text, "where": p.where,
             "cost": p.cost}
            for p in automation.preview_status_posts(core.settings, schedule, now)
        ],
    }


def cmd_hours_show(args) -> int:
    with cli.open_core(args, write=False) as core:
        now = core.clock.now()
        data = hours_json(core, _schedule(core), now)
    if args.json:
        cli.emit_json(data)
        return 0
    tz = data["timezone"]
    title = data["business_name"] or "Opening hours"
    print(f"{title} — {data['state']}")
    print(f"Timezone:   {tz}")
    print(f"Week:       {data['week'] or 'closed every day'}")
    print(f"Holidays:   {data['holidays'] or 'none'}")
    print(f"Closed on:  {', '.join(data['closed_dates']) or '—'}")
    if data["special_hours"]:
        print("Special:    " + ", ".join(f"{d} {w}" for d, w in data["special_hours"].items()))
    for p in data["away"]:
        end = _local(datetime.fromisoformat(p["end"]), tz) if p["end"] else "until switched off"
        start = _local(datetime.fromisoformat(p["start"]), tz)
        mark = " (now)" if p["active"] else ""
        message = f" — “{p['message']}”" if p["message"] else ""
        print(f"Away:       {start} → {end}{mark}{message}")
    print(f"Automation: {'PAUSED' if data['automation_paused'] else 'on'}")
    if data["status_posts"]:
        print("Automatic posts in the next 7 days:")
        for post in data["status_posts"]:
            when = _local(datetime.fromisoformat(post["when"]), tz)
            where = f" [{post['where']}]" if post["where"] else ""
            cost = f" [{post['cost']}]" if post["cost"] else ""
            print(f"  {when}  {post['account']}  {post['kind']}{where}{cost}: {post['text']}")
    else:
        print("Automatic posts in the next 7 days: none")
    return 0


# --- hours set ----------------------------------------------------------------------------------------


def _week(spec: str) -> dict:
    """The --week value: a spec naming days, or the word "closed" for a week without opening hours.

    An empty spec is refused: it used to close every day silently."""
    text = spec.strip()
    if text.lower() == CLOSED_WEEK:
        return {}
    week = parse_week_spec(text)
    if not week:
        raise cli.UsageError('--week names no day: give hours like "mon-fri 09:00-17:00", or say '
                             f"--week {CLOSED_WEEK} to close every day.")
    return week


def _apply_changes(data: dict, args) -> dict:
    """`data` (a schedule's JSON) with the changes of `hours set` applied; ScheduleError/UsageError
    for anything invalid. Run once on an empty schedule before the profile is locked (so a bad
    argument is a usage error even while the window holds the profile) and once on the real one."""
    data = {**data, "closed_dates": list(data["closed_dates"]), "special_hours": dict(data["special_hours"])}
    if args.timezone is not None:
        data["timezone"] = args.timezone.strip()
    if args.week is not None:
        data["week"] = Schedule(week=_week(args.week)).to_json()["week"]
    if args.holidays is not None:
        value = args.holidays.strip()
        country, _, subdiv = ("", "", "") if value.lower() in ("", "none") else value.partition("-")
        data["holidays_country"], data["holidays_subdiv"] = country.upper(), subdiv.upper()
    closed = set(data["closed_dates"])
    closed |= {_date(d, "--closed").isoformat() for d in args.closed}
    closed -= {_date(d, "--reopen").isoformat() for d in args.reopen}
    data["closed_dates"] = sorted(closed)
    for item in args.special:
        day, sep, windows = item.partition("=")
        if not sep:
            raise cli.UsageError(f"--special expects DATE=WINDOWS, got {item!r}.")
        parsed = parse_windows(windows, f"--special {day.strip()}")
        data["special_hours"][_date(day, "--special").isoformat()] = Schedule(week={0: parsed}).to_json()["week"]["mon"]
    for day in args.clear_special:
        data["special_hours"].pop(_date(day, "--clear-special").isoformat(), None)
    Schedule.from_json(data)  # validates the whole result
    return data


def cmd_hours_set(args) -> int:
    changes = [args.timezone, args.week, args.holidays, args.closed, args.reopen, args.special,
               args.clear_special, args.business_name]
    if all(c is None or c == [] for c in changes):
        raise cli.UsageError("Nothing to change: give --week, --timezone, --holidays, --closed, --special, ...")
    try:
        _apply_changes(Schedule().to_json(), args)
    except ScheduleError as exc:
        raise cli.UsageError(str(exc)) from None
    with cli.open_core(args, write=True) as core:
        now = core.clock.now()
        try:
            schedule = Schedule.from_json(_apply_changes(_schedule(core).to_json(), args))
        except ScheduleError as exc:
            raise cli.UsageError(str(exc)) from None
        more = {"business.name": args.business_name.strip()} if args.business_name is not None else {}
        _save(core, schedule, more)
        print(f"Saved. Week: {describe_week(schedule.week)} ({schedule.timezone}).")
        print(f"Now: {schedule.state_label(now)}")
    return 0


def cmd_hours_posts(args) -> int:
    from socialdesk.core import automation
    from socialdesk.core.store import Account

    with cli.open_core(args, write=True) as core:
        account = Account.get_or_none(Account.name == args.account)
        if account is None:
            raise cli.UsageError(f"No account named {args.account!r} (see `socialdesk account list`).")
        if args.state == "on" and not automation.can_post(account):
            raise cli.CliError(f"{account.name} cannot publish posts.")
        try:
            config = automation.load_config(core.settings)
        except automation.AutomationConfigError as exc:
            raise cli.CliError(f"The automation settings are invalid: {exc}") from None
        config = config.with_status_posts(account.id, args.state == "on", core.clock.now())
        automation.save_config(core.settings, config)
        print(f"Status posts for {account.name}: {args.state}.")
    return 0


def cmd_hours_publish(args) -> int:
    """Show each listing's differences from the schedule; publish after the owner's yes (core/hours_publish.py)."""
    from socialdesk.connectors.base import ConnectorError
    from socialdesk.core import hours_publish
    from socialdesk.core.store import Account
    from socialdesk.secrets import NoKeyringError

    days = hours_publish.HORIZON_DAYS if args.days is None else args.days
    if not 1 <= days <= 366:
        raise cli.UsageError("--days is a number of days from 1 to 366.")
    if not args.dry_run and not args.yes and not sys.stdin.isatty():
        raise cli.UsageError("Confirm with --yes (or look first with --dry-run).")
    with cli.open_core(args, write=False) as core:
        accounts = list(Account.select().order_by(Account.name))
        if args.account:
            accounts = [a for a in accounts if a.name == args.account]
            if not accounts:
                raise cli.UsageError(f"No account named {args.account!r} (see `socialdesk account list`).")
        try:
            listings = hours_publish.survey(accounts, core.engine.make_connector, _schedule(core),
                                                    core.clock.now(), days)
        except (ConnectorError, NoKeyringError) as exc:
            raise cli.CliError(str(exc)) from None
        if not listings:
            raise cli.CliError("No account here can publish opening hours (add a Google Business Profile location or a "
                               "Facebook Page).")
        failed = 0
        try:
            for listing in listings:
                if listing.problem:
                    failed += 1
                    print(f"{listing.name}: {listing.problem}", file=sys.stderr)
                    continue
                if not listing.changes:
                    print(f"{listing.name}: already shows these hours.")
                    continue
                print(f"{listing.name}: what would change:")
                for line in listing.changes:
                    print(f"  {line}")
                if args.dry_run:
                    continue
                if not args.yes:
                    print(f"Publish these hours to {listing.name}? [y/N] ", end="", flush=True)
                    if (sys.stdin.readline() or "").strip().lower() not in ("y", "yes"):
                        print("Not published.")
                        continue
                outcome = hours_publish.publish(listing)
                failed += not outcome.endswith(": published.")
                print(outcome, file=sys.stdout if outcome.endswith(": published.") else sys.stderr)
        finally:
            hours_publish.close(listings)
        if args.dry_run:
            print("Dry run: nothing was published.")
    return 1 if failed else 0


# --- away ---------------------------------------------------------------------------------------------


def cmd_away_on(args) -> int:
    from socialdesk.core import automation

    message = (args.message or "").strip()
    if message:
        problems = automation.text_problems(message)
        if problems:
            raise cli.UsageError(f"--message: {problems[0]}")
    if args.until is not None:  # "" is a bad time, not "no end"
        _when(args.until, datetime.now(timezone.utc), "UTC")  # a bad time is a usage error before the lock
    with cli.open_core(args, write=True) as core:
        now = core.clock.now()
        schedule = _schedule(core)
        until = _when(args.until, now, schedule.timezone) if args.until is not None else None
        if until is not None and until <= now:
            raise cli.UsageError(f"--until must be in the future (it is {_local(until, schedule.timezone)}).")
        try:
            schedule, warning = core.owner.go_away(until, message if args.message is not None else None, now)
        except ScheduleError as exc:
            raise cli.UsageError(str(exc)) from None
        _warn(warning)
        print(schedule.state_label(now))
        if automation.is_paused(core.settings):
            print("Automation is paused: customers will not get an away message.")
    return 0


def cmd_away_off(args) -> int:
    with cli.open_core(args, write=True) as core:
        now = core.clock.now()
        schedule, was_away, warning = core.owner.come_back(now)
        if not was_away:
            print(f"You were not away. {schedule.state_label(now)}")
            return 0
        _warn(warning)
        print(schedule.state_label(now))
    return 0
