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


def test_the_calendar_follows_changes_made_in_another_browser(make_user, sign_in):
    """Creating, changing and cancelling an event, and registering for it, show on the calendar open
    in another browser without a reload (the `event.changed` frame; the page reads the API again)."""
    make_user("dn.manager", centre="DN", role="manager", display_name="Võ Quản Lý")
    make_user("hue.security", centre="HUE", role="security_officer", display_name="Lê Huế", language="en")
    day = timezone.localdate() + timedelta(days=7)
    manager = sign_in("dn.manager")
    page = manager.goto("/events/")
    page.wait_for_selector("#events-calendar[data-ready]")
    expect(manager.page.locator("#live-status")).to_have_attribute("data-state", "live")
    colleague = sign_in("hue.security", phone=True)
    other = colleague.goto("/events/")
    other.wait_for_selector("#events-calendar[data-ready]")
    expect(colleague.page.locator("#live-status")).to_have_attribute("data-state", "live")
    other.click(".view-switch button[data-view=list]")  # three months: next week's event is in it
    expect(other.locator(".events-list")).to_contain_text("No events in this period.")

    # Created in the manager's browser: it appears in the colleague's list.
    page.fill("#event-form input[name=title]", "Hội thảo ATTT miền Trung")
    page.fill("#event-form input[name=starts_at]", f"{day:%Y-%m-%d}T08:00")
    page.fill("#event-form input[name=ends_at]", f"{day:%Y-%m-%d}T17:00")
    page.fill("#event-form input[name=place]", "Đà Nẵng")
    page.click("#event-form button[type=submit]")
    expect(page.locator("#event-detail h2")).to_contain_text("Hội thảo ATTT miền Trung")
    row = other.locator(".events-list .event-row")
    expect(row).to_contain_text("Hội thảo ATTT miền Trung")

    # The colleague registers: the manager's open event counts HUE 1.
    row.locator(".event-chip").click()
    other.click("[data-testid=event-register]")
    expect(other.locator("[data-testid=event-register]")).to_have_text("Withdraw my registration")
    expect(page.locator("#event-detail .registrations li[data-centre='HUE']")).to_contain_text("HUE 1")

    # Changed by the manager: the colleague's list and open event show the new title.
    page.locator("#event-detail .event-actions button", has_text="Sửa").click()
    page.fill("#event-form input[name=title]", "Hội thảo ATTT miền Trung (đổi tên)")
    page.click("#event-form button[type=submit]")
    expect(other.locator("#event-detail h2")).to_contain_text("(đổi tên)")
    expect(row).to_contain_text("(đổi tên)")

    # Cancelled: struck through, and nobody can register any more.
    page.locator("#event-detail .event-actions button", has_text="Huỷ sự kiện").click()
    expect(other.locator("#event-detail h2")).to_contain_text("Cancelled")
    expect(other.locator("[data-testid=event-register]")).to_have_count(0)
    expect(other.locator(".events-list .event-row.cancelled")).to_have_count(1)
    assert other.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(other, "events-live-phone")
