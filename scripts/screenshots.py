"""Take the README's screenshots (docs/screenshots/) from the seeded demo, on a desktop and a phone.

    make run                                   # in one shell: migrate, seed_demo --history, serve
    .venv/bin/python scripts/screenshots.py    # in another: writes docs/screenshots/*.png

Options: --base-url (default http://127.0.0.1:8000, or HUB_BASE_URL), --out (default
docs/screenshots), --chromium (default /usr/bin/chromium), --password (default DEMO_PASSWORD or the
demo's), --only NAME… (some of the shots). Playwright drives chromium: a 1280×860 desktop and a
390×844 touch phone (2× pixels), in Vietnamese, the hub's first language. Reactions need an emoji
font (Debian: `apt-get install fonts-noto-color-emoji`), or they show as empty boxes.

Who looks: Đà Nẵng's security officer (alerts, requests, chat, duty), its manager for the dashboard.
The demo leaves this morning's alert waiting for Đà Nẵng's acknowledgement, so its banner is on every
page (`alert-banner.png` shows it open; the other shots collapse it to its one line, as a person who
has seen it would). The shots wait for each page's live data, not for a fixed time.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DESKTOP = {"viewport": {"width": 1280, "height": 860}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 20_000


def first_id(page: Any, base: str, path: str) -> int:
    """The id of the first result of an API list the signed-in person reads."""
    answer = page.request.get(f"{base}{path}", headers={"Accept": "application/json"})
    data = answer.json()
    results = data["results"] if isinstance(data, dict) else data
    if not results:
        raise SystemExit(f"{path}: nothing in the demo data — did `seed_demo --history` run?")
    return int(results[0]["id"])


def story_ticket(page: Any, base: str) -> int:
    """A request of Đà Nẵng's with a story to tell: the open one with the longest timeline."""
    answer = page.request.get(f"{base}/api/v1/tickets?centre=DN&status=waiting_for_requester,in_progress,reopened"
                              "&limit=20", headers={"Accept": "application/json"})
    best, length = None, -1
    for summary in answer.json()["results"]:
        detail = page.request.get(f"{base}/api/v1/tickets/{summary['id']}", headers={"Accept": "application/json"})
        body = detail.json()
        size = len(body.get("history", [])) + 3 * len(body.get("comments", []))
        if size > length:
            best, length = summary["id"], size
    if best is None:
        raise SystemExit("no open request of DN in the demo data — did `seed_demo --history` run?")
    return int(best)


def sign_in(context: Any, base: str, username: str, password: str) -> Any:
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def settle(page: Any, ready: str, *, collapse: bool = True) -> None:
    """Wait for the page's own data (`ready`), its live connection and the awaiting banners; collapse
    those to one line unless the shot is about them; put the pointer out of the way."""
    page.wait_for_selector(ready, state="attached")
    page.wait_for_load_state("networkidle")
    if collapse:
        for button in page.locator(".alert-banner.awaiting:not(.collapsed) .collapse-button").all():
            if button.is_visible():
                button.click()
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)  # the last frame of a CSS transition


class People:
    """One browser context per person and screen size, signed in once; "" is nobody (the sign-in page)."""

    def __init__(self, browser: Any, base: str, password: str, phone: bool) -> None:
        self.browser, self.base, self.password, self.phone = browser, base, password, phone
        self.contexts: dict[str, tuple[Any, Any]] = {}

    def page(self, username: str) -> Any:
        if username not in self.contexts:
            context = self.browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                               **(PHONE if self.phone else DESKTOP))
            self.contexts[username] = (context, sign_in(context, self.base, username, self.password)
                                       if username else None)
        context, page = self.contexts[username]
        return page if page is not None else context.new_page()

    def close(self) -> None:
        for context, _page in self.contexts.values():
            context.close()


def shots(base: str, person: Callable[[str], Any], phone: bool) -> dict[str, Callable[[], Any]]:
    """name → a function that brings a page to the state to photograph and returns it."""
    def login() -> Any:
        page = person("")
        page.goto(f"{base}/accounts/login/")
        page.wait_for_selector("#id_username")
        return page

    def home() -> Any:
        page = person("dn.security")
        page.goto(f"{base}/")
        settle(page, "#home-tickets li:not(.muted)")
        return page

    def topic() -> Any:
        page = person("dn.security")
        page.goto(f"{base}/topics/an-toan-thong-tin/")
        settle(page, "#messages li.msg")
        page.wait_for_selector("#conn-status[data-state='live']")
        return page

    def alerts() -> Any:
        page = person("dn.security")
        page.goto(f"{base}/alerts/")
        settle(page, "tr[data-alert-id]")
        return page

    def alert() -> Any:
        page = person("dn.security")
        page.goto(f"{base}/alerts/{first_id(page, base, '/api/v1/alerts/awaiting-my-centre')}/")
        settle(page, "#alert-acks tr")
        return page

    def alert_banner() -> Any:
        page = person("dn.security").context.new_page()  # a new tab: nothing collapsed in it yet
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{base}/tickets/")
        settle(page, ".alert-banner.awaiting", collapse=False)
        return page

    def tickets() -> Any:
        page = person("dn.security")
        page.goto(f"{base}/tickets/?view=centre-open")
        settle(page, "#ticket-rows tr[data-ticket-id]")
        return page

    def ticket() -> Any:
        page = person("dn.security")
        page.goto(f"{base}/tickets/{story_ticket(page, base)}/")
        settle(page, "#ticket-timeline li.comment")
        # the story, not the header: the timeline starts at the top of the screen
        page.locator("#h-story").evaluate("e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 8)")
        return page

    def duty() -> Any:
        page = person("dn.security")
        page.goto(f"{base}/duty/")
        settle(page, "#duty-board li.duty-item")
        return page

    def events() -> Any:
        page = person("dn.security")
        page.goto(f"{base}/events/")
        page.wait_for_selector("#events-calendar[data-ready]", state="attached")
        page.click("#events-next")  # the demo's workshop is next month
        settle(page, "#events-calendar [data-event]")
        return page

    def dashboard() -> Any:
        page = person("dn.manager")
        page.goto(f"{base}/dashboard/")
        settle(page, "svg, table")
        return page

    return {"login": login, "home": home, "topic": topic, "alerts": alerts, "alert": alert,
            "alert-banner": alert_banner, "tickets": tickets, "ticket": ticket, "duty": duty, "events": events,
            "dashboard": dashboard}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("HUB_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD") or "hub-demo-2026")
    parser.add_argument("--only", nargs="*", help="names of the shots to take (default: all)")
    args = parser.parse_args(argv)
    base = args.base_url.rstrip("/")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        for phone in (False, True):
            people = People(browser, base, args.password, phone)
            for name, take in shots(base, people.page, phone).items():
                if args.only and name not in args.only:
                    continue
                if phone and name == "alert-banner":
                    continue  # the same banner as on a desktop
                page = take()
                target = out / f"{name}{'-phone' if phone else ''}.png"
                page.screenshot(path=str(target), full_page=False)
                print(target.relative_to(ROOT) if target.is_relative_to(ROOT) else target)
            people.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
