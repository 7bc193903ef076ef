"""Direct conversations, threads, reactions and pins in a real browser (issue 26 §1–§3), at desktop
size and on a 390×844 phone, against a real daphne + Redis hub."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]

TOPIC_URL = "/topics/phat-trien-phan-mem/"


@pytest.fixture
def people(make_user, topic):
    make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)")
    make_user("qb.eng", centre="QB", display_name="Hoa (Quảng Bình)")


def send(person, text: str) -> None:
    box = person.page.locator("#composer-input")
    box.fill(text)
    box.press("Enter")


def test_starting_a_direct_conversation_and_talking_in_it(people, sign_in):
    lan, minh, hoa = sign_in("ht.eng"), sign_in("dn.eng"), sign_in("qb.eng")
    lan.page.click("#new-conversation")
    dialog = lan.page.locator("dialog.people-dialog")
    dialog.locator("#people-q").fill("Minh")
    dialog.locator("li[data-username='dn.eng'] input").check()
    dialog.locator("button[value=yes]").click()
    lan.page.wait_for_url(re.compile(r"/topics/dm-[0-9a-f]+/$"))
    lan.wait_live()
    expect(lan.page.locator("#h-topic")).to_have_text("Minh (Đà Nẵng)")
    expect(lan.page.locator("[data-testid=conversation-members]")).to_contain_text("Lan (Hà Tĩnh) (HT)")
    send(lan, "Chào anh Minh, hỏi riêng về VNeID")
    expect(lan.page.locator("#messages li.msg")).to_have_count(1)
    url = lan.page.url

    # Minh finds it under "Direct messages" with one unread message, and it is live there.
    minh.page.reload()
    entry = minh.page.locator("[data-testid=dm-list] li a")
    expect(entry).to_have_text(re.compile(r"^Lan \(Hà Tĩnh\)\s*1$"))
    entry.click()
    minh.wait_live()
    expect(minh.page.locator("#messages li.msg .msg-body")).to_have_text(["Chào anh Minh, hỏi riêng về VNeID"])
    send(minh, "Chào chị, Đà Nẵng đã làm xong")
    expect(lan.page.locator("#messages li.msg")).to_have_count(2)

    # Hoa (not a member) sees nothing of it.
    expect(hoa.page.locator("[data-testid=dm-list] li")).to_have_text(["Chưa có cuộc trao đổi nào."])
    assert hoa.page.goto(url).status == 404
    screenshot(lan.page, "direct-conversation")

    # Lan adds Hoa and chooses to show her the earlier messages (the dialog says what each choice
    # means); Minh's header follows live; Hoa reads the whole conversation.
    lan.page.click("#add-people")
    dialog = lan.page.locator("dialog.people-dialog")
    dialog.locator("#people-q").fill("QB")
    dialog.locator("li[data-username='qb.eng'] input").check()
    notice = dialog.locator("#add-history-notice")
    expect(notice).to_have_text("Họ chỉ đọc những gì được viết từ bây giờ; các tin nhắn trước đó vẫn ẩn với họ.")
    dialog.locator("#add-history").check()
    expect(notice).to_contain_text("Họ sẽ đọc toàn bộ cuộc trao đổi đến nay")
    dialog.locator("button[value=yes]").click()
    expect(minh.page.locator("[data-testid=conversation-members]")).to_contain_text("Hoa (Quảng Bình)")
    hoa.goto(url)
    hoa.wait_live()
    expect(hoa.page.locator("#messages li.msg")).to_have_count(2)
    # Hoa leaves: back home, and the conversation is gone from the list.
    hoa.page.click("#leave-conversation")
    hoa.page.locator("dialog.confirm-dialog button[value=yes]").click()
    hoa.page.wait_for_url(re.compile(r"/$"))
    expect(hoa.page.locator("[data-testid=dm-list] li")).to_have_text(["Chưa có cuộc trao đổi nào."])


def test_threads_reactions_and_pins_live_between_two_centres(people, sign_in):
    lan, minh = sign_in("ht.eng"), sign_in("dn.eng")
    for person in (lan, minh):
        person.goto(TOPIC_URL)
        person.wait_live()
    send(lan, "Có ai tích hợp VNeID chưa?")
    root = minh.page.locator("#messages li.msg").first
    expect(root).to_have_attribute("data-id", re.compile(r"\d+"))

    # Minh replies in a thread: the panel opens; the reply stays out of the channel.
    root.hover()
    root.locator(".msg-toolbar [data-action=reply-thread]").click()
    panel = minh.page.locator("#thread-panel")
    expect(panel).to_be_visible()
    panel.locator("#thread-input").fill("Đà Nẵng làm rồi, dùng OpenID Connect")
    panel.locator("#thread-input").press("Enter")
    expect(panel.locator("[data-testid=thread-messages] li")).to_have_count(2)
    summary = lan.page.locator("#messages li.msg [data-testid=thread-summary]")
    expect(summary).to_have_text(re.compile("1 trả lời"))
    expect(lan.page.locator("#messages li.msg")).to_have_count(1)
    expect(lan.page.locator("#threads-button .badge")).to_have_text("1")  # Lan started it: unread reply
    summary.click()
    lan_panel = lan.page.locator("#thread-panel")
    expect(lan_panel.locator("[data-testid=thread-messages] li .msg-body")).to_have_text(
        ["Có ai tích hợp VNeID chưa?", "Đà Nẵng làm rồi, dùng OpenID Connect"])
    expect(lan.page.locator("#threads-button .badge")).to_have_count(0)  # read in the panel
    # "Also send to the channel": the reply shows in both.
    lan_panel.locator("#thread-input").fill("Cảm ơn, cho mình xin tài liệu")
    lan_panel.locator("#thread-also-channel").check()
    lan_panel.locator("button[type=submit]").click()
    expect(minh.page.locator("#messages li.msg")).to_have_count(2)
    expect(minh.page.locator("#thread-panel [data-testid=thread-messages] li")).to_have_count(3)
    screenshot(lan.page, "thread-panel")
    lan_panel.locator(".thread-close").click()
    minh.page.locator("#thread-panel .thread-close").click()

    # Lan reacts 👍 from the picker; Minh sees it live and adds his own; reacting again removes it.
    first = lan.page.locator("#messages li.msg").first
    first.locator(".reaction-add").click()
    lan.page.locator("#emoji-picker button[aria-label='👍']").click()
    minh_first = minh.page.locator("#messages li.msg").first
    chip = minh_first.locator(".reaction[data-emoji='👍']")
    expect(chip).to_have_text("👍 1")
    expect(chip).to_have_attribute("title", "ht.eng")
    chip.click()
    expect(first.locator(".reaction[data-emoji='👍']")).to_have_text("👍 2")
    expect(chip).to_have_attribute("aria-pressed", "true")
    chip.click()
    expect(first.locator(".reaction[data-emoji='👍']")).to_have_text("👍 1")
    expect(lan.page.locator("#messages li.msg")).to_have_count(2)  # reactions are not messages

    # Minh pins the question; Lan's "Pinned" list follows live, one click from the header.
    minh_first.hover()
    minh_first.locator(".msg-more").click()
    minh.page.locator("#msg-menu [data-action=pin]").click()
    expect(lan.page.locator("#pins-button")).to_have_text(re.compile(r"\(1\)"))
    lan.page.click("#pins-button")
    expect(lan.page.locator("[data-testid=pins-list] li .rendered")).to_have_text(["Có ai tích hợp VNeID chưa?"])
    expect(lan.page.locator("#messages li.msg").first.locator(".pinned-mark")).to_be_visible()


def test_on_a_phone_the_thread_fills_the_screen_and_reactions_work(people, sign_in):
    lan = sign_in("ht.eng", phone=True)
    minh = sign_in("dn.eng")
    for person in (lan, minh):
        person.goto(TOPIC_URL)
        person.wait_live()
    send(minh, "Lịch sát hạch tháng 9")
    message = lan.page.locator("#messages li.msg").first
    expect(message).to_have_attribute("data-id", re.compile(r"\d+"))
    message.locator(".msg-body").tap()
    lan.page.locator("#msg-menu [data-action=reply-thread]").tap()
    panel = lan.page.locator("#thread-panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box["x"] == pytest.approx(0, abs=1) and box["width"] == pytest.approx(390, abs=1)
    assert box["height"] == pytest.approx(844, abs=1)
    panel.locator("#thread-input").fill("Quảng Bình tham gia")
    panel.locator("button[type=submit]").tap()
    expect(panel.locator("[data-testid=thread-messages] li")).to_have_count(2)
    screenshot(lan.page, "thread-phone")
    panel.locator(".thread-close").tap()
    expect(minh.page.locator("#messages li.msg [data-testid=thread-summary]")).to_have_text(re.compile("1 trả lời"))
    message.locator(".reaction-add").tap()
    lan.page.locator("#emoji-picker button[aria-label='🎉']").tap()
    expect(minh.page.locator("#messages li.msg .reaction[data-emoji='🎉']")).to_have_text("🎉 1")
    picker_box = lan.page.locator("#messages li.msg .reactions").bounding_box()
    assert picker_box["x"] >= 0 and picker_box["x"] + picker_box["width"] <= 390


def no_horizontal_scroll(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


WORDS = {
    "en": {"show": "Show them the earlier messages",
           "from_now": "They will read only what is written from now on; the earlier messages stay hidden from them.",
           "hidden": "You were added to this conversation later: the messages from before you came are not "
                     "shown to you.",
           "replies": "130 replies", "earlier": "Earlier replies"},
    "vi": {"show": "Cho họ xem các tin nhắn trước đó",
           "from_now": "Họ chỉ đọc những gì được viết từ bây giờ; các tin nhắn trước đó vẫn ẩn với họ.",
           "hidden": "Bạn được thêm vào cuộc trao đổi này sau: các tin nhắn trước khi bạn tham gia không hiển "
                     "thị với bạn.",
           "replies": "130 trả lời", "earlier": "Các trả lời trước"},
}


@pytest.mark.parametrize("language", ["en", "vi"])
def test_someone_added_without_the_history_reads_only_what_comes_after_on_a_phone(make_user, sign_in, language):
    """The default of "Add people": the newcomer reads from now on (docs/chat.md, "Who reads the
    history"); the dialog says so, and the newcomer's page says why the past is missing."""
    from chat.models import Topic
    from chat.services import post_message, start_conversation

    words = WORDS[language]
    lan_user = make_user("ht.en", centre="HT", display_name="Lan (HT)", language=language)
    make_user("dn.en", centre="DN", display_name="Minh (DN)", language=language)
    make_user("qb.en", centre="QB", display_name="Hoa (QB)", language=language)
    topic, _ = start_conversation(by=lan_user, members=["dn.en"])
    post_message(topic, by=lan_user, body="Before Hoa: the leaked mail password")
    lan, hoa = sign_in("ht.en", phone=True), sign_in("qb.en", phone=True)
    lan.goto(f"/topics/{topic.slug}/")
    lan.wait_live()
    lan.page.locator("#add-people").tap()
    dialog = lan.page.locator("dialog.people-dialog")
    dialog.locator("#people-q").fill("QB")
    dialog.locator("li[data-username='qb.en'] input").check()
    expect(dialog.locator("label[for=add-history]")).to_have_text(words["show"])
    expect(dialog.locator("#add-history-notice")).to_have_text(words["from_now"])
    assert no_horizontal_scroll(lan.page)
    screenshot(lan.page, f"conversation-add-history-phone-{language}")
    dialog.locator("button[value=yes]").tap()
    expect(lan.page.locator("[data-testid=conversation-members]")).to_contain_text("Hoa (QB)")

    hoa.goto(f"/topics/{topic.slug}/")
    hoa.wait_live()
    expect(hoa.page.locator("#history-hidden-notice")).to_have_text(words["hidden"])
    expect(hoa.page.locator("#messages li.msg")).to_have_count(0)
    send(lan, "After Hoa came: please rotate the keys")
    expect(hoa.page.locator("#messages li.msg .msg-body")).to_have_text(["After Hoa came: please rotate the keys"])
    expect(lan.page.locator("#messages li.msg")).to_have_count(2)
    assert no_horizontal_scroll(hoa.page)
    assert Topic.objects.get(pk=topic.pk).members.get(user__username="qb.en").history_after > 0


@pytest.mark.parametrize("language", ["en", "vi"])
def test_a_long_thread_loads_its_earlier_replies_when_scrolled_back_on_a_phone(make_user, topic, sign_in, language):
    """The thread panel loads the latest 50 replies, then the earlier ones page by page (keyset, the
    API's cursor) as the reader scrolls back — no cap on a thread's length."""
    from chat.services import post_message

    words = WORDS[language]
    author = make_user("ht.long", centre="HT", display_name="Lan (HT)", language=language)
    make_user("dn.long", centre="DN", display_name="Minh (DN)", language=language)
    root = post_message(topic, by=author, body="Checklist for the exam week")[0]
    for i in range(1, 131):
        post_message(topic, by=author, body=f"step {i:03d}", reply_to=root.pk)
    minh = sign_in("dn.long", phone=True)
    minh.goto(TOPIC_URL)
    minh.wait_live()
    summary = minh.page.locator("#messages li.msg [data-testid=thread-summary]")
    expect(summary).to_contain_text("130")
    summary.tap(timeout=30_000)  # the first tap of a cold browser on a loaded machine took over 15 s once
    panel = minh.page.locator("#thread-panel")
    replies = panel.locator("[data-testid=thread-messages] li.thread-reply")
    expect(panel.locator(".thread-count")).to_have_text(words["replies"])
    expect(replies).to_have_count(51)  # the root and the latest 50
    expect(replies.last.locator(".msg-body")).to_have_text("step 130")
    expect(panel.locator("[data-testid=thread-earlier]")).to_have_text(words["earlier"])
    listing = panel.locator("[data-testid=thread-messages]")
    for count in (101, 131):  # scrolling back to the top loads the page before
        listing.evaluate("node => { node.scrollTop = 0; }")
        expect(replies).to_have_count(count)
    expect(replies.nth(1).locator(".msg-body")).to_have_text("step 001")
    expect(panel.locator("[data-testid=thread-earlier]")).to_have_count(0)  # nothing earlier
    bodies = replies.locator(".msg-body").all_inner_texts()
    assert bodies[1:] == [f"step {i:03d}" for i in range(1, 131)]  # in order, none twice
    assert no_horizontal_scroll(minh.page)
    screenshot(minh.page, f"thread-earlier-replies-phone-{language}")
