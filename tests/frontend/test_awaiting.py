"""Alerts that cannot be missed, and pages that say whether they are live (issue 23).

An alert waiting for MY centre's acknowledgement stays on every page — a banner that collapses but
cannot be dismissed — counts in the bell, and has a block on the home page, until someone of my
centre acknowledges it. Every page shows the connection state and catches up after a drop.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture
def raised(make_user):
    from alerts.services import raise_alert

    officer = make_user("ht.sec", centre="HT", role="security_officer", display_name="An (ATTT Hà Tĩnh)")
    make_user("dn.mgr", centre="DN", role="manager", display_name="Bình (Quản lý Đà Nẵng)")
    make_user("dn.eng", centre="DN", display_name="Châu (Kỹ sư Đà Nẵng)")
    make_user("qt.sec", centre="QT", role="security_officer")
    return raise_alert(by=officer, title="Mã độc mã hoá dữ liệu", severity="critical", tlp="clear",
                       description="Một máy chủ bị mã hoá.")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_an_alert_raised_before_sign_in_stays_on_every_page_until_my_centre_acknowledges(raised, sign_in, phone):
    manager = sign_in("dn.mgr", phone=phone)
    page = manager.page
    banner = page.locator(f".alert-banner[data-alert-id='{raised.pk}']")
    expect(banner).to_have_class(re.compile("awaiting"))
    expect(banner).to_contain_text("Mã độc mã hoá dữ liệu")
    expect(banner).to_contain_text("Chờ")  # "Waiting for your acknowledgement", in Vietnamese
    expect(banner.locator(".dismiss-button")).to_have_count(0)  # it cannot be dismissed
    expect(page.locator("#bell-count")).to_have_text("1")
    expect(page.locator("#home-awaiting li")).to_have_count(1)
    expect(page.locator("#home-awaiting")).to_contain_text("Mã độc mã hoá dữ liệu")
    screenshot(page, "home-awaiting" + ("-phone" if phone else ""))

    # collapsed to one line, it follows the person to every page and stays collapsed there
    banner.locator(".collapse-button").click()
    expect(banner).to_have_class(re.compile("collapsed"))
    expect(banner.locator(".collapse-button")).to_have_attribute("aria-expanded", "false")
    for path in ("/tickets/", "/alerts/", f"/alerts/{raised.pk}/"):
        page.goto(path)
        expect(banner).to_have_class(re.compile("collapsed"))
        expect(page.locator("#bell-count")).to_have_text("1")
    page.click("#bell")  # opening the bell reads the notifications but not the alert
    expect(page.locator("#bell-list li.awaiting")).to_contain_text("Mã độc mã hoá dữ liệu")
    expect(page.locator("#bell-count")).to_have_text("1")
    page.click("#bell")

    banner.locator(".collapse-button").click()
    banner.locator(".ack-button").click()
    expect(banner.locator(".ack-status")).to_contain_text("DN")
    expect(banner).not_to_have_class(re.compile("awaiting"))
    page.goto("/")
    expect(page.locator(".alert-banner")).to_have_count(0)
    expect(page.locator("#home-awaiting")).not_to_contain_text("Mã độc mã hoá dữ liệu")
    page.goto("/alerts/")
    # the list's acknowledgement column: DN of the three other centres (DN, QT and HUE... here DN, QT)
    expect(page.locator(f"#alert-rows tr[data-alert-id='{raised.pk}'] [data-testid=ack-progress]")).to_have_text(
        re.compile(r"^1 / \d+$"))


def test_a_colleagues_acknowledgement_ends_the_banner_live_and_the_raising_centre_gets_none(raised, sign_in):
    engineer = sign_in("dn.eng")  # engineers cannot acknowledge, but see what waits for their centre
    banner = engineer.page.locator(".alert-banner")
    expect(banner).to_have_count(1)
    expect(banner).to_have_class(re.compile("awaiting"))
    expect(banner.locator(".ack-button")).to_have_count(0)
    officer = sign_in("ht.sec")
    expect(officer.page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(officer.page.locator(".alert-banner")).to_have_count(0)  # the raising centre knows already
    expect(officer.page.locator("#home-awaiting li.muted")).to_have_count(1)

    manager = sign_in("dn.mgr")
    manager.page.locator(".alert-banner.awaiting .ack-button").click()
    expect(banner.locator(".ack-status")).to_contain_text("DN")  # on the engineer's page, live
    expect(engineer.page.locator("#bell-list li.awaiting")).to_have_count(0)


def test_every_page_shows_the_connection_and_catches_up_after_a_drop(raised, sign_in, make_user):
    from alerts.services import raise_alert
    from hub.models import User

    manager = sign_in("dn.mgr")
    page = manager.page
    for path in ("/", "/alerts/", "/tickets/"):
        page.goto(path)
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        expect(page.locator("#live-status")).to_have_text("Trực tuyến")
    page.goto("/alerts/")
    expect(page.locator("#alert-rows tr[data-alert-id]")).to_have_count(1)
    manager.context.set_offline(True)
    expect(page.locator("#live-status")).not_to_have_attribute("data-state", "live")
    second = raise_alert(by=User.objects.get(username="qt.sec"), title="Dò quét cổng dịch vụ công",
                         severity="high", tlp="clear")
    manager.context.set_offline(False)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    # what happened while the page was cut off is there without a reload
    expect(page.locator("#alert-rows tr[data-alert-id]")).to_have_count(2)
    expect(page.locator(f".alert-banner.awaiting[data-alert-id='{second.pk}']")).to_be_visible()
    expect(page.locator("#bell-count")).to_have_text("2")
