"""Finding links, mentions and tags with UTF-8 byte offsets, and building Bluesky facets from them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from socialdesk.connectors.bluesky_richtext import Span, build_facets, find_spans


def sliced(text: str) -> list[tuple[str, str, str]]:
    """(kind, the bytes the span covers decoded, value) for each span: what Bluesky will underline."""
    raw = text.encode("utf-8")
    return [(s.kind, raw[s.start:s.end].decode("utf-8"), s.value) for s in find_spans(text)]


def test_plain_text_has_no_spans_or_facets():
    text = "Thanks! We open at 9 tomorrow, see you then."
    assert find_spans(text) == []
    assert build_facets(text, lambda handle: "did:plc:never") == []


def test_link_offsets_and_trailing_sentence_punctuation():
    text = "order here: https://shop.example/bread."
    assert find_spans(text) == [Span("link", 12, 38, "https://shop.example/bread")]
    assert sliced("Menu (https://shop.example/menu?day=mon&x=1).") == [
        ("link", "https://shop.example/menu?day=mon&x=1", "https://shop.example/menu?day=mon&x=1")
    ]
    assert sliced("Is it https://shop.example/a?!") == [("link", "https://shop.example/a", "https://shop.example/a")]
    assert sliced('"https://shop.example/q", she said') == [("link", "https://shop.example/q", "https://shop.example/q")]


def test_balanced_parentheses_stay_in_the_link():
    text = "(see https://en.wikipedia.org/wiki/Bread_(food))."
    assert sliced(text) == [("link", "https://en.wikipedia.org/wiki/Bread_(food)",
                             "https://en.wikipedia.org/wiki/Bread_(food)")]


def test_only_http_and_https_links_with_a_real_host():
    assert sliced("ftp://files.example/menu.pdf and shop.example/bread") == []
    assert sliced("http://localhost:8000/x and https://.example and xhttps://shop.example") == []
    assert sliced("HTTP://Shop.Example/Bread") == [("link", "HTTP://Shop.Example/Bread", "HTTP://Shop.Example/Bread")]


def test_byte_offsets_after_emoji_accents_and_cjk():
    # Bytes before the mention: 👩‍🍳 3 code points, 4+3+4 = 11; " Crème" 7; " brûlée" 9; " パン" 7;
    # " Grüße " 9 → 43 bytes for 26 code points.
    text = "👩‍🍳 Crème brûlée パン Grüße @alice.bsky.social #sourdough https://shop.example/é"
    spans = find_spans(text)
    assert [s.kind for s in spans] == ["mention", "tag", "link"]
    raw = text.encode("utf-8")
    prefix = "👩‍🍳 Crème brûlée パン Grüße "
    assert spans[0].start == 43 and len(prefix) == 26
    assert [raw[s.start:s.end].decode("utf-8") for s in spans] == [
        "@alice.bsky.social", "#sourdough", "https://shop.example/é"]
    assert spans[-1].end == len(raw)


def test_cjk_punctuation_ends_a_link_without_a_space():
    text = "注文は見てhttps://shop.example/パン。ありがとう"
    assert sliced(text) == [("link", "https://shop.example/パン", "https://shop.example/パン")]
    assert find_spans(text)[0].start == len("注文は見て") * 3


def test_several_facets_in_text_order():
    text = "#bakery news from @Bob.bsky.social: https://shop.example/x and @alice.bsky.social #rye"
    assert sliced(text) == [
        ("tag", "#bakery", "bakery"),
        ("mention", "@Bob.bsky.social", "bob.bsky.social"),
        ("link", "https://shop.example/x", "https://shop.example/x"),
        ("mention", "@alice.bsky.social", "alice.bsky.social"),
        ("tag", "#rye", "rye"),
    ]


def test_email_addresses_and_partial_handles_are_not_mentions():
    assert sliced("mail me at a@b.com") == []
    assert sliced("first.last@shop.example or x-@y.example") == []
    assert sliced("@alice alone, @alice.bsky.social_x, @alice.bsky.social@other.example") == []
    assert sliced("@-bad.example @bad-.example @1.2") == []


def test_mentions_at_start_in_parentheses_and_before_a_full_stop():
    assert sliced("@alice.bsky.social thanks") == [("mention", "@alice.bsky.social", "alice.bsky.social")]
    assert sliced("(cc @alice.bsky.social). Bye") == [("mention", "@alice.bsky.social", "alice.bsky.social")]
    assert sliced("ask @alice.bsky.social's sister") == [("mention", "@alice.bsky.social", "alice.bsky.social")]


def test_digit_only_hashtags_keycaps_and_mid_word_hashes_are_not_tags():
    assert sliced("#1 and #2024 and issue#5 and C# and #️⃣ and #") == []
    assert sliced("#1st #2024bake") == [("tag", "#1st", "1st"), ("tag", "#2024bake", "2024bake")]


def test_tags_trim_punctuation_allow_unicode_and_full_width_hash():
    assert sliced("Fresh today #sourdough! #pão, ＃パン。") == [
        ("tag", "#sourdough", "sourdough"), ("tag", "#pão", "pão"), ("tag", "＃パン", "パン")]
    assert find_spans("＃パン")[0] == Span("tag", 0, 9, "パン")  # ＃ is 3 bytes, like each katakana


def test_tag_length_limit_is_64_graphemes():
    assert sliced("#" + "a" * 64) == [("tag", "#" + "a" * 64, "a" * 64)]
    assert sliced("#" + "a" * 65) == []
    assert sliced("#" + "👍🏽" * 64) == [("tag", "#" + "👍🏽" * 64, "👍🏽" * 64)]  # 64 graphemes, 512 bytes


def test_mentions_and_tags_inside_a_link_are_part_of_the_link():
    text = "https://bsky.app/profile/@alice.bsky.social #top https://shop.example/#sourdough"
    assert [k for k, _, _ in sliced(text)] == ["link", "tag", "link"]
    assert sliced("#tag(@alice.bsky.social") == [("tag", "#tag(@alice.bsky.social", "tag(@alice.bsky.social")]


def test_build_facets_shapes_and_resolves_each_handle_once():
    calls: list[str] = []

    def resolve(handle: str) -> str | None:
        calls.append(handle)
        return {"alice.bsky.social": "did:plc:alice"}.get(handle)

    text = "@alice.bsky.social @ALICE.bsky.social @ghost.bsky.social #rye https://shop.example/"
    facets = build_facets(text, resolve)
    assert calls == ["alice.bsky.social", "ghost.bsky.social"]
    mention = {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}
    assert facets == [
        {"index": {"byteStart": 0, "byteEnd": 18}, "features": [mention]},
        {"index": {"byteStart": 19, "byteEnd": 37}, "features": [mention]},
        {"index": {"byteStart": 57, "byteEnd": 61},
         "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "rye"}]},
        {"index": {"byteStart": 62, "byteEnd": 83},
         "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://shop.example/"}]},
    ]


_PIECES = list("ab1 .,()#@:/-_é😀パ＃\n") + ["https://", "shop.example", "@alice.bsky.social", "#tag", "👩‍🍳"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_spans_are_ordered_disjoint_and_on_character_boundaries(text):
    raw = text.encode("utf-8")
    previous_end = 0
    for span in find_spans(text):
        assert previous_end <= span.start < span.end <= len(raw)
        piece = raw[span.start:span.end].decode("utf-8")  # raises if a boundary splits a character
        expected = {"link": piece, "mention": piece[1:].lower(), "tag": piece[1:]}[span.kind]
        assert span.value == expected
        previous_end = span.end
