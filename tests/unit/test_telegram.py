"""Telegram connector against the local fake Bot API (tests/fakes/telegram.py)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from socialdesk.connectors.base import (
    AuthError,
    MemorySecrets,
    NotAllowed,
    PermanentError,
    RateLimited,
    ReplyTarget,
    TransientError,
)
from socialdesk.connectors.telegram import SPEC, TelegramConnector
from tests.fakes import wait_until
from tests.fakes.telegram import TOKEN, TelegramFake

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def fake():
    server = TelegramFake(max_poll=0.5)
    with server.running():
        yield server


def connector(fake: TelegramFake, token: str = TOKEN, **kwargs) -> TelegramConnector:
    kwargs.setdefault("sleep", lambda s: None)
    kwargs.setdefault("now", lambda: NOW)
    return TelegramConnector({"api_base": fake.url}, MemorySecrets({"token": token}), **kwargs)


def target_for(item) -> ReplyTarget:
    return ReplyTarget(item.conversation_external_id, item.kind, item.public,
                       parent_external_id=item.external_id, parent_meta=item.meta)


def test_spec():
    assert SPEC.settings == (("api_base", "Bot API address", "https://api.telegram.org"),)
    assert SPEC.secret_label == "Bot token" and SPEC.secret_name == "token" and "stream" in SPEC.capabilities


def test_private_business_and_group_mentions(fake):
    fake.add("hi from a customer")
    fake.add("business hello", user="bob", business_connection_id="BC1")
    fake.add("owner answering from phone", user="owner", chat_id=500 + sum(map(ord, "bob")),
             business_connection_id="BC1")
    fake.add("chatting among ourselves", chat_type="supergroup", chat_id=-100)
    text = "héllo 👋 @Shop_Bot are you open?"
    offset = len(text[: text.index("@")].encode("utf-16-le")) // 2
    fake.add(text, chat_type="supergroup", chat_id=-100,
             entities=[{"type": "mention", "offset": offset, "length": 9}])
    items, cursor = connector(fake).fetch(None)
    assert [(i.kind, i.public, i.outbound) for i in items] == [
        ("dm", False, False), ("dm", False, False), ("dm", False, True), ("mention", True, False)]
    dm, biz, _, group = items
    assert dm.conversation_external_id == f"chat:{dm.meta['chat_id']}"
    assert biz.conversation_external_id == f"business:BC1:{biz.meta['chat_id']}"
    assert biz.external_id.startswith("b:BC1:") and biz.meta["business_connection_id"] == "BC1"
    assert group.conversation_external_id == "chat:-100" and group.text == text
    assert dm.author.handle == "@alice" and dm.created_at.tzinfo is not None
    assert cursor == {"offset": fake.updates[-1]["update_id"] + 1}


def test_offset_confirms_only_on_the_next_fetch(fake):
    for i in range(5):
        fake.add(f"m{i}")
    conn = connector(fake, page_limit=2)
    seen, cursor = [], None
    for _ in range(4):
        items, cursor = conn.fetch(cursor)
        seen += [i.text for i in items]
    assert seen == [f"m{i}" for i in range(5)]
    # A crash before storing: re-fetching with the old cursor returns the same page again.
    fake.add("late")
    first, after = conn.fetch(cursor)
    again, _ = conn.fetch(cursor)
    assert [i.external_id for i in first] == [i.external_id for i in again]
    assert conn.fetch(after)[0] == []


def test_reply_with_reply_parameters_and_business_connection(fake):
    fake.add("question")
    fake.add("biz question", user="bob", business_connection_id="BC1")
    conn = connector(fake)
    items, _ = conn.fetch(None)
    result = conn.reply(target_for(items[0]), "answer", idempotency_key="k")
    sent = fake.sent[0]
    assert sent["reply_parameters"] == {"message_id": items[0].meta["message_id"], "allow_sending_without_reply": True}
    assert result.external_id == f"{items[0].meta['chat_id']}:{sent['message_id']}"
    conn.reply(target_for(items[1]), "biz answer", idempotency_key="k2")
    assert fake.sent[1]["business_connection_id"] == "BC1"
    with pytest.raises(PermanentError, match="4096"):
        conn.reply(target_for(items[0]), "x" * 4097, idempotency_key="k3")
    with pytest.raises(NotAllowed, match="bot was blocked by the user"):  # this chat, not the token
        conn.reply(ReplyTarget("chat:403", "dm", False, parent_meta={"chat_id": 403}), "hi", idempotency_key="k4")


def test_wrong_token_is_auth_error_and_never_logged(fake, caplog):
    caplog.set_level(logging.DEBUG)
    bad = "777:wrong-token-secret"
    with pytest.raises(AuthError) as info:
        connector(fake, token=bad).fetch(None)
    assert bad not in str(info.value) and bad not in caplog.text
    assert TOKEN not in caplog.text
    connector(fake).fetch(None)
    assert "/bot<redacted>/getUpdates" in caplog.text and TOKEN not in caplog.text


def test_retry_after_conflict_500_and_malformed(fake):
    conn = connector(fake)
    conn.bot()
    fake.inject(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
                      "parameters": {"retry_after": 7}}, path="getUpdates")
    with pytest.raises(RateLimited) as info:
        conn.fetch(None)
    assert info.value.retry_at == NOW + timedelta(seconds=7)
    fake.conflict = True
    with pytest.raises(TransientError, match="another program is reading this bot's updates"):
        conn.fetch(None)
    fake.conflict = False
    fake.inject(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}, path="getUpdates", times=3)
    with pytest.raises(TransientError):
        conn.fetch(None)
    fake.inject(200, b"{\"ok\": tru", path="getUpdates")
    with pytest.raises(TransientError, match="malformed"):
        conn.fetch(None)
    # An "ok": false without a code explains nothing: retried like a server problem, then reported.
    fake.inject(200, {"ok": False, "description": "odd"}, path="getUpdates", times=3)
    with pytest.raises(TransientError, match="odd"):
        conn.fetch(None)


def test_stream_long_polls_delivers_batches_and_stops_promptly(fake):
    conn = connector(fake, poll_timeout=5)
    fake.max_poll = 5  # a real long poll: the server holds the request open
    batches: list = []
    stop = threading.Event()

    def on_items(items, cursor):
        batches.append(([i.text for i in items], cursor))

    thread = threading.Thread(target=conn.stream, args=(None, on_items, stop))
    thread.start()
    try:
        assert wait_until(lambda: fake.paths().count(f"/bot{TOKEN}/getUpdates") >= 1)
        update = fake.add("live")
        assert wait_until(lambda: any(texts for texts, _ in batches))
        assert batches[0] == (["live"], {"offset": update["update_id"] + 1})
    finally:
        started = time.monotonic()
        stop.set()
        thread.join(timeout=2)
    assert not thread.is_alive() and time.monotonic() - started < 1.0


def test_post_status_is_not_possible(fake):
    assert "post_status" not in SPEC.capabilities
    with pytest.raises(PermanentError):
        connector(fake).post_status("hello", idempotency_key="k")


def test_check_names_the_bot(fake):
    info = connector(fake).check()
    assert (info.display_name, info.handle) == ("Shop Bot", "@shop_bot")


def test_fake_runs_as_a_subprocess_with_seed_and_control_endpoints():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.telegram", "--seed", "3", "--lifetime", "20"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("READY http://127.0.0.1:")
        url = line.split()[1]
        requests.post(f"{url}/__fake__/add", json={"text": "via control"}, timeout=5).raise_for_status()
        conn = TelegramConnector({"api_base": url}, MemorySecrets({"token": TOKEN}), sleep=lambda s: None)
        items, cursor = conn.fetch(None)
        assert [i.text for i in items] == ["seeded message 1", "seeded message 2", "seeded message 3", "via control"]
        requests.post(f"{url}/__fake__/inject", json={"status": 502, "raw": "down", "times": 5}, timeout=5)
        with pytest.raises(TransientError):
            conn.fetch(cursor)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_media_without_text_and_garbled_date(fake):
    update = fake.add("x")
    message = update["message"]
    del message["text"]
    message["photo"] = [{"file_id": "abc"}]
    message["date"] = "soon"
    items, _ = connector(fake).fetch(None)
    assert items[0].text == "(sent a photo)" and items[0].created_at == NOW


def test_an_error_in_a_200_body_is_read_like_the_same_status(fake):
    """Telegram's {"ok": false, "error_code"} shape means the same whatever the HTTP status says."""
    conn = connector(fake)
    conn.bot()
    fake.inject(200, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
                path="sendMessage")
    with pytest.raises(NotAllowed, match="blocked"):
        conn.reply(ReplyTarget("chat:1", "dm", False, parent_meta={"chat_id": 1}), "hi", idempotency_key="k")
    fake.inject(200, {"ok": False, "error_code": 401, "description": "Unauthorized"}, path="getUpdates")
    with pytest.raises(AuthError, match="@BotFather"):
        conn.fetch(None)
