"""Google Business Profile reviews of one location: fetch, reply (create or replace), delete our reply,
and publish opening hours.

Wire facts (shared/CONNECTORS.md, Google's v4 and Business Information v1 references):
- `GET https://mybusiness.googleapis.com/v4/accounts/{a}/locations/{l}/reviews?pageSize=50&pageToken=
  &orderBy=updateTime desc` → `{reviews[], averageRating, totalReviewCount, nextPageToken}`. Review:
  `name, reviewId, reviewer{profilePhotoUrl, displayName, isAnonymous}, starRating (ONE..FIVE or
  STAR_RATING_UNSPECIFIED), comment (absent for a rating without text), createTime, updateTime,
  reviewReply{comment, updateTime}`.
- `PUT …/reviews/{r}/reply {comment}` creates or replaces the reply (verified locations only: else 400
  FAILED_PRECONDITION); `DELETE …/reviews/{r}/reply` removes it. The reply is at most 4,096 bytes.
- Opening hours: Business Information v1 `GET /v1/locations/{l}?readMask=regularHours,specialHours` and
  `PATCH /v1/locations/{l}?updateMask=regularHours,specialHours`; `regularHours.periods[]` are TimePeriods
  `{openDay, openTime{hours, minutes}, closeDay, closeTime}` ("24:00" = midnight ending the day),
  `specialHours.specialHourPeriods[]` are `{startDate{year, month, day}, closed}` or `{startDate,
  openTime, endDate, closeTime}` (endDate the next day for an overnight period). `current_hours` and
  `publish_hours` are the connector capability (connectors/opening_hours.HoursPublisher) that
  core/hours_publish.py uses.
- Errors: Google's table (platform_errors.GOOGLE_ERRORS, quota 0 before approval included), with this
  API's own first: FAILED_PRECONDITION on a reply = the location is not verified (NotAllowed).

Decisions:
- One conversation per review (conversation and message id = reviewId), kind "review", public. Google
  gives no reviewer id: the author is the review itself ("review:<id>"), named by displayName, or
  "Anonymous Google user" when `isAnonymous` (or the name is missing). The star rating is the item's
  `rating` (1..5); an unspecified one is None.
- Paging: newest `updateTime` first, until an updateTime below the stored watermark (an equal one is
  skipped when we hold that very version). The first fetch takes up to `max_pages` pages as history.
  Items are returned oldest first; the cursor is the newest updateTime seen.
- An edited review comes back under its reviewId with a newer updateTime: delivered with `edited_at` =
  updateTime, so ingest keeps the old text and rating as a revision and reopens the conversation.
- A review that already carries a reply arrives with it: an outbound item "<reviewId>/reply" in the same
  conversation (edited_at = the reply's updateTime, so an edited reply is a revision), so it is
  answered. Our own reply's OutboundResult uses the same id, so the fetched copy is not stored twice.
  Replying again replaces the reply on Google (PUT): the traits' reply notice says so; the stored
  message keyed "<reviewId>/reply" then becomes a revision of the earlier text on the next fetch.
- Deleted reviews simply vanish from the list. Bounded detection: the cursor keeps the newest
  RECENT_KEPT reviews' (id, updateTime, reply updateTime). A "sweep" lists the newest SWEEP_PAGES
  pages (the same RECENT_KEPT reviews) and reports every kept id that is missing — among those newer
  than the oldest swept review — as deleted, and every reply that appeared, changed or disappeared
  (replies made in Google's own app do not change the review's updateTime). It runs when
  `totalReviewCount` is lower than the previous count plus the new reviews (something vanished), and
  at least every SWEEP_INTERVAL (a day), so a poll costs one page normally and at most SWEEP_PAGES
  more. Deletions of reviews older than the newest RECENT_KEPT are not noticed (documented limit).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import date, datetime, timedelta
from typing import Any, Callable, Mapping

from socialdesk.connectors import google
from socialdesk.connectors.base import (
    AccountInfo,
    AccountSecrets,
    Author,
    ConnectorSpec,
    InboundItem,
    NotAllowed,
    OutboundResult,
    PermanentError,
    ReplyTarget,
    TransientError,
    convert_items,
)
from socialdesk.connectors.http import ErrorRule, json_object, json_string, parse_iso, utcnow
from socialdesk.connectors.opening_hours import DAYS, OpeningHours, SpecialDay, WeeklyPeriod
from socialdesk.connectors.text_counting import utf8_bytes
from socialdesk.connectors.traits import TextLimit, declare

log = logging.getLogger("socialdesk.connectors.google_reviews")

REPLY_LIMIT = 4096  # bytes
STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
PAGE_SIZE = 50  # the API's maximum
RECENT_KEPT = 200
SWEEP_PAGES = RECENT_KEPT // PAGE_SIZE
SWEEP_INTERVAL = timedelta(days=1)
ANONYMOUS = "Anonymous Google user"
REPLY_SUFFIX = "/reply"
_REVIEW_ID = re.compile(r"[0-9A-Za-z_-]{1,200}")

# This API's own rows before Google's shared table.
REVIEW_ERRORS = (
    ErrorRule(status=400, where="error.status", code="FAILED_PRECONDITION", error=NotAllowed,
              message="Google takes replies only for verified locations: verify this location in Google Business "
                      "Profile first{suffix}."),
)


def _stars(value: Any) -> int | None:
    return STARS.get(value) if isinstance(value, str) else None


class GoogleReviewsConnector:
    kind = "google"
    capabilities = frozenset({"review", "delete_reply"})

    def __init__(
        self,
        settings: Mapping[str, Any],
        secrets: AccountSecrets,
        *,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = PAGE_SIZE,
        max_pages: int = 20,
        limits: dict | None = None,
    ):
        self.settings = dict(settings)
        self.location = google.location_path(self.settings)  # "accounts/1/locations/2", checked
        self.now = now
        self.page_size = page_size
        self.max_pages = max_pages
        self.recent_kept = max(page_size, RECENT_KEPT - RECENT_KEPT % page_size)
        self.http = google.http("Google reviews", google.endpoint(self.settings, google.REVIEWS_BASE),
                                now=now, sleep=sleep, limits=limits)
        self.http.errors = self.http.errors.with_first(*REVIEW_ERRORS)
        self.info_http = google.http("Google Business Profile", google.endpoint(self.settings, google.INFO_BASE),
                                     now=now, sleep=sleep, limits=limits)
        self.auth = google.bearer(self.settings, secrets, self.http, now=now)
        self.maps_uri = str(self.settings.get("maps_uri") or "")
        self.notice = ""

    # -- inbound -------------------------------------------------------------------------------
    def _page(self, token: str) -> dict[str, Any]:
        params = {"pageSize": self.page_size, "orderBy": "updateTime desc", **({"pageToken": token} if token else {})}
        body = self.auth.call(lambda h: self.http.get_json(f"/{self.location}/reviews", params=params, headers=h))
        if not isinstance(body, dict):
            raise TransientError("Google sent an unexpected list of reviews. Will try again.")
        return body

    def fetch(self, cursor: dict | None) -> tuple[list[InboundItem], dict]:
        cursor = dict(cursor or {})
        watermark = parse_iso(cursor.get("watermark"))
        recent: dict[str, list[str]] = {e[0]: list(e[1:3]) for e in cursor.get("recent") or []
                                        if isinstance(e, list) and len(e) == 3 and all(isinstance(x, str) for x in e)}
        collected: list[dict[str, Any]] = []
        token, total = "", None
        for _ in range(self.max_pages):
            page = self._page(token)
            if total is None and isinstance(page.get("totalReviewCount"), int):
                total = page["totalReviewCount"]
            reached = False
            for review in page.get("reviews") or []:
                if not isinstance(review, dict):
                    continue
                updated = parse_iso(review.get("updateTime"))
                if watermark is not None and updated is not None:
                    if updated < watermark:
                        reached = True
                        break
                    seen = recent.get(json_string(review.get("reviewId")))
                    if updated == watermark and seen is not None and seen[0] == review.get("updateTime"):
                        continue  # the version we hold
                collected.append(review)
            token = json_string(page.get("nextPageToken"))
            if reached or not token:
                break
        new_ids = [json_string(r.get("reviewId")) for r in collected if json_string(r.get("reviewId")) not in recent]
        extra: list[InboundItem] = []
        now = self.now()
        last_sweep = parse_iso(cursor.get("swept_at"))
        previous_total = cursor.get("total")
        vanished = (isinstance(previous_total, int) and total is not None and total < previous_total + len(new_ids))
        if watermark is not None and (vanished or last_sweep is None or now - last_sweep >= SWEEP_INTERVAL):
            extra = self._sweep(recent, {json_string(r.get("reviewId")) for r in collected})
            cursor["swept_at"] = now.isoformat()
        elif watermark is None:
            cursor["swept_at"] = now.isoformat()
        collected.reverse()  # oldest first
        items = convert_items(collected, self._items, what="Google review",
                              ident=lambda r: r.get("reviewId") if isinstance(r, dict) else r)
        flat = [item for pair in items for item in pair]
        for review in collected:
            review_id = json_string(review.get("reviewId"))
            if _REVIEW_ID.fullmatch(review_id):
                reply = json_object(review.get("reviewReply"))
                recent.pop(review_id, None)
                recent[review_id] = [json_string(review.get("updateTime")), json_string(reply.get("updateTime"))]
        stamps = [t for r in collected if (t := parse_iso(r.get("updateTime"))) is not None]
        newest = max(stamps, default=None)
        if newest is not None and (watermark is None or newest > watermark):
            cursor["watermark"] = newest.isoformat()
        kept = sorted(recent.items(), key=lambda kv: parse_iso(kv[1][0]) or now, reverse=True)[:self.recent_kept]
        cursor["recent"] = [[rid, upd, rep] for rid, (upd, rep) in kept]
        if total is not None:
            cursor["total"] = total
        return extra + flat, cursor

    def _sweep(self, recent: dict[str, list[str]], fresh: set[str]) -> list[InboundItem]:
        """The newest reviews again: deletions and reply changes among the kept ones (module docstring)."""
        listed: list[dict[str, Any]] = []
        token, complete = "", False
        for _ in range(max(1, self.recent_kept // self.page_size)):
            page = self._page(token)
            listed.extend(r for r in page.get("reviews") or [] if isinstance(r, dict))
            token = json_string(page.get("nextPageToken"))
            if not token:
                complete = True
                break
        by_id = {json_string(r.get("reviewId")): r for r in listed}
        oldest = min([t for r in listed if (t := parse_iso(r.get("updateTime"))) is not None], default=None)
        out: list[InboundItem] = []
        now = self.now()
        for review_id, (updated, replied) in list(recent.items()):
            review = by_id.get(review_id)
            if review is None:
                stamp = parse_iso(updated)
                if complete or (oldest is not None and stamp is not None and stamp > oldest):
                    out.append(self._deleted(review_id, now))
                    recent.pop(review_id)
                continue
            if review_id in fresh:
                continue  # delivered whole by this fetch
            reply = json_object(review.get("reviewReply"))
            reply_stamp = json_string(reply.get("updateTime"))
            if reply_stamp != replied:
                if reply:
                    item = self._reply_item(review, reply)
                    if item is not None:
                        out.append(item)
                else:
                    out.append(self._deleted(review_id + REPLY_SUFFIX, now))
                recent[review_id] = [updated, reply_stamp]
        return out

    def _deleted(self, external_id: str, now: datetime) -> InboundItem:
        conversation = external_id.removesuffix(REPLY_SUFFIX)
        return InboundItem(external_id=external_id, conversation_external_id=conversation, kind="review", public=True,
                           author=Author(external_id=""), text="", created_at=now, deleted=True,
                           outbound=external_id.endswith(REPLY_SUFFIX))

    def _items(self, review: dict[str, Any]) -> tuple[InboundItem, ...]:
        review_id = json_string(review.get("reviewId"))
        if not _REVIEW_ID.fullmatch(review_id):
            raise PermanentError("review without a usable id")
        reviewer = json_object(review.get("reviewer"))
        name = json_string(reviewer.get("displayName")).strip()
        anonymous = reviewer.get("isAnonymous") is True or not name
        created = parse_iso(review.get("createTime")) or self.now()
        updated = parse_iso(review.get("updateTime"))
        item = InboundItem(
            external_id=review_id,
            conversation_external_id=review_id,
            kind="review",
            public=True,
            author=Author(external_id=f"review:{review_id}", display_name=ANONYMOUS if anonymous else name[:200],
                          profile_url=""),
            text=json_string(review.get("comment")),
            created_at=created,
            permalink=self.maps_uri,
            rating=_stars(review.get("starRating")),
            # Every delivery carries its version's time: ingest stores a revision only when it is newer
            # and the text or rating changed.
            edited_at=updated if updated is not None and updated > created else None,
            meta={"anonymous": True} if anonymous else {},
        )
        reply = json_object(review.get("reviewReply"))
        reply_item = self._reply_item(review, reply) if reply else None
        return (item,) if reply_item is None else (item, reply_item)

    def _reply_item(self, review: dict[str, Any], reply: dict[str, Any]) -> InboundItem | None:
        review_id = json_string(review.get("reviewId"))
        text = json_string(reply.get("comment"))
        if not text or not _REVIEW_ID.fullmatch(review_id):
            return None
        when = parse_iso(reply.get("updateTime")) or parse_iso(review.get("updateTime")) or self.now()
        return InboundItem(
            external_id=review_id + REPLY_SUFFIX, conversation_external_id=review_id, kind="review", public=True,
            author=Author(external_id="owner"), text=text, created_at=when, outbound=True, edited_at=when,
            in_reply_to=review_id,
        )

    # -- outbound ------------------------------------------------------------------------------
    def _review_path(self, review_id: str) -> str:
        review_id = review_id.removesuffix(REPLY_SUFFIX)
        if not _REVIEW_ID.fullmatch(review_id):
            raise PermanentError("This conversation is not a Google review socialdesk can answer.")
        return f"/{self.location}/reviews/{review_id}{REPLY_SUFFIX}"

    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult:
        """Create or replace our public reply (PUT is idempotent: a retried send replaces it with itself)."""
        if utf8_bytes(text) > REPLY_LIMIT:
            raise PermanentError(f"Google takes replies of at most {REPLY_LIMIT:,} bytes; this one has "
                                 f"{utf8_bytes(text):,}.")
        review_id = target.conversation_external_id
        path = self._review_path(review_id)
        body = self.auth.call(lambda h: self.http.decode(self.http.request("PUT", path, json={"comment": text},
                                                                             headers=h)))
        if not isinstance(body, dict) or not isinstance(body.get("comment"), str):
            raise TransientError("Google sent an unexpected answer to the reply. Will try again.")
        return OutboundResult(external_id=review_id + REPLY_SUFFIX, permalink=self.maps_uri,
                              meta={"updateTime": json_string(body.get("updateTime"))})

    def delete_reply(self, review_id: str) -> None:
        """Remove our reply from the review on Google."""
        path = self._review_path(review_id)
        self.auth.call(lambda h: self.http.request("DELETE", path, headers=h))

    def post_status(self, text: str, *, idempotency_key: str) -> OutboundResult:
        raise PermanentError("Google reviews has no status posts.")

    def check(self) -> AccountInfo:
        location = self.location.split("/", 2)[2]  # "locations/2"
        body = self.auth.call(lambda h: self.info_http.get_json(
            f"/{location}", params={"readMask": "name,title,metadata"}, headers=h))
        body = json_object(body)
        metadata = json_object(body.get("metadata"))
        notes = () if metadata.get("hasVoiceOfMerchant", True) is not False else (
            "This location is not verified: Google takes replies to its reviews only once it is.",)
        return AccountInfo(display_name=json_string(body.get("title"))[:200] or location, handle=location, notes=notes)

    # -- opening hours (connectors/opening_hours.HoursPublisher, core/hours_publish.py) -----------
    def current_hours(self) -> OpeningHours:
        """What Google shows now (`locations.get` with a readMask of the two hour fields)."""
        location = self.location.split("/", 2)[2]
        body = self.auth.call(lambda h: self.info_http.get_json(
            f"/{location}", params={"readMask": "regularHours,specialHours"}, headers=h))
        return hours_from_google(json_object(body))

    def publish_hours(self, hours: OpeningHours) -> None:
        """`locations.patch` with updateMask=regularHours,specialHours: both are replaced (an empty one cleared)."""
        location = self.location.split("/", 2)[2]
        body = hours_to_google(hours)
        self.auth.call(lambda h: self.info_http.decode(self.info_http.request(
            "PATCH", f"/{location}", params={"updateMask": "regularHours,specialHours"}, json=body, headers=h)))

    def stream(self, cursor: dict | None, on_items: Callable[[list[InboundItem], dict], None],
               stop_event: threading.Event) -> None:
        raise PermanentError("Google reviews are polled; there is no stream.")

    def close(self) -> None:
        self.http.close()
        self.info_http.close()


# --- opening hours in Google's shapes (Business Information API v1: BusinessHours, SpecialHours) ------


def _time_of_day(text: str) -> dict[str, int]:
    """"09:30" -> TimeOfDay {"hours": 9, "minutes": 30}; "24:00" is midnight at the end of the day.
    Zero fields are left out, as proto3 JSON does."""
    hours, minutes = (int(part) for part in text.split(":"))
    return {k: v for k, v in (("hours", hours), ("minutes", minutes)) if v}


def _hhmm(value: Any) -> str:
    value = json_object(value)
    hours, minutes = value.get("hours", 0), value.get("minutes", 0)
    if type(hours) is not int or type(minutes) is not int or not (0 <= hours <= 24 and 0 <= minutes < 60):
        raise ValueError("not a time of day")
    return f"{hours:02d}:{minutes:02d}"


def _date(value: date) -> dict[str, int]:
    return {"year": value.year, "month": value.month, "day": value.day}


def hours_to_google(hours: OpeningHours) -> dict[str, Any]:
    periods = [{"openDay": DAYS[p.open_day], "openTime": _time_of_day(p.open_time), "closeDay": DAYS[p.close_day],
                "closeTime": _time_of_day(p.close_time)} for p in hours.canonical().weekly]
    special: list[dict[str, Any]] = []
    for day in hours.canonical().special:
        if not day.windows:
            special.append({"startDate": _date(day.day), "closed": True})
        for start, end in day.windows:
            overnight = end != "24:00" and end <= start
            special.append({"startDate": _date(day.day), "openTime": _time_of_day(start),
                            "endDate": _date(day.day + timedelta(days=1) if overnight else day.day),
                            "closeTime": _time_of_day(end)})
    return {"regularHours": {"periods": periods}, "specialHours": {"specialHourPeriods": special}}


def hours_from_google(body: Mapping[str, Any]) -> OpeningHours:
    """A location's regularHours/specialHours as OpeningHours; entries that cannot be read are left out."""
    weekly = []
    for period in json_object(body.get("regularHours")).get("periods") or []:
        try:
            period = json_object(period)
            weekly.append(WeeklyPeriod(DAYS.index(period.get("openDay")), _hhmm(period.get("openTime")),
                                       DAYS.index(period.get("closeDay")), _hhmm(period.get("closeTime"))))
        except ValueError:
            continue
    days: dict[date, list[tuple[str, str]]] = {}
    for period in json_object(body.get("specialHours")).get("specialHourPeriods") or []:
        try:
            period = json_object(period)
            start = json_object(period.get("startDate"))
            day = date(start["year"], start["month"], start["day"])
            windows = days.setdefault(day, [])
            if period.get("closed") is not True:
                windows.append((_hhmm(period.get("openTime")), _hhmm(period.get("closeTime"))))
        except (KeyError, TypeError, ValueError):
            continue
    return OpeningHours(tuple(weekly), tuple(SpecialDay(d, tuple(w)) for d, w in days.items())).canonical()


TRAITS = declare(
    "google",
    limits=(("*", TextLimit(REPLY_LIMIT, "bytes", utf8_bytes)),),
    idempotent_sends=True,  # PUT replaces the one reply: sending it twice leaves one reply
    poll_seconds=300.0,  # reviews do not need minutes; the Business Profile APIs allow 300 calls a minute
    spoken_name="Google review",
    reply_notices=(("review", "Your reply is public: it appears under the review on Google for everyone to "
                              "read. Sending again replaces your earlier reply."),),
)

SPEC = ConnectorSpec(
    kind="google",
    title="Google (Business Profile reviews, YouTube)",
    capabilities=GoogleReviewsConnector.capabilities,
    settings=google.SIGN_IN_SETTINGS,
    secret_label=google.SECRET_LABEL,
    needs=google.NEEDS,
    traits=TRAITS,
    factory=lambda settings, secrets: GoogleReviewsConnector(settings, secrets),
    secret_name=google.CLIENT_SECRET,
    secret_names=google.SECRET_NAMES,
    login_flow=google.GoogleLogin,
)
