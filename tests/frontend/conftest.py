"""Browser fixtures: Debian's chromium driven by Playwright against a real daphne + Redis hub.

Every test here is a `services` + `browser` test: it needs the PostgreSQL pass (the server process
reads the test database, so data must be committed: `transactional_db`), Redis for the channel
layer, and /usr/bin/chromium. Pages are checked for script errors and CSP violations after each test.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.live import start_hub
from tests.services import chromium_problem, redis_problem, require

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 15_000
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}  # a common phone (iPhone 12-15): touch, no hover, no keyboard


@pytest.fixture(scope="module")
def browser():
    require(chromium_problem())
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread, which makes Django refuse ORM calls
    # from the test body; allow them only while the browser runs (never in the server processes).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect

    # expect() waits 5 s by default; on a machine shared by eight test runs a live update can take
    # longer (seen: a reopened alert's entry). The same patience as every page action.
    expect.set_options(timeout=TIMEOUT_MS)
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        pw.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def hub_extra_env(request) -> dict:
    """Extra environment for the server; parametrize indirectly to change a setting for one test."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def hub(transactional_db, hub_extra_env):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("browser tests run in the PostgreSQL + Redis pass (the server shares the test database)")
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    require(redis_problem(redis_url))
    server = start_hub("daphne", extra_env={
        "REDIS_URL": redis_url,
        "HUB_CHANNEL_PREFIX": f"fe{uuid.uuid4().hex[:10]}",
        "HUB_AXES_ENABLED": "0",
        "DJANGO_ALLOW_ASYNC_UNSAFE": "",
        **hub_extra_env,
    })
    yield server
    server.stop()


@dataclass
class Person:
    """One signed-in browser context and its page, with the script errors it saw."""

    context: Any  # playwright's BrowserContext and Page
    page: Any
    username: str
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str):
        self.page.goto(path)
        return self.page

    def wait_live(self):
        self.page.wait_for_selector("#conn-status[data-state='live']")


@pytest.fixture
def sign_in(browser, hub):
    """`sign_in("ht.engineer")` → a Person in a fresh browser context, logged in through the form;
    `phone=True` makes it a 390×844 touch screen without hover (CSS `(hover: none)`)."""
    people: list[Person] = []

    def make(username: str, password: str | None = None, locale: str = "vi-VN", phone: bool = False) -> Person:
        size = PHONE if phone else DESKTOP
        context = browser.new_context(base_url=hub.http, locale=locale, viewport=size,
                                      is_mobile=phone, has_touch=phone, device_scale_factor=2 if phone else 1)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        person = Person(context, page, username)
        page.on("pageerror", lambda exc: person.errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: person.errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        page.on("response", lambda r: person.errors.append(f"HTTP {r.status} {r.url}") if r.status >= 500 else None)
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password or f"pw-{username}")
        page.click("form.login button[type=submit]")
        page.wait_for_url(hub.http + "/")
        people.append(person)
        return person

    yield make
    problems = [f"{p.username}: {e}" for p in people for e in p.errors if not _expected(e)]
    for person in people:
        person.context.close()
    assert problems == [], "the pages reported script errors or CSP violations"


def _expected(error: str) -> bool:
    # A browser that is told it is offline logs the failed reconnect attempts; that is the point.
    # API refusals (4xx) are logged by the browser too, and the page shows them to the user; 5xx
    # answers are recorded separately above and always count.
    return ("ERR_INTERNET_DISCONNECTED" in error or "WebSocket connection to" in error
            or bool(re.search(r"Failed to load resource: the server responded with a status of 4\d\d", error)))


@pytest.fixture
def topic(transactional_db):
    from chat.services import create_topic

    return create_topic(slug="phat-trien-phan-mem", name_vi="Phát triển phần mềm", name_en="Software development",
                        description="Trao đổi về phát triển phần mềm.")


def messages_text(page) -> list[str]:
    return page.locator("#messages li.msg .msg-body").all_inner_texts()


def screenshot(page, name: str) -> None:
    """Save a screenshot of what a test saw to /tmp/hub-screenshots/ (to look at after a run). The
    README's, in docs/screenshots/, come from the seeded demo: scripts/screenshots.py."""
    folder = Path("/tmp/hub-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)
