"""The dashboard and the cooperation report in a real browser: server-drawn charts, numbers in the
viewer's language, no horizontal scrolling on a phone, year links only where there is data, no script
or CSP errors, and the figures follow a ticket created elsewhere without reloading the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import browser, hub, hub_extra_env, screenshot, sign_in  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.services, pytest.mark.browser]


def test_dashboard_draws_charts_and_updates_live(make_user, sign_in):  # noqa: F811
    make_user("ht.manager", centre="HT", role="manager")
    make_user("ht.eng", centre="HT")
    make_user("dn.eng", centre="DN")
    manager = sign_in("ht.manager")
    engineer = sign_in("ht.eng")

    page = manager.goto("/dashboard/")
    expect(page.locator("[data-total=open]")).to_have_text("0")
    engineer.page.goto("/tickets/new/")
    engineer.page.fill("#t-title", "Hỗ trợ rà soát mã độc")
    engineer.page.select_option("#t-category", "security")
    engineer.page.select_option("#t-priority", "high")
    engineer.page.select_option("#t-target", "DN")
    engineer.page.click("#ticket-form button[type=submit]")
    engineer.page.wait_for_url(re.compile(r"/tickets/\d+/$"))

    # The HT manager's notifications stream carries the ticket frame; the page re-fetches its figures.
    expect(page.locator("[data-total=open]")).to_have_text("1")
    table = page.locator("#table-open_by_status_centre")
    expect(table).to_contain_text("DN")
    link = table.locator("a[href='/tickets/?status=new&centre=DN']")
    expect(link).to_have_text("1")
    # The swapped-in figures carry their redrawn charts: open requests by status × centre, by category.
    expect(page.locator("#chart-open_by_status_centre svg text.label")).to_have_text(["DN"])
    expect(page.locator("#chart-open_by_category svg")).to_be_visible()
    link.click()
    page.wait_for_url(re.compile(r"/tickets/\?status=new&centre=DN$"))


@pytest.mark.parametrize(("locale", "total", "axis"), [
    ("vi-VN", "1.234", ["0", "500", "1.000", "1.500"]),
    ("en-US", "1,234", ["0", "500", "1,000", "1,500"]),
])
def test_dashboard_and_report_on_a_phone_in_both_languages(make_user, sign_in, hub, locale, total, axis):  # noqa: F811
    from django.utils import timezone

    from chat.models import Message, Topic

    make_user("ht.manager", centre="HT", role="manager")
    author = make_user("ht.eng", centre="HT")
    topic = Topic.objects.create(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security")
    Message.objects.bulk_create([Message(topic=topic, author=author, body="x", html="<p>x</p>") for _ in range(1234)])
    year = timezone.localdate().year

    person = sign_in("ht.manager", locale=locale, phone=True)
    # Pages speak the language chosen in the hub (cookie or the person's preference), not the browser's.
    person.context.add_cookies([{"name": "django_language", "value": locale[:2], "url": hub.http}])
    page = person.page
    page.goto("/dashboard/")
    heading = "Bảng điều khiển của lãnh đạo" if locale == "vi-VN" else "Managers' dashboard"
    expect(page.locator("h1")).to_have_text(heading)
    expect(page.locator("[data-total=messages]")).to_have_text(total)
    chart = page.locator("#chart-messages_by_topic_centre svg")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] <= 390 and box["height"] > 100
    assert chart.locator("text.tick").all_text_contents() == axis  # whole numbers, the language's separators
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    chart.scroll_into_view_if_needed()
    screenshot(page, f"dashboard-phone-{locale[:2]}")
    # Only the years with data are offered: this one (no empty 2 years back).
    links = page.locator("#report-years a")
    expect(links).to_have_count(1)
    assert links.get_attribute("href") == f"/reports/cooperation/{year}/"

    links.click()
    page.wait_for_url(f"**/reports/cooperation/{year}/")
    expect(page.locator("#chart-participation svg")).to_be_visible()
    expect(page.locator("#table-participation")).to_contain_text(total)
    expect(page.locator(".report-totals")).to_contain_text(total)
    assert page.locator("a[rel=prev], a[rel=next]").count() == 0  # neighbouring years have no data
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator('a[href$=".pdf"]').count() == 1
    page.locator("#chart-participation").scroll_into_view_if_needed()
    screenshot(page, f"cooperation-report-phone-{locale[:2]}")
