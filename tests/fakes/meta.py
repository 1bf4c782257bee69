"""A fake Facebook Page behind Meta's Graph API: the Meta sign-in, Messenger, the Page feed and its
comments, the Send API (24 h window, HUMAN_AGENT, private replies), usage headers and Graph's errors.

Wire facts followed (shared/CONNECTORS.md "Facebook Page", Meta's Page / Page Feed / Comment /
Conversations / Send API references, Facebook Login's manual flow, the Messenger error codes):
- Every path carries the version (`/v25.0/...`); the token comes as `Authorization: Bearer` or as the
  `access_token` parameter. A wrong one: HTTP 400 `{"error": {"message", "type": "OAuthException",
  "code": 190, "error_subcode": 463, "fbtrace_id"}}`. A call carrying `appsecret_proof` must carry the
  right one (HMAC-SHA256 of the token with the app secret), else code 100.
- Lists are `{"data": [...], "paging": {"cursors": {"before", "after"}, "next": <absolute URL with
  access_token, as Graph sends it>}}` (`next` only when there is more). A cursor handed out before
  `expire_cursors()` is dead: HTTP 400 code 100 "Invalid cursor" (items under it were deleted).
- `GET /{page}/conversations?platform=messenger&fields=id,updated_time` newest first; `GET /{conv}/messages
  ?fields=id,created_time,from,to,message` newest first; `from {id, name, email}`, `to {data: [...]}`.
- `GET /{page}/feed?fields=id,from,message,created_time,updated_time,permalink_url` newest first (the
  Page's posts and customers' posts on it); a post's updated_time moves with each new comment.
  `GET /{page}/tagged` posts of others tagging the Page. `GET /{post}/comments?filter=stream&order=reverse_chronological`
  every comment and reply, flat, newest first, replies with `parent {id}`. `POST /{comment}/comments
  message=` → `{id}` (a reply from the Page). `POST /{page}/feed message=` → `{id}`.
- `POST /{page}/messages` JSON `{recipient: {id} | {comment_id}, messaging_type, tag, message: {text}}` →
  `{recipient_id, message_id}` (a private reply to a customer's post: `recipient: {post_id}`). A message more than 24 h after the person's last one is refused (code 10,
  subcode 2018278) unless tagged HUMAN_AGENT (then up to 7 days); a private reply to a comment older than
  7 days or already answered privately is refused (code 10, subcode 2018278 / code 100) and opens a
  conversation with the commenter otherwise.
- `GET /{page}?fields=...` the Page (with `hours`, a map `{day}_{n}_{open|close}` → "HH:MM");
  `POST /{page} hours=<JSON map>` replaces it → `{success: true}`; `GET /{page}/ratings` error 12 (deprecated).
- Sign-in: `GET /{v}/dialog/oauth` plays the owner pressing Continue (302 to login_success.html with
  `code` and `state`; the PKCE challenge is remembered and checked at the exchange); `GET /{v}/oauth/
  access_token` swaps a code for a short-lived user token and (`grant_type=fb_exchange_token`) that for a
  long-lived one; `GET /me/accounts` (user token only) lists the Page with its token and linked Instagram.
- Scheduled posts: `POST /{page}/feed published=false scheduled_publish_time=<unix>` (10 min to 75 days
  ahead, else code 100) → `{id}`; `GET /{page}/scheduled_posts`; `DELETE /{post}` → `{success: true}`.
- Usage: `usage` (a dict of call_count/total_time/total_cputime/estimated_time_to_regain_access) is sent
  as `X-Business-Use-Case-Usage` keyed by the Page id; `app_usage` as `X-App-Usage`.
"""

from __future__ import annotations

import base64
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
PAGE_TOKEN = "good-page-token"
USER_TOKEN = "long-lived-user-token"
SHORT_TOKEN = "short-lived-user-token"
APP_ID = "1234"
APP_SECRET = "fake-app-secret"
PAGE_ID = "100200300"
PAGE_NAME = "Juniper & Rye"
IG_USER_ID = "17841400000000001"
IG_USERNAME = "juniperandrye"
LOGIN_SUCCESS = "https://www.facebook.com/connect/login_success.html"


def graph_time(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def graph_error(code: int, message: str, subcode: int | None = None, kind: str = "OAuthException",
                status: int = 400) -> Reply:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEf123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return Reply(status, {"error": error})


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def _psid(name: str) -> str:
    return str(7_000_000_000 + sum(ord(ch) * (i + 1) for i, ch in enumerate(name)))


HARNESS_ERRORS = {  # the contract suite's faults, as Graph sends them
    "auth": (400, {"error": {"message": "Error validating access token", "type": "OAuthException",
                             "code": 190, "error_subcode": 460, "fbtrace_id": "x"}}, AuthError),
    "transient": (500, {"error": {"message": "An unknown error occurred", "type": "OAuthException",
                                  "code": 1, "is_transient": True, "fbtrace_id": "x"}}, TransientError),
    "permanent": (400, {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException",
                                  "code": 100, "fbtrace_id": "x"}}, PermanentError),
}


class GraphFake(FakeServer):
    """What every fake behind graph.facebook.com shares: the clock, the Meta sign-in (dialog and token
    exchange), the Page-token and appsecret_proof checks, cursor paging with dying cursors, usage headers.
    A subclass routes its nodes in `_serve_graph(req, node, edge)` (called under the lock once the token
    and proof passed) and may override `_me_accounts`."""

    def __init__(self, lifetime: float = 300.0, now: Callable[[], datetime] | None = None):
        super().__init__(lifetime)
        self._now = now
        self.clock = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
        self.ids = itertools.count(500_000_001)
        self.page_token = PAGE_TOKEN
        self.codes: dict[str, str] = {}  # code -> PKCE challenge ("" when none)
        self.cursor_epoch = 0
        self.usage: dict[str, Any] | None = None  # sent as X-Business-Use-Case-Usage (keyed by the Page)
        self.app_usage: dict[str, Any] | None = None  # sent as X-App-Usage
        self.malformed_once: set[str] = set()  # edges whose next answer is not JSON

    # -- time --------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self._now() if self._now is not None else self.clock

    def tick(self) -> datetime:
        """A new item's time: one second after the last, so arrival order is time order."""
        with self.lock:
            if self._now is not None:
                return self._now()
            self.clock += timedelta(seconds=1)
            return self.clock

    def _id(self) -> str:
        return str(next(self.ids))

    def expire_cursors(self) -> None:
        with self.lock:
            self.cursor_epoch += 1

    # -- serving -----------------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        reply = self._route(req)
        if self.usage is not None:
            reply.headers["X-Business-Use-Case-Usage"] = json.dumps({PAGE_ID: [{"type": "pages", **self.usage}]})
        if self.app_usage is not None:
            reply.headers["X-App-Usage"] = json.dumps(self.app_usage)
        return reply

    def _route(self, req: Request) -> Reply:
        parts = [p for p in req.path.split("/") if p]
        if not parts or parts[0] != VERSION:
            return graph_error(2500, "Unknown path components", kind="OAuthException")
        node, edge = (parts[1] if len(parts) > 1 else ""), (parts[2] if len(parts) > 2 else "")
        if (node, edge) == ("dialog", "oauth"):
            return self._dialog(req)
        if (node, edge) == ("oauth", "access_token"):
            return self._access_token(req)
        token = req.bearer() or req.arg("access_token")
        user_call = (node, edge) == ("me", "accounts")
        if token != (USER_TOKEN if user_call else self.page_token):
            return graph_error(190, "Error validating access token: Session has expired.", 463)
        proof = req.arg("appsecret_proof")
        if proof is not None and proof != hmac.new(APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest():
            return graph_error(100, "Invalid appsecret_proof provided in the API argument", 1357046)
        if edge in self.malformed_once:
            self.malformed_once.discard(edge)
            return Reply(200, b"<html>upstream error</html>")
        if user_call:
            return Reply(200, {"data": self._me_accounts()})
        with self.lock:
            return self._serve_graph(req, node, edge)

    def _me_accounts(self) -> list[dict[str, Any]]:
        return [{"id": PAGE_ID, "name": PAGE_NAME, "access_token": self.page_token,
                 "tasks": ["MODERATE", "MESSAGING", "CREATE_CONTENT"]}]

    def _serve_graph(self, req: Request, node: str, edge: str) -> Reply:
        raise NotImplementedError

    # -- Meta sign-in (Facebook Login's manual flow, the login_success.html redirect) -------------------
    def _dialog(self, req: Request) -> Reply:
        """The owner pressing "Continue": back to login_success.html with a code and the state."""
        if req.arg("client_id") != APP_ID or req.arg("redirect_uri") != LOGIN_SUCCESS:
            return graph_error(191, "Can't load URL: the redirect URI is not whitelisted")
        code = "code-" + self._id()
        self.codes[code] = req.arg("code_challenge") or ""
        location = f"{LOGIN_SUCCESS}?{urlencode({'code': code, 'state': req.arg('state') or ''})}#_=_"
        return Reply(302, b"", {"Location": location})

    def _access_token(self, req: Request) -> Reply:
        if req.arg("client_id") != APP_ID or req.arg("client_secret") != APP_SECRET:
            return graph_error(101, "Error validating client secret.")
        if req.arg("grant_type") == "fb_exchange_token":
            if req.arg("fb_exchange_token") != SHORT_TOKEN:
                return graph_error(190, "Invalid OAuth access token.")
            return Reply(200, {"access_token": USER_TOKEN, "token_type": "bearer", "expires_in": 5_183_944})
        code = req.arg("code") or ""
        if code not in self.codes or req.arg("redirect_uri") != LOGIN_SUCCESS:
            return graph_error(100, "This authorization code has been used.", 36009)
        challenge = self.codes.pop(code)
        verifier = req.arg("code_verifier") or ""
        if challenge and base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode() \
                != challenge:
            return graph_error(100, "Invalid code verifier", 36008)
        return Reply(200, {"access_token": SHORT_TOKEN, "token_type": "bearer", "expires_in": 5400})

    # -- helpers -----------------------------------------------------------------------------------
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
                query = {k: v[0] for k, v in req.query.items()}
                query["access_token"] = self.page_token  # Graph puts the token into next links
                query["after"] = self._cursor(start + len(page))
                body["paging"]["next"] = f"{self.url}{req.path}?{urlencode(query)}"
        return Reply(200, body)



class MetaFake(GraphFake):
    """A Facebook Page (see the module docstring)."""

    def __init__(self, lifetime: float = 300.0, now: Callable[[], datetime] | None = None,
                 with_instagram: bool = True):
        super().__init__(lifetime, now)
        self.with_instagram = with_instagram
        self.posts: list[dict[str, Any]] = []  # newest last; each with "_comments": [comment ids]
        self.comments: dict[str, dict[str, Any]] = {}  # id -> comment (with "_post")
        self.conversations: dict[str, dict[str, Any]] = {}  # PSID -> {"id", "name", "messages": newest last}
        self.sent: list[dict[str, Any]] = []
        self.private_replied: set[str] = set()
        self.messenger_refused = False  # answer the conversations edge with code 10 (no Advanced Access)
        self.tagged: list[dict[str, Any]] = []  # posts of others tagging the Page
        self.scheduled: dict[str, dict[str, Any]] = {}  # post id -> unpublished post with scheduled_publish_time
        self.hours: dict[str, str] = {"mon_1_open": "09:00", "mon_1_close": "17:00"}  # the Page's `hours` field

    # -- programming -------------------------------------------------------------------------------
    def add_post(self, message: str = "Fresh sourdough today", *, at: datetime | None = None,
                 by: str | None = None, tagged: bool = False) -> dict[str, Any]:
        """A post on the Page's feed: the Page's own, or a customer's (`by` their name); `tagged`: a post of
        someone else's that tags the Page (listed under /tagged, not the feed)."""
        with self.lock:
            when = graph_time(at or self.tick())
            author = {"id": _psid(by), "name": by} if by else {"id": PAGE_ID, "name": PAGE_NAME}
            post = {"id": f"{PAGE_ID if not tagged else _psid(by or 'x')}_{self._id()}", "from": author,
                    "message": message, "created_time": when, "updated_time": when,
                    "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/{len(self.posts)}", "_comments": []}
            (self.tagged if tagged else self.posts).append(post)
            return post

    def add(self, text: str = "hello", **kwargs: Any) -> dict[str, Any]:
        """A Messenger message from a new person (the contract harness's inbound item)."""
        return self.add_message(text, **kwargs)

    def add_message(self, text: str = "hi", *, name: str | None = None, at: datetime | None = None,
                    outbound: bool = False) -> dict[str, Any]:
        with self.lock:
            name = name or f"Person {len(self.conversations) + 1}"
            psid = _psid(name)
            conv = self.conversations.setdefault(psid, {"id": f"t_{self._id()}", "name": name, "messages": []})
            person = {"id": psid, "name": name, "email": f"{psid}@facebook.com"}
            page = {"id": PAGE_ID, "name": PAGE_NAME, "email": f"{PAGE_ID}@facebook.com"}
            message = {"id": f"m_{self._id()}", "created_time": graph_time(at or self.tick()), "message": text,
                       "from": page if outbound else person, "to": {"data": [person if outbound else page]}}
            conv["messages"].append(message)
            return message

    def add_comment(self, text: str = "hello", *, name: str = "Alice", post_id: str | None = None,
                    parent_id: str | None = None, at: datetime | None = None, from_page: bool = False
                    ) -> dict[str, Any]:
        with self.lock:
            if not self.posts and post_id is None:
                self.add_post()
            post = next(p for p in self.posts if p["id"] == (post_id or (self.comments[parent_id]["_post"]
                                                                         if parent_id else self.posts[-1]["id"])))
            when = graph_time(at or self.tick())
            author = {"id": PAGE_ID, "name": PAGE_NAME} if from_page else {"id": _psid(name), "name": name}
            comment = {"id": f"{post['id'].split('_')[1]}_{self._id()}", "from": author, "message": text,
                       "created_time": when, "permalink_url": f"{post['permalink_url']}?comment_id=x",
                       "_post": post["id"]}
            if parent_id:
                comment["parent"] = {"id": parent_id}
            self.comments[comment["id"]] = comment
            post["_comments"].append(comment["id"])
            post["updated_time"] = max(post["updated_time"], when)
            return comment

    def edit_comment(self, comment_id: str, text: str) -> None:
        with self.lock:
            self.comments[comment_id]["message"] = text

    def delete_comment(self, comment_id: str) -> None:
        with self.lock:
            comment = self.comments.pop(comment_id)
            post = next(p for p in self.posts if p["id"] == comment["_post"])
            post["_comments"].remove(comment_id)
            self.cursor_epoch += 1  # Graph cursors die when items under them are deleted

    def seed(self, count: int) -> None:
        for i in range(count):
            self.add_message(f"seeded message {i + 1}")

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"sent": list(self.sent)}

    # -- serving -----------------------------------------------------------------------------------
    def _me_accounts(self) -> list[dict[str, Any]]:
        page = super()._me_accounts()[0]
        if self.with_instagram:
            page["instagram_business_account"] = {"id": IG_USER_ID, "username": IG_USERNAME, "name": PAGE_NAME}
        return [page, {"id": "999", "name": "No token here"}]

    def _serve_graph(self, req: Request, node: str, edge: str) -> Reply:
        if req.method == "GET":
            return self._get(req, node, edge)
        if req.method == "POST":
            return self._post(req, node, edge)
        if req.method == "DELETE":
            if node in self.scheduled and not edge:
                del self.scheduled[node]
                return Reply(200, {"success": True})
            return graph_error(100, "(#100) Unsupported delete request. Object with ID does not exist", 33)
        return graph_error(100, "Unsupported request")

    def _get(self, req: Request, node: str, edge: str) -> Reply:
        if node == PAGE_ID and not edge:
            page = {"id": PAGE_ID, "name": PAGE_NAME}
            if "hours" in (req.arg("fields") or "") and self.hours:
                page["hours"] = dict(self.hours)
            return Reply(200, page)
        if node == PAGE_ID and edge == "tagged":
            return self._page(req, [{k: v for k, v in p.items() if not k.startswith("_")} for p in reversed(self.tagged)])
        if node == PAGE_ID and edge == "scheduled_posts":
            return self._page(req, sorted(self.scheduled.values(), key=lambda p: p["scheduled_publish_time"]))
        if node == PAGE_ID and edge == "ratings":
            return graph_error(12, "(#12) ratings is deprecated for versions v22.0 and higher")
        if node == PAGE_ID and edge == "conversations":
            if req.arg("platform") != "messenger":
                return graph_error(100, "(#100) platform is required")
            if self.messenger_refused:
                return graph_error(10, "(#10) This endpoint requires the 'pages_messaging' permission and "
                                       "Advanced Access for people without a role on the app")
            convs = sorted((c for c in self.conversations.values() if c["messages"]),
                           key=lambda c: c["messages"][-1]["created_time"], reverse=True)
            return self._page(req, [{"id": c["id"], "updated_time": c["messages"][-1]["created_time"]}
                                    for c in convs])
        if edge == "messages":
            for conv in self.conversations.values():
                if conv["id"] == node:
                    return self._page(req, sorted(conv["messages"], key=lambda m: (m["created_time"], int(m["id"][2:])),
                                                    reverse=True))
        if node == PAGE_ID and edge == "feed":
            return self._page(req, [{k: v for k, v in p.items() if not k.startswith("_")}
                                    for p in reversed(self.posts)])
        if edge == "comments":
            post = next((p for p in self.posts if p["id"] == node), None)
            if post is not None:
                if req.arg("filter") != "stream":  # toplevel by default, as Graph does
                    ids = [c for c in post["_comments"] if "parent" not in self.comments[c]]
                else:
                    ids = list(post["_comments"])
                found = [{k: v for k, v in self.comments[c].items() if not k.startswith("_")} for c in ids]
                found.sort(key=lambda c: (c["created_time"], int(c["id"].split("_")[1])))  # chronological is the default order
                if req.arg("order") == "reverse_chronological":
                    found.reverse()
                return self._page(req, found)
        return graph_error(100, "Unsupported get request. Object does not exist or cannot be loaded", 33)

    def _post(self, req: Request, node: str, edge: str) -> Reply:
        form = req.form() if req.body else {}
        if edge == "comments" and node in self.comments:
            message = form.get("message") or ""
            if not message:
                return graph_error(100, "(#100) The parameter message is required")
            parent = self.comments[node]
            top = parent.get("parent", {}).get("id") or node
            reply = self.add_comment(message, from_page=True, parent_id=top)
            self.sent.append({"kind": "comment", "parent": node, "text": message, "id": reply["id"]})
            return Reply(200, {"id": reply["id"]})
        if node == PAGE_ID and not edge and "hours" in form:
            try:
                hours = json.loads(form["hours"])
            except ValueError:
                return graph_error(100, "(#100) Param hours must be a JSON object")
            if not isinstance(hours, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in hours.items()):
                return graph_error(100, "(#100) Param hours must be a JSON object")
            self.hours = hours  # replaces the whole map, as Graph does
            self.sent.append({"kind": "hours", "hours": hours})
            return Reply(200, {"success": True})
        if node == PAGE_ID and edge == "feed" and form.get("published") == "false":
            when = int(form.get("scheduled_publish_time") or 0)
            ahead = when - self.now().timestamp()
            if not 600 <= ahead <= 75 * 86400:
                return graph_error(100, "(#100) The specified scheduled publish time is invalid.")
            post_id = f"{PAGE_ID}_{self._id()}"
            self.scheduled[post_id] = {"id": post_id, "message": form.get("message") or "",
                                       "scheduled_publish_time": when}
            self.sent.append({"kind": "scheduled", "text": form.get("message") or "", "id": post_id, "at": when})
            return Reply(200, {"id": post_id})
        if node == PAGE_ID and edge == "feed":
            post = self.add_post(form.get("message") or "")
            self.sent.append({"kind": "post", "text": post["message"], "id": post["id"]})
            return Reply(200, {"id": post["id"]})
        if node == PAGE_ID and edge == "messages":
            return self._send(req)
        return graph_error(100, "Unsupported post request.", 33)

    def _send(self, req: Request) -> Reply:
        try:
            body = req.json()
        except ValueError:
            return graph_error(100, "(#100) Invalid JSON")
        recipient, text = body.get("recipient") or {}, (body.get("message") or {}).get("text") or ""
        tagged = body.get("messaging_type") == "MESSAGE_TAG" and body.get("tag") == "HUMAN_AGENT"
        now = self.now()
        if "post_id" in recipient:
            post = next((p for p in self.posts + self.tagged if p["id"] == recipient["post_id"]), None)
            if post is None or post["from"]["id"] == PAGE_ID:
                return graph_error(100, "(#100) Invalid post_id for a private reply")
            if post["id"] in self.private_replied or now - _parse(post["created_time"]) > timedelta(days=7):
                return graph_error(10, "(#10) This message is sent outside of allowed window.", 2018278)
            self.private_replied.add(post["id"])
            message = self.add_message(text, name=post["from"]["name"], outbound=True, at=now)
            self.sent.append({"kind": "private", "post": post["id"], "text": text, "id": message["id"]})
            return Reply(200, {"recipient_id": post["from"]["id"], "message_id": message["id"]})
        if "comment_id" in recipient:
            comment = self.comments.get(recipient["comment_id"])
            if comment is None:
                return graph_error(100, "(#100) Object does not exist")
            if comment["id"] in self.private_replied:
                return graph_error(10, "(#10) This comment has already been replied to privately", 2018278)
            if now - _parse(comment["created_time"]) > timedelta(days=7):
                return graph_error(10, "(#10) This message is sent outside of allowed window.", 2018278)
            self.private_replied.add(comment["id"])
            name = comment["from"]["name"]
            message = self.add_message(text, name=name, outbound=True, at=now)
            self.sent.append({"kind": "private", "comment": comment["id"], "text": text, "id": message["id"]})
            return Reply(200, {"recipient_id": _psid(name), "message_id": message["id"]})
        conv = self.conversations.get(str(recipient.get("id")))
        if conv is None:
            return graph_error(551, "This person isn't available right now.", 1545041)
        last_in = max((_parse(m["created_time"]) for m in conv["messages"] if m["from"]["id"] != PAGE_ID), default=None)
        limit = timedelta(days=7) if tagged else timedelta(hours=24)
        if last_in is None or now - last_in > limit:
            return graph_error(10, "(#10) This message is sent outside of allowed window.", 2018278)
        message = self.add_message(text, name=conv["name"], outbound=True, at=now)
        self.sent.append({"kind": "dm", "to": recipient["id"], "text": text, "tagged": tagged, "id": message["id"]})
        return Reply(200, {"recipient_id": recipient["id"], "message_id": message["id"]})

def facebook_settings(fake: MetaFake, **extra: Any) -> dict[str, Any]:
    """A Facebook Page account as the Meta sign-in adds it."""
    return {"graph_url": fake.url, "page_id": PAGE_ID, "page_name": PAGE_NAME, "app_id": APP_ID, **extra}


def facebook_secrets() -> MemorySecrets:
    return MemorySecrets({TOKEN_ENTRY: Tokens(access_token=PAGE_TOKEN).to_json(), "app_secret": APP_SECRET})


class FacebookHarness(HttpFakeHarness):
    """Contract-suite harness (see tests/fakes/__init__.py): inbound items are Messenger messages."""

    kind = "facebook"
    ERRORS = HARNESS_ERRORS

    def __init__(self, fake: MetaFake):
        self.fake = fake
        self.secrets = facebook_secrets()

    def connector(self) -> Any:
        from socialdesk.connectors.facebook import FacebookConnector

        return FacebookConnector(facebook_settings(self.fake), self.secrets, page_size=3, sleep=lambda s: None,
                                 now=self.fake.now)

    def seed(self, n: int) -> list[str]:
        return [self.fake.add_message(f"question {i + 1}")["id"] for i in range(n)]

    def sent(self) -> list[dict[str, Any]]:
        return list(self.fake.sent)


@pytest.fixture
def meta_fake() -> Iterator[MetaFake]:
    fake = MetaFake()
    with fake.running():
        yield fake


@pytest.fixture
def facebook_harness() -> Iterator[FacebookHarness]:
    fake = MetaFake()
    with fake.running():
        yield FacebookHarness(fake)


if __name__ == "__main__":
    serve_cli(MetaFake)
