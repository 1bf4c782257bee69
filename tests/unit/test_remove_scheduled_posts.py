"""Removing an account first cancels the status posts socialdesk scheduled on its platform (core/coverage
before_removal, the "schedule_status" capability), against the Mastodon fake through the real connector,
keyring and account service: after removal nothing of ours would be published from an account the owner no
longer manages with socialdesk. When cancelling fails (login revoked, offline) the account is removed all
the same and the owner is told which posts stay and where to delete them."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from socialdesk import paths
from socialdesk.app import build_core
from socialdesk.connectors import registry
from socialdesk.core import automation, coverage
from socialdesk.core.account_service import Removal
from socialdesk.core.automation import platform_schedule as ps
from socialdesk.core.clock import ManualClock
from socialdesk.core.hours import Schedule, parse_week_spec
from socialdesk.core.store import Account, Outbox
from socialdesk.secrets import KeyringSecrets
from tests.fakes.mastodon import MastodonFake

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 2, 8, 0, tzinfo=BERLIN).astimezone(timezone.utc)  # a Monday, closed until 9:00
OWN = {"id": "424242", "scheduled_at": "2026-03-04T11:00:00.000Z",
       "params": {"text": "Sale on Wednesday!", "idempotency": None, "visibility": "public"}}


@pytest.fixture
def fake():
    server = MastodonFake()
    with server.running():
        yield server


@pytest.fixture
def core(fake):
    for memory in (ps.ROUNDS.last, ps.ROUNDS.refused, ps.ROUNDS.retry_at):  # this process's rounds: per test
        memory.clear()
    c = build_core(paths.profile("t"), clock=ManualClock(START))
    fake.now = c.clock.now
    yield c
    c.close()


def shop_with_posts(core, fake: MastodonFake) -> int:
    """A Mastodon account with status posts on, its next week's opening and closing posts on the instance,
    next to one the owner scheduled there themselves."""
    core.account_service.add(registry.spec("mastodon"), "shop", {"instance": fake.url}, {"token": "good-token"},
                             test=False)
    account_id = Account.get(Account.name == "shop").id
    core.settings.set("hours.schedule",
                      Schedule(timezone="Europe/Berlin", week=parse_week_spec("mon-fri 09:00-17:00")).to_json())
    config = automation.AutomationConfig.default().with_status_posts(
        account_id, True, START - timedelta(days=1), opening="Open until {next_close}.",
        closing="Closed — back {next_open}.")
    automation.save_config(core.settings, config)
    fake.scheduled[OWN["id"]] = dict(OWN)
    ctx = coverage.make_context(core.store, core.settings, core.policy().schedule, core.clock.now(),
                                lambda account: KeyringSecrets("t", account.name))
    coverage.push_all(ctx)
    assert len(ours(fake)) == 10  # opening and closing, Monday to Friday
    return account_id


def ours(fake: MastodonFake) -> list[dict]:
    return [s for s in fake.scheduled.values() if s["id"] != OWN["id"]]


def test_removing_the_account_cancels_what_socialdesk_scheduled_on_it(core, fake):
    account_id = shop_with_posts(core, fake)
    removal = core.account_service.remove(account_id)
    assert removal == Removal("shop")  # nothing stays: nothing to tell
    assert ours(fake) == [] and list(fake.scheduled) == [OWN["id"]]  # the owner's own post is not touched
    fake.now = lambda: START + timedelta(days=8)
    fake.publish_due()
    assert [p["text"] for p in fake.posted] == ["Sale on Wednesday!"]  # nothing of ours is published
    assert Account.get_or_none(Account.id == account_id) is None
    assert KeyringSecrets("t", "shop").get("token") is None  # cancelled first, then the login forgotten


def test_a_revoked_login_still_removes_the_account_and_says_what_stays_and_where(core, fake):
    account_id = shop_with_posts(core, fake)
    fake.tokens.clear()  # the owner revoked socialdesk's access on the instance
    removal = core.account_service.remove(account_id)
    assert Account.get_or_none(Account.id == account_id) is None and KeyringSecrets("t", "shop").get("token") is None
    assert len(ours(fake)) == 10
    (line,) = removal.left_behind
    assert line.startswith("10 status posts that socialdesk scheduled on Mastodon for shop will still be "
                           "published (socialdesk could not cancel them: "), line
    assert "Delete them in a Mastodon app that lists scheduled posts (Mastodon's own website does not show them)" \
        in line
    # Each post by its local time and its start, so the owner can find it there.
    assert "opening post on Mon 02 Mar 09:00 (“Open until 17:00.”)" in line
    assert "closing post on Fri 06 Mar 17:00 (“Closed — back Monday at 9:00.”)" in line
    assert "good-token" not in line
    assert Outbox.select().count() == 0  # the account's rows went with it


def test_offline_the_account_is_removed_and_the_owner_told(core, fake):
    account_id = shop_with_posts(core, fake)
    core.clock.advance(hours=9, minutes=30)  # Monday 17:30: today's two are published by now
    fake.stop()
    removal = core.account_service.remove(account_id)
    assert Account.get_or_none(Account.id == account_id) is None
    (line,) = removal.left_behind
    assert line.startswith("8 status posts that socialdesk scheduled on Mastodon for shop will still be published")
    assert "Mon 02 Mar" not in line and "opening post on Tue 03 Mar 09:00" in line


def test_only_what_is_left_after_a_partial_cancel_is_reported(core, fake, monkeypatch):
    account_id = shop_with_posts(core, fake)
    real = fake._scheduled_statuses
    deletes: list[str] = []

    def flaky(req, scopes, headers):
        if req.method == "DELETE":
            deletes.append(req.path)
            if len(deletes) > 3:
                fake.tokens.clear()  # revoked in the middle of the removal: the 5th is refused
        return real(req, scopes, headers)

    monkeypatch.setattr(fake, "_scheduled_statuses", flaky)
    removal = core.account_service.remove(account_id)
    assert len(ours(fake)) == 6
    (line,) = removal.left_behind
    assert line.startswith("6 status posts that socialdesk scheduled on Mastodon")


def test_an_account_with_nothing_scheduled_is_removed_without_asking_the_platform(core, fake):
    core.account_service.add(registry.spec("mastodon"), "quiet", {"instance": fake.url}, {"token": "good-token"},
                             test=False)
    fake.stop()  # would fail, were it asked
    assert core.account_service.remove(Account.get(Account.name == "quiet").id) == Removal("quiet")


def test_a_part_that_breaks_does_not_block_the_removal_and_is_reported(core, fake, monkeypatch):
    account_id = shop_with_posts(core, fake)
    def broken(ctx, account):
        raise RuntimeError("bug")

    monkeypatch.setattr(coverage, "PARTS", [dataclasses.replace(p, before_removal=broken) for p in coverage.PARTS])
    removal = core.account_service.remove(account_id)
    assert Account.get_or_none(Account.id == account_id) is None
    assert removal.left_behind == ("socialdesk could not check what it set up on Mastodon for shop: look there "
                                   "for scheduled posts or filters it left.",)


def test_a_facebook_page_goes_the_same_way(core):
    """The mechanism is the capability's, not Mastodon's: a Page's scheduled posts are cancelled on removal,
    and when the Page's token no longer works the owner is sent to Meta Business Suite."""
    from tests.fakes.meta import MetaFake, facebook_secrets, facebook_settings

    meta = MetaFake(now=core.clock.now)
    with meta.running():
        secrets = facebook_secrets().values
        for name in ("page", "other page"):
            core.account_service.add(registry.spec("facebook"), name, facebook_settings(meta), dict(secrets),
                                     test=False)
        ids = [Account.get(Account.name == name).id for name in ("page", "other page")]
        core.settings.set("hours.schedule",
                          Schedule(timezone="Europe/Berlin", week=parse_week_spec("mon-fri 09:00-17:00")).to_json())
        config = automation.AutomationConfig.default()
        for account_id in ids:
            config = config.with_status_posts(account_id, True, START - timedelta(days=1), opening="Open.",
                                              closing="Closed.")
        automation.save_config(core.settings, config)
        coverage.push_all(coverage.make_context(core.store, core.settings, core.policy().schedule, core.clock.now(),
                                                lambda account: KeyringSecrets("t", account.name)))
        assert len(meta.scheduled) == 20  # the fake has one Page: both accounts post to it
        assert core.account_service.remove(ids[0]) == Removal("page")
        assert len(meta.scheduled) == 10  # only the removed account's own were cancelled
        meta.page_token = "revoked"
        (line,) = core.account_service.remove(ids[1]).left_behind
        assert line.startswith("10 status posts that socialdesk scheduled on Facebook for other page will still be "
                               "published (socialdesk could not cancel them: "), line
        assert "Delete them in Meta Business Suite, among the Page's scheduled posts" in line
        assert len(meta.scheduled) == 10 and Account.select().count() == 0
