"""HTTP authentication: tokens (hashed, revocable), sessions with CSRF, WebSocket tickets."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from hub.models import ApiToken, WsTicket

pytestmark = pytest.mark.django_db


def test_issue_token_prints_the_key_alone_on_the_last_line_and_stores_only_a_hash(make_user):
    make_user("ht.engineer")
    out = StringIO()
    call_command("issue_token", "ht.engineer", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert len(key) >= 40 and " " not in key
    token = ApiToken.objects.get()
    assert key not in (token.key_hash, token.prefix) and token.key_hash != key
    response = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["username"] == "ht.engineer"


def test_me_shows_user_centre_and_roles(make_user, api_client):
    user = make_user("dn.security", centre="DN", role="security_officer", display_name="Lê Văn Ánh")
    body = api_client(user).get("/api/v1/me").json()
    assert body["display_name"] == "Lê Văn Ánh"
    assert body["centre"]["code"] == "DN"
    assert body["roles"] == ["security_officer"]


def test_centres_lists_every_centre(seeded, make_user, api_client):
    user = make_user("someone", centre="HT")
    codes = [c["code"] for c in api_client(user).get("/api/v1/centres").json()]
    assert "NIA" in codes and "HUE" in codes and codes == sorted(codes)


@pytest.mark.parametrize("header, code, says", [
    ("", "not_authenticated", "Authentication required"),
    ("Token ", "token_invalid", "token is not valid"),
    ("Token not-a-real-key", "token_invalid", "token is not valid"),
    ("Bearer abc", "token_invalid", "must be `Token <key>`"),
    ("Basic Zm9vOmJhcg==", "token_invalid", "must be `Token <key>`"),
])
def test_a_missing_token_and_a_wrong_one_are_told_apart(db, header, code, says):
    """Both 401 in the contract's shape, but a script with a revoked or mistyped key is told that its
    key is wrong, not that it sent none."""
    client = Client(HTTP_AUTHORIZATION=header, HTTP_ACCEPT_LANGUAGE="en") if header else Client(
        HTTP_ACCEPT_LANGUAGE="en")
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == code
    assert says in response.json()["error"]["detail"]


def test_revoked_token_and_deactivated_user_are_refused(make_user):
    user = make_user("qt.manager", centre="QT", role="manager")
    token, key = ApiToken.issue(user)
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me").status_code == 200
    call_command("revoke_tokens", "qt.manager", stdout=StringIO())
    assert client.get("/api/v1/me").status_code == 401
    other_key = ApiToken.issue(user)[1]
    user.is_active = False
    user.save()
    assert Client(HTTP_AUTHORIZATION=f"Token {other_key}").get("/api/v1/me").status_code == 401


def test_session_posts_need_csrf_but_token_posts_do_not(make_user):
    user = make_user("na.engineer", centre="NA")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get("/api/v1/me").status_code == 200
    refused = browser.post("/api/v1/ws-tickets")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["detail"]
    browser.get("/accounts/login/")  # sets the csrftoken cookie
    csrf = browser.cookies["csrftoken"].value
    assert browser.post("/api/v1/ws-tickets", HTTP_X_CSRFTOKEN=csrf).status_code == 201


def test_ws_ticket_is_issued_for_the_token_user(make_user, api_client):
    user = make_user("th.engineer", centre="TH")
    response = api_client(user).post("/api/v1/ws-tickets")
    assert response.status_code == 201
    body = response.json()
    assert body["expires_in"] == 60
    assert WsTicket.redeem(body["ticket"]) == user


def test_the_ticket_answer_closes_its_connection(make_user, api_client):
    """The socket the ticket is for is a connection of its own; a kept-alive ticket connection only
    lingered, hundreds at once in a reconnect storm (docs/benchmarks.md)."""
    response = api_client(make_user("th.storm", centre="TH")).post("/api/v1/ws-tickets")
    assert response.status_code == 201 and response["Connection"] == "close"


def test_ws_ticket_is_single_use_and_expires(make_user):
    user = make_user("qb.engineer", centre="QB")
    raw = WsTicket.issue(user)
    assert WsTicket.redeem(raw) == user
    assert WsTicket.redeem(raw) is None  # reused
    with time_machine.travel(timezone.now()) as clock:
        late = WsTicket.issue(user)
        clock.shift(timedelta(seconds=settings.WS_TICKET_TTL_SECONDS + 1))
        assert WsTicket.redeem(late) is None  # expired
    assert WsTicket.redeem("made-up") is None


def test_ws_ticket_of_a_deactivated_user_is_worthless(make_user):
    user = make_user("kt.engineer", centre="KT")
    raw = WsTicket.issue(user)
    user.is_active = False
    user.save()
    assert WsTicket.redeem(raw) is None


def test_schema_is_a_generated_openapi_document():
    response = Client().get("/api/v1/schema")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/me", "/api/v1/centres", "/api/v1/ws-tickets"):
        assert path in doc["paths"], path


def test_login_page_uses_django_field_names_and_is_vietnamese_by_default():
    response = Client().get("/accounts/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html and 'name="password"' in html
    assert 'lang="vi"' in html
    assert "Đăng nhập" in html


def test_english_is_available(make_user):
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    html = client.get("/accounts/login/").content.decode()
    assert 'lang="en"' in html and "Sign in" in html


def test_browser_login_and_logout(make_user):
    make_user("hue.engineer", centre="HUE")
    client = Client()
    response = client.post("/accounts/login/", {"username": "hue.engineer", "password": "pw-hue.engineer"})
    assert response.status_code == 302
    assert client.get("/api/v1/me").json()["centre"]["code"] == "HUE"
    client.post("/accounts/logout/")
    assert client.get("/api/v1/me").status_code == 401


def test_login_brute_force_is_throttled(make_user, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    make_user("py.engineer", centre="PY")
    client = Client()
    for _ in range(3):
        client.post("/accounts/login/", {"username": "py.engineer", "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": "py.engineer", "password": "pw-py.engineer"})
    assert locked.status_code in (403, 429)
    assert "_auth_user_id" not in client.session


def test_vietnamese_wins_over_an_english_browser_until_the_user_chooses():
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert 'lang="vi"' in client.get("/accounts/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert 'lang="en"' in client.get("/accounts/login/").content.decode()


def test_last_used_at_is_recorded_to_the_minute_not_written_on_every_request(make_user, django_assert_num_queries):
    user = make_user("na.engineer", centre="NA")
    token, key = ApiToken.issue(user)
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me").status_code == 200
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    with django_assert_num_queries(1):  # the token look-up only: no write within the minute
        assert client.get("/api/v1/me").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    assert client.get("/api/v1/me").status_code == 200
    last_used = ApiToken.objects.get(pk=token.pk).last_used_at
    assert last_used is not None and last_used > first - timedelta(minutes=1)


def test_claims_of_expired_tickets_are_swept_now_and_then_by_redeeming(make_user, monkeypatch):
    import hub.models

    user = make_user("qb.engineer", centre="QB")
    WsTicket.redeem(WsTicket.issue(user))
    WsTicket.objects.update(expires_at=timezone.now() - timedelta(hours=2))
    monkeypatch.setattr(hub.models, "TICKET_SWEEP_ONE_IN", 1)  # this redemption is the one that sweeps
    assert WsTicket.redeem(WsTicket.issue(user)) == user
    assert WsTicket.objects.count() == 1
