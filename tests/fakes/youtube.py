"""A fake YouTube Data API v3 (comment threads, comments, videos, channels), held to Google's own description.

Every request is checked against the discovery document `youtube.v3.json` that google-api-python-client
ships (`googleapiclient/discovery_cache/documents/`): the method must exist for the HTTP method and path,
every query parameter must be one the method or the API declares, required ones present, enum values
among the listed ones, integers within minimum/maximum, `part` names among the resource's properties;
a request body's field names must be the schema's. Every answer the fake gives is checked the same way
against the method's response schema before it leaves. A request that breaks the description is
answered 400 with Google's error shape (reason `unexpectedParameter`, `missingRequiredParameter`,
`invalidParameter`) and recorded in `violations`, which the fixtures assert empty: the connector cannot
drift from Google's description, and neither can this fake.

With `google` (a tests/fakes/google.GoogleFake, not started) the sign-in is Google's fake: its OAuth
paths (authorize, token) are handed to it, and the access tokens it issued with the YouTube scope are
taken here, so `account add youtube` signs in and then syncs against one server.

Wire facts followed beyond the document (Google's reference pages, shared/CONNECTORS.md): the filters of
commentThreads.list are exclusive ("specify exactly one"); threads come newest first; a thread's id is
its top-level comment's id and a reply's id is "<parent id>.<suffix>"; `replies.comments` carries at
most REPLIES_CARRIED replies; comments.list with parentId pages a thread's replies; `textFormat=plainText`
makes textDisplay plain text; timestamps are RFC 3339 UTC ("2026-11-30T10:00:00Z"). Quota: commentThreads,
comments, videos and channels list cost 1 unit, comments.insert 50, every request counts (invalid ones
too), and past `quota` units a day every call is 403 `quotaExceeded`. Errors are
`{"error": {"code", "message", "errors": [{"message", "domain", "reason"}], "status"}}`. Tokens: the
bearer must be one of `tokens`; `POST /token` (grant_type=refresh_token with the client's id and
secret) issues a new access token, as Google's token endpoint does.
"""

from __future__ import annotations

import base64
import functools
import html
import itertools
import json
import os
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest

from socialdesk.connectors.base import AuthError, MemorySecrets, PermanentError, TransientError
from socialdesk.connectors.oauth import TOKEN_ENTRY, Tokens
from socialdesk.connectors.youtube import YouTubeConnector
from tests.fakes import FakeServer, HttpFakeHarness, Reply, Request, serve_cli

CHANNEL_ID = "UCshopchannel0000000000a"
CHANNEL_TITLE = "Juniper & Rye Bakes"
CLIENT_ID = "1234-fake.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fake-secret"
REPLIES_CARRIED = 5
# google.endpoint puts every Google host under the test server: {api_base}/{host}{path}.
API_PREFIX = "/www.googleapis.com/youtube/v3/"
TOKEN_PATH = "/oauth2.googleapis.com/token"
COST = {"list": 1, "insert": 50, "update": 50, "delete": 50, "setModerationStatus": 50, "markAsSpam": 50}


@functools.lru_cache(maxsize=1)
def discovery() -> dict[str, Any]:
    import googleapiclient

    path = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents",
                        "youtube.v3.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def method_for(http_method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """("resource.method", its description) for a request path under /youtube/v3/."""
    doc = discovery()
    for resource_name, resource in doc["resources"].items():
        for name, method in resource.get("methods", {}).items():
            if method["httpMethod"] == http_method and "/" + method["path"] == path:
                return f"{resource_name}.{name}", method
    return None


def schema_problems(value: Any, ref: str, where: str = "") -> list[str]:
    """Field names in `value` that schema `ref` does not declare (recursively), and wrong JSON types."""
    schemas = discovery()["schemas"]
    return _check(value, schemas[ref], schemas, where or ref)


def _check(value: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str) -> list[str]:
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    problems: list[str] = []
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                problems += _check(item, properties[key], schemas, f"{where}.{key}")
            elif extra is not None:
                problems += _check(item, extra, schemas, f"{where}.{key}")
            else:
                problems.append(f"{where}.{key}: not in the discovery document")
    elif kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected an array"]
        for index, item in enumerate(value):
            problems += _check(item, schema.get("items", {}), schemas, f"{where}[{index}]")
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: expected a string")
        elif "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} is not one of the enum values")
    elif kind == "integer":
        if type(value) is not int:
            problems.append(f"{where}: expected an integer")
    elif kind == "boolean":
        if type(value) is not bool:
            problems.append(f"{where}: expected a boolean")
    return problems


def parameter_problems(method: dict[str, Any], query: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(reason, message) for every way the query breaks the method's declared parameters."""
    doc = discovery()
    declared = {**doc["parameters"], **method.get("parameters", {})}
    problems: list[tuple[str, str]] = []
    for name, values in query.items():
        spec = declared.get(name)
        if spec is None:
            problems.append(("unexpectedParameter", f"unknown parameter {name!r}"))
            continue
        if len(values) > 1 and not spec.get("repeated"):
            problems.append(("invalidParameter", f"{name!r} given {len(values)} times"))
        for value in values:
            if "enum" in spec and value not in spec["enum"]:
                problems.append(("invalidParameter", f"{name}={value!r} is not one of {spec['enum']}"))
            if spec.get("type") == "integer":
                try:
                    number = int(value)
                except ValueError:
                    problems.append(("invalidParameter", f"{name}={value!r} is not an integer"))
                    continue
                if "minimum" in spec and number < int(spec["minimum"]):
                    problems.append(("invalidParameter", f"{name}={number} is below {spec['minimum']}"))
                if "maximum" in spec and number > int(spec["maximum"]):
                    problems.append(("invalidParameter", f"{name}={number} is above {spec['maximum']}"))
            if spec.get("type") == "boolean" and value not in ("true", "false"):
                problems.append(("invalidParameter", f"{name}={value!r} is not a boolean"))
    for name, spec in declared.items():
        if spec.get("required") and name not in query:
            problems.append(("missingRequiredParameter", f"required parameter {name!r} is missing"))
    response = method.get("response") or method.get("request")
    if "part" in query and response is not None:
        resource = _resource_schema(response["$ref"])
        allowed = set(discovery()["schemas"][resource]["properties"]) - {"kind", "etag"}
        for value in query["part"]:
            for part in value.split(","):
                if part.strip() not in allowed:
                    problems.append(("invalidParameter", f"part {part!r} is not a property of {resource}"))
    return problems


def _resource_schema(ref: str) -> str:
    """The resource a method returns: CommentThread for CommentThreadListResponse."""
    return ref.removesuffix("ListResponse")


def google_error(status: int, reason: str, message: str, domain: str = "youtube.parameter") -> Reply:
    statuses = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
    return Reply(status, {"error": {"code": status, "message": message,
                                    "errors": [{"message": message, "domain": domain, "reason": reason}],
                                    "status": statuses.get(status, "UNKNOWN")}})


QUOTA_EXCEEDED = {"error": {
    "code": 403,
    "message": "The request cannot be completed because you have exceeded your "
               "<a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
    "errors": [{"message": "The request cannot be completed because you have exceeded your "
                           "<a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
                "domain": "youtube.quota", "reason": "quotaExceeded"}],
}}
INVALID_CREDENTIALS = {"error": {
    "code": 401, "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                            "login cookie or other valid authentication credential.",
    "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                "location": "Authorization", "locationType": "header"}],
    "status": "UNAUTHENTICATED",
}}


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class YouTubeFake(FakeServer):
    def __init__(self, lifetime: float = 300.0, google: Any = None):
        super().__init__(lifetime)
        self.google = google
        self.counter = itertools.count(1)
        # Fake clock: one second per event, starting an hour ago, so seeded comments look recent.
        self.clock = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
        self.tokens: set[str] = {"good-token"}
        self.refresh_tokens: set[str] = {"good-refresh"}
        self.refresh_calls = 0
        self.threads: list[dict[str, Any]] = []  # newest first; each: {"thread", "replies": [...]}
        self.videos: dict[str, str] = {"vid-sourdough": "How we shape sourdough", "vid-croissant": "Croissants at 5 am"}
        self.inserted: list[dict[str, Any]] = []  # the comments.insert bodies we accepted
        self.violations: list[str] = []
        self.quota = 10_000
        self.units = 0  # spent today
        self.units_by_method: dict[str, int] = {}

    # -- seeding -----------------------------------------------------------------------------------
    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def _comment(self, comment_id: str, text: str, author: str, *, video_id: str, parent: str = "",
                 channel: str = "") -> dict[str, Any]:
        when = rfc3339(self._tick())
        author_channel = channel or "UC" + author.lower().replace(" ", "")[:10].ljust(22, "x")
        snippet: dict[str, Any] = {
            "channelId": CHANNEL_ID,
            "authorDisplayName": author if author.startswith("@") else "@" + author.lower().replace(" ", ""),
            "authorProfileImageUrl": "https://yt3.ggpht.example/avatar.jpg",
            "authorChannelUrl": f"http://www.youtube.com/channel/{author_channel}",
            "authorChannelId": {"value": author_channel},
            "textDisplay": text,
            "textOriginal": text,
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "publishedAt": when,
            "updatedAt": when,
        }
        if video_id:
            snippet["videoId"] = video_id
        if parent:
            snippet["parentId"] = parent
        return {"kind": "youtube#comment", "etag": secrets.token_hex(6), "id": comment_id, "snippet": snippet}

    def add(self, text: str = "When do you open?", author: str = "Customer", video_id: str = "vid-sourdough",
            can_reply: bool = True, **_: Any) -> dict[str, Any]:
        """A new top-level comment (a new thread, newest first); returns the thread resource."""
        with self.lock:
            comment_id = f"Ugz{next(self.counter):05d}AaBbCc"
            top = self._comment(comment_id, text, author, video_id=video_id)
            thread = {
                "kind": "youtube#commentThread", "etag": secrets.token_hex(6), "id": comment_id,
                "snippet": {"channelId": CHANNEL_ID, "topLevelComment": top, "canReply": can_reply,
                            "totalReplyCount": 0, "isPublic": True,
                            **({"videoId": video_id} if video_id else {})},
            }
            self.threads.insert(0, {"thread": thread, "replies": []})
            return thread

    def add_reply(self, thread_id: str, text: str, author: str = "Customer", *, ours: bool = False) -> dict[str, Any]:
        with self.lock:
            entry = self._thread(thread_id)
            assert entry is not None, thread_id
            snippet = entry["thread"]["snippet"]
            reply_id = f"{thread_id}.{next(self.counter):03d}Rr"
            reply = self._comment(reply_id, text, CHANNEL_TITLE if ours else author,
                                  video_id=snippet.get("videoId", ""), parent=thread_id,
                                  channel=CHANNEL_ID if ours else "")
            entry["replies"].append(reply)
            snippet["totalReplyCount"] = len(entry["replies"])
            return reply

    def edit(self, comment_id: str, text: str) -> None:
        """The author edits a comment: new text, a later updatedAt, same id."""
        with self.lock:
            for entry in self.threads:
                for comment in [entry["thread"]["snippet"]["topLevelComment"], *entry["replies"]]:
                    if comment["id"] == comment_id:
                        comment["snippet"].update(textOriginal=text, textDisplay=text,
                                                  updatedAt=rfc3339(self._tick()))
                        return
        raise KeyError(comment_id)

    def seed(self, count: int) -> None:
        for i in range(count):
            self.add(text=f"seeded question {i + 1}")

    def state(self) -> dict[str, Any]:
        return {"inserted": self.inserted, "units": self.units, "violations": self.violations}

    def _thread(self, thread_id: str) -> dict[str, Any] | None:
        return next((e for e in self.threads if e["thread"]["id"] == thread_id), None)

    # -- serving -----------------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        with self.lock:
            if self.google is not None and req.path.startswith(("/accounts.google.com/", TOKEN_PATH)):
                return self.google.handle(req)  # the sign-in and refreshes: Google's fake
            if req.path == TOKEN_PATH and req.method == "POST":
                return self._token(req)
            if not req.path.startswith(API_PREFIX):
                return google_error(404, "notFound", "Not Found", "global")
            found = method_for(req.method, req.path.removeprefix("/www.googleapis.com"))
            if found is None:
                self.violations.append(f"{req.method} {req.path}: no such method in the discovery document")
                return google_error(404, "notFound", "Not Found", "global")
            name, method = found
            if req.bearer() not in self.tokens and not self._signed_in(req):
                return Reply(401, INVALID_CREDENTIALS)
            # Every request costs, invalid ones included; a spent quota refuses everything.
            cost = COST.get(name.split(".")[1], 1)
            if self.units + cost > self.quota:
                return Reply(403, QUOTA_EXCEEDED)
            self.units += cost
            self.units_by_method[name] = self.units_by_method.get(name, 0) + cost
            problems = parameter_problems(method, req.query)
            if method.get("request") and req.body:
                try:
                    body = req.json()
                except ValueError:
                    return google_error(400, "parseError", "Parse Error", "global")
                problems += [("invalidParameter", p) for p in schema_problems(body, method["request"]["$ref"])]
            if problems:
                self.violations += [f"{name}: {message}" for _, message in problems]
                reason, message = problems[0]
                return google_error(400, reason, message)
            reply = getattr(self, "_" + name.replace(".", "_"))(req)
            if 200 <= reply.status < 300 and method.get("response") and not isinstance(reply.body, bytes):
                wrong = schema_problems(reply.body, method["response"]["$ref"])
                if wrong:  # the fake itself strayed from the description: fail loudly
                    self.violations += [f"{name} answer: {p}" for p in wrong]
                    return Reply(500, {"error": {"code": 500, "message": "fake answer breaks the discovery document"}})
            return reply

    def _signed_in(self, req: Request) -> bool:
        """A token Google's fake issued with the YouTube scope (when this fake is mounted on it)."""
        if self.google is None:
            return False
        scope = self.google._scope_of(req) or ""
        return "https://www.googleapis.com/auth/youtube.force-ssl" in scope.split()

    def _token(self, req: Request) -> Reply:
        form = req.form()
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Reply(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") not in self.refresh_tokens:
            return Reply(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
        self.refresh_calls += 1
        token = "access-" + secrets.token_hex(8)
        self.tokens.add(token)
        return Reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer",
                           "scope": "https://www.googleapis.com/auth/youtube.force-ssl"})

    @staticmethod
    def _page(items: list[Any], req: Request, default: int = 20) -> tuple[list[Any], str]:
        """One page and the next page's token (an opaque offset)."""
        size = int(req.arg("maxResults") or default)
        start = 0
        token = req.arg("pageToken")
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("o:"))
            except (ValueError, UnicodeDecodeError):
                raise _Refused(google_error(400, "invalidPageToken",
                                            "The request specifies an invalid page token.")) from None
        page = items[start:start + size]
        more = start + size < len(items)
        return page, base64.urlsafe_b64encode(f"o:{start + size}".encode()).decode() if more else ""

    def _view(self, comment: dict[str, Any], req: Request) -> dict[str, Any]:
        view = json.loads(json.dumps(comment))
        if (req.arg("textFormat") or "html") == "html":
            view["snippet"]["textDisplay"] = html.escape(comment["snippet"]["textOriginal"]).replace("\n", "<br>")
        return view

    def _parts(self, req: Request) -> set[str]:
        return {p.strip() for v in req.query.get("part", []) for p in v.split(",")}

    def _commentThreads_list(self, req: Request) -> Reply:
        filters = [f for f in ("allThreadsRelatedToChannelId", "channelId", "id", "videoId") if req.arg(f)]
        if len(filters) != 1:
            self.violations.append(f"commentThreads.list: exactly one filter is required, got {filters}")
            return google_error(400, "invalidFilters", "The request specifies an invalid filter parameter.")
        if req.arg("allThreadsRelatedToChannelId") not in (None, CHANNEL_ID):
            return google_error(403, "forbidden", "Access forbidden.")
        try:
            page, token = self._page(self.threads, req)
        except _Refused as refused:
            return refused.reply
        parts = self._parts(req)
        items = []
        for entry in page:
            thread = entry["thread"]
            view: dict[str, Any] = {"kind": thread["kind"], "etag": thread["etag"], "id": thread["id"]}
            if "snippet" in parts:
                snippet = dict(thread["snippet"])
                snippet["topLevelComment"] = self._view(snippet["topLevelComment"], req)
                view["snippet"] = snippet
            if "replies" in parts and entry["replies"]:
                view["replies"] = {"comments": [self._view(c, req) for c in entry["replies"][:REPLIES_CARRIED]]}
            items.append(view)
        body: dict[str, Any] = {"kind": "youtube#commentThreadListResponse", "etag": secrets.token_hex(6),
                                "pageInfo": {"totalResults": len(page), "resultsPerPage": len(page)}, "items": items}
        if token:
            body["nextPageToken"] = token
        return Reply(200, body)

    def _comments_list(self, req: Request) -> Reply:
        parent = req.arg("parentId")
        if not parent and not req.arg("id"):
            self.violations.append("comments.list: parentId or id is required")
            return google_error(400, "missingRequiredParameter", "No filter selected.")
        entry = self._thread(parent or "")
        if entry is None:
            return google_error(404, "commentNotFound", "The comment identified by the parentId parameter could "
                                "not be found.", "youtube.comment")
        try:
            page, token = self._page(entry["replies"], req)
        except _Refused as refused:
            return refused.reply
        body: dict[str, Any] = {"kind": "youtube#commentListResponse", "etag": secrets.token_hex(6),
                                "pageInfo": {"totalResults": len(page), "resultsPerPage": len(page)},
                                "items": [self._view(c, req) for c in page]}
        if token:
            body["nextPageToken"] = token
        return Reply(200, body)

    def _comments_insert(self, req: Request) -> Reply:
        body = req.json()
        snippet = body.get("snippet") if isinstance(body, dict) else None
        if not isinstance(snippet, dict) or not snippet.get("parentId"):
            return google_error(400, "parentIdMissing", "The comment must be linked to a parent comment.",
                                "youtube.comment")
        text = snippet.get("textOriginal")
        if not isinstance(text, str) or not text.strip():
            return google_error(400, "commentTextRequired", "The comment text is required.", "youtube.comment")
        if len(text) > 10_000:
            return google_error(400, "commentTextTooLong", "The comment text is too long.", "youtube.comment")
        entry = self._thread(snippet["parentId"])
        if entry is None:
            return google_error(404, "parentCommentNotFound", "The parent comment could not be found.",
                                "youtube.comment")
        if not entry["thread"]["snippet"]["canReply"]:
            return google_error(400, "operationNotSupported", "The API user is not able to insert a comment in "
                                "reply to the top-level comment.", "youtube.comment")
        self.inserted.append(body)
        reply = self.add_reply(snippet["parentId"], text, ours=True)
        return Reply(200, reply)

    def _videos_list(self, req: Request) -> Reply:
        ids = [i for v in req.query.get("id", []) for i in v.split(",") if i]
        items = [{"kind": "youtube#video", "etag": secrets.token_hex(6), "id": i,
                  "snippet": {"title": self.videos[i], "channelId": CHANNEL_ID, "channelTitle": CHANNEL_TITLE}}
                 for i in ids if i in self.videos]
        return Reply(200, {"kind": "youtube#videoListResponse", "etag": secrets.token_hex(6),
                           "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}, "items": items})

    def _channels_list(self, req: Request) -> Reply:
        mine = req.arg("mine") == "true"
        ids = [i for v in req.query.get("id", []) for i in v.split(",") if i]
        items = []
        if mine or CHANNEL_ID in ids:
            items.append({"kind": "youtube#channel", "etag": secrets.token_hex(6), "id": CHANNEL_ID,
                          "snippet": {"title": CHANNEL_TITLE, "customUrl": "@juniperandrye",
                                      "description": "Bread, mostly."}})
        return Reply(200, {"kind": "youtube#channelListResponse", "etag": secrets.token_hex(6),
                           "pageInfo": {"totalResults": len(items), "resultsPerPage": 5}, "items": items})


class _Refused(Exception):
    def __init__(self, reply: Reply):
        self.reply = reply


def token_entry(access: str = "good-token", refresh: str = "good-refresh",
                expires_at: datetime | None = None) -> str:
    return Tokens(access_token=access, refresh_token=refresh,
                  expires_at=expires_at or datetime.now(timezone.utc) + timedelta(hours=1)).to_json()


def account_secrets(**tokens: Any) -> MemorySecrets:
    return MemorySecrets({TOKEN_ENTRY: token_entry(**tokens), "client_secret": CLIENT_SECRET})


def settings_for(fake: YouTubeFake, **extra: Any) -> dict[str, Any]:
    return {"client_id": CLIENT_ID, "use": "youtube", "api_base": fake.url, "channel_id": CHANNEL_ID, **extra}


class YouTubeHarness(HttpFakeHarness):
    """Contract-suite harness (see tests/fakes/__init__.py). Its account's quota is set far above what the
    suite spends, so the quota pace never delays a fetch here (tests/unit/test_youtube.py covers it)."""

    kind = "youtube"
    ERRORS = {
        "auth": (401, INVALID_CREDENTIALS, AuthError),
        "transient": (503, b"<html>Service Unavailable</html>", TransientError),
        "permanent": (400, {"error": {"code": 400, "message": "The API server failed to successfully process "
                                      "the request.", "errors": [{"message": "processingFailure",
                                                                  "domain": "youtube.comment",
                                                                  "reason": "processingFailure"}]}},
                      PermanentError),
    }

    def __init__(self, fake: YouTubeFake):
        self.fake = fake
        self.secrets = account_secrets()

    def connector(self) -> YouTubeConnector:
        return YouTubeConnector(settings_for(self.fake, usage_budget=10**9), self.secrets, page_size=3,
                                sleep=lambda s: None)

    def seed(self, n: int) -> list[str]:
        return [self.fake.add(f"question {i + 1}")["id"] for i in range(n)]

    def sent(self) -> list[dict[str, Any]]:
        return list(self.fake.inserted)


@pytest.fixture
def youtube_fake() -> Iterator[YouTubeFake]:
    fake = YouTubeFake()
    with fake.running():
        yield fake
    assert fake.violations == [], fake.violations


@pytest.fixture
def youtube_harness() -> Iterator[YouTubeHarness]:
    fake = YouTubeFake()
    with fake.running():
        yield YouTubeHarness(fake)
    assert fake.violations == [], fake.violations


if __name__ == "__main__":
    serve_cli(YouTubeFake)
