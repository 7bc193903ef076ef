"""A request's service level in a real browser: both due times in local time, the working time left,
paused and why — in Vietnamese on a phone and in English on a desktop, live when the requester
answers; the list marks what is overdue."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from requests import services

pytestmark = [pytest.mark.services, pytest.mark.browser]

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def hhmm(moment) -> str:
    return moment.astimezone(VN).strftime("%H:%M")


def test_the_request_page_shows_both_clocks_paused_and_why_and_resumes_live(make_user, sign_in):
    lan_user = make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    minh_user = make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)")
    ticket = services.create_ticket(by=lan_user, title="Hỗ trợ cấu hình tường lửa", category="security",
                                    priority="urgent", target_centre="DN")
    for to in ("accepted", "in_progress", "waiting_for_requester"):
        services.transition_ticket(ticket, by=minh_user, to=to)
    ticket.refresh_from_db()
    lan, minh = sign_in("ht.eng"), sign_in("dn.eng", phone=True)
    minh.page.goto("/")
    minh.page.click("#menu-toggle")  # on a phone the language is in the header's menu
    minh.page.select_option("#lang-select", "en")  # the page reloads in English
    expect(minh.page.locator("html")).to_have_attribute("lang", "en")

    lan.page.goto(f"/tickets/{ticket.pk}/")
    card = lan.page.locator("#ticket-sla")
    expect(card).to_be_visible()
    expect(card).to_contain_text("tạm dừng: chờ bên yêu cầu")
    expect(card.locator("dd[data-clock=first_response]")).to_contain_text(hhmm(ticket.first_response_at))
    expect(card.locator("dd[data-clock=first_response]")).to_contain_text("đúng hạn")
    expect(card.locator("dd[data-clock=resolution]")).to_contain_text("chờ bên yêu cầu trả lời")
    expect(card.locator("dd[data-clock=resolution]")).to_contain_text("làm việc khi tiếp tục")
    expect(card).to_contain_text("Tính theo thời gian làm việc của DN")

    minh.page.goto(f"/tickets/{ticket.pk}/")
    english = minh.page.locator("#ticket-sla")
    expect(english).to_contain_text("paused: waiting for the requester")
    # On a phone the card fits its width.
    assert english.evaluate("e => e.getBoundingClientRect().right <= window.innerWidth")

    # The requester answers: the request is back in progress and the clock runs again, on both pages.
    lan.page.fill("#comment-body", "Đã gửi log cấu hình.")
    lan.page.click("#comment-form button[type=submit]")
    expect(english.locator("dd[data-clock=resolution]")).to_contain_text("of working time left")
    expect(english).not_to_contain_text("paused")
    expect(card).not_to_contain_text("tạm dừng")
    expect(minh.page.locator("[data-testid=ticket-status]")).to_have_attribute("data-status", "in_progress")
    assert not lan.errors and not minh.errors, lan.errors + minh.errors


def test_the_list_marks_an_overdue_request_and_a_paused_one(make_user, sign_in):
    lan_user = make_user("ht.eng", centre="HT")
    minh_user = make_user("dn.eng", centre="DN")
    with time_machine.travel(timezone.now() - timedelta(days=12), tick=False):
        late = services.create_ticket(by=lan_user, title="Quá hạn từ lâu", category="software", priority="urgent",
                                      target_centre="DN")
    waiting = services.create_ticket(by=lan_user, title="Đang chờ bên yêu cầu", category="software",
                                     target_centre="DN")
    for to in ("accepted", "in_progress", "waiting_for_requester"):
        services.transition_ticket(waiting, by=minh_user, to=to)
    lan = sign_in("ht.eng")
    lan.page.goto("/tickets/")
    late_row = lan.page.locator(f"tr[data-ticket-id='{late.pk}']")
    expect(late_row).to_have_class("overdue")
    expect(late_row.locator(".sla-cell")).to_contain_text("quá hạn")
    waiting_row = lan.page.locator(f"tr[data-ticket-id='{waiting.pk}']")
    expect(waiting_row.locator(".sla-cell")).to_contain_text("tạm dừng")
    expect(waiting_row).not_to_have_class("overdue")
    lan.page.goto("/tickets/?view=overdue")
    expect(lan.page.locator("#ticket-rows tr[data-ticket-id]")).to_have_count(1)
    assert not lan.errors, lan.errors
