"""Raising a TLP:RED alert, the form says who will see it before it is sent (issue 20): the centres
chosen and the raiser's own, or — none chosen — the raiser's centre alone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.services, pytest.mark.browser]


def test_the_raise_form_says_who_will_see_a_red_alert(make_user, sign_in):
    make_user("ht.security", centre="HT", role="security_officer")
    make_user("dn.security", centre="DN", role="security_officer")
    person = sign_in("ht.security")
    page = person.goto("/alerts/")
    page.click("#raise-details summary")  # the form is folded until asked for
    page.select_option("#a-tlp", "red")
    hint = page.locator("[data-testid=shared-hint]")
    expect(hint).to_have_text("Chưa chọn trung tâm nào: chỉ trung tâm của bạn (HT) thấy cảnh báo này.")
    page.wait_for_selector("#a-shared option[value=DN]", state="attached")
    page.select_option("#a-shared", ["DN"])
    expect(hint).to_have_text("Chỉ HT, DN thấy cảnh báo này.")
