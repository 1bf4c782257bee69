"""Google: the one sign-in (Business Profile locations and YouTube channels), the owner's own OAuth
client, the endpoints, and the Http every Google connector uses.

What lives here (the reviews connector, connectors/google_reviews.py, and the YouTube connector,
connectors/youtube.py, both build on it; /work/notes/google.md was their interface note):
- `GoogleLogin`, an `oauth.AuthCodeLogin`: an installed-app ("Desktop app") client, loopback redirect
  to `http://127.0.0.1:<port>/callback`, PKCE S256 and `state`; `access_type=offline` and
  `prompt=consent`, so Google issues a refresh token on every sign-in (it sends one only when the
  consent screen was shown). Google's Desktop-app clients are public: the client secret it issues is
  not confidential, but the token endpoint still wants it, so it is kept like any secret (keyring).
- The owner brings their own Google Cloud project and OAuth client (no shared socialdesk client could
  get Business Profile API access for everyone): the client ID is a setting, the client secret is the
  form's secret (`secret_name` "client_secret"), handed to the flow by the dialog and the CLI
  (`login_flow(settings, secrets=...)`). Every account the sign-in gives carries both the token entry
  and the client secret, so each refreshes its own access token (Google does not rotate refresh
  tokens, so the copies stay valid side by side).
- Scopes only for what the owner enables (setting `use`): `business.manage` for reviews and opening
  hours, `youtube.force-ssl` for comments. One sign-in lists the Business Profile locations (Account
  Management API `accounts.list`, then Business Information API `accounts.locations.list` per
  account) and the YouTube channels (`channels.list?mine=true`), each as an `oauth.LoginAccount`: a
  location as this platform's kind ("google"), a channel with `kind="youtube"`.
- The Business Profile APIs must be requested from Google first ("Application for Basic API Access");
  until approved the project's quota is 0 and every call fails with 429 RESOURCE_EXHAUSTED carrying
  `quota_limit_value: "0"`. platform_errors.GOOGLE_ERRORS turns exactly that into a QuotaExceeded whose
  text says so (tried again hourly); at sign-in, a YouTube channel is still offered with that note.
- Endpoints are constants; the one setting `api_base` redirects every Google host to a local test
  server (`endpoint`): it must be http(s) to loopback, so no setting can send a token elsewhere.
- A refresh Google refuses (`invalid_grant`) says, besides "sign in again", that a project whose OAuth
  consent screen is left in "Testing" loses its sign-ins after 7 days (Google's rule for such apps).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from socialdesk.connectors.base import (
    AccountInfo,
    AccountSecrets,
    AuthError,
    ConnectorError,
    MemorySecrets,
    PermanentError,
    QuotaExceeded,
    TransientError,
    is_loopback_host,
)
from socialdesk.connectors.http import Http, check_base_url, json_object, json_string, utcnow
from socialdesk.connectors.oauth import (
    TOKEN_ENTRY,
    AuthCodeLogin,
    BearerAuth,
    LoginAccount,
    OAuthClient,
    Tokens,
    watch_unauthorized,
)
from socialdesk.connectors.platform_errors import GOOGLE_ERRORS

log = logging.getLogger("socialdesk.connectors.google")

SCOPE_BUSINESS = "https://www.googleapis.com/auth/business.manage"
SCOPE_YOUTUBE = "https://www.googleapis.com/auth/youtube.force-ssl"
AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
ACCOUNTS_BASE = "https://mybusinessaccountmanagement.googleapis.com/v1"  # Account Management API
INFO_BASE = "https://mybusinessbusinessinformation.googleapis.com/v1"  # Business Information API
REVIEWS_BASE = "https://mybusiness.googleapis.com/v4"  # reviews stay on v4
YOUTUBE_BASE = "https://www.googleapis.com/youtube/v3"

CLIENT_SECRET = "client_secret"  # keyring name of the owner's OAuth client secret
SECRET_NAMES = (TOKEN_ENTRY, CLIENT_SECRET)
SECRET_LABEL = "OAuth client secret"
USES: dict[str, str] = {"reviews": SCOPE_BUSINESS, "youtube": SCOPE_YOUTUBE}
DEFAULT_USE = "reviews, youtube"
# The sign-in's settings, first in every Google spec's settings (the form's values are merged into each
# account a sign-in adds, and re-login and `--set` need them declared).
SIGN_IN_SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("client_id", "OAuth client ID (Desktop app)", ""),
    ("use", "Use: reviews, youtube or both", DEFAULT_USE),
    ("api_base", "Google address (leave empty; only for testing)", ""),
)
ACCOUNTS_PAGE = 20  # accounts.list: "default and maximum 20"
LOCATIONS_PAGE = 100  # locations.list: maximum 100
MAX_PAGES = 20
LOCATION_READ_MASK = "name,title,metadata"
_ACCOUNT_NAME = re.compile(r"accounts/[0-9A-Za-z_-]{1,64}")
_LOCATION_NAME = re.compile(r"locations/[0-9A-Za-z_-]{1,64}")
_CHANNEL_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")

INSTRUCTIONS = (
    "1. In the Google Cloud console (console.cloud.google.com), create a project and enable the APIs you "
    "want: \"My Business Account Management API\", \"My Business Business Information API\" and \"Google "
    "My Business API\" for reviews and opening hours, \"YouTube Data API v3\" for comments.\n"
    "2. For reviews and opening hours, request Business Profile API access for that project from Google "
    "(the \"Application for Basic API Access\" form) and wait for the approval: until Google approves it, "
    "the project's quota is 0 and every call fails.\n"
    "3. Under APIs & Services → Credentials, create an OAuth client ID of type \"Desktop app\"; enter its "
    "client ID and client secret here, then sign in in the browser and allow socialdesk."
)
NEEDS = ("Your own Google Cloud project with an OAuth client (Desktop app); for reviews, Google's approval "
         "of Business Profile API access.")
TESTING_HINT = (" If this keeps happening every few days: Google ends the sign-ins of a project whose OAuth "
                "consent screen is still in \"Testing\" after 7 days; publish it (\"In production\").")


# --- settings -------------------------------------------------------------------------------------


def uses(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """What the owner enabled: ("reviews", "youtube") in that order; PermanentError when unreadable."""
    raw = str(settings.get("use") or DEFAULT_USE)
    words = [w for w in re.findall(r"[a-z]+", raw.lower()) if w != "and"]
    if "both" in words:
        words = [w for w in words if w != "both"] + list(USES)
    unknown = sorted(set(words) - set(USES))
    if unknown or not words:
        raise PermanentError(f"Google: 'use' takes reviews, youtube or both, not {raw!r}.")
    return tuple(u for u in USES if u in words)


def scopes_for(settings: Mapping[str, Any]) -> str:
    return " ".join(USES[u] for u in uses(settings))


def endpoint(settings: Mapping[str, Any], real_base: str) -> str:
    """`real_base`, or with the `api_base` setting (tests: a loopback server) the same host and path
    under it: `{api_base}/{host}{path}`. Anything but loopback there is refused."""
    override = str(settings.get("api_base") or "").strip()
    if not override:
        return real_base
    base = check_base_url(override, "Google")
    if not is_loopback_host(urlsplit(base).hostname or ""):
        raise PermanentError("Google: the 'api_base' setting is only for a test server on this computer "
                             "(127.0.0.1); leave it empty.")
    parts = urlsplit(real_base)
    return f"{base}/{parts.hostname}{parts.path}"


def client_id(settings: Mapping[str, Any]) -> str:
    value = str(settings.get("client_id") or "").strip()
    if not value or len(value) > 256 or not value.isprintable() or " " in value:
        raise PermanentError("Google: enter your OAuth client ID (from Google Cloud console → Credentials).")
    return value


# --- HTTP and tokens --------------------------------------------------------------------------------


def http(service: str, base_url: str, *, now: Callable[[], datetime] = utcnow,
         sleep: Callable[[float], None] | None = None, limits: dict | None = None) -> Http:
    """An Http for one Google API with Google's error table; a 401 is told apart so BearerAuth can
    refresh once (oauth.watch_unauthorized)."""
    kwargs: dict[str, Any] = {"now": now, "errors": GOOGLE_ERRORS}
    if sleep is not None:
        kwargs["sleep"] = sleep
    if limits is not None:
        kwargs["limits"] = limits
    return watch_unauthorized(Http(service, base_url, **kwargs))


def oauth_client(settings: Mapping[str, Any], secrets: AccountSecrets | None, redirect_uri: str = "",
                 scope: str = "") -> OAuthClient:
    secret = (secrets.get(CLIENT_SECRET) if secrets is not None else None) or ""
    if not secret:
        raise AuthError("Google: the OAuth client secret is missing. Enter it (Google Cloud console → "
                        "Credentials) and sign in again.")
    return OAuthClient(
        service="Google",
        authorize_url=endpoint(settings, AUTHORIZE_URL),
        token_url=endpoint(settings, TOKEN_URL),
        client_id=client_id(settings),
        client_secret=secret,
        scope=scope,
        redirect_uri=redirect_uri,
        # offline: a refresh token; consent: Google sends one only when it showed the consent screen.
        extra_authorize={"access_type": "offline", "prompt": "consent"},
    )


class GoogleAuth(BearerAuth):
    """BearerAuth with the owner's client for refreshes, and Google's "Testing" hint on a refused one."""

    def _refresh(self, tokens: Tokens) -> Tokens:
        try:
            return super()._refresh(tokens)
        except AuthError as exc:
            raise AuthError(str(exc) + TESTING_HINT) from None


def bearer(settings: Mapping[str, Any], secrets: AccountSecrets, http: Http, *,
           now: Callable[[], datetime] = utcnow) -> GoogleAuth:
    """The account's access token (one keyring entry), refreshed 2 minutes before expiry and once on a 401."""
    frozen = dict(settings)
    return GoogleAuth(secrets, http, service="Google", client=lambda: oauth_client(frozen, secrets), now=now)


# --- listing what a sign-in reaches ----------------------------------------------------------------


def _pages(fetch: Callable[[str], Any], key: str, what: str) -> list[dict[str, Any]]:
    """Every entry of a paged Google list (`key`, `nextPageToken`), at most MAX_PAGES pages."""
    found: list[dict[str, Any]] = []
    token = ""
    for _ in range(MAX_PAGES):
        page = fetch(token)
        if not isinstance(page, dict):
            raise TransientError(f"Google sent an unexpected list of {what}. Will try again.")
        entries = page.get(key) or []
        found.extend(e for e in (entries if isinstance(entries, list) else []) if isinstance(e, dict))
        token = json_string(page.get("nextPageToken"))
        if not token:
            break
    return found


def locations_of(settings: Mapping[str, Any], auth: BearerAuth, now: Callable[[], datetime] = utcnow
                 ) -> list[dict[str, str]]:
    """Every Business Profile location the sign-in manages: [{"account", "location", "title", "maps_uri",
    "verified"}] (account "accounts/1", location "locations/2")."""
    accounts_http = http("Google Business Profile", endpoint(settings, ACCOUNTS_BASE), now=now)
    info_http = http("Google Business Profile", endpoint(settings, INFO_BASE), now=now)
    try:
        accounts = _pages(lambda token: auth.call(lambda h: accounts_http.get_json(
            "/accounts", params={"pageSize": ACCOUNTS_PAGE, **({"pageToken": token} if token else {})}, headers=h)),
            "accounts", "Business Profile accounts")
        found: list[dict[str, str]] = []
        for account in accounts:
            name = json_string(account.get("name"))
            if not _ACCOUNT_NAME.fullmatch(name):
                continue  # a name we could not put in a URL safely
            for location in _pages(lambda token: auth.call(lambda h: info_http.get_json(  # noqa: B023 - runs now
                    f"/{name}/locations",  # noqa: B023
                    params={"readMask": LOCATION_READ_MASK, "pageSize": LOCATIONS_PAGE,
                            **({"pageToken": token} if token else {})}, headers=h)),
                    "locations", "Business Profile locations"):
                location_name = json_string(location.get("name"))
                if not _LOCATION_NAME.fullmatch(location_name):
                    continue
                metadata = json_object(location.get("metadata"))
                found.append({
                    "account": name,
                    "location": location_name,
                    "title": json_string(location.get("title"))[:200] or location_name,
                    "maps_uri": json_string(metadata.get("mapsUri"))[:500],
                    # hasVoiceOfMerchant: the location is verified; Google takes replies only from those.
                    "verified": "yes" if metadata.get("hasVoiceOfMerchant") is True else "no",
                })
        return found
    finally:
        accounts_http.close()
        info_http.close()


def channels_of(settings: Mapping[str, Any], auth: BearerAuth, now: Callable[[], datetime] = utcnow
                ) -> list[dict[str, str]]:
    """The YouTube channels of the signed-in user (`channels.list?part=snippet&mine=true`, 1 quota unit)."""
    yt = http("YouTube", endpoint(settings, YOUTUBE_BASE), now=now)
    try:
        body = auth.call(lambda h: yt.get_json("/channels", params={"part": "snippet", "mine": "true",
                                                                    "maxResults": 50}, headers=h))
    finally:
        yt.close()
    items = json_object(body).get("items") or []
    channels = []
    for item in items if isinstance(items, list) else []:
        item = json_object(item)
        channel_id = json_string(item.get("id"))
        if not _CHANNEL_ID.fullmatch(channel_id):
            continue
        snippet = json_object(item.get("snippet"))
        channels.append({"channel_id": channel_id, "title": json_string(snippet.get("title"))[:200] or channel_id,
                         "handle": json_string(snippet.get("customUrl"))[:100]})
    return channels


def location_path(settings: Mapping[str, Any]) -> str:
    """The account's location as the v4 API names it: "accounts/1/locations/2" (checked)."""
    value = str(settings.get("location") or "")
    account, _, location = value.partition("/locations/")
    if not _ACCOUNT_NAME.fullmatch(account) or not _LOCATION_NAME.fullmatch("locations/" + location):
        raise PermanentError("This Google account has no Business Profile location; add it again through "
                             "the Google sign-in.")
    return value


# --- the sign-in ------------------------------------------------------------------------------------


class GoogleLogin(AuthCodeLogin):
    """One Google sign-in (see the module docstring); `only` narrows it to one product (YouTube's spec)."""

    service = "Google"
    instructions = INSTRUCTIONS
    only: str = ""

    def _settings(self) -> dict[str, Any]:
        return {**self.settings, "use": self.only} if self.only else self.settings

    def make_client(self, redirect_uri: str) -> OAuthClient:
        settings = self._settings()
        return oauth_client(settings, self.secrets, redirect_uri, scopes_for(settings))

    def accounts(self, tokens: Tokens, client: OAuthClient) -> list[LoginAccount]:
        settings = self._settings()
        secrets = MemorySecrets({TOKEN_ENTRY: tokens.to_json(), CLIENT_SECRET: client.client_secret})
        # The access token just issued: no refresh needed during the listing (no client given).
        probe = Http("Google", endpoint(settings, TOKEN_URL), now=self.now)
        auth = BearerAuth(secrets, probe, service="Google", now=self.now)
        enabled = uses(settings)
        granted = set(tokens.scope.split()) if tokens.scope else {USES[u] for u in enabled}
        found: list[LoginAccount] = []
        notes: list[str] = []
        problem: ConnectorError | None = None
        if "reviews" in enabled:
            if USES["reviews"] not in granted:
                notes.append("Reviews were not allowed in the browser: sign in again and tick the Business "
                             "Profile permission.")
            else:
                try:
                    for loc in locations_of(settings, auth, self.now):
                        info = AccountInfo(display_name=loc["title"], handle=loc["location"], notes=tuple(
                            [] if loc["verified"] == "yes" else
                            ["This location is not verified: Google takes replies to its reviews only once it is."]))
                        found.append(LoginAccount(
                            label=f"{loc['title']} (Google reviews)", info=info, secrets=dict(secrets.values),
                            settings={"location": f"{loc['account']}/{loc['location']}", "maps_uri": loc["maps_uri"]}))
                except (QuotaExceeded, PermanentError) as exc:
                    problem = exc
                    notes.append(f"Business Profile locations could not be listed: {exc}")
        if "youtube" in enabled:
            if USES["youtube"] not in granted:
                notes.append("YouTube was not allowed in the browser: sign in again and tick the YouTube permission.")
            else:
                for channel in channels_of(settings, auth, self.now):
                    info = AccountInfo(display_name=channel["title"], handle=channel["handle"], notes=tuple(notes))
                    found.append(LoginAccount(label=f"{channel['title']} (YouTube)", info=info,
                                              secrets=dict(secrets.values), settings={"channel_id": channel["channel_id"]},
                                              kind="youtube"))
        probe.close()
        if not found:
            if problem is not None:
                raise problem
            raise PermanentError("This Google sign-in reaches no Business Profile location and no YouTube channel. "
                                 + " ".join(notes))
        return found


def login_flow_for(only: str) -> Callable[..., GoogleLogin]:
    """A GoogleLogin class limited to one product ("youtube" or "reviews"), for a spec of that kind."""
    if only not in USES:
        raise ValueError(only)
    return type(f"GoogleLogin_{only}", (GoogleLogin,), {"only": only})

