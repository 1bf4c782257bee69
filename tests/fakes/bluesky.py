"""A fake Bluesky PDS: sessions (create/refresh/get), notifications, posts, and the chat proxy.

Wire facts followed (see shared/CONNECTORS.md): XRPC under `/xrpc/<nsid>`; errors are
`{"error": "...", "message": "..."}`; an expired access token answers 400 `ExpiredToken`; refresh
uses the refresh JWT as bearer and rotates it (the old one stops working); listNotifications pages
newest → older with an opaque `cursor`; chat calls need `atproto-proxy: did:web:api.bsky.chat#bsky_chat`
and an app password with DM access (otherwise 400 `InvalidToken` "Bad token method", checked before the
proxy target is resolved, as the reference PDS does); `RateLimit-Limit/-Remaining/-Reset (epoch)/-Policy`
headers on every answer. `chat_down` makes chat calls fail the way the reference PDS (@atproto/pds
pipethrough + @atproto/xrpc-server errors) answers them: "unresolvable" = the chat service's DID
cannot be resolved, 500 `{"error": "InternalServerError", "message": "Internal Server Error"}` (500s
carry no detail); "down" = the chat service does not answer, 502 `{"error": "UpstreamFailure",
"message": "Upstream service unreachable"}`. `updateSeen` answers 200 with an empty body (the lexicon
declares no output schema, and the AppView sends none); `seen_calls` records every seenAt received. `resolveHandle` answers
known handles (the `handles` dict, case-insensitive like the real one) and unknown ones with 400
`InvalidRequest` "Unable to resolve handle"; created post records and sent DMs keep their `facets`.
"""

from __future__ import annotations

import itertools
import secrets
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest

from socialdesk.connectors.base import (
    AuthError,
    MemorySecrets,
    PermanentError,
    TransientError,
)
from socialdesk.connectors.bluesky import BlueskyConnector
from tests.fakes import FakeServer, HttpFakeHarness, Reply, Request, serve_cli

DID = "did:plc:shop"
HANDLE = "shop.bsky.social"
PASSWORD = "abcd-efgh-ijkl-mnop"
CHAT_PROXY = "did:web:api.bsky.chat#bsky_chat"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BlueskyFake(FakeServer):
    def __init__(self, lifetime: float = 300.0):
        super().__init__(lifetime)
        self.counter = itertools.count(1)
        # Fake clock: one second per event, starting an hour ago, so seeded items look recent.
        self.epoch = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
        self.dm_access = True
        self.access: set[str] = set()
        self.expired: set[str] = set()
        self.refresh: set[str] = set()
        self.create_session_calls = 0
        self.refresh_calls = 0
        self.notifications: list[dict[str, Any]] = []  # oldest first
        self.posts: dict[str, dict[str, Any]] = {}  # uri -> record
        self.created: list[dict[str, Any]] = []
        self.convos: dict[str, list[dict[str, Any]]] = {}  # convo id -> members
        self.logs: list[dict[str, Any]] = []  # chat log, oldest first
        self.sent: list[dict[str, Any]] = []
        self.handles: dict[str, str] = {  # handle -> DID, for resolveHandle
            HANDLE: DID,
            "alice.bsky.social": "did:plc:alice",
            "bob.bsky.social": "did:plc:bob",
            "carol.bsky.social": "did:plc:carol",
        }
        self.seen_at: str | None = None
        self.seen_calls: list[str] = []
        self.chat_down: str | None = None  # None | "unresolvable" | "down"
        self.remaining = 3000

    # -- programming -----------------------------------------------------------------------------
    def _tick(self) -> datetime:
        return self.epoch + timedelta(seconds=next(self.counter))

    def add(
        self,
        text: str = "hello",
        *,
        reason: str = "mention",
        handle: str = "alice.bsky.social",
        reply_to: str | None = None,
        same_time_as_last: bool = False,
    ) -> dict[str, Any]:
        """A post by `handle` that notifies us (mention, reply to `reply_to` uri, quote, like...)."""
        with self.lock:
            moment = self._tick()
            if same_time_as_last and self.notifications:
                indexed = self.notifications[-1]["indexedAt"]
            else:
                indexed = _iso(moment)
            did = f"did:plc:{handle.split('.')[0]}"
            rkey = f"3k{next(self.counter):08d}"
            uri = f"at://{did}/app.bsky.feed.post/{rkey}"
            record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": _iso(moment)}
            if reply_to:
                parent = self.posts[reply_to]
                root = (parent["record"].get("reply") or {}).get("root") or {"uri": reply_to, "cid": parent["cid"]}
                record["reply"] = {"root": root, "parent": {"uri": reply_to, "cid": parent["cid"]}}
            post = {"uri": uri, "cid": "bafy" + rkey, "record": record}
            self.posts[uri] = post
            notification = {
                "uri": uri,
                "cid": post["cid"],
                "author": {"did": did, "handle": handle, "displayName": handle.split(".")[0].title()},
                "reason": reason,
                "record": record,
                "isRead": False,
                "indexedAt": indexed,
                "labels": [],
            }
            self.notifications.append(notification)
            return notification

    def add_dm(self, text: str = "hi", *, handle: str = "carol.bsky.social", from_us: bool = False) -> dict[str, Any]:
        with self.lock:
            did = f"did:plc:{handle.split('.')[0]}"
            convo_id = f"convo-{handle.split('.')[0]}"
            self.convos.setdefault(convo_id, [
                {"did": DID, "handle": HANDLE, "displayName": "The Shop"},
                {"did": did, "handle": handle, "displayName": handle.split(".")[0].title()},
            ])
            rev = f"{next(self.counter):012d}"
            message = {"$type": "chat.bsky.convo.defs#messageView", "id": f"msg{rev}", "rev": rev,
                       "text": text, "sender": {"did": DID if from_us else did}, "sentAt": _iso(self._tick())}
            entry = {"$type": "chat.bsky.convo.defs#logCreateMessage", "rev": rev, "convoId": convo_id,
                     "message": message}
            self.logs.append(entry)
            return entry

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.expired |= self.access
            self.access.clear()

    def state(self) -> dict[str, Any]:
        return {"created": self.created, "sent": self.sent, "create_session_calls": self.create_session_calls}

    # -- serving ---------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        self.remaining = max(0, self.remaining - 1)
        return {"RateLimit-Limit": "3000", "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(int(time.time()) + 300), "RateLimit-Policy": "3000;w=300"}

    def _session(self) -> dict[str, Any]:
        access, refresh = "acc-" + secrets.token_hex(8), "ref-" + secrets.token_hex(8)
        self.access.add(access)
        self.refresh.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "did": DID, "handle": HANDLE, "active": True}

    def handle(self, req: Request) -> Reply:
        nsid = req.path.removeprefix("/xrpc/")
        with self.lock:
            headers = self._headers()
            if nsid == "com.atproto.server.createSession":
                self.create_session_calls += 1
                body = req.json()
                if body.get("identifier") not in (HANDLE, DID) or body.get("password") != PASSWORD:
                    return Reply(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, headers)
                return Reply(200, self._session(), headers)
            if nsid == "com.atproto.server.refreshSession":
                self.refresh_calls += 1
                token = req.bearer()
                if token not in self.refresh:
                    return Reply(400, {"error": "ExpiredToken", "message": "Token has been revoked"}, headers)
                self.refresh.discard(token)
                return Reply(200, self._session(), headers)
            token = req.bearer()
            if token in self.expired:
                return Reply(400, {"error": "ExpiredToken", "message": "Token has expired"}, headers)
            if token not in self.access:
                return Reply(401, {"error": "AuthenticationRequired", "message": "Authentication Required"}, headers)
            if nsid.startswith("chat.bsky."):
                if req.headers.get("atproto-proxy") != CHAT_PROXY:
                    return Reply(501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"}, headers)
                if not self.dm_access:
                    return Reply(400, {"error": "InvalidToken", "message": "Bad token method"}, headers)
                if self.chat_down == "unresolvable":
                    return Reply(500, {"error": "InternalServerError", "message": "Internal Server Error"}, headers)
                if self.chat_down == "down":
                    return Reply(502, {"error": "UpstreamFailure", "message": "Upstream service unreachable"}, headers)
            route = {
                "com.atproto.server.getSession": lambda: {"did": DID, "handle": HANDLE, "active": True},
                "app.bsky.notification.listNotifications": lambda: self._list(req),
                "app.bsky.notification.updateSeen": lambda: self._seen(req),
                "com.atproto.repo.createRecord": lambda: self._create(req),
                "com.atproto.identity.resolveHandle": lambda: self._resolve(req),
                "chat.bsky.convo.getLog": lambda: self._log(req),
                "chat.bsky.convo.getConvo": lambda: self._convo(req),
                "chat.bsky.convo.listConvos": lambda: {"convos": [{"id": c, "members": m} for c, m in self.convos.items()][:1]},
                "chat.bsky.convo.sendMessage": lambda: self._send(req),
            }.get(nsid)
            if route is None:
                return Reply(501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"}, headers)
            result = route()
            if isinstance(result, Reply):
                result.headers.update(headers)
                return result
            return Reply(200, result, headers)

    def _list(self, req: Request) -> dict[str, Any]:
        limit = min(int(req.arg("limit", "50") or 50), 100)
        newest_first = list(reversed(self.notifications))
        start = int(req.arg("cursor", "0") or 0)
        page = newest_first[start:start + limit]
        body: dict[str, Any] = {"notifications": page, "seenAt": self.seen_at}
        if start + limit < len(newest_first):
            body["cursor"] = str(start + limit)
        return body

    def _seen(self, req: Request) -> Reply:
        self.seen_at = req.json().get("seenAt")
        self.seen_calls.append(self.seen_at or "")
        return Reply(200, b"")  # no body at all, as the reference AppView answers

    def _create(self, req: Request) -> Reply | dict[str, Any]:
        body = req.json()
        record = body.get("record") or {}
        if body.get("repo") not in (DID, HANDLE) or body.get("collection") != "app.bsky.feed.post":
            return Reply(400, {"error": "InvalidRequest", "message": "Invalid repo or collection"})
        if not isinstance(record.get("text"), str) or not record.get("createdAt"):
            return Reply(400, {"error": "InvalidRequest", "message": "Record/text must be a string"})
        rkey = f"3s{next(self.counter):08d}"
        uri = f"at://{DID}/app.bsky.feed.post/{rkey}"
        self.posts[uri] = {"uri": uri, "cid": "bafy" + rkey, "record": record}
        self.created.append({"uri": uri, **record})
        return {"uri": uri, "cid": "bafy" + rkey, "validationStatus": "valid"}

    def _resolve(self, req: Request) -> Reply | dict[str, Any]:
        handle = req.arg("handle")
        if not handle:
            return Reply(400, {"error": "InvalidRequest", "message": 'Error: Params must have the property "handle"'})
        did = self.handles.get(handle.lower())
        if did is None:
            return Reply(400, {"error": "InvalidRequest", "message": "Unable to resolve handle"})
        return {"did": did}

    def _log(self, req: Request) -> dict[str, Any]:
        cursor = req.arg("cursor")
        logs = [entry for entry in self.logs if cursor is None or entry["rev"] > cursor][:50]
        return {"logs": logs, "cursor": logs[-1]["rev"] if logs else cursor}

    def _convo(self, req: Request) -> Reply | dict[str, Any]:
        members = self.convos.get(req.arg("convoId") or "")
        if members is None:
            return Reply(400, {"error": "InvalidRequest", "message": "Convo not found"})
        return {"convo": {"id": req.arg("convoId"), "rev": "0", "members": members}}

    def _send(self, req: Request) -> Reply | dict[str, Any]:
        body = req.json()
        if body.get("convoId") not in self.convos:
            return Reply(400, {"error": "InvalidRequest", "message": "Convo not found"})
        entry = self.add_dm(body["message"]["text"], handle=self.convos[body["convoId"]][1]["handle"], from_us=True)
        sent = {"convoId": body["convoId"], "text": body["message"]["text"]}
        if "facets" in body["message"]:
            sent["facets"] = body["message"]["facets"]
        self.sent.append(sent)
        return entry["message"]


class BlueskyHarness(HttpFakeHarness):
    """Contract-suite harness (see tests/fakes/__init__.py)."""

    kind = "bluesky"
    ERRORS = {
        "auth": (401, {"error": "AuthenticationRequired", "message": "Authentication Required"}, AuthError),
        "transient": (502, b"Bad Gateway", TransientError),
        "permanent": (400, {"error": "InvalidRequest", "message": "Input/limit must be <= 100"}, PermanentError),
    }

    def __init__(self, fake: BlueskyFake):
        self.fake = fake
        self.secrets = MemorySecrets({"password": PASSWORD})

    def connector(self) -> BlueskyConnector:
        return BlueskyConnector({"pds": self.fake.url, "handle": HANDLE}, self.secrets, page_limit=3,
                                sleep=lambda s: None)

    def seed(self, n: int) -> list[str]:
        return [self.fake.add(f"question {i + 1}")["uri"] for i in range(n)]

    def sent(self) -> list[dict[str, Any]]:
        return list(self.fake.created) + list(self.fake.sent)



@pytest.fixture
def bluesky_fake() -> Iterator[BlueskyFake]:
    fake = BlueskyFake()
    with fake.running():
        yield fake


@pytest.fixture
def bluesky_harness() -> Iterator[BlueskyHarness]:
    fake = BlueskyFake()
    with fake.running():
        yield BlueskyHarness(fake)


if __name__ == "__main__":
    serve_cli(BlueskyFake)
