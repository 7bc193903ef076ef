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
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"))


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


MERGE_WORDS = {
    "vi": {"heading": "Yêu cầu bị trùng?", "label": "Gộp yêu cầu này vào", "button": "Gộp",
           "confirm": "Gộp yêu cầu này vào {into}? Yêu cầu này sẽ chỉ còn để đọc.",
           "here": "{ref} đã được gộp vào yêu cầu này.", "section": "Đã gộp vào yêu cầu này",
           "story": "Minh (Đà Nẵng) (DN) gộp yêu cầu trùng {ref} vào yêu cầu này.",
           "pointer": "Yêu cầu này đã được gộp vào yêu cầu khác và chỉ còn để đọc: yêu cầu #{id}",
           "pointer_story": "Minh (Đà Nẵng) (DN) gộp yêu cầu này vào {ref}; từ nay yêu cầu này chỉ để xem."},
    "en": {"heading": "Duplicate request?", "label": "Merge this request into", "button": "Merge",
           "confirm": "Merge this request into {into}? It becomes read-only.",
           "here": "{ref} was merged into this request.", "section": "Merged into this request",
           "story": "Minh (Đà Nẵng) (DN) merged the duplicate {ref} into this request.",
           "pointer": "This request was merged into another one and is read-only: request #{id}",
           "pointer_story": "Minh (Đà Nẵng) (DN) merged this request into {ref}; it is read-only now."},
}
LOCALE = {"vi": "vi-VN", "en": "en-US"}


@pytest.mark.parametrize(("phone", "language"), [(False, "vi"), (True, "en")], ids=["desktop-vi", "phone-en"])
def test_the_handling_centre_merges_a_duplicate_and_its_address_leads_to_the_survivor(duplicate_pair, sign_in,
                                                                                         phone, language):
    from hub.models import User

    survivor, duplicate = duplicate_pair
    User.objects.update(language=language)
    words = MERGE_WORDS[language]
    minh = sign_in("dn.eng", locale=LOCALE[language], phone=phone)
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    minh.page.on("dialog", answer)
    minh.page.goto(f"/tickets/{duplicate.pk}/")
    expect(minh.page.locator("#merge-section")).to_be_visible()
    expect(minh.page.locator("#h-merge")).to_have_text(words["heading"])
    expect(minh.page.locator("label[for=merge-into]")).to_have_text(words["label"])
    expect(minh.page.locator("#merge-form button[type=submit]")).to_have_text(words["button"])
    assert fits(minh.page)
    minh.page.fill("#merge-into", survivor.reference)
    minh.page.click("#merge-form button[type=submit]")
    minh.page.wait_for_url(re.compile(rf"/tickets/{survivor.pk}/\?merged_from={duplicate.pk}$"))
    assert asked == [words["confirm"].format(into=survivor.reference)]
    expect(minh.page.locator("#ticket-merged-here")).to_have_text(words["here"].format(ref=duplicate.reference))
    expect(minh.page.locator("#h-merged-from")).to_have_text(words["section"])
    merged = minh.page.locator(f"#ticket-merged-from details[data-ticket-id='{duplicate.pk}']")
    expect(merged).to_contain_text("Người dân không nộp được hồ sơ từ sáng nay.")
    entry = minh.page.locator("#ticket-timeline li[data-kind=merged_from]")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(words["story"].format(ref=duplicate.reference))
    assert fits(minh.page)
    screenshot(minh.page, f"ticket-merged-{'phone' if phone else 'desktop'}-{language}")

    # The duplicate's requester follows its old address to the survivor, which it now watches.
    hoa = sign_in("qb.eng", locale=LOCALE[language], phone=phone)
    hoa.page.goto(f"/tickets/{duplicate.pk}/")
    hoa.page.wait_for_url(re.compile(rf"/tickets/{survivor.pk}/\?merged_from={duplicate.pk}$"))
    expect(hoa.page.locator("#ticket-watchers")).to_contain_text("Hoa (Quảng Bình)")
    # The pointer itself (?stay=1) is read-only: no comment form, a banner to the survivor.
    hoa.page.goto(f"/tickets/{duplicate.pk}/?stay=1")
    expect(hoa.page.locator("#ticket-status")).to_have_attribute("data-status", "merged")
    expect(hoa.page.locator("#ticket-merged")).to_have_text(words["pointer"].format(id=survivor.pk))
    expect(hoa.page.locator("#merged-into-link")).to_have_attribute("href", f"/tickets/{survivor.pk}/")
    expect(hoa.page.locator("#ticket-timeline li[data-kind=merged]")).to_have_text(
        re.compile(re.escape(words["pointer_story"].format(ref=survivor.reference))))
    expect(hoa.page.locator("#comment-form")).to_be_hidden()

    # HT could never read QB's request: the survivor shows it nothing of it.
    lan = sign_in("ht.eng", locale=LOCALE[language], phone=phone)
    lan.page.goto(f"/tickets/{survivor.pk}/")
    expect(lan.page.locator("#ticket-title")).to_have_text(survivor.title)
    expect(lan.page.locator("#merged-from-section")).to_be_hidden()
    expect(lan.page.locator("#merge-section")).to_be_hidden()  # HT does not handle it


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_links_and_a_split_on_the_request_page(duplicate_pair, sign_in, make_user, phone):
    from alerts.services import raise_alert
    from requests.services import add_comment

    survivor, duplicate = duplicate_pair
    officer = make_user("dn.sec", centre="DN", role="security_officer")
    alert = raise_alert(by=officer, title="Chứng thư số giả mạo", severity="high", tlp="clear")
    add_comment(survivor, by=survivor.requested_by, body="Ngoài ra: cần gia hạn tên miền.")
    lan = sign_in("ht.eng", phone=phone)
    lan.page.goto(f"/tickets/{survivor.pk}/")
    other = _another_request(survivor)
    expect(lan.page.locator("label[for=link-kind]")).to_have_text("Yêu cầu này")
    lan.page.select_option("#link-kind", "caused_by")
    lan.page.fill("#link-target", other.reference)
    lan.page.click("#link-form button[type=submit]")
    link = lan.page.locator("#ticket-links li[data-link-id]")
    expect(link).to_contain_text(other.reference)
    expect(link.locator(".tag")).to_have_text("phát sinh từ")  # "caused by"
    assert fits(lan.page)
    lan.page.goto(f"/tickets/{other.pk}/")
    expect(lan.page.locator("#ticket-links li[data-link-id] .tag")).to_have_text("gây ra")  # "causes", from there

    lan.page.goto(f"/tickets/{survivor.pk}/")
    lan.page.select_option("#link-what", "alert")
    lan.page.fill("#link-target", str(alert.pk))
    lan.page.click("#link-form button[type=submit]")
    expect(lan.page.locator("#ticket-links")).to_contain_text("Chứng thư số giả mạo")
    lan.page.goto(f"/alerts/{alert.pk}/")  # shown on the alert too
    expect(lan.page.locator("#h-alert-links")).to_have_text("Yêu cầu liên kết")
    expect(lan.page.locator("#alert-links")).to_contain_text(survivor.reference)
    assert fits(lan.page)

    lan.page.goto(f"/tickets/{survivor.pk}/")
    lan.page.locator("#ticket-timeline li.comment", has_text="gia hạn tên miền").locator(".split-pick").check()
    lan.page.fill("#split-title", "Gia hạn tên miền cổng dịch vụ công")
    assert fits(lan.page)
    lan.page.click("#split-form button[type=submit]")
    lan.page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    expect(lan.page.locator("#ticket-title")).to_have_text("Gia hạn tên miền cổng dịch vụ công")
    expect(lan.page.locator("#ticket-timeline")).to_contain_text("Ngoài ra: cần gia hạn tên miền.")
    expect(lan.page.locator("#ticket-timeline")).to_contain_text(f"Yêu cầu được tách từ {survivor.reference}.")
    expect(lan.page.locator("#ticket-links li[data-link-id] .tag")).to_have_text("tách từ")
    expect(lan.page.locator("#ticket-links")).to_contain_text(survivor.reference)
    assert fits(lan.page)
    screenshot(lan.page, f"ticket-split-{'phone' if phone else 'desktop'}")
    # The same page in English, once the person chooses it (on a phone, in the header's menu).
    if phone:
        lan.page.locator("#menu-toggle").tap()
    lan.page.select_option("#lang-select", "en")
    expect(lan.page.locator("#h-links")).to_have_text("Links")
    expect(lan.page.locator("label[for=link-kind]")).to_have_text("This request is")
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
