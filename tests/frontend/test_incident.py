"""Incident coordination in a real browser (issue 24): a conversation promoted to an alert in one
gesture and linked live on every screen; TLP labels and choosers on messages, alerts, requests and
comments; the alert's append-only record with a correction struck through; STIX import; the same on
a phone."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]

SECURITY = "/topics/an-toan-thong-tin/"
SCAN = "Đà Nẵng đang thấy quét cổng từ 203.0.113.7, tên miền dichvucong-gov[.]vn"


@pytest.fixture
def security_topic(transactional_db):
    from chat.services import create_topic

    return create_topic(slug="an-toan-thong-tin", name_vi="Sự cố an toàn thông tin",
                        name_en="Information security incidents", default_tlp="amber")


@pytest.fixture
def officers(make_user, sign_in, security_topic):
    make_user("ht.sec", centre="HT", role="security_officer", display_name="An (ATTT Hà Tĩnh)")
    make_user("dn.sec", centre="DN", role="security_officer", display_name="Bình (ATTT Đà Nẵng)")
    make_user("qb.eng", centre="QB", display_name="Cường (Quảng Bình)")
    return sign_in("ht.sec"), sign_in("dn.sec")


def open_topic(person, path=SECURITY):
    person.goto(path)
    person.wait_live()


def send(person, text: str) -> None:
    box = person.page.locator("#composer-input")
    box.fill(text)
    box.press("Enter")


def open_menu(message):
    message.hover()
    message.locator(".msg-more").click()
    return message.page.locator("#msg-menu")


def test_a_conversation_becomes_an_alert_in_one_gesture_and_links_live(officers):
    an, binh = officers
    for person in (an, binh):
        open_topic(person)
    send(binh, SCAN)
    message = an.page.locator("#messages li.msg").first
    expect(message.locator(".tlp-label")).to_have_text("TLP:AMBER")  # the topic's default marking
    open_menu(message).locator("[data-action=promote-alert]").click()
    dialog = an.page.locator("dialog.promotion-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".promotion-quotes")).to_contain_text("203.0.113.7")
    checks = dialog.locator(".indicator-checks input[type=checkbox]")
    expect(checks).to_have_count(2)  # the IP and the (defanged) domain, both offered checked
    expect(dialog.locator(".indicator-checks")).to_contain_text("dichvucong-gov.vn")
    checks.nth(1).uncheck()  # the person confirms: only the IP
    dialog.locator("select[name=severity]").select_option("high")
    screenshot(an.page, "promote-dialog")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_have_count(0)
    for person in (an, binh):  # the link reaches every screen of the topic, live
        link = person.page.locator("#messages li.msg .promoted-link")
        expect(link).to_have_text(re.compile(r"#\d+"))
    an.page.locator("#messages li.msg .promoted-link").click()
    an.page.wait_for_url(re.compile(r"/alerts/\d+/$"))
    expect(an.page.locator("#alert-origin")).to_contain_text("Bình (ATTT Đà Nẵng)")
    expect(an.page.locator("#alert-origin")).to_contain_text("203.0.113.7")
    expect(an.page.locator("#alert-indicators tr")).to_have_count(1)
    expect(an.page.locator("#alert-tlp .tlp-label")).to_have_text("TLP:AMBER")
    # Promoting it again is not offered; the message says what it became.
    binh.page.keyboard.press("Escape")
    menu = open_menu(binh.page.locator("#messages li.msg").first)
    expect(menu.locator("[data-action=promote-alert]")).to_have_count(0)
    expect(menu.locator("[data-action=promote-ticket]")).to_have_count(1)


def test_a_message_for_named_centres_reaches_only_them(officers, sign_in):
    an, binh = officers
    cuong = sign_in("qb.eng")
    for person in (an, binh, cuong):
        open_topic(person)
    marking = an.page.locator("#composer-marking")
    marking.locator("select[name=tlp]").select_option("red")
    marking.locator("select[name=scope]").select_option("named")
    marking.locator("select[name=shared_with]").select_option(["DN"])
    send(an, "Chỉ Đà Nẵng đọc: mã độc trên máy chủ thư")
    expect(binh.page.locator("#messages li.msg")).to_have_count(1)
    label = binh.page.locator("#messages li.msg .msg-marking")
    expect(label.locator(".tlp-label")).to_have_text("TLP:RED")
    expect(label).to_contain_text("DN")
    send(an, "Cho mọi người")  # the marking stays, the scope too; QB still sees neither
    expect(binh.page.locator("#messages li.msg")).to_have_count(2)
    an.page.locator("#composer-marking select[name=scope]").select_option("all")
    send(an, "Giờ thì cho mọi người")
    expect(cuong.page.locator("#messages li.msg")).to_have_count(1)
    expect(cuong.page.locator("#messages")).not_to_contain_text("mã độc")
    # The chooser never offers a marking looser than the topic's.
    options = an.page.locator("#composer-marking select[name=tlp] option").all_inner_texts()
    assert options == ["TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]


def test_the_record_is_append_only_and_a_correction_strikes_the_entry_through(officers):
    from alerts.services import raise_alert
    from hub.models import User

    an, _binh = officers
    alert = raise_alert(by=User.objects.get(username="ht.sec"), title="Dò quét cổng", severity="medium",
                        tlp="green", indicators=[{"type": "ipv4", "value": "203.0.113.7"}])
    page = an.goto(f"/alerts/{alert.pk}/")
    expect(page.locator("#alert-timeline > li")).to_have_count(1)
    page.fill("#entry-text", "Nguồn quét là 203.0.113.7 trên cổng 22.")
    page.click("#entry-form button[type=submit]")
    note = page.locator("#alert-timeline > li[data-kind=note]")
    expect(note).to_have_count(1)
    note.locator("button.link-button").click()  # Correct
    expect(page.locator("#entry-correcting")).not_to_be_empty()
    page.fill("#entry-text", "Đính chính: cổng **3389**.")
    page.click("#entry-form button[type=submit]")
    corrected = page.locator("#alert-timeline > li.corrected")
    expect(corrected).to_have_count(1)
    expect(corrected.locator(".entry-text")).to_have_css("text-decoration-line", "line-through")
    correction = page.locator("#alert-timeline > li.correction")
    expect(correction.locator("strong").last).to_have_text("3389")
    corrected.locator("a[href^='#entry-']").click()  # the link to the correction
    # A change is an entry too; a closed alert is reopened with a reason.
    page.click("#alert-change summary")
    page.select_option("#change-tlp", "amber+strict")
    page.fill("#change-note", "Chỉ nội bộ")
    page.click("#change-form button[type=submit]")
    expect(page.locator("#alert-tlp .tlp-label")).to_have_text("TLP:AMBER+STRICT")
    expect(page.locator("#alert-timeline > li[data-kind=tlp]")).to_have_count(1)
    page.click("#alert-status-area button[data-to=closed]")
    page.fill("#reopen-reason", "IP quay lại lúc 02:00")
    page.click("#reopen-form button[type=submit]")
    expect(page.locator("#alert-timeline > li[data-kind=reopened]")).to_contain_text("IP quay lại lúc 02:00")
    expect(page.locator("#alert-stix a")).to_have_attribute("href", f"/api/v1/alerts/{alert.pk}/stix")
    screenshot(page, "alert-record")


def test_what_a_person_is_typing_survives_a_live_redraw_of_the_alert(officers):
    """Another centre's acknowledgement redraws the alert page live; a reopen reason half typed and an
    open "Change the alert" with an edited description stay as they were (they were wiped, and a
    reason typed just before a redraw was lost)."""
    from alerts.services import change_alert_status, raise_alert
    from hub.models import User

    an, binh = officers
    raiser = User.objects.get(username="ht.sec")
    alert = raise_alert(by=raiser, title="Dò quét cổng RDP", severity="medium", tlp="green")
    change_alert_status(alert, by=raiser, to="closed")
    page = an.goto(f"/alerts/{alert.pk}/")
    page.fill("#reopen-reason", "IP quay lại lúc 02:00")
    page.click("#alert-change summary")
    page.fill("#change-description", "Mô tả đang viết dở")
    page.focus("#reopen-reason")
    other = binh.goto(f"/alerts/{alert.pk}/")
    other.click(".ack-button")
    expect(page.locator("#ack-count")).to_contain_text("1 /")  # An's page was redrawn live
    expect(page.locator("#reopen-reason")).to_have_value("IP quay lại lúc 02:00")
    expect(page.locator("#reopen-reason")).to_be_focused()
    expect(page.locator("#alert-change details")).to_have_attribute("open", "")
    expect(page.locator("#change-description")).to_have_value("Mô tả đang viết dở")
    page.click("#reopen-form button[type=submit]")
    expect(page.locator("#alert-timeline > li[data-kind=reopened]")).to_contain_text("IP quay lại lúc 02:00")


def test_a_stix_bundle_becomes_an_alert(officers, tmp_path):
    an, _binh = officers
    bundle: dict[str, Any] = {"type": "bundle", "id": "bundle--0f6c5a2a-2f4e-4f0e-9a55-6f0d8b1f2e3c", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "created": "2026-03-12T08:00:00.000Z", "modified": "2026-03-12T08:00:00.000Z", "name": "C2 từ VNCERT",
         "pattern_type": "stix", "valid_from": "2026-03-12T08:00:00Z",
         "pattern": "[domain-name:value = 'c2.example.com']",
         "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]}]}
    path = tmp_path / "vncert.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    page = an.goto("/alerts/")
    expect(page.locator("#stix-form")).to_have_attribute("data-ready", "true")  # its script has bound it
    page.click("#import-details summary")
    page.set_input_files("#stix-file", str(path))
    page.click("#stix-form button[type=submit]")
    page.wait_for_url(re.compile(r"/alerts/\d+/$"))
    expect(page.locator("#alert-title")).to_have_text("C2 từ VNCERT")
    expect(page.locator("#alert-tlp .tlp-label")).to_have_text("TLP:RED")
    expect(page.locator("#alert-indicators")).to_contain_text("c2.example.com")
    # A broken bundle is refused with the object and field named, on the same page.
    path.write_text(json.dumps({**bundle, "objects": [{**bundle["objects"][0], "pattern": "[domain-name:value ="}]}),
                    encoding="utf-8")
    page = an.goto("/alerts/")
    expect(page.locator("#stix-form")).to_have_attribute("data-ready", "true")  # its script has bound it
    page.click("#import-details summary")
    page.set_input_files("#stix-file", str(path))
    page.click("#stix-form button[type=submit]")
    expect(page.locator("#stix-error")).to_contain_text("indicator--8e2e2d2b")
    expect(page.locator("#stix-error")).to_contain_text("pattern")


def test_requests_and_comments_carry_their_marking(make_user, sign_in):
    make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)")
    lan, minh = sign_in("ht.eng"), sign_in("dn.eng")
    page = lan.goto("/tickets/new/")
    expect(page.locator("#ticket-form")).to_have_attribute("data-ready", "true")
    page.fill("#t-title", "Phân tích mẫu mã độc")
    page.select_option("#t-category", "security")  # asked for, never assumed (issue 23)
    page.select_option("#t-target", "DN")
    page.select_option("#t-tlp", "red")
    page.click("#ticket-form button[type=submit]")
    page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    expect(page.locator("#ticket-tlp .tlp-label")).to_have_text("TLP:RED")
    # The comment's chooser starts at the request's marking and offers nothing looser.
    assert page.locator("#comment-tlp option").all_inner_texts() == ["TLP:RED"]
    page.fill("#comment-body", "Chỉ Hà Tĩnh: mật khẩu tạm là ở két.")
    page.select_option("#comment-scope", "own")
    page.click("#comment-form button[type=submit]")
    comment = page.locator("#ticket-timeline li.comment")
    expect(comment).to_have_count(1)
    expect(comment.locator(".tlp-scope")).to_contain_text("HT")
    minh.goto("/tickets/" + page.url.rstrip("/").rsplit("/", 1)[-1] + "/")
    expect(minh.page.locator("#ticket-tlp .tlp-label")).to_have_text("TLP:RED")
    expect(minh.page.locator("#ticket-timeline li.comment")).to_have_count(0)


def test_on_a_phone_a_message_is_promoted_from_the_sheet(make_user, sign_in, security_topic):
    make_user("ht.sec", centre="HT", role="security_officer", display_name="An (ATTT Hà Tĩnh)")
    make_user("dn.sec", centre="DN", role="security_officer")
    an = sign_in("ht.sec", phone=True)
    open_topic(an)
    send(an, SCAN)
    message = an.page.locator("#messages li.msg").first
    expect(message).to_have_attribute("data-id", re.compile(r"\d+"))
    message.locator(".msg-body").tap()
    an.page.locator("#msg-menu [data-action=promote-ticket]").tap()
    dialog = an.page.locator("dialog.promotion-dialog")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box["width"] <= 390 and box["x"] >= 0
    dialog.locator("select[name=target_centre]").select_option("DN")
    screenshot(an.page, "promote-phone")
    dialog.locator("button[type=submit]").tap()
    expect(message.locator(".promoted-link")).to_have_text(re.compile(r"#\d+"))


def test_a_quote_the_viewer_may_not_read_shows_only_a_placeholder(officers, sign_in):
    """An alert promoted from a message shared with HT and DN, loosened to TLP:GREEN before quoting
    items were held to their messages' readers (update_alert now refuses it): QB's engineer reads the
    alert, and in place of the quote only "a message you may not read"."""
    from alerts.models import Alert
    from chat.models import Topic
    from chat.promotion import promote
    from chat.services import post_message
    from hub.models import User

    secret_text = "Chỉ HT và DN: máy chủ 10.9.8.7 đã bị chiếm quyền"
    topic = Topic.objects.get(slug="an-toan-thong-tin")
    ht, dn = User.objects.get(username="ht.sec"), User.objects.get(username="dn.sec")
    secret, _ = post_message(topic, by=dn, body=secret_text, shared_with=["HT", "DN"])
    _, alert = promote(user=ht, topic=topic, message_id=secret.pk, to="alert",
                       fields={"title": "Chiếm quyền máy chủ", "description": "Xem trích dẫn."})
    assert isinstance(alert, Alert) and alert.tlp == "red"
    from tests.alerts.test_promoted_alert import widened_before_the_rule

    widened_before_the_rule(alert, "green")
    cuong = sign_in("qb.eng")
    cuong.goto(f"/alerts/{alert.pk}/")
    origin = cuong.page.locator("#alert-origin")
    expect(origin).to_contain_text("một tin nhắn bạn không được đọc")
    expect(origin).to_contain_text("Chuyển từ một cuộc trò chuyện")
    expect(origin).not_to_contain_text("10.9.8.7")
    expect(origin).not_to_contain_text("Bình")
    an = officers[0]
    an.goto(f"/alerts/{alert.pk}/")
    expect(an.page.locator("#alert-origin")).to_contain_text(secret_text)
