"""Finding your place in a topic (issue 23, "Chat that people compare with Slack and Zulip"): the
message actions on a desktop and a phone, ↑ to edit, day separators, the "new messages" line, jumping
to the first unread, and links to messages that are not in the first page. Each runs on a desktop in
Vietnamese and on a 390×844 phone in English.

The browser runs in the machine's zone (UTC), the hub's is Asia/Ho_Chi_Minh: the messages of the
oldest day are written at 06:30 Hà Nội time, which is still the day before in UTC, so the separators
are right only when the page groups by the hub's zone.
"""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.conftest import token_for

pytestmark = [pytest.mark.services, pytest.mark.browser]

SLUG = "phat-trien-phan-mem"
TOPIC_URL = f"/topics/{SLUG}/"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")

# (locale, phone, texts the page shows in that language)
VI = {"locale": "vi-VN", "phone": False, "today": "Hôm nay", "yesterday": "Hôm qua", "new": "Tin nhắn mới",
      "copied": "Đã sao chép liên kết.", "latest": "Đến tin nhắn mới nhất", "edited": "đã sửa",
      "unread": "{n} tin nhắn mới", "not_found": "Tin nhắn đó không có trong chủ đề này"}
EN = {"locale": "en-US", "phone": True, "today": "Today", "yesterday": "Yesterday", "new": "New messages",
      "copied": "Link copied.", "latest": "Jump to the latest messages", "edited": "edited",
      "unread": "{n} new messages", "not_found": "That message is not in this topic"}
SIZES = [pytest.param(VI, id="desktop-vi"), pytest.param(EN, id="phone-en")]


def signed_in(sign_in, username: str, lang: dict):
    """A person in `lang`'s language (the hub's language cookie) and screen size."""
    person = sign_in(username, locale=lang["locale"], phone=lang["phone"])
    if lang["locale"].startswith("en"):
        person.context.add_cookies([{"name": "django_language", "value": "en", "url": person.page.url}])
    return person


def log_shape(page) -> list[str]:
    """The log as a list: "m<id>" for a message, "day:<YYYY-MM-DD>" and "unread" for the markers."""
    return page.locator("#messages").evaluate(
        "ol => Array.from(ol.children, n => n.classList.contains('msg') ? 'm' + n.dataset.id : n.dataset.marker)")


def shown_ids(page) -> list[int]:
    return [int(x[1:]) for x in log_shape(page) if x.startswith("m")]


def post_over_http(hub, user, body: str) -> int:
    """A message posted through the running hub (so it is broadcast live, as from another client)."""
    request = urllib.request.Request(
        f"{hub.http}/api/v1/topics/{SLUG}/messages", method="POST", data=json.dumps({"body": body}).encode(),
        headers={"Authorization": f"Token {token_for(user)}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["id"]


def post_many(topic, author, count: int, prefix: str = "tin số") -> list[int]:
    from chat.services import post_message

    return [post_message(topic, by=author, body=f"{prefix} {i}")[0].pk for i in range(1, count + 1)]


def date_at(ids: list[int], when: datetime, step: timedelta) -> None:
    """Give these messages creation times from `when` on, `step` apart (as if written then)."""
    from chat.models import Message

    for n, pk in enumerate(ids):
        Message.objects.filter(pk=pk).update(created_at=when + n * step)


def scroll_log(page, to: str) -> None:
    page.locator("#scroller").evaluate("(el, to) => { el.scrollTop = to === 'top' ? 0 : el.scrollHeight; }", to)


@pytest.mark.parametrize("lang", SIZES)
def test_day_separators_and_the_new_messages_line_in_history_pages_and_live(make_user, sign_in, topic, hub, lang):
    from chat.services import mark_topic_read

    minh = make_user("dn.eng", centre="DN", display_name="Minh")
    lan = make_user("ht.eng", centre="HT", display_name="Lan")
    today = datetime.now(HCM).date()
    old_day, yesterday = today - timedelta(days=3), today - timedelta(days=1)
    old = post_many(topic, minh, 30, "ngày cũ")
    recent = post_many(topic, minh, 35, "hôm qua")
    # 06:30 in Hà Nội is 23:30 the day before in UTC: grouped by UTC these would fall on the wrong day.
    date_at(old, datetime.combine(old_day, time(6, 30), HCM), timedelta(minutes=1))
    assert datetime.combine(old_day, time(6, 30), HCM).astimezone(ZoneInfo("UTC")).date() != old_day
    date_at(recent, datetime.combine(yesterday, time(12, 0), HCM), timedelta(minutes=1))
    mark_topic_read(topic, by=lan, up_to=recent[19])  # read up to yesterday's 20th: 15 unread

    person = signed_in(sign_in, "ht.eng", lang)
    page = person.goto(TOPIC_URL)
    person.wait_live()
    page.wait_for_selector("#unread-line")
    # The first page (50 messages) starts in the old day: its separator stands above its first message.
    assert log_shape(page) == ([f"day:{old_day}"] + [f"m{i}" for i in old[15:]] + [f"day:{yesterday}"]
                               + [f"m{i}" for i in recent[:20]] + ["unread"] + [f"m{i}" for i in recent[20:]])
    separators = page.locator("#messages .day-separator")
    expect(separators.nth(1)).to_have_text(lang["yesterday"])
    old_label = separators.nth(0).inner_text()
    assert str(old_day.day) in old_label and old_label not in (lang["today"], lang["yesterday"])
    if lang["locale"] == "vi-VN":
        assert f"tháng {old_day.month}" in old_label
    else:
        assert old_day.strftime("%B") in old_label and old_day.strftime("%A") in old_label
    expect(page.locator("#unread-line")).to_have_text(lang["new"])

    # The first unread is above the view (the page opens at the end): the button says so and goes there.
    jump = page.locator("#jump-unread")
    expect(jump).to_be_visible()
    expect(jump).to_contain_text(lang["unread"].format(n=15))
    jump.click()
    expect(page.locator("#unread-line")).to_be_in_viewport()
    expect(jump).to_be_hidden()

    # A live message of today gets its "today" separator; it is not "unread at opening": one line only.
    scroll_log(page, "bottom")
    live_id = post_over_http(hub, minh, "hôm nay đây")
    expect(page.locator(f"#m-{live_id}")).to_be_visible()
    shape = log_shape(page)
    assert shape[-2:] == [f"day:{today}", f"m{live_id}"] and shape.count("unread") == 1
    expect(separators.last).to_have_text(lang["today"])

    # Scrolling back loads the older page: the old day's separator moves to its real first message.
    scroll_log(page, "top")
    expect(page.locator("#messages li.msg")).to_have_count(66)
    assert log_shape(page) == ([f"day:{old_day}"] + [f"m{i}" for i in old] + [f"day:{yesterday}"]
                               + [f"m{i}" for i in recent[:20]] + ["unread"] + [f"m{i}" for i in recent[20:]]
                               + [f"day:{today}", f"m{live_id}"])
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.mark.parametrize("lang", SIZES)
def test_jump_to_the_first_unread_loads_the_history_around_it(make_user, sign_in, topic, hub, lang):
    from chat.services import mark_topic_read

    minh = make_user("dn.eng", centre="DN", display_name="Minh")
    lan = make_user("ht.eng", centre="HT", display_name="Lan")
    ids = post_many(topic, minh, 150)
    mark_topic_read(topic, by=lan, up_to=ids[19])  # 130 unread; the first (#21) is not in the first page

    person = signed_in(sign_in, "ht.eng", lang)
    page = person.goto(TOPIC_URL)
    person.wait_live()
    expect(page.locator("#messages li.msg")).to_have_count(50)
    assert page.locator("#unread-line").count() == 0
    jump = page.locator("#jump-unread")
    expect(jump).to_contain_text(lang["unread"].format(n=130))
    jump.click()
    line = page.locator("#unread-line")
    expect(line).to_be_in_viewport()
    expect(jump).to_be_hidden()
    shape = log_shape(page)
    assert shape[shape.index("unread") + 1] == f"m{ids[20]}"  # the line stands above the first unread
    shown = shown_ids(page)
    assert ids[19] in shown and ids[149] not in shown  # a window around it, not the latest
    assert shown == ids[ids.index(shown[0]):ids.index(shown[-1]) + 1]  # contiguous, in order

    # While an older window is shown, a live message waits (no hole, no stray message at the end)…
    live_id = post_over_http(hub, minh, "tin trực tiếp")
    latest = page.locator("#jump-latest")
    expect(latest).to_have_text(lang["latest"])
    page.wait_for_timeout(500)
    assert live_id not in shown_ids(page)
    # …scrolling down extends the window with newer pages…
    before = len(shown_ids(page))
    scroll_log(page, "bottom")
    expect(page.locator("#messages li.msg")).not_to_have_count(before)
    # …and "jump to the latest" shows the end, with the live message once.
    latest.click()
    expect(page.locator(f"#m-{live_id}")).to_be_in_viewport()
    shown = shown_ids(page)
    assert shown[-1] == live_id and shown.count(live_id) == 1
    assert shown[:-1] == ids[ids.index(shown[0]):]
    expect(latest).to_be_hidden()


@pytest.mark.parametrize("lang", SIZES)
def test_a_link_to_a_message_outside_the_first_page_loads_around_it_and_highlights_it(
        make_user, sign_in, topic, hub, lang):
    from chat.services import create_topic, post_message

    minh = make_user("dn.eng", centre="DN", display_name="Minh")
    make_user("ht.eng", centre="HT", display_name="Lan")
    ids = post_many(topic, minh, 150)
    elsewhere = create_topic(slug="noi-khac", name_vi="Nơi khác", name_en="Elsewhere")
    other_topic_id = post_message(elsewhere, by=minh, body="ở chủ đề khác")[0].pk

    person = signed_in(sign_in, "ht.eng", lang)
    page = person.goto(f"{hub.http}{TOPIC_URL}#m-{ids[9]}")  # the absolute permalink of message 10
    person.wait_live()
    target = page.locator(f"#m-{ids[9]}")
    expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    expect(target).to_be_in_viewport()
    shown = shown_ids(page)
    assert ids[149] not in shown and shown == ids[:len(shown)]  # from the first message, contiguous
    expect(page.locator("#history-status")).not_to_be_empty()  # "Beginning of the topic."

    # A link followed inside the page (the address's hash changes) to another message not loaded.
    page.evaluate(f"location.hash = '#m-{ids[119]}'")
    target = page.locator(f"#m-{ids[119]}")
    expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    expect(target).to_be_in_viewport()
    shown = shown_ids(page)
    assert shown == ids[ids.index(shown[0]):ids.index(shown[-1]) + 1] and ids[9] not in shown

    # A message of another topic is not found here; the log stays as it was.
    page.evaluate(f"location.hash = '#m-{other_topic_id}'")
    expect(page.locator("#composer-error")).to_contain_text(lang["not_found"])
    assert shown_ids(page) == shown
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def open_actions(person, message, phone: bool):
    """The actions of a message as a person reaches them: pointing and "More actions" on a desktop,
    a tap on the message (a sheet) on a phone."""
    if phone:
        message.locator(".msg-body").tap()
        sheet = person.page.locator("#msg-menu.sheet")
        expect(sheet).to_be_visible()
        return sheet
    message.hover()
    message.locator(".msg-more").click()
    return person.page.locator("#msg-menu")


def choose(menu, action: str, phone: bool) -> None:
    item = menu.locator(f"[data-action={action}]")
    if phone:
        item.tap()
    else:
        item.click()


@pytest.mark.parametrize("lang", SIZES)
def test_each_message_action_from_the_menu_and_the_sheet(make_user, sign_in, topic, hub, lang):
    make_user("dn.eng", centre="DN", display_name="Minh")
    make_user("ht.eng", centre="HT", display_name="Lan")
    minh = sign_in("dn.eng")
    lan = signed_in(sign_in, "ht.eng", lang)
    lan.context.grant_permissions(["clipboard-read", "clipboard-write"])
    for person in (minh, lan):
        person.goto(TOPIC_URL)
        person.wait_live()
    phone = lang["phone"]
    box = minh.page.locator("#composer-input")
    box.fill("kế hoạch diễn tập")
    box.press("Enter")
    theirs = lan.page.locator("#messages li.msg").first
    expect(theirs).to_have_attribute("data-id", re.compile(r"\d+"))
    their_id = theirs.get_attribute("data-id")

    # Quote and reply
    choose(open_actions(lan, theirs, phone), "quote", phone)
    composer = lan.page.locator("#composer-input")
    assert composer.input_value().endswith(f"/topics/{SLUG}/#m-{their_id}):\n> kế hoạch diễn tập\n\n")
    composer.press("End")
    composer.type("OK")
    lan.page.locator("#send").click()
    quote = minh.page.locator("#messages li.msg").nth(1).locator("blockquote")
    expect(quote).to_contain_text("kế hoạch diễn tập")
    expect(quote.locator("a")).to_have_attribute("href", re.compile(rf"#m-{their_id}$"))

    # Copy link to message
    choose(open_actions(lan, theirs, phone), "copy-link", phone)
    expect(lan.page.locator("#action-status")).to_have_text(lang["copied"])
    assert lan.page.evaluate("navigator.clipboard.readText()") == f"{hub.http}/topics/{SLUG}/#m-{their_id}"

    # Edit (own message)
    mine = lan.page.locator("#messages li.msg").nth(1)
    expect(mine).to_have_class(re.compile(r"\bmine\b"))
    choose(open_actions(lan, mine, phone), "edit", phone)
    editor = mine.locator("form.edit-form textarea")
    editor.fill("Đồng ý, thứ Năm")
    mine.locator("form.edit-form button[type=submit]").click()
    expect(minh.page.locator("#messages li.msg").nth(1).locator(".msg-body")).to_have_text("Đồng ý, thứ Năm")
    expect(mine.locator(".edited")).to_contain_text(lang["edited"])

    # Delete (own message), confirmed in a dialog
    choose(open_actions(lan, mine, phone), "delete", phone)
    lan.page.locator("dialog.confirm-dialog button[value=yes]").click()
    expect(minh.page.locator("#messages li.msg.deleted")).to_have_count(1)
    from chat.models import Message

    assert Message.objects.get(pk=int(mine.get_attribute("data-id"))).deleted_at is not None
    # (Promote: tests/frontend/test_incident.py, from the menu and from the phone's sheet.)


def test_up_arrow_edits_my_last_message_at_phone_size_in_english(make_user, sign_in, topic):
    make_user("dn.eng", centre="DN", display_name="Minh")
    make_user("ht.eng", centre="HT", display_name="Lan")
    minh = sign_in("dn.eng")
    lan = signed_in(sign_in, "ht.eng", EN)
    for person in (minh, lan):
        person.goto(TOPIC_URL)
        person.wait_live()
    for person, text in ((lan, "one"), (minh, "của Minh"), (lan, "two")):
        person.page.locator("#composer-input").fill(text)
        person.page.locator("#composer-input").press("Enter")
        expect(minh.page.locator("#messages li.msg", has_text=text)).to_have_count(1)
    box = lan.page.locator("#composer-input")
    box.press("ArrowUp")
    editor = lan.page.locator("#messages li.msg.editing textarea")
    expect(editor).to_have_value("two")
    editor.fill("two (fixed)")
    editor.press("Enter")
    edited = minh.page.locator("#messages li.msg").nth(2)
    expect(edited.locator(".msg-body")).to_have_text("two (fixed)")
    expect(edited.locator(".edited")).to_have_count(1)
    from chat.models import Message

    assert Message.objects.filter(body="two (fixed)").count() == 1
