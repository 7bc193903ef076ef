"""Every item's TLP label in FIRST's colours and words (issue 24 §2, "The UI shows the TLP label on every
item in FIRST's colours and wording, in Vietnamese and English"), and where an alert's indicators were
seen before (§4, "shown on the alert page"), in a real browser.

Every `.tlp-label` on the topic page, the alert list, an alert's page and a request's page (its own
marking, a comment's, an attachment's) is checked: the marking's colour from FIRST's TLP 2.0 table
(`hub.sharing.COLOURS`) on black, FIRST's label (never translated), and FIRST's meaning as its title in
the page's language — Vietnamese for one officer, English for the other."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from playwright.sync_api import expect

pytestmark = [pytest.mark.services, pytest.mark.browser]

BLACK = "rgb(0, 0, 0)"


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.fixture
def world(make_user, settings, tmp_path):
    """HT and DN's security officers (Vietnamese and English) share a message, two alerts (QB's earlier
    one with the same address) and a request with a comment and a file, each with another marking."""
    from alerts.services import raise_alert
    from chat.services import create_topic, post_message
    from requests.services import add_attachment, add_comment, create_ticket

    settings.MEDIA_ROOT = tmp_path / "media"
    ht = make_user("ht.sec", centre="HT", role="security_officer", display_name="An (ATTT Hà Tĩnh)")
    dn = make_user("dn.sec", centre="DN", role="security_officer", display_name="Binh (DN)", language="en")
    qb = make_user("qb.sec", centre="QB", role="security_officer")
    topic = create_topic(slug="an-toan-thong-tin", name_vi="Sự cố an toàn thông tin",
                         name_en="Information security incidents", default_tlp="amber")
    post_message(topic, by=ht, body="Chỉ nội bộ hai bên", tlp="amber+strict")
    earlier = raise_alert(by=qb, title="Dò quét tại Quảng Bình", severity="medium", tlp="green",
                          indicators=[{"type": "ipv4", "value": "203.0.113.7"}])
    alert = raise_alert(by=ht, title="Dò quét lặp lại", severity="high", tlp="red", shared_with=["DN"],
                        indicators=[{"type": "ipv4", "value": "203.0.113.7"}])
    ticket = create_ticket(by=ht, title="Phân tích nhật ký", category="security", target_centre="DN", tlp="green")
    comment = add_comment(ticket, by=dn, body="Received, looking at it.", tlp="amber")
    add_attachment(ticket, by=dn, upload=SimpleUploadedFile("log.txt", b"203.0.113.7", "text/plain"),
                   comment_id=comment.pk, tlp="red")
    return {"earlier": earlier, "alert": alert, "ticket": ticket}


def labels_on(page, language: str) -> set[str]:
    """Checks every TLP label on the page; returns the markings seen. Read in one script, in one go:
    a live frame may render a message again between two reads of one label (its old element, no
    longer in the page, has no computed style)."""
    from hub.sharing import COLOURS, MEANINGS, Tlp

    seen = set()
    labels = page.locator(".tlp-label").evaluate_all("""labels => labels.map((e) => ({
        tlp: e.dataset.tlp, text: e.innerText, title: e.getAttribute("title"),
        color: getComputedStyle(e).color, background: getComputedStyle(e).backgroundColor}))""")
    for label in labels:
        value = Tlp(label["tlp"])
        with translation.override(language):
            meaning = str(MEANINGS[value])
        assert label["text"] == f"TLP:{value.value.upper()}"  # FIRST's words, in every language
        assert label["color"] == rgb(COLOURS[value]), value
        assert label["background"] == BLACK, value
        assert label["title"] == meaning, (value, language)
        seen.add(value.value)
    return seen


@pytest.mark.parametrize(("username", "language"), [("ht.sec", "vi"), ("dn.sec", "en")])
def test_every_item_shows_its_marking_in_firsts_colours_and_its_meaning_in_the_page_language(
        world, sign_in, username, language):
    from hub.sharing import MEANINGS, Tlp

    with translation.override("vi"):
        vietnamese = str(MEANINGS[Tlp.RED])
    with translation.override("en"):
        assert vietnamese != str(MEANINGS[Tlp.RED])  # the meanings really are translated
    person = sign_in(username)
    page = person.goto("/topics/an-toan-thong-tin/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#messages li.msg .tlp-label[data-tlp='amber+strict']")).to_have_count(1)
    assert "amber+strict" in labels_on(page, language)

    page = person.goto("/alerts/")
    expect(page.locator(f"tr[data-alert-id='{world['alert'].pk}'] .tlp-label")).to_have_text("TLP:RED")
    assert {"red", "green"} <= labels_on(page, language)

    page = person.goto(f"/alerts/{world['alert'].pk}/")
    expect(page.locator("#alert-tlp .tlp-label")).to_have_text("TLP:RED")
    assert "red" in labels_on(page, language)

    page = person.goto(f"/tickets/{world['ticket'].pk}/")
    expect(page.locator("#ticket-tlp .tlp-label")).to_have_text("TLP:GREEN")
    expect(page.locator("#ticket-timeline li.comment .msg-head .tlp-label")).to_have_text("TLP:AMBER")
    expect(page.locator("#ticket-timeline li.comment .comment-files .tlp-label")).to_have_text("TLP:RED")
    assert {"green", "amber", "red"} <= labels_on(page, language)


@pytest.mark.parametrize(("username", "words"), [("ht.sec", "Đã gặp tại QB ngày"), ("dn.sec", "Seen before at QB on")])
def test_the_alert_page_says_where_its_indicators_were_seen_before(world, sign_in, username, words):
    page = sign_in(username).goto(f"/alerts/{world['alert'].pk}/")
    cell = page.locator("#alert-indicators tr[data-value='203.0.113.7'] .seen-before")
    expect(cell).to_contain_text(words)
    expect(cell.locator("a")).to_have_attribute("href", f"/alerts/{world['earlier'].pk}/")
    # The earlier alert itself has seen nothing before it.
    page.goto(f"/alerts/{world['earlier'].pk}/")
    expect(page.locator("#alert-indicators tr[data-value='203.0.113.7'] .seen-before")).to_have_text("—")


@pytest.fixture
def much_seen(make_user):
    """An address QB's SIEM reported in 23 alerts before HT raised one with it, and once after."""
    from alerts.services import raise_alert

    make_user("ht.sec", centre="HT", role="security_officer")
    make_user("dn.sec", centre="DN", role="security_officer", language="en")
    qb = make_user("qb.sec", centre="QB", role="security_officer")
    address = [{"type": "ipv4", "value": "198.51.100.9"}]
    earlier = [raise_alert(by=qb, title=f"Dò quét lần {i}", severity="low", tlp="green", indicators=address)
               for i in range(23)]
    alert = raise_alert(by=qb, title="Dò quét lặp lại", severity="high", tlp="green", indicators=address)
    raise_alert(by=qb, title="Dò quét sau đó", severity="low", tlp="green", indicators=address)
    return {"earlier": earlier, "alert": alert}


@pytest.mark.parametrize(("username", "phone", "more"), [("ht.sec", True, "Xem thêm"), ("dn.sec", False, "Show more")])
def test_an_indicator_seen_many_times_lists_twenty_and_shows_the_earlier_rest_on_demand(
        much_seen, sign_in, username, phone, more):
    """The detail lists the first 20 sightings (docs/alerts.md); the button pages the rest from
    `GET /api/v1/indicators` and stops at this alert: later sightings are not "seen before"."""
    page = sign_in(username, phone=phone).goto(f"/alerts/{much_seen['alert'].pk}/")
    cell = page.locator("#alert-indicators tr[data-value='198.51.100.9'] .seen-before")
    expect(cell.locator("a")).to_have_count(20)
    button = cell.get_by_role("button", name=more)
    button.click()
    expect(cell.locator("a")).to_have_count(23)
    expect(button).to_have_count(0)
    hrefs = [cell.locator("a").nth(i).get_attribute("href") for i in range(23)]
    assert hrefs == [f"/alerts/{a.pk}/" for a in much_seen["earlier"]]  # oldest first, each once
