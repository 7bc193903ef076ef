"""Threaded replies (issue 26 §2), reactions and pins (§3), through the services, the HTTP API and
the topic socket."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message
from chat.services import post_message, toggle_reaction
from tests.chat.conftest import next_frame, nothing_but_background, open_topic

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/json"
SLUG = "phat-trien-phan-mem"


@pytest.fixture
def world(make_user, make_topic):
    return {
        "topic": make_topic(SLUG),
        "security": make_topic("an-toan-thong-tin", default_tlp="amber", pin_roles=["security_officer", "manager"]),
        "ht": make_user("ht.engineer", centre="HT"),
        "dn": make_user("dn.engineer", centre="DN"),
        "qb": make_user("qb.engineer", centre="QB"),
        "dns": make_user("dn.security", centre="DN", role="security_officer"),
    }


def post(world, who, body, **kw):
    return post_message(world["topic"], by=world[who], body=body, **kw)[0]


# --- threads ---------------------------------------------------------------------------------------


def test_a_reply_names_its_thread_and_the_root_counts_its_replies(world, api_client):
    root = post(world, "ht", "Có ai tích hợp VNeID chưa?")
    client = api_client(world["dn"])
    response = client.post(f"/api/v1/topics/{SLUG}/messages", {"body": "Đà Nẵng rồi", "reply_to": root.pk},
                           content_type=JSON)
    assert response.status_code == 201
    reply = response.json()
    assert (reply["reply_to"], reply["thread_root"]) == (root.pk, root.pk)
    # A reply to a reply stays in the same thread.
    nested = client.post(f"/api/v1/topics/{SLUG}/messages", {"body": "tài liệu đây", "reply_to": reply["id"]},
                         content_type=JSON).json()
    assert (nested["reply_to"], nested["thread_root"]) == (reply["id"], root.pk)
    shown = client.get(f"/api/v1/topics/{SLUG}/messages/{root.pk}").json()
    assert shown["reply_count"] == 2 and shown["last_reply_at"] == nested["created_at"]
    assert shown["thread_root"] is None

    # The channel shows the root; the thread its replies; a reply "also sent to the channel" is in both.
    also = client.post(f"/api/v1/topics/{SLUG}/messages",
                       {"body": "tóm tắt cho cả kênh", "reply_to": root.pk, "also_channel": True},
                       content_type=JSON).json()
    channel = [m["id"] for m in client.get(f"/api/v1/topics/{SLUG}/messages").json()["results"]]
    assert channel == [root.pk, also["id"]]
    thread = [m["id"] for m in client.get(f"/api/v1/topics/{SLUG}/messages", {"thread": root.pk}).json()["results"]]
    assert thread == [reply["id"], nested["id"], also["id"]]
    # Search finds replies, saying which thread they are in.
    found = client.get("/api/v1/search", {"q": "tai lieu"}).json()["results"]
    assert [(m["id"], m["thread_root"]) for m in found] == [(nested["id"], root.pk)]
    # Thread-only replies do not count in the topic's unread; the reply sent to the channel does.
    ht_topics = api_client(world["ht"]).get("/api/v1/topics").json()["results"]
    assert next(t for t in ht_topics if t["slug"] == SLUG)["unread"] == 1


def test_bad_replies_are_refused(world, api_client):
    root = post(world, "ht", "gốc")
    other = post_message(world["security"], by=world["ht"], body="ở chủ đề khác")[0]
    client = api_client(world["dn"])

    def send(**payload):
        return client.post(f"/api/v1/topics/{SLUG}/messages", {"body": "x", **payload}, content_type=JSON)

    assert send(reply_to=other.pk).status_code == 404
    assert send(reply_to=10**6).status_code == 404
    assert send(also_channel=True).status_code == 400
    restricted = post(world, "ht", "chỉ HT", shared_with=[])
    assert send(reply_to=restricted.pk).status_code == 404  # DN cannot see it
    reply = post_message(world["topic"], by=world["ht"], body="trả lời riêng", reply_to=restricted.pk)[0]
    assert reply.shared_with == [] and reply.audience == restricted.audience  # a reply keeps its thread's scope
    from chat.services import delete_message

    delete_message(root, by=world["ht"])
    assert send(reply_to=root.pk).status_code == 409


def test_a_reply_is_read_by_exactly_its_roots_readers_so_its_count_is_what_each_reader_sees(world, api_client):
    """The root's reply_count and last_reply_at are shown to every reader of the root: a reply may be
    neither wider nor narrower than its root (the thread composer offers no sharing of its own)."""
    root = post(world, "dn", "Có ai thấy quét cổng không?")
    client = api_client(world["ht"])
    for narrower in ([], ["DN"]):
        refused = client.post(f"/api/v1/topics/{SLUG}/messages",
                              {"body": "chỉ HT", "reply_to": root.pk, "shared_with": narrower}, content_type=JSON)
        assert refused.status_code == 400, refused.content
        assert refused.json()["error"]["fields"] == ["shared_with"]
    from hub.errors import HubError

    with pytest.raises(HubError):
        post(world, "ht", "chỉ HT", reply_to=root.pk, shared_with=["HT"])
    assert not Message.objects.filter(thread_root=root).exists()
    qb = api_client(world["qb"])
    assert qb.get(f"/api/v1/topics/{SLUG}/messages", {"thread": root.pk}).json()["results"] == []
    shown = qb.get(f"/api/v1/topics/{SLUG}/messages/{root.pk}").json()
    assert (shown["reply_count"], shown["last_reply_at"]) == (0, None)
    # Without a scope of its own it is the root's, and every reader of the root reads it.
    reply = client.post(f"/api/v1/topics/{SLUG}/messages", {"body": "HT cũng thấy", "reply_to": root.pk},
                        content_type=JSON).json()
    assert [m["id"] for m in qb.get(f"/api/v1/topics/{SLUG}/messages", {"thread": root.pk}).json()["results"]] == [
        reply["id"]]
    assert qb.get(f"/api/v1/topics/{SLUG}/messages/{root.pk}").json()["reply_count"] == 1


def test_threads_have_their_own_unread_state_and_notify_who_took_part(world, api_client):
    from notify.models import Notification

    root = post(world, "ht", "Câu hỏi")
    post(world, "dn", "trả lời 1", reply_to=root.pk)
    assert list(Notification.objects.values_list("user__username", "verb")) == [("ht.engineer", "reply")]
    post(world, "qb", "trả lời 2", reply_to=root.pk)
    assert sorted(Notification.objects.filter(message__body="trả lời 2").values_list("user__username", flat=True)
                  ) == ["dn.engineer", "ht.engineer"]
    # Mentioned and a participant: one notification, the mention.
    post(world, "qb", "@ht.engineer xem lại", reply_to=root.pk)
    assert list(Notification.objects.filter(message__body="@ht.engineer xem lại", user=world["ht"])
                .values_list("verb", flat=True)) == ["mention"]

    client = api_client(world["ht"])
    # Reading the channel does not see the thread's replies for you; reading the thread does.
    client.post(f"/api/v1/topics/{SLUG}/read", {"up_to": 10**9}, content_type=JSON)
    assert Notification.objects.filter(user=world["ht"], seen_at__isnull=True).count() == 3
    threads = client.get(f"/api/v1/topics/{SLUG}/threads").json()["results"]
    assert [(t["root"]["id"], t["unread"]) for t in threads] == [(root.pk, 3)]
    newest = Message.objects.filter(thread_root=root).latest("id").pk
    second = Message.objects.get(body="trả lời 2").pk
    assert client.post(f"/api/v1/topics/{SLUG}/threads/{root.pk}/read", {"up_to": second}, content_type=JSON
                       ).json() == {"root": root.pk, "up_to": second}
    assert client.get(f"/api/v1/topics/{SLUG}/threads").json()["results"][0]["unread"] == 1
    client.post(f"/api/v1/topics/{SLUG}/threads/{root.pk}/read", {"up_to": 10**9}, content_type=JSON)
    assert client.get(f"/api/v1/topics/{SLUG}/threads").json()["results"][0]["last_read_id"] == newest
    assert Notification.objects.filter(user=world["ht"], seen_at__isnull=True).count() == 0
    # Someone who never took part has no threads listed.
    assert api_client(world["dns"]).get(f"/api/v1/topics/{SLUG}/threads").json()["results"] == []


async def test_replies_arrive_live_with_the_threads_new_count(world):
    root = await sync_to_async(post)(world, "ht", "gốc")
    dn = await open_topic(world["dn"], SLUG)
    try:
        await dn.send_json_to({"type": "message.send", "body": "trả lời", "client_id": "r1", "reply_to": root.pk})
        reply = (await next_frame(dn, "message"))["message"]
        assert (reply["thread_root"], reply["client_id"]) == (root.pk, "r1")
        updated = await next_frame(dn, "thread.updated")
        assert updated == {"type": "thread.updated", "topic": SLUG, "root": root.pk, "reply_count": 1,
                           "last_reply_at": reply["created_at"]}
        await dn.send_json_to({"type": "sync", "after": root.pk})  # sync carries every message, replies too
        assert (await next_frame(dn, "message"))["message"]["id"] == reply["id"]
        await next_frame(dn, "sync.done")
    finally:
        await dn.disconnect()


# --- reactions -------------------------------------------------------------------------------------


def test_a_root_re_marked_narrows_its_replies_and_never_widens_them(world):
    """`remark_thread` (an alert's summary following its alert): the root takes the new marking as
    given; each reply is narrowed to whom both admit and to at least the root's TLP, never widened."""
    from chat.services import remark_thread
    from hub.realtime.audience import Audience

    topic = world["security"]
    root = post_message(topic, by=world["dns"], body="gốc")[0]
    early = post_message(topic, by=world["ht"], body="ai cũng đọc", reply_to=root.pk)[0]
    ht_qb = Audience(centres=frozenset({"HT", "QB"}))
    remark_thread(Message.objects.get(pk=root.pk), audience=ht_qb, tlp="amber", shared_with=["HT", "QB"])
    late = post_message(topic, by=world["ht"], body="HT và QB", reply_to=root.pk)[0]
    assert Audience.from_meta(Message.objects.get(pk=early.pk).audience) == ht_qb
    assert Audience.from_meta(late.audience) == ht_qb

    dn_ht = Audience(centres=frozenset({"DN", "HT"}))
    remark_thread(Message.objects.get(pk=root.pk), audience=dn_ht, tlp="red", shared_with=["DN", "HT"])
    markings = {m.pk: (Audience.from_meta(m.audience), m.tlp, m.shared_with)
                for m in Message.objects.filter(pk__in=[root.pk, early.pk, late.pk])}
    only_ht = (Audience(centres=frozenset({"HT"})), "red", ["HT"])  # whom both the reply and the root admit
    assert markings == {root.pk: (dn_ht, "red", ["DN", "HT"]), early.pk: only_ht, late.pk: only_ht}

    versions = dict(Message.objects.filter(pk__in=[early.pk, late.pk]).values_list("pk", "version"))
    remark_thread(Message.objects.get(pk=root.pk), audience=None, tlp="amber", shared_with=None)  # loosened
    assert Audience.from_meta(Message.objects.get(pk=root.pk).audience) == Audience()
    after = {m.pk: (Audience.from_meta(m.audience), m.tlp, m.shared_with, m.version)
             for m in Message.objects.filter(pk__in=[early.pk, late.pk])}
    assert after == {pk: (*only_ht, versions[pk]) for pk in (early.pk, late.pk)}


def test_a_reply_follows_a_root_re_marked_while_it_was_being_posted(world, monkeypatch):
    """A reply reads its root before its transaction; if the root's marking narrows before the reply
    takes the root's lock, the reply is narrowed with it (chat.services._lock_thread)."""
    from django.db import transaction

    from chat import services
    from hub.realtime.audience import Audience

    topic = world["security"]
    root = post_message(topic, by=world["dns"], body="gốc")[0]
    read_thread = services._read_thread
    narrowed: list[bool] = []

    def read_then_narrow(*args, **kwargs):
        state = read_thread(*args, **kwargs)
        if not narrowed:  # another transaction re-marks the root now (its alert raised to RED)
            narrowed.append(True)
            with transaction.atomic():
                services.remark_thread(Message.objects.select_for_update().get(pk=root.pk),
                                       audience=Audience(centres=frozenset({"DN"})), tlp="red", shared_with=["DN"])
        return state

    monkeypatch.setattr(services, "_read_thread", read_then_narrow)
    reply = post_message(topic, by=world["dn"], body="trả lời", reply_to=root.pk)[0]
    stored = Message.objects.get(pk=reply.pk)
    assert (Audience.from_meta(stored.audience), stored.tlp, stored.shared_with) == (
        Audience(centres=frozenset({"DN"})), "red", ["DN"])


def test_reacting_toggles_and_counts_per_emoji_with_who(world, api_client):
    message = post(world, "ht", "Đã vá xong")
    url = f"/api/v1/topics/{SLUG}/messages/{message.pk}/reactions"
    assert api_client(world["dn"]).post(url, {"emoji": "👍"}, content_type=JSON).json() == {
        "id": message.pk, "reactions": [{"emoji": "👍", "count": 1, "users": ["dn.engineer"]}], "version": 1}
    api_client(world["qb"]).post(url, {"emoji": "👍"}, content_type=JSON)
    both = api_client(world["qb"]).post(url, {"emoji": "🎉"}, content_type=JSON).json()["reactions"]
    assert both == [{"emoji": "👍", "count": 2, "users": ["dn.engineer", "qb.engineer"]},
                    {"emoji": "🎉", "count": 1, "users": ["qb.engineer"]}]
    again = api_client(world["dn"]).post(url, {"emoji": "👍"}, content_type=JSON).json()["reactions"]
    assert again[0] == {"emoji": "👍", "count": 1, "users": ["qb.engineer"]}  # twice removes
    history = api_client(world["ht"]).get(f"/api/v1/topics/{SLUG}/messages").json()["results"]
    assert history[0]["reactions"] == again
    # Not a message: no unread count moves, nothing is added to the topic's sequence.
    assert Message.objects.count() == 1
    for bad in ("", "ok", "👍 hay", "a👍", 5, "👍" * 17):
        assert api_client(world["dn"]).post(url, {"emoji": bad}, content_type=JSON).status_code in (400, 422), bad
    assert api_client(world["dn"]).post(url, {"emoji": "👍🏽"}, content_type=JSON).status_code == 200
    assert api_client(world["dn"]).post(url, {"emoji": "🇻🇳"}, content_type=JSON).status_code == 200


async def test_reactions_are_live_and_bump_no_unread(world, api_client):
    """Someone who is neither the author nor the reactor sees the reaction live, and their unread
    count for the topic moves on a message but not on a reaction (the author's count is always 0)."""
    message = await sync_to_async(post)(world, "ht", "Ai tham dự hội thảo?")

    def unread() -> int:
        topics = api_client(world["qb"]).get("/api/v1/topics").json()["results"]
        return next(t for t in topics if t["slug"] == SLUG)["unread"]

    assert await sync_to_async(unread)() == 1
    qb = await open_topic(world["qb"], SLUG)
    try:
        await sync_to_async(toggle_reaction)(message, by=world["dn"], emoji="✅")
        frame = await next_frame(qb, "message.reactions")
        assert frame == {"type": "message.reactions", "topic": SLUG, "id": message.pk,
                         "reactions": [{"emoji": "✅", "count": 1, "users": ["dn.engineer"]}], "version": 1}
        assert await nothing_but_background(qb)
    finally:
        await qb.disconnect()
    assert await sync_to_async(unread)() == 1  # a reaction is not a message
    await sync_to_async(post)(world, "dn", "Đà Nẵng tham dự")
    assert await sync_to_async(unread)() == 2  # a message is


def test_every_change_of_a_message_raises_its_version_once(world, api_client):
    """`version` orders the states of one message (docs/chat.md, "Order of changes"): 0 when posted,
    one more with each change of its wire form — whoever makes it, through whichever path — and every
    state that leaves carries it, so a client can keep the newest when frames come out of order."""
    from chat.services import edit_message, set_pinned

    message = post(world, "ht", "Bản vá đầu tiên")
    client = api_client(world["dn"])
    url = f"/api/v1/topics/{SLUG}/messages/{message.pk}"
    assert client.get(url).json()["version"] == 0
    steps = [
        lambda: client.post(f"{url}/reactions", {"emoji": "👍"}, content_type=JSON).json()["version"],
        lambda: edit_message(Message.objects.get(pk=message.pk), by=world["ht"], body="Bản vá thứ hai").version,
        lambda: (set_pinned(Message.objects.get(pk=message.pk), by=world["dn"], pinned=True),
                 Message.objects.get(pk=message.pk).version)[1],
        lambda: (client.post(f"/api/v1/topics/{SLUG}/messages", {"body": "trả lời", "reply_to": message.pk},
                             content_type=JSON), client.get(url).json()["version"])[1],
        lambda: api_client(world["qb"]).post(f"{url}/reactions", {"emoji": "👍"}, content_type=JSON).json()["version"],
    ]
    assert [step() for step in steps] == [1, 2, 3, 4, 5]
    shown = client.get(url).json()
    assert shown["version"] == 5 and shown["reply_count"] == 1 and shown["pinned"]
    assert [m["version"] for m in client.get(f"/api/v1/topics/{SLUG}/messages").json()["results"]
            if m["id"] == message.pk] == [5]
    assert api_client(world["ht"]).delete(url).json()["version"] == 6  # the tombstone too


async def test_a_restricted_messages_reactions_reach_only_its_readers(world):
    message = await sync_to_async(post)(world, "ht", "chỉ HT và DN", shared_with=["DN"])
    qb = await open_topic(world["qb"], SLUG)
    dn = await open_topic(world["dn"], SLUG)
    try:
        await sync_to_async(toggle_reaction)(message, by=world["dn"], emoji="👀")
        await next_frame(dn, "message.reactions")
        assert await nothing_but_background(qb)
    finally:
        await qb.disconnect()
        await dn.disconnect()


# --- pins ------------------------------------------------------------------------------------------


def test_pins_follow_the_topics_pin_roles_and_are_listed(world, api_client):
    runbook = post_message(world["security"], by=world["dns"], body="Quy trình ứng cứu sự cố")[0]
    url = f"/api/v1/topics/an-toan-thong-tin/messages/{runbook.pk}/pin"
    assert api_client(world["ht"]).post(url).status_code == 403  # an engineer, in the security topic
    pinned = api_client(world["dns"]).post(url)
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True
    pins = api_client(world["ht"]).get("/api/v1/topics/an-toan-thong-tin/pins").json()["results"]
    assert [(p["message"]["id"], p["pinned_by"]["username"]) for p in pins] == [(runbook.pk, "dn.security")]
    topics = {t["slug"]: t for t in api_client(world["ht"]).get("/api/v1/topics").json()["results"]}
    assert (topics["an-toan-thong-tin"]["may_pin"], topics[SLUG]["may_pin"]) == (False, True)
    assert api_client(world["dns"]).delete(url).json()["pinned"] is False
    assert api_client(world["ht"]).get("/api/v1/topics/an-toan-thong-tin/pins").json()["results"] == []
    # Elsewhere anyone who sees the topic may pin; a pinned message outside your scope is not listed.
    secret = post(world, "ht", "riêng HT", shared_with=[])
    assert api_client(world["ht"]).post(f"/api/v1/topics/{SLUG}/messages/{secret.pk}/pin").status_code == 200
    assert api_client(world["dn"]).get(f"/api/v1/topics/{SLUG}/pins").json()["results"] == []
    assert len(api_client(world["ht"]).get(f"/api/v1/topics/{SLUG}/pins").json()["results"]) == 1


async def test_pins_are_live(world):
    from chat.services import set_pinned

    message = await sync_to_async(post)(world, "ht", "Lịch họp tuần")
    dn = await open_topic(world["dn"], SLUG)
    try:
        await sync_to_async(set_pinned)(message, by=world["ht"], pinned=True)
        frame = await next_frame(dn, "message.pinned")
        assert (frame["pinned"], frame["message"]["id"], frame["message"]["pinned"], frame["pinned_by"]["username"]
                ) == (True, message.pk, True, "ht.engineer")
        await sync_to_async(set_pinned)(message, by=world["ht"], pinned=False)
        frame = await next_frame(dn, "message.pinned")
        assert (frame["pinned"], frame["message"]["pinned"], frame["pinned_by"]) == (False, False, None)
    finally:
        await dn.disconnect()


def test_a_thread_longer_than_a_page_is_paged_by_keyset_both_ways(world, api_client):
    """The thread panel's reads: the latest page, then `next` back to the first reply, each reply
    once and in order — more replies than the largest page (200), while new ones keep coming."""
    root = post(world, "ht", "Danh sách việc của tuần thi")
    replies = [post(world, "dn" if i % 2 else "qb", f"bước {i}", reply_to=root.pk).pk for i in range(205)]
    client = api_client(world["ht"])
    url = f"/api/v1/topics/{SLUG}/messages"
    page = client.get(url, {"thread": root.pk}).json()
    assert [m["id"] for m in page["results"]] == replies[-50:]  # the latest page, oldest first
    seen = [m["id"] for m in page["results"]]
    late = post(world, "dn", "một bước nữa, trong lúc đọc", reply_to=root.pk).pk  # does not disturb the walk back
    while page["next"]:
        page = client.get(url, {"thread": root.pk, "cursor": page["next"]}).json()
        seen = [m["id"] for m in page["results"]] + seen
    assert seen == replies and len(set(seen)) == 205
    # Forwards, from the start, in the largest pages: 200 then the rest (the late one included).
    first = client.get(url, {"thread": root.pk, "after": 0, "limit": 200}).json()
    assert [m["id"] for m in first["results"]] == replies[:200] and first["next"]
    rest = client.get(url, {"thread": root.pk, "cursor": first["next"], "limit": 200}).json()
    assert [m["id"] for m in rest["results"]] == [*replies[200:], late] and rest["next"] is None
    # The channel does not contain the replies; the limit is checked.
    assert [m["id"] for m in client.get(url).json()["results"]] == [root.pk]
    assert client.get(url, {"thread": root.pk, "limit": 201}).status_code == 400


# --- catching up after being away ------------------------------------------------------------------


async def test_a_client_back_from_away_gets_what_changed_in_the_messages_it_had(world):
    """`sync` with `changed_since` — the last `sync.done`'s `at`, the hub's own clock — sends first
    what changed meanwhile in messages up to `after`: reactions, pins, thread counts, edits and
    deletions, as `message.updated` / `message.deleted` with the message's whole wire form; then the
    new messages. A message that did not change is not sent again, nor one whose change is older."""
    from datetime import timedelta

    from django.utils import timezone

    from chat.services import delete_message, edit_message, set_pinned

    quiet, reacted, pinned, root, edited, deleted = [await sync_to_async(post)(world, "ht", f"tin {i}")
                                                     for i in range(6)]
    await sync_to_async(toggle_reaction)(quiet, by=world["qb"], emoji="👀")  # long before: not sent again
    await sync_to_async(Message.objects.filter(pk=quiet.pk).update)(changed_at=timezone.now() - timedelta(minutes=10))
    dn = await open_topic(world["dn"], SLUG)
    try:
        await dn.send_json_to({"type": "sync", "after": deleted.pk})
        at = (await next_frame(dn, "sync.done"))["at"]
    finally:
        await dn.disconnect()

    # While DN is away.
    await sync_to_async(toggle_reaction)(reacted, by=world["qb"], emoji="👍")
    await sync_to_async(set_pinned)(pinned, by=world["ht"], pinned=True)
    reply = await sync_to_async(post)(world, "qb", "trả lời trong luồng", reply_to=root.pk)
    await sync_to_async(edit_message)(edited, by=world["ht"], body="tin đã sửa")
    await sync_to_async(delete_message)(deleted, by=world["ht"])

    dn = await open_topic(world["dn"], SLUG)
    try:
        await dn.send_json_to({"type": "sync", "after": deleted.pk, "changed_since": at})
        frames: list[dict] = []
        while not frames or frames[-1]["type"] != "sync.done":
            frames.append(await next_frame(dn, "message", "message.updated", "message.deleted", "sync.done"))
    finally:
        await dn.disconnect()
    changed = {f["message"]["id"]: f for f in frames if f["type"] in ("message.updated", "message.deleted")}
    assert [f["message"]["id"] for f in frames[:5]] == [reacted.pk, pinned.pk, root.pk, edited.pk, deleted.pk]
    assert changed[reacted.pk]["message"]["reactions"] == [{"emoji": "👍", "count": 1, "users": ["qb.engineer"]}]
    assert changed[pinned.pk]["message"]["pinned"] is True
    assert changed[root.pk]["message"]["reply_count"] == 1
    assert changed[edited.pk]["message"]["body"] == "tin đã sửa"
    assert changed[deleted.pk]["type"] == "message.deleted" and changed[deleted.pk]["message"]["deleted"] is True
    assert quiet.pk not in changed and {f["type"] for f in frames[:5]} == {"message.updated", "message.deleted"}
    assert [f["message"]["id"] for f in frames if f["type"] == "message"] == [reply.pk]  # then what is new
    assert frames[-1]["latest"] == reply.pk and frames[-1]["at"] > at
