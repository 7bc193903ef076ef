"""Escalation through the duty roster (an unacknowledged alert reaches the deputy on duty, then the
centre's managers, each step a timeline entry), the roster's staff list, the private calendar feed
and the duty page."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
import time_machine
from django.test import Client

from alerts.models import AlertEvent, Escalation
from alerts.services import escalate_due_alerts, raise_alert
from duty import services
from hub.models import Centre
from tests.duty.conftest import local

pytestmark = pytest.mark.django_db

T0 = local(2026, 3, 2, 9, 0)


def roster(cast, start=T0 - timedelta(hours=1), deputy="ht.security2"):
    return services.create_shift(Centre.objects.get(code="HT"), by=cast.ht_manager, starts_at=start,
                                 ends_at=start + timedelta(hours=24), officer="ht.security", deputy=deputy)


def raise_critical(cast):
    return raise_alert(by=cast.dn_security, title="Tấn công dò mật khẩu", severity="critical", tlp="green",
                       description="Nhiều lần đăng nhập sai.", indicators=[], affected_systems=[])


def timeline(alert, centre="HT"):
    entries = AlertEvent.objects.filter(alert=alert, kind="escalated", centre__code=centre).order_by("at")
    return [(e.after, (e.data or {})["to"], (e.data or {})["notified"]) for e in entries]


def test_an_unacknowledged_alert_goes_to_the_deputy_then_to_the_managers(cast):
    roster(cast)
    with time_machine.travel(T0, tick=False) as clock:
        alert = raise_critical(cast)
        clock.move_to(T0 + timedelta(minutes=5))
        escalate_due_alerts()
        assert timeline(alert) == [("step 1", "deputy", ["ht.security2"])]
        clock.move_to(T0 + timedelta(minutes=10))
        escalate_due_alerts()
        assert timeline(alert) == [("step 1", "deputy", ["ht.security2"]),
                                   ("step 2", "managers", ["ht.manager"])]
    assert Escalation.objects.filter(alert=alert, centre__code="HT").count() == 2


def test_without_a_deputy_on_duty_the_first_step_goes_to_the_managers(cast):
    roster(cast, deputy=None)
    with time_machine.travel(T0, tick=False) as clock:
        alert = raise_critical(cast)
        clock.move_to(T0 + timedelta(minutes=5))
        escalate_due_alerts()
    assert timeline(alert) == [("step 1", "managers", ["ht.manager"])]
    # A centre with no roster at all (DN raised it; HT's neighbours) is escalated as before: managers.


@pytest.mark.parametrize("change", ["role", "centre", "active"])
def test_a_deputy_who_may_no_longer_stand_the_shift_is_passed_over_for_the_managers(cast, change):
    """The roster was made earlier; who is reached is decided when the step falls due
    (duty.selectors.standing_deputy: active, of that centre, a duty role — the staff list's rule)."""
    roster(cast)
    deputy = cast.ht_security2
    if change == "role":
        deputy.role = "engineer"
    elif change == "centre":
        deputy.centre = cast.dn_manager.centre
    else:
        deputy.is_active = False
    deputy.save()
    with time_machine.travel(T0, tick=False) as clock:
        alert = raise_critical(cast)
        clock.move_to(T0 + timedelta(minutes=5))
        escalate_due_alerts()
    assert timeline(alert) == [("step 1", "managers", ["ht.manager"])]


def test_the_staff_list_names_who_may_stand_a_shift(cast, api_client):
    response = api_client(cast.ht_manager).get("/api/v1/centres/HT/roster/staff")
    assert response.status_code == 200
    assert {p["username"] for p in response.json()} == {"ht.manager", "ht.security", "ht.security2"}
    assert api_client(cast.ht_manager).get("/api/v1/centres/XX/roster/staff").status_code == 404


def test_the_private_feed_serves_the_roster_until_it_is_reset(cast, api_client):
    roster(cast)
    manager = api_client(cast.ht_manager)
    url = manager.get("/api/v1/centres/HT/roster/feed").json()["url"]
    path = url.split("testserver", 1)[1]
    anonymous = Client()
    with time_machine.travel(T0, tick=False):
        response = anonymous.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = list(icalendar.Calendar.from_ical(response.content).walk("VEVENT"))
    assert [str(e["x-hub-officer"]) for e in events] == ["ht.security"]
    new = manager.post("/api/v1/centres/HT/roster/feed/reset").json()["url"]
    assert new != url
    assert anonymous.get(path).status_code == 404
    assert anonymous.get("/calendar/not-a-token.ics").status_code == 404
    # The security officer may not see the address.
    assert api_client(cast.ht_security).get("/api/v1/centres/HT/roster/feed").status_code == 403


def test_the_duty_page_shows_the_confirm_button_to_the_officer_on_duty_only(cast, client, api_client):
    """The card is in every duty page, hidden; the server's answer (`GET /api/v1/duty/mine`) shows it
    to the officer of the shift covering now (or starting within the early window) and to nobody else,
    and says when to ask again (docs/duty.md)."""
    roster(cast, start=local(2026, 3, 2, 7, 30))
    later = services.create_shift(Centre.objects.get(code="HT"), by=cast.ht_manager,
                                  starts_at=local(2026, 3, 4, 7, 30), ends_at=local(2026, 3, 5, 7, 30),
                                  officer="ht.security")
    with time_machine.travel(T0, tick=False):
        client.force_login(cast.ht_security)
        page = client.get("/duty/").content.decode()
        assert 'data-testid="confirm-duty"' in page and 'id="my-duty"' in page
        assert 'id="shift-form"' not in page  # officers do not edit the roster
        mine = api_client(cast.ht_security).get("/api/v1/duty/mine").json()
        assert mine["shift"]["officer"]["username"] == "ht.security"
        assert (mine["duty"]["centre"], mine["duty"]["state"]) == ("HT", "unconfirmed")
        assert mine["next_change"].startswith("2026-03-03T00:30:00")  # this shift's end (07:30 local)
        client.force_login(cast.ht_manager)
        page = client.get("/duty/").content.decode()
        assert 'id="shift-form"' in page
        assert api_client(cast.ht_manager).get("/api/v1/duty/mine").json() == {
            "shift": None, "duty": None, "next_change": None, "now": mine["now"]}
    # Between the two shifts: no card; it is due when the next one becomes confirmable (30 min early).
    with time_machine.travel(local(2026, 3, 3, 12, 0), tick=False):
        mine = api_client(cast.ht_security).get("/api/v1/duty/mine").json()
        assert mine["shift"] is None
        assert mine["next_change"].startswith("2026-03-04T00:00:00")  # 07:00 local, 30 min before 07:30
    with time_machine.travel(local(2026, 3, 4, 7, 0), tick=False):
        assert api_client(cast.ht_security).get("/api/v1/duty/mine").json()["shift"]["id"] == later.pk
    with time_machine.travel(T0, tick=False):
        assert client.get("/duty/DN/").status_code == 200
        assert client.get("/duty/ZZ/").status_code == 404
