"""Error tables of the API families whose connectors come next: Meta's Graph API (Facebook Pages,
Messenger, Instagram), Google's APIs (YouTube Data v3, Business Profile) and X API v2.

Each is an `ErrorTable` (connectors/http.py) written from the platform's documented error shapes
(shared/CONNECTORS.md and the platforms' error references); the connector of each platform hands its
table to its `Http`, and may put rows of its own first (`ErrorTable.with_first`). Telegram, Mastodon
and Bluesky keep their tables in their own modules: one platform, one module.

Decisions:
- Throttling that arrives as a code in the body, not as HTTP 429, is RateLimited: Graph's 4 (app),
  17 (user), 32 (Page), 613 (custom) and 80001-80009 (Business Use Case limits) in the body of a 4xx
  (or a 200). Meta counts calls over a rolling hour and fails them "until enough time has passed for
  the call count to drop below the limit", naming no time outside its usage headers: we wait the hour
  (`GRAPH_THROTTLE_WAIT`) unless a Retry-After header says otherwise, since calling earlier only
  prolongs the throttle.
- A spent quota is QuotaExceeded (a RateLimited until the quota renews): YouTube's 403 with reason
  `quotaExceeded` (or the older `dailyLimitExceeded`) renews at midnight Pacific time; X's problem type
  `…/usage-capped` names no renewal, so it waits for the rate-limit window the headers give, else a day.
- AuthError only where the login itself needs the owner: Graph 190 (token invalid or expired), 10 and
  200-299 (a permission not granted or revoked: sign in again granting it), Google's 401 and
  `insufficientPermissions`, X's 401 and `…/client-forbidden` (the app is not enrolled for this access).
- NotAllowed where one item cannot be answered: Messenger outside the 24 h window (code 10, subcodes
  2018278 and 2018065), a person who does not receive messages from the Page (subcode 2018108 and
  1545041, code 551), YouTube comments turned off (`commentsDisabled`), and X's other 403s (since
  2026-02-23 a self-serve app may reply only when summoned; DMs to people who do not accept them).
- 2xx bodies that carry an error: Graph may answer 200 with `{"error": {...}}`; X answers 200 with
  `errors` and no `data` when nothing succeeded (a 200 with both is a partial success: the connector
  reads `data` and logs the rest).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from socialdesk.connectors.base import AuthError, NotAllowed, PermanentError, QuotaExceeded, RateLimited
from socialdesk.connectors.http import PRESENT, BodyFailure, ErrorRule, ErrorTable

GRAPH_THROTTLE_WAIT = timedelta(hours=1)
_PACIFIC = ZoneInfo("America/Los_Angeles")


def _graph_throttle_over(now: datetime) -> datetime:
    return now + GRAPH_THROTTLE_WAIT


def next_pacific_midnight(now: datetime) -> datetime:
    """When a Google API's daily quota renews: the next midnight in Pacific time (DST-aware)."""
    tomorrow = now.astimezone(_PACIFIC).date() + timedelta(days=1)
    # Built from the date, so the offset is the one in force at that midnight (DST changes overnight).
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=_PACIFIC).astimezone(timezone.utc)


def _a_day_later(now: datetime) -> datetime:
    return now + timedelta(days=1)


_GRAPH_THROTTLE_CODES = (4, 17, 32, 613) + tuple(range(80001, 80010))
_GRAPH_PERMISSION_CODES = (10,) + tuple(range(200, 300))

GRAPH_ERRORS = ErrorTable(
    rules=(
        ErrorRule(where="error.error_subcode", code=(2018278, 2018065), error=NotAllowed,
                  message="Meta no longer accepts a reply here: outside the time it allows (24 hours after the "
                          "person's last message; 7 days and once per comment for a private reply){suffix}."),
        ErrorRule(where="error.error_subcode", code=(2018108, 1545041), error=NotAllowed,
                  message="This person does not receive messages from the Page right now{suffix}."),
        ErrorRule(where="error.code", code=551, error=NotAllowed,
                  message="This person is not available on Messenger right now{suffix}."),
        ErrorRule(where="error.code", code=_GRAPH_THROTTLE_CODES, error=RateLimited, wait=_graph_throttle_over,
                  message="Meta is throttling this app or Page (code {code}){suffix}; trying again at {until} UTC."),
        ErrorRule(where="error.code", code=190, error=AuthError,
                  message="Meta no longer accepts this login{suffix}. Sign in again."),
        ErrorRule(where="error.code", code=_GRAPH_PERMISSION_CODES, error=AuthError,
                  message="Meta says this login lacks a permission{suffix}. Sign in again and grant it."),
    ),
    failures=(BodyFailure("error", PRESENT),),
    detail=("error.message",),
)

_GOOGLE_REASON = "error.errors.*.reason"
# Before Google approves a project's Business Profile API access its quota is 0: every call is a 429
# RESOURCE_EXHAUSTED whose google.rpc.ErrorInfo detail names the limit, `"quota_limit_value": "0"`.
# Approval takes days, so it is tried again hourly (not every minute), and the owner is told exactly why.
GOOGLE_NOT_APPROVED_WAIT = timedelta(hours=1)


def _an_hour_later(now: datetime) -> datetime:
    return now + GOOGLE_NOT_APPROVED_WAIT


GOOGLE_NOT_APPROVED = (
    "{service}: Google has not approved this app's access to the API yet, so its quota is 0 and every call "
    "fails. Request access for your Google Cloud project (for the Business Profile APIs: Google's "
    "\"Application for Basic API Access\" form) and wait for the approval; trying again at {until} UTC."
)
GOOGLE_ERRORS = ErrorTable(
    rules=(
        ErrorRule(status=429, where="error.details.*.metadata.quota_limit_value", code="0", error=QuotaExceeded,
                  wait=_an_hour_later, message=GOOGLE_NOT_APPROVED),
        ErrorRule(status=403, where=_GOOGLE_REASON, code=("quotaExceeded", "dailyLimitExceeded"), error=QuotaExceeded,
                  wait=next_pacific_midnight,
                  message="{service}: this app's daily quota is used up. It renews at midnight Pacific time "
                          "({until} UTC); nothing is fetched or sent until then."),
        ErrorRule(status=(403, 429), where=_GOOGLE_REASON, code=("rateLimitExceeded", "userRateLimitExceeded"),
                  error=RateLimited),
        ErrorRule(status=429, where="error.status", code="RESOURCE_EXHAUSTED", error=RateLimited,
                  message="{service} refuses calls for now (RESOURCE_EXHAUSTED){suffix}. If Google has not approved "
                          "this app's access to the API yet, its quota is 0 and every call fails until it does."),
        ErrorRule(status=403, where=_GOOGLE_REASON, code="insufficientPermissions", error=AuthError,
                  message="{service}: this login lacks a permission socialdesk needs. Sign in again and grant it."),
        ErrorRule(status=403, where=_GOOGLE_REASON, code="commentsDisabled", error=NotAllowed,
                  message="{service}: comments are turned off here{suffix}."),
        ErrorRule(status=403, where="error.details.*.reason", code="SERVICE_DISABLED", error=PermanentError,
                  message="{service}: this API is not enabled in your Google Cloud project{suffix}. Enable it "
                          "in the Google Cloud console (APIs & Services), then try again."),
    ),
    detail=("error.message", "error_description"),
)

X_ERRORS = ErrorTable(
    rules=(
        ErrorRule(where="type", contains="/usage-capped", error=QuotaExceeded, wait=_a_day_later,
                  message="X: this app's usage cap is reached{suffix}; trying again at {until} UTC."),
        ErrorRule(where="errors.*.type", contains="/usage-capped", error=QuotaExceeded, wait=_a_day_later,
                  message="X: this app's usage cap is reached{suffix}; trying again at {until} UTC."),
        ErrorRule(where="type", contains="/rate-limit-exceeded", error=RateLimited),
        ErrorRule(where="type", contains="/client-forbidden", error=AuthError,
                  message="X does not let this app do that{suffix}. Check the app's access in the X developer "
                          "console, then sign in again."),
        ErrorRule(status=403, error=NotAllowed, message="X does not allow this here{suffix}."),
        ErrorRule(where="type", contains="/resource-not-found", error=PermanentError,
                  message="X: this no longer exists{suffix}."),
        ErrorRule(where="errors.*.type", contains="/resource-not-found", error=PermanentError,
                  message="X: this no longer exists{suffix}."),
    ),
    failures=(BodyFailure("errors", PRESENT, unless="data"),),
    detail=("detail", "title", "errors.*.detail", "errors.*.message"),
)
