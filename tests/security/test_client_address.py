"""The client's address comes from the proxies the deployment declares, never from a header the client
wrote, and failed sign-ins are counted per username across addresses (issue 20, class 4). The review
sent eight wrong passwords for `qt.manager`, each with another `X-Forwarded-For`, then the right one,
and was let in. Held here directly, through a served hub (daphne and uvicorn), and through the shipped
nginx configuration (deploy/nginx.conf) in front of one."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from typing import Any

import pytest
from django.test import Client, RequestFactory

from hub.lib.client_ip import ClientAddressMiddleware, client_address
from tests.live import start_hub
from tests.security.proxy import nginx_problem, start_nginx
from tests.services import require

PASSWORD = "pw-qt.manager"


# --- which address ---------------------------------------------------------------------------------

def seen(settings, trusted: int, forwarded: str | None, peer: str = "10.0.0.9") -> str | None:
    settings.HUB_TRUSTED_PROXIES = trusted
    headers: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR=peer, **headers)
    ClientAddressMiddleware(lambda r: None)(request)
    assert client_address(request) == request.META["REMOTE_ADDR"]  # the same answer after the rewrite
    return request.META["REMOTE_ADDR"]


def test_without_declared_proxies_the_header_is_ignored(settings):
    assert seen(settings, 0, "203.0.113.7") == "10.0.0.9"
    assert seen(settings, 0, None) == "10.0.0.9"


def test_one_proxy_the_entry_it_added_counts_not_the_clients_own(settings):
    # nginx with $proxy_add_x_forwarded_for appends: "<what the client wrote>, <the client>".
    assert seen(settings, 1, "203.0.113.7, 198.51.100.4") == "198.51.100.4"
    assert seen(settings, 1, "198.51.100.4") == "198.51.100.4"  # the shipped config replaces it


def test_two_proxies_the_second_entry_from_the_right(settings):
    assert seen(settings, 2, "1.1.1.1, 198.51.100.4, 10.0.0.2") == "198.51.100.4"


def test_a_request_that_skipped_the_proxies_or_lies_keeps_its_peer(settings):
    assert seen(settings, 2, "198.51.100.4") == "10.0.0.9"  # fewer entries than declared proxies
    assert seen(settings, 1, "not-an-address") == "10.0.0.9"
    assert seen(settings, 1, "2001:db8::1") == "2001:db8::1"


# --- the lockout, in process -------------------------------------------------------------------------

@pytest.fixture
def axes_on(settings, db):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()
    yield settings


def sign_in(username: str, password: str, **extra) -> int:
    return Client().post("/accounts/login/", {"username": username, "password": password}, **extra).status_code


@pytest.mark.parametrize("trusted", [0, 1])
def test_rotating_forwarded_for_does_not_escape_the_lockout(axes_on, make_user, trusted):
    axes_on.HUB_TRUSTED_PROXIES = trusted
    make_user("qt.manager", centre="QT", role="manager")
    for i in range(8):
        status = sign_in("qt.manager", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
        assert status in (200, 429), status
    assert sign_in("qt.manager", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.200") == 429


def test_rotating_real_addresses_does_not_escape_it_either(axes_on, make_user):
    """Per username across addresses: a botnet gets the same five tries as one machine."""
    make_user("qt.manager", centre="QT", role="manager")
    statuses = [sign_in("qt.manager", "wrong", REMOTE_ADDR=f"198.51.100.{i}") for i in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the fifth failure locks
    assert sign_in("qt.manager", PASSWORD, REMOTE_ADDR="198.51.100.99") == 429


def test_one_address_trying_many_usernames_is_locked_too(axes_on, make_user):
    make_user("qt.manager", centre="QT", role="manager")
    for i in range(5):
        sign_in(f"nobody{i}", "wrong", REMOTE_ADDR="198.51.100.7")
    assert sign_in("qt.manager", PASSWORD, REMOTE_ADDR="198.51.100.7") == 429
    assert sign_in("qt.manager", PASSWORD, REMOTE_ADDR="198.51.100.8") == 302  # elsewhere: fine


def test_the_lockout_page_says_so_in_vietnamese(axes_on, make_user):
    make_user("qt.manager", centre="QT", role="manager")
    for _ in range(5):
        sign_in("qt.manager", "wrong")
    response = Client().post("/accounts/login/", {"username": "qt.manager", "password": PASSWORD})
    assert response.status_code == 429 and 'data-testid="locked-out"' in response.content.decode()


# --- through real servers and the shipped proxy ---------------------------------------------------------

class Browser:
    """A cookie-keeping HTTP/1.1 client for the login form (CSRF cookie and token)."""

    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        assert parts.hostname is not None, base
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        all_headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        content = response.read().decode(errors="replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        connection.close()
        return response.status, content

    def sign_in(self, username: str, password: str, forwarded_for: str | None = None) -> int:
        status, page = self.request("GET", "/accounts/login/")
        assert status == 200, page[:300]
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert found is not None, page[:300]
        token = found.group(1)
        body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        return self.request("POST", "/accounts/login/", body, headers)[0]


def forged_attempts(base: str) -> tuple[list[int], int]:
    browser = Browser(base)
    failures = [browser.sign_in("qt.manager", "wrong", forwarded_for=f"203.0.113.{i}") for i in range(8)]
    return failures, browser.sign_in("qt.manager", PASSWORD, forwarded_for="203.0.113.250")


def recorded_addresses() -> set[str]:
    from axes.models import AccessAttempt

    return set(AccessAttempt.objects.values_list("ip_address", flat=True))


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_a_served_hub_ignores_the_clients_forwarded_for(server, make_user, tmp_path):
    make_user("qt.manager", centre="QT", role="manager")
    hub = start_hub(server, {"HUB_AXES_ENABLED": "1", "HUB_TRUSTED_PROXIES": "0"}, tmp_path)
    try:
        failures, last = forged_attempts(hub.http)
    finally:
        hub.stop()
    assert set(failures[:4]) == {200} and set(failures[4:]) == {429}
    assert last == 429
    assert recorded_addresses() == {"127.0.0.1"}  # the peer, never a forged address


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_through_the_shipped_nginx_config_the_proxy_decides_the_address(make_user, tmp_path):
    require(nginx_problem())
    make_user("qt.manager", centre="QT", role="manager")
    hub = start_hub("uvicorn", {"HUB_AXES_ENABLED": "1", "HUB_TRUSTED_PROXIES": "1"}, tmp_path)
    proxy = start_nginx(hub.port, tmp_path / "nginx")
    try:
        failures, last = forged_attempts(proxy.http)
        addresses = recorded_addresses()
        # The hub's own port reached directly (which a deployment keeps private: docker-compose
        # publishes only the proxy's) is no way around the per-username count either.
        direct_last = Browser(hub.http).sign_in("qt.manager", PASSWORD, forwarded_for="203.0.113.251")
    finally:
        proxy.stop()
        hub.stop()
    assert set(failures[:4]) == {200} and set(failures[4:]) == {429}
    assert last == 429 and direct_last == 429
    assert addresses == {"127.0.0.1"}  # what nginx saw: the client's real address, never a forged one
