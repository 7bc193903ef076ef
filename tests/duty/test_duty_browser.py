"""The duty page in a browser (desktop and 390×844): a manager edits the roster in the week and month
views, imports an iCalendar file (and sees a translated refusal of a bad one) and shows the private
feed address; the officer on duty confirms, and every other page's duty board turns "confirmed"
live; the home page of security staff and the dashboard show the board."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from duty import services
from hub.models import Centre, User
from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The server process checks passwords with the real hashers: keep them here."""


def people(make_user):
    make_user("ht.manager", centre="HT", role="manager", display_name="Lê Văn Quản")
    officer = make_user("ht.security", centre="HT", role="security_officer", display_name="Nguyễn Thị An")
    make_user("ht.security2", centre="HT", role="security_officer", display_name="Trần Văn Bình")
    make_user("dn.manager", centre="DN", role="manager", display_name="Võ Quản Lý")
    return officer


def test_a_manager_keeps_the_roster_and_the_officer_confirms_live(make_user, sign_in):
    people(make_user)
    manager = sign_in("ht.manager")
    page = manager.goto("/duty/")
    page.wait_for_selector("#roster[data-ready]")
    expect(page.locator("#duty-board li[data-centre='HT']")).to_have_attribute("data-state", "nobody")
    expect(page.locator("#roster .calendar-day")).to_have_count(7)

    # Add today's shift through the form (officer + deputy).
    today = timezone.localdate()
    page.select_option("#shift-form select[name=officer]", "ht.security")
    page.select_option("#shift-form select[name=deputy]", "ht.security2")
    page.fill("#shift-form input[name=starts_at]", f"{today:%Y-%m-%d}T00:00")
    page.fill("#shift-form input[name=ends_at]", f"{today + timedelta(days=1):%Y-%m-%d}T00:00")
    page.click("#shift-form button[type=submit]")
    shift = page.locator(f"#roster .calendar-day[data-day='{today:%Y-%m-%d}'] .shift")
    expect(shift).to_contain_text("Nguyễn Thị An")
    expect(shift).to_contain_text("Trần Văn Bình")
    expect(page.locator("#duty-board li[data-centre='HT']")).to_have_attribute("data-state", "unconfirmed")

    # An overlapping shift is refused in Vietnamese; the month view shows the shift too.
    page.select_option("#shift-form select[name=officer]", "ht.security2")
    page.select_option("#shift-form select[name=deputy]", "")
    page.fill("#shift-form input[name=starts_at]", f"{today:%Y-%m-%d}T12:00")
    page.fill("#shift-form input[name=ends_at]", f"{today:%Y-%m-%d}T18:00")
    page.click("#shift-form button[type=submit]")
    expect(page.locator("#shift-error")).to_contain_text("trùng")
    page.click(".view-switch button[data-view=month]")
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    weeks = ((last + timedelta(days=6 - last.weekday())) - (first - timedelta(days=first.weekday()))).days // 7 + 1
    expect(page.locator("#roster .calendar-day")).to_have_count(7 * weeks)
    expect(page.locator(f"#roster .calendar-day[data-day='{today:%Y-%m-%d}'] .shift")).to_contain_text("Nguyễn Thị An")

    # The officer confirms; the manager's board turns green without a reload.
    officer = sign_in("ht.security")
    opage = officer.goto("/duty/")
    opage.click("[data-testid=confirm-duty]")
    expect(opage.locator("[data-testid=confirm-status]")).to_contain_text("Đã xác nhận")
    expect(page.locator("#duty-board li[data-centre='HT']")).to_have_attribute("data-state", "confirmed")
    # The officer's home page shows the board (security staff).
    opage.goto("/")
    expect(opage.locator("#duty-board li[data-centre='HT']")).to_have_attribute("data-state", "confirmed")
    screenshot(page, "duty-roster")


def test_import_export_and_the_feed_address(make_user, sign_in, tmp_path):
    people(make_user)
    start = timezone.localtime().replace(hour=7, minute=30, second=0, microsecond=0)
    ics = tmp_path / "roster.ics"
    ics.write_text("\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN",
        "BEGIN:VEVENT", "UID:import-1@test", f"DTSTART;TZID=Asia/Ho_Chi_Minh:{start:%Y%m%dT%H%M%S}",
        f"DTEND;TZID=Asia/Ho_Chi_Minh:{start + timedelta(hours=24):%Y%m%dT%H%M%S}",
        "X-HUB-OFFICER:ht.security2", "SUMMARY:Trực", "END:VEVENT", "END:VCALENDAR", ""]))
    bad = tmp_path / "bad.ics"
    bad.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260101T000000Z\r\n"
                   "X-HUB-OFFICER:dn.manager\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    manager = sign_in("ht.manager", phone=True)
    page = manager.goto("/duty/")
    page.wait_for_selector("#roster[data-ready]")
    page.set_input_files("#roster-import input[type=file]", str(bad))
    page.click("#roster-import button[type=submit]")
    expect(page.locator("[data-testid=import-error]")).to_contain_text("không phải")  # a stranger as officer
    page.set_input_files("#roster-import input[type=file]", str(ics))
    page.click("#roster-import button[type=submit]")
    expect(page.locator("[data-testid=import-result]")).to_contain_text("1")
    expect(page.locator(f"#roster .calendar-day[data-day='{start:%Y-%m-%d}'] .shift")).to_contain_text("Trần Văn Bình")
    with page.expect_download() as download:
        page.click("[data-testid=roster-export]")
    assert b"X-HUB-OFFICER:ht.security2" in open(download.value.path(), "rb").read()
    page.click("[data-testid=feed-show]")
    expect(page.locator("[data-testid=feed-url]")).to_have_value(re.compile(r"/calendar/[\w-]+\.ics$"))
    first = page.locator("[data-testid=feed-url]").input_value()
    page.click("[data-testid=feed-reset]")
    expect(page.locator("[data-testid=feed-url]")).not_to_have_value(first)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    screenshot(page, "duty-phone")


def test_the_dashboard_shows_every_centres_duty(make_user, sign_in):
    people(make_user)
    now = timezone.now()
    services.create_shift(Centre.objects.get(code="DN"), by=User.objects.get(username="dn.manager"),
                          starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8), officer="dn.manager")
    page = sign_in("ht.manager").goto("/dashboard/")
    expect(page.locator("#duty-board li[data-centre='DN']")).to_have_attribute("data-state", "unconfirmed")
    expect(page.locator("#duty-board li[data-centre='DN']")).to_contain_text("Võ Quản Lý")
