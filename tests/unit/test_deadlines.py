"""Overall deadlines (connectors/deadline.py): a server that trickles one byte per second cannot hold an
HTTP request (issue 12 item 8; IMAP and SMTP: test_email_deadlines.py).

The trickle server (tests/trickle.py) keeps every connection moving, so no per-read socket timeout
fires; only the overall deadline can end the operation. Deadlines are injected small (1.5 s); the only
wall-clock assertion is a generous bound far below the trickle server's own lifetime.
"""

from __future__ import annotations

import socket

import pytest

from socialdesk.connectors.base import TransientError
from socialdesk.connectors.deadline import DeadlineExceeded, within
from socialdesk.connectors.http import Http
from tests.trickle import BOUND, HTTP_HEAD, LIFETIME, TrickleServer, timed

DEADLINE = 1.5


# --- HTTP ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("trickled", ["body", "headers"])
def test_http_request_against_a_trickling_server_ends_at_the_deadline(trickled):
    server = TrickleServer(HTTP_HEAD, whole_greeting=trickled == "body", lifetime=LIFETIME)
    with server.running():
        http = Http("Test", server.url, deadline=DEADLINE, sleep=lambda s: None)
        error, elapsed = timed(lambda: http.get_json("/api/v1/notifications"))
        assert isinstance(error, DeadlineExceeded) and isinstance(error, TransientError)
        assert "too slow" in str(error) and "127.0.0.1" in str(error)
        assert elapsed < BOUND
        assert server.closed_by_client.wait(5)  # the socket was really shut, not left reading
        assert server.connections == 1  # no retry after the deadline fired


def test_a_request_that_finishes_in_time_is_untouched_and_keeps_the_connection():
    from tests.unit.test_http import EchoFake

    fake = EchoFake()
    with fake.running():
        http = Http("Test", fake.url, deadline=DEADLINE)
        for _ in range(3):  # one kept-alive connection, watched anew by each request's deadline
            assert http.get_json("/ok")["ok"] is True
        assert len(fake.requests) == 3


def test_deadline_scope_leaves_a_block_that_ends_normally_alone():
    server = TrickleServer(HTTP_HEAD, lifetime=LIFETIME)
    with server.running():
        with within(0.5, "the test server") as scope:
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            scope.watch(sock)
            deadline_hit = False
            try:
                while True:
                    if not sock.recv(1):
                        deadline_hit = True
                        break
            except OSError:
                deadline_hit = True
            sock.close()
        assert deadline_hit and scope.fired  # stopped, yet the block chose to carry on
