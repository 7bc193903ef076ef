"""Which language the hub answers in (hub/i18n.py): pages go by the cookie, then the person's
preference, then Vietnamese; the API by Accept-Language, then the person's preference, then the
cookie, then Vietnamese (a socket's error frames: tests/chat/test_topic_socket.py)."""

import pytest
from django.test import Client

from tests.conftest import token_for

FORBIDDEN_VI = "Chỉ cán bộ an toàn thông tin và quản trị viên Hub mới được phát cảnh báo."
FORBIDDEN_EN = "Only security officers and hub admins raise alerts."
ALERT = {"title": "Thử", "severity": "low", "tlp": "clear"}


@pytest.fixture
def engineer(make_user):
    return make_user("ht.engineer", centre="HT")


def refusal(client: Client, **headers) -> str:
    response = client.post("/api/v1/alerts", ALERT, content_type="application/json", **headers)
    assert response.status_code == 403
    return response.json()["error"]["detail"]


def test_the_api_answers_in_vietnamese_unless_asked_otherwise(engineer):
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for(engineer)}")
    assert refusal(client) == FORBIDDEN_VI
    assert refusal(client, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8") == FORBIDDEN_EN
    assert refusal(client, HTTP_ACCEPT_LANGUAGE="fr, vi;q=0.5") == FORBIDDEN_VI  # the first language we speak
    response = client.post("/api/v1/alerts", ALERT, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "en"


def test_the_persons_preference_counts_when_the_request_names_no_language(engineer):
    engineer.language = "en"
    engineer.save()
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for(engineer)}")
    assert refusal(client) == FORBIDDEN_EN
    assert refusal(client, HTTP_ACCEPT_LANGUAGE="fr") == FORBIDDEN_EN  # a language we do not speak names none
    assert refusal(client, HTTP_ACCEPT_LANGUAGE="vi") == FORBIDDEN_VI  # an explicit header wins
    me = client.get("/api/v1/me").json()
    assert (me["language"], me["preference"]) == ("en", "en")


def test_a_session_caller_without_a_preference_gets_the_pages_language(engineer, settings):
    client = Client()
    client.force_login(engineer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.get("/api/v1/me").json()["language"] == "en"
    engineer.language = "vi"
    engineer.save()
    assert client.get("/api/v1/me").json()["language"] == "vi"  # the stored preference beats the cookie


def test_an_unauthenticated_caller_is_refused_in_its_language(db):
    assert Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/me").json()["error"]["detail"].startswith(
        "Authentication required")
    assert Client().get("/api/v1/me").json()["error"]["detail"].startswith("Cần xác thực")


def test_the_language_switch_stores_the_persons_preference(engineer):
    client = Client()
    client.force_login(engineer)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    engineer.refresh_from_db()
    assert engineer.language == "en"
    client.cookies.clear()  # a new device: no cookie, the pages follow the stored preference
    client.force_login(engineer)
    assert client.get("/").headers["Content-Language"] == "en"


def test_pages_ignore_the_browsers_accept_language(engineer):
    client = Client()
    client.force_login(engineer)
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="en").headers["Content-Language"] == "vi"


def test_validation_errors_name_the_field_in_the_callers_language(engineer):
    client = Client(HTTP_AUTHORIZATION=f"Token {token_for(engineer)}")
    payload = {"title": "Thử", "category": "other"}
    body = {k: v for k, v in payload.items() if k != "category"}
    vi = client.post("/api/v1/tickets", body, content_type="application/json").json()["error"]
    en = client.post("/api/v1/tickets", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert vi == {"code": "invalid", "detail": "category: bắt buộc.", "fields": ["category"]}
    assert en["error"]["detail"] == "category: required."
    wrong_type = client.post("/api/v1/tickets", {**payload, "priority": 5}, content_type="application/json",
                             HTTP_ACCEPT_LANGUAGE="en").json()["error"]
    assert wrong_type["detail"] == "priority: must be a string." and wrong_type["fields"] == ["priority"]
    not_json = client.post("/api/v1/tickets", "{", content_type="application/json").json()["error"]
    assert not_json == {"code": "invalid", "detail": "Nội dung yêu cầu không phải JSON hợp lệ."}
