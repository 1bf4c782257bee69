"""End to end: `socialdesk account remove` first cancels the status posts socialdesk scheduled on the
(fake) Mastodon instance, so none is published from an account the owner no longer manages with socialdesk;
when it cannot (the owner revoked socialdesk's access), the account is removed all the same and the command
prints which posts stay and where to delete them. The real CLI runs as a subprocess against the fake on
127.0.0.1."""

from __future__ import annotations

import pytest

from tests.e2e.test_cli_scheduled_posts import Cli
from tests.fakes.mastodon import MastodonFake

OWN = {"id": "424242", "scheduled_at": "2099-01-01T12:00:00.000Z",
       "params": {"text": "Our own post", "idempotency": None, "visibility": "public"}}


@pytest.fixture
def fake():
    server = MastodonFake(lifetime=120)
    with server.running():
        yield server


def scheduled_shop(tmp_path, fake: MastodonFake) -> Cli:
    cli = Cli(tmp_path)
    cli("account", "add", "mastodon", "shop", "--set", f"instance={fake.url}", "--secret-stdin", stdin="good-token\n")
    cli("hours", "set", "--timezone", "Europe/Berlin", "--week", "mon-sun 09:00-17:00")
    cli("hours", "posts", "shop", "on")
    fake.scheduled[OWN["id"]] = dict(OWN)
    cli("coverage", "push")
    assert len(ours(fake)) >= 12  # opening and closing on each of the next 7 days
    return cli


def ours(fake: MastodonFake) -> list[dict]:
    return [s for s in fake.scheduled.values() if s["id"] != OWN["id"]]


def test_removing_the_account_withdraws_its_scheduled_posts(tmp_path, fake):
    cli = scheduled_shop(tmp_path, fake)
    out = cli("account", "remove", "shop")
    assert out == "Removed account 'shop' and its stored credentials.\n"
    assert ours(fake) == [] and list(fake.scheduled) == [OWN["id"]]  # the owner's own post stays
    assert "shop" not in cli("account", "list")


def test_when_they_cannot_be_withdrawn_the_owner_is_told_what_stays_and_where(tmp_path, fake):
    cli = scheduled_shop(tmp_path, fake)
    held = len(ours(fake))
    fake.tokens.clear()  # the owner revoked socialdesk's access on the instance
    out = cli("account", "remove", "shop")
    warning, removed = out.splitlines()
    assert warning.startswith(f"Warning: {held} status posts that socialdesk scheduled on Mastodon for shop will "
                              "still be published (socialdesk could not cancel them: "), warning
    assert "Delete them in a Mastodon app that lists scheduled posts" in warning and "opening post on " in warning
    assert removed == "Removed account 'shop' and its stored credentials."
    assert "shop" not in cli("account", "list") and len(ours(fake)) == held
