"""One bad item never fails a batch, in any connector and in ingest (issue 12, item 3).

The rule is written once, in connectors.base.convert_items; these tests check the helper and that
every item-conversion loop (Mastodon, Bluesky notifications and chat, Telegram, ingest) goes through it:
an entry that raises anything but the fetch's own trouble is skipped (or, for e-mail, stored with
what could be read — see test_hostile_mail.py), the rest of the batch arrives and the cursor moves on.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest

from socialdesk.connectors.base import (
    AuthError,
    Author,
    InboundItem,
    PermanentError,
    RateLimited,
    SkipItem,
    TransientError,
    convert_items,
)
from socialdesk.connectors.bluesky import BlueskyConnector
from socialdesk.connectors.mastodon import MastodonConnector
from socialdesk.core import ingest
from socialdesk.core.store import Message
from tests.unit.test_fuzz import POLICY, _new_account, bluesky_fetch, mastodon_fetch, telegram_fetch

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _convert(value):
    if isinstance(value, BaseException):
        raise value
    return value


def test_convert_items_skips_what_raises_and_keeps_the_rest(caplog):
    skipped: list[str] = []
    with caplog.at_level(logging.WARNING):
        out = convert_items([1, RecursionError("deep"), None, PermanentError("gone"), SkipItem("no id"), 2],
                            _convert, what="thing", ident=lambda v: type(v).__name__, skipped=skipped)
    assert out == [1, 2]
    assert skipped == ["RecursionError: unreadable (RecursionError)", "PermanentError: unreadable (PermanentError)",
                       "SkipItem: no id"]
    assert "deep" not in caplog.text and "gone" not in caplog.text  # an exception's text may quote input


@pytest.mark.parametrize("error", [TransientError("net"), AuthError("login"), RateLimited("slow", NOW)])
def test_the_fetchs_own_trouble_fails_the_batch_so_it_is_retried(error):
    with pytest.raises(type(error)):
        convert_items([1, error, 2], _convert, what="thing", ident=repr)


def test_the_unreadable_fallback_stands_in_for_a_bad_entry_and_a_broken_fallback_skips():
    out = convert_items([1, ValueError(), 3], _convert, what="thing", ident=repr,
                        unreadable=lambda entry: f"could not read {type(entry).__name__}")
    assert out == [1, "could not read ValueError", 3]
    out = convert_items([1, ValueError()], _convert, what="thing", ident=repr, unreadable=lambda entry: 1 / 0)
    assert out == [1]


def test_a_hostile_id_cannot_write_control_characters_into_the_log(caplog):
    with caplog.at_level(logging.WARNING):
        convert_items([ValueError()], _convert, what="thing", ident=lambda _: "x\r\nFAKE LOG LINE")
    assert "x??FAKE LOG LINE" in caplog.text and "\nFAKE" not in caplog.text


# --- the connectors' loops ----------------------------------------------------------------------------

STATUS = {"id": "50", "content": "<p>hi</p>", "visibility": "public", "account": {"id": "9", "acct": "ann"}}


def test_mastodon_skips_a_notification_whose_conversion_fails_permanently(monkeypatch):
    real = MastodonConnector._item

    def item(self, notification):
        if notification["id"] == "61":
            raise PermanentError("this status cannot be read")  # was raised, failing every fetch for ever
        return real(self, notification)

    monkeypatch.setattr(MastodonConnector, "_item", item)
    page = [{"id": "60", "type": "mention", "status": STATUS},
            {"id": "61", "type": "mention", "status": {**STATUS, "id": "51"}},
            {"id": "62", "type": "mention", "status": {**STATUS, "id": "52"}}]
    items, cursor = mastodon_fetch(page)
    assert [i.external_id for i in items] == ["50", "52"] and cursor["min_id"] == "62"


def test_mastodon_status_of_hostile_html_converts_quickly():
    hostile = {**STATUS, "id": "51", "content": "<!--" * 250_000}  # 1 MB: ~20 min in html.parser on 3.11
    started = time.perf_counter()
    items, _ = mastodon_fetch([{"id": "60", "type": "mention", "status": hostile},
                               {"id": "61", "type": "mention", "status": STATUS}])
    assert time.perf_counter() - started < 5.0
    assert [(i.external_id, i.text) for i in items] == [("51", ""), ("50", "hi")]


def test_bluesky_chat_skips_a_message_whose_conversion_fails_permanently(monkeypatch):
    real = BlueskyConnector._dm_item

    def dm_item(self, entry, me):
        if entry["message"]["id"] == "m2":
            raise PermanentError("unreadable")  # was raised, failing every fetch for ever
        return real(self, entry, me)

    monkeypatch.setattr(BlueskyConnector, "_dm_item", dm_item)

    def log(mid: str) -> dict:
        return {"$type": "chat.bsky.convo.defs#logCreateMessage", "convoId": "c1",
                "message": {"id": mid, "text": f"text {mid}", "sender": {"did": "did:plc:a"},
                            "sentAt": "2026-03-01T10:00:00Z"}}

    items, _ = bluesky_fetch([], [log("m1"), log("m2"), log("m3")])
    assert [i.external_id for i in items] == ["m1", "m3"]


def test_telegram_still_moves_the_offset_past_a_bad_update():
    good = {"update_id": 7, "message": {"message_id": 1, "from": {"id": 5, "first_name": "Ann"},
                                        "chat": {"id": 5, "type": "private"}, "date": 1_700_000_000, "text": "hi"}}
    bad = {"update_id": 8, "message": {**good["message"], "date": 10**20}}
    items, cursor = telegram_fetch([good, bad])
    assert len(items) == 1 and cursor == {"offset": 9}


# --- ingest ---------------------------------------------------------------------------------------------


def _item(external_id: str, meta: object) -> InboundItem:
    return InboundItem(external_id=external_id, conversation_external_id="c1", kind="dm", public=False,
                       author=Author("u1", "@u1", "U One"), text="hello", created_at=NOW, meta=meta)


def test_ingest_skips_an_item_whose_check_itself_raises(store):
    deep: list = []
    for _ in range(100_000):  # json.dumps raises RecursionError on this, inside the check
        deep = [deep]
    account = _new_account(store)
    result = ingest.ingest(store, account, [_item("a", {}), _item("b", {"x": deep}), _item("c", {})],
                           {"n": 1}, POLICY, NOW)
    assert sorted(m.external_id for m in Message.select().where(Message.account == account)) == ["a", "c"]
    assert result.skipped == ["b: unreadable (RecursionError)"]
