"""Who may change or cancel an event is decided from the person's rights now
(events.selectors.may_change): hub admins, and those who may organise (`may_organise`: managers) of
the organising centre. Whoever put the event on the calendar has no right of their own: demoted, or
moved to another centre, they no longer change or cancel it — a cancellation reaches every
registrant and every subscribed calendar."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Event
from events.services import create_event
from hub.models import Centre

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(cast):
    start = timezone.now() + timedelta(days=30)
    return create_event(by=cast.dn_manager, title="Hội thảo ATTT miền Trung", kind="workshop", starts_at=start,
                        ends_at=start + timedelta(hours=8), place="Đà Nẵng")


def test_a_manager_demoted_to_engineer_no_longer_changes_or_cancels_the_centre_s_event(cast, event, api_client):
    cast.dn_manager.role = "engineer"
    cast.dn_manager.save()
    client = api_client(cast.dn_manager)
    assert client.get(f"/api/v1/events/{event.pk}").json()["can_edit"] is False
    response = client.patch(f"/api/v1/events/{event.pk}", {"place": "Huế"}, content_type="application/json")
    assert response.status_code == 403, response.content[:200]
    assert client.post(f"/api/v1/events/{event.pk}/cancel").status_code == 403
    event.refresh_from_db()
    assert (event.place, event.cancelled_at) == ("Đà Nẵng", None)


def test_a_manager_who_moved_centre_no_longer_cancels_the_old_centre_s_event(cast, event, api_client):
    cast.dn_manager.centre = Centre.objects.get(code="HT")  # now a manager of Hà Tĩnh
    cast.dn_manager.save()
    client = api_client(cast.dn_manager)
    assert client.get(f"/api/v1/events/{event.pk}").json()["can_edit"] is False
    assert client.post(f"/api/v1/events/{event.pk}/cancel").status_code == 403
    assert Event.objects.get(pk=event.pk).cancelled_at is None


def test_the_organising_centre_s_managers_and_hub_admins_keep_the_event(cast, make_user, event, api_client):
    cast.dn_manager.role = "engineer"
    cast.dn_manager.save()
    successor = make_user("dn.manager2", centre="DN", role="manager")
    assert api_client(successor).get(f"/api/v1/events/{event.pk}").json()["can_edit"] is True
    assert api_client(cast.admin).get(f"/api/v1/events/{event.pk}").json()["can_edit"] is True
    assert api_client(successor).post(f"/api/v1/events/{event.pk}/cancel").status_code == 200
