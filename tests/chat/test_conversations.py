"""Direct and group conversations (issue 26 §1): a topic of kind `direct` that only its members see —
on every read path, hub admins included — which members may add to and leave, never remove others."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command

from chat.models import ConversationExport, ConversationMember, Topic
from chat.services import add_members, leave_conversation, post_message, start_conversation
from tests.chat.conftest import close_code, next_frame, nothing_but_background, open_topic

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/json"


def start(api_client, who, *members):
    return api_client(who).post("/api/v1/conversations", {"members": list(members)}, content_type=JSON)


def test_starting_a_conversation_answers_a_direct_topic_that_only_its_members_see(cast, api_client):
    response = start(api_client, cast["ht"], "dn.engineer")
    assert response.status_code == 201, response.content
    topic = response.json()
    assert topic["kind"] == "direct" and topic["slug"].startswith("dm-")
    assert sorted(m["username"] for m in topic["members"]) == ["dn.engineer", "ht.engineer"]
    slug = topic["slug"]
    post_message(Topic.objects.get(slug=slug), by=cast["dn"], body="Chào anh, hỏi riêng chút @ht.engineer")

    for member in ("ht", "dn"):
        client = api_client(cast[member])
        assert client.get(f"/api/v1/topics/{slug}/messages").status_code == 200
        listed = client.get("/api/v1/topics", {"kind": "direct"}).json()["results"]
        assert [t["slug"] for t in listed] == [slug]
        assert [m["topic"] for m in client.get("/api/v1/search", {"q": "hoi rieng"}).json()["results"]] == [slug]
    assert api_client(cast["ht"]).get("/api/v1/topics", {"kind": "direct"}).json()["results"][0]["unread"] == 1

    for outsider in ("qb", "admin"):  # a hub admin is no exception
        client = api_client(cast[outsider])
        # To anyone else a conversation does not exist (CONTRACT.md: "4403 / 404 to anyone else").
        assert client.get(f"/api/v1/topics/{slug}").status_code == 404
        assert client.get(f"/api/v1/topics/{slug}/messages").status_code == 404
        assert client.post(f"/api/v1/topics/{slug}/messages", {"body": "xen vào"}, content_type=JSON
                           ).status_code == 404
        assert client.get("/api/v1/topics", {"kind": "all"}).json()["results"] == []
        assert client.get("/api/v1/search", {"q": "hoi rieng"}).json()["results"] == []
    cast["admin"].is_staff = cast["admin"].is_superuser = True
    cast["admin"].save()
    browser = api_client(cast["admin"])
    browser.force_login(cast["admin"])
    assert browser.get(f"/topics/{slug}/").status_code == 404
    for page in ("/admin/chat/topic/", "/admin/chat/message/", "/admin/chat/message/?q=rieng"):
        answer = browser.get(page)
        assert answer.status_code == 200 and slug not in answer.content.decode(), page
        assert "hỏi riêng" not in answer.content.decode()
    message = Topic.objects.get(slug=slug).messages.get()
    assert browser.get(f"/admin/chat/message/{message.pk}/change/").status_code == 302  # not there: back to the list


def test_the_same_people_get_the_same_conversation_and_the_limit_holds(cast, api_client, settings):
    first = start(api_client, cast["ht"], "dn.engineer").json()["slug"]
    assert start(api_client, cast["dn"], "ht.engineer").json()["slug"] == first  # 1:1 is one conversation
    group = start(api_client, cast["ht"], "dn.engineer", "qb.manager").json()["slug"]
    assert group != first
    settings.HUB_CONVERSATION_MAX_MEMBERS = 3
    too_many = start(api_client, cast["ht"], "dn.engineer", "qb.manager", "hue.engineer")
    assert too_many.status_code == 400 and too_many.json()["error"]["fields"] == ["members"]
    assert start(api_client, cast["ht"], "nobody").status_code == 400
    assert start(api_client, cast["ht"], "ht.engineer").status_code == 400  # only oneself
    for unfit in ("dn.engineer\x00", "\ud800", "x" * 151):  # refused as text, never by the database (503)
        refused = start(api_client, cast["ht"], unfit)
        assert refused.status_code == 400 and refused.json()["error"]["fields"] == ["members"]
    added = api_client(cast["dn"]).post(f"/api/v1/topics/{group}/members", {"usernames": ["hue.engineer"]},
                                        content_type=JSON)
    assert added.status_code == 400  # would make four


def test_members_add_people_and_leave_but_never_remove_others(cast, api_client):
    slug = start(api_client, cast["ht"], "dn.engineer").json()["slug"]
    topic = Topic.objects.get(slug=slug)
    post_message(topic, by=cast["ht"], body="lịch sử trước khi QB vào")
    outsider = api_client(cast["qb"]).post(f"/api/v1/topics/{slug}/members", {"usernames": ["qb.manager"]},
                                           content_type=JSON)
    assert outsider.status_code == 404
    added = api_client(cast["dn"]).post(f"/api/v1/topics/{slug}/members",
                                        {"usernames": ["qb.manager"], "history": True}, content_type=JSON)
    assert added.status_code == 200
    assert sorted(m["username"] for m in added.json()["members"]) == ["dn.engineer", "ht.engineer", "qb.manager"]
    history = api_client(cast["qb"]).get(f"/api/v1/topics/{slug}/messages").json()["results"]
    # Added with the history (the adder's choice; without it: tests/chat/test_conversation_history.py).
    assert [m["body"] for m in history] == ["lịch sử trước khi QB vào"]

    assert api_client(cast["dn"]).post(f"/api/v1/topics/{slug}/leave").json() == {"topic": slug, "left": True}
    assert api_client(cast["dn"]).get(f"/api/v1/topics/{slug}/messages").status_code == 404
    assert set(ConversationMember.objects.filter(topic=topic).values_list("user__username", flat=True)) == {
        "ht.engineer", "qb.manager"}
    # There is no way to remove someone else: the only membership writes are add and leave.
    assert api_client(cast["ht"]).delete(f"/api/v1/topics/{slug}/members").status_code in (404, 405)


async def test_live_typing_sync_and_access_of_a_conversation(cast):
    topic, _ = await sync_to_async(start_conversation)(by=cast["ht"], members=["dn.engineer", "qb.manager"])
    assert await close_code(cast["admin"], f"/ws/topics/{topic.slug}/") == 4403
    assert await close_code(cast["hue"], f"/ws/topics/{topic.slug}/") == 4403
    ht = await open_topic(cast["ht"], topic.slug)
    dn = await open_topic(cast["dn"], topic.slug)
    qb = await open_topic(cast["qb"], topic.slug)
    try:
        await ht.send_json_to({"type": "message.send", "body": "Ba trung tâm, một cuộc trao đổi", "client_id": "x1"})
        first = (await next_frame(dn, "message"))["message"]
        assert first["topic"] == topic.slug
        await next_frame(qb, "message")
        await ht.send_json_to({"type": "typing"})
        assert (await next_frame(dn, "typing"))["user"]["username"] == "ht.engineer"
        await dn.send_json_to({"type": "sync", "after": 0})
        synced = await next_frame(dn, "message")
        assert synced["message"]["id"] == first["id"]
        await next_frame(dn, "sync.done")

        # QB leaves: its socket is closed at once (a control event), and it hears nothing more.
        await sync_to_async(leave_conversation)(topic, by=cast["qb"])
        members = await next_frame(ht, "members", skip=("message",))
        assert sorted(m["username"] for m in members["members"]) == ["dn.engineer", "ht.engineer"]
        output = None
        for _ in range(10):
            output = await qb.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                break
        assert output is not None and output["type"] == "websocket.close" and output["code"] == 4403
        await sync_to_async(post_message)(topic, by=cast["ht"], body="sau khi QB rời")
        await next_frame(dn, "message", skip=("members",))
    finally:
        for socket in (ht, dn, qb):
            await socket.disconnect()


async def test_a_member_added_later_joins_live(cast):
    topic, _ = await sync_to_async(start_conversation)(by=cast["ht"], members=["dn.engineer"])
    ht = await open_topic(cast["ht"], topic.slug)
    try:
        await sync_to_async(add_members)(topic, by=cast["ht"], usernames=["hue.engineer"])
        assert [m["username"] for m in (await next_frame(ht, "members"))["members"]] == [
            "ht.engineer", "dn.engineer", "hue.engineer"]
        hue = await open_topic(cast["hue"], topic.slug)
        await sync_to_async(post_message)(topic, by=cast["ht"], body="chào Huế")
        assert (await next_frame(hue, "message"))["message"]["body"] == "chào Huế"
        assert await nothing_but_background(hue)
        await hue.disconnect()
    finally:
        await ht.disconnect()


def test_mentions_in_a_conversation_reach_only_members(cast):
    from notify.models import Notification

    topic, _ = start_conversation(by=cast["ht"], members=["dn.engineer"])
    post_message(topic, by=cast["ht"], body="@dn.engineer @qb.manager @admin xem giúp")
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"dn.engineer"}


def test_webhooks_and_reports_never_carry_a_conversation(cast, api_client, settings):
    from django.utils import timezone

    from reports.selectors import message_counts

    topic, _ = start_conversation(by=cast["ht"], members=["dn.engineer", "qb.manager"])
    post_message(topic, by=cast["ht"], body="riêng tư")
    # Not even a member who manages their centre's webhooks can send a conversation out through one.
    settings.HUB_WEBHOOK_ALLOW_PRIVATE = True
    hook = api_client(cast["qb"]).post("/api/v1/webhooks", {
        "url": "http://127.0.0.1:9/hook", "events": ["message"], "topics": [topic.slug],
        "secret": "a-long-enough-secret-for-hmac"}, content_type=JSON)
    assert hook.status_code == 400 and hook.json()["error"]["fields"] == ["topics"]
    now = timezone.now()
    for user in (cast["admin"], cast["ht"], None):
        topics, counts = message_counts(user, now.replace(year=now.year - 1), now.replace(year=now.year + 1))
        assert topic.pk not in {t.pk for t in topics} and not any(k[0] == topic.pk for k in counts)


def test_a_hub_admin_exports_a_conversation_only_with_an_audit_record(cast, tmp_path):
    topic, _ = start_conversation(by=cast["ht"], members=["dn.engineer"])
    post_message(topic, by=cast["ht"], body="cần lưu hồ sơ")
    out = tmp_path / "export.json"
    with pytest.raises(CommandError):
        call_command("export_conversation", topic.slug, by="ht.engineer", reason="tò mò", output=str(out))
    assert not ConversationExport.objects.exists()
    call_command("export_conversation", topic.slug, by="admin", reason="Yêu cầu thanh tra số 12", output=str(out))
    data = json.loads(out.read_text())
    assert [m["body"] for m in data["messages"]] == ["cần lưu hồ sơ"]
    record = ConversationExport.objects.get()
    assert (record.exported_by.username, record.reason, record.messages) == ("admin", "Yêu cầu thanh tra số 12", 1)
    import hashlib

    assert record.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()


def test_the_people_picker_finds_active_people_of_any_centre_but_not_the_caller(cast, api_client):
    client = api_client(cast["ht"])
    assert [p["username"] for p in client.get("/api/v1/conversations/people", {"q": "DN"}).json()["results"]] == [
        "dn.engineer"]
    everyone = {p["username"] for p in client.get("/api/v1/conversations/people").json()["results"]}
    assert "ht.engineer" not in everyone and {"dn.engineer", "qb.manager", "hue.engineer"} <= everyone
    cast["dn"].is_active = False
    cast["dn"].save()
    assert client.get("/api/v1/conversations/people", {"q": "dn.eng"}).json()["results"] == []
