"""Internal comments, attachments and history events belong to the centre that wrote them, for ever
(issue 20, class 3). The review: HT asked DN; DN wrote an internal note; HT redirected the still-new
ticket to NA; NA then read DN's note and its history event. Now a redirect never widens who reads
them — through the ticket API, the page, live frames, exports or search — and DN's notes stay DN's
(a DN watcher still reads them; NA never does)."""

from __future__ import annotations

import importlib

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client

from tests.conftest import token_for

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "ghichu-noibo-5d1e"  # ASCII: found however the page or file encodes text


@pytest.fixture
def redirected(make_user, settings, tmp_path):
    """HT asks DN; DN writes an internal note with a file; HT redirects the ticket to NA."""
    from requests.services import add_attachment, add_comment, create_ticket, update_ticket

    settings.MEDIA_ROOT = tmp_path / "media"
    people = {
        "ht": make_user("ht.engineer", centre="HT"),
        "dn": make_user("dn.engineer", centre="DN"),
        "dn_watcher": make_user("dn.manager", centre="DN", role="manager"),
        "na": make_user("na.engineer", centre="NA"),
        "na_manager": make_user("na.manager", centre="NA", role="manager"),
        "admin": make_user("root", centre=None, role="hub_admin", is_superuser=True),
    }
    ticket = create_ticket(by=people["ht"], title="Hỗ trợ rà soát", category="security", target_centre="DN")
    note = add_comment(ticket, by=people["dn"], body=f"nội bộ {SECRET}", internal=True)
    add_attachment(ticket, by=people["dn"], upload=SimpleUploadedFile("nhat-ky.txt", SECRET.encode(), "text/plain"),
                   comment_id=note.pk)
    from requests.services import add_watcher

    add_watcher(ticket, by=people["dn"], username="dn.manager")  # a DN colleague who still follows the ticket
    ticket = update_ticket(ticket, by=people["ht"], changes={"target_centre": "NA"})
    return {"ticket": ticket, "note": note, **people}


def api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token_for(user)}")


def browse(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_new_target_reads_none_of_the_old_targets_internal_items(redirected):
    detail = api(redirected["na"]).get(f"/api/v1/tickets/{redirected['ticket'].pk}")
    assert detail.status_code == 200
    body = detail.json()
    assert SECRET not in detail.content.decode()
    assert not any(item["internal"] for key in ("comments", "attachments", "history") for item in body[key])
    # … though they write internal notes of their own now.
    assert body["permissions"]["comment_internally"] is True


def test_the_old_internal_file_is_not_downloadable_by_the_new_target(redirected):
    from requests.models import Attachment

    attachment = Attachment.objects.get(internal=True)
    url = f"/api/v1/tickets/{redirected['ticket'].pk}/attachments/{attachment.pk}"
    assert api(redirected["na"]).get(url).status_code == 404
    assert api(redirected["dn_watcher"]).get(url).status_code == 200  # DN's file stays DN's
    assert api(redirected["admin"]).get(url).status_code == 200


def test_the_writing_centre_still_reads_its_notes_where_it_still_sees_the_ticket(redirected):
    body = api(redirected["dn_watcher"]).get(f"/api/v1/tickets/{redirected['ticket'].pk}").json()
    assert [c["body"] for c in body["comments"] if c["internal"]] == [f"nội bộ {SECRET}"]
    assert any(e["internal"] for e in body["history"])
    # … but the requester never did, and does not now.
    requester = api(redirected["ht"]).get(f"/api/v1/tickets/{redirected['ticket'].pk}")
    assert SECRET not in requester.content.decode()


def test_new_internal_notes_belong_to_the_new_target_and_not_to_the_old(redirected):
    from requests.services import add_comment

    add_comment(redirected["ticket"], by=redirected["na"], body="ghi chú của NA", internal=True)
    na_view = api(redirected["na_manager"]).get(f"/api/v1/tickets/{redirected['ticket'].pk}").json()
    dn_view = api(redirected["dn_watcher"]).get(f"/api/v1/tickets/{redirected['ticket'].pk}").json()
    assert [c["body"] for c in na_view["comments"] if c["internal"]] == ["ghi chú của NA"]
    assert [c["body"] for c in dn_view["comments"] if c["internal"]] == [f"nội bộ {SECRET}"]


@pytest.mark.parametrize("path", ["/tickets/{id}/", "/tickets/export.csv", "/tickets/export.xlsx",
                                  "/api/v1/tickets?q=" + SECRET, "/api/v1/search?q=" + SECRET, "/api/v1/tickets",
                                  "/api/v1/notifications"])
def test_no_other_read_path_shows_them_to_the_new_target(redirected, path):
    response = browse(redirected["na"]).get(path.format(id=redirected["ticket"].pk))
    assert isinstance(response, (HttpResponse, StreamingHttpResponse))
    content = response.getvalue()  # the streamed exports' too
    assert response.status_code == 200
    assert SECRET.encode() not in content


async def test_live_frames_of_internal_items_go_to_their_own_centre_only(redirected):
    """After the redirect NA writes an internal note: NA's stream gets its frame; DN's watcher, who
    still follows the ticket, gets the ticket's public frames but not NA's internal one."""
    from requests.services import add_comment
    from tests.security.test_identity_follows_people import notifications

    na_stream = await notifications(redirected["na_manager"])
    dn_stream = await notifications(redirected["dn_watcher"])
    await sync_to_async(add_comment)(redirected["ticket"], by=redirected["na"], body="nội bộ NA", internal=True)
    await sync_to_async(add_comment)(redirected["ticket"], by=redirected["na"], body="công khai", internal=False)
    na_frames = [await na_stream.receive_json_from(timeout=5) for _ in range(2)]
    dn_frame = await dn_stream.receive_json_from(timeout=5)
    assert [f["comment"]["body"] for f in na_frames] == ["nội bộ NA", "công khai"]
    assert dn_frame["comment"]["body"] == "công khai"  # the internal one never reached DN
    assert await dn_stream.receive_nothing(timeout=0.3)
    await na_stream.disconnect()
    await dn_stream.disconnect()


def test_existing_internal_rows_are_given_the_centre_they_were_written_for(make_user):
    """The migration's backfill: from the ticket's own history, the target when each was written. The
    history is append-only in the database, so the migration lifts the guard for it and puts it back."""
    from django.apps import apps
    from django.db import DatabaseError, connection, transaction

    from requests.models import Comment, TicketEvent
    from requests.services import add_comment, create_ticket, update_ticket

    ht, dn, na = make_user("ht.e", centre="HT"), make_user("dn.e", centre="DN"), make_user("na.e", centre="NA")
    ticket = create_ticket(by=ht, title="Cũ", category="other", target_centre="DN")
    old = add_comment(ticket, by=dn, body="của DN", internal=True)
    ticket = update_ticket(ticket, by=ht, changes={"target_centre": "NA"})
    new = add_comment(ticket, by=na, body="của NA", internal=True)
    # As the rows were before the migration: comments without their centre, and history lines
    # written then (inserted: the history takes no UPDATE).
    Comment.objects.update(internal_to=None)
    old_line = TicketEvent.objects.create(ticket=ticket, actor=dn, kind="comment", internal=True,
                                          after={"comment": old.pk}, created_at=old.created_at)
    new_line = TicketEvent.objects.create(ticket=ticket, actor=na, kind="comment", internal=True,
                                          after={"comment": new.pk}, created_at=new.created_at)

    migration = importlib.import_module("requests.migrations.0004_internal_items_belong_to_a_centre")
    with connection.schema_editor() as editor:
        migration._GUARD.reverse_code(apps, editor)
        migration.backfill(apps, editor)
        migration._GUARD.code(apps, editor)

    assert Comment.objects.filter(pk=old.pk).values_list("internal_to__code", flat=True).get() == "DN"
    assert Comment.objects.filter(pk=new.pk).values_list("internal_to__code", flat=True).get() == "NA"
    assert TicketEvent.objects.filter(pk=old_line.pk).values_list("internal_to__code", flat=True).get() == "DN"
    assert TicketEvent.objects.filter(pk=new_line.pk).values_list("internal_to__code", flat=True).get() == "NA"
    assert not TicketEvent.objects.filter(internal=False, internal_to__isnull=False).exists()
    with pytest.raises(DatabaseError), transaction.atomic():  # the guard is back
        TicketEvent.objects.filter(pk=old_line.pk).update(note="sửa lén")
