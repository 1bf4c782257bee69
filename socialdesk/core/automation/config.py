"""Automation settings: `AutomationConfig` (per-channel auto-reply rules, per-account status posts, texts),
its owner-readable validation, loading and saving, and the pause switch.

Decisions:
- Configuration is one `AutomationConfig` (setting "automation.config"), validated with owner-readable
  errors. Auto-replies are switched per channel (`queue.channel_of`: the account kind, or the channel a
  demo account simulates) with a "*" rule for every other channel; private messages (DMs, email,
  Telegram) are on by default, public comments, mentions and reviews off. A rule's empty text means the
  shared default text. Status posts are per account and off by default.
- `catch_up` (issue 18 item 4): a message found after socialdesk was not running (the laptop slept) that
  arrived in a closed stretch which has ended since (the business opened in between) gets no auto-reply
  by default ("still_closed": only while the business is still closed since the message came; a message
  that came while open and is found while closed is answered as before). "closed_now" answers it
  whenever the business is closed now, with the current period's text. "we're closed right now" is
  never sent while open, whatever this says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from socialdesk.core import snippets
from socialdesk.core.automation.render import (
    _NEXT_CLOSE_RE,
)
from socialdesk.core.settings import Settings

UTC = timezone.utc
CONFIG_KEY = "automation.config"
PAUSED_KEY = "automation.paused"


STATUS_KINDS = ("opening", "closing", "away_start", "away_end")
CATCH_UP_MODES = {
    "still_closed": "only if the business is still closed since the message came",
    "closed_now": "whenever the business is closed now",
}
STATUS_LABELS = {"opening": "opening", "closing": "closing", "away_start": "away start", "away_end": "back from away"}
_CHANNEL_RE = re.compile(r"^(\*|[a-z][a-z0-9_]{0,39})$")


MAX_TEXT = 2000


DEFAULT_AUTO_REPLY = (
    "Hi {first_name|there}, thanks for your message to {business|us}! We're closed right now — back "
    "{next_open|soon} — and we usually answer {typical_response}."
)
DEFAULT_STATUS_TEXTS = {
    "opening": "Good morning! We're online until {next_close}.",
    "closing": "Signing off for today — back {next_open|soon}. We read every message first thing.",
    "away_start": "We're away for a little while — back {next_open|soon}. Your messages are safe with us.",
    "away_end": "We're back! Thanks for your patience — we're catching up on messages now.",
}


class AutomationConfigError(ValueError):
    """Invalid automation settings; `str(e)` is meant for the owner."""


# --- configuration ----------------------------------------------------------------------------------


def text_problems(text: str) -> list[str]:
    """What is wrong with an automatic message text (placeholders as in snippets, plus {next_close})."""
    if not isinstance(text, str):
        return ["the text must be a string"]
    if len(text) > MAX_TEXT:
        return [f"the text is longer than {MAX_TEXT} characters"]
    return [p.message for p in snippets.validate_body(_NEXT_CLOSE_RE.sub("", text))] if text.strip() else []


def _check_text(text: Any, where: str, *, allow_empty: bool) -> str:
    if not isinstance(text, str):
        raise AutomationConfigError(f"{where}: the text must be a string")
    if not text.strip():
        if allow_empty:
            return ""
        raise AutomationConfigError(f"{where}: the text is empty")
    problems = text_problems(text)
    if problems:
        raise AutomationConfigError(f"{where}: {problems[0]}")
    return text


def _check_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise AutomationConfigError(f"{where} must be true or false")
    return value


@dataclass
class ChannelRule:
    """Auto-replies on one channel: private messages, public items, and the text ("" = default)."""

    private: bool = True
    public: bool = False
    text: str = ""


@dataclass
class StatusPosts:
    """Status posts of one account. An empty text switches that kind of post off."""

    enabled: bool = False
    enabled_since: datetime | None = None
    texts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STATUS_TEXTS))


@dataclass
class AutomationConfig:
    auto_reply_text: str = DEFAULT_AUTO_REPLY
    channels: dict[str, ChannelRule] = field(default_factory=lambda: {"*": ChannelRule()})
    status_posts: dict[int, StatusPosts] = field(default_factory=dict)  # account id -> posts
    grace_minutes: int = 15
    max_per_day: int = 3
    catch_up: str = "still_closed"  # CATCH_UP_MODES (module docstring)

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def default(cls) -> AutomationConfig:
        return cls()

    def validate(self) -> None:
        _check_text(self.auto_reply_text, "default auto-reply", allow_empty=False)
        if "*" not in self.channels:
            raise AutomationConfigError("auto-replies need a rule for every other channel ('*')")
        for channel, rule in self.channels.items():
            where = f"auto-reply on {'every other channel' if channel == '*' else channel}"
            if not isinstance(channel, str) or not _CHANNEL_RE.match(channel):
                raise AutomationConfigError(f"{where}: channel must be '*' or a name like 'telegram'")
            if not isinstance(rule, ChannelRule):
                raise AutomationConfigError(f"{where}: not a ChannelRule")
            _check_bool(rule.private, f"{where}: private messages")
            _check_bool(rule.public, f"{where}: public comments, mentions and reviews")
            _check_text(rule.text, where, allow_empty=True)
        for account_id, posts in self.status_posts.items():
            where = f"status posts of account {account_id}"
            if isinstance(account_id, bool) or not isinstance(account_id, int):
                raise AutomationConfigError(f"{where}: the account must be an id")
            if not isinstance(posts, StatusPosts):
                raise AutomationConfigError(f"{where}: not a StatusPosts")
            _check_bool(posts.enabled, f"{where}: enabled")
            if posts.enabled_since is not None and (
                not isinstance(posts.enabled_since, datetime) or posts.enabled_since.tzinfo is None
            ):
                raise AutomationConfigError(f"{where}: enabled_since must be an aware date-time")
            if not isinstance(posts.texts, dict) or set(posts.texts) - set(STATUS_KINDS):
                raise AutomationConfigError(f"{where}: texts are keyed by {', '.join(STATUS_KINDS)}")
            for kind, text in posts.texts.items():
                _check_text(text, f"{where}: {STATUS_LABELS[kind]} text", allow_empty=True)
        g = self.grace_minutes
        if isinstance(g, bool) or not isinstance(g, int) or not 1 <= g <= 180:
            raise AutomationConfigError(f"the grace window must be 1 to 180 minutes, got {g!r}")
        if not isinstance(self.catch_up, str) or self.catch_up not in CATCH_UP_MODES:
            raise AutomationConfigError(
                f"late messages: choose {' or '.join(CATCH_UP_MODES)}, got {self.catch_up!r}")
        m = self.max_per_day
        if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 10:
            raise AutomationConfigError(f"the auto-reply cap must be 1 to 10 per person per 24 h, got {m!r}")

    def rule_for(self, channel: str) -> ChannelRule:
        return self.channels.get(channel) or self.channels["*"]

    def reply_text_for(self, channel: str) -> str:
        return self.rule_for(channel).text or self.auto_reply_text

    def posts_for(self, account_id: int) -> StatusPosts | None:
        posts = self.status_posts.get(account_id)
        return posts if posts is not None and posts.enabled else None

    def with_status_posts(self, account_id: int, enabled: bool, now: datetime, **texts: str) -> AutomationConfig:
        """A copy with an account's status posts switched (and texts changed); validates."""
        old = self.status_posts.get(account_id) or StatusPosts()
        merged = dict(old.texts)
        merged.update(texts)
        since = old.enabled_since if (old.enabled and enabled) else (now if enabled else None)
        posts = dict(self.status_posts)
        posts[account_id] = StatusPosts(enabled, since, merged)
        return replace(self, status_posts=posts)

    def to_json(self) -> dict:
        return {
            "auto_reply_text": self.auto_reply_text,
            "channels": {
                c: {"private": r.private, "public": r.public, "text": r.text} for c, r in sorted(self.channels.items())
            },
            "status_posts": {
                str(a): {
                    "enabled": p.enabled,
                    "enabled_since": p.enabled_since.astimezone(UTC).isoformat() if p.enabled_since else None,
                    "texts": dict(sorted(p.texts.items())),
                }
                for a, p in sorted(self.status_posts.items())
            },
            "grace_minutes": self.grace_minutes,
            "max_per_day": self.max_per_day,
            "catch_up": self.catch_up,
        }

    @classmethod
    def from_json(cls, d: Any) -> AutomationConfig:
        if not isinstance(d, dict):
            raise AutomationConfigError("automation settings must be a JSON object")
        channels_raw = d.get("channels", {"*": {}})
        if not isinstance(channels_raw, dict):
            raise AutomationConfigError("channels must be an object keyed by channel")
        channels = {}
        for channel, raw in channels_raw.items():
            if not isinstance(raw, dict):
                raise AutomationConfigError(f"auto-reply on {channel}: expected an object")
            channels[channel] = ChannelRule(
                private=raw.get("private", True), public=raw.get("public", False), text=raw.get("text", "")
            )
        channels.setdefault("*", ChannelRule())
        posts_raw = d.get("status_posts", {})
        if not isinstance(posts_raw, dict):
            raise AutomationConfigError("status_posts must be an object keyed by account id")
        posts = {}
        for key, raw in posts_raw.items():
            if not isinstance(key, str) or not key.isdigit() or not isinstance(raw, dict):
                raise AutomationConfigError(f"status posts {key!r}: expected an account id and an object")
            since_raw = raw.get("enabled_since")
            try:
                since = datetime.fromisoformat(since_raw) if since_raw is not None else None
            except (TypeError, ValueError):
                raise AutomationConfigError(f"status posts of account {key}: bad enabled_since {since_raw!r}") from None
            texts = dict(DEFAULT_STATUS_TEXTS)
            texts_raw = raw.get("texts", {})
            if not isinstance(texts_raw, dict):
                raise AutomationConfigError(f"status posts of account {key}: texts must be an object")
            texts.update(texts_raw)
            posts[int(key)] = StatusPosts(enabled=raw.get("enabled", False), enabled_since=since, texts=texts)
        return cls(
            auto_reply_text=d.get("auto_reply_text", DEFAULT_AUTO_REPLY),
            channels=channels,
            status_posts=posts,
            grace_minutes=d.get("grace_minutes", 15),
            max_per_day=d.get("max_per_day", 3),
            catch_up=d.get("catch_up", "still_closed"),
        )


def load_config(settings: Settings) -> AutomationConfig:
    raw = settings.get(CONFIG_KEY)
    return AutomationConfig.from_json(raw) if raw else AutomationConfig.default()


def save_config(settings: Settings, config: AutomationConfig) -> None:
    config.validate()
    settings.set(CONFIG_KEY, config.to_json())


def is_paused(settings: Settings) -> bool:
    return bool(settings.get(PAUSED_KEY))


def pause(settings: Settings, paused: bool) -> None:
    """The one switch that stops every automatic reply and status post (and starts them again)."""
    settings.set(PAUSED_KEY, bool(paused))
