"""Starter snippets send clean text (issue 17 item 4): seams left by unset values, {hours} and {next_open}
wording, every starter snippet rendered on an empty and on a configured profile, and the upgrade of
unedited starter texts on existing profiles."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from importlib import resources

import pytest

from socialdesk import paths
from socialdesk.app import build_core
from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import personalize
from socialdesk.core import snippets as sn
from socialdesk.core.clock import ManualClock
from socialdesk.core.hours import AwayPeriod, Schedule, parse_week_spec
from socialdesk.core.ingest import ingest
from socialdesk.core.snippets import transfer
from socialdesk.core.store import Account, Conversation, Setting, Snippet

UTC = timezone.utc
# Monday 23 November 2026: 10:00 in Berlin (open), and 20:00 (closed).
OPEN_TIME = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLOSED_TIME = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
NOW = OPEN_TIME


# --- seams ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, values, expected",
    [
        # The reported bug: ";bye" on a new profile.
        ("Thanks again! Have a lovely day. — {my_name}, {business}", {}, "Thanks again! Have a lovely day."),
        ("Have a lovely day.\n— {my_name}, {business}", {}, "Have a lovely day."),
        ("Have a lovely day.\n— {my_name}, {business}", {"my_name": "Sam"}, "Have a lovely day.\n— Sam"),
        ("Have a lovely day.\n— {my_name}, {business}", {"business": "Rye"}, "Have a lovely day.\n— Rye"),
        ("Have a lovely day.\n— {my_name}, {business}", {"my_name": "Sam", "business": "Rye"},
         "Have a lovely day.\n— Sam, Rye"),
        ("Hope to see you soon. — {my_name}", {}, "Hope to see you soon."),
        ("Thanks, {first_name}!", {}, "Thanks!"),
        ("Thanks - {my_name}", {}, "Thanks"),
        ("Call 555-{my_name}", {}, "Call 555-"),  # a hyphen inside a word is not a separator
        ("Hi\n{name}\nBye", {}, "Hi\nBye"),  # a line left empty goes with its line break
        ("Hi\n{name} 😊\nBye", {}, "Hi\n😊\nBye"),  # an emoji is content, not punctuation
        ("Hi\n\nBye {name}", {}, "Hi\n\nBye"),  # the owner's own empty lines stay
        ("Opening hours: {hours}", {}, "Opening hours"),
    ],
)
def test_an_unset_value_leaves_no_dangling_separator_or_line(body, values, expected):
    assert sn.render(body, sn.RenderContext(**values)) == expected


# --- {hours} and {next_open} --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("mon-fri 09:00-17:00", "Monday to Friday 9:00–17:00"),
        ("mon-fri 09:00-17:00; sat 10:00-14:00", "Monday to Friday 9:00–17:00, Saturday 10:00–14:00"),
        ("mon-fri 09:00-12:30,13:30-17:00", "Monday to Friday 9:00–12:30 and 13:30–17:00"),
        ("mon,wed,fri 08:00-12:00", "Monday, Wednesday and Friday 8:00–12:00"),
        ("sat-sun 10:00-16:00", "Saturday and Sunday 10:00–16:00"),
        ("mon-sun 07:00-21:00", "every day 7:00–21:00"),
        ("mon-sun 00:00-24:00", "every day around the clock"),
        ("fri 18:00-02:00", "Friday 18:00–2:00"),
        ("tue-thu 09:00-17:00; mon 10:00-17:00", "Monday 10:00–17:00, Tuesday to Thursday 9:00–17:00"),
        ("mon closed", ""),
        ("", ""),
    ],
)
def test_format_hours_reads_like_a_person_wrote_it(spec, expected):
    assert personalize.format_hours(parse_week_spec(spec)) == expected


def _berlin(spec: str, **kw) -> Schedule:
    return Schedule(timezone="Europe/Berlin", week=parse_week_spec(spec), **kw)


@pytest.mark.parametrize(
    "spec, now, expected",
    [
        ("mon-fri 09:00-17:00", OPEN_TIME, "now until 17:00"),
        ("mon-fri 09:00-17:00", CLOSED_TIME, "at 9:00 tomorrow"),
        ("mon 09:00-03:00", OPEN_TIME, "now until 3:00 tomorrow"),
        ("mon-sun 00:00-24:00", OPEN_TIME, "now, around the clock"),
        ("", OPEN_TIME, ""),
    ],
)
def test_next_open_says_until_when_while_open_never_a_bare_now(spec, now, expected):
    assert personalize.next_open_text(_berlin(spec), now) == expected


def test_next_open_is_empty_while_away_until_switched_off_so_the_fallback_applies():
    schedule = _berlin("mon-fri 09:00-17:00", away=[AwayPeriod(NOW - timedelta(days=1), None)])
    assert personalize.next_open_text(schedule, NOW) == ""
    assert sn.render("Back {next_open|soon}.", sn.RenderContext()) == "Back soon."


# --- every starter snippet, on an empty profile and on a configured one --------------------------------

_STARTERS = json.loads(resources.files("socialdesk").joinpath("resources", "snippets.json").read_text("utf-8"))


def _customer_conversation(core, display_name: str) -> int:
    with core.store.write():
        account_id = Account.create(kind="demo", name="Telegram", settings={"channel": "telegram"},
                                    created_at=NOW).id
    author = Author("u1", handle="alex", display_name=display_name)
    item = InboundItem("m1", "c1", "dm", False, author, "hello", core.clock.now() - timedelta(minutes=5))
    ingest(core.store, account_id, [item], None, core.policy(), core.clock.now())
    return Conversation.get(Conversation.account == account_id).id


def _problems(text: str) -> list[str]:
    """What would make a sent text look broken."""
    checks = {
        "dangling '—,'": "—," in text,
        "a bare 'now.'": re.search(r"\bnow[.!?]", text) is not None,
        "a brace": "{" in text or "}" in text,
        "a double space": "  " in text,
        "space before punctuation": re.search(r" [.,!?;:]", text) is not None,
        "an empty or punctuation-only line": any(not re.search(r"\w", line) for line in text.split("\n")),
        "a separator at a line end": re.search(r"[,;:—–-]\s*(\n|$)", text) is not None,
        "trailing whitespace": text != text.strip(),
        "an unset value's gap ('with  directly')": re.search(r"\bwith directly\b", text) is not None,
    }
    return [name for name, bad in checks.items() if bad]


@pytest.mark.parametrize("now", [OPEN_TIME, CLOSED_TIME], ids=["open", "closed"])
@pytest.mark.parametrize("configured", [False, True], ids=["empty-profile", "configured"])
@pytest.mark.parametrize("customer", ["Alex Morgan", "shop4u"], ids=["named", "unnamed"])
def test_every_starter_snippet_renders_clean_text(now, configured, customer):
    core = build_core(paths.profile("starter"), clock=ManualClock(now))
    try:
        if configured:
            core.owner.save_settings({
                "business.name": "Juniper & Rye",
                "business.my_name": "Sam",
                "hours.schedule": _berlin("mon-fri 09:00-17:00; sat 10:00-14:00").to_json(),
            })
        ctx = personalize.context_for(core, _customer_conversation(core, customer))
        rendered = {s.abbreviation: sn.render(s.body, ctx) for s in Snippet.select()}
    finally:
        core.close()
    assert set(rendered) == {row["abbreviation"] for row in _STARTERS}
    broken = {abbr: (text, _problems(text)) for abbr, text in rendered.items() if _problems(text)}
    assert not broken
    if configured:
        assert rendered["bye"].endswith("\n— Sam, Juniper & Rye")
        assert "Monday to Friday 9:00–17:00, Saturday 10:00–14:00" in rendered["hours"]
        assert rendered["hours"].endswith(
            "We're open now until 17:00." if now == OPEN_TIME else "We're open at 9:00 tomorrow."
        )
    else:
        assert rendered["bye"].endswith("Have a lovely day.")
        assert "9–5" not in rendered["hours"]


def test_bye_on_a_new_profile_previews_without_a_signature():
    ctx = sn.RenderContext(first_name="Alex")
    body = next(row["body"] for row in _STARTERS if row["abbreviation"] == "bye")
    assert sn.render(body, ctx) == "Thanks again, Alex! Have a lovely day."


# --- existing profiles ------------------------------------------------------------------------------------


def test_unedited_starters_of_an_older_pack_get_the_new_text_and_edited_ones_are_kept(store):
    sn.load_starter_snippets(store, NOW)
    old_bye = "Thanks again, {first_name|there}! Have a lovely day. — {my_name}, {business}"
    old_hours = "We're open Monday to Friday 9–5 and Saturday 10–2. Next time we're open: {next_open}."
    mine = "We're open Tuesday to Saturday, see you soon!"
    with store.write():  # a profile made with the first pack, on which the owner edited ;hours
        Snippet.update(body=old_bye).where(Snippet.abbreviation == "bye").execute()
        Snippet.update(body=mine).where(Snippet.abbreviation == "hours").execute()
        Snippet.delete().where(Snippet.abbreviation == "closed").execute()
        Setting.delete().where(Setting.key == sn.STARTER_VERSION_SETTING).execute()  # made before versions
    assert sn.load_starter_snippets(store, NOW + timedelta(days=1)) == 0
    assert sn.find_by_abbreviation("bye").body.endswith("\n— {my_name}, {business}")
    assert sn.find_by_abbreviation("hours").body == mine
    assert sn.find_by_abbreviation("closed") is None  # deleting a starter stays permanent
    assert store.get_setting(sn.STARTER_VERSION_SETTING) == sn.STARTER_VERSION
    with store.write():
        Snippet.update(body=old_hours).where(Snippet.abbreviation == "hours").execute()
    sn.load_starter_snippets(store, NOW + timedelta(days=2))
    assert sn.find_by_abbreviation("hours").body == old_hours  # upgraded once, never again


def test_no_earlier_starter_text_is_the_current_one():
    current = {row["abbreviation"]: row["body"] for row in _STARTERS}
    for abbreviation, earlier in transfer._EARLIER_STARTER_BODIES.items():
        assert abbreviation in current and current[abbreviation] not in earlier

