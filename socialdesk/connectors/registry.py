"""Which platforms socialdesk can connect to: kind -> the module's `SPEC` (a ConnectorSpec).

Decisions: every connector module exposes one module-level `SPEC`; `MODULES` is the one table of
them (kind -> module), and every list of kinds is derived from it (`kinds()`), so adding a platform is
one line here plus its module. Modules are imported lazily so the command line does not pay for
HTTP/IMAP libraries it does not use.
"""

from __future__ import annotations

import importlib

from socialdesk.connectors.base import ConnectorSpec

# kind -> the module that exposes its SPEC (SPEC.kind == kind, tests/unit/test_traits.py); in the order
# the "Add account" dialog lists them.
MODULES: dict[str, str] = {
    "demo": "socialdesk.connectors.demo",
    "email": "socialdesk.connectors.email",
    "mastodon": "socialdesk.connectors.mastodon",
    "bluesky": "socialdesk.connectors.bluesky",
    "telegram": "socialdesk.connectors.telegram",
    "facebook": "socialdesk.connectors.facebook",
    "instagram": "socialdesk.connectors.instagram",
    "google": "socialdesk.connectors.google_reviews",
    "youtube": "socialdesk.connectors.youtube",
    "x": "socialdesk.connectors.x",
}


def kinds() -> tuple[str, ...]:
    """Every account kind socialdesk knows, in the dialog's order."""
    return tuple(MODULES)


class UnknownKindError(ValueError):
    pass


def spec(kind: str) -> ConnectorSpec:
    if kind not in MODULES:
        raise UnknownKindError(f"Unknown account kind {kind!r}; choose one of: {', '.join(MODULES)}")
    return importlib.import_module(MODULES[kind]).SPEC


def all_specs() -> list[ConnectorSpec]:
    return [spec(kind) for kind in MODULES]


def secret_names(kind: str) -> tuple[str, ...]:
    """Every keyring name an account of `kind` may have stored (its spec's `secret_names`); for a kind
    socialdesk no longer knows, every name any platform uses, so removing such an account still
    leaves nothing behind."""
    if kind in MODULES:
        return spec(kind).secret_names
    return tuple(dict.fromkeys(name for s in all_specs() for name in s.secret_names))
