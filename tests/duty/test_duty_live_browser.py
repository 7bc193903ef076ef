"""The "confirm on duty" card appears when the officer's shift begins, without a reload (issue 22 §2),
on the home page and the duty page, in English and Vietnamese, on a phone:

- the officer's own page sets a timer from the server's answer (`GET /api/v1/duty/mine`:
  `next_change`, measured on the server's clock) and asks again then: the card appears and their
  board's line turns "on duty, not confirmed" even while the duty watch job is far from its next run;
- everyone else's board changes with the watch job's `started` frame at the shift's start.

Shifts start a few seconds in the future; HUB_DUTY_CONFIRM_EARLY_MINUTES=0 so the card appears at the
start itself (not half an hour before)."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hub.models import User
from tests.conftest import token_for
from tests.frontend.conftest import screenshot

pytestmark = [pytest.mark.services, pytest.mark.browser]

SLOW_WATCH = {"HUB_DUTY_CONFIRM_EARLY_MINUTES": "0", "HUB_DUTY_WATCH_SECONDS": "3600"}
FAST_WATCH = {"HUB_DUTY_CONFIRM_EARLY_MINUTES": "0", "HUB_DUTY_WATCH_SECONDS": "1", "HUB_JOBS_TICK_SECONDS": "0.5"}


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The server process checks passwords with the real hashers: keep them here."""


def cast(make_user) -> None:
    make_user("ht.manager", centre="HT", role="manager", display_name="Lê Văn Quản")
    make_user("ht.security", centre="HT", role="security_officer", display_name="Nguyễn Thị An", language="en")


def roster_soon(hub, seconds: float) -> None:
    """A shift for HT's officer starting in `seconds`, added by the manager over the API (the server
    sends the `roster_changed` frame)."""
    start = timezone.now() + timedelta(seconds=seconds)
    body = json.dumps({"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=8)).isoformat(),
                       "officer": "ht.security"}).encode()
    request = urllib.request.Request(hub.http + "/api/v1/centres/HT/roster", data=body, method="POST", headers={
        "Authorization": f"Token {token_for(User.objects.get(username='ht.manager'))}",
        "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def stream_live(page) -> None:
    """The page's notifications stream is connected (the header's live status)."""
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")


def open_live(sign_in, username: str, path: str, ready: str, phone: bool = False):
    """Sign in, open `path`, wait for its script (`ready`) and its live stream."""
    person = sign_in(username, phone=phone)
    page = person.goto(path)
    page.wait_for_selector(ready, state="attached")  # the card may be hidden: its script answered
    stream_live(page)
    return page


@pytest.mark.parametrize("hub_extra_env", [SLOW_WATCH], indirect=True)
def test_the_officers_card_appears_at_the_start_by_the_servers_timer(make_user, sign_in, hub):
    cast(make_user)
    home = open_live(sign_in, "ht.security", "/", "#my-duty[data-ready]", phone=True)
    expect(home.locator("[data-testid=my-duty]")).to_be_hidden()
    expect(home.locator("#duty-board li[data-centre='HT']")).to_have_attribute("data-state", "nobody")

    roster_soon(hub, 6)
    started = time.monotonic()
    # Before the start the card stays hidden (the server says "not yet"); then it appears by itself.
    home.wait_for_timeout(2000)
    expect(home.locator("[data-testid=my-duty]")).to_be_hidden()
    expect(home.locator("[data-testid=my-duty]")).to_be_visible()
    expect(home.locator("[data-testid=confirm-duty]")).to_have_text("Confirm on duty")
    assert time.monotonic() - started < 12  # at the start, not at the watch job's next run (an hour away)
    expect(home.locator("[data-testid=my-duty-text]")).to_contain_text("You are the officer on duty for HT")
    expect(home.locator("#duty-board li[data-centre='HT']")).to_have_attribute("data-state", "unconfirmed")
    expect(home.locator("#duty-board li[data-centre='HT']")).to_contain_text("On duty, not confirmed")
    assert home.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(home, "duty-card-phone-en")

    home.click("[data-testid=confirm-duty]")
    expect(home.locator("[data-testid=confirm-status]")).to_contain_text("Confirmed at")
    expect(home.locator("#duty-board li[data-centre='HT']")).to_have_attribute("data-state", "confirmed")


@pytest.mark.parametrize("hub_extra_env", [FAST_WATCH], indirect=True)
def test_the_watch_jobs_frame_turns_every_board_at_the_start(make_user, sign_in, hub):
    cast(make_user)
    board = open_live(sign_in, "ht.manager", "/duty/", "#roster[data-ready]", phone=True)
    duty = open_live(sign_in, "ht.security", "/duty/", "#my-duty[data-ready]")
    expect(board.locator("#duty-board li[data-centre='HT']")).to_have_attribute("data-state", "nobody")

    roster_soon(hub, 5)
    # The manager (Vietnamese, phone) is not the officer: only the job's `started` frame changes their board.
    expect(board.locator("#duty-board li[data-centre='HT']")).to_have_attribute("data-state", "unconfirmed")
    expect(board.locator("#duty-board li[data-centre='HT']")).to_contain_text("Có lịch trực, chưa xác nhận")
    # The officer's duty page (English) shows the card; confirming turns the manager's board green.
    expect(duty.locator("[data-testid=my-duty]")).to_be_visible()
    expect(duty.locator("[data-testid=confirm-duty]")).to_have_text("Confirm on duty")
    duty.click("[data-testid=confirm-duty]")
    expect(board.locator("#duty-board li[data-centre='HT']")).to_have_attribute("data-state", "confirmed")
    assert board.evaluate("document.documentElement.scrollWidth") <= 390
