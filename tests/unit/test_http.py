"""The shared HTTP layer: redaction, rate-limit parsing, retries, error mapping, interruptible reads."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors import bluesky, mastodon, telegram
from socialdesk.connectors.base import (
    AuthError,
    ConnectorError,
    NotAllowed,
    PermanentError,
    QuotaExceeded,
    RateLimited,
    TransientError,
)
from socialdesk.connectors.http import (
    USER_AGENT,
    ErrorTable,
    Http,
    LineReader,
    call_interruptible,
    parse_rate_limit,
    redact_headers,
    redact_url,
    retry_after,
)
from socialdesk.connectors.platform_errors import GOOGLE_ERRORS, GRAPH_ERRORS, X_ERRORS
from tests.fakes import FakeServer, Reply, Request

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


class EchoFake(FakeServer):
    """Answers 200 {"ok": true, "path": ...}; `/stream` sends lines slowly; faults via inject."""

    def __init__(self) -> None:
        super().__init__(lifetime=60)
        self.release = threading.Event()

    def handle(self, req: Request) -> Reply:
        if req.path == "/stream":
            return Reply(200, None, {}, self._lines())
        return Reply(200, {"ok": True, "path": req.path})

    def _lines(self):
        yield b"first\nsec"
        yield b"ond\r\n"
        self.release.wait(5)  # then silence until the test lets go


@pytest.fixture
def fake():
    server = EchoFake()
    with server.running():
        yield server
        server.release.set()


def client(fake: EchoFake, **kwargs) -> tuple[Http, list[float]]:
    sleeps: list[float] = []
    http = Http("Test", fake.url, sleep=sleeps.append, now=lambda: NOW, **kwargs)
    return http, sleeps


def test_redaction():
    assert redact_url("https://api.telegram.org/bot123:ABC-def/getUpdates?offset=3") == (
        "https://api.telegram.org/bot<redacted>/getUpdates?offset=3")
    assert redact_url("https://x/oauth?code=abc&state=1&access_token=zzz") == (
        "https://x/oauth?code=<redacted>&state=1&access_token=<redacted>")
    # Meta's long-lived token exchange carries the short-lived user token in the query (urllib3 logs it).
    assert redact_url("https://graph.facebook.com/v25.0/oauth/access_token?grant_type=fb_exchange_token"
                      "&fb_exchange_token=EAAB&client_secret=s") == (
        "https://graph.facebook.com/v25.0/oauth/access_token?grant_type=fb_exchange_token"
        "&fb_exchange_token=<redacted>&client_secret=<redacted>")
    assert redact_headers({"Authorization": "Bearer t", "Accept": "x"}) == {
        "Authorization": "<redacted>", "Accept": "x"}


def test_rate_limit_headers_in_every_dialect():
    iso = parse_rate_limit({"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": "2026-11-22T12:05:00.000Z"}, NOW)
    assert (iso.limit, iso.remaining, iso.reset_at) == (300, 0, NOW + timedelta(minutes=5))
    epoch = parse_rate_limit({"ratelimit-limit": "3000", "ratelimit-remaining": "12",
                              "ratelimit-reset": str(int((NOW + timedelta(seconds=90)).timestamp())),
                              "ratelimit-policy": "3000;w=300"}, NOW)
    assert (epoch.remaining, epoch.reset_at) == (12, NOW + timedelta(seconds=90))
    delta = parse_rate_limit({"RateLimit-Remaining": "1", "RateLimit-Reset": "30"}, NOW)
    assert delta.reset_at == NOW + timedelta(seconds=30)
    assert parse_rate_limit({"Content-Type": "text/plain"}, NOW) is None
    assert parse_rate_limit({"X-RateLimit-Reset": "garbage"}, NOW).reset_at is None
    assert retry_after({"Retry-After": "120"}, NOW) == NOW + timedelta(seconds=120)
    assert retry_after({"Retry-After": "Sun, 22 Nov 2026 12:10:00 GMT"}, NOW) == NOW + timedelta(minutes=10)


def test_user_agent_timeout_and_json(fake):
    http, _ = client(fake)
    assert http.get_json("/hello") == {"ok": True, "path": "/hello"}
    assert fake.requests[0].headers["user-agent"] == USER_AGENT


def test_plaintext_only_to_loopback():
    with pytest.raises(PermanentError, match="unencrypted"):
        Http("Test", "http://example.com")
    with pytest.raises(PermanentError):
        Http("Test", "ftp://127.0.0.1")
    Http("Test", "https://example.com")  # TLS is fine
    http = Http("Test", "https://example.com")
    with pytest.raises(PermanentError, match="unencrypted"):
        http.request("GET", "http://example.com/plain")  # an absolute URL is checked too


def test_status_codes_map_to_typed_errors(fake):
    http, sleeps = client(fake)
    cases = [(401, AuthError), (403, PermanentError), (404, PermanentError), (422, PermanentError)]
    for status, error in cases:
        fake.inject(status, {"error": f"reason {status}"})
        with pytest.raises(error, match=f"reason {status}") as info:
            http.get_json("/x")
        assert type(info.value) is error
    # Only 401 means "log in again": a 403 names no culprit, so without a table it is this request's.
    fake.inject(403, {"error": "Forbidden"})
    with pytest.raises(PermanentError) as info:
        http.get_json("/x")
    assert not isinstance(info.value, AuthError) and "log in" not in str(info.value)
    assert sleeps == []  # none of those is retried


def test_5xx_retried_with_backoff_then_transient(fake):
    http, sleeps = client(fake, retries=2, backoff=0.5)
    fake.inject(500, {"error": "boom"}, times=3)
    with pytest.raises(TransientError, match="HTTP 500"):
        http.get_json("/x")
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.75 and 0.5 <= sleeps[1] <= 1.5
    fake.inject(502, b"bad gateway")
    assert http.get_json("/x")["ok"]  # one retry was enough


def test_post_is_retried_only_when_the_caller_says_it_is_safe(fake):
    http, sleeps = client(fake)
    fake.inject(503, b"")
    with pytest.raises(TransientError):
        http.post_json("/send", json={})
    fake.inject(503, b"")
    assert http.post_json("/send", json={}, retry=True)["ok"]
    assert len(sleeps) == 1


def test_429_uses_retry_after_and_remaining_zero_blocks_without_sending(fake):
    http, _ = client(fake)
    fake.inject(429, {"error": "slow down"}, headers={"Retry-After": "42"})
    with pytest.raises(RateLimited) as info:
        http.get_json("/x")
    assert info.value.retry_at == NOW + timedelta(seconds=42)
    fake.inject(200, {"ok": True}, headers={"X-RateLimit-Remaining": "0",
                                            "X-RateLimit-Reset": "2026-11-22T12:01:00Z"})
    http.get_json("/x")
    sent = len(fake.requests)
    with pytest.raises(RateLimited) as info:
        http.get_json("/x")
    assert info.value.retry_at == NOW + timedelta(minutes=1) and len(fake.requests) == sent
    assert http.post_json("/send", json={})["ok"]  # writes have their own budget
    http.now = lambda: NOW + timedelta(minutes=2)  # after the reset the block lifts
    assert http.get_json("/x")["ok"]


def test_429_without_hints_waits_a_minute(fake):
    http, _ = client(fake)
    fake.inject(429, b"")
    with pytest.raises(RateLimited) as info:
        http.get_json("/x")
    assert info.value.retry_at == NOW + timedelta(seconds=60)


def test_malformed_json_is_transient(fake):
    http, _ = client(fake)
    fake.inject(200, b"{broken")
    with pytest.raises(TransientError, match="malformed"):
        http.get_json("/x")


def test_network_errors_are_transient_and_never_show_the_url(caplog):
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http = Http("Test", f"http://127.0.0.1:{port}", sleep=lambda s: None, timeout=(0.5, 0.5))
    with pytest.raises(TransientError) as info:
        http.get_json("/bot999:SECRET-TOKEN/getMe")
    assert "SECRET-TOKEN" not in str(info.value) and "SECRET-TOKEN" not in caplog.text


def test_read_timeout_is_transient():
    with socket.socket() as listener:  # accepts connections but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        http = Http("Test", f"http://127.0.0.1:{listener.getsockname()[1]}", retries=0, timeout=(0.5, 0.2))
        with pytest.raises(TransientError, match=r"did not answer in time\. Check the server name and port"):
            http.get_json("/x")


def test_secrets_are_scrubbed_from_server_messages_and_logs(fake, caplog):
    caplog.set_level(logging.DEBUG)
    http, _ = client(fake)
    http.add_secret("hunter2-token")
    fake.inject(400, {"error": "bad token hunter2-token"})
    with pytest.raises(PermanentError) as info:
        http.get_json("/x", headers={"Authorization": "Bearer hunter2-token"})
    assert "hunter2-token" not in str(info.value) and "<redacted>" in str(info.value)
    assert "hunter2-token" not in caplog.text and "'Authorization': '<redacted>'" in caplog.text


def test_line_reader_yields_lines_and_stops_promptly(fake):
    http, _ = client(fake)
    stop = threading.Event()
    response = http.request("GET", "/stream", stream=True)
    reader = LineReader(response, stop, idle_timeout=30, service="Test")
    lines = []
    for line in reader:
        lines.append(line)
        if len(lines) == 2:
            threading.Timer(0.1, stop.set).start()
    assert lines == ["first", "second"]


def test_line_reader_reports_silence(fake):
    http, _ = client(fake)
    response = http.request("GET", "/stream", stream=True)
    started = time.monotonic()
    with pytest.raises(TransientError, match="silent"):
        list(LineReader(response, threading.Event(), idle_timeout=0.2, service="Test"))
    assert time.monotonic() - started < 2


def test_call_interruptible():
    stop = threading.Event()
    assert call_interruptible(lambda: 7, stop) == 7
    with pytest.raises(ValueError):
        call_interruptible(lambda: int("x"), stop)
    release = threading.Event()
    threading.Timer(0.1, stop.set).start()
    started = time.monotonic()
    assert call_interruptible(lambda: release.wait(5), stop) is None
    assert time.monotonic() - started < 1
    release.set()


def test_requests_exceptions_other_than_network_are_permanent(fake):
    http, _ = client(fake)
    with pytest.raises(PermanentError):
        http.request("GET", "/x", headers={"Bad\nHeader": "x"})  # requests refuses it before sending


# --- error tables: every documented body code to its error type --------------------------------------

HOUR = timedelta(hours=1)
# NOW is 04:00 Pacific (PST) on 22 Nov 2026: Google's daily quota renews at 08:00 UTC on the 23rd.
PACIFIC_MIDNIGHT = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
CHAT = {"atproto-proxy": "did:web:api.bsky.chat#bsky_chat"}


def graph(code: int, subcode: int | None = None, message: str = "Graph says no") -> dict:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def google(status: int, reason: str, message: str = "Google says no") -> dict:
    return {"error": {"code": status, "message": message,
                      "errors": [{"message": message, "domain": "youtube.quota", "reason": reason}]}}


def problem(kind: str, status: int, detail: str = "X says no") -> dict:
    return {"title": kind, "detail": detail, "type": f"https://api.x.com/2/problems/{kind}", "status": status}


# (table, HTTP status, body, request headers, expected type, retry_at or None)
TABLE_CASES = [
    # Graph: throttling is a code in the body of a 4xx (or a 200), never a 429.
    *[(GRAPH_ERRORS, 400, graph(code), {}, RateLimited, NOW + HOUR) for code in (4, 17, 32, 613, 80001, 80009)],
    (GRAPH_ERRORS, 200, graph(4), {}, RateLimited, NOW + HOUR),
    (GRAPH_ERRORS, 400, graph(10, 2018278, "This message is sent outside of allowed window."), {}, NotAllowed, None),
    (GRAPH_ERRORS, 200, graph(10, 2018278), {}, NotAllowed, None),
    (GRAPH_ERRORS, 400, graph(551, None, "This person isn't available right now."), {}, NotAllowed, None),
    (GRAPH_ERRORS, 400, graph(200, 1545041), {}, NotAllowed, None),
    (GRAPH_ERRORS, 400, graph(190, 460, "Error validating access token"), {}, AuthError, None),
    (GRAPH_ERRORS, 403, graph(200, None, "(#200) Permissions error"), {}, AuthError, None),
    (GRAPH_ERRORS, 400, graph(100, 33, "Unsupported get request"), {}, PermanentError, None),
    (GRAPH_ERRORS, 200, graph(2, None, "An unexpected error has occurred"), {}, TransientError, None),
    (GRAPH_ERRORS, 400, {"error": "not an object"}, {}, PermanentError, None),
    (GRAPH_ERRORS, 400, [4, 17], {}, PermanentError, None),
    # Google (YouTube Data, Business Profile): a spent quota is a 403 with reason quotaExceeded.
    (GOOGLE_ERRORS, 403, google(403, "quotaExceeded"), {}, QuotaExceeded, PACIFIC_MIDNIGHT),
    (GOOGLE_ERRORS, 403, google(403, "dailyLimitExceeded"), {}, QuotaExceeded, PACIFIC_MIDNIGHT),
    (GOOGLE_ERRORS, 403, google(403, "rateLimitExceeded"), {}, RateLimited, NOW + timedelta(seconds=60)),
    (GOOGLE_ERRORS, 429, {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}, {},
     RateLimited, NOW + timedelta(seconds=60)),
    (GOOGLE_ERRORS, 403, google(403, "insufficientPermissions"), {}, AuthError, None),
    (GOOGLE_ERRORS, 403, google(403, "commentsDisabled"), {}, NotAllowed, None),
    (GOOGLE_ERRORS, 403, google(403, "forbidden"), {}, PermanentError, None),
    # Before Google approves Business Profile API access the quota is 0: its own QuotaExceeded, retried hourly.
    (GOOGLE_ERRORS, 429, {"error": {"code": 429, "message": "Quota exceeded for quota metric 'Requests'",
                                    "status": "RESOURCE_EXHAUSTED", "details": [
                                        {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                         "reason": "RATE_LIMIT_EXCEEDED",
                                         "metadata": {"quota_limit_value": "0"}}]}}, {},
     QuotaExceeded, NOW + timedelta(hours=1)),
    # X: problem JSON; a 200 with errors and no data failed.
    (X_ERRORS, 429, problem("usage-capped", 429), {}, QuotaExceeded, NOW + timedelta(days=1)),
    (X_ERRORS, 429, problem("rate-limit-exceeded", 429), {}, RateLimited, NOW + timedelta(seconds=60)),
    (X_ERRORS, 403, problem("client-forbidden", 403), {}, AuthError, None),
    (X_ERRORS, 403, {"title": "Forbidden", "type": "about:blank", "status": 403,
                     "detail": "Reply to this conversation is not allowed"}, {}, NotAllowed, None),
    (X_ERRORS, 200, {"errors": [problem("resource-not-found", 404, "Could not find tweet")]}, {}, PermanentError, None),
    (X_ERRORS, 200, {"errors": [problem("usage-capped", 429)]}, {}, QuotaExceeded, NOW + timedelta(days=1)),
    (X_ERRORS, 429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}, {}, RateLimited,
     NOW + timedelta(seconds=60)),
    # Telegram: the same {"ok": false, "error_code"} shape, whatever the HTTP status says.
    *[(telegram.ERRORS, status, {"ok": False, "error_code": 403, "description": f"Forbidden: {why}"}, {}, NotAllowed,
       None) for status in (403, 200) for why in ("bot was blocked by the user", "user is deactivated",
                                                    "bot can't initiate conversation with a user")],
    (telegram.ERRORS, 200, {"ok": False, "error_code": 401, "description": "Unauthorized"}, {}, AuthError, None),
    (telegram.ERRORS, 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
                            "parameters": {"retry_after": 7}}, {}, RateLimited, NOW + timedelta(seconds=7)),
    # "retry after 0" is now, not the 60 s fallback (the crash-safety test relies on it)
    (telegram.ERRORS, 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 0",
                            "parameters": {"retry_after": 0}}, {}, RateLimited, NOW),
    (telegram.ERRORS, 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, {},
     PermanentError, None),
    # Mastodon: a 403 is the login only when it says so.
    (mastodon.ERRORS, 403, {"error": "This action is not allowed"}, {}, NotAllowed, None),
    (mastodon.ERRORS, 403, {"error": "This action is outside the authorized scopes"}, {}, AuthError, None),
    (mastodon.ERRORS, 403, {"error": "Your login is currently disabled"}, {}, AuthError, None),
    (mastodon.ERRORS, 422, {"error": "This method requires an authenticated user"}, {}, AuthError, None),
    (mastodon.ERRORS, 422, {"error": "Validation failed: Text character limit of 500 exceeded"}, {}, PermanentError,
     None),
    # Bluesky: XRPC names; chat calls carry atproto-proxy.
    (bluesky.ERRORS, 400, {"error": "ExpiredToken", "message": "Token has expired"}, {}, bluesky.SessionExpired, None),
    (bluesky.ERRORS, 400, {"error": "InvalidToken", "message": "Bad token method"}, CHAT, bluesky.NoDmAccess, None),
    (bluesky.ERRORS, 400, {"error": "InvalidToken", "message": "Bad token method"}, {}, AuthError, None),
    (bluesky.ERRORS, 400, {"error": "InvalidRequest", "message": "recipient has disabled incoming messages"}, CHAT,
     NotAllowed, None),
    (bluesky.ERRORS, 502, {"error": "UpstreamFailure", "message": "Upstream Failure"}, CHAT, bluesky.ChatUnavailable,
     None),
]


@pytest.mark.parametrize("table, status, body, headers, expected, retry_at", TABLE_CASES)
def test_error_tables_map_each_documented_code(fake, table, status, body, headers, expected, retry_at):
    http, _ = client(fake, errors=table, retries=0)
    fake.inject(status, body)
    with pytest.raises(ConnectorError) as info:
        http.get_json("/x", headers=headers)
    assert type(info.value) is expected, str(info.value)
    assert isinstance(info.value, RateLimited) == (retry_at is not None)
    if retry_at is not None:
        assert info.value.retry_at == retry_at
    if expected is NotAllowed or expected is PermanentError:
        assert not isinstance(info.value, AuthError)  # one item's refusal never logs the account out


def test_error_message_says_what_happened_in_the_platforms_words(fake):
    http, _ = client(fake, errors=GOOGLE_ERRORS)
    fake.inject(403, google(403, "quotaExceeded", "The request cannot be completed because you have exceeded "
                                                  "your quota."))
    with pytest.raises(QuotaExceeded, match="daily quota is used up.*midnight Pacific time .08:00:00 UTC"):
        http.get_json("/x")
    http, _ = client(fake, errors=telegram.ERRORS)
    fake.inject(200, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    with pytest.raises(NotAllowed, match="bot was blocked by the user"):
        http.post_json("/send", json={})


def test_2xx_success_is_returned_and_partial_errors_are_not_failures(fake):
    for table, body in (
        (telegram.ERRORS, {"ok": True, "result": []}),
        (X_ERRORS, {"data": {"id": "1"}, "errors": [problem("resource-not-found", 404)]}),
        (GRAPH_ERRORS, {"data": [], "paging": {}}),
    ):
        http, _ = client(fake, errors=table)
        fake.inject(200, body)
        assert http.get_json("/x") == body
    http, _ = client(fake, errors=ErrorTable())  # no failures declared: a 2xx body is never read as one
    fake.inject(200, {"ok": False, "error": {"code": 4}})
    assert http.get_json("/x") == {"ok": False, "error": {"code": 4}}


def test_first_matching_rule_wins_and_hostile_bodies_never_break_the_mapping(fake):
    http, _ = client(fake, errors=GRAPH_ERRORS)
    # Window closed (subcode) beats the permission code 10 it comes with.
    fake.inject(400, graph(10, 2018278))
    with pytest.raises(NotAllowed):
        http.get_json("/x")
    for body in (b"\xff\xfe{", b"[]", b'"text"', b"null", {"error": {"code": True}}, {"error": {"code": "4"}},
                 {"error": {"error_subcode": [2018278]}}):
        fake.inject(400, body)
        with pytest.raises(PermanentError) as info:
            http.get_json("/x")
        assert type(info.value) is PermanentError
