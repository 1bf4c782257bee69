"""requests and urllib3, wired to the request deadline: the part of connectors/http.py that loads them.

Decisions: importing requests and urllib3 costs about 0.1 s, and every connector module imports
connectors/http.py (its Http, ErrorTable and helpers) at import time, which the window does to read a
platform's traits (badge, limits) before its first paint. So the classes that must subclass
requests' and urllib3's live here, and `Http` imports this module when the first one is built, on a
sync worker, not on the way to the first paint.

urllib3 picks the connection class through the pool manager's `pool_classes_by_scheme`; each
connection's socket is handed to connectors/deadline.py as soon as it exists (before TLS, so a
trickled handshake is bounded too) and again for every request on a kept-alive connection.
"""

from __future__ import annotations

import socket
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from socialdesk.connectors import deadline as deadlines


def new_session() -> requests.Session:
    """A Session whose connections are watched by the running request's deadline."""
    session = requests.Session()
    session.mount("https://", _DeadlineAdapter())
    session.mount("http://", _DeadlineAdapter())
    return session


class _WatchedHTTPConnection(HTTPConnection):
    """urllib3's connection, with its socket watched by the running request's deadline."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        deadlines.watch(sock)  # before TLS: a trickled handshake is bounded too
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadlines.watch(self.sock)  # a kept-alive connection opened by an earlier request
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        deadlines.watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadlines.watch(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections are watched by connectors/deadline.py.

    urllib3 picks the connection class through the pool manager's `pool_classes_by_scheme`; SOCKS
    proxies keep their own pools (and only the per-read timeouts).
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager
