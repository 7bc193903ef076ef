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
    assert client.get("/admin/support_requests/ticketlink/").status_code == 200
    assert client.get("/admin/support_requests/tickettemplate/").status_code == 200
    assert client.get("/admin/support_requests/tickettemplate/add/").status_code == 200


def test_admin_is_closed_to_centre_staff(people, client):
    client.force_login(people.dn_manager)
    assert client.get("/admin/support_requests/ticket/").status_code == 302


def test_the_history_is_append_only_in_the_database_and_read_only_in_the_admin(people, new_ticket, client):
    """A request's history is its record: the database refuses UPDATE and DELETE of its rows through
    the ORM and raw SQL, and the admin neither edits them nor deletes the request that holds them."""
    from django.db import DatabaseError, connection, transaction

    from requests.models import Ticket, TicketEvent

    ticket = new_ticket()
    event = TicketEvent.objects.get(ticket=ticket)
    table = TicketEvent._meta.db_table

    def raw(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])

    for attempt in (lambda: TicketEvent.objects.filter(pk=event.pk).update(note="đã sửa"),
                    lambda: TicketEvent.objects.filter(pk=event.pk).delete(),
                    lambda: raw(f"UPDATE {table} SET note = 'x' WHERE id = %s"),
                    lambda: raw(f"DELETE FROM {table} WHERE id = %s"),
                    Ticket.objects.get(pk=ticket.pk).delete):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert TicketEvent.objects.filter(pk=event.pk, note="").exists()
    people.admin.is_staff = people.admin.is_superuser = True
    people.admin.save()
    client.force_login(people.admin)
    assert client.post(f"/admin/support_requests/ticket/{ticket.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Ticket.objects.filter(pk=ticket.pk).exists()
