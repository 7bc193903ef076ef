"""Two-factor sign-in (issue 20; ../shared/CONTRACT.md "Sign-in"): TOTP with recovery codes, required
for the roles in HUB_2FA_REQUIRED_ROLES, enrolled from the person's own security page; wrong codes
lock out like wrong passwords; API tokens unaffected; a session that lacks its second factor reaches
neither pages, nor the API, nor sockets. The browser test is tests/frontend/test_two_factor.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from hub.asgi import application
from tests.conftest import token_for
from tests.live import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

PRODUCTION_ROLES = ["security_officer", "manager", "hub_admin"]


@pytest.fixture
def required(settings):
    settings.HUB_2FA_REQUIRED_ROLES = PRODUCTION_ROLES
    return settings


@pytest.fixture
def officer(make_user):
    return make_user("ht.security", centre="HT", role="security_officer")


def code_for(device: TOTPDevice) -> str:
    """What the authenticator app shows now: RFC 6238 from the device's own key."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def sign_in(client: Client, user, password: str | None = None):
    return client.post("/accounts/login/", {"username": user.username, "password": password or f"pw-{user.username}"})


def enrol(client: Client, user) -> list[str]:
    """Through the security page, as a person would: start, scan (the key), confirm with a code."""
    page = client.post("/accounts/security/", {"action": "start"})
    assert page.status_code == 200 and 'data-testid="qr"' in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post("/accounts/security/", {"action": "confirm", "code": code_for(device)})
    assert done.status_code == 200, done.content.decode()[:2000]
    return re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())


def later(seconds: int = 31):
    """A code is good once per 30-second step: the next sign-in happens in the next step."""
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=True)


# --- who must -------------------------------------------------------------------------------------------

def settings_in(env: dict[str, str]) -> list[str]:
    code = "import json, hub.settings as s; print(json.dumps(s.HUB_2FA_REQUIRED_ROLES))"
    clean = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("DJANGO_", "HUB_2FA"))}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_requires_it_of_security_officers_managers_and_admins_and_make_run_of_nobody():
    production = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50, "DJANGO_ALLOWED_HOSTS": "hub.example.vn"}
    assert settings_in(production) == PRODUCTION_ROLES
    assert settings_in({"DJANGO_DEBUG": "1"}) == []
    assert settings_in({"DJANGO_DEBUG": "1", "HUB_2FA_REQUIRED_ROLES": "manager"}) == ["manager"]


def test_demo_settings_sign_in_with_the_password_alone(officer):
    client = Client()
    assert sign_in(client, officer)["Location"] == "/"
    assert client.get("/").status_code == 200


# --- enrolment and sign-in ----------------------------------------------------------------------------------

def test_a_required_role_without_a_device_reaches_only_its_security_page(required, officer):
    client = Client()
    response = sign_in(client, officer)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/security/")
    assert client.get("/").status_code == 302
    assert client.get("/alerts/")["Location"].startswith("/accounts/security/?next=")
    assert client.get("/api/v1/me").status_code == 401  # the API over this session: not yet
    assert client.get("/accounts/security/").status_code == 200
    token = Client(HTTP_AUTHORIZATION=f"Token {token_for(officer)}")
    assert token.get("/api/v1/me").status_code == 200  # API tokens are unaffected


def test_enrolment_verifies_the_session_and_gives_ten_recovery_codes(required, officer):
    client = Client()
    sign_in(client, officer)
    codes = enrol(client, officer)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_enrolment_refuses_a_wrong_code(required, officer):
    client = Client()
    sign_in(client, officer)
    client.post("/accounts/security/", {"action": "start"})
    response = client.post("/accounts/security/", {"action": "confirm", "code": "000000"})
    assert response.status_code == 400 and 'data-testid="security-error"' in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_signing_in_takes_the_password_then_a_code(required, officer):
    setup = Client()
    sign_in(setup, officer)
    enrol(setup, officer)
    device = TOTPDevice.objects.get(user=officer, confirmed=True)
    client = Client()
    with later():
        response = sign_in(client, officer)
        assert response["Location"] == "/accounts/login/code/"
        assert client.get("/")["Location"].startswith("/accounts/login/")  # not signed in after the password
        assert client.post("/accounts/login/code/", {"code": "123456"}).status_code == 400
    with later(33):  # django-otp makes a device wait a moment after a wrong code
        done = client.post("/accounts/login/code/", {"code": code_for(device)})
        assert done.status_code == 302 and done["Location"] == "/"
        assert client.get("/").status_code == 200
        assert client.get("/api/v1/me").json()["username"] == "ht.security"


def test_a_recovery_code_signs_in_once(required, officer):
    setup = Client()
    sign_in(setup, officer)
    codes = enrol(setup, officer)
    first = Client()
    sign_in(first, officer)
    assert first.post("/accounts/login/code/", {"code": codes[0].upper()})["Location"] == "/"
    again = Client()
    sign_in(again, officer)
    assert again.post("/accounts/login/code/", {"code": codes[0]}).status_code == 400


def test_an_engineer_may_enrol_and_then_needs_the_code_too(required, make_user):
    engineer = make_user("dn.engineer", centre="DN")
    client = Client()
    assert sign_in(client, engineer)["Location"] == "/"  # not required: the password alone
    enrol(client, engineer)
    with later():
        second = Client()
        assert sign_in(second, engineer)["Location"] == "/accounts/login/code/"


def test_wrong_codes_lock_out_like_wrong_passwords(required, officer, settings):
    settings.AXES_ENABLED = True
    setup = Client()
    sign_in(setup, officer)
    enrol(setup, officer)
    device = TOTPDevice.objects.get(user=officer, confirmed=True)
    with later():
        client = Client()
        sign_in(client, officer)
        statuses = [client.post("/accounts/login/code/", {"code": f"{i:06d}"}).status_code for i in range(1, 6)]
        assert statuses == [400, 400, 400, 400, 429]
        assert client.post("/accounts/login/code/", {"code": code_for(device)}).status_code == 429
        assert sign_in(Client(), officer).status_code == 429  # the password step is locked as well


def test_the_admins_own_login_form_is_the_hubs(required):
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/admin/"


@pytest.mark.parametrize("language, text", [("vi", "Xác thực hai bước"), ("en", "Two-step verification")])
def test_the_code_page_speaks_vietnamese_and_english(required, officer, language, text):
    setup = Client()
    sign_in(setup, officer)
    enrol(setup, officer)
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    sign_in(client, officer)
    assert text in client.get("/accounts/login/code/").content.decode()


# --- sockets ---------------------------------------------------------------------------------------------

async def session_socket(client: Client) -> tuple[str, int | None]:
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    socket = WebsocketCommunicator(application, "/ws/notifications/", headers=[
        (b"origin", b"http://127.0.0.1:8000"), (b"cookie", cookie.encode())])
    assert (await socket.connect())[0]
    output = await socket.receive_output(timeout=5)
    await socket.disconnect()
    return ("closed", output.get("code")) if output["type"] == "websocket.close" else ("open", None)


async def test_a_session_without_its_second_factor_opens_no_socket(required, officer):
    client = Client()
    await sync_to_async(sign_in)(client, officer)
    assert await session_socket(client) == ("closed", 4401)
    await sync_to_async(enrol)(client, officer)
    assert await session_socket(client) == ("open", None)
