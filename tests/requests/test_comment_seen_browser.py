"""The request page says whether the other centre has seen the latest public comment."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from requests.services import add_comment, create_ticket
from tests.frontend.conftest import browser, hub, hub_extra_env, sign_in  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The server process checks passwords with the real hashers: keep them here."""


def test_the_requester_sees_that_the_target_centre_read_the_comment(make_user, sign_in):  # noqa: F811
    ht = make_user("ht.eng", centre="HT", display_name="Lê Hà")
    make_user("dn.eng", centre="DN", display_name="Võ Đà")
    ticket = create_ticket(by=ht, title="Nhờ rà soát", category="security", target_centre="DN")
    add_comment(ticket, by=ht, body="Chi tiết ở đây")
    requester = sign_in("ht.eng", phone=True)
    page = requester.goto(f"/tickets/{ticket.pk}/")
    expect(page.locator("[data-testid=comment-seen]")).to_have_text("DN chưa xem bình luận mới nhất.")
    target = sign_in("dn.eng")
    target.goto(f"/tickets/{ticket.pk}/")
    expect(target.page.locator("#ticket-title")).to_have_text("Nhờ rà soát")
    page.reload()
    expect(page.locator("[data-testid=comment-seen]")).to_contain_text("DN đã xem bình luận mới nhất")
    expect(page.locator("[data-testid=comment-seen]")).to_have_attribute("title", "Võ Đà")
