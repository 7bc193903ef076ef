"""Merging a duplicate request into another (`POST /api/v1/tickets/{id}/merge`, issue 26 §4).

The world: HT and QB both ask DN about the same problem; DN, which handles both, merges QB's
request (the duplicate) into HT's (the survivor). The duplicate becomes a read-only pointer
(`merged_into`, every write 409, its page redirects); the survivor takes its watchers and the earlier
due time and shows its comments, files and history — each only to those who may read it on the
duplicate; both histories record the merge; both centres hear of it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from notify.models import Notification
from requests import services
from requests.models import Comment, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def pair(people, new_ticket):
    """(duplicate QB → DN, survivor HT → DN), DN has accepted the survivor."""
    survivor = new_ticket(target="DN", by=people.ht_engineer, title="Cổng dịch vụ công bị lỗi chứng thư số")
    services.transition_ticket(survivor, by=people.dn_engineer, to="accepted")
    duplicate = new_ticket(target="DN", by=people.qb_engineer, title="Lỗi chứng thư số trên cổng dịch vụ công",
                           priority="urgent")
    return duplicate, survivor


def merge(client, duplicate, into, **extra):
    return client.post(f"/api/v1/tickets/{duplicate.pk}/merge", {"into": into, **extra}, content_type=JSON)


def test_merging_answers_the_survivor_and_leaves_a_read_only_pointer(people, pair, api_client, media_root):
    duplicate, survivor = pair
    services.add_comment(duplicate, by=people.qb_engineer, body="Ảnh chụp lỗi đính kèm")
    dn = api_client(people.dn_engineer)
    response = merge(dn, duplicate, survivor.reference)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == survivor.pk and body["merged_into"] is None
    assert [m["reference"] for m in body["merged_from"]] == [duplicate.reference]
    assert [c["body"] for c in body["merged_from"][0]["comments"]] == ["Ảnh chụp lỗi đính kèm"]

    qb = api_client(people.qb_engineer)
    pointer = qb.get(f"/api/v1/tickets/{duplicate.pk}").json()
    assert pointer["merged_into"] == survivor.pk and pointer["status"] == "merged"
    assert pointer["allowed_transitions"] == []

    # No more writes of any kind: 409 naming the survivor, and nothing stored.
    events = TicketEvent.objects.filter(ticket=duplicate).count()
    writes = [
        qb.post(f"/api/v1/tickets/{duplicate.pk}/comments", {"body": "còn lỗi"}, content_type=JSON),
        qb.patch(f"/api/v1/tickets/{duplicate.pk}", {"title": "Đổi tên"}, content_type=JSON),
        dn.post(f"/api/v1/tickets/{duplicate.pk}/transition", {"to": "accepted"}, content_type=JSON),
        api_client(people.dn_manager).post(f"/api/v1/tickets/{duplicate.pk}/assign", {"username": "dn.engineer"},
                                           content_type=JSON),
        qb.post(f"/api/v1/tickets/{duplicate.pk}/watchers", {"username": "qb.manager"}, content_type=JSON),
        qb.delete(f"/api/v1/tickets/{duplicate.pk}/watchers/me"),
        qb.post(f"/api/v1/tickets/{duplicate.pk}/attachments",
                {"file": SimpleUploadedFile("log.txt", b"x", content_type="text/plain")}),
        qb.post(f"/api/v1/tickets/{duplicate.pk}/links", {"kind": "related_to", "ticket": survivor.reference},
                content_type=JSON),
        merge(dn, duplicate, survivor.pk),
    ]
    for reply in writes:
        assert reply.status_code == 409, reply.content
        assert reply.json()["error"]["merged_into"] == survivor.pk
        assert survivor.reference in reply.json()["error"]["detail"]
    assert TicketEvent.objects.filter(ticket=duplicate).count() == events
    assert Comment.objects.filter(ticket=duplicate).count() == 1


def test_both_histories_record_it_and_the_survivor_takes_watchers_and_the_earlier_clock(people, pair, api_client):
    duplicate, survivor = pair
    services.add_watcher(duplicate, by=people.qb_engineer, username="qb.manager")
    assert duplicate.due_at < survivor.due_at  # urgent: due sooner
    merge(api_client(people.dn_manager), duplicate, survivor.pk)

    survivor.refresh_from_db()
    # The earliest SLA clock (requests.sla.take_earliest): both due times of the urgent duplicate.
    assert survivor.due_at == duplicate.due_at
    assert survivor.first_response_due == duplicate.first_response_due
    assert Ticket.objects.get(pk=duplicate.pk).sla_paused_at is not None  # the duplicate's clock stopped
    assert set(survivor.watchers.values_list("username", flat=True)) == {
        "ht.engineer", "qb.engineer", "qb.manager"}
    taken = TicketEvent.objects.get(ticket=survivor, kind="merged_from")
    assert isinstance(taken.after, dict)
    assert taken.actor_id == people.dn_manager.pk
    assert taken.after["ticket"] == duplicate.pk and taken.after["reference"] == duplicate.reference
    assert sorted(taken.after["watchers"]) == ["qb.engineer", "qb.manager"]
    assert set(TicketEvent.objects.filter(ticket=survivor, kind="field").values_list("field", flat=True)) >= {
        "due_at", "first_response_due"}
    gone = TicketEvent.objects.get(ticket=duplicate, kind="merged")
    assert isinstance(gone.after, dict)
    assert gone.before == "new" and gone.after["ticket"] == survivor.pk
    # The duplicate's own history is untouched, and shown with the survivor.
    kinds = [e["kind"] for e in api_client(people.dn_engineer).get(
        f"/api/v1/tickets/{survivor.pk}").json()["merged_from"][0]["history"]]
    assert kinds[0] == "created" and kinds[-1] == "merged"


def test_internal_notes_stay_with_their_centre_and_merging_never_widens_readers(people, pair, api_client):
    duplicate, survivor = pair
    services.add_comment(duplicate, by=people.dn_engineer, body="Nội bộ DN: đã biết nguyên nhân", internal=True)
    services.add_comment(duplicate, by=people.qb_engineer, body="Chỉ QB đọc", shared_with=[])
    services.add_comment(duplicate, by=people.qb_engineer, body="Công khai")
    merge(api_client(people.dn_engineer), duplicate, survivor.pk)

    def merged_comments(user) -> list[str]:
        body = api_client(user).get(f"/api/v1/tickets/{survivor.pk}").json()
        return [c["body"] for m in body["merged_from"] for c in m["comments"]]

    assert merged_comments(people.dn_manager) == ["Nội bộ DN: đã biết nguyên nhân", "Công khai"]
    # HT reads the survivor but never could read QB's request: none of it reaches HT.
    assert merged_comments(people.ht_engineer) == []
    # QB's requester now watches the survivor: it reads its own request's public items there, never DN's note.
    assert merged_comments(people.qb_engineer) == ["Chỉ QB đọc", "Công khai"]
    assert merged_comments(people.admin) == ["Nội bộ DN: đã biết nguyên nhân", "Chỉ QB đọc", "Công khai"]


def test_a_party_only_survivor_takes_no_watchers_from_outside_its_two_centres(people, new_ticket, api_client):
    survivor = new_ticket(target="DN", by=people.ht_engineer, tlp="red")
    duplicate = new_ticket(target="DN", by=people.qb_engineer)
    response = merge(api_client(people.dn_engineer), duplicate, survivor.pk)
    assert response.status_code == 200
    assert set(survivor.watchers.values_list("username", flat=True)) == {"ht.engineer"}
    taken = TicketEvent.objects.get(ticket=survivor, kind="merged_from").after
    assert isinstance(taken, dict) and taken["watchers_left_out"] == ["qb.engineer"]
    # QB may not read the RED survivor, and the pointer does not change that.
    assert api_client(people.qb_engineer).get(f"/api/v1/tickets/{survivor.pk}").status_code == 404
    assert api_client(people.qb_engineer).get(f"/api/v1/tickets/{duplicate.pk}").json()["merged_into"] == survivor.pk


@pytest.mark.parametrize(("who", "status"), [
    ("ht_engineer", 403),  # the survivor's requester does not handle it
    ("qb_engineer", 400),  # cannot even see the survivor: the same answer as one that does not exist
    ("qb_manager", 400),
])
def test_only_the_centre_handling_the_survivor_merges(who, status, people, pair, api_client):
    duplicate, survivor = pair
    if who == "ht_engineer":  # a duplicate HT can see too: HT still does not handle the survivor
        duplicate = services.create_ticket(by=people.ht_manager, title="Trùng", category="security", target_centre="DN")
    response = merge(api_client(getattr(people, who)), duplicate, survivor.pk)
    assert response.status_code == status, response.json()
    assert Ticket.objects.get(pk=duplicate.pk).merged_into_id is None


def test_refused_merges_change_nothing(people, pair, new_ticket, api_client):
    duplicate, survivor = pair
    dn = api_client(people.dn_engineer)
    assert merge(dn, duplicate, duplicate.pk).status_code == 400
    assert merge(dn, duplicate, 999999).json()["error"]["fields"] == ["into"]
    elsewhere = new_ticket(target="QB", by=people.ht_engineer)
    assert merge(api_client(people.admin), elsewhere, survivor.pk).status_code == 403  # handled by another centre
    assert merge(dn, duplicate, survivor.pk, version=99).status_code == 409  # stale
    services.transition_ticket(survivor, by=people.dn_engineer, to="in_progress")
    services.transition_ticket(survivor, by=people.dn_engineer, to="resolved")
    services.transition_ticket(survivor, by=people.ht_engineer, to="closed")
    assert merge(dn, duplicate, survivor.pk).status_code == 409  # only open requests
    assert not TicketEvent.objects.filter(kind__in=["merged", "merged_from"]).exists()
    # Into a request that was itself merged: 409 naming where it went.
    third = new_ticket(target="DN", by=people.qb_manager)
    assert merge(dn, third, duplicate.pk).status_code == 200
    reply = merge(dn, new_ticket(target="DN", by=people.qb_manager), third.pk)
    assert reply.status_code == 409 and reply.json()["error"]["merged_into"] == duplicate.pk


def test_the_duplicates_page_redirects_to_the_survivor(people, pair, api_client):
    duplicate, survivor = pair
    merge(api_client(people.dn_engineer), duplicate, survivor.pk)
    browser = Client()
    browser.force_login(people.qb_engineer)
    response = browser.get(f"/tickets/{duplicate.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{survivor.pk}/?merged_from={duplicate.pk}"


def test_both_centres_are_notified(people, pair, api_client):
    duplicate, survivor = pair
    merge(api_client(people.dn_engineer), duplicate, survivor.pk)
    told = {(n.user.username, n.ticket_id, n.verb) for n in Notification.objects.filter(
        verb__in=["merged", "merged_from"]).select_related("user")}
    assert ("qb.engineer", duplicate.pk, "merged") in told
    assert ("ht.engineer", survivor.pk, "merged_from") in told


def test_the_merge_endpoint_is_in_the_schema(people, api_client):
    schema = api_client(people.ht_engineer).get("/api/v1/schema")
    paths = schema.json()["paths"]
    assert "/api/v1/tickets/{ident}/merge" in paths
    assert "merged_into" in schema.json()["components"]["schemas"]["TicketSummaryOut"]["properties"]


def test_a_merge_keeps_an_already_earlier_clock(people, pair, api_client):
    duplicate, survivor = pair
    Ticket.objects.filter(pk=duplicate.pk).update(due_at=timezone.now() + timedelta(days=30))
    due = Ticket.objects.get(pk=survivor.pk).due_at
    merge(api_client(people.dn_engineer), duplicate, survivor.pk)
    assert Ticket.objects.get(pk=survivor.pk).due_at == due
    assert not TicketEvent.objects.filter(ticket=survivor, field="due_at").exists()


def test_a_duplicate_still_open_to_any_centre_is_merged_by_the_centre_handling_the_survivor(people, pair, new_ticket,
                                                                                            api_client):
    _, survivor = pair
    duplicate = new_ticket(target=None, by=people.qb_engineer)
    dn = api_client(people.dn_engineer)
    assert dn.get(f"/api/v1/tickets/{duplicate.pk}").json()["permissions"]["merge"] is True
    assert api_client(people.qb_engineer).get(f"/api/v1/tickets/{duplicate.pk}").json()["permissions"]["merge"] is False
    assert merge(dn, duplicate, survivor.pk).status_code == 200
    assert Ticket.objects.get(pk=duplicate.pk).merged_into_id == survivor.pk
