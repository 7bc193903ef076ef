"""Pages as a whole: Vietnamese by default and English on request (server and JavaScript strings),
the login form, the home page's panels, and a phone-sized screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import TIMEOUT_MS, screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]


def test_vietnamese_by_default_and_english_after_the_switch(make_user, sign_in, topic):
    make_user("ht.eng", centre="HT")
    lan = sign_in("ht.eng")
    page = lan.page
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("nav.main-nav")).to_contain_text("Chủ đề")
    page.goto("/topics/phat-trien-phan-mem/")
    expect(page.locator("#conn-status")).to_have_text("Trực tuyến")  # a JavaScript string, in Vietnamese
    expect(page.locator("h1")).to_have_text("Phát triển phần mềm")

    page.select_option("#lang-select", "en")  # choosing is enough: the page reloads in English
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("nav.main-nav")).to_contain_text("Topics")
    expect(page.locator("#conn-status")).to_have_text("Live")
    expect(page.locator("h1")).to_have_text("Software development")
    page.goto("/tickets/")
    expect(page.locator("h1")).to_have_text("Support requests")


def test_login_form_in_vietnamese_refuses_a_wrong_password(browser, hub, make_user):
    make_user("ht.eng", centre="HT")
    context = browser.new_context(base_url=hub.http, locale="vi-VN", viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/tickets/")
    assert "/accounts/login/" in page.url  # pages need a session
    expect(page.locator("label[for=id_username]")).to_have_text("Tên đăng nhập")
    screenshot(page, "login")
    page.fill("#id_username", "ht.eng")
    page.fill("#id_password", "sai-mat-khau")
    page.click("form.login button[type=submit]")
    expect(page.locator("p.error[role=alert]")).to_contain_text("không đúng")
    expect(page.locator("#id_username")).to_have_value("ht.eng")  # kept, only the password is retyped
    page.fill("#id_password", "pw-ht.eng")
    page.click("form.login button[type=submit]")
    page.wait_for_url(hub.http + "/tickets/")
    context.close()


def test_an_english_browser_still_gets_vietnamese_until_the_user_chooses_english(browser, hub, make_user):
    context = browser.new_context(base_url=hub.http, locale="en-US")
    page = context.new_page()
    page.goto("/accounts/login/")
    expect(page.locator("label[for=id_username]")).to_have_text("Tên đăng nhập")
    page.select_option("#lang-select", "en")
    page.click("#lang-submit")  # no JavaScript before login: the button submits
    expect(page.locator("label[for=id_username]")).to_have_text("Username")
    page.select_option("#lang-select", "vi")
    page.click("#lang-submit")
    expect(page.locator("label[for=id_username]")).to_have_text("Tên đăng nhập")
    context.close()


def test_home_lists_topics_alerts_and_my_centres_requests(make_user, sign_in, topic):
    from alerts.services import raise_alert
    from requests.services import create_ticket

    officer = make_user("qb.sec", centre="QB", role="security_officer")
    make_user("ht.eng", centre="HT")
    lan = sign_in("ht.eng")
    from hub.models import User

    raise_alert(by=officer, title="Mã độc mã hoá dữ liệu", severity="critical", tlp="clear",
                description="", indicators=[], affected_systems=[], recommended_actions="")
    create_ticket(by=User.objects.get(username="ht.eng"), title="Nhờ rà soát mã nguồn", category="software",
                  target_centre="QB")
    lan.page.reload()
    expect(lan.page.locator("#topic-list")).to_contain_text("Phát triển phần mềm")
    expect(lan.page.locator("#home-alerts")).to_contain_text("Mã độc mã hoá dữ liệu")
    expect(lan.page.locator("#home-tickets")).to_contain_text("Nhờ rà soát mã nguồn")
    screenshot(lan.page, "home")


def test_a_phone_sized_screen_keeps_the_topic_usable(make_user, browser, hub, topic):
    make_user("ht.eng", centre="HT")
    context = browser.new_context(base_url=hub.http, locale="vi-VN",
                                  viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", "ht.eng")
    page.fill("#id_password", "pw-ht.eng")
    page.click("form.login button[type=submit]")
    page.goto("/topics/phat-trien-phan-mem/")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "live")
    page.fill("#composer-input", "Gửi từ điện thoại")
    page.click("#send")
    expect(page.locator("#messages li.msg")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing may force sideways scrolling on a phone"
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "topic-phone")
    context.close()
