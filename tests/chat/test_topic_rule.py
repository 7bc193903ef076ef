"""A topic's own rule narrowed on the admin's Topic page reaches its open sockets at once (docs/chat.md,
"Sockets follow the topic"): a hub admin takes a centre out of `allowed_centres` (or keeps the topic to
some roles, or changes its kind); every socket open on the topic re-checks as soon as the change is
saved, and those of the people left out close with 4403 before the topic's next message reaches them —
not 30 s later at the periodic re-check. Those still allowed stay and go on receiving."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from chat.models import Topic
from tests.chat.conftest import BACKGROUND, next_frame, open_topic

pytestmark = [pytest.mark.django_db(transaction=True)]

SLUG = "doi-ung-cuu"
NEXT = "chỉ nội bộ Hà Tĩnh từ nay"


@pytest.fixture
def cast(make_user, make_topic):
    people = {"ht": make_user("ht.engineer", centre="HT"), "qb": make_user("qb.engineer", centre="QB"),
              "qbs": make_user("qb.security", centre="QB", role="security_officer"),
              "admin": make_user("root", centre=None, is_superuser=True, is_staff=True, role="hub_admin")}
    make_topic(SLUG, allowed_centres=["HT", "QB"])
    return people


def save_in_admin(admin_user, *, centres: list[str], roles: str = "[]", **changes: str) -> None:
    """What a hub admin does on /admin/chat/topic/<id>/change/: the form as shown, changed, saved."""
    from hub.models import Centre

    topic = Topic.objects.get(slug=SLUG)
    client = Client()
    client.force_login(admin_user)
    data = {
        "slug": topic.slug, "name_vi": topic.name_vi, "name_en": topic.name_en, "description": topic.description,
        "description_en": topic.description_en, "kind": topic.kind, "allowed_roles": roles,
        "allowed_centres": [str(c.pk) for c in Centre.objects.filter(code__in=centres)],
        "default_tlp": topic.default_tlp, "pin_roles": "[]", "_save": "Save", **changes,
    }
    response = client.post(f"/admin/chat/topic/{topic.pk}/change/", data)
    assert response.status_code == 302, response.content[:3000]


def post_next(by: str = "ht.engineer") -> None:
    from chat.services import post_message
    from hub.models import User

    post_message(Topic.objects.get(slug=SLUG), by=User.objects.get(username=by), body=NEXT)


async def cut_off_before_anything(socket) -> None:
    """The socket closes with 4403, and nothing but background frames came before."""
    while True:
        output = await socket.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            assert output["code"] == 4403
            return
        frame = json.loads(output["text"])
        assert frame["type"] in BACKGROUND, f"someone left out of the topic still received {frame}"


async def test_a_centre_taken_out_of_a_topic_is_cut_off_before_its_next_message(cast):
    ht = await open_topic(cast["ht"], SLUG)
    qb = await open_topic(cast["qb"], SLUG)
    try:
        await sync_to_async(save_in_admin)(cast["admin"], centres=["HT"])
        await sync_to_async(post_next)()
        await cut_off_before_anything(qb)
        assert (await next_frame(ht, "message"))["message"]["body"] == NEXT  # HT stays and reads on
    finally:
        await ht.disconnect()
        await qb.disconnect()


async def test_a_topic_kept_to_some_roles_cuts_off_the_other_roles_at_once(cast):
    engineer = await open_topic(cast["qb"], SLUG)
    officer = await open_topic(cast["qbs"], SLUG)
    try:
        await sync_to_async(save_in_admin)(cast["admin"], centres=["HT", "QB"], roles='["security_officer"]')
        await cut_off_before_anything(engineer)  # without any message or frame of theirs to trigger it
        await sync_to_async(post_next)("qb.security")
        assert (await next_frame(officer, "message"))["message"]["body"] == NEXT
    finally:
        await engineer.disconnect()
        await officer.disconnect()


async def test_a_change_that_leaves_the_rule_alone_keeps_every_socket(cast):
    qb = await open_topic(cast["qb"], SLUG)
    try:
        await sync_to_async(save_in_admin)(cast["admin"], centres=["HT", "QB"], name_en="Incident response")
        await sync_to_async(post_next)()
        assert (await next_frame(qb, "message"))["message"]["body"] == NEXT
    finally:
        await qb.disconnect()


async def test_a_topic_deleted_in_the_admin_closes_its_sockets_at_once(cast):
    """Deleting a topic (its messages go with it) closes every socket open on it as soon as it is
    deleted — on the admin's page and from its list's bulk action — not at the periodic re-check."""
    from hub.models import Centre

    qb = await open_topic(cast["qb"], SLUG)
    try:
        def delete_in_admin() -> None:
            client = Client()
            client.force_login(cast["admin"])
            topic = Topic.objects.get(slug=SLUG)
            response = client.post(f"/admin/chat/topic/{topic.pk}/delete/", {"post": "yes"})
            assert response.status_code == 302, response.content[:3000]

        await sync_to_async(delete_in_admin)()
        output = await qb.receive_output(timeout=3)
        while output["type"] != "websocket.close":
            assert json.loads(output["text"])["type"] in BACKGROUND
            output = await qb.receive_output(timeout=3)
        assert output["code"] in (4403, 4404)
        assert not await sync_to_async(Topic.objects.filter(slug=SLUG).exists)()
    finally:
        await qb.disconnect()

    # The list's "delete selected" action goes the same way.
    second = await sync_to_async(Topic.objects.create)(slug="tam-thoi", name_vi="Tạm", name_en="Temporary")
    await sync_to_async(second.allowed_centres.set)(await sync_to_async(list)(Centre.objects.filter(code="QB")))
    qb = await open_topic(cast["qb"], "tam-thoi")
    try:
        def delete_from_list() -> None:
            client = Client()
            client.force_login(cast["admin"])
            response = client.post("/admin/chat/topic/", {"action": "delete_selected", "_selected_action": [second.pk],
                                                          "post": "yes"})
            assert response.status_code == 302, response.content[:3000]

        await sync_to_async(delete_from_list)()
        output = await qb.receive_output(timeout=3)
        while output["type"] != "websocket.close":
            assert json.loads(output["text"])["type"] in BACKGROUND
            output = await qb.receive_output(timeout=3)
        assert output["code"] in (4403, 4404)
    finally:
        await qb.disconnect()
