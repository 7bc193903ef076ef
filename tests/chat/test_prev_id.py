"""Every message names the one before it in its topic (`prev_id`), so a live client can notice a
message that was stored but never published (its process died between commit and publish)."""

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from chat.models import Topic
from chat.services import post_message
from tests.chat.conftest import next_frame, open_topic

pytestmark = pytest.mark.django_db(transaction=True)

SLUG = "an-toan-thong-tin"


@pytest.fixture
def setting(make_user, make_topic):
    make_topic(SLUG)
    make_topic("phat-trien-phan-mem")
    return make_user("dn.engineer", centre="DN"), make_user("ht.engineer", centre="HT")


def store_without_publishing(topic: Topic, author, body: str):
    """A message committed by a process that then dies before its after-commit publish runs."""
    with transaction.atomic():
        message, _ = post_message(topic, by=author, body=body)
        transaction.get_connection().run_on_commit[:] = []
    return message


def test_prev_id_chains_the_messages_of_one_topic_only(setting):
    author, _ = setting
    security, software = Topic.objects.get(slug=SLUG), Topic.objects.get(slug="phat-trien-phan-mem")
    first, _ = post_message(security, by=author, body="một")
    other, _ = post_message(software, by=author, body="khác chủ đề")
    second, _ = post_message(security, by=author, body="hai")
    assert (first.prev_id, second.prev_id, other.prev_id) == (None, first.id, None)


async def test_a_live_message_reveals_one_that_was_stored_but_never_published(setting):
    author, reader = setting
    socket = await open_topic(reader, SLUG)
    topic = await sync_to_async(Topic.objects.get)(slug=SLUG)
    seen, _ = await sync_to_async(post_message)(topic, by=author, body="đã nhận")
    assert (await next_frame(socket, "message"))["message"]["id"] == seen.id
    lost = await sync_to_async(store_without_publishing)(topic, author, "không được phát")
    after, _ = await sync_to_async(post_message)(topic, by=author, body="sau đó")
    live = (await next_frame(socket, "message"))["message"]
    assert live["id"] == after.id and live["prev_id"] == lost.id != seen.id  # the hole shows
    await socket.send_json_to({"type": "sync", "after": seen.id})  # what the client then does
    assert (await next_frame(socket, "message"))["message"]["id"] == lost.id
    assert (await next_frame(socket, "message"))["message"]["id"] == after.id
    assert (await next_frame(socket, "sync.done"))["type"] == "sync.done"
    await socket.disconnect()
