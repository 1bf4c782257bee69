"""End to end, issue 12 items 1, 2, 14, 15 and 16: the real `socialdesk` command line as a subprocess.

- No usable keyring (keyring's own fail and null backends, selected with PYTHON_KEYRING_BACKEND):
  `account add` exits 1 with one line naming what to install; nothing is stored or created.
- A non-ASCII password the mail server cannot take (tests/mailserver.py): no trace of it on stderr, in
  the log file or in the database, through `account add`, `account test` and `sync --once`.
- A read-only profile folder, a full disk (RLIMIT_FSIZE: files cannot grow, as on a full disk), a
  foreign SQLite file and a negative user_version: one line, exit 1, no traceback, the file untouched.
- A profile that does not exist is an error, not a new empty profile.
- Arguments are validated before the profile lock; overflowing ids and dates, control characters in
  profile names, an empty --week and an empty reply are usage errors (exit 2).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from socialdesk.connectors.demo import OPENING
from socialdesk.lock import ProfileLock
from tests.keyring_backends import no_keyring_env, subprocess_env
from tests.mailserver import USER, ImapServer, SmtpServer

SECRET = "Zähler€-Geheimnis-9"  # non-ASCII: imaplib cannot send it, and its error message quoted it
NO_KEYRING_WORDS = ("Secret Service", "KWallet", "keyrings.alt", "Nothing was saved")


class Cli:
    def __init__(self, tmp: Path):
        self.home = tmp / "home"
        self.env = subprocess_env(tmp / "keyring.json")
        self.env["SOCIALDESK_HOME"] = str(self.home)
        self.env.pop("QT_QPA_PLATFORM", None)

    def profile(self, name: str = "default") -> Path:
        return self.home / "profiles" / name

    def __call__(self, *args: str, stdin: str | None = None, env: dict | None = None,
                 preexec=None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "socialdesk", *args], input=stdin, capture_output=True,
                              text=True, env=env or self.env, timeout=120, preexec_fn=preexec)

    def ok(self, *args: str, **kwargs) -> str:
        result = self(*args, **kwargs)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


def one_line(result: subprocess.CompletedProcess, code: int) -> str:
    """The only stderr line of a command that failed with `code`."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("socialdesk: "), result.stderr
    assert "Traceback" not in result.stderr and "Logging error" not in result.stderr
    return lines[0]


def email_add_args(name: str, imap_port: int = 1, smtp_port: int = 1) -> list[str]:
    settings = {"address": USER, "imap_host": "127.0.0.1", "imap_port": imap_port, "imap_tls": "none",
                "smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_tls": "none", "mailbox": "Support"}
    args = ["account", "add", "email", name, "--secret-stdin"]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    return args


# --- item 1: no usable keyring ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"])
def test_without_a_keyring_account_add_refuses_and_creates_nothing(cli, backend):
    no_keyring = no_keyring_env(cli.env)
    no_keyring["PYTHON_KEYRING_BACKEND"] = backend

    line = one_line(cli(*email_add_args("shop"), stdin="a-password\n", env=no_keyring), 1)
    assert all(word in line for word in NO_KEYRING_WORDS), line
    assert not (cli.home / "profiles").exists()  # not even the profile was created

    # A browser sign-in is refused before it starts (no address printed, no listener opened).
    result = cli("account", "add", "mastodon", "fedi", "--set", "instance=https://mastodon.example",
                 "--no-browser", env=no_keyring)
    assert all(word in one_line(result, 1) for word in NO_KEYRING_WORDS) and result.stdout == ""

    # An existing profile gets no half-made account either.
    cli.ok("account", "add", "demo", "Demo", "--set", "channel=telegram")
    one_line(cli(*email_add_args("shop"), stdin="a-password\n", env=no_keyring), 1)
    assert [a["name"] for a in json.loads(cli.ok("account", "list", "--json"))] == ["Demo"]
    assert not (cli.home.parent / "keyring.json").exists()  # the demo account has no secret; nothing stored


# --- item 2: no error text quotes a secret ---------------------------------------------------------------


def leaks(text: str) -> list[str]:
    """Every trace of SECRET in `text`: the value, a piece of it, or one of its non-ASCII characters
    (raw, \\x/\\u escaped, or as UTF-8 bytes in hex)."""
    found = [piece for piece in (SECRET, "Geheimnis", "Zähler") if piece in text]
    for ch in {c for c in SECRET if ord(c) > 127}:
        found += [form for form in (ch, ascii(ch)[1:-1], f"0x{ch.encode()[0]:x}") if form in text]
    return found


def database_text(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def test_a_non_ascii_secret_never_appears_on_stderr_in_the_log_or_in_the_database(cli):
    imap, smtp = ImapServer().start(), SmtpServer().start()
    try:
        imap.create("Support")
        args = email_add_args("shop", imap.port, smtp.port)
        added = cli(*args, stdin=SECRET + "\n")  # tested at once: the server refuses the password
        assert added.returncode == 1 and "Traceback" not in added.stderr
        assert leaks(added.stderr) == [] and "position" not in added.stderr

        cli.ok(*args, "--no-test", stdin=SECRET + "\n")
        tested = cli("account", "test", "shop")
        assert tested.returncode == 1 and "Traceback" not in tested.stderr
        synced = cli("sync", "--once")
        assert synced.returncode == 1 and "Traceback" not in synced.stderr
    finally:
        imap.stop()
        smtp.stop()
    for result in (added, tested, synced):
        assert leaks(result.stdout + result.stderr) == [], result.stderr
        assert "position" not in result.stderr
    log = (cli.profile() / "socialdesk.log").read_text(encoding="utf-8")
    # The premise: the server refused the password (sent as UTF-8 through SASL PLAIN), and the owner was told.
    assert all("rejected the username or password" in r.stderr for r in (added, tested)), (added.stderr, tested.stderr)
    assert leaks(log) == [] and "in position" not in log
    stored = database_text(cli.profile() / "socialdesk.sqlite3")
    assert "shop" in stored and leaks(stored) == []
    assert SECRET in json.loads((cli.home.parent / "keyring.json").read_text(encoding="utf-8")).values()


# --- item 14: storage trouble is one line ------------------------------------------------------------------


def without_root_privilege() -> None:
    """preexec_fn: root ignores file permissions; drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the
    child's bounding set (prctl PR_CAPBSET_DROP) so a read-only folder is read-only to it too."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_a_read_only_profile_folder_is_one_line(cli):
    cli.ok("account", "add", "demo", "Demo", "--set", "channel=telegram")
    other = cli.profile("empty")
    other.mkdir()
    folders = (cli.profile(), other)
    for folder in folders:
        folder.chmod(0o555)
    try:
        for args in (["queue"], ["sync", "--once"], ["hours", "set", "--week", "closed"],
                     ["account", "add", "demo", "Second", "--set", "channel=mastodon"],
                     ["--profile", "empty", "account", "add", "demo", "Third", "--set", "channel=mastodon"],
                     ["--profile", "empty", "queue"]):
            line = one_line(cli(*args, preexec=without_root_privilege), 1)
            assert "cannot write to" in line and "read-only" in line, (args, line)
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert [a["name"] for a in json.loads(cli.ok("account", "list", "--json"))] == ["Demo"]


def test_a_full_disk_is_one_line_and_loses_nothing(cli):
    cli.ok("account", "add", "demo", "Demo", "--set", "channel=bluesky")
    limit = 40_000  # bytes any file may grow to: the -shm index fits, the sync's writes do not
    (cli.profile() / "socialdesk.log").write_text("x" * (limit - 1) + "\n")  # and the log is full too

    def full_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    line = one_line(cli("sync", "--once", preexec=full_disk), 1)
    assert "disk" in line and "rollback" not in line
    assert cli("queue", preexec=full_disk).returncode == 0  # reading still works

    # Space again: everything arrives, once.
    assert f"{len(OPENING['bluesky'])} new message(s)" in cli.ok("sync", "--once")
    assert len(json.loads(cli.ok("queue", "--json"))) == 2


def foreign_database(path: Path, *, user_version: int, tables: tuple[str, ...]) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for table in tables:
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize("user_version,tables", [(0, ("recipes", "ingredients")), (-1, ())])
def test_a_database_that_is_not_ours_is_refused_and_untouched(cli, user_version, tables):
    path = cli.profile() / "socialdesk.sqlite3"
    before = foreign_database(path, user_version=user_version, tables=tables)
    for args in (["queue"], ["sync", "--once"], ["account", "add", "demo", "Demo", "--set", "channel=mastodon"]):
        line = one_line(cli(*args), 1)
        assert "another program" in line and "untouched" in line, line
    assert path.read_bytes() == before
    assert sorted(p.name for p in cli.profile().iterdir() if p.name.startswith("socialdesk.sqlite3")) == [
        "socialdesk.sqlite3"]


# --- item 15: a missing profile is an error -----------------------------------------------------------------


READ_AND_WRITE_COMMANDS = [
    ["queue"], ["queue", "--json"], ["show", "1"], ["account", "list"], ["account", "test", "x"],
    ["account", "remove", "x"], ["sync", "--once"], ["done", "1"], ["reply", "1", "--text", "hi"],
    ["hours", "show"], ["hours", "set", "--week", "closed"], ["away", "off"], ["report"],
    ["snippets", "list"], ["snippets", "export", "-"],
]


def test_a_profile_that_does_not_exist_is_not_created(cli):
    for args in READ_AND_WRITE_COMMANDS:
        assert one_line(cli(*args), 1) == "socialdesk: No profile 'default' (profiles: none yet).", args
    assert not (cli.home / "profiles").exists()

    cli.ok("account", "add", "demo", "Demo", "--set", "channel=telegram")  # creates "default"
    cli.ok("--profile", "demo", "account", "add", "demo", "Demo", "--set", "channel=mastodon")
    for args in READ_AND_WRITE_COMMANDS:
        line = one_line(cli("--profile", "nosuchprofile", *args), 1)
        assert line == "socialdesk: No profile 'nosuchprofile' (profiles: default, demo).", (args, line)
    assert sorted(p.name for p in (cli.home / "profiles").iterdir()) == ["default", "demo"]


# --- item 16: arguments first --------------------------------------------------------------------------------


BAD_ARGUMENTS = [
    (["snooze", "8", "--until", "25:99"], "Cannot read the time"),
    (["snooze", "8", "--until", ""], "Cannot read the time"),
    (["snooze", "1", "--until", "99999999d"], "Cannot read the time"),
    (["snooze", "1", "--until", "9999-12-31T23:59:59-12:00"], "Cannot read the time"),  # past year 9999 in UTC
    (["show", "99999999999999999999"], "not a conversation id"),
    (["done", "99999999999999999999"], "not a conversation id"),
    (["reply", "-1", "--text", "hi"], "not a conversation id"),
    (["reply", "1", "--text", ""], "The reply is empty"),
    (["reply", "1", "--text", "  \n "], "The reply is empty"),
    (["hours", "set", "--week", ""], "--week names no day"),
    (["hours", "set", "--week", " ; "], "--week names no day"),
    (["hours", "set", "--week", "mon 25:00-26:00"], "week spec"),
    (["away", "on", "--until", "99999999d"], "Cannot read the time"),
    (["--profile", "demo\n", "queue"], "Invalid profile name"),
    (["queue", "--profile", "a\tb"], "Invalid profile name"),
    (["--profile", "shop\x1b[2J", "sync", "--once"], "Invalid profile name"),
]


def test_arguments_are_checked_before_the_profile_lock(cli):
    cli.ok("account", "add", "demo", "Demo", "--set", "channel=telegram")
    before = json.loads(cli.ok("hours", "show", "--json"))
    with ProfileLock(cli.profile() / "socialdesk.lock"):  # as while the window runs
        for args, needle in BAD_ARGUMENTS:
            line = one_line(cli(*args), 2)
            assert needle in line and "already in use" not in line, (args, line)
        assert "already in use" in one_line(cli("hours", "set", "--week", "closed"), 1)
    assert json.loads(cli.ok("hours", "show", "--json"))["week"] == before["week"]
    # Closing every day is said explicitly.
    assert "closed every day" in cli.ok("hours", "set", "--week", "closed")
    assert json.loads(cli.ok("hours", "show", "--json"))["week"] == ""


def test_a_folder_where_the_database_belongs_is_one_line(cli):
    cli.ok("account", "add", "demo", "Demo", "--set", "channel=telegram")
    database = cli.profile() / "socialdesk.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.mkdir()
    line = one_line(cli("queue"), 1)
    assert "folder stands where its database file belongs" in line and str(database) in line
    assert database.is_dir() and not any(database.iterdir())  # left as it was
