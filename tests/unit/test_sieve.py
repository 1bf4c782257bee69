"""The mail server's off-hours script (connectors/sieve.py) against a real ManageSieve server (pymap, see
tests/sieveserver.py): upload, activate, replace only our script, keep or include the owner's, restore on
withdraw; and the script itself evaluated by pymap's Sieve runner (its header, address, envelope and
exists tests) with `currentdate` evaluated here, since pymap's runner does not implement it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymap.parsing.message import AppendMessage
from pymap.sieve import tests as pymap_tests
from pymap.sieve.runner import SieveRunner
from pymap.sieve.util import unquote
from sievelib.parser import Parser

from socialdesk.connectors import sieve
from socialdesk.connectors.base import AuthError, MemorySecrets, PermanentError
from socialdesk.connectors.server_replies import ClosedPeriod, Kept, ReplyPlan, Unavailable
from tests.sieveserver import DOVECOT_EXTENSIONS, SieveServer

FRI = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # Friday 17:00 in Berlin
MON = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
WEEKEND = ClosedPeriod(FRI, MON, "closed:2026-12-04T16:00:00Z", "Corner Shop is closed — back at 09:00 Monday 7 December",
                       'Hi there, we\'re closed — back at 09:00 Monday 7 December.\nSay "hi" \\ again.')
PLAN = ReplyPlan((WEEKEND,), FRI + timedelta(days=42))
OWNER_SCRIPT = 'require ["fileinto"];\r\nif header :contains "subject" "invoice" {\r\n  fileinto "Invoices";\r\n}\r\n'


@pytest.fixture(scope="module")
def server():
    srv = SieveServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh(server):
    """The module's server with no scripts (each test starts clean)."""
    server.clear()
    return server


def manage(server: SieveServer, **settings: str) -> sieve.ManageSieve:
    return sieve.ManageSieve(server.account_settings(**settings), MemorySecrets({"password": server.password}))


def test_push_uploads_and_activates_our_script(fresh):
    result = manage(fresh).push(PLAN)
    active, scripts = fresh.scripts()
    assert active == sieve.SCRIPT_NAME and set(scripts) == {sieve.SCRIPT_NAME}
    assert result.periods == (WEEKEND,) and result.note == ""
    text = scripts[sieve.SCRIPT_NAME]
    assert Parser().parse(text.encode()), "the stored script is valid Sieve"
    assert ':handle "socialdesk-20261204T160000Z"' in text
    assert '"ge" "iso8601" "2026-12-04T16:00:00Z"' in text and '"lt" "iso8601" "2026-12-07T08:00:00Z"' in text
    assert ":days 3" in text  # no vacation-seconds: the period's length in days, rounded up
    assert "include" not in text


def test_owner_script_is_included_kept_byte_for_byte_and_restored(fresh):
    fresh.put("mine", OWNER_SCRIPT, active=True)
    fresh.put("spare", "keep;\r\n")
    before = fresh.scripts()[1]
    first = manage(fresh).push(PLAN)
    active, scripts = fresh.scripts()
    assert active == sieve.SCRIPT_NAME
    assert first.note == "your own filter 'mine' still runs after it"
    assert sieve.included_script(scripts[sieve.SCRIPT_NAME]) == "mine"
    assert scripts["mine"] == before["mine"] and scripts["spare"] == before["spare"]

    # A second push replaces only ours and still includes the owner's (not itself).
    manage(fresh).push(PLAN)
    active, scripts = fresh.scripts()
    assert active == sieve.SCRIPT_NAME and sieve.included_script(scripts[sieve.SCRIPT_NAME]) == "mine"
    assert set(scripts) == {"mine", "spare", sieve.SCRIPT_NAME}

    line = manage(fresh).withdraw()
    active, scripts = fresh.scripts()
    assert active == "mine" and scripts == before
    assert "'mine' is active again" in line
    assert manage(fresh).withdraw() == "Nothing of socialdesk's was on the mail server."


def test_withdraw_without_an_owner_script_leaves_nothing_active(fresh):
    manage(fresh).push(PLAN)
    manage(fresh).withdraw()
    assert fresh.scripts() == (None, {})


def test_an_owner_script_that_sends_vacation_itself_is_kept(fresh):
    theirs = 'require ["vacation"];\r\nvacation :days 7 "I am on holiday.";\r\n'
    fresh.put("holiday", theirs, active=True)
    with pytest.raises(Kept, match="holiday"):
        manage(fresh).push(PLAN)
    assert fresh.scripts() == ("holiday", {"holiday": theirs.replace("\r\n", "\n").rstrip("\n")})


def test_a_server_without_include_keeps_the_owner_script():
    server = SieveServer(extensions=tuple(e for e in DOVECOT_EXTENSIONS if e != "include")).start()
    try:
        server.put("mine", OWNER_SCRIPT, active=True)
        with pytest.raises(Kept, match="cannot include"):
            manage(server).push(PLAN)
        assert server.scripts()[0] == "mine" and sieve.SCRIPT_NAME not in server.scripts()[1]
        # Without an owner script there is nothing to keep: ours goes up (no include needed).
        with server.client() as client:
            client.setactive("")
        manage(server).push(PLAN)
        assert server.scripts()[0] == sieve.SCRIPT_NAME
    finally:
        server.stop()


def test_a_server_without_vacation_is_unavailable():
    server = SieveServer(extensions=("fileinto", "reject", "envelope", "body")).start()  # pymap's own list
    try:
        with pytest.raises(Unavailable, match="vacation, date, relational"):
            manage(server).push(PLAN)
        assert server.scripts() == (None, {})
    finally:
        server.stop()


def test_vacation_seconds_is_used_where_the_server_has_it(fresh):
    text = sieve.build_script([WEEKEND], address="shop@example.com", own=("shop@example.com",),
                              capabilities=[*DOVECOT_EXTENSIONS, "vacation-seconds"])
    assert f":seconds {int((MON - FRI).total_seconds())}" in text and '"vacation-seconds"' in text
    sieve.check_script(text)


def test_connection_problems_are_owner_readable(fresh):
    with pytest.raises(AuthError):
        sieve.ManageSieve(fresh.account_settings(), MemorySecrets({"password": "wrong"})).push(PLAN)
    from tests.mailserver import free_port

    with pytest.raises(Unavailable, match="no ManageSieve service"):
        manage(fresh, sieve_port=str(free_port())).push(PLAN)
    with pytest.raises(PermanentError, match="unencrypted ManageSieve"):
        sieve.sieve_settings({**fresh.account_settings(), "imap_host": "mail.example.com", "imap_tls": "ssl",
                              "smtp_tls": "starttls"})
    settings = sieve.sieve_settings({"address": "shop@example.com", "imap_host": "mail.example.com"})
    assert (settings.host, settings.port, settings.tls) == ("mail.example.com", 4190, "starttls")
    assert sieve.enabled({}) and not sieve.enabled({"sieve": "off"})


def test_quote_keeps_every_text_inside_its_string():
    hostile = 'x"; discard; vacation "y\\'
    text = sieve.build_script([ClosedPeriod(FRI, MON, "closed:k", hostile, hostile + "\x00\x07\r\nline")],
                              address="shop@example.com", own=("shop@example.com",), capabilities=DOVECOT_EXTENSIONS)
    parser = Parser()
    assert parser.parse(text.encode())
    names = []

    def walk(cmds):
        for cmd in cmds:
            names.append(cmd.name)
            walk(cmd.children)

    walk(parser.result)
    assert "discard" not in names and names.count("vacation") == 1


# --- the script evaluated -------------------------------------------------------------------------------


class _CurrentDate(pymap_tests.SieveTest):
    """RFC 5260 `currentdate :zone "+0000" :value <rel> "iso8601" <key>` at a chosen instant; compared as text,
    as Pigeonhole does (shared/CONNECTORS.md)."""

    now = FRI

    def __init__(self, cmd) -> None:
        self.relation = unquote(cmd.extra_arguments["match-type"])
        self.key = unquote(cmd.arguments["key-list"])
        assert unquote(cmd.extra_arguments["zone"]) == "+0000"
        assert unquote(cmd.arguments["date-part"]) == "iso8601"

    def run(self, sender, recipient, append_msg, content) -> bool:
        value = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"ge": value >= self.key, "lt": value < self.key, "gt": value > self.key,
                "le": value <= self.key}[self.relation]


@pytest.fixture
def runner(monkeypatch):
    original = pymap_tests.SieveTest.of.__func__

    def of(cls, cmd):
        return _CurrentDate(cmd) if cmd.name == "currentdate" else original(cls, cmd)

    monkeypatch.setattr(pymap_tests.SieveTest, "of", classmethod(of))

    def run(script: str, headers: dict[str, str], *, at: datetime, sender: str = "anna@example.org") -> list:
        parser = Parser()
        assert parser.parse(script.encode()), parser.error
        _CurrentDate.now = at
        raw = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\nHello?\r\n"
        actions = SieveRunner(parser.result).get_actions(sender, "shop@example.com", AppendMessage(raw.encode()))
        return [a for a in actions if a.name == "vacation"]

    return run


def _script(periods=(WEEKEND,)) -> str:
    return sieve.build_script(periods, address="shop@example.com", own=("shop@example.com", "info@example.com"),
                              capabilities=DOVECOT_EXTENSIONS)


CUSTOMER = {"From": "Anna <anna@example.org>", "To": "shop@example.com", "Subject": "Rye?"}


def test_vacation_fires_inside_a_period_and_not_outside(runner):
    script = _script()
    inside = runner(script, CUSTOMER, at=FRI + timedelta(hours=20))
    assert len(inside) == 1 and unquote(inside[0].extra_arguments["handle"]) == "socialdesk-20261204T160000Z"
    assert runner(script, CUSTOMER, at=FRI) != []  # the first closed second
    assert runner(script, CUSTOMER, at=FRI - timedelta(seconds=1)) == []  # still open
    assert runner(script, CUSTOMER, at=MON) == []  # open again
    assert runner(script, CUSTOMER, at=MON - timedelta(seconds=1)) != []


@pytest.mark.parametrize("extra, sender", [
    ({"List-Id": "<news.example.org>"}, "anna@example.org"),
    ({"List-Unsubscribe": "<mailto:x@example.org>"}, "anna@example.org"),
    ({"X-Auto-Response-Suppress": "All"}, "anna@example.org"),
    ({"Auto-Submitted": "auto-replied"}, "anna@example.org"),
    ({"Precedence": "bulk"}, "anna@example.org"),
    ({"Precedence": "junk"}, "anna@example.org"),
    ({"From": "noreply@example.org"}, "noreply@example.org"),
    ({"From": "postmaster@example.org"}, "anna@example.org"),
    ({"From": "news-request@example.org"}, "anna@example.org"),
    ({"Reply-To": "bounces+123@example.org"}, "anna@example.org"),
    ({"From": "info@example.com"}, "anna@example.org"),  # our own alias
    ({}, ""),  # a bounce: the null envelope sender
    ({}, "mailer-daemon@example.org"),
])
def test_the_guards_refuse_lists_robots_bounces_and_ourselves(runner, extra, sender):
    assert runner(_script(), {**CUSTOMER, **extra}, at=FRI + timedelta(hours=1), sender=sender) == []


def test_auto_submitted_no_is_a_person(runner):
    assert runner(_script(), {**CUSTOMER, "Auto-Submitted": "no"}, at=FRI + timedelta(hours=1)) != []


def test_a_port_that_never_answers_is_no_service_and_offline_is_transient(monkeypatch):
    """A provider without Sieve whose firewall drops port 4190: the connect times out. That is "no
    ManageSieve" (tried again a day later), not a passing fault retried every 15 minutes; being offline is."""
    from socialdesk.connectors.base import TransientError

    settings = {"address": "shop@example.com", "imap_host": "imap.example.com"}
    secrets = MemorySecrets({"password": "pw"})

    def dropped(address, timeout=None):
        raise TimeoutError("timed out")

    monkeypatch.setattr(sieve.socket, "create_connection", dropped)
    with pytest.raises(Unavailable, match="no ManageSieve service at imap.example.com:4190"):
        sieve.ManageSieve(settings, secrets).push(PLAN)

    def offline(address, timeout=None):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(sieve.socket, "create_connection", offline)
    with pytest.raises(TransientError, match="Network is unreachable"):
        sieve.ManageSieve(settings, secrets).push(PLAN)
