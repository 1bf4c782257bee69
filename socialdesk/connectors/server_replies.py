"""Auto-replies kept by a platform's own server while socialdesk is not running: the generic contract.

A connector whose platform can answer by itself (a mail server running Sieve) declares one
`ServerAutoReply` on its ConnectorSpec (`server_auto_reply`). Core (core/server_replies.py) computes the
coming closed periods and their texts from the opening hours and the automation settings, and hands
them over as a `ReplyPlan`; the connector writes them to the server and reports what it left there.
Nothing here names a platform, so core and UI ask only this contract.

Decisions:
- A period is [start, end) in UTC with the app's own closed-period key, so the server's "once per
  person" memory (Sieve's `:handle`) and the app's ledger (AutoReplyLedger) name the same stretch.
  `end` None: the business does not open again within the schedule's horizon.
- `push` raises `Unavailable` (a PermanentError) when the server cannot do it (no such service, a
  missing extension) and `Kept` when the owner's own setup there must not be touched (an active
  filter that already sends vacation replies, a server that cannot include it); both are owner-readable
  and mean "socialdesk keeps answering itself while it runs". Every other ConnectorError means the
  same, and the next push tries again.
- `withdraw` restores what was there before the first push (the owner's own active script) and
  removes ours; it is what turning the feature off and removing the account call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from socialdesk.connectors.base import AccountSecrets, PermanentError


class Unavailable(PermanentError):
    """The server cannot keep auto-replies (no such service, a missing extension); owner-readable."""


class Kept(PermanentError):
    """The owner's own setup on the server is left alone, so the server keeps no auto-replies for us."""


@dataclass(frozen=True)
class ClosedPeriod:
    start: datetime  # UTC, may lie in the past (the stretch we are in)
    end: datetime | None  # UTC; None: not open again within the schedule's horizon
    key: str  # the app's closed-period key (Schedule.closed_period_key), e.g. "closed:2026-12-04T17:00:00Z"
    subject: str  # one line
    text: str  # the reply, saying when the business opens again


@dataclass(frozen=True)
class ReplyPlan:
    periods: tuple[ClosedPeriod, ...]
    covered_until: datetime  # the plan is right until then; pushed again long before


@dataclass(frozen=True)
class PushResult:
    periods: tuple[ClosedPeriod, ...]  # what the server now holds (a plan may be cut to fit the server)
    covered_until: datetime
    note: str = ""  # owner-readable detail ("your own filter 'main' still runs after it")


class ServerAutoReply(Protocol):
    """What a connector module offers for server-kept auto-replies (see the module docstring)."""

    server_name: str  # how the owner names the server in a sentence: "your mail server"
    # How the owner takes ours off by hand, completing "To stop them, ..." (shown when socialdesk could not,
    # e.g. for an account removed while offline).
    where_to_remove: str

    def enabled(self, settings: dict) -> bool:
        """Whether the account's settings ask for it (no network)."""
        ...

    def push(self, settings: dict, secrets: AccountSecrets, plan: ReplyPlan) -> PushResult: ...

    def withdraw(self, settings: dict, secrets: AccountSecrets) -> str:
        """Remove ours and restore what was there; an owner-readable line of what was done."""
        ...
