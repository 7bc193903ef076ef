"""Direct conversations, threads, reactions and pins in a real browser (issue 26 §1–§3), at desktop
size and on a 390×844 phone, against a real daphne + Redis hub."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]

TOPIC_URL = "/topics/phat-trien-phan-mem/"


def make_people(make_user, language: str = "vi") -> None:
    make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)", language=language)
    make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)", language=language)
    make_user("qb.eng", centre="QB", display_name="Hoa (Quảng Bình)", language=language)


@pytest.fixture
def people(make_user, topic):
    make_people(make_user)


LOCALE = {"vi": "vi-VN", "en": "en-US"}


def clock(when, language: str) -> str:
    """A time of today as the page shows it: Vietnam's time in the viewer's format (util.formatTime)."""
    from django.utils import timezone

    local = timezone.localtime(when)
    return local.strftime("%H:%M") if language == "vi" else local.strftime("%I:%M %p")


def shown_at(time_locator) -> datetime:
    return datetime.fromisoformat(time_locator.get_attribute("datetime").replace("Z", "+00:00"))


def open_menu(person, message, phone: bool):
    """A message's actions menu: a hover and "More actions" on a desktop, a tap (a sheet) on a phone."""
    if phone:
        message.locator(".msg-body").tap()
    else:
        message.hover()
        message.locator(".msg-more").click()
    menu = person.page.locator("#msg-menu")
    expect(menu).to_be_visible()
    return menu


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


DM_WORDS = {
    "vi": {"heading": "Tin nhắn riêng", "none": "Chưa có cuộc trao đổi nào.", "new": "Cuộc trao đổi mới",
           "find": "Tên, tên đăng nhập hoặc mã trung tâm", "nobody": "Chưa chọn ai.", "chosen": "Đã chọn: Minh (DN)",
           "start": "Bắt đầu", "cancel": "Huỷ", "unread": "1 tin chưa đọc", "members": "Thành viên: ",
           "add": "Thêm người", "leave": "Rời khỏi", "about": "Thông tin cuộc trao đổi", "only_you": "Chỉ mình bạn",
           "confirm": "Rời khỏi cuộc trao đổi này? Bạn sẽ không còn thấy nó nữa."},
    "en": {"heading": "Direct messages", "none": "No conversations yet.", "new": "New conversation",
           "find": "Name, username or centre", "nobody": "Nobody chosen yet.", "chosen": "Chosen: Minh (DN)",
           "start": "Start", "cancel": "Cancel", "unread": "1 unread message", "members": "Members: ",
           "add": "Add people", "leave": "Leave", "about": "About this conversation", "only_you": "Only you",
           "confirm": "Leave this conversation? You will no longer see it."},
}


@pytest.mark.parametrize("language", ["en", "vi"])
def test_starting_and_leaving_a_direct_conversation_on_a_phone(make_user, sign_in, language):
    words = DM_WORDS[language]
    make_user("ht.dm", centre="HT", display_name="Lan (HT)", language=language)
    make_user("dn.dm", centre="DN", display_name="Minh (DN)", language=language)
    lan = sign_in("ht.dm", locale=LOCALE[language], phone=True)
    minh = sign_in("dn.dm", locale=LOCALE[language])
    page = lan.page  # the home page, where the list and "New conversation" are
    expect(page.locator("#h-direct")).to_have_text(words["heading"])
    expect(page.locator("[data-testid=dm-list] li")).to_have_text([words["none"]])
    page.locator("#new-conversation").tap()
    dialog = page.locator("dialog.people-dialog")
    expect(dialog.locator("h2")).to_have_text(words["new"])
    expect(dialog.locator("#people-q")).to_have_attribute("placeholder", words["find"])
    expect(dialog.locator(".people-picked")).to_have_text(words["nobody"])
    start = dialog.locator("button[value=yes]")
    expect(start).to_have_text(words["start"])
    expect(start).to_be_disabled()
    expect(dialog.locator("button[value=no]")).to_have_text(words["cancel"])
    dialog.locator("#people-q").fill("Minh")
    dialog.locator("li[data-username='dn.dm'] input").tap()
    expect(dialog.locator(".people-picked")).to_have_text(words["chosen"])
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    start.tap()
    page.wait_for_url(re.compile(r"/topics/dm-[0-9a-f]+/$"))
    lan.wait_live()
    expect(page.locator("#h-topic")).to_have_text("Minh (DN)")
    members = page.locator("[data-testid=conversation-members]")
    expect(members.locator("span.muted")).to_have_text(re.compile(rf"^{words['members']}.*Lan \(HT\) \(HT\)"))
    expect(members.locator("#add-people")).to_have_text(words["add"])
    expect(members.locator("#leave-conversation")).to_have_text(words["leave"])
    expect(page.locator("#topic-info-toggle")).to_have_accessible_name(words["about"])
    page.locator("#composer-input").fill("Anh Minh ơi, hỏi riêng một việc")
    page.locator("#send").tap()
    expect(page.locator("#messages li.msg")).to_have_count(1)
    assert no_horizontal_scroll(page)

    # Minh finds it in his list with one unread message, and opens it.
    minh.page.reload()
    entry = minh.page.locator("[data-testid=dm-list] li a")
    expect(entry).to_have_text(re.compile(r"^Lan \(HT\)\s*1$"))
    expect(entry.locator(".badge")).to_have_attribute("aria-label", words["unread"])
    entry.click()
    minh.wait_live()
    expect(minh.page.locator("#messages li.msg .msg-body")).to_have_text(["Anh Minh ơi, hỏi riêng một việc"])

    # Lan leaves by touch (the members and "Leave" are behind "About this conversation" on a phone):
    # asked first, then home without it; Minh's header follows live.
    expect(page.locator("#leave-conversation")).to_be_hidden()
    page.locator("#topic-info-toggle").tap()
    page.locator("#leave-conversation").tap()
    confirm = page.locator("dialog.confirm-dialog")
    expect(confirm).to_contain_text(words["confirm"])
    expect(confirm.locator("button[value=yes]")).to_have_text(words["leave"])
    confirm.locator("button[value=yes]").tap()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("[data-testid=dm-list] li")).to_have_text([words["none"]])
    expect(minh.page.locator("#h-topic")).to_have_text(words["only_you"])
    expect(minh.page.locator("[data-testid=conversation-members] span.muted")).not_to_contain_text("Lan (HT)")


PIN_WORDS = {
    "vi": {"pin": "Ghim", "pinned": "Đã ghim ({n})", "mark": "Đã ghim", "by": "Châu (ATTT Đà Nẵng) đã ghim",
           "reply_in_thread": "Trả lời trong luồng"},
    "en": {"pin": "Pin", "pinned": "Pinned ({n})", "mark": "Pinned", "by": "Pinned by Châu (ATTT Đà Nẵng)",
           "reply_in_thread": "Reply in thread"},
}


@pytest.mark.parametrize(("phone", "language"), [(True, "en"), (False, "vi")], ids=["phone-en", "desktop-vi"])
def test_in_the_security_topic_a_security_officer_pins_and_an_engineer_cannot(make_user, sign_in, phone, language):
    """The security topic's pin roles (security officers and managers): an engineer's menu has no
    "Pin"; an officer's has, and the engineer's "Pinned" list follows live, one click from the header."""
    from chat.services import create_topic, post_message

    words = PIN_WORDS[language]
    security = create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security",
                            default_tlp="amber", pin_roles=["security_officer", "manager"])
    officer = make_user("dn.sec", centre="DN", role="security_officer", display_name="Châu (ATTT Đà Nẵng)",
                        language=language)
    make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)", language=language)
    post_message(security, by=officer, body="Quy trình ứng cứu sự cố mã độc")
    chau = sign_in("dn.sec", locale=LOCALE[language], phone=phone)
    lan = sign_in("ht.eng", locale=LOCALE[language], phone=phone)
    for person in (chau, lan):
        person.goto("/topics/an-toan-thong-tin/")
        person.wait_live()
        # The button is drawn once the page knows the topic (and whether this person may pin).
        expect(person.page.locator("#pins-button")).to_have_text(words["pinned"].format(n=0))

    lan_message = lan.page.locator("#messages li.msg").first
    menu = open_menu(lan, lan_message, phone)
    expect(menu.locator("[data-action=reply-thread]")).to_have_text(words["reply_in_thread"])
    expect(menu.locator("[data-action=pin]")).to_have_count(0)
    expect(menu.get_by_role("menuitem", name=words["pin"], exact=True)).to_have_count(0)
    if phone:
        menu.locator(".msg-menu-cancel").tap()
    else:
        lan.page.keyboard.press("Escape")
    expect(menu).to_have_count(0)

    menu = open_menu(chau, chau.page.locator("#messages li.msg").first, phone)
    pin = menu.locator("[data-action=pin]")
    expect(pin).to_have_text(words["pin"])
    pin.tap() if phone else pin.click()
    button = lan.page.locator("#pins-button")
    expect(button).to_have_text(words["pinned"].format(n=1))
    expect(lan_message.locator(".pinned-mark")).to_have_text(words["mark"])
    button.tap() if phone else button.click()
    pins = lan.page.locator("[data-testid=pins-list]")
    expect(pins.locator("li .rendered")).to_have_text(["Quy trình ứng cứu sự cố mã độc"])
    expect(pins.locator("li p.muted")).to_have_text(words["by"])
    if phone:
        box = pins.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert no_horizontal_scroll(lan.page)
    screenshot(lan.page, f"pins-security-{'phone' if phone else 'desktop'}-{language}")


THREAD_WORDS = {
    "vi": {"reply_in_thread": "Trả lời trong luồng", "threads": "Luồng trao đổi", "thread": "Luồng",
           "also": "Đồng thời gửi lên kênh", "reply": "Trả lời", "one_reply": "1 trả lời", "two_replies": "2 trả lời",
           "last": "trả lời gần nhất", "add_reaction": "Bày tỏ cảm xúc", "more": "Thêm…", "pin": "Ghim",
           "pinned": "Đã ghim ({n})", "mark": "Đã ghim", "by": "{name} đã ghim"},
    "en": {"reply_in_thread": "Reply in thread", "threads": "Threads", "thread": "Thread",
           "also": "Also send to the channel", "reply": "Reply", "one_reply": "1 reply", "two_replies": "2 replies",
           "last": "last reply", "add_reaction": "Add a reaction", "more": "More…", "pin": "Pin",
           "pinned": "Pinned ({n})", "mark": "Pinned", "by": "Pinned by {name}"},
}


@pytest.mark.parametrize("language", ["vi", "en"])
def test_threads_reactions_and_pins_live_between_two_centres(make_user, topic, sign_in, language):
    from chat.models import Message

    words = THREAD_WORDS[language]
    make_people(make_user, language)
    lan, minh = sign_in("ht.eng", locale=LOCALE[language]), sign_in("dn.eng", locale=LOCALE[language])
    for person in (lan, minh):
        person.goto(TOPIC_URL)
        person.wait_live()
    send(lan, "Có ai tích hợp VNeID chưa?")
    root = minh.page.locator("#messages li.msg").first
    expect(root).to_have_attribute("data-id", re.compile(r"\d+"))

    # Minh replies in a thread: the panel opens; the reply stays out of the channel.
    root.hover()
    reply_button = root.locator(".msg-toolbar [data-action=reply-thread]")
    expect(reply_button).to_have_attribute("aria-label", words["reply_in_thread"])
    reply_button.click()
    panel = minh.page.locator("#thread-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("#h-thread")).to_have_text(words["thread"])
    expect(panel.locator("#thread-input")).to_have_attribute("aria-label", words["reply_in_thread"])
    expect(panel.locator("label[for=thread-also-channel]")).to_have_text(words["also"])
    expect(panel.locator("button[type=submit]")).to_have_text(words["reply"])
    panel.locator("#thread-input").fill("Đà Nẵng làm rồi, dùng OpenID Connect")
    panel.locator("#thread-input").press("Enter")
    expect(panel.locator("[data-testid=thread-messages] li")).to_have_count(2)
    # Under the root: the reply count and the last reply's time (Vietnam's, in the viewer's format).
    first_reply = Message.objects.get(body="Đà Nẵng làm rồi, dùng OpenID Connect")
    line = lan.page.locator("#messages li.msg p.thread-summary")
    expect(line).to_have_text(f"{words['one_reply']} · {words['last']} {clock(first_reply.created_at, language)}")
    first_shown = line.locator("time").get_attribute("datetime")
    assert abs(shown_at(line.locator("time")) - first_reply.created_at) < timedelta(milliseconds=1)
    summary = line.locator("[data-testid=thread-summary]")
    expect(lan.page.locator("#messages li.msg")).to_have_count(1)
    expect(lan.page.locator("#threads-button")).to_have_text(f"{words['threads']} 1")  # Lan started it: unread
    summary.click()
    lan_panel = lan.page.locator("#thread-panel")
    expect(lan_panel.locator("[data-testid=thread-messages] li .msg-body")).to_have_text(
        ["Có ai tích hợp VNeID chưa?", "Đà Nẵng làm rồi, dùng OpenID Connect"])
    expect(lan.page.locator("#threads-button")).to_have_text(words["threads"])  # read in the panel: no badge
    # "Also send to the channel": the reply shows in both, and the root's last reply time follows live.
    lan_panel.locator("#thread-input").fill("Cảm ơn, cho mình xin tài liệu")
    lan_panel.locator("#thread-also-channel").check()
    lan_panel.locator("button[type=submit]").click()
    expect(minh.page.locator("#messages li.msg")).to_have_count(2)
    expect(minh.page.locator("#thread-panel [data-testid=thread-messages] li")).to_have_count(3)
    second_reply = Message.objects.get(body="Cảm ơn, cho mình xin tài liệu")
    minh_line = minh.page.locator("#messages li.msg").first.locator("p.thread-summary")
    expect(minh_line).to_contain_text(words["two_replies"])
    expect(minh_line.locator("time")).not_to_have_attribute("datetime", first_shown)
    assert abs(shown_at(minh_line.locator("time")) - second_reply.created_at) < timedelta(milliseconds=1)
    expect(minh_line).to_contain_text(f"{words['last']} {clock(second_reply.created_at, language)}")
    screenshot(lan.page, f"thread-panel-{language}")
    lan_panel.locator(".thread-close").click()
    minh.page.locator("#thread-panel .thread-close").click()

    # Lan reacts 👍 from the picker; Minh sees it live and adds his own; reacting again removes it.
    first = lan.page.locator("#messages li.msg").first
    first.locator(".reaction-add").click()
    picker = lan.page.locator("#emoji-picker")
    expect(picker).to_have_attribute("aria-label", words["add_reaction"])
    picker.locator("button[aria-label='👍']").click()
    minh_first = minh.page.locator("#messages li.msg").first
    chip = minh_first.locator(".reaction[data-emoji='👍']")
    expect(chip).to_have_text("👍 1")
    expect(chip).to_have_attribute("title", "ht.eng")
    chip.click()
    expect(first.locator(".reaction[data-emoji='👍']")).to_have_text("👍 2")
    expect(chip).to_have_attribute("aria-pressed", "true")
    chip.click()
    expect(first.locator(".reaction[data-emoji='👍']")).to_have_text("👍 1")
    # "More…" opens the rest of the emoji: one chosen there is a new chip; chosen again, it goes.
    for expected in (1, 0):
        first.locator(".reaction-add").click()
        more = picker.locator(".emoji-more-toggle")
        expect(more).to_have_text(words["more"])
        more.click()
        expect(more).to_have_attribute("aria-expanded", "true")
        picker.locator(".emoji-more button[aria-label='🚀']").click()
        expect(picker).to_have_count(0)
        rocket = minh_first.locator(".reaction[data-emoji='🚀']")
        if expected:
            expect(rocket).to_have_text("🚀 1")
            expect(first.locator(".reaction[data-emoji='🚀']")).to_have_attribute("aria-pressed", "true")
        else:
            expect(rocket).to_have_count(0)
    expect(lan.page.locator("#messages li.msg")).to_have_count(2)  # reactions are not messages

    # Minh pins the question; Lan's "Pinned" list follows live, one click from the header.
    expect(lan.page.locator("#pins-button")).to_have_text(words["pinned"].format(n=0))
    menu = open_menu(minh, minh_first, phone=False)
    expect(menu.locator("[data-action=pin]")).to_have_text(words["pin"])
    menu.locator("[data-action=pin]").click()
    expect(lan.page.locator("#pins-button")).to_have_text(words["pinned"].format(n=1))
    lan.page.click("#pins-button")
    pins = lan.page.locator("[data-testid=pins-list] li")
    expect(pins.locator(".rendered")).to_have_text(["Có ai tích hợp VNeID chưa?"])
    expect(pins.locator("p.muted")).to_have_text(words["by"].format(name="Minh (Đà Nẵng)"))
    expect(lan.page.locator("#messages li.msg").first.locator(".pinned-mark")).to_have_text(words["mark"])


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
    text, reply = panel.locator("#thread-input").bounding_box(), panel.locator("button[type=submit]").bounding_box()
    assert reply["x"] >= text["x"] + text["width"] and reply["y"] < text["y"] + text["height"]  # side by side
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
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"))


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
    lan.page.locator("#topic-info-toggle").tap()  # the members and "Add people" are behind it on a phone
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
