"""The API speaks one dialect (issue 21 §3): a field the endpoint does not take is refused with a 400
naming it; every timestamp — answers and frames alike — is `YYYY-MM-DDTHH:MM:SS.mmmZ`; a person is
named `username` in request bodies; answers are as complete as the detail they summarise."""

import re
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message
from tests.alerts.conftest import listen, next_alert_frame
from tests.chat.conftest import next_frame, open_topic
from tests.factories import TopicFactory, staff

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
JSON = "application/json"


@pytest.fixture
def hub_people(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    TopicFactory(slug="phat-trien-phan-mem")
    return {"ht": staff("ht.engineer"), "hts": staff("ht.security"), "dn": staff("dn.engineer"),
            "dnm": staff("dn.manager")}


@pytest.mark.parametrize("path, body, field", [
    ("/api/v1/topics/phat-trien-phan-mem/messages", {"body": "có tệp", "attachments": [1]}, "attachments"),
    ("/api/v1/tickets", {"title": "Nhờ hỗ trợ", "category": "other", "due": "mai"}, "due"),
    ("/api/v1/alerts", {"title": "Dò quét", "severity": "low", "tlp": "clear",
                        "indicators": [{"type": "ipv4", "value": "203.0.113.7", "colour": "đỏ"}]},
     "indicators.0.colour"),
])
def test_unknown_fields_are_refused_naming_them(hub_people, api_client, path, body, field):
    client = api_client(hub_people["hts"])
    response = client.post(path, body, content_type=JSON, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["fields"] == [field]
    assert error["detail"] == f"{field}: unknown field; this endpoint does not take it."
    assert not Message.objects.exists()


def test_unknown_fields_are_declared_in_the_schema(client, db):
    schemas = client.get("/api/v1/schema").json()["components"]["schemas"]
    for name in ("MessageIn", "TicketIn", "AlertIn", "IndicatorIn", "TransitionIn", "AssignIn", "WatcherIn"):
        assert schemas[name]["additionalProperties"] is False, name


@pytest.mark.django_db(transaction=True)
async def test_a_message_has_one_timestamp_format_over_http_and_on_the_socket(hub_people, api_client):
    socket = await open_topic(hub_people["dn"], "phat-trien-phan-mem")
    client = await sync_to_async(api_client)(hub_people["ht"])
    response = await sync_to_async(client.post)("/api/v1/topics/phat-trien-phan-mem/messages",
                                                 {"body": "giờ chuẩn"}, content_type=JSON)
    answer = response.json()
    frame = (await next_frame(socket, "message"))["message"]
    assert TIMESTAMP.match(answer["created_at"]) and frame["created_at"] == answer["created_at"]
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_tickets_and_alerts_have_the_same_timestamp_format_in_answers_and_frames(hub_people, api_client):
    dn = await listen(hub_people["dnm"])
    client = await sync_to_async(api_client)(hub_people["ht"])
    created = (await sync_to_async(client.post)("/api/v1/tickets", {
        "title": "Nhờ rà soát", "category": "security", "target_centre": "DN"}, content_type=JSON)).json()
    frame = await dn.receive_json_from(timeout=5)
    while frame["type"] != "ticket":
        frame = await dn.receive_json_from(timeout=5)
    for key in ("created_at", "updated_at", "due_at"):
        assert TIMESTAMP.match(created[key]) and frame["ticket"][key] == created[key], key
    assert all(TIMESTAMP.match(e["created_at"]) for e in created["history"])

    officer = await sync_to_async(api_client)(hub_people["hts"])
    alert = (await sync_to_async(officer.post)("/api/v1/alerts", {
        "title": "Dò quét", "severity": "low", "tlp": "clear"}, content_type=JSON)).json()
    alert_frame = await next_alert_frame(dn)
    assert TIMESTAMP.match(alert["created_at"]) and alert_frame["alert"]["created_at"] == alert["created_at"]
    assert all(TIMESTAMP.match(e["at"]) for e in alert["history"])
    await dn.disconnect()


def test_assign_names_the_person_username_and_still_takes_assignee(hub_people, api_client):
    from requests.services import create_ticket, transition_ticket

    ticket = create_ticket(by=hub_people["ht"], title="Nhờ hỗ trợ", category="other", target_centre="DN")
    transition_ticket(ticket, by=hub_people["dnm"], to="accepted")
    client = api_client(hub_people["dnm"])
    url = f"/api/v1/tickets/{ticket.pk}/assign"
    assert client.post(url, {"username": "dn.engineer"}, content_type=JSON).json()["assignee"]["username"] == \
        "dn.engineer"
    assert client.post(url, {"assignee": "dn.manager"}, content_type=JSON).json()["assignee"]["username"] == \
        "dn.manager"  # the former name, kept for scripts written against it
    for body in ({}, {"username": "dn.engineer", "assignee": "dn.manager"}):
        refused = client.post(url, body, content_type=JSON)
        assert refused.status_code == 400 and refused.json()["error"]["fields"] == ["username"], body


def test_an_acknowledgement_answer_is_the_details_row(hub_people, api_client):
    from alerts.services import raise_alert

    alert = raise_alert(by=hub_people["hts"], title="Dò quét", severity="low", tlp="clear")
    client = api_client(hub_people["dnm"])
    answer = client.post(f"/api/v1/alerts/{alert.pk}/ack").json()
    row = next(r for r in client.get(f"/api/v1/alerts/{alert.pk}").json()["acknowledgements"] if r["centre"] == "DN")
    assert answer["acknowledgement"] == row and row["centre_name"] and row["status"] == "acknowledged"


def test_every_schema_has_a_name_of_its_own():
    """ninja names OpenAPI components after the classes: two apps' `EventOut` (or `PersonOut`) would
    leave one in the document and answers held to the other's schema (schemathesis found alert
    history events "lacking" the tickets' `id`)."""
    import inspect
    from importlib import import_module
    from importlib.util import find_spec

    from django.apps import apps
    from ninja import Schema

    # Every app's API module, not a list to keep up to date (events' and chat's files once collided).
    root = Path(__file__).resolve().parents[2]
    names = ["hub.lib.api_support"] + [f"{app.name}.api" for app in apps.get_app_configs()
                                       if Path(app.path).parent == root and find_spec(f"{app.name}.api")]
    assert {"hub.api", "chat.api", "alerts.api", "requests.api", "events.api", "duty.api"} <= set(names)
    seen: dict[str, str] = {}
    for name in names:
        module = import_module(name)
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Schema) and cls.__module__ == name:
                assert cls_name not in seen, f"{cls_name} in both {seen[cls_name]} and {name}"
                seen[cls_name] = name
