"""Accessibility checked by a tool nobody here wrote (issue 23): axe-core, injected by Playwright, on
every page of the hub — signed out and signed in, in Vietnamese and in English, on a desktop and on a
390×844 phone — and on the parts that open over a page (the phone's menu and topic drawer, the bell,
the new-alert form, a message's actions): no serious or critical violation anywhere."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.frontend.axe import describe, install, violations
from tests.frontend.conftest import DESKTOP, PHONE
from tests.frontend.scene import Scene, build_scene

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture
def scene(make_user) -> Scene:
    return build_scene(make_user)

LOCALES = {"vi": "vi-VN", "en": "en-US"}


def settle(page, path: str) -> None:
    """Open `path` and wait until its script has drawn what it loads."""
    page.goto(path)
    page.wait_for_load_state("networkidle")
    expect(page.locator("[aria-busy=true]")).to_have_count(0)


def speak(person, hub, lang: str) -> None:
    """Axe in every page the person opens from now on, in `lang` (the hub's language cookie)."""
    install(person.context)
    person.context.add_cookies([{"name": "django_language", "value": lang, "url": hub.http}])


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_no_page_has_a_serious_accessibility_violation(scene: Scene, browser, hub, sign_in, lang, phone):
    found: dict[str, list[dict]] = {}

    manager = sign_in("dn.mgr", locale=LOCALES[lang], phone=phone)
    speak(manager, hub, lang)
    page = manager.page
    for name, path in scene.pages():
        settle(page, path)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        found[name] = violations(page)

    # What opens over a page.
    settle(page, f"/topics/{scene.topic_slug}/")
    manager.wait_live()
    if phone:
        page.click("#drawer-toggle")
        expect(page.locator("#topic-drawer")).to_be_visible()
        expect(page.locator("#topic-drawer")).to_have_attribute("aria-modal", "true")
        found["topic drawer"] = violations(page)
        page.keyboard.press("Escape")
        page.click("#menu-toggle")
        expect(page.locator("#site-menu nav")).to_be_visible()
        found["header menu"] = violations(page)
        page.keyboard.press("Escape")
        page.click("#topic-info-toggle")  # what the topic's head folds away on a phone, opened
        page.click("#search-toggle")
        expect(page.locator("#topic-info [data-testid=receipts-share]")).to_be_visible()
        expect(page.locator("#search-q")).to_be_visible()
        found["topic information and search"] = violations(page)
        message = page.locator("#messages li.msg").first
        message.locator(".msg-body").tap()
        expect(page.locator("#msg-menu.sheet")).to_be_visible()
        found["message actions sheet"] = violations(page)
        page.locator("#msg-menu .msg-menu-cancel").tap()
    else:
        message = page.locator("#messages li.msg").first
        message.hover()
        message.locator(".msg-more").click()
        expect(page.locator("#msg-menu")).to_be_visible()
        found["message actions menu"] = violations(page)
        page.keyboard.press("Escape")
    page.click("#bell")
    expect(page.locator("#bell-panel")).to_be_visible()
    found["bell"] = violations(page)

    # The new-alert form, as a security officer (only they raise alerts).
    officer = sign_in("ht.sec", locale=LOCALES[lang], phone=phone)
    speak(officer, hub, lang)
    settle(officer.page, "/alerts/")
    officer.page.click("#raise-details summary")
    officer.page.click("#add-indicator")
    expect(officer.page.locator("#indicator-rows li")).not_to_have_count(0)
    found["new alert"] = violations(officer.page)

    # Signed out: the sign-in page.
    context = browser.new_context(base_url=hub.http, locale=LOCALES[lang], viewport=PHONE if phone else DESKTOP,
                                  is_mobile=phone, has_touch=phone)
    try:
        install(context)
        context.add_cookies([{"name": "django_language", "value": lang, "url": hub.http}])
        login = context.new_page()
        login.goto("/accounts/login/")
        expect(login.locator("html")).to_have_attribute("lang", lang)
        found["login"] = violations(login)
    finally:
        context.close()

    found = {where: items for where, items in found.items() if items}
    assert not found, f"axe found serious or critical violations ({lang}, {'phone' if phone else 'desktop'}):\n" + \
        describe(found)
