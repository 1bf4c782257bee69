"""The command line: argument parsing, headless commands, and starting the GUI.

Decisions:
- Exit codes: 0 ok, 1 operational failure (one clear line on stderr, never a traceback), 2 usage error.
  Every command validates its arguments before it touches the profile (lock, database), so a bad
  argument is a usage error even while the window holds the profile. Numbers and times that overflow
  (ids beyond SQLite's 64-bit integers, dates past year 9999) are usage errors too.
- Logging is set up right after the arguments are read (socialdesk/logs.py), before anything that can
  fail; every error line goes through secrets.error_text/redact, so none quotes a secret.
- Only `account add` creates a profile (and the window / `--demo`, see app.run_gui). Every other
  command on a profile that does not exist says "No profile 'x' (profiles: ...)." and exits 1: a
  mistyped --profile must not look like an empty queue.
- A full disk, a read-only profile folder or a database that is not socialdesk's is one line, exit 1
  (core/store.storage_problem, StoreError).
- `--json` output is stable: keys are documented in README.md and only ever added, never renamed.
  Times are ISO 8601 in UTC with a trailing "Z".
- Commands that write take the profile lock (one process per profile). Read-only commands (queue, show,
  account list, hours show, snippets list/export, report) do not, so they work while the window or the
  daemon is running (SQLite WAL gives them a consistent snapshot).
- Conversations are named by their numeric id, as shown by `socialdesk queue`.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import sys
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from socialdesk import __version__, paths
from socialdesk.core.states import AccountState, ConversationStatus, Direction, OutboxState, Via


class CliError(Exception):
    """An operational failure: printed as one line, exit code 1."""


class UsageError(Exception):
    """Bad arguments: printed with a hint, exit code 2."""


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_when(text: str, now: datetime) -> datetime:
    """Parse an ISO date/time (local time if no zone) or a relative "2h", "30m", "1d"."""
    text = text.strip()
    units = {"m": "minutes", "h": "hours", "d": "days"}
    try:
        if text and text[-1] in units and text[:-1].isdigit():
            return now + timedelta(**{units[text[-1]]: int(text[:-1])})
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.astimezone()  # the owner's local time
        return value.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # unreadable, or beyond the years datetime can hold
        raise UsageError(f"Cannot read the time {text!r}: use ISO format like 2026-12-03T09:00 or 2h / 30m / 1d "
                         "(within the years 1 to 9999).") from None


# --- context ---------------------------------------------------------------------------------------


def no_profile_message(name: str) -> str:
    existing = paths.existing_profiles()
    return f"No profile {name!r} (profiles: {', '.join(existing) if existing else 'none yet'})."


@contextmanager
def open_core(args: argparse.Namespace, *, write: bool, create: bool = False) -> Iterator[Any]:
    """The wired core of the profile, locked when `write`; `create` only for commands that may make a
    new profile (see the module docstring). Call it after the arguments are validated."""
    from socialdesk.lock import ProfileLock, ProfileLockedError
    from socialdesk.logs import setup_logging

    profile = paths.profile(args.profile)
    if not profile.exists():
        if not create:
            raise CliError(no_profile_message(profile.name))
        profile.ensure()
    setup_logging(profile)
    from socialdesk.app import build_core

    lock = ProfileLock(profile.lock_file)
    if write:
        try:
            lock.acquire()
        except ProfileLockedError as exc:
            raise CliError(str(exc)) from None
    try:
        core = build_core(profile)
        try:
            yield core
        finally:
            core.close()
    finally:
        lock.release()


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


# --- queue / show / reply / status ----------------------------------------------------------------


def queue_json(row, now: datetime) -> dict:
    return {
        "id": row.id,
        "account": row.account_name,
        "channel": row.channel,
        "kind": row.kind,
        "public": row.public,
        "customer": row.contact_name,
        "subject": row.subject,
        "preview": row.preview,
        "status": row.status,
        "awaiting_since": iso(row.awaiting_since),
        "last_message_at": iso(row.last_message_at),
        "due_at": iso(row.due_at),
        "state": row.state(now),
        "target_minutes": row.target_minutes,
        "unanswered_count": row.unanswered_count,
        "rating": row.rating,
        "snoozed_until": iso(row.snoozed_until),
        "permalink": row.permalink,
    }


def cmd_queue(args) -> int:
    from socialdesk.core import queue, targets

    view = "all" if args.all else args.view
    if view not in queue.VIEWS:
        raise UsageError(f"Unknown view {view!r}; choose one of: {', '.join(queue.VIEWS)}")
    with open_core(args, write=False) as core:
        now = core.clock.now()
        ids = queue.list_ids(view, now, search=args.search or "")
        rows = queue.rows(ids)
        ordered = [rows[i] for i in ids if i in rows]
        if args.json:
            emit_json([queue_json(r, now) for r in ordered])
            return 0
        if not ordered:
            print("Nothing awaiting an answer." if view == "awaiting" else "No conversations.")
            return 0
        for r in ordered:
            due = targets.format_countdown(r.due_at, now) if r.due_at else "no target"
            repeat = f" {r.unanswered_count}× unanswered" if r.unanswered_count >= 2 else ""
            print(f"{r.id:>6}  {r.channel:<14} {r.kind:<8} {_clip(r.contact_name, 22):<22} {due:<16}{repeat}  "
                  f"{_clip(r.preview, 60)}")
    return 0


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


MAX_ID = 2**63 - 1  # SQLite's largest integer: a larger id cannot name a row, and would overflow


def _conversation_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_ID:
        raise UsageError(f"{text!r} is not a conversation id (a number, as shown by `socialdesk queue`).")
    return value


def cmd_show(args) -> int:
    from socialdesk.connectors import traits
    from socialdesk.core import queue

    conv_id = _conversation_id(args.conversation)
    with open_core(args, write=False) as core:
        now = core.clock.now()
        try:
            queue.get_conversation(conv_id)
        except queue.QueueError as exc:
            raise CliError(str(exc)) from None
        row = queue.rows([conv_id])[conv_id]
        messages = queue.thread(conv_id)
        if args.json:
            data = queue_json(row, now)
            data["messages"] = [
                {
                    "id": m.id,
                    "direction": m.direction,
                    "author": m.author_name,
                    "text": m.text,
                    "created_at": iso(m.created_at),
                    "via": m.via,
                    "state": m.state,
                    "rating": m.rating,
                    "edited_at": iso(m.edited_at),
                    "deleted_at": iso(m.deleted_at),
                }
                for m in messages
            ]
            data["linked_conversations"] = queue.linked_conversations(conv_id)
            data["reply_modes"] = [{"key": m.key, "label": m.label, "help": m.help}
                                   for m in traits.of(row.channel).reply_modes if row.kind in m.kinds]
            emit_json(data)
            return 0
        print(f"#{row.id} {row.contact_name} — {row.channel} {row.kind} ({row.status})")
        if row.subject:
            print(f"Subject: {row.subject}")
        for mode in traits.of(row.channel).reply_modes:
            if row.kind in mode.kinds:
                print(f"Reply mode {mode.key}: {mode.label}. {mode.help} (reply --mode {mode.key})")
        for m in messages:
            when = m.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
            who = "You" if m.direction == Direction.OUT else m.author_name
            state = f" [{m.state}]" if m.state else ""
            print(f"\n{when}  {who}{state}\n{m.text}")
    return 0


def cmd_reply(args) -> int:
    from socialdesk.core import outbox, queue

    conv_id = _conversation_id(args.conversation)
    if args.text is not None and not args.text.strip():
        raise UsageError("The reply is empty: give the text with --text, or a snippet with --snippet.")
    if args.delete:
        return _delete_reply(args, conv_id)
    with open_core(args, write=True) as core:
        try:
            queue.get_conversation(conv_id)
        except queue.QueueError as exc:
            raise CliError(str(exc)) from None
        text, via, snippet_id = args.text, Via.MANUAL, None
        if args.snippet:
            text, snippet_id = _render_snippet_for(core, args.snippet, conv_id)
            via = Via.SNIPPET
        try:
            row = core.owner.reply(conv_id, text, via=via, snippet_id=snippet_id, mark_done=args.done,
                                   mode=args.mode or "")
        except outbox.OutboxError as exc:
            raise CliError(str(exc)) from None
        # tick, not a bare flush: automation first retires status posts that are too late to send
        core.engine.tick()
        row = type(row).get_by_id(row.id)
        if row.state == OutboxState.SENT:
            print(f"Sent to conversation {conv_id}.")
        elif row.state == OutboxState.PENDING:
            print(f"Queued for conversation {conv_id}; it will be sent by the next sync ({row.last_error or 'account not reachable now'}).")
        else:
            raise CliError(f"Sending failed: {row.last_error}")
    return 0


def _delete_reply(args, conv_id: int) -> int:
    """`reply CONV --delete`: core/published_reply.py does it; this says how it went."""
    from socialdesk.connectors.base import ConnectorError
    from socialdesk.core import published_reply, queue
    from socialdesk.secrets import NoKeyringError

    with open_core(args, write=True) as core:
        try:
            queue.get_conversation(conv_id)
            published_reply.delete_our_reply(core.store, core.engine.make_connector, core.changes, conv_id,
                                             core.clock.now())
        except queue.QueueError as exc:
            raise CliError(str(exc)) from None
        except (ConnectorError, NoKeyringError) as exc:
            raise CliError(f"The reply was not removed: {exc}") from None
        print(f"Removed your reply to conversation {conv_id}.")
    return 0


def _render_snippet_for(core, abbreviation: str, conv_id: int) -> tuple[str, int]:
    from socialdesk.core import personalize, snippets

    snippet = snippets.find_by_abbreviation(abbreviation)
    if snippet is None:
        raise CliError(f"No snippet with abbreviation {abbreviation!r} (see `socialdesk snippets list`).")
    ctx = personalize.context_for(core, conv_id)
    try:
        text = snippets.render(snippet.body, ctx)
    except snippets.SnippetError as exc:
        raise CliError(str(exc)) from None
    snippets.record_use(core.store, snippet.id, core.clock.now())
    return text, snippet.id


def cmd_status(args) -> int:
    from socialdesk.core import queue

    conv_id = _conversation_id(args.conversation)
    until_text = getattr(args, "until", None)  # snooze only; "" is a bad time, not "no time"
    if until_text is not None:
        parse_when(until_text, datetime.now(timezone.utc))  # a bad time is a usage error before the lock
    with open_core(args, write=True) as core:
        now = core.clock.now()
        until = parse_when(until_text, now) if until_text is not None else None
        try:
            core.owner.set_status(conv_id, args.status, until)
        except queue.QueueError as exc:
            raise CliError(str(exc)) from None
        suffix = f" until {until.astimezone().strftime('%a %d %b %H:%M')}" if until else ""
        print(f"Conversation {conv_id} is now {args.status}{suffix}.")
    return 0


# --- sync -------------------------------------------------------------------------------------------


def cmd_sync(args) -> int:
    from socialdesk.core import queue
    from socialdesk.core.store import Account

    with open_core(args, write=True) as core:
        core.engine.recover()
        if args.once:
            change = core.engine.run_once()
            failing = []
            for account in Account.select().order_by(Account.name):
                if account.state in (
                    AccountState.AUTH_ERROR, AccountState.ERROR, AccountState.BACKOFF, AccountState.RATE_LIMITED
                ):
                    failing.append(f"{account.name}: {account.state} — {account.last_error}")
            print(f"{len(change.new_inbound)} new message(s); {queue.awaiting_count()} awaiting an answer.")
            for line in failing:
                print(line, file=sys.stderr)
            return 1 if failing and len(failing) == Account.select().count() else 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())

        def on_change(change) -> None:
            if change.new_inbound:
                print(f"{len(change.new_inbound)} new message(s)", flush=True)

        core.changes.subscribe(on_change)
        core.engine.start()
        print(f"socialdesk sync running on profile {core.profile.name!r}; stop with Ctrl+C or SIGTERM.", flush=True)
        while not stop.wait(0.5):
            pass
        print("Stopping…", flush=True)
    return 0


# --- accounts ---------------------------------------------------------------------------------------


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    result = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UsageError(f"--set expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        result[key.strip()] = value.strip()
    return result


def cmd_account_add(args) -> int:
    """`account add`: every rule is core/account_service.py's; this gathers the input and says the outcome."""
    from socialdesk.connectors import registry
    from socialdesk.connectors.base import ConnectorError
    from socialdesk.connectors.oauth import account_names
    from socialdesk.core import account_service as service
    from socialdesk.secrets import NoKeyringError, remember

    try:
        spec = registry.spec(args.kind)
    except registry.UnknownKindError as exc:
        raise UsageError(str(exc)) from None
    try:
        name = service.check_name(args.name)
        settings = service.initial_settings(spec, _parse_sets(args.set))
    except service.AccountInputError as exc:
        raise UsageError(str(exc)) from None
    if args.pick and spec.login_flow is None:
        raise UsageError("--pick chooses among the accounts of a browser sign-in; this platform has none.")
    secret = None
    if args.secret_stdin:
        # The one reader of standard input: a browser sign-in reads pasted answers after this line.
        secret = (_next_line() or "").rstrip("\r\n")
        if not secret:
            raise UsageError("No secret was given on standard input.")
        remember(secret)  # from now on no error text of this process can quote it
    elif spec.secret_label:  # a password or token, or the owner's own app's secret for its sign-in
        raise UsageError(f"{spec.title} needs a {spec.secret_label.lower()}: pass it with --secret-stdin.")
    try:
        # The keyring first: without one nothing is created, not even the profile.
        service.require_keyring_for(spec, has_secrets=secret is not None)
    except NoKeyringError as exc:
        raise CliError(str(exc)) from None
    with open_core(args, write=True, create=True) as core:
        accounts = core.account_service
        try:
            accounts.ensure_free(name)
            # A platform with a secret label and a sign-in takes the secret for the sign-in (the owner's
            # own app); elsewhere a given secret is stored as is (Mastodon: an existing access token).
            app_secret = spec.login_flow is not None and bool(spec.secret_label)
            if spec.login_flow is None or (secret is not None and not app_secret):
                values = {spec.secret_name: secret} if secret is not None else {}
                infos = [accounts.add(spec, name, settings, values, test=not args.no_test)]
                names = [name]
            else:
                # A browser sign-in: nothing reaches the keyring before the owner picked the accounts.
                picked = _pick(_browser_login(spec, settings, args, secret if app_secret else None), args.pick)
                names = account_names(name, picked)
                infos = accounts.add_signed_in(spec, names, settings, picked)
        except (service.AccountError, ConnectorError, NoKeyringError) as exc:
            raise CliError(str(exc)) from None
        for added, info in zip(names, infos, strict=True):
            if info is not None:  # None: added with --no-test
                print(f"Connected as {info.display_name}" + (f" ({info.handle})" if info.handle else ""))
                for note in info.notes:
                    print(f"Note: {note}")
            print(f"Added {spec.title} account {added!r}.")
    return 0


def _browser_login(spec, settings: dict, args, app_secret: str | None = None) -> list:
    """The browser sign-in (connectors/oauth.py): loopback unless --paste; the owner may paste the
    code or the address the browser ended on at any time. Returns the accounts it gives access to.
    `app_secret`: the owner's own app's secret, for platforms that need one (spec.secret_label)."""
    import webbrowser

    from socialdesk.connectors.base import MemorySecrets
    from socialdesk.connectors.oauth import parse_pasted

    if app_secret is not None:
        flow = spec.login_flow(dict(settings), secrets=MemorySecrets({spec.secret_name: app_secret}))
    else:
        flow = spec.login_flow(dict(settings))
    try:
        browser = None if args.paste or args.no_browser else webbrowser.open
        request = flow.start(loopback=not args.paste, browser=browser)
        print(f"{flow.instructions}\n\nOpen this address in your browser:\n\n  {request.url}\n", flush=True)
        if request.mode == "loopback":
            print("Waiting for your browser to come back… If it cannot reach this computer, paste the "
                  "address it ended on (or the code) here and press Enter.", flush=True)
            params = _browser_or_paste(flow)
        else:
            print("Paste the code (or the whole address) shown after you allow socialdesk: ", end="", flush=True)
            params = parse_pasted(_next_line() or "")
        return flow.finish(params)
    finally:
        flow.cancel()  # the listener's port is free again, whatever happened


_STDIN_LINES: "queue.Queue[str | None] | None" = None


def _stdin_lines() -> "queue.Queue[str | None]":
    """Lines of standard input, read by one daemon thread for the whole command (None at the end).

    One reader for everyone: a pasted answer may race the browser, and the line typed after the
    browser won (the pick prompt's) must not vanish into a second, forgotten reader. It reads the file
    descriptor, not sys.stdin: blocked there at exit, it holds no lock interpreter shutdown needs."""
    global _STDIN_LINES
    if _STDIN_LINES is None:
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            import os

            data = b""
            try:
                while chunk := os.read(sys.stdin.fileno(), 1):
                    data += chunk
                    if chunk == b"\n" or len(data) >= 16_384:
                        lines.put(data.decode("utf-8", "replace"))
                        data = b""
            except (OSError, ValueError):  # no usable standard input
                pass
            if data:
                lines.put(data.decode("utf-8", "replace"))
            lines.put(None)

        threading.Thread(target=pump, name="stdin-lines", daemon=True).start()
        _STDIN_LINES = lines
    return _STDIN_LINES


def _next_line() -> str | None:
    """The next line of standard input, None at its end; Ctrl+C stays responsive while waiting."""
    lines = _stdin_lines()
    while True:
        try:
            return lines.get(timeout=0.5)
        except queue.Empty:
            continue


def _browser_or_paste(flow) -> dict:
    """Whichever comes first: the browser reaching the listener, or a line the owner pastes."""
    from socialdesk.connectors.oauth import parse_pasted

    answers: queue.Queue = queue.Queue()

    def from_browser() -> None:
        try:
            answers.put(("browser", flow.wait()))
        except Exception as exc:  # noqa: BLE001 - handed to the main thread
            answers.put(("error", exc))

    threading.Thread(target=from_browser, name="login-browser", daemon=True).start()
    lines = _stdin_lines()
    stdin_open = True
    while True:
        try:
            source, value = answers.get(timeout=0.2)  # a timeout keeps Ctrl+C responsive
        except queue.Empty:
            source, value = "", None
        if source == "browser":
            return value
        if source == "error":
            raise value
        if not stdin_open:
            continue
        try:
            line = lines.get_nowait()
        except queue.Empty:
            continue
        if line is None:  # end of input: only the browser can answer now
            lines.put(None)  # and the end stays visible to later readers
            stdin_open = False
        elif line.strip():
            return parse_pasted(line)


def _pick(accounts: list, pick: str | None) -> list:
    """The accounts the owner chose (--pick 1,3 / all, or asked on a terminal); all when only one."""
    if len(accounts) == 1 and not pick:
        return accounts
    print("This sign-in gives access to:")
    for number, account in enumerate(accounts, 1):
        print(f"  {number}. {account.label}")
    if not pick:
        if not sys.stdin.isatty():
            raise UsageError("Choose which accounts to add with --pick (numbers from the list, e.g. 1,3, or all).")
        print("Add which? Numbers separated by commas, or all: ", end="", flush=True)
        pick = _next_line() or ""
    pick = pick.strip().lower()
    if pick == "all":
        return list(accounts)
    try:
        numbers = [int(part) for part in pick.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--pick takes numbers from the list (e.g. 1,3) or all, not {pick!r}.") from None
    if not numbers or any(not 1 <= n <= len(accounts) for n in numbers):
        raise UsageError(f"--pick takes numbers from 1 to {len(accounts)}.")
    return [accounts[n - 1] for n in dict.fromkeys(numbers)]


def cmd_account_list(args) -> int:
    from socialdesk.connectors import registry
    from socialdesk.core import usage
    from socialdesk.core.store import Account

    with open_core(args, write=False) as core:
        now = core.clock.now()
        accounts = list(Account.select().order_by(Account.name))
        data = []
        for account in accounts:
            row = {
                "name": account.name,
                "kind": account.kind,
                "title": registry.spec(account.kind).title if account.kind in registry.kinds() else account.kind,
                "enabled": account.enabled,
                "state": account.state,
                "last_error": account.last_error,
                "last_sync_at": iso(account.last_sync_at),
                "settings": account.settings,
            }
            spent = usage.summary(account, now)  # where the platform bills or rations calls
            if spent is not None:
                row["usage"] = spent.as_json()
            data.append(row)
        if args.json:
            emit_json(data)
        elif not data:
            print("No accounts yet. Add one with `socialdesk account add KIND NAME`.")
        else:
            for a in data:
                err = f" — {a['last_error']}" if a["last_error"] else ""
                cost = f" ({a['usage']['text']})" if "usage" in a else ""
                print(f"{a['name']:<28} {a['kind']:<10} {a['state']}{cost}{err}")
    return 0


def cmd_account_test(args) -> int:
    from socialdesk.connectors.base import ConnectorError
    from socialdesk.core.account_service import AccountError
    from socialdesk.secrets import NoKeyringError

    with open_core(args, write=True) as core:
        try:
            account = core.account_service.by_name(args.name)
            info = core.account_service.test(account.id)
        except AccountError as exc:
            raise CliError(str(exc)) from None
        except (ConnectorError, NoKeyringError) as exc:
            raise CliError(f"{args.name}: {exc}") from None
        print(f"{account.name}: OK — connected as {info.display_name}" + (f" ({info.handle})" if info.handle else ""))
        for note in info.notes:
            print(f"Note: {note}")
    return 0


def cmd_account_set(args) -> int:
    """`account set NAME KEY=VALUE...`: change settings without signing in again (KEY= removes one)."""
    from socialdesk.core.account_service import AccountError, AccountInputError

    changes = _parse_sets(args.pairs)
    with open_core(args, write=True) as core:
        try:
            account = core.account_service.by_name(args.name)
            core.account_service.set_settings(account.id, changes)
        except AccountInputError as exc:
            raise UsageError(str(exc)) from None
        except AccountError as exc:
            raise CliError(str(exc)) from None
        print(f"Saved the settings of {args.name!r}; it polls again now.")
    return 0


def cmd_account_remove(args) -> int:
    from socialdesk.core.account_service import AccountError

    with open_core(args, write=True) as core:
        try:
            removal = core.account_service.remove(core.account_service.by_name(args.name).id)
        except AccountError as exc:
            raise CliError(str(exc)) from None
        for line in removal.left_behind:  # what socialdesk could not take off the platform (core/coverage.py)
            print(f"Warning: {line}")
        print(f"Removed account {args.name!r} and its stored credentials.")
    return 0


# --- parser -----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", default=argparse.SUPPRESS, help="profile name (default: default)")
    parser = argparse.ArgumentParser(
        prog="socialdesk",
        description="One queue for every customer message. Without a command, opens the window.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"socialdesk {__version__}")
    parser.add_argument("--demo", action="store_true", help="open the window on the separate demo profile")
    parser.add_argument("--tray", action="store_true",
                        help="start in the tray without showing the window (as at login); shown if there is no tray")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("queue", parents=[common], help="the unified queue, most urgent first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--all", action="store_true", help="every conversation, not only those awaiting you")
    p.add_argument("--view", default="awaiting", help="awaiting, overdue, public, private, reviews, waiting, snoozed, done, spam")
    p.add_argument("--search", default="", help="only conversations matching these words")
    p.set_defaults(func=cmd_queue)

    p = sub.add_parser("show", parents=[common], help="one conversation with its messages")
    p.add_argument("conversation")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("reply", parents=[common], help="answer a conversation")
    p.add_argument("conversation")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--text")
    group.add_argument("--snippet", metavar="ABBR")
    group.add_argument("--delete", action="store_true",
                       help="remove your published reply, where the platform allows it (Google reviews)")
    p.add_argument("--done", action="store_true", help="also mark the conversation done")
    p.add_argument("--mode", metavar="KEY",
                   help="another way to answer that the channel offers, e.g. private (a private reply to a "
                        "comment); `show` lists the modes of a conversation")
    p.set_defaults(func=cmd_reply)

    for name, status, help_text in [
        ("done", ConversationStatus.DONE, "mark a conversation done"),
        ("waiting", ConversationStatus.WAITING, "mark as waiting on the customer (pauses the clock)"),
        ("spam", ConversationStatus.SPAM, "mark as spam"),
        ("reopen", ConversationStatus.OPEN, "put a conversation back in the queue"),
    ]:
        p = sub.add_parser(name, parents=[common], help=help_text)
        p.add_argument("conversation")
        p.set_defaults(func=cmd_status, status=status)
    p = sub.add_parser("snooze", parents=[common], help="hide a conversation until a time")
    p.add_argument("conversation")
    p.add_argument("--until", required=True, help="ISO time (local) or 30m / 2h / 1d")
    p.set_defaults(func=cmd_status, status=ConversationStatus.SNOOZED)

    p = sub.add_parser("sync", parents=[common], help="fetch, ingest, automate and send; keeps running without --once")
    p.add_argument("--once", action="store_true")
    p.set_defaults(func=cmd_sync)

    account = sub.add_parser("account", parents=[common], help="add, list, test or remove accounts")
    asub = account.add_subparsers(dest="account_command", metavar="ACTION", required=True)
    p = asub.add_parser("add", parents=[common], help="add an account")
    p.add_argument("kind")
    p.add_argument("name")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--secret-stdin", action="store_true", help="read the password/token from standard input")
    p.add_argument("--no-test", action="store_true", help="save without testing the connection")
    p.add_argument("--paste", action="store_true",
                   help="browser sign-in without a listener on this computer: paste the code or address")
    p.add_argument("--no-browser", action="store_true", help="print the sign-in address instead of opening it")
    p.add_argument("--pick", metavar="N,M|all", help="which accounts of a sign-in to add (numbers from its list)")
    p.set_defaults(func=cmd_account_add)
    p = asub.add_parser("list", parents=[common])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_account_list)
    p = asub.add_parser("test", parents=[common])
    p.add_argument("name")
    p.set_defaults(func=cmd_account_test)
    p = asub.add_parser("remove", parents=[common])
    p.add_argument("name")
    p.set_defaults(func=cmd_account_remove)
    p = asub.add_parser("set", parents=[common], help="change an account's settings (e.g. its usage budget)")
    p.add_argument("name")
    p.add_argument("pairs", nargs="+", metavar="KEY=VALUE", help="KEY= removes the setting")
    p.set_defaults(func=cmd_account_set)

    # Command groups that live in their own modules (each has `register(subparsers, common)`).
    from socialdesk import cli_coverage, cli_hours, cli_report, cli_snippets

    for module in (cli_snippets, cli_report, cli_hours, cli_coverage):
        module.register(sub, common)

    return parser


def _fail(message: str, code: int) -> int:
    from socialdesk.secrets import redact

    print(f"socialdesk: {redact(message)}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if not hasattr(args, "profile"):
        args.profile = paths.DEFAULT_PROFILE
    profile = None
    try:
        profile = paths.profile(paths.DEMO_PROFILE if args.command is None and args.demo else args.profile)
        from socialdesk.logs import setup_logging

        setup_logging(profile)  # before anything can fail; never creates the profile
        if args.command is None:
            from socialdesk.app import run_gui

            return run_gui(profile, demo=args.demo, hidden=args.tray)
        return args.func(args)
    except (UsageError, paths.ProfileNameError) as exc:
        return _fail(str(exc), 2)
    except CliError as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return 1
    except BrokenPipeError:  # `socialdesk queue | head`: the reader left; not an error worth a message
        sys.stderr.close()
        return 0
    except Exception as exc:  # the last line of defence: one clear line, details in the log
        import logging

        from socialdesk.core.store import StoreError, storage_problem
        from socialdesk.secrets import error_text

        if isinstance(exc, StoreError):
            return _fail(str(exc), 1)
        problem = storage_problem(exc, profile.root if profile is not None else None)
        if problem is not None:
            logging.getLogger("socialdesk").warning("%s", problem, exc_info=True)
            return _fail(problem, 1)
        logging.getLogger("socialdesk").exception("unexpected error")
        return _fail(f"unexpected error ({type(exc).__name__}: {error_text(exc)}); details are in the log.", 1)
