"""Links inside user text reach the reader of an email (issue 25 §1: "a link straight to the item").

A message, comment or alert description is HTML made for a page of the hub: a mention links to
`/people/<name>/`, a person may type `[the request](/tickets/7/)` or `[above](#m-1)`. In an email
there is no page to resolve those against, so the mail client sent them nowhere (or to the webmail's
own host). Every such link is now absolute, resolved against the item's own page at the hub's public
URL (HUB_PUBLIC_URL), exactly as the browser would resolve it on that page; links with a scheme stay."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from alerts.services import raise_alert
from chat.services import create_topic, post_message
from hub.lib.rendering import absolute_links
from notify.delivery import run_mail_jobs
from requests.services import add_comment, create_ticket
from tests.alerts.conftest import alert_payload
from tests.notify.conftest import html_part

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 6, 2, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in Hà Nội
HUB = "https://hub.example.vn"


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.HUB_PUBLIC_URL = HUB


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def test_a_mention_email_links_to_the_hub_not_to_nowhere(cast, smtp):
    topic = create_topic(slug="phat-trien-phan-mem", name_vi="Phát triển phần mềm", name_en="Software")
    with time_machine.travel(T0, tick=False) as clock:
        message, _ = post_message(topic, by=cast.ht_engineer,
                                  body="@dn.engineer xem [yêu cầu](/tickets/7/), [tin trên](#m-1) và [tài liệu](https://docs.example.vn/a?x=1&y=2)")
        clock.move_to(T0 + timedelta(minutes=11))
        run_mail_jobs()
    [mail] = smtp.to("dn.engineer@dn.example.vn")
    links = hrefs(html_part(mail))
    assert f"{HUB}/people/dn.engineer/" in links  # the mention
    assert f"{HUB}/tickets/7/" in links  # a root-relative link typed by the author
    assert f"{HUB}/topics/phat-trien-phan-mem/#m-1" in links  # a fragment: on the message's own page
    assert "https://docs.example.vn/a?x=1&amp;y=2" in html_part(mail)  # an absolute link untouched
    assert [link for link in links if not link.startswith(("https://", "http://", "mailto:"))] == []
    assert f"{HUB}/topics/phat-trien-phan-mem/#m-{message.pk}" in links  # the item's own link


def test_a_comment_in_a_request_email_links_to_the_hub(cast, smtp):
    with time_machine.travel(T0, tick=False) as clock:
        ticket = create_ticket(by=cast.ht_engineer, title="Rà soát cổng", category="security", target_centre="DN")
        add_comment(ticket, by=cast.dn_manager, body="Xem @ht.engineer và [yêu cầu cũ](/tickets/3/).")
        clock.move_to(T0 + timedelta(minutes=11))
        run_mail_jobs()
    [mail] = smtp.to("ht.engineer@ht.example.vn")
    links = hrefs(html_part(mail))
    assert f"{HUB}/tickets/3/" in links
    assert [link for link in links if not link.startswith(("https://", "http://", "mailto:"))] == []


def test_an_alert_email_links_to_the_hub(cast, smtp):
    with time_machine.travel(T0, tick=True):
        alert = raise_alert(by=cast.ht_security, **alert_payload(
            severity="critical", description="Giống [cảnh báo trước](/alerts/99/).",
            recommended_actions="Làm theo [hướng dẫn](../huong-dan/)."))
        assert run_mail_jobs()["sent"] >= 1  # the alert's notice expanded, then its emails sent
    [mail] = smtp.to("dn.security@dn.example.vn")
    links = hrefs(html_part(mail))
    assert f"{HUB}/alerts/99/" in links
    assert f"{HUB}/alerts/huong-dan/" in links  # relative to the alert page /alerts/<id>/, as a browser would
    assert f"{HUB}/alerts/{alert.pk}/" in links
    assert [link for link in links if not link.startswith(("https://", "http://", "mailto:"))] == []


@pytest.mark.parametrize(("html", "expected"), [
    ('<a href="/people/an/">@an</a>', f'<a href="{HUB}/people/an/">@an</a>'),
    ('<a href="#m-3">x</a>', f'<a href="{HUB}/topics/t/#m-3">x</a>'),
    ('<a href="/a?b=1&amp;c=2">x</a>', f'<a href="{HUB}/a?b=1&amp;c=2">x</a>'),
    ('<a href="mailto:an@example.vn">x</a>', '<a href="mailto:an@example.vn">x</a>'),
    ('<a href="https://x.example/">x</a>', '<a href="https://x.example/">x</a>'),
    ('<p>a href="/not-a-link/"</p>', '<p>a href="/not-a-link/"</p>'),  # text, not an attribute
])
def test_absolute_links_resolves_like_a_browser_on_the_items_page(html, expected):
    assert absolute_links(html, f"{HUB}/topics/t/#m-9") == expected
