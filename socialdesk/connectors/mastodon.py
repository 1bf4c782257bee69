"""Mastodon: OAuth sign-in, mentions and direct messages, replies, status posts, SSE.

Decisions:
- Sign-in is `MastodonLogin` (the SPEC's `login_flow`) on the shared OAuth layer (connectors/oauth.py):
  a loopback redirect to 127.0.0.1 where the instance accepts it, the out-of-band code
  (`urn:ietf:wg:oauth:2.0:oob`) pasted by the owner otherwise, PKCE S256 and `state` on both (details
  on the class). The token, client_id and client_secret are the account's secrets (the token as the
  one OAuth JSON entry); an existing access token can be stored as "token" directly instead
  (`account add --secret-stdin`). Requests carry it through `oauth.BearerAuth`.
- Inbound = notifications of type "mention" (which includes direct messages: statuses with
  visibility "direct" that mention us). Paging uses `min_id` only: each call returns the page just
  after the watermark, so looping until an empty/short page cannot skip anything (`since_id` would
  return the newest page only and leave gaps). Ids are compared by length, then lexically (they are
  numeric strings too long for some JSON parsers). The cursor is `{"min_id": "<largest id seen>"}`.
  With no cursor yet we take the newest page as history and start from there.
- Filtered notifications (Mastodon 4.3+). The default notification policy filters private mentions
  from accounts the owner does not follow (`for_private_mentions: filter`, formerly
  `filter_private_mentions: true`): they are left out of `/api/v1/notifications`, are not pushed to
  the stream, and wait as notification requests. For a business every first DM is from a stranger,
  so every list call sends `include_filtered=true` (added in 4.3.0; older servers ignore unknown
  parameters; one that refuses the call with a 4xx and accepts it without the parameter is asked
  without it from then on, for the connector's life).
  Filtered notifications keep their ids in the same sequence, so `min_id` paging takes them in order;
  accepting a request (here or in Mastodon's own app) or changing the policy only clears their
  `filtered` flag, ids unchanged, so nothing is fetched twice, and ingest dedups by status id anyway.
  Once per account (cursor flag `requests_read`) we also read the pending notification requests
  (`GET /api/v1/notifications/requests`, 4.3.0; 404 on older servers = nothing to read) and each
  requester's newest page (`account_id` + `include_filtered`): that catches the DMs that were filtered
  before this was in place and lie below the watermark.
- When the owner answers a filtered DM (never for an automatic reply: answering a stranger is the
  owner's call), the pending request from that account is accepted
  (`POST /api/v1/notifications/requests/:id/accept`), as Mastodon's own app asks: the customer's
  later messages then reach the owner's Mastodon app too and stop piling up as a request. Reading
  needs `read:notifications`, accepting `write:notifications` (now in SCOPES); a login that predates
  it gets 403 there, and the connector's `notice` asks the owner to log in again. The reply itself is
  already posted; accepting is best effort.
- Items: external id = the status id (what a reply needs). `kind` "dm" for direct visibility,
  otherwise "mention"; `public` for public/unlisted only. Conversation grouping: direct messages
  group by their participants ("dm:<accts>", one private conversation per customer or group);
  other mentions group by thread root ("thread:<root status id>"), found with
  `GET /api/v1/statuses/:id/context` when the status is a reply (so a customer's answer to our reply
  joins the same conversation). Roots are cached per connector.
- `meta` carries what `reply` needs: visibility, the author's acct, the other mentioned accts, and the
  notification id. Replies keep the parent's visibility (a DM answer stays direct), mention the
  customer (and other DM participants) at the start unless the text already does, and send the
  outbox's key as `Idempotency-Key`, so a retry after a crash cannot post twice (the POST is then
  safe to retry inside the HTTP layer too).
- Real time: the SSE user notification stream (`/api/v1/streaming/user/notification` on the host the
  instance names in `configuration.urls.streaming`) is used as a doorbell: every `notification`
  event triggers the same `min_id` fetch, so ordering races between stream and REST can never drop a
  mention. The stream is opened *before* the catch-up fetch, so nothing falls between the two.
  Heartbeats (comment lines) keep the connection alive; silence longer than `idle_timeout`, a
  dropped connection or an error reconnects with growing pauses, and after `max_reconnects` failures
  in a row the stream raises TransientError for the engine to back off. Filtered notifications are
  never pushed to the stream, so a heartbeat also triggers the fetch once `catchup_interval` seconds
  have passed since the last one.
- Scheduled status posts (capability "schedule_status", issue 18): `POST /api/v1/statuses` with
  `scheduled_at` (ISO 8601, UTC) returns a ScheduledStatus (`id`, `scheduled_at`, `params` with `text`
  and `idempotency`) instead of a Status. Mastodon (app/models/scheduled_status.rb, PostStatusService)
  refuses a time less than 5 minutes ahead (422 "Validation failed: Scheduled at The scheduled date must
  be in the future"), more than 25 scheduled posts on one (UTC) day or 300 in all (422 "You have
  exceeded the limit of N scheduled posts [for that day]"); a time already past is NOT refused: the
  status is published at once (a Status comes back, `published=True`), which is why core never asks
  for less than its own lead time. The Idempotency-Key header works for scheduled posts too (the same
  ScheduledStatus comes back), and Mastodon keeps the key in `params.idempotency`, so
  `list_scheduled` (`GET /api/v1/scheduled_statuses`, 20 by default, 40 at most, paged with `max_id`)
  shows which are ours. `DELETE /api/v1/scheduled_statuses/:id` cancels (404: already published or
  deleted; `cancel_scheduled` then returns False). Reading needs `read:statuses`, the rest
  `write:statuses`, both already in SCOPES.
- HTML content becomes plain text with `html_to_text` (scripts dropped, entities decoded once). A
  content warning is kept as a first line "CW: ...".
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import urlsplit

from socialdesk.connectors.base import (
    AccountInfo,
    AccountSecrets,
    AuthError,
    Author,
    ConnectorError,
    ConnectorSpec,
    InboundItem,
    MemorySecrets,
    NotAllowed,
    OutboundResult,
    PermanentError,
    ReplyTarget,
    ScheduledPost,
    TransientError,
    convert_items,
    valid_text_limit,
)
from socialdesk.connectors.html_text import html_to_text
from socialdesk.connectors.http import (
    ErrorRule,
    ErrorTable,
    Http,
    LineReader,
    check_base_url,
    parse_iso,
    utcnow,
)
from socialdesk.connectors.oauth import (
    OOB,
    TOKEN_ENTRY,
    AuthCodeLogin,
    BearerAuth,
    LoginAccount,
    LoopbackRefused,
    OAuthClient,
    Tokens,
    watch_unauthorized,
)
from socialdesk.connectors.text_counting import mastodon_length
from socialdesk.connectors.traits import TextLimit, declare

log = logging.getLogger("socialdesk.connectors.mastodon")

SCOPES = "read:accounts read:notifications read:statuses write:notifications write:statuses"
DEFAULT_INSTANCE = "https://mastodon.social"
TEXT_LIMIT = 500
REQUESTS_READ = "requests_read"  # cursor flag: pending notification requests were read once
NEEDS_WRITE_NOTIFICATIONS = (
    "Sign in to this Mastodon account again (Accounts → Re-login…) so socialdesk may accept message "
    "requests from new customers; until then accept them in Mastodon's own app. Their messages still arrive."
)

RELOGIN = "Sign in to this Mastodon account again (Accounts → Re-login…)."
# Mastodon's errors are {"error": <words>} (the Error entity; Api::BaseController). A 401 is the token
# (oauth.watch_unauthorized refreshes once, then AuthError). A 403 is the login when it names the
# scopes or the login itself (unconfirmed, pending approval, disabled, missing two-factor), otherwise
# "This action is not allowed": this one action, not the account (NotAllowed). 422 "Validation
# failed: …" is the text we sent (PermanentError, the standard mapping), except the one 422 that says
# the token has no user.
ERRORS = ErrorTable(
    rules=(
        ErrorRule(status=403, where="error", code="This action is outside the authorized scopes", error=AuthError,
                  message="Mastodon: this login lacks a permission socialdesk needs. " + RELOGIN),
        ErrorRule(status=403, where="error", contains="Your login", error=AuthError,
                  message="Mastodon{suffix}. " + RELOGIN),
        ErrorRule(status=403, where="error", contains="two-factor", error=AuthError, message="Mastodon{suffix}. " + RELOGIN),
        ErrorRule(status=422, where="error", code="This method requires an authenticated user", error=AuthError,
                  message="Mastodon: this token belongs to no user. " + RELOGIN),
        ErrorRule(status=403, error=NotAllowed, message="Mastodon does not allow this here{suffix}."),
        # Scheduling refused: too soon, or the limits per day and in all (older servers say "toots").
        ErrorRule(status=422, where="error", contains="scheduled", error=PermanentError,
                  message="Mastodon refused to schedule the post{suffix}."),
    ),
    detail=("error", "error_description"),
)


def newer(a: str, b: str | None) -> bool:
    """True when status/notification id `a` is after `b` (ids are numeric strings: length, then text)."""
    if not b:
        return True
    return (len(a), a) > (len(b), b)


def _instance(settings: dict) -> str:
    return check_base_url(settings.get("instance") or DEFAULT_INSTANCE, "Mastodon")


class MastodonConnector:
    kind = "mastodon"
    capabilities = frozenset({"mention", "dm", "post_status", "schedule_status", "stream"})

    def __init__(
        self,
        settings: dict,
        secrets: AccountSecrets,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utcnow,
        page_limit: int = 80,
        max_pages: int = 25,
        idle_timeout: float = 90.0,
        reconnect_delay: float = 1.0,
        max_reconnects: int = 5,
        catchup_interval: float = 60.0,
    ):
        self.settings = settings
        self.secrets = secrets
        self.instance = _instance(settings)
        # A 401 is told apart from other refusals, so `auth` can try a newer stored token once.
        self.http = watch_unauthorized(Http("Mastodon", self.instance, sleep=sleep, now=now, errors=ERRORS))
        # The token lives in the one OAuth entry; "token" is where `--secret-stdin` and earlier versions
        # stored a bare access token. Mastodon tokens do not expire and are never refreshed.
        self.auth = BearerAuth(secrets, self.http, service="Mastodon", now=now, legacy_entry="token")
        self.page_limit = page_limit
        self.max_pages = max_pages
        self.idle_timeout = idle_timeout
        self.reconnect_delay = reconnect_delay
        self.max_reconnects = max_reconnects
        self.catchup_interval = catchup_interval
        self.notice = ""  # shown on the account by the sync engine (see connectors/base.py)
        self._include_filtered = True  # False once the server refused the parameter
        self._me: dict[str, Any] | None = None
        self._roots: dict[str, str] = {}
        self._stream_base: str | None = None

    # -- HTTP ----------------------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        return self.auth.headers()

    def _get(self, path: str, **kwargs: Any) -> Any:
        return self.auth.call(lambda headers: self.http.get_json(path, headers=headers, **kwargs))

    def me(self) -> dict[str, Any]:
        if self._me is None:
            me = self._get("/api/v1/accounts/verify_credentials")
            if not isinstance(me, dict) or "id" not in me:
                raise TransientError("Mastodon sent an unexpected answer about this account.")
            self._me = me
        return self._me

    # -- inbound -------------------------------------------------------------------------------
    def fetch(self, cursor: dict | None) -> tuple[list[InboundItem], dict]:
        min_id = (cursor or {}).get("min_id")
        notifications: list[dict[str, Any]] = []
        params: dict[str, Any] = {"types[]": "mention", "limit": self.page_limit}
        if min_id is None:
            # First run: the newest page is the history we show; from then on page forward.
            page = self._page(params)
            notifications.extend(page)
            min_id = max((n["id"] for n in page), key=lambda i: (len(i), i), default="0")
        else:
            for _ in range(self.max_pages):
                page = self._page({**params, "min_id": min_id})
                notifications.extend(page)
                for n in page:
                    if newer(n["id"], min_id):
                        min_id = n["id"]
                if len(page) < self.page_limit:
                    break
        cursor_out: dict[str, Any] = {"min_id": min_id}
        if (cursor or {}).get(REQUESTS_READ) or self._read_requests_backlog(notifications):
            cursor_out[REQUESTS_READ] = True
        notifications = list({n["id"]: n for n in notifications}.values())  # backlog may repeat some
        notifications.sort(key=lambda n: (len(n["id"]), n["id"]))
        items = convert_items(notifications, self._item, what="Mastodon notification", ident=lambda n: n["id"])
        return items, cursor_out

    def _page(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        page = self._notifications_page(params)
        if not isinstance(page, list):
            raise TransientError("Mastodon sent an unexpected notifications list. Will try again.")
        # Ids are strings compared by (length, value); an entry without one cannot be paged past or
        # stored, so it is skipped (and logged) instead of refusing the page and re-fetching it for ever.
        valid = []
        for n in page:
            if isinstance(n, dict) and isinstance(n.get("id"), str) and n["id"]:
                valid.append(n)
            else:
                log.warning("Skipping malformed Mastodon notification %r", n.get("id") if isinstance(n, dict) else n)
        return valid

    def _notifications_page(self, params: dict[str, Any]) -> Any:
        """One page of /api/v1/notifications, filtered ones included where the server knows how."""
        if self._include_filtered:
            try:
                return self._get("/api/v1/notifications", params={**params, "include_filtered": "true"})
            except PermanentError:  # a 4xx: is it the parameter? Only if the same call works without it
                page = self._get("/api/v1/notifications", params=params)
                log.info("Mastodon refused include_filtered; asking without it from now on")
                self._include_filtered = False
                return page
        return self._get("/api/v1/notifications", params=params)

    def _requests(self) -> list[dict[str, Any]] | None:
        """Pending notification requests, newest first; None when the server has none (before 4.3)."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": self.page_limit}
        for _ in range(self.max_pages):
            try:
                page = self._get("/api/v1/notifications/requests", params=params)
            except PermanentError:  # 404 before Mastodon 4.3: there are no requests
                return found or None
            if not isinstance(page, list):
                raise TransientError("Mastodon sent an unexpected list of message requests. Will try again.")
            # Ids go into a URL path: only plain numeric ids from a dict with an account are used.
            valid = [r for r in page if isinstance(r, dict) and isinstance(r.get("id"), str)
                     and r["id"].isdigit() and isinstance(r.get("account"), dict)]
            found.extend(valid)
            if len(page) < self.page_limit or not valid:
                break
            params = {"limit": self.page_limit, "max_id": min((r["id"] for r in valid), key=lambda i: (len(i), i))}
        return found

    def _read_requests_backlog(self, notifications: list[dict[str, Any]]) -> bool:
        """Add the newest page of each pending requester's notifications (filtered ones included).
        True when done (or nothing to do); False to try again next fetch, the rest still delivered."""
        try:
            requests = self._requests()
            for request in requests or []:
                account_id = str(request["account"].get("id") or "")
                if account_id.isdigit():
                    notifications.extend(self._page(
                        {"types[]": "mention", "limit": self.page_limit, "account_id": account_id}
                    ))
        except AuthError:
            raise
        except ConnectorError as exc:
            log.info("Mastodon message requests could not be read now (%s); trying next time", type(exc).__name__)
            return False
        return True

    def _accept_request(self, account_id: str) -> None:
        """Accept the pending notification request from this account, if there is one (best effort)."""
        if not account_id:
            return
        try:
            for request in self._requests() or []:
                if str(request["account"].get("id") or "") == account_id:
                    url = f"/api/v1/notifications/requests/{request['id']}/accept"
                    response = self.auth.call(lambda headers: self.http.request(  # runs now: `url` cannot change under it
                        "POST", url, headers=headers, ok_statuses=(403, 404),  # noqa: B023 - 404: accepted or dismissed meanwhile
                    ))
                    if response.status_code == 403:  # "outside the authorized scopes": an older login
                        self.notice = NEEDS_WRITE_NOTIFICATIONS
                    else:
                        log.info("Accepted the Mastodon message request of account %s", account_id)
                    return
        except ConnectorError as exc:  # the reply is posted; a dead login shows on the next fetch
            log.info("Mastodon message request not accepted now (%s)", type(exc).__name__)

    def _item(self, notification: dict[str, Any]) -> InboundItem | None:
        status = notification.get("status")
        if notification.get("type") != "mention" or not isinstance(status, dict) or "id" not in status:
            return None  # the status was deleted, or it is not a mention
        account = status.get("account") or notification.get("account") or {}
        me = self.me()
        if account.get("id") == me.get("id"):
            return None
        visibility = status.get("visibility") or "public"
        acct = account.get("acct") or account.get("username") or ""
        others = sorted(
            {m.get("acct", "") for m in status.get("mentions") or []} - {me.get("acct"), acct, ""}
        )
        text = html_to_text(status.get("content") or "")
        if status.get("spoiler_text"):
            text = f"CW: {html_to_text(status['spoiler_text'])}\n\n{text}"
        if visibility == "direct":
            conversation = "dm:" + ",".join(sorted([acct, *others]))
        else:
            conversation = "thread:" + self._root(status)
        return InboundItem(
            external_id=str(status["id"]),
            conversation_external_id=conversation,
            kind="dm" if visibility == "direct" else "mention",
            public=visibility in ("public", "unlisted"),
            author=Author(
                external_id=str(account.get("id", "")),
                handle="@" + acct,
                display_name=account.get("display_name") or account.get("username") or acct,
                profile_url=account.get("url") or "",
            ),
            text=text,
            # A garbled date must not lose the message: it then counts from when we saw it.
            created_at=parse_iso(status.get("created_at")) or self.http.now(),
            permalink=status.get("url") or status.get("uri") or "",
            in_reply_to=str(status.get("in_reply_to_id") or ""),
            meta={
                "visibility": visibility,
                "acct": acct,
                "mentions": others,
                "notification_id": str(notification["id"]),
                # Held back by the owner's notification policy (a stranger's DM): answering accepts it.
                **({"filtered": True} if notification.get("filtered") is True else {}),
            },
        )

    def _root(self, status: dict[str, Any]) -> str:
        status_id = str(status["id"])
        if not status.get("in_reply_to_id"):
            return status_id
        if status_id not in self._roots:
            try:
                context = self._get(f"/api/v1/statuses/{status_id}/context")
                ancestors = context.get("ancestors") if isinstance(context, dict) else None
                self._roots[status_id] = str(ancestors[0]["id"]) if ancestors else status_id
            except PermanentError:
                # The thread is gone or hidden from us: the parent is the best root we know.
                self._roots[status_id] = str(status["in_reply_to_id"])
        return self._roots[status_id]

    # -- outbound ------------------------------------------------------------------------------
    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult:
        meta = target.parent_meta or {}
        visibility = meta.get("visibility") or ("direct" if target.kind == "dm" else "public")
        acct = meta.get("acct") or target.recipient_handle.lstrip("@")
        missing = [a for a in [acct, *meta.get("mentions", [])] if a and f"@{a}" not in text]
        if missing:
            # A direct message reaches only the accounts it mentions; public replies notify them.
            text = " ".join(f"@{a}" for a in missing) + " " + text
        body: dict[str, Any] = {"status": text, "visibility": visibility}
        if target.parent_external_id:
            body["in_reply_to_id"] = target.parent_external_id
        result = self._post(body, idempotency_key)
        if meta.get("filtered") and not target.auto_reply:
            self._accept_request(str(target.recipient_external_id or ""))
        return result

    def post_status(self, text: str, *, idempotency_key: str) -> OutboundResult:
        return self._post({"status": text, "visibility": "public"}, idempotency_key)

    def _post(self, body: dict[str, Any], idempotency_key: str) -> OutboundResult:
        status = self.auth.call(lambda headers: self.http.post_json(
            "/api/v1/statuses",
            json=body,
            headers={**headers, "Idempotency-Key": idempotency_key},
            retry=True,  # the Idempotency-Key makes a repeated POST return the same status
        ))
        if not isinstance(status, dict) or "id" not in status:
            raise TransientError("Mastodon sent an unexpected answer to our post.")
        return OutboundResult(
            external_id=str(status["id"]),
            permalink=status.get("url") or "",
            meta={"visibility": status.get("visibility", body["visibility"])},
        )

    # -- scheduled posts (see the module docstring) -------------------------------------------------
    def schedule_status(self, text: str, at: datetime, *, idempotency_key: str) -> ScheduledPost:
        when = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        body = {"status": text, "visibility": "public", "scheduled_at": when}
        answer = self.auth.call(lambda headers: self.http.post_json(
            "/api/v1/statuses", json=body, headers={**headers, "Idempotency-Key": idempotency_key},
            retry=True,  # the Idempotency-Key returns the same scheduled post on a repeat
        ))
        if isinstance(answer, dict) and isinstance(answer.get("params"), dict):
            post = _scheduled(answer)
            if post is not None:
                return post
        if isinstance(answer, dict) and isinstance(answer.get("id"), str) and "content" in answer:
            # Mastodon publishes at once when the time has passed: say so, the post is out.
            return ScheduledPost(answer["id"], parse_iso(answer.get("created_at")) or self.http.now(), text,
                                 idempotency_key, published=True)
        raise TransientError("Mastodon sent an unexpected answer to a scheduled post.")

    def cancel_scheduled(self, scheduled_id: str) -> bool:
        if not scheduled_id.isdigit():  # it goes into the URL path: only Mastodon's numeric ids
            return False
        response = self.auth.call(lambda headers: self.http.request(
            "DELETE", f"/api/v1/scheduled_statuses/{scheduled_id}", headers=headers, ok_statuses=(404,),
        ))
        gone = response.status_code == 404
        response.close()
        return not gone

    def list_scheduled(self) -> list[ScheduledPost]:
        found: list[ScheduledPost] = []
        params: dict[str, Any] = {"limit": 40}
        for _ in range(10):  # 300 at most on a server, 40 a page
            page = self._get("/api/v1/scheduled_statuses", params=params)
            if not isinstance(page, list):
                raise TransientError("Mastodon sent an unexpected list of scheduled posts. Will try again.")
            posts = [p for p in (_scheduled(entry) for entry in page) if p is not None]
            found.extend(posts)
            if len(page) < 40 or not posts:
                break
            params = {"limit": 40, "max_id": min((p.scheduled_id for p in posts), key=lambda i: (len(i), i))}
        return found

    def check(self) -> AccountInfo:
        self._me = None
        me = self.me()
        host = urlsplit(self.instance).hostname or ""
        return AccountInfo(
            display_name=me.get("display_name") or me.get("username") or "",
            handle=f"@{me.get('acct') or me.get('username')}@{host}",
            text_limit=self._instance_text_limit(),
        )

    def _instance_text_limit(self) -> int | None:
        """The instance's own post length (many allow more than 500): `configuration.statuses.
        max_characters` of /api/v2/instance (Mastodon 4), else of /api/v1/instance, else Pleroma's and
        Akkoma's `max_toot_chars`; None when the instance does not say (500 is then assumed)."""
        for path in ("/api/v2/instance", "/api/v1/instance"):
            try:
                info = self.http.get_json(path)
            except ConnectorError:
                continue
            if not isinstance(info, dict):
                continue
            statuses = (info.get("configuration") or {}).get("statuses") or {}
            for value in (statuses.get("max_characters") if isinstance(statuses, dict) else None,
                          info.get("max_toot_chars")):
                if (limit := valid_text_limit(value)) is not None and limit <= 1_000_000:
                    return limit
        return None

    # -- real time -----------------------------------------------------------------------------
    def _streaming_base(self) -> str:
        if self._stream_base is None:
            self._stream_base = self._discover_streaming_base()
        return self._stream_base

    def _discover_streaming_base(self) -> str:
        try:
            info = self.http.get_json("/api/v2/instance")
            url = ((info.get("configuration") or {}).get("urls") or {}).get("streaming") or ""
        except (ConnectorError, AttributeError):
            url = ""
        if not url:
            return self.instance
        # The instance names a ws(s):// URL; the SSE endpoints live on the same host over http(s).
        url = "https" + url[3:] if url.startswith("wss") else "http" + url[2:] if url.startswith("ws") else url
        return check_base_url(url, "Mastodon streaming")

    def stream(
        self,
        cursor: dict | None,
        on_items: Callable[[list[InboundItem], dict], None],
        stop_event: threading.Event,
    ) -> None:
        cursor = dict(cursor or {})
        failures = 0
        while not stop_event.is_set():
            reader: LineReader | None = None
            try:
                response = self.http.request(
                    "GET",
                    self._streaming_base() + "/api/v1/streaming/user/notification",
                    # identity: LineReader reads raw bytes, so the stream must not be compressed.
                    headers={**self._auth(), "Accept": "text/event-stream", "Accept-Encoding": "identity"},
                    timeout=(10.0, self.idle_timeout),
                    stream=True,
                    retry=False,
                )
                reader = LineReader(response, stop_event, self.idle_timeout, "Mastodon")
                cursor = self._deliver(cursor, on_items)  # catch up once the stream is open
                last_fetch = time.monotonic()
                failures = 0
                for event in _sse_events(reader):
                    # Filtered notifications never ring: fetch on a heartbeat now and then too.
                    if event == "notification" or time.monotonic() - last_fetch >= self.catchup_interval:
                        cursor = self._deliver(cursor, on_items)
                        last_fetch = time.monotonic()
                if stop_event.is_set():
                    return
                log.info("Mastodon stream closed by the server; reconnecting")
            except TransientError:
                failures += 1
                if failures > self.max_reconnects:
                    raise
            finally:
                if reader is not None:
                    reader.close()
            if stop_event.wait(self.reconnect_delay * max(1, failures)):
                return

    def _deliver(self, cursor: dict, on_items: Callable[[list[InboundItem], dict], None]) -> dict:
        items, new_cursor = self.fetch(cursor)
        if items or new_cursor != cursor:
            on_items(items, new_cursor)
        return new_cursor

    def close(self) -> None:
        self.http.close()


def _scheduled(entry: Any) -> ScheduledPost | None:
    """A ScheduledStatus entity, or None when it is not one (hostile input: checked field by field)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"].isdigit():
        return None
    at = parse_iso(entry.get("scheduled_at"))
    params = entry.get("params")
    if not isinstance(params, dict):
        params = {}
    if at is None:
        return None
    text, key = params.get("text"), params.get("idempotency")
    return ScheduledPost(entry["id"], at, text if isinstance(text, str) else "", key if isinstance(key, str) else "")


def _sse_events(lines: Any) -> Any:
    """Event names of a server-sent event stream (data is not needed: events are a doorbell);
    HEARTBEAT for a comment line, which the server sends to keep the connection alive."""
    event = ""
    for line in lines:
        if line.startswith(":"):
            yield HEARTBEAT
            continue
        if line == "":
            if event:
                yield event
            event = ""
        elif line.startswith("event:"):
            event = line[6:].strip()


HEARTBEAT = ":"


class MastodonLogin(AuthCodeLogin):
    """One sign-in to a Mastodon instance (oauth.AuthCodeLogin does the protocol; see the module doc).

    Each attempt registers an app (`POST /api/v1/apps`) with two redirect URIs, one per line (the form
    every Mastodon version takes; an array only from 4.3): the out-of-band one and this attempt's exact
    loopback address, `http://127.0.0.1:<port>/callback`. Mastodon's OAuth server (Doorkeeper) would
    also match a loopback URI registered without the port (RFC 8252 §7.3), but servers speaking the
    Mastodon API are not all Doorkeeper; registering the exact address works everywhere, and a fresh
    registration per sign-in also always carries the current SCOPES. A server that refuses the loopback
    URI gets an out-of-band-only registration and the paste flow. PKCE S256 (Mastodon 4.3+; older
    servers ignore the parameters) and `state` are sent on every attempt. Mastodon issues no refresh
    token and its tokens do not expire, so the token entry has neither.
    """

    service = "Mastodon"
    oob_redirect = OOB
    instructions = (
        "Sign in to your Mastodon instance in your browser and allow socialdesk; it comes back here by "
        "itself. If it cannot, paste the code or the whole address your browser shows."
    )

    def make_client(self, redirect_uri: str) -> OAuthClient:
        instance = _instance(self.settings)
        uris = OOB if redirect_uri == OOB else f"{OOB}\n{redirect_uri}"
        http = Http("Mastodon", instance, now=self.now)
        try:
            app = http.post_json(
                "/api/v1/apps",
                data={"client_name": "socialdesk", "redirect_uris": uris, "scopes": SCOPES},
            )
        except PermanentError as exc:
            if redirect_uri != OOB:
                raise LoopbackRefused(str(exc)) from None
            raise
        finally:
            http.close()
        if not isinstance(app, dict) or not isinstance(app.get("client_id"), str) or not app["client_id"] \
                or not isinstance(app.get("client_secret"), str) or not app["client_secret"]:
            raise TransientError("Mastodon did not register socialdesk as an app. Try again.")
        return OAuthClient(
            service="Mastodon",
            authorize_url=f"{instance}/oauth/authorize",
            token_url=f"{instance}/oauth/token",
            client_id=app["client_id"],
            client_secret=app["client_secret"],
            scope=SCOPES,
            redirect_uri=redirect_uri,
            # Documented as "must equal the scope requested" before 4.3, "no effect" since: sent.
            token_params={"scope": SCOPES},
        )

    def accounts(self, tokens: Tokens, client: OAuthClient) -> list[LoginAccount]:
        """One Mastodon sign-in is one account; its check also learns the instance's post length."""
        secrets = MemorySecrets({
            TOKEN_ENTRY: tokens.to_json(),
            "client_id": client.client_id,
            "client_secret": client.client_secret,  # kept to revoke the token on a later sign-out
        })
        connector = MastodonConnector(self.settings, secrets)
        try:
            info = connector.check()
        finally:
            connector.close()
        label = info.display_name + (f" ({info.handle})" if info.handle else "")
        return [LoginAccount(label=label, info=info, secrets=dict(secrets.values))]


# 500 is Mastodon's default; an instance's own limit is learned at check time and passed as an override.
# Statuses carry an Idempotency-Key header, which Mastodon honours, so an interrupted send is retried.
TRAITS = declare(
    "mastodon",
    address_style="@handle",
    limits=(("*", TextLimit(TEXT_LIMIT, "characters", mastodon_length)),),
    idempotent_sends=True,
)

SPEC = ConnectorSpec(
    kind="mastodon",
    title="Mastodon",
    capabilities=MastodonConnector.capabilities,
    settings=(("instance", "Instance address", DEFAULT_INSTANCE),),
    secret_label="",
    needs="A Mastodon account; you sign in in your browser and allow socialdesk.",
    traits=TRAITS,
    factory=lambda settings, secrets: MastodonConnector(settings, secrets),
    secret_name="token",  # `account add --secret-stdin` stores an existing access token here
    # TOKEN_ENTRY since the shared OAuth layer; "token", "client_scopes" and "pkce_verifier" were
    # stored by earlier versions and are removed with the account too.
    secret_names=(TOKEN_ENTRY, "token", "client_id", "client_secret", "client_scopes", "pkce_verifier"),
    login_flow=MastodonLogin,
    # Mastodon's web interface has no page for scheduled posts (they were added to the API only, mastodon#9706).
    scheduled_posts_where="in a Mastodon app that lists scheduled posts "
                          "(Mastodon's own website does not show them)",
)
