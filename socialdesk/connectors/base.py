"""The connector contract: what every platform module provides and the errors it may raise.

Decisions:
- Connectors are plain synchronous Python (HTTP/IMAP/SMTP), Qt-free, and know nothing about the
  database. They turn platform payloads into `InboundItem`s and take text to send. The sync engine
  (core/sync.py) runs them on worker threads and ingest (core/ingest.py) stores what they return.
- `fetch(cursor)` returns the new items *and* the cursor that covers them; the cursor is committed
  by ingest in the same transaction as the items, so a crash re-fetches and dedupes.
- Errors are typed so the engine can decide without parsing messages: AuthError means only "this
  account's credentials need the owner" and stops polling and sending for the account until the owner
  re-logs in; RateLimited carries when to try again (QuotaExceeded: a spent daily or monthly quota,
  until it renews); TransientError is retried with backoff; PermanentError means "this request/item is
  bad", never retried; NotAllowed (a PermanentError) means "this one item cannot be answered here",
  the account is fine. Web connectors say which platform answer is which in an error table
  (connectors/http.py ErrorTable), never by a status code alone.
- Two optional connector members, looked up by the sync engine (optional, so they are not in the
  `Connector` Protocol): `after_stored(cursor)` is called once the items of a fetch and that cursor
  are committed, for platform side effects that must not happen for items we might still lose
  (Bluesky's `updateSeen` clears the official app's unread badge); a failure there is logged, never an
  account error, since the items are safe. `notice` (str) is an owner-readable note about a part of
  the account that does not work now while the rest does (Bluesky DMs while the chat service is down;
  a Mastodon login that predates a scope we now ask for); after each successful fetch the engine shows
  it as the account's note with state "ok" ("" clears it).
- Connectors receive an `AccountSecrets` (the keyring scoped to their account); they never log or
  raise a secret (messages in errors are safe to show the owner).
- One bad item never fails a batch (`convert_items`, the one place this rule is written): every platform
  entry is converted on its own; an exception other than the fetch's own trouble (AuthError,
  RateLimited, TransientError: the request failed, not the item, so the batch is retried) turns into a
  logged skip, or into the connector's "could not be read completely" item when it can build one
  (e-mail stores what it could read). The cursor still moves past the entry, so it is never re-fetched
  for ever. Only the exception's type is logged: its message may quote hostile input or a secret.
  Ingest validates stored items with the same helper.
- Items that change: a connector delivers an edited item again under its id with `edited_at` (the
  platform's edit time) and a deleted one with `deleted=True`; ingest keeps every version and marks the
  deletion (core/ingest.py says when a delivery counts as an edit). A platform that limits how long a
  conversation may be answered stamps each item with `reply_window_ends_at` and declares what still
  works afterwards in its traits' `reply_window` (traits.ReplyWindowRule); replies sent after the
  window get `ReplyTarget.late` so the connector sends the platform's tagged late reply.
- Posts the platform publishes by itself at a given time (capability "schedule_status", issue 18): the
  connector then has `schedule_status(text, at, idempotency_key=...) -> ScheduledPost`,
  `cancel_scheduled(scheduled_id) -> bool` (False: the platform no longer has it, published or deleted)
  and `list_scheduled() -> list[ScheduledPost]`. They are optional members (not in the `Connector`
  Protocol), like `after_stored`; core/automation/platform_schedule.py is their one caller. A refused
  schedule (too soon, the platform's limits) is a PermanentError with the platform's reason. Removing
  an account cancels the posts socialdesk scheduled on it first (core/coverage.before_removal); when that
  fails, the owner is told what stays and where to delete it: ConnectorSpec.scheduled_posts_where.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping, Protocol, TypeVar, runtime_checkable

# Platform facts (traits.py) that connectors also find here, with the other types they use: the reply-window
# rule, and the text limit an account's check learned.
from socialdesk.connectors.traits import (  # noqa: F401
    LEARNED_TEXT_LIMIT,
    PlatformTraits,
    ReplyWindowRule,
    valid_text_limit,
)

log = logging.getLogger(__name__)

# Conversation kinds, as stored in Conversation.kind.
KINDS = ("dm", "comment", "mention", "review", "email")

# Capabilities a connector may declare. "delete_reply": it takes back our published reply to a conversation
# (`delete_reply(conversation_external_id)`, core/published_reply.py), so the window can offer it from the spec.
CAPABILITIES = ("dm", "comment", "mention", "review", "email", "post_status", "schedule_status", "stream",
                "delete_reply")


class ConnectorError(Exception):
    """Base of every error a connector raises. `str(e)` is safe to show the owner."""


class AuthError(ConnectorError):
    """This account's credentials need the owner: missing, wrong, revoked, expired beyond refresh, or
    lacking a permission the login must grant. Never for one item's refusal (that is NotAllowed)."""


class RateLimited(ConnectorError):
    """The platform asked us to slow down; do not call again before `retry_at` (UTC)."""

    def __init__(self, message: str, retry_at: datetime):
        super().__init__(message)
        self.retry_at = retry_at


class QuotaExceeded(RateLimited):
    """The platform's quota for this app or account is spent (YouTube's daily units, X's monthly usage
    cap): nothing more until `retry_at`, when it renews. A RateLimited, so everything that waits for a
    rate limit waits for it; the message says it is the quota."""


class TransientError(ConnectorError):
    """Network trouble, timeouts, 5xx: retry later with backoff and jitter."""


class PermanentError(ConnectorError):
    """This request or item is bad (validation, not found, policy); retrying will not help."""


class NotAllowed(PermanentError):
    """This one item cannot be answered here, by the platform's rule: Messenger's 24 h window closed, the
    person blocked the bot or takes no DMs from us, X lets a reply out only when the account was
    summoned. The account is fine; the send fails for good and the conversation returns to the queue."""


class SkipItem(Exception):
    """Raised by a converter or validator to skip one entry; `str(e)` is our own words, safe to log."""


# The fetch's own trouble: the request failed, not the item, so the whole batch is retried.
_BATCH_ERRORS = (AuthError, RateLimited, TransientError)
_Entry = TypeVar("_Entry")
_Out = TypeVar("_Out")


def convert_items(
    entries: Iterable[_Entry],
    convert: Callable[[_Entry], _Out | None],
    *,
    what: str,
    ident: Callable[[_Entry], object],
    unreadable: Callable[[_Entry], _Out | None] | None = None,
    skipped: list[str] | None = None,
) -> list[_Out]:
    """`convert` applied to each entry; None results are dropped. One entry that raises never fails
    the batch: it becomes `unreadable(entry)` when given (what could be read, visibly marked), else it
    is skipped with a warning naming `what` and its id (and "id: reason" appended to `skipped`).
    AuthError, RateLimited and TransientError propagate: they are the fetch's trouble, not the item's."""
    out: list[_Out] = []
    for entry in entries:
        try:
            result = convert(entry)
        except _BATCH_ERRORS:
            raise
        except SkipItem as exc:
            reason = str(exc)
        except Exception as exc:  # noqa: BLE001 - hostile input may break any parser in any way
            reason = f"unreadable ({type(exc).__name__})"
        else:
            if result is not None:
                out.append(result)
            continue
        label = _label(ident, entry)
        if unreadable is not None:
            try:
                fallback = unreadable(entry)
            except Exception as exc:  # noqa: BLE001 - the fallback is best effort; the entry is skipped
                reason = f"{reason}; fallback failed ({type(exc).__name__})"
                fallback = None
            if fallback is not None:
                log.warning("%s %s could not be read completely: %s; stored with what could be read",
                            what, label, reason)
                out.append(fallback)
                continue
        log.warning("Skipping %s %s: %s", what, label, reason)
        if skipped is not None:
            skipped.append(f"{label}: {reason}")
    return out


def _label(ident: Callable[[Any], object], entry: Any) -> str:
    try:
        value = ident(entry)
        label = value[:80] if isinstance(value, str) else repr(value)[:80]
    except Exception:  # noqa: BLE001 - an entry too broken to name is still skipped
        label = "?"
    # A platform's id is hostile text too: no control characters in the log line.
    return "".join(ch if ch.isprintable() else "?" for ch in label)


@dataclass(frozen=True)
class Author:
    external_id: str
    handle: str = ""
    display_name: str = ""
    profile_url: str = ""


@dataclass(frozen=True)
class InboundItem:
    """One message as a platform delivered it, already converted to plain text."""

    external_id: str  # unique per account
    conversation_external_id: str  # messages with the same value form one conversation
    kind: str  # one of KINDS
    public: bool
    author: Author
    text: str  # plain text, never HTML
    created_at: datetime  # timezone-aware UTC
    permalink: str = ""
    subject: str = ""
    rating: int | None = None  # 1..5 for reviews
    in_reply_to: str = ""  # external id of the parent message, when the platform says
    outbound: bool = False  # True for messages the business itself sent (seen on the platform)
    meta: dict[str, Any] = field(default_factory=dict)  # small JSON-able extras (headers, ids)
    # When the platform says this version was made by an edit (Google's updateTime, YouTube's updatedAt,
    # Mastodon's edited_at), or when the item was deleted. A known id delivered again is stored as a new
    # revision only with an edited_at newer than the stored version's and a different text or rating
    # (core/ingest.py), so a re-delivery, or the same version rendered anew, is never taken for an edit.
    edited_at: datetime | None = None
    deleted: bool = False  # the platform reports this (known) item deleted; text may then be empty
    # Until when the platform accepts an ordinary reply after this message (Messenger and Instagram DMs:
    # 24 h after the person's last message); None when it sets no limit. See ReplyWindowRule.
    reply_window_ends_at: datetime | None = None


@dataclass(frozen=True)
class OutboundResult:
    external_id: str  # the platform's id for what we sent
    permalink: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduledPost:
    """A post the platform holds to publish at `at` (capability "schedule_status")."""

    scheduled_id: str  # the platform's id of the scheduled post (what cancelling needs)
    at: datetime  # when the platform publishes it (UTC)
    text: str = ""
    idempotency_key: str = ""  # the key it was scheduled with, where the platform keeps it
    # True when the platform published it at once instead of holding it (its time had passed).
    published: bool = False


@dataclass(frozen=True)
class AccountInfo:
    """What `check()` learned: who we are logged in as, and anything the owner should know."""

    display_name: str
    handle: str = ""
    notes: tuple[str, ...] = ()  # e.g. "this app password has no DM access"
    # The account's own length limit for what we send, when the platform says (a Mastodon instance's
    # max_characters); kept in the account's settings by `with_learned` so the composer counts to it.
    text_limit: int | None = None


def with_learned(settings: dict, info: AccountInfo) -> dict:
    """The account's settings plus what `check()` learned that the app keeps (the text limit)."""
    out = {k: v for k, v in settings.items() if k != LEARNED_TEXT_LIMIT}
    limit = valid_text_limit(info.text_limit)
    if limit is not None:
        out[LEARNED_TEXT_LIMIT] = limit
    return out


@dataclass(frozen=True)
class ReplyTarget:
    """What a connector needs to answer a conversation; built by core from stored rows."""

    conversation_external_id: str
    kind: str
    public: bool
    subject: str = ""
    # The last inbound message we answer: its external id and meta (headers, visibility, cids, ...).
    parent_external_id: str = ""
    parent_meta: dict[str, Any] = field(default_factory=dict)
    # The customer: external id and handle on this platform.
    recipient_external_id: str = ""
    recipient_handle: str = ""
    recipient_name: str = ""
    auto_reply: bool = False  # True for automatic off-hours replies (e.g. Auto-Submitted header)
    # The conversation's reply window has closed: send the platform's tagged late reply
    # (ReplyWindowRule.late_reply_how) instead of an ordinary one.
    late: bool = False
    # The platform's other way to answer chosen by the owner (traits.ReplyMode.key, e.g. "private"); "" ordinary.
    mode: str = ""


@runtime_checkable
class Connector(Protocol):
    kind: str
    capabilities: frozenset[str]

    def fetch(self, cursor: dict | None) -> tuple[list[InboundItem], dict]: ...

    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult: ...

    def post_status(self, text: str, *, idempotency_key: str) -> OutboundResult: ...

    def check(self) -> AccountInfo: ...

    def stream(
        self,
        cursor: dict | None,
        on_items: Callable[[list[InboundItem], dict], None],
        stop_event: threading.Event,
    ) -> None:
        """Block delivering batches (items, cursor covering them) until stop_event is set.

        Only for connectors with the "stream" capability. Raise a ConnectorError to make the engine
        back off and fall back to `fetch` before streaming again.
        """
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ConnectorSpec:
    """What the "Add account" flow shows for one platform, and what it needs from the owner."""

    kind: str
    title: str
    capabilities: frozenset[str]
    settings: tuple[tuple[str, str, str], ...]  # (key, label, default) the owner fills in
    secret_label: str  # "Password", "Bot token", "App password", "" when none is needed
    needs: str  # one sentence: what the owner must have (approval, token, app password)
    traits: PlatformTraits  # the platform's facts: name, badge, limits, polling, ... (connectors/traits.py)
    factory: Callable[[dict, "AccountSecrets"], Connector]
    secret_name: str = "password"  # the AccountSecrets name the owner's secret is stored under
    # Every keyring name this platform's connector or login may ever store for an account (the owner's
    # secret, session tokens, client registrations, and names older versions used): removing the
    # account deletes each of them, so nothing is left behind (registry.secret_names).
    secret_names: tuple[str, ...] = ("password",)
    # For platforms that sign in through a browser (OAuth, connectors/oauth.py): makes one sign-in
    # attempt from the form's settings. None for platforms that take a typed secret. A platform with
    # both (the owner brings their own app: Google's client secret) gets the typed secret too, as
    # `login_flow(settings, secrets=AccountSecrets)` holding it under `secret_name`.
    login_flow: "Callable[..., LoginFlow] | None" = None
    # For platforms whose own server can answer off-hours messages while socialdesk is not running (a mail
    # server's Sieve): a connectors/server_replies.ServerAutoReply. None for the others.
    server_auto_reply: Any = None
    # Settings the form can fill in by itself: `autofill(value of the setting autofill_from)` returns an
    # object with `settings` (a dict of this spec's keys) and `source` (where they came from), or None.
    # Network: called off the GUI thread (email: connectors/email_autoconfig.lookup from the address).
    autofill: "Callable[[str], Any] | None" = None
    autofill_from: str = ""
    # Settings most owners never touch: the form folds them under "More settings".
    advanced_settings: frozenset[str] = frozenset()
    # Platforms with capability "schedule_status": where the owner sees and deletes the posts the platform
    # holds, completing "Delete them ..." ("in Meta Business Suite, under Planner"). Shown when socialdesk
    # could not cancel its own (an account removed while offline or after its login was revoked).
    scheduled_posts_where: str = ""


class LoginFlow(Protocol):
    """One browser sign-in attempt, usable from the dialog and the CLI (connectors/oauth.py has the
    implementation every platform shares: AuthCodeLogin).

    `start` returns an AuthRequest(url, mode): in mode "loopback" a listener on 127.0.0.1 is waiting and
    `wait` blocks until the browser comes back; in mode "paste" (and always as a fallback) the owner
    pastes the code or the whole address, read with `oauth.parse_pasted`. `finish(params)` checks the
    answer and returns every account the sign-in gives access to (several for one Meta or Google
    sign-in): the owner picks which to add. Nothing is written to the keyring here: each LoginAccount
    carries its secrets, stored only when the owner adds it. `cancel` frees the port. All raise
    ConnectorError subclasses with owner-readable messages.
    """

    instructions: str  # one sentence for the owner

    def start(self, *, loopback: bool = True, browser: Callable[[str], object] | None = None) -> Any: ...

    def wait(self, timeout: float | None = None) -> dict[str, str]: ...

    def finish(self, params: Mapping[str, str]) -> list[Any]: ...

    def cancel(self) -> None: ...


class AccountSecrets(Protocol):
    """The keyring, scoped to one account. Names: "password", "token", "refresh_token", ...

    Connectors read their credentials here and write refreshed tokens back; nothing else stores them.
    """

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


class MemorySecrets:
    """AccountSecrets backed by a dict: for tests and for the demo connector, which needs none."""

    def __init__(self, values: dict[str, str] | None = None):
        self.values = dict(values or {})

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


def is_loopback_host(host: str) -> bool:
    """True for localhost and addresses in 127.0.0.0/8 or ::1 (no DNS lookup: names other than
    "localhost" are not loopback, so a hostile DNS answer cannot unlock plaintext)."""
    import ipaddress

    host = (host or "").strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure_transport(host: str, encrypted: bool, what: str = "connection") -> None:
    """Refuse plaintext protocols to anything but loopback (raises PermanentError, owner-readable)."""
    if not encrypted and not is_loopback_host(host):
        raise PermanentError(
            f"Refusing an unencrypted {what} to {host}: plaintext is only allowed to this computer "
            "(127.0.0.1 / localhost). Use TLS (ssl or starttls, or an https:// address)."
        )
