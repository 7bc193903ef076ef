"""A request promoted from a conversation (chat.promotion) quotes each message only to whoever may
read that message now: its readers may widen later (a watcher added, a centre accepting an "any
centre" request) without the quote widening with them; its history and webhooks carry no quote."""

import pytest

from chat.services import post_message
from tests.chat.conftest import make_topic  # noqa: F401
from tests.chat.test_promotion import crew, promote  # noqa: F401

pytestmark = pytest.mark.django_db
SECRET = "Chỉ HT và DN: máy chủ 10.9.8.7 đã bị chiếm quyền, mật khẩu quản trị lộ."
JSON = "application/json"


def test_a_watcher_added_later_sees_a_placeholder_not_the_message_they_may_not_read(crew, api_client):  # noqa: F811
    topic, p = crew
    secret, _ = post_message(topic, by=p["dn"], body=SECRET, shared_with=["HT", "DN"])
    response = promote(api_client(p["ht"]), secret, to="ticket", target_centre="DN", title="Hỗ trợ",
                       description="Xem tin nhắn được trích dẫn.")
    assert response.status_code == 201, response.content
    ticket = response.json()["ticket"]
    assert ticket["promoted_from"]["messages"][0]["body"] == SECRET  # the promoter reads it
    added = api_client(p["ht"]).post(f"/api/v1/tickets/{ticket['id']}/watchers", {"username": "qb.engineer"},
                                     content_type=JSON)
    assert added.status_code in (200, 201), added.content
    assert api_client(p["qb"]).get(f"/api/v1/topics/{topic.slug}/messages/{secret.pk}").status_code == 404
    seen = api_client(p["qb"]).get(f"/api/v1/tickets/{ticket['id']}", HTTP_ACCEPT_LANGUAGE="en")
    assert seen.status_code == 200
    origin = seen.json()["promoted_from"]
    assert origin["messages"] == [{"id": secret.pk, "readable": False, "placeholder": "a message you may not read"}]
    assert SECRET not in seen.content.decode() and "Trần Văn Đà" not in seen.content.decode()
    # DN, the message's other centre, still reads it quoted.
    dn = api_client(p["dn"]).get(f"/api/v1/tickets/{ticket['id']}").json()["promoted_from"]
    assert dn["messages"][0]["body"] == SECRET and dn["topic"]["slug"] == topic.slug


def test_the_created_event_and_its_webhook_name_the_messages_not_their_text(crew, api_client, make_user):  # noqa: F811
    from notify.models import Webhook, WebhookDelivery
    from notify.webhooks import payload
    from requests.models import Ticket, TicketEvent

    topic, p = crew
    scan, _ = post_message(topic, by=p["dn"], body=SECRET)
    dnm = make_user("dn.manager", centre="DN", role="manager")
    hook = Webhook.objects.create(centre=dnm.centre, created_by=dnm, url="https://siem.dn.example/h",
                                  events=["ticket"], max_tlp="amber")
    response = promote(api_client(p["ht"]), scan, to="ticket", target_centre="DN", title="Hỗ trợ", description="x")
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["ticket"]["id"])
    created = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.CREATED)
    assert isinstance(created.after, dict) and SECRET not in str(created.after)
    assert created.after["promoted_from"]["messages"] == [{"id": scan.pk}]
    history = api_client(p["ht"]).get(f"/api/v1/tickets/{ticket.pk}").json()["history"]
    assert SECRET not in str(history)
    body = payload(WebhookDelivery.objects.create(webhook=hook, event="ticket.created", ticket=ticket,
                                                  ticket_event=created))
    assert body["data"]["change"]["after"]["promoted_from"]["messages"] == [{"id": scan.pk}]
    assert SECRET not in str(body)
