"""Every write has a per-user limit (issue 20, class 6). The review raised 30 critical alerts in 1.2 s
and posted 30 comments in 0.4 s from one person, all accepted; each alert fanned out to every centre
and posted a summary message that skipped the chat limiter.

One mechanism (hub/lib/ratelimit.py): every unsafe API operation — found in the OpenAPI document, so
an endpoint added later is covered — and every WebSocket frame that is not declared read-only costs a
`write` token; posting text costs `post`, raising an alert `alert`; what an action triggers (an
alert's summary message) costs what it is. 429 with Retry-After, or a `rate_limited` error frame."""

from __future__ import annotations

import json
import re

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from tests.chat.conftest import next_frame, open_topic
from tests.conftest import token_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def officer(make_user):
    from chat.services import create_topic

    user = make_user("ht.security", centre="HT", role="security_officer")
    make_user("dn.engineer", centre="DN")
    create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security")
    return user


def client_of(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token_for(user)}")


def post(client: Client, path: str, body: dict):
    return client.post(path, json.dumps(body), content_type="application/json")


def unsafe_operations() -> list[tuple[str, str]]:
    from hub.api import api

    schema = api.get_openapi_schema()
    return [(method, path) for path, methods in schema["paths"].items() for method in methods
            if method in {"post", "put", "patch", "delete"}]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "an-toan-thong-tin" if "slug" in m.group(0) else "1", path)


def test_every_unsafe_api_operation_is_limited_per_user(officer, make_user, settings):
    """Found in the OpenAPI document: an endpoint added tomorrow is in this list without anyone
    adding it, and limited without anyone remembering to (the API's authentication charges)."""
    settings.HUB_WRITE_LIMIT_BURST = 3
    settings.HUB_WRITE_LIMIT_PER_SECOND = 0.001
    operations = unsafe_operations()
    assert ("post", "/api/v1/alerts") in operations and ("post", "/api/v1/ws-tickets") in operations
    unlimited = []
    for index, (method, path) in enumerate(operations):
        client = client_of(make_user(f"writer{index}", centre="HT", role="security_officer"))
        for _ in range(3):  # the burst, whatever each answers (valid or not)
            getattr(client, method)(concrete(path), data="{}", content_type="application/json")
        response = getattr(client, method)(concrete(path), data="{}", content_type="application/json")
        if response.status_code != 429 or int(response["Retry-After"]) < 1:
            unlimited.append((method, path, response.status_code))
        else:
            assert response.json()["error"]["code"] == "rate_limited"
    assert unlimited == []


@pytest.fixture
def no_refill(settings):
    """Buckets that do not refill during the test (this machine is slow, and shared): what goes
    through is exactly the burst."""
    settings.HUB_ALERT_LIMIT_PER_SECOND = settings.HUB_RATE_LIMIT_PER_SECOND = 0.0001
    return settings


def test_thirty_critical_alerts_in_a_burst_get_five_through(officer, no_refill):
    from alerts.models import Alert
    from chat.models import Message

    client = client_of(officer)
    statuses = [post(client, "/api/v1/alerts", {"title": f"Tấn công {i}", "severity": "critical",
                                                 "tlp": "clear"}).status_code for i in range(30)]
    assert statuses == [201] * 5 + [429] * 25
    assert Alert.objects.count() == 5
    assert Message.objects.count() == 5  # one summary each, none for the refused


def test_a_refused_alert_says_when_to_retry(officer):
    client = client_of(officer)
    for i in range(5):
        post(client, "/api/v1/alerts", {"title": f"a{i}", "severity": "low", "tlp": "clear"})
    refused = post(client, "/api/v1/alerts", {"title": "một nữa", "severity": "low", "tlp": "clear"})
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 11  # 6 a minute: the next token within ten seconds
    assert refused.json()["error"]["code"] == "rate_limited"


def test_thirty_comments_in_a_burst_get_the_post_burst_through(officer, no_refill):
    from requests.models import Comment

    client = client_of(officer)
    ticket = post(client, "/api/v1/tickets", {"title": "Hỏi", "category": "security", "target_centre": "DN"})
    statuses = [post(client, f"/api/v1/tickets/{ticket.json()['id']}/comments", {"body": f"bình luận {i}"}
                     ).status_code for i in range(30)]
    assert statuses == [201] * 20 + [429] * 10
    assert Comment.objects.count() == 20


def test_an_alerts_summary_message_does_not_skip_the_chat_limit(officer, no_refill):
    """The summary is the author's message: with their `post` bucket spent on chat, raising an alert
    is refused, and nothing of it is stored."""
    from alerts.models import Alert
    from chat.models import Message

    client = client_of(officer)
    for i in range(20):
        assert post(client, "/api/v1/topics/an-toan-thong-tin/messages", {"body": f"tin {i}"}).status_code == 201
    refused = post(client, "/api/v1/alerts", {"title": "Khẩn", "severity": "critical", "tlp": "clear"})
    assert refused.status_code == 429 and "Retry-After" in refused
    assert Alert.objects.count() == 0 and Message.objects.count() == 20


def test_importing_stix_and_promoting_a_message_raise_alerts_and_share_their_limit(officer, no_refill):
    """Every way an alert is raised costs an `alert` token: with the burst spent through POST /alerts,
    a STIX import and a promotion to an alert are refused too, and store nothing."""
    from alerts.models import Alert

    client = client_of(officer)
    first = post(client, "/api/v1/alerts", {"title": "a0", "severity": "low", "tlp": "clear"}).json()["id"]
    for i in range(1, 5):
        assert post(client, "/api/v1/alerts", {"title": f"a{i}", "severity": "low", "tlp": "clear"}).status_code == 201
    bundle = client.get(f"/api/v1/alerts/{first}/stix").content
    message = post(client, "/api/v1/topics/an-toan-thong-tin/messages", {"body": "quét cổng từ 203.0.113.7"}).json()
    imported = client.post("/api/v1/alerts/import", bundle, content_type="application/json")
    promoted = post(client, f"/api/v1/topics/an-toan-thong-tin/messages/{message['id']}/promote", {"to": "alert"})
    assert (imported.status_code, promoted.status_code) == (429, 429)
    assert "Retry-After" in imported and "Retry-After" in promoted
    assert Alert.objects.count() == 5


def test_limits_are_per_person_not_global(officer, make_user, no_refill):
    other = client_of(make_user("na.security", centre="NA", role="security_officer"))
    client = client_of(officer)
    for i in range(5):
        post(client, "/api/v1/alerts", {"title": f"a{i}", "severity": "low", "tlp": "clear"})
    assert post(other, "/api/v1/alerts", {"title": "của NA", "severity": "low", "tlp": "clear"}).status_code == 201


def test_scripts_and_workers_acting_for_nobody_are_not_limited(officer):
    """Outside a request or frame (seed_demo, the escalation worker, commands) nothing is charged."""
    from alerts.services import raise_alert

    for i in range(8):
        raise_alert(by=officer, title=f"từ kịch bản {i}", severity="low", tlp="clear")


# --- frames ---------------------------------------------------------------------------------------------

async def test_posting_frames_share_the_persons_post_bucket_with_http(officer, settings):
    settings.HUB_RATE_LIMIT_BURST = 3
    settings.HUB_RATE_LIMIT_PER_SECOND = 0.001
    client = await sync_to_async(client_of)(officer)
    for i in range(2):
        response = await sync_to_async(post)(client, "/api/v1/topics/an-toan-thong-tin/messages", {"body": f"h{i}"})
        assert response.status_code == 201
    socket = await open_topic(officer, "an-toan-thong-tin")
    await socket.send_json_to({"type": "message.send", "body": "thứ ba", "client_id": "c3"})
    assert (await next_frame(socket, "message"))["message"]["body"] == "thứ ba"
    await socket.send_json_to({"type": "message.send", "body": "thứ tư", "client_id": "c4"})
    error = await next_frame(socket, "error", skip=("message",))
    assert error["code"] == "rate_limited" and error["retry_after"] >= 1
    await socket.disconnect()


async def test_every_writing_frame_costs_a_write_token(officer, settings):
    """`read` and `message.delete` write too; `sync`, `typing` and `ping` do not."""
    from chat.models import Message, Topic
    from chat.services import post_message

    settings.HUB_WRITE_LIMIT_BURST = 4
    settings.HUB_WRITE_LIMIT_PER_SECOND = 0.001
    topic = await sync_to_async(Topic.objects.get)(slug="an-toan-thong-tin")
    message, _ = await sync_to_async(post_message)(topic, by=officer, body="để xoá")
    socket = await open_topic(officer, "an-toan-thong-tin")
    for _ in range(5):  # free: reads
        await socket.send_json_to({"type": "sync", "after": 0})
        await next_frame(socket, "sync.done", skip=("message",))
    for _ in range(3):
        await socket.send_json_to({"type": "read", "up_to": message.pk})
        await next_frame(socket, "read")
    await socket.send_json_to({"type": "message.delete", "id": message.pk})
    await next_frame(socket, "message.deleted")
    await socket.send_json_to({"type": "read", "up_to": message.pk})
    assert (await next_frame(socket, "error"))["code"] == "rate_limited"
    assert (await sync_to_async(Message.objects.get)(pk=message.pk)).deleted_at is not None
    await socket.disconnect()


def test_a_new_frame_type_is_limited_unless_declared_read_only():
    """The default is on: every frame type of every consumer either writes nothing (declared) or costs."""
    from chat.consumers import TopicConsumer
    from hub.realtime.consumers import HubConsumer
    from hub.realtime.notifications import NotificationsConsumer

    assert HubConsumer.unlimited_types == frozenset({"ping"})
    for consumer in (TopicConsumer, NotificationsConsumer):
        types = {name.removeprefix("handle_").replace("_", ".") for name in dir(consumer)
                 if name.startswith("handle_")}
        limited = types - consumer.unlimited_types
        assert types and limited <= types
        assert consumer.unlimited_types <= {"ping", "sync", "typing"}, consumer  # reads only
