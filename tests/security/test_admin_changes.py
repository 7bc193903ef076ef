"""The admin cannot change what the services own (issue 20): a ticket's status, target or text, or an
alert's TLP, text or status, edited in Django's admin, skipped the history and reached no open page or
stream. Those fields are read-only there (the admin looks up); hub admins change them in the hub,
where every change is recorded and announced. People's changes in the admin do reach their
sockets (tests/security/test_identity_follows_people.py)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(make_user) -> Client:
    client = Client()
    client.force_login(make_user("root", centre=None, role="hub_admin", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def ticket(make_user):
    from requests.services import add_comment, create_ticket

    make_user("dn.engineer", centre="DN")
    ticket = create_ticket(by=make_user("ht.engineer", centre="HT"), title="Cần hỗ trợ", category="software",
                           target_centre="DN")
    add_comment(ticket, by=ticket.requested_by, body="công khai")
    return ticket


@pytest.fixture
def alert(make_user):
    from alerts.services import raise_alert

    make_user("dn.security", centre="DN", role="security_officer")
    return raise_alert(by=make_user("ht.security", centre="HT", role="security_officer"), title="Mã độc",
                       severity="high", tlp="red", shared_with=["DN"],
                       indicators=[{"type": "ipv4", "value": "1.2.3.4"}])


def test_a_tickets_workflow_fields_cannot_be_edited_in_the_admin(admin_browser, ticket):
    from requests.models import Ticket, TicketEvent

    url = f"/admin/support_requests/ticket/{ticket.pk}/change/"
    page = admin_browser.get(url).content.decode()
    for field in ("status", "target_centre", "title", "assignee", "priority", "description"):
        assert f'name="{field}"' not in page, field
    assert 'name="comments-0-body"' not in page  # comments neither
    events = TicketEvent.objects.count()
    admin_browser.post(url, {"status": "closed", "title": "Đổi lén", "target_centre": "", "_save": "Save"})
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.target_centre is not None
    assert (stored.status, stored.title, stored.target_centre.code) == ("new", "Cần hỗ trợ", "DN")
    assert TicketEvent.objects.count() == events


def test_an_alerts_tlp_and_text_cannot_be_edited_in_the_admin(admin_browser, alert):
    from alerts.models import Alert, Indicator

    url = f"/admin/alerts/alert/{alert.pk}/change/"
    page = admin_browser.get(url).content.decode()
    for field in ("tlp", "title", "description", "severity", "status", "shared_with"):
        assert f'name="{field}"' not in page, field
    admin_browser.post(url, {"tlp": "clear", "title": "Đổi lén", "_save": "Save"})
    stored = Alert.objects.get(pk=alert.pk)
    assert (stored.tlp, stored.title) == ("red", "Mã độc")
    indicator = Indicator.objects.get()
    assert 'name="value"' not in admin_browser.get(f"/admin/alerts/indicator/{indicator.pk}/change/").content.decode()


def test_nothing_is_added_behind_the_services_back(admin_browser):
    for url in ("/admin/support_requests/ticket/add/", "/admin/alerts/alert/add/", "/admin/alerts/indicator/add/"):
        assert admin_browser.get(url).status_code == 403, url


def test_a_red_alert_shared_with_no_other_centre_stays_in_the_raising_centre(make_user, api_client):
    """Decided (issue 20): accepted, kept to the raising centre (docs/authorisation.csv's "own" rows),
    and said so to the raiser before it is sent (tests/frontend/test_red_alert_hint.py). Raised outside
    any centre, it would reach nobody: that is refused."""
    raiser = api_client(make_user("ht.security", centre="HT", role="security_officer"))
    outsider = api_client(make_user("dn.security", centre="DN", role="security_officer"))
    colleague = api_client(make_user("ht.manager", centre="HT", role="manager"))
    response = raiser.post("/api/v1/alerts", {"title": "Rò rỉ", "severity": "high", "tlp": "red"},
                           content_type="application/json")
    assert response.status_code == 201
    alert = response.json()
    assert alert["shared_with"] == [] and alert["centre"] == "HT"  # the answer says who: HT alone
    assert colleague.get(f"/api/v1/alerts/{alert['id']}").status_code == 200
    assert outsider.get(f"/api/v1/alerts/{alert['id']}").status_code == 404
    admin = api_client(make_user("root", centre=None, role="hub_admin", is_superuser=True))
    refused = admin.post("/api/v1/alerts", {"title": "Của ai?", "severity": "high", "tlp": "red"},
                         content_type="application/json")
    assert refused.status_code == 400 and refused.json()["error"]["fields"] == ["shared_with"]
