"""YouTube: comments under the owner's videos (and on the channel) in the queue; replies; the daily quota.

Wire facts (YouTube Data API v3, checked against Google's reference pages and the discovery document
`youtube.v3.json`, revision 20261104, that google-api-python-client ships; tests/fakes/youtube.py
validates every request and answer against that document):
- `GET https://www.googleapis.com/youtube/v3/commentThreads?part=snippet,replies
  &allThreadsRelatedToChannelId=<channel>&order=time&textFormat=plainText&maxResults=100&pageToken=…`
  → `{items[], nextPageToken}`. A CommentThread: `id`, `snippet{channelId, videoId, topLevelComment,
  totalReplyCount, canReply, isPublic}`, `replies{comments[]}` ("a limited number of replies": a subset
  unless its length equals totalReplyCount). A Comment: `id`, `snippet{authorDisplayName,
  authorChannelUrl, authorChannelId{value}, textDisplay, textOriginal, parentId, publishedAt,
  updatedAt, videoId, ...}`. There is no "since": pages come newest thread first.
- `GET …/comments?part=snippet&parentId=<top-level comment id>&textFormat=plainText&maxResults=100
  &pageToken=…`: every reply of a thread.
- `POST …/comments?part=snippet {snippet: {parentId, textOriginal}}` → the Comment made. parentId is
  the thread's top-level comment id: YouTube threads are one level deep. Errors documented for it:
  400 commentTextTooLong, operationNotSupported (snippet.canReply is false), parentCommentIsPrivate,
  processingFailure; 403 forbidden, ineligibleAccount; 404 parentCommentNotFound.
- `GET …/videos?part=snippet&id=a,b,…` (up to 50 ids) for video titles; `GET …/channels?part=snippet
  &id=<channel>` for `check()`.
- Errors are Google's `{"error": {"code", "message", "errors": [{"reason", "domain", "message"}]}}`;
  the shared Google table (platform_errors.GOOGLE_ERRORS) reads `error.errors[].reason`, with YouTube's
  own rows first (YOUTUBE_ERRORS). 401 refreshes the token once (oauth.BearerAuth), then AuthError.
- Quota ("Quota calculator", determine_quota_cost): 10,000 units a day per Google Cloud project by
  default, reset at midnight Pacific time; commentThreads.list, comments.list, videos.list and
  channels.list cost 1 unit a call, comments.insert 50. Every request costs, invalid ones included, so a
  call is counted before it is sent. (The 2026 reference pages also name 2-unit "part" costs; the
  calculator, which sets the daily total, does not. CALL_COST is the one place to change if it does.)
  Over quota: 403 reason `quotaExceeded` → QuotaExceeded until the next Pacific midnight
  (platform_errors.next_pacific_midnight), not a blind backoff.
- Comments cannot be longer than 10,000 characters (YouTube's comment box; the API documents only
  `commentTextTooLong`): TEXT_LIMIT, counted in code points, refused before anything is spent.

Decisions:
- Kind "youtube". One account is one channel (setting `channel_id`), added from the one Google sign-in
  (connectors/google.py: `GoogleLogin` lists the channels as `LoginAccount(kind="youtube")`; this
  SPEC's login_flow is the same sign-in asking only the YouTube scope). Its tokens are the OAuth entry
  in the keyring, refreshed with the owner's own client (setting client_id, keyring client_secret)
  through google.bearer; requests go through google.http (Google's error table) with YOUTUBE_ROWS first.
- Every thread is a conversation ("thread:<thread id>", kind "comment", public). The item's id is the
  comment id; a reply's `in_reply_to` is its thread's top-level comment; `subject` and meta carry the
  video title (from videos.list, cached in the cursor, one call for all videos a poll meets, so a few
  units a day); meta carries what `reply` needs (the top-level comment id, canReply).
- Our own channel's comments (authorChannelId.value == channel_id) are outbound: answers given in
  YouTube Studio count as answers here.
- Paging: newest thread first until a page holds a thread we know (the cursor keeps the most recent
  MAX_KNOWN threads with their reply count and newest updatedAt), at most `max_pages` pages a poll. If
  the pages run out before a known thread (a flood, or the poll's quota share is spent), the next
  poll continues from `nextPageToken` (`resume`) before it looks at the top again, so nothing is
  skipped; a page token YouTube no longer takes (400 invalidPageToken) restarts from the top. The
  first fetch takes the newest `max_pages` pages as history and nothing older.
- New replies and edits are found on the threads re-read on those pages (the newest ~100 threads: a
  small business's comments of weeks): a comment whose `updatedAt` is newer than what the cursor saw
  is delivered again (with `edited_at` when updatedAt > publishedAt: ingest keeps the old text as a
  revision); where totalReplyCount grew beyond the replies the thread carried, the thread's replies
  are read with comments.list. Edits and replies under older threads are not seen (no API reports
  them without reading every thread); deletions are not reported by the API and are not shown.
- The quota share: polling may use at most `quota_poll_share` % (default 50) of the day's quota
  (account setting `usage_budget`, default 10,000), so replies always have units left. The cursor keeps
  what this channel's polling spent this Pacific day, and the channels of one OAuth client (one Cloud
  project) add theirs up in memory (`_PROJECT_POLLING`); a poll is due only after `remaining time × units per poll /
  units left` since the last one, so the interval stretches as the day's share is used and the owner
  sees no hole at the end of the day; each poll also stops when the share is spent (its rest is
  resumed later). Polls that are not due return nothing and spend nothing.
- Every call is counted on the generic usage meter (connectors/usage.py, `self.usage`), which the
  engine records per account; the plan's pool (`client_id`: Google counts quota per Cloud project) makes
  the meter add up every channel of the same client, and show it on each ("quota today: 1,240 of
  10,000 units"); the meter's own pacing (core/usage.pace) stretches polling near the whole quota.
  The polling share below is the project's too: channels of one client poll within one share.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

from socialdesk.connectors import google
from socialdesk.connectors.base import (
    AccountInfo,
    AccountSecrets,
    AuthError,
    Author,
    ConnectorSpec,
    InboundItem,
    NotAllowed,
    OutboundResult,
    PermanentError,
    ReplyTarget,
    SkipItem,
    TransientError,
    convert_items,
)
from socialdesk.connectors.http import ErrorRule, json_object, json_string, parse_iso, utcnow
from socialdesk.connectors.platform_errors import next_pacific_midnight
from socialdesk.connectors.text_counting import codepoints
from socialdesk.connectors.traits import TextLimit, declare
from socialdesk.connectors.usage import Price, UsageCounter, UsagePlan

log = logging.getLogger("socialdesk.connectors.youtube")

TEXT_LIMIT = 10_000
DAILY_QUOTA = 10_000
POLL_SHARE_PERCENT = 50
# Quota units per call (Google's quota calculator): every list 1, comments.insert 50.
CALL_COST = {"list": 1, "insert": 50}
PAGE_SIZE = 100  # commentThreads.list and comments.list: maxResults 1..100
MAX_KNOWN = 300  # threads remembered in the cursor (newest first)
MAX_TITLES = 200  # video titles remembered in the cursor
MAX_REPLY_PAGES = 5  # comments.list pages read for one thread in one poll
WATCH_URL = "https://www.youtube.com/watch"
CHANNEL_URL = "https://www.youtube.com/channel/"

RELOGIN = "Sign in to Google again (Accounts → Re-login…)."
# YouTube's own rows, tried before the shared Google table (platform_errors.GOOGLE_ERRORS: quotaExceeded,
# the rate limits, insufficientPermissions, commentsDisabled).
YOUTUBE_ROWS = (
    ErrorRule(status=400, where="error.errors.*.reason", code="commentTextTooLong", error=PermanentError,
              message="YouTube: this reply is longer than YouTube accepts (at most 10,000 characters)."),
    ErrorRule(status=400, where="error.errors.*.reason", code=("operationNotSupported", "parentCommentIsPrivate"),
              error=NotAllowed, message="YouTube does not accept a reply to this comment{suffix}."),
    ErrorRule(status=404, where="error.errors.*.reason", code=("parentCommentNotFound", "commentNotFound"),
              error=NotAllowed, message="YouTube: the comment no longer exists, so it cannot be answered."),
    ErrorRule(status=403, where="error.errors.*.reason", code="ineligibleAccount", error=AuthError,
              message="YouTube: the Google account signed in has no YouTube channel linked to it. " + RELOGIN),
    ErrorRule(status=400, where="error.errors.*.reason", code="invalidPageToken", error=PermanentError,
              message="YouTube no longer accepts this page token."),
)

USAGE = UsagePlan(
    currency="units",
    zone="America/Los_Angeles",
    budget_period="day",
    default_budget=Decimal(DAILY_QUOTA),
    prices=(
        Price("list", Decimal(CALL_COST["list"]), "list call"),
        Price("insert", Decimal(CALL_COST["insert"]), "comment reply"),
    ),
    # Google counts the quota per Cloud project, which the OAuth client id names: every channel signed
    # in with the same client spends from one daily quota.
    pool_setting="client_id",
)


# Polling units per Google Cloud project (OAuth client id) → channel id → (Pacific day, units), so channels
# of one project keep to one polling share together. In memory: after a restart each channel's cursor
# still bounds its own polling, and the others report theirs at their next poll.
_PROJECT_POLLING: dict[str, dict[str, tuple[str, int]]] = {}
_PROJECT_LOCK = threading.Lock()


class _ShareSpent(Exception):
    """The poll's share of the day's quota is spent: stop here, resume next time."""


@dataclass
class _Poll:
    """What one fetch learns and spends (written back into the cursor)."""

    units_left: int
    units: int = 0
    threads: list[dict[str, Any]] = field(default_factory=list)
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # thread id -> comments.list


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


class YouTubeConnector:
    kind = "youtube"
    capabilities = frozenset({"comment"})

    def __init__(
        self,
        settings: dict,
        secrets: AccountSecrets,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utcnow,
        page_size: int = PAGE_SIZE,
        max_pages: int = 10,
    ):
        self.settings = settings
        self.secrets = secrets
        self.now = now
        self.channel_id = str(settings.get("channel_id") or "").strip()
        # Google's Http (its error table, 401 → one refresh) with YouTube's own rows first; `api_base`
        # (tests only, loopback only) moves every Google host to a local server (google.endpoint).
        self.http = google.http("YouTube", google.endpoint(settings, google.YOUTUBE_BASE), now=now, sleep=sleep)
        self.http.errors = self.http.errors.with_first(*YOUTUBE_ROWS)
        self.auth = google.bearer(settings, secrets, self.http, now=now)
        self.page_size = max(1, min(PAGE_SIZE, page_size))
        self.max_pages = max(1, max_pages)
        self.usage = UsageCounter(USAGE, now=now)  # the engine replaces it with the account's own
        self.notice = ""

    # -- settings ------------------------------------------------------------------------------------
    def daily_quota(self) -> int:
        value = self.settings.get(USAGE.budget_setting)
        try:
            quota = int(Decimal(str(value))) if value not in (None, "") else DAILY_QUOTA
        except (ArithmeticError, ValueError):
            quota = DAILY_QUOTA
        return quota if quota > 0 else DAILY_QUOTA

    def poll_share(self) -> int:
        """Quota units a day's polling may spend."""
        try:
            percent = float(self.settings.get("quota_poll_share", POLL_SHARE_PERCENT))
        except (TypeError, ValueError):
            percent = POLL_SHARE_PERCENT
        percent = min(100.0, max(1.0, percent))
        return max(1, int(self.daily_quota() * percent / 100))

    # -- HTTP ----------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, cost: str, *, params: dict[str, Any],
              json_body: Any = None, poll: _Poll | None = None) -> Any:
        """One API call, counted on the meter before it is sent (YouTube bills every request)."""
        units = CALL_COST[cost]
        if poll is not None and poll.units_left < units:
            raise _ShareSpent()

        def send(headers: dict[str, str]) -> Any:
            if poll is not None:
                poll.units_left -= units
                poll.units += units
            self.usage.count(cost, units)
            if method == "GET":
                return self.http.get_json(path, params=params, headers=headers)
            # comments.insert is not idempotent: never repeated by the HTTP layer.
            return self.http.post_json(path, params=params, json=json_body, headers=headers, retry=False)

        body = self.auth.call(send)
        if not isinstance(body, dict):
            raise TransientError("YouTube sent an unexpected answer. Will try again.")
        return body

    # -- inbound -------------------------------------------------------------------------------------
    def fetch(self, cursor: dict | None) -> tuple[list[InboundItem], dict]:
        if not self.channel_id:
            raise PermanentError("This YouTube account names no channel. Add it again from the Google sign-in.")
        state = _Cursor.load(cursor)
        now = self.now()
        state.new_day(USAGE.day(now).isoformat())
        left = self.poll_share() - self._project_polling(state)
        if not state.due(now, left):
            self._set_notice(state, now)
            return [], state.dump()
        poll = _Poll(units_left=left)
        first_run = not state.known
        try:
            self._read_threads(state, poll, first_run)
            self._read_replies(state, poll)
        except _ShareSpent:
            log.info("YouTube: this poll's share of today's quota is spent; the rest follows later")
        self._read_titles(state, poll)
        items = self._items(state, poll)
        state.spent(poll.units, now)
        state.remember(poll, self._replies_needed)
        self._set_notice(state, now)
        return items, state.dump()

    def _project_polling(self, state: "_Cursor") -> int:
        """What polling spent today on this account's Google Cloud project: this channel's units (from
        its cursor) plus those the other channels of the same OAuth client reported in this process."""
        project = str(self.settings.get(USAGE.pool_setting) or "")
        with _PROJECT_LOCK:
            channels = _PROJECT_POLLING.setdefault(project, {}) if project else {}
            channels[self.channel_id] = (state.day, state.poll_units)
            return sum(units for day, units in channels.values() if day == state.day) if project \
                else state.poll_units

    def _set_notice(self, state: "_Cursor", now: datetime) -> None:
        """The account's note while polling waits for the next quota day ("" otherwise)."""
        used = self._project_polling(state)
        if used < self.poll_share():
            self.notice = ""
            return
        until = next_pacific_midnight(now)
        self.notice = (f"Polling has used its share of today's YouTube quota ({used:,} of "
                       f"{self.daily_quota():,} units); comments are fetched again after midnight Pacific time "
                       f"({until:%H:%M} UTC). Replies still go out.")

    def _read_threads(self, state: "_Cursor", poll: _Poll, first_run: bool) -> None:
        token = state.resume
        resuming = bool(token)
        for _ in range(self.max_pages):
            params: dict[str, Any] = {
                "part": "snippet,replies", "allThreadsRelatedToChannelId": self.channel_id, "order": "time",
                "textFormat": "plainText", "maxResults": self.page_size,
            }
            if token:
                params["pageToken"] = token
            try:
                page = self._call("GET", "commentThreads", "list", params=params, poll=poll)
            except _ShareSpent:
                # The page at `token` is not read yet: continue there (the first page: from the top).
                if token and not first_run:
                    state.resume = token
                raise
            except PermanentError as exc:
                if token and "page token" in str(exc):
                    log.info("YouTube refused a stored page token; reading from the newest thread again")
                    state.resume = ""
                    return
                raise
            threads = [t for t in page.get("items") or [] if isinstance(t, dict) and _is_text(t.get("id"))]
            poll.threads.extend(threads)
            reached_known = any(t["id"] in state.known for t in threads)
            token = json_string(page.get("nextPageToken"))
            if reached_known or not token:
                if resuming:
                    state.resume = ""
                return
        # Out of pages before meeting a known thread: continue there next time (not on the first run,
        # which takes only the newest pages as history).
        state.resume = "" if first_run else token

    def _replies_needed(self, state: "_Cursor", thread: dict[str, Any]) -> bool:
        snippet = json_object(thread.get("snippet"))
        total = snippet.get("totalReplyCount")
        if type(total) is not int or total <= 0:
            return False
        carried = [c for c in json_object(thread.get("replies")).get("comments") or [] if isinstance(c, dict)]
        if total <= len(carried):
            return False
        known = state.known.get(thread["id"])
        return known is None or total > known[0]

    def _read_replies(self, state: "_Cursor", poll: _Poll) -> None:
        for thread in poll.threads:
            if not self._replies_needed(state, thread):
                continue
            top = json_object(json_object(thread.get("snippet")).get("topLevelComment"))
            parent = json_string(top.get("id")) or thread["id"]
            comments: list[dict[str, Any]] = []
            token = ""
            for _ in range(MAX_REPLY_PAGES):
                params: dict[str, Any] = {"part": "snippet", "parentId": parent, "textFormat": "plainText",
                                          "maxResults": PAGE_SIZE}
                if token:
                    params["pageToken"] = token
                page = self._call("GET", "comments", "list", params=params, poll=poll)
                comments.extend(c for c in page.get("items") or [] if isinstance(c, dict))
                token = json_string(page.get("nextPageToken"))
                if not token:
                    break
            poll.replies[thread["id"]] = comments

    def _read_titles(self, state: "_Cursor", poll: _Poll) -> None:
        """Titles of the videos this poll's threads are under, where not known yet: one call for 50."""
        videos = (json_string(json_object(t.get("snippet")).get("videoId")) for t in poll.threads)
        missing = sorted({v for v in videos if v and v not in state.titles})
        if not missing:
            return
        try:
            page = self._call("GET", "videos", "list", params={"part": "snippet", "id": ",".join(missing[:50])},
                              poll=poll)
        except (_ShareSpent, PermanentError, TransientError) as exc:  # titles are a nicety: items go on
            log.info("YouTube video titles not read now (%s)", type(exc).__name__)
            return
        for video in page.get("items") or []:
            if isinstance(video, dict) and _is_text(video.get("id")):
                title = json_string(json_object(video.get("snippet")).get("title"))
                state.titles[video["id"]] = title[:300]

    def _items(self, state: "_Cursor", poll: _Poll) -> list[InboundItem]:
        entries: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (comment, thread)
        for thread in poll.threads:
            snippet = json_object(thread.get("snippet"))
            known = state.known.get(thread["id"])
            seen_until = known[1] if known else ""
            carried = [c for c in json_object(thread.get("replies")).get("comments") or [] if isinstance(c, dict)]
            # New or edited since the thread was last read: a later updatedAt.
            for comment in [json_object(snippet.get("topLevelComment")), *carried]:
                updated = json_string(json_object(comment.get("snippet")).get("updatedAt"))
                if not known or _later(updated, seen_until):
                    entries.append((comment, thread))
            # All replies read with comments.list go to ingest, which stores only what it lacks (and
            # edits): the replies a thread carried may be newer than ones never seen.
            entries += [(comment, thread) for comment in poll.replies.get(thread["id"], [])]
        items = convert_items(entries, lambda e: self._item(state, *e), what="YouTube comment",
                              ident=lambda e: e[0].get("id"))
        # Arrival order, oldest first; one comment once (a thread may be read twice in one poll).
        unique = {item.external_id: item for item in sorted(items, key=lambda i: i.created_at)}
        return list(unique.values())

    def _item(self, state: "_Cursor", comment: dict[str, Any], thread: dict[str, Any]) -> InboundItem:
        comment_id = json_string(comment.get("id"))
        if not comment_id:
            raise SkipItem("a comment without an id")
        snippet = json_object(comment.get("snippet"))
        thread_snippet = json_object(thread.get("snippet"))
        top_id = json_string(json_object(thread_snippet.get("topLevelComment")).get("id")) or thread["id"]
        # textOriginal is what the author typed; textDisplay, asked as plainText, is the fallback (never
        # rendered as HTML anyway: every text is shown as plain text).
        text = json_string(snippet.get("textOriginal")) or json_string(snippet.get("textDisplay"))
        if not text.strip():
            raise SkipItem("a comment without text")
        published = parse_iso(snippet.get("publishedAt"))
        updated = parse_iso(snippet.get("updatedAt"))
        author_channel = json_string(json_object(snippet.get("authorChannelId")).get("value"))
        name = json_string(snippet.get("authorDisplayName"))
        video_id = json_string(snippet.get("videoId")) or json_string(thread_snippet.get("videoId"))
        title = state.titles.get(video_id, "") if video_id else ""
        is_reply = comment_id != top_id
        if video_id:
            permalink = f"{WATCH_URL}?v={video_id}&lc={comment_id}"
        else:
            permalink = CHANNEL_URL + (json_string(thread_snippet.get("channelId")) or self.channel_id)
        return InboundItem(
            external_id=comment_id,
            conversation_external_id=f"thread:{thread['id']}",
            kind="comment",
            public=thread_snippet.get("isPublic") is not False,
            author=Author(
                external_id=author_channel or f"name:{name}",
                # Since 2022 YouTube shows people by their @handle, which authorDisplayName carries.
                handle=name if name.startswith("@") else "",
                display_name=name or "YouTube user",
                profile_url=json_string(snippet.get("authorChannelUrl")),
            ),
            text=text,
            # A garbled date must not lose the comment: it then counts from when we saw it.
            created_at=published or self.now(),
            permalink=permalink,
            subject=title,
            in_reply_to=top_id if is_reply else "",
            outbound=bool(author_channel) and author_channel == self.channel_id,
            meta={
                "thread_id": thread["id"],
                "top_comment_id": top_id,
                **({"video_id": video_id} if video_id else {}),
                **({"video_title": title} if title else {}),
                **({"can_reply": False} if thread_snippet.get("canReply") is False else {}),
            },
            edited_at=updated if updated and published and updated > published else None,
        )

    # -- outbound ------------------------------------------------------------------------------------
    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult:
        if codepoints(text) > TEXT_LIMIT:
            raise PermanentError(f"YouTube comments can be at most {TEXT_LIMIT:,} characters; this reply has "
                                 f"{codepoints(text):,}.")
        if not text.strip():
            raise PermanentError("YouTube does not accept an empty comment.")
        meta = target.parent_meta or {}
        if meta.get("can_reply") is False:
            raise NotAllowed("YouTube does not let this channel reply to this comment (replies are turned off "
                             "or the comment is held).")
        parent = meta.get("top_comment_id") or target.conversation_external_id.removeprefix("thread:")
        if not _is_text(parent):
            raise PermanentError("This YouTube comment has no thread to reply to.")
        body = self._call("POST", "comments", "insert", params={"part": "snippet"},
                          json_body={"snippet": {"parentId": parent, "textOriginal": text}})
        comment_id = body.get("id")
        if not _is_text(comment_id):
            raise TransientError("YouTube sent an unexpected answer to our reply.")
        video = meta.get("video_id") or json_string(json_object(body.get("snippet")).get("videoId"))
        return OutboundResult(
            external_id=comment_id,
            permalink=f"{WATCH_URL}?v={video}&lc={comment_id}" if _is_text(video) else "",
            meta={"thread_id": meta.get("thread_id") or parent, "top_comment_id": parent},
        )

    def post_status(self, text: str, *, idempotency_key: str) -> OutboundResult:
        raise PermanentError("YouTube has no status posts; socialdesk answers comments there.")

    def stream(self, cursor: dict | None, on_items: Callable[[list[InboundItem], dict], None], stop_event: Any) -> None:
        raise PermanentError("YouTube has no live connection for comments; it is polled.")

    def check(self) -> AccountInfo:
        params: dict[str, Any] = {"part": "snippet"}
        if self.channel_id:
            params["id"] = self.channel_id
        else:
            params["mine"] = "true"
        body = self._call("GET", "channels", "list", params=params)
        channels = [c for c in body.get("items") or [] if isinstance(c, dict) and _is_text(c.get("id"))]
        if not channels:
            raise AuthError("This Google sign-in does not reach the YouTube channel. " + RELOGIN)
        snippet = json_object(channels[0].get("snippet"))
        handle = json_string(snippet.get("customUrl"))
        return AccountInfo(
            display_name=json_string(snippet.get("title")) or channels[0]["id"],
            handle=handle if handle.startswith("@") or not handle else "@" + handle,
            notes=(f"YouTube quota: {self.daily_quota():,} units a day for this Google Cloud project; polling "
                   f"uses at most {self.poll_share():,} of them, a reply costs {CALL_COST['insert']}.",),
        )

    def close(self) -> None:
        self.http.close()


def _later(a: str, b: str) -> bool:
    """True when timestamp `a` is after `b` (either may be missing or garbled)."""
    when, since = parse_iso(a), parse_iso(b)
    if when is None:
        return not b
    return since is None or when > since


class _Cursor:
    """The JSON cursor: known threads, where to resume, video titles, and what polling spent today.

    {"known": [[thread id, reply count, newest updatedAt], ...] newest first, "resume": page token,
     "titles": {video id: title}, "day": "YYYY-MM-DD" (Pacific), "poll_units": n, "polls": k,
     "last_poll": ISO time}"""

    def __init__(self) -> None:
        self.known: dict[str, tuple[int, str]] = {}
        self.order: list[str] = []
        self.resume = ""
        self.titles: dict[str, str] = {}
        self.day = ""
        self.poll_units = 0
        self.polls = 0
        self.last_poll: datetime | None = None

    @classmethod
    def load(cls, cursor: dict | None) -> "_Cursor":
        state = cls()
        data = cursor if isinstance(cursor, dict) else {}
        for entry in data.get("known") or []:
            if (isinstance(entry, list) and len(entry) == 3 and _is_text(entry[0]) and type(entry[1]) is int
                    and isinstance(entry[2], str) and entry[0] not in state.known):
                state.known[entry[0]] = (entry[1], entry[2])
                state.order.append(entry[0])
        state.resume = json_string(data.get("resume"))
        titles = data.get("titles")
        if isinstance(titles, dict):
            state.titles = {k: v for k, v in titles.items() if isinstance(k, str) and isinstance(v, str)}
        state.day = json_string(data.get("day"))
        for name in ("poll_units", "polls"):
            value = data.get(name)
            setattr(state, name, value if type(value) is int and value >= 0 else 0)
        state.last_poll = parse_iso(data.get("last_poll"))
        return state

    def dump(self) -> dict[str, Any]:
        return {
            "known": [[tid, *self.known[tid]] for tid in self.order[:MAX_KNOWN]],
            "resume": self.resume,
            "titles": dict(list(self.titles.items())[-MAX_TITLES:]),
            "day": self.day,
            "poll_units": self.poll_units,
            "polls": self.polls,
            "last_poll": self.last_poll.isoformat() if self.last_poll else None,
        }

    def new_day(self, day: str) -> None:
        if day != self.day:
            self.day, self.poll_units, self.polls = day, 0, 0

    def due(self, now: datetime, left: int) -> bool:
        """Whether a poll may run now: some of the share is left, and the pace that spreads what is left
        over the rest of the Pacific day allows it."""
        if left <= 0:
            return False
        if self.last_poll is None or self.polls == 0:
            return True
        per_poll = max(1.0, self.poll_units / self.polls)
        rest_of_day = (next_pacific_midnight(now) - now).total_seconds()
        interval = rest_of_day * per_poll / left
        return now >= self.last_poll + timedelta(seconds=interval)

    def spent(self, units: int, now: datetime) -> None:
        self.poll_units += units
        self.polls += 1
        self.last_poll = now

    def remember(self, poll: _Poll, replies_needed: Callable[["_Cursor", dict[str, Any]], bool]) -> None:
        """Record the threads read (newest first), their reply counts and newest updatedAt. A thread whose
        replies were due but not read (the quota share ran out) keeps its old count: read next time."""
        fresh: list[str] = []
        for thread in poll.threads:
            tid = thread["id"]
            snippet = json_object(thread.get("snippet"))
            old_total, newest = self.known.get(tid, (0, ""))
            total = snippet.get("totalReplyCount")
            if tid not in poll.replies and replies_needed(self, thread):
                total = old_total
            top = json_object(snippet.get("topLevelComment"))
            carried = [c for c in json_object(thread.get("replies")).get("comments") or [] if isinstance(c, dict)]
            for comment in [top, *carried]:
                updated = json_string(json_object(comment.get("snippet")).get("updatedAt"))
                if _later(updated, newest):
                    newest = updated
            self.known[tid] = (total if type(total) is int and total >= 0 else 0, newest)
            if tid not in fresh:
                fresh.append(tid)
        self.order = fresh + [tid for tid in self.order if tid not in fresh]
        for tid in self.order[MAX_KNOWN:]:
            self.known.pop(tid, None)
        self.order = self.order[:MAX_KNOWN]


# comments.insert has no idempotency key: an interrupted send is left "unknown" for the owner.
TRAITS = declare(
    "youtube",
    address_style="@handle",
    limits=(("*", TextLimit(TEXT_LIMIT, "characters", codepoints)),),
    usage=USAGE,
)

SPEC = ConnectorSpec(
    kind="youtube",
    title="YouTube",
    capabilities=YouTubeConnector.capabilities,
    # The Google sign-in's settings first (client_id, use, api_base: connectors/google.py), then ours.
    settings=(*google.SIGN_IN_SETTINGS,
              ("channel_id", "Channel ID (UC…; the sign-in fills it in)", ""),
              ("quota_poll_share", "Share of the daily quota polling may use (%)", str(POLL_SHARE_PERCENT))),
    secret_label=google.SECRET_LABEL,
    needs=("A YouTube channel and your own Google Cloud project with the YouTube Data API v3 enabled and an "
           "OAuth client (Desktop app); you sign in with Google in your browser."),
    traits=TRAITS,
    factory=lambda settings, secrets: YouTubeConnector(settings, secrets),
    secret_name=google.CLIENT_SECRET,
    secret_names=google.SECRET_NAMES,
    login_flow=google.login_flow_for("youtube"),
)
