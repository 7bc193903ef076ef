"""A threaded reply's and a mention's in-hub notifications, as rows: one per person their channel and
their level for the topic let through, with that channel, the verb, the author and the message,
nothing else set. Who and on which channel is read in one statement (notify.services.
mention_channels: the people, their levels and their channels together, ids padded to a power of
two) and the rows are written on PostgreSQL by one INSERT … SELECT over arrays
(`_insert_notifications`), elsewhere by bulk_create: this test holds both to the same rows
(docs/benchmarks.md, "Issue 26")."""

import pytest

from chat.services import create_topic, post_message
from notify.models import Channel, Kind, Notification, Preference, TopicLevel, TopicSetting

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(make_user):
    """A channel with a thread whose root's author and five repliers (three centres, five people
    to notify: not a power of two) took part, and a reply about to be posted by a seventh."""
    topic = create_topic(slug="phat-trien-phan-mem", name_vi="Phát triển phần mềm", name_en="Software")
    people = [make_user(f"{code.lower()}.eng{i}", centre=code) for i, code in enumerate(["HT", "DN", "QB"] * 3)]
    root = post_message(topic, by=people[0], body="Có ai tích hợp VNeID chưa?")[0]
    for person in people[1:6]:
        post_message(topic, by=person, body="tham gia", reply_to=root.pk)
    return {"topic": topic, "root": root, "people": people}


def test_a_reply_notifies_each_participant_on_the_channel_they_chose(thread):
    topic, root, people = thread["topic"], thread["root"], thread["people"]
    Preference.objects.create(user=people[1], kind=Kind.MENTION, channel=Channel.DIGEST)
    Preference.objects.create(user=people[2], kind=Kind.MENTION, channel=Channel.OFF)  # no row
    TopicSetting.objects.create(user=people[3], topic=topic, level=TopicLevel.MUTE)  # no row
    TopicSetting.objects.create(user=people[4], topic=topic, level=TopicLevel.MENTIONS)  # a reply is to them
    people[5].is_active = False
    people[5].save(update_fields=["is_active"])  # no row
    reply = post_message(topic, by=people[6], body="Đã tích hợp xong.", reply_to=root.pk)[0]
    rows = list(Notification.objects.filter(message=reply).order_by("id"))
    # Engineers' default for mentions is email; people[1] chose the digest.
    assert [(r.user_id, r.channel) for r in rows] == [
        (people[0].pk, Channel.EMAIL), (people[1].pk, Channel.DIGEST), (people[4].pk, Channel.EMAIL)]
    for row in rows:
        assert (row.type, row.verb, row.actor_id, row.message_id) == (
            Notification.Type.MENTION, "reply", people[6].pk, reply.pk)
        assert row.alert_id is None and row.ticket_id is None and row.email_id is None and row.seen_at is None
        assert row.created_at is not None


def test_a_mention_lets_a_mentions_only_follower_through_only_when_named(thread):
    topic, people = thread["topic"], thread["people"]  # centres cycle HT, DN, QB: QB's are 2, 5 and 8
    TopicSetting.objects.create(user=people[7], topic=topic, level=TopicLevel.MENTIONS)
    TopicSetting.objects.create(user=people[8], topic=topic, level=TopicLevel.MENTIONS)
    Preference.objects.create(user=people[7], kind=Kind.MENTION, channel=Channel.HUB)
    message = post_message(topic, by=people[0], body=f"@{people[7].username} @QB xem giúp")[0]
    rows = list(Notification.objects.filter(message=message).order_by("id"))
    # people[7] named (in the hub only, their choice); QB through its code, except people[8], who
    # follows the topic for mentions only and was not named.
    assert [(r.user_id, r.channel) for r in rows] == [
        (people[2].pk, Channel.EMAIL), (people[5].pk, Channel.EMAIL), (people[7].pk, Channel.HUB)]
    for row in rows:
        assert (row.type, row.verb, row.actor_id) == (Notification.Type.MENTION, "mention", people[0].pk)
