"""Per-channel counters: emoji, combining marks, URLs and limits as each platform counts them."""

from __future__ import annotations

import pytest

from socialdesk.core.text_limits import LIMITS, count, limit_message

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


def test_x_weighting_emoji_cjk_and_urls():
    assert count("hello", "x").used == 5
    assert count(FAMILY, "x").used == 2  # an emoji sequence weighs 2 whatever its length
    assert count(FLAG, "x").used == 2
    assert count("日本語", "x").used == 6  # CJK weighs 2
    assert count("café", "x").used == 4
    assert count(E_COMBINING, "x").used == 1  # NFC-composed first, like twitter-text
    url = "https://example.com/a/very/long/path?with=query&and=more"
    assert count(f"see {url}. thanks", "x").used == 4 + 23 + len(". thanks")
    assert count("a" * 280, "x").over is False
    assert count("日" * 141, "x").over is True


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


def test_byte_counted_channels():
    assert count("é", "google_reviews").used == 2
    assert count(THUMB_DARK, "instagram").used == 8
    assert count("a" * 4097, "google_reviews").over is True
    assert "Google review" in limit_message(count("é" * 2049, "google_reviews"))


def test_channels_without_limit_are_never_over():
    result = count("x" * 100_000, "email")
    assert (result.limit, result.over) == (None, False)
    assert limit_message(result) == "100000 characters"
    assert count("hi", "demo").limit is None


def test_known_kinds_and_unknown_kind():
    assert {"x", "bluesky", "telegram", "mastodon", "google_reviews", "email", "demo"} <= set(LIMITS)
    with pytest.raises(ValueError, match="myspace"):
        count("hi", "myspace")


def test_url_trailing_punctuation_and_long_runs_stay_linear():
    assert count("go to www.example.com!!!", "x").used == len("go to ") + 23 + 3
    dots = "https://" + "." * 200_000
    assert count(dots, "x").used == 23 + 200_000  # the bare scheme is the URL, the dots are text
    assert count(dots + " ok", "mastodon").used == 23 + 200_000 + 3
