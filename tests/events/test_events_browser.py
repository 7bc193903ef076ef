"""The events calendar in a browser (desktop and 390×844): a manager puts a workshop on the calendar,
a colleague of another centre sees it in the month and list views, registers, and the attendance
by centre shows with names on hover; the yearly report counts it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The server process checks passwords with the real hashers: keep them here."""


def test_organise_and_register_in_month_and_list_views(make_user, sign_in):
    make_user("dn.manager", centre="DN", role="manager", display_name="Võ Quản Lý")
    make_user("hue.security", centre="HUE", role="security_officer", display_name="Lê Huế")
    day = timezone.localdate() + timedelta(days=7)
    manager = sign_in("dn.manager")
    page = manager.goto("/events/")
    page.wait_for_selector("#events-calendar[data-ready]")
    page.fill("#event-form input[name=title]", "Hội thảo ATTT miền Trung")
    page.fill("#event-form input[name=starts_at]", f"{day:%Y-%m-%d}T08:00")
    page.fill("#event-form input[name=ends_at]", f"{day:%Y-%m-%d}T17:00")
    page.click("#event-form button[type=submit]")
    expect(page.locator("#event-error")).to_contain_text("place")  # neither a place nor a link
    page.fill("#event-form input[name=place]", "Đà Nẵng")
    page.click("#event-form button[type=submit]")
    expect(page.locator("#event-detail h2")).to_contain_text("Hội thảo ATTT miền Trung")

    colleague = sign_in("hue.security", phone=True)
    other = colleague.goto(f"/events/?event={page.locator('#event-detail').get_attribute('data-event')}")
    other.wait_for_selector("#events-calendar[data-ready]")
    expect(other.locator("#event-detail")).to_contain_text("Đà Nẵng")
    other.click("[data-testid=event-register]")
    expect(other.locator("#event-detail .registrations li[data-centre='HUE']")).to_contain_text("HUE 1")
    expect(other.locator("#event-detail .registrations li[data-centre='HUE']")).to_have_attribute("title", "Lê Huế")
    expect(other.locator("[data-testid=event-register]")).to_have_text("Rút đăng ký")
    other.click(".view-switch button[data-view=list]")
    expect(other.locator(".events-list .event-row")).to_contain_text("HUE 1")
    assert other.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(other, "events-phone")

    page.click(".view-switch button[data-view=month]")
    page.reload()
    page.wait_for_selector("#events-calendar[data-ready]")
    expect(page.locator(f".calendar-day[data-day='{day:%Y-%m-%d}'] .event-chip")).to_contain_text("Hội thảo")
    screenshot(page, "events-month")
