"""Who reads a conversation's past (docs/chat.md, "Who reads the history"): someone added to a direct
conversation reads only what is written from then on unless the person adding them chose to show
the earlier messages — on every read path (history, one message, sync, search, threads, reactions,
pins, unread counts, read receipts, notifications, live frames), through the one rule
`chat.selectors.history_q` / `reads_history`; a hub admin's audited export stays whole."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from chat.models import ConversationMember, Message, Topic
from chat.receipts import receipts_for
from chat.selectors import message_visible, visible_messages
from chat.services import (
    add_members,
    edit_message,
    export_conversation,
    mark_topic_read,
    post_message,
    set_pinned,
    start_conversation,
    toggle_reaction,
)
from hub.errors import HubError
from tests.chat.conftest import next_frame, nothing_but_background, open_topic

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/json"


@pytest.fixture
def story(cast):
    """HT and DN talk; then QB is added without the earlier messages; then the talk goes on."""
    topic, _ = start_conversation(by=cast["ht"], members=["dn.engineer"])
    old = {
        "root": post_message(topic, by=cast["ht"], body="chuyện cũ: máy chủ thư bị lộ mật khẩu")[0],
        "plain": post_message(topic, by=cast["dn"], body="chuyện cũ thứ hai")[0],
    }
    old["reply"] = post_message(topic, by=cast["dn"], body="trả lời cũ trong luồng", reply_to=old["root"].pk)[0]
    toggle_reaction(old["plain"], by=cast["ht"], emoji="👍")
    set_pinned(old["plain"], by=cast["ht"], pinned=True)
    add_members(topic, by=cast["dn"], usernames=["qb.manager"])
    new = {"plain": post_message(topic, by=cast["ht"], body="chuyện mới sau khi QB vào")[0]}
    # A later reply in a thread that began before QB came: anchored in the past, so QB does not read it.
    new["late"] = post_message(topic, by=cast["dn"], body="chuyện cũ tiếp @qb.manager", reply_to=old["root"].pk)[0]
    new["root"] = post_message(topic, by=cast["qb"], body="chuyện mới: câu hỏi của QB")[0]
    new["reply"] = post_message(topic, by=cast["ht"], body="trả lời mới", reply_to=new["root"].pk)[0]
    set_pinned(new["plain"], by=cast["ht"], pinned=True)
    return {"topic": Topic.objects.get(pk=topic.pk), "old": old, "new": new}


def ids(rows) -> list[int]:
    return [m["id"] for m in rows]


def test_by_default_a_newcomer_reads_only_what_came_after_them_on_every_http_path(cast, story, api_client):
    topic, old, new = story["topic"], story["old"], story["new"]
    slug = topic.slug
    qb = api_client(cast["qb"])
    cut = ConversationMember.objects.get(topic=topic, user=cast["qb"]).history_after
    assert cut == old["reply"].pk  # the newest message when QB was added

    # History (the channel), one message, a thread.
    assert ids(qb.get(f"/api/v1/topics/{slug}/messages").json()["results"]) == [new["plain"].pk, new["root"].pk]
    assert ids(qb.get(f"/api/v1/topics/{slug}/messages", {"before": new["root"].pk}).json()["results"]) == [
        new["plain"].pk]
    for message in (old["root"], old["plain"], old["reply"], new["late"]):
        assert qb.get(f"/api/v1/topics/{slug}/messages/{message.pk}").status_code == 404
    assert qb.get(f"/api/v1/topics/{slug}/messages", {"thread": old["root"].pk}).status_code == 404
    assert ids(qb.get(f"/api/v1/topics/{slug}/messages", {"thread": new["root"].pk}).json()["results"]) == [
        new["reply"].pk]
    # Search finds only the new part.
    assert ids(qb.get("/api/v1/search", {"q": "chuyen"}).json()["results"]) == [new["root"].pk, new["plain"].pk]
    # Threads: only the one QB can open.
    assert [t["root"]["id"] for t in qb.get(f"/api/v1/topics/{slug}/threads").json()["results"]] == [new["root"].pk]
    # Pins: the old pin is not listed.
    assert [p["message"]["id"] for p in qb.get(f"/api/v1/topics/{slug}/pins").json()["results"]] == [new["plain"].pk]
    # Reactions and pins on an old message: as if it did not exist.
    assert qb.post(f"/api/v1/topics/{slug}/messages/{old['plain'].pk}/reactions", {"emoji": "🎉"},
                   content_type=JSON).status_code == 404
    assert qb.post(f"/api/v1/topics/{slug}/messages/{old['plain'].pk}/pin").status_code == 404
    assert qb.post(f"/api/v1/topics/{slug}/messages", {"body": "xen vào luồng cũ", "reply_to": old["root"].pk},
                   content_type=JSON).status_code == 404
    # Unread counts: only what QB may read, and not QB's own (the new root).
    listed = qb.get("/api/v1/topics", {"kind": "direct"}).json()["results"]
    assert [(t["slug"], t["unread"], t["history_after"]) for t in listed] == [(slug, 1, cut)]
    # The members who were there read everything, as before.
    dn = api_client(cast["dn"])
    assert ids(dn.get(f"/api/v1/topics/{slug}/messages").json()["results"]) == [
        old["root"].pk, old["plain"].pk, new["plain"].pk, new["root"].pk]
    assert dn.get("/api/v1/topics", {"kind": "direct"}).json()["results"][0]["history_after"] == 0


def test_notifications_receipts_and_the_rule_agree_for_every_member_and_message(cast, story):
    from notify.models import Notification
    from notify.selectors import inbox

    topic, old, new = story["topic"], story["old"], story["new"]
    # The late reply in the old thread mentioned QB: QB may not read it, so QB was not notified.
    assert not Notification.objects.filter(user=cast["qb"], message=new["late"]).exists()
    assert all(n.message_id not in {m.pk for m in old.values()} | {new["late"].pk} for n in inbox(cast["qb"]))
    # Read receipts: QB's marker passes the old messages, but QB has not read what it cannot read; and
    # QB asking for the old messages' receipts learns nothing about them.
    mark_topic_read(topic, by=cast["qb"], up_to=new["reply"].pk)
    mark_topic_read(topic, by=cast["dn"], up_to=new["reply"].pk)
    seen = receipts_for(topic, viewer=cast["dn"], ids=[old["root"].pk, new["plain"].pk])
    assert [c["centre"] for c in seen[old["root"].pk]["centres"]] == ["DN"]
    assert sorted(str(c["centre"]) for c in seen[new["plain"].pk]["centres"]) == ["DN", "QB"]
    assert set(receipts_for(topic, viewer=cast["qb"], ids=[old["root"].pk, new["plain"].pk])) == {new["plain"].pk}
    # The rule over one message (message_visible) and over querysets (visible_messages) agree.
    everything = list(Message.objects.filter(topic=topic).select_related("topic"))
    for who in ("ht", "dn", "qb"):
        listed = set(visible_messages(cast[who], topic).values_list("pk", flat=True))
        for message in everything:
            assert message_visible(cast[who], message) == (message.pk in listed), (who, message.body)
        fresh = [Message.objects.get(pk=m.pk) for m in everything]  # topic not loaded: the rule asks
        assert {m.pk for m in fresh if message_visible(cast[who], m)} == listed


def test_showing_the_history_is_the_adders_choice_and_never_more_than_they_read(cast, story, api_client):
    topic, old, new = story["topic"], story["old"], story["new"]
    slug = topic.slug
    # DN (who reads everything) adds Huế with the history: Huế reads it all.
    added = api_client(cast["dn"]).post(f"/api/v1/topics/{slug}/members",
                                        {"usernames": ["hue.engineer"], "history": True}, content_type=JSON)
    assert added.status_code == 200 and added.json()["history_after"] == 0  # the adder's own view
    hue = api_client(cast["hue"])
    assert ids(hue.get(f"/api/v1/topics/{slug}/messages", {"thread": old["root"].pk}).json()["results"]) == [
        old["reply"].pk, new["late"].pk]
    # QB (who came later) adds Cần Thơ "with the history": only as much as QB reads.
    api_client(cast["qb"]).post(f"/api/v1/topics/{slug}/members", {"usernames": ["ct.engineer"], "history": True},
                                content_type=JSON)
    assert ConversationMember.objects.get(topic=topic, user=cast["ct"]).history_after == old["reply"].pk
    assert ids(api_client(cast["ct"]).get(f"/api/v1/topics/{slug}/messages").json()["results"]) == [
        new["plain"].pk, new["root"].pk]
    bad = api_client(cast["dn"]).post(f"/api/v1/topics/{slug}/members", {"usernames": ["admin"], "history": "perhaps"},
                                      content_type=JSON)
    assert bad.status_code == 400
    with pytest.raises(HubError) as refused:
        add_members(topic, by=cast["dn"], usernames=["admin"], history="yes")
    assert refused.value.fields == ["history"]


def test_the_admins_audited_export_is_whole_and_says_what_each_member_reads(cast, story):
    data, record = export_conversation(story["topic"], by=cast["admin"], reason="Thanh tra số 7")
    assert record.messages == len(data["messages"]) == Message.objects.filter(topic=story["topic"]).count()
    cuts = {m["username"]: m["history_after"] for m in data["members"]}
    assert cuts == {"ht.engineer": 0, "dn.engineer": 0, "qb.manager": story["old"]["reply"].pk}


async def test_sync_and_live_frames_keep_the_past_from_a_newcomer(cast):
    topic, _ = await sync_to_async(start_conversation)(by=cast["ht"], members=["dn.engineer"])
    old = (await sync_to_async(post_message)(topic, by=cast["ht"], body="trước khi QB vào"))[0]
    await sync_to_async(add_members)(topic, by=cast["ht"], usernames=["qb.manager"])
    qb = await open_topic(cast["qb"], topic.slug)
    dn = await open_topic(cast["dn"], topic.slug)
    try:
        # sync from 0 gives only what came after QB was added.
        await qb.send_json_to({"type": "sync", "after": 0})
        done = await next_frame(qb, "sync.done")
        assert done["latest"] == 0
        # What happens to the old message — an edit, a reaction, a pin, a reply in its thread — reaches
        # DN's socket and never QB's.
        await sync_to_async(edit_message)(old, by=cast["ht"], body="trước khi QB vào (sửa)")
        await sync_to_async(toggle_reaction)(old, by=cast["dn"], emoji="👀")
        await sync_to_async(set_pinned)(old, by=cast["dn"], pinned=True)
        await sync_to_async(post_message)(topic, by=cast["dn"], body="luồng cũ", reply_to=old.pk)
        for kind in ("message.updated", "message.reactions", "message.pinned", "message", "thread.updated"):
            await next_frame(dn, kind, skip=("members",))
        assert await nothing_but_background(qb, timeout=0.5)
        # Something new reaches both.
        fresh = (await sync_to_async(post_message)(topic, by=cast["ht"], body="sau khi QB vào"))[0]
        assert (await next_frame(qb, "message"))["message"]["id"] == fresh.pk
        await qb.send_json_to({"type": "sync", "after": 0})
        assert (await next_frame(qb, "message"))["message"]["id"] == fresh.pk
        assert (await next_frame(qb, "sync.done"))["latest"] == fresh.pk
    finally:
        await qb.disconnect()
        await dn.disconnect()
