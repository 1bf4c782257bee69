"""Meta's Graph API, shared by the Facebook Page and Instagram connectors: the one Meta sign-in, the
Graph client (usage headers, paging, errors), the Messenger/Instagram reply rules.

Sign-in (`MetaLogin`, on connectors/oauth.py's AuthCodeLogin):
- The owner brings their own Meta app (developers.facebook.com → My Apps → Create app, use case
  "Manage everything on your Page" / Messenger and Instagram). Its App ID is a setting (`app_id`: Meta
  calls it public, it is part of every login address); its App Secret goes to the keyring (`app_secret`)
  and is typed in the secret field (`account add --secret-stdin`): it is needed to swap the short-lived
  login for a long-lived one, and signs every call (`appsecret_proof`, so a stolen token alone is useless
  where the app turns on "Require App Secret").
- Which redirect: Meta's "Manually Build a Login Flow" guide (updated 2026-03) documents, for a desktop
  app, the redirect `https://www.facebook.com/connect/login_success.html` read back from the browser. A
  loopback redirect is not documented for desktop apps: Meta's strict redirect matching wants every
  exact URI registered in the app (our port changes per sign-in) and "Enforce HTTPS" refuses http://
  addresses outside development mode. So the sign-in always runs in "paste" mode: the browser ends on
  login_success.html, whose address carries `code` and `state`, and the owner pastes that address (or
  the CLI reads the line). We do not embed a web view (the bundle carries no QtWebEngine). `state` is
  checked (the pasted address has it), and PKCE S256 is sent as Meta's OIDC guide describes (an
  unbound code ignores it). A pasted access token (Graph Explorer) is not offered: the address paste
  works on every machine, headless included, so no weaker last resort is needed.
- Then: code → short-lived user token (`GET /oauth/access_token`, documented as GET) → long-lived user
  token (`grant_type=fb_exchange_token`, needs the app secret) → `GET /me/accounts` with each Page's
  token (Page tokens from a long-lived user token do not expire) and its linked Instagram professional
  account (`instagram_business_account{id,username,name}`). Each Page and each Instagram account is an
  `oauth.LoginAccount` (Instagram ones with kind "instagram"); the owner ticks the ones to add. The user
  token itself is never stored: a Page token does everything we do, and the account's TOKEN_ENTRY holds
  it (Tokens without expiry: no refresh; code 190 means sign in again).
- Permissions requested (`SCOPES`): pages_show_list, pages_read_engagement, pages_read_user_content,
  pages_manage_engagement, pages_manage_posts, pages_messaging, pages_manage_metadata, and for Instagram
  through the Page instagram_basic, instagram_manage_comments, instagram_manage_messages,
  business_management. Until Meta grants Advanced Access (App Review + Business Verification) the app
  only sees people who have a role on the app: `ADVANCED_ACCESS` says so wherever the API answers
  with nothing or refuses.

The Graph client (`Graph`):
- One `Http` with the Graph error table (`ERRORS`: platform_errors.GRAPH_ERRORS with this module's
  rows first), the Page token as a Bearer header, `appsecret_proof` on every call, paths built as
  `/{GRAPH_VERSION}/...` on a base URL that is a setting (`graph_url`; http:// only to loopback, for the
  fakes). No multi-ID requests, field aliases or method override (gone for new apps since 2026-11-04).
- Usage headers: every answer's `X-App-Usage` and `X-Business-Use-Case-Usage` (JSON percentages of the
  rolling-hour budgets, and `estimated_time_to_regain_access` in minutes) are read through a response
  hook, errors included. At or above `SLOW_DOWN_AT` (75 %) of any figure, each call waits first
  (`pace_seconds`, from 0 at 75 % to `MAX_PACE_S` at 100 %), so a busy Page slows down instead of being
  cut off; when Meta names a regain time, calls stop until then (RateLimited, no request sent); at
  100 % without a time they stop for `FULL_PAUSE`. The memory is kept in the account's `limits` dict
  (the engine hands the same one to every rebuilt connector), under the key "meta-usage".
- Throttling codes (4, 17, 32, 613, 80001-80009 in a 4xx body) are RateLimited; when the usage header
  of that same answer names a regain time, that time wins over the table's hour.
- Paging: `pages()` follows `paging.next` only to the same scheme and host, with our own token (the
  address's access_token is dropped), up to `max_pages`. Graph cursors die when items are deleted; a
  next page that fails with a PermanentError ends the walk with what was read (the caller's watermark
  decides what is new; no cursor is ever stored).

Messaging rules (`send_message`): a reply inside the 24 h standard window goes as `messaging_type=
RESPONSE`; after it, only when the owner enabled the Human Agent tag (`human_agent` = yes; Meta grants
that feature through App Review) and within 7 days of the person's last message, as `MESSAGE_TAG` +
`HUMAN_AGENT`; otherwise NotAllowed that says to open the conversation in Meta's app. A private reply
to a comment is `recipient: {comment_id}`, to a customer's post on the Page `recipient: {post_id}` (one
per comment or post, within 7 days; Meta refuses a second) — Meta's Private Replies page, updated 2026-04.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import parse_qsl, urlsplit

from socialdesk.connectors.base import (
    AccountInfo,
    AccountSecrets,
    AuthError,
    MemorySecrets,
    NotAllowed,
    OutboundResult,
    PermanentError,
    RateLimited,
    TransientError,
)
from socialdesk.connectors.http import (
    ErrorRule,
    ErrorTable,
    Http,
    check_base_url,
    json_object,
    json_string,
    parse_iso,
    utcnow,
)
from socialdesk.connectors.oauth import (
    TOKEN_ENTRY,
    AuthCodeLogin,
    AuthRequest,
    BearerAuth,
    LoginAccount,
    LoopbackRefused,
    OAuthClient,
    Tokens,
)
from socialdesk.connectors.platform_errors import GRAPH_ERRORS
from socialdesk.connectors.traits import ReplyMode, ReplyWindowRule

log = logging.getLogger("socialdesk.connectors.meta")

GRAPH_VERSION = "v25.0"  # available until 2028-07 (shared/CONNECTORS.md); one place
DEFAULT_GRAPH_URL = "https://graph.facebook.com"
DIALOG_URL = "https://www.facebook.com"
LOGIN_REDIRECT = "https://www.facebook.com/connect/login_success.html"
APP_SECRET = "app_secret"
SECRET_LABEL = "Meta app secret"  # the form's secret field on every Meta spec
SECRET_NAMES = (TOKEN_ENTRY, APP_SECRET)
PAGE_ID = "page_id"
PAGE_NAME = "page_name"
IG_USER_ID = "ig_user_id"
IG_USERNAME = "ig_username"
HUMAN_AGENT = "human_agent"
# Form settings shared by the Facebook and Instagram specs (a Meta sign-in adds both kinds with the same
# form's settings merged in).
SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("app_id", "Meta app ID", ""),
    ("graph_url", "Graph API address (leave as it is)", DEFAULT_GRAPH_URL),
    (HUMAN_AGENT, "Late replies tagged as a human agent (yes/no; needs Meta's Human Agent feature)", "no"),
)
SCOPES = (
    "pages_show_list", "pages_read_engagement", "pages_read_user_content", "pages_manage_engagement",
    "pages_manage_posts", "pages_messaging", "pages_manage_metadata", "business_management",
    "instagram_basic", "instagram_manage_comments", "instagram_manage_messages",
)
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)
SLOW_DOWN_AT = 75.0
MAX_PACE_S = 10.0
FULL_PAUSE = timedelta(minutes=10)
USAGE_KEY = "meta-usage"

ADVANCED_ACCESS = (
    "Meta shows an app only the people who have a role on it (admins, developers, testers) until it "
    "has Advanced Access: submit the app for App Review (and Business Verification) for the "
    "permissions listed in socialdesk's README. Until then messages and comments of your customers "
    "do not reach socialdesk."
)

APP_STEPS = (
    "1. At developers.facebook.com create a Meta app (type Business) – your own app, which socialdesk "
    "uses on your behalf. 2. Add Facebook Login and set its Valid OAuth Redirect URI to "
    f"{LOGIN_REDIRECT}. 3. Copy the App ID into the field above and the App Secret into the secret "
    "field. 4. Sign in in the browser, tick your Page(s) and allow every permission socialdesk asks for: "
    + ", ".join(SCOPES) + " (messages, comments, posts, hours, and Instagram through the Page). When the "
    "browser shows a blank 'Success' page, copy its whole address and paste it below. 5. " + ADVANCED_ACCESS
)

REPLY_WINDOW = ReplyWindowRule(
    late_reply=HUMAN_AGENT_WINDOW - STANDARD_WINDOW,
    late_reply_how="tagged as a human agent's reply (only if the account allows late replies and Meta granted "
                   "the Human Agent feature)",
    after_close="open the conversation in Meta's own app (Messenger, Instagram or Meta Business Suite)",
)

PRIVATE_REPLY = ReplyMode(
    key="private",
    label="Reply privately (in the person's inbox)",
    kinds=("comment",),
    help="Sends one private message about this comment to the person's Messenger or Instagram inbox; "
         "possible once per comment, within 7 days. The conversation continues there only if they answer.",
    once_per_message=True,
)

class PermissionMissing(AuthError):
    """Graph 10 or 200-299 without a messaging subcode: the login lacks a permission, or the app lacks
    Advanced Access. An AuthError (the owner must act), but a connector may catch it for one part of an
    account (Messenger refused, comments fine) and say so in its notice instead of stopping the account."""


def _permission_row(rule: ErrorRule) -> ErrorRule:
    if rule.error is AuthError and isinstance(rule.code, tuple) and 10 in rule.code:
        return ErrorRule(where=rule.where, code=rule.code, error=PermissionMissing,
                         message="Meta refused this for lack of a permission{suffix}. Sign in again and allow "
                                 "every permission socialdesk asks for. " + ADVANCED_ACCESS)
    return rule


# Meta rows tried before the shared Graph table; its permission row raises PermissionMissing.
ERRORS = ErrorTable(tuple(_permission_row(r) for r in GRAPH_ERRORS.rules), GRAPH_ERRORS.failures,
                    GRAPH_ERRORS.status_at, GRAPH_ERRORS.detail).with_first(
    # A private reply to a comment already answered privately, or older than 7 days. These subcodes are
    # not confirmed in a reference we could read (Meta's error page lists no private-reply rows); a
    # refusal without them still fails the send for good (PermanentError by status). Code 10 with the
    # Messenger window subcodes is caught by the shared table's rows.
    ErrorRule(where="error.error_subcode", code=(2018320, 1545040, 2018162), error=NotAllowed,
              message="Meta does not take a private reply to this comment (already answered privately, or "
                      "older than 7 days){suffix}."),
    # Instagram's own window refusal (code 10, subcode 2534022): seen in public integrations, not in a Meta
    # page we could read; without this row it would be a PermissionMissing and stop the account.
    ErrorRule(where="error.error_subcode", code=2534022, error=NotAllowed,
              message="Meta no longer accepts a reply here: outside the time it allows (24 hours after the "
                      "person's last message){suffix}."),
    # Ratings/recommendations: gone since v22 (code 12, "deprecated").
    ErrorRule(where="error.code", code=12, error=PermanentError,
              message="Meta no longer offers this (deprecated){suffix}."),
)


def parse_time(value: Any) -> datetime | None:
    """Graph's "2017-08-31T18:10:30+0000" (and ISO forms) as aware UTC; None when missing or garbled."""
    return parse_iso(value)


def window_end(last_inbound_at: datetime) -> datetime:
    """When the standard messaging window a person's message opens closes."""
    return last_inbound_at + STANDARD_WINDOW


def appsecret_proof(token: str, app_secret: str) -> str:
    return hmac.new(app_secret.encode("utf-8"), token.encode("utf-8"), hashlib.sha256).hexdigest()


def graph_url(settings: Mapping[str, Any]) -> str:
    return check_base_url(str(settings.get("graph_url") or DEFAULT_GRAPH_URL), "Meta Graph API")


# --- usage headers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """What the last answer's usage headers said: the highest percentage and the regain time, if any."""

    percent: float
    regain_at: datetime | None


def read_usage(headers: Mapping[str, str], now: datetime) -> Usage | None:
    """Usage from `X-App-Usage` / `X-Business-Use-Case-Usage` (hostile JSON: anything odd is ignored)."""
    figures: list[float] = []
    regain_minutes: list[float] = []

    def take(entry: Any) -> None:
        entry = json_object(entry)
        for key in ("call_count", "total_cputime", "total_time"):
            value = entry.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 10_000:
                figures.append(float(value))
        regain = entry.get("estimated_time_to_regain_access")
        if isinstance(regain, (int, float)) and not isinstance(regain, bool) and 0 < regain <= 7 * 24 * 60:
            regain_minutes.append(float(regain))

    lower = {k.lower(): v for k, v in headers.items()}
    found = False
    for name in ("x-app-usage", "x-business-use-case-usage"):
        raw = lower.get(name)
        if not raw or len(raw) > 65_536:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        found = True
        if name == "x-app-usage":
            take(data)
        else:  # {business-object-id: [{type, call_count, ..., estimated_time_to_regain_access}]}
            for entries in json_object(data).values():
                for entry in entries if isinstance(entries, list) else []:
                    take(entry)
    if not found:
        return None
    regain_at = now + timedelta(minutes=max(regain_minutes)) if regain_minutes else None
    return Usage(max(figures, default=0.0), regain_at)


def pace_seconds(percent: float) -> float:
    """How long to wait before a call at this usage: nothing below 75 %, growing to MAX_PACE_S at 100 %."""
    if percent < SLOW_DOWN_AT:
        return 0.0
    return min(MAX_PACE_S, (percent - SLOW_DOWN_AT) / (100.0 - SLOW_DOWN_AT) * MAX_PACE_S)


# --- the Graph client --------------------------------------------------------------------------------


class Graph:
    """Calls to the Graph API for one account (see the module docstring)."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        secrets: AccountSecrets,
        *,
        service: str = "Facebook",
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        limits: dict | None = None,
    ):
        self.service = service
        self.base = graph_url(settings)
        self.secrets = secrets
        self.now = now
        self.sleep = sleep
        self.http = Http(service, self.base, now=now, sleep=sleep, errors=ERRORS, limits=limits)
        self.http.session.hooks["response"].append(self._observe)
        self.auth = BearerAuth(secrets, self.http, service=service, now=now)
        self._app_secret: str | None = None
        self.paced: list[float] = []  # the waits taken (shown in tests and logs)

    # The account's usage memory lives in Http.limits (the engine's per-account dict).
    @property
    def usage(self) -> Usage | None:
        value = self.http.limits.get(USAGE_KEY)
        return value if isinstance(value, Usage) else None

    def _observe(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        usage = read_usage(response.headers, self.now())
        if usage is not None:
            self.http.limits[USAGE_KEY] = usage  # type: ignore[assignment]
        return response

    def _before_call(self) -> None:
        usage = self.usage
        if usage is None:
            return
        now = self.now()
        if usage.regain_at is not None and usage.regain_at > now:
            raise RateLimited(
                f"{self.service}: Meta asks this app to pause; trying again at {usage.regain_at:%H:%M} UTC.",
                usage.regain_at)
        if usage.regain_at is not None:  # the pause is over: forget it, the next answer says more
            self.http.limits.pop(USAGE_KEY, None)
            return
        if usage.percent >= 100.0:
            until = now + FULL_PAUSE
            self.http.limits[USAGE_KEY] = Usage(usage.percent, until)  # type: ignore[assignment]
            raise RateLimited(f"{self.service}: this app used all of Meta's hourly budget; trying again at "
                              f"{until:%H:%M} UTC.", until)
        wait = pace_seconds(usage.percent)
        if wait > 0:
            log.info("%s: Meta usage at %.0f %%, slowing down by %.1f s", self.service, usage.percent, wait)
            self.paced.append(wait)
            self.sleep(wait)

    def _app_secret_value(self) -> str:
        if self._app_secret is None:
            self._app_secret = self.secrets.get(APP_SECRET) or ""
            self.http.add_secret(self._app_secret)
        return self._app_secret

    def _auth_params(self) -> tuple[dict[str, str], dict[str, str]]:
        token = self.auth.token()
        secret = self._app_secret_value()
        params = {"appsecret_proof": appsecret_proof(token, secret)} if secret else {}
        return {"Authorization": f"Bearer {token}"}, params

    def path(self, path: str) -> str:
        return f"/{GRAPH_VERSION}/{path.lstrip('/')}"

    def call(self, method: str, path_or_url: str, *, params: Mapping[str, Any] | None = None,
             data: Any = None, json_body: Any = None) -> Any:
        self._before_call()
        headers, proof = self._auth_params()
        url = path_or_url if path_or_url.startswith(("http://", "https://")) else self.path(path_or_url)
        try:
            response = self.http.request(method, url, params={**(params or {}), **proof}, data=data,
                                         json=json_body, headers=headers, retry=None if method == "GET" else False)
        except RateLimited as exc:
            usage = self.usage
            if usage is not None and usage.regain_at is not None and usage.regain_at > self.now():
                raise RateLimited(str(exc), usage.regain_at) from None
            raise
        body = self.http.decode(response)
        if not isinstance(body, dict):
            raise TransientError(f"{self.service} sent an unexpected answer (not a JSON object). Will try again.")
        return body

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.call("GET", path, params=params)

    def post(self, path: str, *, data: Any = None, json_body: Any = None) -> dict[str, Any]:
        return self.call("POST", path, data=data, json_body=json_body)

    def pages(self, path: str, params: Mapping[str, Any] | None = None, *, max_pages: int = 5
              ) -> Iterator[list[dict[str, Any]]]:
        """The `data` list of each page, following `paging.next` (see the module docstring)."""
        body = self.get(path, params)
        for number in range(max_pages):
            yield [entry for entry in body.get("data") or [] if isinstance(entry, dict)] \
                if isinstance(body.get("data"), list) else []
            if number + 1 >= max_pages:
                return
            following = self._next(body)
            if following is None:
                return
            next_path, next_params = following
            try:
                body = self.get(next_path, next_params)
            except PermanentError:
                # Cursors die when items are deleted (and some expire): stop with what we have.
                log.info("%s: a Graph cursor no longer works; the walk restarts from the top next time",
                         self.service)
                return

    def _next(self, body: Mapping[str, Any]) -> tuple[str, dict[str, str]] | None:
        url = json_string(json_object(body.get("paging")).get("next"))
        if not url or len(url) > 8192:
            return None
        parts, base = urlsplit(url), urlsplit(self.base)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            log.warning("%s: ignoring a next-page address on another host", self.service)
            return None
        params = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True)
                  if k not in ("access_token", "appsecret_proof")}
        return f"{base.scheme}://{base.netloc}{parts.path}", params

    def close(self) -> None:
        self.http.close()


# --- messaging ---------------------------------------------------------------------------------------


def send_message(graph: Graph, path: str, recipient: Mapping[str, str], text: str, *, late: bool,
                 human_agent: bool, last_inbound_at: datetime | None = None, open_in: str = "Messenger"
                 ) -> OutboundResult:
    """One Messenger/Instagram message (see the module docstring); `late`: the 24 h window closed."""
    body: dict[str, Any] = {"recipient": dict(recipient), "message": {"text": text}}
    if not {"comment_id", "post_id"} & set(recipient):  # not a private reply to a comment or a post
        if late:
            too_old = last_inbound_at is not None and graph.now() > last_inbound_at + HUMAN_AGENT_WINDOW
            if not human_agent or too_old:
                raise NotAllowed(
                    f"The 24-hour reply window has closed{' and the 7 days for a late reply are over' if too_old else ''}:"
                    f" open this conversation in {open_in} to answer"
                    + ("" if too_old or human_agent else
                       " (or turn on late replies for this account once Meta granted your app the Human Agent feature)")
                    + ".")
            body.update(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
        else:
            body["messaging_type"] = "RESPONSE"
    answer = graph.post(path, json_body=body)
    message_id = json_string(answer.get("message_id"))
    if not message_id:
        raise TransientError(f"{graph.service} did not confirm the message. Will try again.")
    return OutboundResult(external_id=message_id, meta={"recipient_id": json_string(answer.get("recipient_id"))})


# --- sign-in -----------------------------------------------------------------------------------------


class MetaClient(OAuthClient):
    """Meta's token endpoint is documented as a GET with query parameters, answered in Graph's shapes."""

    def exchange(self, http: Http, code: str, verifier: str, now: datetime) -> Tokens:
        return self._get_token(http, {"redirect_uri": self.redirect_uri, "code": code, "code_verifier": verifier}, now)

    def long_lived(self, http: Http, short: Tokens, now: datetime) -> Tokens:
        return self._get_token(http, {"grant_type": "fb_exchange_token", "fb_exchange_token": short.access_token}, now)

    def _get_token(self, http: Http, params: dict[str, str], now: datetime) -> Tokens:
        params = {**params, "client_id": self.client_id, "client_secret": self.client_secret}
        for value in params.values():
            http.add_secret(value)
        try:
            body = http.decode(http.request("GET", self.token_url, params=params, retry=False))
        except AuthError as exc:
            raise PermanentError(f"Meta did not accept this sign-in: {exc} Start the sign-in again.") from None
        except PermanentError as exc:
            raise PermanentError(f"Meta refused the sign-in ({exc}). Check the app ID and secret, then start "
                                 "again; codes work once and expire quickly.") from None
        return Tokens.from_response(body, now, None, "Meta")


class MetaLogin(AuthCodeLogin):
    """The one Meta sign-in: Pages and their Instagram professional accounts (see the module docstring)."""

    service = "Meta"
    oob_redirect = LOGIN_REDIRECT
    instructions = APP_STEPS

    def start(self, *, loopback: bool = True, browser: Callable[[str], object] | None = None) -> AuthRequest:
        # Always the login_success.html redirect, read back by a paste (no loopback: see the module doc).
        request = super().start(loopback=False)
        if browser is not None:
            try:
                browser(request.url)
            except Exception:  # noqa: BLE001 - no browser: the owner opens the printed address
                log.info("opening the browser failed", exc_info=True)
        return request

    def _app(self) -> tuple[str, str]:
        app_id = str(self.settings.get("app_id") or "").strip()
        if not app_id.isdigit() or len(app_id) > 32:
            raise PermanentError("Enter your Meta app's App ID (a number, from the app's Settings → Basic).")
        secret = (self.secrets.get(APP_SECRET) if self.secrets is not None else None) or ""
        if not secret:
            raise PermanentError("Enter your Meta app's App Secret (Settings → Basic → App secret → Show).")
        return app_id, secret

    def make_client(self, redirect_uri: str) -> OAuthClient:
        if redirect_uri != LOGIN_REDIRECT:
            raise LoopbackRefused("Meta signs in through login_success.html")
        app_id, secret = self._app()
        base = graph_url(self.settings)
        dialog = DIALOG_URL if base == DEFAULT_GRAPH_URL else base  # the fakes serve the dialog too
        return MetaClient(
            service="Meta",
            authorize_url=f"{dialog}/{GRAPH_VERSION}/dialog/oauth",
            token_url=f"{base}/{GRAPH_VERSION}/oauth/access_token",
            client_id=app_id,
            client_secret=secret,
            scope=",".join(SCOPES),
            redirect_uri=LOGIN_REDIRECT,
        )

    def http(self, client: OAuthClient) -> Http:
        return Http("Meta", graph_url(self.settings), now=self.now, errors=ERRORS)

    def accounts(self, tokens: Tokens, client: OAuthClient) -> list[LoginAccount]:
        assert isinstance(client, MetaClient)
        http = self.http(client)
        try:
            long = client.long_lived(http, tokens, self.now())
        finally:
            http.close()
        user = MemorySecrets({TOKEN_ENTRY: Tokens(access_token=long.access_token).to_json(),
                              APP_SECRET: client.client_secret})
        graph = Graph(self.settings, user, service="Meta", now=self.now)
        try:
            pages: list[dict[str, Any]] = []
            for batch in graph.pages("me/accounts", {
                "fields": "id,name,access_token,tasks,instagram_business_account{id,username,name}",
                "limit": 100,
            }, max_pages=10):
                pages.extend(batch)
        finally:
            graph.close()
        found: list[LoginAccount] = []
        base = {"app_id": client.client_id}
        for page in pages:
            page_id, name, token = (json_string(page.get(k)) for k in ("id", "name", "access_token"))
            if not page_id.isdigit() or not token:
                continue  # a Page without a token: this person has no task on it that we could use
            secrets = {TOKEN_ENTRY: Tokens(access_token=token).to_json(), APP_SECRET: client.client_secret}
            shown = name or page_id
            found.append(LoginAccount(
                kind="facebook",  # explicit: the same sign-in also runs from Add account → Instagram
                label=f"Facebook Page {shown}",
                info=AccountInfo(display_name=shown, handle=page_id, notes=(FACEBOOK_NOTE,)),
                secrets=secrets, settings={**base, PAGE_ID: page_id, PAGE_NAME: shown}))
            ig = json_object(page.get("instagram_business_account"))
            ig_id, username = json_string(ig.get("id")), json_string(ig.get("username"))
            if ig_id.isdigit():
                handle = f"@{username}" if username else ig_id
                found.append(LoginAccount(
                    label=f"Instagram {handle} (linked to {shown})",
                    info=AccountInfo(display_name=json_string(ig.get("name")) or username or ig_id, handle=handle,
                                     notes=_instagram_notes()),
                    secrets=secrets, kind="instagram",
                    settings={**base, PAGE_ID: page_id, PAGE_NAME: shown, IG_USER_ID: ig_id, IG_USERNAME: username}))
        if not found:
            raise PermanentError("This Meta sign-in gives access to no Facebook Page. Sign in again and tick your "
                                 "Page(s) when Meta asks which Pages socialdesk may use. " + ADVANCED_ACCESS)
        return found


def _instagram_notes() -> tuple[str, ...]:
    """What the owner should know about an Instagram account (the Instagram module says it, once)."""
    from socialdesk.connectors import instagram  # lazily: instagram builds on this module

    return tuple(instagram.NOTES)


FACEBOOK_NOTE = ("Facebook no longer offers Page ratings and recommendations to apps (deprecated since Graph "
                 "API v22): there is no reviews tab for this Page.")
