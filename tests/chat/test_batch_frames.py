"""`batch` frames (docs/chat.md): a socket that connects with `?batch=1` gets the events that reach it
together as one frame, `{"type": "batch", "frames": [...]}`, each element the frame it would otherwise
have received alone, in the same order. Every other socket gets exactly what it got before.

Events "reach a socket together" when they arrive in one channel-layer message: the outbox sends
what piled up during a fan-out that way (hub.realtime.publisher.send_publications), which is what the tests
below do with real stored messages."""

import json
from typing import cast

import pytest
from asgiref.sync import sync_to_async

from chat.models import Topic
from chat.serializers import message_out
from chat.services import post_message
from hub.realtime.audience import Audience
from hub.realtime.groups import topic_group
from hub.realtime.publisher import publications, send_publications
from tests.chat.conftest import SLUG, next_frame, nothing_but_background, open_topic

pytestmark = pytest.mark.django_db(transaction=True)



def stored(author, bodies: list[str], audience: Audience | None = None) -> list[dict]:
    """Messages stored now (their own broadcasts are drained by the caller), as `message` frames."""
    topic = Topic.objects.get(slug=SLUG)
    return [{"type": "message", "message": message_out(post_message(topic, by=author, body=body,
                                                                     client_id=f"c-{index}",
                                                                     audience=audience)[0])}
            for index, body in enumerate(bodies)]


async def drain(*sockets) -> None:
    """Read away the frames of the messages' own (one-by-one) broadcasts."""
    for socket in sockets:
        while not await nothing_but_background(socket, timeout=0.3):
            pass


async def arrive_together(frames: list[dict], audiences: list[Audience | None] | None = None) -> None:
    audiences = audiences or [None] * len(frames)
    items = [item for frame, audience in zip(frames, audiences, strict=True)
             for item in publications([topic_group(SLUG)], frame, audience)]
    await send_publications(items)


async def test_events_arriving_together_come_as_one_batch_frame_in_order_and_alone_to_others(people):
    batched = await open_topic(people["dn"], SLUG, "batch=1")
    plain = await open_topic(people["ht"], SLUG)
    frames = await sync_to_async(stored)(people["ht"], ["một", "hai", "ba"])
    await drain(batched, plain)

    await arrive_together(frames)

    assert await next_frame(batched, "batch") == {"type": "batch", "frames": frames}
    assert [await next_frame(plain, "message") for _ in frames] == frames
    assert await nothing_but_background(batched) and await nothing_but_background(plain)
    await batched.disconnect()
    await plain.disconnect()


async def test_a_single_event_is_never_wrapped(people):
    batched = await open_topic(people["dn"], SLUG, "batch=1")
    await batched.send_json_to({"type": "message.send", "body": "một mình", "client_id": "solo"})
    frame = await next_frame(batched, "message")
    assert frame["message"]["client_id"] == "solo"
    await batched.disconnect()


async def test_a_reply_and_its_threads_new_count_come_as_one_batch_frame(people):
    """Both frames of a threaded reply are handed over together after its commit
    (`broadcast_together_on_commit`): one write to each socket, never two (docs/benchmarks.md,
    "Issue 26")."""
    batched = await open_topic(people["dn"], SLUG, "batch=1")
    [root] = await sync_to_async(stored)(people["ht"], ["gốc của luồng"])
    await drain(batched)
    await batched.send_json_to({"type": "message.send", "body": "trả lời", "client_id": "r1",
                                "reply_to": root["message"]["id"]})
    reply, updated = (await next_frame(batched, "batch"))["frames"]
    assert (reply["type"], reply["message"]["client_id"], reply["message"]["thread_root"]) == (
        "message", "r1", root["message"]["id"])
    assert updated == {"type": "thread.updated", "topic": SLUG, "root": root["message"]["id"], "reply_count": 1,
                       "last_reply_at": reply["message"]["created_at"]}
    assert await nothing_but_background(batched)
    await batched.disconnect()


async def test_a_batch_holds_only_what_the_socket_may_see(people):
    """An AMBER message among public ones: the insider's batch has all three, the outsider's the two
    public ones — still one frame — and nothing of the restricted one."""
    outsider = await open_topic(people["dn"], SLUG, "batch=1")
    insider = await open_topic(people["hts"], SLUG, "batch=1")
    amber = Audience(centres=frozenset({"HT"}), roles=frozenset({"security_officer"}))
    public_before = await sync_to_async(stored)(people["hts"], ["công khai 1"])
    restricted = await sync_to_async(stored)(people["hts"], ["TLP:AMBER IOC"], amber)
    public_after = await sync_to_async(stored)(people["hts"], ["công khai 2"])
    await drain(outsider, insider)

    await arrive_together(public_before + restricted + public_after, [None, amber, None])

    assert (await next_frame(insider, "batch"))["frames"] == public_before + restricted + public_after
    batch = await next_frame(outsider, "batch")
    assert batch["frames"] == public_before + public_after
    assert "TLP:AMBER" not in json.dumps(batch, ensure_ascii=False)
    assert await nothing_but_background(outsider)
    await outsider.disconnect()
    await insider.disconnect()


async def test_when_only_one_event_of_a_batch_is_visible_it_comes_as_a_plain_frame(people):
    outsider = await open_topic(people["dn"], SLUG, "batch=1")
    amber = Audience(centres=frozenset({"HT"}), roles=frozenset({"security_officer"}))
    public = await sync_to_async(stored)(people["hts"], ["công khai"])
    restricted = await sync_to_async(stored)(people["hts"], ["TLP:AMBER"], amber)
    await drain(outsider)

    await arrive_together(restricted + public, [amber, None])

    assert await next_frame(outsider, "message") == public[0]
    assert await nothing_but_background(outsider)
    await outsider.disconnect()


async def test_batches_are_split_by_size_and_never_exceed_the_limit(people, settings):
    settings.HUB_WS_BATCH_MAX_BYTES = 2048
    batched = await open_topic(people["dn"], SLUG, "batch=1")
    frames = await sync_to_async(stored)(people["ht"], [f"tin {i} " + "x" * 300 for i in range(12)])
    await drain(batched)

    await arrive_together(frames)

    received: list[dict] = []
    while len(received) < len(frames):
        raw = await batched.receive_from(timeout=5)
        frame = json.loads(raw)
        if frame["type"] == "batch":
            assert len(str(raw).encode()) <= 2048 and len(frame["frames"]) > 1
            received.extend(frame["frames"])
        elif frame["type"] == "message":
            received.append(frame)
    assert received == frames
    await batched.disconnect()


async def test_an_event_arriving_twice_in_one_batch_is_delivered_once(people):
    batched = await open_topic(people["dn"], SLUG, "batch=1")
    frames = await sync_to_async(stored)(people["ht"], ["một", "hai"])
    await drain(batched)
    first = publications([topic_group(SLUG)], frames[0])
    second = publications([topic_group(SLUG)], frames[1])

    await send_publications(first + first + second)  # a redelivery of the same event

    assert (await next_frame(batched, "batch"))["frames"] == frames
    await batched.disconnect()


async def test_a_publication_arriving_again_later_reaches_each_socket_once(people):
    """A redelivery in a later layer message (not in the same batch): the process's fan-out drops
    the second copy for every socket of the group, batched or not — no socket keeps its own list of
    event ids for that (docs/benchmarks.md, "Memory per idle connection")."""
    from hub.realtime.consumers import HubConsumer
    from hub.realtime.receiver import local_fanout

    batched = await open_topic(people["dn"], SLUG, "batch=1")
    plain = await open_topic(people["ht"], SLUG)
    frames = await sync_to_async(stored)(people["ht"], ["một"])
    await drain(batched, plain)
    once = publications([topic_group(SLUG)], frames[0])

    await send_publications(once)
    assert await next_frame(batched, "message") == frames[0]
    assert await next_frame(plain, "message") == frames[0]
    await send_publications(once)  # the same event again

    assert await nothing_but_background(batched) and await nothing_but_background(plain)
    sockets = cast(set[HubConsumer], local_fanout().groups[topic_group(SLUG)])
    assert len(sockets) == 2 and all(socket.recent_events is None for socket in sockets)
    await batched.disconnect()
    await plain.disconnect()


def deactivate_silently(user_id: int) -> None:
    from django.db import connection

    from hub.models import User

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {User._meta.db_table} SET is_active = %s WHERE id = %s", [False, user_id])


async def test_a_deactivation_in_a_batch_cuts_the_socket_off_after_what_came_before(people):
    """Control events keep their place: the frames before the cut-off are sent, nothing after."""
    batched = await open_topic(people["dn"], SLUG, "batch=1")
    frames = await sync_to_async(stored)(people["ht"], ["trước", "sau"])
    await drain(batched)
    # In raw SQL, which announces nothing (UserQuerySet.update would), so that the only cut-off is the
    # one inside the batch below.
    await sync_to_async(deactivate_silently)(people["dn"].pk)
    control = [(topic_group(SLUG), "", {"event_id": "cut", "control": "user_deactivated"})]

    await send_publications(publications([topic_group(SLUG)], frames[0]) + control
                            + publications([topic_group(SLUG)], frames[1]))

    assert await next_frame(batched, "message") == frames[0]
    output = await batched.receive_output(timeout=5)
    while output["type"] == "websocket.send":
        assert json.loads(output["text"])["type"] in {"presence", "typing"}, output
        output = await batched.receive_output(timeout=5)
    assert output["type"] == "websocket.close" and output["code"] == 4401
