"""The dashboard in a real browser: charts drawn from the served numbers, no script or CSP errors,
and the figures follow a ticket created elsewhere without reloading the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import browser, hub, hub_extra_env, sign_in  # noqa: F401  (fixtures)

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
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('canvas')].filter((c) => window.Chart.getChart(c)).length"
    )
    assert drawn >= 2  # open requests by status × centre, and by category
    link.click()
    page.wait_for_url(re.compile(r"/tickets/\?status=new&centre=DN$"))
