"""`/ws/topics/{slug}/` at unit level: the real ASGI app, real channel layer, real database."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from chat.models import Message, ReadMarker
from chat.services import post_message
from hub.realtime.audience import Audience
from tests.chat.conftest import SLUG, close_code, next_frame, nothing_but_background, open_socket, open_topic

pytestmark = pytest.mark.django_db(transaction=True)



async def aclose(*sockets):
    for socket in sockets:
        await socket.disconnect()


# --- handshake -------------------------------------------------------------------------------------

async def test_unknown_topic_closes_4404(people):
    assert await close_code(people["dn"], "/ws/topics/khong-co/") == 4404


async def test_restricted_topic_closes_4403_for_outsiders_and_opens_for_members(people, make_topic):
    await sync_to_async(make_topic)("doi-ung-cuu", allowed_roles=["security_officer"], allowed_centres=["HT"])
    assert await close_code(people["ht"], "/ws/topics/doi-ung-cuu/") == 4403  # right centre, wrong role
    socket = await open_topic(people["hts"], "doi-ung-cuu")
    await aclose(socket)


async def test_unauthenticated_handshake_closes_4401(people):
    from channels.testing import WebsocketCommunicator

    from hub.asgi import application

    communicator = WebsocketCommunicator(application, f"/ws/topics/{SLUG}/?ticket=forged")
    await communicator.connect()
    assert (await communicator.receive_output(timeout=3))["code"] == 4401


async def test_error_frames_are_in_the_persons_language(people):
    """hub.i18n.socket_language: the stored preference, else the handshake's cookie, else Vietnamese."""
    english = people["ht"]
    english.language = "en"
    await sync_to_async(english.save)()
    vi_socket, en_socket = await open_topic(people["dn"], SLUG), await open_topic(english, SLUG)
    for socket in (vi_socket, en_socket):
        await socket.send_json_to({"type": "message.send"})
    assert (await next_frame(vi_socket, "error"))["detail"] == "message.send cần có `body`."
    assert (await next_frame(en_socket, "error"))["detail"] == "message.send needs a `body`."
    await vi_socket.disconnect()
    await en_socket.disconnect()


# --- messages ---------------------------------------------------------------------------------------

async def test_message_reaches_everyone_in_the_topic_including_the_sender(people):
    dn, ht = await open_topic(people["dn"], SLUG), await open_topic(people["ht"], SLUG)
    await dn.send_json_to({"type": "message.send", "body": "Chào **Hà Tĩnh**", "client_id": "c-1"})
    mine, theirs = await next_frame(dn, "message"), await next_frame(ht, "message")
    assert mine == theirs
    message = mine["message"]
    assert message["client_id"] == "c-1" and message["body"] == "Chào **Hà Tĩnh**"
    assert message["html"] == "<p>Chào <strong>Hà Tĩnh</strong></p>"
    assert message["author"] == {"username": "dn.engineer", "display_name": "dn.engineer", "centre": "DN"}
    assert message["topic"] == SLUG and message["created_at"]
    stored = await sync_to_async(Message.objects.get)(pk=message["id"])  # stored before anyone got it
    assert stored.body == "Chào **Hà Tĩnh**"
    await aclose(dn, ht)


async def test_a_retried_client_id_is_answered_to_the_sender_only_and_stored_once(people):
    dn, ht = await open_topic(people["dn"], SLUG), await open_topic(people["ht"], SLUG)
    await dn.send_json_to({"type": "message.send", "body": "một lần thôi", "client_id": "retry"})
    first = await next_frame(dn, "message")
    await next_frame(ht, "message")
    await dn.send_json_to({"type": "message.send", "body": "một lần thôi", "client_id": "retry"})
    assert await next_frame(dn, "message") == first
    assert await nothing_but_background(ht)
    assert await sync_to_async(Message.objects.count)() == 1
    await aclose(dn, ht)


async def test_http_post_is_broadcast_to_sockets_like_a_socket_message(people, api_client):
    socket = await open_topic(people["ht"], SLUG)
    client = await sync_to_async(api_client)(people["dn"])
    response = await sync_to_async(client.post)(
        f"/api/v1/topics/{SLUG}/messages", {"body": "qua HTTP", "client_id": "h1"}, content_type="application/json")
    assert response.status_code == 201
    frame = await next_frame(socket, "message")
    assert frame["message"] == response.json()
    await aclose(socket)


@pytest.mark.parametrize("raw, code", [
    ("không phải json", "invalid"),
    ('["message.send"]', "invalid"),
    ('{"type": "message.launch"}', "invalid"),
    ('{"type": "message.send"}', "invalid"),
    ('{"type": "message.send", "body": ""}', "invalid"),
    ('{"type": "message.send", "body": 5}', "invalid"),
    ('{"type": "message.send", "body": "x", "client_id": 7}', "invalid"),
    ('{"type": "sync", "after": "abc"}', "invalid"),
    ('{"type": "sync", "after": -1}', "invalid"),
    ('{"type": "read"}', "invalid"),
    ('{"type": "message.edit", "id": 999, "body": "x"}', "invalid"),
    ('{"type": "sync", "after": 99999999999999999999999}', "invalid"),
    ('{"type": "read", "up_to": 99999999999999999999999}', "invalid"),
    ('{"type": "message.delete", "id": 99999999999999999999999}', "invalid"),
    ('{"type": "read", "up_to": true}', "invalid"),
])
async def test_bad_frames_get_an_error_store_nothing_and_keep_the_socket_open(raw, code, people):
    socket = await open_topic(people["dn"], SLUG)
    await socket.send_to(text_data=raw)
    error = await next_frame(socket, "error")
    assert error["code"] == code and error["detail"]
    await socket.send_json_to({"type": "message.send", "body": "vẫn mở"})
    assert (await next_frame(socket, "message"))["message"]["body"] == "vẫn mở"
    assert await sync_to_async(Message.objects.count)() == 1
    await aclose(socket)


async def test_oversized_body_is_too_large_and_stores_nothing(people, settings):
    socket = await open_topic(people["dn"], SLUG)
    await socket.send_json_to({"type": "message.send", "body": "ạ" * (settings.HUB_MAX_BODY_BYTES // 3 + 1)})
    assert (await next_frame(socket, "error"))["code"] == "too_large"
    await socket.send_to(text_data="x" * (settings.HUB_MAX_BODY_BYTES + 2048))
    assert (await next_frame(socket, "error"))["code"] == "too_large"
    assert await sync_to_async(Message.objects.count)() == 0
    await aclose(socket)


async def test_flooding_is_rate_limited_per_user_across_sockets(people, settings):
    settings.HUB_RATE_LIMIT_BURST = 3
    settings.HUB_RATE_LIMIT_PER_SECOND = 0.01
    first, second = await open_topic(people["dn"], SLUG), await open_topic(people["dn"], SLUG)
    for i in range(3):  # the burst, spent through the first socket
        await first.send_json_to({"type": "message.send", "body": f"m{i}"})
        await next_frame(first, "message")
    await second.send_json_to({"type": "message.send", "body": "từ socket thứ hai"})
    assert (await next_frame(second, "error", skip=("message",)))["code"] == "rate_limited"
    assert await sync_to_async(Message.objects.count)() == 3
    await aclose(first, second)


async def test_a_client_that_keeps_abusing_is_closed(people, settings):
    settings.HUB_ABUSE_CLOSE_AFTER = 5
    socket = await open_topic(people["dn"], SLUG)
    for _ in range(5):
        await socket.send_to(text_data="rác")
    codes: list[str] = []
    while True:
        output = await socket.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            break
        codes.append(output.get("text") or "")
    assert output["code"] == 4429 and len([c for c in codes if '"error"' in c]) == 5


# --- sync ---------------------------------------------------------------------------------------------

def post_many(topic_slug, author, count, prefix="m"):
    from chat.models import Topic

    topic = Topic.objects.get(slug=topic_slug)
    return [post_message(topic, by=author, body=f"{prefix}{i}")[0].id for i in range(count)]


async def test_sync_returns_everything_after_an_id_in_order_then_sync_done(people):
    ids = await sync_to_async(post_many)(SLUG, people["ht"], 12)
    socket = await open_topic(people["dn"], SLUG)
    await socket.send_json_to({"type": "sync", "after": ids[4]})
    received = []
    while (frame := await next_frame(socket, "message", "sync.done"))["type"] == "message":
        received.append(frame["message"]["id"])
    assert received == ids[5:]
    assert (frame["type"], frame["latest"]) == ("sync.done", ids[-1])
    await aclose(socket)


async def test_sync_beyond_the_maximum_answers_resync_instead_of_a_silent_partial(people, settings):
    settings.HUB_SYNC_MAX = 5
    ids = await sync_to_async(post_many)(SLUG, people["ht"], 12)
    socket = await open_topic(people["dn"], SLUG)
    received, after = [], 0
    while True:
        await socket.send_json_to({"type": "sync", "after": after})
        batch = []
        while (frame := await next_frame(socket, "message", "sync.done", "resync"))["type"] == "message":
            batch.append(frame["message"]["id"])
        assert len(batch) <= 5
        received += batch
        if frame["type"] == "sync.done":
            break
        assert frame == {"type": "resync", "after": batch[-1], "latest": ids[-1]}
        after = frame["after"]
    assert received == ids
    await aclose(socket)


async def test_messages_posted_during_a_sync_arrive_live_without_gaps(people):
    ids = await sync_to_async(post_many)(SLUG, people["ht"], 30)
    socket = await open_topic(people["dn"], SLUG)
    await socket.send_json_to({"type": "sync", "after": 0})
    more = await sync_to_async(post_many)(SLUG, people["ht"], 5, prefix="live")
    seen: dict[int, int] = {}
    done = False
    while not done or len(seen) < 35:
        frame = await next_frame(socket, "message", "sync.done")
        if frame["type"] == "sync.done":
            done = True
        else:
            seen[frame["message"]["id"]] = seen.get(frame["message"]["id"], 0) + 1
    assert sorted(seen) == ids + more  # every id present; a live copy may repeat a synced one (dedupe by id)
    await aclose(socket)


# --- audience -----------------------------------------------------------------------------------------

async def test_a_restricted_message_reaches_only_its_audience_live_and_in_sync(people):
    outsider, insider = await open_topic(people["dn"], SLUG), await open_topic(people["hts"], SLUG)
    audience = Audience(centres=frozenset({"HT"}), roles=frozenset({"security_officer"}))

    def post_restricted():
        from chat.models import Topic

        return post_message(Topic.objects.get(slug=SLUG), by=people["hts"], body="TLP:AMBER IOC",
                            audience=audience)[0].id

    restricted_id = await sync_to_async(post_restricted)()
    assert (await next_frame(insider, "message"))["message"]["id"] == restricted_id
    assert await nothing_but_background(outsider, timeout=0.5)
    await outsider.send_json_to({"type": "sync", "after": 0})
    done = await next_frame(outsider, "message", "sync.done")
    assert (done["type"], done["latest"]) == ("sync.done", 0)
    await aclose(outsider, insider)


# --- presence, typing, read -------------------------------------------------------------------------

async def test_presence_lists_who_is_online_by_centre_and_updates_on_leave(people):
    dn = await open_topic(people["dn"], SLUG)
    ht = await open_socket(people["ht"], f"/ws/topics/{SLUG}/")
    joined = await next_frame(dn, "presence")
    assert joined["count"] == 2
    assert joined["online"] == [
        {"centre": "DN", "count": 1, "users": [{"username": "dn.engineer", "display_name": "dn.engineer"}]},
        {"centre": "HT", "count": 1, "users": [{"username": "ht.engineer", "display_name": "ht.engineer"}]},
    ]
    assert (await ht.receive_json_from(timeout=3)) == joined
    await ht.disconnect()
    left = await next_frame(dn, "presence")
    assert left["count"] == 1 and left["online"][0]["centre"] == "DN"
    await aclose(dn)


async def test_typing_is_relayed_to_others_once_per_interval_and_not_echoed(people):
    dn, ht = await open_topic(people["dn"], SLUG), await open_topic(people["ht"], SLUG)
    await next_frame(dn, "presence")
    for _ in range(5):
        await dn.send_json_to({"type": "typing"})
    frame = await next_frame(ht, "typing")
    assert frame == {"type": "typing", "topic": SLUG,
                     "user": {"username": "dn.engineer", "display_name": "dn.engineer", "centre": "DN"}}
    assert await ht.receive_nothing(timeout=0.5)  # throttled: the other four were dropped
    assert await dn.receive_nothing(timeout=0.2)  # not echoed to the typist
    await aclose(dn, ht)


async def test_read_frame_stores_the_marker_and_unread_counts_follow(people, api_client):
    ids = await sync_to_async(post_many)(SLUG, people["ht"], 4)
    client = await sync_to_async(api_client)(people["dn"])

    async def unread():
        response = await sync_to_async(client.get)("/api/v1/topics")
        return {t["slug"]: t["unread"] for t in response.json()["results"]}[SLUG]

    assert await unread() == 4
    socket = await open_topic(people["dn"], SLUG)
    await socket.send_json_to({"type": "read", "up_to": ids[1]})
    assert await next_frame(socket, "read") == {"type": "read", "topic": SLUG, "up_to": ids[1]}
    assert await unread() == 2
    marker = await sync_to_async(ReadMarker.objects.get)(user=people["dn"])
    assert marker.last_read_id == ids[1]
    await aclose(socket)


# --- edit, delete ------------------------------------------------------------------------------------

async def test_edit_and_delete_are_broadcast(people):
    dn, ht = await open_topic(people["dn"], SLUG), await open_topic(people["ht"], SLUG)
    await dn.send_json_to({"type": "message.send", "body": "bản nháp"})
    message_id = (await next_frame(ht, "message"))["message"]["id"]
    await dn.send_json_to({"type": "message.edit", "id": message_id, "body": "bản **cuối**"})
    updated = await next_frame(ht, "message.updated")
    assert updated["message"]["html"] == "<p>bản <strong>cuối</strong></p>" and updated["message"]["edited_at"]
    await ht.send_json_to({"type": "message.delete", "id": message_id})  # not the author
    assert (await next_frame(ht, "error"))["code"] == "forbidden"
    await dn.send_json_to({"type": "message.delete", "id": message_id})
    deleted = await next_frame(ht, "message.deleted")
    assert deleted["message"]["id"] == message_id and deleted["message"]["deleted"] is True
    assert deleted["message"]["body"] == ""
    await aclose(dn, ht)


# --- losing access -----------------------------------------------------------------------------------

async def test_a_deactivated_user_is_cut_off_and_cannot_post(people):
    socket = await open_topic(people["dn"], SLUG)
    people["dn"].is_active = False
    await sync_to_async(people["dn"].save)()
    await socket.send_json_to({"type": "message.send", "body": "vẫn gửi được?"})
    outputs = []
    while (output := await socket.receive_output(timeout=3))["type"] != "websocket.close":
        outputs.append(output)
    assert output["code"] == 4401
    assert all('"message"' not in o.get("text", "") for o in outputs)
    assert await sync_to_async(Message.objects.count)() == 0


async def test_a_deactivated_user_cannot_send_even_if_the_cut_off_event_was_lost(people):
    """The per-send re-check does not rely on the (best-effort) control event."""
    from tests.chat.test_batch_frames import deactivate_silently

    socket = await open_topic(people["dn"], SLUG)
    await sync_to_async(deactivate_silently)(people["dn"].pk)  # raw SQL: no event at all
    await socket.send_json_to({"type": "message.send", "body": "vẫn gửi được?"})
    assert (await next_frame(socket, "error"))["code"] == "forbidden"
    assert (await socket.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4401}
    assert await sync_to_async(Message.objects.count)() == 0


async def test_a_topic_restricted_after_connect_cuts_off_outsiders(people):
    from chat.models import Topic

    socket = await open_topic(people["dn"], SLUG)

    def restrict():
        topic = Topic.objects.get(slug=SLUG)
        topic.allowed_roles = ["security_officer"]
        topic.save()

    await sync_to_async(restrict)()
    await socket.send_json_to({"type": "sync", "after": 0})
    assert (await next_frame(socket, "error"))["code"] == "forbidden"
    assert (await socket.receive_output(timeout=3))["code"] == 4403


async def test_a_topic_narrowed_to_other_centres_after_connect_refuses_the_next_frame(people):
    """Only the centre list changes (a many-to-many row, not the topic's own row): still seen."""
    from chat.models import Topic
    from hub.models import Centre

    socket = await open_topic(people["dn"], SLUG)
    await socket.send_json_to({"type": "message.send", "body": "trước", "client_id": "before"})
    await next_frame(socket, "message")

    def restrict():
        Topic.objects.get(slug=SLUG).allowed_centres.set([Centre.objects.get(code="HT")])

    await sync_to_async(restrict)()
    await socket.send_json_to({"type": "message.send", "body": "sau", "client_id": "after"})
    assert (await next_frame(socket, "error"))["code"] == "forbidden"
    assert (await socket.receive_output(timeout=3))["code"] == 4403
    assert await sync_to_async(Message.objects.filter(client_id="after").exists)() is False


async def test_a_person_renamed_while_connected_posts_under_the_new_name(people):
    from hub.models import User

    socket = await open_topic(people["dn"], SLUG)
    await socket.send_json_to({"type": "message.send", "body": "một", "client_id": "one"})
    assert (await next_frame(socket, "message"))["message"]["author"]["display_name"] == "dn.engineer"
    await sync_to_async(User.objects.filter(pk=people["dn"].pk).update)(display_name="Kỹ sư Đà Nẵng")
    await socket.send_json_to({"type": "message.send", "body": "hai", "client_id": "two"})
    assert (await next_frame(socket, "message"))["message"]["author"]["display_name"] == "Kỹ sư Đà Nẵng"
    await aclose(socket)


async def test_an_idle_socket_is_cut_off_by_the_periodic_recheck(people, settings):
    from chat.models import Topic

    settings.HUB_WS_REVALIDATE_SECONDS = 0.2
    socket = await open_topic(people["dn"], SLUG)
    await sync_to_async(Topic.objects.filter(slug=SLUG).update)(allowed_roles=["manager"])
    while (output := await socket.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    assert output["code"] == 4403


async def test_the_periodic_recheck_cuts_off_a_person_whose_role_changed_and_keeps_the_others(
        people, make_topic, settings):
    from hub.models import User

    await sync_to_async(make_topic)("doi-ung-cuu", allowed_roles=["security_officer"])
    settings.HUB_WS_REVALIDATE_SECONDS = 0.2
    moved = await open_topic(people["hts"], "doi-ung-cuu")
    staying_user = await sync_to_async(User.objects.create_user)(
        "dn.security", centre=people["dn"].centre, role="security_officer")
    staying = await open_topic(staying_user, "doi-ung-cuu")
    await sync_to_async(User.objects.filter(pk=people["hts"].pk).update)(role="engineer")  # no signal
    while (output := await moved.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    assert output["code"] == 4403
    await asyncio.sleep(0.6)  # several more re-checks: the unchanged person keeps the socket
    await staying.send_json_to({"type": "sync", "after": 0})
    assert (await next_frame(staying, "sync.done"))["type"] == "sync.done"
    await aclose(staying)


# --- mentions ------------------------------------------------------------------------------------------

async def test_mentions_reach_the_mentioned_peoples_notification_streams(people, make_user):
    qb = await sync_to_async(make_user)("qb.engineer", centre="QB")
    streams = {}
    for key, user in [("ht", people["ht"]), ("hts", people["hts"]), ("qb", qb), ("dn", people["dn"])]:
        streams[key] = await open_socket(user, "/ws/notifications/")
        assert (await streams[key].receive_json_from(timeout=3))["type"] == "hello"
    topic_socket = await open_topic(people["dn"], SLUG)
    await topic_socket.send_json_to({"type": "message.send", "body": "@HT và @qb.engineer xem giúp"})
    sent = (await next_frame(topic_socket, "message"))["message"]
    assert sent["mentions"] == {"users": ["qb.engineer"], "centres": ["HT"]}
    assert '<a class="mention" data-mention="centre" href="/centres/HT/">@HT</a>' in sent["html"]
    for key in ("ht", "hts", "qb"):
        frame = await streams[key].receive_json_from(timeout=3)
        assert frame["type"] == "mention" and frame["message"]["id"] == sent["id"], key
        assert frame["topic"]["slug"] == SLUG
    assert await streams["dn"].receive_nothing(timeout=0.3)  # the author is not notified
    await aclose(topic_socket, *streams.values())


async def test_mentions_respect_the_messages_audience(people, make_user):
    stream = await open_socket(people["ht"], "/ws/notifications/")
    await stream.receive_json_from(timeout=3)
    audience = Audience(roles=frozenset({"security_officer"}))

    def post():
        from chat.models import Topic

        post_message(Topic.objects.get(slug=SLUG), by=people["hts"], body="@ht.engineer TLP:RED",
                     audience=audience)

    await sync_to_async(post)()
    assert await stream.receive_nothing(timeout=0.5)
    await aclose(stream)


async def test_several_sockets_of_one_person_each_receive_once(people):
    a, b = await open_topic(people["dn"], SLUG), await open_topic(people["dn"], SLUG)
    await a.send_json_to({"type": "message.send", "body": "hai tab"})
    for socket in (a, b):
        await next_frame(socket, "message")
        assert await nothing_but_background(socket)
    await asyncio.gather(a.disconnect(), b.disconnect())


async def test_a_client_that_missed_100_messages_syncs_each_exactly_once_in_order(people):
    socket = await open_topic(people["dn"], SLUG)
    await socket.send_json_to({"type": "message.send", "body": "trước khi mất mạng"})
    last_seen = (await next_frame(socket, "message"))["message"]["id"]
    await socket.disconnect()
    missed = await sync_to_async(post_many)(SLUG, people["ht"], 100, prefix="tin ")
    socket = await open_topic(people["dn"], SLUG)
    await socket.send_json_to({"type": "sync", "after": last_seen})
    received = []
    while (frame := await next_frame(socket, "message", "sync.done"))["type"] == "message":
        received.append(frame["message"])
    assert [m["id"] for m in received] == missed
    assert [m["body"] for m in received] == [f"tin {i}" for i in range(100)]
    assert frame["latest"] == missed[-1]
    await aclose(socket)


async def test_a_post_rolled_back_with_its_callers_transaction_is_never_broadcast(people):
    """Persist, then broadcast: a service call inside a transaction that fails sends nothing."""
    from django.db import transaction

    from chat.models import Topic

    socket = await open_topic(people["ht"], SLUG)

    def post_then_fail():
        try:
            with transaction.atomic():
                post_message(Topic.objects.get(slug=SLUG), by=people["dn"], body="sẽ bị huỷ")
                raise RuntimeError("the caller's action failed")
        except RuntimeError:
            pass

    await sync_to_async(post_then_fail)()
    assert await nothing_but_background(socket, timeout=0.5)
    assert await sync_to_async(Message.objects.count)() == 0
    await aclose(socket)


async def test_binary_frames_are_refused_with_invalid(people):
    socket = await open_topic(people["dn"], SLUG)
    await socket.send_to(bytes_data=b'{"type": "message.send", "body": "nhi phan"}')
    assert (await next_frame(socket, "error"))["code"] == "invalid"
    assert await sync_to_async(Message.objects.count)() == 0
    await aclose(socket)


async def test_a_burst_of_joins_is_announced_in_few_presence_frames(people, make_user, monkeypatch):
    from chat import presence

    monkeypatch.setattr(presence, "COALESCE_SECONDS", 2.0)  # wide window: the burst surely fits in it
    watcher = await open_topic(people["dn"], SLUG)
    users = [await sync_to_async(make_user)(f"qt.engineer{i}", centre="QT") for i in range(8)]
    sockets = [await open_socket(user, f"/ws/topics/{SLUG}/") for user in users]
    frames = [await next_frame(watcher, "presence")]
    while frames[-1]["count"] < 9:
        frames.append(await next_frame(watcher, "presence"))
    assert len(frames) < len(sockets)  # coalesced, not one frame per join
    assert frames[-1]["online"][1] == {"centre": "QT", "count": 8, "users": [
        {"username": f"qt.engineer{i}", "display_name": f"qt.engineer{i}"} for i in range(8)]}
    await aclose(watcher, *sockets)


async def test_a_flood_of_sync_frames_is_rate_limited_per_socket(people, settings):
    settings.HUB_RATE_LIMIT_BURST = 2
    settings.HUB_RATE_LIMIT_PER_SECOND = 0.01
    socket = await open_topic(people["dn"], SLUG)
    for _ in range(3):
        await socket.send_json_to({"type": "sync", "after": 0})
    assert (await next_frame(socket, "sync.done"))["type"] == "sync.done"
    assert (await next_frame(socket, "sync.done"))["type"] == "sync.done"
    assert (await next_frame(socket, "error"))["code"] == "rate_limited"
    await aclose(socket)


async def test_sync_with_changed_since_replays_edits_and_deletions_missed_while_away(people):
    from django.utils import timezone

    from chat.models import Topic
    from chat.services import delete_message, edit_message

    ids = await sync_to_async(post_many)(SLUG, people["dn"], 3)
    away_since = timezone.now()

    def change_while_away():
        edit_message(Message.objects.get(pk=ids[0]), by=people["dn"], body="đã sửa")
        delete_message(Message.objects.get(pk=ids[1]), by=people["dn"])
        post_message(Topic.objects.get(slug=SLUG), by=people["dn"], body="mới")

    await sync_to_async(change_while_away)()
    socket = await open_topic(people["ht"], SLUG)
    await socket.send_json_to({"type": "sync", "after": ids[-1], "changed_since": away_since.isoformat()})
    updated = await next_frame(socket, "message.updated")
    assert (updated["message"]["id"], updated["message"]["body"]) == (ids[0], "đã sửa")
    deleted = await next_frame(socket, "message.deleted")
    assert (deleted["message"]["id"], deleted["message"]["deleted"]) == (ids[1], True)
    new = await next_frame(socket, "message")
    assert new["message"]["body"] == "mới"
    assert (await next_frame(socket, "sync.done"))["latest"] == new["message"]["id"]
    await aclose(socket)


@pytest.mark.parametrize("value", ["hôm qua", "2026-13-45T00:00:00", 12345, ["2026-01-01"]])
async def test_sync_with_a_bad_changed_since_is_invalid(value, people):
    socket = await open_topic(people["dn"], SLUG)
    await socket.send_json_to({"type": "sync", "after": 0, "changed_since": value})
    assert (await next_frame(socket, "error"))["code"] == "invalid"
    await aclose(socket)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:03+00:00", "9999-12-31T23:59:59-01:00"])
async def test_sync_with_changed_since_outside_the_hub_years_is_invalid_and_the_socket_answers_on(value, people):
    """A time at the calendar's edge, less the sync's margin, would leave Python's range: refused like
    any bad time (the hub's years, hub.lib.inputs.YEARS), and the socket goes on answering."""
    socket = await open_topic(people["dn"], SLUG)
    await socket.send_json_to({"type": "sync", "after": 0, "changed_since": value})
    error = await next_frame(socket, "error")
    assert error["code"] == "invalid" and "changed_since" in error["detail"], error
    await socket.send_json_to({"type": "sync", "after": 0})
    assert (await next_frame(socket, "sync.done"))["type"] == "sync.done"
    await aclose(socket)


def _recheck_queries(socket) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert socket._fresh_access() is socket.user
    return [q["sql"] for q in queries.captured_queries]


def _bare_socket(person):
    from chat.consumers import TopicConsumer
    from chat.selectors import get_topic
    from hub.models import User

    socket = TopicConsumer()
    socket.user = User.objects.select_related("centre").get(pk=person.pk)
    socket.topic = get_topic(SLUG)
    return socket


def test_the_per_frame_recheck_reads_two_rows_and_reloads_nothing_when_nothing_changed(people):
    """What keeps a posted message cheap: after the first frame (which loads both), the person's and
    the channel's rows match what the previous check read, so neither model is reloaded."""
    socket = _bare_socket(people["dn"])
    # the two rows, then the person and the channel (its centres in the same query on PostgreSQL:
    # chat.selectors.get_topic; a second query elsewhere)
    assert len(_recheck_queries(socket)) == (4 if connection.vendor == "postgresql" else 5)
    assert len(_recheck_queries(socket)) == 2
    assert len(_recheck_queries(socket)) == 2


def test_the_per_frame_recheck_reloads_what_changed_and_only_that(people):
    """A new display name reaches the socket's next message; a channel restricted to other centres
    cuts the socket off on its next frame."""
    from chat.consumers import AccessLost
    from chat.models import Topic
    from hub.models import Centre, User

    socket = _bare_socket(people["dn"])
    _recheck_queries(socket)
    User.objects.filter(pk=people["dn"].pk).update(display_name="Tên mới")
    assert len(_recheck_queries(socket)) == 3  # the two rows, then the person
    assert socket.user.display_name == "Tên mới"
    other = Centre.objects.exclude(pk=people["dn"].centre_id).first()
    assert other is not None
    Topic.objects.get(slug=SLUG).allowed_centres.set([other])
    with pytest.raises(AccessLost) as lost:
        socket._fresh_access()
    assert lost.value.code == 4403
