"""A fake Mastodon instance: apps, OAuth (PKCE S256, oob and loopback), notifications, statuses, SSE.

OAuth as Mastodon (Doorkeeper) does it: apps register one redirect URI per line; `GET /oauth/authorize`
plays the logged-in owner pressing "Authorize" (302 to the redirect with `code` and `state`, or to the
native page showing the code for oob); loopback redirects match whatever the port (RFC 8252 §7.3); the
token endpoint checks client, redirect and PKCE verifier.

Wire facts followed (see shared/CONNECTORS.md): ids are numeric strings; `GET /api/v1/notifications`
returns newest first, `min_id` returns the page immediately after the given id (still newest first),
`since_id` the newest page above it, `max_id` older ones; `Link` headers with next/prev; status
`content` is HTML; `X-RateLimit-Limit/-Remaining/-Reset` (ISO datetime) on every API answer; 401 body
`{"error": "The access token is invalid"}`; the SSE stream sends `event: notification` + `data: <json>`
and `:thump`-style heartbeat comment lines.

Notification policy as Mastodon 4.3 has it (app/services/notify_service.rb, NotificationPolicy), with
Mastodon's defaults: `for_private_mentions: filter` (v1 `filter_private_mentions: true`), the other
policies `accept` (limited accounts are not modelled). A mention of direct visibility from an account
we do not follow, that does not answer a direct status of ours mentioning its author (up to 100
statuses up the thread), and whose author has no accepted request (NotificationPermission), is
stored with `"filtered": true` (the attribute is present only when true), is not pushed to the stream,
is left out of `/api/v1/notifications` unless `include_filtered` is truthy, and creates or updates the
author's notification request (`notifications_count` is a string, as Mastodon serializes it).
`/api/v1/notifications/requests` (+ `/:id`, `/:id/accept`, `/:id/dismiss`) and `GET /api/v2/notifications/
policy` exist (the owner changing the policy is `fake.policy[...] = ...`); accepting (scope `write:notifications`, else 403 `{"error": "This action is
outside the authorized scopes"}`) records the permission, clears `filtered` on that author's
notifications (same ids) and deletes the request. Changing the policy affects only later notifications.
Scheduled statuses as Mastodon has them (app/models/scheduled_status.rb, PostStatusService,
Api::V1::ScheduledStatusesController): `scheduled_at` on `POST /api/v1/statuses` at least 5 minutes after
the fake's `now()` returns a ScheduledStatus (`params.text`, `params.idempotency`); a time already past
publishes at once and returns the Status; a time less than 5 minutes ahead is 422, as are a 301st
scheduled post (`TOTAL_LIMIT`) and a 26th on one UTC date (`DAILY_LIMIT`), with Mastodon's "Validation
failed: ..." texts. `GET /api/v1/scheduled_statuses` (newest id first, 20 by default, 40 at most,
`max_id`/`min_id`/`since_id`), `GET` and `DELETE /api/v1/scheduled_statuses/:id` (404 when gone).
`publish_due()` is Mastodon's scheduler worker: what is due becomes a status; tests call it.
`version` below (4, 3) behaves like Mastodon before 4.3: nothing is filtered, `include_filtered` is
ignored, the requests and policy endpoints answer 404. Tokens carry scopes (`token_scopes`);
`/oauth/token` refuses a scope the app was not registered with (`invalid_scope`).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import queue
import re
import secrets
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import urlencode, urlsplit

import pytest

from socialdesk.connectors.base import (
    AuthError,
    MemorySecrets,
    PermanentError,
    TransientError,
)
from socialdesk.connectors.mastodon import MastodonConnector
from socialdesk.connectors.oauth import OOB
from tests.fakes import FakeServer, HttpFakeHarness, Reply, Request, serve_cli

SELF = {"id": "1", "username": "shop", "acct": "shop", "display_name": "The Shop", "url": "https://x/@shop"}
ALL_SCOPES = frozenset({"read:accounts", "read:notifications", "read:statuses", "write:notifications",
                        "write:statuses"})
# Mastodon 4.3's defaults (GET /api/v2/notifications/policy of a new account).
DEFAULT_POLICY = {"for_not_following": "accept", "for_not_followers": "accept", "for_new_accounts": "accept",
                  "for_private_mentions": "filter", "for_limited_accounts": "filter"}
OUT_OF_SCOPE = {"error": "This action is outside the authorized scopes"}
TOTAL_LIMIT, DAILY_LIMIT, MIN_SCHEDULE_OFFSET = 300, 25, timedelta(minutes=5)
_MENTION = re.compile(r"(?<![\w@])@([\w.-]+(?:@[\w.-]+)?)")


def _account(acct: str) -> dict[str, Any]:
    number = str(zlib.crc32(acct.encode()) % 10_000_000 + 100)
    return {
        "id": number,
        "username": acct.split("@")[0],
        "acct": acct,
        "display_name": acct.split("@")[0].title(),
        "url": f"https://remote.example/@{acct}",
    }


class MastodonFake(FakeServer):
    def __init__(self, lifetime: float = 300.0, heartbeat: float = 0.2):
        super().__init__(lifetime)
        self.heartbeat = heartbeat
        self.ids = itertools.count(100)
        self.tokens: set[str] = {"good-token"}
        self.token_scopes: dict[str, frozenset[str]] = {"good-token": ALL_SCOPES}
        self.apps: dict[str, str] = {}  # client_id -> client_secret
        self.app_scopes: dict[str, frozenset[str]] = {}  # client_id -> scopes registered
        self.app_redirects: dict[str, list[str]] = {}  # client_id -> registered redirect URIs
        self.codes: dict[str, tuple[str, str, str]] = {}  # code -> (client_id, code_challenge, redirect_uri)
        self.refuse_loopback = False  # True: registering any redirect but oob fails (422)
        self.deny_next = False  # True: the next authorization is denied by the owner
        self.notifications: list[dict[str, Any]] = []  # ascending id
        self.statuses: dict[str, dict[str, Any]] = {}
        self.posted: list[dict[str, Any]] = []
        self.idempotency: dict[str, dict[str, Any]] = {}
        self.streams: list[queue.Queue[Any]] = []
        self.remaining = 300
        self.limit_reset = datetime.now(timezone.utc) + timedelta(minutes=5)
        # /api/v2/instance as Mastodon 4 answers it; None = the instance does not say.
        self.max_characters: int | None = 500
        self.instance_v2 = True  # False: 404 there, as Mastodon 3 and Pleroma answer
        self.instance_v1: dict[str, Any] = {}
        self.version = (4, 3)  # (4, 2): before notification policies
        self.policy: dict[str, str] = dict(DEFAULT_POLICY)
        self.following: set[str] = set()  # accts the shop follows
        self.permissions: set[str] = set()  # account ids whose request was accepted
        self.notification_requests: dict[str, dict[str, Any]] = {}  # from-account id -> NotificationRequest
        self.accounts: dict[str, dict[str, Any]] = {SELF["acct"]: SELF}  # acct -> account, for mentions
        self.scheduled: dict[str, dict[str, Any]] = {}  # id -> ScheduledStatus
        self.now = lambda: datetime.now(timezone.utc)  # the server's clock (tests set their own)

    # -- programming -----------------------------------------------------------------------------
    def _next_id(self) -> str:
        return str(next(self.ids))

    def add(
        self,
        text: str = "hello",
        *,
        html: str | None = None,
        acct: str = "alice@remote.example",
        visibility: str = "public",
        in_reply_to_id: str | None = None,
        type: str = "mention",
    ) -> dict[str, Any]:
        """Create a status by `acct` mentioning us and its notification; push it to open streams."""
        with self.lock:
            account = _account(acct)
            self.accounts[acct] = account
            status_id = self._next_id()
            status = {
                "id": status_id,
                "created_at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
                "content": html if html is not None else f"<p><span class=\"h-card\">@shop</span> {text}</p>",
                "visibility": visibility,
                "url": f"https://remote.example/@{acct}/{status_id}",
                "in_reply_to_id": in_reply_to_id,
                "account": account,
                "mentions": [{"id": SELF["id"], "acct": SELF["acct"], "username": "shop"}],
            }
            self.statuses[status_id] = status
            notification = {
                "id": self._next_id(),
                "type": type,
                "created_at": status["created_at"],
                "account": account,
                "status": status,
            }
            verdict = self._policy_verdict(type, status, account)
            if verdict == "drop":
                return notification  # never stored, as Mastodon drops it
            if verdict == "filter":
                notification["filtered"] = True
                self._update_request(account, status)
            self.notifications.append(notification)
            if verdict != "filter":  # filtered notifications are not pushed to the stream
                for stream in self.streams:
                    stream.put(notification)
            return notification

    def follow(self, acct: str) -> None:
        with self.lock:
            self.following.add(acct)

    # -- notification policy (Mastodon 4.3 NotifyService::FilterCondition / DropCondition) --------------
    def _policy_verdict(self, type: str, status: dict[str, Any], sender: dict[str, Any]) -> str:
        if self.version < (4, 3) or sender["id"] in self.permissions:
            return "accept"
        not_following = sender["acct"] not in self.following
        private_mention = type == "mention" and status["visibility"] == "direct" and not self._answers_us(status, sender)
        for key, applies in (("for_not_following", not_following),
                             ("for_private_mentions", not_following and private_mention)):
            if applies and self.policy.get(key) in ("filter", "drop"):
                return self.policy[key]
        return "accept"

    def _answers_us(self, status: dict[str, Any], sender: dict[str, Any]) -> bool:
        """A reply to a direct status of ours that mentions the sender (up to 100 statuses up)."""
        parent, depth = status.get("in_reply_to_id"), 0
        while parent and parent in self.statuses and depth < 100:
            up = self.statuses[parent]
            if (up["account"]["id"] == SELF["id"] and up["visibility"] == "direct"
                    and any(m["id"] == sender["id"] for m in up["mentions"])):
                return True
            parent, depth = up.get("in_reply_to_id"), depth + 1
        return False

    def _update_request(self, sender: dict[str, Any], status: dict[str, Any]) -> None:
        now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        request = self.notification_requests.get(sender["id"])
        if request is None:
            request = {"id": self._next_id(), "created_at": now, "notifications_count": "0", "account": sender}
            self.notification_requests[sender["id"]] = request
        request.update(updated_at=now, last_status=status,
                       notifications_count=str(int(request["notifications_count"]) + 1))

    def accept_request(self, account_id: str) -> None:
        """What accepting does (AcceptNotificationRequestService + UnfilterNotificationsWorker)."""
        with self.lock:
            self.permissions.add(account_id)
            for notification in self.notifications:
                if notification["account"]["id"] == account_id:
                    notification.pop("filtered", None)
            self.notification_requests.pop(account_id, None)

    def approve(self, challenge: str) -> str:
        """What the owner does in the browser: returns the code the oob page would show."""
        with self.lock:
            client_id = next(iter(self.apps))
            code = secrets.token_hex(8)
            self.codes[code] = (client_id, challenge, OOB)
            return code

    def publish_due(self) -> list[dict[str, Any]]:
        """Mastodon's scheduler: every scheduled status whose time has come is published (in time order)."""
        with self.lock:
            due = sorted((s for s in self.scheduled.values() if _time(s["scheduled_at"]) <= self.now()),
                         key=lambda s: s["scheduled_at"])
            out = []
            for entry in due:
                del self.scheduled[entry["id"]]
                out.append(self._publish(entry["params"]["text"], entry["params"]["visibility"] or "public", None,
                                         entry["params"]["idempotency"]))
            return out

    def drop_streams(self) -> None:
        """Cut every open SSE connection (as a proxy restart would)."""
        with self.lock:
            for stream in self.streams:
                stream.put(None)

    def state(self) -> dict[str, Any]:
        return {"posted": self.posted, "notifications": len(self.notifications)}

    # -- serving ---------------------------------------------------------------------------------
    def _rate_headers(self) -> dict[str, str]:
        self.remaining = max(0, self.remaining - 1)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": self.limit_reset.isoformat().replace("+00:00", "Z"),
        }

    def handle(self, req: Request) -> Reply:
        with self.lock:
            if req.path == "/api/v1/apps" and req.method == "POST":
                return self._create_app(req)
            if req.path == "/oauth/token" and req.method == "POST":
                return self._token(req)
            if req.path == "/oauth/authorize" and req.method == "GET":
                return self._authorize(req)
            if req.path == "/oauth/authorize/native":
                code = (req.arg("code") or "")[:64]
                return Reply(200, f'<input class="oauth-code" readonly type="text" value="{code}">'.encode(),
                             {"Content-Type": "text/html"})
            if req.path == "/api/v2/instance":
                if not self.instance_v2:
                    return Reply(404, {"error": "Record not found"})
                configuration: dict[str, Any] = {"urls": {"streaming": self.url.replace("http", "ws", 1)}}
                if self.max_characters is not None:
                    configuration["statuses"] = {"max_characters": self.max_characters,
                                                 "characters_reserved_per_url": 23}
                return Reply(200, {"domain": "fake", "configuration": configuration})
            if req.path == "/api/v1/instance":
                return Reply(200, {"uri": "fake", **self.instance_v1})
            if req.bearer() not in self.tokens:
                return Reply(401, {"error": "The access token is invalid"})
            scopes = self.token_scopes.get(req.bearer() or "", ALL_SCOPES)
            headers = self._rate_headers()
            if req.path.startswith(("/api/v1/notifications/requests", "/api/v2/notifications/policy")):
                if self.version < (4, 3):
                    return Reply(404, {"error": "Record not found"}, headers)
                if req.path.startswith("/api/v2/"):
                    return self._policy(headers)
                return self._notification_requests(req, scopes, headers)
            if req.path == "/api/v1/accounts/verify_credentials":
                return Reply(200, SELF, headers)
            if req.path == "/api/v1/notifications":
                return self._notifications(req, headers)
            if req.path.startswith("/api/v1/statuses/") and req.path.endswith("/context"):
                return self._context(req.path.split("/")[4], headers)
            if req.path == "/api/v1/statuses" and req.method == "POST":
                return self._post_status(req, headers)
            if req.path.startswith("/api/v1/scheduled_statuses"):
                return self._scheduled_statuses(req, scopes, headers)
            if req.path == "/api/v1/streaming/user/notification":
                stream: queue.Queue[Any] = queue.Queue()
                self.streams.append(stream)
                return Reply(200, None, {"Cache-Control": "no-cache"}, self._sse(stream))
        return Reply(404, {"error": "Record not found"})

    def _create_app(self, req: Request) -> Reply:
        # `redirect_uris`: one URI per line (every version) — the oob one and/or absolute URIs.
        form = req.form()
        uris = (form.get("redirect_uris") or "").split("\n")
        if not all(u == OOB or (urlsplit(u).scheme in ("http", "https") and urlsplit(u).hostname) for u in uris) \
                or (self.refuse_loopback and any(u != OOB for u in uris)):
            return Reply(422, {"error": "Validation failed: Redirect URI must be an absolute URI."})
        client_id, client_secret = secrets.token_hex(8), secrets.token_hex(16)
        self.apps[client_id] = client_secret
        self.app_redirects[client_id] = uris
        self.app_scopes[client_id] = frozenset((form.get("scopes") or "read").split())
        return Reply(200, {"id": "7", "name": form.get("client_name"), "client_id": client_id,
                           "client_secret": client_secret, "redirect_uri": "\n".join(uris),
                           "redirect_uris": uris})

    def _redirect_allowed(self, client_id: str, uri: str) -> bool:
        """Doorkeeper's rule: exact match, or loopback URIs equal but for the port (RFC 8252 §7.3)."""
        def loose(u: str) -> tuple:
            p = urlsplit(u)
            return (p.scheme, p.hostname, p.path, p.query) if p.hostname in ("127.0.0.1", "::1") else (u,)
        return any(u == uri or loose(u) == loose(uri) for u in self.app_redirects.get(client_id, []))

    def _authorize(self, req: Request) -> Reply:
        """The owner, already logged in, presses "Authorize" (or "Deny" when `deny_next` is set)."""
        client_id, redirect = req.arg("client_id") or "", req.arg("redirect_uri") or ""
        if client_id not in self.apps or not self._redirect_allowed(client_id, redirect):
            return Reply(400, b"<p>The redirect uri included is not valid.</p>", {"Content-Type": "text/html"})
        if req.arg("response_type") != "code" or req.arg("code_challenge_method") not in (None, "S256"):
            return Reply(400, b"<p>Invalid request.</p>", {"Content-Type": "text/html"})
        state = {"state": req.arg("state")} if req.arg("state") is not None else {}
        if redirect == OOB:  # the native page shows the code for the owner to copy
            code = secrets.token_hex(8)
            self.codes[code] = (client_id, req.arg("code_challenge") or "", OOB)
            return Reply(302, b"", {"Location": f"{self.url}/oauth/authorize/native?code={code}"})
        if self.deny_next:
            self.deny_next = False
            query = urlencode({"error": "access_denied", "error_description": "denied", **state})
        else:
            code = secrets.token_hex(8)
            self.codes[code] = (client_id, req.arg("code_challenge") or "", redirect)
            query = urlencode({"code": code, **state})
        return Reply(302, b"", {"Location": f"{redirect}?{query}"})

    def _token(self, req: Request) -> Reply:
        form = req.form()
        code = form.get("code", "")
        entry = self.codes.pop(code, None)
        if (
            form.get("grant_type") != "authorization_code"
            or entry is None
            or self.apps.get(form.get("client_id", "")) != form.get("client_secret")
            or entry[0] != form.get("client_id")
            or entry[2] != form.get("redirect_uri")  # Doorkeeper: the redirect of the authorization
        ):
            return Reply(400, {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."})
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != entry[1]:
            return Reply(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
        asked = frozenset((form.get("scope") or "read").split())
        if not asked <= self.app_scopes.get(form.get("client_id", ""), frozenset()):
            return Reply(400, {"error": "invalid_scope", "error_description": "The requested scope is invalid, unknown, or malformed."})
        token = secrets.token_hex(16)
        self.tokens.add(token)
        self.token_scopes[token] = asked
        return Reply(200, {"access_token": token, "token_type": "Bearer", "scope": form.get("scope"), "created_at": 0})

    def _notifications(self, req: Request, headers: dict[str, str]) -> Reply:
        types = req.query.get("types[]")
        items = [n for n in self.notifications if not types or n["type"] in types]
        # Rails' truthy_param?: anything but false-like values; ignored before 4.3.
        include_filtered = self.version >= (4, 3) and (req.arg("include_filtered") or "false").lower() not in (
            "0", "f", "false", "off", "")
        items = [n for n in items if include_filtered or not n.get("filtered")]
        if req.arg("account_id"):
            items = [n for n in items if n["account"]["id"] == req.arg("account_id")]
        limit = min(int(req.arg("limit", "40") or 40), 80)
        key = lambda n: int(n["id"])  # noqa: E731
        if req.arg("max_id"):
            items = [n for n in items if key(n) < int(req.arg("max_id") or 0)]
        if req.arg("min_id"):
            # The page immediately after min_id, returned newest first.
            items = [n for n in items if key(n) > int(req.arg("min_id") or 0)][:limit]
        elif req.arg("since_id"):
            items = [n for n in items if key(n) > int(req.arg("since_id") or 0)][-limit:]
        else:
            items = items[-limit:]
        page = sorted(items, key=key, reverse=True)
        if page:
            base = f"{self.url}/api/v1/notifications?limit={limit}"
            headers["Link"] = (f'<{base}&max_id={page[-1]["id"]}>; rel="next", '
                               f'<{base}&min_id={page[0]["id"]}>; rel="prev"')
        return Reply(200, page, headers)

    def _notification_requests(self, req: Request, scopes: frozenset[str], headers: dict[str, str]) -> Reply:
        parts = req.path.removeprefix("/api/v1/notifications/requests").strip("/").split("/")
        if parts == [""] and req.method == "GET":
            items = sorted(self.notification_requests.values(), key=lambda r: int(r["id"]), reverse=True)
            limit = min(int(req.arg("limit", "40") or 40), 80)
            if req.arg("max_id"):
                items = [r for r in items if int(r["id"]) < int(req.arg("max_id") or 0)]
            if req.arg("min_id"):
                items = [r for r in items if int(r["id"]) > int(req.arg("min_id") or 0)][-limit:]
            return Reply(200, items[:limit], headers)
        request = next((r for r in self.notification_requests.values() if r["id"] == parts[0]), None)
        if request is None:
            return Reply(404, {"error": "Record not found"}, headers)
        if len(parts) == 1 and req.method == "GET":
            return Reply(200, request, headers)
        if len(parts) == 2 and req.method == "POST" and parts[1] in ("accept", "dismiss"):
            if "write:notifications" not in scopes and "write" not in scopes:
                return Reply(403, OUT_OF_SCOPE, headers)
            if parts[1] == "accept":
                self.accept_request(request["account"]["id"])
            else:
                del self.notification_requests[request["account"]["id"]]
            return Reply(200, {}, headers)
        return Reply(404, {"error": "Record not found"}, headers)

    def _policy(self, headers: dict[str, str]) -> Reply:
        # GET only: tests change `policy` directly, as the owner would in Mastodon's settings.
        pending = sum(int(r["notifications_count"]) for r in self.notification_requests.values())
        return Reply(200, {**self.policy, "summary": {"pending_requests_count": len(self.notification_requests),
                                                      "pending_notifications_count": pending}}, headers)

    def _context(self, status_id: str, headers: dict[str, str]) -> Reply:
        status = self.statuses.get(status_id)
        if status is None:
            return Reply(404, {"error": "Record not found"}, headers)
        ancestors = []
        parent = status.get("in_reply_to_id")
        while parent and parent in self.statuses:
            ancestors.insert(0, self.statuses[parent])
            parent = self.statuses[parent].get("in_reply_to_id")
        return Reply(200, {"ancestors": ancestors, "descendants": []}, headers)

    def _post_status(self, req: Request, headers: dict[str, str]) -> Reply:
        key = req.headers.get("idempotency-key")
        if key and key in self.idempotency:
            earlier = self.idempotency[key]
            if "params" in earlier and earlier["id"] not in self.scheduled:
                # Mastodon looks the remembered scheduled status up again: deleted or published, 404.
                return Reply(404, {"error": "Record not found"}, headers)
            return Reply(200, earlier, headers)
        form = req.form()
        if form.get("scheduled_at"):
            return self._schedule(form, key, headers)
        text = form.get("status", "")
        if not text.strip():
            return Reply(422, {"error": "Validation failed: Text can't be blank"}, headers)
        if len(text) > 500:
            return Reply(422, {"error": "Validation failed: Text character limit of 500 exceeded"}, headers)
        reply_to = form.get("in_reply_to_id") or None
        if reply_to and reply_to not in self.statuses:
            return Reply(404, {"error": "Record not found"}, headers)
        return Reply(200, self._publish(text, form.get("visibility", "public"), reply_to, key), headers)

    def _publish(self, text: str, visibility: str, reply_to: str | None, key: str | None) -> dict[str, Any]:
        status_id = self._next_id()
        mentioned = [self.accounts[a] for a in dict.fromkeys(_MENTION.findall(text)) if a in self.accounts]
        status = {"id": status_id, "content": f"<p>{text}</p>", "visibility": visibility,
                  "in_reply_to_id": reply_to, "account": SELF, "url": f"https://fake/@shop/{status_id}",
                  "created_at": self.now().isoformat(),
                  "mentions": [{"id": a["id"], "acct": a["acct"], "username": a["username"]} for a in mentioned]}
        self.statuses[status_id] = status
        self.posted.append({**status, "text": text, "idempotency_key": key})
        if key:
            self.idempotency[key] = status
        return status

    def _schedule(self, form: dict[str, Any], key: str | None, headers: dict[str, str]) -> Reply:
        text = form.get("status", "")
        at = _time(form["scheduled_at"])
        if at is None:
            return Reply(422, {"error": "Validation failed: Scheduled at is invalid"}, headers)
        if not text.strip():
            return Reply(422, {"error": "Validation failed: Text can't be blank"}, headers)
        if len(text) > 500:
            return Reply(422, {"error": "Validation failed: Text character limit of 500 exceeded"}, headers)
        if at <= self.now():  # PostStatusService: a time already past is no schedule at all
            return Reply(200, self._publish(text, form.get("visibility", "public"), None, key), headers)
        errors = []
        if at <= self.now() + MIN_SCHEDULE_OFFSET:
            errors.append("Scheduled at The scheduled date must be in the future")
        if len(self.scheduled) >= TOTAL_LIMIT:
            errors.append(f"You have exceeded the limit of {TOTAL_LIMIT} scheduled posts")
        if sum(_time(s["scheduled_at"]).date() == at.date() for s in self.scheduled.values()) >= DAILY_LIMIT:
            errors.append(f"You have exceeded the limit of {DAILY_LIMIT} scheduled posts for today")
        if errors:
            return Reply(422, {"error": "Validation failed: " + ", ".join(errors)}, headers)
        scheduled_id = self._next_id()
        entry = {
            "id": scheduled_id,
            "scheduled_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "params": {"text": text, "poll": None, "media_ids": None, "sensitive": None,
                       "visibility": form.get("visibility"), "idempotency": key, "scheduled_at": None,
                       "spoiler_text": None, "application_id": 7, "in_reply_to_id": None, "language": None},
            "media_attachments": [],
        }
        self.scheduled[scheduled_id] = entry
        if key:
            self.idempotency[key] = entry
        return Reply(200, entry, headers)

    def _scheduled_statuses(self, req: Request, scopes: frozenset[str], headers: dict[str, str]) -> Reply:
        rest = req.path.removeprefix("/api/v1/scheduled_statuses").strip("/")
        write = req.method in ("PUT", "DELETE")
        if not ({"write:statuses", "write"} if write else {"read:statuses", "read"}) & scopes:
            return Reply(403, OUT_OF_SCOPE, headers)
        if not rest and req.method == "GET":
            limit = min(int(req.arg("limit", "20") or 20), 40)
            order = lambda i: (len(str(i)), str(i))  # noqa: E731 - ids are numeric strings (tests add odd ones)
            items = sorted(self.scheduled.values(), key=lambda s: order(s["id"]), reverse=True)
            if req.arg("max_id"):
                items = [s for s in items if order(s["id"]) < order(req.arg("max_id"))]
            if req.arg("min_id"):
                items = [s for s in items if order(s["id"]) > order(req.arg("min_id"))][-limit:]
            return Reply(200, items[:limit], headers)
        entry = self.scheduled.get(rest)
        if entry is None:
            return Reply(404, {"error": "Record not found"}, headers)
        if req.method == "GET":
            return Reply(200, entry, headers)
        if req.method == "DELETE":
            del self.scheduled[rest]
            return Reply(200, {}, headers)
        return Reply(404, {"error": "Record not found"}, headers)

    def _sse(self, stream: queue.Queue[Any]) -> Iterator[bytes]:
        try:
            yield b":)\n"
            while not self.stopping.is_set():
                try:
                    item = stream.get(timeout=self.heartbeat)
                except queue.Empty:
                    yield b":thump\n"
                    continue
                if item is None:
                    return
                payload = json.dumps(item)
                yield f"event: notification\ndata: {payload}\n\n".encode()
        finally:
            with self.lock:
                if stream in self.streams:
                    self.streams.remove(stream)


def _time(value: Any) -> Any:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class MastodonHarness(HttpFakeHarness):
    """Contract-suite harness (see tests/fakes/__init__.py)."""

    kind = "mastodon"
    ERRORS = {
        "auth": (401, {"error": "The access token is invalid"}, AuthError),
        "transient": (503, b"<html>Service Unavailable</html>", TransientError),
        "permanent": (422, {"error": "Validation failed: Text can't be blank"}, PermanentError),
    }

    def __init__(self, fake: MastodonFake):
        self.fake = fake
        self.secrets = MemorySecrets({"token": "good-token"})

    def connector(self) -> MastodonConnector:
        return MastodonConnector({"instance": self.fake.url}, self.secrets, page_limit=3,
                                 sleep=lambda s: None, reconnect_delay=0.05)

    def seed(self, n: int) -> list[str]:
        return [self.fake.add(f"question {i + 1}")["status"]["id"] for i in range(n)]

    def sent(self) -> list[dict[str, Any]]:
        return list(self.fake.posted)



@pytest.fixture
def mastodon_fake() -> Iterator[MastodonFake]:
    fake = MastodonFake()
    with fake.running():
        yield fake


@pytest.fixture
def mastodon_harness() -> Iterator[MastodonHarness]:
    fake = MastodonFake(heartbeat=0.1)
    with fake.running():
        yield MastodonHarness(fake)


if __name__ == "__main__":
    serve_cli(MastodonFake)
