"""A request's discussion thread is read by whoever may see the request, and by nobody else a moment
later: every move that narrows who sees it — accepted by one centre while addressed to "any",
rejected, redirected, re-marked RED, a watcher removed — closes the thread's open sockets of the
people it leaves out (4403) at once, before the thread's next message reaches them, not at the
periodic re-check (security review of 7 December, finding 6). Those who still see it keep their
socket and read on."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat.services import post_message
from requests import services
from requests.models import Ticket
from tests.chat.conftest import BACKGROUND, next_frame, open_topic

pytestmark = pytest.mark.django_db(transaction=True)

FORBIDDEN = 4403
AT_ONCE = 2.0  # seconds: the periodic re-check (pinned at an hour below) would take far longer


@pytest.fixture(autouse=True)
def _no_periodic_recheck(settings):
    """Only the move itself may close the sockets: the periodic re-check does not run in these tests."""
    settings.HUB_WS_REVALIDATE_SECONDS = 3600


async def closed_at_once(socket: WebsocketCommunicator, since: float) -> None:
    """The socket closes with 4403 within AT_ONCE of `since`, sending nothing but background frames."""
    while True:
        output = await socket.receive_output(timeout=AT_ONCE + 1)
        if output["type"] == "websocket.close":
            break
        frame = json.loads(output["text"])
        assert frame["type"] in BACKGROUND, f"a socket that lost the request still received {frame}"
    assert output.get("code") == FORBIDDEN, output
    assert time.monotonic() - since < AT_ONCE, f"closed only {time.monotonic() - since:.1f}s after the move"


async def only_those_still_reading_hear_on(people, ticket: Ticket, move: Callable[..., None],
                                            still_reading: set[str]) -> None:
    """HT, DN and QB's engineers have the thread of `ticket` open; `move` is made, then HT posts: the
    sockets of `still_reading` receive the message, the others close with 4403 at once, before it."""
    topic = await sync_to_async(thread_of)(ticket)
    readers = {name: await open_topic(getattr(people, name), topic.slug)
               for name in ("ht_engineer", "dn_engineer", "qb_engineer")}
    try:
        await sync_to_async(move)(people, ticket)
        started = time.monotonic()  # the move is committed
        await sync_to_async(post_message)(topic, by=people.ht_engineer, body="Mật khẩu VPN tạm: Hx-9931")
        for name, socket in readers.items():
            if name in still_reading:
                frame = await next_frame(socket, "message")
                assert frame["message"]["body"] == "Mật khẩu VPN tạm: Hx-9931"
            else:
                await closed_at_once(socket, started)
    finally:
        for socket in readers.values():
            await socket.disconnect()


def thread_of(ticket: Ticket) -> Any:
    return Ticket.objects.select_related("thread").get(pk=ticket.pk).thread


def accept(people, ticket):
    services.transition_ticket(ticket, by=people.dn_engineer, to="accepted")


def reject(people, ticket):
    services.transition_ticket(ticket, by=people.dn_engineer, to="rejected", note="Không thuộc phạm vi")


def merge_into_dn_s(people, ticket):
    into = services.create_ticket(by=people.ht_engineer, title="Bản gốc", category="security",
                                  priority="normal", target_centre="DN")
    services.merge_ticket(ticket, by=people.dn_engineer, into=into.pk)


# An "any centre" request is read by every centre while it is new: QB opened its thread then.
@pytest.mark.parametrize("move, still_reading", [
    (accept, ("ht_engineer", "dn_engineer")),  # DN takes it: QB no longer sees it
    (reject, ("ht_engineer",)),  # refused: only the requesting centre (and watchers) see it
    (merge_into_dn_s, ("ht_engineer",)),  # a duplicate of DN's request: no longer new, nor anyone's
], ids=["accepted by another centre", "rejected", "merged"])
async def test_a_request_for_any_centre_taken_or_refused_closes_the_other_centres_thread_sockets(
        people, new_ticket, move: Callable[..., None], still_reading: tuple[str, ...]):
    ticket = await sync_to_async(new_ticket)(target=None)
    await only_those_still_reading_hear_on(people, ticket, move, set(still_reading))


def redirect_to_qb(people, ticket):
    services.update_ticket(ticket, by=people.ht_engineer, changes={"target_centre": "QB"})


def raise_to_red(people, ticket):
    services.update_ticket(ticket, by=people.ht_engineer, changes={"tlp": "red"})


def remove_watcher(people, ticket):
    services.remove_watcher(ticket, by=people.dn_manager, username="qb.engineer")


# A new HT → DN request that QB's engineer watches: HT, DN and that engineer read its thread.
@pytest.mark.parametrize("move, left_out", [
    (redirect_to_qb, "dn_engineer"),  # redirected while new: DN no longer sees it (QB does now)
    (raise_to_red, "qb_engineer"),  # RED keeps it to its two centres: the outside watcher is left out
    (remove_watcher, "qb_engineer"),
], ids=["redirected", "marked RED", "watcher removed"])
async def test_a_move_that_narrows_who_sees_a_request_closes_its_thread_sockets_of_those_left_out(
        people, new_ticket, move: Callable[..., None], left_out: str):
    ticket = await sync_to_async(new_ticket)(target="DN", tlp="amber")
    await sync_to_async(services.add_watcher)(ticket, by=people.ht_engineer, username="qb.engineer")
    await only_those_still_reading_hear_on(people, ticket, move,
                                           {"ht_engineer", "dn_engineer", "qb_engineer"} - {left_out})


async def test_a_change_that_leaves_the_readers_as_they_were_closes_nothing(people, new_ticket):
    """A new title (or any change outside what the readers are decided from) re-checks no socket."""
    ticket = await sync_to_async(new_ticket)(target="DN")
    topic = await sync_to_async(thread_of)(ticket)
    socket = await open_topic(people.dn_engineer, topic.slug)
    try:
        await sync_to_async(services.update_ticket)(ticket, by=people.ht_engineer, changes={"title": "Tiêu đề mới"})
        await sync_to_async(post_message)(topic, by=people.ht_engineer, body="Vẫn đọc được")
        assert (await next_frame(socket, "message"))["message"]["body"] == "Vẫn đọc được"
    finally:
        await socket.disconnect()
