"""Browser-facing protections: security headers on every page, CSRF on every state-changing endpoint."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_pages_carry_csp_frame_and_sniffing_protections():
    response = Client().get("/accounts/login/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def unsafe_operations() -> list[tuple[str, str]]:
    """Every POST/PUT/PATCH/DELETE operation of the generated OpenAPI document."""
    from hub.api import api

    schema = api.get_openapi_schema()
    operations = []
    for path, methods in schema["paths"].items():
        for method in methods:
            if method in {"post", "put", "patch", "delete"}:
                operations.append((method, path))
    return operations


def concrete(path: str) -> str:
    # Placeholders get values that route; the CSRF check must answer before any lookup does.
    return re.sub(r"\{[^}]+\}", lambda m: "an-toan-thong-tin" if "slug" in m.group(0) else "1", path)


def test_every_state_changing_api_operation_refuses_a_session_without_csrf(make_user):
    operations = unsafe_operations()
    assert ("post", "/api/v1/ws-tickets") in operations
    user = make_user("csrf.victim", centre="HT", role="security_officer", is_superuser=True)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    for method, path in operations:
        response = getattr(browser, method)(concrete(path), data="{}", content_type="application/json")
        assert response.status_code == 403, (method, path, response.status_code)
        assert "CSRF" in response.json()["error"]["detail"], (method, path)


def test_login_and_language_forms_are_csrf_protected(make_user):
    make_user("csrf.login", centre="HT")
    browser = Client(enforce_csrf_checks=True)
    assert browser.post("/accounts/login/", {"username": "csrf.login", "password": "pw-csrf.login"}).status_code == 403
    assert browser.post("/i18n/setlang/", {"language": "en"}).status_code == 403
