"""A fake Telegram Bot API: getMe, getUpdates (long poll, offset confirms), sendMessage.

Wire facts followed (see shared/CONNECTORS.md): `/bot<token>/<method>`; answers are
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": N, "description": "...",
"parameters": {"retry_after": N}}`; a call with `offset` forgets every update below it; `timeout`
makes getUpdates wait for new updates (capped here by `max_poll` so tests stay fast); a second
concurrent poller or a set webhook gives 409 Conflict.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Iterator

import pytest

from socialdesk.connectors.base import (
    AuthError,
    MemorySecrets,
    PermanentError,
    TransientError,
)
from socialdesk.connectors.telegram import TelegramConnector
from tests.fakes import FakeServer, HttpFakeHarness, Reply, Request, serve_cli

TOKEN = "123456:AAH-fake-bot-token-value"
BOT = {"id": 999, "is_bot": True, "first_name": "Shop Bot", "username": "shop_bot"}


class TelegramFake(FakeServer):
    def __init__(self, lifetime: float = 300.0, max_poll: float = 1.0):
        super().__init__(lifetime)
        self.max_poll = max_poll
        self.update_ids = itertools.count(1000)
        self.message_ids = itertools.count(1)
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.conflict = False
        self.changed = threading.Condition(self.lock)

    # -- programming -----------------------------------------------------------------------------
    def add(
        self,
        text: str = "hello",
        *,
        chat_type: str = "private",
        user: str = "alice",
        chat_id: int | None = None,
        business_connection_id: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        kind: str | None = None,
    ) -> dict[str, Any]:
        """Queue one update: a private message, a group message, or a business message."""
        with self.lock:
            user_id = 500 + sum(map(ord, user))
            chat: dict[str, Any] = {"id": chat_id if chat_id is not None else user_id, "type": chat_type}
            if chat_type == "private":
                chat.update(first_name=user.title(), username=user)
            else:
                chat["title"] = "Customers group"
            message = {
                "message_id": next(self.message_ids),
                "from": {"id": user_id, "is_bot": False, "first_name": user.title(), "username": user},
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            }
            if entities:
                message["entities"] = entities
            field = kind or "message"
            if business_connection_id:
                message["business_connection_id"] = business_connection_id
                field = kind or "business_message"
            update = {"update_id": next(self.update_ids), field: message}
            self.updates.append(update)
            self.changed.notify_all()
            return update

    def state(self) -> dict[str, Any]:
        return {"sent": self.sent, "pending": len(self.updates)}

    def stop(self) -> None:
        with self.lock:
            self.stopping.set()
            self.changed.notify_all()  # release long polls still waiting
        super().stop()

    # -- serving ---------------------------------------------------------------------------------
    @staticmethod
    def _error(code: int, description: str, **parameters: Any) -> Reply:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return Reply(code, body)

    def handle(self, req: Request) -> Reply:
        parts = req.path.split("/")
        if len(parts) != 3 or not parts[1].startswith("bot"):
            return self._error(404, "Not Found")
        if parts[1][3:] != TOKEN:
            return self._error(401, "Unauthorized")
        method = parts[2]
        args = {**{k: v[0] for k, v in req.query.items()}, **(req.json() if req.body else {})}
        if method == "getMe":
            return Reply(200, {"ok": True, "result": BOT})
        if method == "getUpdates":
            return self._get_updates(args)
        if method == "sendMessage":
            return self._send(args)
        return self._error(404, "Not Found: method not found")

    def _get_updates(self, args: dict[str, Any]) -> Reply:
        with self.lock:
            if self.conflict:
                return self._error(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
            offset = int(args.get("offset", 0) or 0)
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            wait = min(float(args.get("timeout", 0) or 0), self.max_poll)
            deadline = time.monotonic() + wait
            while not self.updates and not self.stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            limit = int(args.get("limit", 100) or 100)
            return Reply(200, {"ok": True, "result": self.updates[:limit]})

    def _send(self, args: dict[str, Any]) -> Reply:
        with self.lock:
            text = str(args.get("text") or "")
            if not text:
                return self._error(400, "Bad Request: message text is empty")
            if len(text) > 4096:
                return self._error(400, "Bad Request: message is too long")
            if str(args.get("chat_id")) == "403":
                return self._error(403, "Forbidden: bot was blocked by the user")
            message_id = next(self.message_ids)
            self.sent.append({**args, "message_id": message_id})
            result = {"message_id": message_id, "from": BOT, "chat": {"id": int(args["chat_id"])},
                      "date": int(time.time()), "text": text}
            if args.get("business_connection_id"):
                result["business_connection_id"] = args["business_connection_id"]
            return Reply(200, {"ok": True, "result": result})


class TelegramHarness(HttpFakeHarness):
    """Contract-suite harness (see tests/fakes/__init__.py)."""

    kind = "telegram"
    ERRORS = {
        "auth": (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, AuthError),
        "transient": (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, TransientError),
        "permanent": (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                      PermanentError),
    }

    def __init__(self, fake: TelegramFake):
        self.fake = fake
        self.secrets = MemorySecrets({"token": TOKEN})

    def connector(self) -> TelegramConnector:
        return TelegramConnector({"api_base": self.fake.url}, self.secrets, page_limit=3, poll_timeout=1,
                                 sleep=lambda s: None)

    def seed(self, n: int) -> list[str]:
        ids = []
        for i in range(n):
            message = self.fake.add(f"question {i + 1}")["message"]
            ids.append(f"{message['chat']['id']}:{message['message_id']}")
        return ids

    def sent(self) -> list[dict[str, Any]]:
        return list(self.fake.sent)



@pytest.fixture
def telegram_fake() -> Iterator[TelegramFake]:
    fake = TelegramFake()
    with fake.running():
        yield fake


@pytest.fixture
def telegram_harness() -> Iterator[TelegramHarness]:
    fake = TelegramFake(max_poll=0.5)
    with fake.running():
        yield TelegramHarness(fake)


if __name__ == "__main__":
    serve_cli(TelegramFake)
