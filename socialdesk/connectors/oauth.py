"""OAuth 2.0 for an installed app (RFC 8252): sign-in, the token entry in the keyring, refresh.

What lives here, written once for every platform that signs in through a browser:
- `AuthCodeLogin`, the base of each platform's `LoginFlow` (see base.py): one object per sign-in
  attempt. `start()` returns an `AuthRequest(url, mode)`; `wait()` blocks until the browser comes back
  (loopback mode); `finish(params)` checks the answer, swaps the code for tokens and returns the
  accounts this sign-in gives access to (one Meta login → several Pages: a list, the owner picks);
  `cancel()` frees the port. A platform subclass provides only `make_client` (endpoints, client id;
  Mastodon registers an app there) and `accounts` (who the tokens belong to).
- `LoopbackListener`: a one-shot HTTP listener on `http://127.0.0.1:<free port>/callback` (the literal
  IP, RFC 8252 §7.3/§8.3). A platform that matches the redirect exactly, port included (X), cannot take
  a port chosen afresh each time: its login names a fixed port (`AuthCodeLogin.loopback_port`, from a
  setting), shows the owner the exact address to register, and a port in use is a clear error.
  It stops by itself on the first callback carrying our `state`, at its
  timeout, or on `cancel()`, and then closes its socket. It answers the browser with a fixed plain-text
  page ("You can close this tab"): nothing from the request is ever reflected. Requests with another
  path, without our state, too long or not UTF-8 get a 400/404 and are otherwise ignored, so a page in
  the browser that guesses the port cannot end or steer the sign-in.
- PKCE S256 (RFC 7636) and a random `state` on every flow. The verifier and state live only in the
  flow object's memory: an abandoned sign-in leaves nothing in the keyring.
- Paste fallback (headless machines, the CLI): the owner pastes either the bare code or the whole
  address the browser ended on; `parse_pasted` takes both. `state` is checked whenever the answer has
  one, and required in loopback mode. Only a bare code shown by the platform's out-of-band page
  (Mastodon's `urn:ietf:wg:oauth:2.0:oob`) has no state to check; PKCE still binds that code to this
  attempt's verifier.
- `Tokens`: ONE JSON keyring entry (`TOKEN_ENTRY`) holding access token, refresh token and
  `expires_at`, written with a single `secrets.set`, so a rotated refresh token and its access token
  can never be stored half (two entries could, and a crash between them logs the account out).
- `BearerAuth`: what a connector uses for its requests. It refreshes shortly before expiry
  (`REFRESH_MARGIN`) and once on a 401 (then retries the request once), always under the account's
  lock and after re-reading the keyring inside it: the poll worker and the outbox share an account,
  and two refreshes at once would use one rotating refresh token twice, logging X or Google accounts
  out. The lock is per account (keyed by the keyring prefix), not per object, so connectors rebuilt
  for the same account share it. One process per profile (lock.py), so no cross-process lock is needed.

Decision — no OAuth library: `requests-oauthlib` and `authlib` were considered. The protocol part they
would do here is small (an authorize URL, two form POSTs, the PKCE hash). What we need around it they do
not do: their sessions are their own `requests.Session`, bypassing connectors/http.py (deadlines,
redaction of secrets in logs and errors, typed errors, rate-limit memory); their automatic refresh has
no per-account lock and keeps tokens in the session object, while we must re-read and store them in the
keyring atomically; neither has a loopback listener. Adapting them would cost more code than this module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets as random_tokens
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Hashable, Mapping, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

from socialdesk.connectors.base import (
    AccountInfo,
    AccountSecrets,
    AuthError,
    ConnectorError,
    PermanentError,
    TransientError,
)
from socialdesk.connectors.http import ErrorRule, Http, utcnow

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

log = logging.getLogger("socialdesk.connectors.oauth")

T = TypeVar("T")

TOKEN_ENTRY = "oauth_token"  # the keyring entry holding the JSON of `Tokens`
OOB = "urn:ietf:wg:oauth:2.0:oob"
CALLBACK_PATH = "/callback"
LISTEN_TIMEOUT_S = 300.0  # how long a loopback listener waits for the browser
# Refresh this long before the access token expires, so a request never leaves with a token that
# dies on the way (and clocks a little apart do not matter).
REFRESH_MARGIN = timedelta(minutes=2)
MAX_ANSWER_CHARS = 8192  # a real redirect is a few hundred characters
_CODE_RE = re.compile(r"[\x21-\x7e]{1,2048}")  # printable ASCII, no spaces
_ERROR_CODE_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


# --- errors ---------------------------------------------------------------------------------------


class LoginCancelled(ConnectorError):
    """The owner (or the app) stopped the sign-in before the browser came back."""


class LoginTimeout(ConnectorError):
    """The browser did not come back in time; the listener has stopped."""


class LoginDenied(PermanentError):
    """The owner declined in the browser, or the platform refused the sign-in."""


class TokenRejected(AuthError):
    """HTTP 401 on an API call: the access token is not (or no longer) valid."""


class LoopbackRefused(PermanentError):
    """The platform would not register or accept a loopback redirect: use the paste fallback."""


def watch_unauthorized(http: Http) -> Http:
    """Make `http` raise TokenRejected for a 401, so BearerAuth knows to refresh once: a first row in
    its error table, before the platform's own rows and the standard mapping."""
    http.errors = http.errors.with_first(ErrorRule(status=401, error=TokenRejected))
    return http


# --- PKCE and state --------------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge): 64 random bytes → 86 URL-safe characters (RFC 7636 allows 43-128)."""
    verifier = random_tokens.token_urlsafe(64)
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> str:
    return random_tokens.token_urlsafe(32)


# --- reading what comes back -----------------------------------------------------------------------


def callback_params(query: str) -> dict[str, str]:
    """The first value of each parameter of a callback query; PermanentError when unreadable."""
    if len(query) > MAX_ANSWER_CHARS:
        raise PermanentError("That sign-in answer is far too long to be real; nothing was used.")
    try:
        pairs = parse_qs(query, keep_blank_values=True, strict_parsing=False, errors="strict",
                         max_num_fields=32)
    except (UnicodeDecodeError, ValueError):
        raise PermanentError("That sign-in answer could not be read (it is not valid text).") from None
    return {key: values[0] for key, values in pairs.items() if values}


def parse_pasted(text: str) -> dict[str, str]:
    """What the owner pasted: the whole address the browser ended on, or the bare code.

    An address's parameters are read from its query (or its fragment, where some platforms put them);
    anything without a "?"/"#" and no "code=" is taken as the code itself."""
    text = (text or "").strip()
    if not text:
        raise PermanentError("Paste the code, or the whole address your browser ended on.")
    if len(text) > MAX_ANSWER_CHARS:
        raise PermanentError("That is far too long to be a sign-in code or address; nothing was used.")
    if "?" in text or "#" in text or "code=" in text or "error=" in text:
        parts = urlsplit(text if "://" in text or text[0] in "?#" else "?" + text)
        return callback_params(parts.query or parts.fragment)
    return {"code": text}


def check_answer(params: Mapping[str, str], state: str, *, state_required: bool, service: str) -> str:
    """The authorization code from a callback or a paste, after every check; else a clear error.

    Order matters: an answer with somebody else's state is refused before its error or code is
    looked at, so a forged "error=" cannot end a sign-in either."""
    got_state = params.get("state")
    if got_state is not None:
        if not hmac.compare_digest(got_state.encode("utf-8", "replace"), state.encode()):
            raise PermanentError(
                "This sign-in answer does not belong to the sign-in started here (state mismatch). "
                "Nothing was used; start the sign-in again."
            )
    elif state_required:
        raise PermanentError(
            "This sign-in answer has no state to check. Paste the whole address your browser ended on."
        )
    error = params.get("error")
    if error is not None:
        if error == "access_denied":
            raise LoginDenied(f"You did not allow socialdesk on {service}. Nothing was saved; "
                              "start the sign-in again if you change your mind.")
        shown = error if _ERROR_CODE_RE.fullmatch(error) else "unknown error"
        raise LoginDenied(f"{service} refused the sign-in ({shown}). Nothing was saved.")
    code = params.get("code")
    if not code:
        raise PermanentError(f"The answer from {service} has no sign-in code. Start the sign-in again.")
    if not _CODE_RE.fullmatch(code):
        raise PermanentError("That does not look like a sign-in code. Copy it again, without spaces.")
    return code


# --- tokens ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    """What a token endpoint gave us; stored as one JSON keyring entry (TOKEN_ENTRY)."""

    access_token: str
    refresh_token: str = ""
    expires_at: datetime | None = None  # UTC; None when the platform did not say (Mastodon: never)
    scope: str = ""

    def to_json(self) -> str:
        return json.dumps({
            "access_token": self.access_token,
            "refresh_token": self.refresh_token or None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "scope": self.scope,
        })

    @classmethod
    def from_json(cls, text: str | None) -> "Tokens | None":
        """None when there is no entry or it cannot be read (the owner then signs in again)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            expires = data.get("expires_at")
            tokens = cls(
                access_token=data["access_token"],
                refresh_token=data.get("refresh_token") or "",
                expires_at=datetime.fromisoformat(expires) if expires else None,
                scope=data.get("scope") or "",
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("The stored sign-in could not be read; a new sign-in is needed")
            return None
        if not isinstance(tokens.access_token, str) or not tokens.access_token:
            return None
        return tokens

    @classmethod
    def from_response(cls, body: Any, now: datetime, previous: "Tokens | None", service: str) -> "Tokens":
        """Tokens from a token endpoint's JSON. A refresh that returns no new refresh token keeps the
        old one (not every platform rotates); one that does returns the new one, stored together."""
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
            raise TransientError(f"{service} sent an unexpected answer to the sign-in. Try again.")
        expires_in = body.get("expires_in")
        expires_at = None
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and 0 < expires_in < 10 * 365 * 86400:
            expires_at = now + timedelta(seconds=expires_in)
        refresh = body.get("refresh_token")
        scope = body.get("scope")
        return cls(
            access_token=body["access_token"],
            refresh_token=refresh if isinstance(refresh, str) and refresh else (previous.refresh_token if previous else ""),
            expires_at=expires_at,
            scope=scope if isinstance(scope, str) else (previous.scope if previous else ""),
        )


@dataclass(frozen=True)
class OAuthClient:
    """One platform's endpoints and this app's client registration there."""

    service: str  # "Mastodon", "X", ... as shown to the owner
    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str = ""  # "" for public clients (PKCE only)
    scope: str = ""
    redirect_uri: str = ""  # the redirect this client uses for the flow in progress
    extra_authorize: Mapping[str, str] = field(default_factory=dict)
    # Extra form fields of the code exchange (Mastodon before 4.3 documented `scope` there).
    token_params: Mapping[str, str] = field(default_factory=dict)

    def authorization_url(self, state: str, challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **({"scope": self.scope} if self.scope else {}),
            **self.extra_authorize,
        }
        separator = "&" if "?" in self.authorize_url else "?"
        return f"{self.authorize_url}{separator}{urlencode(query)}"

    def exchange(self, http: Http, code: str, verifier: str, now: datetime) -> Tokens:
        """authorization_code grant (RFC 6749 §4.1.3 with RFC 7636's code_verifier)."""
        body = self._token_call(http, {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
            **self.token_params,
        }, refreshing=False)
        return Tokens.from_response(body, now, None, self.service)

    def refresh(self, http: Http, tokens: Tokens, now: datetime) -> Tokens:
        """refresh_token grant (RFC 6749 §6). Never retried by the HTTP layer: a rotating refresh token
        used twice would end the sign-in."""
        body = self._token_call(http, {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
                                refreshing=True)
        return Tokens.from_response(body, now, tokens, self.service)

    def _token_call(self, http: Http, data: dict[str, str], *, refreshing: bool) -> Any:
        data = {**data, "client_id": self.client_id}
        if self.client_secret:
            data["client_secret"] = self.client_secret
        for value in data.values():
            http.add_secret(value)  # codes, verifiers and refresh tokens never reach a log line
        response = http.request("POST", self.token_url, data=data, retry=False, ok_statuses=(400, 401))
        body = http.decode(response)
        if response.status_code in (400, 401):
            error = body.get("error") if isinstance(body, dict) else None
            error = error if isinstance(error, str) and _ERROR_CODE_RE.fullmatch(error) else "invalid_request"
            if refreshing:
                raise AuthError(f"{self.service} no longer accepts this sign-in ({error}). Please log in again.")
            if error == "invalid_grant":
                raise PermanentError(
                    f"{self.service} did not accept that code. Codes work once and expire quickly: start "
                    "the sign-in again."
                )
            raise PermanentError(f"{self.service} refused the sign-in ({error}). Start the sign-in again.")
        return body


# --- the account's lock and bearer auth -------------------------------------------------------------

_LOCKS: dict[Hashable, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def account_lock(secrets: AccountSecrets) -> threading.Lock:
    """One lock per account: keyed by the keyring prefix ("profile/account/"), so every connector
    built for the account shares it; secrets without a prefix (tests, the dialog) by identity."""
    key: Hashable = getattr(secrets, "prefix", None) or ("object", id(secrets))
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


class BearerAuth:
    """The access token of one account, from its keyring entry, refreshed when due (see module doc)."""

    def __init__(
        self,
        secrets: AccountSecrets,
        http: Http,
        *,
        service: str,
        client: Callable[[], OAuthClient] | None = None,
        now: Callable[[], datetime] = utcnow,
        legacy_entry: str = "",
    ):
        self.secrets = secrets
        self.http = http
        self.service = service
        self.client = client  # None: this platform's tokens do not refresh (Mastodon's never expire)
        self.now = now
        self.legacy_entry = legacy_entry  # a bare access token stored before TOKEN_ENTRY existed
        self.lock = account_lock(secrets)

    def load(self) -> Tokens | None:
        tokens = Tokens.from_json(self.secrets.get(TOKEN_ENTRY))
        if tokens is None and self.legacy_entry:
            bare = self.secrets.get(self.legacy_entry)
            tokens = Tokens(access_token=bare) if bare else None
        if tokens is not None:
            self.http.add_secret(tokens.access_token)
            self.http.add_secret(tokens.refresh_token)
        return tokens

    def _due(self, tokens: Tokens) -> bool:
        return (self.client is not None and bool(tokens.refresh_token) and tokens.expires_at is not None
                and self.now() >= tokens.expires_at - REFRESH_MARGIN)

    def _missing(self) -> AuthError:
        return AuthError(f"This {self.service} account is not logged in: log in to it again (Accounts → Re-login).")

    def token(self) -> str:
        """A usable access token, refreshed first when it expires within REFRESH_MARGIN."""
        tokens = self.load()
        if tokens is None:
            raise self._missing()
        if not self._due(tokens):
            return tokens.access_token
        with self.lock:
            tokens = self.load()  # another thread may have refreshed while we waited for the lock
            if tokens is None:
                raise self._missing()
            if self._due(tokens):
                tokens = self._refresh(tokens)
        return tokens.access_token

    def renew(self, rejected: str, error: TokenRejected | None = None) -> str:
        """After a 401 (`error`) with `rejected`: the token someone else stored meanwhile, or one
        refresh; without a refresh token the 401 stands (the owner must sign in again)."""
        with self.lock:
            tokens = self.load()
            if tokens is None:
                raise self._missing()
            if tokens.access_token != rejected:
                return tokens.access_token  # refreshed (or re-logged in) by another thread already
            if self.client is None or not tokens.refresh_token:
                raise error or TokenRejected(f"{self.service} no longer accepts this sign-in. Please log in again.")
            return self._refresh(tokens).access_token

    def _refresh(self, tokens: Tokens) -> Tokens:
        assert self.client is not None
        fresh = self.client().refresh(self.http, tokens, self.now())
        self.secrets.set(TOKEN_ENTRY, fresh.to_json())  # one write: access + rotated refresh together
        self.http.add_secret(fresh.access_token)
        self.http.add_secret(fresh.refresh_token)
        log.info("%s access token refreshed", self.service)
        return fresh

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def call(self, send: Callable[[dict[str, str]], T]) -> T:
        """`send(headers)` with a Bearer token; on a 401 one refresh (or newer stored token) and one
        retry. A second 401 is the owner's to fix (AuthError)."""
        token = self.token()
        try:
            return send({"Authorization": f"Bearer {token}"})
        except TokenRejected as exc:
            fresh = self.renew(token, exc)
        return send({"Authorization": f"Bearer {fresh}"})


# --- the loopback listener ---------------------------------------------------------------------------

_PAGE_SIGNED_IN = "Signed in to socialdesk. You can close this tab and go back to socialdesk.\n"
_PAGE_ENDED = "The sign-in has ended. You can close this tab and go back to socialdesk.\n"
_PAGE_REFUSED = "This address is not for a sign-in in progress in socialdesk.\n"
_PAGE_NOT_FOUND = "Not found.\n"


class LoopbackListener:
    """A one-shot HTTP listener on 127.0.0.1 for the redirect (see the module docstring)."""

    def __init__(self, state: str, *, timeout: float = LISTEN_TIMEOUT_S, service: str = "the platform",
                 port: int = 0):
        self.state = state
        self.timeout = timeout
        self.service = service
        self.wanted_port = port  # 0: any free port
        self._done = threading.Event()
        self._result: dict[str, str] | None = None
        self._ending: str = ""  # "cancelled" | "expired" once stopped without a result
        self._guard = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self.port = 0

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    def start(self) -> "LoopbackListener":
        # http.server loads with the first sign-in, not with every connector that can sign in.
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        listener = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5  # a connection that sends nothing cannot hold a handler thread for long
            server_version = "socialdesk"
            sys_version = ""

            def log_message(self, format: str, *args: Any) -> None:  # the query holds the code
                pass

            def do_GET(self) -> None:
                self._plain(*listener._answer(self.path))

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                # http.server's own error page would echo the method or path back: a fixed text instead
                # (request line too long: 414, malformed: 400, other methods: 501).
                self._plain(code, _PAGE_REFUSED if code < 500 else _PAGE_NOT_FOUND)

            def _plain(self, status: int, body: str) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

        try:
            server = ThreadingHTTPServer(("127.0.0.1", self.wanted_port), Handler)
        except OSError:
            if not self.wanted_port:
                raise
            raise PermanentError(
                f"Port {self.wanted_port} on this computer is in use, so the sign-in cannot come back to "
                f"http://127.0.0.1:{self.wanted_port}{CALLBACK_PATH}. Close the program using it, or choose "
                f"another port and register that address with {self.service}."
            ) from None
        server.daemon_threads = True
        server.timeout = 0.1
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=self._serve, name="oauth-loopback", daemon=True)
        self._thread.start()
        self._timer = threading.Timer(self.timeout, self.expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def _serve(self) -> None:
        server = self._server
        assert server is not None
        try:
            while not self._done.is_set():
                server.handle_request()
        finally:
            server.server_close()

    def _answer(self, raw_path: str) -> tuple[int, str]:
        """(status, fixed page) for one request; records the result when it is ours."""
        parts = urlsplit(raw_path)
        if parts.path != CALLBACK_PATH:
            return 404, _PAGE_NOT_FOUND
        try:
            params = callback_params(parts.query)
        except PermanentError:
            return 400, _PAGE_REFUSED
        got = params.get("state")
        if got is None or not hmac.compare_digest(got.encode("utf-8", "replace"), self.state.encode()):
            return 400, _PAGE_REFUSED
        with self._guard:
            if self._done.is_set():
                return 400, _PAGE_ENDED
            self._result = params
            self._done.set()
        return 200, _PAGE_SIGNED_IN if params.get("code") and "error" not in params else _PAGE_ENDED

    def _stop(self, how: str) -> None:
        with self._guard:
            if not self._done.is_set():
                self._ending = how
                self._done.set()

    def expire(self) -> None:
        """The timeout: stop waiting, free the port."""
        self._stop("expired")

    def cancel(self) -> None:
        """Stop now and free the port (the dialog's Cancel, the CLI's Ctrl+C, a pasted answer)."""
        self._stop("cancelled")
        self._join()

    def _join(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def wait(self, timeout: float | None = None) -> dict[str, str]:
        """Block until the browser came back with our state; then the port is already free."""
        if not self._done.wait(timeout):
            raise LoginTimeout(self._timeout_message())
        self._join()
        if self._result is not None:
            return dict(self._result)
        if self._ending == "expired":
            raise LoginTimeout(self._timeout_message())
        raise LoginCancelled("The sign-in was cancelled. Nothing was saved.")

    def _timeout_message(self) -> str:
        minutes = max(1, round(self.timeout / 60))
        return (f"No answer came back from {self.service} within {minutes} minute(s). Nothing was saved; "
                "start the sign-in again.")


# --- one sign-in attempt ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthRequest:
    """What the owner opens. mode "loopback": a listener waits (pasting the final address works
    too); mode "paste": nothing listens, the owner pastes the code or the address."""

    url: str
    mode: str


@dataclass(frozen=True)
class LoginAccount:
    """One account a sign-in gives access to; the owner picks which of them to add."""

    label: str  # shown in the pick list, e.g. "The Shop (@shop@mastodon.social)"
    info: AccountInfo
    secrets: Mapping[str, str]  # every keyring entry this account needs (names in the spec's secret_names)
    settings: Mapping[str, Any] = field(default_factory=dict)  # added to the form's settings (a Page id)
    # The account kind it is added as; "" is the kind whose sign-in this was. One Google sign-in gives
    # review locations and YouTube channels, one Meta sign-in Facebook Pages and Instagram accounts.
    kind: str = ""


def account_names(name: str, accounts: list[LoginAccount]) -> list[str]:
    """The names the picked accounts are added under: one takes the name the owner gave; several are
    told apart by their labels ("Shop – Bakery Page"). No "/": keyring keys are profile/account/name."""
    if len(accounts) == 1:
        return [name]
    return [f"{name} – {account.label}".replace("/", "-")[:80] for account in accounts]


class AuthCodeLogin:
    """The authorization-code flow with PKCE and state, for one attempt (base.LoginFlow).

    Subclasses set `service`, `instructions`, optionally `oob_redirect`, and implement `make_client`
    and `accounts`."""

    service = "the platform"
    instructions = "Sign in in your browser and allow socialdesk."
    oob_redirect: str | None = None  # the platform's out-of-band redirect, if it has one (paste mode)

    def __init__(self, settings: Mapping[str, Any], *, now: Callable[[], datetime] = utcnow,
                 listen_timeout: float = LISTEN_TIMEOUT_S, secrets: AccountSecrets | None = None):
        self.settings = dict(settings)
        # The owner's typed secret for a platform where they bring their own app (Google's client
        # secret, under the spec's `secret_name`); given only when the spec has a `secret_label`.
        # Read it in `make_client`, which runs off the GUI thread (it may be the keyring on re-login).
        self.secrets = secrets
        self.now = now
        self.listen_timeout = listen_timeout
        self.state = new_state()
        self.verifier, self.challenge = pkce_pair()
        self.listener: LoopbackListener | None = None
        self.client: OAuthClient | None = None
        self.mode = ""

    # -- for subclasses --------------------------------------------------------------------------
    def make_client(self, redirect_uri: str) -> OAuthClient:
        """Endpoints and client id for this redirect; may register the app (network). Raise
        LoopbackRefused when the platform will not take a loopback redirect."""
        raise NotImplementedError

    def loopback_port(self) -> int:
        """The port the listener must use; 0 (any free port) unless the platform matches the
        registered redirect exactly, port included."""
        return 0

    def accounts(self, tokens: Tokens, client: OAuthClient) -> list[LoginAccount]:
        """Who these tokens sign in as: one entry per account the owner may add."""
        raise NotImplementedError

    def http(self, client: OAuthClient) -> Http:
        return Http(client.service, client.token_url, now=self.now)

    # -- the flow -------------------------------------------------------------------------------------
    def start(self, *, loopback: bool = True, browser: Callable[[str], object] | None = None) -> AuthRequest:
        """Prepare the authorization address; in loopback mode the listener is already waiting and
        `browser(url)` (webbrowser.open in the CLI) is called once it is."""
        self.cancel()  # a second start begins afresh
        self.state = new_state()
        self.verifier, self.challenge = pkce_pair()
        client = None
        if loopback or self.oob_redirect is None:
            self.listener = LoopbackListener(self.state, timeout=self.listen_timeout, service=self.service,
                                             port=self.loopback_port()).start()
            try:
                client = self.make_client(self.listener.redirect_uri)
            except LoopbackRefused:
                self.cancel()
                if self.oob_redirect is None:
                    raise
            except BaseException:
                self.cancel()
                raise
        if client is None:
            assert self.oob_redirect is not None
            client = self.make_client(self.oob_redirect)
        self.client = client
        self.mode = "loopback" if self.listener is not None else "paste"
        url = client.authorization_url(self.state, self.challenge)
        if browser is not None and self.mode == "loopback":
            try:
                browser(url)
            except Exception:  # noqa: BLE001 - no browser: the owner opens the printed address
                log.info("opening the browser failed", exc_info=True)
        return AuthRequest(url=url, mode=self.mode)

    def wait(self, timeout: float | None = None) -> dict[str, str]:
        """Loopback mode: the callback's parameters (state already checked)."""
        if self.listener is None:
            raise LoginCancelled("Nothing is waiting for the browser: paste the code instead.")
        return self.listener.wait(timeout)

    def finish(self, params: Mapping[str, str]) -> list[LoginAccount]:
        """Check the answer, swap the code for tokens, and say which accounts they give access to."""
        if self.client is None:
            raise PermanentError("Start the sign-in first.")
        client = self.client
        code = check_answer(params, self.state, state_required=self.mode == "loopback", service=client.service)
        self.cancel()  # a pasted answer ends the listener too: the port is freed
        http = self.http(client)
        try:
            tokens = client.exchange(http, code, self.verifier, self.now())
        finally:
            http.close()
        self.verifier = ""  # single use
        accounts = self.accounts(tokens, client)
        if not accounts:
            raise PermanentError(f"This {client.service} sign-in gives access to no account socialdesk can use.")
        return accounts

    def cancel(self) -> None:
        """Stop listening and free the port; idempotent."""
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.cancel()
