"""The Facebook Page connector and the shared Meta layer against the Graph fake (tests/fakes/meta.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from socialdesk.connectors import meta
from socialdesk.connectors.base import (
    AuthError,
    MemorySecrets,
    NotAllowed,
    PermanentError,
    RateLimited,
    ReplyTarget,
    TransientError,
)
from socialdesk.connectors.facebook import FacebookConnector
from socialdesk.connectors.oauth import TOKEN_ENTRY, Tokens, parse_pasted
from tests.fakes.meta import (
    APP_ID,
    APP_SECRET,
    IG_USER_ID,
    PAGE_ID,
    PAGE_TOKEN,
    MetaFake,
    facebook_secrets,
    facebook_settings,
    graph_error,
)


@pytest.fixture
def fake():
    fake = MetaFake()
    with fake.running():
        yield fake


def connector(fake, **kwargs):
    settings = facebook_settings(fake, **kwargs.pop("settings", {}))
    sleeps = kwargs.pop("sleeps", [])
    return FacebookConnector(settings, kwargs.pop("secrets", facebook_secrets()), now=fake.now,
                             sleep=sleeps.append, **kwargs)


def drain(c, cursor=None, times=10):
    out = []
    for _ in range(times):
        items, cursor = c.fetch(cursor)
        if not items:
            break
        out += items
    return out, cursor


def dm_target(item, *, late=False):
    return ReplyTarget(conversation_external_id=item.conversation_external_id, kind=item.kind, public=item.public,
                       parent_external_id=item.external_id, parent_meta=item.meta,
                       recipient_external_id=item.author.external_id, late=late)


# --- Messenger -----------------------------------------------------------------------------------------


def test_messenger_walks_to_the_watermark_then_messages_until_a_known_id(fake):
    fake.add_message("Are you open on Sunday?", name="Sam")
    c = connector(fake)
    items, cursor = c.fetch(None)
    assert [i.text for i in items] == ["Are you open on Sunday?"]
    item = items[0]
    assert item.kind == "dm" and not item.public and item.conversation_external_id.startswith("dm:")
    assert item.reply_window_ends_at == item.created_at + timedelta(hours=24)
    fake.add_message("Hello?", name="Sam")
    fake.add_message("Hello??", name="Sam")
    fake.add_message("New person here", name="Kim")
    fake.requests.clear()
    items, cursor = connector(fake).fetch(cursor)
    assert [i.text for i in items] == ["Hello?", "Hello??", "New person here"]
    assert connector(fake).fetch(cursor)[0] == []
    # No stored Graph cursor: every walk starts at the first page.
    assert all(r.arg("after") is None for r in fake.requests)


def test_many_changed_conversations_are_read_over_bounded_polls_without_loss(fake):
    fake.add_message("first", name="P0")
    _, cursor = connector(fake).fetch(None)
    sent = [fake.add_message(f"m{n}", name=f"P{n}")["id"] for n in range(1, 8)]
    got: list[str] = []
    for _ in range(5):
        fake.requests.clear()
        items, cursor = connector(fake, max_pages=1).fetch(cursor)
        assert len([r for r in fake.requests if r.path.endswith("/messages")]) <= 3  # the per-poll budget
        got += [i.external_id for i in items]
    assert got == sent  # oldest first, each once, nothing skipped by the watermark


def test_page_messages_come_back_as_outbound(fake):
    fake.add_message("hi", name="Sam")
    items, cursor = connector(fake).fetch(None)
    connector(fake).reply(dm_target(items[0]), "Hi Sam, yes we are open.", idempotency_key="k1")
    items, _ = connector(fake).fetch(cursor)
    assert [(i.text, i.outbound) for i in items] == [("Hi Sam, yes we are open.", True)]
    assert items[0].reply_window_ends_at is None


@pytest.mark.parametrize("age, ok", [(timedelta(hours=23, minutes=59), True), (timedelta(hours=24, minutes=1), False)])
def test_the_24_hour_window_edge(fake, age, ok):
    fake.add_message("Where is my order?", name="Sam", at=fake.now() - age)
    items, _ = connector(fake).fetch(None)
    c = connector(fake)
    if ok:
        assert c.reply(dm_target(items[0]), "On its way", idempotency_key="k").external_id
        assert fake.sent[-1]["tagged"] is False
    else:
        # Core marks the send late once the stored window closed; without Human Agent nothing is sent.
        with pytest.raises(NotAllowed, match="open this conversation in Messenger"):
            c.reply(dm_target(items[0], late=True), "On its way", idempotency_key="k")
        # A send the window check missed is refused by Meta: NotAllowed, not an account error.
        with pytest.raises(NotAllowed):
            c.reply(dm_target(items[0]), "On its way", idempotency_key="k")
        assert fake.sent == []


def test_late_reply_is_tagged_human_agent_only_when_enabled(fake):
    fake.add_message("Where is my order?", name="Sam", at=fake.now() - timedelta(days=2))
    items, _ = connector(fake).fetch(None)
    c = connector(fake, settings={"human_agent": "yes"})
    c.reply(dm_target(items[0], late=True), "Sorry for the wait", idempotency_key="k")
    assert fake.sent[-1]["tagged"] is True
    fake.add_message("Still there?", name="Kim", at=fake.now() - timedelta(days=8))
    items, _ = connector(fake).fetch(None)
    kim = next(i for i in items if i.text == "Still there?")
    with pytest.raises(NotAllowed, match="7 days"):
        c.reply(dm_target(kim, late=True), "Sorry", idempotency_key="k2")


def test_messenger_without_advanced_access_is_a_notice_and_comments_still_arrive(fake):
    fake.messenger_refused = True
    fake.add_comment("Do you deliver?", name="Ann")
    c = connector(fake)
    items, _ = c.fetch(None)
    assert [i.text for i in items] == ["Do you deliver?"]
    assert "Messenger" in c.notice and "Advanced Access" in c.notice


def test_an_empty_first_poll_says_what_advanced_access_means(fake):
    c = connector(fake)
    assert c.fetch(None)[0] == []
    assert "Advanced Access" in c.notice and "App Review" in c.notice


# --- comments -------------------------------------------------------------------------------------------


def test_comments_and_replies_group_by_thread_and_page_replies_are_outbound(fake):
    top = fake.add_comment("Is the bakery open today?", name="Ann")
    fake.add_comment("I wonder too", name="Bob", parent_id=top["id"])
    items, cursor = connector(fake).fetch(None)
    assert [(i.text, i.conversation_external_id) for i in items] == [
        ("Is the bakery open today?", f"comment:{top['id']}"), ("I wonder too", f"comment:{top['id']}")]
    assert all(i.kind == "comment" and i.public for i in items)
    assert items[1].in_reply_to == top["id"]
    target = ReplyTarget(conversation_external_id=items[1].conversation_external_id, kind="comment", public=True,
                         parent_external_id=items[1].external_id, parent_meta=items[1].meta)
    result = connector(fake).reply(target, "Yes, until 6 pm!", idempotency_key="k")
    assert fake.sent[-1] == {"kind": "comment", "parent": items[1].external_id, "text": "Yes, until 6 pm!",
                             "id": result.external_id}
    items, cursor = connector(fake).fetch(cursor)
    assert [(i.text, i.outbound, i.conversation_external_id) for i in items] == [
        ("Yes, until 6 pm!", True, f"comment:{top['id']}")]


def test_a_customer_posting_on_the_page_again_and_again_is_one_conversation(fake):
    first = fake.add_post("Ordered a cake for today, nobody answers the phone!", by="Moira")
    fake.add_comment("Hello?? Anyone?", name="Moira", post_id=first["id"])
    tagged = fake.add_post("Best croissants in town @Juniper & Rye", by="Kim", tagged=True)
    items, cursor = connector(fake).fetch(None)
    conv = f"comment:{first['id']}"
    assert [(i.text, i.conversation_external_id) for i in items if i.conversation_external_id == conv] == [
        ("Ordered a cake for today, nobody answers the phone!", conv), ("Hello?? Anyone?", conv)]
    assert any(i.external_id == tagged["id"] and i.meta["visitor_post"] for i in items)
    post_item = next(i for i in items if i.external_id == first["id"])
    assert post_item.meta["visitor_post"] is True and post_item.author.display_name == "Moira"
    # Answered privately by post_id, as Meta's Private Replies page says for a customer's post.
    target = ReplyTarget(conversation_external_id=conv, kind="comment", public=True, parent_external_id=first["id"],
                         parent_meta=post_item.meta, mode="private")
    connector(fake).reply(target, "So sorry Moira, your cake is ready, messaging you now.", idempotency_key="k")
    assert fake.sent[-1]["kind"] == "private" and fake.sent[-1]["post"] == first["id"]
    assert connector(fake).fetch(cursor)[0][0].outbound  # the private reply's chat comes back as ours


def test_edited_and_deleted_comments(fake):
    first = fake.add_comment("Tuesday opening hours?", name="Ann")
    second = fake.add_comment("great bread", name="Bob")
    c = connector(fake, rewalk=timedelta(0))
    items, cursor = c.fetch(None)
    assert len(items) == 2
    fake.edit_comment(first["id"], "Tuesday opening hours? (asking for Wednesday too)")
    fake.delete_comment(second["id"])
    items, cursor = connector(fake, rewalk=timedelta(0)).fetch(cursor)
    by_id = {i.external_id: i for i in items}
    assert by_id[first["id"]].text.endswith("(asking for Wednesday too)")
    assert by_id[first["id"]].edited_at is not None
    assert by_id[second["id"]].deleted is True
    # Nothing changed since: nothing is delivered again.
    assert connector(fake, rewalk=timedelta(0)).fetch(cursor)[0] == []


def test_a_post_with_1000_comments_is_read_over_several_bounded_polls(fake):
    post = fake.add_post("Giveaway! Comment to win")
    ids = [fake.add_comment(f"me please {n}", name=f"P{n % 50}", post_id=post["id"])["id"] for n in range(1000)]
    cursor = None
    delivered: list[str] = []
    polls = 0
    while polls < 20:
        fake.requests.clear()
        items, cursor = connector(fake, max_pages=3).fetch(cursor)
        polls += 1
        comment_calls = [r for r in fake.requests if r.path.endswith("/comments")]
        assert len(comment_calls) <= 3  # bounded work per poll
        delivered += [i.external_id for i in items if i.kind == "comment"]
        if not items:
            break
    assert sorted(delivered) == sorted(ids) and len(delivered) == 1000
    assert polls == 5  # 4 polls of up to 300, then nothing new


def test_an_expired_cursor_restarts_the_walk_instead_of_failing(fake):
    post = fake.add_post("Busy post")
    for n in range(250):
        fake.add_comment(f"comment {n}", post_id=post["id"])
    items, cursor = connector(fake, max_pages=1).fetch(None)
    assert len(items) == 100 and cursor["posts"][post["id"]]["after"]
    fake.expire_cursors()  # e.g. a comment was deleted: Graph's cursors die
    items, cursor = connector(fake, max_pages=1).fetch(cursor)
    assert items == [] or all(i.kind == "comment" for i in items)
    got, cursor = drain(connector(fake, max_pages=2), cursor)
    # Every comment arrives in the end: none skipped by the dead cursor.
    assert len({i.external_id for i in got}) + 100 >= 250


def test_private_reply_once_per_comment_within_7_days(fake):
    comment = fake.add_comment("My order never arrived, order 1234!", name="Ann")
    old = fake.add_comment("Old complaint", name="Old", at=fake.now() - timedelta(days=8))
    items, _ = connector(fake).fetch(None)
    item = next(i for i in items if i.external_id == comment["id"])
    target = ReplyTarget(conversation_external_id=item.conversation_external_id, kind="comment", public=True,
                         parent_external_id=item.external_id, parent_meta=item.meta, mode="private")
    c = connector(fake)
    result = c.reply(target, "Sorry Ann, sending you a message about order 1234.", idempotency_key="k")
    assert fake.sent[-1]["kind"] == "private" and fake.sent[-1]["comment"] == comment["id"]
    assert result.external_id.startswith("m_")
    with pytest.raises(NotAllowed):
        c.reply(target, "again", idempotency_key="k2")  # Meta takes one private reply per comment
    aged = ReplyTarget(conversation_external_id=f"comment:{old['id']}", kind="comment", public=True,
                       parent_external_id=old["id"], parent_meta={"created_time": old["created_time"]}, mode="private")
    before = len(fake.requests)
    with pytest.raises(NotAllowed, match="7 days"):
        c.reply(aged, "hello", idempotency_key="k3")
    assert len(fake.requests) == before  # refused before any call
    # The private reply's Messenger conversation continues as a DM.
    items, _ = connector(fake).fetch(None)
    assert any(i.kind == "dm" and i.outbound and i.text.startswith("Sorry Ann") for i in items)


def test_status_post_goes_to_the_page_feed(fake):
    result = connector(fake).post_status("We are open until 6 pm today.", idempotency_key="k")
    assert fake.sent[-1] == {"kind": "post", "text": "We are open until 6 pm today.", "id": result.external_id}


def test_check_names_the_page_and_says_there_are_no_reviews(fake):
    info = connector(fake).check()
    assert info.display_name == "Juniper & Rye" and info.handle == PAGE_ID
    assert any("ratings" in note and "no reviews tab" in note for note in info.notes)


# --- errors, throttling, paging ------------------------------------------------------------------------


def test_instagram_window_refusal_is_not_allowed_not_a_lost_login(fake):
    fake.inject(400, graph_error(10, "(#10) outside of allowed window", 2534022).body, times=3)
    with pytest.raises(NotAllowed) as caught:
        connector(fake).check()
    assert not isinstance(caught.value, AuthError)


@pytest.mark.parametrize("code, expected", [(190, AuthError), (10, meta.PermissionMissing), (200, meta.PermissionMissing),
                                            (4, RateLimited), (17, RateLimited), (32, RateLimited), (613, RateLimited),
                                            (80001, RateLimited), (100, PermanentError)])
def test_graph_error_codes(fake, code, expected):
    fake.inject(400, graph_error(code, "refused").body, path="/" + PAGE_ID, times=10)
    with pytest.raises(expected) as caught:
        connector(fake).check()
    if code == 190:
        assert not isinstance(caught.value, meta.PermissionMissing)


def test_malformed_json_is_transient(fake):
    fake.malformed_once.add("feed")
    fake.add_comment("hello")
    with pytest.raises(TransientError):
        connector(fake).fetch({"dm_at": fake.now().isoformat()})


def test_a_2xx_error_body_is_an_error(fake):
    fake.inject(200, graph_error(190, "expired").body, times=5)
    with pytest.raises(AuthError):
        connector(fake).check()


def test_a_busy_page_slows_down_instead_of_failing(fake):
    fake.add_message("one", name="A")
    limits: dict = {}
    sleeps: list[float] = []
    fake.usage = {"call_count": 90, "total_cputime": 20, "total_time": 30}
    fake.requests.clear()
    items, cursor = connector(fake, limits=limits, sleeps=sleeps).fetch(None)
    # The first call learns the usage; every later one waits first (90 %: 6 s), and nothing fails.
    assert items and len(sleeps) == len(fake.requests) - 1 and all(s == pytest.approx(6.0) for s in sleeps)
    fake.add_message("two", name="A")
    sleeps.clear()
    fake.requests.clear()
    items, _ = connector(fake, limits=limits, sleeps=sleeps).fetch(cursor)  # a rebuilt connector remembers
    assert [i.text for i in items] == ["two"]
    assert len(sleeps) == len(fake.requests)
    fake.usage = {"call_count": 10}
    connector(fake, limits=limits, sleeps=sleeps).check()
    sleeps.clear()
    connector(fake, limits=limits, sleeps=sleeps).check()
    assert sleeps == []  # below 75 % no more waiting


def test_usage_with_a_regain_time_stops_calls_until_then(fake):
    limits: dict = {}
    fake.usage = {"call_count": 100, "total_cputime": 40, "total_time": 40, "estimated_time_to_regain_access": 12}
    header = {"X-Business-Use-Case-Usage": json.dumps({PAGE_ID: [{"type": "pages", **fake.usage}]})}
    fake.inject(400, graph_error(80001, "There have been too many calls to this Page account").body, times=1,
                headers=header)
    with pytest.raises(RateLimited) as caught:
        connector(fake, limits=limits).check()
    assert caught.value.retry_at == pytest.approx(fake.now() + timedelta(minutes=12), abs=timedelta(seconds=5))
    before = len(fake.requests)
    with pytest.raises(RateLimited):
        connector(fake, limits=limits).fetch(None)
    assert len(fake.requests) == before  # nothing sent while Meta asked to pause


def test_paging_next_is_followed_only_on_the_same_host_and_without_its_token(fake):
    graph = meta.Graph(facebook_settings(fake), facebook_secrets(), now=fake.now)
    for n in range(5):
        fake.add_message(f"m{n}", name=f"Person {n}")
    pages = list(graph.pages(f"{PAGE_ID}/conversations", {"platform": "messenger", "limit": 2}, max_pages=10))
    assert [len(p) for p in pages] == [2, 2, 1]
    follow_ups = [r for r in fake.requests if r.arg("after")]
    assert follow_ups and all(r.arg("access_token") is None and r.bearer() == PAGE_TOKEN for r in follow_ups)
    assert graph._next({"paging": {"next": "https://evil.example/v25.0/x?after=1"}}) is None


# --- the Meta sign-in ------------------------------------------------------------------------------------


def browser_step(url: str) -> str:
    """The owner in the browser: the dialog redirects to login_success.html; they copy its address."""
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return answer.headers["Location"]


def test_meta_sign_in_offers_pages_and_their_instagram_accounts(fake):
    flow = meta.MetaLogin({"app_id": APP_ID, "graph_url": fake.url}, secrets=MemorySecrets({"app_secret": APP_SECRET}))
    request = flow.start()
    assert request.mode == "paste"
    query = parse_qs(urlsplit(request.url).query)
    assert query["redirect_uri"] == [meta.LOGIN_REDIRECT] and query["code_challenge_method"] == ["S256"]
    assert "pages_messaging" in query["scope"][0].split(",")
    accounts = flow.finish(parse_pasted(browser_step(request.url)))
    assert [(a.kind, a.label) for a in accounts] == [
        ("facebook", "Facebook Page Juniper & Rye"), ("instagram", "Instagram @juniperandrye (linked to Juniper & Rye)")]
    page, ig = accounts
    assert page.settings["page_id"] == PAGE_ID and ig.settings["ig_user_id"] == IG_USER_ID
    assert Tokens.from_json(page.secrets[TOKEN_ENTRY]).access_token == PAGE_TOKEN
    assert page.secrets["app_secret"] == APP_SECRET
    assert any("webhook" in note for note in ig.info.notes)  # the Instagram module's honest notes, also here
    assert not any("user-token" in v for a in accounts for v in a.secrets.values())  # the user token is not kept


def test_meta_sign_in_refuses_an_answer_of_another_attempt_and_needs_the_secret(fake):
    settings = {"app_id": APP_ID, "graph_url": fake.url}
    flow = meta.MetaLogin(settings, secrets=MemorySecrets({"app_secret": APP_SECRET}))
    other = meta.MetaLogin(settings, secrets=MemorySecrets({"app_secret": APP_SECRET}))
    flow.start()
    foreign = browser_step(other.start().url)
    with pytest.raises(PermanentError, match="state"):
        flow.finish(parse_pasted(foreign))
    with pytest.raises(PermanentError, match="App Secret"):
        meta.MetaLogin(settings).start()
    with pytest.raises(PermanentError, match="App ID"):
        meta.MetaLogin({"graph_url": fake.url}, secrets=MemorySecrets({"app_secret": APP_SECRET})).start()


# --- opening hours ----------------------------------------------------------------------------------------


def test_page_hours_are_read_compared_and_written_week_only(fake):
    from datetime import date

    from socialdesk.connectors.opening_hours import (
        HoursPublisher,
        OpeningHours,
        SpecialDay,
        WeeklyPeriod,
        kept,
    )
    from socialdesk.core import hours_publish

    c = connector(fake)
    assert isinstance(c, HoursPublisher)
    assert c.current_hours() == OpeningHours((WeeklyPeriod(0, "09:00", 0, "17:00"),))
    wanted = OpeningHours((WeeklyPeriod(0, "08:00", 0, "12:00"), WeeklyPeriod(0, "13:00", 0, "18:00"),
                           WeeklyPeriod(4, "18:00", 5, "02:00"), WeeklyPeriod(5, "10:00", 5, "24:00")),
                          (SpecialDay(date(2026, 12, 25), ()),))
    target = kept(c, wanted)
    assert target.special == ()  # a Page lists no special dates: never shown as a change it cannot take
    changes = hours_publish.differences(c.current_hours(), target, date(2026, 12, 1))
    assert changes[0] == "Monday: 09:00–17:00 → 08:00–12:00, 13:00–18:00" and not any("Dec" in line for line in changes)
    c.publish_hours(target)
    assert fake.hours == {"mon_1_open": "08:00", "mon_1_close": "12:00", "mon_2_open": "13:00", "mon_2_close": "18:00",
                          "fri_1_open": "18:00", "fri_1_close": "02:00", "sat_1_open": "10:00", "sat_1_close": "00:00"}
    assert c.current_hours() == target.canonical()
    assert hours_publish.differences(c.current_hours(), target, date(2026, 12, 1)) == []
    three = OpeningHours(tuple(WeeklyPeriod(1, f"{h:02d}:00", 1, f"{h:02d}:30") for h in (8, 10, 12)))
    with pytest.raises(PermanentError, match="two opening ranges"):
        c.publish_hours(three)


# --- scheduled status posts (issue 18's platform_schedule) ---------------------------------------------


def test_status_posts_are_scheduled_listed_and_cancelled_on_the_page(fake):
    c = connector(fake)
    assert "schedule_status" in c.capabilities
    at = (fake.now() + timedelta(hours=3)).replace(microsecond=0)
    post = c.schedule_status("Closed now, back at 9 tomorrow.", at, idempotency_key="status:1:close:x@abc")
    assert fake.sent[-1] == {"kind": "scheduled", "text": "Closed now, back at 9 tomorrow.", "id": post.scheduled_id,
                             "at": int(at.timestamp())}
    assert [(p.scheduled_id, p.at, p.text) for p in c.list_scheduled()] == [(post.scheduled_id, at, post.text)]
    assert c.cancel_scheduled(post.scheduled_id) is True and c.list_scheduled() == []
    assert c.cancel_scheduled(post.scheduled_id) is False  # gone already (published or deleted)
    assert c.cancel_scheduled("../me") is False
    with pytest.raises(PermanentError, match="scheduled publish time"):
        c.schedule_status("too soon", fake.now() + timedelta(minutes=5), idempotency_key="k")


def test_the_automation_schedules_closing_posts_on_the_page(store, fake):
    from zoneinfo import ZoneInfo

    from socialdesk.core import automation, queue
    from socialdesk.core.automation import platform_schedule as ps
    from socialdesk.core.hours import Schedule, parse_week_spec
    from socialdesk.core.settings import Settings
    from socialdesk.core.store import Account

    berlin = ZoneInfo("Europe/Berlin")
    now = fake.now()
    settings = Settings(store)
    settings.set("hours.schedule", Schedule(timezone="Europe/Berlin", week=parse_week_spec("mon-sun 09:00-17:00")).to_json())
    with store.write():
        account = Account.create(kind="facebook", name="page", settings=facebook_settings(fake), created_at=now)
    config = automation.AutomationConfig.default().with_status_posts(
        account.id, True, now - timedelta(days=1), opening="Open until {next_close}.", closing="Closed for today.")
    automation.save_config(settings, config)
    ps.ROUNDS.last.clear()
    c = connector(fake)
    result = ps.reconcile(store, settings, queue.Policy.load(settings).schedule, automation.load_config(settings),
                          Account.get_by_id(account.id), c, now, paused=False)
    assert result.problem == "" and result.scheduled == len(fake.scheduled) >= 12  # 7 days, two posts a day
    times = sorted(p["scheduled_publish_time"] for p in fake.scheduled.values())
    assert all(t - now.timestamp() >= 600 for t in times)
    assert {datetime.fromtimestamp(t, berlin).strftime("%H:%M") for t in times} == {"09:00", "17:00"}
