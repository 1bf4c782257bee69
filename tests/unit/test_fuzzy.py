"""The command palette's fuzzy ranking (core/fuzzy.py): substring, subsequence and one-typo matches."""

from socialdesk.core import fuzzy

TITLES = ["Next conversation", "Reply", "Send reply", "Send and mark done", "Mark done", "Snooze…", "Undo",
          "Open on platform", "Command palette", "Keyboard shortcuts", "Today", "Réglages"]


def ranked(query: str) -> list[str]:
    return [key for _score, key in fuzzy.rank(query, [(t, t) for t in TITLES])]


def test_word_start_beats_inside_and_every_word_must_match():
    assert ranked("re")[:3] == ["Reply", "Réglages", "Send reply"]  # "Mark done" only as a subsequence
    assert ranked("op pl") == ["Open on platform", "Command palette"]
    assert ranked("send xyz") == []


def test_subsequence_prefers_the_tighter_title():
    assert ranked("mkdn") == ["Mark done", "Send and mark done"]
    assert ranked("kbsc") == ["Keyboard shortcuts"]


def test_one_typo_is_forgiven_from_four_letters():
    assert ranked("sned")[:2] == ["Send reply", "Send and mark done"]  # two letters swapped
    assert ranked("todya") == ["Today"]
    assert ranked("shortcts") == ["Keyboard shortcuts"]  # a letter missing
    assert ranked("snoaze") == ["Snooze…"]  # a letter extra while still typing
    assert "Undo" not in ranked("snd")  # three letters: no typo allowance


def test_case_and_accents_are_ignored_and_empty_query_keeps_order():
    assert ranked("REGLAGES") == ["Réglages"]
    assert ranked("") == TITLES
    assert fuzzy.score("", "anything") == 0.0


def test_strict_matching_takes_substrings_only():
    assert fuzzy.score("sned", "Today's answers and the last 7 days", loose=False) is None
    assert fuzzy.score("answers", "Today's answers and the last 7 days", loose=False) is not None
