"""The seeded topics of the mission brief, and the demo conversation, are created once."""

import pytest

from chat import demo
from chat.models import Message, Topic
from hub import demo as hub_demo

pytestmark = pytest.mark.django_db

SLUGS = ["an-toan-thong-tin", "dao-tao-chung-chi", "phat-trien-phan-mem", "su-kien-hoi-thao", "tu-van-du-an"]


def test_seed_creates_the_five_topics_in_both_languages_idempotently(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    hub_demo.seed()
    demo.seed()
    demo.seed()
    topics = Topic.objects.filter(kind=Topic.Kind.CHANNEL).order_by("slug")
    assert [t.slug for t in topics] == SLUGS
    for topic in topics:
        assert topic.name_vi and topic.name_en and topic.description and topic.description_en
    assert Topic.objects.get(slug="an-toan-thong-tin").name_vi == "Sự cố an toàn thông tin"
    assert not Message.objects.exists()


def test_history_is_added_once_with_mentions_rendered(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    hub_demo.seed()
    demo.seed(history=True)
    count = Message.objects.count()
    demo.seed(history=True)
    # The channels' history (with its thread replies) and the one direct conversation, once.
    assert Message.objects.count() == count == len(demo.HISTORY) + len(demo.DIRECT[1])
    assert set(Message.objects.filter(topic__kind="channel").values_list("topic__slug", flat=True)) == set(SLUGS)
    assert Message.objects.filter(topic__kind="direct").count() == len(demo.DIRECT[1])
    assert Message.objects.filter(html__contains='class="mention"').count() >= 3
