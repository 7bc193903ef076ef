"""The Django admin lists and shows tickets (with their read-only history) for hub admins."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_admin_pages_render(people, new_ticket, client):
    from requests.services import add_comment

    ticket = new_ticket()
    add_comment(ticket, by=people.dn_engineer, body="Ghi chú nội bộ", internal=True)
    people.admin.is_staff = people.admin.is_superuser = True
    people.admin.save()
    client.force_login(people.admin)
    listing = client.get("/admin/support_requests/ticket/?status__exact=new")
    assert listing.status_code == 200 and ticket.reference in listing.content.decode()
    page = client.get(f"/admin/support_requests/ticket/{ticket.pk}/change/")
    assert page.status_code == 200
    assert "Ghi chú nội bộ" in page.content.decode()
    assert client.get("/admin/support_requests/ticketsequence/").status_code == 200


def test_admin_is_closed_to_centre_staff(people, client):
    client.force_login(people.dn_manager)
    assert client.get("/admin/support_requests/ticket/").status_code == 302
