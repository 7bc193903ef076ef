"""Alerts in a real browser: a security officer raises one, another centre's manager sees the banner
(and a browser notification) at once and acknowledges it, and the raiser's page shows it live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]

# Observe the real Notification API (permission granted by the test) without replacing it.
RECORD_NOTIFICATIONS = """
window.__notified = [];
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) { super(title, options); window.__notified.push(title); }
};
"""


@pytest.fixture
def officer_and_manager(make_user, sign_in):
    make_user("ht.sec", centre="HT", role="security_officer", display_name="An (ATTT Hà Tĩnh)")
    make_user("dn.mgr", centre="DN", role="manager", display_name="Bình (Quản lý Đà Nẵng)")
    officer, manager = sign_in("ht.sec"), sign_in("dn.mgr")
    manager.context.grant_permissions(["notifications"])
    manager.context.add_init_script(RECORD_NOTIFICATIONS)
    manager.page.reload()
    expect(manager.page.locator("#bell")).to_have_attribute("data-state", "live")
    return officer, manager


def fill_alert(page, title: str, indicator: str) -> None:
    page.goto("/alerts/")
    page.click("#raise-details summary")
    page.fill("#a-title", title)
    page.select_option("#a-severity", "high")
    page.select_option("#a-tlp", "green")
    page.fill("#a-description", "Phát hiện **dò quét** từ địa chỉ lạ.")
    page.fill("#a-affected", "Cổng dịch vụ công")
    page.click("#add-indicator")
    page.select_option(".indicator-row select", "ipv4")
    page.fill(".indicator-row input", indicator)
    page.click("#alert-form button[type=submit]")


def test_raised_alert_reaches_another_centre_which_acknowledges_it_live(officer_and_manager):
    officer, manager = officer_and_manager
    fill_alert(officer.page, "Dò quét cổng dịch vụ công", "203.0.113.7")
    officer.page.wait_for_url(re.compile(r"/alerts/\d+/$"))
    dn_alert_url = officer.page.url
    expect(officer.page.locator("#alert-indicators")).to_contain_text("203.0.113.7")
    dn_row = officer.page.locator("[data-testid=ack-matrix] tr[data-centre=DN]")
    expect(dn_row).not_to_have_class(re.compile("ack-acknowledged"))

    banner = manager.page.locator(".alert-banner")
    expect(banner).to_contain_text("Dò quét cổng dịch vụ công")
    expect(banner).to_have_class(re.compile("severity-high"))
    assert manager.page.evaluate("window.__notified.length") == 1
    expect(manager.page.locator("#bell-count")).to_have_text("1")
    screenshot(manager.page, "alert-banner")
    banner.locator(".ack-button").click()
    expect(banner.locator(".ack-status")).to_contain_text("DN")

    expect(dn_row).to_have_class(re.compile("ack-acknowledged"))  # the raiser's page, live
    expect(dn_row).to_contain_text("Bình (Quản lý Đà Nẵng)")
    screenshot(officer.page, "alert")

    officer.page.goto("/alerts/")
    expect(officer.page.locator("#alert-rows tr[data-alert-id]")).to_have_count(1)
    screenshot(officer.page, "alerts")

    manager.page.goto(dn_alert_url)
    expect(manager.page.locator("#alert-ack-area .ok")).to_contain_text("DN")
    expect(manager.page.locator("#alert-timeline > li")).to_have_count(2)  # raised, acknowledged


def test_an_invalid_indicator_is_pointed_out_and_nothing_is_raised(officer_and_manager):
    officer, manager = officer_and_manager
    fill_alert(officer.page, "Địa chỉ sai", "999.1.1.1")
    # the error stands under the field it is about, in Vietnamese, without the API's field path
    field = officer.page.locator(".indicator-row input")
    expect(field).to_have_attribute("aria-invalid", "true")
    error_id = field.get_attribute("aria-describedby")
    expect(officer.page.locator(f"#{error_id}")).to_have_text("không phải địa chỉ hoặc mạng IPv4.")
    expect(officer.page.locator("#alert-form-error")).to_have_text("Vui lòng sửa các trường được đánh dấu.")
    expect(officer.page.locator("#alert-form-error")).not_to_contain_text("indicators.0")
    expect(field).to_have_value("999.1.1.1")  # what was typed stays
    expect(officer.page.locator(".indicator-row select option:checked")).to_have_text("Địa chỉ IPv4")
    assert officer.page.url.endswith("/alerts/")
    from alerts.models import Alert

    assert Alert.objects.count() == 0
    expect(manager.page.locator(".alert-banner")).to_have_count(0)


def test_engineers_get_no_raising_form(make_user, sign_in):
    make_user("ht.eng", centre="HT")
    engineer = sign_in("ht.eng")
    engineer.page.goto("/alerts/")
    expect(engineer.page.locator("#alert-rows")).to_be_visible()
    expect(engineer.page.locator("#alert-form")).to_have_count(0)
