"""Automatic messages: off-hours auto-replies and open/close/away status posts, plus the Activity view.

This package decides; core/outbox.py sends. Nothing here talks to a platform, and nothing is sent that
does not first become an Outbox row with a unique idempotency key (DESIGN.md's at-most-once rule).

The package namespace is the documented facade (`automation.load_config`, `automation.install`, ...);
each module carries its own decisions:
- `config`: `AutomationConfig`, its validation, loading/saving and the pause switch;
- `render`: automatic texts (snippets.render plus `{next_close}`);
- `decision`: the pure auto-reply decision and the RFC 3834 email guard;
- `status`: which status posts are due (transitions, keys, preview);
- `activity_log`: the Activity view's rows;
- `engine`: the ingest and tick hooks that turn decisions into Outbox, ledger and Activity rows.
"""

from __future__ import annotations

from socialdesk.core.automation.activity_log import ActivityEntry, activity
from socialdesk.core.automation.config import (
    CATCH_UP_MODES,
    CONFIG_KEY,
    DEFAULT_AUTO_REPLY,
    DEFAULT_STATUS_TEXTS,
    MAX_TEXT,
    PAUSED_KEY,
    STATUS_KINDS,
    STATUS_LABELS,
    AutomationConfig,
    AutomationConfigError,
    ChannelRule,
    StatusPosts,
    is_paused,
    load_config,
    pause,
    save_config,
    text_problems,
)
from socialdesk.core.automation.decision import (
    HISTORY_LIMIT,
    AutoReplyFacts,
    Decision,
    decide_auto_reply,
    email_guard,
)
from socialdesk.core.automation.engine import CAP_WINDOW, STATUS_LOOKBACK, Automation, install
from socialdesk.core.automation.render import format_next_close, render_text
from socialdesk.core.automation.status import (
    MIN_CLOSED_GAP,
    PlannedPost,
    Transition,
    can_post,
    preview_status_posts,
    status_key,
    status_transitions,
)

__all__ = [
    "CAP_WINDOW", "CATCH_UP_MODES", "CONFIG_KEY", "DEFAULT_AUTO_REPLY", "DEFAULT_STATUS_TEXTS", "HISTORY_LIMIT", "MAX_TEXT",
    "MIN_CLOSED_GAP", "PAUSED_KEY", "STATUS_KINDS", "STATUS_LABELS", "STATUS_LOOKBACK", "ActivityEntry",
    "AutoReplyFacts", "Automation", "AutomationConfig", "AutomationConfigError", "ChannelRule", "Decision",
    "PlannedPost", "StatusPosts", "Transition", "activity", "can_post", "decide_auto_reply", "email_guard",
    "format_next_close", "install", "is_paused", "load_config", "pause", "preview_status_posts", "render_text",
    "save_config", "status_key", "status_transitions", "text_problems",
]
