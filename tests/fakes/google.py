"""A fake Google: OAuth (installed app, PKCE S256, refresh), Business Profile accounts, locations and
reviews, opening hours, and `channels.list?mine=true` for the sign-in.

Every Google host is served under one port with the host as the first path segment, as
`connectors.google.endpoint` builds addresses when the `api_base` setting points here:
`{url}/oauth2.googleapis.com/token`, `{url}/mybusiness.googleapis.com/v4/accounts/1/locations/2/reviews`.

Wire facts followed (shared/CONNECTORS.md and Google's references):
- `GET /o/oauth2/v2/auth` plays the owner consenting: 302 to the loopback redirect with `code`, `state`
  and `scope` (the granted scopes; `grant_only` lets the owner untick one). The token endpoint takes a
  form: authorization_code (client id + secret + PKCE verifier + the same redirect_uri) answers
  `{access_token, expires_in: 3599, refresh_token, scope, token_type: "Bearer"}`; refresh_token answers
  the same without a refresh token (Google does not rotate them). Errors: 400 `{"error":
  "invalid_grant", "error_description": ...}`, 401 `{"error": "invalid_client"}`.
- API errors are Google's JSON: `{"error": {"code", "message", "status", "errors"?: [{reason, domain,
  message}], "details"?: [...]}}`. 401 UNAUTHENTICATED for an unknown or expired token. `approved =
  False` makes every Business Profile call a 429 RESOURCE_EXHAUSTED with the google.rpc.ErrorInfo
  detail naming `quota_limit_value: "0"`, as Google answers before a project's access is approved.
- Account Management v1 `GET /v1/accounts` (pageSize ≤ 20, pageToken) → `{accounts: [{name, accountName,
  type}], nextPageToken}`; Business Information v1 `GET /v1/accounts/{a}/locations` (readMask required,
  pageSize ≤ 100) → `{locations: [{name: "locations/{l}", title, metadata}], nextPageToken}`;
  `GET /v1/locations/{l}?readMask=` and `PATCH /v1/locations/{l}?updateMask=regularHours,specialHours`.
- v4 reviews: `GET /v4/accounts/{a}/locations/{l}/reviews?pageSize=(≤50)&pageToken&orderBy` →
  `{reviews, averageRating, totalReviewCount, nextPageToken}`, ordered `updateTime desc` by default;
  review `{name, reviewId, reviewer{profilePhotoUrl, displayName, isAnonymous}, starRating (ONE..FIVE),
  comment, createTime, updateTime, reviewReply{comment, updateTime}}`; `PUT …/reviews/{r}/reply
  {comment}` → ReviewReply (400 INVALID_ARGUMENT over 4096 bytes, 400 FAILED_PRECONDITION for an
  unverified location); `DELETE …/reviews/{r}/reply` → `{}`. Page tokens are opaque.
- YouTube `GET /youtube/v3/channels?part=snippet&mine=true` → `{items: [{id, snippet{title, customUrl}}]}`.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from socialdesk.connectors.base import AuthError, MemorySecrets, PermanentError, TransientError
from socialdesk.connectors.google import CLIENT_SECRET, SCOPE_BUSINESS, SCOPE_YOUTUBE
from socialdesk.connectors.oauth import TOKEN_ENTRY, Tokens
from tests.fakes import FakeServer, HttpFakeHarness, Reply, Request, serve_cli

CLIENT_ID = "123-desktop.apps.googleusercontent.com"
CLIENT_SECRET_VALUE = "GOCSPX-fake-client-secret"
STARS = {1: "ONE", 2: "TWO", 3: "THREE", 4: "FOUR", 5: "FIVE"}
ACCOUNT = "accounts/1001"
LOCATION = "locations/2002"
AUTH = "/accounts.google.com"
TOKEN = "/oauth2.googleapis.com"
ACCOUNTS = "/mybusinessaccountmanagement.googleapis.com/v1"
INFO = "/mybusinessbusinessinformation.googleapis.com/v1"
REVIEWS = "/mybusiness.googleapis.com/v4"
YOUTUBE = "/www.googleapis.com/youtube/v3"


def google_error(code: int, status: str, message: str, reason: str = "", domain: str = "global",
                 details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason:
        error["errors"] = [{"message": message, "domain": domain, "reason": reason}]
    if details:
        error["details"] = details
    return {"error": error}


UNAUTHENTICATED = google_error(
    401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential.", reason="authError")
QUOTA_ZERO = google_error(
    429, "RESOURCE_EXHAUSTED",
    "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service "
    "'mybusinessaccountmanagement.googleapis.com' for consumer 'project_number:555'.",
    details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
              "domain": "googleapis.com",
              "metadata": {"quota_limit_value": "0", "quota_limit": "DefaultRequestsPerMinutePerProject",
                           "quota_metric": "mybusinessaccountmanagement.googleapis.com/default_requests",
                           "consumer": "projects/555", "service": "mybusinessaccountmanagement.googleapis.com"}},
             {"@type": "type.googleapis.com/google.rpc.Help",
              "links": [{"description": "Request a higher quota limit.",
                         "url": "https://cloud.google.com/docs/quotas/help/request_increase"}]}])
RATE_LIMITED = google_error(
    429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'.",
    details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
              "domain": "googleapis.com", "metadata": {"quota_limit_value": "300"}}])
QUOTA_EXCEEDED = google_error(403, "PERMISSION_DENIED", "The request cannot be completed because you have exceeded "
                              "your quota.", reason="quotaExceeded", domain="usageLimits")


def _stamp(when: datetime) -> str:
    """Google's timestamps: RFC 3339, UTC "Z", up to nanoseconds."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


class GoogleFake(FakeServer):
    def __init__(self, lifetime: float = 300.0):
        super().__init__(lifetime)
        # Review times: never behind the real clock (the app stamps its own replies with it), and each
        # change at least a second after the previous one.
        self.clock = datetime.now(timezone.utc) - timedelta(hours=1)
        self.ids = itertools.count(1)
        self.clients = {CLIENT_ID: CLIENT_SECRET_VALUE}
        self.codes: dict[str, tuple[str, str, str, str]] = {}  # code -> (client, challenge, redirect, scope)
        self.tokens: dict[str, dict[str, Any]] = {}  # access token -> {"scope", "expires"}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> scope
        self.deny_next = False
        self.grant_only: set[str] | None = None  # the scopes the owner leaves ticked (None: all asked)
        self.approved = True  # False: Business Profile quota 0 (not approved yet)
        self.accounts = [{"name": ACCOUNT, "accountName": "The Shop", "type": "PERSONAL"}]
        self.locations: dict[str, list[dict[str, Any]]] = {ACCOUNT: [{
            "name": LOCATION, "title": "The Shop – Main Street",
            "metadata": {"mapsUri": "https://maps.google.com/maps?cid=42", "hasVoiceOfMerchant": True,
                         "placeId": "ChIJfake"},
            "regularHours": {"periods": [
                {"openDay": d, "openTime": {"hours": 9}, "closeDay": d, "closeTime": {"hours": 17}}
                for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")]},
        }]}
        self.channels = [{"id": "UCshopchannel000000000001", "snippet": {"title": "Shop How-tos",
                                                                          "customUrl": "@shophowtos"}}]
        self.reviews: dict[str, dict[str, Any]] = {}  # reviewId -> review (of LOCATION)
        self.replies: list[dict[str, Any]] = []  # every PUT reply, in order
        self.patches: list[dict[str, Any]] = []  # every location PATCH: {"mask", "body"}

    # -- programming -----------------------------------------------------------------------------
    def _tick(self) -> datetime:
        self.clock = max(self.clock + timedelta(seconds=1), datetime.now(timezone.utc))
        return self.clock

    def add(self, text: str = "Lovely shop", rating: int = 5, *, name: str = "Alice Example",
            anonymous: bool = False, reply: str = "") -> dict[str, Any]:
        """A new review (newest updateTime); `reply`: it already carries the owner's reply."""
        with self.lock:
            review_id = f"AbFvOq{next(self.ids):06d}"
            when = _stamp(self._tick())
            review: dict[str, Any] = {
                "name": f"{ACCOUNT}/{LOCATION}/reviews/{review_id}",
                "reviewId": review_id,
                "reviewer": ({"isAnonymous": True} if anonymous else
                             {"displayName": name, "profilePhotoUrl": "https://lh3.googleusercontent.com/a/x",
                              "isAnonymous": False}),
                "starRating": STARS[rating],
                "createTime": when,
                "updateTime": when,
            }
            if text:
                review["comment"] = text
            if reply:
                review["reviewReply"] = {"comment": reply, "updateTime": when}
            self.reviews[review_id] = review
            return review

    def edit(self, review_id: str, text: str | None = None, rating: int | None = None) -> dict[str, Any]:
        """The customer edits the review: same reviewId, newer updateTime."""
        with self.lock:
            review = self.reviews[review_id]
            if text is not None:
                review["comment"] = text
            if rating is not None:
                review["starRating"] = STARS[rating]
            review["updateTime"] = _stamp(self._tick())
            return review

    def delete(self, review_id: str) -> None:
        """The customer deletes the review: it disappears from the list."""
        with self.lock:
            del self.reviews[review_id]

    def seed(self, count: int) -> None:
        for i in range(count):
            self.add(text=f"seeded review {i + 1}", rating=(i % 5) + 1)

    def issue_tokens(self, scope: str = f"{SCOPE_BUSINESS} {SCOPE_YOUTUBE}", expires_in: int = 3599) -> Tokens:
        """Tokens as after a sign-in (for connector tests that skip the browser)."""
        with self.lock:
            access, refresh = "ya29." + secrets.token_urlsafe(16), "1//" + secrets.token_urlsafe(16)
            self.tokens[access] = {"scope": scope, "expires": datetime.now(timezone.utc) + timedelta(seconds=expires_in)}
            self.refresh_tokens[refresh] = scope
        return Tokens(access_token=access, refresh_token=refresh,
                      expires_at=datetime.now(timezone.utc) + timedelta(seconds=expires_in), scope=scope)

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def state(self) -> dict[str, Any]:
        return {"replies": self.replies, "patches": self.patches, "reviews": list(self.reviews)}

    # -- serving ---------------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        path = req.path
        if path.startswith(AUTH + "/o/oauth2/v2/auth"):
            return self._authorize(req)
        if path == TOKEN + "/token" and req.method == "POST":
            return self._token(req)
        scope = self._scope_of(req)
        if scope is None:
            return Reply(401, UNAUTHENTICATED, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        if path.startswith(YOUTUBE):
            if SCOPE_YOUTUBE not in scope:
                return Reply(403, google_error(403, "PERMISSION_DENIED", "Request had insufficient authentication "
                                               "scopes.", reason="insufficientPermissions"))
            if path == YOUTUBE + "/channels" and req.arg("mine") == "true":
                return Reply(200, {"kind": "youtube#channelListResponse", "items": self.channels,
                                   "pageInfo": {"totalResults": len(self.channels), "resultsPerPage": 5}})
            return Reply(404, google_error(404, "NOT_FOUND", "Not Found"))
        if SCOPE_BUSINESS not in scope:
            return Reply(403, google_error(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.",
                                           details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                     "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]))
        if not self.approved:
            return Reply(429, QUOTA_ZERO)
        with self.lock:
            if path == ACCOUNTS + "/accounts":
                return self._paged(req, self.accounts, "accounts", 20)
            if path.startswith(INFO + "/accounts/") and path.endswith("/locations"):
                if not req.arg("readMask"):
                    return Reply(400, google_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument."))
                account = path.removeprefix(INFO + "/").removesuffix("/locations")
                locations = [{k: v for k, v in loc.items() if k in req.arg("readMask", "").split(",")}
                             for loc in self.locations.get(account, [])]
                return self._paged(req, locations, "locations", 100, default=10)
            if path.startswith(INFO + "/locations/"):
                return self._location(req, path.removeprefix(INFO + "/"))
            prefix = f"{REVIEWS}/{ACCOUNT}/{LOCATION}/reviews"
            if path == prefix and req.method == "GET":
                return self._reviews(req)
            if path.startswith(prefix + "/") and path.endswith("/reply"):
                return self._reply(req, path.removeprefix(prefix + "/").removesuffix("/reply"))
        return Reply(404, google_error(404, "NOT_FOUND", "Requested entity was not found."))

    def _scope_of(self, req: Request) -> str | None:
        token = req.bearer()
        with self.lock:
            entry = self.tokens.get(token or "")
            if entry is None or entry["expires"] <= datetime.now(timezone.utc):
                return None
            return entry["scope"]

    def _paged(self, req: Request, entries: list[dict[str, Any]], key: str, most: int, default: int = 20) -> Reply:
        size = max(1, min(int(req.arg("pageSize") or default), most))
        start = int(base64.urlsafe_b64decode(req.arg("pageToken")).decode()) if req.arg("pageToken") else 0
        body: dict[str, Any] = {key: entries[start:start + size]}
        if start + size < len(entries):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return Reply(200, body)

    def _reviews(self, req: Request) -> Reply:
        order = req.arg("orderBy") or "updateTime desc"
        if order not in ("updateTime desc", "rating", "rating desc"):
            return Reply(400, google_error(400, "INVALID_ARGUMENT", "Invalid orderBy."))
        ordered = sorted(self.reviews.values(), key=lambda r: r["updateTime"], reverse=True)
        if order.startswith("rating"):
            ordered.sort(key=lambda r: r["starRating"], reverse=order.endswith("desc"))
        size = max(1, min(int(req.arg("pageSize") or 50), 50))
        reply = self._paged(req, ordered, "reviews", size, default=size)
        ratings = [list(STARS.values()).index(r["starRating"]) + 1 for r in self.reviews.values()]
        reply.body["totalReviewCount"] = len(ratings)
        if ratings:
            reply.body["averageRating"] = round(sum(ratings) / len(ratings), 1)
        return reply

    def _reply(self, req: Request, review_id: str) -> Reply:
        review = self.reviews.get(review_id)
        if review is None:
            return Reply(404, google_error(404, "NOT_FOUND", "Requested entity was not found."))
        if req.method == "DELETE":
            review.pop("reviewReply", None)
            self.replies.append({"review": review_id, "deleted": True})
            return Reply(200, {})
        if req.method != "PUT":
            return Reply(405, google_error(405, "METHOD_NOT_ALLOWED", "Method not allowed."))
        location = self.locations[ACCOUNT][0]
        if not location["metadata"].get("hasVoiceOfMerchant"):
            return Reply(400, google_error(400, "FAILED_PRECONDITION", "Precondition check failed."))
        comment = req.json().get("comment")
        if not isinstance(comment, str) or not comment or len(comment.encode()) > 4096:
            return Reply(400, google_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument."))
        reply = {"comment": comment, "updateTime": _stamp(self._tick())}
        review["reviewReply"] = reply
        self.replies.append({"review": review_id, "comment": comment})
        return Reply(200, reply)

    def _location(self, req: Request, name: str) -> Reply:
        location = next((loc for locs in self.locations.values() for loc in locs if loc["name"] == name), None)
        if location is None:
            return Reply(404, google_error(404, "NOT_FOUND", "Requested entity was not found."))
        if req.method == "GET":
            mask = (req.arg("readMask") or "").split(",")
            if mask == [""]:
                return Reply(400, google_error(400, "INVALID_ARGUMENT", "readMask is required."))
            return Reply(200, {k: v for k, v in location.items() if k in mask or k == "name"})
        if req.method == "PATCH":
            mask = [m for m in (req.arg("updateMask") or "").split(",") if m]
            body = req.json()
            if not mask or any(m not in ("regularHours", "specialHours") for m in mask):
                return Reply(400, google_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument."))
            self.patches.append({"mask": mask, "body": body, "validateOnly": req.arg("validateOnly")})
            if req.arg("validateOnly") != "true":
                for field in mask:
                    if field in body:
                        location[field] = body[field]
                    else:
                        location.pop(field, None)
            return Reply(200, location)
        return Reply(405, google_error(405, "METHOD_NOT_ALLOWED", "Method not allowed."))

    def _authorize(self, req: Request) -> Reply:
        client, redirect = req.arg("client_id"), req.arg("redirect_uri") or ""
        if client not in self.clients:
            return Reply(401, b"<p>Error 401: invalid_client. The OAuth client was not found.</p>",
                         {"Content-Type": "text/html"})
        if not redirect.startswith("http://127.0.0.1:") or req.arg("code_challenge_method") != "S256":
            return Reply(400, b"<p>Error 400: invalid_request</p>", {"Content-Type": "text/html"})
        state = req.arg("state") or ""
        if self.deny_next:
            self.deny_next = False
            return Reply(302, b"", {"Location": f"{redirect}?{urlencode({'error': 'access_denied', 'state': state})}"})
        asked = set((req.arg("scope") or "").split())
        granted = asked if self.grant_only is None else asked & self.grant_only
        code = "4/0A" + secrets.token_urlsafe(24)
        self.codes[code] = (client, req.arg("code_challenge") or "", redirect, " ".join(sorted(granted)))
        return Reply(302, b"", {"Location": f"{redirect}?{urlencode({'state': state, 'code': code, 'scope': ' '.join(sorted(granted))})}"})

    def _token(self, req: Request) -> Reply:
        form = req.form()
        client = form.get("client_id", "")
        if self.clients.get(client) != form.get("client_secret"):
            return Reply(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        with self.lock:
            if form.get("grant_type") == "authorization_code":
                entry = self.codes.pop(form.get("code", ""), None)
                if entry is None or entry[0] != client or entry[2] != form.get("redirect_uri"):
                    return Reply(400, {"error": "invalid_grant", "error_description": "Bad Request"})
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != entry[1]:
                    return Reply(400, {"error": "invalid_grant", "error_description": "Invalid code verifier."})
                tokens = self.issue_tokens(entry[3])
                return Reply(200, {"access_token": tokens.access_token, "expires_in": 3599,
                                   "refresh_token": tokens.refresh_token, "scope": entry[3], "token_type": "Bearer"})
            if form.get("grant_type") == "refresh_token":
                scope = self.refresh_tokens.get(form.get("refresh_token", ""))
                if scope is None:
                    return Reply(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
                access = "ya29." + secrets.token_urlsafe(16)
                self.tokens[access] = {"scope": scope, "expires": datetime.now(timezone.utc) + timedelta(seconds=3599)}
                return Reply(200, {"access_token": access, "expires_in": 3599, "scope": scope, "token_type": "Bearer"})
        return Reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})


def settings_for(fake: GoogleFake, **more: Any) -> dict[str, Any]:
    return {"client_id": CLIENT_ID, "api_base": fake.url, "location": f"{ACCOUNT}/{LOCATION}", **more}


def secrets_for(fake: GoogleFake, **token_kwargs: Any) -> MemorySecrets:
    return MemorySecrets({TOKEN_ENTRY: fake.issue_tokens(**token_kwargs).to_json(), CLIENT_SECRET: CLIENT_SECRET_VALUE})


class GoogleReviewsHarness(HttpFakeHarness):
    """Contract-suite harness (see tests/fakes/__init__.py)."""

    kind = "google"
    ERRORS = {
        "auth": (401, UNAUTHENTICATED, AuthError),
        "transient": (503, google_error(503, "UNAVAILABLE", "The service is currently unavailable."), TransientError),
        "permanent": (400, google_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
                      PermanentError),
    }

    def __init__(self, fake: GoogleFake):
        self.fake = fake
        self.secrets = secrets_for(fake)

    def connector(self):
        from socialdesk.connectors.google_reviews import GoogleReviewsConnector

        return GoogleReviewsConnector(settings_for(self.fake), self.secrets, page_size=3, sleep=lambda s: None)

    def seed(self, n: int) -> list[str]:
        return [self.fake.add(f"review number {i + 1}", rating=(i % 5) + 1)["reviewId"] for i in range(n)]

    def sent(self) -> list[dict[str, Any]]:
        return [r for r in self.fake.replies if "comment" in r]


@pytest.fixture
def google_fake() -> Iterator[GoogleFake]:
    fake = GoogleFake()
    with fake.running():
        yield fake


@pytest.fixture
def google_harness() -> Iterator[GoogleReviewsHarness]:
    fake = GoogleFake()
    with fake.running():
        yield GoogleReviewsHarness(fake)


if __name__ == "__main__":
    serve_cli(GoogleFake)

