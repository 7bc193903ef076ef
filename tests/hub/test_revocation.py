"""Authorisation lasts only as long as the credentials: revoked tokens and deactivated users are cut
off on their live sockets (issue 8), at once through a control event, and by a periodic re-check."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from hub.asgi import application
from hub.models import ApiToken, User, WsTicket
from hub.services import deactivate_user, revoke_tokens

pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(user, token=None) -> WebsocketCommunicator:
    ticket = await sync_to_async(WsTicket.issue)(user, token=token)
    socket = WebsocketCommunicator(application, f"/ws/notifications/?ticket={ticket}")
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=3))["type"] == "hello"
    return socket


async def assert_closed_with(socket: WebsocketCommunicator, code: int) -> None:
    message = await socket.receive_output(timeout=5)
    assert message == {"type": "websocket.close", "code": code}


async def test_revoking_the_token_closes_sockets_opened_with_its_tickets_only(make_user):
    user = await sync_to_async(make_user)("siem.ht", centre="HT", role="security_officer")
    token, _ = await sync_to_async(ApiToken.issue)(user)
    other_token, _ = await sync_to_async(ApiToken.issue)(user)
    by_token = await open_socket(user, token)
    by_other = await open_socket(user, other_token)
    await sync_to_async(revoke_tokens)(ApiToken.objects.filter(pk=token.pk))
    await assert_closed_with(by_token, 4401)
    assert await by_other.receive_nothing(timeout=0.5)
    await by_other.disconnect()


async def test_a_ticket_from_a_revoked_token_is_worthless(make_user):
    user = await sync_to_async(make_user)("siem.dn", centre="DN", role="security_officer")
    token, _ = await sync_to_async(ApiToken.issue)(user)
    ticket = await sync_to_async(WsTicket.issue)(user, token=token)
    await sync_to_async(token.revoke)()
    assert await sync_to_async(WsTicket.redeem)(ticket) is None


async def test_deactivating_a_user_closes_all_their_sockets(make_user):
    user = await sync_to_async(make_user)("qt.engineer", centre="QT")
    first, second = await open_socket(user), await open_socket(user)
    await sync_to_async(deactivate_user)(user)
    await assert_closed_with(first, 4401)
    await assert_closed_with(second, 4401)


async def test_deactivation_through_the_admin_model_save_also_cuts_off(make_user):
    user = await sync_to_async(make_user)("na.engineer", centre="NA")
    socket = await open_socket(user)

    def deactivate_in_admin():
        obj = User.objects.get(pk=user.pk)
        obj.is_active = False
        obj.save()

    await sync_to_async(deactivate_in_admin)()
    await assert_closed_with(socket, 4401)


async def test_periodic_recheck_catches_a_change_that_sent_no_event(make_user, settings):
    settings.HUB_WS_REVALIDATE_SECONDS = 1
    user = await sync_to_async(make_user)("kt.engineer", centre="KT")
    socket = await open_socket(user)
    # Raw SQL sends no signal and no control event (a bulk update now does): only the re-check can notice.
    from tests.chat.test_batch_frames import deactivate_silently

    await sync_to_async(deactivate_silently)(user.pk)
    await assert_closed_with(socket, 4401)


async def test_a_control_event_for_someone_sharing_the_control_group_leaves_the_socket_alone(make_user):
    """Control events travel over a fixed number of groups (hub.realtime.groups.CONTROL_GROUPS), so a
    person's sockets also hear the events of everyone whose id shares the group: they act only on
    their own. The person is deactivated in raw SQL (no event of its own), so a re-read would close
    the socket: an event naming another person must not cause one, and one naming them must."""
    from hub.realtime.groups import CONTROL_GROUPS, control_group
    from hub.realtime.publisher import send_publications
    from tests.chat.test_batch_frames import deactivate_silently

    user = await sync_to_async(make_user)("bd.engineer", centre="BD")
    socket = await open_socket(user)
    group = control_group(user.pk)
    assert control_group(user.pk + CONTROL_GROUPS) == group  # shared with that person
    await sync_to_async(deactivate_silently)(user.pk)

    neighbour = {"event_id": "neighbour", "control": "identity_changed", "user": user.pk + CONTROL_GROUPS}
    await send_publications([(group, "", neighbour)])
    assert await socket.receive_nothing(timeout=1)

    own = {"event_id": "own", "control": "identity_changed", "user": user.pk}
    await send_publications([(group, "", own)])
    await assert_closed_with(socket, 4401)


async def test_sockets_of_many_people_share_a_bounded_number_of_control_subscriptions(make_user):
    """One process subscribes to at most CONTROL_GROUPS control groups however many people connect:
    a group per person was a Redis SUBSCRIBE in every handshake and subscription state kept by every
    idle socket (docs/benchmarks.md)."""
    from hub.realtime.groups import CONTROL_GROUPS, control_group, is_control_group
    from hub.realtime.receiver import local_fanout

    people = [await sync_to_async(make_user)(f"ct.{n}", centre="CT") for n in range(3)]
    sockets = [await open_socket(person) for person in people]
    joined = {g for g in local_fanout().groups if is_control_group(g)}
    assert joined == {control_group(p.pk) for p in people}
    assert all(int(g.rsplit(".", 1)[1]) < CONTROL_GROUPS for g in joined)
    for socket in sockets:
        await socket.disconnect()
