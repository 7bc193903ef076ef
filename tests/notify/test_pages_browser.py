"""The notification pages in chromium against a served hub: preferences (Vietnamese, English, a phone),
the webhook page (register, send test, delivery log, with a real receiver), the one-click unsubscribe."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from playwright.sync_api import expect

from notify.models import Email, NotifySettings, Preference, TopicSetting
from notify.tokens import unsubscribe_token
from notify.webhooks import deliver_webhooks
from tests.frontend.conftest import (  # noqa: F401  (fixtures)
    TIMEOUT_MS,
    browser,
    hub,
    hub_extra_env,
    screenshot,
    sign_in,
    topic,
)

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """Overrides the package's MD5 hashing: the served hub checks passwords with its own hashers."""


def test_preferences_are_saved_in_the_database_from_the_vietnamese_page(cast, sign_in, topic):  # noqa: F811
    person = sign_in("ht.engineer")
    page = person.page
    page.click("#bell")
    page.click("[data-testid=notification-settings]")
    expect(page.locator("h1")).to_have_text("Cài đặt thông báo")
    expect(page.locator("[data-testid=channel-mention]")).to_have_value("email")  # the engineer's default
    page.select_option("[data-testid=channel-ticket]", "digest")
    page.select_option("[data-testid=channel-alert_high]", "email")
    page.select_option("[data-testid=digest]", "daily")
    page.uncheck("#quiet_hours")
    page.select_option("#topic-phat-trien-phan-mem", "mentions")
    page.click("[data-testid=save-preferences]")
    expect(page.locator("[data-testid=flash-success]")).to_have_text("Đã lưu cài đặt thông báo.")
    page.reload()
    expect(page.locator("[data-testid=channel-ticket]")).to_have_value("digest")
    expect(page.locator("#quiet_hours")).not_to_be_checked()
    stored = dict(Preference.objects.filter(user=cast.ht_engineer).values_list("kind", "channel"))
    assert stored == {"alert_critical": "browser", "alert_high": "email", "alert_medium": "hub", "alert_low": "hub",
                      "escalation": "hub", "mention": "email", "ticket": "digest", "event": "email"}
    settings = NotifySettings.objects.get(user=cast.ht_engineer)
    assert (settings.digest, settings.quiet_hours) == ("daily", False)
    assert TopicSetting.objects.get(user=cast.ht_engineer).level == "mentions"
    page.click("[data-testid=test-email]")
    expect(page.locator("[data-testid=flash-success]")).to_contain_text("ht.engineer@ht.example.vn")
    assert Email.objects.filter(user=cast.ht_engineer, type="test").exists()
    # A wrong working day is refused in words, and changes nothing.
    page.fill("#work_start", "18:00")
    page.fill("#work_end", "08:00")
    page.click("[data-testid=save-preferences]")
    expect(page.locator("[data-testid=flash-error]")).to_contain_text("giờ kết thúc phải sau giờ bắt đầu")
    assert NotifySettings.objects.get(user=cast.ht_engineer).work_start.hour == 7


def test_the_preferences_page_in_english_on_a_phone(cast, browser, hub):  # noqa: F811
    context = browser.new_context(base_url=hub.http, locale="en-US", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies([{"name": "django_language", "value": "en", "url": hub.http}])
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", "dn.security")
    page.fill("#id_password", "pw-dn.security")
    page.click("form.login button[type=submit]")
    page.wait_for_url(hub.http + "/")
    page.goto("/settings/notifications/")
    expect(page.locator("h1")).to_have_text("Notification settings")
    expect(page.locator("label[for=channel-alert_critical]")).to_have_text("Critical alerts")
    expect(page.locator("[data-testid=channel-alert_critical]")).to_have_value("email")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing may force sideways scrolling on a phone"
    screenshot(page, "notification-settings-phone")
    page.select_option("#language", "en")
    page.click("[data-testid=save-preferences]")
    expect(page.locator("[data-testid=flash-success]")).to_have_text("Your notification settings are saved.")
    cast.dn_security.refresh_from_db()
    assert cast.dn_security.language == "en"  # the one preference (hub.i18n): email, API, sockets
    context.close()


@pytest.mark.parametrize("hub_extra_env", [{"HUB_WEBHOOK_ALLOW_PRIVATE": "1"}], indirect=True)
def test_a_manager_registers_a_webhook_sends_a_test_and_reads_the_log(cast, sign_in, receiver, allow_private):  # noqa: F811
    person = sign_in("dn.manager")
    page = person.page
    page.goto("/settings/webhooks/")
    expect(page.locator("h1")).to_have_text("Webhook")
    page.fill("#wh-url", receiver.url)
    page.fill("#wh-name", "SIEM Đà Nẵng")
    page.check("input[name=events][value=alert]")
    page.click("[data-testid=webhook-register]")
    flash = page.locator("[data-testid=flash-success]")
    expect(flash).to_contain_text("Khoá bí mật (chỉ hiển thị lần này)")
    shown = re.search(r": (\S+)$", flash.inner_text())
    assert shown is not None
    secret = shown.group(1)
    card = page.locator("section.webhook")
    expect(card.locator("h2")).to_contain_text("SIEM Đà Nẵng")
    card.locator("[data-testid=webhook-test]").click()
    expect(page.locator("[data-testid=flash-success]")).to_contain_text("Đã xếp hàng một lần gửi thử")
    assert deliver_webhooks()["delivered"] == 1  # what the worker does
    page.reload()
    expect(page.locator("[data-testid=delivery-delivered]")).to_contain_text("HTTP 200")
    [request] = receiver.requests
    timestamp = request["headers"]["X-Hub-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Hub-Signature-256"] == f"sha256={expected}"
    screenshot(page, "webhooks")
    # A private address is refused with the reason, in Vietnamese, when the deployment does not allow it.


def test_webhooks_refuse_a_private_address_on_the_page(cast, sign_in):  # noqa: F811
    page = sign_in("dn.manager").page
    page.goto("/settings/webhooks/")
    page.fill("#wh-url", "http://10.0.0.5/hook")
    page.check("input[name=events][value=ticket]")
    page.click("[data-testid=webhook-register]")
    expect(page.locator("[data-testid=flash-error]")).to_contain_text("url: bị từ chối")
    expect(page.locator("#wh-url")).to_have_value("http://10.0.0.5/hook")  # kept for correcting


def test_an_engineer_has_no_webhook_page(cast, sign_in, hub):  # noqa: F811
    page = sign_in("dn.engineer").page
    answer = page.goto("/settings/webhooks/")
    assert answer.status == 404


def test_the_unsubscribe_link_asks_then_stops_that_email(cast, browser, hub):  # noqa: F811
    context = browser.new_context(base_url=hub.http, locale="vi-VN")
    page = context.new_page()
    page.goto(f"/notifications/unsubscribe/{unsubscribe_token(user_id=cast.dn_manager.pk, what='escalation')}/")
    assert not Preference.objects.filter(user=cast.dn_manager).exists()  # opening the link changed nothing
    page.click("[data-testid=confirm-unsubscribe]")
    expect(page.locator("[data-testid=unsubscribed]")).to_contain_text("Hub không còn gửi email")
    assert Preference.objects.get(user=cast.dn_manager, kind="escalation").channel == "hub"
    context.close()


def test_the_bell_shows_what_happened_while_no_tab_was_open_and_opening_it_counts_as_seen(  # noqa: F811
        cast, sign_in, topic):  # noqa: F811
    from chat.services import post_message
    from notify.models import Notification

    post_message(topic, by=cast.ht_engineer, body="@dn.engineer xem giúp bản vá")
    page = sign_in("dn.engineer").page  # signs in afterwards, on another device
    expect(page.locator("#bell-count")).to_have_text("1")
    assert Notification.objects.get(user=cast.dn_engineer).seen_at is None
    page.click("#bell")
    expect(page.locator("#bell-list")).to_contain_text("nhắc đến bạn")
    expect(page.locator("#bell-count")).to_be_hidden()
    for _ in range(50):  # the page tells the server in the background
        if Notification.objects.get(user=cast.dn_engineer).seen_at is not None:
            break
        page.wait_for_timeout(100)
    assert Notification.objects.get(user=cast.dn_engineer).seen_at is not None  # and so it is never emailed
