"""The topic page in a real browser: two centres chatting live, a cut network, hostile input."""

from __future__ import annotations

import json
import re

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


@pytest.mark.parametrize("hub_extra_env", [{"HUB_PRESENCE_MAX_NAMES": "1"}], indirect=True)
def test_a_big_topic_counts_people_online_per_centre_without_naming_them(two_centres):
    """Past HUB_PRESENCE_MAX_NAMES people online, presence counts per centre (docs/chat.md)."""
    lan, minh = two_centres
    presence = lan.page.locator("#presence-list")
    expect(presence.locator("section", has_text="DN")).to_contain_text("DN (1)")
    expect(presence.locator("section", has_text="HT")).to_contain_text("HT (1)")
    expect(presence.locator(".presence-unnamed")).to_have_text("2 người đang trực tuyến: quá nhiều để liệt kê tên.")
    expect(presence).not_to_contain_text("Minh (Đà Nẵng)")


@pytest.mark.parametrize("hub_extra_env", [{"HUB_PRESENCE_MAX_NAMES": "1"}], indirect=True)
def test_a_big_topics_counts_fit_a_phones_drawer_in_english(make_user, sign_in, topic):
    """The same counts on a 390×844 phone, in English: in the topic drawer, no wider than the screen."""
    make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)", language="en")
    make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)")
    minh = sign_in("dn.eng")
    minh.goto(TOPIC_URL)
    minh.wait_live()
    lan = sign_in("ht.eng", locale="en-US", phone=True)
    page = lan.goto(TOPIC_URL)
    lan.wait_live()
    page.locator("#drawer-toggle").tap()
    presence = page.locator("#topic-drawer #presence-list")
    expect(presence.locator("section", has_text="DN")).to_contain_text("DN (1)")
    expect(presence.locator(".presence-unnamed")).to_have_text("2 people are online: too many to list by name.")
    expect(presence).not_to_contain_text("Minh (Đà Nẵng)")
    scroll, screen = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= screen, f"the drawer is {scroll}px wide on a {screen}px screen"


def test_markdown_preview_shows_what_others_will_see(two_centres):
    lan, minh = two_centres
    lan.page.click("#preview-toggle")
    expect(lan.page.locator("#preview-toggle")).to_have_attribute("aria-pressed", "true")
    lan.page.locator("#composer-input").fill("**quan trọng** cho @DN <b>x</b>")
    preview = lan.page.locator("#preview")
    expect(preview.locator("strong")).to_have_text("quan trọng")
    expect(preview.locator("a[data-mention]")).to_have_text("@DN")
    expect(preview).to_contain_text("<b>x</b>")  # raw HTML stays text
    lan.page.locator("#composer-input").press("Enter")
    expect(minh.page.locator("#messages li.msg .msg-body strong")).to_have_text("quan trọng")


def test_network_cut_and_restored_loses_nothing_and_doubles_nothing(two_centres):
    lan, minh = two_centres
    send(minh, "trước khi mất mạng")
    expect(lan.page.locator("#messages li.msg")).to_have_count(1)

    lan.context.set_offline(True)
    expect(lan.page.locator("#conn-status")).to_have_attribute("data-state", "offline")
    for text in ("trong lúc mất mạng 1", "trong lúc mất mạng 2", "trong lúc mất mạng 3"):
        send(minh, text)
    expect(minh.page.locator("#messages li.msg")).to_have_count(4)
    send(lan, "viết khi mất mạng")
    expect(lan.page.locator("#outbox li")).to_have_count(1)  # queued, shown as waiting
    assert messages_text(lan.page) == ["trước khi mất mạng"]

    lan.context.set_offline(False)
    lan.wait_live()
    expected = ["trước khi mất mạng", "trong lúc mất mạng 1", "trong lúc mất mạng 2", "trong lúc mất mạng 3",
                "viết khi mất mạng"]
    for person in (lan, minh):
        expect(person.page.locator("#messages li.msg")).to_have_count(5)
        assert messages_text(person.page) == expected
    expect(lan.page.locator("#outbox li")).to_have_count(0)
    ids = [int(i) for i in lan.page.locator("#messages li.msg").evaluate_all("els => els.map(e => e.dataset.id)")]
    assert ids == sorted(set(ids))

    from chat.models import Message

    assert Message.objects.filter(body="viết khi mất mạng").count() == 1


def test_what_changed_while_offline_shows_when_the_connection_returns(two_centres):
    """Reactions, pins, thread counts and edits made while the page was offline are on it once it is
    back, without a reload (`sync` with `changed_since`, docs/chat.md), and the pinned list too."""
    from chat.models import Message
    from chat.services import edit_message, post_message, set_pinned, toggle_reaction

    lan, minh = two_centres
    send(minh, "họp lúc 9 giờ")
    send(minh, "tài liệu ở đây")
    expect(lan.page.locator("#messages li.msg")).to_have_count(2)
    expect(lan.page.locator("#pins-button")).to_contain_text("(0)")
    first, second = Message.objects.order_by("id")
    lan.context.set_offline(True)
    expect(lan.page.locator("#conn-status")).to_have_attribute("data-state", "offline")
    # Minh meanwhile (the services themselves: Lan's page must learn of it only when back).
    toggle_reaction(first, by=first.author, emoji="👍")
    post_message(first.topic, by=first.author, body="trả lời trong luồng", reply_to=first.pk)
    set_pinned(second, by=second.author, pinned=True)
    edit_message(second, by=second.author, body="tài liệu đã cập nhật")
    lan.context.set_offline(False)
    lan.wait_live()
    one, two = (lan.page.locator(f"#messages li.msg[data-id='{m.pk}']") for m in (first, second))
    expect(one.locator("[data-testid=reactions]")).to_contain_text("👍")
    expect(one.locator("[data-testid=reactions]")).to_contain_text("1")
    expect(one.locator("[data-testid=thread-summary]")).to_contain_text("1")
    expect(two.locator(".msg-body")).to_have_text("tài liệu đã cập nhật")
    expect(two.locator(".pinned-mark")).to_be_visible()
    expect(lan.page.locator("#pins-button")).to_contain_text("(1)")
    assert messages_text(lan.page) == ["họp lúc 9 giờ", "tài liệu đã cập nhật"]  # no reload, nothing twice


def test_a_threads_count_never_goes_back_when_its_frames_arrive_out_of_order(two_centres):
    """Replies written through two processes at once may announce their counts out of order
    (docs/chat.md, "Known limits"): the page keeps the highest, as a count only grows."""
    from chat.models import Message
    from chat.services import post_message

    lan, minh = two_centres
    send(minh, "gốc của luồng")
    expect(lan.page.locator("#messages li.msg")).to_have_count(1)
    root = Message.objects.get()
    for text in ("trả lời 1", "trả lời 2"):
        post_message(root.topic, by=root.author, body=text, reply_to=root.pk)
    lan.page.reload()
    lan.wait_live()
    summary = lan.page.locator(f"#messages li.msg[data-id='{root.pk}'] [data-testid=thread-summary]")
    expect(summary).to_contain_text("2")
    # The first reply's frame, arriving last (as from the other process).
    lan.page.evaluate("""async (root) => {
        const actions = await import("/static/frontend/js/message_actions.js");
        actions.dispatchTopicFrame({type: "thread.updated", topic: "phat-trien-phan-mem", root, reply_count: 1,
                                    last_reply_at: "2020-01-01T00:00:00.000Z"}, window.hubTopic);
    }""", root.pk)
    lan.page.wait_for_timeout(300)
    expect(summary).to_contain_text("2")


def test_an_older_state_of_a_message_arriving_late_never_overwrites_a_newer_one(two_centres):
    """Frames of one message published by two processes may reach a page in the other order
    (docs/chat.md, "Order of changes"): the page keeps, by `version`, the newest reactions and the
    newest text, whichever kind of frame brings them."""
    from chat.models import Message
    from chat.serializers import message_out

    def call(person, method: str, path: str, body: dict | None) -> dict:
        """The hub's API as the person's page calls it (their session, the hub's own publishing)."""
        return person.page.evaluate("""async ([method, url, body]) => {
            const {api} = await import("/static/frontend/js/util.js");
            return (await api(method, url, body)).data;
        }""", [method, f"/api/v1/topics/phat-trien-phan-mem/messages/{path}", body])

    lan, minh = two_centres
    send(minh, "bản vá cho cổng dịch vụ công")
    expect(lan.page.locator("#messages li.msg")).to_have_count(1)
    pk = Message.objects.get().pk
    stale_reactions = {"type": "message.reactions", "topic": "phat-trien-phan-mem",
                       **call(lan, "POST", f"{pk}/reactions", {"emoji": "👍"})}
    stale_message = message_out(Message.objects.select_related("topic", "author__centre").get())
    assert (stale_reactions["version"], stale_message["version"]) == (1, 1)
    call(minh, "POST", f"{pk}/reactions", {"emoji": "🎉"})  # version 2
    call(minh, "PATCH", str(pk), {"body": "bản vá mới cho cổng dịch vụ công"})  # version 3
    shown = lan.page.locator(f"#messages li.msg[data-id='{pk}']")
    expect(shown.locator("[data-testid=reactions]")).to_contain_text("🎉")
    expect(shown.locator(".msg-body")).to_have_text("bản vá mới cho cổng dịch vụ công")
    # The first toggle's frame and a copy of the message from then, arriving last (as from another
    # process): neither takes the 🎉 or the new text away.
    lan.page.evaluate("""(frames) => { for (const f of frames) window.hubTopic.onFrame(f); }""",
                      [stale_reactions, {"type": "message.updated", "message": stale_message}])
    lan.page.wait_for_timeout(300)
    expect(shown.locator("[data-testid=reactions]")).to_contain_text("🎉")
    expect(shown.locator(".msg-body")).to_have_text("bản vá mới cho cổng dịch vụ công")
    # A newer state still applies: Minh's 👍 (version 4) on Lan's page.
    call(minh, "POST", f"{pk}/reactions", {"emoji": "👍"})
    expect(shown.locator("[data-testid=reactions] button", has_text="👍")).to_contain_text("2")
    # A pin (version 5) and its undoing (version 6); the pin's frame arriving last changes nothing.
    pinned = call(minh, "POST", f"{pk}/pin", {})
    expect(shown.locator(".pinned-mark")).to_be_visible()
    call(minh, "DELETE", f"{pk}/pin", None)
    expect(shown.locator(".pinned-mark")).to_have_count(0)
    assert pinned["version"] == 5
    lan.page.evaluate("""(frame) => window.hubTopic.onFrame(frame)""",
                      {"type": "message.pinned", "topic": "phat-trien-phan-mem", "message": pinned, "pinned": True,
                       "pinned_by": pinned["author"], "pinned_at": pinned["created_at"]})
    lan.page.wait_for_timeout(300)
    expect(shown.locator(".pinned-mark")).to_have_count(0)
    expect(lan.page.locator("#pins-button")).to_contain_text("(0)")


@pytest.mark.parametrize("hub_extra_env", [{"HUB_SYNC_MAX": "5"}], indirect=True)
def test_missing_more_than_one_sync_carries_is_caught_up_in_batches(two_centres):
    lan, minh = two_centres
    lan.context.set_offline(True)
    expect(lan.page.locator("#conn-status")).to_have_attribute("data-state", "offline")
    expected = [f"tin {i}" for i in range(1, 13)]
    for text in expected:
        send(minh, text)
    expect(minh.page.locator("#messages li.msg")).to_have_count(12)
    lan.context.set_offline(False)  # 12 missed, 5 per sync: sync, resync, sync, resync, sync
    expect(lan.page.locator("#messages li.msg")).to_have_count(12)
    assert messages_text(lan.page) == expected
    assert lan.page.locator("#chat").get_attribute("data-resyncs") == "2"


def test_messages_that_reach_the_page_together_come_as_one_batch_frame_and_show_once_in_order(two_centres, hub):
    """The page asks for `batch` frames: three stored messages published to the server together (as
    the outbox sends what piled up during a fan-out) arrive in one frame and show once each, in
    order."""
    import asyncio
    import threading

    from channels_redis.pubsub import RedisPubSubChannelLayer

    from chat.models import Topic
    from chat.serializers import message_out
    from chat.services import post_message
    from hub.models import User
    from hub.realtime.groups import topic_group
    from hub.realtime.publisher import BATCH_TYPE, event, publications

    lan, _minh = two_centres
    frames_seen: list[str] = []
    lan.page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames_seen.append(payload)))
    lan.page.reload()
    lan.wait_live()
    topic = Topic.objects.get(slug="phat-trien-phan-mem")
    author = User.objects.get(username="dn.eng")
    texts = ["cùng lúc 1", "cùng lúc 2", "cùng lúc 3"]
    # Stored here; this test process's own broadcasts go to another channel prefix than the server's.
    frames = [{"type": "message", "message": message_out(post_message(topic, by=author, body=text)[0])}
              for text in texts]
    group = topic_group(topic.slug)
    events = [event(group, text, **meta) for frame in frames for _group, text, meta in publications([group], frame)]

    async def publish() -> None:
        layer = RedisPubSubChannelLayer(hosts=[hub.env["REDIS_URL"]], prefix=hub.env["HUB_CHANNEL_PREFIX"])
        await layer.group_send(group, {"type": BATCH_TYPE, "group": group, "events": events})
        await layer.flush()

    sender = threading.Thread(target=lambda: asyncio.run(publish()))
    sender.start()
    sender.join(10)

    expect(lan.page.locator("#messages li.msg")).to_have_count(3)
    assert messages_text(lan.page) == texts
    batches = [json.loads(text) for text in frames_seen if '"type":"batch"' in text]
    assert [[f["message"]["body"] for f in batch["frames"]] for batch in batches] == [texts]


def test_a_message_queued_offline_survives_a_page_reload(two_centres):
    lan, minh = two_centres
    lan.context.set_offline(True)
    expect(lan.page.locator("#conn-status")).to_have_attribute("data-state", "offline")
    send(lan, "đừng mất tin này")
    expect(lan.page.locator("#outbox li")).to_have_count(1)
    lan.context.set_offline(False)
    lan.page.reload()
    lan.wait_live()
    expect(minh.page.locator("#messages li.msg")).to_have_count(1)
    assert messages_text(minh.page) == ["đừng mất tin này"]
    expect(lan.page.locator("#outbox li")).to_have_count(0)


XSS_PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    "[bấm vào đây](javascript:window.__xss=3)",
    '<svg onload="window.__xss=4"></svg>',
    '"><iframe src="javascript:window.__xss=5"></iframe>',
]


def test_hostile_messages_and_names_show_as_text_and_run_nothing(make_user, sign_in, topic):
    make_user("ht.eng", centre="HT", display_name="Lan")
    make_user("evil", centre="DN", display_name='<img src=x onerror="window.__xss=9">')
    lan, evil = sign_in("ht.eng"), sign_in("evil")
    for person in (lan, evil):
        person.goto(TOPIC_URL)
        person.wait_live()
    for payload in XSS_PAYLOADS:
        send(evil, payload)
    evil.page.locator("#composer-input").type("x")  # a typing indicator carrying the hostile name
    expect(lan.page.locator("#messages li.msg")).to_have_count(len(XSS_PAYLOADS))
    shown = messages_text(lan.page)
    assert shown[0] == XSS_PAYLOADS[0] and shown[1] == XSS_PAYLOADS[1]
    expect(lan.page.locator("#messages li.msg").first.locator(".author")).to_have_text(
        '<img src=x onerror="window.__xss=9">')
    for person in (lan, evil):
        assert person.page.evaluate("window.__xss") is None
        # (the only SVGs in the log are the actions toolbar's and the reaction button's own icons)
        hostile = "#messages :is(.msg-head, .msg-body) :is(img, script, svg, iframe)"
        assert person.page.locator(hostile).count() == 0
        assert person.page.locator("#messages svg:not(.msg-toolbar svg, .reactions svg)").count() == 0
        assert person.page.locator("#messages a[href^='javascript']").count() == 0
        assert person.page.locator("#presence-list img, #typing img").count() == 0


def open_menu(person, message):
    """Point at a message and open its actions menu, as a person with a mouse does."""
    message.hover()
    message.locator(".msg-more").click()
    return person.page.locator("#msg-menu")


def test_editing_and_deleting_own_message_updates_everyone(two_centres):
    lan, minh = two_centres
    send(lan, "bản nháp")
    expect(minh.page.locator("#messages li.msg")).to_have_count(1)
    own = lan.page.locator("#messages li.msg").first
    others = open_menu(minh, minh.page.locator("#messages li.msg").first)
    expect(others.locator("[role=menuitem] .msg-menu-label")).to_have_text(
        ["Trích dẫn và trả lời", "Bày tỏ cảm xúc", "Trả lời trong luồng", "Sao chép liên kết tới tin nhắn", "Ghim",
         "Chuyển thành yêu cầu hỗ trợ"])
    minh.page.keyboard.press("Escape")  # not Minh's to change: no edit, no delete

    open_menu(lan, own).locator("[data-action=edit]").click()
    editor = own.locator("form.edit-form textarea")
    editor.fill("bản **chính thức**")
    own.locator("form.edit-form button[type=submit]").click()
    expect(minh.page.locator("#messages li.msg .msg-body strong")).to_have_text("chính thức")
    expect(minh.page.locator("#messages li.msg .edited")).to_have_count(1)

    open_menu(lan, own).locator("[data-action=delete]").click()
    dialog = lan.page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("button[value=yes]").click()
    expect(minh.page.locator("#messages li.msg.deleted")).to_have_count(1)
    expect(lan.page.locator("#messages li.msg.deleted")).to_have_count(1)
    assert "chính thức" not in minh.page.locator("#messages").inner_text()
    expect(lan.page.locator("#messages li.msg.deleted .msg-more")).to_have_count(0)  # nothing left to do


def test_the_actions_menu_is_keyboard_operable_and_cancelling_a_delete_keeps_the_message(two_centres):
    lan, minh = two_centres
    send(lan, "giữ lại")
    own = lan.page.locator("#messages li.msg").first
    expect(own).to_have_attribute("data-id", re.compile(r"\d+"))
    more = own.locator(".msg-more")
    more.focus()
    expect(own.locator(".msg-toolbar")).to_be_visible()  # focus shows the toolbar, not only hover
    lan.page.keyboard.press("Enter")
    menu = lan.page.locator("#msg-menu")
    expect(menu.locator("[role=menuitem] .msg-menu-label")).to_have_text(
        ["Trích dẫn và trả lời", "Bày tỏ cảm xúc", "Trả lời trong luồng", "Sao chép liên kết tới tin nhắn", "Sửa",
         "Ghim", "Chuyển thành yêu cầu hỗ trợ", "Xoá"])
    expect(menu.locator("[role=menuitem]").first).to_be_focused()
    screenshot(lan.page, "topic-actions")
    lan.page.keyboard.press("End")
    expect(menu.locator("[data-action=delete]")).to_be_focused()
    lan.page.keyboard.press("ArrowDown")  # wraps round
    expect(menu.locator("[data-action=quote]")).to_be_focused()
    lan.page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(more).to_be_focused()
    expect(more).to_have_attribute("aria-expanded", "false")

    lan.page.keyboard.press("Enter")
    lan.page.keyboard.press("End")
    lan.page.keyboard.press("Enter")
    lan.page.locator("dialog.confirm-dialog button[value=no]").click()
    expect(lan.page.locator("dialog.confirm-dialog")).to_have_count(0)
    from chat.models import Message

    assert Message.objects.get(body="giữ lại").deleted_at is None


def test_up_arrow_in_an_empty_composer_edits_my_last_message(two_centres):
    lan, minh = two_centres
    send(lan, "một")
    send(minh, "của Minh")
    send(lan, "hai")
    expect(minh.page.locator("#messages li.msg")).to_have_count(3)
    box = lan.page.locator("#composer-input")
    box.press("ArrowUp")
    editor = lan.page.locator("#messages li.msg.editing textarea")
    expect(editor).to_have_value("hai")
    editor.press("Escape")  # nothing changed, the composer has the focus again
    expect(lan.page.locator("#messages li.msg.editing")).to_have_count(0)
    expect(box).to_be_focused()
    box.press("ArrowUp")
    editor.fill("hai (đã sửa)")
    editor.press("Enter")
    expect(minh.page.locator("#messages li.msg").nth(2).locator(".msg-body")).to_have_text("hai (đã sửa)")
    expect(box).to_be_focused()


def test_quote_puts_the_message_in_the_composer_with_a_link_back(two_centres):
    lan, minh = two_centres
    send(minh, "dòng một\ndòng hai")
    message = lan.page.locator("#messages li.msg").first
    expect(message).to_be_visible()
    message.hover()
    message.locator(".msg-quick[data-action=quote]").click()
    value = lan.page.locator("#composer-input").input_value()
    message_id = message.get_attribute("data-id")
    assert value.startswith("> **Minh \\(Đà Nẵng\\)** [đã viết](")
    assert value.endswith(f"/topics/phat-trien-phan-mem/#m-{message_id}):\n> dòng một\n> dòng hai\n\n")
    lan.page.locator("#composer-input").press("End")
    lan.page.locator("#composer-input").type("Đồng ý")
    lan.page.locator("#composer-input").press("Enter")
    quote = minh.page.locator("#messages li.msg").nth(1).locator("blockquote")
    expect(quote).to_contain_text("Minh (Đà Nẵng) đã viết:")
    expect(quote).to_contain_text("dòng hai")
    expect(quote.locator("a")).to_have_attribute("href", re.compile(rf"#m-{message_id}$"))


def test_copy_link_copies_an_address_that_scrolls_to_the_message_and_highlights_it(make_user, sign_in, topic, hub):
    from chat.services import post_message

    author = make_user("qb.eng", centre="QB")
    for i in range(1, 31):
        post_message(topic, by=author, body=f"tin số {i}")
    make_user("ht.eng", centre="HT")
    lan = sign_in("ht.eng")
    lan.context.grant_permissions(["clipboard-read", "clipboard-write"])
    lan.goto(TOPIC_URL)
    lan.wait_live()
    third = lan.page.locator("#messages li.msg", has_text="tin số 3").first
    third.scroll_into_view_if_needed()
    third.hover()
    third.locator(".msg-quick[data-action=copy-link]").click()
    expect(lan.page.locator("#action-status")).to_have_text("Đã sao chép liên kết.")
    link = lan.page.evaluate("navigator.clipboard.readText()")
    assert link == f"{hub.http}/topics/phat-trien-phan-mem/#m-{third.get_attribute('data-id')}"

    other = sign_in("ht.eng")
    other.goto(link)
    target = other.page.locator(f"#m-{third.get_attribute('data-id')}")
    expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    expect(target).to_be_in_viewport()
    expect(other.page.locator("#messages li.msg").last).not_to_be_in_viewport()


def test_on_a_phone_a_tap_on_a_message_opens_the_actions_as_a_sheet(make_user, sign_in, topic):
    make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    lan = sign_in("ht.eng", phone=True)
    lan.goto(TOPIC_URL)
    lan.wait_live()
    send(lan, "gửi từ điện thoại")
    message = lan.page.locator("#messages li.msg").first
    expect(message).to_have_attribute("data-id", re.compile(r"\d+"))
    assert lan.page.evaluate("matchMedia('(hover: none)').matches")
    expect(message.locator(".msg-toolbar")).to_have_css("opacity", "0")  # no hover toolbar on touch
    message.locator(".msg-body").tap()
    sheet = lan.page.locator("#msg-menu.sheet")
    expect(sheet).to_be_visible()
    expect(sheet.locator("[role=menuitem] .msg-menu-label")).to_have_text(
        ["Trích dẫn và trả lời", "Bày tỏ cảm xúc", "Trả lời trong luồng", "Sao chép liên kết tới tin nhắn", "Sửa",
         "Ghim", "Chuyển thành yêu cầu hỗ trợ", "Xoá"])
    box = sheet.bounding_box()
    assert box["y"] + box["height"] == pytest.approx(844, abs=1) and box["width"] == pytest.approx(390, abs=1)
    screenshot(lan.page, "topic-phone-actions")
    sheet.locator(".msg-menu-cancel").tap()
    expect(sheet).to_have_count(0)
    message.locator(".msg-body").tap()
    lan.page.locator("#msg-menu [data-action=edit]").tap()
    expect(message.locator("form.edit-form textarea")).to_have_value("gửi từ điện thoại")


def test_a_feature_adds_its_own_action_through_the_registry(two_centres):
    """The extension point other features use (message_actions.js): registered after the page
    started, the action shows on the next menu, gets the message and its context, and its parts and
    frame handlers work the same way."""
    lan, minh = two_centres
    send(minh, "cần chuyển thành yêu cầu")
    message = lan.page.locator("#messages li.msg").first
    expect(message).to_be_visible()
    lan.page.evaluate("""async () => {
      const m = await import("/static/frontend/js/message_actions.js");
      m.registerMessageAction({id: "test-promote", label: () => "Promote (test)", order: 45,
        when: (msg, ctx) => !ctx.mine, run: (msg, ctx) => { window.__ran = [msg.id, ctx.slug]; ctx.say("promoted"); }});
    }""")
    menu = open_menu(lan, message)
    expect(menu.locator("[role=menuitem] .msg-menu-label")).to_have_text(
        ["Trích dẫn và trả lời", "Bày tỏ cảm xúc", "Trả lời trong luồng", "Sao chép liên kết tới tin nhắn", "Ghim",
         "Promote (test)", "Chuyển thành yêu cầu hỗ trợ"])
    menu.locator("[data-action=test-promote]").click()
    expect(lan.page.locator("#action-status")).to_have_text("promoted")
    assert lan.page.evaluate("window.__ran") == [int(message.get_attribute("data-id")), "phat-trien-phan-mem"]


def test_scrolling_up_loads_the_whole_history_in_order(make_user, sign_in, topic):
    from chat.services import post_message

    author = make_user("qb.eng", centre="QB")
    for i in range(1, 121):
        post_message(topic, by=author, body=f"tin số {i}")
    make_user("ht.eng", centre="HT")
    lan = sign_in("ht.eng")
    lan.goto(TOPIC_URL)
    lan.wait_live()
    items = lan.page.locator("#messages li.msg")
    expect(items).to_have_count(50)
    assert messages_text(lan.page)[-1] == "tin số 120"
    for expected in (100, 120):
        lan.page.locator("#scroller").evaluate("el => { el.scrollTop = 0; }")
        expect(items).to_have_count(expected)
    assert messages_text(lan.page) == [f"tin số {i}" for i in range(1, 121)]


def test_search_finds_vietnamese_text_typed_without_diacritics(two_centres):
    lan, minh = two_centres
    send(minh, "Cảnh báo an toàn thông tin ở Đà Nẵng")
    send(minh, "Lịch đào tạo tháng sau")
    expect(lan.page.locator("#messages li.msg")).to_have_count(2)
    lan.page.fill("#search-q", "an toan")
    lan.page.press("#search-q", "Enter")
    results = lan.page.locator("#search-list li.msg")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Cảnh báo an toàn thông tin ở Đà Nẵng")


def test_mentions_autocomplete_centres_and_people_and_ring_the_bell(two_centres):
    lan, minh = two_centres
    # People become suggestions once seen (present, typing or writing); Lan is present.
    expect(minh.page.locator("#presence-list")).to_contain_text("Lan (Hà Tĩnh)")
    box = minh.page.locator("#composer-input")
    box.type("Nhờ @H")
    options = minh.page.locator("#mention-list li")
    expect(options.filter(has=minh.page.locator("strong", has_text=re.compile("^@HT$")))).to_have_count(1)
    while not minh.page.locator("#mention-list li.active strong").inner_text() == "@HT":
        box.press("ArrowDown")
    box.press("Enter")  # picks the suggestion, does not send
    assert box.input_value() == "Nhờ @HT "
    box.type("và @ht.")
    expect(options.filter(has=minh.page.locator("strong", has_text=re.compile("^@ht.eng$")))).to_have_count(1)
    box.press("Tab")
    assert box.input_value() == "Nhờ @HT và @ht.eng "
    box.type("xem giúp")
    box.press("Enter")
    expect(lan.page.locator("#messages li.msg a[data-mention]")).to_have_count(2)
    expect(lan.page.locator("#bell-count")).to_have_text("1")
    lan.page.click("#bell")
    expect(lan.page.locator("#bell-list li")).to_have_count(1)
    expect(lan.page.locator("#bell-count")).to_be_hidden()


def test_sidebar_shows_unread_counts_of_other_topics(two_centres):
    from chat.services import create_topic, post_message

    lan, minh = two_centres
    other = create_topic(slug="dao-tao-chung-chi", name_vi="Đào tạo, chứng chỉ", name_en="Training")
    from hub.models import User

    for text in ("lịch thi", "đề cương"):
        post_message(other, by=User.objects.get(username="dn.eng"), body=text)
    lan.page.reload()
    badge = lan.page.locator("#topic-list li[data-slug='dao-tao-chung-chi'] .badge")
    expect(badge).to_have_text("2")
    lan.page.click("#topic-list li[data-slug='dao-tao-chung-chi'] a")
    lan.wait_live()
    expect(lan.page.locator("#messages li.msg")).to_have_count(2)
    expect(lan.page.locator("#chat")).to_have_attribute("data-read-up-to", re.compile(r"^[1-9]"))
    lan.page.goto("/")
    expect(lan.page.locator("#topic-list li[data-slug='dao-tao-chung-chi']")).to_be_visible()
    expect(lan.page.locator("#topic-list li[data-slug='dao-tao-chung-chi'] .badge")).to_have_count(0)
