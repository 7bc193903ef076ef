"""Keyboard only (issue 23): the main flows — send a message, acknowledge an alert, move a request
through its workflow — with nothing but Tab, Shift+Tab, Enter, Space and typing, from the top of the
page; every element the focus passes through shows that it has it (a focus ring or an equivalent)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.scene import Scene, build_scene

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture
def scene(make_user) -> Scene:
    return build_scene(make_user)

# What the focused element looks like: it must match :focus-visible and draw a ring (an outline of at
# least 2px, or a box shadow), and be on screen.
FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const r = e.getBoundingClientRect();
  return {
    html: e.outerHTML.slice(0, 120),
    visible: e.matches(":focus-visible"),
    ring: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== "none",
    onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth
      && parseFloat(s.opacity) > 0,
  };
}"""


def tab_to(page, selector: str, *, limit: int = 120, backwards: bool = False) -> int:
    """Press Tab (Shift+Tab) until `selector` has the focus; checks that every stop shows its focus.
    Returns how many presses it took."""
    key = "Shift+Tab" if backwards else "Tab"
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        state = page.evaluate(FOCUS)
        if state is None:
            continue
        assert state["visible"] and state["ring"] and state["onScreen"], f"focus not visible on {state}"
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{selector} not reached with {limit} × {key}")


def test_sending_a_message_with_the_keyboard(scene: Scene, sign_in):
    person = sign_in("dn.mgr")
    page = person.goto(f"/topics/{scene.topic_slug}/")
    person.wait_live()
    expect(page.locator("#messages li.msg")).to_have_count(2)
    # The skip link first, then straight to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('.skip-link')")
    page.keyboard.press("Enter")
    tab_to(page, "#composer-input")
    page.keyboard.type("Gửi bằng bàn phím")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("dòng thứ hai")
    page.keyboard.press("Enter")
    last = page.locator("#messages li.msg").last
    expect(last.locator(".msg-body")).to_have_text("Gửi bằng bàn phím\ndòng thứ hai")
    expect(last).to_have_attribute("data-id", re.compile(r"\d+"))
    expect(page.locator("#composer-input")).to_be_focused()  # ready for the next one

    # A message's actions: Tab reaches its "more" button, Enter opens the menu, arrows move, Escape closes.
    tab_to(page, "#messages li.msg:last-child .msg-more", backwards=True)
    page.keyboard.press("Enter")
    menu = page.locator("#msg-menu")
    expect(menu).to_be_visible()
    expect(menu.locator("[role=menuitem]").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    assert page.evaluate("document.activeElement.matches('.msg-more')")

    from chat.models import Message

    assert Message.objects.filter(topic__slug=scene.topic_slug, body="Gửi bằng bàn phím\ndòng thứ hai").count() == 1


def test_acknowledging_an_alert_with_the_keyboard(scene: Scene, sign_in):
    person = sign_in("dn.mgr")
    page = person.goto(f"/alerts/{scene.alert_id}/")
    expect(page.locator("#alert-ack-area .ack-button")).to_be_visible()
    tab_to(page, "#alert-ack-area .ack-button")
    page.keyboard.press("Space")
    done = page.locator("#alert-ack-area .ok")
    expect(done).to_have_text("Đã xác nhận cho DN")
    expect(done).to_be_focused()  # the focus stays where the button was
    expect(page.locator("[data-testid=ack-matrix] tr[data-centre=DN]")).to_contain_text("Bình (Quản lý Đà Nẵng)")

    from alerts.models import Acknowledgement

    assert Acknowledgement.objects.filter(alert_id=scene.alert_id, centre__code="DN").count() == 1


def test_moving_a_request_with_the_keyboard(scene: Scene, sign_in):
    helper = sign_in("dn.mgr")
    page = helper.goto(f"/tickets/{scene.ticket_id}/")
    status = page.locator("[data-testid=ticket-status]")
    expect(status).to_have_attribute("data-status", "new")
    tab_to(page, "#ticket-moves button[data-to=accepted]")
    page.keyboard.press("Enter")
    expect(status).to_have_attribute("data-status", "accepted")
    # The focus moved to the next step: Enter again, then Space.
    expect(page.locator("#ticket-moves button[data-to=in_progress]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(status).to_have_attribute("data-status", "in_progress")
    tab_to(page, "#ticket-moves button[data-to=resolved]")
    page.keyboard.press("Space")
    expect(status).to_have_attribute("data-status", "resolved")

    # The requester comments and closes it, the same way.
    requester = sign_in("ht.sec")
    other = requester.goto(f"/tickets/{scene.ticket_id}/")
    expect(other.locator("[data-testid=ticket-status]")).to_have_attribute("data-status", "resolved")
    tab_to(other, "#comment-body")
    other.keyboard.type("Cảm ơn Đà Nẵng!")
    tab_to(other, "#comment-form button[type=submit]")
    other.keyboard.press("Enter")
    expect(other.locator("#ticket-timeline li.comment").last).to_contain_text("Cảm ơn Đà Nẵng!")
    tab_to(other, "#ticket-moves button[data-to=closed]", backwards=True)
    other.keyboard.press("Enter")
    expect(other.locator("[data-testid=ticket-status]")).to_have_attribute("data-status", "closed")
    expect(status).to_have_attribute("data-status", "closed")  # live on the helper's page

    from requests.models import Ticket

    assert Ticket.objects.get(pk=scene.ticket_id).status == "closed"
