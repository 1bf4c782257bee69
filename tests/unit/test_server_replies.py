"""Off-hours replies kept by the mail server (core/server_replies.py, core/coverage.py): the periods checked
against core/hours (a DST week, a holiday, an away period), when a push is due, the whole loop against a
real ManageSieve server (pymap), no double replies, and the coverage report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from socialdesk.connectors import sieve
from socialdesk.connectors.base import Author, InboundItem, MemorySecrets, OutboundResult
from socialdesk.core import automation, coverage, queue, server_replies
from socialdesk.core.clock import ManualClock
from socialdesk.core.hours import AwayPeriod, Schedule, parse_week_spec
from socialdesk.core.settings import Settings
from socialdesk.core.store import Account, Activity, AutoReplyLedger, Contact, Identity, Outbox
from socialdesk.core.sync import SyncEngine
from tests.sieveserver import SieveServer

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def nine_to_five(**extra) -> Schedule:
    return Schedule(timezone="Europe/Berlin", week=parse_week_spec("mon-fri 09:00-17:00"), **extra)


def check_against_hours(schedule: Schedule, now: datetime) -> list[tuple[datetime, datetime | None, str]]:
    """Every stretch is exactly a closed stretch of the schedule, keyed like the app's ledger."""
    stretches, until = server_replies.closed_stretches(schedule, now)
    assert until == now.astimezone(UTC) + server_replies.COVER
    for start, end, key in stretches:
        assert end is not None
        assert not schedule.is_open(start) and schedule.is_open(end) and not schedule.is_open(end - timedelta(seconds=1))
        assert schedule.is_open(start - timedelta(seconds=1)) or start <= now
        probe = start
        while probe < end:  # closed all along (hourly)
            assert not schedule.is_open(probe)
            assert schedule.closed_period_key(probe) == key
            probe += timedelta(hours=1)
    # ... and every closed instant within the window is in one of them.
    probe = now
    while probe < until - timedelta(days=2):
        if not schedule.is_open(probe):
            assert any(s <= probe < e for s, e, _k in stretches), probe
        probe += timedelta(minutes=30)
    return stretches


def test_periods_across_the_end_of_daylight_saving_time():
    schedule = nine_to_five()
    stretches = check_against_hours(schedule, berlin(2026, 10, 21, 12, 0))
    weekend = [s for s in stretches if s[0] == berlin(2026, 10, 23, 17, 0)][0]
    # Friday 17:00 CEST is 15:00 UTC; Monday 09:00 CET (the clocks went back on Sunday) is 08:00 UTC.
    assert weekend[0] == datetime(2026, 10, 23, 15, 0, tzinfo=UTC)
    assert weekend[1] == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert weekend[2] == "closed:2026-10-23T15:00:00Z"


def test_periods_skip_a_holiday_and_a_closed_date():
    schedule = nine_to_five(holidays_country="DE", closed_dates={date(2026, 12, 24)})
    stretches = check_against_hours(schedule, berlin(2026, 12, 21, 12, 0))
    christmas = [s for s in stretches if s[0] == berlin(2026, 12, 23, 17, 0)][0]
    assert christmas[1] == berlin(2026, 12, 28, 9, 0)  # Thu closed date, Fri 25th and Sat 26th holidays


def test_periods_follow_an_away_period_and_its_message():
    away = AwayPeriod(berlin(2026, 12, 9, 12, 0), berlin(2026, 12, 11, 12, 0), "Sick today, back {next_open}!")
    schedule = nine_to_five(away=[away])
    now = berlin(2026, 12, 7, 12, 0)
    stretches = check_against_hours(schedule, now)
    assert (berlin(2026, 12, 9, 12, 0), berlin(2026, 12, 11, 12, 0)) in [(s, e) for s, e, _k in stretches]

    class _Settings:
        def get(self, key):
            return {"business.name": "Corner Shop"}.get(key, "")

    account = Account(kind="email", name="mail", settings={"address": "shop@example.com"})
    plan = server_replies.build_plan(account, _Settings(), schedule, automation.AutomationConfig.default(), now)
    texts = {p.start: (p.subject, p.text) for p in plan.periods}
    assert texts[berlin(2026, 12, 9, 12, 0)] == ("Corner Shop is closed — back at 12:00 Friday 11 December",
                                                 "Sick today, back at 12:00 Friday 11 December!")
    subject, text = texts[berlin(2026, 12, 11, 17, 0)]
    assert subject == "Corner Shop is closed — back at 09:00 Monday 14 December"
    assert text.startswith("Hi there, thanks for your message to Corner Shop! We're closed right now — back at "
                           "09:00 Monday 14 December")


def test_a_schedule_never_open_again_gets_one_open_ended_period():
    schedule = nine_to_five(away=[AwayPeriod(berlin(2026, 12, 1, 9, 0), None, "")])
    stretches, _until = server_replies.closed_stretches(schedule, berlin(2026, 12, 2, 12, 0))
    assert stretches == [(berlin(2026, 11, 30, 17, 0), None, "closed:2026-11-30T16:00:00Z")]


# --- the loop against a real ManageSieve server ------------------------------------------------------------


class Scripted:
    """A connector whose inbound items the test queues and whose sends it records."""

    capabilities = frozenset({"dm", "email"})

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.items: list[InboundItem] = []
        self.sent: list[tuple] = []

    def fetch(self, cursor):
        items, self.items = self.items, []
        return items, {"n": (cursor or {}).get("n", 0) + len(items)}

    def reply(self, target, text, *, idempotency_key):
        self.sent.append((target, text, idempotency_key))
        return OutboundResult(external_id=f"out:{idempotency_key}")

    def close(self) -> None:
        pass


TUESDAY_EVENING = berlin(2026, 3, 10, 22, 0)


class World:
    def __init__(self, store, server: SieveServer):
        self.store = store
        self.server = server
        self.settings = Settings(store)
        self.clock = ManualClock(TUESDAY_EVENING)
        self.settings.set("hours.schedule", nine_to_five().to_json())
        self.settings.set("business.name", "Corner Shop")
        self.connectors: dict[int, Scripted] = {}
        with store.write():
            self.mail = Account.create(kind="email", name="mail", settings=server.account_settings(),
                                       created_at=self.clock.now())
            self.tg = Account.create(kind="demo", name="tg", settings={"channel": "telegram"},
                                     created_at=self.clock.now())
            contact = Contact.create(display_name="Anna Lopez", first_name="Anna", created_at=self.clock.now())
            Identity.create(contact=contact, account=self.mail, external_id="anna@example.org", handle="anna@example.org")
            Identity.create(contact=contact, account=self.tg, external_id="tg:anna", handle="anna")
        self.connectors = {self.mail.id: Scripted("email"), self.tg.id: Scripted("demo")}
        self.engine = SyncEngine(store, lambda a: self.connectors[a.id], self.clock, self.policy)
        automation.install(self.engine, store, self.settings, self.policy)
        coverage.install(self.engine, store, self.settings, self.policy,
                         lambda account: MemorySecrets({"password": server.password}))

    def policy(self) -> queue.Policy:
        return queue.Policy.load(self.settings)

    def email(self, sender: str, created_at: datetime | None = None) -> None:
        n = len(self.connectors[self.mail.id].sent) + Outbox.select().count() + Activity.select().count()
        self.connectors[self.mail.id].items.append(InboundItem(
            external_id=f"<m{n}-{created_at or self.clock.now()}@example.org>", conversation_external_id=f"c-{sender}",
            kind="email", public=False, author=Author(sender, handle=sender), text="Do you have rye?",
            created_at=created_at or self.clock.now(), meta={"from": sender, "auto_submitted": "no"},
        ))

    def telegram(self, author: str) -> None:
        self.connectors[self.tg.id].items.append(InboundItem(
            external_id=f"t{Activity.select().count()}-{self.clock.now()}", conversation_external_id=f"dm:{author}",
            kind="dm", public=False, author=Author(author, handle=author), text="Hello?", created_at=self.clock.now(),
        ))

    def skips(self) -> list[str]:
        return [a.text for a in Activity.select().where(Activity.kind == "skipped").order_by(Activity.id)]


@pytest.fixture(scope="module")
def server():
    srv = SieveServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def world(store, server):
    server.clear()
    return World(store, server)


def test_the_engine_pushes_the_script_and_no_second_reply_goes_out(world):
    # Mail that arrived before the server held our script is the app's to answer (the server never saw it
    # as covered), so this one gets the app's reply once the first pass has pushed the script.
    world.engine.run_once()  # the first tick pushes (no worker runs in run_once: inline)
    state = server_replies.state_of(world.settings, world.mail.id)
    assert state.active and state.since == TUESDAY_EVENING and state.attempt_error == ""
    active, scripts = world.server.scripts()
    assert active == sieve.SCRIPT_NAME
    assert "back at 09:00 Wednesday 11 March" in scripts[sieve.SCRIPT_NAME]
    assert state.periods[0] == (berlin(2026, 3, 10, 17, 0), berlin(2026, 3, 11, 9, 0), "closed:2026-03-10T16:00:00Z")

    world.clock.advance(minutes=10)
    world.email("anna@example.org")  # arrives while the server covers the period
    world.engine.run_once()
    assert world.connectors[world.mail.id].sent == []
    assert world.skips() == ["no auto-reply: answered by your mail server"]
    ledger = AutoReplyLedger.get()
    assert ledger.closed_period_key == "closed:2026-03-10T16:00:00Z" and ledger.outbox_id is None

    # The same person on Telegram, same closed period: still once per person per period.
    world.clock.advance(minutes=5)
    world.telegram("tg:anna")
    world.engine.run_once()
    assert world.connectors[world.tg.id].sent == []
    assert world.skips()[-1] == "no auto-reply: already replied this period"

    # Someone else on Telegram gets the app's reply: the server covers email only.
    world.telegram("tg:bob")
    world.engine.run_once()
    assert len(world.connectors[world.tg.id].sent) == 1


def test_mail_that_arrived_before_the_script_was_up_is_answered_by_the_app(world):
    world.engine.run_once()
    world.email("carl@example.org", created_at=TUESDAY_EVENING - timedelta(minutes=30))
    world.engine.run_once()
    assert len(world.connectors[world.mail.id].sent) == 1


def test_turning_it_off_restores_the_owner_script_and_the_app_answers_again(world):
    world.server.put("mine", 'require "fileinto";\r\nif header :is "subject" "x" { fileinto "X"; }\r\n', active=True)
    world.engine.run_once()
    assert world.server.scripts()[0] == sieve.SCRIPT_NAME
    with world.store.write():
        Account.update(settings={**world.mail.settings, "sieve": "off"}).where(Account.id == world.mail.id).execute()
    world.clock.advance(minutes=1)
    world.engine.run_once()
    assert world.server.scripts()[0] == "mine" and sieve.SCRIPT_NAME not in world.server.scripts()[1]
    assert not server_replies.state_of(world.settings, world.mail.id).active
    world.email("dora@example.org")
    world.engine.run_once()
    assert len(world.connectors[world.mail.id].sent) == 1


def test_a_push_is_due_on_every_change_and_daily(world):
    ctx = lambda: coverage.make_context(world.store, world.settings, world.policy().schedule, world.clock.now())  # noqa: E731
    mail = Account.get_by_id(world.mail.id)
    assert coverage.SERVER_REPLIES.due(ctx(), mail) == "push"
    world.engine.run_once()
    assert coverage.SERVER_REPLIES.due(ctx(), mail) == ""
    world.clock.advance(hours=23)
    assert coverage.SERVER_REPLIES.due(ctx(), mail) == ""
    world.clock.advance(hours=1)
    assert coverage.SERVER_REPLIES.due(ctx(), mail) == "push"  # at least daily
    world.engine.run_once()
    config = automation.load_config(world.settings)
    config.auto_reply_text = "Closed. Back {next_open}."
    automation.save_config(world.settings, config)
    assert coverage.SERVER_REPLIES.due(ctx(), mail) == "push"  # texts changed
    world.engine.run_once()
    world.settings.set("hours.schedule", nine_to_five(closed_dates={date(2026, 3, 11)}).to_json())
    world.engine.policy = world.policy
    assert coverage.SERVER_REPLIES.due(ctx(), mail) == "push"  # hours changed
    world.engine.run_once()
    _active, scripts = world.server.scripts()
    assert "back at 09:00 Thursday 12 March" in scripts[sieve.SCRIPT_NAME]
    automation.pause(world.settings, True)
    assert coverage.SERVER_REPLIES.due(ctx(), mail) == "withdraw"  # paused: the server stops too


def test_a_server_without_managesieve_is_retried_daily_and_reported(store, server):
    world = World(store, server)
    from tests.mailserver import free_port

    with store.write():
        Account.update(settings={**world.mail.settings, "sieve_port": str(free_port())}).where(
            Account.id == world.mail.id).execute()
    world.engine.run_once()
    state = server_replies.state_of(world.settings, world.mail.id)
    assert state.attempt_kind == "unavailable" and not state.active
    ctx = coverage.make_context(store, world.settings, world.policy().schedule, world.clock.now())
    assert coverage.SERVER_REPLIES.due(ctx, Account.get_by_id(world.mail.id)) == ""
    report = coverage.report(ctx)
    assert report.lines[0].startswith("Email (mail): no off-hours replies by your mail server (The mail server offers "
                                      "no ManageSieve service at 127.0.0.1:")
    # The app answers mail itself, as before.
    world.email("erin@example.org")
    world.engine.run_once()
    assert len(world.connectors[world.mail.id].sent) == 1


def test_the_coverage_report(world):
    ctx = lambda: coverage.make_context(world.store, world.settings, world.policy().schedule, world.clock.now())  # noqa: E731
    world.engine.run_once()
    report = coverage.report(ctx())
    assert report.lines == [
        "Email (mail): off-hours replies by your mail server until 21 Apr",
        "Telegram: no automatic reply while socialdesk is closed — keep it running, or run `socialdesk sync` on "
        "an always-on machine",
    ]
    data = report.to_json()
    mail = data["accounts"][0]
    assert mail["platform"] == "Email" and mail["promises"][0]["kept_by"] == "server"
    assert mail["promises"][0]["until"] == "2026-04-21T21:00:00Z"
    assert data["accounts"][1]["promises"] == [{"what": "auto_reply", "kept_by": "app", "until": None,
                                                "note": "Last 7 days: no message in closed hours",
                                                "text": "no automatic reply while socialdesk is closed"}]


def test_removing_the_account_restores_the_owner_script(world):
    from socialdesk.core.account_service import AccountService
    from socialdesk.core.changes import ChangeBus
    from socialdesk.secrets import KeyringSecrets

    world.server.put("mine", 'require "fileinto";\r\nif header :is "subject" "x" { fileinto "X"; }\r\n', active=True)
    world.engine.run_once()
    assert world.server.scripts()[0] == sieve.SCRIPT_NAME
    KeyringSecrets("default", "mail").set("password", world.server.password)
    AccountService(world.store, world.clock, "default", world.engine, ChangeBus()).remove(world.mail.id)
    assert world.server.scripts()[0] == "mine" and sieve.SCRIPT_NAME not in world.server.scripts()[1]
    assert str(world.mail.id) not in (world.settings.get(server_replies.STATE_KEY) or {})


def test_removing_the_account_when_the_filter_cannot_be_taken_off_says_so(world):
    """Removed all the same, and the owner is told the server keeps answering and how to stop it."""
    from socialdesk.core.account_service import AccountService
    from socialdesk.core.changes import ChangeBus
    from socialdesk.secrets import KeyringSecrets

    world.engine.run_once()
    assert world.server.scripts()[0] == sieve.SCRIPT_NAME
    KeyringSecrets("default", "mail").set("password", "changed-since")  # the mail password changed
    removal = AccountService(world.store, world.clock, "default", world.engine, ChangeBus()).remove(world.mail.id)
    assert world.server.scripts()[0] == sieve.SCRIPT_NAME  # still active there
    (line,) = removal.left_behind
    assert line.startswith("socialdesk's off-hours replies for mail stay on your mail server and keep answering "
                           "until "), line
    assert line.endswith("To stop them, delete the filter “socialdesk” in your mail provider's filter (Sieve) "
                         "settings and switch your own filter on again there."), line
    assert "changed-since" not in line
    assert str(world.mail.id) not in (world.settings.get(server_replies.STATE_KEY) or {})


def test_the_running_engine_pushes_on_its_job_thread_not_the_accounts_worker(world, monkeypatch):
    """On an account's worker the push would end its IMAP IDLE stream (the next mail waited for it)."""
    import threading
    import time

    threads: list[str] = []
    real_push = server_replies.push

    def recording_push(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real_push(*args, **kwargs)

    monkeypatch.setattr(server_replies, "push", recording_push)
    world.engine.start()
    try:
        deadline = time.monotonic() + 20
        while not server_replies.state_of(world.settings, world.mail.id).active and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        world.engine.stop()
    assert threads == ["sync-jobs"]
    assert world.server.scripts()[0] == sieve.SCRIPT_NAME
