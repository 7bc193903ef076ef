"""Every message carries a TLP — its topic's default or tighter, never looser — and may name the
centres that read it (`shared_with`): their people and the author's, whatever their role, whom the
topic allows. Over HTTP and the socket alike; bad markings change nothing."""

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message
from chat.services import post_message
from tests.chat.conftest import next_frame, nothing_but_background, open_topic

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(make_user, make_topic):
    topic = make_topic("an-toan-thong-tin", default_tlp="amber")
    return topic, make_user("ht.engineer", centre="HT"), make_user("dn.engineer", centre="DN"), make_user(
        "qb.manager", centre="QB", role="manager")


def post(client, slug, **payload):
    return client.post(f"/api/v1/topics/{slug}/messages", payload, content_type="application/json")


def test_a_message_takes_its_topics_default_or_something_tighter(room, api_client):
    topic, ht, _dn, _qb = room
    client = api_client(ht)
    assert post(client, topic.slug, body="mặc định").json()["tlp"] == "amber"
    assert post(client, topic.slug, body="chặt hơn", tlp="amber+strict").json()["tlp"] == "amber+strict"
    assert post(client, topic.slug, body="đỏ", tlp="RED").json()["tlp"] == "red"
    for bad in ("green", "clear", "white", 3):
        response = post(client, topic.slug, body="lỏng hơn", tlp=bad)
        assert response.status_code == 400 and response.json()["error"]["fields"] == ["tlp"], bad
    assert Message.objects.count() == 3
    listed = api_client(ht).get("/api/v1/topics").json()["results"]
    assert listed[0]["default_tlp"] == "amber"


def test_a_shared_message_is_read_by_the_named_centres_and_the_authors_only(room, api_client):
    topic, ht, dn, qb = room
    response = post(api_client(ht), topic.slug, body="chỉ HT và DN: bimat-42", shared_with=["dn"])
    assert response.status_code == 201, response.content
    assert response.json()["shared_with"] == ["DN"] and response.json()["restricted"] is True
    for user, sees in ((ht, True), (dn, True), (qb, False)):
        client = api_client(user)
        history = client.get(f"/api/v1/topics/{topic.slug}/messages").json()["results"]
        found = client.get("/api/v1/search", {"q": "bimat-42"}).json()["results"]
        unread = client.get("/api/v1/topics").json()["results"][0]["unread"]
        assert (len(history), len(found)) == ((1, 1) if sees else (0, 0)), user.username
        assert unread == (1 if sees and user != ht else 0), user.username


@pytest.mark.parametrize("shared_with", ["QB", ["XX"], [""], {"a": 1}])
def test_a_bad_scope_is_a_400_naming_the_field(room, api_client, shared_with):
    topic, ht, _dn, _qb = room
    response = post(api_client(ht), topic.slug, body="x", shared_with=shared_with)
    assert response.status_code == 400 and response.json()["error"]["fields"][0].startswith("shared_with")
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_over_the_socket_a_scoped_message_never_reaches_another_centre(room):
    topic, ht, dn, qb = room
    sockets = {name: await open_topic(user, topic.slug) for name, user in (("ht", ht), ("dn", dn), ("qb", qb))}
    try:
        await sockets["ht"].send_json_to({"type": "message.send", "body": "riêng HT–DN", "client_id": "c1",
                                          "tlp": "red", "shared_with": ["DN"]})
        for name in ("ht", "dn"):
            message = (await next_frame(sockets[name], "message"))["message"]
            assert (message["tlp"], message["shared_with"]) == ("red", ["DN"])
        assert await nothing_but_background(sockets["qb"], timeout=0.5)
        # Sync does not carry it to QB either.
        await sockets["qb"].send_json_to({"type": "sync", "after": 0})
        assert (await next_frame(sockets["qb"], "message", "sync.done"))["type"] == "sync.done"
        # A marking looser than the topic's is an error frame, and nothing is stored.
        await sockets["ht"].send_json_to({"type": "message.send", "body": "x", "client_id": "c2", "tlp": "clear"})
        error = await next_frame(sockets["ht"], "error")
        assert error["code"] == "invalid" and "tlp" in error["detail"]
        assert await sync_to_async(Message.objects.count)() == 1
    finally:
        for socket in sockets.values():
            await socket.disconnect()


def test_mentions_outside_the_scope_notify_nobody(room):
    from chat.selectors import message_visible

    topic, ht, dn, qb = room
    message, _ = post_message(topic, by=ht, body="@qb.manager @dn.engineer xem giúp", shared_with=["DN"])
    assert message_visible(dn, message) and not message_visible(qb, message)
