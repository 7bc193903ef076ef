"""A request reads like a story (issue 23): one timeline of comments (public and internal, each
marked), changes (each a sentence with names) and files, in time order, live on the other side's
screen; internal notes only for the handling centre. And every action on the page shows its failure
next to the control that caused it, in the viewer's language, keeping what was typed — among them the
conflicts of a page that missed another browser's change (its live stream held back, as a dropped
frame would)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.services, pytest.mark.browser]

NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def people(make_user):
    return {
        "lan": make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)"),
        "binh": make_user("dn.mgr", centre="DN", role="manager", display_name="Bình (Quản lý Đà Nẵng)"),
        "minh": make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)"),
        "chau": make_user("dn.sec", centre="DN", role="security_officer", display_name="Châu (ATTT Đà Nẵng)"),
    }


@pytest.fixture
def ticket(people):
    from requests import services

    return services.create_ticket(by=people["lan"], title="Hỗ trợ cấu hình tường lửa", category="software",
                                  priority="high", target_centre="DN")


def kinds(page) -> list[str]:
    """The timeline's entries as `comment`, `internal-comment` or the change's kind, in page order."""
    return page.locator("#ticket-timeline > li").evaluate_all(
        "els => els.map(e => e.classList.contains('comment') ? (e.classList.contains('internal') ? 'internal-comment'"
        " : 'comment') : e.dataset.kind)")


def in_time_order(page) -> bool:
    times = page.locator("#ticket-timeline > li").evaluate_all("els => els.map(e => Date.parse(e.dataset.at))")
    return times == sorted(times)


def test_one_timeline_of_comments_changes_and_files_live_on_both_sides(people, ticket, sign_in, tmp_path):
    minh = sign_in("dn.eng")
    lan = sign_in("ht.eng", phone=True)  # the requester on a 390×844 phone
    for person in (minh, lan):
        person.page.goto(f"/tickets/{ticket.pk}/")
        expect(person.page.locator("#ticket-timeline li[data-kind=created]")).to_have_count(1)
    expect(lan.page.locator("#ticket-timeline li[data-kind=created]")).to_contain_text(
        "Lan (Hà Tĩnh) (HT) gửi yêu cầu tới Trung tâm")

    minh.page.locator("#ticket-moves button[data-to=accepted]").click()
    expect(minh.page.locator("[data-testid=ticket-status]")).to_have_attribute("data-status", "accepted")
    minh.page.fill("#comment-body", "Đã tiếp nhận, đang kiểm tra cấu hình.")
    minh.page.click("#comment-form button[type=submit]")
    expect(minh.page.locator("#ticket-timeline li.comment")).to_have_count(1)
    minh.page.fill("#comment-body", "Nội bộ: cần quyền quản trị tường lửa.")
    minh.page.check("#comment-internal")
    minh.page.click("#comment-form button[type=submit]")
    expect(minh.page.locator("#ticket-timeline li.comment.internal")).to_have_count(1)
    minh.page.select_option("#priority-select", "urgent")
    minh.page.click("#priority-form button[type=submit]")
    expect(minh.page.locator("#ticket-priority")).to_have_attribute("data-priority", "urgent")
    log = tmp_path / "nhat-ky.txt"
    log.write_text("10:00 truy cập bất thường\n", encoding="utf-8")
    lan.page.set_input_files("#attach-file", str(log))
    lan.page.click("#attach-form button[type=submit]")

    # the handling centre: every entry, its internal note marked; changes as sentences with names
    expect(minh.page.locator("#ticket-timeline li.attachment a.file-link")).to_have_text("nhat-ky.txt")
    # (a priority change also moves the SLA's due times: more `field` sentences after it)
    assert [k for k in kinds(minh.page) if k != "field"] == [
        "created", "transition", "assigned", "comment", "internal-comment", "attachment"]
    texts = minh.page.locator("#ticket-timeline > li").all_inner_texts()
    at = {what: next(i for i, t in enumerate(texts) if what in t)
          for what in ("quyền quản trị", "mức ưu tiên", "nhat-ky")}
    assert at["quyền quản trị"] < at["mức ưu tiên"] < at["nhat-ky"]
    assert in_time_order(minh.page)
    timeline = minh.page.locator("#ticket-timeline")
    priority = timeline.locator("li[data-kind=field]", has_text="mức ưu tiên")
    expect(timeline.locator("li[data-kind=transition]")).to_have_text(re.compile(
        r"Minh \(Đà Nẵng\) \(DN\) chuyển yêu cầu từ “Mới” sang “Đã tiếp nhận”\."))
    expect(priority).to_have_text(re.compile(r"Minh \(Đà Nẵng\) \(DN\) đổi mức ưu tiên từ “Cao” sang “Khẩn cấp”\."))
    expect(timeline.locator("li.comment.internal .internal-tag")).to_have_text("ghi chú nội bộ")
    expect(timeline.locator("li.comment").first.locator(".public-tag")).to_have_text("công khai")
    expect(timeline.locator("li[data-kind=attachment]")).to_contain_text("Lan (Hà Tĩnh) (HT) đính kèm “nhat-ky.txt”.")

    # the requester's phone got the same story live, without the internal note, and fits the screen
    expect(lan.page.locator("#ticket-timeline li[data-kind=field]", has_text="Khẩn cấp")).to_have_count(1)
    expect(lan.page.locator("#ticket-timeline li.attachment")).to_have_count(1)
    assert [k for k in kinds(lan.page) if k != "field"] == ["created", "transition", "assigned", "comment",
                                                             "attachment"]
    assert in_time_order(lan.page)
    expect(lan.page.locator("#ticket-timeline")).not_to_contain_text("quyền quản trị")
    for text in lan.page.locator("#ticket-timeline li").all_inner_texts():
        assert "{" not in text and "dn.eng" not in text and "urgent" not in text
    assert lan.page.evaluate(NO_SIDEWAYS)

    # a comment from the phone arrives live after the file, in English on an English page too
    lan.page.fill("#comment-body", "Cảm ơn, đã gửi nhật ký.")
    lan.page.click("#comment-form button[type=submit]")
    expect(minh.page.locator("#ticket-timeline > li").last).to_contain_text("Cảm ơn, đã gửi nhật ký.")
    minh.page.select_option("#lang-select", "en")  # the header's switch: the page reloads in English
    expect(minh.page.locator("html")).to_have_attribute("lang", "en")
    expect(minh.page.locator("#ticket-timeline li[data-kind=field]", has_text="priority")).to_contain_text(
        "Minh (Đà Nẵng) (DN) changed the priority from “High” to “Urgent”.")
    expect(minh.page.locator("#ticket-timeline li.comment.internal .internal-tag")).to_have_text("internal note")


def test_merges_and_links_read_as_sentences_naming_the_other_request(people, ticket, sign_in):
    from requests import services

    other = services.create_ticket(by=people["lan"], title="Tường lửa chặn nhầm cổng dịch vụ công",
                                   category="security", priority="normal", target_centre="DN")
    services.link_ticket(ticket, by=people["minh"], kind="caused_by", to_ticket=other.pk)
    duplicate = services.create_ticket(by=people["lan"], title="Lặp lại: cấu hình tường lửa", category="software",
                                       priority="normal", target_centre="DN")
    services.merge_ticket(duplicate, by=people["minh"], into=ticket.pk)
    page = sign_in("dn.eng").page
    page.goto(f"/tickets/{ticket.pk}/")
    linked = page.locator("#ticket-timeline li[data-kind=link_added]")
    expect(linked).to_contain_text(f"Minh (Đà Nẵng) (DN) ghi nhận yêu cầu này do {other.reference} gây ra.")
    expect(linked.locator("a")).to_have_attribute("href", f"/tickets/{other.pk}/")
    merged = page.locator("#ticket-timeline li[data-kind=merged_from]")
    expect(merged).to_contain_text(f"gộp yêu cầu trùng {duplicate.reference} vào yêu cầu này.")
    expect(merged.locator("a")).to_have_attribute("href", f"/tickets/{duplicate.pk}/")
    page.goto(f"/tickets/{other.pk}/")
    expect(page.locator("#ticket-timeline li[data-kind=link_added]")).to_contain_text(
        f"ghi nhận {ticket.reference} do yêu cầu này gây ra.")


def deaf(person) -> None:
    """This browser's live stream stays connected but hears nothing from the server (a frame lost in
    flight), so its page keeps the request as it loaded it while another browser changes it."""
    def route(ws):
        server = ws.connect_to_server()
        server.on_message(lambda message: None)
    person.context.route_web_socket(re.compile(r"/ws/notifications/"), route)


def test_every_action_shows_its_failure_next_to_it_and_keeps_what_was_typed(people, ticket, sign_in, tmp_path):
    from requests import services
    from requests.models import Ticket

    binh = sign_in("dn.mgr")
    deaf(binh)
    minh = sign_in("dn.eng")
    page = binh.page
    page.goto(f"/tickets/{ticket.pk}/")
    minh.page.goto(f"/tickets/{ticket.pk}/")

    # accept, after another browser accepted: 409, said in Vietnamese above the buttons, the note kept
    minh.page.locator("#ticket-moves button[data-to=accepted]").click()
    expect(minh.page.locator("[data-testid=ticket-status]")).to_have_attribute("data-status", "accepted")
    page.fill("#move-note", "Tiếp nhận, giao anh Minh.")
    page.locator("#ticket-moves button[data-to=accepted]").click()
    expect(page.locator("#ticket-error")).to_contain_text("Yêu cầu đã được người khác thay đổi trong lúc đó")
    expect(page.locator("#move-note")).to_have_value("Tiếp nhận, giao anh Minh.")
    expect(page.locator("[data-testid=ticket-status]")).to_have_attribute("data-status", "accepted")  # reloaded

    # priority: the other browser changed it first; the choice made here stays chosen
    minh.page.select_option("#priority-select", "urgent")
    minh.page.click("#priority-form button[type=submit]")
    expect(minh.page.locator("#ticket-priority")).to_have_attribute("data-priority", "urgent")
    page.select_option("#priority-select", "low")
    page.click("#priority-form button[type=submit]")
    expect(page.locator("#priority-error")).to_contain_text("Yêu cầu đã được người khác thay đổi trong lúc đó")
    expect(page.locator("#priority-select")).to_have_value("low")
    expect(page.locator("#ticket-priority")).to_have_attribute("data-priority", "urgent")
    assert Ticket.objects.get(pk=ticket.pk).priority == "urgent"

    # assign: the other browser started work meanwhile; the colleague chosen here stays chosen
    minh.page.locator("#ticket-moves button[data-to=in_progress]").click()
    expect(minh.page.locator("[data-testid=ticket-status]")).to_have_attribute("data-status", "in_progress")
    page.select_option("#assign-to-person", "dn.sec")
    page.locator("#assign-to button").click()
    expect(page.locator("#ticket-error")).to_contain_text("Yêu cầu đã được người khác thay đổi trong lúc đó")
    expect(page.locator("#assign-to-person")).to_have_value("dn.sec")
    expect(page.locator("[data-testid=ticket-status]")).to_have_attribute("data-status", "in_progress")
    assert Ticket.objects.get(pk=ticket.pk).assignee == people["minh"]  # who accepted it

    # move status: the other browser asked the requester; this one's "Mark resolved" is refused
    minh.page.locator("#ticket-moves button[data-to=waiting_for_requester]").click()
    expect(minh.page.locator("[data-testid=ticket-status]")).to_have_attribute("data-status",
                                                                               "waiting_for_requester")
    page.locator("#ticket-moves button[data-to=resolved]").click()
    expect(page.locator("#ticket-error")).to_contain_text("Yêu cầu đã được người khác thay đổi trong lúc đó")
    expect(page.locator("[data-testid=ticket-status]")).to_have_attribute("data-status", "waiting_for_requester")
    assert Ticket.objects.get(pk=ticket.pk).status == "waiting_for_requester"

    # link and merge to a request that does not exist: 400 under the box, the reference kept
    page.fill("#link-target", "DN-2026-9999")
    page.click("#link-form button[type=submit]")
    expect(page.locator("#link-form .field-error")).to_have_text("không có yêu cầu này.")
    expect(page.locator("#link-target")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#link-target")).to_have_value("DN-2026-9999")
    page.fill("#merge-into", "DN-2026-9999")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#merge-form button[type=submit]")
    expect(page.locator("#merge-form .field-error")).to_have_text("không có yêu cầu này.")
    expect(page.locator("#merge-into")).to_have_value("DN-2026-9999")

    # a file of a type not accepted: said next to the upload, nothing stored
    bad = tmp_path / "cong-cu.exe"
    bad.write_bytes(b"MZ\x90\x00")
    page.set_input_files("#attach-file", str(bad))
    page.click("#attach-form button[type=submit]")
    expect(page.locator("#attach-form .field-error")).to_contain_text("không chấp nhận loại")
    assert not ticket.attachments.exists()

    # once the other browser merged the request away, watching, commenting and splitting here are
    # refused (409), each under its own control, with what was typed kept
    services.add_comment(ticket, by=people["lan"], body="Nhật ký kèm theo.")
    survivor = services.create_ticket(by=people["lan"], title="Cấu hình tường lửa (gộp)", category="software",
                                      priority="normal", target_centre="DN")
    pages = [page] + [binh.context.new_page() for _ in range(2)]
    for each in pages:
        each.goto(f"/tickets/{ticket.pk}/")
        expect(each.locator("#ticket-timeline li.comment")).to_have_count(1)
    minh.page.reload()
    minh.page.fill("#merge-into", survivor.reference)
    minh.page.once("dialog", lambda dialog: dialog.accept())
    minh.page.click("#merge-form button[type=submit]")
    minh.page.wait_for_url(re.compile(rf"/tickets/{survivor.pk}/"))
    merged = "Yêu cầu này đã được gộp vào"

    watch, split, comment = pages
    watch.click("#watch-toggle")
    expect(watch.locator("#watch-error")).to_contain_text(merged)
    split.locator("#ticket-timeline li.comment .split-pick").check()
    split.fill("#split-title", "Tách phần nhật ký")
    split.click("#split-form button[type=submit]")
    expect(split.locator("#split-error")).to_contain_text(merged)
    comment.fill("#comment-body", "Bổ sung thông tin.")
    comment.click("#comment-form button[type=submit]")
    expect(comment.locator("#comment-form-error")).to_contain_text(merged)
    expect(comment.locator("#comment-body")).to_have_value("Bổ sung thông tin.")
    expect(comment.locator("#ticket-merged")).to_be_visible()  # reloaded: the page says what happened
    assert not Ticket.objects.filter(title="Tách phần nhật ký").exists()
