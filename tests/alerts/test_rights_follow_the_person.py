"""Who may change an alert is decided from the person's centre and role now, never kept from the day
they raised it (alerts.selectors.can_change_status). The raiser counts only while still of the
raising centre and still one who may raise (`may_raise`): a security officer of Hà Tĩnh who moves
to Đà Nẵng no longer re-marks Hà Tĩnh's TLP:AMBER alert CLEAR (which would reach every engineer of
every centre), and one demoted to engineer no longer closes the alerts they raised."""

from __future__ import annotations

import pytest

from alerts.models import Alert
from hub.models import Centre
from tests.alerts.conftest import raise_as

pytestmark = pytest.mark.django_db


def test_the_raiser_still_a_security_officer_of_the_raising_centre_changes_the_alert(cast, api_client):
    alert = raise_as(cast.ht_security, tlp="amber")
    client = api_client(cast.ht_security)
    assert client.get(f"/api/v1/alerts/{alert.pk}").json()["viewer"]["can_change_status"] is True
    response = client.patch(f"/api/v1/alerts/{alert.pk}", {"tlp": "green", "note": "đã công bố"},
                            content_type="application/json")
    assert response.status_code == 200, response.content[:200]
    assert Alert.objects.get(pk=alert.pk).tlp == "green"


def test_a_raiser_who_moved_to_another_centre_no_longer_re_marks_the_old_centre_s_alert(cast, api_client):
    alert = raise_as(cast.ht_security, tlp="amber")
    raiser = cast.ht_security
    raiser.centre = Centre.objects.get(code="DN")  # moved to Đà Nẵng, still a security officer
    raiser.save()
    client = api_client(raiser)
    assert client.get(f"/api/v1/alerts/{alert.pk}").json()["viewer"]["can_change_status"] is False
    response = client.patch(f"/api/v1/alerts/{alert.pk}", {"tlp": "clear", "note": "công khai"},
                            content_type="application/json")
    assert response.status_code == 403, response.content[:200]
    response = client.post(f"/api/v1/alerts/{alert.pk}/status", {"to": "closed"}, content_type="application/json")
    assert response.status_code == 403, response.content[:200]
    alert.refresh_from_db()
    assert (alert.tlp, alert.status) == ("amber", "open")


def test_a_raiser_demoted_to_engineer_no_longer_closes_or_edits_the_alert(cast, api_client):
    alert = raise_as(cast.ht_security, tlp="green")  # engineers read it too
    raiser = cast.ht_security
    raiser.role = "engineer"
    raiser.save()
    client = api_client(raiser)
    assert client.get(f"/api/v1/alerts/{alert.pk}").json()["viewer"]["can_change_status"] is False
    response = client.post(f"/api/v1/alerts/{alert.pk}/status", {"to": "closed"}, content_type="application/json")
    assert response.status_code == 403, response.content[:200]
    response = client.patch(f"/api/v1/alerts/{alert.pk}", {"severity": "low", "note": "nhẹ thôi"},
                            content_type="application/json")
    assert response.status_code == 403, response.content[:200]
    alert.refresh_from_db()
    assert (alert.status, alert.severity) == ("open", "high")


def test_the_raising_centre_keeps_the_alert_whoever_raised_it(cast, api_client):
    """The right is the centre's: its manager closes the alert its former officer raised."""
    alert = raise_as(cast.ht_security, tlp="amber")
    cast.ht_security.centre = Centre.objects.get(code="DN")
    cast.ht_security.save()
    response = api_client(cast.ht_manager).post(f"/api/v1/alerts/{alert.pk}/status", {"to": "closed"},
                                                content_type="application/json")
    assert response.status_code == 200, response.content[:200]


def test_an_entry_s_author_demoted_to_engineer_is_no_longer_offered_its_correction(cast, api_client):
    """`can_correct` on the page follows the same rule as the server: the author of a note corrects it
    only while they may still write on the record (a security officer or manager of a receiving
    centre, or the alert's own side)."""
    alert = raise_as(cast.ht_security, tlp="green")  # engineers read it too
    responder = cast.dn_security
    note = api_client(responder).post(f"/api/v1/alerts/{alert.pk}/entries", {"text": "Đà Nẵng thấy IP này."},
                                      content_type="application/json").json()

    def offered(person) -> bool:
        detail = api_client(person).get(f"/api/v1/alerts/{alert.pk}").json()
        return next(e for e in detail["entries"] if e["id"] == note["id"])["can_correct"]

    assert offered(responder) is True
    responder.role = "engineer"
    responder.save()
    assert offered(responder) is False
    response = api_client(responder).post(f"/api/v1/alerts/{alert.pk}/entries",
                                          {"text": "Đính chính", "corrects": note["id"]},
                                          content_type="application/json")
    assert response.status_code == 403
    assert offered(cast.ht_security) is True  # the alert's own side still corrects it
