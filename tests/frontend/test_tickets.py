"""A support request in a real browser, from creation to closure across two centres, with both
request pages updating live as the other side moves it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]


def move(person, to: str) -> None:
    person.page.locator(f"#ticket-moves button[data-to={to}]").click()


def status_of(person):
    return person.page.locator("[data-testid=ticket-status]")


@pytest.fixture
def requester_and_helper(make_user, sign_in):
    make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)")
    return sign_in("ht.eng"), sign_in("dn.eng")


def test_a_request_goes_from_creation_to_closure_with_both_pages_live(requester_and_helper):
    lan, minh = requester_and_helper
    lan.page.goto("/tickets/new/")
    lan.page.fill("#t-title", "Hỗ trợ cấu hình tường lửa")
    lan.page.fill("#t-description", "Cần hỗ trợ **gấp** cấu hình tường lửa cho cổng dịch vụ công.")
    lan.page.select_option("#t-category", "security")
    lan.page.select_option("#t-priority", "high")
    lan.page.select_option("#t-target", "DN")
    lan.page.click("#ticket-form button[type=submit]")
    lan.page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    expect(status_of(lan)).to_have_attribute("data-status", "new")
    expect(lan.page.locator("#ticket-moves button")).to_have_count(0)  # nothing for the requester yet
    expect(lan.page.locator("#ticket-ref")).to_have_text(re.compile(r"^HT-\d{4}-\d{4}$"))

    minh.page.goto(lan.page.url)
    expect(minh.page.locator("#ticket-moves button[data-to=accepted]")).to_be_visible()
    expect(minh.page.locator("#ticket-moves button[data-to=closed]")).to_have_count(0)
    move(minh, "accepted")
    expect(status_of(lan)).to_have_attribute("data-status", "accepted")  # live on the requester's page
    expect(lan.page.locator("#ticket-live")).to_contain_text("Minh (Đà Nẵng)")
    move(minh, "in_progress")
    expect(status_of(lan)).to_have_attribute("data-status", "in_progress")

    minh.page.fill("#comment-body", "Đang kiểm tra cấu hình.")
    minh.page.click("#comment-form button[type=submit]")
    expect(lan.page.locator("#ticket-timeline li.comment")).to_have_count(1)
    minh.page.fill("#comment-body", "Ghi chú nội bộ: cần quyền quản trị.")
    minh.page.check("#comment-internal")
    minh.page.click("#comment-form button[type=submit]")
    expect(minh.page.locator("#ticket-timeline li.comment")).to_have_count(2)
    expect(lan.page.locator("#ticket-timeline li.comment")).to_have_count(1)  # the internal one stays in DN
    expect(lan.page.locator("#ticket-timeline")).to_contain_text("Đang kiểm tra cấu hình.")
    expect(lan.page.locator("#internal-wrap")).to_be_hidden()

    move(minh, "resolved")
    expect(status_of(lan)).to_have_attribute("data-status", "resolved")
    expect(lan.page.locator("#ticket-moves button[data-to=closed]")).to_be_visible()
    screenshot(lan.page, "ticket")
    move(lan, "closed")
    expect(status_of(minh)).to_have_attribute("data-status", "closed")  # live on the helper's page
    expect(minh.page.locator("#ticket-moves button")).to_have_count(0)
    assert lan.page.locator("#ticket-timeline li.change").count() >= 5


def test_rejecting_needs_a_reason_and_the_page_says_so(requester_and_helper):
    lan, minh = requester_and_helper
    from hub.models import User
    from requests.services import create_ticket

    ticket = create_ticket(by=User.objects.get(username="ht.eng"), title="Xin tài liệu đào tạo",
                           description="", category="training", priority="low", target_centre="DN")
    minh.page.goto(f"/tickets/{ticket.id}/")
    move(minh, "rejected")
    expect(minh.page.locator("#ticket-error")).not_to_be_empty()
    expect(status_of(minh)).to_have_attribute("data-status", "new")
    minh.page.fill("#move-note", "Không thuộc phạm vi hỗ trợ.")
    move(minh, "rejected")
    expect(status_of(minh)).to_have_attribute("data-status", "rejected")


def test_saved_views_and_filters_list_the_right_requests(requester_and_helper):
    lan, minh = requester_and_helper
    from hub.models import User
    from requests.services import create_ticket

    author = User.objects.get(username="ht.eng")
    create_ticket(by=author, title="Cần hỗ trợ phần mềm", description="", category="software",
                  priority="normal", target_centre="DN")
    create_ticket(by=author, title="Tổ chức hội thảo", description="", category="events",
                  priority="low", target_centre=None)
    lan.page.goto("/tickets/?view=centre-open")
    rows = lan.page.locator("#ticket-rows tr[data-ticket-id]")
    expect(rows).to_have_count(2)
    lan.page.select_option("#ticket-filters select[name=category]", "events")
    # The verb (context "verb"), not the admin filter panel's noun "Bộ lọc" it used to show.
    expect(lan.page.locator("#ticket-filters button[type=submit]")).to_have_text("Lọc")
    lan.page.click("#ticket-filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Tổ chức hội thảo")
    screenshot(lan.page, "tickets")
    lan.page.goto("/tickets/?view=mine")
    expect(lan.page.locator("#ticket-rows td.muted")).to_be_visible()
    expect(rows).to_have_count(0)


def test_attachments_and_assignment_show_on_both_sides(requester_and_helper, tmp_path):
    lan, minh = requester_and_helper
    from hub.models import User
    from requests.services import create_ticket

    ticket = create_ticket(by=User.objects.get(username="ht.eng"), title="Nhật ký máy chủ", description="",
                           category="security", priority="normal", target_centre="DN")
    lan.page.goto(f"/tickets/{ticket.id}/")
    minh.page.goto(f"/tickets/{ticket.id}/")
    log = tmp_path / "nhat-ky.txt"
    log.write_text("2026-11-25 10:00 đăng nhập bất thường\n", encoding="utf-8")
    lan.page.set_input_files("#attach-file", str(log))
    lan.page.click("#attach-form button[type=submit]")
    for person in (lan, minh):
        expect(person.page.locator("#ticket-timeline li.attachment a.file-link")).to_have_text("nhat-ky.txt")
    with minh.page.expect_download() as download:
        minh.page.click("#ticket-timeline li.attachment a.file-link")
    assert Path(download.value.path()).read_text(encoding="utf-8") == log.read_text(encoding="utf-8")

    minh.page.click("#watch-toggle")
    expect(minh.page.locator("#ticket-watchers")).to_contain_text("Minh (Đà Nẵng)")
    expect(minh.page.locator("#watch-toggle")).to_have_attribute("data-watching", "true")
    expect(lan.page.locator("#assign-me")).to_have_count(0)  # the requester cannot take it
    minh.page.click("#assign-me")  # staff of the target centre may take an unassigned request
    expect(lan.page.locator("#ticket-meta")).to_contain_text("Minh (Đà Nẵng)")
    expect(minh.page.locator("#assign-me")).to_have_count(0)
