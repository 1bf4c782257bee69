"""Platform traits (connectors/traits.py): every connector declares them, core and UI read them through
`traits.of`, and no other module lists platforms."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from socialdesk.connectors import registry, traits
from socialdesk.connectors.base import KINDS
from socialdesk.connectors.traits import NO_LIMIT, PlatformTraits
from socialdesk.core import personalize

ROOT = Path(__file__).resolve().parents[2] / "socialdesk"


@pytest.mark.parametrize("kind", registry.kinds())
def test_every_connector_module_declares_its_kind_and_traits(kind):
    spec = registry.spec(kind)
    assert spec.kind == kind
    t = spec.traits
    assert isinstance(t, PlatformTraits) and t is traits.of(kind)
    assert t.name and re.fullmatch(r"#[0-9a-f]{6}", t.badge.colour) and 1 <= len(t.badge.label) <= 2
    assert t.address_style in ("@handle", "plain")
    assert t.poll_seconds >= 1
    assert t.usage is None or (t.usage.prices and t.usage.budget_period in ("day", "month"))  # None: free
    for conversation_kind, limit in t.limits:
        assert conversation_kind in (*KINDS, "post", "*")
        assert limit.limit is None or limit.limit > 0
        assert isinstance(limit.counter("héllo 👍🏽"), int)


def test_the_name_and_badge_shown_of_a_channel_need_not_load_its_connector():
    """traits.IDENTITIES lists every kind, and the name and badge it gives are the connector's own; an
    unknown channel gets the neutral ones. (The queue's first rows are painted from them: issue 17.15.)"""
    import subprocess
    import sys

    assert set(traits.IDENTITIES) == set(registry.kinds())
    for kind in (*registry.kinds(), "google_reviews", ""):
        assert (traits.name_of(kind), traits.badge_of(kind)) == (traits.of(kind).name, traits.of(kind).badge)
    probe = ("import sys\nfrom socialdesk.connectors import traits\n"
             "shown = [(traits.name_of(k), traits.badge_of(k)) for k in traits.IDENTITIES]\n"
             "print(sorted(m for m in sys.modules if m.startswith('socialdesk.connectors.')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    connectors = {f"socialdesk.connectors.{m}" for m in ("email", "mastodon", "facebook", "x", "demo", "registry")}
    assert not connectors & set(ast.literal_eval(loaded.stdout)), loaded.stdout


def test_the_facts_each_platform_declares():
    email, mastodon, bluesky, telegram, demo = map(traits.of, ("email", "mastodon", "bluesky", "telegram", "demo"))
    assert [t.name for t in (email, mastodon, bluesky, telegram)] == ["Email", "Mastodon", "Bluesky", "Telegram"]
    # Mastodon dedupes a retried status on its Idempotency-Key; a Google review reply is a PUT that replaces.
    assert [k for k in registry.kinds() if traits.of(k).idempotent_sends] == ["mastodon", "google"]
    assert [k for k in registry.kinds() if traits.of(k).replies_by_email] == ["email"]
    assert demo.poll_seconds == 5 and email.poll_seconds == 60
    assert (bluesky.limit_for("dm").limit, bluesky.limit_for("mention").limit) == (1000, 300)
    assert telegram.limit_for("dm").limit == 4096 and mastodon.limit_for("mention").limit == 500
    assert email.limit_for("email") is NO_LIMIT and demo.limit_for("dm") is NO_LIMIT


def test_an_unknown_platform_gets_neutral_traits():
    t = traits.of("google_reviews")
    assert not traits.known("google_reviews")
    assert (t.name, t.badge.colour, t.badge.label) == ("Google Reviews", "#777777", "G")
    assert t.limit_for("review") is NO_LIMIT and not t.idempotent_sends and not t.replies_by_email
    assert t.address("@sam") == "@sam" and t.address("sam") == "sam"
    assert "demo" not in traits.platforms() and set(traits.platforms()) < set(registry.kinds())


def test_people_are_addressed_the_platforms_way():
    assert personalize.format_handle("ana.lima", "bluesky") == "@ana.lima"
    assert personalize.format_handle(" sam@mastodon.social ", "mastodon") == "@sam@mastodon.social"
    assert personalize.format_handle("@shop4u", "telegram") == "@shop4u"
    assert personalize.format_handle("ana@example.com", "email") == "ana@example.com"
    assert personalize.channel_name("email") == "email"  # reads in a sentence: "thanks for your email"
    assert personalize.channel_name("telegram") == "Telegram"


def _string_constants(path: Path) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_core_and_ui_name_no_platform():
    """Platform facts live with the connectors: core and UI ask the traits, never compare names. (Before,
    about seven tables in core and UI listed platforms, and automation branched on `== "email"`.)"""
    names = set(registry.kinds()) - {"demo", "email"} | {"instagram", "facebook", "google_reviews"}
    offenders = {}
    for folder in ("core", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            found = names & _string_constants(path)
            if found:
                offenders[str(path.relative_to(ROOT))] = sorted(found)
    assert offenders == {}


def test_the_reply_window_rule_is_a_trait_of_the_platform_a_conversation_is_on(monkeypatch):
    import dataclasses
    from datetime import timedelta

    from socialdesk.connectors import telegram
    from socialdesk.connectors.traits import ReplyWindowRule
    from socialdesk.core import queue

    assert traits.of("telegram").reply_window is None  # Telegram sets none; Meta's platforms do
    assert traits.of("facebook").reply_window is not None
    rule = ReplyWindowRule(late_reply=timedelta(days=6), late_reply_how="tagged")
    monkeypatch.setattr(telegram, "SPEC", dataclasses.replace(
        telegram.SPEC, traits=dataclasses.replace(telegram.TRAITS, reply_window=rule)))
    # A demo account simulating the platform follows the platform's rule, like its badge and limits.
    assert queue.reply_window_rule(queue.channel_from("demo", {"channel": "telegram"})) is rule
    assert queue.reply_window_rule("telegram") is rule and queue.reply_window_rule("myspace") is None
