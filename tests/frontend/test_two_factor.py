"""Two-step verification in a real browser (issue 20): a security officer whose role requires it signs
in with the password, is taken to their security page, scans (here: reads) the key, confirms with a
code computed from that key (RFC 6238 by django-otp's own `totp`, nothing else), keeps the recovery
codes, and next time signs in with the password and a fresh code — in Vietnamese, on a phone-sized
screen too."""

from __future__ import annotations

import base64
import time

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.frontend.conftest import TIMEOUT_MS, screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]

REQUIRED = {"HUB_2FA_REQUIRED_ROLES": "security_officer,manager,hub_admin"}


def code_from(secret_shown: str) -> str:
    """What an authenticator app computes now from the key the page shows (base32, in groups)."""
    text = secret_shown.replace(" ", "")
    key = base64.b32decode(text + "=" * (-len(text) % 8))
    return f"{TOTP(key, step=30, digits=6).token():06d}"


def next_step() -> None:
    """A code is accepted once per 30-second step: wait for the next one before signing in again."""
    time.sleep(30 - time.time() % 30 + 0.5)


@pytest.mark.parametrize("hub_extra_env", [REQUIRED], indirect=True)
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 860}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_enrol_then_sign_in_with_a_generated_code(browser, hub, make_user, viewport, topic):
    make_user("ht.security", centre="HT", role="security_officer")
    context = browser.new_context(base_url=hub.http, locale="vi-VN", viewport=viewport)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto("/accounts/login/")
    page.fill("#id_username", "ht.security")
    page.fill("#id_password", "pw-ht.security")
    page.click("form.login button[type=submit]")
    page.wait_for_url("**/accounts/security/**")
    expect(page.locator("[data-testid=twofa-required]")).to_contain_text("xác thực hai bước")
    page.goto("/alerts/")  # nothing else is reachable yet
    assert "/accounts/security/" in page.url
    page.click("[data-testid=twofa-start]")
    expect(page.locator("[data-testid=qr]")).to_be_visible()
    secret = page.locator("[data-testid=totp-secret]").inner_text()
    screenshot(page, "two-factor-enrol" + ("-phone" if viewport["width"] < 500 else ""))
    page.fill("#id_code", code_from(secret))
    page.click("form.login button[type=submit]")
    expect(page.locator("[data-testid=recovery-codes] code")).to_have_count(10)  # the next page, once it is there
    page.click("[data-testid=continue]")
    page.wait_for_url(hub.http + "/alerts/")  # back where they were going
    if page.locator("#menu-toggle").is_visible():  # on a phone, log out is in the header's menu
        page.click("#menu-toggle")
    page.click("header form[action='/accounts/logout/'] button")
    page.wait_for_url("**/accounts/login/**")

    next_step()
    page.fill("#id_username", "ht.security")
    page.fill("#id_password", "pw-ht.security")
    page.click("form.login button[type=submit]")
    page.wait_for_url("**/accounts/login/code/")
    expect(page.locator("h1")).to_have_text("Xác thực hai bước")
    page.fill("#id_code", "000000")
    page.click("form.login button[type=submit]")
    expect(page.locator("[data-testid=code-error]")).to_be_visible()
    time.sleep(2)  # django-otp makes the device wait a moment after a wrong code
    page.fill("#id_code", code_from(secret))
    page.click("form.login button[type=submit]")
    page.wait_for_url(hub.http + "/")
    expect(page.locator("[data-testid=who]")).to_contain_text("ht.security")
    page.goto("/topics/phat-trien-phan-mem/")
    page.wait_for_selector("#conn-status[data-state='live']")  # the verified session's sockets open
    assert errors == []
    context.close()


@pytest.mark.parametrize("hub_extra_env", [REQUIRED], indirect=True)
def test_a_recovery_code_in_english(browser, hub, make_user):
    from hub import twofactor

    user = make_user("dn.manager", centre="DN", role="manager")
    twofactor.pending_enrolment(user)
    device = user.totpdevice_set.get()
    device.confirmed = True
    device.save()
    codes = twofactor.new_recovery_codes(user)
    context = browser.new_context(base_url=hub.http, locale="en-GB", viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies([{"name": "django_language", "value": "en", "url": hub.http}])
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", "dn.manager")
    page.fill("#id_password", "pw-dn.manager")
    page.click("form.login button[type=submit]")
    page.wait_for_url("**/accounts/login/code/")
    expect(page.locator("h1")).to_have_text("Two-step verification")
    page.fill("#id_code", codes[3].upper())
    page.click("form.login button[type=submit]")
    page.wait_for_url(hub.http + "/")
    page.goto("/accounts/security/")
    expect(page.locator("[data-testid=twofa-on]")).to_contain_text("9 recovery codes left")
    context.close()


@pytest.mark.parametrize("hub_extra_env", [REQUIRED], indirect=True)
def test_an_engineer_enrols_from_their_own_person_page_and_then_needs_a_code(sign_in, hub, make_user):
    """Engineers are not required to (HUB_2FA_REQUIRED_ROLES), but may: from their own person page,
    which links to their security page (another person's page does not)."""
    make_user("ht.engineer", centre="HT", display_name="Lan (Hà Tĩnh)")
    make_user("dn.engineer", centre="DN")
    lan = sign_in("ht.engineer")  # the password alone: not required of an engineer
    page = lan.goto("/people/dn.engineer/")
    expect(page.locator("[data-testid=security-link]")).to_have_count(0)
    page = lan.goto("/people/ht.engineer/")
    page.click("[data-testid=security-link]")
    page.wait_for_url("**/accounts/security/")
    page.click("[data-testid=twofa-start]")
    secret = page.locator("[data-testid=totp-secret]").inner_text()
    page.fill("#id_code", code_from(secret))
    page.click("form.login button[type=submit]")
    expect(page.locator("[data-testid=recovery-codes] code")).to_have_count(10)
    page.goto("/accounts/security/")
    expect(page.locator("[data-testid=twofa-on]")).to_be_visible()
    page.click("header form[action='/accounts/logout/'] button")
    page.wait_for_url("**/accounts/login/**")
    next_step()
    page.fill("#id_username", "ht.engineer")
    page.fill("#id_password", "pw-ht.engineer")
    page.click("form.login button[type=submit]")
    page.wait_for_url("**/accounts/login/code/")  # now the code is asked of them too
    page.fill("#id_code", code_from(secret))
    page.click("form.login button[type=submit]")
    page.wait_for_url(hub.http + "/")
    expect(page.locator("[data-testid=who]")).to_contain_text("Lan (Hà Tĩnh)")
