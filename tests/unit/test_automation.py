"""Unit tests for core/automation/: auto-replies, loop guards, the cap, status posts, grace, Activity.

Time is a ManualClock; connectors are scripted in-process fakes driven through the real SyncEngine,
ingest and outbox, so what is tested is what `socialdesk sync` does.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from socialdesk.connectors.base import Author, InboundItem, OutboundResult
from socialdesk.core import automation, queue
from socialdesk.core.automation import (
    AutomationConfig,
    AutomationConfigError,
    AutoReplyFacts,
    ChannelRule,
    decide_auto_reply,
    status_transitions,
)
from socialdesk.core.clock import ManualClock
from socialdesk.core.hours import AwayPeriod, Schedule, parse_week_spec
from socialdesk.core.ingest import IngestResult
from socialdesk.core.settings import Settings
from socialdesk.core.store import Account, Activity, AutoReplyLedger, Contact, Identity, Outbox
from socialdesk.core.sync import SyncEngine

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


class Crash(BaseException):
    """Stands for the process dying mid-send (not an Exception, so nothing catches it)."""


class Scripted:
    """A connector whose inbound items the test queues and whose sends it records."""

    kind = "demo"

    def __init__(self) -> None:
        self.items: list[InboundItem] = []
        self.sent: list[tuple] = []  # (target, text, idempotency key)
        self.posts: list[tuple[str, str]] = []
        self.crash = False
        self.capabilities = frozenset({"dm", "comment", "email", "post_status"})

    def fetch(self, cursor):
        items, self.items = self.items, []
        return items, {"n": (cursor or {}).get("n", 0) + len(items)}

    def reply(self, target, text, *, idempotency_key):
        if self.crash:
            raise Crash()
        self.sent.append((target, text, idempotency_key))
        return OutboundResult(external_id=f"out:{idempotency_key}")

    def post_status(self, text, *, idempotency_key):
        self.posts.append((text, idempotency_key))
        return OutboundResult(external_id=f"post:{idempotency_key}")

    def close(self) -> None:
        pass


class World:
    def __init__(self, store, start: datetime, schedule: Schedule | None = None):
        self.store = store
        self.settings = Settings(store)
        self.clock = ManualClock(start)
        schedule = schedule or Schedule(timezone="Europe/Berlin", week=parse_week_spec("mon-fri 09:00-17:00"))
        self.settings.set("hours.schedule", schedule.to_json())
        self.settings.set("business.name", "Corner Shop")
        self.connectors: dict[int, Scripted] = {}
        self.accounts: dict[str, Account] = {}
        self._seq = 0
        self.engine = self.new_engine()

    def policy(self) -> queue.Policy:
        return queue.Policy.load(self.settings)

    def new_engine(self) -> SyncEngine:
        """A fresh engine, as after a restart (connectors keep their recorded sends)."""
        engine = SyncEngine(self.store, lambda a: self.connectors[a.id], self.clock, self.policy)
        automation.install(engine, self.store, self.settings, self.policy)
        return engine

    def account(self, name: str, channel: str, **settings: str) -> Account:
        with self.store.write():
            account = Account.create(kind="demo", name=name, settings={"channel": channel, **settings},
                                     created_at=self.clock.now())
        self.connectors[account.id] = Scripted()
        self.accounts[name] = account
        return account

    def person(self, first: str, **ids: str) -> Contact:
        """One customer with an identity on each named account (name -> external id)."""
        with self.store.write():
            contact = Contact.create(display_name=f"{first} Lopez", first_name=first, created_at=self.clock.now())
            for account_name, external_id in ids.items():
                Identity.create(contact=contact, account=self.accounts[account_name], external_id=external_id,
                                handle=external_id, display_name=f"{first} Lopez")
        return contact

    def write(self, account_name: str, author: str, text: str = "Hello?", *, kind: str = "dm", public: bool = False,
              created_at: datetime | None = None, meta: dict | None = None, conversation: str | None = None) -> None:
        self._seq += 1
        account = self.accounts[account_name]
        self.connectors[account.id].items.append(
            InboundItem(
                external_id=f"m{self._seq}",
                conversation_external_id=conversation or f"{kind}:{author}",
                kind=kind,
                public=public,
                author=Author(author, handle=author, display_name=author),
                text=text,
                created_at=created_at or self.clock.now(),
                meta=meta or {},
            )
        )

    def sent(self, account_name: str) -> list[tuple]:
        return self.connectors[self.accounts[account_name].id].sent

    def posts(self, account_name: str) -> list[tuple[str, str]]:
        return self.connectors[self.accounts[account_name].id].posts

    def auto_rows(self) -> list[Outbox]:
        return list(Outbox.select().where(Outbox.purpose == "auto_reply").order_by(Outbox.id))

    def skips(self) -> list[str]:
        return [a.text for a in Activity.select().where(Activity.kind == "skipped").order_by(Activity.id)]

    def enable_posts(self, account_name: str, **texts: str) -> None:
        config = automation.load_config(self.settings)
        config = config.with_status_posts(self.accounts[account_name].id, True, self.clock.now(),
                                          **texts)
        automation.save_config(self.settings, config)


TUESDAY_EVENING = berlin(2026, 3, 10, 22, 0)  # Mon-Fri 09:00-17:00: closed until Wed 09:00


@pytest.fixture
def world(store) -> World:
    w = World(store, TUESDAY_EVENING)
    w.account("ig", "instagram")
    w.account("tg", "telegram")
    w.account("mail", "email", address="shop@example.com")
    w.account("masto", "mastodon")  # posts statuses (Instagram's API cannot post text)
    return w


# --- auto-replies -----------------------------------------------------------------------------------


def test_two_channels_one_person_one_closed_period_one_reply(world):
    world.person("Maria", ig="ig:maria", tg="tg:maria")
    world.write("ig", "ig:maria", "Are you open tomorrow?")
    world.engine.run_once()
    world.clock.advance(minutes=5)
    world.write("tg", "tg:maria", "Hello, me again on Telegram")
    world.engine.run_once()

    assert len(world.sent("ig")) == 1 and world.sent("tg") == []
    target, text, key = world.sent("ig")[0]
    assert target.auto_reply is True  # becomes `Auto-Submitted: auto-replied` on email
    assert text.startswith("Hi Maria, thanks for your message to Corner Shop!")
    assert "back at 9:00 tomorrow" in text
    assert key.startswith("auto:")
    assert world.skips() == ["no auto-reply: already replied this period"]

    # The next closed period (Wednesday evening) earns one more, on whichever channel comes first.
    world.clock.set(berlin(2026, 3, 11, 21, 0))
    world.write("tg", "tg:maria", "Still there?")
    world.engine.run_once()
    assert len(world.sent("tg")) == 1
    assert AutoReplyLedger.select().count() == 2
    assert [r.state for r in world.auto_rows()] == ["sent", "sent"]


def test_no_auto_reply_while_open(world):
    world.clock.set(berlin(2026, 3, 11, 10, 0))
    world.write("ig", "ig:sam")
    world.engine.run_once()
    assert world.auto_rows() == [] and world.skips() == []


def test_concurrent_ingest_on_two_channels_writes_one_ledger_row(world):
    contact = world.person("Maria", ig="ig:maria", tg="tg:maria")
    world.write("ig", "ig:maria")
    world.write("tg", "tg:maria")
    from socialdesk.core import ingest

    results = {}
    for name in ("ig", "tg"):
        account = world.accounts[name]
        items, cursor = world.connectors[account.id].fetch(None)
        results[name] = ingest.ingest(world.store, account.id, items, cursor, world.policy(), world.clock.now())
    hook = automation.Automation(world.store, world.settings, world.policy)
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        barrier.wait()
        hook.on_ingest(Account.get_by_id(world.accounts[name].id), results[name], world.clock.now())

    threads = [threading.Thread(target=run, args=(n,)) for n in ("ig", "tg")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert AutoReplyLedger.select().where(AutoReplyLedger.contact == contact.id).count() == 1
    assert len(world.auto_rows()) == 1


def test_hard_cap_of_three_per_person_per_24_hours(store):
    # Always open, but the owner flips away on and off: every away stretch is a new closed period.
    w = World(store, TUESDAY_EVENING, Schedule.always_open("Europe/Berlin"))
    w.account("ig", "instagram")
    for i in range(4):
        start = w.clock.now()
        schedule = Schedule.from_json(w.settings.get("hours.schedule"))
        schedule.away.append(AwayPeriod(start, start + timedelta(minutes=30)))
        w.settings.set("hours.schedule", schedule.to_json())
        w.clock.advance(minutes=1)
        w.write("ig", "ig:kim", f"message {i}")
        w.engine.run_once()
        w.clock.advance(hours=1)
    assert len(w.sent("ig")) == 3
    assert w.skips()[-1] == "no auto-reply: cap reached"
    # A day later the cap has room again.
    w.clock.advance(hours=24)
    schedule = Schedule.from_json(w.settings.get("hours.schedule"))
    schedule.away.append(AwayPeriod(w.clock.now(), None))
    w.settings.set("hours.schedule", schedule.to_json())
    w.clock.advance(minutes=1)
    w.write("ig", "ig:kim", "hello again")
    w.engine.run_once()
    assert len(w.sent("ig")) == 4
    assert "back soon" in w.sent("ig")[-1][1]  # away without an end: no promised time


def test_crash_between_sending_and_sent_is_unknown_and_never_resent(world):
    world.connectors[world.accounts["ig"].id].crash = True
    world.write("ig", "ig:lea")
    with pytest.raises(Crash):
        world.engine.run_once()
    assert [r.state for r in world.auto_rows()] == ["sending"]

    # Restart: a new engine recovers the interrupted row, and later messages change nothing.
    world.connectors[world.accounts["ig"].id].crash = False
    engine = world.new_engine()
    engine.recover()
    world.clock.advance(minutes=10)
    world.write("ig", "ig:lea", "hello??")
    engine.run_once()
    assert [r.state for r in world.auto_rows()] == ["unknown"]
    assert world.sent("ig") == []
    entries = [e for e in automation.activity() if e.kind == "auto_reply"]
    assert [e.result for e in entries] == ["unknown"]
    assert "may or may not have arrived" in entries[0].detail


@pytest.mark.parametrize(
    "sender, meta",
    [
        ("mailer-daemon@mx.example.net", {}),
        ("MAILER-DAEMON@mx.example.net", {"from": "MAILER-DAEMON@mx.example.net"}),
        ("no-reply@shop.example", {}),
        ("anna@example.org", {"automated": True}),  # the email connector's RFC 3834 verdict
        ("anna@example.org", {"from": "anna@example.org", "auto_submitted": "auto-replied"}),
        ("anna@example.org", {"from": "anna@example.org", "precedence": "bulk"}),
        ("anna@example.org", {"from": "anna@example.org", "list_id": "<news.example.org>"}),
        ("shop@example.com", {}),  # our own address
    ],
)
def test_email_loop_guards(world, sender, meta):
    world.write("mail", sender, "Delivery Status Notification (Failure)", kind="email", meta=meta)
    world.engine.run_once()
    assert world.auto_rows() == []
    assert world.skips() == ["no auto-reply: automated sender"]


def test_ordinary_email_gets_an_auto_reply(world):
    world.write("mail", "anna@example.org", "Do you have rye?", kind="email",
                meta={"from": "anna@example.org", "auto_submitted": "no"})
    world.engine.run_once()
    assert len(world.sent("mail")) == 1
    assert world.sent("mail")[0][0].auto_reply is True


@pytest.mark.parametrize(
    "sender, reply_to, reason",
    [
        ("anna@example.org", ["shop@example.com"], "Reply-To is our own address shop@example.com"),
        ("anna@example.org", ["Sales@Example.com"], "Reply-To is our own address sales@example.com"),  # other account
        ("anna@example.org", ["help@example.com"], "Reply-To is our own address help@example.com"),  # an alias
        ("anna@example.org", ["MAILER-DAEMON@mx.example.net"],
         "Reply-To is an automated mailbox (mailer-daemon@mx.example.net)"),
        ("anna@example.org", [f"p{i}@list.example" for i in range(500)],
         "Reply-To names 500 addresses (an automatic reply goes to exactly one)"),
        ("sales@example.com", [], "automated sender"),  # From: another of the profile's accounts
    ],
)
def test_email_guard_judges_the_address_the_reply_goes_to(world, sender, reply_to, reason):
    world.account("sales", "email", address="sales@example.com", aliases="help@example.com")
    world.write("mail", sender, "Question", kind="email", meta={"from": sender, "reply_to": reply_to})
    world.engine.run_once()
    assert world.auto_rows() == [] and world.sent("mail") == []
    assert world.skips() == [f"no auto-reply: {reason}"]


def test_auto_reply_to_one_valid_reply_to_address_goes_out(world):
    world.write("mail", "anna@example.org", "Question", kind="email",
                meta={"from": "anna@example.org", "reply_to": ["anna.home@example.net"]})
    world.engine.run_once()
    assert len(world.sent("mail")) == 1


def test_one_address_writing_to_two_email_accounts_gets_one_auto_reply_per_period(world):
    world.account("sales", "email", address="sales@example.com")
    world.write("mail", "anna@example.org", "Hello info@", kind="email", meta={"from": "anna@example.org"})
    world.engine.run_once()
    world.clock.advance(minutes=5)
    world.write("sales", " Anna@Example.ORG", "Hello sales@", kind="email", meta={"from": "Anna@Example.ORG"})
    world.engine.run_once()
    assert len(world.sent("mail")) == 1 and world.sent("sales") == []
    assert world.skips() == ["no auto-reply: already replied this period"]

    # A +tag is another mailbox, so another person (merging two real people would cost one a reply).
    world.write("sales", "anna+shop@example.org", kind="email", meta={"from": "anna+shop@example.org"})
    world.engine.run_once()
    assert len(world.sent("sales")) == 1

    # The next closed period earns one more, on whichever account comes first.
    world.clock.set(berlin(2026, 3, 11, 21, 0))
    world.write("sales", "anna@example.org", "Still there?", kind="email", meta={"from": "anna@example.org"})
    world.write("mail", "anna@example.org", "Hello?", kind="email", meta={"from": "anna@example.org"})
    world.engine.run_once()
    assert len(world.sent("mail")) + len(world.sent("sales")) == 3


def test_two_email_accounts_racing_for_one_address_send_one_auto_reply(world, monkeypatch):
    # Account B decides first, then account A ingests *and* answers before B writes: B must see A's
    # identity and ledger row under the write lock, although neither existed when B read its facts.
    world.account("sales", "email", address="sales@example.com")
    from socialdesk.core import ingest

    def ingest_one(name: str):
        account = world.accounts[name]
        world.write(name, "anna@example.org", kind="email", meta={"from": "anna@example.org"})
        items, cursor = world.connectors[account.id].fetch(None)
        return ingest.ingest(world.store, account.id, items, cursor, world.policy(), world.clock.now())

    hook = automation.Automation(world.store, world.settings, world.policy)
    b_result = ingest_one("sales")
    original = automation.Automation._write_auto_replies

    def a_wins_meanwhile(self, *args, **kwargs):
        monkeypatch.setattr(automation.Automation, "_write_auto_replies", original)
        hook.on_ingest(Account.get_by_id(world.accounts["mail"].id), ingest_one("mail"), world.clock.now())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(automation.Automation, "_write_auto_replies", a_wins_meanwhile)
    hook.on_ingest(Account.get_by_id(world.accounts["sales"].id), b_result, world.clock.now())
    rows = world.auto_rows()
    assert [r.account_id for r in rows] == [world.accounts["mail"].id]
    assert world.skips() == ["no auto-reply: already replied this period"]


def test_history_at_first_sync_never_gets_an_auto_reply(world):
    now = world.clock.now()
    world.write("ig", "ig:old", "an old question", created_at=now - timedelta(days=3))
    world.write("ig", "ig:new", "a fresh question", created_at=now - timedelta(minutes=30))
    world.engine.run_once()
    assert len(world.sent("ig")) == 1
    assert world.auto_rows()[0].conversation.contact_name == "ig:new"
    assert len(world.skips()) == 1 and "older than 24 h found at the first sync of ig" in world.skips()[0]


def test_public_items_are_off_by_default_and_can_be_switched_on(world):
    world.write("ig", "ig:fan", "Love this!", kind="comment", public=True)
    world.engine.run_once()
    assert world.auto_rows() == [] and world.skips() == []

    config = automation.load_config(world.settings)
    config.channels["instagram"] = ChannelRule(private=True, public=True, text="Thanks {first_name|there}!")
    automation.save_config(world.settings, config)
    world.write("ig", "ig:fan2", "So good", kind="comment", public=True)
    world.engine.run_once()
    assert [s[1] for s in world.sent("ig")] == ["Thanks there!"]


def test_channel_switched_off_sends_nothing(world):
    config = automation.load_config(world.settings)
    config.channels["telegram"] = ChannelRule(private=False)
    automation.save_config(world.settings, config)
    world.write("tg", "tg:x")
    world.engine.run_once()
    assert world.auto_rows() == []


def test_pause_stops_everything_and_resume_answers_the_next_message(world):
    automation.pause(world.settings, True)
    world.write("ig", "ig:lea")
    world.engine.run_once()
    assert world.auto_rows() == [] and world.skips() == ["no auto-reply: paused"]
    automation.pause(world.settings, False)
    world.clock.advance(minutes=5)
    world.write("ig", "ig:lea", "anyone?")
    world.engine.run_once()
    assert len(world.sent("ig")) == 1


def test_away_message_is_the_auto_reply_text(world):
    world.clock.set(berlin(2026, 3, 11, 10, 0))
    schedule = Schedule.from_json(world.settings.get("hours.schedule"))
    schedule.away.append(AwayPeriod(world.clock.now(), berlin(2026, 3, 16, 9, 0), "On holiday — back {next_open}."))
    world.settings.set("hours.schedule", schedule.to_json())
    world.write("ig", "ig:sam")
    world.engine.run_once()
    assert world.sent("ig")[0][1] == "On holiday — back Monday at 9:00."
    assert world.auto_rows()[0].reason.startswith("away")


def test_pending_auto_reply_is_skipped_once_the_business_opens(world):
    world.accounts["ig"].enabled = False  # the connector is unreachable: nothing can be sent
    with world.store.write():
        Account.update(state="auth_error").where(Account.id == world.accounts["ig"].id).execute()
    world.write("ig", "ig:lea")
    account = Account.get_by_id(world.accounts["ig"].id)
    items, cursor = world.connectors[account.id].fetch(None)
    from socialdesk.core import ingest

    result = ingest.ingest(world.store, account.id, items, cursor, world.policy(), world.clock.now())
    automation.Automation(world.store, world.settings, world.policy).on_ingest(account, result, world.clock.now())
    assert [r.state for r in world.auto_rows()] == ["pending"]
    world.clock.set(berlin(2026, 3, 11, 9, 5))
    world.engine.tick()
    assert [r.state for r in world.auto_rows()] == ["skipped"]
    assert world.sent("ig") == []


# --- the pure decision and the configuration -------------------------------------------------------


def facts(**kw) -> AutoReplyFacts:
    now = TUESDAY_EVENING
    base = dict(now=now, period_key="closed:x", channel="instagram", public=False, message_created_at=now,
                first_sync=False, automated_sender=False, already_replied=False, sent_last_24h=0, paused=False)
    base.update(kw)
    return AutoReplyFacts(**base)


@pytest.mark.parametrize(
    "kw, send, reason",
    [
        ({}, True, "closed"),
        ({"period_key": None}, False, "open"),
        ({"public": True}, False, "public kind off"),
        ({"automated_sender": True}, False, "automated sender"),
        ({"first_sync": True, "message_created_at": TUESDAY_EVENING - timedelta(hours=25)}, False,
         "history at first sync"),
        ({"message_created_at": TUESDAY_EVENING - timedelta(hours=25)}, False, "message older than 24 h"),
        ({"first_sync": True, "message_created_at": TUESDAY_EVENING - timedelta(hours=23)}, True, "closed"),
        ({"already_replied": True}, False, "already replied this period"),
        ({"sent_last_24h": 3}, False, "cap reached"),
        ({"sent_last_24h": 2}, True, "closed"),
        ({"paused": True}, False, "paused"),
        ({"has_contact": False}, False, "no contact"),
    ],
)
def test_decide_auto_reply(kw, send, reason):
    decision = decide_auto_reply(facts(**kw), AutomationConfig.default())
    assert (decision.send, decision.reason) == (send, reason)


def test_config_round_trip_and_owner_readable_errors():
    config = AutomationConfig.default().with_status_posts(7, True, TUESDAY_EVENING, opening="Open until {next_close}!")
    config.channels["email"] = ChannelRule(private=True, public=False, text="Hi {first_name|there}.")
    again = AutomationConfig.from_json(config.to_json())
    assert again == config and again.to_json() == config.to_json()
    assert again.posts_for(7).texts["opening"] == "Open until {next_close}!"
    assert again.reply_text_for("email") == "Hi {first_name|there}."
    assert again.reply_text_for("x") == automation.DEFAULT_AUTO_REPLY

    with pytest.raises(AutomationConfigError, match=r"Unknown placeholder \{frist_name\}"):
        AutomationConfig.from_json({"auto_reply_text": "Hi {frist_name}"})
    with pytest.raises(AutomationConfigError, match="grace window must be 1 to 180 minutes"):
        AutomationConfig.from_json({"grace_minutes": 0})
    with pytest.raises(AutomationConfigError, match="cap must be 1 to 10"):
        AutomationConfig.from_json({"max_per_day": "3"})
    with pytest.raises(AutomationConfigError, match="texts are keyed by"):
        AutomationConfig.from_json({"status_posts": {"1": {"enabled": True, "texts": {"lunch": "x"}}}})
    with pytest.raises(AutomationConfigError, match="default auto-reply: the text is empty"):
        AutomationConfig.from_json({"auto_reply_text": "  "})


def test_invalid_stored_config_turns_automation_off(world):
    world.settings.set("automation.config", {"grace_minutes": -1})
    world.write("ig", "ig:lea")
    world.engine.run_once()
    assert world.auto_rows() == []


def test_render_text_with_next_close_and_fallbacks():
    from socialdesk.core.snippets import RenderContext

    ctx = RenderContext(business="Corner Shop", next_open="at 9:00 tomorrow")
    assert automation.render_text("Open until {next_close}. {business}", ctx, "17:00") == "Open until 17:00. Corner Shop"
    assert automation.render_text("Open until {next_close|late}.", ctx, "") == "Open until late."
    assert automation.render_text("Back {next_open}, {first_name|friend}", ctx) == "Back at 9:00 tomorrow, friend"
    assert automation.render_text("{{next_close}}", ctx, "17:00") == "{next_close}"
    assert automation.text_problems("Until {next_close} {nope}")[0].startswith("Unknown placeholder {nope}")


# --- status posts -----------------------------------------------------------------------------------


def test_closing_post_started_10_min_late_is_posted_once(world):
    world.clock.set(berlin(2026, 3, 10, 16, 0))
    world.enable_posts("masto")
    world.clock.set(berlin(2026, 3, 10, 17, 10))  # the app starts 10 minutes after closing time
    engine = world.new_engine()
    engine.run_once()
    engine.run_once()
    assert len(world.posts("masto")) == 1
    text, key = world.posts("masto")[0]
    assert text == "Signing off for today — back at 9:00 tomorrow. We read every message first thing."
    assert key == "status:%d:closing:2026-03-10T16:00:00Z" % world.accounts["masto"].id
    assert world.posts("tg") == []  # status posts are per account, off by default
    entries = [e for e in automation.activity() if e.kind == "status_post"]
    assert [(e.result, e.to_whom) for e in entries] == [("sent", "public post")]


def test_closing_post_2_hours_late_is_skipped_and_logged_once(world):
    world.clock.set(berlin(2026, 3, 10, 16, 0))
    world.enable_posts("masto")
    world.clock.set(berlin(2026, 3, 10, 19, 0))
    engine = world.new_engine()
    engine.run_once()
    world.clock.advance(minutes=1)
    world.new_engine().run_once()
    assert world.posts("masto") == []
    skips = world.skips()
    assert len(skips) == 1
    assert skips[0] == "closing post for Tue 17:00 skipped: 2 h 0 min late (socialdesk was not running); never posted late"
    entries = [e for e in automation.activity() if e.kind == "status_post"]
    assert [e.result for e in entries] == ["skipped"]


def test_opening_post_names_the_closing_time(world):
    world.clock.set(berlin(2026, 3, 10, 16, 0))
    world.enable_posts("masto", closing="")
    world.clock.set(berlin(2026, 3, 11, 9, 1))
    world.engine.run_once()
    assert [p[0] for p in world.posts("masto")] == ["Good morning! We're online until 17:00."]


def test_status_post_that_cannot_be_sent_in_time_expires(world):
    world.clock.set(berlin(2026, 3, 10, 16, 0))
    world.enable_posts("masto")
    world.clock.set(berlin(2026, 3, 10, 17, 1))
    # Queue it without flushing (as if the account was unreachable), then come back 30 min later.
    automation.Automation(world.store, world.settings, world.policy).on_tick(world.clock.now())
    assert [r.state for r in Outbox.select()] == ["pending"]
    world.clock.advance(minutes=30)
    world.engine.run_once()
    assert world.posts("masto") == []
    assert [r.state for r in Outbox.select()] == ["skipped"]


def test_away_posts_replace_opening_and_closing(world):
    world.clock.set(berlin(2026, 3, 11, 10, 0))
    world.enable_posts("masto")
    schedule = Schedule.from_json(world.settings.get("hours.schedule"))
    schedule.away.append(AwayPeriod(berlin(2026, 3, 11, 11, 0), berlin(2026, 3, 11, 14, 0)))
    world.settings.set("hours.schedule", schedule.to_json())
    world.clock.set(berlin(2026, 3, 11, 11, 2))
    world.engine.run_once()
    world.clock.set(berlin(2026, 3, 11, 14, 2))
    world.engine.run_once()
    kinds = [k.split(":")[2] for _, k in world.posts("masto")]
    assert kinds == ["away_start", "away_end"]
    assert world.posts("masto")[0][0].startswith("We're away for a little while — back at 14:00 today.")


def test_paused_status_posts_are_skipped_not_posted_later(world):
    world.clock.set(berlin(2026, 3, 10, 16, 0))
    world.enable_posts("masto")
    automation.pause(world.settings, True)
    world.clock.set(berlin(2026, 3, 10, 17, 1))
    world.engine.run_once()
    automation.pause(world.settings, False)
    world.clock.advance(minutes=2)
    world.engine.run_once()
    assert world.posts("masto") == []
    assert world.skips() == ["closing post for Tue 17:00 skipped: automation was paused"]


def test_status_transitions_ignore_short_breaks():
    schedule = Schedule(timezone="Europe/Berlin", week=parse_week_spec("mon-fri 09:00-12:30,13:30-17:00"))
    got = status_transitions(schedule, berlin(2026, 3, 10, 0, 0), berlin(2026, 3, 11, 0, 0))
    assert [(t.when.astimezone(BERLIN).strftime("%H:%M"), t.kind) for t in got] == [
        ("09:00", "opening"), ("17:00", "closing"),
    ]


def test_preview_next_seven_days(world):
    world.clock.set(berlin(2026, 3, 9, 8, 0))  # Monday morning
    world.enable_posts("masto", closing="")
    schedule = world.policy().schedule
    planned = automation.preview_status_posts(world.settings, schedule, world.clock.now())
    assert [p.when.astimezone(BERLIN).strftime("%a %H:%M") for p in planned] == [
        "Mon 09:00", "Tue 09:00", "Wed 09:00", "Thu 09:00", "Fri 09:00",
    ]
    assert {p.text for p in planned} == {"Good morning! We're online until 17:00."}
    assert {p.account_name for p in planned} == {"masto"}


def test_email_accounts_never_post(world):
    world.clock.set(berlin(2026, 3, 10, 16, 0))
    world.enable_posts("mail")
    world.clock.set(berlin(2026, 3, 10, 17, 1))
    world.engine.run_once()
    assert Outbox.select().count() == 0


def test_install_registers_hooks(store):
    w = World(store, TUESDAY_EVENING)
    assert len(w.engine.ingest_hooks) == 1 and len(w.engine.tick_hooks) == 1
    assert w.engine.ingest_hooks[0](Account(), IngestResult(), TUESDAY_EVENING) == set()
