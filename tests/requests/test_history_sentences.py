"""A request's history reads as sentences in the viewer's language, with people's and centres' names
and translated labels — never raw JSON or usernames (issue 23)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from requests import services

pytestmark = pytest.mark.django_db


def texts(client, ticket, language: str) -> list[str]:
    client.cookies["django_language"] = language
    return [e["text"] for e in client.get(f"/api/v1/tickets/{ticket.pk}").json()["history"]]


def test_every_history_entry_is_a_sentence_with_names_and_labels(people, new_ticket, api_client, media_root):
    for user, name in ((people.ht_engineer, "Lan"), (people.dn_manager, "Bình"), (people.dn_engineer, "Minh"),
                       (people.dn_security, "Châu")):
        user.display_name = name
        user.save()
    ticket = new_ticket(target="DN", priority="high")
    services.update_ticket(ticket, by=people.ht_engineer, changes={"category": "software"})
    services.transition_ticket(ticket, by=people.dn_manager, to="accepted")
    services.assign_ticket(ticket, by=people.dn_manager, username="dn.engineer")
    services.add_watcher(ticket, by=people.dn_engineer, username="dn.security")
    comment = services.add_comment(ticket, by=people.ht_engineer, body="Log đính kèm")
    upload = SimpleUploadedFile("nhat-ky.txt", b"log line\n", content_type="text/plain")
    services.add_attachment(ticket, by=people.ht_engineer, upload=upload,
                            comment_id=comment.pk)
    services.transition_ticket(ticket, by=people.dn_engineer, to="in_progress")
    services.transition_ticket(ticket, by=people.dn_engineer, to="resolved", note="Đã vá")
    client = api_client(people.dn_manager)
    ht, dn_manager, dn_engineer = "Lan", "Bình", "Minh"
    with translation.override("en"):
        dn = people.dn_manager.centre.name

    english = texts(client, ticket, "en")
    assert english[0] == f"{ht} (HT) opened the request for {dn}: Information security, priority High, TLP:AMBER."
    assert f"{ht} (HT) changed the category from “Information security” to “Software development”." in english
    assert f"{dn_manager} (DN) moved the request from “New” to “Accepted”." in english
    assert f"{dn_manager} (DN) assigned the request to {dn_engineer}." in english
    assert f"{ht} (HT) attached “nhat-ky.txt”." in english
    assert f"{dn_engineer} (DN) moved the request from “In progress” to “Resolved”. Note: Đã vá" in english
    assert f"{dn_engineer} (DN) added Châu as a watcher." in english
    for text in english:
        assert "{" not in text and ".engineer" not in text and ".security" not in text and "_" not in text

    vietnamese = texts(client, ticket, "vi")
    assert f"{dn_manager} (DN) chuyển yêu cầu từ “Mới” sang “Đã tiếp nhận”." in vietnamese
    assert f"{dn_manager} (DN) giao yêu cầu cho {dn_engineer}." in vietnamese
    assert all("{" not in t and " the " not in t for t in vietnamese)
