"""The request page says whether the other centre has seen the latest public comment, and it changes
live: when someone of the other centre opens the request, the requester's open page (a phone, in
Vietnamese) and a colleague's (in English) say so without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from requests.services import add_comment, create_ticket
from tests.frontend.conftest import browser, hub, hub_extra_env, sign_in  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The server process checks passwords with the real hashers: keep them here."""


def test_the_requester_sees_live_that_the_target_centre_read_the_comment(make_user, sign_in):  # noqa: F811
    ht = make_user("ht.eng", centre="HT", display_name="Lê Hà")
    make_user("ht.eng2", centre="HT", display_name="Trần Hai", language="en")  # pages in English
    make_user("dn.eng", centre="DN", display_name="Võ Đà")
    ticket = create_ticket(by=ht, title="Nhờ rà soát", category="security", target_centre="DN")
    add_comment(ticket, by=ht, body="Chi tiết ở đây")
    requester = sign_in("ht.eng", phone=True)
    page = requester.goto(f"/tickets/{ticket.pk}/")
    expect(requester.page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.locator("[data-testid=comment-seen]")).to_have_text("DN chưa xem bình luận mới nhất.")
    colleague = sign_in("ht.eng2")
    other = colleague.goto(f"/tickets/{ticket.pk}/")
    expect(colleague.page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(other.locator("[data-testid=comment-seen]")).to_have_text("DN has not seen the latest comment yet.")

    target = sign_in("dn.eng")
    target.goto(f"/tickets/{ticket.pk}/")
    expect(target.page.locator("#ticket-title")).to_have_text("Nhờ rà soát")
    # No reload: the `ticket.seen` frame redraws the line on both open pages.
    expect(page.locator("[data-testid=comment-seen]")).to_contain_text("DN đã xem bình luận mới nhất")
    expect(page.locator("[data-testid=comment-seen]")).to_have_attribute("title", "Võ Đà")
    expect(other.locator("[data-testid=comment-seen]")).to_contain_text("DN has seen the latest comment")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on the phone
