"""Files and images in chat (docs/chat.md, "Files and images"): posted with a message over HTTP
(multipart), checked by the hub's one upload rule (hub.lib.uploads, shared with request
attachments), stored before the broadcast, carried by the message's wire form on every path (live,
history, sync), and downloaded only by those who may read the message now."""

from __future__ import annotations

import io

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from chat.files import THUMBNAIL_BOX
from chat.frames import MessageFrame
from chat.models import ConversationMember, Message, MessageAttachment, Topic
from chat.services import post_message
from hub.realtime import frame_types
from tests.chat.conftest import next_frame, open_topic

pytestmark = pytest.mark.django_db

SLUG = "an-toan-thong-tin"
FILES = f"/api/v1/topics/{SLUG}/files"


def png(width: int = 1200, height: int = 800) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media_root) -> list:
    return sorted(p for p in media_root.rglob("*") if p.is_file()) if media_root.exists() else []


@pytest.fixture
def world(make_user, make_topic, media_root):
    topic = make_topic(SLUG)
    return {
        "topic": topic,
        "dn": make_user("dn.engineer", centre="DN"),
        "ht": make_user("ht.engineer", centre="HT"),
        "hts": make_user("ht.security", centre="HT", role="security_officer"),
        "qb": make_user("qb.engineer", centre="QB"),
    }


def upload(client, *files, url=FILES, lang="vi", **fields):
    data = {"file": list(files), **fields}
    return client.post(url, data, HTTP_ACCEPT_LANGUAGE=lang)


def image(name="ảnh chụp.png", data=None):
    return SimpleUploadedFile(name, data if data is not None else png(), content_type="image/png")


def text(name="scan.log", data=b"2026-12-06 10.0.0.5 port scan\n"):
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_an_image_is_posted_with_text_stored_and_shown_with_a_thumbnail(world, api_client, media_root):
    response = upload(api_client(world["ht"]), image(), body="Ảnh màn hình **cảnh báo**", client_id="f-1")
    assert response.status_code == 201, response.json()
    message = response.json()
    assert message["body"] == "Ảnh màn hình **cảnh báo**" and message["client_id"] == "f-1"
    (file,) = message["attachments"]
    assert (file["name"], file["content_type"], file["image"], file["width"], file["height"]) == (
        "ảnh chụp.png", "image/png", True, 1200, 800)
    assert file["url"] == f"/api/v1/topics/{SLUG}/files/{file['id']}"
    assert file["thumbnail_url"] == file["url"] + "/thumbnail"
    assert len(stored_files(media_root)) == 2  # the image and its thumbnail, under names of ours
    assert all("ảnh" not in str(p) for p in stored_files(media_root))
    # Another reader of the topic opens the full image (inline: it is a picture the hub could read)…
    full = api_client(world["dn"]).get(file["url"])
    assert full.status_code == 200 and full["Content-Type"] == "image/png"
    assert b"".join(full.streaming_content) == png()
    assert full["Content-Disposition"].startswith("inline;")
    assert full["X-Content-Type-Options"] == "nosniff" and "sandbox" in full["Content-Security-Policy"]
    # … and the thumbnail is a smaller PNG within the box, same proportions.
    thumb = api_client(world["dn"]).get(file["thumbnail_url"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/png"
    small = Image.open(io.BytesIO(b"".join(thumb.streaming_content)))
    assert small.size[0] <= THUMBNAIL_BOX[0] and small.size[1] <= THUMBNAIL_BOX[1]
    assert small.size == (480, 320)


def test_history_and_single_message_carry_the_files_and_a_files_only_message_has_no_text(world, api_client):
    posted = upload(api_client(world["ht"]), text(), text("ghi chú.txt", "dòng một".encode())).json()
    assert posted["body"] == "" and posted["html"] == ""
    assert [(f["name"], f["content_type"], f["image"], f["thumbnail_url"]) for f in posted["attachments"]] == [
        ("scan.log", "text/plain", False, None), ("ghi chú.txt", "text/plain", False, None)]
    history = api_client(world["dn"]).get(f"/api/v1/topics/{SLUG}/messages").json()["results"]
    assert history == [posted]
    one = api_client(world["dn"]).get(f"/api/v1/topics/{SLUG}/messages/{posted['id']}").json()
    assert one["attachments"] == posted["attachments"]
    log = api_client(world["dn"]).get(posted["attachments"][0]["url"])
    assert log.status_code == 200 and log["Content-Type"].startswith("text/plain")
    assert log["Content-Disposition"].startswith("attachment;")  # text is downloaded, never rendered
    assert b"".join(log.streaming_content) == b"2026-12-06 10.0.0.5 port scan\n"


@pytest.mark.django_db(transaction=True)
async def test_the_live_frame_and_sync_carry_the_files_stored_before_the_broadcast(world, api_client):
    socket = await open_topic(world["dn"], SLUG)
    client = await sync_to_async(api_client)(world["ht"])
    response = await sync_to_async(upload)(client, image(), body="xem ảnh")
    assert response.status_code == 201
    frame = await next_frame(socket, "message")
    assert frame["message"] == response.json()
    assert frame_types.problems(frame, MessageFrame) == []  # the attachment's every key, typed
    file_id = frame["message"]["attachments"][0]["id"]
    assert await sync_to_async(MessageAttachment.objects.filter(pk=file_id, message_id=frame["message"]["id"]).exists)()
    await socket.send_json_to({"type": "sync", "after": 0})
    synced = await next_frame(socket, "message")
    assert synced["message"]["attachments"] == frame["message"]["attachments"]
    assert (await next_frame(socket, "sync.done"))["latest"] == frame["message"]["id"]
    await socket.disconnect()


@pytest.mark.parametrize("name, data", [("setup.exe", b"MZ\x90\x00"), ("trang.html", b"<script>x</script>"),
                                        ("hinh.svg", b"<svg/>"), ("khong-duoi", b"abc")])
def test_a_type_outside_the_rule_is_refused_in_the_callers_language_and_nothing_is_stored(
        name, data, world, api_client, media_root):
    vi = upload(api_client(world["ht"]), SimpleUploadedFile(name, data, content_type="image/png"), body="x")
    assert vi.status_code == 400
    error = vi.json()["error"]
    assert error["code"] == "invalid" and error["detail"].startswith("file: ")
    assert "không chấp nhận" in error["detail"]
    en = upload(api_client(world["ht"]), SimpleUploadedFile(name, data), lang="en")
    assert "is not accepted" in en.json()["error"]["detail"]
    assert stored_files(media_root) == [] and Message.objects.count() == 0


def test_the_size_limit_and_file_count_are_the_request_attachments_rule(world, api_client, media_root, settings):
    settings.REQUESTS_ATTACHMENT_MAX_BYTES = 1000
    settings.HUB_CHAT_MAX_FILES = 2
    client = api_client(world["ht"])
    big = upload(client, text("lon.txt", b"x" * 1001))
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    assert "1001" in big.json()["error"]["detail"]
    # Declared far beyond the limit: refused from Content-Length, before the body is read.
    huge = upload(client, text("rat-lon.txt", b"x" * 200_000))
    assert huge.status_code == 413
    empty = upload(client, text("rong.txt", b""))
    assert empty.status_code == 400 and empty.json()["error"]["detail"] == "file: trống."
    many = upload(client, text("a.txt", b"1"), text("b.txt", b"2"), text("c.txt", b"3"))
    assert many.status_code == 400 and "2" in many.json()["error"]["detail"]
    assert upload(client).status_code == 400  # no file at all: the JSON POST is for text
    assert stored_files(media_root) == [] and Message.objects.count() == 0
    assert upload(client, text("vua.txt", b"x" * 1000)).status_code == 201


def test_a_picture_the_hub_cannot_read_is_kept_as_a_plain_download(world, api_client):
    posted = upload(api_client(world["ht"]), image("hong.png", b"not really a png")).json()
    (file,) = posted["attachments"]
    assert file["image"] is False and file["thumbnail_url"] is None and file["width"] is None
    answer = api_client(world["dn"]).get(file["url"])
    assert answer.status_code == 200 and answer["Content-Disposition"].startswith("attachment;")
    assert api_client(world["dn"]).get(file["url"] + "/thumbnail").status_code == 404


def test_a_retried_upload_is_stored_once(world, api_client, media_root):
    client = api_client(world["ht"])
    first = upload(client, text(), body="nhật ký", client_id="same")
    again = upload(client, text(), body="nhật ký", client_id="same")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert len(stored_files(media_root)) == 1 and MessageAttachment.objects.count() == 1


def test_scope_and_marking_of_a_message_with_files_apply_to_its_files(world, api_client):
    posted = upload(api_client(world["ht"]), text(), body="chỉ HT và DN", shared_with='["DN"]', tlp="amber")
    assert posted.status_code == 201, posted.json()
    message = posted.json()
    assert message["shared_with"] == ["DN"] and message["tlp"] == "amber" and message["restricted"]
    url = message["attachments"][0]["url"]
    assert api_client(world["dn"]).get(url).status_code == 200
    outsider = api_client(world["qb"]).get(url)  # QB may read the topic, not this message
    assert outsider.status_code == 404 and outsider.json()["error"]["code"] == "not_found"
    assert api_client(world["qb"]).get(f"/api/v1/topics/{SLUG}/messages").json()["results"] == []
    assert upload(api_client(world["ht"]), text(), tlp="clear").status_code == 400  # looser than the topic
    bad = upload(api_client(world["ht"]), text(), shared_with="[DN")
    assert bad.status_code == 400 and bad.json()["error"]["detail"].startswith("shared_with")


def test_downloads_follow_the_persons_rights_now(world, api_client, make_topic):
    """A restricted topic, a topic someone loses, a conversation someone leaves, a deleted message."""
    restricted = make_topic("doi-ung-cuu", allowed_roles=["security_officer"])
    secret = post_message(restricted, by=world["hts"], body="mẫu mã độc", files=[text("mau.txt", b"IOC")])[0]
    secret_url = f"/api/v1/topics/doi-ung-cuu/files/{secret.files[0]['id']}"
    assert api_client(world["hts"]).get(secret_url).status_code == 200
    assert api_client(world["ht"]).get(secret_url).status_code == 403  # not allowed in the topic
    # The same file id under a topic the person may read is no way round it.
    assert api_client(world["ht"]).get(f"/api/v1/topics/{SLUG}/files/{secret.files[0]['id']}").status_code == 404

    shared = upload(api_client(world["ht"]), text()).json()["attachments"][0]["url"]
    assert api_client(world["dn"]).get(shared).status_code == 200
    world["topic"].allowed_centres.set([world["ht"].centre])  # DN loses the topic
    assert api_client(world["dn"]).get(shared).status_code == 403
    world["topic"].allowed_centres.set([])

    conversation = Topic.objects.create(slug="dm-files", name_vi="HT, DN", name_en="HT, DN", kind=Topic.Kind.DIRECT,
                                        default_tlp="amber")
    for person in (world["ht"], world["dn"]):
        ConversationMember.objects.create(topic=conversation, user=person)
    direct = post_message(conversation, by=world["ht"], body="", files=[image()])[0]
    direct_url = f"/api/v1/topics/dm-files/files/{direct.files[0]['id']}"
    assert api_client(world["dn"]).get(direct_url).status_code == 200
    assert api_client(world["qb"]).get(direct_url).status_code == 404  # not a member: no such conversation
    assert api_client(world["qb"]).get(direct_url + "/thumbnail").status_code == 404
    api_client(world["dn"]).post("/api/v1/topics/dm-files/leave")
    assert api_client(world["dn"]).get(direct_url).status_code == 404  # left: no longer theirs to see

    message_id = int(api_client(world["ht"]).get(f"/api/v1/topics/{SLUG}/messages").json()["results"][-1]["id"])
    deleted = api_client(world["ht"]).delete(f"/api/v1/topics/{SLUG}/messages/{message_id}").json()
    assert deleted["deleted"] is True and deleted["attachments"] == []
    assert api_client(world["ht"]).get(shared).status_code == 404  # gone with its message, for its author too
    world["dn"].is_active = False
    world["dn"].save()
    assert api_client(world["dn"]).get(direct_url).status_code == 401


def test_openapi_documents_the_upload_and_the_attachments(world, api_client):
    schema = api_client(world["dn"]).get("/api/v1/schema").json()
    paths = schema["paths"]
    assert "multipart/form-data" in paths["/api/v1/topics/{slug}/files"]["post"]["requestBody"]["content"]
    assert {"/api/v1/topics/{slug}/files/{file_id}", "/api/v1/topics/{slug}/files/{file_id}/thumbnail"} <= set(paths)
    assert "attachments" in schema["components"]["schemas"]["MessageOut"]["properties"]
    assert "highlight" in schema["components"]["schemas"]["SearchHitOut"]["properties"]


def test_someone_added_to_a_conversation_from_now_on_gets_none_of_its_earlier_files(world, api_client):
    """The conversation history rule (chat.selectors.history_q) holds for files as for text."""
    conversation = Topic.objects.create(slug="dm-truoc", name_vi="HT, DN", name_en="HT, DN", kind=Topic.Kind.DIRECT,
                                        default_tlp="amber")
    for person in (world["ht"], world["dn"]):
        ConversationMember.objects.create(topic=conversation, user=person)
    before = upload(api_client(world["ht"]), text(), url="/api/v1/topics/dm-truoc/files").json()
    added = api_client(world["ht"]).post("/api/v1/topics/dm-truoc/members", {"usernames": ["qb.engineer"]},
                                         content_type="application/json")
    assert added.status_code == 200, added.json()
    after = upload(api_client(world["ht"]), text("sau.txt", b"sau"), url="/api/v1/topics/dm-truoc/files").json()
    qb = api_client(world["qb"])
    assert qb.get(before["attachments"][0]["url"]).status_code == 404
    assert qb.get(after["attachments"][0]["url"]).status_code == 200
    assert api_client(world["dn"]).get(before["attachments"][0]["url"]).status_code == 200
