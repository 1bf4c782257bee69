"""Who else may be the same person: ranked candidates for "Same person as…" (core/queue.merge_contacts
links them), Qt-free.

Decisions:
- Three kinds of evidence, each 0..1:
  * identity: the same e-mail address (1.0); the same handle or e-mail local part on any two channels
    (1.0 from 6 characters, 0.75 for 4–5, shorter ones prove nothing: "sam" is many people); a handle
    that spells the other's whole name, "samtaylor" for "Sam Taylor" (0.85). Handles and local parts are
    compared normalised: accents dropped, case folded, dots, dashes and underscores ignored, a
    Mastodon "@user@host" and an e-mail "user@domain" by their user part, a Bluesky "user.bsky.social"
    by its first label. Shared mailbox names (info, hello, contact, …) are never evidence.
  * name: token based and order-free. Names are normalised the same way and split into words; each
    word of the shorter name is paired with a different word of the other, best pairs first: equal 1.0,
    one a prefix of the other of at least 3 letters ("sam"/"samuel") 0.8, a one-letter slip in a word
    of 5 or more letters ("tayler") 0.7, an initial ("t."/"taylor") 0.6. The sum is divided by the
    longer name's word count, so "Sam" vs "Sam Taylor" is 0.5 and "Mateo García" vs "Sam Taylor" is 0.
  * shared recent activity: both wrote in the last 14 days, close together: within an hour 1.0, a day
    0.5, a week 0.25 (someone who asks on Instagram and then e-mails is often one person).
- Every candidate says why it is listed (`Candidate.why`, the dialog's "Why" column): the evidence,
  strongest first, or, when there is none (someone browsed, or found by what was typed), NOTHING_LINKS
  or, when they wrote close in time, "Only wrote on the same day" (short: the column is narrow).
- score = 0.8 × max(identity, name) + 0.2 × activity. A candidate is preselected (`strong`) only from
  PRESELECT = 0.6: a full name or handle match, a first-name match written within the same hour. Below
  it nothing is selected and the owner types to filter; activity alone can never reach it.
- Who is scored (so 20,000 contacts stay fast): with nothing typed, people sharing a name word (the
  contact FTS index, prefix match, accent-insensitive), people whose handle or address matches one of
  this person's, people who wrote close in time, and the 50 newest contacts to browse; with text typed,
  the people whose name words start with it (as search does) or whose handle contains it. Order: score,
  then the most recent activity, then the newest contact.
- The business's own identities (Identity.is_self) are never candidates.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from socialdesk.core import queue
from socialdesk.core.store import Account, Contact, Conversation, from_micros, tuples

PRESELECT = 0.6
NOTHING_LINKS = "No shared name, handle or address"
RECENT = timedelta(days=14)
NEWEST_SHOWN = 50
POOL_LIMIT = 500  # per source; the list shows the best `limit`
GENERIC_MAILBOXES = frozenset(
    "admin contact hello help hi info mail noreply office orders sales service shop support team".split()
)
_WORD = re.compile(r"[^\W_]+")  # letters and digits; "_" separates words too


@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    channels: tuple[str, ...]
    score: float
    reasons: tuple[str, ...]  # the evidence: "same handle", "similar name", "wrote within the same hour"
    timing: str = ""  # when both wrote ("wrote on the same day"), also when it is no evidence alone

    @property
    def why(self) -> str:
        """Why it is listed, for the owner (module docstring)."""
        if not self.reasons:
            return f"Only {self.timing}" if self.timing else NOTHING_LINKS
        text = ", ".join(self.reasons)
        return text[:1].upper() + text[1:]

    @property
    def strong(self) -> bool:
        """Good enough to preselect."""
        return self.score >= PRESELECT


# --- normalising ---------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Accents dropped and case folded: "García" -> "garcia", "Chloé" -> "chloe"."""
    if text.isascii():
        return text.lower()  # most names and handles: no decomposition needed
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def name_words(name: str) -> list[str]:
    return _WORD.findall(fold(name))


def handle_keys(handle: str, external_id: str = "") -> tuple[set[str], set[str]]:
    """(normalised handles and local parts, full e-mail addresses) of one identity. A platform's user id
    (numeric, a DID) says nothing about the person: `external_id` counts only as an address."""
    keys: set[str] = set()
    addresses: set[str] = set()
    for raw, is_id in ((handle, False), (external_id, True)):
        value = fold(raw.strip()).lstrip("@")
        if not value or (is_id and "@" not in value):
            continue
        if "@" in value:  # user@domain (e-mail) or user@host (Mastodon)
            user, _, host = value.partition("@")
            if is_id and "." in host:
                addresses.add(value)
            value = user
        elif value.count(".") >= 2:  # a Bluesky handle: its first label names the person
            value = value.split(".", 1)[0]
        key = "".join(_WORD.findall(value))
        if len(key) >= 4 and not key.isdigit() and key not in GENERIC_MAILBOXES:
            keys.add(key)
    return keys, addresses


# --- evidence ---------------------------------------------------------------------------------------------


def _one_slip(a: str, b: str) -> bool:
    """One letter changed, added, dropped, or two neighbours swapped ("tayler", "tayor", "talyor")."""
    if abs(len(a) - len(b)) > 1:
        return False
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    a, b = a[start:], b[start:]
    return (a[1:] == b[1:] or a[1:] == b or a == b[1:]
            or (len(a) >= 2 and a[0] == b[1:2] and a[1] == b[0] and a[2:] == b[2:]))


def _word_match(a: str, b: str) -> float:
    if a == b:
        return 1.0
    short, long = sorted((a, b), key=len)
    if len(short) >= 3 and long.startswith(short):
        return 0.8
    if len(short) >= 5 and _one_slip(a, b):
        return 0.7
    if len(short) == 1 and long.startswith(short):
        return 0.6
    return 0.0


def name_similarity(a: str, b: str) -> float:
    """0..1, see the module docstring."""
    return _words_similarity(name_words(a), name_words(b))


def _words_similarity(words_a: list[str], words_b: list[str]) -> float:
    if not words_a or not words_b:
        return 0.0
    if "".join(words_a) == "".join(words_b):
        return 1.0  # "SamTaylor" and "Sam Taylor"
    pairs = sorted(
        ((_word_match(x, y), i, j) for i, x in enumerate(words_a) for j, y in enumerate(words_b)), reverse=True
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    total = 0.0
    for value, i, j in pairs:
        if value == 0.0:
            break
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            total += value
    return total / max(len(words_a), len(words_b))


@dataclass
class _Person:
    id: int
    name: str
    keys: set[str]
    addresses: set[str]
    channels: set[str]
    inbound: list[datetime]
    is_self: bool = False  # the business's own identity: never a candidate

    def __post_init__(self) -> None:
        self.words = name_words(self.name)
        self.joined = "".join(self.words)


def _identity_evidence(me: _Person, other: _Person) -> tuple[float, str]:
    if me.addresses & other.addresses:
        return 1.0, "same email address"
    shared = me.keys & other.keys
    if shared:
        longest = max(shared, key=len)
        return (1.0 if len(longest) >= 6 else 0.75), "same handle"
    if (len(other.joined) >= 6 and other.joined in me.keys) or (len(me.joined) >= 6 and me.joined in other.keys):
        return 0.85, "handle matches the name"
    return 0.0, ""


def _activity_evidence(me: _Person, other: _Person, now: datetime) -> tuple[float, str]:
    since = now - RECENT
    mine = [t for t in me.inbound if t >= since]
    theirs = [t for t in other.inbound if t >= since]
    if not mine or not theirs:
        return 0.0, ""
    gap = min(abs(a - b) for a in mine for b in theirs)
    if gap <= timedelta(hours=1):
        return 1.0, "wrote within the same hour"
    if gap <= timedelta(days=1):
        return 0.5, "wrote on the same day"
    if gap <= timedelta(days=7):
        return 0.25, "wrote in the same week"
    return 0.0, ""


def score(me: _Person, other: _Person, now: datetime) -> Candidate:
    identity, identity_reason = _identity_evidence(me, other)
    name = _words_similarity(me.words, other.words)
    activity, activity_reason = _activity_evidence(me, other, now)
    # Why it is listed, strongest first; timing alone is no reason (in a busy hour everyone wrote).
    evidence = [(identity, identity_reason), (name, "same name" if name == 1.0 else "similar name")]
    reasons = [reason for value, reason in sorted(evidence, key=lambda e: -e[0]) if value > 0 and reason]
    if reasons and activity_reason:
        reasons.append(activity_reason)
    value = round(0.8 * max(identity, name) + 0.2 * activity, 4)
    return Candidate(other.id, other.name, tuple(sorted(other.channels)), value, tuple(reasons), activity_reason)


# --- the store ---------------------------------------------------------------------------------------------


def _people(contact_ids: Iterable[int]) -> dict[int, _Person]:
    ids = sorted(set(contact_ids))
    people: dict[int, _Person] = {}
    if not ids:
        return people
    channels = {a.id: queue.channel_of(a) for a in Account.select()}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        # Plain SQL: a thousand candidates through the ORM's row objects cost more than scoring them.
        for contact_id, display_name in _db().execute_sql(
            f"SELECT id, display_name FROM contact WHERE id IN ({marks})", chunk
        ):
            people[contact_id] = _Person(contact_id, display_name, set(), set(), set(), [])
        for contact_id, account_id, handle, external_id, is_self in _db().execute_sql(
            f"SELECT contact_id, account_id, handle, external_id, is_self FROM identity WHERE contact_id IN ({marks})",
            chunk,
        ):
            person = people.get(contact_id)
            if person is None:
                continue
            person.is_self = person.is_self or bool(is_self)
            keys, addresses = handle_keys(handle, external_id)
            person.keys |= keys
            person.addresses |= addresses
            person.channels.add(channels.get(account_id, ""))
        for contact_id, at in _db().execute_sql(
            f"SELECT contact_id, last_inbound_at FROM conversation WHERE contact_id IN ({marks})"
            " AND last_inbound_at IS NOT NULL", chunk,
        ):
            if contact_id in people:
                people[contact_id].inbound.append(from_micros(at))
    return people


def _db():
    return Contact._meta.database


def _name_pool(words: list[str], *, typed: bool) -> set[int]:
    """Contacts whose name has all the typed words as prefixes (as search does), or, for a person's own
    name, any of its words (prefixes from 3 letters: "sam" finds "Samuel", "j" finds only "J")."""
    terms = [f'"{w}"*' if typed or len(w) >= 3 else f'"{w}"' for w in words[:12]]
    if not terms:
        return set()
    rows = _db().execute_sql(
        "SELECT rowid FROM contact_fts WHERE contact_fts MATCH ? LIMIT ?",
        ((" AND " if typed else " OR ").join(terms), POOL_LIMIT),
    ).fetchall()
    return {r[0] for r in rows}


def _handle_pool(me: _Person) -> set[int]:
    """Contacts with an identity whose handle or address gives one of `me`'s keys (or spells its name)."""
    wanted = set(me.keys)
    if len(me.joined) >= 6:
        wanted.add(me.joined)
    found: set[int] = set()
    if not wanted:
        return found
    # SQLite narrows the identities down to those containing a key once dots, dashes and underscores are
    # gone (keys are letters and digits only, so they are safe in LIKE); handle_keys has the last word.
    squeezed = "replace(replace(replace(lower({}), '.', ''), '_', ''), '-', '')"
    clauses = " OR ".join(f"{squeezed.format('handle')} LIKE ? OR {squeezed.format('external_id')} LIKE ?"
                          for _key in sorted(wanted))
    params = [f"%{key}%" for key in sorted(wanted) for _column in range(2)]
    for contact_id, handle, external_id in _db().execute_sql(
        f"SELECT contact_id, handle, external_id FROM identity WHERE is_self = 0 AND ({clauses}) LIMIT ?",
        (*params, POOL_LIMIT),
    ):
        keys, addresses = handle_keys(handle or "", external_id or "")
        if keys & wanted or addresses & me.addresses:
            found.add(contact_id)
    return found


def _activity_pool(me: _Person, now: datetime) -> set[int]:
    recent = [t for t in me.inbound if t >= now - RECENT]
    if not recent:
        return set()
    low, high = min(recent) - timedelta(days=7), max(recent) + timedelta(days=7)
    query = (
        Conversation.select(Conversation.contact)
        .where(Conversation.last_inbound_at.between(low, high) & Conversation.contact.is_null(False))
        .order_by(Conversation.last_inbound_at.desc())
        .limit(POOL_LIMIT)
    )
    return {row[0] for row in tuples(query)}


def _typed_pool(text: str) -> set[int]:
    pool = _name_pool(queue.search_tokens(fold(text)), typed=True)
    needle = fold(text.strip()).lstrip("@")
    if needle:
        like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = _db().execute_sql(
            "SELECT contact_id FROM identity WHERE is_self = 0 AND (lower(handle) LIKE ? ESCAPE '\\'"
            " OR lower(external_id) LIKE ? ESCAPE '\\') LIMIT ?",
            (like, like, POOL_LIMIT),
        ).fetchall()
        pool |= {r[0] for r in rows}
    return pool


def rank_candidates(contact_id: int, text: str = "", *, now: datetime, limit: int = 50) -> list[Candidate]:
    """Who `contact_id` may be, best first (see the module docstring). Raises queue.QueueError if the
    contact is gone."""
    me = _people([contact_id]).get(contact_id)
    if me is None:
        raise queue.QueueError("That customer no longer exists.")
    if text.strip():
        pool = _typed_pool(text)
    else:
        newest = {row[0] for row in tuples(Contact.select(Contact.id).order_by(Contact.id.desc()).limit(NEWEST_SHOWN))}
        pool = _name_pool(me.words, typed=False) | _handle_pool(me) | _activity_pool(me, now) | newest
    pool.discard(contact_id)
    people = _people(pool)
    ranked = []
    for person in people.values():
        if person.is_self:
            continue
        person.channels.discard("")
        latest = max(person.inbound, default=None)
        ranked.append((score(me, person, now), latest.timestamp() if latest else 0.0))
    ranked.sort(key=lambda pair: (-pair[0].score, -pair[1], -pair[0].id))
    return [candidate for candidate, _latest in ranked[:limit]]
