"""The topic page on a 390×844 phone gives the messages most of the screen (docs/ui.md, "Phone"): the
topic's head is one row of icon buttons (search, pinned, threads, about this topic), the search box
and the topic's information (description, read-state switch) open behind them, and the composer is
one compact block (box and Send, then Attach, Preview, TLP and who reads it, then the TLP's meaning).
Every control folded away still works by touch and keeps its name. On a desktop, an unread badge
beside a topic name on two lines stays one line high."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot
from tests.frontend.scene import Scene, build_scene
from tests.frontend.test_chat_files import png_bytes

pytestmark = [pytest.mark.services, pytest.mark.browser]

HEIGHT = 844
TOPIC_DESCRIPTION = "Trao đổi về phát triển phần mềm."

# The part of the screen the message list shows (#scroller, cut to the viewport), and where the
# composer's parts are.
MEASURE = """() => {
  const box = (s) => { const r = document.querySelector(s).getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height}; };
  const list = box('#scroller');
  const visible = Math.min(innerHeight, list.bottom) - Math.max(0, list.top);
  return {share: visible / innerHeight, list: visible, page: document.documentElement.scrollHeight,
          box: box('#composer-input'), send: box('#send'), attach: box('#attach-files'),
          preview: box('#preview-toggle'), tlp: box('#composer-marking-tlp'), scope: box('#composer-marking-scope')};
}"""


@pytest.fixture
def scene(make_user) -> Scene:
    return build_scene(make_user)


@pytest.fixture
def hub_extra_env(tmp_path):
    return {"HUB_MEDIA_ROOT": str(tmp_path / "media")}


def open_topic(sign_in, scene: Scene, username: str = "dn.mgr"):
    person = sign_in(username, phone=True)
    page = person.goto(f"/topics/{scene.topic_slug}/")
    person.wait_live()
    expect(page.locator("#messages li.msg")).to_have_count(2)
    return person, page


def collapse_the_banner(page) -> None:
    """The unacknowledged alert's banner stays (it is deliberate), collapsed to its line as a person
    who has seen it would."""
    page.locator(".alert-banner.awaiting:not(.collapsed) .collapse-button").tap()
    expect(page.locator(".alert-banner.awaiting.collapsed")).to_have_count(1)


def test_the_messages_get_most_of_a_phone_screen(scene: Scene, sign_in):
    _, page = open_topic(sign_in, scene)
    collapse_the_banner(page)
    page.wait_for_timeout(300)  # the layout after the banner's collapse
    at = page.evaluate(MEASURE)
    # Before: the head, the read-state switch, the description, the search box and a composer with
    # its buttons stacked beside the box left the list about a third of the screen (34 % in the demo).
    assert at["share"] >= 0.5, f"the message list shows {at['list']:.0f}px of {HEIGHT}px ({at['share']:.0%})"
    assert at["page"] <= HEIGHT  # the page itself does not scroll
    # The composer is one compact block: Send beside the box, the other controls in one row under it.
    assert at["send"]["left"] >= at["box"]["right"] and at["send"]["top"] < at["box"]["bottom"]
    row = [at[name] for name in ("attach", "preview", "tlp", "scope")]
    assert all(part["top"] >= at["box"]["bottom"] - 1 for part in row)
    assert max(part["top"] for part in row) - min(part["top"] for part in row) < 12, row
    # Each control keeps its name (the words are visually hidden, not gone).
    names = {"#search-toggle": "Tìm tin nhắn", "#topic-info-toggle": "Thông tin chủ đề",
             "#pins-button": "Đã ghim (0)", "#threads-button": "Luồng trao đổi", "#attach-files": "Đính kèm tệp",
             "#preview-toggle": "Xem trước", "#send": "Gửi", "#composer-marking-tlp": "Nhãn",
             "#composer-marking-scope": "Ai được đọc", "#composer-input": re.compile("^Tin nhắn")}
    for selector, name in names.items():
        expect(page.locator(selector)).to_be_visible()
        expect(page.locator(selector)).to_have_accessible_name(name)
    for toggle in ("#search-toggle", "#topic-info-toggle"):
        expect(page.locator(toggle)).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#search-form")).to_be_hidden()
    expect(page.locator("#topic-info")).to_be_hidden()
    screenshot(page, "topic-phone-compact")

    # The pinned and threads lists still open from their icons.
    page.locator("#pins-button").tap()
    expect(page.locator("#pins-list")).to_be_visible()
    page.locator("#pins-button").tap()
    page.locator("#threads-button").tap()
    expect(page.locator("#threads-list")).to_be_visible()


def test_search_opens_from_its_icon_and_finds_a_message_on_a_phone(scene: Scene, sign_in):
    _, page = open_topic(sign_in, scene)
    toggle = page.locator("#search-toggle")
    toggle.tap()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    field = page.locator("#search-q")
    expect(field).to_be_visible()
    expect(field).to_be_focused()  # the focus goes into the box
    field.fill("VNeID")
    field.press("Enter")
    hit = page.locator("#search-list .search-hit")
    expect(hit).to_have_count(1)
    expect(hit.locator("mark").first).to_have_text("VNeID")
    screenshot(page, "topic-phone-search")
    page.locator("#search-close").tap()
    expect(page.locator("#search-results")).to_be_hidden()
    field.press("Escape")  # closes the box, the focus back on its button
    expect(page.locator("#search-form")).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()


def test_the_topic_information_and_the_read_state_switch_on_a_phone(scene: Scene, sign_in):
    from chat import receipts
    from hub.models import User

    manager = User.objects.get(username="dn.mgr")
    assert receipts.shares(manager)
    _, page = open_topic(sign_in, scene)
    toggle = page.locator("#topic-info-toggle")
    info = page.locator("#topic-info")
    expect(info).to_be_hidden()
    toggle.tap()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(info.locator(".topic-description")).to_have_text(TOPIC_DESCRIPTION)
    switch = info.locator("[data-testid=receipts-share] input")
    expect(switch).to_be_visible()
    expect(switch).to_be_checked()
    expect(switch).to_have_accessible_name(re.compile("^Chia sẻ trạng thái đã xem của tôi"))
    screenshot(page, "topic-phone-info")
    switch.tap()
    expect(switch).not_to_be_checked()
    for _ in range(50):  # the PUT answers, then the setting is stored
        if not receipts.shares(manager):
            break
        page.wait_for_timeout(100)
    assert not receipts.shares(manager)
    switch.press("Escape")
    expect(info).to_be_hidden()
    expect(toggle).to_be_focused()
    page.reload()
    page.locator("#topic-info-toggle").tap()
    expect(page.locator("[data-testid=receipts-share] input")).not_to_be_checked()


def test_attach_preview_marking_and_send_from_the_compact_composer(scene: Scene, sign_in):
    from chat.models import Message

    _, page = open_topic(sign_in, scene)
    with page.expect_file_chooser() as chooser:
        page.locator("#attach-files").tap()
    chooser.value.set_files({"name": "so-do-mang.png", "mimeType": "image/png", "buffer": png_bytes(400, 300)})
    expect(page.locator("#composer-files li")).to_have_count(1)

    preview = page.locator("#preview-toggle")
    preview.tap()
    expect(preview).to_have_attribute("aria-pressed", "true")
    page.locator("#composer-input").fill("Sơ đồ mạng **mới** cho Đà Nẵng")
    expect(page.locator("#preview strong")).to_have_text("mới")

    # The TLP and who reads it, with the TLP's meaning (the chooser's description) following the choice.
    tlp, meaning = page.locator("#composer-marking-tlp"), page.locator("#composer-marking .tlp-meaning")
    tlp.select_option("amber")
    amber = page.locator("#composer-marking-tlp option[value=amber]").get_attribute("title")
    expect(meaning).to_have_text(amber)
    expect(meaning).to_be_visible()
    expect(tlp).to_have_accessible_description(amber)
    page.locator("#composer-marking-scope").select_option("own")

    page.locator("#send").tap()
    last = page.locator("#messages li.msg").last
    expect(last.locator(".msg-body strong")).to_have_text("mới")
    expect(last.locator(".msg-files img")).to_have_count(1)
    expect(page.locator("#composer-input")).to_have_value("")
    message = Message.objects.get(body__startswith="Sơ đồ mạng")
    assert (message.tlp, message.shared_with, message.attachments.count()) == ("amber", [], 1)


def test_a_badge_beside_a_name_on_two_lines_stays_one_line_high(scene: Scene, sign_in):
    from chat.services import create_topic, post_message
    from hub.models import User

    long = create_topic(slug="dao-tao", name_vi="Đào tạo, sát hạch và chứng chỉ an toàn thông tin cho cán bộ",
                        name_en="Training")
    post_message(long, by=User.objects.get(username="ht.eng"), body="Lịch sát hạch tháng 9")
    person = sign_in("dn.mgr")  # a desktop
    page = person.goto(f"/topics/{scene.topic_slug}/")
    link = page.locator("#topic-list li[data-slug=dao-tao] a")
    badge = link.locator(".badge")
    expect(badge).to_have_text("1")
    line = link.evaluate("a => parseFloat(getComputedStyle(a).lineHeight)")
    name_height = link.evaluate("a => { const r = document.createRange(); r.selectNodeContents(a.firstChild);"
                                " return r.getBoundingClientRect().height; }")
    assert name_height >= 1.8 * line  # the name takes two lines
    height = badge.bounding_box()["height"]
    assert height <= line + 1, f"the badge is {height:.0f}px high beside a {line:.0f}px line"
    # beside the name's first line
    assert badge.bounding_box()["y"] < link.bounding_box()["y"] + line
