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



def delete_in_admin(admin_user, slug: str, *, from_the_list: bool) -> None:
    """What a hub admin does to delete a topic: on its page, or with the list's bulk action."""
    topic = Topic.objects.get(slug=slug)
    client = Client()
    client.force_login(admin_user)
    if from_the_list:
        response = client.post("/admin/chat/topic/", {"action": "delete_selected", "_selected_action": [topic.pk],
                                                      "post": "yes"})
    else:
        response = client.post(f"/admin/chat/topic/{topic.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.content[:3000]
    assert not Topic.objects.filter(slug=slug).exists()


@pytest.mark.parametrize("from_the_list", [False, True], ids=["its page", "the list's bulk action"])
async def test_a_topic_deleted_in_the_admin_closes_its_sockets_at_once(cast, from_the_list):
    """Deleting a topic (its messages go with it) closes every socket open on it as soon as it is
    deleted, not at the periodic re-check 30 s later."""
    qb = await open_topic(cast["qb"], SLUG)
    try:
        await sync_to_async(delete_in_admin)(cast["admin"], SLUG, from_the_list=from_the_list)
        while True:
            output = await qb.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                break
            assert json.loads(output["text"])["type"] in BACKGROUND
        assert output["code"] in (4403, 4404)
    finally:
        await qb.disconnect()
