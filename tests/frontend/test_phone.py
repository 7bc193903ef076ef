"""Phone-first (issue 23), on a 390×844 touch screen: no page is wider than the screen; the header is
compact (the navigation folds into a menu); the topic list is a drawer; the message box stays at the
bottom of the topic page; the main flows work by touch — send a message, acknowledge an alert, move
a request through its workflow, open the duty page; and the hub installs as a web app."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot
from tests.frontend.scene import Scene, build_scene

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture
def scene(make_user) -> Scene:
    return build_scene(make_user)

WIDTH, HEIGHT = 390, 844


def page_width(page) -> tuple[int, int]:
    # The layout viewport (clientWidth), not window.innerWidth: a phone's browser zooms out to show a
    # page wider than the screen, and innerWidth then grows with the page.
    return page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")


def assert_fits(page, where: str) -> None:
    scroll, screen = page_width(page)
    assert scroll <= screen, f"{where} is {scroll}px wide on a {screen}px screen"


# Form controls whose right edge lies past the screen: a page may fit (a parent clips it) while a
# select with a long option sticks out of it, cut off.
CUT_OFF = """() => [...document.querySelectorAll('main input, main select, main textarea, main button')]
  .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map((e) => `${e.tagName.toLowerCase()}#${e.id || e.name || ''} ${Math.round(e.getBoundingClientRect().right)}px`)"""


def focused(page, selector: str) -> bool:
    return page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector)


def test_no_page_is_wider_than_a_phone(scene: Scene, browser, hub, sign_in):
    from chat.models import Topic
    from chat.services import post_message
    from hub.models import User

    # Long words, addresses and code that must wrap rather than widen the page.
    post_message(Topic.objects.get(slug=scene.topic_slug), by=User.objects.get(username="dn.eng"),
                 body="https://cong-dich-vu-cong.example.gov.vn/huong-dan/tich-hop-vneid/phien-ban-2026/tai-lieu"
                      "-ky-thuat-day-du-cho-cac-trung-tam and "
                      "`sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08`")
    from hub.models import Centre

    # The centres' real names, as long as the MOU's (filters and forms list them).
    Centre.objects.filter(code="DN").update(name_vi="Trung tâm Công nghệ thông tin và Truyền thông Đà Nẵng")
    Centre.objects.filter(code="HT").update(name_vi="Trung tâm Công nghệ thông tin và Truyền thông Hà Tĩnh")
    person = sign_in("dn.mgr", phone=True)
    page = person.page
    for name, path in scene.pages():
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert_fits(page, f"{name} ({path})")
        assert page.evaluate(CUT_OFF) == [], f"{name} ({path}): controls cut off at the screen's edge"
    # and the signed-out sign-in page
    context = browser.new_context(base_url=hub.http, viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True,
                                  has_touch=True)
    try:
        login = context.new_page()
        login.goto("/accounts/login/")
        assert_fits(login, "the sign-in page")
    finally:
        context.close()


def test_the_header_is_compact_and_its_menu_opens_and_closes(scene: Scene, sign_in):
    page = sign_in("dn.mgr", phone=True).page
    header = page.locator("#site-header")
    assert header.bounding_box()["height"] <= 64  # one row: brand, connection, bell, menu
    for visible in ("#bell", "#menu-toggle", "#live-status"):
        expect(page.locator(visible)).to_be_visible()
    nav = page.locator("#site-menu nav.main-nav")
    expect(nav).to_be_hidden()
    toggle = page.locator("#menu-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_accessible_name("Trình đơn")

    toggle.tap()
    expect(nav).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert focused(page, "#site-menu a[href='/']")  # the focus goes into the menu
    expect(page.locator("#lang-select")).to_be_visible()
    expect(page.locator("#site-menu [data-testid=who]")).to_contain_text("Bình (Quản lý Đà Nẵng)")
    assert_fits(page, "the open menu")
    screenshot(page, "menu-phone")
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    assert focused(page, "#menu-toggle")  # back where it was opened from

    toggle.tap()
    page.touchscreen.tap(WIDTH // 2, HEIGHT - 10)  # a tap elsewhere (below the menu) closes it
    expect(nav).to_be_hidden()
    toggle.tap()
    nav.get_by_role("link", name="Cảnh báo").tap()
    page.wait_for_url(re.compile(r"/alerts/$"))
    expect(page.locator("#site-menu nav.main-nav")).to_be_hidden()
    page.locator("#menu-toggle").tap()
    expect(page.locator("#site-menu nav a[aria-current=page]")).to_have_text("Cảnh báo")


def test_the_topic_list_is_a_drawer(scene: Scene, sign_in):
    person = sign_in("dn.mgr", phone=True)
    page = person.goto(f"/topics/{scene.topic_slug}/")
    person.wait_live()
    drawer = page.locator("#topic-drawer")
    toggle = page.locator("#drawer-toggle")
    expect(drawer).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_accessible_name("Chủ đề")

    toggle.tap()
    expect(drawer).to_be_visible()
    expect(drawer).to_have_attribute("role", "dialog")
    expect(drawer).to_have_attribute("aria-modal", "true")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(drawer).to_have_css("transform", "none")  # slid in
    box = drawer.bounding_box()
    assert box["x"] == pytest.approx(0, abs=1) and box["width"] < WIDTH
    assert box["height"] == pytest.approx(HEIGHT, abs=1)
    expect(drawer.locator("#topic-list a[aria-current=page]")).to_have_text(re.compile("Phát triển phần mềm"))
    assert focused(page, "#topic-list a[aria-current=page]")  # the focus goes to the current topic
    expect(drawer.locator("#dm-list a")).to_contain_text(["An (ATTT Hà Tĩnh)"])  # and its unread count
    expect(drawer.locator("#presence-list")).to_contain_text("Bình (Quản lý Đà Nẵng)")  # who is online, in it too
    assert page.evaluate("document.querySelector('.chat-main').inert && document.getElementById('site-header').inert")
    assert_fits(page, "the open drawer")
    screenshot(page, "topic-drawer-phone")

    # Tab stays inside while it is open.
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate("document.getElementById('topic-drawer').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    assert focused(page, "#drawer-toggle")
    assert not page.evaluate("document.querySelector('.chat-main').inert")

    toggle.tap()
    page.locator("#drawer-close").tap()
    expect(drawer).to_be_hidden()
    assert focused(page, "#drawer-toggle")

    toggle.tap()
    page.locator("#drawer-backdrop").tap(position={"x": WIDTH - 20, "y": HEIGHT // 2})  # beside the drawer
    expect(drawer).to_be_hidden()

    toggle.tap()
    drawer.locator("#dm-list a").tap()
    page.wait_for_url(re.compile(f"/topics/{scene.direct_slug}/$"))
    person.wait_live()
    expect(page.locator("#topic-drawer")).to_be_hidden()
    expect(page.locator("#messages li.msg .msg-body")).to_have_text(["Anh Bình ơi, cảnh báo mới đã lên hub."])


def test_the_message_box_stays_at_the_bottom_while_messages_scroll(scene: Scene, sign_in):
    from chat.models import Topic
    from chat.services import post_message
    from hub.models import User

    topic = Topic.objects.get(slug=scene.topic_slug)
    for username in ("ht.eng", "dn.eng"):
        author = User.objects.get(username=username)
        for n in range(15):
            post_message(topic, by=author, body=f"Tin số {n} của {username}")
    person = sign_in("dn.mgr", phone=True)
    page = person.goto(f"/topics/{scene.topic_slug}/")
    person.wait_live()
    expect(page.locator("#messages li.msg")).to_have_count(32)

    def composer_at_the_bottom():
        box = page.locator("#composer").bounding_box()
        assert box["y"] + box["height"] == pytest.approx(HEIGHT, abs=2), box
        assert page.evaluate("document.documentElement.scrollHeight") <= HEIGHT  # the page itself does not scroll
        assert_fits(page, "the topic page")

    composer_at_the_bottom()
    expect(page.locator("#messages li.msg").last).to_be_in_viewport()
    expect(page.locator("#messages li.msg").first).not_to_be_in_viewport()  # the messages scroll, not the page
    screenshot(page, "topic-phone")

    page.locator("#composer-input").fill("Gửi từ điện thoại, hộp soạn tin vẫn ở dưới cùng")
    page.locator("#send").tap()
    last = page.locator("#messages li.msg").last
    expect(last.locator(".msg-body")).to_have_text("Gửi từ điện thoại, hộp soạn tin vẫn ở dưới cùng")
    expect(last).to_have_attribute("data-id", re.compile(r"\d+"))
    expect(last).to_be_in_viewport()
    expect(page.locator("#composer-input")).to_have_value("")
    composer_at_the_bottom()


def test_acknowledging_an_alert_on_a_phone(scene: Scene, sign_in):
    page = sign_in("dn.mgr", phone=True).goto(f"/alerts/{scene.alert_id}/")
    expect(page.locator("#alert-title")).to_contain_text("Mã độc mã hoá dữ liệu")
    button = page.locator("#alert-ack-area .ack-button")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    button.tap()
    expect(page.locator("#alert-ack-area")).to_contain_text("Đã xác nhận")
    expect(page.locator("[data-testid=ack-matrix] tr[data-centre=DN]")).to_contain_text("Bình (Quản lý Đà Nẵng)")
    assert_fits(page, "the acknowledged alert")

    from alerts.models import Acknowledgement

    assert Acknowledgement.objects.filter(alert_id=scene.alert_id, centre__code="DN", user__username="dn.mgr").exists()


def test_moving_a_request_through_its_workflow_on_phones(scene: Scene, sign_in):
    helper = sign_in("dn.mgr", phone=True)
    requester = sign_in("ht.sec", phone=True)
    path = f"/tickets/{scene.ticket_id}/"
    helper.goto(path)
    requester.goto(path)
    status = helper.page.locator("[data-testid=ticket-status]")
    expect(status).to_have_attribute("data-status", "new")
    for to in ("accepted", "in_progress", "resolved"):
        helper.page.locator(f"#ticket-moves button[data-to={to}]").tap()  # scrolled to; redrawn live meanwhile
        expect(status).to_have_attribute("data-status", to)
        expect(requester.page.locator("[data-testid=ticket-status]")).to_have_attribute("data-status", to)  # live
        assert_fits(helper.page, f"the request, {to}")
    requester.page.locator("#ticket-moves button[data-to=closed]").tap()
    expect(status).to_have_attribute("data-status", "closed")
    expect(helper.page.locator("#ticket-moves button")).to_have_count(0)
    assert_fits(requester.page, "the closed request")

    from requests.models import Ticket

    assert Ticket.objects.get(pk=scene.ticket_id).status == "closed"


def test_the_duty_page_on_a_phone(scene: Scene, sign_in):
    page = sign_in("dn.mgr", phone=True).page
    page.locator("#menu-toggle").tap()
    page.locator("#site-menu nav").get_by_role("link", name="Lịch trực").tap()
    page.wait_for_url(re.compile(r"/duty/$"))
    board = page.locator("#duty-board li[data-centre=DN]")
    expect(board).to_contain_text("Bình (Quản lý Đà Nẵng)")
    page.wait_for_load_state("networkidle")
    assert_fits(page, "the duty page")
    screenshot(page, "duty-phone")


def test_the_hub_installs_as_a_web_app(scene: Scene, sign_in):
    person = sign_in("dn.mgr", phone=True)
    page = person.page
    href = page.locator("link[rel=manifest]").get_attribute("href")
    response = page.request.get(href)
    assert response.status == 200
    manifest = json.loads(response.text())
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone" and manifest["lang"] == "vi"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    base = page.url.rstrip("/") + href.rsplit("/", 1)[0] + "/"
    for icon in manifest["icons"]:
        image = page.request.get(base + icon["src"])
        assert image.status == 200 and image.headers["content-type"] == "image/png"
    expect(page.locator("meta[name=theme-color]")).to_have_attribute("content", manifest["theme_color"])


def test_keyboard_hints_only_where_there_is_a_keyboard(scene: Scene, sign_in):
    desktop = sign_in("dn.mgr").page
    desktop.goto(f"/topics/{scene.topic_slug}/")
    expect(desktop.locator("[data-testid=keyboard-hint]")).to_have_text("Enter để gửi, Shift+Enter để xuống dòng.")
    expect(desktop.locator("#drawer-toggle")).to_be_hidden()  # columns on a desktop, no drawer
    expect(desktop.locator("#topic-list")).to_be_visible()
    expect(desktop.locator("#menu-toggle")).to_be_hidden()
    expect(desktop.locator("nav.main-nav")).to_be_visible()
    phone = sign_in("ht.sec", phone=True).page
    phone.goto(f"/topics/{scene.topic_slug}/")
    expect(phone.locator("#composer-input")).to_be_visible()
    expect(phone.locator("[data-testid=keyboard-hint]")).to_be_hidden()
