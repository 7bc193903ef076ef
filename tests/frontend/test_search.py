"""The search page in a real browser: search → filter → jump to the message; highlighted words; what
the person may not read never shows; Vietnamese and English; a phone's screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]


@pytest.fixture
def world(make_user, topic):
    """Messages about Emotet in three topics, one of them closed to engineers, and in a conversation
    between two other people; the searcher is an engineer of Đà Nẵng."""
    from chat.models import ConversationMember, Topic
    from chat.services import create_topic, post_message

    lan = make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    minh = make_user("dn.eng", centre="DN", display_name="Minh (Đà Nẵng)")
    hoa = make_user("qb.sec", centre="QB", role="security_officer", display_name="Hoa (Quảng Bình)")
    security = create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security")
    closed = create_topic(slug="doi-ung-cuu", name_vi="Đội ứng cứu", name_en="Response team",
                          allowed_roles=["security_officer"])
    private = Topic.objects.create(slug="dm-lan-hoa", name_vi="Lan, Hoa", name_en="Lan, Hoa", kind=Topic.Kind.DIRECT,
                                   default_tlp="amber")
    for person in (lan, hoa):
        ConversationMember.objects.create(topic=private, user=person)
    posts = {
        "dev": post_message(topic, by=lan, body="Bản vá cho thư viện bị Emotet khai thác")[0],
        "sec_lan": post_message(security, by=lan, body="Cảnh báo: chiến dịch **Emotet** qua thư điện tử")[0],
        "sec_minh": post_message(security, by=minh, body="Đà Nẵng đã chặn tên miền của Emotet")[0],
        "closed": post_message(closed, by=hoa, body="Emotet: mẫu nội bộ của đội ứng cứu")[0],
        "private": post_message(private, by=hoa, body="Emotet trong trò chuyện riêng Lan–Hoa")[0],
    }
    for i in range(3):  # later chatter, so the jump must scroll
        post_message(security, by=minh, body=f"tin nhắn khác số {i}")
    return {"minh": minh, "posts": posts}


def hits(page):
    return page.locator("#search-page-results li.search-hit")


def test_search_filter_and_jump_to_the_message(world, sign_in):
    minh = sign_in("dn.eng")
    page = minh.page
    page.click("nav.main-nav a[href='/search/']")
    expect(page.locator("h1")).to_have_text("Tìm tin nhắn")
    page.fill("#search-page-q", "emotet")
    page.click("#search-page-form button[type=submit]")
    expect(hits(page)).to_have_count(3)
    texts = " ".join(hits(page).all_inner_texts())
    assert "đội ứng cứu" not in texts and "trò chuyện riêng" not in texts  # never what he may not read
    expect(hits(page).first.locator("mark")).to_have_text(["Emotet"])
    assert hits(page).first.locator(".search-snippet script, .search-snippet strong").count() == 0
    expect(page.locator("#search-page-status")).to_contain_text("3")
    # Filter: the centre of the author, then the topic.
    page.select_option("select[name=centre]", "HT")
    page.click("#search-page-form button[type=submit]")
    expect(hits(page)).to_have_count(2)
    page.select_option("select[name=topic]", "an-toan-thong-tin")
    page.click("#search-page-form button[type=submit]")
    expect(hits(page)).to_have_count(1)
    assert "centre=HT" in page.url and "topic=an-toan-thong-tin" in page.url  # a bookmarkable search
    assert [o for o in page.locator("select[name=topic] option").all_inner_texts() if "ứng cứu" in o or "Hoa" in o] \
        == []
    screenshot(page, "search")
    target = world["posts"]["sec_lan"].id
    page.click("#search-page-results li.search-hit a.search-jump")
    expect(page).to_have_url(re.compile(rf"/topics/an-toan-thong-tin/#m-{target}$"))
    message = page.locator(f"#m-{target}")
    expect(message).to_have_class(re.compile(r"\bhighlight\b"))
    expect(message).to_be_in_viewport()


def test_the_topic_search_box_highlights_and_leads_on_to_every_topic(world, sign_in):
    minh = sign_in("dn.eng")
    page = minh.page
    minh.goto("/topics/an-toan-thong-tin/")
    minh.wait_live()
    page.fill("#search-q", "emotet")
    page.press("#search-q", "Enter")
    found = page.locator("#search-list li.search-hit")
    expect(found).to_have_count(2)
    expect(found.locator("mark").first).to_have_text("Emotet")
    page.click("#search-list .search-everywhere a")
    expect(hits(page)).to_have_count(3)
    expect(page.locator("#search-page-q")).to_have_value("emotet")


def test_the_search_page_in_english_and_on_a_phone(world, make_user, sign_in):
    make_user("hue.eng", centre="HUE", display_name="Nam (Huế)", language="en")
    nam = sign_in("hue.eng", locale="en-US", phone=True)
    page = nam.page
    nam.goto("/search/?q=emotet")
    expect(page.locator("h1")).to_have_text("Search messages")
    expect(hits(page)).to_have_count(3)
    expect(page.locator("#search-page-status")).to_have_text("3 messages shown.")
    expect(hits(page).first.locator("a.search-jump")).to_have_text("Go to message")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
    page.fill("input[name=since]", "2000-01-02")
    page.fill("input[name=until]", "2000-01-01")
    page.click("#search-page-form button[type=submit]")
    expect(page.locator("#search-page-error")).to_contain_text("until")
    # Paging: two hits a page (the address may choose the page size), then "More results".
    nam.goto("/search/?q=emotet&limit=2")
    expect(hits(page)).to_have_count(2)
    page.click("#search-page-more")
    expect(hits(page)).to_have_count(3)
    expect(page.locator("#search-page-more")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
