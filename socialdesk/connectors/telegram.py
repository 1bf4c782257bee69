"""Telegram bot: getUpdates long polling, private/business chats as DMs, group mentions, replies.

Decisions:
- The bot token ("token" secret, from @BotFather) is part of every URL (`/bot<token>/method`); the HTTP
  layer hides that segment in logs and errors, and the token is registered for scrubbing.
- The cursor is `{"offset": last update_id + 1}`. Calling getUpdates with an offset *confirms* (deletes
  on Telegram's side) every update below it, so each `fetch` makes exactly one getUpdates call with
  the committed offset: a fetch never confirms anything it has not handed over and the caller has not
  stored. More than one page is simply more fetches (the engine calls again; `stream` loops).
- `stream` is the long poll (`timeout=poll_timeout`), run through `call_interruptible` so setting the
  stop event returns within ~0.1 s; an abandoned poll carries only the committed offset, so it
  cannot confirm anything unstored. Each batch goes to `on_items` with the cursor after it.
- Items: private chats and business messages (a Telegram Business account connected to the bot)
  are DMs ("chat:<id>" / "business:<connection>:<chat id>"); in groups only messages that mention
  the bot (@username, a text mention, or a reply to the bot) become public "mention" items of the
  group's conversation. In a business chat the chat id is the customer's, so a message whose sender
  is someone else is the business writing from its phone: `outbound=True`. Media without text
  becomes a short note ("(sent a photo)"). Entity offsets are UTF-16 code units, as Telegram counts.
- External ids are "<chat id>:<message id>" (message ids are per chat), prefixed "b:<connection>:"
  for business chats. `meta` has chat_id, message_id, chat_type and business_connection_id: what
  `reply` needs. Replies use `reply_parameters` (with allow_sending_without_reply, so a deleted
  parent does not lose the answer) and the business connection when there is one.
- Errors (the table ERRORS; Telegram answers `{"ok": false, "error_code", "description",
  "parameters"}`, the same shape also when the HTTP status is 200): `parameters.retry_after` of a 429
  becomes RateLimited; 409 is explained ("another program is reading this bot's updates", a webhook
  or a second copy); 401/404 mean the token is wrong (AuthError); 403 concerns one chat, never the
  token ("bot was blocked by the user", "bot can't initiate conversation with a user", "user is
  deactivated", "bot was kicked"): NotAllowed, the account stays fine; 400 is PermanentError.
  Telegram has no idempotency key, so a send whose answer was lost is left "unknown" by the outbox.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable

from socialdesk.connectors.base import (
    AccountInfo,
    AccountSecrets,
    AuthError,
    Author,
    ConnectorSpec,
    InboundItem,
    NotAllowed,
    OutboundResult,
    PermanentError,
    RateLimited,
    ReplyTarget,
    TransientError,
    convert_items,
)
from socialdesk.connectors.html_text import clean_text
from socialdesk.connectors.http import (
    BodyFailure,
    ErrorRule,
    ErrorTable,
    Http,
    call_interruptible,
    json_object,
    utcnow,
)
from socialdesk.connectors.text_counting import utf16_units
from socialdesk.connectors.traits import TextLimit, declare

log = logging.getLogger("socialdesk.connectors.telegram")

DEFAULT_API = "https://api.telegram.org"
TEXT_LIMIT = 4096
ALLOWED_UPDATES = ["message", "business_message"]
CONFLICT = (
    "Telegram says another program is reading this bot's updates (a webhook is set, or the bot runs "
    "somewhere else too). Stop the other program or delete the webhook; socialdesk will retry."
)
BAD_TOKEN = (
    "Telegram does not accept this bot token. Copy it again from @BotFather and store it for this account."
)
ERRORS = ErrorTable(
    rules=(
        ErrorRule(status=429, error=RateLimited, retry_after="parameters.retry_after",
                  message="Telegram asked us to wait {wait_s} s before trying again."),
        ErrorRule(status=409, error=TransientError, message=CONFLICT),
        ErrorRule(status=(401, 404), error=AuthError, message=BAD_TOKEN),
        ErrorRule(status=403, error=NotAllowed, message="Telegram does not let the bot write to this chat{suffix}."),
        ErrorRule(status=400, error=PermanentError, message="Telegram refused the request{suffix}."),
    ),
    failures=(BodyFailure("ok", False),),
    status_at="error_code",
    detail=("description",),
)
MEDIA = {
    "photo": "a photo", "video": "a video", "voice": "a voice message", "audio": "an audio file",
    "document": "a file", "sticker": "a sticker", "animation": "a GIF", "video_note": "a video message",
    "location": "a location", "contact": "a contact", "poll": "a poll",
}


def _utf16_slice(text: str, offset: int, length: int) -> str:
    units = text.encode("utf-16-le")
    return units[2 * offset: 2 * (offset + length)].decode("utf-16-le", "replace")


class TelegramConnector:
    kind = "telegram"
    capabilities = frozenset({"dm", "mention", "stream"})

    def __init__(
        self,
        settings: dict,
        secrets: AccountSecrets,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utcnow,
        poll_timeout: int = 25,
        page_limit: int = 100,
    ):
        self.secrets = secrets
        self.now = now
        self.poll_timeout = poll_timeout
        self.page_limit = page_limit
        self.http = Http("Telegram", settings.get("api_base") or DEFAULT_API, sleep=sleep, now=now, errors=ERRORS)
        self._bot: dict[str, Any] | None = None

    # -- HTTP ----------------------------------------------------------------------------------
    def _call(self, method: str, body: dict[str, Any] | None = None, *, timeout: float | None = None,
              retry: bool = False) -> Any:
        token = self.secrets.get("token")
        if not token:
            raise AuthError("This Telegram account has no bot token yet: store the token from @BotFather.")
        self.http.add_secret(token)
        answer = self.http.post_json(
            f"/bot{token}/{method}",
            json=body or {},
            timeout=(10.0, timeout + 15.0) if timeout else None,
            retry=retry,
        )
        if not isinstance(answer, dict) or answer.get("ok") is not True or "result" not in answer:
            description = self.http.scrub(str((answer or {}).get("description") or "")) if isinstance(answer, dict) else ""
            raise TransientError(f"Telegram sent an unexpected answer{': ' + description if description else ''}.")
        return answer["result"]

    def bot(self) -> dict[str, Any]:
        if self._bot is None:
            bot = self._call("getMe", retry=True)
            if not isinstance(bot, dict) or "id" not in bot:
                raise TransientError("Telegram sent an unexpected answer about the bot.")
            self._bot = bot
        return self._bot

    # -- inbound -------------------------------------------------------------------------------
    def fetch(self, cursor: dict | None) -> tuple[list[InboundItem], dict]:
        return self._updates(dict(cursor or {}), 0)

    def _updates(self, cursor: dict, timeout: int) -> tuple[list[InboundItem], dict]:
        bot = self.bot()
        body: dict[str, Any] = {"limit": self.page_limit, "timeout": timeout, "allowed_updates": ALLOWED_UPDATES}
        if cursor.get("offset"):
            body["offset"] = int(cursor["offset"])
        # Repeating getUpdates with the same offset returns the same updates: safe to retry.
        updates = self._call("getUpdates", body, timeout=timeout or None, retry=True)
        if not isinstance(updates, list):
            raise TransientError("Telegram sent an unexpected list of updates. Will try again.")
        valid = [u for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
        for update in valid:  # the offset moves past every update, also one that cannot be read
            cursor["offset"] = max(int(cursor.get("offset") or 0), update["update_id"] + 1)
        items = convert_items(valid, lambda update: self._item(update, bot), what="Telegram update",
                              ident=lambda update: update["update_id"])
        return items, cursor

    def _item(self, update: dict[str, Any], bot: dict[str, Any]) -> InboundItem | None:
        message = update.get("message") or update.get("business_message")
        if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
            return None
        chat = message["chat"]
        sender = json_object(message.get("from"))
        connection = message.get("business_connection_id") if "business_message" in update else None
        chat_id, message_id = chat.get("id"), message.get("message_id")
        private = chat.get("type") == "private"
        if not private and not self._mentions_bot(message, bot):
            return None
        if sender.get("id") == bot.get("id"):
            return None
        prefix = f"b:{connection}:" if connection else ""
        text = message.get("text") if isinstance(message.get("text"), str) else message.get("caption")
        if not isinstance(text, str):
            media = next((label for key, label in MEDIA.items() if key in message), "a message without text")
            text = f"(sent {media})"
        name = " ".join(p for p in (sender.get("first_name"), sender.get("last_name")) if p)
        username = sender.get("username") or ""
        reply_to = json_object(message.get("reply_to_message"))
        meta: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "chat_type": chat.get("type"),
                                "update_id": update["update_id"]}
        if connection:
            meta["business_connection_id"] = connection
        permalink = ""
        if chat.get("username") and not private:
            permalink = f"https://t.me/{chat['username']}/{message_id}"
        return InboundItem(
            external_id=f"{prefix}{chat_id}:{message_id}",
            conversation_external_id=f"business:{connection}:{chat_id}" if connection else f"chat:{chat_id}",
            kind="dm" if private else "mention",
            public=not private,
            author=Author(
                external_id=str(sender.get("id", "")),
                handle=f"@{username}" if username else "",
                display_name=name or username or str(sender.get("id", "")),
                profile_url=f"https://t.me/{username}" if username else "",
            ),
            text=clean_text(text),
            created_at=(datetime.fromtimestamp(message["date"], timezone.utc)
                        if isinstance(message.get("date"), int) else self.now()),
            permalink=permalink,
            in_reply_to=f"{prefix}{chat_id}:{reply_to['message_id']}" if reply_to.get("message_id") else "",
            # In a business chat the chat id is the customer: anyone else writing is the business.
            outbound=bool(connection) and sender.get("id") != chat_id,
            meta=meta,
        )

    @staticmethod
    def _mentions_bot(message: dict[str, Any], bot: dict[str, Any]) -> bool:
        reply_to = message.get("reply_to_message")
        if isinstance(reply_to, dict) and (reply_to.get("from") or {}).get("id") == bot.get("id"):
            return True
        text = message.get("text") or message.get("caption") or ""
        entities = message.get("entities") or message.get("caption_entities") or []
        wanted = "@" + str(bot.get("username") or "").lower()
        for entity in entities if isinstance(entities, list) else []:
            if not isinstance(entity, dict):
                continue
            if entity.get("type") == "text_mention" and (entity.get("user") or {}).get("id") == bot.get("id"):
                return True
            if entity.get("type") == "mention":
                mention = _utf16_slice(text, int(entity.get("offset", 0)), int(entity.get("length", 0)))
                if mention.lower() == wanted:
                    return True
        return False

    def stream(
        self,
        cursor: dict | None,
        on_items: Callable[[list[InboundItem], dict], None],
        stop_event: threading.Event,
    ) -> None:
        cursor = dict(cursor or {})
        while not stop_event.is_set():
            poll = functools.partial(self._updates, dict(cursor), self.poll_timeout)
            result = call_interruptible(poll, stop_event)
            if result is None:
                return
            items, new_cursor = result
            if items or new_cursor != cursor:
                on_items(items, new_cursor)
                cursor = new_cursor

    # -- outbound ------------------------------------------------------------------------------
    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult:
        if utf16_units(text) > TEXT_LIMIT:
            raise PermanentError(f"Telegram messages may have at most {TEXT_LIMIT} characters.")
        meta = target.parent_meta or {}
        chat_id = meta.get("chat_id")
        if chat_id is None:
            raise PermanentError("This Telegram chat cannot be answered: its chat id is missing.")
        body: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if meta.get("message_id"):
            body["reply_parameters"] = {"message_id": meta["message_id"], "allow_sending_without_reply": True}
        connection = meta.get("business_connection_id")
        if connection:
            body["business_connection_id"] = connection
        sent = self._call("sendMessage", body)
        if not isinstance(sent, dict) or "message_id" not in sent:
            raise TransientError("Telegram sent an unexpected answer to our message.")
        prefix = f"b:{connection}:" if connection else ""
        return OutboundResult(
            external_id=f"{prefix}{chat_id}:{sent['message_id']}",
            meta={"chat_id": chat_id, "message_id": sent["message_id"]},
        )

    def post_status(self, text: str, *, idempotency_key: str) -> OutboundResult:
        raise PermanentError("A Telegram bot has no public status to post to.")

    def check(self) -> AccountInfo:
        self._bot = None
        bot = self.bot()
        return AccountInfo(display_name=bot.get("first_name") or "", handle=f"@{bot.get('username', '')}")

    def close(self) -> None:
        self.http.close()


# Telegram's 4096 is in UTF-16 code units after entity parsing; we send plain text.
TRAITS = declare(
    "telegram",
    address_style="@handle",
    limits=(("*", TextLimit(TEXT_LIMIT, "characters", utf16_units)),),
)

SPEC = ConnectorSpec(
    kind="telegram",
    title="Telegram",
    capabilities=TelegramConnector.capabilities,
    settings=(("api_base", "Bot API address", DEFAULT_API),),
    secret_label="Bot token",
    needs="A bot token from @BotFather; connect the bot in Telegram Business settings to answer your own chats.",
    traits=TRAITS,
    factory=lambda settings, secrets: TelegramConnector(settings, secrets),
    secret_name="token",
    secret_names=("token",),
)
