"""Bad input is a clear 4xx that changes nothing, never a 500 (issue 20, class 7): the inputs the
review got a 500 (or a 503) with, and their class — cursors of the wrong type on every keyset list,
lone surrogates and control characters in every text field the API writes, bodies over the limit,
free-text queries over the cap."""

from __future__ import annotations

import base64
import json

import pytest

pytestmark = pytest.mark.django_db


def cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.fixture
def officer(make_user, api_client):
    from chat.services import create_topic

    create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security")
    user = make_user("ht.security", centre="HT", role="security_officer")
    make_user("dn.engineer", centre="DN")
    return api_client(user)


BAD_CURSORS = [
    [{"a": 1}, 5], ["not-a-date", 5], [None, 5], ["2026-12-06T10:00:00+07:00", "5"],
    ["2026-12-06T10:00:00+07:00", 2**70], ["2026-12-06T10:00:00+07:00", True], [[1], [2]], "x" * 2000,
]


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/alerts", "/api/v1/tickets?sort=-priority",
                                  "/api/v1/tickets?sort=due_at"])
@pytest.mark.parametrize("values", BAD_CURSORS)
def test_a_cursor_of_the_wrong_type_is_a_400(officer, path, values):
    raw = values if isinstance(values, str) else cursor(values)
    response = officer.get(path, {"cursor": raw})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"


def test_a_cursor_the_server_gave_still_works(officer):
    from hub.models import User
    from requests.services import create_ticket

    user = User.objects.get(username="ht.security")
    for i in range(3):
        create_ticket(by=user, title=f"Yêu cầu {i}", category="security", target_centre="DN")
    first = officer.get("/api/v1/tickets", {"limit": 2}).json()
    second = officer.get("/api/v1/tickets", {"limit": 2, "cursor": first["next"]})
    assert second.status_code == 200 and len(second.json()["results"]) == 1


BAD_TEXT = ["\ud800", "a\x00b", "ti\x07tle", "\udfff tail"]


def _ticket(officer) -> int:
    response = officer.post("/api/v1/tickets", {"title": "Hỏi", "category": "security", "target_centre": "DN"},
                            content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _counts() -> dict[str, int]:
    from alerts.models import Alert
    from chat.models import Message
    from requests.models import Comment, Ticket, TicketEvent

    return {m.__name__: m.objects.count() for m in (Alert, Message, Comment, Ticket, TicketEvent)}


def post_json(client, path: str, body: dict, method: str = "post"):
    # json.dumps writes a lone surrogate as the escape "\ud800": valid JSON, as a script would send it.
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("text", BAD_TEXT)
def test_bad_characters_in_any_text_field_are_a_400_naming_it(officer, text):
    ticket = _ticket(officer)
    before = _counts()
    cases = [
        ("post", "/api/v1/tickets", {"title": text, "category": "security"}, "title"),
        ("post", "/api/v1/tickets", {"title": "ok", "description": text, "category": "security"}, "description"),
        ("post", f"/api/v1/tickets/{ticket}/comments", {"body": text}, "body"),
        ("patch", f"/api/v1/tickets/{ticket}", {"title": text}, "title"),
        ("post", f"/api/v1/tickets/{ticket}/transition", {"to": "accepted", "note": text}, "note"),
        ("post", "/api/v1/alerts", {"title": text, "severity": "low", "tlp": "clear"}, "title"),
        ("post", "/api/v1/alerts", {"title": "ok", "severity": "low", "tlp": "clear", "description": text},
         "description"),
        ("post", "/api/v1/alerts", {"title": "ok", "severity": "low", "tlp": "clear",
                                    "recommended_actions": text}, "recommended_actions"),
        ("post", "/api/v1/alerts", {"title": "ok", "severity": "low", "tlp": "clear",
                                    "affected_systems": ["web", text]}, "affected_systems.1"),
        ("post", "/api/v1/alerts", {"title": "ok", "severity": "low", "tlp": "clear",
                                    "indicators": [{"type": "url", "value": "http://x.example/" + text}]},
         "indicators.0.value"),
        ("post", "/api/v1/topics/an-toan-thong-tin/messages", {"body": text}, "body"),
    ]
    for method, path, body, field in cases:
        response = post_json(officer, path, body, method)
        assert response.status_code == 400, (path, field, response.status_code, response.content)
        error = response.json()["error"]
        assert error["code"] == "invalid" and field in error["fields"], (path, error)
    assert _counts() == before


def test_a_body_over_the_limit_is_a_413_before_it_is_parsed(officer, settings):
    huge = json.dumps({"title": "x", "category": "security", "description": "y" * (3 * 1024 * 1024)})
    response = officer.post("/api/v1/tickets", huge, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_a_comment_over_the_body_limit_is_a_413(officer, settings):
    ticket = _ticket(officer)
    response = post_json(officer, f"/api/v1/tickets/{ticket}/comments", {"body": "ạ" * settings.HUB_MAX_BODY_BYTES})
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/alerts", "/api/v1/search"])
def test_a_free_text_query_over_the_cap_is_a_400_not_a_database_error(officer, path):
    words = " ".join(f"tu{i}" for i in range(4000))
    response = officer.get(path, {"q": words})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == ["q"]


def test_a_query_at_the_cap_is_answered(officer, settings):
    response = officer.get("/api/v1/tickets", {"q": "a" * settings.HUB_MAX_QUERY_CHARS})
    assert response.status_code == 200


def test_the_ticket_export_caps_its_query_too(make_user, settings):
    from django.test import Client

    client = Client()
    client.force_login(make_user("ht.manager", centre="HT", role="manager"))
    response = client.get("/tickets/export.csv", {"q": "x " * 4000})
    assert response.status_code == 400
