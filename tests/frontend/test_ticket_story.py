"""A request's page reads like a story (issue 23): history entries are sentences in the viewer's
language with names and labels, and every time (and its tooltip) is in Vietnam's time, whatever the
browser's own zone."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture
def story(make_user):
    from requests import services

    requester = make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    manager = make_user("dn.mgr", centre="DN", role="manager", display_name="Bình (Quản lý Đà Nẵng)")
    make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)")
    ticket = services.create_ticket(by=requester, title="Hỗ trợ cấu hình tường lửa", category="software",
                                    priority="high", target_centre="DN")
    services.transition_ticket(ticket, by=manager, to="accepted")
    services.assign_ticket(ticket, by=manager, username="dn.eng")
    return ticket


@pytest.mark.parametrize("language", ["vi", "en"])
def test_history_entries_are_sentences_with_names_and_local_times(story, sign_in, language):
    person = sign_in("dn.eng", locale="vi-VN" if language == "vi" else "en-US")
    page = person.page
    if language == "en":
        person.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
    page.goto(f"/tickets/{story.pk}/")
    history = page.locator("#ticket-timeline li.change")
    expect(history.first).to_be_visible()
    log = page.locator("#ticket-timeline")
    if language == "vi":
        expect(log).to_contain_text("Bình (Quản lý Đà Nẵng) (DN) chuyển yêu cầu từ “Mới” sang “Đã tiếp nhận”.")
        expect(log).to_contain_text("giao yêu cầu cho Minh (Đà Nẵng).")
        expect(history.nth(0)).to_contain_text("Phát triển phần mềm")
    else:
        expect(log).to_contain_text("Bình (Quản lý Đà Nẵng) (DN) moved the request from “New” to “Accepted”.")
        expect(log).to_contain_text("assigned the request to Minh (Đà Nẵng).")
        expect(history.nth(0)).to_contain_text("Software development")
    for text in history.all_inner_texts():
        assert "{" not in text and "dn.eng" not in text and "in_progress" not in text

    # the browser runs in UTC; the page shows Vietnam's time (UTC+7) in the viewer's format, in the tooltip too
    local = timezone.localtime(story.created_at)
    shown, in_title = ((local.strftime("%H:%M"), local.strftime("%H:%M")) if language == "vi" else
                       (local.strftime("%I:%M %p"), f"{int(local.strftime('%I'))}:{local.strftime('%M')}"))
    first = history.nth(0).locator("time")
    expect(first).to_have_text(shown)
    title = first.get_attribute("title") or ""
    assert in_title in title and "GMT+7" in title and "Z" not in title


def test_a_refused_comment_keeps_its_text_and_says_why_under_its_form(story, sign_in):
    person = sign_in("dn.eng")
    page = person.page
    page.goto(f"/tickets/{story.pk}/")
    expect(page.locator("#ticket-timeline li.change").first).to_be_visible()  # the page's script is running
    too_long = "Nhật ký rất dài. " * 1200  # above HUB_MAX_BODY_BYTES (16 KiB)
    page.locator("#comment-body").fill(too_long)
    page.click("#comment-form button[type=submit]")
    under = page.locator("#comment-form .field-error")
    expect(under).to_be_visible()
    expect(page.locator("#comment-body")).to_have_attribute("aria-invalid", "true")
    assert page.locator("#comment-body").input_value() == too_long
    expect(page.locator("#ticket-timeline li.comment")).to_have_count(0)
    page.locator("#comment-body").fill("Đã xem nhật ký.")  # a good one clears the error
    page.click("#comment-form button[type=submit]")
    expect(page.locator("#ticket-timeline li.comment")).to_have_count(1)
    expect(under).to_have_count(0)
    expect(page.locator("#comment-body")).to_have_value("")


def test_a_new_request_asks_for_its_category(make_user, sign_in):
    from requests.models import Ticket

    make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    page = sign_in("ht.eng").page
    page.goto("/tickets/new/")
    expect(page.locator("#ticket-form")).to_have_attribute("data-ready", "true")
    expect(page.locator("#t-category option:checked")).to_have_text("Chọn lĩnh vực…")  # not "security"
    page.fill("#t-title", "Tư vấn dự án chuyển đổi số")
    page.click("#ticket-form button[type=submit]")
    expect(page.locator("#t-category")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#ticket-form .field-error")).to_have_text("Hãy chọn lĩnh vực của yêu cầu.")
    assert Ticket.objects.count() == 0
    page.select_option("#t-category", "consulting")
    page.click("#ticket-form button[type=submit]")
    page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    assert Ticket.objects.get().category == "consulting"


def test_a_manager_assigns_any_colleague_and_a_resolved_request_offers_no_taking(story, sign_in, make_user):
    from requests import services
    from requests.models import Ticket

    make_user("dn.sec", centre="DN", role="security_officer", display_name="Châu (ATTT Đà Nẵng)")
    manager = sign_in("dn.mgr").page
    manager.goto(f"/tickets/{story.pk}/")
    chooser = manager.locator("#assign-to-person")
    expect(chooser.locator("option")).to_have_count(2)  # Minh and Châu: every colleague but the manager
    chooser.select_option("dn.sec")
    manager.locator("#assign-to button").click()
    expect(manager.locator("#ticket-timeline")).to_contain_text("giao yêu cầu cho Châu (ATTT Đà Nẵng).")
    assert Ticket.objects.filter(pk=story.pk).values_list("assignee__username", flat=True).get() == "dn.sec"

    engineer = sign_in("dn.eng").page  # not a manager: no chooser
    engineer.goto(f"/tickets/{story.pk}/")
    expect(engineer.locator("#ticket-moves button").first).to_be_visible()
    expect(engineer.locator("#assign-to")).to_have_count(0)

    ticket = Ticket.objects.get(pk=story.pk)
    assignee = ticket.assignee
    assert assignee is not None
    services.transition_ticket(ticket, by=assignee, to="in_progress")
    services.transition_ticket(Ticket.objects.get(pk=story.pk), by=assignee, to="resolved")
    manager.goto(f"/tickets/{story.pk}/")
    expect(manager.locator("[data-testid=ticket-status]")).to_have_attribute("data-status", "resolved")
    expect(manager.locator("#assign-me")).to_have_count(0)
    expect(manager.locator("#assign-to")).to_have_count(0)
