"""A topic's messages leave the process in commit order (= id order), even when the thread that
committed first is slow to hand its broadcast over (hub.realtime.publisher.published_in_commit_order)."""

import json
import threading
import time

import pytest
from django.db import connection

import hub.realtime.publisher
from chat.models import Topic
from chat.services import post_message
from tests.chat.conftest import SLUG

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_slow_after_commit_hook_is_not_overtaken_by_the_next_message_of_the_topic(people, monkeypatch):
    handed_over: list[str] = []
    first_committed = threading.Event()

    def run_publisher(items):
        body = json.loads(items[0][1])["message"]["body"]
        if body == "trước":
            first_committed.set()
            time.sleep(0.3)  # this thread committed, then waited (for the GIL, say) before handing over
        handed_over.append(body)

    monkeypatch.setattr(hub.realtime.publisher, "_run_publisher", run_publisher)

    def post(body: str) -> None:
        try:
            post_message(Topic.objects.get(slug=SLUG), by=people["ht"], body=body)
        finally:
            connection.close()

    first = threading.Thread(target=post, args=("trước",))
    first.start()
    assert first_committed.wait(5)
    second = threading.Thread(target=post, args=("sau",))  # commits while the first still hands over
    second.start()
    first.join(5)
    second.join(5)

    assert handed_over == ["trước", "sau"]
