"""A request promoted from a conversation (chat.promotion) quotes each message only to whoever may
read that message now; one that quotes their text (its description) is never widened past their
readers nor marked looser than their TLP later (a watcher, a TLP, a redirect: refused), one that
does not may widen without the quote widening with it; its history and webhooks carry no quote."""

import pytest

from chat.services import post_message
from tests.chat.conftest import make_topic  # noqa: F401
from tests.chat.test_promotion import crew, promote  # noqa: F401

pytestmark = pytest.mark.django_db
SECRET = "Chỉ HT và DN: máy chủ 10.9.8.7 đã bị chiếm quyền, mật khẩu quản trị lộ."
JSON = "application/json"


def test_a_request_quoting_a_message_is_never_widened_past_its_readers(crew, api_client, make_user):  # noqa: F811
    from requests.models import Ticket, TicketEvent

    topic, p = crew
    secret, _ = post_message(topic, by=p["dn"], body=SECRET, shared_with=["HT", "DN"])
    response = promote(api_client(p["ht"]), secret, to="ticket", target_centre="DN", title="Hỗ trợ")
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["ticket"]["id"])
    assert SECRET in ticket.description and ticket.tlp == "amber"
    events = TicketEvent.objects.filter(ticket=ticket).count()
    client = api_client(p["ht"])
    # A watcher from another centre: refused (403, naming them), not added.
    added = client.post(f"/api/v1/tickets/{ticket.pk}/watchers", {"username": "qb.engineer"}, content_type=JSON,
                        HTTP_ACCEPT_LANGUAGE="en")
    assert added.status_code == 403 and "qb.engineer" in added.json()["error"]["detail"], added.content
    assert not ticket.watchers.filter(username="qb.engineer").exists()
    # Redirected to a centre the message excludes, or to "any centre": refused.
    for target in ("QB", None):
        moved = client.patch(f"/api/v1/tickets/{ticket.pk}", {"target_centre": target}, content_type=JSON)
        assert moved.status_code == 403, (target, moved.content)
    assert api_client(p["qb"]).get(f"/api/v1/tickets/{ticket.pk}").status_code == 404
    # A watcher of the message's centres: allowed; and from AMBER+STRICT back to AMBER with them.
    make_user("dn.engineer", centre="DN")
    assert client.post(f"/api/v1/tickets/{ticket.pk}/watchers", {"username": "dn.engineer"},
                       content_type=JSON).status_code in (200, 201)
    assert client.patch(f"/api/v1/tickets/{ticket.pk}", {"tlp": "amber+strict"}, content_type=JSON).status_code == 200
    assert client.patch(f"/api/v1/tickets/{ticket.pk}", {"tlp": "amber"}, content_type=JSON).status_code == 200
    ticket.refresh_from_db()
    assert ticket.target_centre is not None and ticket.target_centre.code == "DN" and ticket.tlp == "amber"
    assert TicketEvent.objects.filter(ticket=ticket).count() == events + 3


def test_a_request_quoting_a_red_message_is_never_marked_looser(crew, api_client):  # noqa: F811
    from requests.models import Ticket

    topic, p = crew
    red, _ = post_message(topic, by=p["dn"], body=SECRET, tlp="red", shared_with=["HT"])
    response = promote(api_client(p["ht"]), red, to="ticket", target_centre="DN", title="Hỗ trợ")
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["ticket"]["id"])
    assert ticket.tlp == "red"
    loosened = api_client(p["ht"]).patch(f"/api/v1/tickets/{ticket.pk}", {"tlp": "amber"}, content_type=JSON,
                                         HTTP_ACCEPT_LANGUAGE="en")
    assert loosened.status_code == 400 and loosened.json()["error"]["fields"] == ["tlp"], loosened.content
    assert "TLP:RED" in loosened.json()["error"]["detail"]
    assert Ticket.objects.get(pk=ticket.pk).tlp == "red"


def test_a_watcher_added_later_sees_a_placeholder_not_the_message_they_may_not_read(crew, api_client):  # noqa: F811
    """Promoted without its text (not bound): the watcher added later sees where it came from, not the
    message."""
    topic, p = crew
    secret, _ = post_message(topic, by=p["dn"], body=SECRET, shared_with=["HT", "DN"])
    response = promote(api_client(p["ht"]), secret, to="ticket", target_centre="DN", title="Hỗ trợ",
                       description="Xem tin nhắn được trích dẫn.", quote=False)
    assert response.status_code == 201, response.content
    ticket = response.json()["ticket"]
    assert ticket["promoted_from"]["messages"][0]["centre"] == "DN"  # the promoter sees where it came from
    added = api_client(p["ht"]).post(f"/api/v1/tickets/{ticket['id']}/watchers", {"username": "qb.engineer"},
                                     content_type=JSON)
    assert added.status_code in (200, 201), added.content
    assert api_client(p["qb"]).get(f"/api/v1/topics/{topic.slug}/messages/{secret.pk}").status_code == 404
    seen = api_client(p["qb"]).get(f"/api/v1/tickets/{ticket['id']}", HTTP_ACCEPT_LANGUAGE="en")
    assert seen.status_code == 200
    origin = seen.json()["promoted_from"]
    assert origin["messages"] == [{"id": secret.pk, "readable": False, "placeholder": "a message you may not read"}]
    assert SECRET not in seen.content.decode() and "Trần Văn Đà" not in seen.content.decode()
    # DN, the message's other centre, still reads who wrote it and where (the text was left out).
    dn = api_client(p["dn"]).get(f"/api/v1/tickets/{ticket['id']}").json()["promoted_from"]
    assert dn["messages"][0]["author"]["username"] == "dn.security" and "body" not in dn["messages"][0]
    assert dn["topic"]["slug"] == topic.slug


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
