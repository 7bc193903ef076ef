"""Attachments: stored through Django's storage under MEDIA_ROOT, limited in size and type, and served
only through the download endpoint to those who may see the ticket (and, for internal notes, the
target centre)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from requests.models import Attachment, TicketEvent

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% bien ban ra soat\n"


def upload(client, ticket, name="bien-ban.pdf", data=PDF, content_type="application/pdf", **extra):
    return client.post(f"/api/v1/tickets/{ticket.pk}/attachments",
                       {"file": SimpleUploadedFile(name, data, content_type=content_type), **extra})


def stored_files(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


def test_an_attachment_is_stored_under_media_root_and_downloaded_by_viewers(people, new_ticket, api_client,
                                                                           media_root):
    ticket = new_ticket()
    response = upload(api_client(people.ht_engineer), ticket, name="Biên bản rà soát.pdf")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["content_type"], body["size"]) == ("Biên bản rà soát.pdf", "application/pdf", len(PDF))
    files = stored_files(media_root)
    assert len(files) == 1 and files[0].read_bytes() == PDF
    assert "Biên bản" not in str(files[0])  # the stored name is ours, not the uploader's
    for viewer in (people.ht_manager, people.dn_engineer, people.admin):
        download = api_client(viewer).get(body["url"])
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == PDF
        assert download["Content-Type"] == "application/pdf"
        assert download["Content-Disposition"].startswith("attachment;")
    event = TicketEvent.objects.filter(ticket=ticket, kind="attachment").get()
    assert event.after == {"attachment": body["id"], "name": "Biên bản rà soát.pdf"}
    detail = api_client(people.dn_engineer).get(f"/api/v1/tickets/{ticket.pk}").json()
    assert [a["id"] for a in detail["attachments"]] == [body["id"]]


def test_attachments_are_never_served_from_media_urls(people, new_ticket, api_client, media_root, client):
    ticket = new_ticket()
    upload(api_client(people.ht_engineer), ticket)
    name = Attachment.objects.get().file.name
    client.force_login(people.ht_engineer)
    assert client.get(f"/media/{name}").status_code == 404


def test_an_unrelated_centre_cannot_download(people, new_ticket, api_client, media_root):
    ticket = new_ticket()
    url = upload(api_client(people.ht_engineer), ticket).json()["url"]
    response = api_client(people.qb_manager).get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # Nor by guessing: an attachment id under a ticket it does not belong to is unknown.
    other = new_ticket(target="QB", by=people.ht_engineer)
    attachment_id = url.rsplit("/", 1)[1]
    assert api_client(people.qb_manager).get(f"/api/v1/tickets/{other.pk}/attachments/{attachment_id}").status_code \
        == 404
    assert api_client(people.qb_manager).post(f"/api/v1/tickets/{ticket.pk}/attachments",
                                              {"file": SimpleUploadedFile("x.pdf", PDF)}).status_code == 404


def test_internal_note_attachments_stay_with_the_target_centre(people, new_ticket, api_client, media_root):
    from requests.services import add_comment

    ticket = new_ticket()
    note = add_comment(ticket, by=people.dn_engineer, body="Nhật ký nội bộ", internal=True)
    response = upload(api_client(people.dn_engineer), ticket, name="log.txt", data=b"10.0.0.5 scan",
                      content_type="text/plain", comment=note.pk)
    assert response.status_code == 201
    body = response.json()
    assert body["internal"] is True and body["comment"] == note.pk
    assert api_client(people.dn_manager).get(body["url"]).status_code == 200
    assert api_client(people.ht_engineer).get(body["url"]).status_code == 404
    ht_detail = api_client(people.ht_engineer).get(f"/api/v1/tickets/{ticket.pk}").json()
    assert ht_detail["attachments"] == [] and "log.txt" not in str(ht_detail)
    dn_detail = api_client(people.dn_engineer).get(f"/api/v1/tickets/{ticket.pk}").json()
    assert [a["name"] for a in dn_detail["comments"][0]["attachments"]] == ["log.txt"]
    # The requesting side cannot hang files on the internal note either.
    assert upload(api_client(people.ht_engineer), ticket, comment=note.pk).status_code == 400


@pytest.mark.parametrize(
    "name, data, status",
    [
        ("big.pdf", b"x" * 1001, 413),
        ("virus.exe", b"MZ", 400),
        ("script.html", b"<script>", 400),
        ("no-extension", b"data", 400),
        ("empty.pdf", b"", 400),
    ],
)
def test_limits_refuse_the_file_and_store_nothing(name, data, status, people, new_ticket, api_client, media_root,
                                                  settings):
    settings.REQUESTS_ATTACHMENT_MAX_BYTES = 1000
    ticket = new_ticket()
    response = upload(api_client(people.ht_engineer), ticket, name=name, data=data,
                      content_type="application/pdf")  # the declared type is not trusted
    assert response.status_code == status
    assert response.json()["error"]["fields"] == ["file"]
    assert Attachment.objects.count() == 0
    assert stored_files(media_root) == []
    assert not TicketEvent.objects.filter(kind="attachment").exists()


def test_a_file_at_the_limit_is_accepted(people, new_ticket, api_client, media_root, settings):
    settings.REQUESTS_ATTACHMENT_MAX_BYTES = 1000
    ticket = new_ticket()
    assert upload(api_client(people.ht_engineer), ticket, data=b"y" * 1000).status_code == 201


def test_no_file_or_a_foreign_comment_is_400(people, new_ticket, api_client, media_root):
    from requests.services import add_comment

    ticket, other = new_ticket(), new_ticket()
    foreign = add_comment(other, by=people.ht_engineer, body="Ở phiếu khác")
    client = api_client(people.ht_engineer)
    assert client.post(f"/api/v1/tickets/{ticket.pk}/attachments", {}).status_code == 400
    assert upload(client, ticket, comment=foreign.pk).status_code == 400
    assert upload(client, ticket, comment="abc").status_code == 400
    assert Attachment.objects.count() == 0 and stored_files(media_root) == []


def test_a_failed_save_leaves_no_file_behind(people, new_ticket, media_root, monkeypatch):
    """If the database write fails after the file was stored, the file is removed again."""
    from hub.errors import CONFLICT, HubError
    from requests import services

    ticket = new_ticket()

    def broken_touch(*args, **kwargs):
        raise HubError(CONFLICT, "simulated conflict while saving")

    monkeypatch.setattr(services, "_touch", broken_touch)
    with pytest.raises(HubError):
        services.add_attachment(ticket, by=people.ht_engineer, upload=SimpleUploadedFile("a.pdf", PDF))
    assert Attachment.objects.count() == 0
    assert stored_files(media_root) == []


def test_an_oversized_upload_is_refused_from_its_length_alone(people, new_ticket, api_client, media_root, settings):
    settings.REQUESTS_ATTACHMENT_MAX_BYTES = 1000
    ticket = new_ticket()
    response = upload(api_client(people.ht_engineer), ticket, data=b"z" * 200_000)
    assert response.status_code == 413
    assert Attachment.objects.count() == 0 and stored_files(media_root) == []


def test_the_schema_describes_the_multipart_upload(people, api_client):
    schema = api_client(people.ht_engineer).get("/api/v1/schema").json()
    body = schema["paths"]["/api/v1/tickets/{ident}/attachments"]["post"]["requestBody"]
    assert body["content"]["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"


def test_logs_are_accepted_as_text_by_the_one_upload_rule_chat_uses_too(people, new_ticket, api_client, media_root):
    """hub.lib.uploads is the rule of both request attachments and files in chat: a `.log` is text."""
    ticket = new_ticket()
    response = upload(api_client(people.ht_engineer), ticket, name="nginx-error.LOG", data=b"upstream timed out",
                      content_type="application/octet-stream")
    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == "text/plain"
    refused = upload(api_client(people.ht_engineer), ticket, name="cai-dat.exe", data=b"MZ")
    assert refused.status_code == 400 and "không chấp nhận" in refused.json()["error"]["detail"]
