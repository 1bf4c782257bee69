"""A fake X API v2 (and X's OAuth 2.0 pages) speaking X's documented wire format, for connector tests.

Followed (docs.x.com API reference; shared/CONNECTORS.md "X API v2"):
- OAuth 2.0 with PKCE for a public client: `GET /i/oauth2/authorize` plays the owner pressing "Authorize
  app" (302 to the redirect with `code` and `state`); the redirect must equal one registered for the
  client EXACTLY, port included (`fake.callbacks`), else X's error page. `POST /2/oauth2/token` (form)
  with `client_id`: `authorization_code` (code single use, 30 s life, `code_verifier` checked against
  the S256 challenge, same `redirect_uri`) and `refresh_token` (rotation: the used refresh token dies,
  a new pair is issued). Errors are `{"error": ..., "error_description": ...}` with 400. Access tokens
  last 7200 s (`fake.expire_tokens()` ends them early); a dead token gets 401 problem JSON.
- `GET /2/users/me`, `GET /2/users/:id/mentions` (since_id, until_id, max_results 5-100,
  pagination_token, tweet.fields, expansions, user.fields; newest first; meta newest_id, oldest_id,
  result_count, next_token; includes.users), `GET /2/dm_events` (event_types, max_results 1-100,
  pagination_token, dm_event.fields, expansions, user.fields; newest first). Unknown query parameters
  or field values get X's 400 "invalid-request" problem, so the connector's parameter names are checked.
- `POST /2/tweets {text, reply: {in_reply_to_tweet_id}}` → 201 `{data: {id, text}}`; a reply to a post
  whose author did not mention us gets 403 (not summoned); `POST /2/dm_conversations/with/:id/messages`
  and `/2/dm_conversations/:id/messages {text}` → 201 `{data: {dm_conversation_id, dm_event_id}}`.
- Every API answer carries `x-rate-limit-limit/-remaining/-reset` (epoch seconds) per endpoint.
- Programmable: `inject` (base class), `partial_errors` (a 200 with both `data` and `errors`),
  `rate_limit(path)` (429 with `{"errors":[{"code":88,...}]}` and a reset header), `usage_capped()`.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import secrets
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from socialdesk.connectors.base import AuthError, MemorySecrets, PermanentError, TransientError
from socialdesk.connectors.oauth import TOKEN_ENTRY, Tokens
from socialdesk.connectors.x import XConnector
from tests.fakes import FakeServer, HttpFakeHarness, Reply, Request, serve_cli

SELF = {"id": "1500000000000000001", "username": "juniperandrye", "name": "Juniper & Rye"}
CLIENT_ID = "ZmFrZS1jbGllbnQtaWQ6MTpjaQ"
PROBLEMS = "https://api.twitter.com/2/problems/"
MENTION_PARAMS = {"since_id", "until_id", "max_results", "pagination_token", "start_time", "end_time",
                  "tweet.fields", "expansions", "user.fields", "media.fields", "place.fields", "poll.fields"}
DM_PARAMS = {"event_types", "max_results", "pagination_token", "dm_event.fields", "expansions", "user.fields",
             "media.fields", "tweet.fields"}
TWEET_FIELDS = {"attachments", "author_id", "context_annotations", "conversation_id", "created_at", "edit_controls",
                "entities", "geo", "id", "in_reply_to_user_id", "lang", "public_metrics", "possibly_sensitive",
                "referenced_tweets", "reply_settings", "source", "text", "withheld", "note_tweet"}
DM_FIELDS = {"id", "text", "event_type", "created_at", "dm_conversation_id", "sender_id", "participant_ids",
             "referenced_tweets", "attachments"}
USER_FIELDS = {"created_at", "description", "entities", "id", "location", "name", "pinned_tweet_id",
               "profile_image_url", "protected", "public_metrics", "url", "username", "verified", "withheld"}


def problem(status: int, kind: str, title: str, detail: str) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": kind if kind.startswith("about:") else PROBLEMS + kind,
            "status": status}


NOT_SUMMONED = problem(403, "about:blank", "Forbidden",
                       "Reply to this conversation is not allowed because you have not been mentioned or otherwise "
                       "engaged by the author of the post you are replying to.")
UNAUTHORIZED = problem(401, "about:blank", "Unauthorized", "Unauthorized")


def _user(username: str, uid: int) -> dict[str, str]:
    return {"id": str(uid), "username": username, "name": username.replace("_", " ").title()}


class XFake(FakeServer):
    def __init__(self, lifetime: float = 300.0):
        super().__init__(lifetime)
        self.ids = itertools.count(1_860_000_000_000_000_000)
        self.user_ids = itertools.count(2_000_000_000)
        self.users: dict[str, dict[str, str]] = {SELF["id"]: dict(SELF)}
        self.tweets: list[dict[str, Any]] = []  # every post, ours included, oldest first
        self.events: list[dict[str, Any]] = []  # DM events, oldest first
        self.callbacks = {CLIENT_ID: set()}  # client id -> registered callback URIs
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, float] = {}  # access token -> expiry (time.time())
        self.refresh_tokens: set[str] = set()
        self.used_refresh: set[str] = set()
        self.posted: list[dict[str, Any]] = []
        self.dms_sent: list[dict[str, Any]] = []
        self.partial_errors = False
        self.now = datetime.now(timezone.utc) - timedelta(hours=1)
        self._page_tokens: dict[str, int] = {}

    # -- seeding ---------------------------------------------------------------------------------
    def _next_time(self) -> str:
        """Now (real time: the connector's first fetch is a real instant), later than every earlier item."""
        self.now = max(datetime.now(timezone.utc), self.now + timedelta(milliseconds=1))
        return self.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def user(self, username: str) -> dict[str, str]:
        with self.lock:
            for user in self.users.values():
                if user["username"] == username:
                    return user
            user = _user(username, next(self.user_ids))
            self.users[user["id"]] = user
            return user

    def add(self, text: str = "", *, author: str = "customer", reply_to: str | None = None, kind: str = "mention",
            mention: bool = True) -> dict[str, Any]:
        """A post by `author` (mentioning us unless mention=False), or with kind="dm" a DM event to us."""
        if kind == "dm":
            return self.add_dm(text, author=author)
        user = self.user(author) if author != SELF["username"] else SELF
        with self.lock:
            tid = str(next(self.ids))
            parent = next((t for t in self.tweets if t["id"] == reply_to), None) if reply_to else None
            body = f"@{SELF['username']} {text}" if mention and author != SELF["username"] else text
            tweet = {"id": tid, "text": body, "author_id": user["id"], "created_at": self._next_time(),
                     "conversation_id": parent["conversation_id"] if parent else tid,
                     "edit_history_tweet_ids": [tid]}
            if parent:
                tweet["in_reply_to_user_id"] = parent["author_id"]
                tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
            self.tweets.append(tweet)
            return tweet

    def add_dm(self, text: str, *, author: str = "customer", to: str = "") -> dict[str, Any]:
        sender = SELF if author == SELF["username"] else self.user(author)
        other = self.user(to) if to else None
        with self.lock:
            a, b = sorted({sender["id"], (other or SELF)["id"]}, key=int)
            event = {"id": str(next(self.ids)), "event_type": "MessageCreate", "text": text,
                     "sender_id": sender["id"], "dm_conversation_id": f"{a}-{b}", "created_at": self._next_time()}
            self.events.append(event)
            return event

    def seed(self, count: int) -> None:
        for i in range(count):
            self.add(f"seeded question {i + 1}")

    def register_callback(self, uri: str, client_id: str = CLIENT_ID) -> None:
        with self.lock:
            self.callbacks.setdefault(client_id, set()).add(uri)

    def issue(self, lifetime: float = 7200) -> dict[str, Any]:
        """A fresh token pair, as the token endpoint hands it out."""
        with self.lock:
            access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self.tokens[access] = time.time() + lifetime
            self.refresh_tokens.add(refresh)
        return {"token_type": "bearer", "expires_in": int(lifetime), "access_token": access, "scope": SCOPE_TEXT,
                "refresh_token": refresh}

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {token: 0.0 for token in self.tokens}

    def state(self) -> dict[str, Any]:
        return {"posted": self.posted, "dms_sent": self.dms_sent, "tweets": len(self.tweets)}

    # -- programming -----------------------------------------------------------------------------
    def rate_limit(self, path: str, reset_in: int = 600) -> int:
        """The next call to `path` gets X's 429 (code 88) with the window's reset; returns the epoch."""
        reset = int(time.time()) + reset_in
        self.inject(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}], "title": "Too Many Requests",
                      "detail": "Too Many Requests", "type": "about:blank", "status": 429}, path=path,
                    headers={"x-rate-limit-limit": "15", "x-rate-limit-remaining": "0",
                             "x-rate-limit-reset": str(reset)})
        return reset

    def usage_capped(self, path: str | None = None, times: int = 1) -> None:
        self.inject(429, problem(429, "usage-capped", "UsageCapExceeded", "Usage cap exceeded: Monthly product cap"),
                    path=path, times=times)

    # -- serving ---------------------------------------------------------------------------------
    def _limits(self, req: Request) -> dict[str, str]:
        return {"x-rate-limit-limit": "300", "x-rate-limit-remaining": "299",
                "x-rate-limit-reset": str(int(time.time()) + 900)}

    def handle(self, req: Request) -> Reply:
        if req.path == "/i/oauth2/authorize":
            return self._authorize(req)
        if req.path == "/2/oauth2/token" and req.method == "POST":
            return self._token(req)
        headers = self._limits(req)
        token = req.bearer()
        with self.lock:
            expiry = self.tokens.get(token or "")
        if expiry is None or expiry < time.time():
            return Reply(401, UNAUTHORIZED, headers)
        if req.path == "/2/users/me" and req.method == "GET":
            return Reply(200, {"data": dict(SELF)}, headers)
        if req.path == f"/2/users/{SELF['id']}/mentions" and req.method == "GET":
            return self._mentions(req, headers)
        if req.path == "/2/dm_events" and req.method == "GET":
            return self._dm_events(req, headers)
        if req.path == "/2/tweets" and req.method == "POST":
            return self._post_tweet(req, headers)
        if req.path.startswith("/2/dm_conversations/") and req.path.endswith("/messages") and req.method == "POST":
            return self._send_dm(req, headers)
        return Reply(404, problem(404, "about:blank", "Not Found Error", "Not found"), headers)

    def _authorize(self, req: Request) -> Reply:
        client_id, redirect = req.arg("client_id") or "", req.arg("redirect_uri") or ""
        with self.lock:
            registered = self.callbacks.get(client_id)
        if registered is None or redirect not in registered or req.arg("response_type") != "code" \
                or req.arg("code_challenge_method") != "S256" or not req.arg("code_challenge"):
            return Reply(400, b"Something went wrong. You weren't able to give access to the App.")
        if set((req.arg("scope") or "").split()) != set(SCOPE_TEXT.split()):
            return Reply(400, b"Something went wrong: unexpected scope.")
        code = secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = {"client_id": client_id, "redirect_uri": redirect, "challenge": req.arg("code_challenge"),
                                "expires": time.time() + 30}
        query = urlencode({"state": req.arg("state") or "", "code": code})
        return Reply(302, b"", {"Location": f"{redirect}?{query}"})

    def _token(self, req: Request) -> Reply:
        form = req.form()
        invalid = Reply(400, {"error": "invalid_request", "error_description": "Value passed for the token was invalid."})
        with self.lock:
            if form.get("client_id") not in self.callbacks:
                return Reply(400, {"error": "invalid_client", "error_description": "Missing valid authorization header"})
            if form.get("grant_type") == "authorization_code":
                grant = self.codes.pop(form.get("code", ""), None)
                if grant is None or grant["expires"] < time.time() or grant["client_id"] != form["client_id"] \
                        or grant["redirect_uri"] != form.get("redirect_uri"):
                    return invalid
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                    return invalid
            elif form.get("grant_type") == "refresh_token":
                refresh = form.get("refresh_token", "")
                if refresh not in self.refresh_tokens:
                    return invalid
                self.refresh_tokens.discard(refresh)  # rotation: a refresh token works once
                self.used_refresh.add(refresh)
            else:
                return Reply(400, {"error": "unsupported_grant_type", "error_description": "grant_type invalid"})
        return Reply(200, self.issue())

    def _invalid_params(self, req: Request, allowed: set[str], fields: dict[str, set[str]]) -> Reply | None:
        for name, values in req.query.items():
            if name not in allowed:
                return Reply(400, {"errors": [{"parameters": {name: values}, "message":
                                               f"The query parameter [{name}] is not one of {sorted(allowed)}"}],
                                   "title": "Invalid Request", "detail": "One or more parameters to your request was "
                                   "invalid.", "type": PROBLEMS + "invalid-request"})
            if name in fields:
                bad = set(values[0].split(",")) - fields[name]
                if bad:
                    return Reply(400, {"errors": [{"parameters": {name: values}, "message":
                                                   f"The `{name}` query parameter value [{sorted(bad)[0]}] is not one of "
                                                   f"{sorted(fields[name])}"}], "title": "Invalid Request",
                                       "detail": "One or more parameters to your request was invalid.",
                                       "type": PROBLEMS + "invalid-request"})
        return None

    def _page(self, req: Request, rows: list[dict[str, Any]], low: int, high: int) -> tuple[list, str | None] | Reply:
        try:
            size = int(req.arg("max_results") or "10")
        except ValueError:
            size = -1
        if not low <= size <= high:
            return Reply(400, {"errors": [{"message": f"The `max_results` query parameter value [{size}] is not "
                                           f"between {low} and {high}"}], "title": "Invalid Request",
                               "detail": "One or more parameters to your request was invalid.",
                               "type": PROBLEMS + "invalid-request"})
        start = 0
        token = req.arg("pagination_token")
        if token is not None:
            with self.lock:
                if token not in self._page_tokens:
                    return Reply(400, problem(400, "invalid-request", "Invalid Request", "Invalid pagination token"))
                start = self._page_tokens[token]
        page = rows[start:start + size]
        following = None
        if start + size < len(rows):
            following = secrets.token_hex(8)
            with self.lock:
                self._page_tokens[following] = start + size
        return page, following

    def _mentions(self, req: Request, headers: dict[str, str]) -> Reply:
        bad = self._invalid_params(req, MENTION_PARAMS, {"tweet.fields": TWEET_FIELDS, "user.fields": USER_FIELDS,
                                                         "expansions": {"author_id", "referenced_tweets.id",
                                                                        "in_reply_to_user_id"}})
        if bad:
            return bad
        since = int(req.arg("since_id") or 0)
        start = req.arg("start_time")
        if start is not None and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", start):
            return Reply(400, problem(400, "invalid-request", "Invalid Request", "Invalid start_time"), headers)
        with self.lock:
            rows = [t for t in reversed(self.tweets) if int(t["id"]) > since and t["author_id"] != SELF["id"]
                    and f"@{SELF['username']}" in t["text"] and (start is None or t["created_at"][:19] >= start[:19])
                    ][:800]
        paged = self._page(req, rows, 5, 100)
        if isinstance(paged, Reply):
            return paged
        page, following = paged
        fields = set((req.arg("tweet.fields") or "").split(",")) | {"id", "text", "edit_history_tweet_ids"}
        body: dict[str, Any] = {"meta": {"result_count": len(page)}}
        if page:
            body["data"] = [{k: v for k, v in t.items() if k in fields} for t in page]
            body["meta"].update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
            if "author_id" in (req.arg("expansions") or ""):
                body["includes"] = {"users": self._users(req, {t["author_id"] for t in page})}
        if following:
            body["meta"]["next_token"] = following
        if self.partial_errors and page:
            body["errors"] = [{"value": "9", "detail": "Could not find user with id: [9].", "title": "Not Found Error",
                               "resource_type": "user", "parameter": "id", "resource_id": "9",
                               "type": PROBLEMS + "resource-not-found"}]
        return Reply(200, body, headers)

    def _users(self, req: Request, ids: set[str]) -> list[dict[str, str]]:
        wanted = set((req.arg("user.fields") or "").split(",")) | {"id", "name", "username"}
        with self.lock:
            return [{k: v for k, v in self.users[i].items() if k in wanted} for i in sorted(ids) if i in self.users]

    def _dm_events(self, req: Request, headers: dict[str, str]) -> Reply:
        bad = self._invalid_params(req, DM_PARAMS, {"dm_event.fields": DM_FIELDS, "user.fields": USER_FIELDS,
                                                    "event_types": {"MessageCreate", "ParticipantsJoin",
                                                                    "ParticipantsLeave"},
                                                    "expansions": {"sender_id", "participant_ids",
                                                                   "referenced_tweets.id", "attachments.media_keys"}})
        if bad:
            return bad
        with self.lock:
            rows = list(reversed(self.events))
        paged = self._page(req, rows, 1, 100)
        if isinstance(paged, Reply):
            return paged
        page, following = paged
        fields = set((req.arg("dm_event.fields") or "").split(",")) | {"id", "event_type", "text"}
        body: dict[str, Any] = {"meta": {"result_count": len(page)}}
        if page:
            body["data"] = [{k: v for k, v in e.items() if k in fields} for e in page]
            if "sender_id" in (req.arg("expansions") or ""):
                body["includes"] = {"users": self._users(req, {e["sender_id"] for e in page})}
        if following:
            body["meta"]["next_token"] = following
        return Reply(200, body, headers)

    def _post_tweet(self, req: Request, headers: dict[str, str]) -> Reply:
        body = req.json()
        if set(body) - {"text", "reply", "quote_tweet_id", "media", "poll", "reply_settings"} \
                or not isinstance(body.get("text"), str):
            return Reply(400, problem(400, "invalid-request", "Invalid Request", "Invalid body"), headers)
        reply = body.get("reply")
        parent = None
        if reply is not None:
            if not isinstance(reply, dict) or set(reply) - {"in_reply_to_tweet_id", "exclude_reply_user_ids"}:
                return Reply(400, problem(400, "invalid-request", "Invalid Request", "Invalid reply"), headers)
            with self.lock:
                parent = next((t for t in self.tweets if t["id"] == reply.get("in_reply_to_tweet_id")), None)
            if parent is None:
                return Reply(400, problem(400, "invalid-request", "Invalid Request",
                                          "The post you are replying to does not exist."), headers)
            summoned = parent["author_id"] == SELF["id"] or f"@{SELF['username']}" in parent["text"]
            if not summoned:
                return Reply(403, NOT_SUMMONED, headers)
        tweet = self.add(body["text"], author=SELF["username"], reply_to=parent["id"] if parent else None,
                         mention=False)
        with self.lock:
            self.posted.append({"text": body["text"], "reply": reply, "id": tweet["id"]})
        return Reply(201, {"data": {"id": tweet["id"], "text": body["text"], "edit_history_tweet_ids": [tweet["id"]]}},
                     headers)

    def _send_dm(self, req: Request, headers: dict[str, str]) -> Reply:
        body = req.json()
        if set(body) - {"text", "attachments"} or not isinstance(body.get("text"), str):
            return Reply(400, problem(400, "invalid-request", "Invalid Request", "Invalid body"), headers)
        middle = req.path.removeprefix("/2/dm_conversations/").removesuffix("/messages")
        if middle.startswith("with/"):
            other = middle.removeprefix("with/")
            if other not in self.users or other == SELF["id"]:
                return Reply(403, problem(403, "about:blank", "Forbidden",
                                          "You cannot send messages to this user."), headers)
            event = self.add_dm(body["text"], author=SELF["username"], to=self.users[other]["username"])
        else:
            with self.lock:
                known = any(e["dm_conversation_id"] == middle for e in self.events)
            if not known:
                return Reply(404, problem(404, "resource-not-found", "Not Found Error", "Conversation not found"),
                             headers)
            event = {"id": str(next(self.ids)), "event_type": "MessageCreate", "text": body["text"],
                     "sender_id": SELF["id"], "dm_conversation_id": middle, "created_at": self._next_time()}
            with self.lock:
                self.events.append(event)
        with self.lock:
            self.dms_sent.append({"path": req.path, "text": body["text"], "id": event["id"]})
        return Reply(201, {"data": {"dm_conversation_id": event["dm_conversation_id"], "dm_event_id": event["id"]}},
                     headers)


SCOPE_TEXT = "tweet.read tweet.write users.read dm.read dm.write offline.access"


def signed_in_secrets(fake: XFake, lifetime: float = 7200) -> MemorySecrets:
    """An account's keyring after a sign-in: the one OAuth token entry."""
    answer = fake.issue(lifetime)
    tokens = Tokens.from_response(answer, datetime.now(timezone.utc), None, "X")
    return MemorySecrets({TOKEN_ENTRY: tokens.to_json()})


def settings_for(fake: XFake, **extra: Any) -> dict[str, Any]:
    return {"client_id": CLIENT_ID, "api_base": fake.url, "authorize_url": f"{fake.url}/i/oauth2/authorize",
            "user_id": SELF["id"], "username": SELF["username"], **extra}


class XHarness(HttpFakeHarness):
    """Contract-suite harness (see tests/fakes/__init__.py); pages of 5 (X's minimum for mentions)."""

    kind = "x"
    ERRORS = {
        "auth": (401, UNAUTHORIZED, AuthError),
        "transient": (503, problem(503, "about:blank", "Service Unavailable", "Service Unavailable"), TransientError),
        "permanent": (400, problem(400, "invalid-request", "Invalid Request", "One or more parameters to your request "
                                   "was invalid."), PermanentError),
    }

    def __init__(self, fake: XFake):
        self.fake = fake
        self.secrets = signed_in_secrets(fake)

    def connector(self) -> XConnector:
        return XConnector(settings_for(self.fake), self.secrets, mention_page=5, dm_page=3, sleep=lambda s: None)

    def seed(self, n: int) -> list[str]:
        return [self.fake.add(f"question {i + 1}")["id"] for i in range(n)]

    def sent(self) -> list[dict[str, Any]]:
        return list(self.fake.posted) + list(self.fake.dms_sent)


@pytest.fixture
def x_fake() -> Iterator[XFake]:
    fake = XFake()
    with fake.running():
        yield fake


@pytest.fixture
def x_harness() -> Iterator[XHarness]:
    fake = XFake()
    with fake.running():
        yield XHarness(fake)


if __name__ == "__main__":
    serve_cli(XFake)

