"""Which platforms socialdesk can connect to: kind -> the module's `SPEC` (a ConnectorSpec).

Decisions: every connector module exposes one module-level `SPEC`; modules are imported lazily so the
command line does not pay for HTTP/IMAP libraries it does not use.
"""

from __future__ import annotations

import importlib

from socialdesk.connectors.base import ConnectorSpec

KINDS = ("demo", "email", "mastodon", "bluesky", "telegram")


class UnknownKindError(ValueError):
    pass


def spec(kind: str) -> ConnectorSpec:
    if kind not in KINDS:
        raise UnknownKindError(f"Unknown account kind {kind!r}; choose one of: {', '.join(KINDS)}")
    return importlib.import_module(f"socialdesk.connectors.{kind}").SPEC


def all_specs() -> list[ConnectorSpec]:
    return [spec(kind) for kind in KINDS]


def secret_names(kind: str) -> tuple[str, ...]:
    """Every keyring name an account of `kind` may have stored (its spec's `secret_names`); for a kind
    socialdesk no longer knows, every name any platform uses, so removing such an account still
    leaves nothing behind."""
    if kind in KINDS:
        return spec(kind).secret_names
    return tuple(dict.fromkeys(name for s in all_specs() for name in s.secret_names))
