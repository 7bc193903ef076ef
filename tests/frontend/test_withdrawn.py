"""An alert, a request or a message someone may no longer see leaves their open pages at once (no
reload): its page gives way to a short notice and shows nothing of it any more, its row leaves the
list, its banner and bell count go — while someone who still may see it watches the change arrive
live. A message (an alert's summary and its thread, narrowed with the alert) leaves the topic's log,
the thread panel (which closes, saying why), the pins and the search results."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import Route, expect

from tests.conftest import token_for
from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]


def over_http(hub, user, method: str, path: str, body: dict | None = None) -> int:
    """A change made through the running hub, as another person's client would (so the server
    broadcasts it: this test process's own broadcasts go to another channel prefix than the server's)."""
    request = urllib.request.Request(
        f"{hub.http}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token_for(user)}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def item_and_list(person, item: str, listing: str, shown: tuple[str, str]):
    """The person's page of an item (showing `shown`: a selector and a text of it) and, in a second
    tab of theirs, the list it is in."""
    page = person.goto(item)
    expect(page.locator(shown[0])).to_contain_text(shown[1])
    tab = person.context.new_page()
    tab.goto(listing)
    return page, tab


def test_an_alert_raised_to_amber_for_dn_leaves_qbs_open_pages(make_user, sign_in, hub):
    from alerts.services import raise_alert

    officer = make_user("ht.sec", centre="HT", role="security_officer")
    make_user("qb.mgr", centre="QB", role="manager")
    make_user("dn.mgr", centre="DN", role="manager")
    alert = raise_alert(by=officer, title="Dò quét cổng dịch vụ công", severity="high", tlp="green",
                        description="Địa chỉ **203.0.113.7** dò quét liên tục.")

    page, listing = item_and_list(sign_in("qb.mgr"), f"/alerts/{alert.pk}/", "/alerts/",
                                  ("#alert-description", "203.0.113.7"))
    row = listing.locator(f"#alert-rows tr[data-alert-id='{alert.pk}']")
    expect(row).to_contain_text("Dò quét cổng dịch vụ công")
    expect(listing.locator("#bell-count")).to_have_text("1")  # waiting for QB's acknowledgement
    expect(listing.locator(f".alert-banner[data-alert-id='{alert.pk}']")).to_have_count(1)
    dn = sign_in("dn.mgr").goto(f"/alerts/{alert.pk}/")
    expect(dn.locator("#alert-description")).to_contain_text("203.0.113.7")
    for tab in (page, listing, dn):
        expect(tab.locator("#bell")).to_have_attribute("data-state", "live")

    assert over_http(hub, officer, "PATCH", f"/api/v1/alerts/{alert.pk}",
                     {"tlp": "amber", "shared_with": ["DN"], "note": "Chỉ chia sẻ với ĐN"}) == 200

    notice = page.locator("[data-testid=withdrawn]")
    expect(notice).to_have_text("Cảnh báo này không còn hiển thị với bạn.")
    expect(notice).to_be_focused()
    expect(page.locator("#alert")).not_to_contain_text("Dò quét")
    for part in ("#alert-title", "#alert-description", "#alert-indicators", "#alert-acks", "#alert-timeline"):
        expect(page.locator(part)).to_have_count(0)
    expect(page.locator("#alert a[href='/alerts/']")).to_have_text("Tất cả cảnh báo")
    expect(row).to_have_count(0)
    expect(listing.locator("#alert-rows")).to_contain_text("Chưa có cảnh báo.")
    expect(listing.locator(f".alert-banner[data-alert-id='{alert.pk}']")).to_have_count(0)
    expect(listing.locator("#bell-count")).to_be_hidden()
    # DN still sees it: the change arrives on its page, nothing withdrawn.
    expect(dn.locator("#alert-tlp")).to_contain_text("AMBER")
    expect(dn.locator("#alert-description")).to_contain_text("203.0.113.7")
    expect(dn.locator("[data-testid=withdrawn]")).to_have_count(0)
    # The page stays empty after a reconnect's reload would have drawn it again.
    page.evaluate("document.dispatchEvent(new CustomEvent('hub:reconnected'))")
    page.wait_for_timeout(500)
    expect(page.locator("#alert-title")).to_have_count(0)


def test_a_removed_watcher_loses_the_request_from_their_open_pages_on_a_phone(make_user, sign_in, hub):
    from requests.services import add_watcher, create_ticket

    requester = make_user("ht.eng", centre="HT")
    make_user("dn.eng", centre="DN")
    make_user("qb.eng", centre="QB")
    ticket = create_ticket(by=requester, title="Rà soát tường lửa cổng dịch vụ công", category="security",
                           target_centre="DN", description="Cần kiểm tra **quy tắc** tường lửa.")
    add_watcher(ticket, by=requester, username="qb.eng")

    page, listing = item_and_list(sign_in("qb.eng", phone=True), f"/tickets/{ticket.pk}/", "/tickets/",
                                  ("#ticket-description", "quy tắc"))
    row = listing.locator(f"#ticket-rows tr[data-ticket-id='{ticket.pk}']")
    expect(row).to_contain_text("Rà soát tường lửa")
    dn = sign_in("dn.eng").goto(f"/tickets/{ticket.pk}/")
    expect(dn.locator("#ticket-description")).to_contain_text("quy tắc")
    for tab in (page, listing, dn):
        expect(tab.locator("#bell")).to_have_attribute("data-state", "live")

    assert over_http(hub, requester, "DELETE", f"/api/v1/tickets/{ticket.pk}/watchers/qb.eng") in (200, 204)

    notice = page.locator("[data-testid=withdrawn]")
    expect(notice).to_have_text("Yêu cầu này không còn hiển thị với bạn.")
    expect(page.locator("#ticket")).not_to_contain_text("Rà soát tường lửa")
    for part in ("#ticket-title", "#ticket-description", "#ticket-timeline", "#comment-form"):
        expect(page.locator(part)).to_have_count(0)
    expect(page.locator("#ticket a[href='/tickets/']")).to_have_text("Tất cả yêu cầu")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no wider than the phone
    expect(row).to_have_count(0)
    # DN still reads it: the removal arrives on its page, nothing withdrawn.
    expect(dn.locator("#ticket-live")).not_to_be_empty()
    expect(dn.locator("[data-testid=withdrawn]")).to_have_count(0)


class ReloadOnItsWay:
    """The next reload of a list page (its requests: URLs containing `path`), held on its way by the
    browser's own request routing (no part of the hub replaced): `wait()` gives what the server said
    when it left; `land()` delivers it, once every later reload has landed. Later ones go through."""

    def __init__(self, page, path: str):
        self.page, self.passed, self.finished = page, 0, 0
        self.routes: list[Route] = []
        page.route(lambda url: path in url, self._hold_first)
        page.on("requestfinished", lambda request: self._count(request, path))

    def _hold_first(self, route):
        if self.routes:
            self.passed += 1
            route.continue_()
        else:
            self.routes.append(route)

    def _count(self, request, path):
        if path in request.url and self.routes and request is not self.routes[0].request:
            self.finished += 1

    def _until(self, done, what):
        for _ in range(150):
            if done():
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(what)

    def wait(self) -> str:
        self._until(lambda: self.routes, "the list did not reload")
        self.answer = self.routes[0].fetch()
        return self.answer.text()

    def land(self):
        self._until(lambda: self.finished >= self.passed, "a later reload did not land")
        self.page.wait_for_timeout(100)  # ... and was drawn
        self.routes[0].fulfill(response=self.answer)


def test_a_list_reload_on_its_way_when_the_alert_is_withdrawn_does_not_draw_it_again(make_user, sign_in, hub):
    """The list reloads on every `alert` frame; an answer that left before the withdrawal and lands
    after it still lists the alert — its row stays gone. Shared with QB again, the alert's frame
    brings it back."""
    from alerts.services import raise_alert

    officer = make_user("ht.sec", centre="HT", role="security_officer")
    make_user("qb.mgr", centre="QB", role="manager")
    make_user("dn.mgr", centre="DN", role="manager")
    narrowed = raise_alert(by=officer, title="Dò quét cổng dịch vụ công", severity="high", tlp="green",
                           description="Địa chỉ 203.0.113.7 dò quét liên tục.")
    other = raise_alert(by=officer, title="Mã độc trong tệp đính kèm", severity="high", tlp="green",
                        description="Tệp .docm lạ.")
    listing = sign_in("qb.mgr").goto("/alerts/")
    row = listing.locator(f"#alert-rows tr[data-alert-id='{narrowed.pk}']")
    expect(row).to_contain_text("Dò quét cổng dịch vụ công")
    expect(listing.locator("#bell")).to_have_attribute("data-state", "live")

    reload = ReloadOnItsWay(listing, "/api/v1/alerts?limit=")
    assert over_http(hub, officer, "PATCH", f"/api/v1/alerts/{other.pk}", {"severity": "critical"}) == 200
    assert "Dò quét cổng dịch vụ công" in reload.wait()  # the other alert's frame reloads the list
    assert over_http(hub, officer, "PATCH", f"/api/v1/alerts/{narrowed.pk}",
                     {"tlp": "amber", "shared_with": ["DN"]}) == 200
    expect(row).to_have_count(0)  # the withdrawal takes the row off ...
    reload.land()  # ... and then the reload that left before it lands, last
    expect(listing.locator(f"#alert-rows tr[data-alert-id='{other.pk}'] .severity-critical")).to_have_count(1)
    listing.wait_for_timeout(300)
    expect(row).to_have_count(0)

    # Shared with QB again: its `alert` frame reaches QB and the row is back.
    assert over_http(hub, officer, "PATCH", f"/api/v1/alerts/{narrowed.pk}", {"shared_with": ["DN", "QB"]}) == 200
    expect(row).to_contain_text("Dò quét cổng dịch vụ công")


def test_a_list_reload_on_its_way_when_the_request_is_withdrawn_does_not_draw_it_again_on_a_phone(
        make_user, sign_in, hub):
    """The same for the request list, on a phone: a removed watcher's list reload that left before the
    removal does not bring the request back; added again, its `ticket` frame does."""
    from requests.services import add_watcher, create_ticket

    requester = make_user("ht.eng", centre="HT")
    make_user("dn.eng", centre="DN")
    make_user("qb.eng", centre="QB")
    lost = create_ticket(by=requester, title="Rà soát tường lửa cổng dịch vụ công", category="security",
                         target_centre="DN", description="Cần kiểm tra quy tắc tường lửa.")
    other = create_ticket(by=requester, title="Gia hạn chứng thư số", category="security",
                          target_centre="DN", description="Chứng thư hết hạn cuối tháng.")
    for ticket in (lost, other):
        add_watcher(ticket, by=requester, username="qb.eng")
    listing = sign_in("qb.eng", phone=True).goto("/tickets/")
    row = listing.locator(f"#ticket-rows tr[data-ticket-id='{lost.pk}']")
    expect(row).to_contain_text("Rà soát tường lửa")
    expect(listing.locator("#bell")).to_have_attribute("data-state", "live")

    reload = ReloadOnItsWay(listing, "/api/v1/tickets?")
    assert over_http(hub, requester, "PATCH", f"/api/v1/tickets/{other.pk}",
                     {"title": "Gia hạn chứng thư số trước 31/12"}) == 200
    assert "Rà soát tường lửa" in reload.wait()  # the other request's frame reloads the list
    assert over_http(hub, requester, "DELETE", f"/api/v1/tickets/{lost.pk}/watchers/qb.eng") in (200, 204)
    expect(row).to_have_count(0)
    reload.land()  # last
    expect(listing.locator(f"#ticket-rows tr[data-ticket-id='{other.pk}']")).to_contain_text("trước 31/12")
    listing.wait_for_timeout(300)
    expect(row).to_have_count(0)
    assert listing.evaluate("document.documentElement.scrollWidth") <= 390  # no wider than the phone

    assert over_http(hub, requester, "POST", f"/api/v1/tickets/{lost.pk}/watchers", {"username": "qb.eng"}) == 200
    expect(row).to_contain_text("Rà soát tường lửa")


# --- a message narrowed away (docs/chat.md, "Withdrawn messages") ---------------------------------

SECURITY = "/topics/an-toan-thong-tin/"
MESSAGE_GONE = "Tin nhắn này không còn hiển thị với bạn."


@pytest.fixture
def incident(transactional_db, make_user):
    """HT's alert (TLP:GREEN, every centre), its summary pinned, DN's reply under it also in the
    channel, and a message of DN's own that nothing touches."""
    from alerts.services import raise_alert
    from chat.models import Message
    from chat.services import create_topic, post_message, set_pinned

    topic = create_topic(slug="an-toan-thong-tin", name_vi="Sự cố an toàn thông tin",
                         name_en="Information security incidents", default_tlp="amber")
    ht = make_user("ht.sec", centre="HT", role="security_officer", display_name="An (ATTT Hà Tĩnh)")
    dn = make_user("dn.sec", centre="DN", role="security_officer", display_name="Bình (ATTT Đà Nẵng)")
    make_user("qb.sec", centre="QB", role="security_officer", display_name="Cường (ATTT Quảng Bình)")
    alert = raise_alert(by=ht, title="Dò quét cổng từ 203.0.113.7", severity="high", tlp="green",
                        description="Quét cổng hàng loạt.", indicators=[], affected_systems=[],
                        recommended_actions="")
    summary = Message.objects.select_related("topic").get(client_id=f"alert-{alert.pk}")
    set_pinned(summary, by=ht, pinned=True)
    reply = post_message(topic, by=dn, body="zebrafoo: Đà Nẵng cũng thấy quét", reply_to=summary.pk,
                         also_channel=True)[0]
    post_message(topic, by=dn, body="Tin khác của Đà Nẵng")
    return {"alert": alert, "ht": ht, "summary": summary.pk, "reply": reply.pk}


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_message_narrowed_away_leaves_the_open_page_and_its_thread_closes(incident, sign_in, hub, phone):
    binh = sign_in("dn.sec", phone=phone)
    page = binh.page
    binh.goto(SECURITY)
    binh.wait_live()
    log = page.locator("#messages li.msg")
    expect(log).to_have_count(3)
    expect(page.locator(f"#m-{incident['summary']}")).to_be_visible()
    expect(page.locator("#pins-button")).to_have_attribute("data-count", "1")
    if not phone:  # the topic's search box (behind a button on a phone): the reply is found
        page.fill("#search-q", "zebrafoo")
        page.locator("#search-q").press("Enter")
        expect(page.locator("#search-list li.search-hit")).to_have_count(1)
    page.locator(f"#m-{incident['summary']} [data-testid=thread-summary]").click()
    panel = page.locator("#thread-panel")
    expect(panel.locator("[data-testid=thread-messages] li.msg")).to_have_count(2)  # the root and the reply
    page.evaluate("window.__notReloaded = true")

    assert over_http(hub, incident["ht"], "PATCH", f"/api/v1/alerts/{incident['alert'].pk}",
                     {"tlp": "amber", "shared_with": ["QB"]}) == 200

    expect(page.locator("#thread-panel")).to_have_count(0)
    expect(page.locator("#action-status")).to_have_text(MESSAGE_GONE)
    expect(log).to_have_count(1)
    expect(page.locator("#messages li.msg .msg-body")).to_have_text(["Tin khác của Đà Nẵng"])
    expect(page.locator("#pins-button")).to_have_attribute("data-count", "0")
    if not phone:
        expect(page.locator("#search-list li.search-hit")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True
    screenshot(page, f"message-withdrawn-{'phone' if phone else 'desktop'}")

    # A page load afterwards shows neither (history reads the same rule).
    page.reload()
    binh.wait_live()
    expect(log).to_have_count(1)
    expect(page.locator(f"#m-{incident['summary']}")).to_have_count(0)
