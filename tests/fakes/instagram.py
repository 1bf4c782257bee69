"""A fake Instagram professional account behind Meta's Graph API (the Facebook-Login variant on
graph.facebook.com, with the linked Page's token), for the Instagram connector's tests.

Wire facts followed (shared/CONNECTORS.md, Meta's IG Media/IG Comment/IG Comment Replies references,
the Conversations API and Send API pages, the Messenger error codes):
- Every path carries the version (`/v25.0/...`); the token comes as `Authorization: Bearer` or as the
  `access_token` parameter. A wrong one is HTTP 400 `{"error": {"message", "type": "OAuthException",
  "code": 190, "error_subcode": 463, "fbtrace_id"}}`.
- `GET /{ig-user-id}?fields=id,username,name`; `GET /{ig-user-id}/media?fields=id,caption,comments_count,
  timestamp,permalink,media_product_type&limit=N`: newest first.
- `GET /{ig-media-id}/comments?fields=...&limit=N[&after=C]`: `{"data": [...], "paging": {"cursors":
  {"before", "after"}, "next": <absolute URL>}}` (`next` only when there is more). Comments carry `id, text,
  timestamp ("2017-08-31T18:10:30+0000"), from {id, username}, username, hidden, parent_id` (replies only);
  with `replies{...}` in `fields` each top-level comment embeds its replies as `{"data": [...]}` (a page of
  them, with `paging.next` when there are more). The order is not documented; this fake answers newest first.
  Hidden comments are returned with `hidden: true`. A cursor handed out before `expire_cursors()` is dead:
  HTTP 400 code 100 "Invalid cursor", as Graph answers when the items under a cursor changed.
- `GET /{ig-comment-id}/replies` pages the replies of one comment. `POST /{ig-comment-id}/replies
  message=...` → `{"id"}`; a reply to a reply is added to the top-level comment (documented); a hidden
  comment cannot be answered (HTTP 400 code 100).
- `GET /{page-id}/conversations?platform=instagram&fields=id,updated_time&limit=N[&after=C]`: newest
  first; `GET /{conversation-id}?fields=messages{id,created_time,from,to,message}`: the messages, newest
  first (only the 20 newest carry details; older ones are `{id, created_time}` only, as documented).
- `POST /{page-id}/messages` JSON `{recipient: {id} | {comment_id}, message: {text}, messaging_type,
  tag}` → `{"recipient_id", "message_id"}`. A reply more than 24 h after the person's last message is
  refused with code 10 / subcode 2018278 unless tagged HUMAN_AGENT (then up to 7 days); a private reply
  is refused when the comment is older than 7 days or already had one (code 10, subcode 2018278 /
  code 100 "already replied"), and opens a conversation with the commenter.
- Sign-in (Facebook Login's manual flow): `GET /{v}/dialog/oauth` plays the owner allowing the app
  (302 to login_success.html with `code` and `state`); `GET /{v}/oauth/access_token` swaps a code for a
  short-lived user token and (`grant_type=fb_exchange_token`) that for a long-lived one; `GET /me/accounts`
  (user token only) lists the Page with its token and its `instagram_business_account`. Calls carrying
  `appsecret_proof` must carry the right one (HMAC-SHA256 of the token with the app secret).
- Usage: every answer carries `X-Business-Use-Case-Usage` (JSON keyed by the Page id: a list of
  `{type, call_count, total_cputime, total_time, estimated_time_to_regain_access}`); `usage` sets it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import pytest

from socialdesk.connectors.base import AuthError, MemorySecrets, PermanentError, TransientError
from socialdesk.connectors.oauth import TOKEN_ENTRY, Tokens
from tests.fakes import FakeServer, HttpFakeHarness, Reply, Request, serve_cli

VERSION = "v25.0"
TOKEN = "good-page-token"
USER_TOKEN = "long-lived-user-token"
SHORT_TOKEN = "short-lived-user-token"
APP_ID = "1234"
APP_SECRET = "fake-app-secret"
PAGE_ID = "100200300"
IG_USER_ID = "17841400000000001"
IG_USERNAME = "juniperandrye"
COMMENT_FIELDS_REPLIES = "replies"


def graph_time(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_error(code: int, message: str, subcode: int | None = None, kind: str = "OAuthException",
                status: int = 400) -> Reply:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEf123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return Reply(status, {"error": error})


class InstagramFake(FakeServer):
    def __init__(self, lifetime: float = 300.0, now: Callable[[], datetime] | None = None):
        super().__init__(lifetime)
        self._now = now
        self.clock = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
        self.ids = itertools.count(17_900_000_000_000_001)
        self.token = TOKEN
        self.media: list[dict[str, Any]] = []  # newest last
        self.comments: dict[str, dict[str, Any]] = {}  # id -> comment (with "_media", "_replies": [ids])
        self.conversations: dict[str, dict[str, Any]] = {}  # IGSID -> {"id", "messages": [...], newest last}
        self.sent: list[dict[str, Any]] = []
        self.private_replied: set[str] = set()
        self.codes: set[str] = set()
        self.cursor_epoch = 0
        self.expire_in: int | None = None  # comment pages served before every cursor dies
        self.usage: dict[str, Any] | None = None  # one usage figure set for the header
        self.add_media("Fresh sourdough today")

    # -- time --------------------------------------------------------------------------------------
    def now(self) -> datetime:
        if self._now is not None:
            return self._now()
        return self.clock

    def tick(self) -> datetime:
        """A new item's time: one second after the last, so arrival order is time order."""
        with self.lock:
            if self._now is not None:
                return self._now()
            self.clock += timedelta(seconds=1)
            return self.clock

    def _id(self) -> str:
        return str(next(self.ids))

    # -- programming -------------------------------------------------------------------------------
    def add_media(self, caption: str = "A post", *, at: datetime | None = None) -> dict[str, Any]:
        with self.lock:
            media = {"id": self._id(), "caption": caption, "timestamp": graph_time(at or self.tick()),
                     "permalink": "https://www.instagram.com/p/FAKE%d/" % len(self.media),
                     "media_product_type": "FEED"}
            self.media.append(media)
            return media

    def add(self, text: str = "hello", **kwargs: Any) -> dict[str, Any]:
        """A comment on the newest media (the contract harness's inbound item)."""
        return self.add_comment(text, **kwargs)

    def add_comment(self, text: str = "hello", *, username: str = "alice", media_id: str | None = None,
                    parent_id: str | None = None, at: datetime | None = None, hidden: bool = False,
                    user_id: str | None = None) -> dict[str, Any]:
        with self.lock:
            media = media_id or (self.comments[parent_id]["_media"] if parent_id else self.media[-1]["id"])
            comment = {
                "id": self._id(), "text": text, "timestamp": graph_time(at or self.tick()),
                "from": {"id": user_id or _igsid(username), "username": username}, "username": username,
                "hidden": hidden, "_media": media, "_replies": [],
            }
            if parent_id:
                top = self.comments[parent_id].get("parent_id") or parent_id  # replies land on the top level
                comment["parent_id"] = top
                self.comments[top]["_replies"].append(comment["id"])
            self.comments[comment["id"]] = comment
            return _public(comment)

    def edit_comment(self, comment_id: str, text: str) -> None:
        with self.lock:
            self.comments[comment_id]["text"] = text

    def delete_comment(self, comment_id: str) -> None:
        with self.lock:
            comment = self.comments.pop(comment_id)
            if comment.get("parent_id") in self.comments:
                self.comments[comment["parent_id"]]["_replies"].remove(comment_id)

    def add_dm(self, text: str = "hi", *, username: str = "bob", at: datetime | None = None,
               outbound: bool = False) -> dict[str, Any]:
        """A direct message from `username` to us (or from us to them with `outbound`)."""
        with self.lock:
            igsid = _igsid(username)
            conversation = self.conversations.setdefault(
                igsid, {"id": "aWdfZAG" + igsid, "username": username, "messages": []})
            person = {"id": igsid, "username": username}
            me = {"id": IG_USER_ID, "username": IG_USERNAME}
            message = {"id": "aWdfbWlk" + self._id(), "created_time": graph_time(at or self.tick()),
                       "from": me if outbound else person, "to": {"data": [person if outbound else me]},
                       "message": text}
            conversation["messages"].append(message)
            return message

    def expire_cursors(self) -> None:
        with self.lock:
            self.cursor_epoch += 1

    def seed(self, count: int) -> None:
        for i in range(count):
            self.add_comment(f"seeded comment {i + 1}")

    def state(self) -> dict[str, Any]:
        return {"sent": self.sent}

    # -- serving -----------------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        reply = self._route(req)
        if self.usage is not None:
            reply.headers["X-Business-Use-Case-Usage"] = json.dumps(
                {PAGE_ID: [{"type": "messenger", **self.usage}]})
        return reply

    def _route(self, req: Request) -> Reply:
        parts = [p for p in req.path.split("/") if p]
        if not parts or parts[0] != VERSION:
            return graph_error(2500, "Unknown path components", kind="OAuthException")
        node, edge = parts[1], (parts[2] if len(parts) > 2 else "")
        if (node, edge) == ("dialog", "oauth"):
            return self._dialog(req)
        if (node, edge) == ("oauth", "access_token"):
            return self._access_token(req)
        token = req.bearer() or req.arg("access_token")
        if token not in (self.token, USER_TOKEN) or (token == USER_TOKEN) != ((node, edge) == ("me", "accounts")):
            return graph_error(190, "Error validating access token: Session has expired.", 463)
        proof = req.arg("appsecret_proof")
        if proof is not None and proof != hmac.new(APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest():
            return graph_error(100, "Invalid appsecret_proof provided in the API argument", 1357046)
        if (node, edge) == ("me", "accounts"):
            return Reply(200, {"data": [{
                "id": PAGE_ID, "name": "Juniper & Rye", "access_token": self.token, "tasks": ["MESSAGING"],
                "instagram_business_account": {"id": IG_USER_ID, "username": IG_USERNAME, "name": "Juniper & Rye"},
            }]})
        with self.lock:
            if req.method == "GET":
                return self._get(req, node, edge)
            if req.method == "POST":
                return self._post(req, node, edge)
        return graph_error(100, "Unsupported request")

    def _get(self, req: Request, node: str, edge: str) -> Reply:
        if node == IG_USER_ID and not edge:
            return Reply(200, {"id": IG_USER_ID, "username": IG_USERNAME, "name": "Juniper & Rye"})
        if node == IG_USER_ID and edge == "media":
            items = [dict(m, comments_count=self._count(m["id"])) for m in reversed(self.media)]
            return self._page(req, items)
        if edge == "comments" and any(m["id"] == node for m in self.media):
            if self.expire_in is not None:  # the comments change under the walk after this many pages
                self.expire_in -= 1
                if self.expire_in < 0:
                    self.expire_in = None
                    self.cursor_epoch += 1
            tops = [c for c in self.comments.values() if c["_media"] == node and not c.get("parent_id")]
            tops.sort(key=lambda c: int(c["id"]), reverse=True)
            with_replies = "replies" in (req.arg("fields") or "")
            return self._page(req, [self._render(c, with_replies) for c in tops])
        if edge == "replies" and node in self.comments:
            return self._page(req, [_public(self.comments[r]) for r in self.comments[node]["_replies"]])
        if node == PAGE_ID and edge == "conversations":
            if req.arg("platform") != "instagram":
                return graph_error(100, "(#100) platform is required")
            convs = sorted(self.conversations.values(), key=lambda c: c["messages"][-1]["created_time"],
                           reverse=True)
            return self._page(req, [{"id": c["id"], "updated_time": c["messages"][-1]["created_time"]}
                                    for c in convs if c["messages"]])
        for conv in self.conversations.values():
            if conv["id"] == node and not edge:
                messages = list(reversed(conv["messages"]))
                data = [m if i < 20 else {"id": m["id"], "created_time": m["created_time"]}
                        for i, m in enumerate(messages)]
                return Reply(200, {"messages": {"data": data}, "id": node})
        return graph_error(100, "Unsupported get request. Object does not exist or cannot be loaded", 33)

    def _post(self, req: Request, node: str, edge: str) -> Reply:
        if edge == "replies" and node in self.comments:
            body = req.form() if req.body else {}
            message = body.get("message") or req.arg("message") or ""
            if not message:
                return graph_error(100, "(#100) The parameter message is required")
            target = self.comments[node]
            if target.get("hidden"):
                return graph_error(100, "(#100) Cannot reply to a hidden comment")
            reply = self.add_comment(message, username=IG_USERNAME, user_id=IG_USER_ID, parent_id=node)
            self.sent.append({"kind": "comment", "parent": node, "text": message, "id": reply["id"]})
            return Reply(200, {"id": reply["id"]})
        if node == PAGE_ID and edge == "messages":
            return self._send(req)
        return graph_error(100, "Unsupported post request.", 33)

    def _send(self, req: Request) -> Reply:
        body = req.json()
        recipient, text = body.get("recipient") or {}, (body.get("message") or {}).get("text") or ""
        tagged = body.get("messaging_type") == "MESSAGE_TAG" and body.get("tag") == "HUMAN_AGENT"
        now = self.now()
        if "comment_id" in recipient:
            comment = self.comments.get(recipient["comment_id"])
            if comment is None:
                return graph_error(100, "(#100) No matching comment", 2018001)
            if recipient["comment_id"] in self.private_replied:
                return graph_error(10, "(#10) This comment already has a private reply", 2018278)
            if now - _parse(comment["timestamp"]) > timedelta(days=7):
                return graph_error(10, "(#10) This message is sent outside of allowed window.", 2018278)
            self.private_replied.add(recipient["comment_id"])
            message = self.add_dm(text, username=comment["username"], outbound=True, at=now)
            self.sent.append({"kind": "private", "comment": recipient["comment_id"], "text": text,
                              "id": message["id"]})
            return Reply(200, {"recipient_id": comment["from"]["id"], "message_id": message["id"]})
        conv = self.conversations.get(str(recipient.get("id")))
        if conv is None:
            return graph_error(100, "(#100) No matching user found", 2018001)
        last_in = max((_parse(m["created_time"]) for m in conv["messages"] if m["from"]["id"] != IG_USER_ID),
                      default=None)
        limit = timedelta(days=7) if tagged else timedelta(hours=24)
        if last_in is None or now - last_in > limit:
            return graph_error(10, "(#10) This message is sent outside of allowed window.", 2018278)
        message = self.add_dm(text, username=conv["username"], outbound=True, at=now)
        self.sent.append({"kind": "dm", "to": recipient["id"], "text": text, "tagged": tagged, "id": message["id"]})
        return Reply(200, {"recipient_id": recipient["id"], "message_id": message["id"]})

    # -- Meta sign-in (Facebook Login's manual flow, the login_success.html redirect) -------------------
    def _dialog(self, req: Request) -> Reply:
        """The owner pressing "Continue": back to login_success.html with a code and the state."""
        if req.arg("client_id") != APP_ID or not req.arg("redirect_uri", "").endswith("/connect/login_success.html"):
            return graph_error(191, "Can't load URL: the redirect URI is not whitelisted")
        code = "code-" + self._id()
        self.codes.add(code)
        location = f"{req.arg('redirect_uri')}?{urlencode({'code': code, 'state': req.arg('state') or ''})}#_=_"
        return Reply(302, b"", {"Location": location})

    def _access_token(self, req: Request) -> Reply:
        if req.arg("client_id") != APP_ID or req.arg("client_secret") != APP_SECRET:
            return graph_error(101, "Error validating client secret.", kind="OAuthException")
        if req.arg("grant_type") == "fb_exchange_token":
            if req.arg("fb_exchange_token") != SHORT_TOKEN:
                return graph_error(190, "Invalid OAuth access token.")
            return Reply(200, {"access_token": USER_TOKEN, "token_type": "bearer", "expires_in": 5_183_944})
        code = req.arg("code") or ""
        if code not in self.codes:
            return graph_error(100, "This authorization code has been used.", 36009)
        self.codes.discard(code)
        return Reply(200, {"access_token": SHORT_TOKEN, "token_type": "bearer", "expires_in": 5400})

    # -- helpers -----------------------------------------------------------------------------------
    def _count(self, media_id: str) -> int:
        return sum(1 for c in self.comments.values() if c["_media"] == media_id)

    def _render(self, comment: dict[str, Any], with_replies: bool) -> dict[str, Any]:
        out = _public(comment)
        if with_replies and comment["_replies"]:
            replies = [_public(self.comments[r]) for r in comment["_replies"]]
            page: dict[str, Any] = {"data": replies[:25]}
            if len(replies) > 25:
                page["paging"] = {"cursors": {"after": self._cursor(25)},
                                  "next": f"{self.url}/{VERSION}/{comment['id']}/replies?after={self._cursor(25)}"}
            out["replies"] = page
        return out

    def _cursor(self, offset: int) -> str:
        return f"c{self.cursor_epoch}.{offset}"

    def _page(self, req: Request, items: list[dict[str, Any]]) -> Reply:
        limit = max(1, min(int(req.arg("limit") or 25), 100))
        start = 0
        after = req.arg("after")
        if after is not None:
            epoch, _, offset = after.lstrip("c").partition(".")
            if epoch != str(self.cursor_epoch) or not offset.isdigit():
                return graph_error(100, "(#100) Invalid cursor", 1357046)
            start = int(offset)
        page = items[start:start + limit]
        body: dict[str, Any] = {"data": page}
        if page:
            body["paging"] = {"cursors": {"before": self._cursor(start), "after": self._cursor(start + len(page))}}
            if start + limit < len(items):
                query = {k: v[0] for k, v in req.query.items() if k != "access_token"}
                query["after"] = self._cursor(start + len(page))
                body["paging"]["next"] = f"{self.url}{req.path}?{urlencode(query)}"
        return Reply(200, body)


def _igsid(username: str) -> str:
    return str(6_000_000_000 + sum(ord(ch) * (i + 1) for i, ch in enumerate(username)))


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in comment.items() if not k.startswith("_")}


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def instagram_settings(fake: InstagramFake, **extra: Any) -> dict[str, Any]:
    """An Instagram account as the Meta sign-in adds it (Facebook Login, the linked Page's token)."""
    return {"graph_url": fake.url, "page_id": PAGE_ID, "ig_user_id": IG_USER_ID, "ig_username": IG_USERNAME,
            "app_id": APP_ID, **extra}


def instagram_secrets() -> MemorySecrets:
    return MemorySecrets({TOKEN_ENTRY: Tokens(access_token=TOKEN).to_json(), "app_secret": APP_SECRET})


class InstagramHarness(HttpFakeHarness):
    """Contract-suite harness (see tests/fakes/__init__.py)."""

    kind = "instagram"
    ERRORS = {
        "auth": (400, {"error": {"message": "Error validating access token", "type": "OAuthException",
                                 "code": 190, "error_subcode": 460, "fbtrace_id": "x"}}, AuthError),
        "transient": (500, {"error": {"message": "An unknown error occurred", "type": "OAuthException",
                                      "code": 1, "is_transient": True, "fbtrace_id": "x"}}, TransientError),
        "permanent": (400, {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException",
                                      "code": 100, "fbtrace_id": "x"}}, PermanentError),
    }

    def __init__(self, fake: InstagramFake):
        self.fake = fake
        self.secrets = instagram_secrets()

    def connector(self) -> Any:
        from socialdesk.connectors.instagram import InstagramConnector

        return InstagramConnector(instagram_settings(self.fake), self.secrets, page_limit=3,
                                  sleep=lambda s: None)

    def seed(self, n: int) -> list[str]:
        return [self.fake.add_comment(f"question {i + 1}")["id"] for i in range(n)]

    def sent(self) -> list[dict[str, Any]]:
        return list(self.fake.sent)


@pytest.fixture
def instagram_fake() -> Iterator[InstagramFake]:
    fake = InstagramFake()
    with fake.running():
        yield fake


@pytest.fixture
def instagram_harness() -> Iterator[InstagramHarness]:
    fake = InstagramFake()
    with fake.running():
        yield InstagramHarness(fake)


if __name__ == "__main__":
    serve_cli(InstagramFake)
