"""The topic page in a real browser: two centres chatting live, a cut network, hostile input."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import messages_text, screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]

TOPIC_URL = "/topics/phat-trien-phan-mem/"


@pytest.fixture
def two_centres(make_user, sign_in, topic):
    make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)")
    lan, minh = sign_in("ht.eng"), sign_in("dn.eng")
    for person in (lan, minh):
        person.goto(TOPIC_URL)
        person.wait_live()
    return lan, minh


def send(person, text: str) -> None:
    box = person.page.locator("#composer-input")
    box.fill(text)
    box.press("Enter")


def test_two_centres_see_each_others_messages_live_once_and_in_order(two_centres):
    lan, minh = two_centres
    send(lan, "Xin chào từ Hà Tĩnh")
    expect(minh.page.locator("#messages li.msg")).to_have_count(1)
    send(minh, "Chào Lan, Đà Nẵng đây")
    for person in (lan, minh):
        expect(person.page.locator("#messages li.msg")).to_have_count(2)
        assert messages_text(person.page) == ["Xin chào từ Hà Tĩnh", "Chào Lan, Đà Nẵng đây"]
        expect(person.page.locator("#outbox li")).to_have_count(0)
    expect(minh.page.locator("#messages li.msg").first.locator(".centre-tag")).to_have_text("HT")
    screenshot(lan.page, "topic")


def test_shift_enter_adds_a_line_and_enter_sends(two_centres):
    lan, minh = two_centres
    box = lan.page.locator("#composer-input")
    box.type("dòng một")
    box.press("Shift+Enter")
    box.type("dòng hai")
    assert box.input_value() == "dòng một\ndòng hai"
    box.press("Enter")
    expect(minh.page.locator("#messages li.msg")).to_have_count(1)
    assert box.input_value() == ""
    from chat.models import Message

    assert list(Message.objects.values_list("body", flat=True)) == ["dòng một\ndòng hai"]


def test_presence_groups_people_by_centre_and_typing_is_shown(two_centres):
    lan, minh = two_centres
    presence = lan.page.locator("#presence-list")
    expect(presence.locator("section", has_text="DN")).to_contain_text("Minh (Đà Nẵng)")
    expect(presence.locator("section", has_text="HT")).to_contain_text("Lan (Hà Tĩnh)")
    minh.page.locator("#composer-input").type("đang gõ")
    expect(lan.page.locator("#typing")).to_contain_text("Minh (Đà Nẵng)")
