"""Merging, linking, splitting and templates on the request pages, in chromium at desktop and phone
size (issue 26 §4): what people see and click, against a real hub (PostgreSQL, Redis, daphne)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]


def fits(page) -> bool:
    """Nothing wider than the screen (no sideways scrolling on a phone)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.fixture
def duplicate_pair(make_user):
    from requests import services

    ht = make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    qb = make_user("qb.eng", centre="QB", display_name="Hoa (Quảng Bình)")
    make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)")
    survivor = services.create_ticket(by=ht, title="Cổng dịch vụ công lỗi chứng thư số", category="security",
                                      target_centre="DN")
    duplicate = services.create_ticket(by=qb, title="Lỗi chứng thư số trên cổng dịch vụ công", category="security",
                                       target_centre="DN", priority="urgent")
    services.add_comment(duplicate, by=qb, body="Người dân không nộp được hồ sơ từ sáng nay.")
    return survivor, duplicate


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_handling_centre_merges_a_duplicate_and_its_address_leads_to_the_survivor(duplicate_pair, sign_in,
                                                                                         phone):
    survivor, duplicate = duplicate_pair
    minh = sign_in("dn.eng", phone=phone)
    minh.page.on("dialog", lambda dialog: dialog.accept())
    minh.page.goto(f"/tickets/{duplicate.pk}/")
    expect(minh.page.locator("#merge-section")).to_be_visible()
    assert fits(minh.page)
    minh.page.fill("#merge-into", survivor.reference)
    minh.page.click("#merge-form button[type=submit]")
    minh.page.wait_for_url(re.compile(rf"/tickets/{survivor.pk}/\?merged_from={duplicate.pk}$"))
    expect(minh.page.locator("#ticket-merged-here")).to_contain_text(duplicate.reference)
    merged = minh.page.locator(f"#ticket-merged-from details[data-ticket-id='{duplicate.pk}']")
    expect(merged).to_contain_text("Người dân không nộp được hồ sơ từ sáng nay.")
    expect(minh.page.locator("#ticket-timeline li[data-kind=merged_from]")).to_have_count(1)
    assert fits(minh.page)
    screenshot(minh.page, "ticket-merged" + ("-phone" if phone else ""))

    # The duplicate's requester follows its old address to the survivor, which it now watches.
    hoa = sign_in("qb.eng", phone=phone)
    hoa.page.goto(f"/tickets/{duplicate.pk}/")
    hoa.page.wait_for_url(re.compile(rf"/tickets/{survivor.pk}/\?merged_from={duplicate.pk}$"))
    expect(hoa.page.locator("#ticket-watchers")).to_contain_text("Hoa (Quảng Bình)")
    # The pointer itself (?stay=1) is read-only: no comment form, a banner to the survivor.
    hoa.page.goto(f"/tickets/{duplicate.pk}/?stay=1")
    expect(hoa.page.locator("#ticket-status")).to_have_attribute("data-status", "merged")
    expect(hoa.page.locator("#merged-into-link")).to_have_attribute("href", f"/tickets/{survivor.pk}/")
    expect(hoa.page.locator("#comment-form")).to_be_hidden()

    # HT could never read QB's request: the survivor shows it nothing of it.
    lan = sign_in("ht.eng", phone=phone)
    lan.page.goto(f"/tickets/{survivor.pk}/")
    expect(lan.page.locator("#ticket-title")).to_have_text(survivor.title)
    expect(lan.page.locator("#merged-from-section")).to_be_hidden()
    expect(lan.page.locator("#merge-section")).to_be_hidden()  # HT does not handle it


def test_links_and_a_split_on_the_request_page(duplicate_pair, sign_in, make_user):
    from alerts.services import raise_alert
    from requests.services import add_comment

    survivor, duplicate = duplicate_pair
    officer = make_user("dn.sec", centre="DN", role="security_officer")
    alert = raise_alert(by=officer, title="Chứng thư số giả mạo", severity="high", tlp="clear")
    add_comment(survivor, by=survivor.requested_by, body="Ngoài ra: cần gia hạn tên miền.")
    lan = sign_in("ht.eng")
    lan.page.goto(f"/tickets/{survivor.pk}/")
    other = _another_request(survivor)
    lan.page.select_option("#link-kind", "caused_by")
    lan.page.fill("#link-target", other.reference)
    lan.page.click("#link-form button[type=submit]")
    expect(lan.page.locator("#ticket-links li[data-link-id]")).to_contain_text(other.reference)
    lan.page.goto(f"/tickets/{other.pk}/")
    expect(lan.page.locator("#ticket-links li[data-link-id]")).to_contain_text("gây ra")  # "causes", from there

    lan.page.goto(f"/tickets/{survivor.pk}/")
    lan.page.select_option("#link-what", "alert")
    lan.page.fill("#link-target", str(alert.pk))
    lan.page.click("#link-form button[type=submit]")
    expect(lan.page.locator("#ticket-links")).to_contain_text("Chứng thư số giả mạo")
    lan.page.goto(f"/alerts/{alert.pk}/")  # shown on the alert too
    expect(lan.page.locator("#alert-links")).to_contain_text(survivor.reference)

    lan.page.goto(f"/tickets/{survivor.pk}/")
    lan.page.locator("#ticket-timeline li.comment", has_text="gia hạn tên miền").locator(".split-pick").check()
    lan.page.fill("#split-title", "Gia hạn tên miền cổng dịch vụ công")
    lan.page.click("#split-form button[type=submit]")
    lan.page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    expect(lan.page.locator("#ticket-title")).to_have_text("Gia hạn tên miền cổng dịch vụ công")
    expect(lan.page.locator("#ticket-timeline")).to_contain_text("Ngoài ra: cần gia hạn tên miền.")
    expect(lan.page.locator("#ticket-links")).to_contain_text(survivor.reference)
    # The same page in English, once the person chooses it.
    lan.page.select_option("#lang-select", "en")
    expect(lan.page.locator("#h-links")).to_have_text("Links")
    expect(lan.page.locator("#ticket-links li[data-link-id] .tag")).to_have_text("split from")


def _another_request(ticket):
    from requests.services import create_ticket

    return create_ticket(by=ticket.requested_by, title="Máy chủ DNS cấu hình sai", category="security",
                         target_centre="DN")


SHARE = {"vi": ("Chia sẻ với mọi trung tâm", "chia sẻ với mọi trung tâm"),
         "en": ("Share with every centre", "shared with every centre")}


@pytest.mark.parametrize("phone", [False, True], ids=["desktop-vi", "phone-en"])
def test_a_manager_keeps_a_template_and_a_requester_opens_a_request_from_it(make_user, sign_in, phone):
    language = "en" if phone else "vi"
    make_user("dn.mgr", centre="DN", role="manager", display_name="Hùng (Đà Nẵng)", language=language)
    make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)", language=language)
    hung = sign_in("dn.mgr", phone=phone)
    hung.page.goto("/tickets/templates/")
    hung.page.click("#template-new")
    hung.page.fill("#tp-name", "Đăng ký thi chứng chỉ")
    hung.page.select_option("#tp-category", "training")
    hung.page.select_option("#tp-target", "DN")
    hung.page.fill("#tp-title", "Đăng ký thi chứng chỉ CNTT – {centre}")
    hung.page.fill("#tp-description", "Đầu mối: {requester}.")
    hung.page.fill("#tp-checklist", "Danh sách thí sinh\nẢnh 3×4")
    # Its TLP, and shared with every centre (else only Đà Nẵng's people would see it).
    hung.page.select_option("#tp-tlp", "green")
    expect(hung.page.locator("label[for=tp-shared]")).to_have_text(SHARE[language][0])
    hung.page.check("#tp-shared")
    hung.page.click("#template-form button[type=submit]")
    item = hung.page.locator("#template-list li[data-template-id]")
    expect(item).to_contain_text("Đăng ký thi chứng chỉ")
    expect(item.locator(".tlp-label")).to_have_text("TLP:GREEN")
    expect(item.locator(".template-sharing")).to_have_text(SHARE[language][1])
    assert fits(hung.page)

    lan = sign_in("ht.eng", phone=phone)
    lan.page.goto("/tickets/new/")
    lan.page.select_option("#t-template", label="Đăng ký thi chứng chỉ (DN)")
    expect(lan.page.locator("#t-title")).to_have_value("Đăng ký thi chứng chỉ CNTT – HT")
    expect(lan.page.locator("#t-description")).to_have_value(
        "Đầu mối: Lan (Hà Tĩnh).\n\n- [ ] Danh sách thí sinh\n- [ ] Ảnh 3×4")
    expect(lan.page.locator("#t-target")).to_have_value("DN")
    # The template's TLP is the request's default, and nothing looser is offered.
    expect(lan.page.locator("#t-tlp")).to_have_value("green")
    expect(lan.page.locator("#t-tlp option")).to_have_count(4)
    assert fits(lan.page)
    lan.page.click("#ticket-form button[type=submit]")
    lan.page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    expect(lan.page.locator("#ticket-title")).to_have_text("Đăng ký thi chứng chỉ CNTT – HT")
    expect(lan.page.locator("#ticket-tlp .tlp-label")).to_have_text("TLP:GREEN")
    expect(lan.page.locator("#ticket-description li")).to_have_text(["[ ] Danh sách thí sinh", "[ ] Ảnh 3×4"])
    # The engineer may use, not change, the template.
    lan.page.goto("/tickets/templates/")
    expect(lan.page.locator("#template-list .use-template")).to_have_count(1)
    expect(lan.page.locator("#template-list .edit-template")).to_have_count(0)
    expect(lan.page.locator("#template-new")).to_be_hidden()
