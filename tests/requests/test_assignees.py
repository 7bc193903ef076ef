"""GET /api/v1/tickets/{id}/assignees: who the caller may make the assignee (issue 23: assign to any
colleague of the centre, not only "take it")."""

import pytest

from requests import services

pytestmark = pytest.mark.django_db


def names(client, ticket) -> list[str]:
    response = client.get(f"/api/v1/tickets/{ticket.pk}/assignees")
    assert response.status_code == 200
    return sorted(p["username"] for p in response.json())


def test_managers_choose_any_colleague_staff_only_themselves_nobody_when_final(people, new_ticket, api_client):
    ticket = new_ticket(target="DN")
    assert names(api_client(people.dn_manager), ticket) == ["dn.engineer", "dn.manager", "dn.security"]
    assert names(api_client(people.dn_engineer), ticket) == ["dn.engineer"]
    assert names(api_client(people.ht_engineer), ticket) == []  # the requesting side assigns nobody
    services.transition_ticket(ticket, by=people.dn_manager, to="rejected", note="Không thuộc phạm vi")
    assert names(api_client(people.dn_manager), ticket) == []
