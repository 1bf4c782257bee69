"""Instagram (a professional account): comments on its recent media and their replies, direct messages,
public replies to comments, DM replies and private replies to comments.

Wire facts (Meta's IG User/IG Media/IG Comment references, the Conversations API and the Send API pages;
shared/CONNECTORS.md "Instagram"):
- The account comes from the one Meta sign-in (`meta.MetaLogin`; "Add account → Instagram" runs it as
  `InstagramLogin`, which only offers the Instagram accounts and adds their notes): an Instagram
  professional account linked to a Facebook Page, reached on
  graph.facebook.com with that Page's token ("Instagram API with Facebook Login"). Every call goes through
  `meta.Graph` (version, appsecret_proof, Graph's error table, usage-header throttling), never a second
  Graph client. Settings: `ig_user_id` (media and comments), `page_id` (conversations and the Send API:
  for this login both live on the Page node, `/{page-id}/conversations?platform=instagram` and
  `/{page-id}/messages`).
- Comments: `GET /{ig-user-id}/media?fields=id,caption,comments_count,timestamp,permalink` (newest first;
  one page of `recent_media`), then `GET /{ig-media-id}/comments?fields=<COMMENT_FIELDS>,replies{...}`
  with cursor paging only and no documented order, so a media's comments are walked whole. Reply
  `POST /{ig-comment-id}/replies message=...` → `{"id"}`; "you can only reply to top-level comments;
  replies to a reply will be added to the top-level comment", and hidden comments cannot be answered.
- DMs: `GET /{page-id}/conversations?platform=instagram&fields=id,updated_time` (newest first), then
  `GET /{conversation-id}?fields=messages{id,created_time,from,to,message}` (newest first; only the 20
  newest messages carry details). Send `POST /{page-id}/messages {recipient: {id: IGSID}, message: {text}}`
  through `meta.send_message` (the 24 h window, HUMAN_AGENT up to 7 days, private replies
  `recipient: {comment_id}`: one per comment within 7 days): Messenger's rules, written once in meta.py.

Decisions:
- Bounded work per poll. Media: one page of the newest `recent_media`. A media's comments are walked only
  when its `comments_count` changed since the last complete walk, when an earlier walk is unfinished, or
  every REWALK (15 min) while it has followed comments (edits change no count), and at most `max_pages`
  comment pages per poll across all media: a post with 1,000 comments is read over several polls, resuming
  from the stored `after` cursor. Graph cursors die when comments change, so a walk whose cursor is
  refused starts that media afresh (once per poll).
- New, edited and deleted comments are told apart by `comment_memory.CommentMemory` (the cursor's
  `seen`, one place for the Graph connectors): comments older than 7 days when first met are history and
  not delivered; a followed comment whose text changed comes again with `edited_at` (Graph reports no
  edit time); one missing from a complete walk of its media
  (started at the first page in this poll) comes with `deleted=True`.
- Conversations: a top-level comment and its replies are one conversation ("comment:<top-level id>"),
  public; our own replies come back as outbound items. Our own top-level comments start no conversation.
  DMs group by the person ("dm:<IGSID>"), so a private reply and the DMs that follow are one conversation.
- DMs are walked by `updated_time` until the watermark (the newest HISTORY_CONVERSATIONS as history on the
  first poll; each conversation's messages cost a call, paced to the Conversations API's 2 calls/s); the
  watermark and the ids delivered at exactly that second are the cursor, so nothing is skipped or doubled
  when two messages share a second. No Graph cursor is stored for DMs. Each inbound DM carries
  `reply_window_ends_at` (`meta.window_end`).
- Replying to a reply: the platform puts it on the top-level comment, so we answer the top-level comment
  and start the text with the person's @username (unless it already names them), which is what Instagram's
  own app does. A hidden comment is refused (NotAllowed) before any call.
- What cannot be polled is said in the account notes (AccountInfo.notes): @mentions of the account in
  other people's captions and comments reach apps only by webhook; DM requests inactive for 30 days are
  not returned.
- Tokens: the Page token of a long-lived user token does not expire, so nothing is refreshed; if Meta
  invalidates it (password change, app removed) Graph answers 190 and the owner signs in again.
  "Instagram API with Instagram Login" (graph.instagram.com, 60-day tokens renewed with
  `GET /refresh_access_token?grant_type=ig_refresh_token` once a day old) is not offered: its
  authorization window redirects only to an exactly registered https address, which a desktop app has
  no page at, and Meta's documented desktop redirect (login_success.html) belongs to Facebook Login. An
  Instagram account must therefore be linked to a Facebook Page (Instagram app → Settings → Business
  tools); it then has comments, DMs and private replies as here, with a token that needs no renewal.
- A part of the account that Meta refuses (DMs without Advanced Access, comments without the comments
  permission) does not stop the other part: its refusal becomes the connector's `notice`. So does a
  first poll that finds nothing at all, which is how Meta answers an app without Advanced Access.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import replace
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
    SkipItem,
    TransientError,
    convert_items,
)
from socialdesk.connectors.comment_memory import CommentMemory
from socialdesk.connectors.http import json_object, json_string, utcnow
from socialdesk.connectors.oauth import LoginAccount, OAuthClient, Tokens
from socialdesk.connectors.text_counting import codepoints, utf8_bytes
from socialdesk.connectors.traits import TextLimit, declare

log = logging.getLogger("socialdesk.connectors.instagram")

REWALK = timedelta(minutes=15)  # a media with followed comments is re-read this often (edits change no count)
HISTORY_CONVERSATIONS = 10  # conversations read as history on the first poll
CONVERSATIONS_PACE_S = 0.5  # between calls for a conversation's messages (Conversations API: 2 calls/s)
COMMENT_LIMIT = 2200  # characters in an Instagram comment
DM_LIMIT = 1000  # bytes of UTF-8 in a message sent through the Send API
_ITEM_FIELDS = "id,text,timestamp,from{id,username},username,hidden,parent_id"
COMMENT_FIELDS = f"{_ITEM_FIELDS},replies{{{_ITEM_FIELDS}}}"
MEDIA_FIELDS = "id,caption,comments_count,timestamp,permalink,media_product_type"
MESSAGE_FIELDS = "messages{id,created_time,from,to,message}"
PRIVATE = meta.PRIVATE_REPLY.key  # ReplyTarget.mode of a private reply to a comment
NO_TEXT = "[a message without text (a photo, a reaction or a shared post): open it in Instagram]"

MENTIONS_NOTE = (
    "Instagram tells apps about @mentions of this account in other people's posts, captions and comments "
    "only through webhooks, which a desktop app cannot receive: socialdesk cannot show those mentions. "
    "Check them in Instagram's Activity tab."
)
REQUESTS_NOTE = (
    "Direct messages in Instagram's Requests folder that saw no activity for 30 days are not returned by "
    "the API; answer those in the Instagram app."
)
TOKEN_NOTE = (
    "Signed in through the linked Facebook Page: its token does not expire. If you change your Facebook "
    "password or remove the app, sign in again."
)

NOTES = (MENTIONS_NOTE, REQUESTS_NOTE, TOKEN_NOTE)


def _id_key(value: str) -> tuple[int, str]:
    return (len(value), value)


class InstagramConnector:
    kind = "instagram"
    capabilities = frozenset({"comment", "dm"})

    def __init__(
        self,
        settings: dict,
        secrets: AccountSecrets,
        *,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        page_limit: int = 50,
        recent_media: int = 10,
        max_pages: int = 20,
        max_conversation_pages: int = 4,
        limits: dict | None = None,
    ):
        self.settings = settings
        self.now = now
        self.ig_user_id = str(settings.get(meta.IG_USER_ID) or "")
        self.page_id = str(settings.get(meta.PAGE_ID) or "")
        if not self.ig_user_id.isdigit() or not self.page_id.isdigit():
            raise PermanentError("This Instagram account has no linked Page or account id: add it again "
                                 "through the Meta sign-in (Accounts → Add account → Instagram).")
        self.username = str(settings.get(meta.IG_USERNAME) or "")
        self.sleep = sleep
        self.graph = meta.Graph(settings, secrets, service="Instagram", now=now, sleep=sleep, limits=limits)
        self.http = self.graph.http  # the engine hands it the account's rate-limit and usage memory
        self.page_limit = page_limit
        self.recent_media = recent_media
        self.max_pages = max_pages
        self.max_conversation_pages = max_conversation_pages
        self.notice = ""  # shown on the account by the sync engine (connectors/base.py)

    # -- inbound -------------------------------------------------------------------------------------
    def fetch(self, cursor: dict | None) -> tuple[list[InboundItem], dict]:
        cursor = cursor or {}
        now = self.now()
        items: list[InboundItem] = []
        out: dict[str, Any] = {}
        refused: list[str] = []
        for name, part in (("comments on your posts", self._fetch_comments),
                           ("direct messages", self._fetch_messages)):
            try:
                got, state = part(cursor, now)
            except meta.PermissionMissing:
                # One part refused for lack of a permission (DMs without Advanced Access) while the other
                # works: keep that part's old state and say so; a dead token (190) stops the account.
                refused.append(name)
                out.update({k: v for k, v in cursor.items() if k in _PART_KEYS[name]})
                continue
            items.extend(got)
            out.update(state)
        if refused:
            self.notice = "Instagram refused " + " and ".join(refused) + ". " + meta.ADVANCED_ACCESS
        elif not cursor and not items:
            # Without Advanced Access the API answers with nothing rather than refusing: say why it may be.
            self.notice = "Instagram returned no comments or messages yet. " + meta.ADVANCED_ACCESS
        else:
            self.notice = ""
        if len(refused) == 2:
            raise meta.PermissionMissing(self.notice)
        items.sort(key=lambda i: (i.created_at, _id_key(i.external_id)))
        return items, out

    # comments ---------------------------------------------------------------------------------------
    def _fetch_comments(self, cursor: dict, now: datetime) -> tuple[list[InboundItem], dict]:
        media_state: dict[str, dict] = {k: dict(v) for k, v in json_object(cursor.get("media")).items()
                                        if isinstance(v, dict)}
        memory = CommentMemory(cursor.get("seen"), now)
        media_page = self.graph.get(f"{self.ig_user_id}/media",
                                    params={"fields": MEDIA_FIELDS, "limit": self.recent_media})
        media_list = [m for m in _data(media_page) if isinstance(m.get("id"), str) and m["id"].isdigit()]
        budget = [self.max_pages]
        entries: list[tuple[dict, dict]] = []  # (comment, media)
        deleted: list[tuple[str, str, datetime]] = []  # (comment id, media id, created)
        for media in media_list:
            state = media_state.get(media["id"], {})
            count = media.get("comments_count")
            followed = memory.follows(media["id"])
            walked = meta.parse_time(state.get("at")) if isinstance(state.get("at"), str) else None
            due = (count is None or count != state.get("n") or "after" in state
                   or (followed and (walked is None or now - walked >= REWALK)))
            if not due or budget[0] <= 0:
                continue
            complete, from_start, comments, after = self._walk_media(media["id"], state.get("after"), budget)
            entries.extend((c, media) for c in comments)
            if complete:
                media_state[media["id"]] = {"n": count, "at": now.isoformat()}
                if from_start:
                    present = {json_string(c.get("id")) for c in comments}
                    deleted += [(cid, media["id"], at) for cid, at in memory.gone(media["id"], present)]
            else:
                media_state[media["id"]] = {**{k: v for k, v in state.items() if k != "after"}, "after": after}
        items = convert_items(entries, lambda e: self._comment_item(e[0], e[1], memory),
                              what="Instagram comment", ident=lambda e: e[0].get("id"))
        items += [self._deleted_item(cid, media_id, created, now) for cid, media_id, created in deleted]
        recent = {m["id"] for m in media_list}
        media_state = {k: v for k, v in media_state.items() if k in recent}
        return items, {"media": media_state, "seen": memory.to_json()}

    def _walk_media(self, media_id: str, after: Any, budget: list[int]) -> tuple[bool, bool, list[dict], str]:
        """(complete, started at the first page, comments and replies read, cursor to resume from)."""
        comments: list[dict] = []
        from_start = not isinstance(after, str) or not after
        params: dict[str, Any] = {"fields": COMMENT_FIELDS, "limit": self.page_limit}
        if not from_start:
            params["after"] = after
        restarted = False
        while budget[0] > 0:
            budget[0] -= 1
            try:
                page = self.graph.get(f"{media_id}/comments", params=params)
            except PermanentError:
                if "after" not in params or restarted:
                    raise
                # A cursor Graph no longer knows (the comments under it changed): read the media afresh.
                log.info("Instagram refused a comments cursor; reading media %s from the start", media_id)
                params.pop("after")
                from_start, restarted = True, True
                comments.clear()
                continue
            for comment in _data(page):
                comments.append(comment)
                replies = json_object(comment.get("replies"))
                comments.extend(r for r in _data(replies))
                if _has_next(replies):
                    comments.extend(self._replies(str(comment.get("id")), replies, budget))
            after_cursor = _next_after(page)
            if after_cursor is None:
                return True, from_start, comments, ""
            params["after"] = after_cursor
        return False, from_start, comments, params.get("after", "")

    def _replies(self, comment_id: str, first: dict, budget: list[int]) -> list[dict]:
        out: list[dict] = []
        after = _next_after(first)
        while after is not None and budget[0] > 0 and comment_id.isdigit():
            budget[0] -= 1
            page = self.graph.get(f"{comment_id}/replies",
                                  params={"fields": _ITEM_FIELDS, "limit": self.page_limit, "after": after})
            out.extend(_data(page))
            after = _next_after(page)
        return out

    def _comment_item(self, comment: dict, media: dict, memory: CommentMemory) -> InboundItem | None:
        cid = comment.get("id")
        if not isinstance(cid, str) or not cid.isdigit():
            raise SkipItem("no usable id")
        created = meta.parse_time(comment.get("timestamp"))
        if created is None:
            raise SkipItem("no usable timestamp")
        text = json_string(comment.get("text"))
        author = json_object(comment.get("from"))
        author_id = json_string(author.get("id")) or ""
        username = json_string(author.get("username")) or json_string(comment.get("username"))
        if not author_id.isdigit():
            # `from` (the commenter's IGSID) came with Graph in 2021; without it the username names them.
            author_id = f"username:{username}" if username else ""
        if not author_id:
            raise SkipItem("no author")
        parent = json_string(comment.get("parent_id"))
        ours = author_id == self.ig_user_id or (bool(self.username) and username == self.username)
        if ours and not parent:
            return None  # our own top-level comment starts no conversation
        deliver, edited_at = memory.take(cid, str(media["id"]), text, created)
        if not deliver:
            return None  # delivered before and unchanged, or history older than the comments we follow
        caption = " ".join(json_string(media.get("caption")).split())
        return InboundItem(
            external_id=cid,
            conversation_external_id=f"comment:{parent or cid}",
            kind="comment",
            public=True,
            author=Author(external_id=author_id, handle=f"@{username}" if username else "",
                          display_name=username,
                          profile_url=f"https://www.instagram.com/{username}/" if username.replace(".", "")
                          .replace("_", "").isalnum() else ""),
            text=text if text.strip() else "[an empty comment]",
            created_at=created,
            permalink=json_string(media.get("permalink")),
            subject=caption[:80],
            in_reply_to=parent,
            outbound=ours,
            meta={"media_id": str(media["id"]), "username": username, "created_time": created.isoformat(),
                  **({"parent_id": parent} if parent else {}),
                  **({"hidden": True} if comment.get("hidden") is True else {})},
            edited_at=edited_at,
        )

    def _deleted_item(self, cid: str, media_id: str, created: datetime, now: datetime) -> InboundItem:
        return InboundItem(
            external_id=cid, conversation_external_id=f"comment:{cid}", kind="comment", public=True,
            author=Author(external_id=""), text="", created_at=created,
            meta={"media_id": media_id}, edited_at=now, deleted=True,
        )

    # direct messages --------------------------------------------------------------------------------
    def _fetch_messages(self, cursor: dict, now: datetime) -> tuple[list[InboundItem], dict]:
        mark = meta.parse_time(cursor.get("dm_at")) if isinstance(cursor.get("dm_at"), str) else None
        at_mark = {i for i in cursor.get("dm_ids") or [] if isinstance(i, str)}
        # First poll: the newest HISTORY_CONVERSATIONS as history (each costs a call), then everything changed.
        params = {"platform": "instagram", "fields": "id,updated_time",
                  "limit": HISTORY_CONVERSATIONS if mark is None else self.page_limit}
        changed: list[str] = []
        pages = 1 if mark is None else self.max_conversation_pages
        for page in self.graph.pages(f"{self.page_id}/conversations", params, max_pages=pages):
            stop = False
            for conv in page:
                updated = _time(conv.get("updated_time"))
                if mark is not None and updated is not None and updated < mark:
                    stop = True
                    break
                if isinstance(conv.get("id"), str) and _SAFE_ID.fullmatch(conv["id"]):  # it goes into a path
                    changed.append(conv["id"])
            if stop:
                break
        messages: list[dict] = []
        for conv_id in changed:
            # The Conversations API allows 2 calls a second per account: keep under it rather than be cut off.
            self.sleep(CONVERSATIONS_PACE_S)
            body = self.graph.get(conv_id, params={"fields": MESSAGE_FIELDS})
            messages.extend(_data(json_object(json_object(body).get("messages"))))
        fresh = []
        for message in messages:
            created = _time(message.get("created_time"))
            mid = message.get("id")
            if created is None or not isinstance(mid, str) or not isinstance(message.get("from"), dict):
                continue  # no details: older than the 20 newest messages, which are all the API describes
            if mark is not None and (created < mark or (created == mark and mid in at_mark)):
                continue
            fresh.append((created, message))
        items = convert_items([m for _, m in fresh], lambda m: self._dm_item(m), what="Instagram message",
                              ident=lambda m: m.get("id"))
        new_mark = max([c for c, _ in fresh], default=mark)
        ids = sorted({m["id"] for c, m in fresh if c == new_mark} | (at_mark if new_mark == mark else set()))
        state: dict[str, Any] = {}
        if new_mark is not None:
            state = {"dm_at": new_mark.isoformat(), "dm_ids": ids}
        elif mark is None:
            state = {"dm_at": now.isoformat(), "dm_ids": []}
        return items, state

    def _dm_item(self, message: dict) -> InboundItem | None:
        sender = json_object(message.get("from"))
        sender_id = json_string(sender.get("id"))
        if not sender_id:
            raise SkipItem("no details (older than the 20 newest messages)")
        created = _time(message.get("created_time"))
        assert created is not None
        ours = sender_id in (self.ig_user_id, self.page_id)
        if ours:
            people = [json_object(p) for p in json_object(message.get("to")).get("data") or []]
            person = next((p for p in people if json_string(p.get("id"))), {})
        else:
            person = sender
        person_id = json_string(person.get("id"))
        if not person_id:
            raise SkipItem("no other participant")
        username = json_string(person.get("username"))
        text = json_string(message.get("message"))
        return InboundItem(
            external_id=str(message["id"]),
            conversation_external_id=f"dm:{person_id}",
            kind="dm",
            public=False,
            author=Author(external_id=sender_id if not ours else self.ig_user_id,
                          handle=f"@{json_string(sender.get('username'))}" if sender.get("username") else "",
                          display_name=json_string(sender.get("username"))),
            text=text if text.strip() else NO_TEXT,
            created_at=created,
            outbound=ours,
            meta={"igsid": person_id, "username": username, "created_time": created.isoformat()},
            reply_window_ends_at=None if ours else meta.window_end(created),
        )

    # -- outbound ------------------------------------------------------------------------------------
    def reply(self, target: ReplyTarget, text: str, *, idempotency_key: str) -> OutboundResult:
        if not text.strip():
            raise PermanentError("Instagram: an empty reply cannot be sent.")
        if target.mode == PRIVATE:
            return self._private_reply(target, text)
        if target.mode:
            raise PermanentError(f"Instagram has no reply mode {target.mode!r}.")
        if target.kind == "dm":
            self._check_length("dm", text)
            igsid = str(target.parent_meta.get("igsid") or target.conversation_external_id.removeprefix("dm:"))
            if not igsid.isdigit():
                raise PermanentError("Instagram: this conversation names no person to answer.")
            return meta.send_message(self.graph, f"{self.page_id}/messages", {"id": igsid}, text,
                                     late=target.late, human_agent=self._human_agent(),
                                     last_inbound_at=_created(target.parent_meta), open_in="Instagram")
        return self._comment_reply(target, text)

    def _comment_reply(self, target: ReplyTarget, text: str) -> OutboundResult:
        parent_meta = target.parent_meta or {}
        if parent_meta.get("hidden"):
            raise NotAllowed("Instagram does not allow replies to a hidden comment. Unhide it in the "
                             "Instagram app first, or answer privately.")
        top = str(parent_meta.get("parent_id") or target.parent_external_id
                  or target.conversation_external_id.removeprefix("comment:"))
        if parent_meta.get("parent_id"):
            # Instagram answers top-level comments only and adds a reply to a reply to the top level:
            # name the person, as Instagram's own app does.
            handle = str(parent_meta.get("username") or target.recipient_handle.lstrip("@"))
            if handle and f"@{handle}".casefold() not in text.casefold():
                text = f"@{handle} {text}"
        self._check_length("comment", text)
        if not top.isdigit():
            raise PermanentError("Instagram: this conversation names no comment to answer.")
        body = self.graph.post(f"{top}/replies", data={"message": text})
        reply_id = json_string(json_object(body).get("id"))
        if not reply_id:
            raise TransientError("Instagram sent an unexpected answer to our reply.")
        return OutboundResult(external_id=reply_id, meta={"parent_id": top})

    def _private_reply(self, target: ReplyTarget, text: str) -> OutboundResult:
        if target.kind != "comment":
            raise NotAllowed("Instagram: only a comment can be answered privately.")
        comment_id = str(target.parent_external_id or "")
        if not comment_id.isdigit():
            raise PermanentError("Instagram: this conversation names no comment to answer privately.")
        created = _created(target.parent_meta)
        if created is not None and self.now() - created > meta.PRIVATE_REPLY_WINDOW:
            raise NotAllowed("Instagram takes a private reply only within 7 days of the comment: answer it "
                             "publicly, or message the person in the Instagram app.")
        self._check_length("dm", text)
        return meta.send_message(self.graph, f"{self.page_id}/messages", {"comment_id": comment_id}, text,
                                 late=False, human_agent=False, open_in="Instagram")

    def _human_agent(self) -> bool:
        return str(self.settings.get(meta.HUMAN_AGENT) or "").strip().lower() in ("yes", "true", "1", "on")

    def _check_length(self, kind: str, text: str) -> None:
        rule = TRAITS.limit_for(kind)
        if rule.limit is not None and rule.counter(text) > rule.limit:
            raise PermanentError(f"Instagram allows at most {rule.limit} {rule.unit} here.")

    def post_status(self, text: str, *, idempotency_key: str) -> OutboundResult:
        raise PermanentError("Instagram posts need a photo or video; socialdesk does not post to Instagram.")

    def check(self) -> AccountInfo:
        body = json_object(self.graph.get(self.ig_user_id, params={"fields": "id,username,name"}))
        username = json_string(body.get("username")) or self.username
        return AccountInfo(
            display_name=json_string(body.get("name")) or username,
            handle=f"@{username}" if username else "",
            notes=NOTES,
        )

    def stream(self, cursor: dict | None, on_items: Callable[[list[InboundItem], dict], None],
               stop_event: threading.Event) -> None:
        raise PermanentError("Instagram has no stream an app can open without a server (webhooks): it is polled.")

    def close(self) -> None:
        self.graph.close()


class InstagramLogin(meta.MetaLogin):
    """The one Meta sign-in (meta.MetaLogin), as "Add account → Instagram" offers it: only the Instagram
    professional accounts it reaches are offered (the Pages are added from "Facebook Page"), each with
    the notes the owner should read before relying on it."""

    def accounts(self, tokens: Tokens, client: OAuthClient) -> list[LoginAccount]:
        found = [replace(account, info=replace(account.info, notes=NOTES))
                 for account in super().accounts(tokens, client) if account.kind == "instagram"]
        if not found:
            raise PermanentError(
                "None of the Facebook Pages this sign-in reaches has an Instagram professional account linked "
                "to it. Link it in the Instagram app (Settings → Business tools → Connect a Facebook Page), "
                "then sign in again.")
        return found


_SAFE_ID = re.compile(r"[A-Za-z0-9_\-=.:]{1,200}")
_PART_KEYS = {"comments on your posts": ("media", "seen"), "direct messages": ("dm_at", "dm_ids")}


def _data(body: Any) -> list[dict]:
    data = json_object(body).get("data")
    return [entry for entry in data if isinstance(entry, dict)] if isinstance(data, list) else []


def _next_after(body: Any) -> str | None:
    """The `after` cursor when the page says there is a next one (`paging.next`), else None."""
    paging = json_object(json_object(body).get("paging"))
    after = json_string(json_object(paging.get("cursors")).get("after"))
    return after if paging.get("next") and after else None


def _has_next(body: Any) -> bool:
    return _next_after(body) is not None


def _created(item_meta: Any) -> datetime | None:
    value = json_object(item_meta).get("created_time")
    return meta.parse_time(value) if isinstance(value, str) else None


def _time(value: Any) -> datetime | None:
    """Graph's times: "2017-08-31T18:10:30+0000", or (as the Conversations page shows) a UNIX timestamp."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 10**11:
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str) and value.isdigit():
        return _time(int(value))
    return meta.parse_time(value) if isinstance(value, str) else None


TRAITS = declare(
    "instagram",
    address_style="@handle",
    limits=(("*", TextLimit(COMMENT_LIMIT, "characters", codepoints)),
            ("dm", TextLimit(DM_LIMIT, "bytes", utf8_bytes))),
    reply_window=meta.REPLY_WINDOW,
    reply_modes=(meta.PRIVATE_REPLY,),
)

SPEC = ConnectorSpec(
    kind="instagram",
    title="Instagram",
    capabilities=InstagramConnector.capabilities,
    settings=meta.SETTINGS,
    secret_label="Meta app secret",
    needs=("An Instagram professional account linked to a Facebook Page, and your own Meta app: sign in with "
           "Facebook and tick the Instagram account."),
    traits=TRAITS,
    factory=lambda settings, secrets: InstagramConnector(settings, secrets),
    secret_name=meta.APP_SECRET,
    secret_names=meta.SECRET_NAMES,
    login_flow=InstagramLogin,
)
