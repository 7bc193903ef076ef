"""A topic page whose person may no longer see the topic empties itself (docs/chat.md, "Sockets follow
the topic"). A hub admin takes Quảng Bình out of the topic on the admin's Topic page; the QB engineer's
open page — messages, a thread open beside them, the pins, search results, a draft in the composer —
gives way at once, without a reload, to "You are not allowed to see this topic." and a link back to
the topic list. Nothing of the topic stays on screen; Hà Tĩnh's page goes on as before."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]

SLUG = "doi-ung-cuu"
SECRET = "Máy chủ 10.20.30.40 của Hà Tĩnh đang bị dò quét"
REPLY = "Đã chặn dải địa chỉ nguồn"
NOTICE = "Bạn không có quyền xem chủ đề này."


@pytest.fixture
def scene(make_user, transactional_db):
    from chat.services import create_topic, post_message, set_pinned

    ht = make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    make_user("qb.eng", centre="QB", display_name="Hùng (Quảng Bình)")
    make_user("root", centre=None, role="hub_admin", is_superuser=True, is_staff=True)
    topic = create_topic(slug=SLUG, name_vi="Đội ứng cứu", name_en="Incident response",
                         allowed_centres=["HT", "QB"])
    root, _ = post_message(topic, by=ht, body=SECRET)
    post_message(topic, by=ht, body=REPLY, reply_to=root.pk)
    set_pinned(root, by=ht, pinned=True)
    return topic, root


def take_qb_out_in_the_admin(admin) -> None:
    """The hub admin's own browser: the topic's change form, Quảng Bình moved out of the chosen
    centres (Django's two-list widget), Save."""
    from chat.models import Topic

    page = admin.goto(f"/admin/chat/topic/{Topic.objects.get(slug=SLUG).pk}/change/")
    page.locator("#id_allowed_centres_to option", has_text="QB").click()
    page.click("#id_allowed_centres_remove")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_be_visible()  # Django's "was changed successfully."
    assert sorted(Topic.objects.get(slug=SLUG).allowed_centres.values_list("code", flat=True)) == ["HT"]


def open_everything(person, root_id: int):
    """QB's topic page with the message, its thread open, the pins listed and a search made."""
    page = person.goto(f"/topics/{SLUG}/")
    person.wait_live()
    expect(page.locator("#messages li.msg .msg-body", has_text=SECRET)).to_be_visible()
    expect(page.locator("#pins-button")).to_contain_text("1")
    page.locator(f"#messages li.msg[data-id='{root_id}'] [data-testid=thread-summary]").click()
    expect(page.locator("#thread-panel")).to_contain_text(REPLY)
    return page


def assert_nothing_of_the_topic_left(page) -> None:
    notice = page.get_by_test_id("withdrawn")
    expect(notice).to_have_text(NOTICE)
    expect(notice).to_be_focused()
    expect(page.locator(".chat-main a[href='/']")).to_have_text("Tất cả chủ đề")
    for part in ("#messages", "#thread-panel", "#pins-button", "#pins-list", "#search-results", "#composer",
                 "#composer-input", "#outbox"):
        expect(page.locator(part)).to_have_count(0)
    expect(page.locator("#topic-list a[href='/topics/doi-ung-cuu/']")).to_have_count(0)  # the sidebar too
    assert "10.20.30.40" not in page.content()
    assert REPLY not in page.content()


def test_a_centre_taken_out_of_a_topic_sees_its_open_page_empty_at_once(scene, sign_in):
    topic, root = scene
    qb = sign_in("qb.eng")
    page = open_everything(qb, root.pk)
    page.fill("#search-q", "do quet")
    page.press("#search-q", "Enter")
    expect(page.locator("#search-list li.msg")).to_have_count(1)
    page.evaluate("window.loadedBeforeTheChange = true")
    ht = sign_in("ht.eng")
    ht_page = ht.goto(f"/topics/{SLUG}/")
    ht.wait_live()

    take_qb_out_in_the_admin(sign_in("root"))

    assert_nothing_of_the_topic_left(page)
    assert page.evaluate("window.loadedBeforeTheChange") is True  # emptied in place, not reloaded
    # Hà Tĩnh still sees the topic, live.
    expect(ht_page.locator("#conn-status")).to_have_attribute("data-state", "live")
    expect(ht_page.locator("#messages li.msg .msg-body", has_text=SECRET)).to_be_visible()


def test_on_a_phone_too(scene, sign_in):
    topic, root = scene
    qb = sign_in("qb.eng", phone=True)
    page = qb.goto(f"/topics/{SLUG}/")
    qb.wait_live()
    expect(page.locator("#messages li.msg .msg-body", has_text=SECRET)).to_be_visible()

    take_qb_out_in_the_admin(sign_in("root"))

    assert_nothing_of_the_topic_left(page)
    expect(page.get_by_test_id("withdrawn")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no wider than the phone
    screenshot(page, "topic-left-phone")
