"""Every WebSocket frame, held to its type (hub/realtime/frame_types.py).

One scenario drives real sockets through everything that makes a frame — chat, alerts, tickets, duty,
errors, batches — records every frame the server sends, and checks each against the TypedDict its
`type` names, key for key (a key missing, one too many or a value of the wrong type fails). Every
declared server frame must have been seen, every client frame must have a handler, and
docs/frames.md must be what the types generate."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from hub.realtime import frame_types
from tests.chat.conftest import SLUG, open_socket
from tests.factories import TopicFactory, staff

pytestmark = pytest.mark.django_db(transaction=True)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "frames.md"


class Recorder:
    """A socket that keeps every frame it receives."""

    def __init__(self, socket, seen: list[dict]) -> None:
        self.socket, self.seen = socket, seen

    async def until(self, frame_type: str, timeout: float = 5) -> dict:
        while True:
            frame = await self.socket.receive_json_from(timeout=timeout)
            self.seen.append(frame)
            if frame["type"] == frame_type:
                return frame

    async def send(self, frame: dict) -> None:
        await self.socket.send_json_to(frame)

    async def drain(self) -> None:
        while not await self.socket.receive_nothing(timeout=0.3):
            self.seen.append(await self.socket.receive_json_from(timeout=1))


async def listen(user, seen: list[dict]) -> Recorder:
    """The person's notifications stream, its `hello` recorded."""
    socket = Recorder(await open_socket(user, "/ws/notifications/"), seen)
    await socket.until("hello")
    return socket


@pytest.fixture
def world(db, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.HUB_SYNC_MAX = 2
    TopicFactory(slug=SLUG)
    return {"ht": staff("ht.engineer", display_name="Lê Hà"), "hts": staff("ht.security"),
            "dnm": staff("dn.manager"), "dns": staff("dn.security"), "dns2": staff("dn.security2")}


async def chat_frames(world, seen: list[dict]) -> None:
    ht = Recorder(await open_socket(world["ht"], f"/ws/topics/{SLUG}/"), seen)
    await ht.until("presence")
    dn = Recorder(await open_socket(world["dnm"], f"/ws/topics/{SLUG}/"), seen)
    batched = Recorder(await open_socket(world["dns"], f"/ws/topics/{SLUG}/?batch=1"), seen)
    notifications = await listen(world["dnm"], seen)
    await notifications.send({"type": "ping"})
    await notifications.until("pong")

    await ht.send({"type": "message.send", "body": "Chào @dn.manager", "client_id": "c1"})
    first = (await dn.until("message"))["message"]
    await notifications.until("mention")
    await ht.send({"type": "typing"})
    await dn.until("typing")
    await ht.send({"type": "message.edit", "id": first["id"], "body": "Chào anh"})
    await dn.until("message.updated")
    await ht.send({"type": "message.send", "body": "tin thứ hai", "client_id": "c2"})
    await ht.send({"type": "message.send", "body": "tin thứ ba", "client_id": "c3"})
    await ht.send({"type": "message.delete", "id": first["id"]})
    await dn.until("message.deleted")
    await dn.send({"type": "read", "up_to": first["id"]})
    await dn.until("read")
    await notifications.until("read")
    await dn.send({"type": "sync", "after": 0})  # three messages, HUB_SYNC_MAX 2: a resync
    await dn.until("resync")
    await dn.send({"type": "sync", "after": first["id"] + 1, "changed_since": "2020-01-01T00:00:00.000Z"})
    await dn.until("sync.done")
    await dn.send({"type": "message.launch"})
    await dn.until("error")

    # Threads, reactions, pins (issue 26 §2, §3) and a direct conversation's members (§1).
    from chat.models import Message
    from chat.services import add_members, set_pinned, start_conversation, toggle_reaction

    second = next(f["message"] for f in seen if f["type"] == "message" and f["message"]["client_id"] == "c2")
    await ht.send({"type": "message.send", "body": "trả lời", "client_id": "c4", "reply_to": second["id"]})
    await dn.until("thread.updated")
    root = await sync_to_async(Message.objects.select_related("topic").get)(pk=second["id"])
    await sync_to_async(toggle_reaction)(root, by=world["dnm"], emoji="👍")
    await dn.until("message.reactions")
    await sync_to_async(set_pinned)(root, by=world["dnm"], pinned=True)
    await dn.until("message.pinned")
    talk, _ = await sync_to_async(start_conversation)(by=world["ht"], members=["dn.manager"])
    direct = Recorder(await open_socket(world["ht"], f"/ws/topics/{talk.slug}/"), seen)
    await direct.until("presence")
    await sync_to_async(add_members)(talk, by=world["ht"], usernames=["dn.security"])
    await direct.until("members")
    await direct.socket.disconnect()
    # A thread narrowed away from DN (an alert's summary following its alert): DN's page takes it off.
    from chat.services import remark_thread
    from hub.realtime.audience import Audience

    root = await sync_to_async(Message.objects.select_related("topic").get)(pk=second["id"])
    await sync_to_async(remark_thread)(root, audience=Audience(centres=frozenset({"HT"})), tlp="amber",
                                       shared_with=["HT"])
    await dn.until("message.withdrawn")

    from hub.realtime.groups import topic_group
    from hub.realtime.publisher import publications, send_publications

    await batched.drain()
    frames = [{"type": "message", "message": f["message"]} for f in seen if f["type"] == "message"][:2]
    await send_publications([item for frame in frames for item in publications([topic_group(SLUG)], frame)])
    batch = await batched.until("batch")
    seen.extend(batch["frames"])  # each element is a frame of its own kind

    from hub.realtime.receiver import resync_frame

    seen.append(json.loads(resync_frame(7)))
    for socket in (ht, dn, batched, notifications):
        await socket.drain()
        await socket.socket.disconnect()


async def alert_and_ticket_frames(world, seen: list[dict]) -> None:
    from alerts.services import acknowledge_alert, change_alert_status, escalate_due_alerts, raise_alert
    from requests.seen import record_view
    from requests.services import add_attachment, add_comment, create_ticket, send_sla_reminders

    notifications = await listen(world["dnm"], seen)
    alert = await sync_to_async(raise_alert)(by=world["hts"], title="Dò quét", severity="critical", tlp="clear")
    await notifications.until("alert")
    await sync_to_async(acknowledge_alert)(alert, by=world["dns"])
    await sync_to_async(change_alert_status)(alert, by=world["hts"], to="mitigated", note="Đã chặn")
    late = await sync_to_async(raise_alert)(by=world["hts"], title="Mã độc", severity="critical", tlp="clear")
    await sync_to_async(escalate_due_alerts)(now=late.created_at + timedelta(minutes=6))
    await notifications.drain()

    ticket = await sync_to_async(create_ticket)(by=world["ht"], title="Nhờ rà soát", category="security",
                                                target_centre="DN")
    await sync_to_async(add_comment)(ticket, by=world["ht"], body="Chi tiết")
    # DN (the other centre) reads the request: its readers hear that the comment has been seen.
    await sync_to_async(record_view)(ticket, world["dnm"])
    await notifications.until("ticket.seen")
    await sync_to_async(add_attachment)(ticket, by=world["ht"], upload=SimpleUploadedFile("log.txt", b"nhat ky"))
    # The SLA watch: DN (the target centre) hears that the request's first response is overdue.
    assert ticket.first_response_due is not None
    await sync_to_async(send_sla_reminders)(now=ticket.first_response_due + timedelta(minutes=1))
    await notifications.until("ticket.sla")
    # Withdrawn: an alert raised to RED (HT alone) leaves DN; a watcher removed loses the request.
    from alerts.services import update_alert
    from requests.services import add_watcher, remove_watcher

    await sync_to_async(update_alert)(alert, by=world["hts"], changes={"tlp": "red"})
    await notifications.until("alert.withdrawn")
    outsider = await sync_to_async(staff)("qb.engineer")
    await sync_to_async(add_watcher)(ticket, by=world["ht"], username="qb.engineer")
    watching = await listen(outsider, seen)
    await sync_to_async(remove_watcher)(ticket, by=world["ht"], username="qb.engineer")
    await watching.until("ticket.withdrawn")
    await watching.socket.disconnect()
    await notifications.drain()
    await notifications.socket.disconnect()


async def duty_frames(world, seen: list[dict]) -> None:
    from django.conf import settings

    from duty.services import confirm_duty, create_shift, delete_shift, watch_shifts
    from hub.models import Centre

    manager = await listen(world["dnm"], seen)
    officer = await listen(world["dns"], seen)
    dn = await sync_to_async(Centre.objects.get)(code="DN")
    now = timezone.now()
    spare = await sync_to_async(create_shift)(dn, by=world["dnm"], starts_at=now + timedelta(days=2),
                                              ends_at=now + timedelta(days=3), officer="dn.security")
    await sync_to_async(delete_shift)(spare, by=world["dnm"])
    shift = await sync_to_async(create_shift)(dn, by=world["dnm"], starts_at=now - timedelta(minutes=1),
                                              ends_at=now + timedelta(hours=1), officer="dn.security",
                                              deputy="dn.security2")
    await sync_to_async(watch_shifts)(now=now)  # started; the officer is reminded
    await officer.until("duty")
    grace = timedelta(minutes=settings.HUB_DUTY_CONFIRM_GRACE_MINUTES + 1)
    await sync_to_async(watch_shifts)(now=now + grace)  # unconfirmed: the deputy and managers are told
    await sync_to_async(confirm_duty)(by=world["dns"], at=now + grace)
    await sync_to_async(watch_shifts)(now=shift.ends_at + timedelta(minutes=1))  # ended
    for socket in (manager, officer):
        await socket.drain()
        await socket.socket.disconnect()


async def event_frames(world, seen: list[dict]) -> None:
    from events.services import create_event, register, send_reminders

    attendee = await listen(world["dns"], seen)
    start = timezone.now() + timedelta(hours=20)
    event = await sync_to_async(create_event)(by=world["dnm"], title="Hội thảo", starts_at=start,
                                              ends_at=start + timedelta(hours=8), place="Đà Nẵng")
    await attendee.until("event.changed")  # the calendar changed, for everyone signed in
    await sync_to_async(register)(event, by=world["dns"])
    await sync_to_async(send_reminders)(now=timezone.now())
    await attendee.until("event")
    await attendee.socket.disconnect()


async def access_frames(world, seen: list[dict]) -> None:
    from hub.models import Centre, User

    stream = await listen(world["ht"], seen)
    await sync_to_async(lambda: User.objects.filter(pk=world["ht"].pk).update(
        centre=Centre.objects.get(code="DN")))()
    await stream.until("access.changed")  # their pages reload what they show
    await stream.socket.disconnect()


async def test_every_frame_the_server_sends_is_its_declared_type(world):
    seen: list[dict] = []
    await chat_frames(world, seen)
    await alert_and_ticket_frames(world, seen)
    await duty_frames(world, seen)
    await event_frames(world, seen)
    await access_frames(world, seen)

    declared = frame_types.server_frames()
    faults = []
    for frame in seen:
        frame_type = declared.get(str(frame.get("type")))
        if frame_type is None:
            faults.append(f"undeclared frame type {frame.get('type')!r}: {frame}")
            continue
        faults += [f"{p} in {json.dumps(frame, ensure_ascii=False)[:200]}"
                   for p in frame_types.problems(frame, frame_type)]
    assert not faults, "\n".join(faults)
    assert set(declared) - {f["type"] for f in seen} == set(), "declared frames this scenario never produced"
    events = {(f["type"], f.get("event")) for f in seen if f["type"] in ("alert", "duty")}
    assert {("alert", e) for e in ("raised", "acknowledged", "status_changed", "escalated")} <= events
    assert {("duty", e) for e in ("roster_changed", "started", "reminder", "unconfirmed", "confirmed",
                                  "ended")} <= events
    assert any("comment" in f for f in seen if f["type"] == "ticket")
    assert any("attachment" in f for f in seen if f["type"] == "ticket")


def test_a_frame_that_departs_from_its_type_is_caught():
    from chat.frames import ReadFrame, TypingFrame

    assert frame_types.problems({"type": "read", "topic": "x", "up_to": 3}, ReadFrame) == []
    assert frame_types.problems({"type": "read", "topic": "x"}, ReadFrame) == ["frame.up_to: missing"]
    assert frame_types.problems({"type": "read", "topic": "x", "up_to": 3, "extra": 1}, ReadFrame) == [
        "frame.extra: not in ReadFrame"]
    assert frame_types.problems({"type": "typing", "topic": "x", "user": {"username": "a", "display_name": "A",
                                                                          "centre": 5}}, TypingFrame)


def test_every_client_frame_has_a_handler():
    from chat.consumers import TopicConsumer
    from hub.realtime.notifications import NotificationsConsumer

    for frame_type in frame_types.registry()["CLIENT_FRAMES"]:
        name = "handle_" + frame_types.type_literal(frame_type).replace(".", "_")
        assert hasattr(TopicConsumer, name) or hasattr(NotificationsConsumer, name), frame_type.__name__


def test_the_frames_page_is_generated_from_the_types():
    assert DOCS.read_text(encoding="utf-8") == frame_types.page(), (
        "docs/frames.md is stale: python -m hub.realtime.frame_types > docs/frames.md")
