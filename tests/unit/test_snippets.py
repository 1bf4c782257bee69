"""Snippets: placeholders and rendering, the library, palette ranking, personalisation, import/export,
and the starter pack."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialdesk.core import snippets as sn
from socialdesk.core.store import Snippet, Store

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "db.sqlite3")
    yield s
    s.close()


def make(store, abbr, body, title=None, **kw):
    return sn.create_snippet(store, title=title or abbr.title(), abbreviation=abbr, body=body, now=NOW, **kw)


# --- placeholders and rendering --------------------------------------------------------------------


def test_fallback_used_when_value_missing_and_value_when_present():
    body = "Hi {first_name|there}, thanks for writing to {business|us}!"
    assert sn.render(body, sn.RenderContext()) == "Hi there, thanks for writing to us!"
    ctx = sn.RenderContext(first_name="Sam", business="Rosie's Bakery")
    assert sn.render(body, ctx) == "Hi Sam, thanks for writing to Rosie's Bakery!"


def test_empty_fallback_is_allowed():
    assert sn.render("Thanks{first_name|}!", sn.RenderContext()) == "Thanks!"


@pytest.mark.parametrize(
    "body, expected",
    [
        ("Hi {first_name}, thanks!", "Hi, thanks!"),
        ("Hi {first_name} and welcome", "Hi and welcome"),
        ("Thanks {first_name}!", "Thanks!"),
        ("Thanks {first_name}", "Thanks"),
        ("{first_name}, welcome back", "welcome back"),
        ("{name} {handle} hello", "hello"),
        ("Line one\n{name}, line two", "Line one\nline two"),
        ("Keep  my  spacing {name}.", "Keep  my  spacing."),
    ],
)
def test_empty_placeholder_without_fallback_leaves_a_tidy_seam(body, expected):
    assert sn.render(body, sn.RenderContext()) == expected


def test_every_placeholder_renders_from_context():
    ctx = sn.RenderContext(**{name: f"<{name}>" for name in sn.PLACEHOLDERS})
    body = " ".join("{" + name + "}" for name in sn.PLACEHOLDERS)
    assert sn.render(body, ctx) == " ".join(f"<{name}>" for name in sn.PLACEHOLDERS)


def test_doubled_braces_are_literal_and_values_are_not_rescanned():
    assert sn.render("Use {{code}} at checkout}}", sn.RenderContext()) == "Use {code} at checkout}"
    ctx = sn.RenderContext(first_name="{today}{{")
    assert sn.render("Hi {first_name}", ctx) == "Hi {today}{{"


def test_unknown_placeholder_is_reported_with_position_and_suggestion():
    body = "Hi {frist_name}, see you {next_open}"
    problems = sn.validate_body(body)
    assert len(problems) == 1
    assert problems[0].position == 3 and problems[0].length == len("{frist_name}")
    assert "{frist_name}" in problems[0].message and "{first_name}" in problems[0].message
    with pytest.raises(sn.SnippetError, match="frist_name"):
        sn.render(body, sn.RenderContext())


@pytest.mark.parametrize(
    "body", ["{__class__}", "{first_name.__class__}", "{0}", "{ctx}", "{first_name!r}", "{}"]
)
def test_code_like_placeholders_are_unknown(body):
    assert sn.validate_body(body)
    with pytest.raises(sn.SnippetError):
        sn.render(body, sn.RenderContext(first_name="Sam"))


@pytest.mark.parametrize("body, position", [("Hi {first_name", 3), ("Hi } there", 3), ("a {b {name}", 2)])
def test_unbalanced_braces_are_reported(body, position):
    problems = sn.validate_body(body)
    assert problems and problems[0].position == position
    assert "brace" in problems[0].message


def test_valid_and_empty_bodies():
    assert sn.validate_body("Hi {first_name|there} {{ok}}") == []
    assert sn.validate_body("   ")[0].message == "The snippet text is empty."


_literal_text = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=15)
_placeholder = st.builds(
    lambda name, fallback: "{" + name + ("" if fallback is None else "|" + fallback) + "}",
    st.sampled_from(sorted(sn.PLACEHOLDERS)),
    st.none() | _literal_text,
)
_valid_body = st.lists(
    st.one_of(_literal_text, _placeholder, st.just("{{"), st.just("}}")), min_size=1, max_size=8
).map("".join)
_context = st.builds(sn.RenderContext, **{name: st.text(max_size=12) for name in sn.PLACEHOLDERS})


@settings(max_examples=300, deadline=None)
@given(body=_valid_body, ctx=_context)
def test_render_never_raises_for_a_valid_body(body, ctx):
    if sn.validate_body(body):  # only whitespace-only bodies are rejected among these
        assert not body.strip()
        return
    out = sn.render(body, ctx)
    assert isinstance(out, str)


@settings(max_examples=200, deadline=None)
@given(inner=st.text(max_size=20))
def test_anything_but_a_known_name_inside_braces_is_rejected(inner):
    body = "{" + inner + "}"
    name = inner.partition("|")[0].strip()
    if name in sn.PLACEHOLDERS and "{" not in inner and "}" not in inner:
        sn.render(body, sn.RenderContext())
    else:
        with pytest.raises(sn.SnippetError):
            sn.render(body, sn.RenderContext())


# --- the library -----------------------------------------------------------------------------------


def test_create_and_find_by_abbreviation_case_insensitively(store):
    s = make(store, "Thx", "Thanks {first_name|there}!", tags=["thanks", " thanks ", ""], channels=["bluesky"])
    assert s.abbreviation == "thx" and s.tags == ["thanks"] and s.channels == ["bluesky"]
    assert sn.find_by_abbreviation("THX").id == s.id
    assert sn.find_by_abbreviation("nope") is None
    assert make(store, "Réponse_2-b", "Merci !").abbreviation == "réponse_2-b"


@pytest.mark.parametrize("abbr", ["", "has space", "x" * 33, "semi;colon", "dot.dot", "a\nb"])
def test_bad_abbreviation_rejected(store, abbr):
    with pytest.raises(sn.SnippetError, match="abbreviation"):
        make(store, abbr, "Hello", title="Hello")
    assert Snippet.select().count() == 0


def test_duplicate_abbreviation_and_bad_fields_rejected(store):
    make(store, "thx", "Thanks!", title="Thanks")
    with pytest.raises(sn.SnippetError, match="already used by “Thanks”"):
        make(store, "THX", "Thanks again")
    with pytest.raises(sn.SnippetError, match="Unknown placeholder"):
        make(store, "hi", "Hi {firstname}")
    with pytest.raises(sn.SnippetError, match="1 to 9"):
        make(store, "hi", "Hi", favorite_slot=10)
    with pytest.raises(sn.SnippetError, match="Unknown channel 'myspace'"):
        make(store, "hi", "Hi", channels=["myspace"])
    with pytest.raises(sn.SnippetError, match="title"):
        make(store, "hi", "Hi", title="   ")
    assert Snippet.select().count() == 1


def test_moving_a_favourite_slot_frees_it_from_the_previous_holder(store):
    a = make(store, "a", "A", favorite_slot=1)
    b = make(store, "b", "B", favorite_slot=2)
    sn.update_snippet(store, b.id, favorite_slot=1, now=NOW + timedelta(minutes=1))
    assert Snippet.get_by_id(a.id).favorite_slot is None
    assert Snippet.get_by_id(b.id).favorite_slot == 1
    c = make(store, "c", "C", favorite_slot=1)
    assert Snippet.get_by_id(b.id).favorite_slot is None and c.favorite_slot == 1


def test_update_snippet_validates_and_stamps(store):
    a = make(store, "a", "A")
    make(store, "b", "B")
    later = NOW + timedelta(hours=1)
    updated = sn.update_snippet(store, a.id, now=later, body="Hi {name|friend}", abbreviation="hello")
    assert (updated.body, updated.abbreviation, updated.updated_at) == ("Hi {name|friend}", "hello", later)
    with pytest.raises(sn.SnippetError, match="already used"):
        sn.update_snippet(store, a.id, now=later, abbreviation="b")
    with pytest.raises(sn.SnippetError, match="Unknown placeholder"):
        sn.update_snippet(store, a.id, now=later, body="{nope}")
    with pytest.raises(TypeError, match="use_count"):
        sn.update_snippet(store, a.id, now=later, use_count=5)
    with pytest.raises(sn.SnippetError, match="no longer exists"):
        sn.update_snippet(store, 9999, now=later, title="x")
    assert Snippet.get_by_id(a.id).abbreviation == "hello"


def test_delete_then_restore_is_an_exact_undo(store):
    s = make(store, "sorry", "Sorry {first_name|there}", tags=["refund"], favorite_slot=4)
    sn.record_use(store, s.id, NOW + timedelta(days=1))
    before = sn.snippet_data(Snippet.get_by_id(s.id))
    data = sn.delete_snippet(store, s.id)
    assert Snippet.get_or_none(Snippet.id == s.id) is None
    assert sn.rank_snippets(store, "sorry", "", "") == []
    restored = sn.restore_snippet(store, data)
    assert sn.snippet_data(restored) == before
    assert [x.id for x in sn.rank_snippets(store, "sorry", "", "")] == [s.id]  # FTS index follows


def test_restore_does_not_steal_a_slot_taken_meanwhile(store):
    s = make(store, "a", "A", favorite_slot=3)
    data = sn.delete_snippet(store, s.id)
    b = make(store, "b", "B", favorite_slot=3)
    restored = sn.restore_snippet(store, data)
    assert restored.favorite_slot is None and restored.abbreviation == "a"
    assert restored.id != b.id and Snippet.get_by_id(b.id).favorite_slot == 3
    with pytest.raises(sn.SnippetError, match="already used"):
        sn.restore_snippet(store, data)


def test_record_use(store):
    s = make(store, "a", "A")
    sn.record_use(store, s.id, NOW)
    sn.record_use(store, s.id, NOW + timedelta(hours=2))
    s = Snippet.get_by_id(s.id)
    assert (s.use_count, s.last_used_at) == (2, NOW + timedelta(hours=2))


# --- ranking ---------------------------------------------------------------------------------------


def test_palette_ranks_the_refund_snippet_first_for_a_refund_complaint(store):
    sn.load_starter_snippets(store, NOW)
    for abbr in ("thx", "hi", "closed"):  # popular snippets must not drown out the relevant one
        for _ in range(30):
            sn.record_use(store, sn.find_by_abbreviation(abbr).id, NOW)
    complaint = "The mug I ordered arrived broken. I want my money back — a full refund please!"
    ranked = sn.rank_snippets(store, "", complaint, "telegram")
    assert ranked[0].abbreviation == "sorry"
    assert "refund" in ranked[0].body


def test_typed_query_matches_subsequence_prefix_and_abbreviation(store):
    refund = make(store, "sorry", "I'm sorry. We will refund your order in full.", title="Apology")
    hours = make(store, "hours", "We're open 9 to 5.", title="Opening hours")
    assert sn.rank_snippets(store, "rfd", "", "")[0].id == refund.id
    assert sn.rank_snippets(store, "open", "", "")[0].id == hours.id
    assert sn.rank_snippets(store, "hours", "", "")[0].id == hours.id
    assert sn.rank_snippets(store, "zzq", "", "") == []


def test_channel_restricted_snippets_are_left_out(store):
    make(store, "review", "Thanks for the review!", channels=["mastodon"])
    make(store, "thx", "Thanks!")
    assert [s.abbreviation for s in sn.rank_snippets(store, "th", "", "telegram")] == ["thx"]
    assert {s.abbreviation for s in sn.rank_snippets(store, "th", "", "mastodon")} == {"review", "thx"}


def test_empty_query_and_message_lists_favourites_then_most_used(store):
    plain = make(store, "plain", "P")
    busy = make(store, "busy", "B")
    fav2 = make(store, "fav2", "F2", favorite_slot=2)
    fav1 = make(store, "fav1", "F1", favorite_slot=1)
    for _ in range(3):
        sn.record_use(store, busy.id, NOW)
    sn.record_use(store, plain.id, NOW)
    ranked = sn.rank_snippets(store, "", "", "")
    assert [s.id for s in ranked] == [fav1.id, fav2.id, busy.id, plain.id]
    assert len(sn.rank_snippets(store, "", "", "", limit=2)) == 2


@pytest.mark.parametrize(
    "hostile",
    ['"unbalanced', "refund* OR", "NEAR(a b) AND -x", "body:refund", "{title}: x ^ *", "'; DROP TABLE snippet; --"],
)
def test_customer_text_is_never_used_as_raw_fts_syntax(store, hostile):
    make(store, "sorry", "Sorry, we will refund you.")
    ranked = sn.rank_snippets(store, "", hostile, "")
    assert len(ranked) == 1
    assert Snippet.select().count() == 1


def test_fts_query_from_text_is_quoted_tokens():
    assert sn.fts_query_from_text('I want a "refund" NOW!! AND') == '"want" OR "refund" OR "now"'
    assert sn.fts_query_from_text("the and of 123") == ""


# --- personalisation -------------------------------------------------------------------------------


def test_classify_reply():
    snippet = "Thanks so much for your order! It ships tomorrow."
    assert sn.classify_reply("Lovely to hear from you", None, ["Sam Lee"]) == "personal"
    assert sn.classify_reply(snippet, snippet, ["Sam Lee"]) == "snippet_unchanged"
    assert sn.classify_reply(snippet.upper() + "  ", snippet, ["Sam Lee"]) == "snippet_unchanged"
    assert (
        sn.classify_reply("Thanks so much for your order, Sam! It ships tomorrow.", snippet, ["Sam Lee"])
        == "snippet_edited"
    )
    rewritten = "Sam, your blue mug is packed and leaves with the courier on Tuesday morning. Cheers!"
    assert sn.classify_reply(rewritten, snippet, ["Sam Lee"]) == "personal"


def test_name_nudge_only_for_an_unchanged_snippet_without_the_name():
    snippet = "Thanks so much for your order!"
    assert sn.needs_name_nudge(snippet, snippet, "Sam") is True
    assert sn.needs_name_nudge("Thanks so much for your order, Sam!", snippet, "Sam") is False
    with_name = "Hi Sam, thanks so much for your order!"
    assert sn.needs_name_nudge(with_name, with_name, "sam") is False
    assert sn.needs_name_nudge("Hi Samantha, thanks", "Hi Samantha, thanks", "Sam") is True
    assert sn.needs_name_nudge(snippet, None, "Sam") is False
    assert sn.needs_name_nudge(snippet, snippet, "") is False


# --- import / export -------------------------------------------------------------------------------


def _tricky_library(store):
    make(store, "zz", 'Line one, "quoted"\nline two; with ; semis 😊', title="Multi, line", tags=["a b", "c"])
    make(store, "aa", "Back {next_open}", title="Closed", channels=["telegram", "bluesky"], favorite_slot=3)
    make(store, "mm", "Hi {first_name|there} {{literal}}", title="Ünïcode title")


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_round_trip_is_byte_identical(store, tmp_path, fmt):
    _tricky_library(store)
    export = getattr(sn, f"export_{fmt}")
    parse = getattr(sn, f"parse_{fmt}")
    first = export(store)
    other = Store.open(tmp_path / "other.sqlite3")
    try:
        result = sn.import_snippets(other, parse(first), NOW)
        assert (result.created, result.updated) == (3, 0)
        assert export(other) == first
        assert sn.import_snippets(other, parse(first), NOW).updated == 3
        assert export(other) == first
    finally:
        other.close()


def test_json_and_csv_exports_carry_the_same_snippets(store):
    _tricky_library(store)
    assert sn.parse_json(sn.export_json(store)) == sn.parse_csv(sn.export_csv(store))
    assert [row["abbreviation"] for row in json.loads(sn.export_json(store))] == ["aa", "mm", "zz"]


def test_malformed_csv_import_leaves_library_unchanged(store):
    _tricky_library(store)
    before_json = sn.export_json(store)
    bad = (
        "abbreviation,title,body,tags,channels,favorite_slot\n"
        "aa,Closed now,Back soon,,,\n"
        'new1,New,"multi\nline body",,,\n'
        "new2,Broken,Hello {frist_name},,,\n"
    )
    with pytest.raises(sn.SnippetImportError) as info:
        sn.import_snippets(store, sn.parse_csv(bad), NOW)
    err = info.value
    assert (err.line, err.field) == (5, "body")
    assert str(err).startswith("Line 5, field 'body': Unknown placeholder {frist_name}")
    assert sn.export_json(store) == before_json


@pytest.mark.parametrize(
    "text, line, field",
    [
        ("abbreviation,title,body,colour\n", 1, "colour"),
        ("abbreviation,title\n", 1, "body"),
        ("abbreviation,title,body\nok,Ok,Fine\nbad one,Title,Body\n", 3, "abbreviation"),
        ("abbreviation,title,body,favorite_slot\na,A,Body,12\n", 2, "favorite_slot"),
        ("abbreviation,title,body\na,A,Body\nA,Again,Body\n", 3, "abbreviation"),
        ("abbreviation,title,body\na,A\n", 2, None),
        ("abbreviation,title,body,channels\na,A,Body,telegram;fax\n", 2, "channels"),
        ("abbreviation,title,body\na,,Body\n", 2, "title"),
    ],
)
def test_csv_errors_name_line_and_field(text, line, field):
    with pytest.raises(sn.SnippetImportError) as info:
        sn.parse_csv(text)
    assert (info.value.line, info.value.field) == (line, field)


def test_json_errors_name_line_and_field(store):
    with pytest.raises(sn.SnippetImportError) as info:
        sn.parse_json('[\n  {"abbreviation": "a", "title": "A", "body": "B"},\n  {"abbreviation": "b",')
    assert info.value.line == 3 and "not valid JSON" in str(info.value)
    text = (
        '[\n  {"abbreviation": "a", "title": "A", "body": "B"},\n'
        '  {"abbreviation": "b", "title": "B",\n   "body": "{oops}"}\n]\n'
    )
    with pytest.raises(sn.SnippetImportError) as info:
        sn.parse_json(text)
    assert (info.value.line, info.value.field) == (3, "body")
    with pytest.raises(sn.SnippetImportError) as info:
        sn.parse_json('[{"abbreviation": "a", "title": "A", "body": "B", "tags": "x"}]')
    assert info.value.field == "tags"
    with pytest.raises(sn.SnippetImportError, match="list of snippets"):
        sn.parse_json('{"abbreviation": "a"}')


def test_import_updates_existing_and_file_slots_win(store):
    old = make(store, "thx", "Thanks", favorite_slot=1)
    other = make(store, "other", "Other", favorite_slot=2)
    rows = sn.parse_json(
        json.dumps(
            [
                {"abbreviation": "THX", "title": "Thanks v2", "body": "Thanks a lot", "favorite_slot": 2},
                {"abbreviation": "new", "title": "New", "body": "New one", "favorite_slot": 1},
            ]
        )
    )
    result = sn.import_snippets(store, rows, NOW + timedelta(days=1))
    assert (result.created, result.updated, result.total) == (1, 1, 2)
    assert Snippet.get_by_id(old.id).body == "Thanks a lot"
    assert Snippet.get_by_id(old.id).favorite_slot == 2
    assert Snippet.get_by_id(other.id).favorite_slot is None
    assert sn.find_by_abbreviation("new").favorite_slot == 1


def test_import_rejects_invalid_rows_passed_directly(store):
    with pytest.raises(sn.SnippetImportError) as info:
        sn.import_snippets(store, [{"abbreviation": "a", "title": "A", "body": "ok"}, {"title": "x"}], NOW)
    assert (info.value.line, info.value.field) == (2, "abbreviation")
    assert Snippet.select().count() == 0


# --- starter pack ----------------------------------------------------------------------------------


def test_starter_snippets_load_once_and_deletion_is_permanent(store):
    added = sn.load_starter_snippets(store, NOW)
    assert 12 <= added <= 20
    assert store.get_setting(sn.STARTER_SETTING) is True
    thx = sn.find_by_abbreviation("thx")
    sn.delete_snippet(store, thx.id)
    assert sn.load_starter_snippets(store, NOW) == 0
    assert sn.find_by_abbreviation("thx") is None


def test_starter_pack_content(store):
    sn.load_starter_snippets(store, NOW)
    all_snippets = list(Snippet.select())
    bodies = " ".join(s.body for s in all_snippets)
    assert "{first_name|there}" in bodies and "{next_open|" in bodies and "{hours|" in bodies and "refund" in bodies
    assert any("review" in s.title.lower() and "thank" in s.body.lower() for s in all_snippets)
    assert 3 <= sum(1 for s in all_snippets if s.favorite_slot) <= 5
    for s in all_snippets:
        assert sn.validate_body(s.body) == []
        sn.render(s.body, sn.RenderContext())


def test_starter_pack_never_overwrites_or_steals(store):
    mine = make(store, "thx", "My own thanks", favorite_slot=1)
    sn.load_starter_snippets(store, NOW)
    mine = Snippet.get_by_id(mine.id)
    assert (mine.body, mine.favorite_slot) == ("My own thanks", 1)
    assert Snippet.select().where(Snippet.favorite_slot == 1).count() == 1
