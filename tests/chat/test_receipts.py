"""Read receipts in a topic (chat/receipts.py): who read a message, by centre, from the read
markers; names only under the limit; the author and people outside the message's audience never
count; a person who stops sharing is not counted and sees nobody's; a `receipt` frame on the topic."""

from __future__ import annotations

import pytest

from chat.receipts import receipts_for, set_sharing
from chat.services import create_topic, mark_topic_read, post_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return {name: make_user(name, centre=name.split(".")[0].upper(), display_name=name.title())
            for name in ("ht.eng", "dn.a", "dn.b", "dn.c", "hue.a")}


@pytest.fixture
def topic(db):
    return create_topic(slug="phat-trien-phan-mem", name_vi="Phát triển phần mềm", name_en="Software")


def read_all(topic, people, *names):
    for name in names:
        mark_topic_read(topic, by=people[name], up_to=10**6)


def test_readers_are_counted_by_centre_with_names(people, topic):
    message, _new = post_message(topic, by=people["ht.eng"], body="Chào cả nhà", client_id="c1")
    read_all(topic, people, "ht.eng", "dn.a", "dn.b", "hue.a")
    found = receipts_for(topic, viewer=people["dn.c"], ids=[message.pk])
    assert found == {message.pk: {"total": 3, "centres": [
        {"centre": "DN", "count": 2, "people": ["Dn.A", "Dn.B"]},
        {"centre": "HUE", "count": 1, "people": ["Hue.A"]}]}}  # the author is not a reader


def test_a_later_message_is_not_read_by_an_earlier_marker(people, topic):
    first, _new = post_message(topic, by=people["ht.eng"], body="Một", client_id="c1")
    read_all(topic, people, "dn.a")
    second, _new = post_message(topic, by=people["ht.eng"], body="Hai", client_id="c2")
    found = receipts_for(topic, viewer=people["dn.b"], ids=[first.pk, second.pk])
    assert found[first.pk]["total"] == 1 and found[second.pk]["total"] == 0


def test_who_does_not_share_is_not_counted_and_sees_nobody(people, topic):
    message, _new = post_message(topic, by=people["ht.eng"], body="Chào", client_id="c1")
    read_all(topic, people, "dn.a", "dn.b")
    set_sharing(people["dn.b"], share=False)
    assert receipts_for(topic, viewer=people["dn.b"], ids=[message.pk]) == {}
    assert receipts_for(topic, viewer=people["hue.a"], ids=[message.pk])[message.pk]["total"] == 1
    set_sharing(people["dn.b"], share=True)
    assert receipts_for(topic, viewer=people["hue.a"], ids=[message.pk])[message.pk]["total"] == 2


def test_beyond_the_limit_only_counts_are_shown(people, topic, settings):
    settings.HUB_RECEIPTS_MAX_NAMES = 2
    message, _new = post_message(topic, by=people["ht.eng"], body="Chào", client_id="c1")
    read_all(topic, people, "dn.a", "dn.b", "hue.a")
    found = receipts_for(topic, viewer=people["dn.c"], ids=[message.pk])[message.pk]
    assert found == {"total": 3, "centres": [{"centre": "DN", "count": 2}, {"centre": "HUE", "count": 1}]}


def test_only_the_newest_messages_carry_receipts(people, topic, settings):
    settings.HUB_RECEIPTS_RECENT = 2
    old, *_rest = [post_message(topic, by=people["ht.eng"], body=f"m{i}", client_id=f"c{i}")[0] for i in range(3)]
    read_all(topic, people, "dn.a")
    assert old.pk not in receipts_for(topic, viewer=people["dn.b"], ids=[old.pk])


def test_a_restricted_message_counts_only_readers_it_allows(people, topic):
    message, _new = post_message(topic, by=people["ht.eng"], body="Chỉ DN", client_id="c1", tlp="amber",
                           shared_with=["DN"])
    read_all(topic, people, "dn.a", "hue.a")
    found = receipts_for(topic, viewer=people["dn.b"], ids=[message.pk])[message.pk]
    assert [c["centre"] for c in found["centres"]] == ["DN"]


def test_the_api_and_the_sharing_switch(people, topic, api_client):
    message, _new = post_message(topic, by=people["ht.eng"], body="Chào", client_id="c1")
    read_all(topic, people, "dn.a")
    client = api_client(people["hue.a"])
    answer = client.get(f"/api/v1/topics/{topic.slug}/receipts?ids={message.pk}").json()
    assert answer == {"sharing": True, "results": [
        {"id": message.pk, "total": 1, "centres": [{"centre": "DN", "count": 1, "people": ["Dn.A"]}]}]}
    assert client.put("/api/v1/me/read-receipts", {"share": False}, content_type="application/json").json() == {
        "share": False}
    assert client.get(f"/api/v1/topics/{topic.slug}/receipts?ids={message.pk}").json() == {
        "sharing": False, "results": []}
    assert client.get(f"/api/v1/topics/{topic.slug}/receipts?ids=1,x").status_code == 400
