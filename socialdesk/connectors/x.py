"""X (Twitter) API v2: browser sign-in with the owner's own app, mentions and DMs, replies, status posts,
and the cost of every call counted for the usage meter (connectors/usage.py, core/usage.py).

Wire facts (docs.x.com, shared/CONNECTORS.md "X API v2"; parameter names as in X's API reference):
- Sign-in: OAuth 2.0 authorization code + PKCE (S256), public "Native App" client: the owner's Client ID
  (X developer console → the app → Keys and tokens → OAuth 2.0 Client ID), no secret. Authorize at
  `https://x.com/i/oauth2/authorize`, tokens from `POST https://api.x.com/2/oauth2/token` (form body,
  `client_id` in it). The code lives 30 s: `finish` exchanges it at once. Access tokens last 2 h;
  `offline.access` gives a refresh token that rotates on every refresh (oauth.BearerAuth stores the
  pair as one keyring entry under the account's lock, so a rotated token is never half stored).
  Scopes: `tweet.read tweet.write users.read dm.read dm.write offline.access`.
- X matches the callback URI exactly, port included (at most 10 per app), so the listener cannot take
  any free port as elsewhere: it listens on the fixed port of setting `callback_port` (default
  DEFAULT_PORT) and the dialog and the command line show the exact address to register,
  `http://127.0.0.1:<port>/callback`. A port in use is a clear error naming another choice.
- Mentions: `GET /2/users/:id/mentions` with `since_id`, `max_results` (5–100), `pagination_token`,
  `tweet.fields=created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets`,
  `expansions=author_id`, `user.fields=username,name`; newest first, `meta.next_token` pages to older
  ones down to `since_id`. We follow next_token to the end (bounded by X's own 800-mention window:
  8 pages of 100) and only then store the first page's `meta.newest_id`, so nothing between two
  polls is skipped. First run: one small page (FIRST_PAGE) as history. Until a first mention or DM
  gives an id to page to, later fetches find what came after the first one by time (cursor
  `started_at`: `start_time` for mentions, `created_at` for DM events), so a burst is never cut to a page. Responses are parsed in both
  spellings X uses (`tweet`/`post`: `includes.tweets|posts`, `referenced_tweets|posts`).
- DMs: `GET /2/dm_events` with `event_types=MessageCreate`, `dm_event.fields=id,text,created_at,
  sender_id,dm_conversation_id`, `expansions=sender_id`, `user.fields=username,name`, `max_results`
  (1–100), `pagination_token`; newest first, no since_id, 30 days of history: page until an event id
  at or below the stored newest (ids are time-ordered snowflakes, compared as numbers). Frugal: each
  poll first reads ONE event (a probe, `max_results=1`); only when it is new does it continue with
  the probe's `next_token` and pages of DM_PAGE. Events group by `dm_conversation_id`.
- Our own posts and DMs are delivered as outbound items (seen on the platform).
- Reply: `POST /2/tweets {text, reply: {in_reply_to_tweet_id}}` → 201 `{data: {id, text}}`. Since
  2026-02-23 a self-serve app may reply only where the author mentioned or quoted the account
  ("summoned"), which a reply to a mention is; X refuses anything else with 403, which becomes
  NotAllowed with X's reason (the outbox puts the conversation back in the queue, open). DM reply:
  `POST /2/dm_conversations/with/:participant_id/messages {text}` (one-to-one), or
  `POST /2/dm_conversations/:dm_conversation_id/messages` for a group → 201 `{data: {dm_conversation_id,
  dm_event_id}}`. Status posts: `POST /2/tweets {text}`. X has no idempotency key: sends are not
  retried blindly (a lost answer becomes "unknown" for the owner, core/outbox.py).
- Text: posts count twitter-text's weighted 280 (connectors/text_counting.x_weighted_length: most
  non-Latin scripts weigh 2, every URL 23); DMs 10,000 characters. An over-long text is refused here
  with the same counter the composer uses, before any call is paid for.
- Errors: platform_errors.X_ERRORS (problem JSON `{title, detail, type}`, 200 with `errors` and no
  `data`, `…/usage-capped` → QuotaExceeded, 403 → NotAllowed), with a 401 watched so BearerAuth
  refreshes once. A 200 with both `data` and `errors` is a partial success: `data` is used, the errors
  are logged by type only. 429 (`{"errors":[{"code":88}]}` or problem JSON) waits for
  `x-rate-limit-reset`. Every endpoint has its own rate-limit window (mentions 300, DM events 15, posts
  100 per 15 min per user): each call names its bucket so a spent DM window does not stop mentions.
  DMs that fail (rate limit, no DM permission) leave mentions working, with a notice on the account.
- Cost (pay-per-use since 2026-02-06, `USAGE` below): reads are billed per resource returned, writes
  per request; X charges a resource once per UTC day (the counter dedupes per UTC day). We count mentions
  as owned reads ($0.001), DM events ($0.010), every user object X returns (includes.users, users/me)
  as a user read ($0.010, conservative: X may bill expansions within the owned read), replies as
  summoned replies ($0.010), other posts ($0.015), DMs sent ($0.015), and any post containing a URL
  at the URL price ($0.20). Only successful calls are counted.
- Polling, not the Activity stream: `/2/activity/stream` is authenticated with the app's bearer token
  (app-only, a second, confidential credential of the owner's app) rather than the user's token, and
  is billed per event delivered; polling with `since_id` costs nothing when nothing is new (reads are
  billed per resource returned) and the DM probe one event per UTC day. So X polls: every 90 s while
  open, every 5 min while closed (traits), which keeps an off-hours auto-reply within about five
  minutes of the customer's message, and the DM endpoint's 15 calls / 15 min are never exceeded.
- Every address is a setting (`api_base`, `authorize_url`); plaintext http:// only to loopback (tests).
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable

from socialdesk.connectors.base import (
    AccountInfo,
    AccountSecrets,
    Author,
    ConnectorSpec,
    InboundItem,
    MemorySecrets,
    OutboundResult,
    PermanentError,
    QuotaExceeded,
    RateLimited,
    ReplyTarget,
    TransientError,
    convert_items,
)
from socialdesk.connectors.http import Http, check_base_url, json_object, json_string, parse_iso, utcnow
from socialdesk.connectors.oauth import (
    TOKEN_ENTRY,
    AuthCodeLogin,
    BearerAuth,
    LoginAccount,
    OAuthClient,
    Tokens,
    watch_unauthorized,
)
from socialdesk.connectors.platform_errors import X_ERRORS
from socialdesk.connectors.text_counting import codepoints, x_weighted_length
from socialdesk.connectors.traits import TextLimit, declare
from socialdesk.connectors.usage import Price, UsageCounter, UsagePlan

log = logging.getLogger("socialdesk.connectors.x")

SCOPES = "tweet.read tweet.write users.read dm.read dm.write offline.access"
DEFAULT_API = "https://api.x.com"
DEFAULT_AUTHORIZE = "https://x.com/i/oauth2/authorize"
DEFAULT_PORT = 48765  # the owner registers http://127.0.0.1:48765/callback once (setting callback_port)
POST_LIMIT = 280  # weighted (twitter-text)
DM_LIMIT = 10_000
FIRST_PAGE = 10  # history taken on the first fetch: small, every resource is billed
MENTION_PAGE = 100
DM_PAGE = 50
MAX_PAGES = 8  # 8 × 100 = X's 800-mention window; DMs: 400 events a poll at most
TWEET_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets"
DM_FIELDS = "id,text,created_at,sender_id,dm_conversation_id"
USER_FIELDS = "username,name"
_ID = re.compile(r"\d{1,20}")  # X ids are decimal snowflakes; anything else never reaches a URL path
_URL = re.compile(r"(?:https?://|www\.)\S", re.IGNORECASE)

def post_bucket(text: str, plain: str = "post_create") -> str:
    """The usage bucket a post is billed under: a post with a URL costs the URL price."""
    return "post_url_create" if _URL.search(text) else plain


USAGE = UsagePlan(
    currency="USD",
    zone="UTC",  # X's day for dedup and billing
    budget_period="month",
    dedupe_daily=True,
    prices=(
        Price("owned_read", Decimal("0.001"), "mention read", "resource"),
        Price("dm_read", Decimal("0.010"), "DM event read", "resource"),
        Price("user_read", Decimal("0.010"), "user read", "resource"),
        Price("reply_create", Decimal("0.010"), "reply", "request"),
        Price("post_create", Decimal("0.015"), "post", "request"),
        Price("post_url_create", Decimal("0.200"), "post with a link", "request"),
        Price("dm_create", Decimal("0.015"), "direct message", "request"),
    ),
    post_bucket=post_bucket,
)


def _valid_id(value: Any) -> str:
    return value if isinstance(value, str) and _ID.fullmatch(value) else ""


def newer(a: str, b: str | None) -> bool:
    """True when snowflake id `a` is after `b` (decimal strings: compared as numbers)."""
    return not b or (len(a), a) > (len(b), b)


def _unescape(text: str) -> str:
    # X escapes &, < and > in post and DM text (and only those): undo exactly that, once.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def api_base(settings: dict) -> str:
    return check_base_url(str(settings.get("api_base") or DEFAULT_API), "X")


def callback_port(settings: dict) -> int:
    raw = str(settings.get("callback_port") or DEFAULT_PORT).strip()
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
        raise PermanentError(f"X: the callback port must be a number from 1024 to 65535, not {raw[:20]!r}.")
    return int(raw)


def redirect_address(settings: dict) -> str:
    """The callback address the owner registers in their X app, exactly."""
    return f"http://127.0.0.1:{callback_port(settings)}/callback"


def _client(settings: dict, redirect_uri: str = "") -> OAuthClient:
    client_id = str(settings.get("client_id") or "").strip()
    if not client_id or len(client_id) > 200 or not client_id.isprintable() or " " in client_id:
        raise PermanentError("X needs your app's OAuth 2.0 Client ID (X developer console → your app → Keys and "
                             "tokens).")
    authorize = check_base_url(str(settings.get("authorize_url") or DEFAULT_AUTHORIZE), "X sign-in")
    return OAuthClient(service="X", authorize_url=authorize, token_url=f"{api_base(settings)}/2/oauth2/token",
                       client_id=client_id, scope=SCOPES, redirect_uri=redirect_uri)


class XConnector:
    kind = "x"
    capabilities = frozenset({"mention", "dm", "post_status"})

    def __init__(
        self,
        settings: dict,
        secrets: AccountSecrets,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utcnow,
        mention_page: int = MENTION_PAGE,
        dm_page: int = DM_PAGE,
        max_pages: int = MAX_PAGES,
    ):
        self.settings = settings
        self.secrets = secrets
        self.http = watch_unauthorized(Http("X", api_base(settings), sleep=sleep, now=now, errors=X_ERRORS))
        _client(settings)  # a missing or odd client id is refused now, before any network
        self.auth = BearerAuth(secrets, self.http, service="X", now=now, client=lambda: _client(settings),
                               legacy_entry="token")
        self.now = now
        self.mention_page = mention_page
        self.dm_page = dm_page
        self.max_pages = max_pages
        self.usage = UsageCounter(USAGE, now=now)  # the engine swaps in the account's own counter
        self.notice = ""
        self._me: dict[str, str] | None = None
        user_id = _valid_id(settings.get("user_id"))
        if user_id:
            self._me = {"id": user_id, "username": str(settings.get("username") or ""), "name": ""}

    # -- HTTP ----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, bucket: str, **kwargs: Any) -> Any:
        return self.auth.call(lambda headers: self.http.decode(
            self.http.request(method, path, headers=headers, bucket=bucket, **kwargs)))

    def _users(self, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """includes.users by id (counted as user reads)."""
        users = {}
        for user in json_object(body.get("includes")).get("users") or []:
            if isinstance(user, dict) and _valid_id(user.get("id")):
                users[user["id"]] = user
        self.usage.count("user_read", ids=users)
        return users

    def _log_partial(self, body: dict[str, Any], what: str) -> None:
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            kinds = sorted({json_string(json_object(e).get("type")).rsplit("/", 1)[-1][:40] for e in errors})
            log.info("X %s: partial answer, %d error(s) (%s)", what, len(errors), ", ".join(kinds))

    def me(self) -> dict[str, str]:
        if self._me is None:
            body = json_object(self._call("GET", "/2/users/me", "users_me", params={"user.fields": USER_FIELDS}))
            data = json_object(body.get("data"))
            if not _valid_id(data.get("id")):
                raise TransientError("X sent an unexpected answer about this account. Will try again.")
            self.usage.count("user_read", ids=[data["id"]])
            self._me = {"id": data["id"], "username": json_string(data.get("username")),
                        "name": json_string(data.get("name"))}
        return self._me

    # -- inbound -------------------------------------------------------------------------------
    def fetch(self, cursor: dict | None) -> tuple[list[InboundItem], dict]:
        cursor = dict(cursor or {})
        me = self.me()["id"]
        # Until a first mention or DM gives an id to page to, what came after the first fetch is found
        # by time: `start_time` for mentions, created_at for DMs (the first fetch only takes a small history).
        started = parse_iso(cursor.get("started_at"))
        out = dict(cursor)
        if started is None:
            out["started_at"] = self.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        tweets, users, since_id = self._mentions(me, _valid_id(cursor.get("since_id")) or None, started)
        if since_id:
            out["since_id"] = since_id
        items = convert_items(tweets, lambda t: self._tweet_item(t, users, me), what="X mention",
                              ident=lambda t: t.get("id"))
        self.notice = ""
        try:
            events, dm_users, dm_newest = self._dm_events(_valid_id(cursor.get("dm_newest")) or None, started)
        except QuotaExceeded:
            raise  # the app's usage cap: nothing works until it renews
        except RateLimited as exc:
            self.notice = f"X direct messages wait for X's rate limit until {exc.retry_at:%H:%M} UTC; mentions still arrive."
        except PermanentError as exc:
            self.notice = (f"X refused to list direct messages ({exc}). Mentions still arrive. For DMs the app needs "
                           "the permission 'Read and write and Direct message' in the X developer console; then "
                           "sign in again.")
        else:
            if dm_newest:
                out["dm_newest"] = dm_newest
            items += convert_items(events, lambda e: self._dm_item(e, dm_users, me), what="X direct message",
                                   ident=lambda e: e.get("id"))
        return items, out

    def _mentions(self, me: str, since_id: str | None, started: datetime | None
                  ) -> tuple[list[dict], dict[str, dict], str | None]:
        first_run = not since_id and started is None
        params: dict[str, Any] = {"tweet.fields": TWEET_FIELDS, "expansions": "author_id",
                                  "user.fields": USER_FIELDS,
                                  "max_results": max(5, FIRST_PAGE) if first_run else self.mention_page}
        if since_id:
            params["since_id"] = since_id
        elif started is not None:
            params["start_time"] = started.strftime("%Y-%m-%dT%H:%M:%SZ")
        tweets: dict[str, dict] = {}
        users: dict[str, dict] = {}
        newest: str | None = None
        for page in range(1 if first_run else self.max_pages):
            body = json_object(self._call("GET", f"/2/users/{me}/mentions", "mentions", params=params))
            self._log_partial(body, "mentions")
            meta = json_object(body.get("meta"))
            if page == 0:
                newest = _valid_id(meta.get("newest_id")) or None
            data = [t for t in body.get("data") or [] if isinstance(t, dict) and _valid_id(t.get("id"))]
            self.usage.count("owned_read", ids=[t["id"] for t in data])
            users.update(self._users(body))
            for tweet in data:
                tweets[tweet["id"]] = tweet
                if newer(tweet["id"], newest):
                    newest = tweet["id"]
            token = json_string(meta.get("next_token"))
            if not token:
                break
            params = {**params, "pagination_token": token}
        else:
            log.warning("X mentions: more than %d pages since the last poll; the oldest may be missed", self.max_pages)
        ordered = sorted(tweets.values(), key=lambda t: (len(t["id"]), t["id"]))  # oldest first
        return ordered, users, newest if newest and newer(newest, since_id) else since_id

    def _dm_events(self, known: str | None, started: datetime | None
                   ) -> tuple[list[dict], dict[str, dict], str | None]:
        base = {"event_types": "MessageCreate", "dm_event.fields": DM_FIELDS, "expansions": "sender_id",
                "user.fields": USER_FIELDS}
        first_run = not known and started is None
        # The probe: one event. Unchanged newest event → nothing new, and X bills it once a UTC day.
        params: dict[str, Any] = {**base, "max_results": 1 if known else FIRST_PAGE if first_run else self.dm_page}
        events: dict[str, dict] = {}
        users: dict[str, dict] = {}
        newest: str | None = None
        for _ in range(self.max_pages + 1):
            body = json_object(self._call("GET", "/2/dm_events", "dm_events", params=params))
            self._log_partial(body, "DM events")
            data = [e for e in body.get("data") or [] if isinstance(e, dict) and _valid_id(e.get("id"))]
            self.usage.count("dm_read", ids=[e["id"] for e in data])
            users.update(self._users(body))
            reached = False
            for event in data:
                if newest is None or newer(event["id"], newest):
                    newest = event["id"]
                if known and not newer(event["id"], known):
                    reached = True
                    continue
                when = parse_iso(event.get("created_at"))
                if not known and started is not None and when is not None and when < started:
                    reached = True  # before the first fetch: that was the history we did not take
                    continue
                if event.get("event_type", "MessageCreate") == "MessageCreate":
                    events[event["id"]] = event
            token = json_string(json_object(body.get("meta")).get("next_token"))
            if reached or not token or first_run:
                break  # at the stored newest (or the first fetch), at the end of the 30 days, or the history
            params = {**base, "max_results": self.dm_page, "pagination_token": token}
        ordered = sorted(events.values(), key=lambda e: (len(e["id"]), e["id"]))
        return ordered, users, newest if newest and newer(newest, known) else known

    def _author(self, user_id: str, users: dict[str, dict]) -> Author:
        user = users.get(user_id) or {}
        username = json_string(user.get("username"))
        return Author(external_id=user_id, handle=f"@{username}" if username else "",
                      display_name=json_string(user.get("name")) or username,
                      profile_url=f"https://x.com/{username}" if username else "")

    def _tweet_item(self, tweet: dict[str, Any], users: dict[str, dict], me: str) -> InboundItem:
        author_id = _valid_id(tweet.get("author_id"))
        refs = tweet.get("referenced_tweets") or tweet.get("referenced_posts") or []
        parent = next((_valid_id(json_object(r).get("id")) for r in refs if json_object(r).get("type") == "replied_to"), "")
        conversation = _valid_id(tweet.get("conversation_id")) or tweet["id"]
        author = self._author(author_id, users)
        username = author.handle.lstrip("@")
        return InboundItem(
            external_id=tweet["id"],
            conversation_external_id=f"thread:{conversation}",
            kind="mention",
            public=True,
            author=author,
            text=_unescape(json_string(tweet.get("text"))),
            created_at=parse_iso(tweet.get("created_at")) or self.http.now(),
            permalink=f"https://x.com/{username or 'i/web'}/status/{tweet['id']}",
            in_reply_to=parent,
            outbound=author_id == me,
            meta={"author_id": author_id, "conversation_id": conversation},
        )

    def _dm_item(self, event: dict[str, Any], users: dict[str, dict], me: str) -> InboundItem:
        sender = _valid_id(event.get("sender_id"))
        conversation = json_string(event.get("dm_conversation_id"))
        if not re.fullmatch(r"\d{1,20}(-\d{1,20})?", conversation):
            conversation = "-".join(sorted({sender, me}, key=lambda i: (len(i), i)))
        return InboundItem(
            external_id=f"dm:{event['id']}",
            conversation_external_id=f"dm:{conversation}",
            kind="dm",
            public=False,
            author=self._author(sender, users),
            text=_unescape(json_string(event.get("text"))),
            created_at=parse_iso(event.get("created_at")) or self.http.now(),
            outbound=sender == me,
            meta={"dm_conversation_id": conversation, "sender_id": sender},
        )

    # -- outbound ------------------------------------------------------------------------------
    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult:
        if target.kind == "dm":
            return self._send_dm(target, text)
        parent = target.parent_external_id
        if not _valid_id(parent):
            raise PermanentError("X: there is no post to reply to in this conversation.")
        return self._post({"text": text, "reply": {"in_reply_to_tweet_id": parent}}, "reply_create")

    def post_status(self, text: str, *, idempotency_key: str) -> OutboundResult:
        return self._post({"text": text}, "post_create")

    def _check_length(self, text: str, kind: str) -> None:
        limit = TRAITS.limit_for(kind)
        if limit.limit is not None and limit.counter(text) > limit.limit:
            raise PermanentError(f"X: the text is {limit.counter(text)} {limit.unit} long; X allows {limit.limit}.")

    def _post(self, body: dict[str, Any], bucket: str) -> OutboundResult:
        self._check_length(body["text"], "mention")
        answer = json_object(self._call("POST", "/2/tweets", "tweets", json=body, retry=False))
        data = json_object(answer.get("data"))
        if not _valid_id(data.get("id")):
            raise TransientError("X sent an unexpected answer to our post.")
        self.usage.count(post_bucket(body["text"], bucket))
        username = (self._me or {}).get("username") or "i/web"
        return OutboundResult(external_id=data["id"], permalink=f"https://x.com/{username}/status/{data['id']}")

    def _send_dm(self, target: ReplyTarget, text: str) -> OutboundResult:
        self._check_length(text, "dm")
        meta = target.parent_meta or {}
        conversation = json_string(meta.get("dm_conversation_id")) or target.conversation_external_id.removeprefix("dm:")
        me = self.me()["id"]
        members = conversation.split("-") if re.fullmatch(r"\d{1,20}-\d{1,20}", conversation) else []
        participant = next((m for m in members if m != me), "") or _valid_id(target.recipient_external_id) \
            or _valid_id(meta.get("sender_id"))
        if members or (participant and not re.fullmatch(r"\d{1,20}", conversation)):
            if not participant:
                raise PermanentError("X: this conversation has nobody to write to.")
            path = f"/2/dm_conversations/with/{participant}/messages"
        elif re.fullmatch(r"\d{1,20}", conversation):  # a group conversation
            path = f"/2/dm_conversations/{conversation}/messages"
        else:
            raise PermanentError("X: this conversation has nobody to write to.")
        answer = json_object(self._call("POST", path, "dm_send", json={"text": text}, retry=False))
        data = json_object(answer.get("data"))
        event_id = _valid_id(data.get("dm_event_id"))
        if not event_id:
            raise TransientError("X sent an unexpected answer to our message.")
        self.usage.count("dm_create")
        return OutboundResult(external_id=f"dm:{event_id}",
                              meta={"dm_conversation_id": json_string(data.get("dm_conversation_id")) or conversation})

    def check(self) -> AccountInfo:
        self._me = None
        me = self.me()
        return AccountInfo(display_name=me["name"] or me["username"], handle=f"@{me['username']}" if me["username"] else "")

    def stream(self, cursor: dict | None, on_items: Callable[[list[InboundItem], dict], None], stop_event: Any) -> None:
        raise PermanentError("X is polled here (see connectors/x.py: the Activity stream needs the app's own token).")

    def close(self) -> None:
        self.http.close()


class XLogin(AuthCodeLogin):
    """One sign-in to X with the owner's app (see the module docstring). X has no out-of-band code:
    the browser comes back to the fixed loopback port, or the owner pastes the address it ended on."""

    service = "X"
    instructions = (
        f"In the X developer console open your app → User authentication settings: App type 'Native App', "
        f"permissions 'Read and write and Direct message', Callback URI http://127.0.0.1:{DEFAULT_PORT}/callback "
        f"(exactly; with your port if you change the callback port). Copy the OAuth 2.0 Client ID into the "
        f"form, then sign in and allow socialdesk."
    )

    def __init__(self, settings: Any, **kwargs: Any):
        super().__init__(settings, **kwargs)
        try:
            address = redirect_address(self.settings)
        except PermanentError:
            return
        # This attempt's exact address (the command line prints it; the dialog shows the class text).
        self.instructions = (
            f"Register exactly {address} as a Callback URI of your X app (User authentication settings, "
            "type 'Native App', permissions 'Read and write and Direct message'), then sign in and allow socialdesk."
        )

    def loopback_port(self) -> int:
        return callback_port(self.settings)

    def make_client(self, redirect_uri: str) -> OAuthClient:
        return _client(self.settings, redirect_uri)

    def http(self, client: OAuthClient) -> Http:
        return Http("X", client.token_url, now=self.now, errors=X_ERRORS)

    def accounts(self, tokens: Tokens, client: OAuthClient) -> list[LoginAccount]:
        secrets = MemorySecrets({TOKEN_ENTRY: tokens.to_json()})
        connector = XConnector(self.settings, secrets, now=self.now)
        try:
            info = connector.check()
            me = connector.me()
        finally:
            connector.close()
        label = info.display_name + (f" ({info.handle})" if info.handle else "")
        # The token entry may have been refreshed during the check: take what the connector stored.
        return [LoginAccount(label=label, info=info, secrets=dict(secrets.values),
                             settings={"user_id": me["id"], "username": me["username"]})]


TRAITS = declare(
    "x",
    address_style="@handle",
    limits=(("dm", TextLimit(DM_LIMIT, "characters", codepoints)),
            ("*", TextLimit(POST_LIMIT, "characters", x_weighted_length))),
    idempotent_sends=False,  # X has no idempotency key
    poll_seconds=90.0,
    poll_seconds_closed=300.0,
    usage=USAGE,
)

SPEC = ConnectorSpec(
    kind="x",
    title="X (Twitter)",
    capabilities=XConnector.capabilities,
    settings=(
        ("client_id", "OAuth 2.0 Client ID of your X app", ""),
        ("callback_port", "Callback port (register http://127.0.0.1:<port>/callback)", str(DEFAULT_PORT)),
        ("usage_budget", "Monthly budget for X calls, USD (polling stops when spent)", "10"),
        ("api_base", "API address", DEFAULT_API),
        ("authorize_url", "Sign-in page", DEFAULT_AUTHORIZE),
    ),
    secret_label="",
    needs=("An X developer app of your own (pay-per-use credits) with OAuth 2.0 turned on as a 'Native App' and "
           f"the callback http://127.0.0.1:{DEFAULT_PORT}/callback registered; you sign in in your browser."),
    traits=TRAITS,
    factory=lambda settings, secrets: XConnector(settings, secrets),
    secret_name="token",  # `account add --secret-stdin` stores an existing access token here (no refresh)
    secret_names=(TOKEN_ENTRY, "token"),
    login_flow=XLogin,
)
