"""Phone-first (issue 23): at 390×844 no page is wider than the screen, and the hub installs as a web
app (a manifest with icons that load)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.services, pytest.mark.browser]

PAGES = ["/", "/alerts/", "/tickets/", "/tickets/new/", "/topics/phat-trien-phan-mem/", "/settings/notifications/"]


@pytest.fixture
def busy_hub(make_user, topic):
    from alerts.services import raise_alert
    from requests import services

    officer = make_user("ht.sec", centre="HT", role="security_officer", display_name="An (ATTT Hà Tĩnh)")
    make_user("dn.mgr", centre="DN", role="manager", display_name="Bình (Quản lý Đà Nẵng)")
    raise_alert(by=officer, title="Mã độc mã hoá dữ liệu trên máy chủ cổng dịch vụ công trực tuyến của tỉnh",
                severity="critical", tlp="clear", description="Một máy chủ bị mã hoá.")
    ticket = services.create_ticket(by=officer, title="Hỗ trợ cấu hình tường lửa cho cổng dịch vụ công trực tuyến",
                                    category="security", priority="high", target_centre="DN",
                                    description="Cần hỗ trợ `iptables -A INPUT -s 203.0.113.0/24 -j DROP` gấp.")
    return ticket


def page_width(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_no_page_is_wider_than_a_phone(busy_hub, sign_in):
    person = sign_in("dn.mgr", phone=True)
    page = person.page
    for path in [*PAGES, f"/tickets/{busy_hub.pk}/", "/dashboard/"]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        scroll, screen = page_width(page)
        assert scroll <= screen, f"{path} is {scroll}px wide on a {screen}px screen"


def test_the_hub_installs_as_a_web_app(busy_hub, sign_in):
    person = sign_in("dn.mgr", phone=True)
    page = person.page
    href = page.locator("link[rel=manifest]").get_attribute("href")
    response = page.request.get(href)
    assert response.status == 200
    manifest = json.loads(response.text())
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone" and manifest["lang"] == "vi"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    base = page.url.rstrip("/") + href.rsplit("/", 1)[0] + "/"
    for icon in manifest["icons"]:
        image = page.request.get(base + icon["src"])
        assert image.status == 200 and image.headers["content-type"] == "image/png"
    expect(page.locator("meta[name=theme-color]")).to_have_attribute("content", manifest["theme_color"])


def test_keyboard_hints_only_where_there_is_a_keyboard(busy_hub, sign_in):
    desktop = sign_in("dn.mgr").page
    desktop.goto("/topics/phat-trien-phan-mem/")
    expect(desktop.locator("[data-testid=keyboard-hint]")).to_have_text("Enter để gửi, Shift+Enter để xuống dòng.")
    phone = sign_in("ht.sec", phone=True).page
    phone.goto("/topics/phat-trien-phan-mem/")
    expect(phone.locator("#composer-input")).to_be_visible()
    expect(phone.locator("[data-testid=keyboard-hint]")).to_be_hidden()
