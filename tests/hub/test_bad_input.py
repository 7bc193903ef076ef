"""Bad input is a clear, translated 4xx that changes nothing, never a 500 (review 3):

- a NUL (or another control character) in a request's path or query string is a 400 before any view
  looks it up (hub/middleware.py `UnstorableCharactersMiddleware`): on PostgreSQL, whose `text`
  refuses NUL, the lookup was a DataError — the API's 503 "database unavailable", a page's 500, and
  on `/calendar/<token>.ics` anyone's, signed in or not;
- an id is ASCII digits up to 2^63 - 1 (hub/lib/inputs.py `parse_id`): "²" passes `str.isdigit()`
  but not `int()`, and 5,000 digits are more than `int()` reads — both were 500s wherever an id came
  as text (a ticket's path, `into`, the multipart `comment` and `reply_to`, `?ids=`, the settings
  pages' `work_days` and `webhook`);
- a form field's JSON nested deeper than the parser goes is "must be JSON", not a RecursionError.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from hub.lib.inputs import MAX_ID, id_or_none, parse_ids

pytestmark = pytest.mark.django_db

NUL = "a\x00b"


@pytest.fixture
def cast(make_user, api_client):
    from chat.services import create_topic
    from requests.services import create_ticket

    create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security")
    officer = make_user("ht.security", centre="HT", role="security_officer")
    manager = make_user("ht.manager", centre="HT", role="manager")
    make_user("dn.engineer", centre="DN")
    ticket = create_ticket(by=officer, title="Rà soát cổng dịch vụ công", category="security", target_centre="DN")
    client = api_client(officer)
    client.raise_request_exception = False
    return officer, manager, client, ticket


def page_client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def assert_refused(response, field: str, detail: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:200])
    assert response.json()["error"] == {"code": "invalid", "fields": [field], "detail": detail}


# --- NUL in what is looked up ----------------------------------------------------------------------

API_LOOKUPS = [
    ("/api/v1/alerts", {"q": NUL}, "q"),
    ("/api/v1/alerts", {"centre": NUL}, "centre"),
    ("/api/v1/tickets/a%00b", {}, "path"),
    ("/api/v1/centres/a%00b/roster", {}, "path"),
    ("/api/v1/centres/a%00b/duty", {}, "path"),
    ("/api/v1/topics/a%00b/messages", {}, "path"),
    ("/api/v1/ticket-templates", {"centre": NUL}, "centre"),
    ("/api/v1/dashboard", {"centre": NUL}, "centre"),
    ("/api/v1/tickets", {NUL: "1"}, "query"),
]


@pytest.mark.parametrize(("path", "query", "field"), API_LOOKUPS)
def test_a_nul_in_an_api_path_or_query_is_a_400_in_the_caller_s_language(cast, path, query, field):
    _officer, _manager, client, _ticket = cast
    assert_refused(client.get(path, query, HTTP_ACCEPT_LANGUAGE="vi"), field,
                   f"{field}: không được chứa ký tự NUL.")
    assert_refused(client.get(path, query, HTTP_ACCEPT_LANGUAGE="en"), field,
                   f"{field}: may not contain NUL characters.")


def test_other_control_characters_in_a_query_are_refused_too(cast):
    _officer, _manager, client, _ticket = cast
    assert_refused(client.get("/api/v1/alerts", {"q": "a\x07b"}, HTTP_ACCEPT_LANGUAGE="en"), "q",
                   "q: may not contain control characters.")
    assert client.get("/api/v1/alerts", {"q": "tấn công\tthư rác"}).status_code == 200  # tab is text


@pytest.mark.parametrize("path", ["/people/a%00b/", "/centres/a%00b/", "/duty/a%00b/", "/tickets/?q=a%00b"])
def test_a_nul_in_a_page_s_path_or_query_is_a_400_in_vietnamese(cast, path):
    _officer, manager, _client, _ticket = cast
    response = page_client(manager).get(path)
    assert response.status_code == 400
    assert "không được chứa ký tự NUL" in response.content.decode()


def test_a_nul_in_a_calendar_token_is_a_400_for_anyone(db):
    response = Client(raise_request_exception=False).get("/calendar/a%00b.ics")  # no sign-in needed
    assert response.status_code == 400


# --- ids -----------------------------------------------------------------------------------------

def test_an_id_is_ascii_digits_from_one_to_the_column_s_limit():
    assert [id_or_none(v) for v in ("42", " 42 ", 42, str(MAX_ID))] == [42, 42, 42, MAX_ID]
    assert [id_or_none(v) for v in ("²", "①", "٤٢", "0", "-1", "+1", "4 2", str(MAX_ID + 1), "9" * 5000, True, None,
                                    4.0)] == [None] * 12
    assert parse_ids("1, 2,,3", field="ids", limit=3) == [1, 2, 3]


@pytest.mark.parametrize("ident", ["%C2%B2", "9" * 5000, str(MAX_ID + 1)])
def test_a_ticket_named_by_what_is_no_id_is_not_found(cast, ident):
    _officer, _manager, client, _ticket = cast
    response = client.get(f"/api/v1/tickets/{ident}")
    assert response.status_code == 404, response.status_code


@pytest.mark.parametrize("into", ["²", "9" * 5000])
def test_merging_into_what_is_no_id_is_a_400(cast, into):
    _officer, _manager, client, ticket = cast
    response = client.post(f"/api/v1/tickets/{ticket.pk}/merge", {"into": into}, content_type="application/json",
                           HTTP_ACCEPT_LANGUAGE="en")
    assert_refused(response, "into", "into: no such request.")


@pytest.mark.parametrize("comment", ["²", "9" * 5000])
def test_an_attachment_for_a_comment_that_is_no_id_is_a_400(cast, comment):
    _officer, _manager, client, ticket = cast
    response = client.post(f"/api/v1/tickets/{ticket.pk}/attachments",
                           {"file": SimpleUploadedFile("nhat-ky.txt", b"log\n"), "comment": comment},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert_refused(response, "comment", "comment: must be a comment id.")
    assert not ticket.attachments.exists()


def test_a_chat_file_replying_to_what_is_no_id_is_a_400(cast):
    _officer, _manager, client, _ticket = cast
    response = client.post("/api/v1/topics/an-toan-thong-tin/files",
                           {"file": SimpleUploadedFile("nhat-ky.txt", b"log\n"), "reply_to": "²"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert_refused(response, "reply_to", "reply_to: must be a message id.")


def test_a_chat_file_with_a_sharing_scope_nested_beyond_the_parser_is_a_400(cast):
    _officer, _manager, client, _ticket = cast
    nested = "[" * 5000 + "]" * 5000
    response = client.post("/api/v1/topics/an-toan-thong-tin/files",
                           {"file": SimpleUploadedFile("nhat-ky.txt", b"log\n"), "shared_with": nested},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert_refused(response, "shared_with", "shared_with: must be JSON.")


@pytest.mark.parametrize("ids", ["²", "1,²", "9" * 5000, ",".join(["1"] * 201)])
def test_receipts_of_what_is_no_list_of_ids_is_a_400(cast, ids):
    _officer, _manager, client, _ticket = cast
    response = client.get("/api/v1/topics/an-toan-thong-tin/receipts", {"ids": ids}, HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 400, response.content[:200]
    assert response.json()["error"]["fields"] == ["ids"]
    assert response.json()["error"]["detail"].startswith("ids: ")


def test_promoting_with_included_ids_that_are_none_is_a_400(cast):
    from chat.models import Topic
    from chat.services import post_message

    officer, _manager, client, _ticket = cast
    message, _created = post_message(Topic.objects.get(slug="an-toan-thong-tin"), by=officer, body="Thấy IP lạ")
    response = client.get(f"/api/v1/topics/an-toan-thong-tin/messages/{message.pk}/promote",
                          {"include": "9" * 30}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content[:200]
    assert response.json()["error"]["fields"] == ["include"]


def test_the_preferences_page_refuses_a_work_day_that_is_no_number_and_changes_nothing(cast):
    from notify.preferences import settings_of

    officer, _manager, _client, _ticket = cast
    before = list(settings_of(officer).work_days)
    response = page_client(officer).post("/settings/notifications/", {"work_days": ["0", "²"], "hours": "own"},
                                         HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 200  # the page again, with the refusal
    assert "work_days" in response.content.decode()
    assert list(settings_of(officer).work_days) == before


@pytest.mark.parametrize("webhook", ["x", "²", "9" * 5000, ""])
def test_the_webhooks_page_refuses_a_webhook_that_is_no_id(cast, webhook):
    _officer, manager, _client, _ticket = cast
    response = page_client(manager).post("/settings/webhooks/", {"action": "pause", "webhook": webhook})
    assert response.status_code == 200  # the page again, with the refusal
    assert "webhook: " in response.content.decode()
