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

The facade is lazy (PEP 562 `__getattr__`): `from socialdesk.core import automation` costs nothing, and a
name's module is imported the first time it is read. The window reads `automation.is_paused` before its
first paint, and importing every module here (snippets, personalisation, the e-mail guard) used to add
~80 ms to that paint; the engine hooks load with `automation.install`, after it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as mypy and readers see them; at run time `__getattr__` imports them
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

_LAZY: dict[str, str] = {
    "ActivityEntry": "activity_log",
    "activity": "activity_log",
    "CATCH_UP_MODES": "config",
    "CONFIG_KEY": "config",
    "DEFAULT_AUTO_REPLY": "config",
    "DEFAULT_STATUS_TEXTS": "config",
    "MAX_TEXT": "config",
    "PAUSED_KEY": "config",
    "STATUS_KINDS": "config",
    "STATUS_LABELS": "config",
    "AutomationConfig": "config",
    "AutomationConfigError": "config",
    "ChannelRule": "config",
    "StatusPosts": "config",
    "is_paused": "config",
    "load_config": "config",
    "pause": "config",
    "save_config": "config",
    "text_problems": "config",
    "HISTORY_LIMIT": "decision",
    "AutoReplyFacts": "decision",
    "Decision": "decision",
    "decide_auto_reply": "decision",
    "email_guard": "decision",
    "CAP_WINDOW": "engine",
    "STATUS_LOOKBACK": "engine",
    "Automation": "engine",
    "install": "engine",
    "format_next_close": "render",
    "render_text": "render",
    "MIN_CLOSED_GAP": "status",
    "PlannedPost": "status",
    "Transition": "status",
    "can_post": "status",
    "preview_status_posts": "status",
    "status_key": "status",
    "status_transitions": "status",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later reads skip this function
    return value


__all__ = [
    "CAP_WINDOW", "CATCH_UP_MODES", "CONFIG_KEY", "DEFAULT_AUTO_REPLY", "DEFAULT_STATUS_TEXTS", "HISTORY_LIMIT", "MAX_TEXT",
    "MIN_CLOSED_GAP", "PAUSED_KEY", "STATUS_KINDS", "STATUS_LABELS", "STATUS_LOOKBACK", "ActivityEntry",
    "AutoReplyFacts", "Automation", "AutomationConfig", "AutomationConfigError", "ChannelRule", "Decision",
    "PlannedPost", "StatusPosts", "Transition", "activity", "can_post", "decide_auto_reply", "email_guard",
    "format_next_close", "install", "is_paused", "load_config", "pause", "preview_status_posts", "render_text",
    "save_config", "status_key", "status_transitions", "text_problems",
]
