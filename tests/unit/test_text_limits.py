"""Per-channel counters: emoji, combining marks, URLs and limits as each platform counts them, per
conversation kind (the platform's traits), and the counting functions of connectors/text_counting.py."""

from __future__ import annotations

import pytest

from socialdesk.connectors import traits
from socialdesk.connectors.text_counting import utf8_bytes, x_weighted_length
from socialdesk.core.text_limits import count, limit_message

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one ZWJ sequence, 7 code points
THUMB_DARK = "\U0001f44d\U0001f3fd"  # thumbs up + skin tone
FLAG = "\U0001f1eb\U0001f1f7"  # two regional indicators
E_COMBINING = "e\u0301"  # e + combining acute accent (not precomposed)
STACKED = "a\u0301\u0323\u0308"  # one base letter, three combining marks


@pytest.mark.parametrize("text", [FAMILY, THUMB_DARK, FLAG, E_COMBINING, STACKED])
def test_bluesky_counts_each_user_perceived_character_once(text):
    assert count(text, "bluesky").used == 1
    assert count("ab" + text + "c", "bluesky").used == 4


def test_bluesky_limit_and_message():
    exactly = count(THUMB_DARK * 300, "bluesky")
    assert (exactly.used, exactly.limit, exactly.over) == (300, 300, False)
    over = count("x" * 312, "bluesky")
    assert over.over
    assert limit_message(over) == "312 / 300 graphemes — 12 over the Bluesky limit"
    assert limit_message(exactly) == "300 / 300 graphemes"


def test_telegram_counts_utf16_units():
    assert count("hello", "telegram").used == 5
    assert count(THUMB_DARK, "telegram").used == 4  # two astral code points
    assert count(E_COMBINING, "telegram").used == 2
    assert count("a" * 4096, "telegram").over is False
    assert count("a" * 4095 + "\U0001f600", "telegram").over is True


def test_bluesky_dm_allows_1000_graphemes_while_a_post_allows_300():
    # Regression: one number per platform refused a Bluesky chat message above 300 graphemes.
    dm = count(THUMB_DARK * 1000, "bluesky", "dm")
    assert (dm.used, dm.limit, dm.over) == (1000, 1000, False)
    assert count("x" * 301, "bluesky", "dm").over is False
    assert count("x" * 1001, "bluesky", "dm").over is True
    assert limit_message(count("x" * 1001, "bluesky", "dm")) == "1001 / 1000 graphemes — 1 over the Bluesky limit"
    for public in ("mention", "comment", "post", ""):
        assert (count("x" * 301, "bluesky", public).limit, count("x" * 301, "bluesky", public).over) == (300, True)


def test_x_weighting_emoji_cjk_and_urls():
    # X has no connector yet (issue 16 adds its traits); its counter is ready.
    assert x_weighted_length("hello") == 5
    assert x_weighted_length(FAMILY) == 2  # an emoji sequence weighs 2 whatever its length
    assert x_weighted_length(FLAG) == 2
    assert x_weighted_length("日本語") == 6  # CJK weighs 2
    assert x_weighted_length("café") == 4
    assert x_weighted_length(E_COMBINING) == 1  # NFC-composed first, like twitter-text
    url = "https://example.com/a/very/long/path?with=query&and=more"
    assert x_weighted_length(f"see {url}. thanks") == 4 + 23 + len(". thanks")
    assert x_weighted_length("a" * 280) == 280
    assert x_weighted_length("日" * 141) == 282


def test_mastodon_graphemes_urls_and_remote_mentions():
    assert count(FAMILY + E_COMBINING, "mastodon").used == 2
    assert count("https://example.org/" + "x" * 100, "mastodon").used == 23
    assert count("@sam@mastodon.social hi", "mastodon").used == len("@sam hi")
    assert count("a" * 501, "mastodon").over is True


def test_mastodon_instance_override():
    long = "a" * 600
    assert count(long, "mastodon").over is True
    result = count(long, "mastodon", limit_override=1000)
    assert (result.limit, result.over) == (1000, False)
    assert limit_message(result) == "600 / 1000 characters"


def test_byte_counter():
    # Google review replies and Instagram messages count UTF-8 bytes (their connectors come with issues 14-15).
    assert utf8_bytes("é") == 2
    assert utf8_bytes(THUMB_DARK) == 8
    assert utf8_bytes("a" * 4097) == 4097


def test_channels_without_limit_are_never_over():
    result = count("x" * 100_000, "email")
    assert (result.limit, result.over) == (None, False)
    assert limit_message(result) == "100000 characters"
    assert count("hi", "demo").limit is None


def test_every_platform_has_a_rule_and_an_unknown_channel_has_none():
    for platform in traits.platforms():
        count("hi", platform)  # every connector declares its traits, limits included
    assert {"bluesky", "telegram", "mastodon", "email"} <= set(traits.platforms())
    with pytest.raises(ValueError, match="myspace"):
        count("hi", "myspace")


def test_url_trailing_punctuation_and_long_runs_stay_linear():
    assert x_weighted_length("go to www.example.com!!!") == len("go to ") + 23 + 3
    dots = "https://" + "." * 200_000
    assert x_weighted_length(dots) == 23 + 200_000  # the bare scheme is the URL, the dots are text
    assert count(dots + " ok", "mastodon").used == 23 + 200_000 + 3
