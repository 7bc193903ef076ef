"""The authorisation matrix (issue 8): every role of an unrelated centre, against every HTTP endpoint,
page, export and WebSocket route that could reveal another centre's ticket, internal comment,
attachment, restricted topic or TLP:AMBER/RED alert. One table; 0 leaks.

HT asks DN for help (ticket with a public and an internal comment and an attachment), HT has a topic
of its own, HT raises a TLP:RED alert shared with DN and a TLP:AMBER alert. QB is unrelated.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.chat.conftest import close_code, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

# Appears in every private item's text. ASCII on purpose: some of the hub's JSON escapes Vietnamese
# letters (\u1ead: Django's encoder in pages; the API writes UTF-8), and a leak check that looked for
# them there would pass vacuously.
SECRET = "bimat-7f3a9"
AMBER_SECRET = "amber-51c2e"  # TLP:AMBER reaches security officers and managers everywhere, not engineers
OUTSIDER_ROLES = ["engineer", "security_officer", "manager"]


@pytest.fixture
def world(make_user, settings, tmp_path):
    from alerts.services import raise_alert
    from chat.services import create_topic, post_message
    from requests.services import add_attachment, add_comment, create_ticket

    settings.MEDIA_ROOT = tmp_path / "media"
    ht_eng = make_user("ht.eng", centre="HT")
    ht_sec = make_user("ht.sec", centre="HT", role="security_officer")
    dn_eng = make_user("dn.eng", centre="DN")
    outsiders = {role: make_user(f"qb.{role}", centre="QB", role=role) for role in OUTSIDER_ROLES}
    create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security")
    ticket = create_ticket(by=ht_eng, title=f"Rà soát {SECRET}", description=SECRET, category="security",
                           target_centre="DN")
    add_comment(ticket, by=ht_eng, body=f"công khai {SECRET}")
    internal = add_comment(ticket, by=dn_eng, body=f"nội bộ {SECRET}", internal=True)
    upload = SimpleUploadedFile("nhat-ky.txt", SECRET.encode(), "text/plain")
    attachment = add_attachment(ticket, by=ht_eng, upload=upload)
    topic = create_topic(slug="ht-noi-bo", name_vi="Nội bộ HT", name_en="HT internal", allowed_centres=["HT"])
    message, _ = post_message(topic, by=ht_eng, body=f"tin {SECRET}")
    red = raise_alert(by=ht_sec, title=f"RED {SECRET}", severity="high", tlp="red", shared_with=["DN"],
                      description=SECRET)
    amber = raise_alert(by=ht_sec, title=f"AMBER {AMBER_SECRET}", severity="medium", tlp="amber",
                        description=AMBER_SECRET)
    return {"ticket": ticket, "internal": internal, "attachment": attachment, "topic": topic, "message": message,
            "red": red, "amber": amber, "outsiders": outsiders, "dn_eng": dn_eng}


def matrix(w) -> list[tuple[str, str, dict | None, set[int]]]:
    """(method, path, JSON body, the statuses an outsider may get). A 200 is only allowed where the
    answer is a list or a page, whose content is then checked for the secret."""
    t, a, topic, m = w["ticket"].id, w["attachment"].id, w["topic"].slug, w["message"].id
    red = w["red"].id
    hidden = {404}
    return [
        ("get", f"/api/v1/tickets/{t}", None, hidden),
        ("get", f"/api/v1/tickets/{w['ticket'].reference}", None, hidden),
        ("patch", f"/api/v1/tickets/{t}", {"title": "x"}, hidden),
        ("post", f"/api/v1/tickets/{t}/transition", {"to": "accepted", "note": ""}, hidden),
        ("post", f"/api/v1/tickets/{t}/comments", {"body": "x", "internal": False}, hidden),
        ("post", f"/api/v1/tickets/{t}/assign", {"username": "dn.eng"}, hidden),
        ("post", f"/api/v1/tickets/{t}/watchers", {"username": "qb.engineer"}, hidden),
        ("get", f"/api/v1/tickets/{t}/attachments/{a}", None, hidden),
        ("get", f"/api/v1/tickets?q={SECRET}", None, {200}),
        ("get", "/api/v1/tickets?centre=HT", None, {200}),
        ("get", f"/api/v1/topics/{topic}", None, {403, 404}),
        ("get", f"/api/v1/topics/{topic}/messages", None, {403, 404}),
        ("post", f"/api/v1/topics/{topic}/messages", {"body": "x", "client_id": "m1"}, {403, 404}),
        ("get", f"/api/v1/topics/{topic}/messages/{m}", None, {403, 404}),
        ("patch", f"/api/v1/topics/{topic}/messages/{m}", {"body": "x"}, {403, 404}),
        ("delete", f"/api/v1/topics/{topic}/messages/{m}", None, {403, 404}),
        ("get", f"/api/v1/topics/{topic}/messages/{m}/revisions", None, {403, 404}),
        ("post", f"/api/v1/topics/{topic}/read", {"up_to": m}, {403, 404}),
        ("get", "/api/v1/topics?kind=all", None, {200}),
        ("get", f"/api/v1/search?q={SECRET}", None, {200}),
        ("get", f"/api/v1/alerts/{red}", None, hidden),
        ("post", f"/api/v1/alerts/{red}/ack", None, hidden),
        ("post", f"/api/v1/alerts/{red}/status", {"to": "closed", "note": ""}, hidden),
        ("get", f"/api/v1/alerts?q={SECRET}", None, {200}),
        ("get", "/api/v1/alerts", None, {200}),
        ("get", f"/tickets/{t}/", None, hidden),
        ("get", f"/alerts/{red}/", None, hidden),
        ("get", f"/topics/{topic}/", None, {403, 404}),
        ("get", "/tickets/export.csv", None, {200}),
        ("get", "/", None, {200}),
    ]


def amber_rows(w) -> list[tuple[str, str, dict | None, set[int]]]:
    """TLP:AMBER reaches security officers and managers of every centre — not engineers."""
    amber = w["amber"].id
    return [
        ("get", f"/api/v1/alerts/{amber}", None, {404}),
        ("post", f"/api/v1/alerts/{amber}/ack", None, {404}),
        ("get", f"/alerts/{amber}/", None, {404}),
    ]


def browse(user) -> Client:
    client = Client()
    client.force_login(user)  # the browser's session; CSRF is tested elsewhere, here who may see what
    client.handler.enforce_csrf_checks = False
    return client


@pytest.mark.parametrize("role", OUTSIDER_ROLES)
def test_an_unrelated_centre_sees_nothing_over_http(world, role):
    outsider = world["outsiders"][role]
    rows = matrix(world) + (amber_rows(world) if role == "engineer" else [])
    secrets = [SECRET, AMBER_SECRET] if role == "engineer" else [SECRET]
    leaks = []
    for method, path, body, allowed in rows:
        client = browse(outsider)
        kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
        response = getattr(client, method)(path, **kwargs)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        if response.status_code not in allowed or any(secret.encode() in content for secret in secrets):
            leaks.append((method, path, response.status_code))
    assert leaks == [], "\n".join(map(str, leaks))


@pytest.mark.parametrize("role", OUTSIDER_ROLES)
def test_an_unrelated_centre_changed_nothing(world, role):
    from alerts.models import Acknowledgement
    from chat.models import Message
    from requests.models import Comment, Ticket

    outsider = world["outsiders"][role]
    for method, path, body, _ in matrix(world):
        kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
        getattr(browse(outsider), method)(path, **kwargs)
    ticket = Ticket.objects.get(pk=world["ticket"].pk)
    assert (ticket.status, ticket.title, ticket.assignee_id) == ("new", world["ticket"].title, None)
    assert not ticket.watchers.filter(pk=outsider.pk).exists()
    assert Comment.objects.filter(ticket=ticket).count() == 2
    assert Message.objects.filter(topic=world["topic"]).count() == 1
    assert Message.objects.get(pk=world["message"].pk).deleted_at is None
    assert not Acknowledgement.objects.filter(alert=world["red"], centre__code="QB").exists()


def test_an_insider_gets_what_the_outsiders_were_refused(world):
    """The matrix is not vacuous: the target centre reaches the ticket, its internal comment and the
    RED alert shared with it through the same addresses."""
    client = browse(world["dn_eng"])
    ticket = client.get(f"/api/v1/tickets/{world['ticket'].id}")
    assert ticket.status_code == 200 and SECRET in ticket.content.decode()
    assert any(c.get("internal") for c in ticket.json()["comments"])
    assert client.get(f"/api/v1/tickets/{world['ticket'].id}/attachments/{world['attachment'].id}").status_code == 200
    assert client.get(f"/api/v1/alerts/{world['red'].id}").status_code == 200


@pytest.mark.parametrize("role", OUTSIDER_ROLES)
async def test_an_unrelated_centre_cannot_open_the_restricted_topic_socket(world, role):
    assert await close_code(world["outsiders"][role], f"/ws/topics/{world['topic'].slug}/") == 4403


@pytest.mark.parametrize("role", OUTSIDER_ROLES)
async def test_the_security_topic_never_shows_an_outsider_the_red_summary(world, role):
    socket = await open_socket(world["outsiders"][role], "/ws/topics/an-toan-thong-tin/")
    await socket.send_json_to({"type": "sync", "after": 0})
    frames = []
    while (frame := await socket.receive_json_from(timeout=3))["type"] != "sync.done":
        frames.append(frame)
    shown = " ".join(str(f) for f in frames)
    assert SECRET not in shown and (role != "engineer" or AMBER_SECRET not in shown)
    assert role == "engineer" or AMBER_SECRET in shown  # the matrix is not vacuous: AMBER does reach them
    await socket.disconnect()
