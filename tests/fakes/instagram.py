"""A fake Instagram professional account linked to a Facebook Page, behind Meta's Graph API (the
Facebook-Login variant on graph.facebook.com, with the Page's token), for the Instagram connector's tests.

It is tests/fakes/meta.py's MetaFake (the Meta sign-in, tokens and appsecret_proof, usage headers, Graph's
paging and errors: one fake of Graph) with the Instagram nodes added. Wire facts followed
(shared/CONNECTORS.md "Instagram", Meta's IG User / IG Media / IG Comment / IG Comment Replies references,
the Conversations API and Send API pages, the Messenger error codes):
- `GET /{ig-user-id}?fields=id,username,name`; `GET /{ig-user-id}/media?fields=id,caption,comments_count,
  timestamp,permalink,media_product_type&limit=N`: newest first.
- `GET /{ig-media-id}/comments?fields=...&limit=N[&after=C]`: Graph's list with cursor paging. Comments
  carry `id, text, timestamp ("2017-08-31T18:10:30+0000"), from {id, username}, username, hidden,
  parent_id` (replies only); with `replies{...}` in `fields` each top-level comment embeds its replies as
  `{"data": [...]}` (25 of them, with `paging.next` when there are more). The order is not documented;
  this fake answers newest first. Hidden comments come with `hidden: true`. A cursor handed out before
  `expire_cursors()` (or `expire_in` comment pages) is dead: HTTP 400 code 100 "Invalid cursor".
- `GET /{ig-comment-id}/replies` pages the replies of one comment. `POST /{ig-comment-id}/replies
  message=...` → `{"id"}`; a reply to a reply is added to the top-level comment (documented); a hidden
  comment cannot be answered (HTTP 400 code 100).
- `GET /{page-id}/conversations?platform=instagram&fields=id,updated_time` (newest first); `GET
  /{conversation-id}?fields=messages{id,created_time,from,to,message}`: the messages, newest first (only
  the 20 newest carry details; older ones are `{id, created_time}`, as documented).
- `POST /{page-id}/messages` JSON `{recipient: {id} | {comment_id}, message: {text}, messaging_type, tag}`
  → `{"recipient_id", "message_id"}`, for an IGSID or an Instagram comment: refused more than 24 h after
  the person's last message unless tagged HUMAN_AGENT (then up to 7 days), and a private reply to a
  comment older than 7 days or already answered privately (code 10, subcode 2018278); a private reply
  opens a conversation with the commenter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

import pytest

from socialdesk.connectors.base import AuthError, MemorySecrets, PermanentError, TransientError
from socialdesk.connectors.oauth import TOKEN_ENTRY, Tokens
from tests.fakes import HttpFakeHarness, Reply, Request, serve_cli
from tests.fakes.meta import (  # noqa: F401  (re-exported for the Instagram tests)
    APP_ID,
    APP_SECRET,
    IG_USER_ID,
    IG_USERNAME,
    PAGE_ID,
    PAGE_TOKEN,
    VERSION,
    MetaFake,
    _parse,
    graph_error,
    graph_time,
)


class InstagramFake(MetaFake):
    def __init__(self, lifetime: float = 300.0, now: Callable[[], datetime] | None = None):
        super().__init__(lifetime, now=now)
        self.media: list[dict[str, Any]] = []  # newest last
        self.ig_comments: dict[str, dict[str, Any]] = {}  # id -> comment (with "_media", "_replies": [ids])
        self.ig_conversations: dict[str, dict[str, Any]] = {}  # IGSID -> {"id", "username", "messages"}
        self.expire_in: int | None = None  # comment pages served before every cursor dies
        self.add_media("Fresh sourdough today")

    # -- programming -------------------------------------------------------------------------------
    def add_media(self, caption: str = "A post", *, at: datetime | None = None) -> dict[str, Any]:
        with self.lock:
            media = {"id": self._id(), "caption": caption, "timestamp": graph_time(at or self.tick()),
                     "permalink": "https://www.instagram.com/p/FAKE%d/" % len(self.media),
                     "media_product_type": "FEED"}
            self.media.append(media)
            return media

    def add(self, text: str = "hello", **kwargs: Any) -> dict[str, Any]:
        """A comment on the newest media (the contract harness's inbound item)."""
        return self.add_comment(text, **kwargs)

    def add_comment(self, text: str = "hello", *, username: str = "alice",  # type: ignore[override]
                    media_id: str | None = None, parent_id: str | None = None, at: datetime | None = None,
                    hidden: bool = False, user_id: str | None = None) -> dict[str, Any]:
        with self.lock:
            media = media_id or (self.ig_comments[parent_id]["_media"] if parent_id else self.media[-1]["id"])
            comment = {
                "id": self._id(), "text": text, "timestamp": graph_time(at or self.tick()),
                "from": {"id": user_id or _igsid(username), "username": username}, "username": username,
                "hidden": hidden, "_media": media, "_replies": [],
            }
            if parent_id:
                top = self.ig_comments[parent_id].get("parent_id") or parent_id  # replies land on the top level
                comment["parent_id"] = top
                self.ig_comments[top]["_replies"].append(comment["id"])
            self.ig_comments[comment["id"]] = comment
            return _public(comment)

    def edit_comment(self, comment_id: str, text: str) -> None:
        with self.lock:
            self.ig_comments[comment_id]["text"] = text

    def delete_comment(self, comment_id: str) -> None:
        with self.lock:
            comment = self.ig_comments.pop(comment_id)
            if comment.get("parent_id") in self.ig_comments:
                self.ig_comments[comment["parent_id"]]["_replies"].remove(comment_id)

    def add_dm(self, text: str = "hi", *, username: str = "bob", at: datetime | None = None,
               outbound: bool = False) -> dict[str, Any]:
        """A direct message from `username` to us (or from us to them with `outbound`)."""
        with self.lock:
            igsid = _igsid(username)
            conversation = self.ig_conversations.setdefault(
                igsid, {"id": "aWdfZAG" + igsid, "username": username, "messages": []})
            person = {"id": igsid, "username": username}
            me = {"id": IG_USER_ID, "username": IG_USERNAME}
            message = {"id": "aWdfbWlk" + self._id(), "created_time": graph_time(at or self.tick()),
                       "from": me if outbound else person, "to": {"data": [person if outbound else me]},
                       "message": text}
            conversation["messages"].append(message)
            return message

    def seed(self, count: int) -> None:
        for i in range(count):
            self.add_comment(f"seeded comment {i + 1}")

    # -- serving: the Instagram nodes first, the rest is MetaFake's ------------------------------------
    def _get(self, req: Request, node: str, edge: str) -> Reply:
        if node == IG_USER_ID and not edge:
            return Reply(200, {"id": IG_USER_ID, "username": IG_USERNAME, "name": "Juniper & Rye"})
        if node == IG_USER_ID and edge == "media":
            counts = {m["id"]: sum(1 for c in self.ig_comments.values() if c["_media"] == m["id"]) for m in self.media}
            return self._page(req, [dict(m, comments_count=counts[m["id"]]) for m in reversed(self.media)])
        if edge == "comments" and any(m["id"] == node for m in self.media):
            if self.expire_in is not None:  # the comments change under the walk after this many pages
                self.expire_in -= 1
                if self.expire_in < 0:
                    self.expire_in = None
                    self.cursor_epoch += 1
            tops = [c for c in self.ig_comments.values() if c["_media"] == node and not c.get("parent_id")]
            tops.sort(key=lambda c: int(c["id"]), reverse=True)
            with_replies = "replies" in (req.arg("fields") or "")
            return self._page(req, [self._render(c, with_replies) for c in tops])
        if edge == "replies" and node in self.ig_comments:
            return self._page(req, [_public(self.ig_comments[r]) for r in self.ig_comments[node]["_replies"]])
        if node == PAGE_ID and edge == "conversations" and req.arg("platform") == "instagram":
            convs = sorted((c for c in self.ig_conversations.values() if c["messages"]),
                           key=lambda c: c["messages"][-1]["created_time"], reverse=True)
            return self._page(req, [{"id": c["id"], "updated_time": c["messages"][-1]["created_time"]}
                                    for c in convs])
        for conv in self.ig_conversations.values():
            if conv["id"] == node and not edge:
                messages = list(reversed(conv["messages"]))
                data = [m if i < 20 else {"id": m["id"], "created_time": m["created_time"]}
                        for i, m in enumerate(messages)]
                return Reply(200, {"messages": {"data": data}, "id": node})
        return super()._get(req, node, edge)

    def _post(self, req: Request, node: str, edge: str) -> Reply:
        if edge == "replies" and node in self.ig_comments:
            message = (req.form() if req.body else {}).get("message") or req.arg("message") or ""
            if not message:
                return graph_error(100, "(#100) The parameter message is required")
            if self.ig_comments[node].get("hidden"):
                return graph_error(100, "(#100) Cannot reply to a hidden comment")
            reply = self.add_comment(message, username=IG_USERNAME, user_id=IG_USER_ID, parent_id=node)
            self.sent.append({"kind": "comment", "parent": node, "text": message, "id": reply["id"]})
            return Reply(200, {"id": reply["id"]})
        return super()._post(req, node, edge)

    def _send(self, req: Request) -> Reply:
        body = req.json()
        recipient, text = body.get("recipient") or {}, (body.get("message") or {}).get("text") or ""
        tagged = body.get("messaging_type") == "MESSAGE_TAG" and body.get("tag") == "HUMAN_AGENT"
        now = self.now()
        if "comment_id" in recipient:
            comment = self.ig_comments.get(recipient["comment_id"])
            if comment is None:
                return graph_error(100, "(#100) No matching comment", 2018001)
            if recipient["comment_id"] in self.private_replied:
                return graph_error(10, "(#10) This comment already has a private reply", 2018278)
            if now - _parse(comment["timestamp"]) > timedelta(days=7):
                return graph_error(10, "(#10) This message is sent outside of allowed window.", 2018278)
            self.private_replied.add(recipient["comment_id"])
            message = self.add_dm(text, username=comment["username"], outbound=True, at=now)
            self.sent.append({"kind": "private", "comment": recipient["comment_id"], "text": text,
                              "id": message["id"]})
            return Reply(200, {"recipient_id": comment["from"]["id"], "message_id": message["id"]})
        conv = self.ig_conversations.get(str(recipient.get("id")))
        if conv is None:
            return graph_error(100, "(#100) No matching user found", 2018001)
        last_in = max((_parse(m["created_time"]) for m in conv["messages"] if m["from"]["id"] != IG_USER_ID),
                      default=None)
        limit = timedelta(days=7) if tagged else timedelta(hours=24)
        if last_in is None or now - last_in > limit:
            return graph_error(10, "(#10) This message is sent outside of allowed window.", 2018278)
        message = self.add_dm(text, username=conv["username"], outbound=True, at=now)
        self.sent.append({"kind": "dm", "to": recipient["id"], "text": text, "tagged": tagged, "id": message["id"]})
        return Reply(200, {"recipient_id": recipient["id"], "message_id": message["id"]})

    def _render(self, comment: dict[str, Any], with_replies: bool) -> dict[str, Any]:
        out = _public(comment)
        if with_replies and comment["_replies"]:
            replies = [_public(self.ig_comments[r]) for r in comment["_replies"]]
            page: dict[str, Any] = {"data": replies[:25]}
            if len(replies) > 25:
                page["paging"] = {"cursors": {"after": self._cursor(25)},
                                  "next": f"{self.url}/{VERSION}/{comment['id']}/replies?after={self._cursor(25)}"}
            out["replies"] = page
        return out


def _igsid(username: str) -> str:
    return str(6_000_000_000 + sum(ord(ch) * (i + 1) for i, ch in enumerate(username)))


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in comment.items() if not k.startswith("_")}


def instagram_settings(fake: InstagramFake, **extra: Any) -> dict[str, Any]:
    """An Instagram account as the Meta sign-in adds it (Facebook Login, the linked Page's token)."""
    return {"graph_url": fake.url, "page_id": PAGE_ID, "ig_user_id": IG_USER_ID, "ig_username": IG_USERNAME,
            "app_id": APP_ID, **extra}


def instagram_secrets() -> MemorySecrets:
    return MemorySecrets({TOKEN_ENTRY: Tokens(access_token=PAGE_TOKEN).to_json(), "app_secret": APP_SECRET})


class InstagramHarness(HttpFakeHarness):
    """Contract-suite harness (see tests/fakes/__init__.py)."""

    kind = "instagram"
    ERRORS = {
        "auth": (400, {"error": {"message": "Error validating access token", "type": "OAuthException",
                                 "code": 190, "error_subcode": 460, "fbtrace_id": "x"}}, AuthError),
        "transient": (500, {"error": {"message": "An unknown error occurred", "type": "OAuthException",
                                      "code": 1, "is_transient": True, "fbtrace_id": "x"}}, TransientError),
        "permanent": (400, {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException",
                                      "code": 100, "fbtrace_id": "x"}}, PermanentError),
    }

    def __init__(self, fake: InstagramFake):
        self.fake = fake
        self.secrets = instagram_secrets()

    def connector(self) -> Any:
        from socialdesk.connectors.instagram import InstagramConnector

        return InstagramConnector(instagram_settings(self.fake), self.secrets, page_limit=3,
                                  sleep=lambda s: None)

    def seed(self, n: int) -> list[str]:
        return [self.fake.add_comment(f"question {i + 1}")["id"] for i in range(n)]

    def sent(self) -> list[dict[str, Any]]:
        return list(self.fake.sent)


@pytest.fixture
def instagram_fake() -> Iterator[InstagramFake]:
    fake = InstagramFake()
    with fake.running():
        yield fake


@pytest.fixture
def instagram_harness() -> Iterator[InstagramHarness]:
    fake = InstagramFake()
    with fake.running():
        yield InstagramHarness(fake)


if __name__ == "__main__":
    serve_cli(InstagramFake)
