"""Conversations, threads, reactions and pins on the hub scaled out (issue 26, "Done means": "on
PostgreSQL and Redis with two processes, with the same guarantees as topic messages"): two real server
processes — daphne (A) and uvicorn (B) — on one PostgreSQL and one Redis, real WebSocket clients and
plain HTTP on both.

- A direct conversation: what a member posts on A reaches the member on B live, once each, in order; to
  anyone else it is 4403 on the socket and 404 over HTTP on either process; a member added on B hears
  what follows (on both processes), and a member who leaves on A has their sockets closed (4403) at
  once — and never receives what is written after they left, even before the close.
- A threaded reply: the reply's frame and its `thread.updated` (reply count, last reply time) cross
  the processes in that order; `sync` after a reconnect on B replays the missed replies with their
  thread fields and the root with its final count.
- Reactions: toggled over HTTP on both processes at once by ten people, the newest state every socket
  on both received (by `version`: frames of the two processes may cross) is exactly the database's
  (the `message.reactions` frame is a state frame: it may wait for company, and of several only the
  newest is sent — hub.realtime.receiver `_hold`).
- Pins: pinned on A, the `message.pinned` frame reaches B and B's pinned list agrees; a person without
  the topic's pin role is refused on either process and nothing is broadcast.

One pair of server processes serves the whole module (each test's data is its own: the test database
is emptied between tests, the processes keep nothing of it)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.chat.conftest import BACKGROUND
from tests.chat.test_e2e import GENEROUS, http, ticket
from tests.conftest import token_for
from tests.live import HubServer, start_hub
from tests.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CHANNEL = "phat-trien-phan-mem"
SECURITY = "an-toan-thong-tin"
QUIET = 1.0  # seconds without a frame after which a socket is taken to have received everything
# (five times HUB_STATE_FRAME_WAIT_SECONDS: a held state frame is always out by then)


@pytest.fixture(scope="module")
def hubs(django_db_setup, tmp_path_factory) -> Iterator[tuple[HubServer, HubServer]]:
    """Daphne (A) and uvicorn (B) on the test database and one Redis, for every test of the module."""
    from django.conf import settings

    require(None if settings.REDIS_URL else "REDIS_URL is not set (second pass of make test)")
    require(None if settings.IS_POSTGRES else "DATABASE_URL is not PostgreSQL (second pass of make test)")
    # The state-frame wait is set explicitly: the reaction test is about frames that may wait.
    env = {"REDIS_URL": settings.REDIS_URL, "HUB_STATE_FRAME_WAIT_SECONDS": "0.2", **GENEROUS}
    tmp = tmp_path_factory.mktemp("hubs")
    a = start_hub("daphne", env, tmp)
    try:
        b = start_hub("uvicorn", env, tmp)
    except BaseException:
        a.stop()
        raise
    yield a, b
    for server in (a, b):
        server.stop()


# --- clients -----------------------------------------------------------------------------------------


async def call(method: str, url: str, token: str, payload: dict | None = None) -> tuple[int, dict]:
    return await asyncio.to_thread(http, method, url, token, payload)


async def join(hub: HubServer, token: str, slug: str, query: str = "") -> ClientConnection:
    """A socket on the topic, open and joined (its first frame, presence, read)."""
    socket = await connect(f"{hub.ws}/ws/topics/{slug}/?{query}{'&' if query else ''}ticket={await ticket(hub, token)}",
                           max_queue=None)
    first = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert first["type"] == "presence", first
    return socket


async def close_code(socket: ClientConnection, timeout: float = 5) -> tuple[int | None, list[dict]]:
    """Read until the server closes the socket: its close code and the frames that came before."""
    frames: list[dict] = []
    try:
        while True:
            frames.extend(unpacked(json.loads(await asyncio.wait_for(socket.recv(), timeout))))
    except ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else None), frames


async def refused(hub: HubServer, token: str, slug: str) -> int | None:
    """The close code a socket on the topic gets straight away (accepted, then closed)."""
    socket = await connect(f"{hub.ws}/ws/topics/{slug}/?ticket={await ticket(hub, token)}")
    code, frames = await close_code(socket)
    assert frames == []
    return code


def unpacked(frame: dict) -> list[dict]:
    """A socket that asked for `batch=1` may get several frames in one (docs/chat.md, "Batch frames")."""
    return frame["frames"] if frame["type"] == "batch" else [frame]


async def next_frames(socket: ClientConnection, n: int, skip: frozenset[str] = frozenset(),
                      timeout: float = 10) -> list[dict]:
    """The next `n` frames, background ones (presence, typing, receipts) and `skip` left out."""
    out: list[dict] = []
    while len(out) < n:
        for frame in unpacked(json.loads(await asyncio.wait_for(socket.recv(), timeout))):
            if frame["type"] not in BACKGROUND | skip:
                out.append(frame)
    assert len(out) == n, f"more frames than expected arrived together: {out}"
    return out


async def next_frame(socket: ClientConnection, skip: frozenset[str] = frozenset(), timeout: float = 10) -> dict:
    return (await next_frames(socket, 1, skip, timeout))[0]


async def until_quiet(socket: ClientConnection, quiet: float = QUIET) -> list[dict]:
    """Every frame (background ones left out) until none comes for `quiet` seconds."""
    out: list[dict] = []
    while True:
        try:
            raw = await asyncio.wait_for(socket.recv(), quiet)
        except TimeoutError:
            return out
        out.extend(f for f in unpacked(json.loads(raw)) if f["type"] not in BACKGROUND)


async def send_on(socket: ClientConnection, body: str, client_id: str, **extra: Any) -> dict:
    """Post over the socket; the sender's own copy (matched by `client_id`) is the stored message."""
    await socket.send(json.dumps({"type": "message.send", "body": body, "client_id": client_id, **extra}))
    frame = await next_frame(socket)
    assert frame["type"] == "message" and frame["message"]["client_id"] == client_id, frame
    return frame["message"]


async def close_all(*sockets: ClientConnection) -> None:
    await asyncio.gather(*(socket.close() for socket in sockets))


def database(fn: Any) -> Any:
    return sync_to_async(fn, thread_sensitive=True)


# --- people ------------------------------------------------------------------------------------------


@pytest.fixture
def tokens(make_user, make_topic) -> dict[str, str]:
    make_topic(CHANNEL)
    make_topic(SECURITY, default_tlp="amber", pin_roles=["security_officer", "manager"])
    people = {"ht": make_user("ht.engineer", centre="HT"), "dn": make_user("dn.engineer", centre="DN"),
              "qb": make_user("qb.manager", centre="QB", role="manager"),
              "hue": make_user("hue.engineer", centre="HUE"),
              "dns": make_user("dn.security", centre="DN", role="security_officer"),
              "htm": make_user("ht.manager", centre="HT", role="manager")}
    return {name: token_for(user) for name, user in people.items()}


# --- §1 a direct conversation ----------------------------------------------------------------------


async def test_a_conversation_is_live_once_in_order_across_processes_and_nobody_elses(hubs, tokens):
    from chat.models import Message

    a, b = hubs
    status, started = await call("POST", f"{a.http}/api/v1/conversations", tokens["ht"], {"members": ["dn.engineer"]})
    assert status == 201 and started["kind"] == "direct", started
    slug = started["slug"]
    messages = f"/api/v1/topics/{slug}/messages"

    # To anyone else it does not exist, whichever process they ask.
    for hub in (a, b):
        assert await refused(hub, tokens["hue"], slug) == 4403
        assert (await call("GET", hub.http + messages, tokens["hue"]))[0] == 404
        assert (await call("GET", f"{hub.http}/api/v1/topics/{slug}", tokens["hue"]))[0] == 404
        assert (await call("POST", hub.http + messages, tokens["hue"], {"body": "xen vào"}))[0] == 404

    ht_a = await join(a, tokens["ht"], slug)
    dn_b = await join(b, tokens["dn"], slug)
    try:
        # Twenty messages from A, by socket and by HTTP in turn: B gets each once, in order, as stored.
        posted: list[dict] = []
        for i in range(20):
            if i % 2:
                posted.append(await send_on(ht_a, f"tin riêng {i}", f"s-{i}"))
            else:
                status, body = await call("POST", a.http + messages, tokens["ht"], {"body": f"tin riêng {i}",
                                                                                     "client_id": f"h-{i}"})
                assert status == 201, body
                assert (await next_frame(ht_a))["message"] == body  # the writer's own socket, on A
                posted.append(body)
        received = [f["message"] for f in await next_frames(dn_b, 20)]
        assert [m["id"] for m in received] == [m["id"] for m in posted]
        assert received == posted  # the same wire form, whichever process wrote it
        assert [m["prev_id"] for m in received[1:]] == [m["id"] for m in received[:-1]]  # no gap
        assert await until_quiet(dn_b) == []  # and no duplicate
        stored = await database(lambda: list(Message.objects.filter(topic__slug=slug).order_by("id")
                                             .values_list("id", flat=True)))()
        assert stored == [m["id"] for m in posted]

        # QB is added on B (without the past): both processes' sockets of QB hear what follows, QB's
        # history starts there, and the member on A is told who is in it now.
        status, topic = await call("POST", f"{b.http}/api/v1/topics/{slug}/members", tokens["dn"],
                                   {"usernames": ["qb.manager"]})
        assert status == 200, topic
        members = await next_frame(ht_a)
        assert members["type"] == "members"
        assert [m["username"] for m in members["members"]] == ["ht.engineer", "dn.engineer", "qb.manager"]
        assert (await next_frame(dn_b))["type"] == "members"
        qb_a, qb_b = await join(a, tokens["qb"], slug), await join(b, tokens["qb"], slug)
        welcome = await send_on(dn_b, "Chào QB", "welcome")
        for socket in (qb_a, qb_b, ht_a):
            assert (await next_frame(socket))["message"] == welcome
        status, history = await call("GET", a.http + messages, tokens["qb"])
        assert status == 200 and [m["id"] for m in history["results"]] == [welcome["id"]]

        # QB leaves on A: its sockets on both processes are closed at once (4403), and the message
        # written right after the leave answered never reaches them, even before the close.
        status, left = await call("POST", f"{a.http}/api/v1/topics/{slug}/leave", tokens["qb"])
        assert (status, left) == (200, {"topic": slug, "left": True})
        left_at = time.monotonic()
        status, after = await call("POST", a.http + messages, tokens["ht"], {"body": "sau khi QB rời"})
        assert status == 201
        (code_b, heard_b), (code_a, heard_a) = await asyncio.gather(close_code(qb_b), close_code(qb_a))
        assert (code_b, code_a) == (4403, 4403)
        assert time.monotonic() - left_at < 5
        assert [f for f in heard_a + heard_b if f["type"] not in BACKGROUND] == []
        for socket in (dn_b, ht_a):
            frames = await next_frames(socket, 2)
            assert [f["type"] for f in frames] == ["members", "message"]
            assert [m["username"] for m in frames[0]["members"]] == ["ht.engineer", "dn.engineer"]
            assert frames[1]["message"]["id"] == after["id"]
        assert await refused(b, tokens["qb"], slug) == 4403
        assert (await call("GET", b.http + messages, tokens["qb"]))[0] == 404
    finally:
        await close_all(ht_a, dn_b)


# --- §2 threaded replies ---------------------------------------------------------------------------


async def test_a_threads_replies_and_counts_cross_processes_and_sync_replays_them(hubs, tokens):
    from chat.models import Message

    a, b = hubs
    messages = f"/api/v1/topics/{CHANNEL}/messages"
    status, root = await call("POST", a.http + messages, tokens["ht"], {"body": "Có ai tích hợp VNeID chưa?"})
    assert status == 201
    ht_a = await join(a, tokens["ht"], CHANNEL)
    dn_b = await join(b, tokens["dn"], CHANNEL, "batch=1")  # a reply and its count may come as one batch
    try:
        await dn_b.send(json.dumps({"type": "sync", "after": root["id"]}))  # up to date: the hub's time
        caught_up = await next_frame(dn_b)
        assert (caught_up["type"], caught_up["latest"]) == ("sync.done", root["id"])
        # A reply over the socket on A: on B its frame, then the thread's new count and time.
        reply = await send_on(ht_a, "Hà Tĩnh đang làm", "r-1", reply_to=root["id"])
        assert (reply["reply_to"], reply["thread_root"]) == (root["id"], root["id"])
        first, updated = await next_frames(dn_b, 2)
        assert first == {"type": "message", "message": reply}
        assert updated == {"type": "thread.updated", "topic": CHANNEL, "root": root["id"], "reply_count": 1,
                           "last_reply_at": reply["created_at"]}
        assert (await next_frame(ht_a))["type"] == "thread.updated"

        # A reply to the reply, over HTTP on B: the same thread; A hears it and the count 2.
        status, nested = await call("POST", b.http + messages, tokens["dn"], {"body": "Đà Nẵng xong rồi",
                                                                              "reply_to": reply["id"]})
        assert status == 201 and (nested["reply_to"], nested["thread_root"]) == (reply["id"], root["id"])
        first, updated = await next_frames(ht_a, 2)
        assert first == {"type": "message", "message": nested}
        assert (updated["root"], updated["reply_count"], updated["last_reply_at"]) == (
            root["id"], 2, nested["created_at"])
        assert [f["type"] for f in await next_frames(dn_b, 2)] == ["message", "thread.updated"]
        seen = nested["id"]
        await dn_b.close()

        # While B's client is away, A takes two more replies (one also sent to the channel) and a
        # channel message; back on B, `sync` from the last id it had (and the time of its last sync)
        # replays the root's new count, then exactly those, in order, with their thread fields — and
        # from before the root, the root with its final count.
        missed = [(await call("POST", a.http + messages, tokens["ht"], payload))[1] for payload in (
            {"body": "tài liệu hướng dẫn", "reply_to": root["id"]},
            {"body": "tóm tắt cho cả kênh", "reply_to": nested["id"], "also_channel": True},
            {"body": "chuyện khác"})]
        assert [f["type"] for f in await next_frames(ht_a, 5)] == [  # A's own socket heard them live
            "message", "thread.updated", "message", "thread.updated", "message"]
        dn_b = await join(b, tokens["dn"], CHANNEL)
        await dn_b.send(json.dumps({"type": "sync", "after": seen, "changed_since": caught_up["at"]}))
        changed, *synced, done = await next_frames(dn_b, 5)
        assert (done["type"], done["latest"]) == ("sync.done", missed[-1]["id"])
        assert changed["type"] == "message.updated" and changed["message"]["id"] == root["id"]
        assert (changed["message"]["reply_count"], changed["message"]["last_reply_at"]) == (
            4, missed[1]["created_at"])
        assert [f["message"] for f in synced] == missed
        assert [(m["reply_to"], m["thread_root"], m["also_channel"]) for m in missed] == [
            (root["id"], root["id"], False), (nested["id"], root["id"], True), (None, None, False)]
        await dn_b.send(json.dumps({"type": "sync", "after": root["id"] - 1}))
        *synced, done = await next_frames(dn_b, 7)
        assert (done["type"], done["latest"]) == ("sync.done", missed[-1]["id"])
        whole = [f["message"] for f in synced]
        assert [m["id"] for m in whole] == [root["id"], reply["id"], nested["id"], *(m["id"] for m in missed)]
        assert (whole[0]["reply_count"], whole[0]["last_reply_at"]) == (4, missed[1]["created_at"])
        count, last = await database(lambda: Message.objects.values_list("reply_count", "last_reply_at")
                                     .get(pk=root["id"]))()
        assert count == 4 and last is not None
        assert await until_quiet(dn_b) == []

        # Ten replies at once, half through each process. Every socket gets each reply once, each
        # followed at once by its thread's count: the counts 5…14, each once, each with its own reply's
        # time (the replies lock the root, then the topic: the n-th committed has the n-th id).
        # Which of two replies written through different processes at the same moment comes first
        # is Redis's order, as for any message (docs/chat.md) — so is which count comes last.
        def post(start: threading.Barrier, i: int) -> tuple[int, dict]:
            start.wait()
            return http("POST", (a if i < 5 else b).http + messages, tokens[("ht", "dn", "qb", "hue", "dns")[i % 5]],
                        {"body": f"ý kiến {i}", "reply_to": root["id"]})

        start = threading.Barrier(10)
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(10) as pool:
            posted = await asyncio.gather(*(loop.run_in_executor(pool, post, start, i) for i in range(10)))
        assert [status for status, _ in posted] == [201] * 10
        by_id = sorted((body for _, body in posted), key=lambda m: m["id"])
        expected = {m["id"]: (5 + rank, m["created_at"]) for rank, m in enumerate(by_id)}
        for socket in (ht_a, dn_b):
            frames = await next_frames(socket, 20)
            pairs = list(zip(frames[::2], frames[1::2], strict=True))
            assert all(m["type"] == "message" and m["message"]["thread_root"] == root["id"]
                       and u["type"] == "thread.updated" and u["root"] == root["id"] for m, u in pairs), frames
            assert sorted(m["message"]["id"] for m, _ in pairs) == sorted(expected)  # each once
            assert [(u["reply_count"], u["last_reply_at"]) for m, u in pairs] == [
                expected[m["message"]["id"]] for m, _ in pairs]
            assert await until_quiet(socket) == []
        assert await database(lambda: Message.objects.get(pk=root["id"]).reply_count)() == 14
    finally:
        await close_all(ht_a, dn_b)


# --- §3 reactions ------------------------------------------------------------------------------------


async def test_concurrent_reactions_from_both_processes_leave_every_socket_with_the_databases_counts(
        hubs, tokens, make_user):
    from chat.models import Message
    from chat.selectors import reactions_of

    a, b = hubs
    status, message = await call("POST", f"{a.http}/api/v1/topics/{CHANNEL}/messages", tokens["ht"],
                                 {"body": "Đã vá xong máy chủ thư"})
    assert status == 201
    url = f"/api/v1/topics/{CHANNEL}/messages/{message['id']}/reactions"
    reactors = await database(lambda: [token_for(make_user(f"reactor{i}", centre=("HT", "DN", "QB", "HUE")[i % 4]))
                                       for i in range(10)])()
    # Two sockets on each process, one of each taking batches.
    watchers = [await join(a, tokens["ht"], CHANNEL), await join(a, tokens["dn"], CHANNEL, "batch=1"),
                await join(b, tokens["qb"], CHANNEL), await join(b, tokens["hue"], CHANNEL, "batch=1")]

    async def everyone_sees(expected: list[dict], toggles: int) -> None:
        """Each socket's frames about the message (after the senders are done and the sockets quiet):
        the one with the highest `version` — the state a client keeps, whatever order frames from the
        two processes came in (docs/chat.md, "Order of changes") — is the database's, each state
        once, no more than one per toggle."""
        version = await database(lambda: Message.objects.get(pk=message["id"]).version)()
        for frames in await asyncio.gather(*(until_quiet(socket) for socket in watchers)):
            assert frames, "no reactions frame"
            assert all(f["type"] == "message.reactions" and f["id"] == message["id"] and f["topic"] == CHANNEL
                       for f in frames), frames
            newest = max(frames, key=lambda f: f["version"])
            assert (newest["reactions"], newest["version"]) == (expected, version)
            assert len({f["version"] for f in frames}) == len(frames), frames
            assert len(frames) <= toggles
            assert all(r["count"] == len(r["users"]) for f in frames for r in f["reactions"])

    def toggle(start: threading.Barrier, i: int, emoji: str) -> int:
        """Person i's toggle, sent as soon as all ten are ready; the first half through A."""
        start.wait()
        hub = a if i < len(reactors) // 2 else b
        return http("POST", hub.http + url, reactors[i], {"emoji": emoji})[0]

    try:
        # One toggle over HTTP on A: its frame reaches B.
        status, mine = await call("POST", a.http + url, tokens["dn"], {"emoji": "👍"})
        assert status == 200 and mine["reactions"] == [{"emoji": "👍", "count": 1, "users": ["dn.engineer"]}]
        await everyone_sees(mine["reactions"], 1)

        # Ten people at once, half through each process; then at once again, half of them undoing
        # their 👍 and the other half adding a 🎉.
        pool = ThreadPoolExecutor(len(reactors))
        try:
            for emoji_of in (lambda i: "👍", lambda i: "👍" if i % 2 == 0 else "🎉"):
                start = threading.Barrier(len(reactors))
                loop = asyncio.get_running_loop()
                statuses = await asyncio.gather(*(loop.run_in_executor(pool, toggle, start, i, emoji_of(i))
                                                  for i in range(len(reactors))))
                assert statuses == [200] * len(reactors)
                expected = (await database(reactions_of)([message["id"]]))[message["id"]]
                await everyone_sees(expected, len(reactors))
        finally:
            pool.shutdown()
        odd = [f"reactor{i}" for i in range(1, 10, 2)]
        assert {r["emoji"]: sorted(r["users"]) for r in expected} == {
            "👍": sorted(["dn.engineer", *odd]), "🎉": sorted(odd)}
        status, shown = await call("GET", f"{b.http}/api/v1/topics/{CHANNEL}/messages/{message['id']}", tokens["qb"])
        assert status == 200 and shown["reactions"] == expected
    finally:
        await close_all(*watchers)


# --- §3 pins -----------------------------------------------------------------------------------------


async def test_a_pin_on_one_process_is_live_and_listed_on_the_other_and_only_pin_roles_pin(hubs, tokens):
    a, b = hubs
    status, runbook = await call("POST", f"{a.http}/api/v1/topics/{SECURITY}/messages", tokens["dns"],
                                 {"body": "Quy trình ứng cứu sự cố mã độc"})
    assert status == 201
    pin = f"/api/v1/topics/{SECURITY}/messages/{runbook['id']}/pin"
    pins = f"/api/v1/topics/{SECURITY}/pins"
    ht_b = await join(b, tokens["ht"], SECURITY)
    dns_a = await join(a, tokens["dns"], SECURITY)
    try:
        # An engineer may read the security topic but not pin in it: refused on both processes, and
        # nothing is broadcast.
        for hub in (a, b):
            status, error = await call("POST", hub.http + pin, tokens["ht"])
            assert status == 403, error
        assert await asyncio.gather(until_quiet(ht_b), until_quiet(dns_a)) == [[], []]

        # The security officer pins on A: B's socket hears it, and B's list agrees.
        status, pinned = await call("POST", a.http + pin, tokens["dns"])
        assert status == 200 and pinned["pinned"] is True
        for socket in (ht_b, dns_a):
            frame = await next_frame(socket)
            assert frame["type"] == "message.pinned" and frame["topic"] == SECURITY
            assert (frame["pinned"], frame["message"]["id"], frame["message"]["pinned"],
                    frame["pinned_by"]["username"]) == (True, runbook["id"], True, "dn.security")
        status, listed = await call("GET", b.http + pins, tokens["ht"])
        assert status == 200
        assert [(p["message"]["id"], p["pinned_by"]["username"], p["pinned_at"]) for p in listed["results"]] == [
            (runbook["id"], "dn.security", frame["pinned_at"])]

        # The engineer cannot unpin either; a manager unpins on B and A's socket hears it.
        assert (await call("DELETE", b.http + pin, tokens["ht"]))[0] == 403
        status, unpinned = await call("DELETE", b.http + pin, tokens["htm"])
        assert status == 200 and unpinned["pinned"] is False
        for socket in (dns_a, ht_b):
            frame = await next_frame(socket)
            assert (frame["type"], frame["pinned"], frame["message"]["pinned"], frame["pinned_by"]) == (
                "message.pinned", False, False, None)
        for hub in (a, b):
            assert (await call("GET", hub.http + pins, tokens["dns"]))[1]["results"] == []
        assert await asyncio.gather(until_quiet(ht_b), until_quiet(dns_a)) == [[], []]  # one frame each, no more
    finally:
        await close_all(ht_b, dns_a)
