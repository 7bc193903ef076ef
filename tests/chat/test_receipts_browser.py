"""Read receipts in the browser: a message shows "đã xem: DN 1" (names on hover) as soon as someone
of Đà Nẵng reads it, live; turning sharing off hides everyone's receipts (phone size too)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import browser, hub, hub_extra_env, sign_in, topic  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The server process checks passwords with the real hashers: keep them here."""


def test_seen_by_centre_live_and_the_sharing_switch(make_user, sign_in, topic):  # noqa: F811
    make_user("ht.eng", centre="HT", display_name="Lê Hà")
    make_user("dn.eng", centre="DN", display_name="Võ Đà")
    author = sign_in("ht.eng")
    page = author.goto(f"/topics/{topic.slug}/")
    author.wait_live()
    page.fill("#composer-input", "Xin chào Đà Nẵng")
    page.keyboard.press("Enter")
    expect(page.locator("#messages li.msg .msg-body").last).to_have_text("Xin chào Đà Nẵng")

    reader = sign_in("dn.eng", phone=True)
    rpage = reader.goto(f"/topics/{topic.slug}/")
    reader.wait_live()
    expect(rpage.locator("#messages li.msg .msg-body").last).to_have_text("Xin chào Đà Nẵng")

    receipt = page.locator("#messages li.msg").last.locator(".msg-receipts")
    expect(receipt).to_have_text("đã xem: DN 1")  # live, without a reload
    expect(receipt).to_have_attribute("title", "DN: Võ Đà")
    expect(page.locator("[data-testid=receipts-share] input")).to_be_checked()

    page.uncheck("[data-testid=receipts-share] input")
    expect(receipt).to_be_hidden()
    page.reload()
    author.wait_live()
    expect(page.locator("[data-testid=receipts-share] input")).not_to_be_checked()
    expect(page.locator("#messages li.msg .msg-receipts:visible")).to_have_count(0)
