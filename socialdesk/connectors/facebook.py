"""Facebook Page: Messenger conversations, comments and replies on the Page's posts, public and private
replies, status posts to the Page feed.

Wire facts (Graph API Page, Page Feed, Comment, Conversations and Send API references; shared/
CONNECTORS.md "Facebook Page"); every call goes through `meta.Graph` (version, Page token,
appsecret_proof, usage-header pacing, the Graph error table):
- Messenger: `GET /{page-id}/conversations?platform=messenger&fields=id,updated_time` (newest first,
  cursor paging only), then `GET /{conversation-id}/messages?fields=id,created_time,from,to,message`
  (newest first). Send `POST /{page-id}/messages {recipient: {id: PSID}, messaging_type, message: {text}}`
  through `meta.send_message` (24 h window, HUMAN_AGENT up to 7 days when the owner enabled it).
- Comments: `GET /{page-id}/feed?fields=id,message,created_time,updated_time,permalink_url` (a post's
  updated_time moves with every new comment), then `GET /{post-id}/comments?filter=stream&order=
  reverse_chronological&fields=id,from,message,created_time,permalink_url,parent{id}` (stream: replies
  too, flat, each naming its parent). Reply `POST /{comment-id}/comments {message}` → `{id}`.
- Private reply ("take it private"): `POST /{page-id}/messages {recipient: {comment_id}, message}`, one
  per comment within 7 days; it opens a Messenger conversation that continues only if the person answers.
- Status posts: `POST /{page-id}/feed {message}` → `{id}`. Scheduled ones (capability "schedule_status",
  core/automation/platform_schedule.py), so a closing post goes out while the laptop sleeps: the same call
  with `published=false&scheduled_publish_time=<unix time>` (Meta takes 10 minutes to 75 days ahead; a
  refusal is a PermanentError with Meta's reason), listed with `GET /{page-id}/scheduled_posts`, cancelled
  with `DELETE /{post-id}`. Meta keeps no idempotency key for them, so a post scheduled just before a crash
  is not adopted by key: the next round schedules it again and cancels nothing it does not track (the
  owner may see one duplicate scheduled post in Meta Business Suite after such a crash).
- Ratings/recommendations are deprecated (error 12 since v22): no reviews, said in the account notes.
- Opening hours (`socialdesk hours publish`, connectors/opening_hours.HoursPublisher): the Page's `hours`
  field, a map `{day}_{n}_{open|close}` → "HH:MM" (day = mon..sun, n = 1 or 2: at most two ranges a day),
  read with `GET /{page-id}?fields=hours` and written with `POST /{page-id}` `hours=<JSON map>` (Page
  token, pages_manage_metadata; it replaces the whole map). A Page lists no special dates, so the
  connector declares `special_days = False` and only the week is compared and written. Checked in the
  Page reference as far as our search could reach it (and in a 2026 third-party API that writes the same
  field); not tried against Meta itself. A day with more than two ranges is refused before any call.

Decisions:
- Messenger is walked by `updated_time` until the watermark (`dm_at`; the first poll reads one page as
  history), then each updated conversation's messages newest first until a known id (`dm_last`: the newest
  message id per conversation, for the conversations of the last TRACK days) or the watermark. No Graph
  cursor is stored: they die when messages are deleted. Inbound messages carry `reply_window_ends_at`;
  the Page's own messages (sent from Meta's apps, or our private replies) come back as outbound items.
  A conversation is "dm:<PSID>", so a private reply and the chat that follows are one conversation.
- Comments: the newest `max_posts` posts of the feed; a post is walked when its updated_time passed
  the last complete walk, when an earlier walk is unfinished, or every `rewalk` (edits move nothing).
  At most `max_pages` comment pages per poll in all: a post with 1,000 comments is read over several
  polls, resuming from the stored `after` cursor; a refused cursor (comments changed) restarts that post.
- New, edited and deleted comments are told apart by `comment_memory.CommentMemory` (the cursor's
  `seen`, shared with Instagram): followed for 7 days (the private-reply window), older ones met on a
  first walk are not delivered; a followed comment whose text changed comes again with `edited_at` = when
  we saw it (Graph gives no edit time); one missing from a complete walk of its post is `deleted=True`.
- A top-level comment and its replies are one conversation ("comment:<top-level id>"); the Page's own
  comments come back as outbound items. A customer's own post on the Page (a feed entry `from` someone
  else: the seed case of a customer posting again and again) is a conversation of its own
  ("comment:<post id>", every comment on it joins), answered by a comment on it or privately by
  `recipient: {post_id}`. Recent posts of others that tag the Page (`/{page-id}/tagged`, where Meta lets
  the Page read them) arrive the same way; their comments are not walked.
- A part Meta refuses for lack of a permission (PermissionMissing: Messenger without Advanced Access)
  does not stop the other: it becomes the connector's `notice`, with meta.ADVANCED_ACCESS. So does a
  first poll that finds nothing at all. Code 190 (the login is gone) stops the account (AuthError).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from socialdesk.connectors import meta
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
    ScheduledPost,
    TransientError,
    convert_items,
)
from socialdesk.connectors.comment_memory import CommentMemory
from socialdesk.connectors.http import json_object, json_string, utcnow
from socialdesk.connectors.opening_hours import OpeningHours, WeeklyPeriod
from socialdesk.connectors.text_counting import codepoints
from socialdesk.connectors.traits import TextLimit, declare

log = logging.getLogger("socialdesk.connectors.facebook")

TRACK = timedelta(days=7)
HOURS_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # the Page `hours` keys, weekday() order
_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
PRIVATE = "private"  # ReplyTarget.mode of a private reply (traits ReplyMode key)
COMMENT_FIELDS = "id,from,message,created_time,permalink_url,parent{id}"
POST_FIELDS = "id,from,message,created_time,updated_time,permalink_url"
VISITOR = "_visitor_post"  # marks a customer's post (on the Page or tagging it) among the comments to convert
MESSAGE_FIELDS = "id,created_time,from,to,message"
MESSENGER_LIMIT = 2000  # Send API: text up to 2,000 characters
COMMENT_LIMIT = 8000
POST_LIMIT = 63206


def _iso(value: datetime) -> str:
    return value.isoformat()


def _when(value: Any) -> datetime | None:
    return meta.parse_time(value) if isinstance(value, str) else None


def _graph_id(value: Any) -> str:
    """A Graph id from hostile JSON: digits and underscores (post ids are "<page>_<post>"), else ""."""
    text = json_string(value)
    return text if text and len(text) <= 64 and all(c.isdigit() or c in "_" for c in text) else ""


class FacebookConnector:
    kind = "facebook"
    capabilities = frozenset({"dm", "comment", "post_status", "schedule_status"})

    def __init__(
        self,
        settings: dict,
        secrets: AccountSecrets,
        *,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        limits: dict | None = None,
        page_size: int = 25,
        max_posts: int = 10,
        max_pages: int = 10,
        rewalk: timedelta = timedelta(hours=1),
    ):
        self.settings = settings
        self.page_id = _graph_id(settings.get(meta.PAGE_ID))
        if not self.page_id:
            raise PermanentError("This Facebook account has no Page id: add it again through the Meta sign-in.")
        self.page_name = str(settings.get(meta.PAGE_NAME) or "")
        self.human_agent = str(settings.get(meta.HUMAN_AGENT) or "").strip().lower() in ("yes", "true", "1", "on")
        self.now = now
        self.graph = meta.Graph(settings, secrets, service="Facebook", now=now, sleep=sleep, limits=limits)
        self.http = self.graph.http  # the engine hands it the account's rate-limit and usage memory
        self.page_size = page_size
        self.max_posts = max_posts
        self.max_pages = max_pages
        self.rewalk = rewalk
        self.notice = ""

    # -- inbound ---------------------------------------------------------------------------------
    def fetch(self, cursor: dict | None) -> tuple[list[InboundItem], dict]:
        cursor = dict(cursor or {})
        first = not cursor
        refused: list[str] = []
        items: list[InboundItem] = []
        parts = (("Messenger conversations", self._messenger), ("comments on the Page's posts", self._comments))
        for what, part in parts:
            try:
                got, state = part(cursor)
            except meta.PermissionMissing:
                refused.append(what)
                continue
            items += got
            cursor.update(state)
        if refused:
            self.notice = "Facebook refused " + " and ".join(refused) + ". " + meta.ADVANCED_ACCESS
        elif first and not items:
            self.notice = "Facebook returned no conversations or comments yet. " + meta.ADVANCED_ACCESS
        else:
            self.notice = ""
        if refused and len(refused) == 2:
            raise meta.PermissionMissing(self.notice)
        items.sort(key=lambda i: i.created_at)
        return items, cursor

    # Messenger ---------------------------------------------------------------------------------------
    def _messenger(self, cursor: dict) -> tuple[list[InboundItem], dict]:
        mark = _when(cursor.get("dm_at"))
        # conversation id -> [newest message id, when the conversation was updated]
        known: dict[str, list] = {k: v for k, v in json_object(cursor.get("dm_last")).items()
                                  if isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)}
        updated: list[tuple[str, datetime]] = []
        done = False
        for page in self.graph.pages(f"{self.page_id}/conversations", {
            "platform": "messenger", "fields": "id,updated_time", "limit": self.page_size,
        }, max_pages=1 if mark is None else self.max_pages):
            for conv in page:
                conv_id, at = json_string(conv.get("id")), _when(conv.get("updated_time"))
                if not conv_id or at is None or len(conv_id) > 128:
                    continue
                # Strictly older: a conversation updated in the watermark's own second is walked again
                # (its known newest id stops that walk at once), so a same-second message is not lost.
                if mark is not None and at < mark:
                    done = True
                    break
                updated.append((conv_id, at))
            if done:
                break
        if mark is not None and not done and updated:
            log.warning("Facebook: more than %d conversations changed since the last poll; the older ones are "
                        "not read", len(updated))
        raw: list[tuple[str, dict[str, Any]]] = []
        # Oldest first, within a budget of message pages per poll: when it runs out, the watermark stays at
        # the last conversation read in full, and the next poll continues from there.
        budget = self.max_pages * 3
        newest = mark
        for conv_id, at in reversed(updated):
            if budget <= 0:
                break
            stop_id = known.get(conv_id, ["", ""])[0]
            first_id = ""
            pages = 1 if mark is None and not stop_id else self.max_pages  # history: one page a conversation
            limit, read, hit = min(pages, budget), 0, False
            for page in self.graph.pages(f"{conv_id}/messages", {"fields": MESSAGE_FIELDS, "limit": self.page_size},
                                         max_pages=limit):
                budget -= 1
                read += 1
                for message in page:
                    message_id = json_string(message.get("id"))
                    created = _when(message.get("created_time"))
                    if not message_id:
                        continue
                    first_id = first_id or message_id
                    if message_id == stop_id or (mark is not None and created is not None and created < mark
                                                 and not stop_id):
                        hit = True
                        break
                    raw.append((conv_id, message))
                if hit:
                    break
            if not hit and budget <= 0 and read == limit < pages:
                break  # cut short by the budget: this conversation is read again, from the top, next poll
            if first_id:
                known[conv_id] = [first_id, _iso(at)]
            newest = at if newest is None or at > newest else newest
        # Forget conversations not updated for TRACK, so the cursor stays small.
        horizon = self.now() - TRACK
        kept = {k: v for k, v in known.items() if (_when(v[1]) or horizon) >= horizon}
        items = convert_items(raw, lambda entry: self._dm_item(*entry), what="Messenger message",
                              ident=lambda entry: entry[1].get("id"))
        out: dict[str, Any] = {"dm_last": kept}
        if newest is not None:
            out["dm_at"] = _iso(newest)
        return items, out

    def _dm_item(self, conv_id: str, message: dict[str, Any]) -> InboundItem | None:
        sender = json_object(message.get("from"))
        sender_id = json_string(sender.get("id"))
        ours = sender_id == self.page_id
        if ours:
            recipients = json_object(message.get("to")).get("data")
            other = next((json_object(r) for r in recipients or [] if json_object(r).get("id") != self.page_id), {})
        else:
            other = sender
        psid = json_string(other.get("id"))
        if not psid:
            raise ValueError("a Messenger message without a person")
        created = _when(message.get("created_time")) or self.now()
        return InboundItem(
            external_id=json_string(message["id"]),
            conversation_external_id=f"dm:{psid}",
            kind="dm",
            public=False,
            author=Author(external_id=sender_id, display_name=json_string(sender.get("name"))),
            text=json_string(message.get("message")) or "(a message without text: open it in Messenger)",
            created_at=created,
            outbound=ours,
            meta={"psid": psid, "conversation_id": conv_id, "created_time": _iso(created)},
            reply_window_ends_at=None if ours else meta.window_end(created),
        )

    # Comments ----------------------------------------------------------------------------------------
    def _comments(self, cursor: dict) -> tuple[list[InboundItem], dict]:
        now = self.now()
        horizon = now - TRACK
        memory = CommentMemory(cursor.get("seen"), now, track=TRACK)
        posts_state: dict[str, dict] = {k: json_object(v) for k, v in json_object(cursor.get("posts")).items()}
        posts: list[dict[str, Any]] = []
        for page in self.graph.pages(f"{self.page_id}/feed", {
            "fields": POST_FIELDS, "limit": self.max_posts,
        }, max_pages=1):
            posts.extend(page)
        budget = self.max_pages
        raw: list[tuple[dict[str, Any], dict[str, Any], str]] = []  # (comment or visitor post, post, root)
        for post in self._tagged():
            if _graph_id(post.get("id")) and (_when(post.get("created_time")) or now) >= horizon:
                raw.append(({**post, VISITOR: True}, post, _graph_id(post.get("id"))))
        for post in posts[: self.max_posts]:
            post_id = _graph_id(post.get("id"))
            updated = _when(post.get("updated_time"))
            if not post_id or updated is None:
                continue
            visitor = json_string(json_object(post.get("from")).get("id")) not in ("", self.page_id)
            if visitor and (_when(post.get("created_time")) or now) >= horizon:
                # A customer's own post on the Page: the start of its conversation, comments join it.
                raw.append(({**post, VISITOR: True}, post, post_id))
            state = posts_state.get(post_id, {})
            seen_updated, walked_at = _when(state.get("at")), _when(state.get("walked"))
            after = json_string(state.get("after"))
            # Due: an unfinished walk, a post never walked or updated since (a new comment moves its
            # updated_time), or a recent post not walked for `rewalk` (edits move nothing).
            due = (after or seen_updated is None or walked_at is None or updated > seen_updated
                   or (updated >= horizon and now - walked_at >= self.rewalk))
            if not due or budget <= 0:
                continue
            params: dict[str, Any] = {"filter": "stream", "order": "reverse_chronological",
                                      "fields": COMMENT_FIELDS, "limit": 100}
            complete_from_top = not after
            if after:
                params["after"] = after
            found: list[dict[str, Any]] = []
            next_after = ""
            reached_old = False
            try:
                body = self.graph.get(f"{post_id}/comments", params)
            except PermanentError:
                if not after:
                    raise
                body = self.graph.get(f"{post_id}/comments", {k: v for k, v in params.items() if k != "after"})
                complete_from_top = True
            while True:
                budget -= 1
                data = body.get("data")
                for comment in data if isinstance(data, list) else []:
                    if not isinstance(comment, dict):
                        continue
                    created = _when(comment.get("created_time"))
                    if created is not None and created < horizon:
                        reached_old = True
                        break
                    found.append(comment)
                if reached_old:
                    break
                cursors = json_object(json_object(body.get("paging")).get("cursors"))
                has_next = bool(json_string(json_object(body.get("paging")).get("next")))
                if not has_next:
                    break
                if budget <= 0:
                    next_after = json_string(cursors.get("after"))[:512]
                    break
                try:
                    body = self.graph.get(f"{post_id}/comments", {**params, "after": json_string(cursors.get("after"))})
                except PermanentError:  # a dead cursor: restart this post next poll
                    next_after = ""
                    complete_from_top = False
                    break
            roots = {json_string(c.get("id")): json_string(json_object(c.get("parent")).get("id")) for c in found}
            for comment in found:
                raw.append((comment, post, post_id if visitor else self._root(json_string(comment.get("id")), roots)))
            if next_after:
                posts_state[post_id] = {"after": next_after, "at": state.get("at"), "walked": state.get("walked")}
            else:
                # The updated_time read before the walk: a comment made during it moves the post past this.
                posts_state[post_id] = {"at": _iso(updated), "walked": _iso(now)}
                if complete_from_top:  # everything of this post younger than TRACK was read: deletions
                    present = {json_string(c.get("id")) for c in found} | {post_id}  # a customer's post itself
                    for comment_id, at in memory.gone(post_id, present):
                        raw.append(({"id": comment_id, "created_time": _iso(at), "deleted": True}, post, comment_id))
        items = convert_items(raw, lambda entry: self._comment_item(entry[0], entry[1], entry[2], memory),
                              what="Facebook comment", ident=lambda entry: entry[0].get("id"))
        live_posts = {_graph_id(p.get("id")) for p in posts}
        posts_state = {k: v for k, v in posts_state.items() if k in live_posts}
        return items, {"seen": memory.to_json(), "posts": posts_state}

    def _tagged(self) -> list[dict[str, Any]]:
        """Recent posts of others that tag the Page (`/{page-id}/tagged`), where Meta allows reading them;
        a refusal here (not every Page may read them) only leaves them out."""
        try:
            return next(iter(self.graph.pages(f"{self.page_id}/tagged", {"fields": POST_FIELDS, "limit": self.max_posts},
                                              max_pages=1)), [])
        except (PermanentError, meta.PermissionMissing) as exc:
            log.info("Facebook: posts tagging the Page not read (%s)", type(exc).__name__)
            return []

    @staticmethod
    def _root(comment_id: str, parents: dict[str, str]) -> str:
        current, hops = comment_id, 0
        while parents.get(current) and hops < 10:
            current, hops = parents[current], hops + 1
        return current

    def _comment_item(self, comment: dict[str, Any], post: dict[str, Any], root: str,
                      memory: CommentMemory) -> InboundItem | None:
        comment_id = json_string(comment.get("id"))
        if not comment_id:
            raise ValueError("a comment without an id")
        post_id = _graph_id(post.get("id"))
        if comment.get("deleted") is True:
            # A known id: ingest finds the stored message by it (the conversation id is not used).
            return InboundItem(external_id=comment_id, conversation_external_id=f"comment:{root}", kind="comment",
                               public=True, author=Author(external_id=""), text="",
                               created_at=_when(comment.get("created_time")) or self.now(), deleted=True)
        text = json_string(comment.get("message"))
        created = _when(comment.get("created_time")) or self.now()
        deliver, edited_at = memory.take(comment_id, post_id, text, created)
        if not deliver:
            return None
        sender = json_object(comment.get("from"))
        sender_id = json_string(sender.get("id"))
        parent_id = json_string(json_object(comment.get("parent")).get("id"))
        return InboundItem(
            external_id=comment_id,
            conversation_external_id=f"comment:{root}",
            kind="comment",
            public=True,
            author=Author(external_id=sender_id, display_name=json_string(sender.get("name"))),
            text=text or "(a comment without text, e.g. a photo or sticker: open it on Facebook)",
            created_at=created,
            permalink=json_string(comment.get("permalink_url")),
            subject=(json_string(post.get("message")).split("\n", 1)[0])[:120],
            in_reply_to=parent_id,
            outbound=sender_id == self.page_id,
            edited_at=edited_at,
            meta={"post_id": post_id, "created_time": _iso(created), **({"parent_id": parent_id} if parent_id else {}),
                  **({"visitor_post": True} if comment.get(VISITOR) else {})},
        )

    # -- outbound --------------------------------------------------------------------------------
    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult:
        meta_ = target.parent_meta or {}
        if target.kind == "dm":
            limit_check(text, MESSENGER_LIMIT, "A Messenger message")
            psid = str(meta_.get("psid") or target.conversation_external_id.removeprefix("dm:"))
            if not psid:
                raise PermanentError("This Messenger conversation names no person to answer.")
            return meta.send_message(self.graph, f"{self.page_id}/messages", {"id": psid}, text, late=target.late,
                                     human_agent=self.human_agent, last_inbound_at=_when(meta_.get("created_time")),
                                     open_in="Messenger")
        comment_id = target.parent_external_id
        if not comment_id:
            raise PermanentError("This comment conversation has nothing to answer.")
        if target.mode == PRIVATE:
            limit_check(text, MESSENGER_LIMIT, "A private reply")
            created = _when(meta_.get("created_time"))
            if created is not None and self.now() - created > meta.PRIVATE_REPLY_WINDOW:
                raise NotAllowed("Facebook takes a private reply only within 7 days of the comment: answer it "
                                 "publicly, or open it on Facebook.")
            # A customer's post on the Page is answered privately by post_id, a comment by comment_id.
            recipient = {"post_id" if meta_.get("visitor_post") else "comment_id": comment_id}
            return meta.send_message(self.graph, f"{self.page_id}/messages", recipient, text,
                                     late=False, human_agent=self.human_agent, open_in="Messenger")
        if target.mode:
            raise PermanentError(f"Facebook has no reply mode {target.mode!r}.")
        limit_check(text, COMMENT_LIMIT, "A comment")
        answer = self.graph.post(f"{comment_id}/comments", data={"message": text})
        new_id = json_string(answer.get("id"))
        if not new_id:
            raise TransientError("Facebook did not confirm the comment. Will try again.")
        return OutboundResult(external_id=new_id)

    def post_status(self, text: str, *, idempotency_key: str) -> OutboundResult:
        limit_check(text, POST_LIMIT, "A Page post")
        answer = self.graph.post(f"{self.page_id}/feed", data={"message": text})
        post_id = json_string(answer.get("id"))
        if not post_id:
            raise TransientError("Facebook did not confirm the post. Will try again.")
        return OutboundResult(external_id=post_id)

    # -- scheduled status posts (capability "schedule_status", connectors/base.py) ---------------
    def schedule_status(self, text: str, at: datetime, *, idempotency_key: str) -> ScheduledPost:
        limit_check(text, POST_LIMIT, "A Page post")
        answer = self.graph.post(f"{self.page_id}/feed", data={
            "message": text, "published": "false", "scheduled_publish_time": str(int(at.timestamp()))})
        post_id = _graph_id(answer.get("id"))
        if not post_id:
            raise TransientError("Facebook did not confirm the scheduled post. Will try again.")
        return ScheduledPost(post_id, at, text)

    def cancel_scheduled(self, scheduled_id: str) -> bool:
        if not _graph_id(scheduled_id):  # it goes into the URL path
            return False
        try:
            answer = self.graph.call("DELETE", scheduled_id)
        except PermanentError as exc:
            if "does not exist" in str(exc).lower():
                return False  # published or deleted meanwhile
            raise
        return answer.get("success") is True

    def list_scheduled(self) -> list[ScheduledPost]:
        found: list[ScheduledPost] = []
        for page in self.graph.pages(f"{self.page_id}/scheduled_posts", {
            "fields": "id,message,scheduled_publish_time", "limit": 100,
        }, max_pages=5):
            for entry in page:
                post_id, when = _graph_id(entry.get("id")), _unix_or_iso(entry.get("scheduled_publish_time"))
                if post_id and when is not None:
                    found.append(ScheduledPost(post_id, when, json_string(entry.get("message"))))
        return found

    # -- opening hours (connectors/opening_hours.HoursPublisher, core/hours_publish.py) -----------
    special_days = False  # a Page lists its week only (opening_hours.kept)

    def current_hours(self) -> OpeningHours:
        page = self.graph.get(self.page_id, {"fields": "hours"})
        hours = json_object(page.get("hours"))
        weekly = []
        for day_index, day in enumerate(HOURS_DAYS):
            for n in (1, 2):
                opens, closes = json_string(hours.get(f"{day}_{n}_open")), json_string(hours.get(f"{day}_{n}_close"))
                if not (_HHMM.fullmatch(opens) and _HHMM.fullmatch(closes)):
                    continue
                if closes == "00:00":
                    weekly.append(WeeklyPeriod(day_index, opens, day_index, "24:00"))
                elif closes <= opens:  # overnight: closes the next day
                    weekly.append(WeeklyPeriod(day_index, opens, (day_index + 1) % 7, closes))
                else:
                    weekly.append(WeeklyPeriod(day_index, opens, day_index, closes))
        return OpeningHours(tuple(weekly)).canonical()

    def publish_hours(self, hours: OpeningHours) -> None:
        ranges: dict[int, list[WeeklyPeriod]] = {}
        for period in sorted(hours.weekly):
            ranges.setdefault(period.open_day, []).append(period)
        out: dict[str, str] = {}
        for day_index, periods in ranges.items():
            if len(periods) > 2:
                raise PermanentError(f"A Facebook Page takes at most two opening ranges a day; "
                                     f"{HOURS_DAYS[day_index].title()} has {len(periods)}. Nothing was changed.")
            for n, period in enumerate(periods, start=1):
                out[f"{HOURS_DAYS[day_index]}_{n}_open"] = period.open_time
                out[f"{HOURS_DAYS[day_index]}_{n}_close"] = "00:00" if period.close_time == "24:00" else period.close_time
        answer = self.graph.post(self.page_id, data={"hours": json.dumps(out, sort_keys=True)})
        if answer.get("success") is not True:
            raise TransientError("Facebook did not confirm the new opening hours. Will try again.")

    def check(self) -> AccountInfo:
        page = self.graph.get(self.page_id, {"fields": "id,name"})
        name = json_string(page.get("name")) or self.page_name or self.page_id
        return AccountInfo(display_name=name, handle=self.page_id, notes=(meta.FACEBOOK_NOTE,))

    def stream(self, cursor: dict | None, on_items: Callable[[list[InboundItem], dict], None],
               stop_event: threading.Event) -> None:
        """Not offered: Meta pushes only to webhooks (a public server), so Facebook is polled."""
        raise PermanentError("Facebook is polled; it has no stream a desktop app can open.")

    def close(self) -> None:
        self.graph.close()


def _unix_or_iso(value: Any) -> datetime | None:
    """Graph gives scheduled_publish_time as a Unix time (or, in some answers, an ISO time)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 10_000_000_000:
        return datetime.fromtimestamp(value, timezone.utc)
    return _when(value)


def limit_check(text: str, limit: int, what: str) -> None:
    if codepoints(text) > limit:
        raise PermanentError(f"{what} may be at most {limit:,} characters on Facebook.")


TRAITS = declare(
    "facebook",
    limits=(("dm", TextLimit(MESSENGER_LIMIT, "characters", codepoints)),
            ("post", TextLimit(POST_LIMIT, "characters", codepoints)),
            ("*", TextLimit(COMMENT_LIMIT, "characters", codepoints))),
    poll_seconds=60.0,
    reply_window=meta.REPLY_WINDOW,
    reply_modes=(meta.PRIVATE_REPLY,),
)

SPEC = ConnectorSpec(
    kind="facebook",
    title="Facebook Page (and Instagram)",
    capabilities=FacebookConnector.capabilities,
    settings=meta.SETTINGS,
    secret_label=meta.SECRET_LABEL,
    needs="Your own Meta app (App ID and App Secret) and a Facebook Page you manage; you sign in in your "
          "browser, then pick the Pages and their Instagram accounts. No reviews: Facebook no longer offers "
          "Page ratings to apps.",
    traits=TRAITS,
    factory=lambda settings, secrets: FacebookConnector(settings, secrets),
    secret_name=meta.APP_SECRET,
    secret_names=meta.SECRET_NAMES,
    login_flow=meta.MetaLogin,
    scheduled_posts_where="in Meta Business Suite, among the Page's scheduled posts (Planner or Content)",
)
