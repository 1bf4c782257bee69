"""Bluesky (AT Protocol): app-password session, mentions/replies/quotes, chat DMs, replies, status posts.

Decisions:
- Session: the app password ("password" secret) is used only when there is no usable refresh
  token. `createSession` is rate limited hard (30 per 5 min, 300 per day), so the access and refresh
  JWTs are written back to the account's secrets ("access_token", "refresh_token") and reused by
  every later connector instance; a poll never logs in. An `ExpiredToken` answer refreshes the
  session (`refreshSession` with the refresh JWT, which rotates it) and retries the call once; only
  when the refresh itself is refused do we log in with the password again, and without a password
  that is an AuthError for the owner.
- Notifications page newest → older. The cursor keeps a watermark: the largest `indexedAt` seen and
  the uris seen at exactly that instant. A fetch walks from the top until it meets something older
  than the watermark (or the end), dedupes by uri, and moves the watermark. The first fetch takes
  only the newest page as history. Only reasons mention, reply and quote become items (kind
  "mention", public). Conversation = the thread root uri (the post itself when it starts a thread,
  as quotes do). The item time is the server's `indexedAt`: `createdAt` is whatever the author's
  client claimed.
- `updateSeen` (so the official app's unread badge agrees) is sent only from `after_stored`, which
  the sync engine calls once the items and the cursor covering them are committed: telling Bluesky
  "seen" for mentions a failed pass then drops would clear the badge for messages nobody has. It is
  best effort, and its answer is an empty 200 body (the lexicon declares no output), which is success.
- DMs: `chat.bsky.convo.getLog` through the PDS with the `atproto-proxy` header; its cursor (a rev)
  is kept as "chat" in our cursor. Conversation = "convo:<id>"; messages we sent from elsewhere come
  back as outbound items. An app password created without DM access gets 400 `InvalidToken` "Bad token
  method": we then skip DMs, and `check()` says so in a note (`NO_DM_ACCESS`, also the account's
  `notice`); replying to a DM raises NoDmAccess.
- Chat trouble never stops mentions and replies. When the chat service is unreachable the PDS answers
  chat calls with 500 `InternalServerError` (the chat service's address cannot be resolved) or 502
  `UpstreamFailure` (chat down); those, and any other failure of the chat part except an AuthError,
  leave the chat cursor where it was (the messages come later) and set `notice`, "direct messages
  unavailable: …", which the engine shows on the account without marking it failed. `check()` puts
  the same words in its notes, so `account add` still succeeds while chat is down.
- Replies: `createRecord` with reply.root = the parent's root when it has one, else the parent;
  reply.parent = the parent's uri and cid (all in the item's meta). Text is limited to 300 graphemes
  for posts and 1000 for chat messages (graphemes, connectors/text_counting.py; both limits are the
  platform's traits, which the composer counts with too) and refused before sending. Bluesky has no
  idempotency key: a lost answer leaves the outbox row "unknown".
- Replies, status posts and DMs carry rich-text facets (bluesky_richtext.py) so links, @mentions and
  #tags are clickable; "facets" is left out when there are none. Each distinct mentioned handle is
  resolved once per message (`com.atproto.identity.resolveHandle`); a lookup that fails (unknown
  handle, server error, rate limit) only drops that mention's facet, logged at info, and the message
  still goes out. An AuthError from the lookup propagates: the send would use the same dead session,
  and retrying it would only spend the scarce createSession budget.
- `RateLimit-*` headers are honoured by the HTTP layer (Reset is epoch seconds).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable

from socialdesk.connectors.base import (
    AccountInfo,
    AccountSecrets,
    AuthError,
    Author,
    ConnectorError,
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
from socialdesk.connectors.bluesky_richtext import build_facets
from socialdesk.connectors.html_text import clean_text
from socialdesk.connectors.http import (
    ErrorRule,
    ErrorTable,
    Http,
    error_detail,
    json_object,
    json_string,
    parse_iso,
    utcnow,
)
from socialdesk.connectors.text_counting import graphemes
from socialdesk.connectors.traits import TextLimit, declare

log = logging.getLogger("socialdesk.connectors.bluesky")

DEFAULT_PDS = "https://bsky.social"
CHAT_PROXY = "did:web:api.bsky.chat#bsky_chat"
POST_LIMIT = 300
CHAT_LIMIT = 1000
ITEM_REASONS = frozenset({"mention", "reply", "quote"})
NO_DM_ACCESS = (
    "This app password has no access to direct messages, so Bluesky DMs will not appear. Create a new "
    "app password with \"Allow access to your direct messages\" ticked and store it for this account."
)
CHAT_DOWN_CODES = frozenset({"InternalServerError", "UpstreamFailure", "UpstreamTimeout", "NotEnoughResources"})
_BEGINNING = datetime(1970, 1, 1, tzinfo=timezone.utc)


class NoDmAccess(PermanentError):
    """The app password was created without direct-message access."""

    def __init__(self, message: str = NO_DM_ACCESS) -> None:
        super().__init__(NO_DM_ACCESS)


class SessionExpired(AuthError):
    """400 `ExpiredToken`: the access JWT ran out; `xrpc` refreshes the session and retries once."""


class ChatUnavailable(TransientError):
    """The PDS could not reach Bluesky's chat service (500/502 on a proxied chat call)."""


def chat_notice(error: ConnectorError) -> str:
    """The account note for chat trouble (one wording for fetch and check)."""
    if isinstance(error, NoDmAccess):
        return NO_DM_ACCESS
    text = str(error)
    return text if isinstance(error, ChatUnavailable) else f"direct messages unavailable: {text}"


BAD_LOGIN = "Bluesky no longer accepts this login. Store the app password again."
_CHAT = "atproto-proxy"  # the header of every chat call: the PDS passes it on to the chat service
_SERVER_ERRORS = tuple(range(500, 600))
_CHAT_DOWN = ("direct messages unavailable: Bluesky's chat service cannot be reached ({0}HTTP {{status}}). "
              "Mentions and replies still arrive; DMs follow when it is back.")
# XRPC errors are {"error": <name>, "message": <words>}. Chat calls answered 5xx by the PDS mean the chat
# service (still a TransientError, retried like any 5xx); the error name is shown only when it is one
# we know, since the body is the server's words. A chat send refused because of the person ("recipient
# has disabled incoming messages", "recipient requires incoming messages to come from someone they
# follow", a block; the official app handles these words) is NotAllowed: one conversation, not the login.
ERRORS = ErrorTable(
    rules=(
        ErrorRule(status=_SERVER_ERRORS, header=_CHAT, where="error", code=tuple(sorted(CHAT_DOWN_CODES)),
                  error=ChatUnavailable, message=_CHAT_DOWN.format("{code}, ")),
        ErrorRule(status=_SERVER_ERRORS, header=_CHAT, error=ChatUnavailable, message=_CHAT_DOWN.format("")),
        ErrorRule(status=(400, 401), where="error", code="ExpiredToken", error=SessionExpired, message=BAD_LOGIN),
        ErrorRule(status=(400, 401), header=_CHAT, where="error", code="InvalidToken", error=NoDmAccess),
        ErrorRule(status=(400, 401), header=_CHAT, where="message", contains="scope", error=NoDmAccess),
        ErrorRule(status=400, header=_CHAT, where="message", contains="recipient", error=NotAllowed,
                  message="Bluesky does not deliver this direct message{suffix}."),
        ErrorRule(status=400, header=_CHAT, where="message", contains="block", error=NotAllowed,
                  message="Bluesky does not deliver this direct message{suffix}."),
        ErrorRule(status=401, error=AuthError, message=BAD_LOGIN),
        ErrorRule(status=400, where="error", code=("InvalidToken", "AuthenticationRequired"), error=AuthError,
                  message=BAD_LOGIN),
        ErrorRule(status=400, error=PermanentError, message="Bluesky rejected the request{suffix}."),
    ),
    detail=("message", "error"),
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _rkey(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


class BlueskyConnector:
    kind = "bluesky"
    capabilities = frozenset({"mention", "dm", "post_status"})

    def __init__(
        self,
        settings: dict,
        secrets: AccountSecrets,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utcnow,
        page_limit: int = 50,
        max_pages: int = 40,
    ):
        self.settings = settings
        self.secrets = secrets
        self.handle = (settings.get("handle") or "").strip().lstrip("@")
        self.http = Http("Bluesky", settings.get("pds") or DEFAULT_PDS, sleep=sleep, now=now, errors=ERRORS)
        self.now = now
        self.page_limit = page_limit
        self.max_pages = max_pages
        self.did: str | None = None
        self.dm_available: bool | None = None  # unknown until the first chat call
        self.notice = ""  # shown on the account by the sync engine (see the module docstring)
        self._unseen: str | None = None  # seenAt to send once the fetched items are stored
        self._members: dict[str, dict[str, dict[str, Any]]] = {}  # convo id -> did -> member
        for name in ("password", "access_token", "refresh_token"):
            self.http.add_secret(secrets.get(name))

    # -- session -------------------------------------------------------------------------------
    def _store_session(self, session: Any) -> None:
        if not isinstance(session, dict) or not session.get("accessJwt") or not session.get("refreshJwt"):
            raise TransientError("Bluesky sent an unexpected answer to the login. Will try again.")
        self.http.add_secret(session["accessJwt"])
        self.http.add_secret(session["refreshJwt"])
        self.secrets.set("access_token", session["accessJwt"])
        self.secrets.set("refresh_token", session["refreshJwt"])
        self.did = session.get("did") or self.did
        self.handle = session.get("handle") or self.handle

    def _login(self) -> None:
        password = self.secrets.get("password")
        if not password or not self.handle:
            raise AuthError("Bluesky needs your handle and an app password: add them to this account again.")
        response = self.http.request(
            "POST",
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": self.handle, "password": password},
            ok_statuses=(400, 401),
        )
        if response.status_code in (400, 401):
            reason = self.http.scrub(error_detail(response))
            raise AuthError(
                f"Bluesky did not accept the handle and app password ({reason or 'refused'}). "
                "Check them, or create a new app password in Bluesky's settings."
            )
        self._store_session(self.http.decode(response))

    def _refresh(self) -> None:
        refresh = self.secrets.get("refresh_token")
        if not refresh:
            self._login()
            return
        self.http.add_secret(refresh)
        response = self.http.request(
            "POST",
            "/xrpc/com.atproto.server.refreshSession",
            headers={"Authorization": f"Bearer {refresh}"},
            ok_statuses=(400, 401),
        )
        if response.status_code in (400, 401):
            # The refresh token expired or was revoked: only the app password can start over.
            self.secrets.delete("access_token")
            self.secrets.delete("refresh_token")
            self._login()
            return
        self._store_session(self.http.decode(response))

    def _access(self) -> str:
        token = self.secrets.get("access_token")
        if not token:
            self._refresh()
            token = self.secrets.get("access_token") or ""
        self.http.add_secret(token)
        return token

    def xrpc(
        self, method: str, nsid: str, *, params: Any = None, body: Any = None, chat: bool = False,
        no_output: bool = False,
    ) -> Any:
        """One XRPC call with the session; ExpiredToken → refresh → retry once (the errors: ERRORS).

        `no_output`: a procedure that answers 200 with an empty body (updateSeen); None is returned."""
        for attempt in (0, 1):
            headers = {"Authorization": f"Bearer {self._access()}"}
            if chat:
                headers[_CHAT] = CHAT_PROXY
            try:
                response = self.http.request(method, f"/xrpc/{nsid}", params=params, json=body, headers=headers)
            except SessionExpired:
                if attempt:
                    raise
                self.secrets.delete("access_token")
                self._refresh()
                continue
            except NoDmAccess:
                self.dm_available = False
                raise
            if no_output and not response.content.strip():
                return None
            return self.http.decode(response)
        raise AuthError(BAD_LOGIN)

    def _my_did(self) -> str:
        if self.did is None:
            session = self.xrpc("GET", "com.atproto.server.getSession")
            if not isinstance(session, dict) or not session.get("did"):
                raise TransientError("Bluesky sent an unexpected answer about this account.")
            self.did = session["did"]
            self.handle = session.get("handle") or self.handle
        return self.did

    # -- inbound -------------------------------------------------------------------------------
    def fetch(self, cursor: dict | None) -> tuple[list[InboundItem], dict]:
        cursor = dict(cursor or {})
        me = self._my_did()
        items, cursor = self._fetch_notifications(cursor, me)
        if self.dm_available is not False:
            try:
                dms, cursor = self._fetch_chat(cursor, me)
                items.extend(dms)
                self.notice = ""
            except NoDmAccess as exc:
                log.info("Bluesky app password has no DM access; skipping DMs")
                self.notice = chat_notice(exc)
            except AuthError:
                raise
            except ConnectorError as exc:  # the chat cursor stays put: those DMs come on a later pass
                log.info("Bluesky chat unavailable (%s); mentions and replies still delivered", type(exc).__name__)
                self.notice = chat_notice(exc)
        return items, cursor

    def after_stored(self, cursor: dict) -> None:
        """The items of the last fetch are stored: now tell Bluesky they were seen (badge, best effort)."""
        pending, self._unseen = self._unseen, None
        if pending is None or (cursor or {}).get("seen") != pending:
            return  # nothing new, or the stored cursor is not the one that fetch produced
        try:
            self.xrpc("POST", "app.bsky.notification.updateSeen", body={"seenAt": pending}, no_output=True)
        except ConnectorError as exc:  # only the official app's badge depends on it
            log.info("Bluesky updateSeen failed: %s", type(exc).__name__)

    def _fetch_notifications(self, cursor: dict, me: str) -> tuple[list[InboundItem], dict]:
        watermark = parse_iso(cursor.get("seen"))
        seen_uris = set(cursor.get("seen_uris") or [])
        found: dict[str, tuple[datetime, dict[str, Any]]] = {}
        api_cursor: str | None = None
        for _ in range(self.max_pages if watermark else 1):
            params: dict[str, Any] = {"limit": self.page_limit}
            if api_cursor:
                params["cursor"] = api_cursor
            page = self.xrpc("GET", "app.bsky.notification.listNotifications", params=params)
            notes = page.get("notifications") if isinstance(page, dict) else None
            if not isinstance(notes, list):
                raise TransientError("Bluesky sent an unexpected notifications list. Will try again.")
            reached = False
            for note in notes:
                at = parse_iso(note.get("indexedAt")) if isinstance(note, dict) else None
                if at is None or not isinstance(note.get("uri"), str):
                    continue  # malformed entry: nothing we could show or answer
                if watermark is not None and (at < watermark or (at == watermark and note["uri"] in seen_uris)):
                    reached = reached or at < watermark
                    continue
                found.setdefault(note["uri"], (at, note))
            api_cursor = page.get("cursor")
            if reached or not api_cursor or not notes:
                break
        newest = max([watermark, *(at for at, _ in found.values())], key=lambda t: t or _BEGINNING)
        if newest != watermark:
            seen_uris = set()
        seen_uris |= {uri for uri, (at, _) in found.items() if at == newest}
        ordered = [note for _, note in sorted(found.values(), key=lambda pair: (pair[0], pair[1]["uri"]))]
        items = convert_items(
            ordered,
            lambda note: self._post_item(note)
            if note.get("reason") in ITEM_REASONS and (note.get("author") or {}).get("did") != me else None,
            what="Bluesky notification", ident=lambda note: note["uri"],
        )
        # Marked seen on Bluesky only after the engine stored them (after_stored).
        self._unseen = _iso(newest) if items and newest is not None else None
        # An account with no notifications yet starts from the beginning of time next fetch.
        cursor["seen"] = _iso(newest or _BEGINNING)
        cursor["seen_uris"] = sorted(seen_uris)
        return items, cursor

    def _post_item(self, note: dict[str, Any]) -> InboundItem:
        record = json_object(note.get("record"))
        reply = json_object(record.get("reply"))
        root = json_object(reply.get("root"))
        parent = json_object(reply.get("parent"))
        author = json_object(note.get("author"))
        handle = author.get("handle") or author.get("did") or ""
        root_uri = root.get("uri") or note["uri"]
        return InboundItem(
            external_id=note["uri"],
            conversation_external_id=root_uri,
            kind="mention",
            public=True,
            author=Author(
                external_id=author.get("did") or "",
                handle="@" + handle,
                display_name=author.get("displayName") or handle,
                profile_url=f"https://bsky.app/profile/{handle}",
            ),
            text=clean_text(json_string(record.get("text"))),
            created_at=parse_iso(note["indexedAt"]) or self.now(),
            permalink=f"https://bsky.app/profile/{handle}/post/{_rkey(note['uri'])}",
            in_reply_to=parent.get("uri") or "",
            meta={
                "uri": note["uri"],
                "cid": note.get("cid") or "",
                "root_uri": root_uri,
                "root_cid": root.get("cid") or note.get("cid") or "",
                "reason": note.get("reason") or "",
            },
        )

    def _fetch_chat(self, cursor: dict, me: str) -> tuple[list[InboundItem], dict]:
        items: list[InboundItem] = []
        chat_cursor = cursor.get("chat")
        for _ in range(self.max_pages):
            params = {"cursor": chat_cursor} if chat_cursor else {}
            page = self.xrpc("GET", "chat.bsky.convo.getLog", params=params, chat=True)
            logs = page.get("logs") if isinstance(page, dict) else None
            if not isinstance(logs, list):
                raise TransientError("Bluesky sent an unexpected chat log. Will try again.")
            self.dm_available = True
            items += convert_items(
                [entry for entry in logs if isinstance(entry, dict)], lambda entry: self._dm_item(entry, me),
                what="Bluesky chat message", ident=lambda entry: entry["message"]["id"],
            )
            next_cursor = page.get("cursor")
            if not logs or not next_cursor or next_cursor == chat_cursor:
                break
            chat_cursor = next_cursor
        if chat_cursor:
            cursor["chat"] = chat_cursor
        return items, cursor

    def _dm_item(self, entry: dict[str, Any], me: str) -> InboundItem | None:
        message = entry.get("message")
        if not entry.get("$type", "").endswith("#logCreateMessage") or not isinstance(message, dict):
            return None
        convo_id = str(entry.get("convoId") or "")
        sender = str((message.get("sender") or {}).get("did") or "")
        member = self._member(convo_id, sender)
        handle = member.get("handle") or sender
        return InboundItem(
            external_id=str(message.get("id")),
            conversation_external_id=f"convo:{convo_id}",
            kind="dm",
            public=False,
            author=Author(
                external_id=sender,
                handle="@" + handle,
                display_name=member.get("displayName") or handle,
                profile_url=f"https://bsky.app/profile/{handle}",
            ),
            text=clean_text(json_string(message.get("text"))),
            created_at=parse_iso(message.get("sentAt")) or self.now(),
            outbound=sender == me,
            meta={"convo_id": convo_id, "message_id": str(message.get("id"))},
        )

    def _member(self, convo_id: str, did: str) -> dict[str, Any]:
        if convo_id not in self._members:
            try:
                convo = self.xrpc("GET", "chat.bsky.convo.getConvo", params={"convoId": convo_id}, chat=True)
                members = (convo.get("convo") or {}).get("members") or []
            except PermanentError:
                members = []
            # Keyed by DID; a member without one could never be looked up, so it is left out.
            self._members[convo_id] = {
                m["did"]: m for m in members if isinstance(m, dict) and isinstance(m.get("did"), str)
            }
        return self._members[convo_id].get(did, {})

    # -- outbound ------------------------------------------------------------------------------
    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult:
        meta = target.parent_meta or {}
        if target.kind == "dm":
            return self._send_dm(meta.get("convo_id") or target.conversation_external_id.removeprefix("convo:"), text)
        parent_uri = meta.get("uri") or target.parent_external_id
        if not parent_uri or not meta.get("cid"):
            raise PermanentError("This Bluesky post cannot be answered: its reference is missing.")
        parent = {"uri": parent_uri, "cid": meta["cid"]}
        root = {"uri": meta["root_uri"], "cid": meta["root_cid"]} if meta.get("root_uri") and meta.get("root_cid") else parent
        return self._create_post(text, {"root": root, "parent": parent})

    def post_status(self, text: str, *, idempotency_key: str) -> OutboundResult:
        return self._create_post(text, None)

    def _create_post(self, text: str, reply: dict[str, Any] | None) -> OutboundResult:
        if graphemes(text) > POST_LIMIT:
            raise PermanentError(f"Bluesky posts may have at most {POST_LIMIT} characters; this has {graphemes(text)}.")
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": _iso(self.now())}
        facets = build_facets(text, self._resolve_handle)
        if facets:
            record["facets"] = facets
        if reply:
            record["reply"] = reply
        result = self.xrpc(
            "POST",
            "com.atproto.repo.createRecord",
            body={"repo": self._my_did(), "collection": "app.bsky.feed.post", "record": record},
        )
        if not isinstance(result, dict) or not result.get("uri"):
            raise TransientError("Bluesky sent an unexpected answer to our post.")
        return OutboundResult(
            external_id=result["uri"],
            permalink=f"https://bsky.app/profile/{self.handle or self._my_did()}/post/{_rkey(result['uri'])}",
            meta={"uri": result["uri"], "cid": result.get("cid") or ""},
        )

    def _resolve_handle(self, handle: str) -> str | None:
        """The DID behind a mentioned handle, or None when it cannot be looked up now (no mention facet)."""
        try:
            answer = self.xrpc("GET", "com.atproto.identity.resolveHandle", params={"handle": handle})
        except (PermanentError, TransientError, RateLimited) as error:
            log.info("Bluesky handle @%s could not be resolved; sending without its mention link: %s", handle, error)
            return None
        did = answer.get("did") if isinstance(answer, dict) else None
        if not isinstance(did, str) or not did.startswith("did:"):
            log.info("Bluesky gave no DID for handle @%s; sending without its mention link.", handle)
            return None
        return did

    def _send_dm(self, convo_id: str, text: str) -> OutboundResult:
        if graphemes(text) > CHAT_LIMIT:
            raise PermanentError(f"Bluesky messages may have at most {CHAT_LIMIT} characters; this has {graphemes(text)}.")
        message: dict[str, Any] = {"text": text}
        facets = build_facets(text, self._resolve_handle)
        if facets:
            message["facets"] = facets
        result = self.xrpc("POST", "chat.bsky.convo.sendMessage", body={"convoId": convo_id, "message": message}, chat=True)
        if not isinstance(result, dict) or not result.get("id"):
            raise TransientError("Bluesky sent an unexpected answer to our message.")
        return OutboundResult(external_id=str(result["id"]), meta={"convo_id": convo_id})

    def check(self) -> AccountInfo:
        self.did = None
        self._my_did()
        notes: tuple[str, ...] = ()
        try:
            self.xrpc("GET", "chat.bsky.convo.listConvos", params={"limit": 1}, chat=True)
            self.dm_available = True
        except AuthError:
            raise
        except ConnectorError as exc:  # no DM access, or chat down: the account still works
            notes = (chat_notice(exc),)
        return AccountInfo(display_name=self.handle, handle="@" + self.handle, notes=notes)

    def stream(self, cursor: dict | None, on_items: Callable[[list[InboundItem], dict], None], stop_event: Any) -> None:
        raise PermanentError("Bluesky has no live connection for notifications here; it is polled.")

    def close(self) -> None:
        self.http.close()


# A post (a reply to a mention or comment) has 300 graphemes, a chat message 1,000.
TRAITS = declare(
    "bluesky",
    address_style="@handle",
    limits=(
        ("*", TextLimit(POST_LIMIT, "graphemes", graphemes)),
        ("dm", TextLimit(CHAT_LIMIT, "graphemes", graphemes)),
    ),
)

SPEC = ConnectorSpec(
    kind="bluesky",
    title="Bluesky",
    capabilities=BlueskyConnector.capabilities,
    settings=(("handle", "Handle (e.g. shop.bsky.social)", ""), ("pds", "Server (PDS) address", DEFAULT_PDS)),
    secret_label="App password",
    needs="A Bluesky app password (Settings → Privacy and security → App passwords); tick DM access to get DMs.",
    traits=TRAITS,
    factory=lambda settings, secrets: BlueskyConnector(settings, secrets),
    secret_name="password",  # the app password; the session tokens are stored next to it
    secret_names=("password", "access_token", "refresh_token"),
)
