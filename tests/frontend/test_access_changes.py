"""A page never goes on showing what its person may no longer see (docs/ui.md, "When your access
changes"). An admin moves someone to another centre while their pages are open: the hub tells every
socket of theirs (`access.changed`), and each page reloads itself without the person doing anything —
so what was shared with their old centre leaves the screen — keeping what they were typing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import messages_text

pytestmark = [pytest.mark.services, pytest.mark.browser]

TOPIC_URL = "/topics/phat-trien-phan-mem/"
HT_ONLY = "Chỉ Hà Tĩnh: máy chủ 10.20.30.40 đang bị dò quét"
FOR_ALL = "Chào mọi người, lịch họp tuần sau đã có"
DRAFT = "Bản nháp dở dang: cần kiểm tra lại"
NOTICE = "Quyền truy cập của bạn đã thay đổi; trang được tải lại."


@pytest.fixture
def people(make_user, topic):
    from chat.services import post_message

    lan = make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    colleague = make_user("ht.sec", centre="HT", role="security_officer")
    make_user("dn.eng", centre="DN")
    make_user("root", centre=None, role="hub_admin", is_superuser=True, is_staff=True)
    post_message(topic, by=colleague, body=HT_ONLY, shared_with=["HT"])
    post_message(topic, by=colleague, body=FOR_ALL)
    return lan


def move_in_the_admin(admin, person, centre: str) -> None:
    """The hub admin's own browser: the person's change form in /admin/, another centre, Save."""
    page = admin.goto(f"/admin/hub/user/{person.pk}/change/")
    page.select_option("#id_centre", label=centre)
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_be_visible()  # Django's "was changed successfully."


def test_a_person_moved_to_another_centre_sees_their_topic_page_reload_without_the_old_centres_message(
        people, sign_in):
    from hub.models import Centre

    lan = sign_in("ht.eng")
    page = lan.goto(TOPIC_URL)
    lan.wait_live()
    expect(page.locator("#messages li.msg .msg-body", has_text=HT_ONLY)).to_be_visible()
    page.locator("#composer-input").type(DRAFT)
    page.evaluate("window.loadedBeforeTheMove = true")
    expect(page.get_by_test_id("who")).to_contain_text("HT")

    admin = sign_in("root")
    move_in_the_admin(admin, people, str(Centre.objects.get(code="DN")))

    # Without anything done on Lan's page: it reloads, says why, and shows what DN may see.
    expect(page.get_by_test_id("access-notice")).to_have_text(NOTICE)
    assert page.evaluate("window.loadedBeforeTheMove") is None  # a new page, not the old one patched
    expect(page.get_by_test_id("who")).to_contain_text("DN")
    lan.wait_live()
    expect(page.locator("#messages li.msg .msg-body", has_text=FOR_ALL)).to_be_visible()
    assert HT_ONLY not in " ".join(messages_text(page))
    assert "10.20.30.40" not in page.content()
    expect(page.locator("#composer-input")).to_have_value(DRAFT)  # what she was typing is still there


def test_a_move_made_while_the_page_was_offline_reloads_it_when_it_reconnects(people, sign_in):
    """The page's sockets carry the rights it was rendered with: one that missed the change (the
    network was gone) is told as soon as it is back."""
    from hub.models import Centre

    lan = sign_in("ht.eng")
    page = lan.goto(TOPIC_URL)
    lan.wait_live()
    page.locator("#composer-input").type(DRAFT)
    lan.context.set_offline(True)
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "offline")
    admin = sign_in("root")
    move_in_the_admin(admin, people, str(Centre.objects.get(code="DN")))
    page.wait_for_timeout(1000)
    lan.context.set_offline(False)
    expect(page.get_by_test_id("access-notice")).to_have_text(NOTICE)
    expect(page.get_by_test_id("who")).to_contain_text("DN")
    expect(page.locator("#messages li.msg .msg-body", has_text=FOR_ALL)).to_be_visible()
    assert HT_ONLY not in " ".join(messages_text(page))
    expect(page.locator("#composer-input")).to_have_value(DRAFT)


def test_a_change_that_leaves_what_they_see_alone_does_not_reload(people, sign_in):
    lan = sign_in("ht.eng")
    page = lan.goto(TOPIC_URL)
    lan.wait_live()
    page.evaluate("window.loadedBeforeTheChange = true")
    admin = sign_in("root")
    form = admin.goto(f"/admin/hub/user/{people.pk}/change/")
    form.fill("#id_display_name", "Lan Nguyễn (Hà Tĩnh)")
    form.click("input[name=_save]")
    expect(form.locator(".messagelist")).to_be_visible()
    page.wait_for_timeout(1500)
    assert page.evaluate("window.loadedBeforeTheChange") is True
    expect(page.get_by_test_id("access-notice")).to_have_count(0)
