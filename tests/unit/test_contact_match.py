"""Ranking "Same person as…" candidates (issue 17 item 11): name similarity, handles and addresses,
shared recent activity, and never preselecting a weak match."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import contact_match as cm
from socialdesk.core import queue
from socialdesk.core.hours import Schedule
from socialdesk.core.ingest import ingest
from socialdesk.core.store import Account, Conversation, Identity
from socialdesk.core.targets import TargetConfig

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
POLICY = queue.Policy(TargetConfig.default(), Schedule.always_open())


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("Sam Taylor", "Sam Taylor", 1.0),
        ("Sam Taylor", "taylor, SAM", 1.0),  # order, case and punctuation do not matter
        ("Mateo García", "mateo garcia", 1.0),  # nor accents
        ("SamTaylor", "Sam Taylor", 1.0),
        ("Sam Taylor", "Samuel Taylor", 0.9),
        ("Sam Taylor", "Sam Tayler", 0.85),  # one letter changed
        ("Sam Taylor", "Sam Talyor", 0.85),  # two swapped
        ("Sam Taylor", "Sam Tylor", 0.85),  # one dropped
        ("Sam Taylor", "Sam Tyler", 0.5),  # two slips: another name
        ("Sam Taylor", "S. Taylor", 0.8),
        ("Sam Taylor", "Sam", 0.5),
        ("Sam Sam", "Sam Taylor", 0.5),  # one word pairs with one word only
        ("Sam Taylor", "Mateo García", 0.0),
        ("Sam Taylor", "", 0.0),
        ("🍞", "Sam Taylor", 0.0),
    ],
)
def test_name_similarity(a, b, expected):
    assert cm.name_similarity(a, b) == pytest.approx(expected)
    assert cm.name_similarity(b, a) == pytest.approx(expected)


@pytest.mark.parametrize(
    "handle, external_id, keys, addresses",
    [
        ("@SamTaylor", "123456", {"samtaylor"}, set()),
        ("sam_taylor@mastodon.social", "109876", {"samtaylor"}, set()),
        ("samtaylor.bsky.social", "did:plc:abc", {"samtaylor"}, set()),
        ("Sam.Taylor@Example.com", "sam.taylor@example.com", {"samtaylor"}, {"sam.taylor@example.com"}),
        ("info@bakery.example", "info@bakery.example", set(), {"info@bakery.example"}),  # a shared mailbox
        ("sam", "", set(), set()),  # too short to mean one person
        ("", "4242424242", set(), set()),  # a platform id says nothing about the person
        ("Chloé", "", {"chloe"}, set()),
    ],
)
def test_handle_keys(handle, external_id, keys, addresses):
    assert cm.handle_keys(handle, external_id) == (keys, addresses)


@pytest.fixture
def accounts(store):
    with store.write():
        made = {
            channel: Account.create(kind="demo", name=channel.title(), settings={"channel": channel}, created_at=NOW).id
            for channel in ("telegram", "email", "mastodon", "bluesky")
        }
    return made


def person(store, accounts, channel: str, name: str, *, handle: str = "", author_id: str = "",
           wrote: datetime = NOW - timedelta(days=30)) -> int:
    """A customer who wrote once on a channel; returns their contact id."""
    author_id = author_id or f"{channel}:{name}:{handle}"
    kind = "email" if channel == "email" else "dm"
    item = InboundItem(f"m:{author_id}:{wrote.isoformat()}", f"c:{author_id}", kind, False,
                       Author(author_id, handle=handle, display_name=name), "hello", wrote)
    ingest(store, accounts[channel], [item], None, POLICY, NOW)
    return Identity.get((Identity.account == accounts[channel]) & (Identity.external_id == author_id)).contact_id


def test_linking_sam_taylor_suggests_sam_first_not_the_newest_person(store, accounts):
    """The reported bug: the list was newest first, so Mateo García (who wrote last) came first."""
    sam = person(store, accounts, "telegram", "Sam Taylor", handle="sam", wrote=NOW - timedelta(hours=3))
    sam_mail = person(store, accounts, "email", "Sam Taylor", author_id="sam.taylor@example.com",
                      handle="sam.taylor@example.com", wrote=NOW - timedelta(days=2))
    person(store, accounts, "mastodon", "Samira Okafor", handle="samira@bakers.social")
    person(store, accounts, "email", "Mateo García", author_id="mateo@example.com", handle="mateo@example.com",
           wrote=NOW - timedelta(minutes=1))
    ranked = cm.rank_candidates(sam, now=NOW)
    assert ranked[0].id == sam_mail and ranked[0].strong
    assert ranked[0].channels == ("email",)
    assert "same name" in ranked[0].reasons
    names = [c.name for c in ranked]
    assert names.index("Samira Okafor") < names.index("Mateo García")  # "sam…" is closer than nothing
    assert not any(c.strong for c in ranked[1:])


def test_a_weak_match_is_never_preselected(store, accounts):
    me = person(store, accounts, "telegram", "Sam", handle="sam", wrote=NOW - timedelta(days=3))
    person(store, accounts, "email", "Sam Okafor", author_id="okafor@example.com")
    person(store, accounts, "email", "Mateo García", author_id="mateo@example.com", wrote=NOW - timedelta(days=3))
    ranked = cm.rank_candidates(me, now=NOW)
    assert [c.name for c in ranked][:2] == ["Sam Okafor", "Mateo García"]
    assert ranked[0].score == pytest.approx(0.4) and not ranked[0].strong  # a first name alone
    assert ranked[1].score == pytest.approx(0.2) and not ranked[1].strong  # activity alone never is


def test_every_candidate_says_why_it_is_listed(store, accounts):
    """The dialog's "Why" column was empty for everyone without a shared name or handle (most of the
    list when no match is likely): each says why, or that nothing links them."""
    me = person(store, accounts, "telegram", "Sam", handle="sam", wrote=NOW - timedelta(hours=5))
    person(store, accounts, "email", "Sam Okafor", author_id="okafor@example.com")
    person(store, accounts, "email", "Mateo García", author_id="mateo@example.com", wrote=NOW - timedelta(hours=2))
    person(store, accounts, "mastodon", "Kenji Sato", handle="kenji@bakers.social")
    why = {c.name: c.why for c in cm.rank_candidates(me, now=NOW)}
    assert why == {
        "Sam Okafor": "Similar name",
        "Mateo García": "Only wrote on the same day",
        "Kenji Sato": cm.NOTHING_LINKS,
    }
    assert [c.why for c in cm.rank_candidates(me, "kenji", now=NOW)] == [cm.NOTHING_LINKS]


def test_a_first_name_and_a_message_within_the_hour_is_a_strong_match(store, accounts):
    me = person(store, accounts, "telegram", "Sam", handle="sam", wrote=NOW - timedelta(minutes=20))
    other = person(store, accounts, "email", "Sam Okafor", author_id="okafor@example.com",
                   wrote=NOW - timedelta(minutes=5))
    top = cm.rank_candidates(me, now=NOW)[0]
    assert top.id == other and top.strong
    assert top.reasons == ("similar name", "wrote within the same hour")
    assert top.why == "Similar name, wrote within the same hour"


def test_the_same_handle_or_address_on_another_channel_is_strong_evidence(store, accounts):
    me = person(store, accounts, "mastodon", "🍞 baker fan", handle="samtaylor@mastodon.social")
    same_handle = person(store, accounts, "bluesky", "ST", handle="samtaylor.bsky.social")
    spelled = person(store, accounts, "email", "Sam Taylor", author_id="s.t@example.com", handle="s.t@example.com")
    ranked = {c.id: c for c in cm.rank_candidates(me, now=NOW)}
    assert ranked[same_handle].strong and ranked[same_handle].reasons == ("same handle",)
    assert ranked[spelled].strong and ranked[spelled].reasons == ("handle matches the name",)


def test_the_same_email_address_on_two_mailboxes(store, accounts):
    with store.write():
        accounts["email2"] = Account.create(kind="demo", name="Shop mail", settings={"channel": "email"},
                                            created_at=NOW).id
    me = person(store, accounts, "email", "Sam", author_id="s@example.com", handle="s@example.com")
    other = person(store, accounts, "email2", "S", author_id="s@example.com", handle="s@example.com")
    top = cm.rank_candidates(me, now=NOW)[0]
    assert (top.id, top.score, top.reasons) == (other, 0.8, ("same email address", "similar name"))


def test_typing_filters_by_name_accent_insensitively_or_by_handle(store, accounts):
    me = person(store, accounts, "telegram", "Sam Taylor", handle="sam")
    mateo = person(store, accounts, "email", "Mateo García", author_id="mateo@example.com")
    handle = person(store, accounts, "bluesky", "🍞", handle="breadlover.bsky.social")
    person(store, accounts, "email", "Kenji Sato", author_id="kenji@example.com")
    assert [c.id for c in cm.rank_candidates(me, "garci", now=NOW)] == [mateo]
    assert [c.id for c in cm.rank_candidates(me, "García", now=NOW)] == [mateo]
    assert [c.id for c in cm.rank_candidates(me, "@breadlo", now=NOW)] == [handle]
    assert cm.rank_candidates(me, "zzz", now=NOW) == []
    assert cm.rank_candidates(me, '"* OR', now=NOW) == []  # what was typed never reaches MATCH raw


def test_the_business_itself_and_the_person_are_never_candidates(store, accounts):
    me = person(store, accounts, "telegram", "Sam Taylor", handle="sam")
    own = person(store, accounts, "email", "Sam Taylor", author_id="shop@example.com")
    with store.write():
        Identity.update(is_self=True).where(Identity.contact == own).execute()
    assert cm.rank_candidates(me, now=NOW) == []
    with pytest.raises(queue.QueueError):
        cm.rank_candidates(999, now=NOW)


def test_many_contacts_score_only_a_pool(store, accounts):
    """The dialog opens on a large profile: everyone newest is listed, the best first."""
    me = person(store, accounts, "telegram", "Sam Taylor", handle="sam")
    for n in range(120):
        person(store, accounts, "email", f"Customer {n}", author_id=f"c{n}@example.com")
    match = person(store, accounts, "mastodon", "Sam Taylor", handle="samt@bakers.social")
    ranked = cm.rank_candidates(me, now=NOW)
    assert ranked[0].id == match
    assert len(ranked) == cm.NEWEST_SHOWN  # the 50 newest to browse, with the match among them ranked first
    assert Conversation.select().count() == 122
