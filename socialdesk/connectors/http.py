"""The one HTTP layer every web connector uses: session, timeouts, rate limits, retries, typed errors.

Decisions:
- One `requests.Session` per connector instance (connection reuse, a fixed User-Agent naming the app),
  TLS verification always on, and `require_secure_transport` on the base URL: http:// only to loopback.
- Every request has a (connect, read) timeout *and an overall deadline* (`deadline`, default
  DEFAULT_DEADLINE_S = 60 s, covering connect, TLS, headers, body and every retry). The timeouts
  bound each socket read only, and requests documents that they are "not a time limit on the entire
  response download": a server trickling one byte per second kept `sync --once` running for more
  than 300 s. Every socket of a request is watched by connectors/deadline.py (the session's adapter,
  in connectors/http_transport.py, hooks urllib3's connection creation and reuse; that module holds
  everything that needs requests or urllib3 at import, so importing a connector for its traits does
  not load them), so at the deadline the socket is shut and the call
  ends with DeadlineExceeded (a TransientError). Why 60 s: an API answer takes well under 2 s and a
  page of notifications is far below 1 MB (40 s even at 0.2 Mbit/s); it is twice the read timeout,
  so one slow-but-moving answer is not cut, and no more than the default poll interval, so a stuck
  call costs an account at most one poll. A caller that asks for a longer read timeout (Telegram's
  long poll) gets at least connect + read + 5 s. For `stream=True` the deadline ends once the
  headers are in; the stream's own idle timeout and stop event take over.
- Retries with exponential backoff and jitter only where repeating is safe: idempotent methods, or a
  caller that says so (a POST carrying an Idempotency-Key). 5xx, timeouts and connection errors are
  retried; the last failure becomes a `TransientError`.
- Errors are read from an `ErrorTable` each connector declares (status, body code or words at a
  JSON path, request header → error type and owner-readable message), first match wins, then the
  standard mapping by status. A status alone does not say enough: Graph throttles with codes 4/17/
  32/613 in a 400 body, YouTube's spent quota is a 403 `quotaExceeded`, Telegram's 403 "bot was
  blocked by the user" concerns one chat, not the token. So 403 is not "log in again" by default
  (it is a PermanentError unless the table says AuthError or NotAllowed); only 401 is. 2xx bodies
  that say they failed (Telegram's `"ok": false`, Graph's `error`, X's `errors` without `data`) are
  declared in the same table (`failures`) and go through the same rules. No callbacks: the table is
  data, tested row by row (tests/unit/test_http.py).
- Rate-limit headers (`X-RateLimit-*` as Mastodon sends them, `RateLimit-*` as Bluesky sends them,
  `Retry-After`) are parsed into `RateLimit`; when the platform said "0 remaining until T" we raise
  `RateLimited(T)` before sending, instead of burning a request. Reads and writes are tracked
  separately (posting budgets are smaller and separate on Mastodon and Bluesky). That memory
  (`limits`) belongs to the account, not to this object: the sync engine hands every connector it
  builds for an account the same dict, so a connector rebuilt after a network error still knows
  that the budget is spent.
- Secrets never leave this module in text: log lines and error messages use `redact_url` (which hides
  `/bot<token>/` path segments and token-like query values) and `scrub` (which hides any secret value
  the connector registered with `add_secret`). Exception texts from requests are never passed on
  because they can contain the full URL. `Authorization` headers are shown as "<redacted>". urllib3
  logs every request line at DEBUG, so a filter on its loggers redacts those too.
- Streams (Mastodon SSE) and long polls (Telegram getUpdates) must stop within about a second when
  asked: `LineReader` reads a streamed body on a helper thread and hands lines over a queue, and
  `call_interruptible` runs a blocking call on a helper thread; both give up waiting when the stop
  event is set and leave the helper to finish by itself (it only holds a socket that is then closed).
"""

from __future__ import annotations

import logging
import queue
import random
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, TypeVar
from urllib.parse import urlsplit

from socialdesk import __version__
from socialdesk.connectors import deadline as deadlines
from socialdesk.connectors import network_errors
from socialdesk.connectors.base import (
    AuthError,
    ConnectorError,
    NotAllowed,
    PermanentError,
    QuotaExceeded,
    RateLimited,
    TransientError,
    require_secure_transport,
)

if TYPE_CHECKING:  # requests and urllib3 load with the first Http (connectors/http_transport.py)
    import requests

log = logging.getLogger("socialdesk.http")

USER_AGENT = f"socialdesk/{__version__} (+desktop inbox for small businesses)"
DEFAULT_TIMEOUT = (10.0, 30.0)  # (connect, read) seconds
DEFAULT_DEADLINE_S = 60.0  # one request, retries included (see the module docstring)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
REDACTED = "<redacted>"
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SENSITIVE_QUERY = re.compile(
    r"([?&](?:access_token|refresh_token|token|code|code_verifier|client_secret|password|fb_exchange_token)=)[^&#]*",
    re.IGNORECASE,
)
_BOT_SEGMENT = re.compile(r"/bot[^/?#]+")

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def redact_url(url: str) -> str:
    """`url` with Telegram's /bot<token>/ segment and token-like query values hidden."""
    url = _BOT_SEGMENT.sub("/bot" + REDACTED, url)
    return _SENSITIVE_QUERY.sub(lambda m: m.group(1) + REDACTED, url)


def redact_headers(headers: Mapping[str, str | bytes]) -> dict[str, str | bytes]:
    return {k: (REDACTED if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


class _RedactingFilter(logging.Filter):
    """Rewrites records of libraries that log full URLs (urllib3 logs every request line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = redact_url(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_REDACTING_FILTER = _RedactingFilter()
for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_REDACTING_FILTER)


@dataclass(frozen=True)
class RateLimit:
    """What the platform's rate-limit headers said about the current window."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None


def _parse_reset(value: str, now: datetime) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        # Epoch seconds (Bluesky, many others) are huge; the IETF draft sends seconds left.
        if number >= 1_000_000_000:
            return datetime.fromtimestamp(number, timezone.utc)
        return now + timedelta(seconds=max(0.0, number))
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            import email.utils  # the email package loads with the first HTTP-date Retry-After

            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 timestamp from a platform as aware UTC, or None when it is missing or garbled."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.split(",")[0].split(";")[0].strip()))
    except ValueError:
        return None


def parse_rate_limit(headers: Mapping[str, str], now: datetime) -> RateLimit | None:
    """Read `X-RateLimit-*` or `RateLimit-*` headers (either case); None when there are none."""
    lower = {k.lower(): v for k, v in headers.items()}
    for prefix in ("x-ratelimit-", "ratelimit-", "x-rate-limit-"):
        if any(key.startswith(prefix) for key in lower):
            reset = lower.get(prefix + "reset")
            return RateLimit(
                limit=_int_or_none(lower.get(prefix + "limit")),
                remaining=_int_or_none(lower.get(prefix + "remaining")),
                reset_at=_parse_reset(reset, now) if reset else None,
            )
    return None


def retry_after(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """The moment a `Retry-After` header (seconds or HTTP date) points at, if any."""
    for key, value in headers.items():
        if key.lower() == "retry-after":
            return _parse_reset(value, now)
    return None


# --- error tables ----------------------------------------------------------------------------------

# Where platforms put the human reason, first found wins: OAuth's error_description, Mastodon's and
# Bluesky's error/message, Telegram's description, X's problem detail/title, Graph's and Google's
# error.message, X's errors[].message.
DETAIL_PATHS = ("error_description", "message", "description", "error", "detail", "title", "error.message",
                "errors.*.message", "errors.*.detail")
PRESENT = "<present>"  # BodyFailure.value: the path only has to exist


def json_object(value: Any) -> dict[str, Any]:
    """`value` where it is a JSON object, else an empty one: hostile JSON may hold anything where a
    platform documents an object, and an empty object reads as "every field missing"."""
    return value if isinstance(value, dict) else {}


def json_string(value: Any) -> str:
    """`value` where it is a JSON string, else "" (as json_object, for text fields)."""
    return value if isinstance(value, str) else ""


def json_values(body: Any, path: str) -> list[Any]:
    """The values at a dotted `path` in a JSON body; "*" stands for every element of a list
    ("errors.*.reason"). Missing keys, wrong types and odd shapes give no values, never an error."""
    if not path:
        return []
    found = [body]
    for key in path.split("."):
        step: list[Any] = []
        for value in found:
            if key == "*":
                step += value if isinstance(value, list) else []
            elif isinstance(value, dict) and key in value:
                step.append(value[key])
        found = step
    return found


def _same(value: Any, wanted: Any) -> bool:
    # JSON false is not 0 and "4" is not 4: compare type and value.
    return type(value) is type(wanted) and value == wanted


@dataclass(frozen=True)
class ErrorRule:
    """One row of a platform's error table: a response that matches every given condition becomes
    `error`. Conditions left at their default are not checked.

    - `status`: the HTTP status (or, for a 2xx body that says it failed, the status the body names
      at ErrorTable.status_at), one or several;
    - `code`: one or several values at the JSON path `where` ("error.code", "errors.*.reason");
    - `contains`: a case-insensitive piece of the text at `where` (platforms that only give words);
    - `header`: a header the request carried (Bluesky's chat calls go through `atproto-proxy`).

    `message` is owner-readable text with {service}, {status}, {code}, {detail} (the platform's
    reason, scrubbed, at most 200 characters), {suffix} (": detail" or nothing), {wait_s} and {until}
    (for RateLimited); empty: a standard sentence for the error type. For RateLimited (and
    QuotaExceeded) the retry time is the body's `retry_after` path (seconds), else the Retry-After
    header, else the rate-limit window's reset, else `wait(now)` (a quota's renewal), else a minute.
    """

    error: type[ConnectorError]
    status: int | tuple[int, ...] | None = None
    code: Any = None
    where: str = ""
    contains: str = ""
    header: str = ""
    message: str = ""
    retry_after: str = ""
    wait: Callable[[datetime], datetime] | None = None

    def matches(self, status: int, body: Any, request_headers: Mapping[str, str | bytes]) -> bool:
        if self.status is not None and status not in ((self.status,) if isinstance(self.status, int) else self.status):
            return False
        if self.header and not request_headers.get(self.header):
            return False
        values = json_values(body, self.where)
        if self.code is not None:
            codes = self.code if isinstance(self.code, tuple) else (self.code,)
            if not any(_same(value, code) for value in values for code in codes):
                return False
        if self.contains:
            piece = self.contains.casefold()
            if not any(isinstance(value, str) and piece in value.casefold() for value in values):
                return False
        return True


@dataclass(frozen=True)
class BodyFailure:
    """How a platform says "failed" in a 2xx body: the value at `path` (PRESENT: the path exists),
    unless `unless` exists too. Telegram: ("ok", False); Graph: ("error", PRESENT); X: ("errors",
    PRESENT, unless="data"), since a 200 carrying data and errors is a partial success."""

    path: str
    value: Any = PRESENT
    unless: str = ""

    def failed(self, body: Any) -> bool:
        values = json_values(body, self.path)
        if not values or (self.unless and json_values(body, self.unless)):
            return False
        return self.value is PRESENT or any(_same(value, self.value) for value in values)


@dataclass(frozen=True)
class ErrorTable:
    """A platform's error table, declared once in its connector module and handed to its Http.

    The rules are tried in order, first match wins; a response no rule matches gets the standard
    mapping by status (401 AuthError, 429 RateLimited, 408/5xx TransientError, other 4xx
    PermanentError). `failures`: the ways a 2xx body says the call failed; such a body goes through
    the same rules, with the status found at `status_at` (Telegram's error_code) when there is one,
    and is a TransientError ("unexpected answer") when no rule and no status explain it."""

    rules: tuple[ErrorRule, ...] = ()
    failures: tuple[BodyFailure, ...] = ()
    status_at: str = ""
    detail: tuple[str, ...] = DETAIL_PATHS

    def with_first(self, *rules: ErrorRule) -> "ErrorTable":
        """This table with `rules` tried before its own."""
        return ErrorTable(rules + self.rules, self.failures, self.status_at, self.detail)


def _body(response: requests.Response) -> Any:
    """The parsed JSON body (cached on the response), or None when it is not JSON."""
    cached = response.__dict__.get("_socialdesk_json", _NOT_READ)
    if cached is _NOT_READ:
        try:
            cached = response.json()
        except ValueError:
            cached = None
        response.__dict__["_socialdesk_json"] = cached
    return cached


_NOT_READ = object()


def body_detail(body: Any, paths: tuple[str, ...] = DETAIL_PATHS) -> str:
    """A short reason from a JSON error body: the first non-empty text at `paths`."""
    for path in paths:
        for value in json_values(body, path):
            if isinstance(value, str) and value.strip():
                return value.strip()[:200]
    return ""


def error_detail(response: requests.Response) -> str:
    """A short, owner-readable reason from a JSON error body (unscrubbed: pass it through Http.scrub)."""
    return body_detail(_body(response))


_DEFAULT_MESSAGES: tuple[tuple[type[ConnectorError], str], ...] = (
    (QuotaExceeded, "{service}: the quota for this app is used up{suffix}. It renews at {until} UTC; "
                    "nothing is fetched or sent until then."),
    (RateLimited, "{service} asked us to slow down (HTTP {status}){suffix}."),
    (AuthError, "{service} refused our credentials (HTTP {status}){suffix}. Please log in again."),
    (NotAllowed, "{service} does not allow this here (HTTP {status}){suffix}."),
    (TransientError, "{service} had a server problem (HTTP {status}). Will try again."),
    (PermanentError, "{service} rejected the request (HTTP {status}){suffix}."),
    (ConnectorError, "{service} rejected the request (HTTP {status}){suffix}."),
)


class Http:
    """A requests Session bound to one platform and base URL, speaking in typed errors."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 2,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utcnow,
        errors: ErrorTable | None = None,
        user_agent: str = USER_AGENT,
        deadline: float = DEFAULT_DEADLINE_S,
        limits: dict[str, RateLimit] | None = None,
    ):
        self.service = service
        self.base_url = check_base_url(base_url, service)
        self.timeout = timeout
        self.deadline = deadline
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.now = now
        # The platform's error table (see ErrorTable); the engine never sees a status code.
        self.errors = errors if errors is not None else ErrorTable()
        # Last rate-limit window seen per bucket: platforms limit writes (posting) separately from
        # reads, so an exhausted posting budget must not stop us from fetching. The engine replaces
        # the dict with the account's own (see the module docstring).
        self.limits: dict[str, RateLimit] = {} if limits is None else limits
        self._secrets: set[str] = set()
        from socialdesk.connectors.http_transport import new_session

        self.session = new_session()
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "application/json"

    # -- secrets -------------------------------------------------------------------------------
    def add_secret(self, value: str | None) -> None:
        """Remember a secret value so it is scrubbed from every log line and error message."""
        if value and len(value) >= 4:
            self._secrets.add(value)

    def scrub(self, text: str) -> str:
        for value in self._secrets:
            text = text.replace(value, REDACTED)
        return redact_url(text)

    # -- requests ------------------------------------------------------------------------------
    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        # Plain concatenation: urljoin would read "bot123:ABC/getMe" as a URL with scheme "bot123".
        return self.base_url + "/" + path_or_url.lstrip("/")

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: tuple[float, float] | None = None,
        retry: bool | None = None,
        stream: bool = False,
        ok_statuses: tuple[int, ...] = (),
        deadline: float | None = None,
        bucket: str | None = None,
    ) -> requests.Response:
        """Send one request (with retries where safe); return the 2xx response or raise typed errors.

        Statuses in `ok_statuses` are returned instead of raised (for callers that read the body).
        `bucket`: the rate-limit window this call counts against, where the platform limits each
        endpoint on its own (X: mentions 300, DM events 15 per 15 min); default "read" or "write".
        The whole call, retries included, ends within `deadline` seconds (see the module docstring).
        """
        import requests  # loaded already by __init__; here for the exception classes

        method = method.upper()
        url = self.url(path_or_url)
        host = urlsplit(url).hostname or ""
        require_secure_transport(host, url.startswith("https://"), f"{self.service} connection")
        bucket = bucket or ("read" if method in ("GET", "HEAD") else "write")
        self._respect_rate_limit(bucket)
        connect_s, read_s = timeout or self.timeout
        if deadline is None:
            deadline = self.deadline if timeout is None else max(self.deadline, connect_s + read_s + 5.0)
        may_retry = (method in IDEMPOTENT_METHODS) if retry is None else retry
        attempt = 0
        with deadlines.within(deadline, f"{self.service} ({host})") as scope:
            while True:
                started = time.monotonic()
                # No single read may wait past the deadline either (the watchdog handles trickles).
                left = max(0.01, scope.remaining())
                try:
                    response = self.session.request(
                        method,
                        url,
                        params=params,
                        json=json,
                        data=data,
                        headers=dict(headers or {}),
                        timeout=(min(connect_s, left), min(read_s, left)),
                        stream=stream,
                    )
                # A body cut short (ChunkedEncodingError: the connection broke mid-answer) is a network
                # failure like a reset, worth retrying; it must not mark the account as broken for good.
                except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                    log.info("%s %s failed: %s", method, self.scrub(url), type(exc).__name__)
                    port = urlsplit(url).port or (443 if url.startswith("https://") else 80)
                    error: ConnectorError = TransientError(
                        f"{self.service}: {network_errors.explain(exc, host, port)} Will try again."
                    )
                except requests.RequestException as exc:
                    raise PermanentError(
                        f"{self.service}: the request could not be sent ({type(exc).__name__})."
                    ) from None
                else:
                    elapsed = (time.monotonic() - started) * 1000
                    log.debug(
                        "%s %s -> %s in %.0f ms headers=%s",
                        method,
                        self.scrub(url),
                        response.status_code,
                        elapsed,
                        redact_headers(response.request.headers),
                    )
                    if scope.fired:  # cut short by the watchdog: headers or body may be partial
                        response.close()
                        raise scope.error()
                    rate = parse_rate_limit(response.headers, self.now())
                    if rate is not None:
                        self.limits[bucket] = rate
                    if 200 <= response.status_code < 300:
                        failed = None if stream else self._failed_2xx(response)
                        if failed is None:
                            return response
                        error = self._map_error(response, self.limits.get(bucket), failed)
                    elif response.status_code in ok_statuses:
                        return response
                    else:
                        error = self._map_error(response, self.limits.get(bucket))
                    response.close()
                if isinstance(error, TransientError) and may_retry and attempt < self.retries:
                    delay = self.backoff * (2**attempt) * random.uniform(0.5, 1.5)
                    if delay < scope.remaining() and not scope.fired:  # retries fit in the deadline
                        attempt += 1
                        self.sleep(delay)
                        continue
                raise error

    def get_json(self, path_or_url: str, **kwargs: Any) -> Any:
        return self.decode(self.request("GET", path_or_url, **kwargs))

    def post_json(self, path_or_url: str, **kwargs: Any) -> Any:
        return self.decode(self.request("POST", path_or_url, **kwargs))

    def decode(self, response: requests.Response) -> Any:
        """The JSON body, or TransientError when the platform sent something that is not JSON."""
        body = _body(response)
        if body is None and response.content.strip() != b"null":
            raise TransientError(
                f"{self.service} sent a malformed response (not JSON, HTTP {response.status_code}). "
                "Will try again."
            )
        return body

    def close(self) -> None:
        self.session.close()

    # -- internals -----------------------------------------------------------------------------
    def _respect_rate_limit(self, bucket: str) -> None:
        rate = self.limits.get(bucket)
        if rate is None or rate.remaining is None or rate.reset_at is None:
            return
        if rate.remaining <= 0 and rate.reset_at > self.now():
            raise RateLimited(
                f"{self.service} rate limit reached; waiting until {rate.reset_at:%H:%M:%S} UTC.",
                rate.reset_at,
            )
        if rate.reset_at <= self.now():
            self.limits.pop(bucket, None)  # the dict is the account's, shared with rebuilt connectors

    def _failed_2xx(self, response: requests.Response) -> int | None:
        """For a 2xx whose body says it failed (the table's `failures`): the status it names at
        `status_at`, or 0 when it names none; None for a success."""
        if not self.errors.failures:
            return None
        body = _body(response)
        if not any(failure.failed(body) for failure in self.errors.failures):
            return None
        named = json_values(body, self.errors.status_at)
        status = named[0] if named else None
        return status if type(status) is int and 100 <= status <= 599 else 0

    def _map_error(
        self, response: requests.Response, rate: RateLimit | None, body_status: int | None = None
    ) -> ConnectorError:
        """The typed error for a failed response: the error table's first matching rule, else the
        standard mapping by status. `body_status`: set for a 2xx body that said it failed (0: no status)."""
        status = response.status_code if body_status is None else body_status
        body = _body(response)
        detail = self.scrub(body_detail(body, self.errors.detail))
        request_headers = response.request.headers if response.request is not None else {}
        rule = next((r for r in self.errors.rules if r.matches(status, body, request_headers)), None)
        if rule is not None:
            kind, template = rule.error, rule.message
        elif status == 429:
            kind, template = RateLimited, ""
        elif status == 401:
            kind, template = AuthError, ""
        elif status == 0:  # a 2xx that says it failed, and neither a rule nor a status says why
            kind = TransientError
            template = "{service} sent an unexpected answer{suffix}. Will try again."
        elif status == 408 or status >= 500:
            kind, template = TransientError, ""
        else:
            # 403 included: "forbidden" says nothing about whose fault it is; a platform whose 403
            # means "log in again" or "not this item" says so in its table.
            kind, template = PermanentError, ""
        if not template:
            template = next(text for cls, text in _DEFAULT_MESSAGES if issubclass(kind, cls))
        values: dict[str, Any] = {
            "service": self.service, "status": status, "detail": detail, "suffix": f": {detail}" if detail else "",
            "code": self.scrub(str(next(iter(json_values(body, rule.where)), "")))[:80] if rule else "",
        }
        if not issubclass(kind, RateLimited):
            return kind(template.format(**values))
        when = self._retry_time(response, body, rule, rate)
        values["until"] = f"{when:%H:%M:%S}"
        values["wait_s"] = max(0, round((when - self.now()).total_seconds()))
        return kind(template.format(**values), when)

    def _retry_time(
        self, response: requests.Response, body: Any, rule: ErrorRule | None, rate: RateLimit | None
    ) -> datetime:
        now = self.now()
        seconds = next(iter(json_values(body, rule.retry_after)), None) if rule is not None else None
        when: datetime | None = None
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 <= seconds <= 7 * 86400:
            when = now + timedelta(seconds=seconds)
        if when is None:
            when = retry_after(response.headers, now)
        if when is None and rate is not None and rate.reset_at is not None:
            when = rate.reset_at
        if when is None and rule is not None and rule.wait is not None:
            when = rule.wait(now)
        # "retry after 0" means now (Telegram sends it); only a missing or past time falls back to 60 s.
        return when if when is not None and when >= now else now + timedelta(seconds=60)


def check_base_url(base_url: str, service: str) -> str:
    """Validate an owner-entered base URL: http(s) only, plaintext only to loopback."""
    base_url = (base_url or "").strip().rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError(f"{service}: {base_url!r} is not a web address (https://...).")
    require_secure_transport(parts.hostname, parts.scheme == "https", f"{service} connection")
    return base_url


def call_interruptible(fn: Callable[[], T], stop_event: threading.Event, poll: float = 0.1) -> T | None:
    """Run `fn` on a helper thread; return its result, or None as soon as `stop_event` is set.

    For long polls that cannot be cut short from outside: the abandoned call ends by itself when
    the server answers or its timeout passes, and its result is dropped (for Telegram that is safe:
    updates are confirmed only by the *next* getUpdates offset, which we then never send).
    """
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="socialdesk-longpoll", daemon=True).start()
    while not done.wait(poll):
        if stop_event.is_set():
            return None
    if "error" in box:
        raise box["error"]
    return box["result"]


class LineReader:
    """Lines of a streamed response body, read on a helper thread so the reader can be stopped.

    Iterating yields decoded lines (without line endings). It ends when the server closes the
    stream or `stop_event` is set, and raises TransientError when nothing (not even a heartbeat)
    arrived for `idle_timeout` seconds or the connection broke.
    """

    _EOF = object()

    def __init__(
        self,
        response: requests.Response,
        stop_event: threading.Event,
        idle_timeout: float,
        service: str,
        poll: float = 0.1,
    ):
        self.response = response
        self.stop_event = stop_event
        self.idle_timeout = idle_timeout
        self.service = service
        self.poll = poll
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, name="socialdesk-stream", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        raw = self.response.raw
        pending = b""
        try:
            while True:
                chunk = raw.read1(8192) if hasattr(raw, "read1") else raw.read(1)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._queue.put(line.rstrip(b"\r").decode("utf-8", "replace"))
            if pending:
                self._queue.put(pending.rstrip(b"\r").decode("utf-8", "replace"))
            self._queue.put(self._EOF)
        except Exception as exc:  # the connection broke (or was closed by `close`)
            self._queue.put(exc)

    def __iter__(self) -> Iterator[str]:
        last_data = time.monotonic()
        try:
            while not self.stop_event.is_set():
                try:
                    item = self._queue.get(timeout=self.poll)
                except queue.Empty:
                    if time.monotonic() - last_data > self.idle_timeout:
                        raise TransientError(
                            f"{self.service}: the live connection went silent; reconnecting."
                        ) from None
                    continue
                if item is self._EOF:
                    return
                if isinstance(item, Exception):
                    if self.stop_event.is_set():
                        return
                    raise TransientError(f"{self.service}: the live connection broke; reconnecting.")
                last_data = time.monotonic()
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Shut the socket so the helper thread's blocking read returns, then close the response."""
        sock = _response_socket(self.response)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.response.close()


def _response_socket(response: requests.Response) -> socket.socket | None:
    # urllib3 keeps the http.client response in `_fp`; its buffered reader wraps a SocketIO whose
    # `_sock` is the socket. Reaching in is the only way to unblock a read from another thread.
    fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
    sock = getattr(getattr(fp, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None
