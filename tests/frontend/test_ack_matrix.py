"""The acknowledgement matrix reads at a glance (issue 23): centres by full name, "n / N
acknowledged", pending centres first, time since raised and time to acknowledge, live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.services, pytest.mark.browser]


def test_pending_centres_first_with_progress_updated_live(make_user, sign_in):
    from alerts.services import raise_alert
    from hub.models import Centre

    officer = make_user("ht.sec", centre="HT", role="security_officer", display_name="An (ATTT Hà Tĩnh)")
    make_user("dn.mgr", centre="DN", role="manager", display_name="Bình (Quản lý Đà Nẵng)")
    make_user("qt.eng", centre="QT")
    alert = raise_alert(by=officer, title="Dò quét cổng dịch vụ công", severity="high", tlp="clear")
    recipients = Centre.objects.exclude(code="HT").count()

    watcher = sign_in("ht.sec").page
    watcher.goto(f"/alerts/{alert.pk}/")
    progress = watcher.locator("[data-testid=ack-progress]")
    expect(progress).to_contain_text(f"0 / {recipients} đã xác nhận")
    expect(progress).to_contain_text("phát")
    rows = watcher.locator("[data-testid=ack-matrix] tbody tr")
    expect(rows).to_have_count(recipients)
    dn = Centre.objects.get(code="DN")
    expect(rows.filter(has_text="DN").locator("th")).to_contain_text(dn.name_vi)  # the full name

    manager = sign_in("dn.mgr").page
    manager.goto(f"/alerts/{alert.pk}/")
    manager.locator("#alert-ack-area button").first.click()

    expect(progress).to_contain_text(f"1 / {recipients} đã xác nhận")  # live, on the raiser's page
    expect(rows.last).to_have_attribute("data-centre", "DN")  # acknowledged centres after the pending ones
    expect(rows.last).to_have_class(re.compile("ack-acknowledged"))
    expect(rows.last.locator("td").last).to_contain_text("phút")  # time from raising to acknowledgement
    expect(rows.first).to_have_class(re.compile("ack-pending"))
    assert watcher.locator("#ack-bar").evaluate("bar => [bar.value, bar.max]") == [1, recipients]
