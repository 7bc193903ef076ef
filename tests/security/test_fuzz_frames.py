"""Frame fuzzing (hypothesis): whatever a client sends, the server never crashes, never changes
anything for an invalid frame, and answers with the contract's error frame; the socket stays usable."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.asgi import application
from hub.models import WsTicket

pytestmark = pytest.mark.django_db(transaction=True)

ERROR_CODES = {"invalid", "too_large", "rate_limited", "forbidden"}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
known_types = st.sampled_from(["message.send", "sync", "typing", "read", "ping", "message.edit", "message.delete"])
mistyped_frames = st.fixed_dictionaries(
    {"type": known_types},
    optional={"body": json_values, "client_id": json_values, "after": json_values, "up_to": json_values,
              "id": json_values},
)
raw_frames = st.one_of(
    st.text(max_size=200),  # mostly not JSON
    json_values.map(json.dumps),  # JSON, mostly not an object
    mistyped_frames.map(json.dumps),
    st.integers(min_value=1, max_value=5000).map(lambda depth: "[" * depth + "]" * depth),  # deep nesting
    st.just("x" * 70_000),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=5),
)


async def exchange(user, frames: list[str]) -> list[dict]:
    ticket = await sync_to_async(WsTicket.issue)(user)
    socket = WebsocketCommunicator(application, f"/ws/notifications/?ticket={ticket}")
    connected, _ = await socket.connect()
    assert connected
    await socket.receive_json_from(timeout=3)
    replies = []
    for frame in frames:
        await socket.send_input({"type": "websocket.receive", "text": frame})
        replies.append(await socket.receive_json_from(timeout=3))
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from(timeout=3)) == {"type": "pong"}
    await socket.disconnect()
    return replies


@pytest.fixture
def fuzz_user(make_user, settings):
    settings.HUB_ABUSE_CLOSE_AFTER = 10**6
    return make_user("fuzzer", centre="HT")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(raw_frames, min_size=1, max_size=15))
def test_notifications_socket_survives_any_frame(fuzz_user, frames):
    replies = asyncio.run(exchange(fuzz_user, frames))
    for frame, reply in zip(frames, replies, strict=True):
        if reply.get("type") == "pong":
            assert json.loads(frame)["type"] == "ping"
        else:
            assert reply["type"] == "error" and reply["code"] in ERROR_CODES, (frame[:80], reply)
            assert isinstance(reply["detail"], str) and reply["detail"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=5))
def test_binary_frames_are_refused_with_an_error_frame(fuzz_user, payloads):
    async def run() -> list[dict]:
        ticket = await sync_to_async(WsTicket.issue)(fuzz_user)
        socket = WebsocketCommunicator(application, f"/ws/notifications/?ticket={ticket}")
        await socket.connect()
        await socket.receive_json_from(timeout=3)
        replies = []
        for payload in payloads:
            await socket.send_input({"type": "websocket.receive", "bytes": payload})
            replies.append(await socket.receive_json_from(timeout=3))
        await socket.disconnect()
        return replies

    for reply in asyncio.run(run()):
        assert reply["type"] == "error" and reply["code"] == "invalid"


# --- the topic socket: frames that are invalid by construction -----------------------------------------

not_a_string = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.lists(st.integers(),
                                                                                                   max_size=3)
not_a_count = (st.none() | st.booleans() | st.integers(max_value=-1) | st.floats(allow_nan=False)
               | st.text(max_size=5) | st.lists(st.integers(), max_size=2))
invalid_topic_frames = st.one_of(
    st.text(max_size=200).filter(lambda t: not t.strip().startswith(("{", "["))),
    json_values.filter(lambda v: not isinstance(v, dict)).map(json.dumps),
    st.fixed_dictionaries({"type": st.text(max_size=20).filter(
        lambda t: t not in {"message.send", "sync", "typing", "read", "message.edit", "message.delete"})},
        optional={"body": json_values}).map(json.dumps),
    st.fixed_dictionaries({"type": st.just("message.send"), "body": not_a_string | st.just("")}).map(json.dumps),
    st.fixed_dictionaries({"type": st.just("message.send"), "body": st.just("x" * 17_000)}).map(json.dumps),
    st.fixed_dictionaries({"type": st.sampled_from(["read"]), "up_to": not_a_count}).map(json.dumps),
    st.fixed_dictionaries({"type": st.just("sync"), "after": not_a_count.filter(lambda v: v is not None)})
    .map(json.dumps),
    st.fixed_dictionaries({"type": st.sampled_from(["message.edit", "message.delete"]), "id": not_a_count,
                           "body": st.text(min_size=1, max_size=5)}).map(json.dumps),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(invalid_topic_frames, min_size=1, max_size=12))
def test_topic_socket_answers_every_invalid_frame_with_an_error_and_stores_nothing(fuzz_user, frames):
    from chat.models import Message
    from chat.services import create_topic

    create_topic(slug="fuzz", name_vi="Thử nghiệm", name_en="Fuzz")
    before = Message.objects.count()

    async def run() -> list[dict]:
        ticket = await sync_to_async(WsTicket.issue)(fuzz_user)
        socket = WebsocketCommunicator(application, f"/ws/topics/fuzz/?ticket={ticket}")
        connected, _ = await socket.connect()
        assert connected
        replies = []
        for frame in frames:
            await socket.send_input({"type": "websocket.receive", "text": frame})
            while True:  # presence frames may interleave; the answer is the next error frame
                reply = await socket.receive_json_from(timeout=3)
                if reply["type"] == "error":
                    replies.append(reply)
                    break
                assert reply["type"] == "presence", (frame[:80], reply)
        await socket.disconnect()
        return replies

    for frame, reply in zip(frames, asyncio.run(run()), strict=True):
        assert reply["code"] in ERROR_CODES and reply["detail"], (frame[:80], reply)
    assert Message.objects.count() == before
