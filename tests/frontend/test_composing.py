"""What people type is what people see (issue 23): line breaks typed with Shift+Enter, a list right
after a line of text, quotes and code show as the preview shows them; "… is typing" ends when the
message arrives."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

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


def test_line_breaks_lists_quotes_and_code_show_as_typed_and_as_previewed(two_centres):
    lan, minh = two_centres
    box = lan.page.locator("#composer-input")
    box.click()
    for i, line in enumerate(["Các bước khắc phục:", "- vá máy chủ", "- đổi mật khẩu", "Ghi chú của Huế:",
                              "> đã chặn IP", "Dòng một", "Dòng hai", "```", "tail -f /var/log/nginx/error.log",
                              "```"]):
        if i:
            box.press("Shift+Enter")
        box.type(line)
    lan.page.click("#preview-toggle")
    preview = lan.page.locator("#preview")
    expect(preview.locator("ul > li")).to_have_count(2)
    preview_html = preview.inner_html()
    box.press("Enter")

    body = minh.page.locator("#messages li.msg .msg-body").last
    expect(body.locator("ul > li")).to_have_count(2)
    expect(body.locator("ul > li").first).to_have_text("vá máy chủ")
    expect(body.locator("blockquote")).to_have_text("đã chặn IP")
    expect(body.locator("pre code")).to_have_text("tail -f /var/log/nginx/error.log\n")
    expect(body.locator("p", has_text="Dòng một")).to_have_text("Dòng một\nDòng hai")
    expect(body.locator("p", has_text="Dòng một").locator("br")).to_have_count(1)
    assert body.locator("p").first.inner_text() == "Các bước khắc phục:"  # not joined with the list
    assert body.inner_html().strip() == preview_html.strip()  # the message is what the preview showed


def test_the_typing_notice_ends_when_the_message_arrives(two_centres):
    lan, minh = two_centres
    box = minh.page.locator("#composer-input")
    box.type("Đang kiểm tra nhật ký", delay=30)
    typing = lan.page.locator("#typing")
    expect(typing).to_contain_text("Minh (Đà Nẵng)")
    box.press("Enter")
    expect(lan.page.locator("#messages li.msg")).to_have_count(1)
    # well before the notice's own 5 s expiry: the message itself ends it
    expect(typing).to_have_text("", timeout=1500)
