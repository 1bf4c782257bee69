"""The shared OAuth layer (connectors/oauth.py) and Mastodon's sign-in on it, against local fakes only.

The browser is simulated by HTTP GETs: to the fake instance's authorize page (which plays the owner
pressing "Authorize" and redirects) and from there to the loopback listener.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from socialdesk.connectors import registry
from socialdesk.connectors.base import AuthError, MemorySecrets, PermanentError
from socialdesk.connectors.http import Http
from socialdesk.connectors.mastodon import SPEC, MastodonConnector
from socialdesk.connectors.oauth import (
    OOB,
    TOKEN_ENTRY,
    BearerAuth,
    LoginCancelled,
    LoginDenied,
    LoginTimeout,
    LoopbackListener,
    OAuthClient,
    Tokens,
    account_names,
    check_answer,
    parse_pasted,
    pkce_challenge,
    watch_unauthorized,
)
from socialdesk.secrets import KeyringSecrets, forget_account
from tests.fakes import FakeServer, Reply, Request
from tests.fakes.mastodon import MastodonFake

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def fake():
    server = MastodonFake(lifetime=60)
    with server.running():
        yield server


def port_is_free(port: int) -> bool:
    """Nothing listens there any more and a new server could bind it (SO_REUSEADDR as every server
    sets it: the connection the listener just answered may linger in TIME_WAIT)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
        return True


def browse(url: str) -> requests.Response:
    """The browser: follow the instance's redirect to wherever it leads (the loopback listener)."""
    return requests.get(url, timeout=10)


def start_mastodon(fake: MastodonFake, **kwargs):
    flow = SPEC.login_flow({"instance": fake.url})
    return flow, flow.start(**kwargs)


# --- PKCE, state, pasted answers --------------------------------------------------------------------


def test_pkce_challenge_is_rfc7636_s256():
    # RFC 7636 appendix B.
    assert pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_every_flow_sends_s256_challenge_and_a_fresh_state(fake):
    urls = []
    for _ in range(2):
        flow, request = start_mastodon(fake)
        query = parse_qs(urlsplit(request.url).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["code_challenge"] == [pkce_challenge(flow.verifier)]
        assert query["state"] == [flow.state] and len(flow.state) >= 32
        urls.append(request.url)
        flow.cancel()
    assert parse_qs(urlsplit(urls[0]).query)["state"] != parse_qs(urlsplit(urls[1]).query)["state"]


def test_pasted_code_or_whole_address_are_both_read():
    assert parse_pasted("  abc123\n") == {"code": "abc123"}
    assert parse_pasted("http://127.0.0.1:5000/callback?code=abc&state=xyz") == {"code": "abc", "state": "xyz"}
    assert parse_pasted("https://example/cb#code=abc&state=xyz") == {"code": "abc", "state": "xyz"}
    assert parse_pasted("code=abc&state=xyz") == {"code": "abc", "state": "xyz"}
    with pytest.raises(PermanentError, match="Paste the code"):
        parse_pasted("   ")


@pytest.mark.parametrize("params, message", [
    ({"code": "c", "state": "other"}, "state mismatch"),
    ({"error": "access_denied", "state": "other"}, "state mismatch"),  # a forged denial cannot end it
    ({"code": "c"}, "no state to check"),
    ({"state": "S"}, "has no sign-in code"),
    ({"state": "S", "error": "access_denied"}, "You did not allow socialdesk"),
    ({"state": "S", "error": "<script>alert(1)</script>"}, r"refused the sign-in \(unknown error\)"),
    ({"state": "S", "code": "has spaces in it"}, "does not look like a sign-in code"),
])
def test_answers_are_checked_before_use(params, message):
    with pytest.raises(PermanentError, match=message):
        check_answer(params, "S", state_required=True, service="Mastodon")
    assert check_answer({"code": "c", "state": "S"}, "S", state_required=True, service="Mastodon") == "c"
    # A bare code from an out-of-band page has no state; PKCE binds it instead.
    assert check_answer({"code": "c"}, "S", state_required=False, service="Mastodon") == "c"


@pytest.mark.parametrize("text", ["http://127.0.0.1/callback?code=%ff%fe&state=S", "x" * 9000,
                                  "?" + "&".join(f"k{i}=v" for i in range(100))])
def test_hostile_pasted_answers_get_a_clear_refusal(text):
    with pytest.raises(PermanentError) as info:
        parse_pasted(text)
    assert "Traceback" not in str(info.value) and len(str(info.value)) < 200


# --- the loopback listener --------------------------------------------------------------------------


def test_listener_takes_our_callback_answers_plain_text_and_frees_the_port():
    listener = LoopbackListener("S", timeout=30).start()
    port = listener.port
    assert listener.redirect_uri == f"http://127.0.0.1:{port}/callback"
    assert not port_is_free(port)
    answer = requests.get(f"{listener.redirect_uri}?code=abc&state=S", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "You can close this tab" in answer.text and "abc" not in answer.text
    assert listener.wait(5) == {"code": "abc", "state": "S"}
    assert port_is_free(port)


def test_listener_refuses_hostile_requests_without_echo_and_keeps_waiting():
    listener = LoopbackListener("S", timeout=30).start()
    base = f"http://127.0.0.1:{listener.port}"
    hostile = [
        ("/callback?code=<b>x</b>&state=wrong", 400),  # somebody else's state
        ("/callback?code=x", 400),  # no state
        ("/callback?code=%ff%fe%fd&state=S", 400),  # not UTF-8
        ("/callback?state=S&pad=" + "A" * 9000, 400),  # far too long
        ("/favicon.ico", 404),
        ("/callback/../etc?code=x&state=S", 404),
    ]
    for path, status in hostile:
        answer = requests.get(base + path, timeout=5)
        assert answer.status_code == status, path
        assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert "<b>" not in answer.text and "wrong" not in answer.text and "etc" not in answer.text
    # A request line beyond http.server's 64 KiB limit: a fixed refusal, no echo.
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(b"GET /callback?" + b"B" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.0 414") and b"BBBB" not in reply
    assert requests.post(base + "/callback?code=x&state=S", timeout=5).status_code == 501
    # Still waiting: the real callback arrives afterwards and ends it.
    requests.get(base + "/callback?code=real&state=S", timeout=5)
    assert listener.wait(5)["code"] == "real"


def test_listener_cancel_and_timeout_free_the_port():
    listener = LoopbackListener("S", timeout=30).start()
    port = listener.port
    listener.cancel()
    with pytest.raises(LoginCancelled):
        listener.wait(5)
    assert port_is_free(port)

    listener = LoopbackListener("S", timeout=30).start()
    port = listener.port
    listener.expire()  # what its timer does when the timeout passes
    with pytest.raises(LoginTimeout, match="start the sign-in again"):
        listener.wait(5)
    assert port_is_free(port)


def test_listener_stops_by_itself_at_its_timeout():
    listener = LoopbackListener("S", timeout=0.05).start()
    with pytest.raises(LoginTimeout):
        listener.wait(30)  # returns as soon as the listener's own timer fires
    assert port_is_free(listener.port)


# --- Mastodon's sign-in on the layer ----------------------------------------------------------------


def test_mastodon_loopback_sign_in(fake):
    opened: list[str] = []
    flow, request = start_mastodon(fake, browser=opened.append)
    assert request.mode == "loopback" and opened == [request.url]
    query = parse_qs(urlsplit(request.url).query)
    assert query["redirect_uri"] == [f"http://127.0.0.1:{flow.listener.port}/callback"]
    # One registration serves both ways back: oob and this attempt's exact loopback address.
    app = [r for r in fake.requests if r.path == "/api/v1/apps"][0].form()
    assert app["redirect_uris"].split("\n") == [OOB, query["redirect_uri"][0]]
    port = flow.listener.port
    page = browse(request.url)
    assert page.status_code == 200 and "You can close this tab" in page.text
    accounts = flow.finish(flow.wait(5))
    assert port_is_free(port)
    assert [a.label for a in accounts] == ["The Shop (@shop@127.0.0.1)"]
    account = accounts[0]
    assert set(account.secrets) == {TOKEN_ENTRY, "client_id", "client_secret"}
    tokens = Tokens.from_json(account.secrets[TOKEN_ENTRY])
    assert tokens is not None and tokens.access_token in fake.tokens and tokens.expires_at is None
    assert account.info.text_limit == 500
    # The token works with the connector, read from the one JSON entry.
    assert MastodonConnector({"instance": fake.url}, MemorySecrets(dict(account.secrets))).check().handle


def test_mastodon_paste_mode_takes_the_bare_oob_code(fake):
    flow, request = start_mastodon(fake, loopback=False)
    assert request.mode == "paste" and flow.listener is None
    assert parse_qs(urlsplit(request.url).query)["redirect_uri"] == [OOB]
    page = browse(request.url)  # the native page shows the code
    code = re.search(r'value="([0-9a-f]+)"', page.text).group(1)
    assert flow.finish(parse_pasted(f"  {code}\n"))[0].info.display_name == "The Shop"


def test_loopback_mode_takes_the_pasted_redirect_address_and_frees_the_port(fake):
    """A headless machine: the browser elsewhere cannot reach 127.0.0.1 here; the owner pastes the
    address it ended on."""
    flow, request = start_mastodon(fake)
    port = flow.listener.port
    redirect = requests.get(request.url, allow_redirects=False, timeout=5).headers["Location"]
    accounts = flow.finish(parse_pasted(redirect))
    assert accounts[0].label.startswith("The Shop") and port_is_free(port)


def test_pasted_address_with_another_state_is_refused(fake):
    flow, request = start_mastodon(fake)
    redirect = requests.get(request.url, allow_redirects=False, timeout=5).headers["Location"]
    forged = re.sub(r"state=[^&]+", "state=forged", redirect)
    with pytest.raises(PermanentError, match="state mismatch"):
        flow.finish(parse_pasted(forged))
    assert not [r for r in fake.requests if r.path == "/oauth/token"]  # the code was never used
    flow.cancel()


def test_the_token_endpoint_checks_the_pkce_verifier(fake):
    flow, request = start_mastodon(fake)
    browse(request.url)
    params = flow.wait(5)
    flow.verifier = "a-different-verifier-of-sufficient-length-0123456789abcdef"
    with pytest.raises(PermanentError, match="did not accept that code"):
        flow.finish(params)
    token_call = [r for r in fake.requests if r.path == "/oauth/token"][0].form()
    assert token_call["code_verifier"] == flow.verifier and token_call["redirect_uri"].startswith("http://127.0.0.1:")


def test_owner_declining_in_the_browser_gives_a_clear_message(fake):
    fake.deny_next = True
    flow, request = start_mastodon(fake)
    page = browse(request.url)
    assert page.status_code == 200 and "sign-in has ended" in page.text
    with pytest.raises(LoginDenied, match="You did not allow socialdesk on Mastodon"):
        flow.finish(flow.wait(5))


def test_instance_refusing_loopback_falls_back_to_the_oob_code(fake):
    fake.refuse_loopback = True
    flow, request = start_mastodon(fake)
    assert request.mode == "paste" and flow.listener is None
    assert parse_qs(urlsplit(request.url).query)["redirect_uri"] == [OOB]


def test_abandoned_sign_in_stores_nothing_and_frees_the_port(fake, memory_keyring):
    flow, request = start_mastodon(fake)
    port = flow.listener.port
    flow.cancel()
    with pytest.raises(LoginCancelled):
        flow.wait(5)
    assert port_is_free(port) and memory_keyring.values == {}


# --- tokens, refresh and the account lock -----------------------------------------------------------


class TokenServer(FakeServer):
    """A token endpoint with rotating refresh tokens, and one API call accepting the current token."""

    def __init__(self) -> None:
        super().__init__(lifetime=60)
        self.access, self.refresh = "access-0", "refresh-0"
        self.refreshes = 0
        self.api_calls = 0
        self.issue = True  # False: refreshing "works" but the new token is refused as well
        self.generation = 0

    def handle(self, req: Request) -> Reply:
        with self.lock:
            if req.path == "/token":
                form = req.form()
                self.refreshes += 1
                if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh \
                        or form.get("client_id") != "app":
                    return Reply(400, {"error": "invalid_grant"})
                self.generation += 1
                self.refresh = f"refresh-{self.generation}"  # rotation: the old one is dead now
                new_access = f"access-{self.generation}"
                if self.issue:
                    self.access = new_access
                return Reply(200, {"access_token": new_access, "refresh_token": self.refresh, "expires_in": 3600,
                                   "token_type": "bearer"})
            if req.path == "/api/me":
                self.api_calls += 1
                if req.bearer() != self.access:
                    return Reply(401, {"error": "invalid_token"})
                return Reply(200, {"me": "shop"})
        return Reply(404, {})


@pytest.fixture
def token_server():
    server = TokenServer()
    with server.running():
        yield server


class Clock:
    def __init__(self, now: datetime):
        self.value = now

    def __call__(self) -> datetime:
        return self.value


def auth_for(server: TokenServer, secrets, clock) -> BearerAuth:
    http = watch_unauthorized(Http("Example", server.url, now=clock))
    client = OAuthClient(service="Example", authorize_url=server.url + "/authorize", token_url=server.url + "/token",
                         client_id="app")
    return BearerAuth(secrets, http, service="Example", client=lambda: client, now=clock)


def store(secrets, access: str, refresh: str, expires_at: datetime | None) -> None:
    secrets.set(TOKEN_ENTRY, Tokens(access, refresh, expires_at).to_json())


class RecordingSecrets(MemorySecrets):
    def __init__(self, values=None):
        super().__init__(values)
        self.writes: list[str] = []

    def set(self, name: str, value: str) -> None:
        self.writes.append(name)
        super().set(name, value)


def test_twenty_threads_racing_an_expiry_refresh_exactly_once(token_server, memory_keyring):
    """Poll worker, outbox and rebuilt connectors: each its own BearerAuth over the same account."""
    clock = Clock(NOW)
    store(KeyringSecrets("default", "X shop"), "access-0", "refresh-0", NOW - timedelta(seconds=1))
    barrier = threading.Barrier(20)
    got: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        auth = auth_for(token_server, KeyringSecrets("default", "X shop"), clock)
        barrier.wait()
        try:
            got.append(auth.call(lambda headers: Http("Example", token_server.url).get_json(
                "/api/me", headers=headers)) and auth.token())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert token_server.refreshes == 1
    assert got == ["access-1"] * 20
    stored = json.loads(memory_keyring.values[("socialdesk", "default/X shop/" + TOKEN_ENTRY)])
    assert stored["refresh_token"] == "refresh-1" and stored["access_token"] == "access-1"
    assert datetime.fromisoformat(stored["expires_at"]) == NOW + timedelta(hours=1)


def test_refresh_happens_shortly_before_expiry_and_is_one_write(token_server):
    clock = Clock(NOW)
    secrets = RecordingSecrets()
    store(secrets, "access-0", "refresh-0", NOW + timedelta(minutes=10))
    secrets.writes.clear()
    auth = auth_for(token_server, secrets, clock)
    assert auth.token() == "access-0" and token_server.refreshes == 0
    clock.value = NOW + timedelta(minutes=9)  # one minute left: inside the margin
    assert auth.token() == "access-1" and token_server.refreshes == 1
    # Access and rotated refresh token were stored together, in one write of the one entry.
    assert secrets.writes == [TOKEN_ENTRY]
    assert Tokens.from_json(secrets.get(TOKEN_ENTRY)).refresh_token == "refresh-1"


def test_a_401_refreshes_once_and_retries_once(token_server):
    clock = Clock(NOW)
    secrets = MemorySecrets()
    store(secrets, "revoked", "refresh-0", NOW + timedelta(hours=1))  # not due, but the server says no
    auth = auth_for(token_server, secrets, clock)
    http = watch_unauthorized(Http("Example", token_server.url))
    assert auth.call(lambda h: http.get_json("/api/me", headers=h)) == {"me": "shop"}
    assert (token_server.api_calls, token_server.refreshes) == (2, 1)

    token_server.issue = False  # the refreshed token is refused too: no loop, the owner must act
    store(secrets, "revoked", token_server.refresh, NOW + timedelta(hours=1))
    with pytest.raises(AuthError):
        auth.call(lambda h: http.get_json("/api/me", headers=h))
    assert (token_server.api_calls, token_server.refreshes) == (4, 2)


def test_a_401_without_a_refresh_token_asks_the_owner(token_server):
    secrets = MemorySecrets()
    store(secrets, "revoked", "", None)
    auth = auth_for(token_server, secrets, Clock(NOW))
    http = watch_unauthorized(Http("Example", token_server.url))
    with pytest.raises(AuthError, match="log in again"):
        auth.call(lambda h: http.get_json("/api/me", headers=h))
    assert token_server.refreshes == 0 and token_server.api_calls == 1


def test_a_refused_refresh_is_an_auth_error_without_the_secret(token_server):
    secrets = MemorySecrets()
    store(secrets, "access-0", "stolen-refresh-token-value", NOW - timedelta(minutes=1))
    with pytest.raises(AuthError) as info:
        auth_for(token_server, secrets, Clock(NOW)).token()
    assert "invalid_grant" in str(info.value) and "stolen" not in str(info.value)


def test_unreadable_token_entry_means_signing_in_again():
    assert Tokens.from_json("{not json") is None
    assert Tokens.from_json(json.dumps({"access_token": 5})) is None
    assert Tokens.from_json(None) is None
    auth = BearerAuth(MemorySecrets({TOKEN_ENTRY: "{garbage"}), Http("X", "https://x.example"), service="X")
    with pytest.raises(AuthError, match="not logged in"):
        auth.token()


# --- secrets the platforms declare ---------------------------------------------------------------


def test_every_platform_declares_the_secret_names_it_stores():
    for spec in registry.all_specs():
        assert spec.secret_name in spec.secret_names, spec.kind
    assert {TOKEN_ENTRY, "client_id", "client_secret", "pkce_verifier"} <= set(registry.secret_names("mastodon"))
    assert set(registry.secret_names("gone-platform")) >= set(registry.secret_names("mastodon"))


def test_removing_an_account_removes_every_secret_it_ever_stored(memory_keyring):
    mine = KeyringSecrets("default", "Masto")
    for name in registry.secret_names("mastodon"):  # today's and older versions' names alike
        mine.set(name, "x")
    KeyringSecrets("default", "Keep").set("token", "k")
    forget_account("default", "Masto", registry.secret_names("mastodon"))
    assert list(memory_keyring.values) == [("socialdesk", "default/Keep/token")]


def test_several_accounts_get_names_told_apart():
    class A:
        def __init__(self, label):
            self.label = label

    assert account_names("Shop", [A("Bakery")]) == ["Shop"]
    assert account_names("Shop", [A("Bakery Page"), A("Café/Bar")]) == ["Shop – Bakery Page", "Shop – Café-Bar"]


def test_cli_picks_among_the_accounts_of_one_sign_in(monkeypatch, capsys):
    from socialdesk import cli

    class A:
        def __init__(self, label):
            self.label = label

    accounts = [A("Bakery Page"), A("Bakery Instagram"), A("Other Page")]
    assert cli._pick(accounts, "2,3") == accounts[1:]
    assert cli._pick(accounts, " all ") == accounts
    assert "  2. Bakery Instagram" in capsys.readouterr().out
    for bad in ("4", "0", "two", ","):
        with pytest.raises(cli.UsageError):
            cli._pick(accounts, bad)
    monkeypatch.setattr(cli.sys.stdin, "isatty", lambda: False)
    with pytest.raises(cli.UsageError, match="--pick"):
        cli._pick(accounts, None)  # a script must say which; nothing is guessed
    assert cli._pick(accounts[:1], None) == accounts[:1]  # one account: nothing to pick
